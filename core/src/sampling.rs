//! The profiling strategy (thesis §3.1, after Parrotfish): which memory to measure next, how many
//! invocations to make there, and when to stop. A pure state machine: the caller (the `optiserve
//! profile` command, or a browser tool) performs the invocations and feeds their results back.
//!
//! ```text
//! let mut s = Sampler::new(candidates, pricing, SamplerSettings::default())?;
//! loop {
//!     match s.next_step() {
//!         Step::Measure(request) => { /* configure, warm up, invoke */ s.record(batch)?; }
//!         Step::Done(reason) => break,
//!     }
//! }
//! let result = s.result();
//! ```
//!
//! **Where to measure.** The seeds are the smallest candidate memory, the one a third of the way up
//! the range and the largest. Then, with the model `ET(m)` selected and fitted (by
//! [`select_from`], among the exponential and the CPU-share model, or the family forced by
//! [`SamplerSettings::model`]) to every warm sample so far and `cost(m)` its predicted
//! per-invocation cost, the next memory is the unexplored candidate that minimises
//!
//! ```text
//! cost(m) · (1 + K(m)),     K(m) = Σ_s exp(−(m − s)² / (2σ²)),   σ = 200 MB
//! ```
//!
//! over the memories `s` measured so far (σ is widened to the grid's median step on grids coarser
//! than 200 MB, where a narrower belief could never concentrate). `1 + K` is the belief term: a Gaussian of width σ around
//! every measured memory, so it is large where the model is already pinned down and 1 where nothing
//! is known; minimising the product favours cheap memories that are still uncertain. The search stops
//! when the belief at the predicted optimum `m* = argmin cost(m)` has concentrated, `1 + K(m*) ≥ 3`
//! (about three measured memories within σ of it), or at a cap (20 memories, an invocation or a
//! cost budget), or when every feasible candidate has been measured. These are the thesis' rules as
//! its public artifact resolves them (see the README for where we differ).
//!
//! **Which model.** With fewer than four measured memories the exponential predicts (there is
//! nothing to cross-validate on); from four on, the family with the lowest leave-one-memory-out
//! error (`crate::model::select`). The search leaves the table out: it must predict memories it has
//! not measured, where a table is only flat or linear between its points. The result
//! ([`SamplingResult::fit`]) selects among every family, the table included, with every family's
//! errors. On a CPU-share curve the cheapest memory is the knee (when the serial part is negative)
//! or the smallest memory, and a model with a knee puts the predicted optimum, hence the next
//! samples, around it: on curves shaped like the real functions of `docs/models.md` the search
//! measures 8–12 memories (32–48 invocations), and the model it selects is within 0.7–1.5% of the
//! true curve over the whole range, where the exponential alone is 2.4–8.3% off
//! (`finds_the_knee_of_cpu_share_curves`).
//!
//! **At one memory.** One discarded warm-up call after every configuration change, then
//! `samples_per_memory` warm samples. While their coefficient of variation exceeds `cov_threshold`
//! (0.05) more samples are **added** (never swapped in, which would bias the mean), up to
//! `max_extra_samples`. A cold start (the report has an Init Duration) is kept but does not count
//! towards the warm samples nor enter the model. A timeout or an out-of-memory kill raises the memory
//! floor above that memory (and abandons it); other failures are recorded and never counted as
//! samples (`max_failures_per_memory` of them stop the search with an error). When a memory's mean
//! warm duration is significantly above that of a smaller measured memory (by more than
//! `rise_tolerance` and two standard errors), both are measured again on fresh instances, once; the
//! earlier samples are kept as superseded and leave the model.

use std::collections::{BTreeMap, VecDeque};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{DurationModel, ModelChoice, ModelFamily, ModelSelection, Sample, select_from};
use crate::pricing::Pricing;

/// Settings of the strategy (defaults: the thesis and its artifact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SamplerSettings {
    /// Warm samples per memory (3).
    pub samples_per_memory: u32,
    /// At most this many samples added at one memory while the CoV stays high (8).
    pub max_extra_samples: u32,
    /// CoV above which more samples are taken (0.05).
    pub cov_threshold: f64,
    /// Width of the belief bumps in MB (200).
    pub sigma_mb: f64,
    /// Stop when `1 + K(m*)` reaches this (3).
    pub stop_belief: f64,
    /// At most this many distinct memories are measured (20).
    pub max_memories: usize,
    /// Budget of invocations (warm-ups and failures included).
    pub max_invocations: Option<u64>,
    /// Budget in USD (billed duration at the configured memory, plus the request price).
    pub max_cost_usd: Option<f64>,
    /// Failed invocations (errors other than timeouts and out-of-memory) at one memory that stop
    /// the search (checked between batches, so the batch reaching it completes).
    pub max_failures_per_memory: u32,
    /// A mean that rises with memory by more than this fraction (and two standard errors) is
    /// measured again (0.05).
    pub rise_tolerance: f64,
    /// One discarded warm-up call after each configuration change (true).
    pub warmup: bool,
    /// The model family: chosen by cross-validation (`auto`, the default) or forced.
    pub model: ModelChoice,
}

impl Default for SamplerSettings {
    fn default() -> Self {
        SamplerSettings {
            samples_per_memory: 3,
            max_extra_samples: 8,
            cov_threshold: 0.05,
            sigma_mb: 200.0,
            stop_belief: 3.0,
            max_memories: 20,
            max_invocations: None,
            max_cost_usd: None,
            max_failures_per_memory: 5,
            rise_tolerance: 0.05,
            warmup: true,
            model: ModelChoice::Auto,
        }
    }
}

/// Errors in the sampler's inputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SamplingError {
    /// No candidate memory.
    #[error("no candidate memory sizes to sample")]
    NoCandidates,
    /// A setting out of range.
    #[error("sampler setting {name}: {message}")]
    Setting {
        /// The setting.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// [`Sampler::record`] without a pending request.
    #[error("a batch was recorded but no measurement was requested (the search is finished)")]
    NothingRequested,
    /// A batch whose shape does not match the request.
    #[error("the batch does not answer the request: {0}")]
    Mismatch(String),
}

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Completed; the duration is a sample.
    Ok,
    /// Ran into the function's timeout.
    Timeout,
    /// Killed for lack of memory (or used all of it).
    OutOfMemory,
    /// Any other failure (the function raised, the runtime crashed, no report).
    Error,
}

