//! The webhook's POST path in process: signature check, parse, and the enqueue into a real
//! `SqliteQueue` (WAL, `synchronous = FULL`, so every accepted message is one fsync'd commit) on a
//! temp dir. Also times signature verify and parse alone, to show where the time goes.
//!
//! `cargo bench -p shikayat-local --bench webhook`; `BENCH_ITERATIONS` (default 5000) per row.
//! Every timed call carries fresh wamids, so the FIFO dedupe never short-circuits the enqueue.
//! Run without `--bench` (e.g. `cargo test --benches`) it does a quick 50-iteration pass.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shikayat_adapters::embedded::{Db, SqliteQueue};
use shikayat_core::inbound::parse_notification;
use shikayat_core::signature;
use shikayat_webhook::{receive, WebhookConfig};

const APP_SECRET: &str = "sandbox-app-secret-not-for-real-use";

/// A signed notification, as Meta would POST it.
struct Signed {
    body: Vec<u8>,
    sig: String,
}

/// Meta's JSON encoding: `/` as `\/`, everything outside ASCII as `\uXXXX` (lowercase hex).
fn meta_escape(text: &str) -> String {
    signature::escape_non_ascii(&text.replace('/', "\\/"))
}

fn wamid(seq: u64) -> String {
    format!("wamid.HBgMOTE5ODEyMzQ1Njc4FQIAEhgU{seq:020X}AA==")
}

fn contact(name: &str, wa_id: &str) -> String {
    format!(
        r#"{{"profile":{{"name":"{}"}},"wa_id":"{wa_id}"}}"#,
        meta_escape(name)
    )
}

fn text_message(seq: u64, from: &str, text: &str) -> String {
    format!(
        r#"{{"from":"{from}","id":"{}","timestamp":"{}","type":"text","text":{{"body":"{}"}}}}"#,
        wamid(seq),
        1_790_000_000 + seq,
        meta_escape(text)
    )
}

fn image_message(seq: u64, from: &str) -> String {
    let media_id = 1_003_383_421_000_000 + seq;
    let url = format!(
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}&ext=1790003600\
         &hash=ATuA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvWxYz_AbCdEfGh"
    );
    format!(
        r#"{{"from":"{from}","id":"{}","timestamp":"{}","type":"image","image":{{"caption":"{}","mime_type":"{}","sha256":"{}","id":"{media_id}","url":"{}"}}}}"#,
        wamid(seq),
        1_790_000_000 + seq,
        meta_escape("सड़क पर गड्ढा, गौरीगंज बस अड्डे के पास"),
        meta_escape("image/jpeg"),
        meta_escape("m5Q2+Ed/3Vq8Tz0bYhX1kP9rLwA7sJcN4gUeFoIiHdE="),
        meta_escape(&url)
    )
}

fn notification(contacts: &[String], messages: &[String]) -> Vec<u8> {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"916391363636","phone_number_id":"100000000000001"}},"contacts":[{}],"messages":[{}]}},"field":"messages"}}]}}]}}"#,
        contacts.join(","),
        messages.join(",")
    )
    .into_bytes()
}

const SUNITA: (&str, &str) = ("सुनीता देवी", "919812345678");
const RAMESH: (&str, &str) = ("Ramesh Kumar", "919839012345");
const KAMLA: (&str, &str) = ("कमला", "919415001122");
const ASHOK: (&str, &str) = ("अशोक यादव", "919956123456");

const TEXTS: [&str; 5] = [
    "नमस्ते, हमारे गाँव रामपुर (ब्लॉक जगदीशपुर) में 3 दिन से हैंडपंप खराब है। पानी की बहुत दिक्कत है/कृपया जल्दी ठीक करवाएँ।",
    "बिजली 2 दिन से नहीं आ रही, ट्रांसफार्मर जल गया है",
    "Road near the primary school is broken, children fall every day",
    "राशन की दुकान 10 तारीख से बंद है",
    "नाली का पानी सड़क पर भर गया है, मच्छर बहुत हैं",
];

