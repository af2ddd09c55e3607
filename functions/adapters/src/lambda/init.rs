//! What a Lambda container builds once, outside the handler: the WhatsApp settings (secrets
//! from Secrets Manager, read once), the district configuration and the ports.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use shikayat_core::config::DistrictConfig;
use shikayat_core::ports::{Ports, Settings, SystemClock};
use thiserror::Error;

use crate::aws::{ports_parts, AwsClients, AwsNames, DynamoStore, SqsQueue};

/// Why a container could not start; the runtime reports it as an init error.
#[derive(Debug, Error)]
pub enum LambdaInitError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name}={value:?}: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
    #[error("reading the WhatsApp secret: {0}")]
    Secret(String),
    #[error("district configuration: {0}")]
    DistrictConfig(String),
    #[error("AWS: {0}")]
    Aws(String),
    #[error("WhatsApp client: {0}")]
    WhatsApp(String),
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub(super) fn number<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, LambdaInitError> {
    match var(name) {
        Some(v) => v.trim().parse().map_err(|_| LambdaInitError::Invalid {
            name,
            value: v,
            why: "not a number".into(),
        }),
        None => Ok(default),
    }
}

/// The AWS SDK configuration (region, credentials, `AWS_ENDPOINT_URL`), loaded once.
pub async fn sdk_config_from_env() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The WhatsApp Cloud API settings (DESIGN §6). Secrets come from the environment, or from one
/// Secrets Manager secret named by `WHATSAPP_SECRET_ARN` (or `WHATSAPP_SECRET_NAME`) holding
/// `{"access_token","app_secret","verify_token","phone_number_id"?}`.
#[derive(Clone, Default)]
pub struct WhatsAppEnv {
    pub base_url: String,
    pub version: String,
    pub phone_number_id: Option<String>,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
}

impl fmt::Debug for WhatsAppEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("WhatsAppEnv")
            .field("base_url", &self.base_url)
            .field("version", &self.version)
            .field("phone_number_id", &self.phone_number_id)
            .field("access_token", &set(&self.access_token))
            .field("app_secret", &set(&self.app_secret))
            .field("verify_token", &set(&self.verify_token))
            .finish()
    }
}

#[derive(Deserialize)]
struct SecretJson {
    access_token: Option<String>,
    app_secret: Option<String>,
    verify_token: Option<String>,
    phone_number_id: Option<String>,
}

impl WhatsAppEnv {
    /// Reads the environment; when a secret is named, reads it once with `secrets` (or a client
    /// of its own when None).
    pub async fn from_env(secrets: Option<&aws_sdk_secretsmanager::Client>) -> Result<Self, LambdaInitError> {
        let mut w = WhatsAppEnv {
            base_url: var("WHATSAPP_API_BASE_URL")
                .unwrap_or_else(|| "https://graph.facebook.com".into())
                .trim_end_matches('/')
                .to_string(),
            version: var("WHATSAPP_API_VERSION").unwrap_or_else(|| "v25.0".into()),
            phone_number_id: var("WHATSAPP_PHONE_NUMBER_ID"),
            access_token: var("WHATSAPP_ACCESS_TOKEN"),
            app_secret: var("WHATSAPP_APP_SECRET"),
            verify_token: var("WHATSAPP_VERIFY_TOKEN"),
        };
        if let Some(id) = var("WHATSAPP_SECRET_ARN").or_else(|| var("WHATSAPP_SECRET_NAME")) {
            let loaded;
            let client = match secrets {
                Some(c) => c,
                None => {
                    loaded = aws_sdk_secretsmanager::Client::new(&sdk_config_from_env().await);
                    &loaded
                }
            };
            let s = read_secret(client, &id).await?;
            w.apply_secret(&s)?;
        }
        Ok(w)
    }

    /// The secret's values win over the environment's; the phone number id is not secret, so
    /// the environment's wins when both are set.
    fn apply_secret(&mut self, json: &str) -> Result<(), LambdaInitError> {
        let s: SecretJson = serde_json::from_str(json)
            .map_err(|e| LambdaInitError::Secret(format!("not the expected JSON object: {e}")))?;
        let keep = |new: Option<String>, old: &mut Option<String>| {
            if let Some(v) = new.filter(|v| !v.trim().is_empty()) {
                *old = Some(v);
            }
        };
        keep(s.access_token, &mut self.access_token);
        keep(s.app_secret, &mut self.app_secret);
        keep(s.verify_token, &mut self.verify_token);
        if self.phone_number_id.is_none() {
            keep(s.phone_number_id, &mut self.phone_number_id);
        }
        Ok(())
    }

    pub fn require(v: &Option<String>, name: &'static str) -> Result<String, LambdaInitError> {
        v.clone().ok_or(LambdaInitError::Missing(name))
    }

    /// What the webhook needs: the app secret and the verify token.
    pub fn webhook(&self) -> Result<(String, String), LambdaInitError> {
        Ok((
            Self::require(&self.app_secret, "WHATSAPP_APP_SECRET")?,
            Self::require(&self.verify_token, "WHATSAPP_VERIFY_TOKEN")?,
        ))
    }

