//! Tokio DC-09 sender (Strongroom → central station): drains an [`OutboundQueue`] in order, one
//! frame at a time, over TCP (persistent connection) or UDP. Retries with exponential backoff, fails
//! over to the secondary receiver after `failover_after` consecutive failures (and back again after
//! as many failures there), follows the receiver's clock from NAK timestamps, and records every
//! attempt with a [`DispatchRecorder`]. An item leaves the queue only after ACK (or DUH).
//!
//! Test mode (drills): DC-09 has no test flag, so test mode sends the Contact ID "manual trigger
//! test report" 601 (SIA DCS: `RX`) with the original partition and zone instead of the real code;
//! the dispatch record keeps the original code. A central station therefore never dispatches on a
//! drill.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::crypto::AesKey;
use crate::decoder::FrameDecoder;
use crate::frame::{Content, Frame, Header, MessageKind};
use crate::queue::{
    AttemptOutcome, DispatchRecord, DispatchRecorder, OutboundItem, OutboundQueue, PathKind,
};
use crate::signal::{AlarmSignal, Protocol, Qualifier, SignalError};

/// Transport to the central station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP, one persistent connection per path.
    Tcp,
    /// UDP, one datagram per frame.
    Udp,
}

/// Sender configuration.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Primary receiver.
    pub primary: SocketAddr,
    /// Secondary receiver.
    pub secondary: Option<SocketAddr>,
    /// Our account at the central station (3–16 hex digits).
    pub account: String,
    /// AES key agreed with the central station.
    pub key: Option<AesKey>,
    /// R field (hex digits). Always sent: pysiaalarm writes a literal `None` into replies without it.
    pub receiver_number: String,
    /// L field (hex digits). Always sent: pysiaalarm requires it.
    pub line: String,
    /// Transport.
    pub transport: Transport,
    /// Wait this long for a reply.
    pub reply_timeout_ms: u64,
    /// First retry delay.
    pub backoff_initial_ms: u64,
    /// Largest retry delay.
    pub backoff_max_ms: u64,
    /// Consecutive failures before switching receiver.
    pub failover_after: u32,
    /// Send plain frames with a timestamp too (encrypted frames always carry one).
    pub timestamp_plain: bool,
    /// Drill mode: see the module docs.
    pub test_mode: bool,
    /// When the queue has been idle this long, send a NULL link test so the central station can
    /// supervise the path (recorded with `item_id` 0 and code `NULL`; failures count toward
    /// failover). `None` disables.
    pub link_test_interval_s: Option<u64>,
}

impl SenderConfig {
    /// Defaults for `account` → `primary`.
    pub fn new(primary: SocketAddr, account: &str) -> Self {
        Self {
            primary,
            secondary: None,
            account: account.to_ascii_uppercase(),
            key: None,
            receiver_number: "0".into(),
            line: "0".into(),
            transport: Transport::Tcp,
            reply_timeout_ms: 5_000,
            backoff_initial_ms: 250,
            backoff_max_ms: 30_000,
            failover_after: 3,
            timestamp_plain: true,
            test_mode: false,
            link_test_interval_s: None,
        }
    }
}

/// Sender errors.
#[derive(Debug, Error)]
pub enum SenderError {
    /// Queue failure.
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    /// The signal cannot be rendered (bad code).
    #[error(transparent)]
    Signal(#[from] SignalError),
}

/// Handle to enqueue signals for a running [`Sender`].
pub struct SenderHandle<Q> {
    queue: Arc<Q>,
    notify: Arc<Notify>,
    account: String,
}

impl<Q> Clone for SenderHandle<Q> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            notify: self.notify.clone(),
            account: self.account.clone(),
        }
    }
}

impl<Q: OutboundQueue> SenderHandle<Q> {
    /// Validate and queue a signal (durable once this returns). Returns the queue id.
    pub async fn enqueue(
        &self,
        mut signal: AlarmSignal,
        now: Timestamp,
    ) -> Result<u64, SenderError> {
        signal.account = self.account.clone();
        signal.render_payload()?;
        let id = self.queue.push(signal, now).await?;
        self.notify.notify_one();
        Ok(id)
    }
}

/// The sender task state.
pub struct Sender<Q, R, C> {
    config: SenderConfig,
    queue: Arc<Q>,
    recorder: Arc<R>,
    clock: Arc<C>,
    notify: Arc<Notify>,
    conn: Option<TcpStream>,
    udp: Option<UdpSocket>,
    clock_offset: SignedDuration,
}

