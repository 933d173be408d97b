//! Check kinds, implemented once, evaluated against the site model and the records.
//!
//! [`evaluate`] is pure: `(pack, site, records, now_ms) -> findings`, one [`Finding`] per
//! requirement in pack order. Each finding names the requirement, its citation, a status, the
//! evidence (which records and which devices) and a remedy. Practice requirements are evaluated the
//! same way but reported with status `practice` and never scored (A39). Odd or out-of-range values
//! in records (negative measurements, missing fields) become failing findings, never panics.
//!
//! The module tree: `context` precomputes the lookups one evaluation shares and builds each
//! outcome; the check kinds live by family in `video` (cameras, recording, notification of
//! failures), `alarm_access` (locks, alarm points, vault, dispatch, backup power), `physical`
//! (attestations and counters), `deadlines` (intervals and reporting deadlines, through
//! [`crate::schedule`]) and `vendors_platform` (suppliers, vendors, platform capabilities).
use serde::{Deserialize, Serialize};
use strongroom_domain::site::SiteConfig;

use crate::pack::{Basis, Check, Pack, Requirement};
use crate::records::Records;

mod alarm_access;
mod context;
mod deadlines;
mod physical;
mod vendors_platform;
mod video;

use context::{Ctx, Outcome};

/// The outcome of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The check passed on the evidence.
    Pass,
    /// The check failed: a finding to fix.
    Fail,
    /// A physical item attested (and its measured values within limits).
    Attested,
    /// The requirement does not apply (exemption, nothing of the kind on the site).
    NotApplicable,
    /// A practice item: reported, not scored.
    Practice,
}

impl Status {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Attested => "attested",
            Status::NotApplicable => "not_applicable",
            Status::Practice => "practice",
        }
    }
}

/// One evaluated requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    /// Requirement id (`VID-03`).
    pub requirement_id: String,
    /// Citation (`IL 1291.300(e)(1)(E)`).
    pub citation: String,
    /// Requirement title.
    pub title: String,
    /// Law or practice.
    pub basis: Basis,
    /// Check kind.
    pub check: String,
    /// Reported status (`practice` for practice items).
    pub status: Status,
    /// What the check itself concluded (differs from `status` for practice items).
    pub check_status: Status,
    /// One-line summary.
    pub summary: String,
    /// Evidence lines: what was looked at and what was found.
    pub evidence: Vec<String>,
    /// Devices (or doors, areas) involved in a failure, or checked on a pass.
    pub devices: Vec<String>,
    /// Record ids used (inspections, attestations, outages, ...).
    pub records: Vec<String>,
    /// What to do about a failure.
    pub remedy: String,
    /// The interpretation adopted, from the pack.
    pub note: Option<String>,
}

/// Counts of findings by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Attested.
    pub attested: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Practice (not scored).
    pub practice: usize,
}

/// Counts findings by status.
pub fn summarize(findings: &[Finding]) -> Summary {
    let mut s = Summary::default();
    for f in findings {
        match f.status {
            Status::Pass => s.pass += 1,
            Status::Fail => s.fail += 1,
            Status::Attested => s.attested += 1,
            Status::NotApplicable => s.not_applicable += 1,
            Status::Practice => s.practice += 1,
        }
    }
    s
}

/// Evaluates every requirement of `pack` against the site and records at `now_ms`.
pub fn evaluate(pack: &Pack, site: &SiteConfig, records: &Records, now_ms: i64) -> Vec<Finding> {
    let ctx = Ctx::new(site, records, now_ms);
    pack.requirements
        .iter()
        .map(|r| evaluate_one(&ctx, r))
        .collect()
}

fn evaluate_one(ctx: &Ctx<'_>, req: &Requirement) -> Finding {
    let outcome = match exemption(ctx, req) {
        Some(o) => o,
        None => run(ctx, req),
    };
    let check_status = outcome.status.unwrap_or(Status::Pass);
    let (status, summary) = if req.basis == Basis::Practice {
        (
            Status::Practice,
            format!(
                "(practice, not scored; check says {}) {}",
                check_status.as_str(),
                outcome.summary
            ),
        )
    } else {
        (check_status, outcome.summary)
    };
    Finding {
        requirement_id: req.id.clone(),
        citation: req.citation.clone(),
        title: req.title.clone(),
        basis: req.basis,
        check: req.check.kind().to_owned(),
        status,
        check_status,
        summary,
        evidence: outcome.evidence,
        devices: outcome.devices,
        records: outcome.records,
        remedy: req
            .remedy
            .clone()
            .unwrap_or_else(|| default_remedy(&req.check)),
        note: req.note.clone(),
    }
}

fn exemption(ctx: &Ctx<'_>, req: &Requirement) -> Option<Outcome> {
    let before = req.exempt_if_operating_before?;
    let since = ctx.records.site.operating_since?;
    if since < before && ctx.records.site.relocated_on.is_none() {
        let mut o = Outcome::with(
            Status::NotApplicable,
            format!(
                "exempt: operating at this site since {since}, before {before}, and not relocated"
            ),
        );
        o.ev("exemption ends when a relocation is recorded (VLT-11)".into());
        Some(o)
    } else {
        None
    }
}

