//! Supervision (pure): every supervised device must be heard within its interval, and troubles
//! (AC loss, low battery, communication faults, zone troubles) are tracked with their onset.
//!
//! [`Supervisor`]: a device (sensor with `supervision_interval_s`, panel with its NULL-message
//! interval) not heard for longer than its interval, or whose MQTT last will says `offline`, gets
//! one `health.device_silent` fact carrying `onset_ms` (last heard; for a last will, the will's
//! arrival) and `detected_ms`. Hearing it again gives one `health.device_restored` with
//! `outage_ms`. The HLT-02 five-minute budget runs from `onset_ms`.
//!
//! [`TroubleTracker`]: trouble/restore pairs become `health.ac_lost` / `health.ac_restored`,
//! `health.battery_low` / `health.battery_restored`, `health.comm_trouble` /
//! `health.comm_restored`, `health.zone_trouble` / `health.zone_trouble_restored`, each with the
//! onset (the device's own time when it sent one), the detection time and, on restore, the
//! outage length (PWR-03 / PWR-04). Repeats of an open trouble give nothing.
use std::collections::BTreeMap;
use strongroom_domain::{Actor, Fact};

use crate::config::AlarmConfig;
use crate::facts::kinds;
use crate::zone::ZoneType;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Supervised {
    device_type: &'static str,
    /// `None`: not supervised by interval, tracked only because it announced itself offline.
    interval_ms: Option<i64>,
    last_heard_ms: i64,
    /// `(onset_ms, detected_ms)` while the device is considered failed.
    failed: Option<(i64, i64)>,
}

/// Tracks when each supervised device was last heard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Supervisor {
    devices: BTreeMap<String, Supervised>,
}

impl Supervisor {
    /// An empty supervisor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Supervises every sensor and panel of the configuration that has an interval, counting
    /// them as heard at `now_ms` (start-up).
    pub fn from_config(cfg: &AlarmConfig, now_ms: i64) -> Self {
        let mut s = Supervisor::new();
        for sensor in &cfg.sensors {
            if let Some(i) = sensor.supervision_interval_s {
                s.add(&sensor.id, "sensor", i, now_ms);
            }
        }
        for (panel, interval) in &cfg.panels {
            if let Some(i) = interval {
                s.add(panel, "panel", *i, now_ms);
            }
        }
        s
    }

    /// Adds (or replaces) a supervised device, heard at `now_ms`.
    pub fn add(&mut self, device: &str, device_type: &'static str, interval_s: u32, now_ms: i64) {
        self.devices.insert(
            device.to_owned(),
            Supervised {
                device_type,
                interval_ms: Some(i64::from(interval_s.max(1)) * 1000),
                last_heard_ms: now_ms,
                failed: None,
            },
        );
    }

    /// Whether `device` is supervised.
    pub fn supervises(&self, device: &str) -> bool {
        self.devices.contains_key(device)
    }

    /// Whether `device` is currently considered failed (silent or offline).
    pub fn is_failed(&self, device: &str) -> bool {
        self.devices.get(device).is_some_and(|d| d.failed.is_some())
    }

    /// The device was heard at `now_ms`; returns a restore fact if it had been failed.
    /// Unsupervised devices are ignored.
    pub fn heard(&mut self, device: &str, now_ms: i64) -> Vec<Fact> {
        let Some(d) = self.devices.get_mut(device) else {
            return Vec::new();
        };
        d.last_heard_ms = d.last_heard_ms.max(now_ms);
        match d.failed.take() {
            Some((onset_ms, detected_ms)) => vec![
                Fact::new(
                    kinds::DEVICE_RESTORED,
                    Actor::Device(device.to_owned()),
                    now_ms,
                )
                .with("device", device)
                .with("device_type", d.device_type)
                .with("onset_ms", onset_ms)
                .with("detected_ms", detected_ms)
                .with("restored_ms", now_ms)
                .with("outage_ms", now_ms.saturating_sub(onset_ms)),
            ],
            None => Vec::new(),
        }
    }

