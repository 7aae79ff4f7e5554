//! The thesis' greedy heuristics (§4.4): Algorithm 1 (minimum feasible model configuration),
//! Algorithm 2 (performance optimization), the cost optimizer of §4.4.2 and the accuracy optimizer
//! of §4.4.3, followed by an optional local-search polish.
//!
//! # The heuristics
//!
//! Critical paths are the Start → End simple paths of the de-looped graph
//! ([`Workflow::simple_paths`](crate::workflow::Workflow::simple_paths)), ranked by
//! `W(s) = TP(s) · Σ ET(f)·NI(f)` with the *current* durations (re-ranked before every step, as
//! Algorithms 1 and 2 update `ET` after each move). A counter `t` picks the `t`-th path of that
//! ranking; it only grows when the path offers no move, is never reset after a move, and the
//! phase ends after the last path (or when its loop condition fails).
//!
//! - **Latency objective** (min EET s.t. cost ≤ B, EAS ≥ A): start from the least accurate variant of
//!   every function at its minimum memory. Algorithm 1 (most critical path first): upgrade one
//!   function's variant at its current memory, scored
//!   `BCR_acc = w·min(EAS' − A, 0) − ΔC` among the moves with `C' ≤ B`, while `B − C > 0`, the
//!   accuracy floor is not met and paths remain. Then Algorithm 2: change one function's memory
//!   (same variant) on the `t`-th critical path; a move with `ΔEET ≤ 0 ∧ ΔC < 0` is taken first
//!   (largest cost reduction), else the best move with `ΔEET < 0 ∧ C' ≤ B` by the BCR rule, while
//!   `B − C > 0`.
//! - **Cost objective** (min cost s.t. EET ≤ L, EAS ≥ A): start from the least accurate variants at
//!   maximum memory; Algorithm 1 with the time increase as its cost metric (`−ΔEET` in `BCR_acc`,
//!   moves kept within `EET' ≤ L`); then memory moves on the *least* critical path first (the
//!   counter walks towards the most critical one): a move with `ΔEET < 0 ∧ ΔC ≤ 0` is taken first
//!   (largest time reduction), else the best move with `ΔC < 0 ∧ EET' ≤ L` by the inverted BCR
//!   rule, while `L − EET > 0`.
//! - **Accuracy objective** (max EAS s.t. EET ≤ L, cost ≤ B): the least accurate variants, with the
//!   memories chosen by the cost optimizer's memory phase; then, most critical path first, upgrade a
//!   (variant, memory) pair of one function on the path by
//!   `BCR_mem-acc = ΔEAS / (ΔC⁺/(C_max − C_min) + ΔEET⁺/(EET_max − EET_min))` among the moves that
//!   keep `EET' ≤ L` and `C' ≤ B`. The normalisers are the true extremes over the grid: all-fastest
//!   and all-slowest options for latency, the sums of per-function cheapest and dearest options plus
//!   the fixed cost for cost.
//!
//! BCR rules (for memory moves): [`Bcr::Max`] ranks by `|ΔEET / ΔC|` (latency) or `|ΔC / ΔEET|`
//! (cost), a free direction (`ΔC ≤ 0`, resp. `ΔEET ≤ 0`) counting as infinite. [`Bcr::Slope`]
//! first removes the memories of each (function, variant) whose latency–memory slope is too flat,
//! then ranks by the largest gain (time for latency, cost for cost).
//!
//! # Honesty
//!
//! A constraint the objective's own algorithm does not look at (e.g. a latency limit on the latency
//! objective, or an accuracy floor that Algorithm 1 could not reach) is checked at the end: the
//! answer is returned only when [`Constraints::admits`](super::Constraints::admits) it, otherwise
//! `best` is `None`. Unlike the authors' artifact, budget accounting uses the evaluated cost of the
//! whole configuration (an upgrade is never charged twice), and an unreachable accuracy floor is
//! reported as "not found", not returned. `proven` is always `false`.
//!
//! # Polish (not in the thesis)
//!
//! [`solve`] runs a local search after the faithful phases ([`solve_with`] with `polish = false`
//! gives the faithful heuristics alone). It only moves functions to options that no other option
//! of the same function beats in duration, cost and accuracy at once (the rule of
//! [`SearchSpace::pruned`]; by monotonicity such a move never loses anything).
//!
//! 1. *Repair* — when the heuristics' answer breaks a constraint: take the option change of one
//!    function that most lowers the total violation (each missed limit's excess divided by the
//!    quantity's range over the grid), or, when no single change lowers it, the best change of two
//!    functions at once; repeat until feasible or stuck.
//! 2. *Improve* — from a feasible configuration: take the feasible change of one function that most
//!    improves the objective, or, when there is none, the best feasible change of two functions;
//!    repeat until neither exists. (Two-function changes are skipped when that neighbourhood has
//!    more than [`PAIR_SCAN_LIMIT`] configurations.)
//! 3. *Kicks* — for each function and each of its other variants: switch the best configuration
//!    found to that variant (same memory, or the nearest), then repair and improve with that
//!    function's variant locked; a feasible result better than the best configuration (or, while
//!    none is feasible, any feasible result) replaces it, is improved with the lock lifted, and
//!    the kicks start again. At most [`KICK_ROUNDS`] rounds.
//!
//! Every step strictly lowers the violation or strictly improves the objective, so the polish
//! terminates; it never returns a configuration it has not checked against every constraint.
//!
//! # Choices where the text is ambiguous
//!
//! 1. `δ_min` is the least accurate variant of each function (ties: the cheaper one at the start
//!    memory, then bundle order); "minimum / maximum memory" are the smallest / largest memory
//!    option of that variant. Variants are grouped by `variant` and sorted by memory here.
//! 2. Critical paths are re-ranked with the current durations before every step; the counter `t`
//!    is never reset after a move (as in the artifact). At most 1024 paths are considered.
//! 3. Algorithm 1 considers only variants *more accurate* than the function's current one (at the
//!    same memory, or the nearest one if the variant lacks it). A move that does not raise EAS is
//!    a candidate only when no move on the path raises it (with `w = 100` in raw units, the
//!    formula otherwise prefers a cheap upgrade that adds nothing, e.g. one side of a `min(…)`;
//!    such a move is still needed as a stepping stone when no single upgrade helps). Ties: largest
//!    `BCR_acc`, then smallest Δ(cost or time), then largest ΔEAS, then path order.
//!    `w` = [`GreedyOptions::accuracy_weight`] in raw units (score units against USD per million,
//!    or against ms for the cost objective).
//! 4. Algorithm 1 always walks paths most critical first, also inside the cost objective; only the
//!    cost objective's memory phase walks least critical first.
//! 5. Memory moves may go up or down (the thesis iterates over all of `MLIST`); the "free" moves
//!    (`ΔEET ≤ 0 ∧ ΔC < 0` for latency, `ΔEET < 0 ∧ ΔC ≤ 0` for cost) come first. Ranking, each
//!    list ending with the smaller memory, then path order —
//!    latency: free moves by largest cost reduction, then largest time reduction; BCR_max by
//!    `|ΔEET/ΔC|`, then largest time reduction, then smallest ΔC; BCR_slope by largest time
//!    reduction, then smallest ΔC. Cost: free moves by largest time reduction, then largest cost
//!    reduction; BCR_max by `|ΔC/ΔEET|`, then largest cost reduction, then smallest ΔEET;
//!    BCR_slope by largest cost reduction, then smallest ΔEET (the artifact's tie rules).
//! 6. [`Bcr::Slope`]: for each (function, variant) the least-squares slope `β` of duration against
//!    memory is computed over its memory options; a memory `m_{v+1}` stays selectable when the
//!    segment leading to it falls at least `BCR_th` times as steeply, i.e.
//!    `(ET(m_{v+1}) − ET(m_v)) / (m_{v+1} − m_v) ≤ BCR_th · β`; the smallest memory always stays.
//!    Only memory moves are filtered; the (variant, memory) upgrades of the accuracy objective are
//!    not.
//! 7. `BCR_mem-acc` uses the positive parts of ΔC and ΔEET ("increases"); a move that increases
//!    neither has an infinite ratio. Only moves with ΔEAS > 0 are candidates ("positive increase").
//!    Ties: largest ratio, then largest ΔEAS, then smallest ΔC, then smallest ΔEET, then path order.
//! 8. Loop conditions `B − C > 0` / `L − EET > 0` are kept as in the thesis (a phase does not start
//!    when there is no surplus); a missing constraint is an infinite limit.
//! 9. Constraints are compared with the same relative tolerance as
//!    [`Constraints::admits`](super::Constraints::admits).

