//! `optiserve profile`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use optiserve_core::model::ModelFamily;
use optiserve_core::sampling::{SamplerSettings, Status};
use serde::Serialize;

use crate::cli::{Format, ProfileArgs};
use crate::cloud::aws::{AwsLambda, AwsOptions};
use crate::cloud::{Lambda, RetryPolicy, RetryStats, retry};
use crate::plan::{LoadedPlan, Target};
use crate::profile::{
    Checkpoint, CloudFailure, ProgressMode, Reporter, RunOptions, RunOutput, build_bundle_with,
    describe_stop, estimate_plan,
};

pub fn run(args: &ProfileArgs) -> anyhow::Result<ExitCode> {
    let mut plan = crate::plan::load(&args.plan, args.workflow_from.as_deref(), args.simulate)?;
    if let Some(model) = args.model {
        plan.plan.sampler.model = Some(model);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        if args.simulate {
            let cloud = plan.sim_cloud(args.seed);
            let seed = args
                .seed
                .or(plan.plan.simulate.as_ref().map(|s| s.seed))
                .unwrap_or(1);
            let source = format!("optiserve profile, simulated cloud (seed {seed})");
            go(
                &cloud,
                &plan,
                args,
                source,
                plan.plan.region.clone(),
                RetryPolicy::instant(),
                crate::profile::read_definitions(
                    &plan.sim_state_machines(),
                    &plan,
                    &RetryPolicy::instant(),
                )
                .await?,
            )
            .await
        } else {
            let options = AwsOptions {
                region: args
                    .cloud
                    .region
                    .clone()
                    .or_else(|| plan.plan.region.clone()),
                profile: args.cloud.profile.clone(),
                endpoint_url: args.cloud.endpoint_url.clone(),
            };
            let cloud = AwsLambda::connect(&options).await;
            let region = cloud.region().map(str::to_string);
            // A plan without a region is priced for the region the run resolved.
            if plan.plan.region.is_none()
                && let Some(r) = region.as_deref().or(args.cloud.region.as_deref())
            {
                plan.set_region(r)?;
            }
            let source = match &options.endpoint_url {
                Some(u) => format!("optiserve profile, AWS Lambda API at {u}"),
                None => "optiserve profile, AWS Lambda".to_string(),
            };
            let definitions = if plan.plan.functions.iter().any(|f| f.state_machine.is_some()) {
                let sfn = crate::cloud::aws::AwsStepFunctions::connect(&options).await;
                crate::profile::read_definitions(&sfn, &plan, &RetryPolicy::aws()).await?
            } else {
                BTreeMap::new()
            };
            go(&cloud, &plan, args, source, region, RetryPolicy::aws(), definitions)
                .await
                .map_err(|e| {
                    if format!("{e:#}").contains("no AWS credentials") {
                        e.context("profiling on AWS needs credentials; without an account, run on the simulated cloud with --simulate")
                    } else {
                        e
                    }
                })
        }
    })
}

