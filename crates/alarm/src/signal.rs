//! The alarm model's input from devices: [`ZoneSignal`], and the mapping of panel event codes
//! (Ademco Contact ID and SIA DCS) to a [`SignalKind`] and an optional zone-type category.
//!
//! Every source (DC-09 panels through the `sia` crate, MQTT sensors through [`crate::mqtt`], the
//! simulator, the HTTP API) is turned into a `ZoneSignal` before it reaches the model. A signal
//! names a sensor directly (`sensor`, MQTT) or by `(source panel id, zone)` (panels). The
//! `category`, when an event code implies one (Contact ID 122 = silent holdup), overrides the
//! configured zone type for panic, holdup, duress, tamper, fire and the supervisory kinds: what the
//! panel reports happened is what the model records, and a silent code always stays silent.
use serde::{Deserialize, Serialize};
use strongroom_domain::{Actor, Fact};

use crate::zone::{Visibility, ZoneType};

/// What a device reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SignalKind {
    /// The zone went into alarm (contact open, button pressed, motion).
    Alarm,
    /// The zone returned to normal.
    Restore,
    /// A trouble (AC loss, low battery, communication fault, zone trouble).
    Trouble,
    /// The trouble cleared.
    TroubleRestore,
    /// The zone was bypassed at the panel.
    Bypass,
    /// The bypass was removed.
    Unbypass,
    /// A test report (manual or periodic); counts as "heard".
    Test,
    /// The panel was disarmed (an opening) by panel user `user`.
    Opening {
        /// Panel user number (0 when unknown).
        user: u16,
    },
    /// The panel was armed (a closing) by panel user `user`.
    Closing {
        /// Panel user number (0 when unknown).
        user: u16,
        /// Armed stay (perimeter only) rather than away.
        stay: bool,
    },
    /// A supervision heartbeat (DC-09 NULL message, MQTT heartbeat).
    Heartbeat,
    /// The device announced itself online (MQTT status `online`).
    Online,
    /// The device went offline (MQTT last will `offline`).
    Offline,
}

/// One report from a device, in the model's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneSignal {
    /// The reporting device's site-model id: a panel id for DC-09, the sensor id for MQTT.
    pub source: String,
    /// The sensor, when the source names it directly (MQTT). Otherwise found by `(source, zone)`.
    pub sensor: Option<String>,
    /// Zone number (Contact ID zone; for openings/closings the user number is in the kind).
    pub zone: u16,
    /// Partition (Contact ID group); 0 means "all partitions" for openings and closings.
    pub partition: u16,
    /// What happened.
    pub kind: SignalKind,
    /// A zone-type category implied by the event code, if any.
    pub category: Option<ZoneType>,
    /// The event code as received (`"E130"`, `"R301"`, `"BA"`), for the record.
    pub code: Option<String>,
    /// The device marked this as a test (drill): it runs end to end but is recorded as a test.
    pub test: bool,
    /// The device's own timestamp, if it sent one (epoch ms).
    pub source_time_ms: Option<i64>,
    /// The device's sequence number, if any (lets the server drop redeliveries).
    pub seq: Option<u64>,
    /// When Strongroom received it (epoch ms).
    pub time_ms: i64,
}

impl ZoneSignal {
    /// A signal with only the essentials set.
    pub fn new(source: impl Into<String>, zone: u16, kind: SignalKind, time_ms: i64) -> Self {
        ZoneSignal {
            source: source.into(),
            sensor: None,
            zone,
            partition: 1,
            kind,
            category: None,
            code: None,
            test: false,
            source_time_ms: None,
            seq: None,
            time_ms,
        }
    }

    /// A signal naming a sensor directly (MQTT, API, simulator).
    pub fn for_sensor(sensor: impl Into<String>, kind: SignalKind, time_ms: i64) -> Self {
        let sensor = sensor.into();
        ZoneSignal {
            source: sensor.clone(),
            sensor: Some(sensor),
            ..ZoneSignal::new(String::new(), 0, kind, time_ms)
        }
    }

    /// Applies an event-code mapping (kind and category) from [`contact_id`] or [`sia_dcs`].
    pub fn with_mapping(mut self, m: EventMapping) -> Self {
        self.kind = m.kind;
        self.category = m.category;
        self
    }

