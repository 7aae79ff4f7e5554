//! The profiling run on the simulated cloud: end to end, fault injection (throttling, transient
//! errors, failing invocations, a crash then a resume, Ctrl-C); the sampler's quality is `suite.rs`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use optiserve_core::sampling::Status;

use super::*;
use crate::cloud::sim::{SimCloud, SimEvent};
use crate::plan::{LoadedPlan, parse};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh directory, removed when the returned guard drops (also when the test fails).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("optiserve-profile-{name}-"))
        .tempdir()
        .unwrap()
}

fn app3(edit: impl Fn(String) -> String) -> LoadedPlan {
    let path = root().join("examples/app3.plan.toml");
    let text = edit(std::fs::read_to_string(&path).unwrap());
    parse(&text, &path, None, true).unwrap()
}

fn options(dir: &Path, resume: Option<Checkpoint>) -> RunOptions {
    RunOptions {
        checkpoint_path: dir.join("run.checkpoint.json"),
        resume,
        retry: RetryPolicy::instant(),
        reporter: Reporter::new(ProgressMode::Quiet, 0),
    }
}

fn never() -> impl Future<Output = ()> {
    std::future::pending()
}

fn originals(plan: &LoadedPlan, sim: &SimCloud) -> BTreeMap<String, FunctionConfig> {
    plan.targets
        .iter()
        .map(|t| (t.resource.clone(), sim.config(&t.resource).unwrap()))
        .collect()
}

fn assert_restored(sim: &SimCloud, before: &BTreeMap<String, FunctionConfig>) {
    for (r, c) in before {
        let now = sim.config(r).unwrap();
        assert!(now.same_settings(c), "{r} not restored: {now:?} vs {c:?}");
    }
}

/// Ok durations of a batch's measured invocations (warm-up excluded).
fn ok_durations(b: &Batch) -> Vec<f64> {
    b.invocations
        .iter()
        .filter(|i| i.effective_status(0) != Status::Error && i.status == Status::Ok)
        .filter_map(|i| i.duration_ms)
        .collect()
}

#[tokio::test]
async fn app3_end_to_end_on_the_simulated_cloud() {
    let plan = app3(|t| t);
    let sim = plan.sim_cloud(None);
    let before = originals(&plan, &sim);
    let dir_guard = scratch("e2e");
    let dir = dir_guard.path();
    let mut opts = options(dir, None);
    let out = run(&sim, &plan, &mut opts, never()).await.unwrap();
    assert_restored(&sim, &before);
    assert_eq!(out.outcomes.len(), 9);
    let bundle = build_bundle(&plan, &out, "test".into(), None).unwrap();
    let app = bundle.validate().unwrap();
    assert_eq!(app.functions.len(), 3);
    // The ML functions' floor was found: no option below the smallest memory that ran.
    let resnet = bundle.functions.iter().find(|f| f.id == "resnet").unwrap();
    assert!(resnet.memory.sizes()[0] >= 2048, "{:?}", resnet.memory);
    for v in bundle.functions.iter().flat_map(|f| &f.variants) {
        let fit = v.fit.unwrap();
        assert!(fit.mape_percent < 10.0, "{}: {fit:?}", v.name);
        assert!(v.samples.iter().all(|s| s.duration_ms > 0.0));
    }
    // Every configuration change made a cold start: each variant records the Init Durations it
    // saw (the simulated cloud's default INIT is 250 ms ± 10%), with a production share of 0
    // where the plan gives none and the plan's share where it does.
    for f in &bundle.functions {
        for v in &f.variants {
            let c = v
                .cold_start
                .unwrap_or_else(|| panic!("{}/{}: no cold starts", f.id, v.name));
            assert!(
                (c.init_ms - 250.0).abs() < 25.0,
                "{}/{}: {c:?}",
                f.id,
                v.name
            );
            assert!(c.observed.unwrap_or(0) >= 2, "{c:?}");
            assert_eq!(c.probability, 0.0);
        }
    }
    let with_share = app3(|t| {
        t.replacen(
            "[[functions]]\nid = \"f1\"",
            "[[functions]]\nid = \"f1\"\ncold_start_probability = 0.02",
            1,
        )
    });
    let f1 = with_share
        .plan
        .functions
        .iter()
        .find(|f| f.id == "f1")
        .unwrap();
    assert_eq!(f1.cold_start_probability, Some(0.02));
    let with_bundle = build_bundle(&with_share, &out, "test".into(), None).unwrap();
    let c = with_bundle.functions[0].variants[0].cold_start.unwrap();
    assert_eq!(c.probability, 0.02);
    // The deployed configuration is what was there before: 3008 MB, the first variant.
    assert_eq!(bundle.deployed["f1"].memory_mb, 3008);
    assert_eq!(
        bundle.deployed["resnet"].variant.as_deref(),
        Some("resnet-18")
    );
    // The run was mostly throttle-free but saw some throttles and failures (the plan asks for them).
    assert!(out.retries.0 > 0, "{:?}", out.retries);
    let failures: usize = out
        .outcomes
        .iter()
        .flat_map(|o| &o.result.memories)
        .map(|m| {
            m.failures
                .iter()
                .filter(|f| f.status == Status::Error)
                .count()
        })
        .sum();
    assert!(failures > 0);
    // Every recorded sample is an invocation the cloud really served, used once.
    let served: Vec<f64> = sim
        .events()
        .iter()
        .filter_map(|e| match e {
            SimEvent::Invoke {
                duration_ms: Some(d),
                ..
            } => Some(*d),
            _ => None,
        })
        .collect();
    let mut used = served.clone();
    for v in bundle.functions.iter().flat_map(|f| &f.variants) {
        for s in &v.samples {
            let k = used
                .iter()
                .position(|d| *d == s.duration_ms)
                .unwrap_or_else(|| {
                    panic!(
                        "sample {} ms was never served (or used twice)",
                        s.duration_ms
                    )
                });
            used.swap_remove(k);
        }
    }
}

