//! The notification outbox on the database's `outbox` table (migration 2): one row per
//! delivery, the body is the item as JSON, so queued messages survive a restart. Leases are kept
//! in memory, as the `Outbox` trait allows.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sqlx::Row;
use strongroom_domain::Clock;
use strongroom_notify::outbox::ItemState;
use strongroom_notify::{Outbox, OutboxError, OutboxItem, Receipt};
use strongroom_store::Store;

use crate::service::lock;

const NOTIFY_CHANNEL: &str = "notify";
/// How long a finished outbox item stays shielded from a racing `take_due`.
const FINAL_LEASE_MS: i64 = 60_000;

/// The notification outbox on the database's `outbox` table (one row per delivery; the body is
/// the item as JSON). Leases are kept in memory, as the trait allows.
pub(crate) struct DbOutbox {
    pub(crate) store: Store,
    pub(crate) site: String,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) leases: Mutex<BTreeMap<String, i64>>,
}

fn db_err(e: impl std::fmt::Display) -> OutboxError {
    OutboxError::Internal(e.to_string())
}

fn state_str(s: ItemState) -> &'static str {
    match s {
        ItemState::Pending => "pending",
        ItemState::Sent => "sent",
        ItemState::Failed => "failed",
        ItemState::Cancelled => "cancelled",
    }
}

impl DbOutbox {
    fn row_id(&self, id: &str) -> String {
        format!("{}|{id}", self.site)
    }

    async fn load(&self, id: &str) -> Result<Option<OutboxItem>, OutboxError> {
        let row = sqlx::query("SELECT body FROM outbox WHERE id = $1")
            .bind(self.row_id(id))
            .fetch_optional(self.store.pool())
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => {
                let body: String = r.try_get("body").map_err(db_err)?;
                Ok(Some(serde_json::from_str(&body).map_err(db_err)?))
            }
            None => Ok(None),
        }
    }

    async fn save(&self, item: &OutboxItem) -> Result<(), OutboxError> {
        let body = serde_json::to_string(item).map_err(db_err)?;
        sqlx::query(
            "UPDATE outbox SET body = $1, state = $2, attempts = $3, due_ms = $4, updated_ms = $5, last_error = $6 WHERE id = $7",
        )
        .bind(body)
        .bind(state_str(item.state))
        .bind(i64::from(item.attempts))
        .bind(item.next_attempt_ms)
        .bind(self.clock.now_ms())
        .bind(item.last_error.clone().unwrap_or_default())
        .bind(self.row_id(&item.delivery.id))
        .execute(self.store.pool())
        .await
        .map_err(db_err)?;
        let mut leases = lock(&self.leases);
        if item.state == ItemState::Pending {
            leases.remove(&item.delivery.id);
        } else {
            // A final item stays "leased" for a while: a `take_due` that read it as pending just
            // before this update must not send it again.
            leases.insert(
                item.delivery.id.clone(),
                FINAL_LEASE_MS.saturating_add(self.clock.now_ms()),
            );
        }
        Ok(())
    }

    async fn update(
        &self,
        id: &str,
        f: impl FnOnce(&mut OutboxItem) -> bool + Send,
    ) -> Result<(), OutboxError> {
        let mut item = self
            .load(id)
            .await?
            .ok_or_else(|| OutboxError::UnknownItem(id.to_owned()))?;
        if f(&mut item) {
            self.save(&item).await?;
        }
        Ok(())
    }

    async fn pending_rows(&self, limit: i64) -> Result<Vec<OutboxItem>, OutboxError> {
        let rows = sqlx::query(
            "SELECT body FROM outbox WHERE site_id = $1 AND channel = $2 AND state = 'pending' ORDER BY due_ms, id LIMIT $3",
        )
        .bind(self.site.as_str())
        .bind(NOTIFY_CHANNEL)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get("body").map_err(db_err)?;
                serde_json::from_str(&body).map_err(db_err)
            })
            .collect()
    }
}

