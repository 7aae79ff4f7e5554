//! Building a workflow: validating the edge list, rotating while loops, removing self-loops and
//! back edges, and reducing the de-looped graph with dominators and post-dominators to a
//! [`Structure`] tree.
//!
//! **Sites.** A function invoked from several places has one node of its own and a [`Site`] node
//! for each other place. Sites are ordinary nodes for the reduction (each has its own position
//! and invocation count); once the structure is built, every site leaf becomes its function's
//! leaf, so that latency, `NI(f)`, costs, the plans and the optimizers see one function with one
//! memory and variant. [`Workflow::site_structure`] keeps the sites for drawings.
//!
//! **While loops.** A loop whose exit is decided at its top (`poll → (choice) → wait → poll`,
//! the edge back taken with probability 1 and the branch at `poll`) is rotated into the form the
//! reduction reads: the nodes from the loop's head down to the node that decides are copied, the
//! edge back enters the copy, and the copy's branch closes the loop with its own probability. The
//! structure is then `poll → branch(exit | loop(wait → poll′))`, which has the same expected time
//! and invocations as the loop; copies, like sites, become their originals' leaves.

use std::collections::{HashMap, HashSet};

use petgraph::algo::dominators::simple_fast;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Reversed;

use super::loops::{Rotated, rotate_while_loops};
use super::maps::{apply_map, map_body};
use super::plan::compile_plans;
use super::reduce::*;
use super::{
    BRANCH_SUM_TOLERANCE, END, Edge, GraphNode, MapBlock, START, Site, StateNode, Structure,
    Workflow, WorkflowError, WorkflowGraph,
};
use crate::limits;

/// Most rotations of while loops one workflow may need.
pub(super) const MAX_ROTATIONS: usize = 1_000;

pub(super) struct Adjacency {
    /// (target, probability, edge index), self-loops and back edges included.
    pub(super) out: Vec<Vec<(usize, f64, usize)>>,
}
impl Workflow {
    /// Validates the edge list over `function_ids` and builds the evaluation plan.
    pub fn build(function_ids: &[String], edges: &[Edge]) -> Result<Workflow, WorkflowError> {
        Workflow::build_with_sites(function_ids, &[], &[], &[], edges)
    }

    /// [`Workflow::build`] with state nodes (non-Lambda states kept in the graph) and Map blocks.
    pub fn build_with_states(
        function_ids: &[String],
        states: &[StateNode],
        maps: &[MapBlock],
        edges: &[Edge],
    ) -> Result<Workflow, WorkflowError> {
        Workflow::build_with_sites(function_ids, states, &[], maps, edges)
    }

