//! `optiserve`: plan serverless applications from profile bundles.

use std::process::ExitCode;

fn main() -> ExitCode {
    optiserve_profiler::run()
}
