//! `optiserve harness`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use optiserve_core::optimize::Objective;
use optiserve_core::optimize::harness::{SolverScore, run as run_harness};

use crate::cli::{Format, HarnessArgs};
use crate::input::load_bundle;

pub fn run(args: &HarnessArgs) -> anyhow::Result<ExitCode> {
    let (_, mut app) = load_bundle(&args.bundle)?;
    args.model.apply(&mut app);
    let options = super::optimize::solve_options(&args.solver);
    let started = Instant::now();
    let report = run_harness(&app, usize::from(args.grid), &options);
    let elapsed = started.elapsed().as_secs_f64();
    let mut o = String::new();
    match args.format {
        Format::Json => o.push_str(&super::to_json(&report)?),
        Format::Human => {
            let g = usize::from(args.grid);
            writeln!(
                o,
                "{}: {} problems per objective ({g}×{g}), {} configurations, reference {}, latency: {}",
                args.bundle.display(),
                g * g,
                report.configurations,
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
                let name = match r.objective {
                    Objective::Latency => "latency",
                    Objective::Cost => "cost",
                    Objective::Accuracy => "accuracy",
                    Objective::P95Latency => "p95-latency",
                    Objective::P99Latency => "p99-latency",
                };
                for (solver, s) in [("exact", &r.exact), ("greedy", &r.greedy)] {
                    line(&mut o, name, solver, s)?;
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
