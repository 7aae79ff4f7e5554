//! The simulated Step Functions through the `optiserve` binary: measured branch probabilities
//! converge to the truth file's, `workflow validate` reproduces the model on a workflow without
//! parallel blocks after import → measure, and the Parallel bias of the media pipeline is reported.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use insta_cmd::get_cargo_bin;

const MEDIA: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:media-pipeline";
const MEDIA_TRUTH: &str = "examples/media-pipeline.sim.toml";
const CHAIN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:media-chain";
const CHAIN_TRUTH: &str = "tests/fixtures/sfn-sim/media-chain.sim.toml";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(args: &[&str]) -> String {
    let out = Command::new(get_cargo_bin("optiserve"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&run(args)).unwrap()
}

/// A fresh directory, removed when the returned guard drops (also when the test fails).
fn temp(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("optiserve-sfn-{tag}-"))
        .tempdir()
        .unwrap()
}

/// import-asl --state-machine through the simulated DescribeStateMachine.
fn import(arn: &str, truth: &str, kind: &str, out: &Path) {
    run(&[
        "workflow",
        "import-asl",
        "--state-machine",
        arn,
        "--simulate",
        truth,
        "--functions-from",
        "examples/media-pipeline.bundle.json",
        "--type",
        kind,
        "-o",
        out.to_str().unwrap(),
    ]);
}

fn measure(arn: &str, truth: &str, n: usize, bundle: &Path, out: &Path) -> serde_json::Value {
    run_json(&[
        "workflow",
        "measure",
        "--state-machine",
        arn,
        "--simulate",
        truth,
        "--executions",
        &n.to_string(),
        "--bundle",
        bundle.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--format",
        "json",
    ])
}

fn validate(arn: &str, truth: &str, n: usize, bundle: &Path) -> serde_json::Value {
    run_json(&[
        "workflow",
        "validate",
        "--state-machine",
        arn,
        "--simulate",
        truth,
        "--executions",
        &n.to_string(),
        "--warmup",
        "20",
        "--seed",
        "1001",
        "--bundle",
        bundle.to_str().unwrap(),
        "--format",
        "json",
    ])
}

/// (node edge, the truth file's probability) for the media pipeline's Choice states.
const MEDIA_TRUTH_EDGES: [(&str, &str, f64); 6] = [
    ("merge", "detect", 0.6),
    ("merge", "caption", 0.4),
    ("review", "ingest", 0.2),
    ("review", "publish", 0.8),
    ("publish", "publish", 0.1),
    ("publish", "End", 0.9),
];

/// Sum of |p̂ − p| over the truth's edges, checking each against 4 standard errors.
fn branch_errors(m: &serde_json::Value, n: usize) -> f64 {
    let edges = m["measurement"]["edges"].as_array().unwrap();
    let mut total = 0.0;
    for (from, to, p) in MEDIA_TRUTH_EDGES {
        let e = edges
            .iter()
            .find(|e| e["from"] == from && e["to"] == to)
            .unwrap_or_else(|| panic!("edge {from} → {to} not measured"));
        let p_hat = e["probability"].as_f64().unwrap();
        let out_of = e["out_of"].as_f64().unwrap();
        let se = (p * (1.0 - p) / out_of).sqrt();
        println!(
            "{n:>5} executions: {from:>8} → {to:<8} p̂ = {p_hat:.4} (true {p}), |error| = {:.4} = {:.2} SE",
            (p_hat - p).abs(),
            (p_hat - p).abs() / se
        );
        if n >= 2000 {
            assert!(
                (p_hat - p).abs() <= 4.0 * se,
                "{from} → {to}: p̂ = {p_hat} is more than 4 SE ({se}) from {p}"
            );
        }
        total += (p_hat - p).abs();
    }
    total
}

