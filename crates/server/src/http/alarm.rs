//! The alarm queue, arming, the console panic button, drills and the handling-time report,
//! under `/api/v1/sites/{site}/alarms`. Handlers authorize, translate, and map
//! [`AlarmError`] to HTTP; every rule lives in `strongroom-alarm-service` and the `alarm` crate.
use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use strongroom_alarm::{Outcome, QueueError};
use strongroom_alarm_service::views::{
    AlarmDetail, ArmingChange, ArmingMode, ArmingStatus, HandlingReport,
};
use strongroom_alarm_service::{AlarmError, AlarmService};
use strongroom_domain::auth::Permission;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SiteCtx;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Authorized};
use crate::http::perm;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_alarms))
        .routes(routes!(get_arming, post_arming))
        .routes(routes!(post_panic))
        .routes(routes!(post_drill))
        .routes(routes!(get_report))
        .routes(routes!(get_alarm))
        .routes(routes!(post_ack))
        .routes(routes!(post_note))
        .routes(routes!(post_resolve))
}

/// The site's alarm service.
pub(crate) fn alarm_service(ctx: &SiteCtx) -> Result<Arc<AlarmService>, ApiError> {
    ctx.site
        .alarm
        .get()
        .ok_or_else(|| ApiError::Unavailable("the alarm subsystem is not running".into()))
}

impl From<AlarmError> for ApiError {
    fn from(e: AlarmError) -> Self {
        match e {
            AlarmError::Journal(e) => ApiError::from(e),
            AlarmError::Queue(QueueError::UnknownAlarm(id)) => {
                ApiError::NotFound(format!("alarm {id:?}"))
            }
            AlarmError::Queue(
                q @ (QueueError::AlreadyAcknowledged(_) | QueueError::AlreadyResolved(_)),
            ) => ApiError::Conflict(q.to_string()),
            AlarmError::Queue(q) => ApiError::BadRequest(q.to_string()),
            AlarmError::UnknownIncident(id) => ApiError::NotFound(format!("incident {id:?}")),
            AlarmError::IncidentAcknowledged(m) => ApiError::Conflict(m),
            AlarmError::Notifier(m) => ApiError::Internal(m),
            e @ (AlarmError::UnknownPartition(_)
            | AlarmError::UnknownSensor(_)
            | AlarmError::SupervisoryZone(_)
            | AlarmError::NoteTooLong { .. }
            | AlarmError::EmptyNote
            | AlarmError::BadWindow) => ApiError::BadRequest(e.to_string()),
        }
    }
}

/// Whether the caller sees silent (holdup, duress) alarms.
fn sees_silent(ctx: &SiteCtx) -> bool {
    ctx.can(Permission::SilentAlarmsView)
}

/// Which alarms to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Include resolved alarms too (the latest 500, newest first).
    all: Option<bool>,
}

/// Alarms.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmList {
    /// Open alarms in handling order (fire, holdup/duress, panic, burglary, ...), or with
    /// `all=true` the latest alarms newest first.
    pub alarms: Vec<AlarmDetail>,
}

/// The alarm queue: open alarms with their times (silent alarms only for monitoring roles).
#[utoipa::path(get, path = "/api/v1/sites/{site}/alarms", tag = "alarms",
    params(("site" = String, Path, description = "site id"), ListQuery),
    responses((status = 200, description = "success", body = AlarmList),
        (status = 400, description = "bad query", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "the alarm subsystem is not running", body = ErrorBody)),
    security(("session" = ["alarms-view"])))]
async fn list_alarms(
    auth: Authorized<perm::AlarmsView>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<AlarmList>, ApiError> {
    let service = alarm_service(&auth.ctx)?;
    let alarms = service
        .alarms(sees_silent(&auth.ctx), q.all == Some(true))
        .await;
    Ok(Json(AlarmList { alarms }))
}

/// One alarm with its lifecycle and operator notes.
#[utoipa::path(get, path = "/api/v1/sites/{site}/alarms/{alarm}", tag = "alarms",
    params(("site" = String, Path, description = "site id"),
        ("alarm" = String, Path, description = "alarm id")),
    responses((status = 200, description = "success", body = AlarmDetail),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such alarm (or a silent one the caller may not see)", body = ErrorBody)),
    security(("session" = ["alarms-view"])))]
