//! The search space: every (memory, variant) option of every function with its duration, cost and
//! accuracy computed once, dominance pruning, and fast evaluation of a pick of options.

use crate::bundle::{Application, ResolvedChoice};
use crate::pricing::EXECUTIONS_PER_QUOTE;
use crate::workflow::LatencyScratch;

/// One option of one function, with everything an optimizer needs precomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionPoint {
    /// Memory in MB.
    pub memory_mb: u32,
    /// Variant index.
    pub variant: usize,
    /// Predicted duration of one invocation, ms.
    pub duration_ms: f64,
    /// This function's cost with this option, USD per million executions (NI included).
    pub cost: f64,
    /// Normalised accuracy of the variant.
    pub accuracy: f64,
}

impl OptionPoint {
    /// The option as a resolved choice.
    pub fn choice(&self) -> ResolvedChoice {
        ResolvedChoice {
            memory_mb: self.memory_mb,
            variant: self.variant,
        }
    }

    /// `self` is at least as good as `other` in duration, cost and accuracy.
    pub fn weakly_dominates(&self, other: &OptionPoint) -> bool {
        self.duration_ms <= other.duration_ms
            && self.cost <= other.cost
            && self.accuracy >= other.accuracy
    }
}

/// Latency, cost and accuracy of one configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Expected end-to-end latency, ms.
    pub latency_ms: f64,
    /// USD per million executions (orchestration included).
    pub cost_usd_per_million: f64,
    /// Accuracy score.
    pub accuracy: f64,
}

/// The options of every function of an application.
#[derive(Debug, Clone)]
pub struct SearchSpace<'a> {
    /// The application.
    pub app: &'a Application,
    /// Options per function (bundle order).
    pub options: Vec<Vec<OptionPoint>>,
    /// Step Functions charge per execution that does not depend on the configuration, USD per
    /// million (Standard transitions, Express requests; the Express duration charge is
    /// [`SearchSpace::latency_cost`]).
    pub fixed_cost: f64,
}

/// Reusable buffers for [`SearchSpace::evaluate_with`].
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    durations: Vec<f64>,
    accuracies: Vec<f64>,
    stack: LatencyScratch,
}

impl<'a> SearchSpace<'a> {
    /// Every memory option × every variant, per function.
    pub fn full(app: &'a Application) -> Self {
        let options = app
            .functions
            .iter()
            .enumerate()
            .map(|(f, func)| {
                let mut opts = Vec::with_capacity(func.memory_mb.len() * func.variants.len());
                for (v, variant) in func.variants.iter().enumerate() {
                    for &m in &func.memory_mb {
                        let choice = ResolvedChoice {
                            memory_mb: m,
                            variant: v,
                        };
                        let x = app.option_figures(f, choice);
                        opts.push(OptionPoint {
                            memory_mb: m,
                            variant: v,
                            duration_ms: x.duration_ms,
                            cost: x.cost_usd_per_million,
                            accuracy: variant.accuracy,
                        });
                    }
                }
                opts
            })
            .collect();
        let fixed_cost = app.fixed_cost_per_execution() * EXECUTIONS_PER_QUOTE;
        SearchSpace {
            app,
            options,
            fixed_cost,
        }
    }

    /// The same space without dominated options: an option is dropped when another option of the
    /// same function is at least as fast, as cheap and as accurate (and strictly better in one, or
    /// equal and listed earlier). Latency is non-decreasing in every duration, cost is a sum and the
    /// accuracy score is non-decreasing in every accuracy (its contract), so an optimum of any
    /// problem over the full space is also found in the pruned one.
    pub fn pruned(&self) -> Self {
        let options = self
            .options
            .iter()
            .map(|opts| {
                opts.iter()
                    .enumerate()
                    .filter(|&(i, o)| {
                        !opts
                            .iter()
                            .enumerate()
                            .any(|(j, p)| j != i && p.weakly_dominates(o) && (p != o || j < i))
                    })
                    .map(|(_, o)| *o)
                    .collect()
            })
            .collect();
        SearchSpace {
            app: self.app,
            options,
            fixed_cost: self.fixed_cost,
        }
    }

    /// Number of configurations (as a float: it can exceed `u64`).
    pub fn size(&self) -> f64 {
        self.options.iter().map(|o| o.len() as f64).product()
    }

    /// Latency, cost and accuracy when function `f` takes option `pick[f]`.
    pub fn evaluate(&self, pick: &[usize]) -> Metrics {
        self.evaluate_with(pick, &mut Scratch::default())
    }

    /// [`SearchSpace::evaluate`] with reusable buffers.
    pub fn evaluate_with(&self, pick: &[usize], s: &mut Scratch) -> Metrics {
        s.durations.clear();
        s.accuracies.clear();
        let mut cost = self.fixed_cost;
        for (opts, &i) in self.options.iter().zip(pick) {
            let o = &opts[i];
            s.durations.push(o.duration_ms);
            s.accuracies.push(o.accuracy);
            cost += o.cost;
        }
        let latency_ms = self.latency(&s.durations, &mut s.stack);
        Metrics {
            latency_ms,
            cost_usd_per_million: cost + self.latency_cost(latency_ms),
            accuracy: self.app.score.evaluate(&s.accuracies),
        }
    }

    /// The cost that depends on the end-to-end latency (Step Functions Express duration), USD per
    /// million executions; non-decreasing in the latency, 0 for other pricing.
    pub fn latency_cost(&self, latency_ms: f64) -> f64 {
        self.app.pricing.orchestration_duration_cost(latency_ms) * EXECUTIONS_PER_QUOTE
    }

    /// Latency for given per-function durations.
    pub fn latency(&self, durations: &[f64], scratch: &mut LatencyScratch) -> f64 {
        self.app.workflow.latency_ms_with(
            durations,
            self.app.delays,
            self.app.latency_model,
            scratch,
        )
    }

    /// The resolved choices of a pick.
    pub fn choices(&self, pick: &[usize]) -> Vec<ResolvedChoice> {
        self.options
            .iter()
            .zip(pick)
            .map(|(opts, &i)| opts[i].choice())
            .collect()
    }
}
