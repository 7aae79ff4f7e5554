//! The variables of the search: the expected latency cut into additive units.
//!
//! **Additivity.** The plan composes durations with sums (a sequence), weighted sums (a branch),
//! scalings (a loop's expected runs, a Map's waves) and maxima (a parallel block; under the
//! branch-aware model an expected maximum, also for a Map wave whose body branches or loops).
//! Walking the structure through sequences, branches and loops down to functions and parallel
//! blocks therefore cuts the expected latency into **units** — a single function, or a whole
//! parallel block (or random Map) with every function inside it — such that
//!
//! ```text
//! T(d) = T(fastest) + Σ_units V_u(d_u),   V_u(d_u) = T(fastest ⊕ d_u) − T(fastest),
//! ```
//!
//! where `fastest ⊕ d_u` is the all-fastest configuration with unit `u`'s functions set to
//! `d_u`. An outermost random block is never under a maximum (a parallel block around it would
//! hold its branch or loop, hence be random itself and the outermost), so the branch-aware
//! model's expected maxima stay inside units. A function the reduction unfolded into several
//! places joins their units into one. `V_u` is computed with the plan itself, never re-derived,
//! and the identity is checked on sampled configurations when the layout is built: should it
//! fail (it cannot, by the argument above, beyond rounding), the layout falls back to one
//! variable per function with every latency taken from the plan.
//!
//! **Variables.** A unit whose configurations number at most [`ENUMERATE_LIMIT`] becomes one
//! variable whose options are its configurations, each with its exact `V_u`, cost and accuracy,
//! cut to the non-dominated ones: a configuration is dropped when another is at least as fast
//! (in `V_u`, so a parallel block's arms are weighed by what the block's latency makes of them),
//! as cheap and as accurate (by the score's form: the unit's part of a sum or product, its
//! minimum, or every function's accuracy for a general formula). The optimum of every problem
//! survives: swapping a unit's configuration for one that dominates it changes the total
//! latency by the difference of `V_u` alone (additivity), the cost by the difference of the
//! costs, and the score monotonically. Larger units (and every unit under a scoring that samples
//! executions, whose percentiles are not additive) are **composite**: each of their functions is
//! a variable of its own, and their latency comes from the plan at every node.

use super::super::SearchSpace;
use super::minorant::{self, Composite, Piece, Walk};
use crate::accuracy::ScoreForm;
use crate::workflow::{LatencyModel, LatencyScratch, Structure};

mod enumerate;

/// Largest number of configurations a unit may have to be enumerated whole.
pub const ENUMERATE_LIMIT: f64 = 20_000.0;

/// One option of a variable.
#[derive(Debug, Clone, PartialEq)]
pub struct VarOption {
    /// Per function of the variable, its option (an index into the space's options).
    pub picks: Vec<usize>,
    /// `V_u` above the all-fastest corner, ms (0 for a composite unit's variable, whose latency
    /// comes from the plan).
    pub latency: f64,
    /// The functions' cost shares, USD per million executions.
    pub cost: f64,
    /// The functions' part of the score when it is a sum (`Σ w·A`), else 0.
    pub accuracy: f64,
}

/// One variable of the search.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    /// The functions it sets.
    pub functions: Vec<usize>,
    /// Its options.
    pub options: Vec<VarOption>,
    /// The options carry the unit's exact latency (`false`: a composite unit's function).
    pub enumerated: bool,
    /// The composite unit of a composite unit's function.
    pub composite: Option<usize>,
}

/// The variables of a search space.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The variables.
    pub vars: Vec<Var>,
    /// The latency with every function at its fastest option, ms.
    pub fastest_latency: f64,
    /// Every function's fastest duration.
    pub fastest: Vec<f64>,
    /// The score's form.
    pub form: ScoreForm,
    /// The latency identity held: units as described (`false`: one variable per function, the
    /// plan giving every latency).
    pub additive: bool,
    /// The composite units.
    pub composites: Vec<Composite>,
}

/// One unit as the walk finds it: its functions and, for a block, its structure and multiplier
/// (expected executions per workflow run).
type RawUnit = (Vec<usize>, Option<(Structure, f64)>);

