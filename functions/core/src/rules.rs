//! Who is told what, and when: the one place that answers it.
//!
//! `decide` applies an event to a complaint (the lifecycle) and returns the new complaint with its
//! timeline entry and its effects, as data. The shell (the `desk` crate) resolves each recipient
//! to phone numbers, writes the effects in the same atomic write as the new state (the outbox),
//! then dispatches them; a retry dispatches what is still pending, never re-derives it.

use chrono::{DateTime, Utc};

use crate::catalogue::Notice;
use crate::command::Command;
use crate::complaint::{Actor, Complaint, Status, TimelineEntry};
use crate::error::CoreError;
use crate::escalation::Due;
use crate::ids::Phone;
use crate::lifecycle::{apply, Event};

/// Who hears it, resolved by the shell through the directory.
#[derive(Debug, Clone, PartialEq)]
pub enum Recipient {
    Complainant,
    /// The complaint's assigned officer (nobody when it has none).
    Officer,
    /// Every control-room number.
    ControlRoom,
    /// The assigned officer's `reports_to` (nobody when there is none).
    OfficerSupervisor,
    /// One named person (the actor who asked, or a step of the escalation chain).
    Person(Phone),
}

impl Recipient {
    /// Citizens are told through the notifier; officials through the officer-relay.
    pub fn is_official(&self) -> bool {
        !matches!(self, Recipient::Complainant)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Tell {
        to: Recipient,
        notice: Notice,
    },
    /// The complaint's whole history, which the shell builds from the stored timeline.
    TellHistory {
        to: Recipient,
    },
    /// A command for a consumer, visible at `at` (None: at once).
    Enqueue {
        command: Box<Command>,
        at: Option<DateTime<Utc>>,
    },
}

fn tell(to: Recipient, notice: Notice) -> Effect {
    Effect::Tell { to, notice }
}

fn enqueue(command: Command) -> Effect {
    Effect::Enqueue {
        command: Box::new(command),
        at: None,
    }
}

fn enqueue_at(command: Command, at: DateTime<Utc>) -> Effect {
    Effect::Enqueue {
        command: Box::new(command),
        at: Some(at),
    }
}

/// A transition with everything that must follow it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub complaint: Complaint,
    pub entry: TimelineEntry,
    pub effects: Vec<Effect>,
}

/// Applies `event` to a copy of `c`; a refusal (illegal here, or not this actor's) is an error.
pub fn decide(c: &Complaint, event: Event, actor: Actor, now: DateTime<Utc>) -> Result<Decision, CoreError> {
    let mut next = c.clone();
    let effects = effects(c, &event, &actor);
    let entry = apply(&mut next, event, actor, now)?;
    let effects = effects_after(&next, effects);
    Ok(Decision {
        complaint: next,
        entry,
        effects,
    })
}

/// A new complaint: the number to the citizen at once, and a settle check when its burst ends.
pub fn registered(c: &Complaint) -> Vec<Effect> {
    let mut out = vec![tell(
        Recipient::Complainant,
        Notice::Registered { id: c.id.clone() },
    )];
    out.extend(settle(c));
    out
}

fn settle(c: &Complaint) -> Option<Effect> {
    c.settles_at.map(|t| {
        let command = Command::SettleComplaint {
            id: c.id.clone(),
            settles_at: Some(t),
        };
        enqueue_at(command, t)
    })
}

/// Counts that only the new state knows (the reopen count) are filled in after `apply`.
fn effects_after(after: &Complaint, mut effects: Vec<Effect>) -> Vec<Effect> {
    for e in &mut effects {
        if let Effect::Tell {
            notice: Notice::Dissatisfied { reopen_count, .. },
            ..
        } = e
        {
            *reopen_count = after.reopen_count;
        }
    }
    if after.reopen_count >= 2 && effects.iter().any(is_dissatisfied_alert) {
        // Not satisfied a second time: the supervisor gets the whole history to act on.
        effects.push(Effect::TellHistory {
            to: Recipient::OfficerSupervisor,
        });
    }
    effects
}

fn is_dissatisfied_alert(e: &Effect) -> bool {
    matches!(
        e,
        Effect::Tell {
            to: Recipient::OfficerSupervisor,
            notice: Notice::Dissatisfied { .. },
        }
    )
}

