//! The outage rule: security-system outages derived from device health facts, then the details
//! recorded about each (notices, report submission, cause, corrective actions, repair).
//!
//! One outage opens at the first `health.*_down` while none is open, takes in every device that
//! goes down meanwhile, and closes when the last of them is back up. A camera's lost span runs
//! from its down onset to its return. The outage's id is `outage-SEQ` of the fact that opened it.
use std::collections::{BTreeMap, BTreeSet};

use strongroom_domain::Fact;
use strongroom_domain::site::SiteConfig;

use super::payload::{int, opt_text, text};
use crate::facts::kinds;
use crate::records::{LostSpan, Outage};
use crate::{report, schedule};

/// The outages of `health` (`health.*` facts in journal order) with the details of `details`
/// (`outage.*` facts) applied.
pub fn outages_of(
    config: &SiteConfig,
    health: &[(u64, Fact)],
    details: &[(u64, Fact)],
) -> Vec<Outage> {
    let mut out = derive(config, health);
    for (_, f) in details {
        let p = &f.payload;
        let id = text(p, "outage_id");
        let Some(o) = out.iter_mut().find(|o| o.id == id) else {
            continue;
        };
        match f.kind.as_str() {
            kinds::OUTAGE_NOTIFIED => {
                let t = int(p, "notified_ms").unwrap_or(f.time_ms);
                o.notified_ms = Some(o.notified_ms.map_or(t, |x| x.min(t)));
                o.notifications.push(format!(
                    "{} to {} at {}",
                    text(p, "channel"),
                    text(p, "recipient"),
                    report::fmt_local(t, &schedule::site_tz(config))
                ));
            }
            kinds::OUTAGE_REPORT_SUBMITTED => {
                o.report_submitted_ms = Some(int(p, "submitted_ms").unwrap_or(f.time_ms));
            }
            kinds::OUTAGE_UPDATED => {
                if let Some(c) = opt_text(p, "cause") {
                    o.cause = c;
                }
                if let Some(c) = opt_text(p, "corrective_actions") {
                    o.corrective_actions = c;
                }
                if let Some(t) = int(p, "repaired_ms") {
                    o.repaired_ms = Some(t);
                }
                if let Some(a) = opt_text(p, "extension_approval_ref") {
                    o.extension_approval_ref = Some(a);
                }
            }
            _ => {}
        }
    }
    out
}

