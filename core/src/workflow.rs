//! The workflow graph (thesis §3.2) and its reduction to a plan that evaluates a configuration in
//! one pass.
//!
//! A workflow is a directed graph over the application's functions plus the two reserved nodes
//! `Start` and `End`; every edge carries a transition probability. The edge convention is the one
//! the thesis artifact uses, so any edge list written for it imports unchanged:
//!
//! * out-edges of weight `1.0` from one node are a **parallel** fan-out (all of them run);
//! * out-edges with `p < 1` from one node form a **branch** group that must sum to 1 (a node may have
//!   both: its branch group then runs in parallel with its weight-1.0 edges);
//! * an edge back to an earlier node with `p < 1` closes a **cycle**;
//! * an edge `(n, n, p)` is a **self-loop**.
//!
//! [`Workflow::build`] validates the graph, removes self-loops and back edges (found by a depth-first
//! search from `Start`), and decomposes the remaining DAG with dominators and post-dominators into a
//! [`Structure`] tree: sequences, branches (probability-weighted mean), parallel blocks (max of the
//! arms' expected times, as the thesis defines it) and loops (the body's time times its expected
//! number of runs `1/(1−p)`, i.e. `1 + EI` with `EI = p/(1−p)`). That tree is compiled once into a
//! postfix plan, so evaluating a configuration never enumerates simple paths. The expected number of
//! invocations `NI(f)` depends only on the probabilities and is computed once.
//!
//! Orchestration delays (Step Functions): every state entered costs `state_ms` and every transition
//! `transition_ms`. A path through `n` functions therefore adds `(n + 2)·state_ms` (Start and End
//! included) and `(n + 1)·transition_ms`; each repetition of a loop adds the delays of the states it
//! re-enters, once.

use std::collections::{HashMap, HashSet};
use std::fmt;

use petgraph::algo::dominators::{Dominators, simple_fast};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Reversed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Name of the entry node.
pub const START: &str = "Start";
/// Name of the exit node.
pub const END: &str = "End";
/// Tolerance on the sum of a branch group's probabilities.
pub const BRANCH_SUM_TOLERANCE: f64 = 1e-9;
/// Largest number of function occurrences the reduced structure may hold (shared branch paths are
/// unfolded, which can grow the tree).
pub const MAX_STRUCTURE_LEAVES: usize = 100_000;
/// Deepest nesting of blocks (branches, parallel blocks, loops) the reduction accepts; it keeps
/// every recursive pass over the structure far from the stack's limit.
pub const MAX_NESTING: usize = 200;

/// One edge of the workflow: `from` → `to`, taken with `probability`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// Source node: a function id or `Start`.
    pub from: String,
    /// Target node: a function id or `End`.
    pub to: String,
    /// Transition probability in (0, 1]; 1.0 edges from one node run in parallel.
    pub probability: f64,
    /// Where the probability came from. Left out: given (written by hand, or taken from the
    /// profiles a bundle was built from, as in the thesis' examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<ProbabilityBasis>,
    /// State transitions Step Functions Standard bills each time this edge is taken (≥ 0;
    /// left out: 1). `workflow import-asl` adds one for every Choice, Pass or Succeed state it
    /// folded into the edge, so that the workflow's cost counts the states AWS bills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitions: Option<f64>,
}

impl Edge {
    /// Convenience constructor (no basis: the probability is given).
    pub fn new(from: impl Into<String>, to: impl Into<String>, probability: f64) -> Self {
        Edge {
            from: from.into(),
            to: to.into(),
            probability,
            basis: None,
            transitions: None,
        }
    }

    /// The same edge with a basis.
    pub fn with_basis(mut self, basis: ProbabilityBasis) -> Self {
        self.basis = Some(basis);
        self
    }
}

/// Where an edge's probability came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProbabilityBasis {
    /// Not measured: a placeholder (an import from a state machine definition spreads each
    /// Choice uniformly over its arms).
    Assumed,
    /// Measured from executions: the edge was taken `taken` times out of `out_of` departures
    /// from its source node (its branch group's total), over `executions` executions.
    Measured {
        /// Times the edge was taken.
        taken: u64,
        /// Departures from the source node that were counted.
        out_of: u64,
        /// Executions the counts come from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        executions: Option<u64>,
    },
}

/// What kind of Step Functions state a [`StateNode`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// A Wait state: a fixed delay.
    Wait,
    /// A Pass state kept as a node.
    Pass,
    /// A Choice state kept as a node (where its arms cannot be folded into the edges).
    Choice,
    /// The fork of a Parallel state.
    Parallel,
    /// The join of a Parallel state (where its branches cannot meet at the next function).
    Join,
    /// A Map state: the node before its iteration body (see [`MapBlock`]).
    Map,
}

/// A workflow node that is not a Lambda function: a Step Functions state kept in the graph. It is
/// entered like any state (it adds the orchestration delays and, on Standard workflows, its
/// transitions), it takes `delay_ms`, and it is never billed as a Lambda invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateNode {
    /// Node id used by the edges (the state's name); must differ from every function id.
    pub id: String,
    /// What state it is.
    pub kind: StateKind,
    /// Fixed time spent in the state, ms (a Wait state's `Seconds` × 1000; 0 otherwise).
    #[serde(default)]
    pub delay_ms: f64,
}

/// A Map state: its iteration body (the nodes right after the Map's node, up to the Map's next
/// state) runs once per item, at most `max_concurrency` at a time.
///
/// Analytic model: `ceil(items / max_concurrency)` waves one after another, each wave the max of
/// its iterations, which the structure's max-of-expected-times rule evaluates as the body's expected
/// time: latency `waves · E[body]`, invocations `items · NI(body)`. Against Step Functions (a pool
/// of `max_concurrency` iterations, the next item starting as soon as one ends) the model is biased
/// low by the spread of the iterations within a wave (E[max] ≥ max E) and high by the rounding up
/// of a last, partly filled wave; `optiserve simulate` runs the pool and reports the net bias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapBlock {
    /// The Map state's node (a [`StateNode`] of kind `map`).
    pub state: String,
    /// Every node of the iteration body.
    pub body: Vec<String>,
    /// Expected number of items per execution of the Map state (≥ 1).
    pub items: f64,
    /// Most iterations at a time (`MaxConcurrency`); 0 means no limit.
    #[serde(default)]
    pub max_concurrency: u32,
    /// Runs of the Map state whose item counts `items` is the mean of; left out when `items` is
    /// assumed or given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_runs: Option<u64>,
}

impl MapBlock {
    /// Waves of the analytic model: `ceil(items / max_concurrency)`, 1 without a limit.
    pub fn waves(&self) -> f64 {
        if self.max_concurrency == 0 {
            1.0
        } else {
            (self.items / f64::from(self.max_concurrency))
                .ceil()
                .max(1.0)
        }
    }
}

/// Step Functions orchestration delays added to the end-to-end latency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delays {
    /// Milliseconds per state entered (Start and End count as states).
    #[serde(default)]
    pub state_ms: f64,
    /// Milliseconds per transition taken.
    #[serde(default)]
    pub transition_ms: f64,
}

impl Delays {
    /// The delays the thesis artifact measured on Step Functions: 18.81 ms per state, 1 ms per
    /// transition.
    pub fn step_functions_artifact() -> Self {
        Delays {
            state_ms: 18.81,
            transition_ms: 1.0,
        }
    }
}

