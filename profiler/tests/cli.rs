//! The `optiserve` command end to end: snapshots of its output on the example bundles, exit codes,
//! and the hand computation of App3.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use insta_cmd::assert_cmd_snapshot;

mod common;
use common::{optiserve, root, scratch};

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = optiserve().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn evaluate_app3_human() {
    assert_cmd_snapshot!(optiserve().args(["evaluate", "examples/app3.bundle.json"]));
}

#[test]
fn evaluate_media_pipeline_json() {
    assert_cmd_snapshot!(optiserve().args([
        "evaluate",
        "examples/media-pipeline.bundle.json",
        "--format",
        "json"
    ]));
}

#[test]
fn validate_both_examples() {
    assert_cmd_snapshot!(optiserve().args(["validate", "examples/media-pipeline.bundle.json"]));
    assert_cmd_snapshot!(optiserve().args([
        "validate",
        "examples/app3.bundle.json",
        "--format",
        "json"
    ]));
}

/// ET(m) = a0 + a1·exp(−m/a2) with App3's curves, billed per started millisecond at
/// $0.0000166667 per GB-s plus $0.0000002 per request; NI(f1) = NI(resnet) = 1/(1 − 0.3) through
/// the back edge, NI(yolo) = 1/(1 − 0.2) through the self-loop.
#[test]
fn evaluate_app3_equals_the_hand_computation() {
    let et = |a0: f64, a1: f64, a2: f64, m: f64| a0 + a1 * (-m / a2).exp();
    let cost = |m: f64, d: f64| d.ceil() / 1000.0 * m / 1024.0 * 0.0000166667 + 0.0000002;
    let check = |args: &[&str], ms: [f64; 3], curves: [(f64, f64, f64); 3], accuracy: f64| {
        let out = run_json(args);
        let d: Vec<f64> = (0..3)
            .map(|i| et(curves[i].0, curves[i].1, curves[i].2, ms[i]))
            .collect();
        let latency = (d[0] + d[1]) / 0.7 + d[2] / 0.8;
        let ni = [1.0 / 0.7, 1.0 / 0.7, 1.0 / 0.8];
        let total: f64 = (0..3).map(|i| ni[i] * cost(ms[i], d[i])).sum::<f64>() * 1e6;
        let got = |k: &str| out[k].as_f64().unwrap();
        assert!((got("latency_ms") - latency).abs() < 1e-9, "{out}");
        assert!((got("cost_usd_per_million") - total).abs() < 1e-9, "{out}");
        assert!((got("accuracy") - accuracy).abs() < 1e-12, "{out}");
        for (i, id) in ["f1", "resnet", "yolo"].iter().enumerate() {
            let f = &out["functions"][id];
            assert!((f["duration_ms"].as_f64().unwrap() - d[i]).abs() < 1e-9);
            assert!((f["invocations"].as_f64().unwrap() - ni[i]).abs() < 1e-12);
        }
    };
    // The deployed configuration: smallest memories, first variants (rank 1/4 each): 2·0.25 + 0.25.
    check(
        &["evaluate", "examples/app3.bundle.json", "--format", "json"],
        [128.0, 2048.0, 2048.0],
        [
            (180.0, 2600.0, 420.0),
            (516.0, 6500.0, 1510.0),
            (1160.0, 8740.0, 2480.0),
        ],
        0.75,
    );
    // The largest memories and the most accurate variants: 2·1 + 1.
    check(
        &[
            "evaluate",
            "examples/app3.bundle.json",
            "--config",
            "profiler/tests/fixtures/app3-top.config.json",
            "--format",
            "json",
        ],
        [3008.0, 9728.0, 9248.0],
        [
            (180.0, 2600.0, 420.0),
            (2150.0, 25700.0, 1490.0),
            (5900.0, 52400.0, 2240.0),
        ],
        3.0,
    );
}

