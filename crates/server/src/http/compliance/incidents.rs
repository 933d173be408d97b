//! Diversion, theft and loss incidents (opening one asks for a legal hold on the cameras
//! covering its areas), their updates, and law-enforcement case shares of their reports.
use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use strongroom_compliance_service::views::{
    IncidentList, IncidentOpened, Recorded, ShareCreated, ShareList, ShareRevoked,
};
use strongroom_compliance_service::{ActionInput, IncidentInput, IncidentUpdate};
use utoipa::ToSchema;

use super::compliance_service;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, Authorized};
use crate::http::perm;

/// The incidents with their updates.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/incidents", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = IncidentList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
pub(super) async fn get_incidents(
    auth: Authorized<perm::ReportsView>,
) -> Result<Json<IncidentList>, ApiError> {
    Ok(Json(compliance_service(&auth.ctx.site)?.incidents().await?))
}

/// A new incident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentRequest {
    /// `diversion`, `theft` or `loss`.
    pub kind: String,
    /// What happened.
    pub description: String,
    /// What was affected.
    #[serde(default)]
    pub affected: String,
    /// When it was discovered, epoch ms (default: now).
    #[serde(default)]
    pub discovered_ms: Option<i64>,
    /// Areas involved: the cameras covering them are held.
    #[serde(default)]
    pub areas: Vec<String>,
    /// Cameras to hold besides.
    #[serde(default)]
    pub cameras: Vec<String>,
    /// Hold window; default two hours before discovery to one hour after.
    #[serde(default)]
    pub hold_from_ms: Option<i64>,
    /// End of the hold window.
    #[serde(default)]
    pub hold_to_ms: Option<i64>,
}

/// Opens an incident and asks for a legal hold on the cameras covering its areas.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/incidents", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    request_body = IncidentRequest,
    responses((status = 201, description = "journaled", body = IncidentOpened),
        (status = 400, description = "bad body, kind, area, camera or window", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn post_incident(
    auth: Authorized<perm::ComplianceManage>,
    ApiJson(b): ApiJson<IncidentRequest>,
) -> Result<(StatusCode, Json<IncidentOpened>), ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    let input = IncidentInput {
        kind: b.kind,
        description: b.description,
        affected: b.affected,
        discovered_ms: b.discovered_ms,
        areas: b.areas,
        cameras: b.cameras,
        hold_from_ms: b.hold_from_ms,
        hold_to_ms: b.hold_to_ms,
    };
    let opened = service.open_incident(&auth.ctx.actor, input).await?;
    Ok((StatusCode::CREATED, Json(opened)))
}

/// A corrective action.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// What to do.
    pub description: String,
    /// Who owns it.
    #[serde(default)]
    pub owner: String,
    /// Due date, `YYYY-MM-DD`.
    #[serde(default)]
    pub due_local_date: Option<String>,
}

/// Changes to an incident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentUpdateRequest {
    /// Record it as secured now.
    #[serde(default)]
    pub secured: bool,
    /// The root cause found.
    #[serde(default)]
    pub root_cause: Option<String>,
    /// A corrective action to add.
    #[serde(default)]
    pub action: Option<ActionRequest>,
    /// The id of a corrective action done.
    #[serde(default)]
    pub action_done: Option<String>,
    /// Close it (once secured and with every corrective action done).
    #[serde(default)]
    pub close: bool,
}

/// Secures, investigates, remediates or closes an incident.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/incidents/{id}", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "incident id")),
    request_body = IncidentUpdateRequest,
    responses((status = 200, description = "journaled", body = Recorded),
        (status = 400, description = "bad body, unknown action or nothing to update", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such incident", body = ErrorBody),
        (status = 409, description = "closed, already secured, or not ready to close", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn update_incident(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<IncidentUpdateRequest>,
) -> Result<Json<Recorded>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    let update = IncidentUpdate {
        secured: b.secured,
        root_cause: b.root_cause,
        action: b.action.map(|a| ActionInput {
            description: a.description,
            owner: a.owner,
            due_local_date: a.due_local_date,
        }),
        action_done: b.action_done,
        close: b.close,
    };
    Ok(Json(
        service
            .update_incident(&auth.ctx.actor, &id, update)
            .await?,
    ))
}

/// A case share to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    /// Who it is for (`Det. Ruiz, Springfield PD`).
    pub recipient: String,
    /// How long the link works, hours (1 to 720).
    pub ttl_hours: u32,
}

/// Creates a time-limited law-enforcement link to an incident's report (LEP-08).
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/incidents/{id}/shares", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "incident id")),
    request_body = ShareRequest,
    responses((status = 201, description = "journaled; the link's token is shown only here", body = ShareCreated),
        (status = 400, description = "bad body or lifetime", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such incident", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn create_share(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<ShareRequest>,
) -> Result<(StatusCode, Json<ShareCreated>), ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    let created = service
        .create_share(&auth.ctx.actor, &id, &b.recipient, b.ttl_hours)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The case shares with every access.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/shares", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = ShareList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
pub(super) async fn list_shares(
    auth: Authorized<perm::ReportsView>,
) -> Result<Json<ShareList>, ApiError> {
    Ok(Json(compliance_service(&auth.ctx.site)?.shares().await?))
}

/// Revokes a case share.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/shares/{share}/revoke", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("share" = String, Path, description = "share id")),
    responses((status = 200, description = "journaled", body = ShareRevoked),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such share", body = ErrorBody),
        (status = 409, description = "already revoked", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn revoke_share(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, share)): ApiPath<(String, String)>,
) -> Result<Json<ShareRevoked>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    Ok(Json(service.revoke_share(&auth.ctx.actor, &share).await?))
}
