//! The fact kinds this crate emits, and small payload readers used by the projections.
//!
//! Every alarm fact (`alarm.raised` and everything that refers to an alarm id) carries `audible`
//! and `visibility` (`"all"` | `"monitoring"`). The server must filter by `visibility`: facts with
//! `"monitoring"` go only to users holding `Permission::SilentAlarmsView`, never to keypads, agent
//! screens, customer-facing displays or roles without that permission, and they drive no sounder.
//! `arming.*` facts are identical for a normal and a duress code, so what a keypad shows never
//! reveals a duress.
use serde_json::{Map, Value};

/// Fact kinds.
pub mod kinds {
    /// An alarm was raised. Payload: `alarm_id`, `alarm_type`, `zone_type`, `sensor`, `area`,
    /// `zone`, `partition`, `audible`, `visibility`, `dispatch_required`, `after_hours`,
    /// `arming_state`, `test`, `source`, `code`, `onset_ms`.
    pub const ALARM_RAISED: &str = "alarm.raised";
    /// An alarm went out on a dispatch route. Payload: `alarm_id`, `route`, `visibility`, `audible`.
    pub const ALARM_DISPATCHED: &str = "alarm.dispatched";
    /// An operator acknowledged an alarm. Payload: `alarm_id`, `by`, `note`, `visibility`, `audible`.
    pub const ALARM_ACKNOWLEDGED: &str = "alarm.acknowledged";
    /// An operator resolved an alarm. Payload: `alarm_id`, `by`, `outcome` (real|false|drill),
    /// `notes`, `visibility`, `audible`.
    pub const ALARM_RESOLVED: &str = "alarm.resolved";
    /// The zone of an open alarm returned to normal. Payload: `alarm_id`, `sensor`, `zone`,
    /// `visibility`, `audible`.
    pub const ALARM_RESTORED: &str = "alarm.restored";
    /// A perimeter entry zone tripped while armed away: the entry delay runs. Payload:
    /// `partition`, `sensor`, `zone`, `ends_ms`, `visibility` (all).
    pub const ENTRY_DELAY_STARTED: &str = "alarm.entry_delay_started";
    /// A zone was bypassed. Payload: `sensor`, `zone`, `partition`, `effective` (false for a
    /// 24-hour zone, which cannot be bypassed).
    pub const ZONE_BYPASSED: &str = "alarm.zone_bypassed";
    /// A bypass was removed.
    pub const ZONE_UNBYPASSED: &str = "alarm.zone_unbypassed";
    /// A test report was received from a device (panel periodic test, walk test).
    pub const TEST_RECEIVED: &str = "alarm.test_received";
    /// A signal named no configured sensor and implied no zone type. Payload: `source`, `zone`,
    /// `partition`, `code`, `signal`.
    pub const SIGNAL_UNMAPPED: &str = "alarm.signal_unmapped";
    /// An input was refused (unknown sensor for a drill or shunt, shunt of a zone that cannot be
    /// shunted). Payload: `input`, `reason`.
    pub const INPUT_REJECTED: &str = "alarm.input_rejected";
    /// A zone was shunted for an authorised opening. Payload: `sensor`, `until_ms`.
    pub const ZONE_SHUNTED: &str = "alarm.zone_shunted";

    /// A partition was armed. Payload: `partition`, `mode` (away|stay), `method`, `device`,
    /// `panel_user`, `exit_delay_s`, `exit_ends_ms`, `faulted` (sensor ids open at arming).
    pub const ARMED: &str = "arming.armed";
    /// A partition was disarmed. Payload: `partition`, `method`, `device`, `panel_user`.
    pub const DISARMED: &str = "arming.disarmed";
    /// Auto-arm will happen soon: warn the people still inside. Payload: `partitions`,
    /// `arm_at_ms`, `close_ms`.
    pub const AUTO_ARM_WARNING: &str = "arming.auto_arm_warning";
    /// A partition is still disarmed after closing and auto-arm is off (ALM-04). Payload:
    /// `partition`, `close_ms`.
    pub const NOT_ARMED_AFTER_CLOSE: &str = "arming.not_armed_after_close";
    /// An arming command was refused (unknown partition). Payload: `partition`, `reason`.
    pub const ARMING_REJECTED: &str = "arming.rejected";

    /// A supervised device was not heard within its interval, or its last will arrived.
    pub const DEVICE_SILENT: &str = "health.device_silent";
    /// A silent device was heard again.
    pub const DEVICE_RESTORED: &str = "health.device_restored";
    /// Mains power lost (Contact ID 301, SIA AT).
    pub const AC_LOST: &str = "health.ac_lost";
    /// Mains power back.
    pub const AC_RESTORED: &str = "health.ac_restored";
    /// Battery low / failed / missing.
    pub const BATTERY_LOW: &str = "health.battery_low";
    /// Battery back to normal.
    pub const BATTERY_RESTORED: &str = "health.battery_restored";
    /// Communication path fault.
    pub const COMM_TROUBLE: &str = "health.comm_trouble";
    /// Communication path restored.
    pub const COMM_RESTORED: &str = "health.comm_restored";
    /// Any other zone or system trouble.
    pub const ZONE_TROUBLE: &str = "health.zone_trouble";
    /// That trouble cleared.
    pub const ZONE_TROUBLE_RESTORED: &str = "health.zone_trouble_restored";

    /// An MQTT message was refused (bad topic, bad JSON, unknown sensor). Payload: `topic`,
    /// `reason`, `payload_prefix`.
    pub const MQTT_REJECTED: &str = "sensor.message_rejected";
    /// The MQTT adapter lost its broker connection. Payload: `broker`, `error`.
    pub const MQTT_DISCONNECTED: &str = "health.mqtt_disconnected";
    /// The MQTT adapter (re)connected. Payload: `broker`, `session_present`.
    pub const MQTT_CONNECTED: &str = "sensor.bus_connected";
}

pub(crate) fn get_str<'a>(p: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    p.get(k).and_then(Value::as_str)
}
pub(crate) fn get_i64(p: &Map<String, Value>, k: &str) -> Option<i64> {
    p.get(k).and_then(Value::as_i64)
}
pub(crate) fn get_bool(p: &Map<String, Value>, k: &str) -> Option<bool> {
    p.get(k).and_then(Value::as_bool)
}
