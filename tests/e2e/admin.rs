//! `shikayat-admin` on the AWS backend (moto): `load-config` refuses each kind of bad district
//! configuration and writes nothing; after complaints have gone through a desk, `export-register`,
//! `timeline` and `overdue` answer an administrator's questions. These need the AWS resources,
//! so they always run against `SHIKAYAT_TEST_AWS_ENDPOINT` (scripts/test.sh starts moto).
//! `templates push` and `check` (the `templates` module) talk to the Graph API only.

use std::time::Duration;

use shikayat_adapters::aws::{AwsClients, AwsNames, DynamoStore};
use shikayat_core::config::Role;
use shikayat_core::ports::Directory;
use tokio::process::Command;

use crate::harness::*;
use crate::lifecycle::to_closed_satisfied;

/// `templates push` / `check` against the simulator's template endpoints (no AWS needed).
mod templates;

fn endpoint() -> String {
    match std::env::var("SHIKAYAT_TEST_AWS_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "SHIKAYAT_TEST_AWS_ENDPOINT is not set: the shikayat-admin tests need moto. Run ./scripts/test.sh, \
             or `eval \"$(scripts/moto.sh start)\"` first"
        ),
    }
}

fn amethi() -> String {
    std::fs::read_to_string(repo_root().join("config/amethi.toml")).expect("config/amethi.toml")
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn admin(endpoint: &str, prefix: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(admin_binary());
    cmd.args(args).current_dir(repo_root());
    aws_env(&mut cmd, endpoint, prefix);
    let out = cmd.output().await.expect("run shikayat-admin");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn store(endpoint: &str, prefix: &str) -> DynamoStore {
    DynamoStore::new(
        &AwsClients::for_endpoint(endpoint).await,
        &AwsNames::with_prefix(prefix),
    )
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} once in config/amethi.toml"
    );
    text.replacen(from, to, 1)
}

#[tokio::test(flavor = "multi_thread")]
async fn load_config_refuses_bad_configs_and_writes_nothing() {
    let endpoint = endpoint();
    let prefix = unique_prefix();
    provision(&endpoint, &prefix).await;
    let good = amethi();
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "unknown department",
            replace_once(&good, "departments = [\"water\"]", "departments = [\"sewer\"]"),
            "names unknown department \"sewer\"",
        ),
        (
            "duplicate phone",
            replace_once(&good, "phone = \"919000000103\"", "phone = \"919000000105\""),
            "duplicate phone",
        ),
        (
            "bad SLA",
            replace_once(&good, "sla = \"48h\"", "sla = \"two days\""),
            "department electricity: sla \"two days\"",
        ),
        (
            "empty template language",
            replace_once(&good, "language = \"hi\"", "language = \" \""),
            "templates.language is empty",
        ),
    ];
    for (what, text, message) in &cases {
        let path = tmp.path().join("district.toml");
        std::fs::write(&path, text).expect("write");
        let run = admin(&endpoint, &prefix, &["load-config", path.to_str().expect("path")]).await;
        assert!(!run.ok, "{what}: accepted");
        assert!(
            run.stderr.contains(message) && run.stderr.contains("nothing was loaded"),
            "{what}: the error should say {message:?}, got: {}",
            run.stderr
        );
    }
    // Nothing was written: no settings item, nobody in the directory.
    let s = store(&endpoint, &prefix).await;
    assert_eq!(s.district_config().await.expect("settings"), None);
    assert!(s
        .with_role(Role::ControlRoom)
        .await
        .expect("directory")
        .is_empty());
    assert!(s.with_role(Role::Officer).await.expect("directory").is_empty());
    let run = admin(&endpoint, &prefix, &["overdue"]).await;
    assert!(!run.ok && run.stderr.contains("load-config"), "{}", run.stderr);

    // A good one loads into both tables.
    let path = tmp.path().join("amethi.toml");
    std::fs::write(&path, &good).expect("write");
    let run = admin(&endpoint, &prefix, &["load-config", path.to_str().expect("path")]).await;
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stderr.contains("11 departments, 16 people"), "{}", run.stderr);
    assert_eq!(
        s.district_config().await.expect("settings").as_deref(),
        Some(good.as_str())
    );
    assert_eq!(s.with_role(Role::ControlRoom).await.expect("directory").len(), 2);
    assert_eq!(
        s.officers_of("water").await.expect("directory")[0].phone.as_str(),
        WATER_OFFICER
    );

    // Loading again replaces the directory: someone dropped from the file is gone.
    let fewer = replace_once(&good, "phone = \"919000000302\"", "phone = \"919000000399\"");
    std::fs::write(&path, &fewer).expect("write");
    let run = admin(&endpoint, &prefix, &["load-config", path.to_str().expect("path")]).await;
    assert!(run.ok, "{}", run.stderr);
    let phones: Vec<String> = s
        .with_role(Role::ControlRoom)
        .await
        .expect("directory")
        .iter()
        .map(|p| p.phone.as_str().to_string())
        .collect();
    assert_eq!(phones, [CONTROL_ROOM, "919000000399"]);

    // Usage and argument errors.
    let run = admin(&endpoint, &prefix, &["export-register", "--department", "water"]).await;
    assert!(!run.ok && run.stderr.contains("--from"), "{}", run.stderr);
    let run = admin(&endpoint, &prefix, &["frobnicate"]).await;
    assert!(!run.ok && run.stderr.contains("usage:"), "{}", run.stderr);
}

