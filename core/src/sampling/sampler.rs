//! The state machine: where to measure next, how many invocations, when to stop.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::{
    Batch, FailureRecord, MemoryRecord, Request, SampleRecord, SamplerSettings, SamplingError,
    SamplingResult, Status, Step, StopReason, cov, stop,
};
use crate::model::{DurationModel, ModelFamily, ModelSelection, Sample, select_from};
use crate::pricing::Pricing;

/// Warm memories the settled rule needs (the model is selected by cross-validation from 4).
const MIN_SETTLED_MEMORIES: usize = 5;
/// Warm memories before any stop rule (cross-validation needs 4).
const MIN_STOP_MEMORIES: usize = 4;
/// Warm memories before the result lets the table compete (with fewer, its straight lines
/// between distant points win cross-validation by chance as often as on merit).
const TABLE_MIN_MEMORIES: usize = 8;

/// The measurement in progress at one memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Current {
    memory_mb: u32,
    /// The first batch (with its warm-up) has not been requested yet.
    first: bool,
    fresh: bool,
    /// Failures during this visit.
    failures: u32,
    /// Extra samples requested during this visit.
    extra: u32,
}

/// The state machine. Serializable, so a run can be checkpointed; feeding it the same batches
/// always gives the same requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampler {
    settings: SamplerSettings,
    pricing: Pricing,
    candidates: Vec<u32>,
    floor_mb: u32,
    seeds: VecDeque<u32>,
    remeasure: VecDeque<u32>,
    records: BTreeMap<u32, MemoryRecord>,
    order: Vec<u32>,
    current: Option<Current>,
    pending: Option<Request>,
    done: Option<StopReason>,
    invocations: u64,
    cost_usd: f64,
}

