//! Adapters for the core's ports.
//! - `embedded`: SQLite, a local folder and a SQLite-backed queue (local mode and small pilots).
//! - `aws`: DynamoDB, S3 and SQS.
//! - `whatsapp`: the Cloud API client over HTTPS.
//! - `consumer`: what a queue poller needs beyond the `Queue` port (both queue adapters).
//! - `lambda`: glue for the Lambda entry points (SQS batches with partial failures).
//! - `state_log`: one INFO line per committed state change, around any complaint store.

pub mod aws;
#[cfg(test)]
mod conformance;
pub mod consumer;
pub mod embedded;
pub mod lambda;
pub mod state_log;
pub mod whatsapp;
