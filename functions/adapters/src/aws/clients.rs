//! The SDK clients, built from one configuration load (credentials, region and endpoint are
//! resolved once per process, outside any handler).
//!
//! With `SHIKAYAT_COUNT_AWS_REQUESTS=<file>` set, every request attempt (retries included, as
//! AWS bills them) appends one line to that file:
//! `service<TAB>operation<TAB>request bytes<TAB>table or queue` (the last from the JSON body's
//! first `TableName` or `QueueUrl`, empty for S3; no other part of a body is kept).
//! `scripts/count-requests.sh` runs complaints through the desk with it and totals the lines.
//!
//! With `SHIKAYAT_AWS_FAULTS=<rate>` set, that fraction of DynamoDB and SQS request attempts
//! fails with a throttling error or a 5xx, as the real services do (see [`super::faults`]).

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

use super::faults::{self, FaultStats, InjectFaults, Mix, Service};

/// The variable naming the file request counts are appended to.
pub const COUNT_REQUESTS_VAR: &str = "SHIKAYAT_COUNT_AWS_REQUESTS";

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// Systems Manager: the secrets are SecureString parameters (free, where a Secrets Manager
    /// secret is $0.40 a month each).
    pub ssm: aws_sdk_ssm::Client,
}

impl AwsClients {
    /// The standard chain: `AWS_REGION`, credentials from the environment or the Lambda role,
    /// and `AWS_ENDPOINT_URL` (or per-service `AWS_ENDPOINT_URL_<SERVICE>`) to point at moto.
    pub async fn from_env() -> Self {
        let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_conf(&shared)
    }

    /// Clients for an AWS-compatible endpoint (moto) with test credentials, configured without
    /// the process environment (which parallel tests share).
    pub async fn for_endpoint(endpoint: &str) -> Self {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("ap-south-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "endpoint",
            ))
            .load()
            .await;
        Self::from_conf(&shared)
    }

    pub fn from_conf(shared: &aws_config::SdkConfig) -> Self {
        let faults = match faults::rate_from_env() {
            Ok(rate) => rate,
            Err(e) => {
                // Loud: a drill that silently runs without faults proves nothing.
                tracing::error!(error = %e, "not injecting AWS faults");
                None
            }
        };
        if let Some(rate) = faults {
            tracing::warn!(
                rate,
                "injecting throttling and 5xx faults into DynamoDB and SQS calls"
            );
        }
        Self::build(shared, faults.map(|rate| (rate, Mix::Both))).0
    }

    /// Clients whose DynamoDB and SQS attempts fail at `rate` with faults drawn from `mix`, and
    /// the totals they keep (tests).
    #[cfg(test)]
    pub(crate) fn with_faults(
        shared: &aws_config::SdkConfig,
        rate: f64,
        mix: Mix,
    ) -> (Self, Option<Arc<FaultStats>>) {
        Self::build(shared, Some((rate, mix)))
    }

    fn build(shared: &aws_config::SdkConfig, faults: Option<(f64, Mix)>) -> (Self, Option<Arc<FaultStats>>) {
        // Virtual-hosted buckets (`bucket.host`) do not resolve on a local endpoint such as
        // 127.0.0.1; real S3 prefers them, so path style only when an endpoint is overridden
        // (`AWS_ENDPOINT_URL` shows in the loaded config; the S3-only variable does not).
        let path_style = shared.endpoint_url().is_some()
            || std::env::var("AWS_ENDPOINT_URL_S3").is_ok_and(|s| !s.is_empty());
        let counts = CountRequests::file_from_env();
        let counter = |service: &'static str| counts.clone().map(|file| CountRequests { service, file });
        let mut s3 = aws_sdk_s3::config::Builder::from(shared).force_path_style(path_style);
        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(shared);
        let mut sqs = aws_sdk_sqs::config::Builder::from(shared);
        let mut ssm = aws_sdk_ssm::config::Builder::from(shared);
        // The counter reads after every modify hook: a faulted attempt counts as the stand-in
        // read that was really sent.
        let stats = faults.map(|_| Arc::new(FaultStats::default()));
        if let (Some((rate, mix)), Some(stats)) = (faults, &stats) {
            dynamo = dynamo.interceptor(InjectFaults::new(Service::Dynamo, rate, mix, stats.clone()));
            sqs = sqs.interceptor(InjectFaults::new(Service::Sqs, rate, mix, stats.clone()));
        }
        if let Some(c) = counter("s3") {
            s3 = s3.interceptor(c);
        }
        if let Some(c) = counter("dynamodb") {
            dynamo = dynamo.interceptor(c);
        }
        if let Some(c) = counter("sqs") {
            sqs = sqs.interceptor(c);
        }
        if let Some(c) = counter("ssm") {
            ssm = ssm.interceptor(c);
        }
        let clients = Self {
            dynamo: aws_sdk_dynamodb::Client::from_conf(dynamo.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            ssm: aws_sdk_ssm::Client::from_conf(ssm.build()),
        };
        (clients, stats)
    }
}

