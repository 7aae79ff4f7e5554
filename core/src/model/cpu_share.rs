//! The CPU-share model: a function's duration as a part that does not depend on the CPU plus a part
//! that scales with the CPU share Lambda allocates.
//!
//! Lambda gives a function CPU in proportion to its memory: one full vCPU at [`VCPU_MB`] (1,769 MB),
//! more vCPUs beyond it (up to 6 at 10,240 MB) that only multi-threaded code can use. With the CPU
//! share `s(m) = min(m, knee) / 1769` of a single-threaded function,
//!
//! ```text
//! ET(m) = serial + cpu · 1769 · ((1 − p) / min(m, knee) + p / m)
//! ```
//!
//! - `serial_ms`: the part that does not scale with the CPU share (the fitted intercept; it can
//!   be negative when the curve falls faster than `1/m` below the knee, as when disk or network
//!   bandwidth, which Lambda also scales with memory, is part of the work);
//! - `cpu_ms`: the CPU-bound part's duration with one full vCPU (≥ 0);
//! - `knee_mb`: the memory beyond which the single-threaded part gets no faster (> 0): 1,769 MB for
//!   CPU-bound code, lower for code that stops being CPU-bound earlier (I/O);
//! - `parallel_fraction` `p` ∈ [0, 1] (default 0): the share of the CPU-bound part that runs on
//!   more than one thread and keeps scaling as `m / 1769` beyond the knee.
//!
//! With `cpu_ms ≥ 0`, `knee_mb > 0` and `p ∈ [0, 1]` every term is non-increasing in `m`, and so is
//! the model (in floating point too: each operation is monotone and rounds monotonically).
//!
//! **Fit** ([`fit_cpu_share`]): for a fixed knee the model is linear in `(serial, cpu·(1 − p),
//! cpu·p)`, solved exactly under `cpu·(1 − p), cpu·p ≥ 0` (every active set of the two bounds is
//! tried) and kept positive up to 10,240 MB. The loss is the **mean absolute relative error**
//! (MAPE, the error `fit` reports), minimised by iteratively reweighted least squares from the
//! relative least-squares solution: real curves scatter by a few percent between memory sizes
//! beyond their knee (see `tests/fixtures/real-aws/functions/`), and the median-like fit follows
//! the bulk of them rather than the stragglers. The knee is searched: the loss is smooth in the knee
//! between two sampled memories but not across them, so the candidates are every sampled memory and,
//! in each gap between two of them, the knee minimising the relative squared error (golden section);
//! the candidate with the lowest MAPE is refined between its neighbouring candidates (golden
//! section again) and rounded to a whole MB. When the best knee is the largest sampled memory (no
//! plateau observed) and that is below 1,769 MB, the knee is put at 1,769 MB, where Lambda's CPU
//! share stops growing for single-threaded code: the samples cannot tell, physics can.
//! `docs/models.md` compares this with a least-squares fit on real functions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ModelError, Sample, validate};

/// Memory (MB) at which Lambda allocates one full vCPU.
pub const VCPU_MB: f64 = 1769.0;

/// The largest memory a fit must keep positive (Lambda's maximum, MB).
const MAX_MEMORY_MB: f64 = 10_240.0;

