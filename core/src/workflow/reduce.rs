//! The reduction of the de-looped graph with dominators and post-dominators to a [`Structure`]
//! tree.

use std::collections::{HashMap, HashSet};

use petgraph::algo::dominators::Dominators;
use petgraph::graph::NodeIndex;

use super::build::Adjacency;
use super::*;

#[derive(Debug, Clone, Default)]
pub(super) struct Fanout {
    pub(super) parallel: Vec<usize>,
    /// (target, probability renormalised over the forward branch mass, edge index)
    pub(super) branch: Vec<(usize, f64, usize)>,
}

impl Fanout {
    pub(super) fn targets(&self) -> impl Iterator<Item = usize> + '_ {
        self.parallel
            .iter()
            .copied()
            .chain(self.branch.iter().map(|b| b.0))
    }
}

pub(super) fn reach<F, I>(from: usize, count: usize, next: F) -> Vec<bool>
where
    F: Fn(usize) -> I,
    I: IntoIterator<Item = usize>,
{
    let mut seen = vec![false; count];
    let mut stack = vec![from];
    seen[from] = true;
    while let Some(u) = stack.pop() {
        for v in next(u) {
            if !seen[v] {
                seen[v] = true;
                stack.push(v);
            }
        }
    }
    seen
}

/// Back edges (u → v with v on the DFS stack) of an iterative DFS from `start`, self-loops excluded.
pub(super) fn back_edges(start: usize, adj: &Adjacency) -> Vec<(usize, usize, f64, usize)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    let mut color = vec![Color::White; adj.out.len()];
    let mut found = Vec::new();
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    color[start] = Color::Gray;
    while let Some(&mut (u, ref mut i)) = stack.last_mut() {
        if let Some(&(v, p, k)) = adj.out[u].get(*i) {
            *i += 1;
            if v == u {
                continue;
            }
            match color[v] {
                Color::White => {
                    color[v] = Color::Gray;
                    stack.push((v, 0));
                }
                Color::Gray => found.push((u, v, p, k)),
                Color::Black => {}
            }
        } else {
            color[u] = Color::Black;
            stack.pop();
        }
    }
    found.sort_by_key(|e| e.3);
    found
}

/// Does `a` (post-)dominate `b` in `doms`?
pub(super) fn dominates(doms: &Dominators<NodeIndex>, a: usize, b: usize) -> bool {
    doms.dominators(NodeIndex::new(b))
        .is_some_and(|mut it| it.any(|d| d.index() == a))
}

/// Where a walk along the post-dominator chain stops.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Stop {
    /// Stop on reaching this node, without including it (the join of a fan-out).
    Before(usize),
    /// Stop right after this node, without its fan-out (a loop's latch).
    After(usize),
}

pub(super) struct Reducer<'a, F: Fn(usize) -> String> {
    pub(super) n: usize,
    pub(super) end: usize,
    pub(super) dag: &'a [Fanout],
    pub(super) pdoms: &'a Dominators<NodeIndex>,
    pub(super) self_loop: &'a [f64],
    pub(super) loops: &'a HashMap<usize, (usize, f64, usize)>,
    pub(super) leaves: usize,
    pub(super) depth: usize,
    pub(super) name: &'a F,
}

