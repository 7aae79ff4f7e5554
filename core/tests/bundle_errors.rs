//! Bad-input tests for every error a profile bundle (and an artifact workflow spec, through
//! `import_optiserve_spec`) can produce.
//!
//! Most of them are one table, [`CASES`]: each row starts from an example file, changes exactly one
//! thing, says where the document is refused (reading, validating or importing) and what the error
//! says: the JSON path it points at and its message, exactly or by the pieces it must hold. The tests
//! of another shape (syntax errors with their line and column, round trips, key order, a user's
//! configuration) follow the table.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use optiserve_core::bundle::{Bundle, BundleError, Choice, Configuration};
use optiserve_core::import::import_optiserve_spec;
use optiserve_core::model::{CpuShareModel, DurationModel, ExpModel};
use serde_json::{Value, json};

const MEDIA: &str = include_str!("../../examples/media-pipeline.bundle.json");
const APP3: &str = include_str!("../../examples/app3.bundle.json");
const SPEC: &str = include_str!("../../examples/app3.optiserve-spec.json");

// ---- The table's columns ----

/// The example a row starts from.
#[derive(Debug, Clone, Copy)]
enum Base {
    /// `examples/media-pipeline.bundle.json`.
    Media,
    /// `examples/app3.bundle.json`.
    App3,
    /// `examples/app3.optiserve-spec.json`, the artifact's workflow spec.
    Spec,
}

/// The one change a row makes to its base.
#[derive(Debug, Clone, Copy)]
enum Edit {
    /// The document as written.
    Unchanged,
    /// A change to the parsed document, which is then written out again (pretty-printed).
    Json(fn(&mut Value)),
    /// A change to the text, for what a `Value` cannot hold (a key written twice).
    Text(fn(&str) -> String),
    /// A change to the bundle after it is read, for what JSON cannot write (NaN, infinity) or a
    /// bundle built in code; only with [`Stage::Validate`].
    Built(fn(&mut Bundle)),
}

/// Where the edited document is refused.
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// `Bundle::from_json` refuses it.
    Parse,
    /// It is read; `Bundle::validate` refuses it.
    Validate,
    /// `import_optiserve_spec` refuses it (reading the spec, or validating the bundle it makes).
    Import,
}

/// What the error says after its path (`"{path}: …"`, as displayed).
#[derive(Debug, Clone, Copy)]
enum Says {
    /// A `BundleError::Invalid` with exactly this message.
    Invalid(&'static str),
    /// A `BundleError::Version` with exactly this message.
    Version(&'static str),
    /// A `BundleError::Shape` (its line and column follow the message) holding every piece.
    Shape(&'static [&'static str]),
    /// A message of any kind holding every piece.
    Pieces(&'static [&'static str]),
}

/// One row: a short name, the base document, the edit, the stage, the JSON path and the message.
///
/// In `path` and `says`, `{edge a→b}` stands for the index of the edge `a → b` in the base bundle's
/// workflow, and `{last edge}` for the index of the last edge of the edited one.
#[derive(Debug)]
struct Case {
    name: &'static str,
    base: Base,
    edit: Edit,
    stage: Stage,
    path: &'static str,
    says: Says,
}

use Base::*;
use Edit::*;
use Says::*;
use Stage::*;

// ---- Helpers for the edits ----

/// The edge `from → to` of a bundle's workflow.
fn edge_mut<'v>(v: &'v mut Value, from: &str, to: &str) -> &'v mut Value {
    let k = edge(v, from, to);
    &mut edges(v)[k]
}

