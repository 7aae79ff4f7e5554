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
    /// the edges from `Start` and into `End` included, each edge weighted by its `transitions`
    /// (default 1; an imported state machine's edges count the Choice, Pass and Succeed states
    /// folded into them, so the count matches the states Step Functions enters, plus one).
    Standard {
        /// USD per state transition.
        price_per_transition: f64,
    },
    /// Express workflows: a price per execution (request) plus the execution's duration, rounded
    /// up to `billing_granularity_ms`, times its memory in GB, at `price_per_gb_second`. The
    /// duration charged is the model's expected end-to-end latency (the simulator charges each
    /// simulated execution's own). us-east-1: $1.00 per million requests; $0.06 per GB-hour
    /// ($0.0000166667 per GB-s) for the first 1,000 GB-hours a month, then $0.03 for the next
    /// 4,000 and $0.01642 beyond: the tiers depend on the month's total, so the bundle holds the
    /// one rate that applies; memory is billed in 64 MB chunks (50 MB plus the definition and
    /// payload sizes for most workflows, hence the 64 MB default).
    Express {
        /// USD per execution started.
        price_per_request: f64,
        /// USD per GB-second of billed duration × billed memory.
        price_per_gb_second: f64,
        /// Billed memory of one execution, MB (a multiple of 64).
        #[serde(default = "default_express_memory")]
        memory_mb: f64,
        /// Durations are rounded up to a multiple of this many ms (100 on AWS).
        #[serde(default = "default_express_granularity")]
        billing_granularity_ms: f64,
    },
}

fn default_express_memory() -> f64 {
    64.0
}

fn default_express_granularity() -> f64 {
    100.0
}

impl StepFunctionsPricing {
    /// Standard workflows at today's us-east-1 price ($0.025 per 1,000 state transitions).
    pub fn standard() -> Self {
        StepFunctionsPricing::Standard {
            price_per_transition: 0.025 / 1000.0,
        }
    }

    /// Express workflows at today's us-east-1 prices: $1.00 per million requests and the first
    /// duration tier, $0.06 per GB-hour, with 64 MB of billed memory and 100 ms rounding.
    pub fn express() -> Self {
        StepFunctionsPricing::Express {
            price_per_request: 1.0 / 1_000_000.0,
            price_per_gb_second: 0.06 / 3600.0,
            memory_mb: default_express_memory(),
            billing_granularity_ms: default_express_granularity(),
        }
    }
}

/// Which invocations AWS bills the INIT phase (a cold start's `Init Duration`) of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InitBilling {
    /// Every on-demand function's INIT phase is billed like its duration (AWS since 1 August
    /// 2025): a cold invocation bills `Init Duration + Duration`.
    #[default]
    Always,
    /// The rule before 1 August 2025: the INIT phase is free for ZIP packages on managed runtimes
    /// and billed for container images (a function's `package`).
    ContainerImagesOnly,
}

impl InitBilling {
    fn is_default(&self) -> bool {
        *self == InitBilling::default()
    }
}

/// How a function is deployed (it decides whether the INIT phase is billed under
/// [`InitBilling::ContainerImagesOnly`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PackageType {
    /// A ZIP archive on a managed runtime.
    #[default]
    Zip,
    /// A container image (or a custom runtime).
    Image,
}

