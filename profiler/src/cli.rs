//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Plan AWS Lambda memory sizes and ML model variants for a Step Functions workflow, from a JSON
/// profile bundle: predicted end-to-end latency (EET), cost per million executions and accuracy
/// score (EAS), as the OptiServe thesis defines them.
///
/// Exit codes: 0 success; 1 invalid input (the message names the JSON path or line);
/// 2 no configuration meets the constraints; 3 a file could not be read or written.
#[derive(Debug, Parser)]
#[command(name = "optiserve", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a profile bundle and show its reduced workflow structure.
    Validate(ValidateArgs),
    /// Predict latency, cost and accuracy of a configuration (the deployed one by default).
    Evaluate(EvaluateArgs),
    /// Fit ET(m) = α + β·e^(−γ·m) to profiled samples (CSV `memory_mb,duration_ms` or JSON).
    Fit(FitArgs),
    /// Convert another tool's format into a profile bundle.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Print the JSON Schema of the profile bundle.
    Schema(SchemaArgs),
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for people.
    #[default]
    Human,
    /// JSON for machines.
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The profile bundle (JSON).
    pub bundle: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The profile bundle (JSON).
    pub bundle: PathBuf,
    /// A configuration: `{"<function id>": {"memory_mb": 1024, "variant": "resnet-50"}}`.
    /// Functions left out keep their deployed choice; `variant` may be left out too. The `config`
    /// object printed by `optiserve optimize` (or a whole `evaluate --format json` output) is accepted.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Samples: CSV with the header `memory_mb,duration_ms` (one row per invocation), or JSON:
    /// `[{"memory_mb": 128, "duration_ms": 2898.2}, ...]` or `{"128": 2898.2, ...}`.
    pub samples: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// The thesis artifact's workflow spec (the format of its examples/workflow_app3.json).
    OptiserveSpec(ImportSpecArgs),
}

#[derive(Debug, Args)]
pub struct ImportSpecArgs {
    /// The spec (JSON).
    pub spec: PathBuf,
    /// Where to write the bundle (`-` for standard output).
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write to a file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}