use super::space::Scratch;
use super::{Bcr, GreedyOptions, Metrics, Objective, Outcome, Problem, SearchSpace, tol};

/// Most critical paths considered.
const PATH_LIMIT: usize = 1024;
/// Safety cap on the moves of one phase (every phase terminates anyway).
const MOVE_LIMIT: usize = 100_000;
/// Cap on the polish's kick rounds (each successful kick strictly improves the answer).
pub const KICK_ROUNDS: usize = 64;
/// Largest two-function neighbourhood (configurations) the polish scans in one step.
pub const PAIR_SCAN_LIMIT: f64 = 4_000_000.0;

/// Which quantity a memory phase optimizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// Lower latency, spending cost.
    Latency,
    /// Lower cost, spending latency.
    Cost,
}

/// Solves `problem` with the thesis' heuristics, followed by the polish when `options.polish`.
pub fn solve(space: &SearchSpace, problem: &Problem, options: &GreedyOptions) -> Outcome {
    solve_with(space, problem, options, options.polish)
}

/// Solves `problem` with the thesis' heuristics; `polish` adds the local search of the module doc.
/// `best` is `None` unless the configuration found meets every constraint.
pub fn solve_with(
    space: &SearchSpace,
    problem: &Problem,
    options: &GreedyOptions,
    polish: bool,
) -> Outcome {
    run(space, problem, options, if polish { 2 } else { 0 })
}

/// `polish`: 0 none, 1 local search only, 2 local search and kicks.
fn run(space: &SearchSpace, problem: &Problem, options: &GreedyOptions, polish: u8) -> Outcome {
    if space.options.is_empty() || space.options.iter().any(Vec::is_empty) {
        return Outcome {
            best: None,
            proven: false,
            evaluations: 0,
            bound: None,
        };
    }
    let mut g = Greedy::new(space, problem, options);
    // The percentile objectives never reach the heuristics (`solve` refuses them); the expected
    // latency is their closest analytic stand-in.
    let mut state = match problem.objective {
        Objective::Latency | Objective::P95Latency | Objective::P99Latency => g.latency_objective(),
        Objective::Cost => g.cost_objective(),
        Objective::Accuracy => g.accuracy_objective(),
    };
    if polish > 0 {
        state = g.polish(state, polish > 1);
    }
    let best = problem
        .constraints
        .admits(&state.m)
        .then_some((state.pick, state.m));
    Outcome {
        best,
        proven: false,
        evaluations: g.evaluations,
        bound: None,
    }
}

/// A configuration and its metrics.
#[derive(Debug, Clone)]
struct State {
    pick: Vec<usize>,
    m: Metrics,
}

/// The options of one variant of one function, by ascending memory.
#[derive(Debug, Clone)]
struct Group {
    accuracy: f64,
    options: Vec<usize>,
}

/// A candidate move: function `f` takes option `opt`, giving `m`; `key` is compared
/// lexicographically, larger is better (the first candidate wins full ties: path order).
#[derive(Debug, Clone, Copy)]
struct Cand<const K: usize> {
    f: usize,
    opt: usize,
    m: Metrics,
    key: [f64; K],
}

fn key_better<const K: usize>(a: &[f64; K], b: &[f64; K]) -> bool {
    for (x, y) in a.iter().zip(b) {
        match x.total_cmp(y) {
            std::cmp::Ordering::Greater => return true,
            std::cmp::Ordering::Less => return false,
            std::cmp::Ordering::Equal => {}
        }
    }
    false
}

fn offer<const K: usize>(best: &mut Option<Cand<K>>, c: Cand<K>) {
    if best.as_ref().is_none_or(|b| key_better(&c.key, &b.key)) {
        *best = Some(c);
    }
}

fn within(value: f64, limit: Option<f64>) -> bool {
    limit.is_none_or(|l| value <= l + tol(l))
}

fn finite(m: &Metrics) -> bool {
    m.latency_ms.is_finite() && m.cost_usd_per_million.is_finite() && m.accuracy.is_finite()
}

/// `x / range`, or `x` when the range is empty.
fn norm(x: f64, range: f64) -> f64 {
    if range > 0.0 { x / range } else { x }
}

