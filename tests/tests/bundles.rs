//! Cross-crate checks on the files the crates exchange: the committed JSON Schema and the example
//! bundles.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use optiserve_core::bundle::{Bundle, bundle_schema};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

#[test]
fn committed_json_schema_is_generated_from_the_types() {
    let committed: serde_json::Value =
        serde_json::from_str(&read("schema/optiserve.bundle.v1.json")).unwrap();
    assert_eq!(
        committed,
        bundle_schema(),
        "schema/optiserve.bundle.v1.json is stale: regenerate it with `cargo run -p optiserve-profiler -- schema -o schema/optiserve.bundle.v1.json`"
    );
}

#[test]
fn every_example_bundle_is_valid_and_round_trips() {
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".bundle.json") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let bundle = Bundle::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let app = bundle.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            Bundle::from_json(&bundle.to_json()).unwrap(),
            bundle,
            "{name}"
        );
        // Every fitted variant's summary matches its samples.
        for f in &bundle.functions {
            for v in &f.variants {
                if let Some(fit) = v.fit {
                    let warm: Vec<_> = v
                        .samples
                        .iter()
                        .filter(|s| !s.cold)
                        .map(|s| optiserve_core::model::Sample {
                            memory_mb: s.memory_mb,
                            duration_ms: s.duration_ms,
                        })
                        .collect();
                    let (mape, _) = optiserve_core::model::fit_quality(&v.model, &warm);
                    assert!(
                        (mape - fit.mape_percent).abs() < 1e-6,
                        "{name}: {}/{} MAPE {mape} vs recorded {}",
                        f.id,
                        v.name,
                        fit.mape_percent
                    );
                    assert_eq!(fit.samples, warm.len());
                }
            }
        }
        // The deployed configuration evaluates to finite numbers.
        let e = app.evaluate(&app.deployed);
        assert!(e.latency_ms.is_finite() && e.latency_ms > 0.0, "{name}");
        assert!(
            e.cost_usd_per_million.is_finite() && e.cost_usd_per_million > 0.0,
            "{name}"
        );
    }
    assert!(seen >= 2, "expected the example bundles, found {seen}");
}

#[test]
fn the_media_pipeline_has_all_four_structures_and_three_ml_functions() {
    let bundle = Bundle::from_json(&read("examples/media-pipeline.bundle.json")).unwrap();
    let app = bundle.validate().unwrap();
    let s = app.workflow.display_structure().to_string();
    for part in [
        "parallel(",
        "branch(",
        "loop×1.2500(ingest",
        "loop×1.1111(publish)",
    ] {
        assert!(s.contains(part), "{s} lacks {part}");
    }
    let ml = app
        .functions
        .iter()
        .filter(|f| f.variants.len() > 1)
        .count();
    assert_eq!(ml, 3);
}
