//! The physical ranges every number that enters a model is checked against, at the boundary
//! (bundle, plan, CSV, history, flags).
//!
//! Each range is wide enough for any real application and narrow enough that no figure computed
//! from numbers inside the ranges can overflow: a function's duration is at most Lambda's
//! 15-minute timeout, a price at most a dollar per unit, and a node runs at most
//! [`MAX_RUNS_PER_EXECUTION`] times per execution. With these, an expected latency is below
//! 10^21 ms and a cost per million executions below 10^26 USD per function, far from
//! `f64::MAX` (1.8·10^308); the tests of every command check that what they print is finite.

use std::fmt;

/// A closed range of allowed values, with its unit and the reason for its ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
    /// Unit, as printed after a number ("ms", "USD"); empty for none.
    pub unit: &'static str,
    /// Why the range ends where it does, for messages.
    pub why: &'static str,
}

impl Range {
    /// `Ok` when `v` is a finite number in the range; otherwise the message for the user
    /// ("must be a number from 0 to 900000 ms (…), found 1e308").
    pub fn check(&self, v: f64) -> Result<(), String> {
        if v.is_finite() && v >= self.min && v <= self.max {
            Ok(())
        } else {
            Err(format!("must be a number {self}, found {}", show(v)))
        }
    }

    /// Whether `v` is a finite number in the range.
    pub fn contains(&self, v: f64) -> bool {
        self.check(v).is_ok()
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        write!(
            f,
            "from {} to {}{unit} ({})",
            show(self.min),
            show(self.max),
            self.why
        )
    }
}

/// A number for a message: plain when it reads well (`900000`, `0.5`), in exponent form when
/// it is very large or very small (`1e308`, `2.5e-12`).
pub fn show(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && a.is_finite() && !(1e-6..1e12).contains(&a) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A count or amount for a message, to four significant digits: `8.61`, `1250`, `9.997e12`.
pub fn approx(v: f64) -> String {
    if v.is_finite() && v.abs() < 1e6 {
        let digits = if v.abs() >= 1000.0 {
            0
        } else if v.abs() >= 100.0 {
            1
        } else {
            2
        };
        let s = format!("{v:.digits$}");
        if digits > 0 {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.3e}")
    }
}

/// A Lambda function's duration (model predictions at every memory option, samples, INIT).
pub const FUNCTION_DURATION_MS: Range = Range {
    min: 0.0,
    max: 900_000.0,
    unit: "ms",
    why: "Lambda's 15-minute timeout",
};

/// A state node's delay (Wait, service and callback states) and its measured samples.
pub const STATE_DURATION_MS: Range = Range {
    min: 0.0,
    max: 31_536_000_000.0,
    unit: "ms",
    why: "a Standard execution lasts at most a year",
};

/// Per-state, per-transition and start/end orchestration delays.
pub const ORCHESTRATION_MS: Range = Range {
    min: 0.0,
    max: 60_000.0,
    unit: "ms",
    why: "measured delays are tens of milliseconds; a minute is a unit mistake",
};

/// Any price per unit (GB-second, request, transition).
pub const PRICE_USD: Range = Range {
    min: 0.0,
    max: 1.0,
    unit: "USD",
    why: "AWS prices per unit are millionths of a dollar",
};

/// A billing granularity.
pub const BILLING_GRANULARITY_MS: Range = Range {
    min: 0.001,
    max: 60_000.0,
    unit: "ms",
    why: "Lambda bills per 1 ms, Step Functions Express per 100 ms",
};

/// A memory size in samples and Express pricing.
pub const MEMORY_MB: Range = Range {
    min: 1.0,
    max: 10_240.0,
    unit: "MB",
    why: "Lambda's largest memory size",
};

/// Executions per month (workload).
pub const EXECUTIONS_PER_MONTH: Range = Range {
    min: 1e-9,
    max: 1e12,
    unit: "",
    why: "about 385,000 executions a second",
};

/// Items of a Map state per run.
pub const MAP_ITEMS: Range = Range {
    min: 1.0,
    max: 1e9,
    unit: "",
    why: "a billion items per Map run",
};

/// Most times one node (function, state, site) may run per execution on average: loops and
/// Map states multiply. A loop taken with probability p repeats 1/(1−p) times.
pub const MAX_RUNS_PER_EXECUTION: f64 = 1e12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_messages_stay_short() {
        assert_eq!(show(1e308), "1e308");
        assert_eq!(show(900_000.0), "900000");
        assert_eq!(show(-2.5e-12), "-2.5e-12");
        assert_eq!(show(f64::NAN), "NaN");
        assert_eq!(approx(8.6111), "8.61");
        assert_eq!(approx(1250.4), "1250");
        assert_eq!(approx(9.997e12), "9.997e12");
        assert_eq!(approx(2.0), "2");
    }

    #[test]
    fn ranges_refuse_non_numbers_and_say_why() {
        assert!(FUNCTION_DURATION_MS.contains(0.0));
        assert!(FUNCTION_DURATION_MS.contains(900_000.0));
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1e308, 900_000.1] {
            let e = FUNCTION_DURATION_MS.check(bad).unwrap_err();
            assert!(e.contains("Lambda's 15-minute timeout"), "{e}");
            assert!(e.contains(&format!("found {}", show(bad))), "{e}");
        }
        assert_eq!(
            PRICE_USD.check(2.0).unwrap_err(),
            "must be a number from 0 to 1 USD (AWS prices per unit are millionths of a dollar), found 2"
        );
    }
}
