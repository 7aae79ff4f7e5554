//! `optiserve workflow import-asl` and `optiserve workflow measure`.
//!
//! Both read files and call `optiserve_core::asl` and `optiserve_core::sfn_history`; the analysis
//! takes parsed histories, so a live mode (`--state-machine <arn>`, fetching histories through
//! the cloud trait) only has to fetch them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use optiserve_core::asl::{AslOptions, bundle_from_import, import_asl};
use optiserve_core::bundle::Bundle;
use optiserve_core::pricing::StepFunctionsPricing;
use optiserve_core::sfn_history::{
    Execution, apply, compare, estimate_costs, measure, parse_histories,
};

use crate::cli::{Format, ImportAslArgs, MeasureArgs, SfnTypeArg};
use crate::input::{load_bundle, read_text, write_text};

pub fn run_import_asl(args: &ImportAslArgs) -> anyhow::Result<ExitCode> {
    let text = read_text(&args.definition)?;
    let mut options = AslOptions::default();
    for item in &args.map_items {
        let Some((name, n)) = item.split_once('=') else {
            bail!("--map-items {item}: expected STATE=N");
        };
        let n: f64 = n
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n >= 1.0)
            .with_context(|| format!("--map-items {item}: N must be a number ≥ 1"))?;
        options.map_items.insert(name.to_string(), n);
    }
    let imported = import_asl(&text, &options)
        .with_context(|| format!("in state machine {}", args.definition.display()))?;
    let base = match &args.functions_from {
        Some(p) => Some(load_bundle(p)?.0),
        None => None,
    };
    let sfn = args.workflow_type.map(|t| match t {
        SfnTypeArg::Standard => StepFunctionsPricing::standard(),
        SfnTypeArg::Express => StepFunctionsPricing::express(),
    });
    let source = format!(
        "imported from the Step Functions definition {}",
        file_name(&args.definition)
    );
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
    for f in history_files(&args.from_history)? {
        let text = read_text(&f)?;
        executions.extend(
            parse_histories(&text, &file_name(&f))
                .with_context(|| format!("in history {}", f.display()))?,
        );
    }
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
            "transition delay  {:.2} ms per transition ({} observations)",
            t.mean_ms, t.count
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
