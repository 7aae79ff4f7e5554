//! The Lagrangian bound: what couples the objective to the limits.
//!
//! The corner bounds look at one quantity at a time: with a tight budget, "every unassigned
//! function at its fastest option" is far below what the budget can buy, and the search would
//! wade through configurations the budget excludes. Over the layout's variables the expected
//! latency is a sum (whole units' exact contributions; a composite unit's contribution is at
//! least the linear bound of [`super::minorant`]), the cost is a sum (plus the Express duration
//! charge, non-decreasing in the latency) and, when the score is a weighted sum, so is the
//! accuracy. Write each problem as "minimise `q₀` subject to `q_k ≤ b_k`" (`q` = latency, cost,
//! or minus the accuracy). For multipliers `λ_k ≥ 0` and every configuration meeting the limits,
//!
//! ```text
//! q₀(x) ≥ q₀(x) + Σ_k λ_k (q_k(x) − b_k) ≥ constant + Σ_vars w_v(x_v),
//! ```
//!
//! a sum over the variables of a weight `w(o) = Λ_T·t(o) + Λ_C·cost(o) − Λ_A·accuracy(o)`
//! (`Λ` = the objective's weight plus the multiplier of the same quantity's limit; `t` a whole
//! unit's contribution or a composite unit's function's linear coefficient times its
//! duration). Its minimum over the completions of a node is the assigned part plus each
//! unassigned variable's lightest option: a lower bound on the objective of every completion
//! meeting the limits. A node whose bound cannot beat the incumbent is cut, and the bound is the
//! one an unfinished search certifies. When the objective is not a sum (a percentile, a
//! non-additive score) its weight is 0 and the same sum bounds the limits' slack: a node whose
//! minimum is positive has no completion meeting the limits.
//!
//! The multipliers and the arm weights `θ` of the composite units' parallel blocks maximise the
//! bound at the root (the Lagrangian dual, concave in both): coordinate ascent with a
//! golden-section search per multiplier, and for `θ` steps towards each block's slowest arm in
//! the relaxation's own answer (the conditional gradient method on the arm simplices). Any
//! multipliers and weights give a valid bound; better ones cut more.

use super::super::{Objective, Problem, SearchSpace, tol};
use super::layout::{Layout, VarOption};
use super::minorant::Walk;
use crate::accuracy::ScoreForm;

mod knapsack;
pub use knapsack::{KNAPSACK_BUCKETS, Knapsack};
use knapsack::{knapsack_root, lattice, top_steps};

/// Which quantities enter the relaxation and with what weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// `Λ_T`: per ms of expected latency.
    pub latency: f64,
    /// `Λ_C`: per USD per million executions.
    pub cost: f64,
    /// `Λ_A`: per accuracy point (a sum score only).
    pub accuracy: f64,
    /// The objective's own weight: 1 when the objective is one of the sums, else 0.
    pub objective: f64,
    /// `Σ_k λ_k b_k`, the limits' part of the constant.
    pub limits: f64,
}

impl Weights {
    fn of(&self, t: f64, o: &VarOption) -> f64 {
        self.latency * t + self.cost * o.cost - self.accuracy * o.accuracy
    }

    /// Is every weight zero (nothing to bound)?
    pub fn is_zero(&self) -> bool {
        self.latency == 0.0 && self.cost == 0.0 && self.accuracy == 0.0
    }
}

/// The relaxation of one problem on one layout.
#[derive(Debug, Clone)]
pub struct Relaxation {
    /// The weights.
    pub weights: Weights,
    /// Per variable, per option: its weight.
    pub option_weights: Vec<Vec<f64>>,
    /// Per variable, the lightest option's weight.
    pub lightest: Vec<f64>,
    /// The constant part of the bound (the latency at the fastest corner and the composite
    /// units' constants, the fixed cost, the score's constant, minus the limits).
    pub constant: f64,
    /// Is the objective one of the sums (the bound bounds it)?
    pub bounds_objective: bool,
    /// Per variable, per option: the latency part of its weight (`Λ_T·t`).
    pub latency_weights: Vec<Vec<f64>>,
    /// Per composite unit: the latency part of its constant (`Λ_T·(c_θ − U)`, in
    /// [`Relaxation::constant`]). Once a unit is fully assigned, its exact contribution
    /// replaces this and its functions' latency parts.
    pub composite_constants: Vec<f64>,
    /// `Λ_T`.
    pub latency_weight: f64,
    /// The accuracy kept exact (up to a grid) by dynamic programming instead of priced: see
    /// [`Knapsack`].
    pub knapsack: Option<Knapsack>,
}

