//! A seeded Monte-Carlo simulator of workflow executions: the distribution of end-to-end latency
//! and the mean cost, where the analytic model (thesis §3.2) gives only expected values.
//!
//! Each run walks the reduced workflow structure: a branch takes one arm with its probability, a
//! loop body runs a geometric number of times (`P(K = k) = (1 − p)·p^(k−1)`, mean `1/(1−p)`), a
//! parallel block takes as long as its slowest sampled arm (all arms run and are billed), and every
//! state entered adds the orchestration delays. A function's duration is drawn
//!
//! * `samples` (bootstrap): one of the variant's warm profiled samples at the configured memory,
//!   when it has some there;
//! * otherwise (and always with `model`): the fitted model's duration times a ratio drawn from the
//!   variant's warm samples' `sample / model(sample's memory)` (its measured dispersion); a variant
//!   without samples runs exactly at its model's duration.
//!
//! A variant with cold starts is cold with its probability (the draw's low 32 bits decide, so the
//! stream of draws is the same with and without cold starts) and then takes its INIT phase on top
//! of its duration, billed where the pricing bills INIT. Each invocation is billed on its drawn
//! duration (at the provisioned duration price for a function with provisioned concurrency,
//! whose monthly charge is added per execution). The Step Functions charge is linear in the
//! number of transitions, so its mean is added exactly. The generator is xoshiro256++ seeded with
//! the caller's seed: the same seed gives the same result on every platform (native and wasm).
//! Draws are consumed in one fixed order (a branch's uniform number, then the chosen arm; a loop's
//! body, then its uniform "again?" number) and every invocation consumes exactly one 64-bit draw,
//! whatever the configuration: with one seed, every configuration sees the same branch choices,
//! loop counts and per-invocation draws (common random numbers, the basis of the tail-aware
//! optimizer in [`crate::optimize::tail`]).
//!
//! A Map state runs its items in a pool of `MaxConcurrency` slots, each item starting as soon as a
//! slot frees up (as Step Functions does), where the analytic model counts waves (see
//! [`crate::workflow::MapBlock`]); a non-integer expected item count is drawn as its floor or
//! ceiling with the right mean. State nodes (Wait, Pass, …) take their fixed delay; a state node
//! with measured times (`samples_ms`, a service state that `workflow measure` timed) draws one
//! of them per entry, consuming one draw.
//!
//! Because `E[max(X, Y)] ≥ max(E[X], E[Y])`, the analytic model's "max of the arms' expected times"
//! for a parallel block underestimates the expected latency whenever the arms' durations vary; on
//! workflows without parallel blocks the simulated mean converges to the analytic EET.

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bundle::{Application, FunctionOption, ResolvedChoice};
use crate::pricing::EXECUTIONS_PER_QUOTE;
use crate::workflow::{LatencyModel, Structure};

/// Where sampled durations come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DurationSource {
    /// Profiled samples at the configured memory when there are some, else the model with the
    /// measured dispersion.
    #[default]
    Samples,
    /// Always the model times a bootstrapped residual ratio.
    Model,
}

/// Simulation settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulationRequest {
    /// Number of workflow executions to simulate.
    pub runs: usize,
    /// Seed of the generator.
    pub seed: u64,
    /// Where durations come from.
    #[serde(default)]
    pub durations: DurationSource,
    /// Number of histogram bins.
    #[serde(default = "default_bins")]
    pub bins: usize,
}

fn default_bins() -> usize {
    40
}

fn default_runs() -> usize {
    100_000
}

/// A simulation as the wasm package's `Planner.simulate` takes it (the `optiserve simulate`
/// options by name). The seed is drawn by the caller when left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// The configuration, in any form `evaluate` reads; the deployed one when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Number of workflow executions (default 100,000).
    #[serde(default = "default_runs")]
    pub runs: usize,
    /// Seed of the generator (drawn at random when left out; the report says which was used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Where durations come from (default `samples`).
    #[serde(default)]
    pub durations: DurationSource,
    /// Number of histogram bins (default 40).
    #[serde(default = "default_bins")]
    pub bins: usize,
}

impl SimulateRequest {
    /// The simulator's settings with `seed` (used when the request has none).
    pub fn settings(&self, seed: u64) -> SimulationRequest {
        SimulationRequest {
            runs: self.runs,
            seed: self.seed.unwrap_or(seed),
            durations: self.durations,
            bins: self.bins,
        }
    }
}

