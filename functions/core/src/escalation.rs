//! The deadline policy as a pure function: given a complaint, the chain above its officer
//! (`reports_to`, then theirs … up to the top) and the time, what is due now — reminders,
//! escalations, auto-close — and when the complaint next needs a look (`next_action_at`).
//!
//! Each action is due exactly once: what was done is recorded on the complaint
//! (`reminders_sent`, `breach_level`, the status after auto-close) through `lifecycle::apply`,
//! and `plan` never returns an action the complaint already records. A schedule that fires
//! twice therefore sends nothing twice.
//!
//! The rules:
//! - Reminders (forwarded complaints): reminder `i` falls due at `due_at - reminders[i]`. A
//!   reminder whose time is at or before `forwarded_at` is skipped (the officer has just got the
//!   complaint), and none is sent once `due_at` has passed. When several fell due together
//!   (the escalator was down), one reminder goes, the one nearest the deadline, covering the rest.
//! - Escalation (forwarded complaints past `due_at`): level `k` (1-based) falls due at
//!   `due_at + (k - 1) * escalate_every` and goes to `chain[k - 1]`; the last level is the top
//!   of the chain. An officer with nobody above still escalates once (level 1, `to: None`:
//!   the control room alone). Levels that fell due together all go.
//! - Auto-close (report delivered, no feedback): due at `delivered_at + feedback_period`.
//! - Nothing else is scheduled: registered, reported and reopened complaints wait for a person.

use chrono::{DateTime, Duration, Utc};

use crate::complaint::{Complaint, Status};
use crate::config::Policy;
use crate::ids::Phone;

/// One thing the escalator must do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    /// Remind the officer (template `reminder` outside the window).
    Reminder { offset_index: u32, covers: Vec<u32> },
    /// Tell `to` (and the control room) that the report is overdue; `None`: the control room alone.
    Escalate { level: u32, to: Option<Phone> },
    /// Close as "no feedback" and tell the complainant.
    AutoClose,
}

/// What is due now, and when to look again after doing it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub due: Vec<Due>,
    /// The earliest future time something falls due, once `due` has been done; `None`: nothing.
    pub next_action_at: Option<DateTime<Utc>>,
}

fn dur(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// The number of breach levels for a chain: one per person above the officer, at least one.
pub fn levels(chain: &[Phone]) -> u32 {
    (chain.len() as u32).max(1)
}

pub fn plan(c: &Complaint, chain: &[Phone], policy: &Policy, now: DateTime<Utc>) -> Plan {
    let mut due = Vec::new();
    let mut next: Option<DateTime<Utc>> = None;
    let mut later = |t: DateTime<Utc>| {
        if next.is_none_or(|n| t < n) {
            next = Some(t);
        }
    };
    match (c.status, c.due_at, c.delivered_at) {
        (Status::Forwarded, Some(due_at), _) => {
            let start = c.forwarded_at.unwrap_or(c.created_at);
            // Reminders not yet sent that still make sense, soonest first.
            let mut pending: Vec<(DateTime<Utc>, u32)> = policy
                .reminders
                .iter()
                .enumerate()
                .map(|(i, off)| (due_at - dur(*off), i as u32))
                .filter(|(at, i)| *at > start && *at < due_at && !c.reminders_sent.contains(i))
                .collect();
            pending.sort();
            if now < due_at {
                let (ready, future): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(at, _)| *at <= now);
                if let Some((_, last)) = ready.last() {
                    due.push(Due::Reminder {
                        offset_index: *last,
                        covers: ready.iter().map(|(_, i)| *i).filter(|i| i != last).collect(),
                    });
                }
                if let Some((at, _)) = future.first() {
                    later(*at);
                }
                later(due_at);
            } else {
                let every = dur(policy.escalate_every);
                let top = levels(chain);
                let mut level = c.breach_level + 1;
                while level <= top {
                    let at = due_at + every * (level as i32 - 1);
                    if at > now {
                        later(at);
                        break;
                    }
                    due.push(Due::Escalate {
                        level,
                        to: chain.get(level as usize - 1).cloned(),
                    });
                    level += 1;
                }
            }
        }
        (Status::ReportDelivered, _, Some(delivered_at)) => {
            let at = delivered_at + dur(policy.feedback_period);
            if at <= now {
                due.push(Due::AutoClose);
            } else {
                later(at);
            }
        }
        _ => {}
    }
    Plan {
        due,
        next_action_at: next,
    }
}

