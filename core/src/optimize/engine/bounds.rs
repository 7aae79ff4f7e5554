//! The one place where optimistic corners are computed: every function's fastest, cheapest and
//! most accurate option (and the opposite corners), the bounds they give on a node of the search,
//! and the extremes of latency, cost and accuracy over the whole grid.
//!
//! Latency is non-decreasing in every duration (the plan's contract, proved in
//! `workflow/distribution.rs`), cost is a sum of per-function shares plus the Step Functions
//! charges (the Express duration charge non-decreasing in the latency), and the accuracy score is
//! non-decreasing in every accuracy (its contract). So with some functions assigned and every
//! other function at its fastest (cheapest, most accurate) option, the plan's latency, the summed
//! cost with the Express charge on that latency, and the score bound every completion.

use super::super::{Metrics, OptionPoint, SearchSpace};
use crate::workflow::LatencyScratch;

/// Per function, the extreme values over its options.
#[derive(Debug, Clone, PartialEq)]
pub struct Corners {
    /// Fastest duration, ms.
    pub fastest: Vec<f64>,
    /// Slowest duration, ms.
    pub slowest: Vec<f64>,
    /// Lowest cost share, USD per million executions.
    pub cheapest: Vec<f64>,
    /// Highest cost share.
    pub dearest: Vec<f64>,
    /// Highest accuracy.
    pub most_accurate: Vec<f64>,
    /// Lowest accuracy.
    pub least_accurate: Vec<f64>,
}

fn fold(space: &SearchSpace, get: fn(&OptionPoint) -> f64, max: bool) -> Vec<f64> {
    space
        .options
        .iter()
        .map(|o| {
            let it = o.iter().map(get);
            if max {
                it.fold(f64::NEG_INFINITY, f64::max)
            } else {
                it.fold(f64::INFINITY, f64::min)
            }
        })
        .collect()
}

impl Corners {
    /// The corners of `space`.
    pub fn new(space: &SearchSpace) -> Corners {
        Corners {
            fastest: fold(space, |o| o.duration_ms, false),
            slowest: fold(space, |o| o.duration_ms, true),
            cheapest: fold(space, |o| o.cost, false),
            dearest: fold(space, |o| o.cost, true),
            most_accurate: fold(space, |o| o.accuracy, true),
            least_accurate: fold(space, |o| o.accuracy, false),
        }
    }

    /// The optimistic corner of the whole grid: the lowest latency and cost and the highest
    /// accuracy any configuration can have (each exact, except the cost under Express pricing,
    /// where the cheapest configuration need not be the fastest: then a lower bound).
    pub fn best(&self, space: &SearchSpace, scratch: &mut LatencyScratch) -> Metrics {
        let latency_ms = space.latency(&self.fastest, scratch);
        Metrics {
            latency_ms,
            cost_usd_per_million: space.fixed_cost
                + self.cheapest.iter().sum::<f64>()
                + space.latency_cost(latency_ms),
            accuracy: space.app.score.evaluate(&self.most_accurate),
        }
    }

    /// The pessimistic corner: the highest latency and cost and the lowest accuracy (the cost an
    /// upper bound under Express pricing).
    pub fn worst(&self, space: &SearchSpace, scratch: &mut LatencyScratch) -> Metrics {
        let latency_ms = space.latency(&self.slowest, scratch);
        Metrics {
            latency_ms,
            cost_usd_per_million: space.fixed_cost
                + self.dearest.iter().sum::<f64>()
                + space.latency_cost(latency_ms),
            accuracy: space.app.score.evaluate(&self.least_accurate),
        }
    }
}

/// The extremes of latency, cost and accuracy over the grid: `(best, worst)` corners.
pub fn extremes(space: &SearchSpace) -> (Metrics, Metrics) {
    let c = Corners::new(space);
    let mut scratch = LatencyScratch::default();
    (c.best(space, &mut scratch), c.worst(space, &mut scratch))
}
