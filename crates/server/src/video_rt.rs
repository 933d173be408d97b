//! Site runtime for video: RTSP recording, health supervision, retention and legal holds, stills, MP4 and signed evidence exports, viewing.
//!
//! [`start`] runs when a site starts; [`routes`] adds this subsystem's API under
//! `/api/v1/sites/{site}/...`. The console's part lives in `assets/video.js`.
use std::sync::Arc;

use axum::Router;

use crate::state::{AppState, StartCtx};

/// This subsystem's per-site state, reachable as `SiteRuntime::video`.
pub struct VideoRuntime {}

/// Starts the subsystem for one site; returns its background tasks.
pub async fn start(ctx: &StartCtx) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let _ = ctx.site.video.set(Arc::new(VideoRuntime {}));
    Ok(Vec::new())
}

/// This subsystem's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
