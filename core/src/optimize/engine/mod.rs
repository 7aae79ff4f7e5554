//! The search engine: one depth-first branch and bound for every problem, generic over how a
//! configuration is scored ([`Scoring`]): by its expected figures (latency, cost, accuracy), or
//! by those plus its percentiles over sampled executions ([`super::tail`]).
//!
//! The parts every problem shares live here once:
//!
//! - **bounds** ([`bounds`]): the optimistic corner of a node — assigned functions at their
//!   option, the others at their fastest, cheapest and most accurate — bounds every completion's
//!   latency, cost (the Express duration charge taken on the latency bound) and accuracy, and the
//!   scoring adds its own bounds (the percentiles with the unassigned functions' fastest draw on
//!   every sampled invocation);
//! - **dominance pruning** ([`SearchSpace::prune_with`]): an option another option of the same
//!   function beats in duration, cost and accuracy (and, for a scoring that samples, on every
//!   sampled invocation) is dropped;
//! - **constraint checks** ([`admits`], [`value`], [`better`]): one definition of meeting a limit
//!   (with [`super::CONSTRAINT_TOLERANCE`]) and of a better answer;
//! - **finishing an answer** ([`finish`]): the status, the certified bound and gap, and the
//!   explanation of infeasibility (each relaxed problem solved by this engine again).
//!
//! Every price (Lambda by architecture and billing granularity, cold starts and INIT billing,
//! provisioned concurrency, Step Functions Standard and Express) enters through
//! [`crate::bundle::Application::option_figures`] (each option's cost share) and
//! [`SearchSpace::latency_cost`] (the Express duration charge): the search, its bounds and the
//! answer's figures use the same two functions, so a bound can never leave a charge out.
//!
//! A search that finishes has proven its answer optimal (or the problem infeasible). A search
//! stopped by its node budget returns its best configuration with a certified bound: the best
//! objective value any configuration of the unexplored subtrees could reach (each subtree's
//! optimistic corner), so the answer is within `gap` of the optimum.

pub mod bounds;
pub mod finish;
pub mod lagrange;
pub mod layout;
pub mod minorant;

use super::{Metrics, Objective, Outcome, Problem, SearchSpace, tol};
use crate::workflow::LatencyScratch;
pub use finish::finish;
pub use lagrange::Relaxation;
pub use layout::{Layout, Var, VarOption};

/// A configuration's figures: the expected ones and, for scorings that sample executions, the
/// percentiles over them (NaN when not computed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Expected latency, cost and accuracy.
    pub metrics: Metrics,
    /// 95th percentile over the scenarios, ms.
    pub p95_ms: f64,
    /// 99th percentile over the scenarios, ms.
    pub p99_ms: f64,
}

impl Figures {
    /// Expected figures only.
    pub fn expected(metrics: Metrics) -> Figures {
        Figures {
            metrics,
            p95_ms: f64::NAN,
            p99_ms: f64::NAN,
        }
    }
}

/// The objective's value of `t` (the percentile for the tail objectives).
pub fn value(problem: &Problem, t: &Figures) -> f64 {
    match problem.objective {
        Objective::P95Latency => t.p95_ms,
        Objective::P99Latency => t.p99_ms,
        _ => problem.value(&t.metrics),
    }
}

/// Is `a` strictly better than `b` for the problem's objective?
pub fn better(problem: &Problem, a: &Figures, b: &Figures) -> bool {
    let (x, y) = (value(problem, a), value(problem, b));
    if maximize(problem) { x > y } else { x < y }
}

/// Does the objective grow better upwards (accuracy)?
pub fn maximize(problem: &Problem) -> bool {
    problem.objective == Objective::Accuracy
}

/// Does `t` meet every limit of `c` (the analytic ones and the percentiles), each within
/// [`tol`]?
pub fn admits(c: &super::Constraints, t: &Figures) -> bool {
    c.admits(&t.metrics)
        && c.max_p95_latency_ms.is_none_or(|l| t.p95_ms <= l + tol(l))
        && c.max_p99_latency_ms.is_none_or(|l| t.p99_ms <= l + tol(l))
}

