//! The profiling plan (`optiserve profile --plan plan.toml`): which functions to profile, with
//! which payloads, over which memory sizes, which model variants and how each is selected, and
//! the budget. See `examples/app3.plan.toml` and the README for the format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use optiserve_core::bundle::{
    AccuracySpec, Bundle, Function, MemoryOptions, MemoryRange, Provenance, RawAccuracy, SCHEMA_V1,
    StateMachineSite, Variant, VariantSelector, WorkflowSpec,
};
use optiserve_core::model::{DurationModel, ExpModel, ModelChoice};
use optiserve_core::pricing::{Architecture, Pricing, StepFunctionsPricing};
use optiserve_core::regions::{Orchestration, Overrides, pricing_for};
use optiserve_core::sampling::SamplerSettings;
use optiserve_core::workflow::Edge;
use serde::Deserialize;

use crate::cloud::sim::{Selector, SimCloud, SimFunction, SimSettings, SimStateMachines, SimTruth};
use crate::input::read_text;

/// A plan as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Application name (goes into the bundle).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text (goes into the bundle).
    #[serde(default)]
    pub description: Option<String>,
    /// AWS region of the functions (else `--region` or the default chain). It selects the prices
    /// from the built-in region table (`optiserve_core::regions`); a region or figure the table
    /// cannot source is an error unless `[pricing]` gives it.
    #[serde(default)]
    pub region: Option<String>,
    /// Prices that replace the region table's (or that it lacks).
    #[serde(default)]
    pub pricing: PlanPricing,
    /// Lambda architecture, for the prices (`x86_64` or `arm64`).
    #[serde(default = "default_architecture")]
    pub architecture: Architecture,
    /// Memory sizes for every function that does not give its own (default 128–3008 MB in 64 MB
    /// steps).
    #[serde(default)]
    pub memory: Option<MemoryOptions>,
    /// Warm samples per memory (3).
    #[serde(default = "default_samples")]
    pub samples: u32,
    /// Invocations in flight at once during one measurement (1).
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// Stop after about this many invocations in all (warm-ups and failures included).
    #[serde(default)]
    pub max_invocations: Option<u64>,
    /// Stop after about this much spent on invocations, USD.
    #[serde(default)]
    pub max_cost_usd: Option<f64>,
    /// Tuning of the sampling strategy.
    #[serde(default)]
    pub sampler: SamplerTuning,
    /// The functions.
    pub functions: Vec<PlanFunction>,
    /// The workflow over the function ids (default: the functions in plan order, one after the
    /// other).
    #[serde(default)]
    pub workflow: Option<WorkflowSpec>,
    /// Take the workflow (and the accuracy score, unless given here) from this bundle.
    #[serde(default)]
    pub workflow_from: Option<PathBuf>,
    /// The accuracy score.
    #[serde(default)]
    pub accuracy: Option<AccuracySpec>,
    /// The simulated cloud used by `--simulate`.
    #[serde(default)]
    pub simulate: Option<SimSettings>,
}

fn default_architecture() -> Architecture {
    Architecture::X86_64
}
fn default_samples() -> u32 {
    3
}
fn default_concurrency() -> u32 {
    1
}

/// The plan's `[pricing]` table: each figure given replaces the region table's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanPricing {
    /// Lambda USD per GB-second, for the plan's architecture.
    pub price_per_gb_second: Option<f64>,
    /// Lambda USD per request.
    pub price_per_request: Option<f64>,
    /// The Step Functions charge to add: `standard` or `express` (default: the `workflow_from`
    /// bundle's, else none).
    pub step_functions: Option<PlanOrchestration>,
    /// Step Functions Standard USD per state transition.
    pub price_per_transition: Option<f64>,
    /// Step Functions Express USD per request.
    pub express_price_per_request: Option<f64>,
    /// Step Functions Express USD per GB-second.
    pub express_price_per_gb_second: Option<f64>,
}

/// A Step Functions workflow type, for its prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanOrchestration {
    Standard,
    Express,
}

