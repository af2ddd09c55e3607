//! Deadlines and escalation with seconds-long SLAs and the escalator sweeping every second:
//! reminders before the deadline, escalation up the chain (SDM → CDO → DM) with the control room
//! told each time, auto-close without feedback, and a second "not satisfied" to the supervisor.

use std::time::Duration;

use shikayat_graph_sim::SentMessage;

use crate::harness::*;
use crate::lifecycle::{tap_unhappy, to_report_delivered};

/// config/amethi.toml with every department's SLA, the reminders, the escalation period and the
/// feedback period replaced.
pub(crate) fn district(sla: &str, reminder: &str, every: &str, feedback: &str) -> String {
    let base = std::fs::read_to_string(repo_root().join("config/amethi.toml")).expect("amethi.toml");
    let mut out = String::new();
    for line in base.lines() {
        let line = if line.starts_with("sla = ") {
            format!("sla = \"{sla}\"")
        } else if line.starts_with("reminders = ") {
            format!("reminders = [\"{reminder}\"]")
        } else if line.starts_with("escalate_every = ") {
            format!("escalate_every = \"{every}\"")
        } else if line.starts_with("# feedback_period = ") {
            format!("feedback_period = \"{feedback}\"")
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    for key in ["reminders = [", "escalate_every = ", "feedback_period = "] {
        assert!(out.contains(key), "amethi.toml lost its {key} line");
    }
    out
}

fn count(desk: &Desk, to: &str, pred: impl Fn(&SentMessage) -> bool) -> usize {
    desk.sim.sent_to(to).iter().filter(|m| pred(m)).count()
}

async fn water_complaint(desk: &Desk) -> String {
    desk.sim
        .send_text(CITIZEN, "हमारे गांव में हैंडपंप से पानी नहीं आ रहा")
        .await
        .expect("text");
    let id = desk.complaint_number(CITIZEN).await;
    desk.wait_for(WATER_OFFICER, "the complaint", |m| m.text().contains(&id))
        .await;
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn reminder_then_escalation_up_the_chain_each_once() {
    // Due 12 s after forwarding; a reminder 6 s before; then SDM, CDO, DM 4 s apart.
    let desk = Desk::start_with_config(&district("12s", "6s", "4s", "1h")).await;
    let id = water_complaint(&desk).await;

    // The officer never wrote to the number: the reminder is the approved template (id, due date).
    let reminder = desk
        .wait_for(WATER_OFFICER, "reminder template", |m| {
            m.template_name().as_deref() == Some("shikayat_reminder")
        })
        .await;
    assert!(reminder.text().contains(&id), "{}", reminder.text());

    // Free-form "(level 1)", or the overdue template's "Level 1.".
    let level = |n: u32| {
        let id = id.clone();
        move |m: &SentMessage| {
            let t = m.text();
            t.contains(&id) && (t.contains(&format!("level {n})")) || t.contains(&format!("Level {n}.")))
        }
    };
    desk.wait_for(SDM, "level 1 to the SDM", level(1)).await;
    desk.wait_for(CONTROL_ROOM, "level 1 to the control room", level(1))
        .await;
    desk.wait_for(CDO, "level 2 to the CDO", level(2)).await;
    desk.wait_for(CONTROL_ROOM, "level 2 to the control room", level(2))
        .await;
    let top = desk.wait_for(DM, "level 3 to the DM", level(3)).await;
    assert_eq!(top.template_name().as_deref(), Some("shikayat_overdue"));
    desk.wait_for(CONTROL_ROOM2, "level 3 to the second desk", level(3))
        .await;

    // The top of the chain is reached: several more sweeps send nothing again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let reminders = count(&desk, WATER_OFFICER, |m| {
        m.template_name().as_deref() == Some("shikayat_reminder")
    });
    assert_eq!(reminders, 1, "one reminder");
    assert_eq!(count(&desk, SDM, level(1)), 1);
    assert_eq!(count(&desk, CDO, level(2)), 1);
    assert_eq!(count(&desk, DM, level(3)), 1);
    assert_eq!(count(&desk, CONTROL_ROOM, |m| m.text().contains(&id)), 3);
    assert_eq!(count(&desk, SDM, level(2)) + count(&desk, CDO, level(1)), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_in_time_stops_the_clock() {
    // A report arriving before the deadline: no escalation afterwards.
    let desk = Desk::start_with_config(&district("10s", "2s", "2s", "1h")).await;
    let (id, _ask) = to_report_delivered(&desk).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(count(&desk, SDM, |m| m.text().contains(&id)), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_feedback_closes_the_complaint_and_tells_the_citizen() {
    let desk = Desk::start_with_config(&district("1h", "5m", "1d", "4s")).await;
    let (id, ask) = to_report_delivered(&desk).await;
    let closed = desk.wait_text(CITIZEN, "We did not hear back").await;
    assert!(closed.text().contains(&id), "{}", closed.text());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count(&desk, CITIZEN, |m| m.text().contains("We did not hear back")),
        1
    );
    // A late tap finds it closed: the citizen hears where it stands, nothing reopens.
    tap_unhappy(&desk, &ask, &id).await;
    desk.wait_text(CITIZEN, "निस्तारित").await;
    assert_eq!(count(&desk, CONTROL_ROOM, |m| m.text().contains("reopened")), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_not_satisfied_goes_to_the_supervisor_with_the_history() {
    let desk = Desk::start_with_config(&district("1h", "5m", "1d", "1h")).await;
    let (id, ask) = to_report_delivered(&desk).await;
    tap_unhappy(&desk, &ask, &id).await;
    let reopened = desk.wait_text(WATER_OFFICER, "Reopened").await;
    desk.sim
        .send_text(CITIZEN, "अभी भी पानी नहीं आ रहा")
        .await
        .expect("reason");
    desk.wait_text(CITIZEN, "दर्ज कर ली गई").await;

    // The officer reports again, replying to the reopened complaint.
    desk.sim
        .send_reply_text(WATER_OFFICER, &reopened.wamid, "नया हैंडपंप लगा दिया गया है")
        .await
        .expect("second report");
    desk.wait_text(CITIZEN, "नया हैंडपंप लगा दिया गया है").await;
    let unhappy = format!("feedback:dissatisfied:{id}");
    let asks = |m: &SentMessage| m.button_ids().contains(&unhappy);
    let mut second = None;
    for _ in 0..200 {
        let all: Vec<_> = desk
            .sim
            .sent_to(CITIZEN)
            .into_iter()
            .filter(|m| asks(m))
            .collect();
        if all.len() >= 2 {
            second = all.last().cloned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = second.expect("the feedback buttons a second time");
    tap_unhappy(&desk, &second.wamid, &id).await;

    let history = desk.wait_text(SDM, "whole history").await;
    let text = history.text();
    assert!(text.contains(&id), "{text}");
    for step in [
        "forward",
        "report_delivered",
        "dissatisfied",
        "dissatisfaction_reason",
    ] {
        assert!(text.contains(step), "{step} missing from {text}");
    }
    assert!(
        text.contains("अभी भी पानी नहीं आ रहा"),
        "the reason is in it: {text}"
    );
    desk.wait_for(CONTROL_ROOM, "second reopening", |m| {
        // Free-form "(times reopened: 2)", or the template's "कुल 2 बार".
        m.text().contains(&id) && (m.text().contains("times reopened: 2") || m.text().contains("कुल 2 बार"))
    })
    .await;
}
