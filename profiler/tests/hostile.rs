//! Hostile input, one table per group: every row is what is given, the exit code and a fragment
//! of the message; no command prints a figure that is not a number (`inf`, `NaN`, `null`).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use serde_json::{Value, json};

mod common;
use common::{non_numbers, root, run_offline, scratch};

fn example(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("examples").join(name)).unwrap())
        .unwrap()
}

/// Writes `bundle` with the value at each JSON pointer replaced, under `dir`.
fn mutated(dir: &Path, tag: &str, mut bundle: Value, changes: &[(&str, Value)]) -> String {
    for (pointer, value) in changes {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = bundle
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("{parent} not in the bundle"));
        match parent {
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = value.clone(),
            Value::Object(fields) => {
                fields.insert(key.to_string(), value.clone());
            }
            _ => panic!("{pointer}: the parent is not an object or an array"),
        }
    }
    let path = dir.join(format!("{tag}.bundle.json"));
    std::fs::write(&path, bundle.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs each row and checks its exit code, its message and that figures it prints are numbers.
fn check_rows(rows: Vec<(Vec<String>, i32, String)>) {
    for (args, code, fragment) in rows {
        let (got, text) = run_offline(&args);
        assert_eq!(got, Some(code), "{args:?}: {text}");
        assert!(
            text.contains(&fragment),
            "{args:?}: expected «{fragment}» in {text}"
        );
        // Figures are printed on success (and with exit 2); a refusal may quote the input.
        if code != 1 && code != 64 {
            let bad = non_numbers(&text);
            assert!(bad.is_empty(), "{args:?} printed {bad:?}: {text}");
        }
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A file's tag, the bundle it starts from, the changes (JSON pointer, value) and the message.
type Case<'a> = (&'a str, &'a Value, Vec<(&'a str, Value)>, &'a str);

/// Numbers outside their physical range are refused at the boundary with their JSON path.
#[test]
fn numbers_outside_their_physical_range_are_refused_with_their_path() {
    let dir_guard = scratch("ranges");
    let dir = dir_guard.path();
    let app3 = example("app3.bundle.json");
    let media = example("media-pipeline.bundle.json");
    let huge = json!(1e308);
    let cases: Vec<Case> = vec![
        (
            "state",
            &app3,
            vec![("/workflow/orchestration/state_ms", huge.clone())],
            "$.workflow.orchestration.state_ms: must be a number from 0 to 60000 ms",
        ),
        (
            "gbs",
            &app3,
            vec![("/pricing/price_per_gb_second", huge.clone())],
            "$.pricing.price_per_gb_second: must be a number from 0 to 1 USD (AWS prices per unit are millionths of a dollar), found 1e308",
        ),
        (
            "request",
            &app3,
            vec![("/pricing/price_per_request", json!(-1e-7))],
            "$.pricing.price_per_request: must be a number from 0 to 1 USD",
        ),
        (
            "alpha",
            &app3,
            vec![("/functions/0/variants/0/model/alpha_ms", huge.clone())],
            "$.functions[0].variants[0].model: the model predicts a duration of 1e308 ms at 128 MB, longer than 900000 ms (Lambda's 15-minute timeout)",
        ),
        (
            "sample",
            &media,
            vec![(
                "/functions/0/variants/0/samples/0/duration_ms",
                huge.clone(),
            )],
            "$.functions[0].variants[0].samples[0].duration_ms: must be a number from 0 to 900000 ms",
        ),
        (
            "init",
            &app3,
            vec![(
                "/functions/0/variants/0/cold_start",
                json!({"probability": 0.1, "init_ms": 1e308}),
            )],
            "$.functions[0].variants[0].cold_start.init_ms: must be a number from 0 to 900000 ms",
        ),
        (
            "workload",
            &app3,
            vec![("/workload", json!({"executions_per_month": 1e308}))],
            "$.workload.executions_per_month: must be a number from 1e-9 to 1e12",
        ),
        (
            "loop",
            &app3,
            vec![
                ("/workflow/edges/4/probability", json!(1.0 - 1e-13)),
                ("/workflow/edges/5/probability", json!(1e-13)),
            ],
            "'yolo' would run 9.997e12 times per execution on average, more than 1e12",
        ),
    ];
    let mut rows = Vec::new();
    for (tag, base, changes, fragment) in cases {
        let file = mutated(dir, tag, base.clone(), &changes);
        for command in ["validate", "evaluate", "simulate"] {
            rows.push((args(&[command, &file]), 1, fragment.to_string()));
        }
    }
    check_rows(rows);
}

/// Work that would not end in any reasonable time is refused before it starts, with the figures
/// and what to change.
#[test]
fn work_is_capped_before_it_starts() {
    let dir_guard = scratch("caps");
    let dir = dir_guard.path();
    let endless = mutated(
        dir,
        "endless",
        example("app3.bundle.json"),
        &[
            ("/workflow/edges/4/probability", json!(0.999999999)),
            ("/workflow/edges/5/probability", json!(1e-9)),
        ],
    );
    check_rows(vec![(
        args(&["simulate", &endless, "--runs", "1000"]),
        1,
        "the simulation would take about 1.000e12 steps (1.000e9 function invocations and state entries per execution × 1000 runs), more than the 2e9 allowed: lower --runs".to_string(),
    ),
    (
        args(&["optimize", &endless, "--objective", "p95-latency", "--scenarios", "10"]),
        1,
        "10 executions would hold about 1.000e10 function invocations and state entries (1.000e9 per execution), more than the 2000000 kept in memory".to_string(),
    ),
    (
        args(&["optimize", "examples/media-pipeline.bundle.json", "--objective", "p95-latency", "--scenarios", "1000000"]),
        1,
        "1000000 executions would hold about 8.611e6 function invocations and state entries (8.61 per execution)".to_string(),
    ),
    (
        args(&["whatif", "examples/app3.bundle.json", "--objective", "cost", "--vary", "min-accuracy=0:1:10000", "--vary", "max-latency-ms=1000:9000:10000"]),
        1,
        "--vary: the grid has 100000000 points, more than the 100000 one sweep solves (use fewer steps)".to_string(),
    )]);
}

/// At the far ends of every range, every command prints finite figures (or refuses clearly).
#[test]
fn figures_at_the_ends_of_every_range_are_finite() {
    let dir_guard = scratch("extremes");
    let dir = dir_guard.path();
    let mut b = example("app3.bundle.json");
    for f in b["functions"].as_array_mut().unwrap() {
        f["memory"] = json!({"min_mb": 128, "max_mb": 10240, "step_mb": 5056});
        for v in f["variants"].as_array_mut().unwrap() {
            v["model"] = json!({"kind": "exponential", "alpha_ms": 899_000.0, "beta_ms": 1000.0, "gamma_per_mb": 0.0});
            v["cold_start"] = json!({"probability": 1.0, "init_ms": 900_000.0});
        }
    }
    b["pricing"] = json!({
        "region": "us-east-1", "architecture": "x86_64",
        "price_per_gb_second": 1.0, "price_per_request": 1.0, "billing_granularity_ms": 60_000.0,
        "step_functions": {"type": "express", "price_per_request": 1.0, "price_per_gb_second": 1.0,
                           "memory_mb": 10240.0, "billing_granularity_ms": 60_000.0}
    });
    b["workflow"]["orchestration"] =
        json!({"state_ms": 60_000.0, "transition_ms": 60_000.0, "start_end_ms": 60_000.0});
    b["workload"] = json!({"executions_per_month": 1e12});
    let plain = mutated(dir, "plain", b.clone(), &[]);
    let looping = mutated(
        dir,
        "looping",
        b,
        &[
            ("/workflow/edges/4/probability", json!(1.0 - 2e-12)),
            ("/workflow/edges/5/probability", json!(2e-12)),
        ],
    );
    for file in [&plain, &looping] {
        let commands: Vec<Vec<&str>> = vec![
            vec!["validate", file],
            vec!["evaluate", file],
            vec!["optimize", file, "--objective", "latency"],
            vec![
                "optimize",
                file,
                "--objective",
                "cost",
                "--min-accuracy",
                "0.5",
            ],
            vec![
                "optimize",
                file,
                "--objective",
                "accuracy",
                "--max-cost-usd-per-million",
                "1e30",
            ],
            vec![
                "optimize",
                file,
                "--objective",
                "p95-latency",
                "--scenarios",
                "200",
            ],
            vec![
                "whatif",
                file,
                "--objective",
                "cost",
                "--vary",
                "min-accuracy=0:1:5",
            ],
            vec!["pareto", file],
            vec!["simulate", file, "--runs", "1000"],
        ];
        for command in commands {
            let formats: &[&str] = if matches!(command[0], "whatif" | "pareto") {
                &["table", "json", "csv"]
            } else {
                &["human", "json"]
            };
            for format in formats {
                let mut a = args(&command);
                a.extend(args(&["--format", format]));
                let (code, text) = run_offline(&a);
                // The loop runs 5·10^11 times per execution: sampling it is refused.
                let sampled = a[0] == "simulate" || a.contains(&"p95-latency".to_string());
                let expected = if file == &looping && sampled { 1 } else { 0 };
                assert_eq!(code, Some(expected), "{a:?}: {text}");
                let bad = non_numbers(&text);
                assert!(bad.is_empty(), "{a:?} printed {bad:?}: {text}");
                if code == Some(1) {
                    assert!(text.contains("error:"), "{a:?}: {text}");
                }
            }
        }
    }
}

/// Hostile command lines and files: each row is the arguments (with `{BOM}`, `{LATIN1}` standing
/// for files written here), the exit code and a fragment of the message.
#[test]
fn exit_codes_and_decoding_errors_say_what_and_where() {
    let dir_guard = scratch("hostile");
    let dir = dir_guard.path();
    let bom = dir.join("bom.bundle.json");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(root().join("examples/app3.bundle.json")).unwrap());
    std::fs::write(&bom, bytes).unwrap();
    let latin1 = dir.join("latin1.bundle.json");
    std::fs::write(&latin1, b"{\n  \"name\": \"caf\xE9\"\n}").unwrap();
    let deployed = dir.join("deployed.bundle.json");
    let mut b: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/app3.bundle.json")).unwrap(),
    )
    .unwrap();
    b["functions"][0]["resource"] = "app3-preprocess".into();
    std::fs::write(&deployed, b.to_string()).unwrap();
    let config = dir.join("config.json");
    std::fs::write(&config, r#"{"f1": {"memory_mb": 320}}"#).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let rows: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec!["validate".into(), s(&bom)],
            0,
            "valid optiserve.bundle/v1",
        ),
        (
            vec!["validate".into(), s(&latin1)],
            1,
            "not UTF-8 text: invalid byte at offset 16 (line 2, column 15)",
        ),
        (
            vec!["validate".into(), "--nope".into(), s(&bom)],
            64,
            "unexpected argument '--nope'",
        ),
        (
            vec!["optimize".into(), s(&bom)],
            64,
            "--objective <OBJECTIVE>",
        ),
        (vec!["frobnicate".into()], 64, "unrecognized subcommand"),
        (
            vec!["validate".into(), s(&dir.join("missing.json"))],
            3,
            "cannot read",
        ),
        // A device or a folder named as an input is refused before anything is read (reading
        // /dev/zero would never end).
        (
            vec!["validate".into(), "/dev/zero".into()],
            3,
            "cannot read /dev/zero: a device, not a file",
        ),
        (
            vec!["simulate".into(), "/dev/urandom".into()],
            3,
            "cannot read /dev/urandom: a device, not a file",
        ),
        (vec!["validate".into(), s(dir)], 3, "a folder, not a file"),
        (
            vec![
                "apply".into(),
                s(&deployed),
                "--config".into(),
                s(&config),
                "--region".into(),
                "us-east-1".into(),
            ],
            4,
            "no AWS credentials could be loaded",
        ),
    ];
    for (args, code, fragment) in rows {
        let (got, text) = run_offline(&args);
        assert_eq!(got, Some(code), "{args:?}: {text}");
        assert!(text.contains(fragment), "{args:?}: {text}");
        // No message suggests a flag its command does not have.
        if args[0] == "apply" {
            assert!(!text.contains("--simulate"), "{text}");
        }
    }
}

