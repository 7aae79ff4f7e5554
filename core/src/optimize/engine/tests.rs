//! The engine against brute force where pricing rules meet percentiles.

use std::rc::Rc;

use super::super::scenarios::Scenarios;
use super::super::tail::{TailSettings, TailSpace, for_each};
use super::super::{Constraints, Objective, Problem, SearchSpace, SolveOptions, Status, solve};
use super::{Figures, admits, better, value};
use crate::bundle::{Application, Bundle};
use crate::pricing::StepFunctionsPricing;
use crate::simulate::{self, DurationSource, SimulationRequest};

fn app3_express() -> Application {
    let mut app = Bundle::from_json(include_str!("../../../../examples/app3.bundle.json"))
        .unwrap()
        .validate()
        .unwrap();
    app.pricing.step_functions = Some(StepFunctionsPricing::express());
    app
}

/// Issue 14's reproduction: under Step Functions Express the tail search's cost bound left out the
/// Express duration charge, so `p95-latency` within $350 per million answered $353.13 labelled
/// optimal (brute force: $349.70) and `cost` within a p95 of 8 s answered $338.95 (brute force:
/// $338.80). The answers must equal brute force over the same scenarios and meet their limits
/// when evaluated and simulated again.
#[test]
fn express_duration_charge_is_in_the_tail_search() {
    let app = app3_express();
    let seed = 1;
    let scenarios = Rc::new(Scenarios::sample(&app, 5_000, seed).unwrap());
    let full = SearchSpace::full(&app);
    // Every configuration of the dominance-pruned space (the pruning is sound, and tested
    // against the complete grid in `tail`): the oracle.
    let complete = TailSpace::new(&full, scenarios, DurationSource::Samples, true);
    let mut all: Vec<Figures> = Vec::new();
    for_each(&complete, |_, t| all.push(*t));
    let problems = [
        (
            Problem {
                objective: Objective::P95Latency,
                constraints: Constraints {
                    max_cost_usd_per_million: Some(350.0),
                    ..Default::default()
                },
            },
            349.70,
        ),
        (
            Problem {
                objective: Objective::Cost,
                constraints: Constraints {
                    max_p95_latency_ms: Some(8000.0),
                    ..Default::default()
                },
            },
            338.80,
        ),
    ];
    let options = SolveOptions {
        tail: TailSettings {
            scenarios: 5_000,
            seed,
            durations: DurationSource::Samples,
            certify_runs: 0,
        },
        ..SolveOptions::default()
    };
    for (p, brute_cost) in problems {
        let mut brute: Option<&Figures> = None;
        for t in &all {
            if admits(&p.constraints, t) && brute.is_none_or(|b| better(&p, t, b)) {
                brute = Some(t);
            }
        }
        let brute = brute.unwrap();
        assert!(
            (brute.metrics.cost_usd_per_million - brute_cost).abs() < 0.01,
            "{p:?}: {brute:?}"
        );
        let s = solve(&app, &p, &options).unwrap();
        assert_eq!(s.status, Status::Optimal, "{p:?}");
        let t = s.tail.as_ref().unwrap();
        let answer = Figures {
            metrics: super::super::Metrics {
                latency_ms: s.latency_ms.unwrap(),
                cost_usd_per_million: s.cost_usd_per_million.unwrap(),
                accuracy: s.accuracy.unwrap(),
            },
            p95_ms: t.p95_ms.unwrap(),
            p99_ms: t.p99_ms.unwrap(),
        };
        assert!(
            (value(&p, &answer) - value(&p, brute)).abs() <= 1e-9 * value(&p, brute).abs(),
            "{p:?}: exact {answer:?}, brute force {brute:?}"
        );
        // Re-evaluated and re-simulated, the answer meets its limits.
        let choices = app.resolve(s.config.as_ref().unwrap(), "$").unwrap();
        let e = app.evaluate(&choices);
        assert_eq!(e.cost_usd_per_million, answer.metrics.cost_usd_per_million);
        let r = simulate::simulate(
            &app,
            &choices,
            &SimulationRequest {
                runs: 5_000,
                seed,
                durations: DurationSource::Samples,
                bins: 1,
            },
        )
        .unwrap();
        assert_eq!(r.p95_ms, answer.p95_ms);
        let again = Figures {
            metrics: super::super::Metrics {
                latency_ms: e.latency_ms,
                cost_usd_per_million: e.cost_usd_per_million,
                accuracy: e.accuracy,
            },
            p95_ms: r.p95_ms,
            p99_ms: r.p99_ms,
        };
        assert!(admits(&p.constraints, &again), "{p:?}: {again:?}");
    }
}

mod properties {
    use proptest::prelude::*;

    use super::super::super::harness;
    use super::super::super::tail::TailSettings;
    use super::super::super::testing;
    use super::super::super::{
        Constraints, Objective, Problem, SearchSpace, Solution, SolveOptions, SolverKind, Status,
        solve,
    };
    use crate::bundle::Application;
    use crate::simulate::{self, DurationSource, SimulationRequest};

    const RUNS: usize = 300;

    fn options(solver: SolverKind, seed: u64) -> SolveOptions {
        SolveOptions {
            solver,
            tail: TailSettings {
                scenarios: RUNS,
                seed,
                durations: DurationSource::Samples,
                certify_runs: 0,
            },
            ..SolveOptions::default()
        }
    }

