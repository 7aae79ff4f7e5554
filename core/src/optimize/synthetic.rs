//! Seeded synthetic applications of any size, for the solvers' benchmarks and the quality harness
//! (`optiserve generate`).
//!
//! The shapes are those of the thesis' App1–App6 and the paper's 16-function App16: a main path
//! of segments, each starting at one function — a plain step, a parallel block (two or three
//! arms of one or two functions; some arms hold a branch, as in the media pipeline and App16),
//! a branch (two arms, one of them sometimes empty), a self-loop, or a cycle over two functions.
//! A third of the functions run an ML model with three variants (ResNet-18/50/101-like: slower
//! and more accurate in that order); every function has 16 to 19 memory sizes. Durations follow
//! `ET(m) = α + β·e^(−γ·m)` with seeded parameters (ML variants scale α and β), some variants
//! have cold starts, and Step Functions Standard or Express pricing and orchestration delays are
//! set. The same seed gives the same bundle on every platform.

use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::accuracy::{EasDefinition, Normalization};
use crate::bundle::{
    AccuracySpec, Bundle, ColdStart, Function, MemoryOptions, MemoryRange, Provenance, RawAccuracy,
    SCHEMA_V1, Variant, WorkflowSpec,
};
use crate::model::{DurationModel, ExpModel};
use crate::pricing::{Architecture, Pricing, StepFunctionsPricing};
use crate::simulate::uniform;
use crate::workflow::{Delays, END, Edge, START};

/// How the end-to-end accuracy score of a synthetic application combines its ML functions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyntheticScore {
    /// Weighted sum (weights 1 to 3).
    #[default]
    WeightedSum,
    /// The least accurate function.
    Min,
    /// Weighted geometric mean.
    GeometricMean,
}

impl SyntheticScore {
    /// Every score, in the order the CLI lists them.
    pub const ALL: [SyntheticScore; 3] = [
        SyntheticScore::WeightedSum,
        SyntheticScore::Min,
        SyntheticScore::GeometricMean,
    ];

