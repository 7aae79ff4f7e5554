#![allow(clippy::unwrap_used)]
//! Amazon States Language import: the committed fixtures in `fixtures/asl/` and malformed or
//! unsupported definitions, as snapshots of what the import produces (edges, state nodes, Map
//! blocks, notes, and the reduced structure once built) or of the error it reports.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use optiserve_core::asl::{AslOptions, import_asl};
use optiserve_core::workflow::Workflow;

/// What an import gives, in a form that reads well in a snapshot.
fn render(text: &str, options: &AslOptions) -> String {
    let imported = match import_asl(text, options) {
        Ok(i) => i,
        Err(e) => return format!("error: {e}\n"),
    };
    let mut o = String::new();
    let ids: Vec<String> = imported.functions.iter().map(|f| f.id.clone()).collect();
    writeln!(o, "functions: {}", ids.join(", ")).unwrap();
    for e in &imported.workflow.edges {
        let basis = match e.basis {
            Some(b) => format!("  {}", serde_json::to_string(&b).unwrap()),
            None => String::new(),
        };
        writeln!(o, "edge {} → {} {:.4}{basis}", e.from, e.to, e.probability).unwrap();
    }
    for s in &imported.workflow.states {
        write!(o, "state {} {:?} {} ms", s.id, s.kind, s.delay_ms).unwrap();
        if let Some(r) = &s.resource {
            write!(o, " {r}").unwrap();
        }
        if let Some(p) = s.price_per_request {
            write!(o, " ${p} per request").unwrap();
        }
        writeln!(o).unwrap();
    }
    for s in &imported.workflow.sites {
        writeln!(o, "site {} of {}", s.id, s.function).unwrap();
    }
    for m in &imported.workflow.maps {
        write!(
            o,
            "map {} items {} max_concurrency {} body [{}]",
            m.state,
            m.items,
            m.max_concurrency,
            m.body.join(", ")
        )
        .unwrap();
        if m.is_distributed() {
            write!(
                o,
                " distributed {:?} children, batch {:?}",
                m.child_execution.unwrap_or_default(),
                m.batch_items
            )
            .unwrap();
        }
        writeln!(o).unwrap();
    }
    for n in &imported.notes {
        writeln!(o, "note: {n}").unwrap();
    }
    match Workflow::build_with_sites(
        &ids,
        &imported.workflow.states,
        &imported.workflow.sites,
        &imported.workflow.maps,
        &imported.workflow.edges,
    ) {
        Ok(w) => writeln!(o, "structure: {}", w.display_structure()).unwrap(),
        Err(e) => writeln!(o, "workflow error: {e}").unwrap(),
    }
    o
}

fn fixture(name: &str) -> String {
    match name {
        "nested-choice" => include_str!("fixtures/asl/nested-choice.json"),
        "parallel" => include_str!("fixtures/asl/parallel.json"),
        "parallel-after-choice" => include_str!("fixtures/asl/parallel-after-choice.json"),
        "map" => include_str!("fixtures/asl/map.json"),
        "loops-wait-retry-catch" => include_str!("fixtures/asl/loops-wait-retry-catch.json"),
        other => panic!("no fixture {other}"),
    }
    .to_string()
}

#[test]
fn fixtures() {
    for name in [
        "nested-choice",
        "parallel",
        "parallel-after-choice",
        "map",
        "loops-wait-retry-catch",
    ] {
        insta::assert_snapshot!(name, render(&fixture(name), &AslOptions::default()));
    }
}

