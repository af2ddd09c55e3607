//! Fault injection, counted from outside: webhook bodies delivered three times, Graph calls
//! failing, the runner killed with SIGKILL. Each scenario registers `FAULT_COMPLAINTS` water
//! complaints (default 20; `scripts/faults.sh` runs 200), one citizen each, every fourth with a
//! photo (but not under SIGKILL, see there), and counts at the simulator what each citizen and the water officer received. It prints
//! one figure line and asserts that nothing was lost (and nothing doubled where the design allows
//! no duplicate).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use shikayat_graph_sim::{FaultPlan, GraphSim, InboundMedia, SentMessage};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::harness::*;

/// Complaints per scenario.
fn complaints() -> usize {
    std::env::var("FAULT_COMPLAINTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(20)
}

/// Seed for shuffles, kill moments and the Graph fault plan (`FAULT_SEED` to replay a run).
fn seed() -> u64 {
    std::env::var("FAULT_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2026)
}

/// Citizen `i`: 91 98000 0xxxx, clear of the directory's 91 90000 00xxx numbers.
fn citizen(i: usize) -> String {
    format!("91980000{i:04}")
}

fn complaint_text(i: usize) -> String {
    format!("हैंडपंप से पानी नहीं आ रहा गांव {i} में")
}

/// What identifies complaint `i` in the officer's forward (its subject), even when its ack is lost.
fn marker(i: usize) -> String {
    format!("गांव {i} में")
}

/// The runner retries a failed command after 2, 4, 8, 16 s (then 32 s, and dead-letters it).
const RETRY_LADDER_SECONDS: u64 = 2 + 4 + 8 + 16;

/// The runner's queue hides a received command this long; after a kill it runs again then.
const VISIBILITY_SECONDS: u64 = 60;

fn has_photo(i: usize) -> bool {
    i % 4 == 0
}

/// Complaint `i`'s webhook notifications, stamped but not yet posted.
struct Prepared {
    text: Vec<u8>,
    photo: Option<Vec<u8>>,
}

/// `photos`: every fourth complaint carries one.
fn prepare(sim: &GraphSim, i: usize, photos: bool) -> Prepared {
    let from = citizen(i);
    let (_, text) = sim
        .prepare_message(
            &from,
            json!({"type": "text", "text": {"body": complaint_text(i)}}),
        )
        .expect("prepare text");
    let photo = (photos && has_photo(i)).then(|| {
        let photo = InboundMedia::image(jpeg(&format!("site-{i}")), Some("हैंडपंप की फ़ोटो"));
        sim.prepare_media(&from, photo).expect("prepare photo").1
    });
    Prepared { text, photo }
}

/// The media id inside a prepared photo notification.
fn media_id(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.pointer("/entry/0/changes/0/value/messages/0/image/id")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Posts one notification until the webhook answers 200, as Meta retries, or gives up at
/// `give_up`. Returns (accepted, failed attempts).
async fn deliver(sim: GraphSim, body: Vec<u8>, give_up: Instant) -> (bool, u32) {
    let mut failed = 0;
    loop {
        let sig = sim.sign(&body);
        if let Ok(200) = sim.post_raw(body.clone(), Some(sig)).await {
            return (true, failed);
        }
        failed += 1;
        if Instant::now() >= give_up {
            return (false, failed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Delivers a complaint: the text, then its photo (each retried until accepted), each body
/// `copies` times at once.
async fn deliver_complaint(sim: GraphSim, p: Prepared, copies: usize, give_up: Instant) -> Posts {
    let mut posts = Posts::default();
    for body in std::iter::once(p.text).chain(p.photo) {
        let mut set = JoinSet::new();
        for _ in 0..copies {
            set.spawn(deliver(sim.clone(), body.clone(), give_up));
        }
        let mut accepted = false;
        while let Some(r) = set.join_next().await {
            let (ok, failed) = r.expect("delivery task");
            accepted |= ok;
            posts.retried += failed as usize;
        }
        if !accepted {
            posts.never_accepted += 1;
        }
    }
    posts
}

#[derive(Default, Clone, Copy)]
struct Posts {
    /// Webhook posts that failed and were posted again.
    retried: usize,
    /// Notifications the webhook never accepted before the give-up time.
    never_accepted: usize,
}

impl std::ops::AddAssign for Posts {
    fn add_assign(&mut self, o: Self) {
        self.retried += o.retried;
        self.never_accepted += o.never_accepted;
    }
}

/// Runs `tasks` at most `width` at a time.
async fn run_limited<F>(tasks: Vec<F>, width: usize) -> Posts
where
    F: std::future::Future<Output = Posts> + Send + 'static,
{
    let mut set = JoinSet::new();
    let mut total = Posts::default();
    for task in tasks {
        if set.len() >= width {
            if let Some(r) = set.join_next().await {
                total += r.expect("complaint task");
            }
        }
        set.spawn(task);
    }
    while let Some(r) = set.join_next().await {
        total += r.expect("complaint task");
    }
    total
}

fn is_ack(m: &SentMessage) -> bool {
    m.text().contains("शिकायत संख्या") && number_in(&m.text()).is_some()
}

/// The officer's new-complaint message: the template outside the window, else the text.
fn is_forward(m: &SentMessage) -> bool {
    m.template_name().as_deref() == Some("shikayat_new_complaint") || m.text().contains("New complaint")
}

/// What the simulator saw, per complaint (indices, never numbers, so it can be printed).
#[derive(Debug, Default, Clone, PartialEq)]
struct Tally {
    complaints: usize,
    /// Citizens without an ack whom the desk, asked for their status, knows no complaint of.
    complaints_lost: Vec<usize>,
    /// Citizens with no ack.
    acks_lost: Vec<usize>,
    /// Acks beyond the first, summed.
    acks_doubled: usize,
    /// Complaints the water officer never got.
    forwards_lost: Vec<usize>,
    /// Forwards beyond the first, summed.
    forwards_doubled: usize,
    /// Citizens who got two complaint numbers (in acks or forwards) for one complaint.
    two_numbers: Vec<usize>,
    /// Citizens asked "same complaint or new?": a message of theirs reached the desk after the
    /// settle window (a slow retry or a long queue), and waits for their answer.
    asked: Vec<usize>,
    /// Photos sent, and those the desk never downloaded.
    photos: usize,
    photos_lost: Vec<usize>,
}

impl Tally {
    fn complete(&self) -> bool {
        self.acks_lost.is_empty() && self.forwards_lost.is_empty() && self.photos_lost.is_empty()
    }

    fn line(&self, name: &str, extra: &str) -> String {
        let photos = if self.photos > 0 {
            format!(", photos lost {} of {}", self.photos_lost.len(), self.photos)
        } else {
            String::new()
        };
        format!(
            "faults: {name}: complaints {}, complaints lost {}, acks lost {}, acks doubled {}, forwards lost {}, forwards doubled {}, complaints with two numbers {}{photos}, asked same-or-new {}{extra}",
            self.complaints,
            self.complaints_lost.len(),
            self.acks_lost.len(),
            self.acks_doubled,
            self.forwards_lost.len(),
            self.forwards_doubled,
            self.two_numbers.len(),
            self.asked.len(),
        )
    }
}

fn tally(sim: &GraphSim, n: usize, photos: &HashMap<usize, String>) -> Tally {
    let sent = sim.sent();
    let mut by_to: HashMap<&str, Vec<&SentMessage>> = HashMap::new();
    for m in &sent {
        by_to.entry(m.to.as_str()).or_default().push(m);
    }
    let forwards: Vec<&SentMessage> = by_to
        .get(WATER_OFFICER)
        .map(|ms| ms.iter().copied().filter(|m| is_forward(m)).collect())
        .unwrap_or_default();
    let downloaded: BTreeSet<String> = sim
        .media_requests()
        .into_iter()
        .filter(|r| r.what == "download" && r.authorized)
        .map(|r| r.media_id)
        .collect();
    let mut t = Tally {
        complaints: n,
        photos: photos.len(),
        ..Tally::default()
    };
    for i in 0..n {
        let who = citizen(i);
        let to_citizen = by_to.get(who.as_str()).map(Vec::as_slice).unwrap_or_default();
        let acks: Vec<&SentMessage> = to_citizen.iter().copied().filter(|m| is_ack(m)).collect();
        if to_citizen
            .iter()
            .any(|m| m.button_ids().iter().any(|b| b.starts_with("burst:")))
        {
            t.asked.push(i);
        }
        let mark = marker(i);
        let fwd: Vec<&&SentMessage> = forwards.iter().filter(|m| m.text().contains(&mark)).collect();
        let numbers: BTreeSet<String> = acks
            .iter()
            .map(|m| m.text())
            .chain(fwd.iter().map(|m| m.text()))
            .filter_map(|text| number_in(&text))
            .collect();
        if acks.is_empty() {
            t.acks_lost.push(i);
        }
        t.acks_doubled += acks.len().saturating_sub(1);
        if fwd.is_empty() {
            t.forwards_lost.push(i);
        }
        t.forwards_doubled += fwd.len().saturating_sub(1);
        if numbers.len() > 1 {
            t.two_numbers.push(i);
        }
        if let Some(id) = photos.get(&i) {
            if !downloaded.contains(id) {
                t.photos_lost.push(i);
            }
        }
    }
    t
}

/// How long `settle` waits.
struct Patience {
    /// Give up at this moment whatever happens.
    deadline: Instant,
    /// Give up when something is missing and nothing has changed at the simulator for this long
    /// (longer than the desk's longest retry backoff, 32 s).
    give_up_quiet: Duration,
    /// Once everything arrived, wait until nothing has changed for this long, so late duplicates
    /// (a retry after a send that had gone out) are counted.
    quiet_after: Duration,
    /// Never finish before this moment (at least a settle window after the last post, when the
    /// forwards are due).
    not_before: Instant,
}

/// Waits until every complaint has its ack, forward and photo download and the simulator has
/// gone quiet, or gives up as `patience` says; returns the count at that moment.
async fn settle(desk: &Desk, n: usize, photos: &HashMap<usize, String>, patience: Patience) -> Tally {
    let sim = &desk.sim;
    let progress = || {
        (
            sim.sent().len(),
            sim.rejected().len(),
            sim.media_requests().len(),
            sim.faults_injected().total(),
        )
    };
    let mut last = progress();
    let mut changed_at = Instant::now();
    loop {
        let p = progress();
        if p != last {
            last = p;
            changed_at = Instant::now();
        }
        let t = tally(sim, n, photos);
        let now = Instant::now();
        let quiet_for = now.duration_since(changed_at);
        let enough_quiet = if t.complete() {
            patience.quiet_after
        } else {
            patience.give_up_quiet
        };
        let done = now >= patience.not_before && quiet_for >= enough_quiet;
        if done || now >= patience.deadline {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Tells a complaint lost outright from one whose ack alone was lost: each citizen without an
/// ack asks for their status, as they would, and those told of no complaint are lost. (Run after
/// the counting: the status replies are not acks or forwards.)
async fn ask_status(desk: &Desk, t: &mut Tally) {
    for &i in &t.acks_lost {
        let who = citizen(i);
        let asked = desk.sim.send_text(&who, "status").await;
        let answer = desk
            .sim
            .wait_for(
                &who,
                |m| m.text().contains("Your complaints") || m.text().contains("No complaint is registered"),
                WAIT,
            )
            .await;
        let known = asked.is_ok() && answer.is_ok_and(|m| number_in(&m.text()).is_some());
        if !known {
            t.complaints_lost.push(i);
        }
    }
}

/// 60 s plus a second per complaint, plus the settle window: when the test gives up.
fn deadline(desk: &Desk, n: usize) -> Instant {
    Instant::now() + Duration::from_secs(60 + n as u64 + desk.settle_seconds)
}

/// A settle window (and a little) from now: when the last forwards are due.
fn forwards_due(desk: &Desk) -> Instant {
    Instant::now() + Duration::from_secs(desk.settle_seconds + 5)
}

fn photo_ids(prepared: &[(usize, Prepared)]) -> HashMap<usize, String> {
    prepared
        .iter()
        .filter_map(|(i, p)| Some((*i, media_id(p.photo.as_ref()?)?)))
        .collect()
}

fn assert_nothing_lost(t: &Tally, posts: Posts) {
    let mut lost = Vec::new();
    if posts.never_accepted > 0 {
        lost.push(format!(
            "{} notifications never accepted by the webhook",
            posts.never_accepted
        ));
    }
    for (what, which) in [
        ("complaints lost", &t.complaints_lost),
        ("acks lost", &t.acks_lost),
        ("forwards lost", &t.forwards_lost),
        ("photos never downloaded", &t.photos_lost),
        ("complaints with two numbers", &t.two_numbers),
    ] {
        if !which.is_empty() {
            lost.push(format!("{what}: complaints {which:?}"));
        }
    }
    assert!(lost.is_empty(), "{}", lost.join("; "));
}

fn assert_nothing_doubled(t: &Tally) {
    assert_eq!(t.acks_doubled, 0, "acks doubled");
    assert_eq!(t.forwards_doubled, 0, "forwards doubled");
}

/// Every notification posted three times at once; complaints in a shuffled order, eight at a time.
#[tokio::test(flavor = "multi_thread")]
async fn every_webhook_body_delivered_three_times() {
    let desk = Desk::start().await;
    let n = complaints();
    let mut rng = StdRng::seed_from_u64(seed());
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let prepared: Vec<(usize, Prepared)> = order
        .into_iter()
        .map(|i| (i, prepare(&desk.sim, i, true)))
        .collect();
    let photos = photo_ids(&prepared);
    let give_up = deadline(&desk, n);
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|(_, p)| deliver_complaint(desk.sim.clone(), p, 3, give_up))
        .collect();
    let posts = run_limited(tasks, 8).await;
    let patience = Patience {
        deadline: deadline(&desk, n),
        give_up_quiet: Duration::from_secs(40),
        quiet_after: Duration::from_secs(5),
        not_before: forwards_due(&desk),
    };
    let mut t = settle(&desk, n, &photos, patience).await;
    ask_status(&desk, &mut t).await;
    figure(&t.line(
        "every body delivered 3 times",
        &format!(", webhook posts retried {}", posts.retried),
    ));
    assert_nothing_lost(&t, posts);
    assert_nothing_doubled(&t);
}

/// 10% of Graph calls answered 5xx, 3% 429 or 131056, 1% dropped: sends, media lookups and
/// downloads alike. A failed call is retried; none may be lost, and with no crash none doubled.
#[tokio::test(flavor = "multi_thread")]
async fn graph_failing_with_5xx_429_and_drops() {
    // The desk retries a failed command after 2, 4, 8 and 16 s. A photo retried after the
    // settle window ends is asked about ("same complaint or new?") instead of joining, which
    // production's 2-minute window never sees from these retries; so the window here outlasts them.
    let desk = Desk::start_with(RETRY_LADDER_SECONDS + 5).await;
    let n = complaints();
    desk.sim.set_faults(FaultPlan {
        server_error: 0.10,
        rate_limit: 0.03,
        drop: 0.01,
        seed: seed(),
    });
    let prepared: Vec<(usize, Prepared)> = (0..n).map(|i| (i, prepare(&desk.sim, i, true))).collect();
    let photos = photo_ids(&prepared);
    let give_up = deadline(&desk, n);
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|(_, p)| deliver_complaint(desk.sim.clone(), p, 1, give_up))
        .collect();
    let posts = run_limited(tasks, 8).await;
    // A retry may wait up to 32 s: quiet for longer than that means none is pending.
    let patience = Patience {
        deadline: deadline(&desk, n),
        give_up_quiet: Duration::from_secs(40),
        quiet_after: Duration::from_secs(35),
        not_before: forwards_due(&desk),
    };
    let mut t = settle(&desk, n, &photos, patience).await;
    ask_status(&desk, &mut t).await;
    let f = desk.sim.faults_injected();
    let officer_faulted = desk
        .sim
        .faulted()
        .iter()
        .filter(|r| r.what == "messages" && r.target == WATER_OFFICER)
        .count();
    figure(&t.line(
        "graph 5xx/429/drop",
        &format!(
            ", faults injected {} (5xx {}, 429 {}, 131056 {}, dropped {}; {} on sends to the officer)",
            f.total(),
            f.server_error,
            f.rate_limit,
            f.pair_rate,
            f.dropped,
            officer_faulted
        ),
    ));
    assert_nothing_lost(&t, posts);
    assert_nothing_doubled(&t);
}

/// A steady stream (20 text complaints a second) while the runner is killed with SIGKILL at random
/// moments and restarted on the same data dir; "Meta" keeps retrying what the webhook did not
/// accept. Nothing may be lost; re-sends after a kill are allowed, and counted.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_under_a_steady_stream() {
    // Text only: work in flight at a kill runs again after the queue's 60 s visibility timeout,
    // and a photo coming back after the (test's 2 s) settle window would be asked about instead of
    // joining, which production's 2-minute window never sees from this.
    let mut desk = Desk::start().await;
    let n = complaints();
    let kills = (n / 40).clamp(2, 5);
    let mut rng = StdRng::seed_from_u64(seed());
    let gaps: Vec<Duration> = (0..kills)
        .map(|_| Duration::from_millis(rng.gen_range(300..1500)))
        .collect();
    let prepared: Vec<(usize, Prepared)> = (0..n).map(|i| (i, prepare(&desk.sim, i, false))).collect();
    let photos = photo_ids(&prepared);
    // Meta retries for much longer; this only bounds the test.
    let give_up = deadline(&desk, n);

    let sim = desk.sim.clone();
    let stream = tokio::spawn(async move {
        let mut set = JoinSet::new();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        for (_, p) in prepared {
            tick.tick().await;
            set.spawn(deliver_complaint(sim.clone(), p, 1, give_up));
        }
        let mut posts = Posts::default();
        while let Some(r) = set.join_next().await {
            posts += r.expect("complaint task");
        }
        posts
    });
    for gap in gaps {
        tokio::time::sleep(gap).await;
        desk.kill9().await;
        desk.start_again().await;
    }
    let last_kill = Instant::now();
    let posts = stream.await.expect("stream");
    // Wait past the visibility timeout after the last kill before counting, so the re-sends of
    // work that was in flight are seen.
    let patience = Patience {
        deadline: deadline(&desk, n) + Duration::from_secs(VISIBILITY_SECONDS),
        give_up_quiet: Duration::from_secs(40),
        quiet_after: Duration::from_secs(5),
        not_before: forwards_due(&desk).max(last_kill + Duration::from_secs(VISIBILITY_SECONDS + 5)),
    };
    let mut t = settle(&desk, n, &photos, patience).await;
    ask_status(&desk, &mut t).await;
    figure(&t.line(
        &format!("SIGKILL x{kills} under 20 complaints/s, restarted on the same data dir"),
        &format!(
            " (doubles here are re-sends after a kill), webhook posts retried {}",
            posts.retried
        ),
    ));
    assert_nothing_lost(&t, posts);
}
