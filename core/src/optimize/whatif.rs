//! What-if sweeps: one optimization per point of a grid of constraint values (thesis Fig. 5.6).
//! The pruned search space is built once and shared by every point.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tail::Prepared;
use super::{
    ConstraintKind, Constraints, Objective, Problem, SearchSpace, Solution, SolveError,
    SolveOptions, SolverKind, TailRequest, brute, exact, finish,
};
use crate::bundle::Application;
use crate::simulate::DurationSource;

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

/// One swept constraint, as requests spell it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Which constraint.
    pub constraint: ConstraintKind,
    /// First value.
    pub from: f64,
    /// Last value.
    pub to: f64,
    /// Number of values (1 to 10,000), evenly spaced, both ends included.
    pub steps: usize,
}

/// A what-if request (the wasm package's `whatIf` argument; the CLI builds the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfRequest {
    /// What to optimize at each point.
    pub objective: Objective,
    /// One or two constraints to sweep; the first varies slowest.
    pub vary: Vec<SweepSpec>,
    /// Constraints held at one value.
    #[serde(default)]
    pub fixed: Constraints,
    /// Which solver (default `exact`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solver: Option<SolverKind>,
    /// Tail-aware problems: executions sampled once and shared by every configuration (default
    /// 5,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenarios: Option<usize>,
    /// Tail-aware problems: seed of the scenarios. `core` requires one for a tail-aware problem;
    /// the CLI and the wasm package draw one when it is left out and report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Tail-aware problems: where durations come from (default `samples`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durations: Option<DurationSource>,
    /// Tail-aware problems: executions of the certification run (default 100,000; 0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certify_runs: Option<usize>,
}

impl WhatIfRequest {
    /// The sweeps, after checking them; the error names the field (`vary[1].steps: …`).
    pub fn sweeps(&self) -> Result<Vec<Sweep>, String> {
        if self.vary.is_empty() || self.vary.len() > 2 {
            return Err(format!(
                "vary: give one or two constraints to sweep, found {}",
                self.vary.len()
            ));
        }
        self.fixed.check().map_err(|e| format!("fixed.{e}"))?;
        self.vary
            .iter()
            .enumerate()
            .map(|(i, v)| {
                for (name, x) in [("from", v.from), ("to", v.to)] {
                    if !x.is_finite() {
                        return Err(format!(
                            "vary[{i}].{name}: must be a finite number, found {x}"
                        ));
                    }
                }
                if !(1..=10_000).contains(&v.steps) {
                    return Err(format!(
                        "vary[{i}].steps: must be from 1 to 10000, found {}",
                        v.steps
                    ));
                }
                Ok(Sweep::linear(v.constraint, v.from, v.to, v.steps))
            })
            .collect()
    }

    /// Does any point of the sweep involve a latency percentile?
    pub fn is_tail(&self) -> bool {
        is_tail(
            self.objective,
            &self.fixed,
            self.vary.iter().map(|v| v.constraint),
        )
    }

    /// The solver settings (the tail settings checked; a seed is required when [`Self::is_tail`]).
    pub fn options(&self) -> Result<SolveOptions, String> {
        Ok(SolveOptions {
            solver: self.solver.unwrap_or(SolverKind::Exact),
            tail: TailRequest {
                scenarios: self.scenarios,
                seed: self.seed,
                durations: self.durations,
                certify_runs: self.certify_runs,
            }
            .settings(self.is_tail())?,
            ..SolveOptions::default()
        })
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
    let full = SearchSpace::full(app);
    let pruned = full.pruned();
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
                (_, SolverKind::Exact) => {
                    let outcome = exact::solve(&pruned, &problem, options.node_limit);
                    finish(&pruned, &problem, outcome, SolverKind::Exact, options)
                }
                (_, SolverKind::BruteForce) => {
                    let outcome = brute::solve(&full, &problem);
                    finish(&full, &problem, outcome, SolverKind::BruteForce, options)
                }
                (_, SolverKind::Greedy) => {
                    let outcome = super::greedy_outcome(&full, &problem, options);
                    finish(&full, &problem, outcome, SolverKind::Greedy, options)
                }
            };
            WhatIfPoint {
                constraints,
                solution,
            }
        })
        .collect())
}
