//! `optiserve pareto`.

use std::fmt::Write as _;
use std::process::ExitCode;

use optiserve_core::optimize::SearchSpace;
use optiserve_core::optimize::pareto::front;

use crate::cli::{DataFormat, ParetoArgs};
use crate::input::load_bundle;

pub fn run(args: &ParetoArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let (_, mut app) = load_bundle(&args.bundle)?;
    args.model.apply(&mut app);
    let (points, _) = front(&SearchSpace::full(&app).pruned(), args.node_limit)?;
    match args.format {
        DataFormat::Json => o.push_str(&super::to_json(&points)?),
        DataFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header = vec![
                "latency_ms".to_string(),
                "cost_usd_per_million".to_string(),
                "accuracy".to_string(),
            ];
            for f in &app.functions {
                header.push(format!("{}.memory_mb", f.id));
                header.push(format!("{}.variant", f.id));
            }
            w.write_record(&header)?;
            for p in &points {
                let mut r = vec![
                    p.latency_ms.to_string(),
                    p.cost_usd_per_million.to_string(),
                    p.accuracy.to_string(),
                ];
                for f in &app.functions {
                    let c = &p.config[&f.id];
                    r.push(c.memory_mb.to_string());
                    r.push(c.variant.clone().unwrap_or_default());
                }
                w.write_record(&r)?;
            }
            o.push_str(&String::from_utf8(w.into_inner()?)?);
        }
        DataFormat::Table => {
            writeln!(
                o,
                "{} points on the latency–cost–accuracy front (latency: {})",
                points.len(),
                app.latency_model.describe()
            )?;
            writeln!(
                o,
                "{:>12} {:>12} {:>9}  configuration",
                "latency ms", "cost $/M", "accuracy"
            )?;
            for p in &points {
                let config: Vec<String> = app
                    .functions
                    .iter()
                    .map(|f| format!("{}={}", f.id, p.config[&f.id]))
                    .collect();
                writeln!(
                    o,
                    "{:>12.2} {:>12.4} {:>9.4}  {}",
                    p.latency_ms,
                    p.cost_usd_per_million,
                    p.accuracy,
                    config.join(", ")
                )?;
            }
        }
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}
