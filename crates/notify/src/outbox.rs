//! The outbox: deliveries wait here until a channel took them, so nothing is lost across a restart.
//!
//! [`Outbox`] is the trait the server implements on its database. Two implementations live here:
//! [`MemoryOutbox`] (tests, or when losing queued messages on restart is acceptable) and
//! [`FileOutbox`], an append-only JSON-lines log, fsynced after every record and replayed on open.
//!
//! Semantics every implementation must keep:
//! - `enqueue` is idempotent on the delivery id (a replayed trigger does not send twice);
//! - `take_due` leases the items it returns for `lease_ms`, so a second taker does not get them; a
//!   lease is not persisted: after a crash, an item in flight is due again (at-least-once);
//! - `mark_sent` / `mark_failed` are final; `mark_retry` reschedules; `cancel_incident` finalises
//!   every still-pending item of an incident (an acknowledgment), but a send already in flight that
//!   succeeds is still recorded as sent, because it was.
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::channel::Receipt;
use crate::escalation::Delivery;

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Waiting for its first or next attempt.
    Pending,
    /// A channel accepted it.
    Sent,
    /// Failed for good.
    Failed,
    /// Cancelled (incident acknowledged) before it was sent.
    Cancelled,
}

/// One delivery in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// The delivery.
    pub delivery: Delivery,
    /// State.
    pub state: ItemState,
    /// Attempts made so far.
    pub attempts: u32,
    /// Earliest time of the next attempt (epoch ms).
    pub next_attempt_ms: i64,
    /// Last error text.
    pub last_error: Option<String>,
    /// The receipt, once sent.
    pub receipt: Option<Receipt>,
    /// Lease held by a dispatcher (not persisted).
    #[serde(skip)]
    pub lease_until_ms: Option<i64>,
}

/// Outbox errors.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// File IO failed.
    #[error("outbox file {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A complete line of the log does not parse.
    #[error("outbox file {path} line {line}: {message}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Parser message.
        message: String,
    },
    /// No item with this id.
    #[error("no outbox item {0:?}")]
    UnknownItem(String),
    /// Internal failure (a poisoned lock or a failed blocking task).
    #[error("outbox internal error: {0}")]
    Internal(String),
}

/// A durable queue of deliveries. See the module documentation for the required semantics.
pub trait Outbox: Send + Sync + 'static {
    /// Adds a delivery, due at its `due_ms`; returns false if its id is already known.
    fn enqueue(&self, delivery: Delivery)
    -> impl Future<Output = Result<bool, OutboxError>> + Send;
    /// Pending items due at `now_ms` and not leased, oldest first, at most `limit`; leases them.
    fn take_due(
        &self,
        now_ms: i64,
        limit: usize,
        lease_ms: i64,
    ) -> impl Future<Output = Result<Vec<OutboxItem>, OutboxError>> + Send;
    /// Records a successful send.
    fn mark_sent(
        &self,
        id: &str,
        attempts: u32,
        receipt: Receipt,
    ) -> impl Future<Output = Result<(), OutboxError>> + Send;
    /// Records a temporary failure and when to try again.
    fn mark_retry(
        &self,
        id: &str,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> impl Future<Output = Result<(), OutboxError>> + Send;
    /// Records a final failure.
    fn mark_failed(
        &self,
        id: &str,
        attempts: u32,
        error: &str,
    ) -> impl Future<Output = Result<(), OutboxError>> + Send;
    /// Cancels every pending item of an incident; returns their ids.
    fn cancel_incident(
        &self,
        incident_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, OutboxError>> + Send;
    /// The earliest `next_attempt_ms` of a pending item (leased ones count at their lease end).
    fn next_due_ms(&self) -> impl Future<Output = Result<Option<i64>, OutboxError>> + Send;
    /// One item by id.
    fn get(&self, id: &str)
    -> impl Future<Output = Result<Option<OutboxItem>, OutboxError>> + Send;
}

/// One line of the file log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Enqueue {
        delivery: Delivery,
    },
    Sent {
        id: String,
        attempts: u32,
        receipt: Receipt,
    },
    Retry {
        id: String,
        attempts: u32,
        next_attempt_ms: i64,
        error: String,
    },
    Failed {
        id: String,
        attempts: u32,
        error: String,
    },
    Cancel {
        id: String,
    },
}

/// The pure state both implementations share.
#[derive(Debug, Default, Clone)]
struct State {
    items: BTreeMap<String, OutboxItem>,
}