impl Sampler {
    /// A search over `candidates` (MB, any order, duplicates ignored), costed with `pricing`.
    pub fn new(
        candidates: Vec<u32>,
        pricing: Pricing,
        settings: SamplerSettings,
    ) -> Result<Self, SamplingError> {
        let mut candidates = candidates;
        candidates.sort_unstable();
        candidates.dedup();
        candidates.retain(|&m| m > 0);
        let (Some(&lo), Some(&hi)) = (candidates.first(), candidates.last()) else {
            return Err(SamplingError::NoCandidates);
        };
        let setting = |name, message: &str| {
            Err(SamplingError::Setting {
                name,
                message: message.to_string(),
            })
        };
        if settings.samples_per_memory == 0 {
            return setting("samples_per_memory", "must be at least 1");
        }
        if !(settings.cov_threshold.is_finite() && settings.cov_threshold >= 0.0) {
            return setting("cov_threshold", "must be a finite number >= 0");
        }
        if !(settings.sigma_mb.is_finite() && settings.sigma_mb > 0.0) {
            return setting("sigma_mb", "must be a finite number > 0");
        }
        if !(settings.stop_belief.is_finite() && settings.stop_belief >= 1.0) {
            return setting("stop_belief", "must be a finite number >= 1");
        }
        if !(settings.stop_tolerance.is_finite() && settings.stop_tolerance >= 0.0) {
            return setting("stop_tolerance", "must be a finite number >= 0");
        }
        if !(settings.stop_interval.is_finite() && settings.stop_interval >= 0.0) {
            return setting("stop_interval", "must be a finite number >= 0");
        }
        if settings.max_memories == 0 {
            return setting("max_memories", "must be at least 1");
        }
        if !(settings.rise_tolerance.is_finite() && settings.rise_tolerance >= 0.0) {
            return setting("rise_tolerance", "must be a finite number >= 0");
        }
        if settings
            .max_cost_usd
            .is_some_and(|c| !(c.is_finite() && c > 0.0))
        {
            return setting("max_cost_usd", "must be a finite number > 0");
        }
        let third = nearest(&candidates, f64::from(lo) + f64::from(hi - lo) / 3.0);
        let mut seeds = VecDeque::new();
        for m in [lo, third, hi] {
            if !seeds.contains(&m) {
                seeds.push_back(m);
            }
        }
        Ok(Sampler {
            settings,
            pricing,
            floor_mb: lo,
            candidates,
            seeds,
            remeasure: VecDeque::new(),
            records: BTreeMap::new(),
            order: Vec::new(),
            current: None,
            pending: None,
            done: None,
            invocations: 0,
            cost_usd: 0.0,
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &SamplerSettings {
        &self.settings
    }

    /// Invocations recorded so far (warm-ups and failures included).
    pub fn invocations(&self) -> u64 {
        self.invocations
    }

    /// USD spent so far.
    pub fn cost_usd(&self) -> f64 {
        self.cost_usd
    }

    /// The next step. Calling it again without [`Sampler::record`] returns the same request.
    pub fn next_step(&mut self) -> Step {
        if let Some(r) = &self.done {
            return Step::Done(r.clone());
        }
        if let Some(p) = self.pending {
            return Step::Measure(p);
        }
        match self.decide() {
            Ok(request) => {
                self.pending = Some(request);
                Step::Measure(request)
            }
            Err(reason) => {
                self.done = Some(reason.clone());
                Step::Done(reason)
            }
        }
    }

    /// Records the answer to the pending request.
    pub fn record(&mut self, batch: &Batch) -> Result<(), SamplingError> {
        self.record_batch(batch, None)
    }

    /// Records a batch the caller cut short because a budget ran out before every invocation
    /// could start (fewer invocations than requested, the warm-up possibly missing), and ends the
    /// search with `stop`.
    pub fn record_cut(&mut self, batch: &Batch, stop: StopReason) -> Result<(), SamplingError> {
        self.record_batch(batch, Some(stop))
    }

    fn record_batch(
        &mut self,
        batch: &Batch,
        cut: Option<StopReason>,
    ) -> Result<(), SamplingError> {
        let request = self.pending.ok_or(SamplingError::NothingRequested)?;
        if let Some(stop) = cut {
            if batch.invocations.len() > request.count as usize
                || (batch.warmup.is_some() && !request.warmup)
            {
                return Err(SamplingError::Mismatch(format!(
                    "a cut batch of {} invocations{} for a request of {}",
                    batch.invocations.len(),
                    if batch.warmup.is_some() {
                        " and a warm-up"
                    } else {
                        ""
                    },
                    request.count
                )));
            }
            self.done = Some(stop);
        } else if batch.warmup.is_some() != request.warmup {
            return Err(SamplingError::Mismatch(format!(
                "warm-up {} but {} requested",
                if batch.warmup.is_some() {
                    "given"
                } else {
                    "missing"
                },
                if request.warmup {
                    "one was"
                } else {
                    "none was"
                }
            )));
        }
        // A warm-up that timed out or ran out of memory ends the batch: the memory is infeasible.
        let warmup_killed = batch.warmup.as_ref().is_some_and(|w| {
            matches!(
                w.effective_status(request.memory_mb),
                Status::Timeout | Status::OutOfMemory
            )
        });
        if self.done.is_none()
            && batch.invocations.len() != request.count as usize
            && !(warmup_killed && batch.invocations.is_empty())
        {
            return Err(SamplingError::Mismatch(format!(
                "{} invocations for a request of {}",
                batch.invocations.len(),
                request.count
            )));
        }
        self.pending = None;
        let m = request.memory_mb;
        let mut floor_hit = false;
        let calls = batch
            .warmup
            .iter()
            .map(|w| (w, true))
            .chain(batch.invocations.iter().map(|i| (i, false)));
        for (inv, warmup) in calls {
            self.invocations += 1;
            let billed = inv.billed_duration_ms.or(inv.duration_ms).unwrap_or(0.0);
            self.cost_usd += self.pricing.invocation_cost(f64::from(m), billed);
            let record = self.records.entry(m).or_insert_with(|| MemoryRecord {
                memory_mb: m,
                ..MemoryRecord::default()
            });
            record.invocations += 1;
            if let Some(init) = inv.init_duration_ms.filter(|x| x.is_finite() && *x >= 0.0) {
                record.init_durations_ms.push(init);
            }
            let status = inv.effective_status(m);
            match status {
                Status::Ok if warmup => {}
                Status::Ok => record.samples.push(SampleRecord {
                    duration_ms: inv.duration_ms.unwrap_or(0.0),
                    billed_duration_ms: inv.billed_duration_ms,
                    max_memory_used_mb: inv.max_memory_used_mb,
                    cold: inv.is_cold(),
                    init_duration_ms: inv.init_duration_ms,
                    superseded: false,
                }),
                failure => {
                    record.failures.push(FailureRecord {
                        status: failure,
                        message: inv.message.clone(),
                        warmup,
                    });
                    match failure {
                        Status::Timeout | Status::OutOfMemory => floor_hit = true,
                        _ => {
                            if let Some(c) = self.current.as_mut() {
                                c.failures += 1;
                            }
                        }
                    }
                }
            }
        }
        if !self.order.contains(&m) {
            self.order.push(m);
        }
        if floor_hit {
            self.raise_floor(m);
        }
        Ok(())
    }

    /// The result so far (final once [`Sampler::next_step`] returned [`Step::Done`]).
    pub fn result(&self) -> SamplingResult {
        // The table competes once it has enough points to interpolate between.
        let families: &[ModelFamily] =
            if self.warm_memories_at_or_above_floor() >= TABLE_MIN_MEMORIES {
                &ModelFamily::ALL
            } else {
                &ModelFamily::PARAMETRIC
            };
        let fit = self.fit(families);
        // Never a memory below the smallest one that ran, when smaller ones failed.
        let best_memory_mb = fit.as_ref().and_then(|f| {
            self.feasible()
                .filter(|&m| !self.untested_gap(m))
                .min_by(|&a, &b| {
                    self.predicted_cost(&f.model, a)
                        .total_cmp(&self.predicted_cost(&f.model, b))
                })
        });
        SamplingResult {
            stop: self.done.clone().unwrap_or(StopReason::Exhausted),
            fit,
            best_memory_mb,
            floor_mb: self.known_floor(),
            memories: self
                .order
                .iter()
                .filter_map(|m| self.records.get(m).cloned())
                .collect(),
            invocations: self.invocations,
            cost_usd: self.cost_usd,
        }
    }

    /// The warm samples the model is fitted to.
    pub fn warm_samples(&self) -> Vec<Sample> {
        self.records
            .values()
            .flat_map(|r| {
                r.warm()
                    .into_iter()
                    .map(move |d| Sample::new(f64::from(r.memory_mb), d))
            })
            .collect()
    }

    /// The model selected among `families` (or the forced one) for the warm samples.
    fn fit(&self, families: &[ModelFamily]) -> Option<ModelSelection> {
        let samples = self.warm_samples();
        if samples.is_empty() {
            return None;
        }
        select_from(&samples, self.settings.model, families).ok()
    }

    fn feasible(&self) -> impl Iterator<Item = u32> + '_ {
        self.candidates
            .iter()
            .copied()
            .filter(|&m| m >= self.floor_mb)
    }

    fn predicted_cost(&self, model: &DurationModel, m: u32) -> f64 {
        let d = model.duration_ms(f64::from(m));
        self.pricing.invocation_cost(f64::from(m), d)
    }

    fn best(&self, model: &DurationModel) -> Option<u32> {
        self.feasible().min_by(|&a, &b| {
            self.predicted_cost(model, a)
                .total_cmp(&self.predicted_cost(model, b))
        })
    }

    /// The belief width: `sigma_mb`, or the grid's typical step when that is wider (a belief
    /// narrower than the grid could never concentrate on a coarse grid).
    fn sigma(&self) -> f64 {
        let mut steps: Vec<u32> = self.candidates.windows(2).map(|w| w[1] - w[0]).collect();
        steps.sort_unstable();
        let median = steps.get(steps.len() / 2).copied().unwrap_or(0);
        self.settings.sigma_mb.max(f64::from(median))
    }

    /// `1 + K(m)`.
    fn belief(&self, m: u32) -> f64 {
        let sigma = self.sigma();
        let s2 = 2.0 * sigma * sigma;
        1.0 + self
            .records
            .values()
            .filter(|r| !r.warm().is_empty())
            .map(|r| {
                let d = f64::from(m) - f64::from(r.memory_mb);
                (-d * d / s2).exp()
            })
            .sum::<f64>()
    }

    fn measured(&self, m: u32) -> bool {
        self.records.get(&m).is_some_and(|r| r.invocations > 0)
    }

    fn raise_floor(&mut self, failed_mb: u32) {
        let was_first_probe = self.order.first() == Some(&failed_mb)
            || self
                .candidates
                .first()
                .is_some_and(|&lo| lo == failed_mb || self.floor_mb == failed_mb);
        if let Some(&next) = self.candidates.iter().find(|&&c| c > failed_mb) {
            self.floor_mb = self.floor_mb.max(next);
        } else {
            self.floor_mb = failed_mb.saturating_add(1);
        }
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.memory_mb == failed_mb)
        {
            self.current = None;
        }
        // Probe upwards quickly from a failed smallest memory: double it (within the range).
        if was_first_probe
            && !self
                .seeds
                .iter()
                .any(|&s| s >= self.floor_mb && s <= failed_mb.saturating_mul(2))
        {
            let target = f64::from(failed_mb) * 2.0;
            if let Some(m) = self
                .candidates
                .iter()
                .copied()
                .filter(|&c| c >= self.floor_mb && !self.measured(c))
                .min_by(|&a, &b| {
                    (f64::from(a) - target)
                        .abs()
                        .total_cmp(&(f64::from(b) - target).abs())
                })
            {
                self.seeds.push_front(m);
            }
        }
        self.seeds.retain(|&s| s >= self.floor_mb);
        self.remeasure.retain(|&s| s >= self.floor_mb);
    }

    /// Budget check, shared by every request.
    fn budget(&self) -> Result<(), StopReason> {
        if let Some(cap) = self.settings.max_invocations
            && self.invocations >= cap
        {
            return Err(StopReason::InvocationCap);
        }
        if let Some(cap) = self.settings.max_cost_usd
            && self.cost_usd >= cap
        {
            return Err(StopReason::CostCap);
        }
        Ok(())
    }

    fn decide(&mut self) -> Result<Request, StopReason> {
        loop {
            if let Some(cur) = self.current.clone() {
                if let Some(r) = self.continue_current(&cur)? {
                    self.budget()?;
                    return Ok(r);
                }
                self.current = None;
                self.check_rise(cur.memory_mb);
                continue;
            }
            if self.feasible().next().is_none() {
                return Err(StopReason::NoFeasibleMemory {
                    floor_mb: self.floor_mb,
                });
            }
            let next = self.choose()?;
            self.budget()?;
            let fresh = self.measured(next);
            if fresh && let Some(r) = self.records.get_mut(&next) {
                for s in &mut r.samples {
                    s.superseded = true;
                }
                r.remeasured = true;
            }
            if !self.order.contains(&next) {
                self.order.push(next);
            }
            self.current = Some(Current {
                memory_mb: next,
                first: true,
                fresh,
                failures: 0,
                extra: 0,
            });
        }
    }

    /// The next request at the memory being measured, or `None` when it is finished.
    fn continue_current(&mut self, cur: &Current) -> Result<Option<Request>, StopReason> {
        let m = cur.memory_mb;
        let record = self.records.get(&m).cloned().unwrap_or_default();
        if cur.failures >= self.settings.max_failures_per_memory {
            let message = record
                .failures
                .iter()
                .rev()
                .find_map(|f| f.message.clone())
                .unwrap_or_else(|| "no message".to_string());
            return Err(StopReason::TooManyFailures {
                memory_mb: m,
                failures: cur.failures,
                message,
            });
        }
        let warm = record.warm();
        let need = self.settings.samples_per_memory as usize;
        let warmup = self.settings.warmup;
        let request = |count: usize, first: bool| Request {
            memory_mb: m,
            warmup: first && warmup,
            fresh: first && cur.fresh,
            count: u32::try_from(count).unwrap_or(u32::MAX),
        };
        let next = if cur.first {
            Some(request(need, true))
        } else if warm.len() < need {
            Some(request(need - warm.len(), false))
        } else if cov(&warm) > self.settings.cov_threshold
            && cur.extra < self.settings.max_extra_samples
            && self.unusual_scatter(m, cov(&warm))
        {
            if let Some(c) = self.current.as_mut() {
                c.extra += 1;
            }
            if let Some(r) = self.records.get_mut(&m) {
                r.extra_samples += 1;
            }
            Some(request(1, false))
        } else {
            None
        };
        if next.is_some()
            && let Some(c) = self.current.as_mut()
        {
            c.first = false;
        }
        Ok(next)
    }

    /// After finishing `m`: a mean significantly above that of a smaller measured memory queues both
    /// for one re-measurement.
    fn check_rise(&mut self, m: u32) {
        let stats = |r: &MemoryRecord| {
            let w = r.warm();
            let n = w.len() as f64;
            let mean = w.iter().sum::<f64>() / n;
            let se = if w.len() > 1 {
                cov(&w) * mean / n.sqrt()
            } else {
                0.0
            };
            (mean, se)
        };
        let measured: Vec<&MemoryRecord> = self
            .records
            .values()
            .filter(|r| r.memory_mb >= self.floor_mb && !r.warm().is_empty())
            .collect();
        let Some(pos) = measured.iter().position(|r| r.memory_mb == m) else {
            return;
        };
        let neighbours = [pos.checked_sub(1).map(|p| (p, pos)), Some((pos, pos + 1))];
        for (lo, hi) in neighbours.into_iter().flatten() {
            let (Some(a), Some(b)) = (measured.get(lo), measured.get(hi)) else {
                continue;
            };
            let ((ma, sa), (mb, sb)) = (stats(a), stats(b));
            let margin = (self.settings.rise_tolerance * ma).max(2.0 * (sa * sa + sb * sb).sqrt());
            if mb - ma > margin {
                for r in [a, b] {
                    if !r.remeasured && !self.remeasure.contains(&r.memory_mb) {
                        self.remeasure.push_back(r.memory_mb);
                    }
                }
            }
        }
    }

    fn choose(&mut self) -> Result<u32, StopReason> {
        if let Some(m) = self.remeasure.pop_front() {
            return Ok(m);
        }
        while let Some(m) = self.seeds.pop_front() {
            if m >= self.floor_mb && !self.measured(m) {
                return Ok(m);
            }
        }
        let measured = self
            .records
            .values()
            .filter(|r| r.invocations > 0 && r.memory_mb >= self.floor_mb)
            .count();
        if measured >= self.settings.max_memories {
            return Err(StopReason::MemoryCap);
        }
        let unexplored: Vec<u32> = self.feasible().filter(|&m| !self.measured(m)).collect();
        // The search predicts unmeasured memories, so it uses the parametric families (a table is
        // flat beyond its points); the result selects among every family.
        let fit = if self.warm_memories_at_or_above_floor() >= 2 {
            self.fit(&ModelFamily::PARAMETRIC)
        } else {
            None
        };
        let Some(fit) = fit else {
            // Fewer than two memories with warm data: halve the largest gap above the floor.
            return self.bisect(&unexplored).ok_or(StopReason::Exhausted);
        };
        let cv_ok = self.fit_validated(&fit);
        let fit = &fit.model;
        if !cv_ok {
            // The model does not predict the memories it left out: measure the widest gap.
            if let Some(m) = self.bisect(&unexplored) {
                return Ok(m);
            }
        }
        if let Some(stop) = self.stop_rule(fit).filter(|_| cv_ok) {
            // Nor while untried memories lie between the floor raised by failures and the
            // smallest memory that ran: the cheapest memory is often the smallest that works, and
            // a model extrapolated below its samples cannot tell. Measure the gap's middle.
            let gap: Vec<u32> = unexplored
                .iter()
                .copied()
                .filter(|&m| self.untested_gap(m))
                .collect();
            if let Some(&m) = gap.get(gap.len() / 2) {
                return Ok(m);
            }
            // Nor while a gap wider than a quarter of the range is unmeasured: a model's shape between
            // distant points (a knee) is a guess there.
            if self.widest_gap() * 4 > self.range_above_floor()
                && let Some(m) = self.bisect(&unexplored)
            {
                return Ok(m);
            }
            // Stop only once the samples pin the whole curve down, not only its cheapest part:
            // else measure where the model is least certain.
            let feasible: Vec<u32> = self.feasible().collect();
            let samples = self.samples_at_or_above_floor();
            match stop::spread(fit, &samples, &feasible) {
                Some((mean, _)) if mean <= self.settings.stop_spread => return Err(stop),
                Some((_, widest)) => {
                    if let Some(m) = unexplored
                        .iter()
                        .copied()
                        .min_by_key(|&m| m.abs_diff(widest))
                    {
                        return Ok(m);
                    }
                    return Err(stop);
                }
                // Parameters the samples cannot identify (a curve flat over every sample): the
                // cross-validated error, checked above, is what remains.
                None => return Err(stop),
            }
        }
        unexplored
            .iter()
            .copied()
            .min_by(|&a, &b| {
                let score = |m| self.predicted_cost(fit, m) * self.belief(m);
                score(a).total_cmp(&score(b))
            })
            .ok_or(StopReason::Exhausted)
    }

    /// The stop rule that holds for `fit`, if any: the belief concentrated or the optimum is
    /// bracketed (converged), or the choice is settled.
    fn stop_rule(&self, fit: &DurationModel) -> Option<StopReason> {
        let best = self.best(fit)?;
        if self.warm_memories_at_or_above_floor() < MIN_STOP_MEMORIES || self.untested_gap(best) {
            return None;
        }
        let feasible: Vec<u32> = self.feasible().collect();
        let warm = |m: u32| self.records.get(&m).is_some_and(|r| !r.warm().is_empty());
        if self.belief(best) >= self.settings.stop_belief || stop::bracketed(&feasible, best, warm)
        {
            return Some(StopReason::Converged { memory_mb: best });
        }
        let settled = self.warm_memories_at_or_above_floor() >= MIN_SETTLED_MEMORIES
            && stop::settled(
                fit,
                &self.samples_at_or_above_floor(),
                &feasible,
                best,
                &self.pricing,
                stop::Bounds {
                    tolerance: self.settings.stop_tolerance,
                    interval: self.settings.stop_interval,
                    z: if self.pooled_noise() > self.settings.cov_threshold {
                        stop::STOP_Z_NOISY
                    } else {
                        stop::STOP_Z
                    },
                },
            );
        settled.then_some(StopReason::Settled { memory_mb: best })
    }

    /// The selected model predicts the memories it left out (cross-validation) within 3% plus two
    /// standard errors of a memory's mean (the noise: the other memories' pooled CoV).
    fn fit_validated(&self, fit: &ModelSelection) -> bool {
        let Some(cv) = fit.cv_error_percent else {
            return false;
        };
        let se = self.pooled_noise() / f64::from(self.settings.samples_per_memory).sqrt();
        cv <= 3.0 + 200.0 * se
    }

    /// The floor the result reports: after failures, the smallest memory that ran (the untried
    /// memories between it and the last failure may fail too, and an optimizer must not choose
    /// them).
    fn known_floor(&self) -> u32 {
        self.lowest_success_over_raised_floor()
            .map_or(self.floor_mb, |s| s.max(self.floor_mb))
    }

    /// When failures raised the floor above the smallest candidate: the smallest memory at or
    /// above it that ran.
    fn lowest_success_over_raised_floor(&self) -> Option<u32> {
        let raised = self
            .candidates
            .first()
            .is_some_and(|&lo| self.floor_mb > lo);
        if !raised {
            return None;
        }
        self.records
            .values()
            .find(|r| r.memory_mb >= self.floor_mb && !r.warm().is_empty())
            .map(|r| r.memory_mb)
    }

    /// The pooled coefficient of variation of the memories at or above the floor (0 if none).
    fn pooled_noise(&self) -> f64 {
        let warm: Vec<Vec<f64>> = self
            .records
            .values()
            .filter(|r| r.memory_mb >= self.floor_mb)
            .map(MemoryRecord::warm)
            .collect();
        stop::pooled_cov(warm.iter().map(Vec::as_slice)).unwrap_or(0.0)
    }

    /// `m` lies between the floor, raised by failures, and the smallest memory that ran, and was
    /// not tried: it may fail too.
    fn untested_gap(&self, m: u32) -> bool {
        !self.measured(m)
            && self
                .lowest_success_over_raised_floor()
                .is_some_and(|s| m < s)
    }

    fn samples_at_or_above_floor(&self) -> Vec<Sample> {
        self.warm_samples()
            .into_iter()
            .filter(|s| s.memory_mb >= f64::from(self.floor_mb))
            .collect()
    }

    /// A scatter `cov` at `m` worth more samples: there is no other memory to compare with, or it is
    /// more than twice the other memories' pooled coefficient of variation (homogeneous noise is
    /// left to the model, which pools every memory; an outlier is not).
    fn unusual_scatter(&self, m: u32, cov: f64) -> bool {
        let others: Vec<Vec<f64>> = self
            .records
            .values()
            .filter(|r| r.memory_mb != m && r.memory_mb >= self.floor_mb)
            .map(MemoryRecord::warm)
            .collect();
        stop::pooled_cov(others.iter().map(Vec::as_slice)).is_none_or(|p| cov > 2.0 * p)
    }

    fn warm_memories_at_or_above_floor(&self) -> usize {
        self.records
            .values()
            .filter(|r| r.memory_mb >= self.floor_mb && !r.warm().is_empty())
            .count()
    }

    /// The widest gap between measured memories (the floor and the largest candidate count as
    /// ends), MB.
    fn widest_gap(&self) -> u32 {
        let mut ends: Vec<u32> = self.feasible().filter(|&m| self.measured(m)).collect();
        ends.push(self.floor_mb);
        ends.extend(self.candidates.last());
        ends.sort_unstable();
        ends.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
    }

    fn range_above_floor(&self) -> u32 {
        self.candidates
            .last()
            .map_or(0, |&hi| hi.saturating_sub(self.floor_mb))
    }

    /// The unexplored candidate nearest the middle of the widest gap between measured memories
    /// (the floor and the largest candidate count as ends).
    fn bisect(&self, unexplored: &[u32]) -> Option<u32> {
        let mut ends: Vec<u32> = self.feasible().filter(|&m| self.measured(m)).collect();
        ends.push(self.floor_mb);
        if let Some(&hi) = self.candidates.last() {
            ends.push(hi);
        }
        ends.sort_unstable();
        ends.dedup();
        let (a, b) = ends
            .windows(2)
            .map(|w| (w[0], w[1]))
            .max_by_key(|(a, b)| b - a)?;
        let mid = (f64::from(a) + f64::from(b)) / 2.0;
        unexplored.iter().copied().min_by(|&x, &y| {
            (f64::from(x) - mid)
                .abs()
                .total_cmp(&(f64::from(y) - mid).abs())
        })
    }
}

/// The candidate nearest `target` (the smaller on a tie).
fn nearest(candidates: &[u32], target: f64) -> u32 {
    candidates
        .iter()
        .copied()
        .min_by(|&a, &b| {
            (f64::from(a) - target)
                .abs()
                .total_cmp(&(f64::from(b) - target).abs())
        })
        .unwrap_or(0)
}
