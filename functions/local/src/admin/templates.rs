//! `templates push` and `templates check`: the WhatsApp templates in `config/templates` against
//! the WABA's message templates at Meta (Business Management API, `/{waba-id}/message_templates`).
//!
//! Definitions are compared on what WhatsApp shows and Meta reviews: each component's type,
//! format, text and buttons. Samples (`example`) are left out: Meta answers a media sample with a
//! URL of its own instead of the handle that was submitted, so they would always differ.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// The Graph API as the environment names it (the same variables as the runner's).
pub struct Graph {
    http: reqwest::Client,
    base: String,
    version: String,
    token: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Graph {
    pub fn from_env() -> anyhow::Result<Self> {
        let token = var("WHATSAPP_ACCESS_TOKEN").context("WHATSAPP_ACCESS_TOKEN is required")?;
        let base = var("WHATSAPP_API_BASE_URL").unwrap_or_else(|| "https://graph.facebook.com".into());
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .context("building the HTTP client")?,
            base: base.trim_end_matches('/').to_string(),
            version: var("WHATSAPP_API_VERSION").unwrap_or_else(|| "v25.0".into()),
            token,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.base, self.version)
    }

    /// Sends a request and reads the Graph answer; a Graph error names its code and details.
    async fn call(&self, req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("{what}: request failed"))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let e = &body["error"];
        bail!(
            "{what}: HTTP {} code {} {} {}",
            status.as_u16(),
            e["code"],
            e["message"].as_str().unwrap_or(""),
            e.pointer("/error_data/details")
                .or_else(|| e.get("error_user_msg"))
                .and_then(Value::as_str)
                .unwrap_or("")
        )
    }

    /// Every template of the WABA, following `paging.next`.
    async fn list(&self, waba: &str) -> anyhow::Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut next = Some(format!(
            "{}?limit=100",
            self.url(&format!("{waba}/message_templates"))
        ));
        while let Some(url) = next.take() {
            let page = self.call(self.http.get(&url), "listing the templates").await?;
            out.extend(page["data"].as_array().cloned().unwrap_or_default());
            next = page
                .pointer("/paging/next")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        Ok(out)
    }
}

/// The local definitions, `*.json` in `dir` by file name.
fn local_templates(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Value)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("no *.json templates in {}", dir.display());
    }
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            let v: Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", p.display()))?;
            if v["name"].as_str().is_none() || v["language"].as_str().is_none() {
                bail!("{}: a template needs a name and a language", p.display());
            }
            Ok((p, v))
        })
        .collect()
}

fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// One component as compared: type, format, text and buttons, upper-cased where Meta is
/// case-insensitive; a HEADER without a format is TEXT.
fn normalized(c: &Value) -> Value {
    let kind = s(c, "type").to_ascii_uppercase();
    let format = match c.get("format").and_then(Value::as_str) {
        Some(f) => f.to_ascii_uppercase(),
        None if kind == "HEADER" => "TEXT".into(),
        None => String::new(),
    };
    let buttons: Vec<Value> = c["buttons"]
        .as_array()
        .map(|bs| {
            bs.iter()
                .map(|b| {
                    json!({"type": s(b, "type").to_ascii_uppercase(), "text": s(b, "text"),
                        "url": s(b, "url"), "phone_number": s(b, "phone_number")})
                })
                .collect()
        })
        .unwrap_or_default();
    json!({ "type": kind, "format": format, "text": s(c, "text"), "buttons": buttons })
}

/// The components that differ, by type, each with both sides.
fn differences(local: &Value, remote: &Value) -> Vec<String> {
    let norm = |v: &Value| -> Vec<Value> {
        v["components"]
            .as_array()
            .map(|cs| cs.iter().map(normalized).collect())
            .unwrap_or_default()
    };
    let (here, there) = (norm(local), norm(remote));
    let mut kinds: Vec<String> = Vec::new();
    for kind in here.iter().chain(&there).map(|c| s(c, "type")) {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    let mut out = Vec::new();
    for kind in kinds {
        let find = |cs: &[Value]| cs.iter().find(|c| s(c, "type") == kind).cloned();
        let (a, b) = (find(&here), find(&there));
        if a != b {
            let show = |c: Option<Value>| c.map_or("(none)".to_string(), |c| c.to_string());
            out.push(format!(
                "component {kind} differs: here {} — at Meta {}",
                show(a),
                show(b)
            ));
        }
    }
    out
}

fn find<'a>(remote: &'a [Value], name: &str, language: &str) -> Option<&'a Value> {
    remote
        .iter()
        .find(|t| s(t, "name") == name && s(t, "language") == language)
}

/// Creates what is missing at Meta and edits what differs; one line per template.
pub async fn push(graph: &Graph, waba: &str, dir: &Path) -> anyhow::Result<()> {
    let local = local_templates(dir)?;
    let remote = graph.list(waba).await?;
    let (mut created, mut updated) = (0, 0);
    for (path, def) in &local {
        let (name, language) = (s(def, "name"), s(def, "language"));
        let label = format!("{name} ({language})");
        match find(&remote, &name, &language) {
            None => {
                let url = graph.url(&format!("{waba}/message_templates"));
                let what = format!("creating {label} from {}", path.display());
                let v = graph.call(graph.http.post(url).json(def), &what).await?;
                println!("created    {label}: {}", s(&v, "status"));
                created += 1;
            }
            Some(t) if !differences(def, t).is_empty() => {
                let id = s(t, "id");
                let what = format!("updating {label} ({id})");
                let body = json!({ "components": def["components"] });
                graph
                    .call(graph.http.post(graph.url(&id)).json(&body), &what)
                    .await?;
                // Meta reviews an edit again; its status now is what the line reports.
                let now = graph.call(graph.http.get(graph.url(&id)), &what).await?;
                println!("updated    {label}: {}", s(&now, "status"));
                updated += 1;
            }
            Some(t) => println!("unchanged  {label}: {}", s(t, "status")),
        }
    }
    eprintln!(
        "{} templates: {created} created, {updated} updated, {} unchanged",
        local.len(),
        local.len() - created - updated
    );
    Ok(())
}

/// Lists every difference between the files and Meta; an error (non-zero exit) if there is any.
pub async fn check(graph: &Graph, waba: &str, dir: &Path) -> anyhow::Result<()> {
    let local = local_templates(dir)?;
    let remote = graph.list(waba).await?;
    let mut problems = 0;
    for (_, def) in &local {
        let (name, language) = (s(def, "name"), s(def, "language"));
        let label = format!("{name} ({language})");
        let Some(t) = find(&remote, &name, &language) else {
            println!("{label}: missing at Meta");
            problems += 1;
            continue;
        };
        let mut lines = Vec::new();
        if s(t, "status") != "APPROVED" {
            lines.push(format!("status {} at Meta, not APPROVED", s(t, "status")));
        }
        // Meta may approve a UTILITY submission as MARKETING, which changes what it costs.
        if !s(t, "category").eq_ignore_ascii_case(&s(def, "category")) {
            lines.push(format!(
                "category {} at Meta, {} here",
                s(t, "category"),
                s(def, "category")
            ));
        }
        lines.extend(differences(def, t));
        for line in &lines {
            println!("{label}: {line}");
        }
        problems += lines.len();
    }
    if problems > 0 {
        bail!(
            "{problems} difference(s) between {} and Meta; run `shikayat-admin templates push`",
            dir.display()
        );
    }
    eprintln!(
        "all {} templates are at Meta as in {}, APPROVED",
        local.len(),
        dir.display()
    );
    Ok(())
}