/// `ET(m) = serial + cpu · 1769 · ((1 − p) / min(m, knee) + p / m)`, durations in ms, memory in MB.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuShareModel {
    /// The part that does not scale with the CPU share (ms); a fit makes it negative when the curve
    /// falls faster than `1/m` below the knee.
    pub serial_ms: f64,
    /// The CPU-bound part's duration with one full vCPU, at 1,769 MB (ms); `>= 0`.
    pub cpu_ms: f64,
    /// Memory beyond which single-threaded work gets no faster (MB); `> 0`.
    pub knee_mb: f64,
    /// Share of the CPU-bound part that uses more than one vCPU (keeps scaling beyond the knee);
    /// in `[0, 1]`, 0 when left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub parallel_fraction: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl CpuShareModel {
    /// A single-threaded model (`parallel_fraction` 0).
    pub const fn new(serial_ms: f64, cpu_ms: f64, knee_mb: f64) -> Self {
        Self {
            serial_ms,
            cpu_ms,
            knee_mb,
            parallel_fraction: 0.0,
        }
    }

    /// The same model with a multi-threaded share `p`.
    pub const fn with_parallel_fraction(self, p: f64) -> Self {
        Self {
            parallel_fraction: p,
            ..self
        }
    }

    /// Predicted duration (ms) at `memory_mb` (> 0); NaN for NaN input.
    pub fn duration_ms(&self, memory_mb: f64) -> f64 {
        if memory_mb.is_nan() {
            return f64::NAN;
        }
        let single = VCPU_MB / memory_mb.min(self.knee_mb);
        let p = self.parallel_fraction;
        if p == 0.0 {
            return self.serial_ms + self.cpu_ms * single;
        }
        self.serial_ms + self.cpu_ms * ((1.0 - p) * single + p * (VCPU_MB / memory_mb))
    }

    /// The parameters a bundle must satisfy, as `(field, problem)`: every one finite, `cpu_ms ≥ 0`,
    /// `knee_mb > 0`, `parallel_fraction` in `[0, 1]`. These make the model non-increasing.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (name, v) in [
            ("serial_ms", self.serial_ms),
            ("cpu_ms", self.cpu_ms),
            ("knee_mb", self.knee_mb),
            ("parallel_fraction", self.parallel_fraction),
        ] {
            if !v.is_finite() {
                return Err((name, format!("must be a finite number, found {v}")));
            }
        }
        if self.cpu_ms < 0.0 {
            return Err((
                "cpu_ms",
                format!(
                    "must be ≥ 0 (more memory cannot slow a function down in this model), found {}",
                    self.cpu_ms
                ),
            ));
        }
        if self.knee_mb <= 0.0 {
            return Err((
                "knee_mb",
                format!("must be a positive memory size, found {}", self.knee_mb),
            ));
        }
        if !(0.0..=1.0).contains(&self.parallel_fraction) {
            return Err((
                "parallel_fraction",
                format!("must be within [0, 1], found {}", self.parallel_fraction),
            ));
        }
        Ok(())
    }
}

