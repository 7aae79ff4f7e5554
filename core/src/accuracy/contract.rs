//! A compiled score: evaluation, range and the contract check (monotone and finite on the options).

use super::*;

impl EasScore {
    /// Evaluates the score; `a[i]` is the normalised accuracy of `function_ids[i]`. Functions the
    /// score does not reference are ignored; a missing entry reads as NaN (so the result is NaN).
    pub fn evaluate(&self, a: &[f64]) -> f64 {
        if self.max_stack <= INLINE_STACK {
            run(&self.ops, a, &mut [0.0; INLINE_STACK])
        } else {
            run(&self.ops, a, &mut vec![0.0; self.max_stack])
        }
    }

    /// Indices into the compiled `function_ids` that the score depends on, ascending.
    pub fn referenced(&self) -> Vec<usize> {
        self.referenced.clone()
    }

    /// The function ids the score was compiled against.
    pub fn function_ids(&self) -> &[String] {
        &self.names
    }

    /// `(score at all A = 0, score at all A = 1)`: the score's range on `[0, 1]^n` provided the
    /// monotonicity contract holds (e.g. `(0, 3)` for `2·A(a) + A(b)`).
    pub fn range(&self) -> (f64, f64) {
        let n = self.names.len();
        (self.evaluate(&vec![0.0; n]), self.evaluate(&vec![1.0; n]))
    }

    pub(super) fn name(&self, i: usize) -> String {
        self.names.get(i).cloned().unwrap_or_default()
    }

    /// Checks the contract on the actual discrete options: `options[i]` holds the normalised
    /// accuracies available to function `i` (any order, duplicates allowed).
    ///
    /// For every referenced function `f`, `A(f)` is swept over its options for each combination of
    /// the other referenced functions' options: all of them when there are at most
    /// [`CONTRACT_SAMPLE`], otherwise a deterministic pseudo-random sample of that many plus all
    /// min/max corner combinations (when those are at most [`CONTRACT_SAMPLE`]). A drop of the
    /// score (beyond a 1e-12 relative rounding slack) is [`AccuracyError::NotMonotone`]; a
    /// non-finite score at any visited point is [`AccuracyError::Unbounded`]. On success returns
    /// the observed minimum and maximum score.
    pub fn check_contract(&self, options: &[Vec<f64>]) -> Result<ContractReport, AccuracyError> {
        let (expected, found) = (self.names.len(), options.len());
        if expected != found {
            return Err(AccuracyError::OptionsMismatch { expected, found });
        }
        let mut levels = Vec::with_capacity(self.referenced.len());
        for &f in &self.referenced {
            let mut o = options.get(f).cloned().unwrap_or_default();
            o.sort_by(f64::total_cmp);
            o.dedup();
            if o.is_empty() {
                return Err(AccuracyError::NoOptions {
                    function: self.name(f),
                });
            }
            levels.push((f, o));
        }
        if let Some(report) = self.structural_contract(&levels, expected)? {
            return Ok(report);
        }
        let mut c = Checker {
            score: self,
            point: vec![0.0; expected],
            levels,
            report: ContractReport {
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
            },
            rng: 0x9E37_79B9_7F4A_7C15,
        };
        if c.levels.is_empty() {
            c.sweep(0)?; // a constant score: one evaluation
        }
        for j in 0..c.levels.len() {
            let count = |corners| {
                let others = c.levels.iter().enumerate().filter(|(i, _)| *i != j);
                others.fold(1usize, |acc, (_, (_, o))| {
                    acc.saturating_mul(radix(o, corners))
                })
            };
            let (all, corners) = (count(false), count(true));
            if all <= CONTRACT_SAMPLE {
                c.grid(j, all, false)?;
                continue;
            }
            for _ in 0..CONTRACT_SAMPLE {
                c.place(j, None, false);
                c.sweep(j)?;
            }
            if corners <= CONTRACT_SAMPLE {
                c.grid(j, corners, true)?;
            }
        }
        Ok(c.report)
    }
}