struct Greedy<'s, 'a> {
    space: &'s SearchSpace<'a>,
    problem: &'s Problem,
    weight: f64,
    bcr: Bcr,
    ni: Vec<f64>,
    /// Critical-path candidates: `TP(s)` and the distinct functions of the path, in order.
    paths: Vec<(f64, Vec<usize>)>,
    /// Per function, its variants.
    groups: Vec<Vec<Group>>,
    /// Per function and option, the index of its group.
    group_of: Vec<Vec<usize>>,
    /// Per function and option, whether memory moves may select it (the slope filter).
    retained: Vec<Vec<bool>>,
    /// Per function and option, whether no other option of the function is at least as fast,
    /// as cheap and as accurate (the rule of [`SearchSpace::pruned`]); the polish only moves to
    /// these.
    useful: Vec<Vec<bool>>,
    /// True ranges over the grid: latency, cost, accuracy.
    range: (f64, f64, f64),
    scratch: Scratch,
    evaluations: u64,
}

impl<'s, 'a> Greedy<'s, 'a> {
    fn new(space: &'s SearchSpace<'a>, problem: &'s Problem, options: &GreedyOptions) -> Self {
        let n = space.options.len();
        let ni: Vec<f64> = (0..n)
            .map(|f| {
                space
                    .app
                    .workflow
                    .invocations()
                    .get(f)
                    .copied()
                    .unwrap_or(1.0)
            })
            .collect();
        let paths = space
            .app
            .workflow
            .simple_paths(PATH_LIMIT)
            .into_iter()
            .map(|(tp, fs)| {
                let mut seen = vec![false; n];
                let fs = fs
                    .into_iter()
                    .filter(|&f| f < n && !std::mem::replace(&mut seen[f], true))
                    .collect::<Vec<_>>();
                (tp, fs)
            })
            .filter(|(_, fs)| !fs.is_empty())
            .collect();

        let mut groups = Vec::with_capacity(n);
        let mut group_of = Vec::with_capacity(n);
        for opts in &space.options {
            let mut variants: Vec<usize> = opts.iter().map(|o| o.variant).collect();
            variants.sort_unstable();
            variants.dedup();
            let mut gs = Vec::with_capacity(variants.len());
            let mut of = vec![0; opts.len()];
            for (gi, &v) in variants.iter().enumerate() {
                let mut idx: Vec<usize> =
                    (0..opts.len()).filter(|&i| opts[i].variant == v).collect();
                idx.sort_by(|&i, &j| opts[i].memory_mb.cmp(&opts[j].memory_mb).then(i.cmp(&j)));
                for &i in &idx {
                    of[i] = gi;
                }
                let accuracy = idx.first().map_or(f64::NAN, |&i| opts[i].accuracy);
                gs.push(Group {
                    accuracy,
                    options: idx,
                });
            }
            groups.push(gs);
            group_of.push(of);
        }

        let retained = space
            .options
            .iter()
            .zip(&groups)
            .map(|(opts, gs)| {
                let mut keep = vec![true; opts.len()];
                if let Bcr::Slope { threshold } = options.bcr {
                    for g in gs {
                        let pts: Vec<(f64, f64)> = g
                            .options
                            .iter()
                            .map(|&i| (f64::from(opts[i].memory_mb), opts[i].duration_ms))
                            .collect();
                        let beta = least_squares_slope(&pts);
                        for (k, w) in g.options.windows(2).enumerate() {
                            let (m0, d0) = pts[k];
                            let (m1, d1) = pts[k + 1];
                            let slope = if m1 > m0 { (d1 - d0) / (m1 - m0) } else { 0.0 };
                            keep[w[1]] = slope <= threshold * beta;
                        }
                    }
                }
                keep
            })
            .collect();

        let useful = {
            let (_, kept) = space.prune_with(|_, _, _| true);
            kept.iter()
                .zip(&space.options)
                .map(|(keep, opts)| {
                    let mut u = vec![false; opts.len()];
                    for &i in keep {
                        u[i] = true;
                    }
                    u
                })
                .collect()
        };

        let (best, worst) = super::engine::bounds::extremes(space);
        let range = (
            worst.latency_ms - best.latency_ms,
            worst.cost_usd_per_million - best.cost_usd_per_million,
            best.accuracy - worst.accuracy,
        );

        Greedy {
            space,
            problem,
            weight: options.accuracy_weight,
            bcr: options.bcr,
            ni,
            paths,
            groups,
            group_of,
            retained,
            useful,
            range,
            scratch: Scratch::default(),
            evaluations: 0,
        }
    }

    fn opt(&self, f: usize, i: usize) -> &super::OptionPoint {
        &self.space.options[f][i]
    }

    fn eval(&mut self, pick: &[usize]) -> Metrics {
        self.evaluations += 1;
        self.space.evaluate_with(pick, &mut self.scratch)
    }

    /// Metrics when function `f` takes option `i` (the pick is restored).
    fn trial(&mut self, pick: &mut [usize], f: usize, i: usize) -> Metrics {
        let old = pick[f];
        pick[f] = i;
        let m = self.eval(pick);
        pick[f] = old;
        m
    }

    /// Path indices by decreasing `W(s)` under `pick` (ties: enumeration order).
    fn ranked(&self, pick: &[usize]) -> Vec<usize> {
        let mut w: Vec<(usize, f64)> = self
            .paths
            .iter()
            .enumerate()
            .map(|(p, (tp, fs))| {
                let s: f64 = fs
                    .iter()
                    .map(|&f| self.opt(f, pick[f]).duration_ms * self.ni[f])
                    .sum();
                (p, tp * s)
            })
            .collect();
        w.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        w.into_iter().map(|(p, _)| p).collect()
    }

    /// The functions of the `t`-th path of the ranking (from the least critical when `reverse`).
    fn path(&self, pick: &[usize], t: usize, reverse: bool) -> Vec<usize> {
        let order = self.ranked(pick);
        let k = if reverse {
            order.len().checked_sub(t + 1)
        } else {
            Some(t)
        };
        k.and_then(|k| order.get(k))
            .and_then(|&p| self.paths.get(p))
            .map(|(_, fs)| fs.clone())
            .unwrap_or_default()
    }

