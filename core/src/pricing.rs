//! Pricing (thesis eq. 3.2): what one invocation of a function costs, and what the Step Functions
//! orchestration adds.
//!
//! Per invocation: `ceil(ET / g) · g · M_GB · price_per_GB_s + price_per_request`, where `g` is the
//! billing granularity. AWS has billed Lambda by the millisecond since December 2020, so `g = 1 ms`
//! is the default; [`Pricing::thesis_100ms`] reproduces the thesis text's 100 ms rounding. Memory is
//! converted to GB as `memory_mb / 1024`, as AWS (and the thesis artifact) do.
//!
//! Every workflow cost this crate reports is in **USD per one million workflow executions**.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Number of executions that workflow costs are quoted for.
pub const EXECUTIONS_PER_QUOTE: f64 = 1_000_000.0;

/// Lambda instruction set architecture; it sets the price per GB-second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// `x86_64`: $0.0000166667 per GB-s in us-east-1.
    X86_64,
    /// `arm64` (Graviton): $0.0000133334 per GB-s in us-east-1.
    Arm64,
}

/// Step Functions charges that are added to the workflow cost when present.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepFunctionsPricing {
    /// Standard workflows: a price per state transition ($0.025 per 1,000 in us-east-1).
    /// Transitions are counted as the expected number of workflow edges taken per execution,
    /// the edges from `Start` and into `End` included.
    Standard {
        /// USD per state transition.
        price_per_transition: f64,
    },
}

impl StepFunctionsPricing {
    /// Standard workflows at today's us-east-1 price ($0.025 per 1,000 state transitions).
    pub fn standard() -> Self {
        StepFunctionsPricing::Standard {
            price_per_transition: 0.025 / 1000.0,
        }
    }
}

/// Lambda (and optionally Step Functions) prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    /// AWS region the prices are for, e.g. `us-east-1`.
    pub region: String,
    /// Architecture the prices are for.
    pub architecture: Architecture,
    /// USD per GB-second of billed duration.
    pub price_per_gb_second: f64,
    /// USD per request (invocation).
    pub price_per_request: f64,
    /// Billed durations are rounded up to a multiple of this many milliseconds (1 on AWS today).
    #[serde(default = "default_granularity")]
    pub billing_granularity_ms: f64,
    /// Optional Step Functions charge added to every workflow execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_functions: Option<StepFunctionsPricing>,
}

fn default_granularity() -> f64 {
    1.0
}

impl Default for Pricing {
    fn default() -> Self {
        Pricing::aws(Architecture::X86_64)
    }
}

impl Pricing {
    /// Today's us-east-1 Lambda prices for an architecture, 1 ms billing, no Step Functions charge.
    pub fn aws(architecture: Architecture) -> Self {
        let price_per_gb_second = match architecture {
            Architecture::X86_64 => 0.000_016_666_7,
            Architecture::Arm64 => 0.000_013_333_4,
        };
        Pricing {
            region: "us-east-1".to_string(),
            architecture,
            price_per_gb_second,
            price_per_request: 0.20 / 1_000_000.0,
            billing_granularity_ms: 1.0,
            step_functions: None,
        }
    }

    /// The thesis text's pricing: x86_64 prices with durations rounded up to 100 ms.
    pub fn thesis_100ms() -> Self {
        Pricing {
            billing_granularity_ms: 100.0,
            ..Pricing::aws(Architecture::X86_64)
        }
    }

    /// The billed duration of one invocation: `ceil(duration / g) · g` milliseconds.
    pub fn billed_duration_ms(&self, duration_ms: f64) -> f64 {
        let g = self.billing_granularity_ms;
        if duration_ms <= 0.0 {
            return 0.0;
        }
        // Guard against floating-point noise: 300.0000000001 ms computed from a model is 300 ms.
        let units = duration_ms / g;
        let rounded = units.round();
        let units = if (units - rounded).abs() < 1e-9 {
            rounded
        } else {
            units.ceil()
        };
        units * g
    }

    /// USD for one invocation of a function with `memory_mb` that runs for `duration_ms`.
    pub fn invocation_cost(&self, memory_mb: f64, duration_ms: f64) -> f64 {
        let billed_s = self.billed_duration_ms(duration_ms) / 1000.0;
        billed_s * (memory_mb / 1024.0) * self.price_per_gb_second + self.price_per_request
    }

