use std::rc::Rc;

use super::super::scenarios::Scenarios;
use super::super::{
    ConstraintKind, Constraints, Objective, Problem, SearchSpace, SolveError, SolveOptions,
    SolverKind, Status,
};
use super::*;
use crate::bundle::{Application, Bundle, ProfileSample};
use crate::simulate::{self, SimulationRequest};
use proptest::prelude::*;

fn app(text: &str) -> Application {
    Bundle::from_json(text).unwrap().validate().unwrap()
}

fn app3() -> Application {
    app(include_str!("../../../../examples/app3.bundle.json"))
}

fn media() -> Application {
    app(include_str!(
        "../../../../examples/media-pipeline.bundle.json"
    ))
}

/// Gives every variant residual dispersion: samples at its first memory size at
/// `model × (1 ± spread)`, with a variant-specific spread so that variants' ratios differ.
fn with_dispersion(mut a: Application) -> Application {
    for f in &mut a.functions {
        let m = f64::from(f.memory_mb[0]);
        for (v, variant) in f.variants.iter_mut().enumerate() {
            let base = variant.model.duration_ms(m);
            let spread = 0.1 + 0.15 * v as f64;
            variant.samples = [-1.0, -0.3, 0.0, 0.2, 0.5, 1.0, 2.0]
                .iter()
                .map(|k| ProfileSample {
                    memory_mb: m,
                    duration_ms: base * (1.0 + spread * k).max(0.05),
                    billed_duration_ms: None,
                    cold: false,
                    max_memory_used_mb: None,
                    init_duration_ms: None,
                })
                .collect();
        }
    }
    a
}

/// Problems spanning each quantity's range over `all` (every configuration's metrics):
/// percentile objectives with analytic limits, and analytic objectives with percentile limits.
fn problems(all: &[(Vec<usize>, TailMetrics)]) -> Vec<Problem> {
    let mut lo = [f64::INFINITY; 4];
    let mut hi = [f64::NEG_INFINITY; 4];
    for (_, t) in all {
        for (i, x) in [
            t.p95_ms,
            t.p99_ms,
            t.metrics.cost_usd_per_million,
            t.metrics.accuracy,
        ]
        .into_iter()
        .enumerate()
        {
            lo[i] = lo[i].min(x);
            hi[i] = hi[i].max(x);
        }
    }
    let at = |i: usize, k: f64| lo[i] + (hi[i] - lo[i]) * k;
    let mut out = Vec::new();
    for k in [0.0, 0.1, 0.3, 0.7, 1.0] {
        out.push(Problem {
            objective: Objective::P95Latency,
            constraints: Constraints {
                max_cost_usd_per_million: Some(at(2, k)),
                min_accuracy: Some(at(3, 1.0 - k)),
                ..Default::default()
            },
        });
        out.push(Problem {
            objective: Objective::P99Latency,
            constraints: Constraints {
                max_cost_usd_per_million: Some(at(2, 1.0 - k)),
                ..Default::default()
            },
        });
        out.push(Problem {
            objective: Objective::Cost,
            constraints: Constraints {
                max_p95_latency_ms: Some(at(0, k)),
                min_accuracy: Some(at(3, 0.5)),
                ..Default::default()
            },
        });
        out.push(Problem {
            objective: Objective::Accuracy,
            constraints: Constraints {
                max_p99_latency_ms: Some(at(1, k)),
                max_cost_usd_per_million: Some(at(2, 0.6)),
                ..Default::default()
            },
        });
        out.push(Problem {
            objective: Objective::Latency,
            constraints: Constraints {
                max_p95_latency_ms: Some(at(0, k)),
                max_p99_latency_ms: Some(at(1, 0.8)),
                ..Default::default()
            },
        });
    }
    out
}

