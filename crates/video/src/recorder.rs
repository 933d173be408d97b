//! The recorder: one tokio task per camera turning an RTSP stream into ~`rotate_interval_s` segment
//! files (rotated on a key frame), indexed once durable, plus exact gap rows whenever recording
//! stops; and a health task that reports cameras whose frames stop.
//!
//! Per camera: open (with timeout) → read frames (each with a timeout; silence = stall) → on any
//! end, finish and index the open segment, remember where recording stopped, back off exponentially
//! and reconnect. The first frame after a stop closes the gap with exact bounds. Cameras never share
//! state except the database pool and the health monitor, so one bad camera cannot stall another.
//!
//! Timing: each session anchors the RTP clock of its first frame to the server's wall clock; frame
//! times are anchor + RTP elapsed, so durations are the camera's and the start is the server's.
//! A frame's duration is known when the next frame arrives, so one frame is always held back.
//!
//! Shutdown (the `watch` flag turning true): every open segment is finished, fsynced and indexed
//! before [`Recorder::run`] returns: a normal restart loses nothing that was received.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::AnyPool;
use strongroom_media::segment::{SampleEntry, SegmentError, SegmentWriter, sync_dir};
use thiserror::Error;
use tokio::sync::watch;

use crate::clock::{Clock, ms_to_90k, secs_to_90k};
use crate::events::{GapReason, VideoEvent, VideoEvents};
use crate::health::{self, HealthMonitor, SharedHealth};
use crate::index::{self, GapRow, IndexError, SegmentRow};
use crate::source::{CameraConfig, Frame, FrameStream, H264Params, Opener};

/// Recorder settings. All durations carry their unit in the name.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Root of the segment files; each camera gets `<storage_dir>/<camera id>/`.
    pub storage_dir: PathBuf,
    /// Target segment length; a segment ends at the first key frame after this.
    pub rotate_interval_s: u32,
    /// Silence after which a session is considered stalled and reopened.
    pub frame_timeout_ms: u64,
    /// Limit for DESCRIBE/SETUP/PLAY.
    pub connect_timeout_ms: u64,
    /// First reconnect delay.
    pub backoff_initial_ms: u64,
    /// Longest reconnect delay.
    pub backoff_max_ms: u64,
    /// Health monitor threshold: a camera is down after this long without frames.
    pub down_after_ms: u64,
    /// Health evaluation period.
    pub health_tick_ms: u64,
    /// Emit [`VideoEvent::SegmentWritten`] for each segment.
    pub emit_segment_events: bool,
    /// Longest accepted interval between consecutive frames of a session; a longer pause (or a
    /// timestamp jump) ends the segment and is recorded as a gap.
    pub max_frame_interval_ms: u64,
    /// Camera clock vs server clock difference that raises [`VideoEvent::ClockDrift`].
    pub clock_drift_tolerance_ms: i64,
}

impl RecorderConfig {
    /// Production defaults: 60 s segments, 3 s stall/down threshold, 0.5 s → 2 s backoff (a camera
    /// that answers again records within 2 s: the gap is the outage, not the back-off).
    pub fn new(storage_dir: impl Into<PathBuf>) -> Self {
        RecorderConfig {
            storage_dir: storage_dir.into(),
            rotate_interval_s: 60,
            frame_timeout_ms: 3_000,
            connect_timeout_ms: 10_000,
            backoff_initial_ms: 500,
            backoff_max_ms: 2_000,
            down_after_ms: 3_000,
            health_tick_ms: 250,
            emit_segment_events: true,
            max_frame_interval_ms: 2_000,
            clock_drift_tolerance_ms: 2_000,
        }
    }
}

