//! The simulated Step Functions: executes a state machine's Amazon States Language definition with
//! simulated Lambda functions and writes the execution history GetExecutionHistory would return
//! (the same event types, `previousEventId` links and epoch-second timestamps), so `workflow
//! measure` and `workflow validate` run exactly as against AWS.
//!
//! What a Choice rule would decide depends on data the simulator does not have, so a *truth file*
//! (TOML, see `examples/media-pipeline.sim.toml`) gives the true probability of each Choice
//! state's targets, the true item count of each Map, each function's true duration and the true
//! orchestration delays. Parallel branches run side by side (the join waits for the last); a Map
//! runs its items in a pool of `MaxConcurrency` slots (an item starts as soon as a slot frees up,
//! as Step Functions does); Wait states wait `Seconds`. A Task that calls another service than
//! Lambda takes its `[services.STATE]` time between `TaskScheduled` and `TaskSucceeded`
//! (`Activity…` events for an activity); a `lambda:invoke.waitForTaskToken` Task runs its
//! function (`TaskStarted` → `TaskSubmitted`) and then waits its `[callbacks.STATE]` time for the
//! token (→ `TaskSucceeded`). A Distributed Map runs its children (one per batch of
//! `ItemBatcher.MaxItemsPerBatch` items) in the pool, and its history shows `MapRunStarted` and
//! `MapRunSucceeded` only: the children's events are their own executions', as on AWS.
//! Everything is drawn from one seeded generator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, bail};
use optiserve_core::asl::lambda_function_name;
use optiserve_core::bundle::Bundle;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Deserialize;
use serde_json::{Value, json};

use super::sim::SimTruth;
use super::{CloudError, StateMachine, StepFunctions};

/// The truth file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Truth {
    /// Seed of every draw.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The state machine.
    pub state_machine: TruthStateMachine,
    /// Take every function's duration from this bundle: its model at the deployed configuration,
    /// with the dispersion of the variant's samples at that memory as noise (else `noise_cov`).
    #[serde(default)]
    pub functions_from: Option<PathBuf>,
    /// Noise (coefficient of variation) where nothing else gives one.
    #[serde(default = "default_cov")]
    pub noise_cov: f64,
    /// Explicit durations per Lambda function name (override the bundle's).
    #[serde(default)]
    pub functions: BTreeMap<String, TruthFunction>,
    /// Per Choice state: the probability of each target state (default: uniform).
    #[serde(default)]
    pub choices: BTreeMap<String, BTreeMap<String, f64>>,
    /// Per Map state: its items per run (default 10).
    #[serde(default)]
    pub maps: BTreeMap<String, TruthMap>,
    /// Per Task state that calls another service than Lambda: its call's time.
    #[serde(default)]
    pub services: BTreeMap<String, TruthDelay>,
    /// Per `lambda:invoke.waitForTaskToken` Task state: the wait for its token after its
    /// function returned.
    #[serde(default)]
    pub callbacks: BTreeMap<String, TruthDelay>,
    /// Orchestration delays.
    #[serde(default)]
    pub orchestration: TruthOrchestration,
    /// Executions already run when the service starts (for `--from-history N`).
    #[serde(default)]
    pub past_executions: usize,
}

fn default_seed() -> u64 {
    1
}
fn default_cov() -> f64 {
    0.05
}

/// `[state_machine]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthStateMachine {
    /// The definition (ASL JSON), relative to the truth file.
    pub definition: PathBuf,
    /// Its name (default: the definition file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Its ARN (default: `arn:aws:states:us-east-1:123456789012:stateMachine:NAME`).
    #[serde(default)]
    pub arn: Option<String>,
    /// `standard` or `express`.
    #[serde(default = "default_type", rename = "type")]
    pub kind: String,
}

fn default_type() -> String {
    "standard".into()
}

/// `[functions.NAME]`: `ET(m) = alpha + beta·e^(−gamma·m)` at `memory_mb`, as a plan's `simulate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthFunction {
    pub alpha_ms: f64,
    pub beta_ms: f64,
    pub gamma_per_mb: f64,
    /// Memory it runs with.
    pub memory_mb: u32,
    /// Coefficient of variation of its duration (default: the file's `noise_cov`).
    #[serde(default)]
    pub noise_cov: Option<f64>,
}

/// `[services.STATE]` and `[callbacks.STATE]`: a mean time, ms, and its noise.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthDelay {
    /// Mean, ms (a service's `TaskScheduled` → `TaskSucceeded`; a callback's `TaskSubmitted` →
    /// `TaskSucceeded`).
    pub ms: f64,
    /// Coefficient of variation (default: the file's `noise_cov`).
    #[serde(default)]
    pub noise_cov: Option<f64>,
}

/// `[maps.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthMap {
    /// Items per run.
    pub items: u32,
}

/// `[orchestration]`: delays, ms.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TruthOrchestration {
    /// A Task state's own time besides its function: ¾ from entry to the function's start, ¼
    /// from its end to the exit.
    pub state_ms: f64,
    /// From one state's exit to the next state's entry (also from the start to the first state
    /// and from the last state to the end).
    pub transition_ms: f64,
    /// Per state (any type; other states than Task default to 0): its own time.
    pub states: BTreeMap<String, f64>,
    /// Per transition `"FROM → TO"` (state names; `Start`, `End`): its delay.
    pub transitions: BTreeMap<String, f64>,
    /// Coefficient of variation of every delay.
    pub noise_cov: f64,
}

impl Default for TruthOrchestration {
    fn default() -> Self {
        TruthOrchestration {
            state_ms: 40.0,
            transition_ms: 10.0,
            states: BTreeMap::new(),
            transitions: BTreeMap::new(),
            noise_cov: 0.2,
        }
    }
}

/// One function's true duration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunctionBehaviour {
    /// Mean duration, ms.
    pub mean_ms: f64,
    /// Coefficient of variation.
    pub cov: f64,
}

/// A loaded truth: the state machine and everything drawn while executing it.
#[derive(Debug, Clone)]
pub struct SimSpec {
    pub machine: StateMachine,
    pub definition: Value,
    pub functions: BTreeMap<String, FunctionBehaviour>,
    pub truth: Truth,
}