/// The outages themselves, from health facts alone.
fn derive(config: &SiteConfig, health: &[(u64, Fact)]) -> Vec<Outage> {
    struct Open {
        o: Outage,
        down: BTreeMap<String, i64>,
        causes: BTreeSet<String>,
    }
    let is_camera = |d: &str| config.cameras.iter().any(|c| c.id == d);
    let mut out = Vec::new();
    let mut open: Option<Open> = None;
    for (seq, f) in health {
        let p = &f.payload;
        let device = opt_text(p, "device").or_else(|| opt_text(p, "camera"));
        let Some(device) = device else { continue };
        if f.kind.ends_with("_down") {
            let onset = int(p, "onset_ms").unwrap_or(f.time_ms);
            let cur = open.get_or_insert_with(|| Open {
                o: Outage {
                    id: format!("outage-{seq}"),
                    start_ms: onset,
                    ..Outage::default()
                },
                down: BTreeMap::new(),
                causes: BTreeSet::new(),
            });
            cur.o.start_ms = cur.o.start_ms.min(onset);
            cur.down.entry(device.clone()).or_insert(onset);
            if !cur.o.affected_devices.contains(&device) {
                cur.o.affected_devices.push(device.clone());
            }
            cur.causes.insert(format!(
                "{} {device}",
                f.kind.trim_start_matches("health.").replace('_', " ")
            ));
        } else if f.kind.ends_with("_up") {
            let Some(cur) = open.as_mut() else { continue };
            let Some(onset) = cur.down.remove(&device) else {
                continue;
            };
            let up = int(p, "up_ms").unwrap_or(f.time_ms);
            if is_camera(&device) {
                cur.o.lost_spans.push(LostSpan {
                    camera_id: device.clone(),
                    start_ms: onset,
                    end_ms: up,
                });
            }
            if cur.down.is_empty()
                && let Some(mut done) = open.take()
            {
                done.o.end_ms = Some(up);
                done.o.cause = done.causes.into_iter().collect::<Vec<_>>().join("; ");
                out.push(done.o);
            }
        }
    }
    if let Some(cur) = open {
        let mut o = cur.o;
        o.cause = cur.causes.into_iter().collect::<Vec<_>>().join("; ");
        out.push(o);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_domain::Actor;

    fn demo() -> SiteConfig {
        SiteConfig::parse("demo.toml", strongroom_domain::site::DEMO_SITE_TOML).expect("demo")
    }

    #[test]
    fn outages_from_health_facts_have_exact_spans() {
        let config = demo();
        let cam = config.cameras[0].id.clone();
        let down = Fact::new("health.camera_down", Actor::System, 1_500)
            .with("device", cam.clone())
            .with("onset_ms", 1_000);
        let other = Fact::new("health.reader_down", Actor::System, 2_000).with("device", "r1");
        let up = Fact::new("health.camera_up", Actor::System, 7_201_000)
            .with("device", cam.clone())
            .with("up_ms", 7_201_000);
        let other_up = Fact::new("health.reader_up", Actor::System, 7_300_000).with("device", "r1");
        let facts = vec![(5, down), (6, other), (7, up), (9, other_up)];
        let o = outages_of(&config, &facts[..3], &[]);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].end_ms, None, "the reader is still down");
        let o = outages_of(&config, &facts, &[]);
        assert_eq!(o[0].id, "outage-5");
        assert_eq!(o[0].start_ms, 1_000);
        assert_eq!(o[0].end_ms, Some(7_300_000));
        assert_eq!(o[0].lost_spans.len(), 1);
        assert_eq!(
            o[0].lost_spans[0].end_ms - o[0].lost_spans[0].start_ms,
            7_200_000
        );
        assert_eq!(o[0].cause, format!("camera down {cam}; reader down r1"));
        assert_eq!(o[0].affected_devices, vec![cam, "r1".to_owned()]);
    }

    #[test]
    fn details_apply_to_the_outage_they_name() {
        let config = demo();
        let health = vec![(
            5,
            Fact::new("health.reader_down", Actor::System, 1_000).with("device", "r1"),
        )];
        let details = vec![
            (
                6,
                Fact::new(kinds::OUTAGE_NOTIFIED, Actor::System, 3_000)
                    .with("outage_id", "outage-5")
                    .with("notified_ms", 3_000)
                    .with("channel", "email")
                    .with("recipient", "regulator"),
            ),
            (
                7,
                Fact::new(kinds::OUTAGE_NOTIFIED, Actor::System, 4_000)
                    .with("outage_id", "outage-5")
                    .with("notified_ms", 2_000)
                    .with("channel", "phone")
                    .with("recipient", "regulator"),
            ),
            (
                8,
                Fact::new(kinds::OUTAGE_UPDATED, Actor::System, 5_000)
                    .with("outage_id", "outage-5")
                    .with("cause", "power cut"),
            ),
            (
                9,
                Fact::new(kinds::OUTAGE_REPORT_SUBMITTED, Actor::System, 6_000)
                    .with("outage_id", "outage-7"),
            ),
        ];
        let o = outages_of(&config, &health, &details);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].notified_ms, Some(2_000), "the earliest notice counts");
        assert_eq!(o[0].notifications.len(), 2);
        assert!(o[0].notifications[0].starts_with("email to regulator at "));
        assert_eq!(o[0].cause, "power cut");
        assert_eq!(
            o[0].report_submitted_ms, None,
            "another outage's submission"
        );
    }
}