/// The exact solver on the pruned tail space equals brute force (every configuration, same
/// scenarios, same tie rule as [`brute_force`]).
fn exact_equals_brute(a: &Application, runs: usize, seed: u64) {
    let scenarios = Rc::new(Scenarios::sample(a, runs, seed).unwrap());
    let full = SearchSpace::full(a);
    let complete = TailSpace::new(&full, Rc::clone(&scenarios), DurationSource::Samples, false);
    let pruned = TailSpace::new(&full, scenarios, DurationSource::Samples, true);
    let mut all = Vec::new();
    for_each(&complete, |pick, t| all.push((pick.to_vec(), *t)));
    for p in problems(&all) {
        let mut brute: Option<&TailMetrics> = None;
        for (_, t) in &all {
            if admits(&p.constraints, t) && brute.is_none_or(|b| better(&p, t, b)) {
                brute = Some(t);
            }
        }
        let e = solve_exact(&pruned, &p, u64::MAX);
        assert!(e.proven);
        match (brute, &e.best) {
            (None, None) => {}
            (Some(bt), Some((pick, et))) => {
                let (bv, ev) = (value(&p, bt), value(&p, et));
                assert!(
                    (bv - ev).abs() <= 1e-9 * bv.abs().max(1.0),
                    "{p:?}: brute {bt:?} exact {et:?}"
                );
                let again = pruned.evaluate(pick, &mut TailScratch::default());
                assert_eq!(&again, et);
                assert!(admits(&p.constraints, &again), "{p:?}: {again:?}");
            }
            (b, e) => panic!("{p:?}: brute {b:?} vs exact {e:?}"),
        }
    }
    // `brute_force` itself agrees with the list on one problem.
    let p = problems(&all)[0];
    let b = brute_force(&complete, &p);
    assert_eq!(b.evaluations as usize, all.len());
}

