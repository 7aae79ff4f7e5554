//! The thesis' model (OptiServe §3.1), `ET(m) = alpha + beta * exp(-gamma * m)`, and its fit by
//! relative nonlinear least squares (see the [module documentation](super)).

use nalgebra::{Matrix3, Vector3};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ModelError, Sample, fit_quality, validate};

/// `ET(m) = alpha + beta * exp(-gamma * m)`, durations in ms, memory in MB.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpModel {
    /// Asymptotic duration at large memory (ms).
    pub alpha_ms: f64,
    /// Extra duration that decays with memory (ms); `>= 0` for fitted models.
    pub beta_ms: f64,
    /// Decay rate (1/MB); `>= 0` for fitted models.
    pub gamma_per_mb: f64,
}

impl ExpModel {
    /// `alpha + beta * exp(-gamma * m)` from its three parameters.
    pub const fn new(alpha_ms: f64, beta_ms: f64, gamma_per_mb: f64) -> Self {
        Self {
            alpha_ms,
            beta_ms,
            gamma_per_mb,
        }
    }

    /// A memory-independent model (`beta = gamma = 0`).
    pub const fn constant(duration_ms: f64) -> Self {
        Self::new(duration_ms, 0.0, 0.0)
    }

    /// Predicted duration (ms) at `memory_mb`.
    pub fn duration_ms(&self, memory_mb: f64) -> f64 {
        if self.beta_ms == 0.0 {
            return self.alpha_ms;
        }
        // `libm::exp`, not `f64::exp`: the platform's exp (glibc natively, a port of musl's in
        // wasm) may differ in the last bit; one implementation gives the same durations, hence
        // the same optimizations and simulations, everywhere.
        self.alpha_ms + self.beta_ms * libm::exp(-self.gamma_per_mb * memory_mb)
    }
}

/// Result of [`fit_exponential`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FitReport {
    /// Fitted parameters.
    pub model: ExpModel,
    /// Mean absolute percentage error over the samples (%).
    pub mape_percent: f64,
    /// Coefficient of determination on absolute durations.
    pub r2: f64,
    /// Number of samples used.
    pub samples: usize,
}

/// Fits [`ExpModel`] to `samples` minimising relative squared error.
///
/// Every sample is a point (repeated memories count separately). A flat
/// profile (all durations equal) or a single distinct memory yields the
/// constant model at the mean duration. Errors name the first invalid sample.
pub fn fit_exponential(samples: &[Sample]) -> Result<FitReport, ModelError> {
    fit_with(samples, Loss::Relative)
}

/// Residual weighting used by the fitter.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Loss {
    /// `(model - y) / y`.
    Relative,
    /// `model - y`: the unweighted fit the tests compare the relative one with. It exists only in
    /// test builds; production code always fits relative error.
    #[cfg(test)]
    Absolute,
}

/// Largest `gamma * (m_max - m_min)` explored (the decay is complete well before).
const G_CAP: f64 = 200.0;
/// Number of gamma values in the variable-projection start grid.
const GRID: usize = 40;
/// Number of grid local minima refined by Levenberg–Marquardt.
const STARTS: usize = 3;
const MAX_ITERS: usize = 200;

fn fit_with(samples: &[Sample], loss: Loss) -> Result<FitReport, ModelError> {
    validate(samples)?;
    let report = |model: ExpModel| {
        let (mape_percent, r2) = fit_quality(&model.into(), samples);
        FitReport {
            model,
            mape_percent,
            r2,
            samples: samples.len(),
        }
    };
    let m0 = samples
        .iter()
        .fold(f64::INFINITY, |a, s| a.min(s.memory_mb));
    let m1 = samples.iter().fold(0.0_f64, |a, s| a.max(s.memory_mb));
    let y_max = samples.iter().fold(0.0_f64, |a, s| a.max(s.duration_ms));
    let y0 = samples.first().map_or(0.0, |s| s.duration_ms);
    if samples.iter().all(|s| s.duration_ms == y0) {
        return Ok(report(ExpModel::constant(y0)));
    }
    if m1 <= m0 {
        let mean =
            samples.iter().map(|s| s.duration_ms / y_max).sum::<f64>() / samples.len() as f64;
        return Ok(report(ExpModel::constant(mean * y_max)));
    }
    // Internal parametrisation: ET = y_max * (a + b * exp(-g * t)), t = (m - m0) / span in [0, 1].
    let span = m1 - m0;
    let point = |s: &Sample| {
        let (t, y) = ((s.memory_mb - m0) / span, s.duration_ms / y_max);
        let w = if loss == Loss::Relative { 1.0 / y } else { 1.0 };
        Point { t, y, w }
    };
    let pts = samples.iter().map(point).collect();
    // Keep gamma * m0 <= 600 so that beta = b * exp(gamma * m0) stays finite.
    let g_max = G_CAP.min(600.0 * span / m0);
    let p = Problem { pts, g_max }.solve();
    let (a, b, g) = (p[0], p[1], p[2]);
    let model = if g <= 0.0 {
        ExpModel::constant(y_max * (a + b)) // exp(-0 * t) = 1: b is part of the constant
    } else if b <= 0.0 {
        ExpModel::constant(y_max * a)
    } else {
        let gamma = g / span;
        ExpModel::new(y_max * a, y_max * b * (gamma * m0).exp(), gamma)
    };
    if !(model.alpha_ms.is_finite() && model.beta_ms.is_finite() && model.gamma_per_mb.is_finite())
    {
        return Err(ModelError::NonFiniteFit(model));
    }
    Ok(report(model))
}