/// One histogram bin: `[from_ms, to_ms)` (the last bin includes its upper edge).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bin {
    /// Lower edge, ms.
    pub from_ms: f64,
    /// Upper edge, ms.
    pub to_ms: f64,
    /// Executions in the bin.
    pub count: u64,
}

/// The distribution of a configuration's end-to-end latency and its mean cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SimulationReport {
    /// Executions simulated.
    pub runs: usize,
    /// The seed used.
    pub seed: u64,
    /// Mean latency, ms.
    pub mean_ms: f64,
    /// Standard deviation of latency, ms.
    pub std_ms: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 95% confidence interval of the 95th percentile, ms (order statistics; see
    /// [`quantile_ci`]).
    pub p95_ci_ms: [f64; 2],
    /// 95% confidence interval of the 99th percentile, ms.
    pub p99_ci_ms: [f64; 2],
    /// Slowest execution, ms.
    pub max_ms: f64,
    /// Mean cost, USD per million executions.
    pub mean_cost_usd_per_million: f64,
    /// The analytic model's expected latency (EET) for the same configuration, ms.
    pub analytic_latency_ms: f64,
    /// The composition rule behind `analytic_latency_ms`.
    pub latency_model: LatencyModel,
    /// The analytic model's cost, USD per million executions.
    pub analytic_cost_usd_per_million: f64,
    /// `(analytic − simulated mean) / simulated mean × 100`: negative when the model is optimistic.
    pub latency_bias_percent: f64,
    /// Latency histogram.
    pub histogram: Vec<Bin>,
}

/// Why a simulation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimulationError {
    /// Zero runs.
    #[error("runs: must be at least 1")]
    NoRuns,
    /// Too many runs to hold in memory.
    #[error("runs: at most {max} executions per simulation, asked for {asked}")]
    TooManyRuns {
        /// The cap.
        max: usize,
        /// The request.
        asked: usize,
    },
    /// Zero bins.
    #[error("bins: must be from 1 to 10000, found {0}")]
    Bins(usize),
    /// The simulation would take too many steps (loops that repeat very often, times the runs).
    #[error(
        "the simulation would take about {} steps ({} function invocations and state entries per execution × {runs} runs), more than the {max:.0e} allowed: lower --runs, or check the loop probabilities (a loop taken with probability p repeats 1/(1−p) times on average)",
        crate::limits::approx(*.expected),
        crate::limits::approx(*.per_execution)
    )]
    TooMuchWork {
        /// Expected steps per execution.
        per_execution: f64,
        /// Runs asked for.
        runs: usize,
        /// Expected steps in all.
        expected: f64,
        /// The cap.
        max: f64,
    },
    /// One execution ran past the hard cap on steps (a rare, very long loop).
    #[error(
        "execution {run} ran more than {max} function invocations and state entries (its loops repeated far more than their expected {per_execution:.3e} per execution): the simulation stops rather than run on"
    )]
    RunawayExecution {
        /// Which execution (0-based).
        run: usize,
        /// Expected steps per execution.
        per_execution: f64,
        /// The cap.
        max: u64,
    },
}

/// Most executions one simulation keeps (their latencies are held for the percentiles).
pub const MAX_RUNS: usize = 50_000_000;
/// Most steps (function invocations and state entries, expected) a simulation may take in all:
/// about a minute of work at tens of millions of steps a second.
pub const MAX_STEPS: f64 = 2e9;
/// Hard cap on one execution's steps: this many times its expected steps, at least a million.
pub const RUNAWAY_FACTOR: f64 = 10_000.0;

/// Per function: how to draw one duration.
#[derive(Debug, Clone)]
pub(crate) struct Draw {
    /// Exact samples at the configured memory (bootstrap), if any.
    samples: Vec<f64>,
    /// Model duration at the configured memory.
    pub(crate) base: f64,
    /// Residual ratios `sample / model(memory)` of the variant's warm samples.
    ratios: Vec<f64>,
    pub(crate) memory_mb: f64,
    /// Cold starts: the probability and the INIT phase's duration, ms.
    cold: (f64, f64),
}

