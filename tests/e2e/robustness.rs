//! Bad input gets a clear answer and loses nothing.

use std::time::Duration;

use serde_json::json;
use shikayat_graph_sim::InboundMedia;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_delivery_makes_one_complaint_and_one_ack() {
    let desk = Desk::start().await;
    let msg = json!({"id": "wamid.DUPLICATE-1", "type": "text", "text": {"body": "सड़क पर बड़ा गड्ढा है"}});
    desk.sim
        .send_message_json(CITIZEN, msg.clone())
        .await
        .expect("first");
    desk.sim
        .send_message_json(CITIZEN, msg)
        .await
        .expect("Meta redelivers");
    let id = desk.complaint_number(CITIZEN).await;
    desk.quiet(CITIZEN, 1, Duration::from_secs(desk.settle_seconds + 2))
        .await;
    desk.sim.send_text(CITIZEN, "status").await.expect("status");
    let status = desk.wait_text(CITIZEN, "Your complaints").await;
    assert_eq!(status.text().matches("AMT-").count(), 1, "{}", status.text());
    assert!(status.text().contains(&id));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_signature_is_refused_and_nothing_is_stored() {
    let desk = Desk::start().await;
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"916391363636","phone_number_id":"100000000000001"},
        "contacts":[{"profile":{"name":"x"},"wa_id":CITIZEN}],
        "messages":[{"from":CITIZEN,"id":"wamid.FORGED","timestamp":"1790000000","type":"text","text":{"body":"बिजली नहीं है"}}]}}]}]})
    .to_string()
    .into_bytes();
    let forged = format!("sha256={}", "0".repeat(64));
    assert_eq!(
        desk.sim.post_raw(body.clone(), Some(forged)).await.expect("post"),
        401
    );
    assert_eq!(desk.sim.post_raw(body.clone(), None).await.expect("post"), 401);
    // The same bytes signed with another secret.
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let sig = desk.sim.sign(&body);
    assert_eq!(desk.sim.post_raw(tampered, Some(sig)).await.expect("post"), 401);
    tokio::time::sleep(Duration::from_secs(desk.settle_seconds + 1)).await;
    assert!(desk.sim.sent().is_empty(), "nothing sent for forged posts");
    desk.sim.send_text(CITIZEN, "status").await.expect("status");
    desk.wait_text(CITIZEN, "No complaint is registered from this number")
        .await;

    // The GET handshake.
    let url = |token: &str| {
        format!(
            "{}/webhook?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            desk.base()
        )
    };
    let ok = reqwest::get(url(E2E_VERIFY_TOKEN)).await.expect("get");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.expect("body"), "1158201444");
    assert_eq!(reqwest::get(url("wrong")).await.expect("get").status(), 403);
    // A signed body that is not JSON is answered, not panicked on.
    let junk = b"{not json".to_vec();
    let sig = desk.sim.sign(&junk);
    assert_eq!(desk.sim.post_raw(junk, Some(sig)).await.expect("post"), 400);
    assert_eq!(
        reqwest::get(format!("{}/healthz", desk.base()))
            .await
            .expect("health")
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_in_the_middle_of_a_burst_loses_nothing() {
    let mut desk = Desk::start_with(8).await;
    desk.sim
        .send_text(CITIZEN, "गांव की सड़क पूरी टूट गई है, गड्ढे ही गड्ढे")
        .await
        .expect("text");
    desk.sim
        .send_media(CITIZEN, InboundMedia::image(jpeg("before-restart"), None))
        .await
        .expect("photo");
    let id = desk.complaint_number(CITIZEN).await;
    desk.restart().await;
    desk.sim
        .send_media(
            CITIZEN,
            InboundMedia::image(jpeg("after-restart"), Some("सड़क का दूसरा हिस्सा")),
        )
        .await
        .expect("photo 2");
    let fwd = desk.wait_text("919000000104", &id).await;
    desk.sim
        .tap_template_button(
            "919000000104",
            &fwd.wamid,
            &format!("officer:accept:{id}"),
            "स्वीकार",
        )
        .await
        .expect("accept");
    let details = desk.wait_text("919000000104", "पूरा विवरण").await;
    assert!(details.text().contains("सड़क का दूसरा हिस्सा"), "{}", details.text());
    desk.wait_for("919000000104", "two photos", |_| {
        desk.sim
            .sent_to("919000000104")
            .iter()
            .filter(|m| m.kind == "image")
            .count()
            == 2
    })
    .await;
    let photos: Vec<_> = desk
        .sim
        .sent_to("919000000104")
        .into_iter()
        .filter_map(|m| m.media)
        .collect();
    assert_eq!(photos, vec![jpeg("before-restart"), jpeg("after-restart")]);
    // One complaint: one acknowledgement, before and after the restart.
    assert_eq!(
        desk.sim
            .sent_to(CITIZEN)
            .iter()
            .filter(|m| m.text().contains("शिकायत संख्या"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_send_is_retried_and_an_unreachable_officer_is_reported() {
    let desk = Desk::start().await;
    // Meta answers 500 twice: the ack still arrives (the queue retries).
    desk.sim.fail_next_sends(CITIZEN, 2, 500, 131000);
    // The officer's number is not on WhatsApp: recorded and told to the control room.
    desk.sim.mark_unreachable(WATER_OFFICER);
    desk.sim
        .send_text(CITIZEN, "हैंडपंप खराब है, पानी नहीं")
        .await
        .expect("text");
    let id = desk.complaint_number(CITIZEN).await;
    assert_eq!(desk.sim.rejected().iter().filter(|r| r.code == 131000).count(), 2);
    desk.wait_for(CONTROL_ROOM, "delivery failure", |m| {
        m.text().contains(&id) && m.text().contains("131026")
    })
    .await;
}

/// Only the district's number (issue 9, item 7): a correctly signed post for another business
/// number on the same Meta app is acknowledged, logged as ignored, and otherwise changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn events_for_another_phone_number_id_are_acknowledged_and_ignored() {
    let desk = Desk::start().await;
    let other = "100000000000999";
    assert_ne!(other, desk.sim.config().phone_number_id);
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":other},
        "contacts":[{"profile":{"name":"x"},"wa_id":CITIZEN}],
        "messages":[{"from":CITIZEN,"id":"wamid.OTHER-NUMBER-1","timestamp":"1790000000","type":"text","text":{"body":"बिजली नहीं है"}}],
        "statuses":[{"id":"wamid.OTHER-NUMBER-OUT","status":"failed","timestamp":"1790000001","recipient_id":CITIZEN,
            "errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]}]})
    .to_string()
    .into_bytes();
    let sig = desk.sim.sign(&body);
    assert_eq!(desk.sim.post_raw(body, Some(sig)).await.expect("post"), 200);
    tokio::time::sleep(Duration::from_secs(desk.settle_seconds + 2)).await;
    assert!(desk.sim.sent().is_empty(), "no reply to another number's traffic");
    assert!(
        desk.log_text().contains("events for another business number"),
        "logged as ignored"
    );
    // Nothing was registered for the citizen either.
    desk.sim.send_text(CITIZEN, "status").await.expect("status");
    desk.wait_text(CITIZEN, "No complaint is registered from this number")
        .await;
}
