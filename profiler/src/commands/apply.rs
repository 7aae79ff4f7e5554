//! `optiserve apply`: put a configuration in place on the deployed functions.
//!
//! For every function the configuration names: read its current memory and environment, work out
//! the variant in place (the variant whose `select.env` the environment carries), print the diff,
//! then (without `--dry-run`) update memory and environment, wait for `LastUpdateStatus =
//! Successful` and verify. If any update fails, the functions already changed are put back. With
//! `--alias`, a version of each named function is published and the alias moved to it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use optiserve_core::bundle::{Application, Bundle, ResolvedChoice};
use serde::Serialize;

use crate::cli::{ApplyArgs, Format};
use crate::cloud::aws::{AwsLambda, AwsOptions};
use crate::cloud::{FunctionConfig, Lambda, RetryPolicy, RetryStats, configure, retry};
use crate::input::{load_bundle, read_text};
use crate::profile::CloudFailure;

/// One function's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub function: String,
    pub resource: String,
    pub memory_mb: [u32; 2],
    /// Variant before (if recognised) and after.
    pub variant: [Option<String>; 2],
    pub changed: bool,
    /// Version published and the alias's previous version, with `--alias`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_was: Option<String>,
    #[serde(skip)]
    before: FunctionConfig,
    #[serde(skip)]
    env_after: BTreeMap<String, String>,
}

/// What apply did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub dry_run: bool,
    pub alias: Option<String>,
    pub changes: Vec<Change>,
}

pub fn run(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let (bundle, app) = load_bundle(&args.bundle)?;
    let text = read_text(&args.config)?;
    let choices = app
        .read_configuration(&text)
        .with_context(|| format!("in configuration {}", args.config.display()))?;
    let named = named_functions(&text);
    let plan = targets(&bundle, &app, &choices, &named)?;
    if let Some(a) = &args.alias
        && (a.is_empty() || a.chars().all(|c| c.is_ascii_digit()) || a == "$LATEST")
    {
        bail!("--alias: '{a}' cannot name an alias (not empty, not a number, not $LATEST)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let options = AwsOptions {
            region: args
                .cloud
                .region
                .clone()
                .or_else(|| bundle.provenance.region.clone()),
            profile: args.cloud.profile.clone(),
            endpoint_url: args.cloud.endpoint_url.clone(),
        };
        let cloud = AwsLambda::connect(&options).await;
        apply(
            &cloud,
            &plan,
            args.dry_run,
            args.alias.as_deref(),
            &RetryPolicy::aws(),
        )
        .await
    })?;
    let out = match args.format {
        Format::Json => super::to_json(&report)?,
        Format::Human => human(&report)?,
    };
    crate::output::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The function ids a configuration file names (in any of the forms `read_configuration` takes).