impl SimSpec {
    /// Reads a truth file (and the definition and bundle it names, relative to it), and checks
    /// the definition against it: every Task's function has a duration, every Choice probability
    /// names a target of its state and they sum to 1, every named state exists.
    pub fn load(path: &Path) -> anyhow::Result<SimSpec> {
        let text = crate::input::read_text(path)?;
        let truth: Truth =
            toml::from_str(&text).with_context(|| format!("in truth file {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let def_path = dir.join(&truth.state_machine.definition);
        let def_text = crate::input::read_text(&def_path)?;
        let definition: Value = serde_json::from_str(&def_text)
            .with_context(|| format!("in state machine {}", def_path.display()))?;
        let mut functions = BTreeMap::new();
        if let Some(b) = &truth.functions_from {
            let bpath = dir.join(b);
            let text = crate::input::read_text(&bpath)?;
            let bundle = Bundle::from_json(&text)
                .with_context(|| format!("in bundle {}", bpath.display()))?;
            let app = bundle
                .validate()
                .with_context(|| format!("in bundle {}", bpath.display()))?;
            for (i, f) in bundle.functions.iter().enumerate() {
                let Some(&choice) = app.deployed.get(i) else {
                    continue;
                };
                let mean_ms = app.duration_ms(i, choice);
                let name = f
                    .resource
                    .as_deref()
                    .and_then(lambda_function_name)
                    .unwrap_or_else(|| f.id.clone());
                let cov = f
                    .variants
                    .get(choice.variant)
                    .map(|v| {
                        v.samples
                            .iter()
                            .filter(|s| !s.cold && s.memory_mb == f64::from(choice.memory_mb))
                            .map(|s| s.duration_ms)
                            .collect::<Vec<f64>>()
                    })
                    .filter(|d| d.len() >= 3)
                    .map_or(truth.noise_cov, |d| {
                        let n = d.len() as f64;
                        let m = d.iter().sum::<f64>() / n;
                        let var = d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
                        if m > 0.0 { var.sqrt() / m } else { 0.0 }
                    });
                functions.insert(name, FunctionBehaviour { mean_ms, cov });
            }
        }
        for (name, f) in &truth.functions {
            let curve = SimTruth {
                alpha_ms: f.alpha_ms,
                beta_ms: f.beta_ms,
                gamma_per_mb: f.gamma_per_mb,
                cpu_share: None,
                noise_cov: None,
                min_memory_mb: None,
                init_ms: None,
            };
            let mean_ms = curve.duration_ms(f.memory_mb);
            if !(mean_ms.is_finite() && mean_ms > 0.0) {
                bail!(
                    "{}: functions.{name}: the curve gives {mean_ms} ms at {} MB",
                    path.display(),
                    f.memory_mb
                );
            }
            functions.insert(
                name.clone(),
                FunctionBehaviour {
                    mean_ms,
                    cov: f.noise_cov.unwrap_or(truth.noise_cov),
                },
            );
        }
        let name = truth.state_machine.name.clone().unwrap_or_else(|| {
            def_path
                .file_stem()
                .map(|s| s.to_string_lossy().trim_end_matches(".asl").to_string())
                .unwrap_or_else(|| "state-machine".into())
        });
        let arn = truth.state_machine.arn.clone().unwrap_or_else(|| {
            format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}")
        });
        let kind = match truth.state_machine.kind.to_ascii_lowercase().as_str() {
            "standard" => "STANDARD",
            "express" => "EXPRESS",
            other => bail!(
                "{}: state_machine.type: '{other}' is neither standard nor express",
                path.display()
            ),
        };
        let spec = SimSpec {
            machine: StateMachine {
                arn,
                name,
                definition: def_text,
                kind: kind.into(),
            },
            definition,
            functions,
            truth,
        };
        spec.check(&spec.definition, "$")
            .and_then(|()| spec.check_names())
            .with_context(|| format!("{} against {}", path.display(), def_path.display()))?;
        Ok(spec)
    }

    fn check(&self, machine: &Value, at: &str) -> anyhow::Result<()> {
        let Some(states) = machine.get("States").and_then(Value::as_object) else {
            bail!("{at}.States: missing (a state machine needs its States)");
        };
        let Some(start) = machine.get("StartAt").and_then(Value::as_str) else {
            bail!("{at}.StartAt: missing");
        };
        if !states.contains_key(start) {
            bail!("{at}.StartAt: no state '{start}'");
        }
        for (name, s) in states {
            let sat = format!("{at}.States.{name}");
            let kind = s.get("Type").and_then(Value::as_str).unwrap_or("");
            let mut nexts: Vec<&str> = s.get("Next").and_then(Value::as_str).into_iter().collect();
            match kind {
                "Task" => {
                    match task_kind(s).with_context(|| format!("{sat}: Task state '{name}'"))? {
                        TaskKind::Lambda(f) => {
                            if !self.functions.contains_key(&f.name) {
                                bail!(
                                    "{sat}: Task state '{name}' invokes '{}', which the truth file does not describe (add [functions.{}] or functions_from)",
                                    f.name,
                                    f.name
                                );
                            }
                            if f.callback && !self.truth.callbacks.contains_key(name) {
                                bail!(
                                    "{sat}: Task state '{name}' waits for a task token: give its wait as [callbacks.\"{name}\"] ms = …"
                                );
                            }
                        }
                        TaskKind::Service { resource } => {
                            if !self.truth.services.contains_key(name) {
                                bail!(
                                    "{sat}: Task state '{name}' calls '{resource}': give its time as [services.\"{name}\"] ms = …"
                                );
                            }
                        }
                    }
                }
                "Choice" => {
                    let targets = choice_targets(s);
                    if targets.is_empty() {
                        bail!("{sat}: Choice state '{name}' has no targets");
                    }
                    nexts.extend(targets.iter().copied());
                    if let Some(p) = self.truth.choices.get(name) {
                        for (t, v) in p {
                            if !targets.contains(&t.as_str()) {
                                bail!(
                                    "choices.{name}.{t}: '{t}' is not a target of Choice state '{name}' (targets: {})",
                                    targets.join(", ")
                                );
                            }
                            if !(v.is_finite() && *v >= 0.0) {
                                bail!("choices.{name}.{t}: {v} is not a probability");
                            }
                        }
                        let sum: f64 = p.values().sum();
                        if (sum - 1.0).abs() > 1e-6 {
                            bail!("choices.{name}: the probabilities sum to {sum}, not 1");
                        }
                    }
                }
                "Parallel" => {
                    let Some(branches) = s.get("Branches").and_then(Value::as_array) else {
                        bail!("{sat}.Branches: missing");
                    };
                    for (k, b) in branches.iter().enumerate() {
                        self.check(b, &format!("{sat}.Branches[{k}]"))?;
                    }
                }
                "Map" => {
                    let Some(body) = s.get("ItemProcessor").or_else(|| s.get("Iterator")) else {
                        bail!("{sat}.ItemProcessor: missing");
                    };
                    self.check(body, &format!("{sat}.ItemProcessor"))?;
                }
                "Wait" | "Pass" | "Succeed" | "Fail" => {}
                other => bail!("{sat}.Type: '{other}' is not a state type"),
            }
            for n in nexts {
                if !states.contains_key(n) {
                    bail!("{sat}: goes to '{n}', which is not a state of this scope");
                }
            }
        }
        Ok(())
    }

    /// Checks that every `[choices.X]` and `[maps.X]` of the truth names such a state.
    fn check_names(&self) -> anyhow::Result<()> {
        fn collect(machine: &Value, out: &mut Vec<(String, String)>) {
            let Some(states) = machine.get("States").and_then(Value::as_object) else {
                return;
            };
            for (name, s) in states {
                let kind = s.get("Type").and_then(Value::as_str).unwrap_or("");
                out.push((name.clone(), kind.to_string()));
                for b in s
                    .get("Branches")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    collect(b, out);
                }
                if let Some(body) = s.get("ItemProcessor").or_else(|| s.get("Iterator")) {
                    collect(body, out);
                }
            }
        }
        let mut states = Vec::new();
        collect(&self.definition, &mut states);
        let has = |n: &str, k: &str| states.iter().any(|(a, b)| a == n && b == k);
        for n in self.truth.choices.keys() {
            if !has(n, "Choice") {
                bail!("choices.{n}: the state machine has no Choice state '{n}'");
            }
        }
        for n in self.truth.maps.keys() {
            if !has(n, "Map") {
                bail!("maps.{n}: the state machine has no Map state '{n}'");
            }
        }
        for (table, names) in [
            ("services", self.truth.services.iter().collect::<Vec<_>>()),
            ("callbacks", self.truth.callbacks.iter().collect()),
        ] {
            for (n, d) in names {
                if !has(n, "Task") {
                    bail!("{table}.{n}: the state machine has no Task state '{n}'");
                }
                if !(d.ms.is_finite() && d.ms >= 0.0) {
                    bail!("{table}.{n}.ms: {} is not a time ≥ 0", d.ms);
                }
            }
        }
        Ok(())
    }
}

