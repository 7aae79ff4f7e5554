//! # optiserve-wasm
//!
//! `optiserve-core` for JavaScript, published as the npm package `optiserve`: a [`Planner`] built
//! from a profile bundle (`validate`, `evaluate`, `optimize`, `whatIf`, `pareto`,
//! `functionCurves`, `simulate`) and the free functions `fitModel`, `paretoFilter` and
//! `importOptiserveSpec`.
//!
//! This layer converts and nothing else. A JavaScript object is turned into JSON text
//! (`JSON.stringify`) and parsed by the same `core` functions that read the CLI's files, so an
//! error names the same JSON path; the result is `core`'s own type, serialized once with the
//! [`SERIALIZER`] settings into the shape `optiserve … --format json` prints. Every call returns
//! `Result<_, JsError>`: JavaScript sees an `Error` whose message starts with the JSON path.
//!
//! The TypeScript types of every argument and result are generated from the Rust types
//! (`types/api.schema.json` by `tests/api_types.rs`, then `types/api.d.ts` by
//! `scripts/gen-types.mjs`) and included in the module's `.d.ts` below.

use js_sys::{Array, JSON, Object, Reflect};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use optiserve_core::bundle::Application;
use optiserve_core::workflow::LatencyModel;

pub mod api;

#[wasm_bindgen(typescript_custom_section)]
const API_TYPES: &str = include_str!("../types/api.d.ts");

/// Results become plain JavaScript values: maps as plain objects (not `Map`), absent values
/// (`None`) as `null`, exactly as the CLI's JSON prints them.
const SERIALIZER: serde_wasm_bindgen::Serializer = serde_wasm_bindgen::Serializer::new()
    .serialize_maps_as_objects(true)
    .serialize_missing_as_null(true);

/// Deepest nesting checked for non-finite numbers (`core`'s JSON parser refuses deeper input).
const MAX_DEPTH: usize = 128;

/// A readable message on the console if a bug ever panics (inputs never should).
fn hook() {
    console_error_panic_hook::set_once();
}

fn error(message: impl AsRef<str>) -> JsError {
    JsError::new(message.as_ref())
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&SERIALIZER)
        .map_err(|e| error(format!("cannot convert the result to JavaScript: {e}")))
}

/// The JSON text of an argument: a string as it is, anything else through `JSON.stringify`.
/// `JSON.stringify` writes `NaN` and `±Infinity` as `null`, which would silently mean "no limit":
/// such numbers are refused with their path instead.
fn json_text(value: &JsValue, what: &str) -> Result<String, JsError> {
    if let Some(text) = value.as_string() {
        return Ok(text);
    }
    let text = JSON::stringify(value)
        .map_err(|e| {
            error(format!(
                "$: {what} cannot be turned into JSON: {}",
                describe(&e)
            ))
        })?
        .as_string()
        .ok_or_else(|| {
            error(format!(
                "$: expected {what} (an object or a JSON string), found {}",
                type_name(value)
            ))
        })?;
    if text.contains("null") {
        let mut path = String::from("$");
        check_finite(value, &mut path, 0).map_err(error)?;
    }
    Ok(text)
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".to_string())
}

fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        "null".to_string()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

fn check_finite(value: &JsValue, path: &mut String, depth: usize) -> Result<(), String> {
    use std::fmt::Write as _;
    if depth > MAX_DEPTH {
        return Ok(());
    }
    if let Some(x) = value.as_f64() {
        if x.is_finite() {
            return Ok(());
        }
        let shown = if x.is_nan() {
            "NaN"
        } else if x > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        return Err(format!("{path}: must be a finite number, found {shown}"));
    }
    let at = path.len();
    if Array::is_array(value) {
        for (i, item) in value.unchecked_ref::<Array>().iter().enumerate() {
            let _ = write!(path, "[{i}]");
            check_finite(&item, path, depth + 1)?;
            path.truncate(at);
        }
    } else if value.is_object() {
        for entry in Object::entries(value.unchecked_ref::<Object>()).iter() {
            let entry: Array = entry.unchecked_into();
            let _ = write!(path, ".{}", entry.get(0).as_string().unwrap_or_default());
            check_finite(&entry.get(1), path, depth + 1)?;
            path.truncate(at);
        }
    }
    Ok(())
}

/// `performance.now()`, when the host has it.
fn now_ms() -> Option<f64> {
    let performance = Reflect::get(&js_sys::global(), &JsValue::from_str("performance")).ok()?;
    let now: js_sys::Function = Reflect::get(&performance, &JsValue::from_str("now"))
        .ok()?
        .dyn_into()
        .ok()?;
    now.call0(&performance).ok()?.as_f64()
}

/// A validated application, ready to evaluate and optimize.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Planner {
    app: Application,
    /// The bundle's fit summaries (per function and variant), for `functionCurves`.
    fits: api::FitSummaries,
}

