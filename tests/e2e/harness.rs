//! Starts `shikayat-local` as a real process on a free port with a temporary data dir, and a
//! Graph API simulator that plays Meta and the WhatsApp users. Tests see only what a user would.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use shikayat_graph_sim::{load_templates, GraphSim, SentMessage, SimConfig};
use tokio::process::{Child, Command};

pub const CITIZEN: &str = "919812345678";
pub const CITIZEN2: &str = "919839012345";
/// From config/amethi.toml (demo numbers).
pub const WATER_OFFICER: &str = "919000000105";
pub const ELECTRICITY_OFFICER: &str = "919000000103";
pub const SDM: &str = "919000000201";
pub const CDO: &str = "919000000202";
pub const DM: &str = "919000000203";
pub const CONTROL_ROOM: &str = "919000000301";
pub const CONTROL_ROOM2: &str = "919000000302";
/// Numbers scenarios use beyond the constants above and the district's people (a citizen of
/// their own, the number in a `user_changed_number` notice): the log scan searches for them too.
pub const OTHER_NUMBERS: [&str; 2] = ["919876500011", "919795123456"];

/// Long enough for the rule every secret must pass (functions/core/src/secret.rs).
pub const E2E_VERIFY_TOKEN: &str = "e2e-verify-token-0123456789";

pub const SETTLE_SECONDS: u64 = 2;
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Desk {
    pub sim: GraphSim,
    pub settle_seconds: u64,
    pub port: u16,
    pub data_dir: PathBuf,
    /// The district configuration file (config/amethi.toml unless a test wrote its own).
    pub config_path: PathBuf,
    /// With the AWS backend: this desk's resource prefix (kept across restarts).
    pub aws_prefix: Option<String>,
    /// The AWS-compatible endpoint this desk runs on (None: the embedded backend).
    aws_endpoint: Option<String>,
    /// More environment for the runner (e.g. request counting).
    extra_env: Vec<(String, String)>,
    _tmp: Option<tempfile::TempDir>,
    child: Option<Child>,
    /// Every run's log (stderr), appended across restarts; scanned for phone numbers on drop.
    log: tempfile::NamedTempFile,
}

pub fn repo_root() -> PathBuf {
    // At run time: cargo sets it for the test process, and it names this checkout even when a
    // shared target dir holds a binary built from another one.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    PathBuf::from(manifest).join("..")
}

/// config/templates, as the simulator approves them (Meta's definition checks applied).
pub fn repo_templates_approved() -> Vec<serde_json::Value> {
    let dir = repo_root().join("config/templates");
    load_templates(&dir).unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()))
}

/// The runner binary, built once per test run (a no-op when up to date).
fn bin_dir() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "-p", "shikayat-local", "--bins"])
            .current_dir(repo_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building shikayat-local failed");
        let exe = std::env::current_exe().expect("test exe");
        // target/<profile>/deps/e2e-… → target/<profile>/
        exe.parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_path_buf()
    })
    .clone()
}

/// `shikayat-admin`, built with the runner.
pub(crate) fn admin_binary() -> PathBuf {
    bin_dir().join("shikayat-admin")
}

fn runner_binary() -> PathBuf {
    bin_dir().join("shikayat-local")
}

/// `SHIKAYAT_E2E_BACKEND=aws`: the runner stands on the AWS adapters against the AWS-compatible
/// endpoint the test script started (moto), each desk with its own resource prefix.
fn aws_endpoint() -> Option<String> {
    match std::env::var("SHIKAYAT_E2E_BACKEND").as_deref() {
        Ok("aws") => Some(std::env::var("SHIKAYAT_TEST_AWS_ENDPOINT").expect(
            "SHIKAYAT_E2E_BACKEND=aws needs SHIKAYAT_TEST_AWS_ENDPOINT (run ./scripts/test.sh, which starts moto)",
        )),
        _ => None,
    }
}

pub(crate) fn aws_env(cmd: &mut Command, endpoint: &str, prefix: &str) {
    cmd.env("SHIKAYAT_BACKEND", "aws")
        .env("SHIKAYAT_AWS_PREFIX", prefix)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "ap-south-1");
}