/// The Lambda function a Task invokes, and how (`lambda:invoke` integration or a function ARN).
struct TaskFunction {
    name: String,
    resource: String,
    integration: bool,
    /// `lambda:invoke.waitForTaskToken`.
    callback: bool,
}

/// What a Task state runs.
enum TaskKind {
    Lambda(TaskFunction),
    /// Another service (or a Lambda function chosen at run time): a timed call.
    Service {
        resource: String,
    },
}

fn task_kind(s: &Value) -> anyhow::Result<TaskKind> {
    let resource = s
        .get("Resource")
        .and_then(Value::as_str)
        .context("Resource: missing")?;
    if let Some(pattern) = resource.strip_prefix("arn:aws:states:::lambda:invoke") {
        let params = s.get("Parameters").or_else(|| s.get("Arguments"));
        let Some(f) = params
            .and_then(|p| p.get("FunctionName"))
            .and_then(Value::as_str)
            .filter(|f| !f.starts_with("{%"))
        else {
            if params.is_some_and(|p| {
                p.get("FunctionName.$").is_some() || p.get("FunctionName").is_some()
            }) {
                return Ok(TaskKind::Service {
                    resource: resource.to_string(),
                });
            }
            bail!("Parameters.FunctionName: missing");
        };
        let name = lambda_function_name(f)
            .with_context(|| format!("'{f}' is not a Lambda function name or ARN"))?;
        return Ok(TaskKind::Lambda(TaskFunction {
            name,
            resource: f.to_string(),
            integration: true,
            callback: pattern == ".waitForTaskToken",
        }));
    }
    if resource.starts_with("arn:aws:states:") || !resource.starts_with("arn:aws:lambda:") {
        return Ok(TaskKind::Service {
            resource: resource.to_string(),
        });
    }
    let name = lambda_function_name(resource)
        .with_context(|| format!("'{resource}' is not a Lambda function ARN"))?;
    Ok(TaskKind::Lambda(TaskFunction {
        name,
        resource: resource.to_string(),
        integration: false,
        callback: false,
    }))
}

/// A service Task's `resourceType` and `resource` as its history events give them:
/// `arn:aws:states:::sns:publish` → (`sns`, `publish`), an activity → (`activity`, its ARN).
fn service_parts(resource: &str) -> (String, String) {
    match resource.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "states", "", "", rest] => {
            let rest = rest.strip_prefix("aws-sdk:").unwrap_or(rest);
            match rest.split_once(':') {
                Some((t, r)) => (t.to_string(), r.to_string()),
                None => (rest.to_string(), String::new()),
            }
        }
        _ => ("activity".to_string(), resource.to_string()),
    }
}

/// The distinct targets of a Choice state: its rules' `Next`, then `Default`.
fn choice_targets(s: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let rules = s.get("Choices").and_then(Value::as_array);
    for t in rules
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("Next").and_then(Value::as_str))
        .chain(s.get("Default").and_then(Value::as_str))
    {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// One event while generating: its time (ms from the start) and the index of its predecessor.
struct Ev {
    t: f64,
    kind: &'static str,
    prev: Option<usize>,
    details: Option<(&'static str, Value)>,
}

enum Outcome {
    /// The scope ended (End or Succeed) with this last event at this time.
    Done(usize, f64),
    /// A Fail state: the execution fails.
    Failed(usize, f64),
}

struct Run<'a> {
    spec: &'a SimSpec,
    rng: &'a mut Xoshiro256PlusPlus,
    events: Vec<Ev>,
}

fn uniform(rng: &mut Xoshiro256PlusPlus) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let (a, b) = (uniform(rng), uniform(rng));
    (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
}

/// The history event that enters a state of type `kind`.
fn entered_event(kind: &str) -> &'static str {
    match kind {
        "Task" => "TaskStateEntered",
        "Choice" => "ChoiceStateEntered",
        "Parallel" => "ParallelStateEntered",
        "Map" => "MapStateEntered",
        "Wait" => "WaitStateEntered",
        "Pass" => "PassStateEntered",
        "Succeed" => "SucceedStateEntered",
        _ => "FailStateEntered",
    }
}

/// The history event that leaves a state of type `kind` (a Fail state is never left).
fn exited_event(kind: &str) -> &'static str {
    match kind {
        "Task" => "TaskStateExited",
        "Choice" => "ChoiceStateExited",
        "Parallel" => "ParallelStateExited",
        "Map" => "MapStateExited",
        "Wait" => "WaitStateExited",
        "Pass" => "PassStateExited",
        _ => "SucceedStateExited",
    }
}

