//! Step Functions execution histories (the events `GetExecutionHistory` returns) measured against a
//! bundle's workflow (thesis §5.3): each branch edge's probability with the counts behind it, each
//! loop's iterations, the orchestration delays per state and per transition, and the measured
//! end-to-end latency that `validate` compares with the model.
//!
//! Pure: whoever fetched the histories (a file written by `aws stepfunctions
//! get-execution-history`, the SDK, the simulated cloud) hands over their JSON text or parsed
//! [`Execution`]s.
//!
//! **Reading.** A history is `{"events": [...]}` (the API's and the AWS CLI's output), a bare list of
//! events, or a list of either (several executions in one file). Each event needs `id`, `type` and
//! `timestamp` (epoch seconds as a number, as the API sends it, or an RFC 3339 string, as the AWS
//! CLI prints it); `previousEventId` and `stateEnteredEventDetails.name` /
//! `stateExitedEventDetails.name` are read where present, the Lambda function from
//! `lambdaFunctionScheduledEventDetails.resource` or `taskScheduledEventDetails.parameters`.
//!
//! **Mapping states to the model.** A state is a workflow node when its name is a node id (a state
//! node, or a function named like its state) or when its Task invokes a function of the bundle (by
//! the Lambda function name). Other states (Choice, Pass, Succeed, a folded Parallel) are
//! transparent: a transition of the model runs from a node's `…StateExited` through them, along
//! `previousEventId`, to the next node's `…StateEntered`, or to the execution's end.
//!
//! **What is measured.**
//! * Branches: for each node with a branch group (edges with p < 1), the successor taken after each
//!   of its exits; the probability of an edge is `taken / out_of`.
//! * Loops: the back edges and self-loops among them, with the mean number of times they are taken
//!   per execution.
//! * Service states (a Task calling anything but a fixed Lambda function: SDK and optimized
//!   integrations, activities, nested executions, `.sync` and `.waitForTaskToken` patterns): the
//!   call, `TaskScheduled` → `TaskSucceeded` (`ActivityScheduled` → `ActivitySucceeded`), which
//!   becomes the state's `delay_ms` with its observations as `samples_ms`; the time around the
//!   call counts in `state_ms` like a Lambda Task's.
//! * Callbacks (`lambda:invoke.waitForTaskToken`): the function runs `TaskStarted` →
//!   `TaskSubmitted` (the invocation returned), then the Task waits for its token until
//!   `TaskSucceeded`: that wait is the callback node's (less the `state_ms + transition_ms` the
//!   model charges every node), and the Task's transitions leave from the callback node.
//! * Sites: a Task state that is a site of a function is the site's node (its id is the state's
//!   name); loops whose exit is decided at their top (polling loops) are measured like any branch:
//!   the departures from the deciding node give the exit probability per iteration.
//! * Delays: per model transition, the time from the source's exit to the target's entry (the
//!   bundle's `transition_ms` is the mean between two states); per Task state, the time from its
//!   entry to its Lambda function's start plus from the function's end to the state's exit (the
//!   bundle's `state_ms` is their mean); the execution's start and end, the mean transition from
//!   its start plus the mean into its end less one `transition_ms` (the bundle's
//!   `start_end_ms`: the model charges every state its inbound transition, so a path of `n`
//!   states has `n − 1` transitions between states plus these two). Start and End are not
//!   states of a real execution and are not charged as such once measured.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::asl::lambda_function_name;
use crate::bundle::{Application, Bundle, ResolvedChoice};
use crate::pricing::EXECUTIONS_PER_QUOTE;
use crate::workflow::{END, ProbabilityBasis, START, StateKind};

/// A history that cannot be read or does not fit the bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
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
    /// JSON that is not a history, or a history the bundle cannot explain.
    #[error("{path}: {message}")]
    Invalid {
        /// JSON path (or execution and event id).
        path: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid<T>(path: impl Into<String>, message: impl Into<String>) -> Result<T, HistoryError> {
    Err(HistoryError::Invalid {
        path: path.into(),
        message: message.into(),
    })
}

/// One history event, the fields this module uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Event id (1, 2, … within an execution).
    pub id: i64,
    /// The id of the event this one follows, if given.
    pub previous: Option<i64>,
    /// Event type, e.g. `TaskStateEntered`.
    pub kind: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: f64,
    /// The state's name, on `…StateEntered` / `…StateExited` events.
    pub state: Option<String>,
    /// The Lambda function invoked, on `LambdaFunctionScheduled` / `TaskScheduled` events.
    pub function: Option<String>,
}

/// One execution's events, in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Where it came from (file and index), for messages.
    pub label: String,
    /// Events sorted by id.
    pub events: Vec<Event>,
}

impl Execution {
    /// End-to-end latency: `ExecutionStarted` to `ExecutionSucceeded` (`None` if it did not
    /// succeed).
    pub fn latency_ms(&self) -> Option<f64> {
        let start = self.events.iter().find(|e| e.kind == "ExecutionStarted")?;
        let end = self
            .events
            .iter()
            .find(|e| e.kind == "ExecutionSucceeded")?;
        Some(end.time_ms - start.time_ms)
    }
}

