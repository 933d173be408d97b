//! One record from one fact: `inspection.recorded`, `maintenance.recorded`,
//! `activity.recorded` and `attestation.recorded` (the fact's time is the record's time).
use std::collections::BTreeMap;

use serde_json::Value;
use strongroom_domain::Fact;

use super::payload::{flag, opt_text, text};
use crate::records::{Activity, Attestation, Inspection, Maintenance};

/// Whether `name` can name a recurring activity (`le_meeting`, `emergency_drill`): `a-z`, `0-9`
/// and `_` only.
pub fn is_activity_name(name: &str) -> bool {
    name.bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// The inspection an `inspection.recorded` fact records.
pub fn inspection_of(f: &Fact) -> Inspection {
    let p = &f.payload;
    Inspection {
        id: text(p, "inspection_id"),
        device_id: text(p, "device_id"),
        time_ms: f.time_ms,
        by: text(p, "by"),
        passed: flag(p, "passed"),
        notes: text(p, "notes"),
    }
}

/// The visit a `maintenance.recorded` fact records.
pub fn maintenance_of(f: &Fact) -> Maintenance {
    let p = &f.payload;
    Maintenance {
        id: text(p, "maintenance_id"),
        time_ms: f.time_ms,
        vendor_id: text(p, "vendor_id"),
        scope: text(p, "scope"),
        report_ref: text(p, "report_ref"),
    }
}

/// The activity an `activity.recorded` fact records.
pub fn activity_of(f: &Fact) -> Activity {
    let p = &f.payload;
    Activity {
        id: text(p, "activity_id"),
        activity: text(p, "activity"),
        time_ms: f.time_ms,
        notes: text(p, "notes"),
    }
}

/// The attestation an `attestation.recorded` fact records (values that are not integers are
/// left out).
pub fn attestation_of(f: &Fact) -> Attestation {
    let p = &f.payload;
    let values_milli: BTreeMap<String, i64> = p
        .get("values_milli")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_i64().map(|v| (k.clone(), v)))
                .collect()
        })
        .unwrap_or_default();
    Attestation {
        id: text(p, "attestation_id"),
        item: text(p, "item"),
        subject: text(p, "subject"),
        time_ms: f.time_ms,
        by: text(p, "by"),
        values_milli,
        choice: opt_text(p, "choice"),
        text: opt_text(p, "text"),
        approval_ref: opt_text(p, "approval_ref"),
        in_place: flag(p, "in_place"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_domain::Actor;

    #[test]
    fn records_read_back_from_their_facts() {
        let f = Fact::new("inspection.recorded", Actor::System, 5)
            .with("inspection_id", "ins-1")
            .with("device_id", "cam1")
            .with("passed", true)
            .with("by", "ann");
        let i = inspection_of(&f);
        assert_eq!((i.id.as_str(), i.time_ms, i.passed), ("ins-1", 5, true));
        let mut values = serde_json::Map::new();
        values.insert("width_in".into(), 12_500.into());
        values.insert("bad".into(), "x".into());
        let f = Fact::new("attestation.recorded", Actor::System, 9)
            .with("attestation_id", "att-1")
            .with("item", "sign")
            .with("values_milli", Value::Object(values))
            .with("choice", "");
        let a = attestation_of(&f);
        assert_eq!(a.values_milli.len(), 1);
        assert_eq!(a.values_milli["width_in"], 12_500);
        assert_eq!(a.choice, None, "an empty choice reads as none");
        assert!(!a.in_place);
        let m = maintenance_of(
            &Fact::new("maintenance.recorded", Actor::System, 3).with("scope", "annual"),
        );
        assert_eq!((m.scope.as_str(), m.time_ms), ("annual", 3));
        let a = activity_of(
            &Fact::new("activity.recorded", Actor::System, 4).with("activity", "le_meeting"),
        );
        assert_eq!(a.activity, "le_meeting");
        assert!(is_activity_name("le_meeting") && is_activity_name("drill2"));
        assert!(!is_activity_name("LE meeting"));
    }
}
