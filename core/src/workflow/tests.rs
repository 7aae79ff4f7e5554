//! Tests of the workflow graph, its reduction and its evaluation plan.

use super::*;
use proptest::prelude::*;

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn edges(list: &[(&str, &str, f64)]) -> Vec<Edge> {
    list.iter().map(|&(a, b, p)| Edge::new(a, b, p)).collect()
}

fn build(names: &[&str], list: &[(&str, &str, f64)]) -> Result<Workflow, WorkflowError> {
    Workflow::build(&ids(names), &edges(list))
}

/// Edges written as a list: `"Start→a, a→b 0.25, a→c 0.75, b→End, c→End"`. Each edge is
/// `from→to`, followed by its probability where that is not 1.
fn flow(list: &str) -> Vec<Edge> {
    list.split(',')
        .map(|edge| {
            let edge = edge.trim();
            let (nodes, p) = edge.split_once(' ').unwrap_or((edge, "1.0"));
            let (from, to) = nodes
                .split_once('→')
                .unwrap_or_else(|| panic!("{edge:?} is not from→to"));
            let p = p
                .parse()
                .unwrap_or_else(|e| panic!("{edge:?}: probability: {e}"));
            Edge::new(from, to, p)
        })
        .collect()
}

/// The workflow of functions `names` and edges `list` (see [`flow`]), which must be valid.
fn workflow(names: &[&str], list: &str) -> Workflow {
    Workflow::build(&ids(names), &flow(list)).unwrap_or_else(|e| panic!("{list}: {e}"))
}

/// The error that refuses the workflow of functions `names` and edges `list` (see [`flow`]).
fn err(names: &[&str], list: &str) -> WorkflowError {
    match Workflow::build(&ids(names), &flow(list)) {
        Ok(_) => panic!("{list}: the workflow was built, but an error was expected"),
        Err(e) => e,
    }
}

/// The thesis' latency of `w` with durations `d`, without orchestration delays.
fn thesis(w: &Workflow, d: &[f64]) -> f64 {
    w.latency_ms(d, Delays::default(), LatencyModel::Thesis)
}

/// The branch-aware latency of `w` with durations `d`, without orchestration delays.
fn aware(w: &Workflow, d: &[f64]) -> f64 {
    w.latency_ms(d, Delays::default(), LatencyModel::BranchAware)
}

/// The artifact's test case: a cycle around a branch inside a parallel block, and a self-loop.
const ARTIFACT: &str =
    "Start→1, 1→2 0.2, 1→3 0.8, 1→4, 2→5, 3→5, 4→5, 5→6 0.7, 5→1 0.3, 6→6 0.2, 6→End 0.8";

#[test]
fn reproduces_the_artifact_test_case() {
    let w = workflow(&["1", "2", "3", "4", "5", "6"], ARTIFACT);
    let expected = [1.428571, 0.285714, 1.142857, 1.428571, 1.428571, 1.25];
    for (got, want) in w.invocations().iter().zip(expected) {
        assert!((got - want).abs() < 1e-6, "NI {got} vs {want}");
    }
    let eet = thesis(&w, &[100.0, 500.0, 1000.0, 210.0, 130.0, 100.0]);
    assert!((eet - 1739.285714).abs() < 1e-6, "EET {eet}");
    assert_eq!(
        w.display_structure().to_string(),
        "loop×1.4286(1 → parallel(4 ‖ branch(0.2: 2 | 0.8: 3)) → 5) → loop×1.2500(6)"
    );
    let paths = w.simple_paths(100);
    assert_eq!(
        paths,
        vec![
            (1.0, vec![0, 3, 4, 5]),
            (0.2, vec![0, 1, 4, 5]),
            (0.8, vec![0, 2, 4, 5])
        ]
    );
}

#[test]
fn artifact_case_with_step_functions_delays() {
    // Per iteration of the cycle: states 1, (2|3 ‖ 4), 5 on the path: 3 × (18.81 + 1) ms,
    // times 1/(1 − 0.3) iterations; the self-loop on 6: 19.81 ms × 1.25; Start and End:
    // 2 × 18.81 ms and the transition into End, 1 ms.
    let w = workflow(&["1", "2", "3", "4", "5", "6"], ARTIFACT);
    let eet = w.latency_ms(
        &[100.0, 500.0, 1000.0, 210.0, 130.0, 100.0],
        Delays::step_functions_artifact(),
        LatencyModel::Thesis,
    );
    let expected = 1739.285714285714 + 3.0 * 19.81 / 0.7 + 19.81 * 1.25 + 2.0 * 18.81 + 1.0;
    assert!((eet - expected).abs() < 1e-9, "{eet} vs {expected}");
}

