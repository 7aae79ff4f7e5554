//! Checks shared by the Node (`tests/node.rs`) and browser (`tests/browser.rs`) test binaries: the
//! `Planner` seen from JavaScript gives `core`'s results unchanged, and bad input becomes a JS
//! `Error` naming the JSON path, never a panic.

#![allow(clippy::unwrap_used, dead_code)] // a failed unwrap is a failed test

use js_sys::JSON;
use optiserve_wasm::{Planner, api, fit_model, import_spec};
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsError, JsValue};

include!("native_fixtures.rs");

pub const APP3: &str = include_str!("../../../examples/app3.bundle.json");
pub const MEDIA: &str = include_str!("../../../examples/media-pipeline.bundle.json");
pub const SIX: &str = include_str!("../../../examples/six-functions.bundle.json");
pub const APP3_SPEC: &str = include_str!("../../../examples/app3.optiserve-spec.json");

/// A JavaScript value as JSON (what `JSON.stringify` sees).
pub fn value(v: &JsValue) -> Value {
    serde_json::from_str(&JSON::stringify(v).unwrap().as_string().unwrap()).unwrap()
}

/// A JSON value as a JavaScript object.
pub fn js(v: &Value) -> JsValue {
    JSON::parse(&v.to_string()).unwrap()
}

/// The message of a thrown error; fails unless it is an `Error`.
pub fn message(e: JsError) -> String {
    let v = JsValue::from(e);
    let e: js_sys::Error = v.dyn_into().expect("an Error");
    e.message().into()
}

/// Asserts that a JavaScript value is exactly `expected`: the same keys, strings and booleans, and
/// numbers equal as `f64` (JavaScript has no integer/float distinction; comparing the values
/// directly also avoids re-parsing printed floats).
pub fn assert_same(actual: &JsValue, expected: &Value, path: &str) {
    match expected {
        Value::Null => assert!(actual.is_null(), "{path}: expected null, found {actual:?}"),
        Value::Bool(b) => assert_eq!(actual.as_bool(), Some(*b), "{path}"),
        Value::Number(n) => assert_eq!(actual.as_f64(), n.as_f64(), "{path}"),
        Value::String(s) => assert_eq!(actual.as_string().as_deref(), Some(s.as_str()), "{path}"),
        Value::Array(items) => {
            assert!(js_sys::Array::is_array(actual), "{path}: expected an array");
            let array: &js_sys::Array = actual.unchecked_ref();
            assert_eq!(array.length() as usize, items.len(), "{path}: length");
            for (i, item) in items.iter().enumerate() {
                assert_same(&array.get(i as u32), item, &format!("{path}[{i}]"));
            }
        }
        Value::Object(map) => {
            assert!(
                actual.is_object() && !js_sys::Array::is_array(actual),
                "{path}: expected a plain object, found {actual:?}"
            );
            assert!(!actual.is_instance_of::<js_sys::Map>(), "{path}: a Map");
            let keys = js_sys::Object::keys(actual.unchecked_ref::<js_sys::Object>());
            let mut keys: Vec<String> = keys.iter().map(|k| k.as_string().unwrap()).collect();
            keys.sort();
            let mut expected_keys: Vec<&String> = map.keys().collect();
            expected_keys.sort();
            assert_eq!(
                keys.iter().collect::<Vec<_>>(),
                expected_keys,
                "{path}: keys"
            );
            for (k, v) in map {
                let item = js_sys::Reflect::get(actual, &JsValue::from_str(k)).unwrap();
                assert_same(&item, v, &format!("{path}.{k}"));
            }
        }
    }
}

fn without_elapsed(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("elapsed_ms");
    }
    v
}

