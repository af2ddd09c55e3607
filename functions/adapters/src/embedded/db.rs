//! The one SQLite file behind every embedded adapter: `<data_dir>/shikayat.sqlite`.
//!
//! Tables mirror DESIGN §4 so that what an administrator finds here matches what they would find
//! in DynamoDB: plain column names, ISO-8601 times, the whole record as JSON in `doc`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, ErrorCode};
use shikayat_core::ports::{PortError, PortResult};

/// Bumped when the schema changes in a way `CREATE … IF NOT EXISTS` cannot express.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS complaints (
    id          TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    department  TEXT,
    officer     TEXT,
    complainant TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    due_at      TEXT,
    open        INTEGER NOT NULL,
    doc         TEXT NOT NULL,
    next_action_at TEXT
);
-- The department-wise register, an officer's pending list, a citizen's "status".
CREATE INDEX IF NOT EXISTS complaints_by_department  ON complaints (department, created_at);
CREATE INDEX IF NOT EXISTS complaints_by_officer     ON complaints (officer, due_at);
CREATE INDEX IF NOT EXISTS complaints_by_complainant ON complaints (complainant, created_at);
-- Sparse like the DynamoDB `open-by-due` index: the escalator never scans closed complaints.
CREATE INDEX IF NOT EXISTS complaints_open_by_due    ON complaints (due_at) WHERE open = 1;
CREATE INDEX IF NOT EXISTS complaints_unassigned     ON complaints (created_at)
    WHERE open = 1 AND department IS NULL;
-- The daily digest: a department's open complaints, and those it closed since a time.
CREATE INDEX IF NOT EXISTS complaints_open_by_department ON complaints (department, created_at)
    WHERE open = 1;
CREATE INDEX IF NOT EXISTS complaints_closed_by_department
    ON complaints (department, json_extract(doc, '$.closed_at')) WHERE open = 0;

-- (complaints_open_by_next_action is created in `migrate`: older files gain its column first.)

CREATE TABLE IF NOT EXISTS complaint_events (
    id    TEXT NOT NULL REFERENCES complaints (id),
    seq   INTEGER NOT NULL,
    at    TEXT NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (id, seq)
);

-- The outbound message log ("to" is quoted: TO is an SQL keyword).
CREATE TABLE IF NOT EXISTS messages (
    wamid       TEXT PRIMARY KEY,
    "to"        TEXT NOT NULL,
    complaint   TEXT,
    kind        TEXT NOT NULL,
    command_key TEXT NOT NULL,
    part        INTEGER NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT,
    at          TEXT NOT NULL,
    UNIQUE (command_key, part)
);

