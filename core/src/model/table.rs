//! A measured table memory → duration, interpolated linearly, and evaluated through its
//! non-increasing envelope.
//!
//! **Decision: a table whose durations rise with memory.** More memory never makes a Lambda function
//! slower in expectation (it buys CPU, network and disk bandwidth), so a rise between two measured
//! memories is noise, and the optimizers' bounds and the greedy solver's moves assume the model is
//! non-increasing. Refusing such a table would break bundles that load today; evaluating it as
//! written would break that assumption. So a table is **evaluated through its isotonic regression**
//! ([`MeasuredTable::envelope`]): the non-increasing sequence closest to the points in least
//! squares (pool-adjacent-violators; adjacent points that rise are pooled to their mean). A table
//! that is already non-increasing evaluates exactly as its points; the bundle keeps the points as
//! written. Between points the envelope is interpolated linearly, clamped to the two points (so
//! rounding cannot break monotonicity), and it is flat outside the measured range.
//!
//! [`fit_table`] builds a table from samples the same way: the isotonic regression of the samples
//! (per-memory means, weighted by their sample counts, pooled where they rise).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ModelError, Sample, validate};

/// One measured point of a [`MeasuredTable`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TablePoint {
    /// Memory (MB), finite and positive.
    pub memory_mb: f64,
    /// Duration (ms), finite and non-negative.
    pub duration_ms: f64,
}

impl TablePoint {
    /// A point from memory (MB) and duration (ms).
    pub const fn new(memory_mb: f64, duration_ms: f64) -> Self {
        Self {
            memory_mb,
            duration_ms,
        }
    }
}

/// Serialized form of [`MeasuredTable`]; deserialization goes through
/// [`MeasuredTable::new`] so invalid tables are rejected.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MeasuredTableRepr {
    /// Points sorted by increasing memory, as measured.
    points: Vec<TablePoint>,
}

/// A measured table memory → duration: its non-increasing envelope, linearly interpolated between
/// points and flat outside the measured range (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "MeasuredTableRepr", deny_unknown_fields)]
pub struct MeasuredTable {
    /// Points sorted by increasing memory, as measured.
    points: Vec<TablePoint>,
    /// Their isotonic (non-increasing) regression, at the same memories.
    #[serde(skip)]
    #[schemars(skip)]
    envelope: Vec<TablePoint>,
}

impl TryFrom<MeasuredTableRepr> for MeasuredTable {
    type Error = ModelError;
    fn try_from(repr: MeasuredTableRepr) -> Result<Self, ModelError> {
        Self::new(repr.points)
    }
}

impl MeasuredTable {
    /// Validates and sorts the points. Errors name the offending point index
    /// (in the given order) or the duplicated memory.
    pub fn new(points: Vec<TablePoint>) -> Result<Self, ModelError> {
        if points.is_empty() {
            return Err(ModelError::EmptyTable);
        }
        for (index, p) in points.iter().enumerate() {
            if !p.memory_mb.is_finite() || p.memory_mb <= 0.0 {
                let memory_mb = p.memory_mb;
                return Err(ModelError::InvalidTableMemory { index, memory_mb });
            }
            if !p.duration_ms.is_finite() || p.duration_ms < 0.0 {
                let duration_ms = p.duration_ms;
                return Err(ModelError::InvalidTableDuration { index, duration_ms });
            }
        }
        let mut points = points;
        points.sort_by(|p, q| p.memory_mb.total_cmp(&q.memory_mb));
        if let Some(w) = points.windows(2).find(|w| w[0].memory_mb == w[1].memory_mb) {
            let memory_mb = w[0].memory_mb;
            return Err(ModelError::DuplicateTableMemory { memory_mb });
        }
        let weighted: Vec<(f64, f64, f64)> = points
            .iter()
            .map(|p| (p.memory_mb, p.duration_ms, 1.0))
            .collect();
        let envelope = isotonic(&weighted);
        Ok(Self { points, envelope })
    }

    /// The points as measured, sorted by memory.
    pub fn points(&self) -> &[TablePoint] {
        &self.points
    }

    /// The non-increasing envelope the table is evaluated through (equal to the points when they
    /// never rise with memory).
    pub fn envelope(&self) -> &[TablePoint] {
        &self.envelope
    }

    /// Whether some duration rises with memory (the envelope then differs from the points).
    pub fn rises(&self) -> bool {
        self.points
            .windows(2)
            .any(|w| w[1].duration_ms > w[0].duration_ms)
    }

