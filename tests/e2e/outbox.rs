//! Issue 8's defects, each driven from outside: a retried or repeated step loses nothing, and a
//! step the rules refuse is answered instead of retried.

use std::time::Duration;

use shikayat_graph_sim::InboundMedia;

use crate::harness::*;
use crate::lifecycle::{tap_unhappy, to_report_delivered};

/// Messages to `to` that carry the feedback buttons of complaint `id`.
fn feedback_asks(desk: &Desk, to: &str, id: &str) -> usize {
    let want = format!("feedback:satisfied:{id}");
    desk.sim
        .sent_to(to)
        .iter()
        .filter(|m| m.button_ids().contains(&want))
        .count()
}

/// After an *Unhappy* tap the complaint comes back to the officer (inside their window now, so
/// with reply buttons): they accept it and report again, text then a photo.
async fn second_round(desk: &Desk, id: &str, report: &str) {
    let accept = format!("officer:accept:{id}");
    let again = desk
        .wait_for(WATER_OFFICER, "the reopened complaint", |m| {
            m.button_ids().contains(&accept) && m.template_name().is_none()
        })
        .await;
    desk.sim
        .tap_button(WATER_OFFICER, &again.wamid, &accept, "स्वीकार / Accept")
        .await
        .expect("accept again");
    let details = desk
        .wait_for(WATER_OFFICER, "the details again", |m| {
            m.text().contains("पूरा विवरण") && m.at > again.at
        })
        .await;
    desk.sim
        .send_reply_text(WATER_OFFICER, &details.wamid, report)
        .await
        .expect("second report");
    desk.sim
        .send_media(WATER_OFFICER, InboundMedia::image(jpeg("again"), Some("फिर से")))
        .await
        .expect("second evidence");
}

