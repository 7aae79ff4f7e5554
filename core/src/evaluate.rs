//! Evaluating one configuration: end-to-end latency (EET), cost per million executions and the
//! accuracy score (EAS), with each function's share.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bundle::{Application, ResolvedChoice};
use crate::pricing::{EXECUTIONS_PER_QUOTE, HOURS_PER_MONTH};
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
    /// Predicted duration of one invocation, ms: the model's, plus the expected cold-start time.
    pub duration_ms: f64,
    /// The expected cold-start part of `duration_ms` (cold-start probability × init duration).
    pub cold_start_ms: f64,
    /// This function's cost, USD per million workflow executions.
    pub cost_usd_per_million: f64,
    /// The part of `cost_usd_per_million` that cold starts' INIT phases bill.
    pub cold_start_cost_usd_per_million: f64,
}

/// One function's figures with one choice: what the optimizers and `evaluate` share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionFigures {
    /// Expected duration of one invocation, ms (cold starts included).
    pub duration_ms: f64,
    /// Its expected cold-start part, ms.
    pub cold_start_ms: f64,
    /// The function's cost, USD per million executions: its expected invocations (NI) with
    /// on-demand or provisioned duration prices, INIT billing, and provisioned concurrency's
    /// monthly charge shared over the executions.
    pub cost_usd_per_million: f64,
    /// The part of the cost that cold starts' INIT phases bill.
    pub cold_start_cost_usd_per_million: f64,
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
    /// Orchestration charge included in `cost_usd_per_million`: Step Functions' (0 without Step
    /// Functions pricing), the services its Task states call (their `price_per_request`) and
    /// Distributed Maps' Express child executions (see
    /// [`Application::fixed_cost_per_execution`]).
    pub orchestration_cost_usd_per_million: f64,
    /// What cold starts add to `latency_ms` (the latency less the latency with every cold-start
    /// probability at 0).
    pub cold_start_latency_ms: f64,
    /// What cold starts' INIT phases add to `cost_usd_per_million`.
    pub cold_start_cost_usd_per_million: f64,
    /// Per function id, in bundle order.
    pub functions: IndexMap<String, FunctionEvaluation>,
}

impl Application {
    /// Predicted duration (ms) of one warm invocation of function `f` with a choice: the model's.
    pub fn duration_ms(&self, f: usize, c: ResolvedChoice) -> f64 {
        self.functions
            .get(f)
            .and_then(|func| func.variants.get(c.variant))
            .map_or(0.0, |v| v.model.duration_ms(f64::from(c.memory_mb)))
    }

    /// USD for one invocation of function `f` at `memory_mb` that runs `duration_ms` after an
    /// INIT phase of `init_ms` (0 when warm): the on-demand or provisioned duration price, the INIT
    /// phase billed as the pricing says.
    pub fn invocation_cost(&self, f: usize, memory_mb: f64, duration_ms: f64, init_ms: f64) -> f64 {
        let Some(func) = self.functions.get(f) else {
            return 0.0;
        };
        let p = &self.pricing;
        if func.provisioned > 0 {
            return p.invocation_cost_at(memory_mb, duration_ms, p.provisioned_duration_price());
        }
        let billed = if init_ms > 0.0 && p.init_billed(func.package) {
            duration_ms + init_ms
        } else {
            duration_ms
        };
        p.invocation_cost(memory_mb, billed)
    }

    /// USD per execution that function `f`'s provisioned concurrency at `memory_mb` bills: its
    /// instances × memory × 730 hours a month, over the month's executions (0 on demand).
    pub fn provisioned_cost_per_execution(&self, f: usize, memory_mb: f64) -> f64 {
        match (self.functions.get(f), self.executions_per_month) {
            (Some(func), Some(n)) if func.provisioned > 0 => {
                f64::from(func.provisioned)
                    * (memory_mb / 1024.0)
                    * HOURS_PER_MONTH
                    * 3600.0
                    * self.pricing.provisioned_concurrency_price()
                    / n
            }
            _ => 0.0,
        }
    }

