//! The profile bundle: one JSON document (`"schema": "optiserve.bundle/v1"`) that carries
//! everything needed to plan an application, and that teams exchange.
//!
//! Reading a bundle has two stages, and both say where a problem is:
//! 1. [`Bundle::from_json`] parses: a syntax error reports the line and column, a wrong type or a
//!    missing field reports the JSON path (`$.functions[1].variants[0].model.alpha_ms`) and the line
//!    and column; a document whose `schema` is not `optiserve.bundle/v1` is refused before anything
//!    else is read.
//! 2. [`Bundle::validate`] checks the meaning (memory options, models, the workflow, the accuracy
//!    score, the deployed configuration) and compiles the [`Application`] that evaluates and
//!    optimizes; each error names the JSON path.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::accuracy::{AccuracyError, EasDefinition, EasScore, Normalization, normalize};
use crate::limits;
use crate::model::{CpuShareModel, DurationModel, ExpModel, MeasuredTable, TablePoint};
use crate::pricing::{PackageType, Pricing};
use crate::workflow::{
    Delays, Edge, LatencyModel, MapBlock, ProbabilityBasis, Site, StateNode, Workflow,
    WorkflowError,
};

/// The schema id this version reads and writes.
pub const SCHEMA_V1: &str = "optiserve.bundle/v1";
/// Smallest memory AWS Lambda allows, in MB.
pub const LAMBDA_MIN_MEMORY_MB: u32 = 128;
/// Largest memory AWS Lambda allows, in MB.
pub const LAMBDA_MAX_MEMORY_MB: u32 = 10_240;

/// A profile bundle, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "optiserve profile bundle v1")]
pub struct Bundle {
    /// Always `optiserve.bundle/v1`.
    pub schema: String,
    /// A short name for the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text about the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who made the bundle, when and from what. Never holds credentials.
    pub provenance: Provenance,
    /// Prices used for every cost.
    pub pricing: Pricing,
    /// The application's functions, each with its memory options and model variants.
    pub functions: Vec<Function>,
    /// The workflow graph over the functions.
    pub workflow: WorkflowSpec,
    /// How the end-to-end accuracy score (EAS) is computed. When absent, the score is the mean
    /// normalised accuracy of the functions that have more than one variant (1.0 when none has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<AccuracySpec>,
    /// The configuration currently deployed, per function id. A function left out is taken at its
    /// smallest memory option with its first variant.
    #[serde(default)]
    pub deployed: BTreeMap<String, Choice>,
    /// How much the application runs: needed to share a fixed monthly charge (provisioned
    /// concurrency) over its executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
}

/// How much the application runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Workflow executions per month (730 hours), > 0.
    pub executions_per_month: f64,
}

/// Where a bundle came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The tool that wrote the bundle, e.g. `optiserve`.
    pub tool: String,
    /// That tool's version.
    pub tool_version: String,
    /// When the data was produced (RFC 3339), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// AWS region the functions were profiled in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// What the data was made from (an import, a profiling run, a hand-written example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// One Lambda function of the application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Function {
    /// Id used by the workflow, the accuracy score and configurations.
    pub id: String,
    /// The Lambda function's name or ARN, if it is deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The memory sizes the planner may choose from.
    pub memory: MemoryOptions,
    /// The model variants (one for a function without an ML model).
    pub variants: Vec<Variant>,
    /// How the function is packaged (`zip` when left out); under the pricing's
    /// `init_billing: container_images_only` only images bill their INIT phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageType>,
    /// Provisioned concurrency: execution environments kept initialized at every memory the
    /// planner considers. Its invocations have no cold starts and bill their duration at the
    /// provisioned duration price; the environments bill `instances × memory × 730 h` a month at
    /// the provisioned concurrency price, shared over `workload.executions_per_month`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_concurrency: Option<ProvisionedConcurrency>,
    /// Where a Step Functions state machine passes the function its payload: how a variant
    /// selected by payload fields is found deployed (`profile`) and switched (`apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_machine: Option<StateMachineSite>,
}

/// The Task states of a state machine that invoke a function, with the payload they pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateMachineSite {
    /// The state machine's ARN.
    pub arn: String,
    /// The Task states whose `Parameters.Payload` (or `Arguments.Payload`) carries the variant's
    /// payload fields.
    pub states: Vec<String>,
}

/// A function's provisioned concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedConcurrency {
    /// Execution environments kept initialized (≥ 1).
    pub instances: u32,
}

