//! `optiserve optimize`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use optiserve_core::optimize::request::{GreedyRequest, with_flag_names};
use optiserve_core::optimize::tail::{TailReport, Verdict};
use optiserve_core::optimize::{
    Constraints, Named, Objective, OptimizeRequest, SolveOptions, SolverKind, Status, solve,
};

use crate::cli::{ConstraintArgs, Format, OptimizeArgs, SolverArgs};
use crate::input::{EXIT_INFEASIBLE, load_bundle};

/// The limits the flags give (checked when the request is).
pub fn constraints(c: &ConstraintArgs) -> Constraints {
    Constraints {
        max_latency_ms: c.max_latency_ms,
        max_cost_usd_per_million: c.max_cost_usd_per_million,
        min_accuracy: c.min_accuracy,
        max_p95_latency_ms: c.max_p95_latency_ms,
        max_p99_latency_ms: c.max_p99_latency_ms,
    }
}

/// The greedy settings the flags give.
pub fn greedy(a: &SolverArgs) -> GreedyRequest {
    GreedyRequest {
        accuracy_weight: Some(a.accuracy_weight),
        bcr: Some(a.bcr),
        bcr_threshold: Some(a.bcr_threshold),
        polish: Some(!a.greedy_faithful),
    }
}

/// A message of core's about a request or a solve, with its fields named as flags.
pub fn flag_error(message: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{}", with_flag_names(&message.to_string()))
}

/// The solver settings of the flags, as a request builds them (no tail-aware problem).
pub fn solve_options(a: &SolverArgs) -> anyhow::Result<SolveOptions> {
    let mut request = OptimizeRequest::new(Objective::Cost);
    request.solver = Some(a.solver);
    request.node_limit = Some(a.node_limit);
    request.greedy = Some(greedy(a));
    Ok(request.parts().map_err(flag_error)?.1)
}

/// The request the arguments make, as the wasm package's JSON makes one; a tail-aware problem
/// without `--seed` gets a random one (the report says which).
pub fn request(args: &OptimizeArgs) -> anyhow::Result<OptimizeRequest> {
    let mut request = OptimizeRequest {
        objective: args.objective,
        constraints: constraints(&args.constraints),
        solver: Some(args.solver.solver),
        node_limit: Some(args.solver.node_limit),
        greedy: Some(greedy(&args.solver)),
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

/// The tail-latency part of an answer, for people.
pub fn print_tail(o: &mut String, bundle: &std::path::Path, t: &TailReport) -> std::fmt::Result {
    use std::fmt::Write as _;
    let durations = t.durations.flag_value();
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
    let (problem, options) = request(args)?.parts().map_err(flag_error)?;
    refuse_huge_brute_force(&app, &options)?;
    let started = Instant::now();
    let mut solution = solve(&app, &problem, &options).map_err(flag_error)?;
    solution.elapsed_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    match args.format {
        Format::Json => o.push_str(&super::to_json(&solution)?),
        Format::Human => {
            let status = status_text(&solution);
            writeln!(
                o,
                "status    {status}  [{} solver, {} evaluations, {:.2} ms]",
                solution.solver.flag_value(),
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
