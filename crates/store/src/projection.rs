//! Current-state tables derived from the journal.
//!
//! A projection reads events after its cursor and updates its tables and the cursor in one
//! transaction, so a crash never leaves a projection ahead of or behind its cursor. `rebuild`
//! empties the projection tables and replays the whole journal; the result must equal the
//! incrementally maintained state (tested).
//!
//! Projections here: `proj_device_state` (the latest state each device reported, from facts with a
//! `device` and `state` payload field) and `proj_kind_count` (events per kind, for the console).
use std::collections::HashMap;

use sqlx::Row;
use strongroom_journal::JournalEvent;

use crate::store::{Store, StoreError, to_i64, to_u64};

const NAME: &str = "core";
const PAGE: u32 = 10_000;

/// One device's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    /// Device id (site model id).
    pub device_id: String,
    /// State text (`open`, `closed`, `online`, `offline`, `alarm`, ...).
    pub state: String,
    /// Since when.
    pub since_ms: i64,
    /// The event that set it.
    pub seq: u64,
}

/// Brings the projections up to the journal's head; returns the number of events applied.
pub async fn catch_up(store: &Store, site_id: &str) -> Result<u64, StoreError> {
    let mut cursor = cursor(store, site_id).await?;
    let mut applied = 0u64;
    loop {
        let events = store.events_after(site_id, cursor, PAGE).await?;
        let Some(last) = events.last() else { break };
        let last_seq = last.seq;
        apply_page(store, site_id, &events, last_seq).await?;
        applied += events.len() as u64;
        cursor = last_seq;
        if events.len() < PAGE as usize {
            break;
        }
    }
    Ok(applied)
}

/// Empties the projection tables and replays the whole journal.
pub async fn rebuild(store: &Store, site_id: &str) -> Result<u64, StoreError> {
    let mut tx = store.pool().begin().await?;
    for sql in [
        "DELETE FROM proj_device_state WHERE site_id = $1",
        "DELETE FROM proj_kind_count WHERE site_id = $1",
        "DELETE FROM projection_cursor WHERE site_id = $1",
    ] {
        sqlx::query(sql).bind(site_id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    catch_up(store, site_id).await
}

/// The last journal sequence the projections have applied.
pub async fn projected_seq(store: &Store, site_id: &str) -> Result<u64, StoreError> {
    cursor(store, site_id).await
}

/// Notification deliveries waiting in the outbox.
pub async fn outbox_pending(store: &Store, site_id: &str) -> Result<u64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) FROM outbox WHERE site_id = $1 AND state = 'pending'")
        .bind(site_id)
        .fetch_one(store.pool())
        .await?;
    to_u64(row.try_get(0)?, "count")
}

async fn cursor(store: &Store, site_id: &str) -> Result<u64, StoreError> {
    let row =
        sqlx::query("SELECT last_seq FROM projection_cursor WHERE name = $1 AND site_id = $2")
            .bind(NAME)
            .bind(site_id)
            .fetch_optional(store.pool())
            .await?;
    match row {
        Some(r) => to_u64(r.try_get("last_seq")?, "last_seq"),
        None => Ok(0),
    }
}

async fn apply_page(
    store: &Store,
    site_id: &str,
    events: &[JournalEvent],
    last_seq: u64,
) -> Result<(), StoreError> {
    // Fold the page in memory first: only the last state per device and the counts per kind reach
    // the database, which keeps a rebuild of millions of events fast.
    let mut devices: HashMap<String, (String, i64, u64)> = HashMap::new();
    let mut kinds: HashMap<String, (i64, i64)> = HashMap::new();
    for e in events {
        let k = kinds.entry(e.kind.clone()).or_insert((0, i64::MIN));
        k.0 += 1;
        k.1 = k.1.max(e.time_ms);
        if let Ok(serde_json::Value::Object(p)) =
            serde_json::from_str::<serde_json::Value>(&e.payload)
            && let (Some(serde_json::Value::String(d)), Some(serde_json::Value::String(s))) =
                (p.get("device"), p.get("state"))
        {
            devices.insert(d.clone(), (s.clone(), e.time_ms, e.seq));
        }
    }
    let mut tx = store.pool().begin().await?;
    for (device, (state, since_ms, seq)) in devices {
        sqlx::query("DELETE FROM proj_device_state WHERE site_id = $1 AND device_id = $2")
            .bind(site_id)
            .bind(&device)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO proj_device_state (site_id, device_id, state, since_ms, seq) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(site_id)
        .bind(&device)
        .bind(&state)
        .bind(since_ms)
        .bind(to_i64(seq))
        .execute(&mut *tx)
        .await?;
    }
    for (kind, (n, last_ms)) in kinds {
        let updated = sqlx::query(
            "UPDATE proj_kind_count SET events = events + $1, last_ms = CASE WHEN last_ms > $2 THEN last_ms ELSE $2 END WHERE site_id = $3 AND kind = $4",
        )
        .bind(n)
        .bind(last_ms)
        .bind(site_id)
        .bind(&kind)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO proj_kind_count (site_id, kind, events, last_ms) VALUES ($1, $2, $3, $4)")
                .bind(site_id)
                .bind(&kind)
                .bind(n)
                .bind(last_ms)
                .execute(&mut *tx)
                .await?;
        }
    }
    let updated =
        sqlx::query("UPDATE projection_cursor SET last_seq = $1 WHERE name = $2 AND site_id = $3")
            .bind(to_i64(last_seq))
            .bind(NAME)
            .bind(site_id)
            .execute(&mut *tx)
            .await?;
    if updated.rows_affected() == 0 {
        sqlx::query("INSERT INTO projection_cursor (name, site_id, last_seq) VALUES ($1, $2, $3)")
            .bind(NAME)
            .bind(site_id)
            .bind(to_i64(last_seq))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every device's current state.
pub async fn device_states(store: &Store, site_id: &str) -> Result<Vec<DeviceState>, StoreError> {
    let rows = sqlx::query(
        "SELECT device_id, state, since_ms, seq FROM proj_device_state WHERE site_id = $1 ORDER BY device_id",
    )
    .bind(site_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeviceState {
                device_id: r.try_get("device_id")?,
                state: r.try_get("state")?,
                since_ms: r.try_get("since_ms")?,
                seq: to_u64(r.try_get("seq")?, "seq")?,
            })
        })
        .collect()
}

/// Events per kind: `(kind, events, last_ms)`.
pub async fn kind_counts(
    store: &Store,
    site_id: &str,
) -> Result<Vec<(String, u64, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, events, last_ms FROM proj_kind_count WHERE site_id = $1 ORDER BY kind",
    )
    .bind(site_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("kind")?,
                to_u64(r.try_get("events")?, "events")?,
                r.try_get("last_ms")?,
            ))
        })
        .collect()
}
