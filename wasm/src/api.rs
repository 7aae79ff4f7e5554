//! The package's operations on JSON text, in plain Rust: each one parses its input with
//! `optiserve-core`'s own functions (so an error names the JSON path exactly as the CLI's does),
//! calls `core`, and returns `core`'s result type. Nothing here computes a number: `lib.rs` only
//! moves values across the JavaScript boundary, and the CLI calls the same `core` functions.
//!
//! Errors are the messages the JavaScript `Error`s carry: `$.<path>: <what is wrong>`.

use optiserve_core::bundle::{Application, Bundle, FitSummary, ResolvedChoice, parse_json};
use optiserve_core::evaluate::Evaluation;
use optiserve_core::import::import_optiserve_spec;
use optiserve_core::model::{
    DurationModel, ModelChoice, ModelError, ModelFamily, ModelSelection, Sample, fit_quality,
    select_model,
};
use optiserve_core::optimize::pareto::{ParetoPoint, front};
use optiserve_core::optimize::whatif::{Sweep, WhatIfPoint, WhatIfRequest, what_if};
use optiserve_core::optimize::{OptimizeRequest, SearchSpace, Solution, solve};
use optiserve_core::report::ValidationReport;
use optiserve_core::simulate::{SimulateRequest, SimulationReport, simulate as run_simulation};
use optiserve_core::workflow::{ChildExecutionType, LoopKind, MapBlock, StateKind, Structure};
use schemars::JsonSchema;
use serde::Serialize;

/// Default search-node budget of [`pareto`]: the default of the CLI's `pareto --node-limit`.
pub const PARETO_NODE_LIMIT: u64 = 2_000_000;

/// Most grid points one [`what_if`] call solves (the CLI's limit too). Each point's answer is kept
/// in memory and handed to JavaScript; a larger grid would exhaust the module's memory (which,
/// unlike an error, aborts the module).
pub use optiserve_core::optimize::whatif::MAX_WHAT_IF_POINTS;

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
    load(text).map(|(app, _)| app)
}

/// The bundle's fit summaries, per function and variant (bundle order): what [`function_curves`]
/// reports as a variant's fit error. The evaluation model ([`Application`]) does not keep them.
pub type FitSummaries = Vec<Vec<Option<FitSummary>>>;

/// Reads and validates a bundle, keeping its fit summaries beside the application.
pub fn load(text: &str) -> Result<(Application, FitSummaries), String> {
    let bundle = Bundle::from_json(text).map_err(|e| e.to_string())?;
    let app = bundle.validate().map_err(|e| e.to_string())?;
    let fits = bundle
        .functions
        .iter()
        .map(|f| f.variants.iter().map(|v| v.fit).collect())
        .collect();
    Ok((app, fits))
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
    what_if_slice(app, request, None)
}

/// Some consecutive points of a what-if grid, in the order of the whole sweep (the first swept
/// constraint varies slowest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhatIfSlice {
    /// Index of the first point in the whole grid (0-based).
    pub start: usize,
    /// Number of points (fewer when the grid ends first).
    pub count: usize,
}

