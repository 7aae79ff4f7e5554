//! Import of an Amazon States Language (ASL) definition — a Step Functions state machine — into the
//! workflow part of a bundle (thesis §5.1).
//!
//! The states become a graph in the thesis artifact's edge convention:
//!
//! * a **Task** that invokes Lambda (`Resource` a Lambda function ARN, or
//!   `arn:aws:states:::lambda:invoke` with `Parameters.FunctionName` / `Arguments.FunctionName`)
//!   is a function, named by its Lambda function name (so that profiles merge by name). A
//!   function invoked by several Task states is one function (one memory, one variant) with one
//!   node (its first state) and a [`Site`] for each other state: the sites have their own
//!   places and invocation counts, and the bundle's `workflow.sites` says which function each
//!   invokes;
//! * a Task that calls **anything else** — an AWS SDK or optimized service integration
//!   (`arn:aws:states:::sns:publish`, `…:aws-sdk:dynamodb:getItem`), an activity, a nested
//!   execution, a `.sync` or `.waitForTaskToken` pattern, or a Lambda function chosen at run
//!   time — is a timed [`StateNode`] of kind `service`: 0 ms until `workflow measure` reads its
//!   time from executions (`TaskScheduled` → `TaskSucceeded`), with the price per request of the
//!   calls that have one ([`service_price`]);
//! * a **callback** `lambda:invoke.waitForTaskToken` is the function (its duration, configured
//!   like any function) followed by a `callback` state node: the wait for the task token, which
//!   `workflow measure` reads (`TaskSubmitted` → `TaskSucceeded`);
//! * a nested execution `states:startExecution.sync` whose child definition is given
//!   ([`AslOptions::children`]) is the child's workflow as a sub-block (its states named
//!   `Task/State`); without it, a timed state;
//! * a **Choice** is a branch: its rules and `Default` share the probability uniformly (nested
//!   Choices split their share again), each such edge marked `"basis": {"source": "assumed"}` until
//!   `optiserve workflow measure` replaces it; an arm back to an earlier state closes a cycle, an
//!   arm back to the same Task a self-loop. A polling loop (`poll → choice → wait → poll`, left
//!   when a status is reached) is such a cycle with the exit decided at its top: its exit
//!   probability per iteration is the Choice's, assumed until measured (the workflow's reduction
//!   rotates it, see `workflow::build`);
//! * a **Parallel** is a parallel block (its branches' first states fan out from the state before
//!   it, its branches' last states join at the state after it);
//! * a **Map** is a state node followed by its iteration body, run over an expected number of
//!   items at most `MaxConcurrency` at a time (a [`MapBlock`]; the analytic model is documented
//!   there); a Distributed Map (`ProcessorConfig.Mode = DISTRIBUTED`) is the same block with its
//!   batching (`ItemBatcher.MaxItemsPerBatch`: the body runs once per batch) and its child
//!   executions' type (Express children are billed as Express workflows);
//! * **Pass** and **Succeed** take no time and are folded into the edges; a **Wait** is a state node
//!   with its `Seconds` as a fixed delay (a time chosen at run time — `SecondsPath`, `Timestamp`,
//!   a JSONata `Seconds` — is 0 ms until measured); a **Fail** ends the execution. Inside a
//!   Parallel or Map branch a Fail ends the whole execution from inside a block: the Choice arms
//!   that lead to it are left out (the model describes executions that succeed) and the other
//!   arms share their probability.
//! * **Retry** is ignored (the model counts one successful attempt) and **Catch** paths are left
//!   out (errors are assumed not to happen); states reached only through a Catch are left out of
//!   the workflow — except a Catch that is the only way out of a loop, which is kept as the
//!   loop's exit with an assumed probability. All are reported in [`ImportedWorkflow::notes`].
//!
//! Choice, Pass, Succeed and the fork and join of a Parallel are folded into the edges wherever
//! the edge convention can say the same thing; where it cannot (a Parallel entered from a Choice
//! arm, two Parallel states in a row, …) the state stays in the graph as a zero-delay
//! [`StateNode`], which adds its orchestration delays and transitions like the real state does.
//!
//! A definition that invokes no Lambda function is refused first ("nothing to tune"). Everything
//! refused is refused with an [`AslError`] that names the state and its JSON path
//! (`$.States.Resize.Resource`, `$.States.Fanout.Branches[1].States.Thumb.Next`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use crate::bundle::WorkflowSpec;
use crate::workflow::{
    ChildExecutionType, Delays, END, Edge, MapBlock, MapMode, ProbabilityBasis, START, Site,
    StateKind, StateNode,
};

/// Expected Map items when nothing else is known (marked as assumed in the notes).
pub const DEFAULT_MAP_ITEMS: f64 = 10.0;
/// Most states a definition may hold (Step Functions' own limit on definition size is far lower).
pub const MAX_STATES: usize = 10_000;
/// Deepest nesting of Parallel and Map states accepted.
pub const MAX_DEPTH: usize = 64;
/// The probability an import assumes for a Catch that is the only way out of a loop, per pass.
pub const ASSUMED_CATCH_EXIT: f64 = 0.5;

/// A definition that cannot be imported: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AslError {
    /// Not JSON.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A definition that is wrong or that the model cannot express.
    #[error("{path}: {message}")]
    Invalid {
        /// JSON path of the offending value (`$.States.<name>…`).
        path: String,
        /// What is wrong, naming the state.
        message: String,
    },
    /// An import setting ([`AslOptions`]) that does not fit the definition.
    #[error("{message}")]
    Setting {
        /// What is wrong, naming the setting's state.
        message: String,
    },
}

impl AslError {
    /// The JSON path of the error, if it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            AslError::Invalid { path, .. } => Some(path),
            AslError::Syntax { .. } | AslError::Setting { .. } => None,
        }
    }
}

fn err<T>(path: impl Into<String>, message: impl Into<String>) -> Result<T, AslError> {
    Err(AslError::Invalid {
        path: path.into(),
        message: message.into(),
    })
}

/// Import settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AslOptions {
    /// Expected items per Map state, by state name; others get [`DEFAULT_MAP_ITEMS`]. Every name
    /// must be a Map state of the definition.
    pub map_items: BTreeMap<String, f64>,
    /// Definitions (ASL JSON text) of the child state machines of nested executions
    /// (`states:startExecution.sync`), by the Task state's name or by the child's ARN (the
    /// Task's `StateMachineArn`): such a Task imports the child's workflow as a sub-block.
    pub children: BTreeMap<String, String>,
}

/// A Lambda function invoked by a Task state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFunction {
    /// Function id in the workflow: the Lambda function's name.
    pub id: String,
    /// The function as the definition names it (ARN or name, with any qualifier).
    pub resource: String,
    /// The (first) Task state's name.
    pub state: String,
}

/// A nested execution a definition starts (`states:startExecution…`): the Task state and the
/// child state machine's ARN when the definition gives it literally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NestedExecution {
    /// The Task state's name.
    pub state: String,
    /// `StateMachineArn`, when it is a literal ARN.
    pub arn: Option<String>,
    /// Whether the Task waits for the child (`.sync`, `.sync:2`), so that the child's workflow
    /// can be imported in its place.
    pub sync: bool,
}

/// The result of an import: the functions, the workflow, and what was approximated.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedWorkflow {
    /// The Lambda functions, in the order the states are first reached from `StartAt`.
    pub functions: Vec<TaskFunction>,
    /// Edges (Choice probabilities uniform and marked assumed), state nodes, Map blocks, sites;
    /// the orchestration delays are Step Functions' measured overhead
    /// ([`Delays::step_functions_measured`]) until `workflow measure` measures this machine's.
    pub workflow: WorkflowSpec,
    /// What the import approximated or left out, each naming the state.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
enum Kind {
    Task {
        function: String,
        resource: String,
        callback: bool,
    },
    /// A timed state: a Task calling anything but a fixed Lambda function.
    Service {
        resource: String,
        price: Option<f64>,
    },
    /// The wait of a `.waitForTaskToken` Lambda Task.
    Callback,
    Choice,
    Pass,
    Wait {
        delay_ms: f64,
    },
    Succeed,
    Fail,
    /// A Parallel's fork (or a nested execution imported as a sub-block); its join is a
    /// separate node.
    Fork,
    Join,
    MapNode,
    MapEnd,
}

#[derive(Debug, Clone)]
struct Node {
    /// Node id in the workflow (a function name for a Task, else the state's name).
    id: String,
    /// The state's name (for messages).
    state: String,
    kind: Kind,
    /// Inside a Parallel or Map branch.
    nested: bool,
}

/// A scope: the top-level machine or one branch / iteration body.
struct Scope {
    /// State name → node index.
    names: HashMap<String, usize>,
    /// JSON path of the scope's `States` object.
    path: String,
    /// Prefix of the state names of a nested child machine (`Task/`), else empty.
    prefix: String,
}

