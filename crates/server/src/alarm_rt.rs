//! Site runtime for alarms and dispatch: the alarm model, SIA DC-09 receiver and central-station sender, MQTT sensors, notifications and escalation, the operator alarm queue.
//!
//! [`start`] runs when a site starts; [`routes`] adds this subsystem's API under
//! `/api/v1/sites/{site}/...`. The console's part lives in `assets/alarm.js`.
use std::sync::Arc;

use axum::Router;

use crate::state::{AppState, StartCtx};

/// This subsystem's per-site state, reachable as `SiteRuntime::alarm`.
pub struct AlarmRuntime {}

/// Starts the subsystem for one site; returns its background tasks.
pub async fn start(ctx: &StartCtx) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let _ = ctx.site.alarm.set(Arc::new(AlarmRuntime {}));
    Ok(Vec::new())
}

/// This subsystem's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
