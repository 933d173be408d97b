//! Recorder behaviour with injected streams (the `Opener` seam): timestamp discontinuities, failing
//! cameras next to healthy ones, and shutdown with a segment open. Runs on SQLite and, when
//! configured, PostgreSQL.

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{EventLog, camera_gaps, camera_segments, poll_until, verify_segment_file};
use strongroom_video::clock::{Clock, ManualClock, secs_to_90k};
use strongroom_video::events::{ChannelEvents, VideoEvent};
use strongroom_video::index;
use strongroom_video::recorder::{CameraReport, Recorder, RecorderConfig, RecorderError};
use strongroom_video::source::{CameraConfig, Frame, FrameStream, H264Params, Opener, SourceError};
use strongroom_video::testing::TestDb;
use tokio::sync::watch;
use tokio::task::JoinHandle;

// A 1280x720 SPS and PPS as written by x264.
const SPS: &[u8] = &[
    0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
    0x10, 0x00, 0x00, 0x03, 0x01, 0xe0, 0xf1, 0x83, 0x19, 0x60,
];
const PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];

/// What a scripted camera does after its frames run out.
#[derive(Clone, Copy)]
enum Then {
    End,
    Hang,
}

struct Script {
    /// pts of each frame (15 fps = 6000 ticks); a key frame every `gop` frames.
    pts: Vec<i64>,
    gop: usize,
    then: Then,
}

struct FakeStream {
    frames: VecDeque<Frame>,
    then: Then,
    /// Simulated time: each delivered frame moves the clock to at least `T0 + pts`.
    clock: Arc<ManualClock>,
    /// Set to this camera's key once every scripted frame was consumed.
    drained: Arc<Mutex<std::collections::BTreeSet<String>>>,
    key: String,
}

impl FrameStream for FakeStream {
    async fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        match self.frames.pop_front() {
            Some(f) => {
                let t = T0 + f.pts_90k;
                if self.clock.now_90k() < t {
                    self.clock.set_90k(t);
                }
                Ok(Some(f))
            }
            None => {
                self.drained.lock().expect("lock").insert(self.key.clone());
                match self.then {
                    Then::End => Ok(None),
                    Then::Hang => std::future::pending().await,
                }
            }
        }
    }
}

/// Per camera: how many opens fail first, then the script.
struct FakeOpener {
    cams: Mutex<std::collections::BTreeMap<String, (u32, Script)>>,
    opens: AtomicU32,
    clock: Arc<ManualClock>,
    drained: Arc<Mutex<std::collections::BTreeSet<String>>>,
}

impl FakeOpener {
    fn new(
        cams: std::collections::BTreeMap<String, (u32, Script)>,
        clock: Arc<ManualClock>,
    ) -> Self {
        FakeOpener {
            cams: Mutex::new(cams),
            opens: AtomicU32::new(0),
            clock,
            drained: Arc::default(),
        }
    }
}

impl Opener for FakeOpener {
    type Stream = FakeStream;

    async fn open(&self, camera: &CameraConfig) -> Result<FakeStream, SourceError> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        let mut cams = self.cams.lock().expect("lock");
        let Some((fail_first, script)) = cams.get_mut(&camera.key) else {
            return Err(SourceError::Rtsp("404 Not Found".into()));
        };
        if *fail_first > 0 {
            *fail_first -= 1;
            return Err(SourceError::Rtsp("connection refused".into()));
        }
        let params = Arc::new(H264Params {
            sps: SPS.to_vec(),
            pps: PPS.to_vec(),
        });
        let frames = script
            .pts
            .iter()
            .enumerate()
            .map(|(i, &pts)| {
                let key = i % script.gop == 0;
                Frame {
                    data: vec![0, 0, 0, 3, if key { 0x65 } else { 0x41 }, i as u8, 7],
                    pts_90k: pts,
                    is_key: key,
                    loss: 0,
                    new_params: (i == 0).then(|| params.clone()),
                    // The camera's clock runs 10 s ahead of the server's.
                    camera_time_90k: Some(T0 + pts + secs_to_90k(10)),
                }
            })
            .collect();
        // The next open of this camera serves nothing (ends at once).
        let then = script.then;
        script.pts.clear();
        Ok(FakeStream {
            frames,
            then,
            clock: self.clock.clone(),
            drained: self.drained.clone(),
            key: camera.key.clone(),
        })
    }
}

