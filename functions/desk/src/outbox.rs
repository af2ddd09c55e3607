//! Stored transitions with their outbox.
//!
//! A transition's effects (`rules::Effect`) are resolved to commands (recipients looked up in the
//! directory) and written on the complaint item in the same conditional write as its new state:
//! one SQLite transaction, one DynamoDB `TransactWriteItems`. Then they are put on their queues
//! and the outbox is cleared. Whoever reads a complaint whose outbox is not empty (a retry after
//! a crash or a failed send) puts those commands on their queues first: nothing a committed step
//! owes is lost, and a retry never re-derives it from a state that has already moved on. Each
//! command's key is `<complaint>:<version>:<n>`, unique to the write that made it, so the
//! consumers' idempotency holds across rounds (a second report is not the first one's key).

use shikayat_core::catalogue::history;
use shikayat_core::command::{Command, Envelope, OutboxItem, QueueName};
use shikayat_core::complaint::{Actor, Complaint, TimelineEntry};
use shikayat_core::config::Role;
use shikayat_core::escalation;
use shikayat_core::lifecycle::Event;
use shikayat_core::ports::{PortError, Ports};
use shikayat_core::rules::{decide, Effect, Recipient};
use shikayat_core::{ComplaintId, Phone};

use crate::{DeskError, DeskResult};

/// Reads a complaint and sends whatever an earlier step left in its outbox.
pub async fn load(p: &Ports, id: &ComplaintId) -> DeskResult<Complaint> {
    let mut c = p
        .complaints
        .get(id)
        .await?
        .ok_or_else(|| DeskError::NoSuchComplaint(id.to_string()))?;
    flush(p, &mut c).await?;
    Ok(c)
}

/// Sends a complaint's pending commands and clears them (only if nobody wrote it since).
pub async fn flush(p: &Ports, c: &mut Complaint) -> DeskResult<()> {
    if c.outbox.is_empty() {
        return Ok(());
    }
    tracing::info!(complaint = %c.id, pending = c.outbox.len(), "sending what an earlier step left in the outbox");
    dispatch(p, &c.outbox).await?;
    p.complaints.clear_outbox(&c.id, c.version).await?;
    c.outbox.clear();
    Ok(())
}

async fn dispatch(p: &Ports, items: &[OutboxItem]) -> DeskResult<()> {
    let now = p.clock.now();
    for item in items {
        p.queue.send(&item.outbound(now)).await?;
    }
    Ok(())
}

/// Applies an event to a stored complaint (`rules::decide`) and commits it with its effects,
/// re-reading and re-deciding when another writer moved the version first.
pub async fn transition(
    p: &Ports,
    id: &ComplaintId,
    actor: Actor,
    event: impl Fn(&Complaint) -> Event,
) -> DeskResult<Complaint> {
    loop {
        let c = load(p, id).await?;
        let d = decide(&c, event(&c), actor.clone(), p.clock.now())?;
        match commit(p, d.complaint, std::slice::from_ref(&d.entry), d.effects).await {
            Err(DeskError::Port(PortError::Conflict(_))) => continue,
            other => return other,
        }
    }
}

/// Writes `c` (conditional on its version) with its timeline entries and effects, then sends
/// the effects. `Conflict` when another writer came first: re-read and decide again.
pub async fn commit(
    p: &Ports,
    mut c: Complaint,
    timeline: &[TimelineEntry],
    effects: Vec<Effect>,
) -> DeskResult<Complaint> {
    if c.next_action_at.is_none() && c.status.is_open() {
        // A clock started (forwarded, report delivered): the escalator's first look, from the
        // policy, in this same write — never a placeholder it must rewrite.
        c.next_action_at = escalation::first_action(&c, &p.config.policy()?, p.clock.now());
    }
    c.outbox = resolve(p, &c, timeline, effects, c.version + 1).await?;
    p.complaints.update(&mut c, timeline).await?;
    sent(p, &mut c).await?;
    Ok(c)
}

/// Writes a new complaint with its first entries and effects, then sends them.
pub async fn create(
    p: &Ports,
    mut c: Complaint,
    timeline: &[TimelineEntry],
    effects: Vec<Effect>,
) -> DeskResult<Complaint> {
    c.outbox = resolve(p, &c, timeline, effects, 1).await?;
    p.complaints.create(&mut c, timeline).await?;
    sent(p, &mut c).await?;
    Ok(c)
}

async fn sent(p: &Ports, c: &mut Complaint) -> DeskResult<()> {
    if c.outbox.is_empty() {
        return Ok(());
    }
    dispatch(p, &c.outbox).await?;
    p.complaints.clear_outbox(&c.id, c.version).await?;
    c.outbox.clear();
    Ok(())
}

/// Turns effects into keyed commands: recipients looked up, the history built from the timeline.
async fn resolve(
    p: &Ports,
    c: &Complaint,
    timeline: &[TimelineEntry],
    effects: Vec<Effect>,
    version: u64,
) -> DeskResult<Vec<OutboxItem>> {
    let mut out = Vec::new();
    let mut key = |queue: QueueName, command: Command, visible_at| {
        let k = format!("{}:{version}:{}", c.id, out.len());
        out.push(OutboxItem {
            queue,
            envelope: Envelope::new(k, command),
            visible_at,
        });
    };
    for e in effects {
        match e {
            Effect::Enqueue { command, at } => {
                let queue = match *command {
                    Command::DeliverReport { .. } => QueueName::Notify,
                    _ => QueueName::Relay,
                };
                key(queue, *command, at);
            }
            Effect::Tell { to, notice } => {
                let queue = if to.is_official() {
                    QueueName::Relay
                } else {
                    QueueName::Notify
                };
                for phone in recipients(p, c, &to).await? {
                    let command = Command::Tell {
                        to: phone,
                        complaint: Some(c.id.clone()),
                        notice: notice.clone(),
                    };
                    key(queue, command, None);
                }
            }
            Effect::TellHistory { to } => {
                let mut all = p.complaints.timeline(&c.id).await?;
                all.extend_from_slice(timeline);
                let summary = history(c, &all, &p.config);
                for phone in recipients(p, c, &to).await? {
                    let notice = shikayat_core::catalogue::Notice::History {
                        id: c.id.clone(),
                        summary: summary.clone(),
                    };
                    let command = Command::Tell {
                        to: phone,
                        complaint: Some(c.id.clone()),
                        notice,
                    };
                    key(QueueName::Relay, command, None);
                }
            }
        }
    }
    Ok(out)
}

async fn recipients(p: &Ports, c: &Complaint, to: &Recipient) -> DeskResult<Vec<Phone>> {
    Ok(match to {
        Recipient::Complainant => vec![c.complainant.clone()],
        Recipient::Officer => c.officer.iter().cloned().collect(),
        Recipient::ControlRoom => p
            .directory
            .with_role(Role::ControlRoom)
            .await?
            .into_iter()
            .map(|x| x.phone)
            .collect(),
        Recipient::OfficerSupervisor => match &c.officer {
            Some(o) => p
                .directory
                .person(o)
                .await?
                .and_then(|x| x.reports_to)
                .into_iter()
                .collect(),
            None => Vec::new(),
        },
        Recipient::Person(phone) => vec![phone.clone()],
    })
}
