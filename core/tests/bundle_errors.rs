//! Bad-input tests for every error a profile bundle (and an artifact workflow spec, through
//! `import_optiserve_spec`) can produce. Each test starts from an example file, changes exactly one
//! thing and checks the JSON path the error points at and that its message names the place and
//! what is wrong.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use optiserve_core::bundle::{Bundle, BundleError, Choice, Configuration};
use optiserve_core::import::import_optiserve_spec;
use optiserve_core::model::{CpuShareModel, DurationModel, ExpModel};
use serde_json::{Value, json};

const MEDIA: &str = include_str!("../../examples/media-pipeline.bundle.json");
const APP3: &str = include_str!("../../examples/app3.bundle.json");
const SPEC: &str = include_str!("../../examples/app3.optiserve-spec.json");

fn media() -> Value {
    serde_json::from_str(MEDIA).expect("media-pipeline.bundle.json is JSON")
}

fn app3() -> Value {
    serde_json::from_str(APP3).expect("app3.bundle.json is JSON")
}

fn spec() -> Value {
    serde_json::from_str(SPEC).expect("app3.optiserve-spec.json is JSON")
}

fn text(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("serialises")
}

/// The error `Bundle::from_json` reports for `v`.
fn parse_error(v: &Value) -> BundleError {
    match Bundle::from_json(&text(v)) {
        Ok(_) => panic!("the document parsed, but an error was expected"),
        Err(e) => e,
    }
}

/// `v` parses; the error `Bundle::validate` reports for it.
fn validate_error(v: &Value) -> BundleError {
    let bundle = Bundle::from_json(&text(v)).unwrap_or_else(|e| panic!("should parse: {e}"));
    validate_bundle_error(&bundle)
}

fn validate_bundle_error(bundle: &Bundle) -> BundleError {
    match bundle.validate() {
        Ok(_) => panic!("the bundle validated, but an error was expected"),
        Err(e) => e,
    }
}

fn import_error(v: &Value) -> BundleError {
    match import_optiserve_spec(&text(v)) {
        Ok(_) => panic!("the spec imported, but an error was expected"),
        Err(e) => e,
    }
}

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

// ---- Reading: syntax, shape, schema ----

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
    let mut v = media();
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
fn wrong_type_inside_a_table_model_reports_the_point() {
    let mut v = media();
    v["functions"][0]["variants"][0]["model"] =
        json!({"kind": "table", "points": [{"memory_mb": 128, "duration_ms": "slow"}]});
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.functions[0].variants[0].model.points[0].duration_ms",
        &["invalid type: string \"slow\", expected f64"],
    );
}

#[test]
fn invalid_table_model_is_refused_with_the_point() {
    let mut v = media();
    v["functions"][0]["variants"][0]["model"] = json!({"kind": "table", "points": [
        {"memory_mb": 128, "duration_ms": 900}, {"memory_mb": 512, "duration_ms": -1}]});
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.functions[0].variants[0].model",
        &["table point 1: duration must be finite and non-negative, got -1 ms"],
    );
}

#[test]
fn unknown_model_kind_points_at_kind() {
    let mut v = media();
    v["functions"][1]["variants"][0]["model"]["kind"] = json!("linear");
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.functions[1].variants[0].model.kind",
        &["unknown variant `linear`, expected one of `exponential`, `table`, `cpu_share`"],
    );
}

#[test]
fn model_without_kind_or_with_a_field_twice_is_refused() {
    let mut v = media();
    v["functions"][1]["variants"][0]["model"]
        .as_object_mut()
        .expect("model")
        .remove("kind");
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.functions[1].variants[0].model",
        &["missing field `kind`"],
    );

    let twice = MEDIA.replacen(
        "\"alpha_ms\": 505.4858615191236",
        "\"alpha_ms\": 505.4858615191236, \"alpha_ms\": 1",
        1,
    );
    let e = Bundle::from_json(&twice).unwrap_err();
    assert_error(
        &e,
        "$.functions[1].variants[0].model",
        &["duplicate field `alpha_ms`"],
    );

    let mut v = media();
    v["functions"][1]["variants"][0]["model"] = json!("exponential");
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.functions[1].variants[0].model",
        &["invalid type: string \"exponential\", expected a duration model"],
    );
}

#[test]
fn wrong_type_in_an_edge_reports_its_path() {
    let mut v = media();
    v["workflow"]["edges"][3]["probability"] = json!("1.0");
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.workflow.edges[3].probability",
        &["invalid type: string \"1.0\", expected f64", "(line "],
    );
}

#[test]
fn wrong_type_in_memory_says_what_is_expected() {
    let mut v = media();
    v["functions"][2]["memory"] = json!({"min_mb": 128, "max_mb": 3008, "step": 192});
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.functions[2].memory",
        &[
            "expected the memory sizes in MB",
            "\"min_mb\", \"max_mb\", \"step_mb\"",
        ],
    );
}

