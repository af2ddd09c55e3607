//! Meta's checks on a `type: template` send against the approved definition, and the message as
//! WhatsApp shows it (body with parameters substituted, the definition's button labels).

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::Value;

use crate::state::{media_kind, MediaItem};
use crate::templates::{component, hydrate, param_count, str_at, StoredTemplate, BODY_MAX, HEADER_TEXT_MAX};
use crate::types::array;
use crate::validate::GraphErr;

/// Meta documents no length for a template quick-reply payload; the simulator holds it to the
/// documented limit for the other tap id, an interactive reply button's id (≤256, [S11][S23]).
pub(crate) const PAYLOAD_MAX: usize = 256;

/// What the recipient sees of an accepted template.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rendered {
    /// Text header, body and footer, one per line-block, parameters substituted.
    pub text: String,
    /// Quick replies in the definition's order: (payload a tap returns, label on the button).
    pub quick_replies: Vec<(String, String)>,
}

fn err(code: i64, title: &str, details: String) -> GraphErr {
    GraphErr::new(StatusCode::BAD_REQUEST, code, title, &details)
}

pub(crate) fn not_found(name: &str, language: &str) -> GraphErr {
    err(
        132001,
        "Template name does not exist in the translation",
        format!("template name ({name}) does not exist in {language}"),
    )
}

fn count_mismatch(details: String) -> GraphErr {
    err(
        132000,
        "Number of parameters does not match the expected number of params",
        details,
    )
}

fn format_mismatch(details: String) -> GraphErr {
    err(
        132012,
        "Parameter format does not match format in the created template",
        details,
    )
}

fn too_long(details: String) -> GraphErr {
    err(132005, "Translated text too long", details)
}

/// Meta's one-line rule for text parameters (reference §0.11).
fn check_param_text(text: &str, where_: &str) -> Result<(), GraphErr> {
    if text.trim().is_empty() || text.contains(['\n', '\t', '\r']) || text.contains("     ") {
        return Err(err(
            132018,
            "There was an issue with the parameters in your template",
            format!(
                "{where_}: Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
            ),
        ));
    }
    Ok(())
}

/// A body or header parameter's text: `text`, or the fallback of `currency` / `date_time`.
fn param_text(p: &Value, where_: &str) -> Result<String, GraphErr> {
    let kind = str_at(p, "type");
    let text = match kind {
        "text" => p.get("text").and_then(Value::as_str),
        "currency" => p.pointer("/currency/fallback_value").and_then(Value::as_str),
        "date_time" => p.pointer("/date_time/fallback_value").and_then(Value::as_str),
        _ => {
            return Err(format_mismatch(format!(
                "{where_}: a parameter of type {kind:?} where the template has text"
            )))
        }
    };
    let text = text.unwrap_or("");
    check_param_text(text, where_)?;
    Ok(text.to_string())
}

/// The sent components of one lower-case type (`header`, `body`, `button`).
fn sent<'a>(components: &'a [Value], kind: &str) -> Vec<&'a Value> {
    components
        .iter()
        .filter(|c| str_at(c, "type").eq_ignore_ascii_case(kind))
        .collect()
}

/// The parameters of the single sent component of `kind` (none when it is absent).
fn single<'a>(components: &'a [Value], kind: &str) -> Result<&'a [Value], GraphErr> {
    match sent(components, kind).as_slice() {
        [] => Ok(&[]),
        [c] => Ok(array(c.get("parameters"))),
        _ => Err(GraphErr::invalid(format!(
            "Only one {kind} component may be sent."
        ))),
    }
}

/// Checks a template send (`payload` is the `template` object) against `tpl` and renders it.
pub(crate) fn check_send(
    tpl: &StoredTemplate,
    payload: &Value,
    media: &HashMap<String, MediaItem>,
) -> Result<Rendered, GraphErr> {
    let components = array(payload.get("components"));
    for c in components {
        if !["header", "body", "button"].contains(&str_at(c, "type").to_ascii_lowercase().as_str()) {
            return Err(GraphErr::invalid(format!(
                "Param template['components'][]['type'] must be header, body or button; got {:?}.",
                str_at(c, "type")
            )));
        }
    }
    let mut lines = Vec::new();
    if let Some(header) = check_header(tpl, single(components, "header")?, media)? {
        lines.push(header);
    }

    let body_text = component(&tpl.components, "BODY").map_or("", |b| str_at(b, "text"));
    let want = param_count(body_text);
    let params = single(components, "body")?;
    if params.len() != want {
        return Err(count_mismatch(format!(
            "body: number of localizable_params ({}) does not match the expected number of params ({want})",
            params.len()
        )));
    }
    let values = params
        .iter()
        .map(|p| param_text(p, "body"))
        .collect::<Result<Vec<_>, _>>()?;
    let body = hydrate(body_text, &values);
    let n = body.chars().count();
    if n > BODY_MAX {
        return Err(too_long(format!(
            "body: the hydrated text has {n} characters; at most {BODY_MAX}"
        )));
    }
    lines.push(body);
    if let Some(footer) = component(&tpl.components, "FOOTER") {
        lines.push(str_at(footer, "text").to_string());
    }
    Ok(Rendered {
        text: lines.join("\n"),
        quick_replies: check_buttons(tpl, components)?,
    })
}