/// Memory sizes in MB: an explicit list, or an inclusive range with a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "expected the memory sizes in MB: a list such as [128, 512] or {\"min_mb\", \"max_mb\", \"step_mb\"}"
)]
pub enum MemoryOptions {
    /// Explicit sizes, e.g. `[128, 512, 1024]`.
    List(Vec<u32>),
    /// `min_mb`, `min_mb + step_mb`, … up to `max_mb` (included when on the step).
    Range(MemoryRange),
}

/// An inclusive memory range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryRange {
    /// Smallest size.
    pub min_mb: u32,
    /// Largest size.
    pub max_mb: u32,
    /// Step between sizes.
    pub step_mb: u32,
}

impl MemoryOptions {
    /// The sizes, ascending. (Call after validation; an invalid range yields what it can.)
    pub fn sizes(&self) -> Vec<u32> {
        match self {
            MemoryOptions::List(l) => {
                let mut v = l.clone();
                v.sort_unstable();
                v.dedup();
                v
            }
            MemoryOptions::Range(r) => {
                if r.step_mb == 0 || r.min_mb > r.max_mb {
                    return vec![r.min_mb];
                }
                (r.min_mb..=r.max_mb).step_by(r.step_mb as usize).collect()
            }
        }
    }
}

/// One model variant of a function (the only one, for a function without an ML model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Name, e.g. `resnet-50`; `default` for a function without variants.
    pub name: String,
    /// Raw accuracy of the variant on its task, if measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<RawAccuracy>,
    /// Execution time against memory.
    #[serde(deserialize_with = "read_model")]
    pub model: DurationModel,
    /// Quality of the fit of `model` to `samples`, when it was fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<FitSummary>,
    /// The profiled invocations the model was fitted from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<ProfileSample>,
    /// How the deployed function is switched to this variant (`optiserve profile` and `apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<VariantSelector>,
    /// Cold starts: how often an invocation starts a new execution environment, and how long its
    /// INIT phase takes (left out: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start: Option<ColdStart>,
    /// The weighted payloads the variant was profiled with, each with its own samples (left out:
    /// one payload). `samples` then holds the weighted mixes the model was fitted to: per round of
    /// invocations (one per payload, at one memory) the weighted mean of their durations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payloads: Vec<PayloadProfile>,
}

/// One payload of a variant profiled with several, and what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayloadProfile {
    /// Its name in the plan.
    pub name: String,
    /// Its share of production invocations, in (0, 1]; the weights of a variant sum to 1.
    pub weight: f64,
    /// The invocations made with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<ProfileSample>,
}

/// Cold starts of a variant, measured or given. Each cold invocation adds `init_ms` to its latency
/// and, where the pricing bills the INIT phase, to its billed duration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColdStart {
    /// Share of invocations that are cold starts, in [0, 1] (in production: it depends on the
    /// traffic; the share `profile` saw is not it, profiling forces cold starts).
    pub probability: f64,
    /// Mean `Init Duration` of a cold start, ms (the REPORT line's).
    pub init_ms: f64,
    /// Cold starts `init_ms` was measured over (left out: given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<u64>,
}

/// How a variant is selected on the deployed function: environment variables set on it, and/or
/// fields merged into the invocation payload (`apply` sets payload fields where the function's
/// `state_machine` passes the payload).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantSelector {
    /// Environment variables, e.g. `{"MODEL_NAME": "resnet50"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Fields merged into a JSON-object payload, e.g. `{"model": "resnet50"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Reads a variant's `model` field by field, so that an error inside it keeps its JSON path and
