//! Strongroom video: RTSP recording into durable, indexed segments; recording gaps and camera
//! health; retention with legal holds; index/disk reconciliation and media wipe.
//!
//! - [`source`]: cameras and the `Opener`/`FrameStream` traits (retina RTSP implementation).
//! - [`recorder`]: per-camera recording tasks, segment rotation, gaps, clean shutdown.
//! - [`index`]: the `video_*` tables (sqlx Any: SQLite and PostgreSQL), holds, garbage list.
//! - [`health`]: pure `HealthMonitor` and its task.
//! - [`retention`]: pure purge planner, disk forecast, executor through the garbage list.
//! - [`check`]: reconcile disk and index; wipe a storage directory for disposal.
//! - [`events`]: `VideoEvent` and the `VideoEvents` sink; [`clock`]: the injected `Clock`.
#![forbid(unsafe_code)]

pub mod check;
pub mod clock;
pub mod events;
pub mod health;
pub mod index;
pub mod recorder;
pub mod retention;
pub mod source;

/// Registers sqlx's SQLite and PostgreSQL drivers for the Any pool. Call once before connecting.
pub fn install_drivers() {
    sqlx::any::install_default_drivers();
}

#[doc(hidden)]
pub mod testing;