/// Index of the edge `from → to` in a bundle's workflow.
fn edge(v: &Value, from: &str, to: &str) -> usize {
    v["workflow"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .position(|e| e["from"] == from && e["to"] == to)
        .expect("edge exists")
}

fn edges(v: &mut Value) -> &mut Vec<Value> {
    v["workflow"]["edges"].as_array_mut().expect("edges")
}

/// Removes `key` from the object `v`.
fn remove(v: &mut Value, key: &str) {
    v.as_object_mut().expect("an object").remove(key);
}

/// The valid `cpu_share` model the CPU-share rows start from (in place of classify's first variant's).
fn cpu_share() -> Value {
    json!({"kind": "cpu_share", "serial_ms": -20.0, "cpu_ms": 2000.0, "knee_mb": 1769.0})
}

/// Replaces classify's first variant's model by [`cpu_share`] with `field` set to `value`.
fn cpu_share_with(v: &mut Value, field: &str, value: Value) {
    v["functions"][1]["variants"][0]["model"] = cpu_share();
    v["functions"][1]["variants"][0]["model"][field] = value;
}

/// The range-check message of a price.
macro_rules! price {
    ($found:literal) => {
        concat!(
            "must be a number from 0 to 1 USD (AWS prices per unit are millionths of a dollar), found ",
            $found
        )
    };
}

// ---- The table ----

const CASES: &[Case] = &[
    // ---- Weighted payloads ----
    Case {
        name: "payloads: weights that do not sum to 1",
        base: App3,
        edit: Json(|v| {
            v["functions"][0]["variants"][0]["payloads"] = json!([
                {"name": "small", "weight": 0.75}, {"name": "large", "weight": 0.5}]);
        }),
        stage: Validate,
        path: "$.functions[0].variants[0].payloads",
        says: Pieces(&["sum to 1"]),
    },
    Case {
        name: "payloads: a name given twice",
        base: App3,
        edit: Json(|v| {
            v["functions"][0]["variants"][0]["payloads"] = json!([
                {"name": "small", "weight": 0.75}, {"name": "small", "weight": 0.25}]);
        }),
        stage: Validate,
        path: "$.functions[0].variants[0].payloads[1].name",
        says: Pieces(&["small"]),
    },
    Case {
        name: "payloads: a negative sample",
        base: App3,
        edit: Json(|v| {
            v["functions"][0]["variants"][0]["payloads"] = json!([
                {"name": "small", "weight": 0.75, "samples": [{"memory_mb": 1024.0, "duration_ms": -1.0}]},
                {"name": "large", "weight": 0.25}]);
        }),
        stage: Validate,
        path: "$.functions[0].variants[0].payloads[0].samples[0].duration_ms",
        says: Pieces(&[]),
    },
    // ---- Reading: shape and schema ----
    Case {
        name: "table model: wrong type in a point",
        base: Media,
        edit: Json(|v| {
            v["functions"][0]["variants"][0]["model"] =
                json!({"kind": "table", "points": [{"memory_mb": 128, "duration_ms": "slow"}]});
        }),
        stage: Parse,
        path: "$.functions[0].variants[0].model.points[0].duration_ms",
        says: Pieces(&["invalid type: string \"slow\", expected f64"]),
    },
    Case {
        name: "table model: negative duration in a point",
        base: Media,
        edit: Json(|v| {
            v["functions"][0]["variants"][0]["model"] = json!({"kind": "table", "points": [
                {"memory_mb": 128, "duration_ms": 900}, {"memory_mb": 512, "duration_ms": -1}]});
        }),
        stage: Parse,
        path: "$.functions[0].variants[0].model",
        says: Pieces(&["table point 1: duration must be finite and non-negative, got -1 ms"]),
    },
    Case {
        name: "model: unknown kind",
        base: Media,
        edit: Json(|v| v["functions"][1]["variants"][0]["model"]["kind"] = json!("linear")),
        stage: Parse,
        path: "$.functions[1].variants[0].model.kind",
        says: Pieces(&[
            "unknown variant `linear`, expected one of `exponential`, `table`, `cpu_share`",
        ]),
    },
    Case {
        name: "model: no kind",
        base: Media,
        edit: Json(|v| remove(&mut v["functions"][1]["variants"][0]["model"], "kind")),
        stage: Parse,
        path: "$.functions[1].variants[0].model",
        says: Pieces(&["missing field `kind`"]),
    },
    Case {
        name: "model: a field twice",
        base: Media,
        edit: Text(|s| {
            s.replacen(
                "\"alpha_ms\": 505.4858615191236",
                "\"alpha_ms\": 505.4858615191236, \"alpha_ms\": 1",
                1,
            )
        }),
        stage: Parse,
        path: "$.functions[1].variants[0].model",
        says: Pieces(&["duplicate field `alpha_ms`"]),
    },
    Case {
        name: "model: a string",
        base: Media,
        edit: Json(|v| v["functions"][1]["variants"][0]["model"] = json!("exponential")),
        stage: Parse,
        path: "$.functions[1].variants[0].model",
        says: Pieces(&["invalid type: string \"exponential\", expected a duration model"]),
    },
    Case {
        name: "edge: probability is a string",
        base: Media,
        edit: Json(|v| v["workflow"]["edges"][3]["probability"] = json!("1.0")),
        stage: Parse,
        path: "$.workflow.edges[3].probability",
        says: Pieces(&["invalid type: string \"1.0\", expected f64", "(line "]),
    },
    Case {
        name: "memory: a range with `step` for `step_mb`",
        base: Media,
        edit: Json(|v| {
            v["functions"][2]["memory"] = json!({"min_mb": 128, "max_mb": 3008, "step": 192});
        }),
        stage: Parse,
        path: "$.functions[2].memory",
        says: Pieces(&[
            "expected the memory sizes in MB",
            "\"min_mb\", \"max_mb\", \"step_mb\"",
        ]),
    },
    Case {
        name: "missing field: a function's memory",
        base: Media,
        edit: Json(|v| remove(&mut v["functions"][2], "memory")),
        stage: Parse,
        path: "$.functions[2]",
        says: Pieces(&["missing field `memory`"]),
    },
    Case {
        name: "missing field: a model's beta_ms",
        base: Media,
        edit: Json(|v| remove(&mut v["functions"][1]["variants"][0]["model"], "beta_ms")),
        stage: Parse,
        path: "$.functions[1].variants[0].model",
        says: Pieces(&["missing field `beta_ms`"]),
    },
    Case {
        name: "missing field: the provenance",
        base: Media,
        edit: Json(|v| remove(v, "provenance")),
        stage: Parse,
        path: "$",
        says: Pieces(&["missing field `provenance`"]),
    },
    Case {
        name: "unknown field: in a variant",
        base: Media,
        edit: Json(|v| v["functions"][0]["variants"][0]["colour"] = json!("blue")),
        stage: Parse,
        path: "$.functions[0].variants[0].colour",
        says: Pieces(&["unknown field `colour`, expected one of `name`, `accuracy`, `model`"]),
    },
    Case {
        name: "unknown field: in an edge",
        base: Media,
        edit: Json(|v| v["workflow"]["edges"][2]["weight"] = json!(1)),
        stage: Parse,
        path: "$.workflow.edges[2].weight",
        says: Pieces(&["unknown field `weight`"]),
    },
    Case {
        name: "unknown field: at the top",
        base: Media,
        edit: Json(|v| v["owner"] = json!("me")),
        stage: Parse,
        path: "$.owner",
        says: Pieces(&["unknown field `owner`"]),
    },
    Case {
        name: "a document that is not an object",
        base: Media,
        edit: Text(|_| "42".to_string()),
        stage: Parse,
        path: "$",
        says: Pieces(&["invalid type: integer `42`, expected a profile bundle (a JSON object)"]),
    },
    Case {
        name: "schema: missing",
        base: Media,
        edit: Json(|v| remove(v, "schema")),
        stage: Parse,
        path: "$.schema",
        says: Version("missing; a profile bundle starts with \"schema\": \"optiserve.bundle/v1\""),
    },
    Case {
        name: "schema: the artifact's spec is not a bundle",
        base: Spec,
        edit: Unchanged,
        stage: Parse,
        path: "$.schema",
        says: Pieces(&["missing", "optiserve.bundle/v1"]),
    },
    Case {
        name: "schema: v2",
        base: Media,
        edit: Json(|v| v["schema"] = json!("optiserve.bundle/v2")),
        stage: Parse,
        path: "$.schema",
        says: Pieces(&[
            "this bundle is 'optiserve.bundle/v2'",
            "reads only 'optiserve.bundle/v1'",
            "use a newer optiserve",
        ]),
    },
    Case {
        name: "schema: v2 is checked before anything else is read",
        base: Media,
        edit: Json(|v| {
            v["schema"] = json!("optiserve.bundle/v2");
            v["functions"] = json!("not a list");
        }),
        stage: Parse,
        path: "$.schema",
        says: Version(concat!(
            "this bundle is 'optiserve.bundle/v2', but this optiserve ",
            env!("CARGO_PKG_VERSION"),
            " reads only 'optiserve.bundle/v1'; use a newer optiserve"
        )),
    },
    Case {
        name: "schema: another tool's",
        base: Media,
        edit: Json(|v| v["schema"] = json!("https://json-schema.org/draft/2020-12/schema")),
        stage: Parse,
        path: "$.schema",
        says: Pieces(&[
            "expected \"optiserve.bundle/v1\"",
            "found \"https://json-schema.org/draft/2020-12/schema\"",
            "this is not an optiserve profile bundle",
        ]),
    },
    Case {
        name: "schema: a number",
        base: Media,
        edit: Json(|v| v["schema"] = json!(1)),
        stage: Parse,
        path: "$.schema",
        says: Pieces(&["found 1: this is not an optiserve profile bundle"]),
    },
    Case {
        name: "schema: another one in a bundle built in code",
        base: Media,
        edit: Built(|b| b.schema = "optiserve.bundle/v0".to_string()),
        stage: Validate,
        path: "$.schema",
        says: Pieces(&["\"optiserve.bundle/v0\""]),
    },
    // ---- Pricing ----
    Case {
        name: "pricing: negative price per GB-second",
        base: Media,
        edit: Json(|v| v["pricing"]["price_per_gb_second"] = json!(-0.0001)),
        stage: Validate,
        path: "$.pricing.price_per_gb_second",
        says: Invalid(price!("-0.0001")),
    },
    Case {
        name: "pricing: negative price per request",
        base: Media,
        edit: Json(|v| v["pricing"]["price_per_request"] = json!(-1)),
        stage: Validate,
        path: "$.pricing.price_per_request",
        says: Invalid(price!("-1")),
    },
    Case {
        name: "pricing: negative price per Step Functions transition",
        base: Media,
        edit: Json(|v| v["pricing"]["step_functions"]["price_per_transition"] = json!(-0.5)),
        stage: Validate,
        path: "$.pricing.step_functions.price_per_transition",
        says: Invalid(price!("-0.5")),
    },
    Case {
        name: "pricing: billing granularity 0",
        base: Media,
        edit: Json(|v| v["pricing"]["billing_granularity_ms"] = json!(0)),
        stage: Validate,
        path: "$.pricing.billing_granularity_ms",
        says: Invalid(
            "must be a number from 0.001 to 60000 ms (Lambda bills per 1 ms, Step Functions Express per 100 ms), found 0",
        ),
    },
    // ---- Functions and memory ----
    Case {
        name: "functions: none",
        base: Media,
        edit: Json(|v| v["functions"] = json!([])),
        stage: Validate,
        path: "$.functions",
        says: Invalid("the application has no functions"),
    },
    Case {
        name: "function id: empty",
        base: Media,
        edit: Json(|v| v["functions"][3]["id"] = json!("")),
        stage: Validate,
        path: "$.functions[3].id",
        says: Invalid("a function id cannot be empty"),
    },
    Case {
        name: "function id: twice",
        base: Media,
        edit: Json(|v| v["functions"][3]["id"] = json!("thumbnail")),
        stage: Validate,
        path: "$.functions",
        says: Invalid("function id 'thumbnail' is declared twice"),
    },
    Case {
        name: "function id: Start",
        base: Media,
        edit: Json(|v| v["functions"][3]["id"] = json!("Start")),
        stage: Validate,
        path: "$.functions",
        says: Invalid(
            "'Start' is reserved for the workflow's entry/exit node and cannot name a function",
        ),
    },
    Case {
        name: "memory: an empty list",
        base: Media,
        edit: Json(|v| v["functions"][0]["memory"] = json!([])),
        stage: Validate,
        path: "$.functions[0].memory",
        says: Invalid("the list of memory sizes is empty"),
    },
    Case {
        name: "memory: 64 MB in a list",
        base: Media,
        edit: Json(|v| v["functions"][0]["memory"] = json!([128, 512, 64])),
        stage: Validate,
        path: "$.functions[0].memory[2]",
        says: Invalid("64 MB is outside what Lambda allows (128–10240 MB)"),
    },
    Case {
        name: "memory: a range up to 12288 MB",
        base: Media,
        edit: Json(|v| v["functions"][1]["memory"]["max_mb"] = json!(12288)),
        stage: Validate,
        path: "$.functions[1].memory.max_mb",
        says: Invalid("12288 MB is outside what Lambda allows (128–10240 MB)"),
    },
    Case {
        name: "memory: a range from 0 MB",
        base: Media,
        edit: Json(|v| v["functions"][0]["memory"]["min_mb"] = json!(0)),
        stage: Validate,
        path: "$.functions[0].memory.min_mb",
        says: Invalid("0 MB is outside what Lambda allows (128–10240 MB)"),
    },
    Case {
        name: "memory: a size listed twice",
        base: Media,
        edit: Json(|v| v["functions"][0]["memory"] = json!([128, 512, 1024, 512])),
        stage: Validate,
        path: "$.functions[0].memory[3]",
        says: Invalid("512 MB is listed twice"),
    },
    Case {
        name: "memory: a range with min above max",
        base: Media,
        edit: Json(|v| v["functions"][0]["memory"]["min_mb"] = json!(4096)),
        stage: Validate,
        path: "$.functions[0].memory.max_mb",
        says: Invalid("max_mb 3008 is below min_mb 4096"),
    },
    Case {
        name: "memory: a range with step 0",
        base: Media,
        edit: Json(|v| v["functions"][1]["memory"]["step_mb"] = json!(0)),
        stage: Validate,
        path: "$.functions[1].memory.step_mb",
        says: Invalid("must be at least 1"),
    },
    // ---- Variants, models, samples, accuracies ----
    Case {
        name: "variants: none",
        base: Media,
        edit: Json(|v| v["functions"][2]["variants"] = json!([])),
        stage: Validate,
        path: "$.functions[2].variants",
        says: Invalid(
            "'thumbnail' has no variants: profile it (a function without an ML model has one variant named \"default\"), or import the workflow with `optiserve workflow import-asl … --functions-from <profiled bundle>`",
        ),
    },
    Case {
        name: "variant name: twice",
        base: Media,
        edit: Json(|v| v["functions"][1]["variants"][2]["name"] = json!("resnet-18")),
        stage: Validate,
        path: "$.functions[1].variants[2].name",
        says: Invalid("variant 'resnet-18' is declared twice in 'classify'"),
    },
    Case {
        name: "exponential model: alpha_ms NaN (built in code)",
        base: Media,
        edit: Built(|b| {
            b.functions[1].variants[0].model =
                DurationModel::Exponential(ExpModel::new(f64::NAN, 6000.0, 0.0006));
        }),
        stage: Validate,
        path: "$.functions[1].variants[0].model.alpha_ms",
        says: Pieces(&["must be a finite number, found "]),
    },
    Case {
        name: "exponential model: beta_ms infinite (built in code)",
        base: Media,
        edit: Built(|b| {
            b.functions[1].variants[0].model =
                DurationModel::Exponential(ExpModel::new(500.0, f64::INFINITY, 0.0006));
        }),
        stage: Validate,
        path: "$.functions[1].variants[0].model.beta_ms",
        says: Pieces(&["must be a finite number, found "]),
    },
    Case {
        name: "exponential model: gamma_per_mb minus infinity (built in code)",
        base: Media,
        edit: Built(|b| {
            b.functions[1].variants[0].model =
                DurationModel::Exponential(ExpModel::new(500.0, 6000.0, f64::NEG_INFINITY));
        }),
        stage: Validate,
        path: "$.functions[1].variants[0].model.gamma_per_mb",
        says: Pieces(&["must be a finite number, found "]),
    },
    Case {
        name: "exponential model: negative gamma",
        base: Media,
        edit: Json(|v| v["functions"][1]["variants"][1]["model"]["gamma_per_mb"] = json!(-0.001)),
        stage: Validate,
        path: "$.functions[1].variants[1].model.gamma_per_mb",
        says: Invalid(
            "must be ≥ 0 (more memory cannot slow a function down in this model), found -0.001",
        ),
    },
    Case {
        name: "cpu_share model: negative cpu_ms",
        base: Media,
        edit: Json(|v| cpu_share_with(v, "cpu_ms", json!(-1.0))),
        stage: Validate,
        path: "$.functions[1].variants[0].model.cpu_ms",
        says: Invalid(
            "must be ≥ 0 (more memory cannot slow a function down in this model), found -1",
        ),
    },
    Case {
        name: "cpu_share model: knee_mb 0",
        base: Media,
        edit: Json(|v| cpu_share_with(v, "knee_mb", json!(0))),
        stage: Validate,
        path: "$.functions[1].variants[0].model.knee_mb",
        says: Invalid("must be a positive memory size, found 0"),
    },
    Case {
        name: "cpu_share model: parallel_fraction above 1",
        base: Media,
        edit: Json(|v| cpu_share_with(v, "parallel_fraction", json!(1.5))),
        stage: Validate,
        path: "$.functions[1].variants[0].model.parallel_fraction",
        says: Invalid("must be within [0, 1], found 1.5"),
    },
    Case {
        name: "cpu_share model: parallel_fraction below 0",
        base: Media,
        edit: Json(|v| cpu_share_with(v, "parallel_fraction", json!(-0.1))),
        stage: Validate,
        path: "$.functions[1].variants[0].model.parallel_fraction",
        says: Invalid("must be within [0, 1], found -0.1"),
    },
    Case {
        name: "cpu_share model: serial_ms NaN (built in code)",
        base: Media,
        edit: Built(|b| {
            b.functions[1].variants[0].model =
                DurationModel::CpuShare(CpuShareModel::new(f64::NAN, 1.0, 1769.0));
        }),
        stage: Validate,
        path: "$.functions[1].variants[0].model.serial_ms",
        says: Pieces(&["must be a finite number, found "]),
    },
    Case {
        name: "cpu_share model: cpu_ms infinite (built in code)",
        base: Media,
        edit: Built(|b| {
            b.functions[1].variants[0].model =
                DurationModel::CpuShare(CpuShareModel::new(1.0, f64::INFINITY, 1769.0));
        }),
        stage: Validate,
        path: "$.functions[1].variants[0].model.cpu_ms",
        says: Pieces(&["must be a finite number, found "]),
    },
    Case {
        name: "cpu_share model: knee_mb NaN (built in code)",
        base: Media,
        edit: Built(|b| {
            b.functions[1].variants[0].model =
                DurationModel::CpuShare(CpuShareModel::new(1.0, 1.0, f64::NAN));
        }),
        stage: Validate,
        path: "$.functions[1].variants[0].model.knee_mb",
        says: Pieces(&["must be a finite number, found "]),
    },
    Case {
        name: "cpu_share model: parallel_fraction NaN (built in code)",
        base: Media,
        edit: Built(|b| {
            b.functions[1].variants[0].model = DurationModel::CpuShare(
                CpuShareModel::new(1.0, 1.0, 1769.0).with_parallel_fraction(f64::NAN),
            );
        }),
        stage: Validate,
        path: "$.functions[1].variants[0].model.parallel_fraction",
        says: Pieces(&["must be a finite number, found "]),
    },
    Case {
        name: "cpu_share model: a serial part so negative that durations are not positive",
        base: Media,
        edit: Json(|v| cpu_share_with(v, "serial_ms", json!(-5000.0))),
        stage: Validate,
        path: "$.functions[1].variants[0].model",
        says: Invalid(
            "the model predicts a duration of -3000 ms at 2048 MB; durations must be positive over the memory options",
        ),
    },
    Case {
        name: "cpu_share model: knee_mb a string",
        base: Media,
        edit: Json(|v| cpu_share_with(v, "knee_mb", json!("big"))),
        stage: Parse,
        path: "$.functions[1].variants[0].model.knee_mb",
        says: Pieces(&["invalid type: string \"big\", expected f64"]),
    },
    Case {
        name: "cpu_share model: no knee_mb",
        base: Media,
        edit: Json(|v| {
            v["functions"][1]["variants"][0]["model"] =
                json!({"kind": "cpu_share", "serial_ms": 1.0, "cpu_ms": 2.0});
        }),
        stage: Parse,
        path: "$.functions[1].variants[0].model",
        says: Pieces(&["missing field `knee_mb`"]),
    },
    Case {
        name: "cpu_share model: a field of another kind",
        base: Media,
        edit: Json(|v| cpu_share_with(v, "cores", json!(2))),
        stage: Parse,
        path: "$.functions[1].variants[0].model",
        says: Pieces(&["unknown field `cores`"]),
    },
    Case {
        name: "exponential model: 0 ms everywhere",
        base: Media,
        edit: Json(|v| {
            v["functions"][1]["variants"][0]["model"] = json!(
                {"kind": "exponential", "alpha_ms": 0.0, "beta_ms": 0.0, "gamma_per_mb": 0.0}
            );
        }),
        stage: Validate,
        path: "$.functions[1].variants[0].model",
        says: Invalid(
            "the model predicts a duration of 0 ms at 2048 MB; durations must be positive over the memory options",
        ),
    },
    Case {
        // Positive at small memory, negative at large: the first failing size is named.
        name: "exponential model: negative past 896 MB",
        base: Media,
        edit: Json(|v| v["functions"][0]["variants"][0]["model"]["alpha_ms"] = json!(-100.0)),
        stage: Validate,
        path: "$.functions[0].variants[0].model",
        says: Pieces(&["the model predicts a duration of -", " ms at 896 MB;"]),
    },
    Case {
        name: "table model: 0 ms",
        base: Media,
        edit: Json(|v| {
            v["functions"][0]["variants"][0]["model"] =
                json!({"kind": "table", "points": [{"memory_mb": 128, "duration_ms": 0}]});
        }),
        stage: Validate,
        path: "$.functions[0].variants[0].model",
        says: Invalid(
            "the model predicts a duration of 0 ms at 128 MB; durations must be positive over the memory options",
        ),
    },
    Case {
        name: "sample: memory 0",
        base: Media,
        edit: Json(|v| v["functions"][0]["variants"][0]["samples"][4]["memory_mb"] = json!(0)),
        stage: Validate,
        path: "$.functions[0].variants[0].samples[4].memory_mb",
        says: Invalid(
            "must be a number from 1 to 10240 MB (Lambda's largest memory size), found 0",
        ),
    },
    Case {
        name: "sample: negative duration",
        base: Media,
        edit: Json(|v| {
            v["functions"][0]["variants"][0]["samples"][7]["duration_ms"] = json!(-12.5);
        }),
        stage: Validate,
        path: "$.functions[0].variants[0].samples[7].duration_ms",
        says: Invalid(
            "must be a number from 0 to 900000 ms (Lambda's 15-minute timeout), found -12.5",
        ),
    },
    Case {
        name: "sample: cold is a string",
        base: Media,
        edit: Json(|v| v["functions"][0]["variants"][0]["samples"][7]["cold"] = json!("yes")),
        stage: Parse,
        path: "$.functions[0].variants[0].samples[7].cold",
        says: Pieces(&["invalid type: string \"yes\", expected a boolean"]),
    },
    Case {
        name: "raw accuracy: infinite (built in code)",
        base: Media,
        edit: Built(|b| {
            let accuracy = b.functions[4].variants[1]
                .accuracy
                .as_mut()
                .expect("detect has accuracies");
            accuracy.value = f64::INFINITY;
        }),
        stage: Validate,
        path: "$.functions[4].variants[1].accuracy.value",
        says: Invalid("must be a finite number"),
    },
    Case {
        name: "raw accuracy: outside [0, 1] under as_given normalisation",
        base: Media,
        edit: Json(|v| v["accuracy"]["normalization"] = json!("as_given")),
        stage: Validate,
        path: "$.functions[1].variants[0].accuracy.value",
        says: Invalid(
            "variant 0 has accuracy 69.76, which is outside [0, 1] as as_given normalisation requires",
        ),
    },
    // ---- Workflow ----
    Case {
        name: "edge: to an unknown node",
        base: Media,
        edit: Json(|v| edge_mut(v, "detect", "review")["to"] = json!("reviw")),
        stage: Validate,
        path: "$.workflow.edges[{edge detect→review}]",
        says: Invalid("edge {edge detect→review} (detect → reviw): unknown node 'reviw'"),
    },
    Case {
        name: "edge: probability 1.5",
        base: Media,
        edit: Json(|v| edge_mut(v, "merge", "detect")["probability"] = json!(1.5)),
        stage: Validate,
        path: "$.workflow.edges[{edge merge→detect}]",
        says: Invalid(
            "edge {edge merge→detect} (merge → detect): probability 1.5 is outside (0, 1]",
        ),
    },
    Case {
        name: "edge: probability 0",
        base: Media,
        edit: Json(|v| edge_mut(v, "merge", "detect")["probability"] = json!(0.0)),
        stage: Validate,
        path: "$.workflow.edges[{edge merge→detect}]",
        says: Invalid("edge {edge merge→detect} (merge → detect): probability 0 is outside (0, 1]"),
    },
    Case {
        name: "edge: negative probability",
        base: Media,
        edit: Json(|v| edge_mut(v, "merge", "detect")["probability"] = json!(-0.2)),
        stage: Validate,
        path: "$.workflow.edges[{edge merge→detect}]",
        says: Invalid(
            "edge {edge merge→detect} (merge → detect): probability -0.2 is outside (0, 1]",
        ),
    },
    Case {
        name: "edge: into Start",
        base: Media,
        edit: Json(|v| edge_mut(v, "review", "ingest")["to"] = json!("Start")),
        stage: Validate,
        path: "$.workflow.edges[{edge review→ingest}]",
        says: Invalid("edge {edge review→ingest} (review → Start): Start has no incoming edges"),
    },
    Case {
        name: "edge: out of End",
        base: Media,
        edit: Json(|v| edges(v).push(json!({"from": "End", "to": "ingest", "probability": 1.0}))),
        stage: Validate,
        path: "$.workflow.edges[{last edge}]",
        says: Invalid("edge {last edge} (End → ingest): End has no outgoing edges"),
    },
    Case {
        name: "edge: twice",
        base: Media,
        edit: Json(|v| {
            let copy = edge_mut(v, "classify", "merge").clone();
            edges(v).push(copy);
        }),
        stage: Validate,
        path: "$.workflow.edges[{last edge}]",
        says: Invalid("edge {last edge} (classify → merge) duplicates edge {edge classify→merge}"),
    },
    Case {
        name: "branch: sums to 0.9",
        base: Media,
        edit: Json(|v| edge_mut(v, "merge", "caption")["probability"] = json!(0.3)),
        stage: Validate,
        path: "$.workflow.edges[{edge merge→detect}]",
        says: Pieces(&[
            "the branch out of 'merge' sums to 0.9",
            "must sum to 1 within 1e-9",
            "detect (0.6), caption (0.3)",
        ]),
    },
    Case {
        name: "node: unreachable",
        base: Media,
        edit: Json(|v| {
            let k = edge(v, "ingest", "thumbnail");
            edges(v).remove(k);
        }),
        stage: Validate,
        path: "$.workflow.edges",
        says: Invalid("unreachable from Start: thumbnail"),
    },
    Case {
        name: "node: no path to End",
        base: Media,
        edit: Json(|v| {
            let k = edge(v, "thumbnail", "merge");
            edges(v).remove(k);
        }),
        stage: Validate,
        path: "$.workflow.edges",
        says: Invalid("no path to End from: thumbnail"),
    },
    Case {
        name: "loop: a self-loop with probability 1",
        base: Media,
        edit: Json(|v| edge_mut(v, "publish", "publish")["probability"] = json!(1.0)),
        stage: Validate,
        path: "$.workflow.edges[{edge publish→publish}]",
        says: Invalid(
            "the loop publish → publish can never exit: a self-loop with probability 1 is taken forever",
        ),
    },
    Case {
        // publish also always goes back to ingest (in parallel with its way out).
        name: "loop: a cycle closed with probability 1",
        base: Media,
        edit: Json(|v| {
            edges(v).push(json!({"from": "publish", "to": "ingest", "probability": 1.0}));
        }),
        stage: Validate,
        path: "$.workflow.edges[{last edge}]",
        says: Invalid(
            "the loop publish → ingest can never exit: this edge closes a cycle back to 'ingest' but has probability 1, so it is taken every time; a cycle must be closed by a branch edge (p < 1) from the node where it can exit",
        ),
    },
    Case {
        // yolo always goes back to f1 as well as on to End.
        name: "loop: a cycle closed with probability 1 in App3",
        base: App3,
        edit: Json(|v| edges(v).push(json!({"from": "yolo", "to": "f1", "probability": 1.0}))),
        stage: Validate,
        path: "$.workflow.edges[6]",
        says: Invalid(
            "the loop yolo → f1 can never exit: this edge closes a cycle back to 'f1' but has probability 1, so it is taken every time; a cycle must be closed by a branch edge (p < 1) from the node where it can exit",
        ),
    },
    Case {
        // thumbnail also starts classify: classify is reached from both parallel arms of ingest.
        name: "irreducible: a node reached from two parallel arms",
        base: Media,
        edit: Json(|v| {
            edges(v).push(json!({"from": "thumbnail", "to": "classify", "probability": 1.0}));
        }),
        stage: Validate,
        path: "$.workflow.edges",
        says: Pieces(&[
            "the workflow cannot be reduced: ",
            "'classify' is reached from two parallel arms before they join",
        ]),
    },
    Case {
        // review loops back into classify, which is inside ingest's parallel block.
        name: "irreducible: a cycle into a parallel block",
        base: Media,
        edit: Json(|v| edge_mut(v, "review", "ingest")["to"] = json!("classify")),
        stage: Validate,
        path: "$.workflow.edges[{edge review→ingest}]",
        says: Pieces(&[
            "the workflow cannot be reduced: ",
            "the cycle review → classify is not a single-entry, single-exit block",
        ]),
    },
    Case {
        name: "orchestration: negative state delay",
        base: Media,
        edit: Json(|v| v["workflow"]["orchestration"]["state_ms"] = json!(-18.81)),
        stage: Validate,
        path: "$.workflow.orchestration.state_ms",
        says: Invalid(
            "must be a number from 0 to 60000 ms (measured delays are tens of milliseconds; a minute is a unit mistake), found -18.81",
        ),
    },
    Case {
        name: "orchestration: negative transition delay",
        base: Media,
        edit: Json(|v| v["workflow"]["orchestration"]["transition_ms"] = json!(-1)),
        stage: Validate,
        path: "$.workflow.orchestration.transition_ms",
        says: Invalid(
            "must be a number from 0 to 60000 ms (measured delays are tens of milliseconds; a minute is a unit mistake), found -1",
        ),
    },
    // ---- Accuracy score ----
    Case {
        name: "formula: a syntax error",
        base: Media,
        edit: Json(|v| {
            v["accuracy"]["score"]["expression"] = json!("0.5 * A(classify) + * A(detect)");
        }),
        stage: Validate,
        path: "$.accuracy.score",
        says: Invalid("column 21: expected an expression but found '*'"),
    },
    Case {
        name: "formula: an unknown function",
        base: Media,
        edit: Json(|v| v["accuracy"]["score"]["expression"] = json!("A(classify) + A(detekt)")),
        stage: Validate,
        path: "$.accuracy.score",
        says: Invalid("column 17: unknown function id 'detekt' in A(...)"),
    },
    Case {
        name: "template: an unknown function",
        base: Media,
        edit: Json(|v| {
            v["accuracy"]["score"] = json!({"kind": "min", "functions": ["classify", "detekt"]});
        }),
        stage: Validate,
        path: "$.accuracy.score",
        says: Invalid("unknown function id 'detekt': it is not one of the application's functions"),
    },
    Case {
        name: "template: a negative weight",
        base: Media,
        edit: Json(|v| {
            v["accuracy"]["score"] =
                json!({"kind": "weighted_sum", "weights": {"classify": 0.5, "detect": -0.5}});
        }),
        stage: Validate,
        path: "$.accuracy.score",
        says: Invalid(
            "the weight of function 'detect' is -0.5, but weights must be finite and non-negative",
        ),
    },
    Case {
        name: "template: naming no function",
        base: Media,
        edit: Json(|v| v["accuracy"]["score"] = json!({"kind": "geometric_mean", "weights": {}})),
        stage: Validate,
        path: "$.accuracy.score",
        says: Invalid("the geometric_mean accuracy score names no function; it needs at least one"),
    },
    Case {
        name: "formula: not monotone",
        base: Media,
        edit: Json(|v| v["accuracy"]["score"]["expression"] = json!("1 - A(detect)")),
        stage: Validate,
        path: "$.accuracy.score",
        says: Pieces(&[
            "the accuracy score breaks its contract (monotone non-decreasing in every A(f), finite on [0, 1])",
            "the score is not monotone in A(detect): raising it from 0 to ",
        ]),
    },
    Case {
        // Under min-max normalisation yolov10n (the least accurate detector) has A(detect) = 0.
        name: "formula: unbounded",
        base: Media,
        edit: Json(|v| v["accuracy"]["score"]["expression"] = json!("A(caption) / A(detect)")),
        stage: Validate,
        path: "$.accuracy.score",
        says: Pieces(&[
            "the accuracy score breaks its contract",
            "the score is not finite at ",
            "A(detect) = 0",
        ]),
    },
    Case {
        // The score is an internally tagged object: a type error inside it is reported at the object.
        name: "score: expression a number",
        base: Media,
        edit: Json(|v| v["accuracy"]["score"]["expression"] = json!(1)),
        stage: Parse,
        path: "$.accuracy.score",
        says: Pieces(&["invalid type: integer `1`, expected a string"]),
    },
    Case {
        name: "score: unknown kind",
        base: Media,
        edit: Json(|v| v["accuracy"]["score"]["kind"] = json!("average")),
        stage: Parse,
        path: "$.accuracy.score.kind",
        says: Pieces(&["unknown variant `average`, expected one of"]),
    },
    // ---- Deployed configuration ----
    Case {
        name: "deployed: an unknown function",
        base: Media,
        edit: Json(|v| v["deployed"]["transcode"] = json!({"memory_mb": 1024})),
        stage: Validate,
        path: "$.deployed.transcode",
        says: Invalid("'transcode' is not a function of this bundle"),
    },
    Case {
        name: "deployed: an unknown variant",
        base: Media,
        edit: Json(|v| v["deployed"]["classify"]["variant"] = json!("resnet-152")),
        stage: Validate,
        path: "$.deployed.classify.variant",
        says: Invalid(
            "'classify' has no variant 'resnet-152' (variants: resnet-18, resnet-50, resnet-101)",
        ),
    },
    Case {
        name: "deployed: memory outside the options",
        base: Media,
        edit: Json(|v| v["deployed"]["classify"]["memory_mb"] = json!(1024)),
        stage: Validate,
        path: "$.deployed.classify.memory_mb",
        says: Pieces(&[
            "1024 MB is outside",
            "classify",
            "memory options (2048–10240 MB)",
        ]),
    },
    Case {
        name: "deployed: memory a string",
        base: Media,
        edit: Json(|v| v["deployed"]["classify"]["memory_mb"] = json!("4096")),
        stage: Parse,
        path: "$.deployed.classify.memory_mb",
        says: Pieces(&["invalid type: string \"4096\", expected u32"]),
    },
    // ---- import_optiserve_spec: reading the spec ----
    Case {
        name: "import: a wrong weight count",
        base: Spec,
        edit: Json(|s| s["accuracy_formula"]["weighted"] = json!([2, 1])),
        stage: Import,
        path: "$.accuracy_formula.weighted",
        says: Invalid(
            "2 weights for 3 functions: the artifact weighs every function in spec order",
        ),
    },
    Case {
        name: "import: an empty grid",
        base: Spec,
        edit: Json(|s| s["functions"][1]["memory_grid"]["stop"] = json!(2048)),
        stage: Import,
        path: "$.functions[1].memory_grid",
        says: Invalid("the grid 2048..2048 (stop exclusive) is empty"),
    },
    Case {
        name: "import: grid step 0",
        base: Spec,
        edit: Json(|s| s["functions"][2]["memory_grid"]["step"] = json!(0)),
        stage: Import,
        path: "$.functions[2].memory_grid.step",
        says: Invalid("must be at least 1"),
    },
    Case {
        name: "import: a2 0",
        base: Spec,
        edit: Json(|s| s["functions"][1]["variants"][0]["model"]["a2"] = json!(0.0)),
        stage: Import,
        path: "$.functions[1].variants[0].model.a2",
        says: Invalid("must be a positive number (ET = a0 + a1·exp(−m/a2)), found 0"),
    },
    Case {
        name: "import: a2 negative",
        base: Spec,
        edit: Json(|s| s["functions"][1]["variants"][0]["model"]["a2"] = json!(-1510.0)),
        stage: Import,
        path: "$.functions[1].variants[0].model.a2",
        says: Invalid("must be a positive number (ET = a0 + a1·exp(−m/a2)), found -1510"),
    },
    Case {
        name: "import: an edge's probability a string",
        base: Spec,
        edit: Json(|s| s["edges"][2][2] = json!("0.3")),
        stage: Import,
        path: "$.edges[2][2]",
        says: Shape(&["invalid type: string \"0.3\", expected f64", "(line "]),
    },
    Case {
        name: "import: a grid's start a string",
        base: Spec,
        edit: Json(|s| s["functions"][0]["memory_grid"]["start"] = json!("128")),
        stage: Import,
        path: "$.functions[0].memory_grid",
        says: Pieces(&[
            "expected a memory grid: {\"start\", \"stop\", \"step\"} or a list of sizes in MB",
        ]),
    },
    Case {
        name: "import: an edge's node a boolean",
        base: Spec,
        edit: Json(|s| s["edges"][1][0] = json!(true)),
        stage: Import,
        path: "$.edges[1][0]",
        says: Pieces(&["expected a node id: a string or a number"]),
    },
    Case {
        name: "import: an unknown field in a variant",
        base: Spec,
        edit: Json(|s| s["functions"][0]["variants"][0]["colour"] = json!("blue")),
        stage: Import,
        path: "$.functions[0].variants[0].colour",
        says: Pieces(&["unknown field `colour`"]),
    },
    Case {
        name: "import: an unknown field in a model",
        base: Spec,
        edit: Json(|s| s["functions"][0]["variants"][0]["model"]["a3"] = json!(1)),
        stage: Import,
        path: "$.functions[0].variants[0].model",
        says: Pieces(&["unknown field `a3`"]),
    },
    // ---- import_optiserve_spec: validation errors point at the spec's own fields ----
    Case {
        name: "import: an edge to an unknown node",
        base: Spec,
        edit: Json(|s| s["edges"][3][1] = json!("yolov10")),
        stage: Import,
        path: "$.edges[3]",
        says: Invalid("edge 3 (resnet → yolov10): unknown node 'yolov10'"),
    },
    Case {
        name: "import: a branch summing to 0.9",
        base: Spec,
        edit: Json(|s| s["edges"][3][2] = json!(0.6)),
        stage: Import,
        path: "$.edges[2]",
        says: Pieces(&["the branch out of 'resnet' sums to 0.9"]),
    },
    Case {
        name: "import: unreachable nodes",
        base: Spec,
        edit: Json(|s| {
            s["edges"].as_array_mut().expect("edges").remove(1);
        }),
        stage: Import,
        path: "$.edges",
        says: Invalid("unreachable from Start: resnet, yolo, End"),
    },
    Case {
        name: "import: a grid from 64 MB",
        base: Spec,
        edit: Json(|s| s["functions"][0]["memory_grid"]["start"] = json!(64)),
        stage: Import,
        path: "$.functions[0].memory_grid.start",
        says: Invalid("64 MB is outside what Lambda allows (128–10240 MB)"),
    },
    Case {
        name: "import: a grid up to 12000 MB",
        base: Spec,
        edit: Json(|s| s["functions"][1]["memory_grid"]["stop"] = json!(12000)),
        stage: Import,
        path: "$.functions[1].memory_grid.stop",
        says: Invalid("11776 MB is outside what Lambda allows (128–10240 MB)"),
    },
    Case {
        name: "import: a size listed twice",
        base: Spec,
        edit: Json(|s| s["functions"][0]["memory_grid"] = json!([128, 512, 128])),
        stage: Import,
        path: "$.functions[0].memory_grid[2]",
        says: Invalid("128 MB is listed twice"),
    },
    Case {
        name: "import: an empty list of sizes",
        base: Spec,
        edit: Json(|s| s["functions"][0]["memory_grid"] = json!([])),
        stage: Import,
        path: "$.functions[0].memory_grid",
        says: Invalid("the list of memory sizes is empty"),
    },
    Case {
        name: "import: a negative compute price",
        base: Spec,
        edit: Json(|s| s["pricing"]["compute"] = json!(-1)),
        stage: Import,
        path: "$.pricing.compute",
        says: Invalid(price!("-1")),
    },
    Case {
        name: "import: a negative request price",
        base: Spec,
        edit: Json(|s| s["pricing"]["request"] = json!(-1)),
        stage: Import,
        path: "$.pricing.request",
        says: Invalid(price!("-1")),
    },
    Case {
        name: "import: a negative weight",
        base: Spec,
        edit: Json(|s| s["accuracy_formula"]["weighted"][2] = json!(-1)),
        stage: Import,
        path: "$.accuracy_formula.weighted",
        says: Invalid(
            "the weight of function 'yolo' is -1, but weights must be finite and non-negative",
        ),
    },
    Case {
        // The artifact uses raw accuracies as given: they must be within [0, 1].
        name: "import: accuracies in percent",
        base: Spec,
        edit: Json(|s| {
            let variants = s["functions"][1]["variants"]
                .as_array_mut()
                .expect("variants");
            for (v, a) in variants.iter_mut().zip([69.76, 73.31, 76.13, 77.37]) {
                v["accuracy"] = json!(a);
            }
        }),
        stage: Import,
        path: "$.functions[1].variants[0].accuracy",
        says: Invalid(
            "variant 0 has accuracy 69.76, which is outside [0, 1] as as_given normalisation requires",
        ),
    },
    Case {
        name: "import: a model with negative durations",
        base: Spec,
        edit: Json(|s| s["functions"][0]["variants"][0]["model"]["a0"] = json!(-3000)),
        stage: Import,
        path: "$.functions[0].variants[0].model",
        says: Pieces(&["the model predicts a duration of -", " ms at 128 MB"]),
    },
    Case {
        name: "import: a variant name twice",
        base: Spec,
        edit: Json(|s| s["functions"][2]["variants"][3]["name"] = json!("yolov10n")),
        stage: Import,
        path: "$.functions[2].variants[3].name",
        says: Invalid("variant 'yolov10n' is declared twice in 'yolo'"),
    },
    Case {
        name: "import: a function id twice",
        base: Spec,
        edit: Json(|s| s["functions"][2]["id"] = json!("resnet")),
        stage: Import,
        path: "$.functions",
        says: Invalid("function id 'resnet' is declared twice"),
    },
    Case {
        name: "import: an empty function id",
        base: Spec,
        edit: Json(|s| s["functions"][0]["id"] = json!("")),
        stage: Import,
        path: "$.functions[0].id",
        says: Invalid("a function id cannot be empty"),
    },
    Case {
        name: "import: no variants",
        base: Spec,
        edit: Json(|s| s["functions"][0]["variants"] = json!([])),
        stage: Import,
        path: "$.functions[0].variants",
        says: Pieces(&["has no variants"]),
    },
];

// ---- Running the table ----

/// Every row, all of them run; the failures are listed by name.
#[test]
fn every_bad_input_is_refused_with_its_path_and_message() {
    let mut names = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for case in CASES {
        if !names.insert(case.name) {
            failures.push(format!("{}: two rows have this name", case.name));
        }
        let outcome = std::panic::catch_unwind(|| run(case)).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Err(format!("panicked: {what}"))
        });
        if let Err(why) = outcome {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// Runs one row: makes its document, reads it at its stage, and checks the error.
fn run(case: &Case) -> Result<(), String> {
    let source = match case.base {
        Media => MEDIA,
        App3 => APP3,
        Spec => SPEC,
    };
    let base: Value = serde_json::from_str(source).map_err(|e| format!("the base: {e}"))?;
    let mut edited = None;
    let document = match case.edit {
        Unchanged | Built(_) => source.to_string(),
        Text(edit) => edit(source),
        Json(edit) => {
            let mut v = base.clone();
            edit(&mut v);
            let doc = text(&v);
            edited = Some(v);
            doc
        }
    };
    let error = match (case.stage, case.edit) {
        (Parse, Built(_)) | (Import, Built(_)) => {
            return Err("an edit of a built bundle goes with the validate stage".to_string());
        }
        (Parse, _) => Bundle::from_json(&document).err(),
        (Import, _) => import_optiserve_spec(&document).err(),
        (Validate, edit) => {
            let mut bundle = Bundle::from_json(&document)
                .map_err(|e| format!("the document should be read, but: {e}"))?;
            if let Built(edit) = edit {
                edit(&mut bundle);
            }
            bundle.validate().err()
        }
    };
    let error = error.ok_or_else(|| format!("the {:?} stage accepted the document", case.stage))?;
    let path = fill(case.path, &base, edited.as_ref())?;
    check(&error, &path, case.says, &base, edited.as_ref())
}

/// Checks that `error` points at `path` and says what `says` says.
fn check(
    error: &BundleError,
    path: &str,
    says: Says,
    base: &Value,
    edited: Option<&Value>,
) -> Result<(), String> {
    if error.path() != Some(path) {
        return Err(format!("wrong path (expected {path}) in: {error}"));
    }
    let shown = error.to_string();
    if !shown.starts_with(&format!("{path}: ")) {
        return Err(format!("the message does not start with its path: {shown}"));
    }
    let (pieces, kind_ok): (&[&str], bool) = match says {
        Invalid(message) => {
            let message = fill(message, base, edited)?;
            let expected = BundleError::Invalid {
                path: path.to_string(),
                message,
            };
            return if *error == expected {
                Ok(())
            } else {
                Err(format!("expected {expected:?}, got {error:?}"))
            };
        }
        Version(message) => {
            let expected = BundleError::Version(message.to_string());
            return if *error == expected {
                Ok(())
            } else {
                Err(format!("expected {expected:?}, got {error:?}"))
            };
        }
        Shape(pieces) => (pieces, matches!(error, BundleError::Shape { .. })),
        Pieces(pieces) => (pieces, true),
    };
    if !kind_ok {
        return Err(format!("expected a shape error, got {error:?}"));
    }
    for piece in pieces {
        let piece = fill(piece, base, edited)?;
        if !shown.contains(&piece) {
            return Err(format!("{piece:?} is missing from: {shown}"));
        }
    }
    Ok(())
}

/// Fills in `{edge a→b}` (from the base document) and `{last edge}` (from the edited one).
fn fill(template: &str, base: &Value, edited: Option<&Value>) -> Result<String, String> {
    let mut out = template.to_string();
    if out.contains("{last edge}") {
        let edited = edited.ok_or("{last edge} needs a JSON edit")?;
        let last = edited["workflow"]["edges"]
            .as_array()
            .and_then(|e| e.len().checked_sub(1))
            .ok_or("{last edge}: the edited document has no edges")?;
        out = out.replace("{last edge}", &last.to_string());
    }
    while let Some(start) = out.find("{edge ") {
        let end = start + out[start..].find('}').ok_or("an unclosed {edge …}")?;
        let (from, to) = out[start + "{edge ".len()..end]
            .split_once('→')
            .ok_or("{edge …} names an edge as from→to")?;
        let k = edge(base, from, to);
        out.replace_range(start..=end, &k.to_string());
    }
    Ok(out)
}

fn text(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("serialises")
}

// ---- The examples ----

#[test]
fn example_bundles_round_trip_and_validate() {
    for (name, source) in [("media-pipeline", MEDIA), ("app3", APP3)] {
        let b = Bundle::from_json(source).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(Bundle::from_json(&b.to_json()), Ok(b.clone()), "{name}");
        let app = b.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(app.functions.len(), b.functions.len(), "{name}");
        // Key order does not matter: the same document with its keys sorted reads the same.
        let sorted: Value = serde_json::from_str(source).expect("JSON");
        assert_eq!(Bundle::from_json(&text(&sorted)), Ok(b), "{name}");
    }
}

#[test]
fn the_artifact_spec_imports_to_the_app3_example() {
    let imported = import_optiserve_spec(SPEC).unwrap_or_else(|e| panic!("{e}"));
    let example = Bundle::from_json(APP3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imported, example);
}

#[test]
fn a_cpu_share_model_loads_and_is_written_back_as_read() {
    let mut v: Value = serde_json::from_str(MEDIA).unwrap();
    v["functions"][1]["variants"][0]["model"] = cpu_share();
    let bundle = Bundle::from_json(&text(&v)).unwrap();
    bundle.validate().unwrap();
    let DurationModel::CpuShare(m) = &bundle.functions[1].variants[0].model else {
        panic!("{:?}", bundle.functions[1].variants[0].model);
    };
    assert_eq!(*m, CpuShareModel::new(-20.0, 2000.0, 1769.0));
    // Written back as read: a parallel fraction of 0 is left out.
    let back: Value = serde_json::from_str(&bundle.to_json()).unwrap();
    assert_eq!(back["functions"][1]["variants"][0]["model"], cpu_share());
}

// ---- Syntax errors: their line and column ----

/// Asserts the error's path and that its message (as displayed) contains every piece of `says`.
#[track_caller]
fn assert_error(e: &BundleError, path: &str, says: &[&str]) {
    assert_eq!(e.path(), Some(path), "wrong path in: {e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{path}: ")),
        "the message does not start with its path: {shown}"
    );
    for piece in says {
        assert!(shown.contains(piece), "{piece:?} is missing from: {shown}");
    }
}

