//! Tokio DC-09 receiver (panels → Strongroom): TCP and UDP listeners around [`ReceiverCore`].
//!
//! Every signal of a frame is handed to the [`SignalSink`]; the ACK is written only after every
//! `deliver` returned `Ok` (the server's sink appends to its durable journal). If a delivery fails
//! the panel gets a NAK and retries. Supervision runs on a timer driven by the injected [`Clock`].

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::decoder::{DecodeError, FrameDecoder};
use crate::engine::{AccountPolicy, Outcome, ReceiverCore, Rejection, TimeWindow};
use crate::frame;
use crate::signal::AlarmSignal;
use crate::supervisor::{SupervisionEvent, Supervisor};

/// A sink refused or failed to store an event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("sink error: {0}")]
pub struct SinkError(pub String);

/// Where received signals go. Implemented by the server (durable journal).
pub trait SignalSink: Send + Sync + 'static {
    /// Store one signal durably. Return `Ok` only once it is durable: the panel is ACKed after it.
    fn deliver(&self, signal: AlarmSignal) -> impl Future<Output = Result<(), SinkError>> + Send;
    /// A supervision transition (account silent / back).
    fn supervision(
        &self,
        event: SupervisionEvent,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// Receiver start-up errors.
#[derive(Debug, Error)]
pub enum ReceiverError {
    /// Could not bind a listener.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Neither TCP nor UDP configured.
    #[error("no listener configured")]
    NoListener,
}

/// Receiver configuration.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// TCP listen address (`127.0.0.1:0` in tests).
    pub tcp_addr: Option<SocketAddr>,
    /// UDP listen address.
    pub udp_addr: Option<SocketAddr>,
    /// Known accounts.
    pub accounts: Vec<AccountPolicy>,
    /// Accepted clock skew.
    pub window: TimeWindow,
    /// Largest frame accepted.
    pub max_frame_bytes: usize,
    /// How often supervision is evaluated.
    pub tick_interval_ms: u64,
    /// Concurrent TCP connections accepted.
    pub max_connections: usize,
    /// A TCP connection silent this long is closed.
    pub idle_timeout_ms: u64,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            tcp_addr: None,
            udp_addr: None,
            accounts: Vec::new(),
            window: TimeWindow::default(),
            max_frame_bytes: crate::decoder::DEFAULT_MAX_FRAME_BYTES,
            tick_interval_ms: 1000,
            max_connections: 512,
            idle_timeout_ms: 120_000,
        }
    }
}

/// Counters (monotonic).
#[derive(Debug, Default)]
pub struct ReceiverStats {
    /// Frames seen (including malformed).
    pub frames: AtomicU64,
    /// Signals delivered to the sink.
    pub delivered: AtomicU64,
    /// ACKs sent.
    pub acks: AtomicU64,
    /// NAKs sent.
    pub naks: AtomicU64,
    /// DUHs sent.
    pub duhs: AtomicU64,
    /// Retransmissions/replays re-acknowledged without delivery.
    pub duplicates: AtomicU64,
    /// Link tests (NULL) accepted.
    pub link_tests: AtomicU64,
    /// Sink failures.
    pub sink_failures: AtomicU64,
    /// Garbage bytes skipped.
    pub garbage_bytes: AtomicU64,
}

