//! Fact kinds the compliance engine produces, with their payloads, and builders for them.
//!
//! Payloads are JSON objects of strings and integers only (no floats; see
//! `strongroom_domain::fact`). Times are epoch milliseconds UTC (`*_ms`), local dates are
//! `YYYY-MM-DD` strings in the site's time zone (`*_local_date`).
use serde_json::json;
use strongroom_domain::fact::{Actor, Fact};

use crate::check::Finding;
use crate::records::{Attestation, Incident, Inspection, Outage, VendorChange};
use crate::schedule::Task;

/// Fact kinds.
pub mod kinds {
    /// A requirement was evaluated. Payload: `requirement_id`, `citation`, `status`
    /// (pass/fail/attested/not_applicable/practice), `summary`, `devices` (list of ids).
    pub const COMPLIANCE_FINDING: &str = "compliance.finding";
    /// A deadline was opened. Payload: `task_id`, `task_kind`, `requirement_id`, `citation`,
    /// `subject`, `due_local_date`, and `due_ms` for hour-precise deadlines.
    pub const TASK_OPENED: &str = "task.opened";
    /// A deadline passed with the task open. Payload: as `task.opened` plus `days_overdue`.
    pub const TASK_OVERDUE: &str = "task.overdue";
    /// A task was completed. Payload: `task_id`, `requirement_id`, `done_ms`.
    pub const TASK_DONE: &str = "task.done";
    /// A device was inspected and tested. Payload: `inspection_id`, `device_id`, `passed`
    /// (bool), `by`.
    pub const INSPECTION_RECORDED: &str = "inspection.recorded";
    /// A security-system outage started. Payload: `outage_id`, `start_ms`, `cause`,
    /// `affected_devices`.
    pub const OUTAGE_OPENED: &str = "outage.opened";
    /// An outage ended. Payload: `outage_id`, `start_ms`, `end_ms`, `lost_ms` (sum of lost spans).
    pub const OUTAGE_CLOSED: &str = "outage.closed";
    /// The approved vendor list changed. Payload: `change_id`, `vendor_id`, `change`
    /// (added/removed/changed), `detail`.
    pub const VENDOR_CHANGED: &str = "vendor.changed";
    /// A diversion, theft or loss incident was opened. Payload: `incident_id`, `incident_kind`,
    /// `discovered_ms`, `cameras`.
    pub const INCIDENT_OPENED: &str = "incident.opened";
    /// A physical item was attested. Payload: `attestation_id`, `item`, `subject`, `in_place`
    /// (bool), `values_milli` (object of integers, thousandths of the unit in the key).
    pub const ATTESTATION_RECORDED: &str = "attestation.recorded";
    /// A compliance report was produced. Payload: `report`, `format`, `bytes`.
    pub const REPORT_GENERATED: &str = "report.generated";
    /// A preventive-maintenance visit. Payload: `maintenance_id`, `vendor_id`, `scope`, `report_ref`.
    pub const MAINTENANCE_RECORDED: &str = "maintenance.recorded";
    /// A recurring activity done (meeting, drill, training). Payload: `activity_id`, `activity`,
    /// `notes`.
    pub const ACTIVITY_RECORDED: &str = "activity.recorded";
    /// An incident changed. Payload: `incident_id` and any of `secured_ms`, `root_cause`,
    /// `action` (object: `id`, `description`, `owner`, `due_local_date`), `action_done` (action
    /// id), `closed_ms`.
    pub const INCIDENT_UPDATED: &str = "incident.updated";
    /// The regulator was told about an outage. Payload: `outage_id`, `notified_ms`, `channel`,
    /// `recipient`.
    pub const OUTAGE_NOTIFIED: &str = "outage.notified";
    /// The outage report was submitted. Payload: `outage_id`, `submitted_ms`, `reference`.
    pub const OUTAGE_REPORT_SUBMITTED: &str = "outage.report_submitted";
    /// Details of an outage were added. Payload: `outage_id` and any of `cause`,
    /// `corrective_actions`, `repaired_ms`, `extension_approval_ref`.
    pub const OUTAGE_UPDATED: &str = "outage.updated";
    /// A vendor-list change was reported to the regulator. Payload: `change_id`, `submitted_ms`,
    /// `reference`.
    pub const VENDOR_CHANGE_SUBMITTED: &str = "vendor.change_submitted";
}

fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// `compliance.finding` for one finding.
pub fn finding(f: &Finding, now_ms: i64) -> Fact {
    Fact {
        kind: kinds::COMPLIANCE_FINDING.into(),
        actor: Actor::System,
        time_ms: now_ms,
        payload: obj(json!({
            "requirement_id": f.requirement_id,
            "citation": f.citation,
            "status": f.status.as_str(),
            "summary": f.summary,
            "devices": f.devices,
        })),
    }
}

/// `compliance.finding` facts only for requirements whose status differs from `previous` (or that
/// are new), so a periodic evaluation journals changes, not repetitions.
pub fn finding_changes(previous: &[Finding], current: &[Finding], now_ms: i64) -> Vec<Fact> {
    current
        .iter()
        .filter(|f| {
            !previous.iter().any(|p| {
                p.requirement_id == f.requirement_id
                    && p.status == f.status
                    && p.devices == f.devices
            })
        })
        .map(|f| finding(f, now_ms))
        .collect()
}

fn task_payload(t: &Task) -> serde_json::Map<String, serde_json::Value> {
    let mut m = obj(json!({
        "task_id": t.id,
        "task_kind": crate::pack::enum_name(&t.kind),
        "requirement_id": t.requirement_id,
        "citation": t.citation,
        "subject": t.subject,
        "due_local_date": t.due_local_date.to_string(),
    }));
    if let Some(d) = t.due_ms {
        m.insert("due_ms".into(), d.into());
    }
    m
}

/// `task.opened` for a task.
pub fn task_opened(t: &Task, now_ms: i64) -> Fact {
    Fact {
        kind: kinds::TASK_OPENED.into(),
        actor: Actor::System,
        time_ms: now_ms,
        payload: task_payload(t),
    }
}

/// `task.overdue` facts for every overdue task at `now_ms` (`today` = the site-local date).
pub fn overdue(tasks: &[Task], today: jiff::civil::Date, now_ms: i64) -> Vec<Fact> {
    tasks
        .iter()
        .filter(|t| t.state(today, now_ms) == crate::schedule::TaskState::Overdue)
        .map(|t| {
            let mut p = task_payload(t);
            p.insert("days_overdue".into(), t.days_overdue(today).into());
            Fact {
                kind: kinds::TASK_OVERDUE.into(),
                actor: Actor::System,
                time_ms: now_ms,
                payload: p,
            }
        })
        .collect()
}

/// `inspection.recorded`.
pub fn inspection_recorded(i: &Inspection, actor: Actor) -> Fact {
    Fact::new(kinds::INSPECTION_RECORDED, actor, i.time_ms)
        .with("inspection_id", i.id.as_str())
        .with("device_id", i.device_id.as_str())
        .with("passed", i.passed)
        .with("by", i.by.as_str())
}

/// `outage.opened`.
pub fn outage_opened(o: &Outage) -> Fact {
    Fact::new(kinds::OUTAGE_OPENED, Actor::System, o.start_ms)
        .with("outage_id", o.id.as_str())
        .with("start_ms", o.start_ms)
        .with("cause", o.cause.as_str())
        .with("affected_devices", o.affected_devices.clone())
}

/// `outage.closed` (none while the outage is open).
pub fn outage_closed(o: &Outage) -> Option<Fact> {
    let end = o.end_ms?;
    let lost_ms: i64 = o
        .lost_spans
        .iter()
        .map(|s| (s.end_ms.saturating_sub(s.start_ms)).max(0))
        .fold(0i64, i64::saturating_add);
    Some(
        Fact::new(kinds::OUTAGE_CLOSED, Actor::System, end)
            .with("outage_id", o.id.as_str())
            .with("start_ms", o.start_ms)
            .with("end_ms", end)
            .with("lost_ms", lost_ms),
    )
}

