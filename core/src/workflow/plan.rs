//! The evaluation plan: the reduced structure compiled once into postfix operations, so that the
//! expected end-to-end latency of a configuration is one pass over a flat list.
//!
//! Two composition rules are compiled (see [`LatencyModel`]). They differ only at *random* blocks:
//! a parallel block with a branch or a loop somewhere in its arms, and a Map state whose iteration
//! body holds one. Everywhere else expectation is linear (a sequence's mean is the sum of means, a
//! branch's the weighted mean, a loop's the body's mean times its expected runs, by Wald's
//! identity), so both rules are the same scalar pass. At a random block the branch-aware plan
//! builds each arm's latency as a small discrete distribution ([`super::distribution`]) over the
//! outcomes of the branches and loops inside it, and pushes the expectation of the maximum. A
//! workflow without random blocks has one plan, shared by both rules.
//!
//! What the branch-aware rule leaves as expectations: a function's duration (its model's value,
//! plus its expected cold-start time), a Map state's item count (its mean) and, as in the thesis,
//! the independence of the outcomes in different arms. `optiserve simulate` draws all of these.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::distribution::{Dist, Rounding, loop_terms};
use super::{Delays, Structure, Workflow};

/// How function durations compose into the expected end-to-end latency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LatencyModel {
    /// A parallel block takes the expectation, over the outcomes of the branches and loops inside
    /// its arms, of the slowest arm; a Map wave the expectation of its slowest iteration. Exact
    /// for independent outcomes (within a reported bound where loops are truncated or
    /// distributions bucketed).
    #[default]
    BranchAware,
    /// The thesis' rule (§3.2): a parallel block takes the maximum of its arms' *expected*
    /// latencies, a Map state `waves × E[body]`. Reproduces the thesis and its artifact; it
    /// underestimates wherever an arm's latency varies (`E[max] ≥ max E`).
    Thesis,
}

impl LatencyModel {
    /// Every model, in the order the CLI lists them.
    pub const ALL: [LatencyModel; 2] = [LatencyModel::BranchAware, LatencyModel::Thesis];

    /// The name used in JSON (`branch_aware`, `thesis`).
    pub fn name(self) -> &'static str {
        match self {
            LatencyModel::BranchAware => "branch_aware",
            LatencyModel::Thesis => "thesis",
        }
    }

    /// The name used on the command line (`branch-aware`, `thesis`).
    pub fn flag_name(self) -> &'static str {
        match self {
            LatencyModel::BranchAware => "branch-aware",
            LatencyModel::Thesis => "thesis",
        }
    }

    /// The model named `name` (either spelling); `None` for another name.
    pub fn from_name(name: &str) -> Option<LatencyModel> {
        LatencyModel::ALL
            .into_iter()
            .find(|m| m.name() == name || m.flag_name() == name)
    }

    /// Words for people: "branch-aware model", "thesis model".
    pub fn describe(self) -> &'static str {
        match self {
            LatencyModel::BranchAware => "branch-aware model",
            LatencyModel::Thesis => "thesis model: max of the arms' expected latencies",
        }
    }
}

/// One step of the postfix evaluation plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Op {
    /// Push the time of one invocation of a function (plus its state and transition delays).
    Leaf(usize),
    /// Push a state node's fixed time (plus its state and transition delays).
    Fixed(f64),
    /// Push 0 (an empty sequence).
    Zero,
    /// Pop `n`, push their sum.
    Sum(usize),
    /// Pop `n`, push the probability-weighted sum with `branch_probs[start..start + n]`.
    Weighted { start: usize, n: usize },
    /// Pop `n`, push their maximum.
    Max(usize),
    /// Multiply the top by a factor.
    Scale(f64),
    /// Push the expected latency of random block `blocks[i]` (branch-aware plan only).
    Block(usize),
}