/// A sample in internal units: normalised memory `t`, scaled duration `y`, weight `w`.
struct Point {
    t: f64,
    y: f64,
    w: f64,
}

/// Weighted least squares for `r_i = w_i * (a + b * exp(-g * t_i) - y_i)`
/// with `b >= 0`, `0 <= g <= g_max` and the curve positive at `t = 1`.
struct Problem {
    pts: Vec<Point>,
    g_max: f64,
}

impl Problem {
    /// Grid over `g`, solving `(a, b)` exactly at each node (variable
    /// projection), then LM from the best few local minima of that profile.
    fn solve(&self) -> Vector3<f64> {
        let nodes: Vec<(Vector3<f64>, f64)> = (0..GRID)
            .map(|k| {
                let g = if k == 0 {
                    0.0
                } else {
                    self.g_max * 1e-4_f64.powf((GRID - 1 - k) as f64 / (GRID - 2) as f64)
                };
                self.linear_start(g)
            })
            .collect();
        let cost_at = |k: usize| nodes.get(k).map_or(f64::INFINITY, |n| n.1);
        let mut minima: Vec<&(Vector3<f64>, f64)> = (0..GRID)
            .filter(|&k| {
                let c = cost_at(k);
                c.is_finite() && c <= cost_at(k.wrapping_sub(1)) && c <= cost_at(k + 1)
            })
            .filter_map(|k| nodes.get(k))
            .collect();
        minima.sort_by(|x, y| x.1.total_cmp(&y.1));
        let mut best = nodes
            .first()
            .copied()
            .unwrap_or((Vector3::zeros(), f64::INFINITY));
        for &&(start, cost) in minima.iter().take(STARTS) {
            let (p, c) = self.levenberg_marquardt(start, cost);
            if c < best.1 {
                best = (p, c);
            }
        }
        best.0
    }

