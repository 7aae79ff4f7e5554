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
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use optiserve_core::bundle::{
    Bundle, Choice, ColdStart, FitSummary, MemoryOptions, ProfileSample, Provenance,
};
use optiserve_core::model::{DurationModel, ExpModel};
use optiserve_core::sampling::{
    Batch, Invocation, Request, Sampler, SamplingResult, Status, Step, StopReason,
};
use serde::{Deserialize, Serialize};

use crate::cloud::report::classify;
use crate::cloud::{CloudError, FunctionConfig, Lambda, RetryPolicy, RetryStats, configure, retry};
use crate::plan::{LoadedPlan, Target};

/// The environment variable set (with a new value) to force fresh instances for a re-measurement.
pub const EPOCH_VAR: &str = "OPTISERVE_PROFILE_EPOCH";

/// The run was interrupted (Ctrl-C); the functions were restored.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: every function was restored; resume with --resume {0}")]
pub struct Interrupted(pub String);

/// A failure from the cloud (not the user's input).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct CloudFailure(#[from] pub CloudError);

/// One measured batch, as recorded in the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub function: String,
    pub variant: String,
    pub request: Request,
    pub batch: Batch,
    /// The budget ran out during this batch: it holds fewer invocations than requested, and the
    /// search stopped here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<StopReason>,
}

/// The checkpoint file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version (1).
    pub version: u32,
    /// Digest of the plan text it belongs to.
    pub plan_digest: String,
    /// The original configuration of every function, by resource.
    pub originals: BTreeMap<String, FunctionConfig>,
    /// Every measured batch, in order.
    pub batches: Vec<BatchRecord>,
}

impl Checkpoint {
    /// Reads a checkpoint file.
    pub fn load(path: &Path) -> anyhow::Result<Checkpoint> {
        let text = crate::input::read_text(path)?;
        let c: Checkpoint = serde_json::from_str(&text)
            .with_context(|| format!("checkpoint {} is not a valid checkpoint", path.display()))?;
        if c.version != 1 {
            bail!(
                "checkpoint {}: version {} (this build reads 1)",
                path.display(),
                c.version
            );
        }
        Ok(c)
    }

    /// Writes atomically: a temporary file beside it, then a rename.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string(self)?;
        crate::input::write_text(&tmp, &text)?;
        std::fs::rename(&tmp, path)
            .map_err(|e| anyhow::Error::new(crate::input::FileError::new(path, "write", e)))
    }
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// An indicatif bar on standard error (when it is a terminal).
    Human,
    /// One JSON object per batch on standard error.
    Json,
    /// Nothing.
    Quiet,
}