/// Creates the tables, queues and bucket for `prefix`, as an engineer would before a first run
/// (`SHIKAYAT_E2E_PROVISION=stack`: deploys infra/template.yaml onto moto instead).
pub(crate) async fn provision(endpoint: &str, prefix: &str) {
    if crate::stack::stack_mode() {
        crate::stack::deploy(endpoint, prefix).await;
        return;
    }
    let mut cmd = Command::new(bin_dir().join("shikayat-admin"));
    cmd.arg("provision").current_dir(repo_root());
    aws_env(&mut cmd, endpoint, prefix);
    let out = cmd.output().await.expect("run shikayat-admin provision");
    assert!(
        out.status.success(),
        "provision failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) fn unique_prefix() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("e2e{}x{n}-", std::process::id())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Desk {
    pub async fn start() -> Desk {
        Desk::start_with(SETTLE_SECONDS).await
    }

    pub async fn start_with(settle_seconds: u64) -> Desk {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().to_path_buf();
        let mut desk = Desk::start_on(data_dir, None, settle_seconds).await;
        desk._tmp = Some(tmp);
        desk
    }

    /// A runner on a district configuration of the test's own (e.g. seconds-long deadlines).
    pub async fn start_with_config(district_toml: &str) -> Desk {
        let tmp = tempfile::tempdir().expect("tempdir");
        let config_path = tmp.path().join("district.toml");
        std::fs::write(&config_path, district_toml).expect("write district config");
        let mut desk =
            Desk::start_on_config(tmp.path().join("data"), None, SETTLE_SECONDS, config_path).await;
        desk._tmp = Some(tmp);
        desk
    }

    /// A runner on the AWS backend at `endpoint` whatever `SHIKAYAT_E2E_BACKEND` says (tests of
    /// what only exists there, such as `shikayat-admin`), on a district configuration of its own.
    pub async fn start_aws_with_config(endpoint: &str, district_toml: &str, env: &[(&str, &str)]) -> Desk {
        let tmp = tempfile::tempdir().expect("tempdir");
        let config_path = tmp.path().join("district.toml");
        std::fs::write(&config_path, district_toml).expect("write district config");
        let mut desk = Desk::new(tmp.path().join("data"), None, SETTLE_SECONDS, config_path).await;
        desk.aws_endpoint = Some(endpoint.to_string());
        desk.extra_env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        desk.spawn().await;
        desk._tmp = Some(tmp);
        desk
    }

    /// A runner on `data_dir`, talking to `sim` (a new simulator when None).
    pub async fn start_on(data_dir: PathBuf, sim: Option<GraphSim>, settle_seconds: u64) -> Desk {
        let config_path = repo_root().join("config/amethi.toml");
        Desk::start_on_config(data_dir, sim, settle_seconds, config_path).await
    }

    async fn start_on_config(
        data_dir: PathBuf,
        sim: Option<GraphSim>,
        settle_seconds: u64,
        config_path: PathBuf,
    ) -> Desk {
        let mut desk = Desk::new(data_dir, sim, settle_seconds, config_path).await;
        desk.spawn().await;
        desk
    }

    async fn new(
        data_dir: PathBuf,
        sim: Option<GraphSim>,
        settle_seconds: u64,
        config_path: PathBuf,
    ) -> Desk {
        let sim = match sim {
            Some(s) => s,
            None => {
                let cfg = SimConfig {
                    pair_min_interval: None,
                    templates: repo_templates_approved(),
                    ..SimConfig::default()
                };
                GraphSim::serve(cfg, "127.0.0.1:0".parse().expect("addr"))
                    .await
                    .expect("simulator")
                    .0
            }
        };
        let port = free_port();
        sim.set_webhook_url(format!("http://127.0.0.1:{port}/webhook"));
        let config_path = without_the_evening_digest(&data_dir, config_path);
        Desk {
            sim,
            settle_seconds,
            port,
            data_dir,
            config_path,
            aws_prefix: None,
            aws_endpoint: aws_endpoint(),
            extra_env: Vec::new(),
            _tmp: None,
            child: None,
            log: tempfile::NamedTempFile::new().expect("log file"),
        }
    }

    async fn spawn(&mut self) {
        let cfg = self.sim.config().clone();
        let mut cmd = Command::new(runner_binary());
        if let Some(endpoint) = &self.aws_endpoint {
            if self.aws_prefix.is_none() {
                let prefix = unique_prefix();
                provision(endpoint, &prefix).await;
                self.aws_prefix = Some(prefix);
            }
            aws_env(&mut cmd, endpoint, self.aws_prefix.as_deref().unwrap_or_default());
        }
        let child = cmd
            .current_dir(repo_root())
            .env("SHIKAYAT_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("SHIKAYAT_DATA_DIR", &self.data_dir)
            .env("SHIKAYAT_DISTRICT_CONFIG", &self.config_path)
            .env("SHIKAYAT_SETTLE_SECONDS", self.settle_seconds.to_string())
            .env("SHIKAYAT_ESCALATOR_INTERVAL_SECONDS", "1")
            .env("SHIKAYAT_PAIR_INTERVAL_MS", "50")
            // Strict spacing, so the scenarios see every send paced (a burst of 1).
            .env("SHIKAYAT_PAIR_BURST", "1")
            // Everything the shikayat crates log, and what their dependencies say at info: the
            // log scan (`Drop`) proves none of it carries a phone number.
            .env("SHIKAYAT_LOG", LOG_FILTER)
            .env(
                "WHATSAPP_API_BASE_URL",
                self.sim.graph_base_url().expect("sim base url"),
            )
            .env("WHATSAPP_API_VERSION", "v25.0")
            .env("WHATSAPP_PHONE_NUMBER_ID", &cfg.phone_number_id)
            .env("WHATSAPP_ACCESS_TOKEN", &cfg.access_token)
            .env("WHATSAPP_APP_SECRET", &cfg.app_secret)
            .env("WHATSAPP_VERIFY_TOKEN", E2E_VERIFY_TOKEN)
            // A test's own settings win over the defaults above.
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(self.log_sink())
            .kill_on_drop(true)
            .spawn()
            .expect("start shikayat-local");
        self.child = Some(child);
        let health = format!("{}/healthz", self.base());
        for _ in 0..200 {
            if reqwest::get(&health).await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("shikayat-local did not become healthy on port {}", self.port);
    }

    /// Where the runner's stderr goes: appended to this desk's log file (a restart adds to it).
    fn log_sink(&self) -> Stdio {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.log.path())
            .expect("open the desk's log");
        Stdio::from(file)
    }

    /// The phone numbers this desk's log must not carry: the harness's, the district's people
    /// (config/amethi.toml and this desk's own configuration) and everyone the desk wrote to.
    pub fn test_numbers(&self) -> Vec<String> {
        let mut numbers: Vec<String> = [
            CITIZEN,
            CITIZEN2,
            WATER_OFFICER,
            ELECTRICITY_OFFICER,
            SDM,
            CDO,
            DM,
            CONTROL_ROOM,
            CONTROL_ROOM2,
        ]
        .iter()
        .chain(OTHER_NUMBERS.iter())
        .map(|s| s.to_string())
        .collect();
        for path in [repo_root().join("config/amethi.toml"), self.config_path.clone()] {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if let Ok(cfg) = shikayat_core::DistrictConfig::from_toml(&text) {
                numbers.extend(cfg.people.iter().map(|p| p.phone.as_str().to_string()));
            }
        }
        numbers.extend(self.sim.sent().into_iter().map(|m| m.to));
        numbers.retain(|n| n.len() >= 8 && n.chars().all(|c| c.is_ascii_digit()));
        numbers.sort();
        numbers.dedup();
        numbers
    }

    /// Everything this desk's runs have logged so far.
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.log.path()).unwrap_or_default()).into_owned()
    }

    /// Searches every line this desk's runs logged for every test number (see logscan.rs).
    pub fn scan_log(&self) -> crate::logscan::Scan {
        crate::logscan::scan(&self.log_text(), &self.test_numbers())
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM, and wait for a clean exit.
    pub async fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().expect("pid");
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("stops within 20 s")
            .expect("exit status")
    }

    /// SIGKILL, as a crashed host: no shutdown, nothing flushed. `start_again` brings it back.
    pub async fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        // tokio's start_kill is SIGKILL on Unix.
        child.start_kill().expect("SIGKILL");
        tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("dies within 20 s")
            .expect("exit status");
    }

    /// Starts the runner again on the same data dir (and AWS prefix), after `stop` or `kill9`.
    pub async fn start_again(&mut self) {
        self.spawn().await;
    }

    pub async fn restart(&mut self) {
        let status = self.stop().await;
        assert!(status.success(), "clean exit on SIGTERM, got {status:?}");
        self.spawn().await;
    }

    pub async fn wait_for(&self, to: &str, what: &str, pred: impl Fn(&SentMessage) -> bool) -> SentMessage {
        match self.sim.wait_for(to, pred, WAIT).await {
            Ok(m) => m,
            Err(e) => panic!("waiting for {what} to {to}: {e:?}"),
        }
    }

    /// Waits for a message whose text contains `needle`.
    pub async fn wait_text(&self, to: &str, needle: &str) -> SentMessage {
        self.wait_for(to, needle, |m| m.text().contains(needle)).await
    }

    /// Waits for the acknowledgement and returns the complaint number it carries.
    pub async fn complaint_number(&self, to: &str) -> String {
        let ack = self.wait_text(to, "शिकायत संख्या").await;
        number_in(&ack.text()).expect("a complaint number in the ack")
    }

    /// Nothing more arrives to `to` for `d` beyond the `n` messages it already has.
    pub async fn quiet(&self, to: &str, n: usize, d: Duration) {
        tokio::time::sleep(d).await;
        let got = self.sim.sent_to(to);
        assert_eq!(
            got.len(),
            n,
            "unexpected messages to {to}: {:#?}",
            got.iter().map(|m| m.text()).collect::<Vec<_>>()
        );
    }
}