    /// Expected and tail problems spanning the grid: each objective with limits at a quarter,
    /// half and three quarters of the others' ranges; percentile limits around the deployed
    /// configuration's percentiles.
    fn problems(app: &Application, seed: u64) -> Vec<Problem> {
        let e = harness::extremes(&SearchSpace::full(app));
        let at = |r: (f64, f64), k: f64| r.0 + (r.1 - r.0) * k;
        let deployed = simulate::simulate(
            app,
            &app.deployed,
            &SimulationRequest {
                runs: RUNS,
                seed,
                durations: DurationSource::Samples,
                bins: 1,
            },
        )
        .unwrap();
        let mut out = Vec::new();
        for k in [0.25, 0.5, 0.75] {
            out.push(Problem {
                objective: Objective::Latency,
                constraints: Constraints {
                    max_cost_usd_per_million: Some(at(e.cost_usd_per_million, k)),
                    min_accuracy: Some(at(e.accuracy, 1.0 - k)),
                    ..Default::default()
                },
            });
            out.push(Problem {
                objective: Objective::Cost,
                constraints: Constraints {
                    max_latency_ms: Some(at(e.latency_ms, k)),
                    min_accuracy: Some(at(e.accuracy, k)),
                    ..Default::default()
                },
            });
            out.push(Problem {
                objective: Objective::Accuracy,
                constraints: Constraints {
                    max_latency_ms: Some(at(e.latency_ms, k)),
                    max_cost_usd_per_million: Some(at(e.cost_usd_per_million, 1.0 - k)),
                    ..Default::default()
                },
            });
            out.push(Problem {
                objective: Objective::P95Latency,
                constraints: Constraints {
                    max_cost_usd_per_million: Some(at(e.cost_usd_per_million, k)),
                    ..Default::default()
                },
            });
            out.push(Problem {
                objective: Objective::Cost,
                constraints: Constraints {
                    max_p99_latency_ms: Some(deployed.p99_ms * (0.5 + k)),
                    min_accuracy: Some(at(e.accuracy, 0.5)),
                    ..Default::default()
                },
            });
        }
        out
    }

    fn value(p: &Problem, s: &Solution) -> f64 {
        match p.objective {
            Objective::Latency => s.latency_ms.unwrap(),
            Objective::Cost => s.cost_usd_per_million.unwrap(),
            Objective::Accuracy => s.accuracy.unwrap(),
            Objective::P95Latency => s.tail.as_ref().unwrap().p95_ms.unwrap(),
            Objective::P99Latency => s.tail.as_ref().unwrap().p99_ms.unwrap(),
        }
    }

    /// An answer re-evaluated by `evaluate` (and, for percentiles, `simulate` with the same
    /// scenarios) has the figures it reports and meets every limit.
    fn meets_its_limits(app: &Application, p: &Problem, s: &Solution, seed: u64) {
        let choices = app.resolve(s.config.as_ref().unwrap(), "$").unwrap();
        let e = app.evaluate(&choices);
        assert_eq!(Some(e.latency_ms), s.latency_ms);
        assert_eq!(Some(e.cost_usd_per_million), s.cost_usd_per_million);
        assert_eq!(Some(e.accuracy), s.accuracy);
        let c = p.constraints;
        assert!(
            c.admits(&super::super::super::Metrics {
                latency_ms: e.latency_ms,
                cost_usd_per_million: e.cost_usd_per_million,
                accuracy: e.accuracy,
            }),
            "{p:?}: {e:?}"
        );
        if p.is_tail() {
            let r = simulate::simulate(
                app,
                &choices,
                &SimulationRequest {
                    runs: RUNS,
                    seed,
                    durations: DurationSource::Samples,
                    bins: 1,
                },
            )
            .unwrap();
            let t = s.tail.as_ref().unwrap();
            assert_eq!((t.p95_ms, t.p99_ms), (Some(r.p95_ms), Some(r.p99_ms)));
            assert!(
                c.max_p95_latency_ms
                    .is_none_or(|l| r.p95_ms <= l * (1.0 + 1e-9))
            );
            assert!(
                c.max_p99_latency_ms
                    .is_none_or(|l| r.p99_ms <= l * (1.0 + 1e-9))
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Random workflows (branches, loops and parallel arms holding them, cold starts) under
        /// random pricing (x86_64 or arm64, 1 or 100 ms billing, Standard or Express Step
        /// Functions, INIT billing rules, provisioned concurrency): the engine's answer is brute
        /// force's, for expected and tail objectives and limits, and meets its limits when
        /// evaluated and simulated again.
        #[test]
        fn engine_equals_brute_force_under_every_pricing_rule(
            app in testing::app(), seed in 0u64..1000,
        ) {
            for p in problems(&app, seed) {
                let e = solve(&app, &p, &options(SolverKind::Exact, seed)).unwrap();
                let b = solve(&app, &p, &options(SolverKind::BruteForce, seed)).unwrap();
                prop_assert_eq!(e.status == Status::Infeasible, b.status == Status::Infeasible);
                if b.status == Status::Infeasible {
                    continue;
                }
                prop_assert_eq!(e.status, Status::Optimal);
                let (ev, bv) = (value(&p, &e), value(&p, &b));
                prop_assert!((ev - bv).abs() <= 1e-9 * bv.abs().max(1.0), "{:?}: exact {} brute force {}", p, ev, bv);
                meets_its_limits(&app, &p, &e, seed);
                meets_its_limits(&app, &p, &b, seed);
            }
        }
    }
}