#[test]
fn missing_required_field_reports_the_enclosing_object() {
    let mut v = media();
    v["functions"][2]
        .as_object_mut()
        .expect("function")
        .remove("memory");
    let e = parse_error(&v);
    assert_error(&e, "$.functions[2]", &["missing field `memory`"]);

    let mut v = media();
    v["functions"][1]["variants"][0]["model"]
        .as_object_mut()
        .expect("model")
        .remove("beta_ms");
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.functions[1].variants[0].model",
        &["missing field `beta_ms`"],
    );

    let mut v = media();
    v.as_object_mut().expect("bundle").remove("provenance");
    let e = parse_error(&v);
    assert_error(&e, "$", &["missing field `provenance`"]);
}

#[test]
fn unknown_field_is_refused_with_its_path() {
    let mut v = media();
    v["functions"][0]["variants"][0]["colour"] = json!("blue");
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.functions[0].variants[0].colour",
        &["unknown field `colour`, expected one of `name`, `accuracy`, `model`"],
    );

    let mut v = media();
    v["workflow"]["edges"][2]["weight"] = json!(1);
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.workflow.edges[2].weight",
        &["unknown field `weight`"],
    );

    let mut v = media();
    v["owner"] = json!("me");
    let e = parse_error(&v);
    assert_error(&e, "$.owner", &["unknown field `owner`"]);
}

#[test]
fn a_document_that_is_not_an_object_is_refused() {
    let e = Bundle::from_json("42").unwrap_err();
    assert_error(
        &e,
        "$",
        &["invalid type: integer `42`, expected a profile bundle (a JSON object)"],
    );
}

#[test]
fn schema_missing_is_refused() {
    let mut v = media();
    v.as_object_mut().expect("bundle").remove("schema");
    let e = parse_error(&v);
    assert_eq!(
        e,
        BundleError::Version(
            "missing; a profile bundle starts with \"schema\": \"optiserve.bundle/v1\"".to_string()
        )
    );
    assert_error(&e, "$.schema", &["missing"]);

    // The artifact's workflow spec is not a bundle: it has no schema.
    let e = Bundle::from_json(SPEC).unwrap_err();
    assert_error(&e, "$.schema", &["missing", "optiserve.bundle/v1"]);
}

#[test]
fn schema_v2_is_refused_naming_the_version_this_reads() {
    let mut v = media();
    v["schema"] = json!("optiserve.bundle/v2");
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.schema",
        &[
            "this bundle is 'optiserve.bundle/v2'",
            "reads only 'optiserve.bundle/v1'",
            "use a newer optiserve",
        ],
    );
    // The version is checked before anything else is read.
    v["functions"] = json!("not a list");
    assert!(matches!(parse_error(&v), BundleError::Version(_)));
}

#[test]
fn schema_of_another_tool_is_refused() {
    let mut v = media();
    v["schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.schema",
        &[
            "expected \"optiserve.bundle/v1\"",
            "found \"https://json-schema.org/draft/2020-12/schema\"",
            "this is not an optiserve profile bundle",
        ],
    );

    let mut v = media();
    v["schema"] = json!(1);
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.schema",
        &["found 1: this is not an optiserve profile bundle"],
    );

    // A bundle built in code with another schema is refused by `validate` too.
    let mut b = Bundle::from_json(MEDIA).expect("parses");
    b.schema = "optiserve.bundle/v0".to_string();
    let e = validate_bundle_error(&b);
    assert_error(&e, "$.schema", &["\"optiserve.bundle/v0\""]);
}

// ---- Pricing ----

#[test]
fn negative_prices_are_refused() {
    let mut v = media();
    v["pricing"]["price_per_gb_second"] = json!(-0.0001);
    assert_invalid(
        &validate_error(&v),
        "$.pricing.price_per_gb_second",
        "must be a number from 0 to 1 USD (AWS prices per unit are millionths of a dollar), found -0.0001",
    );

    let mut v = media();
    v["pricing"]["price_per_request"] = json!(-1);
    assert_invalid(
        &validate_error(&v),
        "$.pricing.price_per_request",
        "must be a number from 0 to 1 USD (AWS prices per unit are millionths of a dollar), found -1",
    );

    let mut v = media();
    v["pricing"]["step_functions"]["price_per_transition"] = json!(-0.5);
    assert_invalid(
        &validate_error(&v),
        "$.pricing.step_functions.price_per_transition",
        "must be a number from 0 to 1 USD (AWS prices per unit are millionths of a dollar), found -0.5",
    );
}

#[test]
fn zero_billing_granularity_is_refused() {
    let mut v = media();
    v["pricing"]["billing_granularity_ms"] = json!(0);
    assert_invalid(
        &validate_error(&v),
        "$.pricing.billing_granularity_ms",
        "must be a number from 0.001 to 60000 ms (Lambda bills per 1 ms, Step Functions Express per 100 ms), found 0",
    );
}

// ---- Functions, memory, variants, models, samples ----

#[test]
fn no_functions_is_refused() {
    let mut v = media();
    v["functions"] = json!([]);
    assert_invalid(
        &validate_error(&v),
        "$.functions",
        "the application has no functions",
    );
}

#[test]
fn empty_function_id_is_refused() {
    let mut v = media();
    v["functions"][3]["id"] = json!("");
    assert_invalid(
        &validate_error(&v),
        "$.functions[3].id",
        "a function id cannot be empty",
    );
}

