//! The thesis' three problems (§4.2): fastest within a budget and an accuracy floor, cheapest
//! within a latency limit and an accuracy floor, most accurate within a latency limit and a budget.
//! Any constraint may be left out, and any may be added to any objective.
//!
//! Solvers: [`exact`] (dominance pruning plus branch and bound: a proven optimum or proven
//! infeasibility), [`greedy`] (the thesis' heuristics, honest about what they find) and
//! [`brute`] (every configuration of the grid: the oracle in tests).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bundle::{Application, Configuration};
use crate::workflow::LatencyModel;
use scenarios::ScenarioError;
use tail::{Prepared, TailReport, TailSettings};

pub mod analytic;
pub mod brute;
pub mod engine;
pub mod exact;
pub mod greedy;
pub mod harness;
pub mod pareto;
pub mod request;
pub mod scenarios;
pub mod space;
pub mod synthetic;
pub mod tail;
pub mod whatif;

pub use analytic::Analytic;
pub use request::{Named, OptimizeRequest, TailRequest};
pub use space::{Metrics, OptionPoint, SearchSpace};

/// Relative slack when checking a constraint, so that a configuration sitting exactly on a limit
/// computed in floating point is not refused.
pub const CONSTRAINT_TOLERANCE: f64 = 1e-9;

/// What to optimize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Minimise the expected end-to-end latency.
    Latency,
    /// Minimise the cost per million executions.
    Cost,
    /// Maximise the accuracy score.
    Accuracy,
    /// Minimise the 95th percentile of end-to-end latency over sampled executions (see
    /// [`tail`]).
    P95Latency,
    /// Minimise the 99th percentile of end-to-end latency over sampled executions.
    P99Latency,
}

/// Limits a configuration must meet; `None` means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    /// Expected end-to-end latency at most this, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_latency_ms: Option<f64>,
    /// Cost at most this, USD per million executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd_per_million: Option<f64>,
    /// Accuracy score at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_accuracy: Option<f64>,
    /// 95th percentile of end-to-end latency over sampled executions at most this, ms (see
    /// [`tail`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_p95_latency_ms: Option<f64>,
    /// 99th percentile of end-to-end latency over sampled executions at most this, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_p99_latency_ms: Option<f64>,
}

/// Which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    /// `max_latency_ms`.
    MaxLatencyMs,
    /// `max_cost_usd_per_million`.
    MaxCostUsdPerMillion,
    /// `min_accuracy`.
    MinAccuracy,
    /// `max_p95_latency_ms`.
    MaxP95LatencyMs,
    /// `max_p99_latency_ms`.
    MaxP99LatencyMs,
}

impl ConstraintKind {
    /// All of them, in the order infeasibility is reported.
    pub const ALL: [ConstraintKind; 5] = [
        ConstraintKind::MaxCostUsdPerMillion,
        ConstraintKind::MaxLatencyMs,
        ConstraintKind::MaxP95LatencyMs,
        ConstraintKind::MaxP99LatencyMs,
        ConstraintKind::MinAccuracy,
    ];

    /// The objective that optimizes the quantity this constraint limits.
    pub fn objective(self) -> Objective {
        match self {
            ConstraintKind::MaxLatencyMs => Objective::Latency,
            ConstraintKind::MaxCostUsdPerMillion => Objective::Cost,
            ConstraintKind::MinAccuracy => Objective::Accuracy,
            ConstraintKind::MaxP95LatencyMs => Objective::P95Latency,
            ConstraintKind::MaxP99LatencyMs => Objective::P99Latency,
        }
    }

    /// The option name, as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            ConstraintKind::MaxLatencyMs => "max_latency_ms",
            ConstraintKind::MaxCostUsdPerMillion => "max_cost_usd_per_million",
            ConstraintKind::MinAccuracy => "min_accuracy",
            ConstraintKind::MaxP95LatencyMs => "max_p95_latency_ms",
            ConstraintKind::MaxP99LatencyMs => "max_p99_latency_ms",
        }
    }
}

impl Constraints {
    /// The limit of one kind.
    pub fn get(&self, kind: ConstraintKind) -> Option<f64> {
        match kind {
            ConstraintKind::MaxLatencyMs => self.max_latency_ms,
            ConstraintKind::MaxCostUsdPerMillion => self.max_cost_usd_per_million,
            ConstraintKind::MinAccuracy => self.min_accuracy,
            ConstraintKind::MaxP95LatencyMs => self.max_p95_latency_ms,
            ConstraintKind::MaxP99LatencyMs => self.max_p99_latency_ms,
        }
    }

