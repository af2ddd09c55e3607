//! The queue consumers and the escalator timer. A failed command goes back on its queue with a
//! backoff and, after the queue's receive limit, to its dead-letter table: never dropped.

use std::sync::Arc;
use std::time::Duration;

use shikayat_adapters::consumer::{Delivery, QueueConsumer};
use shikayat_core::command::{Command, Envelope, QueueName};
use shikayat_core::ids::mask_numbers;
use shikayat_core::ports::Ports;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

const IDLE: Duration = Duration::from_millis(50);
const BATCH: usize = 10;

pub fn spawn(
    p: Ports,
    queue: Arc<dyn QueueConsumer>,
    escalator_every: Duration,
    stop: watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for name in QueueName::ALL {
        set.spawn(consume(p.clone(), queue.clone(), name, stop.clone()));
    }
    set.spawn(escalate(p, escalator_every, stop));
    set
}

async fn consume(p: Ports, queue: Arc<dyn QueueConsumer>, name: QueueName, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let batch = match queue.receive(name, BATCH).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(queue = name.as_str(), error = %e, "receive failed");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! { _ = tokio::time::sleep(IDLE) => {}, _ = stop.changed() => {} }
            continue;
        }
        if name == QueueName::Inbound {
            // One sender's events strictly in order: the FIFO queue's promise.
            for d in batch {
                process(&p, queue.as_ref(), d).await;
            }
        } else {
            // Different recipients in parallel, so pacing one person does not hold up others.
            let mut set = JoinSet::new();
            for d in batch {
                let (p, queue) = (p.clone(), queue.clone());
                set.spawn(async move { process(&p, queue.as_ref(), d).await });
            }
            while set.join_next().await.is_some() {}
        }
    }
}

async fn process(p: &Ports, queue: &dyn QueueConsumer, d: Delivery) {
    let env = match Envelope::from_json(&d.body) {
        Ok(env) => env,
        Err(e) => {
            tracing::error!(queue = d.queue.as_str(), error = %e, "unreadable command; it will go to the dead-letter table");
            let _ = queue.release(&d, Duration::ZERO).await;
            return;
        }
    };
    let complaint = env.command.complaint().map(|c| c.to_string()).unwrap_or_default();
    // Keys and error texts can hold phone numbers: they are logged masked.
    let key = mask_numbers(&env.key);
    let span = tracing::info_span!("command", kind = env.command.kind(), key = %key, complaint = %complaint);
    let result = async {
        match (&d.queue, &env.command) {
            (QueueName::Inbound, Command::Inbound { event }) => {
                shikayat_router::handle(p, event).await.map_err(|e| e.to_string())
            }
            (QueueName::Relay, _) => shikayat_officer_relay::handle(p, &env)
                .await
                .map_err(|e| e.to_string()),
            (QueueName::Notify, _) => shikayat_notifier::handle(p, &env)
                .await
                .map_err(|e| e.to_string()),
            (q, c) => Err(format!("{} on the {} queue", c.kind(), q.as_str())),
        }
    }
    .instrument(span.clone())
    .await;
    let _enter = span.enter();
    match result {
        Ok(()) => {
            if let Err(e) = queue.ack(&d).await {
                tracing::error!(error = %e, "ack failed; the command will run again (it is idempotent)");
            }
        }
        Err(e) => {
            let backoff = Duration::from_secs(1u64 << d.receive_count.min(5));
            tracing::warn!(error = %mask_numbers(&e), attempt = d.receive_count, retry_in = ?backoff, "command failed");
            let _ = queue.release(&d, backoff).await;
        }
    }
}

async fn escalate(p: Ports, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match shikayat_escalator::sweep(&p).await {
                    Ok(s) if s.examined > 0 => tracing::info!(
                        examined = s.examined,
                        reminded = s.reminded,
                        escalated = s.escalated,
                        closed = s.closed,
                        "escalator sweep"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "escalator sweep failed"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}
