//! `optiserve evaluate`.

use std::fmt::Write as _;
use std::process::ExitCode;

use std::path::Path;

use anyhow::Context;
use optiserve_core::bundle::{Configuration, parse_json};
use optiserve_core::evaluate::Evaluation;

use crate::cli::{EvaluateArgs, Format};
use crate::input::{load_bundle, read_text};

/// Reads a configuration file: a bare map `{"<id>": {"memory_mb", "variant"}}`, an object with a
/// `config` map (what `optiserve optimize` prints), or an evaluation (what `evaluate --format json`
/// prints; its per-function `memory_mb` and `variant` are used). Error paths point into the file.
pub fn read_config(path: &Path) -> anyhow::Result<(Configuration, &'static str)> {
    let text = read_text(path)?;
    let context = || format!("in configuration {}", path.display());
    let value: serde_json::Value = parse_json(&text).with_context(context)?;
    let (root, map) = if let Some(c) = value.get("config") {
        ("$.config", c.clone())
    } else if let (Some(f), Some(_)) = (value.get("functions"), value.get("latency_ms")) {
        let mut only_choices = serde_json::Map::new();
        for (id, entry) in f.as_object().into_iter().flatten() {
            let keep: serde_json::Map<String, serde_json::Value> = entry
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k == "memory_mb" || *k == "variant")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            only_choices.insert(id.clone(), keep.into());
        }
        ("$.functions", only_choices.into())
    } else {
        ("$", value)
    };
    let config: Configuration = serde_path_to_error::deserialize(map)
        .map_err(|e| {
            let inner = e.path().to_string();
            let at = if inner == "." {
                String::new()
            } else {
                format!(".{inner}")
            };
            anyhow::anyhow!("{root}{at}: {}", e.into_inner())
        })
        .with_context(context)?;
    Ok((config, root))
}

pub fn run(args: &EvaluateArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let (_, app) = load_bundle(&args.bundle)?;
    let choices = match &args.config {
        None => app.deployed.clone(),
        Some(path) => {
            let (config, root) = read_config(path)?;
            app.resolve(&config, root)
                .with_context(|| format!("in configuration {}", path.display()))?
        }
    };
    let evaluation = app.evaluate(&choices);
    match args.format {
        Format::Json => o.push_str(&super::to_json(&evaluation)?),
        Format::Human => print_human(&mut o, &evaluation)?,
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

pub fn print_human(o: &mut String, e: &Evaluation) -> std::fmt::Result {
    writeln!(o, "latency   {:.2} ms (expected, end to end)", e.latency_ms)?;
    writeln!(
        o,
        "cost      ${:.4} per million executions",
        e.cost_usd_per_million
    )?;
    if e.orchestration_cost_usd_per_million > 0.0 {
        writeln!(
            o,
            "          (${:.4} of it Step Functions transitions)",
            e.orchestration_cost_usd_per_million
        )?;
    }
    writeln!(o, "accuracy  {:.4}", e.accuracy)?;
    writeln!(o)?;
    let w = e
        .functions
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(8)
        .max(8);
    let v = e
        .functions
        .values()
        .map(|f| f.variant.len())
        .max()
        .unwrap_or(7)
        .max(7);
    writeln!(
        o,
        "{:<w$}  {:>9}  {:<v$}  {:>7}  {:>12}  {:>14}",
        "function", "memory", "variant", "NI", "duration", "cost $/M exec"
    )?;
    for (id, f) in &e.functions {
        writeln!(
            o,
            "{id:<w$}  {:>6} MB  {:<v$}  {:>7.4}  {:>9.2} ms  {:>14.4}",
            f.memory_mb, f.variant, f.invocations, f.duration_ms, f.cost_usd_per_million
        )?;
    }
    Ok(())
}
