//! Faults on the AWS backend: 10% of DynamoDB and SQS request attempts throttled or failed
//! with a 5xx (`SHIKAYAT_AWS_FAULTS`, an SDK interceptor in the runner), while citizens
//! complain. Nothing may be lost: every citizen gets an ack, the officer every forward.
//!
//! Runs only with `SHIKAYAT_E2E_BACKEND=aws` (moto). `FAULT_COMPLAINTS` sets how many
//! complaints (default 10); the README's full-scale figure uses 200.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

const RATE: &str = "0.1";
/// With nothing new for this long, what is missing is lost: longer than the runner's longest
/// retry backoff (32 s) plus a 60 s visibility timeout (a message whose release failed).
const STALL: Duration = Duration::from_secs(100);
/// After everything arrived: how long to keep looking for doubles.
const QUIET: Duration = Duration::from_secs(8);

fn citizen(i: usize) -> String {
    // 9198100000xx: clear of the demo directory (9190000001xx …).
    format!("9198100{i:05}")
}

fn complaints() -> usize {
    std::env::var("FAULT_COMPLAINTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(10)
}

#[derive(Debug, Default)]
struct Seen {
    /// Acks per citizen, with the complaint numbers they carry.
    acks: BTreeMap<String, Vec<String>>,
    /// Forwards (messages offering the officer `officer:accept:<id>`) per complaint number.
    forwards: BTreeMap<String, usize>,
}

fn observe(desk: &Desk, citizens: &[String]) -> Seen {
    let mut seen = Seen::default();
    for c in citizens {
        let acks = desk
            .sim
            .sent_to(c)
            .iter()
            .map(|m| m.text())
            .filter(|t| t.contains("शिकायत संख्या"))
            .map(|t| number_in(&t).unwrap_or_default())
            .collect();
        seen.acks.insert(c.clone(), acks);
    }
    for m in desk.sim.sent_to(WATER_OFFICER) {
        let Some(id) = number_in(&m.text()) else { continue };
        if m.button_ids().contains(&format!("officer:accept:{id}")) {
            *seen.forwards.entry(id).or_default() += 1;
        }
    }
    seen
}

/// Posts like Meta: a webhook answer other than 200 is retried with the same wamid.
async fn post_complaint(desk: &Desk, from: &str, i: usize) {
    let msg = json!({
        "id": format!("wamid.AWSFAULT-{i}"),
        "type": "text",
        "text": { "body": format!("हैंडपंप से पानी नहीं आ रहा, गली नंबर {i}") },
    });
    let mut wait = Duration::from_millis(200);
    for attempt in 1..=6 {
        match desk.sim.send_message_json(from, msg.clone()).await {
            Ok(_) => return,
            Err(e) if attempt < 6 => {
                eprintln!("webhook post {i} failed ({e:?}); Meta would retry");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => panic!("webhook post {i} failed six times: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_throttling_and_5xx_lose_nothing() {
    if std::env::var("SHIKAYAT_E2E_BACKEND").as_deref() != Ok("aws") {
        println!("skipped: aws_faults needs SHIKAYAT_E2E_BACKEND=aws (moto)");
        return;
    }
    let endpoint = std::env::var("SHIKAYAT_TEST_AWS_ENDPOINT")
        .expect("SHIKAYAT_E2E_BACKEND=aws needs SHIKAYAT_TEST_AWS_ENDPOINT (run ./scripts/test.sh)");
    let n = complaints();
    let tmp = tempfile::tempdir().expect("tempdir");
    // The request log shows each faulted attempt as the stand-in read the injector sent
    // instead (ListTables / ListQueues, which the desk itself never calls).
    let requests = tmp.path().join("requests.tsv");
    let requests_env = requests.to_str().expect("utf-8 path").to_string();
    let config = std::fs::read_to_string(repo_root().join("config/amethi.toml")).expect("config/amethi.toml");
    let mut desk = Desk::start_aws_with_config(
        &endpoint,
        &config,
        &[
            ("SHIKAYAT_AWS_FAULTS", RATE),
            ("SHIKAYAT_COUNT_AWS_REQUESTS", requests_env.as_str()),
        ],
    )
    .await;

    let citizens: Vec<String> = (0..n).map(citizen).collect();
    let started = Instant::now();
    for (i, c) in citizens.iter().enumerate() {
        post_complaint(&desk, c, i).await;
    }

    let complete = |s: &Seen| s.acks.values().all(|a| !a.is_empty()) && s.forwards.len() >= n;
    let progress =
        |s: &Seen| s.acks.values().map(Vec::len).sum::<usize>() + s.forwards.values().sum::<usize>();
    // On moto a complaint takes about a second; a stall, not a fixed deadline, ends the wait.
    let cap = Duration::from_secs(60 + 5 * n as u64);
    let mut seen = observe(&desk, &citizens);
    let (mut last, mut moved) = (progress(&seen), Instant::now());
    while !complete(&seen) && moved.elapsed() < STALL && started.elapsed() < cap {
        tokio::time::sleep(Duration::from_millis(500)).await;
        seen = observe(&desk, &citizens);
        if progress(&seen) != last {
            (last, moved) = (progress(&seen), Instant::now());
        }
    }
    let took = started.elapsed();
    tokio::time::sleep(QUIET).await;
    let seen = observe(&desk, &citizens);
    desk.stop().await;

    let acks_lost = seen.acks.values().filter(|a| a.is_empty()).count();
    let acks_doubled: usize = seen.acks.values().map(|a| a.len().saturating_sub(1)).sum();
    let numbers: BTreeSet<&String> = seen.acks.values().flatten().collect();
    let two_numbers = seen
        .acks
        .values()
        .filter(|a| a.iter().collect::<BTreeSet<_>>().len() > 1)
        .count();
    let forwards_lost = numbers
        .iter()
        .filter(|id| !seen.forwards.contains_key(id.as_str()))
        .count()
        // A complaint whose ack was lost cannot be named; count it missing unless forwarded.
        .max(n.saturating_sub(seen.forwards.len()));
    let forwards_doubled: usize = seen.forwards.values().map(|k| k.saturating_sub(1)).sum();

    let lines = std::fs::read_to_string(&requests).unwrap_or_default();
    let attempts = lines.lines().count();
    let faulted = lines
        .lines()
        .filter(|l| l.contains("\tListTables\t") || l.contains("\tListQueues\t"))
        .count();
    figure(&format!(
        "faults: aws 10% throttling/5xx: complaints {n}, acks lost {acks_lost}, acks doubled {acks_doubled}, \
         forwards lost {forwards_lost}, forwards doubled {forwards_doubled}"
    ));
    figure(&format!(
        "faults: aws 10% throttling/5xx: {faulted} of {attempts} AWS request attempts faulted; \
         {two_numbers} citizens with two complaint numbers; all in after {:.1} s",
        took.as_secs_f64()
    ));
    assert!(
        attempts > 0 && faulted > 0,
        "no fault was injected: is SHIKAYAT_AWS_FAULTS read?"
    );
    assert_eq!(acks_lost, 0, "citizens without an ack: {:?}", seen.acks);
    assert_eq!(forwards_lost, 0, "complaints never forwarded: {:?}", seen);
}
