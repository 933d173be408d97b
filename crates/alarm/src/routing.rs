//! What the alarm service does with the facts around it, as pure rules: which access-control facts
//! become alarm records, which facts reach the escalation chains, which Contact ID event an alarm
//! goes to the central station as, how a device state posted to the API reads as a model signal,
//! and which state a zone is left in by a signal.
//!
//! No IO and no clock: the alarm service (`strongroom-alarm-service`) calls these with the fact
//! in hand and `now_ms`.
use serde_json::Value;
use strongroom_domain::{Actor, Fact};

use crate::facts::kinds;
use crate::signal::{SignalKind, ZoneSignal};
use crate::system::AlarmSystem;
use crate::zone::ZoneType;

/// Access-control fact kinds that become alarm records, with the alarm type each raises.
pub const ACCESS_ALARMS: &[(&str, &str)] = &[
    ("alarm.duress", "duress"),
    ("door.forced", "door_forced"),
    ("door.held_open", "door_held_open"),
    ("alarm.unknown_card_burst", "unknown_card_burst"),
    ("alarm.pin_brute_force", "keypad_lockout"),
];

/// The alarm type an access-control fact raises, if it raises one.
pub fn access_alarm_type(kind: &str) -> Option<&'static str> {
    ACCESS_ALARMS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, alarm_type)| *alarm_type)
}

/// Where an access-control alarm happened, as the alarm model saw it at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessAlarmContext<'a> {
    /// The site id (alarm ids are `acc-{site}-{seq}`).
    pub site_id: &'a str,
    /// The journal sequence number of the access fact.
    pub source_seq: u64,
    /// Outside operating hours.
    pub after_hours: bool,
    /// Partition 1's arming state (`unknown` when the site has none).
    pub arming_state: &'a str,
    /// When the alarm record is made, epoch ms.
    pub now_ms: i64,
}

/// The `alarm.raised` fact an access-control alarm fact stands for. A duress code is silent and
/// always dispatched; a forced vault or currency-safe door is dispatched; the rest are local.
pub fn access_alarm_raised(fact: &Fact, alarm_type: &str, at: &AccessAlarmContext<'_>) -> Fact {
    let p = &fact.payload;
    let get = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
    let duress = alarm_type == "duress";
    let area_kind = get("area_kind").unwrap_or_default();
    let secured = matches!(area_kind.as_str(), "vault" | "currency_safe");
    let sensor = get("door").or_else(|| get("reader"));
    Fact::new(kinds::ALARM_RAISED, fact.actor.clone(), at.now_ms)
        .with("alarm_id", format!("acc-{}-{}", at.site_id, at.source_seq))
        .with("alarm_type", alarm_type)
        .with("zone_type", if duress { "duress" } else { "access" })
        .with("sensor", sensor.clone())
        .with("sensor_name", sensor)
        .with("area", get("area"))
        .with("zone", 0)
        .with("partition", 1)
        .with("audible", !duress)
        .with("visibility", if duress { "monitoring" } else { "all" })
        .with(
            "dispatch_required",
            duress || (alarm_type == "door_forced" && secured),
        )
        .with("after_hours", at.after_hours)
        .with("arming_state", at.arming_state)
        .with("test", false)
        .with("source", "access")
        .with("code", fact.kind.clone())
        .with("onset_ms", fact.time_ms)
        .with("source_seq", at.source_seq)
        .with("source_kind", fact.kind.clone())
}

/// Facts the escalation chains see: everything but notification facts themselves, and of the
/// alarm facts only real raised alarms (acknowledgments, notes and restores are not conditions,
/// and access-control alarm facts are represented by the `alarm.raised` derived from them).
pub fn notifiable(f: &Fact) -> bool {
    if f.kind.starts_with("notify.") {
        return false;
    }
    if f.kind.starts_with("alarm.") {
        return f.kind == kinds::ALARM_RAISED
            && f.payload.get("test").and_then(Value::as_bool) != Some(true);
    }
    true
}

/// Whether a raised alarm must go to the central station.
pub fn needs_central_station(f: &Fact) -> bool {
    f.kind == kinds::ALARM_RAISED
        && f.payload.get("dispatch_required").and_then(Value::as_bool) == Some(true)
}

/// The Contact ID event an alarm type is reported to the central station as (SIA DC-05 codes:
/// 130 burglary, 133 24-hour safe, 120 panic, 122 silent holdup, 121 duress, 137 tamper, 110
/// fire, 140 general alarm).
pub fn central_station_code(alarm_type: &str) -> &'static str {
    match alarm_type {
        "intrusion" | "door_forced" => "130",
        "vault" => "133",
        "panic" => "120",
        "holdup" => "122",
        "duress" => "121",
        "tamper" => "137",
        "fire" => "110",
        _ => "140",
    }
}

/// A device state posted to the API (or by the simulator) for sensor `device`, as a model signal;
/// `None` for a state the alarm model does not read.
pub fn device_state_signal(device: &str, state: &str, time_ms: i64) -> Option<ZoneSignal> {
    let (kind, category) = match state {
        "alarm" => (SignalKind::Alarm, None),
        "normal" => (SignalKind::Restore, None),
        "tamper" => (SignalKind::Alarm, Some(ZoneType::Tamper)),
        "trouble" => (SignalKind::Trouble, None),
        "online" => (SignalKind::Online, None),
        "offline" => (SignalKind::Offline, None),
        _ => return None,
    };
    let mut s = ZoneSignal::for_sensor(device, kind, time_ms);
    s.category = category;
    s.code = Some(format!("api:{state}"));
    Some(s)
}

