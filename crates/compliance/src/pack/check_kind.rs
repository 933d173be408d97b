//! The check kinds: [`Check`] with its typed parameters, the [`CHECK_KINDS`] table packs are
//! validated against, and the one-line parameter summaries of `strongroom rules list`.
use serde::{Deserialize, Serialize};
use strongroom_domain::site::{Channel, RecordingMode, SensorKind};

use super::param_types::{
    AreaSelector, DeadlineEvent, DoorSelector, FpsMeasure, Interval, Limit, PowerScope, Subjects,
    VendorProof, fmt_milli,
};
use super::{enum_name, enum_names};

/// A check kind with its parameters, implemented once in [`crate::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// Each selected door is in view of a camera (with the purpose, if given).
    CameraAtDoors {
        /// Doors to check.
        doors: DoorSelector,
        /// Camera purpose tag required (`face`, `height_strip`, ...).
        purpose: Option<String>,
    },
    /// Each selected area is in view of a camera (with the purpose, if given), or exempted.
    CameraOnAreas {
        /// Areas to check.
        areas: AreaSelector,
        /// Camera purpose tag required.
        purpose: Option<String>,
    },
    /// Frame rate per camera.
    FrameRate {
        /// Minimum frames per second.
        min_fps: u32,
        /// Recorded or capable.
        measure: FpsMeasure,
    },
    /// Pixels across a face for cameras with the purpose tag (IL "80 pixels", A1).
    FacePixels {
        /// Minimum pixels across the face width.
        min_face_pixels: u32,
        /// Purpose tag of the cameras it applies to.
        purpose: String,
    },
    /// Recorded resolution per camera.
    Resolution {
        /// Minimum width.
        min_width_px: u32,
        /// Minimum height.
        min_height_px: u32,
    },
    /// Recording mode per camera.
    RecordingMode {
        /// Allowed modes.
        allowed_modes: Vec<RecordingMode>,
    },
    /// Camera clock offset from the platform's time reference.
    ClockSync {
        /// Largest allowed offset.
        max_offset_ms: u32,
    },
    /// Recorded history available per camera reaches the retention minimum.
    Retention {
        /// Minimum retention in calendar days.
        retention_days: u32,
    },
    /// The failure-notification chain reaches a person in time over allowed channels.
    FailureNotification {
        /// Limit from failure to notification.
        within_minutes: u32,
        /// Channels the law allows.
        allowed_channels: Vec<Channel>,
        /// Whether email may be the only channel.
        email_alone_allowed: bool,
    },
    /// Doors on the selected areas have electronic locks.
    ElectronicLocks {
        /// Areas whose doors need electronic locks.
        areas: AreaSelector,
    },
    /// Each selected area holds a sensor of one of the kinds.
    SensorInAreas {
        /// Acceptable sensor kinds.
        sensor_kinds: Vec<SensorKind>,
        /// Areas to check.
        areas: AreaSelector,
    },
    /// Each selected door's inner area holds a sensor of one of the kinds.
    SensorAtDoors {
        /// Acceptable sensor kinds.
        sensor_kinds: Vec<SensorKind>,
        /// Doors to check.
        doors: DoorSelector,
    },
    /// Vault door uses dual authentication with a keypad reader.
    VaultDualAuth,
    /// A back-up alarm system from a different supplier, with an approval reference.
    BackupAlarmSupplier,
    /// Alarms have a dispatch route (central station).
    DispatchRoute,
    /// Every device inspected and tested within the interval.
    InspectionInterval {
        /// The interval.
        interval: Interval,
    },
    /// Preventive maintenance within the interval.
    MaintenanceInterval {
        /// The interval.
        interval: Interval,
        /// The vendor must be approved.
        approved_vendor: bool,
    },
    /// Reports due a number of calendar days after an event.
    ReportDeadline {
        /// The event.
        event: DeadlineEvent,
        /// Calendar days allowed.
        due_calendar_days: u32,
    },
    /// Failed video components repaired within a number of hours unless an extension is approved.
    RepairDeadline {
        /// Hours allowed.
        within_hours: u32,
    },
    /// Backup power runtime for the devices in scope.
    PowerBackup {
        /// Minimum runtime.
        min_runtime_hours: u32,
        /// Devices in scope.
        scope: PowerScope,
    },
    /// An attestation of a physical item, with measured values checked against limits.
    Attestation {
        /// Attestation item name (`sign`, `vault_construction`, ...).
        item: String,
        /// Who each attestation is about.
        per: Subjects,
        /// Limits on measured values.
        limits: Vec<Limit>,
        /// Exact wording required, if any.
        required_text: Option<String>,
        /// Allowed choices (construction options), if any.
        choices: Vec<String>,
        /// Attestations older than this many days do not count.
        max_age_days: Option<u32>,
    },
    /// IL counter rule: height ≥ 48", or a segment ≤ 36" long between 33" and 36" high.
    CounterHeight {
        /// Full-height minimum, thousandths of an inch.
        min_height_milli_in: i64,
        /// Longest short segment, thousandths of an inch.
        short_max_length_milli_in: i64,
        /// Short segment lowest height.
        short_min_height_milli_in: i64,
        /// Short segment highest height.
        short_max_height_milli_in: i64,
    },
    /// Vendors with a role hold a license or an approval reference.
    VendorApproved {
        /// Vendor role (`installer`, `maintenance`, ...).
        role: String,
        /// What they must hold.
        require: VendorProof,
    },
    /// A platform capability the server reports as in service.
    Capability {
        /// Capability name (`video.export.signed`, ...).
        capability: String,
    },
    /// A recurring activity (meeting, drill, training) within an interval.
    RecurringActivity {
        /// Activity name.
        activity: String,
        /// The interval.
        interval: Interval,
    },
}

