//! Command-line arguments.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use optiserve_core::bundle::Application;
use optiserve_core::model::ModelChoice;
use optiserve_core::optimize::request::{BcrRule, DEFAULT_BCR_THRESHOLD, check_non_negative};
use optiserve_core::optimize::synthetic::SyntheticScore;
use optiserve_core::optimize::{Named, Objective, SolverKind};
use optiserve_core::simulate::DurationSource;
use optiserve_core::workflow::LatencyModel;

/// Plan AWS Lambda memory sizes and ML model variants for a Step Functions workflow, from a JSON
/// profile bundle: predicted end-to-end latency (EET), cost per million executions and accuracy
/// score (EAS), as the OptiServe thesis defines them.
///
/// Exit codes: 0 success; 1 invalid input (the message names the JSON path or line);
/// 2 no configuration meets the constraints; 3 a file could not be read or written; 4 the cloud
/// refused or failed; 64 a wrong command line; 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "optiserve", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a profile bundle and show its reduced workflow structure.
    Validate(ValidateArgs),
    /// Predict latency, cost and accuracy of a configuration (the deployed one by default).
    Evaluate(EvaluateArgs),
    /// Find the fastest, cheapest or most accurate configuration within the constraints.
    Optimize(OptimizeArgs),
    /// Optimize at every point of a grid of constraint values (what-if analysis).
    #[command(name = "whatif")]
    WhatIf(WhatIfArgs),
    /// The exact latency–cost–accuracy Pareto front, each point with its configuration.
    Pareto(ParetoArgs),
    /// Score the exact and greedy solvers on the thesis' evaluation protocol: per objective a
    /// grid × grid set of constraint pairs spanning the grid's true extremes, each answer compared
    /// with the optimum (brute force on grids up to 2 million configurations, else exact).
    Harness(HarnessArgs),
    /// Simulate workflow executions: latency distribution (p50–p99), mean cost, and the analytic
    /// model's bias against the simulated mean.
    Simulate(SimulateArgs),
    /// Fit a duration model ET(m) to profiled samples, choosing its family by cross-validation.
    ///
    /// Every family is fitted to the samples (CSV `memory_mb,duration_ms` or JSON): the thesis'
    /// α + β·e^(−γ·m), Lambda's CPU share serial + cpu·1769/min(m, knee), the measured table; the
    /// one with the lowest leave-one-memory-out error wins, and every family's errors are shown.
    Fit(FitArgs),
    /// Convert another tool's format into a profile bundle.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Step Functions: import a state machine, measure it from execution histories.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Print the JSON Schema of the profile bundle.
    Schema(SchemaArgs),
    /// Generate a synthetic application of any size (seeded): the shapes of the thesis' App1–App6
    /// and the paper's App16 — parallel blocks (some arms branching), branches, self-loops and
    /// cycles —, a third of the functions ML models with three variants, 16–19 memory sizes each.
    /// For benchmarks and `harness`.
    Generate(GenerateArgs),
    /// Profile Lambda functions (on AWS, an emulator, or the simulated cloud) following a plan,
    /// fit their models and write a profile bundle. Every function's original configuration is
    /// restored on success, on error and on Ctrl-C.
    ///
    /// Prices: the plan's `region` (else the region the run resolves; us-east-1 on the simulated
    /// cloud) selects Lambda's x86_64/arm64 price per GB-second and request fee, and with
    /// `[pricing] step_functions = "standard"|"express"` the Step Functions prices, from the
    /// built-in table of every public AWS region (sources and dates in core/src/regions.rs). A
    /// figure the table cannot source is an error naming the `[pricing]` key to give
    /// (price_per_gb_second, price_per_request, price_per_transition, express_price_per_request,
    /// express_price_per_gb_second); those keys also replace the table's figures.
    ///
    /// Weighted payloads: a function's `payloads = [{name, weight, payload | payload_file}, …]`
    /// measures every memory in rounds of one invocation per payload and fits the model to the
    /// rounds' weighted mean durations; the bundle keeps each payload's samples.
    Profile(ProfileArgs),
    /// Apply a configuration to the deployed functions: a diff per function, then update, wait and
    /// verify; optionally publish versions and move an alias. A variant selected by payload fields
    /// is switched in the Task states the function's `state_machine` names (UpdateStateMachine,
    /// waited for and verified); a failed update puts back everything already changed.
    Apply(ApplyArgs),
    /// Check a configuration against service-level objectives; exits 2 when one is missed.
    Check(CheckArgs),
    /// Put back the original configuration (memory and environment) of every function a profiling
    /// run changed, from that run's checkpoint: for a run that was killed before it could.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The run's checkpoint (by default the profile's output path + `.checkpoint.json`).
    pub checkpoint: PathBuf,
    #[command(flatten)]
    pub cloud: CloudArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Where the Lambda functions are (AWS through the default credential chain, or an emulator).
