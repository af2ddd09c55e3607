//! The webhook behind a Lambda Function URL or an HTTP API (payload format 2.0).
//!
//! DESIGN §9: the signature is over the exact bytes Meta sent, and a body flagged
//! `isBase64Encoded` may not be valid base64. `lambda_http` decodes it for us and panics on bad
//! base64, so this takes the raw v2 event and decodes the body itself: bad base64 is a 400,
//! an event that is not a v2 HTTP request is a 400, never a panic.
//!
//! The runtime deserialises each invocation straight into [`Event`]: only the handful of fields
//! the webhook reads (method, path, the three `hub.*` query parameters, the signature header, the
//! body), every other field skipped without being built. It accepts any JSON at all, so an event
//! that is not an HTTP request still reaches the handler, which answers it 400.

use std::fmt;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{header, HeaderValue, Method};
use base64::Engine;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use shikayat_core::ports::Queue;

use crate::{handshake, receive, Reply, WebhookConfig};

/// What the webhook reads of an invocation's event.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Event {
    /// `requestContext.http.method`: None when the event is not an HTTP request.
    pub method: Option<String>,
    /// `rawPath`, else `requestContext.http.path`.
    pub path: Option<String>,
    pub hub_mode: Option<String>,
    pub hub_verify_token: Option<String>,
    pub hub_challenge: Option<String>,
    /// `x-hub-signature-256` (header names compared case-insensitively).
    pub signature: Option<String>,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

impl From<ApiGatewayV2httpRequest> for Event {
    fn from(req: ApiGatewayV2httpRequest) -> Self {
        let q = &req.query_string_parameters;
        let query = |name| q.first(name).map(str::to_string);
        Event {
            method: Some(req.request_context.http.method.as_str().to_string()),
            path: req.raw_path.clone().or(req.request_context.http.path.clone()),
            hub_mode: query("hub.mode"),
            hub_verify_token: query("hub.verify_token"),
            hub_challenge: query("hub.challenge"),
            signature: req
                .headers
                .get("x-hub-signature-256")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: req.body,
            is_base64_encoded: req.is_base64_encoded,
        }
    }
}

/// Any JSON event: a v2 HTTP request is handled, anything else answered 400.
pub async fn handle_value(
    cfg: &WebhookConfig,
    queue: &dyn Queue,
    event: serde_json::Value,
) -> ApiGatewayV2httpResponse {
    match Event::deserialize(event) {
        Ok(e) => handle_event(cfg, queue, e).await.into(),
        // `Event` takes any JSON value; kept for the type's sake.
        Err(e) => not_http(&e).into(),
    }
}

/// A typed v2 request (tests, the local runner's fixtures).
pub async fn handle(
    cfg: &WebhookConfig,
    queue: &dyn Queue,
    req: ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    handle_event(cfg, queue, req.into()).await.into()
}

fn not_http(why: &dyn fmt::Display) -> Reply {
    tracing::warn!(error = %why, "not an HTTP API v2 / Function URL event");
    Reply {
        status: 400,
        body: "bad request".into(),
    }
}

/// `GET /webhook` (Meta's handshake), `POST /webhook` (notifications), `GET /healthz`; else 404
/// (405 for another method; 400 for an event that is not an HTTP request).
pub async fn handle_event(cfg: &WebhookConfig, queue: &dyn Queue, mut event: Event) -> Reply {
    let Some(method) = event.method.as_deref() else {
        return not_http(&"no requestContext.http.method");
    };
    let path = event.path.as_deref().unwrap_or("/");
    let path = match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    };
    match (method, path) {
        ("GET", "/webhook") => handshake(
            cfg,
            event.hub_mode.as_deref(),
            event.hub_verify_token.as_deref(),
            event.hub_challenge.as_deref(),
        ),
        ("POST", "/webhook") => match raw_body(&mut event) {
            Ok(body) => receive(cfg, queue, event.signature.as_deref(), &body).await,
            Err(reply) => reply,
        },
        ("GET", "/healthz") => Reply {
            status: 200,
            body: "ok".into(),
        },
        ("GET" | "POST", _) => Reply {
            status: 404,
            body: "not found".into(),
        },
        (m, _) if Method::from_bytes(m.as_bytes()).is_err() => not_http(&"not an HTTP method"),
        _ => Reply {
            status: 405,
            body: "method not allowed".into(),
        },
    }
}

