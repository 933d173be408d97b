//! Failure episodes: a device's failure, from the fact that reports it to the fact that reports
//! it restored.
//!
//! The law asks for notice of *each* failure (IL 1291.300(e)(1)(C), OH 3796:6-3-16(E)(12), OH
//! 3796:3-2-05(B)(9)), so a repeated failure must not be folded into an earlier one. A failure
//! kind paired with its restore kind in [`EPISODE_KINDS`] opens an episode keyed by the kind and
//! the device ([`episode_key`]). Reports of the same failure while the episode runs join it (the
//! only deduplication); the restore fact ends it, cancels the escalation steps not sent yet and
//! tells everyone the failure notice reached that it is over. The next failure of the same device
//! is a new episode, notified like the first.

use std::collections::BTreeMap;

use strongroom_domain::Fact;
use strongroom_domain::site::SiteConfig;

/// Device id → display name for every camera, reader, sensor, panel and door of the site, so a
/// message can name what failed (`Vault camera (cam1)`) when the fact carries only the id.
pub fn device_names(config: &SiteConfig) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let mut put = |id: &str, name: &str| {
        if !name.is_empty() {
            names.insert(id.to_owned(), name.to_owned());
        }
    };
    config.doors.iter().for_each(|d| put(&d.id, &d.name));
    config.readers.iter().for_each(|r| put(&r.id, &r.name));
    config.sensors.iter().for_each(|x| put(&x.id, &x.name));
    config.panels.iter().for_each(|x| put(&x.id, &x.name));
    config.cameras.iter().for_each(|x| put(&x.id, &x.name));
    names
}

/// (failure kind, restore kind), as the subsystems journal them.
pub const EPISODE_KINDS: &[(&str, &str)] = &[
    ("health.camera_down", "health.camera_up"),
    ("health.reader_down", "health.reader_up"),
    ("health.device_silent", "health.device_restored"),
    ("health.ac_lost", "health.ac_restored"),
    ("health.battery_low", "health.battery_restored"),
    ("health.comm_trouble", "health.comm_restored"),
    ("health.zone_trouble", "health.zone_trouble_restored"),
    (
        "health.recorder_write_failed",
        "health.recorder_write_restored",
    ),
];

/// Whether `kind` reports a failure that a later fact restores.
pub fn is_failure(kind: &str) -> bool {
    EPISODE_KINDS.iter().any(|(f, _)| *f == kind)
}

/// The failure kind that `kind` restores, if it is a restore kind.
pub fn failure_restored_by(kind: &str) -> Option<&'static str> {
    EPISODE_KINDS
        .iter()
        .find(|(_, r)| *r == kind)
        .map(|(f, _)| *f)
}

fn text<'a>(fact: &'a Fact, key: &str) -> Option<&'a str> {
    fact.payload
        .get(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

/// What failed: the payload's `dedupe_key`, else its `device` (or `camera`, `reader`), else the
/// reporting source and the sensor or zone (panel troubles), else the actor.
pub fn subject(fact: &Fact) -> String {
    if let Some(k) = ["dedupe_key", "device", "camera", "reader"]
        .iter()
        .find_map(|k| text(fact, k))
    {
        return k.to_owned();
    }
    let source = text(fact, "source");
    let part = text(fact, "sensor").map(str::to_owned).or_else(|| {
        fact.payload.get("zone").filter(|z| !z.is_null()).map(|z| {
            format!(
                "zone {}",
                z.as_str().map_or_else(|| z.to_string(), str::to_owned)
            )
        })
    });
    match (source, part) {
        (Some(s), Some(p)) => format!("{s}/{p}"),
        (Some(s), None) => s.to_owned(),
        (None, Some(p)) => p,
        (None, None) => fact.actor.to_string(),
    }
}

/// The key of the episode `fact` belongs to, given the failure kind it reports or restores.
pub fn episode_key(failure_kind: &str, fact: &Fact) -> String {
    format!("{failure_kind}|{}", subject(fact))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_domain::Actor;

    #[test]
    fn a_restore_names_the_failure_and_the_same_device() {
        let down = Fact::new("health.device_silent", Actor::System, 1).with("device", "panel-1");
        let up = Fact::new("health.device_restored", Actor::Device("panel-1".into()), 2)
            .with("device", "panel-1");
        let fail = failure_restored_by(&up.kind).expect("a restore kind");
        assert!(is_failure(fail));
        assert_eq!(episode_key(&down.kind, &down), episode_key(fail, &up));
        let other = Fact::new("health.device_silent", Actor::System, 1).with("device", "panel-2");
        assert_ne!(
            episode_key(&down.kind, &down),
            episode_key(&other.kind, &other)
        );
    }

    #[test]
    fn panel_troubles_are_keyed_by_source_and_zone() {
        let f = Fact::new("health.ac_lost", Actor::System, 1)
            .with("source", "panel-1")
            .with("zone", 7);
        assert_eq!(subject(&f), "panel-1/zone 7");
        assert!(failure_restored_by("health.ac_lost").is_none());
    }
}
