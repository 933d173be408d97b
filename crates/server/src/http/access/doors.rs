//! Doors and what controllers ask of them: the lockdown, card/PIN requests from non-OSDP
//! controllers, exits, staff releases, emergency overrides, keypad lockouts, door states and
//! occupancy.
use axum::Json;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use strongroom_access::{
    Command, EmergencyOverride, ExitSource, GoodFaithAttempt, Request, Source,
};
use strongroom_access_service::views::{Answer, AreaOccupancy, DoorList, EventRef, LockdownStatus};
use strongroom_domain::auth::Permission;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::people::ReasonRequest;
use super::{Recorded, access_service, recorded};
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiJsonOrEmpty, ApiPath, Authorized};
use crate::http::perm;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lockdown_status, start_lockdown))
        .routes(routes!(end_lockdown))
        .routes(routes!(access_request))
        .routes(routes!(exit_request))
        .routes(routes!(doors))
        .routes(routes!(staff_release))
        .routes(routes!(emergency_override))
        .routes(routes!(clear_keypad_lockout))
        .routes(routes!(occupancy))
        .routes(routes!(reset_occupancy))
}

/// Lockdown status.
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/lockdown", tag = "access",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = LockdownStatus),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["site-view"])))]
async fn lockdown_status(
    auth: Authorized<perm::SiteView>,
) -> Result<Json<LockdownStatus>, ApiError> {
    Ok(Json(access_service(&auth.ctx)?.lockdown().await))
}

/// A lockdown started or ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockdownChanged {
    /// Whether a lockdown is now in force.
    pub active: bool,
    /// The events that recorded it.
    pub events: Vec<EventRef>,
}

async fn lockdown_command(
    auth: &Authorized<perm::DoorsControl>,
    cmd: Command,
    active: bool,
) -> Result<(StatusCode, Json<LockdownChanged>), ApiError> {
    let rt = access_service(&auth.ctx)?;
    let events = EventRef::of(&rt.command(&cmd, &auth.ctx.actor).await?);
    Ok((
        StatusCode::CREATED,
        Json(LockdownChanged { active, events }),
    ))
}

/// Start a lockdown.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/lockdown", tag = "access",
    params(("site" = String, Path, description = "site id")),
    request_body(content = Option<ReasonRequest>, description = "optional"),
    responses((status = 201, description = "started", body = LockdownChanged),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 409, description = "already locked down", body = ErrorBody)),
    security(("session" = ["doors-control"])))]
async fn start_lockdown(
    auth: Authorized<perm::DoorsControl>,
    ApiJsonOrEmpty(b): ApiJsonOrEmpty<ReasonRequest>,
) -> Result<(StatusCode, Json<LockdownChanged>), ApiError> {
    let cmd = Command::StartLockdown { reason: b.reason };
    lockdown_command(&auth, cmd, true).await
}

/// End the lockdown.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/lockdown/end", tag = "access",
    params(("site" = String, Path, description = "site id")),
    request_body(content = Option<ReasonRequest>, description = "optional"),
    responses((status = 201, description = "ended", body = LockdownChanged),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 409, description = "not locked down", body = ErrorBody)),
    security(("session" = ["doors-control"])))]
async fn end_lockdown(
    auth: Authorized<perm::DoorsControl>,
    ApiJsonOrEmpty(b): ApiJsonOrEmpty<ReasonRequest>,
) -> Result<(StatusCode, Json<LockdownChanged>), ApiError> {
    let cmd = Command::EndLockdown { reason: b.reason };
    lockdown_command(&auth, cmd, false).await
}

/// A card and/or PIN presented at a reader.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresentRequest {
    /// Reader id.
    pub reader: String,
    /// Card number.
    #[serde(default)]
    pub card: Option<String>,
    /// PIN.
    #[serde(default)]
    pub pin: Option<String>,
}

/// A non-OSDP controller presents card and/or PIN at a reader; answered after the decision is
/// durable (200 whatever the outcome; a journal failure is a 503 and the door stays shut).
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/requests", tag = "access",
    params(("site" = String, Path, description = "site id")),
    request_body = PresentRequest,
    responses((status = 200, description = "decided", body = Answer),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "the decision could not be made durable", body = ErrorBody)),
    security(("session" = ["doors-control"])))]
async fn access_request(
    auth: Authorized<perm::DoorsControl>,
    ApiJson(b): ApiJson<PresentRequest>,
) -> Result<Json<Answer>, ApiError> {
    let rt = access_service(&auth.ctx)?;
    Ok(Json(
        rt.present(&b.reader, b.card, b.pin, Source::Api).await?,
    ))
}

/// An exit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitRequest {
    /// Door id.
    pub door: String,
    /// Who left, if the controller knows.
    #[serde(default)]
    pub person: Option<String>,
    /// A request-to-exit button rather than a controller's report.
    #[serde(default)]
    pub rex: bool,
}

/// Report an exit (request-to-exit or controller).
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/exits", tag = "access",
    params(("site" = String, Path, description = "site id")),
    request_body = ExitRequest,
    responses((status = 200, description = "decided", body = Answer),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["doors-control"])))]