impl State {
    /// Whether `rec` changes anything (so the file log only gets useful lines).
    fn check(&self, rec: &Record) -> Result<bool, OutboxError> {
        let id = match rec {
            Record::Enqueue { delivery } => return Ok(!self.items.contains_key(&delivery.id)),
            Record::Sent { id, .. }
            | Record::Retry { id, .. }
            | Record::Failed { id, .. }
            | Record::Cancel { id } => id,
        };
        let item = self
            .items
            .get(id)
            .ok_or_else(|| OutboxError::UnknownItem(id.clone()))?;
        Ok(match rec {
            Record::Sent { .. } => item.state != ItemState::Sent,
            _ => item.state == ItemState::Pending,
        })
    }

    fn apply(&mut self, rec: Record) {
        match rec {
            Record::Enqueue { delivery } => {
                let due = delivery.due_ms;
                self.items.entry(delivery.id.clone()).or_insert(OutboxItem {
                    delivery,
                    state: ItemState::Pending,
                    attempts: 0,
                    next_attempt_ms: due,
                    last_error: None,
                    receipt: None,
                    lease_until_ms: None,
                });
            }
            Record::Sent {
                id,
                attempts,
                receipt,
            } => {
                if let Some(i) = self.items.get_mut(&id) {
                    i.state = ItemState::Sent;
                    i.attempts = attempts;
                    i.receipt = Some(receipt);
                    i.lease_until_ms = None;
                }
            }
            Record::Retry {
                id,
                attempts,
                next_attempt_ms,
                error,
            } => {
                if let Some(i) = self.pending_mut(&id) {
                    i.attempts = attempts;
                    i.next_attempt_ms = next_attempt_ms;
                    i.last_error = Some(error);
                    i.lease_until_ms = None;
                }
            }
            Record::Failed {
                id,
                attempts,
                error,
            } => {
                if let Some(i) = self.pending_mut(&id) {
                    i.state = ItemState::Failed;
                    i.attempts = attempts;
                    i.last_error = Some(error);
                    i.lease_until_ms = None;
                }
            }
            Record::Cancel { id } => {
                if let Some(i) = self.pending_mut(&id) {
                    i.state = ItemState::Cancelled;
                }
            }
        }
    }

    /// The item `id` if it is still pending.
    fn pending_mut(&mut self, id: &str) -> Option<&mut OutboxItem> {
        self.items
            .get_mut(id)
            .filter(|i| i.state == ItemState::Pending)
    }

    fn take_due(&mut self, now_ms: i64, limit: usize, lease_ms: i64) -> Vec<OutboxItem> {
        let mut due: Vec<&mut OutboxItem> = self
            .items
            .values_mut()
            .filter(|i| {
                i.state == ItemState::Pending
                    && i.next_attempt_ms <= now_ms
                    && i.lease_until_ms.is_none_or(|l| l <= now_ms)
            })
            .collect();
        due.sort_by_key(|i| i.next_attempt_ms);
        due.into_iter()
            .take(limit)
            .map(|i| {
                i.lease_until_ms = Some(now_ms.saturating_add(lease_ms.max(1)));
                i.clone()
            })
            .collect()
    }

    fn pending_of(&self, incident_id: &str) -> Vec<String> {
        self.items
            .values()
            .filter(|i| i.state == ItemState::Pending && i.delivery.incident_id == incident_id)
            .map(|i| i.delivery.id.clone())
            .collect()
    }

    fn next_due_ms(&self) -> Option<i64> {
        self.items
            .values()
            .filter(|i| i.state == ItemState::Pending)
            .map(|i| {
                i.lease_until_ms
                    .unwrap_or(i.next_attempt_ms)
                    .max(i.next_attempt_ms)
            })
            .min()
    }

    /// Records that rebuild the pending items (for compaction).
    fn live_records(&self) -> Vec<Record> {
        let mut out = Vec::new();
        for i in self
            .items
            .values()
            .filter(|i| i.state == ItemState::Pending)
        {
            out.push(Record::Enqueue {
                delivery: i.delivery.clone(),
            });
            if i.attempts > 0 {
                out.push(Record::Retry {
                    id: i.delivery.id.clone(),
                    attempts: i.attempts,
                    next_attempt_ms: i.next_attempt_ms,
                    error: i.last_error.clone().unwrap_or_default(),
                });
            }
        }
        out
    }
}

