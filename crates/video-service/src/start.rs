//! Starting the video service on a site: the index schema, the storage and export directories,
//! the recorder on the live tap with its journal sink, and the retention loop.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use strongroom_store::service::ServiceCtx;
use strongroom_video::index;
use strongroom_video::recorder::{Recorder, RecorderConfig};
use strongroom_video::retention::{self, RetentionPolicy};
use strongroom_video::source::RetinaOpener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::StartError;
use crate::events::JournalSink;
use crate::live::{LiveFrames, TapOpener};
use crate::service::{StopOnDrop, VClock, VideoService, camera_configs};

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

impl VideoOptions {
    /// The defaults, with `STRONGROOM_VIDEO_SEGMENT_S` (1-600) overriding the 60 s segment
    /// length (a shorter one makes recordings playable sooner, at the cost of more index rows
    /// and journal facts).
    pub fn from_env() -> Result<VideoOptions, StartError> {
        let mut opts = VideoOptions::default();
        if let Ok(v) = std::env::var("STRONGROOM_VIDEO_SEGMENT_S") {
            match v.trim().parse::<u32>() {
                Ok(s) if (1..=600).contains(&s) => opts.segment_s = s,
                _ => {
                    return Err(StartError(format!(
                        "STRONGROOM_VIDEO_SEGMENT_S={v:?}: expected 1 to 600 seconds"
                    )));
                }
            }
        }
        Ok(opts)
    }
}

/// A started video service and its background tasks.
pub struct StartedVideo {
    /// The service.
    pub service: Arc<VideoService>,
    /// Its tasks (the recorder stops cleanly when its task is dropped or aborted).
    pub tasks: Vec<JoinHandle<()>>,
}

/// Starts the video service for one site with `opts`.
pub async fn start(ctx: &ServiceCtx, opts: VideoOptions) -> Result<StartedVideo, StartError> {
    let pool = ctx.store.pool().clone();
    index::migrate(&pool)
        .await
        .map_err(|e| StartError(format!("video index: {e}")))?;
    let storage_dir = ctx.data_dir.join("video");
    let exports_dir = ctx.data_dir.join("exports");
    for d in [&storage_dir, &exports_dir] {
        std::fs::create_dir_all(d).map_err(|e| StartError(format!("{}: {e}", d.display())))?;
    }
    let config = ctx.config.clone();
    let cameras = camera_configs(&config);
    let clock = ctx.clock.clone();
    let vclock = Arc::new(VClock(clock.clone()));
    let live = Arc::new(LiveFrames::default());
    let sink = Arc::new(JournalSink {
        journal: ctx.journal.clone(),
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
    let service = Arc::new(VideoService {
        site_id: ctx.site_id.clone(),
        journal: ctx.journal.clone(),
        clock: clock.clone(),
        store: ctx.store.clone(),
        config: std::sync::RwLock::new(config.clone()),
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
    Ok(StartedVideo { service, tasks })
}
