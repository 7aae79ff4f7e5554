//! Common random numbers for the tail-aware problems: `N` workflow executions sampled once from a
//! seed, each reduced to a straight-line program over its invocations.
//!
//! A scenario fixes everything random about one execution except the durations: which arm every
//! branch took, how many times every loop body ran, and for every function invocation one raw
//! 64-bit draw (its "slot"). Given a configuration, a slot's duration is what
//! [`crate::simulate`] would draw with that raw draw (a profiled sample at the configured memory,
//! or the model's duration times a residual ratio, or the model alone); the scenario's latency is
//! then its program evaluated on the slots' durations: sums for sequences and loop repetitions,
//! maxima for parallel blocks, plus the orchestration delays.
//!
//! The draws are consumed in exactly the order [`crate::simulate::simulate`] consumes them, so
//! the scenarios of seed `s` are the first `N` executions `optiserve simulate --seed s` runs:
//! a configuration's latencies over the scenarios equal the simulator's, bit for bit, on every
//! workflow without a Map state. A Map state's items run here in waves of `MaxConcurrency` (the
//! analytic model's view) where the simulator runs them in a pool (an item starts as soon as a
//! slot frees up); the pool never finishes later than the waves (by induction over the waves, each
//! item starts no later), so a p95 met over the scenarios is met by the simulator's executions
//! too, and certification re-simulates with the pool.
//!
//! With the draws fixed, a scenario's latency is a composition of sums and maxima of slot
//! durations, hence non-decreasing in every slot's duration; every order statistic of the
//! scenarios' latencies (the empirical p95, p99) is non-decreasing too. That is what makes the
//! branch-and-bound bounds of [`super::tail`] valid.

use std::collections::HashMap;

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::bundle::Application;
use crate::simulate::uniform;
use crate::workflow::Structure;

/// Most scenarios one problem may sample.
pub const MAX_SCENARIOS: usize = 1_000_000;

/// Most invocations all scenarios together may hold: their draws and programs are kept in memory,
/// and every configuration the search scores is scored on each of them (400 times the default
/// 5,000 scenarios of a workflow of a few functions; a loop that rarely exits makes executions
/// long).
pub const MAX_SLOTS: usize = 2_000_000;

/// Most program steps all scenarios together may hold (state entries without a draw count here).
const MAX_OPS: usize = 4 * MAX_SLOTS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    /// Push the slot's duration plus the per-state delays.
    Leaf(u32),
    /// Push state node `k`'s fixed delay (a Wait, Pass, … state) plus the per-state delays.
    State(u32),
    /// Replace the top `k` values by their sum (left to right; 0 for `k = 0`).
    Sum(u32),
    /// Replace the top `k` values by their maximum (0 for `k = 0`).
    Max(u32),
    /// The scenario ends: pop its latency.
    End,
}

/// Why scenarios could not be sampled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// Zero or too many scenarios.
    #[error("scenarios: must be from 1 to {MAX_SCENARIOS}, found {0}")]
    Count(usize),
    /// The executions hold too many invocations.
    #[error(
        "scenarios: {scenarios} executions hold more than {MAX_SLOTS} function invocations and state entries; ask for fewer scenarios (--scenarios)"
    )]
    TooLong {
        /// Scenarios asked for.
        scenarios: usize,
    },
    /// The executions would hold too many invocations on average: refused before sampling.
    #[error(
        "scenarios: {scenarios} executions would hold about {} function invocations and state entries ({} per execution), more than the {MAX_SLOTS} kept in memory: ask for fewer scenarios (--scenarios), or check the loop probabilities (a loop taken with probability p repeats 1/(1−p) times on average)",
        crate::limits::approx(*.expected),
        crate::limits::approx(*.per_execution)
    )]
    TooManyExpected {
        /// Scenarios asked for.
        scenarios: usize,
        /// Expected invocations and state entries per execution.
        per_execution: f64,
        /// Expected in all.
        expected: f64,
    },
}

/// `N` sampled executions (see the module documentation).
///
/// Executions with the same program (the same branch arms, loop counts and Map item counts: the
/// same steps in the same order, whatever the draws) form a *shape*, evaluated for all its
/// executions at once: the slots of a shape are numbered leaf by leaf (leaf `j` of its `i`-th
/// execution is slot `base + j·m + i`, `m` executions), so each step of the program is one pass
/// over `m` contiguous values (sums and maxima the compiler vectorises) instead of one
/// interpreted step per execution.
#[derive(Debug, Clone)]
pub struct Scenarios {
    runs: usize,
    seed: u64,
    /// The shapes, longest programs first (the slowest executions, most often, which lets a
    /// streamed check stop sooner).
    shapes: Vec<Shape>,
    /// The shapes' programs, one after another (`Op::Leaf(j)`: the shape's leaf `j`).
    ops: Vec<Op>,
    /// Raw draw of each slot.
    draws: Vec<u64>,
    /// Slots of each function, in the order the executions invoked it.
    function_slots: Vec<Vec<u32>>,
    per_state_ms: f64,
    fixed_ms: f64,
    /// Fixed delay of each state node (the structure's leaves past the functions).
    state_ms: Vec<f64>,
}

