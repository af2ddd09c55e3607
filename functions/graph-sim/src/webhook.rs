//! Acting as WhatsApp users: building Meta-shaped notifications, signing and POSTing them.

use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::escape::{meta_json, signature};
use crate::state::{bsuid_for, ext_for, is_bsuid, new_wamid, normalize_user, InboundRecord, MediaItem};
use crate::types::{InboundMedia, SentMessage, SimError};
use crate::GraphSim;

/// Gap between the simulated sent → delivered → read statuses.
const STATUS_GAP: Duration = Duration::from_millis(5);

// The envelope is typed (not a `Value`) so keys keep Meta's order: object, entry, id, changes…
#[derive(Serialize)]
struct Envelope {
    object: &'static str,
    entry: Vec<Entry>,
}

#[derive(Serialize)]
struct Entry {
    id: String,
    changes: Vec<Change>,
}

#[derive(Serialize)]
struct Change {
    value: ChangeValue,
    field: &'static str,
}

#[derive(Serialize)]
struct ChangeValue {
    messaging_product: &'static str,
    metadata: Metadata,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contacts: Vec<Contact>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    statuses: Vec<Value>,
}

#[derive(Serialize)]
struct Metadata {
    display_phone_number: String,
    phone_number_id: String,
}

#[derive(Serialize, Clone, PartialEq)]
struct Contact {
    profile: Profile,
    #[serde(skip_serializing_if = "Option::is_none")]
    wa_id: Option<String>,
    user_id: String,
}

#[derive(Serialize, Clone, PartialEq)]
struct Profile {
    name: String,
}

/// Who a simulated message is from.
#[derive(Clone)]
pub(crate) struct Sender {
    /// Key for the window and chat: wa_id digits, or the BSUID of a username-only user.
    pub key: String,
    phone: Option<String>,
    bsuid: String,
    name: String,
}

impl Sender {
    fn contact(&self) -> Contact {
        Contact {
            profile: Profile {
                name: self.name.clone(),
            },
            wa_id: self.phone.clone(),
            user_id: self.bsuid.clone(),
        }
    }
}

fn now_ts() -> String {
    Utc::now().timestamp().to_string()
}

impl GraphSim {
    pub(crate) fn sender(&self, from: &str) -> Result<Sender, SimError> {
        let cfg = &self.inner.cfg;
        let normalized = normalize_user(from, cfg.country_code());
        if normalized.is_empty() {
            return Err(SimError::Invalid(format!(
                "not a phone number or BSUID: {from:?}"
            )));
        }
        let persona_name = cfg
            .personas
            .iter()
            .find(|p| normalize_user(&p.phone, cfg.country_code()) == normalized)
            .map(|p| p.name.clone());
        let name = persona_name.unwrap_or_else(|| "Citizen".to_string());
        if is_bsuid(&normalized) {
            // Username users arrive with a BSUID only: no `from`, no `wa_id`.
            let key = self.inner.lock().resolve(&normalized);
            return Ok(Sender {
                key,
                phone: None,
                bsuid: normalized,
                name,
            });
        }
        let bsuid = bsuid_for(&normalized);
        self.inner
            .lock()
            .bsuid_phone
            .insert(bsuid.clone(), normalized.clone());
        Ok(Sender {
            key: normalized.clone(),
            phone: Some(normalized),
            bsuid,
            name,
        })
    }

    fn webhook_url(&self) -> Result<String, SimError> {
        self.inner.lock().webhook_url.clone().ok_or(SimError::NoWebhook)
    }

    /// Fills `from`/`from_user_id`, `id` and `timestamp` when absent, and records the message as
    /// sent by the user (opening the 24-hour window) before the webhook sees it, since the app
    /// may reply while still handling the POST.
    fn stamp(&self, sender: &Sender, mut message: Value) -> Result<(String, Value), SimError> {
        let Some(obj) = message.as_object_mut() else {
            return Err(SimError::Invalid("a message must be a JSON object".into()));
        };
        match &sender.phone {
            Some(phone) => {
                obj.entry("from").or_insert_with(|| json!(phone));
            }
            None => {
                obj.remove("from");
            }
        }
        obj.entry("from_user_id").or_insert_with(|| json!(sender.bsuid));
        let wamid = obj
            .entry("id")
            .or_insert_with(|| json!(new_wamid(&sender.key)))
            .as_str()
            .unwrap_or_default()
            .to_string();
        obj.entry("timestamp").or_insert_with(|| json!(now_ts()));
        obj.entry("type").or_insert_with(|| json!("text"));

        let mut st = self.inner.lock();
        let seq = st.next_seq();
        let at = Utc::now();
        st.inbound.push(InboundRecord {
            seq,
            key: sender.key.clone(),
            wamid: wamid.clone(),
            message: message.clone(),
            at,
        });
        st.last_inbound.insert(sender.key.clone(), at);
        Ok((wamid, message))
    }