    /// `δ_min` everywhere, at the smallest (or largest) memory.
    fn start(&mut self, high_memory: bool) -> State {
        let pick: Vec<usize> = (0..self.groups.len())
            .map(|f| {
                let at = |g: &Group| {
                    if high_memory {
                        g.options.last()
                    } else {
                        g.options.first()
                    }
                    .copied()
                };
                let mut best: Option<(f64, f64, usize)> = None;
                for g in &self.groups[f] {
                    let Some(i) = at(g) else { continue };
                    let cost = self.opt(f, i).cost;
                    if best.is_none_or(|(a, c, _)| g.accuracy < a || (g.accuracy == a && cost < c))
                    {
                        best = Some((g.accuracy, cost, i));
                    }
                }
                best.map_or(0, |(_, _, i)| i)
            })
            .collect();
        let m = self.eval(&pick);
        State { pick, m }
    }

    /// The option of group `g` of `f` at `memory_mb`, or the nearest memory (ties: the smaller).
    fn option_at(&self, f: usize, g: usize, memory_mb: u32) -> Option<usize> {
        self.groups[f][g].options.iter().copied().min_by_key(|&i| {
            let m = self.opt(f, i).memory_mb;
            (m.abs_diff(memory_mb), m)
        })
    }

    // ---- Algorithm 1 ----

    /// MinimumFeasibleModelConfig: upgrade variants at their current memory until the accuracy
    /// floor holds. `on_time`: the "cost" of a move is its time increase, limited by the latency
    /// limit (cost objective); otherwise its cost increase, limited by the budget.
    fn models_phase(&mut self, s: &mut State, on_time: bool) {
        let c = self.problem.constraints;
        let Some(floor) = c.min_accuracy else {
            return;
        };
        let limit = if on_time {
            c.max_latency_ms
        } else {
            c.max_cost_usd_per_million
        };
        let val = |m: &Metrics| {
            if on_time {
                m.latency_ms
            } else {
                m.cost_usd_per_million
            }
        };
        let nsp = self.paths.len();
        let mut t = 0;
        let mut moves = 0;
        while t < nsp
            && moves < MOVE_LIMIT
            && s.m.accuracy < floor - tol(floor)
            && limit.is_none_or(|l| l - val(&s.m) > 0.0)
        {
            let mut best: Option<Cand<4>> = None;
            for f in self.path(&s.pick, t, false) {
                let cur = *self.opt(f, s.pick[f]);
                for g in 0..self.groups[f].len() {
                    if self.groups[f][g].accuracy <= cur.accuracy {
                        continue;
                    }
                    let Some(i) = self.option_at(f, g, cur.memory_mb) else {
                        continue;
                    };
                    let m = self.trial(&mut s.pick, f, i);
                    if !finite(&m) || !within(val(&m), limit) {
                        continue;
                    }
                    let delta = val(&m) - val(&s.m);
                    let score = self.weight * (m.accuracy - floor).min(0.0) - delta;
                    let gain = m.accuracy - s.m.accuracy;
                    let raises = if gain > 0.0 { 1.0 } else { 0.0 };
                    offer(
                        &mut best,
                        Cand {
                            f,
                            opt: i,
                            m,
                            key: [raises, score, -delta, gain],
                        },
                    );
                }
            }
            match best {
                Some(b) => {
                    s.pick[b.f] = b.opt;
                    s.m = b.m;
                    moves += 1;
                }
                None => t += 1,
            }
        }
    }

    /// Memory moves of function `f` (same variant, other memory, kept by the slope filter).
    fn memory_moves(&self, f: usize, cur: usize) -> Vec<usize> {
        let g = self.group_of[f][cur];
        self.groups[f][g]
            .options
            .iter()
            .copied()
            .filter(|&i| i != cur && self.retained[f][i])
            .collect()
    }

    // ---- Algorithm 2 and §4.4.2: memory moves ----

    /// Performance phase (Algorithm 2): memory moves on the most critical path first, within the
    /// budget.
    fn faster_phase(&mut self, s: &mut State) {
        self.memory_phase(s, Goal::Latency);
    }

    /// Cost phase (§4.4.2): memory moves on the least critical path first, within the latency
    /// limit.
    fn cheaper_phase(&mut self, s: &mut State) {
        self.memory_phase(s, Goal::Cost);
    }

    /// The two memory phases are mirror images: one gains latency and spends cost within the
    /// budget, the other gains cost and spends latency within the latency limit.
    fn memory_phase(&mut self, s: &mut State, goal: Goal) {
        // (gained, spent) quantities of a metrics value, and the limit on the spent one.
        let split = |m: &Metrics| match goal {
            Goal::Latency => (m.latency_ms, m.cost_usd_per_million),
            Goal::Cost => (m.cost_usd_per_million, m.latency_ms),
        };
        let limit = match goal {
            Goal::Latency => self.problem.constraints.max_cost_usd_per_million,
            Goal::Cost => self.problem.constraints.max_latency_ms,
        };
        let least_critical_first = goal == Goal::Cost;
        let nsp = self.paths.len();
        let mut t = 0;
        let mut moves = 0;
        while t < nsp && moves < MOVE_LIMIT && limit.is_none_or(|l| l - split(&s.m).1 > 0.0) {
            let mut free: Option<Cand<3>> = None;
            let mut best: Option<Cand<4>> = None;
            for f in self.path(&s.pick, t, least_critical_first) {
                for i in self.memory_moves(f, s.pick[f]) {
                    let m = self.trial(&mut s.pick, f, i);
                    if !finite(&m) {
                        continue;
                    }
                    let ((gain_now, spend_now), (gain_new, spend_new)) = (split(&s.m), split(&m));
                    // Δ of the optimized quantity (negative is a gain) and of the spent one.
                    let (dg, ds) = (gain_new - gain_now, spend_new - spend_now);
                    let mem = -f64::from(self.opt(f, i).memory_mb);
                    // A free move saves on the spent quantity without losing on the optimized one
                    // (latency: ΔEET ≤ 0 ∧ ΔC < 0; cost: ΔEET < 0 ∧ ΔC ≤ 0), largest saving first.
                    if dg <= 0.0 && ds < 0.0 {
                        let key = [-ds, -dg, mem];
                        offer(&mut free, Cand { f, opt: i, m, key });
                    } else if dg < 0.0 && within(spend_new, limit) {
                        let key = match self.bcr {
                            Bcr::Max => {
                                let r = if ds <= 0.0 {
                                    f64::INFINITY
                                } else {
                                    (dg / ds).abs()
                                };
                                [r, -dg, -ds, mem]
                            }
                            Bcr::Slope { .. } => [-dg, -ds, mem, 0.0],
                        };
                        offer(&mut best, Cand { f, opt: i, m, key });
                    }
                }
            }
            let chosen = free
                .map(|c| (c.f, c.opt, c.m))
                .or(best.map(|c| (c.f, c.opt, c.m)));
            match chosen {
                Some((f, i, m)) => {
                    s.pick[f] = i;
                    s.m = m;
                    moves += 1;
                }
                None => t += 1,
            }
        }
    }

