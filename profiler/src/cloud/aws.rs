//! The AWS backend: aws-sdk-lambda and aws-sdk-sfn with aws-config's default credential chain (environment,
//! shared config and credentials files with `--profile`, SSO, web identity, ECS and EC2 roles),
//! `--region`, and `--endpoint-url` for a local emulator. The SDK's own retries are turned off:
//! [`super::retry`] retries throttling and 5xx with backoff for every backend alike.

use std::collections::{BTreeMap, HashMap};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, LogType};
use base64::Engine;

use super::{CloudError, FunctionConfig, InvokeOutput, Lambda, StateMachine, StepFunctions};

/// Where and as whom to connect.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Region (else the default chain: `AWS_REGION`, the profile's region).
    pub region: Option<String>,
    /// A named profile of the shared config files.
    pub profile: Option<String>,
    /// Another endpoint (an emulator such as moto).
    pub endpoint_url: Option<String>,
}

/// The Lambda API through the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsLambda {
    client: Client,
    region: Option<String>,
}

/// The shared SDK configuration: rustls with ring, no SDK retries, the options' region, profile
/// and endpoint.
async fn sdk_config(options: &AwsOptions) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::disabled());
    if let Some(r) = &options.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(p) = &options.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &options.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

impl AwsLambda {
    /// Loads the configuration (credentials are resolved lazily, on the first call).
    pub async fn connect(options: &AwsOptions) -> Self {
        let config = sdk_config(options).await;
        let region = config.region().map(|r| r.to_string());
        AwsLambda {
            client: Client::new(&config),
            region,
        }
    }

    /// The region in use, if one was found.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
}

/// Maps an SDK error: throttling and 5xx are retryable, a missing function is named.
fn map_err<E>(op: &str, function: &str, e: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let text = format!("{op} {function}: {}", DisplayErrorContext(&e));
    match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let status = se_status(&e);
            if matches!(
                code,
                "TooManyRequestsException"
                    | "ThrottlingException"
                    | "Throttling"
                    | "RequestLimitExceeded"
                    | "EC2ThrottledException"
            ) || status == Some(429)
            {
                CloudError::Throttled(text)
            } else if matches!(
                code,
                "ResourceNotFoundException" | "StateMachineDoesNotExist" | "ExecutionDoesNotExist"
            ) || status == Some(404)
            {
                CloudError::NotFound(text)
            } else if code == "ResourceConflictException"
                || code == "ServiceException"
                || status.is_some_and(|s| s >= 500)
            {
                CloudError::Transient(text)
            } else {
                CloudError::Fatal(text)
            }
        }
        // No credentials (or another failure before the request left): retrying cannot help.
        SdkError::DispatchFailure(d) if !d.is_io() && !d.is_timeout() => {
            if text.contains("credentials") {
                CloudError::Fatal(format!(
                    "{op} {function}: no AWS credentials could be loaded from aws-config's default \
                     chain (environment variables, shared config and credentials files with \
                     --profile, SSO, web identity, container and instance roles); give them, or \
                     point --endpoint-url at an emulator"
                ))
            } else {
                CloudError::Fatal(text)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            CloudError::Transient(text)
        }
        _ => CloudError::Fatal(text),
    }
}

fn se_status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

impl Lambda for AwsLambda {
    async fn get_configuration(&self, function: &str) -> Result<FunctionConfig, CloudError> {
        let out = self
            .client
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| map_err("GetFunctionConfiguration", function, e))?;
        let env = out
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(FunctionConfig {
            function: function.to_string(),
            memory_mb: out
                .memory_size()
                .and_then(|m| u32::try_from(m).ok())
                .unwrap_or(128),
            env,
            timeout_s: out.timeout().and_then(|t| u32::try_from(t).ok()),
            last_update_status: out.last_update_status().map(|s| s.as_str().to_string()),
            last_update_reason: out.last_update_status_reason().map(str::to_string),
        })
    }

    async fn update_configuration(
        &self,
        function: &str,
        memory_mb: u32,
        env: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        let variables: HashMap<String, String> =
            env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        self.client
            .update_function_configuration()
            .function_name(function)
            .memory_size(i32::try_from(memory_mb).unwrap_or(i32::MAX))
            .environment(
                Environment::builder()
                    .set_variables(Some(variables))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| map_err("UpdateFunctionConfiguration", function, e))?;
        Ok(())
    }

    async fn invoke(&self, function: &str, payload: &[u8]) -> Result<InvokeOutput, CloudError> {
        let out = self
            .client
            .invoke()
            .function_name(function)
            .log_type(LogType::Tail)
            .payload(Blob::new(payload.to_vec()))
            .send()
            .await
            .map_err(|e| map_err("Invoke", function, e))?;
        let log_tail = match out.log_result() {
            Some(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .map_err(|e| {
                        CloudError::Fatal(format!(
                            "Invoke {function}: LogResult is not base64: {e}"
                        ))
                    })?,
            ),
            None => None,
        };
        Ok(InvokeOutput {
            function_error: out.function_error().map(str::to_string),
            log_tail,
            payload: out
                .payload()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default(),
        })
    }

    async fn publish_version(
        &self,
        function: &str,
        description: &str,
    ) -> Result<String, CloudError> {
        let out = self
            .client
            .publish_version()
            .function_name(function)
            .description(description)
            .send()
            .await
            .map_err(|e| map_err("PublishVersion", function, e))?;
        out.version().map(str::to_string).ok_or_else(|| {
            CloudError::Fatal(format!(
                "PublishVersion {function}: no version in the response"
            ))
        })
    }

    async fn set_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> Result<Option<String>, CloudError> {
        let existing = self
            .client
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await;
        match existing {
            Ok(a) => {
                let before = a.function_version().map(str::to_string);
                self.client
                    .update_alias()
                    .function_name(function)
                    .name(alias)
                    .function_version(version)
                    .send()
                    .await
                    .map_err(|e| map_err("UpdateAlias", function, e))?;
                Ok(before)
            }
            Err(e) => match map_err("GetAlias", function, e) {
                CloudError::NotFound(_) => {
                    self.client
                        .create_alias()
                        .function_name(function)
                        .name(alias)
                        .function_version(version)
                        .send()
                        .await
                        .map_err(|e| map_err("CreateAlias", function, e))?;
                    Ok(None)
                }
                other => Err(other),
            },
        }
    }
}

