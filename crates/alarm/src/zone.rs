//! Zone types and what follows from them: 24-hour or armed-only, instant or delayed, audible or
//! silent, who may see the alarm, whether it goes out to the PSAP / central station.
//!
//! The rules here are the single place where "holdup and duress are silent" is decided
//! (OH 3796:6-3-16(E)(8), (E)(10); OH 3796:3-2-05(B)(6)): a silent zone's alarm facts always carry
//! `audible: false` and `visibility: "monitoring"`, whatever the input said. Panic is audible
//! (OH 3796:6-3-16(E)(9), 3796:3-2-05(B)(7)).
use serde::{Deserialize, Serialize};
use strongroom_domain::site::SensorKind;

/// What an alarm point is, as the alarm model treats it (one per [`SensorKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneType {
    /// Door/window contact on a perimeter entry point: entry/exit delay while armed away.
    PerimeterEntry,
    /// Glass-break detector: instant while armed.
    GlassBreak,
    /// Interior motion: instant while armed away (follower during an entry delay), ignored in stay.
    Motion,
    /// Vault wall sensor: 24-hour.
    VaultWall,
    /// Vault door contact: 24-hour (shunted by an authorised opening, see `Input::Shunt`).
    VaultDoor,
    /// Panic button: 24-hour, audible.
    Panic,
    /// Holdup button: 24-hour, silent.
    Holdup,
    /// Duress: 24-hour, silent.
    Duress,
    /// Tamper switch: 24-hour.
    Tamper,
    /// AC power supervision: a trouble, reported as a health fact.
    AcPower,
    /// Battery supervision: a trouble, reported as a health fact.
    Battery,
    /// Communication path supervision: a trouble, reported as a health fact.
    Communication,
    /// Smoke / fire: 24-hour, audible.
    Fire,
    /// An alarm signal from a point the site file does not name (a zone added at the panel and
    /// not in the site file, or an alarm code with no category): raised for the operator whatever
    /// the arming state and sent to dispatch, never left in the journal alone. Not configurable.
    UnknownPoint,
}

impl From<SensorKind> for ZoneType {
    fn from(k: SensorKind) -> Self {
        match k {
            SensorKind::PerimeterEntry => ZoneType::PerimeterEntry,
            SensorKind::GlassBreak => ZoneType::GlassBreak,
            SensorKind::Motion => ZoneType::Motion,
            SensorKind::VaultWall => ZoneType::VaultWall,
            SensorKind::VaultDoor => ZoneType::VaultDoor,
            SensorKind::Panic => ZoneType::Panic,
            SensorKind::Holdup => ZoneType::Holdup,
            SensorKind::Duress => ZoneType::Duress,
            SensorKind::Tamper => ZoneType::Tamper,
            SensorKind::AcPower => ZoneType::AcPower,
            SensorKind::Battery => ZoneType::Battery,
            SensorKind::Communication => ZoneType::Communication,
            SensorKind::Fire => ZoneType::Fire,
        }
    }
}

/// The alarm category an operator and the dispatch routes see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmType {
    /// Perimeter, glass-break or motion activation while armed (IL (e)(1)(A), (B), (D)).
    Intrusion,
    /// Vault wall or door.
    Vault,
    /// Panic (audible).
    Panic,
    /// Holdup (silent).
    Holdup,
    /// Duress (silent).
    Duress,
    /// Tamper.
    Tamper,
    /// Fire.
    Fire,
    /// An alarm from a point the site file does not name.
    UnknownPoint,
}

impl AlarmType {
    /// The name used in fact payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmType::Intrusion => "intrusion",
            AlarmType::Vault => "vault",
            AlarmType::Panic => "panic",
            AlarmType::Holdup => "holdup",
            AlarmType::Duress => "duress",
            AlarmType::Tamper => "tamper",
            AlarmType::Fire => "fire",
            AlarmType::UnknownPoint => "unknown_point",
        }
    }
}

/// Who may see an alarm. The server filters every alarm fact and queue entry by this field:
/// `Monitoring` alarms are shown only to users holding `Permission::SilentAlarmsView`, and never on
/// keypads, agent screens or customer-facing displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Visibility {
    /// Anyone who may see alarms.
    All,
    /// Monitoring roles only (silent alarms).
    Monitoring,
}

impl Visibility {
    /// The name used in fact payloads (`"all"`, `"monitoring"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::All => "all",
            Visibility::Monitoring => "monitoring",
        }
    }
    /// Parses a payload value.
    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "all" => Some(Visibility::All),
            "monitoring" => Some(Visibility::Monitoring),
            _ => None,
        }
    }
    /// Whether a viewer who does (or does not) hold `SilentAlarmsView` may see it.
    pub fn visible_to(self, sees_silent: bool) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Monitoring => sees_silent,
        }
    }
}

