// Calls whose native results are committed in `tests/fixtures/` (the JSON that
// `optiserve evaluate|simulate|optimize … --format json` prints, without `elapsed_ms`): the wasm
// tests check that the module computes exactly these numbers, to the last bit. Included by the
// native check (`src/api.rs`'s tests, `UPDATE_NATIVE_FIXTURES=1` rewrites the files) and by the
// wasm tests (`tests/common/mod.rs`); test code only, never in the package.

/// (bundle, call: `evaluate` | `simulate` | `optimize`, request, file name, committed contents).
pub const NATIVE_FIXTURES: [(&str, &str, &str, &str, &str); 4] = [
    (
        include_str!("../../../examples/media-pipeline.bundle.json"),
        "simulate",
        r#"{"runs": 20000, "seed": 42}"#,
        "simulate-media-pipeline-seed-42.json",
        include_str!("../fixtures/simulate-media-pipeline-seed-42.json"),
    ),
    (
        include_str!("../../../examples/media-pipeline.bundle.json"),
        "optimize",
        r#"{"objective": "p95_latency", "constraints": {"max_cost_usd_per_million": 600}, "scenarios": 1000, "seed": 42, "certify_runs": 20000}"#,
        "optimize-p95-media-pipeline-seed-42.json",
        include_str!("../fixtures/optimize-p95-media-pipeline-seed-42.json"),
    ),
    // The branch-aware latency model's distributions (loops, nested parallel blocks, bucketing)
    // on the real-data App14 and App16.
    (
        include_str!("../../../tests/fixtures/real-aws/app14.bundle.json"),
        "evaluate",
        "",
        "evaluate-real-aws-app14.json",
        include_str!("../fixtures/evaluate-real-aws-app14.json"),
    ),
    (
        include_str!("../../../tests/fixtures/real-aws/app16.bundle.json"),
        "evaluate",
        "",
        "evaluate-real-aws-app16.json",
        include_str!("../fixtures/evaluate-real-aws-app16.json"),
    ),
];