impl EasScore {
    /// The contract from the score's shape, in time linear in the functions: a weighted sum
    /// with non-negative weights and a minimum are non-decreasing in every accuracy, and so is
    /// a positive product of non-negative powers when every option is non-negative. The score's
    /// extremes are then its values with every function at its lowest, resp. highest, option
    /// (checked finite). `None` for any other shape (the sampled check applies).
    pub(super) fn structural_contract(
        &self,
        levels: &[(usize, Vec<f64>)],
        functions: usize,
    ) -> Result<Option<ContractReport>, AccuracyError> {
        let monotone = match self.form() {
            ScoreForm::Sum { .. } | ScoreForm::Min { .. } => true,
            ScoreForm::Product { coefficient, .. } => {
                coefficient > 0.0 && levels.iter().all(|(_, o)| o.iter().all(|&a| a >= 0.0))
            }
            ScoreForm::General => false,
        };
        if !monotone {
            return Ok(None);
        }
        let corner = |highest: bool| {
            let mut point = vec![0.0; functions];
            for (f, o) in levels {
                let pick = if highest { o.last() } else { o.first() };
                if let (Some(p), Some(&a)) = (point.get_mut(*f), pick) {
                    *p = a;
                }
            }
            point
        };
        let (low, high) = (corner(false), corner(true));
        let (min, max) = (self.evaluate(&low), self.evaluate(&high));
        for (value, point) in [(min, &low), (max, &high)] {
            if !value.is_finite() {
                let at = levels
                    .iter()
                    .map(|(f, _)| (self.name(*f), point.get(*f).copied().unwrap_or(f64::NAN)))
                    .collect();
                return Err(AccuracyError::Unbounded { at });
            }
        }
        Ok(Some(ContractReport { min, max }))
    }
}

/// How many choices a function offers in a combination: all its options, or min/max only.
pub(super) fn radix(options: &[f64], corners: bool) -> usize {
    if corners {
        options.len().min(2)
    } else {
        options.len()
    }
}

/// State of one [`EasScore::check_contract`] run.
#[derive(Debug)]
pub(super) struct Checker<'s> {
    score: &'s EasScore,
    /// Per referenced function: its index and its sorted, deduplicated options.
    levels: Vec<(usize, Vec<f64>)>,
    point: Vec<f64>,
    report: ContractReport,
    rng: u64,
}

impl Checker<'_> {
    /// xorshift64: deterministic, good enough to spread samples.
    pub(super) fn below(&mut self, n: usize) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % (n.max(1) as u64)) as usize
    }

    /// Sets every referenced function but `j`: to mixed-radix combination `combo` (of min/max
    /// only when `corners`), or to random options when `combo` is `None`.
    pub(super) fn place(&mut self, j: usize, combo: Option<usize>, corners: bool) {
        let mut rest = combo.unwrap_or(0);
        for i in (0..self.levels.len()).filter(|i| *i != j) {
            let len = self
                .levels
                .get(i)
                .map_or(1, |(_, o)| radix(o, corners).max(1));
            let digit = if combo.is_some() {
                rest % len
            } else {
                self.below(len)
            };
            rest /= len;
            if let Some((f, o)) = self.levels.get(i)
                && let Some(p) = self.point.get_mut(*f)
            {
                let idx = if corners && digit == 1 {
                    o.len() - 1
                } else {
                    digit
                };
                *p = o.get(idx).copied().unwrap_or(f64::NAN);
            }
        }
    }

    /// Sweeps function `j` at each of the first `count` combinations of the others.
    pub(super) fn grid(
        &mut self,
        j: usize,
        count: usize,
        corners: bool,
    ) -> Result<(), AccuracyError> {
        for k in 0..count {
            self.place(j, Some(k), corners);
            self.sweep(j)?;
        }
        Ok(())
    }

    /// The referenced functions' current values, except `skip`.
    pub(super) fn at(&self, skip: Option<usize>) -> Vec<(String, f64)> {
        let others = self.levels.iter().filter(|(g, _)| Some(*g) != skip);
        let value = |g: usize| self.point.get(g).copied().unwrap_or(f64::NAN);
        others
            .map(|(g, _)| (self.score.name(*g), value(*g)))
            .collect()
    }

    /// Raises function `j` through its options with the others fixed (or, when there is no
    /// function `j`, evaluates the current point once), checking finiteness and monotonicity.
    pub(super) fn sweep(&mut self, j: usize) -> Result<(), AccuracyError> {
        let (f, options): (_, &[f64]) = match self.levels.get(j) {
            Some((f, o)) => (Some(*f), o),
            None => (None, &[0.0]),
        };
        let mut prev: Option<(f64, f64)> = None;
        for &v in options {
            if let Some(p) = f.and_then(|f| self.point.get_mut(f)) {
                *p = v;
            }
            let s = self.score.evaluate(&self.point);
            if !s.is_finite() {
                return Err(AccuracyError::Unbounded { at: self.at(None) });
            }
            self.report.min = self.report.min.min(s);
            self.report.max = self.report.max.max(s);
            if let Some((from, score_from)) = prev
                && s < score_from - MONOTONE_TOLERANCE * score_from.abs().max(1.0)
            {
                return Err(AccuracyError::NotMonotone {
                    function: f.map(|f| self.score.name(f)).unwrap_or_default(),
                    from,
                    to: v,
                    score_from,
                    score_to: s,
                    at: self.at(f),
                });
            }
            prev = Some((v, s));
        }
        Ok(())
    }
}