/// Reads the executions in one JSON document; `label` names the source in messages. An
/// execution whose events do not make a valid history refuses the whole document (see
/// [`parse_histories_skipping`] to leave such executions out instead).
pub fn parse_histories(text: &str, label: &str) -> Result<Vec<Execution>, HistoryError> {
    read_histories(text, label)?.into_iter().collect()
}

/// One execution left out by [`parse_histories_skipping`]: where it was and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The execution (file and index).
    pub label: String,
    /// What is wrong with it.
    pub error: HistoryError,
}

/// [`parse_histories`], leaving out the executions whose events are not a valid history (each
/// returned with the reason). A document that is not JSON or not a history is still an error.
pub fn parse_histories_skipping(
    text: &str,
    label: &str,
) -> Result<(Vec<Execution>, Vec<Skipped>), HistoryError> {
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for (k, r) in read_histories(text, label)?.into_iter().enumerate() {
        match r {
            Ok(e) => kept.push(e),
            Err(error) => skipped.push(Skipped {
                label: format!("{label}[{k}]"),
                error,
            }),
        }
    }
    Ok((kept, skipped))
}

/// Every execution of the document, each read or refused on its own.
fn read_histories(
    text: &str,
    label: &str,
) -> Result<Vec<Result<Execution, HistoryError>>, HistoryError> {
    let root: Value = serde_json::from_str(text).map_err(|e| HistoryError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let is_event = |v: &Value| v.get("type").is_some() && v.get("id").is_some();
    let mut out = Vec::new();
    match &root {
        Value::Object(o) if o.contains_key("events") => {
            out.push(execution(&root["events"], "$.events", label));
        }
        Value::Object(o) if o.contains_key("executions") => {
            let Some(list) = o["executions"].as_array() else {
                return invalid("$.executions", "must be a list of histories");
            };
            for (k, h) in list.iter().enumerate() {
                let events = h.get("events").unwrap_or(h);
                out.push(execution(
                    events,
                    &format!("$.executions[{k}]"),
                    &format!("{label}[{k}]"),
                ));
            }
        }
        Value::Array(list) if list.first().is_some_and(is_event) => {
            out.push(execution(&root, "$", label));
        }
        Value::Array(list) => {
            for (k, h) in list.iter().enumerate() {
                let events = h.get("events").unwrap_or(h);
                out.push(execution(
                    events,
                    &format!("$[{k}]"),
                    &format!("{label}[{k}]"),
                ));
            }
        }
        _ => {
            return invalid(
                "$",
                "expected a history: {\"events\": [...]} (GetExecutionHistory), a list of events, or a list of histories",
            );
        }
    }
    Ok(out)
}

/// The event types of `GetExecutionHistory` (the API reference's `HistoryEvent.type`), sorted.
const EVENT_TYPES: &[&str] = &[
    "ActivityFailed",
    "ActivityScheduleFailed",
    "ActivityScheduled",
    "ActivityStarted",
    "ActivitySucceeded",
    "ActivityTimedOut",
    "ChoiceStateEntered",
    "ChoiceStateExited",
    "EvaluationFailed",
    "ExecutionAborted",
    "ExecutionFailed",
    "ExecutionRedriven",
    "ExecutionStarted",
    "ExecutionSucceeded",
    "ExecutionTimedOut",
    "FailStateEntered",
    "LambdaFunctionFailed",
    "LambdaFunctionScheduleFailed",
    "LambdaFunctionScheduled",
    "LambdaFunctionStartFailed",
    "LambdaFunctionStarted",
    "LambdaFunctionSucceeded",
    "LambdaFunctionTimedOut",
    "MapIterationAborted",
    "MapIterationFailed",
    "MapIterationStarted",
    "MapIterationSucceeded",
    "MapRunAborted",
    "MapRunFailed",
    "MapRunRedriven",
    "MapRunStarted",
    "MapRunSucceeded",
    "MapStateAborted",
    "MapStateEntered",
    "MapStateExited",
    "MapStateFailed",
    "MapStateStarted",
    "MapStateSucceeded",
    "ParallelStateAborted",
    "ParallelStateEntered",
    "ParallelStateExited",
    "ParallelStateFailed",
    "ParallelStateStarted",
    "ParallelStateSucceeded",
    "PassStateEntered",
    "PassStateExited",
    "SucceedStateEntered",
    "SucceedStateExited",
    "TaskFailed",
    "TaskScheduled",
    "TaskStartFailed",
    "TaskStarted",
    "TaskStateAborted",
    "TaskStateEntered",
    "TaskStateExited",
    "TaskSubmitFailed",
    "TaskSubmitted",
    "TaskSucceeded",
    "TaskTimedOut",
    "WaitStateAborted",
    "WaitStateEntered",
    "WaitStateExited",
];

/// The events make one history: ids from 1 without repeats, each `previousEventId` an earlier
/// event (or 0), known types, and time that never runs backwards in id order.
fn check_events(events: &[Event], path: &str) -> Result<(), HistoryError> {
    let at = |e: &Event| format!("{path}, event id {}", e.id);
    for (k, e) in events.iter().enumerate() {
        if e.id < 1 {
            return invalid(at(e), "event ids start at 1");
        }
        if k > 0 && events[k - 1].id == e.id {
            return invalid(at(e), format!("event id {} appears twice", e.id));
        }
        if EVENT_TYPES.binary_search(&e.kind.as_str()).is_err() {
            return invalid(
                at(e),
                format!("'{}' is not a Step Functions history event type", e.kind),
            );
        }
        if let Some(p) = e.previous
            && (p < 0
                || p >= e.id
                || (p > 0 && events[..k].binary_search_by_key(&p, |x| x.id).is_err()))
        {
            return invalid(
                at(e),
                format!("previousEventId {p} is not an earlier event of this execution"),
            );
        }
        if k > 0 && e.time_ms < events[k - 1].time_ms {
            return invalid(
                at(e),
                format!(
                    "its timestamp is {} ms before that of event {}: time runs backwards",
                    crate::limits::approx(events[k - 1].time_ms - e.time_ms),
                    events[k - 1].id
                ),
            );
        }
    }
    Ok(())
}

fn execution(v: &Value, path: &str, label: &str) -> Result<Execution, HistoryError> {
    let Some(list) = v.as_array() else {
        return invalid(path, "the events must be a list");
    };
    let mut events = Vec::with_capacity(list.len());
    for (k, e) in list.iter().enumerate() {
        let at = format!("{path}[{k}]");
        let id = match e.get("id").and_then(Value::as_i64) {
            Some(id) => id,
            None => return invalid(format!("{at}.id"), "an event needs a whole-number id"),
        };
        let kind = match e.get("type").and_then(Value::as_str) {
            Some(t) => t.to_string(),
            None => return invalid(format!("{at}.type"), "an event needs a type (a string)"),
        };
        let time_ms = match e.get("timestamp") {
            Some(Value::Number(n)) => match n.as_f64() {
                Some(s) if s.is_finite() => s * 1000.0,
                _ => return invalid(format!("{at}.timestamp"), "not a finite number"),
            },
            Some(Value::String(s)) => match rfc3339_ms(s) {
                Some(t) => t,
                None => {
                    return invalid(
                        format!("{at}.timestamp"),
                        format!("'{s}' is not an RFC 3339 time (e.g. 2024-05-01T12:00:00.123Z)"),
                    );
                }
            },
            _ => {
                return invalid(
                    format!("{at}.timestamp"),
                    "an event needs a timestamp (epoch seconds or an RFC 3339 string)",
                );
            }
        };
        let previous = e.get("previousEventId").and_then(Value::as_i64);
        let state = ["stateEnteredEventDetails", "stateExitedEventDetails"]
            .iter()
            .find_map(|k| e.get(*k)?.get("name")?.as_str())
            .map(str::to_string);
        let function = e
            .get("lambdaFunctionScheduledEventDetails")
            .and_then(|d| d.get("resource")?.as_str())
            .and_then(lambda_function_name)
            .or_else(|| {
                let d = e.get("taskScheduledEventDetails")?;
                if d.get("resourceType")?.as_str()? != "lambda" {
                    return None;
                }
                let params: Value = serde_json::from_str(d.get("parameters")?.as_str()?).ok()?;
                lambda_function_name(params.get("FunctionName")?.as_str()?)
            });
        events.push(Event {
            id,
            previous,
            kind,
            time_ms,
            state,
            function,
        });
    }
    events.sort_by_key(|e| e.id);
    check_events(&events, path)?;
    if !events.iter().any(|e| e.kind == "ExecutionStarted") {
        return invalid(
            path,
            "the history has no ExecutionStarted event (is it complete?)",
        );
    }
    Ok(Execution {
        label: label.to_string(),
        events,
    })
}

/// Milliseconds since the epoch of an RFC 3339 time (`2024-05-01T12:00:00.123456+02:00`, `Z`).
pub fn rfc3339_ms(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0.0;
    if b.get(i) == Some(&b'.') {
        let startf = i + 1;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == startf {
            return None;
        }
        frac = format!("0.{}", &s[startf..i]).parse().ok()?;
    }
    let offset_min = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && &tz[3..4] == ":" => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (oh * 60 + om)
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_min * 60;
    Some((secs as f64 + frac) * 1000.0)
}

/// Counts behind one edge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeCount {
    /// Source node.
    pub from: String,
    /// Target node.
    pub to: String,
    /// Times taken.
    pub taken: u64,
    /// Departures from `from` counted.
    pub out_of: u64,
    /// `taken / out_of`.
    pub probability: f64,
    /// The probability the bundle held before.
    pub previous_probability: f64,
    /// A back edge or self-loop.
    pub loop_edge: bool,
    /// Mean times taken per execution (loop iterations, for a loop edge).
    pub per_execution: f64,
}

