//! `optiserve check`: does a configuration meet the service-level objectives? For CI: exit 0 when
//! every objective holds, 2 when one is missed.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::bail;
use serde::Serialize;

use crate::cli::{CheckArgs, Format};
use crate::input::{EXIT_INFEASIBLE, load_bundle, load_choices};

#[derive(Debug, Serialize)]
struct Objective {
    name: &'static str,
    limit: f64,
    value: f64,
    ok: bool,
}

#[derive(Debug, Serialize)]
struct CheckReport {
    ok: bool,
    objectives: Vec<Objective>,
    evaluation: optiserve_core::evaluate::Evaluation,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let c = args.constraints;
    if c.max_latency_ms.is_none()
        && c.max_cost_usd_per_million.is_none()
        && c.min_accuracy.is_none()
    {
        bail!(
            "no objective to check: give --max-latency-ms, --max-cost-usd-per-million or --min-accuracy"
        );
    }
    for (name, v) in [
        ("--max-latency-ms", c.max_latency_ms),
        ("--max-cost-usd-per-million", c.max_cost_usd_per_million),
        ("--min-accuracy", c.min_accuracy),
    ] {
        if let Some(v) = v
            && !v.is_finite()
        {
            bail!("{name}: {v} is not a finite number");
        }
    }
    let (_, mut app) = load_bundle(&args.bundle)?;
    args.model.apply(&mut app);
    let choices = load_choices(&app, args.config.as_deref())?;
    let e = app.evaluate(&choices);
    let mut objectives = Vec::new();
    if let Some(l) = c.max_latency_ms {
        objectives.push(Objective {
            name: "max_latency_ms",
            limit: l,
            value: e.latency_ms,
            ok: e.latency_ms <= l,
        });
    }
    if let Some(l) = c.max_cost_usd_per_million {
        objectives.push(Objective {
            name: "max_cost_usd_per_million",
            limit: l,
            value: e.cost_usd_per_million,
            ok: e.cost_usd_per_million <= l,
        });
    }
    if let Some(l) = c.min_accuracy {
        objectives.push(Objective {
            name: "min_accuracy",
            limit: l,
            value: e.accuracy,
            ok: e.accuracy >= l,
        });
    }
    let ok = objectives.iter().all(|o| o.ok);
    let report = CheckReport {
        ok,
        objectives,
        evaluation: e,
    };
    let text = match args.format {
        Format::Json => super::to_json(&report)?,
        Format::Human => {
            let mut o = String::new();
            for ob in &report.objectives {
                let (op, unit) = match ob.name {
                    "max_latency_ms" => ("<=", " ms"),
                    "max_cost_usd_per_million" => ("<=", " USD per million executions"),
                    _ => (">=", ""),
                };
                writeln!(
                    o,
                    "{}  {:<26} {:.4}{unit} {op} {}{unit}",
                    if ob.ok { "ok  " } else { "MISS" },
                    ob.name,
                    ob.value,
                    ob.limit
                )?;
            }
            writeln!(
                o,
                "{}",
                if ok {
                    "every objective holds"
                } else {
                    "the configuration misses an objective"
                }
            )?;
            o
        }
    };
    crate::output::emit(&text)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INFEASIBLE)
    })
}