impl Run<'_> {
    /// Leaves the state `name` of type `kind` at `t` with the JSON `output`; returns the event.
    fn exit_state(&mut self, t: f64, kind: &str, name: &str, prev: usize, output: &str) -> usize {
        self.push(
            t,
            exited_event(kind),
            Some(prev),
            Some((
                "stateExitedEventDetails",
                json!({"name": name, "output": output}),
            )),
        )
    }

    fn push(
        &mut self,
        t: f64,
        kind: &'static str,
        prev: Option<usize>,
        details: Option<(&'static str, Value)>,
    ) -> usize {
        self.events.push(Ev {
            t,
            kind,
            prev,
            details,
        });
        self.events.len() - 1
    }

    fn noisy(&mut self, mean: f64, cov: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        mean * (1.0 + cov * normal(self.rng)).max(0.05)
    }

    fn transition(&mut self, from: &str, to: &str) -> f64 {
        let o = &self.spec.truth.orchestration;
        let mean = o
            .transitions
            .get(&format!("{from} → {to}"))
            .copied()
            .unwrap_or(o.transition_ms);
        let cov = o.noise_cov;
        self.noisy(mean, cov)
    }

    fn state_delay(&mut self, name: &str, task: bool) -> f64 {
        let o = &self.spec.truth.orchestration;
        let mean = o
            .states
            .get(name)
            .copied()
            .unwrap_or(if task { o.state_ms } else { 0.0 });
        let cov = o.noise_cov;
        self.noisy(mean, cov)
    }

    /// Runs one scope (the top level, a Parallel branch or a Map iteration) from `prev` at `t`,
    /// entered from the state `from`.
    fn scope(
        &mut self,
        machine: &Value,
        from: &str,
        prev: usize,
        t: f64,
    ) -> Result<Outcome, CloudError> {
        let fatal = |m: String| CloudError::Fatal(m);
        let states = machine
            .get("States")
            .and_then(Value::as_object)
            .ok_or_else(|| fatal("States missing".into()))?;
        let mut name = machine
            .get("StartAt")
            .and_then(Value::as_str)
            .ok_or_else(|| fatal("StartAt missing".into()))?
            .to_string();
        let (mut from, mut prev, mut t) = (from.to_string(), prev, t);
        for _ in 0..1_000_000 {
            let s = states
                .get(&name)
                .ok_or_else(|| fatal(format!("no state '{name}'")))?;
            t += self.transition(&from, &name);
            let kind = s.get("Type").and_then(Value::as_str).unwrap_or("");
            let e = self.push(
                t,
                entered_event(kind),
                Some(prev),
                Some((
                    "stateEnteredEventDetails",
                    json!({"name": name, "input": "{}", "inputDetails": {"truncated": false}}),
                )),
            );
            let last;
            let mut next: Option<String> =
                s.get("Next").and_then(Value::as_str).map(str::to_string);
            match kind {
                "Task" => {
                    match task_kind(s).map_err(|e| fatal(format!("Task state '{name}': {e:#}")))? {
                        TaskKind::Service { resource } => {
                            let d = *self.spec.truth.services.get(&name).ok_or_else(|| {
                                fatal(format!("Task state '{name}': no [services] time"))
                            })?;
                            let own = self.state_delay(&name, true);
                            let call = (self
                                .noisy(d.ms, d.noise_cov.unwrap_or(self.spec.truth.noise_cov))
                                * 100.0)
                                .round()
                                / 100.0;
                            let (rtype, rname) = service_parts(&resource);
                            let activity = rtype == "activity";
                            let detail = json!({"resourceType": rtype, "resource": rname});
                            let names = if activity {
                                ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
                            } else {
                                ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
                            };
                            let keys = if activity {
                                [
                                    "activityScheduledEventDetails",
                                    "activityStartedEventDetails",
                                    "activitySucceededEventDetails",
                                ]
                            } else {
                                [
                                    "taskScheduledEventDetails",
                                    "taskStartedEventDetails",
                                    "taskSucceededEventDetails",
                                ]
                            };
                            t += own * 0.75;
                            let p =
                                self.push(t, names[0], Some(e), Some((keys[0], detail.clone())));
                            let p =
                                self.push(t, names[1], Some(p), Some((keys[1], detail.clone())));
                            t += call;
                            let p = self.push(t, names[2], Some(p), Some((keys[2], detail)));
                            t += own * 0.25;
                            last = self.exit_state(t, kind, &name, p, "{}");
                        }
                        TaskKind::Lambda(f) => {
                            let b = *self.spec.functions.get(&f.name).ok_or_else(|| {
                                fatal(format!(
                                    "Task state '{name}': no duration for function '{}'",
                                    f.name
                                ))
                            })?;
                            let own = self.state_delay(&name, true);
                            let duration = (self.noisy(b.mean_ms, b.cov) * 100.0).round() / 100.0;
                            let invoke = if f.callback {
                                "invoke.waitForTaskToken"
                            } else {
                                "invoke"
                            };
                            let (sched, start, ok) = if f.integration {
                                let params =
                                    json!({"FunctionName": f.resource, "Payload": {}}).to_string();
                                (
                                    (
                                        "TaskScheduled",
                                        (
                                            "taskScheduledEventDetails",
                                            json!({"resourceType": "lambda", "resource": invoke, "region": "us-east-1", "parameters": params}),
                                        ),
                                    ),
                                    (
                                        "TaskStarted",
                                        Some((
                                            "taskStartedEventDetails",
                                            json!({"resourceType": "lambda", "resource": "invoke"}),
                                        )),
                                    ),
                                    (
                                        "TaskSucceeded",
                                        (
                                            "taskSucceededEventDetails",
                                            json!({"resourceType": "lambda", "resource": "invoke", "output": "{}"}),
                                        ),
                                    ),
                                )
                            } else {
                                (
                                    (
                                        "LambdaFunctionScheduled",
                                        (
                                            "lambdaFunctionScheduledEventDetails",
                                            json!({"resource": f.resource, "input": "{}"}),
                                        ),
                                    ),
                                    ("LambdaFunctionStarted", None),
                                    (
                                        "LambdaFunctionSucceeded",
                                        (
                                            "lambdaFunctionSucceededEventDetails",
                                            json!({"output": "{}"}),
                                        ),
                                    ),
                                )
                            };
                            let p = self.push(t, sched.0, Some(e), Some(sched.1));
                            t += own * 0.75;
                            let mut p = self.push(t, start.0, Some(p), start.1);
                            t += duration;
                            if f.callback {
                                // The function returned; the task waits for its token.
                                p = self.push(
                            t,
                            "TaskSubmitted",
                            Some(p),
                            Some((
                                "taskSubmittedEventDetails",
                                json!({"resourceType": "lambda", "resource": invoke, "output": "{}"}),
                            )),
                        );
                                let d = *self.spec.truth.callbacks.get(&name).ok_or_else(|| {
                                    fatal(format!("Task state '{name}': no [callbacks] wait"))
                                })?;
                                let cov = d.noise_cov.unwrap_or(self.spec.truth.noise_cov);
                                t += (self.noisy(d.ms, cov) * 100.0).round() / 100.0;
                            }
                            let p = self.push(t, ok.0, Some(p), Some(ok.1));
                            t += own * 0.25;
                            last = self.exit_state(t, kind, &name, p, "{}");
                        }
                    }
                }
                "Choice" => {
                    let targets = choice_targets(s);
                    let probs: Vec<f64> = match self.spec.truth.choices.get(&name) {
                        Some(p) => targets
                            .iter()
                            .map(|t| p.get(*t).copied().unwrap_or(0.0))
                            .collect(),
                        None => vec![1.0 / targets.len().max(1) as f64; targets.len()],
                    };
                    let u = uniform(self.rng);
                    let mut acc = 0.0;
                    let mut pick = targets.last().copied();
                    for (k, p) in probs.iter().enumerate() {
                        acc += p;
                        if u < acc {
                            pick = targets.get(k).copied();
                            break;
                        }
                    }
                    next = pick.map(str::to_string);
                    t += self.state_delay(&name, false);
                    last = self.exit_state(t, kind, &name, e, "{}");
                }
                "Wait" | "Pass" => {
                    if kind == "Wait" {
                        t += s.get("Seconds").and_then(Value::as_f64).unwrap_or(0.0) * 1000.0;
                    }
                    t += self.state_delay(&name, false);
                    last = self.exit_state(t, kind, &name, e, "{}");
                }
                "Succeed" => {
                    t += self.state_delay(&name, false);
                    last = self.exit_state(t, kind, &name, e, "{}");
                    return Ok(Outcome::Done(last, t));
                }
                "Fail" => return Ok(Outcome::Failed(e, t)),
                "Parallel" => {
                    let started = self.push(t, "ParallelStateStarted", Some(e), None);
                    let branches = s
                        .get("Branches")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    let mut end = (started, t);
                    for b in &branches {
                        match self.scope(b, &name, started, t)? {
                            Outcome::Done(l, tb) => {
                                if tb >= end.1 {
                                    end = (l, tb);
                                }
                            }
                            Outcome::Failed(l, tb) => return Ok(Outcome::Failed(l, tb)),
                        }
                    }
                    t = end.1 + self.state_delay(&name, false);
                    let p = self.push(t, "ParallelStateSucceeded", Some(end.0), None);
                    last = self.exit_state(t, kind, &name, p, "[]");
                }
                "Map"
                    if s.get("ItemProcessor")
                        .and_then(|b| b.get("ProcessorConfig"))
                        .and_then(|c| c.get("Mode"))
                        .and_then(Value::as_str)
                        == Some("DISTRIBUTED") =>
                {
                    // Child executions, one per batch, in a pool of MaxConcurrency; their events
                    // are their own executions', not this history's.
                    let items = self.spec.truth.maps.get(&name).map_or(10, |m| m.items) as usize;
                    let batch = s
                        .get("ItemBatcher")
                        .and_then(|b| b.get("MaxItemsPerBatch"))
                        .and_then(Value::as_u64)
                        .filter(|&b| b > 0)
                        .map_or(1, |b| b as usize);
                    let runs = items.div_ceil(batch);
                    let c = s
                        .get("MaxConcurrency")
                        .and_then(Value::as_u64)
                        .filter(|&c| c > 0)
                        .map_or(runs.max(1), |c| c as usize);
                    let body = s.get("ItemProcessor").cloned().unwrap_or(Value::Null);
                    let map_run = format!(
                        "arn:aws:states:us-east-1:123456789012:mapRun:{}/{name}:{}",
                        self.spec.machine.name,
                        self.events.len()
                    );
                    let started = self.push(
                        t,
                        "MapRunStarted",
                        Some(e),
                        Some(("mapRunStartedEventDetails", json!({"mapRunArn": map_run}))),
                    );
                    let mut slots = vec![t; c.min(runs).max(1)];
                    let mut end = t;
                    for _ in 0..runs {
                        let (slot, &start) = slots
                            .iter()
                            .enumerate()
                            .min_by(|a, b| a.1.total_cmp(b.1))
                            .unwrap_or((0, &t));
                        let mark = self.events.len();
                        let outcome = self.scope(&body, "Start", started, start)?;
                        self.events.truncate(mark);
                        match outcome {
                            Outcome::Done(_, tb) => {
                                slots[slot] = tb;
                                end = end.max(tb);
                            }
                            Outcome::Failed(_, tb) => return Ok(Outcome::Failed(started, tb)),
                        }
                    }
                    t = end + self.state_delay(&name, false);
                    let p = self.push(t, "MapRunSucceeded", Some(started), None);
                    last = self.exit_state(t, kind, &name, p, "[]");
                }
                "Map" => {
                    let items = self.spec.truth.maps.get(&name).map_or(10, |m| m.items) as usize;
                    let c = s
                        .get("MaxConcurrency")
                        .and_then(Value::as_u64)
                        .filter(|&c| c > 0)
                        .map_or(items.max(1), |c| c as usize);
                    let body = s
                        .get("ItemProcessor")
                        .or_else(|| s.get("Iterator"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    let started = self.push(
                        t,
                        "MapStateStarted",
                        Some(e),
                        Some(("mapStateStartedEventDetails", json!({"length": items}))),
                    );
                    // A pool of `c` slots, as Step Functions runs it: each item starts when
                    // the earliest slot frees up (the first `c` at once).
                    let mut slots = vec![t; c.min(items).max(1)];
                    let mut end = (started, t);
                    for index in 0..items {
                        let (slot, &start) = slots
                            .iter()
                            .enumerate()
                            .min_by(|a, b| a.1.total_cmp(b.1))
                            .unwrap_or((0, &t));
                        let it = self.push(
                            start,
                            "MapIterationStarted",
                            Some(started),
                            Some((
                                "mapIterationStartedEventDetails",
                                json!({"name": name, "index": index}),
                            )),
                        );
                        match self.scope(&body, &name, it, start)? {
                            Outcome::Done(l, tb) => {
                                let done = self.push(
                                    tb,
                                    "MapIterationSucceeded",
                                    Some(l),
                                    Some((
                                        "mapIterationSucceededEventDetails",
                                        json!({"name": name, "index": index}),
                                    )),
                                );
                                slots[slot] = tb;
                                if tb >= end.1 {
                                    end = (done, tb);
                                }
                            }
                            Outcome::Failed(l, tb) => return Ok(Outcome::Failed(l, tb)),
                        }
                    }
                    t = end.1 + self.state_delay(&name, false);
                    let p = self.push(t, "MapStateSucceeded", Some(end.0), None);
                    last = self.exit_state(t, kind, &name, p, "[]");
                }
                other => return Err(fatal(format!("state '{name}': type '{other}' cannot run"))),
            }
            prev = last;
            from = name.clone();
            let end = s.get("End").and_then(Value::as_bool).unwrap_or(false);
            match next {
                Some(n) if !end => name = n,
                _ => return Ok(Outcome::Done(last, t)),
            }
        }
        Err(fatal(
            "the execution did not end after a million states".into(),
        ))
    }
}

struct SimExecution {
    arn: String,
    machine: String,
    status: &'static str,
    history: Vec<Value>,
}

struct SfnState {
    rng: Xoshiro256PlusPlus,
    executions: Vec<SimExecution>,
}

/// The simulated Step Functions service: one state machine, the truth file's.
pub struct SimStepFunctions {
    spec: SimSpec,
    state: Mutex<SfnState>,
}

impl std::fmt::Debug for SimStepFunctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimStepFunctions")
            .field("state_machine", &self.spec.machine.arn)
            .finish()
    }
}

