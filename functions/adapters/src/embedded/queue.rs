//! `SqliteQueue`: the three queues with SQS semantics, durable in the same SQLite file.
//!
//! - `send` honours `delay_seconds`; the inbound queue is FIFO: grouped by sender and
//!   deduplicated on the envelope key for five minutes (SQS's deduplication interval).
//! - `receive` hides what it hands out for the visibility timeout and counts receives; a message
//!   received `max_receives` times without an ack goes to `dead_letters` instead (SQS's
//!   maxReceiveCount and redrive to a DLQ).
//! - A `Delivery` works like a receipt handle: `ack`/`release` only act if the message has not
//!   been received again since, so a consumer whose visibility expired cannot delete (or unblock
//!   the FIFO group of) a message that someone else is now processing.
//!
//! Everything is in SQLite and every step is one transaction: a crash loses nothing, and in-flight
//! messages reappear after their visibility timeout when the process restarts.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, TransactionBehavior};
use shikayat_core::command::{Outbound, QueueName};
use shikayat_core::ports::{Clock, PortResult, Queue, SystemClock};
use tokio::sync::Notify;

use super::db::{db_err, Db};
pub use crate::consumer::Delivery;
use crate::consumer::QueueConsumer;
use shikayat_core::ports::PortError;

/// The receipt of a delivery: the row and which receive it was, so a stale receipt (the message
/// was received again meanwhile) settles nothing.
fn receipt(id: i64, count: u32) -> String {
    format!("{id}:{count}")
}

fn parse_receipt(d: &Delivery) -> PortResult<(i64, u32)> {
    let bad = || PortError::Permanent(format!("not a SQLite queue receipt: {:?}", d.receipt));
    let (id, count) = d.receipt.split_once(':').ok_or_else(bad)?;
    Ok((id.parse().map_err(|_| bad())?, count.parse().map_err(|_| bad())?))
}

#[async_trait]
impl QueueConsumer for SqliteQueue {
    async fn receive(&self, queue: QueueName, max: usize) -> PortResult<Vec<Delivery>> {
        SqliteQueue::receive(self, queue, max).await
    }
    async fn ack(&self, d: &Delivery) -> PortResult<()> {
        SqliteQueue::ack(self, d).await
    }
    async fn release(&self, d: &Delivery, delay: Duration) -> PortResult<()> {
        SqliteQueue::release(self, d, delay).await
    }
    async fn dead_letters(&self, queue: QueueName) -> PortResult<Vec<String>> {
        SqliteQueue::dead_letters(self, queue).await
    }
    async fn wait(&self, queue: QueueName, max: Duration) {
        SqliteQueue::wait(self, queue, max).await
    }
}

/// SQS's FIFO deduplication interval.
const DEDUPE_WINDOW_MS: i64 = 5 * 60 * 1000;

#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    visibility_ms: i64,
    max_receives: u32,
    clock: Arc<dyn Clock>,
    /// One per queue, so a consumer waiting on an empty queue wakes when something is sent.
    sent: Arc<[Notify; 3]>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn slot(queue: QueueName) -> usize {
    match queue {
        QueueName::Inbound => 0,
        QueueName::Relay => 1,
        QueueName::Notify => 2,
    }
}

fn is_fifo(queue: QueueName) -> bool {
    queue == QueueName::Inbound
}

impl SqliteQueue {
    /// `max_receives` below 1 is taken as 1 (every message gets at least one delivery).
    pub fn new(db: Db, visibility_timeout: Duration, max_receives: u32) -> Self {
        Self {
            db,
            visibility_ms: millis(visibility_timeout),
            max_receives: max_receives.max(1),
            clock: Arc::new(SystemClock),
            sent: Arc::new([Notify::new(), Notify::new(), Notify::new()]),
        }
    }

