//! libFuzzer target: `optiserve_profiler::fuzzing::plan` (what it checks is documented there).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| optiserve_profiler::fuzzing::plan(data));