impl PlanPricing {
    fn check(&self) -> anyhow::Result<()> {
        for (key, v) in [
            ("price_per_gb_second", self.price_per_gb_second),
            ("price_per_request", self.price_per_request),
            ("price_per_transition", self.price_per_transition),
            ("express_price_per_request", self.express_price_per_request),
            (
                "express_price_per_gb_second",
                self.express_price_per_gb_second,
            ),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && (0.0..1.0).contains(&v))
            {
                bail!("pricing.{key}: must be a price in USD, at least 0 and below 1, found {v}");
            }
        }
        Ok(())
    }

    fn overrides(&self) -> Overrides {
        Overrides {
            price_per_gb_second: self.price_per_gb_second,
            price_per_request: self.price_per_request,
            price_per_transition: self.price_per_transition,
            express_price_per_request: self.express_price_per_request,
            express_price_per_gb_second: self.express_price_per_gb_second,
        }
    }
}

/// Optional settings of the sampling strategy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerTuning {
    pub cov_threshold: Option<f64>,
    pub max_extra_samples: Option<u32>,
    pub max_memories: Option<usize>,
    pub sigma_mb: Option<f64>,
    pub stop_belief: Option<f64>,
    pub max_failures_per_memory: Option<u32>,
    pub warmup: Option<bool>,
    /// The model family: `auto` (default), `exponential`, `cpu_share` or `table`.
    pub model: Option<ModelChoice>,
}

/// One function of the plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFunction {
    /// Id in the workflow and the bundle.
    pub id: String,
    /// Lambda function name or ARN (default: the id).
    #[serde(default)]
    pub resource: Option<String>,
    /// The invocation payload (any TOML value, sent as JSON).
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
    /// Or a JSON file holding it (relative to the plan).
    #[serde(default)]
    pub payload_file: Option<PathBuf>,
    /// Or several payloads with weights (their shares of production invocations): every memory
    /// is measured in rounds of one invocation per payload, the model fitted to the rounds'
    /// weighted mean durations, and each payload's samples kept in the bundle.
    #[serde(default)]
    pub payloads: Vec<PlanPayload>,
    /// Memory sizes (default: the plan's).
    #[serde(default)]
    pub memory: Option<MemoryOptions>,
    /// Model variants (default: one, `default`).
    #[serde(default)]
    pub variants: Vec<PlanVariant>,
    /// The true curve of a function without variants, for `--simulate`.
    #[serde(default)]
    pub simulate: Option<SimTruth>,
    /// Timeout of the simulated function in seconds (default 30).
    #[serde(default)]
    pub simulate_timeout_s: Option<u32>,
    /// The Step Functions state machine that passes this function its payload, and its Task
    /// states that do (`{arn = "…", states = ["Detect"]}`): where a variant selected by payload
    /// fields is read as deployed and where `apply` switches it.
    #[serde(default)]
    pub state_machine: Option<StateMachineSite>,
    /// Share of production invocations that are cold starts, in [0, 1], written into the
    /// bundle's `cold_start` with the Init Duration the run measured (profiling forces cold
    /// starts, so the share it sees is not this). Left out: 0 (`init_ms` is still recorded).
    #[serde(default)]
    pub cold_start_probability: Option<f64>,
}

/// One of a function's weighted payloads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanPayload {
    /// Its name in the bundle (default `payload-<i>`).
    #[serde(default)]
    pub name: Option<String>,
    /// Its relative share of production invocations (default 1; the weights are scaled to sum
    /// to 1).
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// The payload (any TOML value, sent as JSON).
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
    /// Or a JSON file holding it (relative to the plan).
    #[serde(default)]
    pub payload_file: Option<PathBuf>,
    /// For `--simulate`: this payload's durations are the variant's true curve times this
    /// (default 1).
    #[serde(default)]
    pub simulate_scale: Option<f64>,
}

fn default_weight() -> f64 {
    1.0
}

/// One model variant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanVariant {
    pub name: String,
    /// Environment variables that select it.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Payload fields that select it (merged into an object payload).
    #[serde(default)]
    pub payload: Option<serde_json::Map<String, serde_json::Value>>,
    /// Raw accuracy and metric.
    #[serde(default)]
    pub accuracy: Option<RawAccuracy>,
    /// The true curve, for `--simulate`.
    #[serde(default)]
    pub simulate: Option<SimTruth>,
}

