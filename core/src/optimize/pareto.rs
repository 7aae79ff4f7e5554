//! The exact latency–cost–accuracy Pareto front of the grid.
//!
//! A configuration is on the front when no other configuration is at least as fast, as cheap and as
//! accurate and strictly better in one of them. Configurations using a dominated option are
//! weakly dominated by the same configuration with the dominating option, so the front is searched
//! over the pruned space, depth first, cutting every branch whose optimistic corner (the same
//! bounds as the exact solver) is already dominated by a point found. Points with equal metrics are
//! reported once.
//!
//! **Additive layouts.** When the engine's [`Layout`] cuts the expected latency into additive
//! units that are all enumerated and the score is a sum, every figure is a sum over the units
//! (the cost plus the Express duration charge, nondecreasing in the latency). The front of a sum
//! is then among the sums of the parts' fronts: replacing a part by one that weakly dominates it
//! weakly dominates the whole. The front is built unit by unit — the front of the first `k`
//! units combined with every option of the next, cut to its non-dominated points by a sweep in
//! latency order over a cost–accuracy staircase — and the last one is evaluated again with the
//! plan and cut once more on those exact figures. No branch is pruned by a bound, so the front
//! is exact; search nodes count the combinations formed.

use crate::workflow::LatencyScratch;
use schemars::JsonSchema;
use serde::Serialize;

use std::collections::BTreeMap;

use super::engine::Layout;
use super::engine::bounds::Corners;
use super::{Metrics, SearchSpace};
use crate::accuracy::ScoreForm;
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
    front_with(space, node_limit, true)
}

