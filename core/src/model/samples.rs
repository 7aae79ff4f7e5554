//! Reading profiled samples from text: CSV with a `memory_mb,duration_ms` header, a JSON list of
//! `{memory_mb, duration_ms}`, or a JSON object from memory to duration (`{"128": 2900}`), told
//! apart by content. Every number is checked against its physical range where it is read, so an
//! error names its line and column (CSV) or JSON path.

use std::collections::BTreeMap;

use crate::bundle::parse_json;
use crate::limits::{self, Range};

use super::Sample;

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsonSamples {
    List(Vec<Sample>),
    Map(BTreeMap<String, f64>),
}

/// The samples in `text` (see the module documentation); the error says where and what.
pub fn parse_samples(text: &str) -> Result<Vec<Sample>, String> {
    let trimmed = text.trim_start();
    let samples = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let parsed = match parse_json::<JsonSamples>(text) {
            Ok(p) => p,
            Err(_) if trimmed.starts_with('[') => {
                JsonSamples::List(parse_json::<Vec<Sample>>(text).map_err(|e| e.to_string())?)
            }
            Err(_) => JsonSamples::Map(
                parse_json::<BTreeMap<String, f64>>(text).map_err(|e| e.to_string())?,
            ),
        };
        match parsed {
            JsonSamples::List(l) => l,
            JsonSamples::Map(m) => m
                .into_iter()
                .map(|(k, v)| {
                    let memory_mb: f64 = k
                        .trim()
                        .parse()
                        .map_err(|_| format!("$.{k}: the key must be a memory size in MB"))?;
                    Ok(Sample {
                        memory_mb,
                        duration_ms: v,
                    })
                })
                .collect::<Result<_, String>>()?,
        }
    } else {
        return read_csv(text);
    };
    for (k, s) in samples.iter().enumerate() {
        for (name, v, range) in [
            ("memory_mb", s.memory_mb, &limits::MEMORY_MB),
            ("duration_ms", s.duration_ms, &limits::FUNCTION_DURATION_MS),
        ] {
            range
                .check(v)
                .map_err(|e| format!("sample {k}: {name} {e}"))?;
        }
    }
    Ok(samples)
}

fn read_csv(text: &str) -> Result<Vec<Sample>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(m), Some(d)) = (col("memory_mb"), col("duration_ms")) else {
        return Err(format!(
            "line 1: the header must name the columns memory_mb and duration_ms, found {:?}",
            headers.iter().collect::<Vec<_>>()
        ));
    };
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let line = record.position().map_or(0, csv::Position::line);
        let field = |i: usize, name: &str, range: &Range| -> Result<f64, String> {
            let raw = record.get(i).unwrap_or("");
            let v = raw.parse::<f64>().map_err(|_| {
                format!("line {line}, column {name}: expected a number, found {raw:?}")
            })?;
            range
                .check(v)
                .map_err(|e| format!("line {line}, column {name}: {e}"))?;
            Ok(v)
        };
        out.push(Sample {
            memory_mb: field(m, "memory_mb", &limits::MEMORY_MB)?,
            duration_ms: field(d, "duration_ms", &limits::FUNCTION_DURATION_MS)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_both_json_shapes_read_the_same_samples() {
        let csv =
            parse_samples("memory_mb,duration_ms\n# a comment\n128, 2900\n1024,420\n").unwrap();
        let list = parse_samples(
            r#"[{"memory_mb":128,"duration_ms":2900},{"memory_mb":1024,"duration_ms":420}]"#,
        )
        .unwrap();
        let mut map = parse_samples(r#"{"128": 2900, "1024": 420}"#).unwrap();
        assert_eq!(csv, list);
        map.sort_by(|a, b| a.memory_mb.total_cmp(&b.memory_mb));
        assert_eq!(list, map);
    }

    #[test]
    fn errors_say_where() {
        for (text, fragment) in [
            (
                "memory_mb,duration_ms\n128,abc\n",
                "line 2, column duration_ms: expected a number",
            ),
            (
                "memory_mb,duration_ms\n1e300,5\n",
                "line 2, column memory_mb: must be a number from 1 to 10240 MB",
            ),
            (
                "mem,dur\n128,5\n",
                "line 1: the header must name the columns",
            ),
            (
                r#"{"big": 5}"#,
                "$.big: the key must be a memory size in MB",
            ),
            (
                r#"[{"memory_mb":128,"duration_ms":-5}]"#,
                "sample 0: duration_ms must be a number from 0",
            ),
        ] {
            let e = parse_samples(text).unwrap_err();
            assert!(e.contains(fragment), "{text}: {e}");
        }
    }
}