#[test]
fn duplicate_function_id_is_refused() {
    let mut v = media();
    v["functions"][3]["id"] = json!("thumbnail");
    assert_invalid(
        &validate_error(&v),
        "$.functions",
        "function id 'thumbnail' is declared twice",
    );
}

#[test]
fn a_function_named_start_is_refused() {
    let mut v = media();
    v["functions"][3]["id"] = json!("Start");
    assert_invalid(
        &validate_error(&v),
        "$.functions",
        "'Start' is reserved for the workflow's entry/exit node and cannot name a function",
    );
}

#[test]
fn empty_memory_list_is_refused() {
    let mut v = media();
    v["functions"][0]["memory"] = json!([]);
    assert_invalid(
        &validate_error(&v),
        "$.functions[0].memory",
        "the list of memory sizes is empty",
    );
}

#[test]
fn memory_outside_lambda_range_is_refused() {
    let mut v = media();
    v["functions"][0]["memory"] = json!([128, 512, 64]);
    assert_invalid(
        &validate_error(&v),
        "$.functions[0].memory[2]",
        "64 MB is outside what Lambda allows (128–10240 MB)",
    );

    let mut v = media();
    v["functions"][1]["memory"]["max_mb"] = json!(12288);
    assert_invalid(
        &validate_error(&v),
        "$.functions[1].memory.max_mb",
        "12288 MB is outside what Lambda allows (128–10240 MB)",
    );

    let mut v = media();
    v["functions"][0]["memory"]["min_mb"] = json!(0);
    assert_invalid(
        &validate_error(&v),
        "$.functions[0].memory.min_mb",
        "0 MB is outside what Lambda allows (128–10240 MB)",
    );
}

#[test]
fn duplicated_memory_size_is_refused() {
    let mut v = media();
    v["functions"][0]["memory"] = json!([128, 512, 1024, 512]);
    assert_invalid(
        &validate_error(&v),
        "$.functions[0].memory[3]",
        "512 MB is listed twice",
    );
}

#[test]
fn memory_range_with_min_above_max_is_refused() {
    let mut v = media();
    v["functions"][0]["memory"]["min_mb"] = json!(4096);
    assert_invalid(
        &validate_error(&v),
        "$.functions[0].memory.max_mb",
        "max_mb 3008 is below min_mb 4096",
    );
}

#[test]
fn memory_range_with_step_zero_is_refused() {
    let mut v = media();
    v["functions"][1]["memory"]["step_mb"] = json!(0);
    assert_invalid(
        &validate_error(&v),
        "$.functions[1].memory.step_mb",
        "must be at least 1",
    );
}

#[test]
fn no_variants_is_refused() {
    let mut v = media();
    v["functions"][2]["variants"] = json!([]);
    assert_invalid(
        &validate_error(&v),
        "$.functions[2].variants",
        "'thumbnail' has no variants: profile it (a function without an ML model has one variant named \"default\"), or import the workflow with `optiserve workflow import-asl … --functions-from <profiled bundle>`",
    );
}

#[test]
fn duplicate_variant_name_is_refused() {
    let mut v = media();
    v["functions"][1]["variants"][2]["name"] = json!("resnet-18");
    assert_invalid(
        &validate_error(&v),
        "$.functions[1].variants[2].name",
        "variant 'resnet-18' is declared twice in 'classify'",
    );
}

#[test]
fn model_with_a_non_finite_parameter_is_refused() {
    // JSON cannot write NaN or infinity; a bundle built in code can hold one.
    for (name, model) in [
        ("alpha_ms", ExpModel::new(f64::NAN, 6000.0, 0.0006)),
        ("beta_ms", ExpModel::new(500.0, f64::INFINITY, 0.0006)),
        (
            "gamma_per_mb",
            ExpModel::new(500.0, 6000.0, f64::NEG_INFINITY),
        ),
    ] {
        let mut b = Bundle::from_json(MEDIA).expect("parses");
        b.functions[1].variants[0].model = DurationModel::Exponential(model);
        let e = validate_bundle_error(&b);
        let path = format!("$.functions[1].variants[0].model.{name}");
        assert_error(&e, &path, &["must be a finite number, found "]);
    }

    // A number too large for f64 is refused while reading, with its position.
    let huge = MEDIA.replacen("\"alpha_ms\": 505.4858615191236", "\"alpha_ms\": 1e999", 1);
    let e = Bundle::from_json(&huge).unwrap_err();
    assert!(e.to_string().contains("number out of range"), "{e}");
}

#[test]
fn model_with_negative_gamma_is_refused() {
    let mut v = media();
    v["functions"][1]["variants"][1]["model"]["gamma_per_mb"] = json!(-0.001);
    assert_invalid(
        &validate_error(&v),
        "$.functions[1].variants[1].model.gamma_per_mb",
        "must be ≥ 0 (more memory cannot slow a function down in this model), found -0.001",
    );
}

