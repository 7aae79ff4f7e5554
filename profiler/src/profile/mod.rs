//! Running a profiling plan against a cloud: the core sampler decides, this module configures,
//! invokes, records, checkpoints and restores.
//!
//! Safety, in order of what can go wrong:
//! - Before anything changes, the original configuration (memory and environment) of every
//!   function is read and written to the checkpoint; a resumed run takes the originals from the
//!   checkpoint (the functions may still carry the interrupted run's settings).
//! - Each function is restored as soon as its variants are done, and every function is checked
//!   and restored again at the end, whether the run succeeded, failed, or was interrupted (Ctrl-C).
//! - After every measured batch the checkpoint is rewritten atomically (write, then rename). A
//!   resumed run replays the recorded batches into fresh samplers (the sampler is deterministic, so
//!   it asks for exactly the recorded requests, and a mismatch is an error), then continues: no
//!   finished measurement is repeated, none is lost. A batch cut short by a crash was never recorded
//!   and is measured again.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use optiserve_core::sampling::{
    Batch, Invocation, Request, Sampler, SamplingResult, Status, Step, StopReason,
};

use crate::cloud::report::classify;
use crate::cloud::{CloudError, FunctionConfig, Lambda, RetryPolicy, RetryStats, configure, retry};
use crate::plan::{LoadedPlan, Target};

mod budget;
mod bundle;
mod checkpoint;
mod estimate;
#[cfg(test)]
mod payload_tests;
mod progress;
mod restore;
#[cfg(test)]
mod suite;
#[cfg(test)]
mod tests;

use budget::{Budget, MAX_INIT_MS, MAX_TIMEOUT_S, batch_cost, invocation_cost};
#[cfg(test)]
pub use bundle::build_bundle;
pub use bundle::build_bundle_with;
pub use checkpoint::{BatchRecord, Checkpoint};
pub use estimate::estimate_plan;
pub use progress::{ProgressMode, Reporter};
pub use restore::restore_all;
use restore::restore_one;

/// The environment variable set (with a new value) to force fresh instances for a re-measurement.
pub const EPOCH_VAR: &str = "OPTISERVE_PROFILE_EPOCH";

/// The environment variable that marks a function as under profiling, set to the run's id with
/// every configuration the run applies (restoring the original removes it): a later run that
/// finds it refuses to take the function's current settings for its originals.
pub const MARKER_VAR: &str = "OPTISERVE_PROFILING";

/// A new run id: the time and the process id, enough to tell runs apart in an error message.
fn new_run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{secs:x}-{:x}", std::process::id())
}

/// The run was interrupted (Ctrl-C); the functions were restored.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: every function was restored; resume with --resume {0}")]
pub struct Interrupted(pub String);

/// A failure from the cloud (not the user's input).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct CloudFailure(#[from] pub CloudError);

/// Settings of a run.
#[derive(Debug)]
pub struct RunOptions {
    /// Where the checkpoint is written.
    pub checkpoint_path: PathBuf,
    /// A checkpoint to resume from.
    pub resume: Option<Checkpoint>,
    /// Retries and polling.
    pub retry: RetryPolicy,
    /// Progress display.
    pub reporter: Reporter,
}

/// What one (function, variant) gave.
#[derive(Debug, Clone)]
pub struct TargetOutcome {
    pub target: usize,
    pub result: SamplingResult,
    /// For a target with several payloads: every measured round (warm-ups excluded), in order,
    /// with its memory; each round holds one invocation per payload.
    pub rounds: Vec<(u32, Vec<Invocation>)>,
}

/// Invocations a recorded batch made and what they were billed: with several payloads, each
/// round counts one invocation per payload.
fn batch_spend(pricing: &optiserve_core::pricing::Pricing, rec: &BatchRecord) -> (u64, f64) {
    let m = rec.request.memory_mb;
    if rec.rounds.is_empty() {
        let n = u64::from(rec.batch.warmup.is_some()) + rec.batch.invocations.len() as u64;
        return (n, batch_cost(pricing, m, &rec.batch));
    }
    let raw = rec.batch.warmup.iter().chain(rec.rounds.iter().flatten());
    raw.fold((0, 0.0), |(n, c), i| {
        (n + 1, c + invocation_cost(pricing, m, i))
    })
}