/// Fits a [`CpuShareModel`] to `samples` minimising the mean absolute relative error; with
/// `multi_thread` the parallel fraction is fitted too (otherwise it is 0).
///
/// Every sample is a point (repeated memories count separately). All durations equal, or a single
/// distinct memory, give a constant model (`cpu_ms` 0) at the samples' median. Errors name the
/// first invalid sample.
pub fn fit_cpu_share(samples: &[Sample], multi_thread: bool) -> Result<CpuShareModel, ModelError> {
    validate(samples)?;
    let y_max = samples.iter().fold(0.0_f64, |a, s| a.max(s.duration_ms));
    let mut memories: Vec<f64> = samples.iter().map(|s| s.memory_mb).collect();
    memories.sort_by(f64::total_cmp);
    memories.dedup();
    let (Some(&lo), Some(&hi)) = (memories.first(), memories.last()) else {
        return Err(ModelError::NoSamples);
    };
    let problem = Problem {
        pts: samples
            .iter()
            .map(|s| (s.memory_mb, s.duration_ms / y_max))
            .collect(),
        multi_thread,
        top: hi.max(MAX_MEMORY_MB),
    };
    let first = samples.first().map_or(0.0, |s| s.duration_ms);
    if lo == hi || samples.iter().all(|s| s.duration_ms == first) {
        let mut y: Vec<f64> = samples.iter().map(|s| s.duration_ms).collect();
        y.sort_by(f64::total_cmp);
        let n = y.len();
        let median = if n % 2 == 1 {
            y[n / 2]
        } else {
            0.5 * (y[n / 2 - 1] + y[n / 2])
        };
        return finish(CpuShareModel::new(median, 0.0, VCPU_MB));
    }

    // The loss is smooth in the knee between two sampled memories but not across them. Candidates:
    // every sampled memory, and in each gap between two of them the knee that minimises the
    // relative squared error (golden section; cheap and smooth). The best candidate for the
    // absolute error is then refined between its neighbouring candidates.
    let squares = |k: f64| problem.least_squares(k).map_or(f64::INFINITY, |f| f.0);
    let mut candidates: Vec<f64> = Vec::with_capacity(2 * memories.len());
    for w in memories.windows(2) {
        candidates.push(w[0]);
        candidates.push(golden_section(w[0], w[1], squares).0);
    }
    candidates.push(hi);
    let search = |k: f64| problem.solve_to(k, 1e-4, SEARCH_ITERS).0;
    let losses: Vec<f64> = candidates.iter().map(|&k| search(k)).collect();
    let best = (0..candidates.len())
        .min_by(|&a, &b| losses[a].total_cmp(&losses[b]).then(a.cmp(&b)))
        .unwrap_or(0);
    let (below, above) = (
        candidates[best.saturating_sub(1)],
        candidates[(best + 1).min(candidates.len() - 1)],
    );
    let mut refined = [(candidates[best], losses[best]); 3];
    if below < candidates[best] {
        refined[1] = golden_section(below, candidates[best], search);
    }
    if above > candidates[best] {
        refined[2] = golden_section(candidates[best], above, search);
    }
    let x = refined
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(candidates[best], |r| r.0);
    // The knee in whole MB.
    let (mut knee, mut fit) = (f64::NAN, (f64::INFINITY, [0.0; 3]));
    for k in [x.floor(), x.ceil()] {
        let k = k.clamp(lo, hi);
        let f = problem.solve(k);
        if f.0 < fit.0 {
            (knee, fit) = (k, f);
        }
    }
    let c = fit.1;
    let cpu = c[1] + c[2];
    let p = if cpu > 0.0 { c[2] / cpu } else { 0.0 };
    let model =
        |knee: f64| CpuShareModel::new(c[0] * y_max, cpu * y_max, knee).with_parallel_fraction(p);
    // No plateau observed: put the knee where the CPU share stops growing, unless the fitted
    // intercept would then make durations negative past the samples (the fit kept them positive
    // with the knee at the largest sampled memory).
    if knee >= hi && hi < VCPU_MB && model(VCPU_MB).duration_ms(problem.top) > 0.0 {
        knee = VCPU_MB;
    }
    finish(model(knee))
}

/// The minimum of `f` over `[a, b]` by golden-section search down to 0.5 MB (the loss between two
/// sampled memories is unimodal in practice), as `(argument, value)`.
fn golden_section(mut a: f64, mut b: f64, f: impl Fn(f64) -> f64) -> (f64, f64) {
    let phi = 0.5 * (5f64.sqrt() - 1.0);
    let (mut x1, mut x2) = (b - phi * (b - a), a + phi * (b - a));
    let (mut f1, mut f2) = (f(x1), f(x2));
    while b - a > 0.5 {
        if f1 <= f2 {
            (b, x2, f2) = (x2, x1, f1);
            x1 = b - phi * (b - a);
            f1 = f(x1);
        } else {
            (a, x1, f1) = (x1, x2, f2);
            x2 = a + phi * (b - a);
            f2 = f(x2);
        }
    }
    if f1 <= f2 { (x1, f1) } else { (x2, f2) }
}

fn finish(model: CpuShareModel) -> Result<CpuShareModel, ModelError> {
    match model.check() {
        Ok(()) => Ok(model),
        Err(_) => Err(ModelError::InvalidCpuShareFit(model)),
    }
}

/// The linear problem at a fixed knee, in durations scaled to at most 1.
struct Problem {
    /// `(memory, scaled duration)`.
    pts: Vec<(f64, f64)>,
    multi_thread: bool,
    /// The fit must stay positive up to this memory.
    top: f64,
}

