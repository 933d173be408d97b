//! Rule packs: one TOML file per jurisdiction and license type, parsed with line numbers.
//!
//! A pack has a `[pack]` table (id, jurisdiction, title, law, source, effective date) and one
//! `[[requirement]]` table per requirement. A requirement carries the fixed keys `id`, `citation`,
//! `title`, `basis` (`law` or `practice`), `check` (a check kind, see [`CHECK_KINDS`]) and the
//! optional `note`, `remedy` and `exempt_if_operating_before`; every other key is a parameter of
//! its check kind. Unknown check kinds, missing, mistyped or unknown parameters and duplicate ids are
//! rejected with the file, line and column ([`PackIssue`]). Code implements check kinds once; a new
//! state is a new pack file.
use std::collections::{BTreeSet, HashSet};
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use strongroom_domain::site::{AreaKind, Channel, RecordingMode, SensorKind};
use toml::de::{DeTable, DeValue};

/// The built-in packs: (file name, text).
pub const BUILTIN_PACKS: [(&str, &str); 3] = [
    (
        "il-dispensary.toml",
        include_str!("../packs/il-dispensary.toml"),
    ),
    (
        "oh-dispensary.toml",
        include_str!("../packs/oh-dispensary.toml"),
    ),
    (
        "oh-processor.toml",
        include_str!("../packs/oh-processor.toml"),
    ),
];

/// Whether a requirement is a legal duty or an industry practice (never scored as a rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Required by the regulation cited.
    Law,
    /// Recommended by an industry source; reported, not scored.
    Practice,
}

impl Basis {
    /// `law` or `practice`.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Law => "law",
            Basis::Practice => "practice",
        }
    }
}

/// Which doors a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorSelector {
    /// Doors with the exterior or the parking lot on one side.
    Exterior,
    /// Exterior doors whose inner side is a public area (public entrances and exits).
    PublicEntrance,
    /// Doors flagged `barrier` (public entrance to limited access area).
    Barrier,
    /// Doors with a limited or restricted access area, vault, safe, surveillance room or
    /// processing area on either side.
    Secured,
    /// Doors leading into a limited access area.
    IntoLimited,
    /// Doors leading into a restricted access area, vault, safe, surveillance room or processing
    /// area.
    IntoRestricted,
    /// Doors leading into the vault.
    Vault,
    /// Every door.
    All,
}

/// The door selector names accepted in packs.
pub const DOOR_SELECTORS: [(&str, DoorSelector); 8] = [
    ("exterior", DoorSelector::Exterior),
    ("public_entrance", DoorSelector::PublicEntrance),
    ("barrier", DoorSelector::Barrier),
    ("secured", DoorSelector::Secured),
    ("into_limited", DoorSelector::IntoLimited),
    ("into_restricted", DoorSelector::IntoRestricted),
    ("vault", DoorSelector::Vault),
    ("all", DoorSelector::All),
];

impl DoorSelector {
    /// The pack name of the selector.
    pub fn as_str(self) -> &'static str {
        DOOR_SELECTORS
            .iter()
            .find(|(_, d)| *d == self)
            .map_or("?", |(n, _)| n)
    }
}

/// Which areas a check looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AreaSelector {
    /// Every area of the site.
    All,
    /// Areas of these kinds.
    Kinds(Vec<AreaKind>),
}

/// Which recorded frame rate a check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FpsMeasure {
    /// The measured recorded frame rate.
    Recorded,
    /// The camera's capture capability.
    Capable,
}

/// A calendar interval: the due date is the earliest of the given parts added to the last date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Interval {
    /// Calendar days.
    pub days: Option<u32>,
    /// Calendar months (clamped to the end of a shorter month).
    pub months: Option<u32>,
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.months, self.days) {
            (Some(m), Some(d)) => write!(f, "the earlier of {m} month(s) and {d} calendar days"),
            (Some(m), None) => write!(f, "{m} month(s)"),
            (None, Some(d)) => write!(f, "{d} calendar days"),
            (None, None) => f.write_str("(none)"),
        }
    }
}

/// What starts a reporting deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineEvent {
    /// A security-system outage (IL 1291.300(e)(7)).
    Outage,
    /// A change to the approved vendor list (IL 1291.300(h)).
    VendorChange,
    /// A corrective action after a diversion, theft or loss.
    IncidentAction,
}

/// Which devices need backup power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerScope {
    /// Cameras (video surveillance).
    Video,
    /// Cameras, panels, readers and sensors.
    All,
}

/// Who or what each attestation is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subjects {
    /// One attestation for the site.
    Site,
    /// One attestation per selected door (the subject is the door id).
    Doors(DoorSelector),
    /// Every attestation of the item must pass; at least one is needed.
    Each,
}

/// A comparison in a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
}

impl Op {
    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }
    /// Whether `value op limit` holds.
    pub fn holds(self, value: i64, limit: i64) -> bool {
        match self {
            Op::Ge => value >= limit,
            Op::Le => value <= limit,
            Op::Gt => value > limit,
            Op::Lt => value < limit,
        }
    }
}

/// A threshold on an attested measurement, written `"width_in >= 12"` in a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// The measurement's name (unit in the name: `width_in`, `diagonal_in`).
    pub measure: String,
    /// The comparison.
    pub op: Op,
    /// The threshold in thousandths of the unit.
    pub value_milli: i64,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.measure,
            self.op.as_str(),
            fmt_milli(self.value_milli)
        )
    }
}