/// One (function, variant) to profile, resolved.
#[derive(Debug, Clone)]
pub struct Target {
    pub function: usize,
    pub variant: usize,
    pub function_id: String,
    pub variant_name: String,
    pub resource: String,
    pub candidates: Vec<u32>,
    pub selector: VariantSelector,
    /// The payloads, each with the variant's fields merged in (one for a plan without
    /// `payloads`).
    pub payloads: Vec<TargetPayload>,
    pub truth: Option<SimTruth>,
}

/// One payload of a target.
#[derive(Debug, Clone)]
pub struct TargetPayload {
    /// Its name (`default` for a function with one payload).
    pub name: String,
    /// Its weight; a target's weights sum to 1.
    pub weight: f64,
    /// The payload with the variant's fields merged in, as JSON bytes.
    pub body: Vec<u8>,
    /// The payload as the plan gives it (before the variant's fields), for the simulated cloud.
    pub given: serde_json::Value,
    /// For `--simulate`: the scale of the true curve.
    pub simulate_scale: f64,
}

impl Target {
    /// The payloads' weights, in order.
    pub fn weights(&self) -> Vec<f64> {
        self.payloads.iter().map(|p| p.weight).collect()
    }

    /// Profiled with more than one payload.
    pub fn weighted(&self) -> bool {
        self.payloads.len() > 1
    }
}

/// Reads a payload given inline or as a file.
fn read_payload(
    inline: Option<&serde_json::Value>,
    file: Option<&PathBuf>,
    base: &Path,
    at: &str,
) -> anyhow::Result<serde_json::Value> {
    Ok(match (inline, file) {
        (Some(_), Some(_)) => bail!("{at}: give payload or payload_file, not both"),
        (Some(p), None) => p.clone(),
        (None, Some(file)) => {
            let file = base.join(file);
            let text = read_text(&file)?;
            serde_json::from_str(&text)
                .with_context(|| format!("{at}.payload_file: {} is not JSON", file.display()))?
        }
        (None, None) => serde_json::json!({}),
    })
}

/// Most payloads one function may be profiled with.
pub const MAX_PAYLOADS: usize = 16;

/// Most warm samples per memory a plan may ask for.
pub const MAX_SAMPLES: u32 = 1000;

/// Memory options within what Lambda allows, checked before they are expanded (a range is
/// expanded to a list: a range in the billions would not fit in memory).
fn check_memory_options(m: &MemoryOptions, at: &str) -> anyhow::Result<()> {
    use optiserve_core::bundle::{LAMBDA_MAX_MEMORY_MB, LAMBDA_MIN_MEMORY_MB};
    let allowed = LAMBDA_MIN_MEMORY_MB..=LAMBDA_MAX_MEMORY_MB;
    let outside = |x: u32, what: &str| {
        anyhow!(
            "{at}{what}: {x} MB is outside what Lambda allows ({LAMBDA_MIN_MEMORY_MB}–{LAMBDA_MAX_MEMORY_MB} MB)"
        )
    };
    match m {
        MemoryOptions::List(list) => {
            if list.is_empty() {
                bail!("{at}: the list of memory sizes is empty");
            }
            if let Some((i, &x)) = list.iter().enumerate().find(|(_, x)| !allowed.contains(x)) {
                return Err(outside(x, &format!("[{i}]")));
            }
        }
        MemoryOptions::Range(r) => {
            if !allowed.contains(&r.min_mb) {
                return Err(outside(r.min_mb, ".min_mb"));
            }
            if !allowed.contains(&r.max_mb) {
                return Err(outside(r.max_mb, ".max_mb"));
            }
            if r.step_mb == 0 || r.min_mb > r.max_mb {
                bail!("{at}: a range needs min_mb ≤ max_mb and step_mb ≥ 1");
            }
        }
    }
    Ok(())
}

