//! One behaviour suite for every port, run against the embedded adapters (SQLite, a folder) and
//! the AWS adapters (DynamoDB, S3, SQS on moto), so the two cannot drift.
//!
//! Each check is written once against the port traits; `conformance!` makes two tests of it,
//! `embedded::<check>` and `aws::<check>`. The AWS half needs `SHIKAYAT_TEST_AWS_ENDPOINT`
//! (`./scripts/test.sh` starts moto and sets it); without it those tests fail, never skip.
//! Every AWS test provisions its own resources under a unique prefix, so tests run in parallel
//! on one moto server and never see each other's data.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use shikayat_core::command::{Command, Envelope, Outbound, QueueName};
use shikayat_core::complaint::{Actor, Complaint, Status, TimelineEntry};
use shikayat_core::config::{DistrictConfig, Person, Role};
use shikayat_core::conversation::{Conversation, Draft};
use shikayat_core::ids::{ComplaintId, Phone};
use shikayat_core::inbound::DeliveryStatus;
use shikayat_core::ports::{
    ComplaintStore, Conversations, Directory, MediaStore, MessageLog, OutboundRecord, PortError, Queue,
};

use crate::aws::{AwsClients, AwsNames, DynamoStore, ProvisionOptions};
use crate::consumer::{Delivery, QueueConsumer};
use crate::embedded::{Db, FolderMedia, SqliteQueue, SqliteStore};

/// Short, so redelivery tests take seconds.
const VISIBILITY: Duration = Duration::from_secs(1);
const MAX_RECEIVES: u32 = 5;

enum Loader {
    Sqlite(SqliteStore),
    Dynamo(Arc<DynamoStore>),
}

/// One backend's adapters, seen only through the ports.
struct Adapters {
    complaints: Arc<dyn ComplaintStore>,
    messages: Arc<dyn MessageLog>,
    conversations: Arc<dyn Conversations>,
    directory: Arc<dyn Directory>,
    loader: Loader,
    media: Arc<dyn MediaStore>,
    queue: Arc<dyn Queue>,
    consumer: Arc<dyn QueueConsumer>,
    /// Where moto differs from AWS, a check says so and is left out on moto.
    on_moto: bool,
    _keep: Option<tempfile::TempDir>,
}

impl Adapters {
    async fn load_directory(&self, cfg: &DistrictConfig) {
        match &self.loader {
            Loader::Sqlite(s) => s.load_directory(cfg).await,
            Loader::Dynamo(s) => s.load_directory(cfg).await,
        }
        .expect("load directory");
    }
}

async fn embedded() -> Adapters {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path()).expect("db");
    let store = SqliteStore::new(db.clone());
    let queue = Arc::new(SqliteQueue::new(db, VISIBILITY, MAX_RECEIVES));
    Adapters {
        complaints: Arc::new(store.clone()),
        messages: Arc::new(store.clone()),
        conversations: Arc::new(store.clone()),
        directory: Arc::new(store.clone()),
        loader: Loader::Sqlite(store),
        media: Arc::new(FolderMedia::new(dir.path().join("media"))),
        queue: queue.clone(),
        consumer: queue,
        on_moto: false,
        _keep: Some(dir),
    }
}

/// A prefix no other test (in this run or an earlier one on the same server) uses; also a
/// valid bucket name stem (lowercase, digits, hyphens).
fn unique_prefix() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "c{}-{}-{nanos}-",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn aws() -> Adapters {
    let endpoint = std::env::var("SHIKAYAT_TEST_AWS_ENDPOINT").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "SHIKAYAT_TEST_AWS_ENDPOINT is not set: the AWS conformance tests need moto. Run ./scripts/test.sh \
         (or `eval \"$(scripts/moto.sh start)\"` first)"
    );
    // Configured here rather than through the process environment, which parallel tests share.
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("ap-south-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "conformance",
        ))
        .load()
        .await;
    let clients = AwsClients::from_conf(&shared);
    let names = AwsNames::with_prefix(unique_prefix());
    let opts = ProvisionOptions {
        visibility_timeout: VISIBILITY,
        max_receives: MAX_RECEIVES,
    };
    crate::aws::provision_with(&clients, &names, &opts)
        .await
        .unwrap_or_else(|e| panic!("provision on {endpoint}: {e}"));
    let parts = crate::aws::ports_parts(&clients, &names).await.expect("ports");
    Adapters {
        complaints: parts.store.clone(),
        messages: parts.store.clone(),
        conversations: parts.store.clone(),
        directory: parts.store.clone(),
        loader: Loader::Dynamo(parts.store),
        media: parts.media,
        queue: parts.queue.clone(),
        consumer: parts.queue,
        on_moto: true,
        _keep: None,
    }
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(&super::embedded().await).await;
                }
            )*
        }
        mod aws {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(&super::aws().await).await;
                }
            )*
        }
    };
}

conformance!(
    create_get_and_conflicting_create,
    second_writer_on_the_same_version_gets_conflict,
    timeline_keeps_write_order,
    counters_increment_per_district_and_year,
    registers_and_lists,
    department_open_and_closed_registers,
    open_action_due_reads_only_open_complaints_with_something_scheduled,
    every_list_returns_whole_complaints,
    long_lists_come_back_whole,
    outbound_by_wamid_and_part,
    status_only_moves_forward,
    done_keys_dedupe,
    conversation_put_is_conditional,
    send_slots_follow_the_pair_rate_across_writers,
    outbox_clears_only_at_its_version,
    directory_queries_and_reload,
    media_round_trip,
    send_receive_ack_and_delay,
    release_redelivers_with_a_higher_receive_count,
    fifo_keeps_group_order,
    fifo_dedupes_on_key,
    send_batch_splits_by_ten_and_queue_and_keeps_order,
    poison_message_dead_letters_after_five_receives,
    poison_on_fifo_dead_letters_and_unblocks_its_group,
);

// ---- fixtures ----

/// 2026-03-01T00:00:00Z plus `secs`.
fn at(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .expect("base")
        .with_timezone(&Utc)
        + chrono::Duration::seconds(secs)
}

fn complaint(seq: u64, complainant: &str, created: DateTime<Utc>) -> Complaint {
    Complaint::new(
        ComplaintId::new("AMT", 2026, seq),
        Phone::new(complainant),
        None,
        created,
    )
}

fn entry(when: DateTime<Utc>, event: &str) -> TimelineEntry {
    TimelineEntry {
        at: when,
        actor: Actor::System,
        event: event.into(),
        from: Status::Registered,
        to: Status::Registered,
        detail: String::new(),
    }
}

fn ids(v: Vec<Complaint>) -> Vec<String> {
    v.into_iter().map(|c| c.id.as_str()[9..].to_string()).collect()
}

