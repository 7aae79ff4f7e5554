//! `optiserve validate`.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::cli::{Format, ValidateArgs};
use crate::input::load_bundle;

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let (bundle, app) = load_bundle(&args.bundle)?;
    let report = app.report();
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
            let (mut assumed, mut measured) = (0, 0);
            for e in &bundle.workflow.edges {
                match e.basis {
                    Some(optiserve_core::workflow::ProbabilityBasis::Assumed) => assumed += 1,
                    Some(optiserve_core::workflow::ProbabilityBasis::Measured { .. }) => {
                        measured += 1;
                    }
                    None => {}
                }
            }
            if assumed + measured > 0 {
                writeln!(
                    o,
                    "  branch probabilities: {measured} measured, {assumed} assumed (not measured yet){}",
                    if assumed > 0 {
                        "; `optiserve workflow measure` measures them"
                    } else {
                        ""
                    }
                )?;
            }
            // Step Functions states that are timed: services and callbacks, measured or not.
            use optiserve_core::workflow::StateKind;
            for (kind, what) in [
                (
                    StateKind::Service,
                    "service states (Tasks calling other services)",
                ),
                (StateKind::Callback, "callback waits"),
            ] {
                let of_kind: Vec<_> = bundle
                    .workflow
                    .states
                    .iter()
                    .filter(|st| st.kind == kind)
                    .collect();
                let measured = of_kind.iter().filter(|st| st.measured.is_some()).count();
                if !of_kind.is_empty() {
                    writeln!(
                        o,
                        "  {what}: {} ({measured} measured{})",
                        of_kind.len(),
                        if measured < of_kind.len() {
                            "; the others take their given delay_ms until `optiserve workflow measure` reads them"
                        } else {
                            ""
                        }
                    )?;
                }
            }
            for site in &bundle.workflow.sites {
                writeln!(
                    o,
                    "  site {} invokes {} (one memory and variant for all its sites)",
                    site.id, site.function
                )?;
            }
        }
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}
