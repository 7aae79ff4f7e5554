//! The stop rules beyond the belief: a settled choice (the model's prediction interval), a
//! bracketed optimum (coarse grids and range ends), and the pooled noise level that decides when
//! one memory's scatter is unusual.
//!
//! **Settled.** The selected model's parameters `θ` are fitted to the relative durations, so their
//! covariance is about `s² (JᵀJ)⁻¹`, with `J` the Jacobian of `ET(m_i; θ) / ET(m_i)` over the warm
//! samples and `s²` their relative residual variance (noise and any misfit alike). For the
//! predicted optimum `m*` and every other feasible candidate `m`, the predicted saving
//! `Δ(m) = cost(m*) − cost(m)` then has a standard deviation `sd(Δ)` from the same covariance (the
//! delta method; the two predictions are correlated, which is what makes a flat curve's
//! neighbours easy to compare). The choice is settled when no candidate can plausibly be cheaper
//! than `m*` by more than `stop_tolerance` (2.5%) of its cost, `Δ(m) + 1.5·sd(Δ(m)) ≤ tol ·
//! cost(m*)` for every `m`, and the prediction interval at `m*` is tight, `1.5·sd(cost(m*)) ≤
//! stop_interval · cost(m*)` (5%): further samples could then move the choice by no more than the
//! tolerance (2 standard deviations instead of 1.5 when the memories' pooled CoV exceeds
//! `cov_threshold`). This is the rule that ends flat cost curves, where the belief never concentrates
//! because the predicted optimum wanders over a wide, nearly level valley. (With 2 standard
//! deviations, ML-like curves on 1,536–10,240 MB still ran to the 20-memory cap in half of the
//! rehearsals; with 1, a 10%-noise curve chose a memory 12% dearer than the optimum: see the suite
//! in `profiler/src/profile/suite.rs`.)

use nalgebra::{DMatrix, DVector};

use crate::model::{CpuShareModel, DurationModel, ExpModel, Sample};
use crate::pricing::Pricing;

/// Standard deviations of the one-sided bound (about 93%).
pub const STOP_Z: f64 = 1.5;
/// ... and where the memories scatter by more than the CoV threshold (the residual variance of a
/// few samples per memory is then itself uncertain): about 97.7%.
pub const STOP_Z_NOISY: f64 = 2.0;

/// The parameters of a parametric model, and the model back from them.
fn parameters(model: &DurationModel) -> Option<Vec<f64>> {
    match model {
        DurationModel::Exponential(m) => Some(vec![m.alpha_ms, m.beta_ms, m.gamma_per_mb]),
        DurationModel::CpuShare(m) if m.parallel_fraction > 0.0 => {
            Some(vec![m.serial_ms, m.cpu_ms, m.knee_mb, m.parallel_fraction])
        }
        DurationModel::CpuShare(m) => Some(vec![m.serial_ms, m.cpu_ms, m.knee_mb]),
        DurationModel::Table(_) => None,
    }
}

fn rebuild(model: &DurationModel, p: &[f64]) -> DurationModel {
    match model {
        DurationModel::Exponential(_) => {
            DurationModel::Exponential(ExpModel::new(p[0], p[1], p[2]))
        }
        DurationModel::CpuShare(_) => {
            let m = CpuShareModel::new(p[0], p[1], p[2]);
            DurationModel::CpuShare(match p.get(3) {
                Some(&f) => m.with_parallel_fraction(f),
                None => m,
            })
        }
        DurationModel::Table(t) => DurationModel::Table(t.clone()),
    }
}

/// The gradient of `ET(m)` in the parameters (central differences).
fn gradient(model: &DurationModel, p: &[f64], m: f64) -> Vec<f64> {
    (0..p.len())
        .map(|j| {
            let h = 1e-4 * p[j].abs().max(scale(model, j));
            let mut up = p.to_vec();
            let mut down = p.to_vec();
            up[j] += h;
            down[j] -= h;
            (rebuild(model, &up).duration_ms(m) - rebuild(model, &down).duration_ms(m)) / (2.0 * h)
        })
        .collect()
}

/// A parameter's natural scale, for the difference step when it is near zero.
fn scale(model: &DurationModel, j: usize) -> f64 {
    match (model, j) {
        (DurationModel::Exponential(_), 2) => 1e-4,
        (DurationModel::CpuShare(_), 2) => 100.0,
        (DurationModel::CpuShare(_), 3) => 0.01,
        _ => 1.0,
    }
}

