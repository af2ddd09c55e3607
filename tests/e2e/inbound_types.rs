//! Every inbound message type gets a sensible answer, and none breaks anything.

use std::time::Duration;

use serde_json::json;
use shikayat_graph_sim::InboundMedia;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn every_inbound_type_is_handled() {
    let desk = Desk::start().await;
    let sim = &desk.sim;

    // A greeting alone: a welcome, no complaint.
    sim.send_text(CITIZEN2, "नमस्ते जी").await.expect("greeting");
    desk.wait_text(CITIZEN2, "This is the District Magistrate").await;
    // Things we cannot read: a polite bilingual answer each.
    sim.send_unsupported(CITIZEN2, "poll_creation")
        .await
        .expect("unsupported");
    sim.send_message_json(CITIZEN2, json!({"type": "order", "order": {"catalog_id": "1"}}))
        .await
        .expect("unknown type");
    desk.wait_for(CITIZEN2, "two polite refusals", |_| {
        sim.sent_to(CITIZEN2)
            .iter()
            .filter(|m| m.text().contains("we cannot read this kind of message"))
            .count()
            == 2
    })
    .await;
    // Media over 100 MB arrives as an error without an id.
    sim.send_message_json(
        CITIZEN2,
        json!({"type": "video", "errors": [{"code": 131052, "title": "Media file size too big"}]}),
    )
    .await
    .expect("too big");
    desk.wait_text(CITIZEN2, "too large").await;
    // Reactions and system notices need no answer.
    sim.send_reaction(CITIZEN2, "wamid.anything", "👍")
        .await
        .expect("reaction");
    sim.send_message_json(CITIZEN2, json!({"type": "system", "system": {"type": "user_changed_number", "wa_id": "919795123456", "body": "changed"}}))
        .await
        .expect("system");
    desk.quiet(CITIZEN2, 4, Duration::from_secs(2)).await;

    // A complaint made of a location, a contact card, a document, a video and a sticker.
    sim.send_location(CITIZEN, 26.1543, 81.8147, Some("अमेठी बस स्टैंड"), None)
        .await
        .expect("location");
    let id = desk.complaint_number(CITIZEN).await;
    sim.send_contact(CITIZEN, "Ramesh Kumar", "+91 98390 12345")
        .await
        .expect("contact");
    sim.send_media(
        CITIZEN,
        InboundMedia::document(b"%PDF-1.4 ration".to_vec(), "ration.pdf", "application/pdf"),
    )
    .await
    .expect("document");
    sim.send_media(
        CITIZEN,
        InboundMedia::video(
            b"mp4-bytes".to_vec(),
            Some("राशन कार्ड नहीं बना, कोटेदार राशन नहीं दे रहा"),
        ),
    )
    .await
    .expect("video");
    sim.send_media(
        CITIZEN,
        InboundMedia::new("sticker", b"RIFF-webp".to_vec(), "image/webp"),
    )
    .await
    .expect("sticker");
    let officer = "919000000108"; // food & civil supplies
    let fwd = desk.wait_text(officer, &id).await;
    sim.tap_template_button(officer, &fwd.wamid, &format!("officer:accept:{id}"), "स्वीकार")
        .await
        .expect("accept");
    let details = desk.wait_text(officer, "पूरा विवरण").await;
    assert!(
        details.text().contains("maps.google.com/?q=26.154300,81.814700"),
        "{}",
        details.text()
    );
    assert!(details.text().contains("Ramesh Kumar"), "{}", details.text());
    desk.wait_for(officer, "document, video and sticker", |_| {
        let kinds: Vec<String> = sim.sent_to(officer).iter().map(|m| m.kind.clone()).collect();
        ["document", "video", "sticker"]
            .iter()
            .all(|k| kinds.iter().any(|x| x == k))
    })
    .await;

    // A user known only by a business-scoped id gets their acknowledgement through it.
    let bsuid = "IN.81907658751096802643";
    sim.send_text(bsuid, "स्कूल में मास्टर नहीं आते")
        .await
        .expect("bsuid text");
    desk.complaint_number(bsuid).await;

    // One POST carrying three citizens' messages across two entries: three complaints.
    let batch = ["919000555001", "919000555002", "919000555003"]
        .iter()
        .map(|p| {
            (
                p.to_string(),
                json!({"type": "text", "text": {"body": "पेंशन नहीं मिल रही"}}),
            )
        })
        .collect();
    sim.post_batch(batch, 2).await.expect("batch");
    for p in ["919000555001", "919000555002", "919000555003"] {
        desk.complaint_number(p).await;
    }

    // A `failed` status arriving later (here: the ack, number no longer on WhatsApp) is
    // recorded on the complaint and told to the control room.
    let ack = sim
        .sent_to(CITIZEN)
        .into_iter()
        .find(|m| m.text().contains(&id))
        .expect("ack");
    let failed = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"916391363636","phone_number_id":"100000000000001"},
        "statuses":[{"id": ack.wamid, "status":"failed","timestamp":"1790000100","recipient_id":CITIZEN,
            "errors":[{"code":131026,"title":"Message undeliverable","error_data":{"details":"Receiver is incapable of receiving this message"}}]}]}}]}]})
    .to_string()
    .into_bytes();
    let sig = sim.sign(&failed);
    assert_eq!(sim.post_raw(failed, Some(sig)).await.expect("status"), 200);
    desk.wait_for(CONTROL_ROOM, "failed status", |m| {
        m.text().contains(&id) && m.text().contains("131026")
    })
    .await;

    // Delivery statuses (sent, delivered, read) come back for all of the above and are
    // recorded without disturbing anything: the desk is still healthy and answers.
    sim.send_text(CITIZEN2, "status").await.expect("status");
    desk.wait_text(CITIZEN2, "No complaint is registered").await;
}
