//! `optiserve generate`.

use std::process::ExitCode;

use optiserve_core::optimize::synthetic::{MAX_SYNTHETIC_FUNCTIONS, SyntheticSpec, generate};

use crate::cli::GenerateArgs;
use crate::input::write_text;

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    if !(2..=MAX_SYNTHETIC_FUNCTIONS).contains(&args.functions) {
        anyhow::bail!(
            "--functions: from 2 to {MAX_SYNTHETIC_FUNCTIONS}, found {}",
            args.functions
        );
    }
    let bundle = generate(&SyntheticSpec {
        functions: args.functions,
        seed: args.seed,
        score: args.score,
        express: args.express,
    });
    write_text(&args.output, &bundle.to_json())?;
    if args.output.as_os_str() != "-" {
        eprintln!(
            "wrote {} ({} functions, seed {})",
            args.output.display(),
            bundle.functions.len(),
            args.seed
        );
    }
    Ok(ExitCode::SUCCESS)
}
