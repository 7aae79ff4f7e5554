//! Writing results to standard output. A closed pipe (`optiserve pareto … | head`) ends the
//! output quietly instead of panicking.

use std::io::{ErrorKind, Write};

/// Writes `text` to standard output.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
