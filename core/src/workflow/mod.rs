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

use petgraph::graph::DiGraph;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod build;
mod display;
mod distribution;
mod loops;
mod maps;
mod plan;
mod reduce;
#[cfg(test)]
mod tests;

pub use display::DisplayStructure;
pub use distribution::{LOOP_TAIL_MASS, MAX_ATOMS, MAX_LOOP_TERMS};
use plan::Plans;
pub use plan::{LatencyEstimate, LatencyModel, LatencyScratch};

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
    /// A Task state that calls something other than a Lambda function (an AWS SDK or optimized
    /// service integration, an activity, a nested execution, a `.sync` or `.waitForTaskToken`
    /// pattern, or a Lambda function chosen at run time): a timed state, `delay_ms` its mean
    /// time (measured: `TaskScheduled` → `TaskSucceeded`), billed `price_per_request` per entry.
    Service,
    /// The wait of a `lambda:invoke.waitForTaskToken` Task after its function returned, until the
    /// task token comes back (`TaskSubmitted` → `TaskSucceeded`): the node right after the
    /// function's site. It is not a state of its own, so `delay_ms` is the measured wait less the
    /// `state_ms + transition_ms` the model charges every node, and its edge in bills no
    /// transition.
    Callback,
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
    /// Fixed time spent in the state, ms (a Wait state's `Seconds` × 1000, a service state's
    /// or a callback's mean time; 0 otherwise).
    #[serde(default)]
    pub delay_ms: f64,
    /// The Task's `Resource` (service states), e.g. `arn:aws:states:::sns:publish`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// USD each entry of the state bills besides Step Functions' own charge (an SNS publish, an
    /// SQS message, DynamoDB request units, a nested execution, …); left out: nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_request: Option<f64>,
    /// Observations `delay_ms` is the mean of (`workflow measure`); left out: given or assumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<u64>,
    /// Measured times of the state, ms, as equal-probability bins (each the mean of its bin, so
    /// their mean is `delay_ms`): `simulate` draws one per entry. Left out: the state always
    /// takes `delay_ms`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples_ms: Vec<f64>,
}

impl StateNode {
    /// A state node with a fixed delay and nothing else.
    pub fn new(id: impl Into<String>, kind: StateKind, delay_ms: f64) -> Self {
        StateNode {
            id: id.into(),
            kind,
            delay_ms,
            resource: None,
            price_per_request: None,
            measured: None,
            samples_ms: Vec::new(),
        }
    }
}

/// A place in the workflow where a function is invoked besides its own node: a second Task state
/// invoking the same Lambda function. The site is a node of the graph (edges use its `id`) with
/// its own position and invocation count; its invocations are the function's, with the
/// function's one memory and variant, so latency and cost add up over a function's node and its
/// sites and every optimizer decides per function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Node id used by the edges (an imported state machine's: the Task state's name); must
    /// differ from every function and state node id.
    pub id: String,
    /// The function it invokes.
    pub function: String,
}

/// How a Map state runs its iterations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MapMode {
    /// In the execution itself (Step Functions' `INLINE`).
    #[default]
    Inline,
    /// As child workflow executions (Step Functions' `DISTRIBUTED`), one per item or per batch.
    Distributed,
}

/// The type of a Distributed Map's child executions (`ProcessorConfig.ExecutionType`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChildExecutionType {
    /// Express child executions (billed per request and GB-second; AWS's default).
    #[default]
    Express,
    /// Standard child executions (billed per state transition).
    Standard,
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
    /// `inline` (left out) or `distributed`: a Distributed Map runs its body as child
    /// executions, `max_concurrency` of them at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<MapMode>,
    /// A Distributed Map's child executions: `express` (left out) or `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_execution: Option<ChildExecutionType>,
    /// A Distributed Map's `ItemBatcher.MaxItemsPerBatch`: each child execution (one run of the
    /// body) takes this many items, so the body runs `ceil(items / batch_items)` times. Left
    /// out: one item per run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_items: Option<f64>,
}

