//! Weighted payloads on the simulated cloud: the fitted model is the weighted mix of the
//! payloads' curves, each payload keeps its own samples, the budget counts every invocation, and
//! a resumed run keeps the rounds.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::*;
use crate::cloud::sim::{SimCloud, SimEvent};
use crate::plan::{LoadedPlan, parse};

const PLAN: &str = r#"
name = "weighted"
samples = 3
max_invocations = 600
[simulate]
seed = 11
noise_cov = 0.02
cold_start_rate = 0.0
throttle_rate = 0.0
failure_rate = 0.0

[[functions]]
id = "f"
resource = "fn-f"
memory = { min_mb = 128, max_mb = 3008, step_mb = 64 }
simulate = { alpha_ms = 100.0, beta_ms = 2000.0, gamma_per_mb = 0.002 }
payloads = [
  { name = "small", weight = 3, payload = { size = "s" } },
  { name = "large", weight = 1, payload = { size = "l" }, simulate_scale = 3.0 },
]
"#;

fn plan(text: &str) -> LoadedPlan {
    parse(text, Path::new("weighted.plan.toml"), None, true).unwrap()
}

fn options(dir: &Path, resume: Option<Checkpoint>) -> RunOptions {
    RunOptions {
        checkpoint_path: dir.join("run.checkpoint.json"),
        resume,
        retry: RetryPolicy::instant(),
        reporter: Reporter::new(ProgressMode::Quiet, 0),
    }
}

fn invocations(sim: &SimCloud) -> u64 {
    sim.events()
        .iter()
        .filter(|e| matches!(e, SimEvent::Invoke { .. }))
        .count() as u64
}

fn truth(m: f64) -> f64 {
    100.0 + 2000.0 * (-0.002 * m).exp()
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[tokio::test]
async fn the_model_is_the_weighted_mix_and_each_payload_keeps_its_samples() {
    let plan = plan(PLAN);
    let t = &plan.targets[0];
    assert_eq!(
        t.payloads.iter().map(|p| p.weight).collect::<Vec<_>>(),
        [0.75, 0.25]
    );
    let sim = plan.sim_cloud(None);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &sim,
        &plan,
        &mut options(dir.path(), None),
        std::future::pending(),
    )
    .await
    .unwrap();
    let made = invocations(&sim);
    assert!(
        made <= 600,
        "the budget counts every payload's invocation: {made}"
    );
    assert_eq!(out.outcomes[0].result.invocations, made);
    let bundle = build_bundle(&plan, &out, "test".into(), None).unwrap();
    bundle.validate().unwrap();
    let v = &bundle.functions[0].variants[0];
    // The mix: 0.75·ET + 0.25·3·ET = 1.5·ET, over the whole range.
    for m in [128.0, 512.0, 1024.0, 2048.0, 3008.0] {
        let (got, want) = (v.model.duration_ms(m), 1.5 * truth(m));
        assert!(
            (got / want - 1.0).abs() < 0.05,
            "{m} MB: model {got:.1} ms, weighted mix {want:.1} ms"
        );
    }
    // Each payload's own samples: the large one runs 3× the small one at every memory.
    assert_eq!(v.payloads.len(), 2);
    let (small, large) = (&v.payloads[0], &v.payloads[1]);
    assert_eq!(
        (small.name.as_str(), large.name.as_str()),
        ("small", "large")
    );
    assert_eq!(small.samples.len(), v.samples.len());
    assert_eq!(large.samples.len(), v.samples.len());
    let memories: std::collections::BTreeSet<u64> =
        v.samples.iter().map(|s| s.memory_mb as u64).collect();
    assert!(memories.len() >= 3);
    for m in memories {
        let at = |p: &optiserve_core::bundle::PayloadProfile| {
            mean(
                p.samples
                    .iter()
                    .filter(|s| s.memory_mb as u64 == m && !s.cold)
                    .map(|s| s.duration_ms),
            )
        };
        let ratio = at(large) / at(small);
        assert!((ratio - 3.0).abs() < 0.3, "{m} MB: large/small {ratio:.2}");
        assert!(
            (at(small) / truth(m as f64) - 1.0).abs() < 0.06,
            "{m} MB: the small payload runs the true curve"
        );
    }
    // The bundle reads back with its payloads (additive fields).
    let back = optiserve_core::bundle::Bundle::from_json(&bundle.to_json()).unwrap();
    assert_eq!(back.functions[0].variants[0].payloads, v.payloads);
}

