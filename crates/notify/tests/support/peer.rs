//! Test support: finds the peer scripts in `shared/peers`, starts them on free 127.0.0.1 ports with
//! a bounded `--duration`, collects the JSON lines they print, and kills them on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether missing peers must fail the test instead of skipping it.
pub fn peers_required() -> bool {
    std::env::var("STRONGROOM_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Skips (prints `SKIP: reason`) or, when peers are required, panics.
pub fn skip(reason: &str) {
    assert!(
        !peers_required(),
        "peers required but unavailable: {reason}"
    );
    println!("SKIP: {reason}");
}

/// The interpreter and script path for `script`, or why not. `any_python` allows falling back
/// to `python3` from PATH when the venv interpreter is missing (stdlib-only scripts).
pub fn locate(script: &str, any_python: bool) -> Result<(PathBuf, PathBuf), String> {
    let dir = std::env::var_os("STRONGROOM_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/peers"));
    let script_path = dir.join(script);
    if !script_path.is_file() {
        return Err(format!("{} not found", script_path.display()));
    }
    let python = std::env::var_os("STRONGROOM_PEERS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".peers-venv/bin/python"));
    if python.is_file() {
        return Ok((python, script_path));
    }
    if any_python {
        return Ok((PathBuf::from("python3"), script_path));
    }
    Err(format!("python {} not found", python.display()))
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A running peer.
pub struct Peer {
    child: Child,
    lines: mpsc::Receiver<Value>,
    /// Every line seen so far.
    pub seen: Vec<Value>,
    /// The port it listens on.
    pub port: u16,
}

impl Peer {
    /// Starts `python script --host 127.0.0.1 --port P --duration S args...` and waits for its
    /// `listening` line.
    pub fn start(
        python: &Path,
        script: &Path,
        duration_s: u32,
        args: &[&str],
    ) -> Result<Peer, String> {
        let mut last_err = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(python)
                .arg("-u")
                .arg(script)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--duration", &duration_s.to_string()])
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
            let Some(out) = child.stdout.take() else {
                let _ = child.kill();
                return Err("no stdout".into());
            };
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                // Threaded peers print concurrently, so two JSON objects can share a line:
                // parse a stream of values, not one value per line.
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    for v in serde_json::Deserializer::from_str(&line)
                        .into_iter::<Value>()
                        .map_while(Result::ok)
                    {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            });
            let mut peer = Peer {
                child,
                lines: rx,
                seen: Vec::new(),
                port,
            };
            if peer
                .wait_for(Duration::from_secs(15), |v| v.get("listening").is_some())
                .is_some()
            {
                return Ok(peer);
            }
            last_err = format!(
                "{} did not report listening on port {port}",
                script.display()
            );
        }
        Err(last_err)
    }

    /// Waits (up to `timeout`) for a line matching `pred`, looking at lines already seen first.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return Some(v.clone());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return Some(v);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Lines seen so far plus any already waiting, without blocking.
    pub fn drain(&mut self) -> &[Value] {
        while let Ok(v) = self.lines.try_recv() {
            self.seen.push(v);
        }
        &self.seen
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
