//! Evaluating one configuration: end-to-end latency (EET), cost per million executions and the
//! accuracy score (EAS), with each function's share.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bundle::{Application, ResolvedChoice};
use crate::pricing::EXECUTIONS_PER_QUOTE;
use crate::workflow::LatencyModel;

/// One function's part of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FunctionEvaluation {
    /// Memory in MB.
    pub memory_mb: u32,
    /// Variant name.
    pub variant: String,
    /// NI(f): expected invocations per workflow execution.
    pub invocations: f64,
    /// Predicted duration of one invocation, ms.
    pub duration_ms: f64,
    /// This function's cost, USD per million workflow executions.
    pub cost_usd_per_million: f64,
}

/// The predicted latency, cost and accuracy of a configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evaluation {
    /// Expected end-to-end latency (EET), ms, orchestration delays included.
    pub latency_ms: f64,
    /// The composition rule that produced `latency_ms`.
    pub latency_model: LatencyModel,
    /// Bound on the error of `latency_ms` from truncated loops and bucketed distributions inside
    /// parallel blocks and Map states (0: exact up to rounding).
    pub latency_error_bound_ms: f64,
    /// Expected cost, USD per million workflow executions (functions plus orchestration).
    pub cost_usd_per_million: f64,
    /// End-to-end accuracy score (EAS).
    pub accuracy: f64,
    /// Step Functions charge included in `cost_usd_per_million` (0 without Step Functions pricing).
    pub orchestration_cost_usd_per_million: f64,
    /// Per function id, in bundle order.
    pub functions: IndexMap<String, FunctionEvaluation>,
}

impl Application {
    /// Predicted duration (ms) of one invocation of function `f` with a choice.
    pub fn duration_ms(&self, f: usize, c: ResolvedChoice) -> f64 {
        self.functions
            .get(f)
            .and_then(|func| func.variants.get(c.variant))
            .map_or(0.0, |v| v.model.duration_ms(f64::from(c.memory_mb)))
    }

    /// Evaluates a resolved configuration (one choice per function, in bundle order).
    pub fn evaluate(&self, choices: &[ResolvedChoice]) -> Evaluation {
        let durations: Vec<f64> = choices
            .iter()
            .enumerate()
            .map(|(f, &c)| self.duration_ms(f, c))
            .collect();
        let estimate = self
            .workflow
            .latency_estimate(&durations, self.delays, self.latency_model);
        let latency_ms = estimate.latency_ms;
        let ni = self.workflow.invocations();
        let mut functions = IndexMap::with_capacity(choices.len());
        let mut total = 0.0;
        let mut accuracies = Vec::with_capacity(choices.len());
        for (f, (&c, &d)) in choices.iter().zip(&durations).enumerate() {
            let func = &self.functions[f];
            let variant = &func.variants[c.variant];
            accuracies.push(variant.accuracy);
            let cost = ni[f]
                * self.pricing.invocation_cost(f64::from(c.memory_mb), d)
                * EXECUTIONS_PER_QUOTE;
            total += cost;
            functions.insert(
                func.id.clone(),
                FunctionEvaluation {
                    memory_mb: c.memory_mb,
                    variant: variant.name.clone(),
                    invocations: ni[f],
                    duration_ms: d,
                    cost_usd_per_million: cost,
                },
            );
        }
        let orchestration = self
            .pricing
            .orchestration_cost(self.workflow.expected_transitions(), latency_ms)
            * EXECUTIONS_PER_QUOTE;
        Evaluation {
            latency_ms,
            latency_model: self.latency_model,
            latency_error_bound_ms: estimate.error_bound_ms,
            cost_usd_per_million: total + orchestration,
            accuracy: self.score.evaluate(&accuracies),
            orchestration_cost_usd_per_million: orchestration,
            functions,
        }
    }
}