    /// The raw signal as a `device.state` fact, for the journal (the sink's durability record).
    /// `visibility` must come from the zone type ([`crate::AlarmSystem::signal_fact`] does that):
    /// a holdup button's raw press is as silent as the holdup alarm.
    pub fn to_fact(&self, visibility: Visibility) -> Fact {
        let kind = serde_json::to_value(self.kind).unwrap_or(serde_json::Value::Null);
        let mut f = Fact::new(
            strongroom_domain::fact::kinds::DEVICE_STATE,
            Actor::Device(self.sensor.clone().unwrap_or_else(|| self.source.clone())),
            self.time_ms,
        )
        .with("source", self.source.clone())
        .with("sensor", self.sensor.clone())
        .with("zone", self.zone)
        .with("partition", self.partition)
        .with("signal", kind)
        .with("category", self.category.map(ZoneType::as_str))
        .with("code", self.code.clone())
        .with("test", self.test)
        .with("visibility", visibility.as_str());
        if let Some(t) = self.source_time_ms {
            f = f.with("source_time_ms", t);
        }
        if let Some(s) = self.seq {
            f = f.with("seq", s);
        }
        f
    }
}

/// What an event code means to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMapping {
    /// The signal kind.
    pub kind: SignalKind,
    /// The zone-type category the code implies, if any.
    pub category: Option<ZoneType>,
}

fn m(kind: SignalKind, category: Option<ZoneType>) -> Option<EventMapping> {
    Some(EventMapping { kind, category })
}

/// Maps an Ademco Contact ID event code. `restore` is qualifier `3` (restore / closing);
/// qualifier `1` and `6` are `false`. `zone_or_user` is the CCC field (a user for openings and
/// closings). Unknown codes give `None` (the caller records them as unmapped).
///
/// | code | meaning | kind | category |
/// |---|---|---|---|
/// | 110–118 | fire | Alarm/Restore | fire |
/// | 120, 123 | panic (audible) | Alarm/Restore | panic |
/// | 121, 124, 125 | duress | Alarm/Restore | duress |
/// | 122 | silent holdup | Alarm/Restore | holdup |
/// | 130, 140 | burglary, general | Alarm/Restore | (zone's) |
/// | 131, 134, 135, 136 | perimeter, entry/exit, day/night, outdoor | Alarm/Restore | perimeter_entry |
/// | 132 | interior | Alarm/Restore | motion |
/// | 133 | 24-hour (safe) | Alarm/Restore | vault_wall |
/// | 137, 144, 145, 383 | tamper | Alarm/Restore | tamper |
/// | 300, 380, 381 | system / sensor trouble, loss of supervision | Trouble/TroubleRestore | (zone's) |
/// | 301 | AC loss | Trouble/TroubleRestore | ac_power |
/// | 302, 309, 311, 384 | low / failed / missing battery | Trouble/TroubleRestore | battery |
/// | 350–354 | communication trouble | Trouble/TroubleRestore | communication |
/// | 400, 401, 402, 403, 407, 408, 409 | open (1) / close (3) | Opening/Closing{away} | — |
/// | 441 | armed stay | Opening/Closing{stay} | — |
/// | 570–574 | bypass | Bypass/Unbypass | — |
/// | 601–608 | test | Test | — |
pub fn contact_id(code: u16, restore: bool, zone_or_user: u16) -> Option<EventMapping> {
    use ZoneType as Z;
    let alarm = |c: Option<ZoneType>| {
        m(
            if restore {
                SignalKind::Restore
            } else {
                SignalKind::Alarm
            },
            c,
        )
    };
    let trouble = |c: Option<ZoneType>| {
        m(
            if restore {
                SignalKind::TroubleRestore
            } else {
                SignalKind::Trouble
            },
            c,
        )
    };
    let open_close = |stay: bool| {
        m(
            if restore {
                SignalKind::Closing {
                    user: zone_or_user,
                    stay,
                }
            } else {
                SignalKind::Opening { user: zone_or_user }
            },
            None,
        )
    };
    match code {
        110..=118 => alarm(Some(Z::Fire)),
        120 | 123 => alarm(Some(Z::Panic)),
        121 | 124 | 125 => alarm(Some(Z::Duress)),
        122 => alarm(Some(Z::Holdup)),
        130 | 140 => alarm(None),
        131 | 134 | 135 | 136 => alarm(Some(Z::PerimeterEntry)),
        132 => alarm(Some(Z::Motion)),
        133 => alarm(Some(Z::VaultWall)),
        137 | 144 | 145 | 383 => alarm(Some(Z::Tamper)),
        300 | 380 | 381 => trouble(None),
        301 => trouble(Some(Z::AcPower)),
        302 | 309 | 311 | 384 => trouble(Some(Z::Battery)),
        350..=354 => trouble(Some(Z::Communication)),
        400..=403 | 407..=409 => open_close(false),
        441 => open_close(true),
        570..=574 => m(
            if restore {
                SignalKind::Unbypass
            } else {
                SignalKind::Bypass
            },
            None,
        ),
        601..=608 => m(SignalKind::Test, None),
        _ => None,
    }
}