impl ZoneType {
    /// The name used in fact payloads (same as the site file's sensor kind).
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneType::PerimeterEntry => "perimeter_entry",
            ZoneType::GlassBreak => "glass_break",
            ZoneType::Motion => "motion",
            ZoneType::VaultWall => "vault_wall",
            ZoneType::VaultDoor => "vault_door",
            ZoneType::Panic => "panic",
            ZoneType::Holdup => "holdup",
            ZoneType::Duress => "duress",
            ZoneType::Tamper => "tamper",
            ZoneType::AcPower => "ac_power",
            ZoneType::Battery => "battery",
            ZoneType::Communication => "communication",
            ZoneType::Fire => "fire",
            ZoneType::UnknownPoint => "unknown_point",
        }
    }

    /// 24-hour zones raise an alarm whatever the arming state; no disarm silences them.
    pub fn is_24_hour(self) -> bool {
        matches!(
            self,
            ZoneType::VaultWall
                | ZoneType::VaultDoor
                | ZoneType::Panic
                | ZoneType::Holdup
                | ZoneType::Duress
                | ZoneType::Tamper
                | ZoneType::Fire
                | ZoneType::UnknownPoint
        )
    }

    /// Silent zones: never audible, visible to monitoring roles only.
    pub fn is_silent(self) -> bool {
        matches!(self, ZoneType::Holdup | ZoneType::Duress)
    }

    /// Supervisory zones report troubles (health facts), not alarms.
    pub fn is_supervisory(self) -> bool {
        matches!(
            self,
            ZoneType::AcPower | ZoneType::Battery | ZoneType::Communication
        )
    }

    /// Whether an event-code category of this type overrides the zone's configured type (a tamper
    /// or holdup report from a zone configured as motion is a tamper or a holdup).
    pub fn overrides_configured(self) -> bool {
        matches!(
            self,
            ZoneType::Panic
                | ZoneType::Holdup
                | ZoneType::Duress
                | ZoneType::Tamper
                | ZoneType::Fire
                | ZoneType::AcPower
                | ZoneType::Battery
                | ZoneType::Communication
        )
    }

    /// Whether an authorised-opening shunt may suppress this zone (doors only).
    pub fn is_shuntable(self) -> bool {
        matches!(self, ZoneType::PerimeterEntry | ZoneType::VaultDoor)
    }

    /// The alarm category; `None` for supervisory zones.
    pub fn alarm_type(self) -> Option<AlarmType> {
        Some(match self {
            ZoneType::PerimeterEntry | ZoneType::GlassBreak | ZoneType::Motion => {
                AlarmType::Intrusion
            }
            ZoneType::VaultWall | ZoneType::VaultDoor => AlarmType::Vault,
            ZoneType::Panic => AlarmType::Panic,
            ZoneType::Holdup => AlarmType::Holdup,
            ZoneType::Duress => AlarmType::Duress,
            ZoneType::Tamper => AlarmType::Tamper,
            ZoneType::Fire => AlarmType::Fire,
            ZoneType::UnknownPoint => AlarmType::UnknownPoint,
            ZoneType::AcPower | ZoneType::Battery | ZoneType::Communication => return None,
        })
    }

    /// Whether the alarm sounds locally (sirens, strobes, console sounders).
    pub fn audible(self) -> bool {
        !self.is_silent()
    }

    /// Who may see the alarm.
    pub fn visibility(self) -> Visibility {
        if self.is_silent() {
            Visibility::Monitoring
        } else {
            Visibility::All
        }
    }

    /// Whether the alarm must go out on a dispatch route (PSAP / central station / voice dialer):
    /// panic, holdup, duress and intrusion (IL (e)(1)(D), DSP-01), vault (IL (g)(4), DSP-05), fire.
    /// Tamper is a local trouble unless the site routes it.
    pub fn dispatch_required(self) -> bool {
        !matches!(
            self,
            ZoneType::Tamper | ZoneType::AcPower | ZoneType::Battery | ZoneType::Communication
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ZoneType; 14] = [
        ZoneType::PerimeterEntry,
        ZoneType::GlassBreak,
        ZoneType::Motion,
        ZoneType::VaultWall,
        ZoneType::VaultDoor,
        ZoneType::Panic,
        ZoneType::Holdup,
        ZoneType::Duress,
        ZoneType::Tamper,
        ZoneType::AcPower,
        ZoneType::Battery,
        ZoneType::Communication,
        ZoneType::Fire,
        ZoneType::UnknownPoint,
    ];

    #[test]
    fn silent_zones_are_never_audible_nor_public() {
        for z in ALL {
            if z.is_silent() {
                assert!(!z.audible(), "{z:?}");
                assert_eq!(z.visibility(), Visibility::Monitoring, "{z:?}");
                assert!(z.is_24_hour(), "{z:?}");
            } else {
                assert_eq!(z.visibility(), Visibility::All, "{z:?}");
            }
        }
        assert!(ZoneType::Panic.audible());
        assert!(!Visibility::Monitoring.visible_to(false));
        assert!(Visibility::Monitoring.visible_to(true));
    }

    #[test]
    fn agrees_with_domain_on_24_hour_and_silent() {
        use SensorKind::*;
        for k in [
            PerimeterEntry,
            GlassBreak,
            Motion,
            VaultWall,
            VaultDoor,
            Panic,
            Holdup,
            Duress,
            Tamper,
            AcPower,
            Battery,
            Communication,
            Fire,
        ] {
            let z = ZoneType::from(k);
            assert_eq!(z.is_24_hour(), k.is_24_hour(), "{k:?}");
            assert_eq!(z.is_silent(), k.is_silent(), "{k:?}");
            let json = serde_json::to_string(&k).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", z.as_str()));
        }
    }
}
