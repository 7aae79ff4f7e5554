//! What-if sweeps: one optimization per point of a grid of constraint values (thesis Fig. 5.6).
//! The pruned search space is built once and shared by every point.

use schemars::JsonSchema;
use serde::Serialize;

pub use super::request::{SweepSpec, WhatIfRequest};
use super::tail::Prepared;
use super::{
    Analytic, ConstraintKind, Constraints, Objective, Problem, Solution, SolveError, SolveOptions,
    SolverKind,
};
use crate::bundle::Application;

/// One constraint swept over values.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// Which constraint.
    pub constraint: ConstraintKind,
    /// Its values, in order.
    pub values: Vec<f64>,
}

impl Sweep {
    /// `steps` evenly spaced values from `from` to `to` (both included; one value when steps = 1).
    pub fn linear(constraint: ConstraintKind, from: f64, to: f64, steps: usize) -> Sweep {
        let values = match steps {
            0 => Vec::new(),
            1 => vec![from],
            _ => (0..steps)
                .map(|i| from + (to - from) * i as f64 / (steps - 1) as f64)
                .collect(),
        };
        Sweep { constraint, values }
    }
}

/// Does a sweep with this objective, fixed limits and swept limits involve a percentile?
pub fn is_tail(
    objective: Objective,
    fixed: &Constraints,
    swept: impl IntoIterator<Item = ConstraintKind>,
) -> bool {
    matches!(objective, Objective::P95Latency | Objective::P99Latency)
        || fixed.has_tail()
        || swept.into_iter().any(|k| {
            matches!(
                k,
                ConstraintKind::MaxP95LatencyMs | ConstraintKind::MaxP99LatencyMs
            )
        })
}

/// One point of a sweep with its answer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WhatIfPoint {
    /// The constraints of this point (fixed ones included).
    pub constraints: Constraints,
    /// The answer.
    pub solution: Solution,
}

/// Most points one what-if sweep solves (the product of its axes' steps): checked before any
/// work, as the points and their answers are held in memory.
pub const MAX_WHAT_IF_POINTS: usize = 100_000;

/// Solves `objective` at every point of the grid spanned by `sweeps` (the first sweep varies
/// slowest), with `fixed` constraints added to each. When a point involves a latency percentile,
/// the scenarios are sampled once (`options.tail`) and shared by every point, and each distinct
/// answer is certified once.
pub fn what_if(
    app: &Application,
    objective: Objective,
    fixed: Constraints,
    sweeps: &[Sweep],
    options: &SolveOptions,
) -> Result<Vec<WhatIfPoint>, SolveError> {
    let points = sweeps
        .iter()
        .map(|s| s.values.len())
        .fold(1_usize, usize::saturating_mul);
    if points > MAX_WHAT_IF_POINTS {
        return Err(SolveError::TooManyPoints {
            points,
            max: MAX_WHAT_IF_POINTS,
        });
    }
    let analytic = Analytic::new(app);
    let mut grid: Vec<Constraints> = vec![fixed];
    for sweep in sweeps {
        grid = grid
            .iter()
            .flat_map(|c| {
                sweep.values.iter().map(move |&v| {
                    let mut c = *c;
                    c.set(sweep.constraint, Some(v));
                    c
                })
            })
            .collect();
    }
    let mut tail = if super::whatif::is_tail(objective, &fixed, sweeps.iter().map(|s| s.constraint))
    {
        if options.solver == SolverKind::Greedy {
            return Err(SolveError::GreedyTail);
        }
        Some(Prepared::new(app, options.tail)?)
    } else {
        None
    };
    Ok(grid
        .into_iter()
        .map(|constraints| {
            let problem = Problem {
                objective,
                constraints,
            };
            let solution = match (&mut tail, options.solver) {
                (Some(prepared), _) if problem.is_tail() => prepared.solve(&problem, options),
                _ => analytic.solve(&problem, options),
            };
            WhatIfPoint {
                constraints,
                solution,
            }
        })
        .collect())
}