fn events(v: Vec<TimelineEntry>) -> Vec<String> {
    v.into_iter().map(|e| e.event).collect()
}

// ---- ComplaintStore ----

async fn create_get_and_conflicting_create(a: &Adapters) {
    let s = &a.complaints;
    let mut c = complaint(1, "919800000001", at(0));
    c.text = "पानी नहीं आ रहा".into();
    c.department = Some("water".into());
    c.due_at = Some(at(3600));
    s.create(&mut c, &[entry(at(0), "registered")])
        .await
        .expect("create");
    assert_eq!(c.version, 1);
    assert_eq!(s.get(&c.id).await.expect("get"), Some(c.clone()));
    let mut again = complaint(1, "919800000002", at(1));
    assert!(matches!(
        s.create(&mut again, &[]).await,
        Err(PortError::Conflict(_))
    ));
    assert_eq!(
        again.version, 0,
        "a failed write leaves the caller's version alone"
    );
    assert_eq!(events(s.timeline(&c.id).await.expect("timeline")), ["registered"]);
    assert_eq!(
        s.get(&ComplaintId::new("AMT", 2026, 99)).await.expect("get"),
        None
    );
}

async fn second_writer_on_the_same_version_gets_conflict(a: &Adapters) {
    let s = &a.complaints;
    let mut c = complaint(1, "919800000001", at(0));
    s.create(&mut c, &[entry(at(0), "registered")])
        .await
        .expect("create");
    let mut first = s.get(&c.id).await.expect("get").expect("present");
    let mut second = first.clone();
    first.department = Some("water".into());
    first.status = Status::Forwarded;
    s.update(&mut first, &[entry(at(1), "forwarded")])
        .await
        .expect("first writer");
    assert_eq!(first.version, 2);
    second.department = Some("roads".into());
    assert!(matches!(
        s.update(&mut second, &[entry(at(1), "lost")]).await,
        Err(PortError::Conflict(_))
    ));
    assert_eq!(second.version, 1);
    let stored = s.get(&c.id).await.expect("get").expect("present");
    assert_eq!((stored.version, stored.department.as_deref()), (2, Some("water")));
    assert_eq!(stored, first);
    assert_eq!(
        events(s.timeline(&c.id).await.expect("timeline")),
        ["registered", "forwarded"],
        "the losing write appended nothing"
    );
    let mut ghost = complaint(7, "919800000001", at(0));
    ghost.version = 1;
    assert!(matches!(
        s.update(&mut ghost, &[]).await,
        Err(PortError::NotFound(_))
    ));
}

async fn timeline_keeps_write_order(a: &Adapters) {
    let s = &a.complaints;
    let mut c = complaint(1, "919800000001", at(0));
    s.create(&mut c, &[entry(at(0), "registered"), entry(at(0), "media")])
        .await
        .expect("create");
    // Written later with an earlier timestamp: still after; order is the order of writes.
    s.update(&mut c, &[entry(at(-5), "forwarded"), entry(at(9), "accepted")])
        .await
        .expect("update");
    s.update(&mut c, &[]).await.expect("update without entries");
    s.update(&mut c, &[entry(at(3), "reported")])
        .await
        .expect("update");
    let got = s.timeline(&c.id).await.expect("timeline");
    assert_eq!(got[2], entry(at(-5), "forwarded"), "entries come back whole");
    assert_eq!(
        events(got),
        ["registered", "media", "forwarded", "accepted", "reported"]
    );
    assert!(s
        .timeline(&ComplaintId::new("AMT", 2026, 2))
        .await
        .expect("none")
        .is_empty());
}

async fn counters_increment_per_district_and_year(a: &Adapters) {
    let s = a.complaints.clone();
    assert_eq!(s.next_sequence("AMT", 2026).await.expect("seq"), 1);
    assert_eq!(s.next_sequence("AMT", 2026).await.expect("seq"), 2);
    assert_eq!(s.next_sequence("amt", 2026).await.expect("seq"), 3);
    assert_eq!(s.next_sequence("AMT", 2027).await.expect("seq"), 1);
    assert_eq!(s.next_sequence("SLN", 2026).await.expect("seq"), 1);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { s.next_sequence("AMT", 2026).await }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.expect("join").expect("seq"));
    }
    got.sort_unstable();
    assert_eq!(
        got,
        (4..24).collect::<Vec<u64>>(),
        "concurrent callers never share a number"
    );
}

async fn registers_and_lists(a: &Adapters) {
    let s = &a.complaints;
    let citizen = Phone::new("919800000001");
    let officer = Phone::new("919000000001");
    let mk = |n: u64, hours: i64, dept: Option<&str>, due: Option<i64>, status: Status| {
        let mut c = complaint(n, citizen.as_str(), at(hours * 3600));
        c.department = dept.map(String::from);
        c.officer = dept.map(|_| officer.clone());
        c.due_at = due.map(|h| at(h * 3600));
        c.status = status;
        c
    };
    for c in [
        mk(1, 0, Some("water"), Some(50), Status::Forwarded),
        mk(2, 1, Some("water"), Some(30), Status::Forwarded),
        mk(3, 2, Some("water"), Some(10), Status::Closed),
        mk(4, 3, None, None, Status::Registered),
        mk(5, 4, Some("roads"), Some(20), Status::Reopened),
        mk(6, 5, None, None, Status::Rejected),
        mk(7, 6, Some("water"), None, Status::Registered),
        // Same creation time as #2: ties go by number.
        mk(8, 1, Some("water"), Some(60), Status::Forwarded),
    ] {
        s.create(&mut c.clone(), &[]).await.expect("create");
    }
    // [from, to): the complaint created exactly at `to` is left out.
    assert_eq!(
        ids(s
            .by_department("water", at(0), at(2 * 3600))
            .await
            .expect("register")),
        ["000001", "000002", "000008"]
    );
    assert_eq!(
        ids(s
            .by_department("water", at(3600), at(100 * 3600))
            .await
            .expect("register")),
        ["000002", "000008", "000003", "000007"]
    );
    assert!(s
        .by_department("health", at(0), at(100 * 3600))
        .await
        .expect("none")
        .is_empty());

    assert_eq!(
        ids(s.open_due_before(at(40 * 3600), 10).await.expect("due")),
        ["000005", "000002"],
        "open only, soonest first, closed #3 left out"
    );
    assert_eq!(
        ids(s.open_due_before(at(100 * 3600), 2).await.expect("due")),
        ["000005", "000002"]
    );
    assert_eq!(ids(s.unassigned().await.expect("unassigned")), ["000004"]);
    assert_eq!(
        ids(s.by_complainant(&citizen).await.expect("mine")),
        ["000007", "000006", "000005", "000004", "000003", "000008", "000002", "000001"]
    );
    assert_eq!(
        ids(s.open_by_officer(&officer).await.expect("pending")),
        ["000005", "000002", "000001", "000008", "000007"],
        "soonest due first, no deadline last, closed left out"
    );
    assert!(s
        .by_complainant(&Phone::new("910"))
        .await
        .expect("none")
        .is_empty());

    // Closing one takes it out of every open list; assigning one takes it off unassigned.
    let mut c5 = s
        .get(&ComplaintId::new("AMT", 2026, 5))
        .await
        .expect("get")
        .expect("c5");
    c5.status = Status::Closed;
    s.update(&mut c5, &[]).await.expect("close");
    let mut c4 = s
        .get(&ComplaintId::new("AMT", 2026, 4))
        .await
        .expect("get")
        .expect("c4");
    c4.department = Some("roads".into());
    s.update(&mut c4, &[]).await.expect("assign");
    assert_eq!(
        ids(s.open_due_before(at(40 * 3600), 10).await.expect("due")),
        ["000002"]
    );
    assert!(s.unassigned().await.expect("unassigned").is_empty());
    assert_eq!(
        ids(s.open_by_officer(&officer).await.expect("pending")),
        ["000002", "000001", "000008", "000007"]
    );
}