/// A Map block in the making.
struct MapInfo {
    node: usize,
    end: usize,
    items: f64,
    max_concurrency: u32,
    mode: Option<MapMode>,
    child_execution: Option<ChildExecutionType>,
    batch_items: Option<f64>,
}

struct Builder<'a> {
    nodes: Vec<Node>,
    /// (from, to, probability); probabilities of parallel edges are 1.
    edges: Vec<(usize, usize, f64)>,
    /// Catch edges (from, to), left out unless one is the only way out of a loop.
    catches: Vec<(usize, usize)>,
    /// State name → where it is declared, for uniqueness.
    declared: HashMap<String, String>,
    maps: Vec<MapInfo>,
    notes: Vec<String>,
    options: &'a AslOptions,
    /// Children already being imported (against a child that starts itself).
    nesting: Vec<String>,
    start: usize,
    end: usize,
}

/// Imports an ASL definition (JSON text).
pub fn import_asl(text: &str, options: &AslOptions) -> Result<ImportedWorkflow, AslError> {
    let root = parse(text)?;
    let mut b = Builder {
        nodes: vec![
            Node {
                id: START.to_string(),
                state: START.to_string(),
                kind: Kind::Pass,
                nested: false,
            },
            Node {
                id: END.to_string(),
                state: END.to_string(),
                kind: Kind::Pass,
                nested: false,
            },
        ],
        edges: Vec::new(),
        catches: Vec::new(),
        declared: HashMap::new(),
        maps: Vec::new(),
        notes: Vec::new(),
        options,
        nesting: Vec::new(),
        start: 0,
        end: 1,
    };
    let entry = b.scope(&root, "$", 1, None, "")?;
    // A well-formed definition that invokes no Lambda function is refused before anything the
    // model could not express.
    nothing_to_tune(&root, options)?;
    b.edges.push((b.start, entry, 1.0));
    // Every Map state named in the settings must exist.
    for name in options.map_items.keys() {
        let is_map = b
            .nodes
            .iter()
            .any(|n| matches!(n.kind, Kind::MapNode) && n.state == *name);
        if !is_map {
            let mut maps: Vec<&str> = b
                .nodes
                .iter()
                .filter(|n| matches!(n.kind, Kind::MapNode))
                .map(|n| n.state.as_str())
                .collect();
            maps.sort_unstable();
            return Err(AslError::Setting {
                message: if maps.is_empty() {
                    format!(
                        "items given for Map state '{name}', but the state machine has no Map state"
                    )
                } else {
                    format!(
                        "items given for Map state '{name}', which is not a Map state of the state machine (its Map states: {})",
                        maps.join(", ")
                    )
                },
            });
        }
    }
    b.finish()
}

fn parse(text: &str) -> Result<Value, AslError> {
    serde_json::from_str(text).map_err(|e| AslError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// How a Task's `Resource` reads: a Lambda function ARN, a `lambda:invoke` integration with its
/// pattern, an activity, or another integration (`sns:publish`, `states:startExecution.sync:2`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource<'a> {
    LambdaArn,
    LambdaInvoke { pattern: &'a str },
    Activity,
    Integration { service: &'a str },
    Other,
}

fn resource_kind(r: &str) -> Resource<'_> {
    let parts: Vec<&str> = r.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", ..] => Resource::LambdaArn,
        ["arn", _, "states", "", "", rest] => match rest.strip_prefix("lambda:invoke") {
            Some(pattern) => Resource::LambdaInvoke { pattern },
            None => Resource::Integration { service: rest },
        },
        ["arn", _, "states", _, _, rest] if rest.starts_with("activity:") => Resource::Activity,
        _ => Resource::Other,
    }
}

/// Does any Task of `machine` (branches and bodies included) invoke a Lambda function?
fn invokes_lambda(machine: &Value) -> bool {
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        return false;
    };
    states.values().any(|s| {
        let task = s.get("Type").and_then(Value::as_str) == Some("Task")
            && match s.get("Resource").and_then(Value::as_str).map(resource_kind) {
                Some(Resource::LambdaArn) => true,
                Some(Resource::LambdaInvoke { .. }) => {
                    ["Parameters", "Arguments"].iter().any(|k| {
                        s.get(*k)
                            .and_then(|p| p.get("FunctionName"))
                            .and_then(Value::as_str)
                            .is_some_and(|f| !f.starts_with("{%"))
                    })
                }
                _ => false,
            };
        task || s
            .get("Branches")
            .and_then(Value::as_array)
            .is_some_and(|b| b.iter().any(invokes_lambda))
            || s.get("ItemProcessor")
                .or_else(|| s.get("Iterator"))
                .is_some_and(invokes_lambda)
    })
}

/// The Task states of `machine` (branches and bodies included), for messages.
fn task_states(machine: &Value, out: &mut Vec<String>) {
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, s) in states {
        if s.get("Type").and_then(Value::as_str) == Some("Task") {
            out.push(name.clone());
        }
        for b in s
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            task_states(b, out);
        }
        if let Some(body) = s.get("ItemProcessor").or_else(|| s.get("Iterator")) {
            task_states(body, out);
        }
    }
}

/// Refuses, before anything else, a definition that invokes no Lambda function (nor does any
/// child definition given): there is nothing to tune.
fn nothing_to_tune(root: &Value, options: &AslOptions) -> Result<(), AslError> {
    if !root.is_object() || root.get("States").is_none() {
        return Ok(());
    }
    if invokes_lambda(root)
        || options
            .children
            .values()
            .any(|c| parse(c).is_ok_and(|v| invokes_lambda(&v)))
    {
        return Ok(());
    }
    let mut tasks = Vec::new();
    task_states(root, &mut tasks);
    let what = match tasks.as_slice() {
        [] => "it has no Task state".to_string(),
        [one] => format!("its Task state '{one}' calls another service"),
        many => {
            let shown: Vec<String> = many.iter().take(3).map(|t| format!("'{t}'")).collect();
            let more = many.len().saturating_sub(3);
            format!(
                "its Task states ({}{}) call other services",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        }
    };
    err(
        "$.States",
        format!(
            "nothing to tune: the state machine invokes no Lambda function with a fixed name ({what}); optiserve plans the memory and model variant of Lambda functions"
        ),
    )
}

/// The nested executions a definition starts (`states:startExecution`, `.sync`, `.sync:2`,
/// `.waitForTaskToken`), so that a caller can fetch the children's definitions.
pub fn nested_executions(text: &str) -> Result<Vec<NestedExecution>, AslError> {
    fn go(machine: &Value, out: &mut Vec<NestedExecution>) {
        let Some(states) = machine.get("States").and_then(Value::as_object) else {
            return;
        };
        for (name, s) in states {
            if let Some(r) = s.get("Resource").and_then(Value::as_str)
                && let Resource::Integration { service } = resource_kind(r)
                && let Some(pattern) = service.strip_prefix("states:startExecution")
            {
                let arn = ["Parameters", "Arguments"]
                    .iter()
                    .find_map(|k| s.get(*k)?.get("StateMachineArn")?.as_str())
                    .filter(|a| a.starts_with("arn:"))
                    .map(str::to_string);
                out.push(NestedExecution {
                    state: name.clone(),
                    arn,
                    sync: pattern.starts_with(".sync"),
                });
            }
            for b in s
                .get("Branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                go(b, out);
            }
            if let Some(body) = s.get("ItemProcessor").or_else(|| s.get("Iterator")) {
                go(body, out);
            }
        }
    }
    let root = parse(text)?;
    let mut out = Vec::new();
    go(&root, &mut out);
    Ok(out)
}

/// The price per request of a service integration, when it has one, with what it is: us-east-1
/// list prices (SNS publish $0.50 per million requests, SQS $0.40 per million, EventBridge
/// events $1.00 per million, DynamoDB on-demand writes $0.625 per million write request units and
/// reads $0.125 per million read request units since November 2024 — one unit per write, half a
/// unit per eventually consistent read of an item up to 4 KB —, a nested Standard execution at
/// least its start, one state transition at $0.025 per 1,000). The bundle holds the price: edit
/// it for another region, larger items or FIFO queues.
pub fn service_price(service: &str) -> Option<(f64, &'static str)> {
    let s = service.strip_prefix("aws-sdk:").unwrap_or(service);
    let (api, action) = s.split_once(':').unwrap_or((s, ""));
    let action = action.split('.').next().unwrap_or("").to_ascii_lowercase();
    match (api, action.as_str()) {
        ("sns", "publish") => Some((0.50e-6, "SNS publish")),
        ("sqs", "sendmessage") => Some((0.40e-6, "SQS message")),
        ("events", "putevents") => Some((1.00e-6, "EventBridge event")),
        ("dynamodb", "putitem" | "updateitem" | "deleteitem") => {
            Some((0.625e-6, "DynamoDB on-demand write (1 WRU)"))
        }
        ("dynamodb", "getitem" | "query" | "scan") => {
            Some((0.0625e-6, "DynamoDB on-demand read (0.5 RRU)"))
        }
        ("states", "startexecution") => Some((
            0.025e-3,
            "nested Standard execution (its start; the child's own transitions are not counted unless its definition is imported)",
        )),
        _ => None,
    }
}

fn object<'v>(
    v: &'v Value,
    path: &str,
    what: &str,
) -> Result<&'v serde_json::Map<String, Value>, AslError> {
    v.as_object().ok_or_else(|| AslError::Invalid {
        path: path.to_string(),
        message: format!("{what} must be a JSON object"),
    })
}

