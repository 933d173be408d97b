//! What the compliance service's API returns: typed views with OpenAPI schemas, so the HTTP layer
//! serves them as they are. Their JSON is the console's wire format (`assets/compliance.js`).
use serde::Serialize;
use strongroom_compliance::check::{Finding, Summary};
use strongroom_compliance::records::{
    Attestation, Incident, Inspection, Outage, Vendor, VendorChange,
};
use strongroom_compliance::schedule::{Task, TaskState};
use utoipa::ToSchema;

/// The rule pack evaluated.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackInfo {
    /// Pack id (`il-dispensary`).
    pub id: String,
    /// Title.
    pub title: String,
    /// The regulation.
    pub law: String,
    /// Effective date of the text, `YYYY-MM-DD`.
    pub effective: String,
    /// The regulator.
    pub regulator: String,
}

/// The findings of an evaluation, with citations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FindingsView {
    /// The pack.
    pub pack: PackInfo,
    /// When it was evaluated, epoch ms.
    pub evaluated_ms: i64,
    /// Counts by status.
    pub summary: Summary,
    /// Facts journaled by this evaluation (changes only).
    pub journaled: usize,
    /// The findings, in pack order.
    pub findings: Vec<Finding>,
}

/// An evaluation's outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluation {
    /// When, epoch ms.
    pub evaluated_ms: i64,
    /// Counts by status.
    pub summary: Summary,
    /// Facts journaled (changes only).
    pub journaled: usize,
}

/// A deadline with where it stands today.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// Its state today.
    pub state: TaskState,
    /// Days past due (0 if not overdue).
    pub days_overdue: i64,
}

/// The site's deadlines.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskList {
    /// The site-local date, `YYYY-MM-DD`.
    pub today: String,
    /// The site's time zone.
    pub timezone: String,
    /// Tasks by due date, then id.
    pub tasks: Vec<TaskView>,
}

/// Inspections and what can be inspected.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InspectionList {
    /// The ids of the devices the site model says are inspected and tested.
    pub devices: Vec<String>,
    /// The inspections recorded, oldest first.
    pub inspections: Vec<Inspection>,
}

/// A record was journaled.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recorded {
    /// The record's id.
    pub id: String,
    /// The journal sequence number of its fact.
    pub seq: u64,
}

/// An inspection was journaled.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InspectionRecorded {
    /// Its id.
    pub id: String,
    /// The journal sequence number.
    pub seq: u64,
    /// The inspection.
    pub inspection: Inspection,
}

/// An attestation item the pack asks for, for the console's form.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttestationItem {
    /// The requirement.
    pub requirement_id: String,
    /// Its citation.
    pub citation: String,
    /// Its title.
    pub title: String,
    /// The item to attest (`sign`).
    pub item: String,
    /// Its limits, as text.
    pub params: String,
}

/// Attestation items and attestations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttestationList {
    /// The items the pack asks for.
    pub items: Vec<AttestationItem>,
    /// The attestations recorded, oldest first.
    pub attestations: Vec<Attestation>,
}

/// An attestation was journaled.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttestationRecorded {
    /// Its id.
    pub id: String,
    /// The journal sequence number.
    pub seq: u64,
    /// The attestation.
    pub attestation: Attestation,
}

/// Incidents.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentList {
    /// Oldest first, with their updates.
    pub incidents: Vec<Incident>,
}

/// What became of the legal hold an incident asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct HoldOutcome {
    /// Whether the video subsystem placed it.
    pub placed: bool,
    /// The hold's id, when placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<i64>,
    /// True when it could not be placed and was journaled as `hold.requested`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<bool>,
    /// Why it could not be placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why none was asked for (no camera covers the areas named).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An incident was opened.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentOpened {
    /// Its id.
    pub id: String,
    /// The journal sequence number.
    pub seq: u64,
    /// The cameras held: those covering the areas, plus those named.
    pub cameras: Vec<String>,
    /// The legal hold.
    pub hold: HoldOutcome,
    /// The hold window's start, epoch ms.
    pub hold_from_ms: i64,
    /// The hold window's end, epoch ms.
    pub hold_to_ms: i64,
}

/// An outage with its report deadline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutageView {
    /// The outage.
    pub outage: Outage,
    /// The report's due date, `YYYY-MM-DD`, if the pack sets one.
    pub report_due_local_date: Option<String>,
    /// Whether that date may still move (the outage goes on).
    pub report_due_provisional: Option<bool>,
    /// Recording lost, summed over the cameras, ms.
    pub lost_ms: i64,
}

/// Outages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutageList {
    /// Oldest first.
    pub outages: Vec<OutageView>,
}

/// The approved vendor list and its changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VendorList {
    /// The vendors.
    pub vendors: Vec<Vendor>,
    /// The changes of the list, oldest first.
    pub changes: Vec<VendorChange>,
}

/// An opening of a case share link, or a refused attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareAccess {
    /// When, epoch ms.
    pub time_ms: i64,
    /// `case_share.accessed` or `case_share.refused`.
    pub kind: String,
    /// The client's address.
    pub client: String,
    /// The format served (accesses).
    pub format: String,
    /// Why it was refused (`expired`, `revoked`).
    pub reason: String,
}

/// A law-enforcement case share.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Share {
    /// Its id.
    pub share_id: String,
    /// The incident shared.
    pub incident_id: String,
    /// Who it is for.
    pub recipient: String,
    /// The SHA-256 of the link's token (never served).
    #[serde(skip)]
    pub token_sha256: String,
    /// When it was created, epoch ms.
    pub created_ms: i64,
    /// Who created it.
    pub created_by: String,
    /// When the link stops working, epoch ms.
    pub expires_ms: i64,
    /// When it was revoked.
    pub revoked_ms: Option<i64>,
    /// Every opening and refused attempt.
    pub accesses: Vec<ShareAccess>,
}

/// Case shares.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareList {
    /// Oldest first.
    pub shares: Vec<Share>,
}

/// A case share was created.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareCreated {
    /// Its id.
    pub share_id: String,
    /// When the link stops working, epoch ms.
    pub expires_ms: i64,
    /// The link (path and query; the token in it is shown only this once).
    pub url: String,
}

/// A case share was revoked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareRevoked {
    /// Its id.
    pub share_id: String,
    /// The journal sequence number.
    pub seq: u64,
}
