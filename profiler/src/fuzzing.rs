//! The body of the plan parser's fuzz target (`fuzz/fuzz_targets/plan.rs`) and of its replay in
//! `cargo test` (`tests/tests/fuzz_replay.rs`), beside core's targets in
//! `optiserve_core::fuzzing`. It takes arbitrary bytes, returns on input that is refused with an
//! error and panics only on a bug: a panic inside the parser, or a plan that was accepted but
//! holds a memory size Lambda does not have or a figure that is not a number.

use std::path::Path;

use optiserve_core::bundle::{LAMBDA_MAX_MEMORY_MB, LAMBDA_MIN_MEMORY_MB, Provenance};
use optiserve_core::model::{DurationModel, ExpModel};

use crate::plan::parse;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The profiler crate's targets, by the name of `fuzz/fuzz_targets/<name>.rs` and
/// `fuzz/seeds/<name>/`.
pub const TARGETS: &[(&str, Target)] = &[("plan", plan)];

/// Plan text (TOML) parses, resolves and checks, or is refused, for a real and for a simulated
/// run; an accepted plan's memories are Lambda's, its simulated cloud builds and the bundle
/// skeleton it checks against evaluates to finite figures. Relative paths in the plan resolve
/// against the project's `examples/` folder, as for the example plans the seeds are.
pub fn plan(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/fuzz.plan.toml"
    ));
    for simulate in [false, true] {
        let Ok(loaded) = parse(text, path, None, simulate) else {
            continue;
        };
        for t in &loaded.targets {
            assert!(!t.candidates.is_empty(), "{}: no memory", t.function_id);
            for &m in &t.candidates {
                assert!(
                    (LAMBDA_MIN_MEMORY_MB..=LAMBDA_MAX_MEMORY_MB).contains(&m),
                    "{}: {m} MB accepted",
                    t.function_id
                );
            }
        }
        let settings = loaded.plan.sampler_settings();
        assert!(settings.cov_threshold.is_finite() && settings.sigma_mb.is_finite());
        if simulate {
            let _ = loaded.sim_cloud(Some(1));
        }
        let skeleton = loaded.bundle(
            |_| DurationModel::Exponential(ExpModel::constant(100.0)),
            Provenance {
                tool: "fuzz".into(),
                tool_version: String::new(),
                created_at: None,
                region: None,
                source: None,
            },
        );
        let app = skeleton
            .validate()
            .expect("the plan's skeleton validated while the plan loaded");
        let e = app.evaluate(&app.deployed);
        for (what, v) in [
            ("latency_ms", e.latency_ms),
            ("cost_usd_per_million", e.cost_usd_per_million),
            ("accuracy", e.accuracy),
        ] {
            assert!(v.is_finite(), "{what} = {v} for a plan that loaded");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds are plans that load, so the target reaches its checks from them.
    #[test]
    fn plan_seeds_load() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/fuzz.plan.toml"
        ));
        for seed in [
            include_str!("../../fuzz/seeds/plan/app3.plan.toml"),
            include_str!("../../fuzz/seeds/plan/chain-arm64.plan.toml"),
        ] {
            for simulate in [false, true] {
                let loaded = parse(seed, path, None, simulate);
                assert!(loaded.is_ok(), "{loaded:?}");
            }
            plan(seed.as_bytes());
        }
    }
}