/// Recorder errors (per-camera trouble is handled inside; these stop the recorder).
#[derive(Debug, Error)]
pub enum RecorderError {
    /// The index failed at start-up.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The storage directory could not be prepared.
    #[error("storage {path}: {source}")]
    Storage {
        /// Directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Leftover deletes could not be finished.
    #[error(transparent)]
    Retention(#[from] crate::retention::RetentionError),
    /// The camera list is unusable (e.g. a key appears twice).
    #[error("configuration: {0}")]
    Config(String),
    /// A camera task panicked.
    #[error("camera task failed: {0}")]
    Task(String),
}

/// What one camera's task did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CameraReport {
    /// Camera key.
    pub camera: String,
    /// Frames received.
    pub frames: u64,
    /// Frames written to segments.
    pub frames_written: u64,
    /// RTP packets reported lost.
    pub packets_lost: u64,
    /// Segments indexed.
    pub segments: u64,
    /// Bytes indexed.
    pub bytes: u64,
    /// Sessions opened.
    pub sessions: u64,
    /// Failed opens.
    pub open_failures: u64,
    /// Gaps recorded.
    pub gaps: u64,
    /// Segment write or index failures.
    pub write_failures: u64,
    /// Latest camera-minus-server clock difference seen in RTCP sender reports, milliseconds.
    pub last_clock_drift_ms: Option<i64>,
}

/// The recorder for a set of cameras.
pub struct Recorder<O, E, C> {
    pool: AnyPool,
    config: Arc<RecorderConfig>,
    opener: Arc<O>,
    events: Arc<E>,
    clock: Arc<C>,
    health: SharedHealth,
}

impl<O: Opener, E: VideoEvents, C: Clock> Recorder<O, E, C> {
    /// A recorder writing into `pool` (already migrated with [`index::migrate`]).
    pub fn new(
        pool: AnyPool,
        config: RecorderConfig,
        opener: O,
        events: Arc<E>,
        clock: Arc<C>,
    ) -> Self {
        let down_after_90k =
            ms_to_90k(i64::try_from(config.down_after_ms).unwrap_or(i64::MAX / 90));
        Recorder {
            pool,
            config: Arc::new(config),
            opener: Arc::new(opener),
            events,
            clock,
            health: Arc::new(Mutex::new(HealthMonitor::new(down_after_90k))),
        }
    }

    /// The shared health monitor (for status pages).
    pub fn health(&self) -> SharedHealth {
        self.health.clone()
    }

