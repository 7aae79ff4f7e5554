//! One module per subcommand; each parses its input, calls `optiserve-core`, and prints.

use std::process::ExitCode;

use crate::cli::{Cli, Command, ImportCommand, WorkflowCommand};

mod apply;
mod check;
mod evaluate;
mod fit;
mod harness;
mod import;
mod optimize;
mod pareto;
mod profile;
mod restore;
mod schema;
mod simulate;
mod validate;
mod whatif;
mod workflow;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate(a) => validate::run(&a),
        Command::Evaluate(a) => evaluate::run(&a),
        Command::Optimize(a) => optimize::run(&a),
        Command::WhatIf(a) => whatif::run(&a),
        Command::Pareto(a) => pareto::run(&a),
        Command::Harness(a) => harness::run(&a),
        Command::Simulate(a) => simulate::run(&a),
        Command::Fit(a) => fit::run(&a),
        Command::Import(ImportCommand::OptiserveSpec(a)) => import::run_spec(&a),
        Command::Schema(a) => schema::run(&a),
        Command::Workflow(WorkflowCommand::ImportAsl(a)) => workflow::run_import_asl(&a),
        Command::Workflow(WorkflowCommand::Measure(a)) => workflow::run_measure(&a),
        Command::Workflow(WorkflowCommand::Validate(a)) => workflow::run_validate(&a),
        Command::Profile(a) => profile::run(&a),
        Command::Apply(a) => apply::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Restore(a) => restore::run(&a),
    }
}

/// Pretty JSON with a trailing newline.
pub fn to_json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    Ok(s)
}
