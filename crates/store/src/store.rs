//! The store handle: connection pool, engine detection, sites, and journal reads.
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use strongroom_journal::{Checkpoint, JournalEvent};

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The URL names no supported engine.
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://...")]
    BadUrl(String),
    /// The database was written by a newer Strongroom.
    #[error(
        "database schema version {database} is newer than this binary's {binary}; upgrade Strongroom"
    )]
    TooNew {
        /// Version found.
        database: i64,
        /// Version known.
        binary: i64,
    },
    /// A stored value is not what the schema promises.
    #[error("corrupt stored value in {table}.{column}: {detail}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A row that must exist does not.
    #[error("{0} not found")]
    NotFound(String),
    /// A row that must be unique already exists.
    #[error("{0} already exists")]
    Exists(String),
}

/// A site row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRow {
    /// Site id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Jurisdiction id.
    pub jurisdiction: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// Creation time.
    pub created_ms: i64,
}

/// A connection pool on one engine.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    pub(crate) fast: Option<std::sync::Arc<crate::fast_sqlite::FastSqlite>>,
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` creates the file; `postgres://...`).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Self::open_in_schema(url, None).await
    }

    /// Connects with PostgreSQL's `search_path` set to `schema` (created if missing); tests use
    /// this to run in isolation on one server. Ignored for SQLite.
    pub async fn open_in_schema(url: &str, schema: Option<&str>) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let mut file = None;
        let (backend, url) = if let Some(path) = url.strip_prefix("sqlite://") {
            if !path.contains('?') && path != ":memory:" {
                file = Some(std::path::PathBuf::from(path));
            }
            let mut u = format!("sqlite://{path}");
            if !path.contains('?') && path != ":memory:" {
                u.push_str("?mode=rwc");
            }
            (Backend::Sqlite, u)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::BadUrl(url.to_owned()));
        };
        if let (Backend::Postgres, Some(schema)) = (backend, schema) {
            if !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(StoreError::BadUrl(format!("bad schema name {schema:?}")));
            }
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await?;
            pool.execute(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}"
            )))
            .await?;
            pool.close().await;
        }
        let schema_owned = schema.map(str::to_owned);
        let max = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                let schema = schema_owned.clone();
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    } else if let Some(s) = schema {
                        conn.execute(sqlx::AssertSqlSafe(format!("SET search_path TO {s}")))
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let fast = match file {
            Some(path) => Some(crate::fast_sqlite::FastSqlite::open(&path)?),
            None => None,
        };
        Ok(Store {
            pool,
            backend,
            fast,
        })
    }

    /// The pool, for crates that own tables of their own (`video_*`).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Records a new site.
    pub async fn create_site(&self, site: &SiteRow) -> Result<(), StoreError> {
        if self.site(&site.id).await?.is_some() {
            return Err(StoreError::Exists(format!("site {:?}", site.id)));
        }
        sqlx::query(
            "INSERT INTO site (id, name, jurisdiction, public_key, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&site.id)
        .bind(&site.name)
        .bind(&site.jurisdiction)
        .bind(&site.public_key)
        .bind(site.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One site.
    pub async fn site(&self, id: &str) -> Result<Option<SiteRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, jurisdiction, public_key, created_ms FROM site WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| site_from_row(&r)).transpose()
    }

    /// Every site.
    pub async fn sites(&self) -> Result<Vec<SiteRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, jurisdiction, public_key, created_ms FROM site ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(site_from_row).collect()
    }

    /// The last event's sequence number and hash, if any.
    pub async fn journal_head(&self, site_id: &str) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        let row = sqlx::query(
            "SELECT seq, hash FROM journal WHERE site_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(site_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let seq: i64 = r.try_get("seq")?;
                let hash: String = r.try_get("hash")?;
                Ok(Some((
                    to_u64(seq, "seq")?,
                    parse_hash(&hash, "journal", "hash")?,
                )))
            }
        }
    }

    /// Up to `limit` events with `seq > after_seq`, in order.
    pub async fn events_after(
        &self,
        site_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<JournalEvent>, StoreError> {
        if let Some(fast) = &self.fast {
            let fast = fast.clone();
            let site = site_id.to_owned();
            return tokio::task::spawn_blocking(move || fast.events_after(&site, after_seq, limit))
                .await
                .map_err(|e| StoreError::Db(sqlx::Error::Protocol(e.to_string())))?;
        }
        let rows = sqlx::query(
            "SELECT seq, time_ms, kind, actor, payload, hash FROM journal WHERE site_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(site_id)
        .bind(to_i64(after_seq))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| event_from_row(site_id, r)).collect()
    }

    /// The newest `limit` events (newest first), optionally only kinds starting with `kind_prefix`.
    pub async fn recent_events(
        &self,
        site_id: &str,
        kind_prefix: Option<&str>,
        before_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<JournalEvent>, StoreError> {
        let before = before_seq.map_or(i64::MAX, to_i64);
        let rows = match kind_prefix {
            Some(p) => {
                sqlx::query(
                    "SELECT seq, time_ms, kind, actor, payload, hash FROM journal WHERE site_id = $1 AND seq < $2 AND kind >= $3 AND kind < $4 ORDER BY seq DESC LIMIT $5",
                )
                .bind(site_id)
                .bind(before)
                .bind(p)
                .bind(prefix_upper_bound(p))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT seq, time_ms, kind, actor, payload, hash FROM journal WHERE site_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                )
                .bind(site_id)
                .bind(before)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(|r| event_from_row(site_id, r)).collect()
    }

    /// Events of kinds starting with `kind_prefix` with `from_ms <= time_ms < to_ms`, oldest first
    /// (served by the `journal_kind_time` index: a day's vault log out of months of events).
    pub async fn events_by_kind_and_time(
        &self,
        site_id: &str,
        kind_prefix: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<JournalEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, time_ms, kind, actor, payload, hash FROM journal WHERE site_id = $1 AND kind >= $2 AND kind < $3 AND time_ms >= $4 AND time_ms < $5 ORDER BY time_ms, seq",
        )
        .bind(site_id)
        .bind(kind_prefix)
        .bind(prefix_upper_bound(kind_prefix))
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| event_from_row(site_id, r)).collect()
    }

    /// Every checkpoint of a site, by sequence.
    pub async fn checkpoints(&self, site_id: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, head_hash, time_ms, signature FROM checkpoint WHERE site_id = $1 ORDER BY seq",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get("seq")?;
                let head: String = r.try_get("head_hash")?;
                let sig: String = r.try_get("signature")?;
                let sig_bytes =
                    hex::decode(&sig).map_err(|e| corrupt("checkpoint", "signature", e))?;
                let signature: [u8; 64] = sig_bytes
                    .try_into()
                    .map_err(|_| corrupt("checkpoint", "signature", "not 64 bytes"))?;
                Ok(Checkpoint {
                    site_id: site_id.to_owned(),
                    seq: to_u64(seq, "seq")?,
                    head_hash: parse_hash(&head, "checkpoint", "head_hash")?,
                    time_ms: r.try_get("time_ms")?,
                    signature,
                })
            })
            .collect()
    }

    /// The number of events of a site.
    pub async fn event_count(&self, site_id: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM journal WHERE site_id = $1")
            .bind(site_id)
            .fetch_one(&self.pool)
            .await?;
        to_u64(row.try_get("n")?, "count")
    }
}