#[test]
fn exact_equals_brute_force_over_the_same_scenarios_on_app3() {
    exact_equals_brute(&app3(), 400, 1);
    exact_equals_brute(&with_dispersion(app3()), 400, 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn exact_equals_brute_force_over_the_same_scenarios_on_random_workflows(
        a in super::super::testing::app(), seed in 0u64..1000,
    ) {
        exact_equals_brute(&with_dispersion(a), 200, seed);
    }
}

#[test]
fn tail_pruning_keeps_an_option_of_every_function() {
    let a = with_dispersion(app3());
    let scenarios = Rc::new(Scenarios::sample(&a, 500, 3).unwrap());
    let full = SearchSpace::full(&a);
    let pruned = TailSpace::new(&full, scenarios, DurationSource::Samples, true);
    let analytic = full.pruned();
    for (f, kept) in pruned.space.options.iter().enumerate() {
        // Tail dominance is stricter than analytic dominance: it keeps at least as many.
        assert!(kept.len() >= analytic.options[f].len(), "function {f}");
    }
}

fn settings(seed: u64) -> SolveOptions {
    SolveOptions {
        tail: TailSettings {
            scenarios: 5_000,
            seed,
            durations: DurationSource::Samples,
            certify_runs: 100_000,
        },
        ..SolveOptions::default()
    }
}

#[test]
fn the_answers_percentiles_are_the_simulators_for_the_same_seed() {
    let a = media();
    let options = settings(17);
    let p = Problem {
        objective: Objective::P95Latency,
        constraints: Constraints {
            max_cost_usd_per_million: Some(600.0),
            ..Default::default()
        },
    };
    let s = super::super::solve(&a, &p, &options).unwrap();
    assert_eq!(s.status, Status::Optimal);
    let tail = s.tail.unwrap();
    let choices = a.resolve(s.config.as_ref().unwrap(), "$").unwrap();
    let r = simulate::simulate(
        &a,
        &choices,
        &SimulationRequest {
            runs: 5_000,
            seed: 17,
            durations: DurationSource::Samples,
            bins: 10,
        },
    )
    .unwrap();
    assert_eq!(tail.p95_ms, Some(r.p95_ms));
    assert_eq!(tail.p99_ms, Some(r.p99_ms));
    // The certification is `simulate --seed certification_seed(17) --runs 100000`.
    let c = tail.certification.unwrap();
    assert_eq!(c.seed, certification_seed(17));
    let r = simulate::simulate(
        &a,
        &choices,
        &SimulationRequest {
            runs: 100_000,
            seed: c.seed,
            durations: DurationSource::Samples,
            bins: 10,
        },
    )
    .unwrap();
    assert_eq!((c.p95_ms, c.p95_ci_ms), (r.p95_ms, r.p95_ci_ms));
    // No configuration within the budget has a lower p95 over the scenarios than the answer:
    // the deployed configuration, for one, is not better.
    let deployed = simulate::simulate(
        &a,
        &a.deployed,
        &SimulationRequest {
            runs: 5_000,
            seed: 17,
            durations: DurationSource::Samples,
            bins: 10,
        },
    )
    .unwrap();
    if deployed.analytic_cost_usd_per_million <= 600.0 {
        assert!(tail.p95_ms.unwrap() <= deployed.p95_ms);
    }
}

#[test]
fn p95_limits_hold_on_re_simulation_within_the_confidence_interval() {
    let a = media();
    let mut checked = 0;
    for (i, limit) in [9_000.0, 11_000.0, 14_000.0, 20_000.0]
        .into_iter()
        .enumerate()
    {
        let p = Problem {
            objective: Objective::Cost,
            constraints: Constraints {
                max_p95_latency_ms: Some(limit),
                min_accuracy: Some(0.5),
                ..Default::default()
            },
        };
        let s = super::super::solve(&a, &p, &settings(100 + i as u64)).unwrap();
        if s.status == Status::Infeasible {
            continue;
        }
        assert_eq!(s.status, Status::Optimal, "{limit}");
        let tail = s.tail.unwrap();
        assert!(tail.p95_ms.unwrap() <= limit);
        let c = tail.certification.unwrap();
        let check = &c.checks[0];
        assert_eq!(check.constraint, ConstraintKind::MaxP95LatencyMs);
        // The true p95 is within the limit as far as an independent run can tell: the
        // confidence interval reaches down to the limit.
        assert!(check.ci_ms[0] <= limit, "{limit}: {c:?}");
        assert_ne!(check.verdict, Verdict::Exceeded, "{limit}: {c:?}");
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} feasible limits");
}

#[test]
fn infeasible_percentile_limits_say_how_far() {
    let a = media();
    let options = settings(5);
    let fastest = super::super::solve(
        &a,
        &Problem {
            objective: Objective::P95Latency,
            constraints: Constraints::default(),
        },
        &options,
    )
    .unwrap();
    let best = fastest.tail.unwrap().p95_ms.unwrap();
    let p = Problem {
        objective: Objective::Cost,
        constraints: Constraints {
            max_p95_latency_ms: Some(best * 0.9),
            ..Default::default()
        },
    };
    let s = super::super::solve(&a, &p, &options).unwrap();
    assert_eq!(s.status, Status::Infeasible);
    let why = s.infeasible.unwrap();
    assert_eq!(why.constraint, ConstraintKind::MaxP95LatencyMs);
    assert_eq!(why.best_reachable, Some(best));
    assert!(
        why.message.starts_with(&format!(
            "max_p95_latency_ms = {} ms cannot be met: the lowest p95 latency over the scenarios reachable is {best} ms",
            best * 0.9
        )),
        "{}",
        why.message
    );
    assert!(s.tail.unwrap().certification.is_none());
}

#[test]
fn a_tight_cost_limit_beside_a_percentile_limit_is_explained_too() {
    let a = app3();
    let options = settings(9);
    let p = Problem {
        objective: Objective::P95Latency,
        constraints: Constraints {
            max_cost_usd_per_million: Some(1.0),
            max_p95_latency_ms: Some(1e9),
            ..Default::default()
        },
    };
    let s = super::super::solve(&a, &p, &options).unwrap();
    assert_eq!(s.status, Status::Infeasible);
    let why = s.infeasible.unwrap();
    assert_eq!(why.constraint, ConstraintKind::MaxCostUsdPerMillion);
    assert!(why.best_reachable.unwrap() > 1.0);
}

#[test]
fn greedy_and_missing_settings_are_refused() {
    let a = app3();
    let p = Problem {
        objective: Objective::P95Latency,
        constraints: Constraints::default(),
    };
    let greedy = SolveOptions {
        solver: SolverKind::Greedy,
        ..settings(1)
    };
    assert_eq!(
        super::super::solve(&a, &p, &greedy).unwrap_err(),
        SolveError::GreedyTail
    );
    let mut zero = settings(1);
    zero.tail.scenarios = 0;
    assert_eq!(
        super::super::solve(&a, &p, &zero).unwrap_err().to_string(),
        "scenarios: must be from 1 to 1000000, found 0"
    );
    let r: super::super::OptimizeRequest =
        serde_json::from_str(r#"{"objective": "p95_latency"}"#).unwrap();
    assert!(r.parts().unwrap_err().starts_with("seed: "));
    let r: super::super::OptimizeRequest =
        serde_json::from_str(r#"{"objective": "latency"}"#).unwrap();
    assert!(r.parts().is_ok());
}

#[test]
fn certification_seeds_differ_from_their_source() {
    for s in [0, 1, 2, u64::MAX] {
        assert_ne!(certification_seed(s), s);
        assert!(certification_seed(s) < 1 << 53);
    }
    assert_ne!(certification_seed(1), certification_seed(2));
}