impl Outbox for DbOutbox {
    async fn enqueue(&self, delivery: strongroom_notify::Delivery) -> Result<bool, OutboxError> {
        let now_ms = self.clock.now_ms();
        let item = OutboxItem {
            state: ItemState::Pending,
            attempts: 0,
            next_attempt_ms: delivery.due_ms,
            last_error: None,
            receipt: None,
            lease_until_ms: None,
            delivery,
        };
        let body = serde_json::to_string(&item).map_err(db_err)?;
        let r = sqlx::query(
            "INSERT INTO outbox (id, site_id, channel, body, state, attempts, due_ms, created_ms, updated_ms, last_error) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7, NULL) ON CONFLICT (id) DO NOTHING",
        )
        .bind(self.row_id(&item.delivery.id))
        .bind(self.site.as_str())
        .bind(NOTIFY_CHANNEL)
        .bind(body)
        .bind(item.next_attempt_ms)
        .bind(now_ms)
        .bind(now_ms)
        .execute(self.store.pool())
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn take_due(
        &self,
        now_ms: i64,
        limit: usize,
        lease_ms: i64,
    ) -> Result<Vec<OutboxItem>, OutboxError> {
        let leased = {
            let mut leases = lock(&self.leases);
            leases.retain(|_, until| *until > now_ms);
            leases.len()
        };
        let fetch = i64::try_from(limit.saturating_add(leased)).unwrap_or(i64::MAX);
        let rows = self.pending_rows(fetch).await?;
        let mut leases = lock(&self.leases);
        let mut out = Vec::new();
        for mut item in rows {
            if out.len() >= limit || item.next_attempt_ms > now_ms {
                break;
            }
            let id = item.delivery.id.clone();
            if leases.get(&id).is_some_and(|&until| until > now_ms) {
                continue;
            }
            let until = now_ms.saturating_add(lease_ms);
            leases.insert(id, until);
            item.lease_until_ms = Some(until);
            out.push(item);
        }
        Ok(out)
    }

    async fn mark_sent(
        &self,
        id: &str,
        attempts: u32,
        receipt: Receipt,
    ) -> Result<(), OutboxError> {
        self.update(id, move |i| {
            if i.state == ItemState::Sent {
                return false;
            }
            i.state = ItemState::Sent;
            i.attempts = attempts;
            i.receipt = Some(receipt);
            true
        })
        .await
    }

    async fn mark_retry(
        &self,
        id: &str,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        let error = error.to_owned();
        self.update(id, move |i| {
            if i.state != ItemState::Pending {
                return false;
            }
            i.attempts = attempts;
            i.next_attempt_ms = next_attempt_ms;
            i.last_error = Some(error);
            true
        })
        .await
    }

    async fn mark_failed(&self, id: &str, attempts: u32, error: &str) -> Result<(), OutboxError> {
        let error = error.to_owned();
        self.update(id, move |i| {
            if i.state != ItemState::Pending {
                return false;
            }
            i.state = ItemState::Failed;
            i.attempts = attempts;
            i.last_error = Some(error);
            true
        })
        .await
    }

    async fn cancel_incident(&self, incident_id: &str) -> Result<Vec<String>, OutboxError> {
        let mut ids = Vec::new();
        for mut item in self.pending_rows(i64::MAX).await? {
            if item.delivery.incident_id != incident_id {
                continue;
            }
            if lock(&self.leases).contains_key(&item.delivery.id) {
                // In flight: its outcome is recorded when the send returns.
                continue;
            }
            item.state = ItemState::Cancelled;
            self.save(&item).await?;
            ids.push(item.delivery.id.clone());
        }
        Ok(ids)
    }

    async fn next_due_ms(&self) -> Result<Option<i64>, OutboxError> {
        let rows = self.pending_rows(64).await?;
        let leases = lock(&self.leases);
        Ok(rows
            .iter()
            .map(|i| {
                leases
                    .get(&i.delivery.id)
                    .map_or(i.next_attempt_ms, |&l| l.max(i.next_attempt_ms))
            })
            .min())
    }

    async fn get(&self, id: &str) -> Result<Option<OutboxItem>, OutboxError> {
        self.load(id).await
    }
}

// ------------------------------------------------------------------ durable central-station queue
