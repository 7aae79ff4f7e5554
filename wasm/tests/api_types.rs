//! The JSON Schema of every argument and result of the JavaScript API, generated from the Rust
//! types; `scripts/gen-types.mjs` turns it into `types/api.d.ts`, which the module's `.d.ts`
//! includes. This test fails when the committed `types/api.schema.json` is stale; regenerate both
//! with `UPDATE_API_TYPES=1 cargo test -p optiserve-wasm --test api_types && node
//! wasm/scripts/gen-types.mjs`.
//!
//! Arguments are described as `core` reads them (fields with defaults are optional), results as
//! `core` writes them (absent values are `null`).

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use optiserve_core::bundle::{Bundle, Configuration};
use optiserve_core::evaluate::Evaluation;
use optiserve_core::model::{ModelSelection, Sample};
use optiserve_core::optimize::pareto::ParetoPoint;
use optiserve_core::optimize::whatif::{WhatIfPoint, WhatIfRequest};
use optiserve_core::optimize::{OptimizeRequest, Solution};
use optiserve_core::report::ValidationReport;
use optiserve_core::simulate::{SimulateRequest, SimulationReport};
use optiserve_wasm::api::{FunctionCurves, WorkflowBlock};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

fn generator(serialize: bool) -> SchemaGenerator {
    let settings = SchemaSettings::draft2020_12();
    let settings = if serialize {
        settings.for_serialize()
    } else {
        settings.for_deserialize()
    };
    settings.into_generator()
}

/// Adds `gen`'s definitions to `defs`; a type described differently by two generators is an error
/// (TypeScript would get two types with one name).
fn merge(defs: &mut Map<String, Value>, generator: &mut SchemaGenerator) {
    for (name, schema) in generator.take_definitions(true) {
        if let Some(existing) = defs.get(&name) {
            assert_eq!(
                existing, &schema,
                "{name} is described differently as an argument and as a result"
            );
        }
        defs.insert(name, schema);
    }
}

/// Renames a definition and every reference to it.
fn rename(defs: Map<String, Value>, from: &str, to: &str) -> Map<String, Value> {
    fn walk(v: &mut Value, from: &str, to: &str) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get_mut("$ref")
                    && *r == format!("#/$defs/{from}")
                {
                    *r = format!("#/$defs/{to}");
                }
                o.values_mut().for_each(|x| walk(x, from, to));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, from, to)),
            _ => {}
        }
    }
    defs.into_iter()
        .map(|(name, mut schema)| {
            walk(&mut schema, from, to);
            (if name == from { to.to_string() } else { name }, schema)
        })
        .collect()
}

fn api_schema() -> Value {
    let mut defs = Map::new();

    // Arguments: what `core` reads.
    let mut input = generator(false);
    input.subschema_for::<Bundle>();
    input.subschema_for::<OptimizeRequest>();
    input.subschema_for::<WhatIfRequest>();
    input.subschema_for::<SimulateRequest>();
    input.subschema_for::<Sample>();
    let configuration = input.subschema_for::<Configuration>().to_value();
    merge(&mut defs, &mut input);
    defs.insert("Configuration".into(), configuration);

    // Results: what `core` writes.
    let mut output = generator(true);
    output.subschema_for::<ValidationReport>();
    output.subschema_for::<Evaluation>();
    output.subschema_for::<Solution>();
    output.subschema_for::<WhatIfPoint>();
    output.subschema_for::<ParetoPoint>();
    output.subschema_for::<ModelSelection>();
    output.subschema_for::<SimulationReport>();
    output.subschema_for::<WorkflowBlock>();
    output.subschema_for::<FunctionCurves>();
    merge(&mut defs, &mut output);

    // `SimulateRequest.config` is any JSON value to `core`; it reads the forms of
    // `ConfigurationInput`.
    if let Some(config) = defs
        .get_mut("SimulateRequest")
        .and_then(|d| d.pointer_mut("/properties/config"))
    {
        *config = json!({
            "description": "The configuration, in any form `evaluate` reads; the deployed one when left out.",
            "anyOf": [{ "$ref": "#/$defs/ConfigurationInput" }, { "type": "null" }]
        });
    }

    // The forms `Application::configuration_from_value` reads.
    defs.insert(
        "ConfigurationInput".into(),
        json!({
            "description": "A configuration as `evaluate` reads it: a choice per function id, any object with a `config` map (an `optimize` result; one without a configuration is refused), or an `evaluate` result. Functions left out keep their deployed choice.",
            "anyOf": [
                { "$ref": "#/$defs/Configuration" },
                { "$ref": "#/$defs/Solution" },
                {
                    "type": "object",
                    "properties": { "config": { "$ref": "#/$defs/Configuration" } },
                    "required": ["config"]
                },
                { "$ref": "#/$defs/Evaluation" }
            ]
        }),
    );

    // `Function` would shadow the global `Function` type in TypeScript.
    let mut defs = rename(defs, "Function", "BundleFunction");

    // Each definition becomes a TypeScript type named after its key.
    for (name, schema) in defs.iter_mut() {
        if let Some(object) = schema.as_object_mut() {
            object.insert("title".into(), Value::String(name.clone()));
        }
    }
    defs.sort_keys();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "optiserve JavaScript API",
        "description": "Arguments and results of the optiserve npm package, generated from the Rust types of optiserve-core.",
        "$defs": defs
    })
}

#[test]
fn committed_api_schema_is_generated_from_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("types/api.schema.json");
    let mut text = serde_json::to_string_pretty(&api_schema()).unwrap();
    text.push('\n');
    if std::env::var_os("UPDATE_API_TYPES").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "wasm/types/api.schema.json is stale: regenerate it with `UPDATE_API_TYPES=1 cargo test -p optiserve-wasm --test api_types`, then `node wasm/scripts/gen-types.mjs`"
    );
}