#[test]
fn chain_with_delays_counts_states_and_transitions() {
    let w = workflow(&["a", "b"], "Start→a, a→b, b→End");
    let d = Delays {
        state_ms: 10.0,
        transition_ms: 1.0,
        start_end_ms: None,
    };
    // 4 states (Start, a, b, End) and 3 transitions.
    assert_eq!(
        w.latency_ms(&[100.0, 50.0], d, LatencyModel::Thesis),
        150.0 + 40.0 + 3.0
    );
    // A measured start and end replaces Start's and End's states and the transition to End.
    let measured = Delays {
        start_end_ms: Some(7.0),
        ..d
    };
    assert_eq!(
        w.latency_ms(&[100.0, 50.0], measured, LatencyModel::Thesis),
        150.0 + 2.0 * 11.0 + 7.0
    );
    assert_eq!(w.expected_transitions(), 3.0);
}

#[test]
fn edges_weight_the_transitions_they_bill() {
    // a → (Choice folded) → b or c at 0.25 / 0.75 → (Succeed folded) → End.
    let mut list = flow("Start→a, a→b 0.25, a→c 0.75, b→End, c→End");
    for e in &mut list[1..] {
        e.transitions = Some(2.0);
    }
    let w = Workflow::build(&ids(&["a", "b", "c"]), &list).unwrap();
    assert_eq!(w.expected_transitions(), 1.0 + 2.0 + 2.0);
    list[2].transitions = Some(-1.0);
    let e = Workflow::build(&ids(&["a", "b", "c"]), &list).unwrap_err();
    assert_eq!(e.edge_index(), Some(2));
    assert_eq!(
        e.to_string(),
        "edge 2 (a → c): transitions -1 must be a number ≥ 0"
    );
}

#[test]
fn hand_computed_branch() {
    let w = workflow(
        &["a", "b", "c", "d"],
        "Start→a, a→b 0.25, a→c 0.75, b→d, c→d, d→End",
    );
    // 10 + 0.25·200 + 0.75·40 + 5 = 95
    assert!((thesis(&w, &[10.0, 200.0, 40.0, 5.0]) - 95.0).abs() < 1e-12);
    assert_eq!(w.invocations(), &[1.0, 0.25, 0.75, 1.0]);
}

#[test]
fn branch_arm_may_skip_straight_to_the_join() {
    let w = workflow(&["a", "b", "c"], "Start→a, a→b 0.4, a→c 0.6, b→c, c→End");
    assert!((thesis(&w, &[1.0, 100.0, 2.0]) - 43.0).abs() < 1e-12);
}

#[test]
fn hand_computed_parallel() {
    let w = workflow(
        &["a", "b", "c", "d", "e"],
        "Start→a, a→b, a→c, c→d, b→e, d→e, e→End",
    );
    // a + max(b, c + d) + e = 10 + max(300, 100 + 150) + 20
    assert_eq!(thesis(&w, &[10.0, 300.0, 100.0, 150.0, 20.0]), 330.0);
    assert_eq!(w.invocations(), &[1.0; 5]);
    assert_eq!(w.expected_transitions(), 7.0);
}

#[test]
fn hand_computed_cycle_and_self_loop() {
    // a → b → (0.25 back to a | 0.75 on to c), c loops on itself with 0.5.
    let w = workflow(
        &["a", "b", "c"],
        "Start→a, a→b, b→a 0.25, b→c 0.75, c→c 0.5, c→End 0.5",
    );
    // (10 + 20) / 0.75 + 30 / 0.5 = 40 + 60
    assert!((thesis(&w, &[10.0, 20.0, 30.0]) - 100.0).abs() < 1e-12);
    let ni = w.invocations();
    assert!((ni[0] - 4.0 / 3.0).abs() < 1e-12 && (ni[1] - 4.0 / 3.0).abs() < 1e-12);
    assert!((ni[2] - 2.0).abs() < 1e-12);
    // Start→a once, a→b 4/3, b's out-edges 4/3, c's out-edges 2: 1 + 4/3 + 4/3 + 2
    assert!((w.expected_transitions() - (1.0 + 8.0 / 3.0 + 2.0)).abs() < 1e-12);
}

