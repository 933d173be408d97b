//! Properties: any sequence of commands and decisions rebuilds from its facts; no input makes
//! `decide` or `apply` panic; no fact carries a plaintext card number or PIN.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use proptest::prelude::*;
use serde_json::{Map, Value};
use strongroom_access::kinds as k;
use strongroom_access::{
    AccessParams, AccessState, Command, CredentialKind, EmergencyOverride, ExitSource,
    GoodFaithAttempt, NewCredential, NewPerson, PersonCategory, PersonStatus, Presentation,
    Request, Schedule, SecretKind, Source, VaultMode, Weekday, Window, decide,
};
use strongroom_domain::{Actor, Fact};

const PEOPLE: usize = 8;
const CARDS: usize = 10;
const PINS: usize = 20;
const READERS: &[&str] = &[
    "r-front",
    "r-barrier",
    "r-barrier-out",
    "r-back",
    "r-store",
    "r-store-out",
    "r-vault",
    "r-vault-2",
    "r-vault-out",
    "r-safe",
    "r-cctv",
    "r-unknown",
];
const DOORS: &[&str] = &[
    "front",
    "barrier",
    "sales-back",
    "store-door",
    "vault-door",
    "safe-door",
    "cctv-door",
    "nope",
];
const AREAS: &[&str] = &[
    "lobby", "sales", "back", "store", "vault", "safe", "cctv", "exterior", "moon",
];

