//! The site model: one TOML file per site, versioned in the journal.
//!
//! A site has areas (typed), doors between two areas, readers on doors, alarm sensors in areas,
//! alarm panels reporting over SIA DC-09, IP cameras with what they cover, policies, notification
//! chains and the central station. People and credentials are not here: they change at run time
//! and live in the journal.
//!
//! [`SiteConfig::parse`] is the only way in from text. It rejects unknown keys and validates every
//! reference; each [`ConfigIssue`] names the file, line, column and field and says what is expected.
//!
//! The schema is split by subsystem (access control: areas, doors and readers; alarms: sensors,
//! panels, the DC-09 receiver, the central station and the MQTT bus; cameras; notification);
//! parsing with located errors and the reference checks live beside it.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::jurisdiction::Jurisdiction;

mod access;
mod alarm;
mod cameras;
mod errors;
mod notify;
mod parse;
#[cfg(test)]
mod tests;
mod validate;

pub use access::{Area, AreaKind, Direction, Door, LockKind, OsdpLink, Reader};
pub use alarm::{AlarmReceiver, CentralStation, Mqtt, Panel, Sensor, SensorKind};
pub use cameras::{Camera, CameraPurpose, RecordingMode};
pub use errors::{ConfigErrors, ConfigIssue};
pub use notify::{Chain, ChainStep, Channel, Contact, Notify, Smtp, Webhook};
pub use validate::parse_hours;

/// A whole site file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The site itself.
    pub site: SiteInfo,
    /// Areas (`[[area]]`).
    #[serde(default, rename = "area")]
    pub areas: Vec<Area>,
    /// Doors (`[[door]]`).
    #[serde(default, rename = "door")]
    pub doors: Vec<Door>,
    /// Readers (`[[reader]]`).
    #[serde(default, rename = "reader")]
    pub readers: Vec<Reader>,
    /// Alarm sensors and buttons (`[[sensor]]`).
    #[serde(default, rename = "sensor")]
    pub sensors: Vec<Sensor>,
    /// Intrusion panels reporting over DC-09 (`[[panel]]`).
    #[serde(default, rename = "panel")]
    pub panels: Vec<Panel>,
    /// Cameras (`[[camera]]`).
    #[serde(default, rename = "camera")]
    pub cameras: Vec<Camera>,
    /// Policies.
    #[serde(default)]
    pub policy: Policy,
    /// Notification channels and chains.
    #[serde(default)]
    pub notify: Notify,
    /// The central station Strongroom reports alarms to.
    #[serde(default)]
    pub central_station: Option<CentralStation>,
    /// The MQTT sensor bus.
    #[serde(default)]
    pub mqtt: Option<Mqtt>,
    /// Where Strongroom listens for alarm panels (SIA DC-09).
    #[serde(default)]
    pub alarm_receiver: Option<AlarmReceiver>,
}

/// The `[site]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteInfo {
    /// Short identifier (`a-z0-9-`), unique in an installation.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The state license number.
    #[serde(default)]
    pub license_number: String,
    /// Which rule pack applies.
    pub jurisdiction: Jurisdiction,
    /// IANA time zone of the site (deadlines and operating hours are computed in it).
    pub timezone: String,
    /// Operating hours per weekday (`mon = "09:00-21:00"`); a missing day is closed.
    #[serde(default)]
    pub operating_hours: BTreeMap<String, String>,
    /// Whether the built-in device simulator drives events (demo sites only).
    #[serde(default)]
    pub simulator: bool,
    /// Street address, for dispatch.
    #[serde(default)]
    pub address: String,
    /// First day of operation at this location (`YYYY-MM-DD`); some rules depend on it.
    #[serde(default)]
    pub operating_since: Option<String>,
    /// Day the site relocated (`YYYY-MM-DD`), if it did.
    #[serde(default)]
    pub relocated_on: Option<String>,
}

/// Site policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Two different authorised agents must badge the vault within this window.
    pub vault_dual_auth_window_s: u32,
    /// An escorting agent must badge within this window of a visitor or vendor.
    pub escort_window_s: u32,
    /// Roles that may still pass restricted doors during a lockdown.
    pub lockdown_roles: Vec<String>,
    /// Unknown-card reads at one reader within `unknown_card_window_s` that raise an alarm.
    pub unknown_card_burst: u32,
    /// The window for `unknown_card_burst`.
    pub unknown_card_window_s: u32,
    /// Wrong PINs in a row at one reader before the keypad locks out and an alarm is raised.
    pub pin_attempts_lockout: u32,
    /// Auto-arm after operating hours, this many minutes after closing.
    pub auto_arm_after_close_min: Option<u32>,
    /// Minutes before auto-arming that the people still inside are warned.
    pub auto_arm_warning_min: u32,
    /// Entry delay for perimeter zones while armed.
    pub entry_delay_s: u32,
    /// Exit delay after arming.
    pub exit_delay_s: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            vault_dual_auth_window_s: 30,
            escort_window_s: 30,
            lockdown_roles: vec!["security-manager".into()],
            unknown_card_burst: 5,
            unknown_card_window_s: 60,
            pin_attempts_lockout: 5,
            auto_arm_after_close_min: Some(30),
            auto_arm_warning_min: 5,
            entry_delay_s: 30,
            exit_delay_s: 60,
        }
    }
}

impl SiteConfig {
    /// Finds an area by id.
    pub fn area(&self, id: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.id == id)
    }
    /// Finds a door by id.
    pub fn door(&self, id: &str) -> Option<&Door> {
        self.doors.iter().find(|d| d.id == id)
    }
    /// Finds a camera by id.
    pub fn camera(&self, id: &str) -> Option<&Camera> {
        self.cameras.iter().find(|c| c.id == id)
    }

    /// Whether the site is open at local weekday `weekday` (`"mon"`..) and minute of day.
    pub fn is_open(&self, weekday: &str, minute_of_day: u32) -> bool {
        self.site
            .operating_hours
            .get(weekday)
            .and_then(|s| parse_hours(s))
            .is_some_and(|(open, close)| minute_of_day >= open && minute_of_day < close)
    }
}

/// The demo site file (an Illinois dispensary) that `strongroom serve` runs when nothing is
/// configured.
pub const DEMO_SITE_TOML: &str = include_str!("../../sites/demo-il-dispensary.toml");
