//! Site runtime for video: RTSP recording, health supervision, retention and legal holds, stills, MP4 and signed evidence exports, viewing.
//!
//! [`start`] runs when a site starts; [`routes`] adds this subsystem's API under
//! `/api/v1/sites/{site}/video/...`. The console's part lives in `assets/video.js`.
//!
//! How it is wired (the logic lives in `strongroom-video` and `strongroom-media`):
//! - One [`Recorder`] records every `[[camera]]` of the site into `DATA_DIR/video`, indexed in the
//!   `video_*` tables of the site database. Its opener is retina's, wrapped in a tap that keeps each
//!   camera's frames since its last key frame: that is what a live still decodes.
//! - Every [`VideoEvent`] becomes a journal fact ([`JournalSink`]): `health.camera_down` /
//!   `health.camera_up` (with `device` and `state`, so the device projection shows the camera),
//!   `video.gap`, `video.segment` (measured fps and resolution), `video.disk_forecast`,
//!   `health.retention_violation`, ... A camera that cannot be reached yields one down fact; the
//!   recorder then retries quietly with exponential backoff.
//! - The retention executor runs periodically with the jurisdiction's minimum and the legal holds.
//! - Every view (still, live, playback) and every export or download is journaled before the first
//!   byte is sent; a playback's byte-range requests share one fact per user, camera and range.
#![forbid(unsafe_code)]

use std::collections::{BTreeSet, HashMap};
use std::io::{Read as _, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::AnyPool;
use strongroom_domain::auth::Permission;
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_media::evidence::{self, ExportRequest, ExportSegment, Named, TimeRange};
use strongroom_media::mp4::{Mp4Plan, Mp4Segment};
use strongroom_media::segment::{SampleEntry, SampleIndex};
use strongroom_media::still::{self, StillFormat, StillOptions, StillSource};
use strongroom_store::JournalHandle;
use strongroom_video::events::{VideoEvent, VideoEvents};
use strongroom_video::health::SharedHealth;
use strongroom_video::index::{self, IndexError, NewHold, SegmentRow};
use strongroom_video::recorder::{Recorder, RecorderConfig};
use strongroom_video::retention::{self, RetentionPolicy};
use strongroom_video::source::{
    CameraConfig, Frame, FrameStream, H264Params, Opener, RetinaOpener, SourceError,
};
use tokio::sync::watch;

use crate::api::{JsonBody, event_json};
use crate::auth::Session;
use crate::error::ApiError;
use crate::state::{AppState, SiteRuntime, StartCtx};

/// Fact kinds this subsystem journals.
pub mod kinds {
    /// A camera's frames stopped (`device`, `state = offline`, `onset_ms`, `detected_ms`).
    pub const CAMERA_DOWN: &str = "health.camera_down";
    /// A camera that was down delivers frames again (`device`, `state = online`).
    pub const CAMERA_UP: &str = "health.camera_up";
    /// A camera delivered its first recorded segment since the server started (`state = online`).
    pub const CAMERA_RECORDING: &str = "video.camera_recording";
    /// A recording gap with exact bounds.
    pub const GAP: &str = "video.gap";
    /// A segment became durable (measured fps, resolution, SHA-256).
    pub const SEGMENT: &str = "video.segment";
    /// Writing a camera's recording failed: storage trouble, once until writes succeed again
    /// (`device`, `camera`, `message`).
    pub const WRITE_FAILED: &str = "health.recorder_write_failed";
    /// Writes for a camera succeed again after a write failure (`device`, `camera`).
    pub const WRITE_RESTORED: &str = "health.recorder_write_restored";
    /// A camera clock is off (or back within tolerance).
    pub const CLOCK_DRIFT: &str = "health.camera_clock_drift";
    /// Storage forecast of a retention pass.
    pub const DISK_FORECAST: &str = "video.disk_forecast";
    /// Footage inside the retention minimum was purged (disk full).
    pub const RETENTION_VIOLATION: &str = "health.retention_violation";
    /// Someone viewed video (still, live still, playback).
    pub const VIEWED: &str = "video.viewed";
    /// An evidence export was started (its sequence number is in the manifest).
    pub const EXPORT_STARTED: &str = "video.export_started";
    /// An evidence export was written.
    pub const EXPORTED: &str = "video.exported";
    /// An evidence export failed.
    pub const EXPORT_FAILED: &str = "video.export_failed";
    /// A file of an evidence bundle was downloaded.
    pub const EXPORT_DOWNLOADED: &str = "video.export_downloaded";
    /// A stored evidence bundle was verified (result `intact` or the part at fault), EXP-06.
    pub const EXPORT_VERIFIED: &str = "video.export_verified";
    /// A legal hold was placed.
    pub const HOLD_PLACED: &str = "video.hold_placed";
    /// A legal hold was released.
    pub const HOLD_RELEASED: &str = "video.hold_released";
}

/// Tunables; tests shorten them.
#[derive(Debug, Clone)]
pub struct VideoOptions {
    /// Target segment length.
    pub segment_s: u32,
    /// Period of the retention pass.
    pub retention_interval_s: u64,
    /// Free space the retention planner keeps.
    pub reserve_bytes: u64,
    /// Longest reconnect delay for a camera that is down (2 s: recording resumes within 2 s of
    /// the camera answering again).
    pub backoff_max_ms: u64,
    /// Limit for RTSP DESCRIBE/SETUP/PLAY.
    pub connect_timeout_ms: u64,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            segment_s: 60,
            retention_interval_s: 3_600,
            reserve_bytes: 1 << 30,
            backoff_max_ms: 2_000,
            connect_timeout_ms: 10_000,
        }
    }
}

/// Longest range one playback may cover.
const MAX_PLAYBACK_MS: i64 = 4 * 3_600_000;
/// Longest range one export may cover.
const MAX_EXPORT_MS: i64 = 12 * 3_600_000;
/// Longest range a timeline request may cover.
const MAX_TIMELINE_MS: i64 = 7 * 86_400_000;
/// A live picture older than this is not live.
const LIVE_MAX_AGE_MS: i64 = 5_000;
/// Repeated byte-range requests of one playback within this window share one journal fact.
const VIEW_DEDUPE_MS: i64 = 10 * 60_000;
/// A live view (a picture refreshed every second) is journaled once per user and camera per minute.
const LIVE_VIEW_FACT_MS: i64 = 60_000;
/// Bundle files a client may download.
const BUNDLE_FILES: [&str; 5] = [
    evidence::VIDEO_FILE,
    evidence::MANIFEST_FILE,
    evidence::SIGNATURE_FILE,
    evidence::KEY_FILE,
    evidence::README_FILE,
];

/// This subsystem's per-site state, reachable as `SiteRuntime::video`.
pub struct VideoRuntime {
    pool: AnyPool,
    storage_dir: PathBuf,
    exports_dir: PathBuf,
    live: Arc<LiveFrames>,
    health: SharedHealth,
    shutdown: Arc<watch::Sender<bool>>,
    /// Turns true once the recorder has finished its open segments and stopped.
    stopped: watch::Receiver<bool>,
    /// (user, camera, from, to) → when the last playback fact was journaled.
    views: Mutex<HashMap<(String, String, i64, i64), i64>>,
    /// One export at a time (they are disk-bound).
    exporting: tokio::sync::Mutex<()>,
    /// The cameras the recorder records; a reload changes them while it runs.
    cameras: watch::Sender<Vec<CameraConfig>>,
}

impl VideoRuntime {
    /// Where the recordings live.
    pub fn storage_dir(&self) -> &FsPath {
        &self.storage_dir
    }

    /// Where evidence bundles are written.
    pub fn exports_dir(&self) -> &FsPath {
        &self.exports_dir
    }