/// Every check kind: name, parameters (`?` marks optional ones), what it does.
pub const CHECK_KINDS: &[(&str, &[&str], &str)] = &[
    (
        "camera_at_doors",
        &["doors", "purpose?"],
        "a camera (with the purpose) views each selected door",
    ),
    (
        "camera_on_areas",
        &["area_kinds", "purpose?"],
        "a camera (with the purpose) views each selected area, or it is exempted",
    ),
    (
        "frame_rate",
        &["min_fps", "measure"],
        "recorded or capable frames per second per camera",
    ),
    (
        "face_pixels",
        &["min_face_pixels", "purpose?"],
        "pixels across a face for face cameras",
    ),
    (
        "resolution",
        &["min_width_px", "min_height_px"],
        "recorded resolution per camera",
    ),
    (
        "recording_mode",
        &["allowed_modes"],
        "recording mode per camera",
    ),
    ("clock_sync", &["max_offset_ms"], "camera clock offset"),
    (
        "retention",
        &["retention_days"],
        "recorded history available per camera",
    ),
    (
        "failure_notification",
        &["within_minutes", "allowed_channels", "email_alone_allowed"],
        "failure notification chain, channels and timing",
    ),
    (
        "electronic_locks",
        &["area_kinds"],
        "electronic locks on doors of the selected areas",
    ),
    (
        "sensor_in_areas",
        &["sensor_kinds", "area_kinds"],
        "an alarm point of the kinds in each selected area",
    ),
    (
        "sensor_at_doors",
        &["sensor_kinds", "doors"],
        "an alarm point of the kinds at each selected door",
    ),
    (
        "vault_dual_auth",
        &[],
        "vault dual authentication configured, keypad reader on the vault door",
    ),
    (
        "backup_alarm_supplier",
        &[],
        "back-up alarm from a different supplier, approved",
    ),
    (
        "dispatch_route",
        &[],
        "alarms routed to a central station / PSAP",
    ),
    (
        "inspection_interval",
        &["interval_days?", "interval_months?"],
        "every device inspected and tested within the interval",
    ),
    (
        "maintenance_interval",
        &["interval_days?", "interval_months?", "approved_vendor"],
        "preventive maintenance within the interval",
    ),
    (
        "report_deadline",
        &["event", "due_calendar_days"],
        "reports submitted within calendar days of the event",
    ),
    (
        "repair_deadline",
        &["within_hours"],
        "failed components repaired in time or extension approved",
    ),
    (
        "power_backup",
        &["min_runtime_hours", "scope"],
        "backup power runtime for devices in scope",
    ),
    (
        "attestation",
        &[
            "item",
            "per",
            "limits?",
            "required_text?",
            "choices?",
            "max_age_days?",
        ],
        "attested physical item, measured values against limits",
    ),
    (
        "counter_height",
        &[
            "min_height_in",
            "short_max_length_in",
            "short_min_height_in",
            "short_max_height_in",
        ],
        "counter height rule per segment",
    ),
    (
        "vendor_approved",
        &["role", "require"],
        "vendors in the role hold a license or approval",
    ),
    (
        "capability",
        &["capability"],
        "a platform capability reported in service",
    ),
    (
        "recurring_activity",
        &["activity", "interval_days?", "interval_months?"],
        "a recurring activity within the interval",
    ),
];

