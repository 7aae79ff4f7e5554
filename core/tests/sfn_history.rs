#![allow(clippy::unwrap_used)]
//! Measuring the media pipeline's committed execution histories against its imported bundle.

use optiserve_core::asl::{AslOptions, bundle_from_import, import_asl};
use optiserve_core::bundle::Bundle;
use optiserve_core::sfn_history::{
    apply, compare, estimate_costs, measure, parse_histories, rfc3339_ms,
};
use optiserve_core::workflow::ProbabilityBasis;

fn imported_bundle() -> Bundle {
    let imported = import_asl(
        include_str!("../../examples/media-pipeline.asl.json"),
        &AslOptions::default(),
    )
    .unwrap();
    let base =
        Bundle::from_json(include_str!("../../examples/media-pipeline.bundle.json")).unwrap();
    bundle_from_import(&imported, Some(&base), None, "test").unwrap()
}

fn histories() -> Vec<optiserve_core::sfn_history::Execution> {
    parse_histories(
        include_str!("../../tests/fixtures/sfn/media-pipeline.histories.json"),
        "media-pipeline.histories.json",
    )
    .unwrap()
}

#[test]
fn branch_and_loop_counts_come_from_the_histories() {
    let bundle = imported_bundle();
    let m = measure(&bundle, &histories()).unwrap();
    assert_eq!((m.executions, m.succeeded), (10, 10));
    let edge = |from: &str, to: &str| {
        m.edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .unwrap_or_else(|| panic!("{from} → {to} in {:?}", m.edges))
            .clone()
    };
    let d = edge("merge", "detect");
    assert_eq!((d.taken, d.out_of), (8, 12));
    assert_eq!(edge("merge", "caption").taken, 4);
    assert!(!d.loop_edge);
    let back = edge("review", "ingest");
    assert_eq!((back.taken, back.out_of), (2, 12));
    assert!(back.loop_edge);
    assert!((back.per_execution - 0.2).abs() < 1e-12);
    let again = edge("publish", "publish");
    assert_eq!((again.taken, again.out_of), (3, 13));
    assert!(again.loop_edge);
    assert_eq!(edge("publish", "End").taken, 10);
    // The generator's delays: 30 ms entry → Lambda start, 10 ms Lambda end → exit; 5 ms per
    // transition between states (two of them through a Choice: 10 ms).
    let s = m.state_ms.unwrap();
    assert!((s.mean_ms - 40.0).abs() < 0.01, "{s:?}");
    assert!(m.state_delays["Review"].count == 12);
    let t = &m.transition_delays["merge → detect"];
    assert!((t.mean_ms - 10.0).abs() < 0.01, "{t:?}");
    assert!((m.transition_delays["Start → ingest"].mean_ms - 5.0).abs() < 0.01);
    // Into a folded Parallel's branches, and out of the branch that ends last.
    assert_eq!(m.transition_delays["ingest → classify"].count, 12);
    assert_eq!(m.transition_delays["ingest → thumbnail"].count, 12);
    let joins = m
        .transition_delays
        .get("classify → merge")
        .map_or(0, |s| s.count)
        + m.transition_delays
            .get("thumbnail → merge")
            .map_or(0, |s| s.count);
    assert_eq!(joins, 12);
}

#[test]
fn measured_probabilities_are_written_with_their_counts_and_the_model_is_compared() {
    let mut bundle = imported_bundle();
    let execs = histories();
    let m = measure(&bundle, &execs).unwrap();
    let changed = apply(&mut bundle, &m);
    assert_eq!(changed, 6);
    let e = bundle
        .workflow
        .edges
        .iter()
        .find(|e| e.from == "merge" && e.to == "detect")
        .unwrap();
    assert!((e.probability - 8.0 / 12.0).abs() < 1e-12);
    assert_eq!(
        e.basis,
        Some(ProbabilityBasis::Measured {
            taken: 8,
            out_of: 12,
            executions: Some(10)
        })
    );
    let app = bundle.validate().unwrap();
    let structure = app.workflow.display_structure().to_string();
    assert!(structure.starts_with("loop×1.2000(ingest"), "{structure}");
    let latencies: Vec<f64> = execs.iter().filter_map(|x| x.latency_ms()).collect();
    let costs = estimate_costs(&app, &app.deployed, &bundle, &execs);
    assert_eq!(costs.len(), 10);
    let c = compare(&app, &app.deployed, &latencies, Some(&costs)).unwrap();
    assert_eq!(c.executions, 10);
    // The fixture's Lambdas run at the bundle's model durations (±10%), so once the branch
    // probabilities and delays are measured the model predicts the measured mean closely.
    assert!(c.latency_error_percent.abs() < 1.0, "{c:?}");
    // The cost estimate counts every state entered as a Standard transition (Choice, Parallel and
    // Succeed states included); the import wrote the states it folded into each edge's
    // `transitions`, so the model bills them too.
    assert!(c.cost_error_percent.unwrap().abs() < 2.0, "{c:?}");
}

#[test]
fn timestamps_read_as_rfc3339_or_epoch_seconds() {
    assert_eq!(rfc3339_ms("1970-01-01T00:00:01Z"), Some(1000.0));
    assert_eq!(
        rfc3339_ms("2024-05-01T14:00:00.250+02:00"),
        Some(1_714_564_800_250.0)
    );
    assert_eq!(
        rfc3339_ms("2024-05-01 12:00:00.250000+00:00"),
        Some(1_714_564_800_250.0)
    );
    assert_eq!(rfc3339_ms("2024-13-01T00:00:00Z"), None);
    assert_eq!(rfc3339_ms("yesterday"), None);
    let text = r#"{"events": [
        {"timestamp": "2024-05-01T12:00:00.000Z", "type": "ExecutionStarted", "id": 1, "previousEventId": 0},
        {"timestamp": 1714564800.5, "type": "ExecutionSucceeded", "id": 2, "previousEventId": 1}]}"#;
    let ex = parse_histories(text, "t").unwrap();
    assert_eq!(ex[0].latency_ms(), Some(500.0));
}

#[test]
fn bad_histories_name_the_place() {
    let e = parse_histories(
        r#"{"events": [{"type": "ExecutionStarted", "id": 1}]}"#,
        "t",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "$.events[0].timestamp: an event needs a timestamp (epoch seconds or an RFC 3339 string)"
    );
    let e = parse_histories("{\"events\": [}", "t").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("invalid JSON at line 1, column 13"),
        "{e}"
    );
    let e = parse_histories(r#"{"foo": 1}"#, "t").unwrap_err();
    assert!(e.to_string().starts_with("$: expected a history"), "{e}");
}
