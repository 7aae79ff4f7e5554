//! The checkpoint file: the originals and every measured batch, rewritten atomically after each.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use optiserve_core::sampling::{Batch, Request, StopReason};
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
}

/// The checkpoint file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version (1).
    pub version: u32,
    /// Digest of the plan text it belongs to.
    pub plan_digest: String,
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
        Ok(c)
    }

    /// Writes atomically: a temporary file beside it, then a rename.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string(self)?;
        crate::input::write_text(&tmp, &text)?;
        std::fs::rename(&tmp, path)
            .map_err(|e| anyhow::Error::new(crate::input::FileError::new(path, "write", e)))
    }
}
