//! Notification incidents: what the escalation engine has open, and their acknowledgment by id
//! or by the short code every SMS carries ("Acknowledge with code 3FA9C1").
use axum::Json;
use serde::{Deserialize, Serialize};
use strongroom_domain::auth::Permission;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::http::alarm::alarm_service;
use crate::http::extract::{ApiPath, Authorized};
use crate::http::perm;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents))
        .routes(routes!(ack_incident))
}

/// A notification incident.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    /// Incident id.
    pub id: String,
    /// The short code people type or reply with.
    pub code: String,
    /// The kind of the fact that opened it (`health.camera_down`, `alarm.raised`, ...).
    pub kind: String,
    /// What it is about: device name and id, zone, or actor.
    pub source: String,
    /// Onset, epoch ms.
    pub onset_ms: i64,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When, epoch ms.
    pub acknowledged_ms: Option<i64>,
    /// Escalation steps still to come (0 once acknowledged).
    pub pending_steps: usize,
    /// For a device failure: not restored yet.
    pub failure_ongoing: bool,
}

/// The incidents.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Incidents {
    /// Newest first; silent alarms only for roles that see them.
    pub incidents: Vec<Incident>,
}

fn view(i: strongroom_notify::escalation::IncidentView) -> Incident {
    Incident {
        id: i.id,
        code: i.code,
        kind: i.kind,
        source: i.source,
        onset_ms: i.onset_ms,
        acknowledged_by: i.acknowledged_by,
        acknowledged_ms: i.acknowledged_ms,
        pending_steps: i.pending_steps,
        failure_ongoing: i.failure_ongoing,
    }
}

/// Open and recent notification incidents (alarms and device failures), newest first.
#[utoipa::path(get, path = "/api/v1/sites/{site}/notify/incidents", tag = "notify",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = Incidents),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "the alarm subsystem is not running", body = ErrorBody)),
    security(("session" = ["alarms-view"])))]
async fn list_incidents(auth: Authorized<perm::AlarmsView>) -> Result<Json<Incidents>, ApiError> {
    let ctx = auth.ctx;
    let alarm = alarm_service(&ctx)?;
    let sees_silent = ctx.can(Permission::SilentAlarmsView);
    Ok(Json(Incidents {
        incidents: alarm.incidents(sees_silent).into_iter().map(view).collect(),
    }))
}

/// The acknowledgment recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Acknowledged {
    /// Incident id.
    pub id: String,
    /// Who.
    pub by: String,
    /// When, epoch ms.
    pub acknowledged_ms: i64,
    /// Deliveries that will now never be sent.
    pub cancelled: usize,
}

/// Acknowledges an incident by id or short code: its escalation stops, and the acknowledgment is
/// journaled (`notify.acknowledged`) with who and when. A failure still in progress stays one
/// episode until its device is restored.
#[utoipa::path(post, path = "/api/v1/sites/{site}/notify/incidents/{incident}/ack", tag = "notify",
    params(("site" = String, Path, description = "site id"),
        ("incident" = String, Path, description = "incident id or its short code")),
    responses((status = 200, description = "success", body = Acknowledged),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such incident", body = ErrorBody),
        (status = 409, description = "already acknowledged", body = ErrorBody)),
    security(("session" = ["alarms-handle"])))]
async fn ack_incident(
    auth: Authorized<perm::AlarmsHandle>,
    ApiPath((_site, incident)): ApiPath<(String, String)>,
) -> Result<Json<Acknowledged>, ApiError> {
    let ctx = auth.ctx;
    let alarm = alarm_service(&ctx)?;
    let a = alarm
        .acknowledge_incident(
            &incident,
            &ctx.actor.to_string(),
            ctx.can(Permission::SilentAlarmsView),
        )
        .await?;
    Ok(Json(Acknowledged {
        id: a.incident_id,
        by: a.by,
        acknowledged_ms: a.acknowledged_ms,
        cancelled: a.cancelled.len(),
    }))
}

#[cfg(test)]
mod tests {
    /// The notify crate pairs failures with restores by kind string; each string is one the
    /// subsystems actually journal.
    #[test]
    fn episode_kinds_are_the_kinds_the_subsystems_journal() {
        use strongroom_alarm::facts::kinds as ak;
        use strongroom_video_service::kinds as vk;
        let journaled = [
            vk::CAMERA_DOWN,
            vk::CAMERA_UP,
            vk::WRITE_FAILED,
            vk::WRITE_RESTORED,
            strongroom_access_service::HEALTH_READER_DOWN,
            strongroom_access_service::HEALTH_READER_UP,
            ak::DEVICE_SILENT,
            ak::DEVICE_RESTORED,
            ak::AC_LOST,
            ak::AC_RESTORED,
            ak::BATTERY_LOW,
            ak::BATTERY_RESTORED,
            ak::COMM_TROUBLE,
            ak::COMM_RESTORED,
            ak::ZONE_TROUBLE,
            ak::ZONE_TROUBLE_RESTORED,
        ];
        for (failure, restore) in strongroom_notify::episode::EPISODE_KINDS {
            assert!(journaled.contains(failure), "{failure} is not journaled");
            assert!(journaled.contains(restore), "{restore} is not journaled");
        }
    }
}
