//! The vault: the two-person rule, card-and-PIN modes and the currency safe's separate rights.
use crate::common::World;
use crate::{card_pin_agent, deny, facts_of_kind, params, set_status, vault_world};
use strongroom_access::kinds as k;
use strongroom_access::{
    CredentialKind, DenyReason, Outcome, PendingKind, PersonStatus, ReaderFeedback, Schedule,
    VaultMode,
};

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
    let grants = facts_of_kind(&second, k::ACCESS_GRANTED);
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
    w.cmd(set_status("alice", PersonStatus::Suspended, ""));
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
    card_pin_agent(&mut w, "alice", ("A1", "1111"), "vault");
    card_pin_agent(&mut w, "bob", ("B1", "2222"), "vault");
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
    card_pin_agent(&mut w, "alice", ("A1", "1111"), "vault");
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