    /// Each recorded camera and whether its health monitor has it down.
    pub fn camera_health(&self) -> Vec<(String, bool)> {
        let cameras = self.cameras.borrow().clone();
        let health = strongroom_video::health::lock(&self.health);
        cameras
            .iter()
            .map(|c| (c.key.clone(), health.is_down(&c.key)))
            .collect()
    }

    /// The database the recordings are indexed in.
    pub fn index_pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether `config`'s cameras can be recorded; no side effects.
    pub fn check_config(config: &SiteConfig) -> Result<(), String> {
        for c in &config.cameras {
            c.rtsp_url
                .parse::<url::Url>()
                .map_err(|e| format!("camera {}: bad RTSP URL {:?}: {e}", c.id, c.rtsp_url))?;
        }
        Ok(())
    }

    /// Records `config`'s cameras from now on: new ones start, removed or changed ones finish
    /// their open segment and stop (or restart with the new settings); the rest are untouched.
    pub fn apply_config(&self, config: &SiteConfig) {
        self.cameras.send_if_modified(|current| {
            let wanted = camera_configs(config);
            let changed = *current != wanted;
            *current = wanted;
            changed
        });
    }

    /// Asks the recorder to finish and index its open segments and stop (call before aborting the
    /// tasks [`start`] returned, so a clean shutdown loses nothing).
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }

    /// [`VideoRuntime::stop`], then waits up to `timeout` until every open segment is durable and
    /// indexed. Returns false on timeout. Call before sealing the journal and closing the store.
    pub async fn stop_and_wait(&self, timeout: std::time::Duration) -> bool {
        self.stop();
        let mut rx = self.stopped.clone();
        tokio::time::timeout(timeout, rx.wait_for(|v| *v))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// The recorder's camera list for `config` (a camera whose URL does not parse is logged and left
/// out; a reload refuses such a file before it gets here).
fn camera_configs(config: &SiteConfig) -> Vec<CameraConfig> {
    let mut cameras = Vec::new();
    for c in &config.cameras {
        let url = match c.rtsp_url.parse() {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(camera = %c.id, "bad RTSP URL {:?}: {e}; not recorded", c.rtsp_url);
                continue;
            }
        };
        let password = c
            .password_env
            .as_deref()
            .and_then(|name| std::env::var(name).ok());
        cameras.push(CameraConfig {
            key: c.id.clone(),
            url,
            username: c.username.clone(),
            password,
        });
    }
    cameras
}