/// Which functions go together.
fn units(s: &Structure, functions: usize, aware: bool, m: f64, out: &mut Vec<RawUnit>) {
    match s {
        Structure::Function(f) if *f >= functions => {}
        Structure::Function(f) => out.push((vec![*f], None)),
        Structure::Sequence(items) => {
            for i in items {
                units(i, functions, aware, m, out);
            }
        }
        Structure::Branch(arms) => {
            for (p, a) in arms {
                units(a, functions, aware, m * p, out);
            }
        }
        Structure::Repeat {
            expected_runs,
            body,
            ..
        } => units(body, functions, aware, m * expected_runs, out),
        Structure::Map { waves, body, .. } if !(aware && is_random(body)) => {
            units(body, functions, aware, m * waves, out);
        }
        Structure::Map { .. } | Structure::Parallel(_) => {
            let mut fs = Vec::new();
            leaves(s, functions, &mut fs);
            out.push((fs, Some((s.clone(), m))));
        }
    }
}

fn leaves(s: &Structure, functions: usize, out: &mut Vec<usize>) {
    match s {
        Structure::Function(f) if *f < functions => out.push(*f),
        Structure::Function(_) => {}
        Structure::Sequence(items) | Structure::Parallel(items) => {
            for i in items {
                leaves(i, functions, out);
            }
        }
        Structure::Branch(arms) => {
            for (_, a) in arms {
                leaves(a, functions, out);
            }
        }
        Structure::Repeat { body, .. } | Structure::Map { body, .. } => {
            leaves(body, functions, out);
        }
    }
}

/// A branch or a loop inside (the plan's definition of a random block's content).
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

/// A unit: its functions and its blocks, each with the expected executions it runs.
type Unit = (Vec<usize>, Vec<(Structure, f64)>);

/// The `main` and `extra` paths of [`paths`], each a list of functions.
type Paths = (Vec<Vec<usize>>, Vec<Vec<usize>>);

/// An arm configuration: its picks, its signature (duration per path), its cost and its
/// accuracy summary.
type ArmCandidate = (Vec<usize>, Vec<f64>, f64, Vec<f64>);

/// The partition of the functions into units: units sharing a function are merged (with all
/// their blocks); functions in no unit get their own.
fn partition(space: &SearchSpace) -> Vec<Unit> {
    let n = space.options.len();
    let workflow = &space.app.workflow;
    let aware = space.app.latency_model == LatencyModel::BranchAware;
    let mut raw = Vec::new();
    units(workflow.structure(), n, aware, 1.0, &mut raw);
    // Union-find over functions.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for (u, _) in &raw {
        for w in u.windows(2) {
            let (a, b) = (root(&mut parent, w[0]), root(&mut parent, w[1]));
            if a != b {
                parent[b] = a;
            }
        }
    }
    let mut groups: Vec<Unit> = Vec::new();
    let mut index = vec![usize::MAX; n];
    for f in 0..n {
        let r = root(&mut parent, f);
        if index[r] == usize::MAX {
            index[r] = groups.len();
            groups.push((Vec::new(), Vec::new()));
        }
        groups[index[r]].0.push(f);
    }
    for (fs, block) in raw {
        if let (Some(&f), Some(b)) = (fs.first(), block) {
            let r = root(&mut parent, f);
            groups[index[r]].1.push(b);
        }
    }
    groups
}

/// Per option of one function: its accuracy summary ingredients.
fn summary(form: &ScoreForm, functions: &[usize], accuracy: impl Fn(usize) -> f64) -> Vec<f64> {
    match form {
        ScoreForm::Sum { weights, .. } => vec![
            weights
                .iter()
                .filter(|(f, _)| functions.contains(f))
                .map(|&(f, w)| w * accuracy(f))
                .sum(),
        ],
        ScoreForm::Product { exponents, .. } => vec![
            exponents
                .iter()
                .filter(|(f, _)| functions.contains(f))
                .map(|&(f, e)| accuracy(f).powf(e))
                .product(),
        ],
        ScoreForm::Min { functions: m } => vec![
            m.iter()
                .filter(|f| functions.contains(f))
                .map(|&f| accuracy(f))
                .fold(f64::INFINITY, f64::min),
        ],
        ScoreForm::General => functions.iter().map(|&f| accuracy(f)).collect(),
    }
}

/// The part of a sum score, `Σ w·A(f)` over `functions` (0 for another form).
fn sum_part(form: &ScoreForm, functions: &[usize], accuracy: impl Fn(usize) -> f64) -> f64 {
    match form {
        ScoreForm::Sum { weights, .. } => weights
            .iter()
            .filter(|(f, _)| functions.contains(f))
            .map(|&(f, w)| w * accuracy(f))
            .sum(),
        _ => 0.0,
    }
}

