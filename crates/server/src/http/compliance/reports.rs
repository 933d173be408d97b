//! Regulator reports as downloads (HTML, PDF or CSV; each journaled as `report.generated`), and
//! the case share link a law-enforcement recipient opens without a session.
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use strongroom_compliance_service::{RenderedReport, ReportKind};
use utoipa::IntoParams;

use super::{compliance_service, report_format};
use crate::api::ClientAddr;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiPath, ApiQuery, Authorized};
use crate::http::perm;
use crate::state::AppState;

/// How to render a report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `html`, `pdf` or `csv` (default: `html` for reports, `pdf` for a case share).
    #[serde(default)]
    pub format: Option<String>,
    /// One outage or incident (default: all of them).
    #[serde(default)]
    pub id: Option<String>,
}

/// A rendered report as an attachment that is never cached.
fn download(r: RenderedReport) -> Response {
    let mut res = (StatusCode::OK, r.bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(r.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", r.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A report: `compliance`, `inspection-log`, `outage`, `vendors` or `incident`; journaled.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/reports/{report}", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("report" = String, Path, description = "`compliance`, `inspection-log`, `outage`, `vendors` or `incident`"),
        ReportQuery),
    responses((status = 200, description = "the report (HTML; PDF or CSV by `format`)", body = [u8], content_type = "text/html"),
        (status = 400, description = "unknown report or format", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such outage or incident", body = ErrorBody),
        (status = 503, description = "compliance is not running, or no rule pack ships for the jurisdiction", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
pub(super) async fn compliance_report(
    auth: Authorized<perm::ReportsView>,
    ApiPath((_site, name)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let kind: ReportKind = name.parse().map_err(ApiError::BadRequest)?;
    let format = report_format(q.format.as_deref(), "html")?;
    let service = compliance_service(&auth.ctx.site)?;
    let report = service
        .report(&auth.ctx.actor, kind, format, q.id.as_deref())
        .await?;
    Ok(download(report))
}

/// Opens a case share: the link's unguessable token is the authorization. Every opening, and
/// every refused attempt on a known link, is journaled before anything is sent; an unknown token
/// is a plain 404.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/shared/{token}", tag = "compliance",
    params(("site" = String, Path, description = "site id"),
        ("token" = String, Path, description = "the link's token (64 hex digits)"),
        ReportQuery),
    responses((status = 200, description = "the incident report (PDF; HTML or CSV by `format`)", body = [u8], content_type = "application/pdf"),
        (status = 400, description = "bad format", body = ErrorBody),
        (status = 403, description = "the link is expired or revoked (journaled)", body = ErrorBody),
        (status = 404, description = "no such case share", body = ErrorBody)),
    security(()))]
pub(super) async fn open_share(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiPath((site, token)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let format = report_format(q.format.as_deref(), "pdf")?;
    let not_found = || ApiError::NotFound("case share".into());
    let Some(rt) = state.all_sites().into_iter().find(|x| x.id == site) else {
        return Err(not_found());
    };
    let Some(service) = rt.compliance.get().cloned() else {
        return Err(not_found());
    };
    Ok(download(service.open_share(&token, format, &client).await?))
}
