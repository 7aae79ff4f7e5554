//! Import of the thesis artifact's workflow spec (the format of its `examples/workflow_app3.json`)
//! into a profile bundle.
//!
//! ```json
//! { "delay_type": "None" | "SFN",
//!   "pricing": { "compute": 0.0000166667, "request": 0.0000002 },
//!   "accuracy_formula": { "weighted": [w, ...] },
//!   "functions": [ { "id": "classify",
//!                    "memory_grid": { "start": 512, "stop": 3009, "step": 256 } | [512, 1024],
//!                    "variants": [ { "name": "resnet-18", "accuracy": 0.698,
//!                                    "model": { "kind": "exponential", "a0": 516, "a1": 6500, "a2": 1510 } } ] } ],
//!   "edges": [ ["Start", "classify", 1.0], ... ] }
//! ```
//!
//! Meaning, as the artifact defines it: `ET = a0 + a1·exp(−m/a2)` (so γ = 1/a2); the grid's `stop`
//! is exclusive; `SFN` delays are 18.81 ms per state (Start and End included) and 1 ms per
//! transition; weights apply to the functions in spec order; raw accuracies are used as given, and a
//! function where any variant lacks one is ranked i/N. The imported bundle's deployed configuration
//! is each function's smallest memory with its first variant.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::accuracy::{EasDefinition, Normalization};
use crate::bundle::{
    AccuracySpec, Bundle, BundleError, Choice, Function, MemoryOptions, MemoryRange, Provenance,
    RawAccuracy, SCHEMA_V1, Variant, WorkflowSpec, parse_json,
};
use crate::model::{DurationModel, ExpModel};
use crate::pricing::Pricing;
use crate::workflow::{Delays, Edge};

#[derive(Debug, Deserialize)]
struct Spec {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    delay_type: Option<DelayType>,
    #[serde(default)]
    pricing: Option<SpecPricing>,
    #[serde(default)]
    accuracy_formula: Option<SpecFormula>,
    functions: Vec<SpecFunction>,
    edges: Vec<(NodeId, NodeId, f64)>,
}