/// `vendor.changed`.
pub fn vendor_changed(c: &VendorChange, actor: Actor) -> Fact {
    Fact::new(kinds::VENDOR_CHANGED, actor, c.time_ms)
        .with("change_id", c.id.as_str())
        .with("vendor_id", c.vendor_id.as_str())
        .with("change", crate::pack::enum_name(&c.change))
        .with("detail", c.detail.as_str())
}

/// `incident.opened`.
pub fn incident_opened(i: &Incident, actor: Actor) -> Fact {
    Fact::new(kinds::INCIDENT_OPENED, actor, i.discovered_ms)
        .with("incident_id", i.id.as_str())
        .with("incident_kind", i.kind.as_str())
        .with("discovered_ms", i.discovered_ms)
        .with("cameras", i.cameras.clone())
}

/// `attestation.recorded`.
pub fn attestation_recorded(a: &Attestation, actor: Actor) -> Fact {
    let values: serde_json::Map<String, serde_json::Value> = a
        .values_milli
        .iter()
        .map(|(k, v)| (k.clone(), (*v).into()))
        .collect();
    Fact::new(kinds::ATTESTATION_RECORDED, actor, a.time_ms)
        .with("attestation_id", a.id.as_str())
        .with("item", a.item.as_str())
        .with("subject", a.subject.as_str())
        .with("in_place", a.in_place)
        .with("values_milli", serde_json::Value::Object(values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::LostSpan;

    #[test]
    fn only_changed_findings_become_facts() {
        let site = strongroom_domain::site::SiteConfig::parse(
            "d.toml",
            strongroom_domain::site::DEMO_SITE_TOML,
        )
        .expect("demo");
        let pack = crate::pack::for_site(&site)
            .expect("ships")
            .expect("parses");
        let before = crate::check::evaluate(&pack, &site, &crate::records::Records::default(), 0);
        assert_eq!(finding_changes(&[], &before, 0).len(), before.len());
        assert!(finding_changes(&before, &before, 0).is_empty());
        let records = crate::records::Records {
            vault_dual_auth_configured: true,
            capabilities: vec!["video.still".into()],
            ..Default::default()
        };
        let after = crate::check::evaluate(&pack, &site, &records, 0);
        let changed = finding_changes(&before, &after, 5);
        assert_eq!(changed.len(), 1, "EXP-01 only (IL has no dual-auth row)");
        assert_eq!(
            changed[0].payload.get("requirement_id"),
            Some(&"EXP-01".into())
        );
        assert_eq!(changed[0].payload.get("status"), Some(&"pass".into()));
        assert!(changed.iter().all(|f| f.validate().is_ok()));
    }

    #[test]
    fn facts_validate() {
        let o = Outage {
            id: "o1".into(),
            start_ms: 1_000,
            end_ms: Some(7_201_000),
            lost_spans: vec![LostSpan {
                camera_id: "cam".into(),
                start_ms: 1_000,
                end_ms: 7_201_000,
            }],
            affected_devices: vec!["cam".into()],
            ..Outage::default()
        };
        let opened = outage_opened(&o);
        assert_eq!(opened.validate(), Ok(()));
        let closed = outage_closed(&o).expect("closed");
        assert_eq!(
            closed.payload.get("lost_ms"),
            Some(&serde_json::Value::from(7_200_000))
        );
        assert_eq!(closed.validate(), Ok(()));
        let mut a = Attestation {
            id: "a1".into(),
            item: "sign".into(),
            subject: "d".into(),
            ..Attestation::default()
        };
        a.values_milli.insert("width_in".into(), 12_000);
        assert_eq!(
            attestation_recorded(&a, Actor::User("x".into())).validate(),
            Ok(())
        );
    }
}
