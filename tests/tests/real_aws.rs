//! The prediction suite on real AWS measurements: App8–App16 of Lin & Khazaei (TPDS 2020), each
//! run 3,000 times on AWS Step Functions Express (`tests/fixtures/real-aws/`, derived from their
//! public logs; MIT licence). Per app: the measured mean, p95, p99 and cost against `evaluate`
//! under both latency models and against `simulate`.
//!
//! The table in `docs/real-aws-validation.md` is this test's output: the test fails when it is
//! stale, and `UPDATE_DOCS=1 cargo test -p optiserve-tests --test real_aws` rewrites it.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use optiserve_core::bundle::{Application, Bundle};
use optiserve_core::simulate::{DurationSource, SimulationRequest, simulate};
use optiserve_core::workflow::LatencyModel;
use serde_json::Value;

const APPS: [u32; 5] = [8, 10, 12, 14, 16];
const RUNS: usize = 100_000;
const SEED: u64 = 1;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

/// The paper's accuracy measure: `100 − |predicted − measured| / measured × 100`.
fn accuracy(predicted: f64, measured: f64) -> f64 {
    100.0 - (predicted - measured).abs() / measured * 100.0
}

fn percent(predicted: f64, measured: f64) -> f64 {
    (predicted - measured) / measured * 100.0
}

struct Row {
    app: u32,
    measured: [f64; 4],
    paper: f64,
    aware: f64,
    bound: f64,
    thesis: f64,
    sim: [f64; 4],
    cost: f64,
    sim_cost: f64,
    model_cost: f64,
}

fn row(n: u32) -> Row {
    let mut app: Application = Bundle::from_json(&read(&format!(
        "tests/fixtures/real-aws/app{n}.bundle.json"
    )))
    .unwrap()
    .validate()
    .unwrap();
    let measured: Value = serde_json::from_str(&read(&format!(
        "tests/fixtures/real-aws/app{n}.measured.json"
    )))
    .unwrap();
    let m = |k: &str| measured["latency_ms"][k].as_f64().unwrap();
    let aware = app.evaluate(&app.deployed);
    assert_eq!(aware.latency_model, LatencyModel::BranchAware);
    let request = SimulationRequest {
        runs: RUNS,
        seed: SEED,
        durations: DurationSource::Samples,
        bins: 40,
    };
    let sim = simulate(&app, &app.deployed, &request).unwrap();
    app.latency_model = LatencyModel::Thesis;
    let thesis = app.evaluate(&app.deployed);
    Row {
        app: n,
        measured: [m("mean"), m("p95"), m("p99"), 0.0],
        paper: measured["paper_model"]["latency_ms"].as_f64().unwrap(),
        aware: aware.latency_ms,
        bound: aware.latency_error_bound_ms,
        thesis: thesis.latency_ms,
        sim: [sim.mean_ms, sim.p95_ms, sim.p99_ms, 0.0],
        cost: measured["cost_usd_per_million"]["mean"].as_f64().unwrap(),
        sim_cost: sim.mean_cost_usd_per_million,
        model_cost: aware.cost_usd_per_million,
    }
}

fn table(rows: &[Row]) -> String {
    let mut t = String::new();
    t.push_str("| app | measured mean | `evaluate` (branch-aware) | `evaluate --latency-model thesis` | paper's model | `simulate` mean | measured p95 | `simulate` p95 | measured p99 | `simulate` p99 | measured cost | `simulate` cost | `evaluate` cost |\n");
    t.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let [mean, p95, p99, _] = r.measured;
        writeln!(
            t,
            "| App{} | {:.0} ms | {:.0} ms ({:.2}%) | {:.0} ms ({:.2}%) | {:.0} ms ({:.2}%) | {:.0} ms ({:+.2}%) | {:.0} ms | {:.0} ms ({:+.2}%) | {:.0} ms | {:.0} ms ({:+.2}%) | ${:.2} | ${:.2} ({:+.2}%) | ${:.2} ({:+.2}%) |",
            r.app,
            mean,
            r.aware,
            accuracy(r.aware, mean),
            r.thesis,
            accuracy(r.thesis, mean),
            r.paper,
            accuracy(r.paper, mean),
            r.sim[0],
            percent(r.sim[0], mean),
            p95,
            r.sim[1],
            percent(r.sim[1], p95),
            p99,
            r.sim[2],
            percent(r.sim[2], p99),
            r.cost,
            r.sim_cost,
            percent(r.sim_cost, r.cost),
            r.model_cost,
            percent(r.model_cost, r.cost),
        )
        .unwrap();
    }
    let avg = |f: &dyn Fn(&Row) -> f64| rows.iter().map(f).sum::<f64>() / rows.len() as f64;
    writeln!(
        t,
        "| average | | {:.2}% | {:.2}% | {:.2}% | | | | | | | | |",
        avg(&|r| accuracy(r.aware, r.measured[0])),
        avg(&|r| accuracy(r.thesis, r.measured[0])),
        avg(&|r| accuracy(r.paper, r.measured[0])),
    )
    .unwrap();
    t
}

#[test]
fn predictions_hold_on_real_aws_measurements() {
    let rows: Vec<Row> = APPS.iter().map(|&n| row(n)).collect();
    let text = table(&rows);
    println!("{text}");
    for r in &rows {
        let [mean, p95, _, _] = r.measured;
        let a = accuracy(r.aware, mean);
        assert!(a >= 98.0, "App{}: evaluate's accuracy {a:.2}% < 98%", r.app);
        // The estimate is a lower bound of the model's value, within its bound.
        assert!(
            r.bound >= 0.0 && r.bound < 1.0,
            "App{}: bound {}",
            r.app,
            r.bound
        );
        // The branch-aware model is never below the thesis' max of expectations.
        assert!(r.aware >= r.thesis - 1e-9, "App{}", r.app);
        let p = percent(r.sim[1], p95);
        assert!(p.abs() <= 3.0, "App{}: simulate's p95 {p:+.2}% off", r.app);
        let c = percent(r.sim_cost, r.cost);
        assert!(c.abs() <= 1.0, "App{}: simulate's cost {c:+.2}% off", r.app);
    }
    let average = rows
        .iter()
        .map(|r| accuracy(r.aware, r.measured[0]))
        .sum::<f64>()
        / rows.len() as f64;
    assert!(average >= 99.0, "average accuracy {average:.2}% < 99%");

    // The docs quote this table; keep them current.
    let doc_path = root().join("docs/real-aws-validation.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let (begin, end) = ("<!-- table: real_aws -->\n", "<!-- /table -->");
    let start = doc.find(begin).unwrap() + begin.len();
    let stop = start + doc[start..].find(end).unwrap();
    if doc[start..stop] != text {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{}{}", &doc[..start], text, &doc[stop..]);
            std::fs::write(&doc_path, updated).unwrap();
        } else {
            panic!(
                "docs/real-aws-validation.md is stale: rerun with UPDATE_DOCS=1 cargo test -p optiserve-tests --test real_aws\n{text}"
            );
        }
    }
}