/// Hours AWS counts in a month for provisioned concurrency (730).
pub const HOURS_PER_MONTH: f64 = 730.0;

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
    /// Which cold starts bill their INIT phase (default `always`, AWS's rule since 1 August 2025;
    /// `container_images_only` for the rule before).
    #[serde(default, skip_serializing_if = "InitBilling::is_default")]
    pub init_billing: InitBilling,
    /// USD per GB-second that provisioned concurrency is configured (left out: us-east-1's price
    /// for the architecture, $0.0000041667 on x86_64, $0.0000033334 on arm64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_concurrency_price_per_gb_second: Option<f64>,
    /// USD per GB-second of duration on provisioned concurrency, replacing
    /// `price_per_gb_second` for a function that has it (left out: us-east-1's, $0.0000097222 on
    /// x86_64, $0.0000077778 on arm64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_duration_price_per_gb_second: Option<f64>,
    /// Where the figures come from (e.g. the built-in region table with its sources and date, or
    /// the plan); left out in bundles written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
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
            init_billing: InitBilling::Always,
            provisioned_concurrency_price_per_gb_second: None,
            provisioned_duration_price_per_gb_second: None,
            source: None,
        }
    }

    /// USD per GB-second of configured provisioned concurrency.
    pub fn provisioned_concurrency_price(&self) -> f64 {
        self.provisioned_concurrency_price_per_gb_second
            .unwrap_or(match self.architecture {
                Architecture::X86_64 => 0.000_004_166_7,
                Architecture::Arm64 => 0.000_003_333_4,
            })
    }

    /// USD per GB-second of duration on provisioned concurrency.
    pub fn provisioned_duration_price(&self) -> f64 {
        self.provisioned_duration_price_per_gb_second
            .unwrap_or(match self.architecture {
                Architecture::X86_64 => 0.000_009_722_2,
                Architecture::Arm64 => 0.000_007_777_8,
            })
    }

    /// Is a cold start's INIT phase billed for a function packaged as `package`?
    pub fn init_billed(&self, package: PackageType) -> bool {
        match self.init_billing {
            InitBilling::Always => true,
            InitBilling::ContainerImagesOnly => package == PackageType::Image,
        }
    }

    /// USD for one invocation of `memory_mb` billed for `duration_ms` at `price_per_gb_second`
    /// (the on-demand or the provisioned duration price).
    pub fn invocation_cost_at(
        &self,
        memory_mb: f64,
        duration_ms: f64,
        price_per_gb_second: f64,
    ) -> f64 {
        let billed_s = self.billed_duration_ms(duration_ms) / 1000.0;
        billed_s * (memory_mb / 1024.0) * price_per_gb_second + self.price_per_request
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
        round_up(duration_ms, self.billing_granularity_ms)
    }

    /// USD for one invocation of a function with `memory_mb` that runs for `duration_ms`.
    pub fn invocation_cost(&self, memory_mb: f64, duration_ms: f64) -> f64 {
        self.invocation_cost_at(memory_mb, duration_ms, self.price_per_gb_second)
    }

    /// USD the orchestration adds to one execution that takes `transitions` state transitions
    /// and `latency_ms` end to end.
    pub fn orchestration_cost(&self, transitions: f64, latency_ms: f64) -> f64 {
        self.orchestration_fixed_cost(transitions) + self.orchestration_duration_cost(latency_ms)
    }

    /// The part of [`Pricing::orchestration_cost`] that does not depend on the latency: Standard
    /// transitions, Express requests.
    pub fn orchestration_fixed_cost(&self, transitions: f64) -> f64 {
        match self.step_functions {
            None => 0.0,
            Some(StepFunctionsPricing::Standard {
                price_per_transition,
            }) => transitions * price_per_transition,
            Some(StepFunctionsPricing::Express {
                price_per_request, ..
            }) => price_per_request,
        }
    }

    /// The part of [`Pricing::orchestration_cost`] that depends on the latency (Express duration):
    /// non-decreasing in `latency_ms`, so a latency lower bound gives a cost lower bound.
    pub fn orchestration_duration_cost(&self, latency_ms: f64) -> f64 {
        match self.step_functions {
            Some(StepFunctionsPricing::Express {
                price_per_gb_second,
                memory_mb,
                billing_granularity_ms,
                ..
            }) => {
                let billed = round_up(latency_ms, billing_granularity_ms);
                billed / 1000.0 * (memory_mb / 1024.0) * price_per_gb_second
            }
            _ => 0.0,
        }
    }

    /// The Express prices a Distributed Map's Express child executions are billed at: the
    /// bundle's own Step Functions prices when the workflow is Express, else today's us-east-1
    /// Express prices ([`StepFunctionsPricing::express`]). Returns the USD per child execution
    /// (request), the USD per millisecond of child duration (its billed memory × the GB-second
    /// price), and the billing granularity in ms.
    pub fn express_child_prices(&self) -> (f64, f64, f64) {
        let express = match self.step_functions {
            Some(e @ StepFunctionsPricing::Express { .. }) => e,
            _ => StepFunctionsPricing::express(),
        };
        match express {
            StepFunctionsPricing::Express {
                price_per_request,
                price_per_gb_second,
                memory_mb,
                billing_granularity_ms,
            } => (
                price_per_request,
                memory_mb / 1024.0 * price_per_gb_second / 1000.0,
                billing_granularity_ms,
            ),
            StepFunctionsPricing::Standard { .. } => (0.0, 0.0, 1.0),
        }
    }

    /// Checks that every price is finite and non-negative and the granularity positive.
    /// Returns `(field, message)` for the first problem.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        use crate::limits::{BILLING_GRANULARITY_MS, PRICE_USD, Range};
        let within =
            |name: &'static str, range: &Range, v: f64| range.check(v).map_err(|m| (name, m));
        let price = |name: &'static str, v: f64| within(name, &PRICE_USD, v);
        price("price_per_gb_second", self.price_per_gb_second)?;
        price("price_per_request", self.price_per_request)?;
        if let Some(p) = self.provisioned_concurrency_price_per_gb_second {
            price("provisioned_concurrency_price_per_gb_second", p)?;
        }
        if let Some(p) = self.provisioned_duration_price_per_gb_second {
            price("provisioned_duration_price_per_gb_second", p)?;
        }
        within(
            "billing_granularity_ms",
            &BILLING_GRANULARITY_MS,
            self.billing_granularity_ms,
        )?;
        match self.step_functions {
            None => {}
            Some(StepFunctionsPricing::Standard {
                price_per_transition,
            }) => price("step_functions.price_per_transition", price_per_transition)?,
            Some(StepFunctionsPricing::Express {
                price_per_request,
                price_per_gb_second,
                memory_mb,
                billing_granularity_ms,
            }) => {
                price("step_functions.price_per_request", price_per_request)?;
                price("step_functions.price_per_gb_second", price_per_gb_second)?;
                within(
                    "step_functions.memory_mb",
                    &Range {
                        min: 0.0,
                        ..crate::limits::MEMORY_MB
                    },
                    memory_mb,
                )?;
                within(
                    "step_functions.billing_granularity_ms",
                    &BILLING_GRANULARITY_MS,
                    billing_granularity_ms,
                )?;
            }
        }
        Ok(())
    }
}

