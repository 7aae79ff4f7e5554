//! `optiserve evaluate`.

use std::fmt::Write as _;
use std::process::ExitCode;

use optiserve_core::evaluate::Evaluation;

use crate::cli::{EvaluateArgs, Format};
use crate::input::{load_bundle, load_choices};

pub fn run(args: &EvaluateArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let (_, mut app) = load_bundle(&args.bundle)?;
    args.model.apply(&mut app);
    let choices = load_choices(&app, args.config.as_deref())?;
    let evaluation = app.evaluate(&choices);
    match args.format {
        Format::Json => o.push_str(&super::to_json(&evaluation)?),
        Format::Human => print_human(&mut o, &evaluation)?,
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

pub fn print_human(o: &mut String, e: &Evaluation) -> std::fmt::Result {
    writeln!(
        o,
        "latency   {:.2} ms (expected, end to end; {})",
        e.latency_ms,
        e.latency_model.describe()
    )?;
    if e.latency_error_bound_ms >= 0.005 {
        writeln!(
            o,
            "          (a lower bound: the model's exact value is at most {:.2} ms higher)",
            e.latency_error_bound_ms
        )?;
    }
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