/// The runner's log filter in the scenarios: debug for the shikayat crates, info elsewhere.
const LOG_FILTER: &str = "info,shikayat_core=debug,shikayat_adapters=debug,shikayat_desk=debug,\
shikayat_webhook=debug,shikayat_router=debug,shikayat_officer_relay=debug,shikayat_notifier=debug,\
shikayat_escalator=debug,shikayat_local=debug,shikayat_graph_sim=debug";

impl Drop for Desk {
    /// The log-privacy check for every scenario: the test that owns this desk fails when any line
    /// its runner logged carries a test phone number, in clear or inside a wamid.
    fn drop(&mut self) {
        let scan = self.scan_log();
        let what = format!("runner log {}", self.log.path().display());
        if std::env::var("E2E_LOGS").is_ok() {
            eprintln!(
                "{}",
                String::from_utf8_lossy(&std::fs::read(self.log.path()).unwrap_or_default())
            );
        }
        if let Ok(path) = std::env::var("SHIKAYAT_LOG_SCAN_FILE") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                let _ = writeln!(
                    f,
                    "lines={} numbers={} leaks={}",
                    scan.lines,
                    scan.numbers,
                    scan.leaks.len()
                );
            }
        }
        if let Some(report) = scan.report(&what) {
            if std::thread::panicking() {
                eprintln!("{report}");
            } else {
                panic!("{report}");
            }
        }
    }
}