    /// [`Workflow::build_with_states`] with the sites of functions invoked from several places.
    pub fn build_with_sites(
        function_ids: &[String],
        states: &[StateNode],
        sites: &[Site],
        maps: &[MapBlock],
        edges: &[Edge],
    ) -> Result<Workflow, WorkflowError> {
        if function_ids.is_empty() {
            return Err(WorkflowError::Empty);
        }
        let functions = function_ids.len();
        let mut fixed_ms = Vec::with_capacity(states.len());
        let mut state_samples = Vec::with_capacity(states.len());
        let mut state_prices = Vec::with_capacity(states.len());
        for st in states {
            let bad = |reason: String| WorkflowError::BadState {
                id: st.id.clone(),
                reason,
            };
            if let Err(m) = limits::STATE_DURATION_MS.check(st.delay_ms) {
                return Err(bad(format!("delay_ms {m}")));
            }
            if let Some(p) = st.price_per_request
                && let Err(m) = limits::PRICE_USD.check(p)
            {
                return Err(bad(format!("price_per_request {m}")));
            }
            if let Some((k, m)) = st
                .samples_ms
                .iter()
                .enumerate()
                .find_map(|(k, &x)| limits::STATE_DURATION_MS.check(x).err().map(|m| (k, m)))
            {
                return Err(bad(format!("samples_ms[{k}] {m}")));
            }
            if function_ids.contains(&st.id) {
                return Err(bad("a function has the same id".to_string()));
            }
            fixed_ms.push(st.delay_ms);
            state_samples.push(st.samples_ms.clone());
            state_prices.push(st.price_per_request.unwrap_or(0.0));
        }
        let mut site_functions = Vec::with_capacity(sites.len());
        for site in sites {
            match function_ids.iter().position(|f| *f == site.function) {
                Some(f) => site_functions.push(f),
                None => {
                    return Err(WorkflowError::BadSite {
                        id: site.id.clone(),
                        reason: format!("'{}' is not a function of the workflow", site.function),
                    });
                }
            }
            if function_ids.contains(&site.id) || states.iter().any(|st| st.id == site.id) {
                return Err(WorkflowError::BadSite {
                    id: site.id.clone(),
                    reason: "a function or state node has the same id".to_string(),
                });
            }
        }
        let state_count = states.len();
        let mut all_ids: Vec<String> = function_ids.to_vec();
        all_ids.extend(states.iter().map(|st| st.id.clone()));
        all_ids.extend(sites.iter().map(|s| s.id.clone()));
        let n = all_ids.len();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, id) in all_ids.iter().enumerate() {
            if id == START || id == END {
                return Err(WorkflowError::ReservedName { id: id.clone() });
            }
            if index.insert(id.as_str(), i).is_some() {
                return Err(WorkflowError::DuplicateFunction { id: id.clone() });
            }
        }
        index.insert(START, n);
        index.insert(END, n + 1);
        let given_name = |v: usize| -> String {
            if v == n {
                START.to_string()
            } else if v == n + 1 {
                END.to_string()
            } else {
                all_ids[v].clone()
            }
        };

        // Resolve and check every edge.
        let mut adj = Adjacency {
            out: vec![Vec::new(); n + 2],
        };
        let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
        for (k, e) in edges.iter().enumerate() {
            let resolve = |s: &str| {
                index
                    .get(s)
                    .copied()
                    .ok_or_else(|| WorkflowError::UnknownNode {
                        edge: k,
                        from: e.from.clone(),
                        to: e.to.clone(),
                        node: s.to_string(),
                    })
            };
            let u = resolve(&e.from)?;
            let v = resolve(&e.to)?;
            let p = e.probability;
            if !(p.is_finite() && p > 0.0 && p <= 1.0) {
                return Err(WorkflowError::BadProbability {
                    edge: k,
                    from: e.from.clone(),
                    to: e.to.clone(),
                    probability: p,
                });
            }
            if let Some(t) = e.transitions
                && !(t.is_finite() && t >= 0.0)
            {
                return Err(WorkflowError::BadTransitions {
                    edge: k,
                    from: e.from.clone(),
                    to: e.to.clone(),
                    transitions: t,
                });
            }
            let endpoint = |reason| WorkflowError::BadEndpoint {
                edge: k,
                from: e.from.clone(),
                to: e.to.clone(),
                reason,
            };
            if u == n + 1 {
                return Err(endpoint("End has no outgoing edges"));
            }
            if v == n {
                return Err(endpoint("Start has no incoming edges"));
            }
            if let Some(&first) = seen.get(&(u, v)) {
                return Err(WorkflowError::DuplicateEdge {
                    edge: k,
                    first,
                    from: e.from.clone(),
                    to: e.to.clone(),
                });
            }
            seen.insert((u, v), k);
            if u == v && p >= 1.0 {
                return Err(WorkflowError::EndlessLoop {
                    edge: k,
                    from: e.from.clone(),
                    to: e.to.clone(),
                    reason: "a self-loop with probability 1 is taken forever".to_string(),
                });
            }
            adj.out[u].push((v, p, k));
        }