/// The feedback-buttons message of the second round (not `first`).
async fn wait_for_second_ask(desk: &Desk, id: &str, first: &str) -> String {
    let want = format!("feedback:satisfied:{id}");
    desk.wait_for(CITIZEN, "the second feedback buttons", |m| {
        m.button_ids().contains(&want) && m.wamid != first
    })
    .await
    .wamid
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_report_after_reopening_reaches_the_citizen_with_its_buttons() {
    let desk = Desk::start().await;
    let (id, ask) = to_report_delivered(&desk).await;
    tap_unhappy(&desk, &ask, &id).await;
    desk.wait_text(CITIZEN, "Please tell us what is still wrong")
        .await;
    desk.sim
        .send_text(CITIZEN, "पानी अब भी गंदा आ रहा है")
        .await
        .expect("reason");
    // As many parts as the first report (text and one photo): the old key scheme collided here.
    second_round(&desk, &id, "हैंडपंप का पाइप बदल दिया गया").await;
    desk.wait_text(CITIZEN, "हैंडपंप का पाइप बदल दिया गया").await;
    desk.wait_for(CITIZEN, "the second evidence photo", |m| {
        m.media.as_deref() == Some(jpeg("again").as_slice())
    })
    .await;
    wait_for_second_ask(&desk, &id, &ask).await;
    assert_eq!(
        feedback_asks(&desk, CITIZEN, &id),
        2,
        "the feedback buttons again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_why_expires_when_the_citizen_answers_the_next_report() {
    let desk = Desk::start().await;
    let (id, ask) = to_report_delivered(&desk).await;
    tap_unhappy(&desk, &ask, &id).await;
    desk.wait_text(CITIZEN, "Please tell us what is still wrong")
        .await;
    // They never say why; the officer reports again and they are satisfied this time.
    second_round(&desk, &id, "नया हैंडपंप लगा दिया गया").await;
    let second = wait_for_second_ask(&desk, &id, &ask).await;
    desk.sim
        .tap_button(
            CITIZEN,
            &second,
            &format!("feedback:satisfied:{id}"),
            "संतुष्ट / Satisfied",
        )
        .await
        .expect("satisfied");
    desk.wait_text(CITIZEN, "संतुष्टि के साथ बंद").await;
    // Their later messages are theirs again: a greeting and a status question are answered.
    desk.sim.send_text(CITIZEN, "नमस्ते").await.expect("greeting");
    desk.wait_text(CITIZEN, "Namaste! This is").await;
    desk.sim.send_text(CITIZEN, "status").await.expect("status");
    let status = desk.wait_text(CITIZEN, "Your complaints").await;
    assert!(status.text().contains(&id), "{}", status.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typo_in_a_control_room_command_is_answered_and_holds_nothing_up() {
    let desk = Desk::start().await;
    for cmd in [
        "assign AMT-2026-999999 water",
        "reject AMT-2026-999998 out of scope",
        "note AMT-2026-999997 called the citizen",
    ] {
        desk.sim.send_text(CONTROL_ROOM, cmd).await.expect("command");
    }
    for n in ["999999", "999998", "999997"] {
        desk.wait_text(CONTROL_ROOM, &format!("There is no complaint AMT-2026-{n}"))
            .await;
    }
    // The number's next command is not held up behind a retried one.
    desk.sim
        .send_text(CONTROL_ROOM, "unassigned")
        .await
        .expect("unassigned");
    desk.wait_text(CONTROL_ROOM, "no unassigned complaints").await;
}

/// Meta answers the forward with a rate limit or a server error: the retry still forwards it
/// (before the outbox, the retry found the complaint forwarded and sent nothing).
#[tokio::test(flavor = "multi_thread")]
async fn a_forward_that_meta_refuses_for_now_is_sent_on_retry() {
    let desk = Desk::start().await;
    for (i, (status, code)) in [(429, 130429), (400, 131056), (500, 131000)]
        .into_iter()
        .enumerate()
    {
        desk.sim.fail_next_sends(WATER_OFFICER, 1, status, code);
        let citizen = format!("91981234{:04}", 100 + i);
        desk.sim
            .send_text(&citizen, &format!("गांव {i} में हैंडपंप से पानी नहीं आ रहा"))
            .await
            .expect("complaint");
        let id = desk.complaint_number(&citizen).await;
        let fwd = desk.wait_text(WATER_OFFICER, &id).await;
        assert_eq!(fwd.template_name().as_deref(), Some("shikayat_new_complaint"));
    }
    desk.quiet(WATER_OFFICER, 3, Duration::from_secs(3)).await;
}

/// Evidence the officer sends after the report reached the citizen (or while it was on its way)
/// follows on its own; the citizen is not asked for feedback a second time.
#[tokio::test(flavor = "multi_thread")]
async fn evidence_after_the_delivery_follows_it() {
    let desk = Desk::start().await;
    let (id, _ask) = to_report_delivered(&desk).await;
    // Well after the report settled: the officer replies to the complaint with one more photo.
    let details = desk.wait_text(WATER_OFFICER, "पूरा विवरण").await;
    let mut photo = InboundMedia::image(jpeg("late"), Some("बाद की फ़ोटो"));
    photo.context_wamid = Some(details.wamid.clone());
    desk.sim
        .send_media(WATER_OFFICER, photo)
        .await
        .expect("late evidence");
    let late = desk
        .wait_for(CITIZEN, "the late evidence", |m| {
            m.media.as_deref() == Some(jpeg("late").as_slice())
        })
        .await;
    assert!(late.text().contains("2/2"), "{}", late.text());
    tokio::time::sleep(Duration::from_secs(desk.settle_seconds + 1)).await;
    assert_eq!(feedback_asks(&desk, CITIZEN, &id), 1, "asked once");
}

/// A notification whose sender has no number and no user id registers nothing and is answered
/// 200 (Meta would otherwise redeliver it for days); the next real complaint is number 1.
#[tokio::test(flavor = "multi_thread")]
async fn a_sender_with_no_number_gets_nothing_registered() {
    let desk = Desk::start().await;
    let body = serde_json::json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"916391363636","phone_number_id":desk.sim.config().phone_number_id},
        "contacts":[{"profile":{"name":"x"},"wa_id":"+"}],
        "messages":[{"from":"+","id":"wamid.NO-NUMBER","timestamp":"1790000000","type":"text","text":{"body":"हैंडपंप खराब है"}}]}}]}]})
    .to_string()
    .into_bytes();
    let sig = desk.sim.sign(&body);
    assert_eq!(desk.sim.post_raw(body, Some(sig)).await.expect("post"), 200);
    tokio::time::sleep(Duration::from_secs(desk.settle_seconds + 1)).await;
    assert!(
        desk.sim.sent().is_empty(),
        "nothing sent for a sender with no number"
    );
    desk.sim
        .send_text(CITIZEN, "हैंडपंप से पानी नहीं आ रहा")
        .await
        .expect("complaint");
    assert_eq!(desk.complaint_number(CITIZEN).await, "AMT-2026-000001");
}

/// While "same complaint or new?" waits, at most 20 messages are held; each one past that is
/// answered with the question again instead of growing the conversation without bound.
#[tokio::test(flavor = "multi_thread")]
async fn messages_held_for_a_question_are_capped() {
    let desk = Desk::start().await;
    desk.sim
        .send_text(CITIZEN, "हैंडपंप से पानी नहीं आ रहा")
        .await
        .expect("complaint");
    let id = desk.complaint_number(CITIZEN).await;
    desk.wait_text(WATER_OFFICER, &id).await;
    // Past the burst by Meta's timestamps too (they count whole seconds).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asks = || {
        desk.sim
            .sent_to(CITIZEN)
            .iter()
            .filter(|m| m.text().contains("or a new complaint"))
            .count()
    };
    for i in 0..23 {
        desk.sim
            .send_text(CITIZEN, &format!("और जानकारी {i}"))
            .await
            .expect("more");
    }
    // The first message asks; 20 are held; the last three are asked again.
    for _ in 0..150 {
        if asks() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(asks(), 4);
}