/// A plan read, checked and resolved.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    pub plan: Plan,
    pub path: PathBuf,
    /// FNV-1a of the plan text: a checkpoint belongs to one plan.
    pub digest: String,
    pub targets: Vec<Target>,
    pub workflow: WorkflowSpec,
    pub accuracy: Option<AccuracySpec>,
    pub pricing: Pricing,
    /// The Step Functions charge priced (the plan's `pricing.step_functions`, else the
    /// `workflow_from` bundle's).
    pub orchestration: Option<Orchestration>,
}

/// The region a plan without `region` is priced for until the run learns the real one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The prices of `region` for the plan: the region table's, replaced by the plan's `[pricing]`.
fn region_pricing(
    plan: &Plan,
    region: &str,
    orchestration: Option<Orchestration>,
) -> anyhow::Result<Pricing> {
    pricing_for(
        region,
        plan.architecture,
        orchestration,
        &plan.pricing.overrides(),
    )
    .map_err(|e| anyhow!("region: {e}"))
}

/// FNV-1a, 64 bits, as hex.
pub fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Plan {
    /// The memory options of function `i`.
    pub fn memory_of(&self, f: &PlanFunction) -> MemoryOptions {
        f.memory
            .clone()
            .or_else(|| self.memory.clone())
            .unwrap_or(MemoryOptions::Range(MemoryRange {
                min_mb: 128,
                max_mb: 3008,
                step_mb: 64,
            }))
    }

    /// The sampler settings, with the run's budgets.
    pub fn sampler_settings(&self) -> SamplerSettings {
        let d = SamplerSettings::default();
        let t = &self.sampler;
        SamplerSettings {
            samples_per_memory: self.samples,
            max_extra_samples: t.max_extra_samples.unwrap_or(d.max_extra_samples),
            cov_threshold: t.cov_threshold.unwrap_or(d.cov_threshold),
            sigma_mb: t.sigma_mb.unwrap_or(d.sigma_mb),
            stop_belief: t.stop_belief.unwrap_or(d.stop_belief),
            max_memories: t.max_memories.unwrap_or(d.max_memories),
            max_failures_per_memory: t
                .max_failures_per_memory
                .unwrap_or(d.max_failures_per_memory),
            warmup: t.warmup.unwrap_or(d.warmup),
            model: t.model.unwrap_or(d.model),
            ..d
        }
    }
}

/// Reads and checks a plan. `workflow_from` (from `--workflow-from`) overrides the plan's.
pub fn load(
    path: &Path,
    workflow_from: Option<&Path>,
    simulate: bool,
) -> anyhow::Result<LoadedPlan> {
    let text = read_text(path)?;
    parse(&text, path, workflow_from, simulate)
}

/// Parses and checks plan text; `path` names it in errors and anchors relative paths.
pub fn parse(
    text: &str,
    path: &Path,
    workflow_from: Option<&Path>,
    simulate: bool,
) -> anyhow::Result<LoadedPlan> {
    let plan: Plan = toml::from_str(text).with_context(|| format!("in plan {}", path.display()))?;
    resolve(plan, path, text, workflow_from, simulate)
        .with_context(|| format!("in plan {}", path.display()))
}