/// One invocation as the caller observed it (from the REPORT line and the response).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Invocation {
    /// How it ended.
    pub status: Status,
    /// Reported Duration (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// Reported Billed Duration (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_duration_ms: Option<f64>,
    /// Reported Max Memory Used (MB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_used_mb: Option<f64>,
    /// Reported Init Duration (ms): present only on a cold start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_duration_ms: Option<f64>,
    /// What went wrong, for a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Invocation {
    /// A successful warm invocation.
    pub fn ok(duration_ms: f64) -> Self {
        Invocation {
            status: Status::Ok,
            duration_ms: Some(duration_ms),
            billed_duration_ms: Some(duration_ms.ceil()),
            max_memory_used_mb: None,
            init_duration_ms: None,
            message: None,
        }
    }

    /// A failure of the given kind.
    pub fn failed(status: Status, message: impl Into<String>) -> Self {
        Invocation {
            status,
            duration_ms: None,
            billed_duration_ms: None,
            max_memory_used_mb: None,
            init_duration_ms: None,
            message: Some(message.into()),
        }
    }

    /// The status once the memory rule is applied: a "successful" invocation whose Max Memory
    /// Used reached the configured memory counts as out of memory.
    pub fn effective_status(&self, memory_mb: u32) -> Status {
        match (self.status, self.max_memory_used_mb) {
            (Status::Ok, Some(used)) if used >= f64::from(memory_mb) => Status::OutOfMemory,
            (Status::Ok, _) if self.duration_ms.is_none_or(|d| !(d.is_finite() && d > 0.0)) => {
                Status::Error
            }
            (s, _) => s,
        }
    }

    /// A cold start: the report had an Init Duration.
    pub fn is_cold(&self) -> bool {
        self.init_duration_ms.is_some()
    }
}

/// What the caller should do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Configure the memory (when it differs; `fresh` forces new instances), make one discarded
    /// warm-up call when `warmup`, then `count` invocations, and [`Sampler::record`] them.
    Measure(Request),
    /// The search is over.
    Done(StopReason),
}

/// One measurement request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    /// Memory to measure at (MB).
    pub memory_mb: u32,
    /// Make one discarded warm-up call first.
    pub warmup: bool,
    /// Start from fresh instances (a re-measurement): the caller must force a configuration change.
    pub fresh: bool,
    /// Invocations to make.
    pub count: u32,
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Batch {
    /// The warm-up call (discarded as a sample; a timeout or out-of-memory still counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Invocation>,
    /// The measured invocations.
    pub invocations: Vec<Invocation>,
}

/// Why the search stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// The belief at the predicted optimum concentrated.
    Converged {
        /// The predicted optimum (MB).
        memory_mb: u32,
    },
    /// `max_memories` memories were measured.
    MemoryCap,
    /// The invocation budget is spent.
    InvocationCap,
    /// The cost budget is spent.
    CostCap,
    /// Every feasible candidate was measured.
    Exhausted,
    /// Every candidate memory timed out or ran out of memory.
    NoFeasibleMemory {
        /// The memory floor reached (MB).
        floor_mb: u32,
    },
    /// Too many failed invocations at one memory.
    TooManyFailures {
        /// Where (MB).
        memory_mb: u32,
        /// How many.
        failures: u32,
        /// The last failure's message.
        message: String,
    },
}

impl StopReason {
    /// True when the search ended because the function cannot be profiled.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            StopReason::NoFeasibleMemory { .. } | StopReason::TooManyFailures { .. }
        )
    }
}

/// One recorded successful invocation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SampleRecord {
    /// Reported duration (ms).
    pub duration_ms: f64,
    /// Reported billed duration (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_duration_ms: Option<f64>,
    /// Reported Max Memory Used (MB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_used_mb: Option<f64>,
    /// A cold start: kept, not in the warm model.
    pub cold: bool,
    /// Reported Init Duration of a cold start (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_duration_ms: Option<f64>,
    /// Replaced by a re-measurement: kept, not in the model.
    pub superseded: bool,
}

/// One recorded failed invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailureRecord {
    /// How it failed.
    pub status: Status,
    /// What was reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// It was the warm-up call.
    pub warmup: bool,
}

/// Everything measured at one memory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemoryRecord {
    /// Memory (MB).
    pub memory_mb: u32,
    /// Successful invocations in order (warm-ups excluded).
    pub samples: Vec<SampleRecord>,
    /// Failed invocations.
    pub failures: Vec<FailureRecord>,
    /// Invocations made here, warm-ups and failures included.
    pub invocations: u64,
    /// Samples added because the CoV stayed high.
    pub extra_samples: u32,
    /// Measured again after a rising duration.
    pub remeasured: bool,
    /// The Init Duration of every cold start seen here (warm-ups included: a configuration
    /// change makes the next invocation cold), ms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_durations_ms: Vec<f64>,
}

impl MemoryRecord {
    /// Durations of the current warm samples (cold and superseded excluded).
    pub fn warm(&self) -> Vec<f64> {
        self.samples
            .iter()
            .filter(|s| !s.cold && !s.superseded)
            .map(|s| s.duration_ms)
            .collect()
    }

    /// Mean of the warm samples, if any.
    pub fn mean_ms(&self) -> Option<f64> {
        let w = self.warm();
        (!w.is_empty()).then(|| w.iter().sum::<f64>() / w.len() as f64)
    }
}

/// Coefficient of variation (sample standard deviation / mean); 0 for fewer than two values.
pub fn cov(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    if mean > 0.0 { var.sqrt() / mean } else { 0.0 }
}

/// The measurement in progress at one memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Current {
    memory_mb: u32,
    /// The first batch (with its warm-up) has not been requested yet.
    first: bool,
    fresh: bool,
    /// Failures during this visit.
    failures: u32,
    /// Extra samples requested during this visit.
    extra: u32,
}

/// What the search produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SamplingResult {
    /// Why it stopped.
    pub stop: StopReason,
    /// The model selected and fitted to the current warm samples, with every family's errors
    /// (none with no warm sample).
    pub fit: Option<ModelSelection>,
    /// The candidate with the lowest predicted cost at or above the floor.
    pub best_memory_mb: Option<u32>,
    /// Smallest usable memory (MB): candidates below it timed out or ran out of memory.
    pub floor_mb: u32,
    /// Per memory, in the order first measured.
    pub memories: Vec<MemoryRecord>,
    /// Invocations made, warm-ups and failures included.
    pub invocations: u64,
    /// What they cost (USD).
    pub cost_usd: f64,
}

/// The state machine. Serializable, so a run can be checkpointed; feeding it the same batches
/// always gives the same requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampler {
    settings: SamplerSettings,
    pricing: Pricing,
    candidates: Vec<u32>,
    floor_mb: u32,
    seeds: VecDeque<u32>,
    remeasure: VecDeque<u32>,
    records: BTreeMap<u32, MemoryRecord>,
    order: Vec<u32>,
    current: Option<Current>,
    pending: Option<Request>,
    done: Option<StopReason>,
    invocations: u64,
    cost_usd: f64,
}