/// Why a workflow was refused. Every variant names the nodes (and, where there is one, the index of
/// the edge in the input list) so a caller can point at the place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkflowError {
    /// No functions.
    #[error("the workflow has no functions")]
    Empty,
    /// The same function id twice.
    #[error("function id '{id}' is declared twice")]
    DuplicateFunction {
        /// The id.
        id: String,
    },
    /// A function named like a reserved node.
    #[error("'{id}' is reserved for the workflow's entry/exit node and cannot name a function")]
    ReservedName {
        /// The id.
        id: String,
    },
    /// An edge names a node that is not a function, `Start` or `End`.
    #[error("edge {edge} ({from} → {to}): unknown node '{node}'")]
    UnknownNode {
        /// Edge index.
        edge: usize,
        /// Source as written.
        from: String,
        /// Target as written.
        to: String,
        /// The unknown name.
        node: String,
    },
    /// Probability outside (0, 1].
    #[error("edge {edge} ({from} → {to}): probability {probability} is outside (0, 1]")]
    BadProbability {
        /// Edge index.
        edge: usize,
        /// Source.
        from: String,
        /// Target.
        to: String,
        /// The value.
        probability: f64,
    },
    /// An edge into `Start` or out of `End`.
    #[error("edge {edge} ({from} → {to}): {reason}")]
    BadEndpoint {
        /// Edge index.
        edge: usize,
        /// Source.
        from: String,
        /// Target.
        to: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A billed transition count that is negative or not a number.
    #[error("edge {edge} ({from} → {to}): transitions {transitions} must be a number ≥ 0")]
    BadTransitions {
        /// Edge index.
        edge: usize,
        /// Source.
        from: String,
        /// Target.
        to: String,
        /// The value.
        transitions: f64,
    },
    /// The same (from, to) pair twice.
    #[error("edge {edge} ({from} → {to}) duplicates edge {first}")]
    DuplicateEdge {
        /// Edge index.
        edge: usize,
        /// The earlier edge with the same endpoints.
        first: usize,
        /// Source.
        from: String,
        /// Target.
        to: String,
    },
    /// A branch group whose probabilities do not sum to 1.
    #[error(
        "the branch out of '{node}' sums to {} (edges with p < 1 from one node must sum to 1 within 1e-9): {edges}",
        short(*.sum)
    )]
    BranchSum {
        /// The node.
        node: String,
        /// The sum.
        sum: f64,
        /// The group, as `to (p)` items.
        edges: String,
        /// Index of the group's first edge.
        edge: usize,
    },
    /// Nodes with no path from Start.
    #[error("unreachable from Start: {}", .nodes.join(", "))]
    Unreachable {
        /// The nodes.
        nodes: Vec<String>,
    },
    /// Nodes with no path to End.
    #[error("no path to End from: {}", .nodes.join(", "))]
    CannotReachEnd {
        /// The nodes.
        nodes: Vec<String>,
    },
    /// A loop that is taken with probability 1, or a cycle that can only be left through itself.
    #[error("the loop {from} → {to} can never exit: {reason}")]
    EndlessLoop {
        /// Edge index.
        edge: usize,
        /// Source of the loop edge.
        from: String,
        /// Target of the loop edge.
        to: String,
        /// Why.
        reason: String,
    },
    /// A state node that cannot be used as written.
    #[error("state node '{id}': {reason}")]
    BadState {
        /// The node id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A Map block that does not match the graph.
    #[error("map '{state}': {reason}")]
    BadMap {
        /// The Map state's node.
        state: String,
        /// What is wrong.
        reason: String,
    },
    /// A structure the reduction cannot express (e.g. a loop left from inside a branch, or two
    /// parallel arms that meet at a node other than their join).
    #[error("the workflow cannot be reduced: {reason}")]
    Irreducible {
        /// Edge index, when one edge is at fault.
        edge: Option<usize>,
        /// Explanation naming the nodes.
        reason: String,
    },
}

/// A probability sum for messages: 12 decimals at most, without floating-point noise
/// (`0.8999999999999999` reads `0.9`).
fn short(x: f64) -> String {
    let s = format!("{x:.12}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl WorkflowError {
    /// Index of the offending edge in the input list, if one edge is at fault.
    pub fn edge_index(&self) -> Option<usize> {
        match self {
            WorkflowError::UnknownNode { edge, .. }
            | WorkflowError::BadProbability { edge, .. }
            | WorkflowError::BadEndpoint { edge, .. }
            | WorkflowError::BadTransitions { edge, .. }
            | WorkflowError::DuplicateEdge { edge, .. }
            | WorkflowError::BranchSum { edge, .. }
            | WorkflowError::EndlessLoop { edge, .. } => Some(*edge),
            WorkflowError::Irreducible { edge, .. } => *edge,
            _ => None,
        }
    }
}

/// What a reduced loop came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopKind {
    /// An edge `(n, n, p)`.
    SelfLoop,
    /// A back edge closing a cycle.
    Cycle,
}

/// The workflow reduced to nested series / branch / parallel / loop blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    /// One invocation of the function with this index.
    Function(usize),
    /// Blocks run one after another (an empty sequence takes no time).
    Sequence(Vec<Structure>),
    /// Exactly one arm runs, with its probability.
    Branch(Vec<(f64, Structure)>),
    /// All arms run; the block ends when the slowest arm ends.
    Parallel(Vec<Structure>),
    /// A Map state's iteration body: `items` runs, `waves` of them one after another (see
    /// [`MapBlock`]).
    Map {
        /// Expected items (runs of the body).
        items: f64,
        /// `MaxConcurrency` (0: no limit).
        max_concurrency: u32,
        /// Waves of the analytic model.
        waves: f64,
        /// The iteration body.
        body: Box<Structure>,
    },
    /// The body runs a geometric number of times with mean `expected_runs = 1/(1−p)`.
    Repeat {
        /// Mean number of runs of the body.
        expected_runs: f64,
        /// What came from.
        kind: LoopKind,
        /// The repeated block.
        body: Box<Structure>,
    },
}

/// A built, validated workflow with its evaluation plan.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// Function ids, then state node ids.
    ids: Vec<String>,
    /// Number of functions (node `i < functions` is a function, above a state node).
    functions: usize,
    /// Fixed delay of each state node, ms (index `i - functions`).
    fixed_ms: Vec<f64>,
    graph: WorkflowGraph,
    structure: Structure,
    plan: Vec<Op>,
    branch_probs: Vec<f64>,
    invocations: Vec<f64>,
    transitions: f64,
    max_stack: usize,
}

/// A node of the workflow graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GraphNode {
    /// The entry.
    Start,
    /// The exit.
    End,
    /// The function with this index.
    Function(usize),
}

/// The workflow graph as petgraph holds it: node weights say which node, edge weights are the
/// transition probabilities. Node `i < n` is function `i`; `n` is Start, `n + 1` is End.
pub type WorkflowGraph = DiGraph<GraphNode, f64>;

/// One step of the postfix evaluation plan.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    /// Push the time of one invocation of a function (plus its state and transition delays).
    Leaf(usize),
    /// Push a state node's fixed time (plus its state and transition delays).
    Fixed(f64),
    /// Push 0 (an empty sequence).
    Zero,
    /// Pop `n`, push their sum.
    Sum(usize),
    /// Pop `n`, push the probability-weighted sum with `branch_probs[start..start + n]`.
    Weighted { start: usize, n: usize },
    /// Pop `n`, push their maximum.
    Max(usize),
    /// Multiply the top by a factor.
    Scale(f64),
}

struct Adjacency {
    /// (target, probability, edge index), self-loops and back edges included.
    out: Vec<Vec<(usize, f64, usize)>>,
}

impl Workflow {
    /// Validates the edge list over `function_ids` and builds the evaluation plan.
    pub fn build(function_ids: &[String], edges: &[Edge]) -> Result<Workflow, WorkflowError> {
        Workflow::build_with_states(function_ids, &[], &[], edges)
    }