#[derive(Debug, Args, Clone)]
pub struct CloudArgs {
    /// AWS region (else AWS_REGION or the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// Named profile from the shared AWS config and credentials files.
    #[arg(long)]
    pub profile: Option<String>,
    /// Another endpoint, e.g. a local emulator (`http://127.0.0.1:5000`).
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The plan (TOML): functions, payloads, memory sizes, variants, budget; see
    /// examples/app3.plan.toml.
    #[arg(long)]
    pub plan: PathBuf,
    /// Where to write the profile bundle.
    #[arg(short, long, required_unless_present = "dry_run")]
    pub output: Option<PathBuf>,
    /// Run against the built-in simulated cloud (the plan's `simulate` curves) instead of AWS.
    #[arg(long)]
    pub simulate: bool,
    /// Seed of the simulated cloud (overrides the plan's `simulate.seed`).
    #[arg(long, requires = "simulate")]
    pub seed: Option<u64>,
    /// Print the planned invocations and an estimate of the profiling cost; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Continue an interrupted run from its checkpoint file.
    #[arg(long, value_name = "CHECKPOINT")]
    pub resume: Option<PathBuf>,
    /// Where to write the checkpoint (default: the output path + `.checkpoint.json`, or the
    /// `--resume` file).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Start afresh even though a checkpoint of an earlier run is where this run's checkpoint
    /// goes (it is replaced; run `optiserve restore` with it first if that run did not finish).
    #[arg(long, conflicts_with = "resume")]
    pub discard_checkpoint: bool,
    /// Take the workflow (and accuracy score) from this bundle instead of the plan.
    #[arg(long)]
    pub workflow_from: Option<PathBuf>,
    /// The model family fitted to every variant (overrides the plan's `[sampler] model`): `auto`
    /// (default) keeps the family with the lowest leave-one-memory-out error.
    #[arg(long, value_parser = model_choice())]
    pub model: Option<ModelChoice>,
    #[command(flatten)]
    pub cloud: CloudArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The profile bundle (JSON); each function's `resource` names the Lambda function.
    pub bundle: PathBuf,
    /// The configuration (as for `evaluate`); only the functions it names are changed.
    #[arg(long)]
    pub config: PathBuf,
    /// Show the diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Publish a version of each changed function and point this alias at it.
    #[arg(long)]
    pub alias: Option<String>,
    #[command(flatten)]
    pub cloud: CloudArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The profile bundle (JSON).
    pub bundle: PathBuf,
    /// The configuration (as for `evaluate`); the deployed one by default.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub constraints: ConstraintArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// The latency model option shared by every command that predicts a latency.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ModelArgs {
    /// How durations compose into the expected latency: `branch-aware` (a parallel block takes the
    /// expected maximum over the outcomes of the branches and loops in its arms) or `thesis` (the
    /// maximum of the arms' expected latencies, which reproduces the thesis and its artifact). The
    /// bundle's `workflow.latency_model` when left out (default branch-aware).
    #[arg(long, value_name = "MODEL", value_parser = latency_model_parser())]
    pub latency_model: Option<LatencyModel>,
}

impl ModelArgs {
    /// Applies the choice to an application.
    pub fn apply(&self, app: &mut Application) {
        if let Some(m) = self.latency_model {
            app.latency_model = m;
        }
    }
}

fn latency_model_parser() -> impl TypedValueParser<Value = LatencyModel> {
    PossibleValuesParser::new(LatencyModel::ALL.map(LatencyModel::flag_name))
        .try_map(|s: String| LatencyModel::from_name(&s).ok_or("unknown latency model"))
}