    /// Sets the limit of one kind.
    pub fn set(&mut self, kind: ConstraintKind, value: Option<f64>) {
        match kind {
            ConstraintKind::MaxLatencyMs => self.max_latency_ms = value,
            ConstraintKind::MaxCostUsdPerMillion => self.max_cost_usd_per_million = value,
            ConstraintKind::MinAccuracy => self.min_accuracy = value,
            ConstraintKind::MaxP95LatencyMs => self.max_p95_latency_ms = value,
            ConstraintKind::MaxP99LatencyMs => self.max_p99_latency_ms = value,
        }
    }

    /// Is there a percentile limit?
    pub fn has_tail(&self) -> bool {
        self.max_p95_latency_ms.is_some() || self.max_p99_latency_ms.is_some()
    }

    /// A copy without one limit.
    pub fn without(&self, kind: ConstraintKind) -> Constraints {
        let mut c = *self;
        c.set(kind, None);
        c
    }

    /// Does `m` meet every expected-value limit (within [`CONSTRAINT_TOLERANCE`])? The percentile
    /// limits need sampled executions: [`tail::admits`] checks them.
    pub fn admits(&self, m: &Metrics) -> bool {
        self.max_latency_ms
            .is_none_or(|l| m.latency_ms <= l + tol(l))
            && self
                .max_cost_usd_per_million
                .is_none_or(|b| m.cost_usd_per_million <= b + tol(b))
            && self.min_accuracy.is_none_or(|a| m.accuracy >= a - tol(a))
    }

    /// Checks that every limit is a finite number (a JSON-path-like name on failure).
    pub fn check(&self) -> Result<(), String> {
        for kind in ConstraintKind::ALL {
            if let Some(v) = self.get(kind)
                && !v.is_finite()
            {
                return Err(format!(
                    "{}: must be a finite number, found {v}",
                    kind.name()
                ));
            }
        }
        Ok(())
    }
}

/// The slack allowed on a limit.
pub fn tol(limit: f64) -> f64 {
    CONSTRAINT_TOLERANCE * limit.abs().max(1.0)
}

/// One optimization problem.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// What to optimize.
    pub objective: Objective,
    /// The limits.
    #[serde(default)]
    pub constraints: Constraints,
}

impl Problem {
    /// Is `a` strictly better than `b` for this objective?
    pub fn better(&self, a: &Metrics, b: &Metrics) -> bool {
        let (x, y) = (self.value(a), self.value(b));
        match self.objective {
            Objective::Accuracy => x > y,
            _ => x < y,
        }
    }

    /// Does the problem involve a latency percentile (objective or limit)?
    pub fn is_tail(&self) -> bool {
        matches!(
            self.objective,
            Objective::P95Latency | Objective::P99Latency
        ) || self.constraints.has_tail()
    }

    /// The objective's value of `m`. [`Metrics`] holds no percentiles: for the tail objectives
    /// this is the expected latency ([`tail::value`] gives the percentile).
    pub fn value(&self, m: &Metrics) -> f64 {
        match self.objective {
            Objective::Latency | Objective::P95Latency | Objective::P99Latency => m.latency_ms,
            Objective::Cost => m.cost_usd_per_million,
            Objective::Accuracy => m.accuracy,
        }
    }
}

/// How sure an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Meets the constraints and is proven best.
    Optimal,
    /// Meets the constraints; not proven best (a heuristic, or a search stopped by its budget).
    Feasible,
    /// Proven: no configuration meets the constraints.
    Infeasible,
    /// A heuristic found no configuration meeting the constraints; that does not prove there is
    /// none (the exact solver decides).
    NotFound,
}

/// Which solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SolverKind {
    /// Dominance pruning plus branch and bound.
    Exact,
    /// The thesis' greedy heuristics.
    Greedy,
    /// Every configuration of the grid.
    BruteForce,
}

