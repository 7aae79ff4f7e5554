//! `optiserve simulate`.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use optiserve_core::simulate::{SimulationRequest, simulate};

use crate::cli::{Format, SimulateArgs};
use crate::input::{load_bundle, load_choices};

/// A random seed below 2^53, so that it survives a trip through a JavaScript number (the wasm
/// package draws its seeds the same way).
pub fn draw_seed() -> anyhow::Result<u64> {
    Ok(getrandom::u64().context("no random seed available; pass --seed")? >> 11)
}

pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let (_, mut app) = load_bundle(&args.bundle)?;
    args.model.apply(&mut app);
    let choices = load_choices(&app, args.config.as_deref())?;
    let seed = match args.seed {
        Some(s) => s,
        None => draw_seed()?,
    };
    let request = SimulationRequest {
        runs: args.runs,
        seed,
        durations: args.durations,
        bins: 40,
    };
    let r = simulate(&app, &choices, &request)?;
    let mut o = String::new();
    match args.format {
        Format::Json => o.push_str(&super::to_json(&r)?),
        Format::Human => {
            writeln!(o, "{} executions simulated (seed {})", r.runs, r.seed)?;
            writeln!(
                o,
                "latency   mean {:.2} ms, sd {:.2} ms",
                r.mean_ms, r.std_ms
            )?;
            writeln!(
                o,
                "          p50 {:.2}  p90 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2} ms",
                r.p50_ms, r.p90_ms, r.p95_ms, r.p99_ms, r.max_ms
            )?;
            writeln!(
                o,
                "          95% confidence: p95 {:.2} – {:.2} ms, p99 {:.2} – {:.2} ms",
                r.p95_ci_ms[0], r.p95_ci_ms[1], r.p99_ci_ms[0], r.p99_ci_ms[1]
            )?;
            writeln!(
                o,
                "model     EET {:.2} ms ({}): {:+.2}% against the simulated mean{}",
                r.analytic_latency_ms,
                r.latency_model.describe(),
                r.latency_bias_percent,
                if r.latency_bias_percent < -0.5 {
                    " (the model leaves out the spread of durations: a parallel block's expected max exceeds the max of its arms' expectations)"
                } else {
                    ""
                }
            )?;
            writeln!(
                o,
                "cost      ${:.4} per million executions simulated, ${:.4} by the model",
                r.mean_cost_usd_per_million, r.analytic_cost_usd_per_million
            )?;
            let peak = r
                .histogram
                .iter()
                .map(|b| b.count)
                .max()
                .unwrap_or(1)
                .max(1);
            for b in &r.histogram {
                let bar = "█".repeat((b.count * 40 / peak) as usize);
                writeln!(
                    o,
                    "{:>10.1} – {:>10.1} ms {:>8} {bar}",
                    b.from_ms, b.to_ms, b.count
                )?;
            }
        }
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}
