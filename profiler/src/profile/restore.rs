//! Putting functions back in their original configuration.

use std::collections::BTreeMap;

use anyhow::bail;

use crate::cloud::{CloudError, FunctionConfig, Lambda, RetryPolicy, RetryStats, configure, retry};

/// Puts one function back if it differs; true when it had to.
pub(super) async fn restore_one<C: Lambda>(
    cloud: &C,
    original: &FunctionConfig,
    policy: &RetryPolicy,
    stats: &RetryStats,
) -> Result<bool, CloudError> {
    let now = retry(policy, stats, "GetFunctionConfiguration", || {
        cloud.get_configuration(&original.function)
    })
    .await?;
    if now.same_settings(original) {
        return Ok(false);
    }
    configure(
        cloud,
        policy,
        stats,
        &original.function,
        original.memory_mb,
        &original.env,
    )
    .await?;
    Ok(true)
}

/// Checks every function and restores those that differ from their original configuration.
/// Tries every function even when one fails; the error names each failure and its original
/// configuration.
pub async fn restore_all<C: Lambda>(
    cloud: &C,
    originals: &BTreeMap<String, FunctionConfig>,
    policy: &RetryPolicy,
    stats: &RetryStats,
) -> anyhow::Result<Vec<String>> {
    let mut restored = Vec::new();
    let mut failures = Vec::new();
    for (resource, original) in originals {
        match restore_one(cloud, original, policy, stats).await {
            Ok(true) => restored.push(resource.clone()),
            Ok(false) => {}
            // The environment's names only: its values may be secrets, and this goes to logs.
            Err(e) => failures.push(format!(
                "{resource}: {e} (its original configuration: {} MB, environment variables {}; every value is in the checkpoint)",
                original.memory_mb,
                if original.env.is_empty() {
                    "none".to_string()
                } else {
                    original.env.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            )),
        }
    }
    if !failures.is_empty() {
        bail!(
            "could not restore the original configuration of {} function(s); restore them by hand: {}",
            failures.len(),
            failures.join("; ")
        );
    }
    Ok(restored)
}