/// How the engine scores configurations. The expected figures come from the search space; a
/// scoring may add percentiles, with bounds for partial assignments.
pub trait Scoring<'a> {
    /// The options searched (the picks index them).
    fn space(&self) -> &SearchSpace<'a>;
    /// The variables of the search.
    fn layout(&self) -> &Layout;
    /// Function `f` takes option `option`, or goes back to its optimistic corner (`None`).
    fn set(&mut self, f: usize, option: Option<usize>);
    /// Lower bounds on the percentiles asked for (NaN for the others) with every function at its
    /// set option or its corner: exact when every function is set. NaN for a scoring without
    /// percentiles.
    fn percentiles(&mut self, p95: bool, p99: bool) -> (f64, f64);
    /// Every figure of a complete pick, computed afresh.
    fn evaluate(&mut self, pick: &[usize]) -> Figures;
}

/// Scores by the expected figures alone.
#[derive(Debug)]
pub struct Expected<'s, 'a> {
    space: &'s SearchSpace<'a>,
    layout: &'s Layout,
    scratch: super::space::Scratch,
}

impl<'s, 'a> Expected<'s, 'a> {
    /// The scoring of `space` with its layout ([`Layout::new`] with whole units allowed).
    pub fn new(space: &'s SearchSpace<'a>, layout: &'s Layout) -> Self {
        Expected {
            space,
            layout,
            scratch: Default::default(),
        }
    }
}

impl<'a> Scoring<'a> for Expected<'_, 'a> {
    fn space(&self) -> &SearchSpace<'a> {
        self.space
    }
    fn layout(&self) -> &Layout {
        self.layout
    }
    fn set(&mut self, _: usize, _: Option<usize>) {}
    fn percentiles(&mut self, _: bool, _: bool) -> (f64, f64) {
        (f64::NAN, f64::NAN)
    }
    fn evaluate(&mut self, pick: &[usize]) -> Figures {
        Figures::expected(self.space.evaluate_with(pick, &mut self.scratch))
    }
}

/// Limits of one search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Search nodes (option trials) before the search stops with a certified bound.
    pub nodes: u64,
}

/// What the search found, with its figures.
pub type Found = Outcome<Figures>;

/// Search nodes the engine spends on corner bounds alone before it computes the Lagrangian
/// relaxation and starts again from the incumbent found (small problems finish well within it,
/// and skip the relaxation's cost).
pub const QUICK_NODES: u64 = 20_000;

/// Solves `problem` with the scoring's options. The answer's figures are the scoring's
/// [`Scoring::evaluate`] of it.
pub fn search<'a, S: Scoring<'a>>(scoring: &mut S, problem: &Problem, budget: Budget) -> Found {
    search_from(scoring, problem, budget, || None, || None)
}

/// [`search`] with help for finding a first configuration: when the first [`QUICK_NODES`]
/// nodes (or the whole budget, if smaller) neither finish the search nor find a configuration
/// meeting the limits, `start()` proposes one (picks over the scoring's space), the incumbent
/// of the rest of the search if it meets every limit; when the budget then runs out with still
/// no configuration, `fallback()` proposes one, returned (unproven) if it meets every limit.
/// There is therefore an answer whenever either finds one, and it is never worse than theirs.
/// A search that finishes, or finds a configuration itself, calls neither (the greedy
/// heuristics' polish, a natural fallback, takes seconds to a minute on workflows with
/// thousands of paths).
pub fn search_from<'a, S: Scoring<'a>>(
    scoring: &mut S,
    problem: &Problem,
    budget: Budget,
    start: impl FnOnce() -> Option<Vec<usize>>,
    fallback: impl FnOnce() -> Option<Vec<usize>>,
) -> Found {
    let space = scoring.space();
    let layout = scoring.layout();
    let n = space.options.len();
    if n == 0 || space.options.iter().any(Vec::is_empty) || layout.vars.is_empty() {
        return Outcome {
            best: None,
            proven: true,
            evaluations: 0,
            bound: None,
        };
    }
    // First the corner bounds alone; past `QUICK_NODES`, again with the relaxation.
    let quick = Budget {
        nodes: budget.nodes.min(QUICK_NODES),
    };
    let mut s = Search::new(scoring, problem, quick, None, None);
    s.run(scoring);
    if s.aborted && s.open.is_some() && s.best.is_none() {
        s.offer(scoring, problem, start());
    }
    if s.aborted && s.open.is_some() && budget.nodes > quick.nodes {
        let relaxation = Relaxation::new(scoring.space(), scoring.layout(), problem);
        if relaxation.active() {
            let spent = s.nodes;
            let incumbent = s.best.take();
            let rest = Budget {
                nodes: budget.nodes - spent,
            };
            s = Search::new(scoring, problem, rest, Some(relaxation), incumbent);
            s.run(scoring);
            s.nodes += spent;
        } else {
            s.budget = Budget {
                nodes: budget.nodes,
            };
            s.aborted = false;
            s.open = None;
            s.run(scoring);
        }
    }
    if s.aborted && s.open.is_some() && s.best.is_none() {
        s.offer(scoring, problem, fallback());
    }
    let best = s.best.map(|(pick, _)| {
        let t = scoring.evaluate(&pick);
        (pick, t)
    });
    // Stopped, but every subtree left was cut: that is a finished proof too.
    let proven = !s.aborted || s.open.is_none();
    let bound = match (&best, proven) {
        (Some((_, t)), true) => Some(value(problem, t)),
        (None, true) => None,
        (Some((_, t)), false) => Some(match s.open {
            Some(o) if maximize(problem) => o.max(value(problem, t)),
            Some(o) => o.min(value(problem, t)),
            None => value(problem, t),
        }),
        (None, false) => s.open,
    };
    Outcome {
        best,
        proven,
        evaluations: s.nodes,
        bound,
    }
}

