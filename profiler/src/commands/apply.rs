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
use crate::cloud::aws::{AwsLambda, AwsOptions, AwsStepFunctions};
use crate::cloud::{
    Definitions, FunctionConfig, Lambda, RetryPolicy, RetryStats, configure, retry,
    update_definition_and_wait,
};
use crate::input::{load_bundle, read_text};
use crate::profile::CloudFailure;
use optiserve_core::payload_site::{carries, same_definition, task_payload, with_payload_fields};

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
    /// The state machine whose Task states pass the variant's payload fields, when the variant is
    /// selected by them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine: Option<String>,
    #[serde(skip)]
    before: FunctionConfig,
    #[serde(skip)]
    env_after: BTreeMap<String, String>,
    /// The Lambda configuration (memory, environment) changes.
    #[serde(skip)]
    lambda_changed: bool,
}

/// One state machine's change: the Task states' payload fields of the functions it serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MachineChange {
    pub arn: String,
    pub functions: Vec<String>,
    pub changed: bool,
    #[serde(skip)]
    before: String,
    #[serde(skip)]
    after: String,
}

/// What apply did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub dry_run: bool,
    pub alias: Option<String>,
    pub changes: Vec<Change>,
    /// State machines whose Parameters carry a variant's payload fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub state_machines: Vec<MachineChange>,
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
        let sfn = AwsStepFunctions::connect(&options).await;
        apply(
            &cloud,
            &sfn,
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
    /// For a variant selected by payload fields: where a state machine passes them.
    pub site: Option<PayloadTarget>,
}

/// The payload fields to put in a state machine's Task states.
#[derive(Debug, Clone)]
pub struct PayloadTarget {
    pub arn: String,
    pub states: Vec<String>,
    /// The chosen variant's fields.
    pub set: serde_json::Map<String, serde_json::Value>,
    /// The payload keys any variant of the function selects by.
    pub keys: Vec<String>,
    /// Every variant's payload fields, to recognise the one in place.
    pub variants: Vec<(String, serde_json::Map<String, serde_json::Value>)>,
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
        let site = match (&select.payload, &f.state_machine) {
            (Some(fields), Some(sm)) => {
                let payloads: Vec<(String, serde_json::Map<String, serde_json::Value>)> = f
                    .variants
                    .iter()
                    .filter_map(|v| {
                        let p = v.select.as_ref()?.payload.clone()?;
                        Some((v.name.clone(), p))
                    })
                    .collect();
                let keys: BTreeSet<String> = payloads
                    .iter()
                    .flat_map(|(_, p)| p.keys().cloned())
                    .collect();
                Some(PayloadTarget {
                    arn: sm.arn.clone(),
                    states: sm.states.clone(),
                    set: fields.clone(),
                    keys: keys.into_iter().collect(),
                    variants: payloads,
                })
            }
            _ => None,
        };
        if f.variants.len() > 1 && select.env.is_empty() && site.is_none() {
            bail!(
                "$.functions[{i}].variants[{}].select: variant '{}' of '{}' is not selected by an environment variable{}; apply cannot switch it",
                c.variant,
                variant.name,
                f.id,
                if select.payload.is_some() {
                    " (only by the payload, and the function names no state_machine that passes it)"
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
            site,
        });
    }
    let _ = app;
    if out.is_empty() {
        bail!("the configuration names no function of the bundle");
    }
    Ok(out)
}

