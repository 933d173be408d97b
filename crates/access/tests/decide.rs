//! The decision engine, rule by rule.
#![allow(clippy::unwrap_used)]

mod common;

use common::{World, chicago};
use strongroom_access::kinds as k;
use strongroom_access::{
    AccessParams, Command, CommandError, CredentialKind, DenyReason, EmergencyOverride, ExitSource,
    GoodFaithAttempt, NewCredential, Outcome, PendingKind, PersonCategory, PersonStatus,
    ReaderFeedback, Request, Schedule, VaultMode, Weekday, Window,
};

fn deny(d: &strongroom_access::Decision) -> DenyReason {
    d.deny_reason()
        .unwrap_or_else(|| panic!("expected a denial, got {:?}", d.outcome))
}

fn params(mode: VaultMode) -> AccessParams {
    AccessParams {
        vault_mode: mode,
        ..AccessParams::default()
    }
}

// ----- basics -----

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

// ----- credential and person status -----

#[test]
fn revocation_takes_effect_at_once() {
    let mut w = World::new();
    let cred = w.agent("alice", &["back"]);
    assert!(w.card("r-back", "CARD-alice").is_grant());
    w.cmd(Command::RevokeCredential {
        credential: cred,
        reason: "lost".into(),
    });
    // Same instant: no grace period.
    let d = w.card("r-back", "CARD-alice");
    assert_eq!(deny(&d), DenyReason::CredentialRevoked);
    assert_eq!(d.facts[0].payload["person"], "alice");
    // A revoked card is not an unknown card: it does not feed the unknown-card alarm.
    assert_eq!(w.state.unknown_cards_since("r-back", 0), 0);
    w.assert_rebuilds();
}

#[test]
fn termination_revokes_every_credential_at_once() {
    let mut w = World::new();
    w.agent("bob", &["back"]);
    w.issue("bob", CredentialKind::Pin, None, Some("4455"));
    assert!(w.present("r-back", None, Some("4455")).is_grant());
    let facts = w.cmd(Command::SetPersonStatus {
        person: "bob".into(),
        status: PersonStatus::Terminated,
        reason: "left the company".into(),
    });
    assert_eq!(facts[0].kind, k::PERSON_STATUS_CHANGED);
    assert_eq!(
        facts
            .iter()
            .filter(|f| f.kind == k::CREDENTIAL_REVOKED)
            .count(),
        2
    );
    assert_eq!(
        deny(&w.card("r-back", "CARD-bob")),
        DenyReason::CredentialRevoked
    );
    assert_eq!(
        deny(&w.present("r-back", None, Some("4455"))),
        DenyReason::CredentialRevoked
    );
    // Terminated is final, and nothing new can be issued.
    let again = w.try_cmd(Command::SetPersonStatus {
        person: "bob".into(),
        status: PersonStatus::Active,
        reason: String::new(),
    });
    assert!(matches!(again, Err(CommandError::TerminationIsFinal(_))));
    let issue = w.try_cmd(Command::IssueCredential(NewCredential {
        person: "bob".into(),
        kind: CredentialKind::Card,
        card: Some("NEW".into()),
        pin: None,
        expires_ms: None,
        replaces: None,
    }));
    assert!(matches!(issue, Err(CommandError::PersonTerminated(_))));
    w.assert_rebuilds();
}

#[test]
fn suspension_of_person_and_credential() {
    let mut w = World::new();
    let cred = w.agent("carol", &["back"]);
    w.cmd(Command::SetPersonStatus {
        person: "carol".into(),
        status: PersonStatus::Suspended,
        reason: "investigation".into(),
    });
    assert_eq!(
        deny(&w.card("r-back", "CARD-carol")),
        DenyReason::PersonSuspended
    );
    w.cmd(Command::SetPersonStatus {
        person: "carol".into(),
        status: PersonStatus::Active,
        reason: "cleared".into(),
    });
    assert!(w.card("r-back", "CARD-carol").is_grant());
    w.cmd(Command::SuspendCredential {
        credential: cred.clone(),
        reason: "left at home".into(),
    });
    assert_eq!(
        deny(&w.card("r-back", "CARD-carol")),
        DenyReason::CredentialSuspended
    );
    w.cmd(Command::ReinstateCredential {
        credential: cred,
        reason: "found".into(),
    });
    assert!(w.card("r-back", "CARD-carol").is_grant());
    w.assert_rebuilds();
}

#[test]
fn expiry_of_credential_and_badge() {
    let mut w = World::new();
    w.add("dan", PersonCategory::Agent, &[]);
    w.authorize("dan", "back", Schedule::Always);
    let exp = w.now + 60_000;
    w.cmd(Command::IssueCredential(NewCredential {
        person: "dan".into(),
        kind: CredentialKind::Card,
        card: Some("DAN1".into()),
        pin: None,
        expires_ms: Some(exp),
        replaces: None,
    }));
    assert!(w.card("r-back", "DAN1").is_grant());
    w.advance_s(60);
    assert_eq!(
        deny(&w.card("r-back", "DAN1")),
        DenyReason::CredentialExpired
    );
    let swept = w.cmd(Command::ExpireDue);
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].kind, k::CREDENTIAL_EXPIRED);
    assert!(w.cmd(Command::ExpireDue).is_empty());

    // The agent badge (state agent ID) expiring bars the person whatever the credential.
    w.agent("erin", &["back"]);
    let badge = w.now + 1_000;
    w.cmd(Command::UpdatePerson(
        strongroom_access::payload::PersonUpdated {
            person: "erin".into(),
            badge_expires_ms: Some(badge),
            ..Default::default()
        },
    ));
    assert!(w.card("r-back", "CARD-erin").is_grant());
    w.advance_s(1);
    assert_eq!(
        deny(&w.card("r-back", "CARD-erin")),
        DenyReason::BadgeExpired
    );
    w.assert_rebuilds();
}