/// The order the search assigns variables in (largest spread of the objective first) and, per
/// variable, the order it tries options in (most promising first).
pub(crate) fn search_order(
    space: &SearchSpace,
    layout: &Layout,
    problem: &Problem,
) -> (Vec<usize>, Vec<Vec<usize>>) {
    let ni = space.app.workflow.invocations();
    // Per option: its latency weight (the exact contribution, or the durations times the
    // invocations for a composite unit's function), cost and accuracy.
    let key = |v: &Var, o: &VarOption| -> (f64, f64, f64) {
        let mut duration = 0.0;
        let mut accuracy = 0.0;
        for (&f, &p) in v.functions.iter().zip(&o.picks) {
            let x = &space.options[f][p];
            duration += x.duration_ms * ni.get(f).copied().unwrap_or(1.0);
            accuracy += x.accuracy;
        }
        let latency = if v.enumerated { o.latency } else { duration };
        (latency, o.cost, accuracy)
    };
    let pick = |k: (f64, f64, f64)| match problem.objective {
        Objective::Latency | Objective::P95Latency | Objective::P99Latency => k.0,
        Objective::Cost => k.1,
        Objective::Accuracy => k.2,
    };
    let spread = |v: &Var| -> f64 {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for o in &v.options {
            let x = pick(key(v, o));
            lo = lo.min(x);
            hi = hi.max(x);
        }
        hi - lo
    };
    // A composite unit's functions are assigned one after another (once the last is, the
    // unit's exact latency replaces its linear bound), the groups by decreasing spread.
    let spreads: Vec<f64> = layout.vars.iter().map(spread).collect();
    let group = |v: usize| {
        layout.vars[v]
            .composite
            .map_or(v, |c| layout.vars.len() + c)
    };
    let mut group_spread = vec![0.0; layout.vars.len() + layout.composites.len()];
    for (v, s) in spreads.iter().enumerate() {
        group_spread[group(v)] += s;
    }
    let mut order: Vec<usize> = (0..layout.vars.len()).collect();
    order.sort_by(|&a, &b| {
        group_spread[group(b)]
            .total_cmp(&group_spread[group(a)])
            .then(group(a).cmp(&group(b)))
            .then(spreads[b].total_cmp(&spreads[a]))
            .then(
                layout.vars[b]
                    .options
                    .len()
                    .cmp(&layout.vars[a].options.len()),
            )
    });
    let option_order = layout
        .vars
        .iter()
        .map(|v| {
            let keys: Vec<(f64, f64, f64)> = v.options.iter().map(|o| key(v, o)).collect();
            let mut idx: Vec<usize> = (0..v.options.len()).collect();
            idx.sort_by(|&i, &j| {
                let (a, b) = (keys[i], keys[j]);
                match problem.objective {
                    Objective::Latency | Objective::P95Latency | Objective::P99Latency => {
                        a.0.total_cmp(&b.0)
                    }
                    Objective::Cost => a.1.total_cmp(&b.1),
                    Objective::Accuracy => b.2.total_cmp(&a.2).then(a.1.total_cmp(&b.1)),
                }
            });
            idx
        })
        .collect();
    (order, option_order)
}