fn resolve(
    plan: Plan,
    path: &Path,
    text: &str,
    workflow_from: Option<&Path>,
    simulate: bool,
) -> anyhow::Result<LoadedPlan> {
    let base = path.parent().unwrap_or(Path::new("."));
    if plan.functions.is_empty() {
        bail!("functions: the plan names no function ([[functions]] id = \"…\")");
    }
    if !(1..=MAX_SAMPLES).contains(&plan.samples) {
        bail!(
            "samples: must be between 1 and {MAX_SAMPLES} warm samples per memory, found {}",
            plan.samples
        );
    }
    if let Some(cap) = plan.max_invocations
        && cap == 0
    {
        bail!("max_invocations: must be at least 1");
    }
    if let Some(m) = &plan.memory {
        check_memory_options(m, "memory")?;
    }
    if !(1..=64).contains(&plan.concurrency) {
        bail!(
            "concurrency: must be between 1 and 64, found {}",
            plan.concurrency
        );
    }
    if let Some(c) = plan.max_cost_usd
        && !(c.is_finite() && c > 0.0)
    {
        bail!("max_cost_usd: must be a positive number, found {c}");
    }
    if let Some(Err(e)) = plan.simulate.as_ref().map(SimSettings::check) {
        bail!("simulate.{e}");
    }
    plan.pricing.check()?;
    let mut ids = BTreeSet::new();
    let mut resources = BTreeSet::new();
    let mut targets = Vec::new();
    for (i, f) in plan.functions.iter().enumerate() {
        let at = format!("functions[{i}]");
        if f.id.is_empty() || f.id == "Start" || f.id == "End" {
            bail!("{at}.id: '{}' cannot name a function", f.id);
        }
        if !ids.insert(f.id.clone()) {
            bail!("{at}.id: '{}' is used by another function", f.id);
        }
        if let Some(p) = f.cold_start_probability
            && !(p.is_finite() && (0.0..=1.0).contains(&p))
        {
            bail!("{at}.cold_start_probability: must be a number in [0, 1], found {p}");
        }
        if let Some(site) = &f.state_machine
            && (site.arn.is_empty() || site.states.is_empty())
        {
            bail!(
                "{at}.state_machine: give the state machine's arn and the Task states that pass the payload (states = [\"…\"])"
            );
        }
        let resource = f.resource.clone().unwrap_or_else(|| f.id.clone());
        if !resources.insert(resource.clone()) {
            bail!(
                "{at}.resource: '{resource}' is profiled twice; one function id per Lambda function"
            );
        }
        // (name, weight, payload, simulate scale)
        let payloads: Vec<(String, f64, serde_json::Value, f64)> = if f.payloads.is_empty() {
            let p = read_payload(f.payload.as_ref(), f.payload_file.as_ref(), base, &at)?;
            vec![("default".into(), 1.0, p, 1.0)]
        } else {
            if f.payload.is_some() || f.payload_file.is_some() {
                bail!("{at}: give payload (or payload_file) or payloads, not both");
            }
            if f.payloads.len() > MAX_PAYLOADS {
                bail!(
                    "{at}.payloads: at most {MAX_PAYLOADS} payloads per function, found {}",
                    f.payloads.len()
                );
            }
            let mut names = BTreeSet::new();
            let mut out = Vec::new();
            for (k, p) in f.payloads.iter().enumerate() {
                let pat = format!("{at}.payloads[{k}]");
                let name = p.name.clone().unwrap_or_else(|| format!("payload-{k}"));
                if name.is_empty() || !names.insert(name.clone()) {
                    bail!(
                        "{pat}.name: '{name}' must be a name no other payload of '{}' has",
                        f.id
                    );
                }
                if !(p.weight.is_finite() && p.weight > 0.0) {
                    bail!("{pat}.weight: must be a number > 0, found {}", p.weight);
                }
                let scale = p.simulate_scale.unwrap_or(1.0);
                if !(scale.is_finite() && (0.01..=100.0).contains(&scale)) {
                    bail!("{pat}.simulate_scale: must be a number in [0.01, 100], found {scale}");
                }
                let body = read_payload(p.payload.as_ref(), p.payload_file.as_ref(), base, &pat)?;
                out.push((name, p.weight, body, scale));
            }
            let total: f64 = out.iter().map(|p| p.1).sum();
            out.iter_mut().for_each(|p| p.1 /= total);
            out
        };
        if let Some(m) = &f.memory {
            check_memory_options(m, &format!("{at}.memory"))?;
        }
        let candidates = plan.memory_of(f).sizes();
        let variants: Vec<PlanVariant> = if f.variants.is_empty() {
            vec![PlanVariant {
                name: "default".into(),
                env: BTreeMap::new(),
                payload: None,
                accuracy: None,
                simulate: f.simulate.clone(),
            }]
        } else {
            if f.simulate.is_some() {
                bail!(
                    "{at}.simulate: a function with variants gives each variant its own simulate curve"
                );
            }
            f.variants.clone()
        };
        let mut names = BTreeSet::new();
        for (j, v) in variants.iter().enumerate() {
            let vat = format!("{at}.variants[{j}]");
            if !names.insert(v.name.clone()) {
                bail!("{vat}.name: '{}' is used twice in '{}'", v.name, f.id);
            }
            if variants.len() > 1 && v.env.is_empty() && v.payload.is_none() {
                bail!(
                    "{vat}: variant '{}' says neither env nor payload: how is it selected?",
                    v.name
                );
            }
            let mut target_payloads = Vec::new();
            for (name, weight, given, scale) in &payloads {
                let mut p = given.clone();
                if let Some(fields) = &v.payload {
                    match p.as_object_mut() {
                        Some(obj) => obj.extend(fields.clone()),
                        None => bail!(
                            "{vat}.payload: the variant sets payload fields but the function's payload '{name}' is not a JSON object"
                        ),
                    }
                }
                target_payloads.push(TargetPayload {
                    name: name.clone(),
                    weight: *weight,
                    body: serde_json::to_vec(&p)?,
                    given: given.clone(),
                    simulate_scale: *scale,
                });
            }
            if simulate && v.simulate.is_none() {
                bail!(
                    "{vat}.simulate: missing: --simulate needs the true curve of every variant ({{alpha_ms, beta_ms, gamma_per_mb}} or cpu_share{})",
                    if f.variants.is_empty() {
                        ", as functions[…].simulate"
                    } else {
                        ""
                    }
                );
            }
            if let Some(Err(e)) = v.simulate.as_ref().map(SimTruth::check) {
                bail!("{vat}.simulate: {e}");
            }
            targets.push(Target {
                function: i,
                variant: j,
                function_id: f.id.clone(),
                variant_name: v.name.clone(),
                resource: resource.clone(),
                candidates: candidates.clone(),
                selector: VariantSelector {
                    env: v.env.clone(),
                    payload: v.payload.clone(),
                },
                payloads: target_payloads,
                truth: v.simulate.clone(),
            });
        }
    }
    // The workflow: --workflow-from, the plan's workflow_from, the plan's, or a chain.
    let from = workflow_from
        .map(Path::to_path_buf)
        .or_else(|| plan.workflow_from.as_ref().map(|p| base.join(p)));
    let mut orchestration_from = None;
    let (workflow, accuracy) = match (&from, &plan.workflow) {
        (Some(_), Some(_)) if workflow_from.is_none() => {
            bail!("workflow: give workflow or workflow_from, not both")
        }
        (Some(file), _) => {
            let text = read_text(file)?;
            let b = Bundle::from_json(&text)
                .with_context(|| format!("workflow_from: in bundle {}", file.display()))?;
            orchestration_from = b.pricing.step_functions.map(|s| match s {
                StepFunctionsPricing::Standard { .. } => Orchestration::Standard,
                StepFunctionsPricing::Express { .. } => Orchestration::Express,
            });
            (b.workflow, plan.accuracy.clone().or(b.accuracy))
        }
        (None, Some(w)) => (w.clone(), plan.accuracy.clone()),
        (None, None) => {
            let mut edges = Vec::new();
            let mut prev = "Start".to_string();
            for f in &plan.functions {
                edges.push(Edge::new(prev.clone(), f.id.clone(), 1.0));
                prev = f.id.clone();
            }
            edges.push(Edge::new(prev, "End", 1.0));
            (
                WorkflowSpec {
                    edges,
                    orchestration: Default::default(),
                    states: Vec::new(),
                    maps: Vec::new(),
                    sites: Vec::new(),
                    latency_model: None,
                },
                plan.accuracy.clone(),
            )
        }
    };
    let orchestration = match plan.pricing.step_functions {
        Some(PlanOrchestration::Standard) => Some(Orchestration::Standard),
        Some(PlanOrchestration::Express) => Some(Orchestration::Express),
        None => orchestration_from,
    };
    let region = plan.region.clone().unwrap_or_else(|| DEFAULT_REGION.into());
    let pricing = region_pricing(&plan, &region, orchestration)?;
    let loaded = LoadedPlan {
        digest: digest(text),
        orchestration,
        path: path.to_path_buf(),
        targets,
        workflow,
        accuracy,
        pricing,
        plan,
    };
    // Check everything the bundle will need now, before any money is spent: memory options,
    // the workflow over the ids, the accuracy score.
    let probe = loaded.bundle(
        |_| DurationModel::Exponential(ExpModel::constant(100.0)),
        Provenance {
            tool: "optiserve".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            created_at: None,
            region: None,
            source: None,
        },
    );
    probe.validate().map_err(|e| {
        let msg = e.to_string();
        anyhow::anyhow!("{}", msg.strip_prefix("$.").unwrap_or(&msg))
    })?;
    Ok(loaded)
}

