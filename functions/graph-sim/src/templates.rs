//! Message templates as Meta's Business Management API holds them: loading definitions from
//! files, checking a definition the way Meta checks a submission, and the simulator's registry.
//!
//! The rules and their sources are listed in the README ("What the simulator enforces").

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::types::array;
use crate::validate::GraphErr;

/// Meta's status for a template that may be sent.
pub(crate) const APPROVED: &str = "APPROVED";

const CATEGORIES: &[&str] = &["UTILITY", "MARKETING", "AUTHENTICATION"];
const HEADER_FORMATS: &[&str] = &["TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"];
const BUTTON_TYPES: &[&str] = &[
    "QUICK_REPLY",
    "URL",
    "PHONE_NUMBER",
    "COPY_CODE",
    "OTP",
    "FLOW",
    "CATALOG",
    "MPM",
];
pub(crate) const BODY_MAX: usize = 1024;
pub(crate) const HEADER_TEXT_MAX: usize = 60;
const FOOTER_MAX: usize = 60;
const BUTTON_TEXT_MAX: usize = 25;
const BUTTONS_MAX: usize = 10;
const NAME_MAX: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum TemplateLoadError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// Meta would not have approved it, so the simulator does not pretend it did.
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("{path}: {name} ({language}) is defined twice")]
    Duplicate {
        path: PathBuf,
        name: String,
        language: String,
    },
}

/// Reads every `*.json` in `dir` (sorted by file name) as one template definition in Meta's
/// message-template shape (name, language, category, components). Each must pass the checks
/// Meta applies to a submission; the simulator treats them as APPROVED.
pub fn load_templates(dir: &Path) -> Result<Vec<Value>, TemplateLoadError> {
    let io = |path: &Path, source| TemplateLoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .collect();
    paths.sort();
    let mut out: Vec<Value> = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let def: Value = serde_json::from_str(&text).map_err(|source| TemplateLoadError::Json {
            path: path.clone(),
            source,
        })?;
        check_definition(&def).map_err(|e| TemplateLoadError::Invalid {
            path: path.clone(),
            reason: e.details.unwrap_or(e.title),
        })?;
        let (name, language) = (str_at(&def, "name"), str_at(&def, "language"));
        if out
            .iter()
            .any(|d| str_at(d, "name") == name && str_at(d, "language") == language)
        {
            return Err(TemplateLoadError::Duplicate {
                path,
                name: name.to_string(),
                language: language.to_string(),
            });
        }
        out.push(def);
    }
    Ok(out)
}

pub(crate) fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The component of `kind` (HEADER, BODY, FOOTER, BUTTONS), matched case-insensitively as Meta
/// accepts either case on submission.
pub(crate) fn component<'a>(components: &'a [Value], kind: &str) -> Option<&'a Value> {
    components
        .iter()
        .find(|c| str_at(c, "type").eq_ignore_ascii_case(kind))
}

/// One `{{…}}` placeholder: its number, or the raw text when it is not a positive number.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Var {
    Num(usize),
    Other(String),
}

/// The placeholders of a template text, in order of appearance.
pub(crate) fn vars(text: &str) -> Vec<Var> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        let inner = after[..close].trim();
        out.push(match inner.parse::<usize>() {
            Ok(n) if n > 0 && inner.chars().all(|c| c.is_ascii_digit()) => Var::Num(n),
            _ => Var::Other(inner.to_string()),
        });
        rest = &after[close + 2..];
    }
    out
}

/// How many parameters a text takes: its highest `{{n}}` (definitions are checked to number
/// them from 1 without gaps).
pub(crate) fn param_count(text: &str) -> usize {
    vars(text)
        .into_iter()
        .filter_map(|v| match v {
            Var::Num(n) => Some(n),
            Var::Other(_) => None,
        })
        .max()
        .unwrap_or(0)
}