    /// Uses `clock` for delays and visibility (tests move time by hand).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Up to `max` visible messages, oldest first, each hidden for the visibility timeout. On
    /// the FIFO queue only the oldest message of each group can be delivered, and only when it
    /// is not in flight, so one sender's events are processed strictly one after another.
    pub async fn receive(&self, queue: QueueName, max: usize) -> PortResult<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let (now, visibility, max_receives) = (self.now_ms(), self.visibility_ms, self.max_receives);
        self.db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
                let mut out = Vec::new();
                // Dead-lettering a FIFO group's head makes the next one eligible, so look again
                // until a pass moves nothing to the DLQ. Every pass takes rows out of the
                // eligible set, so this ends.
                loop {
                    let rows = candidates(&tx, queue, now, max - out.len())?;
                    let mut dead = false;
                    for (id, body, count, group) in rows {
                        if count >= max_receives {
                            tx.execute(
                                "INSERT INTO dead_letters (queue, message_id, body, receive_count, sent_at, dead_at)
                                 SELECT queue, id, body, receive_count, sent_at, ?2 FROM queue_messages WHERE id = ?1",
                                params![id, now],
                            )
                            .map_err(db_err)?;
                            tx.execute("DELETE FROM queue_messages WHERE id = ?1", [id]).map_err(db_err)?;
                            tracing::warn!(queue = queue.as_str(), id, receives = count, "moved to the dead-letter table");
                            dead = true;
                        } else {
                            tx.execute(
                                "UPDATE queue_messages SET visible_at = ?2, receive_count = receive_count + 1 WHERE id = ?1",
                                params![id, now.saturating_add(visibility)],
                            )
                            .map_err(db_err)?;
                            out.push(Delivery {
                                queue,
                                receipt: receipt(id, count + 1),
                                body,
                                receive_count: count + 1,
                                group,
                            });
                        }
                    }
                    if !dead || out.len() >= max {
                        break;
                    }
                }
                tx.commit().map_err(db_err)?;
                Ok(out)
            })
            .await
    }

    /// Done with it: delete. A stale delivery (received again since) is left alone.
    pub async fn ack(&self, d: &Delivery) -> PortResult<()> {
        let (id, count) = parse_receipt(d)?;
        let deleted = self
            .db
            .call(move |conn| {
                conn.execute(
                    "DELETE FROM queue_messages WHERE id = ?1 AND receive_count = ?2",
                    params![id, count],
                )
                .map_err(db_err)
            })
            .await?;
        if is_fifo(d.queue) {
            // The group's next message, if any, is deliverable now.
            self.sent[slot(d.queue)].notify_one();
        }
        if deleted == 0 {
            tracing::debug!(
                queue = d.queue.as_str(),
                id,
                "ack of a message already acked or received again"
            );
        }
        Ok(())
    }

    /// Processing failed: make it visible again after `delay` (it keeps its receive count).
    pub async fn release(&self, d: &Delivery, delay: Duration) -> PortResult<()> {
        let (id, count) = parse_receipt(d)?;
        let visible_at = self.now_ms().saturating_add(millis(delay));
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE queue_messages SET visible_at = ?3 WHERE id = ?1 AND receive_count = ?2",
                    params![id, count, visible_at],
                )
                .map_err(db_err)
            })
            .await?;
        if delay.is_zero() {
            self.sent[slot(d.queue)].notify_one();
        }
        Ok(())
    }

    /// Bodies in the queue's dead-letter table, oldest first.
    pub async fn dead_letters(&self, queue: QueueName) -> PortResult<Vec<String>> {
        self.db
            .call(move |conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT body FROM dead_letters WHERE queue = ?1 ORDER BY id")
                    .map_err(db_err)?;
                let rows = stmt.query_map([queue.as_str()], |r| r.get(0)).map_err(db_err)?;
                rows.collect::<Result<Vec<String>, _>>().map_err(db_err)
            })
            .await
    }

    /// Messages not yet acked: visible, in flight and delayed alike (zero means drained).
    pub async fn depth(&self, queue: QueueName) -> PortResult<usize> {
        self.db
            .call(move |conn| {
                conn.query_row(
                    "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1",
                    [queue.as_str()],
                    |r| r.get(0),
                )
                .map_err(db_err)
            })
            .await
    }

    /// Waits until something is sent to `queue` (or, on the FIFO queue, a group's head is acked
    /// or released) or `max` passes: lets a polling consumer react at once without spinning.
    /// One waiter per queue: a wake-up that finds nobody waiting is kept for the next `wait`.
    /// (Delayed messages and expired visibility need the timeout.)
    pub async fn wait(&self, queue: QueueName, max: Duration) {
        let _ = tokio::time::timeout(max, self.sent[slot(queue)].notified()).await;
    }
}

/// A stored message: id, body, receive count, FIFO group.
type Candidate = (i64, String, u32, Option<String>);