impl LoadedPlan {
    /// Prices the plan for `region` (the one the AWS configuration resolved, for a plan that
    /// names none).
    pub fn set_region(&mut self, region: &str) -> anyhow::Result<()> {
        self.pricing = region_pricing(&self.plan, region, self.orchestration)
            .with_context(|| format!("in plan {}", self.path.display()))?;
        Ok(())
    }

    /// The simulated cloud of a plan: each function starts at its largest memory (at most
    /// 3008 MB) with its first variant selected.
    pub fn sim_cloud(&self, seed: Option<u64>) -> SimCloud {
        let (settings, functions) = self.sim_parts(seed);
        SimCloud::new(settings, functions)
    }

    /// The simulated state machines of the functions that name one: each named Task state passes
    /// the function's payload with its first variant's fields (as [`LoadedPlan::sim_cloud`]
    /// starts every function with its first variant), the states one after the other.
    pub fn sim_state_machines(&self) -> SimStateMachines {
        let mut machines: BTreeMap<String, serde_json::Map<String, serde_json::Value>> =
            BTreeMap::new();
        for t in self.targets.iter().filter(|t| t.variant == 0) {
            let Some(site) = &self.plan.functions[t.function].state_machine else {
                continue;
            };
            let payload: serde_json::Value = t
                .payloads
                .first()
                .and_then(|p| serde_json::from_slice(&p.body).ok())
                .unwrap_or_default();
            let states = machines.entry(site.arn.clone()).or_default();
            for name in &site.states {
                states.insert(
                    name.clone(),
                    serde_json::json!({
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": t.resource, "Payload": payload},
                    }),
                );
            }
        }
        SimStateMachines::new(machines.into_iter().map(|(arn, mut states)| {
            let names: Vec<String> = states.keys().cloned().collect();
            for (i, n) in names.iter().enumerate() {
                if let Some(s) = states.get_mut(n).and_then(|s| s.as_object_mut()) {
                    match names.get(i + 1) {
                        Some(next) => s.insert("Next".into(), next.clone().into()),
                        None => s.insert("End".into(), true.into()),
                    };
                }
            }
            let start = names.first().cloned().unwrap_or_default();
            let definition = serde_json::json!({"StartAt": start, "States": states});
            (arn, definition.to_string())
        }))
    }

