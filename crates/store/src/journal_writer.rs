//! The journal writer: the one task that appends to a site's journal.
//!
//! Callers send facts through a [`JournalHandle`]; the writer drains every request waiting (group
//! commit), chains the events (sequence numbers and SHA-256 hashes), inserts them in one
//! transaction, commits, and only then answers each caller and broadcasts the events to live
//! subscribers (the console feed, projections, the dispatcher). A request whose facts are invalid
//! is refused alone; a failed commit fails every request of its batch and leaves the head where it
//! was, so nothing unacknowledged is ever half-written and nothing acknowledged is lost.
//!
//! Every `checkpoint_interval_ms` while events flow, and at shutdown, the writer seals the head with
//! a signed checkpoint (`strongroom_journal::Checkpoint`).
use std::sync::Arc;
use std::time::Duration;

use strongroom_domain::{Clock, Fact};
use strongroom_journal::canonical::canonical_payload;
use strongroom_journal::{GENESIS_HASH, JournalEvent, SiteKey};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::store::{Store, StoreError, to_i64};

/// Why an append was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    /// A fact is not valid; nothing of this request was written.
    #[error("invalid fact: {0}")]
    Invalid(String),
    /// The database refused the batch; nothing of it was written.
    #[error("journal write failed: {0}")]
    Storage(String),
    /// The writer has stopped.
    #[error("the journal writer has stopped")]
    Stopped,
}

/// Tuning for the writer.
#[derive(Debug, Clone)]
pub struct JournalWriterConfig {
    /// Most events in one transaction.
    pub max_batch_events: usize,
    /// How often a checkpoint is signed while events flow.
    pub checkpoint_interval_ms: u64,
    /// Capacity of the live broadcast (slow subscribers miss events and are told so).
    pub broadcast_capacity: usize,
}

impl Default for JournalWriterConfig {
    fn default() -> Self {
        JournalWriterConfig {
            max_batch_events: 20_000,
            checkpoint_interval_ms: 1_000,
            broadcast_capacity: 4_096,
        }
    }
}

enum Request {
    Append {
        facts: Vec<Fact>,
        reply: oneshot::Sender<Result<Vec<Arc<JournalEvent>>, AppendError>>,
    },
    Checkpoint {
        reply: oneshot::Sender<Result<Option<u64>, AppendError>>,
    },
    Shutdown {
        reply: oneshot::Sender<Result<(), AppendError>>,
    },
}

/// A cheap, cloneable handle to a site's journal writer.
#[derive(Clone)]
pub struct JournalHandle {
    site_id: Arc<str>,
    tx: mpsc::Sender<Request>,
    live: broadcast::Sender<Arc<JournalEvent>>,
}

impl JournalHandle {
    /// Starts the writer for `site_id`, continuing the chain already stored.
    pub async fn start(
        store: Store,
        site_id: &str,
        key: Arc<SiteKey>,
        clock: Arc<dyn Clock>,
        config: JournalWriterConfig,
    ) -> Result<(JournalHandle, tokio::task::JoinHandle<()>), StoreError> {
        let head = store.journal_head(site_id).await?;
        let last_cp = store
            .checkpoints(site_id)
            .await?
            .last()
            .map_or(0, |c| c.seq);
        let (tx, rx) = mpsc::channel(1_024);
        let (live, _) = broadcast::channel(config.broadcast_capacity);
        let writer = Writer {
            store,
            site_id: site_id.to_owned(),
            key,
            clock,
            next_seq: head.map_or(1, |(s, _)| s + 1),
            prev_hash: head.map_or(GENESIS_HASH, |(_, h)| h),
            last_checkpoint_seq: last_cp,
            config,
            live: live.clone(),
        };
        let task = tokio::spawn(writer.run(rx));
        Ok((
            JournalHandle {
                site_id: Arc::from(site_id),
                tx,
                live,
            },
            task,
        ))
    }

    /// The site this journal belongs to.
    pub fn site_id(&self) -> &str {
        &self.site_id
    }

    /// Appends facts; returns them journaled, after they are durable.
    pub async fn append(&self, facts: Vec<Fact>) -> Result<Vec<Arc<JournalEvent>>, AppendError> {
        if facts.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Append { facts, reply })
            .await
            .map_err(|_| AppendError::Stopped)?;
        rx.await.map_err(|_| AppendError::Stopped)?
    }

    /// Appends one fact.
    pub async fn append_one(&self, fact: Fact) -> Result<Arc<JournalEvent>, AppendError> {
        self.append(vec![fact])
            .await?
            .pop()
            .ok_or(AppendError::Stopped)
    }

    /// Signs a checkpoint now if the head moved; returns its sequence number.
    pub async fn checkpoint(&self) -> Result<Option<u64>, AppendError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Checkpoint { reply })
            .await
            .map_err(|_| AppendError::Stopped)?;
        rx.await.map_err(|_| AppendError::Stopped)?
    }

    /// Seals the head with a final checkpoint and stops the writer.
    pub async fn shutdown(&self) -> Result<(), AppendError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Shutdown { reply })
            .await
            .map_err(|_| AppendError::Stopped)?;
        rx.await.map_err(|_| AppendError::Stopped)?
    }

    /// Live events appended from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<JournalEvent>> {
        self.live.subscribe()
    }
}

struct Writer {
    store: Store,
    site_id: String,
    key: Arc<SiteKey>,
    clock: Arc<dyn Clock>,
    next_seq: u64,
    prev_hash: [u8; 32],
    last_checkpoint_seq: u64,
    config: JournalWriterConfig,
    live: broadcast::Sender<Arc<JournalEvent>>,
}

