//! The everyday path: an authorised card is granted and recorded, others are refused, and no
//! plaintext card number or PIN ever reaches a fact or the state.
use crate::common::World;
use crate::deny;
use strongroom_access::kinds as k;
use strongroom_access::{
    CredentialKind, DenyReason, Outcome, PersonCategory, ReaderFeedback, Schedule,
};

#[test]
fn authorised_card_is_granted_and_recorded() {
    let mut w = World::new();
    let cred = w.agent("alice", &["back"]);
    let d = w.card("r-back", "CARD-alice");
    assert_eq!(d.outcome, Outcome::Grant);
    assert_eq!(d.reader_feedback, ReaderFeedback::Granted);
    let g = &d.facts[0];
    assert_eq!(g.kind, k::ACCESS_GRANTED);
    assert_eq!(g.payload["person"], "alice");
    assert_eq!(g.payload["credential"], cred.as_str());
    assert_eq!(g.payload["door"], "sales-back");
    assert_eq!(g.payload["enters"], "back");
    assert_eq!(g.payload["enters_kind"], "restricted_access");
    assert_eq!(g.payload["method"], "card");
    assert_eq!(w.state.location("alice"), Some("back"));
    w.assert_rebuilds();
}

#[test]
fn not_authorised_for_area_is_denied() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    let d = w.card("r-cctv", "CARD-alice");
    assert_eq!(deny(&d), DenyReason::NotAuthorized);
    assert_eq!(d.reader_feedback, ReaderFeedback::Denied);
    assert_eq!(d.facts[0].payload["reason"], "not_authorized");
}

#[test]
fn unknown_reader_and_empty_request() {
    let mut w = World::new();
    let d = w.card("r-nowhere", "X");
    assert_eq!(deny(&d), DenyReason::UnknownReader);
    assert_eq!(d.reader_feedback, ReaderFeedback::None);
    let d = w.present("r-back", None, None);
    assert_eq!(deny(&d), DenyReason::MalformedRequest);
}

#[test]
fn no_plaintext_card_or_pin_in_facts_or_state() {
    let mut w = World::new();
    w.add("alice", PersonCategory::Agent, &[]);
    w.issue(
        "alice",
        CredentialKind::CardPin,
        Some("cafebabe99"),
        Some("730951"),
    );
    w.issue("alice", CredentialKind::DuressPin, None, Some("418263"));
    w.authorize("alice", "back", Schedule::Always);
    w.present("r-back", Some("CAFEBABE99"), Some("730951"));
    w.present("r-back", Some("CAFEBABE99"), Some("418263"));
    w.present("r-back", Some("DEADBEEF77"), None);
    w.present("r-back", None, Some("555111"));
    let text = serde_json::to_string(&w.journal).unwrap();
    for secret in [
        "CAFEBABE99",
        "cafebabe99",
        "730951",
        "418263",
        "DEADBEEF77",
        "555111",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into the journal");
    }
    // Only the last four characters of a card appear.
    assert!(text.contains("\"card_last4\":\"BE99\""));
    let state = format!("{:?}", w.state);
    for secret in ["CAFEBABE99", "730951", "418263"] {
        assert!(!state.contains(secret), "{secret} leaked into the state");
    }
}
