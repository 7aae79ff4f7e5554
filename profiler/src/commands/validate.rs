//! `optiserve validate`.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{Format, ValidateArgs};
use crate::input::load_bundle;

#[derive(Serialize)]
struct Report {
    valid: bool,
    functions: usize,
    configurations: f64,
    structure: String,
    invocations: std::collections::BTreeMap<String, f64>,
    accuracy_range: [f64; 2],
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let (bundle, app) = load_bundle(&args.bundle)?;
    let configurations: f64 = app
        .functions
        .iter()
        .map(|f| (f.memory_mb.len() * f.variants.len()) as f64)
        .product();
    let report = Report {
        valid: true,
        functions: app.functions.len(),
        configurations,
        structure: app.workflow.display_structure().to_string(),
        invocations: app
            .functions
            .iter()
            .zip(app.workflow.invocations())
            .map(|(f, &ni)| (f.id.clone(), ni))
            .collect(),
        accuracy_range: [app.score_range.0, app.score_range.1],
    };
    match args.format {
        Format::Json => o.push_str(&super::to_json(&report)?),
        Format::Human => {
            let name = bundle.name.as_deref().unwrap_or("(unnamed)");
            writeln!(
                o,
                "{}: valid optiserve.bundle/v1 ({name})",
                args.bundle.display()
            )?;
            writeln!(
                o,
                "  {} functions, {} configurations",
                report.functions, report.configurations
            )?;
            writeln!(o, "  structure: {}", report.structure)?;
            let ni: Vec<String> = app
                .functions
                .iter()
                .zip(app.workflow.invocations())
                .map(|(f, ni)| format!("{}={ni:.4}", f.id))
                .collect();
            writeln!(o, "  invocations per execution: {}", ni.join(", "))?;
            writeln!(
                o,
                "  accuracy score range: {:.4} – {:.4}",
                app.score_range.0, app.score_range.1
            )?;
        }
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}