    // ---- §4.4.3: (variant, memory) upgrades of the accuracy optimizer ----

    fn accuracy_phase(&mut self, s: &mut State) {
        let c = self.problem.constraints;
        let (lat_range, cost_range, _) = self.range;
        let nsp = self.paths.len();
        let mut t = 0;
        let mut moves = 0;
        while t < nsp && moves < MOVE_LIMIT {
            let mut best: Option<Cand<4>> = None;
            for f in self.path(&s.pick, t, false) {
                let cur_acc = self.opt(f, s.pick[f]).accuracy;
                for i in 0..self.space.options[f].len() {
                    if self.opt(f, i).accuracy <= cur_acc {
                        continue;
                    }
                    let m = self.trial(&mut s.pick, f, i);
                    if !finite(&m)
                        || !within(m.latency_ms, c.max_latency_ms)
                        || !within(m.cost_usd_per_million, c.max_cost_usd_per_million)
                    {
                        continue;
                    }
                    let da = m.accuracy - s.m.accuracy;
                    if da <= 0.0 {
                        continue;
                    }
                    let dc = m.cost_usd_per_million - s.m.cost_usd_per_million;
                    let dt = m.latency_ms - s.m.latency_ms;
                    let denom = norm(dc.max(0.0), cost_range) + norm(dt.max(0.0), lat_range);
                    let ratio = if denom > 0.0 {
                        da / denom
                    } else {
                        f64::INFINITY
                    };
                    offer(
                        &mut best,
                        Cand {
                            f,
                            opt: i,
                            m,
                            key: [ratio, da, -dc, -dt],
                        },
                    );
                }
            }
            match best {
                Some(b) => {
                    s.pick[b.f] = b.opt;
                    s.m = b.m;
                    moves += 1;
                }
                None => t += 1,
            }
        }
    }

    // ---- The three objectives ----

    fn latency_objective(&mut self) -> State {
        let mut s = self.start(false);
        self.models_phase(&mut s, false);
        self.faster_phase(&mut s);
        s
    }

    fn cost_objective(&mut self) -> State {
        let mut s = self.start(true);
        self.models_phase(&mut s, true);
        self.cheaper_phase(&mut s);
        s
    }

    fn accuracy_objective(&mut self) -> State {
        let mut s = self.start(true);
        self.cheaper_phase(&mut s);
        self.accuracy_phase(&mut s);
        s
    }

    // ---- Polish (not in the thesis) ----

    /// Total normalised amount by which `m` misses the constraints (0 when it meets them).
    fn violation(&self, m: &Metrics) -> f64 {
        let c = self.problem.constraints;
        let (lr, cr, ar) = self.range;
        let over = |v: f64, limit: Option<f64>, r: f64| {
            limit.map_or(0.0, |l| if v <= l + tol(l) { 0.0 } else { norm(v - l, r) })
        };
        over(m.latency_ms, c.max_latency_ms, lr)
            + over(m.cost_usd_per_million, c.max_cost_usd_per_million, cr)
            + c.min_accuracy.map_or(0.0, |a| {
                if m.accuracy >= a - tol(a) {
                    0.0
                } else {
                    norm(a - m.accuracy, ar)
                }
            })
    }

    /// Objective then the other two quantities, larger is better.
    fn objective_key(&self, m: &Metrics) -> [f64; 3] {
        let (l, c, a) = (m.latency_ms, m.cost_usd_per_million, m.accuracy);
        match self.problem.objective {
            Objective::Latency | Objective::P95Latency | Objective::P99Latency => [-l, -c, a],
            Objective::Cost => [-c, -l, a],
            Objective::Accuracy => [a, -c, -l],
        }
    }

    /// The key of `m` as a step from `cur` (larger is better), or `None` when the step is not
    /// accepted: in [`Mode::Repair`] it must lower the violation of an infeasible `cur`
    /// (`v_cur`), in [`Mode::Improve`] it must be feasible and better for the objective.
    fn step_key(&self, mode: Mode, m: &Metrics, cur: &Metrics, v_cur: f64) -> Option<[f64; 4]> {
        if !finite(m) {
            return None;
        }
        let [a, b, c] = self.objective_key(m);
        match mode {
            Mode::Repair => {
                let v = self.violation(m);
                (v < v_cur).then_some([-v, a, b, c])
            }
            Mode::Improve => (self.problem.constraints.admits(m) && self.problem.better(m, cur))
                .then_some([a, b, c, 0.0]),
        }
    }

    /// Best-improvement descent: the best accepted change of one function's option, or, when
    /// there is none, the best accepted change of two functions' options; until none is accepted.
    fn descend(&mut self, s: &mut State, mode: Mode, lock: Option<usize>) {
        let n = s.pick.len();
        // With `lock = Some(f)`, function `f` keeps its variant (only its memory may change).
        let allowed = |g: &Self, pick: &[usize], f: usize, i: usize| {
            i != pick[f]
                && g.useful[f][i]
                && (lock != Some(f) || g.group_of[f][i] == g.group_of[f][pick[f]])
        };
        let mut moves = 0;
        while moves < MOVE_LIMIT {
            let admitted = self.problem.constraints.admits(&s.m);
            if (mode == Mode::Repair) == admitted {
                return;
            }
            let v_cur = self.violation(&s.m);
            let mut best: Option<PolishMove> = None;
            for f in 0..n {
                for i in 0..self.space.options[f].len() {
                    if !allowed(self, &s.pick, f, i) {
                        continue;
                    }
                    let m = self.trial(&mut s.pick, f, i);
                    if let Some(key) = self.step_key(mode, &m, &s.m, v_cur)
                        && best.as_ref().is_none_or(|b| key_better(&key, &b.0))
                    {
                        best = Some((key, [(f, i), (f, i)], m));
                    }
                }
            }
            if best.is_none() && self.pair_neighbourhood() <= PAIR_SCAN_LIMIT {
                for f in 0..n {
                    let of = s.pick[f];
                    for g in f + 1..n {
                        for i in 0..self.space.options[f].len() {
                            if !allowed(self, &s.pick, f, i) {
                                continue;
                            }
                            s.pick[f] = i;
                            for j in 0..self.space.options[g].len() {
                                if !allowed(self, &s.pick, g, j) {
                                    continue;
                                }
                                let m = self.trial(&mut s.pick, g, j);
                                if let Some(key) = self.step_key(mode, &m, &s.m, v_cur)
                                    && best.as_ref().is_none_or(|b| key_better(&key, &b.0))
                                {
                                    best = Some((key, [(f, i), (g, j)], m));
                                }
                            }
                        }
                        s.pick[f] = of;
                    }
                }
            }
            let Some((_, changes, m)) = best else {
                return;
            };
            for (f, i) in changes {
                s.pick[f] = i;
            }
            s.m = m;
            moves += 1;
        }
    }

