//! The package's operations on JSON text, in plain Rust: each one parses its input with
//! `optiserve-core`'s own functions (so an error names the JSON path exactly as the CLI's does),
//! calls `core`, and returns `core`'s result type. Nothing here computes a number: `lib.rs` only
//! moves values across the JavaScript boundary, and the CLI calls the same `core` functions.
//!
//! Errors are the messages the JavaScript `Error`s carry: `$.<path>: <what is wrong>`.

use optiserve_core::bundle::{Application, Bundle, parse_json};
use optiserve_core::evaluate::Evaluation;
use optiserve_core::import::import_optiserve_spec;
use optiserve_core::model::{ModelChoice, ModelError, ModelSelection, Sample, select_model};
use optiserve_core::optimize::pareto::{ParetoPoint, front};
use optiserve_core::optimize::whatif::{WhatIfPoint, WhatIfRequest, what_if};
use optiserve_core::optimize::{OptimizeRequest, SearchSpace, Solution, solve};
use optiserve_core::report::ValidationReport;
use optiserve_core::simulate::{SimulateRequest, SimulationReport, simulate as run_simulation};
use optiserve_core::workflow::{LoopKind, Structure};
use schemars::JsonSchema;
use serde::Serialize;

/// Default search-node budget of [`pareto`]: the default of the CLI's `pareto --node-limit`.
pub const PARETO_NODE_LIMIT: u64 = 2_000_000;

/// Most grid points one [`what_if`] call solves. Each point's answer is kept in memory and handed
/// to JavaScript; a larger grid would exhaust the module's memory (which, unlike an error, aborts
/// the module). The CLI has no such limit.
pub const MAX_WHAT_IF_POINTS: usize = 100_000;

/// Most executions one [`simulate`] call runs: their latencies are held in the module's memory
/// (8 bytes each) for the percentiles. The CLI allows more.
pub const MAX_SIMULATE_RUNS: usize = 5_000_000;

/// Largest seed a JavaScript number holds exactly (2^53 − 1): a seed must survive the trip to
/// JavaScript and back for a run to be reproducible.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// A random seed below 2^53 (from the platform: `crypto.getRandomValues` in browsers and Node).
pub fn draw_seed() -> Result<u64, String> {
    getrandom::u64()
        .map(|x| x >> 11)
        .map_err(|e| format!("$.seed: no random seed available ({e}); pass one"))
}

fn check_seed(seed: Option<u64>) -> Result<(), String> {
    match seed {
        Some(s) if s > MAX_SEED => Err(format!(
            "$.seed: at most 2^53 − 1 = {MAX_SEED} (a JavaScript number cannot hold more exactly), found {s}"
        )),
        _ => Ok(()),
    }
}

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
/// A tail-latency request without a seed gets a random one ([`draw_seed`]), which the result
/// reports (`tail.seed`).
pub fn optimize(app: &Application, request: &str) -> Result<Solution, String> {
    let mut request: OptimizeRequest = parse_json(request).map_err(|e| e.to_string())?;
    check_seed(request.seed)?;
    let tail = optiserve_core::optimize::Problem {
        objective: request.objective,
        constraints: request.constraints,
    }
    .is_tail();
    if tail && request.seed.is_none() {
        request.seed = Some(draw_seed()?);
    }
    let (problem, options) = request.parts().map_err(|e| format!("$.{e}"))?;
    solve(app, &problem, &options).map_err(|e| format!("$.{e}"))
}

/// What `optiserve simulate [--config FILE] --runs N --seed S --format json` prints; the seed is
/// drawn at random when the request has none (the report's `seed` says which).
pub fn simulate(app: &Application, request: &str) -> Result<SimulationReport, String> {
    let request: SimulateRequest = parse_json(request).map_err(|e| e.to_string())?;
    check_seed(request.seed)?;
    if request.runs > MAX_SIMULATE_RUNS {
        return Err(format!(
            "$.runs: at most {MAX_SIMULATE_RUNS} executions per call, found {}",
            request.runs
        ));
    }
    let choices = match &request.config {
        None => app.deployed.clone(),
        Some(value) => app
            .configuration_from_value(value.clone())
            .map_err(|e| format!("$.config{}", e.to_string().trim_start_matches('$')))?,
    };
    let seed = match request.seed {
        Some(s) => s,
        None => draw_seed()?,
    };
    run_simulation(app, &choices, &request.settings(seed)).map_err(|e| format!("$.{e}"))
}