/// Executions sharing one program (see [`Scenarios`]).
#[derive(Debug, Clone)]
struct Shape {
    /// Its program: `ops[ops.0..ops.1]`.
    ops: (usize, usize),
    /// Its first slot.
    base: usize,
    /// Its executions' indices, in sampling order.
    members: Vec<u32>,
}

struct Recorder<'s> {
    rng: Xoshiro256PlusPlus,
    s: &'s mut Scenarios,
}

impl Recorder<'_> {
    /// Past the cap the scenario being recorded is abandoned (the caller refuses them all).
    fn over(&self) -> bool {
        self.s.draws.len() > MAX_SLOTS || self.s.ops.len() > MAX_OPS
    }

    fn record(&mut self, structure: &Structure) {
        if self.over() {
            return;
        }
        match structure {
            Structure::Function(f) if *f >= self.s.function_slots.len() => {
                // A state node: a fixed delay, no draw (as in the simulator).
                let k = *f - self.s.function_slots.len();
                self.s.ops.push(Op::State(k as u32));
            }
            Structure::Function(f) => {
                let slot = self.s.draws.len() as u32;
                self.s.draws.push(self.rng.next_u64());
                self.s.function_slots[*f].push(slot);
                self.s.ops.push(Op::Leaf(slot));
            }
            Structure::Sequence(items) => {
                for i in items {
                    self.record(i);
                }
                self.s.ops.push(Op::Sum(items.len() as u32));
            }
            Structure::Parallel(arms) => {
                for a in arms {
                    self.record(a);
                }
                self.s.ops.push(Op::Max(arms.len() as u32));
            }
            Structure::Branch(arms) => {
                let mut u = uniform(&mut self.rng);
                for (p, a) in arms {
                    if u < *p {
                        return self.record(a);
                    }
                    u -= p;
                }
                match arms.last() {
                    Some((_, a)) => self.record(a),
                    None => self.s.ops.push(Op::Sum(0)),
                }
            }
            Structure::Map {
                items,
                max_concurrency,
                body,
                ..
            } => {
                // A whole number of items with the expected count as its mean, run in waves of
                // `max_concurrency` (the analytic model's view; the simulator's pool, where an
                // item starts as soon as a slot frees up, is never slower, and certification
                // re-simulates with the pool).
                let whole = items.floor();
                let extra = uniform(&mut self.rng) < items - whole;
                let count = whole as usize + usize::from(extra);
                let width = match *max_concurrency {
                    0 => count.max(1),
                    c => (c as usize).clamp(1, count.max(1)),
                };
                let mut waves = 0u32;
                let mut left = count;
                while left > 0 {
                    let n = left.min(width);
                    for _ in 0..n {
                        self.record(body);
                    }
                    self.s.ops.push(Op::Max(n as u32));
                    left -= n;
                    waves += 1;
                }
                self.s.ops.push(Op::Sum(waves));
            }
            Structure::Repeat {
                expected_runs,
                body,
                ..
            } => {
                let p_again = 1.0 - 1.0 / expected_runs;
                self.record(body);
                let mut k = 1u32;
                while !self.over() && uniform(&mut self.rng) < p_again {
                    self.record(body);
                    k += 1;
                }
                self.s.ops.push(Op::Sum(k));
            }
        }
    }
}

impl Scenarios {
    /// Samples `runs` executions of `app`'s workflow from `seed`.
    pub fn sample(app: &Application, runs: usize, seed: u64) -> Result<Scenarios, ScenarioError> {
        if !(1..=MAX_SCENARIOS).contains(&runs) {
            return Err(ScenarioError::Count(runs));
        }
        let per_execution = app.workflow.expected_steps();
        let expected = per_execution * runs as f64;
        if expected.is_nan() || expected > MAX_SLOTS as f64 {
            return Err(ScenarioError::TooManyExpected {
                scenarios: runs,
                per_execution,
                expected,
            });
        }
        let mut s = Scenarios {
            runs,
            seed,
            shapes: Vec::new(),
            ops: Vec::new(),
            draws: Vec::new(),
            function_slots: vec![Vec::new(); app.functions.len()],
            per_state_ms: app.delays.per_state_ms(),
            fixed_ms: app.delays.start_end_ms(),
            state_ms: (app.functions.len()..app.workflow.node_ids().len())
                .map(|i| app.workflow.state_delay_ms(i).unwrap_or(0.0))
                .collect(),
        };
        let mut r = Recorder {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            s: &mut s,
        };
        // Each execution's program and slots, in sampling order (`starts`: where each begins).
        let mut starts = Vec::with_capacity(runs + 1);
        for _ in 0..runs {
            starts.push((r.s.ops.len(), r.s.draws.len()));
            r.record(app.workflow.structure());
            r.s.ops.push(Op::End);
            if r.over() {
                return Err(ScenarioError::TooLong { scenarios: runs });
            }
        }
        starts.push((r.s.ops.len(), r.s.draws.len()));
        s.group(&starts);
        Ok(s)
    }

