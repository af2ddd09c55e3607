//! The lifecycle as a pure function: `apply(complaint, event, actor, now)` changes the complaint
//! and returns its timeline entry, or refuses an illegal transition or an actor without the right.

use chrono::{DateTime, Utc};

use crate::complaint::{
    Actor, Complaint, Feedback, Location, MediaItem, Report, ReportMark, Status, TimelineEntry,
};
use crate::error::CoreError;
use crate::ids::Phone;

/// A piece of what someone sent: it joins the complaint or the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Text(String),
    Media(MediaItem),
    Location(Location),
    /// A shared contact card, as one line.
    Contact(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The complainant's message joins the complaint (the burst, or a later "same complaint").
    AddDetail {
        wamid: String,
        detail: Detail,
        settles_at: Option<DateTime<Utc>>,
    },
    /// To a department's officer, with the report due at `due_at`.
    Forward {
        department: String,
        officer: Phone,
        due_at: DateTime<Utc>,
    },
    /// No department or officer found: the control room's unassigned register.
    Unassigned {
        reason: String,
    },
    Accept,
    NotMyDepartment {
        reason: Option<String>,
    },
    ReportPart {
        wamid: String,
        detail: Detail,
        settles_at: DateTime<Utc>,
    },
    /// The report as far as `of` reached the complainant (again, when more evidence followed).
    ReportDelivered {
        of: ReportMark,
    },
    Satisfied,
    Dissatisfied {
        reason: Option<String>,
    },
    /// The complainant says why they were not satisfied, after tapping the button.
    DissatisfactionReason {
        reason: String,
    },
    AutoClose,
    Reject {
        reason: String,
    },
    /// A send failed for good: `who` (masked) and Meta's `code`, for the control room's notice.
    DeliveryFailed {
        detail: String,
        who: String,
        code: i64,
        /// The failed recipient is a control-room number (it is not told of its own failure).
        to_control_room: bool,
    },
    /// A breach escalation to `level` (1 = the officer's `reports_to`); `to` describes who.
    Escalate {
        level: u32,
        to: String,
        /// The chain's person at this level (None: only the control room).
        recipient: Option<Phone>,
    },
    /// Reminders sent to the officer before the deadline: `offset_index` is the one sent,
    /// `covers` every index it stands for (earlier reminders missed while the escalator was down).
    Reminder {
        offset_index: u32,
        covers: Vec<u32>,
    },
    Note {
        text: String,
    },
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::AddDetail { .. } => "add_detail",
            Event::Forward { .. } => "forward",
            Event::Unassigned { .. } => "unassigned",
            Event::Accept => "accept",
            Event::NotMyDepartment { .. } => "not_my_department",
            Event::ReportPart { .. } => "report_part",
            Event::ReportDelivered { .. } => "report_delivered",
            Event::Satisfied => "satisfied",
            Event::Dissatisfied { .. } => "dissatisfied",
            Event::DissatisfactionReason { .. } => "dissatisfaction_reason",
            Event::AutoClose => "auto_close",
            Event::Reject { .. } => "reject",
            Event::DeliveryFailed { .. } => "delivery_failed",
            Event::Escalate { .. } => "escalate",
            Event::Reminder { .. } => "reminder",
            Event::Note { .. } => "note",
        }
    }
}

fn illegal(c: &Complaint, e: &Event) -> CoreError {
    CoreError::IllegalTransition {
        from: c.status,
        event: e.name(),
    }
}

fn require(ok: bool, why: &str) -> Result<(), CoreError> {
    if ok {
        Ok(())
    } else {
        Err(CoreError::NotAllowed(why.to_string()))
    }
}

fn is_complainant(c: &Complaint, a: &Actor) -> bool {
    matches!(a, Actor::Complainant(p) if *p == c.complainant)
}

fn is_assigned_officer(c: &Complaint, a: &Actor) -> bool {
    matches!(a, Actor::Officer(p) if Some(p) == c.officer.as_ref())
}

fn is_desk(a: &Actor) -> bool {
    matches!(a, Actor::System | Actor::ControlRoom(_))
}

fn describe_detail(d: &Detail) -> String {
    match d {
        Detail::Text(t) => format!("text ({} chars)", t.chars().count()),
        Detail::Media(m) => format!("{} {}", m.kind.as_str(), m.key),
        Detail::Location(l) => format!("location {:.5},{:.5}", l.latitude, l.longitude),
        Detail::Contact(_) => "contact card".into(),
    }
}

