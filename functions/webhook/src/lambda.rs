//! The webhook behind a Lambda Function URL or an HTTP API (payload format 2.0).
//!
//! DESIGN §9: the signature is over the exact bytes Meta sent, and a body flagged
//! `isBase64Encoded` may not be valid base64. `lambda_http` decodes it for us and panics on bad
//! base64, so this takes the raw v2 event and decodes the body itself: bad base64 is a 400,
//! an event that is not a v2 HTTP request is a 400, never a panic.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{header, HeaderMap, HeaderValue, Method};
use base64::Engine;
use shikayat_core::ports::Queue;

use crate::{handshake, receive, Reply, WebhookConfig};

/// Any JSON event: a v2 HTTP request is handled, anything else answered 400.
pub async fn handle_value(
    cfg: &WebhookConfig,
    queue: &dyn Queue,
    event: serde_json::Value,
) -> ApiGatewayV2httpResponse {
    match serde_json::from_value::<ApiGatewayV2httpRequest>(event) {
        Ok(req) => handle(cfg, queue, req).await,
        Err(e) => {
            tracing::warn!(error = %e, "not an HTTP API v2 / Function URL event");
            response(Reply {
                status: 400,
                body: "bad request".into(),
            })
        }
    }
}

/// `GET /webhook` (Meta's handshake), `POST /webhook` (notifications), `GET /healthz`; else 404.
pub async fn handle(
    cfg: &WebhookConfig,
    queue: &dyn Queue,
    req: ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    let method = &req.request_context.http.method;
    let path = req
        .raw_path
        .as_deref()
        .or(req.request_context.http.path.as_deref())
        .unwrap_or("/");
    let path = match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    };
    let reply = match (method, path) {
        (&Method::GET, "/webhook") => {
            let q = &req.query_string_parameters;
            handshake(
                cfg,
                q.first("hub.mode"),
                q.first("hub.verify_token"),
                q.first("hub.challenge"),
            )
        }
        (&Method::POST, "/webhook") => match raw_body(&req) {
            Ok(body) => {
                let sig = signature_header(&req.headers);
                receive(cfg, queue, sig, &body).await
            }
            Err(reply) => reply,
        },
        (&Method::GET, "/healthz") => Reply {
            status: 200,
            body: "ok".into(),
        },
        (&Method::GET | &Method::POST, _) => Reply {
            status: 404,
            body: "not found".into(),
        },
        _ => Reply {
            status: 405,
            body: "method not allowed".into(),
        },
    };
    response(reply)
}

/// Header names are lower-case in v2 payloads; `HeaderMap` compares them case-insensitively anyway.
fn signature_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok())
}

/// The bytes Meta sent: the body as given, or base64-decoded when the event says so.
fn raw_body(req: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, Reply> {
    let body = req.body.as_deref().unwrap_or("");
    if !req.is_base64_encoded {
        return Ok(body.as_bytes().to_vec());
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

fn response(r: Reply) -> ApiGatewayV2httpResponse {
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(r.status);
    out.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    out.body = Some(Body::Text(r.body));
    out.is_base64_encoded = false;
    out
}
