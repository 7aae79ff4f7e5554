//! The exact solver on the expected figures: the [engine](super::engine)'s branch and bound with
//! the expected [scoring](super::engine::Expected), over the dominance-pruned options.
//!
//! Every bound comes from monotonicity (see [`super::engine::bounds`]); a search that finishes
//! has proven its answer optimal, or the problem infeasible. Past `node_limit` search nodes the
//! best configuration found is returned unproven, with the certified bound of what was left
//! unexplored.

use super::engine::{self, Budget, Expected};
use super::{Outcome, Problem, SearchSpace};

/// Solves `problem` over `space` (pass a [`SearchSpace::pruned`] space for speed).
pub fn solve(space: &SearchSpace, problem: &Problem, node_limit: u64) -> Outcome {
    engine::search(
        &mut Expected::new(space),
        problem,
        Budget { nodes: node_limit },
    )
    .metrics()
}
