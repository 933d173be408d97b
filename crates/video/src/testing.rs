//! Test support (not part of the product API): databases for the conformance story (SQLite always,
//! PostgreSQL when `STRONGROOM_TEST_DATABASE_URL` is set, each test in its own schema) and the
//! location of the peers directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::index::{self, IndexError};

/// A migrated database for one test.
pub struct TestDb {
    /// The pool.
    pub pool: AnyPool,
    /// "sqlite" or "postgres".
    pub label: &'static str,
    /// Database URL.
    pub url: String,
    /// Schema of this test (Postgres only); dropped at [`TestDb::close`].
    pub schema: Option<String>,
}

/// Connects to `url`, with `search_path` set to `schema` on every connection when given.
pub async fn connect(url: &str, schema: Option<&str>) -> Result<AnyPool, IndexError> {
    crate::install_drivers();
    let mut opts = AnyPoolOptions::new().max_connections(4);
    if let Some(schema) = schema {
        let s = schema.to_owned();
        opts = opts.after_connect(move |conn, _meta| {
            let s = s.clone();
            Box::pin(async move {
                sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO {s}")))
                    .execute(conn)
                    .await?;
                Ok(())
            })
        });
    }
    Ok(opts.connect(url).await?)
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    /// A SQLite database file inside `dir`.
    pub async fn sqlite(dir: &Path) -> Result<Self, IndexError> {
        crate::install_drivers();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("index-{n}.db")).display()
        );
        let pool = connect(&url, None).await?;
        index::migrate(&pool).await?;
        Ok(TestDb {
            pool,
            label: "sqlite",
            url,
            schema: None,
        })
    }

    /// A fresh schema in the PostgreSQL database at `url`.
    pub async fn postgres(url: &str) -> Result<Self, IndexError> {
        crate::install_drivers();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let schema = format!(
            "video_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            nanos
        );
        let admin = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await?;
        admin.close().await;
        let pool = connect(url, Some(&schema)).await?;
        index::migrate(&pool).await?;
        Ok(TestDb {
            pool,
            label: "postgres",
            url: url.to_owned(),
            schema: Some(schema),
        })
    }

    /// SQLite in `dir`, plus PostgreSQL if `STRONGROOM_TEST_DATABASE_URL` is set.
    pub async fn all(dir: &Path) -> Result<Vec<Self>, IndexError> {
        let mut v = vec![Self::sqlite(dir).await?];
        if let Ok(url) = std::env::var("STRONGROOM_TEST_DATABASE_URL")
            && !url.is_empty()
        {
            v.push(Self::postgres(&url).await?);
        }
        Ok(v)
    }

    /// Closes the pool and drops the test schema.
    pub async fn close(self) -> Result<(), IndexError> {
        self.pool.close().await;
        if let Some(schema) = self.schema {
            let admin = AnyPoolOptions::new()
                .max_connections(1)
                .connect(&self.url)
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&admin)
                .await?;
            admin.close().await;
        }
        Ok(())
    }
}

/// The peers directory: `STRONGROOM_PEERS_DIR`, else `<workspace root>/../shared/peers`.
pub fn peers_dir() -> PathBuf {
    match std::env::var_os("STRONGROOM_PEERS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peers"),
    }
}

/// True if tests must fail rather than skip when a peer cannot run.
pub fn peers_required() -> bool {
    std::env::var("STRONGROOM_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}
