//! The requests front ends send: the wasm package's JSON and the CLI's flags build the same
//! [`OptimizeRequest`] and [`WhatIfRequest`]. This module is the one definition of every
//! objective, constraint, solver and option name (as JSON spells it and as a command line does),
//! of the limits on their values, and of how a request becomes a problem and solver settings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tail::TailSettings;
use super::whatif::{Sweep, is_tail};
use super::{
    Bcr, ConstraintKind, Constraints, GreedyOptions, Objective, Problem, SolveOptions, SolverKind,
};
use crate::simulate::DurationSource;

/// A closed set of named values (objectives, constraints, solvers, …): every value, its name in
/// JSON, its spelling on a command line and a line of help.
pub trait Named: Sized + Copy + 'static {
    /// Every value, in the order help lists them.
    const ALL: &'static [Self];
    /// What the value is called in messages ("objective", "constraint").
    const WHAT: &'static str;
    /// The name as JSON spells it.
    fn name(self) -> &'static str;
    /// The spelling on a command line (kebab case).
    fn flag_value(self) -> &'static str;
    /// One line of help.
    fn help(self) -> &'static str;

    /// The value with either spelling of its name, or a message listing the names.
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == text || v.flag_value() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.flag_value()).collect();
                format!(
                    "unknown {} '{text}' (expected {})",
                    Self::WHAT,
                    names.join(", ")
                )
            })
    }
}

impl Named for Objective {
    const ALL: &'static [Self] = &[
        Objective::Latency,
        Objective::Cost,
        Objective::Accuracy,
        Objective::P95Latency,
        Objective::P99Latency,
    ];
    const WHAT: &'static str = "objective";
    fn name(self) -> &'static str {
        match self {
            Objective::Latency => "latency",
            Objective::Cost => "cost",
            Objective::Accuracy => "accuracy",
            Objective::P95Latency => "p95_latency",
            Objective::P99Latency => "p99_latency",
        }
    }
    fn flag_value(self) -> &'static str {
        match self {
            Objective::Latency => "latency",
            Objective::Cost => "cost",
            Objective::Accuracy => "accuracy",
            Objective::P95Latency => "p95-latency",
            Objective::P99Latency => "p99-latency",
        }
    }
    fn help(self) -> &'static str {
        match self {
            Objective::Latency => "Minimise the expected end-to-end latency",
            Objective::Cost => "Minimise the cost per million executions",
            Objective::Accuracy => "Maximise the accuracy score",
            Objective::P95Latency => {
                "Minimise the 95th percentile of latency over sampled executions (see scenarios)"
            }
            Objective::P99Latency => {
                "Minimise the 99th percentile of latency over sampled executions (see scenarios)"
            }
        }
    }
}

impl Named for ConstraintKind {
    const ALL: &'static [Self] = &[
        ConstraintKind::MaxLatencyMs,
        ConstraintKind::MaxCostUsdPerMillion,
        ConstraintKind::MinAccuracy,
        ConstraintKind::MaxP95LatencyMs,
        ConstraintKind::MaxP99LatencyMs,
    ];
    const WHAT: &'static str = "constraint";
    fn name(self) -> &'static str {
        ConstraintKind::name(self)
    }
    fn flag_value(self) -> &'static str {
        match self {
            ConstraintKind::MaxLatencyMs => "max-latency-ms",
            ConstraintKind::MaxCostUsdPerMillion => "max-cost-usd-per-million",
            ConstraintKind::MinAccuracy => "min-accuracy",
            ConstraintKind::MaxP95LatencyMs => "max-p95-latency-ms",
            ConstraintKind::MaxP99LatencyMs => "max-p99-latency-ms",
        }
    }
    fn help(self) -> &'static str {
        match self {
            ConstraintKind::MaxLatencyMs => "Expected end-to-end latency at most this many ms",
            ConstraintKind::MaxCostUsdPerMillion => {
                "Cost at most this many USD per million executions"
            }
            ConstraintKind::MinAccuracy => "Accuracy score at least this",
            ConstraintKind::MaxP95LatencyMs => {
                "95th percentile of end-to-end latency at most this many ms, over sampled executions"
            }
            ConstraintKind::MaxP99LatencyMs => {
                "99th percentile of end-to-end latency at most this many ms, over sampled executions"
            }
        }
    }
}