/// Asks the recorder to stop when dropped: aborting the task [`start`] returned stops recording
/// cleanly instead of leaving the camera tasks running detached.
struct StopOnDrop(Arc<watch::Sender<bool>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

/// The video crate's clock, driven by the server's injected clock.
struct VClock(Arc<dyn Clock>);

impl strongroom_video::clock::Clock for VClock {
    fn now_90k(&self) -> i64 {
        self.0.now_ms().saturating_mul(90)
    }
}

fn ms_from_90k(t_90k: i64) -> i64 {
    t_90k.div_euclid(90)
}

fn ts_from_90k(t_90k: i64) -> Result<jiff::Timestamp, ApiError> {
    jiff::Timestamp::from_nanosecond(i128::from(t_90k) * 100_000 / 9)
        .map_err(|e| ApiError::Internal(format!("time out of range: {e}")))
}

fn ts_from_ms(ms: i64) -> Result<jiff::Timestamp, ApiError> {
    jiff::Timestamp::from_millisecond(ms)
        .map_err(|e| ApiError::BadRequest(format!("time out of range: {e}")))
}

fn index_err(e: IndexError) -> ApiError {
    match e {
        IndexError::Refused(m) => ApiError::BadRequest(m),
        IndexError::NotFound(m) => ApiError::NotFound(m),
        other => ApiError::Internal(other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Live frames: a tap on the recorder's streams.

/// Frames since the last key frame of one camera.
#[derive(Default)]
struct LiveGop {
    params: Option<Arc<H264Params>>,
    frames: Vec<Vec<u8>>,
    bytes: usize,
    last_ms: i64,
}

/// Every camera's current group of pictures.
#[derive(Default)]
struct LiveFrames {
    cams: Mutex<HashMap<String, LiveGop>>,
}

/// A GOP larger than this is dropped until the next key frame (bounds memory per camera).
const LIVE_MAX_BYTES: usize = 32 << 20;

impl LiveFrames {
    fn push(&self, camera: &str, f: &Frame, now_ms: i64) {
        let mut cams = self.cams.lock().unwrap_or_else(|p| p.into_inner());
        let g = cams.entry(camera.to_owned()).or_default();
        if let Some(p) = &f.new_params {
            g.params = Some(p.clone());
        }
        if f.is_key {
            g.frames.clear();
            g.bytes = 0;
        } else if g.frames.is_empty() {
            return; // wait for a key frame
        }
        if g.bytes + f.data.len() > LIVE_MAX_BYTES {
            g.frames.clear();
            g.bytes = 0;
            return;
        }
        g.bytes += f.data.len();
        g.frames.push(f.data.clone());
        g.last_ms = now_ms;
    }

    /// The camera's parameter sets, frames since the last key frame and the last arrival time.
    fn snapshot(&self, camera: &str) -> Option<(Arc<H264Params>, Vec<Vec<u8>>, i64)> {
        let cams = self.cams.lock().unwrap_or_else(|p| p.into_inner());
        let g = cams.get(camera)?;
        let p = g.params.clone()?;
        if g.frames.is_empty() {
            return None;
        }
        Some((p, g.frames.clone(), g.last_ms))
    }

    fn last_ms(&self, camera: &str) -> Option<i64> {
        let cams = self.cams.lock().unwrap_or_else(|p| p.into_inner());
        cams.get(camera).map(|g| g.last_ms).filter(|t| *t > 0)
    }
}

/// Retina's opener, with every received frame also handed to [`LiveFrames`].
struct TapOpener {
    inner: RetinaOpener,
    live: Arc<LiveFrames>,
    clock: Arc<dyn Clock>,
}

struct TapStream<S> {
    inner: S,
    camera: String,
    live: Arc<LiveFrames>,
    clock: Arc<dyn Clock>,
}

impl Opener for TapOpener {
    type Stream = TapStream<<RetinaOpener as Opener>::Stream>;

    async fn open(&self, camera: &CameraConfig) -> Result<Self::Stream, SourceError> {
        let inner = self.inner.open(camera).await?;
        Ok(TapStream {
            inner,
            camera: camera.key.clone(),
            live: self.live.clone(),
            clock: self.clock.clone(),
        })
    }
}

impl<S: FrameStream> FrameStream for TapStream<S> {
    async fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        let f = self.inner.next_frame().await?;
        if let Some(f) = &f {
            self.live.push(&self.camera, f, self.clock.now_ms());
        }
        Ok(f)
    }
}

// ---------------------------------------------------------------------------------------------
// Video events → journal facts.

/// Turns the video subsystem's events into journal facts.
struct JournalSink {
    journal: JournalHandle,
    clock: Arc<dyn Clock>,
    /// Last state journaled per camera (`true` = online).
    online: Mutex<HashMap<String, bool>>,
    /// (short, when) of the last journaled disk forecast.
    last_forecast: Mutex<Option<(bool, i64)>>,
}

impl JournalSink {
    fn set_online(&self, camera: &str, online: bool) -> Option<bool> {
        let mut m = self.online.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(camera.to_owned(), online)
    }

    fn facts(&self, event: VideoEvent) -> Vec<Fact> {
        let now = self.clock.now_ms();
        match event {
            VideoEvent::CameraDown {
                camera,
                onset_90k,
                detected_90k,
            } => {
                self.set_online(&camera, false);
                let (onset_ms, detected_ms) = (ms_from_90k(onset_90k), ms_from_90k(detected_90k));
                vec![
                    Fact::new(kinds::CAMERA_DOWN, Actor::System, detected_ms)
                        .with("device", camera.clone())
                        .with("camera", camera)
                        .with("state", "offline")
                        .with("onset_ms", onset_ms)
                        .with("detected_ms", detected_ms)
                        .with("detection_latency_ms", detected_ms - onset_ms),
                ]
            }
            VideoEvent::CameraUp {
                camera,
                down_onset_90k,
                up_90k,
            } => {
                self.set_online(&camera, true);
                let (onset_ms, up_ms) = (ms_from_90k(down_onset_90k), ms_from_90k(up_90k));
                vec![
                    Fact::new(kinds::CAMERA_UP, Actor::System, up_ms)
                        .with("device", camera.clone())
                        .with("camera", camera)
                        .with("state", "online")
                        .with("down_onset_ms", onset_ms)
                        .with("up_ms", up_ms)
                        .with("outage_ms", up_ms - onset_ms),
                ]
            }
            VideoEvent::GapRecorded {
                camera,
                start_90k,
                end_90k,
                reason,
            } => vec![
                Fact::new(kinds::GAP, Actor::System, now)
                    .with("camera", camera)
                    .with("start_ms", ms_from_90k(start_90k))
                    .with("end_ms", ms_from_90k(end_90k))
                    .with("start_90k", start_90k)
                    .with("end_90k", end_90k)
                    .with("duration_ms", ms_from_90k(end_90k - start_90k))
                    .with("reason", reason),
            ],
            VideoEvent::SegmentWritten {
                camera,
                seq,
                start_time_90k,
                duration_90k,
                bytes,
                sha256_hex,
                fps_x1000,
                width,
                height,
            } => {
                let mut out = Vec::new();
                let first = {
                    let mut m = self.online.lock().unwrap_or_else(|p| p.into_inner());
                    if m.contains_key(&camera) {
                        false
                    } else {
                        m.insert(camera.clone(), true);
                        true
                    }
                };
                if first {
                    out.push(
                        Fact::new(kinds::CAMERA_RECORDING, Actor::System, now)
                            .with("device", camera.clone())
                            .with("camera", camera.clone())
                            .with("state", "online"),
                    );
                }
                out.push(
                    Fact::new(kinds::SEGMENT, Actor::System, now)
                        .with("camera", camera)
                        .with("seq", seq)
                        .with("start_ms", ms_from_90k(start_time_90k))
                        .with("start_90k", start_time_90k)
                        .with("duration_90k", duration_90k)
                        .with("bytes", bytes)
                        .with("sha256", sha256_hex)
                        .with("fps_milli", fps_x1000)
                        .with("width", width)
                        .with("height", height),
                );
                out
            }
            VideoEvent::WriteFailed { camera, message } => vec![
                Fact::new(kinds::WRITE_FAILED, Actor::System, now)
                    .with("device", camera.clone())
                    .with("camera", camera)
                    .with("message", message),
            ],
            VideoEvent::WriteRestored { camera } => vec![
                Fact::new(kinds::WRITE_RESTORED, Actor::System, now)
                    .with("device", camera.clone())
                    .with("camera", camera),
            ],
            VideoEvent::ClockDrift {
                camera,
                drift_ms,
                in_tolerance,
            } => vec![
                Fact::new(kinds::CLOCK_DRIFT, Actor::System, now)
                    .with("camera", camera)
                    .with("drift_ms", drift_ms)
                    .with("in_tolerance", in_tolerance),
            ],
            VideoEvent::DiskForecast(f) => {
                let mut last = self.last_forecast.lock().unwrap_or_else(|p| p.into_inner());
                let due = match *last {
                    None => true,
                    Some((short, at)) => short != f.short || f.short || now - at >= 86_400_000,
                };
                if !due {
                    return Vec::new();
                }
                *last = Some((f.short, now));
                let capacity_days_milli = if f.capacity_days.is_finite() {
                    (f.capacity_days * 1000.0).clamp(0.0, 9.0e15) as i64
                } else {
                    i64::MAX
                };
                vec![
                    Fact::new(kinds::DISK_FORECAST, Actor::System, now)
                        .with("usable_free_bytes", f.usable_free_bytes)
                        .with("recorded_bytes", f.recorded_bytes)
                        .with("bytes_per_day", f.bytes_per_day)
                        .with("capacity_days_milli", capacity_days_milli)
                        .with("retention_days", f.retention_days)
                        .with("short", f.short),
                ]
            }
            VideoEvent::RetentionViolation {
                cameras,
                segments_purged,
                bytes_purged,
                newest_purged_end_90k,
                retention_days,
            } => vec![
                Fact::new(kinds::RETENTION_VIOLATION, Actor::System, now)
                    .with("cameras", cameras)
                    .with("segments_purged", segments_purged)
                    .with("bytes_purged", bytes_purged)
                    .with("newest_purged_end_ms", ms_from_90k(newest_purged_end_90k))
                    .with("retention_days", retention_days),
            ],
        }
    }
}

impl VideoEvents for JournalSink {
    async fn emit(&self, event: VideoEvent) {
        let facts = self.facts(event);
        if facts.is_empty() {
            return;
        }
        if let Err(e) = self.journal.append(facts).await {
            tracing::error!(error = %e, "cannot journal a video event");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Start.

/// Starts the subsystem for one site; returns its background tasks.
///
/// `STRONGROOM_VIDEO_SEGMENT_S` (1-600) overrides the 60 s segment length (a shorter one makes
/// recordings playable sooner, at the cost of more index rows and journal facts).
pub async fn start(ctx: &StartCtx) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let mut opts = VideoOptions::default();
    if let Ok(v) = std::env::var("STRONGROOM_VIDEO_SEGMENT_S") {
        match v.trim().parse::<u32>() {
            Ok(s) if (1..=600).contains(&s) => opts.segment_s = s,
            _ => {
                return Err(format!(
                    "STRONGROOM_VIDEO_SEGMENT_S={v:?}: expected 1 to 600 seconds"
                ));
            }
        }
    }
    start_with(ctx, opts).await
}

/// [`start`] with explicit tunables.
pub async fn start_with(
    ctx: &StartCtx,
    opts: VideoOptions,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let pool = ctx.state.store.pool().clone();
    index::migrate(&pool)
        .await
        .map_err(|e| format!("video index: {e}"))?;
    let storage_dir = ctx.data_dir.join("video");
    let exports_dir = ctx.data_dir.join("exports");
    for d in [&storage_dir, &exports_dir] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let config = ctx.site.config();
    let cameras = camera_configs(&config);
    let clock = ctx.state.clock.clone();
    let vclock = Arc::new(VClock(clock.clone()));
    let live = Arc::new(LiveFrames::default());
    let sink = Arc::new(JournalSink {
        journal: ctx.site.journal.clone(),
        clock: clock.clone(),
        online: Mutex::new(HashMap::new()),
        last_forecast: Mutex::new(None),
    });
    let rec_config = RecorderConfig {
        rotate_interval_s: opts.segment_s.max(1),
        backoff_max_ms: opts.backoff_max_ms.max(1),
        connect_timeout_ms: opts.connect_timeout_ms.max(1),
        ..RecorderConfig::new(storage_dir.clone())
    };
    let recorder = Recorder::new(
        pool.clone(),
        rec_config,
        TapOpener {
            inner: RetinaOpener::new(),
            live: live.clone(),
            clock: clock.clone(),
        },
        sink.clone(),
        vclock.clone(),
    );
    let health = recorder.health();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let shutdown_tx = Arc::new(shutdown_tx);
    let (stopped_tx, stopped_rx) = watch::channel(false);
    let (cameras_tx, cameras_rx) = watch::channel(cameras);
    let runtime = Arc::new(VideoRuntime {
        pool: pool.clone(),
        storage_dir: storage_dir.clone(),
        exports_dir,
        live,
        health,
        shutdown: shutdown_tx.clone(),
        stopped: stopped_rx,
        views: Mutex::new(HashMap::new()),
        exporting: tokio::sync::Mutex::new(()),
        cameras: cameras_tx,
    });
    if ctx.site.video.set(runtime).is_err() {
        return Err("video already started for this site".into());
    }
    let mut tasks = Vec::new();
    let rec_shutdown = shutdown_rx.clone();
    let recording = tokio::spawn(async move {
        match recorder.run_updating(cameras_rx, rec_shutdown).await {
            Ok(reports) => {
                for r in reports {
                    tracing::info!(camera = %r.camera, segments = r.segments, gaps = r.gaps, "recorder stopped");
                }
            }
            Err(e) => tracing::error!("recorder failed: {e}"),
        }
        let _ = stopped_tx.send(true);
    });
    let guard = StopOnDrop(shutdown_tx);
    tasks.push(tokio::spawn(async move {
        let _guard = guard;
        let _ = recording.await;
    }));
    let policy = RetentionPolicy {
        retention_days: config.site.jurisdiction.retention_days(),
        reserve_bytes: opts.reserve_bytes,
        max_keep_days: None,
    };
    tasks.push(tokio::spawn(retention::run_loop(
        pool,
        storage_dir,
        policy,
        vclock,
        sink,
        opts.retention_interval_s,
        shutdown_rx,
    )));
    Ok(tasks)
}

// ---------------------------------------------------------------------------------------------
// Routes.

/// This subsystem's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sites/{site}/video/cameras", get(cameras))
        .route(
            "/api/v1/sites/{site}/video/cameras/{camera}/timeline",
            get(timeline),
        )
        .route(
            "/api/v1/sites/{site}/video/cameras/{camera}/still",
            get(still_image),
        )
        .route(
            "/api/v1/sites/{site}/video/cameras/{camera}/playback.mp4",
            get(playback),
        )
        .route(
            "/api/v1/sites/{site}/video/cameras/{camera}/playback.json",
            get(playback_map),
        )
        .route(
            "/api/v1/sites/{site}/video/exports",
            get(list_exports).post(create_export),
        )
        .route(
            "/api/v1/sites/{site}/video/exports/{id}/verify",
            post(verify_export),
        )
        .route(
            "/api/v1/sites/{site}/video/exports/{id}/{file}",
            get(download_export),
        )
        .route(
            "/api/v1/sites/{site}/video/holds",
            get(list_holds).post(create_hold),
        )
        .route(
            "/api/v1/sites/{site}/video/holds/{id}/release",
            post(release_hold),
        )
}

fn runtime(site: &SiteRuntime) -> Result<Arc<VideoRuntime>, ApiError> {
    site.video
        .get()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("video is not running on this site".into()))
}

/// The configured camera `id` (name for captions), or 404.
fn camera_name(site: &SiteRuntime, id: &str) -> Result<String, ApiError> {
    site.config()
        .cameras
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.name.clone())
        .ok_or_else(|| ApiError::NotFound(format!("camera {id:?}")))
}

fn parse_query<T>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

fn check_range(from_ms: i64, to_ms: i64, max_ms: i64) -> Result<(), ApiError> {
    if to_ms <= from_ms {
        return Err(ApiError::BadRequest("to_ms must be after from_ms".into()));
    }
    if from_ms < 0 || to_ms > 4_102_444_800_000 {
        return Err(ApiError::BadRequest(
            "times must be between 1970 and 2100".into(),
        ));
    }
    if to_ms - from_ms > max_ms {
        return Err(ApiError::BadRequest(format!(
            "the range may cover at most {} minutes",
            max_ms / 60_000
        )));
    }
    Ok(())
}

/// Segments of `camera` overlapping `[from_ms, to_ms)`.
async fn segments(
    rt: &VideoRuntime,
    camera: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<SegmentRow>, ApiError> {
    let Some(id) = index::camera_id(&rt.pool, camera)
        .await
        .map_err(index_err)?
    else {
        return Ok(Vec::new());
    };
    index::segments_in_range(&rt.pool, id, from_ms * 90, to_ms * 90)
        .await
        .map_err(index_err)
}

/// Sample entries by id, loaded once each.
async fn entries(
    rt: &VideoRuntime,
    rows: &[SegmentRow],
) -> Result<HashMap<i64, SampleEntry>, ApiError> {
    let mut out = HashMap::new();
    for r in rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(r.sample_entry_id) {
            slot.insert(
                index::sample_entry(&rt.pool, r.sample_entry_id)
                    .await
                    .map_err(index_err)?,
            );
        }
    }
    Ok(out)
}

fn decode_index(r: &SegmentRow) -> Result<SampleIndex, ApiError> {
    SampleIndex::decode(&r.sample_index)
        .map_err(|e| ApiError::Internal(format!("segment {}: {e}", r.path)))
}

async fn cameras(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::SiteView).await?;
    let rt = runtime(&ctx.site)?;
    let config = ctx.site.config();
    let known: HashMap<String, i64> = index::cameras(&rt.pool)
        .await
        .map_err(index_err)?
        .into_iter()
        .map(|(id, key)| (key, id))
        .collect();
    let mut list = Vec::new();
    for c in &config.cameras {
        let (down, last_seen_90k) = {
            let h = rt.health.lock().unwrap_or_else(|p| p.into_inner());
            (h.is_down(&c.id), h.last_seen_90k(&c.id))
        };
        let live_ms = rt.live.last_ms(&c.id);
        let now = state.clock.now_ms();
        let state = if down {
            "offline"
        } else if live_ms.is_some_and(|t| now - t <= LIVE_MAX_AGE_MS) {
            "online"
        } else if last_seen_90k.is_some() {
            "connecting"
        } else {
            "unknown"
        };
        let recorded_to_ms = match known.get(&c.id) {
            Some(id) => index::last_accounted_end(&rt.pool, *id)
                .await
                .map_err(index_err)?
                .map(ms_from_90k),
            None => None,
        };
        list.push(json!({
            "id": c.id,
            "name": c.name,
            "state": state,
            "last_frame_ms": live_ms,
            "recorded_to_ms": recorded_to_ms,
            "covers_areas": c.covers_areas,
            "covers_doors": c.covers_doors,
            "purposes": c.purposes,
        }));
    }
    Ok(Json(json!({ "cameras": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

async fn timeline(
    session: Session,
    State(state): State<AppState>,
    Path((site, camera)): Path<(String, String)>,
    q: Result<Query<RangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = parse_query(q)?;
    let ctx = session.authorize(&site, Permission::VideoRecorded).await?;
    let rt = runtime(&ctx.site)?;
    camera_name(&ctx.site, &camera)?;
    let now = state.clock.now_ms();
    let to_ms = q.to_ms.unwrap_or(now);
    let from_ms = q.from_ms.unwrap_or(to_ms - 3_600_000);
    check_range(from_ms, to_ms, MAX_TIMELINE_MS)?;
    let rows = segments(&rt, &camera, from_ms, to_ms).await?;
    // Merge back-to-back segments into spans (a frame or less apart).
    let mut spans: Vec<(i64, i64)> = Vec::new();
    for r in &rows {
        let (s, e) = (r.start_time_90k, r.end_time_90k());
        match spans.last_mut() {
            Some(last) if s - last.1 <= 9_000 => last.1 = last.1.max(e),
            _ => spans.push((s, e)),
        }
    }
    let gaps = match index::camera_id(&rt.pool, &camera)
        .await
        .map_err(index_err)?
    {
        Some(id) => index::gaps_in_range(&rt.pool, id, from_ms * 90, to_ms * 90)
            .await
            .map_err(index_err)?,
        None => Vec::new(),
    };
    // Alarm and access events of the areas and doors the camera covers.
    let config = ctx.site.config();
    let mut watched: BTreeSet<String> = BTreeSet::new();
    if let Some(c) = config.cameras.iter().find(|c| c.id == camera) {
        watched.extend(c.covers_areas.iter().cloned());
        watched.extend(c.covers_doors.iter().cloned());
        for d in config
            .doors
            .iter()
            .filter(|d| c.covers_doors.contains(&d.id))
        {
            for r in config.readers.iter().filter(|r| r.door == d.id) {
                watched.insert(r.id.clone());
            }
        }
        for s in config
            .sensors
            .iter()
            .filter(|s| c.covers_areas.contains(&s.area))
        {
            watched.insert(s.id.clone());
        }
    }
    let mut events = Vec::new();
    if !watched.is_empty() {
        for prefix in ["access.", "alarm.", "door."] {
            let evs = state
                .store
                .events_by_kind_and_time(&ctx.site.id, prefix, from_ms, to_ms)
                .await?;
            for e in evs.iter().filter(|e| crate::api::visible_to(&ctx, e)) {
                let Ok(Value::Object(p)) = serde_json::from_str::<Value>(&e.payload) else {
                    continue;
                };
                let hit = [
                    "area", "door", "device", "reader", "sensor", "zone", "from", "to",
                ]
                .iter()
                .any(|k| {
                    p.get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|v| watched.contains(v))
                });
                if hit && events.len() < 500 {
                    events.push(event_json(e));
                }
            }
        }
    }
    let open_gap_from_ms = {
        let h = rt.health.lock().unwrap_or_else(|p| p.into_inner());
        h.is_down(&camera)
            .then(|| h.last_seen_90k(&camera).map(ms_from_90k))
            .flatten()
    };
    Ok(Json(json!({
        "camera": camera,
        "from_ms": from_ms,
        "to_ms": to_ms,
        "spans": spans.iter().map(|(s, e)| json!({"from_ms": ms_from_90k(*s), "to_ms": ms_from_90k(*e)})).collect::<Vec<_>>(),
        "segments": rows.iter().map(|r| json!({
            "seq": r.seq,
            "from_ms": ms_from_90k(r.start_time_90k),
            "to_ms": ms_from_90k(r.end_time_90k()),
            "bytes": r.bytes,
            "fps_milli": r.fps_x1000,
            "width": r.width,
            "height": r.height,
            "sha256": r.sha256_hex,
        })).collect::<Vec<_>>(),
        "gaps": gaps.iter().map(|g| json!({
            "from_ms": ms_from_90k(g.start_90k),
            "to_ms": ms_from_90k(g.end_90k),
            "reason": g.reason,
        })).collect::<Vec<_>>(),
        "open_gap_from_ms": open_gap_from_ms,
        "events": events,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StillQuery {
    at_ms: Option<i64>,
    format: Option<String>,
    /// `1` from a live view refreshing its picture: one fact per user and camera per minute of
    /// watching (`mode = live`), instead of one per picture.
    refresh: Option<u8>,
}

fn still_format(s: Option<&str>) -> Result<StillFormat, ApiError> {
    match s.unwrap_or("jpg") {
        "jpg" | "jpeg" => Ok(StillFormat::Jpeg),
        "bmp" => Ok(StillFormat::Bmp),
        "gif" => Ok(StillFormat::Gif),
        "png" => Ok(StillFormat::Png),
        other => Err(ApiError::BadRequest(format!(
            "unknown format {other:?}: use jpg, bmp or gif"
        ))),
    }
}

fn still_options(site: &SiteRuntime, format: StillFormat) -> StillOptions {
    let config = site.config();
    let tz = jiff::tz::TimeZone::get(&config.site.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    // OH 3796:6-3-16(E)(13) / 3796:3-2-05(B)(4)(d): "ninety-six hundred dpi" (EXP-02).
    let dpi = match config.site.jurisdiction {
        strongroom_domain::Jurisdiction::IlDispensary => None,
        _ => Some(9600),
    };
    StillOptions {
        format,
        dpi,
        time_zone: tz,
        ..StillOptions::default()
    }
}

async fn still_image(
    session: Session,
    State(state): State<AppState>,
    Path((site, camera)): Path<(String, String)>,
    q: Result<Query<StillQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_query(q)?;
    let format = still_format(q.format.as_deref())?;
    let permission = if q.at_ms.is_some() {
        Permission::VideoRecorded
    } else {
        Permission::VideoLive
    };
    let ctx = session.authorize(&site, permission).await?;
    let rt = runtime(&ctx.site)?;
    let name = camera_name(&ctx.site, &camera)?;
    let opts = still_options(&ctx.site, format);
    let started = std::time::Instant::now();
    let (bytes, frame_time, width, height) = match q.at_ms {
        Some(at_ms) => {
            check_range(at_ms, at_ms + 1, 1)?;
            let rows = segments(&rt, &camera, at_ms, at_ms + 1).await?;
            let Some(row) = rows.into_iter().next() else {
                return Err(ApiError::NotFound(format!(
                    "recording of camera {camera:?} at {at_ms}"
                )));
            };
            let entry = index::sample_entry(&rt.pool, row.sample_entry_id)
                .await
                .map_err(index_err)?;
            let idx = decode_index(&row)?;
            let path = rt.storage_dir.join(&row.path);
            let start = ts_from_90k(row.start_time_90k)?;
            let at = ts_from_ms(at_ms)?;
            let s = tokio::task::spawn_blocking(move || {
                still::still_at(
                    StillSource {
                        entry: &entry,
                        index: &idx,
                        path: &path,
                        start,
                    },
                    at,
                    &name,
                    &opts,
                )
            })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(format!("still: {e}")))?;
            (s.bytes, s.frame_time, s.width, s.height)
        }
        None => {
            let now = state.clock.now_ms();
            let Some((params, frames, last_ms)) = rt.live.snapshot(&camera) else {
                return Err(ApiError::Unavailable(format!(
                    "no live picture from camera {camera:?} (is it down?)"
                )));
            };
            if now - last_ms > LIVE_MAX_AGE_MS {
                return Err(ApiError::Unavailable(format!(
                    "no live picture from camera {camera:?} for {} s (is it down?)",
                    (now - last_ms) / 1000
                )));
            }
            let frame_time = ts_from_ms(last_ms)?;
            let out = tokio::task::spawn_blocking(move || {
                let entry = SampleEntry::h264_from_parameter_sets(&params.sps, &params.pps)
                    .map_err(|e| format!("parameter sets: {e}"))?;
                let mut img = still::decode_frames(&entry, frames.iter().map(Vec::as_slice))
                    .map_err(|e| e.to_string())?;
                if opts.caption {
                    let when = frame_time.to_zoned(opts.time_zone.clone());
                    let caption = format!(
                        "{}  {}  LIVE",
                        name,
                        when.strftime("%Y-%m-%d %H:%M:%S%.3f %Z")
                    );
                    still::burn_caption(&mut img, &caption);
                }
                let (w, h) = img.dimensions();
                let bytes = still::encode(&img, &opts).map_err(|e| e.to_string())?;
                Ok::<_, String>((bytes, w, h))
            })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(format!("live still: {e}")))?;
            (out.0, frame_time, out.1, out.2)
        }
    };
    let render_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let frame_ms = frame_time.as_millisecond();
    let now = state.clock.now_ms();
    let live_view = q.at_ms.is_none() && q.refresh == Some(1);
    let mode = match (q.at_ms.is_some(), live_view) {
        (true, _) => "still",
        (false, true) => "live",
        (false, false) => "live_still",
    };
    let journal_it = if live_view {
        let key = (ctx.actor.to_string(), camera.clone(), -1, -1);
        let mut v = rt.views.lock().unwrap_or_else(|p| p.into_inner());
        v.retain(|_, t| now - *t < VIEW_DEDUPE_MS);
        match v.get(&key) {
            Some(t) if now - *t < LIVE_VIEW_FACT_MS => false,
            _ => {
                v.insert(key, now);
                true
            }
        }
    } else {
        true
    };
    let mut fact = Fact::new(kinds::VIEWED, ctx.actor.clone(), now)
        .with("camera", camera.clone())
        .with("mode", mode)
        .with("frame_ms", frame_ms)
        .with("format", format.extension())
        .with("width", width)
        .with("height", height)
        .with("render_ms", render_ms);
    if let Some(at) = q.at_ms {
        fact = fact.with("at_ms", at);
    }
    if live_view {
        fact = fact.with("window_ms", LIVE_VIEW_FACT_MS);
    }
    if journal_it {
        ctx.site.journal.append_one(fact).await?;
    }
    let file_name = format!(
        "{}-{}.{}",
        safe_name(&camera),
        frame_time.strftime("%Y%m%dT%H%M%S%3fZ"),
        format.extension()
    );
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime()),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&frame_ms.to_string()) {
        h.insert("x-frame-time-ms", v);
    }
    Ok(res)
}

/// Keeps `[A-Za-z0-9_-]`, replaces anything else (file names and header values).
fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The MP4 segments covering `[from_ms, to_ms)`: whole middle segments, the first starting at the
/// key frame at or before `from_ms`, the last ending after the frame shown at `to_ms`.
fn mp4_segments(
    rt: &VideoRuntime,
    rows: &[SegmentRow],
    entries: &HashMap<i64, SampleEntry>,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Vec<Mp4Segment>, Vec<Piece>), ApiError> {
    let mut out = Vec::new();
    let mut pieces = Vec::new();
    let mut media_90k = 0i64;
    for r in rows {
        let idx = decode_index(r)?;
        let n = idx.frames.len();
        if n == 0 {
            continue;
        }
        let Some(entry) = entries.get(&r.sample_entry_id) else {
            return Err(ApiError::Internal(format!(
                "no sample entry for {}",
                r.path
            )));
        };
        let from_off = from_ms * 90 - r.start_time_90k;
        let first = if from_off > 0 {
            let i = idx
                .frame_at(u64::try_from(from_off).unwrap_or(0))
                .unwrap_or(n - 1);
            idx.key_frame_before(i).unwrap_or(0)
        } else {
            0
        };
        let to_off = to_ms * 90 - r.start_time_90k;
        let end = match u64::try_from(to_off) {
            Ok(off) => idx.frame_at(off).map_or(n, |i| i + 1),
            Err(_) => continue,
        };
        if end <= first {
            continue;
        }
        let dur = |frames: &[strongroom_media::segment::FrameMeta]| -> i64 {
            frames.iter().map(|f| i64::from(f.duration_90k)).sum()
        };
        let wall_90k = r.start_time_90k + dur(&idx.frames[..first]);
        let duration_90k = dur(&idx.frames[first..end]);
        pieces.push(Piece {
            wall_start_ms: ms_from_90k(wall_90k),
            media_start_ms: ms_from_90k(media_90k),
            duration_ms: ms_from_90k(duration_90k),
        });
        media_90k += duration_90k;
        out.push(Mp4Segment {
            entry: entry.clone(),
            index: idx,
            path: rt.storage_dir.join(&r.path),
            frames: first..end,
        });
    }
    if out.is_empty() {
        return Err(ApiError::NotFound("recorded frames in that range".into()));
    }
    Ok((out, pieces))
}

/// Where a stretch of a playback MP4 sits in wall-clock time (a gap makes the next piece jump).
#[derive(serde::Serialize)]
struct Piece {
    wall_start_ms: i64,
    media_start_ms: i64,
    duration_ms: i64,
}

/// The wall-clock map of a playback: which recorded stretches the MP4 of the same range holds,
/// so a player can show the time of the frame on screen. Metadata only (no pictures).
async fn playback_map(
    session: Session,
    Path((site, camera)): Path<(String, String)>,
    q: Result<Query<RangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = parse_query(q)?;
    let ctx = session.authorize(&site, Permission::VideoRecorded).await?;
    let rt = runtime(&ctx.site)?;
    camera_name(&ctx.site, &camera)?;
    let (Some(from_ms), Some(to_ms)) = (q.from_ms, q.to_ms) else {
        return Err(ApiError::BadRequest(
            "from_ms and to_ms are required".into(),
        ));
    };
    check_range(from_ms, to_ms, MAX_PLAYBACK_MS)?;
    let rows = segments(&rt, &camera, from_ms, to_ms).await?;
    let entries = entries(&rt, &rows).await?;
    let (_, pieces) = mp4_segments(&rt, &rows, &entries, from_ms, to_ms)?;
    Ok(Json(json!({ "camera": camera, "pieces": pieces })))
}

/// A writer that forwards bytes to an HTTP body (used from a blocking thread).
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A body produced by `f` on a blocking thread, in 256 KiB chunks.
fn blocking_body<F>(f: F) -> Body
where
    F: FnOnce(&mut dyn Write) -> Result<(), String> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::task::spawn_blocking(move || {
        let err_tx = tx.clone();
        let mut w = std::io::BufWriter::with_capacity(256 << 10, ChannelWriter { tx });
        let r = f(&mut w).and_then(|()| w.flush().map_err(|e| e.to_string()));
        if let Err(e) = r {
            tracing::debug!("body stream ended: {e}");
            let _ = err_tx.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Parses a single `Range: bytes=...` header against a length.
fn parse_range(headers: &HeaderMap, len: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(v) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let s = v.to_str().map_err(|_| ())?;
    let spec = s.strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        len.saturating_sub(n)..len
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            len
        } else {
            b.parse::<u64>().map_err(|_| ())?.saturating_add(1).min(len)
        };
        start..end
    };
    if range.start >= range.end || range.start >= len {
        return Err(());
    }
    Ok(Some(range))
}

async fn playback(
    session: Session,
    State(state): State<AppState>,
    Path((site, camera)): Path<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<RangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_query(q)?;
    let ctx = session.authorize(&site, Permission::VideoRecorded).await?;
    let rt = runtime(&ctx.site)?;
    camera_name(&ctx.site, &camera)?;
    let (Some(from_ms), Some(to_ms)) = (q.from_ms, q.to_ms) else {
        return Err(ApiError::BadRequest(
            "from_ms and to_ms are required".into(),
        ));
    };
    check_range(from_ms, to_ms, MAX_PLAYBACK_MS)?;
    let rows = segments(&rt, &camera, from_ms, to_ms).await?;
    let entries = entries(&rt, &rows).await?;
    let (segs, _) = mp4_segments(&rt, &rows, &entries, from_ms, to_ms)?;
    let plan = tokio::task::spawn_blocking(move || Mp4Plan::new(&segs))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("mp4: {e}")))?;
    let len = plan.total_len();
    let range = match parse_range(&headers, len) {
        Ok(r) => r,
        Err(()) => {
            let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(res);
        }
    };
    // One fact per user, camera and range (a player fetches many byte ranges of one view).
    let now = state.clock.now_ms();
    let key = (ctx.actor.to_string(), camera.clone(), from_ms, to_ms);
    let journal_it = {
        let mut v = rt.views.lock().unwrap_or_else(|p| p.into_inner());
        v.retain(|_, t| now - *t < VIEW_DEDUPE_MS);
        !v.contains_key(&key)
    };
    if journal_it {
        ctx.site
            .journal
            .append_one(
                Fact::new(kinds::VIEWED, ctx.actor.clone(), now)
                    .with("camera", camera.clone())
                    .with("mode", "playback")
                    .with("from_ms", from_ms)
                    .with("to_ms", to_ms)
                    .with("frames", plan.frame_count())
                    .with("bytes", len),
            )
            .await?;
        rt.views
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, now);
    }
    let (status, r) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r),
        None => (StatusCode::OK, 0..len),
    };
    let content_range = format!("bytes {}-{}/{len}", r.start, r.end - 1);
    let body_len = r.end - r.start;
    let body = blocking_body(move |mut w| {
        plan.write_range(r, &mut w)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&content_range)
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(res)
}

// ---------------------------------------------------------------------------------------------
// Evidence exports.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportBody {
    camera: String,
    from_ms: i64,
    to_ms: i64,
    reason: String,
}

/// The Ed25519 key that signs evidence manifests: the site's journal key.
pub fn evidence_key(
    key: &strongroom_journal::SiteKey,
) -> Result<ed25519_dalek::SigningKey, String> {
    let seed = hex::decode(key.to_hex()).map_err(|e| e.to_string())?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| "site key is not 32 bytes".to_owned())?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}

fn valid_text(field: &str, v: &str, max: usize) -> Result<String, ApiError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(ApiError::BadRequest(format!("{field} is required")));
    }
    if t.chars().count() > max {
        return Err(ApiError::BadRequest(format!(
            "{field} may have at most {max} characters"
        )));
    }
    Ok(t.to_owned())
}

