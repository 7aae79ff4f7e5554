//! The package's operations on JSON text, in plain Rust: each one parses its input with
//! `optiserve-core`'s own functions (so an error names the JSON path exactly as the CLI's does),
//! calls `core`, and returns `core`'s result type. Nothing here computes a number: `lib.rs` only
//! moves values across the JavaScript boundary, and the CLI calls the same `core` functions.
//!
//! Errors are the messages the JavaScript `Error`s carry: `$.<path>: <what is wrong>`.

use optiserve_core::bundle::{Application, Bundle, parse_json};
use optiserve_core::evaluate::Evaluation;
use optiserve_core::import::import_optiserve_spec;
use optiserve_core::model::{FitReport, ModelError, Sample, fit_exponential};
use optiserve_core::optimize::pareto::{ParetoPoint, front};
use optiserve_core::optimize::whatif::{WhatIfPoint, WhatIfRequest, what_if};
use optiserve_core::optimize::{
    OptimizeRequest, SearchSpace, Solution, SolveOptions, SolverKind, solve,
};
use optiserve_core::report::ValidationReport;
use optiserve_core::workflow::{LoopKind, Structure};
use schemars::JsonSchema;
use serde::Serialize;

/// Default search-node budget of [`pareto`]: the default of the CLI's `pareto --node-limit`.
pub const PARETO_NODE_LIMIT: u64 = 2_000_000;

/// Most grid points one [`what_if`] call solves. Each point's answer is kept in memory and handed
/// to JavaScript; a larger grid would exhaust the module's memory (which, unlike an error, aborts
/// the module). The CLI has no such limit.
pub const MAX_WHAT_IF_POINTS: usize = 100_000;

/// Reads and validates a bundle (`Bundle::from_json`, then `validate`).
pub fn application(text: &str) -> Result<Application, String> {
    let bundle = Bundle::from_json(text).map_err(|e| e.to_string())?;
    bundle.validate().map_err(|e| e.to_string())
}

/// What `optiserve validate --format json` prints.
pub fn validate(app: &Application) -> ValidationReport {
    app.report()
}

/// What `optiserve evaluate [--config FILE] --format json` prints: the deployed configuration
/// without `config`, otherwise the configuration read as `--config` reads it.
pub fn evaluate(app: &Application, config: Option<&str>) -> Result<Evaluation, String> {
    let choices = match config {
        None => app.deployed.clone(),
        Some(text) => app.read_configuration(text).map_err(|e| e.to_string())?,
    };
    Ok(app.evaluate(&choices))
}

/// What `optiserve optimize --format json` prints, without `elapsed_ms` (the caller has the clock).
pub fn optimize(app: &Application, request: &str) -> Result<Solution, String> {
    let request: OptimizeRequest = parse_json(request).map_err(|e| e.to_string())?;
    let (problem, options) = request.parts().map_err(|e| format!("$.{e}"))?;
    Ok(solve(app, &problem, &options))
}

/// What `optiserve whatif --format json` prints.
pub fn what_if_sweep(app: &Application, request: &str) -> Result<Vec<WhatIfPoint>, String> {
    let request: WhatIfRequest = parse_json(request).map_err(|e| e.to_string())?;
    let sweeps = request.sweeps().map_err(|e| format!("$.{e}"))?;
    let points = sweeps
        .iter()
        .map(|s| s.values.len())
        .fold(1_usize, usize::saturating_mul);
    if points > MAX_WHAT_IF_POINTS {
        return Err(format!(
            "$.vary: the grid has {points} points; one call solves at most {MAX_WHAT_IF_POINTS} (use fewer steps)"
        ));
    }
    let options = SolveOptions {
        solver: request.solver.unwrap_or(SolverKind::Exact),
        ..SolveOptions::default()
    };
    Ok(what_if(
        app,
        request.objective,
        request.fixed,
        &sweeps,
        &options,
    ))
}

/// What `optiserve pareto --node-limit N --format json` prints.
pub fn pareto(app: &Application, node_limit: u64) -> Result<Vec<ParetoPoint>, String> {
    front(&SearchSpace::full(app).pruned(), node_limit)
        .map(|(points, _)| points)
        .map_err(|e| e.to_string())
}

/// The workflow as `core` reduced it (`validate`'s one-line `structure`, as a tree), with
/// functions named by id: for drawing the workflow.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkflowBlock {
    /// One invocation of a function.
    Function {
        /// The function's id.
        id: String,
    },
    /// Blocks run one after another (none: takes no time).
    Sequence {
        /// The blocks, in order.
        items: Vec<WorkflowBlock>,
    },
    /// Exactly one arm runs.
    Branch {
        /// The arms with their probabilities.
        arms: Vec<BranchArm>,
    },
    /// All arms run; the block ends when the slowest arm ends.
    Parallel {
        /// The arms.
        arms: Vec<WorkflowBlock>,
    },
    /// The body runs a geometric number of times.
    Loop {
        /// Mean number of runs, `1/(1−p)`.
        expected_runs: f64,
        /// `true` for a self-loop `(n, n, p)`, `false` for a cycle closed by a back edge.
        self_loop: bool,
        /// The repeated block.
        body: Box<WorkflowBlock>,
    },
}

