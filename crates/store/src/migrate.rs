//! Schema migrations, one list for both engines.
//!
//! Each migration is portable SQL run in a transaction; `sr_schema` records what ran. A database
//! newer than this binary is refused rather than guessed at.
use sqlx::Row;

use crate::store::{Store, StoreError};

/// One migration.
pub struct Migration {
    /// Version, increasing from 1.
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// Statements, run in order.
    pub statements: &'static [&'static str],
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "sites, journal, checkpoints, users, sessions, projections",
        statements: &[
            "CREATE TABLE site (id TEXT PRIMARY KEY, name TEXT NOT NULL, jurisdiction TEXT NOT NULL, public_key TEXT NOT NULL, created_ms BIGINT NOT NULL)",
            "CREATE TABLE journal (site_id TEXT NOT NULL, seq BIGINT NOT NULL, time_ms BIGINT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, payload TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (site_id, seq))",
            "CREATE INDEX journal_kind_time ON journal (site_id, kind, time_ms)",
            "CREATE INDEX journal_time ON journal (site_id, time_ms)",
            "CREATE TABLE checkpoint (site_id TEXT NOT NULL, seq BIGINT NOT NULL, head_hash TEXT NOT NULL, time_ms BIGINT NOT NULL, signature TEXT NOT NULL, PRIMARY KEY (site_id, seq))",
            "CREATE TABLE app_user (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, totp_secret TEXT, grants TEXT NOT NULL, disabled BIGINT NOT NULL, must_change_password BIGINT NOT NULL, failed_logins BIGINT NOT NULL, locked_until_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL)",
            "CREATE TABLE app_session (token_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, csrf_token TEXT NOT NULL, mfa_passed BIGINT NOT NULL, created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL)",
            "CREATE INDEX app_session_user ON app_session (user_name)",
            "CREATE TABLE projection_cursor (name TEXT NOT NULL, site_id TEXT NOT NULL, last_seq BIGINT NOT NULL, PRIMARY KEY (name, site_id))",
            "CREATE TABLE proj_device_state (site_id TEXT NOT NULL, device_id TEXT NOT NULL, state TEXT NOT NULL, since_ms BIGINT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (site_id, device_id))",
            "CREATE TABLE proj_kind_count (site_id TEXT NOT NULL, kind TEXT NOT NULL, events BIGINT NOT NULL, last_ms BIGINT NOT NULL, PRIMARY KEY (site_id, kind))",
        ],
    },
    Migration {
        version: 2,
        name: "durable outbox for notifications and central-station reports",
        statements: &[
            "CREATE TABLE outbox (id TEXT PRIMARY KEY, site_id TEXT NOT NULL, channel TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL, due_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, last_error TEXT)",
            "CREATE INDEX outbox_due ON outbox (state, due_ms)",
        ],
    },
    Migration {
        version: 3,
        name: "central-station outbound queue and dispatch history",
        // Binaries before this migration created the table when a site with a central station
        // started, with the same columns: `IF NOT EXISTS` keeps those rows.
        statements: &[
            "CREATE TABLE IF NOT EXISTS alarm_outbound (id BIGINT PRIMARY KEY, site_id TEXT NOT NULL, alarm_id TEXT NOT NULL, signal TEXT NOT NULL, enqueued_ms BIGINT NOT NULL, state TEXT NOT NULL, done_ms BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS alarm_outbound_pending ON alarm_outbound (site_id, state, id)",
        ],
    },
];

/// The schema version this binary expects.
pub fn current_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies every migration not yet applied; returns the versions applied now.
pub async fn run(store: &Store, now_ms: i64) -> Result<Vec<i64>, StoreError> {
    run_to(store, now_ms, current_version()).await
}

/// Applies the migrations not yet applied up to `version` (tests build an older database with
/// this to check that upgrading it gives the same schema as a fresh one).
pub async fn run_to(store: &Store, now_ms: i64, version: i64) -> Result<Vec<i64>, StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS sr_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)",
    )
    .execute(store.pool())
    .await?;
    let have = applied_version(store).await?;
    if have > current_version() {
        return Err(StoreError::TooNew {
            database: have,
            binary: current_version(),
        });
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > have && m.version <= version)
    {
        let mut tx = store.pool().begin().await?;
        for stmt in m.statements {
            sqlx::query(*stmt).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO sr_schema (version, name, applied_ms) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        applied.push(m.version);
    }
    Ok(applied)
}

/// The highest applied version (0 for an empty database).
pub async fn applied_version(store: &Store) -> Result<i64, StoreError> {
    let exists = match store.backend() {
        crate::Backend::Sqlite => sqlx::query(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'sr_schema'",
        )
        .fetch_one(store.pool())
        .await?
        .try_get::<i64, _>("n")?,
        crate::Backend::Postgres => sqlx::query(
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'sr_schema'",
        )
        .fetch_one(store.pool())
        .await?
        .try_get::<i64, _>("n")?,
    };
    if exists == 0 {
        return Ok(0);
    }
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM sr_schema")
        .fetch_one(store.pool())
        .await?;
    Ok(row.try_get::<i64, _>("v")?)
}