/// What one trial of an option gave.
enum Trial {
    /// A bound breaks a limit or cannot beat the incumbent.
    Cut,
    /// The node's optimistic figures (the configuration's own at a leaf).
    Open(Figures),
}

/// The running sums of a node: what the variables assigned so far add.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Fixed charges plus the assigned variables' cost shares.
    cost: f64,
    /// The assigned whole units' latency contributions.
    latency: f64,
    /// The plan's latency with the composite units' assigned functions set, every other
    /// function at its fastest.
    composite: f64,
    /// The assigned options' weights in the Lagrangian relaxation.
    lag: f64,
    /// The composite latency before the composite unit being assigned started.
    unit_start: f64,
    /// The latency parts of the weights of that unit's assigned functions.
    unit_weight: f64,
    /// The assigned options' part of a sum score.
    accuracy: f64,
}

struct Search<'p> {
    problem: &'p Problem,
    order: Vec<usize>,
    option_order: Vec<Vec<usize>>,
    /// `min_cost_rest[k]`: the cheapest options of the variables at depth `k` and deeper.
    min_cost_rest: Vec<f64>,
    /// `min_latency_rest[k]`: their smallest latency contributions.
    min_latency_rest: Vec<f64>,
    /// The composite units' assigned functions' durations, every other function's fastest.
    durations: Vec<f64>,
    fastest: Vec<f64>,
    /// The corner: assigned functions' accuracies, the others' highest.
    accuracies: Vec<f64>,
    most_accurate: Vec<f64>,
    pick: Vec<usize>,
    stack: LatencyScratch,
    need: (bool, bool),
    tail_objective: bool,
    best: Option<(Vec<usize>, Figures)>,
    nodes: u64,
    budget: Budget,
    aborted: bool,
    /// After an abort: the best objective value of any subtree left unexplored.
    open: Option<f64>,
    /// The Lagrangian relaxation, with `lightest_rest[k]`: the lightest options' weights of
    /// the variables at depth `k` and deeper.
    relaxation: Option<(Relaxation, Vec<f64>)>,
    /// The knapsack tables of the relaxation along the search order.
    tables: Vec<Vec<f64>>,
    /// The variable at depth `k` is the first (last) of its composite unit.
    unit_first: Vec<bool>,
    unit_last: Vec<bool>,
}

impl<'p> Search<'p> {
    fn new<'a, S: Scoring<'a>>(
        scoring: &S,
        problem: &'p Problem,
        budget: Budget,
        relaxation: Option<Relaxation>,
        incumbent: Option<(Vec<usize>, Figures)>,
    ) -> Self {
        let space = scoring.space();
        let layout = scoring.layout();
        let corners = bounds::Corners::new(space);
        let (order, mut option_order) = search_order(space, layout, problem);
        let depth = order.len();
        let mut min_cost_rest = vec![0.0; depth + 1];
        let mut min_latency_rest = vec![0.0; depth + 1];
        for k in (0..depth).rev() {
            let v = &layout.vars[order[k]];
            let min =
                |g: fn(&VarOption) -> f64| v.options.iter().map(g).fold(f64::INFINITY, f64::min);
            min_cost_rest[k] = min_cost_rest[k + 1] + min(|o| o.cost);
            min_latency_rest[k] = min_latency_rest[k + 1] + min(|o| o.latency);
        }
        let tables = relaxation
            .as_ref()
            .and_then(|r| {
                r.knapsack
                    .as_ref()
                    .map(|k| k.tables(&order, &r.option_weights))
            })
            .unwrap_or_default();
        let relaxation = relaxation.map(|r| {
            let mut rest = vec![0.0; depth + 1];
            for k in (0..depth).rev() {
                rest[k] = rest[k + 1] + r.lightest[order[k]];
            }
            // Lightest options first: the first dive follows the relaxation's own choice.
            if r.bounds_objective {
                for (w, idx) in r.option_weights.iter().zip(option_order.iter_mut()) {
                    idx.sort_by(|&a, &b| w[a].total_cmp(&w[b]));
                }
            }
            (r, rest)
        });
        let c = problem.constraints;
        let unit = |k: usize| layout.vars[order[k]].composite;
        let unit_first = (0..depth)
            .map(|k| unit(k).is_some() && (k == 0 || unit(k - 1) != unit(k)))
            .collect();
        let unit_last = (0..depth)
            .map(|k| unit(k).is_some() && (k + 1 == depth || unit(k + 1) != unit(k)))
            .collect();
        Search {
            tables,
            unit_first,
            unit_last,
            problem,
            order,
            option_order,
            min_cost_rest,
            min_latency_rest,
            durations: corners.fastest.clone(),
            fastest: corners.fastest,
            accuracies: corners.most_accurate.clone(),
            most_accurate: corners.most_accurate,
            pick: vec![0; space.options.len()],
            stack: LatencyScratch::default(),
            need: (
                c.max_p95_latency_ms.is_some() || problem.objective == Objective::P95Latency,
                c.max_p99_latency_ms.is_some() || problem.objective == Objective::P99Latency,
            ),
            tail_objective: matches!(
                problem.objective,
                Objective::P95Latency | Objective::P99Latency
            ),
            best: incumbent,
            nodes: 0,
            budget,
            aborted: false,
            open: None,
            relaxation,
        }
    }