fn cam(key: &str) -> CameraConfig {
    CameraConfig {
        key: key.into(),
        url: format!("rtsp://127.0.0.1:9/{key}").parse().expect("url"),
        username: None,
        password: None,
    }
}

fn config(storage: std::path::PathBuf) -> RecorderConfig {
    RecorderConfig {
        rotate_interval_s: 2,
        backoff_initial_ms: 10,
        backoff_max_ms: 40,
        ..RecorderConfig::new(storage)
    }
}

const T0: i64 = 1_800_000_000 * 90_000;

/// A recorder on `opener` writing into `db` and under `storage`.
fn recorder<O: Opener>(
    db: &TestDb,
    storage: &std::path::Path,
    opener: O,
    sink: Arc<ChannelEvents>,
    clock: Arc<ManualClock>,
) -> Recorder<O, ChannelEvents, ManualClock> {
    Recorder::new(
        db.pool.clone(),
        config(storage.to_owned()),
        opener,
        sink,
        clock,
    )
}

/// Asks the recorder `task` to stop and waits (bounded) for its reports.
async fn stop(
    stop_tx: &watch::Sender<bool>,
    task: JoinHandle<Result<Vec<CameraReport>, RecorderError>>,
) -> Vec<CameraReport> {
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops")
        .expect("join")
        .expect("run")
}

#[tokio::test]
async fn discontinuity_failing_camera_and_shutdown_with_open_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    for db in TestDb::all(dir.path()).await.expect("dbs") {
        let label = db.label;
        let storage = dir.path().join(format!("store-{label}"));
        // "jump": 3 s of 15 fps, a 4 s hole in the RTP time, 3 s more; gop 15 (1 s).
        let mut jump: Vec<i64> = (0..45).map(|i| i * 6000).collect();
        jump.extend((0..45).map(|i| 45 * 6000 + secs_to_90k(4) + i * 6000));
        // "hang": 5 s of frames, then the connection stays up with nothing more (shutdown closes it).
        let hang: Vec<i64> = (0..75).map(|i| i * 6000).collect();
        let mut cams = std::collections::BTreeMap::new();
        cams.insert(
            "jump".to_owned(),
            (
                0,
                Script {
                    pts: jump,
                    gop: 15,
                    then: Then::End,
                },
            ),
        );
        cams.insert(
            "hang".to_owned(),
            (
                3,
                Script {
                    pts: hang,
                    gop: 15,
                    then: Then::Hang,
                },
            ),
        );
        let clock = Arc::new(ManualClock::new(T0));
        let opener = FakeOpener::new(cams, clock.clone());
        let drained = opener.drained.clone();
        let (sink, rx) = ChannelEvents::new();
        let mut events = EventLog::new(rx);
        let rec = recorder(&db, &storage, opener, Arc::new(sink), clock.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(rec.run(vec![cam("jump"), cam("hang"), cam("missing")], stop_rx));

        // "jump": the pause inside the session becomes a gap with exact bounds.
        let jump_gap = events
            .wait_for(
                "jump gap",
                Duration::from_secs(10),
                |e| matches!(e, VideoEvent::GapRecorded { camera, .. } if camera == "jump"),
            )
            .await;
        let VideoEvent::GapRecorded {
            start_90k,
            end_90k,
            reason,
            ..
        } = jump_gap
        else {
            unreachable!()
        };
        assert_eq!(
            start_90k,
            T0 + 45 * 6000,
            "{label}: gap starts after the 45th frame"
        );
        assert_eq!(
            end_90k,
            T0 + 45 * 6000 + secs_to_90k(4),
            "{label}: gap ends at the next frame"
        );
        assert_eq!(reason, "frames stopped");

        // "hang": three refused opens, then 5 s of frames, then silence until shutdown.
        poll_until("scripts consumed", Duration::from_secs(10), || async {
            let d = drained.lock().expect("lock");
            (d.contains("jump") && d.contains("hang")).then_some(())
        })
        .await;
        // Time passes with "missing" still refusing: the health monitor reports it down.
        clock.advance_90k(secs_to_90k(5));
        events
            .wait_for(
                "missing down",
                Duration::from_secs(5),
                |e| matches!(e, VideoEvent::CameraDown { camera, .. } if camera == "missing"),
            )
            .await;
        let reports = stop(&stop_tx, task).await;
        events.drain();
        let hang = reports
            .iter()
            .find(|r| r.camera == "hang")
            .expect("hang report");
        assert_eq!(hang.open_failures, 3, "{label}");
        assert_eq!(
            hang.frames_written, 75,
            "{label}: every frame indexed, the held-back one too"
        );
        let segs = camera_segments(&db.pool, "hang").await;
        assert_eq!(segs.iter().map(|s| s.frame_count).sum::<i64>(), 75);
        assert_eq!(
            segs.last().expect("seg").end_time_90k() - segs[0].start_time_90k,
            75 * 6000,
            "{label}: shutdown indexed everything up to the last frame"
        );
        for s in &segs {
            verify_segment_file(&storage, s);
            assert_eq!((s.width, s.height), (1280, 720));
        }
        let jump = reports
            .iter()
            .find(|r| r.camera == "jump")
            .expect("jump report");
        assert_eq!(jump.frames, 90);
        assert_eq!(
            jump.frames_written, 90,
            "{label}: both runs start on a key frame"
        );
        let jsegs = camera_segments(&db.pool, "jump").await;
        assert!(
            jsegs.iter().all(|s| s.fps_x1000 == 15_000),
            "{label}: {jsegs:?}"
        );
        let missing = reports
            .iter()
            .find(|r| r.camera == "missing")
            .expect("missing report");
        assert!(missing.open_failures >= 3 && missing.segments == 0);
        // A camera that never connected: its outage is a gap from the first refusal to shutdown.
        let gaps = camera_gaps(&db.pool, "missing").await;
        assert_eq!(gaps.len(), 1, "{label}: {gaps:?}");
        assert!(
            gaps[0].reason.starts_with("connect failed"),
            "{}",
            gaps[0].reason
        );
        assert_eq!(gaps[0].end_90k, clock.now_90k());
        assert!(
            events
                .seen
                .iter()
                .any(|e| matches!(e, VideoEvent::CameraDown { camera, .. } if camera == "missing")),
            "{label}: never-connected camera reported down"
        );
        db.close().await.expect("close");
    }
}

