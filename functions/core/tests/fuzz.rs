//! A property test over generated input, for the two decoders that see bytes from outside:
//! the webhook's parse and split (`inbound::parse_notification`, then one envelope per event as
//! the webhook enqueues it) and command decoding (`command::Envelope::from_json`, what every
//! consumer runs on a queue body).
//!
//! Inputs start from the vendored samples (events/whatsapp: notifications; events/sqs: command
//! envelopes) and one notification with every message type, then are mutated: values replaced
//! by random ones (unicode, huge numbers, deep values), fields dropped, added or duplicated,
//! arrays multiplied, types swapped, nesting deepened past serde_json's limit, bytes flipped,
//! cut or spliced; some inputs are plain noise. For every input:
//!
//! - no panic;
//! - a body is refused exactly when it is not JSON, with a short error;
//! - no more events than the body has messages and statuses, none larger than twice the body;
//! - every event survives the queue: its envelope decodes to itself (a coordinate may come
//!   back off in its last bits: counted and printed, not failed);
//! - an envelope that decodes re-encodes to itself; a refused one gets an error bounded by its
//!   length (serde quotes the offending value whole, escaped: up to ~2.5 chars per byte).
//!
//! `FUZZ_CASES` sets the number of inputs (default 20 000); `FUZZ_SEED` replays a run (the seed
//! is printed). `scripts/fuzz.sh` runs a million, optimised.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use shikayat_core::command::{Command, Envelope};
use shikayat_core::inbound::{parse_notification, InboundEvent};

const NOTIFICATIONS: &[&str] = &[
    include_str!("../../../events/whatsapp/batch-two-entries.json"),
    include_str!("../../../events/whatsapp/bsuid-only.json"),
    include_str!("../../../events/whatsapp/feedback-button.json"),
    include_str!("../../../events/whatsapp/image-with-caption.json"),
    include_str!("../../../events/whatsapp/location-pin.json"),
    include_str!("../../../events/whatsapp/status-failed-131047.json"),
    include_str!("../../../events/whatsapp/template-quick-reply.json"),
    include_str!("../../../events/whatsapp/text-hindi.json"),
    include_str!("../../../events/whatsapp/unsupported.json"),
    include_str!("../../../events/whatsapp/voice-note.json"),
];

/// SQS batches whose record bodies are command envelopes, one file per command kind.
const SQS_BATCHES: &[&str] = &[
    include_str!("../../../events/sqs/inbound-batch.json"),
    include_str!("../../../events/sqs/inbound-poisoned.json"),
    include_str!("../../../events/sqs/notify-deliver_report.json"),
    include_str!("../../../events/sqs/notify-tell.json"),
    include_str!("../../../events/sqs/relay-forward_complaint.json"),
    include_str!("../../../events/sqs/relay-send_details.json"),
    include_str!("../../../events/sqs/relay-settle_complaint.json"),
    include_str!("../../../events/sqs/relay-settle_report.json"),
    include_str!("../../../events/sqs/relay-tell.json"),
];

/// Keys the decoders look for, so mutations often hit a path that matters.
const KEYS: &[&str] = &[
    "object",
    "entry",
    "changes",
    "field",
    "value",
    "metadata",
    "contacts",
    "profile",
    "name",
    "wa_id",
    "user_id",
    "messages",
    "statuses",
    "from",
    "from_user_id",
    "id",
    "timestamp",
    "type",
    "context",
    "forwarded",
    "frequently_forwarded",
    "text",
    "body",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "mime_type",
    "sha256",
    "caption",
    "filename",
    "voice",
    "url",
    "location",
    "latitude",
    "longitude",
    "address",
    "formatted_name",
    "phones",
    "phone",
    "reaction",
    "message_id",
    "emoji",
    "interactive",
    "button_reply",
    "list_reply",
    "title",
    "button",
    "payload",
    "unsupported",
    "system",
    "errors",
    "code",
    "error_data",
    "details",
    "status",
    "recipient_id",
    "recipient_user_id",
    "v",
    "key",
    "kind",
    "event",
    "sender",
    "to",
    "complaint",
    "notice",
    "settles_at",
];