#[derive(Debug, Deserialize)]
enum DelayType {
    None,
    #[serde(rename = "SFN")]
    Sfn,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecPricing {
    compute: f64,
    request: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFormula {
    weighted: Vec<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFunction {
    id: NodeId,
    memory_grid: SpecGrid,
    variants: Vec<SpecVariant>,
}

#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "expected a memory grid: {\"start\", \"stop\", \"step\"} or a list of sizes in MB"
)]
enum SpecGrid {
    Range { start: u32, stop: u32, step: u32 },
    List(Vec<u32>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecVariant {
    name: String,
    #[serde(default)]
    accuracy: Option<f64>,
    model: SpecModel,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum SpecModel {
    Exponential { a0: f64, a1: f64, a2: f64 },
}

/// A node id as the artifact writes it: a string, or a number such as `1`.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "expected a node id: a string or a number")]
enum NodeId {
    Text(String),
    Number(serde_json::Number),
}

impl NodeId {
    fn into_string(self) -> String {
        match self {
            NodeId::Text(s) => s,
            NodeId::Number(n) => n.to_string(),
        }
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> BundleError {
    BundleError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

/// Converts an artifact workflow spec (JSON text) into a bundle. The bundle is validated before it
/// is returned, so a spec that imports also plans.
pub fn import_optiserve_spec(text: &str) -> Result<Bundle, BundleError> {
    let spec: Spec = parse_json(text)?;
    let mut functions = Vec::with_capacity(spec.functions.len());
    let mut deployed = BTreeMap::new();
    let mut ids = Vec::with_capacity(spec.functions.len());
    for (i, f) in spec.functions.into_iter().enumerate() {
        let at = format!("$.functions[{i}]");
        let id = f.id.into_string();
        let memory = match f.memory_grid {
            SpecGrid::Range { start, stop, step } => {
                if step == 0 {
                    return Err(invalid(
                        format!("{at}.memory_grid.step"),
                        "must be at least 1",
                    ));
                }
                if stop <= start {
                    return Err(invalid(
                        format!("{at}.memory_grid"),
                        format!("the grid {start}..{stop} (stop exclusive) is empty"),
                    ));
                }
                let last = start + (stop - 1 - start) / step * step;
                MemoryOptions::Range(MemoryRange {
                    min_mb: start,
                    max_mb: last,
                    step_mb: step,
                })
            }
            SpecGrid::List(list) => MemoryOptions::List(list),
        };
        let mut variants = Vec::with_capacity(f.variants.len());
        for (j, v) in f.variants.into_iter().enumerate() {
            let SpecModel::Exponential { a0, a1, a2 } = v.model;
            if !(a2.is_finite() && a2 > 0.0) {
                return Err(invalid(
                    format!("{at}.variants[{j}].model.a2"),
                    format!("must be a positive number (ET = a0 + a1·exp(−m/a2)), found {a2}"),
                ));
            }
            variants.push(Variant {
                name: v.name,
                accuracy: v.accuracy.map(|value| RawAccuracy {
                    value,
                    metric: None,
                }),
                model: DurationModel::Exponential(ExpModel {
                    alpha_ms: a0,
                    beta_ms: a1,
                    gamma_per_mb: 1.0 / a2,
                }),
                fit: None,
                samples: Vec::new(),
                select: None,
                cold_start: None,
                payloads: Vec::new(),
            });
        }
        let first_variant = variants.first().map(|v| v.name.clone());
        let smallest = memory.sizes().first().copied().unwrap_or(0);
        deployed.insert(
            id.clone(),
            Choice {
                memory_mb: smallest,
                variant: first_variant,
            },
        );
        ids.push(id.clone());
        functions.push(Function {
            id,
            resource: None,
            memory,
            variants,
            package: None,
            provisioned_concurrency: None,
            state_machine: None,
        });
    }

    let accuracy = match spec.accuracy_formula {
        Some(SpecFormula { weighted }) => {
            if weighted.len() != ids.len() {
                return Err(invalid(
                    "$.accuracy_formula.weighted",
                    format!(
                        "{} weights for {} functions: the artifact weighs every function in spec order",
                        weighted.len(),
                        ids.len()
                    ),
                ));
            }
            Some(AccuracySpec {
                normalization: Normalization::AsGiven,
                score: EasDefinition::WeightedSum {
                    weights: ids.iter().cloned().zip(weighted).collect(),
                },
            })
        }
        // No formula: keep the artifact's normalisation and score the mean over the functions that
        // have a choice of variant (the bundle's default score, written out).
        None => {
            let ml: Vec<&Function> = functions.iter().filter(|f| f.variants.len() > 1).collect();
            let score = if ml.is_empty() {
                EasDefinition::Formula {
                    expression: "1".to_string(),
                }
            } else {
                let w = 1.0 / ml.len() as f64;
                EasDefinition::WeightedSum {
                    weights: ml.iter().map(|f| (f.id.clone(), w)).collect(),
                }
            };
            Some(AccuracySpec {
                normalization: Normalization::AsGiven,
                score,
            })
        }
    };

    let mut pricing = Pricing::default();
    if let Some(p) = spec.pricing {
        pricing.price_per_gb_second = p.compute;
        pricing.price_per_request = p.request;
    }
    let orchestration = match spec.delay_type {
        Some(DelayType::Sfn) => Delays::step_functions_artifact(),
        Some(DelayType::None) | None => Delays::default(),
    };
    let edges = spec
        .edges
        .into_iter()
        .map(|(a, b, p)| Edge::new(a.into_string(), b.into_string(), p))
        .collect();

    let bundle = Bundle {
        schema: SCHEMA_V1.to_string(),
        name: spec.name,
        description: spec.description,
        provenance: Provenance {
            tool: "optiserve".to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: None,
            region: None,
            source: Some("imported from an OptiServe artifact workflow spec".to_string()),
        },
        pricing,
        functions,
        workflow: WorkflowSpec {
            edges,
            orchestration,
            states: Vec::new(),
            maps: Vec::new(),
            sites: Vec::new(),
            latency_model: None,
        },
        accuracy,
        deployed,
        workload: None,
    };
    bundle.validate().map_err(in_spec_terms)?;
    Ok(bundle)
}

/// Points an error found by validating the imported bundle at the spec's own field, so that its path
/// exists in the file that was read (`$.edges[3]`, not the bundle's `$.workflow.edges[3]`).
fn in_spec_terms(e: BundleError) -> BundleError {
    match e {
        BundleError::Invalid { path, message } => invalid(spec_path(&path), message),
        other => other,
    }
}

/// The spec path of a bundle path produced by [`import_optiserve_spec`]'s conversion.
fn spec_path(path: &str) -> String {
    const TOP: [(&str, &str); 4] = [
        ("$.workflow.edges", "$.edges"),
        ("$.pricing.price_per_gb_second", "$.pricing.compute"),
        ("$.pricing.price_per_request", "$.pricing.request"),
        ("$.accuracy.score", "$.accuracy_formula.weighted"),
    ];
    // Within `$.functions[i]`; the first matching prefix wins.
    const IN_FUNCTION: [(&str, &str); 8] = [
        (".memory.min_mb", ".memory_grid.start"),
        (".memory.max_mb", ".memory_grid.stop"),
        (".memory.step_mb", ".memory_grid.step"),
        (".memory", ".memory_grid"),
        (".model.alpha_ms", ".model.a0"),
        (".model.beta_ms", ".model.a1"),
        (".model.gamma_per_mb", ".model.a2"),
        (".accuracy.value", ".accuracy"),
    ];
    for (bundle, spec) in TOP {
        if let Some(rest) = path.strip_prefix(bundle) {
            return format!("{spec}{rest}");
        }
    }
    if let Some(at) = path.strip_prefix("$.functions[")
        && let Some(close) = at.find(']')
    {
        let (function, tail) = path.split_at("$.functions[".len() + close + 1);
        // A variant's part: `.variants[j]` is kept, what follows it is renamed.
        let (variant, tail) = match tail.strip_prefix(".variants[").and_then(|t| t.find(']')) {
            Some(close) => tail.split_at(".variants[".len() + close + 1),
            None => ("", tail),
        };
        for (bundle, spec) in IN_FUNCTION {
            if let Some(rest) = tail.strip_prefix(bundle) {
                return format!("{function}{variant}{spec}{rest}");
            }
        }
    }
    path.to_string()
}
