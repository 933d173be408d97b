//! Device-state ingestion (the path HTTP controllers and the simulator share) and the demo-site
//! simulator.
//!
//! The simulator is on only for sites whose file says `simulator = true` (the demo). It drives
//! doors and sensors through [`ingest_device_state`], exactly the path a controller reporting over
//! the API takes, so the demo exercises the real journal, projections and live feed.
use std::sync::Arc;
use std::time::Duration;

use strongroom_domain::fact::kinds;
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_journal::JournalEvent;

use crate::error::ApiError;
use crate::state::SiteRuntime;

/// States a device may report.
pub const DEVICE_STATES: &[&str] = &[
    "open", "closed", "locked", "unlocked", "online", "offline", "alarm", "normal", "tamper",
    "trouble",
];

/// Validates and journals a device's reported state; returns the durable event.
pub async fn ingest_device_state(
    site: &SiteRuntime,
    device: &str,
    state: &str,
    detail: Option<&str>,
    time_ms: i64,
) -> Result<Arc<JournalEvent>, ApiError> {
    let config = site.config();
    let known = config.doors.iter().any(|d| d.id == device)
        || config.readers.iter().any(|r| r.id == device)
        || config.sensors.iter().any(|s| s.id == device)
        || config.panels.iter().any(|p| p.id == device)
        || config.cameras.iter().any(|c| c.id == device);
    if !known {
        return Err(ApiError::BadRequest(format!(
            "unknown device {device:?}: it must be declared in the site file"
        )));
    }
    if !DEVICE_STATES.contains(&state) {
        return Err(ApiError::BadRequest(format!(
            "unknown state {state:?}: expected one of {}",
            DEVICE_STATES.join(", ")
        )));
    }
    if let Some(d) = detail
        && d.len() > 1024
    {
        return Err(ApiError::BadRequest(
            "detail is longer than 1024 bytes".into(),
        ));
    }
    let mut fact = Fact::new(
        kinds::DEVICE_STATE,
        Actor::Device(device.to_owned()),
        time_ms,
    )
    .with("device", device)
    .with("state", state);
    if let Some(d) = detail {
        fact = fact.with("detail", d);
    }
    Ok(site.journal.append_one(fact).await?)
}

/// Runs the demo simulator until the task is dropped: every `period`, a door cycles open/closed
/// and now and then a sensor trips and restores.
pub async fn run(site: Arc<SiteRuntime>, clock: Arc<dyn Clock>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        let config = site.config();
        if config.doors.is_empty() {
            continue;
        }
        let door = &config.doors[(n as usize / 2) % config.doors.len()];
        let state = if n % 2 == 1 { "open" } else { "closed" };
        if let Err(e) =
            ingest_device_state(&site, &door.id, state, Some("simulated"), clock.now_ms()).await
        {
            tracing::warn!(error = %e, "simulator");
        }
        if n % 7 == 0
            && let Some(sensor) = config
                .sensors
                .iter()
                .filter(|s| !s.kind.is_silent())
                .nth((n as usize / 7) % config.sensors.len().max(1))
        {
            let _ = ingest_device_state(
                &site,
                &sensor.id,
                "alarm",
                Some("simulated"),
                clock.now_ms(),
            )
            .await;
            let _ = ingest_device_state(
                &site,
                &sensor.id,
                "normal",
                Some("simulated"),
                clock.now_ms(),
            )
            .await;
        }
    }
}

/// Journals that the server started (with its version).
pub async fn server_started(site: &SiteRuntime, now_ms: i64) -> Result<(), ApiError> {
    site.journal
        .append_one(
            Fact::new(kinds::SERVER_STARTED, Actor::System, now_ms)
                .with("version", env!("CARGO_PKG_VERSION")),
        )
        .await?;
    Ok(())
}