async fn department_open_and_closed_registers(a: &Adapters) {
    let s = &a.complaints;
    let mk = |n: u64, hours: i64, dept: Option<&str>, status: Status, closed: Option<i64>| {
        let mut c = complaint(n, "919800000001", at(hours * 3600));
        c.department = dept.map(String::from);
        c.status = status;
        c.closed_at = closed.map(|h| at(h * 3600));
        c
    };
    for c in [
        mk(1, 2, Some("water"), Status::Forwarded, None),
        mk(2, 0, Some("water"), Status::Reopened, None),
        mk(3, 1, Some("water"), Status::Closed, Some(30)),
        mk(4, 1, Some("water"), Status::Rejected, Some(10)),
        mk(5, 1, Some("roads"), Status::Forwarded, None),
        mk(6, 1, None, Status::Registered, None),
        mk(7, 1, Some("roads"), Status::Closed, Some(31)),
        // Closed exactly at the window's end: left out.
        mk(8, 1, Some("water"), Status::Closed, Some(48)),
    ] {
        s.create(&mut c.clone(), &[]).await.expect("create");
    }
    assert_eq!(
        ids(s.open_by_department("water").await.expect("open")),
        ["000002", "000001"],
        "open only, oldest first"
    );
    assert_eq!(
        ids(s.open_by_department("roads").await.expect("open")),
        ["000005"]
    );
    assert!(s.open_by_department("health").await.expect("none").is_empty());
    assert_eq!(
        ids(s
            .by_department("water", at(0), at(2 * 3600))
            .await
            .expect("register")),
        ["000002", "000003", "000004", "000008"],
        "the register holds what was created in it, open or closed since, whenever closed"
    );
    assert_eq!(
        ids(s
            .closed_by_department("water", at(24 * 3600), at(48 * 3600))
            .await
            .expect("closed")),
        ["000003"]
    );
    assert_eq!(
        ids(s
            .closed_by_department("water", at(0), at(49 * 3600))
            .await
            .expect("closed")),
        ["000004", "000003", "000008"]
    );
    // Closing one moves it from the open register to the closed one.
    let mut c1 = s
        .get(&ComplaintId::new("AMT", 2026, 1))
        .await
        .expect("get")
        .expect("c1");
    c1.status = Status::Closed;
    c1.closed_at = Some(at(40 * 3600));
    s.update(&mut c1, &[]).await.expect("close");
    assert_eq!(
        ids(s.open_by_department("water").await.expect("open")),
        ["000002"]
    );
    assert_eq!(
        ids(s
            .by_department("water", at(2 * 3600), at(3 * 3600))
            .await
            .expect("register")),
        ["000001"],
        "closing leaves it in the register of when it was created"
    );
    assert_eq!(
        ids(s
            .closed_by_department("water", at(24 * 3600), at(48 * 3600))
            .await
            .expect("closed")),
        ["000003", "000001"]
    );
}

async fn open_action_due_reads_only_open_complaints_with_something_scheduled(a: &Adapters) {
    let s = &a.complaints;
    let mk = |n: u64, next: Option<i64>, status: Status| {
        let mut c = complaint(n, "919800000001", at(0));
        c.next_action_at = next.map(at);
        c.status = status;
        c
    };
    for c in [
        mk(1, Some(50), Status::Forwarded),
        mk(2, Some(10), Status::ReportDelivered),
        mk(3, Some(5), Status::Closed),
        mk(4, None, Status::Forwarded),
        mk(5, Some(100), Status::Forwarded),
    ] {
        s.create(&mut c.clone(), &[]).await.expect("create");
    }
    assert_eq!(
        ids(s.open_action_due(at(50), 10).await.expect("due")),
        ["000002", "000001"]
    );
    assert_eq!(ids(s.open_action_due(at(500), 1).await.expect("due")), ["000002"]);
    assert_eq!(
        ids(s.open_action_due(at(500), 10).await.expect("due")),
        ["000002", "000001", "000005"]
    );
    // Moving the schedule on takes it out of the window; clearing it, out of the index.
    let mut c = s
        .get(&ComplaintId::new("AMT", 2026, 2))
        .await
        .expect("get")
        .expect("c");
    c.next_action_at = Some(at(400));
    s.update(&mut c, &[]).await.expect("update");
    assert_eq!(ids(s.open_action_due(at(50), 10).await.expect("due")), ["000001"]);
    let mut c = s
        .get(&ComplaintId::new("AMT", 2026, 1))
        .await
        .expect("get")
        .expect("c");
    c.next_action_at = None;
    s.update(&mut c, &[]).await.expect("update");
    assert!(s.open_action_due(at(50), 10).await.expect("due").is_empty());
}

