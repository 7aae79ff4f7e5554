//! `optiserve workflow import-asl`, `measure` and `validate`.
//!
//! They read files or a deployed state machine (through the [`StepFunctions`] trait: AWS or the
//! simulated Step Functions) and call `optiserve_core::asl` and `optiserve_core::sfn_history`;
//! the analysis takes parsed histories, whoever fetched them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use futures_util::StreamExt as _;
use optiserve_core::asl::{AslOptions, bundle_from_import, import_asl, nested_executions};
use optiserve_core::bundle::Bundle;
use optiserve_core::pricing::StepFunctionsPricing;
use optiserve_core::sfn_history::{
    Execution, Skipped, apply, compare, estimate_costs, measure, parse_histories,
    parse_histories_skipping,
};

use crate::cli::{
    Format, ImportAslArgs, MeasureArgs, SfnBackendArgs, SfnTypeArg, WorkflowValidateArgs,
};
use crate::cloud::aws::{AwsOptions, AwsStepFunctions};
use crate::cloud::sim_sfn::SimStepFunctions;
use crate::cloud::{CloudError, RetryPolicy, RetryStats, StateMachine, StepFunctions, retry};
use crate::input::{load_bundle, load_choices, read_text, write_text};
use crate::profile::CloudFailure;

/// The Step Functions a command talks to.
enum Backend {
    Sim(Box<SimStepFunctions>),
    Aws(AwsStepFunctions),
}

impl Backend {
    fn open(args: &SfnBackendArgs, rt: &tokio::runtime::Runtime) -> anyhow::Result<Backend> {
        match &args.simulate {
            Some(truth) => Ok(Backend::Sim(Box::new(SimStepFunctions::load(
                truth, args.seed,
            )?))),
            None => {
                let options = AwsOptions {
                    region: args.cloud.region.clone(),
                    profile: args.cloud.profile.clone(),
                    endpoint_url: args.cloud.endpoint_url.clone(),
                };
                Ok(Backend::Aws(
                    rt.block_on(AwsStepFunctions::connect(&options)),
                ))
            }
        }
    }

    fn policy(&self) -> RetryPolicy {
        match self {
            Backend::Sim(_) => RetryPolicy::instant(),
            Backend::Aws(_) => RetryPolicy::aws(),
        }
    }
}

