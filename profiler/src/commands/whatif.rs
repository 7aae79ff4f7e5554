//! `optiserve whatif`.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, bail};
use optiserve_core::optimize::request::{MAX_SWEEP_STEPS, SweepSpec, WhatIfRequest};
use optiserve_core::optimize::whatif::{WhatIfPoint, what_if};
use optiserve_core::optimize::{ConstraintKind, Constraints, Named, Status};

use super::optimize::flag_error;
use crate::cli::{TableFormat, WhatIfArgs};
use crate::input::load_bundle;

fn constraint_kind(name: &str) -> anyhow::Result<ConstraintKind> {
    ConstraintKind::parse(name).map_err(|e| anyhow::anyhow!(e))
}

fn number(s: &str, what: &str) -> anyhow::Result<f64> {
    let v: f64 = s
        .trim()
        .parse()
        .with_context(|| format!("{what}: expected a number, found '{s}'"))?;
    if !v.is_finite() {
        bail!("{what}: expected a finite number, found '{s}'");
    }
    Ok(v)
}

/// Parses `NAME=FROM:TO:STEPS` (the number of steps is checked with the request).
pub fn parse_sweep(spec: &str) -> anyhow::Result<SweepSpec> {
    let context = || format!("--vary {spec}");
    let (name, range) = spec
        .split_once('=')
        .with_context(|| format!("--vary {spec}: expected NAME=FROM:TO:STEPS"))?;
    let constraint = constraint_kind(name).with_context(context)?;
    let parts: Vec<&str> = range.split(':').collect();
    let [from, to, steps] = parts.as_slice() else {
        bail!("--vary {spec}: expected NAME=FROM:TO:STEPS, e.g. min-accuracy=0:1:11");
    };
    let steps: usize = steps.trim().parse().ok().with_context(|| {
        format!("--vary {spec}: STEPS must be a whole number from 1 to {MAX_SWEEP_STEPS}")
    })?;
    Ok(SweepSpec {
        constraint,
        from: number(from, &format!("--vary {spec}: FROM"))?,
        to: number(to, &format!("--vary {spec}: TO"))?,
        steps,
    })
}

fn parse_fixed(specs: &[String]) -> anyhow::Result<Constraints> {
    let mut c = Constraints::default();
    for spec in specs {
        let (name, value) = spec
            .split_once('=')
            .with_context(|| format!("--fixed {spec}: expected NAME=X"))?;
        let kind = constraint_kind(name).with_context(|| format!("--fixed {spec}"))?;
        c.set(kind, Some(number(value, &format!("--fixed {spec}"))?));
    }
    Ok(c)
}

/// The request the arguments make, as the wasm package's JSON makes one; a tail-aware sweep
/// without `--seed` gets a random one.
fn request(args: &WhatIfArgs) -> anyhow::Result<WhatIfRequest> {
    let mut request = WhatIfRequest {
        objective: args.objective,
        vary: args
            .vary
            .iter()
            .map(|s| parse_sweep(s))
            .collect::<anyhow::Result<Vec<_>>>()?,
        fixed: parse_fixed(&args.fixed)?,
        solver: Some(args.solver.solver),
        node_limit: Some(args.solver.node_limit),
        greedy: Some(super::optimize::greedy(&args.solver)),
        scenarios: Some(args.tail.scenarios),
        seed: args.tail.seed,
        durations: Some(args.tail.durations),
        certify_runs: Some(args.tail.certify_runs),
    };
    if request.is_tail() && request.seed.is_none() {
        request.seed = Some(super::simulate::draw_seed()?);
    }
    Ok(request)
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Optimal => "optimal",
        Status::Feasible => "feasible",
        Status::Infeasible => "infeasible",
        Status::NotFound => "not_found",
    }
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| format!("{x}"))
}

