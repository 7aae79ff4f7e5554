//! The dry run's estimate: the sampler rehearsed offline.
//!
//! The sampler is a pure, deterministic state machine, so the estimate drives it exactly as a run
//! does, against invocations drawn from what is known of the function: with `--simulate`, the
//! simulated cloud's own description of it (true curve, noise, cold starts and their INIT,
//! failures, the memory it needs, its timeout); against AWS, where nothing is known before
//! measuring, a representative curve (an exponential falling to a third of its value over the
//! range, 3% noise) for the number of invocations, each billed at the function's timeout (an
//! upper bound on the cost). The rehearsal is repeated with [`REHEARSALS`] seeds, the median kept; the
//! plan's budget caps the total as it caps the run.

use optiserve_core::model::{DurationModel, ExpModel};
use optiserve_core::sampling::{Batch, Invocation, Sampler, SamplerSettings, Status, Step};
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::cloud::sim::{SimSettings, SimTruth};
use crate::plan::{LoadedPlan, Target};

/// Rehearsals per (function, variant); the estimate is their median (a run's invocations are
/// skewed: most stop early, a few measure on).
pub const REHEARSALS: u64 = 15;

/// What a target is expected to take.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetEstimate {
    /// Median invocations over the rehearsals (warm-ups and failures included).
    pub invocations: f64,
    /// Median cost (USD).
    pub cost_usd: f64,
    /// The most invocations a rehearsal took.
    pub most_invocations: u64,
}

/// The plan's estimate: per target, and the total capped by the budget.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanEstimate {
    pub targets: Vec<TargetEstimate>,
    pub invocations: f64,
    pub cost_usd: f64,
}

/// How the rehearsal draws invocations for one target.
struct Behaviour {
    curve: DurationModel,
    noise_cov: f64,
    cold_start_rate: f64,
    init_ms: f64,
    failure_rate: f64,
    min_memory_mb: Option<u32>,
    timeout_ms: f64,
    /// Bill every invocation at this duration instead (an upper bound), ms.
    billed_ms: Option<f64>,
    /// The weighted payloads' mix as a multiple of the curve (what the sampler sees of a
    /// round: its weighted mean; 1 for one payload).
    scale: f64,
}

/// Estimates the whole plan. `simulate`: use the simulated cloud's description of the functions;
/// `timeout_s(resource)` gives a function's timeout (the simulated one, or the one read from AWS).
pub fn estimate_plan(
    plan: &LoadedPlan,
    simulate: bool,
    timeout_s: &dyn Fn(&Target) -> u32,
) -> PlanEstimate {
    let sim = plan.plan.simulate.clone().unwrap_or_default();
    let settings = plan.plan.sampler_settings();
    let targets: Vec<TargetEstimate> = plan
        .targets
        .iter()
        .map(|t| {
            let timeout_ms = f64::from(timeout_s(t)) * 1000.0;
            let mut b = match (&t.truth, simulate) {
                (Some(truth), true) => from_truth(truth, &sim, timeout_ms),
                _ => representative(t, timeout_ms),
            };
            // Weighted payloads: every sample is a round of one invocation per payload, the
            // sampler sees the round's weighted mean, and the round bills each payload's own
            // duration (on the simulated cloud, the curve times the payload's scale).
            let rounds = t.payloads.len().max(1) as f64;
            let (mix, each) = if simulate {
                (
                    t.payloads.iter().map(|p| p.weight * p.simulate_scale).sum(),
                    t.payloads.iter().map(|p| p.simulate_scale).sum::<f64>() / rounds,
                )
            } else {
                (1.0, 1.0)
            };
            b.scale = if mix > 0.0 { mix } else { 1.0 };
            let mut e = estimate_target(plan, t, &settings, &b, sim.seed);
            if rounds > 1.0 {
                e.invocations *= rounds;
                e.most_invocations = (e.most_invocations as f64 * rounds) as u64;
                e.cost_usd *= rounds
                    * if b.billed_ms.is_some() {
                        1.0
                    } else {
                        each / b.scale
                    };
            }
            e
        })
        .collect();
    let mut invocations: f64 = targets.iter().map(|t| t.invocations).sum();
    let mut cost_usd: f64 = targets.iter().map(|t| t.cost_usd).sum();
    if let Some(cap) = plan.plan.max_invocations {
        let cap = cap as f64;
        if invocations > cap {
            cost_usd *= cap / invocations;
            invocations = cap;
        }
    }
    if let Some(cap) = plan.plan.max_cost_usd
        && cost_usd > cap
    {
        invocations *= cap / cost_usd;
        cost_usd = cap;
    }
    PlanEstimate {
        targets,
        invocations,
        cost_usd,
    }
}