/// What `optiserve whatif --format json` prints.
pub fn what_if_sweep(app: &Application, request: &str) -> Result<Vec<WhatIfPoint>, String> {
    let mut request: WhatIfRequest = parse_json(request).map_err(|e| e.to_string())?;
    check_seed(request.seed)?;
    if request.is_tail() && request.seed.is_none() {
        request.seed = Some(draw_seed()?);
    }
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
    let options = request.options().map_err(|e| format!("$.{e}"))?;
    what_if(app, request.objective, request.fixed, &sweeps, &options).map_err(|e| format!("$.{e}"))
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
    /// A state that is not a Lambda function (Wait, Pass, …, imported from a state machine): a
    /// fixed delay.
    State {
        /// The state's node id.
        id: String,
        /// Its fixed delay in ms.
        delay_ms: f64,
    },
    /// A Map state's iteration body, run for each item.
    Map {
        /// Expected items per run of the Map state.
        items: f64,
        /// `MaxConcurrency` (0: no limit).
        max_concurrency: u32,
        /// The iteration body.
        body: Box<WorkflowBlock>,
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
    fn go(s: &Structure, ids: &[String], app: &Application) -> WorkflowBlock {
        let go = |b: &Structure| go(b, ids, app);
        match s {
            Structure::Function(i) if *i >= app.functions.len() => WorkflowBlock::State {
                id: ids.get(*i).cloned().unwrap_or_default(),
                delay_ms: app.workflow.state_delay_ms(*i).unwrap_or(0.0),
            },
            Structure::Map {
                items,
                max_concurrency,
                body,
                ..
            } => WorkflowBlock::Map {
                items: *items,
                max_concurrency: *max_concurrency,
                body: Box::new(go(body)),
            },
            Structure::Function(i) => WorkflowBlock::Function {
                id: ids.get(*i).cloned().unwrap_or_default(),
            },
            Structure::Sequence(items) => WorkflowBlock::Sequence {
                items: items.iter().map(go).collect(),
            },
            Structure::Branch(arms) => WorkflowBlock::Branch {
                arms: arms
                    .iter()
                    .map(|(p, b)| BranchArm {
                        probability: *p,
                        block: go(b),
                    })
                    .collect(),
            },
            Structure::Parallel(arms) => WorkflowBlock::Parallel {
                arms: arms.iter().map(go).collect(),
            },
            Structure::Repeat {
                expected_runs,
                kind,
                body,
            } => WorkflowBlock::Loop {
                expected_runs: *expected_runs,
                self_loop: *kind == LoopKind::SelfLoop,
                body: Box::new(go(body)),
            },
        }
    }
    go(app.workflow.structure(), app.workflow.node_ids(), app)
}

/// What `optiserve fit [--model NAME] --format json` prints for a JSON list of samples: every
/// family fitted, the one with the lowest leave-one-memory-out error chosen (or the family `model`
/// names: `auto`, `exponential`, `cpu-share`, `table`).
pub fn fit(samples: &str, model: Option<&str>) -> Result<ModelSelection, String> {
    let choice = match model {
        None => ModelChoice::Auto,
        Some(name) => ModelChoice::from_name(name).ok_or_else(|| {
            format!(
                "model: expected one of {}, found {name:?}",
                ModelChoice::NAMES.join(", ")
            )
        })?,
    };
    let samples: Vec<Sample> = parse_json(samples).map_err(|e| e.to_string())?;
    select_model(&samples, choice).map_err(|e| model_error(&e))
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
    const MEDIA: &str = include_str!("../../examples/media-pipeline.bundle.json");

    include!("../tests/common/native_fixtures.rs");

    /// The committed native results that the wasm tests (`tests/common`) compare the module's
    /// results with, exactly: they must be what this build computes natively. The JSON text is
    /// compared, so every number is compared to the last bit (shortest round-trip form).
    /// `UPDATE_NATIVE_FIXTURES=1` rewrites them.
    #[test]
    fn committed_native_results_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for (bundle, call, request, file, committed) in NATIVE_FIXTURES {
            let app = application(bundle).unwrap();
            let mut text = match call {
                "optimize" => serde_json::to_string_pretty(&optimize(&app, request).unwrap()),
                "simulate" => serde_json::to_string_pretty(&simulate(&app, request).unwrap()),
                _ => serde_json::to_string_pretty(&evaluate(&app, None).unwrap()),
            }
            .unwrap();
            text.push('\n');
            if std::env::var_os("UPDATE_NATIVE_FIXTURES").is_some() {
                std::fs::write(dir.join(file), &text).unwrap();
            } else {
                assert!(
                    text == committed,
                    "tests/fixtures/{file} is stale (rerun with UPDATE_NATIVE_FIXTURES=1): {request}"
                );
            }
        }
    }

    #[test]
    fn seeds_are_drawn_below_2_to_the_53_and_reported() {
        let app = application(MEDIA).unwrap();
        let a = simulate(&app, r#"{"runs": 100}"#).unwrap();
        assert!(a.seed <= MAX_SEED);
        let again = simulate(&app, &format!(r#"{{"runs": 100, "seed": {}}}"#, a.seed)).unwrap();
        assert_eq!(a, again);
        let s = optimize(
            &app,
            r#"{"objective": "p95_latency", "scenarios": 200, "certify_runs": 0}"#,
        )
        .unwrap();
        assert!(s.tail.unwrap().seed <= MAX_SEED);
        let e = simulate(&app, r#"{"seed": 9007199254740992}"#).unwrap_err();
        assert!(e.starts_with("$.seed: at most 2^53"), "{e}");
        let e = simulate(&app, r#"{"runs": 0, "seed": 1}"#).unwrap_err();
        assert_eq!(e, "$.runs: must be at least 1");
        let e = simulate(&app, r#"{"config": {"nobody": {"memory_mb": 128}}}"#).unwrap_err();
        assert!(e.starts_with("$.config.nobody: "), "{e}");
        let e = optimize(&app, r#"{"objective": "p95_latency", "solver": "greedy"}"#).unwrap_err();
        assert!(e.starts_with("$.solver: the greedy heuristics"), "{e}");
    }

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
        let e = fit(
            r#"[{"memory_mb": 128, "duration_ms": 10}, {"memory_mb": -1, "duration_ms": 5}]"#,
            None,
        )
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