#[tokio::test]
async fn duplicate_camera_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::sqlite(dir.path()).await.expect("db");
    let opener = FakeOpener::new(Default::default(), Arc::new(ManualClock::new(T0)));
    let (sink, _rx) = ChannelEvents::new();
    let rec = recorder(
        &db,
        &dir.path().join("store"),
        opener,
        Arc::new(sink),
        Arc::new(ManualClock::new(T0)),
    );
    let (_tx, rx) = watch::channel(false);
    let r = rec.run(vec![cam("a"), cam("b"), cam("a")], rx).await;
    assert!(matches!(
        r,
        Err(strongroom_video::recorder::RecorderError::Config(_))
    ));
    db.close().await.expect("close");
}

/// The camera list changes while the recorder runs: an added camera records, a removed one
/// finishes its open segment and stops, and an unchanged one records on untouched.
#[tokio::test]
async fn cameras_added_and_removed_while_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    for db in TestDb::all(dir.path()).await.expect("dbs") {
        let label = db.label;
        let storage = dir.path().join(format!("upd-{label}"));
        let script = |n: i64| Script {
            pts: (0..n).map(|i| i * 6000).collect(),
            gop: 15,
            then: Then::Hang,
        };
        let mut cams = std::collections::BTreeMap::new();
        cams.insert("stay".to_owned(), (0, script(30)));
        cams.insert("gone".to_owned(), (0, script(30)));
        cams.insert("new".to_owned(), (0, script(30)));
        let clock = Arc::new(ManualClock::new(T0));
        let opener = FakeOpener::new(cams, clock.clone());
        let drained = opener.drained.clone();
        let (sink, _rx) = ChannelEvents::new();
        let rec = recorder(&db, &storage, opener, Arc::new(sink), clock.clone());
        let (list_tx, list_rx) = watch::channel(vec![cam("stay"), cam("gone")]);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(rec.run_updating(list_rx, stop_rx));
        poll_until("first two drained", Duration::from_secs(10), || async {
            let d = drained.lock().expect("lock");
            (d.contains("stay") && d.contains("gone")).then_some(())
        })
        .await;
        assert!(
            !drained.lock().expect("lock").contains("new"),
            "{label}: a camera not in the list was opened"
        );

        // "gone" leaves, "new" arrives; "stay" is not restarted.
        list_tx
            .send(vec![cam("stay"), cam("new")])
            .expect("send list");
        poll_until("new drained", Duration::from_secs(10), || async {
            drained.lock().expect("lock").contains("new").then_some(())
        })
        .await;
        // Leaving finished "gone"'s open segment: all its 30 frames are indexed.
        let gone = poll_until("gone indexed", Duration::from_secs(10), || async {
            let segs = camera_segments(&db.pool, "gone").await;
            (segs.iter().map(|s| s.frame_count).sum::<i64>() == 30).then_some(segs)
        })
        .await;
        for s in &gone {
            verify_segment_file(&storage, s);
        }
        // A list with a key twice is refused; what records keeps recording.
        list_tx
            .send(vec![cam("stay"), cam("stay")])
            .expect("send list");
        let reports = stop(&stop_tx, task).await;
        let names: Vec<&str> = reports.iter().map(|r| r.camera.as_str()).collect();
        assert_eq!(names.len(), 3, "{label}: {names:?}");
        for (camera, frames) in [("stay", 30), ("gone", 30), ("new", 30)] {
            let r = reports
                .iter()
                .find(|r| r.camera == camera)
                .unwrap_or_else(|| panic!("{label}: no report for {camera}"));
            assert_eq!(r.frames_written, frames, "{label}: {camera}");
            assert_eq!(r.sessions, 1, "{label}: {camera} opened once");
        }
        db.close().await.expect("close");
    }
}