        // Branch groups must sum to 1.
        for u in 0..n + 2 {
            let group: Vec<_> = adj.out[u].iter().filter(|(_, p, _)| *p < 1.0).collect();
            if let Some(first) = group.first() {
                let sum: f64 = group.iter().map(|(_, p, _)| p).sum();
                if (sum - 1.0).abs() > BRANCH_SUM_TOLERANCE {
                    let items: Vec<String> = group
                        .iter()
                        .map(|(v, p, _)| format!("{} ({p})", given_name(*v)))
                        .collect();
                    return Err(WorkflowError::BranchSum {
                        node: given_name(u),
                        sum,
                        edges: items.join(", "),
                        edge: first.2,
                    });
                }
            }
        }

        // Reachability over all edges (before any rotation, so messages name given nodes).
        let forward = reach(n, n + 2, |u| {
            adj.out[u].iter().map(|&(v, _, _)| v).collect::<Vec<_>>()
        });
        let mut unreachable: Vec<String> =
            (0..n).filter(|&v| !forward[v]).map(given_name).collect();
        if !forward[n + 1] {
            unreachable.push(END.to_string());
        }
        if !unreachable.is_empty() {
            return Err(WorkflowError::Unreachable { nodes: unreachable });
        }
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n + 2];
        for (u, outs) in adj.out.iter().enumerate() {
            for &(v, _, _) in outs {
                preds[v].push(u);
            }
        }
        let backward = reach(n + 1, n + 2, |v| preds[v].clone());
        let stuck: Vec<String> = (0..n).filter(|&v| !backward[v]).map(given_name).collect();
        if !stuck.is_empty() {
            return Err(WorkflowError::CannotReachEnd { nodes: stuck });
        }

        // While loops: copies of the nodes from a loop's head to its decision. Copies are
        // numbered after the given nodes, Start and End move after them.
        let Rotated {
            adj,
            origin,
            dispatch,
            free,
        } = rotate_while_loops(adj, n, &given_name)?;
        let given_n = n;
        let copies = origin.len();
        let n = n + copies;
        let start = n;
        let end = n + 1;
        // Given node of every node (copies → what they copy).
        let base = |v: usize| -> usize {
            if v >= given_n && v < n {
                origin[v - given_n]
            } else {
                v
            }
        };
        let is_dispatch = |v: usize| v >= given_n && v < n && dispatch[v - given_n];
        let name = |v: usize| -> String {
            if v == start {
                START.to_string()
            } else if v == end {
                END.to_string()
            } else if is_dispatch(v) {
                format!("{} (again)", all_ids[base(v)])
            } else {
                all_ids[base(v)].clone()
            }
        };
        let mut ids = all_ids.clone();
        ids.extend((0..copies).map(|j| name(given_n + j)));

        // Self-loops and back edges.
        let mut self_loop = vec![0.0; n + 2];
        for (u, outs) in adj.out.iter().enumerate() {
            for &(v, p, _) in outs {
                if u == v {
                    self_loop[u] = p;
                }
            }
        }
        let back = back_edges(start, &adj);
        // header -> (latch, probability, edge); latch -> header
        let mut loop_of_header: HashMap<usize, (usize, f64, usize)> = HashMap::new();
        let mut latch_seen: HashMap<usize, usize> = HashMap::new();
        for &(u, h, p, k) in &back {
            if p >= 1.0 {
                return Err(WorkflowError::EndlessLoop {
                    edge: k,
                    from: name(u),
                    to: name(h),
                    reason: format!(
                        "this edge closes a cycle back to '{}' but has probability 1, so it is taken every time; a cycle must be closed by a branch edge (p < 1) from the node where it can exit",
                        name(h)
                    ),
                });
            }
            if let Some((other, _, _)) = loop_of_header.get(&h) {
                return Err(WorkflowError::Irreducible {
                    edge: Some(k),
                    reason: format!(
                        "'{}' is the target of two loop edges (from '{}' and from '{}'); merge them into one loop",
                        name(h),
                        name(*other),
                        name(u)
                    ),
                });
            }
            if let Some(other) = latch_seen.get(&u) {
                return Err(WorkflowError::Irreducible {
                    edge: Some(k),
                    reason: format!(
                        "'{}' has loop edges back to two nodes ('{}' and '{}')",
                        name(u),
                        name(*other),
                        name(h)
                    ),
                });
            }
            // Probability of going back once the self-loop (if any) has been left.
            let ps = self_loop[u];
            let p_back = p / (1.0 - ps);
            if p_back >= 1.0 - 1e-12 {
                return Err(WorkflowError::EndlessLoop {
                    edge: k,
                    from: name(u),
                    to: name(h),
                    reason: format!("'{}' has no way out but the loop", name(u)),
                });
            }
            loop_of_header.insert(h, (u, p_back, k));
            latch_seen.insert(u, h);
        }
        let back_set: HashSet<(usize, usize)> = back.iter().map(|&(u, h, _, _)| (u, h)).collect();

        // The de-looped DAG, with branch probabilities renormalised to the mass that moves forward.
        let mut graph = WorkflowGraph::with_capacity(n + 2, edges.len());
        for i in 0..n {
            graph.add_node(GraphNode::Function(i));
        }
        graph.add_node(GraphNode::Start);
        graph.add_node(GraphNode::End);
        let mut dag = vec![Fanout::default(); n + 2];
        for (u, outs) in adj.out.iter().enumerate() {
            let loop_mass: f64 = outs
                .iter()
                .filter(|&&(v, _, _)| v == u || back_set.contains(&(u, v)))
                .map(|&(_, p, _)| p)
                .sum();
            let forward_branch_mass = 1.0 - loop_mass;
            for &(v, p, k) in outs {
                if v == u || back_set.contains(&(u, v)) {
                    continue;
                }
                graph.add_edge(NodeIndex::new(u), NodeIndex::new(v), p);
                if p >= 1.0 {
                    dag[u].parallel.push(v);
                } else {
                    dag[u].branch.push((v, p / forward_branch_mass, k));
                }
            }
        }
        for &(u, h, p, _) in &back {
            graph.add_edge(NodeIndex::new(u), NodeIndex::new(h), p);
        }
        for (u, &p) in self_loop.iter().enumerate() {
            if p > 0.0 {
                graph.add_edge(NodeIndex::new(u), NodeIndex::new(u), p);
            }
        }

        // Every node must still reach End without taking a loop edge.
        let mut dag_graph: DiGraph<(), ()> = DiGraph::with_capacity(n + 2, edges.len());
        for _ in 0..n + 2 {
            dag_graph.add_node(());
        }
        for (u, f) in dag.iter().enumerate() {
            for v in f.targets() {
                dag_graph.add_edge(NodeIndex::new(u), NodeIndex::new(v), ());
            }
        }
        let dag_back = reach(end, n + 2, |v| {
            dag_graph
                .neighbors_directed(NodeIndex::new(v), petgraph::Direction::Incoming)
                .map(|x| x.index())
                .collect::<Vec<_>>()
        });
        if let Some(v) = (0..n).find(|&v| !dag_back[v]) {
            return Err(WorkflowError::Irreducible {
                edge: None,
                reason: format!(
                    "'{}' reaches End only by going around a loop again",
                    name(v)
                ),
            });
        }

        let doms = simple_fast(&dag_graph, NodeIndex::new(start));
        let pdoms = simple_fast(Reversed(&dag_graph), NodeIndex::new(end));
        for (&h, &(l, _, k)) in &loop_of_header {
            let h_dominates_l = dominates(&doms, h, l);
            let l_postdominates_h = dominates(&pdoms, l, h);
            if !(h_dominates_l && l_postdominates_h) {
                return Err(WorkflowError::Irreducible {
                    edge: Some(k),
                    reason: format!(
                        "the cycle {} → {} is not a single-entry, single-exit block: every path from '{}' must pass through '{}' and every path into it must enter at '{}' (a loop that starts or ends inside a branch or parallel block cannot be reduced)",
                        name(l),
                        name(h),
                        name(h),
                        name(l),
                        name(h)
                    ),
                });
            }
        }

        let mut reducer = Reducer {
            n,
            end,
            dag: &dag,
            pdoms: &pdoms,
            self_loop: &self_loop,
            loops: &loop_of_header,
            leaves: 0,
            depth: 0,
            name: &name,
        };
        let mut structure = reducer.walk_from_start(start)?;
        check_parallel_disjoint(&structure, &name)?;
        for m in maps {
            // The Map's node, and its copies made by rotating a while loop around it.
            let body = map_body(m, &index, functions)?;
            let Some(&node) = index.get(m.state.as_str()) else {
                continue;
            };
            for v in (0..n).filter(|&v| base(v) == node && !is_dispatch(v)) {
                apply_map(&mut structure, m, v, &body, &base)?;
            }
        }

        // Runs of every node (given nodes, sites and copies), for the transitions they bill.
        let mut runs = vec![0.0; n];
        accumulate_invocations(&structure, 1.0, &mut runs);
        // Expected transitions: each node's runs times the sum of its out-probabilities, each
        // edge weighted by the transitions it bills (1 unless the edge says otherwise). A Map
        // state's edges into its body are taken once per run of the body. The states inside the
        // body of a Distributed Map with Express children are billed as those children, not as
        // transitions.
        // Body node → its Map's body runs per run of the Map state.
        let express_body: HashMap<usize, f64> = maps
            .iter()
            .filter(|m| m.express_children() > 0.0)
            .flat_map(|m| {
                m.body
                    .iter()
                    .filter_map(|b| index.get(b.as_str()).map(|&v| (v, m.runs())))
            })
            .collect();
        let mut transitions = 0.0;
        for (u, outs) in adj.out.iter().enumerate() {
            let given = base(u);
            if let Some(&per_run) = express_body.get(&given) {
                // Inside a child: only the edge out of the body is the parent's, once per run of
                // the Map state.
                let calls = if u < n { runs[u] / per_run } else { 0.0 };
                transitions += calls
                    * outs
                        .iter()
                        .filter(|&&(v, _, _)| !express_body.contains_key(&base(v)))
                        .map(|&(_, p, k)| p * edges[k].transitions.unwrap_or(1.0))
                        .sum::<f64>();
                continue;
            }
            let mut calls = if u == start {
                1.0
            } else if u < n {
                runs[u]
            } else {
                0.0
            };
            if let Some(m) = maps
                .iter()
                .find(|m| index.get(m.state.as_str()) == Some(&given))
            {
                if m.express_children() > 0.0 {
                    // Into an Express child's body: billed by the child.
                    transitions += calls
                        * outs
                            .iter()
                            .filter(|&&(v, _, _)| !express_body.contains_key(&base(v)))
                            .map(|&(_, p, k)| p * edges[k].transitions.unwrap_or(1.0))
                            .sum::<f64>();
                    continue;
                }
                calls *= m.runs();
            }
            transitions += calls
                * outs
                    .iter()
                    .filter(|&&(v, _, _)| !free.contains(&(u, v)))
                    .map(|&(_, p, k)| p * edges[k].transitions.unwrap_or(1.0))
                    .sum::<f64>();
        }

        // Sites and copies become their functions' (and states') leaves.
        let given_functions = functions;
        let site_base = given_functions + state_count;
        let site_structure = remap(&structure, &|i| (!is_dispatch(i)).then(|| base(i)));
        let leaf_of = |i: usize| -> usize {
            let g = base(i);
            if g >= site_base {
                site_functions[g - site_base]
            } else {
                g
            }
        };
        let structure = remap(&structure, &|i| (!is_dispatch(i)).then(|| leaf_of(i)));
        let mut invocations = vec![0.0; site_base];
        accumulate_invocations(&structure, 1.0, &mut invocations);
        if let Some((i, &r)) = invocations
            .iter()
            .enumerate()
            .find(|(_, r)| !(r.is_finite() && **r <= limits::MAX_RUNS_PER_EXECUTION))
        {
            return Err(WorkflowError::TooManyRuns {
                node: all_ids.get(i).cloned().unwrap_or_default(),
                runs: r,
                max: limits::MAX_RUNS_PER_EXECUTION,
            });
        }
        // Runs inside Express children's bodies, per function and state node.
        let mut express_runs = vec![0.0; site_base];
        let mut express_children = 0.0;
        for m in maps.iter().filter(|m| m.express_children() > 0.0) {
            if let Some(&node) = index.get(m.state.as_str()) {
                let entries: f64 = (0..n).filter(|&v| base(v) == node).map(|v| runs[v]).sum();
                express_children += entries * m.express_children();
            }
        }
        for (v, &r) in runs.iter().enumerate() {
            if express_body.contains_key(&base(v)) && !is_dispatch(v) {
                express_runs[leaf_of(v)] += r;
            }
        }

        let plans = compile_plans(&structure, functions, &fixed_ms);
        Ok(Workflow {
            functions,
            states: state_count,
            site_functions,
            fixed_ms,
            state_samples,
            state_prices,
            state_nodes: states.to_vec(),
            map_blocks: maps.to_vec(),
            ids,
            graph,
            structure,
            site_structure,
            plans,
            invocations,
            express_runs,
            express_children,
            transitions,
        })
    }
}

