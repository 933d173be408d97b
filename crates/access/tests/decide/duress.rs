//! Duress PINs: a silent alarm, and otherwise exactly the person's normal PIN at the door.
use crate::common::World;
use crate::{deny, facts_of_kind};
use strongroom_access::kinds as k;
use strongroom_access::{CredentialKind, Decision, DenyReason, Outcome, PersonCategory, Schedule};
use strongroom_domain::Fact;

/// Two identical worlds; one uses the normal PIN, the other the duress PIN.
fn duress_pair(card_pin: bool) -> (Decision, Decision) {
    let mut out = Vec::new();
    for pin in ["2580", "0852"] {
        let mut w = World::new();
        w.add("alice", PersonCategory::Agent, &[]);
        if card_pin {
            w.issue("alice", CredentialKind::CardPin, Some("A1"), Some("2580"));
        } else {
            w.issue("alice", CredentialKind::Pin, None, Some("2580"));
        }
        w.issue("alice", CredentialKind::DuressPin, None, Some("0852"));
        w.authorize("alice", "back", Schedule::Always);
        let card = card_pin.then_some("A1");
        out.push(w.present("r-back", card, Some(pin)));
    }
    let duress = out.pop().unwrap();
    let normal = out.pop().unwrap();
    (normal, duress)
}

#[test]
fn duress_pin_is_indistinguishable_at_the_door() {
    for card_pin in [false, true] {
        let (normal, duress) = duress_pair(card_pin);
        assert_eq!(normal.outcome, Outcome::Grant);
        assert_eq!(duress.outcome, normal.outcome);
        assert_eq!(duress.reader_feedback, normal.reader_feedback);
        // The access record is identical; the only difference is the silent alarm fact.
        let access = |d: &Decision| -> Vec<Fact> {
            d.facts
                .iter()
                .filter(|f| f.kind != k::ALARM_DURESS)
                .cloned()
                .collect()
        };
        assert_eq!(access(&duress), access(&normal), "card_pin={card_pin}");
        let alarms = facts_of_kind(&duress, k::ALARM_DURESS);
        assert_eq!(alarms.len(), 1);
        assert_eq!(alarms[0].payload["person"], "alice");
        assert_eq!(alarms[0].payload["silent"], true);
        assert!(normal.facts.iter().all(|f| f.kind != k::ALARM_DURESS));
    }
}

#[test]
fn duress_alarm_is_raised_even_when_access_is_denied() {
    let mut w = World::new();
    w.add("alice", PersonCategory::Agent, &[]);
    w.issue("alice", CredentialKind::Pin, None, Some("2580"));
    w.issue("alice", CredentialKind::DuressPin, None, Some("0852"));
    let d = w.present("r-back", None, Some("0852"));
    assert_eq!(deny(&d), DenyReason::NotAuthorized);
    assert!(d.facts.iter().any(|f| f.kind == k::ALARM_DURESS));
}
