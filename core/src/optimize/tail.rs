//! Tail-aware problems: limits on the 95th and 99th percentile of end-to-end latency
//! (`max_p95_latency_ms`, `max_p99_latency_ms`) and the objectives `p95_latency` and
//! `p99_latency`, which the analytic model (expected values only) cannot express.
//!
//! **Sample average approximation with common random numbers.** [`Scenarios`] samples `N`
//! executions once from the seed (branch choices, loop counts, one raw draw per invocation); a
//! configuration's percentile is the empirical (nearest-rank) percentile of its latencies over
//! those same `N` executions. Every configuration is compared on the same draws, so differences
//! between configurations are not noise between two samples.
//!
//! **Exact over the scenarios.** With the draws fixed, each scenario's latency is non-decreasing
//! in every invocation's duration, so every order statistic is too. Branch and bound therefore
//! carries over from [`super::exact`]: with some functions assigned and every invocation of the
//! others at the fastest duration any of their options draws for it, the empirical percentiles
//! are lower bounds on every completion. Dominance pruning keeps an option only if no other
//! option of the function is as cheap, as accurate, as fast on average *and* at least as fast on
//! every one of the function's sampled invocations (a variant's residual ratios differ, so a
//! faster mean is not enough). A finished search proves its answer optimal for the sampled
//! scenarios (brute force over the same scenarios is the oracle in tests).
//!
//! **Certification.** The answer is then simulated again, `certify_runs` executions from an
//! independent seed ([`certification_seed`]; exactly `optiserve simulate --seed <that seed>
//! --runs <certify_runs>` on the answer), and each percentile limit is reported with the
//! re-simulated percentile, its 95% confidence interval, and a verdict: `met` (the interval lies
//! within the limit), `within_noise` (the estimate meets the limit, the interval straddles it) or
//! `exceeded` (the estimate misses the limit: the scenarios were too few or unlucky; ask for
//! more).
//!
//! Cost, accuracy and the expected latency (`max_latency_ms`) keep their analytic meaning.

use std::collections::HashMap;
use std::rc::Rc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::engine::{self, Budget, Figures, Layout, Scoring};
use super::scenarios::Scenarios;
use super::{
    Analytic, ConstraintKind, Constraints, Outcome, Problem, SearchSpace, Solution, SolveError,
    SolveOptions, SolverKind, Status, tol,
};
use crate::simulate::{self, Draw, DurationSource, SimulationRequest};

/// Default number of scenarios.
pub const DEFAULT_SCENARIOS: usize = 5_000;
/// Default number of certification runs.
pub const DEFAULT_CERTIFY_RUNS: usize = 100_000;

/// How tail-aware problems sample and certify.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TailSettings {
    /// Executions sampled once and shared by every configuration.
    pub scenarios: usize,
    /// Seed of the scenarios (callers draw one when the user gives none, and report it).
    pub seed: u64,
    /// Where durations come from (as for the simulator).
    pub durations: DurationSource,
    /// Executions of the certification run (0: no certification).
    pub certify_runs: usize,
}

impl Default for TailSettings {
    fn default() -> Self {
        TailSettings {
            scenarios: DEFAULT_SCENARIOS,
            seed: 0,
            durations: DurationSource::Samples,
            certify_runs: DEFAULT_CERTIFY_RUNS,
        }
    }
}

/// The seed of the certification run: SplitMix64's output function on `seed` plus a constant,
/// so that it is a different, well-mixed seed (xoshiro256++ streams from different seeds are
/// independent for practical purposes), kept below 2^53 so that it survives a JavaScript number.
pub fn certification_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) >> 11
}

/// Is a re-simulated percentile within its limit?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole 95% confidence interval is within the limit.
    Met,
    /// The estimate is within the limit but the interval reaches past it.
    WithinNoise,
    /// The estimate is past the limit.
    Exceeded,
}

/// One percentile limit checked on the certification run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TailCheck {
    /// Which limit.
    pub constraint: ConstraintKind,
    /// The limit, ms.
    pub limit_ms: f64,
    /// The re-simulated percentile, ms.
    pub certified_ms: f64,
    /// Its 95% confidence interval, ms.
    pub ci_ms: [f64; 2],
    /// The verdict.
    pub verdict: Verdict,
}