impl MapBlock {
    /// Is it a Distributed Map?
    pub fn is_distributed(&self) -> bool {
        self.mode == Some(MapMode::Distributed)
    }

    /// Runs of the iteration body per run of the Map state: the items, or the batches of a
    /// batched Distributed Map (`ceil(items / batch_items)`).
    pub fn runs(&self) -> f64 {
        match self.batch_items {
            Some(b) if b > 1.0 => (self.items / b).ceil().max(1.0),
            _ => self.items,
        }
    }

    /// Waves of the analytic model: `ceil(runs / max_concurrency)`, 1 without a limit.
    pub fn waves(&self) -> f64 {
        if self.max_concurrency == 0 {
            1.0
        } else {
            (self.runs() / f64::from(self.max_concurrency))
                .ceil()
                .max(1.0)
        }
    }

    /// Child executions billed as Express workflows per run of the Map state (0 for an inline
    /// Map or Standard children).
    pub fn express_children(&self) -> f64 {
        if self.is_distributed()
            && self.child_execution.unwrap_or_default() == ChildExecutionType::Express
        {
            self.runs()
        } else {
            0.0
        }
    }
}

/// Step Functions orchestration delays added to the end-to-end latency: every state entered on a
/// path costs `state_ms + transition_ms` (the state and the transition into it), and every
/// execution `start_end_ms` more for starting and ending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delays {
    /// Milliseconds per state entered.
    #[serde(default)]
    pub state_ms: f64,
    /// Milliseconds per transition taken.
    #[serde(default)]
    pub transition_ms: f64,
    /// Milliseconds per execution for its start and end. Left out: `2·state_ms +
    /// transition_ms`, Start and End counted as states (the thesis artifact's convention).
    /// `workflow measure` sets it from the histories (their first and last transitions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_end_ms: Option<f64>,
}

impl Delays {
    /// The delays the thesis artifact used: 18.81 ms per state, 1 ms per transition (measured by
    /// Lin & Khazaei between two Step Functions log events of Express Task states, 2019).
    pub fn step_functions_artifact() -> Self {
        Delays {
            state_ms: 18.81,
            transition_ms: 1.0,
            start_end_ms: None,
        }
    }

    /// The Step Functions Express overhead fitted on Lin & Khazaei's published logs (5 apps,
    /// 14,990 executions, us-east-2, 2020; `docs/real-aws-validation.md`): 14.08 ms per Lambda
    /// task on the path (`state_ms + transition_ms`) and 19.13 ms per execution
    /// (`2·state_ms + transition_ms`). What `workflow import-asl` writes until measured.
    pub fn step_functions_measured() -> Self {
        Delays {
            state_ms: 5.05,
            transition_ms: 9.03,
            start_end_ms: None,
        }
    }

    /// What each state entered on a path costs: `state_ms + transition_ms`.
    pub fn per_state_ms(&self) -> f64 {
        self.state_ms + self.transition_ms
    }