fn synthetic_score_parser() -> impl TypedValueParser<Value = SyntheticScore> {
    PossibleValuesParser::new(SyntheticScore::ALL.map(SyntheticScore::flag_name)).try_map(
        |s: String| {
            SyntheticScore::ALL
                .into_iter()
                .find(|x| x.flag_name() == s)
                .ok_or("unknown score")
        },
    )
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for people.
    #[default]
    Human,
    /// JSON for machines.
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The profile bundle (JSON).
    pub bundle: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The profile bundle (JSON).
    pub bundle: PathBuf,
    /// A configuration: `{"<function id>": {"memory_mb": 1024, "variant": "resnet-50"}}`.
    /// Functions left out keep their deployed choice; `variant` may be left out too. The `config`
    /// object printed by `optiserve optimize` (or a whole `evaluate --format json` output) is accepted.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Samples: CSV with the header `memory_mb,duration_ms` (one row per invocation), or JSON:
    /// `[{"memory_mb": 128, "duration_ms": 2898.2}, ...]` or `{"128": 2898.2, ...}`.
    pub samples: PathBuf,
    /// The model family: `auto` fits every family and keeps the one with the lowest
    /// leave-one-memory-out error (each memory predicted by the family fitted to the other
    /// memories; needs 4 memories, else the exponential); the others force one (every family is
    /// still reported). See docs/models.md.
    #[arg(long, default_value = "auto", value_parser = model_choice())]
    pub model: ModelChoice,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// The thesis artifact's workflow spec (the format of its examples/workflow_app3.json).
    OptiserveSpec(ImportSpecArgs),
}

#[derive(Debug, Args)]
pub struct ImportSpecArgs {
    /// The spec (JSON).
    pub spec: PathBuf,
    /// Where to write the bundle (`-` for standard output).
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write to a file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of functions.
    #[arg(long)]
    pub functions: usize,
    /// Seed (the same seed gives the same bundle).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The accuracy score over the ML functions.
    #[arg(long, value_name = "SCORE", default_value = "weighted-sum", value_parser = synthetic_score_parser())]
    pub score: SyntheticScore,
    /// Step Functions Express pricing (default Standard).
    #[arg(long)]
    pub express: bool,
    /// Where to write the bundle (`-` for standard output).
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
}

/// The constraints; each may be left out.
#[derive(Debug, Args, Clone, Copy)]
pub struct ConstraintArgs {
    /// Expected end-to-end latency at most this many ms.
    #[arg(long)]
    pub max_latency_ms: Option<f64>,
    /// Cost at most this many USD per million executions.
    #[arg(long)]
    pub max_cost_usd_per_million: Option<f64>,
    /// Accuracy score at least this.
    #[arg(long)]
    pub min_accuracy: Option<f64>,
    /// 95th percentile of end-to-end latency at most this many ms, over sampled executions
    /// (see --scenarios); the answer is re-simulated to certify it.
    #[arg(long)]
    pub max_p95_latency_ms: Option<f64>,
    /// 99th percentile of end-to-end latency at most this many ms (as --max-p95-latency-ms).
    #[arg(long)]
    pub max_p99_latency_ms: Option<f64>,
}

/// Settings of the tail-latency problems (p95/p99 objectives and limits).
#[derive(Debug, Args, Clone, Copy)]
pub struct TailArgs {
    /// Executions sampled once and shared by every configuration (common random numbers); the
    /// answer is optimal for them.
    #[arg(long, default_value_t = optiserve_core::optimize::tail::DEFAULT_SCENARIOS)]
    pub scenarios: usize,
    /// Seed of the scenarios (random when left out; the report says which was used).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Executions of the certification run (an independent re-simulation of the answer; 0 skips it).
    #[arg(long, default_value_t = optiserve_core::optimize::tail::DEFAULT_CERTIFY_RUNS)]
    pub certify_runs: usize,
    /// Where sampled durations come from.
    #[arg(long, value_parser = named::<DurationSource>(), default_value = "samples")]
    pub durations: DurationSource,
}

