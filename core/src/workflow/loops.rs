//! Rotating while loops into the form the reduction reads (see the `build` module).

use std::collections::{HashMap, HashSet};

use super::build::{Adjacency, MAX_ROTATIONS};
use super::reduce::*;
use super::*;

/// What the rotation of while loops gives.
pub(super) struct Rotated {
    /// The adjacency: the given nodes `0..n`, then the added nodes, then Start and End.
    pub(super) adj: Adjacency,
    /// Per added node: the given node it copies (for a dispatch node, the node whose loop it
    /// belongs to, for messages).
    pub(super) origin: Vec<usize>,
    /// Per added node: a dispatch node (no state: it only routes the arms that stay in a loop).
    pub(super) dispatch: Vec<bool>,
    /// Edges (from, to) that bill no transition (into a dispatch node).
    pub(super) free: HashSet<(usize, usize)>,
}

/// Rotates every loop whose edge back is taken with probability 1 and whose exit is decided by
/// one node's branch on the way from its head (see the module documentation). `adj` has the
/// given nodes `0..n`, Start at `n` and End at `n + 1`. The region from the head down to the
/// deciding node is copied; the edge back enters the copy of the head. When the decision has
/// several arms that stay in the loop, they leave it through a dispatch node (no time, no
/// transition billed), which becomes the rotated loop's head. A loop that cannot be rotated is
/// refused, naming it.
pub(super) fn rotate_while_loops(
    mut adj: Adjacency,
    n: usize,
    name: &dyn Fn(usize) -> String,
) -> Result<Rotated, WorkflowError> {
    let mut origin: Vec<usize> = Vec::new();
    let mut dispatch: Vec<bool> = Vec::new();
    let mut free: HashSet<(usize, usize)> = HashSet::new();
    let given = |v: usize, origin: &[usize]| if v >= n + 2 { origin[v - n - 2] } else { v };
    for _ in 0..MAX_ROTATIONS {
        let back = back_edges(n, &adj);
        let Some(&(u, h, _, k)) = back
            .iter()
            .find(|&&(u, _, p, _)| p >= 1.0 && adj.out[u].iter().filter(|e| e.0 != u).count() == 1)
        else {
            break;
        };
        let total = adj.out.len();
        let refuse = |why: String, origin: &[usize]| WorkflowError::EndlessLoop {
            edge: k,
            from: name(given(u, origin)),
            to: name(given(h, origin)),
            reason: why,
        };
        // The loop: nodes reachable from the head (without the edge back) that reach the latch.
        let mut from_head = vec![false; total];
        let mut stack = vec![h];
        while let Some(v) = stack.pop() {
            if from_head[v] || v == n + 1 {
                continue;
            }
            from_head[v] = true;
            if v != u {
                stack.extend(adj.out[v].iter().map(|e| e.0));
            }
        }
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); total];
        for (a, outs) in adj.out.iter().enumerate() {
            for &(b, _, _) in outs {
                if !(a == u && b == h) {
                    preds[b].push(a);
                }
            }
        }
        let mut to_latch = vec![false; total];
        let mut stack = vec![u];
        while let Some(v) = stack.pop() {
            if to_latch[v] {
                continue;
            }
            to_latch[v] = true;
            stack.extend(preds[v].iter().copied());
        }
        let in_loop = |v: usize| from_head[v] && to_latch[v];
        let exits: Vec<usize> = (0..total)
            .filter(|&v| in_loop(v) && adj.out[v].iter().any(|e| e.0 != v && !in_loop(e.0)))
            .collect();
        let x = match exits.as_slice() {
            [x] => *x,
            [] => {
                return Err(refuse(
                    format!(
                        "this edge closes a cycle back to '{}' with probability 1, and no branch leaves the loop",
                        name(given(h, &origin))
                    ),
                    &origin,
                ));
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|&v| format!("'{}'", name(given(v, &origin))))
                    .collect();
                return Err(refuse(
                    format!(
                        "this edge closes a cycle back to '{}' with probability 1, and the loop is left from several places ({}); the reduction reads a loop left from one place",
                        name(given(h, &origin)),
                        names.join(", ")
                    ),
                    &origin,
                ));
            }
        };
        let arms: Vec<(usize, f64, usize)> =
            adj.out[x].iter().copied().filter(|e| e.0 != x).collect();
        let (stay, leave): (Vec<&(usize, f64, usize)>, Vec<_>) =
            arms.iter().partition(|e| in_loop(e.0));
        if arms.iter().any(|e| e.1 >= 1.0) || stay.is_empty() || leave.is_empty() {
            return Err(refuse(
                format!(
                    "this edge closes a cycle back to '{}' with probability 1, and '{}', where the loop is left, does not choose between staying and leaving with a branch",
                    name(given(h, &origin)),
                    name(given(x, &origin))
                ),
                &origin,
            ));
        }
        // The region from the head to the decision.
        let mut region = vec![false; total];
        let mut stack = vec![h];
        while let Some(v) = stack.pop() {
            if region[v] || !in_loop(v) {
                continue;
            }
            region[v] = true;
            if v != x {
                stack.extend(adj.out[v].iter().map(|e| e.0));
            }
        }
        if region[u] || stay.iter().any(|e| region[e.0]) {
            return Err(refuse(
                format!(
                    "this edge closes a cycle back to '{}' with probability 1, and a way around the loop does not pass '{}', where the loop is left",
                    name(given(h, &origin)),
                    name(given(x, &origin))
                ),
                &origin,
            ));
        }
        // Copies of the region (nested while loops copy their inner loops again: bounded).
        let size = region.iter().filter(|&&r| r).count();
        if origin.len() + size > MAX_STRUCTURE_LEAVES {
            return Err(WorkflowError::Irreducible {
                edge: Some(k),
                reason: format!(
                    "rotating the loops whose exit is decided at their top (around '{}') would copy more than {MAX_STRUCTURE_LEAVES} nodes",
                    name(given(h, &origin))
                ),
            });
        }
        let mut copied: HashMap<usize, usize> = HashMap::new();
        for v in (0..total).filter(|&v| region[v]) {
            copied.insert(v, adj.out.len());
            origin.push(given(v, &origin));
            dispatch.push(false);
            adj.out.push(Vec::new());
        }
        for (&v, &c) in &copied {
            let outs: Vec<(usize, f64, usize)> = adj.out[v]
                .iter()
                .map(|&(w, p, e)| (copied.get(&w).copied().unwrap_or(w), p, e))
                .collect();
            adj.out[c] = outs;
        }
        // Several arms stay: through a dispatch node, from the decision and from its copy.
        if stay.len() > 1 {
            let d = adj.out.len();
            origin.push(given(x, &origin));
            dispatch.push(true);
            let q: f64 = stay.iter().map(|e| e.1).sum();
            adj.out
                .push(stay.iter().map(|&&(w, p, e)| (w, p / q, e)).collect());
            let first = stay[0].2;
            for from in [x, copied[&x]] {
                let keep: Vec<(usize, f64, usize)> = adj.out[from]
                    .iter()
                    .copied()
                    .filter(|e| e.0 == from || !in_loop(e.0))
                    .collect();
                adj.out[from] = keep;
                adj.out[from].push((d, q, first));
                free.insert((from, d));
            }
        }
        for e in adj.out[u].iter_mut() {
            if e.0 == h && e.2 == k {
                e.0 = copied[&h];
            }
        }
    }
    // Renumber: added nodes right after the given nodes, then Start and End.
    let added = origin.len();
    if added == 0 {
        return Ok(Rotated {
            adj,
            origin,
            dispatch,
            free,
        });
    }
    let renumber = |v: usize| -> usize {
        if v < n {
            v
        } else if v == n {
            n + added
        } else if v == n + 1 {
            n + added + 1
        } else {
            v - 2
        }
    };
    let mut out = vec![Vec::new(); n + added + 2];
    for (u, edges) in adj.out.into_iter().enumerate() {
        out[renumber(u)] = edges
            .into_iter()
            .map(|(v, p, k)| (renumber(v), p, k))
            .collect();
    }
    let free = free
        .into_iter()
        .map(|(a, b)| (renumber(a), renumber(b)))
        .collect();
    Ok(Rotated {
        adj: Adjacency { out },
        origin,
        dispatch,
        free,
    })
}
