//! The profile bundle a run gives.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use optiserve_core::bundle::{
    Bundle, Choice, ColdStart, FitSummary, MemoryOptions, PayloadProfile, ProfileSample, Provenance,
};
use optiserve_core::model::{DurationModel, ExpModel};
use optiserve_core::payload_site::{carries, task_payload};
use optiserve_core::payloads::{mean_billed_ms, mix};
use optiserve_core::sampling::SamplingResult;
use optiserve_core::sampling::{Invocation, Status};

use super::RunOutput;
use crate::plan::LoadedPlan;

/// RFC 3339 UTC timestamp of now (seconds).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The bundle from a run (no state machine definitions; see [`build_bundle_with`]): fitted models, samples, fits, the memory floor, the deployed
/// configuration as found before profiling.
#[cfg(test)]
pub fn build_bundle(
    plan: &LoadedPlan,
    out: &RunOutput,
    source: String,
    region: Option<String>,
) -> anyhow::Result<Bundle> {
    build_bundle_with(plan, out, source, region, &BTreeMap::new())
}

/// [`build_bundle`], with the definitions of the state machines that pass payloads (ARN →
/// definition, read before the run): a function whose variant is selected by payload fields is
/// recorded in `deployed` with the variant its state machine's Task states pass.
pub fn build_bundle_with(
    plan: &LoadedPlan,
    out: &RunOutput,
    source: String,
    region: Option<String>,
    definitions: &BTreeMap<String, String>,
) -> anyhow::Result<Bundle> {
    let by_target: BTreeMap<usize, &SamplingResult> =
        out.outcomes.iter().map(|o| (o.target, &o.result)).collect();
    let rounds_of: BTreeMap<usize, &[(u32, Vec<Invocation>)]> = out
        .outcomes
        .iter()
        .map(|o| (o.target, o.rounds.as_slice()))
        .collect();
    let provenance = Provenance {
        tool: "optiserve".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        created_at: Some(now_rfc3339()),
        region: region.or_else(|| plan.plan.region.clone()),
        source: Some(source),
    };
    let mut bundle = plan.bundle(
        |t| {
            let k = plan
                .targets
                .iter()
                .position(|x| x.function == t.function && x.variant == t.variant);
            let fit = k
                .and_then(|k| by_target.get(&k))
                .and_then(|r| r.fit.as_ref());
            fit.map_or(DurationModel::Exponential(ExpModel::constant(1.0)), |f| {
                f.model.clone()
            })
        },
        provenance,
    );
    for (k, t) in plan.targets.iter().enumerate() {
        let r = by_target
            .get(&k)
            .ok_or_else(|| anyhow!("{}/{} was not profiled", t.function_id, t.variant_name))?;
        let f = &mut bundle.functions[t.function];
        let v = &mut f.variants[t.variant];
        if let Some(fit) = &r.fit {
            v.fit = Some(FitSummary {
                mape_percent: fit.mape_percent,
                r2: fit.r2,
                samples: fit.samples,
            });
        }
        let weights = t.weights();
        if t.weighted() {
            v.payloads = t
                .payloads
                .iter()
                .map(|p| PayloadProfile {
                    name: p.name.clone(),
                    weight: p.weight,
                    samples: Vec::new(),
                })
                .collect();
        }
        let rounds = rounds_of.get(&k).copied().unwrap_or_default();
        for m in &r.memories {
            // With several payloads the sampler's samples are the successful rounds' mixes at
            // this memory, in the order the rounds were made.
            let mut ok_rounds = rounds
                .iter()
                .filter(|(mem, round)| {
                    *mem == m.memory_mb
                        && mix(round, &weights, *mem).effective_status(*mem) == Status::Ok
                })
                .map(|(_, round)| round);
            for s in &m.samples {
                let round = if t.weighted() {
                    Some(ok_rounds.next().ok_or_else(|| {
                        anyhow!(
                            "{}/{}: the run's rounds at {} MB do not match its samples",
                            t.function_id,
                            t.variant_name,
                            m.memory_mb
                        )
                    })?)
                } else {
                    None
                };
                if s.superseded {
                    continue;
                }
                v.samples.push(ProfileSample {
                    memory_mb: f64::from(m.memory_mb),
                    duration_ms: s.duration_ms,
                    billed_duration_ms: match round {
                        Some(round) => Some(mean_billed_ms(round, &weights)),
                        None => s.billed_duration_ms,
                    },
                    cold: s.cold,
                    max_memory_used_mb: s.max_memory_used_mb,
                    init_duration_ms: s.init_duration_ms,
                });
                for (p, inv) in v.payloads.iter_mut().zip(round.into_iter().flatten()) {
                    p.samples.push(ProfileSample {
                        memory_mb: f64::from(m.memory_mb),
                        duration_ms: inv.duration_ms.unwrap_or(0.0),
                        billed_duration_ms: inv.billed_duration_ms,
                        cold: inv.is_cold(),
                        max_memory_used_mb: inv.max_memory_used_mb,
                        init_duration_ms: inv.init_duration_ms,
                    });
                }
            }
        }
        // The cold starts seen (every configuration change makes one): their mean Init Duration,
        // with the production share the plan gives (0 when it gives none).
        let inits: Vec<f64> = r
            .memories
            .iter()
            .flat_map(|m| m.init_durations_ms.iter().copied())
            .collect();
        if !inits.is_empty() {
            v.cold_start = Some(ColdStart {
                probability: plan.plan.functions[t.function]
                    .cold_start_probability
                    .unwrap_or(0.0),
                init_ms: inits.iter().sum::<f64>() / inits.len() as f64,
                observed: Some(inits.len() as u64),
            });
        }
    }
    // Memory options: nothing below the highest floor a variant of the function reached.
    for (i, f) in bundle.functions.iter_mut().enumerate() {
        let floor = plan
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.function == i)
            .filter_map(|(k, _)| by_target.get(&k).map(|r| r.floor_mb))
            .max()
            .unwrap_or(0);
        let sizes = f.memory.sizes();
        if sizes.first().is_some_and(|&lo| lo < floor) {
            let kept: Vec<u32> = sizes.into_iter().filter(|&m| m >= floor).collect();
            if kept.is_empty() {
                bail!(
                    "{}: no memory option is at or above its floor {floor} MB",
                    f.id
                );
            }
            f.memory = MemoryOptions::List(kept);
        }
        // The deployed configuration: the original memory, the variant whose env it carried.
        let Some(original) = f.resource.as_ref().and_then(|r| out.originals.get(r)) else {
            continue;
        };
        let sizes = f.memory.sizes();
        let (lo, hi) = (
            sizes.first().copied().unwrap_or(0),
            sizes.last().copied().unwrap_or(0),
        );
        if original.memory_mb < lo || original.memory_mb > hi {
            continue;
        }
        // The payloads the state machine's Task states pass (when the plan names them).
        let passed: Option<Vec<_>> = f.state_machine.as_ref().and_then(|site| {
            let d = definitions.get(&site.arn)?;
            site.states
                .iter()
                .map(|st| task_payload(d, st).ok())
                .collect()
        });
        let variant = f
            .variants
            .iter()
            .find(|v| {
                v.select.as_ref().is_some_and(|s| {
                    let env = s
                        .env
                        .iter()
                        .all(|(k, val)| original.env.get(k) == Some(val));
                    let payload = match (&s.payload, &passed) {
                        (None, _) => true,
                        (Some(fields), Some(all)) => all.iter().all(|p| carries(p, fields)),
                        (Some(_), None) => false,
                    };
                    (!s.env.is_empty() || s.payload.is_some()) && env && payload
                })
            })
            .map(|v| v.name.clone());
        if f.variants.len() > 1 && variant.is_none() {
            continue;
        }
        bundle.deployed.insert(
            f.id.clone(),
            Choice {
                memory_mb: original.memory_mb,
                variant,
            },
        );
    }
    bundle
        .validate()
        .context("the profiled bundle does not validate")?;
    Ok(bundle)
}