/// One arm of a branch block.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BranchArm {
    /// Probability that this arm runs.
    pub probability: f64,
    /// What runs.
    pub block: WorkflowBlock,
}

/// The reduced workflow of `app` as a [`WorkflowBlock`] tree.
pub fn structure(app: &Application) -> WorkflowBlock {
    fn go(s: &Structure, ids: &[String]) -> WorkflowBlock {
        match s {
            Structure::Function(i) => WorkflowBlock::Function {
                id: ids.get(*i).cloned().unwrap_or_default(),
            },
            Structure::Sequence(items) => WorkflowBlock::Sequence {
                items: items.iter().map(|b| go(b, ids)).collect(),
            },
            Structure::Branch(arms) => WorkflowBlock::Branch {
                arms: arms
                    .iter()
                    .map(|(p, b)| BranchArm {
                        probability: *p,
                        block: go(b, ids),
                    })
                    .collect(),
            },
            Structure::Parallel(arms) => WorkflowBlock::Parallel {
                arms: arms.iter().map(|b| go(b, ids)).collect(),
            },
            Structure::Repeat {
                expected_runs,
                kind,
                body,
            } => WorkflowBlock::Loop {
                expected_runs: *expected_runs,
                self_loop: *kind == LoopKind::SelfLoop,
                body: Box::new(go(body, ids)),
            },
        }
    }
    go(app.workflow.structure(), app.workflow.function_ids())
}

/// What `optiserve fit --format json` prints for a JSON list of samples.
pub fn fit(samples: &str) -> Result<FitReport, String> {
    let samples: Vec<Sample> = parse_json(samples).map_err(|e| e.to_string())?;
    fit_exponential(&samples).map_err(|e| model_error(&e))
}

/// `optiserve import optiserve-spec`: the bundle (validated by `core` before it is returned).
pub fn import_spec(spec: &str) -> Result<Bundle, String> {
    import_optiserve_spec(spec).map_err(|e| e.to_string())
}

/// A fitting error with the JSON path of the sample it is about.
fn model_error(e: &ModelError) -> String {
    let path = match e {
        ModelError::NonFiniteSample { index, .. } => format!("$[{index}]"),
        ModelError::NonPositiveMemory { index, .. } => format!("$[{index}].memory_mb"),
        ModelError::NonPositiveDuration { index, .. } => format!("$[{index}].duration_ms"),
        _ => "$".to_string(),
    };
    format!("{path}: {e}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    const APP3: &str = include_str!("../../examples/app3.bundle.json");

    #[test]
    fn errors_name_the_json_path() {
        let app = application(APP3).unwrap();
        let e = optimize(
            &app,
            r#"{"objective": "latency", "constraints": {"max_cost": 3}}"#,
        )
        .unwrap_err();
        assert!(
            e.starts_with("$.constraints.max_cost: unknown field `max_cost`"),
            "{e}"
        );
        let e = what_if_sweep(
            &app,
            r#"{"objective": "cost", "vary": [{"constraint": "min_accuracy", "from": 0, "to": 1, "steps": 0}]}"#,
        )
        .unwrap_err();
        assert!(e.starts_with("$.vary[0].steps: "), "{e}");
        let e =
            fit(r#"[{"memory_mb": 128, "duration_ms": 10}, {"memory_mb": -1, "duration_ms": 5}]"#)
                .unwrap_err();
        assert!(e.starts_with("$[1].memory_mb: "), "{e}");
        let e = evaluate(&app, Some(r#"{"nope": {"memory_mb": 128}}"#)).unwrap_err();
        assert!(e.starts_with("$"), "{e}");
    }

    #[test]
    fn structure_names_functions_and_keeps_the_blocks() {
        let media = include_str!("../../examples/media-pipeline.bundle.json");
        let app = application(media).unwrap();
        let tree = serde_json::to_value(structure(&app)).unwrap();
        let text = tree.to_string();
        for needle in [
            r#""kind":"parallel""#,
            r#""kind":"branch""#,
            r#""self_loop":false"#,
            r#""id":"classify""#,
            r#""probability":0.6"#,
        ] {
            assert!(text.contains(needle), "{needle} not in {text}");
        }
        let app3 = application(APP3).unwrap();
        let tree = serde_json::to_value(structure(&app3)).unwrap();
        let function = |id: &str| serde_json::json!({"kind": "function", "id": id});
        assert_eq!(
            tree,
            serde_json::json!({"kind": "sequence", "items": [
                {"kind": "loop", "expected_runs": 1.0 / 0.7, "self_loop": false,
                 "body": {"kind": "sequence", "items": [function("f1"), function("resnet")]}},
                {"kind": "loop", "expected_runs": 1.25, "self_loop": true, "body": function("yolo")},
            ]})
        );
    }

    #[test]
    fn huge_what_if_grids_are_refused() {
        let app = application(APP3).unwrap();
        let e = what_if_sweep(
            &app,
            r#"{"objective": "cost", "vary": [
                {"constraint": "min_accuracy", "from": 0, "to": 1, "steps": 10000},
                {"constraint": "max_latency_ms", "from": 0, "to": 1, "steps": 10000}]}"#,
        )
        .unwrap_err();
        assert!(
            e.starts_with("$.vary: the grid has 100000000 points"),
            "{e}"
        );
    }
}
