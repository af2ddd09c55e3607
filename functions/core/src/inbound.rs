//! Webhook notifications split into events: one per message and one per status. Tolerant by
//! design (reference §0.10): unknown keys are ignored and unknown types become `Unknown`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::complaint::MediaKind;
use crate::error::CoreError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum InboundEvent {
    Message(InboundMessage),
    Status(StatusUpdate),
}

impl InboundEvent {
    /// The sender (messages) or recipient (statuses): the FIFO group, so one person's events
    /// are handled in order.
    pub fn party(&self) -> String {
        match self {
            InboundEvent::Message(m) => m.sender.key(),
            InboundEvent::Status(s) => s.recipient.clone(),
        }
    }

    /// Deduplication key: the wamid, or wamid + status for statuses.
    pub fn dedupe_key(&self) -> String {
        match self {
            InboundEvent::Message(m) => m.wamid.clone(),
            InboundEvent::Status(s) => format!("{}#{}", s.wamid, s.status.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sender {
    /// wa_id digits; absent for username users known only by BSUID.
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub name: Option<String>,
}

impl Sender {
    /// How we key a person: the wa_id when present, else the BSUID.
    pub fn key(&self) -> String {
        self.wa_id
            .clone()
            .or_else(|| self.user_id.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub wamid: String,
    pub sender: Sender,
    /// Unix seconds.
    pub timestamp: i64,
    /// The wamid this message replies to (`context.id`), if any.
    pub context_id: Option<String>,
    pub forwarded: bool,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    Text {
        text: String,
    },
    Media(MediaRef),
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
    Contacts {
        summary: String,
    },
    Reaction {
        message_id: String,
        emoji: String,
    },
    /// A tap on our reply button or list row: route on `id`, never the title.
    Interactive {
        id: String,
        title: String,
    },
    /// A tap on a template quick-reply button: `payload` is what we set when sending.
    TemplateButton {
        payload: String,
        text: String,
    },
    /// A type WhatsApp could not deliver to us (poll, edit …), or a media error such as 131052.
    Unsupported {
        kind: String,
        error_code: Option<i64>,
    },
    System {
        kind: String,
        new_wa_id: Option<String>,
    },
    /// A type this version does not know; answered politely, never a crash.
    Unknown {
        kind: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaRef {
    pub kind: MediaKind,
    pub media_id: String,
    pub mime_type: String,
    /// As Meta sent it (base64 in webhooks).
    pub sha256: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
    pub voice: bool,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Accepted,
    Sent,
    Delivered,
    Read,
    Played,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Played => "played",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "accepted" => Self::Accepted,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "played" => Self::Played,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// Statuses arrive out of order; never move backwards (`read` implies `delivered`).
    /// `failed` is final and wins over anything.
    pub fn advances(self, current: DeliveryStatus) -> bool {
        current != DeliveryStatus::Failed && (self == DeliveryStatus::Failed || self > current)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub wamid: String,
    pub status: DeliveryStatus,
    pub recipient: String,
    pub timestamp: i64,
    pub error_code: Option<i64>,
    pub error_detail: Option<String>,
}

fn s(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(x) => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn ts(v: &Value) -> i64 {
    s(v, "timestamp").and_then(|t| t.parse().ok()).unwrap_or(0)
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Splits a webhook body into events. Anything that is not a WhatsApp messages notification
/// yields no events (and is acknowledged); malformed JSON is an error.
pub fn parse_notification(body: &[u8]) -> Result<Vec<InboundEvent>, CoreError> {
    Ok(parse(body, None)?.events)
}

/// A notification's events for one business number.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForNumber {
    pub events: Vec<InboundEvent>,
    /// Messages and statuses addressed to another business number (`metadata.phone_number_id`),
    /// left out: the same Meta app may serve other numbers (a test number, another district).
    pub ignored: usize,
}

/// `parse_notification`, keeping only the changes whose `metadata.phone_number_id` is ours (a
/// change without one is not ours either).
pub fn parse_notification_for(body: &[u8], phone_number_id: &str) -> Result<ForNumber, CoreError> {
    parse(body, Some(phone_number_id))
}

fn parse(body: &[u8], ours: Option<&str>) -> Result<ForNumber, CoreError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| CoreError::Malformed(e.to_string()))?;
    let mut out = ForNumber::default();
    if root.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Ok(out);
    }
    for entry in arr(&root, "entry") {
        for change in arr(entry, "changes") {
            if change.get("field").and_then(Value::as_str) != Some("messages") {
                continue;
            }
            let Some(value) = change.get("value") else {
                continue;
            };
            if let Some(ours) = ours {
                let to = value.get("metadata").and_then(|m| s(m, "phone_number_id"));
                if to.as_deref() != Some(ours) {
                    out.ignored += arr(value, "messages").len() + arr(value, "statuses").len();
                    continue;
                }
            }
            let contacts = arr(value, "contacts");
            for m in arr(value, "messages") {
                if let Some(msg) = parse_message(m, contacts) {
                    out.events.push(InboundEvent::Message(msg));
                }
            }
            for st in arr(value, "statuses") {
                if let Some(update) = parse_status(st) {
                    out.events.push(InboundEvent::Status(update));
                }
            }
        }
    }
    Ok(out)
}

fn parse_message(m: &Value, contacts: &[Value]) -> Option<InboundMessage> {
    let wamid = s(m, "id")?;
    let wa_id = s(m, "from").filter(|f| !f.is_empty());
    let user_id = s(m, "from_user_id");
    // The contact block names the sender; match on wa_id, else BSUID, else the only contact.
    let contact = contacts
        .iter()
        .find(|c| wa_id.is_some() && s(c, "wa_id") == wa_id)
        .or_else(|| {
            contacts
                .iter()
                .find(|c| user_id.is_some() && s(c, "user_id") == user_id)
        })
        .or_else(|| {
            if contacts.len() == 1 {
                contacts.first()
            } else {
                None
            }
        });
    let name = contact.and_then(|c| c.get("profile")).and_then(|p| s(p, "name"));
    let user_id = user_id.or_else(|| contact.and_then(|c| s(c, "user_id")));
    let wa_id = wa_id.or_else(|| contact.and_then(|c| s(c, "wa_id")));
    if wa_id.is_none() && user_id.is_none() {
        return None;
    }
    let context = m.get("context");
    let kind = s(m, "type").unwrap_or_default();
    Some(InboundMessage {
        wamid,
        sender: Sender { wa_id, user_id, name },
        timestamp: ts(m),
        context_id: context.and_then(|c| s(c, "id")),
        forwarded: context.is_some_and(|c| {
            c.get("forwarded").and_then(Value::as_bool).unwrap_or(false)
                || c.get("frequently_forwarded")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
        }),
        body: parse_body(&kind, m),
    })
}

fn error_code(m: &Value) -> Option<i64> {
    arr(m, "errors")
        .first()
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64)
}

fn parse_body(kind: &str, m: &Value) -> Body {
    let unknown = || Body::Unknown {
        kind: kind.to_string(),
    };
    let inner = m.get(kind).unwrap_or(&Value::Null);
    match kind {
        "text" => match s(inner, "body") {
            Some(text) => Body::Text { text },
            None => unknown(),
        },
        "image" | "video" | "audio" | "document" | "sticker" => {
            let (Some(media_kind), Some(media_id)) = (MediaKind::parse(kind), s(inner, "id")) else {
                // Media we cannot fetch (e.g. 131052, over 100 MB) arrives without an id.
                return Body::Unsupported {
                    kind: kind.to_string(),
                    error_code: error_code(m),
                };
            };
            Body::Media(MediaRef {
                kind: media_kind,
                media_id,
                mime_type: s(inner, "mime_type").unwrap_or_else(|| "application/octet-stream".into()),
                sha256: s(inner, "sha256"),
                caption: s(inner, "caption").filter(|c| !c.trim().is_empty()),
                filename: s(inner, "filename"),
                voice: inner.get("voice").and_then(Value::as_bool).unwrap_or(false),
                url: s(inner, "url"),
            })
        }
        "location" => match (
            inner.get("latitude").and_then(Value::as_f64),
            inner.get("longitude").and_then(Value::as_f64),
        ) {
            (Some(latitude), Some(longitude)) => Body::Location {
                latitude,
                longitude,
                name: s(inner, "name"),
                address: s(inner, "address"),
            },
            _ => unknown(),
        },
        "contacts" => {
            let cards = m
                .get("contacts")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let summary = cards
                .iter()
                .map(|c| {
                    let name = c
                        .get("name")
                        .and_then(|n| s(n, "formatted_name"))
                        .unwrap_or_default();
                    let phones: Vec<String> = arr(c, "phones").iter().filter_map(|p| s(p, "phone")).collect();
                    format!("{name} {}", phones.join(", ")).trim().to_string()
                })
                .collect::<Vec<_>>()
                .join("; ");
            Body::Contacts { summary }
        }
        "reaction" => Body::Reaction {
            message_id: s(inner, "message_id").unwrap_or_default(),
            emoji: s(inner, "emoji").unwrap_or_default(),
        },
        "interactive" => {
            let itype = s(inner, "type").unwrap_or_default();
            match inner.get(itype.as_str()) {
                Some(reply) if itype == "button_reply" || itype == "list_reply" => match s(reply, "id") {
                    Some(id) => Body::Interactive {
                        id,
                        title: s(reply, "title").unwrap_or_default(),
                    },
                    None => unknown(),
                },
                _ => Body::Unsupported {
                    kind: format!("interactive:{itype}"),
                    error_code: None,
                },
            }
        }
        "button" => Body::TemplateButton {
            payload: s(inner, "payload").unwrap_or_default(),
            text: s(inner, "text").unwrap_or_default(),
        },
        "unsupported" => Body::Unsupported {
            kind: s(inner, "type").unwrap_or_else(|| "unsupported".into()),
            error_code: error_code(m),
        },
        "system" => Body::System {
            kind: s(inner, "type").unwrap_or_default(),
            new_wa_id: s(inner, "wa_id"),
        },
        _ => unknown(),
    }
}

fn parse_status(st: &Value) -> Option<StatusUpdate> {
    let first_error = arr(st, "errors").first();
    Some(StatusUpdate {
        wamid: s(st, "id")?,
        status: DeliveryStatus::parse(&s(st, "status")?)?,
        recipient: s(st, "recipient_id")
            .or_else(|| s(st, "recipient_user_id"))
            .unwrap_or_default(),
        timestamp: ts(st),
        error_code: first_error.and_then(|e| e.get("code")).and_then(Value::as_i64),
        error_detail: first_error.and_then(|e| {
            e.get("error_data")
                .and_then(|d| s(d, "details"))
                .or_else(|| s(e, "title"))
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wrap(messages: Value, statuses: Value) -> Vec<u8> {
        json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"display_phone_number":"916391363636","phone_number_id":"1"},
            "contacts":[{"profile":{"name":"सुनीता"},"wa_id":"919812345678","user_id":"IN.1"}],
            "messages":messages,"statuses":statuses}}]}]})
        .to_string()
        .into_bytes()
    }

    fn one(m: Value) -> InboundMessage {
        match parse_notification(&wrap(json!([m]), json!([])))
            .expect("parse")
            .pop()
        {
            Some(InboundEvent::Message(msg)) => msg,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn parses_every_message_type() {
        let base = |t: &str, inner: Value| {
            let mut m =
                json!({"from":"919812345678","id":format!("wamid.{t}"),"timestamp":"1790000000","type":t});
            m[t] = inner;
            m
        };
        let m = one(base("text", json!({"body":"पानी नहीं आ रहा"})));
        assert_eq!(
            m.body,
            Body::Text {
                text: "पानी नहीं आ रहा".into()
            }
        );
        assert_eq!(m.sender.name.as_deref(), Some("सुनीता"));
        assert_eq!(m.timestamp, 1790000000);
        for kind in ["image", "video", "audio", "document", "sticker"] {
            let m = one(base(
                kind,
                json!({"id":"123","mime_type":"x/y","sha256":"abc=","caption":"c","voice":true}),
            ));
            match m.body {
                Body::Media(r) => assert_eq!((r.kind.as_str(), r.media_id.as_str()), (kind, "123")),
                other => panic!("{kind}: {other:?}"),
            }
        }
        let m = one(base("location", json!({"latitude":26.15,"longitude":81.81})));
        assert!(matches!(m.body, Body::Location { name: None, .. }));
        let mut c = json!({"from":"919812345678","id":"wamid.c","timestamp":"1","type":"contacts"});
        c["contacts"] = json!([{"name":{"formatted_name":"Ramesh"},"phones":[{"phone":"+91 98390 12345"}]}]);
        assert_eq!(
            one(c).body,
            Body::Contacts {
                summary: "Ramesh +91 98390 12345".into()
            }
        );
        let m = one(base("reaction", json!({"message_id":"wamid.x","emoji":"👍"})));
        assert!(matches!(m.body, Body::Reaction { .. }));
        let mut m = base(
            "interactive",
            json!({"type":"button_reply","button_reply":{"id":"feedback:satisfied:AMT-2026-000001","title":"संतुष्ट"}}),
        );
        m["context"] = json!({"from":"916391363636","id":"wamid.ours"});
        let m = one(m);
        assert_eq!(m.context_id.as_deref(), Some("wamid.ours"));
        assert!(
            matches!(m.body, Body::Interactive { ref id, .. } if id == "feedback:satisfied:AMT-2026-000001")
        );
        let m = one(base(
            "interactive",
            json!({"type":"list_reply","list_reply":{"id":"assign:X:water","title":"Water"}}),
        ));
        assert!(matches!(m.body, Body::Interactive { ref id, .. } if id == "assign:X:water"));
        let m = one(base(
            "button",
            json!({"payload":"officer:accept:AMT-2026-000001","text":"स्वीकार"}),
        ));
        assert!(
            matches!(m.body, Body::TemplateButton { ref payload, .. } if payload == "officer:accept:AMT-2026-000001")
        );
        let mut m = base("unsupported", json!({"type":"poll_creation"}));
        m["errors"] = json!([{"code":131051}]);
        assert_eq!(
            one(m).body,
            Body::Unsupported {
                kind: "poll_creation".into(),
                error_code: Some(131051)
            }
        );
        let m = one(base(
            "system",
            json!({"type":"user_changed_number","wa_id":"919795123456"}),
        ));
        assert!(
            matches!(m.body, Body::System { ref new_wa_id, .. } if new_wa_id.as_deref() == Some("919795123456"))
        );
        assert!(matches!(one(base("order", json!({}))).body, Body::Unknown { .. }));
        assert!(matches!(one(base("text", json!(5))).body, Body::Unknown { .. }));
    }

    #[test]
    fn sender_with_only_a_bsuid() {
        let m = one(
            json!({"from_user_id":"IN.1","id":"wamid.b","timestamp":"1","type":"text","text":{"body":"hi"}}),
        );
        assert_eq!(m.sender.wa_id.as_deref(), Some("919812345678")); // from the contact block
        let body = json!({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
            "contacts":[{"profile":{"name":"x"},"user_id":"IN.99"}],
            "messages":[{"from_user_id":"IN.99","id":"wamid.u","timestamp":"1","type":"text","text":{"body":"hi"}}]}}]}]});
        let ev = parse_notification(body.to_string().as_bytes()).expect("parse");
        assert_eq!(ev[0].party(), "IN.99");
    }

    #[test]
    fn batches_statuses_and_foreign_objects() {
        let st = json!([
            {"id":"wamid.o1","status":"delivered","timestamp":"2","recipient_id":"919812345678"},
            {"id":"wamid.o2","status":"failed","timestamp":"3","recipient_id":"919812345678",
             "errors":[{"code":131047,"title":"Re-engagement message","error_data":{"details":"24 hours"}}]},
            {"id":"wamid.o3","status":"deleted","timestamp":"3","recipient_id":"9"}
        ]);
        let ev = parse_notification(&wrap(
            json!([{"from":"9","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"a"}}]),
            st,
        ))
        .expect("parse");
        assert_eq!(ev.len(), 3);
        assert!(
            matches!(&ev[2], InboundEvent::Status(s) if s.error_code == Some(131047) && s.error_detail.as_deref() == Some("24 hours"))
        );
        let many = json!({"object":"whatsapp_business_account","entry":[
            {"changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"a","type":"text","text":{"body":"x"}},{"from":"2","id":"b","type":"text","text":{"body":"y"}}]}}]},
            {"changes":[{"field":"account_update","value":{"x":1}},{"field":"messages","value":{"messages":[{"from":"3","id":"c","type":"text","text":{"body":"z"}}]}}]}]});
        assert_eq!(
            parse_notification(many.to_string().as_bytes())
                .expect("parse")
                .len(),
            3
        );
        assert_eq!(
            parse_notification(br#"{"object":"page","entry":[]}"#)
                .expect("parse")
                .len(),
            0
        );
        assert!(parse_notification(b"{not json").is_err());
        assert!(parse_notification(b"[]").expect("parse").is_empty());
    }

    #[test]
    fn statuses_never_move_backwards() {
        use DeliveryStatus::*;
        assert!(Delivered.advances(Sent));
        assert!(!Delivered.advances(Read));
        assert!(Failed.advances(Read));
        assert!(!Read.advances(Failed));
    }

    /// Every value in a real payload swapped for every other JSON type, one at a time: the
    /// parser answers (events or an error) and never panics.
    #[test]
    fn no_shape_of_input_panics() {
        fn paths(v: &Value, at: String, out: &mut Vec<String>) {
            out.push(at.clone());
            match v {
                Value::Object(m) => m.iter().for_each(|(k, x)| paths(x, format!("{at}/{k}"), out)),
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .for_each(|(i, x)| paths(x, format!("{at}/{i}"), out)),
                _ => {}
            }
        }
        let kinds = [
            "text",
            "image",
            "location",
            "contacts",
            "interactive",
            "button",
            "unsupported",
            "system",
            "reaction",
        ];
        let samples: Vec<Value> = kinds
            .iter()
            .map(|k| {
                let mut m = json!({"from":"919812345678","id":"wamid.x","timestamp":"1","type":k,
                    "context":{"from":"916391363636","id":"wamid.y"},"errors":[{"code":131051}]});
                m[*k] = json!({"body":"x","id":"1","mime_type":"image/jpeg","sha256":"a","latitude":1.0,"longitude":2.0,
                    "type":"button_reply","button_reply":{"id":"a","title":"b"},"payload":"p","wa_id":"9","message_id":"m"});
                serde_json::from_slice::<Value>(&wrap(json!([m]), json!([{"id":"wamid.o","status":"read","timestamp":"1",
                    "recipient_id":"9","errors":[{"code":1,"error_data":{"details":"d"}}]}]))).expect("sample")
            })
            .collect();
        let replacements = [
            json!(null),
            json!(7),
            json!(-1.5),
            json!("s"),
            json!([]),
            json!({}),
            json!([1, "a"]),
        ];
        let mut checked = 0;
        for sample in &samples {
            let mut all = Vec::new();
            paths(sample, String::new(), &mut all);
            for path in all.iter().filter(|p| !p.is_empty()) {
                for r in &replacements {
                    let mut v = sample.clone();
                    if let Some(slot) = v.pointer_mut(path) {
                        *slot = r.clone();
                    }
                    let _ = parse_notification(v.to_string().as_bytes());
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
        for bytes in [
            &b""[..],
            b"\xff\xfe",
            b"null",
            b"{\"object\":\"whatsapp_business_account\",\"entry\":7}",
            &[0u8; 64],
        ] {
            let _ = parse_notification(bytes);
        }
    }

    /// The vendored notifications in events/whatsapp, byte for byte as Meta sends them.
    #[test]
    fn vendored_events_parse() {
        let count = |name: &str, body: &str| {
            let events = parse_notification(body.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let messages = events
                .iter()
                .filter(|e| matches!(e, InboundEvent::Message(_)))
                .count();
            (messages, events.len() - messages)
        };
        let manifest =
            std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
        let dir = format!("{manifest}/../../events/whatsapp");
        let expect = [
            ("text-hindi.json", (1, 0)),
            ("image-with-caption.json", (1, 0)),
            ("voice-note.json", (1, 0)),
            ("location-pin.json", (1, 0)),
            ("feedback-button.json", (1, 0)),
            ("template-quick-reply.json", (1, 0)),
            ("unsupported.json", (1, 0)),
            ("bsuid-only.json", (1, 0)),
            ("status-failed-131047.json", (0, 1)),
            ("batch-two-entries.json", (6, 2)),
        ];
        for (name, want) in expect {
            let body = std::fs::read_to_string(format!("{dir}/{name}")).expect(name);
            assert_eq!(count(name, &body), want, "{name}");
        }
        let hindi = std::fs::read_to_string(format!("{dir}/text-hindi.json")).expect("read");
        assert!(
            hindi.is_ascii() && hindi.contains("\\/"),
            "Meta's escaped wire form"
        );
        match parse_notification(hindi.as_bytes()).expect("parse").pop() {
            Some(InboundEvent::Message(m)) => {
                assert_eq!(
                    m.body,
                    Body::Text {
                        text: "गांव में हैंडपंप खराब है/पानी नहीं आ रहा 😟".into()
                    }
                )
            }
            other => panic!("{other:?}"),
        }
        let bsuid = std::fs::read_to_string(format!("{dir}/bsuid-only.json")).expect("read");
        assert_eq!(
            parse_notification(bsuid.as_bytes()).expect("parse")[0].party(),
            "IN.99887766554433221100"
        );
    }

    #[test]
    fn only_the_configured_business_number_is_handled() {
        let change = |id: serde_json::Value, from: &str| {
            json!({"field":"messages","value":{"messaging_product":"whatsapp",
                "metadata":{"display_phone_number":"916391363636","phone_number_id":id},
                "messages":[{"from":from,"id":format!("wamid.{from}"),"timestamp":"1","type":"text","text":{"body":"x"}}],
                "statuses":[{"id":"wamid.o","status":"read","timestamp":"1","recipient_id":from}]}})
        };
        let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
            change(json!("100000000000001"), "1"), change(json!("999"), "2"), change(json!(100000000000001u64), "3")]}]});
        let got = parse_notification_for(body.to_string().as_bytes(), "100000000000001").expect("json");
        assert_eq!(got.events.len(), 4, "{got:?}");
        assert_eq!(got.ignored, 2);
        let none = json!({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
            "messages":[{"from":"1","id":"wamid.n","timestamp":"1","type":"text","text":{"body":"x"}}]}}]}]});
        let got = parse_notification_for(none.to_string().as_bytes(), "100000000000001").expect("json");
        assert_eq!((got.events.len(), got.ignored), (0, 1));
        assert_eq!(
            parse_notification(none.to_string().as_bytes())
                .expect("json")
                .len(),
            1
        );
    }
}
