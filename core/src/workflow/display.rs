//! Rendering a reduced structure with function ids (a site as `function@site`).

use std::fmt;

use super::{Structure, Workflow};

/// Renders a structure with function ids, e.g. `loop×1.43(f1 → par(branch(0.2: f2 | 0.8: f3) ‖ f4) → f5)`.
#[derive(Debug)]
pub struct DisplayStructure<'a> {
    structure: &'a Structure,
    ids: &'a [String],
    /// Node ids at or above this index are sites.
    sites_from: usize,
    site_functions: &'a [usize],
}

impl Workflow {
    /// A one-line rendering of the reduced structure.
    pub fn display_structure(&self) -> DisplayStructure<'_> {
        DisplayStructure {
            structure: &self.site_structure,
            ids: &self.ids,
            sites_from: self.functions + self.states,
            site_functions: &self.site_functions,
        }
    }
}

impl fmt::Display for DisplayStructure<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self;
        fn go(
            s: &Structure,
            d: &DisplayStructure<'_>,
            out: &mut fmt::Formatter<'_>,
        ) -> fmt::Result {
            let ids = d.ids;
            match s {
                Structure::Function(f) if *f >= d.sites_from => {
                    let function = d
                        .site_functions
                        .get(f - d.sites_from)
                        .and_then(|&g| ids.get(g))
                        .map_or("?", String::as_str);
                    let site = ids.get(*f).map_or("?", String::as_str);
                    write!(out, "{function}@{site}")
                }
                Structure::Function(f) => {
                    write!(out, "{}", ids.get(*f).map(String::as_str).unwrap_or("?"))
                }
                Structure::Sequence(items) if items.is_empty() => write!(out, "∅"),
                Structure::Sequence(items) => {
                    for (i, it) in items.iter().enumerate() {
                        if i > 0 {
                            write!(out, " → ")?;
                        }
                        go(it, d, out)?;
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
                        go(a, d, out)?;
                    }
                    write!(out, ")")
                }
                Structure::Parallel(arms) => {
                    write!(out, "parallel(")?;
                    for (i, a) in arms.iter().enumerate() {
                        if i > 0 {
                            write!(out, " ‖ ")?;
                        }
                        go(a, d, out)?;
                    }
                    write!(out, ")")
                }
                Structure::Repeat {
                    expected_runs,
                    body,
                    ..
                } => {
                    write!(out, "loop×{expected_runs:.4}(")?;
                    go(body, d, out)?;
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
                    go(body, d, out)?;
                    write!(out, ")")
                }
            }
        }
        go(d.structure, d, out)
    }
}