enum Reply {
    Ack,
    Nak(Option<Timestamp>),
    Duh,
}

/// Map a signal to what test mode sends instead.
pub fn drill_signal(signal: &AlarmSignal) -> AlarmSignal {
    let mut s = signal.clone();
    s.code = match s.protocol {
        Protocol::ContactId => "601".into(),
        Protocol::SiaDcs => "RX".into(),
    };
    s.qualifier = Qualifier::New;
    s.user = None;
    s.test = true;
    s
}

impl<Q: OutboundQueue, R: DispatchRecorder, C: Clock> Sender<Q, R, C> {
    /// New sender (not yet running).
    pub fn new(mut config: SenderConfig, queue: Arc<Q>, recorder: Arc<R>, clock: Arc<C>) -> Self {
        config.account = config.account.to_ascii_uppercase();
        Self {
            config,
            queue,
            recorder,
            clock,
            notify: Arc::new(Notify::new()),
            conn: None,
            udp: None,
            clock_offset: SignedDuration::ZERO,
        }
    }

    /// Handle for enqueueing.
    pub fn handle(&self) -> SenderHandle<Q> {
        SenderHandle {
            queue: self.queue.clone(),
            notify: self.notify.clone(),
            account: self.config.account.clone(),
        }
    }

    fn build(
        &self,
        item: &OutboundItem,
        now: Timestamp,
    ) -> Result<(Vec<u8>, AlarmSignal), SenderError> {
        let signal = if self.config.test_mode {
            drill_signal(&item.signal)
        } else {
            item.signal.clone()
        };
        let kind = match signal.protocol {
            Protocol::ContactId => MessageKind::AdmCid,
            Protocol::SiaDcs => MessageKind::SiaDcs,
        };
        let header = Header {
            kind,
            encrypted: false,
            seq: item.seq(),
            receiver: Some(self.config.receiver_number.clone()),
            line: Some(self.config.line.clone()),
            account: Some(self.config.account.clone()),
        };
        let ts = (self.config.key.is_some() || self.config.timestamp_plain).then_some(now);
        let content = Content {
            data: signal.render_payload()?,
            extended: Vec::new(),
            timestamp: ts,
        };
        let frame = Frame::build(
            header,
            &content,
            self.config.key.as_ref(),
            &crate::receiver::pad_seed(now),
        )
        .map_err(|e| {
            SenderError::Signal(SignalError::Cid(crate::cid::CidError::Malformed(
                e.to_string(),
            )))
        })?;
        Ok((frame.encode(), signal))
    }
}

fn check_reply(key: Option<&AesKey>, raw: &[u8], seq: u16) -> Result<Reply, String> {
    let f = Frame::parse(raw).map_err(|e| format!("bad reply: {e}"))?;
    let content = if f.header.encrypted {
        Some(f.open(key).map_err(|e| format!("cannot open reply: {e}"))?)
    } else {
        f.open(None).ok()
    };
    match f.header.kind {
        MessageKind::Nak => Ok(Reply::Nak(content.and_then(|c| c.timestamp))),
        _ if f.header.seq != seq => Err(format!(
            "reply for sequence {} while waiting for {seq}",
            f.header.seq
        )),
        MessageKind::Ack => {
            if key.is_some() && !f.header.encrypted {
                return Err("plain ACK to an encrypted frame".into());
            }
            Ok(Reply::Ack)
        }
        MessageKind::Duh => Ok(Reply::Duh),
        k => Err(format!("unexpected reply kind {k:?}")),
    }
}