    /// Best `(a, b >= 0)` for fixed `g` by weighted linear least squares.
    fn linear_start(&self, g: f64) -> (Vector3<f64>, f64) {
        let (mut suu, mut suv, mut svv, mut suy, mut svy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for p in &self.pts {
            let (w2, e) = (p.w * p.w, (-g * p.t).exp());
            suu += w2;
            suv += w2 * e;
            svv += w2 * e * e;
            suy += w2 * p.y;
            svy += w2 * e * p.y;
        }
        let det = suu * svv - suv * suv;
        let mut ab = (suy / suu, 0.0);
        if det > 1e-10 * suu * svv {
            let b = (suu * svy - suv * suy) / det;
            if b > 0.0 {
                ab = ((svv * suy - suv * svy) / det, b);
            }
        }
        // α ≥ 0: a function never runs in negative time however much memory it gets. With the
        // asymptote held at 0 the best b is the one-term least squares.
        if ab.0 < 0.0 && svv > 0.0 {
            ab = (0.0, svy / svv);
        }
        let p = Vector3::new(ab.0, ab.1, g);
        (p, self.cost(&p))
    }

    /// Sum of squared residuals, or infinity if the curve is not positive at
    /// the largest sampled memory (its minimum over the sampled range).
    fn cost(&self, p: &Vector3<f64>) -> f64 {
        if p[0] + p[1] * (-p[2]).exp() <= 0.0 {
            return f64::INFINITY;
        }
        let c: f64 = self
            .pts
            .iter()
            .map(|q| (q.w * (p[0] + p[1] * (-p[2] * q.t).exp() - q.y)).powi(2))
            .sum();
        if c.is_nan() { f64::INFINITY } else { c }
    }

    /// `(JᵀJ, Jᵀr)` at `p`.
    fn normal_equations(&self, p: &Vector3<f64>) -> (Matrix3<f64>, Vector3<f64>) {
        let mut jtj = Matrix3::zeros();
        let mut jtr = Vector3::zeros();
        for q in &self.pts {
            let e = (-p[2] * q.t).exp();
            let r = q.w * (p[0] + p[1] * e - q.y);
            let j = Vector3::new(q.w, q.w * e, -q.w * p[1] * q.t * e);
            jtj += j * j.transpose();
            jtr += j * r;
        }
        (jtj, jtr)
    }

    /// Projected Levenberg–Marquardt with Marquardt diagonal scaling.
    fn levenberg_marquardt(&self, start: Vector3<f64>, start_cost: f64) -> (Vector3<f64>, f64) {
        let (mut p, mut cost) = (start, start_cost);
        let (mut jtj, mut jtr) = self.normal_equations(&p);
        let mut lambda = 1e-3;
        for _ in 0..MAX_ITERS {
            if cost <= 1e-30 || lambda > 1e12 {
                break;
            }
            let floor = 1e-12 * jtj.diagonal().max().max(1e-300);
            let mut damped = jtj;
            for k in 0..3 {
                damped[(k, k)] += lambda * jtj[(k, k)].max(floor);
            }
            let Some(chol) = damped.cholesky() else {
                lambda *= 10.0;
                continue;
            };
            let step = chol.solve(&(-jtr));
            let mut trial = p + step;
            trial[0] = trial[0].max(0.0);
            trial[1] = trial[1].max(0.0);
            trial[2] = trial[2].max(0.0).min(self.g_max);
            let trial_cost = self.cost(&trial);
            if trial_cost < cost {
                let gain = cost - trial_cost;
                (p, cost) = (trial, trial_cost);
                (jtj, jtr) = self.normal_equations(&p);
                lambda = (lambda * 0.1).max(1e-15);
                if gain <= 1e-14 * cost {
                    break;
                }
            } else {
                lambda *= 10.0;
            }
        }
        (p, cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(memory_mb: f64, duration_ms: f64) -> Sample {
        Sample::new(memory_mb, duration_ms)
    }

    /// Acceptance profile: memory 128 + 192 k MB, one sample each.
    const PROFILE_MS: [f64; 16] = [
        2898.2, 1150.7, 700.4, 510.7, 399.0, 322.6, 271.0, 242.7, 222.3, 204.2, 201.6, 200.3,
        201.3, 203.9, 203.5, 200.6,
    ];

    fn profile() -> Vec<Sample> {
        let mem = |k: usize| 128.0 + 192.0 * k as f64;
        PROFILE_MS
            .iter()
            .enumerate()
            .map(|(k, &d)| s(mem(k), d))
            .collect()
    }

    fn rel_close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs()
    }

    #[test]
    fn acceptance_relative_fit_beats_absolute() {
        let data = profile();
        let rel = fit_exponential(&data).unwrap();
        let abs = fit_with(&data, Loss::Absolute).unwrap();
        println!("relative fit: {rel:?}\nabsolute fit: {abs:?}");
        let (rm, am) = (rel.mape_percent, abs.mape_percent);
        println!("MAPE relative = {rm:.3}%, absolute = {am:.3}%");
        assert!(rm <= 6.0, "relative MAPE {rm}");
        assert!(am > 10.0, "absolute MAPE {am}");
        assert!(rel.samples == 16 && rel.r2 > 0.9 && abs.r2 >= rel.r2);
        let m = rel.model;
        assert!(m.beta_ms >= 0.0 && m.gamma_per_mb >= 0.0 && m.duration_ms(3008.0) > 0.0);
    }

    #[test]
    fn no_parameter_is_negative_even_where_the_data_would_pull_it_below_zero() {
        // Durations that fall faster than any exponential with a positive floor: the
        // unconstrained fit has α < 0 (negative durations past ~900 MB).
        for data in [
            vec![(128.0, 2000.0), (256.0, 900.0), (512.0, 150.0)],
            vec![
                (128.0, 5000.0),
                (192.0, 2000.0),
                (256.0, 400.0),
                (320.0, 30.0),
            ],
            vec![(128.0, 900.0), (256.0, 500.0), (1024.0, 10.0)],
        ] {
            let samples: Vec<Sample> = data.iter().map(|&(m, d)| Sample::new(m, d)).collect();
            let m = fit_exponential(&samples).unwrap().model;
            assert!(
                m.alpha_ms >= 0.0 && m.beta_ms >= 0.0 && m.gamma_per_mb >= 0.0,
                "{data:?}: {m:?}"
            );
            for memory in [128.0, 1024.0, 3008.0, 10240.0] {
                assert!(m.duration_ms(memory) >= 0.0, "{data:?} at {memory}: {m:?}");
            }
        }
    }

    #[test]
    fn recovers_known_parameters_with_repeats() {
        let truth = ExpModel::new(150.0, 3000.0, 0.004);
        let data: Vec<Sample> = (0..46)
            .map(|k| 128.0 + 64.0 * k as f64)
            .flat_map(|m| [s(m, truth.duration_ms(m)); 2])
            .collect();
        let fit = fit_exponential(&data).unwrap();
        let m = fit.model;
        assert_eq!(fit.samples, 92);
        assert!(rel_close(m.alpha_ms, 150.0, 1e-3), "{fit:?}");
        assert!(rel_close(m.beta_ms, 3000.0, 1e-3), "{fit:?}");
        assert!(rel_close(m.gamma_per_mb, 0.004, 1e-3), "{fit:?}");
        assert!(fit.mape_percent < 1e-3 && fit.r2 > 0.999_999);
    }

    #[test]
    fn flat_profile_and_single_memory_give_constant_models() {
        let flat = fit_exponential(&[s(128.0, 0.1), s(512.0, 0.1), s(1024.0, 0.1)]).unwrap();
        assert_eq!(flat.model, ExpModel::constant(0.1));
        assert_eq!((flat.mape_percent, flat.r2), (0.0, 1.0));
        let single = fit_exponential(&[s(512.0, 100.0), s(512.0, 110.0)]).unwrap();
        assert!(rel_close(single.model.alpha_ms, 105.0, 1e-12));
        assert_eq!(
            (single.model.beta_ms, single.model.gamma_per_mb),
            (0.0, 0.0)
        );
        let one = fit_exponential(&[s(1769.0, 42.0)]).unwrap();
        assert_eq!((one.model, one.samples), (ExpModel::constant(42.0), 1));
        // Duration growing with memory cannot be followed with beta >= 0: constant.
        let up = fit_exponential(&[s(128.0, 100.0), s(1024.0, 120.0), s(2048.0, 140.0)]);
        let up = up.unwrap().model;
        assert_eq!((up.beta_ms, up.gamma_per_mb), (0.0, 0.0));
        assert!(up.alpha_ms > 100.0 && up.alpha_ms < 140.0);
        // Two distinct memories: an exact fit exists.
        let two = fit_exponential(&[s(128.0, 900.0), s(1024.0, 300.0), s(128.0, 900.0)]);
        assert!(two.unwrap().mape_percent < 1e-6);
    }

    #[test]
    fn bad_input_errors_name_the_index() {
        assert_eq!(fit_exponential(&[]), Err(ModelError::NoSamples));
        let ok = s(128.0, 10.0);
        let cases = [
            (s(f64::NAN, 1.0), "sample 2: memory (NaN MB)"),
            (
                s(128.0, f64::INFINITY),
                "sample 2: memory (128 MB) and duration (inf ms)",
            ),
            (s(0.0, 10.0), "sample 2: memory must be positive, got 0 MB"),
            (
                s(-64.0, 10.0),
                "sample 2: memory must be positive, got -64 MB",
            ),
            (
                s(128.0, 0.0),
                "sample 2: duration must be positive, got 0 ms",
            ),
            (
                s(128.0, -5.0),
                "sample 2: duration must be positive, got -5 ms",
            ),
        ];
        for (bad, msg) in cases {
            let err = fit_exponential(&[ok, ok, bad, ok]).unwrap_err();
            assert!(err.to_string().starts_with(msg), "{err}");
        }
        let err = fit_exponential(&[s(-1.0, 1.0)]).unwrap_err();
        assert_eq!(
            err,
            ModelError::NonPositiveMemory {
                index: 0,
                memory_mb: -1.0
            }
        );
    }

    proptest! {
        #[test]
        fn exp_model_is_non_increasing(
            alpha in -1e4..1e4_f64, beta in 0.0..1e5_f64, gamma in 0.0..0.1_f64,
            m1 in 0.0..10_240.0_f64, dm in 0.0..10_240.0_f64,
        ) {
            let m = ExpModel::new(alpha, beta, gamma);
            prop_assert!(m.duration_ms(m1) >= m.duration_ms(m1 + dm));
        }

        #[test]
        fn noiseless_fits_are_near_exact(
            alpha in 10.0..2000.0_f64, beta in 100.0..20_000.0_f64, gamma in 0.0005..0.01_f64,
            mems in proptest::collection::vec(128u32..=3008, 1..24),
        ) {
            let truth = ExpModel::new(alpha, beta, gamma);
            let data: Vec<Sample> =
                mems.iter().map(|&m| s(m.into(), truth.duration_ms(m.into()))).collect();
            let fit = fit_exponential(&data).unwrap();
            prop_assert!(fit.mape_percent < 0.5, "{:?} vs {:?}", fit, truth);
        }
    }
}
