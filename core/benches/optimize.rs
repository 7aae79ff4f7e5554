//! Micro-benchmarks of the hot paths (criterion): `cargo bench -p optiserve-core --bench optimize`.

#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use optiserve_core::bundle::{Application, Bundle};
use optiserve_core::optimize::whatif::{Sweep, what_if};
use optiserve_core::optimize::{
    ConstraintKind, Constraints, Objective, Problem, SearchSpace, SolveOptions, brute, exact,
    greedy, harness,
};
use optiserve_core::workflow::LatencyModel;
use std::hint::black_box;

fn load(text: &str) -> Application {
    Bundle::from_json(text).unwrap().validate().unwrap()
}

fn mid_latency_problem(space: &SearchSpace) -> Problem {
    let e = harness::extremes(space);
    let mid = |r: (f64, f64)| r.0 + (r.1 - r.0) * 0.5;
    Problem {
        objective: Objective::Latency,
        constraints: Constraints {
            max_cost_usd_per_million: Some(mid(e.cost_usd_per_million)),
            min_accuracy: Some(mid(e.accuracy)),
            ..Default::default()
        },
    }
}

fn benches(c: &mut Criterion) {
    let app3 = load(include_str!("../../examples/app3.bundle.json"));
    let six = load(include_str!("../../examples/six-functions.bundle.json"));
    let full = SearchSpace::full(&app3);
    let pruned = full.pruned();
    let problem = mid_latency_problem(&full);
    let options = SolveOptions::default();

    c.bench_function(
        "evaluate one App3 configuration (plan + cost + score)",
        |b| {
            let pick = vec![3, 17, 29];
            let mut scratch = Default::default();
            b.iter(|| full.evaluate_with(black_box(&pick), &mut scratch))
        },
    );
    let real = [
        (
            8,
            include_str!("../../tests/fixtures/real-aws/app8.bundle.json"),
        ),
        (
            14,
            include_str!("../../tests/fixtures/real-aws/app14.bundle.json"),
        ),
        (
            16,
            include_str!("../../tests/fixtures/real-aws/app16.bundle.json"),
        ),
    ];
    for (n, text) in real {
        let mut app = load(text);
        for model in LatencyModel::ALL {
            app.latency_model = model;
            let space = SearchSpace::full(&app);
            let pick = vec![0; space.options.len()];
            c.bench_function(
                &format!(
                    "evaluate one App{n} configuration ({}, real-data fixture)",
                    model.name()
                ),
                |b| {
                    let mut scratch = Default::default();
                    b.iter(|| space.evaluate_with(black_box(&pick), &mut scratch))
                },
            );
        }
    }
    c.bench_function("evaluate one App3 configuration (full report)", |b| {
        b.iter(|| app3.evaluate(black_box(&app3.deployed)))
    });
    c.bench_function("brute force over App3's 40,960 configurations", |b| {
        b.iter(|| brute::solve(black_box(&full), &problem))
    });
    c.bench_function("exact, one App3 problem", |b| {
        b.iter(|| exact::solve(black_box(&pruned), &problem, u64::MAX))
    });
    c.bench_function("greedy, one App3 problem", |b| {
        b.iter(|| greedy::solve(black_box(&full), &problem, &options.greedy))
    });
    c.bench_function(
        "what-if, 300 App3 problems (3 objectives × 10 × 10, exact)",
        |b| {
            let e = harness::extremes(&full);
            let sweep = |k, r: (f64, f64)| Sweep::linear(k, r.0, r.1, 10);
            let lat = sweep(ConstraintKind::MaxLatencyMs, e.latency_ms);
            let cost = sweep(ConstraintKind::MaxCostUsdPerMillion, e.cost_usd_per_million);
            let acc = sweep(ConstraintKind::MinAccuracy, e.accuracy);
            b.iter(|| {
                let n = Constraints::default();
                what_if(
                    &app3,
                    Objective::Latency,
                    n,
                    &[cost.clone(), acc.clone()],
                    &options,
                )
                .unwrap()
                .len()
                    + what_if(
                        &app3,
                        Objective::Cost,
                        n,
                        &[lat.clone(), acc.clone()],
                        &options,
                    )
                    .unwrap()
                    .len()
                    + what_if(
                        &app3,
                        Objective::Accuracy,
                        n,
                        &[lat.clone(), cost.clone()],
                        &options,
                    )
                    .unwrap()
                    .len()
            })
        },
    );
    c.bench_function("simulate 100,000 App3 executions", |b| {
        let request = optiserve_core::simulate::SimulationRequest {
            runs: 100_000,
            seed: 1,
            durations: Default::default(),
            bins: 40,
        };
        b.iter(|| {
            optiserve_core::simulate::simulate(&app3, &app3.deployed, black_box(&request)).unwrap()
        })
    });
    let six_full = SearchSpace::full(&six);
    let six_pruned = six_full.pruned();
    let six_problem = mid_latency_problem(&six_full);
    c.bench_function(
        "exact, one six-function problem (2.1e9 configurations)",
        |b| b.iter(|| exact::solve(black_box(&six_pruned), &six_problem, u64::MAX)),
    );
    c.bench_function("greedy, one six-function problem", |b| {
        b.iter(|| greedy::solve(black_box(&six_full), &six_problem, &options.greedy))
    });
}

criterion_group! {
    name = optimize;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(optimize);