impl<Q: OutboundQueue, R: DispatchRecorder, C: Clock> Sender<Q, R, C> {
    async fn exchange(
        &mut self,
        addr: SocketAddr,
        frame: &[u8],
        seq: u16,
    ) -> Result<Reply, AttemptOutcome> {
        let timeout = Duration::from_millis(self.config.reply_timeout_ms);
        let io = |e: std::io::Error| AttemptOutcome::Failed(e.to_string());
        let key = self.config.key.clone();
        match self.config.transport {
            Transport::Tcp => {
                if self.conn.is_none() {
                    let s = tokio::time::timeout(timeout, TcpStream::connect(addr))
                        .await
                        .map_err(|_| AttemptOutcome::Timeout)?
                        .map_err(io)?;
                    let _ = s.set_nodelay(true);
                    self.conn = Some(s);
                }
                let Some(conn) = self.conn.as_mut() else {
                    return Err(AttemptOutcome::Failed("no connection".into()));
                };
                if let Err(e) = conn.write_all(frame).await {
                    self.conn = None;
                    return Err(io(e));
                }
                let mut dec = FrameDecoder::default();
                let mut buf = [0u8; 1024];
                let deadline = tokio::time::Instant::now() + timeout;
                loop {
                    let n = match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
                        Err(_) => {
                            self.conn = None;
                            return Err(AttemptOutcome::Timeout);
                        }
                        Ok(Ok(0)) => {
                            self.conn = None;
                            return Err(AttemptOutcome::Failed("connection closed".into()));
                        }
                        Ok(Err(e)) => {
                            self.conn = None;
                            return Err(io(e));
                        }
                        Ok(Ok(n)) => n,
                    };
                    dec.push(&buf[..n]);
                    while let Some(item) = dec.next_frame() {
                        if let Ok(raw) = item {
                            match check_reply(key.as_ref(), &raw, seq) {
                                Ok(r) => return Ok(r),
                                Err(e) if raw.windows(5).any(|w| w == b"\"NAK\"") => {
                                    let _ = e;
                                    return Ok(Reply::Nak(None));
                                }
                                Err(_) => {} // stale reply for an earlier frame: keep reading
                            }
                        } else if buf[..n].windows(5).any(|w| w == b"\"NAK\"") {
                            // pysiaalarm answers an unknown account with an unframed "NAK"
                            return Ok(Reply::Nak(None));
                        }
                    }
                }
            }
            Transport::Udp => {
                if self.udp.is_none() {
                    let s = UdpSocket::bind(("127.0.0.1", 0)).await.map_err(io)?;
                    self.udp = Some(s);
                }
                let Some(sock) = self.udp.as_ref() else {
                    return Err(AttemptOutcome::Failed("no socket".into()));
                };
                sock.send_to(frame, addr).await.map_err(io)?;
                let mut buf = [0u8; 2048];
                let deadline = tokio::time::Instant::now() + timeout;
                loop {
                    let (n, from) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf))
                        .await
                        .map_err(|_| AttemptOutcome::Timeout)?
                        .map_err(io)?;
                    if from != addr {
                        continue;
                    }
                    match check_reply(key.as_ref(), &buf[..n], seq) {
                        Ok(r) => return Ok(r),
                        Err(_) if buf[..n].windows(5).any(|w| w == b"\"NAK\"") => {
                            return Ok(Reply::Nak(None));
                        }
                        Err(_) => {}
                    }
                }
            }
        }
    }

    /// Run until `stop` turns true. Items are sent strictly in queue order.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut on_secondary = false;
        let mut failures: u32 = 0;
        let mut backoff_ms = self.config.backoff_initial_ms.max(1);
        let mut attempt: u32 = 0;
        let mut current_item: Option<u64> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            let item = match self.queue.front().await {
                Ok(Some(i)) => i,
                Ok(None) => {
                    let idle_s = self.config.link_test_interval_s;
                    let link_due = tokio::select! {
                        _ = self.notify.notified() => false,
                        _ = async {
                            match idle_s {
                                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                                None => std::future::pending::<()>().await,
                            }
                        } => true,
                        _ = stop.changed() => return,
                    };
                    if link_due && !self.link_test(on_secondary).await {
                        failures += 1;
                        if self.config.secondary.is_some()
                            && failures >= self.config.failover_after.max(1)
                        {
                            on_secondary = !on_secondary;
                            failures = 0;
                            self.conn = None;
                            self.udp = None;
                        }
                    }
                    continue;
                }
                Err(_) => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(backoff_ms)) => {}
                        _ = stop.changed() => return,
                    }
                    continue;
                }
            };
            if current_item != Some(item.id) {
                current_item = Some(item.id);
                attempt = 0;
            }
            attempt += 1;
            let (path, addr) = match (on_secondary, self.config.secondary) {
                (true, Some(s)) => (PathKind::Secondary, s),
                _ => (PathKind::Primary, self.config.primary),
            };
            let sent_at = self.clock.now();
            let stamped = sent_at.checked_add(self.clock_offset).unwrap_or(sent_at);
            let (frame, sent_signal) = match self.build(&item, stamped) {
                Ok(x) => x,
                Err(e) => {
                    // cannot ever be sent: record and drop so the queue is not blocked
                    self.recorder
                        .record(self.record(
                            &item,
                            &item.signal,
                            addr,
                            path,
                            attempt,
                            sent_at,
                            AttemptOutcome::Failed(format!("unsendable: {e}")),
                        ))
                        .await;
                    let _ = self.queue.remove(item.id).await;
                    continue;
                }
            };
            let result = self.exchange(addr, &frame, item.seq()).await;
            let outcome = match result {
                Ok(Reply::Ack) => AttemptOutcome::Ack,
                Ok(Reply::Duh) => AttemptOutcome::Duh,
                Ok(Reply::Nak(t)) => AttemptOutcome::Nak { receiver_time: t },
                Err(o) => o,
            };
            let rec = self.record(
                &item,
                &sent_signal,
                addr,
                path,
                attempt,
                sent_at,
                outcome.clone(),
            );
            self.recorder.record(rec).await;
            match outcome {
                AttemptOutcome::Ack | AttemptOutcome::Duh => {
                    if self.queue.remove(item.id).await.is_ok() {
                        failures = 0;
                        backoff_ms = self.config.backoff_initial_ms.max(1);
                    }
                    continue;
                }
                AttemptOutcome::Nak {
                    receiver_time: Some(t),
                } => {
                    // follow the receiver's clock (DC-09: the NAK carries its time)
                    self.clock_offset = t.duration_since(self.clock.now());
                }
                _ => {}
            }
            failures += 1;
            if self.config.secondary.is_some() && failures >= self.config.failover_after.max(1) {
                on_secondary = !on_secondary;
                failures = 0;
                self.conn = None;
                self.udp = None;
                backoff_ms = self.config.backoff_initial_ms.max(1);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(backoff_ms)) => {}
                _ = stop.changed() => return,
            }
            backoff_ms = (backoff_ms.saturating_mul(2)).min(self.config.backoff_max_ms.max(1));
        }
    }

    /// Send one NULL link test on the current path; true if ACKed.
    async fn link_test(&mut self, on_secondary: bool) -> bool {
        let (path, addr) = match (on_secondary, self.config.secondary) {
            (true, Some(s)) => (PathKind::Secondary, s),
            _ => (PathKind::Primary, self.config.primary),
        };
        let sent_at = self.clock.now();
        let stamped = sent_at.checked_add(self.clock_offset).unwrap_or(sent_at);
        let header = Header {
            kind: MessageKind::Null,
            encrypted: false,
            seq: 0,
            receiver: Some(self.config.receiver_number.clone()),
            line: Some(self.config.line.clone()),
            account: Some(self.config.account.clone()),
        };
        let ts = (self.config.key.is_some() || self.config.timestamp_plain).then_some(stamped);
        let content = Content {
            data: String::new(),
            extended: Vec::new(),
            timestamp: ts,
        };
        let Ok(frame) = Frame::build(
            header,
            &content,
            self.config.key.as_ref(),
            &crate::receiver::pad_seed(sent_at),
        ) else {
            return false;
        };
        let outcome = match self.exchange(addr, &frame.encode(), 0).await {
            Ok(Reply::Ack) => AttemptOutcome::Ack,
            Ok(Reply::Duh) => AttemptOutcome::Duh,
            Ok(Reply::Nak(t)) => {
                if let Some(t) = t {
                    self.clock_offset = t.duration_since(self.clock.now());
                }
                AttemptOutcome::Nak { receiver_time: t }
            }
            Err(o) => o,
        };
        let ok = outcome == AttemptOutcome::Ack;
        let rec = DispatchRecord {
            item_id: 0,
            seq: 0,
            account: self.config.account.clone(),
            code: "NULL".into(),
            original_code: "NULL".into(),
            test: false,
            receiver: addr,
            path,
            attempt: 1,
            sent_at,
            completed_at: self.clock.now(),
            outcome,
        };
        self.recorder.record(rec).await;
        ok
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        item: &OutboundItem,
        sent: &AlarmSignal,
        receiver: SocketAddr,
        path: PathKind,
        attempt: u32,
        sent_at: Timestamp,
        outcome: AttemptOutcome,
    ) -> DispatchRecord {
        DispatchRecord {
            item_id: item.id,
            seq: item.seq(),
            account: self.config.account.clone(),
            code: sent.code.clone(),
            original_code: item.signal.code.clone(),
            test: self.config.test_mode,
            receiver,
            path,
            attempt,
            sent_at,
            completed_at: self.clock.now(),
            outcome,
        }
    }
}
