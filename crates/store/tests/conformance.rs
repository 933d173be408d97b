//! The storage conformance suite: every test runs on SQLite, and also on PostgreSQL when
//! `STRONGROOM_TEST_DATABASE_URL` names one (each test in a schema of its own, dropped after).
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use strongroom_domain::auth::{Grants, Role, RoleGrant};
use strongroom_domain::{Actor, Fact, ManualClock};
use strongroom_journal::{SiteKey, Tamper};
use strongroom_store::journal_writer::JournalWriterConfig;
use strongroom_store::users::{SessionRow, UserRow};
use strongroom_store::verify::{VerifyError, verify_site};
use strongroom_store::{JournalHandle, SiteRow, Store, migrate, projection};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A store on one engine, cleaned up on drop of the guard's tempdir / schema.
struct TestDb {
    store: Store,
    label: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    async fn cleanup(self) {
        self.store.close().await;
        if let Some((url, schema)) = self.pg
            && let Ok(admin) = Store::open(&url).await
        {
            {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(admin.pool())
                .await;
                admin.close().await;
            }
        }
    }
}

async fn databases() -> Vec<TestDb> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
    let store = Store::open(&url).await.expect("sqlite opens");
    migrate::run(&store, 1).await.expect("migrates");
    out.push(TestDb {
        store,
        label: "sqlite".into(),
        _dir: Some(dir),
        pg: None,
    });
    if let Ok(pg) = std::env::var("STRONGROOM_TEST_DATABASE_URL") {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let schema = format!("sr_t_{}_{}", std::process::id(), n);
        let store = Store::open_in_schema(&pg, Some(&schema))
            .await
            .expect("postgres opens");
        migrate::run(&store, 1).await.expect("migrates on postgres");
        out.push(TestDb {
            store,
            label: "postgres".into(),
            _dir: None,
            pg: Some((pg, schema)),
        });
    } else {
        eprintln!("NOTE: STRONGROOM_TEST_DATABASE_URL not set; conformance ran on SQLite only");
    }
    out
}

async fn new_site(store: &Store) -> Arc<SiteKey> {
    let key = Arc::new(SiteKey::generate().expect("rng"));
    store
        .create_site(&SiteRow {
            id: "s1".into(),
            name: "Site".into(),
            jurisdiction: "il-dispensary".into(),
            public_key: key.public_hex(),
            created_ms: 1,
        })
        .await
        .expect("site");
    key
}

async fn writer(store: &Store, key: &Arc<SiteKey>) -> JournalHandle {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let (h, _task) = JournalHandle::start(
        store.clone(),
        "s1",
        key.clone(),
        clock,
        JournalWriterConfig::default(),
    )
    .await
    .expect("writer starts");
    h
}

fn fact(i: u64) -> Fact {
    Fact::new("test.event", Actor::System, 1_700_000_000_000 + i as i64).with("i", i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_current() {
    for db in databases().await {
        let again = migrate::run(&db.store, 2).await.expect("second run");
        assert!(again.is_empty(), "{}: nothing to apply twice", db.label);
        assert_eq!(
            migrate::applied_version(&db.store).await.expect("version"),
            migrate::current_version()
        );
        db.cleanup().await;
    }
}

/// The columns of `table`, in order, as the engine reports them.
async fn columns(store: &Store, table: &str) -> Vec<String> {
    use sqlx::Row;
    let rows = match store.backend() {
        strongroom_store::Backend::Sqlite => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")))
                .fetch_all(store.pool())
                .await
        }
        strongroom_store::Backend::Postgres => {
            sqlx::query("SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position")
                .bind(table)
                .fetch_all(store.pool())
                .await
        }
    }
    .expect("columns");
    rows.iter().map(|r| r.get::<String, _>("name")).collect()
}

/// A database from before migration 3, whose `alarm_outbound` table was created when its site
/// started, upgrades to the schema of a fresh database and keeps its queued signals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_an_old_outbound_queue_equals_a_fresh_one() {
    use sqlx::Row;
    for fresh in databases().await {
        let old = empty_database_like(&fresh).await;
        migrate::run_to(&old.store, 1, 2).await.expect("old schema");
        sqlx::query("CREATE TABLE IF NOT EXISTS alarm_outbound (id BIGINT PRIMARY KEY, site_id TEXT NOT NULL, alarm_id TEXT NOT NULL, signal TEXT NOT NULL, enqueued_ms BIGINT NOT NULL, state TEXT NOT NULL, done_ms BIGINT NOT NULL)")
            .execute(old.store.pool())
            .await
            .expect("the table an old binary created");
        sqlx::query("INSERT INTO alarm_outbound (id, site_id, alarm_id, signal, enqueued_ms, state, done_ms) VALUES (1, 's1', 'a1', '{}', 5, 'pending', 0)")
            .execute(old.store.pool())
            .await
            .expect("a queued signal");
        assert_eq!(
            migrate::run(&old.store, 2).await.expect("upgrade"),
            vec![3],
            "{}",
            fresh.label
        );
        assert_eq!(
            columns(&old.store, "alarm_outbound").await,
            columns(&fresh.store, "alarm_outbound").await,
            "{}",
            fresh.label
        );
        let kept = sqlx::query("SELECT COUNT(*) AS n FROM alarm_outbound WHERE state = 'pending'")
            .fetch_one(old.store.pool())
            .await
            .expect("count")
            .get::<i64, _>("n");
        assert_eq!(
            kept, 1,
            "{}: the queued signal survives the upgrade",
            fresh.label
        );
        old.cleanup().await;
        fresh.cleanup().await;
    }
}

