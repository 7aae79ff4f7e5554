//! Rendering a reduced structure with function ids.

use std::fmt;

use super::{Structure, Workflow};

/// Renders a structure with function ids, e.g. `loop×1.43(f1 → par(branch(0.2: f2 | 0.8: f3) ‖ f4) → f5)`.
#[derive(Debug)]
pub struct DisplayStructure<'a> {
    structure: &'a Structure,
    ids: &'a [String],
}

impl Workflow {
    /// A one-line rendering of the reduced structure.
    pub fn display_structure(&self) -> DisplayStructure<'_> {
        DisplayStructure {
            structure: &self.structure,
            ids: &self.ids,
        }
    }
}

impl fmt::Display for DisplayStructure<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn go(s: &Structure, ids: &[String], out: &mut fmt::Formatter<'_>) -> fmt::Result {
            match s {
                Structure::Function(f) => {
                    write!(out, "{}", ids.get(*f).map(String::as_str).unwrap_or("?"))
                }
                Structure::Sequence(items) if items.is_empty() => write!(out, "∅"),
                Structure::Sequence(items) => {
                    for (i, it) in items.iter().enumerate() {
                        if i > 0 {
                            write!(out, " → ")?;
                        }
                        go(it, ids, out)?;
                    }
                    Ok(())
                }
                Structure::Branch(arms) => {
                    write!(out, "branch(")?;
                    for (i, (p, a)) in arms.iter().enumerate() {
                        if i > 0 {
                            write!(out, " | ")?;
                        }
                        write!(out, "{p}: ")?;
                        go(a, ids, out)?;
                    }
                    write!(out, ")")
                }
                Structure::Parallel(arms) => {
                    write!(out, "parallel(")?;
                    for (i, a) in arms.iter().enumerate() {
                        if i > 0 {
                            write!(out, " ‖ ")?;
                        }
                        go(a, ids, out)?;
                    }
                    write!(out, ")")
                }
                Structure::Repeat {
                    expected_runs,
                    body,
                    ..
                } => {
                    write!(out, "loop×{expected_runs:.4}(")?;
                    go(body, ids, out)?;
                    write!(out, ")")
                }
                Structure::Map {
                    items,
                    max_concurrency,
                    body,
                    ..
                } => {
                    if *max_concurrency == 0 {
                        write!(out, "map×{items}(")?;
                    } else {
                        write!(out, "map×{items}/{max_concurrency}(")?;
                    }
                    go(body, ids, out)?;
                    write!(out, ")")
                }
            }
        }
        go(self.structure, self.ids, out)
    }
}