/// The Step Functions API through the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsStepFunctions {
    client: aws_sdk_sfn::Client,
    /// Executions started, for unique names.
    started: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// This process' start (ms since the epoch), for unique names.
    session: u128,
}

impl AwsStepFunctions {
    /// Loads the configuration (credentials are resolved lazily, on the first call).
    pub async fn connect(options: &AwsOptions) -> Self {
        let config = sdk_config(options).await;
        AwsStepFunctions {
            client: aws_sdk_sfn::Client::new(&config),
            started: Default::default(),
            session: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
        }
    }
}

/// One SDK history event in the JSON shape of the API (what `sfn_history::parse_histories`
/// reads): id, previous id, type, epoch-second timestamp, and the details the analysis uses.
pub fn history_event_json(e: &aws_sdk_sfn::types::HistoryEvent) -> serde_json::Value {
    use serde_json::json;
    let t = e.timestamp();
    let seconds = t.secs() as f64 + f64::from(t.subsec_nanos()) / 1e9;
    let mut v = json!({
        "id": e.id(),
        "previousEventId": e.previous_event_id(),
        "timestamp": seconds,
        "type": e.r#type().as_str(),
    });
    if let Some(d) = e.state_entered_event_details() {
        v["stateEnteredEventDetails"] = json!({"name": d.name()});
    }
    if let Some(d) = e.state_exited_event_details() {
        v["stateExitedEventDetails"] = json!({"name": d.name()});
    }
    if let Some(d) = e.lambda_function_scheduled_event_details() {
        v["lambdaFunctionScheduledEventDetails"] = json!({"resource": d.resource()});
    }
    if let Some(d) = e.task_scheduled_event_details() {
        v["taskScheduledEventDetails"] = json!({
            "resourceType": d.resource_type(),
            "resource": d.resource(),
            "region": d.region(),
            "parameters": d.parameters(),
        });
    }
    for (key, d) in [
        (
            "mapIterationStartedEventDetails",
            e.map_iteration_started_event_details(),
        ),
        (
            "mapIterationSucceededEventDetails",
            e.map_iteration_succeeded_event_details(),
        ),
    ] {
        if let Some(d) = d {
            v[key] = json!({"name": d.name(), "index": d.index()});
        }
    }
    if let Some(d) = e.execution_failed_event_details() {
        v["executionFailedEventDetails"] = json!({"error": d.error(), "cause": d.cause()});
    }
    v
}

impl super::Definitions for AwsStepFunctions {
    async fn definition(&self, arn: &str) -> Result<String, CloudError> {
        Ok(self.describe_state_machine(arn).await?.definition)
    }

    async fn update_definition(&self, arn: &str, definition: &str) -> Result<(), CloudError> {
        self.client
            .update_state_machine()
            .state_machine_arn(arn)
            .definition(definition)
            .send()
            .await
            .map_err(|e| map_err("UpdateStateMachine", arn, e))?;
        Ok(())
    }
}

impl StepFunctions for AwsStepFunctions {
    async fn describe_state_machine(&self, arn: &str) -> Result<StateMachine, CloudError> {
        let out = self
            .client
            .describe_state_machine()
            .state_machine_arn(arn)
            .send()
            .await
            .map_err(|e| map_err("DescribeStateMachine", arn, e))?;
        Ok(StateMachine {
            arn: out.state_machine_arn().to_string(),
            name: out.name().to_string(),
            definition: out.definition().to_string(),
            kind: out.r#type().as_str().to_string(),
        })
    }