#[test]
fn cpu_share_model_loads_and_its_parameters_are_checked_with_their_path() {
    let at = "$.functions[1].variants[0].model";
    let model =
        json!({"kind": "cpu_share", "serial_ms": -20.0, "cpu_ms": 2000.0, "knee_mb": 1769.0});
    let mut v = media();
    v["functions"][1]["variants"][0]["model"] = model.clone();
    let bundle = Bundle::from_json(&text(&v)).unwrap();
    bundle.validate().unwrap();
    let DurationModel::CpuShare(m) = &bundle.functions[1].variants[0].model else {
        panic!("{:?}", bundle.functions[1].variants[0].model);
    };
    assert_eq!(*m, CpuShareModel::new(-20.0, 2000.0, 1769.0));
    // Written back as read: a parallel fraction of 0 is left out.
    let back: Value = serde_json::from_str(&bundle.to_json()).unwrap();
    assert_eq!(back["functions"][1]["variants"][0]["model"], model);

    for (field, value, message) in [
        (
            "cpu_ms",
            json!(-1.0),
            "must be ≥ 0 (more memory cannot slow a function down in this model), found -1",
        ),
        (
            "knee_mb",
            json!(0),
            "must be a positive memory size, found 0",
        ),
        (
            "parallel_fraction",
            json!(1.5),
            "must be within [0, 1], found 1.5",
        ),
        (
            "parallel_fraction",
            json!(-0.1),
            "must be within [0, 1], found -0.1",
        ),
    ] {
        let mut v = media();
        v["functions"][1]["variants"][0]["model"] = model.clone();
        v["functions"][1]["variants"][0]["model"][field] = value;
        assert_invalid(&validate_error(&v), &format!("{at}.{field}"), message);
    }

    // Non-finite parameters (a bundle built in code; JSON cannot write them).
    for (field, bad) in [
        ("serial_ms", CpuShareModel::new(f64::NAN, 1.0, 1769.0)),
        ("cpu_ms", CpuShareModel::new(1.0, f64::INFINITY, 1769.0)),
        ("knee_mb", CpuShareModel::new(1.0, 1.0, f64::NAN)),
        (
            "parallel_fraction",
            CpuShareModel::new(1.0, 1.0, 1769.0).with_parallel_fraction(f64::NAN),
        ),
    ] {
        let mut b = Bundle::from_json(MEDIA).expect("parses");
        b.functions[1].variants[0].model = DurationModel::CpuShare(bad);
        let e = validate_bundle_error(&b);
        assert_error(
            &e,
            &format!("{at}.{field}"),
            &["must be a finite number, found "],
        );
    }

    // A serial part so negative that durations are not positive over the options.
    let mut v = media();
    v["functions"][1]["variants"][0]["model"] = model.clone();
    v["functions"][1]["variants"][0]["model"]["serial_ms"] = json!(-5000.0);
    assert_invalid(
        &validate_error(&v),
        at,
        "the model predicts a duration of -3000 ms at 2048 MB; durations must be positive over the memory options",
    );

    // Shape errors keep their path: a wrong type, a missing field, a field of another kind.
    let mut v = media();
    v["functions"][1]["variants"][0]["model"] = model.clone();
    v["functions"][1]["variants"][0]["model"]["knee_mb"] = json!("big");
    assert_error(
        &parse_error(&v),
        &format!("{at}.knee_mb"),
        &["invalid type: string \"big\", expected f64"],
    );
    let mut v = media();
    v["functions"][1]["variants"][0]["model"] =
        json!({"kind": "cpu_share", "serial_ms": 1.0, "cpu_ms": 2.0});
    assert_error(&parse_error(&v), at, &["missing field `knee_mb`"]);
    let mut v = media();
    v["functions"][1]["variants"][0]["model"] = model;
    v["functions"][1]["variants"][0]["model"]["cores"] = json!(2);
    assert_error(&parse_error(&v), at, &["unknown field `cores`"]);
}

#[test]
fn model_predicting_non_positive_durations_is_refused() {
    let mut v = media();
    v["functions"][1]["variants"][0]["model"] =
        json!({"kind": "exponential", "alpha_ms": 0.0, "beta_ms": 0.0, "gamma_per_mb": 0.0});
    assert_invalid(
        &validate_error(&v),
        "$.functions[1].variants[0].model",
        "the model predicts a duration of 0 ms at 2048 MB; durations must be positive over the memory options",
    );

    // Positive at small memory, negative at large: the first failing size is named.
    let mut v = media();
    v["functions"][0]["variants"][0]["model"]["alpha_ms"] = json!(-100.0);
    let e = validate_error(&v);
    assert_error(
        &e,
        "$.functions[0].variants[0].model",
        &["the model predicts a duration of -", " ms at 896 MB;"],
    );

    let mut v = media();
    v["functions"][0]["variants"][0]["model"] =
        json!({"kind": "table", "points": [{"memory_mb": 128, "duration_ms": 0}]});
    assert_invalid(
        &validate_error(&v),
        "$.functions[0].variants[0].model",
        "the model predicts a duration of 0 ms at 128 MB; durations must be positive over the memory options",
    );
}