#[test]
fn reissued_card_revokes_the_old_one() {
    let mut w = World::new();
    let old = w.agent("fay", &["back"]);
    let facts = w.cmd(Command::IssueCredential(NewCredential {
        person: "fay".into(),
        kind: CredentialKind::Card,
        card: Some("FAY-NEW".into()),
        pin: None,
        expires_ms: None,
        replaces: Some(old.clone()),
    }));
    assert_eq!(facts[0].kind, k::CREDENTIAL_REVOKED);
    assert_eq!(facts[0].payload["credential"], old.as_str());
    assert_eq!(facts[1].kind, k::CREDENTIAL_ISSUED);
    assert_eq!(
        deny(&w.card("r-back", "CARD-fay")),
        DenyReason::CredentialRevoked
    );
    assert!(w.card("r-back", "FAY-NEW").is_grant());
    w.assert_rebuilds();
}

// ----- uniqueness (OH (B)(8), OH-P (A)(8)) -----

#[test]
fn pin_already_held_by_another_person_is_rejected() {
    let mut w = World::new();
    w.add("alice", PersonCategory::Agent, &[]);
    w.add("bob", PersonCategory::Agent, &[]);
    let a = w.issue("alice", CredentialKind::Pin, None, Some("2468"));
    let issue = |pin: &str, kind| {
        Command::IssueCredential(NewCredential {
            person: "bob".into(),
            kind,
            card: (kind == CredentialKind::CardPin).then(|| "BOB1".to_owned()),
            pin: Some(pin.into()),
            expires_ms: None,
            replaces: None,
        })
    };
    for kind in [
        CredentialKind::Pin,
        CredentialKind::CardPin,
        CredentialKind::DuressPin,
    ] {
        assert_eq!(
            w.try_cmd(issue("2468", kind)).err(),
            Some(CommandError::PinInUse {
                by_other_person: true
            }),
            "{kind:?}"
        );
    }
    // Alice's own duress PIN may not equal her PIN either (it would be ambiguous).
    let dup = w.try_cmd(Command::IssueCredential(NewCredential {
        person: "alice".into(),
        kind: CredentialKind::DuressPin,
        card: None,
        pin: Some("2468".into()),
        expires_ms: None,
        replaces: None,
    }));
    assert_eq!(
        dup.err(),
        Some(CommandError::PinInUse {
            by_other_person: false
        })
    );
    // Once Alice's credential is revoked the PIN is free again.
    w.cmd(Command::RevokeCredential {
        credential: a,
        reason: "rotated".into(),
    });
    assert!(w.try_cmd(issue("2468", CredentialKind::Pin)).is_ok());
    assert_eq!(
        w.try_cmd(issue("1", CredentialKind::Pin)).err(),
        Some(CommandError::BadPin)
    );
    w.assert_rebuilds();
}

#[test]
fn cards_are_not_shared() {
    let mut w = World::new();
    w.agent("alice", &[]);
    w.add("bob", PersonCategory::Agent, &[]);
    let r = w.try_cmd(Command::IssueCredential(NewCredential {
        person: "bob".into(),
        kind: CredentialKind::Card,
        card: Some(" card-alice ".into()),
        pin: None,
        expires_ms: None,
        replaces: None,
    }));
    assert_eq!(
        r.err(),
        Some(CommandError::CardInUse {
            by_other_person: true
        })
    );
}

// ----- unknown cards and PIN brute force -----

#[test]
fn unknown_card_burst_raises_one_alarm() {
    let mut w = World::new();
    for i in 0..4 {
        let d = w.card("r-back", &format!("BAD{i}"));
        assert_eq!(deny(&d), DenyReason::UnknownCard);
        assert_eq!(d.facts.len(), 1, "no alarm before the burst");
        assert_eq!(d.facts[0].payload["card_last4"], format!("BAD{i}").as_str());
        assert!(
            d.facts[0].payload["card_hash"]
                .as_str()
                .is_some_and(|h| h.len() == 64)
        );
        w.advance_s(10);
    }
    // 5th within 60 s (at +40 s): alarm.
    let d = w.card("r-back", "BAD4");
    assert_eq!(d.facts.len(), 2);
    assert_eq!(d.facts[1].kind, k::ALARM_UNKNOWN_CARD_BURST);
    assert_eq!(d.facts[1].payload["count"], 5);
    // 6th: still a burst, but the alarm was just raised.
    let d = w.card("r-back", "BAD5");
    assert_eq!(d.facts.len(), 1);
    // Other readers count separately.
    assert_eq!(w.card("r-store", "BAD6").facts.len(), 1);
    w.assert_rebuilds();
}

#[test]
fn slow_unknown_cards_do_not_alarm() {
    let mut w = World::new();
    for i in 0..10 {
        let d = w.card("r-back", &format!("SLOW{i}"));
        assert_eq!(d.facts.len(), 1, "read {i}");
        w.advance_s(16); // 4 reads per 60 s window at most
    }
}