/// Every method gives `core`'s answer, converted without loss, from a string and from an object.
pub fn planner_matches_core(text: &str, pareto: bool) {
    let app = api::application(text).unwrap();
    let object = JSON::parse(text).unwrap();
    for planner in [
        Planner::new(JsValue::from_str(text)).unwrap(),
        Planner::new(object).unwrap(),
    ] {
        assert_same(
            &planner.validate().unwrap(),
            &serde_json::to_value(api::validate(&app)).unwrap(),
            "validate",
        );
        assert_same(
            &planner.evaluate(None).unwrap(),
            &serde_json::to_value(api::evaluate(&app, None).unwrap()).unwrap(),
            "evaluate",
        );
        for objective in ["latency", "cost", "accuracy"] {
            let request = json!({ "objective": objective });
            let solution = planner.optimize(js(&request)).unwrap();
            let expected = api::optimize(&app, &request.to_string()).unwrap();
            let elapsed = js_sys::Reflect::get(&solution, &"elapsed_ms".into()).unwrap();
            assert!(elapsed.as_f64().is_some_and(|ms| ms >= 0.0), "elapsed_ms");
            js_sys::Reflect::delete_property(
                solution.unchecked_ref::<js_sys::Object>(),
                &"elapsed_ms".into(),
            )
            .unwrap();
            assert_same(
                &solution,
                &without_elapsed(serde_json::to_value(&expected).unwrap()),
                "optimize",
            );
            // The solution reads back as a configuration.
            let evaluation = value(&planner.evaluate(Some(solution)).unwrap());
            assert_eq!(evaluation["latency_ms"], json!(expected.latency_ms));
        }
        let request = json!({
            "objective": "cost",
            "vary": [{ "constraint": "min_accuracy", "from": 0.2, "to": 0.9, "steps": 3 }],
            "fixed": { "max_latency_ms": 1.0e9 }
        });
        assert_same(
            &planner.what_if(js(&request), None).unwrap(),
            &serde_json::to_value(api::what_if_sweep(&app, &request.to_string()).unwrap()).unwrap(),
            "whatIf",
        );
        if pareto {
            assert_same(
                &planner.pareto(None).unwrap(),
                &serde_json::to_value(api::pareto(&app, api::PARETO_NODE_LIMIT).unwrap()).unwrap(),
                "pareto",
            );
        }
    }
}

/// Absent values are `null` (as the CLI prints them) and maps are plain objects.
pub fn results_have_the_cli_shape() {
    let planner = Planner::new(JsValue::from_str(APP3)).unwrap();
    let infeasible = planner
        .optimize(js(&json!({
            "objective": "latency",
            "constraints": { "max_cost_usd_per_million": 400, "min_accuracy": 2 }
        })))
        .unwrap();
    let v = value(&infeasible);
    assert_eq!(v["status"], "infeasible");
    assert_eq!(v["config"], Value::Null);
    assert_eq!(v["latency_ms"], Value::Null);
    assert_eq!(v["infeasible"]["constraint"], "max_cost_usd_per_million");
    let config = js_sys::Reflect::get(&infeasible, &"config".into()).unwrap();
    assert!(config.is_null());
    let evaluation = planner.evaluate(None).unwrap();
    let functions = js_sys::Reflect::get(&evaluation, &"functions".into()).unwrap();
    assert!(!functions.is_instance_of::<js_sys::Map>());
    assert_eq!(
        js_sys::Object::keys(functions.unchecked_ref::<js_sys::Object>()).length(),
        3,
        "one key per function"
    );
}

/// Malformed input of every kind is a JS `Error` naming the JSON path; the planner keeps working.
pub fn bad_input_is_an_error_with_its_path() {
    let cases: [(JsValue, &str); 8] = [
        ("{".into(), "invalid JSON at line 1, column 1"),
        (JsValue::UNDEFINED, "$: expected a profile bundle"),
        (JsValue::from_f64(3.0), "$: "),
        (js(&json!({"functions": []})), "$.schema: missing"),
        (
            js(&json!({"schema": "optiserve.bundle/v2"})),
            "$.schema: this bundle is 'optiserve.bundle/v2'",
        ),
        (
            js(&json!({"schema": "optiserve.bundle/v1", "functions": 3})),
            "$.functions: invalid type",
        ),
        (
            {
                let mut v: Value = serde_json::from_str(APP3).unwrap();
                v["functions"][1]["variants"][0]["model"]["alpha_ms"] = json!("fast");
                js(&v)
            },
            "$.functions[1].variants[0].model.alpha_ms: ",
        ),
        (
            {
                let mut v: Value = serde_json::from_str(APP3).unwrap();
                v["functions"][0]["memory"] = json!({"min_mb": 1, "max_mb": 10, "step_mb": 1});
                js(&v)
            },
            "$.functions[0].memory",
        ),
    ];
    for (input, expected) in cases {
        let e = message(Planner::new(input).unwrap_err());
        assert!(
            e.starts_with(expected),
            "{e:?} should start with {expected:?}"
        );
    }
    // The same error for the same bundle as text or as an object.
    let mut broken: Value = serde_json::from_str(APP3).unwrap();
    broken["workflow"]["edges"][1]["probability"] = json!(0.5);
    let from_text = message(Planner::new(broken.to_string().into()).unwrap_err());
    let from_object = message(Planner::new(js(&broken)).unwrap_err());
    assert!(from_text.starts_with("$.workflow.edges"), "{from_text}");
    assert_eq!(from_text, from_object);
    assert_eq!(
        from_text,
        api::application(&broken.to_string()).unwrap_err()
    );

    let planner = Planner::new(JsValue::from_str(APP3)).unwrap();
    let requests: [(Value, &str); 5] = [
        (
            json!({"objective": "speed"}),
            "$.objective: unknown variant `speed`",
        ),
        (json!({"constraints": {}}), "$: missing field `objective`"),
        (
            json!({"objective": "cost", "constraints": {"max_latency_ms": "1"}}),
            "$.constraints.max_latency_ms: invalid type",
        ),
        (
            json!({"objective": "cost", "solver": "magic"}),
            "$.solver: unknown variant `magic`",
        ),
        (
            json!({"objective": "cost", "limits": {}}),
            "$.limits: unknown field `limits`",
        ),
    ];
    for (request, expected) in requests {
        let e = message(planner.optimize(js(&request)).unwrap_err());
        assert!(
            e.starts_with(expected),
            "{e:?} should start with {expected:?}"
        );
    }
    let e = message(
        planner
            .what_if(js(&json!({"objective": "cost", "vary": []})), None)
            .unwrap_err(),
    );
    assert!(e.starts_with("$.vary: give one or two"), "{e}");
    let e = message(
        planner
            .evaluate(Some(js(&json!({"resnet": {"memory_mb": 100000}}))))
            .unwrap_err(),
    );
    assert!(e.starts_with("$.resnet"), "{e}");
    let e = message(planner.pareto(Some(0.5)).unwrap_err());
    assert!(e.starts_with("nodeLimit: "), "{e}");
    let e = message(fit_model(js(&json!([{"memory_mb": 128}])), None).unwrap_err());
    assert!(e.starts_with("$[0]: missing field `duration_ms`"), "{e}");
    let e = message(fit_model(js(&json!([])), None).unwrap_err());
    assert!(e.starts_with("$: no samples"), "{e}");
    let e = message(import_spec(js(&json!({"functions": [{"id": "a"}]}))).unwrap_err());
    assert!(e.starts_with("$.functions[0]"), "{e}");

    // Still usable after all of that.
    assert!(planner.pareto(None).is_ok());
}

