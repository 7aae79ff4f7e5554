//! The sampler's curve suite: seeded families of true curves, each profiled end to end on the
//! simulated cloud (configure, warm-up, invoke, parse the REPORT lines, checkpoint, restore) the
//! way `optiserve profile --simulate` runs a plan, and scored against the truth.
//!
//! **Classes** (every curve is one plan with one function; 3 samples per memory, concurrency 2,
//! 5% cold starts with a 250 ms INIT and 3% noise unless the class says otherwise):
//! - `steep`: CPU-bound exponentials (`β` 5–20 s falling at `γ` 0.002–0.006 /MB over a small
//!   `α`): the optimum is in the middle or the top of 128–3,008 MB.
//! - `thesis`: exponentials over the magnitudes of the thesis' functions (`α` 20–2,000 ms, `β`
//!   0.2–20 s, `γ` 0.0005–0.01 /MB), 128–3,008 MB.
//! - `cpu-share`: Lambda CPU-share curves, the four shaped like the real functions of
//!   `docs/models.md` then random ones (serial 0–500 ms, CPU part 50–5,000 ms, knee 600–2,400 MB).
//! - `flat`: cost curves flat over a wide range: CPU-share curves whose serial part is within
//!   ±1.5% of the CPU part (`m · ET(m)` is constant below the knee), and ML-like exponentials on
//!   1,024–9,728 MB in 256 MB steps (the app3 ResNet and YOLO variants' shape).
//! - `io-bound`: a large constant part (`α` 0.3–3 s) over a small CPU part: the cheapest memory is
//!   the smallest.
//! - `memory-floor`: variants that need at least 1,024–2,048 MB, profiled from that floor to
//!   9,728 or 10,240 MB in 256 MB steps.
//! - `oom-region`: 128–3,008 MB where every memory below 256–1,024 MB is killed for lack of
//!   memory (the search must find the floor).
//! - `noisy`: 6–10% coefficient of variation.
//! - `cold-starts`: 30% of calls land on a new instance, INIT 0.5–2 s, 1% of invocations fail.
//! - `coarse-grid`: grids of 256 or 512 MB steps, coarser than the sampler's belief width (200 MB).
//!
//! **Scores**, per curve: invocations (warm-ups and failures included) ÷ those of a 64 MB sweep of
//! the same range (3 samples + 1 warm-up per memory); the true cost of the chosen memory ÷ the true
//! optimum's (among the candidates the function can run at); the profiled model's mean error
//! against the true curve over every such candidate ("fit error": what the optimizers use); and
//! the dry run's estimate of invocations and cost ÷ the run's.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::Path;

use optiserve_core::model::{CpuShareModel, DurationModel, ExpModel};

use super::estimate_plan;
use super::{RetryPolicy, RunOptions, run};
use crate::plan::parse;
use crate::profile::{ProgressMode, Reporter};

/// The classes, in report order.
pub const CLASSES: [&str; 10] = [
    "steep",
    "thesis",
    "cpu-share",
    "flat",
    "io-bound",
    "memory-floor",
    "oom-region",
    "noisy",
    "cold-starts",
    "coarse-grid",
];

/// One curve of the suite.
#[derive(Debug, Clone)]
pub struct Curve {
    pub class: &'static str,
    pub name: String,
    pub truth: DurationModel,
    /// The plan's memory range: min, max, step (MB).
    pub range: (u32, u32, u32),
    /// Below this memory the function is killed for lack of memory.
    pub min_memory_mb: Option<u32>,
    pub noise_cov: f64,
    pub cold_start_rate: f64,
    pub init_ms: f64,
    pub failure_rate: f64,
}

impl Curve {
    fn new(class: &'static str, name: String, truth: DurationModel) -> Curve {
        Curve {
            class,
            name,
            truth,
            range: (128, 3008, 64),
            min_memory_mb: None,
            noise_cov: 0.03,
            cold_start_rate: 0.05,
            init_ms: 250.0,
            failure_rate: 0.0,
        }
    }