-- Inbound dedupe marks and command idempotency keys.
CREATE TABLE IF NOT EXISTS done_keys (
    key TEXT PRIMARY KEY,
    at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS conversations (
    phone   TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    doc     TEXT NOT NULL
);

-- Meta's pair rate per recipient: the time the next send is "due" (pacing::take), epoch ms.
CREATE TABLE IF NOT EXISTS pacing (
    phone  TEXT PRIMARY KEY,
    tat_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS directory (
    phone TEXT PRIMARY KEY,
    role  TEXT NOT NULL,
    doc   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS person_departments (
    phone      TEXT NOT NULL REFERENCES directory (phone) ON DELETE CASCADE,
    department TEXT NOT NULL,
    PRIMARY KEY (phone, department)
);
CREATE INDEX IF NOT EXISTS person_departments_by_department ON person_departments (department);

-- `value` has no declared type on purpose: counters stay integers, other settings stay text.
CREATE TABLE IF NOT EXISTS settings (
    name  TEXT PRIMARY KEY,
    value
);

-- The queues (see queue.rs). Times here are epoch milliseconds: only machines read them.
-- AUTOINCREMENT so an id is never reused: a late ack must not delete a newer message.
CREATE TABLE IF NOT EXISTS queue_messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT NOT NULL,
    grp           TEXT,
    body          TEXT NOT NULL,
    sent_at       INTEGER NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages (queue, visible_at, id);
CREATE INDEX IF NOT EXISTS queue_messages_group   ON queue_messages (queue, grp, id);

CREATE TABLE IF NOT EXISTS queue_dedupe (
    queue TEXT NOT NULL,
    key   TEXT NOT NULL,
    at    INTEGER NOT NULL,
    PRIMARY KEY (queue, key)
);
CREATE INDEX IF NOT EXISTS queue_dedupe_at ON queue_dedupe (at);

CREATE TABLE IF NOT EXISTS dead_letters (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT NOT NULL,
    message_id    INTEGER NOT NULL,
    body          TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    sent_at       INTEGER NOT NULL,
    dead_at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_queue ON dead_letters (queue, id);
"#;

/// Brings a file written by an older build up to this schema, idempotently.
///
/// Version 2 adds `complaints.next_action_at` (when the escalator should look next) and its
/// sparse index. Open complaints that could have something scheduled are marked due now, so the
/// escalator's first sweep computes their precise schedule.
fn migrate(conn: &Connection) -> PortResult<()> {
    let has_next_action: bool = conn
        .query_row(
            "SELECT COUNT(*) FROM pragma_table_info('complaints') WHERE name = 'next_action_at'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(db_err)?
        > 0;
    if !has_next_action {
        conn.execute_batch(
            "ALTER TABLE complaints ADD COLUMN next_action_at TEXT;
             UPDATE complaints SET next_action_at = created_at
               WHERE open = 1 AND status IN ('forwarded', 'report_delivered');",
        )
        .map_err(db_err)?;
    }
    conn.execute_batch(
        "-- Sparse like the DynamoDB index the AWS adapter uses: only open complaints with
         -- something scheduled, so the escalator's cost follows what is due, not what is stored.
         CREATE INDEX IF NOT EXISTS complaints_open_by_next_action ON complaints (next_action_at)
             WHERE open = 1 AND next_action_at IS NOT NULL;",
    )
    .map_err(db_err)
}

/// A handle on the database; cheap to clone, every clone shares one connection.
///
/// Why one connection, driven by one thread of its own that runs the calls in the order they
/// come: SQLite allows one writer at a time anyway, so a pool would only add `SQLITE_BUSY`
/// retries; a statement may block for up to the busy timeout (another process, e.g. an admin
/// loader, holding the write lock), which must not stall the async workers that also serve the
/// webhook. One thread, fed by a channel, instead of a blocking task per call contending for a
/// mutex: under load dozens of such tasks spent more time waking each other than in SQLite, and
/// a webhook's enqueue waited behind however many won the race for the lock.
///
/// Durability comes in two modes. `open`: `synchronous=FULL`, every commit is flushed to disk
/// before it returns. `open_group_commit`: `synchronous=NORMAL` (a commit survives a process
/// crash at once, a power cut only once flushed) and [`Db::sync`] as the barrier, one flush for
/// everyone waiting: the adapters call it where something is promised to the outside world
/// (the inbound enqueue behind the webhook's 200, a sent message's record) and the runner before
/// every send to WhatsApp. WAL is a log, so a power cut keeps a prefix of the commits and loses
/// nothing committed before the last barrier.
#[derive(Clone)]
pub struct Db {
    path: PathBuf,
    group: Option<Arc<GroupCommit>>,
    /// The database thread's queue; the thread ends when the last clone is dropped.
    jobs: Arc<std::sync::mpsc::Sender<Job>>,
    /// Calls that go before everything queued (`call_urgent`): the webhook's enqueue.
    urgent: Arc<std::sync::Mutex<std::collections::VecDeque<Job>>>,
}

/// A call waiting for the database thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The database thread: runs each job with the connection, in order, urgent ones first, until
/// every `Db` is gone (then the connection closes).
fn worker(
    mut conn: Connection,
    jobs: std::sync::mpsc::Receiver<Job>,
    urgent: Arc<std::sync::Mutex<std::collections::VecDeque<Job>>>,
) {
    let next_urgent = || match urgent.lock() {
        Ok(mut q) => q.pop_front(),
        Err(poisoned) => poisoned.into_inner().pop_front(),
    };
    while let Ok(job) = jobs.recv() {
        while let Some(u) = next_urgent() {
            u(&mut conn);
        }
        job(&mut conn);
    }
}

/// The barrier's bookkeeping: tickets taken by callers of `sync`, and the highest ticket a
/// finished flush covers. A flush covers every ticket taken before it started, so one fsync
/// serves all the callers queued behind the one running.
struct GroupCommit {
    wal: PathBuf,
    asked: AtomicU64,
    synced: tokio::sync::Mutex<u64>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    pub const FILE_NAME: &'static str = "shikayat.sqlite";

    /// Opens (creating if needed) `<data_dir>/shikayat.sqlite` and its schema; every commit is
    /// on disk when it returns (`synchronous=FULL`), and `sync` has nothing to do.
    pub fn open(data_dir: &Path) -> PortResult<Db> {
        Self::open_with(data_dir, false)
    }

    /// The same with group commit: commits are flushed by [`Db::sync`], shared by all its
    /// callers, instead of one fsync each (see the type's docs).
    pub fn open_group_commit(data_dir: &Path) -> PortResult<Db> {
        Self::open_with(data_dir, true)
    }

    fn open_with(data_dir: &Path, group_commit: bool) -> PortResult<Db> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| PortError::Permanent(format!("create {}: {e}", data_dir.display())))?;
        let path = data_dir.join(Self::FILE_NAME);
        let conn = Connection::open(&path).map_err(db_err)?;
        // Before anything else, so schema creation itself waits for a concurrent writer.
        conn.busy_timeout(Duration::from_secs(5)).map_err(db_err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(db_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(PortError::Permanent(format!(
                "{}: journal_mode is {mode}, not WAL",
                path.display()
            )));
        }
        // The webhook answers Meta 200 only after the enqueue commits, so a committed row must
        // survive a power cut, not just a process crash: FULL, or NORMAL with `sync` as the
        // barrier before the answer.
        let synchronous = if group_commit { "NORMAL" } else { "FULL" };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(db_err)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        migrate(&conn)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db_err)?;
        if version > SCHEMA_VERSION {
            return Err(PortError::Permanent(format!(
                "{} has schema version {version}, newer than this build ({SCHEMA_VERSION})",
                path.display()
            )));
        }
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(db_err)?;
        let group = if group_commit {
            // The WAL file exists now (the schema write made it): its directory entry is made
            // durable once, its contents by every `sync`.
            std::fs::File::open(data_dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| PortError::Transient(format!("sync {}: {e}", data_dir.display())))?;
            let mut wal = path.clone().into_os_string();
            wal.push("-wal");
            Some(Arc::new(GroupCommit {
                wal: PathBuf::from(wal),
                asked: AtomicU64::new(0),
                synced: tokio::sync::Mutex::new(0),
            }))
        } else {
            None
        };
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let urgent = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let lane = urgent.clone();
        std::thread::Builder::new()
            .name("sqlite".into())
            .spawn(move || worker(conn, queue, lane))
            .map_err(|e| PortError::Transient(format!("starting the database thread: {e}")))?;
        Ok(Db {
            path,
            group,
            jobs: Arc::new(jobs),
            urgent,
        })
    }

    /// Everything committed before this call is on disk when it returns. With `open` that is
    /// every commit already; with `open_group_commit` it flushes the WAL, once for all the
    /// callers waiting (group commit).
    pub async fn sync(&self) -> PortResult<()> {
        let Some(g) = &self.group else {
            return Ok(());
        };
        let ticket = g.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = g.synced.lock().await;
        if *synced >= ticket {
            return Ok(()); // a flush that started after our commit has finished
        }
        // Every ticket taken so far belongs to a caller whose commit came before it.
        let covers = g.asked.load(Ordering::SeqCst);
        let (wal, db) = (g.wal.clone(), self.path.clone());
        tokio::task::spawn_blocking(move || flush(&wal, &db))
            .await
            .map_err(|e| join_err("sync", e))?
            .map_err(|e| PortError::Transient(format!("sync {}: {e}", db_name(&self.path))))?;
        *synced = covers;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection on the database thread (see the type's docs for why). A
    /// panic in `f` fails this call only.
    pub(crate) async fn call<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, move |out| {
            let _ = tx.send(out);
        })?;
        match rx.await {
            Ok(out) => out,
            Err(_) => Err(stopped()),
        }
    }

    /// `call`, ahead of every call already queued: for the webhook's enqueue, which Meta waits
    /// on, while the consumers' calls can wait a moment.
    pub(crate) async fn call_urgent<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = wrap(f, move |out| {
            let _ = tx.send(out);
        });
        match self.urgent.lock() {
            Ok(mut q) => q.push_back(job),
            Err(poisoned) => poisoned.into_inner().push_back(job),
        }
        // Wakes the thread if it is idle; it runs the urgent job before this no-op.
        self.jobs.send(Box::new(|_| {})).map_err(|_| stopped())?;
        match rx.await {
            Ok(out) => out,
            Err(_) => Err(stopped()),
        }
    }

    /// The same, waiting on the calling thread (tests).
    #[cfg(test)]
    fn call_sync<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        self.submit(f, move |out| {
            let _ = tx.send(out);
        })?;
        rx.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Queues `f` for the database thread; `done` gets its result.
    fn submit<T, F>(&self, f: F, done: impl FnOnce(PortResult<T>) + Send + 'static) -> PortResult<()>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
    {
        self.jobs.send(wrap(f, done)).map_err(|_| stopped())
    }
}

/// `f` as a job whose result goes to `done`. A panic in `f` fails that call only: an open
/// rusqlite `Transaction` rolls back when dropped during unwinding, so the connection is still
/// sound.
fn wrap<T, F>(f: F, done: impl FnOnce(PortResult<T>) + Send + 'static) -> Job
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
{
    Box::new(move |conn: &mut Connection| {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
            .unwrap_or_else(|_| Err(PortError::Permanent("database task panicked".into())));
        done(out);
    })
}

fn stopped() -> PortError {
    PortError::Transient("the database thread has stopped".into())
}

/// fsync of the WAL, where every commit since the last checkpoint is (a checkpoint flushes the
/// database file itself before the WAL is reused); without a WAL file, the database file.
fn flush(wal: &Path, db: &Path) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(f) => f.sync_data(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::File::open(db)?.sync_data(),
        Err(e) => Err(e),
    }
}

fn db_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Busy/locked (another writer) and a full disk can succeed later; anything else will not.
pub(crate) fn db_err(e: rusqlite::Error) -> PortError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull
            ) =>
        {
            PortError::Transient(format!("sqlite: {e}"))
        }
        _ => PortError::Permanent(format!("sqlite: {e}")),
    }
}