/// The paths through a structure, for an arm's signature: `main` are the execution paths with
/// every loop body and Map iteration taken once, `extra` every loop body's and Map body's paths
/// again on their own (an execution's latency is a main path plus further runs of loop bodies,
/// or a maximum of them: at least as fast on each of these is at least as fast in every
/// execution). `None` past `cap` paths.
fn paths(s: &Structure, functions: usize, cap: usize) -> Option<Paths> {
    match s {
        Structure::Function(f) if *f >= functions => Some((vec![Vec::new()], Vec::new())),
        Structure::Function(f) => Some((vec![vec![*f]], Vec::new())),
        Structure::Sequence(items) => {
            let mut main = vec![Vec::new()];
            let mut extra = Vec::new();
            for i in items {
                let (m, e) = paths(i, functions, cap)?;
                let mut next = Vec::with_capacity(main.len() * m.len());
                for a in &main {
                    for b in &m {
                        let mut p: Vec<usize> = a.clone();
                        p.extend_from_slice(b);
                        next.push(p);
                    }
                }
                if next.len() > cap {
                    return None;
                }
                main = next;
                extra.extend(e);
            }
            (main.len() + extra.len() <= cap).then_some((main, extra))
        }
        Structure::Branch(_) | Structure::Parallel(_) => {
            let parts: Vec<&Structure> = match s {
                Structure::Branch(arms) => arms.iter().map(|(_, a)| a).collect(),
                Structure::Parallel(arms) => arms.iter().collect(),
                _ => Vec::new(),
            };
            let mut main = Vec::new();
            let mut extra = Vec::new();
            for a in parts {
                let (m, e) = paths(a, functions, cap)?;
                main.extend(m);
                extra.extend(e);
            }
            (main.len() + extra.len() <= cap).then_some((main, extra))
        }
        Structure::Repeat { body, .. } | Structure::Map { body, .. } => {
            let (m, mut e) = paths(body, functions, cap)?;
            e.extend(m.iter().cloned());
            (m.len() + e.len() <= cap).then_some((m, e))
        }
    }
}

impl Layout {
    /// The layout of `space`; `enumerate` allows whole units (only for the expected scoring).
    pub fn new(space: &SearchSpace, enumerate: bool) -> Layout {
        let form = space.app.score.form();
        let fastest = super::bounds::Corners::new(space).fastest;
        let mut scratch = LatencyScratch::default();
        let fastest_latency = space.latency(&fastest, &mut scratch);
        let mut layout = Layout {
            vars: Vec::new(),
            fastest_latency,
            fastest,
            form,
            additive: true,
            composites: Vec::new(),
        };
        if space.options.iter().any(Vec::is_empty) {
            layout.vars = layout.singletons(space, false);
            layout.additive = false;
            return layout;
        }
        let mut d = layout.fastest.clone();
        for (unit, blocks) in partition(space) {
            let size: f64 = unit
                .iter()
                .map(|&f| space.options[f].len() as f64)
                .product();
            let by_arms = if enumerate && unit.len() > 1 && size > ENUMERATE_LIMIT {
                match blocks.as_slice() {
                    [(Structure::Parallel(arms), _)] => layout.arm_fronts(space, &unit, arms),
                    _ => None,
                }
            } else {
                None
            };
            if unit.len() == 1 || (enumerate && size <= ENUMERATE_LIMIT) {
                let var = layout.enumerate(space, &unit, &mut d, &mut scratch, enumerate);
                layout.vars.push(var);
            } else if let Some(configurations) = by_arms {
                let var = layout.enumerate_from(space, &unit, configurations, &mut d, &mut scratch);
                layout.vars.push(var);
            } else {
                let c = layout.composites.len();
                layout.composites.push(layout.composite(
                    space,
                    &unit,
                    blocks,
                    &mut d,
                    &mut scratch,
                ));
                for &f in &unit {
                    let mut var = layout.single(space, f, false);
                    var.composite = Some(c);
                    layout.vars.push(var);
                }
            }
        }
        if !layout.check(space, &mut scratch) {
            layout.vars = layout.singletons(space, false);
            layout.additive = false;
            layout.composites.clear();
        }
        layout
    }

    /// One composite variable per function: the plan gives every latency.
    fn singletons(&self, space: &SearchSpace, enumerated: bool) -> Vec<Var> {
        (0..space.options.len())
            .map(|f| self.single(space, f, enumerated))
            .collect()
    }

    fn single(&self, space: &SearchSpace, f: usize, enumerated: bool) -> Var {
        Var {
            functions: vec![f],
            options: space.options[f]
                .iter()
                .enumerate()
                .map(|(i, o)| VarOption {
                    picks: vec![i],
                    latency: 0.0,
                    cost: o.cost,
                    accuracy: sum_part(&self.form, &[f], |_| o.accuracy),
                })
                .collect(),
            enumerated,
            composite: None,
        }
    }