/// Why a problem has no answer: the constraint that cannot be met given the others, and the best
/// value of it that can be reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Infeasibility {
    /// The constraint that cannot be met.
    pub constraint: ConstraintKind,
    /// Its limit.
    pub limit: f64,
    /// The best value reachable while the other constraints hold (`None` when the other
    /// constraints cannot hold together either).
    pub best_reachable: Option<f64>,
    /// A sentence for people.
    pub message: String,
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Solution {
    /// How sure the answer is.
    pub status: Status,
    /// Predicted latency of `config`, ms (absent when there is no configuration).
    pub latency_ms: Option<f64>,
    /// The composition rule behind `latency_ms` and every latency limit checked.
    #[serde(default)]
    pub latency_model: LatencyModel,
    /// Predicted cost of `config`, USD per million executions.
    pub cost_usd_per_million: Option<f64>,
    /// Predicted accuracy score of `config`.
    pub accuracy: Option<f64>,
    /// The configuration (absent when infeasible or not found).
    pub config: Option<Configuration>,
    /// Which solver answered.
    pub solver: SolverKind,
    /// Configurations (or search nodes) evaluated.
    pub evaluations: u64,
    /// Wall time, filled in by callers that have a clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<f64>,
    /// An answer not proven optimal (`feasible`): the best objective value any configuration
    /// meeting the constraints can reach, certified by the search (a lower bound on latency or
    /// cost, an upper bound on accuracy). Absent for proven answers and for the heuristics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<f64>,
    /// `|answer − bound| / |answer|` in percent: the answer is within this much of the optimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_percent: Option<f64>,
    /// Why there is no answer, when `status` is `infeasible`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infeasible: Option<Infeasibility>,
    /// Tail-aware problems: the scenarios, the answer's percentiles over them and its
    /// certification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<TailReport>,
}

impl Solution {
    /// A solution without a configuration.
    pub fn empty(status: Status, solver: SolverKind, evaluations: u64) -> Solution {
        Solution {
            status,
            latency_ms: None,
            latency_model: LatencyModel::default(),
            cost_usd_per_million: None,
            accuracy: None,
            config: None,
            solver,
            evaluations,
            elapsed_ms: None,
            bound: None,
            gap_percent: None,
            infeasible: None,
            tail: None,
        }
    }
}

/// Why a problem could not be set up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolveError {
    /// The scenarios could not be sampled.
    #[error(transparent)]
    Scenarios(#[from] ScenarioError),
    /// Too many certification runs.
    #[error("certify_runs: at most {max} executions, found {0}", max = crate::simulate::MAX_RUNS)]
    CertifyRuns(usize),
    /// A what-if grid with more points than one sweep solves.
    #[error(
        "vary: the grid has {points} points, more than the {max} one sweep solves (use fewer steps)"
    )]
    TooManyPoints {
        /// Points asked for (the product of the axes' steps).
        points: usize,
        /// The cap.
        max: usize,
    },
    /// The greedy heuristics were asked for a tail-aware problem.
    #[error(
        "solver: the greedy heuristics do not handle latency percentiles (p95/p99); use the exact solver or brute force"
    )]
    GreedyTail,
}

/// What a solver found, before it is turned into a [`Solution`]: with [`Metrics`] (the expected
/// figures) or with [`engine::Figures`] (percentiles too).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<M = Metrics> {
    /// The best pick of options meeting the constraints, with its metrics.
    pub best: Option<(Vec<usize>, M)>,
    /// Whether `best` is proven optimal (or, with `best = None`, infeasibility proven).
    pub proven: bool,
    /// Work done.
    pub evaluations: u64,
    /// The best objective value any configuration meeting the constraints can reach, certified
    /// (the answer's own value when proven; `None` when unknown, e.g. for the heuristics, or when
    /// infeasibility is proven).
    pub bound: Option<f64>,
}

impl Outcome {
    /// The same outcome with [`engine::Figures`] (no percentiles).
    pub fn with_figures(self) -> Outcome<engine::Figures> {
        Outcome {
            best: self.best.map(|(p, m)| (p, engine::Figures::expected(m))),
            proven: self.proven,
            evaluations: self.evaluations,
            bound: self.bound,
        }
    }
}

impl Outcome<engine::Figures> {
    /// The same outcome with the expected figures only.
    pub fn metrics(self) -> Outcome {
        Outcome {
            best: self.best.map(|(p, t)| (p, t.metrics)),
            proven: self.proven,
            evaluations: self.evaluations,
            bound: self.bound,
        }
    }
}

