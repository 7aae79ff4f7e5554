//! `optiserve fit`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use optiserve_core::bundle::parse_json;
use optiserve_core::limits::{self, Range};
use optiserve_core::model::{DurationModel, ModelSelection, Sample, SelectedBy, select_model};

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
        let field = |i: usize, name: &str, range: &Range| -> anyhow::Result<f64> {
            let raw = record.get(i).unwrap_or("");
            let v = raw.parse::<f64>().map_err(|_| {
                anyhow::anyhow!("line {line}, column {name}: expected a number, found {raw:?}")
            })?;
            range
                .check(v)
                .map_err(|e| anyhow::anyhow!("line {line}, column {name}: {e}"))?;
            Ok(v)
        };
        out.push(Sample {
            memory_mb: field(m, "memory_mb", &limits::MEMORY_MB)?,
            duration_ms: field(d, "duration_ms", &limits::FUNCTION_DURATION_MS)?,
        });
    }
    Ok(out)
}

pub fn run(args: &FitArgs) -> anyhow::Result<ExitCode> {
    let mut o = String::new();
    let samples = read_samples(&args.samples)?;
    let selection = select_model(&samples, args.model)
        .with_context(|| format!("fitting {}", args.samples.display()))?;
    match args.format {
        Format::Json => o.push_str(&super::to_json(&selection)?),
        Format::Human => human(&mut o, &selection)?,
    }
    crate::output::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

/// The comparison table, why the family was chosen, its formula and its fit.
fn human(o: &mut String, s: &ModelSelection) -> anyhow::Result<()> {
    let rows: Vec<[String; 4]> = s
        .candidates
        .iter()
        .map(|c| {
            [
                c.family.name().to_string(),
                parameters(&c.model),
                c.cv_error_percent
                    .map_or_else(|| "—".to_string(), |e| format!("{e:.2}%")),
                format!("{:.2}%", c.mape_percent),
            ]
        })
        .collect();
    let header = ["family", "parameters", "CV error", "MAPE"];
    let width = |k: usize| {
        rows.iter()
            .map(|r| r[k].chars().count())
            .chain([header[k].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2, w3) = (width(0), width(1), width(2), width(3));
    writeln!(
        o,
        "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}",
        header[0], header[1], header[2], header[3]
    )?;
    for (r, c) in rows.iter().zip(&s.candidates) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}{}",
            r[0],
            r[1],
            r[2],
            r[3],
            if c.chosen { "  ← chosen" } else { "" }
        );
        writeln!(o, "{}", line.trim_end())?;
    }
    let why = match s.selected_by {
        SelectedBy::CrossValidation => "the lowest leave-one-memory-out error",
        SelectedBy::Forced => "forced by --model",
        SelectedBy::TooFewMemories => "the thesis' model: CV needs 4 distinct memories",
    };
    writeln!(
        o,
        "chosen: {} ({why}); {} samples at {} memories",
        s.family.name(),
        s.samples,
        s.memories
    )?;
    writeln!(o, "{}", formula(&s.model))?;
    match s.r2 {
        Some(r2) => writeln!(
            o,
            "MAPE {:.2}%, R² {r2:.4}, {} samples",
            s.mape_percent, s.samples
        )?,
        None => writeln!(
            o,
            "MAPE {:.2}%, R² — ({} samples for {} parameters: the model passes through every point; repeat samples or profile more memory sizes to measure the fit), {} samples",
            s.mape_percent,
            s.samples,
            s.model.parameters(),
            s.samples
        )?,
    }
    Ok(())
}

/// A family's parameters, short.
fn parameters(model: &DurationModel) -> String {
    match model {
        DurationModel::Exponential(m) => format!(
            "α {:.1} ms, β {:.1} ms, γ {:.4e}/MB",
            m.alpha_ms, m.beta_ms, m.gamma_per_mb
        ),
        DurationModel::CpuShare(m) if m.parallel_fraction > 0.0 => format!(
            "serial {:.1} ms, cpu {:.1} ms, knee {} MB, multi-thread {:.3}",
            m.serial_ms, m.cpu_ms, m.knee_mb, m.parallel_fraction
        ),
        DurationModel::CpuShare(m) => format!(
            "serial {:.1} ms, cpu {:.1} ms, knee {} MB",
            m.serial_ms, m.cpu_ms, m.knee_mb
        ),
        DurationModel::Table(t) => format!("{} points", t.points().len()),
    }
}

/// `ET(m) = …` for the chosen model.
fn formula(model: &DurationModel) -> String {
    match model {
        DurationModel::Exponential(m) => format!(
            "ET(m) = {:.4} + {:.4}·e^(−{:.6e}·m) ms  (m in MB)",
            m.alpha_ms, m.beta_ms, m.gamma_per_mb
        ),
        DurationModel::CpuShare(m) if m.parallel_fraction > 0.0 => format!(
            "ET(m) = {:.4} + {:.4}·1769·({:.4}/min(m, {}) + {:.4}/m) ms  (m in MB)",
            m.serial_ms,
            m.cpu_ms,
            1.0 - m.parallel_fraction,
            m.knee_mb,
            m.parallel_fraction
        ),
        DurationModel::CpuShare(m) => format!(
            "ET(m) = {:.4} + {:.4}·1769/min(m, {}) ms  (m in MB)",
            m.serial_ms, m.cpu_ms, m.knee_mb
        ),
        DurationModel::Table(t) => {
            let points = t.points();
            let (lo, hi) = (points.first(), points.last());
            format!(
                "ET(m) = linear between {} points from {} to {} MB, flat outside{}",
                points.len(),
                lo.map_or(0.0, |p| p.memory_mb),
                hi.map_or(0.0, |p| p.memory_mb),
                if t.rises() {
                    " (through its non-increasing envelope)"
                } else {
                    ""
                }
            )
        }
    }
}