    /// [`Workflow::build`] with state nodes (non-Lambda states kept in the graph) and Map blocks.
    pub fn build_with_states(
        function_ids: &[String],
        states: &[StateNode],
        maps: &[MapBlock],
        edges: &[Edge],
    ) -> Result<Workflow, WorkflowError> {
        if function_ids.is_empty() {
            return Err(WorkflowError::Empty);
        }
        let functions = function_ids.len();
        let mut fixed_ms = Vec::with_capacity(states.len());
        for st in states {
            if !(st.delay_ms.is_finite() && st.delay_ms >= 0.0) {
                return Err(WorkflowError::BadState {
                    id: st.id.clone(),
                    reason: format!(
                        "delay_ms must be a finite number ≥ 0, found {}",
                        st.delay_ms
                    ),
                });
            }
            if function_ids.contains(&st.id) {
                return Err(WorkflowError::BadState {
                    id: st.id.clone(),
                    reason: "a function has the same id".to_string(),
                });
            }
            fixed_ms.push(st.delay_ms);
        }
        let mut all_ids: Vec<String> = function_ids.to_vec();
        all_ids.extend(states.iter().map(|st| st.id.clone()));
        let function_ids = all_ids.as_slice();
        let n = function_ids.len();
        let start = n;
        let end = n + 1;
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, id) in function_ids.iter().enumerate() {
            if id == START || id == END {
                return Err(WorkflowError::ReservedName { id: id.clone() });
            }
            if index.insert(id.as_str(), i).is_some() {
                return Err(WorkflowError::DuplicateFunction { id: id.clone() });
            }
        }
        index.insert(START, start);
        index.insert(END, end);
        let name = |v: usize| -> String {
            if v == start {
                START.to_string()
            } else if v == end {
                END.to_string()
            } else {
                function_ids[v].clone()
            }
        };

        // Resolve and check every edge.
        let mut adj = Adjacency {
            out: vec![Vec::new(); n + 2],
        };
        let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
        for (k, e) in edges.iter().enumerate() {
            let resolve = |s: &str| {
                index
                    .get(s)
                    .copied()
                    .ok_or_else(|| WorkflowError::UnknownNode {
                        edge: k,
                        from: e.from.clone(),
                        to: e.to.clone(),
                        node: s.to_string(),
                    })
            };
            let u = resolve(&e.from)?;
            let v = resolve(&e.to)?;
            let p = e.probability;
            if !(p.is_finite() && p > 0.0 && p <= 1.0) {
                return Err(WorkflowError::BadProbability {
                    edge: k,
                    from: e.from.clone(),
                    to: e.to.clone(),
                    probability: p,
                });
            }
            if let Some(t) = e.transitions
                && !(t.is_finite() && t >= 0.0)
            {
                return Err(WorkflowError::BadTransitions {
                    edge: k,
                    from: e.from.clone(),
                    to: e.to.clone(),
                    transitions: t,
                });
            }
            let endpoint = |reason| WorkflowError::BadEndpoint {
                edge: k,
                from: e.from.clone(),
                to: e.to.clone(),
                reason,
            };
            if u == end {
                return Err(endpoint("End has no outgoing edges"));
            }
            if v == start {
                return Err(endpoint("Start has no incoming edges"));
            }
            if let Some(&first) = seen.get(&(u, v)) {
                return Err(WorkflowError::DuplicateEdge {
                    edge: k,
                    first,
                    from: e.from.clone(),
                    to: e.to.clone(),
                });
            }
            seen.insert((u, v), k);
            if u == v && p >= 1.0 {
                return Err(WorkflowError::EndlessLoop {
                    edge: k,
                    from: e.from.clone(),
                    to: e.to.clone(),
                    reason: "a self-loop with probability 1 is taken forever".to_string(),
                });
            }
            adj.out[u].push((v, p, k));
        }

        // Branch groups must sum to 1.
        for u in 0..n + 2 {
            let group: Vec<_> = adj.out[u].iter().filter(|(_, p, _)| *p < 1.0).collect();
            if let Some(first) = group.first() {
                let sum: f64 = group.iter().map(|(_, p, _)| p).sum();
                if (sum - 1.0).abs() > BRANCH_SUM_TOLERANCE {
                    let items: Vec<String> = group
                        .iter()
                        .map(|(v, p, _)| format!("{} ({p})", name(*v)))
                        .collect();
                    return Err(WorkflowError::BranchSum {
                        node: name(u),
                        sum,
                        edges: items.join(", "),
                        edge: first.2,
                    });
                }
            }
        }

