//! Findings (evaluating the site's rule pack now), an explicit evaluation, and the deadlines.
use axum::Json;
use strongroom_compliance_service::views::{Evaluation, FindingsView, TaskList};

use super::compliance_service;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::Authorized;
use crate::http::perm;

/// Evaluates the rule pack now (journaling what changed); the findings with citations.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/findings", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = FindingsView),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "compliance is not running, or no rule pack ships for the jurisdiction", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
pub(super) async fn get_findings(
    auth: Authorized<perm::ReportsView>,
) -> Result<Json<FindingsView>, ApiError> {
    Ok(Json(compliance_service(&auth.ctx.site)?.findings().await?))
}

/// Evaluates and journals changes now.
#[utoipa::path(post, path = "/api/v1/sites/{site}/compliance/evaluate", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "evaluated", body = Evaluation),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "compliance is not running, or no rule pack ships for the jurisdiction", body = ErrorBody)),
    security(("session" = ["compliance-manage"])))]
pub(super) async fn post_evaluate(
    auth: Authorized<perm::ComplianceManage>,
) -> Result<Json<Evaluation>, ApiError> {
    Ok(Json(compliance_service(&auth.ctx.site)?.evaluate().await?))
}

/// The deadlines with due dates (site-local) and states, by due date.
#[utoipa::path(get, path = "/api/v1/sites/{site}/compliance/tasks", tag = "compliance",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = TaskList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "compliance is not running, or no rule pack ships for the jurisdiction", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
pub(super) async fn get_tasks(
    auth: Authorized<perm::ReportsView>,
) -> Result<Json<TaskList>, ApiError> {
    Ok(Json(compliance_service(&auth.ctx.site)?.tasks().await?))
}