fn push_text(text: &mut String, more: &str) {
    if more.trim().is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(more.trim());
}

/// Applies `event` to `c`. On error `c` is unchanged.
pub fn apply(
    c: &mut Complaint,
    event: Event,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<TimelineEntry, CoreError> {
    use Status::*;
    let from = c.status;
    let name = event.name();
    let detail: String;
    match event {
        Event::AddDetail {
            wamid,
            detail: d,
            settles_at,
        } => {
            require(
                is_complainant(c, &actor),
                "only the complainant adds to a complaint",
            )?;
            if !c.status.is_open() {
                return Err(illegal(
                    c,
                    &Event::AddDetail {
                        wamid,
                        detail: d,
                        settles_at,
                    },
                ));
            }
            detail = describe_detail(&d);
            match d {
                Detail::Text(t) | Detail::Contact(t) => push_text(&mut c.text, &t),
                Detail::Media(m) => {
                    if let Some(cap) = &m.caption {
                        push_text(&mut c.text, cap);
                    }
                    c.media.push(m);
                }
                Detail::Location(l) => c.location = Some(l),
            }
            c.wamids.push(wamid);
            if settles_at.is_some() {
                c.settles_at = settles_at;
            }
        }
        Event::Forward {
            department,
            officer,
            due_at,
        } => {
            let legal = match c.status {
                Registered | Reopened => is_desk(&actor),
                Forwarded => matches!(actor, Actor::ControlRoom(_)),
                Reported | ReportDelivered | Closed | Rejected => false,
            };
            if !legal {
                return Err(illegal(
                    c,
                    &Event::Forward {
                        department,
                        officer,
                        due_at,
                    },
                ));
            }
            detail = format!("to {department} officer {officer}, due {}", due_at.to_rfc3339());
            c.status = Forwarded;
            c.department = Some(department);
            c.officer = Some(officer);
            c.forwarded_at = Some(now);
            c.accepted_at = None;
            c.due_at = Some(due_at);
            // A new deadline: its reminders and escalations start again. When the first falls due
            // is the policy's (`escalation::first_action`), set with the write that stores this.
            c.reminders_sent.clear();
            c.breach_level = 0;
            c.next_action_at = None;
        }
        Event::Unassigned { reason } => {
            require(is_desk(&actor), "only the desk marks a complaint unassigned")?;
            if !matches!(c.status, Registered | Reopened) {
                return Err(illegal(c, &Event::Unassigned { reason }));
            }
            detail = reason;
            c.department = None;
            c.officer = None;
        }
        Event::Accept => {
            require(
                is_assigned_officer(c, &actor),
                "only the assigned officer accepts",
            )?;
            if c.status != Forwarded {
                return Err(illegal(c, &Event::Accept));
            }
            detail = String::new();
            c.accepted_at = Some(now);
        }
        Event::NotMyDepartment { reason } => {
            require(
                is_assigned_officer(c, &actor),
                "only the assigned officer can decline",
            )?;
            if c.status != Forwarded {
                return Err(illegal(c, &Event::NotMyDepartment { reason }));
            }
            detail = format!(
                "declined by {} officer{}",
                c.department.as_deref().unwrap_or("?"),
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            );
            c.status = Registered;
            c.department = None;
            c.officer = None;
            c.due_at = None;
            c.accepted_at = None;
            c.next_action_at = None;
        }
        Event::ReportPart {
            wamid,
            detail: d,
            settles_at,
        } => {
            require(
                is_assigned_officer(c, &actor),
                "only the assigned officer reports",
            )?;
            // Evidence may follow a delivered report until the complainant answers it.
            if !matches!(c.status, Forwarded | Reported | ReportDelivered) {
                return Err(illegal(
                    c,
                    &Event::ReportPart {
                        wamid,
                        detail: d,
                        settles_at,
                    },
                ));
            }
            detail = describe_detail(&d);
            if c.status == Forwarded || c.report.is_none() {
                c.report = Some(Report {
                    officer: c.officer.clone(),
                    started_at: Some(now),
                    ..Report::default()
                });
            }
            if let Some(r) = c.report.as_mut() {
                match d {
                    Detail::Text(t) | Detail::Contact(t) => push_text(&mut r.text, &t),
                    Detail::Media(m) => {
                        if let Some(cap) = &m.caption {
                            push_text(&mut r.text, cap);
                        }
                        r.media.push(m);
                    }
                    Detail::Location(l) => {
                        push_text(&mut r.text, &format!("📍 {:.5},{:.5}", l.latitude, l.longitude))
                    }
                }
                r.wamids.push(wamid);
                r.settles_at = Some(settles_at);
            }
            // A delivered report stays delivered (its feedback clock runs on); the rest follows.
            if c.status != ReportDelivered {
                c.status = Reported;
                c.reported_at = Some(now);
                c.next_action_at = None;
            }
        }
        Event::ReportDelivered { of } => {
            require(is_desk(&actor), "only the desk delivers reports")?;
            let more = c.status == ReportDelivered
                && c.report.as_ref().is_some_and(|r| {
                    r.delivered
                        .is_none_or(|d| of.parts > d.parts || (d.announced && !of.announced))
                });
            if c.status != Reported && !more {
                return Err(illegal(c, &Event::ReportDelivered { of }));
            }
            detail = format!("{} parts, {} media", of.parts, of.media);
            if let Some(r) = c.report.as_mut() {
                r.delivered = Some(of);
            }
            if !more {
                c.status = ReportDelivered;
                c.delivered_at = Some(now);
                // The feedback period starts: auto-close falls due at its end, a time the policy
                // gives (`escalation::first_action`), set with the write that stores this.
                c.next_action_at = None;
            }
        }
        Event::Satisfied => {
            require(is_complainant(c, &actor), "only the complainant gives feedback")?;
            if c.status != ReportDelivered {
                return Err(illegal(c, &Event::Satisfied));
            }
            detail = String::new();
            c.status = Closed;
            c.closed_at = Some(now);
            c.feedback = Some(Feedback::Satisfied { at: now });
            c.next_action_at = None;
        }
        Event::Dissatisfied { reason } => {
            require(is_complainant(c, &actor), "only the complainant gives feedback")?;
            if c.status != ReportDelivered {
                return Err(illegal(c, &Event::Dissatisfied { reason }));
            }
            detail = reason.clone().unwrap_or_default();
            c.status = Reopened;
            c.reopen_count += 1;
            c.escalation_level += 1;
            c.feedback = Some(Feedback::Dissatisfied { at: now, reason });
            c.due_at = None;
            c.next_action_at = None;
        }
        Event::DissatisfactionReason { reason } => {
            require(is_complainant(c, &actor), "only the complainant gives feedback")?;
            if !matches!(c.feedback, Some(Feedback::Dissatisfied { .. })) || !c.status.is_open() {
                return Err(illegal(c, &Event::DissatisfactionReason { reason }));
            }
            detail = reason.clone();
            c.feedback = Some(Feedback::Dissatisfied {
                at: now,
                reason: Some(reason),
            });
        }
        Event::AutoClose => {
            require(is_desk(&actor), "only the desk closes without feedback")?;
            if c.status != ReportDelivered {
                return Err(illegal(c, &Event::AutoClose));
            }
            detail = "no feedback".into();
            c.status = Closed;
            c.closed_at = Some(now);
            c.feedback = Some(Feedback::NoAnswer { at: now });
            c.next_action_at = None;
        }
        Event::Reject { reason } => {
            require(
                matches!(actor, Actor::ControlRoom(_)),
                "only the control room rejects",
            )?;
            if !matches!(c.status, Registered | Forwarded | Reopened) {
                return Err(illegal(c, &Event::Reject { reason }));
            }
            detail = reason.clone();
            c.status = Rejected;
            c.rejection_reason = Some(reason);
            c.closed_at = Some(now);
            c.next_action_at = None;
        }
        Event::DeliveryFailed { detail: d, .. } => {
            require(is_desk(&actor), "only the desk records delivery failures")?;
            c.delivery_failures.push(d.clone());
            detail = d;
        }
        Event::Escalate { level, to, recipient } => {
            require(is_desk(&actor), "only the desk escalates")?;
            if !c.status.is_open() {
                return Err(illegal(c, &Event::Escalate { level, to, recipient }));
            }
            detail = format!("level {level} to {to}");
            c.escalation_level = c.escalation_level.max(level);
            c.breach_level = c.breach_level.max(level);
        }
        Event::Reminder { offset_index, covers } => {
            require(is_desk(&actor), "only the desk sends reminders")?;
            if c.status != Forwarded {
                return Err(illegal(c, &Event::Reminder { offset_index, covers }));
            }
            detail = format!("reminder {offset_index} before the deadline");
            for i in covers.into_iter().chain([offset_index]) {
                if !c.reminders_sent.contains(&i) {
                    c.reminders_sent.push(i);
                }
            }
        }
        Event::Note { text } => {
            require(
                matches!(
                    actor,
                    Actor::ControlRoom(_) | Actor::Supervisor(_) | Actor::System
                ),
                "only the control room adds notes",
            )?;
            detail = text;
        }
    }
    Ok(TimelineEntry {
        at: now,
        actor,
        event: name.to_string(),
        from,
        to: c.status,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::complaint::MediaKind;
    use crate::ids::ComplaintId;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0)
            .single()
            .expect("time")
    }
    fn citizen() -> Phone {
        Phone::new("919812345678")
    }
    fn officer() -> Phone {
        Phone::new("919000000001")
    }
    fn complaint() -> Complaint {
        Complaint::new(ComplaintId::new("AMT", 2026, 1), citizen(), None, t0())
    }
    fn forward() -> Event {
        Event::Forward {
            department: "water".into(),
            officer: officer(),
            due_at: t0() + Duration::days(3),
        }
    }
    fn photo() -> Detail {
        Detail::Media(MediaItem {
            wamid: "w2".into(),
            kind: MediaKind::Image,
            mime_type: "image/jpeg".into(),
            sha256: "00".into(),
            bytes: 3,
            key: "media/AMT-2026-000001/report/w2.jpg".into(),
            caption: Some("मरम्मत पूरी".into()),
            filename: None,
            voice: false,
        })
    }

    #[test]
    fn happy_path_to_closed() {
        let mut c = complaint();
        let now = t0();
        let e = apply(
            &mut c,
            Event::AddDetail {
                wamid: "w1".into(),
                detail: Detail::Text("पानी नहीं".into()),
                settles_at: None,
            },
            Actor::Complainant(citizen()),
            now,
        )
        .expect("add");
        assert_eq!((e.from, e.to), (Status::Registered, Status::Registered));
        apply(&mut c, forward(), Actor::System, now).expect("forward");
        assert_eq!(c.status, Status::Forwarded);
        apply(&mut c, Event::Accept, Actor::Officer(officer()), now).expect("accept");
        let settle = now + Duration::minutes(2);
        apply(
            &mut c,
            Event::ReportPart {
                wamid: "r1".into(),
                detail: Detail::Text("ठीक कर दिया".into()),
                settles_at: settle,
            },
            Actor::Officer(officer()),
            now,
        )
        .expect("report");
        apply(
            &mut c,
            Event::ReportPart {
                wamid: "r2".into(),
                detail: photo(),
                settles_at: settle,
            },
            Actor::Officer(officer()),
            now,
        )
        .expect("evidence");
        let r = c.report.clone().expect("report");
        assert_eq!(r.text, "ठीक कर दिया\nमरम्मत पूरी");
        assert_eq!(r.media.len(), 1);
        let of = r.mark();
        apply(&mut c, Event::ReportDelivered { of }, Actor::System, now).expect("delivered");
        // The same delivery again is refused; evidence after it is taken and owed, not lost.
        assert!(apply(&mut c, Event::ReportDelivered { of }, Actor::System, now).is_err());
        let late = Event::ReportPart {
            wamid: "r3".into(),
            detail: photo(),
            settles_at: settle,
        };
        apply(&mut c, late, Actor::Officer(officer()), now).expect("late evidence");
        assert_eq!(c.status, Status::ReportDelivered, "still awaiting feedback");
        let r = c.report.clone().expect("report");
        assert!(r.undelivered() && r.media.len() == 2);
        apply(
            &mut c,
            Event::ReportDelivered { of: r.mark() },
            Actor::System,
            now,
        )
        .expect("the rest");
        assert!(!c.report.as_ref().is_some_and(|r| r.undelivered()));
        let e = apply(&mut c, Event::Satisfied, Actor::Complainant(citizen()), now).expect("close");
        assert_eq!((e.from, e.to), (Status::ReportDelivered, Status::Closed));
        assert!(matches!(c.feedback, Some(Feedback::Satisfied { .. })));
    }

    #[test]
    fn dissatisfied_reopens_and_escalates() {
        let mut c = complaint();
        apply(&mut c, forward(), Actor::System, t0()).expect("forward");
        apply(
            &mut c,
            Event::ReportPart {
                wamid: "r1".into(),
                detail: Detail::Text("done".into()),
                settles_at: t0(),
            },
            Actor::Officer(officer()),
            t0(),
        )
        .expect("report");
        apply(
            &mut c,
            Event::ReportDelivered {
                of: ReportMark::default(),
            },
            Actor::System,
            t0(),
        )
        .expect("delivered");
        apply(
            &mut c,
            Event::Dissatisfied { reason: None },
            Actor::Complainant(citizen()),
            t0(),
        )
        .expect("dissatisfied");
        assert_eq!(
            (c.status, c.reopen_count, c.escalation_level),
            (Status::Reopened, 1, 1)
        );
        apply(
            &mut c,
            Event::DissatisfactionReason {
                reason: "अभी भी पानी नहीं".into(),
            },
            Actor::Complainant(citizen()),
            t0(),
        )
        .expect("reason");
        apply(&mut c, forward(), Actor::System, t0()).expect("forward again");
        assert_eq!(c.status, Status::Forwarded);
    }

    #[test]
    fn illegal_transitions_are_errors_and_change_nothing() {
        let mut c = complaint();
        let before = c.clone();
        assert_eq!(
            apply(&mut c, Event::Satisfied, Actor::Complainant(citizen()), t0()),
            Err(CoreError::IllegalTransition {
                from: Status::Registered,
                event: "satisfied"
            })
        );
        assert!(apply(
            &mut c,
            Event::ReportDelivered {
                of: ReportMark::default()
            },
            Actor::System,
            t0()
        )
        .is_err());
        assert!(apply(&mut c, Event::AutoClose, Actor::System, t0()).is_err());
        assert_eq!(c, before);
        let reminder = Event::Reminder {
            offset_index: 0,
            covers: vec![],
        };
        assert!(apply(&mut c, reminder.clone(), Actor::System, t0()).is_err());
        apply(&mut c, forward(), Actor::System, t0()).expect("forward");
        assert!(apply(&mut c, reminder, Actor::Officer(officer()), t0()).is_err());
    }

    #[test]
    fn only_the_right_people_act() {
        let mut c = complaint();
        apply(&mut c, forward(), Actor::System, t0()).expect("forward");
        let stranger = Phone::new("919111111111");
        assert!(matches!(
            apply(&mut c, Event::Accept, Actor::Officer(stranger.clone()), t0()),
            Err(CoreError::NotAllowed(_))
        ));
        assert!(apply(&mut c, Event::Satisfied, Actor::Complainant(stranger), t0()).is_err());
        assert!(apply(&mut c, Event::Reject { reason: "x".into() }, Actor::System, t0()).is_err());
        // Reassignment of a forwarded complaint is the control room's call, not the system's.
        assert!(apply(&mut c, forward(), Actor::System, t0()).is_err());
        assert!(apply(
            &mut c,
            forward(),
            Actor::ControlRoom(Phone::new("919000000008")),
            t0()
        )
        .is_ok());
    }

    #[test]
    fn not_my_department_returns_to_control_room() {
        let mut c = complaint();
        apply(&mut c, forward(), Actor::System, t0()).expect("forward");
        let e = apply(
            &mut c,
            Event::NotMyDepartment {
                reason: Some("electricity".into()),
            },
            Actor::Officer(officer()),
            t0(),
        )
        .expect("decline");
        assert_eq!(e.to, Status::Registered);
        assert_eq!((c.department.clone(), c.officer.clone()), (None, None));
    }

    #[test]
    fn reject_and_closed_are_final() {
        let mut c = complaint();
        apply(
            &mut c,
            Event::Reject {
                reason: "private dispute".into(),
            },
            Actor::ControlRoom(Phone::new("919000000008")),
            t0(),
        )
        .expect("reject");
        assert_eq!(c.status, Status::Rejected);
        assert!(apply(&mut c, forward(), Actor::System, t0()).is_err());
        assert!(apply(
            &mut c,
            Event::AddDetail {
                wamid: "w".into(),
                detail: Detail::Text("x".into()),
                settles_at: None
            },
            Actor::Complainant(citizen()),
            t0()
        )
        .is_err());
    }
}
