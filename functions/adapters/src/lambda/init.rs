//! What a Lambda container builds once, outside the handler: the WhatsApp settings (secrets
//! from SSM SecureString parameters, read once), the district configuration and the ports.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use shikayat_core::config::DistrictConfig;
use shikayat_core::ports::{Ports, Settings, SystemClock};
use shikayat_core::pseudonym::KeyedHash;
use shikayat_core::secret::{self, SecretError, APP_SECRET_MIN, VERIFY_TOKEN_MIN};
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
    /// A placeholder or short secret: the container refuses to start on it.
    #[error("refusing to start: {0}")]
    WeakSecret(#[from] SecretError),
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

/// The WhatsApp Cloud API settings (DESIGN §6). Secrets come from the environment, or from SSM
/// SecureString parameters named by `WHATSAPP_SECRET_PARAMETER` and
/// `WHATSAPP_WEBHOOK_SECRET_PARAMETER`, each a JSON object with any of
/// `{"access_token","app_secret","verify_token","id_key","phone_number_id"}`. `id_key` (or
/// `SHIKAYAT_ID_KEY`) keys the hash that stands in for phone numbers and wamids in keys and logs.
#[derive(Clone, Default)]
pub struct WhatsAppEnv {
    pub base_url: String,
    pub version: String,
    pub phone_number_id: Option<String>,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub id_key: Option<String>,
}

/// Where each secret is set, for the error that refuses a placeholder or short value.
const HOW_APP_SECRET: &str = "put the Meta app's secret (App settings > Basic) in the app_secret field of the webhook parameter (WHATSAPP_WEBHOOK_SECRET_PARAMETER, README Deploy step 2), or in WHATSAPP_APP_SECRET";
const HOW_VERIFY_TOKEN: &str = "put a random value of 16 or more characters in the verify_token field of the webhook parameter (WHATSAPP_WEBHOOK_SECRET_PARAMETER), or in WHATSAPP_VERIFY_TOKEN, and the same in Meta's webhook settings";
const HOW_ACCESS_TOKEN: &str = "put a system user's access token in the access_token field of the access parameter (WHATSAPP_SECRET_PARAMETER, README Deploy step 2), or in WHATSAPP_ACCESS_TOKEN";
const HOW_ID_KEY: &str = "put a random value of 32 or more characters in the id_key field of the webhook parameter (WHATSAPP_WEBHOOK_SECRET_PARAMETER), or in SHIKAYAT_ID_KEY; keep it: changing it changes every id derived from it";

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
            .field("id_key", &set(&self.id_key))
            .finish()
    }
}

#[derive(Deserialize)]
struct SecretJson {
    access_token: Option<String>,
    app_secret: Option<String>,
    verify_token: Option<String>,
    id_key: Option<String>,
    phone_number_id: Option<String>,
}