/// [`what_if_sweep`], or only the points of `slice`: the same constraint values, hence the same
/// answers, as those points of the whole sweep. A long sweep can so be solved a slice at a time,
/// between frames of a page.
pub fn what_if_slice(
    app: &Application,
    request: &str,
    slice: Option<WhatIfSlice>,
) -> Result<Vec<WhatIfPoint>, String> {
    let mut request: WhatIfRequest = parse_json(request).map_err(|e| e.to_string())?;
    check_seed(request.seed)?;
    if request.is_tail() && request.seed.is_none() {
        request.seed = Some(draw_seed()?);
    }
    let sweeps = request.sweeps().map_err(|e| format!("$.{e}"))?;
    let total = sweeps
        .iter()
        .map(|s| s.values.len())
        .fold(1_usize, usize::saturating_mul);
    let (start, end) = match slice {
        None => (0, total),
        Some(s) => {
            if s.start >= total {
                return Err(format!(
                    "slice.start: the grid has {total} points (0 to {}), found {}",
                    total - 1,
                    s.start
                ));
            }
            (s.start, s.start.saturating_add(s.count).min(total))
        }
    };
    if end - start > MAX_WHAT_IF_POINTS {
        let what = if slice.is_some() {
            "slice.count"
        } else {
            "$.vary"
        };
        return Err(format!(
            "{what}: the grid has {} points; one call solves at most {MAX_WHAT_IF_POINTS} (use fewer steps)",
            end - start
        ));
    }
    let options = request.options().map_err(|e| format!("$.{e}"))?;
    let solve = |sweeps: &[Sweep]| {
        what_if(app, request.objective, request.fixed, sweeps, &options)
            .map_err(|e| format!("$.{e}"))
    };
    if slice.is_none() {
        return solve(&sweeps);
    }
    // One call per row of the grid that the slice touches, with that row's values.
    let row = sweeps.last().map_or(1, |s| s.values.len());
    let mut points = Vec::with_capacity(end - start);
    let mut i = start;
    while i < end {
        let (r, from) = (i / row, i % row);
        let to = row.min(from + (end - i));
        let mut part: Vec<Sweep> = Vec::with_capacity(sweeps.len());
        if let [first, _] = sweeps.as_slice() {
            part.push(Sweep {
                constraint: first.constraint,
                values: vec![first.values[r]],
            });
        }
        if let Some(last) = sweeps.last() {
            part.push(Sweep {
                constraint: last.constraint,
                values: last.values[from..to].to_vec(),
            });
        }
        points.extend(solve(&part)?);
        i += to - from;
    }
    Ok(points)
}

/// The points on the Pareto front among `figures`, a flat list of (latency, cost, accuracy)
/// triples: the indices of the points that no other point is at least as fast, as cheap and as
/// accurate as while strictly better in one, each set of equal figures once (its first point),
/// sorted by latency, then cost. A point with a non-finite figure is left out.
pub fn pareto_filter(figures: &[f64]) -> Result<Vec<u32>, String> {
    if !figures.len().is_multiple_of(3) {
        return Err(format!(
            "figures: expected (latency, cost, accuracy) triples, found {} numbers",
            figures.len()
        ));
    }
    let points: Vec<&[f64]> = figures.chunks_exact(3).collect();
    let dominates = |q: &[f64], p: &[f64]| {
        q[0] <= p[0] && q[1] <= p[1] && q[2] >= p[2] && (q[0] < p[0] || q[1] < p[1] || q[2] > p[2])
    };
    let mut kept: Vec<usize> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if !p.iter().all(|x| x.is_finite()) || kept.iter().any(|&k| points[k] == *p) {
            continue;
        }
        if !points
            .iter()
            .any(|q| q.iter().all(|x| x.is_finite()) && dominates(q, p))
        {
            kept.push(i);
        }
    }
    kept.sort_by(|&a, &b| {
        points[a][0]
            .total_cmp(&points[b][0])
            .then(points[a][1].total_cmp(&points[b][1]))
    });
    kept.into_iter()
        .map(|i| u32::try_from(i).map_err(|_| "figures: too many points".to_string()))
        .collect()
}

/// What `optiserve pareto --node-limit N --format json` prints.
pub fn pareto(app: &Application, node_limit: u64) -> Result<Vec<ParetoPoint>, String> {
    front(&SearchSpace::full(app).pruned(), node_limit)
        .map(|(points, _)| points)
        .map_err(|e| e.to_string())
}

/// Memory sizes evenly spaced between a function's smallest and largest offered size that
/// [`function_curves`] evaluates besides the offered sizes (so that a curve is smooth between few
/// offered sizes).
pub const CURVE_POINTS: usize = 64;

/// Most offered memory sizes [`function_curves`] lists (a range with a 1 MB step offers
/// thousands): beyond it, evenly spaced ones, the smallest and the largest always among them.
pub const MAX_CURVE_OPTIONS: usize = 256;