#[track_caller]
fn assert_invalid(e: &BundleError, path: &str, message: &str) {
    assert_eq!(
        e,
        &BundleError::Invalid {
            path: path.to_string(),
            message: message.to_string()
        }
    );
}

/// 1-based (line, column) just after the first occurrence of `needle` in `text`.
fn position_after(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).expect("needle occurs") + needle.len();
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |n| n + 1);
    (line, column)
}

#[test]
fn syntax_error_reports_line_and_column() {
    // Drop the comma after `"name": "media-pipeline"` (line 3).
    let broken = MEDIA.replacen("\"media-pipeline\",", "\"media-pipeline\"", 1);
    let e = Bundle::from_json(&broken).unwrap_err();
    assert_eq!(e.path(), None);
    assert_eq!(
        e,
        BundleError::Syntax {
            line: 4,
            column: 3,
            message: "expected `,` or `}`".to_string()
        }
    );
    assert_eq!(
        e.to_string(),
        "invalid JSON at line 4, column 3: expected `,` or `}`"
    );

    let e = Bundle::from_json(&format!("{MEDIA} trailing")).unwrap_err();
    assert!(
        matches!(&e, BundleError::Syntax { message, .. } if message == "trailing characters"),
        "{e:?}"
    );
    let e = Bundle::from_json("").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid JSON at line 1, column 0: EOF while parsing a value"
    );
}