impl Named for SolverKind {
    const ALL: &'static [Self] = &[
        SolverKind::Exact,
        SolverKind::Greedy,
        SolverKind::BruteForce,
    ];
    const WHAT: &'static str = "solver";
    fn name(self) -> &'static str {
        self.flag_value()
    }
    fn flag_value(self) -> &'static str {
        match self {
            SolverKind::Exact => "exact",
            SolverKind::Greedy => "greedy",
            SolverKind::BruteForce => "brute-force",
        }
    }
    fn help(self) -> &'static str {
        match self {
            SolverKind::Exact => {
                "Dominance pruning plus branch and bound: proven optimum or proven infeasibility"
            }
            SolverKind::Greedy => "The thesis' greedy heuristics (not proven optimal)",
            SolverKind::BruteForce => "Every configuration of the grid",
        }
    }
}

impl Named for DurationSource {
    const ALL: &'static [Self] = &[DurationSource::Samples, DurationSource::Model];
    const WHAT: &'static str = "duration source";
    fn name(self) -> &'static str {
        self.flag_value()
    }
    fn flag_value(self) -> &'static str {
        match self {
            DurationSource::Samples => "samples",
            DurationSource::Model => "model",
        }
    }
    fn help(self) -> &'static str {
        match self {
            DurationSource::Samples => {
                "Profiled samples at the configured memory when there are some, else the model with the measured dispersion"
            }
            DurationSource::Model => "Always the model times a bootstrapped residual ratio",
        }
    }
}

/// The greedy heuristics' benefit-cost rule, as requests name it (the slope rule's threshold is
/// [`GreedyRequest::bcr_threshold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BcrRule {
    /// Largest |ΔEET/ΔC| (BCR_max).
    Max,
    /// The slope rule with `bcr_threshold` (BCR_slope).
    Slope,
}

impl Named for BcrRule {
    const ALL: &'static [Self] = &[BcrRule::Max, BcrRule::Slope];
    const WHAT: &'static str = "benefit-cost rule";
    fn name(self) -> &'static str {
        self.flag_value()
    }
    fn flag_value(self) -> &'static str {
        match self {
            BcrRule::Max => "max",
            BcrRule::Slope => "slope",
        }
    }
    fn help(self) -> &'static str {
        match self {
            BcrRule::Max => "Largest |ΔEET/ΔC| (BCR_max)",
            BcrRule::Slope => "Slope rule with the BCR threshold (BCR_slope)",
        }
    }
}

/// `Ok` for a finite number ≥ 0 (the greedy weights and thresholds).
pub fn check_non_negative(v: f64) -> Result<f64, String> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a finite number ≥ 0, found {v}"))
    }
}

/// Settings of the greedy heuristics, as a request gives them (each optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GreedyRequest {
    /// Weight `w` of the accuracy shortfall in Algorithm 1 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_weight: Option<f64>,
    /// Benefit-cost rule for memory moves (default `max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcr: Option<BcrRule>,
    /// BCR_th of the slope rule (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcr_threshold: Option<f64>,
    /// Run the polish phase after the thesis' heuristics (default `true`; `false` is the
    /// thesis' heuristics alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polish: Option<bool>,
}

/// The default `bcr_threshold`.
pub const DEFAULT_BCR_THRESHOLD: f64 = 0.1;

impl GreedyRequest {
    /// The settings, after checking the numbers (the error names the field).
    pub fn options(&self) -> Result<GreedyOptions, String> {
        let d = SolveOptions::default().greedy;
        let accuracy_weight = match self.accuracy_weight {
            Some(w) => check_non_negative(w).map_err(|e| format!("greedy.accuracy_weight: {e}"))?,
            None => d.accuracy_weight,
        };
        let threshold = match self.bcr_threshold {
            Some(t) => check_non_negative(t).map_err(|e| format!("greedy.bcr_threshold: {e}"))?,
            None => DEFAULT_BCR_THRESHOLD,
        };
        Ok(GreedyOptions {
            accuracy_weight,
            bcr: match self.bcr {
                None | Some(BcrRule::Max) => Bcr::Max,
                Some(BcrRule::Slope) => Bcr::Slope { threshold },
            },
            polish: self.polish.unwrap_or(d.polish),
        })
    }
}

/// The settings of tail-aware problems as a request gives them (each optional).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TailRequest {
    /// Number of scenarios.
    pub scenarios: Option<usize>,
    /// Seed.
    pub seed: Option<u64>,
    /// Duration source.
    pub durations: Option<DurationSource>,
    /// Certification runs.
    pub certify_runs: Option<usize>,
}