/// A stream whose frames the test hands over one batch at a time.
struct GatedStream {
    rx: tokio::sync::mpsc::UnboundedReceiver<Frame>,
    clock: Arc<ManualClock>,
}

impl FrameStream for GatedStream {
    async fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        match self.rx.recv().await {
            Some(f) => {
                let t = T0 + f.pts_90k;
                if self.clock.now_90k() < t {
                    self.clock.set_90k(t);
                }
                Ok(Some(f))
            }
            None => std::future::pending().await,
        }
    }
}

/// The first open gets the gated frames; any reopen gets a stream with none (the test asserts
/// there is none).
struct GatedOpener {
    rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Frame>>>,
    clock: Arc<ManualClock>,
}

impl Opener for GatedOpener {
    type Stream = GatedStream;

    async fn open(&self, _camera: &CameraConfig) -> Result<GatedStream, SourceError> {
        let rx = self.rx.lock().expect("lock").take().unwrap_or_else(|| {
            let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
            rx
        });
        Ok(GatedStream {
            rx,
            clock: self.clock.clone(),
        })
    }
}

/// Camera "g" recording on a [`GatedOpener`]: the handles a test drives and watches it with.
struct Gated {
    frames_tx: tokio::sync::mpsc::UnboundedSender<Frame>,
    events: EventLog,
    sink: Arc<ChannelEvents>,
    clock: Arc<ManualClock>,
    stop_tx: watch::Sender<bool>,
    task: JoinHandle<Result<Vec<CameraReport>, RecorderError>>,
}