const TYPES: &[&str] = &[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "interactive",
    "button",
    "unsupported",
    "system",
    "order",
    "button_reply",
    "list_reply",
    "nfm_reply",
    "message",
    "status",
    "sent",
    "delivered",
    "read",
    "failed",
    "deleted",
    "whatsapp_business_account",
    "messages",
    "inbound",
    "tell",
    "forward_complaint",
    "send_details",
    "settle_complaint",
    "settle_report",
    "deliver_report",
];

/// Characters that break naive code: quotes, escapes, controls, RTL and zero-width marks,
/// combining Devanagari, astral emoji, the BOM and the last code point.
const ODD_CHARS: &[char] = &[
    '"',
    '\\',
    '\n',
    '\r',
    '\t',
    '\0',
    '\u{7f}',
    '\u{200b}',
    '\u{200f}',
    '\u{202e}',
    'श',
    'ि',
    '्',
    '😀',
    '\u{feff}',
    '\u{10ffff}',
    '+',
    '9',
    '#',
    ':',
    '/',
    '%',
];

/// Every message type the parser knows, plus statuses, in one notification.
fn kitchen_sink() -> Value {
    let m = |t: &str, inner: Value| {
        let mut m =
            json!({"from": "919812345678", "id": format!("wamid.{t}"), "timestamp": "1795000000", "type": t});
        m[t] = inner;
        m
    };
    let messages = json!([
        m("text", json!({"body": "हैंडपंप से पानी नहीं आ रहा"})),
        m("image", json!({"id": "111", "mime_type": "image/jpeg", "sha256": "abc", "caption": "टूटा"})),
        m("video", json!({"id": "112", "mime_type": "video/mp4"})),
        m("audio", json!({"id": "113", "mime_type": "audio/ogg", "voice": true})),
        m("document", json!({"id": "114", "filename": "a.pdf", "mime_type": "application/pdf"})),
        m("sticker", json!({"id": "115", "mime_type": "image/webp"})),
        m("location", json!({"latitude": 26.15, "longitude": 81.81, "name": "अमेठी", "address": "x"})),
        {"from": "919812345678", "id": "wamid.contacts", "timestamp": "1", "type": "contacts",
         "contacts": [{"name": {"formatted_name": "राम"}, "phones": [{"phone": "+91 98123"}]}]},
        m("reaction", json!({"message_id": "wamid.x", "emoji": "👍"})),
        m("interactive", json!({"type": "button_reply", "button_reply": {"id": "feedback:satisfied:AMT-2026-000001", "title": "संतुष्ट"}})),
        m("interactive", json!({"type": "list_reply", "list_reply": {"id": "pick:AMT-2026-000002", "title": "x", "description": "y"}})),
        m("button", json!({"payload": "officer:accept:AMT-2026-000001", "text": "स्वीकार"})),
        {"from": "919812345678", "id": "wamid.unsup", "timestamp": "1", "type": "unsupported",
         "errors": [{"code": 131051, "title": "Message type unknown"}], "unsupported": {"type": "poll"}},
        m("system", json!({"type": "user_changed_number", "wa_id": "919800000000"})),
        {"from": "919812345678", "id": "wamid.ctx", "timestamp": "1", "type": "text",
         "context": {"id": "wamid.OUT", "forwarded": true}, "text": {"body": "जवाब"}},
    ]);
    let statuses = json!([
        {"id": "wamid.OUT1", "status": "delivered", "timestamp": "1795000001", "recipient_id": "919812345678"},
        {"id": "wamid.OUT2", "status": "failed", "timestamp": "1795000002", "recipient_id": "919812345678",
         "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "more than 24 hours"}}]},
    ]);
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "916391363636", "phone_number_id": "100000000000001"},
        "contacts": [{"profile": {"name": "सुनीता"}, "wa_id": "919812345678", "user_id": "IN.1"}],
        "messages": messages, "statuses": statuses}}]}]})
}

struct Seeds {
    notifications: Vec<Value>,
    envelopes: Vec<Value>,
}