type AppendReply = oneshot::Sender<Result<Vec<Arc<JournalEvent>>, AppendError>>;

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let mut tick = tokio::time::interval(Duration::from_millis(
            self.config.checkpoint_interval_ms.max(10),
        ));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                req = rx.recv() => {
                    let Some(first) = req else {
                        let _ = self.checkpoint().await;
                        return;
                    };
                    let mut appends: Vec<(Vec<Fact>, AppendReply)> = Vec::new();
                    let mut others = Vec::new();
                    let mut pending_events = 0usize;
                    let push = |r: Request, appends: &mut Vec<(Vec<Fact>, AppendReply)>, others: &mut Vec<Request>, pending: &mut usize| match r {
                        Request::Append { facts, reply } => { *pending += facts.len(); appends.push((facts, reply)); }
                        other => others.push(other),
                    };
                    push(first, &mut appends, &mut others, &mut pending_events);
                    while pending_events < self.config.max_batch_events && others.is_empty() {
                        match rx.try_recv() {
                            Ok(r) => push(r, &mut appends, &mut others, &mut pending_events),
                            Err(_) => break,
                        }
                    }
                    if !appends.is_empty() {
                        self.write_batch(appends).await;
                    }
                    for r in others {
                        match r {
                            Request::Checkpoint { reply } => { let _ = reply.send(self.checkpoint().await); }
                            Request::Shutdown { reply } => {
                                let res = self.checkpoint().await.map(|_| ());
                                let _ = reply.send(res);
                                return;
                            }
                            Request::Append { .. } => {}
                        }
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = self.checkpoint().await {
                        tracing::error!(site = %self.site_id, error = %e, "checkpoint failed");
                    }
                }
            }
        }
    }

    async fn write_batch(&mut self, appends: Vec<(Vec<Fact>, AppendReply)>) {
        let mut seq = self.next_seq;
        let mut prev = self.prev_hash;
        let mut accepted: Vec<(Vec<Arc<JournalEvent>>, AppendReply)> = Vec::new();
        for (facts, reply) in appends {
            if let Some(err) = facts.iter().find_map(|f| f.validate().err()) {
                let _ = reply.send(Err(AppendError::Invalid(err.to_string())));
                continue;
            }
            let payloads: Vec<String> = facts
                .iter()
                .map(|f| canonical_payload(&f.payload))
                .collect();
            if let Some(p) = payloads
                .iter()
                .find(|p| p.len() > strongroom_journal::canonical::MAX_PAYLOAD_BYTES)
            {
                let _ = reply.send(Err(AppendError::Invalid(format!(
                    "payload of {} bytes exceeds the 1 MiB limit",
                    p.len()
                ))));
                continue;
            }
            let mut events = Vec::with_capacity(facts.len());
            for (f, payload) in facts.iter().zip(payloads) {
                let e = JournalEvent::seal(
                    &prev,
                    seq,
                    &self.site_id,
                    f.time_ms,
                    &f.kind,
                    &f.actor.to_string(),
                    payload,
                );
                prev = e.hash;
                seq += 1;
                events.push(Arc::new(e));
            }
            accepted.push((events, reply));
        }
        if accepted.is_empty() {
            return;
        }
        let all: Vec<Arc<JournalEvent>> = accepted
            .iter()
            .flat_map(|(e, _)| e.iter().cloned())
            .collect();
        match insert_events(&self.store, all).await {
            Ok(()) => {
                self.next_seq = seq;
                self.prev_hash = prev;
                for (events, reply) in accepted {
                    for e in &events {
                        let _ = self.live.send(e.clone());
                    }
                    let _ = reply.send(Ok(events));
                }
            }
            Err(e) => {
                tracing::error!(site = %self.site_id, error = %e, "journal batch failed");
                let msg = e.to_string();
                for (_, reply) in accepted {
                    let _ = reply.send(Err(AppendError::Storage(msg.clone())));
                }
            }
        }
    }

    async fn checkpoint(&mut self) -> Result<Option<u64>, AppendError> {
        let head = self.next_seq - 1;
        if head == 0 || head == self.last_checkpoint_seq {
            return Ok(None);
        }
        let cp = self
            .key
            .checkpoint(&self.site_id, head, self.prev_hash, self.clock.now_ms());
        sqlx::query(
            "INSERT INTO checkpoint (site_id, seq, head_hash, time_ms, signature) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&self.site_id)
        .bind(to_i64(cp.seq))
        .bind(hex::encode(cp.head_hash))
        .bind(cp.time_ms)
        .bind(hex::encode(cp.signature))
        .execute(self.store.pool())
        .await
        .map_err(|e| AppendError::Storage(e.to_string()))?;
        self.last_checkpoint_seq = head;
        Ok(Some(head))
    }
}

/// Rows per INSERT statement (7 parameters each, well under both engines' limits).
const ROWS_PER_STATEMENT: usize = 500;

async fn insert_events(store: &Store, events: Vec<Arc<JournalEvent>>) -> Result<(), StoreError> {
    if let Some(fast) = &store.fast {
        let fast = fast.clone();
        return tokio::task::spawn_blocking(move || fast.insert_events(&events))
            .await
            .map_err(|e| StoreError::Db(sqlx::Error::Protocol(e.to_string())))?;
    }
    let mut tx = store.pool().begin().await?;
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::with_capacity(80 + chunk.len() * 40);
        sql.push_str(
            "INSERT INTO journal (site_id, seq, time_ms, kind, actor, payload, hash) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 7;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${},${},${},${},${},${},${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q
                .bind(e.site_id.clone())
                .bind(to_i64(e.seq))
                .bind(e.time_ms)
                .bind(e.kind.clone())
                .bind(e.actor.clone())
                .bind(e.payload.clone())
                .bind(hex::encode(e.hash));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
