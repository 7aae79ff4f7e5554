//! Function duration models (OptiServe §3.1): the execution time `ET(m)` in milliseconds of a
//! (function, model variant) as a function of its configured Lambda memory `m` in MB.
//!
//! Three families, each a variant of [`DurationModel`] (`"kind"` in a bundle):
//!
//! | family | `ET(m)` | parameters |
//! | --- | --- | --- |
//! | `exponential` ([`ExpModel`], the thesis') | `α + β·e^(−γ·m)` | 3 |
//! | `cpu_share` ([`CpuShareModel`]) | `serial + cpu · 1769 · ((1 − p) / min(m, knee) + p / m)` | 3 (4 with `p`) |
//! | `table` ([`MeasuredTable`]) | linear between measured points | one per point |
//!
//! The exponential is the thesis' model, unchanged: bundles carrying it load and evaluate exactly
//! as before (`libm::exp`, so natively and in wasm bit for bit). The CPU-share model follows how
//! Lambda allocates CPU (in proportion to memory, one full vCPU at 1,769 MB, more vCPUs beyond
//! that only multi-threaded code can use): real curves fall like `1/m` and flatten at a knee,
//! which an exponential can only approximate (on six real functions the CPU-share model has 2–6×
//! less error; `docs/models.md`). The table uses measurements directly.
//!
//! **Every family is non-increasing in memory** for the parameters a bundle accepts (the
//! exponential with `β, γ ≥ 0`, which is what [`fit_exponential`] produces; the CPU-share model with
//! `cpu ≥ 0`, `knee > 0`, `p ∈ [0, 1]`; any table, through its non-increasing envelope). The
//! optimizers rely on it: more memory is never slower, so dominance pruning, the exact solver's
//! bounds over the options and the greedy solver's memory moves are sound. A property test checks
//! it for every family and any such parameters. (An exponential with `β < 0` written by hand or
//! imported still loads and evaluates as before, for compatibility; it rises with memory, and the
//! exact and brute-force solvers stay correct on it because they evaluate every option.)
//!
//! **Fitting** minimises *relative* error: durations span more than an order of magnitude between
//! small and large memories, and cost is proportional to duration, so a 10% error matters the same
//! at 200 ms as at 3 s. [`fit_exponential`] minimises relative squared error (Levenberg–Marquardt from
//! a variable-projection grid; see `exponential.rs`), [`fit_cpu_share`] the mean absolute relative
//! error (MAPE) with the knee searched and the rest solved exactly (see `cpu_share.rs`),
//! [`fit_table`] takes the per-memory means, pooled where they rise (see `table.rs`).
//!
//! **Selection** ([`select_model`], `select.rs`): every family is fitted and the one with the lowest
//! leave-one-memory-out cross-validated error is chosen (the exponential with fewer than four
//! distinct memories), or a family is forced ([`ModelChoice`]). `optiserve fit`, `optiserve profile`
//! (and its sampler) and the wasm package's `fitModel` all call it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod cpu_share;
mod exponential;
mod select;
mod table;

pub use cpu_share::{CpuShareModel, VCPU_MB, fit_cpu_share};
pub use exponential::{ExpModel, FitReport, fit_exponential};
pub use select::{
    Candidate, MAX_FOLDS, MIN_CV_MEMORIES, ModelChoice, ModelFamily, ModelSelection, SelectedBy,
    fit_family, select_from, select_model,
};
pub use table::{MeasuredTable, TablePoint, fit_table};