#[wasm_bindgen]
impl Planner {
    /// Reads and validates a profile bundle (`optiserve.bundle/v1`), given as an object or as
    /// JSON text. Throws an `Error` naming the JSON path of the first problem.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Bundle | string")] bundle: JsValue,
    ) -> Result<Planner, JsError> {
        hook();
        let text = json_text(&bundle, "a profile bundle")?;
        let (app, fits) = api::load(&text).map_err(error)?;
        Ok(Planner { app, fits })
    }

    /// How durations compose into the expected latency: `"branch_aware"` (the default: a parallel
    /// block takes the expected maximum over the outcomes of the branches and loops in its arms)
    /// or `"thesis"` (the maximum of the arms' expected latencies, as the thesis defines it). The
    /// bundle's `workflow.latency_model` until set; every later call uses the new value.
    #[wasm_bindgen(getter, js_name = latencyModel, unchecked_return_type = "LatencyModel")]
    pub fn latency_model(&self) -> String {
        self.app.latency_model.name().to_string()
    }

    /// Sets [`Planner::latency_model`]; throws for another name.
    #[wasm_bindgen(setter, js_name = latencyModel)]
    pub fn set_latency_model(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "LatencyModel")] model: &str,
    ) -> Result<(), JsError> {
        self.app.latency_model = LatencyModel::from_name(model).ok_or_else(|| {
            error(format!(
                "latencyModel: expected \"branch_aware\" or \"thesis\", found {model:?}"
            ))
        })?;
        Ok(())
    }

    /// The validation report (`optiserve validate --format json`).
    #[wasm_bindgen(unchecked_return_type = "ValidationReport")]
    pub fn validate(&self) -> Result<JsValue, JsError> {
        to_js(&api::validate(&self.app))
    }

    /// Predicted latency, cost and accuracy of a configuration (`optiserve evaluate --format
    /// json`): the deployed configuration when `config` is left out, otherwise a map of choices
    /// per function id, an `optimize` result or an `evaluate` result. Functions left out keep their
    /// deployed choice.
    #[wasm_bindgen(unchecked_return_type = "Evaluation")]
    pub fn evaluate(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ConfigurationInput | string | null")]
        config: Option<JsValue>,
    ) -> Result<JsValue, JsError> {
        let text = match config.filter(|c| !c.is_null() && !c.is_undefined()) {
            None => None,
            Some(c) => Some(json_text(&c, "a configuration")?),
        };
        to_js(&api::evaluate(&self.app, text.as_deref()).map_err(error)?)
    }

    /// The best configuration for an objective under constraints (`optiserve optimize --format
    /// json`); `elapsed_ms` is the wall time measured here.
    #[wasm_bindgen(unchecked_return_type = "Solution")]
    pub fn optimize(
        &self,
        #[wasm_bindgen(unchecked_param_type = "OptimizeRequest | string")] request: JsValue,
    ) -> Result<JsValue, JsError> {
        let text = json_text(&request, "an optimize request")?;
        let started = now_ms();
        let mut solution = api::optimize(&self.app, &text).map_err(error)?;
        solution.elapsed_ms = started.zip(now_ms()).map(|(a, b)| b - a);
        to_js(&solution)
    }

    /// One optimization per point of a grid of constraint values (`optiserve whatif --format
    /// json`); the first swept constraint varies slowest. With `slice` (`{ start, count }`), only
    /// those points of the grid, with the same answers: a long sweep solved a slice at a time
    /// leaves the page responsive between slices.
    #[wasm_bindgen(js_name = whatIf, unchecked_return_type = "WhatIfPoint[]")]
    pub fn what_if(
        &self,
        #[wasm_bindgen(unchecked_param_type = "WhatIfRequest | string")] request: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ start: number; count: number } | null")]
        slice: Option<JsValue>,
    ) -> Result<JsValue, JsError> {
        let text = json_text(&request, "a what-if request")?;
        let slice = match slice.filter(|s| !s.is_null() && !s.is_undefined()) {
            None => None,
            Some(s) => Some(api::WhatIfSlice {
                start: index(&s, "start")?,
                count: index(&s, "count")?,
            }),
        };
        to_js(&api::what_if_slice(&self.app, &text, slice).map_err(error)?)
    }

    /// One function's variants against memory: duration and cost (per million executions) at
    /// every offered memory size and between, exactly as `evaluate` computes them, with each
    /// variant's model family and fit error (for charts of execution time and cost against
    /// memory).
    #[wasm_bindgen(js_name = functionCurves, unchecked_return_type = "FunctionCurves")]
    pub fn function_curves(
        &self,
        #[wasm_bindgen(js_name = functionId)] function_id: &str,
    ) -> Result<JsValue, JsError> {
        to_js(&api::function_curves(&self.app, &self.fits, function_id).map_err(error)?)
    }

    /// Simulated executions of a configuration (`optiserve simulate --format json`): the latency
    /// percentiles with confidence intervals, a histogram, the mean cost and the analytic model's
    /// bias. `request`: `{ config?, runs?, seed?, durations?, bins? }`; without a seed one is drawn
    /// at random (`crypto.getRandomValues`) and reported as `seed`. The same seed gives the same
    /// numbers as the CLI.
    #[wasm_bindgen(unchecked_return_type = "SimulationReport")]
    pub fn simulate(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "SimulateRequest | string | null")]
        request: Option<JsValue>,
    ) -> Result<JsValue, JsError> {
        let text = match request.filter(|r| !r.is_null() && !r.is_undefined()) {
            None => "{}".to_string(),
            Some(r) => json_text(&r, "a simulation request")?,
        };
        to_js(&api::simulate(&self.app, &text).map_err(error)?)
    }

    /// The reduced workflow as a tree of sequence / branch / parallel / loop blocks, functions
    /// named by id (the tree behind `validate().structure`), for drawing the workflow.
    #[wasm_bindgen(unchecked_return_type = "WorkflowBlock")]
    pub fn structure(&self) -> Result<JsValue, JsError> {
        to_js(&api::structure(&self.app))
    }

    /// The exact latency–cost–accuracy Pareto front (`optiserve pareto --format json`), sorted by
    /// latency. Throws when the search needs more than `nodeLimit` nodes (default 2,000,000, as
    /// the CLI's `--node-limit`) rather than return a partial front.
    #[wasm_bindgen(unchecked_return_type = "ParetoPoint[]")]
    pub fn pareto(
        &self,
        #[wasm_bindgen(js_name = nodeLimit)] node_limit: Option<f64>,
    ) -> Result<JsValue, JsError> {
        let node_limit = match node_limit {
            None => api::PARETO_NODE_LIMIT,
            Some(n) if n.is_finite() && n >= 1.0 && n.fract() == 0.0 && n <= 9.0e15 => n as u64,
            Some(n) => {
                return Err(error(format!(
                    "nodeLimit: must be a whole number of search nodes, at least 1, found {n}"
                )));
            }
        };
        to_js(&api::pareto(&self.app, node_limit).map_err(error)?)
    }
}