/// The rendered text header, if the template has one; media headers need a parameter of their
/// kind, by the id of an uploaded media of that kind or by link.
fn check_header(
    tpl: &StoredTemplate,
    params: &[Value],
    media: &HashMap<String, MediaItem>,
) -> Result<Option<String>, GraphErr> {
    let Some(def) = component(&tpl.components, "HEADER") else {
        if !params.is_empty() {
            return Err(count_mismatch(format!(
                "header: number of localizable_params ({}) does not match the expected number of params (0)",
                params.len()
            )));
        }
        return Ok(None);
    };
    let format = def
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("TEXT")
        .to_ascii_lowercase();
    match format.as_str() {
        "text" => {
            let text = str_at(def, "text");
            let want = param_count(text);
            if params.len() != want {
                return Err(count_mismatch(format!(
                    "header: number of localizable_params ({}) does not match the expected number of params ({want})",
                    params.len()
                )));
            }
            let values = params
                .iter()
                .map(|p| param_text(p, "header"))
                .collect::<Result<Vec<_>, _>>()?;
            let header = hydrate(text, &values);
            let n = header.chars().count();
            if n > HEADER_TEXT_MAX {
                return Err(too_long(format!(
                    "header: the hydrated text has {n} characters; at most {HEADER_TEXT_MAX}"
                )));
            }
            Ok(Some(header))
        }
        "image" | "video" | "document" => {
            let [p] = params else {
                return Err(count_mismatch(format!(
                    "header: a {} header needs exactly one {format} parameter (got {})",
                    format.to_ascii_uppercase(),
                    params.len()
                )));
            };
            let kind = str_at(p, "type");
            if kind != format {
                return Err(format_mismatch(format!(
                    "header: a {kind:?} parameter where the template has a {} header",
                    format.to_ascii_uppercase()
                )));
            }
            let object = p.get(kind).unwrap_or(&Value::Null);
            if let Some(id) = object.get("id").and_then(Value::as_str) {
                let Some(item) = media.get(id) else {
                    return Err(GraphErr::invalid(format!(
                        "Param template header {kind}['id'] is not a valid media id: {id}"
                    )));
                };
                let actual = media_kind(&item.mime_type);
                if actual != kind {
                    return Err(format_mismatch(format!(
                        "header: media {id} is {actual} ({}), not {kind}",
                        item.mime_type
                    )));
                }
            } else if object.get("link").and_then(Value::as_str).is_none() {
                return Err(count_mismatch(format!(
                    "header: the {kind} parameter needs an 'id' or a 'link'"
                )));
            }
            Ok(None)
        }
        // A location header is not checked (not used here).
        _ => Ok(None),
    }
}

/// Quick-reply components must name the template's QUICK_REPLY buttons, each once; none at all is
/// allowed (Meta then returns the label as the payload, reference §5 `button`).
fn check_buttons(tpl: &StoredTemplate, components: &[Value]) -> Result<Vec<(String, String)>, GraphErr> {
    let defined = tpl.quick_replies();
    let buttons = sent(components, "button");
    let mut payloads: HashMap<usize, String> = HashMap::new();
    for b in &buttons {
        let sub_type = str_at(b, "sub_type");
        if !sub_type.eq_ignore_ascii_case("quick_reply") {
            // Only quick replies are modelled; a URL or other button has no QUICK_REPLY to match.
            return Err(count_mismatch(format!(
                "button: a {sub_type:?} button component, but the template's buttons are not modelled for it"
            )));
        }
        let index = match b.get("index") {
            Some(Value::Number(n)) => n.as_u64().map(|n| n as usize),
            Some(Value::String(s)) => s.trim().parse::<usize>().ok(),
            _ => None,
        };
        let Some(index) = index.filter(|i| defined.iter().any(|(d, _)| d == i)) else {
            return Err(count_mismatch(format!(
                "button: index {:?} is not a QUICK_REPLY button of {} (it has {})",
                b.get("index"),
                tpl.name,
                defined.len()
            )));
        };
        let [p] = array(b.get("parameters")) else {
            return Err(count_mismatch(format!(
                "button {index}: a quick reply takes exactly one payload parameter"
            )));
        };
        if str_at(p, "type") != "payload" {
            return Err(format_mismatch(format!(
                "button {index}: a {:?} parameter where a quick reply takes a payload",
                str_at(p, "type")
            )));
        }
        let payload = str_at(p, "payload");
        if payload.is_empty() {
            return Err(count_mismatch(format!("button {index}: the payload is empty")));
        }
        let n = payload.chars().count();
        if n > PAYLOAD_MAX {
            return Err(GraphErr::invalid(format!(
                "Param button {index} payload must be at most {PAYLOAD_MAX} characters long (got {n})."
            )));
        }
        if payloads.insert(index, payload.to_string()).is_some() {
            return Err(count_mismatch(format!("button: index {index} is sent twice")));
        }
    }
    if !buttons.is_empty() && payloads.len() != defined.len() {
        return Err(count_mismatch(format!(
            "button: {} quick-reply components, but {} has {} QUICK_REPLY buttons",
            payloads.len(),
            tpl.name,
            defined.len()
        )));
    }
    Ok(defined
        .into_iter()
        .map(|(i, label)| (payloads.remove(&i).unwrap_or_else(|| label.clone()), label))
        .collect())
}
