//! The simulated cloud: Lambda functions described by duration models, with measurement noise,
//! cold starts, throttling, transient errors, failing invocations, out-of-memory kills, timeouts,
//! configuration updates that take a few polls to finish, and an optional crash; all seeded. It
//! answers with the same log tails as Lambda (text or JSON REPORT lines), so everything above the
//! [`Lambda`] trait runs exactly as against AWS.

use std::collections::BTreeMap;
use std::sync::Mutex;

use optiserve_core::bundle::{LAMBDA_MAX_MEMORY_MB, LAMBDA_MIN_MEMORY_MB};
use optiserve_core::limits::{self, Range};
use optiserve_core::model::{CpuShareModel, ExpModel};
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::{CloudError, FunctionConfig, InvokeOutput, Lambda};

/// The true behaviour of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimTruth {
    /// `ET(m) = alpha + beta·e^(−gamma·m)`, ms (left out when `cpu_share` gives the curve).
    #[serde(default)]
    pub alpha_ms: f64,
    /// See `alpha_ms`.
    #[serde(default)]
    pub beta_ms: f64,
    /// See `alpha_ms`, 1/MB.
    #[serde(default)]
    pub gamma_per_mb: f64,
    /// The curve as Lambda's CPU share instead: `{serial_ms, cpu_ms, knee_mb, parallel_fraction}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_share: Option<CpuShareModel>,
    /// Coefficient of variation of the noise (default: the cloud's `noise_cov`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_cov: Option<f64>,
    /// Below this memory the function is killed for lack of memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_memory_mb: Option<u32>,
    /// Init Duration of a cold start (default 250 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_ms: Option<f64>,
}

impl SimTruth {
    /// The noiseless duration at `memory_mb`.
    pub fn duration_ms(&self, memory_mb: u32) -> f64 {
        match &self.cpu_share {
            Some(m) => m.duration_ms(f64::from(memory_mb)),
            None => ExpModel::new(self.alpha_ms, self.beta_ms, self.gamma_per_mb)
                .duration_ms(f64::from(memory_mb)),
        }
    }

    /// Exactly one curve is given: the exponential's parameters or `cpu_share`, with finite
    /// numbers in their ranges and a duration within Lambda's timeout from 128 to 10240 MB.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("alpha_ms", self.alpha_ms),
            ("beta_ms", self.beta_ms),
            ("gamma_per_mb", self.gamma_per_mb),
        ] {
            if !v.is_finite() {
                return Err(format!("{name}: must be a finite number, found {v}"));
            }
        }
        if self.gamma_per_mb < 0.0 {
            return Err(format!(
                "gamma_per_mb: must be ≥ 0, found {}",
                self.gamma_per_mb
            ));
        }
        if let Some(c) = self.noise_cov
            && let Err(e) = NOISE_COV.check(c)
        {
            return Err(format!("noise_cov: {e}"));
        }
        if let Some(i) = self.init_ms
            && let Err(e) = limits::FUNCTION_DURATION_MS.check(i)
        {
            return Err(format!("init_ms: {e}"));
        }
        self.check_curve()?;
        for memory in [LAMBDA_MIN_MEMORY_MB, LAMBDA_MAX_MEMORY_MB] {
            let d = self.duration_ms(memory);
            if !(d > 0.0 && d <= limits::FUNCTION_DURATION_MS.max) {
                return Err(format!(
                    "the curve gives {} ms at {memory} MB: durations must be positive and at most {} ms ({})",
                    limits::show(d),
                    limits::FUNCTION_DURATION_MS.max,
                    limits::FUNCTION_DURATION_MS.why
                ));
            }
        }
        Ok(())
    }

    fn check_curve(&self) -> Result<(), String> {
        let exponential = [self.alpha_ms, self.beta_ms, self.gamma_per_mb] != [0.0; 3];
        match (&self.cpu_share, exponential) {
            (Some(_), true) => Err(
                "give either {alpha_ms, beta_ms, gamma_per_mb} or cpu_share, not both".to_string(),
            ),
            (None, false) => Err(
                "missing: the true curve, {alpha_ms, beta_ms, gamma_per_mb} or cpu_share = {serial_ms, cpu_ms, knee_mb}"
                    .to_string(),
            ),
            (Some(m), false) => m.check().map_err(|(field, e)| format!("cpu_share.{field}: {e}")),
            (None, true) => Ok(()),
        }
    }
}

/// The log format the simulated functions write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// `REPORT RequestId: … Duration: … ms …`
    #[default]
    Text,
    /// `{"type":"platform.report","record":{…}}`
    Json,
}

