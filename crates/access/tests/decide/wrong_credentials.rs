//! Unknown cards (a burst raises one alarm) and wrong PINs (brute force locks the keypad out).
use crate::common::World;
use crate::{deny, fact_kinds};
use strongroom_access::kinds as k;
use strongroom_access::{Command, CredentialKind, DenyReason};

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
    assert_eq!(
        fact_kinds(&d),
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
