//! The `optiserve` command as a library: `main.rs` calls [`run`]; the fuzz targets in `fuzz/`
//! and the replay test in `tests/` call [`fuzzing`]. Everything else stays private to the crate.

use std::process::ExitCode;

use clap::Parser as _;

mod cli;
mod cloud;
mod commands;
pub mod fuzzing;
mod input;
mod output;
mod plan;
mod profile;

/// Parses the process's arguments, runs the command and returns its exit code.
pub fn run() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and succeed; a usage error exits 64 (EX_USAGE), apart from
        // every code a command's own outcome uses (0–4, 130).
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(input::EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(input::exit_code(&err))
        }
    }
}