#[test]
fn bad_sample_values_are_refused() {
    let mut v = media();
    v["functions"][0]["variants"][0]["samples"][4]["memory_mb"] = json!(0);
    assert_invalid(
        &validate_error(&v),
        "$.functions[0].variants[0].samples[4].memory_mb",
        "must be a number from 1 to 10240 MB (Lambda's largest memory size), found 0",
    );

    let mut v = media();
    v["functions"][0]["variants"][0]["samples"][7]["duration_ms"] = json!(-12.5);
    assert_invalid(
        &validate_error(&v),
        "$.functions[0].variants[0].samples[7].duration_ms",
        "must be a number from 0 to 900000 ms (Lambda's 15-minute timeout), found -12.5",
    );

    let mut v = media();
    v["functions"][0]["variants"][0]["samples"][7]["cold"] = json!("yes");
    assert_error(
        &parse_error(&v),
        "$.functions[0].variants[0].samples[7].cold",
        &["invalid type: string \"yes\", expected a boolean"],
    );
}

#[test]
fn non_finite_raw_accuracy_is_refused() {
    let mut b = Bundle::from_json(MEDIA).expect("parses");
    let accuracy = b.functions[4].variants[1]
        .accuracy
        .as_mut()
        .expect("detect has accuracies");
    accuracy.value = f64::INFINITY;
    assert_invalid(
        &validate_bundle_error(&b),
        "$.functions[4].variants[1].accuracy.value",
        "must be a finite number",
    );
}

#[test]
fn as_given_normalisation_refuses_a_value_outside_0_1() {
    let mut v = media();
    v["accuracy"]["normalization"] = json!("as_given");
    assert_invalid(
        &validate_error(&v),
        "$.functions[1].variants[0].accuracy.value",
        "variant 0 has accuracy 69.76, which is outside [0, 1] as as_given normalisation requires",
    );
}

// ---- Workflow ----

#[test]
fn edge_to_an_unknown_node_is_refused() {
    let mut v = media();
    let k = edge(&v, "detect", "review");
    v["workflow"]["edges"][k]["to"] = json!("reviw");
    assert_invalid(
        &validate_error(&v),
        &format!("$.workflow.edges[{k}]"),
        &format!("edge {k} (detect → reviw): unknown node 'reviw'"),
    );
}

#[test]
fn edge_with_a_bad_probability_is_refused() {
    for p in [1.5, 0.0, -0.2] {
        let mut v = media();
        let k = edge(&v, "merge", "detect");
        v["workflow"]["edges"][k]["probability"] = json!(p);
        assert_invalid(
            &validate_error(&v),
            &format!("$.workflow.edges[{k}]"),
            &format!("edge {k} (merge → detect): probability {p} is outside (0, 1]"),
        );
    }
}

#[test]
fn edge_into_start_is_refused() {
    let mut v = media();
    let k = edge(&v, "review", "ingest");
    v["workflow"]["edges"][k]["to"] = json!("Start");
    assert_invalid(
        &validate_error(&v),
        &format!("$.workflow.edges[{k}]"),
        &format!("edge {k} (review → Start): Start has no incoming edges"),
    );
}

#[test]
fn edge_out_of_end_is_refused() {
    let mut v = media();
    edges(&mut v).push(json!({"from": "End", "to": "ingest", "probability": 1.0}));
    let k = edges(&mut v).len() - 1;
    assert_invalid(
        &validate_error(&v),
        &format!("$.workflow.edges[{k}]"),
        &format!("edge {k} (End → ingest): End has no outgoing edges"),
    );
}

#[test]
fn duplicate_edge_is_refused() {
    let mut v = media();
    let first = edge(&v, "classify", "merge");
    let copy = v["workflow"]["edges"][first].clone();
    edges(&mut v).push(copy);
    let k = edges(&mut v).len() - 1;
    assert_invalid(
        &validate_error(&v),
        &format!("$.workflow.edges[{k}]"),
        &format!("edge {k} (classify → merge) duplicates edge {first}"),
    );
}

#[test]
fn branch_that_does_not_sum_to_one_is_refused() {
    let mut v = media();
    let k = edge(&v, "merge", "caption");
    v["workflow"]["edges"][k]["probability"] = json!(0.3);
    let first = edge(&v, "merge", "detect");
    let e = validate_error(&v);
    assert_error(
        &e,
        &format!("$.workflow.edges[{first}]"),
        &[
            "the branch out of 'merge' sums to 0.9",
            "must sum to 1 within 1e-9",
            "detect (0.6), caption (0.3)",
        ],
    );
}

#[test]
fn unreachable_node_is_refused() {
    let mut v = media();
    let k = edge(&v, "ingest", "thumbnail");
    edges(&mut v).remove(k);
    assert_invalid(
        &validate_error(&v),
        "$.workflow.edges",
        "unreachable from Start: thumbnail",
    );
}

#[test]
fn node_without_a_path_to_end_is_refused() {
    let mut v = media();
    let k = edge(&v, "thumbnail", "merge");
    edges(&mut v).remove(k);
    assert_invalid(
        &validate_error(&v),
        "$.workflow.edges",
        "no path to End from: thumbnail",
    );
}

#[test]
fn endless_self_loop_is_refused() {
    let mut v = media();
    let k = edge(&v, "publish", "publish");
    v["workflow"]["edges"][k]["probability"] = json!(1.0);
    assert_invalid(
        &validate_error(&v),
        &format!("$.workflow.edges[{k}]"),
        "the loop publish → publish can never exit: a self-loop with probability 1 is taken forever",
    );
}

