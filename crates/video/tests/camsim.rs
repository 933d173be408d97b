//! Recording against the real camera simulator (camsim.py: GStreamer RTSP server + x264), on SQLite
//! and, when `STRONGROOM_TEST_DATABASE_URL` is set, PostgreSQL at the same time (one recorder per
//! database, both watching the same cameras).

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{
    Camsim, EventLog, camera_gaps, camera_segments, poll_until, start_camsim, verify_segment_file,
};
use strongroom_video::clock::{Clock, SystemClock, secs_to_90k};
use strongroom_video::events::{ChannelEvents, VideoEvent};
use strongroom_video::index;
use strongroom_video::recorder::{CameraReport, Recorder, RecorderConfig};
use strongroom_video::source::{CameraConfig, RetinaOpener};
use strongroom_video::testing::TestDb;
use tokio::sync::watch;
use tokio::task::JoinHandle;

type RunResult = Result<Vec<CameraReport>, strongroom_video::recorder::RecorderError>;

struct Running {
    db: TestDb,
    storage: PathBuf,
    events: EventLog,
    task: JoinHandle<RunResult>,
}

fn cameras(urls: &[String]) -> Vec<CameraConfig> {
    urls.iter()
        .enumerate()
        .map(|(i, u)| CameraConfig {
            key: format!("cam{}", i + 1),
            url: u.parse().expect("camsim url"),
            username: None,
            password: None,
        })
        .collect()
}

fn test_config(storage: PathBuf) -> RecorderConfig {
    RecorderConfig {
        rotate_interval_s: 3,
        backoff_initial_ms: 250,
        backoff_max_ms: 1_000,
        connect_timeout_ms: 5_000,
        ..RecorderConfig::new(storage)
    }
}

/// camsim serving `streams` cameras of 640x360 at 15 fps with a key frame every second, plus
/// `extra` arguments (split on whitespace).
fn camsim_640x360(streams: usize, extra: &str) -> Option<Camsim> {
    let mut args = vec![
        "--width", "640", "--height", "360", "--fps", "15", "--keyint", "15",
    ];
    args.extend(extra.split_whitespace());
    start_camsim(streams, &args)
}

/// A recorder of the camsim cameras at `urls` on `db`, writing under `storage`.
fn start_recorder(
    db: TestDb,
    storage: PathBuf,
    urls: &[String],
    shutdown: &watch::Receiver<bool>,
) -> Running {
    let (sink, rx) = ChannelEvents::new();
    let rec = Recorder::new(
        db.pool.clone(),
        test_config(storage.clone()),
        RetinaOpener::new(),
        Arc::new(sink),
        Arc::new(SystemClock),
    );
    Running {
        db,
        storage,
        events: EventLog::new(rx),
        task: tokio::spawn(rec.run(cameras(urls), shutdown.clone())),
    }
}

async fn start_recorders(
    dir: &std::path::Path,
    urls: &[String],
    shutdown: &watch::Receiver<bool>,
) -> Vec<Running> {
    let mut out = Vec::new();
    for db in TestDb::all(dir).await.expect("test databases") {
        let storage = dir.join(format!("store-{}", db.label));
        out.push(start_recorder(db, storage, urls, shutdown));
    }
    out
}

async fn wait_segments(r: &Running, key: &str, n: usize) {
    let what = format!("{n} segments of {key} on {}", r.db.label);
    poll_until(&what, Duration::from_secs(40), || async {
        (camera_segments(&r.db.pool, key).await.len() >= n).then_some(())
    })
    .await;
}

async fn stop(r: Running) -> (TestDb, PathBuf, EventLog, Vec<CameraReport>) {
    let reports = tokio::time::timeout(Duration::from_secs(20), r.task)
        .await
        .expect("recorder stops within 20 s of shutdown")
        .expect("recorder task")
        .expect("recorder result");
    let mut events = r.events;
    events.drain();
    (r.db, r.storage, events, reports)
}

/// Segments of one session follow each other exactly.
fn assert_contiguous(label: &str, segs: &[index::SegmentRow]) {
    for w in segs.windows(2) {
        assert_eq!(
            w[1].start_time_90k,
            w[0].end_time_90k(),
            "{label}: segment {} starts where {} ends",
            w[1].seq,
            w[0].seq
        );
    }
}