impl TailRequest {
    /// The settings; `tail` says whether the problem needs them (then a seed is required).
    pub fn settings(&self, tail: bool) -> Result<TailSettings, String> {
        let d = TailSettings::default();
        let seed = match (self.seed, tail) {
            (Some(s), _) => s,
            (None, false) => 0,
            (None, true) => {
                return Err(
                    "seed: a tail-latency problem needs a seed (the caller draws one)".to_string(),
                );
            }
        };
        Ok(TailSettings {
            scenarios: self.scenarios.unwrap_or(d.scenarios),
            seed,
            durations: self.durations.unwrap_or(d.durations),
            certify_runs: self.certify_runs.unwrap_or(d.certify_runs),
        })
    }
}

/// The solver settings both requests share.
fn solve_options(
    solver: Option<SolverKind>,
    node_limit: Option<u64>,
    greedy: Option<GreedyRequest>,
    tail: TailRequest,
    is_tail: bool,
) -> Result<SolveOptions, String> {
    let d = SolveOptions::default();
    if node_limit == Some(0) {
        return Err("node_limit: must be at least 1".to_string());
    }
    Ok(SolveOptions {
        solver: solver.unwrap_or(d.solver),
        node_limit: node_limit.unwrap_or(d.node_limit),
        greedy: greedy.unwrap_or_default().options()?,
        tail: tail.settings(is_tail)?,
    })
}

/// An optimization request (the wasm package's `optimize` argument; the CLI builds the same).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    /// What to optimize.
    pub objective: Objective,
    /// The limits.
    #[serde(default)]
    pub constraints: Constraints,
    /// Which solver (default `exact`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solver: Option<SolverKind>,
    /// The exact solver's search-node budget (default 50,000,000); past it the best configuration
    /// found is returned as `feasible` with its certified gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_limit: Option<u64>,
    /// Settings of the greedy heuristics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greedy: Option<GreedyRequest>,
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

impl OptimizeRequest {
    /// A request for `objective` with every other field at its default.
    pub fn new(objective: Objective) -> OptimizeRequest {
        OptimizeRequest {
            objective,
            constraints: Constraints::default(),
            solver: None,
            node_limit: None,
            greedy: None,
            scenarios: None,
            seed: None,
            durations: None,
            certify_runs: None,
        }
    }

    /// Does the problem involve a latency percentile (then a seed is needed)?
    pub fn is_tail(&self) -> bool {
        Problem {
            objective: self.objective,
            constraints: self.constraints,
        }
        .is_tail()
    }