    /// The Cloud API client the consumers send with.
    pub fn cloud_api(&self) -> Result<crate::whatsapp::CloudApi, LambdaInitError> {
        crate::whatsapp::CloudApi::new(crate::whatsapp::CloudApiConfig {
            base_url: self.base_url.clone(),
            version: self.version.clone(),
            phone_number_id: Self::require(&self.phone_number_id, "WHATSAPP_PHONE_NUMBER_ID")?,
            access_token: Self::require(&self.access_token, "WHATSAPP_ACCESS_TOKEN")?,
            timeout: std::time::Duration::from_secs(number("WHATSAPP_TIMEOUT_SECONDS", 20)?),
        })
        .map_err(LambdaInitError::WhatsApp)
    }
}

async fn read_secret(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<String, LambdaInitError> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            LambdaInitError::Secret(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
        })?;
    out.secret_string()
        .map(str::to_string)
        .ok_or_else(|| LambdaInitError::Secret("the secret has no string value".into()))
}

/// What the webhook stands on: its two secrets and the inbound queue. No DynamoDB or S3 work
/// at init; resolving the queue URLs also opens the TLS connection the first POST will use.
pub struct WebhookParts {
    pub app_secret: String,
    pub verify_token: String,
    pub queue: Arc<SqsQueue>,
}

pub async fn webhook_from_env() -> Result<WebhookParts, LambdaInitError> {
    let sdk = sdk_config_from_env().await;
    let clients = AwsClients::from_conf(&sdk);
    let (app_secret, verify_token) = WhatsAppEnv::from_env(Some(&clients.secrets)).await?.webhook()?;
    let queue = SqsQueue::new(&clients, &AwsNames::from_env())
        .await
        .map_err(|e| LambdaInitError::Aws(e.to_string()))?;
    Ok(WebhookParts {
        app_secret,
        verify_token,
        queue: Arc::new(queue),
    })
}

/// Everything the router, officer-relay, notifier and escalator need, built once per container:
/// the AWS adapters (queue URLs resolved, connections warmed by the first reads), the WhatsApp
/// client, the district configuration and the tunables (`SHIKAYAT_SETTLE_SECONDS`,
/// `SHIKAYAT_PAIR_INTERVAL_MS`, `SHIKAYAT_PAIR_BURST`).
pub async fn ports_from_env() -> Result<Ports, LambdaInitError> {
    let sdk = sdk_config_from_env().await;
    let clients = AwsClients::from_conf(&sdk);
    let names = AwsNames::from_env();
    let parts = ports_parts(&clients, &names)
        .await
        .map_err(|e| LambdaInitError::Aws(e.to_string()))?;
    let whatsapp = WhatsAppEnv::from_env(Some(&clients.secrets)).await?.cloud_api()?;
    let config = district_config(&parts.store).await?;
    let settings = Settings {
        settle_seconds: number("SHIKAYAT_SETTLE_SECONDS", 120)?,
        pair_interval: std::time::Duration::from_millis(number("SHIKAYAT_PAIR_INTERVAL_MS", 6000)?),
        pair_burst: number("SHIKAYAT_PAIR_BURST", 5)?,
    };
    tracing::info!(
        district = %config.district.code,
        prefix = names.prefix(),
        settle_seconds = settings.settle_seconds,
        "ports ready"
    );
    Ok(Ports {
        config: Arc::new(config),
        settings,
        complaints: parts.store.clone(),
        messages: parts.store.clone(),
        conversations: parts.store.clone(),
        directory: parts.store,
        media: parts.media,
        queue: parts.queue,
        whatsapp: Arc::new(whatsapp),
        clock: Arc::new(SystemClock),
    })
}

/// The district configuration an administrator loaded into the settings table, else the file
/// named by `SHIKAYAT_DISTRICT_CONFIG`. A failed read is an init error, not a silent fallback.
async fn district_config(store: &DynamoStore) -> Result<DistrictConfig, LambdaInitError> {
    let stored = store
        .district_config()
        .await
        .map_err(|e| LambdaInitError::Aws(format!("reading the district config: {e}")))?;
    let (text, source) = match stored {
        Some(t) => (t, "the settings table".to_string()),
        None => {
            let path = var("SHIKAYAT_DISTRICT_CONFIG").ok_or_else(|| {
                LambdaInitError::DistrictConfig(
                    "none in the settings table and SHIKAYAT_DISTRICT_CONFIG is unset".into(),
                )
            })?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| LambdaInitError::DistrictConfig(format!("{path}: {e}")))?;
            (text, path)
        }
    };
    DistrictConfig::from_toml(&text).map_err(|e| LambdaInitError::DistrictConfig(format!("{source}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_win_but_not_over_the_phone_number_id() {
        let mut w = WhatsAppEnv {
            phone_number_id: Some("111".into()),
            access_token: Some("env-token".into()),
            ..WhatsAppEnv::default()
        };
        w.apply_secret(
            r#"{"access_token":"s-token","app_secret":"s-app","verify_token":"s-verify","phone_number_id":"222"}"#,
        )
        .expect("valid secret");
        assert_eq!(w.access_token.as_deref(), Some("s-token"));
        assert_eq!(
            w.webhook().expect("both set"),
            ("s-app".into(), "s-verify".into())
        );
        assert_eq!(w.phone_number_id.as_deref(), Some("111"));
        assert!(!format!("{w:?}").contains("s-token"), "Debug hides secrets");
        assert!(w.apply_secret("not json").is_err());
    }
}