/// The effects of `event` on `c` (as it was before the event), if the lifecycle allows it.
fn effects(c: &Complaint, event: &Event, actor: &Actor) -> Vec<Effect> {
    let id = c.id.clone();
    let actor_phone = match actor {
        Actor::Complainant(p) | Actor::Officer(p) | Actor::ControlRoom(p) | Actor::Supervisor(p) => {
            Some(p.clone())
        }
        Actor::System => None,
    };
    let to_actor = |notice: Notice| actor_phone.clone().map(|p| tell(Recipient::Person(p), notice));
    match event {
        Event::AddDetail { settles_at, .. } => match settles_at {
            // Within the burst: forwarding waits for the settle window.
            Some(t) => vec![enqueue_at(
                Command::SettleComplaint {
                    id,
                    settles_at: Some(*t),
                },
                *t,
            )],
            // "Same complaint" after asking: the citizen hears it was added.
            None => vec![tell(Recipient::Complainant, Notice::Added { id })],
        },
        Event::Forward { department, .. } => {
            let mut out = vec![enqueue(Command::ForwardComplaint { id: id.clone() })];
            if let Actor::ControlRoom(_) = actor {
                out.extend(to_actor(Notice::Assigned {
                    id,
                    department: department.clone(),
                }));
            }
            out
        }
        Event::Unassigned { reason } => vec![tell(
            Recipient::ControlRoom,
            Notice::Unassigned {
                id,
                subject: unassigned_subject(c),
                why: reason.clone(),
                media: c.media.clone(),
            },
        )],
        Event::Accept => vec![enqueue(Command::SendDetails { id })],
        Event::NotMyDepartment { .. } => {
            let why = "अधिकारी: मेरा विभाग नहीं / officer: not my department".to_string();
            let mut out = vec![tell(
                Recipient::ControlRoom,
                Notice::Unassigned {
                    id: id.clone(),
                    subject: unassigned_subject(c),
                    why,
                    media: c.media.clone(),
                },
            )];
            out.extend(to_actor(Notice::Declined { id }));
            out
        }
        Event::ReportPart { settles_at, .. } => {
            let mut out = Vec::new();
            if c.status == Status::Forwarded {
                out.push(tell(
                    Recipient::Officer,
                    Notice::ReportReceived { id: id.clone() },
                ));
            }
            out.push(enqueue_at(
                Command::SettleReport {
                    id,
                    settles_at: Some(*settles_at),
                },
                *settles_at,
            ));
            out
        }
        // The report went out before this transition was written.
        Event::ReportDelivered { .. } => Vec::new(),
        Event::Satisfied => vec![tell(Recipient::Complainant, Notice::ThanksSatisfied { id })],
        Event::Dissatisfied { .. } => {
            let alert = Notice::Dissatisfied {
                id: id.clone(),
                department: c.department.clone(),
                reopen_count: c.reopen_count,
            };
            vec![
                tell(Recipient::Complainant, Notice::AskReason { id: id.clone() }),
                tell(Recipient::ControlRoom, alert.clone()),
                tell(Recipient::OfficerSupervisor, alert),
                enqueue(Command::ForwardComplaint { id }),
            ]
        }
        Event::DissatisfactionReason { reason } => {
            let why = Notice::ComplainantReason {
                id: id.clone(),
                reason: reason.clone(),
            };
            vec![
                tell(Recipient::Complainant, Notice::ReasonNoted { id }),
                tell(Recipient::ControlRoom, why.clone()),
                tell(Recipient::Officer, why.clone()),
                // The supervisor who was told of the reopening hears why, too.
                tell(Recipient::OfficerSupervisor, why),
            ]
        }
        Event::AutoClose => vec![tell(Recipient::Complainant, Notice::ClosedNoFeedback { id })],
        Event::Reject { reason } => {
            let mut out = vec![tell(
                Recipient::Complainant,
                Notice::Rejected {
                    id: id.clone(),
                    reason: reason.clone(),
                },
            )];
            out.extend(to_actor(Notice::RejectDone { id }));
            out
        }
        Event::DeliveryFailed {
            who,
            code,
            to_control_room,
            ..
        } => {
            // A failed send to the control room is not told to the control room (no loop).
            if *to_control_room {
                Vec::new()
            } else {
                vec![tell(
                    Recipient::ControlRoom,
                    Notice::DeliveryFailed {
                        id,
                        who: who.clone(),
                        code: *code,
                    },
                )]
            }
        }
        Event::Escalate { level, recipient, .. } => {
            let notice = Notice::Overdue {
                id,
                department: c.department.clone(),
                due_at: c.due_at,
                level: *level,
            };
            let mut out = vec![tell(Recipient::ControlRoom, notice.clone())];
            if let Some(p) = recipient {
                out.push(tell(Recipient::Person(p.clone()), notice));
            }
            out
        }
        Event::Reminder { .. } => vec![tell(
            Recipient::Officer,
            Notice::Reminder {
                id,
                department: c.department.clone(),
                due_at: c.due_at,
            },
        )],
        Event::Note { .. } => to_actor(Notice::NoteAdded { id }).into_iter().collect(),
    }
}