    /// USD the orchestration adds to one execution that takes `transitions` state transitions.
    pub fn orchestration_cost(&self, transitions: f64) -> f64 {
        match self.step_functions {
            None => 0.0,
            Some(StepFunctionsPricing::Standard {
                price_per_transition,
            }) => transitions * price_per_transition,
        }
    }

    /// Checks that every price is finite and non-negative and the granularity positive.
    /// Returns `(field, message)` for the first problem.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let nonneg = |name: &'static str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err((name, format!("must be a finite number ≥ 0, found {v}")))
            }
        };
        nonneg("price_per_gb_second", self.price_per_gb_second)?;
        nonneg("price_per_request", self.price_per_request)?;
        if !(self.billing_granularity_ms.is_finite() && self.billing_granularity_ms > 0.0) {
            return Err((
                "billing_granularity_ms",
                format!(
                    "must be a finite number > 0, found {}",
                    self.billing_granularity_ms
                ),
            ));
        }
        if let Some(StepFunctionsPricing::Standard {
            price_per_transition,
        }) = self.step_functions
        {
            nonneg("step_functions.price_per_transition", price_per_transition)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_ms_billing_rounds_up_to_the_millisecond() {
        let p = Pricing::aws(Architecture::X86_64);
        assert_eq!(p.billed_duration_ms(100.2), 101.0);
        assert_eq!(p.billed_duration_ms(100.0), 100.0);
        // 1024 MB for 1 s: exactly one GB-second plus the request.
        let c = p.invocation_cost(1024.0, 1000.0);
        assert!((c - (0.000_016_666_7 + 0.000_000_2)).abs() < 1e-15);
    }

    #[test]
    fn thesis_preset_rounds_to_100_ms() {
        let p = Pricing::thesis_100ms();
        assert_eq!(p.billed_duration_ms(101.0), 200.0);
        assert_eq!(p.billed_duration_ms(300.0), 300.0);
        assert_eq!(p.billed_duration_ms(300.000_000_000_01), 300.0);
        // 512 MB for 150 ms billed as 200 ms: 0.2 s · 0.5 GB · price + request.
        let c = p.invocation_cost(512.0, 150.0);
        assert!((c - (0.2 * 0.5 * 0.000_016_666_7 + 0.000_000_2)).abs() < 1e-15);
    }

    #[test]
    fn arm64_is_cheaper_per_gb_second() {
        let x = Pricing::aws(Architecture::X86_64);
        let a = Pricing::aws(Architecture::Arm64);
        assert_eq!(a.price_per_gb_second, 0.000_013_333_4);
        assert!(a.invocation_cost(2048.0, 500.0) < x.invocation_cost(2048.0, 500.0));
    }

    #[test]
    fn step_functions_standard_charges_per_transition() {
        let mut p = Pricing::default();
        assert_eq!(p.orchestration_cost(4.0), 0.0);
        p.step_functions = Some(StepFunctionsPricing::standard());
        assert!((p.orchestration_cost(4.0) - 4.0 * 0.000_025).abs() < 1e-18);
    }

    #[test]
    fn check_names_the_bad_field() {
        let p = Pricing {
            billing_granularity_ms: 0.0,
            ..Pricing::default()
        };
        assert_eq!(p.check().unwrap_err().0, "billing_granularity_ms");
        let p = Pricing {
            price_per_request: -1.0,
            ..Pricing::default()
        };
        assert_eq!(p.check().unwrap_err().0, "price_per_request");
    }

    proptest! {
        #[test]
        fn cost_never_falls_when_duration_rises(
            m in 128.0f64..10240.0, d in 0.0f64..900_000.0, extra in 0.0f64..10_000.0,
            g in prop::sample::select(vec![1.0, 100.0]),
        ) {
            let p = Pricing { billing_granularity_ms: g, ..Pricing::default() };
            prop_assert!(p.invocation_cost(m, d + extra) >= p.invocation_cost(m, d));
            prop_assert!(p.billed_duration_ms(d) >= d - 1e-6);
        }
    }
}