impl Draw {
    /// How `function` draws its durations with `choice`.
    pub(crate) fn new(
        function: &FunctionOption,
        choice: ResolvedChoice,
        durations: DurationSource,
    ) -> Draw {
        let variant = &function.variants[choice.variant];
        let memory_mb = f64::from(choice.memory_mb);
        let warm: Vec<_> = variant.samples.iter().filter(|s| !s.cold).collect();
        let samples = match durations {
            DurationSource::Samples => warm
                .iter()
                .filter(|s| s.memory_mb == memory_mb)
                .map(|s| s.duration_ms)
                .collect(),
            DurationSource::Model => Vec::new(),
        };
        let ratios = warm
            .iter()
            .filter_map(|s| {
                let m = variant.model.duration_ms(s.memory_mb);
                (m > 0.0 && s.duration_ms > 0.0).then(|| s.duration_ms / m)
            })
            .collect();
        Draw {
            samples,
            base: variant.model.duration_ms(memory_mb),
            ratios,
            memory_mb,
            cold: (variant.cold_start.probability, variant.cold_start.init_ms),
        }
    }

    /// The latency of the invocation that the raw draw `x` picks: its duration plus, on a cold
    /// start, its INIT phase.
    pub(crate) fn pick(&self, x: u64) -> f64 {
        let (d, init) = self.pick_parts(x);
        d + init
    }

    /// The duration and the INIT phase (0 when warm) that the raw draw `x` picks. Every
    /// invocation consumes exactly one draw, whatever the configuration: the same seed then gives
    /// every configuration the same branch choices, loop counts and per-invocation draws (common
    /// random numbers). The duration comes from the draw's high 32 bits, the cold start from its
    /// low 32 bits (cold when they fall below the probability's share of 2^32).
    pub(crate) fn pick_parts(&self, x: u64) -> (f64, f64) {
        let d = if !self.samples.is_empty() {
            self.samples[index(x, self.samples.len())]
        } else if self.ratios.is_empty() {
            self.base
        } else {
            self.base * self.ratios[index(x, self.ratios.len())]
        };
        let (p, init) = self.cold;
        let low = (x & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
        (d, if p > 0.0 && low < p { init } else { 0.0 })
    }
}

/// `x`'s high 32 bits scaled to `0..n` (Lemire's multiply-shift; unbiased enough for n far below
/// 2^32).
fn index(x: u64, n: usize) -> usize {
    ((x >> 32).wrapping_mul(n as u64) >> 32) as usize
}

/// A uniform number in [0, 1) from the generator's next 53 bits.
pub(crate) fn uniform(rng: &mut Xoshiro256PlusPlus) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The latency at rank `ceil(p·n)` of `sorted` (nearest rank; `sorted` ascending, not empty).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A distribution-free 95% confidence interval of the `p`-quantile from the order statistics of
/// `sorted`: the ranks `np ∓ 1.96·√(np(1−p))` (the normal approximation of the binomial count of
/// executions below the true quantile), rounded outwards and clamped to the sample.
pub fn quantile_ci(sorted: &[f64], p: f64) -> [f64; 2] {
    const Z: f64 = 1.959_963_984_540_054;
    let n = sorted.len() as f64;
    let half = Z * (n * p * (1.0 - p)).sqrt();
    let lo = ((n * p - half).floor() as usize).clamp(1, sorted.len());
    let hi = ((n * p + half).ceil() as usize + 1).clamp(1, sorted.len());
    [sorted[lo - 1], sorted[hi - 1]]
}

struct Runner<'a> {
    app: &'a Application,
    draws: Vec<Draw>,
    per_state_ms: f64,
    rng: Xoshiro256PlusPlus,
    cost: f64,
    /// Function invocations and state entries in the current execution.
    steps: u64,
    /// Past it the execution is abandoned (every loop stops repeating).
    step_cap: u64,
}