/// The DynamoDB indexes hold keys only: every list must still return the stored complaint, whole.
async fn every_list_returns_whole_complaints(a: &Adapters) {
    let s = &a.complaints;
    let citizen = Phone::new("919800000001");
    let officer = Phone::new("919000000001");
    let mut c = complaint(1, citizen.as_str(), at(0));
    c.complainant_name = Some("सीता".into());
    c.text = "हैंडपंप खराब है, तीन दिन से पानी नहीं".into();
    c.location = Some(shikayat_core::complaint::Location {
        latitude: 23.18,
        longitude: 77.41,
        name: Some("वार्ड 12".into()),
        address: None,
    });
    c.wamids = vec!["wamid.one".into(), "wamid.two".into()];
    c.status = Status::Forwarded;
    c.department = Some("water".into());
    c.officer = Some(officer.clone());
    c.forwarded_at = Some(at(60));
    c.due_at = Some(at(3600));
    c.next_action_at = Some(at(600));
    c.reminders_sent = vec![0];
    s.create(&mut c, &[entry(at(0), "registered")])
        .await
        .expect("create");
    let mut u = complaint(2, citizen.as_str(), at(10));
    u.text = "सड़क पर गड्ढा".into();
    s.create(&mut u, &[]).await.expect("create");
    let stored = s.get(&c.id).await.expect("get").expect("stored");
    let stored_u = s.get(&u.id).await.expect("get").expect("stored");
    assert_eq!(stored, c);
    let lists = [
        ("by_complainant", s.by_complainant(&citizen).await.expect("mine")),
        (
            "open_by_officer",
            s.open_by_officer(&officer).await.expect("pending"),
        ),
        (
            "by_department",
            s.by_department("water", at(0), at(60)).await.expect("register"),
        ),
        (
            "open_by_department",
            s.open_by_department("water").await.expect("open"),
        ),
        (
            "open_due_before",
            s.open_due_before(at(7200), 10).await.expect("due"),
        ),
        (
            "open_action_due",
            s.open_action_due(at(600), 10).await.expect("action"),
        ),
        ("unassigned", s.unassigned().await.expect("unassigned")),
    ];
    for (name, v) in lists {
        let want = if name == "unassigned" { &stored_u } else { &stored };
        let got = v
            .iter()
            .find(|x| x.id == want.id)
            .unwrap_or_else(|| panic!("{name}: missing"));
        assert_eq!(got, want, "{name}");
    }
    // Closed: out of every open list, in the closed register, still whole.
    let mut closed = stored.clone();
    closed.status = Status::Closed;
    closed.closed_at = Some(at(1800));
    closed.next_action_at = None;
    s.update(&mut closed, &[entry(at(1800), "closed")])
        .await
        .expect("close");
    assert!(s.open_by_officer(&officer).await.expect("pending").is_empty());
    assert!(s.open_by_department("water").await.expect("open").is_empty());
    assert!(s.open_due_before(at(7200), 10).await.expect("due").is_empty());
    assert!(s.open_action_due(at(7200), 10).await.expect("action").is_empty());
    assert_eq!(
        s.closed_by_department("water", at(0), at(3600))
            .await
            .expect("closed"),
        [closed.clone()]
    );
    assert_eq!(
        s.by_department("water", at(0), at(60)).await.expect("register"),
        [closed]
    );
}

/// More than one `BatchGetItem` (100 keys) of complaints, in order, each whole.
async fn long_lists_come_back_whole(a: &Adapters) {
    let s = &a.complaints;
    let citizen = "919800000009";
    let mut want = Vec::new();
    for i in 1..=105u64 {
        let mut c = complaint(i, citizen, at(i as i64 * 60));
        c.text = format!("शिकायत {i}");
        c.department = Some("roads".into());
        c.status = Status::Forwarded;
        c.next_action_at = Some(at(i as i64));
        s.create(&mut c, &[]).await.expect("create");
        want.push(c);
    }
    let mine = s.by_complainant(&Phone::new(citizen)).await.expect("mine");
    let mut newest_first = want.clone();
    newest_first.reverse();
    assert_eq!(mine, newest_first);
    assert_eq!(s.open_by_department("roads").await.expect("open"), want);
    assert_eq!(
        s.open_action_due(at(1000), 103).await.expect("action"),
        want[..103],
        "earliest first across the shards, cut at the limit"
    );
}

// ---- MessageLog ----

fn rec(wamid: &str, key: &str, part: u32) -> OutboundRecord {
    OutboundRecord {
        wamid: wamid.into(),
        to: Phone::new("919800000001"),
        complaint: Some(ComplaintId::new("AMT", 2026, 1)),
        kind: "ack".into(),
        command_key: key.into(),
        part,
        status: DeliveryStatus::Accepted,
        error: None,
        at: at(0),
    }
}

async fn outbound_by_wamid_and_part(a: &Adapters) {
    let s = &a.messages;
    let first = rec("wamid.A", "deliver:AMT-2026-000001", 0);
    let second = OutboundRecord {
        complaint: None,
        ..rec("wamid.B", "deliver:AMT-2026-000001", 1)
    };
    s.record_outbound(&first).await.expect("record a");
    s.record_outbound(&second).await.expect("record b");
    assert_eq!(s.outbound("wamid.A").await.expect("get"), Some(first.clone()));
    assert_eq!(
        s.outbound_part("deliver:AMT-2026-000001", 1).await.expect("part"),
        Some(second)
    );
    assert_eq!(
        s.outbound_part("deliver:AMT-2026-000001", 2).await.expect("part"),
        None
    );
    assert_eq!(s.outbound_part("other", 0).await.expect("part"), None);
    assert_eq!(s.outbound("wamid.nope").await.expect("get"), None);
    // Re-recording the same message is harmless; another wamid for the same part is not.
    s.record_outbound(&first).await.expect("same again");
    assert!(matches!(
        s.record_outbound(&rec("wamid.C", "deliver:AMT-2026-000001", 0))
            .await,
        Err(PortError::Conflict(_))
    ));
    assert_eq!(
        s.outbound("wamid.C").await.expect("get"),
        None,
        "the loser left nothing"
    );
}

async fn status_only_moves_forward(a: &Adapters) {
    let s = &a.messages;
    s.record_outbound(&rec("wamid.A", "k", 0)).await.expect("record");
    let st = |r: Option<OutboundRecord>| r.map(|r| r.status);
    let up = |status| s.update_status("wamid.A", status, None);
    assert_eq!(
        st(up(DeliveryStatus::Read).await.expect("read")),
        Some(DeliveryStatus::Read)
    );
    assert_eq!(
        st(up(DeliveryStatus::Delivered).await.expect("late")),
        Some(DeliveryStatus::Read)
    );
    assert_eq!(
        st(up(DeliveryStatus::Sent).await.expect("late")),
        Some(DeliveryStatus::Read)
    );
    assert_eq!(
        st(up(DeliveryStatus::Read).await.expect("again")),
        Some(DeliveryStatus::Read)
    );
    let failed = s
        .update_status(
            "wamid.A",
            DeliveryStatus::Failed,
            Some("131026 undeliverable".into()),
        )
        .await
        .expect("failed")
        .expect("present");
    assert_eq!(
        (failed.status, failed.error.as_deref()),
        (DeliveryStatus::Failed, Some("131026 undeliverable"))
    );
    assert_eq!(
        st(up(DeliveryStatus::Played).await.expect("after")),
        Some(DeliveryStatus::Failed)
    );
    // Re-recording after the statuses arrived keeps them.
    s.record_outbound(&rec("wamid.A", "k", 0)).await.expect("again");
    let stored = s.outbound("wamid.A").await.expect("get").expect("present");
    assert_eq!(
        (stored.status, stored.error.as_deref()),
        (DeliveryStatus::Failed, Some("131026 undeliverable"))
    );
    assert_eq!(
        s.update_status("wamid.unknown", DeliveryStatus::Read, None)
            .await
            .expect("unknown"),
        None
    );
}

