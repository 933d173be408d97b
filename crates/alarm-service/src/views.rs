//! What the alarm service's operator API returns: typed views with OpenAPI schemas, so the HTTP
//! layer serves them as they are.
use serde::{Deserialize, Serialize};
use strongroom_alarm::report::HandlingSummary;
use strongroom_alarm::{AlarmRecord, HandlingTime};
use utoipa::ToSchema;

/// An operator's note on an alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OperatorNote {
    /// Who wrote it (`user:NAME`).
    pub by: String,
    /// The note.
    pub note: String,
    /// When, epoch ms.
    pub time_ms: i64,
}

/// One alarm with every step of its handling and the operators' notes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlarmDetail {
    /// The alarm record.
    #[serde(flatten)]
    pub record: AlarmRecord,
    /// Operators' notes, oldest first.
    pub operator_notes: Vec<OperatorNote>,
}

/// A partition's arming state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartitionState {
    /// Partition number.
    pub partition: u16,
    /// `disarmed`, `away` or `stay` (absent if the partition is unknown).
    pub state: Option<String>,
}

/// One zone (sensor) and its last known state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ZoneStatus {
    /// Sensor id.
    pub sensor: String,
    /// Display name.
    pub name: String,
    /// Zone type (`perimeter`, `motion`, `glass_break`, `vault`, `panic`, `holdup`, ...).
    pub zone_type: String,
    /// Area.
    pub area: String,
    /// Zone number on its panel.
    pub zone: u16,
    /// Partition.
    pub partition: u16,
    /// The panel it is wired to (absent for MQTT or API sensors).
    pub panel: Option<String>,
    /// `unknown`, `normal`, `alarm`, `tamper`, `trouble`, `bypassed`, `offline`, `silent`.
    pub state: String,
    /// Since when, epoch ms.
    pub since_ms: Option<i64>,
}

/// Arming state, zones, and the alarm communication paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ArmingStatus {
    /// Every partition.
    pub partitions: Vec<PartitionState>,
    /// Zones the caller may see (silent zones only for monitoring roles).
    pub zones: Vec<ZoneStatus>,
    /// The DC-09 receiver's TCP address, if the site has one.
    pub receiver: Option<String>,
    /// Signals waiting for the central station's ACK (absent without a central station).
    pub central_pending: Option<usize>,
}

/// How to arm or disarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArmingMode {
    /// Armed, nobody inside.
    Away,
    /// Armed at the perimeter, people inside.
    Stay,
    /// Disarmed.
    Disarm,
}

/// What an arming command changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ArmingChange {
    /// Partitions whose state changed.
    pub changed: usize,
    /// Every partition's state after the command.
    pub partitions: Vec<PartitionState>,
}

/// The handling-time report: every alarm raised in the window, and the summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HandlingReport {
    /// Alarms in the window the caller may see, oldest first.
    pub alarms: Vec<HandlingTime>,
    /// Count, median, 95th percentile and maximum of each interval.
    pub summary: HandlingSummary,
}