#[test]
fn pin_brute_force_locks_the_keypad_out() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    w.issue("alice", CredentialKind::Pin, None, Some("8642"));
    for i in 1..=4 {
        let d = w.present("r-back", None, Some(&format!("000{i}")));
        assert_eq!(deny(&d), DenyReason::WrongPin);
        assert_eq!(d.facts[0].payload["attempts"], i);
        assert_eq!(d.facts.len(), 1);
    }
    let d = w.present("r-back", None, Some("0005"));
    let kinds: Vec<&str> = d.facts.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            k::ACCESS_DENIED,
            k::KEYPAD_LOCKED_OUT,
            k::ALARM_PIN_BRUTE_FORCE
        ]
    );
    // Locked out: even the right PIN is refused; a card still works at that reader.
    assert_eq!(
        deny(&w.present("r-back", None, Some("8642"))),
        DenyReason::KeypadLockedOut
    );
    assert!(w.card("r-back", "CARD-alice").is_grant());
    // After the lockout (300 s by default) the right PIN works again.
    w.advance_s(300);
    assert!(w.present("r-back", None, Some("8642")).is_grant());
    w.assert_rebuilds();
}

#[test]
fn a_right_pin_resets_the_wrong_pin_count() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    w.issue("alice", CredentialKind::Pin, None, Some("8642"));
    for _ in 0..4 {
        w.present("r-back", None, Some("1111"));
    }
    assert!(w.present("r-back", None, Some("8642")).is_grant());
    for _ in 0..4 {
        let d = w.present("r-back", None, Some("1111"));
        assert_eq!(d.facts.len(), 1, "no lockout: the count restarted");
    }
    assert_eq!(w.state.pin_failures("r-back"), 4);
    w.cmd(Command::ClearKeypadLockout {
        reader: "r-back".into(),
        reason: "manager".into(),
    });
    assert_eq!(w.state.pin_failures("r-back"), 0);
}

// ----- vault: two-person rule -----

fn vault_world(mode: VaultMode) -> World {
    let mut w = World::with(params(mode));
    for a in ["alice", "bob", "carl"] {
        w.agent(a, &["back", "vault"]);
    }
    w
}

#[test]
fn dual_auth_second_agent_at_29s_grants_both() {
    let mut w = vault_world(VaultMode::TwoPerson);
    let first = w.card("r-vault", "CARD-alice");
    assert_eq!(first.outcome, Outcome::Pending(PendingKind::SecondAgent));
    assert_eq!(first.reader_feedback, ReaderFeedback::None);
    assert_eq!(first.facts[0].kind, k::ACCESS_PENDING_SECOND);
    let t0 = w.now;
    w.advance_s(29);
    let second = w.card("r-vault-2", "CARD-bob");
    assert_eq!(second.outcome, Outcome::Grant);
    assert_eq!(second.reader_feedback, ReaderFeedback::Granted);
    let grants: Vec<_> = second
        .facts
        .iter()
        .filter(|f| f.kind == k::ACCESS_GRANTED)
        .collect();
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[0].payload["person"], "alice");
    assert_eq!(grants[0].payload["dual_with"], "bob");
    assert_eq!(grants[0].payload["reader"], "r-vault");
    assert_eq!(grants[0].payload["first_presented_ms"], t0);
    assert_eq!(grants[1].payload["person"], "bob");
    assert_eq!(grants[1].payload["dual_with"], "alice");
    assert_eq!(w.state.location("alice"), Some("vault"));
    assert_eq!(w.state.location("bob"), Some("vault"));
    assert!(w.state.pending_second("vault-door").is_empty());
    w.assert_rebuilds();
}

#[test]
fn dual_auth_window_is_inclusive_at_30s() {
    let mut w = vault_world(VaultMode::TwoPerson);
    w.card("r-vault", "CARD-alice");
    w.advance_s(30);
    assert!(w.card("r-vault", "CARD-bob").is_grant());
}

#[test]
fn dual_auth_second_agent_at_31s_is_only_pending() {
    let mut w = vault_world(VaultMode::TwoPerson);
    w.card("r-vault", "CARD-alice");
    w.advance_s(31);
    let late = w.card("r-vault", "CARD-bob");
    assert_eq!(late.outcome, Outcome::Pending(PendingKind::SecondAgent));
    assert!(late.facts.iter().all(|f| f.kind != k::ACCESS_GRANTED));
    // Bob is now the first: Carl within the window completes it with Bob, not Alice.
    w.advance_s(5);
    let d = w.card("r-vault", "CARD-carl");
    assert!(d.is_grant());
    assert_eq!(d.facts[0].payload["person"], "bob");
    assert_eq!(w.state.location("alice"), None);
}

#[test]
fn same_agent_twice_is_not_dual() {
    let mut w = vault_world(VaultMode::TwoPerson);
    w.card("r-vault", "CARD-alice");
    w.advance_s(5);
    let again = w.card("r-vault-2", "CARD-alice");
    assert_eq!(again.outcome, Outcome::Pending(PendingKind::SecondAgent));
    assert!(again.facts.iter().all(|f| f.kind != k::ACCESS_GRANTED));
    assert_eq!(w.state.pending_second("vault-door").len(), 1);
    w.assert_rebuilds();
}

