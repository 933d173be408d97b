//! Shared helpers for the integration tests: starting the camsim RTSP camera simulator (a real
//! GStreamer RTSP server) on a free 127.0.0.1 port, waiting with deadlines, and checking that indexed
//! segments match their files.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::Digest;
use sqlx::AnyPool;
use strongroom_media::segment::SampleIndex;
use strongroom_video::clock::{Clock, SystemClock};
use strongroom_video::events::VideoEvent;
use strongroom_video::index::{self, GapRow, SegmentRow};
use strongroom_video::testing::{peers_dir, peers_required};

/// A running camsim; killed on drop.
pub struct Camsim {
    child: Child,
    stdin: Option<ChildStdin>,
    pub urls: Vec<String>,
    /// (wall time 90k, line) of everything camsim logs on stderr.
    pub log: mpsc::Receiver<(i64, String)>,
}

impl Drop for Camsim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Camsim {
    /// Sends a `--stdin-control` command line.
    pub fn control(&mut self, line: &str) {
        if let Some(s) = self.stdin.as_mut() {
            writeln!(s, "{line}").expect("write camsim stdin");
            s.flush().expect("flush camsim stdin");
        }
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Either skips (returns None after printing "SKIP: reason") or panics if peers are required.
fn skip(reason: String) -> Option<Camsim> {
    if peers_required() {
        panic!("camsim required but unavailable: {reason}");
    }
    println!("SKIP: {reason}");
    None
}

/// Starts camsim with `streams` cameras plus `extra` arguments and waits until it serves them.
pub fn start_camsim(streams: usize, extra: &[&str]) -> Option<Camsim> {
    let script = peers_dir().join("camsim.py");
    let python = Path::new("/usr/bin/python3");
    if !python.exists() {
        return skip("/usr/bin/python3 not found".into());
    }
    if !script.exists() {
        return skip(format!("{} not found", script.display()));
    }
    let port = free_port();
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["-n", &streams.to_string()])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return skip(format!("cannot run camsim: {e}")),
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let stdin = child.stdin.take();
    let (url_tx, url_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if url_tx.send(line).is_err() {
                break;
            }
        }
    });
    let (log_tx, log_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if log_tx.send((SystemClock.now_90k(), line)).is_err() {
                break;
            }
        }
    });
    let mut cs = Camsim {
        child,
        stdin,
        urls: Vec::new(),
        log: log_rx,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while cs.urls.len() < streams {
        let left = deadline.saturating_duration_since(Instant::now());
        match url_rx.recv_timeout(left) {
            Ok(l) if l.starts_with("rtsp://") => cs.urls.push(l),
            Ok(_) => {}
            Err(_) => {
                let mut err = String::new();
                while let Ok((_, l)) = cs.log.try_recv() {
                    err.push_str(&l);
                    err.push('\n');
                }
                if let Ok(Some(st)) = cs.child.try_wait() {
                    return skip(format!("camsim exited ({st}): {err}"));
                }
                return skip(format!("camsim did not start within 20 s: {err}"));
            }
        }
    }
    Some(cs)
}

/// Polls `f` every 100 ms until it returns Some or the deadline passes.
pub async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Collects events from a recorder and waits for ones matching a predicate.
pub struct EventLog {
    rx: tokio::sync::mpsc::UnboundedReceiver<VideoEvent>,
    pub seen: Vec<VideoEvent>,
}

impl EventLog {
    pub fn new(rx: tokio::sync::mpsc::UnboundedReceiver<VideoEvent>) -> Self {
        EventLog {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits until an event matching `pred` has been seen; returns a clone of the first match.
    pub async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&VideoEvent) -> bool,
    ) -> VideoEvent {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(e) = self.seen.iter().find(|e| pred(e)) {
                return e.clone();
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(e)) => self.seen.push(e),
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}; saw {:#?}", self.seen),
            }
        }
    }

    /// Drains what has arrived so far.
    pub fn drain(&mut self) {
        while let Ok(e) = self.rx.try_recv() {
            self.seen.push(e);
        }
    }
}

/// Segments of camera `key`, oldest first.
pub async fn camera_segments(pool: &AnyPool, key: &str) -> Vec<SegmentRow> {
    let Some(id) = index::camera_id(pool, key).await.expect("camera id") else {
        return Vec::new();
    };
    index::segments_in_range(pool, id, i64::MIN / 2, i64::MAX / 2)
        .await
        .expect("segments")
}

/// Gaps of camera `key` (which must be indexed), oldest first.
pub async fn camera_gaps(pool: &AnyPool, key: &str) -> Vec<GapRow> {
    let id = index::camera_id(pool, key)
        .await
        .expect("camera id")
        .expect("camera indexed");
    index::gaps_in_range(pool, id, i64::MIN / 2, i64::MAX / 2)
        .await
        .expect("gaps")
}

/// Checks one segment against its file: size, SHA-256, sample index, first frame a key frame.
pub fn verify_segment_file(storage: &Path, s: &SegmentRow) {
    let path = storage.join(&s.path);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(data.len() as i64, s.bytes, "{}: size", s.path);
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&data)),
        s.sha256_hex,
        "{}: sha256",
        s.path
    );
    let idx = SampleIndex::decode(&s.sample_index).expect("sample index decodes");
    idx.validate(Some(data.len() as u64))
        .expect("index fits file");
    assert_eq!(idx.len() as i64, s.frame_count);
    assert_eq!(idx.duration_90k() as i64, s.duration_90k);
    assert!(
        idx.frames[0].is_key,
        "{}: first frame is a key frame",
        s.path
    );
    // Every frame is well-formed AVCC: lengths chain exactly to the frame end.
    for f in &idx.frames {
        let frame = &data[f.offset as usize..(f.offset + u64::from(f.len)) as usize];
        let mut i = 0usize;
        while i < frame.len() {
            let n = u32::from_be_bytes(frame[i..i + 4].try_into().expect("4 bytes")) as usize;
            assert!(n > 0);
            i += 4 + n;
        }
        assert_eq!(i, frame.len());
    }
}