/// The answer re-simulated from an independent seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Certification {
    /// Executions simulated.
    pub runs: usize,
    /// Their seed ([`certification_seed`] of the scenarios' seed).
    pub seed: u64,
    /// Mean latency, ms.
    pub mean_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// Its 95% confidence interval, ms.
    pub p95_ci_ms: [f64; 2],
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Its 95% confidence interval, ms.
    pub p99_ci_ms: [f64; 2],
    /// The percentile limits of the problem, checked.
    pub checks: Vec<TailCheck>,
}

/// What a tail-aware answer adds to a [`Solution`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TailReport {
    /// Scenarios the problem was solved on.
    pub scenarios: usize,
    /// Their seed.
    pub seed: u64,
    /// Where durations came from.
    pub durations: DurationSource,
    /// The answer's 95th percentile over the scenarios, ms.
    pub p95_ms: Option<f64>,
    /// The answer's 99th percentile over the scenarios, ms.
    pub p99_ms: Option<f64>,
    /// The answer re-simulated (absent without an answer or with `certify_runs` = 0).
    pub certification: Option<Certification>,
}

/// Analytic metrics plus the percentiles over the scenarios: the engine's figures.
pub type TailMetrics = Figures;

pub use super::engine::{admits, better, value};

/// Index (0-based) of the nearest-rank `p`-quantile among `n` values.
fn rank(p: f64, n: usize) -> usize {
    ((p * n as f64).ceil() as usize).clamp(1, n) - 1
}

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

/// A tail-aware problem prepared once: the scenarios and both search spaces (shared by every
/// point of a what-if sweep).
#[derive(Debug)]
pub struct Prepared<'a> {
    analytic: Analytic<'a>,
    scenarios: Rc<Scenarios>,
    settings: TailSettings,
    exact_space: Option<TailSpace<'a>>,
    brute_space: Option<TailSpace<'a>>,
    certified: HashMap<Vec<(u32, usize)>, Option<Certification>>,
}

