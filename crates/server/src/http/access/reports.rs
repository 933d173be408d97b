//! Access records for restricted areas, the daily vault log (and its manual entries), who knows
//! the vault codes, and who may enter the surveillance room; the reports answer JSON, or with
//! `?format=csv|html|pdf` the rendered document.
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use strongroom_access::Command;
use strongroom_access_service::views::{
    RecordList, SurveillanceAccess, VaultCodeHolders, VaultLogView,
};
use strongroom_access_service::{Report, ReportFile};
use strongroom_compliance::report::Format;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Recorded, access_service, recorded};
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery, Authorized};
use crate::http::perm;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(access_records))
        .routes(routes!(vault_log))
        .routes(routes!(manual_vault_entry))
        .routes(routes!(vault_code_holders))
        .routes(routes!(surveillance_access))
}

/// Which records.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RecordsQuery {
    /// One person.
    #[serde(default)]
    person: Option<String>,
    /// One area.
    #[serde(default)]
    area: Option<String>,
    /// From, epoch ms (default a day before `to_ms`).
    #[serde(default)]
    from_ms: Option<i64>,
    /// To (exclusive), epoch ms (default now); at most 31 days after `from_ms`.
    #[serde(default)]
    to_ms: Option<i64>,
}

/// Access records for restricted areas (person, area, from_ms, to_ms; at most 31 days).
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/records", tag = "access",
    params(("site" = String, Path, description = "site id"), RecordsQuery),
    responses((status = 200, description = "success", body = RecordList),
        (status = 400, description = "bad query or window", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
async fn access_records(
    auth: Authorized<perm::ReportsView>,
    ApiQuery(q): ApiQuery<RecordsQuery>,
) -> Result<Json<RecordList>, ApiError> {
    let rt = access_service(&auth.ctx)?;
    Ok(Json(
        rt.records(q.person, q.area, q.from_ms, q.to_ms).await?,
    ))
}

/// Which report, in which format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// Local date `YYYY-MM-DD` (the vault log; default today).
    #[serde(default)]
    date: Option<String>,
    /// `json` (default), `csv`, `html` or `pdf`.
    #[serde(default)]
    format: Option<String>,
}

/// `json` or a report format.
fn parse_format(f: Option<&str>) -> Result<Option<Format>, ApiError> {
    match f {
        None | Some("json") => Ok(None),
        Some(s) => s
            .parse::<Format>()
            .map(Some)
            .map_err(|e| ApiError::BadRequest(e.to_string())),
    }
}

/// A report as JSON, or as a file (HTML inline, the others as attachments; never cached).
fn report_response<T: Serialize>(report: Report<T>) -> Response {
    let ReportFile { body, format, name } = match report {
        Report::Json(v) => return Json(v).into_response(),
        Report::File(f) => f,
    };
    let disposition = if format == Format::Html {
        format!("inline; filename=\"{name}.{}\"", format.extension())
    } else {
        format!("attachment; filename=\"{name}.{}\"", format.extension())
    };
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// Daily vault log for a local date (?date=YYYY-MM-DD&format=json|csv|html|pdf).
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/vault-log", tag = "access",
    params(("site" = String, Path, description = "site id"), ReportQuery),
    responses((status = 200, description = "the log as JSON, or the document in `format`", body = VaultLogView),
        (status = 400, description = "bad date or format", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
async fn vault_log(
    auth: Authorized<perm::ReportsView>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let rt = access_service(&auth.ctx)?;
    let format = parse_format(q.format.as_deref())?;
    Ok(report_response(
        rt.vault_log(q.date.as_deref(), format).await?,
    ))
}

/// A vault entry that left no electronic record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualEntryRequest {
    /// Person id.
    pub person: String,
    /// Vault area id.
    pub area: String,
    /// Time in, epoch ms.
    pub time_in_ms: i64,
    /// Time out, epoch ms.
    #[serde(default)]
    pub time_out_ms: Option<i64>,
    /// How the vault was opened (`key`, `combination`, ...).
    pub method: String,
    /// Why there is no electronic record.
    #[serde(default)]
    pub note: String,
}

/// Record a vault entry that left no electronic record.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/vault-log/manual-entries", tag = "access",
    params(("site" = String, Path, description = "site id")),
    request_body = ManualEntryRequest,
    responses((status = 201, description = "recorded", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such person or area", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
async fn manual_vault_entry(
    auth: Authorized<perm::ComplianceManage>,
    ApiJson(b): ApiJson<ManualEntryRequest>,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::RecordManualVaultEntry {
        person: b.person,
        area: b.area,
        time_in_ms: b.time_in_ms,
        time_out_ms: b.time_out_ms,
        method: b.method,
        note: b.note,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// Who knows vault/safe codes and who may open the vault (?format=json|csv|html|pdf).
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/vault-code-holders", tag = "access",
    params(("site" = String, Path, description = "site id"), ReportQuery),
    responses((status = 200, description = "JSON, or the document in `format`", body = VaultCodeHolders),
        (status = 400, description = "bad format", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
async fn vault_code_holders(
    auth: Authorized<perm::ReportsView>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let rt = access_service(&auth.ctx)?;
    let format = parse_format(q.format.as_deref())?;
    Ok(report_response(rt.vault_code_holders(format).await))
}

/// Who may enter the surveillance room (?format=json|csv|html|pdf).
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/surveillance-access", tag = "access",
    params(("site" = String, Path, description = "site id"), ReportQuery),
    responses((status = 200, description = "JSON, or the document in `format`", body = SurveillanceAccess),
        (status = 400, description = "bad format", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
async fn surveillance_access(
    auth: Authorized<perm::ReportsView>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let rt = access_service(&auth.ctx)?;
    let format = parse_format(q.format.as_deref())?;
    Ok(report_response(rt.surveillance_access(format).await))
}