/// The covariance of the parameters (relative least squares), if they are identified.
fn covariance(model: &DurationModel, p: &[f64], samples: &[Sample]) -> Option<DMatrix<f64>> {
    let (n, k) = (samples.len(), p.len());
    if n <= k {
        return None;
    }
    let mut j = DMatrix::zeros(n, k);
    let mut ss = 0.0;
    for (i, s) in samples.iter().enumerate() {
        let f = model.duration_ms(s.memory_mb);
        if !(f.is_finite() && f > 0.0) {
            return None;
        }
        ss += ((s.duration_ms - f) / f).powi(2);
        for (c, g) in gradient(model, p, s.memory_mb).into_iter().enumerate() {
            j[(i, c)] = g / f;
        }
    }
    let s2 = ss / (n - k) as f64;
    let jtj = j.transpose() * &j;
    // A parameter the samples do not move (a knee beyond every sample) is not identified.
    if (0..k).any(|c| jtj[(c, c)] <= 0.0 || !jtj[(c, c)].is_finite()) {
        return None;
    }
    let inv = jtj.try_inverse()?;
    let cov = inv * s2;
    cov.iter().all(|x| x.is_finite()).then_some(cov)
}

/// The settled rule's bounds: `stop_tolerance`, `stop_interval`, and the standard deviations.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub tolerance: f64,
    pub interval: f64,
    pub z: f64,
}

/// Is the choice of `best` among `feasible` settled (see the module documentation)?
pub fn settled(
    model: &DurationModel,
    samples: &[Sample],
    feasible: &[u32],
    best: u32,
    pricing: &Pricing,
    bounds: Bounds,
) -> bool {
    let Bounds {
        tolerance,
        interval,
        z,
    } = bounds;
    let Some(p) = parameters(model) else {
        return false;
    };
    let Some(cov) = covariance(model, &p, samples) else {
        return false;
    };
    // Cost is linear in the duration at a fixed memory: d cost / d ET.
    let slope = |m: u32| {
        let d = model.duration_ms(f64::from(m));
        let f = f64::from(m);
        (pricing.invocation_cost(f, d * 1.001) - pricing.invocation_cost(f, d * 0.999))
            / (0.002 * d)
    };
    let cost = |m: u32| pricing.invocation_cost(f64::from(m), model.duration_ms(f64::from(m)));
    let grad_cost = |m: u32| DVector::from_vec(gradient(model, &p, f64::from(m))) * slope(m);
    let sd = |g: &DVector<f64>| (g.transpose() * &cov * g)[(0, 0)].max(0.0).sqrt();
    let c_best = cost(best);
    let g_best = grad_cost(best);
    if z * sd(&g_best) > interval * c_best {
        return false;
    }
    feasible.iter().filter(|&&m| m != best).all(|&m| {
        let g = &g_best - grad_cost(m);
        c_best - cost(m) + z * sd(&g) <= tolerance * c_best
    })
}

/// The optimum is bracketed: it was measured, and so were its neighbours among the feasible
/// candidates (one side at an end of the range). On a grid coarser than the belief width, or at an
/// end of the range, the belief cannot reach `stop_belief` this way, though nothing between the
/// measured memories is left to choose.
pub fn bracketed(feasible: &[u32], best: u32, measured: impl Fn(u32) -> bool) -> bool {
    let Some(i) = feasible.iter().position(|&m| m == best) else {
        return false;
    };
    measured(best)
        && i.checked_sub(1).is_none_or(|k| measured(feasible[k]))
        && feasible.get(i + 1).is_none_or(|&m| measured(m))
}

/// The noise level of the other memories: the root mean square of their coefficients of variation
/// (those with two warm samples or more), if any.
pub fn pooled_cov<'a>(others: impl Iterator<Item = &'a [f64]>) -> Option<f64> {
    let covs: Vec<f64> = others.filter(|w| w.len() >= 2).map(super::cov).collect();
    (!covs.is_empty()).then(|| (covs.iter().map(|c| c * c).sum::<f64>() / covs.len() as f64).sqrt())
}

/// The model's mean relative standard deviation over `feasible` (how well the samples pin the
/// whole curve down), and the candidate where it is largest; `None` when the parameters are not
/// identified.
pub fn spread(model: &DurationModel, samples: &[Sample], feasible: &[u32]) -> Option<(f64, u32)> {
    let p = parameters(model)?;
    let cov = covariance(model, &p, samples)?;
    let mut worst = (f64::NEG_INFINITY, *feasible.first()?);
    let mut sum = 0.0;
    for &m in feasible {
        let g = DVector::from_vec(gradient(model, &p, f64::from(m)));
        let sd =
            (g.transpose() * &cov * &g)[(0, 0)].max(0.0).sqrt() / model.duration_ms(f64::from(m));
        sum += sd;
        if sd > worst.0 {
            worst = (sd, m);
        }
    }
    Some((sum / feasible.len() as f64, worst.1))
}