async fn create_export(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
    JsonBody(body): JsonBody<ExportBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::VideoExport).await?;
    let rt = runtime(&ctx.site)?;
    let name = camera_name(&ctx.site, &body.camera)?;
    let reason = valid_text("reason", &body.reason, 1000)?;
    check_range(body.from_ms, body.to_ms, MAX_EXPORT_MS)?;
    let _one_at_a_time = rt.exporting.lock().await;
    let rows = segments(&rt, &body.camera, body.from_ms, body.to_ms).await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound(format!(
            "recordings of camera {:?} in that range",
            body.camera
        )));
    }
    let entries = entries(&rt, &rows).await?;
    let mut segs = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(entry) = entries.get(&r.sample_entry_id) else {
            return Err(ApiError::Internal(format!(
                "no sample entry for {}",
                r.path
            )));
        };
        segs.push(ExportSegment {
            id: format!("{}/{}", body.camera, r.seq),
            start: ts_from_90k(r.start_time_90k)?,
            end: ts_from_90k(r.end_time_90k())?,
            entry: entry.clone(),
            index: decode_index(r)?,
            path: rt.storage_dir.join(&r.path),
            expected_sha256: strongroom_media::hashing::from_hex32(&r.sha256_hex),
        });
    }
    let key = evidence_key(&ctx.site.key).map_err(ApiError::Internal)?;
    let config = ctx.site.config();
    let now = state.clock.now_ms();
    let started = ctx
        .site
        .journal
        .append_one(
            Fact::new(kinds::EXPORT_STARTED, ctx.actor.clone(), now)
                .with("camera", body.camera.clone())
                .with("from_ms", body.from_ms)
                .with("to_ms", body.to_ms)
                .with("reason", reason.clone())
                .with("segments", segs.len()),
        )
        .await?;
    let export_id = format!("{}-{}", started.seq, safe_name(&body.camera));
    let out_dir = rt.exports_dir.join(&export_id);
    let req = ExportRequest {
        site: Named {
            id: ctx.site.id.clone(),
            name: config.site.name.clone(),
        },
        camera: Named {
            id: body.camera.clone(),
            name,
        },
        requested_range: TimeRange {
            start: ts_from_ms(body.from_ms)?,
            end: ts_from_ms(body.to_ms)?,
        },
        exported_by: ctx.actor.to_string(),
        reason: reason.clone(),
        journal_seq: started.seq,
        created_at: ts_from_ms(now)?,
        segments: segs,
    };
    let dir = out_dir.clone();
    let result = tokio::task::spawn_blocking(move || evidence::export_bundle(&req, &key, &dir))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            ctx.site
                .journal
                .append_one(
                    Fact::new(
                        kinds::EXPORT_FAILED,
                        ctx.actor.clone(),
                        state.clock.now_ms(),
                    )
                    .with("export", export_id.clone())
                    .with("export_seq", started.seq)
                    .with("error", e.to_string()),
                )
                .await?;
            return Err(match e {
                evidence::ExportError::SourceAltered { .. } => ApiError::Conflict(e.to_string()),
                other => ApiError::Internal(other.to_string()),
            });
        }
    };
    let m = &report.manifest;
    let key_fp = evidence::key_fingerprint(&ctx.site.key.verifying_key());
    ctx.site
        .journal
        .append_one(
            Fact::new(kinds::EXPORTED, ctx.actor.clone(), state.clock.now_ms())
                .with("export", export_id.clone())
                .with("export_seq", started.seq)
                .with("camera", body.camera.clone())
                .with("from_ms", body.from_ms)
                .with("to_ms", body.to_ms)
                .with("covered_from_ms", m.covered_range.start.as_millisecond())
                .with("covered_to_ms", m.covered_range.end.as_millisecond())
                .with("reason", reason)
                .with("manifest_sha256", hex::encode(report.manifest_sha256))
                .with("video_sha256", m.video.sha256.to_string())
                .with("video_bytes", m.video.bytes)
                .with("frames", m.video.frame_count)
                .with("segments", m.segments.len())
                .with("key_fingerprint", key_fp.clone())
                .with("path", report.path.display().to_string()),
        )
        .await?;
    let base = format!("/api/v1/sites/{}/video/exports/{export_id}", ctx.site.id);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": export_id,
            "path": report.path.display().to_string(),
            "key_fingerprint": key_fp,
            "manifest_sha256": hex::encode(report.manifest_sha256),
            "files": BUNDLE_FILES.iter().map(|f| json!({"name": f, "url": format!("{base}/{f}")})).collect::<Vec<_>>(),
            "manifest": serde_json::to_value(m).unwrap_or(Value::Null),
        })),
    ))
}