/// Which sensor a signal is about, and the zone state it leaves (`alarm`, `tamper`, `normal`,
/// `trouble`, `bypassed`, `offline`); `None` for a signal that does not change a zone's state.
pub fn zone_state_after(system: &AlarmSystem, s: &ZoneSignal) -> Option<(String, &'static str)> {
    let sensor = match &s.sensor {
        Some(id) => id.clone(),
        None => system
            .config()
            .sensors
            .iter()
            .find(|c| c.panel.as_deref() == Some(s.source.as_str()) && c.zone == s.zone)?
            .id
            .clone(),
    };
    let state = match s.kind {
        SignalKind::Alarm if s.category == Some(ZoneType::Tamper) => "tamper",
        SignalKind::Alarm => "alarm",
        SignalKind::Restore | SignalKind::TroubleRestore | SignalKind::Unbypass => "normal",
        SignalKind::Trouble => "trouble",
        SignalKind::Bypass => "bypassed",
        SignalKind::Offline => "offline",
        SignalKind::Online => "normal",
        _ => return None,
    };
    Some((sensor, state))
}

/// The console panic button's source name for a user (`console:alice`).
pub fn console_source(actor: &Actor) -> String {
    format!("console:{}", actor.to_string().trim_start_matches("user:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access_fact(kind: &str, area_kind: &str) -> Fact {
        Fact::new(kind, Actor::Device("r1".into()), 1_000)
            .with("door", "vault-door")
            .with("area", "vault")
            .with("area_kind", area_kind)
    }

    fn context() -> AccessAlarmContext<'static> {
        AccessAlarmContext {
            site_id: "s1",
            source_seq: 42,
            after_hours: true,
            arming_state: "armed_away",
            now_ms: 2_000,
        }
    }

    #[test]
    fn every_access_alarm_kind_maps_to_one_type() {
        for (kind, alarm_type) in ACCESS_ALARMS {
            assert_eq!(access_alarm_type(kind), Some(*alarm_type));
        }
        assert_eq!(access_alarm_type("door.opened"), None);
    }

    #[test]
    fn duress_is_silent_and_dispatched() {
        let f = access_alarm_raised(&access_fact("alarm.duress", "sales"), "duress", &context());
        assert_eq!(f.kind, kinds::ALARM_RAISED);
        assert_eq!(f.payload["alarm_id"], "acc-s1-42");
        assert_eq!(f.payload["visibility"], "monitoring");
        assert_eq!(f.payload["audible"], false);
        assert_eq!(f.payload["dispatch_required"], true);
        assert_eq!(f.payload["onset_ms"], 1_000);
        assert_eq!(f.time_ms, 2_000);
        assert!(needs_central_station(&f));
    }

    #[test]
    fn a_forced_door_is_dispatched_only_into_a_secured_area() {
        let vault = access_alarm_raised(
            &access_fact("door.forced", "vault"),
            "door_forced",
            &context(),
        );
        assert_eq!(vault.payload["dispatch_required"], true);
        let sales = access_alarm_raised(
            &access_fact("door.forced", "sales"),
            "door_forced",
            &context(),
        );
        assert_eq!(sales.payload["dispatch_required"], false);
        assert_eq!(sales.payload["visibility"], "all");
        let held = access_alarm_raised(
            &access_fact("door.held_open", "vault"),
            "door_held_open",
            &context(),
        );
        assert_eq!(held.payload["dispatch_required"], false);
    }

    #[test]
    fn chains_see_conditions_not_their_own_facts_or_drills() {
        let raised = Fact::new(kinds::ALARM_RAISED, Actor::System, 0).with("test", false);
        assert!(notifiable(&raised));
        let drill = Fact::new(kinds::ALARM_RAISED, Actor::System, 0).with("test", true);
        assert!(!notifiable(&drill));
        assert!(!notifiable(&Fact::new(
            kinds::ALARM_ACKNOWLEDGED,
            Actor::System,
            0
        )));
        assert!(!notifiable(&Fact::new("notify.sent", Actor::System, 0)));
        assert!(notifiable(&Fact::new(
            kinds::DEVICE_SILENT,
            Actor::System,
            0
        )));
    }

    #[test]
    fn central_station_codes_follow_contact_id() {
        assert_eq!(central_station_code("holdup"), "122");
        assert_eq!(central_station_code("duress"), "121");
        assert_eq!(central_station_code("door_forced"), "130");
        assert_eq!(central_station_code("something_new"), "140");
    }

    #[test]
    fn device_states_read_as_signals() {
        let t = device_state_signal("pir1", "tamper", 5).expect("tamper is a signal");
        assert_eq!(t.kind, SignalKind::Alarm);
        assert_eq!(t.category, Some(ZoneType::Tamper));
        assert_eq!(t.code.as_deref(), Some("api:tamper"));
        assert_eq!(
            device_state_signal("pir1", "normal", 5).map(|s| s.kind),
            Some(SignalKind::Restore)
        );
        assert!(device_state_signal("pir1", "dancing", 5).is_none());
    }

    #[test]
    fn console_source_drops_the_user_prefix() {
        assert_eq!(
            console_source(&Actor::User("alice".into())),
            "console:alice"
        );
    }
}
