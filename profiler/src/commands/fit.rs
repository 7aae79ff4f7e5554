//! `optiserve fit`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use optiserve_core::bundle::parse_json;
use optiserve_core::model::{Sample, fit_exponential};

use crate::cli::{FitArgs, Format};
use crate::input::read_text;

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsonSamples {
    List(Vec<Sample>),
    Map(BTreeMap<String, f64>),
}

/// Reads samples from CSV (`memory_mb,duration_ms` header) or JSON, by content.
pub fn read_samples(path: &Path) -> anyhow::Result<Vec<Sample>> {
    let text = read_text(path)?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let parsed = match parse_json::<JsonSamples>(&text) {
            Ok(p) => p,
            Err(_) if trimmed.starts_with('[') => JsonSamples::List(
                parse_json::<Vec<Sample>>(&text)
                    .with_context(|| format!("in samples {}", path.display()))?,
            ),
            Err(_) => JsonSamples::Map(
                parse_json::<BTreeMap<String, f64>>(&text)
                    .with_context(|| format!("in samples {}", path.display()))?,
            ),
        };
        return match parsed {
            JsonSamples::List(l) => Ok(l),
            JsonSamples::Map(m) => m
                .into_iter()
                .map(|(k, v)| {
                    let memory_mb: f64 = k.trim().parse().map_err(|_| {
                        anyhow::anyhow!(
                            "in samples {}: $.{k}: the key must be a memory size in MB",
                            path.display()
                        )
                    })?;
                    Ok(Sample {
                        memory_mb,
                        duration_ms: v,
                    })
                })
                .collect(),
        };
    }
    read_csv(&text).with_context(|| format!("in samples {}", path.display()))
}

fn read_csv(text: &str) -> anyhow::Result<Vec<Sample>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(m), Some(d)) = (col("memory_mb"), col("duration_ms")) else {
        bail!(
            "line 1: the header must name the columns memory_mb and duration_ms, found {:?}",
            headers.iter().collect::<Vec<_>>()
        );
    };
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize, name: &str| -> anyhow::Result<f64> {
            let raw = record.get(i).unwrap_or("");
            raw.parse::<f64>().map_err(|_| {
                anyhow::anyhow!("line {line}, column {name}: expected a number, found {raw:?}")
            })
        };
        out.push(Sample {
            memory_mb: field(m, "memory_mb")?,
            duration_ms: field(d, "duration_ms")?,
        });
    }
    Ok(out)
}

pub fn run(args: &FitArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let samples = read_samples(&args.samples)?;
    let report =
        fit_exponential(&samples).with_context(|| format!("fitting {}", args.samples.display()))?;
    match args.format {
        Format::Json => o.push_str(&super::to_json(&report)?),
        Format::Human => {
            let m = report.model;
            writeln!(
                o,
                "ET(m) = {:.4} + {:.4}·e^(−{:.6e}·m) ms  (m in MB)",
                m.alpha_ms, m.beta_ms, m.gamma_per_mb
            )?;
            writeln!(
                o,
                "MAPE {:.2}%, R² {:.4}, {} samples",
                report.mape_percent, report.r2, report.samples
            )?;
        }
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}
