//! The records an officer enters: inspections and tests, preventive maintenance, recurring
//! activities (meetings, drills, training) and attestations of physical items.
use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use strongroom_compliance_service::views::{
    AttestationList, AttestationRecorded, InspectionList, InspectionRecorded, Recorded,
};
use strongroom_compliance_service::{
    ActivityInput, AttestationInput, InspectionInput, MaintenanceInput,
};
use utoipa::ToSchema;

use super::compliance_service;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, Authorized};
use crate::http::perm;

/// The inspections and tests recorded, and the devices that are inspected.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/inspections", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = InspectionList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
pub(super) async fn get_inspections(
    auth: Authorized<perm::ReportsView>,
) -> Result<Json<InspectionList>, ApiError> {
    Ok(Json(
        compliance_service(&auth.ctx.site)?.inspections().await?,
    ))
}

/// An inspection and test.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionRequest {
    /// The device (one the site model says is inspected).
    pub device_id: String,
    /// Whether it passed.
    pub passed: bool,
    /// Who inspected (default: the caller).
    #[serde(default)]
    pub by: Option<String>,
    /// Notes (up to 2,000 characters).
    #[serde(default)]
    pub notes: String,
    /// When, epoch ms (default: now; not in the future).
    #[serde(default)]
    pub time_ms: Option<i64>,
}

/// Records an inspection and test.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/inspections", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    request_body = InspectionRequest,
    responses((status = 201, description = "journaled", body = InspectionRecorded),
        (status = 400, description = "bad body, unknown device or time in the future", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn post_inspection(
    auth: Authorized<perm::ComplianceManage>,
    ApiJson(b): ApiJson<InspectionRequest>,
) -> Result<(StatusCode, Json<InspectionRecorded>), ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    let input = InspectionInput {
        device_id: b.device_id,
        passed: b.passed,
        by: b.by,
        notes: b.notes,
        time_ms: b.time_ms,
    };
    let recorded = service.record_inspection(&auth.ctx.actor, input).await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}

/// A preventive-maintenance visit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceRequest {
    /// The vendor.
    pub vendor_id: String,
    /// What was maintained.
    pub scope: String,
    /// The vendor's report reference.
    #[serde(default)]
    pub report_ref: String,
    /// When, epoch ms (default: now).
    #[serde(default)]
    pub time_ms: Option<i64>,
}

/// Records preventive maintenance.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/maintenance", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    request_body = MaintenanceRequest,
    responses((status = 201, description = "journaled", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn post_maintenance(
    auth: Authorized<perm::ComplianceManage>,
    ApiJson(b): ApiJson<MaintenanceRequest>,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    let input = MaintenanceInput {
        vendor_id: b.vendor_id,
        scope: b.scope,
        report_ref: b.report_ref,
        time_ms: b.time_ms,
    };
    let recorded = service.record_maintenance(&auth.ctx.actor, input).await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}

/// A meeting, drill or training done.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityRequest {
    /// Its name: `a-z`, `0-9`, `_` (`le_meeting`, `emergency_drill`).
    pub activity: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// When, epoch ms (default: now).
    #[serde(default)]
    pub time_ms: Option<i64>,
}

/// Records a meeting, drill or training.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/activities", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    request_body = ActivityRequest,
    responses((status = 201, description = "journaled", body = Recorded),
        (status = 400, description = "bad body or activity name", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn post_activity(
    auth: Authorized<perm::ComplianceManage>,
    ApiJson(b): ApiJson<ActivityRequest>,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    let input = ActivityInput {
        activity: b.activity,
        notes: b.notes,
        time_ms: b.time_ms,
    };
    let recorded = service.record_activity(&auth.ctx.actor, input).await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}

/// The attestation items the pack asks for (with their limits) and the attestations.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/attestations", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = AttestationList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "no rule pack ships for the jurisdiction", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
pub(super) async fn get_attestations(
    auth: Authorized<perm::ReportsView>,
) -> Result<Json<AttestationList>, ApiError> {
    Ok(Json(
        compliance_service(&auth.ctx.site)?.attestations().await?,
    ))
}

/// An attestation of a physical item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    /// The pack's item (`sign`).
    pub item: String,
    /// What it is about (default `site`).
    #[serde(default)]
    pub subject: String,
    /// Whether the item is in place.
    pub in_place: bool,
    /// Measured values: decimal numbers or strings in the unit named by the key (`width_in`),
    /// at most 3 decimals.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, Value>,
    /// A choice among the pack's options.
    #[serde(default)]
    pub choice: Option<String>,
    /// Free text.
    #[serde(default)]
    pub text: Option<String>,
    /// An approval reference.
    #[serde(default)]
    pub approval_ref: Option<String>,
    /// Who attests (default: the caller).
    #[serde(default)]
    pub by: Option<String>,
}

/// Records an attestation with measured values.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/attestations", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    request_body = AttestationRequest,
    responses((status = 201, description = "journaled", body = AttestationRecorded),
        (status = 400, description = "bad body, unknown item or bad value", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "no rule pack ships for the jurisdiction", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn post_attestation(
    auth: Authorized<perm::ComplianceManage>,
    ApiJson(b): ApiJson<AttestationRequest>,
) -> Result<(StatusCode, Json<AttestationRecorded>), ApiError> {
    let service = compliance_service(&auth.ctx.site)?;
    let input = AttestationInput {
        item: b.item,
        subject: b.subject,
        in_place: b.in_place,
        values: b.values,
        choice: b.choice,
        text: b.text,
        approval_ref: b.approval_ref,
        by: b.by,
    };
    let recorded = service.record_attestation(&auth.ctx.actor, input).await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}
