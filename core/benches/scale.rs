//! The exact solver on generated workflows of 30, 60 and 200 functions (seed 1, the shapes of
//! `optiserve generate`): for each of the three objectives, a problem with both other
//! quantities limited halfway between their extremes and one with tighter limits (30% of the
//! way), with a node budget per size. Prints, per problem, the time, the nodes, the status and,
//! for an unproven answer, its certified gap. Then `validate` (bundle checks, the accuracy
//! contract) on the 200-function bundle.
//!
//! `cargo bench -p optiserve-core --bench scale` (add `-- 30` to run one size).

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_types,
    clippy::disallowed_methods,
    missing_docs
)]

use std::time::Instant;

use optiserve_core::optimize::synthetic::{SyntheticScore, SyntheticSpec, generate};
use optiserve_core::optimize::{
    Analytic, Constraints, Objective, Problem, SolveOptions, Status, harness,
};

/// (functions, node budget, the time target in seconds).
const SIZES: [(usize, u64, f64); 3] = [
    (30, 400_000, 0.5),
    (60, 1_000_000, 2.0),
    (200, 1_000_000, 5.0),
];

fn problems(analytic: &Analytic) -> Vec<(String, Problem)> {
    let e = harness::extremes(&analytic.full);
    let at = |r: (f64, f64), t: f64| r.0 + (r.1 - r.0) * t;
    let mut out = Vec::new();
    for (name, t) in [("mid", 0.5), ("tight", 0.3)] {
        // Tight: a low budget, a low latency limit, a high accuracy floor.
        let acc = if t == 0.5 { 0.5 } else { 0.7 };
        out.push((
            format!("latency  {name}"),
            Problem {
                objective: Objective::Latency,
                constraints: Constraints {
                    max_cost_usd_per_million: Some(at(e.cost_usd_per_million, t)),
                    min_accuracy: Some(at(e.accuracy, acc)),
                    ..Default::default()
                },
            },
        ));
        out.push((
            format!("cost     {name}"),
            Problem {
                objective: Objective::Cost,
                constraints: Constraints {
                    max_latency_ms: Some(at(e.latency_ms, t)),
                    min_accuracy: Some(at(e.accuracy, acc)),
                    ..Default::default()
                },
            },
        ));
        out.push((
            format!("accuracy {name}"),
            Problem {
                objective: Objective::Accuracy,
                constraints: Constraints {
                    max_latency_ms: Some(at(e.latency_ms, t)),
                    max_cost_usd_per_million: Some(at(e.cost_usd_per_million, t)),
                    ..Default::default()
                },
            },
        ));
    }
    out
}

fn main() {
    let only: Option<usize> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    for (n, nodes, target) in SIZES {
        if only.is_some_and(|o| o != n) {
            continue;
        }
        let bundle = generate(&SyntheticSpec {
            functions: n,
            seed: 1,
            score: SyntheticScore::WeightedSum,
            express: false,
        });
        let t = Instant::now();
        let app = bundle.validate().unwrap();
        let validate_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let analytic = Analytic::new(&app);
        let prepare_s = t.elapsed().as_secs_f64();
        println!(
            "{n} functions: {:.1e} configurations, validate {:.1} ms, spaces and layout {prepare_s:.3} s, node budget {nodes}, target {target} s",
            analytic.full.size(),
            validate_s * 1e3
        );
        let options = SolveOptions {
            node_limit: nodes,
            ..Default::default()
        };
        for (name, problem) in problems(&analytic) {
            let t = Instant::now();
            let s = analytic.solve(&problem, &options);
            let secs = t.elapsed().as_secs_f64();
            let what = match (s.status, s.gap_percent) {
                (Status::Feasible, Some(g)) => format!("within {g:.3}% (certified)"),
                (status, _) => format!("{status:?}"),
            };
            println!(
                "  {name}  {secs:>7.3} s  {:>9} nodes  {what}",
                s.evaluations
            );
        }
    }
}
