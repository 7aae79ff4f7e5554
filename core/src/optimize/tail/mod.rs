//! Tail-aware problems: limits on the 95th and 99th percentile of end-to-end latency
//! (`max_p95_latency_ms`, `max_p99_latency_ms`) and the objectives `p95_latency` and
//! `p99_latency`, which the analytic model (expected values only) cannot express.
//!
//! **Sample average approximation with common random numbers.** [`Scenarios`](super::scenarios::Scenarios) samples `N`
//! executions once from the seed (branch choices, loop counts, one raw draw per invocation); a
//! configuration's percentile is the empirical (nearest-rank) percentile of its latencies over
//! those same `N` executions. Every configuration is compared on the same draws, so differences
//! between configurations are not noise between two samples.
//!
//! **Exact over the scenarios.** With the draws fixed, each scenario's latency is non-decreasing
//! in every invocation's duration, so every order statistic is too. Branch and bound therefore
//! carries over from [`super::exact`]: with some functions assigned and every invocation of the
//! others at the fastest duration any of their options draws for it, the empirical percentiles
//! are lower bounds on every completion. Dominance pruning keeps an option only if no other
//! option of the function is as cheap, as accurate, as fast on average *and* at least as fast on
//! every one of the function's sampled invocations (a variant's residual ratios differ, so a
//! faster mean is not enough). A finished search proves its answer optimal for the sampled
//! scenarios (brute force over the same scenarios is the oracle in tests).
//!
//! **Certification.** The answer is then simulated again, `certify_runs` executions from an
//! independent seed ([`certification_seed`]; exactly `optiserve simulate --seed <that seed>
//! --runs <certify_runs>` on the answer), and each percentile limit is reported with the
//! re-simulated percentile, its 95% confidence interval, and a verdict: `met` (the interval lies
//! within the limit), `within_noise` (the estimate meets the limit, the interval straddles it) or
//! `exceeded` (the estimate misses the limit: the scenarios were too few or unlucky; ask for
//! more).
//!
//! Cost, accuracy and the expected latency (`max_latency_ms`) keep their analytic meaning.

//!
//! The parts: [`space`] (the options' per-invocation durations, the scoring the engine searches
//! with, brute force), [`prepared`] (a problem prepared once, solved, explained and certified).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ConstraintKind;
use super::engine::Figures;
use crate::simulate::DurationSource;

pub mod prepared;
pub mod space;

pub use prepared::Prepared;
pub use space::{
    TailOutcome, TailScoring, TailScratch, TailSpace, brute_force, for_each, solve_exact,
};

/// Default number of scenarios.
pub const DEFAULT_SCENARIOS: usize = 5_000;
/// Default number of certification runs.
pub const DEFAULT_CERTIFY_RUNS: usize = 100_000;

/// How tail-aware problems sample and certify.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TailSettings {
    /// Executions sampled once and shared by every configuration.
    pub scenarios: usize,
    /// Seed of the scenarios (callers draw one when the user gives none, and report it).
    pub seed: u64,
    /// Where durations come from (as for the simulator).
    pub durations: DurationSource,
    /// Executions of the certification run (0: no certification).
    pub certify_runs: usize,
}

impl Default for TailSettings {
    fn default() -> Self {
        TailSettings {
            scenarios: DEFAULT_SCENARIOS,
            seed: 0,
            durations: DurationSource::Samples,
            certify_runs: DEFAULT_CERTIFY_RUNS,
        }
    }
}

/// The seed of the certification run: SplitMix64's output function on `seed` plus a constant,
/// so that it is a different, well-mixed seed (xoshiro256++ streams from different seeds are
/// independent for practical purposes), kept below 2^53 so that it survives a JavaScript number.
pub fn certification_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) >> 11
}

/// Is a re-simulated percentile within its limit?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole 95% confidence interval is within the limit.
    Met,
    /// The estimate is within the limit but the interval reaches past it.
    WithinNoise,
    /// The estimate is past the limit.
    Exceeded,
}

/// One percentile limit checked on the certification run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TailCheck {
    /// Which limit.
    pub constraint: ConstraintKind,
    /// The limit, ms.
    pub limit_ms: f64,
    /// The re-simulated percentile, ms.
    pub certified_ms: f64,
    /// Its 95% confidence interval, ms.
    pub ci_ms: [f64; 2],
    /// The verdict.
    pub verdict: Verdict,
}

/// The answer re-simulated from an independent seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Certification {
    /// Executions simulated.
    pub runs: usize,
    /// Their seed ([`certification_seed`] of the scenarios' seed).
    pub seed: u64,
    /// Mean latency, ms.
    pub mean_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// Its 95% confidence interval, ms.
    pub p95_ci_ms: [f64; 2],
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Its 95% confidence interval, ms.
    pub p99_ci_ms: [f64; 2],
    /// The percentile limits of the problem, checked.
    pub checks: Vec<TailCheck>,
}

/// What a tail-aware answer adds to a `Solution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TailReport {
    /// Scenarios the problem was solved on.
    pub scenarios: usize,
    /// Their seed.
    pub seed: u64,
    /// Where durations came from.
    pub durations: DurationSource,
    /// The answer's 95th percentile over the scenarios, ms.
    pub p95_ms: Option<f64>,
    /// The answer's 99th percentile over the scenarios, ms.
    pub p99_ms: Option<f64>,
    /// The answer re-simulated (absent without an answer or with `certify_runs` = 0).
    pub certification: Option<Certification>,
}

/// Analytic metrics plus the percentiles over the scenarios: the engine's figures.
pub type TailMetrics = Figures;

pub use super::engine::{admits, better, value};

/// Index (0-based) of the nearest-rank `p`-quantile among `n` values.
fn rank(p: f64, n: usize) -> usize {
    ((p * n as f64).ceil() as usize).clamp(1, n) - 1
}

#[cfg(test)]
mod tests;
