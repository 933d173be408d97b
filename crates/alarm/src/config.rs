//! The alarm model's configuration, taken from the site model: sensors (kind, area, zone,
//! partition, supervision interval), panels (supervision interval), the arming policy (entry and
//! exit delays, auto-arm after closing) and the operating hours in the site's time zone.
use std::collections::BTreeMap;
use strongroom_domain::site::{SiteConfig, parse_hours};

use crate::zone::ZoneType;

/// One alarm point as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorConfig {
    /// Site-model id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Zone type.
    pub zone_type: ZoneType,
    /// The area it is in.
    pub area: String,
    /// Zone number on its panel.
    pub zone: u16,
    /// Partition.
    pub partition: u16,
    /// The panel it reports through, if any.
    pub panel: Option<String>,
    /// Supervision interval, if supervised.
    pub supervision_interval_s: Option<u32>,
}

/// Everything the alarm model needs from the site.
#[derive(Debug, Clone)]
pub struct AlarmConfig {
    /// The site's time zone (operating hours and auto-arm are computed in it).
    pub timezone: jiff::tz::TimeZone,
    /// Operating hours: weekday (0 = Monday .. 6 = Sunday) → (open, close) minutes of the day.
    pub operating_hours: BTreeMap<u8, (u32, u32)>,
    /// The alarm points.
    pub sensors: Vec<SensorConfig>,
    /// Panels: id → supervision interval.
    pub panels: BTreeMap<String, Option<u32>>,
    /// Entry delay on perimeter entry zones while armed away.
    pub entry_delay_s: u32,
    /// Exit delay after arming.
    pub exit_delay_s: u32,
    /// Auto-arm (away) this many minutes after closing; `None`: no auto-arm, but a
    /// `arming.not_armed_after_close` alert at `not_armed_alert_after_close_min`.
    pub auto_arm_after_close_min: Option<u32>,
    /// Warn the people still inside this many minutes before auto-arming.
    pub auto_arm_warning_min: u32,
    /// Without auto-arm: alert this many minutes after closing if a partition is still disarmed
    /// (IL 1291.300(e)(1)(D) "after-hours").
    pub not_armed_alert_after_close_min: u32,
}

/// Why a site could not be turned into an alarm configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The site's time zone is not known to the time-zone database.
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    /// Operating hours that do not parse (the site model validates them; this is a backstop).
    #[error("bad operating hours {hours:?} for {day}")]
    BadHours {
        /// The weekday key.
        day: String,
        /// The text.
        hours: String,
    },
    /// Two sensors on one panel share a zone number, so panel signals would be ambiguous.
    #[error("sensors {first:?} and {second:?} share zone {zone} on panel {panel:?}")]
    DuplicateZone {
        /// The panel.
        panel: String,
        /// The zone number.
        zone: u16,
        /// The first sensor.
        first: String,
        /// The second sensor.
        second: String,
    },
}

/// Weekday index, Monday = 0.
pub(crate) fn weekday_index(day: &str) -> Option<u8> {
    Some(match day {
        "mon" => 0,
        "tue" => 1,
        "wed" => 2,
        "thu" => 3,
        "fri" => 4,
        "sat" => 5,
        "sun" => 6,
        _ => return None,
    })
}

impl AlarmConfig {
    /// Builds the configuration from a validated site.
    pub fn from_site(site: &SiteConfig) -> Result<AlarmConfig, ConfigError> {
        let timezone = jiff::tz::TimeZone::get(&site.site.timezone)
            .map_err(|_| ConfigError::UnknownTimeZone(site.site.timezone.clone()))?;
        let mut operating_hours = BTreeMap::new();
        for (day, hours) in &site.site.operating_hours {
            let bad = || ConfigError::BadHours {
                day: day.clone(),
                hours: hours.clone(),
            };
            let idx = weekday_index(day).ok_or_else(bad)?;
            operating_hours.insert(idx, parse_hours(hours).ok_or_else(bad)?);
        }
        let sensors: Vec<SensorConfig> = site
            .sensors
            .iter()
            .map(|s| SensorConfig {
                id: s.id.clone(),
                name: s.name.clone(),
                zone_type: s.kind.into(),
                area: s.area.clone(),
                zone: s.zone,
                partition: s.partition,
                panel: s.panel.clone(),
                supervision_interval_s: s.supervision_interval_s,
            })
            .collect();
        let mut seen: BTreeMap<(&str, u16), &str> = BTreeMap::new();
        for s in &sensors {
            if let Some(p) = &s.panel
                && let Some(first) = seen.insert((p.as_str(), s.zone), s.id.as_str())
            {
                return Err(ConfigError::DuplicateZone {
                    panel: p.clone(),
                    zone: s.zone,
                    first: first.to_owned(),
                    second: s.id.clone(),
                });
            }
        }
        Ok(AlarmConfig {
            timezone,
            operating_hours,
            sensors,
            panels: site
                .panels
                .iter()
                .map(|p| (p.id.clone(), p.supervision_interval_s))
                .collect(),
            entry_delay_s: site.policy.entry_delay_s,
            exit_delay_s: site.policy.exit_delay_s,
            auto_arm_after_close_min: site.policy.auto_arm_after_close_min,
            auto_arm_warning_min: 5,
            not_armed_alert_after_close_min: 30,
        })
    }

    /// The partitions that have at least one sensor (partition 1 if there are none).
    pub fn partitions(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self.sensors.iter().map(|s| s.partition).collect();
        if v.is_empty() {
            v.push(1);
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_domain::site::DEMO_SITE_TOML;

    #[test]
    fn demo_site_converts() {
        let site = SiteConfig::parse("demo.toml", DEMO_SITE_TOML).expect("demo parses");
        let c = AlarmConfig::from_site(&site).expect("converts");
        assert_eq!(c.sensors.len(), site.sensors.len());
        assert_eq!(c.operating_hours.get(&0), Some(&(9 * 60, 21 * 60)));
        assert_eq!(c.partitions(), vec![1]);
        assert_eq!(c.panels.get("panel-1"), Some(&Some(90)));
    }

    #[test]
    fn duplicate_zone_on_a_panel_is_refused() {
        let text = DEMO_SITE_TOML.replace("zone = 2\n", "zone = 1\n");
        let site = SiteConfig::parse("demo.toml", &text).expect("still a valid site");
        assert!(matches!(
            AlarmConfig::from_site(&site),
            Err(ConfigError::DuplicateZone { zone: 1, .. })
        ));
    }
}