pub fn named_functions(text: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let map = v
        .get("config")
        .or_else(|| v.get("latency_ms").and(v.get("functions")))
        .unwrap_or(&v);
    map.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// What to put where: (function id, resource, memory, variant name, the variant's env, the env
/// keys any variant of the function selects by).
#[derive(Debug, Clone)]
pub struct Target {
    pub function: String,
    pub resource: String,
    pub memory_mb: u32,
    pub variant: String,
    pub env: BTreeMap<String, String>,
    pub selector_keys: BTreeSet<String>,
    /// Every variant's env, to recognise the one in place.
    pub variants: Vec<(String, BTreeMap<String, String>)>,
}

/// Resolves the named functions of a configuration into targets, refusing what apply cannot do.
pub fn targets(
    bundle: &Bundle,
    app: &Application,
    choices: &[ResolvedChoice],
    named: &BTreeSet<String>,
) -> anyhow::Result<Vec<Target>> {
    let mut out = Vec::new();
    for (i, (f, c)) in bundle.functions.iter().zip(choices).enumerate() {
        if !named.contains(&f.id) {
            continue;
        }
        let resource = f.resource.clone().ok_or_else(|| {
            anyhow!(
                "$.functions[{i}].resource: '{}' names no Lambda function, so it cannot be applied",
                f.id
            )
        })?;
        let variant = f
            .variants
            .get(c.variant)
            .ok_or_else(|| anyhow!("{}: variant {} out of range", f.id, c.variant))?;
        let select = variant.select.clone().unwrap_or_default();
        if f.variants.len() > 1 && select.env.is_empty() {
            bail!(
                "$.functions[{i}].variants[{}].select: variant '{}' of '{}' is not selected by an environment variable{}; apply cannot switch it",
                c.variant,
                variant.name,
                f.id,
                if select.payload.is_some() {
                    " (only by the payload)"
                } else {
                    ""
                }
            );
        }
        let selector_keys = f
            .variants
            .iter()
            .flat_map(|v| v.select.iter().flat_map(|s| s.env.keys().cloned()))
            .collect();
        out.push(Target {
            function: f.id.clone(),
            resource,
            memory_mb: c.memory_mb,
            variant: variant.name.clone(),
            env: select.env,
            selector_keys,
            variants: f
                .variants
                .iter()
                .map(|v| (v.name.clone(), v.select.clone().unwrap_or_default().env))
                .collect(),
        });
    }
    let _ = app;
    if out.is_empty() {
        bail!("the configuration names no function of the bundle");
    }
    Ok(out)
}

/// Diffs, applies (unless `dry_run`), verifies, and moves `alias`. On a failed update the
/// functions already changed are put back.
pub async fn apply<C: Lambda>(
    cloud: &C,
    targets: &[Target],
    dry_run: bool,
    alias: Option<&str>,
    policy: &RetryPolicy,
) -> anyhow::Result<ApplyReport> {
    let stats = RetryStats::default();
    let mut changes = Vec::new();
    for t in targets {
        let before = retry(policy, &stats, "GetFunctionConfiguration", || {
            cloud.get_configuration(&t.resource)
        })
        .await
        .map_err(CloudFailure)
        .with_context(|| format!("reading {} ({})", t.function, t.resource))?;
        let mut env_after = before.env.clone();
        for k in &t.selector_keys {
            if !t.env.contains_key(k) {
                env_after.remove(k);
            }
        }
        env_after.extend(t.env.clone());
        let variant_before = t
            .variants
            .iter()
            .find(|(_, env)| {
                !env.is_empty() && env.iter().all(|(k, v)| before.env.get(k) == Some(v))
            })
            .map(|(n, _)| n.clone())
            .or_else(|| (t.variants.len() == 1).then(|| t.variant.clone()));
        let changed = before.memory_mb != t.memory_mb || before.env != env_after;
        changes.push(Change {
            function: t.function.clone(),
            resource: t.resource.clone(),
            memory_mb: [before.memory_mb, t.memory_mb],
            variant: [variant_before, Some(t.variant.clone())],
            changed,
            version: None,
            alias_was: None,
            before,
            env_after,
        });
    }
    if dry_run {
        return Ok(ApplyReport {
            dry_run,
            alias: alias.map(str::to_string),
            changes,
        });
    }
    for k in 0..changes.len() {
        if !changes[k].changed {
            continue;
        }
        let c = &changes[k];
        if let Err(e) = configure(
            cloud,
            policy,
            &stats,
            &c.resource,
            c.memory_mb[1],
            &c.env_after,
        )
        .await
        {
            // Put back what was already changed (this one included: it may be half-applied).
            let mut rollback = Vec::new();
            for done in changes[..=k].iter().filter(|c| c.changed) {
                let b = &done.before;
                if let Err(re) =
                    configure(cloud, policy, &stats, &b.function, b.memory_mb, &b.env).await
                {
                    rollback.push(format!("{}: {re}", done.resource));
                }
            }
            let tail = if rollback.is_empty() {
                "the functions changed before it were put back".to_string()
            } else {
                format!(
                    "and putting back failed too, restore by hand: {}",
                    rollback.join("; ")
                )
            };
            return Err(anyhow::Error::new(CloudFailure(e))
                .context(format!("applying {} ({}); {tail}", c.function, c.resource)));
        }
    }
    if let Some(alias) = alias {
        for c in &mut changes {
            let description = format!(
                "optiserve apply: {} MB{}",
                c.memory_mb[1],
                c.variant[1]
                    .as_ref()
                    .map(|v| format!(", variant {v}"))
                    .unwrap_or_default()
            );
            let version = retry(policy, &stats, "PublishVersion", || {
                cloud.publish_version(&c.resource, &description)
            })
            .await
            .map_err(CloudFailure)?;
            let was = retry(policy, &stats, "alias", || {
                cloud.set_alias(&c.resource, alias, &version)
            })
            .await
            .map_err(CloudFailure)?;
            c.version = Some(version);
            c.alias_was = was;
        }
    }
    Ok(ApplyReport {
        dry_run,
        alias: alias.map(str::to_string),
        changes,
    })
}

fn human(r: &ApplyReport) -> anyhow::Result<String> {
    let mut o = String::new();
    let w = r
        .changes
        .iter()
        .map(|c| c.function.len())
        .max()
        .unwrap_or(8)
        .max(8);
    for c in &r.changes {
        let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "?".into());
        let what = if !c.changed {
            "unchanged".to_string()
        } else {
            let mut parts = Vec::new();
            if c.memory_mb[0] != c.memory_mb[1] {
                parts.push(format!("memory {} → {} MB", c.memory_mb[0], c.memory_mb[1]));
            }
            if c.variant[0] != c.variant[1] {
                parts.push(format!(
                    "variant {} → {}",
                    v(&c.variant[0]),
                    v(&c.variant[1])
                ));
            }
            if parts.is_empty() {
                parts.push("environment".into());
            }
            parts.join(", ")
        };
        write!(o, "{:<w$}  {}  {what}", c.function, c.resource)?;
        if let Some(ver) = &c.version {
            write!(
                o,
                "; version {ver}, alias {} → {ver}{}",
                r.alias.as_deref().unwrap_or(""),
                c.alias_was
                    .as_ref()
                    .map(|w| format!(" (was {w})"))
                    .unwrap_or_default()
            )?;
        }
        writeln!(o)?;
    }
    let n = r.changes.iter().filter(|c| c.changed).count();
    if r.dry_run {
        writeln!(
            o,
            "dry run: {n} function(s) would change; nothing was changed"
        )?;
    } else {
        writeln!(
            o,
            "{n} function(s) changed, each verified after its update finished"
        )?;
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cloud::sim::{SimCloud, SimEvent, SimFunction, SimSettings};

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cloud(settings: SimSettings) -> SimCloud {
        SimCloud::new(
            settings,
            vec![
                SimFunction {
                    name: "fn-a".into(),
                    memory_mb: 512,
                    env: env(&[("MODEL", "small"), ("KEEP", "1")]),
                    timeout_s: 30,
                    variants: vec![],
                    payload_scales: vec![],
                },
                SimFunction {
                    name: "fn-b".into(),
                    memory_mb: 256,
                    env: env(&[]),
                    timeout_s: 30,
                    variants: vec![],
                    payload_scales: vec![],
                },
            ],
        )
    }

    fn targets() -> Vec<Target> {
        vec![
            Target {
                function: "a".into(),
                resource: "fn-a".into(),
                memory_mb: 2048,
                variant: "large".into(),
                env: env(&[("MODEL", "large")]),
                selector_keys: ["MODEL".to_string()].into(),
                variants: vec![
                    ("small".into(), env(&[("MODEL", "small")])),
                    ("large".into(), env(&[("MODEL", "large")])),
                ],
            },
            Target {
                function: "b".into(),
                resource: "fn-b".into(),
                memory_mb: 256,
                variant: "default".into(),
                env: env(&[]),
                selector_keys: BTreeSet::new(),
                variants: vec![("default".into(), env(&[]))],
            },
        ]
    }

    #[tokio::test]
    async fn diff_then_apply_verify_and_move_an_alias() {
        let sim = cloud(SimSettings::default());
        let dry = apply(&sim, &targets(), true, None, &RetryPolicy::instant())
            .await
            .unwrap();
        assert_eq!(dry.changes[0].memory_mb, [512, 2048]);
        assert_eq!(
            dry.changes[0].variant,
            [Some("small".into()), Some("large".into())]
        );
        assert!(dry.changes[0].changed && !dry.changes[1].changed);
        assert!(sim.events().is_empty(), "a dry run changes nothing");
        let done = apply(
            &sim,
            &targets(),
            false,
            Some("live"),
            &RetryPolicy::instant(),
        )
        .await
        .unwrap();
        let a = sim.config("fn-a").unwrap();
        assert_eq!(
            (a.memory_mb, a.env.clone()),
            (2048, env(&[("MODEL", "large"), ("KEEP", "1")]))
        );
        assert_eq!(sim.config("fn-b").unwrap().memory_mb, 256);
        assert_eq!(done.changes[0].version.as_deref(), Some("1"));
        assert_eq!(sim.alias_config("fn-a", "live").unwrap().memory_mb, 2048);
        let updates = sim
            .events()
            .iter()
            .filter(|e| matches!(e, SimEvent::Update { .. }))
            .count();
        assert_eq!(updates, 1, "the unchanged function is not touched");
    }

    #[tokio::test]
    async fn a_failed_update_puts_back_what_was_changed() {
        let sim = cloud(SimSettings::default());
        let mut t = targets();
        t[1].memory_mb = 20_000; // refused by Lambda
        let e = apply(&sim, &t, false, None, &RetryPolicy::instant())
            .await
            .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("applying b (fn-b)") && msg.contains("put back"),
            "{msg}"
        );
        assert_eq!(sim.config("fn-a").unwrap().memory_mb, 512);
        assert_eq!(
            sim.config("fn-a").unwrap().env,
            env(&[("MODEL", "small"), ("KEEP", "1")])
        );
    }

    #[tokio::test]
    async fn throttling_is_retried() {
        let sim = cloud(SimSettings {
            throttle_rate: 0.4,
            ..SimSettings::default()
        });
        apply(&sim, &targets(), false, None, &RetryPolicy::instant())
            .await
            .unwrap();
        assert_eq!(sim.config("fn-a").unwrap().memory_mb, 2048);
        assert!(
            sim.events()
                .iter()
                .any(|e| matches!(e, SimEvent::Throttled))
        );
    }

    #[test]
    fn named_functions_in_every_configuration_form() {
        assert_eq!(
            named_functions(r#"{"a": {"memory_mb": 128}}"#),
            ["a".to_string()].into()
        );
        assert_eq!(
            named_functions(r#"{"status": "optimal", "config": {"b": {"memory_mb": 128}}}"#),
            ["b".to_string()].into()
        );
        assert_eq!(
            named_functions(r#"{"latency_ms": 1, "functions": {"c": {}}}"#),
            ["c".to_string()].into()
        );
    }
}
