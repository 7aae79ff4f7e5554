//! Reading what Lambda says about one invocation: the REPORT line of the log tail (`LogType=Tail`
//! returns the last 4 KB of the invocation's log), in the text format and in the JSON log format,
//! and the outcome (`FunctionError`, timeouts, out-of-memory kills) that becomes a sampler
//! [`Invocation`].
//!
//! Text format (fields separated by tabs; Init Duration only on a cold start, Status only on
//! failures in newer runtimes):
//!
//! ```text
//! REPORT RequestId: 3f…  Duration: 201.67 ms  Billed Duration: 202 ms  Memory Size: 2048 MB  Max Memory Used: 81 MB  Init Duration: 480.25 ms
//! ```
//!
//! JSON format (`LoggingConfig.LogFormat = JSON`): one object per line,
//!
//! ```text
//! {"time":"…","type":"platform.report","record":{"requestId":"…","metrics":{"durationMs":201.67,
//!  "billedDurationMs":202,"memorySizeMB":2048,"maxMemoryUsedMB":81,"initDurationMs":480.25},"status":"success"}}
//! ```

use optiserve_core::sampling::{Invocation, Status};

/// The fields of one REPORT line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub request_id: Option<String>,
    pub duration_ms: f64,
    pub billed_duration_ms: Option<f64>,
    pub memory_size_mb: Option<f64>,
    pub max_memory_used_mb: Option<f64>,
    pub init_duration_ms: Option<f64>,
    /// `Status:` (text) or `status` (JSON) when present: `success`, `timeout`, `error`.
    pub status: Option<String>,
    /// `errorType` (JSON) when present, e.g. `Runtime.OutOfMemory`.
    pub error_type: Option<String>,
}

/// A REPORT line that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    /// No REPORT line in the log tail.
    #[error("no REPORT line in the log tail")]
    Missing,
    /// A REPORT line without a readable Duration.
    #[error("line {line}: REPORT line without a readable {field}: {text}")]
    Field {
        line: usize,
        field: &'static str,
        text: String,
    },
}

/// Finds and parses the last REPORT line (text or JSON) in a log tail.
pub fn parse_report(log: &str) -> Result<Report, ReportError> {
    let mut found = None;
    for (i, line) in log.lines().enumerate() {
        let t = line.trim();
        if t.starts_with("REPORT ") || t == "REPORT" {
            found = Some(parse_text(t, i + 1));
        } else if t.starts_with('{') && t.contains("platform.report") {
            found = Some(parse_json(t, i + 1));
        }
    }
    found.unwrap_or(Err(ReportError::Missing))
}

fn parse_text(line: &str, n: usize) -> Result<Report, ReportError> {
    let body = line.trim_start_matches("REPORT").trim();
    let mut r = Report::default();
    let mut duration = None;
    // Fields are "Key: value [unit]", separated by tabs (or runs of spaces in copies of logs).
    let parts: Vec<&str> = if body.contains('\t') {
        body.split('\t').collect()
    } else {
        split_spaced(body)
    };
    for part in parts {
        let Some((key, value)) = part.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let number = || {
            value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        };
        match key {
            "RequestId" => r.request_id = Some(value.to_string()),
            "Duration" => duration = number(),
            "Billed Duration" => r.billed_duration_ms = number(),
            "Memory Size" => r.memory_size_mb = number(),
            "Max Memory Used" => r.max_memory_used_mb = number(),
            "Init Duration" => r.init_duration_ms = number(),
            "Status" => r.status = Some(value.to_string()),
            "Error Type" => r.error_type = Some(value.to_string()),
            _ => {}
        }
    }
    r.duration_ms = duration.ok_or_else(|| ReportError::Field {
        line: n,
        field: "Duration",
        text: line.to_string(),
    })?;
    Ok(r)
}