/// Formats thousandths as a short decimal (`12`, `0.5`, `8.25`).
pub fn fmt_milli(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let (int, frac) = (a / 1000, a % 1000);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let f = format!("{frac:03}");
        format!("{sign}{int}.{}", f.trim_end_matches('0'))
    }
}

/// What a vendor record must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorProof {
    /// A state license number (IL private alarm contractor).
    License,
    /// A regulator approval reference.
    Approval,
}

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
            AreaSelector::Kinds(k) => k.iter().map(enum_name).collect::<Vec<_>>().join("|"),
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
            Check::RecordingMode { allowed_modes } => format!(
                "allowed_modes={}",
                allowed_modes
                    .iter()
                    .map(enum_name)
                    .collect::<Vec<_>>()
                    .join("|")
            ),
            Check::ClockSync { max_offset_ms } => format!("max_offset_ms={max_offset_ms}"),
            Check::Retention { retention_days } => format!("retention_days={retention_days}"),
            Check::FailureNotification {
                within_minutes,
                allowed_channels,
                email_alone_allowed,
            } => format!(
                "within_minutes={within_minutes} channels={} email_alone_allowed={email_alone_allowed}",
                allowed_channels
                    .iter()
                    .map(enum_name)
                    .collect::<Vec<_>>()
                    .join("|")
            ),
            Check::ElectronicLocks { areas: a } => format!("areas={}", areas(a)),
            Check::SensorInAreas {
                sensor_kinds,
                areas: a,
            } => format!(
                "sensors={} areas={}",
                sensor_kinds
                    .iter()
                    .map(enum_name)
                    .collect::<Vec<_>>()
                    .join("|"),
                areas(a)
            ),
            Check::SensorAtDoors {
                sensor_kinds,
                doors,
            } => format!(
                "sensors={} doors={}",
                sensor_kinds
                    .iter()
                    .map(enum_name)
                    .collect::<Vec<_>>()
                    .join("|"),
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

/// The snake_case serde name of a unit enum value.
pub fn enum_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".to_owned(),
    }
}

fn enum_from_name<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// One requirement of a pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    /// Requirement id from requirements.md (`VID-03`).
    pub id: String,
    /// Citation (`IL 1291.300(e)(1)(E)`).
    pub citation: String,
    /// Short title.
    pub title: String,
    /// Law or practice.
    pub basis: Basis,
    /// The check kind and its parameters.
    pub check: Check,
    /// The interpretation adopted (§21 ambiguities), if any.
    pub note: Option<String>,
    /// Remedy text; a default from the check kind when absent.
    pub remedy: Option<String>,
    /// Exempt when the site operated before this date and has not relocated (IL (g), (b)(18)).
    pub exempt_if_operating_before: Option<Date>,
    /// 1-based line of the requirement's `id` in the pack file.
    pub line: usize,
}

/// A parsed rule pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pack {
    /// Pack id (`il-dispensary`).
    pub id: String,
    /// Jurisdiction id the pack serves (matches the site file's `jurisdiction`).
    pub jurisdiction: String,
    /// Title.
    pub title: String,
    /// The regulation (`68 Ill. Adm. Code 1291.300`).
    pub law: String,
    /// Where the text was published.
    pub source: String,
    /// Effective date of the text.
    pub effective: Date,
    /// The regulator's name as the rule gives it.
    pub regulator: String,
    /// Requirements in file order.
    pub requirements: Vec<Requirement>,
}

/// One problem found in a pack file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackIssue {
    /// The file name as given.
    pub file: String,
    /// 1-based line, 0 if unknown.
    pub line: usize,
    /// 1-based column, 0 if unknown.
    pub column: usize,
    /// What is wrong and what is expected.
    pub reason: String,
}

impl fmt::Display for PackIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.reason
        )
    }
}

/// Every problem found in a pack file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PackErrors(pub Vec<PackIssue>);

impl fmt::Display for PackErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(|i| i.to_string()).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// One row of `strongroom rules list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackRow {
    /// Requirement id.
    pub id: String,
    /// Citation.
    pub citation: String,
    /// Title.
    pub title: String,
    /// `law` or `practice`.
    pub basis: String,
    /// Check kind.
    pub check: String,
    /// Parameters, one line.
    pub params: String,
    /// Interpretation note, if any.
    pub note: String,
}

/// The rows of `strongroom rules list PACK`.
pub fn list(pack: &Pack) -> Vec<PackRow> {
    pack.requirements
        .iter()
        .map(|r| PackRow {
            id: r.id.clone(),
            citation: r.citation.clone(),
            title: r.title.clone(),
            basis: r.basis.as_str().to_owned(),
            check: r.check.kind().to_owned(),
            params: r.check.params_summary(),
            note: r.note.clone().unwrap_or_default(),
        })
        .collect()
}

/// Parses and validates a pack (`strongroom rules check FILE`). `file` is used in messages only.
pub fn check_pack(file: &str, text: &str) -> Result<Pack, Vec<PackIssue>> {
    let mut p = Parser {
        file,
        text,
        issues: Vec::new(),
    };
    let pack = p.pack();
    let mut issues = p.issues;
    match pack {
        Some(pack) if issues.is_empty() => Ok(pack),
        _ => {
            if issues.is_empty() {
                issues.push(p_issue(file, text, 0, "the pack could not be read".into()));
            }
            issues.sort_by_key(|i| (i.line, i.column));
            Err(issues)
        }
    }
}

