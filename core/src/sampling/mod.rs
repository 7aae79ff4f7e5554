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
//! is known; minimising the product favours cheap memories that are still uncertain.
//!
//! **When to stop** (see [`stop`]; measured on the curve suite of `profiler/src/profile/suite.rs`,
//! `docs/models.md`). Not before four memories have warm samples (cross-validation needs them).
//! Then the search stops when the predicted optimum `m* = argmin cost(m)` is pinned down by one of:
//! the belief has concentrated, `1 + K(m*) ≥ 3` (about three measured memories within σ of it, the
//! thesis' rule); `m*` and its neighbours among the feasible candidates were measured (the rule for
//! grids coarser than σ and for an optimum at an end of the range, where the belief cannot reach
//! 3); or the choice is *settled*: the model's prediction interval leaves no candidate plausibly
//! more than 2.5% cheaper than `m*` and the interval at `m*` is within 5% (the rule that ends flat
//! cost curves). A stop is taken only when the whole curve is pinned down as well, since the
//! optimizers use all of it: the selected model predicts the memories it leaves out within 3% plus
//! two standard errors of a mean, no gap between measured memories spans more than a quarter of the
//! range, and the model's mean relative standard deviation over the candidates is at most 3%;
//! otherwise the next memory is the middle of the widest gap or the candidate where the model is
//! least certain. An optimum between the floor raised by failures and the smallest memory that ran
//! is measured before any stop. The caps stay: 20 memories, an invocation or a cost budget, or every
//! feasible candidate measured.
//!
//! **Which model.** With fewer than four measured memories the exponential predicts (there is
//! nothing to cross-validate on); from four on, the family with the lowest leave-one-memory-out
//! error (`crate::model::select`). The search leaves the table out: it must predict memories it has
//! not measured, where a table is only flat or linear between its points. The result
//! ([`SamplingResult::fit`]) selects among every family, the table included, with every family's
//! errors. On a CPU-share curve the cheapest memory is the knee (when the serial part is negative)
//! or the smallest memory, and a model with a knee puts the predicted optimum, hence the next
//! samples, around it (`finds_the_knee_of_cpu_share_curves`). The result lets the table compete
//! only from 8 memories: with fewer, its straight lines between distant points win
//! cross-validation by chance as often as on merit.
//!
//! **At one memory.** One discarded warm-up call after every configuration change, then
//! `samples_per_memory` warm samples. While their coefficient of variation exceeds `cov_threshold`
//! (0.05) and twice the pooled coefficient of variation of the other memories (when there are
//! any: noise that every memory shows is left to the model, which pools them, while an outlier is
//! not), more samples are **added** (never swapped in, which would bias the mean), up to
//! `max_extra_samples`. A cold start (the report has an Init Duration) is kept but does not count
//! towards the warm samples nor enter the model. A timeout or an out-of-memory kill raises the memory
//! floor above that memory (and abandons it); other failures are recorded and never counted as
//! samples (`max_failures_per_memory` of them stop the search with an error). When a memory's mean
//! warm duration is significantly above that of a smaller measured memory (by more than
//! `rise_tolerance` and two standard errors), both are measured again on fresh instances, once; the
//! earlier samples are kept as superseded and leave the model.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{ModelChoice, ModelSelection};

mod sampler;
pub mod stop;
#[cfg(test)]
mod tests;

pub use sampler::Sampler;

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
    /// Stop when no candidate can plausibly be cheaper than the predicted optimum by more than
    /// this fraction of its cost (0.025; see [`stop`]).
    pub stop_tolerance: f64,
    /// ... and the prediction interval of the optimum's cost is within this fraction (0.05).
    pub stop_interval: f64,
    /// No stop before the model's mean relative standard deviation over the feasible candidates
    /// is at most this (0.03): the optimizers use the whole curve.
    pub stop_spread: f64,
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
            stop_tolerance: 0.025,
            stop_interval: 0.05,
            stop_spread: 0.03,
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
    /// The belief at the predicted optimum concentrated, or the optimum and its neighbours on the
    /// grid were measured.
    Converged {
        /// The predicted optimum (MB).
        memory_mb: u32,
    },
    /// The model's prediction interval leaves no candidate plausibly cheaper than the predicted
    /// optimum by more than `stop_tolerance`.
    Settled {
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
    /// Smallest usable memory (MB): candidates below it timed out or ran out of memory, or lie
    /// untried between such a failure and the smallest memory that ran.
    pub floor_mb: u32,
    /// Per memory, in the order first measured.
    pub memories: Vec<MemoryRecord>,
    /// Invocations made, warm-ups and failures included.
    pub invocations: u64,
    /// What they cost (USD).
    pub cost_usd: f64,
}