    /// Interpolated duration (ms) of the envelope at `memory_mb`; NaN for NaN input or an empty
    /// table.
    pub fn duration_ms(&self, memory_mb: f64) -> f64 {
        let e = &self.envelope;
        let (Some(first), Some(last)) = (e.first(), e.last()) else {
            return f64::NAN;
        };
        if memory_mb.is_nan() {
            return f64::NAN;
        }
        if memory_mb <= first.memory_mb {
            return first.duration_ms;
        }
        if memory_mb >= last.memory_mb {
            return last.duration_ms;
        }
        let i = e.partition_point(|p| p.memory_mb <= memory_mb);
        match (e.get(i.wrapping_sub(1)), e.get(i)) {
            (Some(lo), Some(hi)) if hi.memory_mb > lo.memory_mb => {
                let f = (memory_mb - lo.memory_mb) / (hi.memory_mb - lo.memory_mb);
                let d = lo.duration_ms + f * (hi.duration_ms - lo.duration_ms);
                d.min(lo.duration_ms).max(hi.duration_ms)
            }
            (Some(lo), _) => lo.duration_ms,
            _ => last.duration_ms,
        }
    }
}

/// Weighted isotonic (non-increasing) regression of `(memory, value, weight)` sorted by memory:
/// pool adjacent violators. A sequence that never rises comes back unchanged, bit for bit.
fn isotonic(points: &[(f64, f64, f64)]) -> Vec<TablePoint> {
    // Blocks of pooled points: (weighted sum, weight, mean, number of points).
    let mut blocks: Vec<(f64, f64, f64, usize)> = Vec::with_capacity(points.len());
    for &(_, v, w) in points {
        blocks.push((v * w, w, v, 1));
        while blocks.len() >= 2 {
            let (Some(&b), Some(&a)) = (blocks.last(), blocks.get(blocks.len() - 2)) else {
                break;
            };
            if a.2 >= b.2 {
                break;
            }
            blocks.truncate(blocks.len() - 2);
            let (sum, weight) = (a.0 + b.0, a.1 + b.1);
            blocks.push((sum, weight, sum / weight, a.3 + b.3));
        }
    }
    let values = blocks
        .iter()
        .flat_map(|&(_, _, mean, n)| std::iter::repeat_n(mean, n));
    points
        .iter()
        .zip(values)
        .map(|(&(m, _, _), v)| TablePoint::new(m, v))
        .collect()
}