fn lock_err<T>(_: T) -> OutboxError {
    OutboxError::Internal("outbox lock poisoned".into())
}

/// An outbox in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryOutbox {
    state: Arc<Mutex<State>>,
}

impl MemoryOutbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self, rec: Record) -> Result<bool, OutboxError> {
        let mut s = self.state.lock().map_err(lock_err)?;
        let useful = s.check(&rec)?;
        if useful {
            s.apply(rec);
        }
        Ok(useful)
    }

    /// Every item (for tests and status pages).
    pub fn items(&self) -> Result<Vec<OutboxItem>, OutboxError> {
        Ok(self
            .state
            .lock()
            .map_err(lock_err)?
            .items
            .values()
            .cloned()
            .collect())
    }
}

impl Outbox for MemoryOutbox {
    async fn enqueue(&self, delivery: Delivery) -> Result<bool, OutboxError> {
        self.record(Record::Enqueue { delivery })
    }
    async fn take_due(
        &self,
        now_ms: i64,
        limit: usize,
        lease_ms: i64,
    ) -> Result<Vec<OutboxItem>, OutboxError> {
        Ok(self
            .state
            .lock()
            .map_err(lock_err)?
            .take_due(now_ms, limit, lease_ms))
    }
    async fn mark_sent(
        &self,
        id: &str,
        attempts: u32,
        receipt: Receipt,
    ) -> Result<(), OutboxError> {
        self.record(Record::Sent {
            id: id.to_owned(),
            attempts,
            receipt,
        })
        .map(drop)
    }
    async fn mark_retry(
        &self,
        id: &str,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.record(Record::Retry {
            id: id.to_owned(),
            attempts,
            next_attempt_ms,
            error: error.to_owned(),
        })
        .map(drop)
    }
    async fn mark_failed(&self, id: &str, attempts: u32, error: &str) -> Result<(), OutboxError> {
        self.record(Record::Failed {
            id: id.to_owned(),
            attempts,
            error: error.to_owned(),
        })
        .map(drop)
    }
    async fn cancel_incident(&self, incident_id: &str) -> Result<Vec<String>, OutboxError> {
        let mut s = self.state.lock().map_err(lock_err)?;
        let ids = s.pending_of(incident_id);
        for id in &ids {
            s.apply(Record::Cancel { id: id.clone() });
        }
        Ok(ids)
    }
    async fn next_due_ms(&self) -> Result<Option<i64>, OutboxError> {
        Ok(self.state.lock().map_err(lock_err)?.next_due_ms())
    }
    async fn get(&self, id: &str) -> Result<Option<OutboxItem>, OutboxError> {
        Ok(self.state.lock().map_err(lock_err)?.items.get(id).cloned())
    }
}

#[derive(Debug)]
struct FileInner {
    path: PathBuf,
    file: File,
    state: State,
}

