//! The simulator and the tail-aware optimizer (criterion): `cargo bench -p optiserve-core --bench
//! simulate`. Executions per second = 100,000 / the time of one `simulate` iteration.

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use optiserve_core::bundle::{Application, Bundle};
use optiserve_core::optimize::scenarios::Scenarios;
use optiserve_core::optimize::tail::TailSettings;
use optiserve_core::optimize::{Constraints, Objective, Problem, SolveOptions, solve};
use optiserve_core::simulate::{DurationSource, SimulationRequest, simulate};

fn load(text: &str) -> Application {
    Bundle::from_json(text).unwrap().validate().unwrap()
}

fn benches(c: &mut Criterion) {
    let app3 = load(include_str!("../../examples/app3.bundle.json"));
    let media = load(include_str!("../../examples/media-pipeline.bundle.json"));
    let request = SimulationRequest {
        runs: 100_000,
        seed: 1,
        durations: DurationSource::Samples,
        bins: 40,
    };
    for (name, app) in [("App3", &app3), ("media pipeline", &media)] {
        c.bench_function(&format!("simulate 100,000 {name} executions"), |b| {
            b.iter(|| simulate(app, &app.deployed, black_box(&request)).unwrap())
        });
        c.bench_function(&format!("sample 5,000 {name} scenarios"), |b| {
            b.iter(|| Scenarios::sample(app, black_box(5_000), 1).unwrap())
        });
    }
    let mut group = c.benchmark_group("tail-aware optimize (exact, certified with 100,000 runs)");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let cases = [
        (
            "App3 p95-latency, max cost 800, min accuracy 1.8",
            &app3,
            Problem {
                objective: Objective::P95Latency,
                constraints: Constraints {
                    max_cost_usd_per_million: Some(800.0),
                    min_accuracy: Some(1.8),
                    ..Default::default()
                },
            },
        ),
        (
            "media pipeline cost, max p95 12000 ms",
            &media,
            Problem {
                objective: Objective::Cost,
                constraints: Constraints {
                    max_p95_latency_ms: Some(12_000.0),
                    ..Default::default()
                },
            },
        ),
        (
            "media pipeline p95-latency, max cost 600",
            &media,
            Problem {
                objective: Objective::P95Latency,
                constraints: Constraints {
                    max_cost_usd_per_million: Some(600.0),
                    ..Default::default()
                },
            },
        ),
    ];
    for scenarios in [2_000, 5_000, 10_000] {
        for (name, app, problem) in &cases {
            let options = SolveOptions {
                tail: TailSettings {
                    scenarios,
                    seed: 1,
                    ..TailSettings::default()
                },
                ..SolveOptions::default()
            };
            group.bench_function(format!("{name}, {scenarios} scenarios"), |b| {
                b.iter(|| solve(app, black_box(problem), &options).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(simulate_benches, benches);
criterion_main!(simulate_benches);
