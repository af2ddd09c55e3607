//! Receiving from a queue, as the local runner's pollers do (Lambda receives through its event
//! source mapping instead). Implemented by the SQLite queue and by SQS.

use std::time::Duration;

use async_trait::async_trait;
use shikayat_core::command::QueueName;
use shikayat_core::ports::PortResult;

/// One received message: its body (the command envelope as JSON) and the handle to settle it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub queue: QueueName,
    /// Opaque: the SQLite row and receive count, or SQS's receipt handle.
    pub receipt: String,
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
    /// The FIFO message group (the sender; SQS's `MessageGroupId`), None on standard queues.
    /// A consumer that fails a message holds back the later ones of its group in the batch.
    pub group: Option<String>,
}

#[async_trait]
pub trait QueueConsumer: Send + Sync {
    /// Up to `max` visible messages; each stays invisible for the visibility timeout.
    async fn receive(&self, queue: QueueName, max: usize) -> PortResult<Vec<Delivery>>;
    /// Done: delete it.
    async fn ack(&self, d: &Delivery) -> PortResult<()>;
    /// Failed: visible again after `delay` (after the receive limit it goes to the dead letters).
    async fn release(&self, d: &Delivery, delay: Duration) -> PortResult<()>;
    /// Bodies in the queue's dead-letter queue (for tests and operators; may be slow).
    async fn dead_letters(&self, queue: QueueName) -> PortResult<Vec<String>>;
    /// Returns when `queue` may have new work (something sent, a FIFO group freed) or after
    /// `max`, whichever comes first; a poller calls it after an empty `receive`. The default
    /// sleeps `max`: SQS's `receive` long-polls already.
    async fn wait(&self, _queue: QueueName, max: Duration) {
        tokio::time::sleep(max).await;
    }
    /// Whether a poller may `receive` again while commands it received are still running. The
    /// SQLite queue answers at once (and `wait` wakes it). An SQS long poll would hold the poller
    /// for its whole wait while a sender's next event stays locked behind the one running, and
    /// the event would then start a second late: SQS pollers take a batch at a time.
    fn receives_while_busy(&self) -> bool {
        true
    }
}
