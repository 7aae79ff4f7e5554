//! `optiserve evaluate`.

use std::process::ExitCode;

use anyhow::Context;
use optiserve_core::bundle::{Configuration, parse_json};
use optiserve_core::evaluate::Evaluation;

use crate::cli::{EvaluateArgs, Format};
use crate::input::{load_bundle, read_text};

/// A configuration file: a bare map, or any object with a `config` map (optimize's output) or a
/// `functions` map (evaluate's output).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ConfigFile {
    Wrapped { config: Configuration },
    Evaluation { functions: Configuration },
    Bare(Configuration),
}

pub fn run(args: &EvaluateArgs) -> anyhow::Result<ExitCode> {
    let (_, app) = load_bundle(&args.bundle)?;
    let choices = match &args.config {
        None => app.deployed.clone(),
        Some(path) => {
            let text = read_text(path)?;
            let context = || format!("in configuration {}", path.display());
            let (config, root) = match parse_json::<ConfigFile>(&text) {
                Ok(ConfigFile::Wrapped { config }) => (config, "$.config"),
                Ok(ConfigFile::Evaluation { functions }) => (functions, "$.functions"),
                Ok(ConfigFile::Bare(config)) => (config, "$"),
                // Untagged enums hide the path; parse the bare form again for a precise error.
                Err(_) => (parse_json::<Configuration>(&text).with_context(context)?, "$"),
            };
            app.resolve(&config, root).with_context(context)?
        }
    };
    let evaluation = app.evaluate(&choices);
    match args.format {
        Format::Json => print!("{}", super::to_json(&evaluation)?),
        Format::Human => print_human(&evaluation),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_human(e: &Evaluation) {
    println!("latency   {:.2} ms (expected, end to end)", e.latency_ms);
    println!("cost      ${:.4} per million executions", e.cost_usd_per_million);
    if e.orchestration_cost_usd_per_million > 0.0 {
        println!(
            "          (${:.4} of it Step Functions transitions)",
            e.orchestration_cost_usd_per_million
        );
    }
    println!("accuracy  {:.4}", e.accuracy);
    println!();
    let w = e.functions.keys().map(String::len).max().unwrap_or(8).max(8);
    let v = e
        .functions
        .values()
        .map(|f| f.variant.len())
        .max()
        .unwrap_or(7)
        .max(7);
    println!(
        "{:<w$}  {:>9}  {:<v$}  {:>7}  {:>12}  {:>14}",
        "function", "memory", "variant", "NI", "duration", "cost $/M exec"
    );
    for (id, f) in &e.functions {
        println!(
            "{id:<w$}  {:>6} MB  {:<v$}  {:>7.4}  {:>9.2} ms  {:>14.4}",
            f.memory_mb, f.variant, f.invocations, f.duration_ms, f.cost_usd_per_million
        );
    }
}
