//! In-process tests: the simulator on a free port, a tiny axum webhook receiver, reqwest as the app.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::*;

const PHONE: &str = "919812345678";
const TOKEN: &str = "sandbox-access-token";

#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    status: Arc<AtomicU16>,
    /// When set, the "app" replies through the Graph API before acknowledging a message webhook.
    reply_via: Arc<Mutex<Option<String>>>,
    secret: String,
}

impl Receiver {
    fn bodies(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }

    fn messages(&self) -> Vec<Value> {
        self.bodies()
            .iter()
            .filter_map(|b| b.pointer("/entry/0/changes/0/value/messages/0").cloned())
            .collect()
    }

    fn statuses(&self) -> Vec<Value> {
        self.bodies()
            .iter()
            .filter_map(|b| b.pointer("/entry/0/changes/0/value/statuses/0").cloned())
            .collect()
    }
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let expected = crate::escape::signature(&r.secret, &body);
    let given = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if given != expected {
        return StatusCode::UNAUTHORIZED;
    }
    r.got.lock().unwrap().push((headers, body.clone()));
    let graph = r.reply_via.lock().unwrap().clone();
    if let Some(graph) = graph {
        let v: Value = serde_json::from_slice(&body).unwrap();
        if let Some(from) = v.pointer("/entry/0/changes/0/value/messages/0/from") {
            let (status, _) = graph_send(&graph, TOKEN, text_to(from.as_str().unwrap(), "ack")).await;
            assert_eq!(status, 200, "reply inside the webhook must be in-window");
        }
    }
    StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap()
}

async fn receiver(secret: &str) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let r = Receiver {
        url: format!("http://{addr}/webhook"),
        got: Arc::default(),
        status: Arc::new(AtomicU16::new(200)),
        reply_via: Arc::default(),
        secret: secret.to_string(),
    };
    let app = Router::new().route("/webhook", post(hook)).with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    r
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A sim with a webhook receiver; statuses off unless the test wants them.
async fn start(cfg: SimConfig) -> (GraphSim, String, Receiver) {
    let rx = receiver(&cfg.app_secret).await;
    let cfg = SimConfig {
        webhook_url: Some(rx.url.clone()),
        ..cfg
    };
    let (sim, _) = GraphSim::serve(cfg, local()).await.unwrap();
    let graph = sim.graph_base_url().unwrap();
    (sim, graph, rx)
}

fn quiet() -> SimConfig {
    SimConfig {
        send_statuses: false,
        personas: vec![Persona::new(PHONE, "सुनीता देवी", "Citizen — Lucknow")],
        templates: vec![grievance_report_hi()],
        ..SimConfig::default()
    }
}