/// Mean of a delay with its count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DelayStat {
    /// Mean, ms.
    pub mean_ms: f64,
    /// Observations.
    pub count: u64,
}

/// What the histories say about the workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// Executions read.
    pub executions: u64,
    /// Executions that succeeded (only those are measured).
    pub succeeded: u64,
    /// Every edge out of a node with a branch group, with its counts.
    pub edges: Vec<EdgeCount>,
    /// Per Task state: entry to the Lambda function's start plus its end to the state's exit.
    pub state_delays: BTreeMap<String, DelayStat>,
    /// Per model transition `from → to`: the source's exit to the target's entry.
    pub transition_delays: BTreeMap<String, DelayStat>,
    /// Mean of `state_delays` over every observation (the bundle's `state_ms`).
    pub state_ms: Option<DelayStat>,
    /// Mean of `transition_delays` between two states (the bundle's `transition_ms`; over every
    /// transition when no execution has two states in a row).
    pub transition_ms: Option<DelayStat>,
    /// The execution's start and end: the mean transition from its start plus the mean into its
    /// end, less one `transition_ms` (the model charges each state's inbound transition with the
    /// state); the bundle's `start_end_ms`. Its count is the executions.
    pub start_end_ms: Option<DelayStat>,
    /// Per Map node: mean items per run, and runs.
    pub map_items: BTreeMap<String, DelayStat>,
    /// Per Wait state: its entry to its exit (the time waited, however the state says how long:
    /// `Seconds`, `SecondsPath`, `Timestamp` or `TimestampPath`).
    pub waits: BTreeMap<String, DelayStat>,
    /// Per service state (a Task calling anything but a fixed Lambda function): its call,
    /// `TaskScheduled` → `TaskSucceeded` (`ActivityScheduled` → `ActivitySucceeded` for an
    /// activity).
    pub services: BTreeMap<String, DelayStat>,
    /// Per callback node (a `lambda:invoke.waitForTaskToken` Task): the wait for its task token
    /// after its function returned, `TaskSubmitted` → `TaskSucceeded`.
    pub callbacks: BTreeMap<String, DelayStat>,
    /// Every observed time of each service state, ms (for its `samples_ms`).
    #[serde(skip)]
    pub service_times: BTreeMap<String, Vec<f64>>,
    /// End-to-end latency of the succeeded executions.
    pub latency_ms: Option<DelayStat>,
}