async fn exit_request(
    auth: Authorized<perm::DoorsControl>,
    ApiJson(b): ApiJson<ExitRequest>,
) -> Result<Json<Answer>, ApiError> {
    let rt = access_service(&auth.ctx)?;
    let req = Request::Exit {
        door: b.door,
        person: b.person,
        source: if b.rex {
            ExitSource::Rex
        } else {
            ExitSource::Api
        },
    };
    Ok(Json(rt.decide(&req).await?.1))
}

/// Doors with their live state and the lockdown.
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/doors", tag = "access",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = DoorList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["site-view"])))]
async fn doors(auth: Authorized<perm::SiteView>) -> Result<Json<DoorList>, ApiError> {
    Ok(Json(access_service(&auth.ctx)?.doors().await))
}

/// A staff release (the body may be left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// Anonymous people admitted with it.
    #[serde(default)]
    pub admits: u32,
}

/// Staff release of a door (AC-01), optionally admitting anonymous people.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/doors/{door}/release", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("door" = String, Path, description = "door id")),
    request_body(content = Option<ReleaseRequest>, description = "optional"),
    responses((status = 200, description = "decided", body = Answer),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["doors-control"])))]
async fn staff_release(
    auth: Authorized<perm::DoorsControl>,
    ApiPath((_site, door)): ApiPath<(String, String)>,
    ApiJsonOrEmpty(b): ApiJsonOrEmpty<ReleaseRequest>,
) -> Result<Json<Answer>, ApiError> {
    let rt = access_service(&auth.ctx)?;
    let req = Request::StaffRelease {
        door,
        user: auth.session.user.name.clone(),
        reason: b.reason,
        admits: b.admits,
    };
    Ok(Json(rt.decide(&req).await?.1))
}

/// A good-faith attempt to reach an approved service professional first.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoodFaithRequest {
    /// When, epoch ms.
    pub time_ms: i64,
    /// How (`phone`, `email`, ...).
    pub channel: String,
    /// Whom.
    pub contact: String,
}

/// An emergency admission.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// Door id.
    pub door: String,
    /// The person admitted.
    pub person: String,
    /// Who approved it.
    pub approver: String,
    /// The emergency.
    pub description: String,
    /// The attempt to reach an approved professional first.
    #[serde(default)]
    pub good_faith: Option<GoodFaithRequest>,
}

/// Emergency admission of an unapproved service professional (IL 1291.300(h)).
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/emergency-override", tag = "access",
    params(("site" = String, Path, description = "site id")),
    request_body = OverrideRequest,
    responses((status = 200, description = "decided", body = Answer),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["doors-control"])))]
async fn emergency_override(
    auth: Authorized<perm::DoorsControl>,
    ApiJson(b): ApiJson<OverrideRequest>,
) -> Result<Json<Answer>, ApiError> {
    let rt = access_service(&auth.ctx)?;
    let req = Request::EmergencyOverride(EmergencyOverride {
        door: b.door,
        person: b.person,
        approver: b.approver,
        description: b.description,
        good_faith: b.good_faith.map(|g| GoodFaithAttempt {
            time_ms: g.time_ms,
            channel: g.channel,
            contact: g.contact,
        }),
    });
    Ok(Json(rt.decide(&req).await?.1))
}

/// Clear a keypad lockout.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/keypads/{reader}/clear-lockout", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("reader" = String, Path, description = "reader id")),
    request_body(content = Option<ReasonRequest>, description = "optional"),
    responses((status = 201, description = "cleared", body = Recorded),
        (status = 400, description = "bad body, or not locked out", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such reader", body = ErrorBody)),
    security(("session" = ["doors-control"])))]
async fn clear_keypad_lockout(
    auth: Authorized<perm::DoorsControl>,
    ApiPath((_site, reader)): ApiPath<(String, String)>,
    ApiJsonOrEmpty(b): ApiJsonOrEmpty<ReasonRequest>,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::ClearKeypadLockout {
        reader,
        reason: b.reason,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// Occupancy.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccupancyList {
    /// Every area (with who is inside for callers who may manage people).
    pub areas: Vec<AreaOccupancy>,
}

/// Occupancy per area with capacity.
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/occupancy", tag = "access",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = OccupancyList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["site-view"])))]
async fn occupancy(auth: Authorized<perm::SiteView>) -> Result<Json<OccupancyList>, ApiError> {
    let names = auth.ctx.can(Permission::PeopleManage);
    let areas = access_service(&auth.ctx)?.occupancy(names).await;
    Ok(Json(OccupancyList { areas }))
}

/// An occupancy reset.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The person to forget (absent: everyone).
    #[serde(default)]
    pub person: Option<String>,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// Forget where a person (or everyone) is after a missed exit.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/occupancy/reset", tag = "access",
    params(("site" = String, Path, description = "site id")),
    request_body = ResetRequest,
    responses((status = 201, description = "reset", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["doors-control"])))]
async fn reset_occupancy(
    auth: Authorized<perm::DoorsControl>,
    ApiJson(b): ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::ResetOccupancy {
        person: b.person,
        reason: b.reason,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}