impl Gated {
    fn start(db: &TestDb, storage: &std::path::Path) -> Self {
        let clock = Arc::new(ManualClock::new(T0));
        let (frames_tx, frames_rx) = tokio::sync::mpsc::unbounded_channel();
        let opener = GatedOpener {
            rx: Mutex::new(Some(frames_rx)),
            clock: clock.clone(),
        };
        let (sink, rx) = ChannelEvents::new();
        let sink = Arc::new(sink);
        let rec = recorder(db, storage, opener, sink.clone(), clock.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(rec.run(vec![cam("g")], stop_rx));
        Gated {
            frames_tx,
            events: EventLog::new(rx),
            sink,
            clock,
            stop_tx,
            task,
        }
    }
}

/// Waits (each step within `timeout`) until writing is restored after a storage trouble and a
/// segment starting at gated frame `frame` or later is written.
async fn wait_writes_resumed(events: &mut EventLog, frame: i64, timeout: Duration) {
    events
        .wait_for("write restored", timeout, |e| {
            matches!(e, VideoEvent::WriteRestored { .. })
        })
        .await;
    events
        .wait_for(&format!("a segment from frame {frame}"), timeout, |e| {
            matches!(e, VideoEvent::SegmentWritten { start_time_90k, .. } if *start_time_90k >= T0 + frame * 6000)
        })
        .await;
}

fn gated_frame(i: i64) -> Frame {
    let key = i % 15 == 0;
    Frame {
        data: vec![
            0,
            0,
            0,
            3,
            if key { 0x65 } else { 0x41 },
            (i % 251) as u8,
            7,
        ],
        pts_90k: i * 6000,
        is_key: key,
        loss: 0,
        new_params: (i == 0).then(|| {
            Arc::new(H264Params {
                sps: SPS.to_vec(),
                pps: PPS.to_vec(),
            })
        }),
        camera_time_90k: None,
    }
}

/// Storage that fails under a recording camera is one storage trouble, not a camera failure:
/// the session stays up (no reconnect, no camera down), the failure is reported once however
/// many writes fail, recording resumes at the next key frame once the storage is back, that is
/// reported once, and the lost span is a gap in the index.
#[tokio::test]
async fn a_storage_failure_is_one_trouble_and_the_camera_stays_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::sqlite(dir.path()).await.expect("db");
    let storage = dir.path().join("gated");
    let Gated {
        frames_tx,
        mut events,
        stop_tx,
        task,
        ..
    } = Gated::start(&db, &storage);
    let send = |from: i64, to: i64| {
        for i in from..to {
            frames_tx.send(gated_frame(i)).expect("send frame");
        }
    };
    send(0, 45);
    events
        .wait_for("first segment", Duration::from_secs(10), |e| {
            matches!(e, VideoEvent::SegmentWritten { .. })
        })
        .await;

    // The camera's directory becomes unusable: every new segment file fails.
    let id = index::camera_id(&db.pool, "g").await.unwrap().unwrap();
    let cam_dir = storage.join(id.to_string());
    std::fs::remove_dir_all(&cam_dir).expect("remove dir");
    std::fs::write(&cam_dir, b"not a directory").expect("block dir");
    send(45, 150);
    events
        .wait_for("write failed", Duration::from_secs(10), |e| {
            matches!(e, VideoEvent::WriteFailed { .. })
        })
        .await;
    // Storage comes back; the next key frame starts a segment again.
    std::fs::remove_file(&cam_dir).expect("unblock");
    std::fs::create_dir_all(&cam_dir).expect("dir again");
    send(150, 240);
    wait_writes_resumed(&mut events, 150, Duration::from_secs(10)).await;
    let reports = stop(&stop_tx, task).await;
    events.drain();
    let count = |f: fn(&VideoEvent) -> bool| events.seen.iter().filter(|e| f(e)).count();
    assert_eq!(
        count(|e| matches!(e, VideoEvent::WriteFailed { .. })),
        1,
        "{:#?}",
        events.seen
    );
    assert_eq!(count(|e| matches!(e, VideoEvent::WriteRestored { .. })), 1);
    assert_eq!(
        count(|e| matches!(e, VideoEvent::CameraDown { .. })),
        0,
        "the camera never went down: {:#?}",
        events.seen
    );
    assert_eq!(reports[0].sessions, 1, "no reconnect");
    assert!(reports[0].write_failures >= 1);
    let gaps = index::gaps_in_range(&db.pool, id, i64::MIN / 2, i64::MAX / 2)
        .await
        .unwrap();
    assert!(
        gaps.iter().any(|g| g.reason.contains("write")),
        "the lost span is a gap: {gaps:?}"
    );
    db.close().await.expect("close");
}