/// The built-in pack for a jurisdiction id (`il-dispensary`, ...), if one ships.
pub fn builtin(jurisdiction: &str) -> Option<Result<Pack, PackErrors>> {
    BUILTIN_PACKS
        .iter()
        .find(|(name, _)| name.strip_suffix(".toml") == Some(jurisdiction))
        .map(|(name, text)| check_pack(name, text).map_err(PackErrors))
}

/// The built-in pack for the site's jurisdiction.
pub fn for_site(site: &strongroom_domain::site::SiteConfig) -> Option<Result<Pack, PackErrors>> {
    builtin(site.site.jurisdiction.as_str())
}

/// 1-based line and column of byte offset `at`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
    (line, column)
}

fn p_issue(file: &str, text: &str, at: usize, reason: String) -> PackIssue {
    let (line, column) = line_col(text, at);
    PackIssue {
        file: file.to_owned(),
        line,
        column,
        reason,
    }
}

const FIXED_KEYS: [&str; 8] = [
    "id",
    "citation",
    "title",
    "basis",
    "check",
    "note",
    "remedy",
    "exempt_if_operating_before",
];

type Table<'i> = DeTable<'i>;
type Value<'i> = toml::Spanned<DeValue<'i>>;

struct Parser<'a> {
    file: &'a str,
    text: &'a str,
    issues: Vec<PackIssue>,
}

impl<'a> Parser<'a> {
    fn issue(&mut self, at: usize, reason: String) {
        self.issues.push(p_issue(self.file, self.text, at, reason));
    }