fn seeds() -> Seeds {
    let mut notifications: Vec<Value> = NOTIFICATIONS
        .iter()
        .map(|s| serde_json::from_str(s).expect("vendored notification"))
        .collect();
    notifications.push(kitchen_sink());
    let mut envelopes = Vec::new();
    for batch in SQS_BATCHES {
        let v: Value = serde_json::from_str(batch).expect("vendored SQS batch");
        for r in v["Records"].as_array().expect("Records") {
            // Poisoned records are cut short on purpose: they seed the byte-level cases.
            if let Ok(body) = serde_json::from_str::<Value>(r["body"].as_str().unwrap_or_default()) {
                envelopes.push(body);
            }
        }
    }
    // What the webhook enqueues for every sample event.
    for n in &notifications {
        let body = serde_json::to_vec(n).expect("serialise");
        for event in parse_notification(&body).expect("sample parses") {
            let env: Value = serde_json::from_str(&webhook_envelope(event).to_json()).expect("envelope json");
            envelopes.push(env);
        }
    }
    Seeds {
        notifications,
        envelopes,
    }
}

/// The envelope the webhook puts on the inbound queue for one event.
fn webhook_envelope(event: InboundEvent) -> Envelope {
    Envelope::new(event.dedupe_key(), Command::Inbound { event })
}

// ---- generators ----

fn random_string(rng: &mut StdRng) -> String {
    let len = match rng.gen_range(0..100) {
        0..=59 => rng.gen_range(0..8),
        60..=97 => rng.gen_range(8..300),
        _ => rng.gen_range(300..5000),
    };
    (0..len)
        .map(|_| match rng.gen_range(0..4) {
            0 => *ODD_CHARS.choose(rng).unwrap_or(&'x'),
            1 => rng.gen::<char>(),
            _ => rng.gen_range(b' '..=b'~') as char,
        })
        .collect()
}

fn random_number(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..10) {
        0 => json!(i64::MIN),
        1 => json!(i64::MAX),
        2 => json!(u64::MAX),
        3 => json!(1e308),
        4 => json!(-1e-308),
        5 => json!(rng.gen::<f64>() * 1e20),
        6 => json!(-1),
        7 => json!(0),
        _ => json!(rng.gen::<i64>()),
    }
}

fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    let pick = if depth == 0 {
        rng.gen_range(0..5)
    } else {
        rng.gen_range(0..8)
    };
    match pick {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => random_number(rng),
        3 => json!(random_string(rng)),
        4 => json!(*TYPES.choose(rng).unwrap_or(&"text")),
        5 | 6 => {
            let n = rng.gen_range(0..4);
            let mut m = Map::new();
            for _ in 0..n {
                let k = if rng.gen_bool(0.7) {
                    KEYS.choose(rng).unwrap_or(&"k").to_string()
                } else {
                    random_string(rng)
                };
                m.insert(k, random_value(rng, depth - 1));
            }
            Value::Object(m)
        }
        _ => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
    }
}

fn node_count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(node_count).sum(),
        Value::Object(o) => o.values().map(node_count).sum(),
        _ => 0,
    }
}

/// Child indices from the root to the `k`-th node in pre-order.
fn path_to(v: &Value, mut k: usize) -> Vec<usize> {
    let mut path = Vec::new();
    let mut node = v;
    while k > 0 {
        k -= 1;
        let children: Vec<&Value> = match node {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => o.values().collect(),
            _ => break,
        };
        let mut found = false;
        for (i, c) in children.into_iter().enumerate() {
            let n = node_count(c);
            if k < n {
                path.push(i);
                node = c;
                found = true;
                break;
            }
            k -= n;
        }
        if !found {
            break;
        }
    }
    path
}

fn node_at<'a>(mut v: &'a mut Value, path: &[usize]) -> &'a mut Value {
    for &i in path {
        v = match v {
            Value::Array(a) => &mut a[i],
            Value::Object(o) => o.values_mut().nth(i).expect("path from path_to"),
            _ => unreachable!("path_to only walks containers"),
        };
    }
    v
}