    /// The curve as a plan for the simulated cloud.
    pub fn plan_text(&self, seed: u64) -> String {
        let curve = match &self.truth {
            DurationModel::Exponential(m) => format!(
                "alpha_ms = {}, beta_ms = {}, gamma_per_mb = {}",
                m.alpha_ms, m.beta_ms, m.gamma_per_mb
            ),
            DurationModel::CpuShare(m) => format!(
                "cpu_share = {{ serial_ms = {}, cpu_ms = {}, knee_mb = {}, parallel_fraction = {} }}",
                m.serial_ms, m.cpu_ms, m.knee_mb, m.parallel_fraction
            ),
            DurationModel::Table(_) => unreachable!("no table curves"),
        };
        let floor = self
            .min_memory_mb
            .map(|m| format!(", min_memory_mb = {m}"))
            .unwrap_or_default();
        let (lo, hi, step) = self.range;
        format!(
            "samples = 3\nconcurrency = 2\nmemory = {{ min_mb = {lo}, max_mb = {hi}, step_mb = {step} }}\n\
             [simulate]\nseed = {seed}\nnoise_cov = {}\ncold_start_rate = {}\nfailure_rate = {}\n\
             [[functions]]\nid = \"fn\"\nsimulate = {{ {curve}, init_ms = {}{floor} }}\nsimulate_timeout_s = 900\n",
            self.noise_cov, self.cold_start_rate, self.failure_rate, self.init_ms
        )
    }

    /// Invocations of a 64 MB sweep of the range: 3 samples and a warm-up per memory.
    pub fn sweep(&self) -> u64 {
        let (lo, hi, _) = self.range;
        (u64::from(hi - lo) / 64 + 1) * 4
    }
}

/// A seeded uniform draw in [0, 1).
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> f64 {
        let x = &mut self.0;
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        (*x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }

    /// Log-uniform between `lo` and `hi`.
    fn log(&mut self, lo: f64, hi: f64) -> f64 {
        lo * (hi / lo).powf(self.next())
    }
}

fn exp(a: f64, b: f64, g: f64) -> DurationModel {
    DurationModel::Exponential(ExpModel::new(a, b, g))
}

fn share(s: f64, c: f64, knee: f64, p: f64) -> DurationModel {
    DurationModel::CpuShare(CpuShareModel::new(s, c, knee).with_parallel_fraction(p))
}