    /// Records `cameras` until `shutdown` turns true (or its sender is dropped), then finishes every
    /// open segment and returns what each camera did.
    pub async fn run(
        self,
        cameras: Vec<CameraConfig>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Vec<CameraReport>, RecorderError> {
        let (_keep, cameras) = watch::channel(cameras);
        self.run_updating(cameras, shutdown).await
    }

    /// Records the cameras `cameras` holds, following its changes while it runs: a camera that
    /// appears starts recording, one that disappears (or whose URL or credentials change) finishes
    /// its open segment and stops (and starts again with the new settings); the others are not
    /// touched. Returns on `shutdown` as [`Recorder::run`] does.
    ///
    /// The first camera list must be valid (unique keys, indexable); a later invalid list is
    /// refused with an error log and the cameras already recording keep recording.
    pub async fn run_updating(
        self,
        mut cameras: watch::Receiver<Vec<CameraConfig>>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<Vec<CameraReport>, RecorderError> {
        let first = cameras.borrow_and_update().clone();
        check_unique(&first)?;
        std::fs::create_dir_all(&self.config.storage_dir).map_err(|source| {
            RecorderError::Storage {
                path: self.config.storage_dir.clone(),
                source,
            }
        })?;
        // Finish deletes a crash interrupted (garbage rows whose files may still exist).
        crate::retention::collect_garbage(&self.pool, &self.config.storage_dir).await?;
        let health_task = tokio::spawn(health::run_health(
            self.health.clone(),
            self.clock.clone(),
            self.events.clone(),
            self.config.health_tick_ms,
            shutdown.clone(),
        ));
        let mut running: BTreeMap<String, Running> = BTreeMap::new();
        let mut reports = Vec::new();
        let mut failure = None;
        for cam in first {
            let r = self.start_camera(cam).await?;
            running.insert(r.camera.key.clone(), r);
        }
        loop {
            let changed = tokio::select! {
                changed = cameras.changed() => changed.is_ok(),
                _ = shutdown.wait_for(|v| *v) => break,
            };
            if !changed {
                // Nobody can change the list any more: record it until shutdown.
                let _ = shutdown.wait_for(|v| *v).await;
                break;
            }
            let wanted = cameras.borrow_and_update().clone();
            if let Err(e) = check_unique(&wanted) {
                tracing::error!(error = %e, "camera list refused; the cameras recording keep recording");
                continue;
            }
            let stale: Vec<String> = running
                .iter()
                .filter(|(key, r)| !wanted.iter().any(|c| &c.key == *key && *c == r.camera))
                .map(|(key, _)| key.clone())
                .collect();
            for key in stale {
                if let Some(r) = running.remove(&key) {
                    let _ = r.stop.send(true);
                    match r.task.await {
                        Ok(report) => reports.push(report),
                        Err(e) => failure = Some(RecorderError::Task(e.to_string())),
                    }
                    health::lock(&self.health).unregister(&key);
                }
            }
            for cam in wanted {
                if running.contains_key(&cam.key) {
                    continue;
                }
                let key = cam.key.clone();
                match self.start_camera(cam).await {
                    Ok(r) => {
                        running.insert(key, r);
                    }
                    Err(e) => tracing::error!(camera = %key, error = %e, "camera not started"),
                }
            }
        }
        for r in running.values() {
            let _ = r.stop.send(true);
        }
        for (_, r) in running {
            match r.task.await {
                Ok(report) => reports.push(report),
                Err(e) => failure = Some(RecorderError::Task(e.to_string())),
            }
        }
        let _ = health_task.await;
        match failure {
            Some(e) => Err(e),
            None => Ok(reports),
        }
    }

    /// Indexes `cam` and starts its recording task.
    async fn start_camera(&self, cam: CameraConfig) -> Result<Running, RecorderError> {
        let camera_id =
            index::ensure_camera(&self.pool, &cam.key, cam.url.as_str(), self.clock.now_90k())
                .await?;
        let dir = self.config.storage_dir.join(camera_id.to_string());
        std::fs::create_dir_all(&dir).map_err(|source| RecorderError::Storage {
            path: dir.clone(),
            source,
        })?;
        let _ = sync_dir(&self.config.storage_dir);
        let next_seq = index::next_segment_seq(&self.pool, camera_id)
            .await?
            .max(max_file_seq(&dir) + 1);
        let gap_from = index::last_accounted_end(&self.pool, camera_id)
            .await?
            .map(|t| (t, GapReason::RecorderOffline));
        health::lock(&self.health).register(&cam.key, self.clock.now_90k());
        let task = CameraTask {
            pool: self.pool.clone(),
            config: self.config.clone(),
            opener: self.opener.clone(),
            events: self.events.clone(),
            clock: self.clock.clone(),
            health: self.health.clone(),
            report: CameraReport {
                camera: cam.key.clone(),
                ..CameraReport::default()
            },
            camera: cam.clone(),
            camera_id,
            dir,
            next_seq,
            gap_from,
            entry: None,
            params: None,
            seg: None,
            pending: None,
            last_duration_90k: 6_000,
            anchor: None,
            drift_alert: false,
            storage_trouble: false,
        };
        let (stop, stop_rx) = watch::channel(false);
        Ok(Running {
            camera: cam,
            stop,
            task: tokio::spawn(task.run(stop_rx)),
        })
    }
}

/// A camera being recorded by [`Recorder::run_updating`].
struct Running {
    camera: CameraConfig,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<CameraReport>,
}

/// Refuses a camera list with a key twice.
fn check_unique(cameras: &[CameraConfig]) -> Result<(), RecorderError> {
    let mut keys = std::collections::BTreeSet::new();
    match cameras.iter().find(|c| !keys.insert(c.key.as_str())) {
        Some(dup) => Err(RecorderError::Config(format!(
            "camera key {} appears twice",
            dup.key
        ))),
        None => Ok(()),
    }
}

/// Highest segment number among files already in `dir` (orphans from a crash are never overwritten).
fn max_file_seq(dir: &Path) -> i64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".seg")?.parse::<i64>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Relative path of a segment file.
pub fn segment_rel_path(camera_id: i64, seq: i64) -> String {
    format!("{camera_id}/{seq:010}.seg")
}

struct OpenSegment {
    writer: SegmentWriter,
    seq: i64,
    rel_path: String,
    start_time_90k: i64,
    sample_entry_id: i64,
    width: i64,
    height: i64,
}

struct Pending {
    data: Vec<u8>,
    time_90k: i64,
    /// Server clock when it arrived.
    arrival_90k: i64,
    is_key: bool,
}

enum SessionEnd {
    Shutdown,
    Lost(GapReason),
}

struct CameraTask<O, E, C> {
    pool: AnyPool,
    config: Arc<RecorderConfig>,
    opener: Arc<O>,
    events: Arc<E>,
    clock: Arc<C>,
    health: SharedHealth,
    report: CameraReport,
    camera: CameraConfig,
    camera_id: i64,
    dir: PathBuf,
    next_seq: i64,
    /// Where recording stopped and why; closed into a gap row by the next recorded frame.
    gap_from: Option<(i64, GapReason)>,
    /// Parameters of the cached sample entry, its id, width and height.
    entry: Option<(Arc<H264Params>, i64, i64, i64)>,
    params: Option<Arc<H264Params>>,
    seg: Option<OpenSegment>,
    pending: Option<Pending>,
    last_duration_90k: i64,
    /// (wall time, RTP time) of the session's first frame.
    anchor: Option<(i64, i64)>,
    /// True while a clock-drift alert is open.
    drift_alert: bool,
    /// Writes are failing (one storage trouble, reported once, until a segment starts again).
    storage_trouble: bool,
}

/// Waits for the shutdown flag; returns at once if it is already set or the sender is gone.
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

impl<O: Opener, E: VideoEvents, C: Clock> CameraTask<O, E, C> {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> CameraReport {
        let mut backoff_ms = self.config.backoff_initial_ms.max(1);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let open = tokio::select! {
                r = tokio::time::timeout(
                    Duration::from_millis(self.config.connect_timeout_ms),
                    self.opener.open(&self.camera),
                ) => r,
                _ = shutdown_requested(&mut shutdown) => break,
            };
            let stream = match open {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    self.report.open_failures += 1;
                    self.note_stop(GapReason::ConnectFailed(e.to_string()));
                    tracing::debug!(camera = %self.camera.key, "open failed: {e}");
                    if self.backoff(&mut shutdown, &mut backoff_ms).await {
                        break;
                    }
                    continue;
                }
                Err(_) => {
                    self.report.open_failures += 1;
                    self.note_stop(GapReason::ConnectFailed("timed out".into()));
                    if self.backoff(&mut shutdown, &mut backoff_ms).await {
                        break;
                    }
                    continue;
                }
            };
            self.report.sessions += 1;
            let frames_before = self.report.frames;
            let end = self.session(stream, &mut shutdown).await;
            let last_end = self.finish_segment().await;
            self.anchor = None;
            match end {
                SessionEnd::Shutdown => break,
                SessionEnd::Lost(reason) => {
                    tracing::info!(camera = %self.camera.key, "session ended: {}", reason.as_text());
                    health::lock(&self.health).on_lost(&self.camera.key, self.clock.now_90k());
                    if let Some(t) = last_end {
                        self.gap_from = Some((t, reason));
                    } else {
                        self.note_stop(reason);
                    }
                    if self.report.frames > frames_before {
                        backoff_ms = self.config.backoff_initial_ms.max(1);
                    }
                    if self.backoff(&mut shutdown, &mut backoff_ms).await {
                        break;
                    }
                }
            }
        }
        // Shutting down: a camera that is down at this moment gets its gap closed now.
        if let Some((start, reason)) = self.gap_from.take() {
            let now = self.clock.now_90k();
            if now > start {
                self.record_gap(start, now, reason).await;
            }
        }
        self.report
    }