/// What a run gave.
#[derive(Debug)]
pub struct RunOutput {
    pub outcomes: Vec<TargetOutcome>,
    pub originals: BTreeMap<String, FunctionConfig>,
    /// Throttled calls retried, transient failures retried.
    pub retries: (u64, u64),
    /// Functions whose configuration was put back at the end.
    pub restored: Vec<String>,
    /// Batches replayed from the checkpoint.
    pub replayed_batches: usize,
}

struct State {
    checkpoint: Checkpoint,
    budget: Budget,
    outcomes: Vec<TargetOutcome>,
    replayed: usize,
    /// What each function is known to be configured as now (memory, environment).
    applied: BTreeMap<String, (u32, BTreeMap<String, String>)>,
    epoch: u64,
    /// Functions put back during the run.
    restored: Vec<String>,
}

/// Runs the plan. `interrupt` completing stops the run (the functions are restored and the
/// checkpoint kept); the command passes Ctrl-C.
pub async fn run<C: Lambda>(
    cloud: &C,
    plan: &LoadedPlan,
    opts: &mut RunOptions,
    interrupt: impl Future<Output = ()>,
) -> anyhow::Result<RunOutput> {
    let stats = RetryStats::default();
    let checkpoint = match opts.resume.take() {
        Some(c) => {
            if c.plan_digest != plan.digest {
                bail!(
                    "the checkpoint belongs to another plan (digest {}; {} has {}): resume with the plan it was made for",
                    c.plan_digest,
                    plan.path.display(),
                    plan.digest
                );
            }
            c
        }
        None => Checkpoint {
            version: 1,
            plan_digest: plan.digest.clone(),
            run_id: new_run_id(),
            originals: BTreeMap::new(),
            batches: Vec::new(),
        },
    };
    let mut checkpoint = checkpoint;
    if checkpoint.run_id.is_empty() {
        checkpoint.run_id = new_run_id();
    }
    let mut state = State {
        checkpoint,
        budget: Budget {
            max_invocations: plan.plan.max_invocations,
            max_cost_usd: plan.plan.max_cost_usd,
            ..Budget::default()
        },
        outcomes: Vec::new(),
        replayed: 0,
        applied: BTreeMap::new(),
        epoch: 0,
        restored: Vec::new(),
    };
    // The originals, before anything changes.
    for t in &plan.targets {
        if state.checkpoint.originals.contains_key(&t.resource) {
            continue;
        }
        let config = retry(&opts.retry, &stats, "GetFunctionConfiguration", || {
            cloud.get_configuration(&t.resource)
        })
        .await
        .map_err(CloudFailure)
        .with_context(|| {
            format!(
                "reading the configuration of {} ({})",
                t.function_id, t.resource
            )
        })?;
        // A function another run left in a profiling configuration: its current settings are not
        // its originals, and only that run's checkpoint holds them.
        if let Some(run) = config.env.get(MARKER_VAR) {
            bail!(
                "{} ({}) is still in the profiling configuration of run {run}, which did not finish: put its original configuration back with `optiserve restore <that run's checkpoint>` (by default the output path + .checkpoint.json), or continue that run with --resume",
                t.function_id,
                t.resource
            );
        }
        state
            .checkpoint
            .originals
            .insert(t.resource.clone(), config);
    }
    state.checkpoint.save(&opts.checkpoint_path)?;

    let outcome = {
        let work = profile_targets(cloud, plan, &mut state, opts, &stats);
        tokio::select! {
            r = work => r,
            () = interrupt => Err(anyhow!(Interrupted(opts.checkpoint_path.display().to_string()))),
        }
    };
    let restore = restore_all(cloud, &state.checkpoint.originals, &opts.retry, &stats).await;
    opts.reporter.finish();
    let at_end = match (&outcome, restore) {
        (_, Ok(r)) => r,
        (Ok(()), Err(e)) => return Err(e),
        (Err(_), Err(e)) => {
            eprintln!("error: {e:#}");
            Vec::new()
        }
    };
    for r in &at_end {
        opts.reporter
            .note(&format!("restored the original configuration of {r}"));
    }
    let mut restored = std::mem::take(&mut state.restored);
    for r in at_end {
        if !restored.contains(&r) {
            restored.push(r);
        }
    }
    outcome?;
    use std::sync::atomic::Ordering::Relaxed;
    Ok(RunOutput {
        outcomes: state.outcomes,
        originals: state.checkpoint.originals,
        retries: (stats.throttled.load(Relaxed), stats.transient.load(Relaxed)),
        restored,
        replayed_batches: state.replayed,
    })
}