/// A minimal RFC 4180 reader for the export (quoted fields, doubled quotes, CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn register_timeline_and_overdue_after_a_desk_has_worked() {
    let endpoint = endpoint();
    // Electricity's report is due five seconds after forwarding, so one goes overdue at once.
    let cfg = replace_once(&amethi(), "sla = \"48h\"", "sla = \"5s\"");
    let desk = Desk::start_aws_with_config(&endpoint, &cfg, &[]).await;
    let prefix = desk.aws_prefix.clone().expect("AWS desk");

    // A water complaint through its whole life: report with evidence, then satisfied.
    let id = to_closed_satisfied(&desk).await;

    // An electricity complaint with commas and quotes in it, left with the officer.
    let subject = "बिजली नहीं आ रही, \"ट्रांसफार्मर\" जल गया है";
    desk.sim.send_text(CITIZEN2, subject).await.expect("text");
    let late = desk.complaint_number(CITIZEN2).await;
    desk.wait_text(ELECTRICITY_OFFICER, &late).await;

    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz_kolkata())
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("water.csv");
    let run = admin(
        &endpoint,
        &prefix,
        &[
            "export-register",
            "--department",
            "water",
            "--from",
            &today,
            "--to",
            &today,
            "--out",
            out.to_str().expect("path"),
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stderr.contains("wrote 1 complaints"), "{}", run.stderr);
    assert!(
        !run.stderr.contains(CITIZEN),
        "no personal data on stderr: {}",
        run.stderr
    );
    let bytes = std::fs::read(&out).expect("csv");
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "a BOM for Excel");
    let text = String::from_utf8(bytes).expect("utf-8");
    let rows = parse_csv(text.trim_start_matches('\u{feff}'));
    assert_eq!(
        rows[0],
        [
            "number",
            "date",
            "complainant",
            "subject",
            "department",
            "officer",
            "due",
            "report date",
            "feedback",
            "status"
        ]
    );
    assert_eq!(rows.len(), 2, "one complaint in the water register: {rows:?}");
    let r = &rows[1];
    assert_eq!(r[0], id);
    assert!(r[1].starts_with(&today), "{r:?}");
    assert!(
        r[2].contains(CITIZEN),
        "the register names the complainant in full: {r:?}"
    );
    assert_eq!(r[3], "हमारे गांव में तीन दिन से हैंडपंप से पानी नहीं आ रहा");
    assert_eq!(r[4], "जल निगम / Water (Jal Nigam)");
    assert!(r[5].contains(WATER_OFFICER), "{r:?}");
    assert!(
        !r[6].is_empty() && r[7].starts_with(&today),
        "due and report dates: {r:?}"
    );
    assert_eq!(r[8], "संतुष्ट / satisfied");
    assert_eq!(r[9], "निस्तारित / closed");

    // The electricity register to standard output, phones masked: quoting survives Hindi text,
    // commas and quotes.
    let run = admin(
        &endpoint,
        &prefix,
        &[
            "export-register",
            "--department=electricity",
            "--from",
            &today,
            "--to",
            &today,
            "--mask-phones",
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("\"बिजली नहीं आ रही, \"\"ट्रांसफार्मर\"\" जल गया है\""),
        "{}",
        run.stdout
    );
    let rows = parse_csv(run.stdout.trim_start_matches('\u{feff}'));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (rows[1][0].as_str(), rows[1][3].as_str()),
        (late.as_str(), subject)
    );
    assert!(
        !rows[1][2].contains(CITIZEN2) && rows[1][2].contains("91******2345"),
        "{rows:?}"
    );

    // A range with nothing in it: the header alone. `to` before `from`: refused.
    let run = admin(
        &endpoint,
        &prefix,
        &[
            "export-register",
            "--department",
            "water",
            "--from",
            "2020-01-01",
            "--to",
            "2020-01-31",
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(parse_csv(run.stdout.trim_start_matches('\u{feff}')).len(), 1);
    let run = admin(
        &endpoint,
        &prefix,
        &[
            "export-register",
            "--department",
            "water",
            "--from",
            "2026-02-02",
            "--to",
            "2026-02-01",
        ],
    )
    .await;
    assert!(!run.ok && run.stderr.contains("after"), "{}", run.stderr);

    // What happened to the water complaint: every step.
    let run = admin(&endpoint, &prefix, &["timeline", &id.to_lowercase()]).await;
    assert!(run.ok, "{}", run.stderr);
    let mut at = 0;
    for step in [
        "registered",
        "forward",
        "accept",
        "report_part",
        "report_delivered",
        "satisfied",
    ] {
        let found = run.stdout[at..]
            .find(&format!("  {step} "))
            .unwrap_or_else(|| panic!("{step} after byte {at} in the timeline:\n{}", run.stdout));
        at += found + 1;
    }
    assert!(run.stdout.contains("report_delivered → closed"), "{}", run.stdout);
    assert!(
        !run.stdout.contains(CITIZEN),
        "complainant masked: {}",
        run.stdout
    );
    let run = admin(&endpoint, &prefix, &["timeline", "AMT-2026-999999"]).await;
    assert!(
        !run.ok && run.stderr.contains("no complaint AMT-2026-999999"),
        "{}",
        run.stderr
    );

    // Overdue: the electricity complaint once its five seconds are up; never the closed one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let run = admin(&endpoint, &prefix, &["overdue"]).await;
        assert!(run.ok, "{}", run.stderr);
        if run.stdout.contains(&late) {
            assert!(!run.stdout.contains(&id), "{}", run.stdout);
            assert!(run.stdout.contains(ELECTRICITY_OFFICER), "{}", run.stdout);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{late} never listed as overdue:\n{}",
            run.stdout
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let run = admin(&endpoint, &prefix, &["overdue", "--department", "water"]).await;
    assert!(run.ok && run.stdout.starts_with("0 overdue"), "{}", run.stdout);
}

fn chrono_tz_kolkata() -> chrono::FixedOffset {
    // Asia/Kolkata has had no daylight saving since 1945: a fixed +05:30.
    chrono::FixedOffset::east_opt(5 * 3600 + 1800).expect("offset")
}

/// One line of the request-count file: service, operation, request bytes, table or queue.
fn count_lines(path: &std::path::Path) -> Vec<(String, String, u64, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((
                f.next()?.to_string(),
                f.next()?.to_string(),
                f.next()?.parse().ok()?,
                f.next().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// The AWS requests one complaint costs, for the README's cost table: each complaint runs on a
/// fresh desk on moto with `SHIKAYAT_COUNT_AWS_REQUESTS` set — a water complaint with a photo,
/// the officer outside their window (template), accept, report text and a photo, the citizen
/// satisfied — and the desk is left until nothing more happens (the status callbacks Meta
/// sends for every message included). Start-up (config load, queue URL lookups, the first
/// escalator sweep) is left out, and so is `ReceiveMessage`: the runner polls the queues every
/// 50 ms, which on Lambda is the event source mapping's long polling, a fixed cost per queue.
/// `scripts/count-requests.sh` runs it (`SHIKAYAT_COUNT_COMPLAINTS`, default 3).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: scripts/count-requests.sh"]
async fn count_requests_per_complaint() {
    let endpoint = endpoint();
    let n: usize = std::env::var("SHIKAYAT_COUNT_COMPLAINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut all = Vec::new();
    let mut log_bytes = 0usize;
    let mut log_lines = 0usize;
    for i in 0..n {
        let file = tmp.path().join(format!("requests-{i}.tsv"));
        let path = file.to_str().expect("path").to_string();
        let desk = Desk::start_aws_with_config(
            &endpoint,
            &amethi(),
            &[
                ("SHIKAYAT_COUNT_AWS_REQUESTS", path.as_str()),
                ("SHIKAYAT_ESCALATOR_INTERVAL_SECONDS", "3600"),
                // The functions' filter on Lambda (LoggingConfig WARN, state changes at INFO),
                // as JSON lines, so the log bytes a complaint costs can be counted.
                ("SHIKAYAT_LOG", "warn,shikayat_state=info"),
                ("SHIKAYAT_LOG_FORMAT", "json"),
            ],
        )
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let start = count_lines(&file).len();
        let log_start = desk.log_text();
        to_closed_satisfied(&desk).await;
        // Until the status callbacks have been handled: three quiet seconds.
        let busy = |lines: &[(String, String, u64, String)]| {
            lines.iter().filter(|l| l.1 != "ReceiveMessage").count()
        };
        let mut last = busy(&count_lines(&file));
        let mut quiet = 0;
        while quiet < 3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = busy(&count_lines(&file));
            quiet = if now == last { quiet + 1 } else { 0 };
            last = now;
        }
        let lines = count_lines(&file);
        all.extend(lines[start..].iter().filter(|l| l.1 != "ReceiveMessage").cloned());
        let log = desk.log_text();
        let new = log.get(log_start.len()..).unwrap_or_default();
        log_bytes += new.len();
        log_lines += new.lines().count();
        drop(desk);
    }
    // Table and queue names without the desk's prefix.
    let bare = |r: &str| {
        [
            "complaints",
            "complaint-events",
            "messages",
            "conversations",
            "directory",
            "settings",
            "inbound.fifo",
            "relay",
            "notify",
        ]
        .into_iter()
        .find(|t| r.ends_with(t))
        .unwrap_or(r)
        .to_string()
    };
    let mut by_op = std::collections::BTreeMap::<(String, String, String), (u64, u64)>::new();
    for (service, op, bytes, resource) in &all {
        let e = by_op
            .entry((service.clone(), op.clone(), bare(resource)))
            .or_default();
        e.0 += 1;
        e.1 += bytes;
    }
    println!("\nAWS requests per complaint (mean of {n}; ReceiveMessage and start-up excluded):");
    println!("| service | operation | table / queue | requests | request KB |");
    println!("|---|---|---|---:|---:|");
    for ((service, op, resource), (count, bytes)) in &by_op {
        println!(
            "| {service} | {op} | {resource} | {:.1} | {:.1} |",
            *count as f64 / n as f64,
            *bytes as f64 / 1024.0 / n as f64
        );
    }
    let per = |service: &str| all.iter().filter(|l| l.0 == service).count() as f64 / n as f64;
    let s3_put: u64 = all
        .iter()
        .filter(|l| l.0 == "s3" && l.1 == "PutObject")
        .map(|l| l.2)
        .sum();
    println!(
        "\ntotals per complaint: dynamodb {:.1}, sqs {:.1}, s3 {:.1}, ssm {:.1}; S3 bytes stored {:.0}",
        per("dynamodb"),
        per("sqs"),
        per("s3"),
        per("ssm"),
        s3_put as f64 / n as f64
    );
    println!(
        "log per complaint at Lambda's filter (WARN, state changes at INFO): {:.0} lines, {:.0} bytes",
        log_lines as f64 / n as f64,
        log_bytes as f64 / n as f64
    );
    for q in ["inbound.fifo", "relay", "notify"] {
        let sends = all
            .iter()
            .filter(|l| l.0 == "sqs" && l.1 == "SendMessage" && bare(&l.3) == q)
            .count();
        println!(
            "commands on {q}: {:.1} per complaint (Lambda invocations at one per batch, the worst case)",
            sends as f64 / n as f64
        );
    }
    assert!(
        per("dynamodb") > 0.0,
        "nothing counted: is SHIKAYAT_COUNT_AWS_REQUESTS reaching the runner?"
    );
}
