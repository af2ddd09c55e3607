//! The complaint lifecycle as citizens, officers and the control room live it.

use shikayat_graph_sim::InboundMedia;

use crate::harness::*;

/// Registers a water complaint with a photo and brings it to the citizen with the report.
/// Returns (complaint number, wamid of the feedback-buttons message).
pub(crate) async fn to_report_delivered(desk: &Desk) -> (String, String) {
    let sim = &desk.sim;
    sim.send_text(CITIZEN, "हमारे गांव में तीन दिन से हैंडपंप से पानी नहीं आ रहा")
        .await
        .expect("text");
    sim.send_media(CITIZEN, InboundMedia::image(jpeg("site"), Some("टूटा हैंडपंप")))
        .await
        .expect("photo");
    let id = desk.complaint_number(CITIZEN).await;

    // The officer has never written to the number: the approved template, with buttons.
    let fwd = desk
        .wait_for(WATER_OFFICER, "new-complaint template", |m| {
            m.template_name().as_deref() == Some("shikayat_new_complaint")
        })
        .await;
    assert!(fwd.text().contains(&id), "{}", fwd.text());
    let accept = format!("officer:accept:{id}");
    assert!(fwd.button_ids().contains(&accept), "{:?}", fwd.button_ids());
    sim.tap_template_button(WATER_OFFICER, &fwd.wamid, &accept, "स्वीकार")
        .await
        .expect("accept");

    // Accepting opened the window: the full complaint and the citizen's photo follow.
    let details = desk.wait_text(WATER_OFFICER, "पूरा विवरण").await;
    assert!(details.text().contains("हैंडपंप से पानी नहीं आ रहा"));
    let photo = desk
        .wait_for(WATER_OFFICER, "the citizen's photo", |m| m.kind == "image")
        .await;
    assert_eq!(photo.media.as_deref(), Some(jpeg("site").as_slice()));

    // The report: a reply to the complaint, then evidence.
    sim.send_reply_text(
        WATER_OFFICER,
        &details.wamid,
        "हैंडपंप की मरम्मत कर दी गई है, पानी चालू है",
    )
    .await
    .expect("report");
    desk.wait_text(WATER_OFFICER, "आख्या प्राप्त").await;
    sim.send_media(
        WATER_OFFICER,
        InboundMedia::image(jpeg("repaired"), Some("मरम्मत के बाद")),
    )
    .await
    .expect("evidence");

    // The report and the feedback buttons in one message.
    let ask = desk
        .wait_for(CITIZEN, "feedback buttons", |m| {
            m.button_ids().contains(&format!("feedback:dissatisfied:{id}"))
        })
        .await;
    assert!(
        ask.text().contains("संतुष्ट / Satisfied") && ask.text().contains("असंतुष्ट / Unhappy"),
        "{}",
        ask.text()
    );
    assert!(ask.text().contains("हैंडपंप की मरम्मत कर दी गई है"), "{}", ask.text());
    // The photo above the buttons when it came within the report's settle window, else right
    // after them as late evidence: either way it reaches the citizen.
    desk.wait_for(CITIZEN, "the evidence photo", |m| {
        m.media.as_deref() == Some(jpeg("repaired").as_slice())
    })
    .await;
    (id, ask.wamid)
}

/// `to_report_delivered`, then the citizen taps "satisfied" and is told the complaint is closed.
/// Returns the complaint number.
pub(crate) async fn to_closed_satisfied(desk: &Desk) -> String {
    let (id, ask) = to_report_delivered(desk).await;
    desk.sim
        .tap_button(
            CITIZEN,
            &ask,
            &format!("feedback:satisfied:{id}"),
            "संतुष्ट / Satisfied",
        )
        .await
        .expect("tap");
    desk.wait_text(CITIZEN, "संतुष्टि के साथ बंद").await;
    id
}

