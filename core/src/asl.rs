//! Import of an Amazon States Language (ASL) definition — a Step Functions state machine — into the
//! workflow part of a bundle (thesis §5.1).
//!
//! The states become a graph in the thesis artifact's edge convention:
//!
//! * a **Task** that invokes Lambda (`Resource` a Lambda function ARN, or
//!   `arn:aws:states:::lambda:invoke` with `Parameters.FunctionName` / `Arguments.FunctionName`)
//!   is a function, named by its Lambda function name (so that profiles merge by name);
//! * a **Choice** is a branch: its rules and `Default` share the probability uniformly (nested
//!   Choices split their share again), each such edge marked `"basis": {"source": "assumed"}` until
//!   `optiserve workflow measure` replaces it; an arm back to an earlier state closes a cycle, an
//!   arm back to the same Task a self-loop;
//! * a **Parallel** is a parallel block (its branches' first states fan out from the state before
//!   it, its branches' last states join at the state after it);
//! * a **Map** is a state node followed by its iteration body, run over an expected number of
//!   items at most `MaxConcurrency` at a time (a [`MapBlock`]; the analytic model is documented
//!   there);
//! * **Pass** and **Succeed** take no time and are folded into the edges; a **Wait** is a state node
//!   with its `Seconds` as a fixed delay; a **Fail** ends the execution (it is refused inside a
//!   Parallel or Map branch, where it would end the whole execution from inside a block).
//! * **Retry** is ignored (the model counts one successful attempt) and **Catch** paths are left
//!   out (errors are assumed not to happen); states reached only through a Catch are left out of
//!   the workflow. Both are reported in [`ImportedWorkflow::notes`].
//!
//! Choice, Pass, Succeed and the fork and join of a Parallel are folded into the edges wherever
//! the edge convention can say the same thing; where it cannot (a Parallel entered from a Choice
//! arm, two Parallel states in a row, …) the state stays in the graph as a zero-delay
//! [`StateNode`], which adds its orchestration delays and transitions like the real state does.
//!
//! Everything refused is refused with an [`AslError`] that names the state and its JSON path
//! (`$.States.Resize.Resource`, `$.States.Fanout.Branches[1].States.Thumb.Next`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use crate::bundle::WorkflowSpec;
use crate::workflow::{Delays, END, Edge, MapBlock, ProbabilityBasis, START, StateKind, StateNode};

/// Expected Map items when nothing else is known (marked as assumed in the notes).
pub const DEFAULT_MAP_ITEMS: f64 = 10.0;
/// Most states a definition may hold (Step Functions' own limit on definition size is far lower).
pub const MAX_STATES: usize = 10_000;
/// Deepest nesting of Parallel and Map states accepted.
pub const MAX_DEPTH: usize = 64;

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
}

impl AslError {
    /// The JSON path of the error, if it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            AslError::Invalid { path, .. } => Some(path),
            AslError::Syntax { .. } => None,
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
    /// Expected items per Map state, by state name; others get [`DEFAULT_MAP_ITEMS`].
    pub map_items: BTreeMap<String, f64>,
}

/// A Lambda function invoked by a Task state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFunction {
    /// Function id in the workflow: the Lambda function's name.
    pub id: String,
    /// The function as the definition names it (ARN or name, with any qualifier).
    pub resource: String,
    /// The Task state's name.
    pub state: String,
}

/// The result of an import: the functions, the workflow, and what was approximated.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedWorkflow {
    /// The Lambda functions, in the order the states are first reached from `StartAt`.
    pub functions: Vec<TaskFunction>,
    /// Edges (Choice probabilities uniform and marked assumed), state nodes, Map blocks; the
    /// orchestration delays are Step Functions' measured overhead
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
    },
    Choice,
    Pass,
    Wait {
        delay_ms: f64,
    },
    Succeed,
    Fail,
    /// A Parallel's fork; its join is a separate node.
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
}

struct Builder<'a> {
    nodes: Vec<Node>,
    /// (from, to, probability); probabilities of parallel edges are 1.
    edges: Vec<(usize, usize, f64)>,
    /// State name → where it is declared, for uniqueness.
    declared: HashMap<String, String>,
    maps: Vec<(usize, usize, f64, u32)>,
    notes: Vec<String>,
    options: &'a AslOptions,
    start: usize,
    end: usize,
}