#[test]
fn self_loop_on_a_latch_shares_its_branch_group() {
    // b: 0.2 again, 0.3 back to a, 0.5 out. Leaving the self-loop, the cycle is taken with
    // probability 0.3 / 0.8.
    let w = workflow(&["a", "b"], "Start→a, a→b, b→b 0.2, b→a 0.3, b→End 0.5");
    let runs = 1.0 / (1.0 - 0.375);
    let expected = runs * (10.0 + 20.0 / 0.8);
    assert!((thesis(&w, &[10.0, 20.0]) - expected).abs() < 1e-9);
    assert!((w.invocations()[1] - runs / 0.8).abs() < 1e-12);
}

#[test]
fn nested_loops() {
    // Outer loop a..c (back 0.5), inner loop b..b2 (back 0.2).
    let w = workflow(
        &["a", "b", "b2", "c"],
        "Start→a, a→b, b→b2, b2→b 0.2, b2→c 0.8, c→a 0.5, c→End 0.5",
    );
    let expected = 2.0 * (1.0 + (10.0 + 100.0) / 0.8 + 1000.0);
    assert!((thesis(&w, &[1.0, 10.0, 100.0, 1000.0]) - expected).abs() < 1e-9);
}

#[test]
fn branch_group_beside_parallel_edges_and_shared_branch_paths() {
    // Two branch arms that meet before the join are unfolded: d is reached either way.
    let w = workflow(
        &["a", "b", "c", "d"],
        "Start→a, a→b 0.5, a→c 0.5, b→d 0.5, b→End 0.5, c→d, d→End",
    );
    let t = thesis(&w, &[1.0, 10.0, 100.0, 1000.0]);
    // paths: a b d (0.25), a b (0.25), a c d (0.5)
    let expected = 0.25 * 1011.0 + 0.25 * 11.0 + 0.5 * 1101.0;
    assert!((t - expected).abs() < 1e-9, "{t}");
    assert_eq!(w.invocations()[3], 0.75);
}

#[test]
fn every_validation_error_names_its_place() {
    let e = err(&["a"], "Start→a, a→x");
    assert_eq!(e.to_string(), "edge 1 (a → x): unknown node 'x'");
    assert_eq!(e.edge_index(), Some(1));

    let e = err(&["a"], "Start→a 1.5, a→End");
    assert_eq!(
        e.to_string(),
        "edge 0 (Start → a): probability 1.5 is outside (0, 1]"
    );
    let e = err(&["a"], "Start→a 0.0, a→End");
    assert!(e.to_string().contains("probability 0 is outside (0, 1]"));

    let e = err(&["a", "b", "c"], "Start→a, a→b 0.5, a→c 0.4, b→End, c→End");
    assert!(
        e.to_string()
            .starts_with("the branch out of 'a' sums to 0.9"),
        "{e}"
    );
    assert!(e.to_string().contains("b (0.5), c (0.4)"));
    assert_eq!(e.edge_index(), Some(1));

    let e = err(&["a", "b"], "Start→a, a→End, b→End");
    assert_eq!(e.to_string(), "unreachable from Start: b");

    let e = err(&["a", "b"], "Start→a, a→End 0.5, a→b 0.5, b→b 0.5, b→a 0.5");
    // b can only go back to a: fine, it reaches End through a. Now a sink:
    drop(e);
    let e = err(&["a", "b"], "Start→a, a→End, a→b");
    assert_eq!(e.to_string(), "no path to End from: b");

    let e = err(&["a"], "Start→a, a→a, a→End");
    assert!(
        e.to_string().starts_with("the loop a → a can never exit"),
        "{e}"
    );

    let e = err(&["a", "b"], "Start→a, a→b, b→a, b→End");
    assert!(
        e.to_string().starts_with("the loop b → a can never exit"),
        "{e}"
    );

    let e = err(&["a"], "Start→a, a→End, End→a");
    assert_eq!(e.to_string(), "edge 2 (End → a): End has no outgoing edges");
    let e = err(&["a"], "Start→a, a→Start");
    assert_eq!(
        e.to_string(),
        "edge 1 (a → Start): Start has no incoming edges"
    );

    let e = err(&["a"], "Start→a, a→End, a→End");
    assert_eq!(e.to_string(), "edge 2 (a → End) duplicates edge 1");

    let e = Workflow::build(&ids(&["a", "a"]), &[]).unwrap_err();
    assert_eq!(e.to_string(), "function id 'a' is declared twice");
    let e = Workflow::build(&ids(&["End"]), &[]).unwrap_err();
    assert!(e.to_string().contains("'End' is reserved"));
    assert_eq!(Workflow::build(&[], &[]).unwrap_err(), WorkflowError::Empty);
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    // 300 nested two-way branches: f0 → (f1 | join0), f1 → (f2 | join1), …
    let n = 300;
    let mut names = Vec::new();
    let mut es = vec![Edge::new(START, "s0", 1.0)];
    for i in 0..n {
        names.push(format!("s{i}"));
        names.push(format!("j{i}"));
    }
    for i in 0..n {
        let next = if i + 1 < n {
            format!("s{}", i + 1)
        } else {
            format!("j{i}")
        };
        es.push(Edge::new(format!("s{i}"), next, 0.5));
        es.push(Edge::new(format!("s{i}"), format!("j{i}"), 0.5));
        let out = if i == 0 {
            END.to_string()
        } else {
            format!("j{}", i - 1)
        };
        es.push(Edge::new(format!("j{i}"), out, 1.0));
    }
    // the innermost branch's two arms both go to j{n-1}: make its arms distinct
    let innermost = format!("s{}", n - 1);
    es.retain(|e| e.from != innermost);
    names.push("leaf".to_string());
    es.push(Edge::new(format!("s{}", n - 1), "leaf", 0.5));
    es.push(Edge::new(format!("s{}", n - 1), format!("j{}", n - 1), 0.5));
    es.push(Edge::new("leaf", format!("j{}", n - 1), 1.0));
    let e = Workflow::build(&names, &es).unwrap_err();
    assert!(
        e.to_string().contains("blocks nest more than 200 deep"),
        "{e}"
    );
}

