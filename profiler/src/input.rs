//! Reading files, and mapping errors to exit codes.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use optiserve_core::bundle::{Application, Bundle, ResolvedChoice};

/// Exit code for invalid input.
pub const EXIT_INVALID: u8 = 1;
/// Exit code when no configuration meets the constraints.
pub const EXIT_INFEASIBLE: u8 = 2;
/// Exit code for unreadable or unwritable files.
pub const EXIT_IO: u8 = 3;
/// Exit code when the cloud refused or failed (`profile`, `apply`).
pub const EXIT_CLOUD: u8 = 4;
/// Exit code after Ctrl-C (the functions were restored).
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit code for a command line that cannot be parsed (an unknown flag, a missing value):
/// `EX_USAGE`, distinct from every outcome a command reports.
pub const EXIT_USAGE: u8 = 64;

/// Reads a whole file as UTF-8 (a leading byte-order mark is skipped), naming it on failure; text
/// that is not UTF-8 is invalid input, with the byte offset of the first bad byte.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes =
        read_bytes(path).map_err(|e| anyhow::Error::new(FileError::new(path, "read", e)))?;
    let (skipped, text) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (3, rest),
        None => (0, bytes.as_slice()),
    };
    match std::str::from_utf8(text) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => anyhow::bail!(
            "{}: not UTF-8 text: invalid byte at offset {}{}",
            path.display(),
            skipped + e.valid_up_to(),
            line_column(text, e.valid_up_to())
        ),
    }
}

/// The largest file any command reads (1 GiB; the largest real input, a month of Step Functions
/// histories, is tens of megabytes).
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// A file's bytes: at most [`MAX_INPUT_BYTES`], and never from a device (`/dev/zero` or
/// `/dev/urandom` named as an input would otherwise be read until memory runs out). Pipes and
/// process substitutions are read as files.
fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::other("a folder, not a file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let kind = meta.file_type();
        if kind.is_char_device() || kind.is_block_device() {
            return Err(std::io::Error::other("a device, not a file"));
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB, the most any input may hold",
            MAX_INPUT_BYTES >> 20
        )));
    }
    Ok(bytes)
}

/// ` (line L, column C)` of a byte offset in text that is valid UTF-8 up to it.
fn line_column(bytes: &[u8], offset: usize) -> String {
    let before = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" (line {line}, column {column})")
}

/// Writes a file (or standard output for `-`), naming it on failure.
pub fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    if path == Path::new("-") {
        print!("{text}");
        return Ok(());
    }
    fs::write(path, text).map_err(|e| {
        anyhow::Error::new(FileError {
            path: path.to_path_buf(),
            action: "write",
            source: e,
        })
    })
}

/// An I/O failure on a named file.
#[derive(Debug)]
pub struct FileError {
    path: PathBuf,
    action: &'static str,
    source: std::io::Error,
}

impl FileError {
    /// An I/O failure on `path` while doing `action` ("read", "write").
    pub fn new(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        FileError {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.action,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for FileError {}

/// Reads and validates a bundle.
pub fn load_bundle(path: &Path) -> anyhow::Result<(Bundle, Application)> {
    let text = read_text(path)?;
    let bundle =
        Bundle::from_json(&text).with_context(|| format!("in bundle {}", path.display()))?;
    let app = bundle
        .validate()
        .with_context(|| format!("in bundle {}", path.display()))?;
    Ok((bundle, app))
}

/// The configuration to work on: the one in `config` (any form `read_configuration` takes), or
/// the bundle's deployed configuration when no file is given.
pub fn load_choices(
    app: &Application,
    config: Option<&Path>,
) -> anyhow::Result<Vec<ResolvedChoice>> {
    match config {
        None => Ok(app.deployed.clone()),
        Some(path) => app
            .read_configuration(&read_text(path)?)
            .with_context(|| format!("in configuration {}", path.display())),
    }
}

/// The exit code for an error chain.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<crate::profile::Interrupted>()) {
        EXIT_INTERRUPTED
    } else if err.chain().any(|e| e.is::<FileError>()) {
        EXIT_IO
    } else if err.chain().any(|e| e.is::<crate::profile::CloudFailure>()) {
        EXIT_CLOUD
    } else {
        EXIT_INVALID
    }
}