/// One step of a random block's distribution program (postfix, on a stack of distributions).
#[derive(Debug, Clone, Copy, PartialEq)]
enum DistOp {
    /// A function's invocation, as a point mass.
    Leaf(usize),
    /// A state node's fixed time, as a point mass.
    Fixed(f64),
    /// A point mass at 0.
    Zero,
    /// Pop `n`, push their independent sum.
    Sum(usize),
    /// Pop `n`, push their mixture with `branch_probs[start..start + n]`.
    Mix { start: usize, n: usize },
    /// Pop `n`, push their independent maximum.
    Max(usize),
    /// Pop a loop body, push the sum of a geometric number of copies.
    Repeat { again: f64, terms: usize },
    /// Pop a Map body, push the Map's latency: its waves one after another, each the maximum of
    /// its iterations.
    Map { items: f64, max_concurrency: u32 },
}

/// What a random block pushes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum BlockKind {
    /// The program leaves `n` arms: the expected maximum.
    Parallel(usize),
    /// The program leaves a Map body: the expected sum of its waves' maxima.
    Map { items: f64, max_concurrency: u32 },
}

/// A random block of the branch-aware plan.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Block {
    program: Vec<DistOp>,
    kind: BlockKind,
}

/// The compiled plans of a workflow.
#[derive(Debug, Clone, Default)]
pub(super) struct Plans {
    /// The thesis' plan (every block scalar).
    thesis: Vec<Op>,
    /// The branch-aware plan, when the workflow has random blocks (else the thesis' plan is it).
    branch_aware: Option<Vec<Op>>,
    blocks: Vec<Block>,
    branch_probs: Vec<f64>,
    /// Stack depth the plans need.
    pub(super) max_stack: usize,
}

/// Reusable buffers for [`Workflow::latency_ms_with`].
#[derive(Debug, Clone, Default)]
pub struct LatencyScratch {
    stack: Vec<f64>,
    errors: Vec<f64>,
    dists: Vec<Dist>,
}

/// An expected latency with the bound on its approximation error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyEstimate {
    /// Expected end-to-end latency, ms: the model's exact value or, where loops inside random
    /// blocks are truncated or their distributions bucketed, a lower bound of it.
    pub latency_ms: f64,
    /// The model's exact value is at most `latency_ms + error_bound_ms` (0: exact up to
    /// floating-point rounding).
    pub error_bound_ms: f64,
}

impl Workflow {
    /// End-to-end expected execution time (EET, ms) under `model` when function `i` takes
    /// `durations_ms[i]` per invocation. `durations_ms` must have one entry per function.
    pub fn latency_ms(&self, durations_ms: &[f64], delays: Delays, model: LatencyModel) -> f64 {
        self.latency_ms_with(durations_ms, delays, model, &mut self.scratch())
    }

    /// Scratch buffers sized for this workflow's plans.
    pub fn scratch(&self) -> LatencyScratch {
        LatencyScratch {
            stack: Vec::with_capacity(self.plans.max_stack),
            ..LatencyScratch::default()
        }
    }

    /// [`Workflow::latency_ms`] with caller-owned scratch buffers (no allocation once they have
    /// grown, but inside random blocks).
    pub fn latency_ms_with(
        &self,
        durations_ms: &[f64],
        delays: Delays,
        model: LatencyModel,
        scratch: &mut LatencyScratch,
    ) -> f64 {
        self.run::<false>(durations_ms, delays, model, scratch)
            .latency_ms
    }

    /// [`Workflow::latency_ms`] with the bound on its error.
    pub fn latency_estimate(
        &self,
        durations_ms: &[f64],
        delays: Delays,
        model: LatencyModel,
    ) -> LatencyEstimate {
        self.run::<true>(durations_ms, delays, model, &mut self.scratch())
    }

    /// Does the workflow have a random block, where the two latency models differ?
    pub fn has_random_blocks(&self) -> bool {
        self.plans.branch_aware.is_some()
    }

