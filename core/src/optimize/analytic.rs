//! Problems on the expected figures, prepared once per application: the full grid (brute force,
//! the greedy heuristics), the dominance-pruned one and its layout (the exact solver), shared by
//! every problem solved on it — a what-if sweep's points, the harness' protocol, the relaxed
//! problems that explain infeasibility.

use super::engine::{self, Layout};
use super::{Outcome, Problem, SearchSpace, Solution, SolveOptions, SolverKind, brute, exact};
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
                // The greedy heuristics' answer is the fallback of a search that found no
                // configuration within its budget: the exact solver never answers `not_found`
                // where greedy finds one.
                let outcome = exact::solve_from(
                    &self.pruned,
                    &self.layout,
                    problem,
                    options.node_limit,
                    || {
                        let greedy = super::greedy_outcome(&self.full, problem, options);
                        let (pick, _) = greedy.best?;
                        self.pruned.translate(&self.full, &pick)
                    },
                );
                self.finish(&self.pruned, problem, outcome, SolverKind::Exact, options)
            }
            SolverKind::Greedy => {
                let outcome = super::greedy_outcome(&self.full, problem, options);
                self.finish(&self.full, problem, outcome, SolverKind::Greedy, options)
            }
        }
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
}
