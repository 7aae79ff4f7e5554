//! The exact solver on the expected figures: the [engine](super::engine)'s branch and bound with
//! the expected [scoring](super::engine::Expected), over the dominance-pruned options cut into
//! additive units ([`super::engine::layout`]).
//!
//! Every bound comes from monotonicity (see [`super::engine::bounds`]); a search that finishes
//! has proven its answer optimal, or the problem infeasible. Past `node_limit` search nodes the
//! best configuration found is returned unproven, with the certified bound of what was left
//! unexplored.

use super::engine::{self, Budget, Expected, Layout};
use super::{Outcome, Problem, SearchSpace};

/// The exact solver prepared for one search space: its layout built once, for every problem
/// solved on it (what-if sweeps, the harness, explanations of infeasibility).
#[derive(Debug, Clone)]
pub struct Solver<'s, 'a> {
    space: &'s SearchSpace<'a>,
    layout: Layout,
}

impl<'s, 'a> Solver<'s, 'a> {
    /// Prepares `space` (pass a [`SearchSpace::pruned`] space for speed).
    pub fn new(space: &'s SearchSpace<'a>) -> Self {
        Solver {
            space,
            layout: Layout::new(space, true),
        }
    }

    /// The search space.
    pub fn space(&self) -> &'s SearchSpace<'a> {
        self.space
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Solves `problem` within `node_limit` search nodes.
    pub fn solve(&self, problem: &Problem, node_limit: u64) -> Outcome {
        solve_with(self.space, &self.layout, problem, node_limit)
    }
}

/// Solves `problem` over `space` with its layout ([`Layout::new`]`(space, true)`).
pub fn solve_with(
    space: &SearchSpace,
    layout: &Layout,
    problem: &Problem,
    node_limit: u64,
) -> Outcome {
    engine::search(
        &mut Expected::new(space, layout),
        problem,
        Budget { nodes: node_limit },
    )
    .metrics()
}

/// [`solve_with`] with a starting configuration and a fallback proposed when the search finds
/// none itself ([`engine::search_from`]; picks over `space`).
pub fn solve_from(
    space: &SearchSpace,
    layout: &Layout,
    problem: &Problem,
    node_limit: u64,
    start: impl FnOnce() -> Option<Vec<usize>>,
    fallback: impl FnOnce() -> Option<Vec<usize>>,
) -> Outcome {
    engine::search_from(
        &mut Expected::new(space, layout),
        problem,
        Budget { nodes: node_limit },
        start,
        fallback,
    )
    .metrics()
}

/// Solves `problem` over `space` (pass a [`SearchSpace::pruned`] space for speed).
pub fn solve(space: &SearchSpace, problem: &Problem, node_limit: u64) -> Outcome {
    Solver::new(space).solve(problem, node_limit)
}