    /// USD per execution the orchestration bills whatever the configuration: Step Functions'
    /// own charge that does not depend on the latency (Standard transitions, the Express
    /// request), each state node's `price_per_request` times its expected entries (the services
    /// its Task states call), and the Express child executions of Distributed Maps: their
    /// requests, half a billing unit of rounding each, and the time of the states and
    /// orchestration delays inside their bodies (the time of the functions there is billed with
    /// each function, see [`Application::express_child_charge`]). The one place fixed charges
    /// are priced: `evaluate`, the optimizers' search space and `simulate` all call it.
    pub fn fixed_cost_per_execution(&self) -> f64 {
        let w = &self.workflow;
        let mut usd = self
            .pricing
            .orchestration_fixed_cost(w.expected_transitions());
        usd += w
            .state_entries()
            .iter()
            .zip(w.state_prices())
            .map(|(n, p)| n * p)
            .sum::<f64>();
        let children = w.express_children();
        let express_states: f64 = w.express_state_entries().iter().sum();
        let express_functions: f64 = w.express_invocations().iter().sum();
        if children > 0.0 || express_states > 0.0 || express_functions > 0.0 {
            let (request, per_ms, granularity) = self.pricing.express_child_prices();
            let per_state = self.delays.per_state_ms();
            let state_ms: f64 = w
                .express_state_entries()
                .iter()
                .enumerate()
                .map(|(k, n)| {
                    n * (w.state_delay_ms(w.function_count() + k).unwrap_or(0.0) + per_state)
                })
                .sum();
            usd += children * (request + granularity / 2.0 * per_ms)
                + (state_ms + express_functions * per_state) * per_ms;
        }
        usd
    }

    /// USD per execution that function `f`'s invocations inside the bodies of Distributed Maps
    /// with Express child executions add to those children's duration charge when each takes
    /// `duration_ms` (0 for a function outside such bodies). Linear in the duration: the
    /// children's rounding up to the billing granularity is charged with their requests, and a
    /// body with parallel arms is charged the sum of its arms' times (at most what AWS bills
    /// more, for the overlap).
    pub fn express_child_charge(&self, f: usize, duration_ms: f64) -> f64 {
        let n = self
            .workflow
            .express_invocations()
            .get(f)
            .copied()
            .unwrap_or(0.0);
        if n > 0.0 {
            n * duration_ms * self.pricing.express_child_prices().1
        } else {
            0.0
        }
    }

    /// Function `f`'s expected duration and cost with a choice (cold starts, INIT billing and
    /// provisioned concurrency included): the one place both `evaluate` and the optimizers
    /// price an option.
    pub fn option_figures(&self, f: usize, c: ResolvedChoice) -> OptionFigures {
        let warm = self.duration_ms(f, c);
        let memory = f64::from(c.memory_mb);
        let ni = self.workflow.invocations().get(f).copied().unwrap_or(0.0);
        let cold = self
            .functions
            .get(f)
            .and_then(|func| func.variants.get(c.variant))
            .map(|v| v.cold_start)
            .unwrap_or_default();
        let warm_cost = self.invocation_cost(f, memory, warm, 0.0);
        let (cold_ms, cold_cost) = if cold.probability > 0.0 {
            let extra = self.invocation_cost(f, memory, warm, cold.init_ms) - warm_cost;
            (cold.probability * cold.init_ms, cold.probability * extra)
        } else {
            (0.0, 0.0)
        };
        let per_execution = ni * (warm_cost + cold_cost)
            + self.provisioned_cost_per_execution(f, memory)
            + self.express_child_charge(f, warm + cold_ms);
        OptionFigures {
            duration_ms: warm + cold_ms,
            cold_start_ms: cold_ms,
            cost_usd_per_million: per_execution * EXECUTIONS_PER_QUOTE,
            cold_start_cost_usd_per_million: ni * cold_cost * EXECUTIONS_PER_QUOTE,
        }
    }

