//! What reaches people outside their 24-hour window, under Meta's template rules as the
//! simulator enforces them: the report with every piece of evidence, alerts to staff, a
//! complaint of media alone, and lists that stay within WhatsApp's limits.

use shikayat_graph_sim::{InboundMedia, SentMessage};

use crate::harness::*;

fn position(sent: &[SentMessage], pred: impl Fn(&SentMessage) -> bool) -> Option<usize> {
    sent.iter().position(pred)
}

/// A complaint forwarded to the water officer and accepted; returns (number, details wamid).
async fn accepted_water_complaint(desk: &Desk, citizen: &str, text: &str) -> (String, String) {
    desk.sim.send_text(citizen, text).await.expect("complaint");
    let id = desk.complaint_number(citizen).await;
    let fwd = desk
        .wait_for(WATER_OFFICER, "the complaint", |m| {
            m.text().contains(&id) && m.button_ids().contains(&format!("officer:accept:{id}"))
        })
        .await;
    let accept = format!("officer:accept:{id}");
    if fwd.kind == "template" {
        desk.sim
            .tap_template_button(WATER_OFFICER, &fwd.wamid, &accept, "स्वीकार / Accept")
            .await
            .expect("accept");
    } else {
        desk.sim
            .tap_button(WATER_OFFICER, &fwd.wamid, &accept, "स्वीकार / Accept")
            .await
            .expect("accept");
    }
    let details = desk
        .wait_for(WATER_OFFICER, "the details", |m| {
            m.text().contains("पूरा विवरण") && m.text().contains(&id)
        })
        .await;
    (id, details.wamid)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_after_the_window_closed_brings_every_piece_of_evidence_then_the_buttons() {
    let desk = Desk::start().await;
    let sim = &desk.sim;
    let (id, details) = accepted_water_complaint(&desk, CITIZEN, "हमारे गांव में हैंडपंप से पानी नहीं आ रहा").await;
    // Days pass: the citizen's window has closed by the time the report comes.
    sim.expire_window(CITIZEN);
    sim.send_reply_text(WATER_OFFICER, &details, "हैंडपंप की मरम्मत कर दी गई है\nपानी चालू है")
        .await
        .expect("report text");
    sim.send_media(
        WATER_OFFICER,
        InboundMedia::image(jpeg("repaired"), Some("मरम्मत के बाद")),
    )
    .await
    .expect("photo");
    let video = b"\x00\x00\x00\x18ftypmp42 running water".to_vec();
    sim.send_media(WATER_OFFICER, InboundMedia::video(video.clone(), None))
        .await
        .expect("video");

    // The template, the photo in its header, and "view report": no question yet.
    let announced = desk
        .wait_for(CITIZEN, "the report's template", |m| {
            m.template_name().as_deref() == Some("shikayat_report_with_image")
        })
        .await;
    assert!(announced.text().contains(&id), "{}", announced.text());
    assert!(
        announced.text().contains("हैंडपंप की मरम्मत कर दी गई है · पानी चालू है"),
        "the report in one line: {}",
        announced.text()
    );
    assert_eq!(
        announced.media.as_deref(),
        Some(jpeg("repaired").as_slice()),
        "the photo in the header"
    );
    let view = format!("view:{id}");
    assert_eq!(announced.button_ids(), vec![view.clone()]);
    desk.quiet(
        CITIZEN,
        desk.sim.sent_to(CITIZEN).len(),
        std::time::Duration::from_secs(3),
    )
    .await;
    assert!(
        !desk
            .sim
            .sent_to(CITIZEN)
            .iter()
            .any(|m| m.button_ids().iter().any(|b| b.starts_with("feedback:"))),
        "never asked for feedback on evidence they cannot see"
    );

    // The tap opens the window: the video, then one message with the photo above the report
    // and the feedback buttons under it (as few messages as WhatsApp allows).
    sim.tap_template_button(CITIZEN, &announced.wamid, &view, "आख्या देखें / View report")
        .await
        .expect("view");
    let ask = desk
        .wait_for(CITIZEN, "the feedback buttons", |m| {
            m.button_ids().contains(&format!("feedback:dissatisfied:{id}"))
        })
        .await;
    assert_eq!(
        ask.media.as_deref(),
        Some(jpeg("repaired").as_slice()),
        "the photo above the report"
    );
    assert!(
        ask.text().contains("पानी चालू है"),
        "the report in the body: {}",
        ask.text()
    );
    let sent = sim.sent_to(CITIZEN);
    let clip = position(&sent, |m| {
        m.kind == "video" && m.media.as_deref() == Some(video.as_slice())
    });
    let ask_at = position(&sent, |m| m.wamid == ask.wamid);
    assert!(
        matches!((clip, ask_at), (Some(v), Some(a)) if v < a),
        "the video, then the buttons: {clip:?} {ask_at:?}"
    );
    let after_tap: Vec<_> = sent.iter().filter(|m| m.at > announced.at).collect();
    assert_eq!(
        after_tap.len(),
        2,
        "two messages for a report with a photo and a video: {after_tap:?}"
    );
    // Nothing the simulator refused on the way, and the report went out once.
    assert!(
        sim.rejected().iter().all(|r| r.code == 131047),
        "{:?}",
        sim.rejected()
    );
    assert_eq!(
        sent.iter()
            .filter(|m| m.template_name().as_deref() == Some("shikayat_report_with_image"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unhappy_alerts_reach_staff_outside_their_window_in_one_line() {
    let desk = Desk::start().await;
    let (id, ask) = crate::lifecycle::to_report_delivered(&desk).await;
    crate::lifecycle::tap_unhappy(&desk, &ask, &id).await;
    // The control room never wrote to the number: the approved template, not free-form.
    let alert = desk
        .wait_for(CONTROL_ROOM, "the unhappy alert", |m| {
            m.template_name().as_deref() == Some("shikayat_dissatisfied") && m.text().contains(&id)
        })
        .await;
    assert!(
        alert.text().contains("Jal Nigam") || alert.text().contains("जल"),
        "{}",
        alert.text()
    );
    desk.wait_text(CITIZEN, "क्या कमी रह गई").await;
    desk.sim
        .send_text(CITIZEN, "नल अभी भी खराब है\n\nपानी\tगंदा     आता है")
        .await
        .expect("reason");
    let reason = desk
        .wait_for(CONTROL_ROOM, "the complainant's words", |m| {
            m.template_name().as_deref() == Some("shikayat_complainant_reason")
        })
        .await;
    assert!(
        reason.text().contains("नल अभी भी खराब है · पानी गंदा आता है"),
        "{}",
        reason.text()
    );
    assert!(desk.sim.rejected().is_empty(), "{:?}", desk.sim.rejected());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_only_complaint_reaches_the_control_room_with_the_photo() {
    let desk = Desk::start().await;
    let sim = &desk.sim;
    sim.send_media(CITIZEN2, InboundMedia::image(jpeg("garbage-heap"), None))
        .await
        .expect("photo");
    let id = desk.complaint_number(CITIZEN2).await;
    let alert = desk
        .wait_for(CONTROL_ROOM, "the unassigned template", |m| {
            m.template_name().as_deref() == Some("shikayat_unassigned") && m.text().contains(&id)
        })
        .await;
    assert!(alert.text().contains("photo"), "what it holds: {}", alert.text());
    let view = format!("view:{id}");
    assert_eq!(alert.button_ids(), vec![view.clone()]);
    sim.tap_template_button(CONTROL_ROOM, &alert.wamid, &view, "शिकायत देखें / View")
        .await
        .expect("view");
    let photo = desk
        .wait_for(CONTROL_ROOM, "the citizen's photo", |m| m.kind == "image")
        .await;
    assert_eq!(photo.media.as_deref(), Some(jpeg("garbage-heap").as_slice()));
    let list = desk
        .wait_for(CONTROL_ROOM, "the department list", |m| {
            m.button_ids().contains(&format!("assign:{id}:water"))
        })
        .await;
    // Assigning from the list forwards it, photo and all, to the officer.
    sim.choose_list_row(CONTROL_ROOM, &list.wamid, &format!("assign:{id}:water"), "Water")
        .await
        .expect("assign");
    desk.wait_for(WATER_OFFICER, "the complaint", |m| m.text().contains(&id))
        .await;
    assert!(sim.rejected().is_empty(), "{:?}", sim.rejected());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_list_of_forty_pages_within_whatsapps_limits() {
    let desk = Desk::start().await;
    let citizens: Vec<String> = (0..40).map(|i| format!("9197000{i:05}")).collect();
    for c in &citizens {
        desk.sim
            .send_text(c, "हमारे गांव में हैंडपंप से पानी नहीं आ रहा, कृपया ठीक कराएं")
            .await
            .expect("complaint");
    }
    let mut ids = Vec::new();
    for c in &citizens {
        ids.push(desk.complaint_number(c).await);
    }
    for id in &ids {
        desk.wait_for(WATER_OFFICER, "the forward", |m| m.text().contains(id.as_str()))
            .await;
    }
    let page = |n: usize| {
        let ask = if n == 1 {
            "pending".to_string()
        } else {
            format!("pending {n}")
        };
        let desk = &desk;
        async move {
            desk.sim.send_text(WATER_OFFICER, &ask).await.expect("pending");
            desk.wait_for(WATER_OFFICER, &ask, |m| {
                m.text().contains("Your pending complaints")
                    && m.text().contains("/ 40)")
                    && m.text().contains(&format!("({}–", (n - 1) * 10 + 1))
            })
            .await
            .text()
        }
    };
    let mut listed = std::collections::HashSet::new();
    for n in 1..=4 {
        let text = page(n).await;
        assert!(
            text.chars().count() <= 4096,
            "page {n}: {} characters",
            text.chars().count()
        );
        let on_page: Vec<&String> = ids.iter().filter(|id| text.contains(id.as_str())).collect();
        assert_eq!(on_page.len(), 10, "page {n}: {text}");
        listed.extend(on_page);
        assert_eq!(
            text.contains(&format!("pending {}", n + 1)),
            n < 4,
            "page {n}'s way on: {text}"
        );
    }
    assert_eq!(listed.len(), 40, "every complaint on exactly one page");
    assert!(desk.sim.rejected().is_empty(), "{:?}", desk.sim.rejected());
}
