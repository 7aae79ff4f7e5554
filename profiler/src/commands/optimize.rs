//! `optiserve optimize`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use optiserve_core::optimize::tail::{TailReport, TailSettings, Verdict};
use optiserve_core::optimize::{
    Bcr, Constraints, GreedyOptions, Objective, Problem, SolveOptions, SolverKind, Status, solve,
};
use optiserve_core::simulate::DurationSource;

use crate::cli::{
    BcrArg, ConstraintArgs, DurationsArg, Format, ObjectiveArg, OptimizeArgs, SolverArg,
    SolverArgs, TailArgs,
};
use crate::input::{EXIT_INFEASIBLE, load_bundle};

pub fn objective(o: ObjectiveArg) -> Objective {
    match o {
        ObjectiveArg::Latency => Objective::Latency,
        ObjectiveArg::Cost => Objective::Cost,
        ObjectiveArg::Accuracy => Objective::Accuracy,
        ObjectiveArg::P95Latency => Objective::P95Latency,
        ObjectiveArg::P99Latency => Objective::P99Latency,
    }
}

pub fn constraints(c: &ConstraintArgs) -> anyhow::Result<Constraints> {
    let out = Constraints {
        max_latency_ms: c.max_latency_ms,
        max_cost_usd_per_million: c.max_cost_usd_per_million,
        min_accuracy: c.min_accuracy,
        max_p95_latency_ms: c.max_p95_latency_ms,
        max_p99_latency_ms: c.max_p99_latency_ms,
    };
    out.check()
        .map_err(|e| anyhow::anyhow!("--{}", e.replace('_', "-")))?;
    Ok(out)
}

pub fn solve_options(a: &SolverArgs) -> SolveOptions {
    SolveOptions {
        solver: match a.solver {
            SolverArg::Exact => SolverKind::Exact,
            SolverArg::Greedy => SolverKind::Greedy,
            SolverArg::BruteForce => SolverKind::BruteForce,
        },
        node_limit: a.node_limit,
        tail: TailSettings::default(),
        greedy: GreedyOptions {
            accuracy_weight: a.accuracy_weight,
            polish: !a.greedy_faithful,
            bcr: match a.bcr {
                BcrArg::Max => Bcr::Max,
                BcrArg::Slope => Bcr::Slope {
                    threshold: a.bcr_threshold,
                },
            },
        },
    }
}

/// The tail settings; a seed is drawn when `needed` and none was given.
pub fn tail_settings(t: &TailArgs, needed: bool) -> anyhow::Result<TailSettings> {
    let seed = match t.seed {
        Some(s) => s,
        None if needed => super::simulate::draw_seed()?,
        None => 0,
    };
    Ok(TailSettings {
        scenarios: t.scenarios,
        seed,
        durations: match t.durations {
            DurationsArg::Samples => DurationSource::Samples,
            DurationsArg::Model => DurationSource::Model,
        },
        certify_runs: t.certify_runs,
    })
}

/// The tail-latency part of an answer, for people.
pub fn print_tail(o: &mut String, bundle: &std::path::Path, t: &TailReport) -> std::fmt::Result {
    use std::fmt::Write as _;
    let durations = match t.durations {
        DurationSource::Samples => "samples",
        DurationSource::Model => "model",
    };
    if let (Some(p95), Some(p99)) = (t.p95_ms, t.p99_ms) {
        writeln!(
            o,
            "tail      p95 {p95:.2} ms, p99 {p99:.2} ms over {} sampled executions (seed {}, durations {durations}): optimal for these",
            t.scenarios, t.seed
        )?;
    } else {
        writeln!(
            o,
            "tail      over {} sampled executions (seed {}, durations {durations})",
            t.scenarios, t.seed
        )?;
    }
    if let Some(c) = &t.certification {
        writeln!(
            o,
            "certified p95 {:.2} ms (95% CI {:.2} – {:.2}), p99 {:.2} ms (95% CI {:.2} – {:.2}), mean {:.2} ms",
            c.p95_ms,
            c.p95_ci_ms[0],
            c.p95_ci_ms[1],
            c.p99_ms,
            c.p99_ci_ms[0],
            c.p99_ci_ms[1],
            c.mean_ms
        )?;
        writeln!(
            o,
            "          by {} independent executions (seed {}; the same as `optiserve simulate {} --config <this answer> --runs {} --seed {} --durations {durations}`)",
            c.runs,
            c.seed,
            bundle.display(),
            c.runs,
            c.seed
        )?;
        for check in &c.checks {
            let (word, note) = match check.verdict {
                Verdict::Met => ("met", ""),
                Verdict::WithinNoise => (
                    "met, within noise",
                    ": the confidence interval reaches past the limit",
                ),
                Verdict::Exceeded => (
                    "EXCEEDED",
                    ": the re-simulated percentile is past the limit; rerun with more --scenarios",
                ),
            };
            writeln!(
                o,
                "          {} = {} ms: {word} (certified {:.2} ms){note}",
                check.constraint.name(),
                check.limit_ms,
                check.certified_ms
            )?;
        }
    }
    Ok(())
}

