//! Strongroom's video service: one site's video subsystem between the pure crates (`video`,
//! `media`) and the HTTP layer. It knows nothing of HTTP.
//!
//! - [`start()`] builds a [`VideoService`] on a [`strongroom_store::service::ServiceCtx`]: one
//!   recorder for every `[[camera]]` into `DATA_DIR/video` on retina's opener wrapped in the live
//!   tap (`live`), its events journaled (`events`: `health.camera_down` / `_up`,
//!   `video.gap`, `video.segment`, `video.disk_forecast`, `health.retention_violation`, ...), and
//!   the retention loop with the jurisdiction's minimum and the legal holds.
//! - The API: [`VideoService::cameras`], `timeline`, `still`, `playback_map`, `playback_plan` +
//!   `journal_playback`, `export`, `exports`, `download`, `verify_export`, `place_hold`,
//!   `holds`, `release_hold`; typed [`views`] or a [`VideoError`].
//!
//! Invariants:
//! - Every view (still, live, playback) and every export, download and verification is
//!   journaled before the first byte is served; a refused append serves nothing.
//! - A reload changes the recorder's camera list while it records ([`VideoService::apply_config`]):
//!   new cameras start, removed or changed ones finish their open segment and stop.
//! - Footage under a legal hold is never purged; the retention minimum is the jurisdiction's.
#![forbid(unsafe_code)]

mod error;
mod events;
mod export;
mod holds;
pub mod kinds;
mod live;
mod service;
mod start;
mod status;
mod time;
mod view;
pub mod views;

pub use error::{StartError, VideoError};
pub use export::{BUNDLE_FILES, BundleDownload, ExportOrder, MAX_EXPORT_MS, evidence_key};
pub use service::VideoService;
pub use start::{StartedVideo, VideoOptions, start};
pub use status::{LIVE_MAX_AGE_MS, MAX_TIMELINE_MS, check_range, watched_by};
pub use time::{ms_from_90k, safe_name};
pub use view::{MAX_PLAYBACK_MS, Still, still_format};
