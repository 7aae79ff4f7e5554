//! The quality harness: the thesis' evaluation protocol (§5.4, and its artifact's scoring), with
//! two corrections. Per objective, a `grid × grid` set of problems whose two constraints are evenly
//! spaced between the grid's **true** extremes (not the all-minimum / all-maximum corner
//! configurations the artifact uses), and **no problem is dropped**: a solver that answers an
//! infeasible problem, or breaks a constraint, is counted as wrong.
//!
//! Score of an answer `s` against the optimum `o` (the thesis' formula): latency and cost
//! `100 − (s − o)/s · 100`, accuracy `100 − (o − s)/s · 100`. The reference optimum is brute force
//! when the grid has at most [`BRUTE_FORCE_LIMIT`] configurations, the exact solver otherwise (the
//! two are equal on every problem the tests compare them on).

use serde::Serialize;

use super::{Constraints, Metrics, Objective, Outcome, Problem, SearchSpace, SolveOptions, brute};
use crate::bundle::Application;

/// Largest grid the harness checks against brute force.
pub const BRUTE_FORCE_LIMIT: f64 = 2_000_000.0;

/// The smallest and largest latency, cost and accuracy over the whole grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Extremes {
    /// (min, max) latency, ms.
    pub latency_ms: (f64, f64),
    /// (min, max) cost, USD per million executions.
    pub cost_usd_per_million: (f64, f64),
    /// (min, max) accuracy score.
    pub accuracy: (f64, f64),
}

/// The extremes, from monotonicity (see [`super::engine::bounds`]): latency is extreme with
/// every function at its fastest (slowest) option, cost is a sum of per-function extremes, the
/// score is extreme with every function at its least (most) accurate variant. Exact, except the
/// cost under Step Functions Express pricing (its duration charge taken at the extreme
/// latencies): then the tightest bounds monotonicity gives.
pub fn extremes(space: &SearchSpace) -> Extremes {
    let (best, worst) = super::engine::bounds::extremes(space);
    Extremes {
        latency_ms: (best.latency_ms, worst.latency_ms),
        cost_usd_per_million: (best.cost_usd_per_million, worst.cost_usd_per_million),
        accuracy: (worst.accuracy, best.accuracy),
    }
}

/// The protocol's problems: for each objective, `grid × grid` pairs of the other two constraints.
pub fn problems(e: &Extremes, grid: usize) -> Vec<Problem> {
    let at = |r: (f64, f64), i: usize| {
        if grid <= 1 {
            r.1
        } else {
            r.0 + (r.1 - r.0) * i as f64 / (grid - 1) as f64
        }
    };
    let mut out = Vec::with_capacity(3 * grid * grid);
    for objective in [Objective::Latency, Objective::Cost, Objective::Accuracy] {
        for i in 0..grid {
            for j in 0..grid {
                let constraints = match objective {
                    Objective::Latency | Objective::P95Latency | Objective::P99Latency => {
                        Constraints {
                            max_cost_usd_per_million: Some(at(e.cost_usd_per_million, i)),
                            min_accuracy: Some(at(e.accuracy, j)),
                            ..Default::default()
                        }
                    }
                    Objective::Cost => Constraints {
                        max_latency_ms: Some(at(e.latency_ms, i)),
                        min_accuracy: Some(at(e.accuracy, j)),
                        ..Default::default()
                    },
                    Objective::Accuracy => Constraints {
                        max_latency_ms: Some(at(e.latency_ms, i)),
                        max_cost_usd_per_million: Some(at(e.cost_usd_per_million, j)),
                        ..Default::default()
                    },
                };
                out.push(Problem {
                    objective,
                    constraints,
                });
            }
        }
    }
    out
}

/// How one solver did on one objective's problems.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SolverScore {
    /// Problems with a feasible configuration.
    pub feasible_problems: usize,
    /// Of those, answered with the optimum's value.
    pub optimal: usize,
    /// Of those, answered with a score ≥ 95.
    pub within_95: usize,
    /// Of those, answered with nothing.
    pub missed: usize,
    /// Problems without a feasible configuration.
    pub infeasible_problems: usize,
    /// Of those, answered with no configuration (correct).
    pub infeasible_detected: usize,
    /// Answers that break a constraint, or answer an infeasible problem (must be 0).
    pub wrong: usize,
    /// Lowest score over the feasible problems.
    pub worst_score: f64,
}