/// Maps a SIA DCS two-letter event code; `number` is the zone, or the user for openings and
/// closings. Unknown codes give `None`.
///
/// | codes | kind | category |
/// |---|---|---|
/// | BA / BR, UA / UR | Alarm / Restore | (zone's) |
/// | PA / PR | Alarm / Restore | panic |
/// | HA / HR | Alarm / Restore | holdup |
/// | FA / FR | Alarm / Restore | fire |
/// | TA / TR | Alarm / Restore | tamper |
/// | BT / BJ, FT / FJ | Trouble / TroubleRestore | (zone's) |
/// | AT / AR | Trouble / TroubleRestore | ac_power |
/// | YT / YR | Trouble / TroubleRestore | battery |
/// | YC / YK | Trouble / TroubleRestore | communication |
/// | BB / BU | Bypass / Unbypass | — |
/// | OP, OA, OR, OG | Opening | — |
/// | CL, CA, CG / NL | Closing away / stay | — |
/// | RP, RX, TX | Test | — |
pub fn sia_dcs(code: &str, number: u16) -> Option<EventMapping> {
    use SignalKind as K;
    use ZoneType as Z;
    match code {
        "BA" | "UA" => m(K::Alarm, None),
        "BR" | "UR" => m(K::Restore, None),
        "PA" => m(K::Alarm, Some(Z::Panic)),
        "PR" => m(K::Restore, Some(Z::Panic)),
        "HA" => m(K::Alarm, Some(Z::Holdup)),
        "HR" => m(K::Restore, Some(Z::Holdup)),
        "FA" => m(K::Alarm, Some(Z::Fire)),
        "FR" => m(K::Restore, Some(Z::Fire)),
        "TA" => m(K::Alarm, Some(Z::Tamper)),
        "TR" => m(K::Restore, Some(Z::Tamper)),
        "BT" | "FT" => m(K::Trouble, None),
        "BJ" | "FJ" => m(K::TroubleRestore, None),
        "AT" => m(K::Trouble, Some(Z::AcPower)),
        "AR" => m(K::TroubleRestore, Some(Z::AcPower)),
        "YT" => m(K::Trouble, Some(Z::Battery)),
        "YR" => m(K::TroubleRestore, Some(Z::Battery)),
        "YC" => m(K::Trouble, Some(Z::Communication)),
        "YK" => m(K::TroubleRestore, Some(Z::Communication)),
        "BB" => m(K::Bypass, None),
        "BU" => m(K::Unbypass, None),
        "OP" | "OA" | "OR" | "OG" => m(K::Opening { user: number }, None),
        "CL" | "CA" | "CG" => m(
            K::Closing {
                user: number,
                stay: false,
            },
            None,
        ),
        "NL" => m(
            K::Closing {
                user: number,
                stay: true,
            },
            None,
        ),
        "RP" | "RX" | "TX" => m(K::Test, None),
        _ => None,
    }
}

/// What an alarm-class code no table names still is, so that no alarm is lost to an unknown
/// code (fail safe): Contact ID 1xx is an alarm (restore with qualifier 3), 2xx and 3xx are
/// troubles; a SIA DCS code ending in `A` is an alarm, `R` its restore, `T` a trouble, `J` its
/// restore. Anything else (openings, tests, informational codes) gives `None`. No category:
/// the zone's configured type decides, and a zone the site file does not name is an
/// unknown point.
pub fn fallback_mapping(code: &str, restore: bool) -> Option<EventMapping> {
    use SignalKind as K;
    let b = code.as_bytes();
    if b.len() == 3 && b.iter().all(u8::is_ascii_digit) {
        let (alarm, trouble) = if restore {
            (K::Restore, K::TroubleRestore)
        } else {
            (K::Alarm, K::Trouble)
        };
        return match b[0] {
            b'1' => m(alarm, None),
            b'2' | b'3' => m(trouble, None),
            _ => None,
        };
    }
    if b.len() == 2 && b.iter().all(u8::is_ascii_uppercase) {
        return match b[1] {
            b'A' => m(K::Alarm, None),
            b'R' => m(K::Restore, None),
            b'T' => m(K::Trouble, None),
            b'J' => m(K::TroubleRestore, None),
            _ => None,
        };
    }
    None
}