/// A tmpfs of `mb` MiB mounted at `path` (root only); unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(path: &std::path::Path, mb: u32) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(path.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A full disk does not stop recording: on a 20 MiB file system with a 6 MiB reserve, the
/// recorder fills the disk, the write failure is one storage trouble, the space check purges the
/// oldest footage not under hold (inside retention, so it is reported as a retention violation),
/// recording resumes, and the held segment is still there.
#[tokio::test]
async fn a_full_disk_purges_the_oldest_unheld_footage_and_recording_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = dir.path().join("small");
    let Some(_disk) = SmallDisk::mount(&storage, 20) else {
        println!("SKIP: cannot mount a tmpfs here (needs root)");
        return;
    };
    let db = TestDb::sqlite(dir.path()).await.expect("db");
    let Gated {
        frames_tx,
        mut events,
        sink,
        clock,
        stop_tx,
        task,
    } = Gated::start(&db, &storage);
    let policy = strongroom_video::retention::RetentionPolicy {
        retention_days: 90,
        reserve_bytes: 6 << 20,
        max_keep_days: None,
    };
    let retention = tokio::spawn(strongroom_video::retention::run_loop_with(
        db.pool.clone(),
        storage.clone(),
        policy,
        clock.clone(),
        sink.clone(),
        3_600,
        100,
        stop_tx.subscribe(),
    ));
    // 100 KiB frames, 15 fps: a 2 s segment is 3 MiB.
    let big = |i: i64| {
        let mut f = gated_frame(i);
        // One NAL unit of 100 KiB (AVCC: a 4-byte length, then the unit).
        let nal_len: u32 = 100 * 1024;
        let mut data = nal_len.to_be_bytes().to_vec();
        data.push(f.data[4]);
        data.resize(4 + nal_len as usize, 0x5a);
        f.data = data;
        f
    };
    for i in 0..45 {
        frames_tx.send(big(i)).expect("send");
    }
    let first = events
        .wait_for("first segment", Duration::from_secs(10), |e| {
            matches!(e, VideoEvent::SegmentWritten { .. })
        })
        .await;
    let VideoEvent::SegmentWritten {
        start_time_90k,
        duration_90k,
        ..
    } = first
    else {
        unreachable!()
    };
    index::create_hold(
        &db.pool,
        &index::NewHold {
            cameras: vec!["g".into()],
            start_90k: start_time_90k,
            end_90k: start_time_90k + duration_90k,
            reason: "incident".into(),
            reference: "IR-1".into(),
            created_by: "user:test".into(),
        },
        clock.now_90k(),
    )
    .await
    .expect("hold");
    // Far more than the disk holds.
    for i in 45..450 {
        frames_tx.send(big(i)).expect("send");
    }
    events
        .wait_for("disk full", Duration::from_secs(20), |e| {
            matches!(e, VideoEvent::WriteFailed { .. })
        })
        .await;
    events
        .wait_for("a purge", Duration::from_secs(20), |e| {
            matches!(e, VideoEvent::RetentionViolation { .. })
        })
        .await;
    // After the purge the camera goes on at a camera's pace (100 fps of 100 KiB, 10 MB/s):
    // the 100 ms space check keeps up, as it does with real cameras. (The burst above fills
    // the disk in milliseconds, faster than any camera.)
    let mut pace = tokio::time::interval(Duration::from_millis(10));
    for i in 450..540 {
        pace.tick().await;
        frames_tx.send(big(i)).expect("send");
    }
    wait_writes_resumed(&mut events, 450, Duration::from_secs(20)).await;
    let reports = stop(&stop_tx, task).await;
    let _ = retention.await;
    events.drain();
    assert_eq!(reports[0].sessions, 1, "the camera was never reconnected");
    assert!(
        !events
            .seen
            .iter()
            .any(|e| matches!(e, VideoEvent::CameraDown { .. })),
        "a full disk is not a camera failure"
    );
    let segs = camera_segments(&db.pool, "g").await;
    assert!(
        segs.iter().any(|s| s.start_time_90k == start_time_90k),
        "the held segment survived the purge"
    );
    db.close().await.expect("close");
}