/// Counts requests for the cost estimate: one line per attempt, written as it is sent, so
/// nothing is lost when a process is killed (each line is one append, whole even when several
/// processes share the file). Off unless `SHIKAYAT_COUNT_AWS_REQUESTS` is set.
#[derive(Debug, Clone)]
struct CountRequests {
    service: &'static str,
    file: Arc<Mutex<std::fs::File>>,
}

impl CountRequests {
    fn file_from_env() -> Option<Arc<Mutex<std::fs::File>>> {
        let path = std::env::var(COUNT_REQUESTS_VAR).ok().filter(|p| !p.is_empty())?;
        match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => Some(Arc::new(Mutex::new(f))),
            Err(e) => {
                tracing::warn!(%path, error = %e, "cannot open the request-count file; not counting");
                None
            }
        }
    }
}

/// The operation a request calls: `X-Amz-Target` on the JSON protocols (DynamoDB, SQS, Secrets
/// Manager), the `x-id` query parameter the S3 client adds, else the method and what it names.
fn operation(method: &str, uri: &str, target: Option<&str>) -> String {
    if let Some(t) = target {
        return t.rsplit('.').next().unwrap_or(t).to_string();
    }
    let query = uri.split_once('?').map(|(_, q)| q).unwrap_or("");
    if let Some(id) = query.split('&').find_map(|kv| kv.strip_prefix("x-id=")) {
        return id.to_string();
    }
    let path = uri.split('?').next().unwrap_or("");
    let path = path.split_once("://").map(|(_, rest)| rest).unwrap_or(path);
    let segments = path.split('/').skip(1).filter(|s| !s.is_empty()).count();
    let thing = if segments >= 2 { "Object" } else { "Bucket" };
    let verb = match method {
        "PUT" => "Put",
        "GET" => "Get",
        "HEAD" => "Head",
        "DELETE" => "Delete",
        "POST" => "Post",
        other => other,
    };
    format!("{verb}{thing}")
}

/// The first table or queue a JSON request names: `"TableName":"t"`, or the last segment of
/// `"QueueUrl":"https://…/123/q"`.
fn resource(body: &str) -> Option<String> {
    for key in ["\"TableName\":\"", "\"QueueUrl\":\""] {
        if let Some(start) = body.find(key) {
            let rest = &body[start + key.len()..];
            let value = &rest[..rest.find('"')?];
            return Some(value.rsplit('/').next().unwrap_or(value).to_string());
        }
    }
    None
}

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request();
        let op = operation(req.method(), req.uri(), req.headers().get("x-amz-target"));
        let bytes = req
            .body()
            .bytes()
            .map(|b| b.len() as u64)
            .or_else(|| req.headers().get("content-length").and_then(|l| l.parse().ok()))
            .unwrap_or(0);
        let resource = req
            .body()
            .bytes()
            .and_then(|b| resource(&String::from_utf8_lossy(b)))
            .unwrap_or_default();
        let line = format!("{}\t{op}\t{bytes}\t{resource}\n", self.service);
        if let Ok(mut f) = self.file.lock() {
            // Counting must never fail a request.
            let _ = f.write_all(line.as_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{operation, resource};

    #[test]
    fn operations_are_named() {
        assert_eq!(
            operation("POST", "https://h/", Some("DynamoDB_20120810.PutItem")),
            "PutItem"
        );
        assert_eq!(
            operation("POST", "https://h/", Some("AmazonSQS.SendMessage")),
            "SendMessage"
        );
        assert_eq!(
            operation("PUT", "http://127.0.0.1:5000/b/media/x.jpg?x-id=PutObject", None),
            "PutObject"
        );
        assert_eq!(operation("HEAD", "http://127.0.0.1:5000/b/k", None), "HeadObject");
        assert_eq!(operation("PUT", "http://127.0.0.1:5000/b", None), "PutBucket");
        assert_eq!(
            resource(r#"{"TableName":"p-complaints","Key":{}}"#).as_deref(),
            Some("p-complaints")
        );
        assert_eq!(
            resource(r#"{"QueueUrl":"http://h/123456789012/p-inbound.fifo","MessageBody":"x"}"#).as_deref(),
            Some("p-inbound.fifo")
        );
        assert_eq!(resource("<xml/>"), None);
    }
}