/// Splits `Key: v unit Key2: v2 unit` written with spaces only, on the known keys.
fn split_spaced(body: &str) -> Vec<&str> {
    const KEYS: [&str; 8] = [
        "RequestId:",
        "Duration:",
        "Billed Duration:",
        "Memory Size:",
        "Max Memory Used:",
        "Init Duration:",
        "Status:",
        "Error Type:",
    ];
    let mut starts: Vec<usize> = Vec::new();
    for key in KEYS {
        let mut from = 0;
        while let Some(i) = body[from..].find(key) {
            let at = from + i;
            // "Duration:" also matches inside "Billed Duration:" and "Init Duration:".
            let inside = key == "Duration:"
                && (body[..at].ends_with("Billed ") || body[..at].ends_with("Init "));
            if !inside {
                starts.push(at);
            }
            from = at + key.len();
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut parts = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(body.len());
        parts.push(body[s..e].trim());
    }
    parts
}

fn parse_json(line: &str, n: usize) -> Result<Report, ReportError> {
    let field_error = |field| ReportError::Field {
        line: n,
        field,
        text: line.to_string(),
    };
    let v: serde_json::Value = serde_json::from_str(line).map_err(|_| field_error("JSON"))?;
    let record = &v["record"];
    let metrics = &record["metrics"];
    let num = |k: &str| metrics[k].as_f64();
    Ok(Report {
        request_id: record["requestId"].as_str().map(str::to_string),
        duration_ms: num("durationMs").ok_or_else(|| field_error("durationMs"))?,
        billed_duration_ms: num("billedDurationMs"),
        memory_size_mb: num("memorySizeMB"),
        max_memory_used_mb: num("maxMemoryUsedMB"),
        init_duration_ms: num("initDurationMs"),
        status: record["status"].as_str().map(str::to_string),
        error_type: record["errorType"].as_str().map(str::to_string),
    })
}

/// Signs of an out-of-memory kill in a log tail or an error payload.
fn says_out_of_memory(text: &str) -> bool {
    text.contains("signal: killed")
        || text.contains("Runtime.OutOfMemory")
        || text.contains("MemoryError")
        || text.contains("JavaScript heap out of memory")
        || text.contains("java.lang.OutOfMemoryError")
}

/// Signs of a timeout.
fn says_timeout(text: &str) -> bool {
    text.contains("Task timed out after") || text.contains("Sandbox.Timedout")
}

/// Turns one invocation's response into a sampler observation: the REPORT line's numbers and the
/// outcome. `function_error` is the `X-Amz-Function-Error` value (`Unhandled`, `Handled`), `log`
/// the decoded log tail, `payload` the response body.
pub fn classify(function_error: Option<&str>, log: Option<&str>, payload: &[u8]) -> Invocation {
    let log = log.unwrap_or("");
    let body = String::from_utf8_lossy(payload);
    let report = parse_report(log);
    let mut inv = match &report {
        Ok(r) => Invocation {
            status: Status::Ok,
            duration_ms: Some(r.duration_ms),
            billed_duration_ms: r.billed_duration_ms,
            max_memory_used_mb: r.max_memory_used_mb,
            init_duration_ms: r.init_duration_ms,
            message: None,
        },
        Err(e) => Invocation::failed(Status::Error, e.to_string()),
    };
    let report_status = report.as_ref().ok().and_then(|r| r.status.clone());
    let error_type = report.as_ref().ok().and_then(|r| r.error_type.clone());
    let timeout =
        says_timeout(log) || says_timeout(&body) || report_status.as_deref() == Some("timeout");
    let oom = says_out_of_memory(log)
        || says_out_of_memory(&body)
        || error_type.as_deref() == Some("Runtime.OutOfMemory");
    let errored = function_error.is_some()
        || report_status
            .as_deref()
            .is_some_and(|s| s != "success" && s != "timeout")
        || log.contains("Runtime exited with error")
        || log.contains("Runtime.ExitError");
    let message = || {
        let from_log = log
            .lines()
            .find(|l| {
                l.contains("Task timed out")
                    || l.contains("Runtime exited")
                    || l.contains("Error")
                    || l.contains("error")
            })
            .map(str::trim)
            .map(str::to_string);
        from_log.or_else(|| (!body.is_empty()).then(|| body.chars().take(300).collect()))
    };
    if timeout {
        inv.status = Status::Timeout;
        inv.message = message().or_else(|| Some("timed out".into()));
    } else if oom {
        inv.status = Status::OutOfMemory;
        inv.message = message().or_else(|| Some("out of memory".into()));
    } else if errored {
        inv.status = Status::Error;
        inv.message = message().or_else(|| function_error.map(|e| format!("function error: {e}")));
    }
    inv
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const WARM: &str = "START RequestId: 8f Version: $LATEST\nhello\nEND RequestId: 8f\nREPORT RequestId: 8fc6f963-411b-58b5-8483-a32130c0f45d\tDuration: 201.67 ms\tBilled Duration: 202 ms\tMemory Size: 2048 MB\tMax Memory Used: 81 MB\t\n";
    const COLD: &str = "REPORT RequestId: 8f\tDuration: 201.67 ms\tBilled Duration: 202 ms\tMemory Size: 2048 MB\tMax Memory Used: 81 MB\tInit Duration: 480.25 ms\tXRAY TraceId: 1-61c8\tSegmentId: 10\tSampled: true\t";

    #[test]
    fn text_reports_warm_and_cold() {
        let r = parse_report(WARM).unwrap();
        assert_eq!(r.duration_ms, 201.67);
        assert_eq!(r.billed_duration_ms, Some(202.0));
        assert_eq!(r.memory_size_mb, Some(2048.0));
        assert_eq!(r.max_memory_used_mb, Some(81.0));
        assert_eq!(r.init_duration_ms, None);
        assert_eq!(
            r.request_id.as_deref(),
            Some("8fc6f963-411b-58b5-8483-a32130c0f45d")
        );
        let c = parse_report(COLD).unwrap();
        assert_eq!(c.init_duration_ms, Some(480.25));
        assert!(classify(None, Some(COLD), b"{}").is_cold());
        assert!(!classify(None, Some(WARM), b"{}").is_cold());
        assert_eq!(classify(None, Some(WARM), b"{}").status, Status::Ok);
    }

    #[test]
    fn text_reports_copied_with_spaces() {
        let line = "REPORT RequestId: 8f Duration: 1.5 ms Billed Duration: 2 ms Memory Size: 128 MB Max Memory Used: 60 MB Init Duration: 99.1 ms";
        let r = parse_report(line).unwrap();
        assert_eq!(
            (r.duration_ms, r.billed_duration_ms, r.init_duration_ms),
            (1.5, Some(2.0), Some(99.1))
        );
        assert_eq!(r.max_memory_used_mb, Some(60.0));
    }

    #[test]
    fn json_reports_warm_cold_and_timeout() {
        let warm = r#"{"time":"2024-01-01T00:00:00Z","type":"platform.report","record":{"requestId":"a1","metrics":{"durationMs":12.5,"billedDurationMs":13,"memorySizeMB":512,"maxMemoryUsedMB":70},"status":"success"}}"#;
        let r = parse_report(warm).unwrap();
        assert_eq!(
            (r.duration_ms, r.billed_duration_ms, r.memory_size_mb),
            (12.5, Some(13.0), Some(512.0))
        );
        assert_eq!(r.init_duration_ms, None);
        let cold = r#"{"type":"platform.report","record":{"requestId":"a2","metrics":{"durationMs":12.5,"billedDurationMs":13,"memorySizeMB":512,"maxMemoryUsedMB":70,"initDurationMs":210.3},"status":"success"}}"#;
        let inv = classify(None, Some(cold), b"");
        assert_eq!(
            (inv.status, inv.init_duration_ms),
            (Status::Ok, Some(210.3))
        );
        let timeout = r#"{"type":"platform.report","record":{"requestId":"a3","metrics":{"durationMs":3000.0,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":70},"status":"timeout"}}"#;
        let inv = classify(Some("Unhandled"), Some(timeout), b"");
        assert_eq!(inv.status, Status::Timeout);
        let oom = r#"{"type":"platform.report","record":{"requestId":"a4","metrics":{"durationMs":800.0,"billedDurationMs":800,"memorySizeMB":128,"maxMemoryUsedMB":128},"status":"error","errorType":"Runtime.OutOfMemory"}}"#;
        assert_eq!(
            classify(Some("Unhandled"), Some(oom), b"").status,
            Status::OutOfMemory
        );
    }

    #[test]
    fn timeouts_and_out_of_memory_in_text_logs() {
        let timeout = "START RequestId: x\n2024-01-01T00:00:03Z x Task timed out after 3.00 seconds\nEND RequestId: x\nREPORT RequestId: x\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 48 MB\tStatus: timeout\n";
        let inv = classify(
            Some("Unhandled"),
            Some(timeout),
            br#"{"errorMessage":"Task timed out after 3.00 seconds"}"#,
        );
        assert_eq!(inv.status, Status::Timeout);
        assert!(
            inv.message
                .unwrap()
                .contains("Task timed out after 3.00 seconds")
        );
        let oom = "START RequestId: y\nError: Runtime exited with error: signal: killed\nRuntime.ExitError\nEND RequestId: y\nREPORT RequestId: y\tDuration: 1234.5 ms\tBilled Duration: 1235 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t\n";
        let inv = classify(Some("Unhandled"), Some(oom), b"");
        assert_eq!(inv.status, Status::OutOfMemory);
        assert!(inv.message.unwrap().contains("signal: killed"));
        // Max Memory Used reaching Memory Size on an otherwise successful call.
        let full = "REPORT RequestId: z\tDuration: 10 ms\tBilled Duration: 10 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\t";
        let inv = classify(None, Some(full), b"");
        assert_eq!(
            (inv.status, inv.effective_status(256)),
            (Status::Ok, Status::OutOfMemory)
        );
    }

    #[test]
    fn errors_and_missing_reports_are_failures() {
        let err = "START RequestId: e\n[ERROR] ValueError: bad input\nEND RequestId: e\nREPORT RequestId: e\tDuration: 5 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t";
        let inv = classify(
            Some("Unhandled"),
            Some(err),
            br#"{"errorMessage":"bad input"}"#,
        );
        assert_eq!(inv.status, Status::Error);
        assert!(inv.message.unwrap().contains("ValueError"));
        let inv = classify(None, None, b"{}");
        assert_eq!(inv.status, Status::Error);
        assert_eq!(
            inv.message.as_deref(),
            Some("no REPORT line in the log tail")
        );
        let e = parse_report("START\nREPORT RequestId: q\tDuration: abc ms\t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: REPORT line without a readable Duration: REPORT RequestId: q\tDuration: abc ms"
        );
    }
}