/// The bytes Meta sent: the body as given (moved, not copied), or base64-decoded when the
/// event says so.
fn raw_body(event: &mut Event) -> Result<Vec<u8>, Reply> {
    let body = event.body.take().unwrap_or_default();
    if !event.is_base64_encoded {
        return Ok(body.into_bytes());
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| {
            tracing::warn!(error = %e, bytes = body.len(), "webhook body is not valid base64");
            Reply {
                status: 400,
                body: "malformed body".into(),
            }
        })
}

const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

impl From<Reply> for ApiGatewayV2httpResponse {
    fn from(r: Reply) -> Self {
        let mut out = ApiGatewayV2httpResponse::default();
        out.status_code = i64::from(r.status);
        out.headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        out.body = Some(Body::Text(r.body));
        out.is_base64_encoded = false;
        out
    }
}

/// The Function URL / HTTP API response the runtime posts:
/// `{"statusCode":…,"headers":{"content-type":…},"body":…,"isBase64Encoded":false}`, written
/// straight from the reply (what `ApiGatewayV2httpResponse` says, less its empty fields).
impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Headers;
        impl Serialize for Headers {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("content-type", CONTENT_TYPE)?;
                m.end()
            }
        }
        let mut st = s.serialize_struct("Response", 4)?;
        st.serialize_field("statusCode", &self.status)?;
        st.serialize_field("headers", &Headers)?;
        st.serialize_field("body", &self.body)?;
        st.serialize_field("isBase64Encoded", &false)?;
        st.end()
    }
}

// ---- deserialising any JSON into `Event` without building what is not read ----

/// Looks a key up among `names` without allocating (ASCII case-insensitively if `fold`).
struct Key {
    names: &'static [&'static str],
    fold: bool,
}

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.names.iter().position(|n| {
            if self.fold {
                n.eq_ignore_ascii_case(v)
            } else {
                *n == v
            }
        }))
    }
}

/// A JSON object's fields of interest; any other value in its place reads as the default.
trait Fields: Default {
    const NAMES: &'static [&'static str];
    const FOLD: bool = false;
    fn set<'de, A: MapAccess<'de>>(&mut self, field: usize, map: &mut A) -> Result<(), A::Error>;
}

/// Deserialises `T` from an object, or `T::default()` from any other JSON value, skipping what
/// `T` does not name: never an error on well-formed JSON.
struct Lenient<T>(T);

impl<'de, T: Fields> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Fields> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut t = T::default();
                let key = || Key {
                    names: T::NAMES,
                    fold: T::FOLD,
                };
                while let Some(found) = map.next_key_seed(key())? {
                    match found {
                        Some(i) => t.set(i, &mut map)?,
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Lenient(t))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(T::default()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Lenient::deserialize(d)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient(T::default()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient(T::default()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(T::default()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(T::default()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(T::default()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(T::default()))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(T::default()))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A JSON string as `Some`, any other value as `None`.
#[derive(Default)]
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
                Text::deserialize(d)
            }
            fn visit_none<E>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text, E> {
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `true` only for JSON `true`.
#[derive(Default)]
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E>(self, _: &str) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Flag, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Flag(false))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Flag, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Flag(false))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Flag, D::Error> {
                Flag::deserialize(d)
            }
            fn visit_none<E>(self) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_unit<E>(self) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Default)]
struct Top {
    event: Event,
}

impl Fields for Top {
    const NAMES: &'static [&'static str] = &[
        "requestContext",
        "rawPath",
        "path",
        "headers",
        "queryStringParameters",
        "body",
        "isBase64Encoded",
    ];
    fn set<'de, A: MapAccess<'de>>(&mut self, field: usize, map: &mut A) -> Result<(), A::Error> {
        let e = &mut self.event;
        match field {
            0 => {
                let ctx = map.next_value::<Lenient<Context>>()?.0;
                e.method = ctx.method;
                // `rawPath` wins; this is the fallback.
                if e.path.is_none() {
                    e.path = ctx.path;
                }
            }
            // `path` is `rawPath`'s alias in `ApiGatewayV2httpRequest`.
            1 | 2 => {
                if let Some(p) = map.next_value::<Text>()?.0 {
                    e.path = Some(p);
                }
            }
            3 => {
                let h = map.next_value::<Lenient<Headers>>()?.0;
                e.signature = h.signature;
            }
            4 => {
                let q = map.next_value::<Lenient<Query>>()?.0;
                e.hub_mode = q.mode;
                e.hub_verify_token = q.verify_token;
                e.hub_challenge = q.challenge;
            }
            5 => e.body = map.next_value::<Text>()?.0,
            _ => e.is_base64_encoded = map.next_value::<Flag>()?.0,
        }
        Ok(())
    }
}

