//! The search space of a tail-aware problem (each option's duration on every sampled invocation
//! of its function), the scoring the engine searches it with, and brute force over it.

use std::rc::Rc;

use super::super::engine::{self, Budget, Layout, Scoring};
use super::super::scenarios::Scenarios;
use super::super::{Outcome, Problem, SearchSpace};
use super::{Figures, TailMetrics, admits, better, rank};
use crate::simulate::{Draw, DurationSource};

/// The search space of a tail-aware problem: options with each one's duration on every sampled
/// invocation of its function.
#[derive(Debug, Clone)]
pub struct TailSpace<'a> {
    /// The options (after tail-aware dominance pruning when built with `prune`).
    pub space: SearchSpace<'a>,
    /// The scenarios.
    pub scenarios: Rc<Scenarios>,
    /// Per function, per option, per slot of the function: the duration, ms.
    slot_ms: Vec<Vec<Vec<f64>>>,
    /// Per function, per slot of the function: the fastest duration over its options, ms.
    fastest: Vec<Vec<f64>>,
    /// The search's variables: one per function (percentiles are not additive over units).
    layout: Layout,
}

/// Reusable buffers.
#[derive(Debug, Default, Clone)]
pub struct TailScratch {
    slot: Vec<f64>,
    latencies: Vec<f64>,
    stack: Vec<f64>,
    select: Vec<f64>,
}

impl<'a> TailSpace<'a> {
    /// The options of `full` with their per-invocation durations; `prune` drops dominated ones.
    pub fn new(
        full: &SearchSpace<'a>,
        scenarios: Rc<Scenarios>,
        durations: DurationSource,
        prune: bool,
    ) -> Self {
        let app = full.app;
        let per: Vec<Vec<Vec<f64>>> = full
            .options
            .iter()
            .enumerate()
            .map(|(f, opts)| {
                let slots = scenarios.function_slots(f);
                opts.iter()
                    .map(|o| {
                        let d = Draw::new(&app.functions[f], o.choice(), durations);
                        slots.iter().map(|&s| d.pick(scenarios.draw(s))).collect()
                    })
                    .collect()
            })
            .collect();
        // Tail dominance: the analytic rule, and at least as fast on every sampled invocation (a
        // variant's residual ratios differ, so a faster mean is not enough).
        let faster_everywhere =
            |f: usize, j: usize, i: usize| per[f][j].iter().zip(&per[f][i]).all(|(a, b)| a <= b);
        let (space, kept) = if prune {
            full.prune_with(faster_everywhere)
        } else {
            full.prune_with(|_, _, _| false)
        };
        let slot_ms: Vec<Vec<Vec<f64>>> = kept
            .iter()
            .zip(per)
            .map(|(keep, mut per)| keep.iter().map(|&i| std::mem::take(&mut per[i])).collect())
            .collect();
        let fastest = slot_ms
            .iter()
            .enumerate()
            .map(|(f, per)| {
                (0..scenarios.function_slots(f).len())
                    .map(|k| {
                        per.iter()
                            .map(|v: &Vec<f64>| v[k])
                            .fold(f64::INFINITY, f64::min)
                    })
                    .collect()
            })
            .collect();
        let layout = Layout::new(&space, false);
        TailSpace {
            space,
            scenarios,
            slot_ms,
            fastest,
            layout,
        }
    }

    fn set(&self, slot: &mut [f64], f: usize, durations: &[f64]) {
        for (&s, &d) in self.scenarios.function_slots(f).iter().zip(durations) {
            slot[s as usize] = d;
        }
    }

    /// The nearest-rank p95 and p99 of the scenarios' latencies with the slot durations `slot`
    /// (each computed only when asked for; NaN otherwise).
    fn percentiles(&self, s: &mut TailScratch, p95: bool, p99: bool) -> (f64, f64) {
        self.scenarios
            .latencies(&s.slot, &mut s.latencies, &mut s.stack);
        Self::select(s, p95, p99)
    }

    /// The percentiles of the latencies in `s` (see [`TailSpace::percentiles`]).
    fn select(s: &mut TailScratch, p95: bool, p99: bool) -> (f64, f64) {
        s.select.clear();
        s.select.extend_from_slice(&s.latencies);
        let n = s.select.len();
        let (mut a, mut b) = (f64::NAN, f64::NAN);
        let mut upper = n;
        if p99 {
            let k = rank(0.99, n);
            let (_, x, _) = s.select.select_nth_unstable_by(k, f64::total_cmp);
            b = *x;
            upper = k + 1;
        }
        if p95 {
            let k = rank(0.95, n);
            let (_, x, _) = s.select[..upper].select_nth_unstable_by(k, f64::total_cmp);
            a = *x;
        }
        (a, b)
    }

    /// Every metric of the pick `pick` (option indices into `self.space`).
    pub fn evaluate(&self, pick: &[usize], s: &mut TailScratch) -> TailMetrics {
        s.slot.resize(self.scenarios.slots(), 0.0);
        for (f, &i) in pick.iter().enumerate() {
            let per = &self.slot_ms[f][i];
            for (&slot, &d) in self.scenarios.function_slots(f).iter().zip(per) {
                s.slot[slot as usize] = d;
            }
        }
        let (p95_ms, p99_ms) = self.percentiles(s, true, true);
        TailMetrics {
            metrics: self.space.evaluate(pick),
            p95_ms,
            p99_ms,
        }
    }
}