impl FileInner {
    fn io(&self, source: std::io::Error) -> OutboxError {
        OutboxError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends and fsyncs the records that change something, then applies them.
    fn append(&mut self, recs: Vec<Record>) -> Result<usize, OutboxError> {
        let mut buf = Vec::new();
        let mut useful = Vec::new();
        let mut probe = self.state.clone();
        for rec in recs {
            if probe.check(&rec)? {
                serde_json::to_writer(&mut buf, &rec)
                    .map_err(|e| OutboxError::Internal(format!("serialising a record: {e}")))?;
                buf.push(b'\n');
                probe.apply(rec.clone());
                useful.push(rec);
            }
        }
        if useful.is_empty() {
            return Ok(0);
        }
        self.file.write_all(&buf).map_err(|e| self.io(e))?;
        self.file.sync_data().map_err(|e| self.io(e))?;
        let n = useful.len();
        for rec in useful {
            self.state.apply(rec);
        }
        Ok(n)
    }
}

/// An append-only JSON-lines outbox: every change is one line, fsynced before the call returns.
#[derive(Debug, Clone)]
pub struct FileOutbox {
    inner: Arc<Mutex<FileInner>>,
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

impl FileOutbox {
    /// Opens (or creates) the log at `path` and replays it. A torn last line (no newline: a crash
    /// mid-write) is cut off; any other line that does not parse is an error.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OutboxError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| OutboxError::Io {
            path: path.clone(),
            source,
        };
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        if !existed {
            sync_dir(&path).map_err(io)?;
        }
        let mut state = State::default();
        let mut good_len: u64 = 0;
        let mut reader = BufReader::new(File::open(&path).map_err(io)?);
        let mut line = String::new();
        let mut n = 0usize;
        loop {
            line.clear();
            let read = reader.read_line(&mut line).map_err(io)?;
            if read == 0 {
                break;
            }
            n += 1;
            if !line.ends_with('\n') {
                break; // torn tail
            }
            let rec: Record =
                serde_json::from_str(line.trim_end()).map_err(|e| OutboxError::Corrupt {
                    path: path.clone(),
                    line: n,
                    message: e.to_string(),
                })?;
            if state.check(&rec).unwrap_or(false) {
                state.apply(rec);
            }
            good_len += read as u64;
        }
        let len = file.metadata().map_err(io)?.len();
        if len != good_len {
            file.set_len(good_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        Ok(FileOutbox {
            inner: Arc::new(Mutex::new(FileInner { path, file, state })),
        })
    }

    /// Rewrites the log with only the pending items (write a temporary file, fsync, rename, fsync
    /// the directory). Call it at start-up or from time to time.
    pub fn compact(&self) -> Result<(), OutboxError> {
        let mut inner = self.inner.lock().map_err(lock_err)?;
        let tmp = inner.path.with_extension("compact.tmp");
        let io = |source| OutboxError::Io {
            path: tmp.clone(),
            source,
        };
        let mut buf = Vec::new();
        for rec in inner.state.live_records() {
            serde_json::to_writer(&mut buf, &rec)
                .map_err(|e| OutboxError::Internal(format!("serialising a record: {e}")))?;
            buf.push(b'\n');
        }
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(&buf).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &inner.path).map_err(io)?;
        sync_dir(&inner.path).map_err(io)?;
        let file = OpenOptions::new()
            .append(true)
            .read(true)
            .open(&inner.path)
            .map_err(io)?;
        let mut state = State::default();
        for rec in inner.state.live_records() {
            state.apply(rec);
        }
        inner.file = file;
        inner.state = state;
        Ok(())
    }

    async fn write(&self, recs: Vec<Record>) -> Result<usize, OutboxError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.lock().map_err(lock_err)?.append(recs))
            .await
            .map_err(|e| OutboxError::Internal(format!("blocking task: {e}")))?
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T, OutboxError> {
        Ok(f(&mut self.inner.lock().map_err(lock_err)?.state))
    }
}

