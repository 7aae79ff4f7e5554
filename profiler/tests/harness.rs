//! `optiserve harness --bundle-size`: the protocol on a generated workflow, scored against the
//! exact search's certified bounds.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::run_offline;

fn args(extra: &[&str]) -> Vec<String> {
    [
        "harness",
        "--bundle-size",
        "12",
        "--grid",
        "2",
        "--node-limit",
        "20000",
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn a_generated_workflow_is_scored_against_the_certified_bounds() {
    let (code, text) = run_offline(&args(&["--no-greedy", "--format", "json"]));
    assert_eq!(code, Some(0), "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(report["reference"], "exact");
    assert!(report["configurations"].as_f64().unwrap() > 2e6);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 3 * 2 * 2);
    assert!(problems.iter().all(|p| p.get("greedy").is_none()));
    let certified = report["certified"].as_array().unwrap();
    assert_eq!(certified.len(), 3);
    for c in certified {
        assert_eq!(c["solver"], "exact");
        let objective = c["objective"].as_str().unwrap();
        let of: Vec<&serde_json::Value> = problems
            .iter()
            .filter(|p| p["objective"] == objective)
            .collect();
        // The worst gap is the largest gap of this objective's unproven answers.
        let worst = of
            .iter()
            .filter_map(|p| p["exact"]["gap_percent"].as_f64())
            .fold(0.0, f64::max);
        assert_eq!(c["worst_gap_percent"].as_f64(), Some(worst), "{c}");
        let proven = of
            .iter()
            .filter(|p| p["exact"]["proven"] == true && p["exact"]["value"].is_number())
            .count();
        assert_eq!(c["proven"].as_u64(), Some(proven as u64), "{c}");
        for field in ["worst_gap_percent", "median_gap_percent", "no_relative_gap"] {
            assert!(c[field].is_number(), "{field}: {c}");
        }
    }
    // The same seed gives the same workflow and the same answers.
    let (_, again) = run_offline(&args(&["--no-greedy", "--format", "json"]));
    let again: serde_json::Value = serde_json::from_str(&again).expect("JSON");
    let values = |r: &serde_json::Value| -> Vec<serde_json::Value> {
        r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["exact"]["value"].clone())
            .collect()
    };
    assert_eq!(values(&report), values(&again));
}

#[test]
fn csv_and_text_carry_the_generated_workflow() {
    let (code, text) = run_offline(&args(&["--no-greedy", "--format", "csv"]));
    assert_eq!(code, Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 12);
    assert!(lines[0].starts_with("objective,max_latency_ms,"));
    // No greedy: its three cells are empty.
    assert!(lines[1..].iter().all(|l| l.ends_with(",,,")), "{text}");
    let (code, text) = run_offline(&args(&["--bundle-seed", "2"]));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.starts_with("generated, 12 functions, seed 2: 4 problems per objective"));
    assert!(text.contains("against the exact search's certified bounds"));
    assert!(text.contains("greedy"));
    // No figure that is not a number (JSON writes null for an absent answer, so it is checked
    // above field by field).
    for format in ["human", "csv"] {
        let (_, text) = run_offline(&args(&["--no-greedy", "--format", format]));
        assert!(common::non_numbers(&text).is_empty(), "{format}: {text}");
    }
}

/// Usage errors exit 64, as every other usage error.
#[test]
fn a_bundle_and_a_size_are_not_both_taken() {
    let mut a = args(&[]);
    a.push("examples/app3.bundle.json".into());
    let (code, text) = run_offline(&a);
    assert_eq!(code, Some(64), "{text}");
    assert!(text.contains("cannot be used with"), "{text}");
    let (code, text) = run_offline(&["harness".to_string()]);
    assert_eq!(code, Some(64), "{text}");
}