fn from_truth(truth: &SimTruth, sim: &SimSettings, timeout_ms: f64) -> Behaviour {
    Behaviour {
        curve: match &truth.cpu_share {
            Some(m) => DurationModel::CpuShare(*m),
            None => DurationModel::Exponential(ExpModel::new(
                truth.alpha_ms,
                truth.beta_ms,
                truth.gamma_per_mb,
            )),
        },
        noise_cov: truth.noise_cov.unwrap_or(sim.noise_cov),
        cold_start_rate: sim.cold_start_rate,
        init_ms: truth.init_ms.unwrap_or(250.0),
        failure_rate: sim.failure_rate,
        min_memory_mb: truth.min_memory_mb,
        timeout_ms,
        billed_ms: None,
        scale: 1.0,
    }
}

/// Nothing known: a curve falling to a third of its value over the range, every call billed at
/// the timeout.
fn representative(t: &Target, timeout_ms: f64) -> Behaviour {
    let lo = f64::from(t.candidates.first().copied().unwrap_or(128));
    let hi = f64::from(t.candidates.last().copied().unwrap_or(3008));
    let gamma = 3.0 / (hi - lo).max(1.0);
    // ET(lo) = 1000 ms, ET(hi) ≈ 330 ms.
    let beta = 700.0 * (gamma * lo).exp();
    Behaviour {
        curve: DurationModel::Exponential(ExpModel::new(300.0, beta, gamma)),
        noise_cov: 0.03,
        cold_start_rate: 0.05,
        init_ms: 250.0,
        failure_rate: 0.0,
        min_memory_mb: None,
        timeout_ms: f64::INFINITY,
        billed_ms: Some(timeout_ms),
        scale: 1.0,
    }
}

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u = |r: &mut Xoshiro256PlusPlus| ((r.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let (a, b) = (u(rng), u(rng));
    (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
}

fn uniform(rng: &mut Xoshiro256PlusPlus) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn estimate_target(
    plan: &LoadedPlan,
    t: &Target,
    settings: &SamplerSettings,
    b: &Behaviour,
    seed: u64,
) -> TargetEstimate {
    let mut runs: Vec<(u64, f64)> = Vec::new();
    for k in 0..REHEARSALS {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ (k + 1).wrapping_mul(0x9E37_79B9));
        let Ok(mut s) = Sampler::new(t.candidates.clone(), plan.pricing.clone(), settings.clone())
        else {
            return TargetEstimate::default();
        };
        let mut warm = 0u32;
        let mut configured = None;
        let mut extra_cost = 0.0;
        for _ in 0..10_000 {
            let r = match s.next_step() {
                Step::Done(_) => break,
                Step::Measure(r) => r,
            };
            if r.fresh || configured != Some(r.memory_mb) {
                warm = 0;
                configured = Some(r.memory_mb);
            }
            let mut call = || {
                let cold = warm == 0 || uniform(&mut rng) < b.cold_start_rate;
                if cold {
                    warm += 1;
                }
                let m = r.memory_mb;
                let d = (b.scale
                    * b.curve.duration_ms(f64::from(m))
                    * (1.0 + b.noise_cov * normal(&mut rng)).max(0.05))
                .max(0.5);
                let init = cold.then(|| b.init_ms * (1.0 + 0.1 * normal(&mut rng)).max(0.2));
                let mut inv = if b.min_memory_mb.is_some_and(|min| m < min) {
                    Invocation {
                        billed_duration_ms: Some((d * 0.4).round().ceil()),
                        ..Invocation::failed(Status::OutOfMemory, "killed")
                    }
                } else if d > b.timeout_ms {
                    Invocation {
                        billed_duration_ms: Some(b.timeout_ms.ceil()),
                        ..Invocation::failed(Status::Timeout, "timed out")
                    }
                } else if uniform(&mut rng) < b.failure_rate {
                    Invocation {
                        billed_duration_ms: Some((d * 0.5).round().ceil()),
                        ..Invocation::failed(Status::Error, "failed")
                    }
                } else {
                    Invocation::ok(d)
                };
                inv.init_duration_ms = init;
                inv
            };
            let warmup = r.warmup.then(&mut call);
            let killed = warmup.as_ref().is_some_and(|w| {
                matches!(
                    w.effective_status(r.memory_mb),
                    Status::Timeout | Status::OutOfMemory
                )
            });
            let count = if killed { 0 } else { r.count };
            let invocations: Vec<Invocation> = (0..count).map(|_| call()).collect();
            if let Some(billed) = b.billed_ms {
                let n = invocations.len() + usize::from(warmup.is_some());
                extra_cost +=
                    n as f64 * plan.pricing.invocation_cost(f64::from(r.memory_mb), billed);
            }
            if s.record(&Batch {
                warmup,
                invocations,
            })
            .is_err()
            {
                break;
            }
        }
        let cost = if b.billed_ms.is_some() {
            extra_cost
        } else {
            s.cost_usd()
        };
        runs.push((s.invocations(), cost));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    TargetEstimate {
        invocations: median(runs.iter().map(|r| r.0 as f64).collect()),
        cost_usd: median(runs.iter().map(|r| r.1).collect()),
        most_invocations: runs.iter().map(|r| r.0).max().unwrap_or(0),
    }
}
