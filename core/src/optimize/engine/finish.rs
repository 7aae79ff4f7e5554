//! Finishing an answer: the one place that turns what a solver found into a [`Solution`] — the
//! status, the figures, the certified bound and gap of an unproven answer — and that explains
//! why a problem has no answer.

use super::super::{
    ConstraintKind, Constraints, Infeasibility, Outcome, Problem, SearchSpace, Solution,
    SolverKind, Status,
};
use super::{Figures, value};

/// The relative distance between an answer's value and the certified bound, in percent.
pub fn gap_percent(answer: f64, bound: f64) -> f64 {
    let d = (answer - bound).abs();
    if d == 0.0 {
        0.0
    } else {
        100.0 * d / answer.abs().max(f64::MIN_POSITIVE)
    }
}

/// Turns an outcome whose picks index `space` into a solution. When there is no answer and the
/// outcome is proven, `explain(relaxed)` gives the best value of each relaxed problem (and the
/// work it took) for [`explain_with`].
pub fn finish(
    space: &SearchSpace,
    problem: &Problem,
    outcome: Outcome<Figures>,
    solver: SolverKind,
    explain: impl FnMut(&Problem) -> (Option<f64>, u64),
) -> Solution {
    let mut evaluations = outcome.evaluations;
    match outcome.best {
        Some((pick, t)) => {
            let v = value(problem, &t);
            // A bound the answer reaches is a proof too.
            let gap = outcome
                .bound
                .filter(|_| !outcome.proven)
                .map(|b| (b, gap_percent(v, b)));
            let proven = outcome.proven || gap.is_some_and(|(_, g)| g == 0.0);
            let m = t.metrics;
            Solution {
                status: if proven {
                    Status::Optimal
                } else {
                    Status::Feasible
                },
                latency_ms: Some(m.latency_ms),
                latency_model: space.app.latency_model,
                cost_usd_per_million: Some(m.cost_usd_per_million),
                accuracy: Some(m.accuracy),
                config: Some(space.app.configuration(&space.choices(&pick))),
                solver,
                evaluations,
                elapsed_ms: None,
                bound: gap.filter(|_| !proven).map(|(b, _)| b),
                gap_percent: gap.filter(|_| !proven).map(|(_, g)| g),
                infeasible: None,
                tail: None,
            }
        }
        None => {
            let why = if outcome.proven {
                explain_with(problem, explain, &mut evaluations)
            } else {
                None
            };
            let mut s = Solution::empty(
                if outcome.proven {
                    Status::Infeasible
                } else {
                    Status::NotFound
                },
                solver,
                evaluations,
            );
            s.latency_model = space.app.latency_model;
            s.infeasible = why;
            s
        }
    }
}

/// Finds the constraint that cannot be met: for each limit in turn, optimizes the quantity it
/// limits subject to the other limits (`best_of(relaxed)` returns the best objective value of
/// the relaxed problem, `None` when infeasible, and the work it took); the first one whose best
/// value still misses its limit is reported with that value.
pub fn explain_with(
    problem: &Problem,
    mut best_of: impl FnMut(&Problem) -> (Option<f64>, u64),
    evaluations: &mut u64,
) -> Option<Infeasibility> {
    let mut fallback = None;
    for kind in ConstraintKind::ALL {
        let Some(limit) = problem.constraints.get(kind) else {
            continue;
        };
        let relaxed = Problem {
            objective: kind.objective(),
            constraints: problem.constraints.without(kind),
        };
        let (best, work) = best_of(&relaxed);
        *evaluations += work;
        let (what, unit) = match kind {
            ConstraintKind::MaxLatencyMs => ("latency", " ms"),
            ConstraintKind::MaxCostUsdPerMillion => ("cost", " USD per million executions"),
            ConstraintKind::MinAccuracy => ("accuracy score", ""),
            ConstraintKind::MaxP95LatencyMs => ("p95 latency over the scenarios", " ms"),
            ConstraintKind::MaxP99LatencyMs => ("p99 latency over the scenarios", " ms"),
        };
        let others = if relaxed.constraints == Constraints::default() {
            String::new()
        } else {
            " while the other constraints hold".to_string()
        };
        match best {
            Some(best) => {
                let bound = if kind == ConstraintKind::MinAccuracy {
                    "highest"
                } else {
                    "lowest"
                };
                return Some(Infeasibility {
                    constraint: kind,
                    limit,
                    best_reachable: Some(best),
                    message: format!(
                        "{} = {limit}{unit} cannot be met: the {bound} {what} reachable{others} is {best}{unit}",
                        kind.name()
                    ),
                });
            }
            None => {
                fallback.get_or_insert(Infeasibility {
                    constraint: kind,
                    limit,
                    best_reachable: None,
                    message: format!(
                        "{} = {limit}{unit} cannot be met, and neither can the other constraints together",
                        kind.name()
                    ),
                });
            }
        }
    }
    fallback
}
