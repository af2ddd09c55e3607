//! The queue consumers and the escalator timer. A failed command goes back on its queue with a
//! backoff and, after the queue's receive limit, to its dead-letter table: never dropped.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shikayat_adapters::consumer::{Delivery, QueueConsumer};
use shikayat_core::command::{Command, Envelope, QueueName};
use shikayat_core::ids::mask_numbers;
use shikayat_core::ports::Ports;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

/// How long a poller waits for new work before it looks again anyway (delayed messages and
/// expired visibility are not announced). The SQLite queue wakes it sooner when work arrives.
const IDLE: Duration = Duration::from_millis(50);
const BATCH: usize = 10;
/// Commands in flight per queue: different senders (inbound) and recipients (relay, notify)
/// run in parallel up to this many; each sender's events stay strictly in order.
const CONCURRENCY: usize = 16;

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

/// Receives while fewer than `CONCURRENCY` commands are in flight and runs each on its own
/// task, so one slow command (a media download, a paced send) holds up nobody else. On the
/// inbound queue a batch is split into its senders' chains (`chains`), each run in order on
/// one task. The SQLite queue never hands out a group's next event while one is in flight,
/// and SQS FIFO neither, so a sender's events never overlap across batches either. On stop
/// it finishes the work in hand.
async fn consume(p: Ports, queue: Arc<dyn QueueConsumer>, name: QueueName, mut stop: watch::Receiver<bool>) {
    let mut running: JoinSet<()> = JoinSet::new();
    while !*stop.borrow() {
        while running.try_join_next().is_some() {}
        let free = CONCURRENCY.saturating_sub(running.len());
        if free == 0 || (!running.is_empty() && !queue.receives_while_busy()) {
            tokio::select! { _ = running.join_next() => {}, _ = stop.changed() => {} }
            continue;
        }
        let batch = match queue.receive(name, free.min(BATCH)).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(queue = name.as_str(), error = %e, "receive failed");
                tokio::select! { _ = tokio::time::sleep(IDLE) => {}, _ = stop.changed() => {} }
                continue;
            }
        };
        if batch.is_empty() {
            tokio::select! { _ = queue.wait(name, IDLE) => {}, _ = stop.changed() => {} }
            continue;
        }
        if name == QueueName::Inbound {
            for chain in chains(batch) {
                let (p, queue) = (p.clone(), queue.clone());
                running.spawn(async move {
                    fifo_batch(queue.as_ref(), chain, |d| process_isolated(&p, &queue, d)).await;
                });
            }
        } else {
            // Different recipients in parallel, so pacing one person does not hold up others.
            for d in batch {
                let (p, queue) = (p.clone(), queue.clone());
                running.spawn(async move {
                    process(&p, queue.as_ref(), d).await;
                });
            }
        }
    }
    while running.join_next().await.is_some() {}
}

/// A FIFO batch split into chains that may run in parallel: one per group, in the batch's
/// order. A delivery without a group could be anyone's, so a batch holding one stays a single
/// chain (`fifo_batch` then keeps its rules for it).
fn chains(batch: Vec<Delivery>) -> Vec<Vec<Delivery>> {
    if batch.iter().any(|d| d.group.is_none()) {
        return vec![batch];
    }
    let mut out: Vec<Vec<Delivery>> = Vec::new();
    for d in batch {
        match out.iter_mut().find(|c| c[0].group == d.group) {
            Some(chain) => chain.push(d),
            None => out.push(vec![d]),
        }
    }
    out
}