/// `fit` needs three distinct memory sizes, reads every CSV number in its range (with its line),
/// and gives no R² for a fit that passes through every point.
#[test]
fn fits_that_cannot_be_right_are_refused() {
    let dir_guard = scratch("fit");
    let dir = dir_guard.path();
    let csv = |tag: &str, rows: &str| {
        let path = dir.join(format!("{tag}.csv"));
        std::fs::write(&path, format!("memory_mb,duration_ms\n{rows}")).unwrap();
        path.to_str().unwrap().to_string()
    };
    let two = csv("two", "128,900\n256,500\n");
    let one = csv("one", "128,900\n");
    let huge = csv("huge", "128,1000\n1e300,500\n512,300\n");
    let slow = csv("slow", "128,1e7\n256,500\n512,300\n");
    let three = csv("three", "128,2000\n256,900\n512,150\n");
    check_rows(vec![
        (
            args(&["fit", &two]),
            1,
            "fitting needs samples at 3 or more distinct memory sizes, found 2".to_string(),
        ),
        (args(&["fit", &one]), 1, "found 1".to_string()),
        (
            args(&["fit", &huge]),
            1,
            "line 3, column memory_mb: must be a number from 1 to 10240 MB".to_string(),
        ),
        (
            args(&["fit", &slow]),
            1,
            "line 2, column duration_ms: must be a number from 0 to 900000 ms".to_string(),
        ),
        (
            args(&["fit", &three]),
            0,
            "R² — (3 samples for 3 parameters".to_string(),
        ),
    ]);
    // The fit on three points keeps every parameter ≥ 0 and says nothing of R² in JSON either.
    let (code, text) = run_offline(&args(&["fit", &three, "--format", "json"]));
    assert_eq!(code, Some(0), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v.get("r2").is_none(), "{v}");
    assert!(v["model"]["alpha_ms"].as_f64().unwrap() >= 0.0, "{v}");
}

