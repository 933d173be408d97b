//! [`VideoService`]: one site's video subsystem, running: the recorder's cameras, its health
//! monitor, the live tap, and where recordings and exports live.
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use sqlx::AnyPool;
use strongroom_domain::Clock;
use strongroom_domain::site::SiteConfig;
use strongroom_store::JournalHandle;
use strongroom_video::health::SharedHealth;
use strongroom_video::source::CameraConfig;
use tokio::sync::watch;

use crate::live::LiveFrames;

/// One site's video subsystem, running (reachable as `SiteRuntime::video` in the server).
pub struct VideoService {
    pub(crate) site_id: String,
    pub(crate) journal: JournalHandle,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: strongroom_store::Store,
    pub(crate) pool: AnyPool,
    pub(crate) storage_dir: PathBuf,
    pub(crate) exports_dir: PathBuf,
    pub(crate) live: Arc<LiveFrames>,
    pub(crate) health: SharedHealth,
    pub(crate) shutdown: Arc<watch::Sender<bool>>,
    /// Turns true once the recorder has finished its open segments and stopped.
    pub(crate) stopped: watch::Receiver<bool>,
    /// (user, camera, from, to) → when the last playback fact was journaled.
    pub(crate) views: Mutex<HashMap<(String, String, i64, i64), i64>>,
    /// One export at a time (they are disk-bound).
    pub(crate) exporting: tokio::sync::Mutex<()>,
    /// The cameras the recorder records; a reload changes them while it runs.
    pub(crate) cameras: watch::Sender<Vec<CameraConfig>>,
    /// The configuration in force (camera names, coverage, jurisdiction, time zone).
    pub(crate) config: std::sync::RwLock<Arc<SiteConfig>>,
}

impl VideoService {
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

    /// The configuration in force.
    pub(crate) fn config(&self) -> Arc<SiteConfig> {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The configured camera `id`'s name, or [`crate::VideoError::UnknownCamera`].
    pub(crate) fn camera_name(&self, id: &str) -> Result<String, crate::VideoError> {
        self.config()
            .cameras
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .ok_or_else(|| crate::VideoError::UnknownCamera(id.to_owned()))
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
    pub fn apply_config(&self, config: &Arc<SiteConfig>) {
        match self.config.write() {
            Ok(mut c) => *c = config.clone(),
            Err(poisoned) => *poisoned.into_inner() = config.clone(),
        }
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

    /// [`VideoService::stop`], then waits up to `timeout` until every open segment is durable and
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
pub(crate) fn camera_configs(config: &SiteConfig) -> Vec<CameraConfig> {
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
pub(crate) struct StopOnDrop(pub(crate) Arc<watch::Sender<bool>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

/// The video crate's clock, driven by the server's injected clock.
pub(crate) struct VClock(pub(crate) Arc<dyn Clock>);

impl strongroom_video::clock::Clock for VClock {
    fn now_90k(&self) -> i64 {
        self.0.now_ms().saturating_mul(90)
    }
}
