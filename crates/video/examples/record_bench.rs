//! Recording benchmark: records N camsim cameras (one shared x264 encoder, `--one-encoder`) for a
//! while and reports this process's CPU (from /proc/self/stat) and resident memory, plus frame loss.
//!
//! ```text
//! cargo run --release -p strongroom-video --example record_bench -- [cameras] [seconds] [WxH] [fps]
//! ```
//! Defaults: 16 cameras, 30 s, 1280x720, 15 fps, 800 kbit/s (the moonfire-nvr anchor setup).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strongroom_video::clock::{Clock, SystemClock, ms_to_90k};
use strongroom_video::events::NoEvents;
use strongroom_video::recorder::{Recorder, RecorderConfig};
use strongroom_video::source::{CameraConfig, RetinaOpener};
use strongroom_video::testing::{TestDb, peers_dir};

/// (utime + stime) in seconds, resident bytes, threads.
fn proc_self() -> (f64, u64, u64) {
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let cpu = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (cpu / ticks, field("VmRSS:") * 1024, field("Threads:"))
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cameras: usize = args.first().map_or(Ok(16), |s| s.parse())?;
    let seconds: u64 = args.get(1).map_or(Ok(30), |s| s.parse())?;
    let (w, h) = args
        .get(2)
        .and_then(|s| s.split_once('x'))
        .map_or(("1280".to_owned(), "720".to_owned()), |(a, b)| {
            (a.to_owned(), b.to_owned())
        });
    let fps: u64 = args.get(3).map_or(Ok(15), |s| s.parse())?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Kill(
        Command::new("/usr/bin/python3")
            .arg(peers_dir().join("camsim.py"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "-n",
                &cameras.to_string(),
            ])
            .args([
                "--width",
                &w,
                "--height",
                &h,
                "--fps",
                &fps.to_string(),
                "--bitrate",
                "800",
            ])
            .args(["--one-encoder", "--duration", &(seconds + 60).to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let stdout = child.0.stdout.take().ok_or("no stdout")?;
    let mut urls = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if line.starts_with("rtsp://") {
            urls.push(line);
            if urls.len() == cameras {
                break;
            }
        }
    }
    let cams: Vec<CameraConfig> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| CameraConfig {
            key: format!("cam{}", i + 1),
            url: u.parse().expect("camsim url"),
            username: None,
            password: None,
        })
        .collect();

    let dir = tempfile::tempdir()?;
    let db = TestDb::sqlite(dir.path()).await?;
    let mut config = RecorderConfig::new(dir.path().join("store"));
    config.rotate_interval_s = 10;
    let clock = Arc::new(SystemClock);
    let rec = Recorder::new(
        db.pool.clone(),
        config,
        RetinaOpener::new(),
        Arc::new(NoEvents),
        clock.clone(),
    );
    let health = rec.health();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(rec.run(cams.clone(), stop_rx));

    // Warm up: every camera delivering frames.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = clock.now_90k();
        let all = {
            let h = health.lock().map_err(|_| "poisoned")?;
            cams.iter().all(|c| {
                h.last_seen_90k(&c.key)
                    .is_some_and(|t| now - t < ms_to_90k(500))
                    && !h.is_down(&c.key)
            })
        };
        if all {
            break;
        }
        if Instant::now() > deadline {
            return Err("cameras did not all start within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // settle (connections, first segment)

    let (cpu0, _, _) = proc_self();
    let t0 = Instant::now();
    let mut rss_max = 0;
    let mut threads = 0;
    while t0.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, rss, th) = proc_self();
        rss_max = rss_max.max(rss);
        threads = threads.max(th);
    }
    let (cpu1, rss_end, _) = proc_self();
    let wall = t0.elapsed().as_secs_f64();
    stop_tx.send(true)?;
    let reports = task.await??;

    let cpu_pct = (cpu1 - cpu0) / wall * 100.0;
    let lost: u64 = reports.iter().map(|r| r.packets_lost).sum();
    let gaps: u64 = reports.iter().map(|r| r.gaps).sum();
    let sessions: u64 = reports.iter().map(|r| r.sessions).sum();
    let min_frames = reports.iter().map(|r| r.frames).min().unwrap_or(0);
    let segments: u64 = reports.iter().map(|r| r.segments).sum();
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    let check = strongroom_video::check::check(&db.pool, &dir.path().join("store"), true).await?;
    println!(
        "cameras={cameras} {w}x{h}@{fps} window={wall:.1}s cpu={cpu_pct:.2}% of one core \
         ({:.3}%/camera) rss_max={:.1}MiB rss_end={:.1}MiB threads={threads} \
         rtp_packets_lost={lost} gaps={gaps} sessions={sessions} min_frames_per_camera={min_frames} \
         segments={segments} MB={:.1} check_consistent={}",
        cpu_pct / cameras as f64,
        rss_max as f64 / 1048576.0,
        rss_end as f64 / 1048576.0,
        bytes as f64 / 1e6,
        check.is_consistent()
    );
    db.close().await?;
    Ok(())
}