#[test]
fn a_nested_execution_imports_its_child_as_a_sub_block() {
    let parent = machine(
        r#""A": {"Type": "Task", "Resource": "L:a", "Next": "Run child"}, "Run child": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2", "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child"}, "Next": "B"}, "B": {"Type": "Task", "Resource": "L:b", "End": true}"#,
    );
    let child = machine(
        r#""A": {"Type": "Task", "Resource": "L:c", "Next": "Check"}, "Check": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "D"}], "Default": "E"}, "D": {"Type": "Task", "Resource": "L:a", "End": true}, "E": {"Type": "Pass", "End": true}"#,
    );
    for key in [
        "Run child",
        "arn:aws:states:us-east-1:123456789012:stateMachine:child",
    ] {
        let options = AslOptions {
            children: BTreeMap::from([(key.to_string(), child.clone())]),
            ..AslOptions::default()
        };
        insta::assert_snapshot!("nested-child", render(&parent, &options));
    }
    // Items for a state that is not a Map, or for no state at all, are refused.
    for name in ["Nope", ""] {
        let options = AslOptions {
            map_items: BTreeMap::from([(name.to_string(), 5.0)]),
            ..AslOptions::default()
        };
        let e = import_asl(&fixture("map"), &options)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!(
                "items given for Map state '{name}', which is not a Map state"
            )) && e.contains("EachPage"),
            "{e}"
        );
    }
}

#[test]
fn map_items_can_be_given() {
    let options = AslOptions {
        map_items: BTreeMap::from([("EachPage".to_string(), 37.0)]),
        ..AslOptions::default()
    };
    let out = render(&fixture("map"), &options);
    assert!(
        out.contains("map EachPage items 37 max_concurrency 4 body [ocr]"),
        "{out}"
    );
    assert!(out.contains("map×37/4("), "{out}");
}

const L: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