impl Check {
    /// The check kind's pack name.
    pub fn kind(&self) -> &'static str {
        match self {
            Check::CameraAtDoors { .. } => "camera_at_doors",
            Check::CameraOnAreas { .. } => "camera_on_areas",
            Check::FrameRate { .. } => "frame_rate",
            Check::FacePixels { .. } => "face_pixels",
            Check::Resolution { .. } => "resolution",
            Check::RecordingMode { .. } => "recording_mode",
            Check::ClockSync { .. } => "clock_sync",
            Check::Retention { .. } => "retention",
            Check::FailureNotification { .. } => "failure_notification",
            Check::ElectronicLocks { .. } => "electronic_locks",
            Check::SensorInAreas { .. } => "sensor_in_areas",
            Check::SensorAtDoors { .. } => "sensor_at_doors",
            Check::VaultDualAuth => "vault_dual_auth",
            Check::BackupAlarmSupplier => "backup_alarm_supplier",
            Check::DispatchRoute => "dispatch_route",
            Check::InspectionInterval { .. } => "inspection_interval",
            Check::MaintenanceInterval { .. } => "maintenance_interval",
            Check::ReportDeadline { .. } => "report_deadline",
            Check::RepairDeadline { .. } => "repair_deadline",
            Check::PowerBackup { .. } => "power_backup",
            Check::Attestation { .. } => "attestation",
            Check::CounterHeight { .. } => "counter_height",
            Check::VendorApproved { .. } => "vendor_approved",
            Check::Capability { .. } => "capability",
            Check::RecurringActivity { .. } => "recurring_activity",
        }
    }

    /// A one-line summary of the parameters, for `strongroom rules list`.
    pub fn params_summary(&self) -> String {
        let areas = |a: &AreaSelector| match a {
            AreaSelector::All => "all".to_owned(),
            AreaSelector::Kinds(k) => enum_names(k, "|"),
        };
        let list = |v: &[String]| v.join("|");
        match self {
            Check::CameraAtDoors { doors, purpose } => format!(
                "doors={} purpose={}",
                doors.as_str(),
                purpose.as_deref().unwrap_or("any")
            ),
            Check::CameraOnAreas { areas: a, purpose } => format!(
                "areas={} purpose={}",
                areas(a),
                purpose.as_deref().unwrap_or("any")
            ),
            Check::FrameRate { min_fps, measure } => {
                format!("min_fps={min_fps} measure={}", enum_name(measure))
            }
            Check::FacePixels {
                min_face_pixels,
                purpose,
            } => format!("min_face_pixels={min_face_pixels} purpose={purpose}"),
            Check::Resolution {
                min_width_px,
                min_height_px,
            } => format!("min={min_width_px}x{min_height_px}"),
            Check::RecordingMode { allowed_modes } => {
                format!("allowed_modes={}", enum_names(allowed_modes, "|"))
            }
            Check::ClockSync { max_offset_ms } => format!("max_offset_ms={max_offset_ms}"),
            Check::Retention { retention_days } => format!("retention_days={retention_days}"),
            Check::FailureNotification {
                within_minutes,
                allowed_channels,
                email_alone_allowed,
            } => format!(
                "within_minutes={within_minutes} channels={} email_alone_allowed={email_alone_allowed}",
                enum_names(allowed_channels, "|")
            ),
            Check::ElectronicLocks { areas: a } => format!("areas={}", areas(a)),
            Check::SensorInAreas {
                sensor_kinds,
                areas: a,
            } => format!(
                "sensors={} areas={}",
                enum_names(sensor_kinds, "|"),
                areas(a)
            ),
            Check::SensorAtDoors {
                sensor_kinds,
                doors,
            } => format!(
                "sensors={} doors={}",
                enum_names(sensor_kinds, "|"),
                doors.as_str()
            ),
            Check::VaultDualAuth | Check::BackupAlarmSupplier | Check::DispatchRoute => {
                String::new()
            }
            Check::InspectionInterval { interval } => format!("interval={interval}"),
            Check::MaintenanceInterval {
                interval,
                approved_vendor,
            } => format!("interval={interval} approved_vendor={approved_vendor}"),
            Check::ReportDeadline {
                event,
                due_calendar_days,
            } => format!(
                "event={} due_calendar_days={due_calendar_days}",
                enum_name(event)
            ),
            Check::RepairDeadline { within_hours } => format!("within_hours={within_hours}"),
            Check::PowerBackup {
                min_runtime_hours,
                scope,
            } => format!(
                "min_runtime_hours={min_runtime_hours} scope={}",
                enum_name(scope)
            ),
            Check::Attestation {
                item,
                per,
                limits,
                required_text,
                choices,
                max_age_days,
            } => {
                let mut s = format!(
                    "item={item} per={}",
                    match per {
                        Subjects::Site => "site".to_owned(),
                        Subjects::Each => "each".to_owned(),
                        Subjects::Doors(d) => format!("doors:{}", d.as_str()),
                    }
                );
                if !limits.is_empty() {
                    s.push_str(&format!(
                        " limits=[{}]",
                        limits
                            .iter()
                            .map(|l| l.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                if required_text.is_some() {
                    s.push_str(" text=required");
                }
                if !choices.is_empty() {
                    s.push_str(&format!(" choices={}", list(choices)));
                }
                if let Some(d) = max_age_days {
                    s.push_str(&format!(" max_age_days={d}"));
                }
                s
            }
            Check::CounterHeight {
                min_height_milli_in,
                short_max_length_milli_in,
                short_min_height_milli_in,
                short_max_height_milli_in,
            } => format!(
                "height>={}in or (length<={}in and {}in<=height<={}in)",
                fmt_milli(*min_height_milli_in),
                fmt_milli(*short_max_length_milli_in),
                fmt_milli(*short_min_height_milli_in),
                fmt_milli(*short_max_height_milli_in)
            ),
            Check::VendorApproved { role, require } => {
                format!("role={role} require={}", enum_name(require))
            }
            Check::Capability { capability } => format!("capability={capability}"),
            Check::RecurringActivity { activity, interval } => {
                format!("activity={activity} interval={interval}")
            }
        }
    }
}