        // Reachability over all edges.
        let forward = reach(start, n + 2, |u| {
            adj.out[u].iter().map(|&(v, _, _)| v).collect::<Vec<_>>()
        });
        let mut unreachable: Vec<String> = (0..n).filter(|&v| !forward[v]).map(name).collect();
        if !forward[end] {
            unreachable.push(END.to_string());
        }
        if !unreachable.is_empty() {
            return Err(WorkflowError::Unreachable { nodes: unreachable });
        }
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n + 2];
        for (u, outs) in adj.out.iter().enumerate() {
            for &(v, _, _) in outs {
                preds[v].push(u);
            }
        }
        let backward = reach(end, n + 2, |v| preds[v].clone());
        let stuck: Vec<String> = (0..n).filter(|&v| !backward[v]).map(name).collect();
        if !stuck.is_empty() {
            return Err(WorkflowError::CannotReachEnd { nodes: stuck });
        }

        // Self-loops and back edges.
        let mut self_loop = vec![0.0; n + 2];
        for (u, outs) in adj.out.iter().enumerate() {
            for &(v, p, _) in outs {
                if u == v {
                    self_loop[u] = p;
                }
            }
        }
        let back = back_edges(start, &adj);
        // header -> (latch, probability, edge); latch -> header
        let mut loop_of_header: HashMap<usize, (usize, f64, usize)> = HashMap::new();
        let mut latch_seen: HashMap<usize, usize> = HashMap::new();
        for &(u, h, p, k) in &back {
            if p >= 1.0 {
                return Err(WorkflowError::EndlessLoop {
                    edge: k,
                    from: name(u),
                    to: name(h),
                    reason: format!(
                        "this edge closes a cycle back to '{}' but has probability 1, so it is taken every time; a cycle must be closed by a branch edge (p < 1) from the node where it can exit",
                        name(h)
                    ),
                });
            }
            if let Some((other, _, _)) = loop_of_header.get(&h) {
                return Err(WorkflowError::Irreducible {
                    edge: Some(k),
                    reason: format!(
                        "'{}' is the target of two loop edges (from '{}' and from '{}'); merge them into one loop",
                        name(h),
                        name(*other),
                        name(u)
                    ),
                });
            }
            if let Some(other) = latch_seen.get(&u) {
                return Err(WorkflowError::Irreducible {
                    edge: Some(k),
                    reason: format!(
                        "'{}' has loop edges back to two nodes ('{}' and '{}')",
                        name(u),
                        name(*other),
                        name(h)
                    ),
                });
            }
            // Probability of going back once the self-loop (if any) has been left.
            let ps = self_loop[u];
            let p_back = p / (1.0 - ps);
            if p_back >= 1.0 - 1e-12 {
                return Err(WorkflowError::EndlessLoop {
                    edge: k,
                    from: name(u),
                    to: name(h),
                    reason: format!("'{}' has no way out but the loop", name(u)),
                });
            }
            loop_of_header.insert(h, (u, p_back, k));
            latch_seen.insert(u, h);
        }
        let back_set: HashSet<(usize, usize)> = back.iter().map(|&(u, h, _, _)| (u, h)).collect();

        // The de-looped DAG, with branch probabilities renormalised to the mass that moves forward.
        let mut graph = WorkflowGraph::with_capacity(n + 2, edges.len());
        for i in 0..n {
            graph.add_node(GraphNode::Function(i));
        }
        graph.add_node(GraphNode::Start);
        graph.add_node(GraphNode::End);
        let mut dag = vec![Fanout::default(); n + 2];
        for (u, outs) in adj.out.iter().enumerate() {
            let loop_mass: f64 = outs
                .iter()
                .filter(|&&(v, _, _)| v == u || back_set.contains(&(u, v)))
                .map(|&(_, p, _)| p)
                .sum();
            let forward_branch_mass = 1.0 - loop_mass;
            for &(v, p, k) in outs {
                if v == u || back_set.contains(&(u, v)) {
                    continue;
                }
                graph.add_edge(NodeIndex::new(u), NodeIndex::new(v), p);
                if p >= 1.0 {
                    dag[u].parallel.push(v);
                } else {
                    dag[u].branch.push((v, p / forward_branch_mass, k));
                }
            }
        }
        for &(u, h, p, _) in &back {
            graph.add_edge(NodeIndex::new(u), NodeIndex::new(h), p);
        }
        for (u, &p) in self_loop.iter().enumerate() {
            if p > 0.0 {
                graph.add_edge(NodeIndex::new(u), NodeIndex::new(u), p);
            }
        }

        // Every node must still reach End without taking a loop edge.
        let mut dag_graph: DiGraph<(), ()> = DiGraph::with_capacity(n + 2, edges.len());
        for _ in 0..n + 2 {
            dag_graph.add_node(());
        }
        for (u, f) in dag.iter().enumerate() {
            for v in f.targets() {
                dag_graph.add_edge(NodeIndex::new(u), NodeIndex::new(v), ());
            }
        }
        let dag_back = reach(end, n + 2, |v| {
            dag_graph
                .neighbors_directed(NodeIndex::new(v), petgraph::Direction::Incoming)
                .map(|x| x.index())
                .collect::<Vec<_>>()
        });
        if let Some(v) = (0..n).find(|&v| !dag_back[v]) {
            return Err(WorkflowError::Irreducible {
                edge: None,
                reason: format!(
                    "'{}' reaches End only by going around a loop again",
                    name(v)
                ),
            });
        }

        let doms = simple_fast(&dag_graph, NodeIndex::new(start));
        let pdoms = simple_fast(Reversed(&dag_graph), NodeIndex::new(end));
        for (&h, &(l, _, k)) in &loop_of_header {
            let h_dominates_l = dominates(&doms, h, l);
            let l_postdominates_h = dominates(&pdoms, l, h);
            if !(h_dominates_l && l_postdominates_h) {
                return Err(WorkflowError::Irreducible {
                    edge: Some(k),
                    reason: format!(
                        "the cycle {} → {} is not a single-entry, single-exit block: every path from '{}' must pass through '{}' and every path into it must enter at '{}' (a loop that starts or ends inside a branch or parallel block cannot be reduced)",
                        name(l),
                        name(h),
                        name(h),
                        name(l),
                        name(h)
                    ),
                });
            }
        }

        let mut reducer = Reducer {
            n,
            end,
            dag: &dag,
            pdoms: &pdoms,
            self_loop: &self_loop,
            loops: &loop_of_header,
            leaves: 0,
            depth: 0,
            name: &name,
        };
        let mut structure = reducer.walk_from_start(start)?;
        check_parallel_disjoint(&structure, &name)?;
        for m in maps {
            apply_map(&mut structure, m, &index, functions)?;
        }

        let mut invocations = vec![0.0; n];
        accumulate_invocations(&structure, 1.0, &mut invocations);
        // Expected transitions: each node's invocations times the sum of its out-probabilities,
        // each edge weighted by the transitions it bills (1 unless the edge says otherwise). A
        // Map state's edges into its body are taken once per item.
        let mut transitions = 0.0;
        for (u, outs) in adj.out.iter().enumerate() {
            let mut calls = if u == start {
                1.0
            } else if u < n {
                invocations[u]
            } else {
                0.0
            };
            if let Some(m) = maps
                .iter()
                .position(|m| index.get(m.state.as_str()) == Some(&u))
            {
                calls *= maps[m].items;
            }
            transitions += calls
                * outs
                    .iter()
                    .map(|&(_, p, k)| p * edges[k].transitions.unwrap_or(1.0))
                    .sum::<f64>();
        }

        let mut plan = Vec::new();
        let mut branch_probs = Vec::new();
        let max_stack = compile(
            &structure,
            functions,
            &fixed_ms,
            &mut plan,
            &mut branch_probs,
        );
        Ok(Workflow {
            functions,
            fixed_ms,
            ids: function_ids.to_vec(),
            graph,
            structure,
            plan,
            branch_probs,
            invocations,
            transitions,
            max_stack,
        })
    }

    /// The function ids, in the order every per-function slice uses.
    pub fn function_ids(&self) -> &[String] {
        &self.ids[..self.functions]
    }

    /// The graph (after validation), for display.
    pub fn graph(&self) -> &WorkflowGraph {
        &self.graph
    }

    /// The reduced structure.
    pub fn structure(&self) -> &Structure {
        &self.structure
    }

    /// `NI(f)`: expected invocations of each function per workflow execution.
    pub fn invocations(&self) -> &[f64] {
        &self.invocations[..self.functions]
    }

    /// Expected entries of each state node per execution (state nodes in their given order).
    pub fn state_entries(&self) -> &[f64] {
        &self.invocations[self.functions..]
    }

    /// Number of functions; structure leaves at or above it are state nodes.
    pub fn function_count(&self) -> usize {
        self.functions
    }

    /// The fixed delay of structure leaf `i` when it is a state node (`None` for a function).
    pub fn state_delay_ms(&self, i: usize) -> Option<f64> {
        i.checked_sub(self.functions)
            .and_then(|k| self.fixed_ms.get(k).copied())
    }

    /// Every node id: the functions, then the state nodes.
    pub fn node_ids(&self) -> &[String] {
        &self.ids
    }

    /// Expected number of edges taken per execution (edges from Start and into End included);
    /// Step Functions Standard bills these as state transitions.
    pub fn expected_transitions(&self) -> f64 {
        self.transitions
    }

    /// The simple Start → End paths of the de-looped graph (loop bodies taken once, one arm of
    /// each parallel block and of each branch per path), each with its transition probability
    /// `TP(s)` (branch probabilities multiply, parallel edges count 1) and its functions in order.
    /// At most `limit` paths are returned. The thesis' greedy heuristics rank these.
    pub fn simple_paths(&self, limit: usize) -> Vec<(f64, Vec<usize>)> {
        fn go(s: &Structure, functions: usize, limit: usize) -> Vec<(f64, Vec<usize>)> {
            match s {
                Structure::Function(f) if *f >= functions => vec![(1.0, Vec::new())],
                Structure::Function(f) => vec![(1.0, vec![*f])],
                Structure::Repeat { body, .. } | Structure::Map { body, .. } => {
                    go(body, functions, limit)
                }
                Structure::Parallel(arms) => {
                    let mut out = Vec::new();
                    for a in arms {
                        out.extend(go(a, functions, limit));
                        out.truncate(limit);
                    }
                    out
                }
                Structure::Branch(arms) => {
                    let mut out = Vec::new();
                    for (p, a) in arms {
                        out.extend(
                            go(a, functions, limit)
                                .into_iter()
                                .map(|(tp, fs)| (tp * p, fs)),
                        );
                        out.truncate(limit);
                    }
                    out
                }
                Structure::Sequence(items) => {
                    let mut acc = vec![(1.0, Vec::new())];
                    for it in items {
                        let tails = go(it, functions, limit);
                        let mut next = Vec::new();
                        'outer: for (tp, fs) in &acc {
                            for (tp2, fs2) in &tails {
                                if next.len() >= limit {
                                    break 'outer;
                                }
                                let mut joined = fs.clone();
                                joined.extend_from_slice(fs2);
                                next.push((tp * tp2, joined));
                            }
                        }
                        acc = next;
                    }
                    acc
                }
            }
        }
        go(&self.structure, self.functions, limit)
    }

    /// End-to-end expected execution time (EET, ms) when function `i` takes `durations_ms[i]` per
    /// invocation. `durations_ms` must have one entry per function.
    pub fn latency_ms(&self, durations_ms: &[f64], delays: Delays) -> f64 {
        let mut stack = Vec::with_capacity(self.max_stack);
        self.latency_ms_with(durations_ms, delays, &mut stack)
    }

    /// [`Workflow::latency_ms`] with a caller-owned scratch stack (no allocation once it has grown).
    pub fn latency_ms_with(
        &self,
        durations_ms: &[f64],
        delays: Delays,
        stack: &mut Vec<f64>,
    ) -> f64 {
        stack.clear();
        let per_state = delays.state_ms + delays.transition_ms;
        for op in &self.plan {
            match *op {
                Op::Leaf(f) => stack.push(durations_ms.get(f).copied().unwrap_or(0.0) + per_state),
                Op::Fixed(ms) => stack.push(ms + per_state),
                Op::Zero => stack.push(0.0),
                Op::Sum(k) => {
                    let at = stack.len() - k;
                    let s = stack[at..].iter().sum();
                    stack.truncate(at);
                    stack.push(s);
                }
                Op::Weighted { start, n: k } => {
                    let at = stack.len() - k;
                    let s = stack[at..]
                        .iter()
                        .zip(&self.branch_probs[start..start + k])
                        .map(|(t, p)| t * p)
                        .sum();
                    stack.truncate(at);
                    stack.push(s);
                }
                Op::Max(k) => {
                    let at = stack.len() - k;
                    let s = stack[at..].iter().copied().fold(0.0, f64::max);
                    stack.truncate(at);
                    stack.push(s);
                }
                Op::Scale(x) => {
                    if let Some(top) = stack.last_mut() {
                        *top *= x;
                    }
                }
            }
        }
        stack.pop().unwrap_or(0.0) + 2.0 * delays.state_ms + delays.transition_ms
    }
}