/// `ceil(x / g) · g` for x > 0 (0 otherwise), forgiving floating-point noise: 300.0000000001 ms
/// computed from a model is 300 ms.
fn round_up(x: f64, g: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let units = x / g;
    let rounded = units.round();
    let units = if (units - rounded).abs() < 1e-9 {
        rounded
    } else {
        units.ceil()
    };
    units * g
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
        assert_eq!(p.orchestration_cost(4.0, 1000.0), 0.0);
        p.step_functions = Some(StepFunctionsPricing::standard());
        assert!((p.orchestration_cost(4.0, 1000.0) - 4.0 * 0.000_025).abs() < 1e-18);
    }

    #[test]
    fn step_functions_express_charges_requests_and_rounded_duration() {
        let p = Pricing {
            step_functions: Some(StepFunctionsPricing::express()),
            ..Pricing::default()
        };
        // AWS's own example: 10 s at 64 MB is 0.625 GB-s at $0.06 per GB-hour, plus $1 per million.
        let want = 1e-6 + 10.0 * (64.0 / 1024.0) * (0.06 / 3600.0);
        assert!((p.orchestration_cost(99.0, 10_000.0) - want).abs() < 1e-15);
        // 10,001 ms is billed as 10,100 ms.
        let more = p.orchestration_duration_cost(10_001.0);
        assert!((more - 10.1 * (64.0 / 1024.0) * (0.06 / 3600.0)).abs() < 1e-15);
        // Transitions are free on Express.
        assert_eq!(
            p.orchestration_fixed_cost(1.0),
            p.orchestration_fixed_cost(1e6)
        );
        let bad = Pricing {
            step_functions: Some(StepFunctionsPricing::Express {
                price_per_request: 1e-6,
                price_per_gb_second: 1e-5,
                memory_mb: 64.0,
                billing_granularity_ms: 0.0,
            }),
            ..Pricing::default()
        };
        assert_eq!(
            bad.check().unwrap_err().0,
            "step_functions.billing_granularity_ms"
        );
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