async fn done_keys_dedupe(a: &Adapters) {
    let s = &a.messages;
    assert!(!s.is_done("wamid.IN1").await.expect("fresh"));
    assert!(!s.is_done("wamid.IN1").await.expect("checking is not claiming"));
    s.mark_done("wamid.IN1").await.expect("mark");
    s.mark_done("wamid.IN1").await.expect("mark twice");
    assert!(s.is_done("wamid.IN1").await.expect("done"));
    assert!(!s.is_done("wamid.IN2").await.expect("other"));
    // A done key and an outbound record with the same text do not collide.
    s.mark_done("wamid.OUT").await.expect("mark");
    assert_eq!(s.outbound("wamid.OUT").await.expect("get"), None);
    s.record_outbound(&rec("wamid.OUT", "k", 0))
        .await
        .expect("record");
    assert!(s.is_done("wamid.OUT").await.expect("still done"));
}

// ---- Conversations ----

/// Four writers race for slots to one person: exactly the burst goes at once, the rest are told
/// to wait, and the conversation's own version never moves for it.
async fn send_slots_follow_the_pair_rate_across_writers(a: &Adapters) {
    use shikayat_core::pacing::PairRate;
    let phone = Phone::new("919800000077");
    // The pacing record is keyed by the person's keyed-hash id, as the desk passes it.
    let who = "p0123456789abcdef01234567";
    let rate = PairRate::new(std::time::Duration::from_secs(6), 2);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = a.conversations.clone();
        tasks.push(tokio::spawn(
            async move { s.take_send_slot(who, at(0), rate).await },
        ));
    }
    let mut granted = 0;
    let mut waits = Vec::new();
    for t in tasks {
        match t.await.expect("task").expect("port") {
            Ok(()) => granted += 1,
            Err(wait) => waits.push(wait),
        }
    }
    assert_eq!(granted, 2, "the burst, no more: waits {waits:?}");
    assert!(
        waits.iter().all(|w| *w == chrono::Duration::seconds(6)),
        "{waits:?}"
    );
    assert!(a
        .conversations
        .take_send_slot(who, at(6), rate)
        .await
        .expect("port")
        .is_ok());
    assert_eq!(a.conversations.get(&phone).await.expect("get").version, 0);
}

/// The outbox goes with the complaint's write and is cleared without moving its version; a
/// clear for an older version leaves a newer write's outbox alone.
async fn outbox_clears_only_at_its_version(a: &Adapters) {
    use shikayat_core::command::OutboxItem;
    let s = &a.complaints;
    let id = ComplaintId::new("AMT", 2026, 4242);
    let item = |k: &str| OutboxItem {
        queue: QueueName::Relay,
        envelope: Envelope::new(k, Command::ForwardComplaint { id: id.clone() }),
        visible_at: Some(at(30)),
    };
    let mut c = Complaint::new(id.clone(), Phone::new("919800000078"), None, at(0));
    c.outbox = vec![item("a")];
    s.create(&mut c, &[]).await.expect("create");
    assert_eq!(
        s.get(&id).await.expect("get").expect("stored").outbox,
        vec![item("a")]
    );
    c.outbox = vec![item("b")];
    s.update(&mut c, &[]).await.expect("update");
    s.clear_outbox(&id, 1).await.expect("stale clear is fine");
    let stored = s.get(&id).await.expect("get").expect("stored");
    assert_eq!((stored.version, stored.outbox.clone()), (2, vec![item("b")]));
    s.clear_outbox(&id, 2).await.expect("clear");
    let stored = s.get(&id).await.expect("get").expect("stored");
    assert_eq!((stored.version, stored.outbox.len()), (2, 0));
    // The version did not move: the next conditional write still succeeds.
    c.outbox.clear();
    s.update(&mut c, &[]).await.expect("update after clear");
}

async fn conversation_put_is_conditional(a: &Adapters) {
    let s = &a.conversations;
    let phone = Phone::new("919800000001");
    let mut fresh = s.get(&phone).await.expect("get");
    assert_eq!(fresh, Conversation::new(phone.clone()));
    fresh.last_inbound_at = Some(at(0));
    fresh.draft = Some(Draft {
        complaint: ComplaintId::new("AMT", 2026, 1),
        settles_at: at(120),
    });
    s.put(&mut fresh).await.expect("insert");
    assert_eq!(fresh.version, 1);
    assert_eq!(s.get(&phone).await.expect("get"), fresh);
    let mut other = Conversation::new(phone.clone());
    assert!(matches!(s.put(&mut other).await, Err(PortError::Conflict(_))));
    assert_eq!(other.version, 0);
    let mut first = s.get(&phone).await.expect("get");
    let mut second = first.clone();
    first.draft = None;
    s.put(&mut first).await.expect("first");
    assert_eq!(first.version, 2);
    second.last_inbound_at = Some(at(5));
    assert!(matches!(s.put(&mut second).await, Err(PortError::Conflict(_))));
    let stored = s.get(&phone).await.expect("get");
    assert_eq!(
        (stored.version, stored.draft, stored.last_inbound_at),
        (2, None, Some(at(0)))
    );
}

// ---- Directory ----

const DIRECTORY_CONFIG: &str = r#"
[district]
code = "AMT"
name = "Amethi"
name_hi = "अमेठी"
timezone = "Asia/Kolkata"
feedback_days = 7

[[department]]
id = "water"
name = "Water Supply"
name_hi = "जल आपूर्ति"
sla = "3d"
keywords = ["पानी"]

[[department]]
id = "roads"
name = "Public Works"
name_hi = "लोक निर्माण"
sla = "7d"
keywords = ["सड़क"]

[[person]]
phone = "919000000004"
name = "Jal Nigam JE"
role = "officer"
departments = ["water"]
reports_to = "919000000009"

[[person]]
phone = "919000000001"
name = "Jal Nigam AE"
role = "officer"
departments = ["water", "roads"]
reports_to = "919000000009"

[[person]]
phone = "919000000008"
name = "Control Room"
role = "control_room"

[[person]]
phone = "919000000009"
name = "SDM"
role = "supervisor"
departments = ["water"]

[templates]
language = "hi"
new_complaint = "shikayat_new_complaint"
report_to_citizen = "shikayat_report"
reminder = "shikayat_reminder"
escalation = "shikayat_escalation"
"#;