impl Sampler {
    /// A search over `candidates` (MB, any order, duplicates ignored), costed with `pricing`.
    pub fn new(
        candidates: Vec<u32>,
        pricing: Pricing,
        settings: SamplerSettings,
    ) -> Result<Self, SamplingError> {
        let mut candidates = candidates;
        candidates.sort_unstable();
        candidates.dedup();
        candidates.retain(|&m| m > 0);
        let (Some(&lo), Some(&hi)) = (candidates.first(), candidates.last()) else {
            return Err(SamplingError::NoCandidates);
        };
        let setting = |name, message: &str| {
            Err(SamplingError::Setting {
                name,
                message: message.to_string(),
            })
        };
        if settings.samples_per_memory == 0 {
            return setting("samples_per_memory", "must be at least 1");
        }
        if !(settings.cov_threshold.is_finite() && settings.cov_threshold >= 0.0) {
            return setting("cov_threshold", "must be a finite number >= 0");
        }
        if !(settings.sigma_mb.is_finite() && settings.sigma_mb > 0.0) {
            return setting("sigma_mb", "must be a finite number > 0");
        }
        if !(settings.stop_belief.is_finite() && settings.stop_belief >= 1.0) {
            return setting("stop_belief", "must be a finite number >= 1");
        }
        if settings.max_memories == 0 {
            return setting("max_memories", "must be at least 1");
        }
        if !(settings.rise_tolerance.is_finite() && settings.rise_tolerance >= 0.0) {
            return setting("rise_tolerance", "must be a finite number >= 0");
        }
        if settings
            .max_cost_usd
            .is_some_and(|c| !(c.is_finite() && c > 0.0))
        {
            return setting("max_cost_usd", "must be a finite number > 0");
        }
        let third = nearest(&candidates, f64::from(lo) + f64::from(hi - lo) / 3.0);
        let mut seeds = VecDeque::new();
        for m in [lo, third, hi] {
            if !seeds.contains(&m) {
                seeds.push_back(m);
            }
        }
        Ok(Sampler {
            settings,
            pricing,
            floor_mb: lo,
            candidates,
            seeds,
            remeasure: VecDeque::new(),
            records: BTreeMap::new(),
            order: Vec::new(),
            current: None,
            pending: None,
            done: None,
            invocations: 0,
            cost_usd: 0.0,
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &SamplerSettings {
        &self.settings
    }

    /// Invocations recorded so far (warm-ups and failures included).
    pub fn invocations(&self) -> u64 {
        self.invocations
    }

    /// USD spent so far.
    pub fn cost_usd(&self) -> f64 {
        self.cost_usd
    }

    /// The next step. Calling it again without [`Sampler::record`] returns the same request.
    pub fn next_step(&mut self) -> Step {
        if let Some(r) = &self.done {
            return Step::Done(r.clone());
        }
        if let Some(p) = self.pending {
            return Step::Measure(p);
        }
        match self.decide() {
            Ok(request) => {
                self.pending = Some(request);
                Step::Measure(request)
            }
            Err(reason) => {
                self.done = Some(reason.clone());
                Step::Done(reason)
            }
        }
    }

    /// Records the answer to the pending request.
    pub fn record(&mut self, batch: &Batch) -> Result<(), SamplingError> {
        self.record_batch(batch, None)
    }

    /// Records a batch the caller cut short because a budget ran out before every invocation
    /// could start (fewer invocations than requested, the warm-up possibly missing), and ends the
    /// search with `stop`.
    pub fn record_cut(&mut self, batch: &Batch, stop: StopReason) -> Result<(), SamplingError> {
        self.record_batch(batch, Some(stop))
    }

    fn record_batch(
        &mut self,
        batch: &Batch,
        cut: Option<StopReason>,
    ) -> Result<(), SamplingError> {
        let request = self.pending.ok_or(SamplingError::NothingRequested)?;
        if let Some(stop) = cut {
            if batch.invocations.len() > request.count as usize
                || (batch.warmup.is_some() && !request.warmup)
            {
                return Err(SamplingError::Mismatch(format!(
                    "a cut batch of {} invocations{} for a request of {}",
                    batch.invocations.len(),
                    if batch.warmup.is_some() {
                        " and a warm-up"
                    } else {
                        ""
                    },
                    request.count
                )));
            }
            self.done = Some(stop);
        } else if batch.warmup.is_some() != request.warmup {
            return Err(SamplingError::Mismatch(format!(
                "warm-up {} but {} requested",
                if batch.warmup.is_some() {
                    "given"
                } else {
                    "missing"
                },
                if request.warmup {
                    "one was"
                } else {
                    "none was"
                }
            )));
        }
        // A warm-up that timed out or ran out of memory ends the batch: the memory is infeasible.
        let warmup_killed = batch.warmup.as_ref().is_some_and(|w| {
            matches!(
                w.effective_status(request.memory_mb),
                Status::Timeout | Status::OutOfMemory
            )
        });
        if self.done.is_none()
            && batch.invocations.len() != request.count as usize
            && !(warmup_killed && batch.invocations.is_empty())
        {
            return Err(SamplingError::Mismatch(format!(
                "{} invocations for a request of {}",
                batch.invocations.len(),
                request.count
            )));
        }
        self.pending = None;
        let m = request.memory_mb;
        let mut floor_hit = false;
        let calls = batch
            .warmup
            .iter()
            .map(|w| (w, true))
            .chain(batch.invocations.iter().map(|i| (i, false)));
        for (inv, warmup) in calls {
            self.invocations += 1;
            let billed = inv.billed_duration_ms.or(inv.duration_ms).unwrap_or(0.0);
            self.cost_usd += self.pricing.invocation_cost(f64::from(m), billed);
            let record = self.records.entry(m).or_insert_with(|| MemoryRecord {
                memory_mb: m,
                ..MemoryRecord::default()
            });
            record.invocations += 1;
            if let Some(init) = inv.init_duration_ms.filter(|x| x.is_finite() && *x >= 0.0) {
                record.init_durations_ms.push(init);
            }
            let status = inv.effective_status(m);
            match status {
                Status::Ok if warmup => {}
                Status::Ok => record.samples.push(SampleRecord {
                    duration_ms: inv.duration_ms.unwrap_or(0.0),
                    billed_duration_ms: inv.billed_duration_ms,
                    max_memory_used_mb: inv.max_memory_used_mb,
                    cold: inv.is_cold(),
                    init_duration_ms: inv.init_duration_ms,
                    superseded: false,
                }),
                failure => {
                    record.failures.push(FailureRecord {
                        status: failure,
                        message: inv.message.clone(),
                        warmup,
                    });
                    match failure {
                        Status::Timeout | Status::OutOfMemory => floor_hit = true,
                        _ => {
                            if let Some(c) = self.current.as_mut() {
                                c.failures += 1;
                            }
                        }
                    }
                }
            }
        }
        if !self.order.contains(&m) {
            self.order.push(m);
        }
        if floor_hit {
            self.raise_floor(m);
        }
        Ok(())
    }

    /// The result so far (final once [`Sampler::next_step`] returned [`Step::Done`]).
    pub fn result(&self) -> SamplingResult {
        let fit = self.fit(&ModelFamily::ALL);
        let best_memory_mb = fit.as_ref().and_then(|f| self.best(&f.model));
        SamplingResult {
            stop: self.done.clone().unwrap_or(StopReason::Exhausted),
            fit,
            best_memory_mb,
            floor_mb: self.floor_mb,
            memories: self
                .order
                .iter()
                .filter_map(|m| self.records.get(m).cloned())
                .collect(),
            invocations: self.invocations,
            cost_usd: self.cost_usd,
        }
    }

    /// The warm samples the model is fitted to.
    pub fn warm_samples(&self) -> Vec<Sample> {
        self.records
            .values()
            .flat_map(|r| {
                r.warm()
                    .into_iter()
                    .map(move |d| Sample::new(f64::from(r.memory_mb), d))
            })
            .collect()
    }

    /// The model selected among `families` (or the forced one) for the warm samples.
    fn fit(&self, families: &[ModelFamily]) -> Option<ModelSelection> {
        let samples = self.warm_samples();
        if samples.is_empty() {
            return None;
        }
        select_from(&samples, self.settings.model, families).ok()
    }

    fn feasible(&self) -> impl Iterator<Item = u32> + '_ {
        self.candidates
            .iter()
            .copied()
            .filter(|&m| m >= self.floor_mb)
    }

    fn predicted_cost(&self, model: &DurationModel, m: u32) -> f64 {
        let d = model.duration_ms(f64::from(m));
        self.pricing.invocation_cost(f64::from(m), d)
    }

    fn best(&self, model: &DurationModel) -> Option<u32> {
        self.feasible().min_by(|&a, &b| {
            self.predicted_cost(model, a)
                .total_cmp(&self.predicted_cost(model, b))
        })
    }

    /// The belief width: `sigma_mb`, or the grid's typical step when that is wider (a belief
    /// narrower than the grid could never concentrate on a coarse grid).
    fn sigma(&self) -> f64 {
        let mut steps: Vec<u32> = self.candidates.windows(2).map(|w| w[1] - w[0]).collect();
        steps.sort_unstable();
        let median = steps.get(steps.len() / 2).copied().unwrap_or(0);
        self.settings.sigma_mb.max(f64::from(median))
    }

    /// `1 + K(m)`.
    fn belief(&self, m: u32) -> f64 {
        let sigma = self.sigma();
        let s2 = 2.0 * sigma * sigma;
        1.0 + self
            .records
            .values()
            .filter(|r| !r.warm().is_empty())
            .map(|r| {
                let d = f64::from(m) - f64::from(r.memory_mb);
                (-d * d / s2).exp()
            })
            .sum::<f64>()
    }

    fn measured(&self, m: u32) -> bool {
        self.records.get(&m).is_some_and(|r| r.invocations > 0)
    }

    fn raise_floor(&mut self, failed_mb: u32) {
        let was_first_probe = self.order.first() == Some(&failed_mb)
            || self
                .candidates
                .first()
                .is_some_and(|&lo| lo == failed_mb || self.floor_mb == failed_mb);
        if let Some(&next) = self.candidates.iter().find(|&&c| c > failed_mb) {
            self.floor_mb = self.floor_mb.max(next);
        } else {
            self.floor_mb = failed_mb.saturating_add(1);
        }
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.memory_mb == failed_mb)
        {
            self.current = None;
        }
        // Probe upwards quickly from a failed smallest memory: double it (within the range).
        if was_first_probe
            && !self
                .seeds
                .iter()
                .any(|&s| s >= self.floor_mb && s <= failed_mb.saturating_mul(2))
        {
            let target = f64::from(failed_mb) * 2.0;
            if let Some(m) = self
                .candidates
                .iter()
                .copied()
                .filter(|&c| c >= self.floor_mb && !self.measured(c))
                .min_by(|&a, &b| {
                    (f64::from(a) - target)
                        .abs()
                        .total_cmp(&(f64::from(b) - target).abs())
                })
            {
                self.seeds.push_front(m);
            }
        }
        self.seeds.retain(|&s| s >= self.floor_mb);
        self.remeasure.retain(|&s| s >= self.floor_mb);
    }

    /// Budget check, shared by every request.
    fn budget(&self) -> Result<(), StopReason> {
        if let Some(cap) = self.settings.max_invocations
            && self.invocations >= cap
        {
            return Err(StopReason::InvocationCap);
        }
        if let Some(cap) = self.settings.max_cost_usd
            && self.cost_usd >= cap
        {
            return Err(StopReason::CostCap);
        }
        Ok(())
    }

    fn decide(&mut self) -> Result<Request, StopReason> {
        loop {
            if let Some(cur) = self.current.clone() {
                if let Some(r) = self.continue_current(&cur)? {
                    self.budget()?;
                    return Ok(r);
                }
                self.current = None;
                self.check_rise(cur.memory_mb);
                continue;
            }
            if self.feasible().next().is_none() {
                return Err(StopReason::NoFeasibleMemory {
                    floor_mb: self.floor_mb,
                });
            }
            let next = self.choose()?;
            self.budget()?;
            let fresh = self.measured(next);
            if fresh && let Some(r) = self.records.get_mut(&next) {
                for s in &mut r.samples {
                    s.superseded = true;
                }
                r.remeasured = true;
            }
            if !self.order.contains(&next) {
                self.order.push(next);
            }
            self.current = Some(Current {
                memory_mb: next,
                first: true,
                fresh,
                failures: 0,
                extra: 0,
            });
        }
    }

    /// The next request at the memory being measured, or `None` when it is finished.
    fn continue_current(&mut self, cur: &Current) -> Result<Option<Request>, StopReason> {
        let m = cur.memory_mb;
        let record = self.records.get(&m).cloned().unwrap_or_default();
        if cur.failures >= self.settings.max_failures_per_memory {
            let message = record
                .failures
                .iter()
                .rev()
                .find_map(|f| f.message.clone())
                .unwrap_or_else(|| "no message".to_string());
            return Err(StopReason::TooManyFailures {
                memory_mb: m,
                failures: cur.failures,
                message,
            });
        }
        let warm = record.warm();
        let need = self.settings.samples_per_memory as usize;
        let warmup = self.settings.warmup;
        let request = |count: usize, first: bool| Request {
            memory_mb: m,
            warmup: first && warmup,
            fresh: first && cur.fresh,
            count: u32::try_from(count).unwrap_or(u32::MAX),
        };
        let next = if cur.first {
            Some(request(need, true))
        } else if warm.len() < need {
            Some(request(need - warm.len(), false))
        } else if cov(&warm) > self.settings.cov_threshold
            && cur.extra < self.settings.max_extra_samples
        {
            if let Some(c) = self.current.as_mut() {
                c.extra += 1;
            }
            if let Some(r) = self.records.get_mut(&m) {
                r.extra_samples += 1;
            }
            Some(request(1, false))
        } else {
            None
        };
        if next.is_some()
            && let Some(c) = self.current.as_mut()
        {
            c.first = false;
        }
        Ok(next)
    }

    /// After finishing `m`: a mean significantly above that of a smaller measured memory queues both
    /// for one re-measurement.
    fn check_rise(&mut self, m: u32) {
        let stats = |r: &MemoryRecord| {
            let w = r.warm();
            let n = w.len() as f64;
            let mean = w.iter().sum::<f64>() / n;
            let se = if w.len() > 1 {
                cov(&w) * mean / n.sqrt()
            } else {
                0.0
            };
            (mean, se)
        };
        let measured: Vec<&MemoryRecord> = self
            .records
            .values()
            .filter(|r| r.memory_mb >= self.floor_mb && !r.warm().is_empty())
            .collect();
        let Some(pos) = measured.iter().position(|r| r.memory_mb == m) else {
            return;
        };
        let neighbours = [pos.checked_sub(1).map(|p| (p, pos)), Some((pos, pos + 1))];
        for (lo, hi) in neighbours.into_iter().flatten() {
            let (Some(a), Some(b)) = (measured.get(lo), measured.get(hi)) else {
                continue;
            };
            let ((ma, sa), (mb, sb)) = (stats(a), stats(b));
            let margin = (self.settings.rise_tolerance * ma).max(2.0 * (sa * sa + sb * sb).sqrt());
            if mb - ma > margin {
                for r in [a, b] {
                    if !r.remeasured && !self.remeasure.contains(&r.memory_mb) {
                        self.remeasure.push_back(r.memory_mb);
                    }
                }
            }
        }
    }

    fn choose(&mut self) -> Result<u32, StopReason> {
        if let Some(m) = self.remeasure.pop_front() {
            return Ok(m);
        }
        while let Some(m) = self.seeds.pop_front() {
            if m >= self.floor_mb && !self.measured(m) {
                return Ok(m);
            }
        }
        let measured = self
            .records
            .values()
            .filter(|r| r.invocations > 0 && r.memory_mb >= self.floor_mb)
            .count();
        if measured >= self.settings.max_memories {
            return Err(StopReason::MemoryCap);
        }
        let unexplored: Vec<u32> = self.feasible().filter(|&m| !self.measured(m)).collect();
        // The search predicts unmeasured memories, so it uses the parametric families (a table is
        // flat beyond its points); the result selects among every family.
        let fit = if self.warm_memories_at_or_above_floor() >= 2 {
            self.fit(&ModelFamily::PARAMETRIC)
        } else {
            None
        };
        let Some(fit) = fit else {
            // Fewer than two memories with warm data: halve the largest gap above the floor.
            return self.bisect(&unexplored).ok_or(StopReason::Exhausted);
        };
        let fit = &fit.model;
        if let Some(best) = self.best(fit)
            && self.belief(best) >= self.settings.stop_belief
        {
            return Err(StopReason::Converged { memory_mb: best });
        }
        unexplored
            .iter()
            .copied()
            .min_by(|&a, &b| {
                let score = |m| self.predicted_cost(fit, m) * self.belief(m);
                score(a).total_cmp(&score(b))
            })
            .ok_or(StopReason::Exhausted)
    }

    fn warm_memories_at_or_above_floor(&self) -> usize {
        self.records
            .values()
            .filter(|r| r.memory_mb >= self.floor_mb && !r.warm().is_empty())
            .count()
    }

    /// The unexplored candidate nearest the middle of the widest gap between measured memories
    /// (the floor and the largest candidate count as ends).
    fn bisect(&self, unexplored: &[u32]) -> Option<u32> {
        let mut ends: Vec<u32> = self.feasible().filter(|&m| self.measured(m)).collect();
        ends.push(self.floor_mb);
        if let Some(&hi) = self.candidates.last() {
            ends.push(hi);
        }
        ends.sort_unstable();
        ends.dedup();
        let (a, b) = ends
            .windows(2)
            .map(|w| (w[0], w[1]))
            .max_by_key(|(a, b)| b - a)?;
        let mid = (f64::from(a) + f64::from(b)) / 2.0;
        unexplored.iter().copied().min_by(|&x, &y| {
            (f64::from(x) - mid)
                .abs()
                .total_cmp(&(f64::from(y) - mid).abs())
        })
    }
}

/// The candidate nearest `target` (the smaller on a tie).
fn nearest(candidates: &[u32], target: f64) -> u32 {
    candidates
        .iter()
        .copied()
        .min_by(|&a, &b| {
            (f64::from(a) - target)
                .abs()
                .total_cmp(&(f64::from(b) - target).abs())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CpuShareModel, ExpModel};
    use proptest::prelude::*;
    use rand_core::Rng;
    use rand_core::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn range(lo: u32, hi: u32, step: u32) -> Vec<u32> {
        (lo..=hi).step_by(step as usize).collect()
    }

    /// A standard normal draw (Box–Muller).
    fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
        let u =
            |r: &mut Xoshiro256PlusPlus| ((r.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let (a, b) = (u(rng), u(rng));
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    }

    /// Runs a sampler against a curve with multiplicative noise; `fail` may turn an invocation
    /// into a failure. Returns the result.
    fn drive(
        sampler: &mut Sampler,
        curve: impl Fn(u32) -> f64,
        noise: f64,
        seed: u64,
        mut fail: impl FnMut(u32, u64) -> Option<Invocation>,
    ) -> SamplingResult {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut n = 0u64;
        let mut call = |m: u32, rng: &mut Xoshiro256PlusPlus| {
            n += 1;
            if let Some(f) = fail(m, n) {
                return f;
            }
            Invocation::ok(curve(m) * (1.0 + noise * normal(rng)).max(0.05))
        };
        for _ in 0..10_000 {
            match sampler.next_step() {
                Step::Done(_) => return sampler.result(),
                Step::Measure(r) => {
                    let warmup = r.warmup.then(|| call(r.memory_mb, &mut rng));
                    let invocations = (0..r.count).map(|_| call(r.memory_mb, &mut rng)).collect();
                    sampler
                        .record(&Batch {
                            warmup,
                            invocations,
                        })
                        .unwrap();
                }
            }
        }
        panic!("the sampler did not stop");
    }

    fn true_best(
        curve: &impl Fn(u32) -> f64,
        candidates: &[u32],
        floor: u32,
        p: &Pricing,
    ) -> (u32, f64) {
        candidates
            .iter()
            .filter(|&&m| m >= floor)
            .map(|&m| (m, p.invocation_cost(f64::from(m), curve(m))))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap()
    }

    fn exp_curve(a: f64, b: f64, g: f64) -> impl Fn(u32) -> f64 {
        move |m| ExpModel::new(a, b, g).duration_ms(f64::from(m))
    }

    #[test]
    fn seeds_are_smallest_third_and_largest_each_with_a_warm_up() {
        let mut s = Sampler::new(
            range(128, 3008, 64),
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        let mut seen = vec![];
        for _ in 0..3 {
            let Step::Measure(r) = s.next_step() else {
                panic!()
            };
            assert!(r.warmup && !r.fresh && r.count == 3, "{r:?}");
            // Calling next again gives the same request.
            assert_eq!(s.next_step(), Step::Measure(r));
            seen.push(r.memory_mb);
            let batch = Batch {
                warmup: Some(Invocation::ok(100.0)),
                invocations: vec![Invocation::ok(100.0); 3],
            };
            s.record(&batch).unwrap();
        }
        // 128 + (3008 - 128) / 3 = 1088.
        assert_eq!(seen, [128, 1088, 3008]);
        assert_eq!(s.invocations(), 12);
        assert!(s.result().memories.iter().all(|r| r.samples.len() == 3));
    }

    #[test]
    fn a_batch_that_does_not_answer_the_request_is_refused() {
        let mut s = Sampler::new(
            vec![128, 256],
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        assert_eq!(
            s.record(&Batch {
                warmup: None,
                invocations: vec![]
            }),
            Err(SamplingError::NothingRequested)
        );
        let Step::Measure(_) = s.next_step() else {
            panic!()
        };
        let e = s
            .record(&Batch {
                warmup: None,
                invocations: vec![Invocation::ok(1.0); 3],
            })
            .unwrap_err();
        assert!(e.to_string().contains("warm-up missing"), "{e}");
        let e = s
            .record(&Batch {
                warmup: Some(Invocation::ok(1.0)),
                invocations: vec![Invocation::ok(1.0); 2],
            })
            .unwrap_err();
        assert!(
            e.to_string().contains("2 invocations for a request of 3"),
            "{e}"
        );
        assert!(Sampler::new(vec![], Pricing::default(), SamplerSettings::default()).is_err());
        let bad = SamplerSettings {
            sigma_mb: 0.0,
            ..SamplerSettings::default()
        };
        assert!(
            Sampler::new(vec![128], Pricing::default(), bad)
                .unwrap_err()
                .to_string()
                .contains("sigma_mb")
        );
    }

    #[test]
    fn cold_starts_are_kept_but_do_not_count_nor_enter_the_model() {
        let mut s = Sampler::new(
            range(128, 1024, 128),
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        let Step::Measure(r) = s.next_step() else {
            panic!()
        };
        let cold = Invocation {
            init_duration_ms: Some(300.0),
            ..Invocation::ok(900.0)
        };
        s.record(&Batch {
            warmup: Some(Invocation::ok(100.0)),
            invocations: vec![Invocation::ok(100.0), cold, Invocation::ok(100.0)],
        })
        .unwrap();
        let Step::Measure(r2) = s.next_step() else {
            panic!()
        };
        assert_eq!(
            (r2.memory_mb, r2.warmup, r2.count),
            (r.memory_mb, false, 1),
            "one more warm sample"
        );
        s.record(&Batch {
            warmup: None,
            invocations: vec![Invocation::ok(100.0)],
        })
        .unwrap();
        let rec = &s.result().memories[0];
        assert_eq!(rec.samples.len(), 4);
        assert_eq!(rec.samples.iter().filter(|x| x.cold).count(), 1);
        assert_eq!(rec.warm(), vec![100.0; 3]);
        assert!(s.warm_samples().iter().all(|x| x.duration_ms == 100.0));
    }

    #[test]
    fn a_high_cov_adds_samples_one_at_a_time_up_to_the_cap() {
        let settings = SamplerSettings {
            max_extra_samples: 4,
            ..SamplerSettings::default()
        };
        let mut s = Sampler::new(range(128, 1024, 128), Pricing::default(), settings).unwrap();
        let Step::Measure(_) = s.next_step() else {
            panic!()
        };
        s.record(&Batch {
            warmup: Some(Invocation::ok(100.0)),
            invocations: vec![
                Invocation::ok(80.0),
                Invocation::ok(100.0),
                Invocation::ok(120.0),
            ],
        })
        .unwrap();
        for k in 0..4 {
            let Step::Measure(r) = s.next_step() else {
                panic!()
            };
            assert_eq!(
                (r.memory_mb, r.count, r.warmup),
                (128, 1, false),
                "extra {k}"
            );
            s.record(&Batch {
                warmup: None,
                invocations: vec![Invocation::ok(if k % 2 == 0 { 70.0 } else { 130.0 })],
            })
            .unwrap();
        }
        let Step::Measure(r) = s.next_step() else {
            panic!()
        };
        assert_ne!(
            r.memory_mb, 128,
            "the CoV stayed high: the cap ends the extras"
        );
        let rec = &s.result().memories[0];
        assert_eq!(
            (rec.samples.len(), rec.extra_samples),
            (7, 4),
            "added, not swapped"
        );
        // A CoV that falls below the threshold ends the extras early.
        let mut s = Sampler::new(
            range(128, 1024, 128),
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        let Step::Measure(_) = s.next_step() else {
            panic!()
        };
        s.record(&Batch {
            warmup: Some(Invocation::ok(1.0)),
            invocations: vec![
                Invocation::ok(100.0),
                Invocation::ok(100.0),
                Invocation::ok(115.0),
            ],
        })
        .unwrap();
        let Step::Measure(r) = s.next_step() else {
            panic!()
        };
        assert_eq!((r.memory_mb, r.count), (128, 1));
        s.record(&Batch {
            warmup: None,
            invocations: vec![Invocation::ok(100.0)],
        })
        .unwrap();
        assert!(cov(&[100.0, 100.0, 115.0, 100.0]) < 0.075);
        let Step::Measure(r) = s.next_step() else {
            panic!()
        };
        assert!(r.memory_mb == 128 || r.memory_mb == 384, "{r:?}");
    }

    #[test]
    fn out_of_memory_and_timeouts_raise_the_floor() {
        let candidates = range(128, 3008, 64);
        let mut s = Sampler::new(
            candidates.clone(),
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        let curve = exp_curve(200.0, 3000.0, 0.003);
        // Out of memory below 512 MB, reported three ways: killed, timeout at 128, Max Memory Used.
        let r = drive(&mut s, &curve, 0.0, 1, |m, _| match m {
            128 => Some(Invocation::failed(
                Status::OutOfMemory,
                "Runtime exited with error: signal: killed",
            )),
            192..=320 => Some(Invocation::failed(
                Status::Timeout,
                "Task timed out after 3.00 seconds",
            )),
            384..=448 => Some(Invocation {
                max_memory_used_mb: Some(f64::from(m)),
                ..Invocation::ok(5000.0)
            }),
            _ => None,
        });
        assert!(r.floor_mb >= 512 && r.floor_mb <= 576, "{r:#?}");
        assert!(!r.stop.is_error(), "{:?}", r.stop);
        let best = r.best_memory_mb.unwrap();
        assert!(best >= r.floor_mb);
        // Failures are recorded, never samples.
        for rec in &r.memories {
            if rec.memory_mb < 512 {
                assert!(
                    rec.samples.is_empty() && !rec.failures.is_empty(),
                    "{rec:?}"
                );
            }
        }
        // The first failure doubles the probe: 256 comes next, not 192.
        assert_eq!(
            r.memories[1].memory_mb,
            256,
            "{:?}",
            r.memories.iter().map(|m| m.memory_mb).collect::<Vec<_>>()
        );
        // Every memory fails: no feasible memory.
        let mut s = Sampler::new(
            vec![128, 256],
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        let r = drive(&mut s, &curve, 0.0, 1, |_, _| {
            Some(Invocation::failed(Status::OutOfMemory, "killed"))
        });
        assert!(matches!(r.stop, StopReason::NoFeasibleMemory { .. }) && r.stop.is_error());
    }

    #[test]
    fn failures_are_recorded_not_counted_and_too_many_stop_the_search() {
        let mut s = Sampler::new(
            range(128, 3008, 64),
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        let curve = exp_curve(200.0, 3000.0, 0.003);
        // Every fourth call fails.
        let r = drive(&mut s, &curve, 0.0, 3, |_, n| {
            n.is_multiple_of(4)
                .then(|| Invocation::failed(Status::Error, "boom"))
        });
        assert!(!r.stop.is_error(), "{:?}", r.stop);
        let failures: usize = r.memories.iter().map(|m| m.failures.len()).sum();
        assert!(failures > 0);
        for rec in &r.memories {
            assert!(rec.warm().len() >= 3, "{rec:?}");
            assert!(rec.invocations as usize >= rec.samples.len() + rec.failures.len());
        }
        let mut s = Sampler::new(
            range(128, 3008, 64),
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        let r = drive(&mut s, &curve, 0.0, 3, |m, _| {
            (m == 1088).then(|| Invocation::failed(Status::Error, "bad payload"))
        });
        match r.stop {
            StopReason::TooManyFailures {
                memory_mb,
                failures,
                message,
            } => {
                // Checked between batches: the batch that reaches the limit completes (4 + 3 calls).
                assert_eq!(
                    (memory_mb, failures, message.as_str()),
                    (1088, 7, "bad payload")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_duration_rising_with_memory_is_measured_again_on_fresh_instances() {
        let mut s = Sampler::new(
            range(128, 3008, 64),
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        let curve = exp_curve(200.0, 3000.0, 0.003);
        // The first visit to 3008 MB hits a noisy neighbour: twice as slow.
        let mut visits = 0;
        let mut requests = vec![];
        for _ in 0..1000 {
            match s.next_step() {
                Step::Done(_) => break,
                Step::Measure(r) => {
                    requests.push(r);
                    if r.memory_mb == 3008 && r.warmup {
                        visits += 1;
                    }
                    let slow = if r.memory_mb == 3008 && visits == 1 {
                        2.0
                    } else {
                        1.0
                    };
                    let d = curve(r.memory_mb) * slow;
                    s.record(&Batch {
                        warmup: r.warmup.then(|| Invocation::ok(d)),
                        invocations: vec![Invocation::ok(d); r.count as usize],
                    })
                    .unwrap();
                }
            }
        }
        let again: Vec<_> = requests
            .iter()
            .filter(|r| r.fresh)
            .map(|r| r.memory_mb)
            .collect();
        assert!(again.contains(&3008), "{requests:?}");
        assert!(
            again.contains(&1088),
            "both sides of the rise are measured again: {again:?}"
        );
        let r = s.result();
        let rec = r.memories.iter().find(|m| m.memory_mb == 3008).unwrap();
        assert!(rec.remeasured);
        assert_eq!(rec.samples.iter().filter(|x| x.superseded).count(), 3);
        assert_eq!(rec.warm(), vec![curve(3008); 3]);
        // Once only: a second rise is accepted.
        assert_eq!(again.iter().filter(|&&m| m == 3008).count(), 1);
    }

    #[test]
    fn budgets_stop_the_search() {
        let curve = exp_curve(200.0, 3000.0, 0.003);
        let settings = SamplerSettings {
            max_invocations: Some(10),
            ..SamplerSettings::default()
        };
        let mut s = Sampler::new(range(128, 3008, 64), Pricing::default(), settings).unwrap();
        let r = drive(&mut s, &curve, 0.0, 1, |_, _| None);
        assert_eq!(r.stop, StopReason::InvocationCap);
        assert!(
            r.invocations >= 10 && r.invocations < 14,
            "{}",
            r.invocations
        );
        let settings = SamplerSettings {
            max_cost_usd: Some(1e-6),
            ..SamplerSettings::default()
        };
        let mut s = Sampler::new(range(128, 3008, 64), Pricing::default(), settings).unwrap();
        let r = drive(&mut s, &curve, 0.0, 1, |_, _| None);
        assert_eq!(r.stop, StopReason::CostCap);
        let settings = SamplerSettings {
            max_memories: 4,
            ..SamplerSettings::default()
        };
        let mut s = Sampler::new(range(128, 3008, 16), Pricing::default(), settings).unwrap();
        let r = drive(&mut s, &curve, 0.08, 1, |_, _| None);
        assert!(
            r.memories.len() <= 4 && r.memories.len() >= 3,
            "{}",
            r.memories.len()
        );
    }

    #[test]
    fn the_state_serializes_and_replays_to_the_same_requests() {
        let curve = exp_curve(300.0, 5000.0, 0.002);
        let mut a = Sampler::new(
            range(128, 3008, 64),
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        let mut batches = vec![];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        while let Step::Measure(r) = a.next_step() {
            let mut inv = || Invocation::ok(curve(r.memory_mb) * (1.0 + 0.04 * normal(&mut rng)));
            let b = Batch {
                warmup: r.warmup.then(&mut inv),
                invocations: (0..r.count).map(|_| inv()).collect(),
            };
            a.record(&b).unwrap();
            batches.push((r, b));
            if batches.len() == 3 {
                let text = serde_json::to_string(&a).unwrap();
                let back: Sampler = serde_json::from_str(&text).unwrap();
                assert_eq!(back, a);
            }
        }
        let mut b = Sampler::new(
            range(128, 3008, 64),
            Pricing::default(),
            SamplerSettings::default(),
        )
        .unwrap();
        for (r, batch) in &batches {
            assert_eq!(b.next_step(), Step::Measure(*r));
            b.record(batch).unwrap();
        }
        assert!(matches!(b.next_step(), Step::Done(_)));
        assert_eq!(a.result(), b.result());
    }

    /// The quality claim on a few known curves (the full table is the profiler's sampler-quality
    /// test): the chosen memory costs within 5% of the true optimum, with fewer invocations than a
    /// 64 MB sweep (46 memories × (3 samples + 1 warm-up) = 184).
    #[test]
    fn converges_near_the_true_optimum_with_fewer_calls_than_a_sweep() {
        let candidates = range(128, 3008, 64);
        let p = Pricing::default();
        for (k, (a, b, g)) in [
            (180.0, 2600.0, 1.0 / 420.0),
            (50.0, 8000.0, 0.004),
            (400.0, 900.0, 0.001),
            (20.0, 20000.0, 0.0025),
        ]
        .into_iter()
        .enumerate()
        {
            let curve = exp_curve(a, b, g);
            let mut s =
                Sampler::new(candidates.clone(), p.clone(), SamplerSettings::default()).unwrap();
            let r = drive(&mut s, &curve, 0.03, k as u64, |_, _| None);
            let (_, best_cost) = true_best(&curve, &candidates, 128, &p);
            let chosen = r.best_memory_mb.unwrap();
            let chosen_cost = p.invocation_cost(f64::from(chosen), curve(chosen));
            assert!(
                chosen_cost <= best_cost * 1.05,
                "curve {k}: chose {chosen} MB at {chosen_cost} vs {best_cost}; {r:#?}"
            );
            assert!(
                r.invocations < 184,
                "curve {k}: {} invocations",
                r.invocations
            );
        }
    }

    /// Curves shaped like Lambda's CPU share (the real functions of `docs/models.md`: knees at
    /// 865–1,781 MB, a negative serial part, a multi-thread share): the search finds the knee with
    /// a few memories around it, the result selects the CPU-share model, and the memory chosen costs
    /// at most 3% more than the true optimum.
    #[test]
    fn finds_the_knee_of_cpu_share_curves() {
        let candidates = range(128, 3008, 64);
        let p = Pricing::default();
        for (k, truth) in [
            CpuShareModel::new(-4.4, 205.5, 1755.0),
            CpuShareModel::new(-103.6, 407.5, 865.0),
            CpuShareModel::new(-12.2, 491.6, 1781.0),
            CpuShareModel::new(443.4, 415.1, 1728.0).with_parallel_fraction(0.5),
            CpuShareModel::new(100.0, 300.0, 1769.0),
        ]
        .into_iter()
        .enumerate()
        {
            let curve = |m: u32| truth.duration_ms(f64::from(m));
            for choice in [ModelChoice::Auto, ModelChoice::Exponential] {
                let settings = SamplerSettings {
                    model: choice,
                    ..SamplerSettings::default()
                };
                let mut s = Sampler::new(candidates.clone(), p.clone(), settings).unwrap();
                let r = drive(&mut s, curve, 0.03, k as u64, |_, _| None);
                let (best, best_cost) = true_best(&curve, &candidates, 128, &p);
                let chosen = r.best_memory_mb.unwrap();
                let ratio = p.invocation_cost(f64::from(chosen), curve(chosen)) / best_cost;
                let fit = r.fit.as_ref().unwrap();
                let mut seen: Vec<u32> = r.memories.iter().map(|m| m.memory_mb).collect();
                seen.sort_unstable();
                // The fitted model against the true curve over every candidate (%).
                let truth_error = candidates
                    .iter()
                    .map(|&m| (fit.model.duration_ms(f64::from(m)) / curve(m) - 1.0).abs())
                    .sum::<f64>()
                    / candidates.len() as f64
                    * 100.0;
                println!(
                    "curve {k} {choice:?}: {} invocations, memories {seen:?}, chose {chosen} (best {best}, cost ×{ratio:.4}), {:?} MAPE {:.2}%, against the truth {truth_error:.2}%: {:?}",
                    r.invocations, fit.family, fit.mape_percent, fit.model
                );
                assert!(
                    r.invocations < 184,
                    "curve {k}: {} invocations",
                    r.invocations
                );
                if choice == ModelChoice::Auto {
                    assert!(
                        ratio <= 1.03,
                        "curve {k}: chose {chosen} MB, ×{ratio} the optimum"
                    );
                    assert_eq!(fit.family, ModelFamily::CpuShare, "curve {k}: {fit:#?}");
                    assert!(
                        truth_error < 2.0,
                        "curve {k}: {truth_error}% from the truth"
                    );
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// On any decaying curve, with or without noise and failures: requests stay within the
        /// candidates and above the floor, the search stops within its caps, every invocation is
        /// accounted for, and without noise the choice is within 1% of the true optimum.
        #[test]
        fn invariants(
            a in 5.0f64..2000.0, b in 0.0f64..20000.0, g in 0.0002f64..0.02,
            step in prop::sample::select(vec![1u32, 16, 64, 128]),
            noise in prop::sample::select(vec![0.0f64, 0.02, 0.1]),
            fail_every in prop::sample::select(vec![0u64, 7, 13]),
            seed in 0u64..1000,
        ) {
            let candidates = range(128, 3008, step);
            let p = Pricing::default();
            let curve = exp_curve(a, b, g);
            let mut s = Sampler::new(candidates.clone(), p.clone(), SamplerSettings::default()).unwrap();
            let mut fed = 0u64;
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut n = 0u64;
            let mut steps = 0;
            let stop = loop {
                steps += 1;
                prop_assert!(steps < 500, "no stop");
                match s.next_step() {
                    Step::Done(r) => break r,
                    Step::Measure(r) => {
                        prop_assert!(candidates.contains(&r.memory_mb));
                        prop_assert!(r.memory_mb >= s.result().floor_mb);
                        prop_assert!(r.count >= 1);
                        let mut call = || {
                            n += 1;
                            if fail_every > 0 && n.is_multiple_of(fail_every) {
                                Invocation::failed(Status::Error, "injected")
                            } else {
                                Invocation::ok(curve(r.memory_mb) * (1.0 + noise * normal(&mut rng)).max(0.05))
                            }
                        };
                        let batch = Batch { warmup: r.warmup.then(&mut call), invocations: (0..r.count).map(|_| call()).collect() };
                        fed += batch.invocations.len() as u64 + u64::from(batch.warmup.is_some());
                        s.record(&batch).unwrap();
                    }
                }
            };
            let r = s.result();
            prop_assert!(!stop.is_error(), "{stop:?}");
            prop_assert_eq!(r.invocations, fed);
            let per_memory: u64 = r.memories.iter().map(|m| m.invocations).sum();
            prop_assert_eq!(per_memory, fed);
            let distinct = r.memories.len();
            prop_assert!(distinct <= 20, "{distinct} memories");
            let mut seen = r.memories.iter().map(|m| m.memory_mb).collect::<Vec<_>>();
            seen.sort_unstable();
            seen.dedup();
            prop_assert_eq!(seen.len(), distinct, "a memory listed twice");
            for m in &r.memories {
                prop_assert!(m.warm().len() >= 3 || !m.failures.is_empty());
            }
            if noise == 0.0 {
                let (_, best) = true_best(&curve, &candidates, 128, &p);
                let chosen = r.best_memory_mb.unwrap();
                let cost = p.invocation_cost(f64::from(chosen), curve(chosen));
                prop_assert!(cost <= best * 1.01, "chose {} at {} vs {}", chosen, cost, best);
            }
        }
    }
}