/// The reference's §8.5 example template, approved in `quiet()`.
fn grievance_report_hi() -> Value {
    json!({"name":"grievance_report_hi","language":"hi","category":"UTILITY","components":[
        {"type":"BODY","text":"शिकायत {{1}} पर आख्या भेजी गई।","example":{"body_text":[["GRV-2026-000087"]]}},
        {"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"संतुष्ट"}]}]})
}

/// config/templates, as local mode and the e2e tests load them.
pub(crate) fn repo_templates() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/templates");
    crate::load_templates(&dir).unwrap()
}

fn text_to(to: &str, body: &str) -> Value {
    json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,"type":"text","text":{"body":body}})
}

async fn graph_send(graph: &str, token: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{graph}/v25.0/100000000000001/messages"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn webhook_post_is_meta_escaped_and_signed() {
    let (sim, _, rx) = start(quiet()).await;
    let text = "\u{938}\u{921}\u{93c}\u{915}/road \u{1F600}";
    let wamid = sim.send_text("+91 98123 45678", text).await.unwrap();
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    assert!(body.is_ascii(), "non-ASCII must be \\u-escaped");
    let raw = std::str::from_utf8(body).unwrap();
    assert!(
        raw.contains(r"\u0938\u0921\u093c\u0915\/road \ud83d\ude00"),
        "{raw}"
    );
    assert!(raw.starts_with(r#"{"object":"whatsapp_business_account","entry":[{"id":"200000000000001""#));
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-hub-signature-256"].to_str().unwrap(), sim.sign(body));

    let v: Value = serde_json::from_slice(body).unwrap();
    let value = &v["entry"][0]["changes"][0]["value"];
    assert_eq!(v["entry"][0]["changes"][0]["field"], "messages");
    assert_eq!(value["metadata"]["display_phone_number"], "916391363636");
    assert_eq!(value["metadata"]["phone_number_id"], "100000000000001");
    assert_eq!(value["contacts"][0]["wa_id"], PHONE);
    assert_eq!(value["contacts"][0]["profile"]["name"], "सुनीता देवी");
    let m = &value["messages"][0];
    assert_eq!(m["from"], PHONE);
    assert_eq!(m["id"], wamid.as_str());
    assert_eq!(m["text"]["body"], text);
    assert!(m["timestamp"].as_str().unwrap().parse::<i64>().is_ok());
}

#[tokio::test]
async fn window_rule_131047_then_success_after_inbound() {
    let (sim, graph, _rx) = start(quiet()).await;
    let (status, body) = graph_send(&graph, TOKEN, text_to("+919812345678", "hello")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 131047);
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["error_data"]["details"]
        .as_str()
        .unwrap()
        .contains("24 hours"));
    assert_eq!(sim.rejected()[0].code, 131047);
    assert_eq!(sim.rejected()[0].to, PHONE);

    // A template is allowed outside the window.
    let tpl = json!({"messaging_product":"whatsapp","to":"+919812345678","type":"template",
        "template":{"name":"grievance_report_hi","language":{"code":"hi"},"components":[
            {"type":"body","parameters":[{"type":"text","text":"GRV-2026-000087"}]},
            {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"FEEDBACK:SATISFIED:GRV-2026-000087"}]}]}});
    let (status, _) = graph_send(&graph, TOKEN, tpl).await;
    assert_eq!(status, 200);

    sim.send_text(PHONE, "पानी नहीं आ रहा").await.unwrap();
    let (status, body) = graph_send(&graph, TOKEN, text_to("+919812345678", "hello")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["messages"][0]["id"].as_str().unwrap().starts_with("wamid."));
    assert_eq!(body["contacts"][0]["wa_id"], PHONE);
    assert_eq!(body["contacts"][0]["input"], "+919812345678");

    let sent = sim.sent_to(PHONE);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].template_name().as_deref(), Some("grievance_report_hi"));
    assert_eq!(sent[0].button_ids(), vec!["FEEDBACK:SATISFIED:GRV-2026-000087"]);
    assert!(sent[0].text().contains("GRV-2026-000087"));

    sim.expire_window(PHONE);
    let (status, body) = graph_send(&graph, TOKEN, text_to("+919812345678", "again")).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(131047)));
}

#[tokio::test]
async fn app_can_reply_while_handling_the_webhook() {
    let (sim, graph, rx) = start(quiet()).await;
    *rx.reply_via.lock().unwrap() = Some(graph);
    sim.send_text(PHONE, "hi").await.unwrap();
    assert_eq!(sim.sent_to(PHONE)[0].text(), "ack");
}