fn default_remedy(check: &Check) -> String {
    match check {
        Check::CameraAtDoors { purpose, .. } | Check::CameraOnAreas { purpose, .. } => format!(
            "Install or re-aim a camera{} and list the door/area in its coverage in the site file.",
            video::tagged(purpose.as_deref())
        ),
        Check::FrameRate { .. } => "Raise the camera's recording frame rate (or replace the camera) and re-measure.".into(),
        Check::FacePixels { .. } => "Re-aim, zoom or replace the camera; re-measure pixels across a face from a test image at the door capture line.".into(),
        Check::Resolution { .. } => "Set the recording profile to at least the required resolution (D1 = 720x480).".into(),
        Check::RecordingMode { .. } => "Change the camera's recording mode to one the rule allows.".into(),
        Check::ClockSync { .. } => "Point the camera at the site time source (NTP) and verify the offset.".into(),
        Check::Retention { .. } => "Add storage or lower the bitrate so every camera keeps the required days; never purge early.".into(),
        Check::FailureNotification { .. } => "Configure a failure-notification chain (applies_to health.*) whose first step reaches a designated person over an allowed channel within the limit.".into(),
        Check::ElectronicLocks { .. } => "Fit electronic locks on an access-control controller to the listed doors.".into(),
        Check::SensorInAreas { .. } | Check::SensorAtDoors { .. } => "Install and program the missing alarm points and add them to the site file.".into(),
        Check::VaultDualAuth => "Require two factors at the vault reader (card + the employee's own PIN, or biometric + PIN).".into(),
        Check::BackupAlarmSupplier => "Contract a back-up alarm system from a different supplier and record the regulator's approval reference.".into(),
        Check::DispatchRoute => "Configure the central station route for panic, holdup, duress and intrusion alarms.".into(),
        Check::InspectionInterval { .. } => "Inspect and test the listed devices now and record the results in the inspection log.".into(),
        Check::MaintenanceInterval { .. } => "Schedule preventive maintenance with an approved vendor and record the visit.".into(),
        Check::ReportDeadline { .. } => "Submit the overdue reports to the regulator and record the submission.".into(),
        Check::RepairDeadline { .. } => "Repair or replace the failed component, or notify the regulator and record the approved extension.".into(),
        Check::PowerBackup { .. } => "Put the listed devices on a UPS or generator with enough runtime at measured load.".into(),
        Check::Attestation { .. } | Check::CounterHeight { .. } => "Fix the physical item and record a new attestation with measured values and a photo.".into(),
        Check::VendorApproved { .. } => "Record the vendor's license number or approval reference, or use an approved vendor.".into(),
        Check::Capability { .. } => "Enable and verify the platform function; the server must report it in service.".into(),
        Check::RecurringActivity { .. } => "Hold the activity and record it.".into(),
    }
}

/// Runs the requirement's check kind, in the family module that implements it.
fn run(ctx: &Ctx<'_>, req: &Requirement) -> Outcome {
    match &req.check {
        Check::CameraAtDoors { doors, purpose } => {
            video::camera_at_doors(ctx, *doors, purpose.as_deref())
        }
        Check::CameraOnAreas { areas, purpose } => {
            video::camera_on_areas(ctx, areas, purpose.as_deref())
        }
        Check::FrameRate { min_fps, measure } => video::frame_rate(ctx, *min_fps, *measure),
        Check::FacePixels {
            min_face_pixels,
            purpose,
        } => video::face_pixels(ctx, *min_face_pixels, purpose),
        Check::Resolution {
            min_width_px,
            min_height_px,
        } => video::resolution(ctx, *min_width_px, *min_height_px),
        Check::RecordingMode { allowed_modes } => video::recording_mode(ctx, allowed_modes),
        Check::ClockSync { max_offset_ms } => video::clock_sync(ctx, *max_offset_ms),
        Check::Retention { retention_days } => video::retention(ctx, *retention_days),
        Check::FailureNotification {
            within_minutes,
            allowed_channels,
            email_alone_allowed,
        } => video::failure_notification(
            ctx,
            *within_minutes,
            allowed_channels,
            *email_alone_allowed,
        ),
        Check::ElectronicLocks { areas } => alarm_access::electronic_locks(ctx, areas),
        Check::SensorInAreas {
            sensor_kinds,
            areas,
        } => alarm_access::sensor_in_areas(ctx, sensor_kinds, areas),
        Check::SensorAtDoors {
            sensor_kinds,
            doors,
        } => alarm_access::sensor_at_doors(ctx, sensor_kinds, *doors),
        Check::VaultDualAuth => alarm_access::vault_dual_auth(ctx),
        Check::BackupAlarmSupplier => vendors_platform::backup_alarm_supplier(ctx),
        Check::DispatchRoute => alarm_access::dispatch_route(ctx),
        Check::InspectionInterval { .. }
        | Check::MaintenanceInterval { .. }
        | Check::ReportDeadline { .. }
        | Check::RepairDeadline { .. }
        | Check::RecurringActivity { .. } => deadlines::schedule_check(ctx, req),
        Check::PowerBackup {
            min_runtime_hours,
            scope,
        } => alarm_access::power_backup(ctx, *min_runtime_hours, *scope),
        Check::Attestation {
            item,
            per,
            limits,
            required_text,
            choices,
            max_age_days,
        } => physical::attestation(
            ctx,
            item,
            per,
            limits,
            required_text.as_deref(),
            choices,
            *max_age_days,
        ),
        Check::CounterHeight {
            min_height_milli_in,
            short_max_length_milli_in,
            short_min_height_milli_in,
            short_max_height_milli_in,
        } => physical::counter_height(
            ctx,
            *min_height_milli_in,
            *short_max_length_milli_in,
            *short_min_height_milli_in,
            *short_max_height_milli_in,
        ),
        Check::VendorApproved { role, require } => {
            vendors_platform::vendor_approved(ctx, role, require)
        }
        Check::Capability { capability } => vendors_platform::capability(ctx, capability),
    }
}

#[cfg(test)]
mod tests;
