//! A tail-aware problem prepared once (the scenarios, the pruned and complete spaces), solved
//! with the engine or brute force, its infeasibility explained and its answer certified by an
//! independent simulation.

use std::collections::HashMap;
use std::rc::Rc;

use super::super::engine;
use super::super::scenarios::Scenarios;
use super::super::{
    Analytic, ConstraintKind, Constraints, Problem, Solution, SolveError, SolveOptions, SolverKind,
    Status, tol,
};
use super::{
    Certification, TailCheck, TailReport, TailSettings, TailSpace, Verdict, brute_force,
    certification_seed, solve_exact, value,
};
use crate::simulate::{self, SimulationRequest};

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