impl<F: Fn(usize) -> String> Reducer<'_, F> {
    pub(super) fn seq(mut items: Vec<Structure>) -> Structure {
        if items.len() == 1 {
            items.pop().unwrap_or(Structure::Sequence(Vec::new()))
        } else {
            Structure::Sequence(items)
        }
    }

    pub(super) fn walk_from_start(&mut self, start: usize) -> Result<Structure, WorkflowError> {
        let (next, fan) = self.fanout(start)?;
        let mut items = Vec::new();
        if let Some(f) = fan {
            items.push(f);
        }
        if next != self.end {
            items.push(self.walk(next, Stop::Before(self.end), None)?);
        }
        Ok(Self::seq(items))
    }

    /// The block that runs from `from` along the post-dominator chain until `stop`.
    /// `inside_loop_of` is the header whose loop body is being built (so it is not wrapped again).
    pub(super) fn walk(
        &mut self,
        from: usize,
        stop: Stop,
        inside_loop_of: Option<usize>,
    ) -> Result<Structure, WorkflowError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(WorkflowError::Irreducible {
                edge: None,
                reason: format!(
                    "blocks nest more than {MAX_NESTING} deep at '{}'",
                    (self.name)(from)
                ),
            });
        }
        let result = self.walk_inner(from, stop, inside_loop_of);
        self.depth -= 1;
        result
    }

    pub(super) fn walk_inner(
        &mut self,
        from: usize,
        stop: Stop,
        inside_loop_of: Option<usize>,
    ) -> Result<Structure, WorkflowError> {
        let mut items = Vec::new();
        let mut cur = from;
        let mut first = true;
        loop {
            if stop == Stop::Before(cur) {
                break;
            }
            if cur == self.end || cur >= self.n {
                return Err(WorkflowError::Irreducible {
                    edge: None,
                    reason: format!(
                        "the block starting at '{}' does not close where it should (loops or parallel blocks overlap without nesting)",
                        (self.name)(from)
                    ),
                });
            }
            let is_own_header = first && inside_loop_of == Some(cur);
            first = false;
            let last = match self.loops.get(&cur) {
                Some(&(latch, p, _)) if !is_own_header => {
                    let body = self.walk(cur, Stop::After(latch), Some(cur))?;
                    items.push(Structure::Repeat {
                        expected_runs: 1.0 / (1.0 - p),
                        kind: LoopKind::Cycle,
                        body: Box::new(body),
                    });
                    latch
                }
                _ => {
                    items.push(self.leaf(cur)?);
                    cur
                }
            };
            if stop == Stop::After(last) {
                break;
            }
            let (next, fan) = self.fanout(last)?;
            if let Some(f) = fan {
                items.push(f);
            }
            cur = next;
        }
        Ok(Self::seq(items))
    }

    pub(super) fn leaf(&mut self, f: usize) -> Result<Structure, WorkflowError> {
        self.leaves += 1;
        if self.leaves > MAX_STRUCTURE_LEAVES {
            return Err(WorkflowError::Irreducible {
                edge: None,
                reason: format!(
                    "unfolding the paths shared between branches gives more than {MAX_STRUCTURE_LEAVES} function occurrences"
                ),
            });
        }
        let p = self.self_loop[f];
        Ok(if p > 0.0 {
            Structure::Repeat {
                expected_runs: 1.0 / (1.0 - p),
                kind: LoopKind::SelfLoop,
                body: Box::new(Structure::Function(f)),
            }
        } else {
            Structure::Function(f)
        })
    }

    /// The block between `u`'s out-edges and their join, and the join itself.
    pub(super) fn fanout(&mut self, u: usize) -> Result<(usize, Option<Structure>), WorkflowError> {
        let f = &self.dag[u];
        let single = match (f.parallel.as_slice(), f.branch.as_slice()) {
            ([v], []) => Some(*v),
            ([], [(v, _, _)]) => Some(*v),
            _ => None,
        };
        if let Some(v) = single {
            return Ok((v, None));
        }
        let join = self
            .pdoms
            .immediate_dominator(NodeIndex::new(u))
            .map(|x| x.index())
            .unwrap_or(self.end);
        let mut arms = Vec::new();
        for &v in &f.parallel {
            arms.push(self.walk(v, Stop::Before(join), None)?);
        }
        if !f.branch.is_empty() {
            let mut choices = Vec::new();
            for &(v, p, _) in &f.branch {
                choices.push((p, self.walk(v, Stop::Before(join), None)?));
            }
            arms.push(Structure::Branch(choices));
        }
        let block = if arms.len() == 1 {
            arms.pop().unwrap_or(Structure::Sequence(Vec::new()))
        } else {
            Structure::Parallel(arms)
        };
        Ok((join, Some(block)))
    }
}

/// Functions in each arm of a parallel block must be distinct: a node shared by two arms would be a
/// join inside the block, which the max-of-arms rule cannot express.
pub(super) fn check_parallel_disjoint<F: Fn(usize) -> String>(
    s: &Structure,
    name: &F,
) -> Result<HashSet<usize>, WorkflowError> {
    Ok(match s {
        Structure::Function(f) => HashSet::from([*f]),
        Structure::Sequence(items) => {
            let mut all = HashSet::new();
            for i in items {
                all.extend(check_parallel_disjoint(i, name)?);
            }
            all
        }
        Structure::Branch(arms) => {
            let mut all = HashSet::new();
            for (_, a) in arms {
                all.extend(check_parallel_disjoint(a, name)?);
            }
            all
        }
        Structure::Parallel(arms) => {
            let mut all: HashSet<usize> = HashSet::new();
            for a in arms {
                let set = check_parallel_disjoint(a, name)?;
                if let Some(&shared) = set.iter().find(|f| all.contains(f)) {
                    return Err(WorkflowError::Irreducible {
                        edge: None,
                        reason: format!(
                            "'{}' is reached from two parallel arms before they join; make it the join of the block or split it",
                            name(shared)
                        ),
                    });
                }
                all.extend(set);
            }
            all
        }
        Structure::Repeat { body, .. } | Structure::Map { body, .. } => {
            check_parallel_disjoint(body, name)?
        }
    })
}

/// Every leaf (function or state node) of a structure.
pub(super) fn leaves(s: &Structure, out: &mut HashSet<usize>) {
    match s {
        Structure::Function(f) => {
            out.insert(*f);
        }
        Structure::Sequence(items) | Structure::Parallel(items) => {
            items.iter().for_each(|i| leaves(i, out));
        }
        Structure::Branch(arms) => arms.iter().for_each(|(_, a)| leaves(a, out)),
        Structure::Repeat { body, .. } | Structure::Map { body, .. } => leaves(body, out),
    }
}
