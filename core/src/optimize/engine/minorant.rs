//! Linear lower bounds on a composite unit's latency (a parallel block too large to enumerate),
//! for the Lagrangian relaxation.
//!
//! A parallel block's latency is the maximum of its arms' (the thesis' model) or the expected
//! maximum over the outcomes of the branches and loops inside them (the branch-aware model);
//! either is at least any convex combination `Σ_j θ_j · E[arm_j]` of its arms' expected
//! latencies (`E[max] ≥ max E ≥ Σ θ E`), and an arm's expected latency is linear in its
//! functions' durations once every parallel block nested in it is replaced the same way. So for
//! weights `θ` on every parallel block's arms,
//!
//! ```text
//! T_u(d) ≥ L_θ(d) = c_θ + Σ_f ν_f(θ) · d_f,
//! ```
//!
//! with `ν_f` the expected invocations of `f` along the weighted arms and `c_θ` their delays.
//! The unit's contribution `V_u(d) = α(T_u(d) − T_u(fastest))` (`α`: the unit's expected
//! executions) also needs `α·T_u(fastest)` from above: additivity gives
//! `α(T_u(fastest) − T_u(0)) = T(fastest) − T(0 ⊕ fastest)` (the unit's durations set to 0),
//! and `T_u(0)`, delays only, is at most the sum of all its arms' delays (a maximum is at most
//! the sum of non-negative terms). The weights `θ` are dual variables like the multipliers:
//! [`super::lagrange`] chooses them. A block holding a Map state gets no bound (its waves'
//! expected maxima are not compared with the arms' here): `V_u ≥ 0` only.

use crate::workflow::{Structure, Workflow};

/// One line of a block under one outcome: `constant + Σ multiplicity · d_f`.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// `(function, multiplicity)`.
    pub terms: Vec<(usize, f64)>,
    /// Delays along it.
    pub constant: f64,
}

impl Line {
    fn value(&self, d: &[f64]) -> f64 {
        self.constant
            + self
                .terms
                .iter()
                .map(|&(f, m)| m * d.get(f).copied().unwrap_or(0.0))
                .sum::<f64>()
    }
}

/// How a composite unit's block is bounded.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Arm weights on every parallel block inside (`max ≥ Σ θ·arm`), valid under either model.
    Arms {
        /// The block.
        block: Structure,
        /// Its multiplier.
        alpha: f64,
        /// Arms of each parallel block inside, in walk order (the layout of `θ`).
        arms: Vec<usize>,
    },
    /// A branch-aware random block whose arms hold only branches (no loops, no Map) and have
    /// at most [`MAX_OUTCOMES`] joint outcomes: the plan computes exactly
    /// `Σ_s P(s) · max_{lines of s} value` (no bucketing at that size), so weights on each
    /// outcome's lines give its subgradients: tight wherever one line is the slowest.
    Outcomes {
        /// Its multiplier.
        alpha: f64,
        /// Each joint outcome of the branches: its probability and the lines (complete paths
        /// through the parallel blocks) whose maximum is its latency.
        outcomes: Vec<(f64, Vec<Line>)>,
    },
}

/// Most joint outcomes (and lines per outcome) a block's exact bound enumerates; at most
/// [`crate::workflow::MAX_ATOMS`], so that the plan's distributions are exact there.
pub const MAX_OUTCOMES: usize = crate::workflow::MAX_ATOMS;

/// A composite unit's blocks and what its bounds need.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    /// Its functions.
    pub functions: Vec<usize>,
    /// Its blocks.
    pub pieces: Vec<Piece>,
    /// `U ≥ Σ α·T_b(fastest)`.
    pub upper_fastest: f64,
    /// Whether the linear bound applies (no Map state inside).
    pub linear: bool,
}

