//! Door monitoring and records (vault log, access records, secret holders, surveillance list).
#![allow(clippy::unwrap_used)]

mod common;

use common::{World, chicago};
use strongroom_access::kinds as k;
use strongroom_access::records::{
    RecordQuery, RecordResult, access_records, secrets_to_change, surveillance_access_list,
    vault_access_roster, vault_code_holders,
};
use strongroom_access::{
    AccessParams, Command, CommandError, DoorMonitor, ExitSource, PersonCategory, PersonStatus,
    Request, Schedule, SecretKind, VaultMode, vault_log, vault_log_csv,
};
use strongroom_domain::{Actor, Fact};

// ----- door monitor -----

fn monitor() -> (World, DoorMonitor) {
    let w = World::new();
    let m = DoorMonitor::new(&w.site);
    (w, m)
}

fn kinds(facts: &[Fact]) -> Vec<&str> {
    facts.iter().map(|f| f.kind.as_str()).collect()
}

#[test]
fn door_opened_without_grant_is_forced() {
    let (_, mut m) = monitor();
    let t = 1_000_000;
    let f = m.on_contact("vault-door", true, t);
    assert_eq!(kinds(&f), [k::DOOR_FORCED]);
    assert_eq!(f[0].payload["area"], "vault");
    assert_eq!(f[0].payload["area_kind"], "vault");
    assert!(m.is_forced("vault-door"));
    // Held-open does not pile onto a forced door.
    assert!(m.tick(t + 3_600_000).is_empty());
    let f = m.on_contact("vault-door", false, t + 5_000);
    assert_eq!(kinds(&f), [k::DOOR_SECURED]);
    assert_eq!(f[0].payload["after"], "forced");
    // Repeated reports of the same state change nothing.
    assert!(m.on_contact("vault-door", false, t + 6_000).is_empty());
    assert!(m.on_contact("no-such-door", true, t).is_empty());
}

#[test]
fn grant_authorises_one_opening_within_unlock_time() {
    let (_, mut m) = monitor();
    let t = 1_000_000;
    m.on_grant("vault-door", t);
    assert!(m.on_contact("vault-door", true, t + 5_000).is_empty()); // unlock_s = 5
    assert!(m.on_contact("vault-door", false, t + 6_000).is_empty());
    // The same grant does not authorise a second opening.
    assert_eq!(
        kinds(&m.on_contact("vault-door", true, t + 7_000)),
        [k::DOOR_FORCED]
    );

    let (_, mut m) = monitor();
    m.on_grant("vault-door", t);
    assert_eq!(
        kinds(&m.on_contact("vault-door", true, t + 5_001)),
        [k::DOOR_FORCED]
    );

    let (_, mut m) = monitor();
    m.on_rex("vault-door", t);
    assert!(m.on_contact("vault-door", true, t + 1_000).is_empty());
}

#[test]
fn held_open_is_raised_once_after_the_limit() {
    let (_, mut m) = monitor();
    let t = 1_000_000;
    m.on_grant("vault-door", t);
    m.on_contact("vault-door", true, t + 1_000);
    assert!(m.tick(t + 1_000 + 60_000).is_empty()); // limit 60 s, not yet past
    let f = m.tick(t + 1_000 + 60_001);
    assert_eq!(kinds(&f), [k::DOOR_HELD_OPEN]);
    assert_eq!(f[0].payload["limit_s"], 60);
    assert_eq!(f[0].payload["opened_ms"], t + 1_000);
    assert!(m.tick(t + 200_000).is_empty());
    let f = m.on_contact("vault-door", false, t + 210_000);
    assert_eq!(f[0].payload["after"], "held_open");
}

#[test]
fn a_grant_while_open_restarts_the_held_open_timer() {
    let (_, mut m) = monitor();
    let t = 1_000_000;
    m.on_grant("vault-door", t);
    m.on_contact("vault-door", true, t);
    m.on_grant("vault-door", t + 50_000);
    assert!(m.tick(t + 100_000).is_empty());
    assert_eq!(kinds(&m.tick(t + 110_001)), [k::DOOR_HELD_OPEN]);
}