    /// Remembers a stop with no segment to end it (e.g. a failed open): keeps the earliest start.
    fn note_stop(&mut self, reason: GapReason) {
        if self.gap_from.is_none() {
            self.gap_from = Some((self.clock.now_90k(), reason));
        }
    }

    /// Sleeps for the backoff (doubling it); returns true if shutdown was requested meanwhile.
    async fn backoff(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        backoff_ms: &mut u64,
    ) -> bool {
        let d = Duration::from_millis(*backoff_ms);
        *backoff_ms = (*backoff_ms * 2).min(self.config.backoff_max_ms.max(1));
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = shutdown_requested(shutdown) => true,
        }
    }

    async fn session(
        &mut self,
        mut stream: O::Stream,
        shutdown: &mut watch::Receiver<bool>,
    ) -> SessionEnd {
        let timeout = Duration::from_millis(self.config.frame_timeout_ms);
        loop {
            let next = tokio::select! {
                r = tokio::time::timeout(timeout, stream.next_frame()) => r,
                _ = shutdown_requested(shutdown) => return SessionEnd::Shutdown,
            };
            let frame = match next {
                Err(_) => return SessionEnd::Lost(GapReason::Stalled),
                Ok(Err(e)) => return SessionEnd::Lost(GapReason::StreamError(e.to_string())),
                Ok(Ok(None)) => return SessionEnd::Lost(GapReason::StreamEnded),
                Ok(Ok(Some(f))) => f,
            };
            if let Err(reason) = self.on_frame(frame).await {
                if let GapReason::WriteError(message) = reason {
                    // The storage failed, not the camera: give up the open segment (its span
                    // becomes a gap), keep the session, retry at the next key frame.
                    let lost_from = self.seg.take().map(|seg| {
                        let start = seg.start_time_90k;
                        let _ = seg.writer.abandon();
                        start
                    });
                    self.pending = None;
                    self.storage_failed(message, lost_from).await;
                    continue;
                }
                self.report.write_failures += 1;
                self.events
                    .emit(VideoEvent::WriteFailed {
                        camera: self.camera.key.clone(),
                        message: reason.as_text(),
                    })
                    .await;
                return SessionEnd::Lost(reason);
            }
        }
    }

    async fn on_frame(&mut self, frame: Frame) -> Result<(), GapReason> {
        let now = self.clock.now_90k();
        health::lock(&self.health).on_frame(&self.camera.key, now);
        self.report.frames += 1;
        self.report.packets_lost += u64::from(frame.loss);
        if let Some(cam_90k) = frame.camera_time_90k {
            self.observe_drift((cam_90k - now) / 90).await;
        }
        let mut params_changed = false;
        if let Some(p) = frame.new_params {
            params_changed = self.params.as_ref().is_some_and(|old| **old != *p);
            self.params = Some(p);
        }
        let (anchor_wall, anchor_pts) = *self.anchor.get_or_insert_with(|| {
            // Never start before the end of what is already recorded.
            let floor = self.gap_from.as_ref().map_or(i64::MIN, |g| g.0);
            (now.max(floor), frame.pts_90k)
        });
        let mut time_90k = anchor_wall + (frame.pts_90k - anchor_pts);
        if let Some(p) = self.pending.take() {
            let max_90k = ms_to_90k(
                i64::try_from(self.config.max_frame_interval_ms).unwrap_or(i64::MAX / 90),
            );
            let mut dur = time_90k - p.time_90k;
            let wall_gap_90k = now - p.arrival_90k;
            if !(1..=max_90k).contains(&dur) && wall_gap_90k <= max_90k {
                // The RTP time jumped while frames kept arriving (e.g. a stale first frame): trust
                // the arrival interval and re-anchor.
                tracing::debug!(camera = %self.camera.key, "rtp time jump of {dur}; re-anchoring");
                dur = wall_gap_90k.max(1);
                time_90k = p.time_90k + dur;
                self.anchor = Some((time_90k, frame.pts_90k));
            }
            if (1..=max_90k).contains(&dur) {
                self.last_duration_90k = dur;
                if let Some(seg) = self.seg.as_mut() {
                    let dur_u32 = u32::try_from(dur).unwrap_or(u32::MAX);
                    seg.writer
                        .append_frame(&p.data, dur_u32, p.is_key)
                        .map_err(|e| match e {
                            // The disk failed: storage trouble.
                            SegmentError::Io { .. } | SegmentError::Output(_) => {
                                GapReason::WriteError(e.to_string())
                            }
                            // The camera sent something unusable.
                            other => GapReason::StreamError(other.to_string()),
                        })?;
                    self.report.frames_written += 1;
                }
            } else {
                // Frames stopped for longer than allowed inside the session: close the segment at
                // the held-back frame, record the hole as a gap, restart timing from the wall clock.
                tracing::info!(camera = %self.camera.key, "no frames for {wall_gap_90k} (90 kHz)");
                self.pending = Some(p);
                let end = self.finish_segment().await;
                time_90k = end.map_or(now, |e| now.max(e));
                self.anchor = Some((time_90k, frame.pts_90k));
                if let Some(e) = end {
                    self.gap_from = Some((e, GapReason::Stalled));
                }
            }
        }
        if frame.is_key {
            let rotate_90k = secs_to_90k(i64::from(self.config.rotate_interval_s));
            let due = self.seg.as_ref().is_some_and(|s| {
                i64::try_from(s.writer.duration_90k()).unwrap_or(i64::MAX) >= rotate_90k
                    || params_changed
            });
            if due {
                self.finish_open_segment_only().await;
            }
        }
        if self.seg.is_none() {
            if !frame.is_key {
                return Ok(()); // a segment starts at a key frame
            }
            self.start_segment(time_90k).await?;
        }
        self.pending = Some(Pending {
            data: frame.data,
            time_90k,
            arrival_90k: now,
            is_key: frame.is_key,
        });
        Ok(())
    }

    async fn observe_drift(&mut self, drift_ms: i64) {
        self.report.last_clock_drift_ms = Some(drift_ms);
        let tol = self.config.clock_drift_tolerance_ms.max(1);
        let alert = if !self.drift_alert && drift_ms.abs() > tol {
            Some(false)
        } else if self.drift_alert && drift_ms.abs() <= tol / 2 {
            Some(true)
        } else {
            None
        };
        if let Some(in_tolerance) = alert {
            self.drift_alert = !in_tolerance;
            self.events
                .emit(VideoEvent::ClockDrift {
                    camera: self.camera.key.clone(),
                    drift_ms,
                    in_tolerance,
                })
                .await;
        }
    }

    async fn start_segment(&mut self, start_time_90k: i64) -> Result<(), GapReason> {
        let params = self
            .params
            .clone()
            .ok_or_else(|| GapReason::StreamError("no parameter sets before key frame".into()))?;
        let (entry_id, width, height) = match &self.entry {
            Some((p, id, w, h)) if **p == *params => (*id, *w, *h),
            _ => {
                let entry = SampleEntry::h264_from_parameter_sets(&params.sps, &params.pps)
                    .map_err(|e| GapReason::StreamError(format!("bad parameter sets: {e}")))?;
                let id = index::ensure_sample_entry(&self.pool, &entry)
                    .await
                    .map_err(|e| GapReason::WriteError(e.to_string()))?;
                let (w, h) = (i64::from(entry.width), i64::from(entry.height));
                self.entry = Some((params.clone(), id, w, h));
                (id, w, h)
            }
        };
        let mut tries = 0;
        let (writer, seq) = loop {
            let seq = self.next_seq;
            self.next_seq += 1;
            match SegmentWriter::create(self.dir.join(format!("{seq:010}.seg"))) {
                Ok(w) => break (w, seq),
                Err(SegmentError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists && tries < 100 =>
                {
                    tries += 1;
                }
                Err(e) => return Err(GapReason::WriteError(e.to_string())),
            }
        };
        if let Some((gap_start, reason)) = self.gap_from.take()
            && start_time_90k > gap_start
        {
            self.record_gap(gap_start, start_time_90k, reason).await;
        }
        if self.storage_trouble {
            self.storage_trouble = false;
            tracing::info!(camera = %self.camera.key, "writes succeed again");
            self.events
                .emit(VideoEvent::WriteRestored {
                    camera: self.camera.key.clone(),
                })
                .await;
        }
        self.seg = Some(OpenSegment {
            writer,
            seq,
            rel_path: segment_rel_path(self.camera_id, seq),
            start_time_90k,
            sample_entry_id: entry_id,
            width,
            height,
        });
        Ok(())
    }

    async fn record_gap(&mut self, start_90k: i64, end_90k: i64, reason: GapReason) {
        let row = GapRow {
            camera_id: self.camera_id,
            start_90k,
            end_90k,
            reason: reason.as_text(),
        };
        match index::insert_gap(&self.pool, &row).await {
            Ok(()) => {
                self.report.gaps += 1;
                self.events
                    .emit(VideoEvent::GapRecorded {
                        camera: self.camera.key.clone(),
                        start_90k,
                        end_90k,
                        reason: row.reason,
                    })
                    .await;
            }
            Err(e) => tracing::error!(camera = %self.camera.key, "cannot record gap: {e}"),
        }
    }

    /// Appends the held-back frame (with the last known duration), then finishes and indexes the
    /// open segment. Returns the end time of the recorded footage, if a segment was open.
    async fn finish_segment(&mut self) -> Option<i64> {
        if let Some(p) = self.pending.take()
            && let Some(seg) = self.seg.as_mut()
        {
            let dur = u32::try_from(self.last_duration_90k).unwrap_or(6_000);
            match seg.writer.append_frame(&p.data, dur, p.is_key) {
                Ok(_) => self.report.frames_written += 1,
                Err(e) => tracing::error!(camera = %self.camera.key, "append: {e}"),
            }
        }
        self.finish_open_segment_only().await
    }

    /// Finishes and indexes the open segment (without the held-back frame).
    async fn finish_open_segment_only(&mut self) -> Option<i64> {
        let seg = self.seg.take()?;
        if seg.writer.frame_count() == 0 {
            let _ = seg.writer.abandon();
            return None;
        }
        let OpenSegment {
            writer,
            seq,
            rel_path,
            start_time_90k,
            sample_entry_id,
            width,
            height,
        } = seg;
        let summary = match tokio::task::spawn_blocking(move || writer.finish()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                self.storage_failed(
                    format!("finish segment {rel_path}: {e}"),
                    Some(start_time_90k),
                )
                .await;
                return None;
            }
            Err(e) => {
                self.storage_failed(
                    format!("finish segment {rel_path}: {e}"),
                    Some(start_time_90k),
                )
                .await;
                return None;
            }
        };
        let duration_90k = i64::try_from(summary.duration_90k).unwrap_or(i64::MAX);
        let frame_count = i64::from(summary.frame_count);
        let fps_x1000 = if duration_90k > 0 {
            frame_count * 90_000 * 1000 / duration_90k
        } else {
            0
        };
        let row = SegmentRow {
            camera_id: self.camera_id,
            seq,
            start_time_90k,
            duration_90k,
            path: rel_path,
            bytes: i64::try_from(summary.bytes).unwrap_or(i64::MAX),
            sha256_hex: hex::encode(summary.sha256),
            frame_count,
            fps_x1000,
            width,
            height,
            sample_index: summary.sample_index.encode(),
            sample_entry_id,
        };
        if let Err(e) = index::insert_segment(&self.pool, &row).await {
            // The file stays as an orphan; `check` reports it.
            self.storage_failed(
                format!("index segment {}: {e}", row.path),
                Some(row.start_time_90k),
            )
            .await;
            return None;
        }
        self.report.segments += 1;
        self.report.bytes += summary.bytes;
        if self.config.emit_segment_events {
            self.events
                .emit(VideoEvent::SegmentWritten {
                    camera: self.camera.key.clone(),
                    seq,
                    start_time_90k,
                    duration_90k,
                    bytes: row.bytes,
                    sha256_hex: row.sha256_hex.clone(),
                    fps_x1000,
                    width,
                    height,
                })
                .await;
        }
        Some(row.end_time_90k())
    }

    /// A write failed. The storage is in trouble, not the camera: the trouble is reported once
    /// (until a segment starts again), each failure is counted, and the span from `lost_from_90k`
    /// (the start of the segment given up; now when none) becomes a gap once recording resumes.
    async fn storage_failed(&mut self, message: String, lost_from_90k: Option<i64>) {
        self.report.write_failures += 1;
        let from = lost_from_90k.unwrap_or_else(|| self.clock.now_90k());
        match &mut self.gap_from {
            Some((start, _)) if *start <= from => {}
            gap => *gap = Some((from, GapReason::WriteError(message.clone()))),
        }
        if !self.storage_trouble {
            self.storage_trouble = true;
            tracing::error!(camera = %self.camera.key, "{message}");
            self.events
                .emit(VideoEvent::WriteFailed {
                    camera: self.camera.key.clone(),
                    message,
                })
                .await;
        }
    }
}