fn string<'v>(
    o: &'v serde_json::Map<String, Value>,
    key: &str,
    path: &str,
    state: &str,
) -> Result<Option<&'v str>, AslError> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => err(
            format!("{path}.{key}"),
            format!("state '{state}': {key} must be a string"),
        ),
    }
}

/// Lambda function name out of an ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`),
/// a partial ARN (`ACCOUNT:function:NAME[:QUALIFIER]`) or a plain name (`NAME[:QUALIFIER]`).
pub fn lambda_function_name(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(':').collect();
    let name = match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => *name,
        [_, "function", name, ..] => *name,
        [name] | [name, _] => *name,
        _ => return None,
    };
    let ok = !name.is_empty()
        && name.len() <= 140
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then(|| name.to_string())
}

/// What a Task state does, read from its `Resource` and parameters.
enum TaskKind {
    Lambda {
        function: String,
        resource: String,
        callback: bool,
    },
    Service {
        resource: String,
        price: Option<f64>,
    },
    Nested {
        child: String,
    },
}

impl Builder<'_> {
    fn add(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Reads one state machine (top level, a branch, or a nested child) and wires its states;
    /// returns the node its `StartAt` is. `exit` is where `End` and `Succeed` lead (End at the
    /// top level, the join of the enclosing Parallel or Map otherwise); `prefix` names a nested
    /// child's states (`Task/`).
    fn scope(
        &mut self,
        v: &Value,
        path: &str,
        depth: usize,
        exit: Option<usize>,
        prefix: &str,
    ) -> Result<usize, AslError> {
        if depth > MAX_DEPTH {
            return err(
                path,
                format!("Parallel and Map states nest more than {MAX_DEPTH} deep"),
            );
        }
        let o = object(v, path, "a state machine")?;
        let start_at = match o.get("StartAt") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return err(
                    format!("{path}.StartAt"),
                    "StartAt must be a state name (a string)",
                );
            }
            None => return err(path, "a state machine needs \"StartAt\" and \"States\""),
        };
        let states_path = format!("{path}.States");
        let states = match o.get("States") {
            Some(s) => object(s, &states_path, "States")?,
            None => return err(path, "a state machine needs \"StartAt\" and \"States\""),
        };
        if states.is_empty() {
            return err(states_path, "States is empty");
        }
        let nested = exit.is_some();
        let exit = exit.unwrap_or(self.end);
        // First pass: a node per state.
        let mut scope = Scope {
            names: HashMap::new(),
            path: states_path.clone(),
            prefix: prefix.to_string(),
        };
        let mut children: Vec<(usize, String)> = Vec::new();
        for (raw, sv) in states {
            let at = format!("{states_path}.{raw}");
            let name = format!("{prefix}{raw}");
            if self.nodes.len() > MAX_STATES {
                return err(
                    at,
                    format!("the definition has more than {MAX_STATES} states"),
                );
            }
            if let Some(first) = self.declared.get(&name) {
                return err(
                    at,
                    format!(
                        "state name '{name}' is also used at {first}; state names must be unique in the whole state machine"
                    ),
                );
            }
            self.declared.insert(name.clone(), at.clone());
            let so = object(sv, &at, &format!("state '{name}'"))?;
            let ty = match string(so, "Type", &at, &name)? {
                Some(t) => t,
                None => return err(at, format!("state '{name}' has no Type")),
            };
            let mut child = None;
            let kind = match ty {
                "Task" => match self.task(so, &at, &name)? {
                    TaskKind::Lambda {
                        function,
                        resource,
                        callback,
                    } => Kind::Task {
                        function,
                        resource,
                        callback,
                    },
                    TaskKind::Service { resource, price } => Kind::Service { resource, price },
                    TaskKind::Nested { child: c } => {
                        child = Some(c);
                        Kind::Fork
                    }
                },
                "Choice" => Kind::Choice,
                "Pass" => Kind::Pass,
                "Wait" => self.wait(so, &at, &name)?,
                "Succeed" => Kind::Succeed,
                "Fail" => Kind::Fail,
                "Parallel" => Kind::Fork,
                "Map" => Kind::MapNode,
                other => {
                    return err(
                        format!("{at}.Type"),
                        format!(
                            "state '{name}' has an unknown Type '{other}' (expected Task, Choice, Pass, Wait, Succeed, Fail, Parallel or Map)"
                        ),
                    );
                }
            };
            let id = match &kind {
                Kind::Task { function, .. } => function.clone(),
                _ => name.clone(),
            };
            let node = self.add(Node {
                id,
                state: name.clone(),
                kind,
                nested,
            });
            if let Some(c) = child {
                children.push((node, c));
            }
            scope.names.insert(raw.clone(), node);
        }
        let Some(&entry) = scope.names.get(&start_at) else {
            return err(
                format!("{path}.StartAt"),
                format!("StartAt names '{start_at}', which is not a state of {states_path}"),
            );
        };
        // Second pass: edges.
        for (raw, sv) in states {
            let at = format!("{states_path}.{raw}");
            let node = scope.names[raw];
            let so = object(sv, &at, "a state")?;
            let child = children
                .iter()
                .find(|(n, _)| *n == node)
                .map(|(_, c)| c.clone());
            let name = format!("{prefix}{raw}");
            self.wire(node, so, &at, &name, &scope, exit, depth, child)?;
        }
        Ok(entry)
    }

    fn task(
        &mut self,
        so: &serde_json::Map<String, Value>,
        at: &str,
        name: &str,
    ) -> Result<TaskKind, AslError> {
        let resource = match string(so, "Resource", at, name)? {
            Some(r) => r,
            None => return err(at, format!("Task state '{name}' has no Resource")),
        };
        match resource_kind(resource) {
            Resource::LambdaArn => {
                let Some(function) = lambda_function_name(resource) else {
                    return err(
                        format!("{at}.Resource"),
                        format!(
                            "Task state '{name}': '{resource}' is not a Lambda function name or ARN"
                        ),
                    );
                };
                Ok(TaskKind::Lambda {
                    function,
                    resource: resource.to_string(),
                    callback: false,
                })
            }
            Resource::LambdaInvoke { pattern } => {
                let callback = match pattern {
                    "" => false,
                    ".waitForTaskToken" => true,
                    other => {
                        return err(
                            format!("{at}.Resource"),
                            format!(
                                "Task state '{name}' uses the unknown '{other}' pattern of lambda:invoke (Step Functions knows request-response and .waitForTaskToken)"
                            ),
                        );
                    }
                };
                let mut found = None;
                let mut run_time = None;
                for key in ["Parameters", "Arguments"] {
                    if let Some(p) = so.get(key) {
                        let po = object(p, &format!("{at}.{key}"), key)?;
                        if po.contains_key("FunctionName.$") {
                            run_time = Some(format!("{at}.{key}.FunctionName.$"));
                        }
                        match po.get("FunctionName") {
                            Some(Value::String(f)) if !f.starts_with("{%") => {
                                found = Some(f.clone());
                            }
                            Some(Value::String(_)) => {
                                run_time = Some(format!("{at}.{key}.FunctionName"));
                            }
                            Some(_) => {
                                return err(
                                    format!("{at}.{key}.FunctionName"),
                                    format!("Task state '{name}': FunctionName must be a string"),
                                );
                            }
                            None => {}
                        }
                    }
                }
                if found.is_none() && run_time.is_some() {
                    self.notes.push(format!(
                        "Task state '{name}' invokes a Lambda function chosen at run time: a timed state (its time is measured, not tuned; its Lambda charges are not in the model)"
                    ));
                    return Ok(TaskKind::Service {
                        resource: resource.to_string(),
                        price: None,
                    });
                }
                let Some(target) = found else {
                    return err(
                        at,
                        format!(
                            "Task state '{name}' invokes lambda:invoke without Parameters.FunctionName"
                        ),
                    );
                };
                let Some(function) = lambda_function_name(&target) else {
                    return err(
                        at,
                        format!(
                            "Task state '{name}': '{target}' is not a Lambda function name or ARN"
                        ),
                    );
                };
                if callback {
                    self.notes.push(format!(
                        "Task state '{name}' waits for a callback (.waitForTaskToken): function '{function}' and then the wait for its task token, 0 ms until `workflow measure` reads it"
                    ));
                }
                Ok(TaskKind::Lambda {
                    function,
                    resource: target,
                    callback,
                })
            }
            Resource::Integration { service: api } => {
                if let Some(pattern) = api.strip_prefix("states:startExecution") {
                    let arn = ["Parameters", "Arguments"]
                        .iter()
                        .find_map(|k| so.get(*k)?.get("StateMachineArn")?.as_str());
                    let child = self
                        .options
                        .children
                        .get(name)
                        .or_else(|| arn.and_then(|a| self.options.children.get(a)));
                    if pattern.starts_with(".sync")
                        && let Some(child) = child
                    {
                        if self.nesting.iter().any(|n| n == name) || self.nesting.len() >= 8 {
                            return err(
                                format!("{at}.Resource"),
                                format!(
                                    "Task state '{name}' starts a child state machine that starts itself again (or nested executions go more than 8 deep)"
                                ),
                            );
                        }
                        self.notes.push(format!(
                            "Task state '{name}' runs its child state machine as a sub-block (its states are named '{name}/…'; their probabilities stay assumed: the child's executions have their own histories)"
                        ));
                        return Ok(TaskKind::Nested {
                            child: child.clone(),
                        });
                    }
                    self.notes.push(format!(
                        "Task state '{name}' starts a nested execution: a timed state{}",
                        if pattern.starts_with(".sync") {
                            " (give the child's definition to import its workflow instead)"
                        } else {
                            ""
                        }
                    ));
                }
                let price = service_price(api);
                Ok(TaskKind::Service {
                    resource: resource.to_string(),
                    price: price.map(|p| p.0),
                })
            }
            Resource::Activity => Ok(TaskKind::Service {
                resource: resource.to_string(),
                price: None,
            }),
            Resource::Other => {
                self.notes.push(format!(
                    "Task state '{name}' calls '{resource}', which is not an ARN optiserve knows: a timed state"
                ));
                Ok(TaskKind::Service {
                    resource: resource.to_string(),
                    price: None,
                })
            }
        }
    }

    fn wait(
        &mut self,
        so: &serde_json::Map<String, Value>,
        at: &str,
        name: &str,
    ) -> Result<Kind, AslError> {
        let run_time = |how: &str, notes: &mut Vec<String>| {
            notes.push(format!(
                "Wait state '{name}' waits for a time chosen at run time ({how}): its delay is 0 ms in the model until `workflow measure` reads it from executions"
            ));
            Ok(Kind::Wait { delay_ms: 0.0 })
        };
        match so.get("Seconds") {
            Some(Value::Number(n)) => match n.as_f64() {
                Some(s) if (0.0..=31_536_000.0).contains(&s) => Ok(Kind::Wait {
                    delay_ms: s * 1000.0,
                }),
                _ => err(
                    format!("{at}.Seconds"),
                    format!("Wait state '{name}': Seconds must be between 0 and 31,536,000"),
                ),
            },
            Some(Value::String(s)) if s.trim_start().starts_with("{%") => {
                run_time("a JSONata Seconds", &mut self.notes)
            }
            Some(_) => err(
                format!("{at}.Seconds"),
                format!(
                    "Wait state '{name}': Seconds must be a number of seconds or a JSONata expression ({{% … %}})"
                ),
            ),
            None => {
                let how = ["SecondsPath", "Timestamp", "TimestampPath"]
                    .into_iter()
                    .find(|k| so.contains_key(*k));
                match how {
                    Some(k) => run_time(k, &mut self.notes),
                    None => err(
                        at,
                        format!(
                            "Wait state '{name}' needs Seconds, SecondsPath, Timestamp or TimestampPath"
                        ),
                    ),
                }
            }
        }
    }

    fn target(&self, scope: &Scope, to: &Value, at: &str, name: &str) -> Result<usize, AslError> {
        let Value::String(t) = to else {
            return err(
                at,
                format!("state '{name}': the next state must be a state name (a string)"),
            );
        };
        scope
            .names
            .get(t)
            .copied()
            .ok_or_else(|| AslError::Invalid {
                path: at.to_string(),
                message: format!(
                    "state '{name}' goes to '{}{t}', which is not a state of {}",
                    scope.prefix, scope.path
                ),
            })
    }

    /// `Next` or `End` of a state that has one of them.
    fn next(
        &self,
        so: &serde_json::Map<String, Value>,
        at: &str,
        name: &str,
        scope: &Scope,
        exit: usize,
    ) -> Result<usize, AslError> {
        let end = match so.get("End") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return err(
                    format!("{at}.End"),
                    format!("state '{name}': End must be true or false"),
                );
            }
        };
        match (so.get("Next"), end) {
            (Some(_), true) => err(at, format!("state '{name}' has both Next and End")),
            (Some(n), false) => self.target(scope, n, &format!("{at}.Next"), name),
            (None, true) => Ok(exit),
            (None, false) => err(at, format!("state '{name}' needs Next or \"End\": true")),
        }
    }

    fn retry_catch(
        &mut self,
        node: usize,
        so: &serde_json::Map<String, Value>,
        at: &str,
        name: &str,
        scope: &Scope,
    ) -> Result<(), AslError> {
        if let Some(r) = so.get("Retry") {
            if !r.is_array() {
                return err(
                    format!("{at}.Retry"),
                    format!("state '{name}': Retry must be a list"),
                );
            }
            self.notes.push(format!(
                "Retry on '{name}' is not modelled: the model counts one successful attempt (retries show up in measured durations)"
            ));
        }
        if let Some(c) = so.get("Catch") {
            let Some(list) = c.as_array() else {
                return err(
                    format!("{at}.Catch"),
                    format!("state '{name}': Catch must be a list"),
                );
            };
            let mut targets = Vec::new();
            for (k, item) in list.iter().enumerate() {
                let cat = format!("{at}.Catch[{k}]");
                let co = object(item, &cat, "a catcher")?;
                match co.get("Next") {
                    Some(n) => {
                        let t = self.target(scope, n, &format!("{cat}.Next"), name)?;
                        targets.push(self.nodes[t].state.clone());
                        if !self.catches.contains(&(node, t)) {
                            self.catches.push((node, t));
                        }
                    }
                    None => return err(cat, format!("state '{name}': a catcher needs Next")),
                }
            }
            self.notes.push(format!(
                "Catch on '{name}' (to {}) is not modelled: errors are assumed not to happen",
                targets.join(", ")
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn wire(
        &mut self,
        node: usize,
        so: &serde_json::Map<String, Value>,
        at: &str,
        name: &str,
        scope: &Scope,
        exit: usize,
        depth: usize,
        child: Option<String>,
    ) -> Result<(), AslError> {
        let kind = self.nodes[node].kind.clone();
        match kind {
            Kind::Task { callback, .. } => {
                self.retry_catch(node, so, at, name, scope)?;
                let n = self.next(so, at, name, scope, exit)?;
                if callback {
                    let cb = self.add(Node {
                        id: format!("{name} (callback)"),
                        state: name.to_string(),
                        kind: Kind::Callback,
                        nested: self.nodes[node].nested,
                    });
                    self.edges.push((node, cb, 1.0));
                    self.edges.push((cb, n, 1.0));
                } else {
                    self.edges.push((node, n, 1.0));
                }
            }
            Kind::Service { .. } => {
                self.retry_catch(node, so, at, name, scope)?;
                let n = self.next(so, at, name, scope, exit)?;
                self.edges.push((node, n, 1.0));
            }
            Kind::Pass | Kind::Wait { .. } => {
                let n = self.next(so, at, name, scope, exit)?;
                self.edges.push((node, n, 1.0));
            }
            Kind::Succeed => self.edges.push((node, exit, 1.0)),
            Kind::Fail => {
                // Inside a branch, the arms into it are left out (see `finish`).
                self.edges.push((node, self.end, 1.0));
            }
            Kind::Callback => {}
            Kind::Choice => {
                let mut arms = Vec::new();
                match so.get("Choices") {
                    Some(Value::Array(list)) if !list.is_empty() => {
                        for (k, rule) in list.iter().enumerate() {
                            let rat = format!("{at}.Choices[{k}]");
                            let ro = object(rule, &rat, "a choice rule")?;
                            match ro.get("Next") {
                                Some(n) => arms.push(self.target(
                                    scope,
                                    n,
                                    &format!("{rat}.Next"),
                                    name,
                                )?),
                                None => {
                                    return err(
                                        rat,
                                        format!("Choice state '{name}': rule {k} has no Next"),
                                    );
                                }
                            }
                        }
                    }
                    _ => {
                        return err(
                            format!("{at}.Choices"),
                            format!("Choice state '{name}' needs a non-empty Choices list"),
                        );
                    }
                }
                if let Some(d) = so.get("Default") {
                    arms.push(self.target(scope, d, &format!("{at}.Default"), name)?);
                }
                let p = 1.0 / arms.len() as f64;
                for a in arms {
                    self.edges.push((node, a, p));
                }
            }
            Kind::Fork => {
                self.retry_catch(node, so, at, name, scope)?;
                let join = self.add(Node {
                    id: format!("{name} (join)"),
                    state: name.to_string(),
                    kind: Kind::Join,
                    nested: self.nodes[node].nested,
                });
                if let Some(child) = child {
                    // A nested execution imported as a sub-block: one branch, the child.
                    let root = parse(&child).map_err(|e| AslError::Invalid {
                        path: format!("{at} (child definition)"),
                        message: format!("Task state '{name}': the child state machine: {e}"),
                    })?;
                    self.nesting.push(name.to_string());
                    let entry = self.scope(
                        &root,
                        &format!("{at}(child)"),
                        depth + 1,
                        Some(join),
                        &format!("{name}/"),
                    )?;
                    self.nesting.pop();
                    self.edges.push((node, entry, 1.0));
                } else {
                    let branches = match so.get("Branches") {
                        Some(Value::Array(b)) if !b.is_empty() => b,
                        _ => {
                            return err(
                                format!("{at}.Branches"),
                                format!("Parallel state '{name}' needs a non-empty Branches list"),
                            );
                        }
                    };
                    for (k, br) in branches.iter().enumerate() {
                        let entry = self.scope(
                            br,
                            &format!("{at}.Branches[{k}]"),
                            depth + 1,
                            Some(join),
                            &scope.prefix,
                        )?;
                        self.edges.push((node, entry, 1.0));
                    }
                }
                let n = self.next(so, at, name, scope, exit)?;
                self.edges.push((join, n, 1.0));
            }
            Kind::MapNode => self.map(node, so, at, name, scope, exit, depth)?,
            Kind::Join | Kind::MapEnd => {}
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn map(
        &mut self,
        node: usize,
        so: &serde_json::Map<String, Value>,
        at: &str,
        name: &str,
        scope: &Scope,
        exit: usize,
        depth: usize,
    ) -> Result<(), AslError> {
        self.retry_catch(node, so, at, name, scope)?;
        let (key, body) = match (so.get("ItemProcessor"), so.get("Iterator")) {
            (Some(b), _) => ("ItemProcessor", b),
            (None, Some(b)) => ("Iterator", b),
            (None, None) => {
                return err(
                    at,
                    format!("Map state '{name}' needs an ItemProcessor (or Iterator)"),
                );
            }
        };
        let bat = format!("{at}.{key}");
        let config = body.get("ProcessorConfig");
        let mode = match config.and_then(|c| c.get("Mode")).and_then(Value::as_str) {
            None | Some("INLINE") => None,
            Some("DISTRIBUTED") => Some(MapMode::Distributed),
            Some(other) => {
                return err(
                    format!("{bat}.ProcessorConfig.Mode"),
                    format!("Map state '{name}': Mode '{other}' is neither INLINE nor DISTRIBUTED"),
                );
            }
        };
        let mut child_execution = None;
        let mut batch_items = None;
        if mode.is_some() {
            child_execution = match config
                .and_then(|c| c.get("ExecutionType"))
                .and_then(Value::as_str)
            {
                None | Some("EXPRESS") => Some(ChildExecutionType::Express),
                Some("STANDARD") => Some(ChildExecutionType::Standard),
                Some(other) => {
                    return err(
                        format!("{bat}.ProcessorConfig.ExecutionType"),
                        format!(
                            "Map state '{name}': ExecutionType '{other}' is neither EXPRESS nor STANDARD"
                        ),
                    );
                }
            };
            if let Some(b) = so.get("ItemBatcher") {
                match b.get("MaxItemsPerBatch").and_then(Value::as_f64) {
                    Some(n) if n.is_finite() && n >= 1.0 => batch_items = Some(n.floor()),
                    Some(_) => {
                        return err(
                            format!("{at}.ItemBatcher.MaxItemsPerBatch"),
                            format!("Map state '{name}': MaxItemsPerBatch must be a whole number ≥ 1"),
                        );
                    }
                    None => self.notes.push(format!(
                        "Map state '{name}' batches its items by size or at run time: the model runs one child execution per item"
                    )),
                }
            }
            self.notes.push(format!(
                "Map state '{name}' is a Distributed Map: its body runs as {} child executions{}; their histories are not the parent's, so its items and the probabilities inside stay as given or assumed",
                match child_execution {
                    Some(ChildExecutionType::Standard) => "Standard",
                    _ => "Express",
                },
                match batch_items {
                    Some(b) => format!(", one per batch of {b} items"),
                    None => ", one per item".to_string(),
                }
            ));
        }
        let concurrency = match so.get("MaxConcurrency") {
            None | Some(Value::String(_)) => {
                if so.contains_key("MaxConcurrencyPath") || so.get("MaxConcurrency").is_some() {
                    self.notes.push(format!(
                        "Map state '{name}' sets its concurrency at run time: the model runs its items without a limit"
                    ));
                }
                0
            }
            Some(Value::Number(c)) => match c.as_u64().and_then(|c| u32::try_from(c).ok()) {
                Some(c) => c,
                None => {
                    return err(
                        format!("{at}.MaxConcurrency"),
                        format!("Map state '{name}': MaxConcurrency must be a whole number ≥ 0"),
                    );
                }
            },
            Some(_) => {
                return err(
                    format!("{at}.MaxConcurrency"),
                    format!("Map state '{name}': MaxConcurrency must be a whole number ≥ 0"),
                );
            }
        };
        let items = match self.options.map_items.get(name) {
            Some(&i) => i,
            None => {
                self.notes.push(format!(
                    "Map state '{name}': {DEFAULT_MAP_ITEMS} items per run assumed ({})",
                    if mode.is_some() {
                        "give them with --map-items"
                    } else {
                        "measure sets the mean from executions"
                    }
                ));
                DEFAULT_MAP_ITEMS
            }
        };
        if !(items.is_finite() && items >= 1.0) {
            return err(
                at,
                format!("Map state '{name}': the expected item count must be ≥ 1, found {items}"),
            );
        }
        let map_end = self.add(Node {
            id: format!("{name} (end)"),
            state: name.to_string(),
            kind: Kind::MapEnd,
            nested: self.nodes[node].nested,
        });
        let entry = self.scope(body, &bat, depth + 1, Some(map_end), &scope.prefix)?;
        self.edges.push((node, entry, 1.0));
        let n = self.next(so, at, name, scope, exit)?;
        self.edges.push((map_end, n, 1.0));
        self.maps.push(MapInfo {
            node,
            end: map_end,
            items,
            max_concurrency: concurrency,
            mode,
            child_execution,
            batch_items,
        });
        Ok(())
    }

    /// The nodes reachable from Start over `edges`, in depth-first order.
    fn reachable(&self, edges: &[(usize, usize, f64)]) -> (Vec<usize>, Vec<bool>) {
        let n = self.nodes.len();
        let mut order = Vec::new();
        let mut seen = vec![false; n];
        let mut stack = vec![self.start];
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(u, v, _) in edges {
            out[u].push(v);
        }
        while let Some(u) = stack.pop() {
            if seen[u] {
                continue;
            }
            seen[u] = true;
            order.push(u);
            for &v in out[u].iter().rev() {
                if !seen[v] {
                    stack.push(v);
                }
            }
        }
        (order, seen)
    }

    /// The nodes from which `to` can be reached over `edges`.
    fn reaching(&self, edges: &[(usize, usize, f64)], to: &[usize]) -> Vec<bool> {
        let n = self.nodes.len();
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(u, v, _) in edges {
            preds[v].push(u);
        }
        let mut seen = vec![false; n];
        let mut stack: Vec<usize> = to.to_vec();
        while let Some(v) = stack.pop() {
            if seen[v] {
                continue;
            }
            seen[v] = true;
            stack.extend(preds[v].iter().copied().filter(|&u| !seen[u]));
        }
        seen
    }

    /// Keeps a Catch that is the only way out of a loop: nodes reachable from Start that can no
    /// longer reach their scope's end take their Catch edges as branch arms with an assumed
    /// probability.
    fn catches_out_of_loops(&mut self) {
        for _ in 0..self.catches.len() + 1 {
            let (_, seen) = self.reachable(&self.edges);
            // Every scope's exit: the End, the joins and the Map ends.
            let exits: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| {
                    i == self.end || matches!(self.nodes[i].kind, Kind::Join | Kind::MapEnd)
                })
                .collect();
            let can_end = self.reaching(&self.edges, &exits);
            let Some(&(u, t)) = self
                .catches
                .iter()
                .find(|&&(u, t)| seen[u] && !can_end[u] && can_end[t])
            else {
                return;
            };
            self.catches.retain(|&c| c != (u, t));
            let q = ASSUMED_CATCH_EXIT;
            for e in self.edges.iter_mut().filter(|e| e.0 == u) {
                e.2 *= 1.0 - q;
            }
            self.edges.push((u, t, q));
            let note = format!(
                "Catch on '{}' (to {}) is the only way out of its loop: kept as the loop's exit, taken with probability {q} per pass (assumed; `workflow measure` replaces it)",
                self.nodes[u].state, self.nodes[t].state
            );
            let said = format!("Catch on '{}' (to ", self.nodes[u].state);
            match self.notes.iter_mut().find(|n| n.starts_with(&said)) {
                Some(n) => *n = note,
                None => self.notes.push(note),
            }
        }
    }

    /// Leaves out the Choice arms that lead to a Fail state inside a Parallel or Map branch (the
    /// model describes executions that succeed): their Choice's other arms share the
    /// probability. Refuses a branch that always reaches such a Fail.
    fn fail_arms_in_blocks(&mut self, order: &[usize]) -> Result<(), AslError> {
        let n = self.nodes.len();
        let mut failing = vec![false; n];
        let mut any = false;
        for &i in order {
            if matches!(self.nodes[i].kind, Kind::Fail) && self.nodes[i].nested {
                failing[i] = true;
                any = true;
            }
        }
        if !any {
            return Ok(());
        }
        // A node all of whose ways on fail, fails (Choices excepted: their arms are cut): a
        // worklist over the predecessors, each node's count of ways that do not fail yet.
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut open_ways = vec![0usize; n];
        for &(u, v, _) in &self.edges {
            preds[v].push(u);
            open_ways[u] += 1;
        }
        let mut work: Vec<usize> = (0..n).filter(|&i| failing[i]).collect();
        while let Some(v) = work.pop() {
            for &u in &preds[v] {
                open_ways[u] = open_ways[u].saturating_sub(1);
                if open_ways[u] == 0 && !failing[u] && !matches!(self.nodes[u].kind, Kind::Choice) {
                    failing[u] = true;
                    work.push(u);
                }
            }
        }
        let mut cut: Vec<String> = Vec::new();
        for &u in order {
            if !matches!(self.nodes[u].kind, Kind::Choice) || failing[u] {
                continue;
            }
            let (bad, good): (Vec<_>, Vec<_>) = self
                .edges
                .iter()
                .enumerate()
                .filter(|(_, e)| e.0 == u)
                .partition(|(_, e)| failing[e.1]);
            if bad.is_empty() {
                continue;
            }
            if good.is_empty() {
                failing[u] = true;
                continue;
            }
            let kept: f64 = good.iter().map(|(_, e)| e.2).sum();
            let bad_idx: HashSet<usize> = bad.iter().map(|(k, _)| *k).collect();
            let good_idx: HashSet<usize> = good.iter().map(|(k, _)| *k).collect();
            for (k, e) in self.edges.iter_mut().enumerate() {
                if good_idx.contains(&k) {
                    e.2 /= kept;
                }
            }
            let mut k = 0;
            self.edges.retain(|_| {
                let keep = !bad_idx.contains(&k);
                k += 1;
                keep
            });
            cut.push(format!("'{}'", self.nodes[u].state));
        }
        // A branch or body whose entry fails cannot be expressed.
        if let Some(&(u, v, _)) = self.edges.iter().find(|e| {
            failing[e.1]
                && !failing[e.0]
                && matches!(self.nodes[e.0].kind, Kind::Fork | Kind::MapNode)
        }) {
            let fail = order
                .iter()
                .find(|&&i| failing[i] && matches!(self.nodes[i].kind, Kind::Fail))
                .map(|&i| self.nodes[i].state.clone())
                .unwrap_or_default();
            let entry = &self.nodes[v].state;
            let st = &self.nodes[u].state;
            return err(
                self.declared.get(st).cloned().unwrap_or_default(),
                format!(
                    "every path of the branch of '{st}' that starts at '{entry}' ends in Fail state '{fail}', which ends the whole execution from inside the block; the model describes executions that succeed"
                ),
            );
        }
        if !cut.is_empty() {
            self.notes.push(format!(
                "Fail states inside Parallel or Map branches: the arms of Choice {} into them are left out (the model describes executions that succeed; the other arms share their probability)",
                cut.join(", ")
            ));
        }
        Ok(())
    }

    /// Gives every Task state after the first that invokes the same function a site of its own.
    fn sites(&mut self, order: &[usize]) -> Vec<Site> {
        let mut first: HashMap<String, usize> = HashMap::new();
        let mut sites = Vec::new();
        let mut taken: HashSet<String> = self
            .nodes
            .iter()
            .filter(|n| !matches!(n.kind, Kind::Task { .. }))
            .map(|n| n.id.clone())
            .chain(self.nodes.iter().filter_map(|n| match &n.kind {
                Kind::Task { function, .. } => Some(function.clone()),
                _ => None,
            }))
            .collect();
        let mut reused: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for &i in order {
            let Kind::Task { function, .. } = &self.nodes[i].kind else {
                continue;
            };
            let function = function.clone();
            if let Some(&f) = first.get(&function) {
                let state = self.nodes[i].state.clone();
                let mut id = state.clone();
                let mut k = 2;
                while taken.contains(&id) {
                    id = if k == 2 {
                        format!("{state} ({function})")
                    } else {
                        format!("{state} ({function}, {k})")
                    };
                    k += 1;
                }
                taken.insert(id.clone());
                self.nodes[i].id = id.clone();
                reused
                    .entry(function.clone())
                    .or_insert_with(|| vec![format!("'{}'", self.nodes[f].state)])
                    .push(format!("'{state}'"));
                sites.push(Site { id, function });
            } else {
                first.insert(function, i);
            }
        }
        for (f, states) in reused {
            self.notes.push(format!(
                "Lambda function '{f}' is invoked by states {}: one function (one memory and variant) with a site per state",
                states.join(", ")
            ));
        }
        sites
    }

    fn finish(mut self) -> Result<ImportedWorkflow, AslError> {
        self.catches_out_of_loops();
        let n = self.nodes.len();
        // Keep the states reachable from Start (the others are reached only through a Catch).
        let (order, seen) = self.reachable(&self.edges);
        let dropped: Vec<String> = (2..n)
            .filter(|&i| {
                !seen[i]
                    && !matches!(
                        self.nodes[i].kind,
                        Kind::Join | Kind::MapEnd | Kind::Callback
                    )
            })
            .map(|i| format!("'{}'", self.nodes[i].state))
            .collect();
        if !dropped.is_empty() {
            self.notes.push(format!(
                "left out (reached only through Catch): {}",
                dropped.join(", ")
            ));
        }
        self.fail_arms_in_blocks(&order)?;
        let (order, seen) = self.reachable(&self.edges);
        if !seen[self.end] {
            let looping: Vec<String> = order
                .iter()
                .filter(|&&i| i >= 2)
                .take(4)
                .map(|&i| format!("'{}'", self.nodes[i].state))
                .collect();
            return err(
                "$.StartAt",
                format!(
                    "no path from StartAt reaches the end of the state machine: every path through {} loops back (a loop needs a Choice arm or a Catch that leaves it)",
                    looping.join(", ")
                ),
            );
        }
        // A loop with no way out (its states reach the end only through the loop itself).
        let exits: Vec<usize> = (0..n)
            .filter(|&i| i == self.end || matches!(self.nodes[i].kind, Kind::Join | Kind::MapEnd))
            .collect();
        let can_end = self.reaching(&self.edges, &exits);
        if let Some(&stuck) = order.iter().find(|&&i| !can_end[i]) {
            let st = &self.nodes[stuck].state;
            return err(
                self.declared.get(st).cloned().unwrap_or_default(),
                format!(
                    "state '{st}' is in a loop that never leaves (no Choice arm or Catch leads out of it)"
                ),
            );
        }
        if !order
            .iter()
            .any(|&i| matches!(self.nodes[i].kind, Kind::Task { .. }))
        {
            return err(
                "$.States",
                "nothing to tune: no Lambda function is invoked on a path that succeeds (the Task states that invoke one are reached only through Catch)",
            );
        }
        let sites = self.sites(&order);
        // Edge map over reachable nodes, merging parallel duplicates from Choice arms.
        let mut g = Graph {
            out: vec![Vec::new(); n],
        };
        for &(u, v, p) in &self.edges {
            if seen[u] {
                // Entering a state is one billed transition (the edge into End stands for the
                // execution's last one); the join of a Parallel, the end of a Map body and a
                // callback's wait are not states.
                let t = match self.nodes[v].kind {
                    Kind::Join | Kind::MapEnd | Kind::Callback => 0.0,
                    _ => 1.0,
                };
                g.add(u, v, p, p < 1.0, t);
            }
        }
        // Fold the states the edge convention can express without a node.
        let map_nodes: HashSet<usize> = self.maps.iter().map(|m| m.node).collect();
        for pass in 0..2 {
            for &x in &order {
                let foldable = match self.nodes[x].kind {
                    Kind::Pass | Kind::Succeed | Kind::Fail => pass == 0,
                    Kind::Choice => pass == 0,
                    Kind::Join | Kind::MapEnd | Kind::Fork => pass == 1,
                    _ => false,
                };
                if foldable && x != self.start && !map_nodes.contains(&x) {
                    let join = matches!(self.nodes[x].kind, Kind::Join | Kind::MapEnd);
                    g.fold(x, join);
                }
            }
        }
        // Remaining nodes, in order.
        let kept: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| i == self.start || g.alive(i) || i == self.end)
            .collect();
        let mut ids_seen: HashMap<&str, &str> = HashMap::new();
        let mut functions = Vec::new();
        let mut states = Vec::new();
        let mut services = 0;
        for &i in &kept {
            if i == self.start || i == self.end {
                continue;
            }
            let node = &self.nodes[i];
            if let Some(other) = ids_seen.insert(&node.id, &node.state)
                && other != node.state
            {
                return err(
                    self.declared.get(&node.state).cloned().unwrap_or_default(),
                    format!(
                        "state '{}' and state '{other}' would both be node '{}' of the workflow; rename one",
                        node.state, node.id
                    ),
                );
            }
            match &node.kind {
                Kind::Task {
                    function, resource, ..
                } => {
                    if node.id == *function {
                        functions.push(TaskFunction {
                            id: function.clone(),
                            resource: resource.clone(),
                            state: node.state.clone(),
                        });
                    }
                }
                Kind::Service { resource, price } => {
                    services += 1;
                    states.push(StateNode {
                        resource: Some(resource.clone()),
                        price_per_request: *price,
                        ..StateNode::new(node.id.clone(), StateKind::Service, 0.0)
                    });
                }
                k => states.push(StateNode::new(
                    node.id.clone(),
                    match k {
                        Kind::Wait { .. } => StateKind::Wait,
                        Kind::Choice => StateKind::Choice,
                        Kind::Fork => StateKind::Parallel,
                        Kind::MapNode => StateKind::Map,
                        Kind::Callback => StateKind::Callback,
                        Kind::Join | Kind::MapEnd => StateKind::Join,
                        _ => StateKind::Pass,
                    },
                    match k {
                        Kind::Wait { delay_ms } => *delay_ms,
                        _ => 0.0,
                    },
                )),
            }
        }
        if services > 0 {
            self.notes.push(format!(
                "{services} Task state{} calling other services than Lambda {} timed state{}: 0 ms until `workflow measure` reads {} from executions (or give delay_ms); the calls with a price per request are billed",
                if services == 1 { "" } else { "s" },
                if services == 1 { "is a" } else { "are" },
                if services == 1 { "" } else { "s" },
                if services == 1 { "its time" } else { "their times" },
            ));
        }
        let mut edges = Vec::new();
        for &u in &kept {
            for &(v, p, branch, t) in &g.out[u] {
                let mut e = Edge::new(self.nodes[u].id.clone(), self.nodes[v].id.clone(), p);
                if branch && p < 1.0 {
                    e = e.with_basis(ProbabilityBasis::Assumed);
                }
                if (t - 1.0).abs() > 1e-9 {
                    e.transitions = Some(t);
                }
                edges.push(e);
            }
        }
        // Map bodies: the kept nodes of each body (those between the Map node and its end).
        let mut maps = Vec::new();
        for m in &self.maps {
            if !seen[m.node] {
                continue;
            }
            let body = body_nodes(&self.edges, m.node, m.end, &seen);
            let body: Vec<String> = kept
                .iter()
                .filter(|i| body.contains(i) && g.alive(**i))
                .map(|&i| self.nodes[i].id.clone())
                .collect();
            if body.is_empty() {
                self.notes.push(format!(
                    "Map state '{}' runs no Task: its items take no time in the model",
                    self.nodes[m.node].state
                ));
                continue;
            }
            maps.push(MapBlock {
                state: self.nodes[m.node].id.clone(),
                body,
                items: m.items,
                max_concurrency: m.max_concurrency,
                measured_runs: None,
                mode: m.mode,
                child_execution: m.child_execution,
                batch_items: m.batch_items,
            });
        }
        let used: HashSet<&str> = edges
            .iter()
            .flat_map(|e| [e.from.as_str(), e.to.as_str()])
            .collect();
        let sites: Vec<Site> = sites
            .into_iter()
            .filter(|s| used.contains(s.id.as_str()))
            .collect();
        let workflow = WorkflowSpec {
            edges,
            orchestration: Delays::step_functions_measured(),
            states,
            maps,
            sites,
            latency_model: None,
        };
        // The structure must reduce (it does not depend on the probabilities): refuse here, with
        // the states named, what the bundle could never evaluate.
        let ids: Vec<String> = functions.iter().map(|f| f.id.clone()).collect();
        if let Err(e) = crate::workflow::Workflow::build_with_sites(
            &ids,
            &workflow.states,
            &workflow.sites,
            &workflow.maps,
            &workflow.edges,
        ) {
            let mut message = e.to_string();
            for &i in &kept {
                let node = &self.nodes[i];
                if node.id != node.state && i != self.start && i != self.end {
                    message = message.replace(
                        &format!("'{}'", node.id),
                        &format!("'{}' (state '{}')", node.id, node.state),
                    );
                }
            }
            return err(
                "$.States",
                format!("the workflow of these states cannot be evaluated: {message}"),
            );
        }
        Ok(ImportedWorkflow {
            functions,
            workflow,
            notes: self.notes,
        })
    }
}

/// The nodes reachable from `m` without passing `end` (the Map's iteration body), over the
/// original edges.
fn body_nodes(
    edges: &[(usize, usize, f64)],
    m: usize,
    end: usize,
    seen: &[bool],
) -> HashSet<usize> {
    let mut body = HashSet::new();
    let mut stack = vec![m];
    while let Some(u) = stack.pop() {
        for &(a, b, _) in edges {
            if a == u && b != end && b != m && seen.get(b) == Some(&true) && body.insert(b) {
                stack.push(b);
            }
        }
    }
    body
}

/// The import's working graph: out-edges `(to, probability, from a Choice, billed transitions)`
/// per node. Folding a state into its edges adds its transitions to theirs.
struct Graph {
    out: Vec<Vec<(usize, f64, bool, f64)>>,
}

impl Graph {
    fn alive(&self, x: usize) -> bool {
        !self.out[x].is_empty()
    }

    fn add(&mut self, u: usize, v: usize, p: f64, branch: bool, t: f64) {
        if let Some(e) = self.out[u].iter_mut().find(|e| e.0 == v) {
            // Two ways from u to v merge: the transitions they bill, weighted by probability.
            e.3 = (e.1 * e.3 + p * t) / (e.1 + p);
            e.1 = (e.1 + p).min(1.0);
            e.2 = e.2 && branch && e.1 < 1.0;
        } else {
            self.out[u].push((v, p, branch, t));
        }
    }

    fn preds(&self, x: usize) -> Vec<(usize, f64, f64)> {
        let mut v = Vec::new();
        for (u, outs) in self.out.iter().enumerate() {
            for &(to, p, _, t) in outs {
                if to == x {
                    v.push((u, p, t));
                }
            }
        }
        v
    }

    /// Replaces node `x` by edges from its predecessors to its successors when the edge convention
    /// keeps the meaning; otherwise leaves it (it becomes a state node).
    fn fold(&mut self, x: usize, single_out_only: bool) {
        let outs = self.out[x].clone();
        if outs.is_empty() || outs.iter().any(|&(v, _, _, _)| v == x) {
            return;
        }
        let preds = self.preds(x);
        if preds.is_empty() || preds.iter().any(|&(u, _, _)| u == x) {
            return;
        }
        let fork = outs.len() > 1 && outs.iter().any(|&(_, p, _, _)| p >= 1.0);
        if single_out_only && !(outs.len() == 1 && outs[0].1 >= 1.0) {
            return;
        }
        let branching = outs.iter().any(|&(_, p, _, _)| p < 1.0);
        for &(u, p, _) in &preds {
            let u_out = &self.out[u];
            let u_parallel = u_out.iter().filter(|e| e.1 >= 1.0).count();
            let u_branch = u_out.iter().any(|e| e.1 < 1.0);
            if fork {
                // A fork moves into its predecessor only if that is its only predecessor and goes
                // nowhere else.
                if preds.len() > 1 || p < 1.0 || u_out.len() > 1 {
                    return;
                }
            }
            if branching && p >= 1.0 && u_branch {
                // `u` would get a second branch group.
                return;
            }
            if branching && p >= 1.0 && u_parallel > 1 && outs.iter().any(|e| e.1 >= 1.0) {
                return;
            }
            for &(v, q, _, _) in &outs {
                if let Some(e) = u_out.iter().find(|e| e.0 == v) {
                    // Merging a parallel edge with a branch edge, or two parallel edges, changes
                    // the meaning.
                    if e.1 >= 1.0 || p * q >= 1.0 || v == u {
                        return;
                    }
                }
                if v == u && p * q >= 1.0 {
                    return;
                }
            }
            if p < 1.0 && outs.iter().filter(|e| e.1 >= 1.0).count() > 1 {
                // A branch arm into a fork: the fan-out needs its own node.
                return;
            }
        }
        // Billed transitions: a fork is entered once and fans out to its arms, so its arms share
        // the transition into it; a join is left once, so the arms arriving at it share the
        // transition out of it.
        let share_in = if fork {
            outs.iter().filter(|e| e.1 >= 1.0).count().max(1) as f64
        } else {
            1.0
        };
        let share_out = if single_out_only {
            preds.iter().map(|e| e.1).sum::<f64>().max(1.0)
        } else {
            1.0
        };
        for (u, p, t) in preds {
            self.out[u].retain(|e| e.0 != x);
            for &(v, q, b, tq) in &outs {
                self.add(u, v, p * q, b || p < 1.0, t / share_in + tq / share_out);
            }
        }
        self.out[x].clear();
    }
}

impl fmt::Display for TaskFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (state '{}', {})", self.id, self.state, self.resource)
    }
}

/// Builds a bundle from an imported workflow. With `base` (a profiled bundle), each function takes
/// `base`'s function of the same id (the Lambda function name), or the one whose `resource`
/// names the same Lambda function; pricing, accuracy score (when it reads only imported
/// functions) and deployed configuration come from `base` too, and every function must be found
/// there. Without `base` the bundle is a skeleton:
/// its functions have no variants yet, which `validate` reports until they are profiled.
/// `step_functions` sets the orchestration pricing (by default `base`'s, else Standard).
pub fn bundle_from_import(
    imported: &ImportedWorkflow,
    base: Option<&crate::bundle::Bundle>,
    step_functions: Option<crate::pricing::StepFunctionsPricing>,
    source: &str,
) -> Result<crate::bundle::Bundle, String> {
    use crate::bundle::{Bundle, Function, MemoryOptions, MemoryRange, Provenance, SCHEMA_V1};
    use crate::pricing::{Pricing, StepFunctionsPricing};

    let mut functions = Vec::with_capacity(imported.functions.len());
    let mut missing = Vec::new();
    for t in &imported.functions {
        let found = base.and_then(|b| {
            b.functions.iter().find(|f| f.id == t.id).or_else(|| {
                b.functions.iter().find(|f| {
                    f.resource
                        .as_deref()
                        .and_then(lambda_function_name)
                        .is_some_and(|n| n == t.id)
                })
            })
        });
        match (found, base) {
            (Some(f), _) => functions.push(Function {
                id: t.id.clone(),
                resource: Some(f.resource.clone().unwrap_or_else(|| t.resource.clone())),
                ..f.clone()
            }),
            (None, Some(_)) => missing.push(format!("'{}' (state '{}')", t.id, t.state)),
            (None, None) => functions.push(Function {
                id: t.id.clone(),
                resource: Some(t.resource.clone()),
                memory: MemoryOptions::Range(MemoryRange {
                    min_mb: crate::bundle::LAMBDA_MIN_MEMORY_MB,
                    max_mb: crate::bundle::LAMBDA_MAX_MEMORY_MB,
                    step_mb: 64,
                }),
                variants: Vec::new(),
                package: None,
                provisioned_concurrency: None,
                state_machine: None,
            }),
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "the functions bundle has no profile for {} (functions are matched by id or by the Lambda function their resource names)",
            missing.join(", ")
        ));
    }
    let mut pricing = base.map_or_else(Pricing::default, |b| b.pricing.clone());
    pricing.step_functions = step_functions
        .or(pricing.step_functions)
        .or(Some(StepFunctionsPricing::standard()));
    let ids: HashSet<String> = functions.iter().map(|f| f.id.clone()).collect();
    let mut workflow = imported.workflow.clone();
    // A base bundle's delays when it has some (measured, or given); else the measured default.
    if let Some(b) = base
        && b.workflow.orchestration != Delays::default()
    {
        workflow.orchestration = b.workflow.orchestration;
    }
    Ok(Bundle {
        schema: SCHEMA_V1.to_string(),
        name: base.and_then(|b| b.name.clone()),
        description: base.and_then(|b| b.description.clone()),
        provenance: Provenance {
            tool: "optiserve".to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: None,
            region: base.and_then(|b| b.provenance.region.clone()),
            source: Some(source.to_string()),
        },
        pricing,
        functions,
        workflow,
        // The base's accuracy score, when it reads only imported functions (a base that
        // profiles more functions than the state machine invokes may score others).
        accuracy: base.and_then(|b| b.accuracy.clone()).filter(|a| {
            let ids: Vec<&str> = imported.functions.iter().map(|f| f.id.as_str()).collect();
            a.score.compile(&ids).is_ok()
        }),
        deployed: base.map_or_else(BTreeMap::new, |b| {
            b.deployed
                .iter()
                .filter(|(k, _)| ids.contains(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        workload: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bundle;

    fn import(text: &str) -> Result<ImportedWorkflow, AslError> {
        import_asl(text, &AslOptions::default())
    }

    #[test]
    fn function_names_come_from_arns_partial_arns_and_names() {
        for (s, want) in [
            (
                "arn:aws:lambda:us-east-1:123456789012:function:resize",
                Some("resize"),
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:resize:prod",
                Some("resize"),
            ),
            ("123456789012:function:resize", Some("resize")),
            ("resize", Some("resize")),
            ("resize:3", Some("resize")),
            ("arn:aws:sns:us-east-1:123456789012:topic", None),
            ("", None),
        ] {
            assert_eq!(lambda_function_name(s).as_deref(), want, "{s}");
        }
    }

    #[test]
    fn the_media_pipeline_state_machine_imports_to_the_example_bundle_structure() {
        let text = include_str!("../../examples/media-pipeline.asl.json");
        let imported = import(text).unwrap();
        let base =
            Bundle::from_json(include_str!("../../examples/media-pipeline.bundle.json")).unwrap();
        let mut bundle = bundle_from_import(&imported, Some(&base), None, "test").unwrap();
        // Same edges, up to the probabilities, which start uniform and assumed.
        let key = |e: &Edge| (e.from.clone(), e.to.clone());
        let mut got: Vec<_> = bundle.workflow.edges.iter().map(key).collect();
        let mut want: Vec<_> = base.workflow.edges.iter().map(key).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert!(bundle.workflow.states.is_empty() && bundle.workflow.maps.is_empty());
        let merge_detect = bundle
            .workflow
            .edges
            .iter()
            .find(|e| e.from == "merge" && e.to == "detect")
            .unwrap();
        assert_eq!(merge_detect.probability, 0.5);
        assert_eq!(merge_detect.basis, Some(ProbabilityBasis::Assumed));
        // The states folded into an edge are billed with it: merge → (Choice) → detect is two
        // transitions, publish → (Choice) → (Succeed) → End three; the fork of the Parallel is
        // shared by its two arms, its join by the two arms arriving at it.
        let transitions = |from: &str, to: &str| {
            bundle
                .workflow
                .edges
                .iter()
                .find(|e| e.from == from && e.to == to)
                .unwrap()
                .transitions
        };
        assert_eq!(transitions("merge", "detect"), Some(2.0));
        assert_eq!(transitions("publish", "End"), Some(3.0));
        assert_eq!(transitions("ingest", "classify"), Some(1.5));
        assert_eq!(transitions("classify", "merge"), Some(0.5));
        assert_eq!(transitions("detect", "review"), None);
        // With the example's probabilities the reduced structure is the example's.
        for e in &mut bundle.workflow.edges {
            e.probability = base
                .workflow
                .edges
                .iter()
                .find(|b| b.from == e.from && b.to == e.to)
                .unwrap()
                .probability;
        }
        let a = bundle.validate().unwrap();
        let b = base.validate().unwrap();
        assert_eq!(
            a.workflow.display_structure().to_string(),
            b.workflow.display_structure().to_string()
        );
        assert!(
            imported
                .notes
                .iter()
                .any(|n| n.contains("Retry on 'Ingest'"))
        );
        assert!(imported.notes.iter().any(|n| n.contains("'ReviewFailed'")));
    }
}