#[test]
fn irreducible_structures_are_refused_with_the_nodes() {
    // Two parallel arms that meet at c before their join d.
    let e = err(
        &["a", "b", "c", "d", "x"],
        "Start→a, a→b, a→x, b→c, b→d, x→c, c→End, d→End",
    );
    assert!(
        e.to_string()
            .contains("'c' is reached from two parallel arms"),
        "{e}"
    );

    // A loop that exits from inside a branch arm.
    let e = err(
        &["h", "a", "b", "x"],
        "Start→h, h→a 0.5, h→b 0.5, a→h 0.3, a→x 0.7, b→x, x→End",
    );
    assert!(
        e.to_string()
            .contains("the cycle a → h is not a single-entry, single-exit block"),
        "{e}"
    );
    assert_eq!(e.edge_index(), Some(3));
}

/// Random series/branch/parallel/loop trees rendered as edge lists.
#[derive(Debug, Clone)]
enum Shape {
    F,
    Seq(Vec<Shape>),
    Branch(Vec<(u32, Shape)>),
    Par(Vec<Shape>),
    SelfLoop(f64),
}

fn shape() -> impl Strategy<Value = Shape> {
    let leaf = prop_oneof![Just(Shape::F), (0.05f64..0.9).prop_map(Shape::SelfLoop)];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Shape::Seq),
            prop::collection::vec((1u32..5, inner.clone()), 2..4).prop_map(Shape::Branch),
            prop::collection::vec(inner, 2..4).prop_map(Shape::Par),
        ]
    })
}

/// Emits the shape between a fresh entry function and a fresh exit function; returns
/// (entry, exit) and the expected time with durations `t`.
struct Emit {
    names: Vec<String>,
    edges: Vec<Edge>,
    t: Vec<f64>,
}