#[test]
fn endless_cycle_is_refused() {
    // publish also always goes back to ingest (in parallel with its way out).
    let mut v = media();
    edges(&mut v).push(json!({"from": "publish", "to": "ingest", "probability": 1.0}));
    let k = edges(&mut v).len() - 1;
    assert_invalid(
        &validate_error(&v),
        &format!("$.workflow.edges[{k}]"),
        "the loop publish → ingest can never exit: this edge closes a cycle back to 'ingest' but has probability 1, so it is taken every time; a cycle must be closed by a branch edge (p < 1) from the node where it can exit",
    );

    // yolo always goes back to f1 as well as on to End.
    let mut v = app3();
    edges(&mut v).push(json!({"from": "yolo", "to": "f1", "probability": 1.0}));
    assert_invalid(
        &validate_error(&v),
        "$.workflow.edges[6]",
        "the loop yolo → f1 can never exit: this edge closes a cycle back to 'f1' but has probability 1, so it is taken every time; a cycle must be closed by a branch edge (p < 1) from the node where it can exit",
    );
}

#[test]
fn irreducible_structure_is_refused() {
    // thumbnail also starts classify: classify is reached from both parallel arms of ingest.
    let mut v = media();
    edges(&mut v).push(json!({"from": "thumbnail", "to": "classify", "probability": 1.0}));
    let e = validate_error(&v);
    assert_error(
        &e,
        "$.workflow.edges",
        &[
            "the workflow cannot be reduced: ",
            "'classify' is reached from two parallel arms before they join",
        ],
    );

    // review loops back into classify, which is inside ingest's parallel block.
    let mut v = media();
    let k = edge(&v, "review", "ingest");
    v["workflow"]["edges"][k]["to"] = json!("classify");
    let e = validate_error(&v);
    assert_error(
        &e,
        &format!("$.workflow.edges[{k}]"),
        &[
            "the workflow cannot be reduced: ",
            "the cycle review → classify is not a single-entry, single-exit block",
        ],
    );
}

#[test]
fn negative_orchestration_delay_is_refused() {
    let mut v = media();
    v["workflow"]["orchestration"]["state_ms"] = json!(-18.81);
    assert_invalid(
        &validate_error(&v),
        "$.workflow.orchestration.state_ms",
        "must be a number from 0 to 60000 ms (measured delays are tens of milliseconds; a minute is a unit mistake), found -18.81",
    );

    let mut v = media();
    v["workflow"]["orchestration"]["transition_ms"] = json!(-1);
    assert_invalid(
        &validate_error(&v),
        "$.workflow.orchestration.transition_ms",
        "must be a number from 0 to 60000 ms (measured delays are tens of milliseconds; a minute is a unit mistake), found -1",
    );
}

// ---- Accuracy score ----

fn with_formula(expression: &str) -> Value {
    let mut v = media();
    v["accuracy"]["score"]["expression"] = json!(expression);
    v
}

#[test]
fn formula_parse_error_reports_the_column() {
    let v = with_formula("0.5 * A(classify) + * A(detect)");
    assert_invalid(
        &validate_error(&v),
        "$.accuracy.score",
        "column 21: expected an expression but found '*'",
    );
}

#[test]
fn unknown_function_in_a_formula_is_refused() {
    let v = with_formula("A(classify) + A(detekt)");
    assert_invalid(
        &validate_error(&v),
        "$.accuracy.score",
        "column 17: unknown function id 'detekt' in A(...)",
    );

    let mut v = media();
    v["accuracy"]["score"] = json!({"kind": "min", "functions": ["classify", "detekt"]});
    assert_invalid(
        &validate_error(&v),
        "$.accuracy.score",
        "unknown function id 'detekt': it is not one of the application's functions",
    );
}

#[test]
fn negative_weight_is_refused() {
    let mut v = media();
    v["accuracy"]["score"] =
        json!({"kind": "weighted_sum", "weights": {"classify": 0.5, "detect": -0.5}});
    assert_invalid(
        &validate_error(&v),
        "$.accuracy.score",
        "the weight of function 'detect' is -0.5, but weights must be finite and non-negative",
    );
}

#[test]
fn template_naming_no_function_is_refused() {
    let mut v = media();
    v["accuracy"]["score"] = json!({"kind": "geometric_mean", "weights": {}});
    assert_invalid(
        &validate_error(&v),
        "$.accuracy.score",
        "the geometric_mean accuracy score names no function; it needs at least one",
    );
}

#[test]
fn non_monotone_formula_is_refused_naming_the_function() {
    let v = with_formula("1 - A(detect)");
    let e = validate_error(&v);
    assert_error(
        &e,
        "$.accuracy.score",
        &[
            "the accuracy score breaks its contract (monotone non-decreasing in every A(f), finite on [0, 1])",
            "the score is not monotone in A(detect): raising it from 0 to ",
        ],
    );
}

#[test]
fn unbounded_formula_is_refused_naming_the_function() {
    // Under min-max normalisation yolov10n (the least accurate detector) has A(detect) = 0.
    let v = with_formula("A(caption) / A(detect)");
    let e = validate_error(&v);
    assert_error(
        &e,
        "$.accuracy.score",
        &[
            "the accuracy score breaks its contract",
            "the score is not finite at ",
            "A(detect) = 0",
        ],
    );
}

