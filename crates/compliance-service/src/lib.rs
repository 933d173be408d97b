//! Strongroom's compliance service: one site's compliance subsystem between the pure
//! `strongroom-compliance` engine and the HTTP layer. It knows nothing of HTTP.
//!
//! - [`start()`] builds a [`ComplianceService`] on a [`strongroom_store::service::ServiceCtx`]
//!   and a [`SitePorts`] (the site's configuration in force, the capabilities of the subsystems
//!   running, and legal holds, supplied by the server), and starts the scheduler that evaluates
//!   the site's pack every minute ([`ComplianceService::evaluate_and_journal`]).
//! - [`gather_records`] folds the journal into the engine's [`strongroom_compliance::Records`]:
//!   inspections, maintenance, attestations, incidents and activities recorded through this
//!   service; outages derived from `health.*_down` / `health.*_up` facts; vendors and vendor-list
//!   changes from the access subsystem's `person.*` / `vendor.*` facts; camera measurements from
//!   `video.segment` / `health.camera_clock_drift`. The folding rules are the engine's
//!   (`strongroom_compliance::journal`); this crate only reads and appends.
//! - The API (findings, tasks, inspections, maintenance, activities, attestations, incidents,
//!   outages, vendors, reports, case shares) returns the typed [`views`] or a
//!   [`ComplianceError`]. [`snapshot`], [`build_report`], [`vault_log_document`] and
//!   [`surveillance_access_document`] also serve the CLI's offline reports.
//!
//! Invariants:
//! - The journal is the only store; every record is appended before the caller is answered.
//! - The scheduler journals only changes: `compliance.finding` when a requirement's status
//!   changes, `task.opened` for a new deadline, `task.overdue` once per task and due date,
//!   `outage.opened` / `outage.closed` for derived outages. Deadlines are local dates in the
//!   site's time zone.
//! - A case share's token is never stored (only its SHA-256); every opening and every refused
//!   attempt on a known link is journaled before anything is served.
//! - The vault log's facts come through [`VaultLogFacts`], which the access subsystem supplies.
#![forbid(unsafe_code)]

mod documents;
mod error;
mod evaluate;
mod gather;
mod incidents;
mod input;
pub mod kinds;
mod outages;
mod ports;
mod records;
mod report;
mod service;
mod shares;
mod snapshot;
mod start;
pub mod views;

pub use documents::{surveillance_access_document, vault_log_document};
pub use error::{ComplianceError, StartError};
pub use gather::{build_capabilities, capabilities_of, gather_records};
pub use incidents::{ActionInput, IncidentInput, IncidentUpdate};
pub use outages::{Notice, OutageUpdate, Submission};
pub use ports::{HoldRequest, SitePorts, VaultLogFacts};
pub use records::{ActivityInput, AttestationInput, InspectionInput, MaintenanceInput};
pub use report::{RenderedReport, ReportError, ReportKind, build_report};
pub use service::ComplianceService;
pub use shares::MAX_SHARE_HOURS;
pub use snapshot::{Snapshot, snapshot};
pub use start::{StartedCompliance, start};
pub use strongroom_compliance as engine;