#[test]
fn wrong_type_deep_in_a_model_reports_its_path_line_and_column() {
    let path = "$.functions[1].variants[0].model.alpha_ms";
    // In the file as written ("kind" first) ...
    let needle = "\"alpha_ms\": 505.4858615191236";
    let edited = MEDIA.replacen(needle, "\"alpha_ms\": \"fast\"", 1);
    let (line, column) = position_after(&edited, "\"alpha_ms\": \"fast\"");
    let e = Bundle::from_json(&edited).unwrap_err();
    assert_eq!(
        e,
        BundleError::Shape {
            path: path.to_string(),
            message: "invalid type: string \"fast\", expected f64".to_string(),
            line,
            column,
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{path}: invalid type: string \"fast\", expected f64 (line {line}, column {column})"
        )
    );

    // ... and with the keys in another order ("alpha_ms" before "kind").
    let mut v: Value = serde_json::from_str(MEDIA).unwrap();
    v["functions"][1]["variants"][0]["model"]["alpha_ms"] = json!("fast");
    let doc = text(&v);
    let (line, column) = position_after(&doc, "\"alpha_ms\": \"fast\"");
    let e = Bundle::from_json(&doc).unwrap_err();
    assert!(
        matches!(&e, BundleError::Shape { line: l, column: c, .. } if (*l, *c) == (line, column)),
        "{e:?}"
    );
    assert_error(&e, path, &["invalid type: string \"fast\", expected f64"]);
}