#[test]
fn wrong_type_in_the_score_points_at_the_score() {
    // The score is an internally tagged object: a type error inside it is reported at the object.
    let mut v = media();
    v["accuracy"]["score"]["expression"] = json!(1);
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.accuracy.score",
        &["invalid type: integer `1`, expected a string"],
    );

    let mut v = media();
    v["accuracy"]["score"]["kind"] = json!("average");
    let e = parse_error(&v);
    assert_error(
        &e,
        "$.accuracy.score.kind",
        &["unknown variant `average`, expected one of"],
    );
}

// ---- Deployed configuration ----

#[test]
fn deployed_unknown_function_is_refused() {
    let mut v = media();
    v["deployed"]["transcode"] = json!({"memory_mb": 1024});
    assert_invalid(
        &validate_error(&v),
        "$.deployed.transcode",
        "'transcode' is not a function of this bundle",
    );
}

#[test]
fn deployed_unknown_variant_is_refused() {
    let mut v = media();
    v["deployed"]["classify"]["variant"] = json!("resnet-152");
    assert_invalid(
        &validate_error(&v),
        "$.deployed.classify.variant",
        "'classify' has no variant 'resnet-152' (variants: resnet-18, resnet-50, resnet-101)",
    );
}

#[test]
fn deployed_memory_outside_the_options_is_refused() {
    let mut v = media();
    v["deployed"]["classify"]["memory_mb"] = json!(1024);
    let e = validate_error(&v);
    assert_error(
        &e,
        "$.deployed.classify.memory_mb",
        &[
            "1024 MB is outside",
            "classify",
            "memory options (2048–10240 MB)",
        ],
    );

    let mut v = media();
    v["deployed"]["classify"]["memory_mb"] = json!("4096");
    assert_error(
        &parse_error(&v),
        "$.deployed.classify.memory_mb",
        &["invalid type: string \"4096\", expected u32"],
    );
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

// ---- import_optiserve_spec ----

#[test]
fn import_refuses_a_wrong_weight_count() {
    let mut s = spec();
    s["accuracy_formula"]["weighted"] = json!([2, 1]);
    assert_invalid(
        &import_error(&s),
        "$.accuracy_formula.weighted",
        "2 weights for 3 functions: the artifact weighs every function in spec order",
    );
}

#[test]
fn import_refuses_an_empty_grid() {
    let mut s = spec();
    s["functions"][1]["memory_grid"]["stop"] = json!(2048);
    assert_invalid(
        &import_error(&s),
        "$.functions[1].memory_grid",
        "the grid 2048..2048 (stop exclusive) is empty",
    );
}

#[test]
fn import_refuses_step_zero() {
    let mut s = spec();
    s["functions"][2]["memory_grid"]["step"] = json!(0);
    assert_invalid(
        &import_error(&s),
        "$.functions[2].memory_grid.step",
        "must be at least 1",
    );
}

#[test]
fn import_refuses_a_non_positive_a2() {
    for a2 in [0.0, -1510.0] {
        let mut s = spec();
        s["functions"][1]["variants"][0]["model"]["a2"] = json!(a2);
        assert_invalid(
            &import_error(&s),
            "$.functions[1].variants[0].model.a2",
            &format!("must be a positive number (ET = a0 + a1·exp(−m/a2)), found {a2}"),
        );
    }
}

#[test]
fn import_reports_a_type_error_in_an_edge_with_its_path() {
    let mut s = spec();
    s["edges"][2][2] = json!("0.3");
    let doc = text(&s);
    let e = import_optiserve_spec(&doc).unwrap_err();
    assert!(matches!(e, BundleError::Shape { .. }), "{e:?}");
    assert_error(
        &e,
        "$.edges[2][2]",
        &["invalid type: string \"0.3\", expected f64", "(line "],
    );

    let mut s = spec();
    s["functions"][0]["memory_grid"]["start"] = json!("128");
    assert_error(
        &import_error(&s),
        "$.functions[0].memory_grid",
        &["expected a memory grid: {\"start\", \"stop\", \"step\"} or a list of sizes in MB"],
    );

    let mut s = spec();
    s["edges"][1][0] = json!(true);
    assert_error(
        &import_error(&s),
        "$.edges[1][0]",
        &["expected a node id: a string or a number"],
    );

    let mut s = spec();
    s["functions"][0]["variants"][0]["colour"] = json!("blue");
    assert_error(
        &import_error(&s),
        "$.functions[0].variants[0].colour",
        &["unknown field `colour`"],
    );

    let mut s = spec();
    s["functions"][0]["variants"][0]["model"]["a3"] = json!(1);
    assert_error(
        &import_error(&s),
        "$.functions[0].variants[0].model",
        &["unknown field `a3`"],
    );
}

/// Errors found when the imported bundle is validated point at the spec's own fields.
#[test]
fn import_validation_errors_point_into_the_spec() {
    let mut s = spec();
    s["edges"][3][1] = json!("yolov10");
    assert_invalid(
        &import_error(&s),
        "$.edges[3]",
        "edge 3 (resnet → yolov10): unknown node 'yolov10'",
    );

    let mut s = spec();
    s["edges"][3][2] = json!(0.6);
    assert_error(
        &import_error(&s),
        "$.edges[2]",
        &["the branch out of 'resnet' sums to 0.9"],
    );

    let mut s = spec();
    s["edges"].as_array_mut().expect("edges").remove(1);
    assert_invalid(
        &import_error(&s),
        "$.edges",
        "unreachable from Start: resnet, yolo, End",
    );

    let mut s = spec();
    s["functions"][0]["memory_grid"]["start"] = json!(64);
    assert_invalid(
        &import_error(&s),
        "$.functions[0].memory_grid.start",
        "64 MB is outside what Lambda allows (128–10240 MB)",
    );

    let mut s = spec();
    s["functions"][1]["memory_grid"]["stop"] = json!(12000);
    assert_invalid(
        &import_error(&s),
        "$.functions[1].memory_grid.stop",
        "11776 MB is outside what Lambda allows (128–10240 MB)",
    );

    let mut s = spec();
    s["functions"][0]["memory_grid"] = json!([128, 512, 128]);
    assert_invalid(
        &import_error(&s),
        "$.functions[0].memory_grid[2]",
        "128 MB is listed twice",
    );

    let mut s = spec();
    s["functions"][0]["memory_grid"] = json!([]);
    assert_invalid(
        &import_error(&s),
        "$.functions[0].memory_grid",
        "the list of memory sizes is empty",
    );

    let mut s = spec();
    s["pricing"]["compute"] = json!(-1);
    assert_invalid(
        &import_error(&s),
        "$.pricing.compute",
        "must be a number from 0 to 1 USD (AWS prices per unit are millionths of a dollar), found -1",
    );

    let mut s = spec();
    s["pricing"]["request"] = json!(-1);
    assert_invalid(
        &import_error(&s),
        "$.pricing.request",
        "must be a number from 0 to 1 USD (AWS prices per unit are millionths of a dollar), found -1",
    );

    let mut s = spec();
    s["accuracy_formula"]["weighted"][2] = json!(-1);
    assert_invalid(
        &import_error(&s),
        "$.accuracy_formula.weighted",
        "the weight of function 'yolo' is -1, but weights must be finite and non-negative",
    );

    // The artifact uses raw accuracies as given: they must be within [0, 1].
    let mut s = spec();
    let variants = s["functions"][1]["variants"]
        .as_array_mut()
        .expect("variants");
    for (v, a) in variants.iter_mut().zip([69.76, 73.31, 76.13, 77.37]) {
        v["accuracy"] = json!(a);
    }
    assert_invalid(
        &import_error(&s),
        "$.functions[1].variants[0].accuracy",
        "variant 0 has accuracy 69.76, which is outside [0, 1] as as_given normalisation requires",
    );

    let mut s = spec();
    s["functions"][0]["variants"][0]["model"]["a0"] = json!(-3000);
    assert_error(
        &import_error(&s),
        "$.functions[0].variants[0].model",
        &["the model predicts a duration of -", " ms at 128 MB"],
    );

    let mut s = spec();
    s["functions"][2]["variants"][3]["name"] = json!("yolov10n");
    assert_invalid(
        &import_error(&s),
        "$.functions[2].variants[3].name",
        "variant 'yolov10n' is declared twice in 'yolo'",
    );

    let mut s = spec();
    s["functions"][2]["id"] = json!("resnet");
    assert_invalid(
        &import_error(&s),
        "$.functions",
        "function id 'resnet' is declared twice",
    );

    let mut s = spec();
    s["functions"][0]["id"] = json!("");
    assert_invalid(
        &import_error(&s),
        "$.functions[0].id",
        "a function id cannot be empty",
    );

    let mut s = spec();
    s["functions"][0]["variants"] = json!([]);
    assert_error(
        &import_error(&s),
        "$.functions[0].variants",
        &["has no variants"],
    );
}

#[test]
fn weighted_payloads_name_the_bad_weight_or_name() {
    let mut v = app3();
    let sample = json!({"memory_mb": 1024.0, "duration_ms": 100.0});
    v["functions"][0]["variants"][0]["payloads"] = json!([
        {"name": "small", "weight": 0.75, "samples": [sample]},
        {"name": "large", "weight": 0.25}
    ]);
    Bundle::from_json(&text(&v)).unwrap().validate().unwrap();
    let mut bad = v.clone();
    bad["functions"][0]["variants"][0]["payloads"][1]["weight"] = json!(0.5);
    let e = validate_error(&bad);
    assert_error(&e, "$.functions[0].variants[0].payloads", &["sum to 1"]);
    let mut bad = v.clone();
    bad["functions"][0]["variants"][0]["payloads"][1]["name"] = json!("small");
    let e = validate_error(&bad);
    assert_error(
        &e,
        "$.functions[0].variants[0].payloads[1].name",
        &["small"],
    );
    let mut bad = v;
    bad["functions"][0]["variants"][0]["payloads"][0]["samples"][0]["duration_ms"] = json!(-1.0);
    let e = validate_error(&bad);
    assert_error(
        &e,
        "$.functions[0].variants[0].payloads[0].samples[0].duration_ms",
        &[],
    );
}