    /// What each execution costs for its start and end.
    pub fn start_end_ms(&self) -> f64 {
        self.start_end_ms
            .unwrap_or(2.0 * self.state_ms + self.transition_ms)
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
    /// A site that cannot be used as written.
    #[error("site '{id}': {reason}")]
    BadSite {
        /// The site's node id.
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
    /// A node that would run more often per execution than any figure can be trusted for
    /// (loops and Map states multiply).
    #[error(
        "'{node}' would run {} times per execution on average, more than {max:.0e}: loops and Map states multiply (a loop taken with probability p repeats 1/(1−p) times); check the loop probabilities and Map items",
        crate::limits::approx(*.runs)
    )]
    TooManyRuns {
        /// The node.
        node: String,
        /// Its expected runs per execution.
        runs: f64,
        /// The cap.
        max: f64,
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
    /// Function ids, then state node ids, then site ids, then the copies a while loop's rotation
    /// made (named like their originals).
    ids: Vec<String>,
    /// Number of functions (node `i < functions` is a function, above a state node).
    functions: usize,
    /// Number of state nodes (after the functions).
    states: usize,
    /// The function of each site (site `k` is node `functions + states + k`).
    site_functions: Vec<usize>,
    /// Fixed delay of each state node, ms (index `i - functions`).
    fixed_ms: Vec<f64>,
    /// Measured time samples of each state node (empty: always `fixed_ms`).
    state_samples: Vec<Vec<f64>>,
    /// USD per entry of each state node.
    state_prices: Vec<f64>,
    /// The state nodes as given.
    state_nodes: Vec<StateNode>,
    /// The Map blocks as given.
    map_blocks: Vec<MapBlock>,
    graph: WorkflowGraph,
    /// The reduced structure over functions and state nodes (sites taken as their function).
    structure: Structure,
    /// The reduced structure with sites kept (leaf `i ≥ functions + states` is a site).
    site_structure: Structure,
    plans: Plans,
    /// Expected runs per execution of each function and state node.
    invocations: Vec<f64>,
    /// Expected runs per execution of each function and state node inside the body of a
    /// Distributed Map with Express child executions (their time is billed as the children's).
    express_runs: Vec<f64>,
    /// Expected Express child executions per execution.
    express_children: f64,
    transitions: f64,
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

impl Workflow {
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

    /// Expected function invocations and state entries per execution, together: the steps one
    /// simulated execution takes on average.
    pub fn expected_steps(&self) -> f64 {
        self.invocations.iter().sum()
    }

    /// Expected invocations per execution of each function inside the bodies of Distributed
    /// Maps whose child executions are Express workflows (billed for their duration).
    pub fn express_invocations(&self) -> &[f64] {
        &self.express_runs[..self.functions]
    }

    /// Expected entries per execution of each state node inside such bodies.
    pub fn express_state_entries(&self) -> &[f64] {
        &self.express_runs[self.functions..]
    }

    /// Expected Express child executions of Distributed Maps per execution.
    pub fn express_children(&self) -> f64 {
        self.express_children
    }

    /// USD per entry of each state node (0 where none is given).
    pub fn state_prices(&self) -> &[f64] {
        &self.state_prices
    }

    /// The measured time samples of structure leaf `i` when it is a state node that has some
    /// (empty otherwise).
    pub fn state_samples(&self, i: usize) -> &[f64] {
        i.checked_sub(self.functions)
            .and_then(|k| self.state_samples.get(k))
            .map_or(&[], Vec::as_slice)
    }

    /// Number of state nodes.
    pub fn state_count(&self) -> usize {
        self.states
    }

    /// The state node that node `i` is, as given (kind, delay, resource, price).
    pub fn state_node(&self, i: usize) -> Option<&StateNode> {
        i.checked_sub(self.functions)
            .and_then(|k| self.state_nodes.get(k))
    }

    /// The Map block whose Map state is node `i`.
    pub fn map_block(&self, i: usize) -> Option<&MapBlock> {
        let id = self.ids.get(i)?;
        self.map_blocks.iter().find(|m| &m.state == id)
    }

    /// The reduced structure with every site kept as its own leaf: leaf `i` is a function below
    /// [`Workflow::function_count`], a state node below `function_count() + state_count()`, and
    /// a site above (see [`Workflow::site_function`]). What a drawing shows.
    pub fn site_structure(&self) -> &Structure {
        &self.site_structure
    }

    /// The function that node `i` invokes: itself for a function, its function for a site,
    /// `None` for a state node.
    pub fn site_function(&self, i: usize) -> Option<usize> {
        if i < self.functions {
            Some(i)
        } else {
            i.checked_sub(self.functions + self.states)
                .and_then(|k| self.site_functions.get(k).copied())
        }
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

    /// Every node id: the functions, then the state nodes, then the sites (then copies of nodes
    /// that the rotation of a while loop made, named like their originals).
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
}
