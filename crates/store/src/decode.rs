//! The one way back from a journaled event to the fact it recorded: [`fact_of_event`].
//!
//! Every subsystem service rebuilds its state with this decoder, so a journal written by any
//! earlier version reads the same everywhere: the payload must be a JSON object (anything else
//! was never a fact and is skipped), and an actor that does not parse reads as `system`.
use serde_json::Value;
use strongroom_domain::{Actor, Fact};
use strongroom_journal::JournalEvent;

/// The fact a journaled event recorded; `None` if its payload is not a JSON object.
pub fn fact_of_event(event: &JournalEvent) -> Option<Fact> {
    let Ok(Value::Object(payload)) = serde_json::from_str::<Value>(&event.payload) else {
        return None;
    };
    Some(Fact {
        kind: event.kind.clone(),
        actor: event.actor.parse().unwrap_or(Actor::System),
        time_ms: event.time_ms,
        payload,
    })
}

/// Whether an event is a silent-alarm fact (payload `visibility = "monitoring"`): shown only to
/// holders of `SilentAlarmsView`, never on a keypad, sounder or public display.
pub fn is_silent(event: &JournalEvent) -> bool {
    event.payload.contains("\"visibility\"")
        && serde_json::from_str::<Value>(&event.payload)
            .ok()
            .and_then(|v| {
                v.get("visibility")
                    .and_then(Value::as_str)
                    .map(|s| s == "monitoring")
            })
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: &str, payload: &str) -> JournalEvent {
        JournalEvent {
            seq: 1,
            site_id: "s1".into(),
            time_ms: 5,
            kind: "door.forced".into(),
            actor: actor.into(),
            payload: payload.into(),
            hash: [0; 32],
        }
    }

    #[test]
    fn an_object_payload_is_a_fact() {
        let f = fact_of_event(&event("device:r1", r#"{"door":"d1"}"#)).expect("a fact");
        assert_eq!(f.kind, "door.forced");
        assert_eq!(f.actor, Actor::Device("r1".into()));
        assert_eq!(f.time_ms, 5);
        assert_eq!(f.payload["door"], "d1");
    }

    #[test]
    fn anything_else_is_not() {
        assert!(fact_of_event(&event("system", "[1,2]")).is_none());
        assert!(fact_of_event(&event("system", "not json")).is_none());
    }

    #[test]
    fn silent_means_visibility_monitoring() {
        assert!(is_silent(&event(
            "system",
            r#"{"visibility":"monitoring"}"#
        )));
        assert!(!is_silent(&event("system", r#"{"visibility":"all"}"#)));
        assert!(!is_silent(&event("system", r#"{"note":"visibility"}"#)));
    }

    #[test]
    fn an_unreadable_actor_reads_as_system() {
        let f = fact_of_event(&event("gremlin", "{}")).expect("a fact");
        assert_eq!(f.actor, Actor::System);
    }
}
