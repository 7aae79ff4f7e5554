//! Not a test: how fast `optiserve-core` runs inside the wasm module in headless Chromium, without
//! the JavaScript conversions, on the protocol of `cargo bench -p optiserve-core --bench solvers`
//! (App3, the 300 problems of the quality harness, exact solver on the pruned space), plus the
//! package's own calls as `cargo bench -p optiserve-wasm --bench native` times them natively.
//! Prints the numbers; run it by hand (CI does not):
//!
//! ```sh
//! CHROMEDRIVER=/usr/bin/chromedriver \
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//! cargo test -p optiserve-wasm --target wasm32-unknown-unknown --profile wasm-release \
//!     --test browser_bench -- --nocapture
//! ```

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use optiserve_core::optimize::{SearchSpace, SolveOptions, exact, harness};
use optiserve_wasm::api;
use serde_json::{Value, json};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const APP3: &str = include_str!("../../examples/app3.bundle.json");
const MEDIA: &str = include_str!("../../examples/media-pipeline.bundle.json");
const WHAT_IF: &str = include_str!("../benches/app3-whatif.json");

fn now() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| {
            let now: js_sys::Function = js_sys::Reflect::get(&p, &"now".into()).ok()?.into();
            now.call0(&p).ok()?.as_f64()
        })
        .unwrap()
}

/// Best of `runs` timings of `f`, in ms (the browser's clock is coarse: time whole loops).
fn best_of(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = now();
            f();
            now() - t
        })
        .fold(f64::INFINITY, f64::min)
}

#[wasm_bindgen_test]
fn timings() {
    let app = api::application(APP3).unwrap();
    let full = SearchSpace::full(&app);
    let pruned = full.pruned();
    let problems = harness::problems(&harness::extremes(&full), 10);
    let options = SolveOptions::default();
    let exact_ms = best_of(10, || {
        for p in &problems {
            black_box(exact::solve(&pruned, p, options.node_limit));
        }
    });
    console_log!(
        "exact, App3 harness protocol ({} problems): {exact_ms:.3} ms, {:.1} µs per problem",
        problems.len(),
        exact_ms * 1e3 / problems.len() as f64
    );

    let requests: Vec<Value> = serde_json::from_str(WHAT_IF).unwrap();
    let texts: Vec<String> = requests.iter().map(Value::to_string).collect();
    let what_if_ms = best_of(10, || {
        for t in &texts {
            black_box(serde_json::to_string(&api::what_if_sweep(&app, t).unwrap()).unwrap());
        }
    });
    console_log!(
        "whatIf 3 × 10 × 10 (inside wasm, no JS conversion): {what_if_ms:.3} ms, {:.1} µs per problem",
        what_if_ms * 1e3 / 300.0
    );
    let calls: Vec<String> = requests
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
    let optimize_ms = best_of(5, || {
        for i in 0..1000 {
            let s = api::optimize(&app, &calls[i % calls.len()]).unwrap();
            black_box(serde_json::to_string(&s).unwrap());
        }
    });
    console_log!(
        "optimize × 1000 (inside wasm, no JS conversion): {optimize_ms:.3} ms, {:.1} µs per call",
        optimize_ms
    );

    for (name, text) in [("App3", APP3), ("media pipeline", MEDIA)] {
        let app = api::application(text).unwrap();
        let request = r#"{"runs": 100000, "seed": 1}"#;
        let simulate_ms = best_of(5, || {
            black_box(api::simulate(&app, request).unwrap());
        });
        console_log!(
            "simulate 100,000 {name} executions (inside wasm): {simulate_ms:.3} ms, {:.1} million executions/s",
            100_000.0 / simulate_ms / 1e3
        );
    }
}