/// Errors raised by model construction and fitting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// No samples were given.
    #[error("no samples: at least one (memory, duration) sample is required")]
    NoSamples,
    /// A sample has a NaN or infinite value.
    #[error(
        "sample {index}: memory ({memory_mb} MB) and duration ({duration_ms} ms) must be finite"
    )]
    NonFiniteSample {
        index: usize,
        memory_mb: f64,
        duration_ms: f64,
    },
    /// A sample has memory `<= 0`.
    #[error("sample {index}: memory must be positive, got {memory_mb} MB")]
    NonPositiveMemory { index: usize, memory_mb: f64 },
    /// A sample has duration `<= 0`.
    #[error("sample {index}: duration must be positive, got {duration_ms} ms")]
    NonPositiveDuration { index: usize, duration_ms: f64 },
    /// A sample outside its physical range.
    #[error("sample {index}: {what} {reason}")]
    OutOfRange {
        index: usize,
        what: &'static str,
        reason: String,
    },
    /// Too few distinct memory sizes to fit a model of three parameters and judge it.
    #[error(
        "fitting needs samples at {min} or more distinct memory sizes, found {found}: profile more memory sizes (with fewer, any of the models passes through the points and its R² says nothing)"
    )]
    TooFewMemories { found: usize, min: usize },
    /// A measured table has no points.
    #[error("measured table is empty: at least one point is required")]
    EmptyTable,
    /// A table point has a non-finite or non-positive memory.
    #[error("table point {index}: memory must be finite and positive, got {memory_mb} MB")]
    InvalidTableMemory { index: usize, memory_mb: f64 },
    /// A table point has a non-finite or negative duration.
    #[error("table point {index}: duration must be finite and non-negative, got {duration_ms} ms")]
    InvalidTableDuration { index: usize, duration_ms: f64 },
    /// Two table points share the same memory.
    #[error("table has more than one point at memory {memory_mb} MB")]
    DuplicateTableMemory { memory_mb: f64 },
    /// The fit produced non-finite parameters (extreme input magnitudes).
    #[error("fit produced non-finite parameters {0:?}")]
    NonFiniteFit(ExpModel),
    /// The CPU-share fit produced parameters outside the model's domain (extreme input magnitudes).
    #[error("fit produced invalid parameters {0:?}")]
    InvalidCpuShareFit(CpuShareModel),
}

/// The duration model a function variant carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DurationModel {
    /// Parametric `alpha + beta * exp(-gamma * m)` (the thesis' model).
    Exponential(ExpModel),
    /// Piecewise-linear measured table, evaluated through its non-increasing envelope.
    Table(MeasuredTable),
    /// `serial + cpu · 1769 · ((1 − p) / min(m, knee) + p / m)`: Lambda's CPU share.
    CpuShare(CpuShareModel),
}

impl DurationModel {
    /// Predicted duration (ms) at `memory_mb`.
    pub fn duration_ms(&self, memory_mb: f64) -> f64 {
        match self {
            Self::Exponential(m) => m.duration_ms(memory_mb),
            Self::Table(t) => t.duration_ms(memory_mb),
            Self::CpuShare(m) => m.duration_ms(memory_mb),
        }
    }

    /// The model's family.
    pub fn family(&self) -> ModelFamily {
        match self {
            Self::Exponential(_) => ModelFamily::Exponential,
            Self::Table(_) => ModelFamily::Table,
            Self::CpuShare(_) => ModelFamily::CpuShare,
        }
    }

    /// Number of free parameters: 3 for the exponential, 3 for the CPU-share model (4 with a
    /// parallel fraction), one per point for a table.
    pub fn parameters(&self) -> usize {
        match self {
            Self::Exponential(_) => 3,
            Self::Table(t) => t.points().len(),
            Self::CpuShare(m) if m.parallel_fraction > 0.0 => 4,
            Self::CpuShare(_) => 3,
        }
    }
}

impl From<ExpModel> for DurationModel {
    fn from(m: ExpModel) -> Self {
        Self::Exponential(m)
    }
}

impl From<MeasuredTable> for DurationModel {
    fn from(t: MeasuredTable) -> Self {
        Self::Table(t)
    }
}

impl From<CpuShareModel> for DurationModel {
    fn from(m: CpuShareModel) -> Self {
        Self::CpuShare(m)
    }
}

/// One measurement: duration (ms) observed at memory (MB).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sample {
    /// Configured memory (MB).
    pub memory_mb: f64,
    /// Observed duration (ms).
    pub duration_ms: f64,
}

impl Sample {
    /// A sample from memory (MB) and duration (ms).
    pub const fn new(memory_mb: f64, duration_ms: f64) -> Self {
        Self {
            memory_mb,
            duration_ms,
        }
    }
}

