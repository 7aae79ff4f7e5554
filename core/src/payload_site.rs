//! Where a Step Functions state machine passes a Lambda function its payload: the static fields
//! of a Task state's `Parameters.Payload` (JSONPath) or `Arguments.Payload` (JSONata). A variant
//! selected by payload fields (`select.payload`) is in place when those fields are, and is switched
//! by rewriting them in the definition (the `apply` command sends the result with
//! UpdateStateMachine). Pure: JSON in, JSON out.

use serde_json::{Map, Value};

/// A Task state that cannot carry a variant's payload fields.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SiteError {
    /// The definition is not JSON.
    #[error("the state machine's definition is not JSON: {0}")]
    Definition(String),
    /// No state of that name (top level, Parallel branches, Map iterators).
    #[error("the state machine has no state named '{0}'")]
    NoState(String),
    /// The state passes no object payload.
    #[error(
        "state '{0}' passes no object payload (Parameters.Payload or Arguments.Payload): a variant selected by payload fields cannot be set there"
    )]
    NoPayload(String),
}

/// Finds the state called `name` anywhere in the definition.
fn find_state<'a>(machine: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    let has = machine
        .get("States")
        .and_then(Value::as_object)
        .is_some_and(|s| s.contains_key(name));
    if has {
        return machine.get_mut("States").and_then(|s| s.get_mut(name));
    }
    let states = machine.get_mut("States")?.as_object_mut()?;
    for state in states.values_mut() {
        let Some(obj) = state.as_object_mut() else {
            continue;
        };
        let mut nested: Vec<&mut Value> = Vec::new();
        for (key, v) in obj.iter_mut() {
            match key.as_str() {
                "Branches" => nested.extend(v.as_array_mut().into_iter().flatten()),
                "Iterator" | "ItemProcessor" => nested.push(v),
                _ => {}
            }
        }
        for n in nested {
            if let Some(found) = find_state(n, name) {
                return Some(found);
            }
        }
    }
    None
}

fn payload_of<'a>(
    state: &'a mut Value,
    name: &str,
) -> Result<&'a mut Map<String, Value>, SiteError> {
    let holder = if state.get("Parameters").is_some() {
        "Parameters"
    } else {
        "Arguments"
    };
    state
        .get_mut(holder)
        .and_then(|p| p.get_mut("Payload"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| SiteError::NoPayload(name.to_string()))
}

fn parse(definition: &str) -> Result<Value, SiteError> {
    serde_json::from_str(definition).map_err(|e| SiteError::Definition(e.to_string()))
}

/// The payload object the state `name` passes.
pub fn task_payload(definition: &str, name: &str) -> Result<Map<String, Value>, SiteError> {
    let mut machine = parse(definition)?;
    let state = find_state(&mut machine, name).ok_or_else(|| SiteError::NoState(name.into()))?;
    payload_of(state, name).cloned()
}

/// Does the payload carry every field of `select` (a variant's `select.payload`) with that value?
pub fn carries(payload: &Map<String, Value>, select: &Map<String, Value>) -> bool {
    select.iter().all(|(k, v)| payload.get(k) == Some(v))
}

/// The definition with the states `states` passing `set`'s fields (each replacing a field of the
/// same name and its `.$` form) and without the fields named in `remove` (the keys other variants
/// select by). Returns the new definition text (pretty JSON) and whether anything changed.
pub fn with_payload_fields(
    definition: &str,
    states: &[String],
    set: &Map<String, Value>,
    remove: &[String],
) -> Result<(String, bool), SiteError> {
    let mut machine = parse(definition)?;
    let before = machine.clone();
    for name in states {
        let state =
            find_state(&mut machine, name).ok_or_else(|| SiteError::NoState(name.clone()))?;
        let payload = payload_of(state, name)?;
        for key in remove.iter().filter(|k| !set.contains_key(*k)) {
            payload.remove(key);
            payload.remove(&format!("{key}.$"));
        }
        for (k, v) in set {
            payload.remove(&format!("{k}.$"));
            payload.insert(k.clone(), v.clone());
        }
    }
    let changed = machine != before;
    let text =
        serde_json::to_string_pretty(&machine).map_err(|e| SiteError::Definition(e.to_string()))?;
    Ok((text, changed))
}

/// Are two definitions the same JSON (whitespace and key order aside)?
pub fn same_definition(a: &str, b: &str) -> bool {
    matches!((parse(a), parse(b)), (Ok(x), Ok(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn machine() -> String {
        json!({
            "StartAt": "Pre",
            "States": {
                "Pre": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "pre", "Payload.$": "$"}, "Next": "Both"},
                "Both": {"Type": "Parallel", "Next": "Done", "Branches": [
                    {"StartAt": "Detect", "States": {"Detect": {
                        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "detect",
                                       "Payload": {"model": "yolov10n", "image.$": "$.key"}},
                        "End": true}}}
                ]},
                "Done": {"Type": "Succeed"}
            }
        })
        .to_string()
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn reads_and_switches_the_payload_fields_of_a_nested_task() {
        let d = machine();
        let p = task_payload(&d, "Detect").unwrap();
        assert!(carries(&p, &map(json!({"model": "yolov10n"}))));
        assert!(!carries(&p, &map(json!({"model": "yolov10s"}))));
        let (new, changed) = with_payload_fields(
            &d,
            &["Detect".into()],
            &map(json!({"model": "yolov10s"})),
            &["model".into()],
        )
        .unwrap();
        assert!(changed);
        let p = task_payload(&new, "Detect").unwrap();
        assert_eq!(p.get("model"), Some(&json!("yolov10s")));
        assert_eq!(p.get("image.$"), Some(&json!("$.key")), "other fields kept");
        // Setting what is there changes nothing.
        let (again, changed) = with_payload_fields(
            &new,
            &["Detect".into()],
            &map(json!({"model": "yolov10s"})),
            &["model".into()],
        )
        .unwrap();
        assert!(!changed && same_definition(&again, &new));
        assert!(!same_definition(&new, &d));
    }

    #[test]
    fn a_missing_state_or_payload_is_an_error() {
        let d = machine();
        assert_eq!(
            task_payload(&d, "Nope").unwrap_err(),
            SiteError::NoState("Nope".into())
        );
        assert_eq!(
            task_payload(&d, "Pre").unwrap_err(),
            SiteError::NoPayload("Pre".into())
        );
        assert!(matches!(
            task_payload("{", "Pre").unwrap_err(),
            SiteError::Definition(_)
        ));
    }
}