/// Replaces each `{{n}}` with `values[n - 1]` (left as is when there is no such value).
pub(crate) fn hydrate(text: &str, values: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        out.push_str(&rest[..open]);
        let inner = after[..close].trim();
        match inner
            .parse::<usize>()
            .ok()
            .and_then(|n| values.get(n.wrapping_sub(1)))
        {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

fn bad(details: impl Into<String>) -> GraphErr {
    GraphErr::invalid(details)
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The variables of `text` must be `{{1}}`, `{{2}}`, … with no gaps, and each needs a sample.
fn check_variables(text: &str, what: &str, examples: usize) -> Result<usize, GraphErr> {
    let mut seen = Vec::new();
    for v in vars(text) {
        match v {
            Var::Num(n) => seen.push(n),
            Var::Other(s) => {
                return Err(bad(format!(
                    "{what}: variable {{{{{s}}}}} is not a positional parameter ({{{{1}}}}, {{{{2}}}}, …)."
                )))
            }
        }
    }
    seen.sort_unstable();
    seen.dedup();
    let n = seen.len();
    if seen.iter().enumerate().any(|(i, v)| *v != i + 1) {
        return Err(bad(format!(
            "{what}: variables must be numbered from {{{{1}}}} without gaps (found {seen:?})."
        )));
    }
    if examples != n {
        return Err(bad(format!(
            "{what}: {n} variables but {examples} sample values; add a sample for every variable."
        )));
    }
    Ok(n)
}

/// Non-empty sample strings at `pointer` (e.g. `/example/body_text/0`).
fn samples(c: &Value, pointer: &str) -> usize {
    array(c.pointer(pointer))
        .iter()
        .filter(|v| v.as_str().is_some_and(|s| !s.trim().is_empty()))
        .count()
}

/// Meta's checks on a template submission (create or edit), as code 100 errors.
pub(crate) fn check_definition(def: &Value) -> Result<(), GraphErr> {
    let name = str_at(def, "name");
    let name_ok = !name.is_empty()
        && chars(name) <= NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !name_ok {
        return Err(bad(format!(
            "Param name must match ^[a-z0-9_]{{1,{NAME_MAX}}}$ (got {name:?})."
        )));
    }
    if str_at(def, "language").trim().is_empty() {
        return Err(bad("The parameter language is required."));
    }
    let category = str_at(def, "category").to_ascii_uppercase();
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(bad(format!(
            "Param category must be one of {CATEGORIES:?} (got {:?}).",
            str_at(def, "category")
        )));
    }
    check_components(array(def.get("components")))
}

/// The component checks alone (an edit may send only `components`).
pub(crate) fn check_components(components: &[Value]) -> Result<(), GraphErr> {
    let mut kinds = Vec::new();
    for c in components {
        let kind = str_at(c, "type").to_ascii_uppercase();
        if !["HEADER", "BODY", "FOOTER", "BUTTONS"].contains(&kind.as_str()) {
            return Err(bad(format!("Unknown component type {:?}.", str_at(c, "type"))));
        }
        if kinds.contains(&kind) {
            return Err(bad(format!("A template has at most one {kind} component.")));
        }
        kinds.push(kind);
    }
    let Some(body) = component(components, "BODY") else {
        return Err(bad("The BODY component is required."));
    };
    let text = str_at(body, "text");
    if text.trim().is_empty() || chars(text) > BODY_MAX {
        return Err(bad(format!(
            "BODY text must have 1 to {BODY_MAX} characters (got {}).",
            chars(text)
        )));
    }
    let n = check_variables(text, "BODY", samples(body, "/example/body_text/0"))?;
    // Every placeholder is a number by now, so a text that opens with "{{" opens with one.
    let trimmed = text.trim();
    if n > 0 && ((trimmed.starts_with("{{") && trimmed.contains("}}")) || trimmed.ends_with("}}")) {
        return Err(bad("BODY text may not start or end with a variable."));
    }
    if let Some(header) = component(components, "HEADER") {
        check_header(header)?;
    }
    if let Some(footer) = component(components, "FOOTER") {
        let text = str_at(footer, "text");
        if text.trim().is_empty() || chars(text) > FOOTER_MAX {
            return Err(bad(format!(
                "FOOTER text must have 1 to {FOOTER_MAX} characters (got {}).",
                chars(text)
            )));
        }
        if !vars(text).is_empty() {
            return Err(bad("FOOTER text may not contain variables."));
        }
    }
    if let Some(buttons) = component(components, "BUTTONS") {
        check_buttons(array(buttons.get("buttons")))?;
    }
    Ok(())
}

fn check_header(header: &Value) -> Result<(), GraphErr> {
    let format = header
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("TEXT")
        .to_ascii_uppercase();
    if !HEADER_FORMATS.contains(&format.as_str()) {
        return Err(bad(format!("HEADER format must be one of {HEADER_FORMATS:?}.")));
    }
    match format.as_str() {
        "TEXT" => {
            let text = str_at(header, "text");
            if text.trim().is_empty() || chars(text) > HEADER_TEXT_MAX {
                return Err(bad(format!(
                    "HEADER text must have 1 to {HEADER_TEXT_MAX} characters (got {}).",
                    chars(text)
                )));
            }
            if check_variables(text, "HEADER", samples(header, "/example/header_text"))? > 1 {
                return Err(bad("HEADER text may have at most one variable."));
            }
        }
        "LOCATION" => {}
        _ => {
            if samples(header, "/example/header_handle") == 0 {
                return Err(bad(format!(
                    "A {format} HEADER needs a sample media (example.header_handle)."
                )));
            }
        }
    }
    Ok(())
}

fn check_buttons(buttons: &[Value]) -> Result<(), GraphErr> {
    if buttons.is_empty() || buttons.len() > BUTTONS_MAX {
        return Err(bad(format!(
            "BUTTONS must have 1 to {BUTTONS_MAX} buttons (got {}).",
            buttons.len()
        )));
    }
    for b in buttons {
        let kind = str_at(b, "type").to_ascii_uppercase();
        if !BUTTON_TYPES.contains(&kind.as_str()) {
            return Err(bad(format!("Unknown button type {:?}.", str_at(b, "type"))));
        }
        let text = str_at(b, "text");
        if text.trim().is_empty() || chars(text) > BUTTON_TEXT_MAX {
            return Err(bad(format!(
                "Button text must have 1 to {BUTTON_TEXT_MAX} characters (got {} in {text:?}).",
                chars(text)
            )));
        }
    }
    Ok(())
}

/// A template the simulated WABA holds.
#[derive(Clone, Debug)]
pub(crate) struct StoredTemplate {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub components: Vec<Value>,
}

impl StoredTemplate {
    /// As `GET /{waba-id}/message_templates` lists it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "components": self.components,
        })
    }

    /// The QUICK_REPLY buttons' texts by their index among all buttons.
    pub fn quick_replies(&self) -> Vec<(usize, String)> {
        let buttons = component(&self.components, "BUTTONS")
            .map(|b| array(b.get("buttons")))
            .unwrap_or(&[]);
        buttons
            .iter()
            .enumerate()
            .filter(|(_, b)| str_at(b, "type").eq_ignore_ascii_case("QUICK_REPLY"))
            .map(|(i, b)| (i, str_at(b, "text").to_string()))
            .collect()
    }
}