    /// Evaluates a resolved configuration (one choice per function, in bundle order).
    pub fn evaluate(&self, choices: &[ResolvedChoice]) -> Evaluation {
        let figures: Vec<OptionFigures> = choices
            .iter()
            .enumerate()
            .map(|(f, &c)| self.option_figures(f, c))
            .collect();
        let durations: Vec<f64> = figures.iter().map(|x| x.duration_ms).collect();
        let estimate = self
            .workflow
            .latency_estimate(&durations, self.delays, self.latency_model);
        let latency_ms = estimate.latency_ms;
        let cold_start_latency_ms = if figures.iter().any(|x| x.cold_start_ms > 0.0) {
            let warm: Vec<f64> = figures
                .iter()
                .map(|x| x.duration_ms - x.cold_start_ms)
                .collect();
            latency_ms
                - self
                    .workflow
                    .latency_ms(&warm, self.delays, self.latency_model)
        } else {
            0.0
        };
        let ni = self.workflow.invocations();
        let mut functions = IndexMap::with_capacity(choices.len());
        let mut total = 0.0;
        let mut cold_cost = 0.0;
        let mut accuracies = Vec::with_capacity(choices.len());
        for (f, (&c, x)) in choices.iter().zip(&figures).enumerate() {
            let func = &self.functions[f];
            let variant = &func.variants[c.variant];
            accuracies.push(variant.accuracy);
            total += x.cost_usd_per_million;
            cold_cost += x.cold_start_cost_usd_per_million;
            functions.insert(
                func.id.clone(),
                FunctionEvaluation {
                    memory_mb: c.memory_mb,
                    variant: variant.name.clone(),
                    invocations: ni[f],
                    duration_ms: x.duration_ms,
                    cold_start_ms: x.cold_start_ms,
                    cost_usd_per_million: x.cost_usd_per_million,
                    cold_start_cost_usd_per_million: x.cold_start_cost_usd_per_million,
                },
            );
        }
        let orchestration = (self.fixed_cost_per_execution()
            + self.pricing.orchestration_duration_cost(latency_ms))
            * EXECUTIONS_PER_QUOTE;
        Evaluation {
            latency_ms,
            latency_model: self.latency_model,
            latency_error_bound_ms: estimate.error_bound_ms,
            cost_usd_per_million: total + orchestration,
            accuracy: self.score.evaluate(&accuracies),
            orchestration_cost_usd_per_million: orchestration,
            cold_start_latency_ms,
            cold_start_cost_usd_per_million: cold_cost,
            functions,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::bundle::{Application, Bundle};
    use crate::pricing::InitBilling;

    /// One function at 1024 MB running 100.4 ms, with `extra` fields on the function, the
    /// variant and the bundle.
    fn one(function: &str, variant: &str, bundle: &str) -> Application {
        Bundle::from_json(&format!(
            r#"{{"schema":"optiserve.bundle/v1","provenance":{{"tool":"t","tool_version":"0"}},
            "pricing":{{"region":"us-east-1","architecture":"x86_64","price_per_gb_second":0.0000166667,"price_per_request":0.0000002}},
            "functions":[{{"id":"f","memory":[1024]{function},"variants":[{{"name":"default","model":{{"kind":"exponential","alpha_ms":100.4,"beta_ms":0,"gamma_per_mb":0}}{variant}}}]}}],
            "workflow":{{"edges":[{{"from":"Start","to":"f","probability":1}},{{"from":"f","to":"End","probability":1}}]}}{bundle}}}"#
        ))
        .unwrap()
        .validate()
        .unwrap()
    }

    const GB_S: f64 = 0.000_016_666_7;
    const REQ: f64 = 0.000_000_2;