fn person(i: u8) -> String {
    format!("p{}", usize::from(i) % PEOPLE)
}
/// Card numbers made of letters that never occur in hex, so a leak cannot hide in a hash.
fn card(i: u8) -> String {
    format!("QZ{}QZ", usize::from(i) % CARDS)
}
fn pin(i: u8) -> String {
    format!("{:08}", 13_579_000 + usize::from(i) % PINS)
}
fn category(i: u8) -> PersonCategory {
    [
        PersonCategory::Agent,
        PersonCategory::Agent,
        PersonCategory::Agent,
        PersonCategory::Visitor,
        PersonCategory::Vendor,
        PersonCategory::ServiceProfessional,
        PersonCategory::LawEnforcement,
    ][usize::from(i) % 7]
}
fn schedule(i: u8) -> Schedule {
    match i % 5 {
        0 | 1 => Schedule::Always,
        2 => Schedule::OperatingHours,
        3 => Schedule::AfterHours,
        _ => Schedule::Windows {
            windows: vec![Window {
                days: vec![Weekday::Mon, Weekday::Sat],
                start_min: 22 * 60,
                end_min: 6 * 60,
            }],
        },
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add(u8, u8),
    Issue(u8, u8, u8, u8),
    Suspend(u8),
    Reinstate(u8),
    Revoke(u8),
    Status(u8, u8),
    Authorize(u8, u8, u8),
    Deauthorize(u8, u8),
    Approve(u8),
    RemoveVendor(u8),
    Secret(u8, u8),
    Lockdown(bool),
    Present(u8, Option<u8>, Option<u8>),
    Exit(u8, Option<u8>),
    Release(u8, u8),
    Override(u8, u8, bool),
    Advance(u32),
    ResetOccupancy(Option<u8>),
    ExpireDue,
    ClearLockout(u8),
    Manual(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let b = any::<u8>;
    prop_oneof![
        3 => (b(), b()).prop_map(|(a, c)| Op::Add(a, c)),
        3 => (b(), b(), b(), b()).prop_map(|(a, b2, c, d)| Op::Issue(a, b2, c, d)),
        1 => b().prop_map(Op::Suspend),
        1 => b().prop_map(Op::Reinstate),
        1 => b().prop_map(Op::Revoke),
        1 => (b(), b()).prop_map(|(a, s)| Op::Status(a, s)),
        4 => (b(), b(), b()).prop_map(|(a, r, s)| Op::Authorize(a, r, s)),
        1 => (b(), b()).prop_map(|(a, r)| Op::Deauthorize(a, r)),
        1 => b().prop_map(Op::Approve),
        1 => b().prop_map(Op::RemoveVendor),
        1 => (b(), b()).prop_map(|(s, p)| Op::Secret(s, p)),
        1 => any::<bool>().prop_map(Op::Lockdown),
        16 => (b(), proptest::option::of(b()), proptest::option::of(b())).prop_map(|(r, c, p)| Op::Present(r, c, p)),
        6 => (0u8..PEOPLE as u8, proptest::sample::select(&[1u8, 3, 4, 6, 7, 8][..])).prop_map(|(c, r)| Op::Present(r, Some(c), Some(c))),
        2 => (b(), proptest::option::of(b())).prop_map(|(d, p)| Op::Exit(d, p)),
        1 => (b(), 0u8..5).prop_map(|(d, n)| Op::Release(d, n)),
        1 => (b(), b(), any::<bool>()).prop_map(|(p, a, g)| Op::Override(p, a, g)),
        4 => prop_oneof![0u32..40_000, 0u32..400_000].prop_map(Op::Advance),
        1 => proptest::option::of(b()).prop_map(Op::ResetOccupancy),
        1 => Just(Op::ExpireDue),
        1 => b().prop_map(Op::ClearLockout),
        1 => b().prop_map(Op::Manual),
    ]
}

fn cred_id(w: &World, i: u8) -> String {
    let n = w.state.credentials().count().max(1);
    format!("c-{}", usize::from(i) % n + 1)
}

fn run(w: &mut World, op: &Op) {
    let cmd = match op {
        Op::Add(p, c) => {
            let mut np = NewPerson::new(&person(*p), category(*c), "Someone");
            if p % 3 == 0 {
                np.roles = vec!["security-manager".into()];
            }
            if p % 5 == 0 {
                np.badge_expires_ms = Some(w.now + 600_000);
            }
            Some(Command::AddPerson(np))
        }
        Op::Issue(p, kind, c, n) => {
            let kind = [
                CredentialKind::Card,
                CredentialKind::Pin,
                CredentialKind::CardPin,
                CredentialKind::DuressPin,
            ][usize::from(*kind) % 4];
            Some(Command::IssueCredential(NewCredential {
                person: person(*p),
                kind,
                card: kind.has_card().then(|| card(*c)),
                pin: kind.has_pin().then(|| pin(*n)),
                expires_ms: (c % 4 == 0).then_some(w.now + 300_000),
                replaces: (n % 7 == 0).then(|| cred_id(w, *c)),
            }))
        }
        Op::Suspend(c) => Some(Command::SuspendCredential {
            credential: cred_id(w, *c),
            reason: String::new(),
        }),
        Op::Reinstate(c) => Some(Command::ReinstateCredential {
            credential: cred_id(w, *c),
            reason: String::new(),
        }),
        Op::Revoke(c) => Some(Command::RevokeCredential {
            credential: cred_id(w, *c),
            reason: String::new(),
        }),
        Op::Status(p, s) => Some(Command::SetPersonStatus {
            person: person(*p),
            status: [
                PersonStatus::Active,
                PersonStatus::Suspended,
                PersonStatus::Terminated,
            ][usize::from(*s) % 3],
            reason: String::new(),
        }),
        Op::Authorize(p, a, s) => Some(Command::AuthorizeArea {
            person: person(*p),
            area: AREAS[usize::from(*a) % AREAS.len()].into(),
            schedule: schedule(*s),
            valid_until_ms: (s % 7 == 0).then_some(w.now + 200_000),
        }),
        Op::Deauthorize(p, a) => Some(Command::DeauthorizeArea {
            person: person(*p),
            area: AREAS[usize::from(*a) % AREAS.len()].into(),
            reason: String::new(),
        }),
        Op::Approve(p) => Some(Command::ApproveVendor {
            person: person(*p),
            approval_ref: "REF-1".into(),
        }),
        Op::RemoveVendor(p) => Some(Command::RemoveVendor {
            person: person(*p),
            reason: String::new(),
        }),
        Op::Secret(s, p) => {
            let id = format!("s{}", s % 2);
            if w.state.secret(&id).is_none() {
                Some(Command::RegisterSecret {
                    secret: id,
                    label: "Vault combination".into(),
                    kind: SecretKind::VaultCombination,
                    area: Some("vault".into()),
                })
            } else if p % 2 == 0 {
                Some(Command::AddSecretHolder {
                    secret: id,
                    person: person(*p),
                })
            } else {
                Some(Command::ChangeSecret {
                    secret: id,
                    holders: vec![person(*p)],
                    reason: String::new(),
                })
            }
        }
        Op::Lockdown(on) => Some(if *on {
            Command::StartLockdown {
                reason: String::new(),
            }
        } else {
            Command::EndLockdown {
                reason: String::new(),
            }
        }),
        Op::ResetOccupancy(p) => Some(Command::ResetOccupancy {
            person: p.map(person),
            reason: String::new(),
        }),
        Op::ExpireDue => Some(Command::ExpireDue),
        Op::ClearLockout(r) => Some(Command::ClearKeypadLockout {
            reader: READERS[usize::from(*r) % READERS.len()].into(),
            reason: String::new(),
        }),
        Op::Manual(p) => Some(Command::RecordManualVaultEntry {
            person: person(*p),
            area: "vault".into(),
            time_in_ms: w.now - 60_000,
            time_out_ms: Some(w.now),
            method: "combination".into(),
            note: String::new(),
        }),
        _ => None,
    };
    if let Some(cmd) = cmd {
        let _ = w.try_cmd(cmd);
        return;
    }
    let req = match op {
        Op::Present(r, c, p) => Request::Present(Presentation {
            reader: READERS[usize::from(*r) % READERS.len()].into(),
            card: c.map(card),
            pin: p.map(pin),
            source: Source::Osdp,
        }),
        Op::Exit(d, p) => Request::Exit {
            door: DOORS[usize::from(*d) % DOORS.len()].into(),
            person: p.map(person),
            source: ExitSource::Rex,
        },
        Op::Release(d, n) => Request::StaffRelease {
            door: DOORS[usize::from(*d) % DOORS.len()].into(),
            user: "desk".into(),
            reason: String::new(),
            admits: u32::from(*n),
        },
        Op::Override(p, a, g) => Request::EmergencyOverride(EmergencyOverride {
            door: "sales-back".into(),
            person: person(*p),
            approver: person(*a),
            description: "emergency".into(),
            good_faith: g.then(|| GoodFaithAttempt {
                time_ms: w.now,
                channel: "phone".into(),
                contact: "regulator".into(),
            }),
        }),
        Op::Advance(ms) => {
            w.now += i64::from(*ms);
            return;
        }
        _ => return,
    };
    w.request(req);
}

fn assert_no_plaintext(journal: &[Fact]) {
    fn walk(v: &Value, cards: &[String], pins: &[String]) {
        match v {
            Value::String(s) => {
                assert!(
                    !cards.iter().any(|c| s.contains(c.as_str())),
                    "card leaked: {s}"
                );
                assert!(!pins.iter().any(|p| s == p), "PIN leaked: {s}");
            }
            Value::Number(n) => {
                assert!(!pins.iter().any(|p| n.to_string() == *p), "PIN leaked: {n}");
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, cards, pins)),
            Value::Object(m) => m.values().for_each(|x| walk(x, cards, pins)),
            Value::Bool(_) | Value::Null => {}
        }
    }
    let cards: Vec<String> = (0..CARDS as u8).map(card).collect();
    let pins: Vec<String> = (0..PINS as u8).map(pin).collect();
    for f in journal {
        walk(&Value::Object(f.payload.clone()), &cards, &pins);
    }
}

fn world(mode: u8) -> World {
    let mut w = World::with(AccessParams {
        vault_mode: [
            VaultMode::TwoPerson,
            VaultMode::CardAndPin,
            VaultMode::TwoPersonCardAndPin,
        ][usize::from(mode) % 3],
        ..AccessParams::default()
    });
    // A populated start, so random sequences reach pending, escort, duress and lockout paths often.
    for i in 0..PEOPLE as u8 {
        run(&mut w, &Op::Add(i, i));
        run(&mut w, &Op::Issue(i, i % 3, i, i));
        run(&mut w, &Op::Issue(i, 3, i, i + 8));
        for (a, s) in [(1u8, 0u8), (2, 0), (4, 0), (3, 0), (5, i)] {
            run(&mut w, &Op::Authorize(i, a, s));
        }
    }
    w
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Replaying the facts of any command/decision sequence into a fresh state gives the same state.
    #[test]
    fn any_sequence_rebuilds_from_its_facts(mode in 0u8..3, ops in proptest::collection::vec(op(), 1..80)) {
        let mut w = world(mode);
        for (i, o) in ops.iter().enumerate() {
            run(&mut w, o);
            if i % 20 == 19 {
                w.assert_rebuilds();
            }
        }
        w.assert_rebuilds();
        assert_no_plaintext(&w.journal);
    }

    /// `decide` never panics, whatever the strings and the time, on a populated state.
    #[test]
    fn decide_never_panics(
        mode in 0u8..3,
        ops in proptest::collection::vec(op(), 0..40),
        reader in prop_oneof![proptest::sample::select(READERS).prop_map(str::to_owned), "\\PC{0,70}"],
        card in proptest::option::of("\\PC{0,90}"),
        pin in proptest::option::of("[0-9]{0,12}|\\PC{0,12}"),
        door in prop_oneof![proptest::sample::select(DOORS).prop_map(str::to_owned), "\\PC{0,70}"],
        who in "\\PC{0,20}",
        now in any::<i64>(),
        admits in any::<u32>(),
    ) {
        let mut w = world(mode);
        for o in &ops {
            run(&mut w, o);
        }
        let reqs = [
            Request::Present(Presentation { reader: reader.clone(), card: card.clone(), pin: pin.clone(), source: Source::Api }),
            Request::Exit { door: door.clone(), person: Some(who.clone()), source: ExitSource::Api },
            Request::StaffRelease { door: door.clone(), user: who.clone(), reason: who.clone(), admits },
            Request::EmergencyOverride(EmergencyOverride {
                door: door.clone(),
                person: who.clone(),
                approver: who.clone(),
                description: who.clone(),
                good_faith: Some(GoodFaithAttempt { time_ms: now, channel: who.clone(), contact: who.clone() }),
            }),
        ];
        for req in &reqs {
            for t in [now, w.now] {
                let d = decide(&w.site, &w.state, req, t);
                for f in &d.facts {
                    prop_assert_eq!(f.validate(), Ok(()));
                    w.state.clone().apply(f);
                }
            }
        }
    }

    /// `apply` never panics on malformed facts of our kinds, and reports them.
    #[test]
    fn apply_never_panics(
        kind in proptest::sample::select(k::ALL),
        fields in proptest::collection::vec((
            proptest::sample::select(&["person", "credential", "door", "reader", "area", "status", "kind",
                "schedule", "card_hash", "pin_hash", "holders", "reason", "enters", "enters_kind", "leaves",
                "leaves_kind", "direction", "method", "admits", "until_ms", "valid_until_ms", "secret"][..]),
            prop_oneof![
                any::<i64>().prop_map(Value::from),
                "\\PC{0,10}".prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
                Just(Value::Null),
                Just(serde_json::json!({"type": "windows", "windows": [{"days": ["mon"], "start_min": 5000, "end_min": 3}]})),
                Just(Value::from("in")),
                Just(Value::from("vault")),
            ],
        ), 0..8),
        time_ms in any::<i64>(),
    ) {
        let mut w = world(0);
        for o in [Op::Add(0, 0), Op::Issue(0, 0, 1, 1), Op::Authorize(0, 4, 0), Op::Present(6, Some(1), None)] {
            run(&mut w, &o);
        }
        let mut payload = Map::new();
        for (key, v) in fields {
            payload.insert(key.to_owned(), v);
        }
        let f = Fact { kind: kind.to_owned(), actor: Actor::System, time_ms, payload };
        let mut s: AccessState = w.state.clone();
        let _ = s.apply(&f);
        let mut m = strongroom_access::DoorMonitor::new(&w.site);
        let _ = m.on_fact(&f);
        let _ = m.tick(time_ms);
    }
}
