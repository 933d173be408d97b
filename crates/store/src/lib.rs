//! Storage for Strongroom: one interface, two engines.
//!
//! [`Store`] runs the same portable SQL on an embedded SQLite file (the default) and on PostgreSQL
//! (for operators who outgrow one machine), through sqlx's Any driver. Portability rules, kept by
//! every query here: times are epoch integers with their unit in the column name, ids, hashes and
//! JSON are TEXT, booleans are BIGINT 0/1, no SERIAL/AUTOINCREMENT, `$n` placeholders.
//!
//! - [`migrate`]: the schema, versioned; `strongroom migrate` brings either engine to the current
//!   version; upgraded and fresh databases are identical.
//! - [`journal_writer`]: the single writer of a site's journal, with group commit, hash chaining,
//!   signed checkpoints every second and at shutdown, and a live broadcast of appended events.
//! - [`users`]: users, password hashes, TOTP secrets, sessions.
//! - [`projection`]: current-state tables derived from the journal, rebuildable from it.
//! - [`decode`]: the one decoder from a journaled event back to its fact.
//! - [`follow`]: the one ordered, gap-free reader of a site's journal (replay, then live).
//! - [`service`]: what subsystem services are given ([`service::ServiceCtx`]) and how they take a
//!   new configuration ([`service::Reconfigure`]).
//!
//! Storage invariants:
//! 1. An event is acknowledged only after the transaction holding it committed (SQLite
//!    `synchronous=FULL` in WAL mode; PostgreSQL's default `synchronous_commit=on`).
//! 2. Only the journal writer inserts into `journal` and `checkpoint`; nothing updates or deletes
//!    them.
//! 3. Projections are never the source of truth: `projection::rebuild` recreates them from the
//!    journal.
#![forbid(unsafe_code)]

pub mod bench;
pub mod decode;
mod fast_sqlite;
pub mod follow;
pub mod journal_writer;
pub mod migrate;
pub mod projection;
pub mod service;
pub mod store;
pub mod users;
pub mod verify;

pub use journal_writer::{AppendError, JournalHandle, JournalWriterConfig};
pub use store::{Backend, SiteRow, Store, StoreError};

/// Administrative helpers (benchmarks and tests).
pub mod admin {
    use crate::store::{Store, StoreError};

    /// Drops a PostgreSQL schema and everything in it (benchmarks clean up with this).
    pub async fn drop_schema(store: &Store, schema: &str) -> Result<(), StoreError> {
        if !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::BadUrl(format!("bad schema name {schema:?}")));
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(store.pool())
        .await?;
        Ok(())
    }
}
