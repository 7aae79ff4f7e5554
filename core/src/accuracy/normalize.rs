//! Normalisation of raw accuracies to `A(f)` in `[0, 1]`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AccuracyError;

/// How a function's variants are normalised to `[0, 1]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// `(a - min) / (max - min)` over the function's variants; `1.0` for all when they are all
    /// equal or there is one variant. Falls back to [`Normalization::Rank`] when any raw
    /// accuracy is missing.
    #[default]
    MinMax,
    /// Variant `k` of `N` (1-based, in the given order, least to most accurate) gets `k / N`.
    Rank,
    /// Raw values as they are (each within `[0, 1]`), as the thesis artifact does: a function with
    /// one variant scores 1.0, and one where any variant lacks a raw accuracy is ranked as
    /// [`Normalization::Rank`].
    AsGiven,
}

/// Normalises one function's raw accuracies, given per variant in the function's variant order.
///
/// Errors: [`AccuracyError::NonFiniteAccuracy`] for a NaN/infinite value (min–max),
/// [`AccuracyError::MissingAccuracy`] / [`AccuracyError::AccuracyOutOfRange`] for `AsGiven`.
pub fn normalize(raw: &[Option<f64>], how: Normalization) -> Result<Vec<f64>, AccuracyError> {
    let rank = || {
        let n = raw.len() as f64;
        (1..=raw.len()).map(|k| k as f64 / n).collect()
    };
    match how {
        Normalization::Rank => Ok(rank()),
        // The thesis artifact's rule: one variant scores 1.0; a function where any variant lacks
        // an accuracy is ranked i/N; otherwise the values are used as they are.
        Normalization::AsGiven if raw.len() == 1 => Ok(vec![1.0]),
        Normalization::AsGiven if raw.iter().any(Option::is_none) => Ok(rank()),
        Normalization::AsGiven => raw
            .iter()
            .enumerate()
            .map(|(variant_index, v)| match *v {
                None => Err(AccuracyError::MissingAccuracy { variant_index }),
                Some(value) if (0.0..=1.0).contains(&value) => Ok(value),
                Some(value) => Err(AccuracyError::AccuracyOutOfRange {
                    variant_index,
                    value,
                }),
            })
            .collect(),
        Normalization::MinMax => {
            let Some(values) = raw.iter().copied().collect::<Option<Vec<f64>>>() else {
                return Ok(rank());
            };
            let bad = values.iter().enumerate().find(|(_, v)| !v.is_finite());
            if let Some((variant_index, &value)) = bad {
                return Err(AccuracyError::NonFiniteAccuracy {
                    variant_index,
                    value,
                });
            }
            // Halved first so that `max - min` cannot overflow.
            let min = values.iter().fold(f64::INFINITY, |m, v| m.min(v / 2.0));
            let max = values.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v / 2.0));
            let scale = |v: &f64| {
                if max > min {
                    (v / 2.0 - min) / (max - min)
                } else {
                    1.0
                }
            };
            Ok(values.iter().map(scale).collect())
        }
    }
}