/// `JSON.stringify` would turn NaN and ±Infinity into `null` (no limit): they are refused instead.
pub fn non_finite_numbers_are_refused() {
    let planner = Planner::new(JsValue::from_str(APP3)).unwrap();
    let request = js(&json!({"objective": "cost", "constraints": {"max_latency_ms": 0}}));
    let constraints = js_sys::Reflect::get(&request, &"constraints".into()).unwrap();
    for (x, shown) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ] {
        js_sys::Reflect::set(
            &constraints,
            &"max_latency_ms".into(),
            &JsValue::from_f64(x),
        )
        .unwrap();
        let e = message(planner.optimize(request.clone()).unwrap_err());
        assert_eq!(
            e,
            format!("$.constraints.max_latency_ms: must be a finite number, found {shown}")
        );
    }
    let samples = js(&json!([{"memory_mb": 128, "duration_ms": 1}]));
    let first = js_sys::Reflect::get(&samples, &0.into()).unwrap();
    js_sys::Reflect::set(&first, &"duration_ms".into(), &JsValue::from_f64(f64::NAN)).unwrap();
    let e = message(fit_model(samples, None).unwrap_err());
    assert_eq!(e, "$[0].duration_ms: must be a finite number, found NaN");
}

/// The free functions give `core`'s answers.
pub fn free_functions_match_core() {
    let samples = json!([
        {"memory_mb": 128, "duration_ms": 2900.0}, {"memory_mb": 256, "duration_ms": 1500.0},
        {"memory_mb": 512, "duration_ms": 800.0}, {"memory_mb": 1024, "duration_ms": 420.0},
        {"memory_mb": 2048, "duration_ms": 260.0}
    ]);
    assert_same(
        &fit_model(js(&samples), None).unwrap(),
        &serde_json::to_value(api::fit(&samples.to_string(), None).unwrap()).unwrap(),
        "fitModel",
    );
    assert_same(
        &fit_model(js(&samples), Some("cpu-share".into())).unwrap(),
        &serde_json::to_value(api::fit(&samples.to_string(), Some("cpu-share")).unwrap()).unwrap(),
        "fitModel cpu-share",
    );
    let bundle = import_spec(APP3_SPEC.into()).unwrap();
    assert_same(
        &bundle,
        &serde_json::to_value(api::import_spec(APP3_SPEC).unwrap()).unwrap(),
        "importOptiserveSpec",
    );
    // The imported bundle plans.
    assert!(Planner::new(bundle).is_ok());
}