impl WhatsAppEnv {
    /// Reads the environment; when a secret parameter is named, reads it once with `ssm` (or a
    /// client of its own when None).
    pub async fn from_env(ssm: Option<&aws_sdk_ssm::Client>) -> Result<Self, LambdaInitError> {
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
            id_key: var("SHIKAYAT_ID_KEY"),
        };
        let named: Vec<String> = [
            var("WHATSAPP_SECRET_PARAMETER"),
            var("WHATSAPP_WEBHOOK_SECRET_PARAMETER"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !named.is_empty() {
            let loaded;
            let client = match ssm {
                Some(c) => c,
                None => {
                    loaded = aws_sdk_ssm::Client::new(&sdk_config_from_env().await);
                    &loaded
                }
            };
            w.apply_parameters(client, &named).await?;
        }
        Ok(w)
    }

    /// Two parameters, so the webhook never holds the access token: the access parameter
    /// (`access_token`; the senders only) and the webhook parameter (`app_secret`,
    /// `verify_token`, `id_key`; everyone). Read in the order given; one parameter holding all
    /// four fields works too.
    pub async fn apply_parameters(
        &mut self,
        ssm: &aws_sdk_ssm::Client,
        names: &[String],
    ) -> Result<(), LambdaInitError> {
        for name in names {
            let s = read_parameter(ssm, name).await?;
            self.apply_secret(&s)?;
        }
        Ok(())
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
        keep(s.id_key, &mut self.id_key);
        if self.phone_number_id.is_none() {
            keep(s.phone_number_id, &mut self.phone_number_id);
        }
        Ok(())
    }

    pub fn require(v: &Option<String>, name: &'static str) -> Result<String, LambdaInitError> {
        v.clone().ok_or(LambdaInitError::Missing(name))
    }

    /// What the webhook needs: the app secret, the verify token, the business number and the
    /// keyed hash, each secret checked (`secret::check`): a placeholder or short one is an init
    /// error, so a stack whose secret still says `set-me` takes no traffic at all.
    pub fn webhook(&self) -> Result<WebhookSecrets, LambdaInitError> {
        let app_secret = Self::require(&self.app_secret, "WHATSAPP_APP_SECRET")?;
        secret::check("app_secret", &app_secret, APP_SECRET_MIN, HOW_APP_SECRET)?;
        let verify_token = Self::require(&self.verify_token, "WHATSAPP_VERIFY_TOKEN")?;
        secret::check("verify_token", &verify_token, VERIFY_TOKEN_MIN, HOW_VERIFY_TOKEN)?;
        Ok(WebhookSecrets {
            app_secret,
            verify_token,
            phone_number_id: Self::require(&self.phone_number_id, "WHATSAPP_PHONE_NUMBER_ID")?,
            ids: self.keyed_hash()?,
        })
    }

    /// The keyed hash from `id_key`; required, and checked like any secret.
    pub fn keyed_hash(&self) -> Result<KeyedHash, LambdaInitError> {
        let key = self.id_key.clone().unwrap_or_default();
        Ok(KeyedHash::new(&key, "id_key", HOW_ID_KEY)?)
    }

    /// The consumers send, so their access token must not be the template's placeholder; the
    /// webhook's secrets, when this container has them, must pass the same rule as there.
    pub fn check_for_consumers(&self) -> Result<(), LambdaInitError> {
        let token = Self::require(&self.access_token, "WHATSAPP_ACCESS_TOKEN")?;
        secret::check("access_token", &token, 1, HOW_ACCESS_TOKEN)?;
        if let Some(v) = &self.app_secret {
            secret::check("app_secret", v, APP_SECRET_MIN, HOW_APP_SECRET)?;
        }
        if let Some(v) = &self.verify_token {
            secret::check("verify_token", v, VERIFY_TOKEN_MIN, HOW_VERIFY_TOKEN)?;
        }
        Ok(())
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

/// One SecureString parameter's value, decrypted (the AWS managed key `aws/ssm`).
async fn read_parameter(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<String, LambdaInitError> {
    let out = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            let missing = e.as_service_error().is_some_and(|e| e.is_parameter_not_found());
            if missing {
                LambdaInitError::Secret(format!(
                    "parameter {name} does not exist: create it as a SecureString (README, Deploy step 2)"
                ))
            } else {
                LambdaInitError::Secret(format!(
                    "parameter {name}: {}",
                    aws_sdk_ssm::error::DisplayErrorContext(e)
                ))
            }
        })?;
    out.parameter
        .and_then(|p| p.value)
        .ok_or_else(|| LambdaInitError::Secret(format!("parameter {name} has no value")))
}

/// The webhook's settings from the environment and the secret, checked.
pub struct WebhookSecrets {
    pub app_secret: String,
    pub verify_token: String,
    pub phone_number_id: String,
    pub ids: KeyedHash,
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("phone_number_id", &self.phone_number_id)
            .finish_non_exhaustive()
    }
}

/// What the webhook stands on: its secrets and the inbound queue. No DynamoDB or S3 work
/// at init; resolving the queue URLs also opens the TLS connection the first POST will use.
pub struct WebhookParts {
    pub secrets: WebhookSecrets,
    pub queue: Arc<SqsQueue>,
}

pub async fn webhook_from_env() -> Result<WebhookParts, LambdaInitError> {
    let sdk = sdk_config_from_env().await;
    let clients = AwsClients::from_conf(&sdk);
    let secrets = WhatsAppEnv::from_env(Some(&clients.ssm)).await?.webhook()?;
    let queue = SqsQueue::new(&clients, &AwsNames::from_env())
        .await
        .map_err(|e| LambdaInitError::Aws(e.to_string()))?;
    Ok(WebhookParts {
        secrets,
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
    let env = WhatsAppEnv::from_env(Some(&clients.ssm)).await?;
    env.check_for_consumers()?;
    let ids = env.keyed_hash()?;
    let whatsapp = env.cloud_api()?;
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
        complaints: crate::state_log::StateLog::wrap(parts.store.clone()),
        messages: parts.store.clone(),
        conversations: parts.store.clone(),
        directory: parts.store,
        media: parts.media,
        queue: parts.queue,
        whatsapp: Arc::new(whatsapp),
        clock: Arc::new(SystemClock),
        ids,
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

    const APP: &str = "0123456789abcdef0123456789abcdef";
    const VERIFY: &str = "verify-0123456789";
    const KEY: &str = "key-0123456789abcdef0123456789abcdef";

    #[test]
    fn secret_values_win_but_not_over_the_phone_number_id() {
        let mut w = WhatsAppEnv {
            phone_number_id: Some("111".into()),
            access_token: Some("env-token".into()),
            ..WhatsAppEnv::default()
        };
        w.apply_secret(&format!(
            r#"{{"access_token":"s-token","app_secret":"{APP}","verify_token":"{VERIFY}","id_key":"{KEY}","phone_number_id":"222"}}"#
        ))
        .expect("valid secret");
        assert_eq!(w.access_token.as_deref(), Some("s-token"));
        let hook = w.webhook().expect("all set");
        assert_eq!(
            (hook.app_secret.as_str(), hook.verify_token.as_str()),
            (APP, VERIFY)
        );
        assert_eq!(hook.phone_number_id, "111");
        assert_eq!(w.phone_number_id.as_deref(), Some("111"));
        assert!(!format!("{w:?}").contains("s-token"), "Debug hides secrets");
        assert!(w.apply_secret("not json").is_err());
    }

    /// The secret the stack creates, before an operator has filled it in: every function refuses
    /// it, naming the field and where to set it, never showing the value.
    #[test]
    fn the_templates_placeholders_and_short_secrets_are_refused() {
        let created = format!(
            r#"{{"access_token":"set-me","app_secret":"set-me","verify_token":"set-me","id_key":"{KEY}"}}"#
        );
        let mut w = WhatsAppEnv {
            phone_number_id: Some("111".into()),
            ..WhatsAppEnv::default()
        };
        w.apply_secret(&created).expect("json");
        let e = w.webhook().expect_err("refused").to_string();
        assert!(
            e.contains("app_secret") && e.contains("WHATSAPP_APP_SECRET"),
            "{e}"
        );
        assert!(!e.contains("set-me"), "{e}");
        assert!(w.check_for_consumers().is_err());
        w.app_secret = Some("too-short-0123456789".into());
        let e = w.webhook().expect_err("short").to_string();
        assert!(e.contains("20 characters") && e.contains("32"), "{e}");
        w.app_secret = Some(APP.into());
        let e = w.webhook().expect_err("verify token").to_string();
        assert!(e.contains("verify_token"), "{e}");
        w.verify_token = Some(VERIFY.into());
        assert!(w.webhook().is_ok());
        let e = w.check_for_consumers().expect_err("access token").to_string();
        assert!(e.contains("access_token"), "{e}");
        w.access_token = Some("EAAG-real-looking-token".into());
        assert!(w.check_for_consumers().is_ok());
        w.id_key = None;
        let e = w.webhook().expect_err("no id key").to_string();
        assert!(e.contains("id_key") && e.contains("SHIKAYAT_ID_KEY"), "{e}");
        w.id_key = Some("set-me".into());
        assert!(w.keyed_hash().is_err());
    }
}