/// Which quantities of a problem are sums over the layout's variables.
struct Shape {
    /// Multipliers that may move: latency, cost, accuracy limits present and additive.
    free: [bool; 3],
    /// Limits `b_k` in minimisation form: latency, cost, −accuracy.
    limits: [f64; 3],
    /// The objective's quantity (0 latency, 1 cost, 2 −accuracy), when it is a sum.
    objective: Option<usize>,
}

fn shape(problem: &Problem, layout: &Layout) -> Shape {
    let sum = matches!(layout.form, ScoreForm::Sum { .. });
    let c = &problem.constraints;
    // Limits are loosened by their tolerance, as every check is.
    let free = [
        c.max_latency_ms.is_some(),
        c.max_cost_usd_per_million.is_some(),
        c.min_accuracy.is_some() && sum,
    ];
    let limits = [
        c.max_latency_ms.map_or(0.0, |l| l + tol(l)),
        c.max_cost_usd_per_million.map_or(0.0, |b| b + tol(b)),
        c.min_accuracy.map_or(0.0, |a| -(a - tol(a))),
    ];
    let objective = match problem.objective {
        Objective::Latency => Some(0),
        Objective::Cost => Some(1),
        Objective::Accuracy if sum => Some(2),
        _ => None,
    };
    Shape {
        free,
        limits,
        objective,
    }
}

fn weights(shape: &Shape, lambda: [f64; 3]) -> Weights {
    let mut w = [0.0; 3];
    let mut limits = 0.0;
    for k in 0..3 {
        if shape.free[k] {
            w[k] += lambda[k];
            limits += lambda[k] * shape.limits[k];
        }
    }
    let objective = match shape.objective {
        Some(k) => {
            w[k] += 1.0;
            1.0
        }
        None => 0.0,
    };
    Weights {
        latency: w[0],
        cost: w[1],
        accuracy: w[2],
        objective,
        limits,
    }
}

/// The latency terms of the variables for given arm weights: per variable, per option, `t(o)`;
/// and the latency constant (the fastest corner plus the composite units' constants).
struct Terms {
    t: Vec<Vec<f64>>,
    constant: f64,
    /// Per composite unit, its constant (already in `constant`).
    composites: Vec<f64>,
}

struct Context<'l, 's, 'a> {
    space: &'l SearchSpace<'a>,
    layout: &'l Layout,
    walk: Walk<'s>,
    shape: Shape,
    accuracy_constant: f64,
}