    /// The name on the command line (`weighted-sum`, `min`, `geometric-mean`).
    pub fn flag_name(self) -> &'static str {
        match self {
            SyntheticScore::WeightedSum => "weighted-sum",
            SyntheticScore::Min => "min",
            SyntheticScore::GeometricMean => "geometric-mean",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSpec {
    /// Number of functions (at least 2).
    pub functions: usize,
    /// Seed.
    pub seed: u64,
    /// The accuracy score.
    #[serde(default)]
    pub score: SyntheticScore,
    /// Step Functions Express pricing instead of Standard.
    #[serde(default)]
    pub express: bool,
}

/// Largest synthetic application.
pub const MAX_SYNTHETIC_FUNCTIONS: usize = 10_000;

struct Gen {
    rng: Xoshiro256PlusPlus,
    functions: Vec<Function>,
    edges: Vec<Edge>,
    ml: Vec<(String, f64)>,
}

impl Gen {
    fn u(&mut self) -> f64 {
        uniform(&mut self.rng)
    }

    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.u()
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.u() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Adds function number `functions.len()` and returns its id.
    fn function(&mut self) -> String {
        let i = self.functions.len();
        let id = format!("f{:03}", i + 1);
        let ml = i % 3 == 1;
        // 16 to 19 memory sizes.
        let count = 16 + self.below(4) as u32;
        let (min_mb, step_mb) = if ml {
            (1024 - 64 * self.below(8) as u32, 512)
        } else {
            (128, 64 * (1 + self.below(3) as u32))
        };
        let memory = MemoryOptions::Range(MemoryRange {
            min_mb,
            max_mb: min_mb + step_mb * (count - 1),
            step_mb,
        });
        let alpha = if ml {
            self.between(150.0, 900.0)
        } else {
            self.between(20.0, 400.0)
        };
        let beta = if ml {
            self.between(2_000.0, 15_000.0)
        } else {
            self.between(300.0, 6_000.0)
        };
        let gamma = if ml {
            self.between(0.0004, 0.0012)
        } else {
            self.between(0.001, 0.006)
        };
        let cold = |g: &mut Gen| {
            (g.u() < 0.3).then(|| ColdStart {
                probability: g.between(0.005, 0.05),
                init_ms: g.between(150.0, 2_500.0),
                observed: None,
            })
        };
        let variants = if ml {
            let base = self.between(0.55, 0.70);
            [
                ("small", 1.0, 0.0),
                ("medium", 1.7, 0.06),
                ("large", 3.1, 0.09),
            ]
            .into_iter()
            .map(|(name, scale, gain)| Variant {
                name: name.to_string(),
                accuracy: Some(RawAccuracy {
                    value: base + gain,
                    metric: Some("top-1".to_string()),
                }),
                model: DurationModel::Exponential(ExpModel {
                    alpha_ms: alpha * scale,
                    beta_ms: beta * scale,
                    gamma_per_mb: gamma,
                }),
                fit: None,
                samples: Vec::new(),
                select: None,
                cold_start: cold(self),
                payloads: Vec::new(),
            })
            .collect()
        } else {
            vec![Variant {
                name: "default".to_string(),
                accuracy: None,
                model: DurationModel::Exponential(ExpModel {
                    alpha_ms: alpha,
                    beta_ms: beta,
                    gamma_per_mb: gamma,
                }),
                fit: None,
                samples: Vec::new(),
                select: None,
                cold_start: cold(self),
                payloads: Vec::new(),
            }]
        };
        if ml {
            let w = (1 + self.below(3)) as f64;
            self.ml.push((id.clone(), w));
        }
        self.functions.push(Function {
            id: id.clone(),
            resource: None,
            memory,
            variants,
            package: None,
            provisioned_concurrency: None,
            state_machine: None,
        });
        id
    }

    fn edge(&mut self, from: &str, to: &str, p: f64) {
        self.edges.push(Edge::new(from, to, p));
    }

    /// A chain of `len` new functions; returns (first, last).
    fn chain(&mut self, len: usize) -> (String, String) {
        let first = self.function();
        let mut last = first.clone();
        for _ in 1..len {
            let next = self.function();
            self.edge(&last, &next, 1.0);
            last = next;
        }
        (first, last)
    }

    /// Two probabilities summing to 1, each at least 0.1.
    fn split(&mut self) -> (f64, f64) {
        let p = (self.between(0.1, 0.9) * 100.0).round() / 100.0;
        (p, 1.0 - p)
    }
}

/// Generates the application (see the module documentation).
pub fn generate(spec: &SyntheticSpec) -> Bundle {
    let n = spec.functions.clamp(2, MAX_SYNTHETIC_FUNCTIONS);
    let mut g = Gen {
        rng: Xoshiro256PlusPlus::seed_from_u64(spec.seed),
        functions: Vec::with_capacity(n),
        edges: Vec::new(),
        ml: Vec::new(),
    };
    // The nodes whose exits join at the next segment's head, with the probability of each edge.
    let mut exits: Vec<(String, f64)> = vec![(START.to_string(), 1.0)];
    let join = |g: &mut Gen, exits: &[(String, f64)], head: &str| {
        for (from, p) in exits {
            g.edge(from, head, *p);
        }
    };
    while g.functions.len() < n {
        let left = n - g.functions.len();
        let roll = g.u();
        let head = g.function();
        join(&mut g, &exits, &head);
        exits = vec![(head.clone(), 1.0)];
        if left == 1 || roll < 0.30 {
            continue; // a plain step
        }
        if roll < 0.55 && left >= 3 {
            // A parallel block of 2–3 arms of 1–2 functions; an arm of 3 may branch inside.
            let arms = 2 + g.below(2).min(left.saturating_sub(3));
            let mut new_exits = Vec::new();
            for _ in 0..arms {
                if g.functions.len() >= n {
                    break;
                }
                let room = n - g.functions.len();
                if room >= 3 && g.u() < 0.35 {
                    let a = g.function();
                    let b = g.function();
                    let c = g.function();
                    let (p, q) = g.split();
                    g.edge(&head, &a, 1.0);
                    g.edge(&a, &b, p);
                    g.edge(&a, &c, q);
                    new_exits.push((b, 1.0));
                    new_exits.push((c, 1.0));
                } else {
                    let len = 1 + g.below(2).min(room - 1);
                    let (first, last) = g.chain(len);
                    g.edge(&head, &first, 1.0);
                    new_exits.push((last, 1.0));
                }
            }
            exits = new_exits;
        } else if roll < 0.75 && left >= 2 {
            // A branch of two arms; one arm may be empty (it goes straight to the join).
            let (p, q) = g.split();
            let a = g.function();
            let mut new_exits = vec![(a.clone(), 1.0)];
            g.edge(&head, &a, p);
            if g.functions.len() < n && g.u() < 0.7 {
                let b = g.function();
                g.edge(&head, &b, q);
                new_exits.push((b, 1.0));
            } else {
                new_exits.push((head.clone(), q));
            }
            exits = new_exits;
        } else if roll < 0.88 {
            // A self-loop.
            let p = (g.between(0.05, 0.3) * 100.0).round() / 100.0;
            g.edge(&head, &head, p);
            exits = vec![(head.clone(), 1.0 - p)];
        } else {
            // A cycle head → tail → (head | on).
            let tail = g.function();
            g.edge(&head, &tail, 1.0);
            let p = (g.between(0.05, 0.3) * 100.0).round() / 100.0;
            g.edge(&tail, &head, p);
            exits = vec![(tail, 1.0 - p)];
        }
    }
    join(&mut g, &exits, END);
    let weights = g.ml.iter().cloned().collect();
    let functions_scored: Vec<String> = g.ml.iter().map(|(id, _)| id.clone()).collect();
    let score = match spec.score {
        SyntheticScore::WeightedSum => EasDefinition::WeightedSum { weights },
        SyntheticScore::Min => EasDefinition::Min {
            functions: functions_scored,
        },
        SyntheticScore::GeometricMean => EasDefinition::GeometricMean { weights },
    };
    let step_functions = if spec.express {
        StepFunctionsPricing::express()
    } else {
        StepFunctionsPricing::standard()
    };
    Bundle {
        schema: SCHEMA_V1.to_string(),
        name: Some(format!("synthetic-{n}-seed-{}", spec.seed)),
        description: Some(format!(
            "A synthetic application of {n} functions (optiserve generate --functions {n} --seed {})",
            spec.seed
        )),
        provenance: Provenance {
            tool: "optiserve".to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: None,
            region: Some("us-east-1".to_string()),
            source: Some("synthetic".to_string()),
        },
        pricing: Pricing {
            step_functions: Some(step_functions),
            ..Pricing::aws(Architecture::X86_64)
        },
        functions: g.functions,
        workflow: WorkflowSpec {
            edges: g.edges,
            orchestration: Delays::step_functions_measured(),
            states: Vec::new(),
            maps: Vec::new(),
            sites: Vec::new(),
            latency_model: None,
        },
        accuracy: (!g.ml.is_empty()).then_some(AccuracySpec {
            normalization: Normalization::MinMax,
            score,
        }),
        deployed: Default::default(),
        workload: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_applications_validate_and_have_the_asked_shape() {
        for (n, seed) in [
            (2, 1),
            (3, 2),
            (16, 3),
            (30, 1),
            (60, 1),
            (200, 1),
            (200, 7),
        ] {
            for score in [
                SyntheticScore::WeightedSum,
                SyntheticScore::Min,
                SyntheticScore::GeometricMean,
            ] {
                let b = generate(&SyntheticSpec {
                    functions: n,
                    seed,
                    score,
                    express: seed % 2 == 0,
                });
                assert_eq!(b.functions.len(), n);
                let app = b
                    .clone()
                    .validate()
                    .unwrap_or_else(|e| panic!("{n}/{seed}: {e}"));
                let ml = app
                    .functions
                    .iter()
                    .filter(|f| f.variants.len() == 3)
                    .count();
                assert_eq!(ml, (n + 1) / 3, "{n}");
                for f in &app.functions {
                    assert!((16..=19).contains(&f.memory_mb.len()), "{}", f.id);
                }
                // Seeded: the same bundle again.
                assert_eq!(
                    b,
                    generate(&SyntheticSpec {
                        functions: n,
                        seed,
                        score,
                        express: seed % 2 == 0,
                    })
                );
            }
        }
    }

    #[test]
    fn large_applications_have_parallel_blocks_branches_and_loops() {
        let app = generate(&SyntheticSpec {
            functions: 60,
            seed: 1,
            score: SyntheticScore::WeightedSum,
            express: false,
        })
        .validate()
        .unwrap();
        let s = app.workflow.display_structure().to_string();
        for what in ["parallel(", "branch(", "loop×"] {
            assert!(s.contains(what), "{what}: {s}");
        }
        assert!(app.workflow.has_random_blocks(), "{s}");
    }
}