/// The status for people: a feasible answer says how far from the optimum it can be, and an
/// answer not found says why.
pub fn status_text(solution: &optiserve_core::optimize::Solution) -> String {
    match (solution.status, solution.gap_percent) {
        (Status::Optimal, _) => "optimal".to_string(),
        (Status::Feasible, Some(gap)) => format!(
            "feasible, within {} of optimal (certified bound {})",
            percent(gap),
            solution.bound.map_or_else(String::new, |b| format!("{b:.6}"))
        ),
        (Status::Feasible, None) => "feasible (not proven optimal)".to_string(),
        (Status::Infeasible, _) => "infeasible".to_string(),
        (Status::NotFound, _) if solution.solver == SolverKind::Greedy => {
            "not found (the heuristic found no configuration; try --solver exact)".to_string()
        }
        (Status::NotFound, _) => {
            "not found (the search stopped at its node limit before finding a configuration or proving there is none; raise --node-limit)".to_string()
        }
    }
}

/// A gap in percent, with enough digits to be honest about small ones.
fn percent(gap: f64) -> String {
    if gap >= 1.0 {
        format!("{gap:.1}%")
    } else if gap >= 0.01 {
        format!("{gap:.2}%")
    } else {
        format!("{gap:.1e}%")
    }
}

/// Brute force visits every configuration: refuse grids it could not finish in minutes.
pub fn refuse_huge_brute_force(
    app: &optiserve_core::bundle::Application,
    options: &SolveOptions,
) -> anyhow::Result<()> {
    const LIMIT: f64 = 1e9;
    let size = optiserve_core::optimize::SearchSpace::full(app).size();
    if options.solver == SolverKind::BruteForce && size > LIMIT {
        anyhow::bail!(
            "--solver brute-force: the grid has {size:.3e} configurations, more than the {LIMIT:.0e} brute force is allowed to visit; use --solver exact"
        );
    }
    Ok(())
}

pub fn run(args: &OptimizeArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let (_, mut app) = load_bundle(&args.bundle)?;
    args.model.apply(&mut app);
    let problem = Problem {
        objective: objective(args.objective),
        constraints: constraints(&args.constraints)?,
    };
    let mut options = solve_options(&args.solver);
    options.tail = tail_settings(&args.tail, problem.is_tail())?;
    refuse_huge_brute_force(&app, &options)?;
    let started = Instant::now();
    let mut solution = solve(&app, &problem, &options)
        .map_err(|e| anyhow::anyhow!("--{}", e.to_string().replace('_', "-")))?;
    solution.elapsed_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    match args.format {
        Format::Json => o.push_str(&super::to_json(&solution)?),
        Format::Human => {
            let status = status_text(&solution);
            writeln!(
                o,
                "status    {status}  [{} solver, {} evaluations, {:.2} ms]",
                match solution.solver {
                    SolverKind::Exact => "exact",
                    SolverKind::Greedy => "greedy",
                    SolverKind::BruteForce => "brute-force",
                },
                solution.evaluations,
                solution.elapsed_ms.unwrap_or(0.0)
            )?;
            if let Some(why) = &solution.infeasible {
                writeln!(o, "why       {}", why.message)?;
            }
            if let Some(t) = &solution.tail {
                print_tail(&mut o, &args.bundle, t)?;
            }
            if let Some(config) = &solution.config {
                let choices = app.resolve(config, "$.config")?;
                super::evaluate::print_human(&mut o, &app.evaluate(&choices))?;
            }
        }
    }
    crate::output::emit(&o)?;
    Ok(if solution.config.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INFEASIBLE)
    })
}
