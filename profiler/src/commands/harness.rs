//! `optiserve harness`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use optiserve_core::optimize::Objective;
use optiserve_core::optimize::harness::{HarnessReport, SolverScore, run_with};
use optiserve_core::optimize::synthetic::{SyntheticScore, SyntheticSpec, generate};

use crate::cli::{HarnessArgs, HarnessFormat};
use crate::input::load_bundle;

pub fn run(args: &HarnessArgs) -> anyhow::Result<ExitCode> {
    let (name, mut app) = match (&args.bundle, args.bundle_size) {
        (_, Some(n)) => {
            let bundle = generate(&SyntheticSpec {
                functions: n as usize,
                seed: args.bundle_seed,
                score: SyntheticScore::WeightedSum,
                express: false,
            });
            let app = bundle
                .validate()
                .map_err(|e| anyhow::anyhow!("the generated bundle: {e}"))?;
            (
                format!("generated, {n} functions, seed {}", args.bundle_seed),
                app,
            )
        }
        (Some(path), None) => (path.display().to_string(), load_bundle(path)?.1),
        (None, None) => anyhow::bail!("a bundle or --bundle-size is needed"),
    };
    args.model.apply(&mut app);
    let options = super::optimize::solve_options(&args.solver)?;
    let started = Instant::now();
    let clock = || started.elapsed().as_secs_f64() * 1e3;
    let report = run_with(
        &app,
        usize::from(args.grid),
        &options,
        Some(&clock),
        !args.no_greedy,
    );
    let elapsed = started.elapsed().as_secs_f64();
    let mut o = String::new();
    match args.format {
        HarnessFormat::Json => o.push_str(&super::to_json(&report)?),
        HarnessFormat::Csv => o.push_str(&csv(&report)?),
        HarnessFormat::Human => {
            let g = usize::from(args.grid);
            writeln!(
                o,
                "{}: {} problems per objective ({g}×{g}), {} configurations, reference {}, latency: {}",
                name,
                g * g,
                optiserve_core::limits::approx(report.configurations),
                report.reference,
                app.latency_model.describe()
            )?;
            writeln!(
                o,
                "{:<9} {:<7} {:>9} {:>9} {:>10} {:>7} {:>12} {:>6} {:>7}",
                "objective",
                "solver",
                "feasible",
                "optimal",
                "within 95%",
                "missed",
                "infeasible",
                "wrong",
                "worst"
            )?;
            for r in &report.objectives {
                let name = objective_name(r.objective);
                line(&mut o, name, "exact", &r.exact)?;
                if let Some(g) = &r.greedy {
                    line(&mut o, name, "greedy", g)?;
                }
            }
            if !report.certified.is_empty() {
                writeln!(
                    o,
                    "against the exact search's certified bounds (optimum unknown past brute force):"
                )?;
                writeln!(
                    o,
                    "{:<9} {:<7} {:>8} {:>8} {:>7} {:>9} {:>10} {:>10} {:>7}",
                    "objective",
                    "solver",
                    "problems",
                    "answered",
                    "proven",
                    "within 1%",
                    "median gap",
                    "worst gap",
                    "0 vs >0"
                )?;
                for c in &report.certified {
                    writeln!(
                        o,
                        "{:<9} {:<7} {:>8} {:>8} {:>7} {:>9} {:>9.3}% {:>9.3}% {:>7}",
                        objective_name(c.objective),
                        c.solver,
                        c.problems,
                        c.answered,
                        c.proven,
                        c.within_1_percent,
                        c.median_gap_percent,
                        c.worst_gap_percent,
                        c.no_relative_gap
                    )?;
                }
            }
            writeln!(o, "({elapsed:.2} s)")?;
        }
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

fn line(o: &mut String, objective: &str, solver: &str, s: &SolverScore) -> std::fmt::Result {
    writeln!(
        o,
        "{objective:<9} {solver:<7} {:>9} {:>8.1}% {:>9.1}% {:>7} {:>5}/{:<6} {:>6} {:>7.2}",
        s.feasible_problems,
        s.optimal_percent(),
        s.within_95_percent(),
        s.missed,
        s.infeasible_detected,
        s.infeasible_problems,
        s.wrong,
        s.worst_score
    )
}

fn objective_name(objective: Objective) -> &'static str {
    match objective {
        Objective::Latency => "latency",
        Objective::Cost => "cost",
        Objective::Accuracy => "accuracy",
        Objective::P95Latency => "p95-latency",
        Objective::P99Latency => "p99-latency",
    }
}

/// One line per problem: its limits, the optimum, and per solver the value, proof, bound, gap,
/// evaluations and time (empty cells for what does not apply).
fn csv(report: &HarnessReport) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "objective",
        "max_latency_ms",
        "max_cost_usd_per_million",
        "min_accuracy",
        "optimum",
        "exact_value",
        "exact_proven",
        "exact_bound",
        "exact_gap_percent",
        "exact_evaluations",
        "exact_ms",
        "greedy_value",
        "greedy_evaluations",
        "greedy_ms",
    ])?;
    let cell = |x: Option<f64>| x.map_or_else(String::new, |v| v.to_string());
    for p in &report.problems {
        let c = p.constraints;
        w.write_record([
            objective_name(p.objective).to_string(),
            cell(c.max_latency_ms),
            cell(c.max_cost_usd_per_million),
            cell(c.min_accuracy),
            cell(p.optimum),
            cell(p.exact.value),
            p.exact.proven.to_string(),
            cell(p.exact.bound),
            cell(p.exact.gap_percent),
            p.exact.evaluations.to_string(),
            cell(p.exact.time_ms),
            cell(p.greedy.as_ref().and_then(|g| g.value)),
            p.greedy
                .as_ref()
                .map_or_else(String::new, |g| g.evaluations.to_string()),
            cell(p.greedy.as_ref().and_then(|g| g.time_ms)),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use optiserve_core::bundle::Bundle;
    use optiserve_core::optimize::SolveOptions;
    use optiserve_core::optimize::harness::run;

    #[test]
    fn csv_has_a_header_and_a_line_per_problem() {
        let app = Bundle::from_json(include_str!("../../../examples/app3.bundle.json"))
            .expect("a bundle")
            .validate()
            .expect("a valid bundle");
        let report = run(&app, 2, &SolveOptions::default());
        let text = super::csv(&report).expect("csv");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 12);
        assert!(lines[0].starts_with("objective,max_latency_ms,"));
        let columns = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == columns));
        assert!(lines[1].starts_with("latency,,"));
    }
}
