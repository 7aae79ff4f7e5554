//! `optiserve profile` and `apply` against a local AWS emulator, over real HTTP with the real SDK:
//! moto's server wrapped by `tests/emulator/moto_report.py`, which answers `LogType=Tail`
//! invocations with REPORT lines whose Duration follows a known curve of the configured memory.
//!
//! Run with `scripts/emulator.sh test` (it installs and starts the emulator and sets
//! `OPTISERVE_EMULATOR_URL`). These tests are `#[ignore]`d so that a plain `cargo test` does not
//! need the emulator; CI runs them with `--ignored`, and then a missing emulator fails loudly.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};

fn url() -> String {
    std::env::var("OPTISERVE_EMULATOR_URL")
        .expect("OPTISERVE_EMULATOR_URL is not set: run these tests with scripts/emulator.sh test")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh directory, removed when the returned guard drops (also when the test fails).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("optiserve-emulator-{name}-"))
        .tempdir()
        .unwrap()
}

fn optiserve() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_optiserve"));
    c.current_dir(root())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE");
    c
}

fn run(args: &[&str]) -> Output {
    optiserve().args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn client() -> Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(url())
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    Client::from_conf(config)
}

/// An IAM CreateRole call with a dummy signature (moto routes by the credential scope and does
/// not check it): CreateFunction needs a role.
fn create_role(name: &str) -> String {
    let addr = url().trim_start_matches("http://").to_string();
    let doc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22lambda.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
    let body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument={doc}"
    );
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    assert!(
        response.contains("<CreateRoleResponse") || response.contains("EntityAlreadyExists"),
        "{response}"
    );
    format!("arn:aws:iam::123456789012:role/{name}")
}

/// A minimal deployment package (the emulator runs no code).
fn zip() -> Vec<u8> {
    // An empty zip archive: the end-of-central-directory record alone.
    let mut z = vec![0x50, 0x4b, 0x05, 0x06];
    z.extend([0u8; 18]);
    z
}