#[derive(Debug, Clone, Default)]
struct Fanout {
    parallel: Vec<usize>,
    /// (target, probability renormalised over the forward branch mass, edge index)
    branch: Vec<(usize, f64, usize)>,
}

impl Fanout {
    fn targets(&self) -> impl Iterator<Item = usize> + '_ {
        self.parallel
            .iter()
            .copied()
            .chain(self.branch.iter().map(|b| b.0))
    }
}

fn reach<F, I>(from: usize, count: usize, next: F) -> Vec<bool>
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
fn back_edges(start: usize, adj: &Adjacency) -> Vec<(usize, usize, f64, usize)> {
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
fn dominates(doms: &Dominators<NodeIndex>, a: usize, b: usize) -> bool {
    doms.dominators(NodeIndex::new(b))
        .is_some_and(|mut it| it.any(|d| d.index() == a))
}

/// Where a walk along the post-dominator chain stops.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    /// Stop on reaching this node, without including it (the join of a fan-out).
    Before(usize),
    /// Stop right after this node, without its fan-out (a loop's latch).
    After(usize),
}

struct Reducer<'a, F: Fn(usize) -> String> {
    n: usize,
    end: usize,
    dag: &'a [Fanout],
    pdoms: &'a Dominators<NodeIndex>,
    self_loop: &'a [f64],
    loops: &'a HashMap<usize, (usize, f64, usize)>,
    leaves: usize,
    depth: usize,
    name: &'a F,
}