/// The smallest string greater than every string starting with `p` (for index range scans).
fn prefix_upper_bound(p: &str) -> String {
    let mut s = p.to_owned();
    s.push(char::MAX);
    s
}

fn site_from_row(r: &AnyRow) -> Result<SiteRow, StoreError> {
    Ok(SiteRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        jurisdiction: r.try_get("jurisdiction")?,
        public_key: r.try_get("public_key")?,
        created_ms: r.try_get("created_ms")?,
    })
}

pub(crate) fn event_from_row(site_id: &str, r: &AnyRow) -> Result<JournalEvent, StoreError> {
    let seq: i64 = r.try_get("seq")?;
    let hash: String = r.try_get("hash")?;
    Ok(JournalEvent {
        seq: to_u64(seq, "seq")?,
        site_id: site_id.to_owned(),
        time_ms: r.try_get("time_ms")?,
        kind: r.try_get("kind")?,
        actor: r.try_get("actor")?,
        payload: r.try_get("payload")?,
        hash: parse_hash(&hash, "journal", "hash")?,
    })
}

fn corrupt(table: &'static str, column: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        detail: detail.to_string(),
    }
}

pub(crate) fn parse_hash(
    text: &str,
    table: &'static str,
    column: &'static str,
) -> Result<[u8; 32], StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|e| corrupt(table, column, e))?;
    Ok(out)
}

pub(crate) fn to_u64(v: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt("journal", what, format!("negative value {v}")))
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