/// Flags and plan fields that are not numbers, or outside their range, are refused.
#[test]
fn flags_and_plan_fields_out_of_range_are_refused() {
    let dir_guard = scratch("flags");
    let dir = dir_guard.path();
    let plan = std::fs::read_to_string(root().join("examples/app3.plan.toml")).unwrap();
    let edited = |tag: &str, from: &str, to: &str| {
        assert!(plan.contains(from), "{from}");
        let path = dir.join(format!("{tag}.plan.toml"));
        std::fs::write(&path, plan.replace(from, to)).unwrap();
        path.to_str().unwrap().to_string()
    };
    let throttle = edited("throttle", "throttle_rate = 0.02", "throttle_rate = -1");
    let throttle_nan = edited(
        "throttle-nan",
        "throttle_rate = 0.02",
        "throttle_rate = nan",
    );
    let alpha = edited(
        "alpha",
        "simulate = { alpha_ms = 180.0,",
        "simulate = { alpha_ms = nan,",
    );
    let memory = edited(
        "memory",
        "memory = { min_mb = 128, max_mb = 3008, step_mb = 64 }",
        "memory = { min_mb = 128, max_mb = 4000000000, step_mb = 1 }",
    );
    let payload_device = edited(
        "payload-device",
        "payload = { bucket = \"example-images\", key = \"cat.jpg\" }",
        "payload_file = \"/dev/zero\"",
    );
    let out = dir.join("out.bundle.json");
    let out = out.to_str().unwrap();
    let profile = |plan: &str| {
        args(&[
            "profile",
            "--plan",
            plan,
            "--simulate",
            "--dry-run",
            "-o",
            out,
        ])
    };
    let app3 = "examples/app3.bundle.json";
    check_rows(vec![
        (
            args(&["optimize", app3, "--objective", "latency", "--solver", "greedy", "--bcr-threshold", "NaN"]),
            64,
            "invalid value 'NaN' for '--bcr-threshold <BCR_THRESHOLD>': must be a finite number ≥ 0, found NaN".to_string(),
        ),
        (
            args(&["optimize", app3, "--objective", "latency", "--bcr-threshold", "inf"]),
            64,
            "must be a finite number ≥ 0, found inf".to_string(),
        ),
        (
            args(&["optimize", app3, "--objective", "latency", "--accuracy-weight=-1"]),
            64,
            "must be a finite number ≥ 0, found -1".to_string(),
        ),
        (
            profile(&memory),
            1,
            "memory.max_mb: 4000000000 MB is outside what Lambda allows (128–10240 MB)".to_string(),
        ),
        (profile(&payload_device), 3, "cannot read /dev/zero: a device, not a file".to_string()),
        (profile(&throttle), 1, "simulate.throttle_rate: must be a probability in [0, 1], found -1".to_string()),
        (profile(&throttle_nan), 1, "simulate.throttle_rate: must be a probability in [0, 1]".to_string()),
        (
            profile(&alpha),
            1,
            "functions[0].variants[0].simulate: alpha_ms: must be a finite number".to_string(),
        ),
        (
            args(&["workflow", "import-asl", "examples/media-pipeline.asl.json", "--map-items", "Nope=5", "-o", out]),
            1,
            "items given for Map state 'Nope', but the state machine has no Map state".to_string(),
        ),
        (
            args(&["workflow", "import-asl", "examples/media-pipeline.asl.json", "--map-items", "=5", "-o", out]),
            1,
            "--map-items =5: name the Map state before '=' (STATE=N)".to_string(),
        ),
    ]);
}