/// position (`…model.alpha_ms`, at the offending value) whatever the order of the keys: the derived
/// reader of the internally tagged [`DurationModel`] buffers the object and reports every error at
/// the object itself. Keys that name no model field are refused, as everywhere in the bundle; a
/// model field is type-checked even where its `kind` does not use it.
fn read_model<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DurationModel, D::Error> {
    use serde::de::{Error, MapAccess, Visitor};

    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Exponential,
        Table,
        CpuShare,
    }

    fn field<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
        map: &mut A,
        slot: &mut Option<T>,
        name: &'static str,
    ) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(A::Error::duplicate_field(name));
        }
        *slot = Some(map.next_value()?);
        Ok(())
    }

    struct ModelVisitor;
    impl<'de> Visitor<'de> for ModelVisitor {
        type Value = DurationModel;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "a duration model (an object with \"kind\": \"exponential\", \"cpu_share\" or \"table\")",
            )
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DurationModel, A::Error> {
            const FIELDS: &[&str] = &[
                "kind",
                "alpha_ms",
                "beta_ms",
                "gamma_per_mb",
                "points",
                "serial_ms",
                "cpu_ms",
                "knee_mb",
                "parallel_fraction",
            ];
            let (mut kind, mut alpha_ms, mut beta_ms, mut gamma_per_mb, mut points) =
                (None, None, None, None, None::<Vec<TablePoint>>);
            let (mut serial_ms, mut cpu_ms, mut knee_mb, mut parallel_fraction) =
                (None, None, None, None);
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "kind" => field(&mut map, &mut kind, "kind")?,
                    "alpha_ms" => field(&mut map, &mut alpha_ms, "alpha_ms")?,
                    "beta_ms" => field(&mut map, &mut beta_ms, "beta_ms")?,
                    "gamma_per_mb" => field(&mut map, &mut gamma_per_mb, "gamma_per_mb")?,
                    "points" => field(&mut map, &mut points, "points")?,
                    "serial_ms" => field(&mut map, &mut serial_ms, "serial_ms")?,
                    "cpu_ms" => field(&mut map, &mut cpu_ms, "cpu_ms")?,
                    "knee_mb" => field(&mut map, &mut knee_mb, "knee_mb")?,
                    "parallel_fraction" => {
                        field(&mut map, &mut parallel_fraction, "parallel_fraction")?;
                    }
                    other => return Err(A::Error::unknown_field(other, FIELDS)),
                }
            }
            let need = |v: Option<f64>, name| v.ok_or_else(|| A::Error::missing_field(name));
            match kind.ok_or_else(|| A::Error::missing_field("kind"))? {
                Kind::Exponential => Ok(DurationModel::Exponential(ExpModel {
                    alpha_ms: need(alpha_ms, "alpha_ms")?,
                    beta_ms: need(beta_ms, "beta_ms")?,
                    gamma_per_mb: need(gamma_per_mb, "gamma_per_mb")?,
                })),
                Kind::CpuShare => Ok(DurationModel::CpuShare(CpuShareModel {
                    serial_ms: need(serial_ms, "serial_ms")?,
                    cpu_ms: need(cpu_ms, "cpu_ms")?,
                    knee_mb: need(knee_mb, "knee_mb")?,
                    parallel_fraction: parallel_fraction.unwrap_or(0.0),
                })),
                Kind::Table => {
                    let points = points.ok_or_else(|| A::Error::missing_field("points"))?;
                    MeasuredTable::new(points)
                        .map(DurationModel::Table)
                        .map_err(A::Error::custom)
                }
            }
        }
    }
    d.deserialize_map(ModelVisitor)
}

/// A raw accuracy value with its metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccuracy {
    /// The value, e.g. 76.13 (top-1 %) or 0.511 (mAP).
    pub value: f64,
    /// The metric, e.g. `top-1`, `mAP50-95`, `F1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
}

/// How well a fitted model matches its samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FitSummary {
    /// Mean absolute percentage error over the samples.
    pub mape_percent: f64,
    /// Coefficient of determination; absent when the model has as many free parameters as there
    /// were samples (it passes through every point, so R² would say nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r2: Option<f64>,
    /// Number of samples fitted.
    pub samples: usize,
}

/// One profiled invocation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileSample {
    /// Configured memory.
    pub memory_mb: f64,
    /// Reported duration.
    pub duration_ms: f64,
    /// Reported billed duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_duration_ms: Option<f64>,
    /// A cold start (the report had an Init Duration); kept, but not used for the warm model.
    #[serde(default)]
    pub cold: bool,
    /// Reported Max Memory Used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_used_mb: Option<f64>,
    /// Reported Init Duration of a cold start, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_duration_ms: Option<f64>,
}

/// The workflow part of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// Edges in the thesis artifact's convention (see the README): 1.0 edges from one node run
    /// in parallel, p < 1 edges from one node are a branch summing to 1, an edge back to an
    /// earlier node is a cycle, an edge to itself a self-loop.
    pub edges: Vec<Edge>,
    /// Step Functions orchestration delays (default 0).
    #[serde(default)]
    pub orchestration: Delays,
    /// Step Functions states that are nodes of the graph without being Lambda functions (a Wait
    /// with its delay, the fork of a Parallel or Map state that cannot be folded into edges, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<StateNode>,
    /// Map states: their iteration bodies, expected item counts and concurrency limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maps: Vec<MapBlock>,
    /// Further places where a function is invoked (a second Task state invoking the same Lambda
    /// function): nodes of the graph whose invocations are their function's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<Site>,
    /// How durations compose into the expected latency: `branch_aware` (left out: the default)
    /// or `thesis` (the thesis' max of the arms' expected latencies, to reproduce its figures).
    /// Commands can override it with `--latency-model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_model: Option<LatencyModel>,
}