/// Goodness of `model` on `samples`: `(mape_percent, r2)`.
///
/// MAPE = mean of `|model - y| / y * 100`; R² = `1 - SS_res / SS_tot` on
/// absolute durations (1 if `SS_tot = 0 = SS_res`, 0 if only `SS_tot = 0`).
/// An empty slice gives `(0.0, 1.0)`. Durations should be positive (as
/// [`fit_exponential`] requires); otherwise MAPE is infinite or NaN.
pub fn fit_quality(model: &DurationModel, samples: &[Sample]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 1.0);
    }
    let n = samples.len() as f64;
    // Scale by the largest duration so squares cannot overflow; R² is scale-free.
    let scale = samples
        .iter()
        .fold(0.0_f64, |a, s| a.max(s.duration_ms.abs()));
    let scale = Some(scale).filter(|v| v.is_normal()).unwrap_or(1.0);
    let mean = samples.iter().map(|s| s.duration_ms / scale).sum::<f64>() / n;
    let (mut ape, mut ss_res, mut ss_tot) = (0.0, 0.0, 0.0);
    for s in samples {
        let err = model.duration_ms(s.memory_mb) - s.duration_ms;
        ape += (err / s.duration_ms).abs();
        ss_res += (err / scale).powi(2);
        ss_tot += (s.duration_ms / scale - mean).powi(2);
    }
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res == 0.0 {
        1.0
    } else {
        0.0
    };
    (ape / n * 100.0, r2)
}

