//! Credential and person status (revocation, termination, suspension, expiry, reissue) and the
//! uniqueness of PINs and cards (OH (B)(8), OH-P (A)(8)).
use crate::common::{World, new_credential};
use crate::{deny, set_status};
use strongroom_access::kinds as k;
use strongroom_access::{
    Command, CommandError, CredentialKind, DenyReason, NewCredential, PersonCategory, PersonStatus,
    Schedule,
};

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
    let facts = w.cmd(set_status(
        "bob",
        PersonStatus::Terminated,
        "left the company",
    ));
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
    let again = w.try_cmd(set_status("bob", PersonStatus::Active, ""));
    assert!(matches!(again, Err(CommandError::TerminationIsFinal(_))));
    let issue = w.try_cmd(Command::IssueCredential(new_credential(
        "bob",
        CredentialKind::Card,
        Some("NEW"),
        None,
    )));
    assert!(matches!(issue, Err(CommandError::PersonTerminated(_))));
    w.assert_rebuilds();
}

#[test]
fn suspension_of_person_and_credential() {
    let mut w = World::new();
    let cred = w.agent("carol", &["back"]);
    w.cmd(set_status(
        "carol",
        PersonStatus::Suspended,
        "investigation",
    ));
    assert_eq!(
        deny(&w.card("r-back", "CARD-carol")),
        DenyReason::PersonSuspended
    );
    w.cmd(set_status("carol", PersonStatus::Active, "cleared"));
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
        expires_ms: Some(exp),
        ..new_credential("dan", CredentialKind::Card, Some("DAN1"), None)
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
        replaces: Some(old.clone()),
        ..new_credential("fay", CredentialKind::Card, Some("FAY-NEW"), None)
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

#[test]
fn pin_already_held_by_another_person_is_rejected() {
    let mut w = World::new();
    w.add("alice", PersonCategory::Agent, &[]);
    w.add("bob", PersonCategory::Agent, &[]);
    let a = w.issue("alice", CredentialKind::Pin, None, Some("2468"));
    let issue = |pin: &str, kind| {
        Command::IssueCredential(new_credential(
            "bob",
            kind,
            (kind == CredentialKind::CardPin).then_some("BOB1"),
            Some(pin),
        ))
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
    let dup = w.try_cmd(Command::IssueCredential(new_credential(
        "alice",
        CredentialKind::DuressPin,
        None,
        Some("2468"),
    )));
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
    let r = w.try_cmd(Command::IssueCredential(new_credential(
        "bob",
        CredentialKind::Card,
        Some(" card-alice "),
        None,
    )));
    assert_eq!(
        r.err(),
        Some(CommandError::CardInUse {
            by_other_person: true
        })
    );
}