/// Epoch seconds of the first simulated execution (2026-01-01T00:00:00Z).
const EPOCH_S: f64 = 1_767_225_600.0;

impl SimStepFunctions {
    /// A service running the truth file's state machine, with its `past_executions` run.
    pub fn new(spec: SimSpec) -> Result<Self, CloudError> {
        let past = spec.truth.past_executions;
        let sim = SimStepFunctions {
            state: Mutex::new(SfnState {
                rng: Xoshiro256PlusPlus::seed_from_u64(spec.truth.seed),
                executions: Vec::new(),
            }),
            spec,
        };
        for _ in 0..past {
            sim.run_one("{}")?;
        }
        Ok(sim)
    }

    /// Reads a truth file; `seed` overrides its seed.
    pub fn load(path: &Path, seed: Option<u64>) -> anyhow::Result<Self> {
        let mut spec = SimSpec::load(path)?;
        if let Some(s) = seed {
            spec.truth.seed = s;
        }
        Self::new(spec)
            .with_context(|| format!("running the past executions of {}", path.display()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SfnState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_arn(&self, arn: &str) -> Result<(), CloudError> {
        if arn == self.spec.machine.arn || arn == self.spec.machine.name {
            Ok(())
        } else {
            Err(CloudError::NotFound(format!(
                "StateMachineDoesNotExist: {arn} (the simulated Step Functions has one state machine, {})",
                self.spec.machine.arn
            )))
        }
    }

    /// Executes the definition once; returns the status and the history.
    fn execute(
        &self,
        rng: &mut Xoshiro256PlusPlus,
        k: usize,
        input: &str,
    ) -> Result<(&'static str, Vec<Value>), CloudError> {
        let mut run = Run {
            spec: &self.spec,
            rng,
            events: Vec::new(),
        };
        let start = run.push(
            0.0,
            "ExecutionStarted",
            None,
            Some((
                "executionStartedEventDetails",
                json!({"input": input, "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::123456789012:role/optiserve-simulated"}),
            )),
        );
        let definition = self.spec.definition.clone();
        let (status, last, t) = match run.scope(&definition, "Start", start, 0.0)? {
            Outcome::Done(l, t) => ("SUCCEEDED", l, t),
            Outcome::Failed(l, t) => ("FAILED", l, t),
        };
        if status == "SUCCEEDED" {
            // From the last state to the end: a transition of its own.
            let from = run
                .events
                .get(last)
                .and_then(|e| e.details.as_ref())
                .and_then(|d| d.1.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let t = t + run.transition(&from, "End");
            run.push(
                t,
                "ExecutionSucceeded",
                Some(last),
                Some((
                    "executionSucceededEventDetails",
                    json!({"output": "{}", "outputDetails": {"truncated": false}}),
                )),
            );
        } else {
            run.push(
                t,
                "ExecutionFailed",
                Some(last),
                Some((
                    "executionFailedEventDetails",
                    json!({"error": "States.Fail", "cause": "a Fail state"}),
                )),
            );
        }
        // Ids in time order, as the service numbers them.
        let events = run.events;
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by(|&a, &b| events[a].t.total_cmp(&events[b].t).then(a.cmp(&b)));
        let mut id_of = vec![0i64; events.len()];
        for (pos, &i) in order.iter().enumerate() {
            id_of[i] = pos as i64 + 1;
        }
        let t0 = EPOCH_S + 3600.0 * k as f64;
        let history = order
            .iter()
            .map(|&i| {
                let e = &events[i];
                let mut v = json!({
                    "id": id_of[i],
                    "previousEventId": e.prev.map_or(0, |p| id_of[p]),
                    "timestamp": ((t0 * 1000.0 + e.t).round()) / 1000.0,
                    "type": e.kind,
                });
                if let Some((k, d)) = &e.details {
                    v[*k] = d.clone();
                }
                v
            })
            .collect();
        Ok((status, history))
    }

    /// Runs one execution now and records it; returns its ARN.
    fn run_one(&self, input: &str) -> Result<String, CloudError> {
        let mut guard = self.lock();
        let s = &mut *guard;
        let k = s.executions.len();
        let (status, history) = self.execute(&mut s.rng, k, input)?;
        let arn = format!(
            "arn:aws:states:us-east-1:123456789012:execution:{}:sim-{:06}",
            self.spec.machine.name,
            k + 1
        );
        s.executions.push(SimExecution {
            arn: arn.clone(),
            machine: self.spec.machine.arn.clone(),
            status,
            history,
        });
        Ok(arn)
    }
}

impl StepFunctions for SimStepFunctions {
    async fn describe_state_machine(&self, arn: &str) -> Result<StateMachine, CloudError> {
        self.check_arn(arn)?;
        Ok(self.spec.machine.clone())
    }

    async fn start_execution(
        &self,
        state_machine_arn: &str,
        input: &str,
    ) -> Result<String, CloudError> {
        self.check_arn(state_machine_arn)?;
        if serde_json::from_str::<Value>(input).is_err() {
            return Err(CloudError::Fatal(format!(
                "InvalidExecutionInput: the input is not JSON: {input}"
            )));
        }
        self.run_one(input)
    }

    async fn describe_execution(&self, execution_arn: &str) -> Result<String, CloudError> {
        self.lock()
            .executions
            .iter()
            .find(|e| e.arn == execution_arn)
            .map(|e| e.status.to_string())
            .ok_or_else(|| CloudError::NotFound(format!("ExecutionDoesNotExist: {execution_arn}")))
    }

    async fn get_execution_history(&self, execution_arn: &str) -> Result<Vec<Value>, CloudError> {
        self.lock()
            .executions
            .iter()
            .find(|e| e.arn == execution_arn)
            .map(|e| e.history.clone())
            .ok_or_else(|| CloudError::NotFound(format!("ExecutionDoesNotExist: {execution_arn}")))
    }

    async fn list_executions(
        &self,
        state_machine_arn: &str,
        max: usize,
    ) -> Result<Vec<String>, CloudError> {
        self.check_arn(state_machine_arn)?;
        Ok(self
            .lock()
            .executions
            .iter()
            .rev()
            .filter(|e| e.machine == self.spec.machine.arn)
            .take(max)
            .map(|e| e.arn.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use optiserve_core::sfn_history::parse_histories;

    /// A spec from a definition and truth text, without files.
    fn spec(definition: Value, truth: &str) -> SimSpec {
        let truth: Truth = toml::from_str(truth).unwrap();
        let mut functions = BTreeMap::new();
        for (name, f) in &truth.functions {
            functions.insert(
                name.clone(),
                FunctionBehaviour {
                    mean_ms: f.alpha_ms,
                    cov: f.noise_cov.unwrap_or(truth.noise_cov),
                },
            );
        }
        let s = SimSpec {
            machine: StateMachine {
                arn: "sm".into(),
                name: "sm".into(),
                definition: definition.to_string(),
                kind: "STANDARD".into(),
            },
            definition,
            functions,
            truth,
        };
        s.check(&s.definition, "$").unwrap();
        s.check_names().unwrap();
        s
    }

    const FIXED: &str = r#"
        noise_cov = 0.0
        [state_machine]
        definition = "unused.json"
        [functions.a]
        alpha_ms = 100.0
        beta_ms = 0.0
        gamma_per_mb = 0.0
        memory_mb = 1024
        [functions.b]
        alpha_ms = 300.0
        beta_ms = 0.0
        gamma_per_mb = 0.0
        memory_mb = 1024
        [maps.Items]
        items = 5
        [orchestration]
        state_ms = 0
        transition_ms = 0
        noise_cov = 0
    "#;

    fn task(f: &str, next: Option<&str>) -> Value {
        let mut t =
            json!({"Type": "Task", "Resource": format!("arn:aws:lambda:us-east-1:1:function:{f}")});
        match next {
            Some(n) => t["Next"] = json!(n),
            None => t["End"] = json!(true),
        }
        t
    }

    async fn run_once(sim: &SimStepFunctions) -> (String, Vec<Value>) {
        let e = sim.start_execution("sm", "{}").await.unwrap();
        let status = sim.describe_execution(&e).await.unwrap();
        (status, sim.get_execution_history(&e).await.unwrap())
    }

    fn latency(history: &[Value]) -> f64 {
        let text = json!({ "events": history }).to_string();
        parse_histories(&text, "t").unwrap()[0]
            .latency_ms()
            .unwrap()
    }

    #[tokio::test]
    async fn parallel_waits_for_its_longest_branch_and_a_map_for_its_items() {
        let def = json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "Items", "Branches": [
                {"StartAt": "A", "States": {"A": task("a", None)}},
                {"StartAt": "B", "States": {"B": task("b", None)}}]},
            "Items": {"Type": "Map", "MaxConcurrency": 2, "End": true,
                      "ItemProcessor": {"StartAt": "A2", "States": {"A2": task("a", None)}}}}});
        let sim = SimStepFunctions::new(spec(def, FIXED)).unwrap();
        let (status, h) = run_once(&sim).await;
        assert_eq!(status, "SUCCEEDED");
        // max(100, 300) for the Parallel, then 5 items of 100 ms in 2 slots: 3 rounds.
        assert!((latency(&h) - 600.0).abs() < 1e-6, "{}", latency(&h));
        let count = |k: &str| h.iter().filter(|e| e["type"] == k).count();
        assert_eq!(count("MapIterationStarted"), 5);
        assert_eq!(count("LambdaFunctionScheduled"), 7);
        // Ids follow time; every previousEventId points at an earlier event.
        for (k, e) in h.iter().enumerate() {
            assert_eq!(e["id"], json!(k + 1));
            assert!(e["previousEventId"].as_u64().unwrap() <= k as u64);
        }
    }

    #[tokio::test]
    async fn a_map_refills_its_pool_as_soon_as_an_item_finishes() {
        let def = json!({"StartAt": "Items", "States": {
            "Items": {"Type": "Map", "MaxConcurrency": 2, "End": true,
                      "ItemProcessor": {"StartAt": "A", "States": {"A": task("a", None)}}}}});
        let truth = FIXED.replace(
            "alpha_ms = 100.0\n",
            "alpha_ms = 100.0\n        noise_cov = 0.6\n",
        );
        let sim = SimStepFunctions::new(spec(def, &truth)).unwrap();
        let mut refilled_early = 0;
        for _ in 0..200 {
            let (status, h) = run_once(&sim).await;
            assert_eq!(status, "SUCCEEDED");
            let (mut start, mut end) = ([f64::NAN; 5], [f64::NAN; 5]);
            for e in &h {
                let at = |k: &str| e[k]["index"].as_u64().unwrap() as usize;
                let t = e["timestamp"].as_f64().unwrap() * 1000.0;
                match e["type"].as_str().unwrap() {
                    "MapIterationStarted" => start[at("mapIterationStartedEventDetails")] = t,
                    "MapIterationSucceeded" => end[at("mapIterationSucceededEventDetails")] = t,
                    _ => {}
                }
            }
            // The first two start at once; every later item starts when an earlier one ends,
            // and never more than two run at a time.
            assert!((start[0] - start[1]).abs() < 1.5, "{start:?}");
            for (k, &s) in start.iter().enumerate().skip(2) {
                assert!(
                    end[..k].iter().any(|&e| (e - s).abs() < 1.5),
                    "item {k} started at {s} but no slot freed then: {end:?}"
                );
                let running = end[..k].iter().filter(|&&e| e > s + 1.5).count();
                assert!(running < 2, "item {k}: {running} items still running");
            }
            // Waves would hold item 2 until both of items 0 and 1 ended.
            if start[2] < end[0].max(end[1]) - 1.5 {
                refilled_early += 1;
            }
        }
        assert!(refilled_early > 150, "{refilled_early} of 200");
    }

    #[tokio::test]
    async fn choices_follow_the_truth_and_the_seed_repeats_them() {
        let def = json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": true, "Next": "A"}], "Default": "B"},
            "A": task("a", None), "B": task("b", None)}});
        let truth = format!("{FIXED}\n[choices.C]\nA = 0.25\nB = 0.75\n")
            .replace("[maps.Items]\n        items = 5", "");
        let run = |seed: u64| {
            let truth = truth.replace(
                "noise_cov = 0.0\n",
                &format!("noise_cov = 0.0\nseed = {seed}\n"),
            );
            SimStepFunctions::new(spec(def.clone(), &truth)).unwrap()
        };
        let (one, two) = (run(3), run(3));
        let mut to_a = 0;
        for _ in 0..4000 {
            let (_, h1) = run_once(&one).await;
            let (_, h2) = run_once(&two).await;
            assert_eq!(h1, h2);
            if latency(&h1) < 200.0 {
                to_a += 1;
            }
        }
        let p = f64::from(to_a) / 4000.0;
        assert!(
            (p - 0.25).abs() < 4.0 * (0.25f64 * 0.75 / 4000.0).sqrt(),
            "{p}"
        );
    }