/// The WABA's templates. Ids are minted like Meta's (opaque digits).
#[derive(Default)]
pub(crate) struct TemplateStore {
    pub items: Vec<StoredTemplate>,
    next: u64,
}

impl TemplateStore {
    /// Adds a checked definition. The simulator approves at once: there is no review to wait for.
    pub fn add(&mut self, def: &Value) -> Result<&StoredTemplate, GraphErr> {
        check_definition(def)?;
        let (name, language) = (str_at(def, "name"), str_at(def, "language"));
        if self.find(name, language).is_some() {
            return Err(GraphErr::invalid(format!(
                "There is already {language} content for template {name}. Create a new template or edit this one."
            ))
            .with_subcode(2388024));
        }
        self.next += 1;
        self.items.push(StoredTemplate {
            id: format!("{}", 1_700_000_000_000_000u64 + self.next),
            name: name.to_string(),
            language: language.to_string(),
            category: str_at(def, "category").to_ascii_uppercase(),
            status: APPROVED.to_string(),
            components: array(def.get("components")).to_vec(),
        });
        let last = self.items.len() - 1;
        Ok(&self.items[last])
    }

    pub fn find(&self, name: &str, language: &str) -> Option<&StoredTemplate> {
        self.items
            .iter()
            .find(|t| t.name == name && t.language == language)
    }

    pub fn by_id_mut(&mut self, id: &str) -> Option<&mut StoredTemplate> {
        self.items.iter_mut().find(|t| t.id == id)
    }
}
