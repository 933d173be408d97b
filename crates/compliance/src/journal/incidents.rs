//! Incidents from `incident.opened` and `incident.updated` facts: an update applies to the
//! incident it names (an update of an unknown incident is ignored), in journal order.
use serde_json::Value;
use strongroom_domain::Fact;

use super::payload::{int, opt_text, text, texts};
use crate::facts::kinds;
use crate::records::{CorrectiveAction, Incident};

/// The incidents of `facts` (`incident.*` facts, in journal order), with their updates applied.
pub fn incidents_of(facts: &[(u64, Fact)]) -> Vec<Incident> {
    let mut out: Vec<Incident> = Vec::new();
    for (_, f) in facts {
        let p = &f.payload;
        match f.kind.as_str() {
            kinds::INCIDENT_OPENED => out.push(Incident {
                id: text(p, "incident_id"),
                kind: text(p, "incident_kind"),
                discovered_ms: int(p, "discovered_ms").unwrap_or(f.time_ms),
                reporter: text(p, "reporter"),
                description: text(p, "description"),
                affected: text(p, "affected"),
                cameras: texts(p, "cameras"),
                ..Incident::default()
            }),
            kinds::INCIDENT_UPDATED => {
                let id = text(p, "incident_id");
                let Some(inc) = out.iter_mut().find(|x| x.id == id) else {
                    continue;
                };
                if let Some(t) = int(p, "secured_ms") {
                    inc.secured_ms = Some(t);
                }
                if let Some(rc) = opt_text(p, "root_cause") {
                    inc.root_cause = rc;
                }
                if let Some(a) = p.get("action").and_then(Value::as_object) {
                    inc.actions.push(CorrectiveAction {
                        id: text(a, "id"),
                        description: text(a, "description"),
                        owner: text(a, "owner"),
                        due_local_date: opt_text(a, "due_local_date").and_then(|d| d.parse().ok()),
                        done_ms: None,
                    });
                }
                if let Some(done) = opt_text(p, "action_done")
                    && let Some(a) = inc.actions.iter_mut().find(|a| a.id == done)
                {
                    a.done_ms = Some(f.time_ms);
                }
                if let Some(t) = int(p, "closed_ms") {
                    inc.closed_ms = Some(t);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use strongroom_domain::Actor;

    #[test]
    fn updates_apply_to_the_incident_they_name() {
        let facts = vec![
            (
                1,
                Fact::new(kinds::INCIDENT_OPENED, Actor::System, 100)
                    .with("incident_id", "inc-1")
                    .with("incident_kind", "theft")
                    .with("cameras", vec!["cam1"]),
            ),
            (
                2,
                Fact::new(kinds::INCIDENT_UPDATED, Actor::System, 200)
                    .with("incident_id", "inc-1")
                    .with("secured_ms", 200)
                    .with(
                        "action",
                        json!({"id": "a1", "description": "fix", "owner": "ops",
                               "due_local_date": "2025-06-09"}),
                    ),
            ),
            (
                3,
                Fact::new(kinds::INCIDENT_UPDATED, Actor::System, 300)
                    .with("incident_id", "inc-9")
                    .with("closed_ms", 300),
            ),
            (
                4,
                Fact::new(kinds::INCIDENT_UPDATED, Actor::System, 400)
                    .with("incident_id", "inc-1")
                    .with("action_done", "a1")
                    .with("closed_ms", 400),
            ),
        ];
        let list = incidents_of(&facts);
        assert_eq!(list.len(), 1, "an update of an unknown incident is ignored");
        let inc = &list[0];
        assert_eq!(
            inc.discovered_ms, 100,
            "discovery defaults to the fact's time"
        );
        assert_eq!(inc.cameras, vec!["cam1".to_owned()]);
        assert_eq!(inc.secured_ms, Some(200));
        assert_eq!(
            inc.actions[0].due_local_date,
            Some(jiff::civil::date(2025, 6, 9))
        );
        assert_eq!(inc.actions[0].done_ms, Some(400));
        assert_eq!(inc.closed_ms, Some(400));
    }
}