/// The citizen taps "not satisfied" on `ask`, the feedback buttons of complaint `id`.
pub(crate) async fn tap_unhappy(desk: &Desk, ask: &str, id: &str) {
    desk.sim
        .tap_button(
            CITIZEN,
            ask,
            &format!("feedback:dissatisfied:{id}"),
            "असंतुष्ट / Unhappy",
        )
        .await
        .expect("tap unhappy");
}

#[tokio::test(flavor = "multi_thread")]
async fn happy_path_with_a_photo() {
    let desk = Desk::start().await;
    let id = to_closed_satisfied(&desk).await;
    desk.sim.send_text(CITIZEN, "स्थिति").await.expect("status");
    let status = desk.wait_text(CITIZEN, "आपकी शिकायतें").await;
    assert!(
        status.text().contains(&id) && status.text().contains("निस्तारित"),
        "{}",
        status.text()
    );

    // Every message to the citizen is Hindi first, then English; consecutive ones are paced.
    let to_citizen = desk.sim.sent_to(CITIZEN);
    for m in to_citizen.iter().filter(|m| m.kind == "text") {
        let t = m.text();
        let hi = t
            .find(|c: char| ('\u{0900}'..='\u{097F}').contains(&c))
            .expect("Hindi");
        let en = t.find(|c: char| c.is_ascii_lowercase()).expect("English");
        assert!(hi < en, "Hindi first: {t}");
    }
    for pair in to_citizen.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= chrono::Duration::milliseconds(45), "paced: {gap:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hindi_only_complaint_reaches_its_department() {
    let desk = Desk::start().await;
    desk.sim
        .send_text(CITIZEN, "बिजली नहीं आ रही है, गांव का ट्रांसफार्मर जल गया है")
        .await
        .expect("text");
    let id = desk.complaint_number(CITIZEN).await;
    let fwd = desk.wait_text(ELECTRICITY_OFFICER, &id).await;
    assert_eq!(fwd.template_name().as_deref(), Some("shikayat_new_complaint"));
    assert!(desk.sim.sent_to(WATER_OFFICER).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_four_messages_is_one_complaint() {
    let desk = Desk::start().await;
    let sim = &desk.sim;
    sim.send_text(CITIZEN, "नल से गंदा पानी आ रहा है")
        .await
        .expect("text");
    sim.send_media(CITIZEN, InboundMedia::image(jpeg("one"), None))
        .await
        .expect("photo 1");
    sim.send_media(CITIZEN, InboundMedia::image(jpeg("two"), Some("नल के पास")))
        .await
        .expect("photo 2");
    sim.send_media(CITIZEN, InboundMedia::voice_note(b"OggS-voice".to_vec()))
        .await
        .expect("voice");
    let id = desk.complaint_number(CITIZEN).await;
    let fwd = desk.wait_text(WATER_OFFICER, &id).await;
    desk.sim
        .tap_template_button(
            WATER_OFFICER,
            &fwd.wamid,
            &format!("officer:accept:{id}"),
            "स्वीकार",
        )
        .await
        .expect("accept");
    let details = desk.wait_text(WATER_OFFICER, "पूरा विवरण").await;
    assert!(
        details.text().contains("नल से गंदा पानी") && details.text().contains("नल के पास"),
        "{}",
        details.text()
    );
    desk.wait_for(WATER_OFFICER, "voice note", |m| m.kind == "audio")
        .await;
    let media: Vec<_> = desk
        .sim
        .sent_to(WATER_OFFICER)
        .into_iter()
        .filter_map(|m| m.media)
        .collect();
    assert_eq!(media, vec![jpeg("one"), jpeg("two"), b"OggS-voice".to_vec()]);
    // One complaint, one acknowledgement.
    desk.quiet(CITIZEN, 1, std::time::Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unroutable_complaints_are_assigned_by_the_control_room() {
    let desk = Desk::start().await;
    let sim = &desk.sim;
    sim.send_text(CITIZEN, "कोई सुनवाई नहीं हो रही, कृपया मदद करें")
        .await
        .expect("text");
    let id = desk.complaint_number(CITIZEN).await;
    // Outside the control room's window: the template.
    let told = desk.wait_text(CONTROL_ROOM, &id).await;
    assert_eq!(told.template_name().as_deref(), Some("shikayat_unassigned"));
    desk.wait_text(CONTROL_ROOM2, &id).await;

    // By text command.
    sim.send_text(CONTROL_ROOM, &format!("assign {id} water"))
        .await
        .expect("assign");
    desk.wait_text(WATER_OFFICER, &id).await;
    desk.wait_text(CONTROL_ROOM, "sent to").await;

    // Inside the window, the control room gets a list of departments to pick from.
    sim.send_text(CITIZEN2, "मदद चाहिए, कोई सुनता नहीं")
        .await
        .expect("text 2");
    let id2 = desk.complaint_number(CITIZEN2).await;
    let list = desk
        .wait_for(CONTROL_ROOM, "department list", |m| {
            m.button_ids().iter().any(|b| b.contains(&id2))
        })
        .await;
    let row = format!("assign:{id2}:electricity");
    assert!(list.button_ids().contains(&row), "{:?}", list.button_ids());
    sim.choose_list_row(CONTROL_ROOM, &list.wamid, &row, "Electricity")
        .await
        .expect("pick");
    desk.wait_text(ELECTRICITY_OFFICER, &id2).await;

    // Control-room commands only from control-room numbers.
    sim.send_text(CITIZEN2, &format!("assign {id2} water"))
        .await
        .expect("citizen tries");
    desk.quiet(
        WATER_OFFICER,
        desk.sim.sent_to(WATER_OFFICER).len(),
        std::time::Duration::from_secs(3),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn not_my_department_goes_back_to_the_control_room() {
    let desk = Desk::start().await;
    let sim = &desk.sim;
    sim.send_text(CITIZEN, "bijli ka bill galat aaya hai aur transformer bhi kharab")
        .await
        .expect("text");
    let id = desk.complaint_number(CITIZEN).await;
    let fwd = desk.wait_text(ELECTRICITY_OFFICER, &id).await;
    sim.tap_template_button(
        ELECTRICITY_OFFICER,
        &fwd.wamid,
        &format!("officer:decline:{id}"),
        "अन्य विभाग",
    )
    .await
    .expect("decline");
    desk.wait_text(CONTROL_ROOM, &id).await;
    desk.wait_text(ELECTRICITY_OFFICER, "back with the control room")
        .await;
    sim.send_text(CONTROL_ROOM, &format!("assign {id} water"))
        .await
        .expect("reassign");
    desk.wait_text(WATER_OFFICER, &id).await;
    // The declining officer can no longer report on it.
    sim.send_text(ELECTRICITY_OFFICER, &format!("{id} काम पूरा"))
        .await
        .expect("stale report");
    desk.wait_text(ELECTRICITY_OFFICER, "not allowed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dissatisfied_feedback_reopens_and_tells_the_control_room() {
    let desk = Desk::start().await;
    let (id, ask) = to_report_delivered(&desk).await;
    tap_unhappy(&desk, &ask, &id).await;
    desk.wait_text(CITIZEN, "दोबारा खोल दी गई").await;
    desk.wait_text(CONTROL_ROOM, &id).await;
    desk.wait_text(SDM, &id).await;
    // Forwarded again to the same officer, marked reopened.
    desk.wait_text(WATER_OFFICER, "Reopened").await;
    desk.sim
        .send_text(CITIZEN, "अभी भी पानी नहीं आ रहा, हैंडपंप फिर खराब है")
        .await
        .expect("reason");
    desk.wait_text(CITIZEN, "दर्ज कर ली गई").await;
    desk.wait_text(WATER_OFFICER, "अभी भी पानी नहीं आ रहा").await;
    desk.wait_text(CONTROL_ROOM, "अभी भी पानी नहीं आ रहा").await;
    desk.wait_text(SDM, "अभी भी पानी नहीं आ रहा").await;
}
