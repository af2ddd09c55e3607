//! The Lambda handlers invoked in-process with the vendored sample events in events/, on the
//! embedded adapters and a Graph API simulator: what each function answers, what it enqueues,
//! and which records of a batch it reports as failed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, TimeZone, Utc};
use shikayat_adapters::embedded::{Db, FolderMedia, SqliteQueue, SqliteStore};
use shikayat_adapters::lambda::sqs_batch;
use shikayat_adapters::whatsapp::{CloudApi, CloudApiConfig};
use shikayat_core::command::{Command, Envelope, QueueName};
use shikayat_core::config::DistrictConfig;
use shikayat_core::ports::{Clock, ComplaintStore, MessageLog, Ports, Settings};
use shikayat_core::pseudonym::KeyedHash;
use shikayat_core::ComplaintId;
use shikayat_graph_sim::{GraphSim, SimConfig};
use shikayat_webhook::WebhookConfig;

use crate::harness::{repo_root, repo_templates_approved, CITIZEN, WATER_OFFICER};

const APP_SECRET: &str = "events-app-secret-0123456789abcdef";
const VERIFY_TOKEN: &str = "events-verify-token";
/// The id key events/generate.py made the samples' keys and groups with.
const ID_KEY: &str = "events-id-key-0123456789abcdef0123456789";

fn keyed_hash() -> KeyedHash {
    KeyedHash::new(ID_KEY, "id_key", "").expect("id key")
}
const COMPLAINT: &str = "AMT-2026-000001";

