//! The camera simulator (`camsim.py`: GStreamer RTSP server + x264) for server tests: two
//! 640x360 15 fps cameras with stdin control (`close camN`, `restore camN`, `freeze camN`).
#![allow(dead_code, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

pub fn peers_dir() -> PathBuf {
    std::env::var_os("STRONGROOM_PEERS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peers"),
        PathBuf::from,
    )
}

pub fn peers_required() -> bool {
    std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() == Ok("1")
}

pub fn skip(reason: &str) {
    assert!(!peers_required(), "peer required but unavailable: {reason}");
    println!("SKIP: {reason}");
}

pub struct Camsim {
    child: Child,
    stdin: ChildStdin,
    pub urls: Vec<String>,
}

impl Drop for Camsim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Camsim {
    pub fn control(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("camsim stdin");
        self.stdin.flush().expect("camsim stdin flush");
    }
}

/// Starts the camera simulator with two cameras; a simulator that exits at start (a port taken
/// between our probe and its bind, a GStreamer registry being rebuilt by a concurrent start) is
/// started once more on a new port, and what it printed is in the message if that fails too.
pub fn start_camsim() -> Option<Camsim> {
    let python = Path::new("/usr/bin/python3");
    let script = peers_dir().join("camsim.py");
    if !python.exists() || !script.exists() {
        skip(&format!(
            "{} or {} not found",
            python.display(),
            script.display()
        ));
        return None;
    }
    let mut last_error = String::new();
    for _attempt in 0..2 {
        match try_start_camsim(python, &script) {
            Ok(cs) => return Some(cs),
            Err(e) => last_error = e,
        }
    }
    skip(&last_error);
    None
}

fn try_start_camsim(python: &Path, script: &Path) -> Result<Camsim, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))?;
    let mut child = Command::new(python)
        .arg(script)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "-n",
            "2",
        ])
        .args([
            "--width", "640", "--height", "360", "--fps", "15", "--keyint", "15",
        ])
        .args(["--one-encoder", "--stdin-control", "--duration", "120"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run camsim: {e}"))?;
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let stdin = child.stdin.take().expect("stdin");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let printed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let printed2 = printed.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut v) = printed2.lock() {
                v.push(l);
                let excess = v.len().saturating_sub(20);
                v.drain(..excess);
            }
        }
    });
    let mut cs = Camsim {
        child,
        stdin,
        urls: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while cs.urls.len() < 2 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(l) if l.starts_with("rtsp://") => cs.urls.push(l),
            Ok(_) => {}
            Err(_) => {
                let st = cs.child.try_wait();
                let said = printed.lock().map(|v| v.join("\n")).unwrap_or_default();
                return Err(format!(
                    "camsim did not start within 20 s ({st:?}); it printed:\n{said}"
                ));
            }
        }
    }
    Ok(cs)
}