#[test]
fn evaluate_output_feeds_back_as_a_configuration() {
    let dir_guard = scratch("cli");
    let dir = dir_guard.path();
    let out = run_json(&[
        "evaluate",
        "examples/media-pipeline.bundle.json",
        "--format",
        "json",
    ]);
    let path = dir.join("evaluation.json");
    std::fs::write(&path, serde_json::to_string(&out).unwrap()).unwrap();
    let again = run_json(&[
        "evaluate",
        "examples/media-pipeline.bundle.json",
        "--config",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out, again);
}

#[test]
fn fit_the_measured_profile() {
    let out = run_json(&[
        "fit",
        "profiler/tests/fixtures/measured-profile.csv",
        "--format",
        "json",
    ]);
    // Every family is fitted and reported; the CPU-share model is chosen by cross-validation and
    // has a fifth of the thesis' exponential's error on this profile.
    let families: Vec<&str> = out["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["family"].as_str().unwrap())
        .collect();
    assert_eq!(families, ["exponential", "cpu_share", "table"]);
    let exp = &out["candidates"][0];
    for key in ["alpha_ms", "beta_ms", "gamma_per_mb"] {
        assert!(exp["model"][key].is_f64(), "{out}");
    }
    assert!(exp["mape_percent"].as_f64().unwrap() <= 6.0, "{out}");
    assert_eq!(out["family"], "cpu_share");
    assert_eq!(out["selected_by"], "cross_validation");
    assert_eq!(out["model"]["kind"], "cpu_share");
    let mape = out["mape_percent"].as_f64().unwrap();
    assert!(mape <= 1.5, "MAPE {mape}% > 1.5%");
    let cv = |c: &serde_json::Value| c["cv_error_percent"].as_f64().unwrap();
    assert!(cv(&out) <= cv(exp), "{out}");
    assert_eq!(out["samples"], 16);
    assert_eq!(out["memories"], 16);
    assert!(out["r2"].as_f64().unwrap() > 0.99);
    assert_cmd_snapshot!(optiserve().args(["fit", "profiler/tests/fixtures/measured-profile.csv"]));
    // Forcing the thesis' exponential gives its fit as before.
    assert_cmd_snapshot!(optiserve().args([
        "fit",
        "--model",
        "exponential",
        "profiler/tests/fixtures/measured-profile.csv"
    ]));
    let forced = run_json(&[
        "fit",
        "--model",
        "exponential",
        "profiler/tests/fixtures/measured-profile.csv",
        "--format",
        "json",
    ]);
    assert_eq!(forced["model"], exp["model"]);
    assert_eq!(forced["selected_by"], "forced");
}

#[test]
fn import_reproduces_the_committed_app3_bundle() {
    let out = optiserve()
        .args([
            "import",
            "optiserve-spec",
            "examples/app3.optiserve-spec.json",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read_to_string(root().join("examples/app3.bundle.json")).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        committed,
        "examples/app3.bundle.json is stale: regenerate it with `optiserve import optiserve-spec examples/app3.optiserve-spec.json -o examples/app3.bundle.json`"
    );
}

#[test]
fn errors_name_the_place_and_set_the_exit_code() {
    // A configuration naming a variant the function does not have: exit 1, JSON path in stderr.
    assert_cmd_snapshot!(optiserve().args([
        "evaluate",
        "examples/app3.bundle.json",
        "--config",
        "profiler/tests/fixtures/bad-variant.config.json"
    ]));
    // A file that does not exist: exit 3.
    assert_cmd_snapshot!(optiserve().args(["validate", "examples/no-such-bundle.json"]));
    // A spec given where a bundle is expected: refused by its schema field, exit 1.
    assert_cmd_snapshot!(optiserve().args(["validate", "examples/app3.optiserve-spec.json"]));
    // CSV with a bad number: the line and column are named.
    let dir_guard = scratch("csv");
    let dir = dir_guard.path();
    let csv = dir.join("bad.csv");
    std::fs::write(&csv, "memory_mb,duration_ms\n128,100\n256,fast\n").unwrap();
    let out = optiserve()
        .args(["fit", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3, column duration_ms: expected a number, found \"fast\""),
        "{stderr}"
    );
}

/// Wall times vary: snapshots show them as `[elapsed]`.
macro_rules! snapshot_without_times {
    ($cmd:expr) => {
        insta::with_settings!({filters => vec![
            (r#""elapsed_ms": [0-9.e+-]+"#, r#""elapsed_ms": "[elapsed]""#),
            (r"evaluations, [0-9.]+ ms\]", "evaluations, [elapsed]]"),
        ]}, {
            assert_cmd_snapshot!($cmd);
        });
    };
}

#[test]
fn optimize_app3_returns_the_brute_force_optimum() {
    let args = [
        "optimize",
        "examples/app3.bundle.json",
        "--objective",
        "latency",
        "--max-cost-usd-per-million",
        "800",
        "--min-accuracy",
        "1.8",
        "--format",
        "json",
    ];
    let exact = run_json(&args);
    let mut brute_args = args.to_vec();
    brute_args.extend(["--solver", "brute-force"]);
    let brute = run_json(&brute_args);
    assert_eq!(exact["status"], "optimal");
    assert_eq!(brute["status"], "optimal");
    assert_eq!(exact["config"], brute["config"]);
    assert_eq!(exact["latency_ms"], brute["latency_ms"]);
    assert_eq!(brute["evaluations"], 40960);
    snapshot_without_times!(optiserve().args(args));
    // The printed configuration evaluates to the same numbers.
    let dir_guard = scratch("opt");
    let dir = dir_guard.path();
    let path = dir.join("solution.json");
    std::fs::write(&path, serde_json::to_string(&exact).unwrap()).unwrap();
    let again = run_json(&[
        "evaluate",
        "examples/app3.bundle.json",
        "--config",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(again["latency_ms"], exact["latency_ms"]);
    assert_eq!(again["cost_usd_per_million"], exact["cost_usd_per_million"]);
    assert_eq!(again["accuracy"], exact["accuracy"]);
}

#[test]
fn optimize_infeasible_exits_2_and_says_why() {
    snapshot_without_times!(optiserve().args([
        "optimize",
        "examples/app3.bundle.json",
        "--objective",
        "latency",
        "--max-cost-usd-per-million",
        "400",
        "--min-accuracy",
        "2"
    ]));
}

#[test]
fn whatif_and_pareto_tables() {
    assert_cmd_snapshot!(optiserve().args([
        "whatif",
        "examples/app3.bundle.json",
        "--objective",
        "cost",
        "--vary",
        "max-latency-ms=3000:15000:4",
        "--vary",
        "min-accuracy=0.75:3:4",
        "--format",
        "csv"
    ]));
    let front = run_json(&["pareto", "examples/app3.bundle.json", "--format", "json"]);
    let points = front.as_array().unwrap();
    assert_eq!(points.len(), 1291);
    // Sorted by latency, and no point dominates another.
    for w in points.windows(2) {
        assert!(w[0]["latency_ms"].as_f64() <= w[1]["latency_ms"].as_f64());
    }
    // A bad sweep is refused with the reason.
    let out = optiserve()
        .args([
            "whatif",
            "examples/app3.bundle.json",
            "--objective",
            "cost",
            "--vary",
            "max-latency=1:2:3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown constraint 'max-latency'"));
}

#[test]
fn simulate_is_seeded_and_reports_the_model_bias() {
    let args = [
        "simulate",
        "examples/app3.bundle.json",
        "--runs",
        "20000",
        "--seed",
        "11",
        "--format",
        "json",
    ];
    let a = run_json(&args);
    let b = run_json(&args);
    assert_eq!(a, b, "same seed, same report");
    assert_eq!(a["seed"], 11);
    // App3 has no parallel block: the analytic EET is the simulated mean up to sampling error.
    assert!(
        a["latency_bias_percent"].as_f64().unwrap().abs() < 2.0,
        "{a}"
    );
    assert!(a["p95_ms"].as_f64() > a["p50_ms"].as_f64());
    assert_cmd_snapshot!(optiserve().args([
        "simulate",
        "examples/media-pipeline.bundle.json",
        "--runs",
        "5000",
        "--seed",
        "3"
    ]));
}

#[test]
fn tail_aware_optimize_is_seeded_certified_and_reproducible_with_simulate() {
    let bundle = "examples/media-pipeline.bundle.json";
    let a = run_json(&[
        "optimize",
        bundle,
        "--objective",
        "cost",
        "--max-p95-latency-ms",
        "12000",
        "--scenarios",
        "2000",
        "--seed",
        "1",
        "--certify-runs",
        "20000",
        "--format",
        "json",
    ]);
    assert_eq!(a["status"], "optimal");
    let tail = &a["tail"];
    assert_eq!(tail["seed"], 1);
    assert_eq!(tail["scenarios"], 2000);
    assert!(tail["p95_ms"].as_f64().unwrap() <= 12000.0, "{a}");
    let cert = &tail["certification"];
    assert_eq!(cert["checks"][0]["constraint"], "max_p95_latency_ms");
    assert_ne!(cert["checks"][0]["verdict"], "exceeded", "{a}");
    // The percentiles the optimizer saw are `simulate --seed 1 --runs 2000` of the answer, and the
    // certification is `simulate --seed <its seed> --runs 20000`.
    let dir_guard = scratch("cli-tail");
    let dir = dir_guard.path();
    let path = dir.join("answer.json");
    std::fs::write(&path, serde_json::to_string(&a).unwrap()).unwrap();
    let config = path.to_str().unwrap();
    let s = run_json(&[
        "simulate", bundle, "--config", config, "--runs", "2000", "--seed", "1", "--format", "json",
    ]);
    assert_eq!(s["p95_ms"], tail["p95_ms"]);
    assert_eq!(s["p99_ms"], tail["p99_ms"]);
    let seed = cert["seed"].as_u64().unwrap().to_string();
    let s = run_json(&[
        "simulate", bundle, "--config", config, "--runs", "20000", "--seed", &seed, "--format",
        "json",
    ]);
    assert_eq!(s["p95_ms"], cert["p95_ms"]);
    assert_eq!(s["p95_ci_ms"], cert["p95_ci_ms"]);

    // Without --seed, one is drawn and reported.
    let b = run_json(&[
        "optimize",
        "examples/app3.bundle.json",
        "--objective",
        "p95-latency",
        "--scenarios",
        "500",
        "--certify-runs",
        "0",
        "--format",
        "json",
    ]);
    assert!(b["tail"]["seed"].as_u64().unwrap() < 1 << 53);
    assert!(b["tail"]["certification"].is_null());
}

#[test]
fn tail_aware_problems_explain_infeasibility_and_refuse_greedy() {
    snapshot_without_times!(optiserve().args([
        "optimize",
        "examples/media-pipeline.bundle.json",
        "--objective",
        "cost",
        "--max-p95-latency-ms",
        "3000",
        "--scenarios",
        "1000",
        "--seed",
        "7"
    ]));
    let out = optiserve()
        .args([
            "optimize",
            "examples/app3.bundle.json",
            "--objective",
            "p95-latency",
            "--solver",
            "greedy",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("greedy heuristics do not handle"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn whatif_sweeps_a_p95_limit() {
    assert_cmd_snapshot!(optiserve().args([
        "whatif",
        "examples/media-pipeline.bundle.json",
        "--objective",
        "cost",
        "--vary",
        "max-p95-latency-ms=9000:21000:4",
        "--fixed",
        "min-accuracy=0.5",
        "--scenarios",
        "1000",
        "--seed",
        "3",
        "--certify-runs",
        "10000",
        "--format",
        "csv"
    ]));
}
/// The online commands' offline parts: plan errors (TOML position or plan path), the dry run of
/// the example plan on the simulated cloud, the SLO gate's exit codes, and apply refusing a bundle
/// whose functions name no Lambda function (before any connection).
#[test]
fn profile_apply_and_check_errors_and_dry_run() {
    assert_cmd_snapshot!(optiserve().args([
        "profile",
        "--plan",
        "profiler/tests/fixtures/syntax-error.plan.toml",
        "-o",
        "-"
    ]));
    assert_cmd_snapshot!(optiserve().args([
        "profile",
        "--plan",
        "profiler/tests/fixtures/unselected-variant.plan.toml",
        "--dry-run"
    ]));
    assert_cmd_snapshot!(optiserve().args([
        "profile",
        "--plan",
        "examples/no-such.plan.toml",
        "--dry-run"
    ]));
    assert_cmd_snapshot!(optiserve().args([
        "profile",
        "--plan",
        "examples/app3.plan.toml",
        "--simulate",
        "--dry-run"
    ]));
    assert_cmd_snapshot!(optiserve().args([
        "check",
        "examples/app3.bundle.json",
        "--config",
        "profiler/tests/fixtures/app3-top.config.json",
        "--max-latency-ms",
        "5000",
        "--min-accuracy",
        "2"
    ]));
    assert_cmd_snapshot!(optiserve().args(["check", "examples/app3.bundle.json"]));
    assert_cmd_snapshot!(optiserve().args([
        "apply",
        "examples/app3.bundle.json",
        "--config",
        "profiler/tests/fixtures/app3-top.config.json",
        "--dry-run"
    ]));
}

/// `profile --simulate` end to end through the binary: the bundle validates and the original
/// configuration of the simulated functions is reported restored.
#[test]
fn profile_the_example_plan_on_the_simulated_cloud() {
    let dir_guard = scratch("profile-cli");
    let dir = dir_guard.path();
    let bundle = dir.join("app3.profiled.bundle.json");
    let report = run_json(&[
        "profile",
        "--plan",
        "examples/app3.plan.toml",
        "--simulate",
        "-o",
        bundle.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(report["targets"].as_array().unwrap().len(), 9);
    assert!(
        report["restored"].as_array().unwrap().len() == 3,
        "{report}"
    );
    assert!(
        !dir.join("app3.profiled.bundle.json.checkpoint.json")
            .exists()
    );
    let v = run_json(&["validate", bundle.to_str().unwrap(), "--format", "json"]);
    assert_eq!(v["functions"], 3);
    run_json(&[
        "optimize",
        bundle.to_str().unwrap(),
        "--objective",
        "cost",
        "--format",
        "json",
    ]);
}

/// `profile --simulate` of a plan with weighted payloads, a payload-selected variant and the state
/// machine that passes it, priced for another region: the bundle keeps each payload's samples,
/// the deployed variant (the simulated state machine passes the first), and the region's prices.
#[test]
fn profile_weighted_payloads_in_a_region_on_the_simulated_cloud() {
    let dir_guard = scratch("profile-weighted");
    let dir = dir_guard.path();
    let plan = dir.join("plan.toml");
    std::fs::write(
        &plan,
        r#"
region = "sa-east-1"
samples = 3
[pricing]
step_functions = "standard"
[simulate]
seed = 4
[[functions]]
id = "detect"
memory = { min_mb = 512, max_mb = 3008, step_mb = 256 }
state_machine = { arn = "arn:aws:states:sa-east-1:1:stateMachine:app", states = ["Detect"] }
payloads = [
  { name = "small", weight = 2, payload = { size = "s" } },
  { name = "large", weight = 1, payload = { size = "l" }, simulate_scale = 2.5 },
]
  [[functions.variants]]
  name = "n"
  payload = { model = "n" }
  simulate = { alpha_ms = 100.0, beta_ms = 900.0, gamma_per_mb = 0.001 }
  [[functions.variants]]
  name = "s"
  payload = { model = "s" }
  simulate = { alpha_ms = 250.0, beta_ms = 2000.0, gamma_per_mb = 0.001 }
"#,
    )
    .unwrap();
    let bundle = dir.join("out.json");
    run_json(&[
        "profile",
        "--plan",
        plan.to_str().unwrap(),
        "--simulate",
        "-o",
        bundle.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert_eq!(b["pricing"]["region"], "sa-east-1");
    assert_eq!(
        b["pricing"]["step_functions"]["price_per_transition"],
        0.0375 / 1000.0
    );
    assert!(
        b["pricing"]["source"]
            .as_str()
            .unwrap()
            .contains("region table")
    );
    assert_eq!(b["deployed"]["detect"]["variant"], "n");
    for v in b["functions"][0]["variants"].as_array().unwrap() {
        let p = v["payloads"].as_array().unwrap();
        assert_eq!(p.len(), 2);
        assert!((p[0]["weight"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }
    let v = run_json(&["validate", bundle.to_str().unwrap(), "--format", "json"]);
    assert_eq!(v["functions"], 1);
    // A region the table cannot price is refused before anything runs.
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("sa-east-1\"\nsamples", "il-central-1\"\nsamples");
    std::fs::write(&plan, text).unwrap();
    let out = optiserve()
        .args([
            "profile",
            "--plan",
            plan.to_str().unwrap(),
            "--simulate",
            "-o",
        ])
        .arg(dir.join("never.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("il-central-1") && err.contains("[pricing]"),
        "{err}"
    );
    assert!(!dir.join("never.json").exists());
}

/// `workflow import-asl` then `workflow measure` on the media pipeline's state machine and its
/// committed execution histories: the imported structure is the example's, the measured one has
/// the histories' probabilities, and the skeleton without profiles is explained by `validate`.
#[test]
fn workflow_import_asl_then_measure() {
    let dir_guard = scratch("asl");
    let dir = dir_guard.path();
    let imported = dir.join("imported.json");
    let measured = dir.join("measured.json");
    let skeleton = dir.join("skeleton.json");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let dir_pattern = regex_escape(&s(dir));
    insta::with_settings!({filters => vec![(dir_pattern.as_str(), "[DIR]")]}, {
        assert_cmd_snapshot!(
            "import_asl",
            optiserve().args([
                "workflow",
                "import-asl",
                "examples/media-pipeline.asl.json",
                "--functions-from",
                "examples/media-pipeline.bundle.json",
                "-o",
                &s(&imported),
            ])
        );
    });
    let v = run_json(&["validate", &s(&imported), "--format", "json"]);
    assert_eq!(
        v["structure"],
        "loop×2.0000(ingest → parallel(classify ‖ thumbnail) → merge → branch(0.5: detect | 0.5: caption) → review) → loop×2.0000(publish)"
    );
    let m = run_json(&[
        "workflow",
        "measure",
        "--from-history",
        "tests/fixtures/sfn",
        "--bundle",
        &s(&imported),
        "-o",
        &s(&measured),
        "--format",
        "json",
    ]);
    assert_eq!(m["edges_updated"], 6);
    assert!(
        m["model_after"]["latency_error_percent"]
            .as_f64()
            .unwrap()
            .abs()
            < 1.0
    );
    let v = run_json(&["validate", &s(&measured), "--format", "json"]);
    assert!(
        v["structure"]
            .as_str()
            .unwrap()
            .starts_with("loop×1.2000(ingest → parallel(classify ‖ thumbnail) → merge → branch(0.6666666666666666: detect | 0.3333333333333333: caption) → review) → loop×1.3000(publish)"),
        "{v}"
    );
    let out = optiserve()
        .args([
            "workflow",
            "import-asl",
            "examples/media-pipeline.asl.json",
            "-o",
            &s(&skeleton),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = optiserve()
        .args(["validate", &s(&skeleton)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'ingest' has no variants: profile it"));
    let out = optiserve()
        .args([
            "workflow",
            "import-asl",
            "core/tests/fixtures/asl/parallel.json",
            "--functions-from",
            "examples/media-pipeline.bundle.json",
            "-o",
            &s(&skeleton),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the functions bundle has no profile for 'fetch' (state 'Fetch')")
    );
}

#[test]
fn workflow_import_asl_error_names_the_state() {
    assert_cmd_snapshot!(optiserve().args([
        "workflow",
        "import-asl",
        "profiler/tests/fixtures/bad.asl.json",
        "-o",
        "-"
    ]));
}

/// `--map-items` naming no Map state, or no state at all, is refused with the reason (they were
/// ignored before: issue 16).
#[test]
fn map_items_for_no_map_state_are_refused() {
    for (item, want) in [
        (
            "Nope=5",
            "items given for Map state 'Nope', which is not a Map state of the state machine (its Map states: EachPage)",
        ),
        (
            "=5",
            "--map-items =5: name the Map state before '=' (STATE=N)",
        ),
        (
            "EachPage=0",
            "--map-items EachPage=0: N must be a number ≥ 1",
        ),
    ] {
        let out = optiserve()
            .args([
                "workflow",
                "import-asl",
                "core/tests/fixtures/asl/map.json",
                "--map-items",
                item,
                "-o",
                "-",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{item}: {err}");
        assert!(err.contains(want), "{item}: {want:?} not in {err}");
    }
}

/// A state machine with the shapes real ones have (service integrations, a polling loop, a
/// callback, a function used by two states) imports, with a note for each approximation.
#[test]
fn workflow_import_asl_real_shapes() {
    assert_cmd_snapshot!(optiserve().args([
        "workflow",
        "import-asl",
        "tests/fixtures/sfn-sim/media-services.asl.json",
        "-o",
        "-"
    ]));
}

/// A nested execution imports its child's workflow with `--nested`; without it, the parent of
/// the corpus (which invokes no Lambda function itself) has nothing to tune.
#[test]
fn a_nested_child_definition_is_imported_in_its_task_place() {
    let parent =
        "tests/fixtures/asl-corpus/wfc--workflow-within-a-workflow--main-state-machine.asl.json";
    let child =
        "tests/fixtures/asl-corpus/wfc--workflow-within-a-workflow--nested-state-machine.asl.json";
    let out = optiserve()
        .args(["workflow", "import-asl", parent, "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to tune"));
    let b = run_json(&[
        "workflow",
        "import-asl",
        parent,
        "--nested",
        &format!("Start new workflow and wait for completion={child}"),
        "-o",
        "-",
    ]);
    let ids: Vec<&str> = b["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{b}");
    let states: Vec<&str> = b["workflow"]["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        states
            .iter()
            .any(|s| s.starts_with("Start new workflow and wait for completion/")),
        "{states:?}"
    );
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

/// Without AWS credentials, a command that needs AWS stops at once (no retries) with exit code 4
/// and says where credentials come from and how to work without them.
#[test]
fn missing_aws_credentials_fail_fast_with_a_clear_message() {
    let start = std::time::Instant::now();
    let out = optiserve()
        .args(["profile", "--plan", "examples/app3.plan.toml", "--dry-run"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env("AWS_CONFIG_FILE", "/nonexistent/optiserve-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/optiserve-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("no AWS credentials could be loaded") && stderr.contains("--simulate"),
        "{stderr}"
    );
    assert!(stderr.lines().count() < 6, "a short message: {stderr}");
    // Not retried with backoff (8 attempts would take tens of seconds).
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

/// `workflow import-asl --state-machine` → `workflow measure --executions` → `workflow validate`
/// on the simulated Step Functions (`--simulate`, seeded, so the output is deterministic), and
/// `measure --from-history N` reading the last executions of a service that has run some.
#[test]
fn workflow_state_machine_on_the_simulated_cloud() {
    let dir_guard = scratch("sfn-cli");
    let dir = dir_guard.path();
    let imported = dir.join("imported.json");
    let measured = dir.join("measured.json");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:media-pipeline";
    let truth = "examples/media-pipeline.sim.toml";
    let dir_pattern = regex_escape(&s(dir));
    insta::with_settings!({filters => vec![(dir_pattern.as_str(), "[DIR]")]}, {
        assert_cmd_snapshot!(
            "sfn_sim_import",
            optiserve().args([
                "workflow", "import-asl", "--state-machine", arn, "--simulate", truth,
                "--functions-from", "examples/media-pipeline.bundle.json", "-o", &s(&imported),
            ])
        );
        assert_cmd_snapshot!(
            "sfn_sim_measure",
            optiserve().args([
                "workflow", "measure", "--state-machine", arn, "--simulate", truth,
                "--executions", "300", "--bundle", &s(&imported), "-o", &s(&measured),
            ])
        );
        assert_cmd_snapshot!(
            "sfn_sim_validate",
            optiserve().args([
                "workflow", "validate", "--state-machine", arn, "--simulate", truth,
                "--executions", "300", "--warmup", "10", "--seed", "99", "--bundle", &s(&measured),
            ])
        );
    });
    // The imported workflow is the one the definition file gives.
    let from_file = dir.join("from-file.json");
    let out = optiserve()
        .args([
            "workflow",
            "import-asl",
            "examples/media-pipeline.asl.json",
            "--functions-from",
            "examples/media-pipeline.bundle.json",
            "-o",
            &s(&from_file),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&imported).unwrap()).unwrap();
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&from_file).unwrap()).unwrap();
    assert_eq!(a["workflow"], b["workflow"]);
    // --from-history N reads the service's last N executions (the truth's past_executions).
    let text = std::fs::read_to_string(root().join(truth)).unwrap();
    let past = dir.join("past.toml");
    std::fs::write(
        &past,
        text.replace("past_executions = 0", "past_executions = 40")
            .replace(
                "\"media-pipeline.asl.json\"",
                &format!("{:?}", s(&root().join("examples/media-pipeline.asl.json"))),
            )
            .replace(
                "\"media-pipeline.bundle.json\"",
                &format!(
                    "{:?}",
                    s(&root().join("examples/media-pipeline.bundle.json"))
                ),
            ),
    )
    .unwrap();
    let m = run_json(&[
        "workflow",
        "measure",
        "--state-machine",
        arn,
        "--simulate",
        &s(&past),
        "--from-history",
        "25",
        "--bundle",
        &s(&imported),
        "--format",
        "json",
    ]);
    assert_eq!(m["measurement"]["executions"], 25);
    // A wrong ARN is refused.
    let out = optiserve()
        .args([
            "workflow",
            "measure",
            "--state-machine",
            "arn:aws:states:us-east-1:1:stateMachine:nope",
            "--simulate",
            truth,
            "--executions",
            "3",
            "--bundle",
            &s(&imported),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("StateMachineDoesNotExist"));
}

/// Files a profiling run writes never collide with each other or with an input, and an earlier
/// run's checkpoint is never replaced silently: each case exits 1 with a message that says what,
/// and no file is touched.
#[test]
fn profile_refuses_paths_that_would_lose_an_input_or_the_originals() {
    let dir_guard = scratch("collide");
    let dir = dir_guard.path();
    let plan = dir.join("app3.plan.toml");
    std::fs::copy(root().join("examples/app3.plan.toml"), &plan).unwrap();
    std::fs::copy(
        root().join("examples/app3.bundle.json"),
        dir.join("app3.bundle.json"),
    )
    .unwrap();
    let plan_text = std::fs::read_to_string(&plan).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let same = dir.join("same.json");
    let earlier = dir.join("earlier.json");
    let earlier_checkpoint = dir.join("earlier.json.checkpoint.json");
    std::fs::write(&earlier_checkpoint, "{\"kept\": true}").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-o".into(), s(&same), "--checkpoint".into(), s(&same)],
            "--output and the checkpoint are the same file",
        ),
        (vec!["-o".into(), s(&plan)], "--output ("),
        (
            vec!["-o".into(), s(&same), "--checkpoint".into(), s(&plan)],
            "the checkpoint (",
        ),
        (
            vec!["-o".into(), s(&earlier)],
            "holds the checkpoint of an earlier run",
        ),
    ];
    for (extra, message) in cases {
        let out = optiserve()
            .args(["profile", "--simulate", "--plan", &s(&plan)])
            .args(&extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        assert!(!same.exists(), "{extra:?} wrote {}", same.display());
        assert_eq!(std::fs::read_to_string(&plan).unwrap(), plan_text);
        assert_eq!(
            std::fs::read_to_string(&earlier_checkpoint).unwrap(),
            "{\"kept\": true}"
        );
    }
    // --discard-checkpoint replaces it knowingly; the run then completes and removes it.
    let out = optiserve()
        .args([
            "profile",
            "--simulate",
            "--plan",
            &s(&plan),
            "-o",
            &s(&earlier),
        ])
        .arg("--discard-checkpoint")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(earlier.exists() && !earlier_checkpoint.exists());
}