fn names(v: Vec<Person>) -> Vec<String> {
    v.into_iter().map(|p| p.name).collect()
}

async fn directory_queries_and_reload(a: &Adapters) {
    let s = &a.directory;
    let mut cfg = DistrictConfig::from_toml(DIRECTORY_CONFIG).expect("config");
    a.load_directory(&cfg).await;
    let ae = s
        .person(&Phone::new("919000000001"))
        .await
        .expect("person")
        .expect("present");
    assert_eq!(ae, cfg.people[1]);
    assert_eq!(s.person(&Phone::new("919999999999")).await.expect("person"), None);
    assert_eq!(
        names(s.officers_of("water").await.expect("water")),
        ["Jal Nigam JE", "Jal Nigam AE"]
    );
    assert_eq!(
        names(s.officers_of("roads").await.expect("roads")),
        ["Jal Nigam AE"]
    );
    assert!(s.officers_of("health").await.expect("none").is_empty());
    assert_eq!(
        names(s.with_role(Role::ControlRoom).await.expect("cr")),
        ["Control Room"]
    );
    assert_eq!(names(s.with_role(Role::Supervisor).await.expect("sup")), ["SDM"]);
    assert_eq!(
        names(s.with_role(Role::Officer).await.expect("officers")),
        ["Jal Nigam JE", "Jal Nigam AE"]
    );
    // Loading again replaces everything: a person removed from the config is gone.
    cfg.people.remove(0);
    cfg.people[0].departments = vec!["roads".into()];
    a.load_directory(&cfg).await;
    assert_eq!(s.person(&Phone::new("919000000004")).await.expect("person"), None);
    assert!(s.officers_of("water").await.expect("water").is_empty());
    assert_eq!(
        names(s.officers_of("roads").await.expect("roads")),
        ["Jal Nigam AE"]
    );
    assert_eq!(
        names(s.with_role(Role::Officer).await.expect("officers")),
        ["Jal Nigam AE"]
    );
}

// ---- MediaStore ----

async fn media_round_trip(a: &Adapters) {
    let m = &a.media;
    let key = "media/AMT-2026-000001/inbound/wamid.HBgM=.jpg";
    let bytes = b"\xff\xd8\xff photo".to_vec();
    let sum = shikayat_core::media::sha256_hex(&bytes);
    m.put(key, &bytes, "image/jpeg", &sum.to_uppercase())
        .await
        .expect("put");
    assert_eq!(m.get(key).await.expect("get"), (bytes, "image/jpeg".to_string()));
    m.put(key, b"v2", "image/png", "").await.expect("overwrite");
    assert_eq!(
        m.get(key).await.expect("get"),
        (b"v2".to_vec(), "image/png".to_string())
    );
    assert!(matches!(
        m.get("media/AMT-2026-000009/inbound/x.jpg").await,
        Err(PortError::NotFound(_))
    ));
    let wrong = shikayat_core::media::sha256_hex(b"something else");
    assert!(matches!(
        m.put("media/a/b.jpg", b"abc", "image/jpeg", &wrong).await,
        Err(PortError::Permanent(_))
    ));
    assert!(matches!(
        m.get("media/a/b.jpg").await,
        Err(PortError::NotFound(_))
    ));
}

// ---- Queue + QueueConsumer ----

fn relay(key: &str) -> Outbound {
    Outbound::relay(
        key,
        Command::ForwardComplaint {
            id: ComplaintId::new("AMT", 2026, 1),
        },
    )
}

fn inbound(key: &str, sender: &str) -> Outbound {
    Outbound {
        queue: QueueName::Inbound,
        envelope: Envelope::new(
            key,
            Command::SettleComplaint {
                id: ComplaintId::new("AMT", 2026, 1),
                settles_at: None,
            },
        ),
        group: Some(sender.into()),
        delay_seconds: 0,
    }
}

fn key_of(body: &str) -> String {
    Envelope::from_json(body).expect("envelope").key
}

fn keys(ds: &[Delivery]) -> Vec<String> {
    ds.iter().map(|d| key_of(&d.body)).collect()
}

/// Receives until `want` messages arrived or `within` passed (a receive may return fewer than
/// are visible: SQS samples its servers).
async fn receive_n(a: &Adapters, q: QueueName, want: usize, within: Duration) -> Vec<Delivery> {
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < want && start.elapsed() < within {
        let batch = a.consumer.receive(q, want - got.len()).await.expect("receive");
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        got.extend(batch);
    }
    got
}

async fn send_receive_ack_and_delay(a: &Adapters) {
    // Timed from before the delayed send, where its delay starts: timed from after the second
    // send, a slow send (a loaded machine) made "not before its delay" fail by its duration.
    let sent = Instant::now();
    a.queue
        .send(&relay("later").delayed(2))
        .await
        .expect("send delayed");
    a.queue.send(&relay("now")).await.expect("send");
    let got = receive_n(a, QueueName::Relay, 1, Duration::from_secs(5)).await;
    assert_eq!(keys(&got), ["now"]);
    assert_eq!(got[0].receive_count, 1);
    assert_eq!(got[0].queue, QueueName::Relay);
    let body = Envelope::from_json(&got[0].body).expect("envelope");
    assert_eq!(body, relay("now").envelope, "the envelope arrives as sent");
    a.consumer.ack(&got[0]).await.expect("ack");
    assert!(a
        .consumer
        .receive(QueueName::Notify, 10)
        .await
        .expect("other queue")
        .is_empty());
    if sent.elapsed() < Duration::from_millis(1500) {
        assert!(
            a.consumer
                .receive(QueueName::Relay, 10)
                .await
                .expect("recv")
                .is_empty(),
            "still delayed"
        );
    }
    let later = receive_n(a, QueueName::Relay, 1, Duration::from_secs(6)).await;
    assert_eq!(keys(&later), ["later"]);
    assert!(sent.elapsed() >= Duration::from_secs(2), "not before its delay");
    a.consumer.ack(&later[0]).await.expect("ack");
    tokio::time::sleep(VISIBILITY + Duration::from_millis(200)).await;
    assert!(
        a.consumer
            .receive(QueueName::Relay, 10)
            .await
            .expect("recv")
            .is_empty(),
        "acked is gone"
    );
}

