//! What-if sweeps: one optimization per point of a grid of constraint values (thesis Fig. 5.6).
//! The pruned search space is built once and shared by every point.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    ConstraintKind, Constraints, Objective, Problem, SearchSpace, Solution, SolveOptions,
    SolverKind, brute, exact, finish,
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
}

/// One point of a sweep with its answer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WhatIfPoint {
    /// The constraints of this point (fixed ones included).
    pub constraints: Constraints,
    /// The answer.
    pub solution: Solution,
}

/// Solves `objective` at every point of the grid spanned by `sweeps` (the first sweep varies
/// slowest), with `fixed` constraints added to each.
pub fn what_if(
    app: &Application,
    objective: Objective,
    fixed: Constraints,
    sweeps: &[Sweep],
    options: &SolveOptions,
) -> Vec<WhatIfPoint> {
    let full = SearchSpace::full(app);
    let pruned = full.pruned();
    let mut grid: Vec<Constraints> = vec![fixed];
    for sweep in sweeps {
        grid = grid
            .iter()
            .flat_map(|c| {
                sweep.values.iter().map(move |&v| {
                    let mut c = *c;
                    match sweep.constraint {
                        ConstraintKind::MaxLatencyMs => c.max_latency_ms = Some(v),
                        ConstraintKind::MaxCostUsdPerMillion => {
                            c.max_cost_usd_per_million = Some(v)
                        }
                        ConstraintKind::MinAccuracy => c.min_accuracy = Some(v),
                    }
                    c
                })
            })
            .collect();
    }
    grid.into_iter()
        .map(|constraints| {
            let problem = Problem {
                objective,
                constraints,
            };
            let solution = match options.solver {
                SolverKind::Exact => {
                    let outcome = exact::solve(&pruned, &problem, options.node_limit);
                    finish(&pruned, &problem, outcome, SolverKind::Exact, options)
                }
                SolverKind::BruteForce => {
                    let outcome = brute::solve(&full, &problem);
                    finish(&full, &problem, outcome, SolverKind::BruteForce, options)
                }
                SolverKind::Greedy => {
                    let outcome = super::greedy_outcome(&full, &problem, options);
                    finish(&full, &problem, outcome, SolverKind::Greedy, options)
                }
            };
            WhatIfPoint {
                constraints,
                solution,
            }
        })
        .collect()
}