/// A panic in the blocking task is a bug (retrying will not help); a cancelled task (runtime
/// shutting down) is worth retrying.
pub(crate) fn join_err(what: &str, e: tokio::task::JoinError) -> PortError {
    if e.is_panic() {
        PortError::Permanent(format!("{what} task panicked"))
    } else {
        PortError::Transient(format!("{what} task was cancelled"))
    }
}

pub(crate) fn json_err(what: &str, e: serde_json::Error) -> PortError {
    PortError::Permanent(format!("{what}: bad JSON: {e}"))
}

/// Fixed-width UTC (`2026-03-01T10:00:00.000000Z`), so text order is time order in indexes.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_twice_with_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path()).expect("open");
        drop(db);
        let db = Db::open(dir.path()).expect("reopen: schema creation is idempotent");
        db.call_sync(|c| {
            let mode: String = c
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .map_err(db_err)?;
            let fk: i64 = c
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .map_err(db_err)?;
            assert_eq!((mode.as_str(), fk), ("wal", 1));
            Ok(())
        })
        .expect("pragmas");
        assert!(dir.path().join("shikayat.sqlite").exists());
    }

    #[test]
    fn a_version_1_file_gains_the_next_action_column_and_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let conn = Connection::open(dir.path().join(Db::FILE_NAME)).expect("open");
            conn.execute_batch(
                "CREATE TABLE complaints (id TEXT PRIMARY KEY, version INTEGER NOT NULL,
                   status TEXT NOT NULL, department TEXT, officer TEXT, complainant TEXT NOT NULL,
                   created_at TEXT NOT NULL, due_at TEXT, open INTEGER NOT NULL, doc TEXT NOT NULL);
                 INSERT INTO complaints VALUES ('AMT-2026-000001', 3, 'forwarded', 'water', '91900',
                   '91981', '2026-03-01T10:00:00.000000Z', '2026-03-04T10:00:00.000000Z', 1, '{}');
                 INSERT INTO complaints VALUES ('AMT-2026-000002', 3, 'closed', 'water', '91900',
                   '91981', '2026-03-01T10:00:00.000000Z', NULL, 0, '{}');
                 PRAGMA user_version = 1;",
            )
            .expect("v1 schema");
        }
        let db = Db::open(dir.path()).expect("migrates");
        drop(db);
        let db = Db::open(dir.path()).expect("and opens again");
        db.call_sync(|c| {
            let next: Vec<Option<String>> = c
                .prepare("SELECT next_action_at FROM complaints ORDER BY id")
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .map_err(db_err)?;
            assert_eq!(next, [Some("2026-03-01T10:00:00.000000Z".to_string()), None]);
            let idx: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = 'complaints_open_by_next_action'",
                    [],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            assert_eq!(idx, 1);
            Ok(())
        })
        .expect("migrated");
    }

    #[tokio::test]
    async fn group_commit_runs_normal_and_sync_flushes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open_group_commit(dir.path()).expect("open");
        let sync: i64 = db
            .call(|c| {
                c.query_row("PRAGMA synchronous", [], |r| r.get(0))
                    .map_err(db_err)
            })
            .await
            .expect("pragma");
        assert_eq!(sync, 1, "NORMAL");
        db.call(|c| {
            c.execute("INSERT INTO done_keys (key, at) VALUES ('k', 'now')", [])
                .map_err(db_err)
        })
        .await
        .expect("write");
        let (a, b) = tokio::join!(db.sync(), db.sync());
        a.expect("sync");
        b.expect("sync");
        let other = tempfile::tempdir().expect("tempdir");
        let full = Db::open(other.path()).expect("open");
        full.sync().await.expect("FULL: nothing to do");
    }

    #[test]
    fn times_sort_as_text() {
        let a = DateTime::parse_from_rfc3339("2026-03-01T09:59:59.9Z")
            .expect("a")
            .with_timezone(&Utc);
        let b = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .expect("b")
            .with_timezone(&Utc);
        assert_eq!(ts(b), "2026-03-01T10:00:00.000000Z");
        assert!(ts(a) < ts(b));
    }

    #[test]
    fn busy_is_transient_other_errors_permanent() {
        let busy =
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
        assert!(matches!(db_err(busy), PortError::Transient(_)));
        assert!(matches!(
            db_err(rusqlite::Error::QueryReturnedNoRows),
            PortError::Permanent(_)
        ));
    }
}
