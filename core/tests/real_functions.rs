//! The function models on real AWS Lambda measurements: Lin & Khazaei's six functions (per-memory
//! mean durations at 46 memory sizes, `tests/fixtures/real-aws/functions/`, derived from
//! pacslab/SLApp-PerfCost-MdlOpt; see the README there). `optiserve fit`'s default choice must
//! describe them well, and must never be a family whose cross-validated error is worse than the
//! thesis' exponential's.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use optiserve_core::model::{
    DurationModel, ModelChoice, ModelFamily, ModelSelection, Sample, select_model,
};

const FUNCTIONS: [(&str, &str); 6] = [
    (
        "f1",
        include_str!("../../tests/fixtures/real-aws/functions/f1.csv"),
    ),
    (
        "f2",
        include_str!("../../tests/fixtures/real-aws/functions/f2.csv"),
    ),
    (
        "f3",
        include_str!("../../tests/fixtures/real-aws/functions/f3.csv"),
    ),
    (
        "f4",
        include_str!("../../tests/fixtures/real-aws/functions/f4.csv"),
    ),
    (
        "f5",
        include_str!("../../tests/fixtures/real-aws/functions/f5.csv"),
    ),
    (
        "f6",
        include_str!("../../tests/fixtures/real-aws/functions/f6.csv"),
    ),
];

/// `(memory_mb, mean duration_ms)` per row of a fixture.
fn means(csv: &str) -> Vec<Sample> {
    let mut lines = csv.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(
        lines.next(),
        Some("memory_mb,duration_ms,count,median_ms,sd_ms")
    );
    lines
        .map(|l| {
            let mut f = l.split(',').map(|x| x.parse::<f64>().unwrap());
            Sample::new(f.next().unwrap(), f.next().unwrap())
        })
        .collect()
}

fn describe(model: &DurationModel) -> String {
    match model {
        DurationModel::Exponential(m) => format!(
            "α {:.1} β {:.1} γ {:.3e}",
            m.alpha_ms, m.beta_ms, m.gamma_per_mb
        ),
        DurationModel::CpuShare(m) => format!(
            "serial {:.1} cpu {:.1} knee {} p {:.3}",
            m.serial_ms, m.cpu_ms, m.knee_mb, m.parallel_fraction
        ),
        DurationModel::Table(t) => format!("{} points", t.points().len()),
    }
}

fn selections() -> Vec<(&'static str, ModelSelection)> {
    FUNCTIONS
        .iter()
        .map(|&(name, csv)| {
            let data = means(csv);
            assert_eq!(data.len(), 46, "{name}");
            (name, select_model(&data, ModelChoice::Auto).unwrap())
        })
        .collect()
}

#[test]
fn default_choice_fits_the_six_real_functions() {
    let mut chosen = Vec::new();
    for (name, sel) in selections() {
        for c in &sel.candidates {
            println!(
                "{name} {:<11} cv {:>6.3}%  mape {:>6.3}%  {}{}",
                c.family.name(),
                c.cv_error_percent.unwrap(),
                c.mape_percent,
                describe(&c.model),
                if c.chosen { "  <- chosen" } else { "" }
            );
        }
        let exp = &sel.candidates[0];
        assert_eq!(exp.family, ModelFamily::Exponential);
        assert!(
            sel.cv_error_percent.unwrap() <= exp.cv_error_percent.unwrap(),
            "{name}: chose {:?} with a worse cross-validated error than the exponential's",
            sel.family
        );
        chosen.push(sel.mape_percent);
    }
    chosen.sort_by(f64::total_cmp);
    let median = 0.5 * (chosen[2] + chosen[3]);
    let worst = chosen[5];
    println!("median MAPE {median:.3}%, worst {worst:.3}%");
    assert!(median <= 1.5, "median MAPE {median}");
    assert!(worst <= 3.0, "worst MAPE {worst}");
}

/// The thesis' profiles are these functions at every third memory (128, 320, …, 3008 MB; the
/// thesis' measured profile, `profiler/tests/fixtures/measured-profile.csv`, is f2's): on each,
/// the default choice is no worse than the exponential, in sample and cross-validated.
#[test]
fn on_the_thesis_profile_grid_the_default_is_no_worse_than_the_exponential() {
    for &(name, csv) in &FUNCTIONS {
        let data: Vec<Sample> = means(csv)
            .into_iter()
            .filter(|s| (s.memory_mb as u32 - 128).is_multiple_of(192))
            .collect();
        assert_eq!(data.len(), 16, "{name}");
        let sel = select_model(&data, ModelChoice::Auto).unwrap();
        let exp = &sel.candidates[0];
        println!(
            "{name} (16 memories): exponential MAPE {:.2}% CV {:.2}%; chosen {} MAPE {:.2}% CV {:.2}%",
            exp.mape_percent,
            exp.cv_error_percent.unwrap(),
            sel.family.name(),
            sel.mape_percent,
            sel.cv_error_percent.unwrap()
        );
        assert!(
            sel.cv_error_percent.unwrap() <= exp.cv_error_percent.unwrap(),
            "{name}"
        );
        assert!(sel.mape_percent <= exp.mape_percent, "{name}");
    }
}