struct Shared<S, C> {
    core: Mutex<ReceiverCore>,
    supervisor: Mutex<Supervisor>,
    sink: Arc<S>,
    clock: Arc<C>,
    stats: Arc<ReceiverStats>,
    recent: Mutex<VecDeque<Rejection>>,
    pending_supervision: Mutex<VecDeque<SupervisionEvent>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Random pad bytes for encrypted replies; falls back to time-derived bytes if the OS RNG fails
/// (pad bytes hide nothing secret; they only vary the first cipher block).
pub(crate) fn pad_seed(now: Timestamp) -> [u8; 16] {
    let mut seed = [0u8; 16];
    if getrandom::fill(&mut seed).is_err() {
        seed = now.as_nanosecond().to_le_bytes();
    }
    seed
}

impl<S: SignalSink, C: Clock> Shared<S, C> {
    fn count_reply(&self, reply: &[u8]) {
        let c = match frame::Frame::parse(reply).map(|f| f.header.kind) {
            Ok(frame::MessageKind::Ack) => &self.stats.acks,
            Ok(frame::MessageKind::Duh) => &self.stats.duhs,
            _ => &self.stats.naks,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Handle one raw frame; returns the reply bytes.
    async fn handle(&self, raw: &[u8]) -> Vec<u8> {
        self.stats.frames.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now();
        let outcome = lock(&self.core).process(raw, now, &pad_seed(now));
        let reply = match outcome {
            Outcome::Deliver(d) => {
                let mut ok = true;
                for s in d.signals {
                    if self.sink.deliver(s).await.is_err() {
                        self.stats.sink_failures.fetch_add(1, Ordering::Relaxed);
                        ok = false;
                        break;
                    }
                    self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                }
                if ok {
                    let at = self.clock.now();
                    lock(&self.core).commit(d.token, at);
                    lock(&self.supervisor).heard(&d.account, at);
                    d.ack
                } else {
                    d.nak
                }
            }
            Outcome::LinkTest { account, ack } => {
                self.stats.link_tests.fetch_add(1, Ordering::Relaxed);
                lock(&self.supervisor).heard(&account, now);
                ack
            }
            Outcome::Duplicate { account, ack, .. } => {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                lock(&self.supervisor).heard(&account, now);
                ack
            }
            Outcome::Reject { rejection, reply } => {
                let mut r = lock(&self.recent);
                if r.len() >= 64 {
                    r.pop_front();
                }
                r.push_back(rejection);
                reply
            }
        };
        self.count_reply(&reply);
        reply
    }

    async fn tick(&self) {
        let events = lock(&self.supervisor).tick(self.clock.now());
        lock(&self.pending_supervision).extend(events);
        // Deliver in order; on a sink failure keep the rest (and the failed one) for the next tick.
        loop {
            let Some(e) = lock(&self.pending_supervision).front().cloned() else {
                break;
            };
            if self.sink.supervision(e).await.is_err() {
                self.stats.sink_failures.fetch_add(1, Ordering::Relaxed);
                break;
            }
            lock(&self.pending_supervision).pop_front();
        }
    }
}

/// A running receiver.
pub struct Receiver {
    tcp_addr: Option<SocketAddr>,
    udp_addr: Option<SocketAddr>,
    stats: Arc<ReceiverStats>,
    recent: Arc<dyn Fn() -> Vec<Rejection> + Send + Sync>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Receiver {
    /// Bind the configured listeners and start serving.
    pub async fn start<S: SignalSink, C: Clock>(
        config: ReceiverConfig,
        sink: Arc<S>,
        clock: Arc<C>,
    ) -> Result<Self, ReceiverError> {
        if config.tcp_addr.is_none() && config.udp_addr.is_none() {
            return Err(ReceiverError::NoListener);
        }
        let now = clock.now();
        let mut supervisor = Supervisor::new();
        for a in &config.accounts {
            if let Some(i) = a.supervision_interval_s {
                supervisor.add(&a.account, i, now);
            }
        }
        let stats = Arc::new(ReceiverStats::default());
        let shared = Arc::new(Shared {
            core: Mutex::new(ReceiverCore::new(config.accounts.clone(), config.window)),
            supervisor: Mutex::new(supervisor),
            sink,
            clock,
            stats: stats.clone(),
            recent: Mutex::new(VecDeque::new()),
            pending_supervision: Mutex::new(VecDeque::new()),
        });
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut tcp_addr = None;
        if let Some(addr) = config.tcp_addr {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| ReceiverError::Bind { addr, source })?;
            tcp_addr = l.local_addr().ok();
            tasks.spawn(tcp_accept_loop(
                l,
                shared.clone(),
                config.clone(),
                stop_rx.clone(),
            ));
        }
        let mut udp_addr = None;
        if let Some(addr) = config.udp_addr {
            let s = UdpSocket::bind(addr)
                .await
                .map_err(|source| ReceiverError::Bind { addr, source })?;
            udp_addr = s.local_addr().ok();
            tasks.spawn(udp_loop(s, shared.clone(), stop_rx.clone()));
        }
        {
            let shared = shared.clone();
            let mut stop_rx = stop_rx.clone();
            let period = Duration::from_millis(config.tick_interval_ms.max(10));
            tasks.spawn(async move {
                let mut iv = tokio::time::interval(period);
                iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = iv.tick() => shared.tick().await,
                        _ = stop_rx.changed() => break,
                    }
                }
            });
        }
        let recent_shared = shared.clone();
        let recent = Arc::new(move || lock(&recent_shared.recent).iter().cloned().collect());
        Ok(Self {
            tcp_addr,
            udp_addr,
            stats,
            recent,
            stop,
            tasks,
        })
    }

    /// Bound TCP address.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// Bound UDP address.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp_addr
    }

    /// Counters.
    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }

    /// The last (up to 64) rejections, oldest first.
    pub fn recent_rejections(&self) -> Vec<Rejection> {
        (self.recent)()
    }

    /// Stop listening and close connections.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn tcp_accept_loop<S: SignalSink, C: Clock>(
    l: TcpListener,
    shared: Arc<Shared<S, C>>,
    config: ReceiverConfig,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = l.accept() => {
                let Ok((stream, _)) = r else { continue };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    drop(stream); // over the connection limit
                    continue;
                };
                let shared = shared.clone();
                let stop = stop.clone();
                let (max, idle) = (config.max_frame_bytes, config.idle_timeout_ms);
                conns.spawn(async move {
                    serve_tcp(stream, shared, max, idle, stop).await;
                    drop(permit);
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

async fn serve_tcp<S: SignalSink, C: Clock>(
    mut stream: TcpStream,
    shared: Arc<Shared<S, C>>,
    max_frame_bytes: usize,
    idle_timeout_ms: u64,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut dec = FrameDecoder::new(max_frame_bytes);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = tokio::select! {
            r = tokio::time::timeout(Duration::from_millis(idle_timeout_ms), stream.read(&mut buf)) => match r {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
                Ok(Ok(n)) => n,
            },
            _ = stop.changed() => return,
        };
        dec.push(&buf[..n]);
        while let Some(item) = dec.next_frame() {
            let reply = match item {
                Ok(raw) => shared.handle(&raw).await,
                Err(DecodeError::Garbage { skipped }) => {
                    shared
                        .stats
                        .garbage_bytes
                        .fetch_add(skipped as u64, Ordering::Relaxed);
                    continue;
                }
                Err(_) => {
                    shared.stats.frames.fetch_add(1, Ordering::Relaxed);
                    shared.stats.naks.fetch_add(1, Ordering::Relaxed);
                    frame::build_nak(None, shared.clock.now())
                }
            };
            if stream.write_all(&reply).await.is_err() {
                return;
            }
        }
    }
}

async fn udp_loop<S: SignalSink, C: Clock>(
    sock: UdpSocket,
    shared: Arc<Shared<S, C>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 2048];
    loop {
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                let Ok((n, peer)) = r else { continue };
                let reply = shared.handle(&buf[..n]).await;
                let _ = sock.send_to(&reply, peer).await;
            }
            _ = stop.changed() => break,
        }
    }
}