async fn release_redelivers_with_a_higher_receive_count(a: &Adapters) {
    a.queue.send(&relay("r1")).await.expect("send");
    let first = receive_n(a, QueueName::Relay, 1, Duration::from_secs(5)).await;
    assert_eq!(
        (keys(&first), first[0].receive_count),
        (vec!["r1".to_string()], 1)
    );
    assert!(
        a.consumer
            .receive(QueueName::Relay, 10)
            .await
            .expect("recv")
            .is_empty(),
        "in flight"
    );
    a.consumer
        .release(&first[0], Duration::ZERO)
        .await
        .expect("release");
    let second = receive_n(a, QueueName::Relay, 1, Duration::from_secs(5)).await;
    assert_eq!(
        (keys(&second), second[0].receive_count),
        (vec!["r1".to_string()], 2)
    );
    // Not acked: the visibility timeout brings it back too.
    let third = receive_n(a, QueueName::Relay, 1, Duration::from_secs(5)).await;
    assert_eq!(
        (keys(&third), third[0].receive_count),
        (vec!["r1".to_string()], 3)
    );
    a.consumer.ack(&third[0]).await.expect("ack");
    assert!(a
        .consumer
        .dead_letters(QueueName::Relay)
        .await
        .expect("dlq")
        .is_empty());
}

async fn fifo_keeps_group_order(a: &Adapters) {
    for (k, g) in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("a3", "A"), ("b2", "B")] {
        a.queue.send(&inbound(k, g)).await.expect("send");
    }
    let head = a.consumer.receive(QueueName::Inbound, 1).await.expect("recv");
    assert_eq!(keys(&head), ["a1"], "oldest first");
    // While a1 is in flight nothing after it in group A may be delivered.
    let more = a.consumer.receive(QueueName::Inbound, 10).await.expect("recv");
    assert!(
        keys(&more).iter().all(|k| k.starts_with('b')),
        "group A waits for a1: {:?}",
        keys(&more)
    );
    for d in &more {
        a.consumer.release(d, Duration::ZERO).await.expect("release b");
    }
    // a1 fails and comes back before a2, never after.
    a.consumer
        .release(&head[0], Duration::ZERO)
        .await
        .expect("release a1");
    let mut order: HashMap<char, Vec<String>> = HashMap::new();
    let start = Instant::now();
    while order.values().map(Vec::len).sum::<usize>() < 5 && start.elapsed() < Duration::from_secs(10) {
        let batch = a.consumer.receive(QueueName::Inbound, 10).await.expect("recv");
        for d in &batch {
            let k = key_of(&d.body);
            // The consumer needs the group to hold back only the failed sender's later events.
            assert_eq!(d.group.as_deref(), Some(k[..1].to_uppercase().as_str()), "{k}");
            order.entry(k.chars().next().unwrap_or('?')).or_default().push(k);
            a.consumer.ack(d).await.expect("ack");
        }
    }
    assert_eq!(order.get(&'a').cloned().unwrap_or_default(), ["a1", "a2", "a3"]);
    assert_eq!(order.get(&'b').cloned().unwrap_or_default(), ["b1", "b2"]);
}

async fn fifo_dedupes_on_key(a: &Adapters) {
    a.queue.send(&inbound("wamid.1", "A")).await.expect("send");
    a.queue
        .send(&inbound("wamid.1", "A"))
        .await
        .expect("a duplicate is accepted and dropped");
    // A key SQS would refuse as an id (too long, non-ASCII) still dedupes.
    let odd = format!("status:{}:स्थिति", "x".repeat(200));
    a.queue.send(&inbound(&odd, "B")).await.expect("send odd");
    a.queue.send(&inbound(&odd, "B")).await.expect("send odd again");
    let got = receive_n(a, QueueName::Inbound, 2, Duration::from_secs(4)).await;
    for d in &got {
        a.consumer.ack(d).await.expect("ack");
    }
    let mut got_keys = keys(&got);
    got_keys.sort();
    assert_eq!(got_keys, [odd, "wamid.1".to_string()]);
    assert!(receive_n(a, QueueName::Inbound, 1, Duration::from_secs(2))
        .await
        .is_empty());
    // Even after it was processed, within the window the same key is still a duplicate (SQS
    // keeps deduplication ids for 5 minutes). moto 5.2.5 compares only with messages still in
    // the queue (`Queue.add_message`), so there this holds only until the first is deleted.
    if !a.on_moto {
        a.queue.send(&inbound("wamid.1", "A")).await.expect("send");
        assert!(a
            .consumer
            .receive(QueueName::Inbound, 10)
            .await
            .expect("recv")
            .is_empty());
    }
}

/// A notification's events in one `send_batch`: more than SQS's ten per call (moto refuses an
/// eleventh entry, so this passing there shows the split), with a standard-queue command in
/// the middle (a batch goes to one queue). Every one arrives once, each sender's in order, and
/// sending the lot again (Meta redelivering after a 500) adds nothing while they are queued.
async fn send_batch_splits_by_ten_and_queue_and_keeps_order(a: &Adapters) {
    let mut cmds: Vec<Outbound> = (0..23)
        .map(|i| {
            let g = ["A", "B", "C"][i % 3];
            inbound(&format!("{}{i:02}", g.to_lowercase()), g)
        })
        .collect();
    cmds.insert(12, relay("between"));
    a.queue.send_batch(&cmds).await.expect("send batch");
    a.queue
        .send_batch(&cmds[..11])
        .await
        .expect("send again: deduped");
    a.queue.send_batch(&[]).await.expect("nothing to send");
    let relayed = receive_n(a, QueueName::Relay, 1, Duration::from_secs(5)).await;
    assert_eq!(keys(&relayed), ["between"]);
    a.consumer.ack(&relayed[0]).await.expect("ack");
    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    let start = Instant::now();
    while order.values().map(Vec::len).sum::<usize>() < 23 && start.elapsed() < Duration::from_secs(15) {
        let batch = a.consumer.receive(QueueName::Inbound, 10).await.expect("recv");
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for d in &batch {
            let group = d.group.clone().expect("a FIFO message has its group");
            order.entry(group).or_default().push(key_of(&d.body));
            a.consumer.ack(d).await.expect("ack");
        }
    }
    for (i, g) in ["A", "B", "C"].iter().enumerate() {
        let want: Vec<String> = (0..23)
            .filter(|n| n % 3 == i)
            .map(|n| format!("{}{n:02}", g.to_lowercase()))
            .collect();
        assert_eq!(order.get(*g).cloned().unwrap_or_default(), want, "group {g}");
    }
    assert!(receive_n(a, QueueName::Inbound, 1, Duration::from_secs(2))
        .await
        .is_empty());
}