#[test]
fn measured_branch_probabilities_converge_to_the_truth() {
    let dir_guard = temp("converge");
    let dir = dir_guard.path();
    let imported = dir.join("imported.json");
    import(MEDIA, MEDIA_TRUTH, "standard", &imported);
    let small = measure(MEDIA, MEDIA_TRUTH, 200, &imported, &dir.join("m200.json"));
    let large = measure(MEDIA, MEDIA_TRUTH, 2000, &imported, &dir.join("m2000.json"));
    let e200 = branch_errors(&small, 200);
    let e2000 = branch_errors(&large, 2000);
    println!("sum of |p̂ − p|: {e200:.4} after 200 executions, {e2000:.4} after 2000");
    assert!(
        e2000 < e200,
        "the error did not shrink: {e200} after 200 executions, {e2000} after 2000"
    );
    // The Map-free, measured bundle says which probabilities were measured.
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m2000.json")).unwrap()).unwrap();
    let measured = b["workflow"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["basis"]["source"] == "measured")
        .count();
    assert_eq!(measured, 6);
}

/// A Wait state whose time is chosen at run time (`SecondsPath`) is 0 ms in the imported model;
/// `workflow measure` reads what the executions waited (1.5 s here) into its state node, and the
/// model then agrees with `validate`.
#[test]
fn measure_reads_a_wait_chosen_at_run_time() {
    let dir_guard = temp("wait");
    let dir = dir_guard.path();
    let asl = std::fs::read_to_string(root().join("tests/fixtures/sfn-sim/media-chain.asl.json"))
        .unwrap()
        .replace(
            r#""Seconds": 1,"#,
            r#""SecondsPath": "$.cooldown_seconds","#,
        );
    assert!(asl.contains("SecondsPath"));
    std::fs::write(dir.join("media-chain.asl.json"), asl).unwrap();
    let truth = std::fs::read_to_string(root().join(CHAIN_TRUTH))
        .unwrap()
        .replace(
            "../../../examples/media-pipeline.bundle.json",
            &root()
                .join("examples/media-pipeline.bundle.json")
                .display()
                .to_string(),
        )
        // What the executions' input makes the Wait state wait.
        .replace("Merge = 90", "Merge = 90\nCooldown = 1500");
    let truth_path = dir.join("truth.toml");
    std::fs::write(&truth_path, truth).unwrap();
    let truth = truth_path.to_str().unwrap();
    let (imported, measured) = (dir.join("imported.json"), dir.join("measured.json"));
    import(CHAIN, truth, "express", &imported);
    let cooldown = |path: &Path| {
        let b: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let state_ms = b["workflow"]["orchestration"]["state_ms"].as_f64().unwrap();
        let st = b["workflow"]["states"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "Cooldown")
            .cloned()
            .unwrap();
        (st["delay_ms"].as_f64().unwrap(), state_ms)
    };
    assert_eq!(cooldown(&imported).0, 0.0);
    let m = measure(CHAIN, truth, 2000, &imported, &measured);
    let waited = m["measurement"]["waits"]["Cooldown"]["mean_ms"]
        .as_f64()
        .unwrap();
    assert!((waited - 1500.0).abs() < 30.0, "waited {waited} ms");
    let (delay, state_ms) = cooldown(&measured);
    assert!(
        (delay + state_ms - waited).abs() < 1e-6,
        "{delay} + {state_ms} vs {waited}"
    );
    let after = validate(CHAIN, truth, 2000, &measured);
    // The same measured model with the wait left at 0 ms, as the import had it.
    let without = dir.join("without-wait.json");
    let text = std::fs::read_to_string(&measured).unwrap();
    let mut b: serde_json::Value = serde_json::from_str(&text).unwrap();
    for st in b["workflow"]["states"].as_array_mut().unwrap() {
        if st["id"] == "Cooldown" {
            st["delay_ms"] = serde_json::json!(0.0);
        }
    }
    std::fs::write(&without, b.to_string()).unwrap();
    let before = validate(CHAIN, truth, 2000, &without);
    let error = |v: &serde_json::Value| v["comparison"]["latency_error_percent"].as_f64().unwrap();
    println!(
        "Wait with SecondsPath: measured {waited:.1} ms; latency error {:+.2}% with the wait at 0 ms, {:+.2}% with the measured wait",
        error(&before),
        error(&after)
    );
    assert!(error(&before) < -5.0, "without the wait the model is fast");
    assert!(
        error(&after).abs() <= 2.0,
        "latency error {}%",
        error(&after)
    );
}