impl Emit {
    fn node(&mut self) -> String {
        let name = format!("f{}", self.names.len());
        self.t.push(10.0 + (self.names.len() as f64 * 37.0) % 500.0);
        self.names.push(name.clone());
        name
    }
    /// Returns (entry, exit, expected time including entry and exit).
    fn emit(&mut self, s: &Shape) -> (String, String, f64) {
        match s {
            Shape::F => {
                let n = self.node();
                let t = *self.t.last().unwrap();
                (n.clone(), n, t)
            }
            Shape::SelfLoop(p) => {
                let n = self.node();
                let t = *self.t.last().unwrap();
                self.edges.push(Edge::new(&n, &n, *p));
                let out = self.node();
                let t2 = *self.t.last().unwrap();
                self.edges.push(Edge::new(&n, &out, 1.0 - p));
                (n, out, t / (1.0 - p) + t2)
            }
            Shape::Seq(items) => {
                let mut first = None;
                let mut last: Option<String> = None;
                let mut total = 0.0;
                for it in items {
                    let (a, b, t) = self.emit(it);
                    if let Some(prev) = last {
                        self.edges.push(Edge::new(prev, &a, 1.0));
                    }
                    first.get_or_insert(a);
                    last = Some(b);
                    total += t;
                }
                (first.unwrap(), last.unwrap(), total)
            }
            Shape::Branch(arms) => {
                let split = self.node();
                let ts = *self.t.last().unwrap();
                let mut outs = Vec::new();
                let total_w: u32 = arms.iter().map(|a| a.0).sum();
                let mut mean = 0.0;
                for (w, a) in arms {
                    let (x, y, t) = self.emit(a);
                    let p = *w as f64 / total_w as f64;
                    self.edges.push(Edge::new(&split, &x, p));
                    outs.push(y);
                    mean += p * t;
                }
                let join = self.node();
                let tj = *self.t.last().unwrap();
                for y in outs {
                    self.edges.push(Edge::new(y, &join, 1.0));
                }
                (split, join, ts + mean + tj)
            }
            Shape::Par(arms) => {
                let split = self.node();
                let ts = *self.t.last().unwrap();
                let mut outs = Vec::new();
                let mut max: f64 = 0.0;
                for a in arms {
                    let (x, y, t) = self.emit(a);
                    self.edges.push(Edge::new(&split, &x, 1.0));
                    outs.push(y);
                    max = max.max(t);
                }
                let join = self.node();
                let tj = *self.t.last().unwrap();
                for y in outs {
                    self.edges.push(Edge::new(y, &join, 1.0));
                }
                (split, join, ts + max + tj)
            }
        }
    }
}

proptest! {
    #[test]
    fn structured_workflows_evaluate_like_their_closed_form(s in shape(), loop_p in prop::option::of(0.05f64..0.9)) {
        let mut e = Emit { names: vec![], edges: vec![], t: vec![] };
        let (a, b, mut expected) = e.emit(&s);
        e.edges.push(Edge::new(START, &a, 1.0));
        match loop_p {
            // Wrap everything in a cycle b → a.
            Some(p) => {
                e.edges.push(Edge::new(&b, &a, p));
                e.edges.push(Edge::new(&b, END, 1.0 - p));
                expected /= 1.0 - p;
            }
            None => e.edges.push(Edge::new(&b, END, 1.0)),
        }
        let w = Workflow::build(&e.names, &e.edges).unwrap();
        let got = thesis(&w, &e.t);
        prop_assert!((got - expected).abs() <= 1e-9 * expected.max(1.0), "{} vs {}", got, expected);
        // Latency is monotone in every duration.
        let mut slower = e.t.clone();
        slower[0] += 50.0;
        prop_assert!(thesis(&w, &slower) >= got - 1e-9);
    }

    #[test]
    fn chain_is_the_sum(ts in prop::collection::vec(0.0f64..10_000.0, 1..12)) {
        let names: Vec<String> = (0..ts.len()).map(|i| format!("f{i}")).collect();
        let mut es = vec![Edge::new(START, &names[0], 1.0)];
        for w in names.windows(2) {
            es.push(Edge::new(&w[0], &w[1], 1.0));
        }
        es.push(Edge::new(names.last().unwrap(), END, 1.0));
        let w = Workflow::build(&names, &es).unwrap();
        let sum: f64 = ts.iter().sum();
        prop_assert!((thesis(&w, &ts) - sum).abs() < 1e-6);
    }

    #[test]
    fn a_self_loop_scales_by_one_over_one_minus_p(t in 1.0f64..5000.0, p in 0.01f64..0.99) {
        let w = build(&["a"], &[("Start", "a", 1.0), ("a", "a", p), ("a", "End", 1.0 - p)]).unwrap();
        prop_assert!((thesis(&w, &[t]) - t / (1.0 - p)).abs() < 1e-6 * t / (1.0 - p));
        prop_assert!((w.invocations()[0] - 1.0 / (1.0 - p)).abs() < 1e-9 / (1.0 - p));
    }
}