    /// The settings and functions of [`LoadedPlan::sim_cloud`].
    pub fn sim_parts(&self, seed: Option<u64>) -> (SimSettings, Vec<SimFunction>) {
        let plan = self;
        let mut settings = plan.plan.simulate.clone().unwrap_or_default();
        if let Some(s) = seed {
            settings.seed = s;
        }
        let mut functions: Vec<SimFunction> = Vec::new();
        for t in &plan.targets {
            if t.variant == 0 {
                let f = &plan.plan.functions[t.function];
                functions.push(SimFunction {
                    name: t.resource.clone(),
                    memory_mb: t.candidates.last().copied().unwrap_or(1024).min(3008),
                    env: t.selector.env.clone(),
                    timeout_s: f.simulate_timeout_s.unwrap_or(30),
                    variants: Vec::new(),
                    payload_scales: t
                        .payloads
                        .iter()
                        .filter(|_| t.weighted())
                        .map(|p| (p.given.clone(), p.simulate_scale))
                        .collect(),
                });
            }
            if let (Some(f), Some(truth)) = (functions.last_mut(), &t.truth) {
                f.variants.push((
                    Selector {
                        env: t.selector.env.clone(),
                        payload: t.selector.payload.clone().map(serde_json::Value::Object),
                    },
                    truth.clone(),
                ));
            }
        }
        (settings, functions)
    }

