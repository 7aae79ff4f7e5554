//! Replays every fuzz target on its committed inputs (`fuzz/seeds/<target>/` and the crashes
//! found and fixed, `fuzz/regressions/<target>/`), so a fixed crash stays fixed in every
//! `cargo test` without libFuzzer. Core's targets and the profiler's (the plan parser) alike.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use optiserve_core::bundle::Bundle;
use optiserve_core::fuzzing::TARGETS as CORE_TARGETS;
use optiserve_profiler::fuzzing::TARGETS as PROFILER_TARGETS;

fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_survives_its_seeds_and_regressions() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    for (name, target) in CORE_TARGETS.iter().chain(PROFILER_TARGETS) {
        let seeds = inputs(&fuzz.join("seeds").join(name));
        assert!(!seeds.is_empty(), "fuzz/seeds/{name}/ has no inputs");
        let regressions = inputs(&fuzz.join("regressions").join(name));
        for file in seeds.iter().chain(&regressions) {
            let data = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", file.display());
        }
        println!(
            "{name}: {} seeds, {} regressions",
            seeds.len(),
            regressions.len()
        );
    }
}

/// The bundle seeds are valid bundles, so the target reaches its finiteness check from them.
#[test]
fn bundle_seeds_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/bundle");
    for file in inputs(&dir) {
        let text = std::fs::read_to_string(&file).unwrap();
        let bundle = Bundle::from_json(&text).unwrap();
        assert!(bundle.validate().is_ok(), "{}", file.display());
    }
}