/// How accuracies combine into the end-to-end score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccuracySpec {
    /// Per-function normalisation of raw accuracies (default `min_max`, which falls back to rank
    /// i/N for a function where a variant has no raw accuracy).
    #[serde(default = "default_normalization")]
    pub normalization: Normalization,
    /// The score over normalised accuracies.
    pub score: EasDefinition,
}

fn default_normalization() -> Normalization {
    Normalization::MinMax
}

/// One function's memory and variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// Memory in MB.
    pub memory_mb: u32,
    /// Variant name; when left out, the deployed variant (or the only one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A configuration: a choice per function id. Functions left out keep their deployed choice.
pub type Configuration = BTreeMap<String, Choice>;

/// A bundle that could not be read or is not valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BundleError {
    /// Not JSON.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// JSON of the wrong shape.
    #[error("{path}: {message} (line {line}, column {column})")]
    Shape {
        /// JSON path of the offending value.
        path: String,
        /// What was expected.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A `schema` this version does not read.
    #[error("$.schema: {0}")]
    Version(String),
    /// A value that parses but does not make sense.
    #[error("{path}: {message}")]
    Invalid {
        /// JSON path.
        path: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl BundleError {
    /// The JSON path the error points at, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            BundleError::Shape { path, .. } | BundleError::Invalid { path, .. } => Some(path),
            BundleError::Version(_) => Some("$.schema"),
            BundleError::Syntax { .. } => None,
        }
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> BundleError {
    BundleError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

/// Parses JSON text into `T`, reporting type errors with their JSON path, line and column.
pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, BundleError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = result.map_err(|e| {
        let path = json_path(e.path());
        let inner = e.into_inner();
        classify(inner, Some(path))
    })?;
    de.end().map_err(|e| classify(e, None))?;
    Ok(value)
}

fn classify(e: serde_json::Error, path: Option<String>) -> BundleError {
    let (line, column) = (e.line(), e.column());
    let message = strip_position(&e.to_string());
    match (e.classify(), path) {
        (serde_json::error::Category::Data, Some(path)) => BundleError::Shape {
            path,
            message,
            line,
            column,
        },
        _ => BundleError::Syntax {
            line,
            column,
            message,
        },
    }
}

/// serde_json appends " at line L column C"; the position is reported separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// `functions[1].variants[0]` → `$.functions[1].variants[0]`.
fn json_path(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." || p.is_empty() {
        "$".to_string()
    } else if p.starts_with('[') {
        format!("${p}")
    } else {
        format!("$.{p}")
    }
}

#[derive(Deserialize)]
#[serde(expecting = "a profile bundle (a JSON object)")]
struct SchemaProbe {
    schema: Option<serde_json::Value>,
}

impl Bundle {
    /// Parses a bundle, refusing other schema versions first.
    pub fn from_json(text: &str) -> Result<Bundle, BundleError> {
        let probe: SchemaProbe = parse_json(text)?;
        match probe.schema {
            None => {
                return Err(BundleError::Version(format!(
                    "missing; a profile bundle starts with \"schema\": \"{SCHEMA_V1}\""
                )));
            }
            Some(serde_json::Value::String(s)) if s == SCHEMA_V1 => {}
            Some(serde_json::Value::String(s)) if s.starts_with("optiserve.bundle/") => {
                return Err(BundleError::Version(format!(
                    "this bundle is '{s}', but this optiserve {} reads only '{SCHEMA_V1}'; use a newer optiserve",
                    env_version()
                )));
            }
            Some(other) => {
                return Err(BundleError::Version(format!(
                    "expected \"{SCHEMA_V1}\", found {other}: this is not an optiserve profile bundle"
                )));
            }
        }
        parse_json(text)
    }

    /// Pretty JSON, as written to files.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Checks the bundle's meaning and compiles it into an [`Application`].
    pub fn validate(&self) -> Result<Application, BundleError> {
        Application::new(self)
    }
}

fn env_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The JSON Schema of the bundle, generated from the Rust types.
pub fn bundle_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Bundle)).unwrap_or_default()
}

/// A variant compiled for evaluation.
#[derive(Debug, Clone)]
pub struct VariantOption {
    /// Name.
    pub name: String,
    /// Execution time model.
    pub model: DurationModel,
    /// Normalised accuracy in [0, 1].
    pub accuracy: f64,
    /// The profiled samples (for simulation).
    pub samples: Vec<ProfileSample>,
    /// Cold starts (probability 0 when the bundle gives none, or on provisioned concurrency).
    pub cold_start: ColdStart,
}

/// A function compiled for evaluation.
#[derive(Debug, Clone)]
pub struct FunctionOption {
    /// Id.
    pub id: String,
    /// Memory sizes, ascending.
    pub memory_mb: Vec<u32>,
    /// Variants in bundle order.
    pub variants: Vec<VariantOption>,
    /// How it is packaged.
    pub package: PackageType,
    /// Provisioned concurrency instances (0: on demand).
    pub provisioned: u32,
}