/// Checks every sample: finite, memory and duration positive.
pub(crate) fn validate(samples: &[Sample]) -> Result<(), ModelError> {
    if samples.is_empty() {
        return Err(ModelError::NoSamples);
    }
    for (index, s) in samples.iter().enumerate() {
        let (memory_mb, duration_ms) = (s.memory_mb, s.duration_ms);
        if !memory_mb.is_finite() || !duration_ms.is_finite() {
            return Err(ModelError::NonFiniteSample {
                index,
                memory_mb,
                duration_ms,
            });
        }
        if memory_mb <= 0.0 {
            return Err(ModelError::NonPositiveMemory { index, memory_mb });
        }
        if duration_ms <= 0.0 {
            return Err(ModelError::NonPositiveDuration { index, duration_ms });
        }
        if let Err(reason) = crate::limits::MEMORY_MB.check(memory_mb) {
            return Err(ModelError::OutOfRange {
                index,
                what: "memory",
                reason,
            });
        }
        if let Err(reason) = crate::limits::FUNCTION_DURATION_MS.check(duration_ms) {
            return Err(ModelError::OutOfRange {
                index,
                what: "duration",
                reason,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn s(memory_mb: f64, duration_ms: f64) -> Sample {
        Sample::new(memory_mb, duration_ms)
    }

    fn tp(memory_mb: f64, duration_ms: f64) -> TablePoint {
        TablePoint::new(memory_mb, duration_ms)
    }

    #[test]
    fn serde_shapes_round_trip() {
        let exp = DurationModel::from(ExpModel::new(150.0, 3000.0, 0.004));
        let v = serde_json::to_value(&exp).unwrap();
        let want = json!({"kind": "exponential", "alpha_ms": 150.0, "beta_ms": 3000.0,
            "gamma_per_mb": 0.004});
        assert_eq!(v, want);
        assert_eq!(serde_json::from_value::<DurationModel>(v).unwrap(), exp);

        let table = MeasuredTable::new(vec![tp(512.0, 400.0), tp(128.0, 1000.0)]).unwrap();
        let table = DurationModel::from(table);
        let v = serde_json::to_value(&table).unwrap();
        let want = json!({"kind": "table", "points": [
            {"memory_mb": 128.0, "duration_ms": 1000.0},
            {"memory_mb": 512.0, "duration_ms": 400.0}]});
        assert_eq!(v, want);
        assert_eq!(serde_json::from_value::<DurationModel>(v).unwrap(), table);

        // Deserialization validates and sorts like `MeasuredTable::new`.
        let unsorted = json!({"kind": "table", "points": [
            {"memory_mb": 512.0, "duration_ms": 400.0},
            {"memory_mb": 128.0, "duration_ms": 1000.0}]});
        assert_eq!(
            serde_json::from_value::<DurationModel>(unsorted).unwrap(),
            table
        );
        let dup = json!({"kind": "table", "points": [
            {"memory_mb": 128.0, "duration_ms": 4.0}, {"memory_mb": 128.0, "duration_ms": 1.0}]});
        let err = serde_json::from_value::<DurationModel>(dup).unwrap_err();
        assert!(err.to_string().contains("at memory 128 MB"), "{err}");

        let profile: Vec<Sample> = (0..16)
            .map(|k| s(128.0 + 192.0 * f64::from(k), 3000.0 / f64::from(k + 1)))
            .collect();
        let report = serde_json::to_value(fit_exponential(&profile).unwrap()).unwrap();
        let mut keys: Vec<&String> = report.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["mape_percent", "model", "r2", "samples"]);
        assert_eq!(report["samples"], json!(16));
        let schema = serde_json::to_string(&schemars::schema_for!(DurationModel)).unwrap();
        assert!(schema.contains("\"kind\"") && schema.contains("gamma_per_mb"));
    }

    #[test]
    fn fit_quality_definitions() {
        let model = DurationModel::from(ExpModel::constant(150.0));
        let (mape, r2) = fit_quality(&model, &[s(128.0, 100.0), s(256.0, 200.0)]);
        assert!((mape - 37.5).abs() < 1e-12 && r2.abs() < 1e-12);
        assert_eq!(fit_quality(&model, &[]), (0.0, 1.0));
        assert_eq!(fit_quality(&model, &[s(1.0, 100.0), s(2.0, 100.0)]).1, 0.0);
    }

    #[test]
    fn cpu_share_serde_shape() {
        let m = DurationModel::from(CpuShareModel::new(-3.5, 172.4, 1756.0));
        let v = serde_json::to_value(&m).unwrap();
        let want = json!({"kind": "cpu_share", "serial_ms": -3.5, "cpu_ms": 172.4,
            "knee_mb": 1756.0});
        assert_eq!(v, want);
        assert_eq!(serde_json::from_value::<DurationModel>(v).unwrap(), m);
        let mt =
            DurationModel::from(CpuShareModel::new(0.0, 1.0, 1769.0).with_parallel_fraction(0.5));
        let v = serde_json::to_value(&mt).unwrap();
        assert_eq!(v["parallel_fraction"], json!(0.5));
        assert_eq!((mt.family(), mt.parameters()), (ModelFamily::CpuShare, 4));
        let schema = serde_json::to_string(&schemars::schema_for!(DurationModel)).unwrap();
        assert!(schema.contains("cpu_share") && schema.contains("knee_mb"));
    }

    /// The thesis' measured profile (`profiler/tests/fixtures/measured-profile.csv`, which is Lin &
    /// Khazaei's f2 at every third memory): the default choice is no worse than the exponential,
    /// in sample and cross-validated.
    #[test]
    fn default_choice_on_the_thesis_profile_is_no_worse_than_the_exponential() {
        const MS: [f64; 16] = [
            2898.2, 1150.7, 700.4, 510.7, 399.0, 322.6, 271.0, 242.7, 222.3, 204.2, 201.6, 200.3,
            201.3, 203.9, 203.5, 200.6,
        ];
        let data: Vec<Sample> = MS
            .iter()
            .enumerate()
            .map(|(k, &d)| s(128.0 + 192.0 * k as f64, d))
            .collect();
        let sel = select_model(&data, ModelChoice::Auto).unwrap();
        let exp = &sel.candidates[0];
        assert_eq!(exp.family, ModelFamily::Exponential);
        assert!(exp.mape_percent > 5.9 && exp.mape_percent < 6.0, "{exp:?}");
        assert!(sel.mape_percent <= exp.mape_percent, "{sel:?}");
        assert!(sel.cv_error_percent <= exp.cv_error_percent, "{sel:?}");
        assert_eq!(sel.family, ModelFamily::CpuShare, "{sel:?}");
    }

    proptest! {
        /// The optimizers' bounds and the greedy moves assume more memory is never slower: every
        /// family, for any parameters a bundle accepts (the exponential with β, γ ≥ 0, which is
        /// what `fit` produces).
        #[test]
        fn every_family_is_non_increasing_in_memory(
            family in 0u8..3,
            a in -1e4..1e4_f64, b in 0.0..1e5_f64, c in 0.0..0.1_f64, knee in 1.0..20_000.0_f64,
            p in 0.0..=1.0_f64,
            points in proptest::collection::btree_map(1u32..20_000, 0.0..1e5_f64, 1..10),
            m1 in 1.0..10_240.0_f64, dm in 0.0..10_240.0_f64,
        ) {
            let model = match family {
                0 => DurationModel::from(ExpModel::new(a, b, c)),
                1 => DurationModel::from(CpuShareModel::new(a, b, knee).with_parallel_fraction(p)),
                _ => DurationModel::from(
                    MeasuredTable::new(points.iter().map(|(&m, &d)| tp(m.into(), d)).collect())
                        .unwrap(),
                ),
            };
            prop_assert!(model.duration_ms(m1) >= model.duration_ms(m1 + dm), "{:?}", model);
        }
    }
}