    /// The device said it is going away (MQTT last will): a failure now, unless already failed.
    /// A device without an interval is tracked from here on, so its return is reported too.
    pub fn offline(&mut self, device: &str, now_ms: i64) -> Vec<Fact> {
        let d = self
            .devices
            .entry(device.to_owned())
            .or_insert_with(|| Supervised {
                device_type: "sensor",
                interval_ms: None,
                last_heard_ms: now_ms,
                failed: None,
            });
        if d.failed.is_some() {
            return Vec::new();
        }
        d.failed = Some((now_ms, now_ms));
        vec![silent_fact(device, d, now_ms, now_ms, "offline")]
    }

    /// Checks every device against its interval; returns a failure fact for each device that has
    /// just gone silent.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Fact> {
        let mut out = Vec::new();
        for (id, d) in &mut self.devices {
            let late = d
                .interval_ms
                .is_some_and(|i| now_ms.saturating_sub(d.last_heard_ms) > i);
            if d.failed.is_none() && late {
                let onset = d.last_heard_ms;
                d.failed = Some((onset, now_ms));
                out.push(silent_fact(id, d, onset, now_ms, "silence"));
            }
        }
        out
    }
}

fn silent_fact(device: &str, d: &Supervised, onset_ms: i64, now_ms: i64, reason: &str) -> Fact {
    Fact::new(kinds::DEVICE_SILENT, Actor::System, now_ms)
        .with("device", device)
        .with("device_type", d.device_type)
        .with("reason", reason)
        .with("interval_s", d.interval_ms.map(|i| i / 1000))
        .with("last_heard_ms", d.last_heard_ms)
        .with("onset_ms", onset_ms)
        .with("detected_ms", now_ms)
}

/// Open troubles, keyed by (source, sensor or zone, condition).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TroubleTracker {
    open: BTreeMap<(String, String, &'static str), i64>,
}

/// What a trouble is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TroubleKind {
    /// Mains power lost.
    AcPower,
    /// Battery low or failed.
    Battery,
    /// Communication path fault.
    Communication,
    /// Any other zone or system trouble.
    Zone,
}

impl TroubleKind {
    /// From a zone type (supervisory kinds), anything else is a zone trouble.
    pub fn from_zone_type(z: Option<ZoneType>) -> TroubleKind {
        match z {
            Some(ZoneType::AcPower) => TroubleKind::AcPower,
            Some(ZoneType::Battery) => TroubleKind::Battery,
            Some(ZoneType::Communication) => TroubleKind::Communication,
            _ => TroubleKind::Zone,
        }
    }
    fn kinds(self) -> (&'static str, &'static str) {
        match self {
            TroubleKind::AcPower => (kinds::AC_LOST, kinds::AC_RESTORED),
            TroubleKind::Battery => (kinds::BATTERY_LOW, kinds::BATTERY_RESTORED),
            TroubleKind::Communication => (kinds::COMM_TROUBLE, kinds::COMM_RESTORED),
            TroubleKind::Zone => (kinds::ZONE_TROUBLE, kinds::ZONE_TROUBLE_RESTORED),
        }
    }
}

/// Where a trouble was reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TroubleAt<'a> {
    /// The reporting device (panel or sensor id).
    pub source: &'a str,
    /// The sensor, if known.
    pub sensor: Option<&'a str>,
    /// The zone number.
    pub zone: u16,
    /// The device's own onset time if it sent one, else receipt time.
    pub onset_ms: i64,
}

impl TroubleTracker {
    /// A trouble began (or is repeated: then nothing).
    pub fn trouble(&mut self, kind: TroubleKind, at: &TroubleAt<'_>, now_ms: i64) -> Vec<Fact> {
        let key = key(kind, at);
        if self.open.contains_key(&key) {
            return Vec::new();
        }
        self.open.insert(key, at.onset_ms);
        vec![
            base(kind.kinds().0, at, now_ms)
                .with("onset_ms", at.onset_ms)
                .with("detected_ms", now_ms),
        ]
    }

