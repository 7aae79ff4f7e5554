//! The corpus of real public state machines (`tests/fixtures/asl-corpus/`, sources and licences
//! in its README): every definition is imported, and each import either
//!
//! * gives a bundle that, with a constant model per function (100 ms, 110 ms, … at 1,024 MB),
//!   validates and evaluates to a finite latency and cost, or
//! * is refused with a message that names the JSON path of a state and a state by name (a
//!   definition that invokes no Lambda function says "nothing to tune" instead), and never,
//!   for a definition that invokes a Lambda function, because of a service integration.
//!
//! The share of definitions that import (and validate and evaluate) must reach
//! [`MIN_IMPORT_RATE`]; the run prints one line per definition and the count per reason of
//! refusal (`cargo test -p optiserve-tests --test asl_corpus -- --nocapture`), the figures the
//! README quotes.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use optiserve_core::asl::{AslOptions, bundle_from_import, import_asl};
use optiserve_core::bundle::Bundle;
use serde_json::{Value, json};

/// The share of the corpus that must import, validate and evaluate.
const MIN_IMPORT_RATE: f64 = 0.90;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/asl-corpus")
}

/// Every state name of a definition (in Parallel branches and Map bodies too).
fn state_names(machine: &Value, out: &mut Vec<String>) {
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, s) in states {
        out.push(name.clone());
        for b in s
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            state_names(b, out);
        }
        if let Some(body) = s.get("ItemProcessor").or_else(|| s.get("Iterator")) {
            state_names(body, out);
        }
    }
}

/// Does any Task of the definition invoke a Lambda function by a fixed name?
fn invokes_lambda(machine: &Value) -> bool {
    fn go(v: &Value) -> bool {
        match v {
            Value::Object(o) => {
                let fixed = ["Parameters", "Arguments"].iter().any(|k| {
                    o.get(*k)
                        .and_then(|p| p.get("FunctionName"))
                        .and_then(Value::as_str)
                        .is_some_and(|f| !f.starts_with("{%"))
                });
                let lambda = o.get("Type").and_then(Value::as_str) == Some("Task")
                    && o.get("Resource").and_then(Value::as_str).is_some_and(|r| {
                        r.starts_with("arn:aws:lambda:")
                            || (r.starts_with("arn:aws:states:::lambda:invoke") && fixed)
                    });
                lambda || o.values().any(go)
            }
            Value::Array(a) => a.iter().any(go),
            _ => false,
        }
    }
    go(machine)
}

/// The reason class of a refusal, for the tally.
fn class(message: &str) -> &'static str {
    let m = message;
    if m.contains("invokes no Lambda function") || m.contains("nothing to tune") {
        "no Lambda function (nothing to tune)"
    } else if m.contains("which is not a Lambda function") {
        "service integration"
    } else if m.contains("both invoke Lambda function") {
        "function reused across states"
    } else if m.contains("left from several places") || m.contains("two loop edges") {
        "loop left from several places"
    } else if m.contains("can never exit") || m.contains("loops back") || m.contains("never leaves")
    {
        "loop without an exit"
    } else if m.contains("DISTRIBUTED") {
        "Distributed Map"
    } else if m.contains("integration pattern") {
        "callback or .sync"
    } else if m.contains("Fail state") {
        "Fail inside a block"
    } else if m.contains("run time") {
        "function chosen at run time"
    } else if m.contains("JSONata") || m.contains("Seconds") {
        "Wait chosen at run time"
    } else if m.contains("must be a JSON object") {
        "not a valid definition"
    } else {
        "other"
    }
}

/// Gives every function of a skeleton bundle one constant variant.
fn with_constant_models(bundle: &Bundle) -> Bundle {
    let mut v: Value = serde_json::from_str(&bundle.to_json()).unwrap();
    for (i, f) in v["functions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        f["memory"] = json!([1024]);
        f["variants"] = json!([{
            "name": "default",
            "model": {"kind": "exponential", "alpha_ms": 100.0 + 10.0 * i as f64, "beta_ms": 0.0, "gamma_per_mb": 0.0}
        }]);
    }
    Bundle::from_json(&v.to_string()).unwrap()
}

#[test]
fn the_corpus_of_real_state_machines_imports() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 60,
        "the corpus has {} definitions",
        files.len()
    );
    let mut imported = 0;
    let mut refused: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let machine: Value = serde_json::from_str(&text).unwrap();
        let mut states = Vec::new();
        state_names(&machine, &mut states);
        let outcome = import_asl(&text, &AslOptions::default())
            .map_err(|e| e.to_string())
            .and_then(|i| {
                let skeleton =
                    bundle_from_import(&i, None, None, &name).map_err(|e| e.to_string())?;
                let bundle = with_constant_models(&skeleton);
                let app = bundle
                    .validate()
                    .map_err(|e| format!("the imported bundle is invalid: {e}"))?;
                let e = app.evaluate(&app.deployed);
                if !(e.latency_ms.is_finite()
                    && e.latency_ms > 0.0
                    && e.cost_usd_per_million.is_finite()
                    && e.cost_usd_per_million > 0.0)
                {
                    return Err(format!(
                        "evaluates to latency {} ms, cost {}",
                        e.latency_ms, e.cost_usd_per_million
                    ));
                }
                Ok((bundle.functions.len(), e.latency_ms))
            });
        match outcome {
            Ok((functions, latency)) => {
                imported += 1;
                println!("imported  {name}: {functions} functions, {latency:.1} ms");
            }
            Err(message) => {
                let c = class(&message);
                *refused.entry(c).or_default() += 1;
                println!("refused   {name}: [{c}] {message}");
                if !message.contains("$.") && !message.contains("invalid") {
                    problems.push(format!("{name}: the refusal names no JSON path: {message}"));
                }
                if !states.iter().any(|s| message.contains(&format!("'{s}'")))
                    && c != "no Lambda function (nothing to tune)"
                {
                    problems.push(format!("{name}: the refusal names no state: {message}"));
                }
                if invokes_lambda(&machine)
                    && matches!(
                        c,
                        "service integration" | "no Lambda function (nothing to tune)"
                    )
                {
                    problems.push(format!(
                        "{name} invokes a Lambda function but is refused for a service integration: {message}"
                    ));
                }
            }
        }
    }
    let rate = imported as f64 / files.len() as f64;
    println!(
        "{imported} of {} definitions import, validate and evaluate ({:.1}%)",
        files.len(),
        rate * 100.0
    );
    for (c, n) in &refused {
        println!("  refused: {n:>3}  {c}");
    }
    for p in &problems {
        println!("problem: {p}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        rate >= MIN_IMPORT_RATE,
        "only {imported} of {} import ({:.1}%)",
        files.len(),
        rate * 100.0
    );
}