async fn go<C: Lambda>(
    cloud: &C,
    plan: &LoadedPlan,
    args: &ProfileArgs,
    source: String,
    region: Option<String>,
    policy: RetryPolicy,
    definitions: BTreeMap<String, String>,
) -> anyhow::Result<ExitCode> {
    if args.dry_run {
        let text = dry_run(cloud, plan, args, &policy).await?;
        crate::output::emit(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let output = args.output.clone().context("--output is required")?;
    let checkpoint_path = args
        .checkpoint
        .clone()
        .or_else(|| args.resume.clone())
        .unwrap_or_else(|| default_checkpoint(&output));
    check_paths(plan, args, &output, &checkpoint_path)?;
    if args.resume.is_none() && !args.discard_checkpoint && checkpoint_path.exists() {
        anyhow::bail!(
            "{} holds the checkpoint of an earlier run, which may be the only record of the functions' original configurations: continue it with --resume {0}, put the originals back with `optiserve restore {0}`, or replace it with --discard-checkpoint",
            checkpoint_path.display()
        );
    }
    let resume = args.resume.as_deref().map(Checkpoint::load).transpose()?;
    let mode = match args.format {
        Format::Json => ProgressMode::Json,
        Format::Human if std::io::stderr().is_terminal() => ProgressMode::Human,
        Format::Human => ProgressMode::Quiet,
    };
    // The progress bar's total: the rehearsed number of invocations (the timeout only bills).
    let estimate = estimate_plan(plan, args.simulate, &|_| 3)
        .invocations
        .round() as u64;
    let mut opts = RunOptions {
        checkpoint_path: checkpoint_path.clone(),
        resume,
        retry: policy,
        reporter: Reporter::new(mode, estimate),
    };
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let out = crate::profile::run(cloud, plan, &mut opts, ctrl_c).await?;
    let bundle = build_bundle_with(plan, &out, source, region, &definitions)?;
    crate::input::write_text(&output, &bundle.to_json())?;
    // The run is complete: the checkpoint has served its purpose.
    let _ = std::fs::remove_file(&checkpoint_path);
    let report = Report::new(plan, &out, &output);
    let text = match args.format {
        Format::Json => super::to_json(&report)?,
        Format::Human => human(&report)?,
    };
    crate::output::emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The files a run writes (the bundle, the checkpoint) must differ from each other and from every
/// file it reads (the plan, the workflow bundle, the payload files, a checkpoint resumed from
/// somewhere else): a collision would overwrite an input or lose the originals.
fn check_paths(
    plan: &LoadedPlan,
    args: &ProfileArgs,
    output: &Path,
    checkpoint: &Path,
) -> anyhow::Result<()> {
    let base = plan.path.parent().unwrap_or(Path::new("."));
    let mut inputs: Vec<(String, PathBuf)> = vec![("the plan".into(), plan.path.clone())];
    if let Some(w) = &args.workflow_from {
        inputs.push(("--workflow-from".into(), w.clone()));
    }
    if let Some(w) = &plan.plan.workflow_from {
        inputs.push(("the plan's workflow_from".into(), base.join(w)));
    }
    for f in &plan.plan.functions {
        if let Some(p) = &f.payload_file {
            inputs.push((format!("the payload file of {}", f.id), base.join(p)));
        }
        for (k, p) in f.payloads.iter().enumerate() {
            if let Some(file) = &p.payload_file {
                inputs.push((
                    format!("the payload file of {} payloads[{k}]", f.id),
                    base.join(file),
                ));
            }
        }
    }
    if let Some(r) = &args.resume
        && !same_file(r, checkpoint)
    {
        inputs.push(("--resume".into(), r.clone()));
    }
    if output != Path::new("-") && same_file(output, checkpoint) {
        anyhow::bail!(
            "--output and the checkpoint are the same file ({}): the bundle would overwrite the checkpoint and its record of the original configurations; give --checkpoint another path",
            output.display()
        );
    }
    for (what, input) in &inputs {
        for (name, written) in [("--output", output), ("the checkpoint", checkpoint)] {
            if written != Path::new("-") && same_file(written, input) {
                anyhow::bail!(
                    "{name} ({}) is {what}: it would be overwritten; write to another path",
                    written.display()
                );
            }
        }
    }
    Ok(())
}

/// Do two paths name the same file (existing or not)?
fn same_file(a: &Path, b: &Path) -> bool {
    fn normal(p: &Path) -> PathBuf {
        if let Ok(c) = p.canonicalize() {
            return c;
        }
        let parent = p
            .parent()
            .filter(|x| !x.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match (parent.canonicalize(), p.file_name()) {
            (Ok(dir), Some(name)) => dir.join(name),
            _ => p.to_path_buf(),
        }
    }
    normal(a) == normal(b)
}

fn default_checkpoint(output: &Path) -> PathBuf {
    if output == Path::new("-") {
        PathBuf::from("optiserve-profile.checkpoint.json")
    } else {
        let mut s = output.as_os_str().to_owned();
        s.push(".checkpoint.json");
        PathBuf::from(s)
    }
}

#[derive(Debug, Serialize)]
struct TargetReport {
    function: String,
    variant: String,
    memories_mb: Vec<u32>,
    invocations: u64,
    cost_usd: f64,
    samples: usize,
    cold_samples: usize,
    failures: Vec<FailureReport>,
    /// The model family selected for the variant (`exponential`, `cpu_share`, `table`).
    model: Option<ModelFamily>,
    fit_mape_percent: Option<f64>,
    /// The selected model's leave-one-memory-out error, with 4 memories or more.
    fit_cv_error_percent: Option<f64>,
    /// Every family fitted to the variant's samples, with its errors.
    families: Vec<FamilyReport>,
    best_memory_mb: Option<u32>,
    floor_mb: u32,
    stop: String,
}

#[derive(Debug, Serialize)]
struct FamilyReport {
    family: ModelFamily,
    mape_percent: f64,
    cv_error_percent: Option<f64>,
    chosen: bool,
}

#[derive(Debug, Serialize)]
struct FailureReport {
    memory_mb: u32,
    status: Status,
    message: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    output: String,
    invocations: u64,
    cost_usd: f64,
    throttled_retries: u64,
    transient_retries: u64,
    replayed_batches: usize,
    restored: Vec<String>,
    targets: Vec<TargetReport>,
}

impl Report {
    fn new(plan: &LoadedPlan, out: &RunOutput, output: &Path) -> Report {
        let targets: Vec<TargetReport> = out
            .outcomes
            .iter()
            .map(|o| {
                let t = &plan.targets[o.target];
                let r = &o.result;
                TargetReport {
                    function: t.function_id.clone(),
                    variant: t.variant_name.clone(),
                    memories_mb: r.memories.iter().map(|m| m.memory_mb).collect(),
                    invocations: r.invocations,
                    cost_usd: r.cost_usd,
                    samples: r
                        .memories
                        .iter()
                        .map(|m| m.samples.iter().filter(|s| !s.superseded).count())
                        .sum(),
                    cold_samples: r
                        .memories
                        .iter()
                        .map(|m| m.samples.iter().filter(|s| s.cold && !s.superseded).count())
                        .sum(),
                    failures: r
                        .memories
                        .iter()
                        .flat_map(|m| {
                            m.failures.iter().map(|f| FailureReport {
                                memory_mb: m.memory_mb,
                                status: f.status,
                                message: f.message.clone(),
                            })
                        })
                        .collect(),
                    model: r.fit.as_ref().map(|f| f.family),
                    fit_mape_percent: r.fit.as_ref().map(|f| f.mape_percent),
                    fit_cv_error_percent: r.fit.as_ref().and_then(|f| f.cv_error_percent),
                    families: r
                        .fit
                        .iter()
                        .flat_map(|f| &f.candidates)
                        .map(|c| FamilyReport {
                            family: c.family,
                            mape_percent: c.mape_percent,
                            cv_error_percent: c.cv_error_percent,
                            chosen: c.chosen,
                        })
                        .collect(),
                    best_memory_mb: r.best_memory_mb,
                    floor_mb: r.floor_mb,
                    stop: describe_stop(&r.stop),
                }
            })
            .collect();
        Report {
            output: output.display().to_string(),
            invocations: targets.iter().map(|t| t.invocations).sum(),
            cost_usd: targets.iter().map(|t| t.cost_usd).sum(),
            throttled_retries: out.retries.0,
            transient_retries: out.retries.1,
            replayed_batches: out.replayed_batches,
            restored: out.restored.clone(),
            targets,
        }
    }
}

fn human(r: &Report) -> anyhow::Result<String> {
    let mut o = String::new();
    writeln!(
        o,
        "profiled {} (function, variant) pairs: {} invocations, ${:.4}; {} throttled and {} transient failures retried{}",
        r.targets.len(),
        r.invocations,
        r.cost_usd,
        r.throttled_retries,
        r.transient_retries,
        if r.replayed_batches > 0 {
            format!(
                "; {} batches resumed from the checkpoint",
                r.replayed_batches
            )
        } else {
            String::new()
        }
    )?;
    let w = r
        .targets
        .iter()
        .map(|t| t.function.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let v = r
        .targets
        .iter()
        .map(|t| t.variant.len())
        .max()
        .unwrap_or(7)
        .max(7);
    writeln!(
        o,
        "{:<w$}  {:<v$}  {:>8}  {:>5}  {:>8}  {:<11}  {:>8}  {:>8}  stop",
        "function", "variant", "memories", "calls", "failures", "model", "fit MAPE", "best"
    )?;
    for t in &r.targets {
        writeln!(
            o,
            "{:<w$}  {:<v$}  {:>8}  {:>5}  {:>8}  {:<11}  {:>7.2}%  {:>5} MB  {}",
            t.function,
            t.variant,
            t.memories_mb.len(),
            t.invocations,
            t.failures.len(),
            t.model.map_or("-", ModelFamily::name),
            t.fit_mape_percent.unwrap_or(f64::NAN),
            t.best_memory_mb.map_or("-".into(), |m| m.to_string()),
            t.stop
        )?;
    }
    writeln!(o, "wrote {}", r.output)?;
    if !r.restored.is_empty() {
        writeln!(
            o,
            "restored the original configuration of: {}",
            r.restored.join(", ")
        )?;
    }
    Ok(o)
}

#[derive(Debug, Serialize)]
struct DryRunTarget {
    function: String,
    variant: String,
    resource: String,
    candidates: usize,
    memory_range_mb: [u32; 2],
    seeds_mb: Vec<u32>,
    select: BTreeMap<String, String>,
    select_payload: Option<serde_json::Map<String, serde_json::Value>>,
    typical_invocations: u64,
    max_invocations: u64,
    typical_cost_usd: f64,
    max_cost_usd: f64,
    durations_from: String,
}

#[derive(Debug, Serialize)]
struct DryRun {
    targets: Vec<DryRunTarget>,
    typical_invocations: u64,
    max_invocations: u64,
    typical_cost_usd: f64,
    max_cost_usd: f64,
    budget_invocations: Option<u64>,
    budget_usd: Option<f64>,
}

/// The plan without running it: per (function, variant) the memories, the seeds, and an
/// estimate of the invocations and their cost. Durations come from the simulated curves, or,
/// against AWS, the function's timeout (an upper bound; the one read-only call the dry run makes).
async fn dry_run<C: Lambda>(
    cloud: &C,
    plan: &LoadedPlan,
    args: &ProfileArgs,
    policy: &RetryPolicy,
) -> anyhow::Result<String> {
    let settings: SamplerSettings = plan.plan.sampler_settings();
    let stats = RetryStats::default();
    let per_memory = u64::from(settings.samples_per_memory) + u64::from(settings.warmup);
    let per_memory_max = per_memory + u64::from(settings.max_extra_samples);
    let mut targets = Vec::new();
    let mut timeouts: BTreeMap<String, u32> = BTreeMap::new();
    for t in &plan.targets {
        let (duration, from): (Box<dyn Fn(u32) -> f64>, String) = match &t.truth {
            Some(truth) if args.simulate => {
                let truth = truth.clone();
                (
                    Box::new(move |m| truth.duration_ms(m)),
                    "simulated curve".into(),
                )
            }
            _ => {
                let timeout = match timeouts.get(&t.resource) {
                    Some(&s) => s,
                    None => {
                        let c = retry(policy, &stats, "GetFunctionConfiguration", || {
                            cloud.get_configuration(&t.resource)
                        })
                        .await
                        .map_err(CloudFailure)
                        .with_context(|| format!("reading the timeout of {}", t.resource))?;
                        let s = c.timeout_s.unwrap_or(3);
                        timeouts.insert(t.resource.clone(), s);
                        s
                    }
                };
                (
                    Box::new(move |_| f64::from(timeout) * 1000.0),
                    format!("the function's timeout ({timeout} s): an upper bound"),
                )
            }
        };
        let cost = |m: u32| plan.pricing.invocation_cost(f64::from(m), duration(m));
        let seeds = seeds(t);
        let max_cost = t.candidates.iter().map(|&m| cost(m)).fold(0.0, f64::max);
        let max_memories = (settings.max_memories as u64).min(t.candidates.len() as u64);
        targets.push(DryRunTarget {
            function: t.function_id.clone(),
            variant: t.variant_name.clone(),
            resource: t.resource.clone(),
            candidates: t.candidates.len(),
            memory_range_mb: [
                t.candidates.first().copied().unwrap_or(0),
                t.candidates.last().copied().unwrap_or(0),
            ],
            seeds_mb: seeds.clone(),
            select: t.selector.env.clone(),
            select_payload: t.selector.payload.clone(),
            typical_invocations: 0,
            max_invocations: max_memories * per_memory_max,
            typical_cost_usd: 0.0,
            max_cost_usd: max_memories as f64 * per_memory_max as f64 * max_cost,
            durations_from: from,
        });
    }
    // The typical run: the sampler rehearsed against what is known of each function.
    let estimate = estimate_plan(
        plan,
        args.simulate,
        &|t: &Target| match (&t.truth, args.simulate) {
            (Some(_), true) => plan.plan.functions[t.function]
                .simulate_timeout_s
                .unwrap_or(30),
            _ => timeouts.get(&t.resource).copied().unwrap_or(3),
        },
    );
    for (d, e) in targets.iter_mut().zip(&estimate.targets) {
        d.typical_invocations = e.invocations.round() as u64;
        d.typical_cost_usd = e.cost_usd;
    }
    let d = DryRun {
        typical_invocations: estimate.invocations.round() as u64,
        max_invocations: targets.iter().map(|t| t.max_invocations).sum(),
        typical_cost_usd: estimate.cost_usd,
        max_cost_usd: targets.iter().map(|t| t.max_cost_usd).sum(),
        budget_invocations: plan.plan.max_invocations,
        budget_usd: plan.plan.max_cost_usd,
        targets,
    };
    if args.format == Format::Json {
        return super::to_json(&d);
    }
    let mut o = String::new();
    writeln!(
        o,
        "dry run of {}: {} (function, variant) pairs, {} samples per memory + 1 warm-up, concurrency {}; nothing is changed",
        plan.path.display(),
        d.targets.len(),
        settings.samples_per_memory,
        plan.plan.concurrency
    )?;
    let w = d
        .targets
        .iter()
        .map(|t| t.function.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let v = d
        .targets
        .iter()
        .map(|t| t.variant.len())
        .max()
        .unwrap_or(7)
        .max(7);
    writeln!(
        o,
        "{:<w$}  {:<v$}  {:<24}  {:<20}  {:>13}  {:>19}  selected by",
        "function", "variant", "resource", "memory (MB)", "seeds (MB)", "calls typical / max"
    )?;
    for t in &d.targets {
        writeln!(
            o,
            "{:<w$}  {:<v$}  {:<24}  {:<20}  {:>13}  {:>19}  {}",
            t.function,
            t.variant,
            t.resource,
            format!(
                "{}–{} ({} sizes)",
                t.memory_range_mb[0], t.memory_range_mb[1], t.candidates
            ),
            t.seeds_mb
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            format!("{} / {}", t.typical_invocations, t.max_invocations),
            {
                let mut by: Vec<String> =
                    t.select.iter().map(|(k, v)| format!("{k}={v}")).collect();
                by.extend(
                    t.select_payload
                        .iter()
                        .flatten()
                        .map(|(k, v)| format!("payload.{k}={v}")),
                );
                if by.is_empty() {
                    "-".to_string()
                } else {
                    by.join(" ")
                }
            }
        )?;
    }
    writeln!(
        o,
        "invocations  about {} (at most {}){}",
        d.typical_invocations,
        d.max_invocations,
        d.budget_invocations
            .map(|b| format!(", budget {b}"))
            .unwrap_or_default()
    )?;
    let from: Vec<&str> = {
        let mut v: Vec<&str> = d
            .targets
            .iter()
            .map(|t| t.durations_from.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    writeln!(
        o,
        "cost         about ${:.4} (at most ${:.4}){}; durations from {}",
        d.typical_cost_usd,
        d.max_cost_usd,
        d.budget_usd
            .map(|b| format!(", budget ${b}"))
            .unwrap_or_default(),
        from.join(", ")
    )?;
    Ok(o)
}

/// The seed memories of a target (as the sampler will choose them).
fn seeds(t: &Target) -> Vec<u32> {
    let c = &t.candidates;
    let (Some(&lo), Some(&hi)) = (c.first(), c.last()) else {
        return Vec::new();
    };
    let target = f64::from(lo) + f64::from(hi - lo) / 3.0;
    let third = c
        .iter()
        .copied()
        .min_by(|&a, &b| {
            (f64::from(a) - target)
                .abs()
                .total_cmp(&(f64::from(b) - target).abs())
        })
        .unwrap_or(lo);
    let mut v = vec![lo, third, hi];
    v.dedup();
    v
}
