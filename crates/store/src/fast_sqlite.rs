//! The SQLite hot paths, on rusqlite.
//!
//! sqlx's Any driver costs several microseconds per row in argument and value conversion, which
//! caps journal appends and verification far below what SQLite itself does. For a SQLite store the
//! journal's bulk paths (appending a batch, reading events in sequence order) go through two
//! dedicated rusqlite connections on the same file instead: same schema, same WAL mode and
//! `synchronous=FULL`, same transactions. Everything else keeps the portable sqlx path.
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};
use strongroom_journal::JournalEvent;

use crate::store::{StoreError, parse_hash, to_i64, to_u64};

/// A write and a read connection.
pub(crate) struct FastSqlite {
    write: Mutex<Connection>,
    read: Mutex<Connection>,
}

fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Db(sqlx::Error::Protocol(format!("sqlite: {e}")))
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let c = Connection::open(path).map_err(db_err)?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;",
    )
    .map_err(db_err)?;
    Ok(c)
}

impl FastSqlite {
    pub(crate) fn open(path: &Path) -> Result<Arc<FastSqlite>, StoreError> {
        Ok(Arc::new(FastSqlite {
            write: Mutex::new(open(path)?),
            read: Mutex::new(open(path)?),
        }))
    }

    /// Inserts events in one durable transaction.
    pub(crate) fn insert_events(&self, events: &[Arc<JournalEvent>]) -> Result<(), StoreError> {
        let mut conn = self
            .write
            .lock()
            .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?;
        let tx = conn.transaction().map_err(db_err)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO journal (site_id, seq, time_ms, kind, actor, payload, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db_err)?;
            let mut hex_buf = [0u8; 64];
            for e in events {
                let hash = hex_str(&e.hash, &mut hex_buf);
                stmt.execute(params![
                    e.site_id,
                    to_i64(e.seq),
                    e.time_ms,
                    e.kind,
                    e.actor,
                    e.payload,
                    hash
                ])
                .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    /// Up to `limit` events with `seq > after_seq`, in order.
    pub(crate) fn events_after(
        &self,
        site_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<JournalEvent>, StoreError> {
        let conn = self
            .read
            .lock()
            .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, time_ms, kind, actor, payload, hash FROM journal WHERE site_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(db_err)?;
        let mut rows = stmt
            .query(params![site_id, to_i64(after_seq), i64::from(limit)])
            .map_err(db_err)?;
        let mut out = Vec::with_capacity(limit.min(100_000) as usize);
        while let Some(r) = rows.next().map_err(db_err)? {
            let seq: i64 = r.get(0).map_err(db_err)?;
            let hash: String = r.get(5).map_err(db_err)?;
            out.push(JournalEvent {
                seq: to_u64(seq, "seq")?,
                site_id: site_id.to_owned(),
                time_ms: r.get(1).map_err(db_err)?,
                kind: r.get(2).map_err(db_err)?,
                actor: r.get(3).map_err(db_err)?,
                payload: r.get(4).map_err(db_err)?,
                hash: parse_hash(&hash, "journal", "hash")?,
            });
        }
        Ok(out)
    }
}

fn hex_str<'a>(bytes: &[u8; 32], buf: &'a mut [u8; 64]) -> &'a str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        buf[2 * i] = HEX[(b >> 4) as usize];
        buf[2 * i + 1] = HEX[(b & 15) as usize];
    }
    std::str::from_utf8(buf).unwrap_or("")
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_matches_hex_crate() {
        let h = [0xabu8; 32];
        let mut buf = [0u8; 64];
        assert_eq!(super::hex_str(&h, &mut buf), hex::encode(h));
    }
}