/// Solver settings shared by optimize and whatif.
#[derive(Debug, Args, Clone, Copy)]
pub struct SolverArgs {
    /// Which solver.
    #[arg(long, value_parser = named::<SolverKind>(), default_value = "exact")]
    pub solver: SolverKind,
    /// Search-node budget of the exact solver; past it the best configuration found is returned
    /// with status `feasible`.
    #[arg(long, default_value_t = 50_000_000)]
    pub node_limit: u64,
    /// Greedy: benefit-cost rule for memory moves.
    #[arg(long, value_parser = named::<BcrRule>(), default_value = "max")]
    pub bcr: BcrRule,
    /// Greedy: BCR_th of the slope rule.
    #[arg(long, default_value_t = DEFAULT_BCR_THRESHOLD, value_parser = finite_non_negative)]
    pub bcr_threshold: f64,
    /// Greedy: weight w of the accuracy shortfall in Algorithm 1.
    #[arg(long, default_value_t = 100.0, value_parser = finite_non_negative)]
    pub accuracy_weight: f64,
    /// Greedy: the thesis' heuristics alone, without the polish phase that follows them.
    #[arg(long)]
    pub greedy_faithful: bool,
}

#[derive(Debug, Args)]
pub struct OptimizeArgs {
    /// The profile bundle (JSON).
    pub bundle: PathBuf,
    /// What to optimize.
    #[arg(long, value_parser = named::<Objective>())]
    pub objective: Objective,
    #[command(flatten)]
    pub constraints: ConstraintArgs,
    #[command(flatten)]
    pub solver: SolverArgs,
    #[command(flatten)]
    pub tail: TailArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum TableFormat {
    /// Aligned text.
    #[default]
    Table,
    /// JSON (every point with its configuration).
    Json,
    /// CSV, one row per point.
    Csv,
}

#[derive(Debug, Args)]
pub struct WhatIfArgs {
    /// The profile bundle (JSON).
    pub bundle: PathBuf,
    /// What to optimize at each point.
    #[arg(long, value_parser = named::<Objective>())]
    pub objective: Objective,
    /// A constraint to sweep: `NAME=FROM:TO:STEPS` with NAME one of max-latency-ms,
    /// max-cost-usd-per-million, min-accuracy, max-p95-latency-ms, max-p99-latency-ms (e.g.
    /// `max-cost-usd-per-million=100:900:10`).
    /// Give it once or twice; the first varies slowest.
    #[arg(long, value_name = "NAME=FROM:TO:STEPS", required = true)]
    pub vary: Vec<String>,
    /// A constraint held at one value: `NAME=X`.
    #[arg(long, value_name = "NAME=X")]
    pub fixed: Vec<String>,
    #[command(flatten)]
    pub solver: SolverArgs,
    #[command(flatten)]
    pub tail: TailArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum DataFormat {
    /// Aligned text.
    #[default]
    Table,
    /// JSON (every point with its configuration).
    Json,
    /// CSV, one row per point.
    Csv,
}

#[derive(Debug, Args)]
pub struct ParetoArgs {
    /// The profile bundle (JSON).
    pub bundle: PathBuf,
    /// Search-node budget; past it the command fails rather than print a partial front.
    #[arg(long, default_value_t = 2_000_000)]
    pub node_limit: u64,
    #[arg(long, value_enum, default_value_t)]
    pub format: DataFormat,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct HarnessArgs {
    /// The profile bundle (JSON); or --bundle-size.
    #[arg(required_unless_present = "bundle_size")]
    pub bundle: Option<PathBuf>,
    /// Run the protocol on a generated workflow of this many functions instead of a bundle (the
    /// generator of `optiserve generate`, weighted-sum score, Standard pricing). Past brute
    /// force's reach the answers are scored against the exact search's certified bounds.
    #[arg(long, conflicts_with = "bundle", value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub bundle_size: Option<u32>,
    /// The generator's seed (with --bundle-size).
    #[arg(long, default_value_t = 1, requires = "bundle_size")]
    pub bundle_seed: u64,
    /// Score the exact solver only (the greedy heuristics' polish takes seconds a problem on
    /// workflows with thousands of paths).
    #[arg(long)]
    pub no_greedy: bool,
    /// Constraint values per axis (the thesis protocol uses 10: 300 problems).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub grid: u16,
    #[command(flatten)]
    pub solver: SolverArgs,
    /// `human`: the summary per objective and solver; `json`: the summary and every problem
    /// (limits, optimum, each solver's answer, bound, gap and time); `csv`: one line per problem.
    #[arg(long, value_enum, default_value_t)]
    pub format: HarnessFormat,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum HarnessFormat {
    /// Aligned text for people.
    #[default]
    Human,
    /// JSON for machines, with every problem.
    Json,
    /// One CSV line per problem.
    Csv,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The profile bundle (JSON).
    pub bundle: PathBuf,
    /// A configuration (as for `evaluate`); the deployed one by default.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Executions to simulate.
    #[arg(long, default_value_t = 100_000)]
    pub runs: usize,
    /// Seed of the generator (random when left out; the report says which was used).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where durations come from.
    #[arg(long, value_parser = named::<DurationSource>(), default_value = "samples")]
    pub durations: DurationSource,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Import a Step Functions state machine definition (Amazon States Language) as the workflow
    /// of a bundle. Task states that invoke Lambda become functions (named by the Lambda function),
    /// Choice states branches (probabilities uniform and marked assumed until `measure`), Parallel
    /// states parallel blocks, Map states a fan-out over an expected item count; Retry and Catch
    /// are reported and left out of the model.
    ImportAsl(ImportAslArgs),
    /// Measure a bundle's workflow from saved execution histories (GetExecutionHistory JSON):
    /// branch probabilities and loop counts (written as measured, with their counts), the
    /// orchestration delays per state and per transition, and the measured latency against the
    /// model's prediction. With `--state-machine` the histories come from the state machine itself:
    /// new executions (`--executions N`) or the last finished ones (`--from-history N`).
    Measure(MeasureArgs),
    /// Run executions of a state machine (after warm-up runs) and compare their measured mean
    /// end-to-end latency and cost with the bundle's prediction.
    Validate(WorkflowValidateArgs),
}

/// Where the state machine runs: the simulated Step Functions (`--simulate`) or AWS.
#[derive(Debug, Args, Clone)]
pub struct SfnBackendArgs {
    /// Use the simulated Step Functions (and Lambda) described by this truth file (TOML; see
    /// examples/media-pipeline.sim.toml) instead of AWS.
    #[arg(long, value_name = "TRUTH.toml")]
    pub simulate: Option<PathBuf>,
    /// Seed of the simulated Step Functions (overrides the truth file's `seed`): give `validate`
    /// another seed than `measure` so that it sees other executions.
    #[arg(long, requires = "simulate")]
    pub seed: Option<u64>,
    /// Give up waiting for the executions started after this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub execution_timeout: u64,
    #[command(flatten)]
    pub cloud: CloudArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SfnTypeArg {
    /// Standard workflows: $0.025 per 1,000 state transitions.
    Standard,
    /// Express workflows: $1.00 per million requests plus $0.06 per GB-hour (64 MB billed).
    Express,
}

#[derive(Debug, Args)]
pub struct ImportAslArgs {
    /// The state machine definition (JSON, as `aws stepfunctions describe-state-machine` returns
    /// in `definition`, or the file you deploy).
    #[arg(
        required_unless_present = "state_machine",
        conflicts_with = "state_machine"
    )]
    pub definition: Option<PathBuf>,
    /// Read the definition of this deployed state machine (ARN) through DescribeStateMachine.
    #[arg(long, value_name = "ARN")]
    pub state_machine: Option<String>,
    #[command(flatten)]
    pub backend: SfnBackendArgs,
    /// A profiled bundle to take the functions' profiles, pricing, accuracy score and deployed
    /// configuration from (functions are matched by the Lambda function name). Without it the
    /// output is a skeleton whose functions still need profiles; `validate` says so.
    #[arg(long)]
    pub functions_from: Option<PathBuf>,
    /// Expected items of a Map state: `STATE=N` (default 10 each, assumed). STATE must be a Map
    /// state of the definition.
    #[arg(long, value_name = "STATE=N")]
    pub map_items: Vec<String>,
    /// The definition of the child state machine a nested execution runs
    /// (`states:startExecution.sync`): `STATE=FILE` (the Task state's name) or `ARN=FILE`. The
    /// child's workflow is imported in the Task's place. With `--state-machine`, children given
    /// by a literal ARN are read through DescribeStateMachine unless given here; without either,
    /// a nested execution is a timed state.
    #[arg(long, value_name = "STATE=FILE")]
    pub nested: Vec<String>,
    /// Workflow type for the Step Functions charge (default: the functions bundle's, else standard).
    #[arg(long = "type", value_enum)]
    pub workflow_type: Option<SfnTypeArg>,
    /// Where to write the bundle (`-` for standard output).
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// Execution histories: a JSON file or a directory of them (each `{"events": [...]}`, a list
    /// of events, or a list of histories). With `--state-machine`: N, the number of its last
    /// finished executions to read.
    #[arg(long, value_name = "PATH|N", required_unless_present = "state_machine")]
    pub from_history: Option<String>,
    /// The deployed state machine (ARN) to measure, with `--executions` or `--from-history N`.
    #[arg(long, value_name = "ARN")]
    pub state_machine: Option<String>,
    /// Start this many executions, wait for them and measure their histories.
    #[arg(long, requires = "state_machine", conflicts_with = "from_history")]
    pub executions: Option<usize>,
    /// The input of every execution started (JSON).
    #[arg(long, default_value = "{}")]
    pub input: String,
    #[command(flatten)]
    pub backend: SfnBackendArgs,
    /// The bundle whose workflow the executions ran.
    /// Leave out the executions whose events are not a valid history (ids, previousEventId, event
    /// types, timestamps that run backwards), and say how many and why; without it, one such
    /// execution refuses the file.
    #[arg(long)]
    pub skip_invalid: bool,
    #[arg(long)]
    pub bundle: PathBuf,
    /// Where to write the bundle with the measured probabilities and delays (`-` for standard
    /// output). Without it only the report is printed.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct WorkflowValidateArgs {
    /// The deployed state machine (ARN).
    #[arg(long, value_name = "ARN")]
    pub state_machine: String,
    /// Executions measured.
    #[arg(long, default_value_t = 200)]
    pub executions: usize,
    /// Executions run first and discarded (cold starts, caches).
    #[arg(long, default_value_t = 20)]
    pub warmup: usize,
    /// The bundle whose prediction is checked (measure it first: `workflow measure`).
    #[arg(long)]
    pub bundle: PathBuf,
    /// The configuration the functions run with (as for `evaluate`); the deployed one by default.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The input of every execution (JSON).
    #[arg(long, default_value = "{}")]
    pub input: String,
    #[command(flatten)]
    pub backend: SfnBackendArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Parses `--model` into core's [`ModelChoice`] (its names are core's).
fn model_choice() -> impl TypedValueParser<Value = ModelChoice> {
    PossibleValuesParser::new(ModelChoice::NAMES)
        .map(|name| ModelChoice::from_name(&name).unwrap_or_default())
}

/// A finite number ≥ 0 (NaN, infinities and negative numbers are a wrong command line).
fn finite_non_negative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) => check_non_negative(v),
        Err(_) => Err(format!("expected a number, found '{s}'")),
    }
}