    /// Number of configurations one function-pair scan of the polish visits (at most).
    fn pair_neighbourhood(&self) -> f64 {
        let sizes: Vec<f64> = self
            .useful
            .iter()
            .map(|u| u.iter().filter(|&&b| b).count() as f64)
            .collect();
        let total: f64 = sizes.iter().sum();
        let squares: f64 = sizes.iter().map(|x| x * x).sum();
        (total * total - squares) / 2.0
    }

    /// Repair, then improve (with `lock = Some(f)`, function `f` keeps its variant).
    fn local_search(&mut self, s: &mut State, lock: Option<usize>) {
        self.descend(s, Mode::Repair, lock);
        self.descend(s, Mode::Improve, lock);
    }

    /// Local search from the heuristics' answer; with `kicks`, then from every configuration that
    /// differs from the best one found in one function's variant (at the same memory, or the
    /// nearest), restarting the kicks whenever one leads to a better feasible configuration.
    fn polish(&mut self, mut s: State, kicks: bool) -> State {
        self.local_search(&mut s, None);
        if !kicks {
            return s;
        }
        let admits = |g: &Self, m: &Metrics| g.problem.constraints.admits(m);
        let mut rounds = 0;
        'rounds: while rounds < KICK_ROUNDS {
            rounds += 1;
            for f in 0..s.pick.len() {
                let cur = s.pick[f];
                let memory = self.opt(f, cur).memory_mb;
                for g in 0..self.groups[f].len() {
                    if g == self.group_of[f][cur] {
                        continue;
                    }
                    let Some(i) = self.option_at(f, g, memory) else {
                        continue;
                    };
                    let mut k = s.clone();
                    k.pick[f] = i;
                    k.m = self.eval(&k.pick);
                    self.local_search(&mut k, Some(f));
                    if admits(self, &k.m)
                        && (!admits(self, &s.m) || self.problem.better(&k.m, &s.m))
                    {
                        // The kicked function was locked: let it change again.
                        self.descend(&mut k, Mode::Improve, None);
                        s = k;
                        continue 'rounds;
                    }
                }
            }
            break;
        }
        s
    }
}

/// A polish step: its key, the (function, option) changes (one repeated for a single change) and
/// the resulting metrics.
type PolishMove = ([f64; 4], [(usize, usize); 2], Metrics);

/// What a polish step must achieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Lower the total violation of an infeasible configuration.
    Repair,
    /// Stay feasible and improve the objective.
    Improve,
}