/// Behaviour of the whole simulated cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimSettings {
    /// Seed of every random draw.
    pub seed: u64,
    /// Default noise (coefficient of variation of durations).
    pub noise_cov: f64,
    /// Probability that a call lands on a new instance (besides the first after an update).
    pub cold_start_rate: f64,
    /// Probability that a call is throttled (HTTP 429).
    pub throttle_rate: f64,
    /// Probability of a transient service error (HTTP 500).
    pub transient_rate: f64,
    /// Probability that an invocation fails inside the function.
    pub failure_rate: f64,
    /// The log format.
    pub log_format: LogFormat,
    /// GetFunctionConfiguration calls that still see `InProgress` after an update.
    pub update_polls: u32,
    /// After this many invocations every further call fails for good (a crash, for tests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_after_invocations: Option<u64>,
}

/// The noise's coefficient of variation.
const NOISE_COV: Range = Range {
    min: 0.0,
    max: 10.0,
    unit: "",
    why: "a standard deviation ten times the mean",
};

impl SimSettings {
    /// Every probability in [0, 1] and the noise in its range; the error names the field.
    pub fn check(&self) -> Result<(), String> {
        for (name, p) in [
            ("cold_start_rate", self.cold_start_rate),
            ("throttle_rate", self.throttle_rate),
            ("transient_rate", self.transient_rate),
            ("failure_rate", self.failure_rate),
        ] {
            if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
                return Err(format!(
                    "{name}: must be a probability in [0, 1], found {p}"
                ));
            }
        }
        NOISE_COV
            .check(self.noise_cov)
            .map_err(|e| format!("noise_cov: {e}"))
    }
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            seed: 1,
            noise_cov: 0.03,
            cold_start_rate: 0.05,
            throttle_rate: 0.0,
            transient_rate: 0.0,
            failure_rate: 0.0,
            log_format: LogFormat::Text,
            update_polls: 2,
            crash_after_invocations: None,
        }
    }
}

/// How a variant is selected: environment variables set, fields in the payload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    pub env: BTreeMap<String, String>,
    pub payload: Option<serde_json::Value>,
}

/// One simulated function.
#[derive(Debug, Clone)]
pub struct SimFunction {
    /// Name (or ARN) it is called by.
    pub name: String,
    /// Initial memory.
    pub memory_mb: u32,
    /// Initial environment.
    pub env: BTreeMap<String, String>,
    /// Timeout in seconds.
    pub timeout_s: u32,
    /// Variants: how each is selected and how it behaves.
    pub variants: Vec<(Selector, SimTruth)>,
    /// Payloads that scale the true curve: an invocation whose payload carries every field of
    /// the first entry it matches (an object; any other value must be equal) runs the variant's
    /// curve times the entry's scale (1 when none matches).
    pub payload_scales: Vec<(serde_json::Value, f64)>,
}

/// Something the simulated cloud was asked to do (for tests).
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    Update {
        function: String,
        memory_mb: u32,
        env: BTreeMap<String, String>,
    },
    Invoke {
        function: String,
        memory_mb: u32,
        /// The reported duration, for a call that ran.
        duration_ms: Option<f64>,
        /// Request id.
        request_id: String,
    },
    Throttled,
    Publish {
        function: String,
        version: String,
    },
    Alias {
        function: String,
        alias: String,
        version: String,
    },
}

struct FnState {
    spec: SimFunction,
    config: FunctionConfig,
    polls_left: u32,
    warm_instances: u32,
    versions: Vec<FunctionConfig>,
    aliases: BTreeMap<String, String>,
}

struct State {
    rng: Xoshiro256PlusPlus,
    functions: BTreeMap<String, FnState>,
    invocations: u64,
    events: Vec<SimEvent>,
}

/// The simulated cloud.
pub struct SimCloud {
    settings: SimSettings,
    state: Mutex<State>,
}

impl std::fmt::Debug for SimCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCloud")
            .field("settings", &self.settings)
            .finish()
    }
}

fn uniform(rng: &mut Xoshiro256PlusPlus) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let (a, b) = (uniform(rng), uniform(rng));
    (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
}