    fn pack(&mut self) -> Option<Pack> {
        let doc = match DeTable::parse(self.text) {
            Ok(d) => d,
            Err(e) => {
                let at = e.span().map_or(0, |s| s.start);
                self.issue(at, format!("TOML syntax: {}", e.message().trim()));
                return None;
            }
        };
        let root = doc.get_ref();
        for (k, _) in root.iter() {
            if !matches!(k.get_ref().as_ref(), "pack" | "requirement") {
                self.issue(
                    k.span().start,
                    format!(
                        "unknown top-level key `{}`: expected [pack] and [[requirement]]",
                        k.get_ref()
                    ),
                );
            }
        }
        let head = match get(root, "pack").map(|v| (v.span().start, v.get_ref())) {
            Some((_, DeValue::Table(t))) => Some(t),
            Some((at, _)) => {
                self.issue(at, "`pack` must be a table".into());
                None
            }
            None => {
                self.issue(0, "missing [pack] table (id, jurisdiction, title, law, source, effective, regulator)".into());
                None
            }
        };
        let mut pack = Pack {
            id: String::new(),
            jurisdiction: String::new(),
            title: String::new(),
            law: String::new(),
            source: String::new(),
            effective: Date::constant(1970, 1, 1),
            regulator: String::new(),
            requirements: Vec::new(),
        };
        if let Some(t) = head {
            let at = doc_start(t);
            for (k, _) in t.iter() {
                if !matches!(
                    k.get_ref().as_ref(),
                    "id" | "jurisdiction" | "title" | "law" | "source" | "effective" | "regulator"
                ) {
                    self.issue(
                        k.span().start,
                        format!("unknown key `{}` in [pack]", k.get_ref()),
                    );
                }
            }
            pack.id = self.req_str(t, "id", at, "[pack]").unwrap_or_default();
            pack.jurisdiction = self
                .req_str(t, "jurisdiction", at, "[pack]")
                .unwrap_or_default();
            pack.title = self.req_str(t, "title", at, "[pack]").unwrap_or_default();
            pack.law = self.req_str(t, "law", at, "[pack]").unwrap_or_default();
            pack.source = self.req_str(t, "source", at, "[pack]").unwrap_or_default();
            pack.regulator = self
                .req_str(t, "regulator", at, "[pack]")
                .unwrap_or_default();
            if let Some(d) = self.date(t, "effective", at, "[pack]", true) {
                pack.effective = d;
            }
        }
        let reqs: Vec<&Value<'_>> = match get(root, "requirement") {
            Some(v) => match v.get_ref() {
                DeValue::Array(a) => a.iter().collect(),
                _ => {
                    self.issue(
                        v.span().start,
                        "`requirement` must be an array of tables ([[requirement]])".into(),
                    );
                    Vec::new()
                }
            },
            None => {
                self.issue(0, "the pack has no [[requirement]] tables".into());
                Vec::new()
            }
        };
        let mut seen: HashSet<String> = HashSet::new();
        for item in reqs {
            let DeValue::Table(t) = item.get_ref() else {
                self.issue(item.span().start, "each requirement must be a table".into());
                continue;
            };
            if let Some(r) = self.requirement(t, item.span().start) {
                if !seen.insert(r.id.clone()) {
                    let at = get(t, "id").map_or(item.span().start, |v| v.span().start);
                    self.issue(
                        at,
                        format!(
                            "duplicate requirement id `{}`: each id may appear once in a pack",
                            r.id
                        ),
                    );
                    continue;
                }
                pack.requirements.push(r);
            }
        }
        Some(pack)
    }

    fn req_str(&mut self, t: &Table<'_>, key: &str, at: usize, ctx: &str) -> Option<String> {
        match get(t, key) {
            None => {
                self.issue(at, format!("missing `{key}` in {ctx}"));
                None
            }
            Some(v) => self.as_string(v, key, ctx),
        }
    }

    fn as_string(&mut self, v: &Value<'_>, key: &str, ctx: &str) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
            DeValue::String(_) => {
                self.issue(
                    v.span().start,
                    format!("`{key}` in {ctx} must not be empty"),
                );
                None
            }
            other => {
                self.issue(
                    v.span().start,
                    format!(
                        "`{key}` in {ctx} must be a string, found {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    fn date(
        &mut self,
        t: &Table<'_>,
        key: &str,
        at: usize,
        ctx: &str,
        required: bool,
    ) -> Option<Date> {
        let v = match get(t, key) {
            Some(v) => v,
            None => {
                if required {
                    self.issue(at, format!("missing `{key}` in {ctx}"));
                }
                return None;
            }
        };
        let s = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(d) => d.to_string(),
            other => {
                self.issue(
                    v.span().start,
                    format!(
                        "`{key}` in {ctx} must be a date (YYYY-MM-DD), found {}",
                        other.type_str()
                    ),
                );
                return None;
            }
        };
        match s.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.issue(
                    v.span().start,
                    format!("`{key}` in {ctx}: {s:?} is not a date (YYYY-MM-DD)"),
                );
                None
            }
        }
    }

    fn requirement(&mut self, t: &Table<'_>, item_at: usize) -> Option<Requirement> {
        let at = doc_start(t).min(item_at.max(doc_start(t)));
        let id_v = get(t, "id");
        let id = match id_v {
            Some(v) => self.as_string(v, "id", "[[requirement]]"),
            None => {
                self.issue(at, "missing `id` in [[requirement]]".into());
                None
            }
        };
        let ctx = format!("requirement {}", id.as_deref().unwrap_or("?"));
        if let (Some(id), Some(v)) = (&id, id_v) {
            let ok = id.len() <= 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                self.issue(v.span().start, format!("requirement id {id:?} must be upper-case letters, digits and '-' (like VID-03)"));
            }
        }
        let citation = self.req_str(t, "citation", at, &ctx);
        let title = self.req_str(t, "title", at, &ctx);
        let basis = match get(t, "basis") {
            None => {
                self.issue(
                    at,
                    format!("missing `basis` in {ctx}: expected \"law\" or \"practice\""),
                );
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) if s.as_ref() == "law" => Some(Basis::Law),
                DeValue::String(s) if s.as_ref() == "practice" => Some(Basis::Practice),
                _ => {
                    self.issue(
                        v.span().start,
                        format!("`basis` in {ctx} must be \"law\" or \"practice\""),
                    );
                    None
                }
            },
        };
        let note = get(t, "note").and_then(|v| self.as_string(v, "note", &ctx));
        let remedy = get(t, "remedy").and_then(|v| self.as_string(v, "remedy", &ctx));
        let exempt = self.date(t, "exempt_if_operating_before", at, &ctx, false);
        let check_v = get(t, "check");
        let kind = match check_v {
            None => {
                self.issue(
                    at,
                    format!("missing `check` in {ctx}: expected one of {}", kind_names()),
                );
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) => {
                    if CHECK_KINDS.iter().any(|(n, _, _)| *n == s.as_ref()) {
                        Some((s.to_string(), v.span().start))
                    } else {
                        self.issue(
                            v.span().start,
                            format!(
                                "unknown check kind `{s}` in {ctx}: expected one of {}",
                                kind_names()
                            ),
                        );
                        None
                    }
                }
                other => {
                    self.issue(
                        v.span().start,
                        format!(
                            "`check` in {ctx} must be a string, found {}",
                            other.type_str()
                        ),
                    );
                    None
                }
            },
        };
        let check = match &kind {
            Some((k, kat)) => {
                let mut pp = Params {
                    parser: self,
                    table: t,
                    kind: k,
                    ctx: &ctx,
                    at: *kat,
                    used: BTreeSet::new(),
                };
                let c = pp.build();
                let used = pp.used;
                // Unknown parameters (typos) are rejected, naming the accepted ones.
                let accepted = CHECK_KINDS
                    .iter()
                    .find(|(n, _, _)| n == k)
                    .map(|(_, p, _)| {
                        p.iter()
                            .map(|s| s.trim_end_matches('?'))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                for (key, _) in t.iter() {
                    let name = key.get_ref().as_ref();
                    if !FIXED_KEYS.contains(&name) && !used.contains(name) {
                        self.issue(
                            key.span().start,
                            format!("unknown parameter `{name}` for check kind `{k}` in {ctx}: accepted parameters are [{accepted}]"),
                        );
                    }
                }
                c
            }
            None => None,
        };
        let line = id_v.map_or_else(
            || line_col(self.text, at).0,
            |v| line_col(self.text, v.span().start).0,
        );
        Some(Requirement {
            id: id?,
            citation: citation?,
            title: title?,
            basis: basis?,
            check: check?,
            note,
            remedy,
            exempt_if_operating_before: exempt,
            line,
        })
    }
}