fn event_text(rel: &str) -> String {
    let path: PathBuf = repo_root().join("events").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn http(rel: &str) -> ApiGatewayV2httpRequest {
    serde_json::from_str(&event_text(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn sqs(rel: &str) -> SqsEvent {
    serde_json::from_str(&event_text(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn ids(event: &SqsEvent) -> Vec<String> {
    event
        .records
        .iter()
        .map(|r| r.message_id.clone().expect("messageId"))
        .collect()
}

fn failures(r: &SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// A clock the test moves (the escalator's deadlines).
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

struct World {
    ports: Ports,
    queue: Arc<SqliteQueue>,
    store: Arc<SqliteStore>,
    clock: Arc<TestClock>,
    sim: GraphSim,
    _tmp: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().expect("tempdir");
        let text = std::fs::read_to_string(repo_root().join("config/amethi.toml")).expect("config");
        let config = Arc::new(DistrictConfig::from_toml(&text).expect("district config"));
        let db = Db::open(tmp.path()).expect("db");
        let store = Arc::new(SqliteStore::new(db.clone()));
        store.load_directory(&config).await.expect("directory");
        let queue = Arc::new(SqliteQueue::new(db, std::time::Duration::from_secs(60), 5));
        let cfg = SimConfig {
            // The sample events do not pass through the simulator, so it has seen no one write.
            enforce_window: false,
            send_statuses: false,
            templates: repo_templates_approved(),
            ..SimConfig::default()
        };
        let (sim, _) = GraphSim::serve(cfg, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("simulator");
        let whatsapp = CloudApi::new(CloudApiConfig {
            base_url: sim.graph_base_url().expect("sim url"),
            version: "v25.0".into(),
            phone_number_id: sim.config().phone_number_id.clone(),
            access_token: sim.config().access_token.clone(),
            timeout: std::time::Duration::from_secs(10),
        })
        .expect("cloud api");
        // Just after the sample events were sent.
        let clock = Arc::new(TestClock(Mutex::new(
            Utc.with_ymd_and_hms(2026, 11, 18, 8, 27, 0)
                .single()
                .expect("time"),
        )));
        let ports = Ports {
            config,
            settings: Settings {
                settle_seconds: 0,
                pair_interval: std::time::Duration::ZERO,
                pair_burst: 1,
            },
            complaints: store.clone(),
            messages: store.clone(),
            conversations: store.clone(),
            directory: store.clone(),
            media: Arc::new(FolderMedia::new(tmp.path())),
            queue: queue.clone(),
            whatsapp: Arc::new(whatsapp),
            clock: clock.clone(),
            ids: keyed_hash(),
        };
        World {
            ports,
            queue,
            store,
            clock,
            sim,
            _tmp: tmp,
        }
    }

    fn webhook(&self) -> WebhookConfig {
        WebhookConfig {
            app_secret: APP_SECRET.into(),
            verify_token: VERIFY_TOKEN.into(),
            phone_number_id: self.sim.config().phone_number_id.clone(),
            ids: keyed_hash(),
        }
    }

    async fn depth(&self, q: QueueName) -> usize {
        self.queue.depth(q).await.expect("depth")
    }
}

fn body_text(r: &aws_lambda_events::apigw::ApiGatewayV2httpResponse) -> String {
    match &r.body {
        Some(Body::Text(t)) => t.clone(),
        Some(Body::Binary(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn webhook_handshake_answers_the_challenge_or_403() {
    let w = World::new().await;
    let cfg = w.webhook();
    let r = shikayat_webhook::lambda::handle(&cfg, w.queue.as_ref(), http("webhook/get-verify.json")).await;
    assert_eq!((r.status_code, body_text(&r).as_str()), (200, "1158201444"));

    let wrong = WebhookConfig {
        verify_token: "another-token".into(),
        ..cfg.clone()
    };
    let r = shikayat_webhook::lambda::handle(&wrong, w.queue.as_ref(), http("webhook/get-verify.json")).await;
    assert_eq!(r.status_code, 403);

    let mut health = http("webhook/get-verify.json");
    health.raw_path = Some("/healthz".into());
    let r = shikayat_webhook::lambda::handle(&cfg, w.queue.as_ref(), health).await;
    assert_eq!(r.status_code, 200);
    let mut other = http("webhook/get-verify.json");
    other.raw_path = Some("/elsewhere".into());
    let r = shikayat_webhook::lambda::handle(&cfg, w.queue.as_ref(), other).await;
    assert_eq!(r.status_code, 404);
    // An event that is not an HTTP request at all is a 400, not a failed invocation.
    let sqs_event: serde_json::Value =
        serde_json::from_str(&event_text("sqs/relay-tell.json")).expect("json");
    let r = shikayat_webhook::lambda::handle_value(&cfg, w.queue.as_ref(), sqs_event).await;
    assert_eq!(r.status_code, 400);
}

#[tokio::test]
async fn webhook_signed_posts_plain_and_base64_enqueue_their_events() {
    for file in ["webhook/post-signed.json", "webhook/post-base64.json"] {
        let w = World::new().await;
        let event: serde_json::Value = serde_json::from_str(&event_text(file)).expect("json");
        let r = shikayat_webhook::lambda::handle_value(&w.webhook(), w.queue.as_ref(), event).await;
        assert_eq!(r.status_code, 200, "{file}: {}", body_text(&r));
        assert_eq!(w.depth(QueueName::Inbound).await, 1, "{file}");
        let got = w.queue.receive(QueueName::Inbound, 10).await.expect("receive");
        let env = Envelope::from_json(&got[0].body).expect("envelope");
        let Command::Inbound { event } = env.command else {
            panic!("{file}: not an inbound command");
        };
        assert_eq!(event.party(), CITIZEN, "{file}");
        // Keyed by the wamid's keyed-hash id, grouped by the sender's: the queue holds no number.
        let ids = keyed_hash();
        assert_eq!(
            env.key,
            ids.wamid("wamid.HBgMOTE5ODEyMzQ1Njc4FQIAEhggTEXT"),
            "{file}"
        );
        assert_eq!(
            got[0].group.as_deref(),
            Some(ids.party(CITIZEN).as_str()),
            "{file}"
        );
    }
}

/// A batch of six messages with `read` statuses, and a `failed` status: the messages and the
/// failure go on the queue; `sent`, `delivered` and `read` change nothing and do not.
#[tokio::test]
async fn webhook_enqueues_messages_and_failures_but_not_receipts() {
    let w = World::new().await;
    let cfg = w.webhook();
    for (file, want) in [
        ("whatsapp/batch-two-entries.json", 6),
        ("whatsapp/status-failed-131047.json", 1),
    ] {
        let raw = event_text(file).into_bytes();
        let receipts = String::from_utf8_lossy(&raw)
            .matches("\"status\":\"read\"")
            .count()
            + String::from_utf8_lossy(&raw)
                .matches("\"status\": \"read\"")
                .count();
        if want == 6 {
            assert!(receipts > 0, "{file} carries read receipts");
        }
        let before = w.depth(QueueName::Inbound).await;
        let sig = shikayat_core::signature::sign(APP_SECRET.as_bytes(), &raw);
        let r = shikayat_webhook::receive(&cfg, w.queue.as_ref(), Some(&sig), &raw).await;
        assert_eq!(r.status, 200, "{file}");
        assert_eq!(w.depth(QueueName::Inbound).await - before, want, "{file}");
    }
}

/// A signed post for another business number on the same Meta app: 200, and nothing enqueued.
#[tokio::test]
async fn webhook_ignores_events_for_another_phone_number_id() {
    let w = World::new().await;
    let r = shikayat_webhook::lambda::handle(
        &w.webhook(),
        w.queue.as_ref(),
        http("webhook/post-other-number.json"),
    )
    .await;
    assert_eq!((r.status_code, body_text(&r).as_str()), (200, "ok"));
    assert_eq!(w.depth(QueueName::Inbound).await, 0, "nothing enqueued");
}

#[tokio::test]
async fn webhook_refuses_a_bad_signature_401_and_bad_base64_400() {
    let w = World::new().await;
    let cfg = w.webhook();
    let r = shikayat_webhook::lambda::handle(&cfg, w.queue.as_ref(), http("webhook/post-bad-signature.json"))
        .await;
    assert_eq!(r.status_code, 401);
    let r =
        shikayat_webhook::lambda::handle(&cfg, w.queue.as_ref(), http("webhook/post-bad-base64.json")).await;
    assert_eq!(r.status_code, 400);
    assert_eq!(w.depth(QueueName::Inbound).await, 0, "nothing enqueued");
}

#[tokio::test]
async fn inbound_batch_registers_then_each_relay_and_notify_command_runs() {
    let w = World::new().await;
    let r = shikayat_router::lambda::handle_batch(&w.ports, sqs("sqs/inbound-batch.json")).await;
    assert_eq!(failures(&r), Vec::<String>::new());
    let id = ComplaintId::parse(COMPLAINT).expect("id");
    let c = w
        .store
        .get(&id)
        .await
        .expect("get")
        .expect("registered from the batch");
    assert_eq!(c.complainant.as_str(), CITIZEN);
    assert!(
        c.text.contains("हैंडपंप") && c.text.contains("दो हफ़्ते"),
        "both texts: {}",
        c.text
    );
    // The acknowledgement and the settle command are on their queues.
    assert!(w.depth(QueueName::Notify).await >= 1);
    assert!(w.depth(QueueName::Relay).await >= 1);

    for kind in [
        "settle_complaint",
        "forward_complaint",
        "send_details",
        "settle_report",
        "tell",
    ] {
        let event = sqs(&format!("sqs/relay-{kind}.json"));
        let r = shikayat_officer_relay::lambda::handle_batch(&w.ports, event).await;
        assert_eq!(failures(&r), Vec::<String>::new(), "relay {kind}");
    }
    assert!(
        !w.sim.sent_to(WATER_OFFICER).is_empty(),
        "routed by keyword to the water officer"
    );
    for kind in ["deliver_report", "tell"] {
        let event = sqs(&format!("sqs/notify-{kind}.json"));
        let r = shikayat_notifier::lambda::handle_batch(&w.ports, event).await;
        assert_eq!(failures(&r), Vec::<String>::new(), "notify {kind}");
    }
    assert!(
        w.sim
            .sent_to(CITIZEN)
            .iter()
            .any(|m| m.text().contains(COMPLAINT)),
        "the citizen is told the number"
    );

    // The schedule: nothing is due yet; four days on, the 3-day deadline has passed.
    let schedule: EventBridgeEvent =
        serde_json::from_str(&event_text("schedule/escalator.json")).expect("event");
    let s = shikayat_escalator::lambda::handle(&w.ports, schedule.clone())
        .await
        .expect("sweep");
    assert_eq!(s.escalated, 0);
    *w.clock.0.lock().expect("clock") += chrono::Duration::days(4);
    let s = shikayat_escalator::lambda::handle(&w.ports, schedule)
        .await
        .expect("sweep");
    assert!(s.examined >= 1 && s.escalated >= 1, "{s:?}");
}

#[tokio::test]
async fn fifo_batch_stops_at_the_poisoned_record_and_reports_every_later_one() {
    let w = World::new().await;
    let event = sqs("sqs/inbound-poisoned.json");
    let all = ids(&event);
    let r = shikayat_router::lambda::handle_batch(&w.ports, event).await;
    assert_eq!(failures(&r), all[1..].to_vec());
    let id = ComplaintId::parse(COMPLAINT).expect("id");
    let c = w
        .store
        .get(&id)
        .await
        .expect("get")
        .expect("the first record was handled");
    assert!(
        !c.text.contains("तीन दिन"),
        "the record after the poisoned one waits: {}",
        c.text
    );
}

#[tokio::test]
async fn standard_batch_reports_only_the_bad_record() {
    let w = World::new().await;
    let mut event = sqs("sqs/relay-tell.json");
    let mut bad = sqs("sqs/inbound-poisoned.json").records.remove(1);
    bad.message_id = Some("bad-record".into());
    let (rpt1, rpt2) = (keyed_hash().wamid("wamid.RPT1"), keyed_hash().wamid("wamid.RPT2"));
    let mut second = event.records[0].clone();
    second.message_id = Some("second-tell".into());
    second.body = second.body.map(|b| b.replace(&rpt1, &rpt2));
    event.records.push(bad);
    event.records.push(second);
    let r = shikayat_officer_relay::lambda::handle_batch(&w.ports, event).await;
    assert_eq!(failures(&r), vec!["bad-record".to_string()]);
    for wamid in [rpt1, rpt2] {
        let key = format!(
            "tell:{wamid}:{}:report_received",
            keyed_hash().party(WATER_OFFICER)
        );
        assert!(w.store.is_done(&key).await.expect("is_done"), "{key} ran");
    }
}

#[tokio::test]
async fn a_panicking_handler_fails_only_its_record() {
    let event = sqs("sqs/inbound-batch.json");
    let all = ids(&event);
    let evt2 = keyed_hash().wamid("wamid.EVT2");
    let boom = |env: Envelope| {
        let evt2 = evt2.clone();
        async move {
            if env.key == evt2 {
                panic!("boom on 919812345678");
            }
            Ok::<(), String>(())
        }
    };
    let r = sqs_batch(event.clone(), false, boom).await;
    assert_eq!(
        failures(&r),
        vec![all[1].clone()],
        "standard queue: only the panicking record"
    );
    let r = sqs_batch(event, true, boom).await;
    assert_eq!(failures(&r), all[1..].to_vec(), "FIFO: it and every later record");
}