/// Rounds to 4 significant digits (the plan text stays short and exact).
fn r4(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(3 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// `per_class` curves of every class (the first ones of each class are the same whatever
/// `per_class`), drawn from `seed`.
pub fn curves(per_class: usize, seed: u64) -> Vec<Curve> {
    let mut out = Vec::new();
    for (k, class) in CLASSES.iter().enumerate() {
        let mut d = Draw(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((k as u64 + 1) * 0x5eed));
        for _ in 0..4 {
            d.next();
        }
        for i in 0..per_class {
            let name = format!("{class} {i}");
            let random_exp = |d: &mut Draw| {
                exp(
                    r4(d.log(20.0, 2000.0)),
                    r4(d.log(200.0, 20000.0)),
                    r4(d.log(0.0005, 0.01)),
                )
            };
            let random_share = |d: &mut Draw| {
                share(
                    r4(d.between(0.0, 500.0)),
                    r4(d.log(50.0, 5000.0)),
                    d.between(600.0, 2400.0).round(),
                    0.0,
                )
            };
            let c = match *class {
                "steep" => Curve::new(
                    class,
                    name,
                    exp(
                        r4(d.log(20.0, 200.0)),
                        r4(d.log(5000.0, 20000.0)),
                        r4(d.between(0.002, 0.006)),
                    ),
                ),
                "thesis" => Curve::new(class, name, random_exp(&mut d)),
                "cpu-share" => {
                    let real = [
                        share(-103.6, 407.5, 865.0, 0.0),
                        share(-4.4, 205.5, 1755.0, 0.0),
                        share(443.4, 415.1, 1728.0, 0.5),
                        share(-12.2, 491.6, 1781.0, 0.0),
                    ];
                    let truth = real.get(i).cloned().unwrap_or_else(|| random_share(&mut d));
                    Curve::new(class, name, truth)
                }
                "flat" if i % 2 == 0 => {
                    let cpu = r4(d.log(100.0, 5000.0));
                    let truth = share(
                        r4(cpu * d.between(-0.015, 0.015)),
                        cpu,
                        d.between(1500.0, 3000.0).round(),
                        0.0,
                    );
                    Curve::new(class, name, truth)
                }
                "flat" => Curve {
                    range: (1024, 9728, 256),
                    ..Curve::new(class, name, ml(&mut d))
                },
                "io-bound" => Curve::new(
                    class,
                    name,
                    exp(
                        r4(d.log(300.0, 3000.0)),
                        r4(d.log(50.0, 600.0)),
                        r4(d.between(0.001, 0.005)),
                    ),
                ),
                "memory-floor" => {
                    let floor = [1024, 1536, 2048][i % 3];
                    let hi = if i % 2 == 0 { 9728 } else { 10240 };
                    Curve {
                        range: (floor, hi, 256),
                        ..Curve::new(class, name, ml(&mut d))
                    }
                }
                "oom-region" => {
                    let truth = if i % 2 == 0 {
                        random_exp(&mut d)
                    } else {
                        random_share(&mut d)
                    };
                    Curve {
                        min_memory_mb: Some((d.between(256.0, 1024.0) / 64.0).round() as u32 * 64),
                        ..Curve::new(class, name, truth)
                    }
                }
                "noisy" => {
                    let truth = if i % 2 == 0 {
                        random_exp(&mut d)
                    } else {
                        random_share(&mut d)
                    };
                    Curve {
                        noise_cov: r4(d.between(0.06, 0.10)),
                        ..Curve::new(class, name, truth)
                    }
                }
                "cold-starts" => Curve {
                    cold_start_rate: 0.3,
                    init_ms: r4(d.between(500.0, 2000.0)),
                    failure_rate: 0.01,
                    ..Curve::new(class, name, random_exp(&mut d))
                },
                "coarse-grid" => {
                    let truth = if i % 2 == 0 {
                        random_exp(&mut d)
                    } else {
                        random_share(&mut d)
                    };
                    let range = if i % 4 < 2 {
                        (128, 3008, 256)
                    } else {
                        (128, 10240, 512)
                    };
                    Curve {
                        range,
                        ..Curve::new(class, name, truth)
                    }
                }
                _ => unreachable!(),
            };
            out.push(c);
        }
    }
    out
}

/// An ML-like curve: large, slowly falling (the app3 ResNet and YOLO variants' magnitudes).
fn ml(d: &mut Draw) -> DurationModel {
    exp(
        r4(d.log(500.0, 6000.0)),
        r4(d.log(6000.0, 52000.0)),
        r4(d.between(0.0004, 0.0007)),
    )
}

/// What one curve gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub class: &'static str,
    pub name: String,
    pub invocations: u64,
    pub sweep: u64,
    pub cost_ratio: f64,
    pub fit_error_percent: f64,
    pub memories: usize,
    pub stop: String,
    /// The run's cost (USD).
    pub cost_usd: f64,
    /// The dry run's estimates.
    pub estimate_invocations: f64,
    pub estimate_cost_usd: f64,
}

impl Outcome {
    pub fn ratio(&self) -> f64 {
        self.invocations as f64 / self.sweep as f64
    }
}

/// Profiles one curve on the simulated cloud (seed `seed`) and scores it.
pub async fn profile(c: &Curve, seed: u64) -> Outcome {
    let text = c.plan_text(seed);
    let plan = parse(&text, Path::new("suite.plan.toml"), None, true).unwrap();
    let estimate = estimate_plan(&plan, true, &|_| 900);
    let sim = plan.sim_cloud(None);
    let dir = tempfile::Builder::new()
        .prefix("optiserve-suite-")
        .tempdir()
        .unwrap();
    let mut opts = RunOptions {
        checkpoint_path: dir.path().join("run.checkpoint.json"),
        resume: None,
        retry: RetryPolicy::instant(),
        reporter: Reporter::new(ProgressMode::Quiet, 0),
    };
    let out = run(&sim, &plan, &mut opts, std::future::pending())
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", c.name));
    let r = &out.outcomes[0].result;
    let t = &plan.targets[0];
    let cost = |m: u32| {
        plan.pricing
            .invocation_cost(f64::from(m), c.truth.duration_ms(f64::from(m)))
    };
    let feasible: Vec<u32> = t
        .candidates
        .iter()
        .copied()
        .filter(|&m| c.min_memory_mb.is_none_or(|f| m >= f))
        .collect();
    let best = feasible
        .iter()
        .map(|&m| cost(m))
        .fold(f64::INFINITY, f64::min);
    let chosen = r.best_memory_mb.unwrap();
    // A memory the function cannot run at is no choice at all.
    let feasible_choice = c.min_memory_mb.is_none_or(|f| chosen >= f);
    let fit = r.fit.as_ref().unwrap();
    let fit_error_percent = feasible
        .iter()
        .map(|&m| {
            let truth = c.truth.duration_ms(f64::from(m));
            (fit.model.duration_ms(f64::from(m)) - truth).abs() / truth
        })
        .sum::<f64>()
        / feasible.len() as f64
        * 100.0;
    Outcome {
        class: c.class,
        name: c.name.clone(),
        invocations: r.invocations,
        sweep: c.sweep(),
        cost_ratio: if feasible_choice {
            cost(chosen) / best
        } else {
            f64::INFINITY
        },
        fit_error_percent,
        memories: r.memories.len(),
        stop: format!("{} ({})", super::describe_stop(&r.stop), fit.family.name()),
        cost_usd: r.cost_usd,
        estimate_invocations: estimate.invocations,
        estimate_cost_usd: estimate.cost_usd,
    }
}

/// Summary of a group of outcomes.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub curves: usize,
    pub mean_ratio: f64,
    pub worst_ratio: f64,
    pub worst_cost_ratio: f64,
    pub mean_fit_error: f64,
    pub worst_fit_error: f64,
    pub mean_memories: f64,
    /// The dry run's estimate ÷ the run, worst over the group (the farther from 1).
    pub worst_estimate_invocations: f64,
    pub worst_estimate_cost: f64,
}