/// The camsim tests run one at a time: each runs live H.264 encoders, and two tests' encoders
/// on a 2-core machine starve each other into pauses the health monitor rightly calls gaps.
static ONE_CAMSIM_TEST_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_camsim_cameras_into_verified_segments() {
    let _one_at_a_time = ONE_CAMSIM_TEST_AT_A_TIME.lock().await;
    let Some(cs) = camsim_640x360(3, "--duration 90") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (stop_tx, stop_rx) = watch::channel(false);
    let runs = start_recorders(dir.path(), &cs.urls, &stop_rx).await;
    for r in &runs {
        for key in ["cam1", "cam2", "cam3"] {
            wait_segments(r, key, 2).await;
        }
    }
    let stop_90k = SystemClock.now_90k();
    stop_tx.send(true).expect("shutdown");
    for r in runs {
        let (db, storage, events, reports) = stop(r).await;
        let label = db.label;
        for key in ["cam1", "cam2", "cam3"] {
            let segs = camera_segments(&db.pool, key).await;
            let gaps = camera_gaps(&db.pool, key).await;
            assert!(
                gaps.is_empty(),
                "{label} {key}: {gaps:?} {:?}",
                segs.iter()
                    .map(|s| (s.start_time_90k, s.duration_90k, s.frame_count))
                    .collect::<Vec<_>>()
            );
            assert!(segs.len() >= 3, "{label} {key}: {} segments", segs.len());
            assert_contiguous(label, &segs);
            for s in &segs {
                verify_segment_file(&storage, s);
                assert_eq!(
                    (s.width, s.height),
                    (640, 360),
                    "{label} {key}: resolution from SPS"
                );
                if s.duration_90k >= secs_to_90k(1) {
                    assert!(
                        (13_500..=16_500).contains(&s.fps_x1000),
                        "{label} {key} seg {}: measured fps×1000 {}",
                        s.seq,
                        s.fps_x1000
                    );
                }
            }
            for s in &segs[..segs.len() - 1] {
                assert!(
                    s.duration_90k >= secs_to_90k(3),
                    "rotated after 3 s, on a key frame"
                );
                assert!(
                    s.duration_90k <= secs_to_90k(5),
                    "rotated at the first key frame after 3 s"
                );
            }
            // Normal shutdown: the open segment was finished and indexed, up to the stop.
            let last = segs.last().expect("segments");
            assert!(
                last.end_time_90k() >= stop_90k - secs_to_90k(1),
                "{label} {key}: last segment ends {} s before shutdown",
                (stop_90k - last.end_time_90k()) as f64 / 90_000.0
            );
            let rep = reports.iter().find(|r| r.camera == key).expect("report");
            let written: i64 = segs.iter().map(|s| s.frame_count).sum();
            assert_eq!(
                written as u64, rep.frames_written,
                "{label} {key}: every received frame after the first key frame is indexed"
            );
            assert!(
                rep.frames - rep.frames_written < 30,
                "{label} {key}: at most one GOP skipped at start"
            );
            assert_eq!(rep.write_failures, 0);
            if let Some(d) = rep.last_clock_drift_ms {
                // camsim stamps RTCP sender reports from the same host clock.
                assert!(d.abs() < 1_000, "{label} {key}: clock drift {d} ms");
            }
            eprintln!(
                "{label} {key}: camera clock drift {:?} ms",
                rep.last_clock_drift_ms
            );
            assert!(camera_gaps(&db.pool, key).await.is_empty());
        }
        assert!(
            events
                .seen
                .iter()
                .any(|e| matches!(e, VideoEvent::SegmentWritten { .. }))
        );
        assert!(
            !events
                .seen
                .iter()
                .any(|e| matches!(e, VideoEvent::CameraDown { .. })),
            "{label}: {:?}",
            events.seen
        );
        db.close().await.expect("close db");
    }
    drop(cs);
}