#[tokio::test]
async fn both_log_formats_give_the_same_run() {
    let text = app3(|t| t);
    let json = app3(|t| t.replace("log_format = \"text\"", "log_format = \"json\""));
    let (a, b) = (text.sim_cloud(None), json.sim_cloud(None));
    let (ga, gb) = (scratch("fmt-a"), scratch("fmt-b"));
    let (da, db) = (ga.path(), gb.path());
    let ra = run(&a, &text, &mut options(da, None), never())
        .await
        .unwrap();
    let rb = run(&b, &json, &mut options(db, None), never())
        .await
        .unwrap();
    let sum = |r: &RunOutput| -> Vec<(u64, Option<u32>)> {
        r.outcomes
            .iter()
            .map(|o| (o.result.invocations, o.result.best_memory_mb))
            .collect()
    };
    assert_eq!(sum(&ra), sum(&rb));
}

#[tokio::test]
async fn heavy_throttling_transient_errors_and_failures_are_survived() {
    let plan = app3(|t| {
        t.replace(
            "throttle_rate = 0.02",
            "throttle_rate = 0.3\ntransient_rate = 0.1",
        )
        .replace("failure_rate = 0.01", "failure_rate = 0.15")
        .replace("max_invocations = 1500", "max_invocations = 4000")
        .replace("max_cost_usd = 2.0", "max_cost_usd = 10.0")
    });
    let sim = plan.sim_cloud(Some(3));
    let before = originals(&plan, &sim);
    let dir_guard = scratch("chaos");
    let dir = dir_guard.path();
    let mut opts = options(dir, None);
    opts.retry.attempts = 12;
    let out = run(&sim, &plan, &mut opts, never()).await.unwrap();
    assert_restored(&sim, &before);
    assert!(
        out.retries.0 > 50 && out.retries.1 > 10,
        "{:?}",
        out.retries
    );
    let checkpoint = Checkpoint::load(&dir.join("run.checkpoint.json")).unwrap();
    let failed: usize = checkpoint
        .batches
        .iter()
        .flat_map(|b| &b.batch.invocations)
        .filter(|i| i.status == Status::Error)
        .count();
    assert!(failed > 20, "{failed}");
    // Failures are never samples: each memory has its warm samples besides its failures.
    for o in &out.outcomes {
        for m in &o.result.memories {
            if m.failures.iter().all(|f| f.status == Status::Error) {
                assert!(m.warm().len() >= 3, "{m:?}");
            }
        }
    }
    build_bundle(&plan, &out, "test".into(), None).unwrap();
}

