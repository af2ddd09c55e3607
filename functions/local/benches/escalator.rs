//! The escalator's sweep over many open complaints in the embedded store: its cost should grow
//! with the number of complaints due, not the number stored, because it reads only through the
//! sparse `next_action_at` index.
//!
//! `cargo bench -p shikayat-local --bench escalator` (BENCH_STORED, default 100000; CI smoke
//! runs a small store). Prints a markdown table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use shikayat_adapters::embedded::{Db, FolderMedia, SqliteQueue, SqliteStore};
use shikayat_adapters::whatsapp::{CloudApi, CloudApiConfig};
use shikayat_core::complaint::{Complaint, Status};
use shikayat_core::config::DistrictConfig;
use shikayat_core::ports::{ComplaintStore, Ports, Settings, SystemClock};
use shikayat_core::{ComplaintId, Phone};

const WATER_OFFICER: &str = "919000000105";

fn stored_count() -> usize {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    match std::env::var("BENCH_STORED") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("BENCH_STORED={v:?} is not a number")),
        Err(_) if bench_mode => 100_000,
        Err(_) => 2_000,
    }
}

/// A forwarded complaint whose next action is `in_secs` from now (negative: already due).
fn complaint(seq: u64, in_secs: i64) -> Complaint {
    let now = Utc::now();
    let mut c = Complaint::new(
        ComplaintId::new("AMT", 2026, seq),
        Phone::new("919812345678"),
        None,
        now,
    );
    c.status = Status::Forwarded;
    c.department = Some("water".into());
    c.officer = Some(Phone::new(WATER_OFFICER));
    c.text = "हैंडपंप खराब है".into();
    c.forwarded_at = Some(now - chrono::Duration::days(10));
    c.due_at = Some(now + chrono::Duration::seconds(in_secs));
    c.next_action_at = Some(now + chrono::Duration::seconds(in_secs));
    c
}

fn main() {
    let stored = stored_count();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let text =
        std::fs::read_to_string(format!("{manifest}/../../config/amethi.toml")).expect("config/amethi.toml");
    let config = Arc::new(DistrictConfig::from_toml(&text).expect("config"));
    let db = Db::open(dir.path()).expect("db");
    let store = Arc::new(SqliteStore::new(db.clone()));
    let queue = Arc::new(SqliteQueue::new(db, Duration::from_secs(60), 5));
    // Never called: the sweep only puts commands on the queue.
    let whatsapp = Arc::new(
        CloudApi::new(CloudApiConfig {
            base_url: "http://127.0.0.1:9".into(),
            version: "v25.0".into(),
            phone_number_id: "1".into(),
            access_token: "unused".into(),
            timeout: Duration::from_secs(1),
        })
        .expect("client"),
    );
    let ports = Ports {
        config: config.clone(),
        settings: Settings::default(),
        complaints: store.clone(),
        messages: store.clone(),
        conversations: store.clone(),
        directory: store.clone(),
        media: Arc::new(FolderMedia::new(dir.path())),
        queue,
        whatsapp,
        clock: Arc::new(SystemClock),
        ids: shikayat_core::pseudonym::KeyedHash::new(
            "bench-id-key-0123456789abcdef0123456789",
            "id_key",
            "",
        )
        .expect("id key"),
    };

    rt.block_on(async {
        store.load_directory(&config).await.expect("directory");
        let fill = Instant::now();
        let mut seq = 0u64;
        let mut add = |n: usize, in_secs: i64| {
            let store = store.clone();
            let start = seq;
            seq += n as u64;
            async move {
                for i in 0..n as u64 {
                    let mut c = complaint(start + i + 1, in_secs);
                    store.create(&mut c, &[]).await.expect("create");
                }
            }
        };
        // Open complaints with nothing due for a week.
        add(stored, 7 * 86_400).await;
        eprintln!(
            "stored {stored} open complaints in {:.1} s",
            fill.elapsed().as_secs_f64()
        );

        println!("### escalator sweep, embedded store\n");
        println!("{stored} open complaints stored, none due except those added per row.\n");
        println!("| due now | examined | escalated/reminded | sweep ms | µs per due complaint |");
        println!("|---:|---:|---:|---:|---:|");
        for due in [0usize, 10, 100, 1000] {
            add(due, -60).await;
            let t = Instant::now();
            let s = shikayat_escalator::sweep(&ports).await.expect("sweep");
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let per = if due == 0 {
                "—".to_string()
            } else {
                format!("{:.0}", ms * 1000.0 / due as f64)
            };
            println!(
                "| {due} | {} | {} | {ms:.2} | {per} |",
                s.examined,
                s.escalated + s.reminded
            );
            assert_eq!(s.examined, due, "the sweep reads only what is due");
        }
    });
}
