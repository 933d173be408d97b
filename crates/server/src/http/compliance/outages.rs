//! Security-system outages (derived from device health): their details, the immediate notice
//! and the report submission; the approved vendor list and the submissions of its changes.
use axum::Json;
use strongroom_compliance_service::views::{OutageList, Recorded, VendorList};
use strongroom_compliance_service::{Notice, OutageUpdate, Submission};

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

/// Adds cause, corrective actions, repair time or an extension approval to an outage.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/outages/{id}", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "outage id")),
    request_body = OutageUpdate,
    responses((status = 200, description = "journaled", body = Recorded),
        (status = 400, description = "bad body or nothing to update", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such outage", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn update_outage(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(update): ApiJson<OutageUpdate>,
) -> Result<Json<Recorded>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    Ok(Json(
        service.update_outage(&auth.ctx.actor, &id, update).await?,
    ))
}

/// Records the immediate notice of an outage.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/outages/{id}/notified", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "outage id")),
    request_body = Notice,
    responses((status = 200, description = "journaled", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such outage", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn outage_notified(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(notice): ApiJson<Notice>,
) -> Result<Json<Recorded>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    Ok(Json(
        service
            .outage_notified(&auth.ctx.actor, &id, notice)
            .await?,
    ))
}

/// Records the submission of an outage's report.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/outages/{id}/submitted", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "outage id")),
    request_body = Submission,
    responses((status = 200, description = "journaled", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such outage", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn outage_submitted(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(submission): ApiJson<Submission>,
) -> Result<Json<Recorded>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    Ok(Json(
        service
            .outage_submitted(&auth.ctx.actor, &id, submission)
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
    request_body = Submission,
    responses((status = 200, description = "journaled", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such change", body = ErrorBody),
        (status = 409, description = "already reported", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn vendor_change_submitted(
    auth: Authorized<perm::ComplianceManage>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
    ApiJson(submission): ApiJson<Submission>,
) -> Result<Json<Recorded>, ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    Ok(Json(
        service
            .vendor_change_submitted(&auth.ctx.actor, &id, submission)
            .await?,
    ))
}
