//! `optiserve optimize`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use optiserve_core::optimize::{
    Bcr, Constraints, GreedyOptions, Objective, Problem, SolveOptions, SolverKind, Status, solve,
};

use crate::cli::{
    BcrArg, ConstraintArgs, Format, ObjectiveArg, OptimizeArgs, SolverArg, SolverArgs,
};
use crate::input::{EXIT_INFEASIBLE, load_bundle};

pub fn objective(o: ObjectiveArg) -> Objective {
    match o {
        ObjectiveArg::Latency => Objective::Latency,
        ObjectiveArg::Cost => Objective::Cost,
        ObjectiveArg::Accuracy => Objective::Accuracy,
    }
}

pub fn constraints(c: &ConstraintArgs) -> anyhow::Result<Constraints> {
    let out = Constraints {
        max_latency_ms: c.max_latency_ms,
        max_cost_usd_per_million: c.max_cost_usd_per_million,
        min_accuracy: c.min_accuracy,
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
    let (_, app) = load_bundle(&args.bundle)?;
    let problem = Problem {
        objective: objective(args.objective),
        constraints: constraints(&args.constraints)?,
    };
    let options = solve_options(&args.solver);
    refuse_huge_brute_force(&app, &options)?;
    let started = Instant::now();
    let mut solution = solve(&app, &problem, &options);
    solution.elapsed_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    match args.format {
        Format::Json => o.push_str(&super::to_json(&solution)?),
        Format::Human => {
            let status = match solution.status {
                Status::Optimal => "optimal",
                Status::Feasible => "feasible (not proven optimal)",
                Status::Infeasible => "infeasible",
                Status::NotFound => {
                    "not found (the heuristic found no configuration; try --solver exact)"
                }
            };
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