    /// A composite unit: its blocks and the upper bound on `α·T_u(fastest)` its linear bound
    /// needs (see [`super::minorant`]).
    fn composite(
        &self,
        space: &SearchSpace,
        unit: &[usize],
        blocks: Vec<(Structure, f64)>,
        d: &mut [f64],
        scratch: &mut LatencyScratch,
    ) -> Composite {
        let walk = Walk {
            functions: space.options.len(),
            per_state: space.app.delays.per_state_ms(),
            workflow: &space.app.workflow,
        };
        let aware = space.app.latency_model == LatencyModel::BranchAware;
        let linear = !blocks.iter().any(|(b, _)| minorant::has_map(b));
        let mut pieces = Vec::new();
        for (b, alpha) in &blocks {
            let exact = match b {
                Structure::Parallel(_) if aware && is_random(b) => minorant::outcomes(b, &walk)
                    .filter(|o| self.outcomes_match(space, unit, *alpha, o, d, scratch)),
                _ => None,
            };
            pieces.push(match exact {
                Some(outcomes) => Piece::Outcomes {
                    alpha: *alpha,
                    outcomes,
                },
                None => {
                    let mut arms = Vec::new();
                    minorant::arities(b, &mut arms);
                    Piece::Arms {
                        block: b.clone(),
                        alpha: *alpha,
                        arms,
                    }
                }
            });
        }
        let upper_fastest = if pieces.iter().all(|p| matches!(p, Piece::Outcomes { .. })) {
            pieces
                .iter()
                .map(|p| match p {
                    Piece::Outcomes { alpha, outcomes } => {
                        alpha * minorant::expected_max(outcomes, &self.fastest)
                    }
                    Piece::Arms { .. } => 0.0,
                })
                .sum()
        } else {
            for &f in unit {
                d[f] = 0.0;
            }
            let zeroed = space.latency(d, scratch);
            for &f in unit {
                d[f] = self.fastest[f];
            }
            let zero = vec![0.0; space.options.len()];
            let delays: f64 = pieces
                .iter()
                .map(|p| match p {
                    Piece::Outcomes { alpha, outcomes } => {
                        alpha * minorant::expected_max(outcomes, &zero)
                    }
                    Piece::Arms { block, alpha, .. } => alpha * walk.delays_upper(block),
                })
                .sum();
            self.fastest_latency - zeroed + delays
        };
        Composite {
            functions: unit.to_vec(),
            pieces,
            upper_fastest,
            linear,
        }
    }

    /// Does the plan compute exactly `α·Σ P(s)·max(lines)` for this block (checked at the
    /// fastest corner and a few other configurations of its functions)?
    fn outcomes_match(
        &self,
        space: &SearchSpace,
        unit: &[usize],
        alpha: f64,
        outcomes: &[(f64, Vec<minorant::Line>)],
        d: &mut [f64],
        scratch: &mut LatencyScratch,
    ) -> bool {
        let base = alpha * minorant::expected_max(outcomes, &self.fastest);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut ok = true;
        for trial in 0..4 {
            for &f in unit {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let opts = &space.options[f];
                let i = match trial {
                    0 => opts.len() - 1,
                    _ => (state % opts.len() as u64) as usize,
                };
                d[f] = opts[i].duration_ms;
            }
            let by_plan = space.latency(d, scratch) - self.fastest_latency;
            let by_lines = alpha * minorant::expected_max(outcomes, d) - base;
            if (by_plan - by_lines).abs() > 1e-9 * self.fastest_latency.abs().max(1.0) {
                ok = false;
            }
        }
        for &f in unit {
            d[f] = self.fastest[f];
        }
        ok
    }

    /// Checks `T(d) = Σ V + T(composite part)` on a few configurations.
    fn check(&self, space: &SearchSpace, scratch: &mut LatencyScratch) -> bool {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for trial in 0..6 {
            let mut full = self.fastest.clone();
            let mut composite = self.fastest.clone();
            let mut enumerated = 0.0;
            for v in &self.vars {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = match trial {
                    0 => 0,
                    1 => v.options.len() - 1,
                    _ => (state % v.options.len() as u64) as usize,
                };
                let o = &v.options[i];
                for (&f, &p) in v.functions.iter().zip(&o.picks) {
                    full[f] = space.options[f][p].duration_ms;
                    if !v.enumerated {
                        composite[f] = full[f];
                    }
                }
                if v.enumerated {
                    enumerated += o.latency;
                }
            }
            let t = space.latency(&full, scratch);
            let parts = enumerated + space.latency(&composite, scratch);
            if (t - parts).abs().is_nan() || (t - parts).abs() > 1e-9 * t.abs().max(1.0) {
                return false;
            }
        }
        true
    }
}