pub fn number_in(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.starts_with("AMT-") && w.len() == "AMT-2026-000001".len())
        .map(str::to_string)
}

pub fn jpeg(tag: &str) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.extend_from_slice(tag.as_bytes());
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

/// Prints a measured figure and, when `SHIKAYAT_FIGURES_FILE` names a file (scripts/test.sh sets
/// it), appends it there too, so the figures reach CI's log although cargo captures the output of
/// tests that pass.
pub fn figure(line: &str) {
    println!("{line}");
    if let Ok(path) = std::env::var("SHIKAYAT_FIGURES_FILE") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// The district's digest goes out once a day after 21:00 district time: a scenario run in the
/// evening would meet it in the middle of what it counts. Unless a test chose its own
/// `digest_time` (the digest tests do), the desk gets a copy of its configuration with the
/// digest at 23:59, the latest a day allows.
fn without_the_evening_digest(data_dir: &std::path::Path, config_path: PathBuf) -> PathBuf {
    let text = std::fs::read_to_string(&config_path).unwrap_or_default();
    if !text.contains("digest_time = \"21:00\"") {
        return config_path;
    }
    std::fs::create_dir_all(data_dir).expect("the desk's data dir");
    let copy = data_dir.join("district-config.toml");
    std::fs::write(
        &copy,
        text.replace("digest_time = \"21:00\"", "digest_time = \"23:59\""),
    )
    .expect("write the desk's configuration");
    copy
}