#[test]
fn left_unlocked_and_restoral() {
    let (_, mut m) = monitor();
    let t = 1_000_000;
    assert!(m.on_lock("barrier", false, t).is_empty());
    // Opening an unlocked door is not forced.
    assert!(m.on_contact("barrier", true, t + 1_000).is_empty());
    m.on_contact("barrier", false, t + 2_000);
    assert!(m.tick(t + 60_000).is_empty());
    let f = m.tick(t + 60_001);
    assert_eq!(kinds(&f), [k::DOOR_LEFT_UNLOCKED]);
    assert_eq!(f[0].payload["unlocked_ms"], t);
    assert!(m.tick(t + 120_000).is_empty());
    let f = m.on_lock("barrier", true, t + 130_000);
    assert_eq!(f[0].payload["after"], "left_unlocked");
}

#[test]
fn monitor_rebuilds_from_the_journal_without_raising_twice() {
    let (w, mut live) = monitor();
    let t = 1_000_000;
    let mut journal: Vec<Fact> = Vec::new();
    let input = |kind: &str, door: &str, key: &str, v: bool, at: i64| {
        Fact::new(kind, Actor::Device(door.into()), at)
            .with("door", door)
            .with(key, v)
    };
    let grant =
        Fact::new(k::ACCESS_GRANTED, Actor::Device("r-vault".into()), t).with("door", "vault-door");
    for f in [
        grant,
        input(k::DOOR_CONTACT, "vault-door", "open", true, t + 1_000),
        input(k::DOOR_CONTACT, "cctv-door", "open", true, t + 2_000),
    ] {
        journal.push(f.clone());
        journal.extend(live.on_fact(&f));
    }
    journal.extend(live.tick(t + 120_000));
    assert_eq!(
        kinds(&journal)
            .iter()
            .filter(|k| **k == k::DOOR_FORCED)
            .count(),
        1
    );
    assert_eq!(
        kinds(&journal)
            .iter()
            .filter(|k| **k == k::DOOR_HELD_OPEN)
            .count(),
        1
    );
    let mut rebuilt = DoorMonitor::new(&w.site);
    for f in &journal {
        let _ = rebuilt.on_fact(f);
    }
    assert_eq!(rebuilt, live);
    assert!(rebuilt.tick(t + 240_000).is_empty());
}

// ----- vault log -----

fn vault_day() -> World {
    let mut w = World::with(AccessParams {
        vault_mode: VaultMode::TwoPerson,
        ..AccessParams::default()
    });
    for a in ["alice", "bob", "carl"] {
        w.agent(a, &["back", "vault"]);
    }
    w.add("dora", PersonCategory::Agent, &[]);
    let at = |w: &mut World, s: &str| w.now = chicago(s);
    at(&mut w, "2025-06-02T10:00:00");
    w.card("r-vault", "CARD-alice");
    at(&mut w, "2025-06-02T10:00:20");
    assert!(w.card("r-vault-2", "CARD-bob").is_grant());
    at(&mut w, "2025-06-02T10:30:00");
    w.card("r-vault-out", "CARD-alice");
    at(&mut w, "2025-06-02T10:45:00");
    w.request(Request::Exit {
        door: "vault-door".into(),
        person: Some("bob".into()),
        source: ExitSource::Api,
    });
    at(&mut w, "2025-06-02T14:00:00");
    w.card("r-vault", "CARD-carl");
    assert!(w.card("r-vault", "CARD-alice").is_grant());
    at(&mut w, "2025-06-02T14:10:00");
    w.card("r-vault-out", "CARD-carl");
    at(&mut w, "2025-06-02T17:00:00");
    w.cmd(Command::RecordManualVaultEntry {
        person: "dora".into(),
        area: "vault".into(),
        time_in_ms: chicago("2025-06-02T16:00:00"),
        time_out_ms: Some(chicago("2025-06-02T16:05:00")),
        method: "combination".into(),
        note: "electronic lock offline".into(),
    });
    at(&mut w, "2025-06-02T23:50:00");
    w.card("r-vault", "CARD-bob");
    assert!(w.card("r-vault", "CARD-carl").is_grant());
    at(&mut w, "2025-06-03T00:10:00");
    w.card("r-vault-out", "CARD-bob");
    w.card("r-vault-out", "CARD-carl");
    at(&mut w, "2025-06-03T09:00:00");
    w.card("r-vault", "CARD-alice");
    w.card("r-vault", "CARD-bob");
    w
}