#[test]
fn dual_auth_requires_both_to_be_authorised() {
    let mut w = vault_world(VaultMode::TwoPerson);
    w.agent("dora", &["back"]); // not for the vault
    w.card("r-vault", "CARD-alice");
    let d = w.card("r-vault", "CARD-dora");
    assert_eq!(deny(&d), DenyReason::NotAuthorized);
    // A first agent suspended while pending no longer counts.
    w.cmd(Command::SetPersonStatus {
        person: "alice".into(),
        status: PersonStatus::Suspended,
        reason: String::new(),
    });
    let d = w.card("r-vault", "CARD-bob");
    assert_eq!(d.outcome, Outcome::Pending(PendingKind::SecondAgent));
}

#[test]
fn exits_from_the_vault_need_one_badge() {
    let mut w = vault_world(VaultMode::TwoPerson);
    w.card("r-vault", "CARD-alice");
    w.card("r-vault", "CARD-bob");
    let d = w.card("r-vault-out", "CARD-alice");
    assert!(d.is_grant());
    assert_eq!(d.facts[0].payload["direction"], "out");
    assert_eq!(w.state.location("alice"), Some("back"));
    assert_eq!(w.state.occupancy("vault"), 1);
}

#[test]
fn vault_card_and_pin_mode() {
    let mut w = World::with(params(VaultMode::CardAndPin));
    w.agent("alice", &["vault"]);
    w.issue("alice", CredentialKind::Pin, None, Some("1357"));
    w.agent("bob", &["vault"]);
    w.issue("bob", CredentialKind::Pin, None, Some("9753"));
    // Single factors are denied and logged (VLT-06).
    assert_eq!(
        deny(&w.card("r-vault", "CARD-alice")),
        DenyReason::SecondFactorRequired
    );
    assert_eq!(
        deny(&w.present("r-vault", None, Some("1357"))),
        DenyReason::SecondFactorRequired
    );
    // Another employee's PIN is a wrong PIN.
    assert_eq!(
        deny(&w.present("r-vault", Some("CARD-alice"), Some("9753"))),
        DenyReason::WrongPin
    );
    let d = w.present("r-vault", Some("CARD-alice"), Some("1357"));
    assert!(d.is_grant(), "{:?}", d.outcome);
    assert_eq!(d.facts[0].payload["method"], "card+pin");
    // Other doors still take a card alone.
    w.authorize("alice", "back", Schedule::Always);
    assert!(w.card("r-back", "CARD-alice").is_grant());
}

#[test]
fn vault_two_person_with_card_and_pin() {
    let mut w = World::with(params(VaultMode::TwoPersonCardAndPin));
    w.add("alice", PersonCategory::Agent, &[]);
    w.issue("alice", CredentialKind::CardPin, Some("A1"), Some("1111"));
    w.authorize("alice", "vault", Schedule::Always);
    w.add("bob", PersonCategory::Agent, &[]);
    w.issue("bob", CredentialKind::CardPin, Some("B1"), Some("2222"));
    w.authorize("bob", "vault", Schedule::Always);
    assert_eq!(deny(&w.card("r-vault", "A1")), DenyReason::PinRequired);
    let d = w.present("r-vault", Some("A1"), Some("1111"));
    assert_eq!(d.outcome, Outcome::Pending(PendingKind::SecondAgent));
    let d = w.present("r-vault", Some("B1"), Some("2222"));
    assert!(d.is_grant());
    assert_eq!(d.facts[0].payload["method"], "card+pin");
    assert_eq!(d.facts[1].payload["method"], "card+pin");
}

#[test]
fn currency_safe_has_its_own_rights() {
    let mut w = World::with(params(VaultMode::CardAndPin));
    w.add("alice", PersonCategory::Agent, &[]);
    w.issue("alice", CredentialKind::CardPin, Some("A1"), Some("1111"));
    w.authorize("alice", "vault", Schedule::Always);
    assert!(w.present("r-vault", Some("A1"), Some("1111")).is_grant());
    // Vault rights do not open the safe (VLT-07).
    assert_eq!(
        deny(&w.present("r-safe", Some("A1"), Some("1111"))),
        DenyReason::NotAuthorized
    );
    w.authorize("alice", "safe", Schedule::Always);
    let d = w.present("r-safe", Some("A1"), Some("1111"));
    assert!(d.is_grant());
    assert_eq!(d.facts[0].payload["enters_kind"], "currency_safe");
    // Opening the safe does not move her out of the vault.
    assert_eq!(w.state.location("alice"), Some("vault"));
}

// ----- escorts and vendors -----

#[test]
fn visitor_then_agent_within_window_grants_both() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    w.add("vic", PersonCategory::Visitor, &[]);
    w.issue("vic", CredentialKind::Card, Some("VIS-1"), None);
    w.authorize("vic", "back", Schedule::Always);
    let d = w.card("r-back", "VIS-1");
    assert_eq!(d.outcome, Outcome::Pending(PendingKind::Escort));
    assert_eq!(d.reader_feedback, ReaderFeedback::None);
    assert_eq!(d.facts[0].kind, k::ACCESS_PENDING_ESCORT);
    w.advance_s(30);
    let d = w.card("r-back", "CARD-alice");
    assert!(d.is_grant());
    let grants: Vec<_> = d
        .facts
        .iter()
        .filter(|f| f.kind == k::ACCESS_GRANTED)
        .collect();
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[1].payload["person"], "vic");
    assert_eq!(grants[1].payload["escort"], "alice");
    assert_eq!(w.state.location("vic"), Some("back"));
    w.assert_rebuilds();
}