impl SolverScore {
    /// % of feasible problems solved optimally.
    pub fn optimal_percent(&self) -> f64 {
        percent(self.optimal, self.feasible_problems)
    }
    /// % of feasible problems within 95% of the optimum.
    pub fn within_95_percent(&self) -> f64 {
        percent(self.within_95, self.feasible_problems)
    }
}

fn percent(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

/// The harness' result for one objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectiveReport {
    /// The objective.
    pub objective: Objective,
    /// The exact solver.
    pub exact: SolverScore,
    /// The greedy heuristics (absent when the run left them out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greedy: Option<SolverScore>,
}

/// One solver's answer to one problem of the protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The answer's objective value (absent: no configuration).
    pub value: Option<f64>,
    /// The answer is proven optimal (or the problem proven infeasible).
    pub proven: bool,
    /// An unproven answer's certified bound on the optimum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<f64>,
    /// Its distance from the bound, % of the answer (absent for an answer of 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap_percent: Option<f64>,
    /// Search nodes or configurations evaluated.
    pub evaluations: u64,
    /// Wall time, ms (when the caller has a clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<f64>,
}

impl Answer {
    fn of(problem: &Problem, o: &Outcome, time_ms: Option<f64>) -> Answer {
        let value = o.best.as_ref().map(|(_, m)| problem.value(m));
        // No relative gap for an answer of 0 against a positive bound.
        let gap = match (value, o.bound, o.proven) {
            (Some(v), Some(b), false) => {
                Some(super::engine::finish::gap_percent(v, b)).filter(|g| g.is_finite())
            }
            _ => None,
        };
        Answer {
            value,
            proven: o.proven,
            bound: o.bound.filter(|_| !o.proven),
            gap_percent: gap,
            evaluations: o.evaluations,
            time_ms,
        }
    }
}

/// One problem of the protocol: its limits, the optimum and each solver's answer (the thesis'
/// Fig. 5.5 is drawn from these).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemRecord {
    /// The objective.
    pub objective: Objective,
    /// The limits.
    pub constraints: Constraints,
    /// The optimum's value when known (brute force, or a finished exact search); absent when
    /// the problem is infeasible or the exact search did not finish.
    pub optimum: Option<f64>,
    /// The exact solver's answer.
    pub exact: Answer,
    /// The greedy heuristics' answer (absent when the run left them out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greedy: Option<Answer>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HarnessReport {
    /// `brute-force` or `exact`: what the answers were compared with.
    pub reference: &'static str,
    /// Configurations in the grid.
    pub configurations: f64,
    /// The extremes the constraints span.
    pub extremes: Extremes,
    /// Per objective.
    pub objectives: Vec<ObjectiveReport>,
    /// Per problem, in the protocol's order.
    pub problems: Vec<ProblemRecord>,
    /// Without brute force (a grid past [`BRUTE_FORCE_LIMIT`]), each solver's answers against
    /// the exact search's certified bounds, per objective (empty with brute force: the scores
    /// above are then against the true optimum).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certified: Vec<CertifiedScore>,
}

/// One solver's answers to one objective's problems against the certified bounds: the best
/// value any configuration could reach is the exact search's bound (its answer when proven), so
/// an answer's distance from it bounds the answer's distance from the optimum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertifiedScore {
    /// The objective.
    pub objective: Objective,
    /// `exact` or `greedy`.
    pub solver: &'static str,
    /// Problems with a feasible configuration found (by either solver) or not excluded by a
    /// finished proof.
    pub problems: usize,
    /// Of those, answered by this solver.
    pub answered: usize,
    /// Of those, proven optimal (the exact solver only).
    pub proven: usize,
    /// Of those, within 1% of the certified bound.
    pub within_1_percent: usize,
    /// The largest certified gap over the answers, % of the answer (0 when all are proven),
    /// leaving out the answers counted in `no_relative_gap`.
    pub worst_gap_percent: f64,
    /// Their median certified gap, %.
    pub median_gap_percent: f64,
    /// Answers of 0 against a positive bound: no relative gap (an accuracy of 0 where some
    /// configuration might score more).
    pub no_relative_gap: usize,
}