/// One Hindi text message from one sender.
fn text_body(seq: &mut u64) -> Vec<u8> {
    *seq += 1;
    notification(
        &[contact(SUNITA.0, SUNITA.1)],
        &[text_message(*seq, SUNITA.1, TEXTS[0])],
    )
}

/// One image with a Hindi caption.
fn image_body(seq: &mut u64) -> Vec<u8> {
    *seq += 1;
    notification(&[contact(RAMESH.0, RAMESH.1)], &[image_message(*seq, RAMESH.1)])
}

/// Ten text messages from four senders in one notification (Meta batches under load).
fn batch_body(seq: &mut u64) -> Vec<u8> {
    let people = [SUNITA, RAMESH, KAMLA, ASHOK];
    let contacts: Vec<String> = people.iter().map(|(n, w)| contact(n, w)).collect();
    let messages: Vec<String> = (0..10)
        .map(|i| {
            *seq += 1;
            text_message(*seq, people[i % people.len()].1, TEXTS[i % TEXTS.len()])
        })
        .collect();
    notification(&contacts, &messages)
}

fn signed(body: Vec<u8>) -> Signed {
    let sig = signature::sign(APP_SECRET.as_bytes(), &body);
    Signed { body, sig }
}

struct Stats {
    label: String,
    step: &'static str,
    bytes: usize,
    samples: Vec<Duration>,
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Stats {
    fn row(&self) -> String {
        let mut s = self.samples.clone();
        s.sort_unstable();
        let mean = s.iter().sum::<Duration>() / s.len() as u32;
        format!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            self.label,
            self.step,
            self.bytes,
            s.len(),
            micros(mean),
            micros(percentile(&s, 50.0)),
            micros(percentile(&s, 90.0)),
            micros(percentile(&s, 99.0)),
            micros(s[s.len() - 1]),
        )
    }
}

fn time_sync<T>(inputs: &[Signed], mut f: impl FnMut(&Signed) -> T) -> Vec<Duration> {
    inputs
        .iter()
        .map(|input| {
            let start = Instant::now();
            black_box(f(black_box(input)));
            start.elapsed()
        })
        .collect()
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let iterations: usize = match std::env::var("BENCH_ITERATIONS") {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("BENCH_ITERATIONS={v:?} is not a positive number")),
        Err(_) if bench_mode => 5000,
        Err(_) => 50,
    };
    let warmup = (iterations / 10).clamp(10, 500);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path()).expect("open the database");
    let queue = Arc::new(SqliteQueue::new(db, Duration::from_secs(60), 5));
    let cfg = Arc::new(WebhookConfig {
        app_secret: APP_SECRET.into(),
        verify_token: "sandbox-verify-token".into(),
        phone_number_id: "100000000000001".into(),
        ids: shikayat_core::pseudonym::KeyedHash::new(
            "bench-id-key-0123456789abcdef0123456789",
            "id_key",
            "",
        )
        .expect("id key"),
    });

    type Make = fn(&mut u64) -> Vec<u8>;
    let scenarios: [(&str, usize, Make); 3] = [
        ("text, Hindi (1 msg)", 1, text_body),
        ("image + caption (1 msg)", 1, image_body),
        ("batch (10 msgs)", 10, batch_body),
    ];

    let mut seq = 0u64;
    let mut rows = Vec::new();
    for (label, per_body, make) in scenarios {
        // Warm-up and timed bodies, all with fresh wamids, signed before the clock starts.
        let bodies: Vec<Signed> = (0..warmup + iterations).map(|_| signed(make(&mut seq))).collect();
        let bytes = bodies[0].body.len();
        let (warm, timed) = bodies.split_at(warmup);
        let secret = cfg.app_secret.as_bytes();

        // CPU only: nothing is stored, so the same bodies can go through the full path below.
        for s in warm {
            assert!(signature::verify(secret, &s.body, Some(&s.sig)));
            assert_eq!(parse_notification(&s.body).expect("parse").len(), per_body);
        }
        let verify = time_sync(timed, |s| signature::verify(secret, &s.body, Some(&s.sig)));
        let parse = time_sync(timed, |s| parse_notification(&s.body).map(|e| e.len()));
        let both = time_sync(timed, |s| {
            signature::verify(secret, &s.body, Some(&s.sig)) && parse_notification(&s.body).is_ok()
        });

        // The full POST path, on a runtime worker as under axum.
        let (cfg, queue) = (cfg.clone(), queue.clone());
        let bodies = Arc::new(bodies);
        let full = runtime.block_on(async move {
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(iterations);
                for (i, s) in bodies.iter().enumerate() {
                    let start = Instant::now();
                    let reply = receive(&cfg, queue.as_ref(), Some(&s.sig), &s.body).await;
                    let took = start.elapsed();
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    if i >= warmup {
                        samples.push(took);
                    }
                }
                samples
            })
            .await
            .expect("bench task")
        });

        for (step, samples) in [
            ("receive (verify + parse + enqueue)", full),
            ("verify + parse", both),
            ("verify", verify),
            ("parse", parse),
        ] {
            rows.push(Stats {
                label: label.to_string(),
                step,
                bytes,
                samples,
            });
        }
    }
    rows.push(lambda_rows(&runtime, &cfg, &queue, &mut seq, warmup, iterations));

    let depth = runtime
        .block_on(queue.depth(shikayat_core::command::QueueName::Inbound))
        .expect("depth");

    println!("### webhook POST path, in process");
    println!();
    println!(
        "{iterations} timed iterations per row after {warmup} warm-up; SQLite (WAL, synchronous=FULL) in {}; \
         {depth} messages enqueued in total.",
        dir.path().display()
    );
    println!();
    println!("| body | step | bytes | count | mean µs | p50 µs | p90 µs | p99 µs | max µs |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!("{}", r.row());
    }
}