#[test]
fn a_parallel_block_whose_longer_arm_depends_on_a_branch() {
    // f0 → parallel(f1 → branch(0.3: f2 | 0.7: f3) ‖ f4) → End.
    let w = workflow(
        &["f0", "f1", "f2", "f3", "f4"],
        "Start→f0, f0→f1, f0→f4, f1→f2 0.3, f1→f3 0.7, f2→End, f3→End, f4→End",
    );
    let d = [10.0, 20.0, 100.0, 300.0, 250.0];
    // Arm 1 takes 20 + 100 = 120 ms (0.3) or 20 + 300 = 320 ms (0.7); arm 2 takes 250 ms.
    // E[max] = 0.3·max(120, 250) + 0.7·max(320, 250) = 75 + 224 = 299.
    let aware = aware(&w, &d);
    assert!(
        (aware - (10.0 + 0.3 * 250.0 + 0.7 * 320.0)).abs() < 1e-9,
        "{aware}"
    );
    // The thesis: max(0.3·120 + 0.7·320, 250) = max(260, 250).
    let thesis = thesis(&w, &d);
    assert!((thesis - (10.0 + 260.0)).abs() < 1e-9, "{thesis}");
    assert!(w.has_random_blocks());
    let e = w.latency_estimate(&d, Delays::default(), LatencyModel::BranchAware);
    assert_eq!((e.latency_ms, e.error_bound_ms), (aware, 0.0));
    // With Step Functions delays, each state on an arm adds its delay inside the max.
    let delays = Delays {
        state_ms: 5.0,
        transition_ms: 1.0,
        start_end_ms: None,
    };
    let with = w.latency_ms(&d, delays, LatencyModel::BranchAware);
    let arm1 = |x: f64| 20.0 + 6.0 + x + 6.0;
    let expected = 10.0 + 6.0 + 0.3 * (250.0f64 + 6.0).max(arm1(100.0)) + 0.7 * arm1(300.0) + 11.0;
    assert!((with - expected).abs() < 1e-9, "{with} vs {expected}");
}

#[test]
fn nested_parallel_blocks_and_maps_with_branches() {
    // f0 → parallel(f1 → parallel(f2 ‖ f3 → branch(0.5: f4 | 0.5: End)) ‖ f5) → End.
    let w = workflow(
        &["f0", "f1", "f2", "f3", "f4", "f5"],
        "Start→f0, f0→f1, f0→f5, f1→f2, f1→f3, f3→f4 0.5, f3→End 0.5, f2→End, f4→End, f5→End",
    );
    let d = [0.0, 10.0, 50.0, 20.0, 100.0, 70.0];
    // Inner block: max(50, 20) = 50 or max(50, 120) = 120, each 0.5; arm 1: 10 + that;
    // outer: 0.5·max(60, 70) + 0.5·max(130, 70) = 35 + 65 = 100.
    let aware = aware(&w, &d);
    assert!((aware - 100.0).abs() < 1e-9, "{aware}");
    // The thesis: inner max(50, 20 + 50) = 70, arm 1: 80, outer max(80, 70) = 80.
    let thesis = thesis(&w, &d);
    assert!((thesis - 80.0).abs() < 1e-9, "{thesis}");
}

#[test]
fn without_random_blocks_both_models_are_one_plan() {
    let w = workflow(&["1", "2", "3", "4", "5", "6"], ARTIFACT);
    // The artifact's case has a branch inside a parallel arm: the models differ there.
    assert!(w.has_random_blocks());
    let chain = workflow(&["a", "b", "c"], "Start→a, a→b, a→c, b→End, c→End");
    assert!(!chain.has_random_blocks());
    let d = [1.0, 2.0, 3.0];
    assert_eq!(aware(&chain, &d), thesis(&chain, &d));
}