#[tokio::test]
async fn a_crash_mid_run_then_resume_loses_and_repeats_nothing() {
    let plan = app3(|t| t);
    let dir_guard = scratch("crash");
    let dir = dir_guard.path();
    // Run 1 crashes after 150 invocations.
    let (mut settings, functions) = plan.sim_parts(None);
    settings.crash_after_invocations = Some(150);
    let sim1 = SimCloud::new(settings, functions);
    let before = originals(&plan, &sim1);
    let err = run(&sim1, &plan, &mut options(dir, None), never())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("simulated crash"), "{err:#}");
    assert!(err.chain().any(|e| e.is::<CloudFailure>()));
    assert_restored(&sim1, &before);
    let first = Checkpoint::load(&dir.join("run.checkpoint.json")).unwrap();
    assert!(!first.batches.is_empty());
    assert_eq!(
        first.originals, before,
        "the originals are saved before anything changes"
    );
    // A checkpoint only resumes its own plan.
    let other = app3(|t| t.replace("samples = 3", "samples = 4"));
    let e = run(
        &other.sim_cloud(None),
        &other,
        &mut options(scratch("crash-other").path(), Some(first.clone())),
        never(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("belongs to another plan"), "{e}");
    // Run 2: another day (seed), the same plan, resumed.
    let sim2 = plan.sim_cloud(Some(99));
    let out = run(
        &sim2,
        &plan,
        &mut options(dir, Some(first.clone())),
        never(),
    )
    .await
    .unwrap();
    assert_restored(&sim2, &before);
    assert_eq!(out.replayed_batches, first.batches.len());
    let last = Checkpoint::load(&dir.join("run.checkpoint.json")).unwrap();
    assert_eq!(
        &last.batches[..first.batches.len()],
        &first.batches[..],
        "nothing recorded is lost or changed"
    );
    // No finished batch was measured again: run 2 asked only for what run 1 had not finished.
    let served2 = sim2
        .events()
        .iter()
        .filter(|e| matches!(e, SimEvent::Invoke { .. }))
        .count() as u64;
    let new_invocations: u64 = last.batches[first.batches.len()..]
        .iter()
        .map(|b| b.batch.invocations.len() as u64 + u64::from(b.batch.warmup.is_some()))
        .sum();
    assert_eq!(
        served2, new_invocations,
        "run 2 served exactly the new batches"
    );
    // Every sample of the bundle is one recorded invocation, each used once.
    let bundle = build_bundle(&plan, &out, "test".into(), None).unwrap();
    for (k, t) in plan.targets.iter().enumerate() {
        let batches: Vec<&BatchRecord> = last
            .batches
            .iter()
            .filter(|b| b.function == t.function_id && b.variant == t.variant_name)
            .collect();
        let mut expected: Vec<f64> = Vec::new();
        for (i, b) in batches.iter().enumerate() {
            // A later fresh re-measurement at the same memory supersedes this batch.
            let superseded = batches[i + 1..]
                .iter()
                .any(|l| l.request.fresh && l.request.memory_mb == b.request.memory_mb);
            if !superseded {
                expected.extend(ok_durations(&b.batch));
            }
        }
        let v = &bundle.functions[t.function].variants[t.variant];
        let mut got: Vec<f64> = v.samples.iter().map(|s| s.duration_ms).collect();
        expected.sort_by(f64::total_cmp);
        got.sort_by(f64::total_cmp);
        assert_eq!(
            got, expected,
            "target {k}: {}/{}",
            t.function_id, t.variant_name
        );
    }
}

#[tokio::test]
async fn ctrl_c_restores_every_function_and_keeps_the_checkpoint() {
    let plan = app3(|t| t);
    let sim = plan.sim_cloud(None);
    let before = originals(&plan, &sim);
    let dir_guard = scratch("ctrlc");
    let dir = dir_guard.path();
    let interrupt = async {
        while sim.invocations() < 60 {
            tokio::task::yield_now().await;
        }
    };
    let err = run(&sim, &plan, &mut options(dir, None), interrupt)
        .await
        .unwrap_err();
    assert!(err.chain().any(|e| e.is::<Interrupted>()), "{err:#}");
    assert!(err.to_string().contains("--resume"), "{err}");
    assert_restored(&sim, &before);
    let c = Checkpoint::load(&dir.join("run.checkpoint.json")).unwrap();
    assert!(!c.batches.is_empty());
    // The restoration happened after the interruption: the last update puts a function back.
    let last_update = sim.events().into_iter().rev().find_map(|e| match e {
        SimEvent::Update {
            function,
            memory_mb,
            env,
        } => Some((function, memory_mb, env)),
        _ => None,
    });
    let (function, memory_mb, env) = last_update.unwrap();
    assert_eq!(
        (memory_mb, &env),
        (before[&function].memory_mb, &before[&function].env)
    );
}