impl Runner<'_> {
    fn run(&mut self, s: &Structure) -> f64 {
        if self.steps > self.step_cap {
            return 0.0;
        }
        match s {
            Structure::Function(f) if *f >= self.draws.len() => {
                self.steps += 1;
                // A state node with measured times draws one (one draw per entry); the others
                // take their fixed delay and draw nothing.
                let samples = self.app.workflow.state_samples(*f);
                let d = if samples.is_empty() {
                    self.app.workflow.state_delay_ms(*f).unwrap_or(0.0)
                } else {
                    samples[index(self.rng.next_u64(), samples.len())]
                };
                d + self.per_state_ms
            }
            Structure::Function(f) => {
                self.steps += 1;
                let draw = &self.draws[*f];
                let (d, init) = draw.pick_parts(self.rng.next_u64());
                self.cost += self.app.invocation_cost(*f, draw.memory_mb, d, init);
                d + init + self.per_state_ms
            }
            Structure::Sequence(items) => items.iter().map(|i| self.run(i)).sum(),
            Structure::Parallel(arms) => arms.iter().map(|a| self.run(a)).fold(0.0, f64::max),
            Structure::Branch(arms) => {
                let mut u = uniform(&mut self.rng);
                for (p, a) in arms {
                    if u < *p {
                        return self.run(a);
                    }
                    u -= p;
                }
                // Rounding left a sliver past the last arm: it belongs to the last arm.
                arms.last().map_or(0.0, |(_, a)| self.run(a))
            }
            Structure::Repeat {
                expected_runs,
                body,
                ..
            } => {
                let p_again = 1.0 - 1.0 / expected_runs;
                let mut total = self.run(body);
                while self.steps <= self.step_cap && uniform(&mut self.rng) < p_again {
                    total += self.run(body);
                }
                total
            }
            Structure::Map {
                items,
                max_concurrency,
                body,
                ..
            } => {
                // A whole number of items with the expected count as its mean; a pool of
                // `max_concurrency` slots, each item starting in the first slot that frees up.
                let whole = items.floor();
                let extra = uniform(&mut self.rng) < items - whole;
                let count = whole as usize + usize::from(extra);
                let slots = match *max_concurrency {
                    0 => count.max(1),
                    c => (c as usize).min(count.max(1)),
                };
                let mut free_at = vec![0.0_f64; slots];
                for _ in 0..count {
                    let (k, start) = free_at
                        .iter()
                        .copied()
                        .enumerate()
                        .min_by(|a, b| a.1.total_cmp(&b.1))
                        .unwrap_or((0, 0.0));
                    free_at[k] = start + self.run(body);
                }
                free_at.into_iter().fold(0.0, f64::max)
            }
        }
    }
}