#[tokio::test]
async fn one_payload_plans_are_unchanged_and_a_resume_keeps_the_rounds() {
    // The old form: `payload` makes one payload and no `payloads` in the bundle.
    let single = plan(&PLAN.replace(
        "payloads = [\n  { name = \"small\", weight = 3, payload = { size = \"s\" } },\n  { name = \"large\", weight = 1, payload = { size = \"l\" }, simulate_scale = 3.0 },\n]",
        "payload = { size = \"s\" }",
    ));
    assert_eq!(single.targets[0].payloads.len(), 1);
    let sim = single.sim_cloud(None);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &sim,
        &single,
        &mut options(dir.path(), None),
        std::future::pending(),
    )
    .await
    .unwrap();
    let b = build_bundle(&single, &out, "test".into(), None).unwrap();
    assert!(b.functions[0].variants[0].payloads.is_empty());
    assert!(!b.to_json().contains("\"payloads\""));

    // A crash, then a resume: the recorded rounds are replayed, none is lost or made again.
    let weighted = plan(PLAN);
    let dir = tempfile::tempdir().unwrap();
    let (mut settings, functions) = weighted.sim_parts(None);
    settings.crash_after_invocations = Some(40);
    let sim1 = SimCloud::new(settings, functions);
    run(
        &sim1,
        &weighted,
        &mut options(dir.path(), None),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    let first = Checkpoint::load(&dir.path().join("run.checkpoint.json")).unwrap();
    assert!(first.batches.iter().any(|b| !b.rounds.is_empty()));
    let sim2 = weighted.sim_cloud(None);
    let out = run(
        &sim2,
        &weighted,
        &mut options(dir.path(), Some(first.clone())),
        std::future::pending(),
    )
    .await
    .unwrap();
    let replayed: u64 = first
        .batches
        .iter()
        .map(|b| u64::from(b.batch.warmup.is_some()) + 2 * b.rounds.len() as u64)
        .sum();
    assert_eq!(
        out.outcomes[0].result.invocations,
        replayed + invocations(&sim2),
        "every invocation counted once"
    );
    let b = build_bundle(&weighted, &out, "test".into(), None).unwrap();
    let v = &b.functions[0].variants[0];
    assert_eq!(v.payloads[0].samples.len(), v.samples.len());
}

#[test]
fn plan_errors_name_the_payload() {
    let bad = |from: &str, to: &str| {
        let text = PLAN.replace(from, to);
        format!(
            "{:#}",
            parse(&text, Path::new("p.toml"), None, true).unwrap_err()
        )
    };
    let e = bad("weight = 3", "weight = 0");
    assert!(e.contains("functions[0].payloads[0].weight"), "{e}");
    let e = bad("name = \"large\"", "name = \"small\"");
    assert!(e.contains("functions[0].payloads[1].name"), "{e}");
    let e = bad("id = \"f\"", "id = \"f\"\npayload = { a = 1 }");
    assert!(e.contains("not both"), "{e}");
}

#[tokio::test]
async fn a_payload_selected_variant_is_recorded_as_deployed_from_its_state_machine() {
    let text = r#"
name = "sfn"
samples = 3
[simulate]
seed = 5
[[functions]]
id = "yolo"
resource = "fn-y"
memory = [1024, 2048, 3008]
payload = { image = "a.jpg" }
state_machine = { arn = "arn:aws:states:us-east-1:1:stateMachine:app", states = ["Detect"] }
  [[functions.variants]]
  name = "yolo-n"
  payload = { model = "n" }
  simulate = { alpha_ms = 100.0, beta_ms = 900.0, gamma_per_mb = 0.001 }
  [[functions.variants]]
  name = "yolo-s"
  payload = { model = "s" }
  simulate = { alpha_ms = 200.0, beta_ms = 1800.0, gamma_per_mb = 0.001 }
"#;
    let arn = "arn:aws:states:us-east-1:1:stateMachine:app";
    let plan = plan(text);
    let definition = serde_json::json!({
        "StartAt": "Detect",
        "States": {"Detect": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "fn-y", "Payload": {"model": "s", "image.$": "$.image"}},
            "End": true}}
    })
    .to_string();
    let defs = crate::cloud::sim::SimStateMachines::new([(arn.to_string(), definition)]);
    let definitions = read_definitions(&defs, &plan, &RetryPolicy::instant())
        .await
        .unwrap();
    let sim = plan.sim_cloud(None);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &sim,
        &plan,
        &mut options(dir.path(), None),
        std::future::pending(),
    )
    .await
    .unwrap();
    // Without the definition the variant in place is unknown and left out (as before) …
    let b = build_bundle(&plan, &out, "test".into(), None).unwrap();
    assert!(b.deployed.is_empty());
    // … with it, the variant the state machine passes, at the function's memory.
    let b = build_bundle_with(&plan, &out, "test".into(), None, &definitions).unwrap();
    let d = &b.deployed["yolo"];
    assert_eq!((d.memory_mb, d.variant.as_deref()), (3008, Some("yolo-s")));
    assert_eq!(
        b.functions[0]
            .state_machine
            .as_ref()
            .map(|s| s.arn.as_str()),
        Some(arn)
    );
    let app = b.validate().unwrap();
    assert_eq!(app.deployed[0].variant, 1, "evaluate uses yolo-s");
    // A named state that passes no payload object is refused before anything runs.
    let bad = plan_err(&text.replace("states = [\"Detect\"]", "states = [\"Nope\"]"));
    let e = read_definitions(&defs, &bad, &RetryPolicy::instant())
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("no state named 'Nope'"), "{e:#}");
}

fn plan_err(text: &str) -> LoadedPlan {
    plan(text)
}

/// The dry run counts a round of one invocation per payload and bills each payload's own
/// durations: its estimate is within 25% of the run.
#[tokio::test]
async fn the_dry_run_estimate_counts_every_payload() {
    let plan = plan(PLAN);
    let estimate = estimate_plan(&plan, true, &|_| 30);
    let sim = plan.sim_cloud(None);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &sim,
        &plan,
        &mut options(dir.path(), None),
        std::future::pending(),
    )
    .await
    .unwrap();
    let made = invocations(&sim) as f64;
    let cost: f64 = out.outcomes.iter().map(|o| o.result.cost_usd).sum();
    let (a, b) = (estimate.invocations / made, estimate.cost_usd / cost);
    assert!(
        (0.75..=1.25).contains(&a),
        "invocations ×{a}: estimate {} run {made}",
        estimate.invocations
    );
    assert!(
        (0.75..=1.25).contains(&b),
        "cost ×{b}: estimate {} run {cost}",
        estimate.cost_usd
    );
}