#[tokio::test]
async fn a_function_that_always_fails_stops_the_run_and_is_restored() {
    let plan = app3(|t| t.replace("failure_rate = 0.01", "failure_rate = 1.0"));
    let sim = plan.sim_cloud(None);
    let before = originals(&plan, &sim);
    let err = run(
        &sim,
        &plan,
        &mut options(scratch("fail").path(), None),
        never(),
    )
    .await
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("f1/default")
            && msg.contains("failed invocations")
            && msg.contains("injected failure"),
        "{msg}"
    );
    assert_restored(&sim, &before);
}

/// The budget is a hard limit: whatever `samples` and `concurrency` ask for, no more invocations
/// reach the cloud than `max_invocations`, and what they are billed stays within `max_cost_usd`
/// (every invocation is in the checkpoint, so the cloud's count and the recorded cost agree).
#[tokio::test]
async fn the_budget_is_never_passed() {
    for (samples, concurrency, budget) in [
        (3, 1, "max_invocations = 100"),
        (50, 4, "max_invocations = 100"),
        (1000, 64, "max_invocations = 100"),
        (1000, 64, "max_cost_usd = 0.01"),
        (7, 2, "max_cost_usd = 0.002"),
    ] {
        let plan = app3(|t| {
            let t = t
                .lines()
                .filter(|l| !l.starts_with("max_invocations") && !l.starts_with("max_cost_usd"))
                .collect::<Vec<_>>()
                .join("\n");
            t.replacen("samples = 3", &format!("samples = {samples}\n{budget}"), 1)
                .replacen(
                    "concurrency = 2",
                    &format!("concurrency = {concurrency}"),
                    1,
                )
        });
        assert_eq!(plan.plan.samples, samples, "the plan took the edit");
        let sim = plan.sim_cloud(None);
        let dir_guard = scratch("budget");
        let mut opts = options(dir_guard.path(), None);
        // The run may end in an error (a later function has no warm sample left): what matters
        // is what reached the cloud.
        let _ = run(&sim, &plan, &mut opts, never()).await;
        let invoked = sim
            .events()
            .iter()
            .filter(|e| matches!(e, SimEvent::Invoke { .. }))
            .count() as u64;
        let checkpoint = Checkpoint::load(&opts.checkpoint_path).unwrap();
        let recorded: u64 = checkpoint
            .batches
            .iter()
            .map(|b| u64::from(b.batch.warmup.is_some()) + b.batch.invocations.len() as u64)
            .sum();
        assert_eq!(invoked, recorded, "{samples}/{concurrency}/{budget}");
        let cost: f64 = checkpoint
            .batches
            .iter()
            .map(|b| batch_cost(&plan.pricing, b.request.memory_mb, &b.batch))
            .sum();
        if let Some(cap) = plan.plan.max_invocations {
            assert!(invoked <= cap, "{samples}/{concurrency}: {invoked} > {cap}");
            assert!(invoked >= cap / 2, "the budget was used: {invoked}");
        }
        if let Some(cap) = plan.plan.max_cost_usd {
            assert!(cost <= cap, "{samples}/{concurrency}: ${cost} > ${cap}");
            assert!(invoked > 0);
        }
    }
}

/// The dry run's estimate against the run it estimates, on the example plan (9 targets: steep,
/// ML variants with memory floors and OOM regions, payload-selected variants, throttling and
/// failures): invocations and cost within 25%.
#[tokio::test]
async fn the_dry_run_estimate_matches_the_run_of_the_example_plan() {
    let plan = app3(|t| t);
    let estimate = estimate_plan(&plan, true, &|t| {
        plan.plan.functions[t.function]
            .simulate_timeout_s
            .unwrap_or(30)
    });
    for seed in [7, 8] {
        let sim = plan.sim_cloud(Some(seed));
        let out = run(
            &sim,
            &plan,
            &mut options(scratch("estimate").path(), None),
            never(),
        )
        .await
        .unwrap();
        let invocations: u64 = out.outcomes.iter().map(|o| o.result.invocations).sum();
        let cost: f64 = out.outcomes.iter().map(|o| o.result.cost_usd).sum();
        let (a, b) = (
            estimate.invocations / invocations as f64,
            estimate.cost_usd / cost,
        );
        println!(
            "seed {seed}: estimate {:.0} invocations ${:.4}, run {invocations} ${cost:.4} (×{a:.2}, ×{b:.2})",
            estimate.invocations, estimate.cost_usd
        );
        assert!((0.75..=1.25).contains(&a), "invocations ×{a}");
        assert!((0.75..=1.25).contains(&b), "cost ×{b}");
    }
}
