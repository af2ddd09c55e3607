//! SDK errors mapped onto the ports' error kinds, so callers decide "retry" or "give up" the
//! same way on AWS as on the embedded adapters.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use shikayat_core::ports::PortError;

/// A failure while provisioning resources (not a port call, so not a `PortError`).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct AwsError {
    pub what: String,
    pub detail: String,
}

impl AwsError {
    pub fn new(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

impl From<AwsError> for PortError {
    fn from(e: AwsError) -> Self {
        PortError::Permanent(e.to_string())
    }
}

/// Error codes worth retrying whatever the HTTP status says.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "InternalServerError",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflictException",
    "KMSThrottlingException",
];

/// The error code (`ConditionalCheckFailedException` …) of a service error, if it is one.
pub(crate) fn code<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

/// Conditional-check failures are `Conflict` (the caller re-reads and retries); throttling,
/// 5xx, timeouts and network failures are `Transient`; everything else is `Permanent`.
/// moto never throttles nor fails with a 5xx; the fault injector (`faults.rs`) makes it, and
/// its tests check those two branches on DynamoDB and SQS.
pub(crate) fn port_err<E>(what: &str, e: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let msg = format!("{what}: {}", DisplayErrorContext(&e));
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortError::Transient(msg)
        }
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or_default();
            let status = s.raw().status().as_u16();
            if code == "ConditionalCheckFailedException" {
                PortError::Conflict(msg)
            } else if code == "TransactionCanceledException" {
                // The reasons come back in the message, one per item, e.g.
                // "[ConditionalCheckFailed, None]".
                let m = s.err().message().unwrap_or_default();
                if m.contains("ConditionalCheckFailed") {
                    PortError::Conflict(msg)
                } else if m.contains("TransactionConflict") || m.contains("ThrottlingError") {
                    PortError::Transient(msg)
                } else {
                    PortError::Permanent(msg)
                }
            } else if TRANSIENT_CODES.contains(&code) || status == 429 || status >= 500 {
                PortError::Transient(msg)
            } else {
                PortError::Permanent(msg)
            }
        }
        _ => PortError::Permanent(msg),
    }
}