/// [`front`], by units when `units` allows and the layout is additive (see the module notes),
/// else by the depth-first search.
pub(crate) fn front_with(
    space: &SearchSpace,
    node_limit: u64,
    units: bool,
) -> Result<(Vec<ParetoPoint>, u64), FrontTooLarge> {
    let n = space.options.len();
    if n == 0 || space.options.iter().any(Vec::is_empty) {
        return Ok((Vec::new(), 0));
    }
    let (found, nodes) = match units.then(|| by_units(space, node_limit)).flatten() {
        Some(Ok(r)) => r,
        // Past the budget by units: the search may still finish within it (its cuts differ).
        Some(Err(_)) | None => by_search(space, node_limit)?,
    };
    let mut points: Vec<(Vec<usize>, Metrics)> = found
        .into_iter()
        .map(|pick| {
            let m = space.evaluate(&pick);
            (pick, m)
        })
        .collect();
    nondominated(&mut points, |p| {
        (p.1.latency_ms, p.1.cost_usd_per_million, p.1.accuracy)
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

/// Orders `x` as `f64::total_cmp` does.
fn ordered(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// Keeps the points no other point weakly dominates (one of each set of equal points), sorted by
/// latency, then cost, then accuracy (highest first).
fn nondominated<T>(points: &mut Vec<T>, key: impl Fn(&T) -> (f64, f64, f64)) {
    points.sort_by(|a, b| {
        let (a, b) = (key(a), key(b));
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(b.2.total_cmp(&a.2))
    });
    // Every point kept so far is at least as fast as the next one; the staircase holds their
    // non-dominated (cost, accuracy) pairs, accuracy rising with cost.
    let mut stairs: BTreeMap<i64, f64> = BTreeMap::new();
    points.retain(|p| {
        let (_, c, a) = key(p);
        let k = ordered(c);
        if stairs
            .range(..=k)
            .next_back()
            .is_some_and(|(_, &best)| best >= a)
        {
            return false;
        }
        let gone: Vec<i64> = stairs
            .range(k..)
            .take_while(|(_, v)| **v <= a)
            .map(|(k, _)| *k)
            .collect();
        for g in gone {
            stairs.remove(&g);
        }
        stairs.insert(k, a);
        true
    });
}

/// One point of a partial front: its figures, the point of the previous front it extends and
/// the option of the unit it adds.
type Partial = (f64, f64, f64, u32, u32);

/// The front's candidate configurations built unit by unit (see the module notes); `None` when
/// the layout is not additive with every unit enumerated under a summed score, an error when
/// the combinations would pass `node_limit` (counted before they are formed).
#[allow(clippy::type_complexity)]
fn by_units(
    space: &SearchSpace,
    node_limit: u64,
) -> Option<Result<(Vec<Vec<usize>>, u64), FrontTooLarge>> {
    let constant = match space.app.score.form() {
        ScoreForm::Sum { constant, .. } => constant,
        _ => return None,
    };
    let layout = Layout::new(space, true);
    let n = space.options.len();
    let mut covered = vec![false; n];
    for v in &layout.vars {
        if !v.enumerated || v.composite.is_some() || v.options.is_empty() {
            return None;
        }
        for &f in &v.functions {
            covered[f] = true;
        }
    }
    if !layout.additive || covered.iter().any(|c| !c) || layout.vars.is_empty() {
        return None;
    }
    let mut nodes = 0u64;
    let mut stages: Vec<Vec<Partial>> = Vec::with_capacity(layout.vars.len());
    let mut front: Vec<Partial> = vec![(layout.fastest_latency, space.fixed_cost, constant, 0, 0)];
    for v in &layout.vars {
        // Counted before the combinations are formed, so that a front past the budget is never
        // allocated.
        nodes = nodes.saturating_add((front.len() as u64).saturating_mul(v.options.len() as u64));
        if nodes > node_limit {
            return Some(Err(FrontTooLarge {
                node_limit,
                points: front.len(),
            }));
        }
        let mut next = Vec::with_capacity(front.len() * v.options.len());
        for (i, p) in front.iter().enumerate() {
            for (j, o) in v.options.iter().enumerate() {
                next.push((
                    p.0 + o.latency,
                    p.1 + o.cost,
                    p.2 + o.accuracy,
                    i as u32,
                    j as u32,
                ));
            }
        }
        // The Express duration charge is nondecreasing in the latency: dominance on the summed
        // cost carries over.
        nondominated(&mut next, |p| (p.0, p.1, p.2));
        stages.push(std::mem::replace(&mut front, next));
    }
    stages.push(front);
    let last = stages.len() - 1;
    let picks = (0..stages[last].len())
        .map(|mut i| {
            let mut pick = vec![0; n];
            for s in (1..=last).rev() {
                let (_, _, _, prev, opt) = stages[s][i];
                let v = &layout.vars[s - 1];
                let o = &v.options[opt as usize];
                for (&f, &x) in v.functions.iter().zip(&o.picks) {
                    pick[f] = x;
                }
                i = prev as usize;
            }
            pick
        })
        .collect();
    Some(Ok((picks, nodes)))
}

/// The front's configurations by a depth-first search over functions.
fn by_search(
    space: &SearchSpace,
    node_limit: u64,
) -> Result<(Vec<Vec<usize>>, u64), FrontTooLarge> {
    let n = space.options.len();
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
    Ok((s.found.into_iter().map(|(pick, _)| pick).collect(), s.nodes))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bundle;

    #[test]
    fn six_functions_front_is_built_by_units_and_equals_the_search_on_app3() {
        let app = Bundle::from_json(include_str!("../../../examples/six-functions.bundle.json"))
            .unwrap()
            .validate()
            .unwrap();
        let space = SearchSpace::full(&app).pruned();
        let (units, nodes) = by_units(&space, u64::MAX)
            .expect("six-functions is additive")
            .unwrap();
        assert!(!units.is_empty());
        // Far below the 2-million-node default that the search needed more than.
        assert!(nodes < 2_000_000, "{nodes} combinations");
        // A budget too small: refused before the combinations are formed, and by the search.
        assert!(matches!(by_units(&space, 1_000), Some(Err(_))));
        assert!(front(&space, 1_000).is_err());
        let app3 = Bundle::from_json(include_str!("../../../examples/app3.bundle.json"))
            .unwrap()
            .validate()
            .unwrap();
        let space = SearchSpace::full(&app3).pruned();
        assert!(by_units(&space, u64::MAX).is_some());
        let (a, _) = front_with(&space, u64::MAX, true).unwrap();
        let (b, _) = front_with(&space, u64::MAX, false).unwrap();
        let figures = |p: &[ParetoPoint]| {
            p.iter()
                .map(|p| (p.latency_ms, p.cost_usd_per_million, p.accuracy))
                .collect::<Vec<_>>()
        };
        assert_eq!(figures(&a), figures(&b));
    }
}
