//! The cloud behind `profile` and `apply`: one trait for the Lambda operations they need, with
//! two backends, [`aws::AwsLambda`] (the AWS SDK: AWS itself or an emulator at `--endpoint-url`)
//! and [`sim::SimCloud`] (a seeded simulated cloud).
//!
//! Step Functions measurement (DescribeStateMachine, StartExecution, DescribeExecution,
//! GetExecutionHistory, ListExecutions) is the second trait, [`StepFunctions`], with the backends
//! [`aws::AwsStepFunctions`] (aws-sdk-sfn) and [`sim_sfn::SimStepFunctions`] (a simulator that
//! executes the state machine's definition).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

pub mod aws;
pub mod report;
pub mod sim;
pub mod sim_sfn;

/// A function's configuration, as far as profiling and applying are concerned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FunctionConfig {
    /// The function's name (or ARN) as given.
    pub function: String,
    /// Memory (MB).
    pub memory_mb: u32,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Timeout (seconds), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u32>,
    /// `LastUpdateStatus`: `Successful`, `InProgress` or `Failed` (absent on some emulators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_status: Option<String>,
    /// Why the last update failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_reason: Option<String>,
}

impl FunctionConfig {
    /// Same memory and environment.
    pub fn same_settings(&self, other: &FunctionConfig) -> bool {
        self.memory_mb == other.memory_mb && self.env == other.env
    }
}

/// The response to one invocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvokeOutput {
    /// `X-Amz-Function-Error` (`Unhandled`, `Handled`) when the function failed.
    pub function_error: Option<String>,
    /// The decoded log tail (`LogType=Tail`), when returned.
    pub log_tail: Option<String>,
    /// The response payload.
    pub payload: Vec<u8>,
}

/// What went wrong talking to the cloud.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CloudError {
    /// Throttled (`TooManyRequestsException`, `ThrottlingException`, HTTP 429): retried.
    #[error("throttled: {0}")]
    Throttled(String),
    /// A transient service or network failure (HTTP 5xx, timeouts, dropped connections): retried.
    #[error("transient failure: {0}")]
    Transient(String),
    /// The function does not exist.
    #[error("function not found: {0}")]
    NotFound(String),
    /// Any other failure (permissions, invalid parameters): not retried.
    #[error("{0}")]
    Fatal(String),
}

impl CloudError {
    /// Worth trying again.
    pub fn retryable(&self) -> bool {
        matches!(self, CloudError::Throttled(_) | CloudError::Transient(_))
    }
}

