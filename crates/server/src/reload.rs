//! A changed site file put in force in every running subsystem, or refused as a whole.
//!
//! [`register`] gives the site one [`Reconfigure`] per started subsystem. The site's
//! `apply_config` asks each to [`Reconfigure::check`] the new file (no side effects: the file must
//! compile into each subsystem's model, its keys must be readable, its addresses must parse) and
//! only when all accept journals `config.applied` and calls [`Reconfigure::apply`]:
//! - access control recompiles its site model (doors, readers, credentials policy) at once; the
//!   OSDP supervisor starts and stops reader lines to match within its 2 s poll;
//! - video changes the recorder's camera list while it records: a new camera starts, a removed
//!   one finishes its open segment and stops, the others are not touched;
//! - alarms and dispatch restart when their part of the file changed (sensors, panels, the DC-09
//!   receiver, the central station, notification chains, MQTT, policy): the old runtime stops,
//!   its journal follower finishes the event in hand, and the new one resumes after the last
//!   event the old one handled, so no fact falls between them. The DC-09 listener is closed for
//!   the length of the restart; panels retry an unacknowledged report (SIA DC-09 §5.4).
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Fact};
use strongroom_store::service::{BoxFuture, Reconfigure};

use crate::state::{AppState, SiteRuntime, StartCtx};

/// How long a restarting alarm runtime may take to finish the event in hand.
const ALARM_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Registers the reload adapters of the subsystems that started on `ctx`'s site.
pub fn register(ctx: &StartCtx) {
    let site = Arc::downgrade(&ctx.site);
    if ctx.site.access.get().is_some() {
        ctx.site
            .register_reconfigure(Arc::new(AccessReload { site: site.clone() }));
    }
    if ctx.site.alarm.get().is_some() {
        ctx.site.register_reconfigure(Arc::new(AlarmReload {
            state: ctx.state.clone(),
            site: site.clone(),
            data_dir: ctx.data_dir.clone(),
            running: Mutex::new(ctx.site.config()),
            resume_after_seq: Mutex::new(None),
            tasks: tokio::sync::Mutex::new(Vec::new()),
        }));
    }
    if ctx.site.video.get().is_some() {
        ctx.site
            .register_reconfigure(Arc::new(VideoReload { site }));
    }
}

struct AccessReload {
    site: Weak<SiteRuntime>,
}

impl Reconfigure for AccessReload {
    fn subsystem(&self) -> &'static str {
        "access"
    }

    fn check(&self, new: &SiteConfig) -> Result<(), String> {
        match self.site.upgrade().and_then(|s| s.access.get().cloned()) {
            Some(access) => access.check_config(new),
            None => Ok(()),
        }
    }

    fn apply(&self, new: Arc<SiteConfig>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(access) = self.site.upgrade().and_then(|s| s.access.get().cloned()) {
                access.apply_config(new).await;
            }
        })
    }
}

struct VideoReload {
    site: Weak<SiteRuntime>,
}

impl Reconfigure for VideoReload {
    fn subsystem(&self) -> &'static str {
        "video"
    }

    fn check(&self, new: &SiteConfig) -> Result<(), String> {
        strongroom_video_service::VideoService::check_config(new)
    }

    fn apply(&self, new: Arc<SiteConfig>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(video) = self.site.upgrade().and_then(|s| s.video.get().cloned()) {
                video.apply_config(&new);
            }
        })
    }
}

struct AlarmReload {
    state: AppState,
    site: Weak<SiteRuntime>,
    data_dir: PathBuf,
    /// The configuration the running alarm runtime was started with.
    running: Mutex<Arc<SiteConfig>>,
    /// Where the last stopped runtime's follower left off.
    resume_after_seq: Mutex<Option<u64>>,
    /// The background tasks of runtimes this adapter started (the first one's belong to the
    /// caller of `start_subsystems`).
    tasks: tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The parts of a site file the alarm subsystem reads; a change elsewhere leaves it running.
fn alarm_part(c: &SiteConfig) -> impl PartialEq + '_ {
    (
        &c.site,
        &c.areas,
        &c.doors,
        &c.sensors,
        &c.panels,
        &c.policy,
        &c.notify,
        &c.central_station,
        &c.mqtt,
        &c.alarm_receiver,
    )
}

/// Whether the alarm subsystem can start on `config`; no side effects.
pub fn check_alarm_config(config: &SiteConfig, data_dir: &std::path::Path) -> Result<(), String> {
    strongroom_alarm_service::check_config(config, data_dir).map_err(|e| e.to_string())
}

impl Reconfigure for AlarmReload {
    fn subsystem(&self) -> &'static str {
        "alarms"
    }

    fn check(&self, new: &SiteConfig) -> Result<(), String> {
        check_alarm_config(new, &self.data_dir)
    }

    fn apply(&self, new: Arc<SiteConfig>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let unchanged = {
                let running = self
                    .running
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                alarm_part(&running) == alarm_part(&new)
            };
            if unchanged {
                return;
            }
            let Some(site) = self.site.upgrade() else {
                return;
            };
            let old = self
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            match self.restart(&site, new.clone()).await {
                Ok(()) => {
                    *self
                        .running
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = new;
                }
                Err(e) => {
                    // Fail safe: journal the failure, then bring alarms back on the file they
                    // ran on (the restarted runtime reads the failure and sends it out).
                    tracing::error!(site = %site.id, error = %e, "alarm subsystem did not restart on the new file; restarting on the last one");
                    self.journal_failure(&site, &e).await;
                    if site.alarm.get().is_none()
                        && let Err(e) = self.restart(&site, old).await
                    {
                        tracing::error!(site = %site.id, error = %e, "alarm subsystem is down");
                        self.journal_failure(&site, &e).await;
                    }
                }
            }
        })
    }
}

/// A subsystem stopped and could not be started again (`subsystem`, `error`).
pub const SUBSYSTEM_FAILED: &str = "health.subsystem_failed";

impl AlarmReload {
    async fn journal_failure(&self, site: &SiteRuntime, error: &str) {
        let fact = Fact::new(SUBSYSTEM_FAILED, Actor::System, self.state.clock.now_ms())
            .with("subsystem", "alarms")
            .with("error", error);
        if let Err(e) = site.journal.append_one(fact).await {
            tracing::error!(error = %e, "cannot journal an alarm restart failure");
        }
    }

    async fn restart(
        &self,
        site: &Arc<SiteRuntime>,
        config: Arc<SiteConfig>,
    ) -> Result<(), String> {
        let mut tasks = self.tasks.lock().await;
        let resume = match site.alarm.take() {
            Some(old) => {
                let seq = old.stop_for_restart(ALARM_STOP_TIMEOUT).await;
                *self
                    .resume_after_seq
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(seq);
                Some(seq)
            }
            // A restart that failed left the slot empty: resume where the last runtime stopped.
            None => *self
                .resume_after_seq
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        };
        for t in tasks.drain(..) {
            t.abort();
        }
        let ctx = StartCtx {
            state: self.state.clone(),
            site: site.clone(),
            data_dir: self.data_dir.clone(),
        };
        let started = crate::start_alarm_service(&ctx, config, resume)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(site = %site.id, resume_after_seq = ?resume, "alarm subsystem restarted on the new configuration");
        tasks.extend(started);
        Ok(())
    }
}