impl Outbox for FileOutbox {
    async fn enqueue(&self, delivery: Delivery) -> Result<bool, OutboxError> {
        Ok(self.write(vec![Record::Enqueue { delivery }]).await? > 0)
    }
    async fn take_due(
        &self,
        now_ms: i64,
        limit: usize,
        lease_ms: i64,
    ) -> Result<Vec<OutboxItem>, OutboxError> {
        self.with_state(|s| s.take_due(now_ms, limit, lease_ms))
    }
    async fn mark_sent(
        &self,
        id: &str,
        attempts: u32,
        receipt: Receipt,
    ) -> Result<(), OutboxError> {
        self.write(vec![Record::Sent {
            id: id.to_owned(),
            attempts,
            receipt,
        }])
        .await
        .map(drop)
    }
    async fn mark_retry(
        &self,
        id: &str,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.write(vec![Record::Retry {
            id: id.to_owned(),
            attempts,
            next_attempt_ms,
            error: error.to_owned(),
        }])
        .await
        .map(drop)
    }
    async fn mark_failed(&self, id: &str, attempts: u32, error: &str) -> Result<(), OutboxError> {
        self.write(vec![Record::Failed {
            id: id.to_owned(),
            attempts,
            error: error.to_owned(),
        }])
        .await
        .map(drop)
    }
    async fn cancel_incident(&self, incident_id: &str) -> Result<Vec<String>, OutboxError> {
        let ids = self.with_state(|s| s.pending_of(incident_id))?;
        self.write(
            ids.iter()
                .map(|id| Record::Cancel { id: id.clone() })
                .collect(),
        )
        .await?;
        Ok(ids)
    }
    async fn next_due_ms(&self) -> Result<Option<i64>, OutboxError> {
        self.with_state(|s| s.next_due_ms())
    }
    async fn get(&self, id: &str) -> Result<Option<OutboxItem>, OutboxError> {
        self.with_state(|s| s.items.get(id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_domain::site::Channel;

    fn delivery(id: &str, incident: &str, due_ms: i64) -> Delivery {
        Delivery {
            id: id.into(),
            incident_id: incident.into(),
            chain_id: "c".into(),
            step_index: 0,
            contact: "manager".into(),
            contact_name: "Manager".into(),
            channel: Channel::Sms,
            address: "+15550001111".into(),
            subject: "s".into(),
            message: "m".into(),
            trigger_kind: "alarm.raised".into(),
            onset_ms: 0,
            triggered_ms: 0,
            due_ms,
            silent: false,
        }
    }

    fn receipt(id: &str) -> Receipt {
        Receipt {
            delivery_id: id.into(),
            channel: Channel::Sms,
            provider_id: Some("SM1".into()),
            response: "201 queued".into(),
            sent_ms: 5,
            accepted_ms: 6,
            delivered_ms: None,
        }
    }

    async fn exercise<O: Outbox>(o: &O) {
        assert!(o.enqueue(delivery("a", "i1", 10)).await.expect("enqueue"));
        assert!(!o.enqueue(delivery("a", "i1", 10)).await.expect("dup"));
        assert!(o.enqueue(delivery("b", "i1", 20)).await.expect("enqueue"));
        assert!(o.enqueue(delivery("c", "i2", 5)).await.expect("enqueue"));
        assert_eq!(o.next_due_ms().await.expect("next"), Some(5));
        let due = o.take_due(10, 10, 1_000).await.expect("take");
        let ids: Vec<_> = due.iter().map(|i| i.delivery.id.as_str()).collect();
        assert_eq!(ids, ["c", "a"]);
        // Leased: not handed out twice.
        assert!(o.take_due(10, 10, 1_000).await.expect("take").is_empty());
        o.mark_sent("c", 1, receipt("c")).await.expect("sent");
        o.mark_retry("a", 1, 500, "HTTP 503").await.expect("retry");
        assert!(
            o.take_due(499, 10, 1_000)
                .await
                .expect("take")
                .iter()
                .all(|i| i.delivery.id == "b")
        );
        let cancelled = o.cancel_incident("i1").await.expect("cancel");
        // Both still pending (b is leased, in flight): both cancelled.
        assert_eq!(cancelled, ["a", "b"]);
        assert!(matches!(
            o.mark_sent("zz", 1, receipt("zz")).await,
            Err(OutboxError::UnknownItem(_))
        ));
    }

    #[tokio::test]
    async fn memory_outbox_semantics() {
        let o = MemoryOutbox::new();
        exercise(&o).await;
        let a = o.get("a").await.expect("get").expect("a");
        assert_eq!(a.state, ItemState::Cancelled);
        assert_eq!(a.attempts, 1);
    }

    #[tokio::test]
    async fn file_outbox_survives_reopen_and_torn_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.jsonl");
        {
            let o = FileOutbox::open(&path).expect("open");
            exercise(&o).await;
            o.enqueue(delivery("d", "i3", 50)).await.expect("enqueue");
            o.mark_retry("d", 2, 900, "SMTP 451").await.expect("retry");
        }
        // A crash mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).expect("append");
        f.write_all(b"{\"op\":\"sent\",\"id\":\"d\"")
            .expect("write");
        drop(f);
        let o = FileOutbox::open(&path).expect("reopen");
        let c = o.get("c").await.expect("get").expect("c");
        assert_eq!(c.state, ItemState::Sent);
        assert_eq!(c.receipt, Some(receipt("c")));
        let d = o.get("d").await.expect("get").expect("d");
        assert_eq!(
            (d.state, d.attempts, d.next_attempt_ms),
            (ItemState::Pending, 2, 900)
        );
        assert_eq!(o.next_due_ms().await.expect("next"), Some(900));
        o.compact().expect("compact");
        let o = FileOutbox::open(&path).expect("reopen after compact");
        assert!(o.get("c").await.expect("get").is_none());
        let d = o
            .get("d")
            .await
            .expect("get")
            .expect("d survives compaction");
        assert_eq!((d.attempts, d.next_attempt_ms), (2, 900));
    }

    #[test]
    fn corrupt_middle_line_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.jsonl");
        std::fs::write(&path, b"not json\n{}\n").expect("write");
        assert!(matches!(
            FileOutbox::open(&path),
            Err(OutboxError::Corrupt { line: 1, .. })
        ));
    }
}