/// One structural change at a random node.
fn mutate_value(v: &mut Value, rng: &mut StdRng) {
    let k = rng.gen_range(0..node_count(v));
    let path = path_to(v, k);
    let node = node_at(v, &path);
    match rng.gen_range(0..12) {
        0 => *node = random_value(rng, 3),
        1 => {
            if let Value::Object(o) = node {
                if let Some(key) = o.keys().cloned().collect::<Vec<_>>().choose(rng) {
                    o.remove(key);
                }
            }
        }
        2 => {
            if let Value::Object(o) = node {
                let key = KEYS.choose(rng).unwrap_or(&"id").to_string();
                o.insert(key, random_value(rng, 2));
            }
        }
        3 => {
            // More messages (or entries, changes, contacts) than anyone sends.
            if let Value::Array(a) = node {
                if let Some(x) = a.choose(rng).cloned() {
                    for _ in 0..rng.gen_range(1..30) {
                        a.push(x.clone());
                    }
                }
            }
        }
        4 => {
            if let Value::Array(a) = node {
                if !a.is_empty() {
                    let i = rng.gen_range(0..a.len());
                    a.remove(i);
                }
            }
        }
        5 => *node = json!(random_string(rng)),
        6 => *node = random_number(rng),
        7 => *node = json!(*TYPES.choose(rng).unwrap_or(&"text")),
        8 => {
            for _ in 0..rng.gen_range(1..40) {
                let inner = node.take();
                *node = if rng.gen_bool(0.5) {
                    json!([inner])
                } else {
                    json!({"x": inner})
                };
            }
        }
        9 => *node = json!(node.to_string()),
        10 => *node = Value::Null,
        _ => {
            if let Value::String(s) = node {
                // A known value, slightly off.
                let extra = random_string(rng);
                s.push_str(&extra);
            } else {
                *node = json!(*KEYS.choose(rng).unwrap_or(&"id"));
            }
        }
    }
}

/// Text-level changes serde_json::Value cannot express: duplicate keys, out-of-range numbers,
/// lone surrogates, nesting deeper than the parser's limit.
fn mutate_text(text: &mut String, rng: &mut StdRng) {
    let positions = |t: &str, pat: &str| t.match_indices(pat).map(|(i, _)| i).collect::<Vec<_>>();
    match rng.gen_range(0..6) {
        0 => {
            // A duplicate key: serde_json keeps the last one.
            if let Some(&i) = positions(text, "{\"").choose(rng) {
                let key = KEYS.choose(rng).unwrap_or(&"id");
                let value = random_value(rng, 1).to_string();
                text.insert_str(i + 1, &format!("\"{key}\":{value},"));
            }
        }
        1 => {
            if let Some(&i) = positions(text, ":").choose(rng) {
                let n = [
                    "1e999",
                    "-1e999",
                    "99999999999999999999999999",
                    "-0",
                    "1.7976931348623157e309",
                    "0.0000000000000000000000001e-400",
                ]
                .choose(rng)
                .unwrap_or(&"1e999");
                text.insert_str(i + 1, &format!("{n},\"_\":"));
            }
        }
        2 => {
            if let Some(&i) = positions(text, ":\"").choose(rng) {
                let esc = [
                    "\\ud800",
                    "\\udfff",
                    "\\ud83d\\ude00",
                    "\\u0000",
                    "\\uZZZZ",
                    "\\x41",
                ]
                .choose(rng)
                .unwrap_or(&"\\ud800");
                text.insert_str(i + 2, esc);
            }
        }
        3 => {
            let d = rng.gen_range(100..400);
            *text = format!("{}{text}{}", "[".repeat(d), "]".repeat(d));
        }
        4 => {
            if let Some(&i) = positions(text, "{\"").choose(rng) {
                let d = rng.gen_range(50..300);
                text.insert_str(
                    i + 1,
                    &format!("\"deep\":{}1{},", "{\"a\":".repeat(d), "}".repeat(d)),
                );
            }
        }
        _ => {
            // A whole value repeated: `"messages":[…]` twice in one object.
            if let Some(&i) = positions(text, "\"messages\":").choose(rng) {
                let tail: String = text[i..].chars().take(200).collect();
                text.insert_str(i, &format!("{tail},"));
            }
        }
    }
}

fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut StdRng) {
    for _ in 0..rng.gen_range(1..8) {
        if bytes.is_empty() {
            bytes.push(rng.gen());
            continue;
        }
        let i = rng.gen_range(0..bytes.len());
        match rng.gen_range(0..6) {
            0 => bytes[i] ^= 1 << rng.gen_range(0..8),
            1 => bytes.insert(i, rng.gen()),
            2 => {
                let end = (i + rng.gen_range(1..64)).min(bytes.len());
                bytes.drain(i..end);
            }
            3 => {
                let end = (i + rng.gen_range(1..64)).min(bytes.len());
                let chunk = bytes[i..end].to_vec();
                let at = rng.gen_range(0..=bytes.len());
                bytes.splice(at..at, chunk);
            }
            4 => bytes.truncate(i),
            _ => bytes[i] = *b"{}[]\",:\\0e-".choose(rng).unwrap_or(&b'{'),
        }
    }
}

