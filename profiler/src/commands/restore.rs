//! `optiserve restore`: the original configurations from a profiling run's checkpoint, put back.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{Format, RestoreArgs};
use crate::cloud::aws::{AwsLambda, AwsOptions};
use crate::cloud::{Lambda, RetryPolicy, RetryStats};
use crate::profile::{Checkpoint, restore_all};

#[derive(Debug, Serialize)]
struct Report {
    checkpoint: String,
    run_id: String,
    /// Functions whose configuration was put back.
    restored: Vec<String>,
    /// Functions already in their original configuration.
    unchanged: Vec<String>,
}

pub fn run(args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let checkpoint = Checkpoint::load(&args.checkpoint)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let restored = runtime.block_on(async {
        let options = AwsOptions {
            region: args.cloud.region.clone(),
            profile: args.cloud.profile.clone(),
            endpoint_url: args.cloud.endpoint_url.clone(),
        };
        let cloud = AwsLambda::connect(&options).await;
        restore(&cloud, &checkpoint).await
    })?;
    let report = Report {
        checkpoint: args.checkpoint.display().to_string(),
        run_id: checkpoint.run_id.clone(),
        unchanged: checkpoint
            .originals
            .keys()
            .filter(|r| !restored.contains(r))
            .cloned()
            .collect(),
        restored,
    };
    let text = match args.format {
        Format::Json => super::to_json(&report)?,
        Format::Human => {
            let mut o = String::new();
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                }
            };
            writeln!(
                o,
                "restored the original configuration (memory and environment) of: {}",
                list(&report.restored)
            )?;
            writeln!(
                o,
                "already in their original configuration: {}",
                list(&report.unchanged)
            )?;
            o
        }
    };
    crate::output::emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Puts back every function the checkpoint holds the original of; the functions restored.
pub async fn restore<C: Lambda>(cloud: &C, checkpoint: &Checkpoint) -> anyhow::Result<Vec<String>> {
    let stats = RetryStats::default();
    restore_all(cloud, &checkpoint.originals, &RetryPolicy::aws(), &stats).await
}