/// What a tail-aware solver found.
pub type TailOutcome = Outcome<TailMetrics>;

/// Calls `visit` with every configuration of `ts` (pick of option indices, in odometer order)
/// and its metrics; returns how many there were.
pub fn for_each(ts: &TailSpace, mut visit: impl FnMut(&[usize], &TailMetrics)) -> u64 {
    fn go(
        ts: &TailSpace,
        k: usize,
        pick: &mut Vec<usize>,
        s: &mut TailScratch,
        visit: &mut dyn FnMut(&[usize], &TailMetrics),
        count: &mut u64,
    ) {
        if k == pick.len() {
            *count += 1;
            let (p95_ms, p99_ms) = ts.percentiles(s, true, true);
            let t = TailMetrics {
                metrics: ts.space.evaluate(pick),
                p95_ms,
                p99_ms,
            };
            visit(pick, &t);
            return;
        }
        for i in 0..ts.space.options[k].len() {
            pick[k] = i;
            ts.set(&mut s.slot, k, &ts.slot_ms[k][i]);
            go(ts, k + 1, pick, s, visit, count);
        }
    }
    let n = ts.space.options.len();
    let mut count = 0;
    if n > 0 && ts.space.options.iter().all(|o| !o.is_empty()) {
        let mut s = TailScratch {
            slot: vec![0.0; ts.scenarios.slots()],
            ..TailScratch::default()
        };
        go(ts, 0, &mut vec![0; n], &mut s, &mut visit, &mut count);
    }
    count
}

/// The best configuration of `ts` meeting the limits, by visiting every one (build `ts` without
/// pruning for an oracle); ties go to the first in odometer order.
pub fn brute_force(ts: &TailSpace, problem: &Problem) -> TailOutcome {
    let mut best: Option<(Vec<usize>, TailMetrics)> = None;
    let evaluations = for_each(ts, |pick, t| {
        if admits(&problem.constraints, t)
            && best.as_ref().is_none_or(|(_, b)| better(problem, t, b))
        {
            best = Some((pick.to_vec(), *t));
        }
    });
    TailOutcome {
        best,
        proven: true,
        evaluations,
        bound: None,
    }
}

/// The tail scoring: the options' per-invocation durations set into the scenarios' slots, the
/// unassigned functions' slots at their fastest draw.
#[derive(Debug)]
pub struct TailScoring<'t, 'a> {
    ts: &'t TailSpace<'a>,
    scratch: TailScratch,
    full: TailScratch,
    /// `scratch.latencies` holds every scenario's latency with the slots as they are.
    fresh: bool,
}

impl<'t, 'a> TailScoring<'t, 'a> {
    /// Every function at its fastest draw.
    pub fn new(ts: &'t TailSpace<'a>) -> Self {
        let mut slot = vec![0.0; ts.scenarios.slots()];
        for f in 0..ts.space.options.len() {
            ts.set(&mut slot, f, &ts.fastest[f]);
        }
        TailScoring {
            ts,
            scratch: TailScratch {
                slot,
                ..TailScratch::default()
            },
            full: TailScratch::default(),
            fresh: false,
        }
    }
}

impl<'a> Scoring<'a> for TailScoring<'_, 'a> {
    fn space(&self) -> &SearchSpace<'a> {
        &self.ts.space
    }
    fn layout(&self) -> &Layout {
        &self.ts.layout
    }
    fn set(&mut self, f: usize, option: Option<usize>) {
        let durations = match option {
            Some(i) => &self.ts.slot_ms[f][i],
            None => &self.ts.fastest[f],
        };
        self.ts.set(&mut self.scratch.slot, f, durations);
        self.fresh = false;
    }
    fn percentiles(&mut self, p95: bool, p99: bool) -> (f64, f64) {
        if self.fresh {
            TailSpace::select(&mut self.scratch, p95, p99)
        } else {
            self.ts.percentiles(&mut self.scratch, p95, p99)
        }
    }
    fn percentile_at_least(&mut self, p99: bool, t: f64) -> bool {
        // The nearest-rank percentile is the `k`-th smallest latency (from 0): at least `t`
        // when at most `k` latencies are below `t`, known once `n − k` are not.
        let n = self.ts.scenarios.runs();
        if n == 0 {
            let (a, b) = self.percentiles(!p99, p99);
            return if p99 { b >= t } else { a >= t };
        }
        let k = rank(if p99 { 0.99 } else { 0.95 }, n);
        let (mut below, mut rest) = (0usize, 0usize);
        let s = &mut self.scratch;
        let done =
            self.ts
                .scenarios
                .latencies_while(&s.slot, &mut s.latencies, &mut s.stack, |l| {
                    if l < t {
                        below += 1;
                    } else {
                        rest += 1;
                    }
                    rest < n - k
                });
        self.fresh = done;
        !done || below <= k
    }
    fn evaluate(&mut self, pick: &[usize]) -> Figures {
        self.ts.evaluate(pick, &mut self.full)
    }
}

/// Branch and bound over `ts` (see the module documentation): optimal over the scenarios.
pub fn solve_exact(ts: &TailSpace, problem: &Problem, node_limit: u64) -> TailOutcome {
    engine::search(
        &mut TailScoring::new(ts),
        problem,
        Budget { nodes: node_limit },
    )
}
