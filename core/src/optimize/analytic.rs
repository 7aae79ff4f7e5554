//! Problems on the expected figures, prepared once per application: the full grid (brute force,
//! the greedy heuristics), the dominance-pruned one and its layout (the exact solver), shared by
//! every problem solved on it — a what-if sweep's points, the harness' protocol, the relaxed
//! problems that explain infeasibility.

use super::engine::{self, Layout};
use std::cell::Cell;

use super::space::Scratch;
use super::{
    ConstraintKind, Metrics, Outcome, Problem, SearchSpace, Solution, SolveOptions, SolverKind,
    brute, exact,
};

/// What [`Analytic::feasible_by_relaxation`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relaxed {
    /// A configuration meeting every limit (picks over [`Analytic::pruned`]).
    Feasible(Vec<usize>),
    /// A relaxed problem proved that no configuration meets the limits.
    Infeasible,
    /// Neither, within the relaxed searches' budgets.
    Unknown,
}

/// Most passes of [`Analytic::descend`] over the functions.
pub const DESCENT_PASSES: usize = 10;

/// Largest node budget of each relaxed search in [`Analytic::feasible_by_relaxation`].
pub const RELAXED_NODES: u64 = 200_000;
use crate::bundle::Application;

/// An application's analytic search spaces.
#[derive(Debug, Clone)]
pub struct Analytic<'a> {
    /// Every option of every function.
    pub full: SearchSpace<'a>,
    /// The non-dominated options.
    pub pruned: SearchSpace<'a>,
    layout: Layout,
}

impl<'a> Analytic<'a> {
    /// Builds the spaces and the exact solver's layout.
    pub fn new(app: &'a Application) -> Self {
        let full = SearchSpace::full(app);
        let pruned = full.pruned();
        let layout = Layout::new(&pruned, true);
        Analytic {
            full,
            pruned,
            layout,
        }
    }

    /// The exact solver's variables.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The exact solver's outcome (picks index [`Analytic::pruned`]).
    pub fn exact(&self, problem: &Problem, node_limit: u64) -> Outcome {
        exact::solve_with(&self.pruned, &self.layout, problem, node_limit)
    }

    /// Solves `problem` with the solver `options` name.
    pub fn solve(&self, problem: &Problem, options: &SolveOptions) -> Solution {
        match options.solver {
            SolverKind::BruteForce => {
                let outcome = brute::solve(&self.full, problem);
                self.finish(
                    &self.full,
                    problem,
                    outcome,
                    SolverKind::BruteForce,
                    options,
                )
            }
            SolverKind::Exact => {
                let outcome = self.exact_with_fallback(problem, options);
                self.finish(&self.pruned, problem, outcome, SolverKind::Exact, options)
            }
            SolverKind::Greedy => {
                let outcome = super::greedy_outcome(&self.full, problem, options);
                self.finish(&self.full, problem, outcome, SolverKind::Greedy, options)
            }
        }
    }

    /// The exact solver's outcome (picks index [`Analytic::pruned`]). A search that finds no
    /// configuration in its first nodes starts again from the relaxed problems' answer
    /// ([`Analytic::feasible_by_relaxation`]); one that still has none when `options.node_limit`
    /// runs out falls back on the greedy heuristics' — the exact solver never answers
    /// `not_found` where greedy finds a configuration.
    ///
    /// An unproven answer (and the relaxed problems' starting point) is improved by
    /// [`Analytic::descend`]; the certified bound stays valid (every subtree the search cut could
    /// not beat the answer it had then, and the open ones are in the bound).
    pub fn exact_with_fallback(&self, problem: &Problem, options: &SolveOptions) -> Outcome {
        let infeasible = Cell::new(false);
        let mut outcome = exact::solve_from(
            &self.pruned,
            &self.layout,
            problem,
            options.node_limit,
            || match self.feasible_by_relaxation(problem, options.node_limit) {
                Relaxed::Feasible(pick) => Some(self.descend(problem, pick).0),
                Relaxed::Infeasible => {
                    infeasible.set(true);
                    None
                }
                Relaxed::Unknown => None,
            },
            || {
                if infeasible.get() {
                    return None;
                }
                let greedy = super::greedy_outcome(&self.full, problem, options);
                let (pick, _) = greedy.best?;
                self.pruned.translate(&self.full, &pick)
            },
        );
        if outcome.best.is_none() && infeasible.get() {
            outcome.proven = true;
            outcome.bound = None;
        }
        if !outcome.proven
            && let Some((pick, _)) = outcome.best.take()
        {
            let (pick, m, work) = self.descend(problem, pick);
            outcome.best = Some((pick, m));
            outcome.evaluations += work;
        }
        outcome
    }