fn machine(states: &str) -> String {
    format!(r#"{{"StartAt": "A", "States": {{ {states} }}}}"#).replace("L:", L)
}

#[test]
fn malformed_and_unsupported_definitions_name_the_state() {
    let cases: Vec<(&str, String)> = vec![
        ("syntax", "{\"StartAt\": \"A\", \"States\": {".to_string()),
        ("not an object", "[1, 2]".to_string()),
        ("no StartAt", r#"{"States": {}}"#.to_string()),
        (
            "StartAt unknown",
            machine(r#""B": {"Type": "Task", "Resource": "L:b", "End": true}"#),
        ),
        (
            "no Type",
            machine(r#""A": {"Resource": "L:a", "End": true}"#),
        ),
        (
            "unknown Type",
            machine(r#""A": {"Type": "Activity", "End": true}"#),
        ),
        (
            "Next unknown",
            machine(r#""A": {"Type": "Task", "Resource": "L:a", "Next": "Nowhere"}"#),
        ),
        (
            "Next and End",
            machine(r#""A": {"Type": "Task", "Resource": "L:a", "Next": "A", "End": true}"#),
        ),
        (
            "neither Next nor End",
            machine(r#""A": {"Type": "Task", "Resource": "L:a"}"#),
        ),
        (
            "not Lambda",
            machine(
                r#""A": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": true}"#,
            ),
        ),
        (
            "callback pattern",
            machine(
                r#""A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Parameters": {"FunctionName": "a"}, "End": true}"#,
            ),
        ),
        (
            "dynamic function",
            machine(
                r#""A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.fn"}, "End": true}"#,
            ),
        ),
        (
            "no FunctionName",
            machine(
                r#""A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {}, "End": true}"#,
            ),
        ),
        (
            "same function twice",
            machine(
                r#""A": {"Type": "Task", "Resource": "L:f", "Next": "B"}, "B": {"Type": "Task", "Resource": "L:f:prod", "End": true}"#,
            ),
        ),
        (
            "empty Choices",
            machine(r#""A": {"Type": "Choice", "Choices": []}"#),
        ),
        (
            "rule without Next",
            machine(
                r#""A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true}], "Default": "B"}, "B": {"Type": "Task", "Resource": "L:b", "End": true}"#,
            ),
        ),
        (
            "bad Seconds",
            machine(
                r#""A": {"Type": "Wait", "Seconds": -1, "Next": "B"}, "B": {"Type": "Task", "Resource": "L:b", "End": true}"#,
            ),
        ),
        (
            "Wait without time",
            machine(
                r#""A": {"Type": "Wait", "Next": "B"}, "B": {"Type": "Task", "Resource": "L:b", "End": true}"#,
            ),
        ),
        (
            "no Lambda at all",
            machine(r#""A": {"Type": "Pass", "End": true}"#),
        ),
        (
            "Fail inside Parallel",
            machine(
                r#""A": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Y"}], "Default": "Boom"}, "Y": {"Type": "Task", "Resource": "L:y", "End": true}, "Boom": {"Type": "Fail"}}}]}"#,
            ),
        ),
        (
            "duplicate state across branches",
            machine(
                r#""A": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "L:x", "End": true}}}, {"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "L:y", "End": true}}}]}"#,
            ),
        ),
        (
            "Next out of the branch",
            machine(
                r#""A": {"Type": "Parallel", "Next": "B", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "L:x", "Next": "B"}}}]}, "B": {"Type": "Task", "Resource": "L:b", "End": true}"#,
            ),
        ),
        (
            "distributed Map",
            machine(
                r#""A": {"Type": "Map", "End": true, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "L:x", "End": true}}}}"#,
            ),
        ),
        (
            "bad MaxConcurrency",
            machine(
                r#""A": {"Type": "Map", "End": true, "MaxConcurrency": 2.5, "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "L:x", "End": true}}}}"#,
            ),
        ),
        (
            "service integrations: timed states, priced where they have a price",
            machine(
                r#""A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "B"}, "B": {"Type": "Task", "Resource": "L:b", "Next": "C"}, "C": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem", "Next": "D"}, "D": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "Next": "E"}, "E": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:review", "End": true}"#,
            ),
        ),
        (
            "function chosen at run time, beside a fixed one",
            machine(
                r#""A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.fn"}, "Next": "B"}, "B": {"Type": "Task", "Resource": "L:b", "End": true}"#,
            ),
        ),
        (
            "polling loop: poll, then wait and poll again until done",
            machine(
                r#""A": {"Type": "Task", "Resource": "L:submit", "Next": "Poll"}, "Poll": {"Type": "Task", "Resource": "arn:aws:states:::athena:getQueryExecution", "Next": "Done?"}, "Done?": {"Type": "Choice", "Choices": [{"Variable": "$.status", "StringEquals": "SUCCEEDED", "Next": "Finish"}], "Default": "Pause"}, "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Poll"}, "Finish": {"Type": "Task", "Resource": "L:finish", "End": true}"#,
            ),
        ),
        (
            "Wait with a JSONata Seconds",
            machine(
                r#""A": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Next": "B"}, "B": {"Type": "Task", "Resource": "L:b", "End": true}"#,
            ),
        ),
        (
            "loop left only through a Catch",
            machine(
                r#""A": {"Type": "Task", "Resource": "L:page", "Next": "W", "Catch": [{"ErrorEquals": ["NoMorePages"], "Next": "B"}]}, "W": {"Type": "Wait", "Seconds": 1, "Next": "A"}, "B": {"Type": "Task", "Resource": "L:b", "End": true}"#,
            ),
        ),
        (
            "Fail ends every path of a Parallel branch",
            machine(
                r#""A": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "L:x", "Next": "Boom"}, "Boom": {"Type": "Fail"}}}, {"StartAt": "Y", "States": {"Y": {"Type": "Task", "Resource": "L:y", "End": true}}}]}"#,
            ),
        ),
        (
            "a function reached only through Catch is no refusal",
            machine(
                r#""A": {"Type": "Task", "Resource": "L:clean", "Next": "B"}, "B": {"Type": "Task", "Resource": "L:b", "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "OnError"}]}, "OnError": {"Type": "Task", "Resource": "L:clean", "End": true}"#,
            ),
        ),
        (
            "nested execution without its definition",
            machine(
                r#""A": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2", "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child"}, "Next": "B"}, "B": {"Type": "Task", "Resource": "L:b", "End": true}"#,
            ),
        ),
        (
            "distributed Map with batches and Standard children",
            machine(
                r#""A": {"Type": "Map", "End": true, "MaxConcurrency": 100, "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}, "ItemBatcher": {"MaxItemsPerBatch": 25}, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "L:x", "End": true}}}}"#,
            ),
        ),
        (
            "loop without exit",
            machine(
                r#""A": {"Type": "Task", "Resource": "L:a", "Next": "B"}, "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "A"}], "Default": "A"}"#,
            ),
        ),
    ];
    let mut o = String::new();
    for (name, text) in cases {
        write!(o, "{name}: {}", render(&text, &AslOptions::default())).unwrap();
    }
    insta::assert_snapshot!(o);
}