    /// The problem and solver settings, after checking the limits.
    pub fn parts(&self) -> Result<(Problem, SolveOptions), String> {
        self.constraints
            .check()
            .map_err(|e| format!("constraints.{e}"))?;
        let problem = Problem {
            objective: self.objective,
            constraints: self.constraints,
        };
        let options = solve_options(
            self.solver,
            self.node_limit,
            self.greedy,
            TailRequest {
                scenarios: self.scenarios,
                seed: self.seed,
                durations: self.durations,
                certify_runs: self.certify_runs,
            },
            problem.is_tail(),
        )?;
        Ok((problem, options))
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

/// Most values one swept constraint takes.
pub const MAX_SWEEP_STEPS: usize = 10_000;

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
    /// The exact solver's search-node budget per point (default 50,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_limit: Option<u64>,
    /// Settings of the greedy heuristics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greedy: Option<GreedyRequest>,
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
                if !(1..=MAX_SWEEP_STEPS).contains(&v.steps) {
                    return Err(format!(
                        "vary[{i}].steps: must be from 1 to {MAX_SWEEP_STEPS}, found {}",
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
        solve_options(
            self.solver,
            self.node_limit,
            self.greedy,
            TailRequest {
                scenarios: self.scenarios,
                seed: self.seed,
                durations: self.durations,
                certify_runs: self.certify_runs,
            },
            self.is_tail(),
        )
    }
}

/// The request fields whose command-line flag is not the field's name in kebab case.
const FLAGS: &[(&str, &str)] = &[
    ("greedy.accuracy_weight", "--accuracy-weight"),
    ("greedy.bcr_threshold", "--bcr-threshold"),
    ("greedy.bcr", "--bcr"),
    ("greedy.polish", "--greedy-faithful"),
    ("certify_runs", "--certify-runs"),
    ("node_limit", "--node-limit"),
    ("scenarios", "--scenarios"),
    ("durations", "--durations"),
    ("objective", "--objective"),
    ("solver", "--solver"),
    ("seed", "--seed"),
    ("vary", "--vary"),
];

/// A message about a request (from checking it or from solving it: `constraints.min_accuracy:
/// must be …`, `fixed.max_latency_ms: …`, `vary[1].steps: …`) with its field named as the command
/// line names it (`--min-accuracy: …`, `--fixed max-latency-ms: …`, `--vary (2nd): …`).
pub fn with_flag_names(message: &str) -> String {
    let (field, rest) = message.split_once(':').unwrap_or((message, ""));
    let constraint = |name: &str| {
        ConstraintKind::ALL
            .iter()
            .find(|k| k.name() == name)
            .map(|k| k.flag_value())
    };
    let flag = if let Some(name) = field.strip_prefix("constraints.") {
        constraint(name).map(|f| format!("--{f}"))
    } else if let Some(name) = field.strip_prefix("fixed.") {
        constraint(name).map(|f| format!("--fixed {f}"))
    } else if let Some(index) = field
        .strip_prefix("vary[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(i, _)| i.parse::<usize>().ok())
    {
        Some(format!(
            "--vary ({})",
            if index == 0 { "1st" } else { "2nd" }
        ))
    } else {
        FLAGS
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, flag)| (*flag).to_string())
    };
    match flag {
        Some(flag) => format!("{flag}:{rest}"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_both_spellings_and_unknown_ones_list_the_choices() {
        for &o in Objective::ALL {
            assert_eq!(Objective::parse(o.name()), Ok(o));
            assert_eq!(Objective::parse(o.flag_value()), Ok(o));
            // The JSON name is serde's.
            assert_eq!(
                serde_json::to_value(o).ok(),
                Some(serde_json::Value::from(o.name()))
            );
        }
        for k in ConstraintKind::ALL {
            assert_eq!(ConstraintKind::parse(k.flag_value()), Ok(k));
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::Value::from(k.name()))
            );
        }
        for &s in SolverKind::ALL {
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.name()))
            );
        }
        for &d in DurationSource::ALL {
            assert_eq!(
                serde_json::to_value(d).ok(),
                Some(serde_json::Value::from(d.name()))
            );
        }
        assert_eq!(
            Objective::parse("fastest"),
            Err("unknown objective 'fastest' (expected latency, cost, accuracy, p95-latency, p99-latency)".to_string())
        );
    }

    #[test]
    fn messages_name_fields_as_the_command_line_does() {
        for (message, expected) in [
            (
                "constraints.min_accuracy: must be a finite number, found NaN",
                "--min-accuracy: must be a finite number, found NaN",
            ),
            (
                "fixed.max_p95_latency_ms: must be a finite number, found inf",
                "--fixed max-p95-latency-ms: must be a finite number, found inf",
            ),
            ("vary[1].steps: must be …", "--vary (2nd): must be …"),
            (
                "greedy.bcr_threshold: must be a finite number ≥ 0, found -1",
                "--bcr-threshold: must be a finite number ≥ 0, found -1",
            ),
            ("certify_runs: at most 10", "--certify-runs: at most 10"),
            ("no field here", "no field here"),
        ] {
            assert_eq!(with_flag_names(message), expected);
        }
    }

    #[test]
    fn greedy_settings_are_checked_and_default_as_before() {
        assert_eq!(
            GreedyRequest::default().options(),
            Ok(SolveOptions::default().greedy)
        );
        let slope = GreedyRequest {
            bcr: Some(BcrRule::Slope),
            bcr_threshold: Some(0.3),
            ..GreedyRequest::default()
        };
        assert_eq!(
            slope.options().map(|g| g.bcr),
            Ok(Bcr::Slope { threshold: 0.3 })
        );
        let bad = GreedyRequest {
            accuracy_weight: Some(f64::NAN),
            ..GreedyRequest::default()
        };
        assert!(
            bad.options()
                .unwrap_err()
                .starts_with("greedy.accuracy_weight: must be a finite number ≥ 0")
        );
        let mut r = OptimizeRequest::new(Objective::Cost);
        r.node_limit = Some(0);
        assert_eq!(
            r.parts().unwrap_err(),
            "node_limit: must be at least 1".to_string()
        );
    }
}