/// When the escalator must first look at a complaint whose `next_action_at` a transition left
/// unset: one that starts a clock (forwarded: reminders, then the deadline; report delivered:
/// auto-close) leaves it to the policy, and the write storing it sets this. `now` if something
/// is due already, `None` if nothing is scheduled (closed, waiting for a person, or the last
/// escalation has gone — which the escalator itself records as `None`).
///
/// The chain above the officer is not needed: it only counts the levels after the first
/// escalation, and where a clock starts none has gone yet; where the escalator cleared the
/// schedule after the top level, no chain gives more.
pub fn first_action(c: &Complaint, policy: &Policy, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !c.status.is_open() {
        return None;
    }
    let p = plan(c, &[], policy, now);
    if p.due.is_empty() {
        p.next_action_at
    } else {
        Some(now)
    }
}

/// The deadline of a complaint forwarded at `now` to a department with `sla`; a reopened
/// complaint gets the policy's shorter one.
pub fn deadline(
    policy: &Policy,
    sla: std::time::Duration,
    reopened: bool,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let length = if reopened {
        policy.reopened_sla.for_sla(sla)
    } else {
        sla
    };
    now + dur(length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::complaint::Actor;
    use crate::config::ReopenedSla;
    use crate::ids::ComplaintId;
    use crate::lifecycle::{apply, Detail, Event};
    use chrono::TimeZone;

    const H: i64 = 3600;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0)
            .single()
            .expect("time")
    }
    fn at(secs: i64) -> DateTime<Utc> {
        t0() + Duration::seconds(secs)
    }
    fn policy() -> Policy {
        Policy {
            reminders: vec![
                std::time::Duration::from_secs(48 * 3600),
                std::time::Duration::from_secs(4 * 3600),
            ],
            escalate_every: std::time::Duration::from_secs(24 * 3600),
            reopened_sla: ReopenedSla::Fraction(0.5),
            digest_time: chrono::NaiveTime::from_hms_opt(21, 0, 0).expect("time"),
            feedback_period: std::time::Duration::from_secs(7 * 24 * 3600),
        }
    }
    fn officer() -> Phone {
        Phone::new("919000000105")
    }
    fn chain() -> Vec<Phone> {
        ["919000000201", "919000000202", "919000000203"]
            .into_iter()
            .map(Phone::new)
            .collect()
    }
    /// Forwarded at t0 with a 3-day deadline.
    fn forwarded() -> Complaint {
        let mut c = Complaint::new(
            ComplaintId::new("AMT", 2026, 1),
            Phone::new("919812345678"),
            None,
            t0(),
        );
        apply(
            &mut c,
            Event::Forward {
                department: "water".into(),
                officer: officer(),
                due_at: at(72 * H),
            },
            Actor::System,
            t0(),
        )
        .expect("forward");
        c
    }
    /// Does what the escalator does: applies each due action and the new schedule.
    fn run(c: &mut Complaint, now: DateTime<Utc>) -> Vec<Due> {
        let p = plan(c, &chain(), &policy(), now);
        for d in &p.due {
            apply(c, crate::rules::due_event(d), Actor::System, now).expect("apply");
        }
        c.next_action_at = p.next_action_at;
        p.due
    }

    #[test]
    fn forwarding_asks_for_a_schedule_and_the_first_reminder_is_next() {
        let c = forwarded();
        assert_eq!(c.next_action_at, None, "the lifecycle leaves it to the policy");
        assert_eq!(
            first_action(&c, &policy(), t0()),
            Some(at(24 * H)),
            "the first reminder, never `now`"
        );
        let p = plan(&c, &chain(), &policy(), t0());
        assert!(p.due.is_empty());
        assert_eq!(
            p.next_action_at,
            Some(at(24 * H)),
            "2 days before a 3-day deadline"
        );
    }

    #[test]
    fn each_reminder_goes_once_in_order() {
        let mut c = forwarded();
        assert!(run(&mut c, at(24 * H - 1)).is_empty());
        assert_eq!(
            run(&mut c, at(24 * H)),
            [Due::Reminder {
                offset_index: 0,
                covers: vec![]
            }]
        );
        assert_eq!(c.next_action_at, Some(at(68 * H)));
        assert!(run(&mut c, at(30 * H)).is_empty());
        assert_eq!(
            run(&mut c, at(68 * H)),
            [Due::Reminder {
                offset_index: 1,
                covers: vec![]
            }]
        );
        assert_eq!(c.next_action_at, Some(at(72 * H)), "then the deadline");
        assert_eq!(c.reminders_sent, [0, 1]);
    }

    #[test]
    fn missed_reminders_collapse_into_one() {
        let mut c = forwarded();
        assert_eq!(
            run(&mut c, at(70 * H)),
            [Due::Reminder {
                offset_index: 1,
                covers: vec![0]
            }]
        );
        assert!(run(&mut c, at(71 * H)).is_empty());
    }

    #[test]
    fn reminders_before_the_forward_are_skipped() {
        // A 36 h deadline: "2 days before" would be before the officer even had it.
        let mut c = forwarded();
        c.due_at = Some(at(36 * H));
        let p = plan(&c, &chain(), &policy(), t0());
        assert_eq!(p.next_action_at, Some(at(32 * H)));
        assert_eq!(
            run(&mut c, at(32 * H)),
            [Due::Reminder {
                offset_index: 1,
                covers: vec![]
            }]
        );
    }

    #[test]
    fn no_reminder_after_the_deadline_escalation_instead() {
        let mut c = forwarded();
        assert_eq!(
            run(&mut c, at(72 * H)),
            [Due::Escalate {
                level: 1,
                to: Some(chain()[0].clone())
            }],
        );
        assert!(c.reminders_sent.is_empty());
        assert_eq!(c.next_action_at, Some(at(96 * H)));
    }

    #[test]
    fn escalation_climbs_the_chain_every_period_and_stops_at_the_top() {
        let mut c = forwarded();
        let mut got = Vec::new();
        for h in [72, 80, 96, 100, 120, 144, 500] {
            got.extend(run(&mut c, at(h * H)));
        }
        assert_eq!(
            got,
            [
                Due::Escalate {
                    level: 1,
                    to: Some(chain()[0].clone())
                },
                Due::Escalate {
                    level: 2,
                    to: Some(chain()[1].clone())
                },
                Due::Escalate {
                    level: 3,
                    to: Some(chain()[2].clone())
                },
            ]
        );
        assert_eq!((c.breach_level, c.escalation_level), (3, 3));
        assert_eq!(
            c.next_action_at, None,
            "the top is reached: nothing more is scheduled"
        );
    }

    #[test]
    fn levels_missed_together_all_go() {
        let mut c = forwarded();
        let got = run(&mut c, at(100 * H));
        assert_eq!(got.len(), 2);
        assert_eq!(c.next_action_at, Some(at(120 * H)));
    }

    #[test]
    fn an_officer_with_nobody_above_escalates_once_to_the_control_room() {
        let c = forwarded();
        let p = plan(&c, &[], &policy(), at(80 * H));
        assert_eq!(p.due, [Due::Escalate { level: 1, to: None }]);
        assert_eq!(p.next_action_at, None);
    }

    #[test]
    fn a_schedule_that_fires_twice_sends_nothing_twice() {
        let mut c = forwarded();
        let mut all = Vec::new();
        for h in (0..200).step_by(2) {
            // Every sweep twice at the same instant.
            all.extend(run(&mut c, at(h * H)));
            assert!(run(&mut c, at(h * H)).is_empty(), "second firing at {h} h");
        }
        assert_eq!(all.len(), 5, "two reminders and three levels: {all:?}");
    }

    #[test]
    fn a_new_deadline_starts_reminders_and_escalation_again() {
        let mut c = forwarded();
        run(&mut c, at(100 * H));
        assert_eq!(c.breach_level, 2);
        // The control room reassigns: a new deadline.
        apply(
            &mut c,
            Event::Forward {
                department: "water".into(),
                officer: officer(),
                due_at: at(200 * H),
            },
            Actor::ControlRoom(Phone::new("919000000301")),
            at(101 * H),
        )
        .expect("reassign");
        assert_eq!((c.breach_level, c.reminders_sent.len()), (0, 0));
        assert_eq!(c.next_action_at, None);
        assert_eq!(
            first_action(&c, &policy(), at(101 * H)),
            Some(at(152 * H)),
            "two days before the new deadline"
        );
        assert_eq!(
            run(&mut c, at(160 * H)),
            [Due::Reminder {
                offset_index: 0,
                covers: vec![]
            }]
        );
        assert_eq!(
            run(&mut c, at(200 * H)),
            [Due::Escalate {
                level: 1,
                to: Some(chain()[0].clone())
            }]
        );
    }

    fn delivered() -> Complaint {
        let mut c = forwarded();
        apply(
            &mut c,
            Event::ReportPart {
                wamid: "r1".into(),
                detail: Detail::Text("ठीक कर दिया".into()),
                settles_at: at(H),
            },
            Actor::Officer(officer()),
            at(H),
        )
        .expect("report");
        assert_eq!(c.next_action_at, None, "a report in hand stops the clock");
        apply(
            &mut c,
            Event::ReportDelivered {
                of: Default::default(),
            },
            Actor::System,
            at(2 * H),
        )
        .expect("delivered");
        c
    }

    #[test]
    fn no_feedback_auto_closes_once_after_the_period() {
        let mut c = delivered();
        assert_eq!(c.next_action_at, None);
        assert_eq!(
            first_action(&c, &policy(), at(2 * H)),
            Some(at(2 * H + 7 * 24 * H)),
            "the end of the feedback period"
        );
        assert!(run(&mut c, at(3 * H)).is_empty());
        assert_eq!(c.next_action_at, Some(at(2 * H + 7 * 24 * H)));
        assert_eq!(run(&mut c, at(2 * H + 7 * 24 * H)), [Due::AutoClose]);
        assert_eq!(c.status, Status::Closed);
        assert!(run(&mut c, at(2 * H + 7 * 24 * H)).is_empty());
        assert_eq!(c.next_action_at, None);
    }

    #[test]
    fn feedback_stops_auto_close() {
        let mut c = delivered();
        apply(
            &mut c,
            Event::Satisfied,
            Actor::Complainant(Phone::new("919812345678")),
            at(3 * H),
        )
        .expect("ok");
        assert_eq!(c.next_action_at, None);
        assert!(plan(&c, &chain(), &policy(), at(1000 * H)).due.is_empty());
        let mut c = delivered();
        apply(
            &mut c,
            Event::Dissatisfied { reason: None },
            Actor::Complainant(Phone::new("919812345678")),
            at(3 * H),
        )
        .expect("reopen");
        let p = plan(&c, &chain(), &policy(), at(1000 * H));
        assert_eq!(
            (p.due.len(), p.next_action_at),
            (0, None),
            "reopened waits for a forward"
        );
    }

    #[test]
    fn first_action_is_now_when_something_is_due_and_none_after_the_top() {
        let c = forwarded();
        assert_eq!(
            first_action(&c, &policy(), at(80 * H)),
            Some(at(80 * H)),
            "past the deadline already: the escalator looks at once"
        );
        let mut c = forwarded();
        run(&mut c, at(1000 * H));
        assert_eq!((c.breach_level, c.next_action_at), (levels(&chain()), None));
        assert_eq!(first_action(&c, &policy(), at(1001 * H)), None);
        c.status = Status::Closed;
        assert_eq!(first_action(&c, &policy(), at(1001 * H)), None);
    }

    #[test]
    fn reopened_deadlines_follow_the_policy() {
        let sla = std::time::Duration::from_secs(72 * 3600);
        assert_eq!(deadline(&policy(), sla, false, t0()), at(72 * H));
        assert_eq!(deadline(&policy(), sla, true, t0()), at(36 * H));
        let mut p = policy();
        p.reopened_sla = ReopenedSla::Fixed(std::time::Duration::from_secs(24 * 3600));
        assert_eq!(deadline(&p, sla, true, t0()), at(24 * H));
    }
}