fn noise(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.gen_range(0..256);
    if rng.gen_bool(0.5) {
        (0..len).map(|_| rng.gen()).collect()
    } else {
        // JSON-ish token soup.
        let tokens = [
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "null",
            "true",
            "1",
            "-",
            "e9",
            "\"id\"",
            "\"type\"",
            "\"messages\"",
            " ",
        ];
        (0..len / 4)
            .flat_map(|_| tokens.choose(rng).unwrap_or(&" ").bytes())
            .collect()
    }
}

/// A generated input from `seeds`.
fn generate(seeds: &[Value], rng: &mut StdRng) -> Vec<u8> {
    let Some(seed) = seeds.choose(rng) else {
        return noise(rng);
    };
    match rng.gen_range(0..100) {
        0..=4 => noise(rng),
        5..=69 => {
            let mut v = seed.clone();
            for _ in 0..rng.gen_range(1..8) {
                mutate_value(&mut v, rng);
            }
            let mut text = v.to_string();
            if rng.gen_bool(0.2) {
                mutate_text(&mut text, rng);
            }
            text.into_bytes()
        }
        70..=84 => {
            let mut text = seed.to_string();
            mutate_text(&mut text, rng);
            text.into_bytes()
        }
        _ => {
            let mut bytes = seed.to_string().into_bytes();
            mutate_bytes(&mut bytes, rng);
            bytes
        }
    }
}

// ---- properties ----

/// Messages plus statuses anywhere a notification could carry them: the most events it may split into.
fn messages_and_statuses(v: &Value) -> usize {
    let arr = |v: &Value, k: &str| v.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut n = 0;
    for entry in arr(v, "entry") {
        for change in arr(&entry, "changes") {
            if let Some(value) = change.get("value") {
                n += arr(value, "messages").len() + arr(value, "statuses").len();
            }
        }
    }
    n
}

#[derive(Default)]
struct Figures {
    bodies: usize,
    refused_bodies: usize,
    events: usize,
    envelopes: usize,
    decoded: usize,
    panics: usize,
    max_error: usize,
    /// Longest envelope error per input byte.
    max_error_ratio: f64,
    /// Events whose coordinates came back off in the last bits: serde_json parses floats
    /// fast, not exactly, unless its `float_roundtrip` feature is on.
    float_drift: usize,
    /// Largest total event size per body byte (a shared contact's name is copied per event).
    max_amplification: f64,
    failures: Vec<String>,
}

impl Figures {
    fn fail(&mut self, case: usize, what: String, input: &[u8]) {
        if self.failures.len() < 10 {
            let shown: String = String::from_utf8_lossy(input).chars().take(300).collect();
            self.failures.push(format!(
                "case {case}: {what}\n  input ({} bytes): {shown}",
                input.len()
            ));
        }
    }
}

/// Equal except for floats a few units in the last place apart.
fn same_but_float_bits(a: &Envelope, b: &Envelope) -> bool {
    fn close(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-15 * x.abs().max(y.abs()),
                _ => x == y,
            },
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
            }
            _ => a == b,
        }
    }
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(x), Ok(y)) => close(&x, &y),
        _ => false,
    }
}