async fn create_function(name: &str, memory: i32, env: &[(&str, &str)]) {
    let role = create_role("optiserve-emulator-role");
    let c = client();
    let _ = c.delete_function().function_name(name).send().await;
    let variables: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    c.create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role(role)
        .handler("handler.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip())).build())
        .memory_size(memory)
        .timeout(60)
        .environment(
            Environment::builder()
                .set_variables(Some(variables))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn config_of(name: &str) -> (i32, HashMap<String, String>) {
    let out = client()
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap();
    let env = out
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    (out.memory_size().unwrap(), env)
}

/// A function deployed on the emulator for one test, with what the test compares against.
struct Deployed {
    /// Its configuration before the test (memory, environment).
    before: (i32, HashMap<String, String>),
    /// The test's scratch directory.
    dir: tempfile::TempDir,
    /// The test's plan, in `dir`.
    plan: PathBuf,
}

/// Creates (or re-creates) the function `name`, reads its configuration, and writes `plan` (TOML)
/// into a fresh scratch directory.
async fn deploy(name: &str, memory: i32, env: &[(&str, &str)], plan: &str) -> Deployed {
    create_function(name, memory, env).await;
    let before = config_of(name).await;
    let dir = scratch(name.trim_start_matches("optiserve-emu-"));
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, plan).unwrap();
    Deployed {
        before,
        dir,
        plan: path,
    }
}

fn et(a: f64, b: f64, g: f64, m: f64) -> f64 {
    a + b * (-g * m).exp()
}

/// MAPE (%) of a variant's fitted model against the known curve over 128–3008 MB.
fn model_error(variant: &serde_json::Value, curve: (f64, f64, f64)) -> f64 {
    let m = &variant["model"];
    let (a, b, g) = (
        m["alpha_ms"].as_f64().unwrap(),
        m["beta_ms"].as_f64().unwrap(),
        m["gamma_per_mb"].as_f64().unwrap(),
    );
    let grid: Vec<f64> = (128..=3008).step_by(64).map(f64::from).collect();
    grid.iter()
        .map(|&x| {
            let t = et(curve.0, curve.1, curve.2, x);
            (et(a, b, g, x) - t).abs() / t
        })
        .sum::<f64>()
        / grid.len() as f64
        * 100.0
}

#[tokio::test]
#[ignore = "needs the emulator: scripts/emulator.sh test"]
async fn profile_recovers_the_curve_restores_then_apply_moves_an_alias() {
    let name = "optiserve-emu-resize";
    let plan = format!(
        "region = \"us-east-1\"\nsamples = 3\nconcurrency = 2\n\
         memory = {{ min_mb = 128, max_mb = 3008, step_mb = 64 }}\n\
         [[functions]]\nid = \"resize\"\nresource = \"{name}\"\npayload = {{ image = \"cat.jpg\" }}\n"
    );
    let env = [
        ("EMU_CURVE", "150,4000,0.003"),
        ("EMU_COLD_RATE", "0.15"),
        ("KEEP", "yes"),
    ];
    let deployed = deploy(name, 512, &env, &plan).await;
    let (before, dir, plan) = (deployed.before.clone(), deployed.dir.path(), &deployed.plan);
    let bundle = dir.join("bundle.json");
    let endpoint = url();
    let out = ok(&run(&[
        "profile",
        "--plan",
        plan.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--endpoint-url",
        &endpoint,
        "--format",
        "json",
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let t = &report["targets"][0];
    assert!(t["invocations"].as_u64().unwrap() < 184, "{t}");
    // The original configuration is back.
    assert_eq!(config_of(name).await, before);
    assert!(
        !dir.join("bundle.json.checkpoint.json").exists(),
        "the checkpoint is removed after success"
    );
    // The bundle validates, plans, and its model is the emulator's curve.
    ok(&run(&["validate", bundle.to_str().unwrap()]));
    ok(&run(&[
        "optimize",
        bundle.to_str().unwrap(),
        "--objective",
        "cost",
    ]));
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let v = &b["functions"][0]["variants"][0];
    let err = model_error(v, (150.0, 4000.0, 0.003));
    assert!(
        err < 5.0,
        "the fitted model is {err:.2}% away from the emulator's curve: {v}"
    );
    assert_eq!(b["deployed"]["resize"]["memory_mb"], 512);
    assert_eq!(b["functions"][0]["resource"], name);
    assert!(
        b["provenance"]["source"]
            .as_str()
            .unwrap()
            .contains(&endpoint)
    );
    // Cold starts (15% of the calls) are kept in the bundle, flagged, and do not count: every
    // measured memory still has its 3 warm samples.
    let samples = v["samples"].as_array().unwrap();
    assert!(
        samples.iter().any(|s| s["cold"] == true),
        "no cold sample kept"
    );
    let mut memories: Vec<f64> = samples
        .iter()
        .map(|s| s["memory_mb"].as_f64().unwrap())
        .collect();
    memories.dedup();
    for m in memories {
        let warm = samples
            .iter()
            .filter(|s| s["memory_mb"].as_f64() == Some(m) && s["cold"] == false)
            .count();
        assert!(warm >= 3, "{m} MB has {warm} warm samples");
    }

    // apply: dry run first (nothing changes), then for real with an alias.
    let config = dir.join("config.json");
    std::fs::write(&config, r#"{"resize": {"memory_mb": 1024}}"#).unwrap();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "apply",
            bundle.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--endpoint-url",
            &endpoint,
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let dry = ok(&optiserve().args(args(&["--dry-run"])).output().unwrap());
    assert!(
        dry.contains("memory 512 → 1024 MB") && dry.contains("nothing was changed"),
        "{dry}"
    );
    assert_eq!(config_of(name).await, before);
    let applied = ok(&optiserve()
        .args(args(&["--alias", "live", "--format", "json"]))
        .output()
        .unwrap());
    let applied: serde_json::Value = serde_json::from_str(&applied).unwrap();
    let (memory, env) = config_of(name).await;
    assert_eq!(memory, 1024);
    assert_eq!(env, before.1, "the environment is kept");
    let version = applied["changes"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let alias = client()
        .get_alias()
        .function_name(name)
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(alias.function_version(), Some(version.as_str()));
    // check: the SLO gate on the profiled bundle.
    let fast = run(&[
        "check",
        bundle.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--max-latency-ms",
        "100000",
    ]);
    assert!(fast.status.success());
    let slow = run(&[
        "check",
        bundle.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--max-latency-ms",
        "1",
    ]);
    assert_eq!(slow.status.code(), Some(2));
}

#[tokio::test]
#[ignore = "needs the emulator: scripts/emulator.sh test"]
async fn variants_switched_by_environment_are_profiled_and_the_variant_restored() {
    let name = "optiserve-emu-classify";
    let plan = format!(
        "samples = 3\nmemory = {{ min_mb = 128, max_mb = 3008, step_mb = 64 }}\n\
         [[functions]]\nid = \"classify\"\nresource = \"{name}\"\n\
         [[functions.variants]]\nname = \"small\"\nenv = {{ MODEL_NAME = \"small\" }}\naccuracy = {{ value = 70.0 }}\n\
         [[functions.variants]]\nname = \"large\"\nenv = {{ MODEL_NAME = \"large\" }}\naccuracy = {{ value = 78.0 }}\n"
    );
    let env = [
        ("MODEL_NAME", "small"),
        ("EMU_CURVE_small", "100,3000,0.002"),
        ("EMU_CURVE_large", "400,12000,0.0015"),
    ];
    let deployed = deploy(name, 2048, &env, &plan).await;
    let (before, dir, plan) = (deployed.before.clone(), deployed.dir.path(), &deployed.plan);
    let bundle = dir.join("bundle.json");
    ok(&run(&[
        "profile",
        "--plan",
        plan.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--endpoint-url",
        &url(),
    ]));
    assert_eq!(
        config_of(name).await,
        before,
        "memory and MODEL_NAME are back"
    );
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let variants = b["functions"][0]["variants"].as_array().unwrap();
    assert!(
        model_error(&variants[0], (100.0, 3000.0, 0.002)) < 5.0,
        "{}",
        variants[0]
    );
    assert!(
        model_error(&variants[1], (400.0, 12000.0, 0.0015)) < 5.0,
        "{}",
        variants[1]
    );
    assert_eq!(b["deployed"]["classify"]["variant"], "small");
    // Switching the variant with apply changes MODEL_NAME only.
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        r#"{"classify": {"memory_mb": 3008, "variant": "large"}}"#,
    )
    .unwrap();
    ok(&run(&[
        "apply",
        bundle.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--endpoint-url",
        &url(),
    ]));
    let (memory, env) = config_of(name).await;
    assert_eq!((memory, env["MODEL_NAME"].as_str()), (3008, "large"));
    assert_eq!(env.len(), before.1.len());
}

#[tokio::test]
#[ignore = "needs the emulator: scripts/emulator.sh test"]
async fn a_failed_run_and_ctrl_c_both_restore_the_original_configuration() {
    // Every memory is out of memory: the run fails, and the function is restored.
    let name = "optiserve-emu-oom";
    let deployed = deploy(
        name,
        256,
        &[("EMU_MIN_MEMORY", "100000")],
        &format!("memory = [128, 512, 1024]\n[[functions]]\nid = \"f\"\nresource = \"{name}\"\n"),
    )
    .await;
    let (before, dir, plan) = (deployed.before.clone(), deployed.dir.path(), &deployed.plan);
    let bundle = dir.join("b.json");
    let out = run(&[
        "profile",
        "--plan",
        plan.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--endpoint-url",
        &url(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("timed out or ran out of memory"),
        "{stderr}"
    );
    assert_eq!(config_of(name).await, before);
    assert!(!bundle.exists());

    // Ctrl-C in the middle of a run: exit 130, restored, the checkpoint kept.
    let name = "optiserve-emu-interrupt";
    create_function(name, 640, &[("EMU_CURVE", "300,5000,0.002")]).await;
    let before = config_of(name).await;
    let plan = dir.join("interrupt.toml");
    std::fs::write(
        &plan,
        format!("samples = 20\nmemory = {{ min_mb = 128, max_mb = 3008, step_mb = 1 }}\n[[functions]]\nid = \"f\"\nresource = \"{name}\"\n"),
    )
    .unwrap();
    let bundle = dir.join("interrupted.json");
    let child = optiserve()
        .args([
            "profile",
            "--plan",
            plan.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
            "--endpoint-url",
            &url(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run has changed the function, then interrupt it.
    let mut changed = false;
    for _ in 0..200 {
        if config_of(name).await != before {
            changed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(changed, "the run never changed the function");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("--resume"),
        "{stderr}"
    );
    assert_eq!(config_of(name).await, before);
    assert!(dir.join("interrupted.json.checkpoint.json").exists());
}

/// A run killed outright (SIGKILL: nothing can restore) leaves the function in its profiling
/// configuration, marked with the run's id. A fresh run refuses to take those settings for the
/// originals and names `optiserve restore`; a fresh run into the same output refuses to replace the
/// killed run's checkpoint; `restore` puts the originals back from the checkpoint, and then a
/// fresh run works.
#[tokio::test]
#[ignore = "needs the local AWS emulator: scripts/emulator.sh test"]
async fn a_killed_run_is_refused_until_restore_puts_the_originals_back() {
    let name = "optiserve-emu-killed";
    let deployed = deploy(
        name,
        640,
        &[("EMU_CURVE", "300,5000,0.002"), ("API_TOKEN", "s3cr3t-value")],
        &format!("samples = 20\nmemory = {{ min_mb = 128, max_mb = 3008, step_mb = 1 }}\n[[functions]]\nid = \"f\"\nresource = \"{name}\"\n"),
    )
    .await;
    let (before, dir, plan) = (deployed.before.clone(), deployed.dir.path(), &deployed.plan);
    let bundle = dir.join("killed.json");
    let checkpoint = dir.join("killed.json.checkpoint.json");
    let args = |out: &Path| {
        vec![
            "profile".to_string(),
            "--plan".into(),
            plan.to_str().unwrap().into(),
            "-o".into(),
            out.to_str().unwrap().into(),
            "--endpoint-url".into(),
            url(),
        ]
    };
    let child = optiserve()
        .args(args(&bundle))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut changed = false;
    for _ in 0..200 {
        if config_of(name).await != before {
            changed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(changed, "the run never changed the function");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    let _ = child.wait_with_output().unwrap();
    let (memory, env) = config_of(name).await;
    assert!(env.contains_key("OPTISERVE_PROFILING"), "{env:?}");
    assert_ne!((memory, env.clone()), before);
    assert!(checkpoint.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&checkpoint).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the checkpoint holds environments: owner only");
    }

    // A fresh run into the same output: the killed run's checkpoint is not replaced.
    let out = optiserve().args(args(&bundle)).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--resume") && stderr.contains("optiserve restore"),
        "{stderr}"
    );
    // A fresh run elsewhere: the function's current settings are not its originals.
    let elsewhere = dir.join("elsewhere.json");
    let out = optiserve().args(args(&elsewhere)).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("still in the profiling configuration")
            && stderr.contains("optiserve restore"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cr3t-value"),
        "no environment value in any output: {stderr}"
    );
    assert!(!elsewhere.exists());
    assert_eq!(
        config_of(name).await.1.get("API_TOKEN").map(String::as_str),
        Some("s3cr3t-value")
    );

    // restore: the originals are back, marker gone.
    let out = run(&[
        "restore",
        checkpoint.to_str().unwrap(),
        "--endpoint-url",
        &url(),
    ]);
    let text = ok(&out);
    assert!(
        text.contains(&format!(
            "restored the original configuration (memory and environment) of: {name}"
        )),
        "{text}"
    );
    assert!(!text.contains("s3cr3t-value"));
    assert_eq!(config_of(name).await, before);
    // Again: nothing to do.
    let text = ok(&run(&[
        "restore",
        checkpoint.to_str().unwrap(),
        "--endpoint-url",
        &url(),
    ]));
    assert!(
        text.contains(&format!("already in their original configuration: {name}")),
        "{text}"
    );
}

fn sfn_client() -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .region(aws_sdk_sfn::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .endpoint_url(url())
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

/// Turns on moto's execution of state machines (off by default: StartExecution then leaves the
/// execution RUNNING and GetExecutionHistory returns a fixed four-event Pass history).
fn execute_state_machines() {
    let addr = url().trim_start_matches("http://").to_string();
    let body = r#"{"stepfunctions": {"execute_state_machine": true}}"#;
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST /moto-api/config HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 20"), "{response}");
}

async fn create_state_machine(name: &str, definition: &str) -> String {
    let role = create_role("optiserve-emulator-sfn-role");
    sfn_client()
        .create_state_machine()
        .name(format!("{name}-{}", std::process::id()))
        .definition(definition)
        .role_arn(role)
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string()
}

/// `workflow import-asl --state-machine` reads the definition through DescribeStateMachine and
/// gives exactly the workflow of the file (the media pipeline: Parallel, Choices, a cycle and a
/// self-loop).
#[tokio::test]
#[ignore = "needs the emulator: scripts/emulator.sh test"]
async fn import_asl_by_arn_gives_the_workflow_of_the_file() {
    let definition =
        std::fs::read_to_string(root().join("examples/media-pipeline.asl.json")).unwrap();
    let arn = create_state_machine("optiserve-emu-media", &definition).await;
    let dir_guard = scratch("import-arn");
    let dir = dir_guard.path();
    let (by_arn, by_file) = (dir.join("arn.json"), dir.join("file.json"));
    let endpoint = url();
    ok(&run(&[
        "workflow",
        "import-asl",
        "--state-machine",
        &arn,
        "--endpoint-url",
        &endpoint,
        "--functions-from",
        "examples/media-pipeline.bundle.json",
        "-o",
        by_arn.to_str().unwrap(),
    ]));
    ok(&run(&[
        "workflow",
        "import-asl",
        "examples/media-pipeline.asl.json",
        "--functions-from",
        "examples/media-pipeline.bundle.json",
        "-o",
        by_file.to_str().unwrap(),
    ]));
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    assert_eq!(read(&by_arn)["workflow"], read(&by_file)["workflow"]);
    // A state machine that does not exist is named in the error.
    let out = run(&[
        "workflow",
        "import-asl",
        "--state-machine",
        "arn:aws:states:us-east-1:123456789012:stateMachine:optiserve-nope",
        "--endpoint-url",
        &endpoint,
        "-o",
        "-",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("optiserve-nope"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Executions on moto (which runs the state machine and calls its Lambda functions, echoing
/// their input): `measure --state-machine … --from-history N` reads the executions started here
/// over the SDK, with the branch each input chose; `validate` starts, waits for and reads new ones.
#[tokio::test]
#[ignore = "needs the emulator: scripts/emulator.sh test"]
async fn measure_and_validate_read_real_executions_of_the_emulator() {
    execute_state_machines();
    for f in ["ingest", "classify", "detect", "caption"] {
        create_function(f, 1024, &[]).await;
    }
    let definition =
        std::fs::read_to_string(root().join("tests/fixtures/sfn-sim/moto-choice.asl.json"))
            .unwrap();
    let arn = create_state_machine("optiserve-emu-choice", &definition).await;
    let c = sfn_client();
    for (k, people) in [true, true, false, true].into_iter().enumerate() {
        let e = c
            .start_execution()
            .state_machine_arn(&arn)
            .name(format!("emulator-test-{}-{k}", std::process::id()))
            .input(format!("{{\"people\": {people}}}"))
            .send()
            .await
            .unwrap()
            .execution_arn()
            .to_string();
        for _ in 0..100 {
            let s = c
                .describe_execution()
                .execution_arn(&e)
                .send()
                .await
                .unwrap();
            if s.status().as_str() != "RUNNING" {
                assert_eq!(s.status().as_str(), "SUCCEEDED");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let dir_guard = scratch("measure-arn");
    let dir = dir_guard.path();
    let imported = dir.join("imported.json");
    let measured = dir.join("measured.json");
    let endpoint = url();
    ok(&run(&[
        "workflow",
        "import-asl",
        "--state-machine",
        &arn,
        "--endpoint-url",
        &endpoint,
        "--functions-from",
        "examples/media-pipeline.bundle.json",
        "-o",
        imported.to_str().unwrap(),
    ]));
    let m: serde_json::Value = serde_json::from_str(&ok(&run(&[
        "workflow",
        "measure",
        "--state-machine",
        &arn,
        "--endpoint-url",
        &endpoint,
        "--from-history",
        "4",
        "--bundle",
        imported.to_str().unwrap(),
        "-o",
        measured.to_str().unwrap(),
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(m["measurement"]["succeeded"], 4);
    let edges = m["measurement"]["edges"].as_array().unwrap();
    let detect = edges.iter().find(|e| e["to"] == "detect").unwrap();
    assert_eq!(
        (detect["taken"].as_u64(), detect["out_of"].as_u64()),
        (Some(3), Some(4))
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&run(&[
        "workflow",
        "validate",
        "--state-machine",
        &arn,
        "--endpoint-url",
        &endpoint,
        "--executions",
        "3",
        "--warmup",
        "1",
        "--input",
        "{\"people\": false}",
        "--bundle",
        measured.to_str().unwrap(),
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(v["succeeded"], 3);
    assert!(v["comparison"]["measured_latency_ms"].as_f64().unwrap() > 0.0);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Weighted payloads and a variant selected by a payload field that a state machine passes:
/// `profile` fits the weighted mix and records the variant the state machine passes as deployed;
/// `apply` switches it through UpdateStateMachine (and the memory through Lambda).
#[tokio::test]
#[ignore = "needs the emulator: scripts/emulator.sh test"]
async fn weighted_payloads_and_a_variant_passed_by_a_state_machine() {
    let name = "optiserve-emu-detect";
    let definition = |model: &str| {
        serde_json::json!({
            "StartAt": "Detect",
            "States": {"Detect": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": name,
                               "Payload": {"model": model, "image.$": "$.key"}},
                "End": true}}
        })
        .to_string()
    };
    let arn = create_state_machine("optiserve-emu-detect", &definition("s")).await;
    let plan = format!(
        "samples = 3\nmemory = {{ min_mb = 128, max_mb = 3008, step_mb = 64 }}\n\
         [[functions]]\nid = \"detect\"\nresource = \"{name}\"\n\
         state_machine = {{ arn = \"{arn}\", states = [\"Detect\"] }}\n\
         payloads = [{{ name = \"small\", weight = 3, payload = {{ emu_scale = 1.0 }} }}, \
                     {{ name = \"large\", weight = 1, payload = {{ emu_scale = 3.0 }} }}]\n\
         [[functions.variants]]\nname = \"n\"\npayload = {{ model = \"n\" }}\n\
         [[functions.variants]]\nname = \"s\"\npayload = {{ model = \"s\" }}\n"
    );
    let env = [
        ("EMU_CURVE_n", "100,3000,0.002"),
        ("EMU_CURVE_s", "300,9000,0.002"),
    ];
    let deployed = deploy(name, 2048, &env, &plan).await;
    let (before, dir, plan) = (deployed.before.clone(), deployed.dir.path(), &deployed.plan);
    let bundle = dir.join("bundle.json");
    ok(&run(&[
        "profile",
        "--plan",
        plan.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--model",
        "exponential",
        "--endpoint-url",
        &url(),
    ]));
    assert_eq!(config_of(name).await, before, "the function is restored");
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let variants = b["functions"][0]["variants"].as_array().unwrap();
    // The weighted mix: 0.75·ET + 0.25·3·ET = 1.5·ET.
    for (v, (a, bb, g)) in variants
        .iter()
        .zip([(100.0, 3000.0, 0.002), (300.0, 9000.0, 0.002)])
    {
        let e = model_error(v, (1.5 * a, 1.5 * bb, g));
        assert!(e < 5.0, "{}: {e:.2}% off the weighted mix", v["name"]);
        let p = v["payloads"].as_array().unwrap();
        assert_eq!(
            (p[0]["name"].as_str(), p[0]["weight"].as_f64()),
            (Some("small"), Some(0.75))
        );
        assert_eq!(
            p[1]["samples"].as_array().unwrap().len(),
            v["samples"].as_array().unwrap().len()
        );
    }
    assert_eq!(b["deployed"]["detect"]["variant"], "s");
    assert_eq!(b["deployed"]["detect"]["memory_mb"], 2048);
    // apply: variant n at 1024 MB.
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        r#"{"detect": {"memory_mb": 1024, "variant": "n"}}"#,
    )
    .unwrap();
    let text = ok(&run(&[
        "apply",
        bundle.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--endpoint-url",
        &url(),
    ]));
    assert!(text.contains("variant s → n"), "{text}");
    assert_eq!(config_of(name).await.0, 1024);
    let now = sfn_client()
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let d: serde_json::Value = serde_json::from_str(now.definition()).unwrap();
    let payload = &d["States"]["Detect"]["Parameters"]["Payload"];
    assert_eq!(payload["model"], "n");
    assert_eq!(payload["image.$"], "$.key");
}
