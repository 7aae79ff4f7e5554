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
mod search;

use super::{Metrics, Objective, Outcome, Problem, SearchSpace, tol};
use crate::workflow::LatencyScratch;
pub use finish::finish;
pub use lagrange::Relaxation;
pub use layout::{Layout, Var, VarOption};
use search::Search;

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
    /// Is the lower bound of the p99 (`p99`) or p95 at least `t`? The answer of
    /// [`Scoring::percentiles`] compared with `t`; a scoring may stop as soon as it is known.
    fn percentile_at_least(&mut self, p99: bool, t: f64) -> bool {
        let (a, b) = self.percentiles(!p99, p99);
        if p99 { b >= t } else { a >= t }
    }
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

#[cfg(test)]
mod tests;