    fn run<const BOUND: bool>(
        &self,
        durations_ms: &[f64],
        delays: Delays,
        model: LatencyModel,
        scratch: &mut LatencyScratch,
    ) -> LatencyEstimate {
        let plans = &self.plans;
        let plan = match (model, &plans.branch_aware) {
            (LatencyModel::BranchAware, Some(p)) => p,
            _ => &plans.thesis,
        };
        let LatencyScratch {
            stack,
            errors,
            dists,
        } = scratch;
        stack.clear();
        errors.clear();
        let per_state = delays.per_state_ms();
        let leaf = |f: usize| durations_ms.get(f).copied().unwrap_or(0.0) + per_state;
        for op in plan {
            match *op {
                Op::Leaf(f) => {
                    stack.push(leaf(f));
                    if BOUND {
                        errors.push(0.0);
                    }
                }
                Op::Fixed(ms) => {
                    stack.push(ms + per_state);
                    if BOUND {
                        errors.push(0.0);
                    }
                }
                Op::Zero => {
                    stack.push(0.0);
                    if BOUND {
                        errors.push(0.0);
                    }
                }
                Op::Sum(k) => {
                    let at = stack.len() - k;
                    let s = stack[at..].iter().sum();
                    stack.truncate(at);
                    stack.push(s);
                    if BOUND {
                        let e = errors[at..].iter().sum();
                        errors.truncate(at);
                        errors.push(e);
                    }
                }
                Op::Weighted { start, n: k } => {
                    let probs = &plans.branch_probs[start..start + k];
                    let at = stack.len() - k;
                    let s = stack[at..].iter().zip(probs).map(|(t, p)| t * p).sum();
                    stack.truncate(at);
                    stack.push(s);
                    if BOUND {
                        let e = errors[at..].iter().zip(probs).map(|(t, p)| t * p).sum();
                        errors.truncate(at);
                        errors.push(e);
                    }
                }
                Op::Max(k) => {
                    let at = stack.len() - k;
                    let s = stack[at..].iter().copied().fold(0.0, f64::max);
                    stack.truncate(at);
                    stack.push(s);
                    if BOUND {
                        // Each arm's exact value is within [v, v + e]: the maximum within
                        // [max v, max v + max e].
                        let e = errors[at..].iter().copied().fold(0.0, f64::max);
                        errors.truncate(at);
                        errors.push(e);
                    }
                }
                Op::Scale(x) => {
                    if let Some(top) = stack.last_mut() {
                        *top *= x;
                    }
                    if BOUND && let Some(top) = errors.last_mut() {
                        *top *= x;
                    }
                }
                Op::Block(i) => {
                    let block = &plans.blocks[i];
                    let probs = &plans.branch_probs;
                    let (value, _) = block.expected(&leaf, per_state, probs, Rounding::Down, dists);
                    stack.push(value);
                    if BOUND {
                        // The exact value is at least `value` (rounded down) and at most the
                        // value rounded up plus the truncation error.
                        let (upper, err) =
                            block.expected(&leaf, per_state, probs, Rounding::Up, dists);
                        errors.push((upper + err - value).max(0.0));
                    }
                }
            }
        }
        LatencyEstimate {
            latency_ms: stack.pop().unwrap_or(0.0) + delays.start_end_ms(),
            error_bound_ms: if BOUND {
                errors.pop().unwrap_or(0.0)
            } else {
                0.0
            },
        }
    }
}

