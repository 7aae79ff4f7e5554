//! Per-problem solve times over the thesis protocol (300 problems per application), side by side
//! for the exact and greedy solvers and, where the grid allows, brute force:
//! `cargo bench -p optiserve-core --bench solvers`. Prints mean, median and worst per problem.

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_types,
    clippy::disallowed_methods,
    missing_docs
)]

use std::time::Instant;

use optiserve_core::bundle::Bundle;
use optiserve_core::optimize::{SearchSpace, SolveOptions, brute, exact, greedy, harness};

fn stats(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    format!(
        "mean {:>9.3} ms  median {:>9.3} ms  worst {:>9.3} ms",
        mean,
        ms[ms.len() / 2],
        ms[ms.len() - 1]
    )
}

fn main() {
    // `cargo bench` passes flags such as `--bench`; this target takes none.
    let apps = [
        ("app3", include_str!("../../examples/app3.bundle.json")),
        (
            "media-pipeline",
            include_str!("../../examples/media-pipeline.bundle.json"),
        ),
        (
            "six-functions",
            include_str!("../../examples/six-functions.bundle.json"),
        ),
    ];
    let options = SolveOptions::default();
    for (name, text) in apps {
        let app = Bundle::from_json(text).unwrap().validate().unwrap();
        let full = SearchSpace::full(&app);
        let started = Instant::now();
        let pruned = full.pruned();
        let prune_ms = started.elapsed().as_secs_f64() * 1e3;
        let problems = harness::problems(&harness::extremes(&full), 10);
        let kept: usize = pruned.options.iter().map(Vec::len).sum();
        let all: usize = full.options.iter().map(Vec::len).sum();
        println!(
            "{name}: {:.3e} configurations, {all} options → {kept} after dominance pruning ({prune_ms:.3} ms), {} problems",
            full.size(),
            problems.len()
        );
        let time = |f: &dyn Fn(usize)| -> Vec<f64> {
            (0..problems.len())
                .map(|i| {
                    let t = Instant::now();
                    f(i);
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect()
        };
        let ex = time(&|i| {
            std::hint::black_box(exact::solve(&pruned, &problems[i], options.node_limit));
        });
        println!(
            "  exact   {}  (all 300: {:.1} ms; each building its layout)",
            stats(ex.clone()),
            ex.iter().sum::<f64>()
        );
        let started = Instant::now();
        let solver = exact::Solver::new(&pruned);
        let layout_ms = started.elapsed().as_secs_f64() * 1e3;
        let ex = time(&|i| {
            std::hint::black_box(solver.solve(&problems[i], options.node_limit));
        });
        println!(
            "  exact   {}  (all 300: {:.1} ms; the layout built once, {layout_ms:.3} ms)",
            stats(ex.clone()),
            ex.iter().sum::<f64>()
        );
        let gr = time(&|i| {
            std::hint::black_box(greedy::solve(&full, &problems[i], &options.greedy));
        });
        println!("  greedy  {}", stats(gr));
        if full.size() <= 1e6 {
            let bf = time(&|i| {
                std::hint::black_box(brute::solve(&full, &problems[i]));
            });
            let mean = bf.iter().sum::<f64>() / bf.len() as f64;
            println!(
                "  brute   {}  ({:.1} million configurations/s)",
                stats(bf),
                full.size() / mean / 1e3
            );
        }
    }
}
