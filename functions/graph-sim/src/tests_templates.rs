//! Meta's template rules: definitions (files and the management API), template sends, and the
//! media-kind checks that go with media headers.

use serde_json::{json, Value};

use crate::templates::check_definition;
use crate::tests::repo_templates;
use crate::*;

const PHONE: &str = "919812345678";
const TOKEN: &str = "sandbox-access-token";
const WABA: &str = "200000000000001";

async fn sim_with(templates: Vec<Value>) -> (GraphSim, String) {
    let cfg = SimConfig {
        send_statuses: false,
        enforce_window: false,
        templates,
        ..SimConfig::default()
    };
    let (sim, _) = GraphSim::serve(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let graph = sim.graph_base_url().unwrap();
    (sim, graph)
}

async fn post(url: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn get(url: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn upload(graph: &str, mime: &str, bytes: Vec<u8>) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", mime.to_string())
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name("f"));
    let resp = reqwest::Client::new()
        .post(format!("{graph}/v25.0/100000000000001/media"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

fn text(t: &str) -> Value {
    json!({"type":"text","text":t})
}

fn qr(index: Value, payload: &str) -> Value {
    json!({"type":"button","sub_type":"quick_reply","index":index,"parameters":[{"type":"payload","payload":payload}]})
}

fn template(name: &str, language: &str, components: Vec<Value>) -> Value {
    json!({"messaging_product":"whatsapp","to":PHONE,"type":"template",
        "template":{"name":name,"language":{"code":language},"components":components}})
}

fn report(params: [&str; 4], buttons: Vec<Value>) -> Value {
    let mut c = vec![json!({"type":"body","parameters":params.iter().map(|p| text(p)).collect::<Vec<_>>()})];
    c.extend(buttons);
    template("shikayat_report_to_citizen", "hi", c)
}

fn code(v: &Value) -> i64 {
    v["error"]["code"].as_i64().unwrap_or(0)
}

#[test]
fn the_committed_templates_pass_metas_definition_checks() {
    let defs = repo_templates();
    assert_eq!(defs.len(), 17);
    for d in &defs {
        check_definition(d).unwrap();
    }
}

#[test]
fn definitions_are_checked_as_meta_checks_a_submission() {
    let ok = || {
        json!({"name":"t_1","language":"hi","category":"UTILITY","components":[
            {"type":"HEADER","format":"TEXT","text":"Header"},
            {"type":"BODY","text":"Complaint {{1}} by {{2}}.","example":{"body_text":[["A","B"]]}},
            {"type":"FOOTER","text":"Desk"},
            {"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Yes"}]}]})
    };
    assert!(check_definition(&ok()).is_ok());
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        ("upper-case name", Box::new(|d| d["name"] = json!("Bad"))),
        ("name too long", Box::new(|d| d["name"] = json!("a".repeat(513)))),
        ("category", Box::new(|d| d["category"] = json!("ALERTS"))),
        (
            "no body",
            Box::new(|d| {
                d["components"].as_array_mut().unwrap().remove(1);
            }),
        ),
        (
            "body too long",
            Box::new(|d| {
                d["components"][1]["text"] = json!(format!("a {{{{1}}}} {{{{2}}}} {}", "x".repeat(1020)))
            }),
        ),
        (
            "gap",
            Box::new(|d| d["components"][1]["text"] = json!("Complaint {{1}} by {{3}}.")),
        ),
        (
            "missing sample",
            Box::new(|d| d["components"][1]["example"] = json!({"body_text":[["A"]]})),
        ),
        (
            "no examples",
            Box::new(|d| {
                d["components"][1].as_object_mut().unwrap().remove("example");
            }),
        ),
        (
            "starts with variable",
            Box::new(|d| d["components"][1]["text"] = json!("{{1}} by {{2}}.")),
        ),
        (
            "ends with variable",
            Box::new(|d| d["components"][1]["text"] = json!("Complaint {{1}} by {{2}}")),
        ),
        (
            "named variable",
            Box::new(|d| d["components"][1]["text"] = json!("Complaint {{id}} by {{2}}.")),
        ),
        (
            "header too long",
            Box::new(|d| d["components"][0]["text"] = json!("h".repeat(61))),
        ),
        (
            "footer too long",
            Box::new(|d| d["components"][2]["text"] = json!("f".repeat(61))),
        ),
        (
            "button text too long",
            Box::new(|d| d["components"][3]["buttons"][0]["text"] = json!("b".repeat(26))),
        ),
        (
            "eleven buttons",
            Box::new(|d| {
                d["components"][3]["buttons"] = json!(vec![json!({"type":"QUICK_REPLY","text":"x"}); 11])
            }),
        ),
        (
            "media header without sample",
            Box::new(|d| d["components"][0] = json!({"type":"HEADER","format":"IMAGE"})),
        ),
    ];
    for (what, change) in cases {
        let mut d = ok();
        change(&mut d);
        let e = check_definition(&d).expect_err(what);
        assert_eq!(e.code, 100, "{what}");
    }
}

#[tokio::test]
async fn template_sends_follow_the_approved_definition() {
    let (sim, graph) = sim_with(repo_templates()).await;
    let send = format!("{graph}/v25.0/100000000000001/messages");
    let good = ["AMT-2026-000123", "जल निगम", "हैंडपंप ठीक कर दिया गया", "7"];
    let buttons = || {
        vec![
            qr(json!("0"), "feedback:satisfied:AMT-2026-000123"),
            qr(json!(1), "feedback:dissatisfied:AMT-2026-000123"),
        ]
    };

    let cases: Vec<(&str, Value, i64)> = vec![
        (
            "unknown name",
            template("shikayat_escalation", "hi", vec![]),
            132001,
        ),
        (
            "not a translation",
            {
                let mut t = report(good, buttons());
                t["template"]["language"]["code"] = json!("en_US");
                t
            },
            132001,
        ),
        (
            "too few body params",
            template(
                "shikayat_report_to_citizen",
                "hi",
                vec![json!({"type":"body","parameters":[text("a")]})],
            ),
            132000,
        ),
        (
            "newline",
            report(
                ["AMT-2026-000123", "जल निगम", "line one\nline two", "7"],
                buttons(),
            ),
            132018,
        ),
        (
            "tab",
            report(["AMT-2026-000123", "जल\tनिगम", "x", "7"], buttons()),
            132018,
        ),
        (
            "five spaces",
            report(["AMT-2026-000123", "जल     निगम", "x", "7"], buttons()),
            132018,
        ),
        (
            "empty",
            report(["AMT-2026-000123", "", "x", "7"], buttons()),
            132018,
        ),
        (
            "hydrated body too long",
            report(["AMT-2026-000123", "जल निगम", &"क".repeat(900), "7"], buttons()),
            132005,
        ),
        (
            "wrong parameter type",
            template(
                "shikayat_complaint_reopened",
                "hi",
                vec![
                    json!({"type":"body","parameters":[{"type":"image","image":{"link":"https://x/y.jpg"}}]}),
                ],
            ),
            132012,
        ),
        (
            "one of two quick replies",
            report(good, vec![qr(json!(0), "a")]),
            132000,
        ),
        (
            "index out of range",
            report(good, vec![qr(json!(0), "a"), qr(json!(2), "b")]),
            132000,
        ),
        (
            "same index twice",
            report(good, vec![qr(json!(0), "a"), qr(json!(0), "b")]),
            132000,
        ),
        (
            "buttons on a template without",
            template(
                "shikayat_complaint_reopened",
                "hi",
                vec![
                    json!({"type":"body","parameters":[text("AMT-2026-000123")]}),
                    qr(json!(0), "x"),
                ],
            ),
            132000,
        ),
        (
            "payload over 256",
            report(good, vec![qr(json!(0), &"p".repeat(257)), qr(json!(1), "b")]),
            100,
        ),
        (
            "image header missing",
            template(
                "shikayat_report_with_image",
                "hi",
                vec![
                    json!({"type":"body","parameters":good.iter().map(|p| text(p)).collect::<Vec<_>>()}),
                    qr(json!(0), "view"),
                ],
            ),
            132000,
        ),
        (
            "video parameter for an image header",
            template(
                "shikayat_report_with_image",
                "hi",
                vec![
                    json!({"type":"header","parameters":[{"type":"video","video":{"link":"https://x/v.mp4"}}]}),
                    json!({"type":"body","parameters":good.iter().map(|p| text(p)).collect::<Vec<_>>()}),
                    qr(json!(0), "view"),
                ],
            ),
            132012,
        ),
    ];
    for (what, body, want) in cases {
        let (status, v) = post(&send, body).await;
        assert_eq!((status, code(&v)), (400, want), "{what}: {v}");
    }
    assert!(sim.sent().is_empty());

    // Accepted: WhatsApp shows the approved wording with the parameters, and the definition's
    // labels; a tap returns the payload set at send time.
    let (status, v) = post(&send, report(good, buttons())).await;
    assert_eq!(status, 200, "{v}");
    let m = &sim.sent()[0];
    let shown = m.text();
    assert!(
        shown.starts_with("आपकी शिकायत AMT-2026-000123 पर जल निगम की आख्या"),
        "{shown}"
    );
    assert!(
        shown.contains("\n\nहैंडपंप ठीक कर दिया गया\n\nक्या आप संतुष्ट हैं? 7 दिन"),
        "{shown}"
    );
    assert!(shown.ends_with("संतुष्ट / Satisfied\nअसंतुष्ट / Unhappy"), "{shown}");
    assert!(!shown.contains("shikayat_report_to_citizen"));
    assert_eq!(
        m.button_ids(),
        [
            "feedback:satisfied:AMT-2026-000123",
            "feedback:dissatisfied:AMT-2026-000123"
        ]
    );
    assert_eq!(m.buttons()[1].title, "असंतुष्ट / Unhappy");

    // With no quick-reply components Meta returns the label as the payload.
    let (status, _) = post(&send, report(good, vec![])).await;
    assert_eq!(status, 200);
    assert_eq!(
        sim.sent()[1].button_ids(),
        ["संतुष्ट / Satisfied", "असंतुष्ट / Unhappy"]
    );

    // A media header by the id of an uploaded image; a video's id does not fit it.
    let (_, image) = upload(&graph, "image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xD9]).await;
    let (_, video) = upload(&graph, "video/mp4", b"....ftypmp42".to_vec()).await;
    let with_header = |id: &Value| {
        template(
            "shikayat_report_with_image",
            "hi",
            vec![
                json!({"type":"header","parameters":[{"type":"image","image":{"id":id}}]}),
                json!({"type":"body","parameters":good.iter().map(|p| text(p)).collect::<Vec<_>>()}),
                qr(json!(0), "view:AMT-2026-000123"),
            ],
        )
    };
    let (status, v) = post(&send, with_header(&video["id"])).await;
    assert_eq!((status, code(&v)), (400, 132012), "{v}");
    let (status, v) = post(&send, with_header(&image["id"])).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn uploads_and_media_sends_keep_to_metas_types() {
    let (sim, graph) = sim_with(Vec::new()).await;
    let (status, v) = upload(&graph, "text/html", b"<p>".to_vec()).await;
    assert_eq!((status, code(&v)), (400, 131053), "{v}");
    let (status, v) = upload(&graph, "image/jpeg", vec![0; 5 * 1024 * 1024 + 1]).await;
    assert_eq!((status, code(&v)), (400, 131053), "{v}");
    // A static sticker is capped at 100 KB, an animated one at 500 KB.
    let webp = |animated: bool, size: usize| {
        let mut b = b"RIFF\0\0\0\0WEBPVP8X".to_vec();
        if animated {
            b.extend_from_slice(b"\0\0\0\0\0\0\0\0\0\0ANIM");
        }
        b.resize(size, 0);
        b
    };
    let (status, v) = upload(&graph, "image/webp", webp(false, 150 * 1024)).await;
    assert_eq!((status, code(&v)), (400, 131053), "{v}");
    let (status, _) = upload(&graph, "image/webp", webp(true, 150 * 1024)).await;
    assert_eq!(status, 200);

    // An image message must carry an image: a video's id is refused with 131053.
    let (_, video) = upload(&graph, "video/mp4", b"....ftypmp42".to_vec()).await;
    let send = format!("{graph}/v25.0/100000000000001/messages");
    let as_image =
        json!({"messaging_product":"whatsapp","to":PHONE,"type":"image","image":{"id":video["id"]}});
    let (status, v) = post(&send, as_image).await;
    assert_eq!((status, code(&v)), (400, 131053), "{v}");
    let as_video =
        json!({"messaging_product":"whatsapp","to":PHONE,"type":"video","video":{"id":video["id"]}});
    assert_eq!(post(&send, as_video).await.0, 200);
    assert_eq!(sim.sent().len(), 1);

    // Reply buttons under a media header: the same rules for the header's id, and the
    // recipient sees the media above the body.
    let under = |kind: &str, id: &Value| {
        json!({"messaging_product":"whatsapp","to":PHONE,"type":"interactive","interactive":{
            "type":"button","header":{"type":kind, kind:{"id":id}},"body":{"text":"आख्या / report"},
            "action":{"buttons":[{"type":"reply","reply":{"id":"feedback:satisfied:AMT-2026-000123","title":"संतुष्ट"}}]}}})
    };
    let (status, v) = post(&send, under("image", &video["id"])).await;
    assert_eq!((status, code(&v)), (400, 131053), "{v}");
    let (status, v) = post(&send, under("video", &json!("no-such-media"))).await;
    assert_eq!((status, code(&v)), (400, 100), "{v}");
    let (status, v) = post(&send, under("video", &video["id"])).await;
    assert_eq!(status, 200, "{v}");
    let sent = sim.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].media.as_deref(), Some(b"....ftypmp42".as_slice()));

    // With no templates at all, every template send is 132001.
    let (status, v) = post(&send, template("shikayat_digest", "hi", vec![])).await;
    assert_eq!((status, code(&v)), (400, 132001), "{v}");
}

#[tokio::test]
async fn templates_are_managed_as_on_the_business_management_api() {
    let (sim, graph) = sim_with(Vec::new()).await;
    let list = format!("{graph}/v25.0/{WABA}/message_templates");
    let (status, v) = get(&list).await;
    assert_eq!(status, 200);
    assert_eq!(v["data"], json!([]));
    let unauthorized = reqwest::Client::new().get(&list).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
    let (status, _) = get(&format!("{graph}/v25.0/999/message_templates")).await;
    assert_eq!(status, 404);

    for def in repo_templates() {
        let (status, v) = post(&list, def).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["status"], "APPROVED");
        assert_eq!(v["category"], "UTILITY");
        assert!(v["id"].as_str().is_some_and(|id| !id.is_empty()));
    }
    // A second submission of the same name and language is Meta's duplicate error.
    let (status, v) = post(&list, repo_templates()[0].clone()).await;
    assert_eq!(
        (status, code(&v), v["error"]["error_subcode"].as_i64()),
        (400, 100, Some(2388024)),
        "{v}"
    );
    let mut bad = repo_templates()[0].clone();
    bad["name"] = json!("new_one");
    bad["components"][0]["text"] = json!("{{1}} starts with a variable {{2}}.");
    let (status, v) = post(&list, bad).await;
    assert_eq!((status, code(&v)), (400, 100), "{v}");

    // Pages of 5, followed through `paging.next`.
    let mut names = Vec::new();
    let mut url = format!("{list}?limit=5");
    loop {
        let (status, v) = get(&url).await;
        assert_eq!(status, 200, "{v}");
        for t in v["data"].as_array().unwrap() {
            names.push(t["name"].as_str().unwrap().to_string());
            for key in ["id", "language", "status", "category", "components"] {
                assert!(t.get(key).is_some(), "{key} in {t}");
            }
        }
        match v["paging"]["next"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(names.len(), 17);
    let (_, v) = get(&format!("{list}?name=shikayat_digest")).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);

    // An edit changes the components; the template can be sent in its new wording at once.
    let digest = &v["data"][0];
    let mut components = digest["components"].clone();
    components[1]["text"] = json!("Changed footer");
    let edit = format!("{graph}/v25.0/{}", digest["id"].as_str().unwrap());
    let (status, v) = post(&edit, json!({ "components": components })).await;
    assert_eq!((status, &v), (200, &json!({"success": true})));
    let (_, v) = get(&edit).await;
    assert_eq!(v["components"][1]["text"], "Changed footer");
    let mut too_long = components.clone();
    too_long[1]["text"] = json!("f".repeat(61));
    let (status, _) = post(&edit, json!({ "components": too_long })).await;
    assert_eq!(status, 400);
    let send = format!("{graph}/v25.0/100000000000001/messages");
    let (status, v) = post(
        &send,
        template(
            "shikayat_digest",
            "hi",
            vec![json!({"type":"body","parameters":[text("DIGEST-1"), text("open 3")]})],
        ),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(sim.sent()[0].text().ends_with("Changed footer"));
}
