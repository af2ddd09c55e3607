//! Fault injection for the DynamoDB and SQS clients, for drills and tests on moto (which never
//! throttles and never fails with a 5xx).
//!
//! With `SHIKAYAT_AWS_FAULTS=<rate>` (for example `0.1`) that fraction of request attempts
//! (retries included, each drawn on its own) fails the way the real service fails:
//!
//! - half are throttled: HTTP 400 with `ProvisionedThroughputExceededException` or
//!   `ThrottlingException` from DynamoDB, `RequestThrottled` from SQS;
//! - half are server errors: HTTP 500 `InternalServerError` (DynamoDB) or `InternalFailure`
//!   (SQS).
//!
//! A faulted attempt never reaches the service as it was written: just before it is sent, it
//! is turned into a cheap read (`ListTables` / `ListQueues` with a limit of one), so a throttled
//! write is not applied, as with the real service. When the answer comes back it is replaced by
//! the error response, byte for byte what the service's JSON protocol sends, so the SDK parses
//! it, its retry classifier decides (throttling and 5xx are retried with backoff), and what
//! still fails after the SDK's attempts reaches `port_err` as it would in production.
//!
//! Every fault is logged at debug level (service, operation, kind: nothing from the request
//! body), and the totals at info level when the last client using them is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// The variable holding the fraction of attempts to fail (`0` to `1`).
pub const FAULTS_VAR: &str = "SHIKAYAT_AWS_FAULTS";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultRateError {
    #[error("{FAULTS_VAR} must be a number from 0 to 1, got {0:?}")]
    NotARate(String),
}

/// The rate in `SHIKAYAT_AWS_FAULTS`: None when unset, empty or zero.
pub fn rate_from_env() -> Result<Option<f64>, FaultRateError> {
    match std::env::var(FAULTS_VAR) {
        Ok(v) => parse_rate(&v),
        Err(_) => Ok(None),
    }
}

fn parse_rate(raw: &str) -> Result<Option<f64>, FaultRateError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let rate: f64 = raw
        .parse()
        .map_err(|_| FaultRateError::NotARate(raw.to_string()))?;
    if !(0.0..=1.0).contains(&rate) {
        return Err(FaultRateError::NotARate(raw.to_string()));
    }
    Ok((rate > 0.0).then_some(rate))
}

/// Which service a client talks to: the error bodies and the harmless stand-in differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Dynamo,
    Sqs,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Dynamo => "dynamodb",
            Service::Sqs => "sqs",
        }
    }
}

/// Which faults to draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mix {
    /// Throttling and server errors, half each.
    Both,
    #[cfg(test)]
    ThrottleOnly,
    #[cfg(test)]
    ServerErrorOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// DynamoDB: `ProvisionedThroughputExceededException` (provisioned tables).
    ThroughputExceeded,
    /// DynamoDB: `ThrottlingException` (on-demand tables, control plane); SQS: `RequestThrottled`.
    Throttling,
    /// HTTP 500.
    ServerError,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::ThroughputExceeded | Fault::Throttling => "throttling",
            Fault::ServerError => "5xx",
        }
    }

    /// Status, extra header and JSON body, as the service's JSON protocol answers.
    fn response(self, service: Service) -> (u16, Option<(&'static str, &'static str)>, &'static str) {
        match (service, self) {
            (Service::Dynamo, Fault::ThroughputExceeded) => (
                400,
                None,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}"#,
            ),
            (Service::Dynamo, Fault::Throttling) => (
                400,
                None,
                r#"{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
            ),
            (Service::Dynamo, Fault::ServerError) => (
                500,
                None,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#,
            ),
            // SQS speaks JSON but keeps its query-protocol codes in a header, which the SDK
            // prefers over `__type`.
            (Service::Sqs, Fault::ThroughputExceeded | Fault::Throttling) => (
                400,
                Some(("x-amzn-query-error", "RequestThrottled;Sender")),
                r#"{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Request is throttled."}"#,
            ),
            (Service::Sqs, Fault::ServerError) => (
                500,
                Some(("x-amzn-query-error", "InternalFailure;Receiver")),
                r#"{"__type":"com.amazon.coral.service#InternalFailure","message":"The request processing has failed because of an unknown error, exception or failure."}"#,
            ),
        }
    }
}

/// This attempt's draw, kept in the operation's config bag from transmit to deserialization
/// (requests of one client run concurrently, so it cannot live on the interceptor).
#[derive(Debug, Clone)]
struct Planned(Option<Fault>);

impl Storable for Planned {
    type Storer = StoreReplace<Self>;
}

/// Totals across the clients that share them; logged when the last one is dropped.
#[derive(Debug, Default)]
pub struct FaultStats {
    attempts: AtomicU64,
    throttled: AtomicU64,
    server_errors: AtomicU64,
}