async fn get_alarm(
    auth: Authorized<perm::AlarmsView>,
    ApiPath((_site, alarm)): ApiPath<(String, String)>,
) -> Result<Json<AlarmDetail>, ApiError> {
    let service = alarm_service(&auth.ctx)?;
    Ok(Json(service.alarm(&alarm, sees_silent(&auth.ctx)).await?))
}

/// An acknowledgment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// An optional note (up to 2,000 characters).
    #[serde(default)]
    pub note: String,
}

/// Acknowledges an alarm: its notification escalation stops; journaled with who and when.
#[utoipa::path(post, path = "/api/v1/sites/{site}/alarms/{alarm}/ack", tag = "alarms",
    params(("site" = String, Path, description = "site id"),
        ("alarm" = String, Path, description = "alarm id")),
    request_body = AckRequest,
    responses((status = 200, description = "acknowledged", body = AlarmDetail),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such alarm", body = ErrorBody),
        (status = 409, description = "already acknowledged or resolved", body = ErrorBody)),
    security(("session" = ["alarms-handle"])))]
async fn post_ack(
    auth: Authorized<perm::AlarmsHandle>,
    ApiPath((_site, alarm)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<AckRequest>,
) -> Result<Json<AlarmDetail>, ApiError> {
    let ctx = &auth.ctx;
    let service = alarm_service(ctx)?;
    let out = service
        .acknowledge(&alarm, &ctx.actor, sees_silent(ctx), &body.note)
        .await?;
    Ok(Json(out))
}

/// An operator note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note (1 to 2,000 characters).
    pub note: String,
}

/// Adds an operator note to an alarm (journaled).
#[utoipa::path(post, path = "/api/v1/sites/{site}/alarms/{alarm}/notes", tag = "alarms",
    params(("site" = String, Path, description = "site id"),
        ("alarm" = String, Path, description = "alarm id")),
    request_body = NoteRequest,
    responses((status = 201, description = "noted", body = AlarmDetail),
        (status = 400, description = "empty or too long", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such alarm", body = ErrorBody)),
    security(("session" = ["alarms-handle"])))]
async fn post_note(
    auth: Authorized<perm::AlarmsHandle>,
    ApiPath((_site, alarm)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<NoteRequest>,
) -> Result<(StatusCode, Json<AlarmDetail>), ApiError> {
    let ctx = &auth.ctx;
    let service = alarm_service(ctx)?;
    let out = service
        .add_note(&alarm, &ctx.actor, sees_silent(ctx), &body.note)
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// A resolution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// `real`, `false` or `drill`.
    pub outcome: Outcome,
    /// Notes (up to 2,000 characters).
    #[serde(default)]
    pub notes: String,
}

/// Resolves an alarm as real, false or a drill (journaled; acknowledges it first if need be).
#[utoipa::path(post, path = "/api/v1/sites/{site}/alarms/{alarm}/resolve", tag = "alarms",
    params(("site" = String, Path, description = "site id"),
        ("alarm" = String, Path, description = "alarm id")),
    request_body = ResolveRequest,
    responses((status = 200, description = "resolved", body = AlarmDetail),
        (status = 400, description = "bad body, or a drill resolved as anything but a drill", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such alarm", body = ErrorBody),
        (status = 409, description = "already resolved", body = ErrorBody)),
    security(("session" = ["alarms-handle"])))]
async fn post_resolve(
    auth: Authorized<perm::AlarmsHandle>,
    ApiPath((_site, alarm)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ResolveRequest>,
) -> Result<Json<AlarmDetail>, ApiError> {
    let ctx = &auth.ctx;
    let service = alarm_service(ctx)?;
    let out = service
        .resolve(
            &alarm,
            &ctx.actor,
            sees_silent(ctx),
            body.outcome,
            &body.notes,
        )
        .await?;
    Ok(Json(out))
}

/// Arming state per partition, zone states, and the communication paths.
#[utoipa::path(get, path = "/api/v1/sites/{site}/alarms/arming", tag = "alarms",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = ArmingStatus),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "the alarm subsystem is not running", body = ErrorBody)),
    security(("session" = ["alarms-view"])))]
async fn get_arming(auth: Authorized<perm::AlarmsView>) -> Result<Json<ArmingStatus>, ApiError> {
    let service = alarm_service(&auth.ctx)?;
    Ok(Json(service.arming(sees_silent(&auth.ctx)).await))
}

