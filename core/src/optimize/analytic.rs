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
                let outcome = self.exact(problem, options.node_limit);
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
