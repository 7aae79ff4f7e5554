//! Model selection: fit every family, keep the one that predicts memories it has not seen best.
//!
//! **Criterion: leave-one-memory-out cross-validation.** For each distinct sampled memory `m`, the
//! family is fitted to the samples at every *other* memory and predicts `m`; its error there is
//! `|ET(m) − ȳ(m)| / ȳ(m)` against the mean `ȳ(m)` of the samples at `m`. The family's
//! cross-validated error is the mean of these over the memories (in %, like MAPE). A family with
//! more parameters only wins if it predicts unseen memories better, so extra parameters are not
//! rewarded blindly (a table, which passes through every mean, has 0% in-sample error but must
//! interpolate its neighbours here). This is also the question profiling asks of a model: what is
//! the duration at a memory we have not measured? With more than [`MAX_FOLDS`] memories, the
//! memories are dealt into that many interleaved folds (memory `i` in fold `i mod MAX_FOLDS`).
//!
//! The family with the lowest cross-validated error is chosen; ties go to the earlier of
//! exponential, CPU-share, table (the thesis' model first). So the choice is never a family whose
//! cross-validated error is worse than the exponential's. With fewer than [`MIN_CV_MEMORIES`]
//! distinct memories there is nothing to cross-validate on (each fold would leave two memories for
//! three parameters) and the exponential is kept, as the thesis does. Within the CPU-share family
//! the multi-thread share is fitted as a fourth parameter and kept only when it lowers the
//! cross-validated error.
//!
//! [`ModelChoice`] forces a family (`optiserve fit --model cpu-share`); every family is still
//! fitted and cross-validated for the report.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    DurationModel, ModelError, Sample, fit_cpu_share, fit_exponential, fit_quality, fit_table,
    validate,
};

/// At least this many distinct memories for cross-validation.
pub const MIN_CV_MEMORIES: usize = 4;
/// At most this many folds (beyond, memories share folds).
pub const MAX_FOLDS: usize = 50;

/// A family of duration models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelFamily {
    /// The thesis' `α + β·e^(−γ·m)`.
    Exponential,
    /// Lambda's CPU share: `serial + cpu · 1769 / min(m, knee)` (and a multi-thread share).
    CpuShare,
    /// The measured table (per-memory means, non-increasing).
    Table,
}

impl ModelFamily {
    /// Every family, in the order ties are broken.
    pub const ALL: [ModelFamily; 3] = [Self::Exponential, Self::CpuShare, Self::Table];
    /// The families that predict between and beyond the sampled memories from a formula.
    pub const PARAMETRIC: [ModelFamily; 2] = [Self::Exponential, Self::CpuShare];

    /// The name on the command line: `exponential`, `cpu-share`, `table`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Exponential => "exponential",
            Self::CpuShare => "cpu-share",
            Self::Table => "table",
        }
    }
}

/// Which family to use: the best by cross-validation, or a forced one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    /// The family with the lowest cross-validated error.
    #[default]
    Auto,
    /// Always the exponential.
    Exponential,
    /// Always the CPU-share model.
    #[serde(alias = "cpu-share")]
    CpuShare,
    /// Always the measured table.
    Table,
}

impl ModelChoice {
    /// The names on the command line, in order: `auto`, `exponential`, `cpu-share`, `table`.
    pub const NAMES: [&'static str; 4] = ["auto", "exponential", "cpu-share", "table"];

    /// The choice named `name` (one of [`ModelChoice::NAMES`], or with `_` for `-`).
    pub fn from_name(name: &str) -> Option<ModelChoice> {
        match name.replace('_', "-").as_str() {
            "auto" => Some(Self::Auto),
            "exponential" => Some(Self::Exponential),
            "cpu-share" => Some(Self::CpuShare),
            "table" => Some(Self::Table),
            _ => None,
        }
    }

    /// The forced family, if any.
    pub fn forced(self) -> Option<ModelFamily> {
        match self {
            Self::Auto => None,
            Self::Exponential => Some(ModelFamily::Exponential),
            Self::CpuShare => Some(ModelFamily::CpuShare),
            Self::Table => Some(ModelFamily::Table),
        }
    }
}

/// Why the chosen family was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SelectedBy {
    /// The lowest leave-one-memory-out error.
    CrossValidation,
    /// Forced by the caller.
    Forced,
    /// Fewer distinct memories than cross-validation needs: the exponential.
    TooFewMemories,
}