    #[test]
    fn cold_starts_add_their_expected_init_to_latency_and_billed_duration() {
        let cold = r#","cold_start":{"probability":0.1,"init_ms":500}"#;
        let mut a = one("", cold, "");
        let e = a.evaluate(&a.deployed);
        // 100.4 ms warm; cold 10% of the time: +50 ms expected.
        assert!((e.latency_ms - 150.4).abs() < 1e-9, "{e:?}");
        assert!((e.cold_start_latency_ms - 50.0).abs() < 1e-9);
        // Billed: 101 ms warm (1 ms rounding), 601 ms cold (INIT billed since August 2025).
        let warm = 0.101 * GB_S + REQ;
        let cold_cost = 0.601 * GB_S + REQ;
        let expected = (0.9 * warm + 0.1 * cold_cost) * 1e6;
        assert!((e.cost_usd_per_million - expected).abs() < 1e-9, "{e:?}");
        assert!((e.cold_start_cost_usd_per_million - 0.1 * 0.5 * GB_S * 1e6).abs() < 1e-9);
        let f = &e.functions["f"];
        assert_eq!((f.cold_start_ms, f.duration_ms), (50.0, 150.4));
        // The rule before August 2025: a ZIP package's INIT is free, an image's is billed.
        a.pricing.init_billing = InitBilling::ContainerImagesOnly;
        let e = a.evaluate(&a.deployed);
        assert!((e.cost_usd_per_million - warm * 1e6).abs() < 1e-9, "{e:?}");
        assert_eq!(e.cold_start_cost_usd_per_million, 0.0);
        assert!((e.latency_ms - 150.4).abs() < 1e-9);
        let mut image = one(r#","package":"image""#, cold, "");
        image.pricing.init_billing = InitBilling::ContainerImagesOnly;
        let e = image.evaluate(&image.deployed);
        assert!((e.cost_usd_per_million - expected).abs() < 1e-9, "{e:?}");
    }

    #[test]
    fn provisioned_concurrency_has_no_cold_starts_and_its_own_prices() {
        let cold = r#","cold_start":{"probability":0.1,"init_ms":500}"#;
        let a = one(
            r#","provisioned_concurrency":{"instances":2}"#,
            cold,
            r#","workload":{"executions_per_month":1000000}"#,
        );
        let e = a.evaluate(&a.deployed);
        assert_eq!((e.latency_ms, e.cold_start_latency_ms), (100.4, 0.0));
        // Duration at $0.0000097222 per GB-s; 2 instances × 1 GB × 730 h at $0.0000041667 per
        // GB-s over 1,000,000 executions.
        let invocation = 0.101 * 0.000_009_722_2 + REQ;
        let monthly = 2.0 * 730.0 * 3600.0 * 0.000_004_166_7;
        let expected = (invocation + monthly / 1e6) * 1e6;
        assert!((e.cost_usd_per_million - expected).abs() < 1e-6, "{e:?}");
        // Without a workload the monthly charge cannot be shared: refused where it is.
        let err = Bundle::from_json(
            r#"{"schema":"optiserve.bundle/v1","provenance":{"tool":"t","tool_version":"0"},
            "pricing":{"region":"us-east-1","architecture":"x86_64","price_per_gb_second":0.0000166667,"price_per_request":0.0000002},
            "functions":[{"id":"f","memory":[1024],"provisioned_concurrency":{"instances":2},"variants":[{"name":"default","model":{"kind":"exponential","alpha_ms":100.4,"beta_ms":0,"gamma_per_mb":0}}]}],
            "workflow":{"edges":[{"from":"Start","to":"f","probability":1},{"from":"f","to":"End","probability":1}]}}"#,
        )
        .unwrap()
        .validate()
        .unwrap_err();
        assert_eq!(err.path(), Some("$.functions[0].provisioned_concurrency"));
    }