/// The Lambda entry's whole request path: the Function URL (payload v2) event as JSON, its
/// base64 body decoded by us, then verify + parse + enqueue (into SQLite here; on Lambda the
/// enqueue is an SQS call, whose network time this does not include).
fn lambda_rows(
    runtime: &tokio::runtime::Runtime,
    cfg: &Arc<WebhookConfig>,
    queue: &Arc<SqliteQueue>,
    seq: &mut u64,
    warmup: usize,
    iterations: usize,
) -> Stats {
    use base64::Engine as _;
    let events: Vec<serde_json::Value> = (0..warmup + iterations)
        .map(|_| {
            let s = signed(text_body(seq));
            serde_json::json!({
                "version": "2.0", "routeKey": "$default", "rawPath": "/webhook", "rawQueryString": "",
                "headers": {"content-type": "application/json", "x-hub-signature-256": s.sig},
                "requestContext": {"http": {"method": "POST", "path": "/webhook", "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1", "userAgent": "facebookexternalua"}, "requestId": "r",
                    "routeKey": "$default", "stage": "$default", "timeEpoch": 0},
                "body": base64::engine::general_purpose::STANDARD.encode(&s.body),
                "isBase64Encoded": true,
            })
        })
        .collect();
    let bytes = events[0].to_string().len();
    let (cfg, queue) = (cfg.clone(), queue.clone());
    let samples = runtime.block_on(async move {
        tokio::spawn(async move {
            let mut samples = Vec::with_capacity(iterations);
            for (i, e) in events.into_iter().enumerate() {
                let start = Instant::now();
                let reply = shikayat_webhook::lambda::handle_value(&cfg, queue.as_ref(), e).await;
                let took = start.elapsed();
                assert_eq!(reply.status_code, 200, "{:?}", reply.body);
                if i >= warmup {
                    samples.push(took);
                }
            }
            samples
        })
        .await
        .expect("bench task")
    });
    Stats {
        label: "Lambda v2 event, base64 (1 msg)".into(),
        step: "event → reply (decode + verify + parse + enqueue)",
        bytes,
        samples,
    }
}