/// Every variant of one function against memory: what a chart of execution time and cost
/// against memory draws.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FunctionCurves {
    /// The function's id.
    pub id: String,
    /// How many memory sizes the planner may choose from for it.
    pub memory_options: usize,
    /// Expected invocations per execution (NI), which the costs include.
    pub invocations: f64,
    /// The variants, in bundle order.
    pub variants: Vec<VariantCurve>,
}

/// One variant's model against memory, and how well it fits its samples.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct VariantCurve {
    /// The variant's name.
    pub name: String,
    /// The duration model's family.
    pub family: ModelFamily,
    /// A CPU-share model's knee (MB): where its single-threaded part stops getting faster.
    pub knee_mb: Option<f64>,
    /// A CPU-share model's multi-threaded share (0 when single-threaded).
    pub parallel_fraction: Option<f64>,
    /// The fit error: the bundle's fit summary, else computed over the warm samples in the
    /// offered memory range; absent without either.
    pub fit: Option<FitError>,
    /// The model at each memory size (ascending): every offered size (at most
    /// [`MAX_CURVE_OPTIONS`]) and [`CURVE_POINTS`] evenly spaced sizes between the extremes.
    pub points: Vec<CurvePoint>,
}

/// How well a variant's model matches its profiled samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct FitError {
    /// Mean absolute percentage error.
    pub mape_percent: f64,
    /// Coefficient of determination; absent when the bundle's fit has none (a model with as
    /// many free parameters as samples).
    pub r2: Option<f64>,
    /// Number of samples.
    pub samples: usize,
    /// Where the figures come from.
    pub source: FitSource,
}

/// Where a [`FitError`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FitSource {
    /// The bundle's `fit` summary (the samples the model was fitted to).
    Bundle,
    /// Computed here over the warm samples at memory sizes in the offered range.
    WarmSamples,
}

/// One function with one variant at one memory size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct CurvePoint {
    /// Memory, MB.
    pub memory_mb: u32,
    /// Whether the planner may choose this size.
    pub offered: bool,
    /// Expected duration of one invocation, ms (cold starts included, as `evaluate` reports it).
    pub duration_ms: f64,
    /// The expected cold-start part of `duration_ms`.
    pub cold_start_ms: f64,
    /// The function's cost at this size, USD per million executions (its invocations per
    /// execution included, as `evaluate` reports it).
    pub cost_usd_per_million: f64,
}

