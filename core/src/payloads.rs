//! Weighted payloads (as in AWS Lambda Power Tuning's weighted payloads): a function profiled with
//! several inputs, each with its share of production invocations. At every memory the profiler
//! makes rounds of invocations, one per payload; [`mix`] turns a round into the one invocation the
//! sampler sees, whose duration is the weighted mean of the round's: the fitted model is then the
//! weighted mix `Σ wᵢ·ETᵢ(m)` of the payloads' curves, which is what the expected cost and latency
//! of production traffic need (both are linear in the duration).

use crate::sampling::{Invocation, Status};

/// Weights scaled to sum to 1. Each must be finite and > 0.
pub fn normalize_weights(weights: &[f64]) -> Result<Vec<f64>, String> {
    if weights.is_empty() {
        return Err("no payload".into());
    }
    if let Some((i, w)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w > 0.0))
    {
        return Err(format!(
            "payload {i}: the weight must be a number > 0, found {w}"
        ));
    }
    let total: f64 = weights.iter().sum();
    Ok(weights.iter().map(|w| w / total).collect())
}

/// The invocation a round of `round[i]` (one per payload, made at `memory_mb`) counts as, with
/// `weights` summing to 1:
/// - the first that failed (by its effective status), when one did: a failure, a timeout or an
///   out-of-memory kill of one payload is one of the function's;
/// - else a success whose duration is `Σ wᵢ·durationᵢ`, whose billed duration is the round's
///   total (what the round cost, so that the sampler's spending stays right), the largest Max
///   Memory Used, and the first Init Duration (a round with a cold start is cold and stays out of
///   the warm model).
pub fn mix(round: &[Invocation], weights: &[f64], memory_mb: u32) -> Invocation {
    if let Some(failed) = round
        .iter()
        .find(|i| i.effective_status(memory_mb) != Status::Ok)
    {
        return failed.clone();
    }
    let duration: f64 = round
        .iter()
        .zip(weights)
        .map(|(i, w)| w * i.duration_ms.unwrap_or(0.0))
        .sum();
    let billed: f64 = round
        .iter()
        .map(|i| i.billed_duration_ms.or(i.duration_ms).unwrap_or(0.0))
        .sum();
    Invocation {
        status: Status::Ok,
        duration_ms: Some(duration),
        billed_duration_ms: Some(billed),
        max_memory_used_mb: round
            .iter()
            .filter_map(|i| i.max_memory_used_mb)
            .reduce(f64::max),
        init_duration_ms: round.iter().find_map(|i| i.init_duration_ms),
        message: None,
    }
}

/// The weighted mean of the round's billed durations (the billed duration a sample of the mix
/// stands for).
pub fn mean_billed_ms(round: &[Invocation], weights: &[f64]) -> f64 {
    round
        .iter()
        .zip(weights)
        .map(|(i, w)| w * i.billed_duration_ms.or(i.duration_ms).unwrap_or(0.0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_is_the_weighted_mean_and_costs_its_total() {
        let w = normalize_weights(&[3.0, 1.0]).unwrap();
        assert_eq!(w, vec![0.75, 0.25]);
        let round = [Invocation::ok(100.0), Invocation::ok(300.0)];
        let m = mix(&round, &w, 1024);
        assert_eq!(m.duration_ms, Some(150.0));
        assert_eq!(m.billed_duration_ms, Some(400.0));
        assert_eq!(mean_billed_ms(&round, &w), 150.0);
        assert!(!m.is_cold());
        let cold = Invocation {
            init_duration_ms: Some(250.0),
            ..Invocation::ok(120.0)
        };
        assert!(mix(&[Invocation::ok(100.0), cold], &w, 1024).is_cold());
    }

    #[test]
    fn one_failed_payload_fails_the_round() {
        let w = normalize_weights(&[1.0, 1.0]).unwrap();
        let m = mix(
            &[
                Invocation::ok(100.0),
                Invocation::failed(Status::OutOfMemory, "killed"),
            ],
            &w,
            128,
        );
        assert_eq!(m.status, Status::OutOfMemory);
        assert!(normalize_weights(&[1.0, 0.0]).is_err());
        assert!(normalize_weights(&[]).is_err());
    }
}
