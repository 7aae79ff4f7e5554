//! What the command-line tests share: where the repository is, the `optiserve` binary, scratch
//! directories and running a command with no AWS credentials in reach.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;

use insta_cmd::get_cargo_bin;

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `optiserve` binary, run from the repository's root.
pub fn optiserve() -> Command {
    let mut c = Command::new(get_cargo_bin("optiserve"));
    c.current_dir(root());
    c
}

/// A fresh directory, removed when the returned guard drops (also when the test fails).
pub fn scratch(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("optiserve-{tag}-"))
        .tempdir()
        .unwrap()
}

/// Runs `optiserve` with `args` and no AWS credentials reachable: the exit code and what it
/// printed (standard output, then standard error).
pub fn run_offline(args: &[String]) -> (Option<i32>, String) {
    let out = optiserve()
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent/optiserve-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/optiserve-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The words of `text` that print a figure that is not a number: `inf`, `NaN`, `null`.
pub fn non_numbers(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| {
            matches!(
                w.to_ascii_lowercase().as_str(),
                "inf" | "infinity" | "nan" | "null"
            )
        })
        .map(str::to_string)
        .collect()
}