#[test]
fn a_number_too_large_for_f64_is_refused_while_reading() {
    let huge = MEDIA.replacen("\"alpha_ms\": 505.4858615191236", "\"alpha_ms\": 1e999", 1);
    let e = Bundle::from_json(&huge).unwrap_err();
    assert!(e.to_string().contains("number out of range"), "{e}");
}

// ---- Application::resolve on a user configuration ----

fn media_app() -> optiserve_core::bundle::Application {
    Bundle::from_json(MEDIA)
        .expect("parses")
        .validate()
        .expect("valid")
}

fn config(id: &str, memory_mb: u32, variant: Option<&str>) -> Configuration {
    let choice = Choice {
        memory_mb,
        variant: variant.map(str::to_string),
    };
    Configuration::from([(id.to_string(), choice)])
}

#[test]
fn resolve_refuses_an_unknown_function() {
    let e = media_app()
        .resolve(&config("transcode", 1024, None), "$")
        .unwrap_err();
    assert_invalid(
        &e,
        "$.transcode",
        "'transcode' is not a function of this bundle (functions: ingest, classify, thumbnail, merge, detect, caption, review, publish)",
    );
}

#[test]
fn resolve_refuses_an_unknown_variant() {
    let e = media_app()
        .resolve(&config("detect", 4096, Some("yolov10x")), "$.config")
        .unwrap_err();
    assert_invalid(
        &e,
        "$.config.detect.variant",
        "'detect' has no variant 'yolov10x' (variants: yolov10n, yolov10s, yolov10m)",
    );
}

#[test]
fn resolve_refuses_memory_out_of_range() {
    let e = media_app()
        .resolve(&config("merge", 10_368, None), "$")
        .unwrap_err();
    assert_error(
        &e,
        "$.merge.memory_mb",
        &[
            "10368 MB is outside",
            "merge",
            "memory options (128–3008 MB)",
        ],
    );

    // A valid configuration resolves, keeping the deployed choice for the others.
    let app = media_app();
    let resolved = app
        .resolve(&config("detect", 8192, Some("yolov10m")), "$")
        .expect("valid");
    assert_eq!(resolved[4].memory_mb, 8192);
    assert_eq!(resolved[4].variant, 2);
    assert_eq!(resolved[1], app.deployed[1]);
}

/// Weighted payloads with their samples validate (the table's payload rows each break one thing).
#[test]
fn weighted_payloads_validate() {
    let mut v: Value = serde_json::from_str(APP3).unwrap();
    v["functions"][0]["variants"][0]["payloads"] = json!([
        {"name": "small", "weight": 0.75, "samples": [{"memory_mb": 1024.0, "duration_ms": 100.0}]},
        {"name": "large", "weight": 0.25}
    ]);
    Bundle::from_json(&text(&v)).unwrap().validate().unwrap();
}
