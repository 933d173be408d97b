//! The sender's outbound queue and dispatch record traits, with in-memory implementations.
//!
//! The server backs [`OutboundQueue`] with durable storage so nothing is lost across a restart: an
//! item leaves the queue only after the central station ACKed it (or answered DUH, which retrying
//! cannot fix; that outcome is recorded). Item ids must increase monotonically; the DC-09 sequence
//! number is derived from the id, so a retransmission after a restart reuses its sequence number.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;

use jiff::Timestamp;
use thiserror::Error;

use crate::signal::AlarmSignal;

/// Queue storage failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("queue error: {0}")]
pub struct QueueError(pub String);

/// A queued signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundItem {
    /// Monotonically increasing id assigned by the queue.
    pub id: u64,
    /// The signal (account is overwritten with the sender's account).
    pub signal: AlarmSignal,
    /// When it was queued.
    pub enqueued_at: Timestamp,
}

impl OutboundItem {
    /// DC-09 sequence number for this item: 0001–9999, derived from the id (id 1 → 0001).
    pub fn seq(&self) -> u16 {
        u16::try_from(self.id.saturating_sub(1) % 9999).unwrap_or(0) + 1
    }
}

/// Durable FIFO of signals waiting for an ACK.
pub trait OutboundQueue: Send + Sync + 'static {
    /// Append; returns the new item's id. Must be durable when it returns `Ok`.
    fn push(
        &self,
        signal: AlarmSignal,
        at: Timestamp,
    ) -> impl Future<Output = Result<u64, QueueError>> + Send;
    /// Oldest item, without removing it.
    fn front(&self) -> impl Future<Output = Result<Option<OutboundItem>, QueueError>> + Send;
    /// Remove an item (after its ACK).
    fn remove(&self, id: u64) -> impl Future<Output = Result<(), QueueError>> + Send;
    /// Items waiting.
    fn pending(&self) -> impl Future<Output = Result<usize, QueueError>> + Send;
}

/// In-memory queue (tests, and a model of the durable one).
#[derive(Debug, Default)]
pub struct MemoryQueue {
    inner: Mutex<(u64, VecDeque<OutboundItem>)>,
}

impl MemoryQueue {
    /// Empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, VecDeque<OutboundItem>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl OutboundQueue for MemoryQueue {
    async fn push(&self, signal: AlarmSignal, at: Timestamp) -> Result<u64, QueueError> {
        let mut g = self.lock();
        g.0 += 1;
        let id = g.0;
        g.1.push_back(OutboundItem {
            id,
            signal,
            enqueued_at: at,
        });
        Ok(id)
    }

    async fn front(&self) -> Result<Option<OutboundItem>, QueueError> {
        Ok(self.lock().1.front().cloned())
    }

    async fn remove(&self, id: u64) -> Result<(), QueueError> {
        self.lock().1.retain(|i| i.id != id);
        Ok(())
    }

    async fn pending(&self) -> Result<usize, QueueError> {
        Ok(self.lock().1.len())
    }
}

/// Which configured receiver path was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Primary receiver.
    Primary,
    /// Secondary receiver.
    Secondary,
}

/// Result of one transmission attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// ACKed: the item is removed from the queue.
    Ack,
    /// NAK (with the receiver's time if it sent one): retried.
    Nak {
        /// Receiver clock, if present.
        receiver_time: Option<Timestamp>,
    },
    /// DUH: the receiver does not understand the message; not retried, item removed.
    Duh,
    /// No (valid) reply in time: retried.
    Timeout,
    /// Connection or socket error, or an unparseable reply: retried.
    Failed(String),
}

/// One transmission attempt (DSP-01: time, receiver, account, code, acknowledgment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchRecord {
    /// Queue item id.
    pub item_id: u64,
    /// DC-09 sequence number.
    pub seq: u16,
    /// Account.
    pub account: String,
    /// Event code actually sent.
    pub code: String,
    /// Code the caller queued (differs in test mode).
    pub original_code: String,
    /// Test transmission.
    pub test: bool,
    /// Receiver address.
    pub receiver: SocketAddr,
    /// Primary or secondary.
    pub path: PathKind,
    /// Attempt number for this item (1-based).
    pub attempt: u32,
    /// When the frame was sent.
    pub sent_at: Timestamp,
    /// When the reply (or timeout) was observed.
    pub completed_at: Timestamp,
    /// Outcome.
    pub outcome: AttemptOutcome,
}

/// Receives every dispatch attempt; the server writes them to its immutable dispatch log.
pub trait DispatchRecorder: Send + Sync + 'static {
    /// Record an attempt.
    fn record(&self, record: DispatchRecord) -> impl Future<Output = ()> + Send;
}

/// In-memory recorder.
#[derive(Debug, Default)]
pub struct MemoryRecorder {
    records: Mutex<Vec<DispatchRecord>>,
}

impl MemoryRecorder {
    /// Copy of all records.
    pub fn records(&self) -> Vec<DispatchRecord> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl DispatchRecorder for MemoryRecorder {
    async fn record(&self, record: DispatchRecord) {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record);
    }
}