impl Block {
    /// The block's expected latency and the bound on its error.
    fn expected(
        &self,
        leaf: &impl Fn(usize) -> f64,
        per_state: f64,
        probs: &[f64],
        rounding: Rounding,
        stack: &mut Vec<Dist>,
    ) -> (f64, f64) {
        stack.clear();
        for op in &self.program {
            match *op {
                DistOp::Leaf(f) => stack.push(Dist::point(leaf(f), rounding)),
                DistOp::Fixed(ms) => stack.push(Dist::point(ms + per_state, rounding)),
                DistOp::Zero => stack.push(Dist::point(0.0, rounding)),
                DistOp::Sum(k) => {
                    let at = stack.len() - k;
                    let mut acc = stack[at].clone();
                    for d in &stack[at + 1..] {
                        acc = acc.add(d);
                    }
                    stack.truncate(at);
                    stack.push(acc);
                }
                DistOp::Mix { start, n } => {
                    let at = stack.len() - n;
                    let d =
                        Dist::mixture(probs[start..start + n].iter().copied().zip(&stack[at..]));
                    stack.truncate(at);
                    stack.push(d);
                }
                DistOp::Max(k) => {
                    let at = stack.len() - k;
                    let mut acc = stack[at].clone();
                    for d in &stack[at + 1..] {
                        acc = acc.max(d);
                    }
                    stack.truncate(at);
                    stack.push(acc);
                }
                DistOp::Repeat { again, terms } => {
                    if let Some(body) = stack.pop() {
                        stack.push(body.geometric_sum(again, terms));
                    }
                }
                DistOp::Map {
                    items,
                    max_concurrency,
                } => {
                    if let Some(body) = stack.pop() {
                        let waves = map_waves(items, max_concurrency);
                        let mut d = body.max_of_copies(waves.last_items);
                        if waves.full > 0 {
                            let full = body
                                .max_of_copies(f64::from(max_concurrency))
                                .sum_of_copies(waves.full);
                            d = d.add(&full);
                        }
                        stack.push(d);
                    }
                }
            }
        }
        match self.kind {
            BlockKind::Parallel(n) => {
                let at = stack.len() - n;
                let mut acc = stack[at].clone();
                for d in &stack[at + 1..] {
                    acc = acc.max(d);
                }
                stack.truncate(at);
                (acc.mean(), acc.error_bound())
            }
            BlockKind::Map {
                items,
                max_concurrency,
            } => {
                let Some(body) = stack.pop() else {
                    return (0.0, 0.0);
                };
                let waves = map_waves(items, max_concurrency);
                let last = body.max_of_copies(waves.last_items);
                let (mut mean, mut err) = (last.mean(), last.error_bound());
                if waves.full > 0 {
                    let full = body.max_of_copies(f64::from(max_concurrency));
                    let n = waves.full as f64;
                    mean += n * full.mean();
                    err += n * full.error_bound();
                }
                (mean, err)
            }
        }
    }
}

/// A Map state's waves in the analytic model: `full` waves of `max_concurrency` items, then one
/// of `last_items` (all items in one wave without a limit).
struct Waves {
    full: u64,
    last_items: f64,
}

fn map_waves(items: f64, max_concurrency: u32) -> Waves {
    let items = items.max(1.0);
    if max_concurrency == 0 || items <= f64::from(max_concurrency) {
        return Waves {
            full: 0,
            last_items: items,
        };
    }
    let c = f64::from(max_concurrency);
    let waves = (items / c).ceil().max(1.0);
    let full = waves - 1.0;
    Waves {
        full: full as u64,
        last_items: (items - full * c).max(f64::MIN_POSITIVE),
    }
}

/// Is the latency of `s` random (a branch or a loop somewhere inside)?
fn is_random(s: &Structure) -> bool {
    match s {
        Structure::Function(_) => false,
        Structure::Sequence(items) | Structure::Parallel(items) => items.iter().any(is_random),
        Structure::Branch(arms) => arms.len() > 1,
        Structure::Repeat {
            expected_runs,
            body,
            ..
        } => *expected_runs > 1.0 || is_random(body),
        Structure::Map { body, .. } => is_random(body),
    }
}

/// Compiles both plans of `structure`.
pub(super) fn compile_plans(structure: &Structure, functions: usize, fixed_ms: &[f64]) -> Plans {
    let mut c = Compiler {
        functions,
        fixed_ms,
        branch_probs: Vec::new(),
        blocks: Vec::new(),
    };
    let mut thesis = Vec::new();
    let depth = c.scalar(structure, false, &mut thesis);
    let mut aware = Vec::new();
    let depth_aware = c.scalar(structure, true, &mut aware);
    let has_blocks = !c.blocks.is_empty();
    Plans {
        thesis,
        branch_aware: has_blocks.then_some(aware),
        blocks: c.blocks,
        branch_probs: c.branch_probs,
        max_stack: depth.max(depth_aware),
    }
}

struct Compiler<'a> {
    functions: usize,
    fixed_ms: &'a [f64],
    branch_probs: Vec<f64>,
    blocks: Vec<Block>,
}

