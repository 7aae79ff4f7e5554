//! A measured table memory → duration, interpolated linearly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ModelError;

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
    points: Vec<TablePoint>,
}

/// A measured table memory → duration, linearly interpolated between points
/// and clamped (flat) outside the measured range.
///
/// Points are sorted by memory by [`MeasuredTable::new`] (also used when
/// deserializing). If `points` is modified directly, lookups never panic but
/// are only meaningful while the points stay sorted and distinct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "MeasuredTableRepr", deny_unknown_fields)]
pub struct MeasuredTable {
    /// Points sorted by increasing memory.
    pub points: Vec<TablePoint>,
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
        Ok(Self { points })
    }

    /// Interpolated duration (ms) at `memory_mb`; NaN for NaN input or an
    /// empty table.
    pub fn duration_ms(&self, memory_mb: f64) -> f64 {
        let (Some(first), Some(last)) = (self.points.first(), self.points.last()) else {
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
        let i = self.points.partition_point(|p| p.memory_mb <= memory_mb);
        match (self.points.get(i.wrapping_sub(1)), self.points.get(i)) {
            (Some(lo), Some(hi)) if hi.memory_mb > lo.memory_mb => {
                let f = (memory_mb - lo.memory_mb) / (hi.memory_mb - lo.memory_mb);
                lo.duration_ms + f * (hi.duration_ms - lo.duration_ms)
            }
            (Some(lo), _) => lo.duration_ms,
            _ => last.duration_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DurationModel;

    fn tp(memory_mb: f64, duration_ms: f64) -> TablePoint {
        TablePoint::new(memory_mb, duration_ms)
    }

    #[test]
    fn table_interpolates_and_clamps() {
        let points = vec![tp(1024.0, 200.0), tp(128.0, 1000.0), tp(512.0, 400.0)];
        let t = MeasuredTable::new(points).unwrap();
        let mems: Vec<f64> = t.points.iter().map(|p| p.memory_mb).collect();
        assert_eq!(mems, [128.0, 512.0, 1024.0]);
        let at = |m: &[f64]| m.iter().map(|&m| t.duration_ms(m)).collect::<Vec<_>>();
        let got = at(&[64.0, 128.0, 320.0, 512.0, 768.0, 1024.0, 10_240.0]);
        assert_eq!(got, [1000.0, 1000.0, 700.0, 400.0, 300.0, 200.0, 200.0]);
        assert!(t.duration_ms(f64::NAN).is_nan());
        let one = MeasuredTable::new(vec![tp(256.0, 50.0)]).unwrap();
        assert_eq!((one.duration_ms(1.0), one.duration_ms(1e6)), (50.0, 50.0));
        assert!(MeasuredTable { points: vec![] }.duration_ms(128.0).is_nan());
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
}