/// An arming command.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArmRequest {
    /// Partition; absent: every partition.
    pub partition: Option<u16>,
    /// `away`, `stay` or `disarm`.
    pub mode: ArmingMode,
}

/// Arms (away or stay) or disarms a partition from the console (journaled).
#[utoipa::path(post, path = "/api/v1/sites/{site}/alarms/arming", tag = "alarms",
    params(("site" = String, Path, description = "site id")),
    request_body = ArmRequest,
    responses((status = 200, description = "done (arming may be refused by the model: see `changed`)", body = ArmingChange),
        (status = 400, description = "bad body or unknown partition", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["arming-control"])))]
async fn post_arming(
    auth: Authorized<perm::ArmingControl>,
    ApiJson(body): ApiJson<ArmRequest>,
) -> Result<Json<ArmingChange>, ApiError> {
    let ctx = &auth.ctx;
    let service = alarm_service(ctx)?;
    Ok(Json(
        service
            .set_arming(body.partition, body.mode, &ctx.actor)
            .await?,
    ))
}

/// A console panic.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PanicRequest {
    /// Partition (default 1).
    pub partition: Option<u16>,
}

/// What a panic or drill raised.
#[derive(Debug, Serialize, ToSchema)]
pub struct Raised {
    /// Whether an alarm was raised.
    pub raised: bool,
    /// Its id.
    pub alarm_id: Option<String>,
}

impl Raised {
    fn of(alarm_id: Option<String>) -> Raised {
        Raised {
            raised: alarm_id.is_some(),
            alarm_id,
        }
    }
}

/// Raises a panic alarm from the console (audible; journaled with who).
#[utoipa::path(post, path = "/api/v1/sites/{site}/alarms/panic", tag = "alarms",
    params(("site" = String, Path, description = "site id")),
    request_body = PanicRequest,
    responses((status = 201, description = "raised", body = Raised),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["panic-raise"])))]
async fn post_panic(
    auth: Authorized<perm::PanicRaise>,
    ApiJson(body): ApiJson<PanicRequest>,
) -> Result<(StatusCode, Json<Raised>), ApiError> {
    let ctx = &auth.ctx;
    let service = alarm_service(ctx)?;
    let alarm_id = service
        .panic(&ctx.actor, body.partition.unwrap_or(1))
        .await?;
    Ok((StatusCode::CREATED, Json(Raised::of(alarm_id))))
}

/// A drill.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillRequest {
    /// The sensor to drill (not a supervisory zone).
    pub sensor: String,
}

/// Starts a drill on a sensor: it runs end to end (queue, chains, central station as a test
/// report), marked as a test.
#[utoipa::path(post, path = "/api/v1/sites/{site}/alarms/drill", tag = "alarms",
    params(("site" = String, Path, description = "site id")),
    request_body = DrillRequest,
    responses((status = 201, description = "started", body = Raised),
        (status = 400, description = "unknown or supervisory sensor", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["alarms-handle"])))]
async fn post_drill(
    auth: Authorized<perm::AlarmsHandle>,
    ApiJson(body): ApiJson<DrillRequest>,
) -> Result<(StatusCode, Json<Raised>), ApiError> {
    let ctx = &auth.ctx;
    let service = alarm_service(ctx)?;
    let alarm_id = service.drill(&body.sensor, &ctx.actor).await?;
    Ok((StatusCode::CREATED, Json(Raised::of(alarm_id))))
}

/// The report window.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// From (inclusive), epoch ms; default the beginning.
    from_ms: Option<i64>,
    /// To (exclusive), epoch ms; default now and after.
    to_ms: Option<i64>,
}

/// Handling times per alarm (raised to dispatch, acknowledgment, resolution) with count,
/// median, 95th percentile and maximum.
#[utoipa::path(get, path = "/api/v1/sites/{site}/alarms/report", tag = "alarms",
    params(("site" = String, Path, description = "site id"), ReportQuery),
    responses((status = 200, description = "success", body = HandlingReport),
        (status = 400, description = "bad window", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["alarms-view"])))]
async fn get_report(
    auth: Authorized<perm::AlarmsView>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<HandlingReport>, ApiError> {
    let service = alarm_service(&auth.ctx)?;
    let report = service
        .handling_report(
            q.from_ms.unwrap_or(0),
            q.to_ms.unwrap_or(i64::MAX),
            sees_silent(&auth.ctx),
        )
        .await?;
    Ok(Json(report))
}