/// Consumes `q` like a poller whose handler fails on `poison` every time: the poison message is
/// received exactly `MAX_RECEIVES` times then sits in the DLQ; every other message is handled
/// once; nothing is left behind.
async fn drain_with_poison(a: &Adapters, q: QueueName, good: &[&str]) -> HashMap<String, u32> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    let start = Instant::now();
    loop {
        let dead = a.consumer.dead_letters(q).await.expect("dlq");
        let goods_done = good.iter().all(|g| seen.contains_key(*g));
        if !dead.is_empty() && goods_done {
            assert_eq!(dead.iter().map(|b| key_of(b)).collect::<Vec<_>>(), ["poison"]);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not drained: {seen:?}, dead {dead:?}"
        );
        for d in a.consumer.receive(q, 10).await.expect("recv") {
            let k = key_of(&d.body);
            *seen.entry(k.clone()).or_default() += 1;
            if k == "poison" {
                assert_eq!(d.receive_count, seen[&k], "receive count follows receives");
                a.consumer.release(&d, Duration::ZERO).await.expect("release");
            } else {
                a.consumer.ack(&d).await.expect("ack");
            }
        }
    }
    assert!(
        receive_n(a, q, 1, Duration::from_secs(2)).await.is_empty(),
        "nothing else left"
    );
    assert_eq!(
        a.consumer.dead_letters(q).await.expect("dlq again").len(),
        1,
        "reading does not delete"
    );
    seen
}

async fn poison_message_dead_letters_after_five_receives(a: &Adapters) {
    for k in ["g1", "poison", "g2", "g3"] {
        a.queue.send(&relay(k)).await.expect("send");
    }
    let seen = drain_with_poison(a, QueueName::Relay, &["g1", "g2", "g3"]).await;
    assert_eq!(seen["poison"], MAX_RECEIVES);
    for g in ["g1", "g2", "g3"] {
        assert_eq!(seen[g], 1, "{g} handled once");
    }
    assert!(a
        .consumer
        .dead_letters(QueueName::Notify)
        .await
        .expect("dlq")
        .is_empty());
}

async fn poison_on_fifo_dead_letters_and_unblocks_its_group(a: &Adapters) {
    for (k, g) in [("poison", "A"), ("next", "A"), ("other", "B")] {
        a.queue.send(&inbound(k, g)).await.expect("send");
    }
    let seen = drain_with_poison(a, QueueName::Inbound, &["next", "other"]).await;
    assert_eq!(seen["poison"], MAX_RECEIVES);
    assert_eq!((seen["next"], seen["other"]), (1, 1));
}

// ---- AWS only: what has no embedded counterpart ----

mod aws_only {
    use super::*;
    use crate::aws::{ports_parts, provision_with};

    async fn clients() -> (AwsClients, String) {
        let endpoint = std::env::var("SHIKAYAT_TEST_AWS_ENDPOINT").unwrap_or_default();
        assert!(
            !endpoint.is_empty(),
            "SHIKAYAT_TEST_AWS_ENDPOINT is not set: run ./scripts/test.sh"
        );
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("ap-south-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "conformance",
            ))
            .load()
            .await;
        (AwsClients::from_conf(&shared), endpoint)
    }

    #[tokio::test]
    async fn provision_twice_then_config_and_presigned_links() {
        let (clients, _) = clients().await;
        let names = AwsNames::with_prefix(unique_prefix());
        let opts = ProvisionOptions::default();
        provision_with(&clients, &names, &opts).await.expect("provision");
        let opts = ProvisionOptions {
            visibility_timeout: Duration::from_secs(5),
            ..opts
        };
        provision_with(&clients, &names, &opts)
            .await
            .expect("provision again, other options");
        let parts = ports_parts(&clients, &names).await.expect("ports");

        assert_eq!(parts.store.district_config().await.expect("none yet"), None);
        assert!(matches!(
            parts.store.put_district_config("not = [toml").await,
            Err(PortError::Permanent(_))
        ));
        parts
            .store
            .put_district_config(DIRECTORY_CONFIG)
            .await
            .expect("put config");
        assert_eq!(
            parts.store.district_config().await.expect("get").as_deref(),
            Some(DIRECTORY_CONFIG)
        );

        let key = "media/AMT-2026-000001/report/wamid.R1.jpg";
        parts
            .media
            .put(key, b"evidence", "image/jpeg", "")
            .await
            .expect("put");
        let url = parts
            .media
            .presign_get(key, Duration::from_secs(300))
            .await
            .expect("presign");
        assert!(
            url.contains("X-Amz-Expires=300") && url.contains("wamid.R1.jpg"),
            "{url}"
        );
        let capped = parts
            .media
            .presign_get(key, Duration::from_secs(86_400))
            .await
            .expect("presign");
        assert!(capped.contains("X-Amz-Expires=900"), "{capped}");
        let body = reqwest::get(&url)
            .await
            .expect("GET")
            .bytes()
            .await
            .expect("body");
        assert_eq!(&body[..], b"evidence");
    }

    /// The secrets as the template's functions read them: two SecureString parameters, the
    /// webhook's and the access token's, read with decryption; a missing one says how to create it.
    #[tokio::test]
    async fn secrets_come_from_securestring_parameters() {
        use aws_sdk_ssm::types::ParameterType;
        let (clients, _) = clients().await;
        let prefix = unique_prefix();
        let (webhook, access) = (format!("/{prefix}webhook"), format!("/{prefix}whatsapp"));
        let app = "app-secret-0123456789abcdef0123456789";
        let put = |name: String, value: String| {
            clients
                .ssm
                .put_parameter()
                .name(name)
                .value(value)
                .r#type(ParameterType::SecureString)
                .send()
        };
        put(
            webhook.clone(),
            format!(r#"{{"app_secret":"{app}","verify_token":"verify-0123456789ab","id_key":"id-key-0123456789abcdef0123456789abcdef"}}"#),
        )
        .await
        .expect("put webhook parameter");
        put(
            access.clone(),
            r#"{"access_token":"EAAG-test-token"}"#.to_string(),
        )
        .await
        .expect("put access parameter");

        let mut only_webhook = crate::lambda::WhatsAppEnv {
            phone_number_id: Some("100000000000001".into()),
            ..Default::default()
        };
        only_webhook
            .apply_parameters(&clients.ssm, std::slice::from_ref(&webhook))
            .await
            .expect("read");
        assert_eq!(
            only_webhook.webhook().expect("the webhook's secrets").app_secret,
            app
        );
        assert!(
            only_webhook.access_token.is_none(),
            "the webhook's parameter holds no token"
        );

        let mut sender = only_webhook.clone();
        sender
            .apply_parameters(&clients.ssm, &[access, webhook])
            .await
            .expect("read both");
        assert_eq!(sender.access_token.as_deref(), Some("EAAG-test-token"));
        sender.check_for_consumers().expect("a sender's secrets pass");

        let err = sender
            .apply_parameters(&clients.ssm, &[format!("/{prefix}missing")])
            .await
            .expect_err("no such parameter");
        assert!(err.to_string().contains("create it as a SecureString"), "{err}");
    }
}
