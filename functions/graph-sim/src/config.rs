//! Simulator configuration: the business identity it pretends to be and how strict it is.

use std::time::Duration;

/// A WhatsApp user the sandbox page offers as a one-click identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Persona {
    /// wa_id digits (e.g. "919812345678") or a BSUID ("IN.…").
    pub phone: String,
    /// WhatsApp profile name sent in `contacts[].profile.name`.
    pub name: String,
    /// What the sandbox shows, e.g. "Officer — Water (Jal Nigam)".
    pub label: String,
}

impl Persona {
    pub fn new(phone: impl Into<String>, name: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            phone: phone.into(),
            name: name.into(),
            label: label.into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub app_secret: String,
    pub access_token: String,
    pub phone_number_id: String,
    /// Business number, digits only ("916391363636"). Its leading digits before the last ten are
    /// the country code Meta prepends to a `to` without `+`.
    pub display_phone_number: String,
    pub waba_id: String,
    /// Where notifications are POSTed, e.g. `http://127.0.0.1:8080/webhook`.
    pub webhook_url: Option<String>,
    /// Free-form sends outside the 24-hour customer-service window fail with 131047.
    pub enforce_window: bool,
    /// After accepting a send, POST signed `sent`, `delivered`, `read` statuses.
    pub send_statuses: bool,
    /// If set, a second send to the same user sooner than this fails with 131056.
    pub pair_min_interval: Option<Duration>,
    pub personas: Vec<Persona>,
    /// Message-template definitions in Meta's shape (see `load_templates`), APPROVED from the
    /// start. Template sends are checked against them; with none, every template send fails
    /// with 132001 as on a WABA that has no templates.
    pub templates: Vec<serde_json::Value>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            app_secret: "sandbox-app-secret-not-for-real-use".into(),
            access_token: "sandbox-access-token".into(),
            phone_number_id: "100000000000001".into(),
            display_phone_number: "916391363636".into(),
            waba_id: "200000000000001".into(),
            webhook_url: None,
            enforce_window: true,
            send_statuses: true,
            pair_min_interval: None,
            personas: Vec::new(),
            templates: Vec::new(),
        }
    }
}

impl SimConfig {
    /// Country code of the business number ("91" for "916391363636"); Meta prepends it to a
    /// `to` given without `+`.
    pub(crate) fn country_code(&self) -> &str {
        let n = &self.display_phone_number;
        if n.len() > 10 && n.is_ascii() {
            &n[..n.len() - 10]
        } else {
            ""
        }
    }
}