/// A choice resolved to indices: memory in MB and the variant's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedChoice {
    /// Memory in MB.
    pub memory_mb: u32,
    /// Index into the function's variants.
    pub variant: usize,
}

/// A validated bundle, ready to evaluate: functions with their options, the workflow's plan, the
/// pricing and the compiled accuracy score.
#[derive(Debug, Clone)]
pub struct Application {
    /// Functions in bundle order (every per-function slice uses this order).
    pub functions: Vec<FunctionOption>,
    /// The workflow.
    pub workflow: Workflow,
    /// Orchestration delays.
    pub delays: Delays,
    /// How durations compose into the expected latency (the bundle's choice; callers may
    /// override it, e.g. with `--latency-model`).
    pub latency_model: LatencyModel,
    /// Prices.
    pub pricing: Pricing,
    /// The compiled accuracy score.
    pub score: EasScore,
    /// Smallest and largest score over all configurations.
    pub score_range: (f64, f64),
    /// The deployed configuration.
    pub deployed: Vec<ResolvedChoice>,
    /// Executions per month, when the bundle gives them.
    pub executions_per_month: Option<f64>,
}

impl Application {
    fn new(b: &Bundle) -> Result<Application, BundleError> {
        if b.schema != SCHEMA_V1 {
            return Err(BundleError::Version(format!(
                "expected \"{SCHEMA_V1}\", found \"{}\"",
                b.schema
            )));
        }
        if let Err((field, message)) = b.pricing.check() {
            return Err(invalid(format!("$.pricing.{field}"), message));
        }
        if b.functions.is_empty() {
            return Err(invalid("$.functions", "the application has no functions"));
        }
        let mut functions = Vec::with_capacity(b.functions.len());
        for (i, f) in b.functions.iter().enumerate() {
            functions.push(compile_function(i, f, b.accuracy.as_ref())?);
        }
        let ids: Vec<String> = b.functions.iter().map(|f| f.id.clone()).collect();

        let o = &b.workflow.orchestration;
        for (name, v) in [
            ("state_ms", o.state_ms),
            ("transition_ms", o.transition_ms),
            ("start_end_ms", o.start_end_ms.unwrap_or(0.0)),
        ] {
            in_range(
                &limits::ORCHESTRATION_MS,
                v,
                format!("$.workflow.orchestration.{name}"),
            )?;
        }
        for (k, e) in b.workflow.edges.iter().enumerate() {
            if let Some(ProbabilityBasis::Measured { taken, out_of, .. }) = e.basis
                && (out_of == 0 || taken > out_of)
            {
                return Err(invalid(
                    format!("$.workflow.edges[{k}].basis"),
                    format!(
                        "a measured probability needs 0 < out_of and taken ≤ out_of, found taken {taken}, out_of {out_of}"
                    ),
                ));
            }
        }
        let workflow = Workflow::build_with_sites(
            &ids,
            &b.workflow.states,
            &b.workflow.sites,
            &b.workflow.maps,
            &b.workflow.edges,
        )
        .map_err(|e| workflow_error_in(&e, &b.workflow))?;

        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let definition = match &b.accuracy {
            Some(spec) => spec.score.clone(),
            None => default_score(&functions),
        };
        let score = definition
            .compile(&id_refs)
            .map_err(|e| invalid("$.accuracy.score", e.to_string()))?;
        let options: Vec<Vec<f64>> = functions
            .iter()
            .map(|f| f.variants.iter().map(|v| v.accuracy).collect())
            .collect();
        let report = score
            .check_contract(&options)
            .map_err(|e| invalid("$.accuracy.score", contract_message(&e)))?;

        if let Some(w) = b.workload {
            in_range(
                &limits::EXECUTIONS_PER_MONTH,
                w.executions_per_month,
                "$.workload.executions_per_month",
            )?;
        }
        if b.workload.is_none()
            && let Some(i) = b
                .functions
                .iter()
                .position(|f| f.provisioned_concurrency.is_some())
        {
            return Err(invalid(
                format!("$.functions[{i}].provisioned_concurrency"),
                "provisioned concurrency bills by the month: give $.workload.executions_per_month to share it over the executions",
            ));
        }
        let mut deployed = Vec::with_capacity(functions.len());
        for id in b.deployed.keys() {
            if !ids.contains(id) {
                return Err(invalid(
                    format!("$.deployed.{id}"),
                    format!("'{id}' is not a function of this bundle"),
                ));
            }
        }
        for f in &functions {
            let choice = match b.deployed.get(&f.id) {
                Some(c) => resolve_choice(f, c, None, &format!("$.deployed.{}", f.id))?,
                None => ResolvedChoice {
                    memory_mb: f.memory_mb.first().copied().unwrap_or(LAMBDA_MIN_MEMORY_MB),
                    variant: 0,
                },
            };
            deployed.push(choice);
        }

        Ok(Application {
            functions,
            workflow,
            delays: b.workflow.orchestration,
            latency_model: b.workflow.latency_model.unwrap_or_default(),
            pricing: b.pricing.clone(),
            score,
            score_range: (report.min, report.max),
            deployed,
            executions_per_month: b.workload.map(|w| w.executions_per_month),
        })
    }