/// The table fitted to `samples`: at each sampled memory, the isotonic (non-increasing)
/// regression of the samples (their mean, pooled with neighbouring memories where means rise).
/// Errors name the first invalid sample.
pub fn fit_table(samples: &[Sample]) -> Result<MeasuredTable, ModelError> {
    validate(samples)?;
    let mut sorted: Vec<Sample> = samples.to_vec();
    sorted.sort_by(|a, b| a.memory_mb.total_cmp(&b.memory_mb));
    let mut means: Vec<(f64, f64, f64)> = Vec::new();
    for s in &sorted {
        match means.last_mut() {
            Some((m, sum, n)) if *m == s.memory_mb => {
                *sum += s.duration_ms;
                *n += 1.0;
            }
            _ => means.push((s.memory_mb, s.duration_ms, 1.0)),
        }
    }
    let weighted: Vec<(f64, f64, f64)> = means.iter().map(|&(m, sum, n)| (m, sum / n, n)).collect();
    MeasuredTable::new(isotonic(&weighted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DurationModel;
    use proptest::prelude::*;

    fn tp(memory_mb: f64, duration_ms: f64) -> TablePoint {
        TablePoint::new(memory_mb, duration_ms)
    }

    #[test]
    fn table_interpolates_and_clamps() {
        let points = vec![tp(1024.0, 200.0), tp(128.0, 1000.0), tp(512.0, 400.0)];
        let t = MeasuredTable::new(points).unwrap();
        let mems: Vec<f64> = t.points().iter().map(|p| p.memory_mb).collect();
        assert_eq!(mems, [128.0, 512.0, 1024.0]);
        let at = |m: &[f64]| m.iter().map(|&m| t.duration_ms(m)).collect::<Vec<_>>();
        let got = at(&[64.0, 128.0, 320.0, 512.0, 768.0, 1024.0, 10_240.0]);
        assert_eq!(got, [1000.0, 1000.0, 700.0, 400.0, 300.0, 200.0, 200.0]);
        assert!(t.duration_ms(f64::NAN).is_nan());
        let one = MeasuredTable::new(vec![tp(256.0, 50.0)]).unwrap();
        assert_eq!((one.duration_ms(1.0), one.duration_ms(1e6)), (50.0, 50.0));
        let empty = MeasuredTable {
            points: vec![],
            envelope: vec![],
        };
        assert!(empty.duration_ms(128.0).is_nan());
        let model = DurationModel::from(t);
        assert_eq!(model.duration_ms(320.0), 700.0);
    }

    #[test]
    fn table_constructor_errors() {
        let new = MeasuredTable::new;
        assert_eq!(new(vec![]), Err(ModelError::EmptyTable));
        let e = new(vec![tp(128.0, 1.0), tp(0.0, 1.0)]).unwrap_err();
        assert_eq!(
            e,
            ModelError::InvalidTableMemory {
                index: 1,
                memory_mb: 0.0
            }
        );
        let e = new(vec![tp(f64::INFINITY, 1.0)]).unwrap_err();
        assert!(matches!(e, ModelError::InvalidTableMemory { index: 0, .. }));
        let e = new(vec![tp(128.0, -1.0)]).unwrap_err();
        assert_eq!(
            e,
            ModelError::InvalidTableDuration {
                index: 0,
                duration_ms: -1.0
            }
        );
        let e = new(vec![tp(128.0, f64::NAN)]).unwrap_err();
        assert!(matches!(
            e,
            ModelError::InvalidTableDuration { index: 0, .. }
        ));
        let e = new(vec![tp(512.0, 1.0), tp(128.0, 2.0), tp(512.0, 3.0)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "table has more than one point at memory 512 MB"
        );
        assert!(new(vec![tp(128.0, 0.0)]).is_ok());
    }

    #[test]
    fn a_rising_table_is_evaluated_through_its_non_increasing_envelope() {
        let points = vec![
            tp(128.0, 1000.0),
            tp(512.0, 400.0),
            tp(1024.0, 450.0),
            tp(2048.0, 300.0),
            tp(3008.0, 320.0),
        ];
        let t = MeasuredTable::new(points.clone()).unwrap();
        assert!(t.rises());
        assert_eq!(t.points(), points.as_slice());
        let envelope: Vec<f64> = t.envelope().iter().map(|p| p.duration_ms).collect();
        assert_eq!(envelope, [1000.0, 425.0, 425.0, 310.0, 310.0]);
        assert_eq!(t.duration_ms(768.0), 425.0);
        assert_eq!(t.duration_ms(2500.0), 310.0);
        assert_eq!(t.duration_ms(10_240.0), 310.0);
        // Serialised as written.
        let back: MeasuredTable =
            serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        // A table that never rises is its own envelope.
        let flat = MeasuredTable::new(vec![tp(128.0, 5.0), tp(256.0, 5.0), tp(512.0, 1.0)]);
        let flat = flat.unwrap();
        assert!(!flat.rises());
        assert_eq!(flat.envelope(), flat.points());
    }

    #[test]
    fn fitted_table_pools_means_weighted_by_their_counts() {
        let s = Sample::new;
        let t = fit_table(&[
            s(1024.0, 300.0),
            s(128.0, 900.0),
            s(512.0, 200.0),
            s(512.0, 220.0),
            s(128.0, 1100.0),
            s(1024.0, 330.0),
            s(1024.0, 270.0),
        ])
        .unwrap();
        // Means 1000, 210, 300 (×3): 210 and 300 pool to (2·210 + 3·300) / 5 = 264.
        let d: Vec<f64> = t.points().iter().map(|p| p.duration_ms).collect();
        assert_eq!(d, [1000.0, 264.0, 264.0]);
        assert!(!t.rises());
        assert_eq!(fit_table(&[]), Err(ModelError::NoSamples));
    }

    proptest! {
        #[test]
        fn any_table_is_non_increasing(
            points in prop::collection::btree_map(1u32..20_000, 0.0..1e5_f64, 1..12),
            m1 in 0.0..25_000.0_f64, dm in 0.0..25_000.0_f64,
        ) {
            let pts: Vec<TablePoint> =
                points.iter().map(|(&m, &d)| tp(f64::from(m), d)).collect();
            let t = MeasuredTable::new(pts).unwrap();
            prop_assert!(t.duration_ms(m1) >= t.duration_ms(m1 + dm));
            for w in t.envelope().windows(2) {
                prop_assert!(w[0].duration_ms >= w[1].duration_ms);
            }
            if !t.rises() {
                prop_assert_eq!(t.envelope(), t.points());
            }
        }
    }
}