    #[tokio::test]
    async fn a_fail_state_fails_the_execution() {
        let def =
            json!({"StartAt": "A", "States": {"A": task("a", Some("F")), "F": {"Type": "Fail"}}});
        let sim = SimStepFunctions::new(spec(
            def,
            FIXED
                .replace("[maps.Items]\n        items = 5", "")
                .as_str(),
        ))
        .unwrap();
        let (status, h) = run_once(&sim).await;
        assert_eq!(status, "FAILED");
        assert_eq!(h.last().unwrap()["type"], "ExecutionFailed");
    }
}

#[cfg(test)]
mod service_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn spec(definition: Value, truth: &str) -> SimSpec {
        let truth: Truth = toml::from_str(truth).unwrap();
        let mut functions = BTreeMap::new();
        for (name, f) in &truth.functions {
            functions.insert(
                name.clone(),
                FunctionBehaviour {
                    mean_ms: f.alpha_ms,
                    cov: 0.0,
                },
            );
        }
        let s = SimSpec {
            machine: StateMachine {
                arn: "sm".into(),
                name: "sm".into(),
                definition: definition.to_string(),
                kind: "STANDARD".into(),
            },
            definition,
            functions,
            truth,
        };
        s.check(&s.definition, "$").unwrap();
        s.check_names().unwrap();
        s
    }

    const TRUTH: &str = r#"
        noise_cov = 0.0
        [state_machine]
        definition = "unused.json"
        [functions.a]
        alpha_ms = 100.0
        beta_ms = 0.0
        gamma_per_mb = 0.0
        memory_mb = 1024
        [services.Put]
        ms = 30.0
        [services.Review]
        ms = 500.0
        [callbacks.Approve]
        ms = 2000.0
        [maps.Fan]
        items = 10
        [orchestration]
        state_ms = 0
        transition_ms = 0
        noise_cov = 0
    "#;

    fn latency(history: &[Value]) -> f64 {
        let t = |k: &str| {
            history
                .iter()
                .find(|e| e["type"] == k)
                .and_then(|e| e["timestamp"].as_f64())
                .unwrap()
        };
        (t("ExecutionSucceeded") - t("ExecutionStarted")) * 1000.0
    }

    #[tokio::test]
    async fn service_tasks_callbacks_and_distributed_maps_write_aws_like_histories() {
        let def = json!({"StartAt": "Put", "States": {
            "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "Next": "Review"},
            "Review": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:review", "Next": "Approve"},
            "Approve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                        "Parameters": {"FunctionName": "a"}, "Next": "Fan"},
            "Fan": {"Type": "Map", "MaxConcurrency": 2, "ItemBatcher": {"MaxItemsPerBatch": 3}, "End": true,
                    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "A",
                                      "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:a", "End": true}}}}}});
        let sim = SimStepFunctions::new(spec(def, TRUTH)).unwrap();
        let e = sim.start_execution("sm", "{}").await.unwrap();
        let h = sim.get_execution_history(&e).await.unwrap();
        let kinds: Vec<&str> = h.iter().map(|e| e["type"].as_str().unwrap()).collect();
        for k in [
            "TaskScheduled",
            "ActivityScheduled",
            "ActivitySucceeded",
            "TaskSubmitted",
            "MapRunStarted",
            "MapRunSucceeded",
        ] {
            assert!(kinds.contains(&k), "{k} not in {kinds:?}");
        }
        // The children's events are not the parent's.
        assert!(!kinds.contains(&"MapIterationStarted"));
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == "LambdaFunctionScheduled")
                .count(),
            0
        );
        let put = h
            .iter()
            .find(|e| e["taskScheduledEventDetails"]["resourceType"] == "dynamodb")
            .unwrap();
        assert_eq!(put["taskScheduledEventDetails"]["resource"], "putItem");
        // 30 ms put, 500 ms review, 100 ms function + 2 s wait, then 4 batches of 3 items (10
        // items) of 100 ms each, 2 at a time: 200 ms.
        assert!((latency(&h) - 2830.0).abs() < 0.01, "{}", latency(&h));
        // A service state must have its time in the truth file.
        let def = json!({"StartAt": "Put", "States": {
            "Put": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": true}}});
        let truth: Truth = toml::from_str(TRUTH).unwrap();
        let s = SimSpec {
            machine: StateMachine {
                arn: "sm".into(),
                name: "sm".into(),
                definition: def.to_string(),
                kind: "STANDARD".into(),
            },
            definition: def.clone(),
            functions: BTreeMap::new(),
            truth: Truth {
                services: BTreeMap::new(),
                ..truth
            },
        };
        let err = s.check(&def, "$").unwrap_err().to_string();
        assert!(err.contains("give its time as [services.\"Put\"]"), "{err}");
    }
}
