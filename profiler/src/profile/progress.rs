//! Progress on standard error: a bar for people, JSON lines for machines.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use optiserve_core::sampling::{Batch, Request};

use crate::plan::Target;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// An indicatif bar on standard error (when it is a terminal).
    Human,
    /// One JSON object per batch on standard error.
    Json,
    /// Nothing.
    Quiet,
}

/// Shows progress.
#[derive(Debug)]
pub struct Reporter {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// A reporter expecting about `estimate` invocations.
    pub fn new(mode: ProgressMode, estimate: u64) -> Self {
        let bar = (mode == ProgressMode::Human).then(|| {
            let bar = ProgressBar::with_draw_target(Some(estimate), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} calls, ETA {eta} · {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Reporter { mode, bar }
    }

    pub(super) fn batch(
        &self,
        t: &Target,
        r: &Request,
        batch: &Batch,
        invocations: u64,
        cost: f64,
        retries: (u64, u64),
    ) {
        match self.mode {
            ProgressMode::Human => {
                if let Some(bar) = &self.bar {
                    if bar.length().is_some_and(|l| invocations >= l) {
                        bar.set_length(invocations + 8);
                    }
                    bar.set_position(invocations);
                    bar.set_message(format!(
                        "{}/{} at {} MB · ${cost:.4} spent · {} throttled",
                        t.function_id, t.variant_name, r.memory_mb, retries.0
                    ));
                }
            }
            ProgressMode::Json => {
                let ok = batch
                    .invocations
                    .iter()
                    .filter(|i| i.status == optiserve_core::sampling::Status::Ok)
                    .count();
                let line = serde_json::json!({
                    "event": "batch", "function": t.function_id, "variant": t.variant_name,
                    "memory_mb": r.memory_mb, "count": r.count, "ok": ok, "warmup": r.warmup,
                    "invocations": invocations, "cost_usd": cost,
                    "throttled": retries.0, "transient_retries": retries.1,
                });
                eprintln!("{line}");
            }
            ProgressMode::Quiet => {}
        }
    }

    pub(super) fn note(&self, message: &str) {
        match self.mode {
            ProgressMode::Human => match &self.bar {
                Some(bar) if !bar.is_hidden() => bar.println(message),
                _ => eprintln!("{message}"),
            },
            ProgressMode::Json => {
                eprintln!(
                    "{}",
                    serde_json::json!({"event": "note", "message": message})
                );
            }
            ProgressMode::Quiet => {}
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
