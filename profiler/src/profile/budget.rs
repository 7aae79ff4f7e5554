//! The run's hard budget and what invocations are billed.

use optiserve_core::pricing::Pricing;
use optiserve_core::sampling::{Batch, Invocation, StopReason};

/// The hard budget of a run (the plan's `max_invocations` and `max_cost_usd`): checked before
/// every invocation, warm-ups and failures included. An invocation starts only when the spent
/// cost plus the worst case of every invocation in flight and of itself (billed up to the
/// function's timeout at the configured memory, INIT included) stays within the budget; a batch is
/// cut to what that allows. The sampler's own budget (the same limits) only decides when to stop
/// asking; this one is what makes the limit hard.
#[derive(Debug, Default)]
pub(super) struct Budget {
    pub(super) max_invocations: Option<u64>,
    pub(super) max_cost_usd: Option<f64>,
    /// Invocations started (replayed ones included).
    pub(super) started: u64,
    /// USD billed by the invocations that ended.
    pub(super) spent_usd: f64,
    /// Set once a batch was cut: the limit it hit.
    pub(super) exhausted: Option<StopReason>,
}

impl Budget {
    /// How many of `wanted` invocations may start now, each costing at most `worst_usd`.
    pub(super) fn allow(&mut self, wanted: u32, worst_usd: f64) -> u32 {
        let mut n = u64::from(wanted);
        if let Some(cap) = self.max_invocations {
            let left = cap.saturating_sub(self.started);
            if left < n {
                n = left;
                self.exhausted = Some(StopReason::InvocationCap);
            }
        }
        if let Some(cap) = self.max_cost_usd {
            let left = ((cap - self.spent_usd) / worst_usd.max(f64::MIN_POSITIVE)).floor();
            let left = if left.is_finite() && left > 0.0 {
                left as u64
            } else {
                0
            };
            if left < n {
                n = left;
                self.exhausted = Some(StopReason::CostCap);
            }
        }
        self.started += n;
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Records what an invocation that ended was billed.
    pub(super) fn spend(&mut self, usd: f64) {
        self.spent_usd += usd;
    }
}

/// The longest Lambda timeout (s): the worst case of a function whose timeout is unknown.
pub(super) const MAX_TIMEOUT_S: u32 = 900;
/// The longest INIT phase Lambda allows (10 s), billed on a cold start.
pub(super) const MAX_INIT_MS: f64 = 10_000.0;

/// What one invocation was billed: its reported billed duration (else its duration; INIT
/// included, as AWS bills it), at the memory it ran with.
pub(super) fn invocation_cost(pricing: &Pricing, memory_mb: u32, inv: &Invocation) -> f64 {
    let billed = inv
        .billed_duration_ms
        .or(inv
            .duration_ms
            .map(|d| d + inv.init_duration_ms.unwrap_or(0.0)))
        .unwrap_or(0.0);
    pricing.invocation_cost(f64::from(memory_mb), billed)
}

/// What a recorded batch was billed.
pub(super) fn batch_cost(pricing: &Pricing, memory_mb: u32, b: &Batch) -> f64 {
    b.warmup
        .iter()
        .chain(&b.invocations)
        .map(|i| invocation_cost(pricing, memory_mb, i))
        .sum()
}