pub fn summarize<'a>(group: impl IntoIterator<Item = &'a Outcome>) -> Summary {
    let group: Vec<&Outcome> = group.into_iter().collect();
    let k = group.len().max(1) as f64;
    let far = |x: f64, y: f64| {
        if (x - 1.0).abs() > (y - 1.0).abs() {
            x
        } else {
            y
        }
    };
    Summary {
        curves: group.len(),
        mean_ratio: group.iter().map(|o| o.ratio()).sum::<f64>() / k,
        worst_ratio: group.iter().map(|o| o.ratio()).fold(0.0, f64::max),
        worst_cost_ratio: group.iter().map(|o| o.cost_ratio).fold(0.0, f64::max),
        mean_fit_error: group.iter().map(|o| o.fit_error_percent).sum::<f64>() / k,
        worst_fit_error: group
            .iter()
            .map(|o| o.fit_error_percent)
            .fold(0.0, f64::max),
        mean_memories: group.iter().map(|o| o.memories as f64).sum::<f64>() / k,
        worst_estimate_invocations: group
            .iter()
            .map(|o| o.estimate_invocations / o.invocations as f64)
            .fold(1.0, far),
        worst_estimate_cost: group
            .iter()
            .map(|o| o.estimate_cost_usd / o.cost_usd)
            .fold(1.0, far),
    }
}