    /// A local search from `pick` (over [`Analytic::pruned`], meeting every limit): moves one
    /// function at a time to the option that improves the objective most per unit of the
    /// limits' slack it uses (a move that uses none first, by its gain), while every limit still
    /// holds, for at most [`DESCENT_PASSES`] passes over the functions. Returns the
    /// configuration, its figures and the configurations evaluated.
    pub fn descend(&self, problem: &Problem, mut pick: Vec<usize>) -> (Vec<usize>, Metrics, u64) {
        let space = &self.pruned;
        let mut scratch = Scratch::default();
        let mut m = space.evaluate_with(&pick, &mut scratch);
        let mut work = 1;
        for _ in 0..DESCENT_PASSES {
            let mut moved = false;
            for f in 0..pick.len() {
                let current = pick[f];
                let mut best = (current, m, f64::NEG_INFINITY);
                for i in 0..space.options[f].len() {
                    if i == current {
                        continue;
                    }
                    pick[f] = i;
                    let x = space.evaluate_with(&pick, &mut scratch);
                    work += 1;
                    if problem.constraints.admits(&x) && problem.better(&x, &m) {
                        let r = ratio(problem, &m, &x);
                        if r > best.2 || (r == best.2 && problem.better(&x, &best.1)) {
                            best = (i, x, r);
                        }
                    }
                }
                pick[f] = best.0;
                if best.0 != current {
                    m = best.1;
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
        (pick, m, work)
    }

    /// A configuration meeting every limit of `problem`, found by optimising each limited
    /// quantity subject to the other limits (a problem of another shape, often much easier: a
    /// budget-limited latency problem becomes a cost problem under the accuracy floor); the
    /// first answer that also meets the dropped limit. A relaxed search that finishes without
    /// one proves `problem` infeasible. Each relaxed search gets `node_limit` nodes (at most
    /// [`RELAXED_NODES`]). Picks index [`Analytic::pruned`].
    pub fn feasible_by_relaxation(&self, problem: &Problem, node_limit: u64) -> Relaxed {
        let nodes = node_limit.clamp(1, RELAXED_NODES);
        for kind in ConstraintKind::ALL {
            if problem.constraints.get(kind).is_none() {
                continue;
            }
            let relaxed = Problem {
                objective: kind.objective(),
                constraints: problem.constraints.without(kind),
            };
            if relaxed.is_tail() {
                continue;
            }
            let o = self.exact(&relaxed, nodes);
            match o.best {
                Some((pick, m)) if problem.constraints.admits(&m) => {
                    return Relaxed::Feasible(pick);
                }
                // The best the relaxed problem can do misses the dropped limit, or the other
                // limits alone cannot be met.
                _ if o.proven => return Relaxed::Infeasible,
                _ => {}
            }
        }
        Relaxed::Unknown
    }

    /// Turns an outcome whose picks index `space` into a solution; infeasibility is explained
    /// with the exact solver.
    pub fn finish(
        &self,
        space: &SearchSpace,
        problem: &Problem,
        outcome: Outcome,
        solver: SolverKind,
        options: &SolveOptions,
    ) -> Solution {
        engine::finish(
            space,
            problem,
            outcome.with_figures(),
            solver,
            |relaxed: &Problem| {
                let o = self.exact(relaxed, options.node_limit);
                (o.best.map(|(_, m)| relaxed.value(&m)), o.evaluations)
            },
        )
    }
}

/// A move's gain in the objective per unit of the limits' slack it uses (each limit's use as a
/// share of its limit); a move using none has an infinite ratio, ranked by its gain.
fn ratio(problem: &Problem, from: &Metrics, to: &Metrics) -> f64 {
    let gain = (problem.value(to) - problem.value(from)).abs();
    let c = problem.constraints;
    let share = |limit: Option<f64>, delta: f64| {
        limit.map_or(0.0, |l| delta.max(0.0) / l.abs().max(f64::MIN_POSITIVE))
    };
    let used = share(c.max_latency_ms, to.latency_ms - from.latency_ms)
        + share(
            c.max_cost_usd_per_million,
            to.cost_usd_per_million - from.cost_usd_per_million,
        )
        + share(c.min_accuracy, from.accuracy - to.accuracy);
    if used > 0.0 {
        gain / used
    } else {
        f64::MAX / 2.0 + gain.min(f64::MAX / 4.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::synthetic::{SyntheticScore, SyntheticSpec, generate};
    use crate::optimize::{Constraints, Objective, Status, harness};

    /// With a node budget far too small to find anything, the exact solver still answers with
    /// (at least) greedy's configuration, labelled feasible with a certified bound, never
    /// not_found.
    #[test]
    fn exact_starts_from_greedy_and_never_answers_worse() {
        let app = generate(&SyntheticSpec {
            functions: 12,
            seed: 3,
            score: SyntheticScore::WeightedSum,
            express: false,
        })
        .validate()
        .expect("a valid bundle");
        let analytic = Analytic::new(&app);
        let e = harness::extremes(&analytic.full);
        let mid = |r: (f64, f64), t: f64| r.0 + (r.1 - r.0) * t;
        let problems = [
            Problem {
                objective: Objective::Latency,
                constraints: Constraints {
                    max_cost_usd_per_million: Some(mid(e.cost_usd_per_million, 0.4)),
                    min_accuracy: Some(mid(e.accuracy, 0.6)),
                    ..Default::default()
                },
            },
            Problem {
                objective: Objective::Accuracy,
                constraints: Constraints {
                    max_latency_ms: Some(mid(e.latency_ms, 0.3)),
                    max_cost_usd_per_million: Some(mid(e.cost_usd_per_million, 0.4)),
                    ..Default::default()
                },
            },
        ];
        for p in &problems {
            if let Relaxed::Feasible(pick) = analytic.feasible_by_relaxation(p, 1_000_000) {
                assert!(
                    p.constraints.admits(&analytic.pruned.evaluate(&pick)),
                    "{p:?}"
                );
            }
            let greedy = analytic.solve(
                p,
                &SolveOptions {
                    solver: SolverKind::Greedy,
                    ..Default::default()
                },
            );
            let exact = analytic.solve(
                p,
                &SolveOptions {
                    node_limit: 10,
                    ..Default::default()
                },
            );
            if greedy.config.is_none() {
                continue;
            }
            assert_ne!(exact.status, Status::NotFound, "{p:?}");
            let value = |s: &Solution| match p.objective {
                Objective::Latency => s.latency_ms,
                Objective::Cost => s.cost_usd_per_million,
                _ => s.accuracy,
            };
            let (g, x) = (
                value(&greedy).expect("figures"),
                value(&exact).expect("figures"),
            );
            match p.objective {
                Objective::Accuracy => assert!(x >= g, "{x} < greedy {g}"),
                _ => assert!(x <= g, "{x} > greedy {g}"),
            }
            if exact.status == Status::Feasible {
                let (bound, gap) = (
                    exact.bound.expect("a bound"),
                    exact.gap_percent.expect("a gap"),
                );
                assert!(gap >= 0.0 && bound.is_finite(), "{bound} {gap}");
            }
        }
    }

    /// An infeasible problem on a large workflow is proven so (by a relaxed problem) within a
    /// small budget, and explained.
    #[test]
    fn infeasibility_is_proven_through_a_relaxed_problem() {
        let app = generate(&SyntheticSpec {
            functions: 60,
            seed: 1,
            score: SyntheticScore::WeightedSum,
            express: false,
        })
        .validate()
        .expect("a valid bundle");
        let analytic = Analytic::new(&app);
        let e = harness::extremes(&analytic.full);
        let mid = |r: (f64, f64), t: f64| r.0 + (r.1 - r.0) * t;
        // The most accurate configuration is far dearer than the cheapest.
        let p = Problem {
            objective: Objective::Latency,
            constraints: Constraints {
                max_cost_usd_per_million: Some(mid(e.cost_usd_per_million, 0.05)),
                min_accuracy: Some(mid(e.accuracy, 0.95)),
                ..Default::default()
            },
        };
        let s = analytic.solve(
            &p,
            &SolveOptions {
                node_limit: 100_000,
                ..Default::default()
            },
        );
        assert_eq!(s.status, Status::Infeasible, "{s:?}");
        assert!(s.infeasible.is_some());
    }
}