#[test]
fn visitor_then_agent_after_window_grants_only_the_agent() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    w.add("vic", PersonCategory::Visitor, &[]);
    w.issue("vic", CredentialKind::Card, Some("VIS-1"), None);
    w.authorize("vic", "back", Schedule::Always);
    w.card("r-back", "VIS-1");
    w.advance_s(31);
    let d = w.card("r-back", "CARD-alice");
    assert_eq!(d.facts.len(), 1);
    assert_eq!(w.state.location("vic"), None);
}

#[test]
fn agent_then_visitor_within_window_and_after() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    w.add("vic", PersonCategory::Visitor, &[]);
    w.issue("vic", CredentialKind::Card, Some("VIS-1"), None);
    w.authorize("vic", "back", Schedule::Always);
    w.card("r-back", "CARD-alice");
    w.advance_s(29);
    let d = w.card("r-back", "VIS-1");
    assert!(d.is_grant());
    assert_eq!(d.facts[0].payload["escort"], "alice");
    w.cmd(Command::ResetOccupancy {
        person: None,
        reason: "test".into(),
    });
    w.advance_s(2); // 31 s after Alice
    let d = w.card("r-back", "VIS-1");
    assert_eq!(d.outcome, Outcome::Pending(PendingKind::Escort));
}

#[test]
fn a_visitor_cannot_escort_a_visitor() {
    let mut w = World::new();
    for v in ["v1", "v2"] {
        w.add(v, PersonCategory::Visitor, &[]);
        w.issue(v, CredentialKind::Card, Some(&format!("C-{v}")), None);
        w.authorize(v, "back", Schedule::Always);
    }
    w.card("r-back", "C-v1");
    let d = w.card("r-back", "C-v2");
    assert_eq!(d.outcome, Outcome::Pending(PendingKind::Escort));
}

#[test]
fn visitors_need_no_escort_in_public_areas_but_need_authorisation() {
    let mut w = World::new();
    w.add("vic", PersonCategory::Visitor, &[]);
    w.issue("vic", CredentialKind::Card, Some("VIS-1"), None);
    assert_eq!(deny(&w.card("r-front", "VIS-1")), DenyReason::NotAuthorized);
    w.authorize("vic", "lobby", Schedule::Always);
    assert!(w.card("r-front", "VIS-1").is_grant());
}

#[test]
fn vendor_must_be_approved_even_with_an_escort() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    w.add("sam", PersonCategory::ServiceProfessional, &[]);
    w.issue("sam", CredentialKind::Card, Some("SAM-1"), None);
    w.authorize("sam", "back", Schedule::Always);
    w.card("r-back", "CARD-alice");
    assert_eq!(
        deny(&w.card("r-back", "SAM-1")),
        DenyReason::VendorNotApproved
    );
    let empty = w.try_cmd(Command::ApproveVendor {
        person: "sam".into(),
        approval_ref: " ".into(),
    });
    assert!(matches!(empty, Err(CommandError::Empty(_))));
    w.cmd(Command::ApproveVendor {
        person: "sam".into(),
        approval_ref: "IDFPR-2025-0042".into(),
    });
    let d = w.card("r-back", "SAM-1");
    assert!(d.is_grant());
    assert_eq!(d.facts[0].payload["escort"], "alice");
    w.cmd(Command::RemoveVendor {
        person: "sam".into(),
        reason: "contract ended".into(),
    });
    w.cmd(Command::ResetOccupancy {
        person: None,
        reason: "test".into(),
    });
    w.card("r-back", "CARD-alice");
    assert_eq!(
        deny(&w.card("r-back", "SAM-1")),
        DenyReason::VendorNotApproved
    );
    // Agents cannot be "approved".
    assert!(matches!(
        w.try_cmd(Command::ApproveVendor {
            person: "alice".into(),
            approval_ref: "x".into()
        }),
        Err(CommandError::NotAVendor(_))
    ));
    w.assert_rebuilds();
}

#[test]
fn ohio_sites_do_not_require_vendor_approval_by_default() {
    let p = AccessParams::for_jurisdiction(strongroom_domain::Jurisdiction::OhDispensary);
    assert!(!p.require_vendor_approval);
    assert_eq!(p.vault_mode, VaultMode::CardAndPin);
    let il = AccessParams::for_jurisdiction(strongroom_domain::Jurisdiction::IlDispensary);
    assert!(il.require_vendor_approval);
    assert_eq!(il.vault_mode, VaultMode::TwoPerson);
}

fn override_req(good_faith: Option<GoodFaithAttempt>) -> Request {
    Request::EmergencyOverride(EmergencyOverride {
        door: "sales-back".into(),
        person: "sam".into(),
        approver: "alice".into(),
        description: "walk-in cooler alarm panel failed".into(),
        good_faith,
    })
}