    /// A proposed configuration becomes the incumbent when it is one (a pick per function, in
    /// range), meets every limit and beats the incumbent.
    fn offer<'a, S: Scoring<'a>>(
        &mut self,
        scoring: &mut S,
        problem: &Problem,
        pick: Option<Vec<usize>>,
    ) {
        let space = scoring.space();
        let Some(pick) = pick.filter(|p| {
            p.len() == space.options.len()
                && p.iter().zip(&space.options).all(|(&i, o)| i < o.len())
        }) else {
            return;
        };
        let t = scoring.evaluate(&pick);
        if admits(&problem.constraints, &t)
            && self
                .best
                .as_ref()
                .is_none_or(|(_, best)| better(problem, &t, best))
        {
            self.best = Some((pick, t));
        }
    }

    fn run<'a, S: Scoring<'a>>(&mut self, scoring: &mut S) {
        let root = Node {
            cost: scoring.space().fixed_cost,
            latency: 0.0,
            composite: scoring.layout().fastest_latency,
            lag: 0.0,
            unit_start: scoring.layout().fastest_latency,
            unit_weight: 0.0,
            accuracy: 0.0,
        };
        self.dfs(scoring, 0, root);
    }

    /// The Lagrangian bound of a node (`latency_lb`: its latency bound), and whether it cuts:
    /// no completion meeting the limits beats the incumbent (or, without an objective weight,
    /// meets the limits at all). The bound is in minimisation form (minus the accuracy).
    fn lagrangian(&self, k: usize, node: &Node, cost_express: f64) -> (f64, bool) {
        let Some((r, rest)) = &self.relaxation else {
            return (f64::NEG_INFINITY, false);
        };
        let incumbent = self
            .best
            .as_ref()
            .map(|(_, best)| value(self.problem, best));
        let Some(knapsack) = &r.knapsack else {
            let lb = r.bound(node.lag, rest[k + 1], cost_express);
            let limit = match incumbent {
                Some(v) if r.bounds_objective => {
                    if maximize(self.problem) {
                        -v
                    } else {
                        v
                    }
                }
                None if r.bounds_objective => f64::INFINITY,
                _ => 0.0,
            };
            let slack = 1e-9 * (limit.abs().min(1e300) + r.constant.abs() + 1.0);
            return (lb, lb >= limit + slack);
        };
        let table = &self.tables[k + 1];
        let need = knapsack
            .need
            .map_or(0, |a| knapsack.steps(a - node.accuracy));
        let base = r.bound(node.lag, 0.0, cost_express);
        let Some(&lightest) = table.get(need) else {
            return (f64::INFINITY, true);
        };
        let slack = 1e-9 * (base.abs() + r.constant.abs() + 1.0);
        if !knapsack.objective {
            let lb = base + lightest;
            let limit = match incumbent {
                Some(v) if r.bounds_objective => v,
                None if r.bounds_objective => f64::INFINITY,
                _ => 0.0,
            };
            return (lb, lb >= limit + slack);
        }
        // The accuracy objective: the most accurate level whose lightest completion keeps the
        // limits' slack non-positive.
        if base + lightest > slack {
            return (f64::INFINITY, true);
        }
        let (mut lo, mut hi) = (need, table.len() - 1);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if base + table[mid] <= slack {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let upper = knapsack.constant + node.accuracy + lo as f64 * knapsack.delta;
        let upper = upper + 1e-9 * upper.abs().max(1.0);
        let cut = incumbent.is_some_and(|v| upper <= v);
        (-upper, cut)
    }

    /// Variable `order[k]` takes option `i` below node `at`: the child node and its bounds,
    /// checked against every limit and the incumbent. Leaves `durations`, `accuracies` and the
    /// scoring set to `i`.
    fn trial<'a, S: Scoring<'a>>(
        &mut self,
        scoring: &mut S,
        k: usize,
        i: usize,
        at: Node,
    ) -> (Trial, Node) {
        let layout = scoring.layout();
        let v = &layout.vars[self.order[k]];
        let o = &v.options[i];
        let space = scoring.space();
        let c = &self.problem.constraints;
        let var = self.order[k];
        let mut node = Node {
            cost: at.cost + o.cost,
            latency: at.latency + o.latency,
            composite: at.composite,
            lag: at.lag
                + self
                    .relaxation
                    .as_ref()
                    .map_or(0.0, |(r, _)| r.option_weights[var][i]),
            unit_start: at.unit_start,
            unit_weight: at.unit_weight,
            accuracy: at.accuracy + o.accuracy,
        };
        for (&f, &p) in v.functions.iter().zip(&o.picks) {
            let x = &space.options[f][p];
            self.accuracies[f] = x.accuracy;
            if !v.enumerated {
                self.durations[f] = x.duration_ms;
            }
        }
        let mut cost_lb = node.cost + self.min_cost_rest[k + 1];
        if c.max_cost_usd_per_million
            .is_some_and(|b| cost_lb > b + tol(b))
        {
            return (Trial::Cut, node);
        }
        if !v.enumerated {
            if self.unit_first[k] {
                node.unit_start = at.composite;
                node.unit_weight = 0.0;
            }
            node.composite = space.latency(&self.durations, &mut self.stack);
            if let (Some((r, _)), Some(c)) = (&self.relaxation, v.composite) {
                node.unit_weight += r.latency_weights[var][i];
                if self.unit_last[k] {
                    // The unit is complete: its exact contribution replaces its linear bound.
                    let exact = node.composite - node.unit_start;
                    node.lag +=
                        r.latency_weight * exact - node.unit_weight - r.composite_constants[c];
                }
            }
        }
        let latency_lb = node.latency + self.min_latency_rest[k + 1] + node.composite;
        if c.max_latency_ms.is_some_and(|l| latency_lb > l + tol(l)) {
            return (Trial::Cut, node);
        }
        // The Express duration charge is non-decreasing in the latency: on the latency's lower
        // bound it bounds the charge from below (exact once every function is assigned).
        let express = space.latency_cost(latency_lb);
        cost_lb += express;
        if c.max_cost_usd_per_million
            .is_some_and(|b| cost_lb > b + tol(b))
        {
            return (Trial::Cut, node);
        }
        let accuracy_ub = space.app.score.evaluate(&self.accuracies);
        if c.min_accuracy.is_some_and(|a| accuracy_ub < a - tol(a)) {
            return (Trial::Cut, node);
        }
        let mut bound = Figures::expected(Metrics {
            latency_ms: latency_lb,
            cost_usd_per_million: cost_lb,
            accuracy: accuracy_ub,
        });
        if !self.tail_objective
            && let Some((_, best)) = &self.best
            && !better(self.problem, &bound, best)
        {
            return (Trial::Cut, node);
        }
        let (lagrangian, cut) = self.lagrangian(k, &node, express);
        if cut {
            return (Trial::Cut, node);
        }
        // The relaxation's bound on the objective tightens the node's (for the certified bound
        // of an unfinished search).
        if let Some((r, _)) = &self.relaxation
            && r.bounds_objective
            && k + 1 < self.order.len()
        {
            match self.problem.objective {
                Objective::Latency => bound.metrics.latency_ms = latency_lb.max(lagrangian),
                Objective::Cost => bound.metrics.cost_usd_per_million = cost_lb.max(lagrangian),
                Objective::Accuracy => bound.metrics.accuracy = accuracy_ub.min(-lagrangian),
                _ => {}
            }
        }
        if self.need.0 || self.need.1 {
            let functions = v.functions.clone();
            let picks = o.picks.clone();
            for (&f, &p) in functions.iter().zip(&picks) {
                scoring.set(f, Some(p));
            }
            (bound.p95_ms, bound.p99_ms) = scoring.percentiles(self.need.0, self.need.1);
            if !admits(c, &bound) {
                return (Trial::Cut, node);
            }
            if self.tail_objective
                && let Some((_, best)) = &self.best
                && !better(self.problem, &bound, best)
            {
                return (Trial::Cut, node);
            }
        }
        (Trial::Open(bound), node)
    }

    /// Puts variable `order[k]`'s functions back at their corner.
    fn reset<'a, S: Scoring<'a>>(&mut self, scoring: &mut S, k: usize) {
        let var = self.order[k];
        let functions = scoring.layout().vars[var].functions.clone();
        for f in functions {
            scoring.set(f, None);
            self.durations[f] = self.fastest[f];
            self.accuracies[f] = self.most_accurate[f];
        }
    }

    /// The order to try variable `order[k]`'s options in below node `at`: with the knapsack
    /// tables, by the lightest completion each option leaves (the first dive follows the
    /// relaxation's own answer); otherwise the static order.
    fn options_at<'a, S: Scoring<'a>>(&self, scoring: &S, k: usize, at: &Node) -> Vec<usize> {
        let var = self.order[k];
        let mut idx = self.option_order[var].clone();
        if let Some((r, _)) = &self.relaxation
            && let Some(knapsack) = &r.knapsack
            && !knapsack.objective
            && r.bounds_objective
        {
            let options = &scoring.layout().vars[var].options;
            let table = &self.tables[k + 1];
            let key = |i: usize| -> f64 {
                let need = knapsack
                    .need
                    .map_or(0, |a| knapsack.steps(a - at.accuracy - options[i].accuracy));
                r.option_weights[var][i] + table.get(need).copied().unwrap_or(f64::INFINITY)
            };
            let keys: Vec<f64> = (0..options.len()).map(key).collect();
            idx.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        }
        idx
    }

    fn dfs<'a, S: Scoring<'a>>(&mut self, scoring: &mut S, k: usize, at: Node) {
        let depth = self.order.len();
        let var = self.order[k];
        let here = self.options_at(scoring, k, &at);
        for (idx, &i) in here.iter().enumerate() {
            if self.nodes >= self.budget.nodes {
                self.aborted = true;
                self.note_open(scoring, k, &here[idx..], at);
                break;
            }
            self.nodes += 1;
            let (Trial::Open(bound), node) = self.trial(scoring, k, i, at) else {
                continue;
            };
            let v = &scoring.layout().vars[var];
            for (&f, &p) in v.functions.iter().zip(&v.options[i].picks) {
                self.pick[f] = p;
            }
            if k + 1 == depth {
                // Every function is assigned: the bounds are the configuration's figures, and
                // it passed every limit and beats the incumbent.
                self.best = Some((self.pick.clone(), bound));
            } else {
                self.dfs(scoring, k + 1, node);
                if self.aborted {
                    // The subtree below noted its open nodes; the later options here are open.
                    self.note_open(scoring, k, &here[idx + 1..], at);
                    break;
                }
            }
        }
        self.reset(scoring, k);
    }

    /// The search stopped before trying options `rest` of depth `k`: their bounds join the
    /// certified bound of the unexplored part.
    fn note_open<'a, S: Scoring<'a>>(
        &mut self,
        scoring: &mut S,
        k: usize,
        rest: &[usize],
        at: Node,
    ) {
        let maximize = maximize(self.problem);
        for &i in rest {
            if let (Trial::Open(b), _) = self.trial(scoring, k, i, at) {
                let v = value(self.problem, &b);
                self.open = Some(match self.open {
                    Some(o) if maximize => o.max(v),
                    Some(o) => o.min(v),
                    None => v,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