#[tokio::test]
async fn upload_lookup_download_round_trip() {
    let (sim, graph, _rx) = start(quiet()).await;
    let http = reqwest::Client::new();
    let pdf = b"%PDF-1.4 report".to_vec();
    let form = || {
        reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", "application/pdf")
            .part(
                "file",
                reqwest::multipart::Part::bytes(pdf.clone())
                    .file_name("report.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            )
    };
    let upload = format!("{graph}/v25.0/100000000000001/media");
    let resp = http.post(&upload).multipart(form()).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http
        .post(&upload)
        .bearer_auth(TOKEN)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let lookup = format!("{graph}/v25.0/{id}");
    assert_eq!(http.get(&lookup).send().await.unwrap().status(), 401);
    let meta: Value = http
        .get(&lookup)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["mime_type"], "application/pdf");
    assert_eq!(meta["file_size"], pdf.len());
    assert_eq!(meta["sha256"], hex::encode(Sha256::digest(&pdf)));
    let url = meta["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/graph/media-download/"),
        "{url}"
    );

    assert_eq!(http.get(url).send().await.unwrap().status(), 401);
    let resp = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);

    let missing = http
        .get(format!("{graph}/v25.0/999"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let what: Vec<(String, bool)> = sim
        .media_requests()
        .into_iter()
        .map(|r| (r.what, r.authorized))
        .collect();
    let expect = [
        ("upload", false),
        ("upload", true),
        ("lookup", false),
        ("lookup", true),
        ("download", false),
        ("download", true),
        ("lookup", true),
    ];
    let expect: Vec<(String, bool)> = expect.iter().map(|(w, a)| (w.to_string(), *a)).collect();
    assert_eq!(what, expect);

    // Sending the uploaded id attaches the bytes; unknown ids are refused.
    sim.send_text(PHONE, "hi").await.unwrap();
    let doc = json!({"messaging_product":"whatsapp","to":"+919812345678","type":"document",
        "document":{"id":id,"filename":"report.pdf","caption":"कार्रवाई रिपोर्ट"}});
    assert_eq!(graph_send(&graph, TOKEN, doc).await.0, 200);
    let sent = &sim.sent_to(PHONE)[0];
    assert_eq!(sent.media.as_deref(), Some(&pdf[..]));
    assert!(sent.text().contains("कार्रवाई रिपोर्ट"));
    let bad = json!({"messaging_product":"whatsapp","to":"+919812345678","type":"image","image":{"id":"42"}});
    assert_eq!(graph_send(&graph, TOKEN, bad).await.0, 400);
}

#[tokio::test]
async fn inbound_media_is_downloadable_with_the_token() {
    let (sim, graph, rx) = start(quiet()).await;
    let jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3];
    let m = InboundMedia::image(jpeg.clone(), Some("सड़क पर गड्ढा")).with_url();
    sim.send_media(PHONE, m).await.unwrap();
    sim.send_media(PHONE, InboundMedia::voice_note(vec![9; 10]))
        .await
        .unwrap();
    let msgs = rx.messages();
    let image = &msgs[0]["image"];
    assert_eq!(image["caption"], "सड़क पर गड्ढा");
    assert_eq!(
        image["sha256"],
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&jpeg))
    );
    assert!(image["url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(msgs[1]["audio"]["voice"], true);
    assert_eq!(msgs[1]["audio"]["mime_type"], "audio/ogg; codecs=opus");
    assert!(msgs[1]["audio"].get("url").is_none());

    let http = reqwest::Client::new();
    let id = image["id"].as_str().unwrap();
    let meta: Value = http
        .get(format!("{graph}/v25.0/{id}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bytes = http
        .get(meta["url"].as_str().unwrap())
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.to_vec(), jpeg);
    assert!(sim.media_requests().iter().all(|r| r.authorized));
}

#[tokio::test]
async fn sent_to_normalizes_numbers_and_bsuids() {
    let (sim, graph, _rx) = start(SimConfig {
        enforce_window: false,
        ..quiet()
    })
    .await;
    for to in ["+91 98123-45678", "919812345678", "9812345678"] {
        assert_eq!(graph_send(&graph, TOKEN, text_to(to, "x")).await.0, 200);
    }
    for q in ["+919812345678", "91 98123 45678", "98123-45678", PHONE] {
        assert_eq!(sim.sent_to(q).len(), 3, "{q}");
    }
    assert!(sim.sent_to("+919800000000").is_empty());

    // `recipient` with a BSUID: a bare one stays a BSUID; ours for a known phone maps to the phone.
    let bare =
        json!({"messaging_product":"whatsapp","recipient":"IN.123456789","type":"text","text":{"body":"b"}});
    let (status, body) = graph_send(&graph, TOKEN, bare).await;
    assert_eq!(status, 200);
    assert_eq!(body["contacts"][0]["user_id"], "IN.123456789");
    assert_eq!(sim.sent_to("IN.123456789").len(), 1);
    sim.send_text(PHONE, "hi").await.unwrap();
    let bsuid = crate::state::bsuid_for(PHONE);
    let mapped = json!({"messaging_product":"whatsapp","recipient":bsuid,"type":"text","text":{"body":"m"}});
    assert_eq!(graph_send(&graph, TOKEN, mapped).await.0, 200);
    assert_eq!(sim.sent_to(PHONE).len(), 4);
    assert_eq!(sim.sent_to(&bsuid).len(), 4);
}

#[tokio::test]
async fn statuses_follow_an_accepted_send() {
    let (sim, graph, rx) = start(SimConfig {
        send_statuses: true,
        ..quiet()
    })
    .await;
    sim.send_text(PHONE, "hi").await.unwrap();
    let (_, body) = graph_send(&graph, TOKEN, text_to("+919812345678", "ok")).await;
    let wamid = body["messages"][0]["id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        if rx.statuses().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let statuses = rx.statuses();
    let kinds: Vec<&str> = statuses.iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["sent", "delivered", "read"]);
    for s in &statuses {
        assert_eq!(s["id"], wamid.as_str());
        assert_eq!(s["recipient_id"], PHONE);
        assert!(s["timestamp"].is_string());
    }
    assert_eq!(statuses[0]["pricing"]["type"], "free_customer_service");
    assert_eq!(sim.sent().len(), 1);
}

#[tokio::test]
async fn validation_and_auth_errors_are_graph_shaped() {
    let (sim, graph, _rx) = start(quiet()).await;
    sim.send_text(PHONE, "hi").await.unwrap();
    let (status, body) = graph_send(&graph, "wrong", text_to(PHONE, "x")).await;
    assert_eq!((status, body["error"]["code"].clone()), (401, json!(190)));

    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{graph}/v25.0/999/messages"))
        .bearer_auth(TOKEN)
        .json(&text_to(PHONE, "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], 100);

    let buttons: Vec<Value> = (0..4)
        .map(|i| json!({"type":"reply","reply":{"id":format!("b{i}"),"title":format!("t{i}")}}))
        .collect();
    let four = json!({"messaging_product":"whatsapp","to":PHONE,"type":"interactive",
        "interactive":{"type":"button","body":{"text":"?"},"action":{"buttons":buttons}}});
    let (status, body) = graph_send(&graph, TOKEN, four).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 100);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("(#100)"));
    assert_eq!(body["error"]["error_data"]["messaging_product"], "whatsapp");
    assert!(body["error"]["fbtrace_id"].is_string());

    let garbage = http
        .post(format!("{graph}/v25.0/100000000000001/messages"))
        .bearer_auth(TOKEN)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);

    let codes: Vec<i64> = sim.rejected().iter().map(|r| r.code).collect();
    assert_eq!(codes, [190, 100, 100, 100]);
    assert!(sim.sent().is_empty());
}

#[tokio::test]
async fn unreachable_injected_failures_and_pair_rate() {
    let cfg = SimConfig {
        pair_min_interval: Some(Duration::from_secs(60)),
        ..quiet()
    };
    let (sim, graph, _rx) = start(cfg).await;
    sim.send_text(PHONE, "hi").await.unwrap();
    sim.fail_next_sends("+91 98123 45678", 1, 500, 131000);
    let (status, body) = graph_send(&graph, TOKEN, text_to(PHONE, "1")).await;
    assert_eq!((status, body["error"]["code"].clone()), (500, json!(131000)));
    assert_eq!(graph_send(&graph, TOKEN, text_to(PHONE, "2")).await.0, 200);
    let (status, body) = graph_send(&graph, TOKEN, text_to(PHONE, "3")).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(131056)));

    sim.send_text("919800000001", "hi").await.unwrap();
    sim.mark_unreachable("919800000001");
    let (status, body) = graph_send(&graph, TOKEN, text_to("+919800000001", "x")).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(131026)));
    let rejected: Vec<(i64, u16)> = sim.rejected().iter().map(|r| (r.code, r.http_status)).collect();
    assert_eq!(rejected, [(131000, 500), (131056, 400), (131026, 400)]);
}