#[test]
fn emergency_override_needs_a_good_faith_attempt_and_opens_a_task() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    w.add("sam", PersonCategory::ServiceProfessional, &[]);
    w.issue("sam", CredentialKind::Card, Some("SAM-1"), None);
    w.authorize("sam", "back", Schedule::Always);
    // Without a recorded attempt: refused, and the refusal is recorded.
    let d = w.request(override_req(None));
    assert_eq!(deny(&d), DenyReason::GoodFaithAttemptRequired);
    assert_eq!(d.facts[0].kind, k::ACCESS_DENIED);
    let blank = GoodFaithAttempt {
        time_ms: w.now,
        channel: "".into(),
        contact: "IDFPR".into(),
    };
    assert_eq!(
        deny(&w.request(override_req(Some(blank)))),
        DenyReason::GoodFaithAttemptRequired
    );
    // With one: granted, a task to inform the regulator opens.
    let attempt = GoodFaithAttempt {
        time_ms: w.now - 600_000,
        channel: "phone".into(),
        contact: "IDFPR duty line".into(),
    };
    let d = w.request(override_req(Some(attempt)));
    assert!(d.is_grant());
    let kinds: Vec<&str> = d.facts.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            k::ACCESS_EMERGENCY_OVERRIDE,
            k::TASK_OPENED,
            k::ACCESS_GRANTED
        ]
    );
    assert_eq!(d.facts[0].payload["attempt_channel"], "phone");
    assert_eq!(
        d.facts[1].payload["task_kind"],
        "regulator_emergency_notice"
    );
    assert_eq!(d.facts[1].payload["due"], "asap");
    assert_eq!(d.facts[2].payload["escort"], "alice");
    // For the override's validity, the unapproved professional may badge with an escort.
    w.cmd(Command::ResetOccupancy {
        person: None,
        reason: "test".into(),
    });
    w.advance_s(60);
    w.card("r-back", "CARD-alice");
    assert!(w.card("r-back", "SAM-1").is_grant());
    // Afterwards not.
    w.advance_s(300);
    w.cmd(Command::ResetOccupancy {
        person: None,
        reason: "test".into(),
    });
    w.card("r-back", "CARD-alice");
    assert_eq!(
        deny(&w.card("r-back", "SAM-1")),
        DenyReason::VendorNotApproved
    );
    w.assert_rebuilds();
}

#[test]
fn emergency_override_approver_must_be_an_authorised_agent() {
    let mut w = World::new();
    w.agent("alice", &["lobby"]);
    w.add("sam", PersonCategory::ServiceProfessional, &[]);
    let attempt = GoodFaithAttempt {
        time_ms: w.now,
        channel: "phone".into(),
        contact: "IDFPR".into(),
    };
    let d = w.request(override_req(Some(attempt)));
    assert_eq!(deny(&d), DenyReason::ApproverNotAuthorized);
}

// ----- duress -----