impl<'a> Prepared<'a> {
    /// Samples the scenarios; checks the settings.
    pub fn new(
        app: &'a crate::bundle::Application,
        settings: TailSettings,
    ) -> Result<Prepared<'a>, SolveError> {
        if settings.certify_runs > simulate::MAX_RUNS {
            return Err(SolveError::CertifyRuns(settings.certify_runs));
        }
        let scenarios = Rc::new(Scenarios::sample(app, settings.scenarios, settings.seed)?);
        let analytic = Analytic::new(app);
        Ok(Prepared {
            analytic,
            scenarios,
            settings,
            exact_space: None,
            brute_space: None,
            certified: HashMap::new(),
        })
    }

    /// The tail search space: pruned for the exact solver, complete for brute force.
    fn space(&mut self, prune: bool) -> &TailSpace<'a> {
        let slot = if prune {
            &mut self.exact_space
        } else {
            &mut self.brute_space
        };
        slot.get_or_insert_with(|| {
            TailSpace::new(
                &self.analytic.full,
                Rc::clone(&self.scenarios),
                self.settings.durations,
                prune,
            )
        })
    }

    /// Solves one tail-aware problem with the exact solver or brute force (infeasibility is
    /// explained with the exact solver, on the analytic space for the relaxed problems that no
    /// longer involve a percentile).
    pub fn solve(&mut self, problem: &Problem, options: &SolveOptions) -> Solution {
        let mut solution = self.solve_inner(problem, options);
        solution.latency_model = self.analytic.full.app.latency_model;
        solution
    }

    fn solve_inner(&mut self, problem: &Problem, options: &SolveOptions) -> Solution {
        let brute = options.solver == SolverKind::BruteForce;
        let outcome = if brute {
            brute_force(self.space(false), problem)
        } else {
            solve_exact(self.space(true), problem, options.node_limit)
        };
        let solver = if brute {
            SolverKind::BruteForce
        } else {
            SolverKind::Exact
        };
        // Infeasibility is explained with the exact solver: over the scenarios for the relaxed
        // problems that still involve a percentile, on the analytic space for the others.
        self.space(true);
        let best = outcome.best.as_ref().map(|(_, t)| *t);
        let (solution, choices) = {
            let answered = if brute {
                self.brute_space.as_ref()
            } else {
                self.exact_space.as_ref()
            };
            let (Some(answered), Some(ts)) = (answered, self.exact_space.as_ref()) else {
                return Solution::empty(Status::NotFound, solver, outcome.evaluations);
            };
            let analytic = &self.analytic;
            let choices = outcome
                .best
                .as_ref()
                .map(|(pick, _)| answered.space.choices(pick));
            let explain = |relaxed: &Problem| {
                if relaxed.is_tail() {
                    let o = solve_exact(ts, relaxed, options.node_limit);
                    (o.best.map(|(_, t)| value(relaxed, &t)), o.evaluations)
                } else {
                    let o = analytic.exact(relaxed, options.node_limit);
                    (o.best.map(|(_, m)| relaxed.value(&m)), o.evaluations)
                }
            };
            let solution = engine::finish(&answered.space, problem, outcome, solver, explain);
            (solution, choices)
        };
        let certification = choices.and_then(|c| self.certify(&c, &problem.constraints));
        let settings = self.settings;
        let mut solution = solution;
        solution.tail = Some(TailReport {
            scenarios: settings.scenarios,
            seed: settings.seed,
            durations: settings.durations,
            p95_ms: best.map(|t| t.p95_ms),
            p99_ms: best.map(|t| t.p99_ms),
            certification,
        });
        solution
    }

    /// Re-simulates `choices` from the certification seed (once per configuration) and checks
    /// the percentile limits of `constraints`.
    fn certify(
        &mut self,
        choices: &[crate::bundle::ResolvedChoice],
        constraints: &Constraints,
    ) -> Option<Certification> {
        if self.settings.certify_runs == 0 {
            return None;
        }
        let app = self.analytic.full.app;
        let settings = self.settings;
        let seed = certification_seed(settings.seed);
        let base = self
            .certified
            .entry(choices.iter().map(|c| (c.memory_mb, c.variant)).collect())
            .or_insert_with(|| {
                // The settings were checked in `new`, so the simulator does not refuse them.
                let r = simulate::simulate(
                    app,
                    choices,
                    &SimulationRequest {
                        runs: settings.certify_runs,
                        seed,
                        durations: settings.durations,
                        bins: 1,
                    },
                )
                .ok()?;
                Some(Certification {
                    runs: r.runs,
                    seed,
                    mean_ms: r.mean_ms,
                    p95_ms: r.p95_ms,
                    p95_ci_ms: r.p95_ci_ms,
                    p99_ms: r.p99_ms,
                    p99_ci_ms: r.p99_ci_ms,
                    checks: Vec::new(),
                })
            })
            .clone()?;
        let mut out = base;
        for (kind, limit, estimate, ci) in [
            (
                ConstraintKind::MaxP95LatencyMs,
                constraints.max_p95_latency_ms,
                out.p95_ms,
                out.p95_ci_ms,
            ),
            (
                ConstraintKind::MaxP99LatencyMs,
                constraints.max_p99_latency_ms,
                out.p99_ms,
                out.p99_ci_ms,
            ),
        ] {
            if let Some(limit) = limit {
                let verdict = if estimate > limit + tol(limit) {
                    Verdict::Exceeded
                } else if ci[1] > limit + tol(limit) {
                    Verdict::WithinNoise
                } else {
                    Verdict::Met
                };
                out.checks.push(TailCheck {
                    constraint: kind,
                    limit_ms: limit,
                    certified_ms: estimate,
                    ci_ms: ci,
                    verdict,
                });
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Objective;
    use super::*;
    use crate::bundle::{Application, Bundle, ProfileSample};
    use proptest::prelude::*;

    fn app(text: &str) -> Application {
        Bundle::from_json(text).unwrap().validate().unwrap()
    }

    fn app3() -> Application {
        app(include_str!("../../../examples/app3.bundle.json"))
    }

    fn media() -> Application {
        app(include_str!("../../../examples/media-pipeline.bundle.json"))
    }

    /// Gives every variant residual dispersion: samples at its first memory size at
    /// `model × (1 ± spread)`, with a variant-specific spread so that variants' ratios differ.
    fn with_dispersion(mut a: Application) -> Application {
        for f in &mut a.functions {
            let m = f64::from(f.memory_mb[0]);
            for (v, variant) in f.variants.iter_mut().enumerate() {
                let base = variant.model.duration_ms(m);
                let spread = 0.1 + 0.15 * v as f64;
                variant.samples = [-1.0, -0.3, 0.0, 0.2, 0.5, 1.0, 2.0]
                    .iter()
                    .map(|k| ProfileSample {
                        memory_mb: m,
                        duration_ms: base * (1.0 + spread * k).max(0.05),
                        billed_duration_ms: None,
                        cold: false,
                        max_memory_used_mb: None,
                        init_duration_ms: None,
                    })
                    .collect();
            }
        }
        a
    }

    /// Problems spanning each quantity's range over `all` (every configuration's metrics):
    /// percentile objectives with analytic limits, and analytic objectives with percentile limits.
    fn problems(all: &[(Vec<usize>, TailMetrics)]) -> Vec<Problem> {
        let mut lo = [f64::INFINITY; 4];
        let mut hi = [f64::NEG_INFINITY; 4];
        for (_, t) in all {
            for (i, x) in [
                t.p95_ms,
                t.p99_ms,
                t.metrics.cost_usd_per_million,
                t.metrics.accuracy,
            ]
            .into_iter()
            .enumerate()
            {
                lo[i] = lo[i].min(x);
                hi[i] = hi[i].max(x);
            }
        }
        let at = |i: usize, k: f64| lo[i] + (hi[i] - lo[i]) * k;
        let mut out = Vec::new();
        for k in [0.0, 0.1, 0.3, 0.7, 1.0] {
            out.push(Problem {
                objective: Objective::P95Latency,
                constraints: Constraints {
                    max_cost_usd_per_million: Some(at(2, k)),
                    min_accuracy: Some(at(3, 1.0 - k)),
                    ..Default::default()
                },
            });
            out.push(Problem {
                objective: Objective::P99Latency,
                constraints: Constraints {
                    max_cost_usd_per_million: Some(at(2, 1.0 - k)),
                    ..Default::default()
                },
            });
            out.push(Problem {
                objective: Objective::Cost,
                constraints: Constraints {
                    max_p95_latency_ms: Some(at(0, k)),
                    min_accuracy: Some(at(3, 0.5)),
                    ..Default::default()
                },
            });
            out.push(Problem {
                objective: Objective::Accuracy,
                constraints: Constraints {
                    max_p99_latency_ms: Some(at(1, k)),
                    max_cost_usd_per_million: Some(at(2, 0.6)),
                    ..Default::default()
                },
            });
            out.push(Problem {
                objective: Objective::Latency,
                constraints: Constraints {
                    max_p95_latency_ms: Some(at(0, k)),
                    max_p99_latency_ms: Some(at(1, 0.8)),
                    ..Default::default()
                },
            });
        }
        out
    }

    /// The exact solver on the pruned tail space equals brute force (every configuration, same
    /// scenarios, same tie rule as [`brute_force`]).
    fn exact_equals_brute(a: &Application, runs: usize, seed: u64) {
        let scenarios = Rc::new(Scenarios::sample(a, runs, seed).unwrap());
        let full = SearchSpace::full(a);
        let complete = TailSpace::new(&full, Rc::clone(&scenarios), DurationSource::Samples, false);
        let pruned = TailSpace::new(&full, scenarios, DurationSource::Samples, true);
        let mut all = Vec::new();
        for_each(&complete, |pick, t| all.push((pick.to_vec(), *t)));
        for p in problems(&all) {
            let mut brute: Option<&TailMetrics> = None;
            for (_, t) in &all {
                if admits(&p.constraints, t) && brute.is_none_or(|b| better(&p, t, b)) {
                    brute = Some(t);
                }
            }
            let e = solve_exact(&pruned, &p, u64::MAX);
            assert!(e.proven);
            match (brute, &e.best) {
                (None, None) => {}
                (Some(bt), Some((pick, et))) => {
                    let (bv, ev) = (value(&p, bt), value(&p, et));
                    assert!(
                        (bv - ev).abs() <= 1e-9 * bv.abs().max(1.0),
                        "{p:?}: brute {bt:?} exact {et:?}"
                    );
                    let again = pruned.evaluate(pick, &mut TailScratch::default());
                    assert_eq!(&again, et);
                    assert!(admits(&p.constraints, &again), "{p:?}: {again:?}");
                }
                (b, e) => panic!("{p:?}: brute {b:?} vs exact {e:?}"),
            }
        }
        // `brute_force` itself agrees with the list on one problem.
        let p = problems(&all)[0];
        let b = brute_force(&complete, &p);
        assert_eq!(b.evaluations as usize, all.len());
    }

    #[test]
    fn exact_equals_brute_force_over_the_same_scenarios_on_app3() {
        exact_equals_brute(&app3(), 400, 1);
        exact_equals_brute(&with_dispersion(app3()), 400, 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn exact_equals_brute_force_over_the_same_scenarios_on_random_workflows(
            a in super::super::testing::app(), seed in 0u64..1000,
        ) {
            exact_equals_brute(&with_dispersion(a), 200, seed);
        }
    }

    #[test]
    fn tail_pruning_keeps_an_option_of_every_function() {
        let a = with_dispersion(app3());
        let scenarios = Rc::new(Scenarios::sample(&a, 500, 3).unwrap());
        let full = SearchSpace::full(&a);
        let pruned = TailSpace::new(&full, scenarios, DurationSource::Samples, true);
        let analytic = full.pruned();
        for (f, kept) in pruned.space.options.iter().enumerate() {
            // Tail dominance is stricter than analytic dominance: it keeps at least as many.
            assert!(kept.len() >= analytic.options[f].len(), "function {f}");
        }
    }

    fn settings(seed: u64) -> SolveOptions {
        SolveOptions {
            tail: TailSettings {
                scenarios: 5_000,
                seed,
                durations: DurationSource::Samples,
                certify_runs: 100_000,
            },
            ..SolveOptions::default()
        }
    }

    #[test]
    fn the_answers_percentiles_are_the_simulators_for_the_same_seed() {
        let a = media();
        let options = settings(17);
        let p = Problem {
            objective: Objective::P95Latency,
            constraints: Constraints {
                max_cost_usd_per_million: Some(600.0),
                ..Default::default()
            },
        };
        let s = super::super::solve(&a, &p, &options).unwrap();
        assert_eq!(s.status, Status::Optimal);
        let tail = s.tail.unwrap();
        let choices = a.resolve(s.config.as_ref().unwrap(), "$").unwrap();
        let r = simulate::simulate(
            &a,
            &choices,
            &SimulationRequest {
                runs: 5_000,
                seed: 17,
                durations: DurationSource::Samples,
                bins: 10,
            },
        )
        .unwrap();
        assert_eq!(tail.p95_ms, Some(r.p95_ms));
        assert_eq!(tail.p99_ms, Some(r.p99_ms));
        // The certification is `simulate --seed certification_seed(17) --runs 100000`.
        let c = tail.certification.unwrap();
        assert_eq!(c.seed, certification_seed(17));
        let r = simulate::simulate(
            &a,
            &choices,
            &SimulationRequest {
                runs: 100_000,
                seed: c.seed,
                durations: DurationSource::Samples,
                bins: 10,
            },
        )
        .unwrap();
        assert_eq!((c.p95_ms, c.p95_ci_ms), (r.p95_ms, r.p95_ci_ms));
        // No configuration within the budget has a lower p95 over the scenarios than the answer:
        // the deployed configuration, for one, is not better.
        let deployed = simulate::simulate(
            &a,
            &a.deployed,
            &SimulationRequest {
                runs: 5_000,
                seed: 17,
                durations: DurationSource::Samples,
                bins: 10,
            },
        )
        .unwrap();
        if deployed.analytic_cost_usd_per_million <= 600.0 {
            assert!(tail.p95_ms.unwrap() <= deployed.p95_ms);
        }
    }

    #[test]
    fn p95_limits_hold_on_re_simulation_within_the_confidence_interval() {
        let a = media();
        let mut checked = 0;
        for (i, limit) in [9_000.0, 11_000.0, 14_000.0, 20_000.0]
            .into_iter()
            .enumerate()
        {
            let p = Problem {
                objective: Objective::Cost,
                constraints: Constraints {
                    max_p95_latency_ms: Some(limit),
                    min_accuracy: Some(0.5),
                    ..Default::default()
                },
            };
            let s = super::super::solve(&a, &p, &settings(100 + i as u64)).unwrap();
            if s.status == Status::Infeasible {
                continue;
            }
            assert_eq!(s.status, Status::Optimal, "{limit}");
            let tail = s.tail.unwrap();
            assert!(tail.p95_ms.unwrap() <= limit);
            let c = tail.certification.unwrap();
            let check = &c.checks[0];
            assert_eq!(check.constraint, ConstraintKind::MaxP95LatencyMs);
            // The true p95 is within the limit as far as an independent run can tell: the
            // confidence interval reaches down to the limit.
            assert!(check.ci_ms[0] <= limit, "{limit}: {c:?}");
            assert_ne!(check.verdict, Verdict::Exceeded, "{limit}: {c:?}");
            checked += 1;
        }
        assert!(checked >= 3, "only {checked} feasible limits");
    }

    #[test]
    fn infeasible_percentile_limits_say_how_far() {
        let a = media();
        let options = settings(5);
        let fastest = super::super::solve(
            &a,
            &Problem {
                objective: Objective::P95Latency,
                constraints: Constraints::default(),
            },
            &options,
        )
        .unwrap();
        let best = fastest.tail.unwrap().p95_ms.unwrap();
        let p = Problem {
            objective: Objective::Cost,
            constraints: Constraints {
                max_p95_latency_ms: Some(best * 0.9),
                ..Default::default()
            },
        };
        let s = super::super::solve(&a, &p, &options).unwrap();
        assert_eq!(s.status, Status::Infeasible);
        let why = s.infeasible.unwrap();
        assert_eq!(why.constraint, ConstraintKind::MaxP95LatencyMs);
        assert_eq!(why.best_reachable, Some(best));
        assert!(
            why.message.starts_with(&format!(
                "max_p95_latency_ms = {} ms cannot be met: the lowest p95 latency over the scenarios reachable is {best} ms",
                best * 0.9
            )),
            "{}",
            why.message
        );
        assert!(s.tail.unwrap().certification.is_none());
    }

    #[test]
    fn a_tight_cost_limit_beside_a_percentile_limit_is_explained_too() {
        let a = app3();
        let options = settings(9);
        let p = Problem {
            objective: Objective::P95Latency,
            constraints: Constraints {
                max_cost_usd_per_million: Some(1.0),
                max_p95_latency_ms: Some(1e9),
                ..Default::default()
            },
        };
        let s = super::super::solve(&a, &p, &options).unwrap();
        assert_eq!(s.status, Status::Infeasible);
        let why = s.infeasible.unwrap();
        assert_eq!(why.constraint, ConstraintKind::MaxCostUsdPerMillion);
        assert!(why.best_reachable.unwrap() > 1.0);
    }

    #[test]
    fn greedy_and_missing_settings_are_refused() {
        let a = app3();
        let p = Problem {
            objective: Objective::P95Latency,
            constraints: Constraints::default(),
        };
        let greedy = SolveOptions {
            solver: SolverKind::Greedy,
            ..settings(1)
        };
        assert_eq!(
            super::super::solve(&a, &p, &greedy).unwrap_err(),
            SolveError::GreedyTail
        );
        let mut zero = settings(1);
        zero.tail.scenarios = 0;
        assert_eq!(
            super::super::solve(&a, &p, &zero).unwrap_err().to_string(),
            "scenarios: must be from 1 to 1000000, found 0"
        );
        let r: super::super::OptimizeRequest =
            serde_json::from_str(r#"{"objective": "p95_latency"}"#).unwrap();
        assert!(r.parts().unwrap_err().starts_with("seed: "));
        let r: super::super::OptimizeRequest =
            serde_json::from_str(r#"{"objective": "latency"}"#).unwrap();
        assert!(r.parts().is_ok());
    }

    #[test]
    fn certification_seeds_differ_from_their_source() {
        for s in [0, 1, 2, u64::MAX] {
            assert_ne!(certification_seed(s), s);
            assert!(certification_seed(s) < 1 << 53);
        }
        assert_ne!(certification_seed(1), certification_seed(2));
    }
}