/// An empty database on the same engine as `like` (its own file or schema).
async fn empty_database_like(like: &TestDb) -> TestDb {
    match &like.pg {
        None => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("old.sqlite").display());
            TestDb {
                store: Store::open(&url).await.expect("sqlite opens"),
                label: "sqlite".into(),
                _dir: Some(dir),
                pg: None,
            }
        }
        Some((url, _)) => {
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let schema = format!("sr_t_{}_{}", std::process::id(), n);
            TestDb {
                store: Store::open_in_schema(url, Some(&schema))
                    .await
                    .expect("postgres opens"),
                label: "postgres".into(),
                _dir: None,
                pg: Some((url.clone(), schema)),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_contiguous_and_verify() {
    for db in databases().await {
        let key = new_site(&db.store).await;
        let h = writer(&db.store, &key).await;
        let mut tasks = Vec::new();
        for t in 0..8u64 {
            let h = h.clone();
            tasks.push(tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..50u64 {
                    let e = h.append_one(fact(t * 1000 + i)).await.expect("append");
                    seqs.push(e.seq);
                }
                seqs
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all.sort();
        assert_eq!(all, (1..=400).collect::<Vec<u64>>(), "{}", db.label);
        h.shutdown().await.expect("shutdown seals");
        let r = verify_site(&db.store, "s1", &key.verifying_key(), |_| {})
            .await
            .expect("intact");
        assert_eq!(r.events, 400);
        assert_eq!(
            r.unsealed_tail, 0,
            "{}: shutdown checkpoint seals the head",
            db.label
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_fact_changes_nothing() {
    for db in databases().await {
        let key = new_site(&db.store).await;
        let h = writer(&db.store, &key).await;
        h.append_one(fact(1)).await.expect("valid");
        let bad = Fact::new("Bad Kind", Actor::System, 1);
        assert!(h.append(vec![fact(2), bad]).await.is_err());
        let float = Fact::new("x.y", Actor::System, 1).with("v", 1.5);
        assert!(h.append_one(float).await.is_err());
        assert_eq!(
            db.store.event_count("s1").await.expect("count"),
            1,
            "{}",
            db.label
        );
        let e = h.append_one(fact(3)).await.expect("valid after refusal");
        assert_eq!(e.seq, 2, "{}: no gap after a refused request", db.label);
        h.shutdown().await.expect("shutdown");
        verify_site(&db.store, "s1", &key.verifying_key(), |_| {})
            .await
            .expect("intact");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_restart_continues_the_chain() {
    for db in databases().await {
        let key = new_site(&db.store).await;
        let h = writer(&db.store, &key).await;
        h.append((0..10).map(fact).collect()).await.expect("batch");
        h.shutdown().await.expect("shutdown");
        let h2 = writer(&db.store, &key).await;
        let e = h2.append_one(fact(99)).await.expect("append after restart");
        assert_eq!(e.seq, 11);
        h2.shutdown().await.expect("shutdown");
        let r = verify_site(&db.store, "s1", &key.verifying_key(), |_| {})
            .await
            .expect("intact");
        assert_eq!(r.checkpoints, 2, "{}", db.label);
        db.cleanup().await;
    }
}

async fn tampered(db: &TestDb, key: &SiteKey, sql: &[&str]) -> Tamper {
    for s in sql {
        sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
            .execute(db.store.pool())
            .await
            .unwrap_or_else(|e| panic!("{}: {s}: {e}", db.label));
    }
    match verify_site(&db.store, "s1", &key.verifying_key(), |_| {}).await {
        Err(VerifyError::Tampered(t)) => t,
        other => panic!("{}: expected tamper after {sql:?}, got {other:?}", db.label),
    }
}

async fn sealed_site(db: &TestDb) -> Arc<SiteKey> {
    let key = new_site(&db.store).await;
    let h = writer(&db.store, &key).await;
    h.append((0..20).map(fact).collect()).await.expect("batch");
    h.shutdown().await.expect("shutdown");
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_detected_and_named() {
    type Expect = Box<dyn Fn(&Tamper) -> bool>;
    let cases: Vec<(&str, Vec<&str>, Expect)> = vec![
        (
            "one byte of one payload",
            vec![
                "UPDATE journal SET payload = REPLACE(payload, '\"i\":6', '\"i\":7') WHERE seq = 7",
            ],
            Box::new(|t: &Tamper| *t == Tamper::HashMismatch { seq: 7 }),
        ),
        (
            "one event deleted",
            vec!["DELETE FROM journal WHERE seq = 5"],
            Box::new(|t: &Tamper| {
                *t == Tamper::Missing {
                    expected: 5,
                    found: 6,
                }
            }),
        ),
        (
            "one event inserted (later ones renumbered)",
            vec![
                "UPDATE journal SET seq = seq + 1000 WHERE seq >= 9",
                "UPDATE journal SET seq = seq - 999 WHERE seq >= 1009",
                "INSERT INTO journal (site_id, seq, time_ms, kind, actor, payload, hash) SELECT site_id, 9, time_ms, kind, actor, '{\"i\":\"forged\"}', hash FROM journal WHERE seq = 8",
            ],
            Box::new(|t: &Tamper| t.seq() == 9),
        ),
        (
            "two events swapped",
            vec![
                "UPDATE journal SET seq = -3 WHERE seq = 3",
                "UPDATE journal SET seq = 3 WHERE seq = 4",
                "UPDATE journal SET seq = 4 WHERE seq = -3",
            ],
            Box::new(|t: &Tamper| *t == Tamper::HashMismatch { seq: 3 }),
        ),
        (
            "tail truncated after a checkpoint",
            vec!["DELETE FROM journal WHERE seq > 15"],
            Box::new(|t: &Tamper| {
                matches!(
                    t,
                    Tamper::TailCut {
                        first_missing: 16,
                        ..
                    }
                )
            }),
        ),
    ];
    for (name, sql, expect) in cases {
        for db in databases().await {
            let key = sealed_site(&db).await;
            let t = tampered(&db, &key, &sql).await;
            assert!(expect(&t), "{}: {name}: got {t:?} ({t})", db.label);
            db.cleanup().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_rebuild_equals_incremental() {
    for db in databases().await {
        let key = new_site(&db.store).await;
        let h = writer(&db.store, &key).await;
        let mut facts = Vec::new();
        for i in 0..300u64 {
            let device = format!("d{}", i % 7);
            let state = if i % 2 == 0 { "open" } else { "closed" };
            facts.push(
                Fact::new("device.state", Actor::Device(device.clone()), i as i64)
                    .with("device", device)
                    .with("state", state),
            );
            if i == 150 {
                h.append(std::mem::take(&mut facts))
                    .await
                    .expect("first half");
                projection::catch_up(&db.store, "s1")
                    .await
                    .expect("catch up");
            }
        }
        h.append(facts).await.expect("second half");
        projection::catch_up(&db.store, "s1")
            .await
            .expect("catch up");
        let incremental = projection::device_states(&db.store, "s1")
            .await
            .expect("states");
        let counts = projection::kind_counts(&db.store, "s1")
            .await
            .expect("counts");
        projection::rebuild(&db.store, "s1").await.expect("rebuild");
        assert_eq!(
            incremental,
            projection::device_states(&db.store, "s1")
                .await
                .expect("states"),
            "{}",
            db.label
        );
        assert_eq!(
            counts,
            projection::kind_counts(&db.store, "s1")
                .await
                .expect("counts")
        );
        assert_eq!(incremental.len(), 7);
        assert_eq!(counts, vec![("device.state".to_owned(), 300, 299)]);
        h.shutdown().await.expect("shutdown");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_sessions() {
    for db in databases().await {
        let grants = Grants {
            grants: vec![RoleGrant {
                site_id: "s1".into(),
                role: Role::Admin,
            }],
        };
        let u = UserRow {
            name: "alice".into(),
            password_hash: "$argon2id$x".into(),
            totp_secret: None,
            grants: grants.clone(),
            disabled: false,
            must_change_password: true,
            failed_logins: 0,
            locked_until_ms: 0,
            created_ms: 5,
        };
        db.store.create_user(&u).await.expect("create");
        assert!(
            db.store.create_user(&u).await.is_err(),
            "{}: duplicate refused",
            db.label
        );
        assert_eq!(db.store.user("alice").await.expect("get"), Some(u.clone()));
        db.store
            .record_login("alice", false, Some(99))
            .await
            .expect("fail");
        let got = db.store.user("alice").await.expect("get").expect("exists");
        assert_eq!((got.failed_logins, got.locked_until_ms), (1, 99));
        db.store
            .set_totp("alice", Some("JBSWY3DPEHPK3PXP"))
            .await
            .expect("totp");
        let s = SessionRow {
            token_hash: "ab".into(),
            user_name: "alice".into(),
            csrf_token: "c".into(),
            mfa_passed: false,
            created_ms: 10,
            expires_ms: 100,
        };
        db.store.create_session(&s).await.expect("session");
        assert_eq!(
            db.store.session("ab", 50).await.expect("get"),
            Some(s.clone())
        );
        assert_eq!(
            db.store.session("ab", 100).await.expect("get"),
            None,
            "expired"
        );
        db.store.pass_session_mfa("ab").await.expect("mfa");
        assert!(
            db.store
                .session("ab", 50)
                .await
                .expect("get")
                .expect("live")
                .mfa_passed
        );
        db.store.set_disabled("alice", true).await.expect("disable");
        assert_eq!(
            db.store.session("ab", 50).await.expect("get"),
            None,
            "disabling ends sessions"
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind_and_time_queries() {
    for db in databases().await {
        let key = new_site(&db.store).await;
        let h = writer(&db.store, &key).await;
        let mut facts = Vec::new();
        for i in 0..100i64 {
            let kind = if i % 10 == 0 {
                "vault.entry"
            } else {
                "access.granted"
            };
            facts.push(Fact::new(kind, Actor::System, i * 1000).with("i", i));
        }
        h.append(facts).await.expect("append");
        let day = db
            .store
            .events_by_kind_and_time("s1", "vault.", 20_000, 60_000)
            .await
            .expect("query");
        let times: Vec<i64> = day.iter().map(|e| e.time_ms).collect();
        assert_eq!(times, vec![20_000, 30_000, 40_000, 50_000], "{}", db.label);
        let recent = db
            .store
            .recent_events("s1", Some("access."), None, 3)
            .await
            .expect("recent");
        assert_eq!(recent.len(), 3);
        assert!(recent[0].seq > recent[1].seq);
        h.shutdown().await.expect("shutdown");
        db.cleanup().await;
    }
}

/// The follower yields every event after its start point exactly once and in order: stored ones
/// first, then live ones, also when the live broadcast overflows (a slow follower).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_yields_each_event_once_in_order() {
    use strongroom_store::follow::JournalFollower;
    for db in databases().await {
        let key = new_site(&db.store).await;
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let config = JournalWriterConfig {
            broadcast_capacity: 8,
            ..JournalWriterConfig::default()
        };
        let (h, _task) = JournalHandle::start(db.store.clone(), "s1", key.clone(), clock, config)
            .await
            .expect("writer starts");
        h.append((0..25).map(fact).collect()).await.expect("stored");
        let mut follower = JournalFollower::new(db.store.clone(), &h, 5);
        let mut seen = Vec::new();
        let head = follower
            .catch_up(|e| seen.push(e.seq))
            .await
            .expect("catch up");
        assert_eq!(head, 25, "{}", db.label);
        // 100 more, far more than the broadcast holds: the follower must read back what it missed.
        for chunk in 0..10 {
            h.append((0..10).map(|i| fact(100 + chunk * 10 + i)).collect())
                .await
                .expect("live");
        }
        while seen.len() < 120 {
            let e = tokio::time::timeout(std::time::Duration::from_secs(10), follower.next())
                .await
                .expect("next event in time")
                .expect("store ok")
                .expect("journal open");
            seen.push(e.seq);
        }
        let want: Vec<u64> = (6..=125).collect();
        assert_eq!(seen, want, "{}", db.label);
        assert_eq!(follower.last_seq(), 125);
        h.shutdown().await.expect("shutdown");
        db.cleanup().await;
    }
}