/// One family fitted to the samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Candidate {
    /// The family.
    pub family: ModelFamily,
    /// Its model fitted to every sample.
    pub model: DurationModel,
    /// Its number of free parameters.
    pub parameters: usize,
    /// In-sample mean absolute percentage error over the samples (%).
    pub mape_percent: f64,
    /// In-sample coefficient of determination; absent when the model has as many free parameters
    /// as there are samples (it passes through every point, whatever they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r2: Option<f64>,
    /// Leave-one-memory-out error (%); absent with fewer than 4 distinct memories.
    pub cv_error_percent: Option<f64>,
    /// The family chosen.
    pub chosen: bool,
}

/// The chosen model, how well it fits, and every family's errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelSelection {
    /// The chosen family.
    pub family: ModelFamily,
    /// The chosen model.
    pub model: DurationModel,
    /// Its mean absolute percentage error over the samples (%).
    pub mape_percent: f64,
    /// Its coefficient of determination on absolute durations; absent when the model has as many
    /// free parameters as there are samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r2: Option<f64>,
    /// Its leave-one-memory-out error (%), when there were enough memories.
    pub cv_error_percent: Option<f64>,
    /// Number of samples.
    pub samples: usize,
    /// Number of distinct memories.
    pub memories: usize,
    /// Why this family.
    pub selected_by: SelectedBy,
    /// Every family fitted, in the order exponential, CPU-share, table.
    pub candidates: Vec<Candidate>,
}

/// Fits one family to every sample.
pub fn fit_family(samples: &[Sample], family: ModelFamily) -> Result<DurationModel, ModelError> {
    match family {
        ModelFamily::Exponential => fit_exponential(samples).map(|r| r.model.into()),
        ModelFamily::CpuShare => fit_cpu_share(samples, false).map(Into::into),
        ModelFamily::Table => fit_table(samples).map(Into::into),
    }
}

/// Fewest distinct memory sizes [`select_model`] fits: the exponential and CPU-share models have
/// three parameters.
pub const MIN_FIT_MEMORIES: usize = 3;

/// Fits every family and chooses one (see the module documentation).
/// The samples must lie at [`MIN_FIT_MEMORIES`] or more distinct memory sizes.
pub fn select_model(samples: &[Sample], choice: ModelChoice) -> Result<ModelSelection, ModelError> {
    validate(samples)?;
    let memories = Folds::new(samples).memories;
    if memories < MIN_FIT_MEMORIES {
        return Err(ModelError::TooFewMemories {
            found: memories,
            min: MIN_FIT_MEMORIES,
        });
    }
    select_from(samples, choice, &ModelFamily::ALL)
}

