//! Resource names. One prefix names every table, queue and bucket, so several deployments (or
//! test runs) can share an account or a moto server without touching each other's data. The
//! IaC template creates the same names from the same prefix.

use shikayat_core::command::QueueName;

/// The prefix when `SHIKAYAT_AWS_PREFIX` is unset.
pub const DEFAULT_PREFIX: &str = "shikayat-";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsNames {
    prefix: String,
    bucket: String,
}

impl AwsNames {
    /// From `SHIKAYAT_AWS_PREFIX` (default `shikayat-`) and `SHIKAYAT_MEDIA_BUCKET` (default
    /// `{prefix}media`: bucket names are global, so a deployment may need its own).
    pub fn from_env() -> Self {
        let prefix = std::env::var("SHIKAYAT_AWS_PREFIX")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_PREFIX.to_string());
        let mut names = Self::with_prefix(prefix);
        if let Some(bucket) = std::env::var("SHIKAYAT_MEDIA_BUCKET")
            .ok()
            .filter(|b| !b.is_empty())
        {
            names.bucket = bucket;
        }
        names
    }

    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        let bucket = format!("{prefix}media");
        Self { prefix, bucket }
    }

    /// The same names with another media bucket.
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = bucket.into();
        self
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn complaints(&self) -> String {
        format!("{}complaints", self.prefix)
    }

    pub fn complaint_events(&self) -> String {
        format!("{}complaint-events", self.prefix)
    }

    pub fn messages(&self) -> String {
        format!("{}messages", self.prefix)
    }

    pub fn conversations(&self) -> String {
        format!("{}conversations", self.prefix)
    }

    pub fn directory(&self) -> String {
        format!("{}directory", self.prefix)
    }

    pub fn settings(&self) -> String {
        format!("{}settings", self.prefix)
    }

    /// Every table, in the order `provision` creates them.
    pub fn tables(&self) -> [String; 6] {
        [
            self.complaints(),
            self.complaint_events(),
            self.messages(),
            self.conversations(),
            self.directory(),
            self.settings(),
        ]
    }

    /// `{prefix}inbound.fifo`, `{prefix}relay`, `{prefix}notify` (SQS requires the `.fifo`
    /// suffix on FIFO queues).
    pub fn queue(&self, q: QueueName) -> String {
        match q {
            QueueName::Inbound => format!("{}inbound.fifo", self.prefix),
            QueueName::Relay => format!("{}relay", self.prefix),
            QueueName::Notify => format!("{}notify", self.prefix),
        }
    }

    /// The dead-letter queue of `q` (a FIFO queue's DLQ must be FIFO too).
    pub fn dead_letter_queue(&self, q: QueueName) -> String {
        match q {
            QueueName::Inbound => format!("{}inbound-dlq.fifo", self.prefix),
            QueueName::Relay => format!("{}relay-dlq", self.prefix),
            QueueName::Notify => format!("{}notify-dlq", self.prefix),
        }
    }

    pub fn media_bucket(&self) -> &str {
        &self.bucket
    }
}

impl Default for AwsNames {
    fn default() -> Self {
        Self::with_prefix(DEFAULT_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let n = AwsNames::with_prefix("t1-");
        assert_eq!(n.complaints(), "t1-complaints");
        assert_eq!(n.complaint_events(), "t1-complaint-events");
        assert_eq!(n.queue(QueueName::Inbound), "t1-inbound.fifo");
        assert_eq!(n.dead_letter_queue(QueueName::Inbound), "t1-inbound-dlq.fifo");
        assert_eq!(n.queue(QueueName::Notify), "t1-notify");
        assert_eq!(n.dead_letter_queue(QueueName::Relay), "t1-relay-dlq");
        assert_eq!(n.media_bucket(), "t1-media");
        assert_eq!(n.clone().with_bucket("b").media_bucket(), "b");
        assert_eq!(AwsNames::default().settings(), "shikayat-settings");
    }
}