/// Least-squares slope of `y` against `x` (0 with fewer than two distinct `x`).
fn least_squares_slope(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    if pts.len() < 2 {
        return 0.0;
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::bundle::{Application, Bundle};
    use crate::optimize::{Constraints, OptionPoint, exact};

    const APP3: &str = include_str!("../../../examples/app3.bundle.json");
    const MEDIA: &str = include_str!("../../../examples/media-pipeline.bundle.json");

    fn app(text: &str) -> Application {
        Bundle::from_json(text).unwrap().validate().unwrap()
    }

    const MAX: GreedyOptions = GreedyOptions {
        accuracy_weight: 100.0,
        bcr: Bcr::Max,
        polish: true,
    };
    const SLOPE: GreedyOptions = GreedyOptions {
        accuracy_weight: 100.0,
        bcr: Bcr::Slope { threshold: 0.2 },
        polish: true,
    };

    /// True extremes over the grid: (min, max) latency, cost and accuracy.
    fn extremes(space: &SearchSpace) -> [(f64, f64); 3] {
        let e = super::super::harness::extremes(space);
        [e.latency_ms, e.cost_usd_per_million, e.accuracy]
    }

    fn grid((lo, hi): (f64, f64)) -> Vec<f64> {
        (0..10)
            .map(|i| lo + (hi - lo) * f64::from(i) / 9.0)
            .collect()
    }

    /// The thesis protocol: for each objective, a 10×10 grid of the two other constraints.
    fn harness(space: &SearchSpace) -> Vec<Problem> {
        let [lat, cost, acc] = extremes(space);
        let mut out = Vec::new();
        for objective in [Objective::Latency, Objective::Cost, Objective::Accuracy] {
            for &x in &grid(match objective {
                Objective::Latency => cost,
                _ => lat,
            }) {
                for &y in &grid(match objective {
                    Objective::Accuracy => cost,
                    _ => acc,
                }) {
                    let constraints = match objective {
                        Objective::Latency | Objective::P95Latency | Objective::P99Latency => {
                            Constraints {
                                max_cost_usd_per_million: Some(x),
                                min_accuracy: Some(y),
                                ..Constraints::default()
                            }
                        }
                        Objective::Cost => Constraints {
                            max_latency_ms: Some(x),
                            min_accuracy: Some(y),
                            ..Constraints::default()
                        },
                        Objective::Accuracy => Constraints {
                            max_latency_ms: Some(x),
                            max_cost_usd_per_million: Some(y),
                            ..Constraints::default()
                        },
                    };
                    out.push(Problem {
                        objective,
                        constraints,
                    });
                }
            }
        }
        out
    }

    /// Each harness problem with its exact optimum (`None`: infeasible).
    fn cases(space: &SearchSpace) -> Vec<(Problem, Option<Metrics>)> {
        let pruned = space.pruned();
        harness(space)
            .into_iter()
            .map(|p| {
                let o = exact::solve(&pruned, &p, 50_000_000);
                assert!(o.proven, "the exact solver must finish");
                (p, o.best.map(|(_, m)| m))
            })
            .collect()
    }

    fn score(p: &Problem, greedy: &Metrics, opt: &Metrics) -> f64 {
        let (g, o) = (p.value(greedy), p.value(opt));
        if g == o {
            return 100.0;
        }
        match p.objective {
            Objective::Accuracy => 100.0 - (o - g) / g * 100.0,
            _ => 100.0 - (g - o) / g * 100.0,
        }
    }

    /// Runs one configuration over the cases, checks honesty, returns per-objective
    /// (feasible, optimal, within 95%, infeasible answered None, evaluations).
    fn check(
        space: &SearchSpace,
        cases: &[(Problem, Option<Metrics>)],
        options: &GreedyOptions,
        polish: u8,
    ) -> Vec<[u64; 5]> {
        let mut tally = vec![[0u64; 5]; 3];
        for (p, opt) in cases {
            let out = run(space, p, options, polish);
            assert!(!out.proven);
            let k = match p.objective {
                Objective::Latency | Objective::P95Latency | Objective::P99Latency => 0,
                Objective::Cost => 1,
                Objective::Accuracy => 2,
            };
            tally[k][4] += out.evaluations;
            if let Some((pick, m)) = &out.best {
                let again = space.evaluate(pick);
                assert_eq!(&again, m, "reported metrics are the pick's");
                assert!(p.constraints.admits(&again), "{p:?} broken by {again:?}");
            }
            match (opt, &out.best) {
                (None, None) => tally[k][3] += 1,
                (None, Some((_, m))) => panic!("{p:?} is infeasible, greedy found {m:?}"),
                (Some(o), found) => {
                    tally[k][0] += 1;
                    if let Some((_, m)) = found {
                        assert!(
                            !p.better(m, o),
                            "greedy beat the exact optimum on {p:?}: {m:?} vs {o:?}"
                        );
                        let s = score(p, m, o);
                        if s >= 100.0 - 1e-7 {
                            tally[k][1] += 1;
                        }
                        if s >= 95.0 {
                            tally[k][2] += 1;
                        }
                    }
                }
            }
        }
        tally
    }

    fn pct(a: u64, b: u64) -> f64 {
        if b == 0 {
            100.0
        } else {
            100.0 * a as f64 / b as f64
        }
    }

    #[test]
    fn quality_and_honesty_on_the_thesis_protocol() {
        let configs: [(&str, GreedyOptions, u8); 5] = [
            ("faithful, BCR_max", MAX, 0),
            ("faithful, BCR_slope 0.2", SLOPE, 0),
            ("local search, no kicks, BCR_max", MAX, 1),
            ("default (polish), BCR_max", MAX, 2),
            ("polish, BCR_slope 0.2", SLOPE, 2),
        ];
        let mut default_total = [0u64; 2];
        let mut short = Vec::new();
        for (name, text) in [("app3", APP3), ("media-pipeline", MEDIA)] {
            let app = app(text);
            let space = SearchSpace::full(&app);
            let cases = cases(&space);
            for (label, options, polish) in &configs {
                let tally = check(&space, &cases, options, *polish);
                for (k, obj) in ["latency", "cost", "accuracy"].iter().enumerate() {
                    let [feasible, optimal, within, infeasible, evals] = tally[k];
                    println!(
                        "{name:15} {obj:8} {label:28} feasible {feasible:3} optimal {:5.1}% \
                         within-95% {:5.1}%  infeasible→None {infeasible:3}  evaluations {evals}",
                        pct(optimal, feasible),
                        pct(within, feasible)
                    );
                    if *polish == 2 && options.bcr == Bcr::Max {
                        default_total[0] += within;
                        default_total[1] += feasible;
                        if pct(within, feasible) < 95.0 {
                            short.push(format!("{name} {obj}: {:.1}%", pct(within, feasible)));
                        }
                    }
                }
            }
        }
        println!(
            "default configuration overall: within 95% on {:.1}% of {} feasible problems",
            pct(default_total[0], default_total[1]),
            default_total[1]
        );
        assert!(
            short.is_empty(),
            "the default greedy is within 95% of the optimum on fewer than 95% of the feasible \
             problems: {short:?}"
        );
    }

    /// Every constraint subset, every objective, both BCR rules: never a constraint-breaking answer.
    #[test]
    fn never_breaks_a_constraint_with_any_subset_of_constraints() {
        for text in [APP3, MEDIA] {
            let app = app(text);
            let space = SearchSpace::full(&app);
            let [lat, cost, acc] = extremes(&space);
            let mid = |(lo, hi): (f64, f64), t: f64| lo + (hi - lo) * t;
            for objective in [Objective::Latency, Objective::Cost, Objective::Accuracy] {
                for mask in 0..8u8 {
                    for t in [0.0, 0.05, 0.3, 0.7, 1.0] {
                        let constraints = Constraints {
                            max_latency_ms: (mask & 1 != 0).then(|| mid(lat, t)),
                            max_cost_usd_per_million: (mask & 2 != 0).then(|| mid(cost, 1.0 - t)),
                            min_accuracy: (mask & 4 != 0).then(|| mid(acc, t)),
                            ..Constraints::default()
                        };
                        let p = Problem {
                            objective,
                            constraints,
                        };
                        for options in [MAX, SLOPE] {
                            for polish in [false, true] {
                                let out = solve_with(&space, &p, &options, polish);
                                if let Some((pick, m)) = &out.best {
                                    assert!(p.constraints.admits(&space.evaluate(pick)));
                                    assert_eq!(&space.evaluate(pick), m);
                                }
                                if mask == 0 {
                                    assert!(out.best.is_some(), "unconstrained: {p:?}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A chain Start → a → b → End with hand-made options:
    /// a: 128 MB 100 ms $1, 256 MB 60 ms $1.5;
    /// b: variant 0 (accuracy 0): 128 MB 200 ms $2, 256 MB 120 ms $3;
    ///    variant 1 (accuracy 1): 128 MB 300 ms $4, 256 MB 180 ms $5.
    /// The score is A(b).
    fn hand_app() -> Application {
        let text = r#"{
            "schema": "optiserve.bundle/v1",
            "provenance": {"tool": "test", "tool_version": "0"},
            "pricing": {"region": "us-east-1", "architecture": "x86_64",
                        "price_per_gb_second": 1.66667e-05, "price_per_request": 2e-07},
            "functions": [
                {"id": "a", "memory": [128, 256], "variants": [
                    {"name": "default", "model": {"kind": "exponential", "alpha_ms": 50.0,
                     "beta_ms": 100.0, "gamma_per_mb": 0.01}}]},
                {"id": "b", "memory": [128, 256], "variants": [
                    {"name": "small", "model": {"kind": "exponential", "alpha_ms": 50.0,
                     "beta_ms": 100.0, "gamma_per_mb": 0.01}},
                    {"name": "large", "model": {"kind": "exponential", "alpha_ms": 80.0,
                     "beta_ms": 100.0, "gamma_per_mb": 0.01}}]}
            ],
            "workflow": {"edges": [
                {"from": "Start", "to": "a", "probability": 1.0},
                {"from": "a", "to": "b", "probability": 1.0},
                {"from": "b", "to": "End", "probability": 1.0}]},
            "accuracy": {"score": {"kind": "weighted_sum", "weights": {"a": 0.0, "b": 1.0}}}
        }"#;
        app(text)
    }

    fn hand_space(app: &Application) -> SearchSpace<'_> {
        let o = |memory_mb, variant, duration_ms, cost, accuracy| OptionPoint {
            memory_mb,
            variant,
            duration_ms,
            cost,
            accuracy,
        };
        let mut space = SearchSpace::full(app);
        space.fixed_cost = 0.0;
        // Deliberately not in memory order, to check the grouping.
        space.options = vec![
            vec![o(256, 0, 60.0, 1.5, 1.0), o(128, 0, 100.0, 1.0, 1.0)],
            vec![
                o(128, 1, 300.0, 4.0, 1.0),
                o(256, 0, 120.0, 3.0, 0.0),
                o(128, 0, 200.0, 2.0, 0.0),
                o(256, 1, 180.0, 5.0, 1.0),
            ],
        ];
        space
    }

    fn solved(
        space: &SearchSpace,
        p: &Problem,
        polish: bool,
    ) -> Option<(u32, u32, usize, Metrics)> {
        solve_with(space, p, &MAX, polish).best.map(|(pick, m)| {
            let a = space.options[0][pick[0]];
            let b = space.options[1][pick[1]];
            (a.memory_mb, b.memory_mb, b.variant, m)
        })
    }

    #[test]
    fn hand_checked_latency_objective() {
        let app = hand_app();
        let space = hand_space(&app);
        let latency = |budget| Problem {
            objective: Objective::Latency,
            constraints: Constraints {
                max_cost_usd_per_million: Some(budget),
                min_accuracy: Some(1.0),
                ..Constraints::default()
            },
        };
        // Start (a 128, b small 128): $3, 300 ms, accuracy 0. Algorithm 1 upgrades b to the large
        // variant at 128 MB ($5, 400 ms). Algorithm 2: a→256 gains 40 ms for $0.5 (BCR 80),
        // b→256 gains 120 ms for $1 (BCR 120): b first ($6, 280 ms), then a ($6.5, 240 ms).
        let (a, b, v, m) = solved(&space, &latency(8.0), false).unwrap();
        assert_eq!((a, b, v), (256, 256, 1));
        assert!((m.latency_ms - 240.0).abs() < 1e-9 && (m.cost_usd_per_million - 6.5).abs() < 1e-9);
        // With $6.2 only b's move fits: 280 ms.
        let (a, b, v, m) = solved(&space, &latency(6.2), false).unwrap();
        assert_eq!((a, b, v), (128, 256, 1));
        assert!((m.latency_ms - 280.0).abs() < 1e-9);
        // With $4.5 the accuracy floor cannot be met: not found, never an infeasible answer.
        assert!(solved(&space, &latency(4.5), true).is_none());
        // Without the floor, $4.5: (a 256, b small 256) costs exactly $4.5 at 180 ms.
        let p = Problem {
            objective: Objective::Latency,
            constraints: Constraints {
                max_cost_usd_per_million: Some(4.5),
                ..Constraints::default()
            },
        };
        let (a, b, v, m) = solved(&space, &p, false).unwrap();
        assert_eq!((a, b, v), (256, 256, 0));
        assert!((m.latency_ms - 180.0).abs() < 1e-9);
    }

    #[test]
    fn hand_checked_cost_and_accuracy_objectives() {
        let app = hand_app();
        let space = hand_space(&app);
        // Cost, latency ≤ 330 ms, accuracy ≥ 1: start (a 256, b small 256), 180 ms, $4.5;
        // Algorithm 1 upgrades b (large 256: 240 ms, $6.5). Lowering memory: a→128 (+40 ms,
        // −$0.5) fits, b→128 (+120 ms → 360 ms) does not: (a 128, b large 256), 280 ms, $6.
        let p = Problem {
            objective: Objective::Cost,
            constraints: Constraints {
                max_latency_ms: Some(330.0),
                min_accuracy: Some(1.0),
                ..Constraints::default()
            },
        };
        let (a, b, v, m) = solved(&space, &p, false).unwrap();
        assert_eq!((a, b, v), (128, 256, 1));
        assert!((m.cost_usd_per_million - 6.0).abs() < 1e-9);
        // Accuracy, latency ≤ 300 ms: start (a 256, b small 256), 180 ms, $4.5. The memory phase
        // ties a→128 and b→128 on BCR (1/80) and takes the larger saving, b (260 ms, $3.5), then
        // a (300 ms, $3). Upgrades: b large 128 is too slow (400 ms); b large 256 (280 ms, $6)
        // fits a $6.5 budget, not a $5.6 one (where accuracy 1 is indeed out of reach).
        let acc = |lat, budget| Problem {
            objective: Objective::Accuracy,
            constraints: Constraints {
                max_latency_ms: Some(lat),
                max_cost_usd_per_million: Some(budget),
                ..Constraints::default()
            },
        };
        let (_, _, v, m) = solved(&space, &acc(300.0, 5.6), false).unwrap();
        assert_eq!(v, 0);
        assert!((m.accuracy - 0.0).abs() < 1e-12);
        let (a, b, v, m) = solved(&space, &acc(300.0, 6.5), false).unwrap();
        assert_eq!((a, b, v), (128, 256, 1));
        assert!((m.accuracy - 1.0).abs() < 1e-12);
    }
}