/// The structure with every leaf `i` replaced by `f(i)`, or left out where `f` gives `None`
/// (a dispatch node: no time).
fn remap(s: &Structure, f: &dyn Fn(usize) -> Option<usize>) -> Structure {
    match s {
        Structure::Function(i) => match f(*i) {
            Some(j) => Structure::Function(j),
            None => Structure::Sequence(Vec::new()),
        },
        Structure::Sequence(items) => {
            let mut kept: Vec<Structure> = items
                .iter()
                .map(|x| remap(x, f))
                .filter(|x| !matches!(x, Structure::Sequence(v) if v.is_empty()))
                .collect();
            if kept.len() == 1 && items.len() > 1 {
                kept.pop().unwrap_or(Structure::Sequence(Vec::new()))
            } else {
                Structure::Sequence(kept)
            }
        }
        Structure::Parallel(items) => {
            Structure::Parallel(items.iter().map(|x| remap(x, f)).collect())
        }
        Structure::Branch(arms) => {
            Structure::Branch(arms.iter().map(|(p, a)| (*p, remap(a, f))).collect())
        }
        Structure::Repeat {
            expected_runs,
            kind,
            body,
        } => Structure::Repeat {
            expected_runs: *expected_runs,
            kind: *kind,
            body: Box::new(remap(body, f)),
        },
        Structure::Map {
            items,
            max_concurrency,
            waves,
            body,
        } => Structure::Map {
            items: *items,
            max_concurrency: *max_concurrency,
            waves: *waves,
            body: Box::new(remap(body, f)),
        },
    }
}

pub(super) fn accumulate_invocations(s: &Structure, weight: f64, ni: &mut [f64]) {
    match s {
        Structure::Function(f) => {
            if let Some(x) = ni.get_mut(*f) {
                *x += weight;
            }
        }
        Structure::Sequence(items) | Structure::Parallel(items) => {
            for i in items {
                accumulate_invocations(i, weight, ni);
            }
        }
        Structure::Branch(arms) => {
            for (p, a) in arms {
                accumulate_invocations(a, weight * p, ni);
            }
        }
        Structure::Repeat {
            expected_runs,
            body,
            ..
        } => accumulate_invocations(body, weight * expected_runs, ni),
        Structure::Map { items, body, .. } => accumulate_invocations(body, weight * items, ni),
    }
}