/// Two identical worlds; one uses the normal PIN, the other the duress PIN.
fn duress_pair(card_pin: bool) -> (strongroom_access::Decision, strongroom_access::Decision) {
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
        let access = |d: &strongroom_access::Decision| -> Vec<strongroom_domain::Fact> {
            d.facts
                .iter()
                .filter(|f| f.kind != k::ALARM_DURESS)
                .cloned()
                .collect()
        };
        assert_eq!(access(&duress), access(&normal), "card_pin={card_pin}");
        let alarms: Vec<_> = duress
            .facts
            .iter()
            .filter(|f| f.kind == k::ALARM_DURESS)
            .collect();
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

// ----- lockdown -----

#[test]
fn lockdown_denies_all_but_lockdown_roles_at_restricted_doors() {
    let mut w = World::new();
    w.agent("alice", &["lobby", "back"]);
    w.add("mgr", PersonCategory::Agent, &["security-manager"]);
    w.issue("mgr", CredentialKind::Card, Some("MGR"), None);
    w.authorize("mgr", "back", Schedule::Always);
    w.cmd(Command::StartLockdown {
        reason: "robbery in progress".into(),
    });
    assert!(matches!(
        w.try_cmd(Command::StartLockdown {
            reason: String::new()
        }),
        Err(CommandError::AlreadyLockedDown)
    ));
    assert_eq!(deny(&w.card("r-back", "CARD-alice")), DenyReason::Lockdown);
    assert!(w.card("r-back", "MGR").is_grant());
    // Public doors and exits are not locked down.
    assert!(w.card("r-front", "CARD-alice").is_grant());
    w.cmd(Command::EndLockdown {
        reason: "clear".into(),
    });
    assert!(w.card("r-back", "CARD-alice").is_grant());
    w.assert_rebuilds();
}

// ----- occupancy -----

#[test]
fn capacity_denies_over_the_limit_and_exits_free_places() {
    let mut w = World::new();
    for a in ["a1", "a2", "a3", "a4"] {
        w.agent(a, &["sales"]);
    }
    for a in ["a1", "a2", "a3"] {
        assert!(w.card("r-barrier", &format!("CARD-{a}")).is_grant());
    }
    assert_eq!(w.state.occupancy("sales"), 3);
    assert_eq!(
        deny(&w.card("r-barrier", "CARD-a4")),
        DenyReason::AtCapacity
    );
    assert!(w.card("r-barrier-out", "CARD-a1").is_grant());
    assert_eq!(w.state.occupancy("sales"), 2);
    assert!(w.card("r-barrier", "CARD-a4").is_grant());
    // REX / reported exits count too.
    let d = w.request(Request::Exit {
        door: "barrier".into(),
        person: Some("a2".into()),
        source: ExitSource::Rex,
    });
    assert!(d.is_grant());
    assert_eq!(d.reader_feedback, ReaderFeedback::None);
    assert_eq!(w.state.occupancy("sales"), 2);
    w.assert_rebuilds();
}

#[test]
fn staff_release_admits_anonymous_customers_within_capacity() {
    let mut w = World::new();
    w.agent("a1", &["sales"]);
    w.card("r-barrier", "CARD-a1");
    let d = w.request(Request::StaffRelease {
        door: "barrier".into(),
        user: "frontdesk".into(),
        reason: "checked in".into(),
        admits: 2,
    });
    assert!(d.is_grant());
    assert_eq!(w.state.occupancy("sales"), 3);
    let d = w.request(Request::StaffRelease {
        door: "barrier".into(),
        user: "frontdesk".into(),
        reason: "checked in".into(),
        admits: 1,
    });
    assert_eq!(deny(&d), DenyReason::AtCapacity);
    w.request(Request::Exit {
        door: "barrier".into(),
        person: None,
        source: ExitSource::Rex,
    });
    assert_eq!(w.state.occupancy("sales"), 2);
    w.assert_rebuilds();
}

#[test]
fn two_person_entry_checks_capacity_for_both() {
    let mut w = vault_world(VaultMode::TwoPerson);
    for a in ["d1", "d2", "d3"] {
        w.agent(a, &["vault"]);
    }
    w.card("r-vault", "CARD-d1");
    assert!(w.card("r-vault", "CARD-d2").is_grant());
    assert_eq!(w.state.occupancy("vault"), 2);
    w.card("r-vault", "CARD-d3");
    assert!(w.card("r-vault", "CARD-alice").is_grant());
    assert_eq!(w.state.occupancy("vault"), 4);
    // Full: a lone agent is refused outright.
    assert_eq!(deny(&w.card("r-vault", "CARD-bob")), DenyReason::AtCapacity);
    assert!(w.card("r-vault-out", "CARD-alice").is_grant());
    assert_eq!(w.state.occupancy("vault"), 3);
    // One place left: the first of a pair may wait, but the pair does not fit.
    let d = w.card("r-vault", "CARD-bob");
    assert_eq!(d.outcome, Outcome::Pending(PendingKind::SecondAgent));
    let d = w.card("r-vault", "CARD-carl");
    assert_eq!(deny(&d), DenyReason::AtCapacity);
}

#[test]
fn anti_passback_refuses_a_second_entry_without_an_exit() {
    let mut w = World::new();
    w.agent("alice", &["store"]);
    assert!(w.card("r-store", "CARD-alice").is_grant());
    assert_eq!(
        deny(&w.card("r-store", "CARD-alice")),
        DenyReason::AntiPassback
    );
    assert!(w.card("r-store-out", "CARD-alice").is_grant());
    assert!(w.card("r-store", "CARD-alice").is_grant());
    // A manager can forgive a missed exit.
    w.cmd(Command::ResetOccupancy {
        person: Some("alice".into()),
        reason: "exit reader down".into(),
    });
    assert!(w.card("r-store", "CARD-alice").is_grant());
    w.assert_rebuilds();
}

// ----- schedules -----

fn windows(days: &[Weekday], start: &str, end: &str) -> Schedule {
    Schedule::Windows {
        windows: vec![Window::parse(days, start, end).unwrap()],
    }
}

fn try_at(w: &mut World, at: i64) -> Outcome {
    w.now = at;
    w.cmd(Command::ResetOccupancy {
        person: None,
        reason: "test".into(),
    });
    w.card("r-back", "CARD-nina").outcome
}

#[test]
fn schedule_across_midnight() {
    let mut w = World::new();
    w.agent("nina", &[]);
    w.authorize("nina", "back", windows(&[Weekday::Fri], "22:00", "06:00"));
    assert_eq!(
        try_at(&mut w, chicago("2025-06-06T21:59")),
        Outcome::Deny(DenyReason::OutsideSchedule)
    );
    assert_eq!(try_at(&mut w, chicago("2025-06-06T22:00")), Outcome::Grant);
    assert_eq!(try_at(&mut w, chicago("2025-06-07T00:30")), Outcome::Grant);
    assert_eq!(try_at(&mut w, chicago("2025-06-07T05:59")), Outcome::Grant);
    assert_eq!(
        try_at(&mut w, chicago("2025-06-07T06:00")),
        Outcome::Deny(DenyReason::OutsideSchedule)
    );
    // Saturday night is not in the window.
    assert_eq!(
        try_at(&mut w, chicago("2025-06-07T23:00")),
        Outcome::Deny(DenyReason::OutsideSchedule)
    );
}

#[test]
fn schedule_across_spring_forward_in_chicago() {
    // 2025-03-09: 02:00 CST jumps to 03:00 CDT.
    let mut w = World::new();
    w.agent("nina", &[]);
    w.authorize("nina", "back", windows(&[Weekday::Sat], "22:00", "06:00"));
    let before = chicago("2025-03-09T01:59");
    assert_eq!(try_at(&mut w, before), Outcome::Grant);
    // One real minute later it is 03:00 CDT: still inside.
    assert_eq!(try_at(&mut w, before + 60_000), Outcome::Grant);
    // The window ends at 06:00 on the wall clock, 3 h 1 min of real time after 01:59 CST.
    let six = chicago("2025-03-09T06:00");
    assert_eq!(six - before, (3 * 60 + 1) * 60_000);
    assert_eq!(try_at(&mut w, six - 60_000), Outcome::Grant);
    assert_eq!(
        try_at(&mut w, six),
        Outcome::Deny(DenyReason::OutsideSchedule)
    );

    // A window inside the skipped hour never matches that night.
    let mut w = World::new();
    w.agent("nina", &[]);
    w.authorize("nina", "back", windows(&[Weekday::Sun], "02:00", "02:30"));
    for m in 0..=90 {
        let t = before - 30 * 60_000 + m * 60_000;
        assert_eq!(
            try_at(&mut w, t),
            Outcome::Deny(DenyReason::OutsideSchedule),
            "minute {m}"
        );
    }
}

#[test]
fn schedule_across_fall_back_in_chicago() {
    // 2025-11-02: 02:00 CDT falls back to 01:00 CST; 01:00-02:00 happens twice.
    let mut w = World::new();
    w.agent("nina", &[]);
    w.authorize("nina", "back", windows(&[Weekday::Sun], "01:00", "01:30"));
    let first = "2025-11-02T06:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond(); // 01:00 CDT
    assert_eq!(try_at(&mut w, first + 15 * 60_000), Outcome::Grant); // 01:15 CDT
    assert_eq!(
        try_at(&mut w, first + 45 * 60_000),
        Outcome::Deny(DenyReason::OutsideSchedule)
    ); // 01:45 CDT
    assert_eq!(try_at(&mut w, first + 75 * 60_000), Outcome::Grant); // 01:15 CST
    assert_eq!(
        try_at(&mut w, first + 105 * 60_000),
        Outcome::Deny(DenyReason::OutsideSchedule)
    ); // 01:45 CST

    // An overnight window on the 25-hour night covers the extra hour.
    let mut w = World::new();
    w.agent("nina", &[]);
    w.authorize("nina", "back", windows(&[Weekday::Sat], "23:00", "03:00"));
    let start = chicago("2025-11-01T23:00");
    let end = chicago("2025-11-02T03:00");
    assert_eq!(end - start, 5 * 3_600_000);
    assert_eq!(try_at(&mut w, start), Outcome::Grant);
    assert_eq!(try_at(&mut w, end - 60_000), Outcome::Grant);
    assert_eq!(
        try_at(&mut w, end),
        Outcome::Deny(DenyReason::OutsideSchedule)
    );
}

#[test]
fn operating_hours_and_after_hours() {
    let mut w = World::new();
    w.agent("nina", &[]);
    w.authorize("nina", "back", Schedule::OperatingHours);
    assert_eq!(
        try_at(&mut w, chicago("2025-06-02T08:59")),
        Outcome::Deny(DenyReason::OutsideSchedule)
    );
    assert_eq!(try_at(&mut w, chicago("2025-06-02T09:00")), Outcome::Grant);
    assert_eq!(
        try_at(&mut w, chicago("2025-06-02T21:00")),
        Outcome::Deny(DenyReason::OutsideSchedule)
    );
    // Sunday is closed.
    assert_eq!(
        try_at(&mut w, chicago("2025-06-08T12:00")),
        Outcome::Deny(DenyReason::OutsideSchedule)
    );
    w.authorize("nina", "back", Schedule::AfterHours);
    assert_eq!(try_at(&mut w, chicago("2025-06-08T12:00")), Outcome::Grant);
    assert_eq!(
        try_at(&mut w, chicago("2025-06-02T12:00")),
        Outcome::Deny(DenyReason::OutsideSchedule)
    );
}

#[test]
fn authorisation_end_date() {
    let mut w = World::new();
    w.agent("nina", &[]);
    let until = w.now + 3_600_000;
    w.cmd(Command::AuthorizeArea {
        person: "nina".into(),
        area: "back".into(),
        schedule: Schedule::Always,
        valid_until_ms: Some(until),
    });
    assert!(w.card("r-back", "CARD-nina").is_grant());
    assert_eq!(
        try_at(&mut w, until + 1),
        Outcome::Deny(DenyReason::AuthorizationExpired)
    );
    w.cmd(Command::DeauthorizeArea {
        person: "nina".into(),
        area: "back".into(),
        reason: String::new(),
    });
    assert_eq!(
        try_at(&mut w, until + 2),
        Outcome::Deny(DenyReason::NotAuthorized)
    );
}

// ----- commands -----

#[test]
fn surveillance_room_is_not_for_visitors() {
    let mut w = World::new();
    w.add("vic", PersonCategory::Visitor, &[]);
    let r = w.try_cmd(Command::AuthorizeArea {
        person: "vic".into(),
        area: "cctv".into(),
        schedule: Schedule::Always,
        valid_until_ms: None,
    });
    assert!(matches!(r, Err(CommandError::NotAllowedForCategory { .. })));
    w.add("tech", PersonCategory::ServiceProfessional, &[]);
    w.authorize("tech", "cctv", Schedule::Always);
    let unknown = w.try_cmd(Command::AuthorizeArea {
        person: "tech".into(),
        area: "moon".into(),
        schedule: Schedule::Always,
        valid_until_ms: None,
    });
    assert!(matches!(unknown, Err(CommandError::UnknownArea(_))));
}

#[test]
fn errors_change_nothing() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    let before = w.state.clone();
    let n = w.journal.len();
    for bad in [
        Command::AddPerson(strongroom_access::NewPerson::new(
            "alice",
            PersonCategory::Agent,
            "A",
        )),
        Command::AddPerson(strongroom_access::NewPerson::new(
            "bad id!",
            PersonCategory::Agent,
            "A",
        )),
        Command::RevokeCredential {
            credential: "c-99".into(),
            reason: String::new(),
        },
        Command::EndLockdown {
            reason: String::new(),
        },
        Command::AddSecretHolder {
            secret: "nope".into(),
            person: "alice".into(),
        },
    ] {
        assert!(w.try_cmd(bad).is_err());
    }
    assert_eq!(w.state, before);
    assert_eq!(w.journal.len(), n);
}