/// Two JavaScript values are equal: numbers to the last bit (`JSON.parse` reads the committed
/// text exactly), the same keys, strings, booleans and nulls.
pub fn assert_js_equal(actual: &JsValue, expected: &JsValue, path: &str) {
    if let Some(x) = expected.as_f64() {
        assert_eq!(actual.as_f64(), Some(x), "{path}");
    } else if js_sys::Array::is_array(expected) {
        assert!(js_sys::Array::is_array(actual), "{path}: expected an array");
        let (a, e): (&js_sys::Array, &js_sys::Array) =
            (actual.unchecked_ref(), expected.unchecked_ref());
        assert_eq!(a.length(), e.length(), "{path}: length");
        for i in 0..e.length() {
            assert_js_equal(&a.get(i), &e.get(i), &format!("{path}[{i}]"));
        }
    } else if expected.is_object() {
        assert!(actual.is_object(), "{path}: expected an object");
        let keys = |v: &JsValue| {
            let mut k: Vec<String> = js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>())
                .iter()
                .map(|k| k.as_string().unwrap())
                .collect();
            k.sort();
            k
        };
        assert_eq!(keys(actual), keys(expected), "{path}: keys");
        for k in keys(expected) {
            let get = |v: &JsValue| js_sys::Reflect::get(v, &JsValue::from_str(&k)).unwrap();
            assert_js_equal(&get(actual), &get(expected), &format!("{path}.{k}"));
        }
    } else {
        assert_eq!(
            actual.as_string(),
            expected.as_string(),
            "{path}: {actual:?} vs {expected:?}"
        );
        assert_eq!(actual.as_bool(), expected.as_bool(), "{path}");
        assert_eq!(actual.is_null(), expected.is_null(), "{path}");
    }
}

/// Same seed, same result, native and wasm: `Planner.simulate` and a tail-aware
/// `Planner.optimize` give exactly the numbers the native build computed and committed
/// (`NATIVE_FIXTURES`, checked natively by `api`'s tests).
pub fn seeded_results_equal_the_native_ones() {
    for (bundle, call, request, file, committed) in NATIVE_FIXTURES {
        let planner = Planner::new(JsValue::from_str(bundle)).unwrap();
        let got = match call {
            "optimize" => {
                let s = planner.optimize(JsValue::from_str(request)).unwrap();
                js_sys::Reflect::delete_property(
                    s.unchecked_ref::<js_sys::Object>(),
                    &"elapsed_ms".into(),
                )
                .unwrap();
                s
            }
            "simulate" => planner.simulate(Some(JsValue::from_str(request))).unwrap(),
            _ => planner.evaluate(None).unwrap(),
        };
        assert_js_equal(&got, &JSON::parse(committed).unwrap(), file);
    }
    let planner = Planner::new(JsValue::from_str(MEDIA)).unwrap();
    // Without a seed, one is drawn (crypto.getRandomValues) and reported; it reproduces the run.
    let a = value(&planner.simulate(Some(js(&json!({ "runs": 500 })))).unwrap());
    let seed = a["seed"].as_u64().unwrap();
    assert!(seed < 1 << 53);
    let b = value(
        &planner
            .simulate(Some(js(&json!({ "runs": 500, "seed": seed }))))
            .unwrap(),
    );
    assert_eq!(a, b);
    let c = value(&planner.simulate(Some(js(&json!({ "runs": 500 })))).unwrap());
    assert_ne!(c["seed"], a["seed"]);
}

/// `Planner.latencyModel`: the bundle's model until set; the thesis' rule on request, with the
/// figures core computes under it; another name is an error that says what is expected.
pub fn the_latency_model_can_be_chosen() {
    let text = NATIVE_FIXTURES[3].0;
    let mut planner = Planner::new(JsValue::from_str(text)).unwrap();
    assert_eq!(planner.latency_model(), "branch_aware");
    let aware = value(&planner.evaluate(None).unwrap());
    planner.set_latency_model("thesis").unwrap();
    assert_eq!(planner.latency_model(), "thesis");
    let evaluation = planner.evaluate(None).unwrap();
    let thesis = value(&evaluation);
    let mut app = api::application(text).unwrap();
    app.latency_model = optiserve_core::workflow::LatencyModel::Thesis;
    assert_same(
        &evaluation,
        &serde_json::to_value(api::evaluate(&app, None).unwrap()).unwrap(),
        "evaluate (thesis)",
    );
    assert_eq!(thesis["latency_model"], json!("thesis"));
    assert!(aware["latency_ms"].as_f64().unwrap() > thesis["latency_ms"].as_f64().unwrap());
    let err = message(planner.set_latency_model("fast").unwrap_err());
    assert!(
        err.contains("branch_aware") && err.contains("\"fast\""),
        "{err}"
    );
    assert_eq!(planner.latency_model(), "thesis");
}