/// The per-curve table and the per-class summary.
pub fn report(outcomes: &[Outcome], verbose: bool) -> String {
    let mut o = String::new();
    if verbose {
        writeln!(
            o,
            "curve            calls  sweep  ratio  cost/opt  fit err  memories  estimate calls / cost  stop"
        )
        .unwrap();
        for x in outcomes {
            writeln!(
                o,
                "{:<15}  {:>5}  {:>5}  {:>5.3}  {:>8.4}  {:>6.2}%  {:>8}  {:>10.2} / {:>5.2}       {}",
                x.name,
                x.invocations,
                x.sweep,
                x.ratio(),
                x.cost_ratio,
                x.fit_error_percent,
                x.memories,
                x.estimate_invocations / x.invocations as f64,
                x.estimate_cost_usd / x.cost_usd,
                x.stop
            )
            .unwrap();
        }
    }
    writeln!(
        o,
        "| class | curves | invocations ÷ sweep (mean, worst) | worst cost ÷ optimum | fit error (mean, worst) | memories | dry run ÷ run, worst (calls, cost) |\n| --- | --- | --- | --- | --- | --- | --- |"
    )
    .unwrap();
    let classes = CLASSES.iter().map(|c| Some(*c)).chain([None]);
    for class in classes {
        let s = summarize(
            outcomes
                .iter()
                .filter(|o| class.is_none_or(|c| o.class == c)),
        );
        if s.curves == 0 {
            continue;
        }
        writeln!(
            o,
            "| {} | {} | {:.3}, {:.3} | {:.4} | {:.2}%, {:.2}% | {:.1} | {:.2}, {:.2} |",
            class.unwrap_or("**all**"),
            s.curves,
            s.mean_ratio,
            s.worst_ratio,
            s.worst_cost_ratio,
            s.mean_fit_error,
            s.worst_fit_error,
            s.mean_memories,
            s.worst_estimate_invocations,
            s.worst_estimate_cost
        )
        .unwrap();
    }
    o
}

/// Profiles every curve with every seed.
pub async fn profile_all(curves: &[Curve], seeds: &[u64]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for c in curves {
        for &s in seeds {
            out.push(profile(c, s).await);
        }
    }
    out
}

/// The benchmark (`docs/models.md` quotes its table): 10 curves of each class, 3 seeds each
/// (`OPTISERVE_SUITE_CURVES` and `OPTISERVE_SUITE_SEEDS` change the numbers).
///
/// `cargo test -p optiserve-profiler --lib sampler_suite_benchmark -- --ignored --nocapture`
#[tokio::test]
#[ignore = "the benchmark: run with --ignored --nocapture"]
async fn sampler_suite_benchmark() {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let per_class = var("OPTISERVE_SUITE_CURVES", 10) as usize;
    let seeds: Vec<u64> = (0..var("OPTISERVE_SUITE_SEEDS", 3))
        .map(|k| 11 + k)
        .collect();
    let outcomes = profile_all(&curves(per_class, 1), &seeds).await;
    println!("{}", report(&outcomes, true));
}

/// The targets on a smaller seeded subset (3 curves of each class, one seed): at most 0.20 of a
/// 64 MB sweep's invocations on average, every chosen memory within 3% of the true optimum's
/// cost, every fit within 5% of the true curve; and the dry run's estimate of the invocations and
/// the cost of each class's curves within 25% of what the runs took (one run of a curve scatters
/// more than that around its median, which is what the estimate gives).
#[tokio::test]
async fn sampler_suite_meets_the_targets_on_a_seeded_subset() {
    let outcomes = profile_all(&curves(3, 1), &[11]).await;
    let text = report(&outcomes, true);
    println!("{text}");
    let all = summarize(&outcomes);
    assert!(
        all.mean_ratio <= 0.20,
        "{:.3} of a sweep\n{text}",
        all.mean_ratio
    );
    for o in &outcomes {
        assert!(
            o.cost_ratio <= 1.03,
            "{}: cost ×{}\n{text}",
            o.name,
            o.cost_ratio
        );
        assert!(
            o.fit_error_percent <= 5.0,
            "{}: fit {}%\n{text}",
            o.name,
            o.fit_error_percent
        );
    }
    for class in CLASSES {
        let group: Vec<&Outcome> = outcomes.iter().filter(|o| o.class == class).collect();
        let calls = group.iter().map(|o| o.estimate_invocations).sum::<f64>()
            / group.iter().map(|o| o.invocations as f64).sum::<f64>();
        let cost = group.iter().map(|o| o.estimate_cost_usd).sum::<f64>()
            / group.iter().map(|o| o.cost_usd).sum::<f64>();
        assert!(
            (0.75..=1.25).contains(&calls) && (0.75..=1.25).contains(&cost),
            "{class}: the dry run estimated ×{calls:.2} the invocations and ×{cost:.2} the cost\n{text}"
        );
    }
}