/// Every variant of function `id` against memory ([`FunctionCurves`]): the model and the cost
/// exactly as `evaluate` and the optimizers compute them, and each variant's fit error.
pub fn function_curves(
    app: &Application,
    fits: &FitSummaries,
    id: &str,
) -> Result<FunctionCurves, String> {
    let Some(f) = app.functions.iter().position(|x| x.id == id) else {
        return Err(format!(
            "functionId: '{id}' is not a function of this bundle (functions: {})",
            app.functions
                .iter()
                .map(|x| x.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let func = &app.functions[f];
    let offered = &func.memory_mb;
    let (Some(&lo), Some(&hi)) = (offered.first(), offered.last()) else {
        return Err(format!("functionId: '{id}' offers no memory size"));
    };
    let mut grid: Vec<u32> = if offered.len() > MAX_CURVE_OPTIONS {
        (0..MAX_CURVE_OPTIONS)
            .map(|i| offered[i * (offered.len() - 1) / (MAX_CURVE_OPTIONS - 1)])
            .collect()
    } else {
        offered.clone()
    };
    if hi > lo {
        let span = f64::from(hi - lo);
        grid.extend((0..CURVE_POINTS).map(|i| {
            let x = f64::from(lo) + span * i as f64 / (CURVE_POINTS - 1) as f64;
            // Between lo and hi, both u32: the cast cannot overflow.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let m = x.round() as u32;
            m
        }));
    }
    grid.sort_unstable();
    grid.dedup();
    let variants = func
        .variants
        .iter()
        .enumerate()
        .map(|(v, variant)| {
            let points = grid
                .iter()
                .map(|&memory_mb| {
                    let x = app.option_figures(
                        f,
                        ResolvedChoice {
                            memory_mb,
                            variant: v,
                        },
                    );
                    CurvePoint {
                        memory_mb,
                        offered: offered.binary_search(&memory_mb).is_ok(),
                        duration_ms: x.duration_ms,
                        cold_start_ms: x.cold_start_ms,
                        cost_usd_per_million: x.cost_usd_per_million,
                    }
                })
                .collect();
            let fit = match fits.get(f).and_then(|x| x.get(v)).copied().flatten() {
                Some(s) => Some(FitError {
                    mape_percent: s.mape_percent,
                    r2: s.r2,
                    samples: s.samples,
                    source: FitSource::Bundle,
                }),
                None => {
                    let warm: Vec<Sample> = variant
                        .samples
                        .iter()
                        .filter(|s| {
                            !s.cold && s.memory_mb >= f64::from(lo) && s.memory_mb <= f64::from(hi)
                        })
                        .map(|s| Sample::new(s.memory_mb, s.duration_ms))
                        .collect();
                    (!warm.is_empty()).then(|| {
                        let (mape_percent, r2) = fit_quality(&variant.model, &warm);
                        FitError {
                            mape_percent,
                            r2: Some(r2),
                            samples: warm.len(),
                            source: FitSource::WarmSamples,
                        }
                    })
                }
            };
            let (knee_mb, parallel_fraction) = match &variant.model {
                DurationModel::CpuShare(m) => (Some(m.knee_mb), Some(m.parallel_fraction)),
                _ => (None, None),
            };
            VariantCurve {
                name: variant.name.clone(),
                family: variant.model.family(),
                knee_mb,
                parallel_fraction,
                fit,
                points,
            }
        })
        .collect();
    Ok(FunctionCurves {
        id: func.id.clone(),
        memory_options: offered.len(),
        invocations: app.workflow.invocations().get(f).copied().unwrap_or(0.0),
        variants,
    })
}

/// The workflow as `core` reduced it (`validate`'s one-line `structure`, as a tree), with
/// functions named by id: for drawing the workflow.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkflowBlock {
    /// One invocation of a function.
    Function {
        /// The function's id (the one memory and variant of all its sites).
        id: String,
        /// The site's node id when this is a further place the function is invoked from (a
        /// second Task state invoking it); `null` at the function's own node.
        site: Option<String>,
    },
    /// A state that is not a Lambda function (Wait, Pass, a service integration, a callback's
    /// wait, …, imported from a state machine): a fixed delay.
    State {
        /// The state's node id.
        id: String,
        /// Its fixed delay in ms (a service state's or a callback's mean time).
        delay_ms: f64,
        /// What state it is (`wait`, `pass`, `choice`, `parallel`, `join`, `map`, `service`,
        /// `callback`).
        state_kind: StateKind,
        /// A service state's Task `Resource` (`arn:aws:states:::sns:publish`).
        resource: Option<String>,
        /// A service state's service and action, short (`sns:publish`,
        /// `dynamodb:putItem`, `states:startExecution.sync:2`, `activity`).
        service: Option<String>,
        /// USD each entry bills (the service's price per request), when it has one.
        price_per_request: Option<f64>,
        /// Whether `delay_ms` was measured from executions (else given or assumed).
        measured: bool,
    },
    /// A Map state's iteration body, run for each item (or each batch).
    Map {
        /// The Map state's node id.
        state: Option<String>,
        /// Expected items per run of the Map state.
        items: f64,
        /// Runs of the body per run of the Map state: `items`, or the batches of a batched
        /// Distributed Map.
        runs: f64,
        /// `MaxConcurrency` (0: no limit).
        max_concurrency: u32,
        /// A Distributed Map (child executions).
        distributed: bool,
        /// A Distributed Map's child executions: `express` or `standard`.
        child_execution: Option<ChildExecutionType>,
        /// A Distributed Map's items per child execution (`ItemBatcher.MaxItemsPerBatch`).
        batch_items: Option<f64>,
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

/// A service state's service and action out of its Task `Resource`: `sns:publish`,
/// `dynamodb:getItem` (an `aws-sdk:` integration without the prefix), `activity`.
fn service_name(resource: &str) -> String {
    match resource.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "states", "", "", rest] => {
            rest.strip_prefix("aws-sdk:").unwrap_or(rest).to_string()
        }
        ["arn", _, "states", _, _, rest] if rest.starts_with("activity:") => "activity".to_string(),
        _ => resource.to_string(),
    }
}

/// The reduced workflow of `app` as a [`WorkflowBlock`] tree, with every site of a function and
/// every state node (its kind, service and price) and Map block (distributed, batches, child
/// executions) as the bundle describes them.
pub fn structure(app: &Application) -> WorkflowBlock {
    fn go(
        s: &Structure,
        ids: &[String],
        app: &Application,
        map_state: Option<usize>,
    ) -> WorkflowBlock {
        let w = &app.workflow;
        let functions = w.function_count();
        let sites_from = functions + w.state_count();
        match s {
            Structure::Function(i) if *i >= sites_from => WorkflowBlock::Function {
                id: w
                    .site_function(*i)
                    .and_then(|f| ids.get(f))
                    .cloned()
                    .unwrap_or_default(),
                site: ids.get(*i).cloned(),
            },
            Structure::Function(i) if *i >= functions => {
                let node = w.state_node(*i);
                let resource = node.and_then(|n| n.resource.clone());
                WorkflowBlock::State {
                    id: ids.get(*i).cloned().unwrap_or_default(),
                    delay_ms: w.state_delay_ms(*i).unwrap_or(0.0),
                    state_kind: node.map_or(StateKind::Pass, |n| n.kind),
                    service: resource.as_deref().map(service_name),
                    resource,
                    price_per_request: node.and_then(|n| n.price_per_request),
                    measured: node.is_some_and(|n| n.measured.is_some()),
                }
            }
            Structure::Map {
                items,
                max_concurrency,
                body,
                ..
            } => {
                let block = map_state.and_then(|i| w.map_block(i));
                WorkflowBlock::Map {
                    state: block.map(|b| b.state.clone()),
                    items: block.map_or(*items, |b| b.items),
                    runs: *items,
                    max_concurrency: *max_concurrency,
                    distributed: block.is_some_and(MapBlock::is_distributed),
                    child_execution: block
                        .filter(|b| b.is_distributed())
                        .map(|b| b.child_execution.unwrap_or_default()),
                    batch_items: block.and_then(|b| b.batch_items),
                    body: Box::new(go(body, ids, app, None)),
                }
            }
            Structure::Function(i) => WorkflowBlock::Function {
                id: ids.get(*i).cloned().unwrap_or_default(),
                site: None,
            },
            Structure::Sequence(items) => {
                // A Map block follows its Map state's node.
                let mut out = Vec::with_capacity(items.len());
                let mut previous = None;
                for it in items {
                    out.push(go(it, ids, app, previous));
                    previous = match it {
                        Structure::Function(i) => Some(*i),
                        _ => None,
                    };
                }
                WorkflowBlock::Sequence { items: out }
            }
            Structure::Branch(arms) => WorkflowBlock::Branch {
                arms: arms
                    .iter()
                    .map(|(p, b)| BranchArm {
                        probability: *p,
                        block: go(b, ids, app, None),
                    })
                    .collect(),
            },
            Structure::Parallel(arms) => WorkflowBlock::Parallel {
                arms: arms.iter().map(|a| go(a, ids, app, None)).collect(),
            },
            Structure::Repeat {
                expected_runs,
                kind,
                body,
            } => WorkflowBlock::Loop {
                expected_runs: *expected_runs,
                self_loop: *kind == LoopKind::SelfLoop,
                body: Box::new(go(body, ids, app, None)),
            },
        }
    }
    go(
        app.workflow.site_structure(),
        app.workflow.node_ids(),
        app,
        None,
    )
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

    /// `structure()` shows what a drawing of an imported state machine needs: service states
    /// with their service and price, a callback's wait, a function's further sites, and a
    /// Distributed Map with its batches and child executions.
    #[test]
    fn structure_shows_services_sites_callbacks_and_distributed_maps() {
        use optiserve_core::asl::{AslOptions, bundle_from_import, import_asl};
        let asl = include_str!("../../tests/fixtures/sfn-sim/media-services.asl.json");
        let imported = import_asl(asl, &AslOptions::default()).unwrap();
        let base = Bundle::from_json(MEDIA).unwrap();
        let bundle = bundle_from_import(&imported, Some(&base), None, "test").unwrap();
        let tree = serde_json::to_value(structure(&bundle.validate().unwrap())).unwrap();
        let text = tree.to_string();
        for want in [
            r#"{"id":"publish","kind":"function","site":"Publish Final"}"#,
            r#""resource":"arn:aws:states:::sns:publish","service":"sns:publish","state_kind":"service""#,
            r#""id":"Human Review (callback)","kind":"state","measured":false,"price_per_request":null,"resource":null,"service":null,"state_kind":"callback""#,
        ] {
            assert!(text.contains(want), "{want} not in {text}");
        }
        let asl = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "MaxConcurrency": 2,
            "ItemBatcher": {"MaxItemsPerBatch": 25},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "X",
              "States": {"X": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:ingest", "End": true}}}}}}"#;
        let options = AslOptions {
            map_items: [("M".to_string(), 100.0)].into(),
            ..AslOptions::default()
        };
        let imported = import_asl(asl, &options).unwrap();
        let bundle = bundle_from_import(&imported, Some(&base), None, "test").unwrap();
        let tree = serde_json::to_value(structure(&bundle.validate().unwrap())).unwrap();
        let map = &tree["items"][1];
        assert_eq!(map["kind"], "map", "{tree}");
        assert_eq!(map["state"], "M");
        assert_eq!(
            (map["items"].as_f64(), map["runs"].as_f64()),
            (Some(100.0), Some(4.0))
        );
        assert_eq!(map["distributed"], true);
        assert_eq!(map["child_execution"], "express");
        assert_eq!(map["batch_items"], 25.0);
    }

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
        let function = |id: &str| serde_json::json!({"kind": "function", "id": id, "site": null});
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
    fn a_sweep_in_slices_has_the_answers_of_the_whole_sweep() {
        let app = application(MEDIA).unwrap();
        let request = r#"{"objective": "latency", "vary": [
            {"constraint": "min_accuracy", "from": 0.5, "to": 1.5, "steps": 3},
            {"constraint": "max_cost_usd_per_million", "from": 100, "to": 900, "steps": 7}]}"#;
        let whole = what_if_sweep(&app, request).unwrap();
        assert_eq!(whole.len(), 21);
        let mut sliced = Vec::new();
        for start in (0..21).step_by(5) {
            let slice = WhatIfSlice { start, count: 5 };
            sliced.extend(what_if_slice(&app, request, Some(slice)).unwrap());
        }
        assert_eq!(sliced.len(), whole.len());
        for (a, b) in sliced.iter().zip(&whole) {
            assert_eq!(a.constraints, b.constraints);
            assert_eq!(a.solution.config, b.solution.config);
            assert_eq!(a.solution.latency_ms, b.solution.latency_ms);
        }
        let slice = WhatIfSlice {
            start: 21,
            count: 1,
        };
        let e = what_if_slice(&app, request, Some(slice)).unwrap_err();
        assert!(e.starts_with("slice.start: the grid has 21 points"), "{e}");
    }

    #[test]
    fn a_sample_of_the_front_from_a_sweep_is_on_the_exact_front() {
        let app = application(APP3).unwrap();
        let exact = pareto(&app, PARETO_NODE_LIMIT).unwrap();
        let points = what_if_sweep(
            &app,
            r#"{"objective": "cost", "vary": [
                {"constraint": "min_accuracy", "from": 0.75, "to": 3, "steps": 6},
                {"constraint": "max_latency_ms", "from": 3000, "to": 15000, "steps": 12}]}"#,
        )
        .unwrap();
        let found: Vec<&Solution> = points
            .iter()
            .map(|p| &p.solution)
            .filter(|s| s.config.is_some())
            .collect();
        let figures: Vec<f64> = found
            .iter()
            .flat_map(|s| {
                [
                    s.latency_ms.unwrap(),
                    s.cost_usd_per_million.unwrap(),
                    s.accuracy.unwrap(),
                ]
            })
            .collect();
        let kept = pareto_filter(&figures).unwrap();
        let sample: Vec<&Solution> = kept.iter().map(|&i| found[i as usize]).collect();
        assert!(sample.len() > 5, "{}", sample.len());
        for w in sample.windows(2) {
            assert!(w[0].latency_ms <= w[1].latency_ms);
        }
        for p in &sample {
            assert!(
                exact.iter().any(|q| Some(q.latency_ms) == p.latency_ms
                    && Some(q.cost_usd_per_million) == p.cost_usd_per_million
                    && Some(q.accuracy) == p.accuracy),
                "{p:?} is not on the exact front"
            );
        }
    }

    #[test]
    fn the_pareto_filter_keeps_the_non_dominated_once() {
        let figures = [
            10.0,
            5.0,
            1.0, // kept
            10.0,
            5.0,
            1.0, // equal: once
            12.0,
            6.0,
            1.0, // dominated
            8.0,
            9.0,
            1.0, // kept
            f64::NAN,
            1.0,
            1.0, // left out
        ];
        assert_eq!(pareto_filter(&figures).unwrap(), vec![3, 0]);
        let e = pareto_filter(&[1.0, 2.0]).unwrap_err();
        assert!(
            e.starts_with("figures: expected (latency, cost, accuracy) triples"),
            "{e}"
        );
    }

    #[test]
    fn function_curves_are_what_evaluate_computes() {
        let (app, fits) = load(MEDIA).unwrap();
        let curves = function_curves(&app, &fits, "classify").unwrap();
        let f = app
            .functions
            .iter()
            .position(|x| x.id == "classify")
            .unwrap();
        assert_eq!(curves.memory_options, app.functions[f].memory_mb.len());
        for (v, variant) in curves.variants.iter().enumerate() {
            assert!(variant.fit.is_some());
            let offered: Vec<u32> = variant
                .points
                .iter()
                .filter(|p| p.offered)
                .map(|p| p.memory_mb)
                .collect();
            assert_eq!(offered, app.functions[f].memory_mb);
            for p in &variant.points {
                let mut choices = app.deployed.clone();
                choices[f] = ResolvedChoice {
                    memory_mb: p.memory_mb,
                    variant: v,
                };
                let e = app.evaluate(&choices);
                let fe = &e.functions["classify"];
                assert_eq!(p.duration_ms, fe.duration_ms);
                assert_eq!(p.cost_usd_per_million, fe.cost_usd_per_million);
            }
        }
        // No fit summary: the error over the warm samples.
        let mut bundle: serde_json::Value = serde_json::from_str(MEDIA).unwrap();
        for func in bundle["functions"].as_array_mut().unwrap() {
            for v in func["variants"].as_array_mut().unwrap() {
                v.as_object_mut().unwrap().remove("fit");
            }
        }
        let (app, fits) = load(&bundle.to_string()).unwrap();
        let curves = function_curves(&app, &fits, "classify").unwrap();
        let fit = curves.variants[0].fit.unwrap();
        assert_eq!(fit.source, FitSource::WarmSamples);
        assert!(fit.mape_percent > 0.0 && fit.samples > 0);
        let e = function_curves(&app, &fits, "nobody").unwrap_err();
        assert!(
            e.starts_with("functionId: 'nobody' is not a function"),
            "{e}"
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