async fn profile_targets<C: Lambda>(
    cloud: &C,
    plan: &LoadedPlan,
    state: &mut State,
    opts: &RunOptions,
    stats: &RetryStats,
) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let (mut spent_invocations, mut spent_cost) = (0u64, 0.0f64);
    for (k, t) in plan.targets.iter().enumerate() {
        let mut settings = plan.plan.sampler_settings();
        // With several payloads each of the sampler's invocations is a round of one per payload.
        let per_round = t.payloads.len().max(1) as u64;
        settings.max_invocations = plan
            .plan
            .max_invocations
            .map(|c| c.saturating_sub(spent_invocations) / per_round);
        settings.max_cost_usd = plan.plan.max_cost_usd.map(|c| (c - spent_cost).max(1e-12));
        let mut sampler = Sampler::new(t.candidates.clone(), plan.pricing.clone(), settings)
            .with_context(|| format!("{}/{}", t.function_id, t.variant_name))?;
        // Replay what the checkpoint holds for this target.
        let recorded: Vec<BatchRecord> = state
            .checkpoint
            .batches
            .iter()
            .filter(|b| b.function == t.function_id && b.variant == t.variant_name)
            .cloned()
            .collect();
        let mut rounds: Vec<(u32, Vec<Invocation>)> = Vec::new();
        let (mut target_calls, mut target_cost) = (0u64, 0.0f64);
        for rec in &recorded {
            let (n, cost) = batch_spend(&plan.pricing, rec);
            state.budget.started += n;
            state.budget.spend(cost);
            (target_calls, target_cost) = (target_calls + n, target_cost + cost);
            rounds.extend(
                rec.rounds
                    .iter()
                    .map(|r| (rec.request.memory_mb, r.clone())),
            );
            match sampler.next_step() {
                Step::Measure(r) if r == rec.request => match &rec.cut {
                    Some(stop) => {
                        state.budget.exhausted = Some(stop.clone());
                        sampler.record_cut(&rec.batch, stop.clone())?;
                    }
                    None => sampler.record(&rec.batch)?,
                },
                other => bail!(
                    "the checkpoint does not match the plan at {}/{}: it recorded {:?}, the sampler asks for {other:?}",
                    t.function_id,
                    t.variant_name,
                    rec.request
                ),
            }
            state.replayed += 1;
        }
        let original = state
            .checkpoint
            .originals
            .get(&t.resource)
            .cloned()
            .ok_or_else(|| anyhow!("no original configuration recorded for {}", t.resource))?;
        loop {
            let request = match sampler.next_step() {
                Step::Done(_) => break,
                Step::Measure(r) => r,
            };
            let (batch, batch_rounds) =
                measure(cloud, plan, t, request, &original, state, opts, stats)
                    .await
                    .map_err(CloudFailure)
                    .with_context(|| {
                        format!(
                            "profiling {}/{} at {} MB",
                            t.function_id, t.variant_name, request.memory_mb
                        )
                    })?;
            let cut = state.budget.exhausted.clone();
            match &cut {
                Some(stop) => sampler.record_cut(&batch, stop.clone())?,
                None => sampler.record(&batch)?,
            }
            let rec = BatchRecord {
                function: t.function_id.clone(),
                variant: t.variant_name.clone(),
                request,
                batch: batch.clone(),
                cut: cut.clone(),
                rounds: batch_rounds,
            };
            let (n, cost) = batch_spend(&plan.pricing, &rec);
            (target_calls, target_cost) = (target_calls + n, target_cost + cost);
            rounds.extend(rec.rounds.iter().map(|r| (request.memory_mb, r.clone())));
            state.checkpoint.batches.push(rec);
            state.checkpoint.save(&opts.checkpoint_path)?;
            opts.reporter.batch(
                t,
                &request,
                &batch,
                spent_invocations + target_calls,
                spent_cost + target_cost,
                (stats.throttled.load(Relaxed), stats.transient.load(Relaxed)),
            );
            if cut.is_some() {
                break;
            }
        }
        let mut result = sampler.result();
        if let Some(limit) = &state.budget.exhausted {
            result.stop = limit.clone();
        }
        if t.weighted() {
            // The sampler counted rounds; the run made one invocation per payload in each.
            (result.invocations, result.cost_usd) = (target_calls, target_cost);
        }
        spent_invocations += result.invocations;
        spent_cost += result.cost_usd;
        if result.stop.is_error() {
            bail!(
                "{}/{}: {}",
                t.function_id,
                t.variant_name,
                describe_stop(&result.stop)
            );
        }
        if result.fit.is_none() {
            bail!(
                "{}/{}: no warm sample ({}): raise max_invocations or max_cost_usd",
                t.function_id,
                t.variant_name,
                describe_stop(&result.stop)
            );
        }
        state.outcomes.push(TargetOutcome {
            target: k,
            result,
            rounds,
        });
        // The function's last variant: put it back now.
        let last_of_function = plan
            .targets
            .get(k + 1)
            .is_none_or(|n| n.function != t.function);
        if last_of_function && state.applied.contains_key(&t.resource) {
            let restored = restore_one(cloud, &original, &opts.retry, stats)
                .await
                .map_err(CloudFailure)?;
            state.applied.remove(&t.resource);
            if restored {
                state.restored.push(t.resource.clone());
                opts.reporter.note(&format!(
                    "{}: profiled; original configuration restored",
                    t.function_id
                ));
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn measure<C: Lambda>(
    cloud: &C,
    plan: &LoadedPlan,
    t: &Target,
    r: Request,
    original: &FunctionConfig,
    state: &mut State,
    opts: &RunOptions,
    stats: &RetryStats,
) -> Result<(Batch, Vec<Vec<Invocation>>), CloudError> {
    let mut env = original.env.clone();
    env.extend(t.selector.env.clone());
    env.insert(MARKER_VAR.to_string(), state.checkpoint.run_id.clone());
    if r.fresh {
        state.epoch += 1;
        env.insert(EPOCH_VAR.to_string(), state.epoch.to_string());
    }
    let wanted = (r.memory_mb, env.clone());
    if r.fresh || state.applied.get(&t.resource) != Some(&wanted) {
        configure(cloud, &opts.retry, stats, &t.resource, r.memory_mb, &env).await?;
        state.applied.insert(t.resource.clone(), wanted);
    }
    let invoke = |p: usize| async move {
        let out = retry(&opts.retry, stats, "Invoke", || {
            cloud.invoke(&t.resource, &t.payloads[p].body)
        })
        .await?;
        tokio::task::yield_now().await;
        let inv = classify(
            out.function_error.as_deref(),
            out.log_tail.as_deref(),
            &out.payload,
        );
        Ok::<Invocation, CloudError>(check_memory(inv, r.memory_mb, out.log_tail.as_deref()))
    };
    // The worst case of one invocation here: billed up to the timeout, INIT included.
    let timeout_ms = f64::from(original.timeout_s.unwrap_or(MAX_TIMEOUT_S)) * 1000.0;
    let worst = plan
        .pricing
        .invocation_cost(f64::from(r.memory_mb), timeout_ms + MAX_INIT_MS);
    let warmup = match r.warmup && state.budget.allow(1, worst) == 1 {
        true => {
            let w = invoke(0).await?;
            state
                .budget
                .spend(invocation_cost(&plan.pricing, r.memory_mb, &w));
            Some(w)
        }
        false => None,
    };
    if r.warmup && warmup.is_none() {
        return Ok((
            Batch {
                warmup: None,
                invocations: Vec::new(),
            },
            Vec::new(),
        ));
    }
    // A warm-up that timed out or ran out of memory says enough about this memory.
    let killed = warmup.as_ref().is_some_and(|w| {
        matches!(
            w.effective_status(r.memory_mb),
            Status::Timeout | Status::OutOfMemory
        )
    });
    let count = if killed { 0 } else { r.count };
    // Nothing else is in flight between batches: the whole batch is reserved at once. With
    // several payloads the sampler's invocations are rounds of one per payload: only whole rounds
    // are made, and what the budget reserved for a partial one is given back.
    let k = t.payloads.len().max(1) as u32;
    let calls = state.budget.allow(count.saturating_mul(k), worst);
    let count = calls / k;
    state.budget.started -= u64::from(calls - count * k);
    let concurrency = plan.plan.concurrency as usize;
    let raw: Vec<Invocation> = stream::iter(0..count * k)
        .map(|i| invoke((i % k) as usize))
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    for inv in &raw {
        state
            .budget
            .spend(invocation_cost(&plan.pricing, r.memory_mb, inv));
    }
    if !t.weighted() {
        let batch = Batch {
            warmup,
            invocations: raw,
        };
        return Ok((batch, Vec::new()));
    }
    let weights = t.weights();
    let rounds: Vec<Vec<Invocation>> = raw.chunks(k as usize).map(<[_]>::to_vec).collect();
    let invocations = rounds
        .iter()
        .map(|round| optiserve_core::payloads::mix(round, &weights, r.memory_mb))
        .collect();
    Ok((
        Batch {
            warmup,
            invocations,
        },
        rounds,
    ))
}

/// The definitions of the state machines the plan's functions name (`state_machine`), read before
/// anything runs; each named Task state must pass an object payload.
pub async fn read_definitions<D: crate::cloud::Definitions>(
    defs: &D,
    plan: &LoadedPlan,
    policy: &RetryPolicy,
) -> anyhow::Result<BTreeMap<String, String>> {
    let stats = RetryStats::default();
    let mut out = BTreeMap::new();
    for f in &plan.plan.functions {
        let Some(site) = &f.state_machine else {
            continue;
        };
        if !out.contains_key(&site.arn) {
            let d = retry(policy, &stats, "DescribeStateMachine", || {
                defs.definition(&site.arn)
            })
            .await
            .map_err(CloudFailure)
            .with_context(|| format!("reading the state machine of {} ({})", f.id, site.arn))?;
            out.insert(site.arn.clone(), d);
        }
        for st in &site.states {
            optiserve_core::payload_site::task_payload(&out[&site.arn], st)
                .with_context(|| format!("{}.state_machine ({})", f.id, site.arn))?;
        }
    }
    Ok(out)
}

/// A report whose Memory Size is not the configured memory is not a sample at that memory.
fn check_memory(inv: Invocation, memory_mb: u32, log: Option<&str>) -> Invocation {
    let reported = log
        .and_then(|l| crate::cloud::report::parse_report(l).ok())
        .and_then(|r| r.memory_size_mb);
    match reported {
        Some(m) if (m - f64::from(memory_mb)).abs() > 0.5 => Invocation::failed(
            Status::Error,
            format!("the report says Memory Size {m} MB, but {memory_mb} MB is configured"),
        ),
        _ => inv,
    }
}

/// One line about why a search stopped.
pub fn describe_stop(stop: &StopReason) -> String {
    match stop {
        StopReason::Converged { memory_mb } => format!("converged at {memory_mb} MB"),
        StopReason::Settled { memory_mb } => format!("settled at {memory_mb} MB"),
        StopReason::MemoryCap => "memory cap reached".into(),
        StopReason::InvocationCap => "invocation budget spent".into(),
        StopReason::CostCap => "cost budget spent".into(),
        StopReason::Exhausted => "every candidate memory measured".into(),
        StopReason::NoFeasibleMemory { floor_mb } => format!(
            "every candidate memory timed out or ran out of memory (the floor reached {floor_mb} MB)"
        ),
        StopReason::TooManyFailures {
            memory_mb,
            failures,
            message,
        } => {
            format!("{failures} failed invocations at {memory_mb} MB, the last: {message}")
        }
    }
}