/// import → measure → validate on the media pipeline without its Parallel block (a chain, two
/// Choices, a cycle, a self-loop and a Wait): the model then has no structural bias, so after
/// 2,000 executions latency and cost agree within 2%, with Express pricing and with Standard
/// pricing (the import writes the Choice and Succeed states it folds into each edge's
/// `transitions`, so the model bills the transitions Step Functions bills).
#[test]
fn validate_without_parallel_blocks_is_within_two_percent() {
    let dir_guard = temp("chain");
    let dir = dir_guard.path();
    for kind in ["express", "standard"] {
        let imported = dir.join(format!("imported-{kind}.json"));
        let measured = dir.join(format!("measured-{kind}.json"));
        import(CHAIN, CHAIN_TRUTH, kind, &imported);
        measure(CHAIN, CHAIN_TRUTH, 2000, &imported, &measured);
        let v = validate(CHAIN, CHAIN_TRUTH, 2000, &measured);
        let c = &v["comparison"];
        let lat = c["latency_error_percent"].as_f64().unwrap();
        let cost = c["cost_error_percent"].as_f64().unwrap();
        println!(
            "{kind}: latency predicted {:.2} ms vs measured {:.2} ms (95% CI {}): {lat:+.2}%; cost {:+.2}%",
            c["predicted_latency_ms"].as_f64().unwrap(),
            c["measured_latency_ms"].as_f64().unwrap(),
            v["latency_ci95_ms"],
            cost
        );
        assert_eq!(v["succeeded"], 2000);
        assert!(lat.abs() <= 2.0, "{kind}: latency error {lat}%");
        assert!(cost.abs() <= 2.0, "{kind}: cost error {cost}%");
    }
}

/// The media pipeline has a Parallel block: the analytic model takes the max of the branches'
/// expected times (E[max] ≥ max E, so it is biased low there). The test prints the net error
/// after import → measure → validate; it must stay small, and it is written in the README.
#[test]
fn validate_reports_the_parallel_bias_of_the_media_pipeline() {
    let dir_guard = temp("parallel");
    let dir = dir_guard.path();
    let imported = dir.join("imported.json");
    let measured = dir.join("measured.json");
    import(MEDIA, MEDIA_TRUTH, "express", &imported);
    measure(MEDIA, MEDIA_TRUTH, 2000, &imported, &measured);
    let v = validate(MEDIA, MEDIA_TRUTH, 2000, &measured);
    let c = &v["comparison"];
    let lat = c["latency_error_percent"].as_f64().unwrap();
    let cost = c["cost_error_percent"].as_f64().unwrap();
    println!(
        "media pipeline (Parallel): latency predicted {:.2} ms vs measured {:.2} ms (95% CI {}): {lat:+.2}%; cost {cost:+.2}%",
        c["predicted_latency_ms"].as_f64().unwrap(),
        c["measured_latency_ms"].as_f64().unwrap(),
        v["latency_ci95_ms"],
    );
    assert!(lat.abs() < 10.0, "latency error {lat}%");
}