#[test]
fn daily_vault_log_lists_each_entry_with_both_authenticators() {
    let w = vault_day();
    let tz = w.site.tz.clone();
    let day: jiff::civil::Date = "2025-06-02".parse().unwrap();
    let log = vault_log(&w.journal, &w.state, &tz, day);
    assert_eq!(log.len(), 4, "{log:#?}");

    let e = &log[0];
    assert!(e.dual);
    assert_eq!(e.source, "electronic");
    assert_eq!(e.time_in_local, "10:00:20 CDT");
    assert_eq!(e.door.as_deref(), Some("vault-door"));
    let who: Vec<&str> = e.people.iter().map(|p| p.person.as_str()).collect();
    assert_eq!(who, ["alice", "bob"]);
    let alice = w.state.person("alice").unwrap();
    let alice_cred = alice.credentials.iter().next().unwrap();
    assert_eq!(e.people[0].credential.as_ref(), Some(alice_cred));
    assert_eq!(e.people[0].method, "card");
    assert_eq!(e.people[0].agent_id.as_deref(), Some("AGT-alice"));
    assert_eq!(e.people[0].presented_ms, chicago("2025-06-02T10:00:00"));
    assert_eq!(e.people[0].time_out_local.as_deref(), Some("10:30:00 CDT"));
    assert_eq!(e.people[1].time_out_local.as_deref(), Some("10:45:00 CDT"));
    assert!(e.people[1].credential.is_some());

    let e = &log[1];
    let who: Vec<&str> = e.people.iter().map(|p| p.person.as_str()).collect();
    assert_eq!(who, ["carl", "alice"]);
    assert_eq!(
        e.people[0].time_out_ms,
        Some(chicago("2025-06-02T14:10:00"))
    );
    assert_eq!(e.people[1].time_out_ms, None, "no exit recorded for alice");

    let e = &log[2];
    assert_eq!(e.source, "manual");
    assert_eq!(e.people[0].person, "dora");
    assert_eq!(e.people[0].method, "combination");
    assert!(e.note.as_deref().unwrap().contains("user:manager"));

    // An entry before midnight keeps its time out on the next day.
    let e = &log[3];
    assert_eq!(e.time_in_local, "23:50:00 CDT");
    assert_eq!(
        e.people[0].time_out_ms,
        Some(chicago("2025-06-03T00:10:00"))
    );

    let next = vault_log(&w.journal, &w.state, &tz, "2025-06-03".parse().unwrap());
    assert_eq!(next.len(), 1);
    assert!(vault_log(&w.journal, &w.state, &tz, "2025-06-01".parse().unwrap()).is_empty());
}

#[test]
fn vault_log_csv_has_a_row_per_entry_and_is_safe_for_spreadsheets() {
    let mut w = vault_day();
    w.cmd(Command::UpdatePerson(
        strongroom_access::payload::PersonUpdated {
            person: "carl".into(),
            name: Some("=HYPERLINK(\"x\",\"Carl, Jr.\")".into()),
            ..Default::default()
        },
    ));
    let tz = w.site.tz.clone();
    let log = vault_log(&w.journal, &w.state, &tz, "2025-06-02".parse().unwrap());
    let csv = vault_log_csv(&log);
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("date,time_in,area,door,dual,source,agent_1_name"));
    assert!(lines[1].starts_with("2025-06-02,10:00:20 CDT,vault,vault-door,yes,electronic,Name of alice,AGT-alice,alice,c-1,card,10:30:00 CDT,Name of bob"));
    assert!(
        lines[2].contains("\"'=HYPERLINK(\"\"x\"\",\"\"Carl, Jr.\"\")\""),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains(",manual,"));
    let json = serde_json::to_value(&log).unwrap();
    assert_eq!(json[0]["people"][1]["person"], "bob");
}

// ----- access records -----

#[test]
fn access_records_for_restricted_areas() {
    let mut w = vault_day();
    w.card("r-cctv", "CARD-alice"); // denied: not authorised
    let all = access_records(
        &w.journal,
        &RecordQuery {
            person: Some("alice".into()),
            secured_only: true,
            ..RecordQuery::default()
        },
    );
    let results: Vec<RecordResult> = all.iter().map(|r| r.result).collect();
    assert!(results.contains(&RecordResult::Granted));
    assert!(results.contains(&RecordResult::Pending));
    assert_eq!(results.last(), Some(&RecordResult::Denied));
    assert_eq!(all.last().unwrap().area.as_deref(), Some("cctv"));
    let vault_only = access_records(
        &w.journal,
        &RecordQuery {
            area: Some("vault".into()),
            from_ms: Some(chicago("2025-06-02T00:00")),
            to_ms: Some(chicago("2025-06-03T00:00")),
            ..RecordQuery::default()
        },
    );
    assert!(
        vault_only
            .iter()
            .all(|r| r.area.as_deref() == Some("vault"))
    );
    assert!(vault_only.iter().any(|r| r.result == RecordResult::Exit));
    // Three two-person entries that day.
    assert_eq!(
        vault_only
            .iter()
            .filter(|r| r.result == RecordResult::Granted
                && r.direction == Some(strongroom_domain::site::Direction::In))
            .count(),
        6
    );
}