async fn list_exports(session: Session, Path(site): Path<String>) -> Result<Json<Value>, ApiError> {
    // Reading existing bundles is viewing recorded video (and how a regulator receives copies,
    // EXP-08); making one needs `VideoExport`.
    let ctx = session.authorize(&site, Permission::VideoRecorded).await?;
    let rt = runtime(&ctx.site)?;
    let dir = rt.exports_dir.clone();
    let list = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return out;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".partial") {
                continue;
            }
            let Ok(f) = std::fs::File::open(e.path().join(evidence::MANIFEST_FILE)) else {
                continue;
            };
            let mut buf = Vec::new();
            if f.take(1 << 20).read_to_end(&mut buf).is_err() {
                continue;
            }
            let Ok(m) = evidence::Manifest::parse(&buf) else {
                continue;
            };
            out.push(json!({
                "id": name,
                "camera": m.camera.id,
                "from_ms": m.requested_range.start.as_millisecond(),
                "to_ms": m.requested_range.end.as_millisecond(),
                "exported_by": m.exported_by,
                "reason": m.reason,
                "created_ms": m.created_at.as_millisecond(),
                "video_bytes": m.video.bytes,
                "journal_seq": m.journal_seq,
            }));
        }
        out.sort_by_key(|v| std::cmp::Reverse(v["journal_seq"].as_u64().unwrap_or(0)));
        out
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(json!({ "exports": list })))
}

