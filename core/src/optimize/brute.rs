//! Brute force: every configuration of the grid, in odometer order, with each option's duration,
//! cost and accuracy precomputed and the cost kept as a running sum. The oracle for tests.

use super::{Metrics, Outcome, Problem, SearchSpace};
use crate::workflow::LatencyScratch;

/// Calls `visit` for every configuration (pick of option indices) with its metrics.
pub fn for_each<F: FnMut(&[usize], &Metrics)>(space: &SearchSpace, mut visit: F) -> u64 {
    let n = space.options.len();
    if n == 0 || space.options.iter().any(Vec::is_empty) {
        return 0;
    }
    let mut pick = vec![0usize; n];
    let mut durations: Vec<f64> = space.options.iter().map(|o| o[0].duration_ms).collect();
    let mut accuracies: Vec<f64> = space.options.iter().map(|o| o[0].accuracy).collect();
    // partial[i] = fixed cost + cost of functions 0..i
    let mut partial = vec![space.fixed_cost; n + 1];
    for i in 0..n {
        partial[i + 1] = partial[i] + space.options[i][0].cost;
    }
    let mut accuracy = space.app.score.evaluate(&accuracies);
    let mut stack = LatencyScratch::default();
    let mut count = 0u64;
    let last = n - 1;
    loop {
        // Innermost function: sweep its options.
        let base = partial[last];
        for (i, o) in space.options[last].iter().enumerate() {
            pick[last] = i;
            durations[last] = o.duration_ms;
            if accuracies[last] != o.accuracy {
                accuracies[last] = o.accuracy;
                accuracy = space.app.score.evaluate(&accuracies);
            }
            let latency_ms = space.latency(&durations, &mut stack);
            let m = Metrics {
                latency_ms,
                cost_usd_per_million: base + o.cost + space.latency_cost(latency_ms),
                accuracy,
            };
            count += 1;
            visit(&pick, &m);
        }
        // Advance the odometer over the outer functions.
        let mut k = last;
        loop {
            if k == 0 {
                return count;
            }
            k -= 1;
            pick[k] += 1;
            if pick[k] < space.options[k].len() {
                break;
            }
            pick[k] = 0;
        }
        let mut changed = false;
        for j in k..last {
            let o = &space.options[j][pick[j]];
            durations[j] = o.duration_ms;
            if accuracies[j] != o.accuracy {
                accuracies[j] = o.accuracy;
                changed = true;
            }
            partial[j + 1] = partial[j] + o.cost;
        }
        if changed {
            accuracy = space.app.score.evaluate(&accuracies);
        }
        pick[last] = 0;
    }
}

/// The best configuration meeting the constraints (ties: the first in odometer order).
pub fn solve(space: &SearchSpace, problem: &Problem) -> Outcome {
    let mut best: Option<(Vec<usize>, Metrics)> = None;
    let evaluations = for_each(space, |pick, m| {
        if problem.constraints.admits(m) && best.as_ref().is_none_or(|(_, b)| problem.better(m, b))
        {
            best = Some((pick.to_vec(), *m));
        }
    });
    // Report the figures as `SearchSpace::evaluate` computes them (the odometer sums costs in
    // its own order, which can differ in the last bit).
    let best = best.map(|(pick, _)| {
        let m = space.evaluate(&pick);
        (pick, m)
    });
    Outcome {
        best,
        proven: true,
        evaluations,
        bound: None,
    }
}