/// The lifecycle event for something the escalator found due.
pub fn due_event(d: &Due) -> Event {
    match d.clone() {
        Due::Reminder { offset_index, covers } => Event::Reminder { offset_index, covers },
        Due::Escalate { level, to } => Event::Escalate {
            level,
            to: to
                .as_ref()
                .map(|x| x.masked())
                .unwrap_or_else(|| "control room".into()),
            recipient: to,
        },
        Due::AutoClose => Event::AutoClose,
    }
}

/// What the control room reads as the subject of an unassigned complaint: its first line, or
/// nothing for a complaint of media alone (the notice then says what media it holds).
pub fn unassigned_subject(c: &Complaint) -> String {
    if c.text.trim().is_empty() {
        String::new()
    } else {
        c.subject(200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ComplaintId;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0)
            .single()
            .expect("time")
    }

    fn citizen() -> Phone {
        Phone::new("919812345678")
    }

    fn officer() -> Phone {
        Phone::new("919000000105")
    }

    fn cr() -> Phone {
        Phone::new("919000000301")
    }

    fn complaint(status: Status) -> Complaint {
        let mut c = Complaint::new(ComplaintId::new("AMT", 2026, 7), citizen(), None, now());
        c.text = "हैंडपंप खराब".into();
        c.status = status;
        if status != Status::Registered {
            c.department = Some("water".into());
            c.officer = Some(officer());
        }
        c
    }

    /// (recipient, notice kind) or (command kind), in order: the table the tests read.
    fn summary(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .map(|e| match e {
                Effect::Tell { to, notice } => {
                    let kind = serde_json::to_value(notice)
                        .ok()
                        .and_then(|v| v.get("notice").and_then(|k| k.as_str()).map(str::to_owned))
                        .unwrap_or_default();
                    format!("{to:?} <- {kind}")
                }
                Effect::TellHistory { to } => format!("{to:?} <- history"),
                Effect::Enqueue { command, at } => {
                    format!("{}{}", command.kind(), if at.is_some() { " (later)" } else { "" })
                }
            })
            .collect()
    }

    fn decided(status: Status, event: Event, actor: Actor) -> Vec<String> {
        summary(
            &decide(&complaint(status), event, actor, now())
                .expect("legal")
                .effects,
        )
    }

    #[test]
    fn who_is_told_what() {
        use Status::*;
        let id = ComplaintId::new("AMT", 2026, 7);
        let due_at = now() + chrono::Duration::days(7);
        let forward = || Event::Forward {
            department: "water".into(),
            officer: officer(),
            due_at,
        };
        let cases: Vec<(Status, Event, Actor, Vec<&str>)> = vec![
            (Registered, forward(), Actor::System, vec!["forward_complaint"]),
            (
                Registered,
                forward(),
                Actor::ControlRoom(cr()),
                vec!["forward_complaint", "Person(Phone(\"919000000301\")) <- assigned"],
            ),
            (
                Registered,
                Event::Unassigned { reason: "x".into() },
                Actor::System,
                vec!["ControlRoom <- unassigned"],
            ),
            (
                Forwarded,
                Event::Accept,
                Actor::Officer(officer()),
                vec!["send_details"],
            ),
            (
                Forwarded,
                Event::NotMyDepartment { reason: None },
                Actor::Officer(officer()),
                vec![
                    "ControlRoom <- unassigned",
                    "Person(Phone(\"919000000105\")) <- declined",
                ],
            ),
            (
                Forwarded,
                Event::ReportPart {
                    wamid: "w".into(),
                    detail: crate::lifecycle::Detail::Text("done".into()),
                    settles_at: now(),
                },
                Actor::Officer(officer()),
                vec!["Officer <- report_received", "settle_report (later)"],
            ),
            (
                ReportDelivered,
                Event::Satisfied,
                Actor::Complainant(citizen()),
                vec!["Complainant <- thanks_satisfied"],
            ),
            (
                ReportDelivered,
                Event::Dissatisfied { reason: None },
                Actor::Complainant(citizen()),
                vec![
                    "Complainant <- ask_reason",
                    "ControlRoom <- dissatisfied",
                    "OfficerSupervisor <- dissatisfied",
                    "forward_complaint",
                ],
            ),
            (
                ReportDelivered,
                Event::AutoClose,
                Actor::System,
                vec!["Complainant <- closed_no_feedback"],
            ),
            (
                Forwarded,
                Event::Reject {
                    reason: "out of scope".into(),
                },
                Actor::ControlRoom(cr()),
                vec![
                    "Complainant <- rejected",
                    "Person(Phone(\"919000000301\")) <- reject_done",
                ],
            ),
            (
                Forwarded,
                Event::Escalate {
                    level: 1,
                    to: "sdm".into(),
                    recipient: Some(Phone::new("919000000201")),
                },
                Actor::System,
                vec![
                    "ControlRoom <- overdue",
                    "Person(Phone(\"919000000201\")) <- overdue",
                ],
            ),
            (
                Forwarded,
                Event::Reminder {
                    offset_index: 0,
                    covers: vec![],
                },
                Actor::System,
                vec!["Officer <- reminder"],
            ),
            (
                Forwarded,
                Event::Note {
                    text: "called".into(),
                },
                Actor::ControlRoom(cr()),
                vec!["Person(Phone(\"919000000301\")) <- note_added"],
            ),
            (
                Forwarded,
                Event::DeliveryFailed {
                    detail: "x".into(),
                    who: "91******0105".into(),
                    code: 131026,
                    to_control_room: false,
                },
                Actor::System,
                vec!["ControlRoom <- delivery_failed"],
            ),
            (
                Forwarded,
                Event::DeliveryFailed {
                    detail: "x".into(),
                    who: "91******0301".into(),
                    code: 131026,
                    to_control_room: true,
                },
                Actor::System,
                vec![],
            ),
        ];
        for (status, event, actor, want) in cases {
            let name = event.name();
            assert_eq!(decided(status, event, actor), want, "{name} from {status}");
        }
        let _ = id;
    }

    #[test]
    fn a_second_reopening_sends_the_history_up_with_the_new_count() {
        let mut c = complaint(Status::ReportDelivered);
        c.reopen_count = 1;
        let d = decide(
            &c,
            Event::Dissatisfied { reason: None },
            Actor::Complainant(citizen()),
            now(),
        )
        .expect("legal");
        assert!(d.effects.iter().any(|e| matches!(
            e,
            Effect::Tell {
                notice: Notice::Dissatisfied { reopen_count: 2, .. },
                ..
            }
        )));
        assert_eq!(
            summary(&d.effects).last().map(String::as_str),
            Some("OfficerSupervisor <- history")
        );
    }

    #[test]
    fn a_refused_event_has_no_effects_and_leaves_the_complaint() {
        let c = complaint(Status::Closed);
        assert!(decide(&c, Event::Satisfied, Actor::Complainant(citizen()), now()).is_err());
        assert!(decide(
            &complaint(Status::Forwarded),
            Event::Accept,
            Actor::Officer(cr()),
            now()
        )
        .is_err());
    }

    #[test]
    fn registration_acks_then_waits_for_the_burst() {
        let mut c = complaint(Status::Registered);
        c.settles_at = Some(now());
        assert_eq!(
            summary(&registered(&c)),
            ["Complainant <- registered", "settle_complaint (later)"]
        );
    }
}