/// Shows progress.
#[derive(Debug)]
pub struct Reporter {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// A reporter expecting about `estimate` invocations.
    pub fn new(mode: ProgressMode, estimate: u64) -> Self {
        let bar = (mode == ProgressMode::Human).then(|| {
            let bar = ProgressBar::with_draw_target(Some(estimate), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} calls, ETA {eta} · {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Reporter { mode, bar }
    }

    fn batch(
        &self,
        t: &Target,
        r: &Request,
        batch: &Batch,
        invocations: u64,
        cost: f64,
        retries: (u64, u64),
    ) {
        match self.mode {
            ProgressMode::Human => {
                if let Some(bar) = &self.bar {
                    if bar.length().is_some_and(|l| invocations >= l) {
                        bar.set_length(invocations + 8);
                    }
                    bar.set_position(invocations);
                    bar.set_message(format!(
                        "{}/{} at {} MB · ${cost:.4} spent · {} throttled",
                        t.function_id, t.variant_name, r.memory_mb, retries.0
                    ));
                }
            }
            ProgressMode::Json => {
                let ok = batch
                    .invocations
                    .iter()
                    .filter(|i| i.status == optiserve_core::sampling::Status::Ok)
                    .count();
                let line = serde_json::json!({
                    "event": "batch", "function": t.function_id, "variant": t.variant_name,
                    "memory_mb": r.memory_mb, "count": r.count, "ok": ok, "warmup": r.warmup,
                    "invocations": invocations, "cost_usd": cost,
                    "throttled": retries.0, "transient_retries": retries.1,
                });
                eprintln!("{line}");
            }
            ProgressMode::Quiet => {}
        }
    }

    fn note(&self, message: &str) {
        match self.mode {
            ProgressMode::Human => match &self.bar {
                Some(bar) if !bar.is_hidden() => bar.println(message),
                _ => eprintln!("{message}"),
            },
            ProgressMode::Json => {
                eprintln!(
                    "{}",
                    serde_json::json!({"event": "note", "message": message})
                );
            }
            ProgressMode::Quiet => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

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

/// The hard budget of a run (the plan's `max_invocations` and `max_cost_usd`): checked before
/// every invocation, warm-ups and failures included. An invocation starts only when the spent
/// cost plus the worst case of every invocation in flight and of itself (billed up to the
/// function's timeout at the configured memory, INIT included) stays within the budget; a batch is
/// cut to what that allows. The sampler's own budget (the same limits) only decides when to stop
/// asking; this one is what makes the limit hard.
#[derive(Debug, Default)]
struct Budget {
    max_invocations: Option<u64>,
    max_cost_usd: Option<f64>,
    /// Invocations started (replayed ones included).
    started: u64,
    /// USD billed by the invocations that ended.
    spent_usd: f64,
    /// Set once a batch was cut: the limit it hit.
    exhausted: Option<StopReason>,
}

impl Budget {
    /// How many of `wanted` invocations may start now, each costing at most `worst_usd`.
    fn allow(&mut self, wanted: u32, worst_usd: f64) -> u32 {
        let mut n = u64::from(wanted);
        if let Some(cap) = self.max_invocations {
            let left = cap.saturating_sub(self.started);
            if left < n {
                n = left;
                self.exhausted = Some(StopReason::InvocationCap);
            }
        }
        if let Some(cap) = self.max_cost_usd {
            let left = ((cap - self.spent_usd) / worst_usd.max(f64::MIN_POSITIVE)).floor();
            let left = if left.is_finite() && left > 0.0 {
                left as u64
            } else {
                0
            };
            if left < n {
                n = left;
                self.exhausted = Some(StopReason::CostCap);
            }
        }
        self.started += n;
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Records what an invocation that ended was billed.
    fn spend(&mut self, usd: f64) {
        self.spent_usd += usd;
    }
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
            originals: BTreeMap::new(),
            batches: Vec::new(),
        },
    };
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
        settings.max_invocations = plan
            .plan
            .max_invocations
            .map(|c| c.saturating_sub(spent_invocations));
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
        for rec in &recorded {
            let n = u64::from(rec.batch.warmup.is_some()) + rec.batch.invocations.len() as u64;
            state.budget.started += n;
            state
                .budget
                .spend(batch_cost(&plan.pricing, rec.request.memory_mb, &rec.batch));
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
            let batch = measure(cloud, plan, t, request, &original, state, opts, stats)
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
            state.checkpoint.batches.push(BatchRecord {
                function: t.function_id.clone(),
                variant: t.variant_name.clone(),
                request,
                batch: batch.clone(),
                cut: cut.clone(),
            });
            state.checkpoint.save(&opts.checkpoint_path)?;
            opts.reporter.batch(
                t,
                &request,
                &batch,
                spent_invocations + sampler.invocations(),
                spent_cost + sampler.cost_usd(),
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
        state.outcomes.push(TargetOutcome { target: k, result });
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
) -> Result<Batch, CloudError> {
    let mut env = original.env.clone();
    env.extend(t.selector.env.clone());
    if r.fresh {
        state.epoch += 1;
        env.insert(EPOCH_VAR.to_string(), state.epoch.to_string());
    }
    let wanted = (r.memory_mb, env.clone());
    if r.fresh || state.applied.get(&t.resource) != Some(&wanted) {
        configure(cloud, &opts.retry, stats, &t.resource, r.memory_mb, &env).await?;
        state.applied.insert(t.resource.clone(), wanted);
    }
    let invoke = || async {
        let out = retry(&opts.retry, stats, "Invoke", || {
            cloud.invoke(&t.resource, &t.payload)
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
            let w = invoke().await?;
            state
                .budget
                .spend(invocation_cost(&plan.pricing, r.memory_mb, &w));
            Some(w)
        }
        false => None,
    };
    if r.warmup && warmup.is_none() {
        return Ok(Batch {
            warmup: None,
            invocations: Vec::new(),
        });
    }
    // A warm-up that timed out or ran out of memory says enough about this memory.
    let killed = warmup.as_ref().is_some_and(|w| {
        matches!(
            w.effective_status(r.memory_mb),
            Status::Timeout | Status::OutOfMemory
        )
    });
    let count = if killed { 0 } else { r.count };
    // Nothing else is in flight between batches: the whole batch is reserved at once.
    let count = state.budget.allow(count, worst);
    let concurrency = plan.plan.concurrency as usize;
    let invocations: Vec<Invocation> = stream::iter(0..count)
        .map(|_| invoke())
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    for inv in &invocations {
        state
            .budget
            .spend(invocation_cost(&plan.pricing, r.memory_mb, inv));
    }
    Ok(Batch {
        warmup,
        invocations,
    })
}

/// The longest Lambda timeout (s): the worst case of a function whose timeout is unknown.
const MAX_TIMEOUT_S: u32 = 900;
/// The longest INIT phase Lambda allows (10 s), billed on a cold start.
const MAX_INIT_MS: f64 = 10_000.0;

/// What one invocation was billed: its reported billed duration (else its duration; INIT
/// included, as AWS bills it), at the memory it ran with.
fn invocation_cost(
    pricing: &optiserve_core::pricing::Pricing,
    memory_mb: u32,
    inv: &Invocation,
) -> f64 {
    let billed = inv
        .billed_duration_ms
        .or(inv
            .duration_ms
            .map(|d| d + inv.init_duration_ms.unwrap_or(0.0)))
        .unwrap_or(0.0);
    pricing.invocation_cost(f64::from(memory_mb), billed)
}

/// What a recorded batch was billed.
fn batch_cost(pricing: &optiserve_core::pricing::Pricing, memory_mb: u32, b: &Batch) -> f64 {
    b.warmup
        .iter()
        .chain(&b.invocations)
        .map(|i| invocation_cost(pricing, memory_mb, i))
        .sum()
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

/// Puts one function back if it differs; true when it had to.
async fn restore_one<C: Lambda>(
    cloud: &C,
    original: &FunctionConfig,
    policy: &RetryPolicy,
    stats: &RetryStats,
) -> Result<bool, CloudError> {
    let now = retry(policy, stats, "GetFunctionConfiguration", || {
        cloud.get_configuration(&original.function)
    })
    .await?;
    if now.same_settings(original) {
        return Ok(false);
    }
    configure(
        cloud,
        policy,
        stats,
        &original.function,
        original.memory_mb,
        &original.env,
    )
    .await?;
    Ok(true)
}

/// Checks every function and restores those that differ from their original configuration.
/// Tries every function even when one fails; the error names each failure and its original
/// configuration.
pub async fn restore_all<C: Lambda>(
    cloud: &C,
    originals: &BTreeMap<String, FunctionConfig>,
    policy: &RetryPolicy,
    stats: &RetryStats,
) -> anyhow::Result<Vec<String>> {
    let mut restored = Vec::new();
    let mut failures = Vec::new();
    for (resource, original) in originals {
        match restore_one(cloud, original, policy, stats).await {
            Ok(true) => restored.push(resource.clone()),
            Ok(false) => {}
            Err(e) => failures.push(format!(
                "{resource}: {e} (its original configuration: {} MB, environment {:?})",
                original.memory_mb, original.env
            )),
        }
    }
    if !failures.is_empty() {
        bail!(
            "could not restore the original configuration of {} function(s); restore them by hand: {}",
            failures.len(),
            failures.join("; ")
        );
    }
    Ok(restored)
}

/// One line about why a search stopped.
pub fn describe_stop(stop: &StopReason) -> String {
    match stop {
        StopReason::Converged { memory_mb } => format!("converged at {memory_mb} MB"),
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

/// RFC 3339 UTC timestamp of now (seconds).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The bundle from a run: fitted models, samples, fits, the memory floor, the deployed
/// configuration as found before profiling.
pub fn build_bundle(
    plan: &LoadedPlan,
    out: &RunOutput,
    source: String,
    region: Option<String>,
) -> anyhow::Result<Bundle> {
    let by_target: BTreeMap<usize, &SamplingResult> =
        out.outcomes.iter().map(|o| (o.target, &o.result)).collect();
    let provenance = Provenance {
        tool: "optiserve".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        created_at: Some(now_rfc3339()),
        region: region.or_else(|| plan.plan.region.clone()),
        source: Some(source),
    };
    let mut bundle = plan.bundle(
        |t| {
            let k = plan
                .targets
                .iter()
                .position(|x| x.function == t.function && x.variant == t.variant);
            let fit = k
                .and_then(|k| by_target.get(&k))
                .and_then(|r| r.fit.as_ref());
            fit.map_or(DurationModel::Exponential(ExpModel::constant(1.0)), |f| {
                f.model.clone()
            })
        },
        provenance,
    );
    for (k, t) in plan.targets.iter().enumerate() {
        let r = by_target
            .get(&k)
            .ok_or_else(|| anyhow!("{}/{} was not profiled", t.function_id, t.variant_name))?;
        let f = &mut bundle.functions[t.function];
        let v = &mut f.variants[t.variant];
        if let Some(fit) = &r.fit {
            v.fit = Some(FitSummary {
                mape_percent: fit.mape_percent,
                r2: fit.r2,
                samples: fit.samples,
            });
        }
        for m in &r.memories {
            for s in m.samples.iter().filter(|s| !s.superseded) {
                v.samples.push(ProfileSample {
                    memory_mb: f64::from(m.memory_mb),
                    duration_ms: s.duration_ms,
                    billed_duration_ms: s.billed_duration_ms,
                    cold: s.cold,
                    max_memory_used_mb: s.max_memory_used_mb,
                    init_duration_ms: s.init_duration_ms,
                });
            }
        }
        // The cold starts seen (every configuration change makes one): their mean Init Duration,
        // with the production share the plan gives (0 when it gives none).
        let inits: Vec<f64> = r
            .memories
            .iter()
            .flat_map(|m| m.init_durations_ms.iter().copied())
            .collect();
        if !inits.is_empty() {
            v.cold_start = Some(ColdStart {
                probability: plan.plan.functions[t.function]
                    .cold_start_probability
                    .unwrap_or(0.0),
                init_ms: inits.iter().sum::<f64>() / inits.len() as f64,
                observed: Some(inits.len() as u64),
            });
        }
    }
    // Memory options: nothing below the highest floor a variant of the function reached.
    for (i, f) in bundle.functions.iter_mut().enumerate() {
        let floor = plan
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.function == i)
            .filter_map(|(k, _)| by_target.get(&k).map(|r| r.floor_mb))
            .max()
            .unwrap_or(0);
        let sizes = f.memory.sizes();
        if sizes.first().is_some_and(|&lo| lo < floor) {
            let kept: Vec<u32> = sizes.into_iter().filter(|&m| m >= floor).collect();
            if kept.is_empty() {
                bail!(
                    "{}: no memory option is at or above its floor {floor} MB",
                    f.id
                );
            }
            f.memory = MemoryOptions::List(kept);
        }
        // The deployed configuration: the original memory, the variant whose env it carried.
        let Some(original) = f.resource.as_ref().and_then(|r| out.originals.get(r)) else {
            continue;
        };
        let sizes = f.memory.sizes();
        let (lo, hi) = (
            sizes.first().copied().unwrap_or(0),
            sizes.last().copied().unwrap_or(0),
        );
        if original.memory_mb < lo || original.memory_mb > hi {
            continue;
        }
        let variant = f
            .variants
            .iter()
            .find(|v| {
                v.select.as_ref().is_some_and(|s| {
                    !s.env.is_empty()
                        && s.env
                            .iter()
                            .all(|(k, val)| original.env.get(k) == Some(val))
                })
            })
            .map(|v| v.name.clone());
        if f.variants.len() > 1 && variant.is_none() {
            continue;
        }
        bundle.deployed.insert(
            f.id.clone(),
            Choice {
                memory_mb: original.memory_mb,
                variant,
            },
        );
    }
    bundle
        .validate()
        .context("the profiled bundle does not validate")?;
    Ok(bundle)
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