/// Imports an ASL definition (JSON text).
pub fn import_asl(text: &str, options: &AslOptions) -> Result<ImportedWorkflow, AslError> {
    let root: Value = serde_json::from_str(text).map_err(|e| AslError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
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
        declared: HashMap::new(),
        maps: Vec::new(),
        notes: Vec::new(),
        options,
        start: 0,
        end: 1,
    };
    let entry = b.scope(&root, "$", 1, None)?;
    b.edges.push((b.start, entry, 1.0));
    b.finish()
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

impl Builder<'_> {
    fn add(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Reads one state machine (top level or a branch) and wires its states; returns the node its
    /// `StartAt` is. `exit` is where `End` and `Succeed` lead (End at the top level, the join of
    /// the enclosing Parallel or Map otherwise).
    fn scope(
        &mut self,
        v: &Value,
        path: &str,
        depth: usize,
        exit: Option<usize>,
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
        };
        for (name, sv) in states {
            let at = format!("{states_path}.{name}");
            if self.nodes.len() > MAX_STATES {
                return err(
                    at,
                    format!("the definition has more than {MAX_STATES} states"),
                );
            }
            if let Some(first) = self.declared.get(name) {
                return err(
                    at,
                    format!(
                        "state name '{name}' is also used at {first}; state names must be unique in the whole state machine"
                    ),
                );
            }
            self.declared.insert(name.clone(), at.clone());
            let so = object(sv, &at, &format!("state '{name}'"))?;
            let ty = match string(so, "Type", &at, name)? {
                Some(t) => t,
                None => return err(at, format!("state '{name}' has no Type")),
            };
            let kind = match ty {
                "Task" => self.task(so, &at, name)?,
                "Choice" => Kind::Choice,
                "Pass" => Kind::Pass,
                "Wait" => self.wait(so, &at, name)?,
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
            scope.names.insert(name.clone(), node);
        }
        let Some(&entry) = scope.names.get(&start_at) else {
            return err(
                format!("{path}.StartAt"),
                format!("StartAt names '{start_at}', which is not a state of {states_path}"),
            );
        };
        // Second pass: edges.
        for (name, sv) in states {
            let at = format!("{states_path}.{name}");
            let node = scope.names[name];
            let so = object(sv, &at, "a state")?;
            self.wire(node, so, &at, name, &scope, exit, depth)?;
        }
        Ok(entry)
    }

    fn task(
        &mut self,
        so: &serde_json::Map<String, Value>,
        at: &str,
        name: &str,
    ) -> Result<Kind, AslError> {
        let resource = match string(so, "Resource", at, name)? {
            Some(r) => r,
            None => return err(at, format!("Task state '{name}' has no Resource")),
        };
        let target = if resource.starts_with("arn:aws:lambda:") {
            resource.to_string()
        } else if let Some(rest) = resource.strip_prefix("arn:aws:states:::lambda:invoke") {
            if !rest.is_empty() {
                return err(
                    format!("{at}.Resource"),
                    format!(
                        "Task state '{name}' uses the '{rest}' integration pattern: its time is not the Lambda function's (only the request-response lambda:invoke is modelled)"
                    ),
                );
            }
            let mut found = None;
            for key in ["Parameters", "Arguments"] {
                if let Some(p) = so.get(key) {
                    let po = object(p, &format!("{at}.{key}"), key)?;
                    if po.contains_key("FunctionName.$") {
                        return err(
                            format!("{at}.{key}.FunctionName.$"),
                            format!(
                                "Task state '{name}' chooses its function at run time; the model needs a fixed function"
                            ),
                        );
                    }
                    match po.get("FunctionName") {
                        Some(Value::String(f)) if !f.starts_with("{%") => found = Some(f.clone()),
                        Some(Value::String(_)) => {
                            return err(
                                format!("{at}.{key}.FunctionName"),
                                format!(
                                    "Task state '{name}' computes its function name with JSONata at run time; the model needs a fixed function"
                                ),
                            );
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
            match found {
                Some(f) => f,
                None => {
                    return err(
                        at,
                        format!(
                            "Task state '{name}' invokes lambda:invoke without Parameters.FunctionName"
                        ),
                    );
                }
            }
        } else {
            return err(
                format!("{at}.Resource"),
                format!(
                    "Task state '{name}' calls '{resource}', which is not a Lambda function; only Lambda tasks can be modelled"
                ),
            );
        };
        let Some(function) = lambda_function_name(&target) else {
            return err(
                at,
                format!("Task state '{name}': '{target}' is not a Lambda function name or ARN"),
            );
        };
        if let Some(other) = self
            .nodes
            .iter()
            .find(|n| matches!(&n.kind, Kind::Task { function: f, .. } if *f == function))
        {
            return err(
                at,
                format!(
                    "Task states '{}' and '{name}' both invoke Lambda function '{function}'; the model places and configures each function once (make it one state, or deploy two functions)",
                    other.state
                ),
            );
        }
        Ok(Kind::Task {
            function,
            resource: target,
        })
    }

    fn wait(
        &mut self,
        so: &serde_json::Map<String, Value>,
        at: &str,
        name: &str,
    ) -> Result<Kind, AslError> {
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
            Some(_) => err(
                format!("{at}.Seconds"),
                format!(
                    "Wait state '{name}': Seconds must be a number (a JSONata expression is chosen at run time)"
                ),
            ),
            None => {
                let how = ["SecondsPath", "Timestamp", "TimestampPath"]
                    .into_iter()
                    .find(|k| so.contains_key(*k));
                match how {
                    Some(k) => {
                        self.notes.push(format!(
                            "Wait state '{name}' waits for a time chosen at run time ({k}): its delay is 0 ms in the model until `workflow measure` reads it from executions"
                        ));
                        Ok(Kind::Wait { delay_ms: 0.0 })
                    }
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
                    "state '{name}' goes to '{t}', which is not a state of {}",
                    scope.path
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
    ) -> Result<(), AslError> {
        let kind = self.nodes[node].kind.clone();
        match kind {
            Kind::Task { .. } => {
                self.retry_catch(so, at, name, scope)?;
                let n = self.next(so, at, name, scope, exit)?;
                self.edges.push((node, n, 1.0));
            }
            Kind::Pass | Kind::Wait { .. } => {
                let n = self.next(so, at, name, scope, exit)?;
                self.edges.push((node, n, 1.0));
            }
            Kind::Succeed => self.edges.push((node, exit, 1.0)),
            Kind::Fail => {
                if self.nodes[node].nested {
                    // Refused only if reached; see `finish`.
                }
                self.edges.push((node, self.end, 1.0));
            }
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
                self.retry_catch(so, at, name, scope)?;
                let join = self.add(Node {
                    id: format!("{name} (join)"),
                    state: name.to_string(),
                    kind: Kind::Join,
                    nested: self.nodes[node].nested,
                });
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
                    let entry =
                        self.scope(br, &format!("{at}.Branches[{k}]"), depth + 1, Some(join))?;
                    self.edges.push((node, entry, 1.0));
                }
                let n = self.next(so, at, name, scope, exit)?;
                self.edges.push((join, n, 1.0));
            }
            Kind::MapNode => {
                self.retry_catch(so, at, name, scope)?;
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
                if let Some(mode) = body
                    .get("ProcessorConfig")
                    .and_then(|c| c.get("Mode"))
                    .and_then(Value::as_str)
                    && mode != "INLINE"
                {
                    return err(
                        format!("{bat}.ProcessorConfig.Mode"),
                        format!(
                            "Map state '{name}' is a {mode} Map (child executions); only INLINE Maps are modelled"
                        ),
                    );
                }
                let concurrency = match so.get("MaxConcurrency") {
                    None => {
                        if so.contains_key("MaxConcurrencyPath") {
                            self.notes.push(format!(
                                "Map state '{name}' sets its concurrency at run time (MaxConcurrencyPath): the model runs its items without a limit"
                            ));
                        }
                        0
                    }
                    Some(Value::Number(c)) => {
                        match c.as_u64().and_then(|c| u32::try_from(c).ok()) {
                            Some(c) => c,
                            None => {
                                return err(
                                    format!("{at}.MaxConcurrency"),
                                    format!(
                                        "Map state '{name}': MaxConcurrency must be a whole number ≥ 0"
                                    ),
                                );
                            }
                        }
                    }
                    Some(_) => {
                        return err(
                            format!("{at}.MaxConcurrency"),
                            format!(
                                "Map state '{name}': MaxConcurrency must be a whole number ≥ 0"
                            ),
                        );
                    }
                };
                let items = match self.options.map_items.get(name) {
                    Some(&i) => i,
                    None => {
                        self.notes.push(format!(
                            "Map state '{name}': {DEFAULT_MAP_ITEMS} items per run assumed (measure sets the mean from executions)"
                        ));
                        DEFAULT_MAP_ITEMS
                    }
                };
                if !(items.is_finite() && items >= 1.0) {
                    return err(
                        at,
                        format!(
                            "Map state '{name}': the expected item count must be ≥ 1, found {items}"
                        ),
                    );
                }
                let map_end = self.add(Node {
                    id: format!("{name} (end)"),
                    state: name.to_string(),
                    kind: Kind::MapEnd,
                    nested: self.nodes[node].nested,
                });
                let entry = self.scope(body, &bat, depth + 1, Some(map_end))?;
                self.edges.push((node, entry, 1.0));
                let n = self.next(so, at, name, scope, exit)?;
                self.edges.push((map_end, n, 1.0));
                self.maps.push((node, map_end, items, concurrency));
            }
            Kind::Join | Kind::MapEnd => {}
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ImportedWorkflow, AslError> {
        let n = self.nodes.len();
        // Keep the states reachable from Start (the others are reached only through a Catch).
        let mut order = Vec::new();
        let mut seen = vec![false; n];
        let mut stack = vec![self.start];
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(u, v, _) in &self.edges {
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
        let dropped: Vec<String> = (2..n)
            .filter(|&i| !seen[i] && !matches!(self.nodes[i].kind, Kind::Join | Kind::MapEnd))
            .map(|i| format!("'{}'", self.nodes[i].state))
            .collect();
        if !dropped.is_empty() {
            self.notes.push(format!(
                "left out (reached only through Catch): {}",
                dropped.join(", ")
            ));
        }
        if let Some(f) = order
            .iter()
            .find(|&&i| matches!(self.nodes[i].kind, Kind::Fail) && self.nodes[i].nested)
        {
            let st = &self.nodes[*f].state;
            return err(
                self.declared.get(st).cloned().unwrap_or_default(),
                format!(
                    "Fail state '{st}' inside a Parallel or Map branch ends the whole execution from inside a block; the model cannot express it"
                ),
            );
        }
        if !seen[self.end] {
            return err(
                "$.StartAt",
                "no path from StartAt reaches the end of the state machine (every path loops back): a loop needs a Choice arm that leaves it",
            );
        }
        if !order
            .iter()
            .any(|&i| matches!(self.nodes[i].kind, Kind::Task { .. }))
        {
            return err("$.States", "the state machine invokes no Lambda function");
        }
        // Edge map over reachable nodes, merging parallel duplicates from Choice arms.
        let mut g = Graph {
            out: vec![Vec::new(); n],
        };
        for &(u, v, p) in &self.edges {
            if seen[u] {
                // Entering a state is one billed transition (the edge into End stands for the
                // execution's last one); the join of a Parallel and the end of a Map body are
                // not states.
                let t = match self.nodes[v].kind {
                    Kind::Join | Kind::MapEnd => 0.0,
                    _ => 1.0,
                };
                g.add(u, v, p, p < 1.0, t);
            }
        }
        // Fold the states the edge convention can express without a node.
        let map_nodes: HashSet<usize> = self.maps.iter().map(|m| m.0).collect();
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
                Kind::Task { function, resource } => functions.push(TaskFunction {
                    id: function.clone(),
                    resource: resource.clone(),
                    state: node.state.clone(),
                }),
                k => states.push(StateNode {
                    id: node.id.clone(),
                    kind: match k {
                        Kind::Wait { .. } => StateKind::Wait,
                        Kind::Choice => StateKind::Choice,
                        Kind::Fork => StateKind::Parallel,
                        Kind::MapNode => StateKind::Map,
                        Kind::Join | Kind::MapEnd => StateKind::Join,
                        _ => StateKind::Pass,
                    },
                    delay_ms: match k {
                        Kind::Wait { delay_ms } => *delay_ms,
                        _ => 0.0,
                    },
                }),
            }
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
        for &(m, end, items, max_concurrency) in &self.maps {
            if !seen[m] {
                continue;
            }
            let body = body_nodes(&self.edges, m, end, &seen);
            let body: Vec<String> = kept
                .iter()
                .filter(|i| body.contains(i) && g.alive(**i))
                .map(|&i| self.nodes[i].id.clone())
                .collect();
            maps.push(MapBlock {
                state: self.nodes[m].id.clone(),
                body,
                items,
                max_concurrency,
                measured_runs: None,
            });
        }
        Ok(ImportedWorkflow {
            functions,
            workflow: WorkflowSpec {
                edges,
                orchestration: Delays::step_functions_measured(),
                states,
                maps,
                latency_model: None,
            },
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
/// names the same Lambda function; pricing, accuracy score and deployed configuration come from
/// `base` too, and every function must be found there. Without `base` the bundle is a skeleton:
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
        accuracy: base.and_then(|b| b.accuracy.clone()),
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
