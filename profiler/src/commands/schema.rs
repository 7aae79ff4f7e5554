//! `optiserve schema`.

use std::path::Path;
use std::process::ExitCode;

use optiserve_core::bundle::bundle_schema;

use crate::cli::SchemaArgs;
use crate::input::write_text;

pub fn run(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let text = super::to_json(&bundle_schema())?;
    write_text(args.output.as_deref().unwrap_or(Path::new("-")), &text)?;
    Ok(ExitCode::SUCCESS)
}