/// Solver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolveOptions {
    /// Which solver.
    pub solver: SolverKind,
    /// Node budget for the exact solver; past it, the best found is returned as `feasible`.
    pub node_limit: u64,
    /// Settings of the greedy heuristics.
    pub greedy: GreedyOptions,
    /// Settings of the tail-aware problems.
    pub tail: TailSettings,
}

/// Settings of the greedy heuristics (the thesis' BCR choices).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GreedyOptions {
    /// Weight `w` of the accuracy shortfall in Algorithm 1's score.
    pub accuracy_weight: f64,
    /// Benefit-cost rule for memory moves.
    pub bcr: Bcr,
    /// Run the polish phase (local search over non-dominated options) after the thesis' phases.
    /// Off, the solver is the thesis' heuristics alone.
    pub polish: bool,
}

/// Benefit-cost rule for the greedy memory moves (thesis Algorithm 2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bcr {
    /// Pick the move with the largest |ΔEET / ΔC|.
    Max,
    /// Keep moves whose latency–memory slope exceeds `threshold` × the least-squares slope.
    Slope {
        /// BCR_th.
        threshold: f64,
    },
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            solver: SolverKind::Exact,
            node_limit: 50_000_000,
            greedy: GreedyOptions {
                accuracy_weight: 100.0,
                bcr: Bcr::Max,
                polish: true,
            },
            tail: TailSettings::default(),
        }
    }
}

/// Solves one problem on an application. Tail-aware problems ([`Problem::is_tail`]) sample
/// `options.tail.scenarios` executions and are refused by the greedy heuristics.
pub fn solve(
    app: &Application,
    problem: &Problem,
    options: &SolveOptions,
) -> Result<Solution, SolveError> {
    if problem.is_tail() {
        if options.solver == SolverKind::Greedy {
            return Err(SolveError::GreedyTail);
        }
        return Ok(Prepared::new(app, options.tail)?.solve(problem, options));
    }
    Ok(Analytic::new(app).solve(problem, options))
}

pub(crate) fn greedy_outcome(
    space: &SearchSpace,
    problem: &Problem,
    options: &SolveOptions,
) -> Outcome {
    greedy::solve_with(space, problem, &options.greedy, options.greedy.polish)
}