/// Fits every model family (the thesis' exponential, the CPU-share model, the measured table) to
/// samples `[{memory_mb, duration_ms}, …]` and chooses the one with the lowest leave-one-memory-out
/// error, or the family `model` names (`optiserve fit [--model NAME] --format json`).
#[wasm_bindgen(js_name = fitModel, unchecked_return_type = "ModelSelection")]
pub fn fit_model(
    #[wasm_bindgen(unchecked_param_type = "Sample[] | string")] samples: JsValue,
    #[wasm_bindgen(
        unchecked_optional_param_type = "'auto' | 'exponential' | 'cpu-share' | 'table'"
    )]
    model: Option<String>,
) -> Result<JsValue, JsError> {
    hook();
    let text = json_text(&samples, "a list of samples")?;
    to_js(&api::fit(&text, model.as_deref()).map_err(error)?)
}

/// The Pareto dominance filter: `figures` holds (latency, cost, accuracy) triples, one per point
/// (`[l0, c0, a0, l1, c1, a1, …]`); the result, the indices of the points on their Pareto front
/// (no other point at least as fast, as cheap and as accurate, and strictly better in one; equal
/// figures once), sorted by latency, then cost. Use it on `whatIf` answers to sample the front of
/// a bundle whose exact front (`pareto`) is too large to enumerate.
#[wasm_bindgen(js_name = paretoFilter)]
pub fn pareto_filter(figures: &[f64]) -> Result<Vec<u32>, JsError> {
    hook();
    api::pareto_filter(figures).map_err(error)
}

/// A whole number ≥ 0 in field `name` of a JavaScript object.
fn index(object: &JsValue, name: &str) -> Result<usize, JsError> {
    let value = Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    match value.as_f64() {
        Some(x) if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x <= 9.0e15 => {
            // A whole number below 2^53 that is at least 0: the cast is exact on wasm32's usize
            // up to usize::MAX, and saturates beyond (no grid is that large).
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = x as usize;
            Ok(n)
        }
        _ => Err(error(format!(
            "slice.{name}: must be a whole number of at least 0, found {}",
            describe_value(&value)
        ))),
    }
}

fn describe_value(value: &JsValue) -> String {
    value
        .as_f64()
        .map(|x| x.to_string())
        .or_else(|| value.as_string().map(|s| format!("{s:?}")))
        .unwrap_or_else(|| type_name(value))
}

/// Converts the thesis artifact's workflow spec into a profile bundle (`optiserve import
/// optiserve-spec`); the bundle is validated before it is returned.
#[wasm_bindgen(js_name = importOptiserveSpec, unchecked_return_type = "Bundle")]
pub fn import_spec(
    #[wasm_bindgen(unchecked_param_type = "object | string")] spec: JsValue,
) -> Result<JsValue, JsError> {
    hook();
    let text = json_text(&spec, "an optiserve workflow spec")?;
    to_js(&api::import_spec(&text).map_err(error)?)
}
