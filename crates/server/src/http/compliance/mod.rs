//! Compliance under `/api/v1/sites/{site}/compliance`: findings and deadlines, the records an
//! officer enters, incidents and case shares, outages and vendors, and the regulator reports.
//! Handlers authorize, translate, and map [`ComplianceError`] to HTTP; every rule and every
//! journaled fact is in `strongroom-compliance-service` and the `compliance` crate.
//!
//! - [`findings`]: findings, evaluation, tasks.
//! - [`records`]: inspections, maintenance, activities, attestations.
//! - [`incidents`]: incidents and law-enforcement case shares.
//! - [`outages`]: outages, their notices and reports, vendors and vendor-list changes.
//! - [`reports`]: report downloads and the case share link.
use std::sync::Arc;

use strongroom_compliance_service::engine::report::{Format, UnknownFormat};
use strongroom_compliance_service::{ComplianceError, ComplianceService};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::{AppState, SiteRuntime};

pub mod findings;
pub mod incidents;
pub mod outages;
pub mod records;
pub mod reports;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(findings::get_findings))
        .routes(routes!(findings::post_evaluate))
        .routes(routes!(findings::get_tasks))
        .routes(routes!(records::get_inspections, records::post_inspection))
        .routes(routes!(records::post_maintenance))
        .routes(routes!(records::post_activity))
        .routes(routes!(
            records::get_attestations,
            records::post_attestation
        ))
        .routes(routes!(incidents::get_incidents, incidents::post_incident))
        .routes(routes!(incidents::update_incident))
        .routes(routes!(incidents::create_share))
        .routes(routes!(incidents::list_shares))
        .routes(routes!(incidents::revoke_share))
        .routes(routes!(outages::get_outages))
        .routes(routes!(outages::update_outage))
        .routes(routes!(outages::outage_notified))
        .routes(routes!(outages::outage_submitted))
        .routes(routes!(outages::get_vendors))
        .routes(routes!(outages::vendor_change_submitted))
        .routes(routes!(reports::compliance_report))
        .routes(routes!(reports::open_share))
}

/// The site's compliance service.
pub(crate) fn compliance_service(site: &SiteRuntime) -> Result<Arc<ComplianceService>, ApiError> {
    site.compliance
        .get()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("compliance is not running on this site".into()))
}

/// A report format (`html`, `pdf`, `csv`), `default` if absent.
pub(crate) fn report_format(given: Option<&str>, default: &str) -> Result<Format, ApiError> {
    given
        .unwrap_or(default)
        .parse()
        .map_err(|e: UnknownFormat| ApiError::BadRequest(e.to_string()))
}

impl From<ComplianceError> for ApiError {
    fn from(e: ComplianceError) -> Self {
        match e {
            ComplianceError::BadRequest(m) => ApiError::BadRequest(m),
            ComplianceError::NotFound(m) => ApiError::NotFound(m),
            ComplianceError::Conflict(m) => ApiError::Conflict(m),
            ComplianceError::Refused(m) => ApiError::Forbidden(m),
            ComplianceError::Unavailable(m) => ApiError::Unavailable(m),
            ComplianceError::Journal(e) => ApiError::from(e),
            ComplianceError::Store(e) => ApiError::from(e),
            ComplianceError::Internal(m) => ApiError::Internal(m),
        }
    }
}