/// Up to `limit` deliverable messages, oldest first.
fn candidates(conn: &Connection, queue: QueueName, now: i64, limit: usize) -> PortResult<Vec<Candidate>> {
    let sql = if is_fifo(queue) {
        // The head of each group, if visible. Any earlier message of the group still stored is
        // either in flight or not yet delivered (delayed or released): the group waits for it.
        "SELECT q.id, q.body, q.receive_count, q.grp FROM queue_messages q
         WHERE q.queue = ?1 AND q.visible_at <= ?2
           AND (q.grp IS NULL OR NOT EXISTS (
                SELECT 1 FROM queue_messages e WHERE e.queue = q.queue AND e.grp = q.grp AND e.id < q.id))
         ORDER BY q.id LIMIT ?3"
    } else {
        "SELECT id, body, receive_count, grp FROM queue_messages
         WHERE queue = ?1 AND visible_at <= ?2 ORDER BY visible_at, id LIMIT ?3"
    };
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let rows = stmt
        .query_map(params![queue.as_str(), now, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(db_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
}

/// One command as stored: queue, dedupe key, FIFO group, body, when it becomes visible.
struct Row {
    queue: QueueName,
    key: String,
    group: Option<String>,
    body: String,
    visible_at: i64,
}

impl Row {
    fn of(cmd: &Outbound, now: i64) -> Self {
        let queue = cmd.queue;
        Row {
            queue,
            key: cmd.envelope.key.clone(),
            // Groups only mean something on the FIFO queue; elsewhere they would only block.
            group: if is_fifo(queue) { cmd.group.clone() } else { None },
            body: cmd.envelope.to_json(),
            visible_at: now.saturating_add(i64::from(cmd.delay_seconds) * 1000),
        }
    }
}

/// Stores `rows` in one transaction: all or none.
fn insert(conn: &mut Connection, rows: &[Row], now: i64) -> PortResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    if rows.iter().any(|r| is_fifo(r.queue)) {
        tx.execute(
            "DELETE FROM queue_dedupe WHERE at <= ?1",
            [now - DEDUPE_WINDOW_MS],
        )
        .map_err(db_err)?;
    }
    for r in rows {
        if is_fifo(r.queue) {
            let fresh = tx
                .execute(
                    "INSERT INTO queue_dedupe (queue, key, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![r.queue.as_str(), r.key, now],
                )
                .map_err(db_err)?;
            if fresh == 0 {
                tracing::debug!(
                    queue = r.queue.as_str(),
                    key = r.key,
                    "duplicate within the dedupe window, dropped"
                );
                continue;
            }
        }
        tx.execute(
            "INSERT INTO queue_messages (queue, grp, body, sent_at, visible_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![r.queue.as_str(), r.group, r.body, now, r.visible_at],
        )
        .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, cmd: &Outbound) -> PortResult<()> {
        self.send_batch(std::slice::from_ref(cmd)).await
    }

    /// One transaction for the lot.
    async fn send_batch(&self, cmds: &[Outbound]) -> PortResult<()> {
        if cmds.is_empty() {
            return Ok(());
        }
        let now = self.now_ms();
        let rows: Vec<Row> = cmds.iter().map(|c| Row::of(c, now)).collect();
        let mut woken = [false; 3];
        for r in &rows {
            woken[slot(r.queue)] = true;
        }
        if rows.iter().any(|r| is_fifo(r.queue)) {
            // The webhook's enqueue (Meta is waiting): ahead of the consumers' calls.
            self.db.call_urgent(move |conn| insert(conn, &rows, now)).await?;
            // The webhook answers Meta 200 after this returns: on disk first (a no-op unless
            // the database runs group commit). A duplicate waits too, for its original's flush.
            self.db.sync().await?;
        } else {
            self.db.call(move |conn| insert(conn, &rows, now)).await?;
        }
        for (i, w) in woken.iter().enumerate() {
            if *w {
                self.sent[i].notify_one();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::testutil::{at, db, ManualClock};
    use shikayat_core::command::{Command, Envelope};
    use shikayat_core::ids::ComplaintId;

    const VIS: Duration = Duration::from_secs(30);

    fn queue(db: Db) -> (Arc<ManualClock>, SqliteQueue) {
        let clock = Arc::new(ManualClock::new(at(0)));
        let q = SqliteQueue::new(db, VIS, 5).with_clock(clock.clone());
        (clock, q)
    }

    fn relay(n: u64) -> Outbound {
        Outbound::relay(
            format!("forward:{n}"),
            Command::ForwardComplaint {
                id: ComplaintId::new("AMT", 2026, n),
            },
        )
    }

    fn inbound(key: &str, sender: &str) -> Outbound {
        Outbound {
            queue: QueueName::Inbound,
            envelope: Envelope::new(
                key,
                Command::SettleComplaint {
                    id: ComplaintId::new("AMT", 2026, 1),
                    settles_at: None,
                },
            ),
            group: Some(sender.into()),
            delay_seconds: 0,
        }
    }

    fn row(d: &Delivery) -> i64 {
        parse_receipt(d).map(|(id, _)| id).unwrap_or(-1)
    }

    fn keys(ds: &[Delivery]) -> Vec<String> {
        ds.iter()
            .map(|d| Envelope::from_json(&d.body).expect("envelope").key)
            .collect()
    }

    #[tokio::test]
    async fn delay_then_deliver_then_ack() {
        let (_dir, db) = db();
        let (clock, q) = queue(db);
        q.send(&relay(1).delayed(120)).await.expect("send delayed");
        q.send(&relay(2)).await.expect("send");
        let now = q.receive(QueueName::Relay, 10).await.expect("recv");
        assert_eq!(keys(&now), ["forward:2"]);
        q.ack(&now[0]).await.expect("ack");
        assert!(q
            .receive(QueueName::Notify, 10)
            .await
            .expect("other queue")
            .is_empty());
        clock.advance(Duration::from_secs(119));
        assert!(
            q.receive(QueueName::Relay, 10).await.expect("recv").is_empty(),
            "still delayed"
        );
        clock.advance(Duration::from_secs(1));
        let got = q.receive(QueueName::Relay, 10).await.expect("recv");
        assert_eq!(keys(&got), ["forward:1"]);
        assert_eq!(got[0].receive_count, 1);
        assert_eq!(
            q.depth(QueueName::Relay).await.expect("depth"),
            1,
            "in flight still counts"
        );
        q.ack(&got[0]).await.expect("ack");
        assert_eq!(q.depth(QueueName::Relay).await.expect("depth"), 0);
    }

    #[tokio::test]
    async fn visibility_timeout_redelivers_and_release_delays() {
        let (_dir, db) = db();
        let (clock, q) = queue(db);
        q.send(&relay(1)).await.expect("send");
        let first = q.receive(QueueName::Relay, 1).await.expect("recv");
        clock.advance(VIS - Duration::from_secs(1));
        assert!(
            q.receive(QueueName::Relay, 1).await.expect("recv").is_empty(),
            "in flight"
        );
        clock.advance(Duration::from_secs(1));
        let second = q.receive(QueueName::Relay, 1).await.expect("recv");
        assert_eq!((row(&second[0]), second[0].receive_count), (row(&first[0]), 2));
        // The first consumer's late ack is stale: the message stays for the second one.
        q.ack(&first[0]).await.expect("stale ack");
        assert_eq!(q.depth(QueueName::Relay).await.expect("depth"), 1);
        q.release(&second[0], Duration::from_secs(10))
            .await
            .expect("release");
        clock.advance(Duration::from_secs(9));
        assert!(q.receive(QueueName::Relay, 1).await.expect("recv").is_empty());
        clock.advance(Duration::from_secs(1));
        let third = q.receive(QueueName::Relay, 1).await.expect("recv");
        assert_eq!(third[0].receive_count, 3);
        q.ack(&third[0]).await.expect("ack");
        assert_eq!(q.depth(QueueName::Relay).await.expect("depth"), 0);
    }

    #[tokio::test]
    async fn fifo_delivers_one_message_per_group_in_order() {
        let (_dir, db) = db();
        let (clock, q) = queue(db);
        for (k, g) in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("a3", "A"), ("b2", "B")] {
            q.send(&inbound(k, g)).await.expect("send");
        }
        let got = q.receive(QueueName::Inbound, 10).await.expect("recv");
        assert_eq!(keys(&got), ["a1", "b1"], "only each group's head");
        assert!(
            q.receive(QueueName::Inbound, 10).await.expect("recv").is_empty(),
            "heads in flight"
        );

        q.ack(&got[1]).await.expect("ack b1");
        assert_eq!(
            keys(&q.receive(QueueName::Inbound, 10).await.expect("recv")),
            ["b2"]
        );

        // a1 fails: released, it comes back before a2, never after.
        q.release(&got[0], Duration::from_secs(5))
            .await
            .expect("release a1");
        assert!(
            q.receive(QueueName::Inbound, 10).await.expect("recv").is_empty(),
            "A waits for a1"
        );
        clock.advance(Duration::from_secs(5));
        let again = q.receive(QueueName::Inbound, 10).await.expect("recv");
        assert_eq!(keys(&again), ["a1"]);
        q.ack(&again[0]).await.expect("ack a1");
        let next = q.receive(QueueName::Inbound, 10).await.expect("recv");
        assert_eq!(keys(&next), ["a2"]);
        // An earlier message that is delayed also holds its group back.
        q.send(&inbound("c1", "C").delayed(60)).await.expect("send c1");
        q.send(&inbound("c2", "C")).await.expect("send c2");
        assert!(q.receive(QueueName::Inbound, 10).await.expect("recv").is_empty());
    }

    #[tokio::test]
    async fn fifo_dedupes_on_key_for_five_minutes() {
        let (_dir, db) = db();
        let (clock, q) = queue(db);
        q.send(&inbound("wamid.1", "A")).await.expect("send");
        q.send(&inbound("wamid.1", "A"))
            .await
            .expect("duplicate is accepted and dropped");
        assert_eq!(q.depth(QueueName::Inbound).await.expect("depth"), 1);
        let got = q.receive(QueueName::Inbound, 10).await.expect("recv");
        q.ack(&got[0]).await.expect("ack");
        clock.advance(Duration::from_secs(299));
        q.send(&inbound("wamid.1", "A")).await.expect("still a duplicate");
        assert_eq!(q.depth(QueueName::Inbound).await.expect("depth"), 0);
        clock.advance(Duration::from_secs(1));
        q.send(&inbound("wamid.1", "A")).await.expect("window over");
        assert_eq!(q.depth(QueueName::Inbound).await.expect("depth"), 1);
        // The standard queues do not dedupe (their consumers are idempotent on the key).
        q.send(&relay(1)).await.expect("send");
        q.send(&relay(1)).await.expect("send");
        assert_eq!(q.depth(QueueName::Relay).await.expect("depth"), 2);
    }

    #[tokio::test]
    async fn dead_letters_after_max_receives() {
        let (_dir, db) = db();
        let (clock, q) = queue(db);
        q.send(&inbound("poison", "A")).await.expect("send");
        q.send(&inbound("next", "A")).await.expect("send");
        for n in 1..=5 {
            let got = q.receive(QueueName::Inbound, 10).await.expect("recv");
            assert_eq!(
                (keys(&got), got[0].receive_count),
                (vec!["poison".to_string()], n)
            );
            clock.advance(VIS);
        }
        // The sixth receive dead-letters it and unblocks its group in the same call.
        let got = q.receive(QueueName::Inbound, 10).await.expect("recv");
        assert_eq!(keys(&got), ["next"]);
        let dlq = q.dead_letters(QueueName::Inbound).await.expect("dlq");
        assert_eq!(dlq.len(), 1);
        assert_eq!(Envelope::from_json(&dlq[0]).expect("envelope").key, "poison");
        assert!(q.dead_letters(QueueName::Relay).await.expect("dlq").is_empty());
        assert_eq!(q.depth(QueueName::Inbound).await.expect("depth"), 1);
    }

    #[tokio::test]
    async fn survives_reopening_the_database() {
        let (dir, db) = db();
        let (clock, q) = queue(db);
        q.send(&relay(1)).await.expect("send");
        q.send(&relay(2)).await.expect("send");
        let got = q.receive(QueueName::Relay, 1).await.expect("recv");
        assert_eq!(keys(&got), ["forward:1"]);
        drop(q); // "crash" while forward:1 is in flight

        let db = Db::open(dir.path()).expect("reopen");
        let q = SqliteQueue::new(db, VIS, 5).with_clock(clock.clone());
        assert_eq!(q.depth(QueueName::Relay).await.expect("depth"), 2);
        let other = q.receive(QueueName::Relay, 10).await.expect("recv");
        assert_eq!(keys(&other), ["forward:2"]);
        q.ack(&other[0]).await.expect("ack");
        clock.advance(VIS);
        let back = q.receive(QueueName::Relay, 10).await.expect("recv");
        assert_eq!(
            (keys(&back), back[0].receive_count),
            (vec!["forward:1".to_string()], 2)
        );
    }

    #[tokio::test]
    async fn wait_wakes_on_send() {
        let (_dir, db) = db();
        let (_clock, q) = queue(db);
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                q.wait(QueueName::Notify, Duration::from_secs(30)).await;
                started.elapsed()
            })
        };
        tokio::task::yield_now().await;
        q.send(&Outbound::notify(
            "n1",
            Command::DeliverReport {
                id: ComplaintId::new("AMT", 2026, 1),
            },
        ))
        .await
        .expect("send");
        let waited = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woke")
            .expect("join");
        assert!(waited < Duration::from_secs(5));
    }
}