/// Diffs, applies (unless `dry_run`), verifies, and moves `alias`. Functions are updated first,
/// then the state machines that pass payload-selected variants (UpdateStateMachine, polled until
/// DescribeStateMachine returns the new definition). On a failed update every function and state
/// machine already changed is put back.
pub async fn apply<C: Lambda, D: Definitions>(
    cloud: &C,
    defs: &D,
    targets: &[Target],
    dry_run: bool,
    alias: Option<&str>,
    policy: &RetryPolicy,
) -> anyhow::Result<ApplyReport> {
    let stats = RetryStats::default();
    // The state machines, read once, with every function's payload fields applied in turn.
    let mut machines: Vec<MachineChange> = Vec::new();
    for site in targets.iter().filter_map(|t| t.site.as_ref()) {
        if machines.iter().any(|m| m.arn == site.arn) {
            continue;
        }
        let d = retry(policy, &stats, "DescribeStateMachine", || {
            defs.definition(&site.arn)
        })
        .await
        .map_err(CloudFailure)
        .with_context(|| format!("reading the state machine {}", site.arn))?;
        machines.push(MachineChange {
            arn: site.arn.clone(),
            functions: Vec::new(),
            changed: false,
            before: d.clone(),
            after: d,
        });
    }
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
        let lambda_changed = before.memory_mb != t.memory_mb || before.env != env_after;
        let (mut variant_before, mut site_changed) = (variant_before, false);
        if let Some(site) = &t.site
            && let Some(m) = machines.iter_mut().find(|m| m.arn == site.arn)
        {
            let passed = site
                .states
                .iter()
                .map(|st| task_payload(&m.before, st))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("{}: state machine {}", t.function, site.arn))?;
            variant_before = site
                .variants
                .iter()
                .find(|(_, p)| passed.iter().all(|x| carries(x, p)))
                .map(|(n, _)| n.clone());
            let (after, changed) =
                with_payload_fields(&m.after, &site.states, &site.set, &site.keys)
                    .with_context(|| format!("{}: state machine {}", t.function, site.arn))?;
            m.after = after;
            m.changed |= changed;
            site_changed = changed;
            m.functions.push(t.function.clone());
        }
        changes.push(Change {
            function: t.function.clone(),
            resource: t.resource.clone(),
            memory_mb: [before.memory_mb, t.memory_mb],
            variant: [variant_before, Some(t.variant.clone())],
            changed: lambda_changed || site_changed,
            version: None,
            alias_was: None,
            state_machine: t.site.as_ref().map(|s| s.arn.clone()),
            before,
            env_after,
            lambda_changed,
        });
    }
    if dry_run {
        return Ok(ApplyReport {
            dry_run,
            alias: alias.map(str::to_string),
            changes,
            state_machines: machines,
        });
    }
    for k in 0..changes.len() {
        if !changes[k].lambda_changed {
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
            for done in changes[..=k].iter().filter(|c| c.lambda_changed) {
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
    for k in 0..machines.len() {
        if !machines[k].changed {
            continue;
        }
        let m = &machines[k];
        if let Err(e) = update_definition_and_wait(defs, policy, &stats, &m.arn, &m.after).await {
            // Put back the state machines already changed (this one too) and every function.
            let mut rollback = Vec::new();
            for done in machines[..=k].iter().filter(|m| m.changed) {
                // A refused update may have left the definition as it was: put back only what
                // differs.
                let now = retry(policy, &stats, "DescribeStateMachine", || {
                    defs.definition(&done.arn)
                })
                .await;
                if let Ok(now) = &now
                    && same_definition(now, &done.before)
                {
                    continue;
                }
                if let Err(re) =
                    update_definition_and_wait(defs, policy, &stats, &done.arn, &done.before).await
                {
                    rollback.push(format!("{}: {re}", done.arn));
                }
            }
            for done in changes.iter().filter(|c| c.lambda_changed) {
                let b = &done.before;
                if let Err(re) =
                    configure(cloud, policy, &stats, &b.function, b.memory_mb, &b.env).await
                {
                    rollback.push(format!("{}: {re}", done.resource));
                }
            }
            let tail = if rollback.is_empty() {
                "every function and state machine changed before it was put back".to_string()
            } else {
                format!(
                    "and putting back failed too, restore by hand: {}",
                    rollback.join("; ")
                )
            };
            return Err(anyhow::Error::new(CloudFailure(e))
                .context(format!("updating the state machine {}; {tail}", m.arn)));
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
        state_machines: machines,
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
        if let Some(arn) = &c.state_machine {
            write!(o, " (variant passed by {arn})")?;
        }
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
    for m in r.state_machines.iter().filter(|m| m.changed) {
        writeln!(
            o,
            "state machine {}: payload fields of {} {}",
            m.arn,
            m.functions.join(", "),
            if r.dry_run {
                "would change"
            } else {
                "changed, verified"
            }
        )?;
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
    use crate::cloud::sim::{SimCloud, SimEvent, SimFunction, SimSettings, SimStateMachines};

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
                site: None,
            },
            Target {
                function: "b".into(),
                resource: "fn-b".into(),
                memory_mb: 256,
                variant: "default".into(),
                env: env(&[]),
                selector_keys: BTreeSet::new(),
                variants: vec![("default".into(), env(&[]))],
                site: None,
            },
        ]
    }

    #[tokio::test]
    async fn diff_then_apply_verify_and_move_an_alias() {
        let sim = cloud(SimSettings::default());
        let dry = apply(
            &sim,
            &SimStateMachines::default(),
            &targets(),
            true,
            None,
            &RetryPolicy::instant(),
        )
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
            &SimStateMachines::default(),
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
        let e = apply(
            &sim,
            &SimStateMachines::default(),
            &t,
            false,
            None,
            &RetryPolicy::instant(),
        )
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
        apply(
            &sim,
            &SimStateMachines::default(),
            &targets(),
            false,
            None,
            &RetryPolicy::instant(),
        )
        .await
        .unwrap();
        assert_eq!(sim.config("fn-a").unwrap().memory_mb, 2048);
        assert!(
            sim.events()
                .iter()
                .any(|e| matches!(e, SimEvent::Throttled))
        );
    }

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:app";

    fn definition(model: &str) -> String {
        serde_json::json!({
            "StartAt": "Detect",
            "States": {"Detect": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "fn-b",
                               "Payload": {"model": model, "image.$": "$.key"}},
                "End": true}}
        })
        .to_string()
    }

    fn payload_target(model: &str) -> Target {
        let fields = |m: &str| {
            serde_json::json!({ "model": m })
                .as_object()
                .unwrap()
                .clone()
        };
        Target {
            function: "b".into(),
            resource: "fn-b".into(),
            memory_mb: 512,
            variant: format!("yolo-{model}"),
            env: env(&[]),
            selector_keys: BTreeSet::new(),
            variants: vec![("yolo-n".into(), env(&[])), ("yolo-s".into(), env(&[]))],
            site: Some(PayloadTarget {
                arn: ARN.into(),
                states: vec!["Detect".into()],
                set: fields(model),
                keys: vec!["model".into()],
                variants: vec![
                    ("yolo-n".into(), fields("n")),
                    ("yolo-s".into(), fields("s")),
                ],
            }),
        }
    }

    #[tokio::test]
    async fn a_payload_selected_variant_is_switched_in_the_state_machine() {
        let sim = cloud(SimSettings::default());
        let sfn = SimStateMachines::new([(ARN.to_string(), definition("n"))]);
        let t = vec![targets().remove(0), payload_target("s")];
        let dry = apply(&sim, &sfn, &t, true, None, &RetryPolicy::instant())
            .await
            .unwrap();
        assert_eq!(
            dry.changes[1].variant,
            [Some("yolo-n".into()), Some("yolo-s".into())]
        );
        assert!(dry.changes[1].changed && dry.state_machines[0].changed);
        assert!(human(&dry).unwrap().contains("would change"));
        assert!(sfn.updates().is_empty(), "a dry run changes nothing");
        apply(&sim, &sfn, &t, false, None, &RetryPolicy::instant())
            .await
            .unwrap();
        assert_eq!(sfn.updates(), [ARN]);
        let now = sfn.get(ARN).unwrap();
        let p = task_payload(&now, "Detect").unwrap();
        assert_eq!(p.get("model"), Some(&serde_json::json!("s")));
        assert_eq!(p.get("image.$"), Some(&serde_json::json!("$.key")));
        // fn-b's memory (256 → 512) changed too; applied again, nothing changes.
        assert_eq!(sim.config("fn-b").unwrap().memory_mb, 512);
        let again = apply(&sim, &sfn, &t, false, None, &RetryPolicy::instant())
            .await
            .unwrap();
        assert!(again.changes.iter().all(|c| !c.changed));
        assert_eq!(sfn.updates().len(), 1);
    }

    #[tokio::test]
    async fn a_refused_state_machine_update_puts_everything_back() {
        let sim = cloud(SimSettings::default());
        let mut sfn = SimStateMachines::new([(ARN.to_string(), definition("n"))]);
        sfn.fail_update_of = Some(ARN.into());
        let t = vec![targets().remove(0), payload_target("s")];
        let e = apply(&sim, &sfn, &t, false, None, &RetryPolicy::instant())
            .await
            .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("updating the state machine") && msg.contains("put back"),
            "{msg}"
        );
        let a = sim.config("fn-a").unwrap();
        assert_eq!(
            (a.memory_mb, a.env),
            (512, env(&[("MODEL", "small"), ("KEEP", "1")]))
        );
        assert_eq!(sim.config("fn-b").unwrap().memory_mb, 256);
        assert!(same_definition(&sfn.get(ARN).unwrap(), &definition("n")));
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