fn add(stat: &mut (f64, u64), x: f64) {
    stat.0 += x;
    stat.1 += 1;
}

fn finish(s: (f64, u64)) -> DelayStat {
    DelayStat {
        mean_ms: if s.1 > 0 { s.0 / s.1 as f64 } else { 0.0 },
        count: s.1,
    }
}

/// Measures `executions` against the workflow of `bundle` (which must validate).
pub fn measure(bundle: &Bundle, executions: &[Execution]) -> Result<Measurement, HistoryError> {
    let app = bundle.validate().map_err(|e| HistoryError::Invalid {
        path: "bundle".to_string(),
        message: e.to_string(),
    })?;
    let nodes: Vec<&String> = app.workflow.node_ids().iter().collect();
    let functions: Vec<(&str, Option<String>)> = bundle
        .functions
        .iter()
        .map(|f| {
            (
                f.id.as_str(),
                f.resource.as_deref().and_then(lambda_function_name),
            )
        })
        .collect();
    // Node of a state (by name, or by the Lambda function its Task invokes).
    let node_of = |state: &str, function: Option<&str>| -> Option<String> {
        if nodes.iter().any(|n| n.as_str() == state) {
            return Some(state.to_string());
        }
        let f = function?;
        functions
            .iter()
            .find(|(id, res)| *id == f || res.as_deref() == Some(f))
            .map(|(id, _)| id.to_string())
    };
    let service_nodes: std::collections::HashSet<&str> = bundle
        .workflow
        .states
        .iter()
        .filter(|st| st.kind == StateKind::Service)
        .map(|st| st.id.as_str())
        .collect();
    // A node followed by its callback's wait: transitions out of its state leave from the
    // callback node (the wait is not a state of the history).
    let callback_of: HashMap<&str, &str> = bundle
        .workflow
        .states
        .iter()
        .filter(|st| st.kind == StateKind::Callback)
        .filter_map(|st| {
            bundle
                .workflow
                .edges
                .iter()
                .find(|e| e.to == st.id)
                .map(|e| (e.from.as_str(), st.id.as_str()))
        })
        .collect();
    let mut transitions: HashMap<(String, String), u64> = HashMap::new();
    let mut services: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut callbacks: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let mut state_delays: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let mut transition_delays: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let mut map_items: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let mut waits: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let mut latency = (0.0, 0u64);
    let mut succeeded = 0u64;
    for ex in executions {
        let Some(total) = ex.latency_ms() else {
            continue;
        };
        succeeded += 1;
        add(&mut latency, total);
        let mut children: HashMap<i64, Vec<&Event>> = HashMap::new();
        for e in &ex.events {
            if let Some(p) = e.previous {
                children.entry(p).or_default().push(e);
            }
        }
        // The state each entered/exited event belongs to, its Task's function, and its node.
        let mut function_of_state: HashMap<i64, String> = HashMap::new();
        let mut entered_of: HashMap<String, Vec<&Event>> = HashMap::new();
        for e in &ex.events {
            if e.kind.ends_with("StateEntered")
                && let Some(s) = &e.state
            {
                entered_of.entry(s.clone()).or_default().push(e);
            }
        }
        // Lambda function of each Task entry: the first scheduled event after it on its chain.
        for e in &ex.events {
            if e.kind == "TaskStateEntered" {
                let mut cur = e.id;
                for _ in 0..8 {
                    let Some(next) = children.get(&cur).and_then(|c| c.first()) else {
                        break;
                    };
                    if let Some(f) = &next.function {
                        function_of_state.insert(e.id, f.clone());
                        break;
                    }
                    cur = next.id;
                }
            }
        }
        let node_of_event = |e: &Event| -> Option<String> {
            let st = e.state.as_deref()?;
            // The matching entry of an exit: the latest entry of the same state before it.
            let entry_id = if e.kind.ends_with("StateEntered") {
                e.id
            } else {
                entered_of
                    .get(st)?
                    .iter()
                    .filter(|x| x.id < e.id)
                    .map(|x| x.id)
                    .max()?
            };
            node_of(st, function_of_state.get(&entry_id).map(String::as_str))
        };
        // Time in each Wait state: its exit against its entry (the exit's previous event, else the
        // latest entry of the state before the exit).
        let by_id: HashMap<i64, &Event> = ex.events.iter().map(|e| (e.id, e)).collect();
        for e in &ex.events {
            if e.kind != "WaitStateExited" {
                continue;
            }
            let Some(name) = &e.state else { continue };
            let entry = e
                .previous
                .and_then(|p| by_id.get(&p).copied())
                .filter(|p| p.kind == "WaitStateEntered" && p.state.as_ref() == Some(name))
                .or_else(|| {
                    entered_of
                        .get(name)?
                        .iter()
                        .copied()
                        .filter(|x| x.id < e.id && x.kind == "WaitStateEntered")
                        .max_by_key(|x| x.id)
                });
            if let Some(entry) = entry {
                add(
                    waits.entry(name.clone()).or_insert((0.0, 0)),
                    (e.time_ms - entry.time_ms).max(0.0),
                );
            }
        }
        // Per-state overhead of Task states; a service state's call; a callback's wait.
        for e in &ex.events {
            if e.kind != "TaskStateEntered" {
                continue;
            }
            let Some(name) = &e.state else { continue };
            let node = node_of_event(e);
            let mut cur = e.id;
            let (mut scheduled, mut started, mut submitted, mut ended, mut exited) =
                (None, None, None, None, None);
            for _ in 0..16 {
                let Some(next) = children.get(&cur).and_then(|c| c.first()) else {
                    break;
                };
                match next.kind.as_str() {
                    "LambdaFunctionScheduled" | "TaskScheduled" | "ActivityScheduled" => {
                        scheduled = Some(next.time_ms);
                    }
                    "LambdaFunctionStarted" | "TaskStarted" | "ActivityStarted" => {
                        started = Some(next.time_ms);
                    }
                    "TaskSubmitted" => submitted = Some(next.time_ms),
                    "LambdaFunctionSucceeded" | "TaskSucceeded" | "ActivitySucceeded" => {
                        ended = Some(next.time_ms);
                    }
                    "TaskStateExited" => {
                        exited = Some(next.time_ms);
                        break;
                    }
                    _ => {}
                }
                cur = next.id;
            }
            let service = node.as_deref().filter(|n| service_nodes.contains(n));
            if let Some(id) = service {
                // The call (TaskScheduled → TaskSucceeded); the state's own time around it.
                if let (Some(sc), Some(f), Some(x)) = (scheduled, ended, exited) {
                    services.entry(id.to_string()).or_default().push(f - sc);
                    add(
                        state_delays.entry(name.clone()).or_insert((0.0, 0)),
                        (sc - e.time_ms) + (x - f),
                    );
                }
                continue;
            }
            // A Lambda task: its function runs from its start to its end (to TaskSubmitted
            // for a callback, which then waits for its token until TaskSucceeded).
            if let (Some(s), Some(x), Some(done)) = (started, exited, ended) {
                add(
                    state_delays.entry(name.clone()).or_insert((0.0, 0)),
                    (s - e.time_ms) + (x - done),
                );
                if let (Some(sub), Some(cb)) =
                    (submitted, node.as_deref().and_then(|n| callback_of.get(n)))
                {
                    add(
                        callbacks.entry(cb.to_string()).or_insert((0.0, 0)),
                        (done - sub).max(0.0),
                    );
                }
            }
        }
        // Map items.
        for e in &ex.events {
            if e.kind == "MapStateEntered"
                && let Some(name) = &e.state
            {
                // Only the iterations before this Map state's exit.
                let exit = ex
                    .events
                    .iter()
                    .find(|x| {
                        x.kind == "MapStateExited"
                            && x.id > e.id
                            && x.state.as_deref() == Some(name)
                    })
                    .map_or(i64::MAX, |x| x.id);
                let n = ex
                    .events
                    .iter()
                    .filter(|x| x.kind == "MapIterationStarted" && x.id > e.id && x.id < exit)
                    .count();
                if let Some(node) = node_of(name, None) {
                    add(map_items.entry(node).or_insert((0.0, 0)), n as f64);
                }
            }
        }
        // Model transitions: from the execution's start and from every node's exit.
        let mut sources: Vec<(String, &Event)> = Vec::new();
        if let Some(s) = ex.events.iter().find(|e| e.kind == "ExecutionStarted") {
            sources.push((START.to_string(), s));
        }
        for e in &ex.events {
            if e.kind.ends_with("StateExited")
                && let Some(n) = node_of_event(e)
            {
                let n = callback_of.get(n.as_str()).map_or(n, |c| c.to_string());
                sources.push((n, e));
            }
        }
        for (from, e) in sources {
            // Follow the events caused by this one through transparent states (into the
            // branches of a folded Parallel or Map) to the next nodes entered, or to the end.
            let mut targets: Vec<(String, f64)> = Vec::new();
            let mut stack: Vec<&Event> = vec![e];
            let mut steps = 0;
            while let Some(cur) = stack.pop() {
                steps += 1;
                if steps > 100_000 {
                    break;
                }
                // The first state's entry may point at event 0 rather than at ExecutionStarted.
                let mut kids: Vec<&Event> = children.get(&cur.id).cloned().unwrap_or_default();
                if cur.kind == "ExecutionStarted"
                    && let Some(zero) = children.get(&cur.previous.unwrap_or(0))
                {
                    kids.extend(zero.iter().filter(|k| k.id != cur.id));
                }
                for next in kids.into_iter().rev() {
                    if next.kind == "ExecutionSucceeded" {
                        targets.push((END.to_string(), next.time_ms));
                    } else if next.kind.ends_with("StateEntered") {
                        if let Some(n) = node_of_event(next) {
                            targets.push((n, next.time_ms));
                        } else if next.kind.starts_with("Parallel") || next.kind.starts_with("Map")
                        {
                            // A folded fork: its branches start from its own events.
                            stack.push(next);
                        } else if let Some(x) = ex.events.iter().find(|x| {
                            x.id > next.id
                                && x.kind.ends_with("StateExited")
                                && x.state == next.state
                        }) {
                            // A transparent state: continue from its exit.
                            stack.push(x);
                        }
                    } else if !next.kind.ends_with("StateExited")
                        || !cur.kind.ends_with("StateEntered")
                    {
                        stack.push(next);
                    }
                }
            }
            for (to, t) in targets {
                *transitions.entry((from.clone(), to.clone())).or_default() += 1;
                add(
                    transition_delays
                        .entry(format!("{from} → {to}"))
                        .or_insert((0.0, 0)),
                    t - e.time_ms,
                );
            }
        }
    }
    // Branch groups of the bundle.
    let mut edges = Vec::new();
    let back: Vec<(String, String)> = loop_edges(&app);
    for e in &bundle.workflow.edges {
        let in_group = bundle
            .workflow
            .edges
            .iter()
            .any(|x| x.from == e.from && x.probability < 1.0);
        if !in_group || e.probability >= 1.0 {
            continue;
        }
        let taken = transitions
            .get(&(e.from.clone(), e.to.clone()))
            .copied()
            .unwrap_or(0);
        // Departures into the branch group (not the node's parallel edges).
        let group_total: u64 = bundle
            .workflow
            .edges
            .iter()
            .filter(|x| x.from == e.from && x.probability < 1.0)
            .map(|x| {
                transitions
                    .get(&(x.from.clone(), x.to.clone()))
                    .copied()
                    .unwrap_or(0)
            })
            .sum();
        edges.push(EdgeCount {
            from: e.from.clone(),
            to: e.to.clone(),
            taken,
            out_of: group_total,
            probability: if group_total > 0 {
                taken as f64 / group_total as f64
            } else {
                0.0
            },
            previous_probability: e.probability,
            loop_edge: e.from == e.to || back.contains(&(e.from.clone(), e.to.clone())),
            per_execution: if succeeded > 0 {
                taken as f64 / succeeded as f64
            } else {
                0.0
            },
        });
    }
    let total = |m: &mut dyn Iterator<Item = &(f64, u64)>| {
        let s = m.fold((0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        (s.1 > 0).then(|| finish(s))
    };
    let start_prefix = format!("{START} → ");
    let end_suffix = format!(" → {END}");
    let group = |keep: &dyn Fn(&str) -> bool| {
        total(
            &mut transition_delays
                .iter()
                .filter(|(k, _)| keep(k))
                .map(|(_, v)| v),
        )
    };
    let from_start = group(&|k| k.starts_with(&start_prefix));
    let to_end = group(&|k| k.ends_with(&end_suffix));
    let transition_ms = group(&|k| !k.starts_with(&start_prefix) && !k.ends_with(&end_suffix))
        .or_else(|| group(&|_| true));
    let start_end_ms = match (from_start, to_end, transition_ms) {
        (Some(s), Some(e), Some(t)) => Some(DelayStat {
            mean_ms: (s.mean_ms + e.mean_ms - t.mean_ms).max(0.0),
            count: succeeded,
        }),
        _ => None,
    };
    Ok(Measurement {
        executions: executions.len() as u64,
        succeeded,
        edges,
        state_ms: total(&mut state_delays.values()),
        transition_ms,
        start_end_ms,
        state_delays: state_delays
            .into_iter()
            .map(|(k, v)| (k, finish(v)))
            .collect(),
        transition_delays: transition_delays
            .into_iter()
            .map(|(k, v)| (k, finish(v)))
            .collect(),
        map_items: map_items.into_iter().map(|(k, v)| (k, finish(v))).collect(),
        waits: waits.into_iter().map(|(k, v)| (k, finish(v))).collect(),
        services: services
            .iter()
            .map(|(k, v)| (k.clone(), finish((v.iter().sum(), v.len() as u64))))
            .collect(),
        callbacks: callbacks.into_iter().map(|(k, v)| (k, finish(v))).collect(),
        service_times: services,
        latency_ms: (latency.1 > 0).then(|| finish(latency)),
    })
}

/// The back edges and self-loops of a workflow, as (from, to) ids: the edges into a node on the
/// stack of a depth-first search from Start (as the workflow's own reduction finds them).
fn loop_edges(app: &Application) -> Vec<(String, String)> {
    use petgraph::visit::EdgeRef;
    let g = app.workflow.graph();
    let ids = app.workflow.node_ids();
    let name = |i: usize| match g[petgraph::graph::NodeIndex::new(i)] {
        crate::workflow::GraphNode::Start => START.to_string(),
        crate::workflow::GraphNode::End => END.to_string(),
        crate::workflow::GraphNode::Function(f) => ids.get(f).cloned().unwrap_or_default(),
    };
    let Some(start) = g
        .node_indices()
        .find(|&i| g[i] == crate::workflow::GraphNode::Start)
    else {
        return Vec::new();
    };
    let n = g.node_count();
    let (mut on_stack, mut done) = (vec![false; n], vec![false; n]);
    let mut out = Vec::new();
    // Iterative DFS: (node, its out-edges, next edge to look at).
    let mut stack = vec![(
        start,
        g.edges(start).map(|e| e.target()).collect::<Vec<_>>(),
        0,
    )];
    on_stack[start.index()] = true;
    while let Some((u, succ, k)) = stack.last_mut() {
        if let Some(&v) = succ.get(*k) {
            *k += 1;
            let u = *u;
            if u == v || on_stack[v.index()] {
                out.push((name(u.index()), name(v.index())));
            } else if !done[v.index()] {
                on_stack[v.index()] = true;
                stack.push((v, g.edges(v).map(|e| e.target()).collect(), 0));
            }
        } else {
            on_stack[u.index()] = false;
            done[u.index()] = true;
            stack.pop();
        }
    }
    out
}

/// Writes a measurement into a bundle: branch probabilities from the counts (marked measured),
/// the mean orchestration delays, the Map item counts, the Wait states' times, the service
/// states' calls (mean, observations and [`SAMPLE_BINS`] equal-probability samples) and the
/// callbacks' waits. Branch groups with no departures keep their probabilities and bases.
/// Returns the edges changed.
pub fn apply(bundle: &mut Bundle, m: &Measurement) -> usize {
    let mut changed = 0;
    for e in &mut bundle.workflow.edges {
        if let Some(c) = m
            .edges
            .iter()
            .find(|c| c.from == e.from && c.to == e.to && c.out_of > 0)
        {
            changed += 1;
            e.probability = c.probability;
            e.basis = Some(ProbabilityBasis::Measured {
                taken: c.taken,
                out_of: c.out_of,
                executions: Some(m.succeeded),
            });
        }
    }
    // An edge never taken has probability 0, which the model refuses: drop it when its group
    // was measured (its node is then never left that way in these executions).
    bundle.workflow.edges.retain(|e| e.probability > 0.0);
    if let Some(s) = m.state_ms {
        bundle.workflow.orchestration.state_ms = s.mean_ms.max(0.0);
    }
    if let Some(t) = m.transition_ms {
        bundle.workflow.orchestration.transition_ms = t.mean_ms.max(0.0);
    }
    if let Some(se) = m.start_end_ms {
        bundle.workflow.orchestration.start_end_ms = Some(se.mean_ms);
    }
    // A Wait state node takes what was waited, less the `state_ms` the model charges every
    // state it enters.
    let state_ms = bundle.workflow.orchestration.state_ms;
    for st in &mut bundle.workflow.states {
        if st.kind == StateKind::Wait
            && let Some(w) = m.waits.get(&st.id)
            && w.count > 0
        {
            st.delay_ms = (w.mean_ms - state_ms).max(0.0);
        }
    }
    // A service state takes its measured call, with the times `simulate` draws from; a
    // callback the wait less the state and transition delays the model charges it as a node.
    let per_state = bundle.workflow.orchestration.per_state_ms();
    for st in &mut bundle.workflow.states {
        match st.kind {
            StateKind::Service => {
                if let Some(d) = m.services.get(&st.id)
                    && d.count > 0
                {
                    st.delay_ms = d.mean_ms.max(0.0);
                    st.measured = Some(d.count);
                    st.samples_ms = m
                        .service_times
                        .get(&st.id)
                        .map(|t| equal_probability_bins(t, SAMPLE_BINS))
                        .unwrap_or_default();
                }
            }
            StateKind::Callback => {
                if let Some(w) = m.callbacks.get(&st.id)
                    && w.count > 0
                {
                    st.delay_ms = (w.mean_ms - per_state).max(0.0);
                    st.measured = Some(w.count);
                }
            }
            _ => {}
        }
    }
    for map in &mut bundle.workflow.maps {
        if let Some(s) = m.map_items.get(&map.state)
            && s.count > 0
            && s.mean_ms >= 1.0
        {
            map.items = s.mean_ms;
            map.measured_runs = Some(s.count);
        }
    }
    changed
}

/// Most samples a measured service state keeps (`samples_ms`).
pub const SAMPLE_BINS: usize = 32;

/// `times` summarised as at most `bins` equal-probability bins, each the mean of its bin (an
/// observation on a bin boundary is split between the two bins), so that their mean is the
/// observations' mean; rounded to 0.01 ms.
pub fn equal_probability_bins(times: &[f64], bins: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = times.iter().copied().filter(|x| x.is_finite()).collect();
    if sorted.is_empty() || bins == 0 {
        return Vec::new();
    }
    sorted.sort_unstable_by(f64::total_cmp);
    let n = sorted.len();
    let k = bins.min(n);
    let width = n as f64 / k as f64;
    (0..k)
        .map(|b| {
            let (lo, hi) = (b as f64 * width, (b + 1) as f64 * width);
            let mut sum = 0.0;
            for (i, &x) in sorted.iter().enumerate() {
                let (a, z) = (i as f64, i as f64 + 1.0);
                let overlap = (z.min(hi) - a.max(lo)).max(0.0);
                sum += overlap * x;
            }
            (sum / width * 100.0).round() / 100.0
        })
        .collect()
}

/// Measured against predicted: what `validate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparison {
    /// Executions measured.
    pub executions: u64,
    /// Measured mean end-to-end latency, ms.
    pub measured_latency_ms: f64,
    /// The model's EET for the configuration, ms.
    pub predicted_latency_ms: f64,
    /// `(predicted − measured) / measured`, %.
    pub latency_error_percent: f64,
    /// Measured mean cost, USD per million executions (if known).
    pub measured_cost_usd_per_million: Option<f64>,
    /// The model's cost, USD per million executions.
    pub predicted_cost_usd_per_million: f64,
    /// `(predicted − measured) / measured`, %.
    pub cost_error_percent: Option<f64>,
}

/// Compares measured executions (latencies, and costs per execution in USD when the caller knows
/// them) with the model's prediction for `choices`.
pub fn compare(
    app: &Application,
    choices: &[ResolvedChoice],
    latencies_ms: &[f64],
    costs_usd: Option<&[f64]>,
) -> Option<Comparison> {
    if latencies_ms.is_empty() {
        return None;
    }
    let n = latencies_ms.len() as f64;
    let measured = latencies_ms.iter().sum::<f64>() / n;
    let predicted = app.evaluate(choices);
    let measured_cost = costs_usd
        .filter(|c| !c.is_empty())
        .map(|c| c.iter().sum::<f64>() / c.len() as f64 * EXECUTIONS_PER_QUOTE);
    let pct = |p: f64, m: f64| {
        if m != 0.0 {
            (p - m) / m * 100.0
        } else {
            f64::NAN
        }
    };
    Some(Comparison {
        executions: latencies_ms.len() as u64,
        measured_latency_ms: measured,
        predicted_latency_ms: predicted.latency_ms,
        latency_error_percent: pct(predicted.latency_ms, measured),
        measured_cost_usd_per_million: measured_cost,
        predicted_cost_usd_per_million: predicted.cost_usd_per_million,
        cost_error_percent: measured_cost.map(|m| pct(predicted.cost_usd_per_million, m)),
    })
}

/// An estimate of each execution's cost from its history: every Lambda invocation billed for its
/// `…Started` → `…Succeeded` time (rounded up by the bundle's granularity) at the function's
/// memory in `choices`, plus the Step Functions charge (Standard: one transition per state
/// entered plus one to end; Express: its request and duration). Lambda's billed duration is not in
/// the history, so this is an estimate; a caller that has the functions' REPORT lines should use
/// those.
pub fn estimate_costs(
    app: &Application,
    choices: &[ResolvedChoice],
    bundle: &Bundle,
    executions: &[Execution],
) -> Vec<f64> {
    let mut out = Vec::new();
    for ex in executions {
        let Some(latency) = ex.latency_ms() else {
            continue;
        };
        let mut cost = 0.0;
        let mut started: HashMap<i64, f64> = HashMap::new();
        let mut function_at: HashMap<i64, Option<String>> = HashMap::new();
        for e in &ex.events {
            match e.kind.as_str() {
                "LambdaFunctionScheduled" | "TaskScheduled" => {
                    function_at.insert(e.id, e.function.clone());
                }
                "LambdaFunctionStarted" | "TaskStarted" => {
                    started.insert(e.id, e.time_ms);
                }
                "LambdaFunctionSucceeded" | "TaskSucceeded" => {
                    let Some(p) = e.previous else { continue };
                    let Some(&t0) = started.get(&p) else { continue };
                    let f = ex
                        .events
                        .iter()
                        .find(|x| x.id == p)
                        .and_then(|s| s.previous)
                        .and_then(|q| function_at.get(&q).cloned().flatten());
                    let Some(f) = f else { continue };
                    let idx = bundle.functions.iter().position(|x| {
                        x.id == f
                            || x.resource
                                .as_deref()
                                .and_then(lambda_function_name)
                                .as_deref()
                                == Some(f.as_str())
                    });
                    if let Some(i) = idx
                        && let Some(c) = choices.get(i)
                    {
                        cost += app
                            .pricing
                            .invocation_cost(f64::from(c.memory_mb), e.time_ms - t0);
                    }
                }
                _ => {}
            }
        }
        // The services the Task states call, at the bundle's price per request.
        for e in &ex.events {
            if e.kind == "TaskStateEntered"
                && let Some(name) = &e.state
                && let Some(st) = bundle.workflow.states.iter().find(|st| &st.id == name)
                && let Some(p) = st.price_per_request
            {
                cost += p;
            }
        }
        let entered = ex
            .events
            .iter()
            .filter(|e| e.kind.ends_with("StateEntered"))
            .count() as f64;
        cost += app.pricing.orchestration_cost(entered + 1.0, latency);
        out.push(cost);
    }
    out
}