/// One sender's events strictly in order, the FIFO queue's promise (the consumer runs one chain
/// of `chains` through it at a time). SQS may hand out several events of one group in a batch
/// (the SQLite queue only each group's head): after a failure
/// the later ones of that group go back at once, unprocessed, to come again behind the failed
/// one; other senders' events still run. A delivery without a group could be anyone's: after
/// any failure it goes back too, and its own failure sends back everything after it.
async fn fifo_batch<F, Fut>(queue: &dyn QueueConsumer, batch: Vec<Delivery>, mut run: F)
where
    F: FnMut(Delivery) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut failed_groups: HashSet<String> = HashSet::new();
    let mut failed_ungrouped = false;
    for d in batch {
        let blocked = failed_ungrouped
            || match &d.group {
                Some(g) => failed_groups.contains(g),
                None => !failed_groups.is_empty(),
            };
        if blocked {
            if let Err(e) = queue.release(&d, Duration::ZERO).await {
                // It comes back after its visibility timeout, still behind the failed one.
                tracing::warn!(error = %e, "could not put a held-back event back");
            }
            continue;
        }
        let group = d.group.clone();
        if !run(d).await {
            match group {
                Some(g) => {
                    failed_groups.insert(g);
                }
                None => failed_ungrouped = true,
            }
        }
    }
}

/// `process` on its own task, so a panic fails that event (it comes back after its visibility
/// timeout) instead of ending the inbound consumer.
async fn process_isolated(p: &Ports, queue: &Arc<dyn QueueConsumer>, d: Delivery) -> bool {
    let (p, queue) = (p.clone(), queue.clone());
    match tokio::spawn(async move { process(&p, queue.as_ref(), d).await }).await {
        Ok(ok) => ok,
        Err(e) => {
            // The panic's message may quote the event: masked like any error we log.
            tracing::error!(error = %mask_numbers(&e.to_string()), "inbound command panicked; it will come back");
            false
        }
    }
}