    fn envelope(&self, entries: Vec<(Vec<Contact>, Vec<Value>, Vec<Value>)>) -> Envelope {
        let cfg = &self.inner.cfg;
        Envelope {
            object: "whatsapp_business_account",
            entry: entries
                .into_iter()
                .map(|(contacts, messages, statuses)| Entry {
                    id: cfg.waba_id.clone(),
                    changes: vec![Change {
                        value: ChangeValue {
                            messaging_product: "whatsapp",
                            metadata: Metadata {
                                display_phone_number: cfg.display_phone_number.clone(),
                                phone_number_id: cfg.phone_number_id.clone(),
                            },
                            contacts,
                            messages,
                            statuses,
                        },
                        field: "messages",
                    }],
                })
                .collect(),
        }
    }

    /// POSTs exact bytes to the webhook; returns the HTTP status.
    async fn post_bytes(&self, url: &str, body: Vec<u8>, sig: Option<String>) -> Result<u16, SimError> {
        let mut req = self
            .inner
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "facebookexternalua");
        if let Some(sig) = sig {
            req = req.header("X-Hub-Signature-256", sig);
        }
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| SimError::Http(e.to_string()))?;
        Ok(resp.status().as_u16())
    }

    async fn post_envelope(&self, url: &str, envelope: &Envelope) -> Result<(), SimError> {
        self.post_signed(url, meta_json(envelope)).await
    }

    async fn post_signed(&self, url: &str, body: Vec<u8>) -> Result<(), SimError> {
        let sig = self.sign(&body);
        match self.post_bytes(url, body, Some(sig)).await? {
            200 => Ok(()),
            status => Err(SimError::Webhook(status)),
        }
    }

    /// Posts any message object from `from`; fills `from`/`id`/`timestamp` when absent.
    pub async fn send_message_json(&self, from: &str, message: Value) -> Result<String, SimError> {
        let url = self.webhook_url()?;
        let (wamid, body) = self.prepare_message(from, message)?;
        self.post_signed(&url, body).await?;
        Ok(wamid)
    }

    /// The notification `send_message_json` would post, without posting it: the message is
    /// stamped as sent by `from` now (opening the window) and its wamid and exact bytes returned.
    /// Post them with `post_raw` and `sign` as often as a test likes, as Meta redelivers one
    /// notification until it is accepted.
    pub fn prepare_message(&self, from: &str, message: Value) -> Result<(String, Vec<u8>), SimError> {
        let sender = self.sender(from)?;
        let (wamid, message) = self.stamp(&sender, message)?;
        let envelope = self.envelope(vec![(vec![sender.contact()], vec![message], vec![])]);
        Ok((wamid, meta_json(&envelope)))
    }

    /// One POST carrying all `messages`, spread over `entries` entries (each with its own
    /// changes/value/contacts), as Meta batches. Returns the wamids in input order.
    pub async fn post_batch(
        &self,
        messages: Vec<(String, Value)>,
        entries: usize,
    ) -> Result<Vec<String>, SimError> {
        let url = self.webhook_url()?;
        let entries = entries.clamp(1, messages.len().max(1));
        let per_entry = messages.len().div_ceil(entries).max(1);
        let mut wamids = Vec::new();
        let mut groups = Vec::new();
        for chunk in messages.chunks(per_entry) {
            let (mut contacts, mut stamped) = (Vec::new(), Vec::new());
            for (from, message) in chunk {
                let sender = self.sender(from)?;
                let (wamid, message) = self.stamp(&sender, message.clone())?;
                let contact = sender.contact();
                if !contacts.contains(&contact) {
                    contacts.push(contact);
                }
                wamids.push(wamid);
                stamped.push(message);
            }
            groups.push((contacts, stamped, vec![]));
        }
        let envelope = self.envelope(groups);
        self.post_envelope(&url, &envelope).await?;
        Ok(wamids)
    }

    /// Raw POST to the webhook (e.g. bad or missing signatures); returns the HTTP status.
    pub async fn post_raw(&self, body: Vec<u8>, signature: Option<String>) -> Result<u16, SimError> {
        let url = self.webhook_url()?;
        self.post_bytes(&url, body, signature).await
    }

    /// `sha256=<hex>` over `body` with the app secret, as in `X-Hub-Signature-256`.
    pub fn sign(&self, body: &[u8]) -> String {
        signature(&self.inner.cfg.app_secret, body)
    }

    fn context(&self, wamid: &str) -> Value {
        json!({ "from": self.inner.cfg.display_phone_number, "id": wamid })
    }

    pub async fn send_text(&self, from: &str, text: &str) -> Result<String, SimError> {
        self.send_message_json(from, json!({ "type": "text", "text": { "body": text } }))
            .await
    }

    pub async fn send_reply_text(
        &self,
        from: &str,
        context_wamid: &str,
        text: &str,
    ) -> Result<String, SimError> {
        let msg = json!({
            "context": self.context(context_wamid),
            "type": "text",
            "text": { "body": text },
        });
        self.send_message_json(from, msg).await
    }

    /// Stores the bytes as a media id (downloadable through the Graph routes) and posts the
    /// media message.
    pub async fn send_media(&self, from: &str, m: InboundMedia) -> Result<String, SimError> {
        let msg = self.media_message(m)?;
        self.send_message_json(from, msg).await
    }

    /// `prepare_message` for media: the bytes are stored as a media id, the notification returned.
    pub fn prepare_media(&self, from: &str, m: InboundMedia) -> Result<(String, Vec<u8>), SimError> {
        let msg = self.media_message(m)?;
        self.prepare_message(from, msg)
    }

    /// Stores the media and builds its message object.
    fn media_message(&self, m: InboundMedia) -> Result<Value, SimError> {
        const KINDS: &[&str] = &["image", "video", "audio", "document", "sticker"];
        if !KINDS.contains(&m.kind.as_str()) {
            return Err(SimError::Invalid(format!("unknown media kind {:?}", m.kind)));
        }
        let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&m.bytes));
        let (id, base) = {
            let mut st = self.inner.lock();
            let id = st.store_media(MediaItem {
                bytes: m.bytes,
                mime_type: m.mime_type.clone(),
                filename: m.filename.clone(),
            });
            (id, st.base_url.clone())
        };
        let mut media = Map::new();
        media.insert("id".into(), json!(id));
        media.insert("mime_type".into(), json!(m.mime_type));
        media.insert("sha256".into(), json!(sha));
        if let Some(caption) = &m.caption {
            media.insert("caption".into(), json!(caption));
        }
        if let Some(filename) = &m.filename {
            media.insert("filename".into(), json!(filename));
        }
        match m.kind.as_str() {
            "audio" => {
                media.insert("voice".into(), json!(m.voice));
            }
            "sticker" => {
                media.insert("animated".into(), json!(false));
            }
            _ => {}
        }
        if let (true, Some(base)) = (m.include_url, base) {
            let url = format!("{base}/graph/media-download/{id}?ext={}", ext_for(&m.mime_type));
            media.insert("url".into(), json!(url));
        }
        let mut msg = Map::new();
        msg.insert("type".into(), json!(m.kind));
        msg.insert(m.kind.clone(), Value::Object(media));
        let mut msg = Value::Object(msg);
        if let Some(ctx) = &m.context_wamid {
            msg["context"] = self.context(ctx);
        }
        Ok(msg)
    }

    pub async fn send_location(
        &self,
        from: &str,
        lat: f64,
        lon: f64,
        name: Option<&str>,
        address: Option<&str>,
    ) -> Result<String, SimError> {
        let mut loc = json!({ "latitude": lat, "longitude": lon });
        if let Some(name) = name {
            loc["name"] = json!(name);
        }
        if let Some(address) = address {
            loc["address"] = json!(address);
        }
        self.send_message_json(from, json!({ "type": "location", "location": loc }))
            .await
    }

    pub async fn send_contact(&self, from: &str, name: &str, phone: &str) -> Result<String, SimError> {
        let first = name.split_whitespace().next().unwrap_or(name);
        let wa_id = normalize_user(phone, self.inner.cfg.country_code());
        let card = json!({
            "name": { "formatted_name": name, "first_name": first },
            "phones": [{ "phone": phone, "wa_id": wa_id, "type": "CELL" }],
        });
        self.send_message_json(from, json!({ "type": "contacts", "contacts": [card] }))
            .await
    }

    pub async fn send_reaction(
        &self,
        from: &str,
        message_wamid: &str,
        emoji: &str,
    ) -> Result<String, SimError> {
        let msg = json!({
            "type": "reaction",
            "reaction": { "message_id": message_wamid, "emoji": emoji },
        });
        self.send_message_json(from, msg).await
    }

    /// A tap on one of the business's reply buttons (`interactive.button_reply`).
    pub async fn tap_button(
        &self,
        from: &str,
        context_wamid: &str,
        id: &str,
        title: &str,
    ) -> Result<String, SimError> {
        let msg = json!({
            "context": self.context(context_wamid),
            "type": "interactive",
            "interactive": { "type": "button_reply", "button_reply": { "id": id, "title": title } },
        });
        self.send_message_json(from, msg).await
    }

    /// A choice from the business's list message (`interactive.list_reply`).
    pub async fn choose_list_row(
        &self,
        from: &str,
        context_wamid: &str,
        id: &str,
        title: &str,
    ) -> Result<String, SimError> {
        let msg = json!({
            "context": self.context(context_wamid),
            "type": "interactive",
            "interactive": { "type": "list_reply", "list_reply": { "id": id, "title": title } },
        });
        self.send_message_json(from, msg).await
    }

    /// A tap on a template quick-reply button (`type: "button"`).
    pub async fn tap_template_button(
        &self,
        from: &str,
        context_wamid: &str,
        payload: &str,
        text: &str,
    ) -> Result<String, SimError> {
        let msg = json!({
            "context": self.context(context_wamid),
            "type": "button",
            "button": { "payload": payload, "text": text },
        });
        self.send_message_json(from, msg).await
    }

    /// Something WhatsApp cannot relay (poll, edit…): `type: "unsupported"` with error 131051.
    pub async fn send_unsupported(&self, from: &str, kind: &str) -> Result<String, SimError> {
        let msg = json!({
            "type": "unsupported",
            "unsupported": { "type": kind },
            "errors": [{
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": { "details": "Message type is currently not supported." },
            }],
        });
        self.send_message_json(from, msg).await
    }

    /// After an accepted send, posts signed `sent`, `delivered`, `read` statuses a few ms apart.
    pub(crate) fn spawn_statuses(&self, msg: &SentMessage) {
        let url = match (
            self.inner.cfg.send_statuses,
            self.inner.lock().webhook_url.clone(),
        ) {
            (true, Some(url)) => url,
            _ => return,
        };
        let sim = self.clone();
        let msg = msg.clone();
        tokio::spawn(async move {
            for status in ["sent", "delivered", "read"] {
                tokio::time::sleep(STATUS_GAP).await;
                let (contacts, statuses) = sim.status_parts(&msg, status);
                let envelope = sim.envelope(vec![(contacts, vec![], statuses)]);
                if let Err(e) = sim.post_envelope(&url, &envelope).await {
                    // Meta would retry; the simulator only reports it.
                    // No wamid in the line: it holds the recipient's number.
                    tracing::warn!(status, error = %e, "status webhook not accepted");
                }
            }
        });
    }

    fn status_parts(&self, msg: &SentMessage, status: &str) -> (Vec<Contact>, Vec<Value>) {
        let template = msg.kind == "template";
        let mut s = json!({
            "id": msg.wamid,
            "status": status,
            "timestamp": now_ts(),
        });
        let (phone, bsuid) = if is_bsuid(&msg.to) {
            (None, msg.to.clone())
        } else {
            (Some(msg.to.clone()), bsuid_for(&msg.to))
        };
        if let Some(phone) = &phone {
            s["recipient_id"] = json!(phone);
        }
        s["recipient_user_id"] = json!(bsuid);
        if let Some(data) = msg.request.get("biz_opaque_callback_data") {
            s["biz_opaque_callback_data"] = data.clone();
        }
        if status == "sent" {
            s["pricing"] = json!({
                "billable": template,
                "pricing_model": "PMP",
                "type": if template { "regular" } else { "free_customer_service" },
                "category": if template { "utility" } else { "service" },
            });
        }
        let name = self
            .inner
            .cfg
            .personas
            .iter()
            .find(|p| normalize_user(&p.phone, self.inner.cfg.country_code()) == msg.to)
            .map_or_else(|| "Citizen".to_string(), |p| p.name.clone());
        let contact = Contact {
            profile: Profile { name },
            wa_id: phone,
            user_id: bsuid,
        };
        (vec![contact], vec![s])
    }
}
