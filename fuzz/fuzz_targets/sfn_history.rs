//! Any text given as an execution history parses or returns an error, and measuring parsed
//! histories against the media pipeline's bundle never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use optiserve_core::bundle::Bundle;
use optiserve_core::sfn_history::{measure, parse_histories};

fn bundle() -> &'static Bundle {
    static B: OnceLock<Bundle> = OnceLock::new();
    B.get_or_init(|| {
        Bundle::from_json(include_str!("../../examples/media-pipeline.bundle.json"))
            .expect("the example bundle reads")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(executions) = parse_histories(text, "fuzz") {
        let _ = measure(bundle(), &executions);
    }
});
