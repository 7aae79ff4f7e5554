//! The checkpoint file: the originals and every measured batch, rewritten atomically after each.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use optiserve_core::sampling::{Batch, Invocation, Request, StopReason};
use serde::{Deserialize, Serialize};

use crate::cloud::FunctionConfig;

/// One measured batch, as recorded in the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub function: String,
    pub variant: String,
    pub request: Request,
    pub batch: Batch,
    /// The budget ran out during this batch: it holds fewer invocations than requested, and the
    /// search stopped here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<StopReason>,
    /// For a target with several payloads: every round's invocations, one per payload in plan
    /// order (`batch.invocations` holds their weighted mixes, what the sampler saw).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<Vec<Invocation>>,
}

/// The checkpoint file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version (1).
    pub version: u32,
    /// Digest of the plan text it belongs to.
    pub plan_digest: String,
    /// The run's id: the value of [`super::MARKER_VAR`] on the functions it changes.
    #[serde(default)]
    pub run_id: String,
    /// The original configuration of every function, by resource.
    pub originals: BTreeMap<String, FunctionConfig>,
    /// Every measured batch, in order.
    pub batches: Vec<BatchRecord>,
}

impl Checkpoint {
    /// Reads a checkpoint file.
    pub fn load(path: &Path) -> anyhow::Result<Checkpoint> {
        let text = crate::input::read_text(path)?;
        let c: Checkpoint = serde_json::from_str(&text)
            .with_context(|| format!("checkpoint {} is not a valid checkpoint", path.display()))?;
        if c.version != 1 {
            bail!(
                "checkpoint {}: version {} (this build reads 1)",
                path.display(),
                c.version
            );
        }
        if c.originals.is_empty() {
            bail!(
                "checkpoint {}: it records no original configuration (originals is empty), so it cannot be resumed or restored from",
                path.display()
            );
        }
        Ok(c)
    }

    /// Writes atomically: a temporary file beside it, then a rename. The file is readable by its
    /// owner only (0600): it holds the functions' environments.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string(self)?;
        let fail = |p: &Path, e| anyhow::Error::new(crate::input::FileError::new(p, "write", e));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(|e| fail(&tmp, e))?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| fail(&tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| fail(path, e))
    }
}