/// Histories whose events are not a valid history refuse the file with the execution and the
/// event id; `--skip-invalid` leaves such executions out and says how many and why.
#[test]
fn invalid_histories_are_refused_or_skipped_with_a_reason() {
    let dir_guard = scratch("histories");
    let dir = dir_guard.path();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let imported = dir.join("imported.bundle.json");
    let (code, text) = run_offline(&args(&[
        "workflow",
        "import-asl",
        "examples/media-pipeline.asl.json",
        "--functions-from",
        "examples/media-pipeline.bundle.json",
        "-o",
        &s(&imported),
    ]));
    assert_eq!(code, Some(0), "{text}");
    let histories: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/sfn/media-pipeline.histories.json"))
            .unwrap(),
    )
    .unwrap();
    let broken = |tag: &str, change: &dyn Fn(&mut Value)| {
        let mut h = histories.clone();
        change(&mut h[3]["events"]);
        let path = dir.join(format!("{tag}.json"));
        std::fs::write(&path, h.to_string()).unwrap();
        s(&path)
    };
    let cases: Vec<(String, &str)> = vec![
        (
            broken("backwards", &|e| e[5]["timestamp"] = json!(1714564000.0)),
            "event id 6: its timestamp is",
        ),
        (
            broken("previous", &|e| e[7]["previousEventId"] = json!(999)),
            "event id 8: previousEventId 999 is not an earlier event of this execution",
        ),
        (
            broken("type", &|e| e[4]["type"] = json!("TaskStateWobbled")),
            "event id 5: 'TaskStateWobbled' is not a Step Functions history event type",
        ),
        (
            broken("negative", &|e| e[0]["id"] = json!(-1)),
            "event id -1: event ids start at 1",
        ),
    ];
    let measure = |file: &str, extra: &[&str]| {
        let mut a = args(&["workflow", "measure", "--from-history", file, "--bundle"]);
        a.push(s(&imported));
        a.extend(args(extra));
        a
    };
    let mut rows = Vec::new();
    for (file, fragment) in &cases {
        rows.push((measure(file, &[]), 1, format!("$[3], {fragment}")));
        rows.push((
            measure(file, &["--skip-invalid"]),
            0,
            format!("--skip-invalid: left out 1 of 10 executions whose events are not a valid history:\n  {}[3]: $[3], {fragment}", file.rsplit('/').next().unwrap()),
        ));
    }
    check_rows(rows);
}
