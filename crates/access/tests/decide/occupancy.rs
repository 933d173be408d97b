//! Lockdown, capacity (badges, staff releases, exits, two-person entries) and anti-passback.
use crate::common::World;
use crate::{deny, vault_world};
use strongroom_access::{
    Command, CommandError, DenyReason, ExitSource, Outcome, PendingKind, PersonCategory,
    ReaderFeedback, Request, VaultMode,
};

#[test]
fn lockdown_denies_all_but_lockdown_roles_at_restricted_doors() {
    let mut w = World::new();
    w.agent("alice", &["lobby", "back"]);
    w.badged(
        "mgr",
        PersonCategory::Agent,
        &["security-manager"],
        "MGR",
        &["back"],
    );
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

/// The front desk releases the barrier for `admits` checked-in customers.
fn barrier_release(admits: u32) -> Request {
    Request::StaffRelease {
        door: "barrier".into(),
        user: "frontdesk".into(),
        reason: "checked in".into(),
        admits,
    }
}

#[test]
fn staff_release_admits_anonymous_customers_within_capacity() {
    let mut w = World::new();
    w.agent("a1", &["sales"]);
    w.card("r-barrier", "CARD-a1");
    let d = w.request(barrier_release(2));
    assert!(d.is_grant());
    assert_eq!(w.state.occupancy("sales"), 3);
    let d = w.request(barrier_release(1));
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