fn check_body(case: usize, body: &[u8], f: &mut Figures) {
    f.bodies += 1;
    let result = catch_unwind(AssertUnwindSafe(|| parse_notification(body)));
    let Ok(result) = result else {
        f.panics += 1;
        return f.fail(case, "parse_notification panicked".into(), body);
    };
    let json = serde_json::from_slice::<Value>(body);
    let events = match (result, json) {
        (Err(e), Err(_)) => {
            f.refused_bodies += 1;
            let len = e.to_string().len();
            f.max_error = f.max_error.max(len);
            if len > 200 {
                f.fail(case, format!("error of {len} chars: {e}"), body);
            }
            return;
        }
        (Err(e), Ok(_)) => return f.fail(case, format!("JSON refused: {e}"), body),
        (Ok(_), Err(e)) => return f.fail(case, format!("not JSON ({e}) but accepted"), body),
        (Ok(events), Ok(v)) => {
            let most = messages_and_statuses(&v);
            if events.len() > most {
                f.fail(
                    case,
                    format!("{} events from {most} messages and statuses", events.len()),
                    body,
                );
            }
            events
        }
    };
    f.events += events.len();
    let mut total = 0usize;
    for event in events {
        let env = webhook_envelope(event);
        let text = env.to_json();
        total += text.len();
        // The wamid twice (as the key and in the event), field names and tags: nothing else
        // repeats what the body said.
        if text.len() > 2 * body.len() + 1024 {
            f.fail(
                case,
                format!("an event of {} bytes from a body of {}", text.len(), body.len()),
                body,
            );
        }
        match catch_unwind(|| Envelope::from_json(&text)) {
            Ok(Ok(back)) if back == env => {}
            Ok(Ok(back)) if same_but_float_bits(&env, &back) => f.float_drift += 1,
            Ok(Ok(back)) => f.fail(
                case,
                format!("event changed on the queue: {env:?} → {back:?}"),
                body,
            ),
            Ok(Err(e)) => f.fail(case, format!("enqueued event does not decode: {e}"), body),
            Err(_) => {
                f.panics += 1;
                f.fail(case, "from_json panicked on an enqueued event".into(), body);
            }
        }
    }
    if !body.is_empty() {
        f.max_amplification = f.max_amplification.max(total as f64 / body.len() as f64);
    }
}

fn check_envelope(case: usize, input: &[u8], f: &mut Figures) {
    f.envelopes += 1;
    let text = String::from_utf8_lossy(input);
    let result = catch_unwind(|| Envelope::from_json(&text));
    let Ok(result) = result else {
        f.panics += 1;
        return f.fail(case, "Envelope::from_json panicked".into(), input);
    };
    match result {
        Ok(env) => {
            f.decoded += 1;
            match Envelope::from_json(&env.to_json()) {
                Ok(back) if back == env => {}
                other => f.fail(
                    case,
                    format!("decoded {env:?} but re-encoded as {other:?}"),
                    input,
                ),
            }
        }
        Err(e) => {
            let len = e.to_string().len();
            f.max_error = f.max_error.max(len);
            f.max_error_ratio = f.max_error_ratio.max(len as f64 / text.len().max(1) as f64);
            // serde quotes an offending string or variant name whole, Debug-escaped.
            if len > 3 * text.len() + 512 {
                f.fail(
                    case,
                    format!("error of {len} chars for {} bytes", text.len()),
                    input,
                );
            }
        }
    }
}

/// One run over `cases` inputs from `seed`.
fn run(cases: usize, seed: u64) -> Figures {
    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut f = Figures::default();
    for case in 0..cases {
        if rng.gen_bool(0.6) {
            let body = generate(&seeds.notifications, &mut rng);
            check_body(case, &body, &mut f);
        } else {
            let input = generate(&seeds.envelopes, &mut rng);
            check_envelope(case, &input, &mut f);
        }
    }
    f
}

#[test]
fn webhook_bodies_and_command_envelopes_never_panic_and_stay_bounded() {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
    // Panics are caught and counted; their messages would only repeat the report below.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let f = run(cases, seed);
    let secs = start.elapsed().as_secs_f64();
    std::panic::set_hook(hook);
    println!(
        "fuzz: {cases} cases (FUZZ_SEED={seed}) in {secs:.1} s, {:.0} cases/s: {} webhook bodies ({} refused as not JSON, \
         {} events), {} envelopes ({} decoded); panics {}, longest error {} chars ({:.1}x its input), largest events/body {:.1}x, \
         coordinates off in the last bits after the queue {}",
        cases as f64 / secs.max(1e-9),
        f.bodies,
        f.refused_bodies,
        f.events,
        f.envelopes,
        f.decoded,
        f.panics,
        f.max_error,
        f.max_error_ratio,
        f.max_amplification,
        f.float_drift,
    );
    assert!(
        f.failures.is_empty(),
        "replay with FUZZ_SEED={seed} FUZZ_CASES={cases}:\n{}",
        f.failures.join("\n")
    );
    assert_eq!(f.panics, 0);
}
