//! AWS adapters: DynamoDB (complaints, timelines, message log, conversations, directory,
//! settings), S3 (media) and SQS (the three queues and their dead-letter queues).
//!
//! They behave like the embedded adapters (one conformance suite runs against both); where AWS
//! cannot (a per-message delay on a FIFO queue, a delay over 15 minutes) the item's docs say so.
//!
//! - [`AwsNames`]: every resource name, from `SHIKAYAT_AWS_PREFIX`.
//! - [`AwsClients`]: the SDK clients from one configuration load.
//! - [`DynamoStore`], [`S3Media`], [`SqsQueue`]: the ports.
//! - [`provision`]: creates everything (development and tests; production uses infra/).
//! - [`ports_parts`]: the three adapters, built once per process.

mod clients;
mod dynamo;
mod error;
mod faults;
mod names;
mod provision;
mod s3;
mod sqs;

use std::sync::Arc;

pub use clients::AwsClients;
pub use dynamo::DynamoStore;
pub use error::AwsError;
pub use faults::{FaultRateError, FAULTS_VAR};
pub use names::{AwsNames, DEFAULT_PREFIX};
pub use provision::{provision, provision_with, ProvisionOptions};
pub use s3::S3Media;
pub use sqs::SqsQueue;

use shikayat_core::ports::PortResult;

/// The AWS adapters of one deployment. `store` serves `ComplaintStore`, `MessageLog`,
/// `Conversations` and `Directory`; `queue` serves `Queue` and `QueueConsumer`.
#[derive(Clone)]
pub struct AwsParts {
    pub store: Arc<DynamoStore>,
    pub media: Arc<S3Media>,
    pub queue: Arc<SqsQueue>,
}

/// Builds the adapters (resolving the queue URLs once); the resources must exist.
pub async fn ports_parts(clients: &AwsClients, names: &AwsNames) -> PortResult<AwsParts> {
    Ok(AwsParts {
        store: Arc::new(DynamoStore::new(clients, names)),
        media: Arc::new(S3Media::new(clients, names)),
        queue: Arc::new(SqsQueue::new(clients, names).await?),
    })
}