impl Composite {
    /// Number of weights `θ` the unit's bound has.
    pub fn theta_len(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Arms { arms, .. } => arms.iter().sum::<usize>(),
                Piece::Outcomes { outcomes, .. } => outcomes.iter().map(|(_, l)| l.len()).sum(),
            })
            .sum()
    }

    /// Adds the unit's linear bound's coefficients for weights `theta` to `nu`; returns its
    /// constant (less `upper_fastest`).
    pub fn linear(&self, walk: &Walk, theta: &[f64], nu: &mut [f64]) -> f64 {
        let mut at = 0;
        let mut constant = -self.upper_fastest;
        for p in &self.pieces {
            match p {
                Piece::Arms { block, alpha, .. } => {
                    let mut cursor = 0;
                    let start = at;
                    let len = count_arms(block);
                    constant +=
                        walk.linear(block, *alpha, &theta[start..start + len], &mut cursor, nu);
                    at += len;
                }
                Piece::Outcomes { alpha, outcomes } => {
                    for (prob, lines) in outcomes {
                        for l in lines {
                            let w = theta.get(at).copied().unwrap_or(0.0) * alpha * prob;
                            at += 1;
                            if w > 0.0 {
                                constant += w * l.constant;
                                for &(f, m) in &l.terms {
                                    if let Some(x) = nu.get_mut(f) {
                                        *x += w * m;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        constant
    }

    /// The one-hot weights on the slowest arm (line) of every block (outcome) at durations `d`,
    /// nested blocks weighted by `theta`.
    pub fn target(&self, walk: &Walk, d: &[f64], theta: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.theta_len()];
        let mut at = 0;
        for p in &self.pieces {
            match p {
                Piece::Arms { block, .. } => {
                    let len = count_arms(block);
                    let mut cursor = 0;
                    walk.argmax(
                        block,
                        d,
                        &theta[at..at + len],
                        &mut cursor,
                        &mut out[at..at + len],
                    );
                    at += len;
                }
                Piece::Outcomes { outcomes, .. } => {
                    for (_, lines) in outcomes {
                        let mut top = 0;
                        let values: Vec<f64> = lines.iter().map(|l| l.value(d)).collect();
                        for (k, v) in values.iter().enumerate() {
                            if *v > values[top] {
                                top = k;
                            }
                        }
                        out[at + top] = 1.0;
                        at += lines.len();
                    }
                }
            }
        }
        out
    }
}

/// The joint outcomes of a structure's branches, each with the lines whose maximum is its
/// latency; `None` for a loop or a Map inside, or past [`MAX_OUTCOMES`].
pub fn outcomes(s: &Structure, walk: &Walk) -> Option<Vec<(f64, Vec<Line>)>> {
    let single =
        |terms: Vec<(usize, f64)>, constant: f64| Some(vec![(1.0, vec![Line { terms, constant }])]);
    match s {
        Structure::Function(f) if *f >= walk.functions => {
            single(Vec::new(), walk.fixed(*f) + walk.per_state)
        }
        Structure::Function(f) => single(vec![(*f, 1.0)], walk.per_state),
        Structure::Sequence(items) => {
            let mut acc: Vec<(f64, Vec<Line>)> = vec![(
                1.0,
                vec![Line {
                    terms: Vec::new(),
                    constant: 0.0,
                }],
            )];
            for i in items {
                let next = outcomes(i, walk)?;
                let mut out = Vec::with_capacity(acc.len() * next.len());
                for (p, lines) in &acc {
                    for (q, more) in &next {
                        let mut joined = Vec::with_capacity(lines.len() * more.len());
                        for a in lines {
                            for b in more {
                                let mut terms = a.terms.clone();
                                terms.extend_from_slice(&b.terms);
                                joined.push(Line {
                                    terms,
                                    constant: a.constant + b.constant,
                                });
                            }
                        }
                        if joined.len() > MAX_OUTCOMES {
                            return None;
                        }
                        out.push((p * q, joined));
                    }
                }
                if out.len() > MAX_OUTCOMES {
                    return None;
                }
                acc = out;
            }
            Some(acc)
        }
        Structure::Branch(arms) => {
            let mut out = Vec::new();
            for (p, a) in arms {
                for (q, lines) in outcomes(a, walk)? {
                    out.push((p * q, lines));
                }
            }
            (out.len() <= MAX_OUTCOMES).then_some(out)
        }
        Structure::Parallel(arms) => {
            let mut acc: Vec<(f64, Vec<Line>)> = vec![(1.0, Vec::new())];
            for a in arms {
                let next = outcomes(a, walk)?;
                let mut out = Vec::with_capacity(acc.len() * next.len());
                for (p, lines) in &acc {
                    for (q, more) in &next {
                        let mut union = lines.clone();
                        union.extend(more.iter().cloned());
                        if union.len() > MAX_OUTCOMES {
                            return None;
                        }
                        out.push((p * q, union));
                    }
                }
                if out.len() > MAX_OUTCOMES {
                    return None;
                }
                acc = out;
            }
            Some(acc)
        }
        Structure::Repeat {
            expected_runs,
            body,
            ..
        } if *expected_runs <= 1.0 => outcomes(body, walk),
        Structure::Repeat { .. } | Structure::Map { .. } => None,
    }
}

/// The exact branch-aware expected latency of outcomes at durations `d`.
pub fn expected_max(outcomes: &[(f64, Vec<Line>)], d: &[f64]) -> f64 {
    outcomes
        .iter()
        .map(|(p, lines)| {
            p * lines
                .iter()
                .map(|l| l.value(d))
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum()
}

/// What a walk needs to know about the workflow.
#[derive(Debug, Clone, Copy)]
pub struct Walk<'w> {
    /// Number of functions (leaves at or above are state nodes).
    pub functions: usize,
    /// Delay of each state entered.
    pub per_state: f64,
    /// The workflow (its state nodes' fixed delays).
    pub workflow: &'w Workflow,
}

impl Walk<'_> {
    /// The fixed delay of state node leaf `i`.
    pub fn fixed(&self, i: usize) -> f64 {
        self.workflow.state_delay_ms(i).unwrap_or(0.0)
    }

    /// Adds `m · L_θ(s)`'s coefficients to `nu` and returns its constant; `theta` is read from
    /// `*at` on, one weight per arm of each parallel block met.
    pub fn linear(
        &self,
        s: &Structure,
        m: f64,
        theta: &[f64],
        at: &mut usize,
        nu: &mut [f64],
    ) -> f64 {
        match s {
            Structure::Function(f) if *f >= self.functions => m * (self.fixed(*f) + self.per_state),
            Structure::Function(f) => {
                if let Some(x) = nu.get_mut(*f) {
                    *x += m;
                }
                m * self.per_state
            }
            Structure::Sequence(items) => {
                items.iter().map(|i| self.linear(i, m, theta, at, nu)).sum()
            }
            Structure::Branch(arms) => arms
                .iter()
                .map(|(p, a)| self.linear(a, m * p, theta, at, nu))
                .sum(),
            Structure::Repeat {
                expected_runs,
                body,
                ..
            } => self.linear(body, m * expected_runs, theta, at, nu),
            Structure::Map { waves, body, .. } => self.linear(body, m * waves, theta, at, nu),
            Structure::Parallel(arms) => {
                let start = *at;
                *at += arms.len();
                let mut c = 0.0;
                for (j, a) in arms.iter().enumerate() {
                    let w = theta.get(start + j).copied().unwrap_or(0.0);
                    if w > 0.0 {
                        c += self.linear(a, m * w, theta, at, nu);
                    } else {
                        // Skip the arm, but keep the cursor in step with the walk.
                        *at += count_arms(a);
                    }
                }
                c
            }
        }
    }

    /// The value of `s` at durations `d` with every parallel block weighted by `theta`, and,
    /// into `best`, each block's heaviest arm at `d` (a one-hot weight).
    pub fn argmax(
        &self,
        s: &Structure,
        d: &[f64],
        theta: &[f64],
        at: &mut usize,
        best: &mut [f64],
    ) -> f64 {
        match s {
            Structure::Function(f) if *f >= self.functions => self.fixed(*f) + self.per_state,
            Structure::Function(f) => d.get(*f).copied().unwrap_or(0.0) + self.per_state,
            Structure::Sequence(items) => items
                .iter()
                .map(|i| self.argmax(i, d, theta, at, best))
                .sum(),
            Structure::Branch(arms) => arms
                .iter()
                .map(|(p, a)| p * self.argmax(a, d, theta, at, best))
                .sum(),
            Structure::Repeat {
                expected_runs,
                body,
                ..
            } => expected_runs * self.argmax(body, d, theta, at, best),
            Structure::Map { waves, body, .. } => waves * self.argmax(body, d, theta, at, best),
            Structure::Parallel(arms) => {
                let start = *at;
                *at += arms.len();
                let values: Vec<f64> = arms
                    .iter()
                    .map(|a| self.argmax(a, d, theta, at, best))
                    .collect();
                let mut top = 0;
                for (j, v) in values.iter().enumerate() {
                    if *v > values[top] {
                        top = j;
                    }
                }
                for j in 0..arms.len() {
                    if let Some(x) = best.get_mut(start + j) {
                        *x = if j == top { 1.0 } else { 0.0 };
                    }
                }
                values
                    .iter()
                    .enumerate()
                    .map(|(j, v)| theta.get(start + j).copied().unwrap_or(0.0) * v)
                    .sum()
            }
        }
    }

    /// An upper bound on `s`'s latency with every duration 0 (its delays): parallel blocks
    /// summed, not maximised.
    pub fn delays_upper(&self, s: &Structure) -> f64 {
        match s {
            Structure::Function(f) if *f >= self.functions => self.fixed(*f) + self.per_state,
            Structure::Function(_) => self.per_state,
            Structure::Sequence(items) | Structure::Parallel(items) => {
                items.iter().map(|i| self.delays_upper(i)).sum()
            }
            Structure::Branch(arms) => arms.iter().map(|(p, a)| p * self.delays_upper(a)).sum(),
            Structure::Repeat {
                expected_runs,
                body,
                ..
            } => expected_runs * self.delays_upper(body),
            Structure::Map { waves, body, .. } => waves * self.delays_upper(body),
        }
    }
}

/// Number of `θ` weights a structure uses (arms of every parallel block inside).
pub fn count_arms(s: &Structure) -> usize {
    match s {
        Structure::Function(_) => 0,
        Structure::Sequence(items) => items.iter().map(count_arms).sum(),
        Structure::Parallel(arms) => arms.len() + arms.iter().map(count_arms).sum::<usize>(),
        Structure::Branch(arms) => arms.iter().map(|(_, a)| count_arms(a)).sum(),
        Structure::Repeat { body, .. } | Structure::Map { body, .. } => count_arms(body),
    }
}

/// Does a structure hold a Map state?
pub fn has_map(s: &Structure) -> bool {
    match s {
        Structure::Function(_) => false,
        Structure::Sequence(items) | Structure::Parallel(items) => items.iter().any(has_map),
        Structure::Branch(arms) => arms.iter().any(|(_, a)| has_map(a)),
        Structure::Repeat { body, .. } => has_map(body),
        Structure::Map { .. } => true,
    }
}

/// The arities of every parallel block in walk order.
pub fn arities(s: &Structure, out: &mut Vec<usize>) {
    match s {
        Structure::Function(_) => {}
        Structure::Sequence(items) => {
            for i in items {
                arities(i, out);
            }
        }
        Structure::Parallel(arms) => {
            out.push(arms.len());
            for a in arms {
                arities(a, out);
            }
        }
        Structure::Branch(arms) => {
            for (_, a) in arms {
                arities(a, out);
            }
        }
        Structure::Repeat { body, .. } | Structure::Map { body, .. } => arities(body, out),
    }
}