/// Simulates `request.runs` executions of the configuration `choices`.
pub fn simulate(
    app: &Application,
    choices: &[ResolvedChoice],
    request: &SimulationRequest,
) -> Result<SimulationReport, SimulationError> {
    if request.runs == 0 {
        return Err(SimulationError::NoRuns);
    }
    if request.runs > MAX_RUNS {
        return Err(SimulationError::TooManyRuns {
            max: MAX_RUNS,
            asked: request.runs,
        });
    }
    if !(1..=10_000).contains(&request.bins) {
        return Err(SimulationError::Bins(request.bins));
    }
    let per_execution = app.workflow.expected_steps() + 1.0;
    let expected = per_execution * request.runs as f64;
    if expected.is_nan() || expected > MAX_STEPS {
        return Err(SimulationError::TooMuchWork {
            per_execution,
            runs: request.runs,
            expected,
            max: MAX_STEPS,
        });
    }
    let step_cap = (per_execution * RUNAWAY_FACTOR).max(1e6) as u64;
    let draws = app
        .functions
        .iter()
        .zip(choices)
        .map(|(f, &c)| Draw::new(f, c, request.durations))
        .collect();
    let mut runner = Runner {
        app,
        draws,
        per_state_ms: app.delays.per_state_ms(),
        rng: Xoshiro256PlusPlus::seed_from_u64(request.seed),
        cost: 0.0,
        steps: 0,
        step_cap,
    };
    let fixed = app.delays.start_end_ms();
    let structure = app.workflow.structure();
    let mut latencies: Vec<f64> = Vec::with_capacity(request.runs);
    for run in 0..request.runs {
        runner.steps = 0;
        let latency = runner.run(structure) + fixed;
        if runner.steps > runner.step_cap {
            return Err(SimulationError::RunawayExecution {
                run,
                per_execution,
                max: runner.step_cap,
            });
        }
        latencies.push(latency);
    }
    // The Step Functions charge: the transitions part is linear, so its mean is exact; the
    // Express duration part is charged on each execution's own latency.
    let duration_charges: f64 = latencies
        .iter()
        .map(|&l| app.pricing.orchestration_duration_cost(l))
        .sum();
    let n = latencies.len() as f64;
    let mean = latencies.iter().sum::<f64>() / n;
    let var = latencies.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    latencies.sort_unstable_by(f64::total_cmp);
    let q = |p: f64| quantile(&latencies, p);
    let (lo, hi) = (latencies[0], latencies[latencies.len() - 1]);
    let width = (hi - lo) / request.bins as f64;
    let mut histogram: Vec<Bin> = (0..request.bins)
        .map(|i| Bin {
            from_ms: lo + width * i as f64,
            to_ms: if i + 1 == request.bins {
                hi
            } else {
                lo + width * (i + 1) as f64
            },
            count: 0,
        })
        .collect();
    for &x in &latencies {
        let i = if width > 0.0 {
            (((x - lo) / width) as usize).min(request.bins - 1)
        } else {
            0
        };
        histogram[i].count += 1;
    }
    let analytic = app.evaluate(choices);
    // Per execution: the Step Functions transitions or request, and provisioned concurrency's
    // monthly charge shared over the executions.
    let provisioned: f64 = choices
        .iter()
        .enumerate()
        .map(|(f, c)| app.provisioned_cost_per_execution(f, f64::from(c.memory_mb)))
        .sum();
    // The time of functions inside Express child executions, billed to those children
    // (linear in the duration: its mean is exact).
    let express: f64 = runner
        .draws
        .iter()
        .enumerate()
        .map(|(f, d)| app.express_child_charge(f, d.base))
        .sum();
    let orchestration =
        (app.fixed_cost_per_execution() + provisioned + express) * EXECUTIONS_PER_QUOTE;
    Ok(SimulationReport {
        runs: request.runs,
        seed: request.seed,
        mean_ms: mean,
        std_ms: var.sqrt(),
        p50_ms: q(0.5),
        p90_ms: q(0.9),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
        p95_ci_ms: quantile_ci(&latencies, 0.95),
        p99_ci_ms: quantile_ci(&latencies, 0.99),
        max_ms: hi,
        mean_cost_usd_per_million: (runner.cost + duration_charges) / n * EXECUTIONS_PER_QUOTE
            + orchestration,
        analytic_latency_ms: analytic.latency_ms,
        latency_model: analytic.latency_model,
        analytic_cost_usd_per_million: analytic.cost_usd_per_million,
        latency_bias_percent: (analytic.latency_ms - mean) / mean * 100.0,
        histogram,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bundle;

    fn app(text: &str) -> Application {
        Bundle::from_json(text).unwrap().validate().unwrap()
    }

    fn request(runs: usize, seed: u64) -> SimulationRequest {
        SimulationRequest {
            runs,
            seed,
            durations: DurationSource::Samples,
            bins: 40,
        }
    }

    /// A bundle over `edges` with constant-duration functions (no samples: no dispersion).
    fn constant(functions: &[(&str, f64)], edges: &str) -> Application {
        let fs: Vec<String> = functions
            .iter()
            .map(|(id, d)| {
                format!(
                    r#"{{"id":"{id}","memory":[1024],"variants":[{{"name":"default","model":{{"kind":"exponential","alpha_ms":{d},"beta_ms":0,"gamma_per_mb":0}}}}]}}"#
                )
            })
            .collect();
        app(&format!(
            r#"{{"schema":"optiserve.bundle/v1","provenance":{{"tool":"t","tool_version":"0"}},
            "pricing":{{"region":"us-east-1","architecture":"x86_64","price_per_gb_second":0.0000166667,"price_per_request":0.0000002}},
            "functions":[{}],"workflow":{{"edges":{edges}}}}}"#,
            fs.join(",")
        ))
    }

    #[test]
    fn a_measured_service_state_draws_its_times() {
        // f (100 ms), then a service state measured at 10, 30 or 50 ms (mean 30).
        let text = |samples: &str| {
            format!(
                r#"{{"schema":"optiserve.bundle/v1","provenance":{{"tool":"t","tool_version":"0"}},
                "pricing":{{"region":"us-east-1","architecture":"x86_64","price_per_gb_second":0.0000166667,"price_per_request":0.0000002}},
                "functions":[{{"id":"f","memory":[1024],"variants":[{{"name":"default","model":{{"kind":"exponential","alpha_ms":100,"beta_ms":0,"gamma_per_mb":0}}}}]}}],
                "workflow":{{"edges":[{{"from":"Start","to":"f","probability":1}},{{"from":"f","to":"S","probability":1}},{{"from":"S","to":"End","probability":1}}],
                  "states":[{{"id":"S","kind":"service","delay_ms":30{samples}}}]}}}}"#
            )
        };
        let a = app(&text(r#","samples_ms":[10,30,50],"measured":300"#));
        let r = simulate(&a, &a.deployed, &request(30_000, 3)).unwrap();
        assert!((r.mean_ms - 130.0).abs() < 0.5, "{r:?}");
        // The three times, each a third of the executions: sd √(800/3).
        assert!((r.std_ms - (800.0f64 / 3.0).sqrt()).abs() < 0.3, "{r:?}");
        assert_eq!((r.p50_ms, r.max_ms), (130.0, 150.0));
        assert_eq!(r.analytic_latency_ms, 130.0);
        // Without samples it always takes its delay, and draws nothing.
        let a = app(&text(""));
        let r = simulate(&a, &a.deployed, &request(1000, 3)).unwrap();
        assert_eq!((r.mean_ms, r.std_ms), (130.0, 0.0));
    }

    #[test]
    fn self_loop_matches_the_geometric_distribution() {
        // K ~ Geometric(1 − p) on {1, 2, …}: mean 1/(1−p), variance p/(1−p)².
        let p: f64 = 0.4;
        let a = constant(
            &[("a", 100.0)],
            r#"[{"from":"Start","to":"a","probability":1},{"from":"a","to":"a","probability":0.4},{"from":"a","to":"End","probability":0.6}]"#,
        );
        let r = simulate(&a, &a.deployed, &request(200_000, 7)).unwrap();
        let mean = 100.0 / (1.0 - p);
        let sd = 100.0 * (p / (1.0 - p).powi(2)).sqrt();
        // Standard error of the mean ≈ sd / √n ≈ 0.24 ms: allow 5 of them.
        assert!(
            (r.mean_ms - mean).abs() < 5.0 * sd / (200_000f64).sqrt(),
            "{r:?}"
        );
        assert!((r.std_ms - sd).abs() / sd < 0.02, "{r:?}");
        assert_eq!(r.p50_ms, 100.0); // P(K = 1) = 0.6
        assert!((r.latency_bias_percent).abs() < 0.5);
    }

    #[test]
    fn chain_and_branch_means_match_the_closed_form() {
        let a = constant(
            &[("a", 10.0), ("b", 200.0), ("c", 40.0), ("d", 5.0)],
            r#"[{"from":"Start","to":"a","probability":1},{"from":"a","to":"b","probability":0.25},{"from":"a","to":"c","probability":0.75},
               {"from":"b","to":"d","probability":1},{"from":"c","to":"d","probability":1},{"from":"d","to":"End","probability":1}]"#,
        );
        let r = simulate(&a, &a.deployed, &request(100_000, 1)).unwrap();
        // 10 + 0.25·200 + 0.75·40 + 5 = 95; sd = 160·√(0.25·0.75)
        let sd = 160.0 * (0.25f64 * 0.75).sqrt();
        assert!(
            (r.mean_ms - 95.0).abs() < 5.0 * sd / (100_000f64).sqrt(),
            "{r:?}"
        );
        assert_eq!(r.max_ms, 215.0);
        assert_eq!(r.p50_ms, 55.0);
        let total: u64 = r.histogram.iter().map(|b| b.count).sum();
        assert_eq!(total, 100_000);
    }

    #[test]
    fn a_cycle_over_several_functions_repeats_its_body_geometrically() {
        // a → b → c, with c → a at 0.3: the body a → b → c runs K ~ Geometric(0.7) times:
        // E = (10 + 20 + 5) / 0.7, Var = 35² · 0.3 / 0.7².
        let a = constant(
            &[("a", 10.0), ("b", 20.0), ("c", 5.0)],
            r#"[{"from":"Start","to":"a","probability":1},{"from":"a","to":"b","probability":1},{"from":"b","to":"c","probability":1},
               {"from":"c","to":"a","probability":0.3},{"from":"c","to":"End","probability":0.7}]"#,
        );
        let n = 200_000;
        let r = simulate(&a, &a.deployed, &request(n, 21)).unwrap();
        let mean = 35.0 / 0.7;
        let sd = 35.0 * (0.3f64).sqrt() / 0.7;
        assert!(
            (r.mean_ms - mean).abs() < 5.0 * sd / (n as f64).sqrt(),
            "{r:?}"
        );
        assert!((r.std_ms - sd).abs() / sd < 0.02, "{r:?}");
        assert!(r.latency_bias_percent.abs() < 0.5, "{r:?}");
        // Every execution is a whole number of rounds.
        assert_eq!(r.p50_ms, 35.0);
        assert_eq!(r.max_ms % 35.0, 0.0);
    }

    #[test]
    fn bias_report_on_every_example() {
        fn has_parallel(s: &Structure) -> bool {
            match s {
                Structure::Function(_) => false,
                // A Map runs its items side by side: the same max-of-expectations bias.
                Structure::Parallel(_) | Structure::Map { .. } => true,
                Structure::Sequence(items) => items.iter().any(has_parallel),
                Structure::Branch(arms) => arms.iter().any(|(_, a)| has_parallel(a)),
                Structure::Repeat { body, .. } => has_parallel(body),
            }
        }
        for text in [
            include_str!("../../examples/app3.bundle.json"),
            include_str!("../../examples/media-pipeline.bundle.json"),
            include_str!("../../examples/six-functions.bundle.json"),
        ] {
            let a = app(text);
            let r = simulate(&a, &a.deployed, &request(100_000, 8)).unwrap();
            let dispersion = a
                .functions
                .iter()
                .any(|f| f.variants.iter().any(|v| !v.samples.is_empty()));
            if has_parallel(a.workflow.structure()) && dispersion {
                // The analytic max of expectations is optimistic: E[max] > max(E) (media
                // pipeline: about −1.6%).
                assert!(r.latency_bias_percent < -1.0, "{r:?}");
            } else {
                // No parallel block, or parallel arms of constant duration (six functions):
                // the analytic EET is the expected latency; only sampling error remains.
                assert!(r.latency_bias_percent.abs() < 0.5, "{r:?}");
            }
        }
    }

    #[test]
    fn percentile_confidence_intervals_cover_the_true_quantile() {
        // Latency = 100 ms × K with K ~ Geometric(0.5): the true p95 is 500 ms (P(K ≤ 4) = 0.9375,
        // P(K ≤ 5) = 0.96875). Over 40 seeds the interval must contain it almost always.
        let a = constant(
            &[("a", 100.0)],
            r#"[{"from":"Start","to":"a","probability":1},{"from":"a","to":"a","probability":0.5},{"from":"a","to":"End","probability":0.5}]"#,
        );
        let covered = (0..40)
            .filter(|&seed| {
                let r = simulate(&a, &a.deployed, &request(4_000, seed)).unwrap();
                r.p95_ci_ms[0] <= 500.0 && 500.0 <= r.p95_ci_ms[1]
            })
            .count();
        assert!(covered >= 36, "{covered} of 40");
        let sorted: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.95), 950.0);
        let [lo, hi] = quantile_ci(&sorted, 0.95);
        assert!(lo < 950.0 && hi > 950.0 && hi - lo < 30.0, "{lo} {hi}");
    }

    #[test]
    fn same_seed_same_result_and_different_seed_differs() {
        let a = app(include_str!("../../examples/media-pipeline.bundle.json"));
        let x = simulate(&a, &a.deployed, &request(20_000, 42)).unwrap();
        let y = simulate(&a, &a.deployed, &request(20_000, 42)).unwrap();
        let z = simulate(&a, &a.deployed, &request(20_000, 43)).unwrap();
        assert_eq!(x, y);
        assert_ne!(x.mean_ms, z.mean_ms);
    }

    #[test]
    fn without_parallel_blocks_the_mean_converges_to_the_analytic_eet() {
        let a = app(include_str!("../../examples/app3.bundle.json"));
        let r = simulate(&a, &a.deployed, &request(100_000, 3)).unwrap();
        assert!(r.latency_bias_percent.abs() < 0.5, "{r:?}");
        assert!(
            (r.mean_cost_usd_per_million - r.analytic_cost_usd_per_million).abs()
                / r.analytic_cost_usd_per_million
                < 0.01
        );
    }

    #[test]
    fn parallel_blocks_make_the_analytic_model_optimistic() {
        // Two parallel arms of 100 ± 50%: E[max] > max(E) = 100.
        let a = constant(
            &[("a", 1.0), ("b", 100.0), ("c", 100.0), ("d", 1.0)],
            r#"[{"from":"Start","to":"a","probability":1},{"from":"a","to":"b","probability":1},{"from":"a","to":"c","probability":1},
               {"from":"b","to":"d","probability":1},{"from":"c","to":"d","probability":1},{"from":"d","to":"End","probability":1}]"#,
        );
        // Constant durations: no gap at all.
        let r = simulate(&a, &a.deployed, &request(1000, 1)).unwrap();
        assert_eq!(r.mean_ms, 102.0);
        // The media pipeline has a parallel block with dispersion: the model is optimistic.
        let m = app(include_str!("../../examples/media-pipeline.bundle.json"));
        let r = simulate(&m, &m.deployed, &request(100_000, 5)).unwrap();
        assert!(r.latency_bias_percent < 0.0, "{r:?}");
    }

    #[test]
    fn a_loop_inside_a_parallel_arm_matches_the_simulated_mean() {
        // Arm 1: `a` loops on itself (again with 0.5): 100 ms × K, K geometric; arm 2: `b`,
        // 180 ms. Constant durations: the only randomness is the loop count, which the
        // branch-aware model follows exactly (E[max(100K, 180)] = 0.5·180 + Σ_{k≥2} 100k·0.5^k
        // = 90 + 150 = 240), while the thesis' max of expectations says max(200, 180) = 200.
        let mut a = constant(
            &[("s", 1.0), ("a", 100.0), ("b", 180.0)],
            r#"[{"from":"Start","to":"s","probability":1},{"from":"s","to":"a","probability":1},{"from":"s","to":"b","probability":1},
               {"from":"a","to":"a","probability":0.5},{"from":"a","to":"End","probability":0.5},{"from":"b","to":"End","probability":1}]"#,
        );
        let aware = a.evaluate(&a.deployed);
        assert!((aware.latency_ms - 241.0).abs() < 1e-3, "{aware:?}");
        assert!(aware.latency_error_bound_ms < 0.01, "{aware:?}");
        let r = simulate(&a, &a.deployed, &request(200_000, 11)).unwrap();
        // sd of max(100K, 180) ≈ 126 ms: standard error ≈ 0.28 ms; allow 5 of them.
        assert!((r.mean_ms - 241.0).abs() < 1.5, "{r:?}");
        assert!(r.latency_bias_percent.abs() < 0.6, "{r:?}");
        a.latency_model = LatencyModel::Thesis;
        assert!((a.evaluate(&a.deployed).latency_ms - 201.0).abs() < 1e-9);
    }

    #[test]
    fn cold_starts_are_drawn_and_billed() {
        let mut a = constant(
            &[("a", 100.0)],
            r#"[{"from":"Start","to":"a","probability":1},{"from":"a","to":"End","probability":1}]"#,
        );
        let warm = simulate(&a, &a.deployed, &request(50_000, 4)).unwrap();
        a.functions[0].variants[0].cold_start = crate::bundle::ColdStart {
            probability: 0.2,
            init_ms: 400.0,
            observed: None,
        };
        let r = simulate(&a, &a.deployed, &request(50_000, 4)).unwrap();
        // 100 ms, or 500 ms 20% of the time: mean 180, sd 160; the analytic figures agree.
        assert!(
            (r.mean_ms - 180.0).abs() < 5.0 * 160.0 / 50_000f64.sqrt(),
            "{r:?}"
        );
        assert!((r.analytic_latency_ms - 180.0).abs() < 1e-9);
        assert!(
            (r.mean_cost_usd_per_million - r.analytic_cost_usd_per_million).abs()
                / r.analytic_cost_usd_per_million
                < 0.01,
            "{r:?}"
        );
        assert_eq!((r.p50_ms, r.max_ms), (100.0, 500.0));
        assert_eq!(warm.max_ms, 100.0);
    }

    #[test]
    fn loops_that_would_run_forever_are_refused_or_cut() {
        // Taken with p = 0.999999999: a billion runs per execution on average.
        let a = constant(
            &[("a", 10.0)],
            r#"[{"from":"Start","to":"a","probability":1},{"from":"a","to":"a","probability":0.999999999},{"from":"a","to":"End","probability":0.000000001}]"#,
        );
        let err = simulate(&a, &a.deployed, &request(1000, 1)).unwrap_err();
        assert!(matches!(err, SimulationError::TooMuchWork { .. }), "{err}");
        assert!(err.to_string().contains("lower --runs"), "{err}");
        // A hard cap per execution stops a rare runaway: every loop stops repeating past it.
        let b = constant(
            &[("a", 10.0)],
            r#"[{"from":"Start","to":"a","probability":1},{"from":"a","to":"a","probability":0.5},{"from":"a","to":"End","probability":0.5}]"#,
        );
        let mut runner = Runner {
            app: &b,
            draws: b
                .functions
                .iter()
                .zip(&b.deployed)
                .map(|(f, &c)| Draw::new(f, c, DurationSource::Samples))
                .collect(),
            per_state_ms: 0.0,
            rng: Xoshiro256PlusPlus::seed_from_u64(3),
            cost: 0.0,
            steps: 0,
            step_cap: 3,
        };
        let mut longest = 0;
        for _ in 0..1000 {
            runner.steps = 0;
            runner.run(b.workflow.structure());
            longest = longest.max(runner.steps);
        }
        assert_eq!(longest, 4, "stops one step past the cap");
    }

    #[test]
    fn bad_requests_are_refused() {
        let a = app(include_str!("../../examples/app3.bundle.json"));
        assert_eq!(
            simulate(&a, &a.deployed, &request(0, 1))
                .unwrap_err()
                .to_string(),
            "runs: must be at least 1"
        );
        let mut r = request(10, 1);
        r.bins = 0;
        assert!(simulate(&a, &a.deployed, &r).is_err());
    }
}