/// Turns an outcome into a solution; explains infeasibility exactly (with the exact solver on the
/// relaxed problems) when there is no answer.
pub fn finish(
    space: &SearchSpace,
    problem: &Problem,
    outcome: Outcome,
    solver: SolverKind,
    options: &SolveOptions,
) -> Solution {
    Analytic::new(space.app).finish(space, problem, outcome, solver, options)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Random small applications for property tests.
    use proptest::prelude::*;

    use crate::accuracy::{EasDefinition, Normalization};
    use crate::bundle::{
        AccuracySpec, Application, Bundle, ColdStart, Function, MemoryOptions, Provenance,
        ProvisionedConcurrency, RawAccuracy, SCHEMA_V1, Variant, WorkflowSpec, Workload,
    };
    use crate::model::{CpuShareModel, DurationModel, ExpModel, MeasuredTable, TablePoint};
    use crate::pricing::{Architecture, InitBilling, PackageType, Pricing, StepFunctionsPricing};
    use crate::workflow::{Delays, Edge};

    /// A variant's duration model in one of the families, from the drawn numbers: the exponential
    /// `(a, b, g)`, a CPU-share model of similar magnitude (knee 712–2,512 MB, a multi-thread share
    /// for some), or a table of the exponential at four memories with a rise in it (evaluated
    /// through its non-increasing envelope).
    fn model(family: u8, a: f64, b: f64, g: f64, acc: f64) -> DurationModel {
        let exp = ExpModel {
            alpha_ms: a,
            beta_ms: b,
            gamma_per_mb: g,
        };
        match family {
            0 => DurationModel::Exponential(exp),
            1 => DurationModel::CpuShare(
                CpuShareModel::new(a - 100.0, b / 4.0, 512.0 + g * 400_000.0)
                    .with_parallel_fraction(if acc > 0.5 { acc - 0.5 } else { 0.0 }),
            ),
            _ => {
                let at = |m: f64, f: f64| TablePoint::new(m, exp.duration_ms(m) * f);
                let points = vec![
                    at(256.0, 1.0),
                    at(1024.0, 1.1),
                    at(2048.0, 1.0),
                    at(4096.0, 1.0),
                ];
                DurationModel::Table(MeasuredTable::new(points).expect("a valid table"))
            }
        }
    }

    /// Up to 4 functions in one of a few shapes (chains, loops, parallel blocks, branches, and
    /// parallel blocks whose arms hold a branch or a loop), 1–3 variants of 2–4 memory sizes each,
    /// each variant's model drawn from every family, cold starts on about half of the variants,
    /// and random pricing: x86_64 or arm64, 1 ms or 100 ms billing, no Step Functions charge,
    /// Standard or Express, INIT billed always or for images only (every other function an
    /// image), provisioned concurrency on one function in about half of the applications.
    pub fn app() -> impl Strategy<Value = Application> {
        let variant = (
            100.0f64..3000.0,
            500.0f64..20000.0,
            0.0005f64..0.005,
            0.0f64..1.0,
            // Cold starts on about half of the variants.
            (0.0f64..0.6, 0.0f64..3000.0),
            0u8..3,
        );
        let function = (
            prop::collection::vec(variant, 1..4),
            prop::collection::btree_set(1u32..40, 2..5),
        );
        // Pricing: architecture, billing granularity, Step Functions (none, Standard, Express),
        // INIT billing rule, and which function (if any) has provisioned concurrency.
        let pricing = (
            any::<bool>(),
            any::<bool>(),
            0usize..3,
            any::<bool>(),
            0usize..8,
        );
        (
            prop::collection::vec(function, 2..5),
            0usize..6,
            0.05f64..0.9,
            0usize..3,
            pricing,
        )
            .prop_map(|(fs, shape, p, score, (arm, g100, sfn, images_only, pc))| {
                let ids: Vec<String> = (0..fs.len()).map(|i| format!("f{i}")).collect();
                let functions = fs
                    .iter()
                    .enumerate()
                    .map(|(i, (vs, mems))| Function {
                        id: ids[i].clone(),
                        resource: None,
                        memory: MemoryOptions::List(mems.iter().map(|m| m * 128).collect()),
                        variants: vs
                            .iter()
                            .enumerate()
                            .map(|(j, &(a, b, g, acc, (cold, init), family))| Variant {
                                name: format!("v{j}"),
                                accuracy: Some(RawAccuracy {
                                    value: acc,
                                    metric: None,
                                }),
                                model: model(family, a, b, g, acc),
                                fit: None,
                                samples: vec![],
                                payloads: vec![],
                                select: None,
                                cold_start: (cold > 0.3).then_some(ColdStart {
                                    probability: cold - 0.3,
                                    init_ms: init,
                                    observed: None,
                                }),
                            })
                            .collect(),
                        package: (i % 2 == 1).then_some(PackageType::Image),
                        provisioned_concurrency: (i == pc)
                            .then_some(ProvisionedConcurrency { instances: 2 }),
                        state_machine: None,
                    })
                    .collect();
                let n = ids.len();
                let mut edges = vec![Edge::new("Start", &ids[0], 1.0)];
                match shape {
                    // chain with a self-loop on the last function
                    0 => {
                        for w in ids.windows(2) {
                            edges.push(Edge::new(&w[0], &w[1], 1.0));
                        }
                        edges.push(Edge::new(&ids[n - 1], &ids[n - 1], p));
                        edges.push(Edge::new(&ids[n - 1], "End", 1.0 - p));
                    }
                    // f0 fans out in parallel to the rest, which join at End
                    1 => {
                        for id in &ids[1..] {
                            edges.push(Edge::new(&ids[0], id, 1.0));
                            edges.push(Edge::new(id, "End", 1.0));
                        }
                    }
                    // f0 branches to the rest
                    2 => {
                        let k = (n - 1) as f64;
                        for (i, id) in ids[1..].iter().enumerate() {
                            let q = if i + 1 == n - 1 {
                                1.0 - (k - 1.0) * (1.0 / k)
                            } else {
                                1.0 / k
                            };
                            let q = if n == 2 { 1.0 } else { q };
                            edges.push(Edge::new(&ids[0], id, q));
                            edges.push(Edge::new(id, "End", 1.0));
                        }
                    }
                    // f0 fans out to f1 and f_last; f1's arm branches (to f2 or straight to the
                    // join), f_last loops on itself
                    4 if n >= 3 => {
                        edges.push(Edge::new(&ids[0], &ids[1], 1.0));
                        edges.push(Edge::new(&ids[0], &ids[n - 1], 1.0));
                        if n >= 4 {
                            edges.push(Edge::new(&ids[1], &ids[2], p));
                            edges.push(Edge::new(&ids[1], "End", 1.0 - p));
                            edges.push(Edge::new(&ids[2], "End", 1.0));
                        } else {
                            edges.push(Edge::new(&ids[1], "End", 1.0));
                        }
                        edges.push(Edge::new(&ids[n - 1], &ids[n - 1], 1.0 - p));
                        edges.push(Edge::new(&ids[n - 1], "End", p));
                    }
                    // f0 fans out to a cycle f1 → f2 → (f1 | join) and to f_last
                    5 if n >= 4 => {
                        edges.push(Edge::new(&ids[0], &ids[1], 1.0));
                        edges.push(Edge::new(&ids[0], &ids[n - 1], 1.0));
                        edges.push(Edge::new(&ids[1], &ids[2], 1.0));
                        edges.push(Edge::new(&ids[2], &ids[1], p));
                        edges.push(Edge::new(&ids[2], "End", 1.0 - p));
                        edges.push(Edge::new(&ids[n - 1], "End", 1.0));
                    }
                    // chain with a cycle back to the start
                    _ => {
                        for w in ids.windows(2) {
                            edges.push(Edge::new(&w[0], &w[1], 1.0));
                        }
                        edges.push(Edge::new(&ids[n - 1], &ids[0], p));
                        edges.push(Edge::new(&ids[n - 1], "End", 1.0 - p));
                    }
                }
                let score = match score {
                    0 => EasDefinition::WeightedSum {
                        weights: ids.iter().map(|i| (i.clone(), 1.0)).collect(),
                    },
                    1 => EasDefinition::Min {
                        functions: ids.clone(),
                    },
                    _ => EasDefinition::Formula {
                        expression: format!("2*A({}) + A({})^0.5", ids[0], ids[n - 1]),
                    },
                };
                Bundle {
                    schema: SCHEMA_V1.to_string(),
                    name: None,
                    description: None,
                    provenance: Provenance {
                        tool: "test".into(),
                        tool_version: "0".into(),
                        created_at: None,
                        region: None,
                        source: None,
                    },
                    pricing: Pricing {
                        billing_granularity_ms: if g100 { 100.0 } else { 1.0 },
                        step_functions: match sfn {
                            0 => None,
                            1 => Some(StepFunctionsPricing::standard()),
                            _ => Some(StepFunctionsPricing::express()),
                        },
                        init_billing: if images_only {
                            InitBilling::ContainerImagesOnly
                        } else {
                            InitBilling::Always
                        },
                        ..Pricing::aws(if arm {
                            Architecture::Arm64
                        } else {
                            Architecture::X86_64
                        })
                    },
                    functions,
                    workflow: WorkflowSpec {
                        edges,
                        orchestration: Delays::default(),
                        states: Vec::new(),
                        maps: Vec::new(),
                        sites: Vec::new(),
                        latency_model: None,
                    },
                    accuracy: Some(AccuracySpec {
                        normalization: Normalization::MinMax,
                        score,
                    }),
                    deployed: Default::default(),
                    workload: Some(Workload {
                        executions_per_month: 1_000_000.0,
                    }),
                }
                .validate()
                .unwrap()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bundle;
    use proptest::prelude::*;

    fn app3() -> Application {
        Bundle::from_json(include_str!("../../../examples/app3.bundle.json"))
            .unwrap()
            .validate()
            .unwrap()
    }

    fn problems(app: &Application) -> Vec<Problem> {
        let space = SearchSpace::full(app);
        let mut lat = (f64::INFINITY, 0.0f64);
        let mut cost = (f64::INFINITY, 0.0f64);
        let mut acc = (f64::INFINITY, 0.0f64);
        brute::for_each(&space, |_, m| {
            lat = (lat.0.min(m.latency_ms), lat.1.max(m.latency_ms));
            cost = (
                cost.0.min(m.cost_usd_per_million),
                cost.1.max(m.cost_usd_per_million),
            );
            acc = (acc.0.min(m.accuracy), acc.1.max(m.accuracy));
        });
        let at = |r: (f64, f64), i: usize| r.0 + (r.1 - r.0) * i as f64 / 4.0;
        let mut out = Vec::new();
        for i in 0..5 {
            for j in 0..5 {
                out.push(Problem {
                    objective: Objective::Latency,
                    constraints: Constraints {
                        max_cost_usd_per_million: Some(at(cost, i)),
                        min_accuracy: Some(at(acc, j)),
                        ..Default::default()
                    },
                });
                out.push(Problem {
                    objective: Objective::Cost,
                    constraints: Constraints {
                        max_latency_ms: Some(at(lat, i)),
                        min_accuracy: Some(at(acc, j)),
                        ..Default::default()
                    },
                });
                out.push(Problem {
                    objective: Objective::Accuracy,
                    constraints: Constraints {
                        max_latency_ms: Some(at(lat, i)),
                        max_cost_usd_per_million: Some(at(cost, j)),
                        ..Default::default()
                    },
                });
            }
        }
        out
    }

    fn same_answer(app: &Application, p: &Problem) {
        let full = SearchSpace::full(app);
        let brute = brute::solve(&full, p);
        let exact = exact::solve(&full.pruned(), p, u64::MAX);
        assert!(exact.proven);
        match (&brute.best, &exact.best) {
            (None, None) => {}
            (Some((_, b)), Some((pick, e))) => {
                let v = |m: &Metrics| p.value(m);
                assert!(
                    (v(b) - v(e)).abs() <= 1e-9 * v(b).abs().max(1.0),
                    "{p:?}: brute {b:?} exact {e:?}"
                );
                // The exact answer re-evaluates to itself and meets the constraints.
                let again = full.pruned().evaluate(pick);
                assert_eq!(&again, e);
                assert!(p.constraints.admits(&again));
            }
            (b, e) => panic!("{p:?}: brute {b:?} vs exact {e:?}"),
        }
    }

    #[test]
    fn exact_finds_what_greedy_found() {
        let app = app3();
        let p = Problem {
            objective: Objective::Cost,
            constraints: Constraints {
                max_latency_ms: Some(18143.618035339852),
                min_accuracy: Some(2.0),
                ..Default::default()
            },
        };
        same_answer(&app, &p);
    }

    #[test]
    fn exact_equals_brute_force_on_app3() {
        let app = app3();
        for p in problems(&app) {
            same_answer(&app, &p);
        }
    }

    #[test]
    fn infeasible_problems_say_which_constraint_and_how_far() {
        let app = app3();
        // Accuracy 3 needs ResNet-101 and YOLOv10l; a budget of $1 per million cannot pay for them.
        let p = Problem {
            objective: Objective::Latency,
            constraints: Constraints {
                max_cost_usd_per_million: Some(1.0),
                min_accuracy: Some(3.0),
                ..Default::default()
            },
        };
        let s = solve(&app, &p, &SolveOptions::default()).unwrap();
        assert_eq!(s.status, Status::Infeasible);
        assert!(s.config.is_none());
        let why = s.infeasible.unwrap();
        assert_eq!(why.constraint, ConstraintKind::MaxCostUsdPerMillion);
        // The cheapest configuration with accuracy 3, by brute force.
        let full = SearchSpace::full(&app);
        let cheapest = brute::solve(
            &full,
            &Problem {
                objective: Objective::Cost,
                constraints: Constraints {
                    min_accuracy: Some(3.0),
                    ..Default::default()
                },
            },
        );
        let (_, m) = cheapest.best.unwrap();
        assert!((why.best_reachable.unwrap() - m.cost_usd_per_million).abs() < 1e-9);
        assert!(why.message.starts_with("max_cost_usd_per_million = 1 USD per million executions cannot be met: the lowest cost reachable while the other constraints hold is "), "{}", why.message);
    }

    #[test]
    fn pruning_keeps_only_non_dominated_options() {
        let app = app3();
        let full = SearchSpace::full(&app);
        let pruned = full.pruned();
        for (all, kept) in full.options.iter().zip(&pruned.options) {
            assert!(kept.len() <= all.len() && !kept.is_empty());
            for o in all {
                assert!(kept.iter().any(|k| k.weakly_dominates(o)));
            }
            for (i, a) in kept.iter().enumerate() {
                for (j, b) in kept.iter().enumerate() {
                    assert!(i == j || !a.weakly_dominates(b), "{a:?} dominates {b:?}");
                }
            }
        }
    }

    /// The front by brute force: every configuration, then a quadratic filter. Figures that
    /// differ only by rounding (relative 1e-12: sums of the same terms in another order) are
    /// equal, as they are for the front's own dominance test.
    fn brute_front(app: &Application) -> Vec<(f64, f64, f64)> {
        let full = SearchSpace::full(app);
        let mut all = Vec::new();
        brute::for_each(&full, |_, m| {
            all.push((m.latency_ms, m.cost_usd_per_million, m.accuracy));
        });
        undominated(&all)
    }

    /// The points no other point dominates, sorted, where figures equal up to rounding are
    /// equal. Costs summed in another order differ in the last digits, so either of two such
    /// points may be kept by the front: both sides are compared after this filter.
    fn undominated(all: &[(f64, f64, f64)]) -> Vec<(f64, f64, f64)> {
        let slack = |x: f64| 1e-12 * x.abs().max(1.0);
        let le = |x: f64, y: f64| x <= y + slack(y);
        let lt = |x: f64, y: f64| x < y - slack(y);
        let dominated = |b: &(f64, f64, f64)| {
            all.iter().any(|a| {
                le(a.0, b.0)
                    && le(a.1, b.1)
                    && le(b.2, a.2)
                    && (lt(a.0, b.0) || lt(a.1, b.1) || lt(b.2, a.2))
            })
        };
        let mut front: Vec<(f64, f64, f64)> =
            all.iter().copied().filter(|m| !dominated(m)).collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        front.dedup();
        front
    }

    fn same_front(app: &Application) {
        same_front_with(app, true);
        same_front_with(app, false);
    }

    fn same_front_with(app: &Application, units: bool) {
        let (points, _) =
            pareto::front_with(&SearchSpace::full(app).pruned(), u64::MAX, units).unwrap();
        let got: Vec<(f64, f64, f64)> = points
            .iter()
            .map(|p| (p.latency_ms, p.cost_usd_per_million, p.accuracy))
            .collect();
        let got = undominated(&got);
        let want = brute_front(app);
        assert_eq!(got.len(), want.len(), "{got:?}\nvs\n{want:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9 && (g.2 - w.2).abs() < 1e-12
            );
        }
    }

    #[test]
    fn pareto_front_equals_brute_force_on_app3() {
        same_front(&app3());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn exact_is_never_worse_than_greedy_and_every_answer_meets_its_constraints(app in testing::app()) {
            let full = SearchSpace::full(&app);
            let pruned = full.pruned();
            for p in problems(&app) {
                let e = exact::solve(&pruned, &p, u64::MAX);
                let g = greedy::solve(&full, &p, &SolveOptions::default().greedy);
                prop_assert!(!g.proven);
                if let Some((pick, m)) = &g.best {
                    let again = full.evaluate(pick);
                    prop_assert!(p.constraints.admits(&again), "greedy broke {:?}: {:?}", p, again);
                    prop_assert_eq!(&again, m);
                    let (_, em) = e.best.as_ref().expect("greedy found a configuration, so exact must");
                    let (ev, gv) = (p.value(em), p.value(m));
                    match p.objective {
                        Objective::Accuracy => prop_assert!(ev >= gv - 1e-12, "{:?}: exact {} < greedy {}", p, ev, gv),
                        _ => prop_assert!(ev <= gv + 1e-9 * gv.abs().max(1.0), "{:?}: exact {} > greedy {}", p, ev, gv),
                    }
                }
                if let Some((pick, m)) = &e.best {
                    prop_assert!(p.constraints.admits(&pruned.evaluate(pick)));
                    prop_assert!(p.constraints.admits(m));
                }
            }
        }

        #[test]
        fn pareto_front_equals_brute_force_on_random_workflows(app in testing::app()) {
            same_front(&app);
        }

        #[test]
        fn exact_equals_brute_force_on_random_workflows(app in testing::app()) {
            for p in problems(&app) {
                same_answer(&app, &p);
            }
        }
    }
}