impl Compiler<'_> {
    /// Appends `s` in postfix form; returns the stack depth it needs. With `aware`, random blocks
    /// become [`Op::Block`]s.
    fn scalar(&mut self, s: &Structure, aware: bool, plan: &mut Vec<Op>) -> usize {
        match s {
            Structure::Function(f) if *f >= self.functions => {
                plan.push(Op::Fixed(
                    self.fixed_ms
                        .get(f - self.functions)
                        .copied()
                        .unwrap_or(0.0),
                ));
                1
            }
            Structure::Function(f) => {
                plan.push(Op::Leaf(*f));
                1
            }
            Structure::Sequence(items) if items.is_empty() => {
                plan.push(Op::Zero);
                1
            }
            Structure::Parallel(items) if aware && items.iter().any(is_random) => {
                let mut program = Vec::new();
                for it in items {
                    self.dist(it, &mut program);
                }
                self.block(program, BlockKind::Parallel(items.len()), plan)
            }
            Structure::Map {
                items,
                max_concurrency,
                body,
                ..
            } if aware && is_random(body) => {
                let mut program = Vec::new();
                self.dist(body, &mut program);
                let kind = BlockKind::Map {
                    items: *items,
                    max_concurrency: *max_concurrency,
                };
                self.block(program, kind, plan)
            }
            Structure::Sequence(items) | Structure::Parallel(items) => {
                let mut depth = 0;
                for (i, it) in items.iter().enumerate() {
                    depth = depth.max(i + self.scalar(it, aware, plan));
                }
                plan.push(if matches!(s, Structure::Parallel(_)) {
                    Op::Max(items.len())
                } else {
                    Op::Sum(items.len())
                });
                depth
            }
            Structure::Branch(arms) => {
                let mut depth = 0;
                for (i, (_, a)) in arms.iter().enumerate() {
                    depth = depth.max(i + self.scalar(a, aware, plan));
                }
                let start = self.branch_probs.len();
                self.branch_probs.extend(arms.iter().map(|(p, _)| *p));
                plan.push(Op::Weighted {
                    start,
                    n: arms.len(),
                });
                depth
            }
            Structure::Repeat {
                expected_runs,
                body,
                ..
            } => {
                let depth = self.scalar(body, aware, plan);
                plan.push(Op::Scale(*expected_runs));
                depth
            }
            Structure::Map { waves, body, .. } => {
                let depth = self.scalar(body, aware, plan);
                plan.push(Op::Scale(*waves));
                depth
            }
        }
    }

    fn block(&mut self, program: Vec<DistOp>, kind: BlockKind, plan: &mut Vec<Op>) -> usize {
        plan.push(Op::Block(self.blocks.len()));
        self.blocks.push(Block { program, kind });
        1
    }

    /// Appends the distribution program of `s`.
    fn dist(&mut self, s: &Structure, program: &mut Vec<DistOp>) {
        match s {
            Structure::Function(f) if *f >= self.functions => program.push(DistOp::Fixed(
                self.fixed_ms
                    .get(f - self.functions)
                    .copied()
                    .unwrap_or(0.0),
            )),
            Structure::Function(f) => program.push(DistOp::Leaf(*f)),
            Structure::Sequence(items) if items.is_empty() => program.push(DistOp::Zero),
            Structure::Sequence(items) | Structure::Parallel(items) => {
                for it in items {
                    self.dist(it, program);
                }
                program.push(if matches!(s, Structure::Parallel(_)) {
                    DistOp::Max(items.len())
                } else {
                    DistOp::Sum(items.len())
                });
            }
            Structure::Branch(arms) => {
                for (_, a) in arms {
                    self.dist(a, program);
                }
                let start = self.branch_probs.len();
                self.branch_probs.extend(arms.iter().map(|(p, _)| *p));
                program.push(DistOp::Mix {
                    start,
                    n: arms.len(),
                });
            }
            Structure::Repeat {
                expected_runs,
                body,
                ..
            } => {
                self.dist(body, program);
                // Runs are geometric with mean 1/(1 − q): q = 1 − 1/expected_runs.
                let again = (1.0 - 1.0 / expected_runs).clamp(0.0, 1.0);
                if again > 0.0 {
                    program.push(DistOp::Repeat {
                        again,
                        terms: loop_terms(again),
                    });
                }
            }
            Structure::Map {
                items,
                max_concurrency,
                body,
                ..
            } => {
                self.dist(body, program);
                program.push(DistOp::Map {
                    items: *items,
                    max_concurrency: *max_concurrency,
                });
            }
        }
    }
}