    async fn start_execution(&self, arn: &str, input: &str) -> Result<String, CloudError> {
        // A unique name (the service would make one up, but some emulators do not).
        let k = self
            .started
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("optiserve-{}-{}-{k}", self.session, std::process::id());
        let out = self
            .client
            .start_execution()
            .state_machine_arn(arn)
            .name(name)
            .input(input)
            .send()
            .await
            .map_err(|e| map_err("StartExecution", arn, e))?;
        Ok(out.execution_arn().to_string())
    }

    async fn describe_execution(&self, arn: &str) -> Result<String, CloudError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| map_err("DescribeExecution", arn, e))?;
        Ok(out.status().as_str().to_string())
    }

    async fn get_execution_history(&self, arn: &str) -> Result<Vec<serde_json::Value>, CloudError> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .get_execution_history()
                .execution_arn(arn)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| map_err("GetExecutionHistory", arn, e))?;
            events.extend(out.events().iter().map(history_event_json));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(events),
            }
        }
    }

    async fn list_executions(&self, arn: &str, max: usize) -> Result<Vec<String>, CloudError> {
        use aws_sdk_sfn::types::ExecutionStatus;
        let mut out_arns = Vec::new();
        let mut token: Option<String> = None;
        while out_arns.len() < max {
            let out = self
                .client
                .list_executions()
                .state_machine_arn(arn)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| map_err("ListExecutions", arn, e))?;
            // Newest first; only finished executions have complete histories.
            out_arns.extend(
                out.executions()
                    .iter()
                    .filter(|x| {
                        !matches!(
                            x.status(),
                            ExecutionStatus::Running | ExecutionStatus::PendingRedrive
                        )
                    })
                    .map(|x| x.execution_arn().to_string()),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out_arns.truncate(max);
        Ok(out_arns)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{
        HistoryEvent, HistoryEventType, LambdaFunctionScheduledEventDetails,
        StateEnteredEventDetails, StateExitedEventDetails, TaskScheduledEventDetails,
    };
    use optiserve_core::sfn_history::parse_histories;

    use super::history_event_json;

    fn event(
        id: i64,
        prev: i64,
        ms: i64,
        kind: HistoryEventType,
    ) -> aws_sdk_sfn::types::builders::HistoryEventBuilder {
        HistoryEvent::builder()
            .id(id)
            .previous_event_id(prev)
            .timestamp(DateTime::from_millis(1_767_225_600_000 + ms))
            .r#type(kind)
    }

    /// SDK events become the API's JSON, which the history parser reads with the state names, the
    /// Lambda functions (both integrations) and millisecond times.
    #[test]
    fn sdk_events_map_to_the_shape_the_parser_reads() {
        use HistoryEventType as T;
        let entered = |n: &str| StateEnteredEventDetails::builder().name(n).build().unwrap();
        let exited = |n: &str| StateExitedEventDetails::builder().name(n).build().unwrap();
        let events = [
            event(1, 0, 0, T::ExecutionStarted).build().unwrap(),
            event(2, 1, 5, T::TaskStateEntered)
                .state_entered_event_details(entered("A"))
                .build()
                .unwrap(),
            event(3, 2, 5, T::LambdaFunctionScheduled)
                .lambda_function_scheduled_event_details(
                    LambdaFunctionScheduledEventDetails::builder()
                        .resource("arn:aws:lambda:us-east-1:1:function:fa")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
            event(4, 3, 35, T::LambdaFunctionStarted).build().unwrap(),
            event(5, 4, 535, T::LambdaFunctionSucceeded)
                .build()
                .unwrap(),
            event(6, 5, 545, T::TaskStateExited)
                .state_exited_event_details(exited("A"))
                .build()
                .unwrap(),
            event(7, 6, 550, T::TaskStateEntered)
                .state_entered_event_details(entered("B"))
                .build()
                .unwrap(),
            event(8, 7, 550, T::TaskScheduled)
                .task_scheduled_event_details(
                    TaskScheduledEventDetails::builder()
                        .resource_type("lambda")
                        .resource("invoke")
                        .region("us-east-1")
                        .parameters(r#"{"FunctionName":"fb","Payload":{}}"#)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
            event(9, 8, 1550, T::ExecutionSucceeded).build().unwrap(),
        ];
        let json: Vec<serde_json::Value> = events.iter().map(history_event_json).collect();
        let text = serde_json::json!({ "events": json }).to_string();
        let ex = parse_histories(&text, "sdk").unwrap();
        let e = &ex[0].events;
        assert!((ex[0].latency_ms().unwrap() - 1550.0).abs() < 1e-6);
        assert_eq!(e[1].state.as_deref(), Some("A"));
        assert_eq!(e[5].state.as_deref(), Some("A"));
        assert_eq!(e[2].function.as_deref(), Some("fa"));
        assert_eq!(e[7].function.as_deref(), Some("fb"));
        assert_eq!(e[3].previous, Some(3));
    }
}