/// Bad truth files are refused with the place named.
#[test]
fn bad_truth_files_are_refused() {
    let dir_guard = temp("bad");
    let dir = dir_guard.path();
    let def = root().join("examples/media-pipeline.asl.json");
    let cases = [
        (
            "[choices.HasPeople]\nDetect = 0.5\nCaption = 0.4\n",
            "choices.HasPeople: the probabilities sum to 0.9",
        ),
        (
            "[choices.HasPeople]\nReview = 1.0\n",
            "'Review' is not a target of Choice state 'HasPeople'",
        ),
        (
            "[choices.Merge]\nDetect = 1.0\n",
            "choices.Merge: the state machine has no Choice state 'Merge'",
        ),
        (
            "",
            "which the truth file does not describe (add [functions.",
        ),
    ];
    for (k, (extra, want)) in cases.iter().enumerate() {
        let funcs = if extra.is_empty() {
            ""
        } else {
            "functions_from = \"examples/media-pipeline.bundle.json\"\n"
        };
        let text = format!(
            "{}[state_machine]\ndefinition = {:?}\n{extra}",
            funcs.replace("examples/", &format!("{}/examples/", root().display())),
            def.display()
        );
        let path = dir.join(format!("truth{k}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(get_cargo_bin("optiserve"))
            .current_dir(root())
            .args([
                "workflow",
                "import-asl",
                "--state-machine",
                "media-pipeline",
                "--simulate",
            ])
            .arg(&path)
            .args(["-o", "-"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(want), "{want:?} not in {err}");
    }
}

const SERVICES: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:media-services";
const SERVICES_TRUTH: &str = "tests/fixtures/sfn-sim/media-services.sim.toml";

/// A state machine as real ones are (`tests/fixtures/sfn-sim/media-services.asl.json`): a
/// DynamoDB write, a MediaConvert job polled until done (a polling loop), a human review by
/// callback, an SNS notification, and one function used by two states. Imported, its service
/// states, callback wait and loop exit are placeholders; `workflow measure` on 2,000 simulated
/// executions fills every one within 2% of the truth file (probabilities: within 0.02), and the
/// measured model then agrees with `validate` on other executions.
#[test]
fn measure_fills_services_polling_loops_and_callbacks_from_executions() {
    let dir_guard = temp("services");
    let dir = dir_guard.path();
    let (imported, measured) = (dir.join("imported.json"), dir.join("measured.json"));
    import(SERVICES, SERVICES_TRUTH, "standard", &imported);
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let state = |b: &serde_json::Value, id: &str| {
        b["workflow"]["states"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no state node {id}"))
    };
    let b = read(&imported);
    assert_eq!(state(&b, "Save Upload")["kind"], "service");
    assert_eq!(state(&b, "Save Upload")["delay_ms"], 0.0);
    assert_eq!(state(&b, "Notify")["price_per_request"], 0.0000005);
    assert_eq!(state(&b, "Human Review (callback)")["kind"], "callback");
    assert_eq!(b["workflow"]["sites"][0]["function"], "publish");
    let m = measure(SERVICES, SERVICES_TRUTH, 2000, &imported, &measured);
    let b = read(&measured);
    let per_state = b["workflow"]["orchestration"]["state_ms"].as_f64().unwrap()
        + b["workflow"]["orchestration"]["transition_ms"]
            .as_f64()
            .unwrap();
    let within = |what: &str, got: f64, truth: f64| {
        let err = (got - truth) / truth * 100.0;
        println!("{what:<32} measured {got:>9.2}, truth {truth:>8.2}: {err:+.2}%");
        assert!(err.abs() <= 2.0, "{what}: {got} is {err:+.2}% from {truth}");
    };
    for (id, truth) in [
        ("Save Upload", 35.0),
        ("Start Transcode", 220.0),
        ("Get Transcode Status", 80.0),
        ("Notify", 60.0),
    ] {
        let st = state(&b, id);
        within(
            &format!("service '{id}'"),
            st["delay_ms"].as_f64().unwrap(),
            truth,
        );
        assert!(st["measured"].as_u64().unwrap() >= 2000);
        assert_eq!(st["samples_ms"].as_array().unwrap().len(), 32);
    }
    let cb = state(&b, "Human Review (callback)");
    within(
        "callback 'Human Review' wait",
        cb["delay_ms"].as_f64().unwrap() + per_state,
        4000.0,
    );
    // The polling loop: the transcode is done on 30% of the polls.
    let exit = m["measurement"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["from"] == "Get Transcode Status" && e["to"] == "publish")
        .cloned()
        .unwrap();
    let p = exit["probability"].as_f64().unwrap();
    println!(
        "polling loop exit per poll        measured {p:>9.4}, truth {:>8.4}: {:+.4} ({:+.2}%) over {} polls",
        0.3,
        p - 0.3,
        (p - 0.3) / 0.3 * 100.0,
        exit["out_of"]
    );
    assert!((p - 0.3).abs() <= 0.02, "exit probability {p}");
    // The measured model against other executions.
    let v = validate(SERVICES, SERVICES_TRUTH, 2000, &measured);
    let c = &v["comparison"];
    let (lat, cost) = (
        c["latency_error_percent"].as_f64().unwrap(),
        c["cost_error_percent"].as_f64().unwrap(),
    );
    println!(
        "validate: latency {:.2} ms predicted vs {:.2} ms measured (95% CI {}): {lat:+.2}%; cost {cost:+.2}%",
        c["predicted_latency_ms"].as_f64().unwrap(),
        c["measured_latency_ms"].as_f64().unwrap(),
        v["latency_ci95_ms"]
    );
    assert!(lat.abs() <= 3.0 && cost.abs() <= 2.0, "{lat}% / {cost}%");
}