/// `requestContext`: its `http` object's method and path.
#[derive(Default)]
struct Context {
    method: Option<String>,
    path: Option<String>,
}

impl Fields for Context {
    const NAMES: &'static [&'static str] = &["http"];
    fn set<'de, A: MapAccess<'de>>(&mut self, _: usize, map: &mut A) -> Result<(), A::Error> {
        let h = map.next_value::<Lenient<HttpDescription>>()?.0;
        (self.method, self.path) = (h.method, h.path);
        Ok(())
    }
}

#[derive(Default)]
struct HttpDescription {
    method: Option<String>,
    path: Option<String>,
}

impl Fields for HttpDescription {
    const NAMES: &'static [&'static str] = &["method", "path"];
    fn set<'de, A: MapAccess<'de>>(&mut self, field: usize, map: &mut A) -> Result<(), A::Error> {
        let v = map.next_value::<Text>()?.0;
        match field {
            0 => self.method = v,
            _ => self.path = v,
        }
        Ok(())
    }
}

#[derive(Default)]
struct Headers {
    signature: Option<String>,
}

impl Fields for Headers {
    const NAMES: &'static [&'static str] = &["x-hub-signature-256"];
    const FOLD: bool = true;
    fn set<'de, A: MapAccess<'de>>(&mut self, _: usize, map: &mut A) -> Result<(), A::Error> {
        let v = map.next_value::<Text>()?.0;
        // The first of repeated names, as `HeaderMap::get` gives.
        if self.signature.is_none() {
            self.signature = v;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Query {
    mode: Option<String>,
    verify_token: Option<String>,
    challenge: Option<String>,
}

impl Fields for Query {
    const NAMES: &'static [&'static str] = &["hub.mode", "hub.verify_token", "hub.challenge"];
    fn set<'de, A: MapAccess<'de>>(&mut self, field: usize, map: &mut A) -> Result<(), A::Error> {
        // Payload 2.0 joins a repeated parameter's values with commas; the first counts, as
        // `QueryMap::first` has it.
        let v = map.next_value::<Text>()?.0.map(|mut s| {
            if let Some(i) = s.find(',') {
                s.truncate(i);
            }
            s
        });
        match field {
            0 => self.mode = v,
            1 => self.verify_token = v,
            _ => self.challenge = v,
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Event {
    /// Any JSON value: an object's fields of interest are read, everything else is skipped; a
    /// value that is not a v2 HTTP request gives an `Event` without a method.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lenient::<Top>::deserialize(d)?.0.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shikayat_core::command::Outbound;
    use shikayat_core::ports::{PortError, PortResult};
    use shikayat_core::pseudonym::KeyedHash;
    use std::sync::Mutex;

    const APP: &str = "test-app-secret-0123456789abcdef";

    fn cfg() -> WebhookConfig {
        WebhookConfig {
            app_secret: APP.into(),
            verify_token: "verify-0123456789".into(),
            phone_number_id: "100000000000001".into(),
            ids: KeyedHash::new("key-0123456789abcdef0123456789abcdef", "id_key", "").expect("key"),
        }
    }

    /// Records each `send_batch` call; fails them all when asked.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<usize>>,
        fail: bool,
    }

    #[async_trait::async_trait]
    impl Queue for Recorder {
        async fn send(&self, _: &Outbound) -> PortResult<()> {
            panic!("the webhook sends in batches");
        }
        async fn send_batch(&self, cmds: &[Outbound]) -> PortResult<()> {
            self.calls.lock().expect("lock").push(cmds.len());
            if self.fail {
                return Err(PortError::Transient("send batch: 1 of 2 entries failed".into()));
            }
            Ok(())
        }
    }

    fn text_message(n: usize) -> String {
        format!(
            r#"{{"from":"919812345678","id":"wamid.T{n}","timestamp":"1700000000","type":"text","text":{{"body":"hi {n}"}}}}"#
        )
    }

    fn notification(messages: usize) -> String {
        let msgs: Vec<String> = (0..messages).map(text_message).collect();
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550000000","phone_number_id":"100000000000001"}},"contacts":[{{"profile":{{"name":"A"}},"wa_id":"919812345678"}}],"messages":[{}],"statuses":[{{"id":"wamid.S","status":"read","timestamp":"1700000001","recipient_id":"919812345678"}}]}}}}]}}]}}"#,
            msgs.join(",")
        )
    }

    fn post(body: &str, base64: bool) -> serde_json::Value {
        let sig = shikayat_core::signature::sign(APP.as_bytes(), body.as_bytes());
        let body = if base64 {
            base64::engine::general_purpose::STANDARD.encode(body)
        } else {
            body.to_string()
        };
        serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/webhook", "rawQueryString": "",
            "headers": {"content-type": "application/json", "X-Hub-Signature-256": sig},
            "requestContext": {"http": {"method": "POST", "path": "/webhook", "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1", "userAgent": "facebookexternalua"}, "requestId": "r",
                "routeKey": "$default", "stage": "$default", "timeEpoch": 0},
            "body": body, "isBase64Encoded": base64,
        })
    }

    /// From the bytes, as the runtime does.
    fn event(v: &serde_json::Value) -> Event {
        serde_json::from_slice(v.to_string().as_bytes()).expect("any JSON is an Event")
    }

    #[tokio::test]
    async fn one_batch_per_notification_and_a_failed_batch_is_a_500() {
        let q = Recorder::default();
        for (n, b64) in [(1, false), (2, true), (12, false)] {
            let r = handle_event(&cfg(), &q, event(&post(&notification(n), b64))).await;
            assert_eq!(r, Reply::new(200, "ok"), "{n}");
        }
        // The `read` status is not sent; the queue port splits 12 into calls of ten.
        assert_eq!(*q.calls.lock().expect("lock"), [1, 2, 12]);
        let failing = Recorder {
            fail: true,
            ..Recorder::default()
        };
        let r = handle_event(&cfg(), &failing, event(&post(&notification(2), false))).await;
        assert_eq!(r.status, 500, "Meta redelivers");
        let mut bad = post(&notification(1), false);
        bad["body"] = "tampered".into();
        assert_eq!(handle_event(&cfg(), &q, event(&bad)).await.status, 401);
        assert_eq!(q.calls.lock().expect("lock").len(), 3, "nothing sent");
    }

    #[tokio::test]
    async fn any_json_is_read_and_what_is_not_a_v2_request_is_a_400() {
        let q = Recorder::default();
        for v in [
            serde_json::json!({"Records": [{"body": "x", "messageId": "1"}]}),
            serde_json::json!({"requestContext": "x", "headers": [1, {"a": null}], "body": 5}),
            serde_json::json!({"requestContext": {"http": {"method": 7}}}),
            serde_json::json!({"requestContext": {"http": {"method": "G ET"}}}),
            serde_json::json!([1, 2, {"x": []}]),
            serde_json::json!("hello"),
            serde_json::json!(null),
            serde_json::json!(12.5),
        ] {
            let e = event(&v);
            assert_eq!(handle_event(&cfg(), &q, e).await.status, 400, "{v}");
            let r = handle_value(&cfg(), &q, v.clone()).await;
            assert_eq!(r.status_code, 400, "{v}");
        }
        let get = serde_json::json!({
            "rawPath": "/webhook/",
            "queryStringParameters": {"hub.mode": "subscribe", "hub.verify_token": "verify-0123456789",
                "hub.challenge": "42,43"},
            "requestContext": {"http": {"method": "GET", "path": "/ignored"}},
        });
        assert_eq!(handle_event(&cfg(), &q, event(&get)).await, Reply::new(200, "42"));
        let put = serde_json::json!({"requestContext": {"http": {"method": "PUT", "path": "/webhook"}}});
        assert_eq!(handle_event(&cfg(), &q, event(&put)).await.status, 405);
        let health = serde_json::json!({"requestContext": {"http": {"method": "GET", "path": "/healthz"}}});
        assert_eq!(handle_event(&cfg(), &q, event(&health)).await.status, 200);
        let mut b64 = post("{}", true);
        b64["body"] = "***".into();
        assert_eq!(handle_event(&cfg(), &q, event(&b64)).await.status, 400);
        assert!(q.calls.lock().expect("lock").is_empty());
    }

    /// The typed v2 request and the direct read agree, and the reply serialises as the
    /// `ApiGatewayV2httpResponse` it stands for.
    #[tokio::test]
    async fn the_direct_read_matches_the_typed_request_and_the_response() {
        let v = post(&notification(1), true);
        let typed: ApiGatewayV2httpRequest = serde_json::from_value(v.clone()).expect("v2");
        assert_eq!(Event::from(typed), event(&v));
        let reply = Reply::new(401, "invalid signature");
        let ours: serde_json::Value = serde_json::to_value(&reply).expect("json");
        let theirs = serde_json::to_value(ApiGatewayV2httpResponse::from(reply)).expect("json");
        for k in ["statusCode", "headers", "body", "isBase64Encoded"] {
            assert_eq!(ours[k], theirs[k], "{k}");
        }
    }
}
