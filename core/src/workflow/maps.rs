//! Map blocks: checking a block against the nodes and folding its body into the structure.

use std::collections::{HashMap, HashSet};

use super::reduce::*;
use super::*;
use crate::limits;

/// Checks a Map block against the nodes and returns its body's nodes.
pub(super) fn map_body(
    m: &MapBlock,
    index: &HashMap<&str, usize>,
    functions: usize,
) -> Result<HashSet<usize>, WorkflowError> {
    let bad = |reason: String| WorkflowError::BadMap {
        state: m.state.clone(),
        reason,
    };
    let Some(&node) = index.get(m.state.as_str()) else {
        return Err(bad("no state node has this id".to_string()));
    };
    if node < functions {
        return Err(bad(
            "it names a function; a Map block starts at a state node of kind map".to_string(),
        ));
    }
    if let Err(e) = limits::MAP_ITEMS.check(m.items) {
        return Err(bad(format!("items {e}")));
    }
    if let Some(b) = m.batch_items
        && let Err(e) = limits::MAP_ITEMS.check(b)
    {
        return Err(bad(format!("batch_items {e}")));
    }
    let mut body = HashSet::new();
    for id in &m.body {
        match index.get(id.as_str()) {
            Some(&v) if v < index.len().saturating_sub(2) => {
                if v == node {
                    return Err(bad("the body cannot contain the Map's own node".to_string()));
                }
                body.insert(v);
            }
            _ => {
                return Err(bad(format!(
                    "body node '{id}' is not a node of the workflow"
                )));
            }
        }
    }
    if body.is_empty() {
        return Err(bad("the body is empty".to_string()));
    }
    Ok(body)
}

/// Wraps a Map state's iteration body: the items that follow the Map's node in its sequence and
/// hold only body nodes, which must be all of them.
pub(super) fn apply_map(
    structure: &mut Structure,
    m: &MapBlock,
    node: usize,
    body: &HashSet<usize>,
    base: &dyn Fn(usize) -> usize,
) -> Result<(), WorkflowError> {
    let bad = |reason: String| WorkflowError::BadMap {
        state: m.state.clone(),
        reason,
    };
    pub(super) fn find(
        s: &mut Structure,
        node: usize,
        body: &HashSet<usize>,
        m: &MapBlock,
        base: &dyn Fn(usize) -> usize,
    ) -> Option<bool> {
        match s {
            Structure::Sequence(items) => {
                if let Some(i) = items
                    .iter()
                    .position(|x| matches!(x, Structure::Function(f) if *f == node))
                {
                    let mut j = i + 1;
                    let mut covered = HashSet::new();
                    while j < items.len() {
                        let mut set = HashSet::new();
                        leaves(&items[j], &mut set);
                        let set: HashSet<usize> = set.into_iter().map(base).collect();
                        if !set.is_subset(body) {
                            break;
                        }
                        covered.extend(set);
                        j += 1;
                    }
                    if &covered != body {
                        return Some(false);
                    }
                    let taken: Vec<Structure> = items.drain(i + 1..j).collect();
                    let inner = if taken.len() == 1 {
                        taken
                            .into_iter()
                            .next()
                            .unwrap_or(Structure::Sequence(Vec::new()))
                    } else {
                        Structure::Sequence(taken)
                    };
                    items.insert(
                        i + 1,
                        Structure::Map {
                            items: m.runs(),
                            max_concurrency: m.max_concurrency,
                            waves: m.waves(),
                            body: Box::new(inner),
                        },
                    );
                    return Some(true);
                }
                items.iter_mut().find_map(|x| find(x, node, body, m, base))
            }
            Structure::Parallel(items) => {
                items.iter_mut().find_map(|x| find(x, node, body, m, base))
            }
            Structure::Branch(arms) => arms
                .iter_mut()
                .find_map(|(_, a)| find(a, node, body, m, base)),
            Structure::Repeat { body: b, .. } | Structure::Map { body: b, .. } => {
                find(b, node, body, m, base)
            }
            Structure::Function(_) => None,
        }
    }
    match find(structure, node, body, m, base) {
        Some(true) => Ok(()),
        _ => Err(bad(
            "the body must be exactly the block that follows the Map's node up to the Map's next state"
                .to_string(),
        )),
    }
}