proptest! {
    /// The branch-aware latency never falls when a duration grows, on workflows with branches,
    /// self-loops and cycles inside nested parallel arms; and it is never below the thesis'.
    #[test]
    fn branch_aware_latency_is_monotone_in_every_duration(
        d in prop::collection::vec(0.0f64..2000.0, 8),
        p in 0.05f64..0.95,
        q in 0.05f64..0.95,
        r in 0.0f64..0.9,
        bump in 0usize..8,
        by in 0.0f64..1000.0,
        state_ms in 0.0f64..30.0,
    ) {
        // f0 → parallel(f1 → branch(p: f2 | 1−p: f3 (self-loop r)) ‖ cycle(f4 → f5 → back q)
        //               ‖ f6 → parallel(f7 ‖ End)) → End
        let mut list = vec![
            ("Start", "f0", 1.0),
            ("f0", "f1", 1.0),
            ("f0", "f4", 1.0),
            ("f0", "f6", 1.0),
            ("f1", "f2", p),
            ("f1", "f3", 1.0 - p),
            ("f2", "End", 1.0),
            ("f4", "f5", 1.0),
            ("f5", "f4", q),
            ("f5", "End", 1.0 - q),
            ("f6", "f7", 1.0),
            ("f7", "End", 1.0),
        ];
        if r > 0.0 {
            list.push(("f3", "f3", r));
            list.push(("f3", "End", 1.0 - r));
        } else {
            list.push(("f3", "End", 1.0));
        }
        let w = build(&["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"], &list).unwrap();
        let delays = Delays { state_ms, transition_ms: 1.0, start_end_ms: None };
        let before = w.latency_ms(&d, delays, LatencyModel::BranchAware);
        let mut d2 = d.clone();
        d2[bump] += by;
        let after = w.latency_ms(&d2, delays, LatencyModel::BranchAware);
        prop_assert!(after >= before - 1e-9 * before.abs().max(1.0), "{} → {}", before, after);
        let thesis = w.latency_ms(&d, delays, LatencyModel::Thesis);
        prop_assert!(before >= thesis - 1e-9 * thesis.max(1.0), "aware {} < thesis {}", before, thesis);
        let e = w.latency_estimate(&d, delays, LatencyModel::BranchAware);
        prop_assert_eq!(e.latency_ms, before);
        prop_assert!(e.error_bound_ms >= 0.0 && e.error_bound_ms < 1e-2 * before.max(1.0), "bound {} on {}", e.error_bound_ms, before);
    }
}

fn sites(list: &[(&str, &str)]) -> Vec<Site> {
    list.iter()
        .map(|&(id, function)| Site {
            id: id.to_string(),
            function: function.to_string(),
        })
        .collect()
}

#[test]
fn a_function_used_at_two_sites_is_one_function_with_its_invocations_added() {
    // a → b → a again (site a2): one function a, invoked twice per execution.
    let w = Workflow::build_with_sites(
        &ids(&["a", "b"]),
        &[],
        &sites(&[("a2", "a")]),
        &[],
        &flow("Start→a, a→b, b→a2 0.5, b→End 0.5, a2→End"),
    )
    .unwrap();
    assert_eq!(w.function_ids(), &ids(&["a", "b"])[..]);
    assert_eq!(w.invocations(), &[1.5, 1.0]);
    assert_eq!(
        w.display_structure().to_string(),
        "a → b → branch(0.5: a@a2 | 0.5: ∅)"
    );
    assert_eq!(w.site_function(2), Some(0));
    let d = Delays::default();
    assert_eq!(
        w.latency_ms(&[100.0, 10.0], d, LatencyModel::Thesis),
        100.0 + 10.0 + 0.5 * 100.0
    );
    // Start → a, a → b, b → (a2 | End), half the time a2 → End.
    assert_eq!(w.expected_transitions(), 3.5);
    // A site must name a function, and its id must be free.
    for (s, want) in [
        (sites(&[("a2", "zz")]), "site 'a2': 'zz' is not a function"),
        (
            sites(&[("b", "a")]),
            "site 'b': a function or state node has the same id",
        ),
    ] {
        let e = Workflow::build_with_sites(
            &ids(&["a", "b"]),
            &[],
            &s,
            &[],
            &flow("Start→a, a→b, b→End"),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with(want), "{e}");
    }
}

