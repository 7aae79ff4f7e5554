//! The exact latency–cost–accuracy Pareto front of the grid.
//!
//! A configuration is on the front when no other configuration is at least as fast, as cheap and as
//! accurate and strictly better in one of them. Configurations using a dominated option are
//! weakly dominated by the same configuration with the dominating option, so the front is searched
//! over the pruned space, depth first, cutting every branch whose optimistic corner (the same
//! bounds as the exact solver) is already dominated by a point found. Points with equal metrics are
//! reported once.

use crate::workflow::LatencyScratch;
use schemars::JsonSchema;
use serde::Serialize;

use super::engine::bounds::Corners;
use super::{Metrics, SearchSpace};
use crate::bundle::Configuration;

/// One point of the front.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ParetoPoint {
    /// Expected latency, ms.
    pub latency_ms: f64,
    /// USD per million executions.
    pub cost_usd_per_million: f64,
    /// Accuracy score.
    pub accuracy: f64,
    /// The configuration.
    pub config: Configuration,
}

/// The front was not finished within the node budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the exact Pareto front needs more than {node_limit} search nodes ({points} points found so far); raise the node limit or offer fewer memory sizes"
)]
pub struct FrontTooLarge {
    /// The budget.
    pub node_limit: u64,
    /// Points on the partial front when the search stopped.
    pub points: usize,
}

/// The front, sorted by latency (then cost), and the number of search nodes visited; an error
/// past `node_limit` search nodes (a partial front could list dominated points).
pub fn front(
    space: &SearchSpace,
    node_limit: u64,
) -> Result<(Vec<ParetoPoint>, u64), FrontTooLarge> {
    let n = space.options.len();
    if n == 0 || space.options.iter().any(Vec::is_empty) {
        return Ok((Vec::new(), 0));
    }
    let corners = Corners::new(space);
    let mut s = Search {
        space,
        durations: corners.fastest,
        accuracies: corners.most_accurate,
        min_cost_rest: Vec::new(),
        pick: vec![0; n],
        stack: LatencyScratch::default(),
        found: Vec::new(),
        nodes: 0,
        node_limit,
    };
    let min_cost = corners.cheapest;
    s.min_cost_rest = vec![0.0; n + 1];
    for k in (0..n).rev() {
        s.min_cost_rest[k] = s.min_cost_rest[k + 1] + min_cost[k];
    }
    s.dfs(0, space.fixed_cost);
    if s.nodes > node_limit {
        return Err(FrontTooLarge {
            node_limit,
            points: s.found.len(),
        });
    }
    let nodes = s.nodes;
    let mut points: Vec<(Vec<usize>, Metrics)> = s
        .found
        .into_iter()
        .map(|(pick, _)| {
            let m = space.evaluate(&pick);
            (pick, m)
        })
        .collect();
    points.sort_by(|a, b| {
        a.1.latency_ms
            .total_cmp(&b.1.latency_ms)
            .then(
                a.1.cost_usd_per_million
                    .total_cmp(&b.1.cost_usd_per_million),
            )
            .then(b.1.accuracy.total_cmp(&a.1.accuracy))
    });
    let out = points
        .into_iter()
        .map(|(pick, m)| ParetoPoint {
            latency_ms: m.latency_ms,
            cost_usd_per_million: m.cost_usd_per_million,
            accuracy: m.accuracy,
            config: space.app.configuration(&space.choices(&pick)),
        })
        .collect();
    Ok((out, nodes))
}

/// `a` weakly dominates `b`: at least as good in all three.
fn covers(a: &Metrics, b: &Metrics) -> bool {
    a.latency_ms <= b.latency_ms
        && a.cost_usd_per_million <= b.cost_usd_per_million
        && a.accuracy >= b.accuracy
}

struct Search<'s, 'a> {
    space: &'s SearchSpace<'a>,
    durations: Vec<f64>,
    accuracies: Vec<f64>,
    min_cost_rest: Vec<f64>,
    pick: Vec<usize>,
    stack: LatencyScratch,
    found: Vec<(Vec<usize>, Metrics)>,
    nodes: u64,
    node_limit: u64,
}

impl Search<'_, '_> {
    fn dfs(&mut self, k: usize, cost_so_far: f64) {
        let n = self.pick.len();
        let (saved_d, saved_a) = (self.durations[k], self.accuracies[k]);
        for i in 0..self.space.options[k].len() {
            if self.nodes > self.node_limit {
                break;
            }
            self.nodes += 1;
            let o = self.space.options[k][i];
            self.durations[k] = o.duration_ms;
            self.accuracies[k] = o.accuracy;
            self.pick[k] = i;
            let cost = cost_so_far + o.cost;
            // The latency corner bounds the latency from below, so the Express duration charge
            // on it bounds that charge from below (it is exact once every function is assigned).
            let latency_ms = self.space.latency(&self.durations, &mut self.stack);
            let corner = Metrics {
                latency_ms,
                cost_usd_per_million: cost
                    + self.min_cost_rest[k + 1]
                    + self.space.latency_cost(latency_ms),
                accuracy: self.space.app.score.evaluate(&self.accuracies),
            };
            if self.found.iter().any(|(_, f)| covers(f, &corner)) {
                continue;
            }
            if k + 1 == n {
                // A new point: drop the points it dominates.
                self.found.retain(|(_, f)| !covers(&corner, f));
                self.found.push((self.pick.clone(), corner));
            } else {
                self.dfs(k + 1, cost);
            }
        }
        self.durations[k] = saved_d;
        self.accuracies[k] = saved_a;
    }
}
