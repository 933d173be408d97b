//! Records: the facts the server gathers (from the journal, devices and compliance workflows) that
//! checks evaluate alongside the site model.
//!
//! Everything is plain data with integer units in the names (`fps_milli`, `time_ms`,
//! `runtime_minutes`, measured values in thousandths of their unit). Times are epoch milliseconds
//! UTC; local calendar dates are computed in the site's time zone by [`crate::schedule`].
use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use strongroom_domain::site::{Channel, RecordingMode};

/// Everything the compliance engine knows beyond the site file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Records {
    /// Facts about the licensee (operating since, relocation).
    pub site: SiteFacts,
    /// Latest measurements per camera.
    pub cameras: Vec<CameraMeasurement>,
    /// Inspections and tests, per device.
    pub inspections: Vec<Inspection>,
    /// Preventive maintenance visits.
    pub maintenance: Vec<Maintenance>,
    /// Security-system outages.
    pub outages: Vec<Outage>,
    /// Vendors and service professionals.
    pub vendors: Vec<Vendor>,
    /// Changes to the approved vendor list.
    pub vendor_changes: Vec<VendorChange>,
    /// Diversion, theft and loss incidents.
    pub incidents: Vec<Incident>,
    /// Attestations of physical items.
    pub attestations: Vec<Attestation>,
    /// Notification channels the server has a working provider for.
    pub channels_configured: Vec<Channel>,
    /// Alarm system suppliers.
    pub alarm_suppliers: AlarmSuppliers,
    /// Whether the vault door policy requires two factors (card + own PIN, or biometric + PIN).
    pub vault_dual_auth_configured: bool,
    /// Areas exempt from camera coverage, with the legal reason (A36).
    pub coverage_exemptions: Vec<CoverageExemption>,
    /// Backup power (UPS, generator) and the devices on it.
    pub power_backups: Vec<PowerBackup>,
    /// Platform capabilities the server reports as in service (`video.export.signed`, ...).
    pub capabilities: Vec<String>,
    /// Recurring activities done (law-enforcement meetings, drills, training).
    pub activities: Vec<Activity>,
}

/// Facts about the licensee.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteFacts {
    /// The date the organization started operating at this site.
    pub operating_since: Option<Date>,
    /// The date it relocated, if it did.
    pub relocated_on: Option<Date>,
}

/// A camera's measured properties (from the recorder and the latest inspection).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraMeasurement {
    /// Camera id in the site file.
    pub camera_id: String,
    /// When measured.
    pub time_ms: i64,
    /// Lowest recorded frame rate over the measurement window, in thousandths of fps.
    pub recorded_fps_milli: Option<u32>,
    /// Capture capability reported by the device (overrides the site file's `capable_fps`).
    pub capable_fps: Option<u32>,
    /// Recorded width.
    pub width_px: Option<u32>,
    /// Recorded height.
    pub height_px: Option<u32>,
    /// Pixels across a face at the door capture line, from the latest test image (A1).
    pub face_pixels: Option<u32>,
    /// Whole days of recorded history available now.
    pub recorded_days_available: Option<u32>,
    /// Camera clock minus the platform's time reference.
    pub clock_offset_ms: Option<i64>,
    /// Recording mode the recorder actually runs (overrides the site file).
    pub recording_mode: Option<RecordingMode>,
    /// Extra purpose tags not in the site model (`height_strip`, `plate_capture`, ...).
    pub extra_purposes: Vec<String>,
}

/// One inspection and test of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Inspection {
    /// Record id.
    pub id: String,
    /// Device id in the site file (camera, sensor, reader, panel, door).
    pub device_id: String,
    /// When it was done.
    pub time_ms: i64,
    /// Who did it (person or vendor name).
    pub by: String,
    /// Whether the device passed.
    pub passed: bool,
    /// Steps, results, deficiencies.
    pub notes: String,
}

/// A preventive-maintenance visit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Maintenance {
    /// Record id.
    pub id: String,
    /// When it was done.
    pub time_ms: i64,
    /// The vendor's id.
    pub vendor_id: String,
    /// What was covered.
    pub scope: String,
    /// The vendor's report reference.
    pub report_ref: String,
}

/// A span of lost recording on one camera.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LostSpan {
    /// Camera id.
    pub camera_id: String,
    /// First missing instant.
    pub start_ms: i64,
    /// End of the gap (exclusive).
    pub end_ms: i64,
}

/// A security-system outage (any loss of recording, alarm or access function; A10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Outage {
    /// Record id.
    pub id: String,
    /// Onset.
    pub start_ms: i64,
    /// Recovery; none while ongoing.
    pub end_ms: Option<i64>,
    /// Cause as known.
    pub cause: String,
    /// Devices affected.
    pub affected_devices: Vec<String>,
    /// Exact recording gaps.
    pub lost_spans: Vec<LostSpan>,
    /// When the regulator was told (the "immediately" notice).
    pub notified_ms: Option<i64>,
    /// When the outage report was submitted.
    pub report_submitted_ms: Option<i64>,
    /// When a failed component was repaired or replaced.
    pub repaired_ms: Option<i64>,
    /// Regulator approval reference for a repair extension (OH-P (B)(4)(i)).
    pub extension_approval_ref: Option<String>,
    /// Notifications sent (channel, recipient, time), as text lines.
    pub notifications: Vec<String>,
    /// Corrective actions, as text.
    pub corrective_actions: String,
}

/// Approval status of a vendor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VendorStatus {
    /// Submitted, not yet approved.
    #[default]
    Pending,
    /// Approved by the regulator.
    Approved,
    /// Removed from the list.
    Removed,
}