impl FaultStats {
    /// Attempts seen, attempts throttled, attempts failed with a 5xx.
    pub fn totals(&self) -> (u64, u64, u64) {
        (
            self.attempts.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
            self.server_errors.load(Ordering::Relaxed),
        )
    }
}

impl Drop for FaultStats {
    fn drop(&mut self) {
        let (attempts, throttled, server_errors) = self.totals();
        tracing::info!(attempts, throttled, server_errors, "AWS fault injection: totals");
    }
}

/// The interceptor; one per client, sharing `stats`.
#[derive(Debug, Clone)]
pub(crate) struct InjectFaults {
    service: Service,
    rate: f64,
    mix: Mix,
    stats: Arc<FaultStats>,
    /// Draws come from a counter hashed with a per-process seed: no lock, no extra crate.
    seed: u64,
    next: Arc<AtomicU64>,
}

impl InjectFaults {
    pub(crate) fn new(service: Service, rate: f64, mix: Mix, stats: Arc<FaultStats>) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id()).rotate_left(32)
            ^ (service as u64);
        Self {
            service,
            rate,
            mix,
            stats,
            seed,
            next: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A uniform draw in [0, 1).
    fn draw(&self) -> f64 {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        (splitmix64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn plan(&self) -> Option<Fault> {
        if self.draw() >= self.rate {
            return None;
        }
        let throttle = match self.mix {
            Mix::Both => self.draw() < 0.5,
            #[cfg(test)]
            Mix::ThrottleOnly => true,
            #[cfg(test)]
            Mix::ServerErrorOnly => false,
        };
        Some(match (throttle, self.service) {
            (false, _) => Fault::ServerError,
            (true, Service::Sqs) => Fault::Throttling,
            // Both DynamoDB throttling codes happen in production; each gets its share.
            (true, Service::Dynamo) if self.draw() < 0.5 => Fault::ThroughputExceeded,
            (true, Service::Dynamo) => Fault::Throttling,
        })
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Intercept for InjectFaults {
    fn name(&self) -> &'static str {
        "InjectFaults"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.stats.attempts.fetch_add(1, Ordering::Relaxed);
        let fault = self.plan();
        // Every attempt overwrites the draw of the one before.
        cfg.interceptor_state().store_put(Planned(fault));
        let Some(fault) = fault else {
            return Ok(());
        };
        let req = ctx.request_mut();
        let target = req.headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or(target).to_string();
        // The service must not act on a throttled request: send a cheap read in its place.
        let (stand_in, body) = match self.service {
            Service::Dynamo => ("DynamoDB_20120810.ListTables", r#"{"Limit":1}"#),
            Service::Sqs => ("AmazonSQS.ListQueues", r#"{"MaxResults":1}"#),
        };
        let headers = req.headers_mut();
        headers.try_insert("x-amz-target", stand_in)?;
        headers.try_insert("content-length", body.len().to_string())?;
        *req.body_mut() = SdkBody::from(body);
        match fault {
            Fault::ServerError => self.stats.server_errors.fetch_add(1, Ordering::Relaxed),
            _ => self.stats.throttled.fetch_add(1, Ordering::Relaxed),
        };
        tracing::debug!(
            service = self.service.name(),
            operation,
            fault = fault.name(),
            "injected AWS fault"
        );
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Planned(Some(fault))) = cfg.load::<Planned>() else {
            return Ok(());
        };
        let (status, extra, body) = fault.response(self.service);
        let resp = ctx.response_mut();
        *resp.status_mut() = status.try_into()?;
        let headers = resp.headers_mut();
        for name in ["x-amzn-query-error", "x-amz-crc32", "content-length"] {
            headers.remove(name);
        }
        headers.try_insert("content-type", "application/x-amz-json-1.0")?;
        headers.try_insert("content-length", body.len().to_string())?;
        if let Some((name, value)) = extra {
            headers.try_insert(name, value)?;
        }
        *resp.body_mut() = SdkBody::from(body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("0.1"), Ok(Some(0.1)));
        assert_eq!(parse_rate(" 1 "), Ok(Some(1.0)));
        assert_eq!(parse_rate(""), Ok(None));
        assert_eq!(parse_rate("0"), Ok(None));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("-0.1").is_err());
        assert!(parse_rate("ten percent").is_err());
        assert!(parse_rate("NaN").is_err());
    }

    #[test]
    fn draws_follow_the_rate_and_the_mix() {
        let stats = Arc::new(FaultStats::default());
        let f = InjectFaults::new(Service::Dynamo, 0.1, Mix::Both, stats);
        let n = 100_000;
        let plans: Vec<Option<Fault>> = (0..n).map(|_| f.plan()).collect();
        let faulted = plans.iter().filter(|p| p.is_some()).count();
        let server = plans.iter().filter(|p| **p == Some(Fault::ServerError)).count();
        assert!((9_000..11_000).contains(&faulted), "{faulted}");
        assert!((4_000..6_000).contains(&server), "{server} of {faulted}");
        let sqs = InjectFaults::new(Service::Sqs, 1.0, Mix::ThrottleOnly, Arc::default());
        assert!((0..100).all(|_| sqs.plan() == Some(Fault::Throttling)));
    }

    // ---- against moto: the SDK sees these faults as the real service's, and the ports map
    // what is left after the SDK's retries to `Transient` ----

    use std::time::Duration;

    use aws_config::retry::RetryConfig;
    use shikayat_core::command::QueueName;
    use shikayat_core::ids::ComplaintId;
    use shikayat_core::ports::{ComplaintStore, MessageLog, PortError};

    use crate::aws::error::port_err;
    use crate::aws::{AwsClients, AwsNames, DynamoStore, ProvisionOptions};

    /// The SDK's default: the first attempt and two retries.
    const ATTEMPTS: u64 = 3;

    async fn moto() -> aws_config::SdkConfig {
        let endpoint = std::env::var("SHIKAYAT_TEST_AWS_ENDPOINT").unwrap_or_default();
        assert!(
            !endpoint.is_empty(),
            "SHIKAYAT_TEST_AWS_ENDPOINT is not set: these tests need moto. Run ./scripts/test.sh \
             (or `eval \"$(scripts/moto.sh start)\"` first)"
        );
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("ap-south-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "faults",
            ))
            // The SDK's attempts and classification, with backoffs short enough for a test.
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(5)))
            .load()
            .await
    }

    /// Resources under a fresh prefix, created without faults.
    async fn provisioned(shared: &aws_config::SdkConfig) -> AwsNames {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let names = AwsNames::with_prefix(format!("f{}-{nanos}-", std::process::id()));
        let opts = ProvisionOptions {
            visibility_timeout: Duration::from_secs(1),
            max_receives: 5,
        };
        crate::aws::provision_with(&AwsClients::from_conf(shared), &names, &opts)
            .await
            .expect("provision");
        names
    }

    async fn check(mix: Mix, codes: &[&str]) {
        let shared = moto().await;
        let names = provisioned(&shared).await;
        let clean = AwsClients::from_conf(&shared);
        let queue_url = clean
            .sqs
            .get_queue_url()
            .queue_name(names.queue(QueueName::Relay))
            .send()
            .await
            .expect("queue url")
            .queue_url
            .expect("url");
        let (faulty, stats) = AwsClients::with_faults(&shared, 1.0, mix);
        let stats = stats.expect("stats");
        let store = DynamoStore::new(&faulty, &names);
        let id = ComplaintId::new("AMT", 2026, 1);

        let read = store.get(&id).await;
        let Err(PortError::Transient(detail)) = read else {
            panic!("expected a transient error, got {read:?}");
        };
        assert!(codes.iter().any(|c| detail.contains(c)), "{detail}");
        // The SDK classified the answer as retryable: every attempt was made.
        assert_eq!(stats.totals().0, ATTEMPTS);

        // A throttled write is not applied.
        let write = store.mark_done("faults:write").await;
        assert!(matches!(write, Err(PortError::Transient(_))), "{write:?}");
        assert_eq!(stats.totals().0, 2 * ATTEMPTS);
        let clean_store = DynamoStore::new(&clean, &names);
        assert!(!clean_store.is_done("faults:write").await.expect("clean read"));

        let sent = faulty
            .sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body("{}")
            .send()
            .await
            .map_err(|e| port_err("send", e));
        let Err(PortError::Transient(detail)) = sent else {
            panic!("expected a transient error, got {sent:?}");
        };
        assert!(codes.iter().any(|c| detail.contains(c)), "{detail}");
        assert_eq!(stats.totals().0, 3 * ATTEMPTS);
        let depth = clean
            .sqs
            .receive_message()
            .queue_url(&queue_url)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default()
            .len();
        assert_eq!(depth, 0, "a throttled send is not delivered");

        // Without faults the same calls succeed: the errors above were the injector's.
        assert_eq!(clean_store.get(&id).await.expect("clean get"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn throttling_on_moto_is_transient_after_the_sdk_retries() {
        check(
            Mix::ThrottleOnly,
            &[
                "ProvisionedThroughputExceededException",
                "ThrottlingException",
                "RequestThrottled",
            ],
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn server_errors_on_moto_are_transient_after_the_sdk_retries() {
        check(Mix::ServerErrorOnly, &["InternalServerError", "InternalFailure"]).await;
    }
}