/// Iterations of the reweighting (L1 by IRLS).
const IRLS_ITERS: usize = 100;
/// Iterations while searching the knee (the losses compared to a few digits).
const SEARCH_ITERS: usize = 12;

/// Three coefficients or one row of the design: `(serial, cpu·(1 − p), cpu·p)` and their columns.
type V3 = [f64; 3];

fn dot(a: &V3, b: &V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

impl Problem {
    fn columns(&self, m: f64, k: f64) -> V3 {
        [1.0, VCPU_MB / m.min(k), VCPU_MB / m]
    }

    /// `Σ |model − y| / y` and the coefficients `(serial, cpu·(1 − p), cpu·p)` at knee `k`.
    fn solve(&self, k: f64) -> (f64, V3) {
        self.solve_to(k, 1e-12, IRLS_ITERS)
    }

    /// The relative least-squares fit at knee `k`: `(Σ ((model − y) / y)², coefficients)`.
    fn least_squares(&self, k: f64) -> Option<(f64, V3)> {
        let weights: Vec<f64> = self.pts.iter().map(|&(_, y)| 1.0 / y).collect();
        self.weighted(k, &weights)
    }

    /// [`Problem::solve`], stopping once an iteration improves the loss by less than `tol`
    /// (relative) or after `iterations`: the knee search compares losses to a few digits.
    fn solve_to(&self, k: f64, tol: f64, iterations: usize) -> (f64, V3) {
        let mut weights: Vec<f64> = self.pts.iter().map(|&(_, y)| 1.0 / y).collect();
        let mut best = (f64::INFINITY, [0.0; 3]);
        for _ in 0..iterations {
            let Some((_, c)) = self.weighted(k, &weights) else {
                break;
            };
            let loss = self.l1(k, &c);
            let improved = loss < best.0 * (1.0 - tol);
            if loss < best.0 {
                best = (loss, c);
            }
            if !improved && best.0.is_finite() {
                break;
            }
            for (w, &(m, y)) in weights.iter_mut().zip(&self.pts) {
                let r = (dot(&self.columns(m, k), &c) - y).abs() / y;
                *w = 1.0 / (y * r.max(1e-9).sqrt());
            }
        }
        if !best.0.is_finite() {
            let c = [self.median(), 0.0, 0.0];
            best = (self.l1(k, &c), c);
        }
        best
    }

    fn median(&self) -> f64 {
        let mut y: Vec<f64> = self.pts.iter().map(|p| p.1).collect();
        y.sort_by(f64::total_cmp);
        let n = y.len();
        match n {
            0 => 1.0,
            _ if n % 2 == 1 => y[n / 2],
            _ => 0.5 * (y[n / 2 - 1] + y[n / 2]),
        }
    }

    fn l1(&self, k: f64, c: &V3) -> f64 {
        self.pts
            .iter()
            .map(|&(m, y)| (dot(&self.columns(m, k), c) - y).abs() / y)
            .sum()
    }

    /// Weighted least squares `Σ w² (model − y)²` over every active set of the bounds
    /// `c1, c2 ≥ 0` (`c2 = 0` without `multi_thread`); the best feasible solution that stays positive
    /// up to `top`, with its cost.
    fn weighted(&self, k: f64, w: &[f64]) -> Option<(f64, V3)> {
        let mut ata = [[0.0; 3]; 3];
        let mut atb = [0.0; 3];
        let mut yy = 0.0;
        for (&(m, y), &wi) in self.pts.iter().zip(w) {
            let x = self.columns(m, k);
            let w2 = wi * wi;
            for (row, &xi) in ata.iter_mut().zip(&x) {
                for (a, &xj) in row.iter_mut().zip(&x) {
                    *a += xi * xj * w2;
                }
            }
            for (b, &xi) in atb.iter_mut().zip(&x) {
                *b += xi * (w2 * y);
            }
            yy += w2 * y * y;
        }
        let sets: &[[bool; 3]] = if self.multi_thread {
            &[
                [true, true, true],
                [true, true, false],
                [true, false, true],
                [true, false, false],
            ]
        } else {
            &[[true, true, false], [true, false, false]]
        };
        // Σ w² (x·c − y)² from the normal equations.
        let cost = |c: &V3| {
            let ac = [dot(&ata[0], c), dot(&ata[1], c), dot(&ata[2], c)];
            (yy - 2.0 * dot(c, &atb) + dot(c, &ac)).max(0.0)
        };
        let mut best: Option<(f64, V3)> = None;
        for set in sets {
            let Some(c) = solve_subset(&ata, &atb, *set) else {
                continue;
            };
            let positive = dot(&self.columns(self.top, k), &c) > 0.0;
            if c[1] < 0.0 || c[2] < 0.0 || !positive || !c.iter().all(|v| v.is_finite()) {
                continue;
            }
            let e = cost(&c);
            if best.is_none_or(|(b, _)| e < b) {
                best = Some((e, c));
            }
        }
        best
    }
}

/// Solves the normal equations restricted to the parameters in `set` (the others are 0), by
/// Gaussian elimination with partial pivoting; `None` when the restricted system is singular.
fn solve_subset(ata: &[V3; 3], atb: &V3, set: [bool; 3]) -> Option<V3> {
    let mut idx = [0usize; 3];
    let mut n = 0;
    for (i, _) in set.iter().enumerate().filter(|(_, on)| **on) {
        idx[n] = i;
        n += 1;
    }
    let idx = &idx[..n];
    let mut a = [[0.0_f64; 4]; 3];
    for (r, &i) in idx.iter().enumerate() {
        for (c, &j) in idx.iter().enumerate() {
            a[r][c] = ata[i][j];
        }
        a[r][n] = atb[i];
    }
    let scale = idx.iter().fold(0.0_f64, |s, &i| s.max(ata[i][i].abs()));
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        let p = a[col];
        for (r, row) in a.iter_mut().enumerate().take(n) {
            if r != col {
                let f = row[col] / p[col];
                for (x, y) in row.iter_mut().zip(p).skip(col) {
                    *x -= f * y;
                }
            }
        }
    }
    let mut out = [0.0; 3];
    for (r, &i) in idx.iter().enumerate() {
        out[i] = a[r][n] / a[r][r];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(memory_mb: f64, duration_ms: f64) -> Sample {
        Sample::new(memory_mb, duration_ms)
    }

    fn grid() -> Vec<f64> {
        (0..46).map(|k| 128.0 + 64.0 * f64::from(k)).collect()
    }

    #[test]
    fn evaluates_the_formula() {
        let m = CpuShareModel::new(10.0, 200.0, 1769.0);
        assert_eq!(m.duration_ms(1769.0), 210.0);
        assert_eq!(m.duration_ms(3538.0), 210.0);
        assert!((m.duration_ms(884.5) - 410.0).abs() < 1e-12);
        let mt = m.with_parallel_fraction(0.5);
        assert!((mt.duration_ms(3538.0) - (10.0 + 100.0 + 50.0)).abs() < 1e-12);
        assert!(m.duration_ms(f64::NAN).is_nan());
    }

    #[test]
    fn recovers_a_noiseless_curve_and_its_knee() {
        for truth in [
            CpuShareModel::new(20.0, 300.0, 1769.0),
            CpuShareModel::new(-90.0, 400.0, 870.0),
            CpuShareModel::new(50.0, 1000.0, 1769.0).with_parallel_fraction(0.6),
        ] {
            let data: Vec<Sample> = grid()
                .into_iter()
                .map(|m| s(m, truth.duration_ms(m)))
                .collect();
            let fit = fit_cpu_share(&data, truth.parallel_fraction > 0.0).unwrap();
            for m in grid() {
                let (a, b) = (fit.duration_ms(m), truth.duration_ms(m));
                assert!((a - b).abs() <= 1e-6 * b, "{fit:?} vs {truth:?} at {m}");
            }
            assert!((fit.knee_mb - truth.knee_mb).abs() <= 64.0, "{fit:?}");
        }
    }

    #[test]
    fn no_plateau_in_the_samples_puts_the_knee_at_one_vcpu() {
        let truth = CpuShareModel::new(5.0, 500.0, 1769.0);
        let data: Vec<Sample> = [128.0, 256.0, 512.0, 1024.0]
            .into_iter()
            .map(|m| s(m, truth.duration_ms(m)))
            .collect();
        let fit = fit_cpu_share(&data, false).unwrap();
        assert_eq!(fit.knee_mb, VCPU_MB);
        assert!((fit.duration_ms(3008.0) - truth.duration_ms(3008.0)).abs() < 1e-6);
    }

    #[test]
    fn degenerate_samples_give_constants_and_errors_name_the_sample() {
        let flat = fit_cpu_share(&[s(128.0, 50.0), s(1024.0, 50.0)], false).unwrap();
        assert_eq!((flat.serial_ms, flat.cpu_ms), (50.0, 0.0));
        let one = fit_cpu_share(&[s(512.0, 10.0), s(512.0, 30.0), s(512.0, 20.0)], true);
        assert_eq!(one.unwrap().duration_ms(128.0), 20.0);
        let e = fit_cpu_share(&[s(128.0, 1.0), s(0.0, 1.0)], false).unwrap_err();
        assert_eq!(
            e,
            ModelError::NonPositiveMemory {
                index: 1,
                memory_mb: 0.0
            }
        );
        // Rising durations cannot be followed: cpu_ms stays 0.
        let up = fit_cpu_share(&[s(128.0, 100.0), s(1024.0, 120.0), s(2048.0, 140.0)], true);
        assert_eq!(up.unwrap().cpu_ms, 0.0);
    }

    #[test]
    fn check_names_the_parameter() {
        let ok = CpuShareModel::new(-5.0, 100.0, 1769.0);
        assert_eq!(ok.check(), Ok(()));
        let bad = [
            (CpuShareModel::new(f64::NAN, 1.0, 1.0), "serial_ms"),
            (CpuShareModel::new(1.0, -1.0, 1.0), "cpu_ms"),
            (CpuShareModel::new(1.0, 1.0, 0.0), "knee_mb"),
            (ok.with_parallel_fraction(1.5), "parallel_fraction"),
            (
                ok.with_parallel_fraction(f64::INFINITY),
                "parallel_fraction",
            ),
        ];
        for (model, field) in bad {
            assert_eq!(model.check().unwrap_err().0, field, "{model:?}");
        }
    }

    proptest! {
        #[test]
        fn non_increasing_for_any_valid_parameters(
            serial in -1e4..1e4_f64, cpu in 0.0..1e6_f64, knee in 1.0..20_000.0_f64,
            p in prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0_f64],
            m1 in 1.0..10_240.0_f64, dm in 0.0..10_240.0_f64,
        ) {
            let m = CpuShareModel::new(serial, cpu, knee).with_parallel_fraction(p);
            prop_assert!(m.check().is_ok());
            prop_assert!(m.duration_ms(m1) >= m.duration_ms(m1 + dm), "{:?}", m);
        }

        #[test]
        fn noiseless_fits_are_near_exact(
            serial in 0.0..500.0_f64, cpu in 50.0..5000.0_f64, knee in 600.0..2800.0_f64,
            mems in proptest::collection::btree_set(128u32..=3008, 6..24),
        ) {
            let truth = CpuShareModel::new(serial, cpu, knee.round());
            let data: Vec<Sample> = mems
                .iter()
                .map(|&m| s(m.into(), truth.duration_ms(m.into())))
                .collect();
            let fit = fit_cpu_share(&data, false).unwrap();
            for d in &data {
                let e = (fit.duration_ms(d.memory_mb) - d.duration_ms).abs() / d.duration_ms;
                prop_assert!(e < 0.01, "{:?} vs {:?}", fit, truth);
            }
        }
    }
}