async fn download_export(
    session: Session,
    State(state): State<AppState>,
    Path((site, id, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    // A plain GET (a download link sends no CSRF header): viewing permission, journaled delivery.
    let ctx = session.authorize(&site, Permission::VideoRecorded).await?;
    let rt = runtime(&ctx.site)?;
    if id.is_empty() || safe_name(&id) != id || id.len() > 128 {
        return Err(ApiError::BadRequest(format!("bad export id {id:?}")));
    }
    let Some(file) = BUNDLE_FILES.iter().find(|f| **f == file).copied() else {
        return Err(ApiError::NotFound(format!("bundle file {file:?}")));
    };
    let path = rt.exports_dir.join(&id).join(file);
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|_| ApiError::NotFound(format!("export {id:?}")))?;
    ctx.site
        .journal
        .append_one(
            Fact::new(
                kinds::EXPORT_DOWNLOADED,
                ctx.actor.clone(),
                state.clock.now_ms(),
            )
            .with("export", id.clone())
            .with("file", file)
            .with("bytes", meta.len()),
        )
        .await?;
    let len = meta.len();
    let body = blocking_body(move |w| {
        let mut f = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        std::io::copy(&mut f, w)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let mime = match file {
        evidence::VIDEO_FILE => "video/mp4",
        evidence::MANIFEST_FILE => "application/json",
        evidence::KEY_FILE | evidence::README_FILE => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{id}-{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// Re-verifies a stored bundle against the site's own key and journals the result (EXP-06).
async fn verify_export(
    session: Session,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::VideoRecorded).await?;
    let rt = runtime(&ctx.site)?;
    if id.is_empty() || safe_name(&id) != id || id.len() > 128 {
        return Err(ApiError::BadRequest(format!("bad export id {id:?}")));
    }
    let dir = rt.exports_dir.join(&id);
    if !dir.is_dir() {
        return Err(ApiError::NotFound(format!("export {id:?}")));
    }
    let key = ctx.site.key.verifying_key();
    let result = tokio::task::spawn_blocking(move || evidence::verify_with_key(&dir, Some(&key)))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (intact, part, problem) = match &result {
        Ok(_) => (true, None, None),
        Err(e) => (false, Some(e.part()), Some(e.to_string())),
    };
    let mut fact = Fact::new(
        kinds::EXPORT_VERIFIED,
        ctx.actor.clone(),
        state.clock.now_ms(),
    )
    .with("export", id.clone())
    .with("intact", intact);
    if let (Some(part), Some(problem)) = (part, &problem) {
        fact = fact.with("part", part).with("problem", problem.clone());
    }
    ctx.site.journal.append_one(fact).await?;
    Ok(Json(json!({
        "id": id,
        "intact": intact,
        "part": part,
        "problem": problem,
        "key_fingerprint": result.as_ref().ok().map(|r| r.key_fingerprint.clone()),
    })))
}

// ---------------------------------------------------------------------------------------------
// Legal holds.

/// Places a legal hold on `cameras` (empty: every camera) over `[from_ms, to_ms)` and journals it
/// (`video.hold_placed`). The compliance runtime calls this when an incident opens (RET-03/04).
#[allow(clippy::too_many_arguments)]
pub async fn place_hold(
    site: &SiteRuntime,
    state: &AppState,
    cameras: Vec<String>,
    from_ms: i64,
    to_ms: i64,
    reason: &str,
    reference: &str,
    actor: Actor,
) -> Result<i64, ApiError> {
    let rt = runtime(site)?;
    let reason = valid_text("reason", reason, 1000)?;
    let reference = reference.trim().to_owned();
    if reference.chars().count() > 200 {
        return Err(ApiError::BadRequest(
            "reference may have at most 200 characters".into(),
        ));
    }
    if to_ms <= from_ms {
        return Err(ApiError::BadRequest("to_ms must be after from_ms".into()));
    }
    for c in &cameras {
        camera_name(site, c)?;
    }
    let now = state.clock.now_ms();
    let hold = NewHold {
        cameras: cameras.clone(),
        start_90k: from_ms.saturating_mul(90),
        end_90k: to_ms.saturating_mul(90),
        reason: reason.clone(),
        reference: reference.clone(),
        created_by: actor.to_string(),
    };
    let id = index::create_hold(&rt.pool, &hold, now.saturating_mul(90))
        .await
        .map_err(index_err)?;
    site.journal
        .append_one(
            Fact::new(kinds::HOLD_PLACED, actor, now)
                .with("hold_id", id)
                .with("all_cameras", cameras.is_empty())
                .with("cameras", cameras)
                .with("from_ms", from_ms)
                .with("to_ms", to_ms)
                .with("reason", reason)
                .with("reference", reference),
        )
        .await?;
    Ok(id)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    #[serde(default)]
    cameras: Vec<String>,
    from_ms: i64,
    to_ms: i64,
    reason: String,
    #[serde(default)]
    reference: String,
}

async fn create_hold(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
    JsonBody(body): JsonBody<HoldBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::HoldsManage).await?;
    let id = place_hold(
        &ctx.site,
        &state,
        body.cameras,
        body.from_ms,
        body.to_ms,
        &body.reason,
        &body.reference,
        ctx.actor.clone(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

fn hold_json(h: &index::Hold) -> Value {
    json!({
        "id": h.id,
        "cameras": h.cameras,
        "all_cameras": h.all_cameras,
        "from_ms": ms_from_90k(h.start_90k),
        "to_ms": ms_from_90k(h.end_90k),
        "reason": h.reason,
        "reference": h.reference,
        "created_ms": ms_from_90k(h.created_90k),
        "created_by": h.created_by,
        "released_ms": h.released_90k.map(ms_from_90k),
        "released_by": h.released_by,
        "release_approval": h.release_approval,
        "active": h.is_active(),
    })
}

async fn list_holds(session: Session, Path(site): Path<String>) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::VideoRecorded).await?;
    let rt = runtime(&ctx.site)?;
    let holds = index::holds(&rt.pool).await.map_err(index_err)?;
    let needs = ctx
        .site
        .config()
        .site
        .jurisdiction
        .hold_release_needs_approval();
    Ok(Json(json!({
        "holds": holds.iter().map(hold_json).collect::<Vec<_>>(),
        "release_needs_approval": needs,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseBody {
    #[serde(default)]
    approval_reference: String,
}

async fn release_hold(
    session: Session,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, i64)>,
    JsonBody(body): JsonBody<ReleaseBody>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::HoldsManage).await?;
    let rt = runtime(&ctx.site)?;
    let needs = ctx
        .site
        .config()
        .site
        .jurisdiction
        .hold_release_needs_approval();
    let approval = body.approval_reference.trim().to_owned();
    if approval.chars().count() > 200 {
        return Err(ApiError::BadRequest(
            "approval_reference may have at most 200 characters".into(),
        ));
    }
    if needs && approval.is_empty() {
        return Err(ApiError::BadRequest(
            "releasing a hold on this site needs the Department's approval reference (approval_reference)".into(),
        ));
    }
    let now = state.clock.now_ms();
    index::release_hold(
        &rt.pool,
        id,
        &ctx.actor.to_string(),
        &approval,
        needs,
        now.saturating_mul(90),
    )
    .await
    .map_err(index_err)?;
    ctx.site
        .journal
        .append_one(
            Fact::new(kinds::HOLD_RELEASED, ctx.actor.clone(), now)
                .with("hold_id", id)
                .with("approval_reference", approval),
        )
        .await?;
    Ok(Json(json!({ "id": id, "released": true })))
}
