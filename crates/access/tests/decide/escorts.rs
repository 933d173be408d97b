//! Escorts for visitors, vendors and service professionals, the approved vendor list and the
//! emergency override (IL 1291.300(h)).
use crate::common::World;
use crate::{deny, fact_kinds, facts_of_kind};
use strongroom_access::kinds as k;
use strongroom_access::{
    AccessParams, Command, CommandError, CredentialKind, DenyReason, EmergencyOverride,
    GoodFaithAttempt, Outcome, PendingKind, PersonCategory, ReaderFeedback, Request, Schedule,
    VaultMode,
};

/// A world with the agent alice and a person `id` of `category` holding card `card`, both
/// authorised for the back of house.
fn agent_alice_and(category: PersonCategory, id: &str, card: &str) -> World {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    w.badged(id, category, &[], card, &["back"]);
    w
}

#[test]
fn visitor_then_agent_within_window_grants_both() {
    let mut w = agent_alice_and(PersonCategory::Visitor, "vic", "VIS-1");
    let d = w.card("r-back", "VIS-1");
    assert_eq!(d.outcome, Outcome::Pending(PendingKind::Escort));
    assert_eq!(d.reader_feedback, ReaderFeedback::None);
    assert_eq!(d.facts[0].kind, k::ACCESS_PENDING_ESCORT);
    w.advance_s(30);
    let d = w.card("r-back", "CARD-alice");
    assert!(d.is_grant());
    let grants = facts_of_kind(&d, k::ACCESS_GRANTED);
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[1].payload["person"], "vic");
    assert_eq!(grants[1].payload["escort"], "alice");
    assert_eq!(w.state.location("vic"), Some("back"));
    w.assert_rebuilds();
}

#[test]
fn visitor_then_agent_after_window_grants_only_the_agent() {
    let mut w = agent_alice_and(PersonCategory::Visitor, "vic", "VIS-1");
    w.card("r-back", "VIS-1");
    w.advance_s(31);
    let d = w.card("r-back", "CARD-alice");
    assert_eq!(d.facts.len(), 1);
    assert_eq!(w.state.location("vic"), None);
}

#[test]
fn agent_then_visitor_within_window_and_after() {
    let mut w = agent_alice_and(PersonCategory::Visitor, "vic", "VIS-1");
    w.card("r-back", "CARD-alice");
    w.advance_s(29);
    let d = w.card("r-back", "VIS-1");
    assert!(d.is_grant());
    assert_eq!(d.facts[0].payload["escort"], "alice");
    w.reset_occupancy();
    w.advance_s(2); // 31 s after Alice
    let d = w.card("r-back", "VIS-1");
    assert_eq!(d.outcome, Outcome::Pending(PendingKind::Escort));
}

#[test]
fn a_visitor_cannot_escort_a_visitor() {
    let mut w = World::new();
    for v in ["v1", "v2"] {
        w.badged(
            v,
            PersonCategory::Visitor,
            &[],
            &format!("C-{v}"),
            &["back"],
        );
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
    let mut w = agent_alice_and(PersonCategory::ServiceProfessional, "sam", "SAM-1");
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
    w.reset_occupancy();
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
    let mut w = agent_alice_and(PersonCategory::ServiceProfessional, "sam", "SAM-1");
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
    assert_eq!(
        fact_kinds(&d),
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
    w.reset_occupancy();
    w.advance_s(60);
    w.card("r-back", "CARD-alice");
    assert!(w.card("r-back", "SAM-1").is_grant());
    // Afterwards not.
    w.advance_s(300);
    w.reset_occupancy();
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