    /// A trouble cleared (unknown troubles clear with an onset of `null`).
    pub fn restore(&mut self, kind: TroubleKind, at: &TroubleAt<'_>, now_ms: i64) -> Vec<Fact> {
        let onset = self.open.remove(&key(kind, at));
        let mut f = base(kind.kinds().1, at, now_ms)
            .with("onset_ms", onset)
            .with("restored_ms", at.onset_ms);
        if let Some(o) = onset {
            f = f.with("outage_ms", at.onset_ms.saturating_sub(o));
        }
        vec![f]
    }

    /// Number of open troubles.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }
}

fn key(kind: TroubleKind, at: &TroubleAt<'_>) -> (String, String, &'static str) {
    (
        at.source.to_owned(),
        at.sensor.map_or_else(|| at.zone.to_string(), str::to_owned),
        kind.kinds().0,
    )
}

fn base(kind: &str, at: &TroubleAt<'_>, now_ms: i64) -> Fact {
    let actor = Actor::Device(at.sensor.unwrap_or(at.source).to_owned());
    Fact::new(kind, actor, now_ms)
        .with("source", at.source)
        .with("sensor", at.sensor)
        .with("zone", at.zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_detected_once_with_onset_and_restored() {
        let mut s = Supervisor::new();
        s.add("panic-pos", "sensor", 120, 0);
        assert!(
            s.tick(120_000).is_empty(),
            "exactly the interval is not late"
        );
        assert!(s.heard("panic-pos", 100_000).is_empty());
        let f = s.tick(220_001);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "health.device_silent");
        assert_eq!(f[0].payload["onset_ms"], 100_000);
        assert_eq!(f[0].payload["detected_ms"], 220_001);
        assert!(s.tick(500_000).is_empty(), "reported once");
        assert!(s.is_failed("panic-pos"));
        let r = s.heard("panic-pos", 600_000);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].kind, "health.device_restored");
        assert_eq!(r[0].payload["outage_ms"], 500_000);
        assert!(!s.is_failed("panic-pos"));
        assert!(s.heard("unknown", 1).is_empty());
    }

    #[test]
    fn last_will_fails_at_once() {
        let mut s = Supervisor::new();
        s.add("holdup-pos", "sensor", 120, 0);
        let f = s.offline("holdup-pos", 5_000);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].payload["reason"], "offline");
        assert_eq!(f[0].payload["onset_ms"], 5_000);
        assert!(s.offline("holdup-pos", 6_000).is_empty());
        assert!(s.tick(1_000_000).is_empty(), "already failed");
        let f = s.offline("unsupervised", 7_000);
        assert_eq!(
            f.len(),
            1,
            "an explicit offline is a failure even without an interval"
        );
        assert!(s.tick(10_000_000).is_empty());
        assert_eq!(s.heard("unsupervised", 8_000).len(), 1);
    }

    #[test]
    fn ac_loss_with_onset_and_outage_length() {
        let mut t = TroubleTracker::default();
        let at = |onset_ms| TroubleAt {
            source: "panel-1",
            sensor: None,
            zone: 0,
            onset_ms,
        };
        let f = t.trouble(TroubleKind::AcPower, &at(1_000), 1_500);
        assert_eq!(f[0].kind, "health.ac_lost");
        assert_eq!(f[0].payload["onset_ms"], 1_000);
        assert_eq!(f[0].payload["detected_ms"], 1_500);
        assert!(
            t.trouble(TroubleKind::AcPower, &at(2_000), 2_000)
                .is_empty()
        );
        let r = t.restore(TroubleKind::AcPower, &at(61_000), 61_000);
        assert_eq!(r[0].kind, "health.ac_restored");
        assert_eq!(r[0].payload["outage_ms"], 60_000);
        assert_eq!(t.open_count(), 0);
    }
}
