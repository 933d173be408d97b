//! Site runtime for access control: the decision engine, OSDP readers, credentials and people API, door states, the vault log.
//!
//! [`start`] runs when a site starts; [`routes`] adds this subsystem's API under
//! `/api/v1/sites/{site}/...`. The console's part lives in `assets/access.js`.
use std::sync::Arc;

use axum::Router;

use crate::state::{AppState, StartCtx};

/// This subsystem's per-site state, reachable as `SiteRuntime::access`.
pub struct AccessRuntime {}

/// Starts the subsystem for one site; returns its background tasks.
pub async fn start(ctx: &StartCtx) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let _ = ctx.site.access.set(Arc::new(AccessRuntime {}));
    Ok(Vec::new())
}

/// This subsystem's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
