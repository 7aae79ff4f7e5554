//! The package's work measured natively, for comparison with the same calls in the browser
//! (`node wasm/scripts/bench-browser.mjs`): `cargo bench -p optiserve-wasm --bench native`.
//!
//! App3, the 300-problem what-if of `benches/app3-whatif.json` (3 objectives × 10 × 10), and 1000
//! `optimize` calls cycling through the same 300 problems, each one as the package does it (parse
//! the request, build and prune the search space, solve exactly, serialize the answer).

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use optiserve_wasm::api;
use serde_json::{Value, json};

const APP3: &str = include_str!("../../examples/app3.bundle.json");
const WHAT_IF: &str = include_str!("app3-whatif.json");

fn best_of(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let app = api::application(APP3).unwrap();
    let requests: Vec<Value> = serde_json::from_str(WHAT_IF).unwrap();
    let texts: Vec<String> = requests.iter().map(Value::to_string).collect();

    let what_if_ms = best_of(10, || {
        for t in &texts {
            black_box(serde_json::to_string(&api::what_if_sweep(&app, t).unwrap()).unwrap());
        }
    });

    let problems: Vec<String> = requests
        .iter()
        .zip(&texts)
        .flat_map(|(r, t)| {
            let objective = r["objective"].clone();
            api::what_if_sweep(&app, t)
                .unwrap()
                .into_iter()
                .map(move |p| {
                    json!({ "objective": objective, "constraints": p.constraints }).to_string()
                })
        })
        .collect();
    assert_eq!(problems.len(), 300);
    let calls = 1000;
    let optimize_ms = best_of(5, || {
        for i in 0..calls {
            let s = api::optimize(&app, &problems[i % problems.len()]).unwrap();
            black_box(serde_json::to_string(&s).unwrap());
        }
    });
    let planner_ms = best_of(20, || {
        black_box(api::application(APP3).unwrap());
    });
    let pareto_ms = best_of(5, || {
        black_box(api::pareto(&app, api::PARETO_NODE_LIMIT).unwrap());
    });
    println!("native (release), App3, best of several runs:");
    println!("  new Planner (parse + validate)      {planner_ms:>9.3} ms");
    println!(
        "  optimize, {calls} calls (exact)        {optimize_ms:>9.3} ms  ({:.1} µs per call)",
        optimize_ms * 1e3 / calls as f64
    );
    println!(
        "  whatIf, 3 × 10 × 10 = 300 problems  {what_if_ms:>9.3} ms  ({:.1} µs per problem)",
        what_if_ms * 1e3 / 300.0
    );
    println!("  pareto (1291 points)                {pareto_ms:>9.3} ms");
}