/// Runs one command and settles its delivery; true when it succeeded.
async fn process(p: &Ports, queue: &dyn QueueConsumer, d: Delivery) -> bool {
    let env = match Envelope::from_json(&d.body) {
        Ok(env) => env,
        Err(e) => {
            // serde quotes the offending value whole: masked (numbers) and cut short.
            let error: String = mask_numbers(&e.to_string()).chars().take(300).collect();
            tracing::error!(queue = d.queue.as_str(), %error, "unreadable command; it will go to the dead-letter table");
            let _ = queue.release(&d, Duration::ZERO).await;
            return false;
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
    // Instrumented, never entered across an await: an entered span on a work-stealing runtime
    // lends its context to other tasks and can panic tracing-subscriber's registry.
    async {
        match result {
            Ok(()) => {
                if let Err(e) = queue.ack(&d).await {
                    tracing::error!(error = %e, "ack failed; the command will run again (it is idempotent)");
                }
                true
            }
            Err(e) => {
                let backoff = Duration::from_secs(1u64 << d.receive_count.min(5));
                tracing::warn!(error = %mask_numbers(&e), attempt = d.receive_count, retry_in = ?backoff, "command failed");
                let _ = queue.release(&d, backoff).await;
                false
            }
        }
    }
    .instrument(span)
    .await
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use shikayat_core::ports::PortResult;

    use super::*;

    /// Records what the consumer puts back; receives nothing itself.
    #[derive(Default)]
    struct Released(Mutex<Vec<String>>);

    #[async_trait]
    impl QueueConsumer for Released {
        async fn receive(&self, _queue: QueueName, _max: usize) -> PortResult<Vec<Delivery>> {
            Ok(Vec::new())
        }
        async fn ack(&self, _d: &Delivery) -> PortResult<()> {
            Ok(())
        }
        async fn release(&self, d: &Delivery, _delay: Duration) -> PortResult<()> {
            self.0.lock().expect("lock").push(d.body.clone());
            Ok(())
        }
        async fn dead_letters(&self, _queue: QueueName) -> PortResult<Vec<String>> {
            Ok(Vec::new())
        }
    }

    fn delivery(body: &str, group: Option<&str>) -> Delivery {
        Delivery {
            queue: QueueName::Inbound,
            receipt: body.to_string(),
            body: body.to_string(),
            receive_count: 1,
            group: group.map(str::to_string),
        }
    }

    /// Runs a batch where the bodies in `bad` fail: (bodies run in order, bodies put back).
    async fn run(batch: Vec<Delivery>, bad: &[&str]) -> (Vec<String>, Vec<String>) {
        let queue = Released::default();
        let ran = Mutex::new(Vec::new());
        fifo_batch(&queue, batch, |d| {
            ran.lock().expect("lock").push(d.body.clone());
            let ok = !bad.contains(&d.body.as_str());
            async move { ok }
        })
        .await;
        let released = queue.0.lock().expect("lock").clone();
        (ran.into_inner().expect("lock"), released)
    }

    #[tokio::test]
    async fn a_failure_holds_back_only_its_own_group() {
        let batch = vec![
            delivery("a1", Some("A")),
            delivery("b1", Some("B")),
            delivery("a2", Some("A")),
            delivery("b2", Some("B")),
            delivery("a3", Some("A")),
            delivery("c1", Some("C")),
        ];
        let (ran, released) = run(batch, &["a1"]).await;
        assert_eq!(ran, ["a1", "b1", "b2", "c1"]);
        assert_eq!(released, ["a2", "a3"]);
    }

    fn bodies(chain: &[Delivery]) -> Vec<&str> {
        chain.iter().map(|d| d.body.as_str()).collect()
    }

    #[test]
    fn a_batch_splits_into_one_chain_per_sender_in_order() {
        let batch = vec![
            delivery("a1", Some("A")),
            delivery("b1", Some("B")),
            delivery("a2", Some("A")),
            delivery("c1", Some("C")),
            delivery("b2", Some("B")),
        ];
        let chains = chains(batch);
        let got: Vec<Vec<&str>> = chains.iter().map(|c| bodies(c)).collect();
        assert_eq!(got, [vec!["a1", "a2"], vec!["b1", "b2"], vec!["c1"]]);
    }

    #[test]
    fn a_batch_with_an_ungrouped_delivery_stays_one_chain() {
        let batch = vec![
            delivery("a1", Some("A")),
            delivery("x1", None),
            delivery("b1", Some("B")),
        ];
        let chains = chains(batch);
        let got: Vec<Vec<&str>> = chains.iter().map(|c| bodies(c)).collect();
        assert_eq!(got, [vec!["a1", "x1", "b1"]]);
    }

    /// Each chain through `fifo_batch` on its own, as the consumer runs them (in parallel): a
    /// failure holds back the rest of its own sender's chain and nobody else's.
    #[tokio::test]
    async fn chains_in_parallel_hold_back_only_the_failed_sender() {
        let batch = vec![
            delivery("a1", Some("A")),
            delivery("b1", Some("B")),
            delivery("a2", Some("A")),
            delivery("b2", Some("B")),
            delivery("a3", Some("A")),
        ];
        let mut ran = Vec::new();
        let mut released = Vec::new();
        for chain in chains(batch) {
            let (r, back) = run(chain, &["a2"]).await;
            ran.push(r);
            released.extend(back);
        }
        assert_eq!(ran, [vec!["a1", "a2"], vec!["b1", "b2"]]);
        assert_eq!(released, ["a3"]);
    }

    #[tokio::test]
    async fn an_ungrouped_failure_holds_back_everything_after_it() {
        let batch = vec![
            delivery("b1", Some("B")),
            delivery("x1", None),
            delivery("b2", Some("B")),
            delivery("c1", Some("C")),
        ];
        let (ran, released) = run(batch, &["x1"]).await;
        assert_eq!(ran, ["b1", "x1"]);
        assert_eq!(released, ["b2", "c1"]);

        // And an ungrouped delivery after another group's failure could be that group's.
        let batch = vec![
            delivery("a1", Some("A")),
            delivery("x1", None),
            delivery("b1", Some("B")),
        ];
        let (ran, released) = run(batch, &["a1"]).await;
        assert_eq!(ran, ["a1", "b1"]);
        assert_eq!(released, ["x1"]);
    }
}
