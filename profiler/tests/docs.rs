//! Every command the README and the docs show runs as shown. The commands are the lines of the
//! docs' shell blocks that start with `optiserve ` or, in a block written as a session, with
//! `$ ` (output lines follow them); `NAME=value` lines set variables for the commands after them.
//! Each document runs in its own scratch folder holding copies of `examples/` and `schema/` (a
//! command may write there) and the test fixtures, in the document's order, so a command can use
//! what an earlier one wrote. A command must end with exit code 0, or 2 where the docs show an
//! infeasible answer or a missed objective. A command marked `# on AWS` (it needs an account),
//! `# template` (it names your own files) or `# slow` (a long run the benchmarks cover) is not
//! run.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The commands of one Markdown document, with their line numbers; variable assignments are
/// returned as commands too (`export NAME=value`).
fn commands(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(lang) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(lang.to_string()),
            };
            continue;
        }
        let Some(lang) = &fence else { continue };
        if !matches!(lang.as_str(), "sh" | "bash" | "console" | "") {
            continue;
        }
        let continued = trimmed.ends_with('\\');
        let text = trimmed.trim_end_matches('\\').trim();
        if let Some((at, cmd)) = &mut pending {
            cmd.push(' ');
            cmd.push_str(text);
            if !continued {
                out.push((*at, std::mem::take(cmd)));
                pending = None;
            }
            continue;
        }
        let command = if let Some(c) = text.strip_prefix("$ ") {
            c
        } else if text.starts_with("optiserve ") {
            text
        } else if lang == "sh"
            && text.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
        {
            out.push((i + 1, format!("export {text}")));
            continue;
        } else {
            continue;
        };
        if continued {
            pending = Some((i + 1, command.to_string()));
        } else {
            out.push((i + 1, command.to_string()));
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn every_command_in_the_readme_and_the_docs_runs_as_shown() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_optiserve"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut documents: Vec<PathBuf> = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    documents.extend(docs);
    let mut ran = 0;
    for doc in &documents {
        let markdown = std::fs::read_to_string(doc).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        copy_dir(&root().join("examples"), &dir.join("examples"));
        copy_dir(&root().join("schema"), &dir.join("schema"));
        std::fs::create_dir_all(dir.join("profiler/tests")).unwrap();
        std::os::unix::fs::symlink(
            root().join("profiler/tests/fixtures"),
            dir.join("profiler/tests/fixtures"),
        )
        .unwrap();
        std::os::unix::fs::symlink(root().join("tests"), dir.join("tests")).unwrap();
        let mut exports = String::new();
        for (line, command) in commands(&markdown) {
            if command.starts_with("export ") {
                exports.push_str(&command);
                exports.push('\n');
                continue;
            }
            if ["# on AWS", "# template", "# slow"]
                .iter()
                .any(|mark| command.contains(mark))
            {
                continue;
            }
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("set -e\n{exports}{command}"))
                .current_dir(dir)
                .env("PATH", &path)
                .output()
                .unwrap();
            let code = out.status.code();
            assert!(
                matches!(code, Some(0 | 2)),
                "{}:{line}: `{command}` exited {code:?}\n{}{}",
                doc.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    // The README's example and the manual's walk-throughs at least.
    assert!(ran >= 25, "only {ran} commands found in the docs");
    println!("{ran} commands from {} documents ran", documents.len());
}

#[test]
fn commands_are_read_with_continuations_prompts_and_variables() {
    let md = "```sh\nARN=arn:x\n$ optiserve a \\\n    --b c\noutput line\noptiserve d # template\n```\n```json\n$ not a command\n```\n";
    assert_eq!(
        commands(md),
        vec![
            (2, "export ARN=arn:x".to_string()),
            (3, "optiserve a --b c".to_string()),
            (6, "optiserve d # template".to_string()),
        ]
    );
}