/// Picks one solver's answer out of a problem's record.
type AnswerOf = fn(&ProblemRecord) -> Option<&Answer>;

/// The certified scores of `problems` (see [`CertifiedScore`]).
pub fn certified(problems: &[ProblemRecord]) -> Vec<CertifiedScore> {
    let mut out = Vec::new();
    for objective in [Objective::Latency, Objective::Cost, Objective::Accuracy] {
        let of: Vec<&ProblemRecord> = problems
            .iter()
            .filter(|p| p.objective == objective)
            .collect();
        let solvers: [(&'static str, AnswerOf); 2] = [
            ("exact", |p| Some(&p.exact)),
            ("greedy", |p| p.greedy.as_ref()),
        ];
        for (solver, answer) in solvers {
            if of.iter().all(|p| answer(p).is_none()) {
                continue;
            }
            let mut card = CertifiedScore {
                objective,
                solver,
                problems: 0,
                answered: 0,
                proven: 0,
                within_1_percent: 0,
                worst_gap_percent: 0.0,
                median_gap_percent: 0.0,
                no_relative_gap: 0,
            };
            let mut gaps = Vec::new();
            for p in &of {
                // The best value any configuration could reach: the proven answer, or the
                // bound of an unfinished search; none for a problem proven infeasible.
                let bound = if p.exact.proven {
                    p.exact.value
                } else {
                    p.exact.bound
                };
                let Some(bound) = bound else { continue };
                card.problems += 1;
                let Some(a) = answer(p) else { continue };
                let Some(v) = a.value else { continue };
                card.answered += 1;
                if solver == "exact" && a.proven {
                    card.proven += 1;
                }
                let gap = super::engine::finish::gap_percent(v, bound);
                if !gap.is_finite() {
                    card.no_relative_gap += 1;
                    continue;
                }
                if gap <= 1.0 {
                    card.within_1_percent += 1;
                }
                gaps.push(gap);
            }
            gaps.sort_by(f64::total_cmp);
            card.worst_gap_percent = gaps.last().copied().unwrap_or(0.0);
            card.median_gap_percent = gaps.get(gaps.len() / 2).copied().unwrap_or(0.0);
            out.push(card);
        }
    }
    out
}

/// The thesis' score of `s` against the optimum `o`.
pub fn score(objective: Objective, s: f64, o: f64) -> f64 {
    if s == o {
        return 100.0;
    }
    match objective {
        Objective::Accuracy => 100.0 - (o - s) / s * 100.0,
        _ => 100.0 - (s - o) / s * 100.0,
    }
}

/// Grades `answer`, whose picks index `space`.
fn grade(
    card: &mut SolverScore,
    space: &SearchSpace,
    problem: &Problem,
    reference: &Option<(Vec<usize>, Metrics)>,
    answer: &Outcome,
) {
    let answered = answer.best.as_ref().map(|(pick, _)| space.evaluate(pick));
    match (reference, answered) {
        (None, None) => {
            card.infeasible_problems += 1;
            card.infeasible_detected += 1;
        }
        (None, Some(_)) => {
            card.infeasible_problems += 1;
            card.wrong += 1;
        }
        (Some(_), None) => {
            card.feasible_problems += 1;
            card.missed += 1;
            card.worst_score = card.worst_score.min(0.0);
        }
        (Some((_, opt)), Some(m)) => {
            card.feasible_problems += 1;
            if !problem.constraints.admits(&m) {
                card.wrong += 1;
                card.worst_score = card.worst_score.min(0.0);
                return;
            }
            let (s, o) = (problem.value(&m), problem.value(opt));
            let sc = score(problem.objective, s, o);
            card.worst_score = card.worst_score.min(sc);
            if (s - o).abs() <= 1e-9 * o.abs().max(1.0) {
                card.optimal += 1;
            }
            if sc >= 95.0 {
                card.within_95 += 1;
            }
        }
    }
}

/// Runs the protocol with a `grid × grid` set per objective.
pub fn run(app: &Application, grid: usize, options: &SolveOptions) -> HarnessReport {
    run_timed(app, grid, options, None)
}

/// [`run`], timing each solver's answer with `clock` (milliseconds since any fixed origin;
/// the core has no clock of its own).
pub fn run_timed(
    app: &Application,
    grid: usize,
    options: &SolveOptions,
    clock: Option<&dyn Fn() -> f64>,
) -> HarnessReport {
    run_with(app, grid, options, clock, true)
}

/// [`run_timed`], with the greedy heuristics left out when `greedy` is false (their polish takes
/// seconds a problem on workflows with thousands of paths).
pub fn run_with(
    app: &Application,
    grid: usize,
    options: &SolveOptions,
    clock: Option<&dyn Fn() -> f64>,
    greedy: bool,
) -> HarnessReport {
    let now = || clock.map(|c| c());
    let since = |t: Option<f64>| t.zip(now()).map(|(a, b)| b - a);
    let mut records = Vec::new();
    let analytic = super::Analytic::new(app);
    let (full, pruned) = (&analytic.full, &analytic.pruned);
    let ext = extremes(full);
    let use_brute = full.size() <= BRUTE_FORCE_LIMIT;
    let mut objectives: Vec<ObjectiveReport> =
        [Objective::Latency, Objective::Cost, Objective::Accuracy]
            .into_iter()
            .map(|objective| ObjectiveReport {
                objective,
                exact: SolverScore {
                    worst_score: 100.0,
                    ..Default::default()
                },
                greedy: greedy.then(|| SolverScore {
                    worst_score: 100.0,
                    ..Default::default()
                }),
            })
            .collect();
    for problem in problems(&ext, grid) {
        let t = now();
        let exact_answer = analytic.exact_with_fallback(&problem, options);
        let exact_ms = since(t);
        let reference = if use_brute {
            brute::solve(full, &problem).best
        } else {
            exact_answer.best.clone()
        };
        let greedy_answer = greedy.then(|| {
            let t = now();
            let o = super::greedy_outcome(full, &problem, options);
            (o, since(t))
        });
        records.push(ProblemRecord {
            objective: problem.objective,
            constraints: problem.constraints,
            optimum: reference
                .as_ref()
                .filter(|_| use_brute || exact_answer.proven)
                .map(|(_, m)| problem.value(m)),
            exact: Answer::of(&problem, &exact_answer, exact_ms),
            greedy: greedy_answer
                .as_ref()
                .map(|(o, ms)| Answer::of(&problem, o, *ms)),
        });
        let Some(report) = objectives
            .iter_mut()
            .find(|r| r.objective == problem.objective)
        else {
            continue;
        };
        grade(
            &mut report.exact,
            pruned,
            &problem,
            &reference,
            &exact_answer,
        );
        if let (Some(card), Some((answer, _))) = (report.greedy.as_mut(), &greedy_answer) {
            grade(card, full, &problem, &reference, answer);
        }
    }
    let certified = if use_brute {
        Vec::new()
    } else {
        certified(&records)
    };
    HarnessReport {
        reference: if use_brute { "brute-force" } else { "exact" },
        configurations: full.size(),
        extremes: ext,
        objectives,
        problems: records,
        certified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bundle;

    /// The thesis protocol on App3 against brute force (300 problems, none dropped).
    #[test]
    fn app3_exact_is_always_optimal_and_greedy_within_95_percent() {
        let app = Bundle::from_json(include_str!("../../../examples/app3.bundle.json"))
            .unwrap()
            .validate()
            .unwrap();
        let report = run(&app, 10, &SolveOptions::default());
        assert_eq!(report.reference, "brute-force");
        let mut greedy_within = 0;
        let mut feasible = 0;
        for r in &report.objectives {
            let e = &r.exact;
            assert_eq!(e.feasible_problems + e.infeasible_problems, 100);
            assert_eq!(e.optimal, e.feasible_problems, "{r:?}");
            assert_eq!(e.infeasible_detected, e.infeasible_problems, "{r:?}");
            assert_eq!(e.wrong, 0);
            let g = r.greedy.as_ref().unwrap();
            assert_eq!(g.wrong, 0, "greedy answered wrongly: {r:?}");
            assert_eq!(g.infeasible_detected, g.infeasible_problems);
            greedy_within += g.within_95;
            feasible += g.feasible_problems;
        }
        let pct = 100.0 * greedy_within as f64 / feasible as f64;
        assert!(pct >= 95.0, "greedy within 95% on {pct:.1}% of problems");
        // Per problem: the exact answer is the optimum, proven, untimed without a clock.
        assert_eq!(report.problems.len(), 300);
        assert_eq!(
            report
                .problems
                .iter()
                .filter(|p| p.optimum.is_some())
                .count(),
            feasible
        );
        for p in &report.problems {
            assert_eq!(p.exact.value, p.optimum, "{p:?}");
            assert!(p.exact.proven && p.exact.gap_percent.is_none());
            assert!(p.exact.time_ms.is_none() && p.greedy.as_ref().unwrap().time_ms.is_none());
        }
        // Brute force is the reference: no certified scores.
        assert!(report.certified.is_empty());
    }

    /// On a generated workflow past brute force, the answers are scored against the exact
    /// search's certified bounds, with and without greedy.
    #[test]
    fn large_workflows_are_scored_against_the_certified_bounds() {
        use super::super::synthetic::{SyntheticScore, SyntheticSpec, generate};
        let app = generate(&SyntheticSpec {
            functions: 12,
            seed: 3,
            score: SyntheticScore::WeightedSum,
            express: false,
        })
        .validate()
        .unwrap();
        let options = SolveOptions {
            node_limit: 20_000,
            ..SolveOptions::default()
        };
        let report = run_with(&app, 2, &options, None, false);
        assert_eq!(report.reference, "exact");
        assert!(report.configurations > BRUTE_FORCE_LIMIT);
        assert!(report.objectives.iter().all(|o| o.greedy.is_none()));
        assert!(report.problems.iter().all(|p| p.greedy.is_none()));
        assert_eq!(report.certified.len(), 3);
        for c in &report.certified {
            assert_eq!(c.solver, "exact");
            let of: Vec<&ProblemRecord> = report
                .problems
                .iter()
                .filter(|p| p.objective == c.objective)
                .collect();
            assert_eq!(of.len(), 4);
            // Every problem with a bound counts; a proven answer has no gap.
            let bounded = of
                .iter()
                .filter(|p| p.exact.bound.is_some() || (p.exact.proven && p.exact.value.is_some()))
                .count();
            assert_eq!(c.problems, bounded, "{c:?}");
            assert_eq!(
                c.proven,
                of.iter()
                    .filter(|p| p.exact.proven && p.exact.value.is_some())
                    .count()
            );
            let worst = of
                .iter()
                .filter_map(|p| p.exact.gap_percent)
                .fold(0.0, f64::max);
            assert_eq!(c.worst_gap_percent, worst, "{c:?}");
            assert!(c.median_gap_percent <= c.worst_gap_percent);
            assert!(c.worst_gap_percent.is_finite());
            // An answer without a relative gap is one of 0 facing a positive bound.
            let zero = of
                .iter()
                .filter(|p| !p.exact.proven && p.exact.value == Some(0.0))
                .filter(|p| p.exact.bound.is_some_and(|b| b != 0.0))
                .count();
            assert_eq!(c.no_relative_gap, zero, "{c:?}");
        }
        // With greedy: its answers are scored against the same bounds, never better than them.
        let report = run_with(&app, 1, &options, None, true);
        let greedy: Vec<&CertifiedScore> = report
            .certified
            .iter()
            .filter(|c| c.solver == "greedy")
            .collect();
        assert_eq!(greedy.len(), 3);
        for p in &report.problems {
            let (Some(g), Some(b)) = (
                p.greedy.as_ref().and_then(|g| g.value),
                p.exact.bound.or(p.exact.value),
            ) else {
                continue;
            };
            match p.objective {
                Objective::Accuracy => assert!(g <= b + 1e-9 * b.abs().max(1.0), "{p:?}"),
                _ => assert!(g >= b - 1e-9 * b.abs().max(1.0), "{p:?}"),
            }
        }
    }

    #[test]
    fn score_follows_the_thesis_formula() {
        assert_eq!(score(Objective::Latency, 100.0, 95.0), 95.0);
        assert_eq!(score(Objective::Cost, 200.0, 100.0), 50.0);
        assert!((score(Objective::Accuracy, 0.8, 1.0) - 75.0).abs() < 1e-12);
        assert_eq!(score(Objective::Accuracy, 1.0, 1.0), 100.0);
    }
}
