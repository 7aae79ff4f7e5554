//! `optiserve`: plan serverless applications from profile bundles.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cloud;
mod commands;
mod input;
mod output;
mod plan;
mod profile;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
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
