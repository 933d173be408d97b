//! Shared helpers for integration tests: locating and running the third-party peers, a recording
//! sink, and deadline-bounded polling.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use strongroom_sia::receiver::{SignalSink, SinkError};
use strongroom_sia::signal::AlarmSignal;
use strongroom_sia::supervisor::SupervisionEvent;

/// Where the peers live.
pub struct Peers {
    pub python: PathBuf,
    pub dir: PathBuf,
}

/// Locate the peers, or print `SKIP: …` and return `None` (panics when
/// `STRONGROOM_REQUIRE_PEERS=1`).
pub fn peers() -> Option<Peers> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::var_os("STRONGROOM_PEERS_DIR")
        .map_or_else(|| root.join("../shared/peers"), PathBuf::from);
    let python = std::env::var_os("STRONGROOM_PEERS_PYTHON")
        .map_or_else(|| root.join(".peers-venv/bin/python"), PathBuf::from);
    let reason = if !python.exists() {
        Some(format!("peer python {} not found", python.display()))
    } else if !dir.join("dc09_sender.py").exists() || !dir.join("dc09_receiver.py").exists() {
        Some(format!("dc09 peer scripts not found in {}", dir.display()))
    } else {
        None
    };
    match reason {
        None => Some(Peers { python, dir }),
        Some(r) if std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() == Ok("1") => {
            panic!("peers required: {r}")
        }
        Some(r) => {
            println!("SKIP: {r}");
            None
        }
    }
}

/// A running peer process; killed on drop.
pub struct PeerProc {
    child: Child,
    rx: mpsc::Receiver<String>,
    pub lines: Vec<String>,
}

impl PeerProc {
    pub fn spawn(p: &Peers, script: &str, args: &[&str]) -> Self {
        let mut child = Command::new(&p.python)
            .arg(p.dir.join(script))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn peer");
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx2.send(format!("STDERR {l}")).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            rx,
            lines: Vec::new(),
        }
    }

    /// Wait (bounded) for a JSON stdout line matching `pred`.
    pub fn wait_json(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        // lines seen before but not yet matched
        for l in &self.lines {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l)
                && pred(&v)
            {
                return Some(v);
            }
        }
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left) {
                Ok(l) => {
                    self.lines.push(l.clone());
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&l)
                        && pred(&v)
                    {
                        return Some(v);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return None;
                }
            }
        }
    }

    /// Wait (bounded) for the process to exit, collecting its output.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                while let Ok(l) = self.rx.recv_timeout(Duration::from_millis(200)) {
                    self.lines.push(l);
                }
                return Some(st);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if let Ok(l) = self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                self.lines.push(l);
            }
        }
    }

    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.lines
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn dump(&self) -> String {
        self.lines.join("\n")
    }
}

impl Drop for PeerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sink that records everything and can be told to fail.
#[derive(Default)]
pub struct MemorySink {
    pub signals: Mutex<Vec<AlarmSignal>>,
    pub supervision: Mutex<Vec<SupervisionEvent>>,
    pub fail: AtomicBool,
}

impl MemorySink {
    pub fn signals(&self) -> Vec<AlarmSignal> {
        self.signals.lock().expect("lock").clone()
    }
    pub fn supervision_events(&self) -> Vec<SupervisionEvent> {
        self.supervision.lock().expect("lock").clone()
    }
}

impl SignalSink for MemorySink {
    async fn deliver(&self, signal: AlarmSignal) -> Result<(), SinkError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(SinkError("journal unavailable".into()));
        }
        self.signals.lock().expect("lock").push(signal);
        Ok(())
    }

    async fn supervision(&self, event: SupervisionEvent) -> Result<(), SinkError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(SinkError("journal unavailable".into()));
        }
        self.supervision.lock().expect("lock").push(event);
        Ok(())
    }
}

/// Poll `f` until it returns `Some` or the deadline passes (async).
pub async fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Poll `f` until true or deadline (blocking).
pub fn poll_blocking(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
    f()
}

/// A free loopback port (bind, read, release).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A free loopback UDP port.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
