//! The exact solver: depth-first branch and bound over the dominance-pruned options.
//!
//! Every bound comes from monotonicity. With some functions assigned and the rest at their
//! fastest option, the plan's latency is a lower bound on every completion (latency is
//! non-decreasing in each duration); the assigned cost plus each remaining function's cheapest
//! option is a lower bound on cost (cost is a sum); the score with the remaining functions at their
//! most accurate variant is an upper bound on accuracy (the score's contract). A branch is cut as
//! soon as one bound breaks a constraint or cannot beat the best configuration found so far, so a
//! search that finishes has proven its answer optimal, or the problem infeasible. The problem is
//! NP-hard in general; the pruning makes the thesis' application sizes (a few functions with tens
//! of options each after dominance pruning) take milliseconds. Past `node_limit` search nodes the
//! best configuration found is returned unproven.

use super::{Metrics, Objective, Outcome, Problem, SearchSpace, tol};
use crate::workflow::LatencyScratch;

struct Search<'s, 'a> {
    space: &'s SearchSpace<'a>,
    problem: &'s Problem,
    order: Vec<usize>,
    option_order: Vec<Vec<usize>>,
    min_cost_rest: Vec<f64>,
    durations: Vec<f64>,
    accuracies: Vec<f64>,
    pick: Vec<usize>,
    stack: LatencyScratch,
    best: Option<(Vec<usize>, Metrics)>,
    nodes: u64,
    node_limit: u64,
    aborted: bool,
}

/// Solves `problem` over `space` (pass a [`SearchSpace::pruned`] space for speed).
pub fn solve(space: &SearchSpace, problem: &Problem, node_limit: u64) -> Outcome {
    let n = space.options.len();
    if n == 0 || space.options.iter().any(Vec::is_empty) {
        return Outcome {
            best: None,
            proven: true,
            evaluations: 0,
        };
    }
    let (order, option_order) = search_order(space, problem);
    let min_cost: Vec<f64> = space
        .options
        .iter()
        .map(|o| o.iter().map(|x| x.cost).fold(f64::INFINITY, f64::min))
        .collect();
    let mut min_cost_rest = vec![0.0; n + 1];
    for k in (0..n).rev() {
        min_cost_rest[k] = min_cost_rest[k + 1] + min_cost[order[k]];
    }
    let durations = space
        .options
        .iter()
        .map(|o| {
            o.iter()
                .map(|x| x.duration_ms)
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let accuracies = space
        .options
        .iter()
        .map(|o| {
            o.iter()
                .map(|x| x.accuracy)
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let mut s = Search {
        space,
        problem,
        order,
        option_order,
        min_cost_rest,
        durations,
        accuracies,
        pick: vec![0; n],
        stack: LatencyScratch::default(),
        best: None,
        nodes: 0,
        node_limit,
        aborted: false,
    };
    s.dfs(0, space.fixed_cost);
    // Report the metrics as `SearchSpace::evaluate` computes them (the search sums costs in its
    // own order, which can differ in the last bit).
    let best = s.best.map(|(pick, _)| {
        let m = space.evaluate(&pick);
        (pick, m)
    });
    Outcome {
        best,
        proven: !s.aborted,
        evaluations: s.nodes,
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

impl Search<'_, '_> {
    fn dfs(&mut self, k: usize, cost_so_far: f64) {
        let n = self.order.len();
        let f = self.order[k];
        let (saved_d, saved_a) = (self.durations[f], self.accuracies[f]);
        let c = self.problem.constraints;
        for idx in 0..self.option_order[f].len() {
            if self.nodes >= self.node_limit {
                self.aborted = true;
                break;
            }
            self.nodes += 1;
            let i = self.option_order[f][idx];
            let o = self.space.options[f][i];
            self.durations[f] = o.duration_ms;
            self.accuracies[f] = o.accuracy;
            self.pick[f] = i;
            let cost = cost_so_far + o.cost;
            let mut cost_lb = cost + self.min_cost_rest[k + 1];
            if c.max_cost_usd_per_million
                .is_some_and(|b| cost_lb > b + tol(b))
            {
                continue;
            }
            let latency_lb = self.space.latency(&self.durations, &mut self.stack);
            if c.max_latency_ms.is_some_and(|l| latency_lb > l + tol(l)) {
                continue;
            }
            // Express duration charge: non-decreasing in the latency, so on its lower bound it
            // bounds the cost from below (exact once every function is assigned).
            cost_lb += self.space.latency_cost(latency_lb);
            if c.max_cost_usd_per_million
                .is_some_and(|b| cost_lb > b + tol(b))
            {
                continue;
            }
            let accuracy_ub = self.space.app.score.evaluate(&self.accuracies);
            if c.min_accuracy.is_some_and(|a| accuracy_ub < a - tol(a)) {
                continue;
            }
            let bound = Metrics {
                latency_ms: latency_lb,
                cost_usd_per_million: cost_lb,
                accuracy: accuracy_ub,
            };
            if let Some((_, best)) = &self.best
                && !self.problem.better(&bound, best)
            {
                continue;
            }
            if k + 1 == n {
                // Every function is assigned: the bounds are the configuration's metrics, and it
                // passed every constraint and beats the incumbent.
                self.best = Some((self.pick.clone(), bound));
            } else {
                self.dfs(k + 1, cost);
                if self.aborted {
                    break;
                }
            }
        }
        self.durations[f] = saved_d;
        self.accuracies[f] = saved_a;
    }
}