/// The values of one of core's name tables ([`Named`]): the command line offers core's
/// spellings with core's help, so objective, constraint, solver and source names have one
/// definition.
fn named<T: Named + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(
        T::ALL
            .iter()
            .map(|v| clap::builder::PossibleValue::new(v.flag_value()).help(v.help())),
    )
    .try_map(|s| T::parse(&s))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;
    use optiserve_core::optimize::ConstraintKind;

    use super::*;

    /// The constraint flags are core's names: every constraint of core's table is a flag of
    /// `optimize`, and `whatif --vary` takes the same names.
    #[test]
    fn constraint_flags_are_cores_names() {
        let cli = Cli::command();
        let optimize = cli.find_subcommand("optimize").expect("optimize");
        for kind in ConstraintKind::ALL {
            assert!(
                optimize
                    .get_arguments()
                    .any(|a| a.get_long() == Some(kind.flag_value())),
                "--{} is not a flag of optimize",
                kind.flag_value()
            );
            assert_eq!(ConstraintKind::parse(kind.flag_value()), Ok(kind));
        }
        let objective = optimize
            .get_arguments()
            .find(|a| a.get_long() == Some("objective"))
            .expect("--objective");
        let offered: Vec<String> = objective
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect();
        let core: Vec<&str> = Objective::ALL.iter().map(|o| o.flag_value()).collect();
        assert_eq!(offered, core);
    }
}