impl<F: Fn(usize) -> String> Reducer<'_, F> {
    fn seq(mut items: Vec<Structure>) -> Structure {
        if items.len() == 1 {
            items.pop().unwrap_or(Structure::Sequence(Vec::new()))
        } else {
            Structure::Sequence(items)
        }
    }

    fn walk_from_start(&mut self, start: usize) -> Result<Structure, WorkflowError> {
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
    fn walk(
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

    fn walk_inner(
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

    fn leaf(&mut self, f: usize) -> Result<Structure, WorkflowError> {
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
    fn fanout(&mut self, u: usize) -> Result<(usize, Option<Structure>), WorkflowError> {
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
fn check_parallel_disjoint<F: Fn(usize) -> String>(
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
fn leaves(s: &Structure, out: &mut HashSet<usize>) {
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

/// Wraps a Map state's iteration body: the items that follow the Map's node in its sequence and
/// hold only body nodes, which must be all of them.
fn apply_map(
    structure: &mut Structure,
    m: &MapBlock,
    index: &HashMap<&str, usize>,
    functions: usize,
) -> Result<(), WorkflowError> {
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
    if !(m.items.is_finite() && m.items >= 1.0) {
        return Err(bad(format!(
            "items must be a finite number ≥ 1, found {}",
            m.items
        )));
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
    fn find(s: &mut Structure, node: usize, body: &HashSet<usize>, m: &MapBlock) -> Option<bool> {
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
                            items: m.items,
                            max_concurrency: m.max_concurrency,
                            waves: m.waves(),
                            body: Box::new(inner),
                        },
                    );
                    return Some(true);
                }
                items.iter_mut().find_map(|x| find(x, node, body, m))
            }
            Structure::Parallel(items) => items.iter_mut().find_map(|x| find(x, node, body, m)),
            Structure::Branch(arms) => arms.iter_mut().find_map(|(_, a)| find(a, node, body, m)),
            Structure::Repeat { body: b, .. } | Structure::Map { body: b, .. } => {
                find(b, node, body, m)
            }
            Structure::Function(_) => None,
        }
    }
    match find(structure, node, &body, m) {
        Some(true) => Ok(()),
        _ => Err(bad(
            "the body must be exactly the block that follows the Map's node up to the Map's next state"
                .to_string(),
        )),
    }
}

fn accumulate_invocations(s: &Structure, weight: f64, ni: &mut [f64]) {
    match s {
        Structure::Function(f) => {
            if let Some(x) = ni.get_mut(*f) {
                *x += weight;
            }
        }
        Structure::Sequence(items) | Structure::Parallel(items) => {
            for i in items {
                accumulate_invocations(i, weight, ni);
            }
        }
        Structure::Branch(arms) => {
            for (p, a) in arms {
                accumulate_invocations(a, weight * p, ni);
            }
        }
        Structure::Repeat {
            expected_runs,
            body,
            ..
        } => accumulate_invocations(body, weight * expected_runs, ni),
        Structure::Map { items, body, .. } => accumulate_invocations(body, weight * items, ni),
    }
}

/// Appends `s` in postfix form; returns the stack depth it needs.
fn compile(
    s: &Structure,
    functions: usize,
    fixed_ms: &[f64],
    plan: &mut Vec<Op>,
    probs: &mut Vec<f64>,
) -> usize {
    match s {
        Structure::Function(f) if *f >= functions => {
            plan.push(Op::Fixed(
                fixed_ms.get(f - functions).copied().unwrap_or(0.0),
            ));
            1
        }
        Structure::Function(f) => {
            plan.push(Op::Leaf(*f));
            1
        }
        Structure::Sequence(items) if items.is_empty() => {
            plan.push(Op::Zero);
            1
        }
        Structure::Sequence(items) | Structure::Parallel(items) => {
            let mut depth = 0;
            for (i, it) in items.iter().enumerate() {
                depth = depth.max(i + compile(it, functions, fixed_ms, plan, probs));
            }
            plan.push(if matches!(s, Structure::Parallel(_)) {
                Op::Max(items.len())
            } else {
                Op::Sum(items.len())
            });
            depth
        }
        Structure::Branch(arms) => {
            let mut depth = 0;
            for (i, (_, a)) in arms.iter().enumerate() {
                depth = depth.max(i + compile(a, functions, fixed_ms, plan, probs));
            }
            let start = probs.len();
            probs.extend(arms.iter().map(|(p, _)| *p));
            plan.push(Op::Weighted {
                start,
                n: arms.len(),
            });
            depth
        }
        Structure::Repeat {
            expected_runs,
            body,
            ..
        } => {
            let depth = compile(body, functions, fixed_ms, plan, probs);
            plan.push(Op::Scale(*expected_runs));
            depth
        }
        Structure::Map { waves, body, .. } => {
            let depth = compile(body, functions, fixed_ms, plan, probs);
            plan.push(Op::Scale(*waves));
            depth
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn edges(list: &[(&str, &str, f64)]) -> Vec<Edge> {
        list.iter().map(|&(a, b, p)| Edge::new(a, b, p)).collect()
    }

    fn build(names: &[&str], list: &[(&str, &str, f64)]) -> Result<Workflow, WorkflowError> {
        Workflow::build(&ids(names), &edges(list))
    }

    const ARTIFACT_EDGES: &[(&str, &str, f64)] = &[
        ("Start", "1", 1.0),
        ("1", "2", 0.2),
        ("1", "3", 0.8),
        ("1", "4", 1.0),
        ("2", "5", 1.0),
        ("3", "5", 1.0),
        ("4", "5", 1.0),
        ("5", "6", 0.7),
        ("5", "1", 0.3),
        ("6", "6", 0.2),
        ("6", "End", 0.8),
    ];

    #[test]
    fn reproduces_the_artifact_test_case() {
        let w = build(&["1", "2", "3", "4", "5", "6"], ARTIFACT_EDGES).unwrap();
        let expected = [1.428571, 0.285714, 1.142857, 1.428571, 1.428571, 1.25];
        for (got, want) in w.invocations().iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "NI {got} vs {want}");
        }
        let eet = w.latency_ms(
            &[100.0, 500.0, 1000.0, 210.0, 130.0, 100.0],
            Delays::default(),
        );
        assert!((eet - 1739.285714).abs() < 1e-6, "EET {eet}");
        assert_eq!(
            w.display_structure().to_string(),
            "loop×1.4286(1 → parallel(4 ‖ branch(0.2: 2 | 0.8: 3)) → 5) → loop×1.2500(6)"
        );
        let paths = w.simple_paths(100);
        assert_eq!(
            paths,
            vec![
                (1.0, vec![0, 3, 4, 5]),
                (0.2, vec![0, 1, 4, 5]),
                (0.8, vec![0, 2, 4, 5])
            ]
        );
    }

    #[test]
    fn artifact_case_with_step_functions_delays() {
        // Per iteration of the cycle: states 1, (2|3 ‖ 4), 5 on the path: 3 × (18.81 + 1) ms,
        // times 1/(1 − 0.3) iterations; the self-loop on 6: 19.81 ms × 1.25; Start and End:
        // 2 × 18.81 ms and the transition into End, 1 ms.
        let w = build(&["1", "2", "3", "4", "5", "6"], ARTIFACT_EDGES).unwrap();
        let eet = w.latency_ms(
            &[100.0, 500.0, 1000.0, 210.0, 130.0, 100.0],
            Delays::step_functions_artifact(),
        );
        let expected = 1739.285714285714 + 3.0 * 19.81 / 0.7 + 19.81 * 1.25 + 2.0 * 18.81 + 1.0;
        assert!((eet - expected).abs() < 1e-9, "{eet} vs {expected}");
    }

    #[test]
    fn chain_with_delays_counts_states_and_transitions() {
        let w = build(
            &["a", "b"],
            &[("Start", "a", 1.0), ("a", "b", 1.0), ("b", "End", 1.0)],
        )
        .unwrap();
        let d = Delays {
            state_ms: 10.0,
            transition_ms: 1.0,
        };
        // 4 states (Start, a, b, End) and 3 transitions.
        assert_eq!(w.latency_ms(&[100.0, 50.0], d), 150.0 + 40.0 + 3.0);
        assert_eq!(w.expected_transitions(), 3.0);
    }

    #[test]
    fn edges_weight_the_transitions_they_bill() {
        // a → (Choice folded) → b or c at 0.25 / 0.75 → (Succeed folded) → End.
        let mut list = edges(&[
            ("Start", "a", 1.0),
            ("a", "b", 0.25),
            ("a", "c", 0.75),
            ("b", "End", 1.0),
            ("c", "End", 1.0),
        ]);
        for e in &mut list[1..] {
            e.transitions = Some(2.0);
        }
        let w = Workflow::build(&ids(&["a", "b", "c"]), &list).unwrap();
        assert_eq!(w.expected_transitions(), 1.0 + 2.0 + 2.0);
        list[2].transitions = Some(-1.0);
        let e = Workflow::build(&ids(&["a", "b", "c"]), &list).unwrap_err();
        assert_eq!(e.edge_index(), Some(2));
        assert_eq!(
            e.to_string(),
            "edge 2 (a → c): transitions -1 must be a number ≥ 0"
        );
    }

    #[test]
    fn hand_computed_branch() {
        let w = build(
            &["a", "b", "c", "d"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 0.25),
                ("a", "c", 0.75),
                ("b", "d", 1.0),
                ("c", "d", 1.0),
                ("d", "End", 1.0),
            ],
        )
        .unwrap();
        // 10 + 0.25·200 + 0.75·40 + 5 = 95
        assert!((w.latency_ms(&[10.0, 200.0, 40.0, 5.0], Delays::default()) - 95.0).abs() < 1e-12);
        assert_eq!(w.invocations(), &[1.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn branch_arm_may_skip_straight_to_the_join() {
        let w = build(
            &["a", "b", "c"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 0.4),
                ("a", "c", 0.6),
                ("b", "c", 1.0),
                ("c", "End", 1.0),
            ],
        )
        .unwrap();
        assert!((w.latency_ms(&[1.0, 100.0, 2.0], Delays::default()) - 43.0).abs() < 1e-12);
    }

    #[test]
    fn hand_computed_parallel() {
        let w = build(
            &["a", "b", "c", "d", "e"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 1.0),
                ("a", "c", 1.0),
                ("c", "d", 1.0),
                ("b", "e", 1.0),
                ("d", "e", 1.0),
                ("e", "End", 1.0),
            ],
        )
        .unwrap();
        // a + max(b, c + d) + e = 10 + max(300, 100 + 150) + 20
        assert_eq!(
            w.latency_ms(&[10.0, 300.0, 100.0, 150.0, 20.0], Delays::default()),
            330.0
        );
        assert_eq!(w.invocations(), &[1.0; 5]);
        assert_eq!(w.expected_transitions(), 7.0);
    }

    #[test]
    fn hand_computed_cycle_and_self_loop() {
        // a → b → (0.25 back to a | 0.75 on to c), c loops on itself with 0.5.
        let w = build(
            &["a", "b", "c"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 1.0),
                ("b", "a", 0.25),
                ("b", "c", 0.75),
                ("c", "c", 0.5),
                ("c", "End", 0.5),
            ],
        )
        .unwrap();
        // (10 + 20) / 0.75 + 30 / 0.5 = 40 + 60
        assert!((w.latency_ms(&[10.0, 20.0, 30.0], Delays::default()) - 100.0).abs() < 1e-12);
        let ni = w.invocations();
        assert!((ni[0] - 4.0 / 3.0).abs() < 1e-12 && (ni[1] - 4.0 / 3.0).abs() < 1e-12);
        assert!((ni[2] - 2.0).abs() < 1e-12);
        // Start→a once, a→b 4/3, b's out-edges 4/3, c's out-edges 2: 1 + 4/3 + 4/3 + 2
        assert!((w.expected_transitions() - (1.0 + 8.0 / 3.0 + 2.0)).abs() < 1e-12);
    }

    #[test]
    fn self_loop_on_a_latch_shares_its_branch_group() {
        // b: 0.2 again, 0.3 back to a, 0.5 out. Leaving the self-loop, the cycle is taken with
        // probability 0.3 / 0.8.
        let w = build(
            &["a", "b"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 1.0),
                ("b", "b", 0.2),
                ("b", "a", 0.3),
                ("b", "End", 0.5),
            ],
        )
        .unwrap();
        let runs = 1.0 / (1.0 - 0.375);
        let expected = runs * (10.0 + 20.0 / 0.8);
        assert!((w.latency_ms(&[10.0, 20.0], Delays::default()) - expected).abs() < 1e-9);
        assert!((w.invocations()[1] - runs / 0.8).abs() < 1e-12);
    }

    #[test]
    fn nested_loops() {
        // Outer loop a..c (back 0.5), inner loop b..b2 (back 0.2).
        let w = build(
            &["a", "b", "b2", "c"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 1.0),
                ("b", "b2", 1.0),
                ("b2", "b", 0.2),
                ("b2", "c", 0.8),
                ("c", "a", 0.5),
                ("c", "End", 0.5),
            ],
        )
        .unwrap();
        let expected = 2.0 * (1.0 + (10.0 + 100.0) / 0.8 + 1000.0);
        assert!(
            (w.latency_ms(&[1.0, 10.0, 100.0, 1000.0], Delays::default()) - expected).abs() < 1e-9
        );
    }

    #[test]
    fn branch_group_beside_parallel_edges_and_shared_branch_paths() {
        // Two branch arms that meet before the join are unfolded: d is reached either way.
        let w = build(
            &["a", "b", "c", "d"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 0.5),
                ("a", "c", 0.5),
                ("b", "d", 0.5),
                ("b", "End", 0.5),
                ("c", "d", 1.0),
                ("d", "End", 1.0),
            ],
        )
        .unwrap();
        let t = w.latency_ms(&[1.0, 10.0, 100.0, 1000.0], Delays::default());
        // paths: a b d (0.25), a b (0.25), a c d (0.5)
        let expected = 0.25 * 1011.0 + 0.25 * 11.0 + 0.5 * 1101.0;
        assert!((t - expected).abs() < 1e-9, "{t}");
        assert_eq!(w.invocations()[3], 0.75);
    }

    fn err(names: &[&str], list: &[(&str, &str, f64)]) -> WorkflowError {
        build(names, list).unwrap_err()
    }

    #[test]
    fn every_validation_error_names_its_place() {
        let e = err(&["a"], &[("Start", "a", 1.0), ("a", "x", 1.0)]);
        assert_eq!(e.to_string(), "edge 1 (a → x): unknown node 'x'");
        assert_eq!(e.edge_index(), Some(1));

        let e = err(&["a"], &[("Start", "a", 1.5), ("a", "End", 1.0)]);
        assert_eq!(
            e.to_string(),
            "edge 0 (Start → a): probability 1.5 is outside (0, 1]"
        );
        let e = err(&["a"], &[("Start", "a", 0.0), ("a", "End", 1.0)]);
        assert!(e.to_string().contains("probability 0 is outside (0, 1]"));

        let e = err(
            &["a", "b", "c"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 0.5),
                ("a", "c", 0.4),
                ("b", "End", 1.0),
                ("c", "End", 1.0),
            ],
        );
        assert!(
            e.to_string()
                .starts_with("the branch out of 'a' sums to 0.9"),
            "{e}"
        );
        assert!(e.to_string().contains("b (0.5), c (0.4)"));
        assert_eq!(e.edge_index(), Some(1));

        let e = err(
            &["a", "b"],
            &[("Start", "a", 1.0), ("a", "End", 1.0), ("b", "End", 1.0)],
        );
        assert_eq!(e.to_string(), "unreachable from Start: b");

        let e = err(
            &["a", "b"],
            &[
                ("Start", "a", 1.0),
                ("a", "End", 0.5),
                ("a", "b", 0.5),
                ("b", "b", 0.5),
                ("b", "a", 0.5),
            ],
        );
        // b can only go back to a: fine, it reaches End through a. Now a sink:
        drop(e);
        let e = err(
            &["a", "b"],
            &[("Start", "a", 1.0), ("a", "End", 1.0), ("a", "b", 1.0)],
        );
        assert_eq!(e.to_string(), "no path to End from: b");

        let e = err(
            &["a"],
            &[("Start", "a", 1.0), ("a", "a", 1.0), ("a", "End", 1.0)],
        );
        assert!(
            e.to_string().starts_with("the loop a → a can never exit"),
            "{e}"
        );

        let e = err(
            &["a", "b"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 1.0),
                ("b", "a", 1.0),
                ("b", "End", 1.0),
            ],
        );
        assert!(
            e.to_string().starts_with("the loop b → a can never exit"),
            "{e}"
        );

        let e = err(
            &["a"],
            &[("Start", "a", 1.0), ("a", "End", 1.0), ("End", "a", 1.0)],
        );
        assert_eq!(e.to_string(), "edge 2 (End → a): End has no outgoing edges");
        let e = err(&["a"], &[("Start", "a", 1.0), ("a", "Start", 1.0)]);
        assert_eq!(
            e.to_string(),
            "edge 1 (a → Start): Start has no incoming edges"
        );

        let e = err(
            &["a"],
            &[("Start", "a", 1.0), ("a", "End", 1.0), ("a", "End", 1.0)],
        );
        assert_eq!(e.to_string(), "edge 2 (a → End) duplicates edge 1");

        let e = Workflow::build(&ids(&["a", "a"]), &[]).unwrap_err();
        assert_eq!(e.to_string(), "function id 'a' is declared twice");
        let e = Workflow::build(&ids(&["End"]), &[]).unwrap_err();
        assert!(e.to_string().contains("'End' is reserved"));
        assert_eq!(Workflow::build(&[], &[]).unwrap_err(), WorkflowError::Empty);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        // 300 nested two-way branches: f0 → (f1 | join0), f1 → (f2 | join1), …
        let n = 300;
        let mut names = Vec::new();
        let mut es = vec![Edge::new(START, "s0", 1.0)];
        for i in 0..n {
            names.push(format!("s{i}"));
            names.push(format!("j{i}"));
        }
        for i in 0..n {
            let next = if i + 1 < n {
                format!("s{}", i + 1)
            } else {
                format!("j{i}")
            };
            es.push(Edge::new(format!("s{i}"), next, 0.5));
            es.push(Edge::new(format!("s{i}"), format!("j{i}"), 0.5));
            let out = if i == 0 {
                END.to_string()
            } else {
                format!("j{}", i - 1)
            };
            es.push(Edge::new(format!("j{i}"), out, 1.0));
        }
        // the innermost branch's two arms both go to j{n-1}: make its arms distinct
        let innermost = format!("s{}", n - 1);
        es.retain(|e| e.from != innermost);
        names.push("leaf".to_string());
        es.push(Edge::new(format!("s{}", n - 1), "leaf", 0.5));
        es.push(Edge::new(format!("s{}", n - 1), format!("j{}", n - 1), 0.5));
        es.push(Edge::new("leaf", format!("j{}", n - 1), 1.0));
        let e = Workflow::build(&names, &es).unwrap_err();
        assert!(
            e.to_string().contains("blocks nest more than 200 deep"),
            "{e}"
        );
    }

    #[test]
    fn irreducible_structures_are_refused_with_the_nodes() {
        // Two parallel arms that meet at c before their join d.
        let e = err(
            &["a", "b", "c", "d", "x"],
            &[
                ("Start", "a", 1.0),
                ("a", "b", 1.0),
                ("a", "x", 1.0),
                ("b", "c", 1.0),
                ("b", "d", 1.0),
                ("x", "c", 1.0),
                ("c", "End", 1.0),
                ("d", "End", 1.0),
            ],
        );
        assert!(
            e.to_string()
                .contains("'c' is reached from two parallel arms"),
            "{e}"
        );

        // A loop that exits from inside a branch arm.
        let e = err(
            &["h", "a", "b", "x"],
            &[
                ("Start", "h", 1.0),
                ("h", "a", 0.5),
                ("h", "b", 0.5),
                ("a", "h", 0.3),
                ("a", "x", 0.7),
                ("b", "x", 1.0),
                ("x", "End", 1.0),
            ],
        );
        assert!(
            e.to_string()
                .contains("the cycle a → h is not a single-entry, single-exit block"),
            "{e}"
        );
        assert_eq!(e.edge_index(), Some(3));
    }

    /// Random series/branch/parallel/loop trees rendered as edge lists.
    #[derive(Debug, Clone)]
    enum Shape {
        F,
        Seq(Vec<Shape>),
        Branch(Vec<(u32, Shape)>),
        Par(Vec<Shape>),
        SelfLoop(f64),
    }

    fn shape() -> impl Strategy<Value = Shape> {
        let leaf = prop_oneof![Just(Shape::F), (0.05f64..0.9).prop_map(Shape::SelfLoop)];
        leaf.prop_recursive(3, 24, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Shape::Seq),
                prop::collection::vec((1u32..5, inner.clone()), 2..4).prop_map(Shape::Branch),
                prop::collection::vec(inner, 2..4).prop_map(Shape::Par),
            ]
        })
    }

    /// Emits the shape between a fresh entry function and a fresh exit function; returns
    /// (entry, exit) and the expected time with durations `t`.
    struct Emit {
        names: Vec<String>,
        edges: Vec<Edge>,
        t: Vec<f64>,
    }

    impl Emit {
        fn node(&mut self) -> String {
            let name = format!("f{}", self.names.len());
            self.t.push(10.0 + (self.names.len() as f64 * 37.0) % 500.0);
            self.names.push(name.clone());
            name
        }
        /// Returns (entry, exit, expected time including entry and exit).
        fn emit(&mut self, s: &Shape) -> (String, String, f64) {
            match s {
                Shape::F => {
                    let n = self.node();
                    let t = *self.t.last().unwrap();
                    (n.clone(), n, t)
                }
                Shape::SelfLoop(p) => {
                    let n = self.node();
                    let t = *self.t.last().unwrap();
                    self.edges.push(Edge::new(&n, &n, *p));
                    let out = self.node();
                    let t2 = *self.t.last().unwrap();
                    self.edges.push(Edge::new(&n, &out, 1.0 - p));
                    (n, out, t / (1.0 - p) + t2)
                }
                Shape::Seq(items) => {
                    let mut first = None;
                    let mut last: Option<String> = None;
                    let mut total = 0.0;
                    for it in items {
                        let (a, b, t) = self.emit(it);
                        if let Some(prev) = last {
                            self.edges.push(Edge::new(prev, &a, 1.0));
                        }
                        first.get_or_insert(a);
                        last = Some(b);
                        total += t;
                    }
                    (first.unwrap(), last.unwrap(), total)
                }
                Shape::Branch(arms) => {
                    let split = self.node();
                    let ts = *self.t.last().unwrap();
                    let mut outs = Vec::new();
                    let total_w: u32 = arms.iter().map(|a| a.0).sum();
                    let mut mean = 0.0;
                    for (w, a) in arms {
                        let (x, y, t) = self.emit(a);
                        let p = *w as f64 / total_w as f64;
                        self.edges.push(Edge::new(&split, &x, p));
                        outs.push(y);
                        mean += p * t;
                    }
                    let join = self.node();
                    let tj = *self.t.last().unwrap();
                    for y in outs {
                        self.edges.push(Edge::new(y, &join, 1.0));
                    }
                    (split, join, ts + mean + tj)
                }
                Shape::Par(arms) => {
                    let split = self.node();
                    let ts = *self.t.last().unwrap();
                    let mut outs = Vec::new();
                    let mut max: f64 = 0.0;
                    for a in arms {
                        let (x, y, t) = self.emit(a);
                        self.edges.push(Edge::new(&split, &x, 1.0));
                        outs.push(y);
                        max = max.max(t);
                    }
                    let join = self.node();
                    let tj = *self.t.last().unwrap();
                    for y in outs {
                        self.edges.push(Edge::new(y, &join, 1.0));
                    }
                    (split, join, ts + max + tj)
                }
            }
        }
    }

    proptest! {
        #[test]
        fn structured_workflows_evaluate_like_their_closed_form(s in shape(), loop_p in prop::option::of(0.05f64..0.9)) {
            let mut e = Emit { names: vec![], edges: vec![], t: vec![] };
            let (a, b, mut expected) = e.emit(&s);
            e.edges.push(Edge::new(START, &a, 1.0));
            match loop_p {
                // Wrap everything in a cycle b → a.
                Some(p) => {
                    e.edges.push(Edge::new(&b, &a, p));
                    e.edges.push(Edge::new(&b, END, 1.0 - p));
                    expected /= 1.0 - p;
                }
                None => e.edges.push(Edge::new(&b, END, 1.0)),
            }
            let w = Workflow::build(&e.names, &e.edges).unwrap();
            let got = w.latency_ms(&e.t, Delays::default());
            prop_assert!((got - expected).abs() <= 1e-9 * expected.max(1.0), "{} vs {}", got, expected);
            // Latency is monotone in every duration.
            let mut slower = e.t.clone();
            slower[0] += 50.0;
            prop_assert!(w.latency_ms(&slower, Delays::default()) >= got - 1e-9);
        }

        #[test]
        fn chain_is_the_sum(ts in prop::collection::vec(0.0f64..10_000.0, 1..12)) {
            let names: Vec<String> = (0..ts.len()).map(|i| format!("f{i}")).collect();
            let mut es = vec![Edge::new(START, &names[0], 1.0)];
            for w in names.windows(2) {
                es.push(Edge::new(&w[0], &w[1], 1.0));
            }
            es.push(Edge::new(names.last().unwrap(), END, 1.0));
            let w = Workflow::build(&names, &es).unwrap();
            let sum: f64 = ts.iter().sum();
            prop_assert!((w.latency_ms(&ts, Delays::default()) - sum).abs() < 1e-6);
        }

        #[test]
        fn a_self_loop_scales_by_one_over_one_minus_p(t in 1.0f64..5000.0, p in 0.01f64..0.99) {
            let w = build(&["a"], &[("Start", "a", 1.0), ("a", "a", p), ("a", "End", 1.0 - p)]).unwrap();
            prop_assert!((w.latency_ms(&[t], Delays::default()) - t / (1.0 - p)).abs() < 1e-6 * t / (1.0 - p));
            prop_assert!((w.invocations()[0] - 1.0 / (1.0 - p)).abs() < 1e-9 / (1.0 - p));
        }
    }
}
