//! One way to read a site's journal in order: [`JournalFollower`].
//!
//! A subsystem service rebuilds its state at start by replaying every stored event, then follows
//! the live journal. Done by hand this has two classic bugs: events appended between the replay
//! and the subscription are lost, and events seen both in the replay and live are applied twice.
//! The follower subscribes first, reads the stored events in pages, and then yields live events,
//! skipping what it already yielded; when the live broadcast overflows (a slow follower) it goes
//! back to the database, so no event is ever skipped.
//!
//! Invariant: every event with `seq > after_seq` is yielded exactly once, in sequence order.
use std::collections::VecDeque;
use std::sync::Arc;

use strongroom_journal::JournalEvent;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::journal_writer::JournalHandle;
use crate::store::{Store, StoreError};

/// Events read from the database per query.
const PAGE_EVENTS: u32 = 5_000;

/// Follows one site's journal from a sequence number on.
pub struct JournalFollower {
    store: Store,
    site_id: String,
    live: broadcast::Receiver<Arc<JournalEvent>>,
    last_seq: u64,
    /// Events read back from the database after a gap, not yet yielded.
    pending: VecDeque<Arc<JournalEvent>>,
}

impl JournalFollower {
    /// A follower that will yield every event after `after_seq` (0 = from the start). It
    /// subscribes to the live journal at once, so nothing appended from now on is missed.
    pub fn new(store: Store, journal: &JournalHandle, after_seq: u64) -> JournalFollower {
        JournalFollower {
            store,
            site_id: journal.site_id().to_owned(),
            live: journal.subscribe(),
            last_seq: after_seq,
            pending: VecDeque::new(),
        }
    }

    /// The sequence number of the last event yielded (or `after_seq`).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Applies `apply` to every stored event after the last one yielded, up to the head as the
    /// database has it now; returns the last sequence number applied.
    pub async fn catch_up(
        &mut self,
        mut apply: impl FnMut(&JournalEvent),
    ) -> Result<u64, StoreError> {
        loop {
            let page = self
                .store
                .events_after(&self.site_id, self.last_seq, PAGE_EVENTS)
                .await?;
            let full = page.len() == PAGE_EVENTS as usize;
            for event in &page {
                apply(event);
                self.last_seq = event.seq;
            }
            if !full {
                return Ok(self.last_seq);
            }
        }
    }

    /// The next event after the last one yielded, waiting for it if need be; `None` once the
    /// journal writer has stopped and everything it wrote was yielded.
    pub async fn next(&mut self) -> Result<Option<Arc<JournalEvent>>, StoreError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.last_seq = event.seq;
                return Ok(Some(event));
            }
            match self.live.recv().await {
                Ok(event) if event.seq <= self.last_seq => continue,
                Ok(event) if event.seq == self.last_seq + 1 => {
                    self.last_seq = event.seq;
                    return Ok(Some(event));
                }
                // A gap (events committed before the subscription, or missed): read them back.
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    if let Some(event) = self.read_stored().await? {
                        return Ok(Some(event));
                    }
                }
                Err(RecvError::Closed) => return self.read_stored().await,
            }
        }
    }

    /// The next event from the database, if it has one (reading a page ahead).
    async fn read_stored(&mut self) -> Result<Option<Arc<JournalEvent>>, StoreError> {
        let page = self
            .store
            .events_after(&self.site_id, self.last_seq, PAGE_EVENTS)
            .await?;
        self.pending.extend(page.into_iter().map(Arc::new));
        let next = self.pending.pop_front();
        if let Some(event) = &next {
            self.last_seq = event.seq;
        }
        Ok(next)
    }
}

/// The position a follower named `name` saved for `site_id` (`None` if it never saved one, or a
/// projection rebuild cleared it). A service that resumes from it after a restart handles every
/// event the stopped process had not (events after the last save are handled again: the service
/// must be idempotent over them).
pub async fn saved_position(
    store: &Store,
    name: &str,
    site_id: &str,
) -> Result<Option<u64>, StoreError> {
    use sqlx::Row;
    let row =
        sqlx::query("SELECT last_seq FROM projection_cursor WHERE name = $1 AND site_id = $2")
            .bind(name)
            .bind(site_id)
            .fetch_optional(store.pool())
            .await?;
    match row {
        Some(r) => {
            let seq: i64 = r.try_get("last_seq")?;
            Ok(Some(u64::try_from(seq).unwrap_or(0)))
        }
        None => Ok(None),
    }
}

/// Saves a follower's position (the last sequence it handled).
pub async fn save_position(
    store: &Store,
    name: &str,
    site_id: &str,
    last_seq: u64,
) -> Result<(), StoreError> {
    let seq = i64::try_from(last_seq).unwrap_or(i64::MAX);
    let updated =
        sqlx::query("UPDATE projection_cursor SET last_seq = $1 WHERE name = $2 AND site_id = $3")
            .bind(seq)
            .bind(name)
            .bind(site_id)
            .execute(store.pool())
            .await?;
    if updated.rows_affected() == 0 {
        sqlx::query("INSERT INTO projection_cursor (name, site_id, last_seq) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(site_id)
            .bind(seq)
            .execute(store.pool())
            .await?;
    }
    Ok(())
}