// ----- lists -----

#[test]
fn vault_code_holders_and_secrets_to_change() {
    let mut w = World::new();
    w.agent("alice", &[]);
    w.agent("bob", &[]);
    w.add("vic", PersonCategory::Visitor, &[]);
    w.cmd(Command::RegisterSecret {
        secret: "vault-combo".into(),
        label: "Vault door combination".into(),
        kind: SecretKind::VaultCombination,
        area: Some("vault".into()),
    });
    w.cmd(Command::RegisterSecret {
        secret: "alarm-code".into(),
        label: "Alarm panel".into(),
        kind: SecretKind::AlarmCode,
        area: None,
    });
    for p in ["alice", "bob"] {
        w.cmd(Command::AddSecretHolder {
            secret: "vault-combo".into(),
            person: p.into(),
        });
    }
    w.cmd(Command::AddSecretHolder {
        secret: "alarm-code".into(),
        person: "alice".into(),
    });
    let r = w.try_cmd(Command::AddSecretHolder {
        secret: "vault-combo".into(),
        person: "vic".into(),
    });
    assert!(matches!(r, Err(CommandError::NotEligibleForSecret(_))));
    let rows = vault_code_holders(&w.state);
    assert_eq!(rows.len(), 2, "the alarm code is not a vault code");
    assert!(rows.iter().all(|r| !r.change_needed));
    assert!(secrets_to_change(&w.state).is_empty());

    w.cmd(Command::SetPersonStatus {
        person: "bob".into(),
        status: PersonStatus::Terminated,
        reason: String::new(),
    });
    let rows = vault_code_holders(&w.state);
    let bob = rows.iter().find(|r| r.person == "bob").unwrap();
    assert!(bob.change_needed);
    assert_eq!(bob.agent_id.as_deref(), Some("AGT-bob"));
    assert_eq!(secrets_to_change(&w.state), ["vault-combo"]);
    // Changing the combination resets the holder list.
    w.cmd(Command::ChangeSecret {
        secret: "vault-combo".into(),
        holders: vec!["alice".into()],
        reason: "bob left".into(),
    });
    assert_eq!(vault_code_holders(&w.state).len(), 1);
    assert!(secrets_to_change(&w.state).is_empty());
    w.assert_rebuilds();
}

#[test]
fn surveillance_room_access_list_and_vault_roster() {
    let mut w = World::new();
    w.agent("alice", &["cctv", "vault"]);
    w.add("tech", PersonCategory::ServiceProfessional, &[]);
    w.authorize("tech", "cctv", Schedule::OperatingHours);
    w.add("cop", PersonCategory::LawEnforcement, &[]);
    w.cmd(Command::AuthorizeArea {
        person: "cop".into(),
        area: "cctv".into(),
        schedule: Schedule::Always,
        valid_until_ms: Some(w.now + 1_000),
    });
    w.agent("gone", &["cctv", "safe"]);
    w.cmd(Command::SetPersonStatus {
        person: "gone".into(),
        status: PersonStatus::Terminated,
        reason: String::new(),
    });
    let list = surveillance_access_list(&w.site, &w.state, w.now);
    let who: Vec<&str> = list.iter().map(|r| r.person.as_str()).collect();
    assert_eq!(who, ["alice", "cop", "tech"]);
    assert!(list[0].has_usable_credential);
    assert!(!list[2].has_usable_credential);
    assert_eq!(list[2].company.as_deref(), Some("Acme Services"));
    // Time-bound access drops off when it ends.
    let later = surveillance_access_list(&w.site, &w.state, w.now + 2_000);
    assert_eq!(later.len(), 2);
    let roster = vault_access_roster(&w.site, &w.state, w.now);
    assert_eq!(roster.len(), 1);
    assert_eq!(roster[0].person, "alice");
}
