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

use super::{Metrics, Objective, Outcome, Problem, SearchSpace, tol};
use crate::workflow::LatencyScratch;
pub use finish::finish;

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
    scratch: super::space::Scratch,
}

impl<'s, 'a> Expected<'s, 'a> {
    /// The scoring of `space`.
    pub fn new(space: &'s SearchSpace<'a>) -> Self {
        Expected {
            space,
            scratch: Default::default(),
        }
    }
}

impl<'a> Scoring<'a> for Expected<'_, 'a> {
    fn space(&self) -> &SearchSpace<'a> {
        self.space
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

/// Solves `problem` with the scoring's options. The answer's figures are the scoring's
/// [`Scoring::evaluate`] of it.
pub fn search<'a, S: Scoring<'a>>(scoring: &mut S, problem: &Problem, budget: Budget) -> Found {
    let space = scoring.space();
    let n = space.options.len();
    if n == 0 || space.options.iter().any(Vec::is_empty) {
        return Outcome {
            best: None,
            proven: true,
            evaluations: 0,
            bound: None,
        };
    }
    let corners = bounds::Corners::new(space);
    let (order, option_order) = search_order(space, problem);
    let mut min_cost_rest = vec![0.0; n + 1];
    for k in (0..n).rev() {
        min_cost_rest[k] = min_cost_rest[k + 1] + corners.cheapest[order[k]];
    }
    let fixed_cost = space.fixed_cost;
    let c = problem.constraints;
    let need = (
        c.max_p95_latency_ms.is_some() || problem.objective == Objective::P95Latency,
        c.max_p99_latency_ms.is_some() || problem.objective == Objective::P99Latency,
    );
    let mut s = Search {
        problem,
        order,
        option_order,
        min_cost_rest,
        durations: corners.fastest,
        accuracies: corners.most_accurate,
        pick: vec![0; n],
        stack: LatencyScratch::default(),
        need,
        tail_objective: matches!(
            problem.objective,
            Objective::P95Latency | Objective::P99Latency
        ),
        best: None,
        nodes: 0,
        budget,
        aborted: false,
        open: None,
    };
    s.dfs(scoring, 0, fixed_cost);
    let best = s.best.map(|(pick, _)| {
        let t = scoring.evaluate(&pick);
        (pick, t)
    });
    let proven = !s.aborted;
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

/// The order the search assigns functions in (largest spread of the objective first) and, per
/// function, the order it tries options in (most promising first).
pub(crate) fn search_order(
    space: &SearchSpace,
    problem: &Problem,
) -> (Vec<usize>, Vec<Vec<usize>>) {
    let n = space.options.len();
    let ni = space.app.workflow.invocations();
    let spread = |f: usize| -> f64 {
        let opts = &space.options[f];
        let range = |g: fn(&super::OptionPoint) -> f64| {
            let lo = opts.iter().map(g).fold(f64::INFINITY, f64::min);
            let hi = opts.iter().map(g).fold(f64::NEG_INFINITY, f64::max);
            hi - lo
        };
        match problem.objective {
            Objective::Latency | Objective::P95Latency | Objective::P99Latency => {
                range(|o| o.duration_ms) * ni[f]
            }
            Objective::Cost => range(|o| o.cost),
            Objective::Accuracy => range(|o| o.accuracy),
        }
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        spread(b)
            .total_cmp(&spread(a))
            .then(space.options[b].len().cmp(&space.options[a].len()))
    });
    let option_order: Vec<Vec<usize>> = space
        .options
        .iter()
        .map(|opts| {
            let mut idx: Vec<usize> = (0..opts.len()).collect();
            idx.sort_by(|&i, &j| {
                let (a, b) = (&opts[i], &opts[j]);
                match problem.objective {
                    Objective::Latency | Objective::P95Latency | Objective::P99Latency => {
                        a.duration_ms.total_cmp(&b.duration_ms)
                    }
                    Objective::Cost => a.cost.total_cmp(&b.cost),
                    Objective::Accuracy => b
                        .accuracy
                        .total_cmp(&a.accuracy)
                        .then(a.cost.total_cmp(&b.cost)),
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

struct Search<'p> {
    problem: &'p Problem,
    order: Vec<usize>,
    option_order: Vec<Vec<usize>>,
    /// `min_cost_rest[k]`: the cheapest shares of the functions assigned at depth `k` and deeper.
    min_cost_rest: Vec<f64>,
    /// The corner: assigned functions' durations, the others' fastest.
    durations: Vec<f64>,
    /// The corner: assigned functions' accuracies, the others' highest.
    accuracies: Vec<f64>,
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
}

impl Search<'_> {
    /// Function `order[k]` takes option `i` on top of `cost_so_far` (fixed charges and the
    /// shares of the functions assigned before it): the node's bounds, checked against every
    /// limit and the incumbent. Leaves `durations`, `accuracies` and the scoring set to `i`.
    fn trial<'a, S: Scoring<'a>>(
        &mut self,
        scoring: &mut S,
        k: usize,
        i: usize,
        cost_so_far: f64,
    ) -> Trial {
        let f = self.order[k];
        let space = scoring.space();
        let o = space.options[f][i];
        let c = &self.problem.constraints;
        self.durations[f] = o.duration_ms;
        self.accuracies[f] = o.accuracy;
        let mut cost_lb = cost_so_far + o.cost + self.min_cost_rest[k + 1];
        if c.max_cost_usd_per_million
            .is_some_and(|b| cost_lb > b + tol(b))
        {
            return Trial::Cut;
        }
        let latency_lb = space.latency(&self.durations, &mut self.stack);
        if c.max_latency_ms.is_some_and(|l| latency_lb > l + tol(l)) {
            return Trial::Cut;
        }
        // The Express duration charge is non-decreasing in the latency: on the latency's lower
        // bound it bounds the charge from below (exact once every function is assigned).
        cost_lb += space.latency_cost(latency_lb);
        if c.max_cost_usd_per_million
            .is_some_and(|b| cost_lb > b + tol(b))
        {
            return Trial::Cut;
        }
        let accuracy_ub = space.app.score.evaluate(&self.accuracies);
        if c.min_accuracy.is_some_and(|a| accuracy_ub < a - tol(a)) {
            return Trial::Cut;
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
            return Trial::Cut;
        }
        if self.need.0 || self.need.1 {
            scoring.set(f, Some(i));
            (bound.p95_ms, bound.p99_ms) = scoring.percentiles(self.need.0, self.need.1);
            if !admits(c, &bound) {
                return Trial::Cut;
            }
            if self.tail_objective
                && let Some((_, best)) = &self.best
                && !better(self.problem, &bound, best)
            {
                return Trial::Cut;
            }
        }
        Trial::Open(bound)
    }

    fn dfs<'a, S: Scoring<'a>>(&mut self, scoring: &mut S, k: usize, cost_so_far: f64) {
        let n = self.order.len();
        let f = self.order[k];
        let (saved_d, saved_a) = (self.durations[f], self.accuracies[f]);
        let options = self.option_order[f].len();
        for idx in 0..options {
            if self.nodes >= self.budget.nodes {
                self.aborted = true;
                self.note_open(scoring, k, idx, cost_so_far);
                break;
            }
            self.nodes += 1;
            let i = self.option_order[f][idx];
            let Trial::Open(bound) = self.trial(scoring, k, i, cost_so_far) else {
                continue;
            };
            self.pick[f] = i;
            if k + 1 == n {
                // Every function is assigned: the bounds are the configuration's figures, and
                // it passed every limit and beats the incumbent.
                self.best = Some((self.pick.clone(), bound));
            } else {
                let cost = cost_so_far + scoring.space().options[f][i].cost;
                self.dfs(scoring, k + 1, cost);
                if self.aborted {
                    // The subtree below noted its open nodes; the later options here are open.
                    self.note_open(scoring, k, idx + 1, cost_so_far);
                    break;
                }
            }
        }
        scoring.set(f, None);
        self.durations[f] = saved_d;
        self.accuracies[f] = saved_a;
    }

    /// The search stopped before trying options `from..` of depth `k`: their bounds join the
    /// certified bound of the unexplored part.
    fn note_open<'a, S: Scoring<'a>>(
        &mut self,
        scoring: &mut S,
        k: usize,
        from: usize,
        cost_so_far: f64,
    ) {
        let f = self.order[k];
        let maximize = maximize(self.problem);
        for idx in from..self.option_order[f].len() {
            let i = self.option_order[f][idx];
            if let Trial::Open(b) = self.trial(scoring, k, i, cost_so_far) {
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