fn down_of<'a>(key: &'a str) -> impl Fn(&VideoEvent) -> bool + 'a {
    move |e| matches!(e, VideoEvent::CameraDown { camera, .. } if camera == key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_failures_are_detected_within_5s_and_gaps_recorded() {
    let _one_at_a_time = ONE_CAMSIM_TEST_AT_A_TIME.lock().await;
    let Some(mut cs) = camsim_640x360(3, "--one-encoder --stdin-control --duration 90") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut runs = start_recorders(dir.path(), &cs.urls, &stop_rx).await;
    for r in &runs {
        for key in ["cam1", "cam2", "cam3"] {
            wait_segments(r, key, 1).await;
        }
    }
    // cam2: the camera drops the connection and refuses new ones; cam3: connection up, no frames.
    let fail_90k = SystemClock.now_90k();
    cs.control("close cam2");
    cs.control("freeze cam3");
    for r in &mut runs {
        for key in ["cam2", "cam3"] {
            let e = r
                .events
                .wait_for(&format!("{key} down"), Duration::from_secs(8), down_of(key))
                .await;
            let VideoEvent::CameraDown {
                onset_90k,
                detected_90k,
                ..
            } = e
            else {
                unreachable!()
            };
            assert!(
                detected_90k - fail_90k <= secs_to_90k(5),
                "{} {key}: detected {:.2} s after the failure",
                r.db.label,
                (detected_90k - fail_90k) as f64 / 90_000.0
            );
            assert!(onset_90k <= detected_90k && onset_90k >= fail_90k - secs_to_90k(1));
            eprintln!(
                "{} {key}: down detected {:.2} s after the failure (onset {:+.2} s)",
                r.db.label,
                (detected_90k - fail_90k) as f64 / 90_000.0,
                (onset_90k - fail_90k) as f64 / 90_000.0
            );
        }
    }
    let restore_90k = SystemClock.now_90k();
    cs.control("restore cam2");
    cs.control("restore cam3");
    for r in &mut runs {
        for key in ["cam2", "cam3"] {
            r.events
                .wait_for(
                    &format!("{key} gap"),
                    Duration::from_secs(15),
                    |e| matches!(e, VideoEvent::GapRecorded { camera, .. } if camera == key),
                )
                .await;
            r.events
                .wait_for(
                    &format!("{key} up"),
                    Duration::from_secs(5),
                    |e| matches!(e, VideoEvent::CameraUp { camera, .. } if camera == key),
                )
                .await;
        }
    }
    // One more segment after the outage, then stop.
    let after: Vec<usize> = {
        let mut v = Vec::new();
        for r in &runs {
            v.push(camera_segments(&r.db.pool, "cam2").await.len());
        }
        v
    };
    for (r, n) in runs.iter().zip(after) {
        wait_segments(r, "cam2", n + 1).await;
        wait_segments(r, "cam3", 3).await;
    }
    stop_tx.send(true).expect("shutdown");
    for r in runs {
        let (db, storage, events, _reports) = stop(r).await;
        let label = db.label;
        for key in ["cam2", "cam3"] {
            let gaps = camera_gaps(&db.pool, key).await;
            assert_eq!(gaps.len(), 1, "{label} {key}: one gap: {gaps:?}");
            let g = &gaps[0];
            let segs = camera_segments(&db.pool, key).await;
            for s in &segs {
                verify_segment_file(&storage, s);
            }
            // The gap starts exactly where a segment ends and ends exactly where the next starts.
            let before = segs.iter().position(|s| s.end_time_90k() == g.start_90k);
            let after = segs.iter().position(|s| s.start_time_90k == g.end_90k);
            assert!(
                before.is_some() && after.is_some(),
                "{label} {key}: gap {g:?} bounds match segments"
            );
            assert_eq!(after, before.map(|b| b + 1));
            assert!(
                g.start_90k >= fail_90k - secs_to_90k(1)
                    && g.start_90k <= fail_90k + secs_to_90k(1)
            );
            assert!(
                g.end_90k >= restore_90k && g.end_90k <= restore_90k + secs_to_90k(4),
                "{label} {key}: gap end {:.2} s after restore",
                (g.end_90k - restore_90k) as f64 / 90_000.0
            );
            let expect_reason = if key == "cam3" { "frames stopped" } else { "" };
            assert!(
                g.reason.contains(expect_reason),
                "{label} {key}: reason {}",
                g.reason
            );
            let up = events
                .seen
                .iter()
                .find(|e| matches!(e, VideoEvent::CameraUp { camera, .. } if camera == key))
                .expect("up");
            let VideoEvent::CameraUp { up_90k, .. } = up else {
                unreachable!()
            };
            assert!(*up_90k >= g.end_90k - secs_to_90k(1));
        }
        // cam1 never stopped: no gap, no down event, contiguous segments throughout.
        assert!(camera_gaps(&db.pool, "cam1").await.is_empty());
        assert!(
            !events.seen.iter().any(down_of("cam1")),
            "{label}: cam1 never down"
        );
        let segs1 = camera_segments(&db.pool, "cam1").await;
        assert_contiguous(label, &segs1);
        let last = segs1.last().expect("cam1 segments");
        assert!(segs1[0].start_time_90k < fail_90k && last.end_time_90k() > restore_90k);
        db.close().await.expect("close db");
    }
    drop(cs);
}

/// Child half of the SIGKILL test: records until killed. Does nothing unless the parent set the env.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child_recorder() {
    let Ok(db_url) = std::env::var("VIDEO_CRASH_CHILD_DB") else {
        return;
    };
    let schema = std::env::var("VIDEO_CRASH_CHILD_SCHEMA").ok();
    let store = std::env::var("VIDEO_CRASH_CHILD_STORE").expect("store");
    let urls: Vec<String> = std::env::var("VIDEO_CRASH_CHILD_URLS")
        .expect("urls")
        .split(',')
        .map(str::to_owned)
        .collect();
    let pool = strongroom_video::testing::connect(&db_url, schema.as_deref())
        .await
        .expect("connect");
    let (_tx, rx) = watch::channel(false);
    Recorder::new(
        pool,
        test_config(store.into()),
        RetinaOpener::new(),
        Arc::new(strongroom_video::events::NoEvents),
        Arc::new(SystemClock),
    )
    .run(cameras(&urls), rx)
    .await
    .expect("recorder");
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_leaves_every_indexed_segment_playable_and_restart_records_the_gap() {
    let _one_at_a_time = ONE_CAMSIM_TEST_AT_A_TIME.lock().await;
    let Some(cs) = camsim_640x360(2, "--one-encoder --duration 120") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    for db in TestDb::all(dir.path()).await.expect("dbs") {
        let label = db.label;
        let storage = dir.path().join(format!("store-{label}"));
        let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
        cmd.args(["crash_child_recorder", "--exact", "--nocapture"])
            .env("VIDEO_CRASH_CHILD_DB", &db.url)
            .env("VIDEO_CRASH_CHILD_STORE", &storage)
            .env("VIDEO_CRASH_CHILD_URLS", cs.urls.join(","))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(s) = &db.schema {
            cmd.env("VIDEO_CRASH_CHILD_SCHEMA", s);
        }
        let mut child = KillOnDrop(cmd.spawn().expect("spawn child recorder"));
        let probe = Running {
            db,
            storage: storage.clone(),
            events: EventLog::new(ChannelEvents::new().1),
            task: tokio::spawn(async { Ok(Vec::new()) }),
        };
        for key in ["cam1", "cam2"] {
            wait_segments(&probe, key, 3).await;
        }
        let db = probe.db;
        // Kill mid-segment: at least 1.5 s after the last indexed segment of cam1 ended.
        poll_until("cam1 mid-segment", Duration::from_secs(10), || async {
            let segs = camera_segments(&db.pool, "cam1").await;
            let end = segs.last().map_or(i64::MAX, |s| s.end_time_90k());
            (SystemClock.now_90k() - end >= secs_to_90k(3) / 2).then_some(())
        })
        .await;
        child.0.kill().expect("SIGKILL");
        child.0.wait().expect("reap");
        let kill_90k = SystemClock.now_90k();

        let report = strongroom_video::check::check(&db.pool, &storage, true)
            .await
            .expect("check");
        assert!(report.is_consistent(), "{label}: after SIGKILL: {report:?}");
        assert_eq!(report.missing_files.len(), 0);
        assert!(report.segments_checked >= 6);
        let mut before = Vec::new();
        for key in ["cam1", "cam2"] {
            let segs = camera_segments(&db.pool, key).await;
            for s in &segs {
                verify_segment_file(&storage, s);
            }
            before.push(segs.last().cloned().expect("segments"));
        }
        // The segments open at the kill are files without rows (allowed), nothing else.
        for f in &report.orphan_files {
            assert!(
                before
                    .iter()
                    .any(|l| *f == format!("{}/{:010}.seg", l.camera_id, l.seq + 1)),
                "{label}: unexpected orphan {f}"
            );
        }

        // Restart on the same index and storage: recording resumes and the outage is a gap.
        let (stop_tx, stop_rx) = watch::channel(false);
        let run = start_recorder(db, storage.clone(), &cs.urls, &stop_rx);
        for key in ["cam1", "cam2"] {
            let n = camera_segments(&run.db.pool, key).await.len();
            wait_segments(&run, key, n + 1).await;
        }
        stop_tx.send(true).expect("shutdown");
        let (db, storage, _events, _reports) = stop(run).await;
        for (key, last) in ["cam1", "cam2"].iter().zip(&before) {
            let gaps = camera_gaps(&db.pool, key).await;
            assert_eq!(gaps.len(), 1, "{label} {key}: {gaps:?}");
            assert_eq!(
                gaps[0].start_90k,
                last.end_time_90k(),
                "gap starts at the last durable frame"
            );
            assert_eq!(gaps[0].reason, "recorder offline");
            assert!(gaps[0].end_90k > kill_90k);
            let segs = camera_segments(&db.pool, key).await;
            let next = segs.iter().find(|s| s.seq > last.seq).expect("new segment");
            assert_eq!(
                next.start_time_90k, gaps[0].end_90k,
                "gap ends at the first new frame"
            );
            assert!(next.seq > last.seq + 1, "the orphan's number is not reused");
        }
        let report = strongroom_video::check::check(&db.pool, &storage, true)
            .await
            .expect("check");
        assert!(report.is_consistent(), "{label}: after restart: {report:?}");
        db.close().await.expect("close");
    }
    drop(cs);
}
