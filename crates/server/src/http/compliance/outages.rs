//! Security-system outages (derived from device health): their details, the immediate notice
//! and the report submission; the approved vendor list and the submissions of its changes.
use axum::Json;
use serde::Deserialize;
use strongroom_compliance_service::views::{OutageList, Recorded, VendorList};
use strongroom_compliance_service::{Notice, OutageUpdate, Submission};
use utoipa::ToSchema;

use super::compliance_service;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, Authorized};
use crate::http::perm;

/// The outages with their lost spans and report due dates.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/outages", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = OutageList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "compliance is not running, or no rule pack ships for the jurisdiction", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
pub(super) async fn get_outages(
    auth: Authorized<perm::ReportsView>,
) -> Result<Json<OutageList>, ApiError> {
    Ok(Json(compliance_service(&auth.ctx.site)?.outages().await?))
}

/// Details of an outage (at least one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutageUpdateRequest {
    /// Its cause.
    #[serde(default)]
    pub cause: Option<String>,
    /// What was done about it.
    #[serde(default)]
    pub corrective_actions: Option<String>,
    /// When it was repaired, epoch ms.
    #[serde(default)]
    pub repaired_ms: Option<i64>,
    /// The regulator's approval of an extension.
    #[serde(default)]
    pub extension_approval_ref: Option<String>,
}

/// Adds cause, corrective actions, repair time or an extension approval to an outage.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/outages/{id}", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "outage id")),
    request_body = OutageUpdateRequest,
    responses((status = 200, description = "journaled", body = Recorded),
        (status = 400, description = "bad body or nothing to update", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such outage", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn update_outage(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<OutageUpdateRequest>,
) -> Result<Json<Recorded>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    let update = OutageUpdate {
        cause: b.cause,
        corrective_actions: b.corrective_actions,
        repaired_ms: b.repaired_ms,
        extension_approval_ref: b.extension_approval_ref,
    };
    Ok(Json(
        service.update_outage(&auth.ctx.actor, &id, update).await?,
    ))
}

/// The immediate notice of an outage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeRequest {
    /// How (`phone`, `email`).
    pub channel: String,
    /// To whom.
    pub recipient: String,
    /// When, epoch ms (default: now).
    #[serde(default)]
    pub time_ms: Option<i64>,
}

/// Records the immediate notice of an outage.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/outages/{id}/notified", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "outage id")),
    request_body = NoticeRequest,
    responses((status = 200, description = "journaled", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such outage", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn outage_notified(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<NoticeRequest>,
) -> Result<Json<Recorded>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    let notice = Notice {
        channel: b.channel,
        recipient: b.recipient,
        time_ms: b.time_ms,
    };
    Ok(Json(
        service
            .outage_notified(&auth.ctx.actor, &id, notice)
            .await?,
    ))
}

/// A report submitted to the regulator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmittedRequest {
    /// The submission's reference.
    #[serde(default)]
    pub reference: String,
    /// When, epoch ms (default: now).
    #[serde(default)]
    pub time_ms: Option<i64>,
}

impl From<SubmittedRequest> for Submission {
    fn from(b: SubmittedRequest) -> Self {
        Submission {
            reference: b.reference,
            time_ms: b.time_ms,
        }
    }
}

/// Records the submission of an outage's report.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/outages/{id}/submitted", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "outage id")),
    request_body = SubmittedRequest,
    responses((status = 200, description = "journaled", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such outage", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn outage_submitted(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<SubmittedRequest>,
) -> Result<Json<Recorded>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    Ok(Json(
        service
            .outage_submitted(&auth.ctx.actor, &id, b.into())
            .await?,
    ))
}

/// The approved vendor list and its changes.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/vendors", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = VendorList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
pub(super) async fn get_vendors(
    auth: Authorized<perm::ReportsView>,
) -> Result<Json<VendorList>, ApiError> {
    Ok(Json(compliance_service(&auth.ctx.site)?.vendors().await?))
}

/// Records the submission of a vendor-list change report.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/vendor-changes/{id}/submitted", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "vendor change id (`vc-SEQ`)")),
    request_body = SubmittedRequest,
    responses((status = 200, description = "journaled", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such change", body = ErrorBody),
        (status = 409, description = "already reported", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn vendor_change_submitted(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<SubmittedRequest>,
) -> Result<Json<Recorded>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    Ok(Json(
        service
            .vendor_change_submitted(&auth.ctx.actor, &id, b.into())
            .await?,
    ))
}