impl Context<'_, '_, '_> {
    fn terms(&self, theta: &[Vec<f64>]) -> Terms {
        let n = self.space.options.len();
        let mut constant = self.layout.fastest_latency;
        let mut nu = vec![0.0; n];
        let mut composites = vec![0.0; self.layout.composites.len()];
        for ((c, th), k) in self
            .layout
            .composites
            .iter()
            .zip(theta)
            .zip(&mut composites)
        {
            if !c.linear {
                continue;
            }
            *k = c.linear(&self.walk, th, &mut nu);
            constant += *k;
        }
        let t = self
            .layout
            .vars
            .iter()
            .map(|v| {
                v.options
                    .iter()
                    .map(|o| {
                        if v.enumerated {
                            o.latency
                        } else {
                            v.functions
                                .iter()
                                .zip(&o.picks)
                                .map(|(&f, &p)| nu[f] * self.space.options[f][p].duration_ms)
                                .sum()
                        }
                    })
                    .collect()
            })
            .collect();
        Terms {
            t,
            constant,
            composites,
        }
    }

    /// The bound at the root, and each variable's lightest option.
    fn root(&self, terms: &Terms, w: &Weights, choice: Option<&mut Vec<usize>>) -> f64 {
        let mut rest = 0.0;
        let mut picks = Vec::new();
        for (v, t) in self.layout.vars.iter().zip(&terms.t) {
            let mut best = (f64::INFINITY, 0);
            for (i, (o, &ti)) in v.options.iter().zip(t).enumerate() {
                let x = w.of(ti, o);
                if x < best.0 {
                    best = (x, i);
                }
            }
            rest += best.0;
            picks.push(best.1);
        }
        if let Some(c) = choice {
            *c = picks;
        }
        let cost = self.space.fixed_cost + self.space.latency_cost(self.layout.fastest_latency);
        w.latency * terms.constant + w.cost * cost - w.accuracy * self.accuracy_constant + rest
            - w.limits
    }

    /// The multipliers maximising the root bound for given terms, from `start`.
    fn multipliers(&self, terms: &Terms, start: [f64; 3], spread: &[f64; 3]) -> ([f64; 3], f64) {
        let shape = &self.shape;
        let root = |lambda: [f64; 3]| self.root(terms, &weights(shape, lambda), None);
        maximize_dual(&root, shape, start, spread)
    }
}

/// Coordinate ascent on the free multipliers of `shape` from `start`, each by golden-section
/// search; returns the best multipliers and bound found.
fn maximize_dual(
    root: &dyn Fn([f64; 3]) -> f64,
    shape: &Shape,
    start: [f64; 3],
    spread: &[f64; 3],
) -> ([f64; 3], f64) {
    let mut lambda = start;
    let mut best = root(lambda);
    if !shape.free.iter().any(|&f| f) {
        return (lambda, best);
    }
    let objective_spread = shape.objective.map_or(1.0, |k| spread[k].max(1e-12));
    for _round in 0..4 {
        let before = best;
        for k in 0..3 {
            if !shape.free[k] || spread[k] <= 0.0 {
                continue;
            }
            let scale = objective_spread / spread[k];
            let (x, v) = golden(
                |x| {
                    let mut l = lambda;
                    l[k] = x;
                    root(l)
                },
                scale * 1e-6,
                scale * 1e6,
            );
            if v > best {
                best = v;
                lambda[k] = x;
            }
            let mut zero = lambda;
            zero[k] = 0.0;
            let v0 = root(zero);
            if v0 > best {
                best = v0;
                lambda = zero;
            }
        }
        if best <= before + 1e-12 * before.abs().max(1.0) {
            break;
        }
    }
    (lambda, best)
}

/// Per variable, per option: its weight `w(o)` under `w` with the latency terms `terms`.
fn option_weights(layout: &Layout, terms: &Terms, w: &Weights) -> Vec<Vec<f64>> {
    layout
        .vars
        .iter()
        .zip(&terms.t)
        .map(|(v, t)| {
            v.options
                .iter()
                .zip(t)
                .map(|(o, &ti)| w.of(ti, o))
                .collect()
        })
        .collect()
}

/// Per variable, per option: its accuracy in whole steps of `step`, rounded up (the knapsack's
/// levels; rounding up keeps the tables a relaxation).
fn quanta(layout: &Layout, step: f64) -> Vec<Vec<u32>> {
    layout
        .vars
        .iter()
        .map(|v| {
            v.options
                .iter()
                .map(|o| (o.accuracy.max(0.0) / step - 1e-9).ceil().max(0.0) as u32)
                .collect()
        })
        .collect()
}

/// Rounds of the arm weights' updates.
const THETA_ROUNDS: usize = 12;