pub fn run(args: &WhatIfArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let (_, mut app) = load_bundle(&args.bundle)?;
    args.model.apply(&mut app);
    let request = request(args)?;
    let sweeps = request.sweeps().map_err(flag_error)?;
    let options = request.options().map_err(flag_error)?;
    let tail = request.is_tail();
    super::optimize::refuse_huge_brute_force(&app, &options)?;
    let points =
        what_if(&app, request.objective, request.fixed, &sweeps, &options).map_err(flag_error)?;
    if tail && args.format != TableFormat::Json {
        // The JSON carries the seed in every point; the table and CSV say it once, on stderr.
        eprintln!(
            "tail-latency points: {} sampled executions, seed {}",
            options.tail.scenarios, options.tail.seed
        );
    }
    match args.format {
        TableFormat::Json => o.push_str(&super::to_json(&points)?),
        TableFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header = vec![
                "max_latency_ms",
                "max_cost_usd_per_million",
                "min_accuracy",
                "status",
                "latency_ms",
                "cost_usd_per_million",
                "accuracy",
            ];
            if tail {
                header.extend([
                    "max_p95_latency_ms",
                    "max_p99_latency_ms",
                    "p95_ms",
                    "p99_ms",
                    "certified_p95_ms",
                    "certified_p99_ms",
                ]);
            }
            w.write_record(&header)?;
            for p in &points {
                let mut r = row(p).to_vec();
                if tail {
                    r.extend(tail_row(p));
                }
                w.write_record(&r)?;
            }
            o.push_str(&String::from_utf8(w.into_inner()?)?);
        }
        TableFormat::Table => {
            write!(
                o,
                "{:>14} {:>14} {:>12}  {:<10} {:>12} {:>12} {:>9}",
                "max latency",
                "max cost $/M",
                "min acc",
                "status",
                "latency ms",
                "cost $/M",
                "accuracy"
            )?;
            if tail {
                write!(
                    o,
                    " {:>12} {:>12} {:>12} {:>12} {:>14} {:>14}",
                    "max p95", "max p99", "p95 ms", "p99 ms", "certified p95", "certified p99"
                )?;
            }
            writeln!(o)?;
            for p in &points {
                let r = row(p);
                write!(
                    o,
                    "{:>14} {:>14} {:>12}  {:<10} {:>12} {:>12} {:>9}",
                    short(&r[0]),
                    short(&r[1]),
                    short(&r[2]),
                    r[3],
                    short(&r[4]),
                    short(&r[5]),
                    short(&r[6])
                )?;
                if tail {
                    let t = tail_row(p);
                    write!(
                        o,
                        " {:>12} {:>12} {:>12} {:>12} {:>14} {:>14}",
                        short(&t[0]),
                        short(&t[1]),
                        short(&t[2]),
                        short(&t[3]),
                        short(&t[4]),
                        short(&t[5])
                    )?;
                }
                writeln!(o)?;
            }
        }
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

fn row(p: &WhatIfPoint) -> [String; 7] {
    let s = &p.solution;
    [
        cell(p.constraints.max_latency_ms),
        cell(p.constraints.max_cost_usd_per_million),
        cell(p.constraints.min_accuracy),
        status_name(s.status).to_string(),
        cell(s.latency_ms),
        cell(s.cost_usd_per_million),
        cell(s.accuracy),
    ]
}

fn tail_row(p: &WhatIfPoint) -> [String; 6] {
    let t = p.solution.tail.as_ref();
    let c = t.and_then(|t| t.certification.as_ref());
    [
        cell(p.constraints.max_p95_latency_ms),
        cell(p.constraints.max_p99_latency_ms),
        cell(t.and_then(|t| t.p95_ms)),
        cell(t.and_then(|t| t.p99_ms)),
        cell(c.map(|c| c.p95_ms)),
        cell(c.map(|c| c.p99_ms)),
    ]
}

/// Four decimals for the table.
fn short(s: &str) -> String {
    s.parse::<f64>()
        .map_or_else(|_| s.to_string(), |v| format!("{v:.4}"))
}
