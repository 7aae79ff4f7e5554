//! The bodies of the fuzz targets in `fuzz/` (libFuzzer runs them on generated inputs) and of the
//! replay test that runs them on the committed seeds and regressions in `cargo test`. Each takes
//! arbitrary bytes; it returns on input that is refused with an error and panics only on a bug:
//! a panic inside the library, or a figure that is not a number for input that was accepted.

use std::sync::OnceLock;

use crate::accuracy::EasDefinition;
use crate::asl::{AslOptions, import_asl};
use crate::bundle::Bundle;
use crate::model::{ModelChoice, parse_samples, select_model};
use crate::sfn_history::{measure, parse_histories};
use crate::workflow::Workflow;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/<name>.rs` and its `fuzz/seeds/<name>/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("asl_import", asl_import),
    ("sfn_history", sfn_history),
    ("bundle", bundle),
    ("accuracy_formula", accuracy_formula),
    ("samples", samples),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// ASL text imports or is refused; an import's workflow builds or is refused.
pub fn asl_import(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(imported) = import_asl(text, &AslOptions::default()) {
        let ids: Vec<String> = imported.functions.iter().map(|f| f.id.clone()).collect();
        let _ = Workflow::build_with_sites(
            &ids,
            &imported.workflow.states,
            &imported.workflow.sites,
            &imported.workflow.maps,
            &imported.workflow.edges,
        );
    }
}

/// Histories parse or are refused; what parses is measured against the media pipeline's bundle.
pub fn sfn_history(data: &[u8]) {
    static MEDIA: OnceLock<Option<Bundle>> = OnceLock::new();
    let Some(text) = text(data) else { return };
    let media = MEDIA.get_or_init(|| {
        Bundle::from_json(include_str!("../../examples/media-pipeline.bundle.json")).ok()
    });
    if let (Ok(executions), Some(bundle)) = (parse_histories(text, "fuzz"), media) {
        let _ = measure(bundle, &executions);
    }
}

/// A bundle reads and validates or is refused; a valid one evaluates to finite figures.
pub fn bundle(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(bundle) = Bundle::from_json(text) else {
        return;
    };
    let Ok(app) = bundle.validate() else { return };
    let e = app.evaluate(&app.deployed);
    for (what, v) in [
        ("latency_ms", e.latency_ms),
        ("latency_error_bound_ms", e.latency_error_bound_ms),
        ("cost_usd_per_million", e.cost_usd_per_million),
        ("accuracy", e.accuracy),
    ] {
        assert!(v.is_finite(), "{what} = {v} for a bundle that validated");
    }
}

/// An accuracy formula over three functions compiles or is refused; a compiled one evaluates
/// and checks its contract without panicking.
pub fn accuracy_formula(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let definition = EasDefinition::Formula {
        expression: text.to_string(),
    };
    let Ok(score) = definition.compile(&["a", "b", "c"]) else {
        return;
    };
    for point in [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.25, 0.5, 0.75]] {
        let _ = score.evaluate(&point);
    }
    let _ = score.check_contract(&[vec![0.0, 1.0], vec![0.5], vec![0.2, 0.9]]);
}

/// Samples (CSV or JSON) read or are refused; samples that read are fitted or refused, and a
/// fitted model's durations are finite and not negative over Lambda's memory sizes.
pub fn samples(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(samples) = parse_samples(text) else {
        return;
    };
    let Ok(selection) = select_model(&samples, ModelChoice::Auto) else {
        return;
    };
    for memory in (128..=10_240).step_by(64) {
        let d = selection.model.duration_ms(f64::from(memory));
        assert!(
            d.is_finite() && d >= 0.0,
            "{d} ms at {memory} MB from {:?}",
            selection.model
        );
    }
}
