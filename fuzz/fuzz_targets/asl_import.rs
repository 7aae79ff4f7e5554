//! Any text given to the ASL import either imports or returns an error; when it imports, the
//! workflow either builds or is refused with an error. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use optiserve_core::asl::{AslOptions, import_asl};
use optiserve_core::workflow::Workflow;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
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
});