    /// One function `f` (100.4 ms at 1,024 MB) in a workflow given as JSON.
    fn workflow(workflow: &str, step_functions: &str) -> Application {
        Bundle::from_json(&format!(
            r#"{{"schema":"optiserve.bundle/v1","provenance":{{"tool":"t","tool_version":"0"}},
            "pricing":{{"region":"us-east-1","architecture":"x86_64","price_per_gb_second":0.0000166667,"price_per_request":0.0000002{step_functions}}},
            "functions":[{{"id":"f","memory":[1024],"variants":[{{"name":"default","model":{{"kind":"exponential","alpha_ms":100.4,"beta_ms":0,"gamma_per_mb":0}}}}]}}],
            "workflow":{workflow}}}"#
        ))
        .unwrap()
        .validate()
        .unwrap()
    }

    #[test]
    fn a_service_state_takes_its_delay_and_bills_its_price_per_entry() {
        let a = workflow(
            r#"{"edges":[{"from":"Start","to":"f","probability":1},{"from":"f","to":"Notify","probability":1},{"from":"Notify","to":"End","probability":1}],
               "states":[{"id":"Notify","kind":"service","delay_ms":50,"resource":"arn:aws:states:::sns:publish","price_per_request":0.0000005}]}"#,
            r#","step_functions":{"type":"standard","price_per_transition":0.000025}"#,
        );
        let e = a.evaluate(&a.deployed);
        assert!((e.latency_ms - 150.4).abs() < 1e-9, "{e:?}");
        // Three transitions and one SNS publish per execution.
        let orchestration = (3.0 * 0.000_025 + 0.000_000_5) * 1e6;
        assert!(
            (e.orchestration_cost_usd_per_million - orchestration).abs() < 1e-9,
            "{e:?}"
        );
        let lambda = (0.101 * GB_S + REQ) * 1e6;
        assert!((e.cost_usd_per_million - lambda - orchestration).abs() < 1e-9);
        // The optimizers' fixed charge is the same.
        let space = crate::optimize::space::SearchSpace::full(&a);
        assert!((space.fixed_cost - orchestration).abs() < 1e-9);
    }

    #[test]
    fn express_children_of_a_distributed_map_bill_requests_and_duration() {
        // 100 items in batches of 25: 4 Express child executions, each running f once.
        let a = workflow(
            r#"{"edges":[{"from":"Start","to":"M","probability":1},{"from":"M","to":"f","probability":1},{"from":"f","to":"End","probability":1}],
               "states":[{"id":"M","kind":"map"}],
               "maps":[{"state":"M","body":["f"],"items":100,"max_concurrency":2,"mode":"distributed","batch_items":25}]}"#,
            r#","step_functions":{"type":"standard","price_per_transition":0.000025}"#,
        );
        let e = a.evaluate(&a.deployed);
        // 4 children, 2 at a time: 2 waves of 100.4 ms.
        assert!((e.latency_ms - 200.8).abs() < 1e-9, "{e:?}");
        assert_eq!(e.functions["f"].invocations, 4.0);
        // Express: $1 per million requests, 64 MB at $0.0000166667 per GB-s, 100 ms rounding
        // (charged as half a unit per child on average).
        let per_ms = 64.0 / 1024.0 * (0.06 / 3600.0) / 1000.0;
        let children = 4.0 * (1e-6 + 50.0 * per_ms);
        // Parent transitions: into M, and out of the Map into End (the body's are the
        // children's).
        let parent = 2.0 * 0.000_025;
        let function_time = 4.0 * 100.4 * per_ms;
        let lambda = 4.0 * (0.101 * GB_S + REQ);
        assert!(
            (e.orchestration_cost_usd_per_million - (parent + children) * 1e6).abs() < 1e-9,
            "{e:?}"
        );
        assert!(
            (e.cost_usd_per_million - (parent + children + function_time + lambda) * 1e6).abs()
                < 1e-9,
            "{e:?}"
        );
    }

    #[test]
    fn bad_cold_start_figures_are_refused_where_they_are() {
        for (variant, path) in [
            (
                r#","cold_start":{"probability":1.5,"init_ms":500}"#,
                "$.functions[0].variants[0].cold_start.probability",
            ),
            (
                r#","cold_start":{"probability":0.1,"init_ms":-1}"#,
                "$.functions[0].variants[0].cold_start.init_ms",
            ),
        ] {
            let text = format!(
                r#"{{"schema":"optiserve.bundle/v1","provenance":{{"tool":"t","tool_version":"0"}},
                "pricing":{{"region":"us-east-1","architecture":"x86_64","price_per_gb_second":0.0000166667,"price_per_request":0.0000002}},
                "functions":[{{"id":"f","memory":[1024],"variants":[{{"name":"default","model":{{"kind":"exponential","alpha_ms":100,"beta_ms":0,"gamma_per_mb":0}}{variant}}}]}}],
                "workflow":{{"edges":[{{"from":"Start","to":"f","probability":1}},{{"from":"f","to":"End","probability":1}}]}}}}"#
            );
            let err = Bundle::from_json(&text).unwrap().validate().unwrap_err();
            assert_eq!(err.path(), Some(path), "{err}");
        }
    }
}