impl Relaxation {
    /// The relaxation of `problem`, its multipliers and arm weights maximising the root bound.
    pub fn new(space: &SearchSpace, layout: &Layout, problem: &Problem) -> Relaxation {
        let shape = shape(problem, layout);
        let accuracy_constant = match &layout.form {
            ScoreForm::Sum { constant, .. } => *constant,
            _ => 0.0,
        };
        let ctx = Context {
            space,
            layout,
            walk: Walk {
                functions: space.options.len(),
                per_state: space.app.delays.per_state_ms(),
                workflow: &space.app.workflow,
            },
            shape,
            accuracy_constant,
        };
        // Arm weights: each block's slowest arm with every function at its fastest.
        let mut theta: Vec<Vec<f64>> = layout
            .composites
            .iter()
            .map(|c| {
                let zero = vec![0.0; c.theta_len()];
                c.target(&ctx.walk, &layout.fastest, &zero)
            })
            .collect();
        let mut terms = ctx.terms(&theta);
        // Natural scales: the spread of each quantity over the variables' options.
        let spread = |terms: &Terms| -> [f64; 3] {
            let mut s = [0.0f64; 3];
            for (v, t) in layout.vars.iter().zip(&terms.t) {
                let range = |it: &mut dyn Iterator<Item = f64>| {
                    let (lo, hi) = it.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                        (a.min(x), b.max(x))
                    });
                    if hi > lo { hi - lo } else { 0.0 }
                };
                s[0] += range(&mut t.iter().copied());
                s[1] += range(&mut v.options.iter().map(|o| o.cost));
                s[2] += range(&mut v.options.iter().map(|o| o.accuracy));
            }
            s
        };
        let (mut lambda, mut best) = ctx.multipliers(&terms, [0.0; 3], &spread(&terms));
        let mut best_theta = theta.clone();
        let linear = layout.composites.iter().any(|c| c.linear);
        if linear && (ctx.shape.objective.is_some_and(|k| k == 0) || ctx.shape.free[0]) {
            let mut choice = Vec::new();
            let mut current = lambda;
            for round in 0..THETA_ROUNDS {
                // The relaxation's answer, and each block's slowest arm in it.
                ctx.root(&terms, &weights(&ctx.shape, current), Some(&mut choice));
                let mut d = layout.fastest.clone();
                for ((v, &i), _) in layout.vars.iter().zip(&choice).zip(0..) {
                    for (&f, &p) in v.functions.iter().zip(&v.options[i].picks) {
                        d[f] = space.options[f][p].duration_ms;
                    }
                }
                let step = 2.0 / (round as f64 + 3.0);
                for (c, th) in layout.composites.iter().zip(theta.iter_mut()) {
                    let target = c.target(&ctx.walk, &d, th);
                    for (x, t) in th.iter_mut().zip(&target) {
                        *x += step * (t - *x);
                    }
                }
                terms = ctx.terms(&theta);
                let (l, v) = ctx.multipliers(&terms, current, &spread(&terms));
                current = l;
                if v > best {
                    best = v;
                    lambda = l;
                    best_theta = theta.clone();
                }
            }
            terms = ctx.terms(&best_theta);
        }
        // A sum score under a floor, or as the objective: kept exact by the knapsack tables.
        let keep_accuracy = matches!(layout.form, ScoreForm::Sum { .. })
            && (problem.constraints.min_accuracy.is_some()
                || problem.objective == Objective::Accuracy);
        let mut w = weights(&ctx.shape, lambda);
        let mut knapsack = None;
        if keep_accuracy {
            let top: f64 = layout
                .vars
                .iter()
                .map(|v| v.options.iter().map(|o| o.accuracy).fold(0.0, f64::max))
                .sum();
            if top > 0.0 {
                let delta = lattice(layout, top).unwrap_or(top / KNAPSACK_BUCKETS);
                // Without the accuracy's price: the limits' part of the constant loses the
                // floor's share.
                w.limits -= if ctx.shape.free[2] {
                    lambda[2] * ctx.shape.limits[2]
                } else {
                    0.0
                };
                w.accuracy = 0.0;
                knapsack = Some(Knapsack {
                    delta,
                    quanta: quanta(layout, delta),
                    need: problem
                        .constraints
                        .min_accuracy
                        .map(|a| a - tol(a) - accuracy_constant),
                    objective: problem.objective == Objective::Accuracy,
                    constant: accuracy_constant,
                });
            }
        }
        if let Some(k) = &knapsack
            && let Some(need) = k.need
            && !k.objective
            && (ctx.shape.free[0] || ctx.shape.free[1])
        {
            // The multipliers of the other limits again, now with the accuracy exact: on a
            // coarse grid (each accuracy rounded up: still a relaxation) to keep it quick.
            let coarse = (k.delta * (top_steps(k) as f64 / 256.0).max(1.0)).max(k.delta);
            let quanta = quanta(layout, coarse);
            let need_q = if need <= 0.0 {
                0
            } else {
                (need / coarse - 1e-9).ceil() as usize
            };
            let mut shape = Shape {
                free: ctx.shape.free,
                limits: ctx.shape.limits,
                objective: ctx.shape.objective,
            };
            shape.free[2] = false;
            let fastest_cost = space.fixed_cost + space.latency_cost(layout.fastest_latency);
            let root = |lambda: [f64; 3]| -> f64 {
                let w = weights(&shape, lambda);
                let ws = option_weights(layout, &terms, &w);
                w.latency * terms.constant + w.cost * fastest_cost - w.limits
                    + knapsack_root(&ws, &quanta, need_q)
            };
            let start = [lambda[0], lambda[1], 0.0];
            let (l, _) = maximize_dual(&root, &shape, start, &spread(&terms));
            w = weights(&shape, l);
        }
        let option_weights = option_weights(layout, &terms, &w);
        let lightest = option_weights
            .iter()
            .map(|ws| ws.iter().copied().fold(f64::INFINITY, f64::min))
            .collect();
        Relaxation {
            constant: w.latency * terms.constant + w.cost * space.fixed_cost
                - w.accuracy * accuracy_constant
                - w.limits,
            weights: w,
            option_weights,
            lightest,
            bounds_objective: ctx.shape.objective.is_some(),
            latency_weights: terms
                .t
                .iter()
                .map(|t| t.iter().map(|x| w.latency * x).collect())
                .collect(),
            composite_constants: terms.composites.iter().map(|k| w.latency * k).collect(),
            latency_weight: w.latency,
            knapsack,
        }
    }

    /// The bound at the root.
    pub fn root(&self, space: &SearchSpace, layout: &Layout) -> f64 {
        self.constant
            + self.lightest.iter().sum::<f64>()
            + self.weights.cost * space.latency_cost(layout.fastest_latency)
    }

    /// Does the relaxation bound anything?
    pub fn active(&self) -> bool {
        !self.weights.is_zero() || self.knapsack.is_some()
    }

    /// The bound at a node: the assigned options' weights (`assigned`), the lightest options'
    /// of the rest (`rest`), and the Express duration charge on the node's latency bound
    /// (`express`). A lower bound on the objective (in minimisation form: minus the accuracy)
    /// of every completion meeting the limits, or, with a zero objective weight, on the limits'
    /// slack.
    pub fn bound(&self, assigned: f64, rest: f64, express: f64) -> f64 {
        self.constant + assigned + rest + self.weights.cost * express
    }
}

/// Maximises a concave function of `x ≥ 0` over `[lo, hi]` by golden-section search on
/// `log x`; returns the best point and value seen.
fn golden(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> (f64, f64) {
    let (mut a, mut b) = (lo.ln(), hi.ln());
    let r = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - r * (b - a);
    let mut d = a + r * (b - a);
    let (mut fc, mut fd) = (f(c.exp()), f(d.exp()));
    let mut best = if fc >= fd {
        (c.exp(), fc)
    } else {
        (d.exp(), fd)
    };
    for _ in 0..40 {
        if fc >= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - r * (b - a);
            fc = f(c.exp());
            if fc > best.1 {
                best = (c.exp(), fc);
            }
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + r * (b - a);
            fd = f(d.exp());
            if fd > best.1 {
                best = (d.exp(), fd);
            }
        }
    }
    best
}
