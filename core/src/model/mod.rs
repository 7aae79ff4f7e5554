//! Function duration models (OptiServe §3.1).
//!
//! For each (function, model variant) the execution time in milliseconds is
//! modelled as a function of the configured Lambda memory `m` (MB):
//!
//! ```text
//! ET(m) = alpha + beta * exp(-gamma * m)      beta >= 0, gamma >= 0
//! ```
//!
//! `alpha` is the floor reached once CPU stops being the bottleneck, `beta` the
//! extra time at small memory and `gamma` how quickly that extra time vanishes
//! (Lambda allocates CPU proportionally to memory).
//!
//! [`fit_exponential`] estimates the parameters by nonlinear least squares
//! (Levenberg–Marquardt on 3 parameters, started from a variable-projection
//! grid) minimising the **relative** error `(ET(m_i) - y_i) / y_i`. Durations
//! span more than an order of magnitude between small and large memories; an
//! absolute fit spends its effort on the few slow, small-memory points and
//! leaves the flat region (where the cheapest configurations usually live)
//! badly modelled. Cost is proportional to duration, so a 10 % error matters
//! the same at 200 ms as at 3 s; relative residuals express exactly that.
//!
//! A [`MeasuredTable`] (piecewise linear) is the alternative when measurements
//! should be used directly; [`DurationModel`] carries either.
//!
//! Layout: `exponential.rs` (the thesis' model and its fit), `table.rs` (measured tables).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod exponential;
mod table;

pub use exponential::{ExpModel, FitReport, fit_exponential};
pub use table::{MeasuredTable, TablePoint};

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
}

/// The duration model a function variant carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DurationModel {
    /// Parametric `alpha + beta * exp(-gamma * m)`.
    Exponential(ExpModel),
    /// Piecewise-linear measured table.
    Table(MeasuredTable),
}

impl DurationModel {
    /// Predicted duration (ms) at `memory_mb`.
    pub fn duration_ms(&self, memory_mb: f64) -> f64 {
        match self {
            Self::Exponential(m) => m.duration_ms(memory_mb),
            Self::Table(t) => t.duration_ms(memory_mb),
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
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