/// [`select_model`] among `families` only (a forced family is added when missing).
pub fn select_from(
    samples: &[Sample],
    choice: ModelChoice,
    families: &[ModelFamily],
) -> Result<ModelSelection, ModelError> {
    validate(samples)?;
    let folds = Folds::new(samples);
    let cross_validate = folds.memories >= MIN_CV_MEMORIES;
    let mut candidates = Vec::new();
    let mut first_error = None;
    for family in ModelFamily::ALL {
        if !families.contains(&family) && choice.forced() != Some(family) {
            continue;
        }
        let fitted = match family {
            ModelFamily::CpuShare => cpu_share(samples, &folds, cross_validate),
            _ => fit_family(samples, family).map(|model| {
                let cv = cross_validate
                    .then(|| folds.error(samples, |s| fit_family(s, family)))
                    .flatten();
                (model, cv)
            }),
        };
        match fitted {
            Ok((model, cv_error_percent)) => {
                let (mape_percent, r2) = fit_quality(&model, samples);
                let r2 = (samples.len() > model.parameters()).then_some(r2);
                candidates.push(Candidate {
                    family,
                    parameters: model.parameters(),
                    model,
                    mape_percent,
                    r2,
                    cv_error_percent,
                    chosen: false,
                });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let (index, selected_by) = match choice.forced() {
        Some(f) => (
            candidates.iter().position(|c| c.family == f),
            SelectedBy::Forced,
        ),
        None if cross_validate => {
            let best = candidates
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.cv_error_percent.map(|e| (i, e)))
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                .map(|(i, _)| i);
            (best, SelectedBy::CrossValidation)
        }
        None => (
            candidates
                .iter()
                .position(|c| c.family == ModelFamily::Exponential),
            SelectedBy::TooFewMemories,
        ),
    };
    // A forced family that could not be fitted is an error; otherwise any family that could.
    let fallback = (choice.forced().is_none() && !candidates.is_empty()).then_some(0);
    let Some(index) = index.or(fallback) else {
        return Err(first_error.unwrap_or(ModelError::NoSamples));
    };
    if let Some(c) = candidates.get_mut(index) {
        c.chosen = true;
    }
    let chosen = candidates[index].clone();
    Ok(ModelSelection {
        family: chosen.family,
        model: chosen.model,
        mape_percent: chosen.mape_percent,
        r2: chosen.r2,
        cv_error_percent: chosen.cv_error_percent,
        samples: samples.len(),
        memories: folds.memories,
        selected_by,
        candidates,
    })
}

/// The CPU-share candidate: single-threaded, or with the multi-thread share when that lowers the
/// cross-validated error.
fn cpu_share(
    samples: &[Sample],
    folds: &Folds,
    cross_validate: bool,
) -> Result<(DurationModel, Option<f64>), ModelError> {
    let single: DurationModel = fit_cpu_share(samples, false)?.into();
    if !cross_validate {
        return Ok((single, None));
    }
    let single_cv = folds.error(samples, |s| fit_cpu_share(s, false).map(Into::into));
    let multi = fit_cpu_share(samples, true)?;
    if multi.parallel_fraction > 0.0 {
        let multi_cv = folds.error(samples, |s| fit_cpu_share(s, true).map(Into::into));
        if let (Some(m), Some(s)) = (multi_cv, single_cv)
            && m < s
        {
            return Ok((multi.into(), multi_cv));
        }
    }
    Ok((single, single_cv))
}

/// The distinct memories, dealt into folds.
struct Folds {
    /// Distinct memories, ascending, with the mean duration there.
    means: Vec<(f64, f64)>,
    memories: usize,
    folds: usize,
}

impl Folds {
    fn new(samples: &[Sample]) -> Folds {
        let mut sorted: Vec<Sample> = samples.to_vec();
        sorted.sort_by(|a, b| a.memory_mb.total_cmp(&b.memory_mb));
        let mut sums: Vec<(f64, f64, f64)> = Vec::new();
        for s in &sorted {
            match sums.last_mut() {
                Some((m, sum, n)) if *m == s.memory_mb => {
                    *sum += s.duration_ms;
                    *n += 1.0;
                }
                _ => sums.push((s.memory_mb, s.duration_ms, 1.0)),
            }
        }
        let means: Vec<(f64, f64)> = sums.iter().map(|&(m, sum, n)| (m, sum / n)).collect();
        let memories = means.len();
        Folds {
            means,
            memories,
            folds: memories.min(MAX_FOLDS),
        }
    }

    /// Mean relative error (%) at the held-out memories of a family fitted by `fit` to the rest;
    /// `None` if a fold cannot be fitted.
    fn error(
        &self,
        samples: &[Sample],
        fit: impl Fn(&[Sample]) -> Result<DurationModel, ModelError>,
    ) -> Option<f64> {
        let fold_of = |m: f64| {
            self.means
                .iter()
                .position(|&(x, _)| x == m)
                .map_or(0, |i| i % self.folds)
        };
        let mut total = 0.0;
        for fold in 0..self.folds {
            let train: Vec<Sample> = samples
                .iter()
                .filter(|s| fold_of(s.memory_mb) != fold)
                .copied()
                .collect();
            let model = fit(&train).ok()?;
            for (i, &(m, mean)) in self.means.iter().enumerate() {
                if i % self.folds == fold {
                    total += (model.duration_ms(m) - mean).abs() / mean;
                }
            }
        }
        let e = 100.0 * total / self.memories as f64;
        e.is_finite().then_some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CpuShareModel, ExpModel};

    fn s(memory_mb: f64, duration_ms: f64) -> Sample {
        Sample::new(memory_mb, duration_ms)
    }

    fn curve(f: impl Fn(f64) -> f64) -> Vec<Sample> {
        (0..46)
            .map(|k| 128.0 + 64.0 * f64::from(k))
            .map(|m| s(m, f(m)))
            .collect()
    }

    #[test]
    fn chooses_the_family_that_generated_the_data() {
        let exp = ExpModel::new(150.0, 3000.0, 0.004);
        let sel = select_model(&curve(|m| exp.duration_ms(m)), ModelChoice::Auto).unwrap();
        assert_eq!(
            (sel.family, sel.selected_by),
            (ModelFamily::Exponential, SelectedBy::CrossValidation)
        );
        let cpu = CpuShareModel::new(20.0, 300.0, 1769.0);
        let sel = select_model(&curve(|m| cpu.duration_ms(m)), ModelChoice::Auto).unwrap();
        assert_eq!(sel.family, ModelFamily::CpuShare);
        assert!(sel.mape_percent < 1e-6, "{sel:?}");
        assert_eq!(sel.candidates.len(), 3);
        assert_eq!(sel.candidates.iter().filter(|c| c.chosen).count(), 1);
        let exp_cv = sel.candidates[0].cv_error_percent.unwrap();
        assert!(sel.cv_error_percent.unwrap() <= exp_cv);
    }

    #[test]
    fn forced_and_too_few_memories() {
        let data = [s(128.0, 1000.0), s(512.0, 300.0), s(1024.0, 200.0)];
        let sel = select_model(&data, ModelChoice::Auto).unwrap();
        assert_eq!(
            (sel.family, sel.selected_by),
            (ModelFamily::Exponential, SelectedBy::TooFewMemories)
        );
        assert!(sel.candidates.iter().all(|c| c.cv_error_percent.is_none()));
        let sel = select_model(&data, ModelChoice::Table).unwrap();
        assert_eq!(
            (sel.family, sel.selected_by),
            (ModelFamily::Table, SelectedBy::Forced)
        );
        let sel = select_from(&data, ModelChoice::CpuShare, &[ModelFamily::Exponential]).unwrap();
        assert_eq!(sel.family, ModelFamily::CpuShare);
        assert_eq!(sel.candidates.len(), 2);
        assert_eq!(
            select_model(&[], ModelChoice::Auto),
            Err(ModelError::NoSamples)
        );
    }

    #[test]
    fn the_multi_thread_share_is_kept_when_it_predicts_better() {
        let truth = CpuShareModel::new(50.0, 1000.0, 1769.0).with_parallel_fraction(0.6);
        let sel = select_model(&curve(|m| truth.duration_ms(m)), ModelChoice::CpuShare).unwrap();
        let DurationModel::CpuShare(m) = sel.model else {
            panic!("{sel:?}");
        };
        assert!((m.parallel_fraction - 0.6).abs() < 1e-6, "{m:?}");
        assert_eq!(sel.candidates[1].parameters, 4);
    }
}