/// Maps either format: three digits are Contact ID, two letters SIA DCS. `restore` applies to
/// Contact ID only (SIA carries it in the code).
pub fn event_code(code: &str, restore: bool, number: u16) -> Option<EventMapping> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) {
        contact_id(code.parse().ok()?, restore, number)
    } else if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        sia_dcs(code, number)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(code: u16) -> Option<ZoneType> {
        contact_id(code, false, 1).and_then(|m| m.category)
    }

    #[test]
    fn unknown_alarm_class_codes_still_map() {
        assert_eq!(contact_id(139, false, 1), None);
        let f = fallback_mapping("139", false).expect("1xx");
        assert_eq!((f.kind, f.category), (SignalKind::Alarm, None));
        assert_eq!(
            fallback_mapping("139", true).map(|m| m.kind),
            Some(SignalKind::Restore)
        );
        assert_eq!(
            fallback_mapping("393", false).map(|m| m.kind),
            Some(SignalKind::Trouble)
        );
        assert_eq!(fallback_mapping("627", false), None, "informational");
        assert_eq!(sia_dcs("GA", 1), None);
        assert_eq!(
            fallback_mapping("GA", false).map(|m| m.kind),
            Some(SignalKind::Alarm)
        );
        assert_eq!(
            fallback_mapping("GR", false).map(|m| m.kind),
            Some(SignalKind::Restore)
        );
        assert_eq!(fallback_mapping("XX", false), None);
        assert_eq!(fallback_mapping("1", false), None);
    }

    #[test]
    fn contact_id_life_safety_codes() {
        assert_eq!(cat(110), Some(ZoneType::Fire));
        assert_eq!(cat(120), Some(ZoneType::Panic));
        assert_eq!(cat(121), Some(ZoneType::Duress));
        assert_eq!(cat(122), Some(ZoneType::Holdup));
        assert_eq!(cat(131), Some(ZoneType::PerimeterEntry));
        assert_eq!(cat(132), Some(ZoneType::Motion));
        assert_eq!(cat(137), Some(ZoneType::Tamper));
        assert_eq!(cat(130), None);
        assert_eq!(
            contact_id(130, true, 3).map(|m| m.kind),
            Some(SignalKind::Restore)
        );
    }

    #[test]
    fn contact_id_troubles_and_open_close() {
        let ac = contact_id(301, false, 0).expect("301");
        assert_eq!(
            (ac.kind, ac.category),
            (SignalKind::Trouble, Some(ZoneType::AcPower))
        );
        assert_eq!(
            contact_id(301, true, 0).map(|m| m.kind),
            Some(SignalKind::TroubleRestore)
        );
        assert_eq!(cat(302), Some(ZoneType::Battery));
        assert_eq!(cat(350), Some(ZoneType::Communication));
        assert_eq!(
            contact_id(401, false, 7).map(|m| m.kind),
            Some(SignalKind::Opening { user: 7 })
        );
        assert_eq!(
            contact_id(401, true, 7).map(|m| m.kind),
            Some(SignalKind::Closing {
                user: 7,
                stay: false
            })
        );
        assert_eq!(
            contact_id(441, true, 2).map(|m| m.kind),
            Some(SignalKind::Closing {
                user: 2,
                stay: true
            })
        );
        assert_eq!(
            contact_id(570, false, 4).map(|m| m.kind),
            Some(SignalKind::Bypass)
        );
        assert_eq!(
            contact_id(602, false, 0).map(|m| m.kind),
            Some(SignalKind::Test)
        );
        assert_eq!(contact_id(999, false, 0), None);
    }

    #[test]
    fn sia_codes() {
        assert_eq!(
            sia_dcs("HA", 11).map(|m| (m.kind, m.category)),
            Some((SignalKind::Alarm, Some(ZoneType::Holdup)))
        );
        assert_eq!(sia_dcs("BR", 1).map(|m| m.kind), Some(SignalKind::Restore));
        assert_eq!(
            sia_dcs("AT", 0).map(|m| m.category),
            Some(Some(ZoneType::AcPower))
        );
        assert_eq!(
            sia_dcs("OP", 5).map(|m| m.kind),
            Some(SignalKind::Opening { user: 5 })
        );
        assert_eq!(sia_dcs("RP", 0).map(|m| m.kind), Some(SignalKind::Test));
        assert_eq!(sia_dcs("ZZ", 0), None);
        assert_eq!(event_code("122", false, 1), contact_id(122, false, 1));
        assert_eq!(event_code("PA", false, 1), sia_dcs("PA", 1));
        assert_eq!(event_code("12", false, 1), None);
    }

    #[test]
    fn signal_fact_has_no_floats() {
        let mut s = ZoneSignal::for_sensor("panic-pos", SignalKind::Alarm, 5);
        s.seq = Some(3);
        let f = s.to_fact(Visibility::Monitoring);
        assert_eq!(f.validate(), Ok(()));
        assert_eq!(f.payload["visibility"], "monitoring");
        assert_eq!(f.payload["signal"]["kind"], "alarm");
    }
}