    /// Groups the executions recorded one after another (`starts[i]`: where execution `i`'s
    /// program and slots begin, then the end) into shapes, renumbering the slots leaf by leaf.
    fn group(&mut self, starts: &[(usize, usize)]) {
        let relative = |i: usize| -> Vec<Op> {
            let ((o0, d0), (o1, _)) = (starts[i], starts[i + 1]);
            self.ops[o0..o1]
                .iter()
                .map(|&op| match op {
                    Op::Leaf(slot) => Op::Leaf(slot - d0 as u32),
                    other => other,
                })
                .collect()
        };
        let mut index: HashMap<Vec<Op>, usize> = HashMap::new();
        let mut programs: Vec<Vec<Op>> = Vec::new();
        let mut members: Vec<Vec<u32>> = Vec::new();
        for i in 0..starts.len() - 1 {
            let program = relative(i);
            let g = *index.entry(program.clone()).or_insert_with(|| {
                programs.push(program);
                members.push(Vec::new());
                programs.len() - 1
            });
            members[g].push(i as u32);
        }
        let leaves: Vec<usize> = members
            .iter()
            .map(|m| starts[m[0] as usize + 1].1 - starts[m[0] as usize].1)
            .collect();
        let mut order: Vec<usize> = (0..programs.len()).collect();
        order.sort_by_key(|&g| {
            (
                std::cmp::Reverse(leaves[g]),
                std::cmp::Reverse(programs[g].len()),
                g,
            )
        });
        // Old slot → new slot.
        let mut renumber = vec![0u32; self.draws.len()];
        let mut draws = vec![0u64; self.draws.len()];
        let mut ops = Vec::with_capacity(self.ops.len());
        let mut shapes = Vec::with_capacity(order.len());
        let mut base = 0usize;
        for g in order {
            let m = members[g].len();
            for (i, &e) in members[g].iter().enumerate() {
                let (from, to) = (starts[e as usize].1, starts[e as usize + 1].1);
                for (j, old) in (from..to).enumerate() {
                    let new = base + j * m + i;
                    renumber[old] = new as u32;
                    draws[new] = self.draws[old];
                }
            }
            let start = ops.len();
            ops.extend_from_slice(&programs[g]);
            shapes.push(Shape {
                ops: (start, ops.len()),
                base,
                members: std::mem::take(&mut members[g]),
            });
            base += leaves[g] * m;
        }
        for slots in &mut self.function_slots {
            for s in slots.iter_mut() {
                *s = renumber[*s as usize];
            }
        }
        self.draws = draws;
        self.ops = ops;
        self.shapes = shapes;
    }

    /// Number of scenarios.
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// The seed they were sampled from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of invocations over all scenarios.
    pub fn slots(&self) -> usize {
        self.draws.len()
    }

    /// The slots of function `f`, in order.
    pub fn function_slots(&self, f: usize) -> &[u32] {
        &self.function_slots[f]
    }

    /// The raw draw of a slot.
    pub fn draw(&self, slot: u32) -> u64 {
        self.draws[slot as usize]
    }

    /// Each scenario's end-to-end latency when slot `i` takes `durations[i]` ms (one entry per
    /// slot), into `out` (cleared first; scenario `i`'s latency at `out[i]`).
    pub fn latencies(&self, durations: &[f64], out: &mut Vec<f64>, stack: &mut Vec<f64>) {
        out.clear();
        out.resize(self.runs, 0.0);
        let mut tmp = Vec::new();
        for shape in &self.shapes {
            tmp.clear();
            self.evaluate(shape, durations, stack, &mut tmp);
            for (&e, &l) in shape.members.iter().zip(&tmp) {
                out[e as usize] = l;
            }
        }
    }

    /// The scenarios' latencies ([`Scenarios::latencies`]) in an order of their own (shape by
    /// shape, the longest executions first) into `out`, stopping after the first shape with a
    /// latency for which `go_on` (called with each latency in turn) says `false`; `true` when
    /// every scenario was computed.
    pub fn latencies_while(
        &self,
        durations: &[f64],
        out: &mut Vec<f64>,
        stack: &mut Vec<f64>,
        mut go_on: impl FnMut(f64) -> bool,
    ) -> bool {
        out.clear();
        for shape in &self.shapes {
            let from = out.len();
            self.evaluate(shape, durations, stack, out);
            let mut going = true;
            for &l in &out[from..] {
                going &= go_on(l);
            }
            if !going {
                return false;
            }
        }
        true
    }

