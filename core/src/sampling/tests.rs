//! The sampler's tests.

use super::*;
use crate::model::{CpuShareModel, ExpModel, ModelChoice, ModelFamily};
use crate::pricing::Pricing;
use proptest::prelude::*;
use rand_core::Rng;
use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

fn range(lo: u32, hi: u32, step: u32) -> Vec<u32> {
    (lo..=hi).step_by(step as usize).collect()
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u = |r: &mut Xoshiro256PlusPlus| ((r.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let (a, b) = (u(rng), u(rng));
    (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
}

/// Runs a sampler against a curve with multiplicative noise; `fail` may turn an invocation
/// into a failure. Returns the result.
fn drive(
    sampler: &mut Sampler,
    curve: impl Fn(u32) -> f64,
    noise: f64,
    seed: u64,
    mut fail: impl FnMut(u32, u64) -> Option<Invocation>,
) -> SamplingResult {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut n = 0u64;
    let mut call = |m: u32, rng: &mut Xoshiro256PlusPlus| {
        n += 1;
        if let Some(f) = fail(m, n) {
            return f;
        }
        Invocation::ok(curve(m) * (1.0 + noise * normal(rng)).max(0.05))
    };
    for _ in 0..10_000 {
        match sampler.next_step() {
            Step::Done(_) => return sampler.result(),
            Step::Measure(r) => {
                let warmup = r.warmup.then(|| call(r.memory_mb, &mut rng));
                let invocations = (0..r.count).map(|_| call(r.memory_mb, &mut rng)).collect();
                sampler
                    .record(&Batch {
                        warmup,
                        invocations,
                    })
                    .unwrap();
            }
        }
    }
    panic!("the sampler did not stop");
}

fn true_best(
    curve: &impl Fn(u32) -> f64,
    candidates: &[u32],
    floor: u32,
    p: &Pricing,
) -> (u32, f64) {
    candidates
        .iter()
        .filter(|&&m| m >= floor)
        .map(|&m| (m, p.invocation_cost(f64::from(m), curve(m))))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

fn exp_curve(a: f64, b: f64, g: f64) -> impl Fn(u32) -> f64 {
    move |m| ExpModel::new(a, b, g).duration_ms(f64::from(m))
}

#[test]
fn seeds_are_smallest_third_and_largest_each_with_a_warm_up() {
    let mut s = Sampler::new(
        range(128, 3008, 64),
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    let mut seen = vec![];
    for _ in 0..3 {
        let Step::Measure(r) = s.next_step() else {
            panic!()
        };
        assert!(r.warmup && !r.fresh && r.count == 3, "{r:?}");
        // Calling next again gives the same request.
        assert_eq!(s.next_step(), Step::Measure(r));
        seen.push(r.memory_mb);
        let batch = Batch {
            warmup: Some(Invocation::ok(100.0)),
            invocations: vec![Invocation::ok(100.0); 3],
        };
        s.record(&batch).unwrap();
    }
    // 128 + (3008 - 128) / 3 = 1088.
    assert_eq!(seen, [128, 1088, 3008]);
    assert_eq!(s.invocations(), 12);
    assert!(s.result().memories.iter().all(|r| r.samples.len() == 3));
}

#[test]
fn a_batch_that_does_not_answer_the_request_is_refused() {
    let mut s = Sampler::new(
        vec![128, 256],
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    assert_eq!(
        s.record(&Batch {
            warmup: None,
            invocations: vec![]
        }),
        Err(SamplingError::NothingRequested)
    );
    let Step::Measure(_) = s.next_step() else {
        panic!()
    };
    let e = s
        .record(&Batch {
            warmup: None,
            invocations: vec![Invocation::ok(1.0); 3],
        })
        .unwrap_err();
    assert!(e.to_string().contains("warm-up missing"), "{e}");
    let e = s
        .record(&Batch {
            warmup: Some(Invocation::ok(1.0)),
            invocations: vec![Invocation::ok(1.0); 2],
        })
        .unwrap_err();
    assert!(
        e.to_string().contains("2 invocations for a request of 3"),
        "{e}"
    );
    assert!(Sampler::new(vec![], Pricing::default(), SamplerSettings::default()).is_err());
    let bad = SamplerSettings {
        sigma_mb: 0.0,
        ..SamplerSettings::default()
    };
    assert!(
        Sampler::new(vec![128], Pricing::default(), bad)
            .unwrap_err()
            .to_string()
            .contains("sigma_mb")
    );
}

#[test]
fn cold_starts_are_kept_but_do_not_count_nor_enter_the_model() {
    let mut s = Sampler::new(
        range(128, 1024, 128),
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    let Step::Measure(r) = s.next_step() else {
        panic!()
    };
    let cold = Invocation {
        init_duration_ms: Some(300.0),
        ..Invocation::ok(900.0)
    };
    s.record(&Batch {
        warmup: Some(Invocation::ok(100.0)),
        invocations: vec![Invocation::ok(100.0), cold, Invocation::ok(100.0)],
    })
    .unwrap();
    let Step::Measure(r2) = s.next_step() else {
        panic!()
    };
    assert_eq!(
        (r2.memory_mb, r2.warmup, r2.count),
        (r.memory_mb, false, 1),
        "one more warm sample"
    );
    s.record(&Batch {
        warmup: None,
        invocations: vec![Invocation::ok(100.0)],
    })
    .unwrap();
    let rec = &s.result().memories[0];
    assert_eq!(rec.samples.len(), 4);
    assert_eq!(rec.samples.iter().filter(|x| x.cold).count(), 1);
    assert_eq!(rec.warm(), vec![100.0; 3]);
    assert!(s.warm_samples().iter().all(|x| x.duration_ms == 100.0));
}

#[test]
fn a_high_cov_adds_samples_one_at_a_time_up_to_the_cap() {
    let settings = SamplerSettings {
        max_extra_samples: 4,
        ..SamplerSettings::default()
    };
    let mut s = Sampler::new(range(128, 1024, 128), Pricing::default(), settings).unwrap();
    let Step::Measure(_) = s.next_step() else {
        panic!()
    };
    s.record(&Batch {
        warmup: Some(Invocation::ok(100.0)),
        invocations: vec![
            Invocation::ok(80.0),
            Invocation::ok(100.0),
            Invocation::ok(120.0),
        ],
    })
    .unwrap();
    for k in 0..4 {
        let Step::Measure(r) = s.next_step() else {
            panic!()
        };
        assert_eq!(
            (r.memory_mb, r.count, r.warmup),
            (128, 1, false),
            "extra {k}"
        );
        s.record(&Batch {
            warmup: None,
            invocations: vec![Invocation::ok(if k % 2 == 0 { 70.0 } else { 130.0 })],
        })
        .unwrap();
    }
    let Step::Measure(r) = s.next_step() else {
        panic!()
    };
    assert_ne!(
        r.memory_mb, 128,
        "the CoV stayed high: the cap ends the extras"
    );
    let rec = &s.result().memories[0];
    assert_eq!(
        (rec.samples.len(), rec.extra_samples),
        (7, 4),
        "added, not swapped"
    );
    // A CoV that falls below the threshold ends the extras early.
    let mut s = Sampler::new(
        range(128, 1024, 128),
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    let Step::Measure(_) = s.next_step() else {
        panic!()
    };
    s.record(&Batch {
        warmup: Some(Invocation::ok(1.0)),
        invocations: vec![
            Invocation::ok(100.0),
            Invocation::ok(100.0),
            Invocation::ok(115.0),
        ],
    })
    .unwrap();
    let Step::Measure(r) = s.next_step() else {
        panic!()
    };
    assert_eq!((r.memory_mb, r.count), (128, 1));
    s.record(&Batch {
        warmup: None,
        invocations: vec![Invocation::ok(100.0)],
    })
    .unwrap();
    assert!(cov(&[100.0, 100.0, 115.0, 100.0]) < 0.075);
    let Step::Measure(r) = s.next_step() else {
        panic!()
    };
    assert!(r.memory_mb == 128 || r.memory_mb == 384, "{r:?}");
}

#[test]
fn out_of_memory_and_timeouts_raise_the_floor() {
    let candidates = range(128, 3008, 64);
    let mut s = Sampler::new(
        candidates.clone(),
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    let curve = exp_curve(200.0, 3000.0, 0.003);
    // Out of memory below 512 MB, reported three ways: killed, timeout at 128, Max Memory Used.
    let r = drive(&mut s, &curve, 0.0, 1, |m, _| match m {
        128 => Some(Invocation::failed(
            Status::OutOfMemory,
            "Runtime exited with error: signal: killed",
        )),
        192..=320 => Some(Invocation::failed(
            Status::Timeout,
            "Task timed out after 3.00 seconds",
        )),
        384..=448 => Some(Invocation {
            max_memory_used_mb: Some(f64::from(m)),
            ..Invocation::ok(5000.0)
        }),
        _ => None,
    });
    // The floor is a memory that ran, at or above the last failure.
    assert!(r.floor_mb >= 512, "{r:#?}");
    assert!(
        r.memories
            .iter()
            .any(|m| m.memory_mb == r.floor_mb && !m.warm().is_empty()),
        "{r:#?}"
    );
    assert!(!r.stop.is_error(), "{:?}", r.stop);
    let best = r.best_memory_mb.unwrap();
    assert!(best >= r.floor_mb);
    // Failures are recorded, never samples.
    for rec in &r.memories {
        if rec.memory_mb < 512 {
            assert!(
                rec.samples.is_empty() && !rec.failures.is_empty(),
                "{rec:?}"
            );
        }
    }
    // The first failure doubles the probe: 256 comes next, not 192.
    assert_eq!(
        r.memories[1].memory_mb,
        256,
        "{:?}",
        r.memories.iter().map(|m| m.memory_mb).collect::<Vec<_>>()
    );
    // Every memory fails: no feasible memory.
    let mut s = Sampler::new(
        vec![128, 256],
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    let r = drive(&mut s, &curve, 0.0, 1, |_, _| {
        Some(Invocation::failed(Status::OutOfMemory, "killed"))
    });
    assert!(matches!(r.stop, StopReason::NoFeasibleMemory { .. }) && r.stop.is_error());
}

#[test]
fn failures_are_recorded_not_counted_and_too_many_stop_the_search() {
    let mut s = Sampler::new(
        range(128, 3008, 64),
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    let curve = exp_curve(200.0, 3000.0, 0.003);
    // Every fourth call fails.
    let r = drive(&mut s, &curve, 0.0, 3, |_, n| {
        n.is_multiple_of(4)
            .then(|| Invocation::failed(Status::Error, "boom"))
    });
    assert!(!r.stop.is_error(), "{:?}", r.stop);
    let failures: usize = r.memories.iter().map(|m| m.failures.len()).sum();
    assert!(failures > 0);
    for rec in &r.memories {
        assert!(rec.warm().len() >= 3, "{rec:?}");
        assert!(rec.invocations as usize >= rec.samples.len() + rec.failures.len());
    }
    let mut s = Sampler::new(
        range(128, 3008, 64),
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    let r = drive(&mut s, &curve, 0.0, 3, |m, _| {
        (m == 1088).then(|| Invocation::failed(Status::Error, "bad payload"))
    });
    match r.stop {
        StopReason::TooManyFailures {
            memory_mb,
            failures,
            message,
        } => {
            // Checked between batches: the batch that reaches the limit completes (4 + 3 calls).
            assert_eq!(
                (memory_mb, failures, message.as_str()),
                (1088, 7, "bad payload")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_duration_rising_with_memory_is_measured_again_on_fresh_instances() {
    let mut s = Sampler::new(
        range(128, 3008, 64),
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    let curve = exp_curve(200.0, 3000.0, 0.003);
    // The first visit to 3008 MB hits a noisy neighbour: twice as slow.
    let mut visits = 0;
    let mut requests = vec![];
    for _ in 0..1000 {
        match s.next_step() {
            Step::Done(_) => break,
            Step::Measure(r) => {
                requests.push(r);
                if r.memory_mb == 3008 && r.warmup {
                    visits += 1;
                }
                let slow = if r.memory_mb == 3008 && visits == 1 {
                    2.0
                } else {
                    1.0
                };
                let d = curve(r.memory_mb) * slow;
                s.record(&Batch {
                    warmup: r.warmup.then(|| Invocation::ok(d)),
                    invocations: vec![Invocation::ok(d); r.count as usize],
                })
                .unwrap();
            }
        }
    }
    let again: Vec<_> = requests
        .iter()
        .filter(|r| r.fresh)
        .map(|r| r.memory_mb)
        .collect();
    assert!(again.contains(&3008), "{requests:?}");
    assert!(
        again.contains(&1088),
        "both sides of the rise are measured again: {again:?}"
    );
    let r = s.result();
    let rec = r.memories.iter().find(|m| m.memory_mb == 3008).unwrap();
    assert!(rec.remeasured);
    assert_eq!(rec.samples.iter().filter(|x| x.superseded).count(), 3);
    assert_eq!(rec.warm(), vec![curve(3008); 3]);
    // Once only: a second rise is accepted.
    assert_eq!(again.iter().filter(|&&m| m == 3008).count(), 1);
}

#[test]
fn budgets_stop_the_search() {
    let curve = exp_curve(200.0, 3000.0, 0.003);
    let settings = SamplerSettings {
        max_invocations: Some(10),
        ..SamplerSettings::default()
    };
    let mut s = Sampler::new(range(128, 3008, 64), Pricing::default(), settings).unwrap();
    let r = drive(&mut s, &curve, 0.0, 1, |_, _| None);
    assert_eq!(r.stop, StopReason::InvocationCap);
    assert!(
        r.invocations >= 10 && r.invocations < 14,
        "{}",
        r.invocations
    );
    let settings = SamplerSettings {
        max_cost_usd: Some(1e-6),
        ..SamplerSettings::default()
    };
    let mut s = Sampler::new(range(128, 3008, 64), Pricing::default(), settings).unwrap();
    let r = drive(&mut s, &curve, 0.0, 1, |_, _| None);
    assert_eq!(r.stop, StopReason::CostCap);
    let settings = SamplerSettings {
        max_memories: 4,
        ..SamplerSettings::default()
    };
    let mut s = Sampler::new(range(128, 3008, 16), Pricing::default(), settings).unwrap();
    let r = drive(&mut s, &curve, 0.08, 1, |_, _| None);
    assert!(
        r.memories.len() <= 4 && r.memories.len() >= 3,
        "{}",
        r.memories.len()
    );
}

#[test]
fn the_state_serializes_and_replays_to_the_same_requests() {
    let curve = exp_curve(300.0, 5000.0, 0.002);
    let mut a = Sampler::new(
        range(128, 3008, 64),
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    let mut batches = vec![];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    while let Step::Measure(r) = a.next_step() {
        let mut inv = || Invocation::ok(curve(r.memory_mb) * (1.0 + 0.04 * normal(&mut rng)));
        let b = Batch {
            warmup: r.warmup.then(&mut inv),
            invocations: (0..r.count).map(|_| inv()).collect(),
        };
        a.record(&b).unwrap();
        batches.push((r, b));
        if batches.len() == 3 {
            let text = serde_json::to_string(&a).unwrap();
            let back: Sampler = serde_json::from_str(&text).unwrap();
            assert_eq!(back, a);
        }
    }
    let mut b = Sampler::new(
        range(128, 3008, 64),
        Pricing::default(),
        SamplerSettings::default(),
    )
    .unwrap();
    for (r, batch) in &batches {
        assert_eq!(b.next_step(), Step::Measure(*r));
        b.record(batch).unwrap();
    }
    assert!(matches!(b.next_step(), Step::Done(_)));
    assert_eq!(a.result(), b.result());
}

/// The quality claim on a few known curves (the full table is the profiler's sampler-quality
/// test): the chosen memory costs within 5% of the true optimum, with fewer invocations than a
/// 64 MB sweep (46 memories × (3 samples + 1 warm-up) = 184).
#[test]
fn converges_near_the_true_optimum_with_fewer_calls_than_a_sweep() {
    let candidates = range(128, 3008, 64);
    let p = Pricing::default();
    for (k, (a, b, g)) in [
        (180.0, 2600.0, 1.0 / 420.0),
        (50.0, 8000.0, 0.004),
        (400.0, 900.0, 0.001),
        (20.0, 20000.0, 0.0025),
    ]
    .into_iter()
    .enumerate()
    {
        let curve = exp_curve(a, b, g);
        let mut s =
            Sampler::new(candidates.clone(), p.clone(), SamplerSettings::default()).unwrap();
        let r = drive(&mut s, &curve, 0.03, k as u64, |_, _| None);
        let (_, best_cost) = true_best(&curve, &candidates, 128, &p);
        let chosen = r.best_memory_mb.unwrap();
        let chosen_cost = p.invocation_cost(f64::from(chosen), curve(chosen));
        assert!(
            chosen_cost <= best_cost * 1.05,
            "curve {k}: chose {chosen} MB at {chosen_cost} vs {best_cost}; {r:#?}"
        );
        assert!(
            r.invocations < 184,
            "curve {k}: {} invocations",
            r.invocations
        );
    }
}

/// Curves shaped like Lambda's CPU share (the real functions of `docs/models.md`: knees at
/// 865–1,781 MB, a negative serial part, a multi-thread share): the search finds the knee with
/// a few memories around it, the result selects the CPU-share model, and the memory chosen costs
/// at most 3% more than the true optimum.
#[test]
fn finds_the_knee_of_cpu_share_curves() {
    let candidates = range(128, 3008, 64);
    let p = Pricing::default();
    for (k, truth) in [
        CpuShareModel::new(-4.4, 205.5, 1755.0),
        CpuShareModel::new(-103.6, 407.5, 865.0),
        CpuShareModel::new(-12.2, 491.6, 1781.0),
        CpuShareModel::new(443.4, 415.1, 1728.0).with_parallel_fraction(0.5),
        CpuShareModel::new(100.0, 300.0, 1769.0),
    ]
    .into_iter()
    .enumerate()
    {
        let curve = |m: u32| truth.duration_ms(f64::from(m));
        for choice in [ModelChoice::Auto, ModelChoice::Exponential] {
            let settings = SamplerSettings {
                model: choice,
                ..SamplerSettings::default()
            };
            let mut s = Sampler::new(candidates.clone(), p.clone(), settings).unwrap();
            let r = drive(&mut s, curve, 0.03, k as u64, |_, _| None);
            let (best, best_cost) = true_best(&curve, &candidates, 128, &p);
            let chosen = r.best_memory_mb.unwrap();
            let ratio = p.invocation_cost(f64::from(chosen), curve(chosen)) / best_cost;
            let fit = r.fit.as_ref().unwrap();
            let mut seen: Vec<u32> = r.memories.iter().map(|m| m.memory_mb).collect();
            seen.sort_unstable();
            // The fitted model against the true curve over every candidate (%).
            let truth_error = candidates
                .iter()
                .map(|&m| (fit.model.duration_ms(f64::from(m)) / curve(m) - 1.0).abs())
                .sum::<f64>()
                / candidates.len() as f64
                * 100.0;
            println!(
                "curve {k} {choice:?}: {} invocations, memories {seen:?}, chose {chosen} (best {best}, cost ×{ratio:.4}), {:?} MAPE {:.2}%, against the truth {truth_error:.2}%: {:?}",
                r.invocations, fit.family, fit.mape_percent, fit.model
            );
            assert!(
                r.invocations < 184,
                "curve {k}: {} invocations",
                r.invocations
            );
            if choice == ModelChoice::Auto {
                assert!(
                    ratio <= 1.03,
                    "curve {k}: chose {chosen} MB, ×{ratio} the optimum"
                );
                assert_eq!(fit.family, ModelFamily::CpuShare, "curve {k}: {fit:#?}");
                assert!(
                    truth_error < 2.0,
                    "curve {k}: {truth_error}% from the truth"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// On any decaying curve, with or without noise and failures: requests stay within the
    /// candidates and above the floor, the search stops within its caps, every invocation is
    /// accounted for, and without noise the choice is within 1% of the true optimum.
    #[test]
    fn invariants(
        a in 5.0f64..2000.0, b in 0.0f64..20000.0, g in 0.0002f64..0.02,
        step in prop::sample::select(vec![1u32, 16, 64, 128]),
        noise in prop::sample::select(vec![0.0f64, 0.02, 0.1]),
        fail_every in prop::sample::select(vec![0u64, 7, 13]),
        seed in 0u64..1000,
    ) {
        let candidates = range(128, 3008, step);
        let p = Pricing::default();
        let curve = exp_curve(a, b, g);
        let mut s = Sampler::new(candidates.clone(), p.clone(), SamplerSettings::default()).unwrap();
        let mut fed = 0u64;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut n = 0u64;
        let mut steps = 0;
        let stop = loop {
            steps += 1;
            prop_assert!(steps < 500, "no stop");
            match s.next_step() {
                Step::Done(r) => break r,
                Step::Measure(r) => {
                    prop_assert!(candidates.contains(&r.memory_mb));
                    prop_assert!(r.memory_mb >= s.result().floor_mb);
                    prop_assert!(r.count >= 1);
                    let mut call = || {
                        n += 1;
                        if fail_every > 0 && n.is_multiple_of(fail_every) {
                            Invocation::failed(Status::Error, "injected")
                        } else {
                            Invocation::ok(curve(r.memory_mb) * (1.0 + noise * normal(&mut rng)).max(0.05))
                        }
                    };
                    let batch = Batch { warmup: r.warmup.then(&mut call), invocations: (0..r.count).map(|_| call()).collect() };
                    fed += batch.invocations.len() as u64 + u64::from(batch.warmup.is_some());
                    s.record(&batch).unwrap();
                }
            }
        };
        let r = s.result();
        prop_assert!(!stop.is_error(), "{stop:?}");
        prop_assert_eq!(r.invocations, fed);
        let per_memory: u64 = r.memories.iter().map(|m| m.invocations).sum();
        prop_assert_eq!(per_memory, fed);
        let distinct = r.memories.len();
        prop_assert!(distinct <= 20, "{distinct} memories");
        let mut seen = r.memories.iter().map(|m| m.memory_mb).collect::<Vec<_>>();
        seen.sort_unstable();
        seen.dedup();
        prop_assert_eq!(seen.len(), distinct, "a memory listed twice");
        for m in &r.memories {
            prop_assert!(m.warm().len() >= 3 || !m.failures.is_empty());
        }
        if noise == 0.0 {
            let (_, best) = true_best(&curve, &candidates, 128, &p);
            let chosen = r.best_memory_mb.unwrap();
            let cost = p.invocation_cost(f64::from(chosen), curve(chosen));
            prop_assert!(cost <= best * 1.01, "chose {} at {} vs {}", chosen, cost, best);
        }
    }
}