#[test]
fn a_while_loop_decided_at_its_top_is_rotated() {
    // poll → (75%: wait 1 s → poll again | 25%: End): a polling loop, the edge back taken every
    // time, the exit decided at `poll`.
    let wait = [StateNode::new("W", StateKind::Wait, 1000.0)];
    let w = Workflow::build_with_states(
        &ids(&["poll"]),
        &wait,
        &[],
        &flow("Start→poll, poll→W 0.75, poll→End 0.25, W→poll"),
    )
    .unwrap();
    assert_eq!(
        w.display_structure().to_string(),
        "poll → branch(0.75: loop×4.0000(W → poll) | 0.25: ∅)"
    );
    // Polls until the first exit: geometric with mean 1/0.25; a wait between polls.
    assert!((w.invocations()[0] - 4.0).abs() < 1e-12);
    assert!((w.state_entries()[0] - 3.0).abs() < 1e-12);
    let d = Delays {
        state_ms: 10.0,
        transition_ms: 1.0,
        start_end_ms: Some(0.0),
    };
    let lat = w.latency_ms(&[100.0], d, LatencyModel::Thesis);
    assert!((lat - (4.0 * 111.0 + 3.0 * 1011.0)).abs() < 1e-9, "{lat}");
    // Both models agree with the simulation's mean (a geometric number of polls).
    let aware = w.latency_ms(&[100.0], d, LatencyModel::BranchAware);
    assert!((aware - lat).abs() < 1e-6, "{aware} vs {lat}");
    // Start → poll, each poll's departure, each wait's.
    assert!((w.expected_transitions() - 8.0).abs() < 1e-12);
}

#[test]
fn a_while_loop_with_several_ways_around_goes_through_a_dispatch_node() {
    // check → (start → W | W | infer), W → check: two ways around the loop, one out.
    let wait = [StateNode::new("W", StateKind::Wait, 30_000.0)];
    let w = Workflow::build_with_states(
        &ids(&["check", "start", "infer"]),
        &wait,
        &[],
        &flow("Start→check, check→start 0.25, check→W 0.5, check→infer 0.25, start→W, W→check, infer→End"),
    )
    .unwrap();
    assert_eq!(
        w.display_structure().to_string(),
        "check → branch(0.25: ∅ | 0.75: loop×4.0000(branch(0.3333333333333333: start | 0.6666666666666666: ∅) → W → check)) → infer"
    );
    let ni = w.invocations();
    assert!((ni[0] - 4.0).abs() < 1e-12, "{ni:?}");
    assert!((ni[1] - 1.0).abs() < 1e-12, "{ni:?}");
    assert!((ni[2] - 1.0).abs() < 1e-12, "{ni:?}");
    // The dispatch node bills no transition: 1 + 4 (checks) + 1 (start) + 3 (W) + 1 (infer).
    assert!((w.expected_transitions() - 10.0).abs() < 1e-12);
    // A loop left from two places is refused, naming them.
    let wait = [StateNode::new("W", StateKind::Wait, 1.0)];
    let e = Workflow::build_with_states(
        &ids(&["get", "iter"]),
        &wait,
        &[],
        &flow("Start→get, get→iter 0.5, get→End 0.5, iter→W 0.5, iter→End 0.5, W→get"),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("left from several places ('get', 'iter')"),
        "{e}"
    );
}

#[test]
fn a_distributed_map_runs_its_body_once_per_batch_and_counts_its_express_children() {
    let states = [StateNode::new("M", StateKind::Map, 0.0)];
    let map = MapBlock {
        state: "M".to_string(),
        body: vec!["f".to_string()],
        items: 100.0,
        max_concurrency: 4,
        measured_runs: None,
        mode: Some(MapMode::Distributed),
        child_execution: None,
        batch_items: Some(25.0),
    };
    let with_map = |map: MapBlock| {
        let list = flow("Start→M, M→f, f→g, g→End");
        Workflow::build_with_states(&ids(&["f", "g"]), &states, &[map], &list).unwrap()
    };
    let w = with_map(map.clone());
    assert_eq!(w.display_structure().to_string(), "M → map×4/4(f) → g");
    assert_eq!(w.invocations(), &[4.0, 1.0]);
    assert_eq!(w.express_children(), 4.0);
    assert_eq!(w.express_invocations(), &[4.0, 0.0]);
    // The body's transitions are the children's: Start → M, M → g (after the body), g → End.
    assert_eq!(w.expected_transitions(), 3.0);
    // Standard children bill their transitions like an inline Map.
    let standard = MapBlock {
        child_execution: Some(ChildExecutionType::Standard),
        ..map
    };
    let w = with_map(standard);
    assert_eq!(w.express_children(), 0.0);
    assert_eq!(w.expected_transitions(), 1.0 + 4.0 + 4.0 + 1.0);
}