#[tokio::test]
async fn wait_for_sees_future_sends_and_reports_timeouts() {
    let (sim, graph, _rx) = start(quiet()).await;
    sim.send_text(PHONE, "hi").await.unwrap();
    let g = graph.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        graph_send(&g, TOKEN, text_to(PHONE, "first")).await;
        graph_send(&g, TOKEN, text_to(PHONE, "second")).await;
    });
    let m = sim
        .wait_for(PHONE, |m| m.text() == "second", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(m.kind, "text");
    match sim
        .wait_for(PHONE, |m| m.text() == "never", Duration::from_millis(50))
        .await
    {
        Err(SimError::Timeout { to, received }) => {
            assert_eq!(to, PHONE);
            assert_eq!(received, ["text: first", "text: second"]);
        }
        other => panic!("expected timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn replies_taps_and_bsuid_senders() {
    let (sim, graph, rx) = start(quiet()).await;
    let bsuid = "IN.81907658751096802643";
    sim.send_text(bsuid, "username user").await.unwrap();
    let body = &rx.bodies()[0];
    let value = &body["entry"][0]["changes"][0]["value"];
    assert!(value["messages"][0].get("from").is_none());
    assert_eq!(value["messages"][0]["from_user_id"], bsuid);
    assert!(value["contacts"][0].get("wa_id").is_none());
    assert_eq!(value["contacts"][0]["user_id"], bsuid);
    assert_eq!(value["contacts"][0]["profile"]["name"], "Citizen");
    let bare =
        json!({"messaging_product":"whatsapp","recipient":bsuid,"type":"text","text":{"body":"hello"}});
    assert_eq!(
        graph_send(&graph, TOKEN, bare).await.0,
        200,
        "window keyed on the BSUID"
    );

    sim.tap_button(PHONE, "wamid.X", "FEEDBACK:DISSATISFIED:GRV-1", "असंतुष्ट")
        .await
        .unwrap();
    sim.choose_list_row(PHONE, "wamid.Y", "CATEGORY:WATER", "पानी")
        .await
        .unwrap();
    sim.tap_template_button(PHONE, "wamid.Z", "FEEDBACK:SATISFIED:GRV-1", "संतुष्ट")
        .await
        .unwrap();
    sim.send_unsupported(PHONE, "poll_creation").await.unwrap();
    sim.send_location(PHONE, 26.85, 80.94, Some("Hazratganj"), None)
        .await
        .unwrap();
    sim.send_reaction(PHONE, "wamid.X", "👍").await.unwrap();
    sim.send_contact(PHONE, "Ramesh Kumar", "+91 98390 12345")
        .await
        .unwrap();
    let m = rx.messages();
    assert_eq!(m[1]["context"], json!({"from":"916391363636","id":"wamid.X"}));
    assert_eq!(
        m[1]["interactive"]["button_reply"]["id"],
        "FEEDBACK:DISSATISFIED:GRV-1"
    );
    assert_eq!(m[2]["interactive"]["list_reply"]["id"], "CATEGORY:WATER");
    assert_eq!(m[3]["button"]["payload"], "FEEDBACK:SATISFIED:GRV-1");
    assert_eq!(m[4]["errors"][0]["code"], 131051);
    assert_eq!(m[5]["location"]["latitude"], 26.85);
    assert_eq!(m[6]["reaction"]["emoji"], "👍");
    assert_eq!(m[7]["contacts"][0]["phones"][0]["wa_id"], "919839012345");
}

#[tokio::test]
async fn batches_raw_posts_and_webhook_failures() {
    let (sim, _, rx) = start(quiet()).await;
    let msgs = vec![
        (PHONE.to_string(), json!({"type":"text","text":{"body":"a"}})),
        (
            "919800000002".to_string(),
            json!({"type":"text","text":{"body":"b"}}),
        ),
        (PHONE.to_string(), json!({"type":"text","text":{"body":"c"}})),
    ];
    let ids = sim.post_batch(msgs, 2).await.unwrap();
    assert_eq!(ids.len(), 3);
    let body = &rx.bodies()[0];
    let entries = body["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0]["changes"][0]["value"]["messages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        entries[0]["changes"][0]["value"]["contacts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        entries[1]["changes"][0]["value"]["messages"][0]["id"],
        ids[2].as_str()
    );

    let raw = br#"{"object":"whatsapp_business_account","entry":[]}"#.to_vec();
    assert_eq!(
        sim.post_raw(raw.clone(), Some("sha256=00".into())).await.unwrap(),
        401
    );
    assert_eq!(sim.post_raw(raw.clone(), None).await.unwrap(), 401);
    assert_eq!(
        sim.post_raw(raw.clone(), Some(sim.sign(&raw))).await.unwrap(),
        200
    );

    rx.status.store(500, Ordering::SeqCst);
    assert!(matches!(
        sim.send_text(PHONE, "x").await,
        Err(SimError::Webhook(500))
    ));
    let lonely = GraphSim::new(SimConfig::default());
    assert!(matches!(
        lonely.send_text(PHONE, "x").await,
        Err(SimError::NoWebhook)
    ));
}

#[tokio::test]
async fn mark_as_read_is_accepted_outside_the_window() {
    let (sim, graph, _rx) = start(quiet()).await;
    let body = json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.ABC","typing_indicator":{"type":"text"}});
    let (status, resp) = graph_send(&graph, TOKEN, body).await;
    assert_eq!((status, resp), (200, json!({"success": true})));
    assert_eq!(sim.marked_read(), ["wamid.ABC"]);
}

#[tokio::test]
async fn sandbox_page_and_api() {
    let (sim, graph, _rx) = start(quiet()).await;
    let base = graph.trim_end_matches("/graph").to_string();
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/sim/api/chat") && page.contains("<script>"));
    // What a person sees when something fails is on the page itself.
    assert!(page.contains("When something goes wrong") && page.contains("no such complaint"));
    let personas: Value = http
        .get(format!("{base}/sim/api/personas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(personas["personas"][0]["phone"], PHONE);

    let r = http
        .post(format!("{base}/sim/api/send"))
        .json(&json!({"from": "+91 98123 45678", "text": "नमस्ते"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let in_wamid = r.json::<Value>().await.unwrap()["wamid"]
        .as_str()
        .unwrap()
        .to_string();
    let buttons = json!({"messaging_product":"whatsapp","to":PHONE,"type":"interactive","context":{"message_id":in_wamid},
        "interactive":{"type":"button","body":{"text":"संतुष्ट?"},"action":{"buttons":[{"type":"reply","reply":{"id":"YES","title":"हाँ"}}]}}});
    assert_eq!(graph_send(&graph, TOKEN, buttons).await.0, 200);
    let out_wamid = sim.sent()[0].wamid.clone();

    let r = http
        .post(format!("{base}/sim/api/send"))
        .json(&json!({"from": PHONE, "context": out_wamid, "button": {"id": "YES", "title": "हाँ"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{base}/sim/api/upload"))
        .query(&[("from", PHONE), ("caption", "photo")])
        .header("content-type", "image/png")
        .body(vec![0x89, b'P', b'N', b'G'])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let chat: Value = http
        .get(format!("{base}/sim/api/chat"))
        .query(&[("phone", "9812345678")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msgs = chat["messages"].as_array().unwrap();
    let dirs: Vec<&str> = msgs.iter().map(|m| m["direction"].as_str().unwrap()).collect();
    assert_eq!(dirs, ["in", "out", "in", "in"]);
    assert_eq!(msgs[0]["text"], "नमस्ते");
    assert_eq!(msgs[1]["buttons"][0]["id"], "YES");
    assert_eq!(msgs[1]["context"], in_wamid.as_str());
    assert_eq!(msgs[2]["context"], out_wamid.as_str());
    let media_url = msgs[3]["media"]["url"].as_str().unwrap();
    let img = http.get(format!("{base}{media_url}")).send().await.unwrap();
    assert_eq!(img.headers()["content-type"], "image/png");

    let log: Value = http
        .get(format!("{base}/sim/api/log"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["sent"].as_array().unwrap().len(), 1);

    // Every accepted send after a sequence number, timed to the microsecond (the load run's view).
    let get_sent = |after: u64| {
        let http = http.clone();
        let url = format!("{base}/sim/api/sent?after={after}");
        async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let all = get_sent(0).await;
    let msgs = all["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["to"], PHONE);
    assert_eq!(msgs[0]["kind"], "interactive");
    assert_eq!(
        msgs[0]["at_us"].as_i64().unwrap(),
        sim.sent()[0].at.timestamp_micros()
    );
    let none = get_sent(all["last"].as_u64().unwrap()).await;
    assert!(none["messages"].as_array().unwrap().is_empty());
    assert_eq!(none["last"], all["last"]);
}

#[tokio::test]
async fn sandbox_shows_templates_with_labels_and_counts_news() {
    let (_sim, graph, _rx) = start(SimConfig {
        templates: repo_templates(),
        ..quiet()
    })
    .await;
    let base = graph.trim_end_matches("/graph").to_string();
    let text = |t: &str| json!({"type":"text","text":t});
    let tpl = json!({"messaging_product":"whatsapp","to":PHONE,"type":"template",
        "template":{"name":"shikayat_new_complaint","language":{"code":"hi"},"components":[
            {"type":"body","parameters":[text("AMT-2026-000001"),text("जल निगम"),text("पानी नहीं"),text("05-12-2026 17:00 IST")]},
            {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"officer:accept:AMT-2026-000001"}]},
            {"type":"button","sub_type":"quick_reply","index":1,"parameters":[{"type":"payload","payload":"officer:decline:AMT-2026-000001"}]}]}});
    assert_eq!(graph_send(&graph, TOKEN, tpl.clone()).await.0, 200);
    assert_eq!(graph_send(&graph, TOKEN, tpl).await.0, 200);
    let http = reqwest::Client::new();
    let chat: Value = http
        .get(format!("{base}/sim/api/chat"))
        .query(&[("phone", PHONE)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let m = &chat["messages"][0];
    assert_eq!(m["template"], "shikayat_new_complaint");
    // The approved wording with the parameters in place; the labels are the definition's.
    let shown = m["text"].as_str().unwrap();
    assert!(
        shown.starts_with("नई शिकायत / New complaint AMT-2026-000001 — जल निगम\n\nपानी नहीं\n"),
        "{shown}"
    );
    assert!(shown.ends_with("DM Amethi grievance desk"), "{shown}");
    assert_eq!(m["buttons"][0]["id"], "officer:accept:AMT-2026-000001");
    assert_eq!(m["buttons"][0]["title"], "स्वीकार / Accept");
    assert_eq!(m["buttons"][1]["title"], "अन्य विभाग/Not mine");
    let log: Value = http
        .get(format!("{base}/sim/api/log"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["counts"][PHONE], 2);
}

/// Every kind of Graph call, with a fresh `reqwest` client each (no pooled connection to reuse).
async fn graph_calls(graph: &str) -> Vec<(&'static str, Result<(u16, Value), String>)> {
    let http = reqwest::Client::new();
    let upload = http
        .post(format!("{graph}/v25.0/100000000000001/media"))
        .bearer_auth(TOKEN)
        .multipart(
            reqwest::multipart::Form::new()
                .text("messaging_product", "whatsapp")
                .text("type", "image/jpeg")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(vec![0xFF, 0xD8, 0xFF, 0xD9]),
                ),
        );
    let send = http
        .post(format!("{graph}/v25.0/100000000000001/messages"))
        .bearer_auth(TOKEN)
        .json(&text_to(PHONE, "hello"));
    let media = format!("{graph}/v25.0/{}", "1234567890123456");
    let lookup = http.get(media).bearer_auth(TOKEN);
    let download = http
        .get(format!("{graph}/media-download/1234567890123456"))
        .bearer_auth(TOKEN);
    let mut out = Vec::new();
    for (what, req) in [
        ("send", send),
        ("upload", upload),
        ("lookup", lookup),
        ("download", download),
    ] {
        let result = async {
            let resp = req.send().await.map_err(|e| format!("no response: {e:?}"))?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map_err(|e| format!("no body: {e:?}"))?;
            Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
        }
        .await;
        out.push((what, result));
    }
    out
}

#[tokio::test]
async fn fault_plan_fails_sends_and_media_calls_like_meta() {
    let (sim, graph, _rx) = start(quiet()).await;
    sim.send_text(PHONE, "hi").await.unwrap();

    sim.set_faults(FaultPlan {
        server_error: 1.0,
        seed: 1,
        ..FaultPlan::none()
    });
    for (what, result) in graph_calls(&graph).await {
        let (status, body) = result.unwrap();
        assert!(status == 500 || status == 503, "{what}: {status}");
        assert_eq!(body["error"]["type"], "OAuthException", "{what}: {body}");
        assert!([131000, 131016].contains(&body["error"]["code"].as_i64().unwrap()));
        assert!(body["error"]["fbtrace_id"].is_string());
    }

    sim.set_faults(FaultPlan {
        rate_limit: 1.0,
        seed: 2,
        ..FaultPlan::none()
    });
    let mut seen = Vec::new();
    for _ in 0..8 {
        for (what, result) in graph_calls(&graph).await {
            let (status, body) = result.unwrap();
            let code = body["error"]["code"].as_i64().unwrap();
            assert!(
                (status, code) == (429, 130429) || (status, code) == (400, 131056),
                "{what}: {status} {body}"
            );
            seen.push(code);
        }
    }
    assert!(seen.contains(&130429) && seen.contains(&131056), "{seen:?}");

    sim.set_faults(FaultPlan {
        drop: 1.0,
        seed: 3,
        ..FaultPlan::none()
    });
    for (what, result) in graph_calls(&graph).await {
        // No status line the client can read: the connection closes first.
        let err = result.expect_err(what);
        assert!(err.starts_with("no response"), "{what}: {err}");
    }

    // Nothing faulted was sent or served; every fault is counted.
    assert!(sim.sent_to(PHONE).is_empty());
    assert!(sim.media_requests().is_empty(), "{:?}", sim.media_requests());
    let c = sim.faults_injected();
    assert_eq!(
        (c.server_error, c.rate_limit + c.pair_rate, c.dropped),
        (4, 32, 4),
        "{c:?}"
    );
    let refused_sends = sim.rejected().len();
    assert_eq!(
        refused_sends,
        1 + 8,
        "answered send faults are recorded as refused sends"
    );

    sim.set_faults(FaultPlan::none());
    let (status, _) = graph_send(&graph, TOKEN, text_to(PHONE, "hello")).await;
    assert_eq!(status, 200);
    assert_eq!(sim.sent_to(PHONE).len(), 1);
    assert_eq!(sim.faults_injected().total(), 40);
}

#[tokio::test]
async fn a_prepared_notification_can_be_redelivered_as_is() {
    let (sim, graph, rx) = start(quiet()).await;
    let (wamid, body) = sim
        .prepare_message(PHONE, json!({"type": "text", "text": {"body": "नल टूटा है"}}))
        .unwrap();
    let (photo, photo_body) = sim
        .prepare_media(PHONE, InboundMedia::image(vec![0xFF, 0xD8, 0xFF, 0xD9], None))
        .unwrap();
    assert!(rx.got.lock().unwrap().is_empty(), "prepared, not posted");
    for _ in 0..3 {
        let sig = sim.sign(&body);
        assert_eq!(sim.post_raw(body.clone(), Some(sig)).await.unwrap(), 200);
    }
    let sig = sim.sign(&photo_body);
    assert_eq!(sim.post_raw(photo_body, Some(sig)).await.unwrap(), 200);
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 4);
    assert!(got[..3].iter().all(|(_, b)| b.as_ref() == body.as_slice()));
    let messages = rx.messages();
    assert_eq!(messages[0]["id"], wamid.as_str());
    assert_eq!(messages[3]["id"], photo.as_str());
    assert!(messages[3]["image"]["id"].is_string());
    // Preparing counts as the user writing: the window is open.
    assert_eq!(graph_send(&graph, TOKEN, text_to(PHONE, "ok")).await.0, 200);
}
