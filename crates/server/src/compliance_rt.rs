//! Site runtime for compliance: rule packs, evaluation, schedules and tasks, incidents, outages, vendors, reports.
//!
//! [`start`] runs when a site starts; [`routes`] adds this subsystem's API under
//! `/api/v1/sites/{site}/...`. The console's part lives in `assets/compliance.js`.
use std::sync::Arc;

use axum::Router;

use crate::state::{AppState, StartCtx};

/// This subsystem's per-site state, reachable as `SiteRuntime::compliance`.
pub struct ComplianceRuntime {}

/// Starts the subsystem for one site; returns its background tasks.
pub async fn start(ctx: &StartCtx) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let _ = ctx.site.compliance.set(Arc::new(ComplianceRuntime {}));
    Ok(Vec::new())
}

/// This subsystem's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
