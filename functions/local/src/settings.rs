//! The runner's environment (one set of variables for Lambda and local mode, DESIGN §6).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

#[derive(Debug, Clone)]
pub struct LocalSettings {
    pub backend: BackendKind,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub district_config: PathBuf,
    /// The WhatsApp template definitions the built-in simulator approves (`SHIKAYAT_TEMPLATES_DIR`,
    /// default: `templates` next to the district config file). Unused with a real Graph API.
    pub templates_dir: PathBuf,
    pub settle_seconds: u32,
    pub escalator_interval: Duration,
    pub pair_interval: Duration,
    /// Messages to one person that may go back to back (`SHIKAYAT_PAIR_BURST`, default 5).
    pub pair_burst: u32,
    /// `SHIKAYAT_SIM_ENFORCE_WINDOW` (default 1): the built-in simulator refuses free-form sends
    /// outside a user's 24-hour window, as Meta does. 0 for load runs that post signed bodies
    /// to the webhook directly, so the simulator never saw those users write.
    pub sim_enforce_window: bool,
    /// `SHIKAYAT_ID_KEY`; None: generated once in the data directory (`idkey`).
    pub id_key: Option<String>,
    pub whatsapp: WhatsAppSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// SQLite, a local folder and a SQLite queue under `SHIKAYAT_DATA_DIR`.
    Embedded,
    /// DynamoDB, S3 and SQS; the runner polls the queues itself.
    Aws,
}

#[derive(Debug, Clone)]
pub struct WhatsAppSettings {
    /// None: serve the built-in Graph API simulator and the sandbox page.
    pub base_url: Option<String>,
    pub version: String,
    pub phone_number_id: String,
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match var(name) {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a number")),
        None => Ok(default),
    }
}

impl LocalSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        let listen = var("SHIKAYAT_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen
            .parse()
            .with_context(|| format!("SHIKAYAT_LISTEN={listen:?}"))?;
        let base_url = var("WHATSAPP_API_BASE_URL").map(|u| u.trim_end_matches('/').to_string());
        let simulated = base_url.is_none();
        let secret = |name: &str, sandbox: &str| -> anyhow::Result<String> {
            match var(name) {
                Some(v) => Ok(v),
                None if simulated => Ok(sandbox.to_string()),
                None => bail!("{name} is required when WHATSAPP_API_BASE_URL is set"),
            }
        };
        let backend = match var("SHIKAYAT_BACKEND").as_deref() {
            None | Some("embedded") => BackendKind::Embedded,
            Some("aws") => BackendKind::Aws,
            Some(other) => bail!("SHIKAYAT_BACKEND={other:?}: use embedded or aws"),
        };
        let district_config =
            PathBuf::from(var("SHIKAYAT_DISTRICT_CONFIG").unwrap_or_else(|| "config/amethi.toml".into()));
        Ok(Self {
            backend,
            listen,
            data_dir: PathBuf::from(var("SHIKAYAT_DATA_DIR").unwrap_or_else(|| "./.shikayat".into())),
            templates_dir: match var("SHIKAYAT_TEMPLATES_DIR") {
                Some(dir) => PathBuf::from(dir),
                None => district_config
                    .parent()
                    .unwrap_or_else(|| std::path::Path::new("."))
                    .join("templates"),
            },
            district_config,
            settle_seconds: number("SHIKAYAT_SETTLE_SECONDS", 120)?,
            escalator_interval: Duration::from_secs(number("SHIKAYAT_ESCALATOR_INTERVAL_SECONDS", 300)?),
            pair_interval: Duration::from_millis(number("SHIKAYAT_PAIR_INTERVAL_MS", 6000)?),
            pair_burst: number("SHIKAYAT_PAIR_BURST", 5)?,
            sim_enforce_window: number::<u8>("SHIKAYAT_SIM_ENFORCE_WINDOW", 1)? != 0,
            id_key: var("SHIKAYAT_ID_KEY"),
            whatsapp: WhatsAppSettings {
                version: var("WHATSAPP_API_VERSION").unwrap_or_else(|| "v25.0".into()),
                phone_number_id: secret("WHATSAPP_PHONE_NUMBER_ID", "100000000000001")?,
                access_token: secret("WHATSAPP_ACCESS_TOKEN", "sandbox-access-token")?,
                // The sandbox's own secrets pass the rule every secret must pass (`check`).
                app_secret: secret("WHATSAPP_APP_SECRET", "sandbox-app-secret-not-for-real-use")?,
                verify_token: secret("WHATSAPP_VERIFY_TOKEN", "sandbox-verify-token")?,
                base_url,
            },
        })
    }
}

impl WhatsAppSettings {
    /// Refuses a placeholder or short secret (`shikayat_core::secret`), naming the variable and
    /// never its value: a known app secret lets anyone post as any citizen or officer.
    pub fn check(&self) -> Result<(), shikayat_core::secret::SecretError> {
        use shikayat_core::secret::{check, APP_SECRET_MIN, VERIFY_TOKEN_MIN};
        check(
            "WHATSAPP_APP_SECRET",
            &self.app_secret,
            APP_SECRET_MIN,
            "set it to the Meta app's secret (App settings > Basic), 32 or more characters",
        )?;
        check(
            "WHATSAPP_VERIFY_TOKEN",
            &self.verify_token,
            VERIFY_TOKEN_MIN,
            "set it to a random value of 16 or more characters, and the same in Meta's webhook settings",
        )?;
        check(
            "WHATSAPP_ACCESS_TOKEN",
            &self.access_token,
            1,
            "set it to a system user's access token for the WhatsApp Business account",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> WhatsAppSettings {
        WhatsAppSettings {
            base_url: None,
            version: "v25.0".into(),
            phone_number_id: "100000000000001".into(),
            access_token: "sandbox-access-token".into(),
            app_secret: "sandbox-app-secret-not-for-real-use".into(),
            verify_token: "sandbox-verify-token".into(),
        }
    }

    #[test]
    fn the_sandbox_defaults_pass_and_placeholders_do_not() {
        assert_eq!(sandbox().check(), Ok(()));
        let sim = shikayat_graph_sim::SimConfig::default();
        let with_sim = WhatsAppSettings {
            app_secret: sim.app_secret,
            access_token: sim.access_token,
            ..sandbox()
        };
        assert_eq!(with_sim.check(), Ok(()), "the simulator's defaults too");
        for (w, name) in [
            (
                WhatsAppSettings {
                    app_secret: "set-me".into(),
                    ..sandbox()
                },
                "WHATSAPP_APP_SECRET",
            ),
            (
                WhatsAppSettings {
                    app_secret: "a".repeat(31),
                    ..sandbox()
                },
                "WHATSAPP_APP_SECRET",
            ),
            (
                WhatsAppSettings {
                    verify_token: "e2e-verify-tok".into(),
                    ..sandbox()
                },
                "WHATSAPP_VERIFY_TOKEN",
            ),
            (
                WhatsAppSettings {
                    access_token: "set-me".into(),
                    ..sandbox()
                },
                "WHATSAPP_ACCESS_TOKEN",
            ),
        ] {
            let e = w.check().expect_err("refused").to_string();
            assert!(e.contains(name) && e.contains("set it to"), "{e}");
            assert!(
                !e.contains("set-me") && !e.contains("aaaa") && !e.contains("e2e-verify"),
                "{e}"
            );
        }
    }
}
