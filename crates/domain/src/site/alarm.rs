//! Alarm part of the site file: alarm points (`[[sensor]]`), intrusion panels reporting over
//! SIA DC-09 (`[[panel]]`), the receiver they report to (`[alarm_receiver]`), the central station
//! Strongroom reports to (`[central_station]`) and the MQTT sensor bus (`[mqtt]`).
use serde::{Deserialize, Serialize};

/// What an alarm point detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// Door/window contact on a perimeter entry point.
    PerimeterEntry,
    /// Glass-break detector.
    GlassBreak,
    /// Motion detector.
    Motion,
    /// Vault wall / perimeter sensor.
    VaultWall,
    /// Vault door contact.
    VaultDoor,
    /// Panic button (audible).
    Panic,
    /// Holdup button (silent).
    Holdup,
    /// Duress input (silent).
    Duress,
    /// Tamper switch.
    Tamper,
    /// AC power supervision.
    AcPower,
    /// Battery supervision.
    Battery,
    /// Communication path supervision.
    Communication,
    /// Smoke / fire.
    Fire,
}

impl SensorKind {
    /// 24-hour zones: no disarm silences them.
    pub fn is_24_hour(self) -> bool {
        matches!(
            self,
            SensorKind::VaultWall
                | SensorKind::VaultDoor
                | SensorKind::Panic
                | SensorKind::Holdup
                | SensorKind::Duress
                | SensorKind::Tamper
                | SensorKind::Fire
        )
    }
    /// Silent alarms: never any local sound or indication, seen only by monitoring roles.
    pub fn is_silent(self) -> bool {
        matches!(self, SensorKind::Holdup | SensorKind::Duress)
    }
}

/// An alarm point (`[[sensor]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensor {
    /// Identifier.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// What it detects.
    pub kind: SensorKind,
    /// The area it is in.
    pub area: String,
    /// Zone number on its panel (Contact ID zone).
    #[serde(default)]
    pub zone: u16,
    /// Partition (Contact ID group).
    #[serde(default = "default_partition")]
    pub partition: u16,
    /// The DC-09 panel it reports through, if any.
    #[serde(default)]
    pub panel: Option<String>,
    /// MQTT topic it reports on, if any.
    #[serde(default)]
    pub mqtt_topic: Option<String>,
    /// A sensor silent for longer than this is a failure; none means unsupervised.
    #[serde(default)]
    pub supervision_interval_s: Option<u32>,
}

fn default_partition() -> u16 {
    1
}

/// An intrusion panel reporting over SIA DC-09 (`[[panel]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// Identifier.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// DC-09 account number (hex digits).
    pub account: String,
    /// File holding the AES key (16, 24 or 32 bytes, hex); none means unencrypted.
    #[serde(default)]
    pub key_file: Option<String>,
    /// Expected NULL-message interval; a silent panel is a failure.
    #[serde(default)]
    pub supervision_interval_s: Option<u32>,
}

/// The DC-09 receiver panels report to (`[alarm_receiver]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmReceiver {
    /// TCP and UDP listen address, e.g. `0.0.0.0:9009`.
    pub listen: String,
    /// Receiver number sent in replies.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Line number sent in replies.
    #[serde(default)]
    pub line: Option<String>,
}

/// The central station (`[central_station]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralStation {
    /// Primary receiver `HOST:PORT`.
    pub primary: String,
    /// Secondary receiver `HOST:PORT`.
    #[serde(default)]
    pub secondary: Option<String>,
    /// Our account at the station.
    pub account: String,
    /// AES key file (hex), none for unencrypted.
    #[serde(default)]
    pub key_file: Option<String>,
    /// Receiver number to put in frames.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Line number to put in frames.
    #[serde(default)]
    pub line: Option<String>,
}

/// The MQTT sensor bus (`[mqtt]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mqtt {
    /// `HOST:PORT` of the broker.
    pub broker: String,
    /// Topic prefix, e.g. `strongroom/demo`.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
}

fn default_topic_prefix() -> String {
    "strongroom".into()
}
