//! `optiserve import`.

use std::process::ExitCode;

use anyhow::Context;
use optiserve_core::import::import_optiserve_spec;

use crate::cli::ImportSpecArgs;
use crate::input::{read_text, write_text};

pub fn run_spec(args: &ImportSpecArgs) -> anyhow::Result<ExitCode> {
    let text = read_text(&args.spec)?;
    let bundle = import_optiserve_spec(&text)
        .with_context(|| format!("in workflow spec {}", args.spec.display()))?;
    write_text(&args.output, &bundle.to_json())?;
    if args.output.as_os_str() != "-" {
        eprintln!(
            "wrote {} ({} functions)",
            args.output.display(),
            bundle.functions.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