impl SimCloud {
    /// A cloud with these functions.
    pub fn new(settings: SimSettings, functions: Vec<SimFunction>) -> Self {
        let functions = functions
            .into_iter()
            .map(|spec| {
                let config = FunctionConfig {
                    function: spec.name.clone(),
                    memory_mb: spec.memory_mb,
                    env: spec.env.clone(),
                    timeout_s: Some(spec.timeout_s),
                    last_update_status: Some("Successful".into()),
                    last_update_reason: None,
                };
                let state = FnState {
                    config,
                    polls_left: 0,
                    warm_instances: 0,
                    versions: Vec::new(),
                    aliases: BTreeMap::new(),
                    spec,
                };
                (state.spec.name.clone(), state)
            })
            .collect();
        SimCloud {
            state: Mutex::new(State {
                rng: Xoshiro256PlusPlus::seed_from_u64(settings.seed),
                functions,
                invocations: 0,
                events: Vec::new(),
            }),
            settings,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything the cloud was asked to do, in order.
    #[cfg(test)]
    pub fn events(&self) -> Vec<SimEvent> {
        self.lock().events.clone()
    }

    /// The current configuration of a function.
    #[cfg(test)]
    pub fn config(&self, function: &str) -> Option<FunctionConfig> {
        self.lock()
            .functions
            .get(function)
            .map(|f| f.config.clone())
    }

    /// The configuration behind an alias.
    #[cfg(test)]
    pub fn alias_config(&self, function: &str, alias: &str) -> Option<FunctionConfig> {
        let s = self.lock();
        let f = s.functions.get(function)?;
        let v: usize = f.aliases.get(alias)?.parse().ok()?;
        f.versions.get(v.checked_sub(1)?).cloned()
    }

    /// Invocations served (failed ones included).
    #[cfg(test)]
    pub fn invocations(&self) -> u64 {
        self.lock().invocations
    }

    fn not_found(function: &str) -> CloudError {
        CloudError::NotFound(format!(
            "Function not found: {function} (simulated cloud; the plan's functions are the only ones)"
        ))
    }

    fn chaos(&self, s: &mut State) -> Result<(), CloudError> {
        if uniform(&mut s.rng) < self.settings.throttle_rate {
            s.events.push(SimEvent::Throttled);
            return Err(CloudError::Throttled(
                "TooManyRequestsException: Rate exceeded (simulated)".into(),
            ));
        }
        if uniform(&mut s.rng) < self.settings.transient_rate {
            return Err(CloudError::Transient(
                "ServiceException: internal error (simulated HTTP 500)".into(),
            ));
        }
        Ok(())
    }

    fn run(&self, function: &str, payload: &[u8]) -> Result<InvokeOutput, CloudError> {
        let mut guard = self.lock();
        let s = &mut *guard;
        if let Some(limit) = self.settings.crash_after_invocations
            && s.invocations >= limit
        {
            return Err(CloudError::Fatal(format!(
                "simulated crash after {limit} invocations"
            )));
        }
        self.chaos(s)?;
        let f = s
            .functions
            .get_mut(function)
            .ok_or_else(|| Self::not_found(function))?;
        if f.polls_left > 0 {
            return Err(CloudError::Fatal(format!(
                "ResourceConflictException: {function} is being updated (simulated)"
            )));
        }
        s.invocations += 1;
        let request_id = format!("sim-{:08}", s.invocations);
        let payload: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
        let m = f.config.memory_mb;
        let matches = |sel: &Selector| {
            sel.env.iter().all(|(k, v)| f.config.env.get(k) == Some(v))
                && sel.payload.as_ref().is_none_or(|p| match p {
                    serde_json::Value::Object(want) => {
                        want.iter().all(|(k, v)| payload.get(k) == Some(v))
                    }
                    other => &payload == other,
                })
        };
        let truth = f
            .spec
            .variants
            .iter()
            .find(|(sel, _)| matches(sel))
            .or_else(|| (f.spec.variants.len() == 1).then(|| &f.spec.variants[0]))
            .map(|(_, t)| t.clone());
        let rng = &mut s.rng;
        let cold = f.warm_instances == 0 || uniform(rng) < self.settings.cold_start_rate;
        if cold {
            f.warm_instances += 1;
        }
        let Some(truth) = truth else {
            let log = format!(
                "START RequestId: {request_id} Version: $LATEST\n[ERROR] KeyError: no model selected\nEND RequestId: {request_id}\n{}",
                report_line(
                    self.settings.log_format,
                    &request_id,
                    3.0,
                    m,
                    50.0,
                    None,
                    Some("error")
                )
            );
            s.events.push(SimEvent::Invoke {
                function: function.into(),
                memory_mb: m,
                duration_ms: None,
                request_id,
            });
            return Ok(InvokeOutput {
                function_error: Some("Unhandled".into()),
                log_tail: Some(log),
                payload: br#"{"errorMessage":"no model selected","errorType":"KeyError"}"#.to_vec(),
            });
        };
        let cov = truth.noise_cov.unwrap_or(self.settings.noise_cov);
        let scale = f
            .spec
            .payload_scales
            .iter()
            .find(|(given, _)| match given {
                serde_json::Value::Object(want) => {
                    want.iter().all(|(k, v)| payload.get(k) == Some(v))
                }
                other => &payload == other,
            })
            .map_or(1.0, |(_, s)| *s);
        let duration =
            (scale * truth.duration_ms(m) * (1.0 + cov * normal(rng)).max(0.05)).max(0.5);
        let duration = (duration * 100.0).round() / 100.0;
        let init =
            cold.then(|| truth.init_ms.unwrap_or(250.0) * (1.0 + 0.1 * normal(rng)).max(0.2));
        let used = f64::from(truth.min_memory_mb.unwrap_or(64)).min(f64::from(m)) * 0.9;
        let timeout_ms = f64::from(f.config.timeout_s.unwrap_or(3)) * 1000.0;
        let fmt = self.settings.log_format;
        let start = format!("START RequestId: {request_id} Version: $LATEST\n");
        let end = format!("END RequestId: {request_id}\n");
        let (function_error, body, log, reported) = if truth
            .min_memory_mb
            .is_some_and(|min| m < min)
        {
            let d = (duration * 0.4).round();
            (
                Some("Unhandled".to_string()),
                r#"{"errorType":"Runtime.ExitError","errorMessage":"RequestId: x Error: Runtime exited with error: signal: killed"}"#.to_string(),
                format!(
                    "{start}Error: Runtime exited with error: signal: killed\nRuntime.ExitError\n{end}{}",
                    report_line(fmt, &request_id, d, m, f64::from(m), init, Some("error"))
                ),
                None,
            )
        } else if duration > timeout_ms {
            let secs = timeout_ms / 1000.0;
            (
                Some("Unhandled".to_string()),
                format!(r#"{{"errorMessage":"Task timed out after {secs:.2} seconds"}}"#),
                format!(
                    "{start}{request_id} Task timed out after {secs:.2} seconds\n{end}{}",
                    report_line(fmt, &request_id, timeout_ms, m, used, init, Some("timeout"))
                ),
                None,
            )
        } else if uniform(rng) < self.settings.failure_rate {
            (
                Some("Unhandled".to_string()),
                r#"{"errorMessage":"injected failure","errorType":"SimulatedError"}"#.to_string(),
                format!(
                    "{start}[ERROR] SimulatedError: injected failure\n{end}{}",
                    report_line(
                        fmt,
                        &request_id,
                        (duration * 0.5).round(),
                        m,
                        used,
                        init,
                        Some("error")
                    )
                ),
                None,
            )
        } else {
            (
                None,
                r#"{"statusCode":200}"#.to_string(),
                format!(
                    "{start}{end}{}",
                    report_line(fmt, &request_id, duration, m, used, init, None)
                ),
                Some(duration),
            )
        };
        s.events.push(SimEvent::Invoke {
            function: function.into(),
            memory_mb: m,
            duration_ms: reported,
            request_id,
        });
        Ok(InvokeOutput {
            function_error,
            log_tail: Some(log),
            payload: body.into_bytes(),
        })
    }
}

/// A REPORT line in the given format.
fn report_line(
    fmt: LogFormat,
    request_id: &str,
    duration: f64,
    memory_mb: u32,
    used_mb: f64,
    init: Option<f64>,
    status: Option<&str>,
) -> String {
    let billed = duration.ceil();
    let used = used_mb.round();
    match fmt {
        LogFormat::Text => {
            let mut s = format!(
                "REPORT RequestId: {request_id}\tDuration: {duration:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {used} MB\t"
            );
            if let Some(i) = init {
                s.push_str(&format!("Init Duration: {i:.2} ms\t"));
            }
            if let Some(st) = status {
                s.push_str(&format!("Status: {st}\t"));
            }
            s.push('\n');
            s
        }
        LogFormat::Json => {
            let mut metrics = serde_json::json!({
                "durationMs": duration, "billedDurationMs": billed,
                "memorySizeMB": memory_mb, "maxMemoryUsedMB": used,
            });
            if let Some(i) = init {
                metrics["initDurationMs"] = serde_json::json!((i * 100.0).round() / 100.0);
            }
            let line = serde_json::json!({
                "time": "2026-01-01T00:00:00.000Z", "type": "platform.report",
                "record": {"requestId": request_id, "metrics": metrics, "status": status.unwrap_or("success")},
            });
            format!("{line}\n")
        }
    }
}

impl Lambda for SimCloud {
    async fn get_configuration(&self, function: &str) -> Result<FunctionConfig, CloudError> {
        let mut guard = self.lock();
        let s = &mut *guard;
        self.chaos(s)?;
        let f = s
            .functions
            .get_mut(function)
            .ok_or_else(|| Self::not_found(function))?;
        let mut c = f.config.clone();
        if f.polls_left > 0 {
            f.polls_left -= 1;
            c.last_update_status = Some("InProgress".into());
        }
        Ok(c)
    }

    async fn update_configuration(
        &self,
        function: &str,
        memory_mb: u32,
        env: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        let mut guard = self.lock();
        let s = &mut *guard;
        self.chaos(s)?;
        let f = s
            .functions
            .get_mut(function)
            .ok_or_else(|| Self::not_found(function))?;
        if f.polls_left > 0 {
            return Err(CloudError::Fatal(format!(
                "ResourceConflictException: an update of {function} is in progress (simulated)"
            )));
        }
        if !(128..=10_240).contains(&memory_mb) {
            return Err(CloudError::Fatal(format!(
                "InvalidParameterValueException: MemorySize {memory_mb} is outside 128–10240 MB"
            )));
        }
        f.config.memory_mb = memory_mb;
        f.config.env = env.clone();
        f.polls_left = self.settings.update_polls;
        f.warm_instances = 0;
        s.events.push(SimEvent::Update {
            function: function.into(),
            memory_mb,
            env: env.clone(),
        });
        Ok(())
    }

    async fn invoke(&self, function: &str, payload: &[u8]) -> Result<InvokeOutput, CloudError> {
        self.run(function, payload)
    }

    async fn publish_version(
        &self,
        function: &str,
        _description: &str,
    ) -> Result<String, CloudError> {
        let mut guard = self.lock();
        let s = &mut *guard;
        let f = s
            .functions
            .get_mut(function)
            .ok_or_else(|| Self::not_found(function))?;
        f.versions.push(f.config.clone());
        let version = f.versions.len().to_string();
        s.events.push(SimEvent::Publish {
            function: function.into(),
            version: version.clone(),
        });
        Ok(version)
    }

    async fn set_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> Result<Option<String>, CloudError> {
        let mut guard = self.lock();
        let s = &mut *guard;
        let f = s
            .functions
            .get_mut(function)
            .ok_or_else(|| Self::not_found(function))?;
        let before = f.aliases.insert(alias.into(), version.into());
        s.events.push(SimEvent::Alias {
            function: function.into(),
            alias: alias.into(),
            version: version.into(),
        });
        Ok(before)
    }
}

/// Simulated state machine definitions (for `profile` and `apply` on the simulated cloud): a map
/// from ARN to definition; an update of `fail_update_of` is refused, as AWS refuses an invalid
/// definition.
#[derive(Debug, Default)]
pub struct SimStateMachines {
    definitions: Mutex<BTreeMap<String, String>>,
    /// Refuse every update of this ARN.
    pub fail_update_of: Option<String>,
    updates: Mutex<Vec<String>>,
}

impl SimStateMachines {
    /// State machines with these definitions.
    pub fn new(definitions: impl IntoIterator<Item = (String, String)>) -> Self {
        SimStateMachines {
            definitions: Mutex::new(definitions.into_iter().collect()),
            ..SimStateMachines::default()
        }
    }

    /// The definition now.
    pub fn get(&self, arn: &str) -> Option<String> {
        self.definitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(arn)
            .cloned()
    }

    /// The ARNs updated, in order.
    #[cfg(test)]
    pub fn updates(&self) -> Vec<String> {
        self.updates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl super::Definitions for SimStateMachines {
    async fn definition(&self, arn: &str) -> Result<String, CloudError> {
        self.get(arn)
            .ok_or_else(|| CloudError::NotFound(format!("state machine {arn}")))
    }

    async fn update_definition(&self, arn: &str, definition: &str) -> Result<(), CloudError> {
        if self.fail_update_of.as_deref() == Some(arn) {
            return Err(CloudError::Fatal(format!(
                "InvalidDefinition: {arn} (simulated)"
            )));
        }
        let mut d = self
            .definitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = d
            .get_mut(arn)
            .ok_or_else(|| CloudError::NotFound(format!("state machine {arn}")))?;
        *slot = definition.to_string();
        self.updates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(arn.to_string());
        Ok(())
    }
}