/// A vendor or service professional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Vendor {
    /// Id.
    pub id: String,
    /// Individual's name.
    pub name: String,
    /// Company.
    pub company: String,
    /// Contact details.
    pub contact: String,
    /// Type of business or service.
    pub service: String,
    /// Roles (`installer`, `maintenance`, `alarm_primary`, ...).
    pub roles: Vec<String>,
    /// Approval status.
    pub status: VendorStatus,
    /// Regulator approval reference.
    pub approval_ref: Option<String>,
    /// State license number (private alarm contractor).
    pub license_number: Option<String>,
}

/// What changed on the vendor list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Added (needs approval before work).
    #[default]
    Added,
    /// Removed.
    Removed,
    /// Contact or service details changed.
    Changed,
}

/// One change to the approved vendor list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct VendorChange {
    /// Record id.
    pub id: String,
    /// Vendor id.
    pub vendor_id: String,
    /// What changed.
    pub change: ChangeKind,
    /// When the change was made.
    pub time_ms: i64,
    /// Details.
    pub detail: String,
    /// When it was reported to the regulator.
    pub submitted_ms: Option<i64>,
}

/// A corrective action after an incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct CorrectiveAction {
    /// Id.
    pub id: String,
    /// What is to be done.
    pub description: String,
    /// Owner.
    pub owner: String,
    /// Local due date.
    pub due_local_date: Option<Date>,
    /// When done.
    pub done_ms: Option<i64>,
}

/// A diversion, theft or loss incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Incident {
    /// Record id.
    pub id: String,
    /// `diversion`, `theft` or `loss`.
    pub kind: String,
    /// When discovered.
    pub discovered_ms: i64,
    /// Reporter.
    pub reporter: String,
    /// What happened.
    pub description: String,
    /// Product and currency affected.
    pub affected: String,
    /// When product and currency were secured.
    pub secured_ms: Option<i64>,
    /// Cameras held for evidence.
    pub cameras: Vec<String>,
    /// Root cause found by the investigation.
    pub root_cause: String,
    /// Corrective actions.
    pub actions: Vec<CorrectiveAction>,
    /// When closed.
    pub closed_ms: Option<i64>,
}

/// An attestation of a physical item, optionally with measured values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Attestation {
    /// Record id.
    pub id: String,
    /// Item name, as packs name it (`sign`, `counter`, `pass_through`, `monitor`, ...).
    pub item: String,
    /// What it is about: a door id, a counter segment id, `site`.
    pub subject: String,
    /// When attested.
    pub time_ms: i64,
    /// Who attested.
    pub by: String,
    /// Measured values in thousandths of the unit named in the key (`width_in` = 12000 for 12").
    pub values_milli: BTreeMap<String, i64>,
    /// The option chosen (construction option), if any.
    pub choice: Option<String>,
    /// The text found (sign wording), if any.
    pub text: Option<String>,
    /// Regulator approval reference (comparable materials, alternates).
    pub approval_ref: Option<String>,
    /// Whether the attester says the item is in place and in order.
    pub in_place: bool,
}

/// An alarm supplier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Supplier {
    /// Company identifier (registration number or tax id): equality means same supplier.
    pub company_id: String,
    /// Company name.
    pub name: String,
}

/// Primary and back-up alarm system suppliers (OH 3796:3-2-05(C)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlarmSuppliers {
    /// Primary security system supplier.
    pub primary: Option<Supplier>,
    /// Back-up alarm system supplier.
    pub backup: Option<Supplier>,
    /// Regulator approval of the back-up system.
    pub backup_approval_ref: Option<String>,
}

/// An area exempted from camera coverage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CoverageExemption {
    /// Area id.
    pub area_id: String,
    /// The law that prohibits recording there.
    pub legal_reason: String,
    /// Who approved the exemption.
    pub approver: String,
}

/// A UPS or generator and the devices it carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PowerBackup {
    /// Id.
    pub id: String,
    /// Device ids carried; `*` means every device.
    pub devices: Vec<String>,
    /// Rated runtime at measured load.
    pub runtime_minutes: u32,
}

/// A recurring activity done (meeting, drill, training).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Activity {
    /// Id.
    pub id: String,
    /// Activity name, as packs name it (`le_meeting`, `emergency_drill`, ...).
    pub activity: String,
    /// When.
    pub time_ms: i64,
    /// Notes.
    pub notes: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_as_json_with_defaults() {
        let mut r = Records {
            vault_dual_auth_configured: true,
            channels_configured: vec![Channel::Sms],
            ..Records::default()
        };
        r.site.operating_since = Some(jiff::civil::date(2022, 12, 31));
        let mut a = Attestation {
            id: "a".into(),
            item: "sign".into(),
            ..Attestation::default()
        };
        a.values_milli.insert("width_in".into(), 12_000);
        r.attestations.push(a);
        let json = serde_json::to_string(&r).expect("serialize");
        assert!(
            json.contains("\"operating_since\":\"2022-12-31\""),
            "{json}"
        );
        let back: Records = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, r);
        // Every field may be left out.
        let sparse: Records =
            serde_json::from_str(r#"{"cameras":[{"camera_id":"c1","recorded_fps_milli":8000}]}"#)
                .expect("sparse");
        assert_eq!(sparse.cameras[0].recorded_fps_milli, Some(8000));
        assert!(
            serde_json::from_str::<Records>(r#"{"cameras":[{"recorded_fps_milli":-1}]}"#).is_err(),
            "negative fps rejected at the boundary"
        );
    }
}