impl StepFunctions for Backend {
    async fn describe_state_machine(&self, arn: &str) -> Result<StateMachine, CloudError> {
        match self {
            Backend::Sim(s) => s.describe_state_machine(arn).await,
            Backend::Aws(s) => s.describe_state_machine(arn).await,
        }
    }
    async fn start_execution(&self, arn: &str, input: &str) -> Result<String, CloudError> {
        match self {
            Backend::Sim(s) => s.start_execution(arn, input).await,
            Backend::Aws(s) => s.start_execution(arn, input).await,
        }
    }
    async fn describe_execution(&self, arn: &str) -> Result<String, CloudError> {
        match self {
            Backend::Sim(s) => s.describe_execution(arn).await,
            Backend::Aws(s) => s.describe_execution(arn).await,
        }
    }
    async fn get_execution_history(&self, arn: &str) -> Result<Vec<serde_json::Value>, CloudError> {
        match self {
            Backend::Sim(s) => s.get_execution_history(arn).await,
            Backend::Aws(s) => s.get_execution_history(arn).await,
        }
    }
    async fn list_executions(&self, arn: &str, max: usize) -> Result<Vec<String>, CloudError> {
        match self {
            Backend::Sim(s) => s.list_executions(arn, max).await,
            Backend::Aws(s) => s.list_executions(arn, max).await,
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// DescribeExecution and GetExecutionHistory calls in flight at once (results keep their order).
const IN_FLIGHT: usize = 8;

/// Starts `n` executions with `input` and waits until every one has finished; returns their ARNs.
async fn run_executions<S: StepFunctions>(
    sfn: &S,
    policy: &RetryPolicy,
    stats: &RetryStats,
    arn: &str,
    n: usize,
    input: &str,
    timeout: std::time::Duration,
) -> anyhow::Result<Vec<String>> {
    let deadline = std::time::Instant::now() + timeout;
    serde_json::from_str::<serde_json::Value>(input)
        .with_context(|| format!("--input {input}: not JSON"))?;
    let mut started = Vec::with_capacity(n);
    for k in 0..n {
        let e = retry(policy, stats, "StartExecution", || {
            sfn.start_execution(arn, input)
        })
        .await
        .map_err(CloudFailure)
        .with_context(|| format!("starting execution {} of {arn}", k + 1))?;
        started.push(e);
    }
    // Wait for them, polling the unfinished ones.
    let mut pending: Vec<&String> = started.iter().collect();
    let mut delay = policy.poll_delay;
    loop {
        let statuses: Vec<anyhow::Result<(&String, String)>> =
            futures_util::stream::iter(pending.into_iter().map(|e| async move {
                let status = retry(policy, stats, "DescribeExecution", || {
                    sfn.describe_execution(e)
                })
                .await
                .map_err(CloudFailure)
                .with_context(|| format!("describing execution {e}"))?;
                Ok((e, status))
            }))
            .buffered(IN_FLIGHT)
            .collect()
            .await;
        let mut still = Vec::new();
        for r in statuses {
            let (e, status) = r?;
            if status == "RUNNING" || status == "PENDING_REDRIVE" {
                still.push(e);
            }
        }
        if still.is_empty() {
            break;
        }
        if std::time::Instant::now() >= deadline {
            bail!(
                "{} of {n} executions of {arn} still running after {} s (--execution-timeout), e.g. {}",
                still.len(),
                timeout.as_secs(),
                still[0]
            );
        }
        pending = still;
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(10));
    }
    Ok(started)
}

/// Reads the histories of these executions.
async fn fetch_histories<S: StepFunctions>(
    sfn: &S,
    policy: &RetryPolicy,
    stats: &RetryStats,
    executions: &[String],
    skipped: Option<&mut Vec<Skipped>>,
) -> anyhow::Result<Vec<Execution>> {
    let histories: Vec<anyhow::Result<(&String, Vec<serde_json::Value>)>> =
        futures_util::stream::iter(executions.iter().map(|e| async move {
            let events = retry(policy, stats, "GetExecutionHistory", || {
                sfn.get_execution_history(e)
            })
            .await
            .map_err(CloudFailure)
            .with_context(|| format!("reading the history of {e}"))?;
            Ok((e, events))
        }))
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut out = Vec::with_capacity(executions.len());
    let mut skipped = skipped;
    for r in histories {
        let (e, events) = r?;
        let text = serde_json::to_string(&serde_json::json!({ "events": events }))?;
        read_history(&text, e, skipped.as_deref_mut(), &mut out)
            .with_context(|| format!("in the history of {e}"))?;
    }
    Ok(out)
}

/// Reads one document of histories into `out`: with `skipped`, an execution whose events are not
/// a valid history is left out and recorded there; without, it refuses the document.
fn read_history(
    text: &str,
    label: &str,
    skipped: Option<&mut Vec<Skipped>>,
    out: &mut Vec<Execution>,
) -> anyhow::Result<()> {
    match skipped {
        Some(skipped) => {
            let (kept, left) = parse_histories_skipping(text, label)?;
            out.extend(kept);
            skipped.extend(left);
        }
        None => out.extend(parse_histories(text, label).map_err(|e| {
            anyhow::anyhow!(
                "{e} (with --skip-invalid, executions whose events are not a valid history are left out and reported)"
            )
        })?),
    }
    Ok(())
}

/// Says which executions were left out and why, on standard error.
fn report_skipped(skipped: &[Skipped], kept: usize) -> anyhow::Result<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    eprintln!(
        "--skip-invalid: left out {} of {} executions whose events are not a valid history:",
        skipped.len(),
        skipped.len() + kept
    );
    for s in skipped {
        eprintln!("  {}: {}", s.label, s.error);
    }
    if kept == 0 {
        bail!("no execution left to measure: every one was invalid");
    }
    Ok(())
}

/// The definition of a deployed state machine.
async fn describe<S: StepFunctions>(
    sfn: &S,
    policy: &RetryPolicy,
    stats: &RetryStats,
    arn: &str,
) -> anyhow::Result<StateMachine> {
    retry(policy, stats, "DescribeStateMachine", || {
        sfn.describe_state_machine(arn)
    })
    .await
    .map_err(CloudFailure)
    .with_context(|| format!("describing state machine {arn}"))
}

pub fn run_import_asl(args: &ImportAslArgs) -> anyhow::Result<ExitCode> {
    let mut options = AslOptions::default();
    for item in &args.nested {
        let Some((key, file)) = item.split_once('=') else {
            bail!("--nested {item}: expected STATE=FILE (or ARN=FILE)");
        };
        if key.trim().is_empty() {
            bail!("--nested {item}: name the Task state (or the child's ARN) before '='");
        }
        let child = read_text(Path::new(file)).with_context(|| format!("--nested {item}"))?;
        options.children.insert(key.to_string(), child);
    }
    let (text, label, described_type) = match (&args.definition, &args.state_machine) {
        (Some(path), _) => (read_text(path)?, path.display().to_string(), None),
        (None, Some(arn)) => {
            let rt = runtime()?;
            let backend = Backend::open(&args.backend, &rt)?;
            let (policy, stats) = (backend.policy(), RetryStats::default());
            let sm = rt.block_on(describe(&backend, &policy, &stats, arn))?;
            // The children of nested executions, read the same way (those not given).
            if let Ok(nested) = nested_executions(&sm.definition) {
                for n in nested.into_iter().filter(|n| n.sync) {
                    let Some(child) = n.arn else { continue };
                    if options.children.contains_key(&n.state)
                        || options.children.contains_key(&child)
                        || child == sm.arn
                    {
                        continue;
                    }
                    match rt.block_on(describe(&backend, &policy, &stats, &child)) {
                        Ok(c) => {
                            options.children.insert(child, c.definition);
                        }
                        Err(e) => eprintln!(
                            "note: the child state machine of '{}' ({child}) could not be read: {e:#}; the nested execution is a timed state",
                            n.state
                        ),
                    }
                }
            }
            (sm.definition, sm.arn, Some(sm.kind))
        }
        (None, None) => bail!("give a definition file or --state-machine ARN"),
    };
    for item in &args.map_items {
        let Some((name, n)) = item.split_once('=') else {
            bail!("--map-items {item}: expected STATE=N");
        };
        if name.trim().is_empty() {
            bail!("--map-items {item}: name the Map state before '=' (STATE=N)");
        }
        let n: f64 = n
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n >= 1.0)
            .with_context(|| format!("--map-items {item}: N must be a number ≥ 1"))?;
        options.map_items.insert(name.to_string(), n);
    }
    let imported = import_asl(&text, &options).with_context(|| match &options.map_items {
        m if !m.is_empty() => format!(
            "in state machine {label} (with --map-items {})",
            args.map_items.join(" ")
        ),
        _ => format!("in state machine {label}"),
    })?;
    let base = match &args.functions_from {
        Some(p) => Some(load_bundle(p)?.0),
        None => None,
    };
    let workflow_type = args.workflow_type.or(match described_type.as_deref() {
        Some("EXPRESS") => Some(SfnTypeArg::Express),
        Some(_) => Some(SfnTypeArg::Standard),
        None => None,
    });
    let sfn = workflow_type.map(|t| match t {
        SfnTypeArg::Standard => StepFunctionsPricing::standard(),
        SfnTypeArg::Express => StepFunctionsPricing::express(),
    });
    let source = match &args.definition {
        Some(p) => format!(
            "imported from the Step Functions definition {}",
            file_name(p)
        ),
        None => format!("imported from the Step Functions state machine {label}"),
    };
    let bundle = match bundle_from_import(&imported, base.as_ref(), sfn, &source) {
        Ok(b) => b,
        Err(message) => bail!(
            "{message}: {}",
            args.functions_from
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default()
        ),
    };
    if base.is_some() {
        bundle
            .validate()
            .context("the imported workflow does not form a valid bundle")?;
    }
    write_text(&args.output, &bundle.to_json())?;
    let mut o = String::new();
    if args.output.as_os_str() != "-" {
        writeln!(
            o,
            "wrote {} ({} functions{})",
            args.output.display(),
            bundle.functions.len(),
            if base.is_some() {
                ""
            } else {
                ", not profiled yet"
            }
        )?;
    }
    for n in &imported.notes {
        writeln!(o, "note: {n}")?;
    }
    if base.as_ref().is_some_and(|b| b.accuracy.is_some()) && bundle.accuracy.is_none() {
        writeln!(
            o,
            "note: the accuracy score of {} reads functions this state machine does not invoke: left out (the default score applies)",
            args.functions_from
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )?;
    }
    let assumed = bundle
        .workflow
        .edges
        .iter()
        .filter(|e| e.basis.is_some())
        .count();
    if assumed > 0 {
        writeln!(
            o,
            "note: {assumed} branch probabilities are uniform and marked assumed; `optiserve workflow measure` replaces them"
        )?;
    }
    eprint!("{o}");
    Ok(ExitCode::SUCCESS)
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The history files: the file itself, or every `.json` file of a directory (sorted).
fn history_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read directory {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("{}: no .json history files", path.display());
        }
        Ok(files)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

pub fn run_measure(args: &MeasureArgs) -> anyhow::Result<ExitCode> {
    let (mut bundle, app) = load_bundle(&args.bundle)?;
    let mut executions: Vec<Execution> = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let skip = args.skip_invalid.then_some(&mut skipped);
    match (&args.state_machine, &args.from_history, args.executions) {
        (None, Some(path), _) => {
            let mut skip = skip;
            for f in history_files(Path::new(path))? {
                let text = read_text(&f)?;
                read_history(&text, &file_name(&f), skip.as_deref_mut(), &mut executions)
                    .with_context(|| format!("in history {}", f.display()))?;
            }
        }
        (Some(arn), from, n) => {
            let last = match (from, n) {
                (Some(k), None) => Some(k.parse::<usize>().ok().filter(|&k| k > 0).with_context(
                    || format!("--from-history {k}: with --state-machine, give the number of past executions to read"),
                )?),
                (None, Some(n)) if n > 0 => None,
                (None, Some(_)) => bail!("--executions must be at least 1"),
                _ => bail!("with --state-machine, give --executions N (run new ones) or --from-history N (read the last N)"),
            };
            let rt = runtime()?;
            let backend = Backend::open(&args.backend, &rt)?;
            let (policy, stats) = (backend.policy(), RetryStats::default());
            executions = rt.block_on(async {
                let arns = match last {
                    Some(k) => {
                        let arns = retry(&policy, &stats, "ListExecutions", || {
                            backend.list_executions(arn, k)
                        })
                        .await
                        .map_err(CloudFailure)
                        .with_context(|| format!("listing the executions of {arn}"))?;
                        if arns.is_empty() {
                            bail!("{arn} has no finished executions to read");
                        }
                        arns
                    }
                    None => {
                        run_executions(
                            &backend,
                            &policy,
                            &stats,
                            arn,
                            n.unwrap_or(0),
                            &args.input,
                            std::time::Duration::from_secs(args.backend.execution_timeout),
                        )
                        .await?
                    }
                };
                fetch_histories(&backend, &policy, &stats, &arns, skip).await
            })?;
        }
        (None, None, _) => bail!("give --from-history PATH, or --state-machine ARN"),
    }
    report_skipped(&skipped, executions.len())?;
    let m = measure(&bundle, &executions)
        .with_context(|| format!("measuring {}", args.bundle.display()))?;
    let latencies: Vec<f64> = executions
        .iter()
        .filter_map(Execution::latency_ms)
        .collect();
    let costs = estimate_costs(&app, &app.deployed, &bundle, &executions);
    let before = compare(&app, &app.deployed, &latencies, Some(&costs));
    let changed = apply(&mut bundle, &m);
    let updated = bundle
        .validate()
        .context("the measured workflow is not valid (a branch never taken in these executions leaves a node unreachable: measure more executions)")?;
    let after = compare(&updated, &updated.deployed, &latencies, Some(&costs));
    if let Some(out) = &args.output {
        write_text(out, &bundle.to_json())?;
    }
    let report = serde_json::json!({
        "skipped": skipped
            .iter()
            .map(|s| serde_json::json!({"execution": s.label, "reason": s.error.to_string()}))
            .collect::<Vec<_>>(),
        "measurement": m,
        "edges_updated": changed,
        "model_before": before,
        "model_after": after,
        "structure": updated.workflow.display_structure().to_string(),
    });
    let mut o = String::new();
    match args.format {
        Format::Json => o.push_str(&super::to_json(&report)?),
        Format::Human => human(&mut o, &m, changed, before, after, &bundle)?,
    }
    if args.output.as_deref() != Some(Path::new("-")) {
        crate::output::emit(&o)?;
    } else {
        eprint!("{o}");
    }
    Ok(ExitCode::SUCCESS)
}

fn human(
    o: &mut String,
    m: &optiserve_core::sfn_history::Measurement,
    changed: usize,
    before: Option<optiserve_core::sfn_history::Comparison>,
    after: Option<optiserve_core::sfn_history::Comparison>,
    bundle: &Bundle,
) -> anyhow::Result<()> {
    writeln!(
        o,
        "{} executions read, {} succeeded and measured",
        m.executions, m.succeeded
    )?;
    writeln!(o, "branches ({changed} edges measured):")?;
    for e in &m.edges {
        writeln!(
            o,
            "  {:>10} → {:<10} {:>6}/{:<6} p = {:.4} (was {:.4}){}",
            e.from,
            e.to,
            e.taken,
            e.out_of,
            e.probability,
            e.previous_probability,
            if e.loop_edge {
                format!(", loop: {:.4} times per execution", e.per_execution)
            } else {
                String::new()
            }
        )?;
    }
    for (name, s) in &m.map_items {
        writeln!(
            o,
            "map {name}: {:.2} items per run over {} runs",
            s.mean_ms, s.count
        )?;
    }
    for (name, s) in &m.waits {
        writeln!(
            o,
            "wait {name}: {:.1} ms on average over {} waits",
            s.mean_ms, s.count
        )?;
    }
    for (name, s) in &m.services {
        writeln!(
            o,
            "service {name}: {:.1} ms per call on average over {} calls (TaskScheduled → TaskSucceeded)",
            s.mean_ms, s.count
        )?;
    }
    for (name, s) in &m.callbacks {
        writeln!(
            o,
            "callback {name}: {:.1} ms waited for the task token on average over {} callbacks (TaskSubmitted → TaskSucceeded)",
            s.mean_ms, s.count
        )?;
    }
    if let Some(s) = m.state_ms {
        writeln!(
            o,
            "state delay       {:.2} ms per Task state ({} observations; entry → Lambda start + Lambda end → exit)",
            s.mean_ms, s.count
        )?;
    }
    if let Some(t) = m.transition_ms {
        writeln!(
            o,
            "transition delay  {:.2} ms per transition between states ({} observations)",
            t.mean_ms, t.count
        )?;
    }
    if let Some(se) = m.start_end_ms {
        writeln!(
            o,
            "start and end     {:.2} ms per execution (first and last transitions, less one between states)",
            se.mean_ms
        )?;
    }
    for (name, s) in &m.transition_delays {
        writeln!(o, "  {name:<28} {:>9.2} ms  ×{}", s.mean_ms, s.count)?;
    }
    let _ = bundle;
    for (label, c) in [("model before", before), ("model after ", after)] {
        if let Some(c) = c {
            write!(
                o,
                "{label}  latency {:.2} ms predicted vs {:.2} ms measured ({:+.2}%)",
                c.predicted_latency_ms, c.measured_latency_ms, c.latency_error_percent
            )?;
            if let (Some(mc), Some(err)) = (c.measured_cost_usd_per_million, c.cost_error_percent) {
                write!(
                    o,
                    "; cost ${:.4} vs ${mc:.4} per million estimated from the histories ({err:+.2}%)",
                    c.predicted_cost_usd_per_million
                )?;
            }
            writeln!(o)?;
        }
    }
    Ok(())
}

/// `workflow validate`: warm-up runs, measured runs, and the model's prediction against them.
pub fn run_validate(args: &WorkflowValidateArgs) -> anyhow::Result<ExitCode> {
    let (bundle, app) = load_bundle(&args.bundle)?;
    let choices = load_choices(&app, args.config.as_deref())?;
    if args.executions == 0 {
        bail!("--executions must be at least 1");
    }
    let rt = runtime()?;
    let backend = Backend::open(&args.backend, &rt)?;
    let (policy, stats) = (backend.policy(), RetryStats::default());
    let arn = &args.state_machine;
    let timeout = std::time::Duration::from_secs(args.backend.execution_timeout);
    let executions = rt.block_on(async {
        if args.warmup > 0 {
            run_executions(
                &backend,
                &policy,
                &stats,
                arn,
                args.warmup,
                &args.input,
                timeout,
            )
            .await
            .context("warm-up executions")?;
        }
        let arns = run_executions(
            &backend,
            &policy,
            &stats,
            arn,
            args.executions,
            &args.input,
            timeout,
        )
        .await?;
        fetch_histories(&backend, &policy, &stats, &arns, None).await
    })?;
    let latencies: Vec<f64> = executions
        .iter()
        .filter_map(Execution::latency_ms)
        .collect();
    if latencies.is_empty() {
        bail!(
            "none of the {} executions of {arn} succeeded: nothing to compare",
            executions.len()
        );
    }
    let costs = estimate_costs(&app, &choices, &bundle, &executions);
    let Some(c) = compare(&app, &choices, &latencies, Some(&costs)) else {
        bail!("no succeeded executions");
    };
    let n = latencies.len() as f64;
    let sd = if latencies.len() > 1 {
        (latencies
            .iter()
            .map(|x| (x - c.measured_latency_ms).powi(2))
            .sum::<f64>()
            / (n - 1.0))
            .sqrt()
    } else {
        0.0
    };
    let half = 1.96 * sd / n.sqrt();
    let ci = [c.measured_latency_ms - half, c.measured_latency_ms + half];
    let report = serde_json::json!({
        "state_machine": arn,
        "warmup": args.warmup,
        "executions": executions.len(),
        "succeeded": latencies.len(),
        "latency_sd_ms": sd,
        "latency_ci95_ms": ci,
        "comparison": c,
    });
    let mut o = String::new();
    match args.format {
        Format::Json => o.push_str(&super::to_json(&report)?),
        Format::Human => {
            writeln!(
                o,
                "{} executions measured ({} succeeded) after {} warm-up runs",
                executions.len(),
                latencies.len(),
                args.warmup
            )?;
            writeln!(
                o,
                "latency  predicted {:.2} ms, measured {:.2} ms (95% CI {:.2} – {:.2} ms): error {:+.2}%",
                c.predicted_latency_ms,
                c.measured_latency_ms,
                ci[0],
                ci[1],
                c.latency_error_percent
            )?;
            if let (Some(mc), Some(err)) = (c.measured_cost_usd_per_million, c.cost_error_percent) {
                writeln!(
                    o,
                    "cost     predicted ${:.4}, measured ${mc:.4} per million (estimated from the histories): error {err:+.2}%",
                    c.predicted_cost_usd_per_million
                )?;
            }
        }
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}