fn kind_names() -> String {
    CHECK_KINDS
        .iter()
        .map(|(n, _, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

fn get<'t, 'i>(t: &'t Table<'i>, key: &str) -> Option<&'t Value<'i>> {
    t.iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// The earliest key span in a table (where a header-less table "starts" for messages).
fn doc_start(t: &Table<'_>) -> usize {
    t.iter().map(|(k, _)| k.span().start).min().unwrap_or(0)
}

/// Reads one requirement's parameters for its check kind, recording problems.
struct Params<'p, 'a, 't, 'i> {
    parser: &'p mut Parser<'a>,
    table: &'t Table<'i>,
    kind: &'t str,
    ctx: &'t str,
    at: usize,
    used: BTreeSet<String>,
}

impl<'t, 'i> Params<'_, '_, 't, 'i> {
    fn raw(&mut self, name: &str, required: bool, expect: &str) -> Option<&'t Value<'i>> {
        self.used.insert(name.to_owned());
        let v = get(self.table, name);
        if v.is_none() && required {
            let msg = format!(
                "missing parameter `{name}` ({expect}) for check kind `{}` in {}",
                self.kind, self.ctx
            );
            self.parser.issue(self.at, msg);
        }
        v
    }

    fn bad(&mut self, at: usize, name: &str, expect: &str, found: &str) {
        let msg = format!(
            "parameter `{name}` in {} must be {expect}, found {found}",
            self.ctx
        );
        self.parser.issue(at, msg);
    }

    fn uint(&mut self, name: &str, required: bool) -> Option<u32> {
        let expect = "a non-negative integer";
        let v = self.raw(name, required, expect)?;
        let (at, r) = (v.span().start, int_of(v.get_ref()));
        match r {
            Some(i) if (0..=i64::from(u32::MAX)).contains(&i) => u32::try_from(i).ok(),
            Some(i) => {
                self.bad(at, name, expect, &i.to_string());
                None
            }
            None => {
                let found = type_of(get(self.table, name));
                self.bad(at, name, expect, found);
                None
            }
        }
    }

    fn milli(&mut self, name: &str) -> Option<i64> {
        let expect = "a number (inches, up to 3 decimals)";
        let v = self.raw(name, true, expect)?;
        let at = v.span().start;
        match milli_of(v.get_ref()) {
            Some(m) if (0..=1_000_000_000).contains(&m) => Some(m),
            _ => {
                let found = type_of(get(self.table, name));
                self.bad(at, name, expect, found);
                None
            }
        }
    }

    fn boolean(&mut self, name: &str) -> Option<bool> {
        let v = self.raw(name, true, "true or false")?;
        let at = v.span().start;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                let found = other.type_str();
                self.bad(at, name, "true or false", found);
                None
            }
        }
    }

    fn string(&mut self, name: &str, required: bool) -> Option<(String, usize)> {
        let v = self.raw(name, required, "a string")?;
        let at = v.span().start;
        match v.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => Some((s.to_string(), at)),
            other => {
                let found = if other.is_str() {
                    "an empty string"
                } else {
                    other.type_str()
                };
                self.bad(at, name, "a non-empty string", found);
                None
            }
        }
    }

    fn strings(&mut self, name: &str, required: bool) -> Option<Vec<(String, usize)>> {
        let v = self.raw(name, required, "a list of strings")?;
        let at = v.span().start;
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push((s.to_string(), item.span().start)),
                        other => {
                            let found = other.type_str();
                            self.bad(item.span().start, name, "a list of strings", found);
                            return None;
                        }
                    }
                }
                Some(out)
            }
            other => {
                let found = other.type_str();
                self.bad(at, name, "a list of strings", found);
                None
            }
        }
    }

    fn named<T: serde::de::DeserializeOwned>(
        &mut self,
        name: &str,
        (s, at): (String, usize),
        what: &str,
        accepted: &str,
    ) -> Option<T> {
        let r = enum_from_name(&s);
        if r.is_none() {
            let msg = format!(
                "parameter `{name}` in {}: unknown {what} `{s}`: expected one of {accepted}",
                self.ctx
            );
            self.parser.issue(at, msg);
        }
        r
    }

    fn door_selector(&mut self, name: &str) -> Option<DoorSelector> {
        let (s, at) = self.string(name, true)?;
        let r = DOOR_SELECTORS
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, d)| *d);
        if r.is_none() {
            let accepted = DOOR_SELECTORS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ");
            let msg = format!(
                "parameter `{name}` in {}: unknown door selector `{s}`: expected one of {accepted}",
                self.ctx
            );
            self.parser.issue(at, msg);
        }
        r
    }

    fn areas(&mut self) -> Option<AreaSelector> {
        let list = self.strings("area_kinds", true)?;
        if list.len() == 1 && list[0].0 == "all" {
            return Some(AreaSelector::All);
        }
        if list.is_empty() {
            let msg = format!("parameter `area_kinds` in {} must not be empty", self.ctx);
            self.parser.issue(self.at, msg);
            return None;
        }
        let accepted = "all, public, limited_access, restricted_access, vault, currency_safe, surveillance_room, point_of_sale, exterior, parking, processing";
        let mut kinds = Vec::new();
        let mut ok = true;
        for item in list {
            match self.named::<AreaKind>("area_kinds", item, "area kind", accepted) {
                Some(k) => kinds.push(k),
                None => ok = false,
            }
        }
        ok.then_some(AreaSelector::Kinds(kinds))
    }

    fn sensor_kinds(&mut self) -> Option<Vec<SensorKind>> {
        let list = self.strings("sensor_kinds", true)?;
        let accepted = "perimeter_entry, glass_break, motion, vault_wall, vault_door, panic, holdup, duress, tamper, ac_power, battery, communication, fire";
        let mut out = Vec::new();
        let mut ok = !list.is_empty();
        for item in list {
            match self.named::<SensorKind>("sensor_kinds", item, "sensor kind", accepted) {
                Some(k) => out.push(k),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn interval(&mut self) -> Option<Interval> {
        let days = self.uint("interval_days", false);
        let months = self.uint("interval_months", false);
        if days.is_none() && months.is_none() {
            let msg = format!(
                "missing parameter `interval_days` or `interval_months` for check kind `{}` in {}",
                self.kind, self.ctx
            );
            self.parser.issue(self.at, msg);
            return None;
        }
        if days == Some(0) || months == Some(0) {
            let msg = format!("interval in {} must be at least one day or month", self.ctx);
            self.parser.issue(self.at, msg);
            return None;
        }
        Some(Interval { days, months })
    }

    fn limits(&mut self) -> Option<Vec<Limit>> {
        let Some(list) = self.strings("limits", false) else {
            return Some(Vec::new());
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (s, at) in list {
            match parse_limit(&s) {
                Some(l) => out.push(l),
                None => {
                    ok = false;
                    let msg = format!(
                        "parameter `limits` in {}: cannot read {s:?}: expected \"MEASURE OP NUMBER\" such as \"width_in >= 12\" (OP one of >=, <=, >, <)",
                        self.ctx
                    );
                    self.parser.issue(at, msg);
                }
            }
        }
        ok.then_some(out)
    }

    fn build(&mut self) -> Option<Check> {
        let kind = self.kind;
        Some(match kind {
            "camera_at_doors" => {
                let doors = self.door_selector("doors");
                let purpose = self.string("purpose", false).map(|p| p.0);
                Check::CameraAtDoors {
                    doors: doors?,
                    purpose,
                }
            }
            "camera_on_areas" => {
                let areas = self.areas();
                let purpose = self.string("purpose", false).map(|p| p.0);
                Check::CameraOnAreas {
                    areas: areas?,
                    purpose,
                }
            }
            "frame_rate" => {
                let min_fps = self.uint("min_fps", true);
                let m = self.string("measure", true);
                let measure = m.and_then(|m| {
                    self.named::<FpsMeasure>("measure", m, "measure", "recorded, capable")
                });
                Check::FrameRate {
                    min_fps: min_fps?,
                    measure: measure?,
                }
            }
            "face_pixels" => {
                let min = self.uint("min_face_pixels", true);
                let purpose = self
                    .string("purpose", false)
                    .map_or_else(|| "face".to_owned(), |p| p.0);
                Check::FacePixels {
                    min_face_pixels: min?,
                    purpose,
                }
            }
            "resolution" => {
                let w = self.uint("min_width_px", true);
                let h = self.uint("min_height_px", true);
                Check::Resolution {
                    min_width_px: w?,
                    min_height_px: h?,
                }
            }
            "recording_mode" => {
                let list = self.strings("allowed_modes", true)?;
                let mut modes = Vec::new();
                for item in list {
                    modes.push(self.named::<RecordingMode>(
                        "allowed_modes",
                        item,
                        "recording mode",
                        "continuous, motion",
                    )?);
                }
                Check::RecordingMode {
                    allowed_modes: modes,
                }
            }
            "clock_sync" => Check::ClockSync {
                max_offset_ms: self.uint("max_offset_ms", true)?,
            },
            "retention" => Check::Retention {
                retention_days: self.uint("retention_days", true)?,
            },
            "failure_notification" => {
                let within = self.uint("within_minutes", true);
                let list = self.strings("allowed_channels", true);
                let email = self.boolean("email_alone_allowed");
                let mut channels = Vec::new();
                for item in list? {
                    channels.push(self.named::<Channel>(
                        "allowed_channels",
                        item,
                        "channel",
                        "sms, voice, email",
                    )?);
                }
                Check::FailureNotification {
                    within_minutes: within?,
                    allowed_channels: channels,
                    email_alone_allowed: email?,
                }
            }
            "electronic_locks" => Check::ElectronicLocks {
                areas: self.areas()?,
            },
            "sensor_in_areas" => {
                let s = self.sensor_kinds();
                let a = self.areas();
                Check::SensorInAreas {
                    sensor_kinds: s?,
                    areas: a?,
                }
            }
            "sensor_at_doors" => {
                let s = self.sensor_kinds();
                let d = self.door_selector("doors");
                Check::SensorAtDoors {
                    sensor_kinds: s?,
                    doors: d?,
                }
            }
            "vault_dual_auth" => Check::VaultDualAuth,
            "backup_alarm_supplier" => Check::BackupAlarmSupplier,
            "dispatch_route" => Check::DispatchRoute,
            "inspection_interval" => Check::InspectionInterval {
                interval: self.interval()?,
            },
            "maintenance_interval" => {
                let i = self.interval();
                let a = self.boolean("approved_vendor");
                Check::MaintenanceInterval {
                    interval: i?,
                    approved_vendor: a?,
                }
            }
            "report_deadline" => {
                let e = self.string("event", true);
                let event = e.and_then(|e| {
                    self.named::<DeadlineEvent>(
                        "event",
                        e,
                        "event",
                        "outage, vendor_change, incident_action",
                    )
                });
                let days = self.uint("due_calendar_days", true);
                Check::ReportDeadline {
                    event: event?,
                    due_calendar_days: days?,
                }
            }
            "repair_deadline" => Check::RepairDeadline {
                within_hours: self.uint("within_hours", true)?,
            },
            "power_backup" => {
                let h = self.uint("min_runtime_hours", true);
                let s = self.string("scope", true);
                let scope =
                    s.and_then(|s| self.named::<PowerScope>("scope", s, "scope", "video, all"));
                Check::PowerBackup {
                    min_runtime_hours: h?,
                    scope: scope?,
                }
            }
            "attestation" => {
                let item = self.string("item", true);
                let per = self.string("per", true).and_then(|(s, at)| {
                    if s == "site" {
                        Some(Subjects::Site)
                    } else if s == "each" {
                        Some(Subjects::Each)
                    } else if let Some(sel) = s.strip_prefix("doors:") {
                        let d = DOOR_SELECTORS.iter().find(|(n, _)| *n == sel).map(|(_, d)| *d);
                        if d.is_none() {
                            let msg = format!("parameter `per` in {}: unknown door selector `{sel}`", self.ctx);
                            self.parser.issue(at, msg);
                        }
                        d.map(Subjects::Doors)
                    } else {
                        let msg = format!("parameter `per` in {}: expected \"site\", \"each\" or \"doors:SELECTOR\", found {s:?}", self.ctx);
                        self.parser.issue(at, msg);
                        None
                    }
                });
                let limits = self.limits();
                let required_text = self.string("required_text", false).map(|t| t.0);
                let choices = self
                    .strings("choices", false)
                    .map(|v| v.into_iter().map(|c| c.0).collect())
                    .unwrap_or_default();
                let max_age_days = self.uint("max_age_days", false);
                Check::Attestation {
                    item: item?.0,
                    per: per?,
                    limits: limits?,
                    required_text,
                    choices,
                    max_age_days,
                }
            }
            "counter_height" => {
                let a = self.milli("min_height_in");
                let b = self.milli("short_max_length_in");
                let c = self.milli("short_min_height_in");
                let d = self.milli("short_max_height_in");
                Check::CounterHeight {
                    min_height_milli_in: a?,
                    short_max_length_milli_in: b?,
                    short_min_height_milli_in: c?,
                    short_max_height_milli_in: d?,
                }
            }
            "vendor_approved" => {
                let role = self.string("role", true);
                let r = self.string("require", true);
                let require = r.and_then(|r| {
                    self.named::<VendorProof>("require", r, "proof", "license, approval")
                });
                Check::VendorApproved {
                    role: role?.0,
                    require: require?,
                }
            }
            "capability" => Check::Capability {
                capability: self.string("capability", true)?.0,
            },
            "recurring_activity" => {
                let a = self.string("activity", true);
                let i = self.interval();
                Check::RecurringActivity {
                    activity: a?.0,
                    interval: i?,
                }
            }
            _ => return None,
        })
    }
}

fn type_of(v: Option<&Value<'_>>) -> &'static str {
    v.map_or("nothing", |v| v.get_ref().type_str())
}

fn int_of(v: &DeValue<'_>) -> Option<i64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok(),
        _ => None,
    }
}

fn milli_of(v: &DeValue<'_>) -> Option<i64> {
    match v {
        DeValue::Integer(_) => int_of(v).and_then(|i| i.checked_mul(1000)),
        DeValue::Float(f) => parse_decimal_milli(&f.as_str().replace('_', "")),
        _ => None,
    }
}

/// Parses a plain decimal (`12`, `0.5`, `8.125`) into thousandths, without floating point.
pub fn parse_decimal_milli(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 3
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let i: i64 = int.parse().ok()?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().ok()?
    };
    let v = i.checked_mul(1000)?.checked_add(f)?;
    Some(if neg { -v } else { v })
}

fn parse_limit(s: &str) -> Option<Limit> {
    let mut parts = s.split_whitespace();
    let measure = parts.next()?;
    let op = match parts.next()? {
        ">=" => Op::Ge,
        "<=" => Op::Le,
        ">" => Op::Gt,
        "<" => Op::Lt,
        _ => return None,
    };
    let value_milli = parse_decimal_milli(parts.next()?)?;
    if parts.next().is_some()
        || measure.is_empty()
        || !measure
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    Some(Limit {
        measure: measure.to_owned(),
        op,
        value_milli,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"[pack]
id = "xx-test"
jurisdiction = "xx-test"
title = "Test"
law = "Test Code 1"
source = "none"
effective = "2024-01-01"
regulator = "Board"

[[requirement]]
id = "VID-11"
citation = "T 1(a)"
title = "Frame rate"
basis = "law"
check = "frame_rate"
min_fps = 8
measure = "recorded"

[[requirement]]
id = "PHY-01"
citation = "T 1(b)"
title = "Sign"
basis = "law"
check = "attestation"
item = "sign"
per = "doors:into_restricted"
limits = ["width_in >= 12", "letter_height_in >= 0.5"]
"#;

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .map_or(0, |p| p + 1)
    }

    #[test]
    fn builtin_packs_load() {
        for (name, text) in BUILTIN_PACKS {
            let pack = check_pack(name, text).unwrap_or_else(|e| {
                panic!("{}", PackErrors(e));
            });
            assert!(
                pack.requirements.len() >= 20,
                "{name}: {}",
                pack.requirements.len()
            );
            assert_eq!(Some(pack.id.as_str()), name.strip_suffix(".toml"));
            assert!(pack.requirements.iter().all(|r| !r.citation.is_empty()));
            assert!(pack.requirements.iter().any(|r| r.basis == Basis::Practice));
            assert_eq!(list(&pack).len(), pack.requirements.len());
        }
        assert!(builtin("il-dispensary").is_some_and(|p| p.is_ok()));
        assert!(builtin("ca-dispensary").is_none());
    }

    #[test]
    fn mini_pack_parses_with_typed_params() {
        let pack = check_pack("t.toml", MINI).expect("valid");
        assert_eq!(pack.requirements.len(), 2);
        assert_eq!(
            pack.requirements[0].check,
            Check::FrameRate {
                min_fps: 8,
                measure: FpsMeasure::Recorded
            }
        );
        assert_eq!(pack.requirements[0].line, line_of(MINI, "id = \"VID-11\""));
        match &pack.requirements[1].check {
            Check::Attestation { limits, per, .. } => {
                assert_eq!(*per, Subjects::Doors(DoorSelector::IntoRestricted));
                assert_eq!(limits[1].value_milli, 500);
                assert_eq!(limits[1].to_string(), "letter_height_in >= 0.5");
            }
            other => panic!("wrong check {other:?}"),
        }
    }

    #[test]
    fn unknown_kind_is_rejected_with_line() {
        let bad = MINI.replace("check = \"frame_rate\"", "check = \"frame_rates\"");
        let err = check_pack("bad.toml", &bad).expect_err("must fail");
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].file, "bad.toml");
        assert_eq!(err[0].line, line_of(&bad, "frame_rates"));
        assert!(
            err[0].reason.contains("unknown check kind `frame_rates`"),
            "{}",
            err[0]
        );
    }

    #[test]
    fn missing_parameter_is_rejected_with_line() {
        let bad = MINI.replace("min_fps = 8\n", "");
        let err = check_pack("bad.toml", &bad).expect_err("must fail");
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].line, line_of(&bad, "check = \"frame_rate\""));
        assert!(
            err[0].reason.contains("missing parameter `min_fps`"),
            "{}",
            err[0]
        );
    }

    #[test]
    fn duplicate_id_is_rejected_with_line() {
        let bad = MINI.replace("id = \"PHY-01\"", "id = \"VID-11\"");
        let err = check_pack("bad.toml", &bad).expect_err("must fail");
        assert_eq!(err.len(), 1, "{err:?}");
        let second = bad
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("\"VID-11\""))
            .nth(1)
            .map(|(i, _)| i + 1);
        assert_eq!(Some(err[0].line), second);
        assert!(
            err[0].reason.contains("duplicate requirement id `VID-11`"),
            "{}",
            err[0]
        );
    }

    #[test]
    fn wrong_types_unknown_params_and_bad_limits_are_located() {
        let bad = MINI
            .replace("min_fps = 8", "min_fps = \"eight\"\nmin_fsp = 8")
            .replace("\"width_in >= 12\"", "\"width_in => 12\"");
        let err = check_pack("bad.toml", &bad).expect_err("must fail");
        let reasons: Vec<String> = err.iter().map(|i| i.to_string()).collect();
        assert_eq!(err.len(), 3, "{reasons:#?}");
        assert!(
            err.iter().any(|i| i.line == line_of(&bad, "\"eight\"")
                && i.reason.contains("non-negative integer"))
        );
        assert!(err.iter().any(|i| i.line == line_of(&bad, "min_fsp")
            && i.reason.contains("unknown parameter `min_fsp`")));
        assert!(
            err.iter()
                .any(|i| i.line == line_of(&bad, "=> 12") && i.reason.contains("cannot read"))
        );
    }

    #[test]
    fn syntax_error_is_located() {
        let err = check_pack("s.toml", "[pack\nid = 1").expect_err("must fail");
        assert_eq!(err[0].line, 1);
        assert!(err[0].reason.starts_with("TOML syntax"));
    }

    #[test]
    fn decimals_without_floats() {
        assert_eq!(parse_decimal_milli("0.5"), Some(500));
        assert_eq!(parse_decimal_milli("12"), Some(12_000));
        assert_eq!(parse_decimal_milli("8.125"), Some(8_125));
        assert_eq!(parse_decimal_milli("-1.25"), Some(-1_250));
        assert_eq!(parse_decimal_milli("1.2345"), None);
        assert_eq!(parse_decimal_milli("1e3"), None);
        assert_eq!(parse_decimal_milli("99999999999999999999"), None);
        assert_eq!(fmt_milli(500), "0.5");
        assert_eq!(fmt_milli(12_000), "12");
        assert_eq!(fmt_milli(-1_250), "-1.25");
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,600}") {
            let _ = check_pack("p.toml", &s);
        }

        #[test]
        fn mutated_pack_never_panics(pos in 0usize..2000, byte in proptest::num::u8::ANY) {
            let mut bytes = MINI.as_bytes().to_vec();
            let p = pos % bytes.len();
            bytes[p] = byte;
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = check_pack("p.toml", s);
            }
        }

        #[test]
        fn builtin_line_deletion_never_panics(line in 0usize..400) {
            let text = BUILTIN_PACKS[0].1;
            let cut: Vec<&str> = text.lines().enumerate().filter(|(i, _)| *i != line).map(|(_, l)| l).collect();
            let _ = check_pack("p.toml", &cut.join("\n"));
        }
    }
}