/// The Lambda operations the profiler and `apply` use. Every method is one API call; retries and
/// waiting are the caller's ([`retry`], [`wait_updated`]).
pub trait Lambda: Send + Sync {
    /// GetFunctionConfiguration.
    fn get_configuration(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<FunctionConfig, CloudError>> + Send;
    /// UpdateFunctionConfiguration with the memory and the whole environment.
    fn update_configuration(
        &self,
        function: &str,
        memory_mb: u32,
        env: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Invoke (RequestResponse) with `LogType=Tail`.
    fn invoke(
        &self,
        function: &str,
        payload: &[u8],
    ) -> impl Future<Output = Result<InvokeOutput, CloudError>> + Send;
    /// PublishVersion; returns the version number.
    fn publish_version(
        &self,
        function: &str,
        description: &str,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// Points `alias` at `version`, creating the alias when it does not exist. Returns the
    /// version it pointed at before, if it existed.
    fn set_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> impl Future<Output = Result<Option<String>, CloudError>> + Send;
}

/// A state machine, as DescribeStateMachine returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachine {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The Amazon States Language definition (JSON text).
    pub definition: String,
    /// `STANDARD` or `EXPRESS`.
    pub kind: String,
}

/// The Step Functions operations `workflow import-asl`, `measure` and `validate` use. Every method
/// is one API call (GetExecutionHistory: all its pages); retries are the caller's ([`retry`]).
pub trait StepFunctions: Send + Sync {
    /// DescribeStateMachine.
    fn describe_state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<StateMachine, CloudError>> + Send;
    /// StartExecution with this input (JSON text); returns the execution's ARN.
    fn start_execution(
        &self,
        state_machine_arn: &str,
        input: &str,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// DescribeExecution; returns the status (`RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`,
    /// `ABORTED`, `PENDING_REDRIVE`).
    fn describe_execution(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// GetExecutionHistory, every page, oldest event first: each event as the API's JSON
    /// (`{"id", "previousEventId", "timestamp", "type", "…EventDetails"}`), the shape
    /// `optiserve_core::sfn_history::parse_histories` reads.
    fn get_execution_history(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<Vec<serde_json::Value>, CloudError>> + Send;
    /// ListExecutions: the ARNs of the newest `max` executions that have finished, newest first.
    fn list_executions(
        &self,
        state_machine_arn: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<String>, CloudError>> + Send;
}

/// Reading and replacing a state machine's definition: `profile` reads which payload-selected
/// variant a state machine passes, `apply` switches it. Every method is one API call.
pub trait Definitions: Send + Sync {
    /// DescribeStateMachine's definition (JSON text).
    fn definition(&self, arn: &str) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// UpdateStateMachine with a new definition.
    fn update_definition(
        &self,
        arn: &str,
        definition: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
}

/// Replaces a state machine's definition, then polls it until the new one is what
/// DescribeStateMachine returns (`policy.update_polls` polls) and verifies it.
pub async fn update_definition_and_wait<D: Definitions>(
    defs: &D,
    policy: &RetryPolicy,
    stats: &RetryStats,
    arn: &str,
    definition: &str,
) -> Result<(), CloudError> {
    retry(policy, stats, "UpdateStateMachine", || {
        defs.update_definition(arn, definition)
    })
    .await?;
    for _ in 0..policy.update_polls.max(1) {
        let now = retry(policy, stats, "DescribeStateMachine", || {
            defs.definition(arn)
        })
        .await?;
        if optiserve_core::payload_site::same_definition(&now, definition) {
            return Ok(());
        }
        tokio::time::sleep(policy.poll_delay).await;
    }
    Err(CloudError::Fatal(format!(
        "{arn}: after the update the state machine's definition is still not the new one ({} polls)",
        policy.update_polls
    )))
}

/// Backoff between retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (the first included).
    pub attempts: u32,
    /// First delay; doubled each time, with jitter, up to `max_delay`.
    pub base_delay: Duration,
    /// Largest delay.
    pub max_delay: Duration,
    /// Polls of `LastUpdateStatus` before giving up.
    pub update_polls: u32,
    /// Delay between polls.
    pub poll_delay: Duration,
}

impl RetryPolicy {
    /// For AWS: 8 attempts from 200 ms to 20 s; updates polled every second for 5 minutes.
    pub fn aws() -> Self {
        RetryPolicy {
            attempts: 8,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            update_polls: 300,
            poll_delay: Duration::from_secs(1),
        }
    }

    /// For the simulated cloud: the same counts, no waiting.
    pub fn instant() -> Self {
        RetryPolicy {
            attempts: 8,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            update_polls: 300,
            poll_delay: Duration::ZERO,
        }
    }

    fn delay(&self, attempt: u32, jitter_seed: u64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        // Full jitter in [exp/2, exp], from a cheap deterministic hash.
        let h = jitter_seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(u64::from(attempt));
        let frac = 0.5 + 0.5 * ((h >> 11) as f64 / (1u64 << 53) as f64);
        exp.mul_f64(frac)
    }
}

/// Counts retries, for the progress display and the run report.
#[derive(Debug, Default)]
pub struct RetryStats {
    pub throttled: std::sync::atomic::AtomicU64,
    pub transient: std::sync::atomic::AtomicU64,
}

/// Runs `op` until it succeeds, fails for good, or runs out of attempts; throttling and transient
/// failures are retried with exponential backoff and jitter.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    stats: &RetryStats,
    what: &str,
    mut op: F,
) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    use std::sync::atomic::Ordering::Relaxed;
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.retryable() && attempt + 1 < policy.attempts => {
                match e {
                    CloudError::Throttled(_) => stats.throttled.fetch_add(1, Relaxed),
                    _ => stats.transient.fetch_add(1, Relaxed),
                };
                let seed = what.bytes().fold(u64::from(attempt), |h, b| {
                    h.wrapping_mul(31).wrapping_add(u64::from(b))
                });
                tokio::time::sleep(policy.delay(attempt, seed)).await;
                attempt += 1;
            }
            Err(e) if e.retryable() => {
                return Err(CloudError::Fatal(format!(
                    "{what}: gave up after {} attempts: {e}",
                    policy.attempts
                )));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Polls until `LastUpdateStatus` is `Successful` (an absent status counts as done), failing on
/// `Failed` or after `policy.update_polls` polls. Returns the configuration then in place.
pub async fn wait_updated<C: Lambda>(
    cloud: &C,
    policy: &RetryPolicy,
    stats: &RetryStats,
    function: &str,
) -> Result<FunctionConfig, CloudError> {
    for _ in 0..policy.update_polls.max(1) {
        let config = retry(policy, stats, "GetFunctionConfiguration", || {
            cloud.get_configuration(function)
        })
        .await?;
        match config.last_update_status.as_deref() {
            None | Some("Successful") => return Ok(config),
            Some("Failed") => {
                return Err(CloudError::Fatal(format!(
                    "the configuration update of {function} failed: {}",
                    config
                        .last_update_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                )));
            }
            Some(_) => tokio::time::sleep(policy.poll_delay).await,
        }
    }
    Err(CloudError::Fatal(format!(
        "the configuration update of {function} did not finish after {} polls",
        policy.update_polls
    )))
}

/// Updates memory and environment, waits for the update to finish, and checks that the function
/// then has exactly that configuration.
pub async fn configure<C: Lambda>(
    cloud: &C,
    policy: &RetryPolicy,
    stats: &RetryStats,
    function: &str,
    memory_mb: u32,
    env: &BTreeMap<String, String>,
) -> Result<FunctionConfig, CloudError> {
    // An update is refused while another is in progress: wait for it first.
    wait_updated(cloud, policy, stats, function).await?;
    retry(policy, stats, "UpdateFunctionConfiguration", || {
        cloud.update_configuration(function, memory_mb, env)
    })
    .await?;
    let now = wait_updated(cloud, policy, stats, function).await?;
    if now.memory_mb != memory_mb || &now.env != env {
        return Err(CloudError::Fatal(format!(
            "{function}: after the update the function has {} MB and {} environment variables, not {memory_mb} MB and {}",
            now.memory_mb,
            now.env.len(),
            env.len()
        )));
    }
    Ok(now)
}