    /// Resolves a user configuration against the deployed one; `path` prefixes error paths
    /// (e.g. `$` for a configuration file).
    pub fn resolve(
        &self,
        config: &Configuration,
        path: &str,
    ) -> Result<Vec<ResolvedChoice>, BundleError> {
        for id in config.keys() {
            if !self.functions.iter().any(|f| &f.id == id) {
                return Err(invalid(
                    format!("{path}.{id}"),
                    format!(
                        "'{id}' is not a function of this bundle (functions: {})",
                        self.functions
                            .iter()
                            .map(|f| f.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        self.functions
            .iter()
            .zip(&self.deployed)
            .map(|(f, d)| match config.get(&f.id) {
                Some(c) => resolve_choice(f, c, Some(d.variant), &format!("{path}.{}", f.id)),
                None => Ok(*d),
            })
            .collect()
    }

    /// Turns resolved choices back into a configuration with names.
    pub fn configuration(&self, choices: &[ResolvedChoice]) -> Configuration {
        self.functions
            .iter()
            .zip(choices)
            .map(|(f, c)| {
                (
                    f.id.clone(),
                    Choice {
                        memory_mb: c.memory_mb,
                        variant: f.variants.get(c.variant).map(|v| v.name.clone()),
                    },
                )
            })
            .collect()
    }
}

fn workflow_error_in(e: &WorkflowError, spec: &WorkflowSpec) -> BundleError {
    match e {
        WorkflowError::BadState { id, .. } => {
            let k = spec.states.iter().position(|st| &st.id == id).unwrap_or(0);
            invalid(format!("$.workflow.states[{k}]"), e.to_string())
        }
        WorkflowError::BadSite { id, .. } => {
            let k = spec.sites.iter().position(|st| &st.id == id).unwrap_or(0);
            invalid(format!("$.workflow.sites[{k}]"), e.to_string())
        }
        WorkflowError::BadMap { state, .. } => {
            let k = spec
                .maps
                .iter()
                .position(|m| &m.state == state)
                .unwrap_or(0);
            invalid(format!("$.workflow.maps[{k}]"), e.to_string())
        }
        _ => workflow_error(e),
    }
}

fn workflow_error(e: &WorkflowError) -> BundleError {
    let path = match e.edge_index() {
        Some(k) => format!("$.workflow.edges[{k}]"),
        None => match e {
            WorkflowError::DuplicateFunction { .. } | WorkflowError::ReservedName { .. } => {
                "$.functions".to_string()
            }
            _ => "$.workflow.edges".to_string(),
        },
    };
    invalid(path, e.to_string())
}

fn contract_message(e: &AccuracyError) -> String {
    format!(
        "the accuracy score breaks its contract (monotone non-decreasing in every A(f), finite on [0, 1]): {e}"
    )
}

/// Mean normalised accuracy over the functions with more than one variant.
fn default_score(functions: &[FunctionOption]) -> EasDefinition {
    let ml: Vec<&FunctionOption> = functions.iter().filter(|f| f.variants.len() > 1).collect();
    if ml.is_empty() {
        return EasDefinition::Formula {
            expression: "1".to_string(),
        };
    }
    let w = 1.0 / ml.len() as f64;
    EasDefinition::WeightedSum {
        weights: ml.iter().map(|f| (f.id.clone(), w)).collect(),
    }
}

fn resolve_choice(
    f: &FunctionOption,
    c: &Choice,
    default_variant: Option<usize>,
    path: &str,
) -> Result<ResolvedChoice, BundleError> {
    let variant = match &c.variant {
        Some(name) => f
            .variants
            .iter()
            .position(|v| &v.name == name)
            .ok_or_else(|| {
                invalid(
                    format!("{path}.variant"),
                    format!(
                        "'{}' has no variant '{name}' (variants: {})",
                        f.id,
                        f.variants
                            .iter()
                            .map(|v| v.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?,
        None => default_variant.unwrap_or(0),
    };
    let (lo, hi) = (
        f.memory_mb.first().copied().unwrap_or(LAMBDA_MIN_MEMORY_MB),
        f.memory_mb.last().copied().unwrap_or(LAMBDA_MAX_MEMORY_MB),
    );
    if c.memory_mb < lo || c.memory_mb > hi {
        return Err(invalid(
            format!("{path}.memory_mb"),
            format!(
                "{} MB is outside '{}''s memory options ({lo}–{hi} MB)",
                c.memory_mb, f.id
            ),
        ));
    }
    Ok(ResolvedChoice {
        memory_mb: c.memory_mb,
        variant,
    })
}

fn compile_function(
    i: usize,
    f: &Function,
    accuracy: Option<&AccuracySpec>,
) -> Result<FunctionOption, BundleError> {
    let at = format!("$.functions[{i}]");
    if f.id.is_empty() {
        return Err(invalid(format!("{at}.id"), "a function id cannot be empty"));
    }
    let memory_mb = check_memory(&f.memory, &format!("{at}.memory"))?;
    if f.provisioned_concurrency.is_some_and(|p| p.instances == 0) {
        return Err(invalid(
            format!("{at}.provisioned_concurrency.instances"),
            "must be at least 1 (leave provisioned_concurrency out for on-demand)",
        ));
    }
    if f.variants.is_empty() {
        return Err(invalid(
            format!("{at}.variants"),
            format!(
                "'{}' has no variants: profile it (a function without an ML model has one variant named \"default\"), or import the workflow with `optiserve workflow import-asl … --functions-from <profiled bundle>`",
                f.id
            ),
        ));
    }
    let mut raw = Vec::with_capacity(f.variants.len());
    for (j, v) in f.variants.iter().enumerate() {
        let vat = format!("{at}.variants[{j}]");
        if f.variants[..j].iter().any(|w| w.name == v.name) {
            return Err(invalid(
                format!("{vat}.name"),
                format!("variant '{}' is declared twice in '{}'", v.name, f.id),
            ));
        }
        if let Some(a) = &v.accuracy
            && !a.value.is_finite()
        {
            return Err(invalid(
                format!("{vat}.accuracy.value"),
                "must be a finite number",
            ));
        }
        check_model(&v.model, &memory_mb, &format!("{vat}.model"))?;
        if let Some(c) = &v.cold_start {
            if !(c.probability.is_finite() && (0.0..=1.0).contains(&c.probability)) {
                return Err(invalid(
                    format!("{vat}.cold_start.probability"),
                    format!("must be a number in [0, 1], found {}", c.probability),
                ));
            }
            in_range(
                &limits::FUNCTION_DURATION_MS,
                c.init_ms,
                format!("{vat}.cold_start.init_ms"),
            )?;
        }
        check_samples(&v.samples, &format!("{vat}.samples"))?;
        let mut names = std::collections::BTreeSet::new();
        for (k, p) in v.payloads.iter().enumerate() {
            let pat = format!("{vat}.payloads[{k}]");
            if p.name.is_empty() || !names.insert(p.name.as_str()) {
                return Err(invalid(
                    format!("{pat}.name"),
                    format!(
                        "'{}' must be a name no other payload of the variant has",
                        p.name
                    ),
                ));
            }
            if !(p.weight.is_finite() && p.weight > 0.0 && p.weight <= 1.0) {
                return Err(invalid(
                    format!("{pat}.weight"),
                    format!("must be a number in (0, 1], found {}", p.weight),
                ));
            }
            check_samples(&p.samples, &format!("{pat}.samples"))?;
        }
        let total: f64 = v.payloads.iter().map(|p| p.weight).sum();
        if !v.payloads.is_empty() && (total - 1.0).abs() > 1e-6 {
            return Err(invalid(
                format!("{vat}.payloads"),
                format!("the weights must sum to 1, found {total}"),
            ));
        }
        raw.push(v.accuracy.as_ref().map(|a| a.value));
    }
    let how = accuracy.map_or(Normalization::MinMax, |a| a.normalization);
    let normalized = normalize(&raw, how).map_err(|e| {
        let path = match &e {
            AccuracyError::AccuracyOutOfRange { variant_index, .. } => {
                format!("{at}.variants[{variant_index}].accuracy.value")
            }
            _ => format!("{at}.variants"),
        };
        invalid(path, e.to_string())
    })?;
    Ok(FunctionOption {
        id: f.id.clone(),
        memory_mb,
        variants: f
            .variants
            .iter()
            .zip(normalized)
            .map(|(v, a)| VariantOption {
                name: v.name.clone(),
                model: v.model.clone(),
                accuracy: a,
                samples: v.samples.clone(),
                cold_start: match (f.provisioned_concurrency, v.cold_start) {
                    (Some(_), _) | (None, None) => ColdStart::default(),
                    (None, Some(c)) => c,
                },
            })
            .collect(),
        package: f.package.unwrap_or_default(),
        provisioned: f.provisioned_concurrency.map_or(0, |p| p.instances),
    })
}

/// Every sample's memory and duration within range.
fn check_samples(samples: &[ProfileSample], at: &str) -> Result<(), BundleError> {
    for (k, s) in samples.iter().enumerate() {
        in_range(
            &limits::MEMORY_MB,
            s.memory_mb,
            format!("{at}[{k}].memory_mb"),
        )?;
        in_range(
            &limits::FUNCTION_DURATION_MS,
            s.duration_ms,
            format!("{at}[{k}].duration_ms"),
        )?;
    }
    Ok(())
}

/// `v` within `range`, or the error at `path` that says the range.
fn in_range(range: &limits::Range, v: f64, path: impl Into<String>) -> Result<(), BundleError> {
    range.check(v).map_err(|message| invalid(path, message))
}

fn check_memory(m: &MemoryOptions, path: &str) -> Result<Vec<u32>, BundleError> {
    let in_range = |x: u32, p: String| {
        if (LAMBDA_MIN_MEMORY_MB..=LAMBDA_MAX_MEMORY_MB).contains(&x) {
            Ok(())
        } else {
            Err(invalid(
                p,
                format!(
                    "{x} MB is outside what Lambda allows ({LAMBDA_MIN_MEMORY_MB}–{LAMBDA_MAX_MEMORY_MB} MB)"
                ),
            ))
        }
    };
    match m {
        MemoryOptions::List(list) => {
            if list.is_empty() {
                return Err(invalid(path, "the list of memory sizes is empty"));
            }
            for (k, &x) in list.iter().enumerate() {
                in_range(x, format!("{path}[{k}]"))?;
                if list[..k].contains(&x) {
                    return Err(invalid(
                        format!("{path}[{k}]"),
                        format!("{x} MB is listed twice"),
                    ));
                }
            }
        }
        MemoryOptions::Range(r) => {
            in_range(r.min_mb, format!("{path}.min_mb"))?;
            in_range(r.max_mb, format!("{path}.max_mb"))?;
            if r.min_mb > r.max_mb {
                return Err(invalid(
                    format!("{path}.max_mb"),
                    format!("max_mb {} is below min_mb {}", r.max_mb, r.min_mb),
                ));
            }
            if r.step_mb == 0 {
                return Err(invalid(format!("{path}.step_mb"), "must be at least 1"));
            }
        }
    }
    Ok(m.sizes())
}

fn check_model(model: &DurationModel, memory: &[u32], path: &str) -> Result<(), BundleError> {
    if let DurationModel::CpuShare(m) = model
        && let Err((field, message)) = m.check()
    {
        return Err(invalid(format!("{path}.{field}"), message));
    }
    if let DurationModel::Exponential(ExpModel {
        alpha_ms,
        beta_ms,
        gamma_per_mb,
    }) = model
    {
        for (name, v) in [
            ("alpha_ms", alpha_ms),
            ("beta_ms", beta_ms),
            ("gamma_per_mb", gamma_per_mb),
        ] {
            if !v.is_finite() {
                return Err(invalid(
                    format!("{path}.{name}"),
                    format!("must be a finite number, found {v}"),
                ));
            }
        }
        if *gamma_per_mb < 0.0 {
            return Err(invalid(
                format!("{path}.gamma_per_mb"),
                format!(
                    "must be ≥ 0 (more memory cannot slow a function down in this model), found {gamma_per_mb}"
                ),
            ));
        }
    }
    for &m in memory {
        let d = model.duration_ms(f64::from(m));
        if !(d.is_finite() && d > 0.0) {
            return Err(invalid(
                path,
                format!(
                    "the model predicts a duration of {d} ms at {m} MB; durations must be positive over the memory options"
                ),
            ));
        }
        if d > limits::FUNCTION_DURATION_MS.max {
            return Err(invalid(
                path,
                format!(
                    "the model predicts a duration of {} ms at {m} MB, longer than {} ms ({}): such a configuration cannot run; check the model's units, or leave that memory size out of the options",
                    limits::show(d),
                    limits::FUNCTION_DURATION_MS.max,
                    limits::FUNCTION_DURATION_MS.why
                ),
            ));
        }
    }
    Ok(())
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.variant {
            Some(v) => write!(f, "{} MB, {v}", self.memory_mb),
            None => write!(f, "{} MB", self.memory_mb),
        }
    }
}