    /// Appends the latencies of `shape`'s executions, in its members' order, to `out`.
    fn evaluate(&self, shape: &Shape, durations: &[f64], stack: &mut Vec<f64>, out: &mut Vec<f64>) {
        let m = shape.members.len();
        let leaf = |j: u32| &durations[shape.base + j as usize * m..][..m];
        // `sp` columns of `m` values each.
        let mut sp = 0usize;
        stack.clear();
        for op in &self.ops[shape.ops.0..shape.ops.1] {
            match *op {
                Op::Leaf(j) => {
                    let d = leaf(j);
                    stack.extend(d.iter().map(|&x| x + self.per_state_ms));
                    sp += 1;
                }
                Op::State(k) => {
                    let x = self.state_ms[k as usize] + self.per_state_ms;
                    stack.resize(stack.len() + m, x);
                    sp += 1;
                }
                Op::Sum(0) | Op::Max(0) => {
                    stack.resize(stack.len() + m, 0.0);
                    sp += 1;
                }
                Op::Sum(k) => {
                    let at = (sp - k as usize) * m;
                    let (head, tail) = stack[at..].split_at_mut(m);
                    for c in tail.chunks_exact(m) {
                        for (a, &b) in head.iter_mut().zip(c) {
                            *a += b;
                        }
                    }
                    stack.truncate(at + m);
                    sp -= k as usize - 1;
                }
                Op::Max(k) => {
                    let at = (sp - k as usize) * m;
                    let (head, tail) = stack[at..].split_at_mut(m);
                    for a in head.iter_mut() {
                        *a = f64::max(0.0, *a);
                    }
                    for c in tail.chunks_exact(m) {
                        for (a, &b) in head.iter_mut().zip(c) {
                            *a = a.max(b);
                        }
                    }
                    stack.truncate(at + m);
                    sp -= k as usize - 1;
                }
                Op::End => {
                    if sp == 0 {
                        out.resize(out.len() + m, self.fixed_ms);
                    } else {
                        let at = (sp - 1) * m;
                        out.extend(stack[at..at + m].iter().map(|&l| l + self.fixed_ms));
                        stack.truncate(at);
                        sp -= 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bundle;
    use crate::simulate::{Draw, DurationSource, SimulationRequest, quantile, simulate};

    fn app(text: &str) -> Application {
        Bundle::from_json(text).unwrap().validate().unwrap()
    }

    /// The scenarios of a seed are the simulator's executions of that seed, bit for bit.
    fn same_as_the_simulator(app: &Application, durations: DurationSource) {
        let runs = 3000;
        let s = Scenarios::sample(app, runs, 11).unwrap();
        let mut slot = vec![0.0; s.slots()];
        for (f, func) in app.functions.iter().enumerate() {
            let d = Draw::new(func, app.deployed[f], durations);
            for &i in s.function_slots(f) {
                slot[i as usize] = d.pick(s.draw(i));
            }
        }
        let (mut out, mut stack) = (Vec::new(), Vec::new());
        s.latencies(&slot, &mut out, &mut stack);
        assert_eq!(out.len(), runs);
        let r = simulate(
            app,
            &app.deployed,
            &SimulationRequest {
                runs,
                seed: 11,
                durations,
                bins: 10,
            },
        )
        .unwrap();
        let mean = out.iter().sum::<f64>() / runs as f64;
        assert_eq!(mean, r.mean_ms);
        out.sort_unstable_by(f64::total_cmp);
        assert_eq!(quantile(&out, 0.95), r.p95_ms);
        assert_eq!(quantile(&out, 0.99), r.p99_ms);
        assert_eq!(out[runs - 1], r.max_ms);
    }

    #[test]
    fn scenarios_are_the_simulators_executions() {
        let media = app(include_str!("../../../examples/media-pipeline.bundle.json"));
        same_as_the_simulator(&media, DurationSource::Samples);
        same_as_the_simulator(&media, DurationSource::Model);
        same_as_the_simulator(
            &app(include_str!("../../../examples/app3.bundle.json")),
            DurationSource::Samples,
        );
    }

    #[test]
    fn bad_counts_are_refused() {
        let a = app(include_str!("../../../examples/app3.bundle.json"));
        assert_eq!(
            Scenarios::sample(&a, 0, 1).unwrap_err().to_string(),
            "scenarios: must be from 1 to 1000000, found 0"
        );
    }
}