    /// A bundle skeleton: every function and variant of the plan, with models from `model`.
    pub fn bundle(
        &self,
        model: impl Fn(&Target) -> DurationModel,
        provenance: Provenance,
    ) -> Bundle {
        let mut functions: Vec<Function> = Vec::new();
        for t in &self.targets {
            let f = &self.plan.functions[t.function];
            if functions.len() <= t.function {
                functions.push(Function {
                    id: f.id.clone(),
                    resource: Some(t.resource.clone()),
                    memory: self.plan.memory_of(f),
                    variants: Vec::new(),
                    package: None,
                    provisioned_concurrency: None,
                    state_machine: f.state_machine.clone(),
                });
            }
            let accuracy = f.variants.get(t.variant).and_then(|v| v.accuracy.clone());
            let select = (!t.selector.env.is_empty() || t.selector.payload.is_some())
                .then(|| t.selector.clone());
            if let Some(func) = functions.last_mut() {
                func.variants.push(Variant {
                    name: t.variant_name.clone(),
                    accuracy,
                    model: model(t),
                    fit: None,
                    samples: Vec::new(),
                    select,
                    cold_start: None,
                    payloads: Vec::new(),
                });
            }
        }
        Bundle {
            schema: SCHEMA_V1.to_string(),
            name: self.plan.name.clone(),
            description: self.plan.description.clone(),
            provenance,
            pricing: self.pricing.clone(),
            functions,
            workflow: self.workflow.clone(),
            accuracy: self.accuracy.clone(),
            deployed: BTreeMap::new(),
            workload: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use optiserve_core::regions::TABLE_SOURCE;

    fn load(extra: &str) -> anyhow::Result<LoadedPlan> {
        let text = format!("{extra}\n[[functions]]\nid = \"f\"\n");
        parse(&text, Path::new("plan.toml"), None, false)
    }

    #[test]
    fn the_region_selects_the_prices_and_the_bundle_keeps_them() {
        let p = load("region = \"sa-east-1\"\narchitecture = \"arm64\"\n[pricing]\nstep_functions = \"standard\"").unwrap();
        assert_eq!(p.pricing.region, "sa-east-1");
        assert_eq!(p.pricing.price_per_gb_second, 0.000_013_333_4);
        assert_eq!(
            p.pricing.step_functions,
            Some(StepFunctionsPricing::Standard {
                price_per_transition: 0.0375 / 1000.0
            })
        );
        let b = p.bundle(
            |_| DurationModel::Exponential(ExpModel::constant(1.0)),
            Provenance {
                tool: "t".into(),
                tool_version: "0".into(),
                created_at: None,
                region: None,
                source: None,
            },
        );
        let back = Bundle::from_json(&b.to_json()).unwrap();
        assert_eq!(back.pricing, p.pricing);
        assert_eq!(back.pricing.source.as_deref(), Some(TABLE_SOURCE));
        // No region: us-east-1 until the run resolves one.
        let mut p = load("").unwrap();
        assert_eq!(p.pricing.region, "us-east-1");
        p.set_region("af-south-1").unwrap_err();
        p.set_region("eu-west-3").unwrap();
        assert_eq!(p.pricing.region, "eu-west-3");
    }

    #[test]
    fn an_unpriced_region_asks_for_the_prices_and_the_plan_can_give_them() {
        let e = format!("{:#}", load("region = \"il-central-1\"").unwrap_err());
        assert!(
            e.contains("il-central-1")
                && e.contains("price_per_gb_second")
                && e.contains("[pricing]"),
            "{e}"
        );
        let e = format!("{:#}", load("region = \"eu-south-1\"").unwrap_err());
        assert!(e.contains("price_per_request"), "{e}");
        let p = load("region = \"il-central-1\"\n[pricing]\nprice_per_gb_second = 0.00002\nprice_per_request = 2.5e-7").unwrap();
        assert_eq!(
            (p.pricing.price_per_gb_second, p.pricing.price_per_request),
            (0.00002, 2.5e-7)
        );
        let e = format!(
            "{:#}",
            load("[pricing]\nprice_per_request = -1.0").unwrap_err()
        );
        assert!(e.contains("pricing.price_per_request"), "{e}");
    }
}
