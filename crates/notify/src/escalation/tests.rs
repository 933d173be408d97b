//! Unit and property tests of the escalation engine.
use super::*;
use proptest::prelude::*;
use strongroom_domain::Actor;
use strongroom_domain::site::{Chain, ChainStep, DEMO_SITE_TOML, SiteConfig};

fn contact(id: &str, phone: Option<&str>, email: Option<&str>) -> Contact {
    Contact {
        id: id.into(),
        name: format!("{id} name"),
        phone: phone.map(Into::into),
        email: email.map(Into::into),
        monitoring: false,
    }
}

fn step(contact: &str, channel: Channel, after_s: u32) -> ChainStep {
    ChainStep {
        contact: contact.into(),
        channel,
        after_s,
    }
}

fn config() -> EscalatorConfig {
    EscalatorConfig {
        notify: Notify {
            smtp: None,
            webhook: None,
            contacts: vec![
                contact("manager", Some("+12175550100"), Some("m@example.invalid")),
                contact("owner", Some("+12175550101"), None),
                contact("monitor", Some("+12175550102"), Some("mon@example.invalid")),
                contact("psap", Some("+12175550911"), None),
            ],
            chains: vec![
                Chain {
                    id: "alarms".into(),
                    applies_to: vec!["alarm.*".into()],
                    steps: vec![
                        step("monitor", Channel::Sms, 0),
                        step("psap", Channel::Voice, 0),
                        step("manager", Channel::Sms, 30),
                        step("owner", Channel::Voice, 120),
                    ],
                },
                Chain {
                    id: "failures".into(),
                    applies_to: vec!["health.*".into()],
                    steps: vec![
                        step("manager", Channel::Email, 0),
                        step("manager", Channel::Sms, 0),
                        step("owner", Channel::Sms, 120),
                    ],
                },
            ],
        },
        channel_rules: vec![ChannelRule::il_failures()],
        monitoring_contacts: ["monitor".to_owned(), "psap".to_owned()].into(),
        site: SiteIdentity {
            name: "Green Leaf Springfield".into(),
            address: "1 Main St, Springfield IL".into(),
            timezone: "America/Chicago".into(),
        },
        device_names: [("cam-lobby".to_owned(), "Lobby camera".to_owned())].into(),
        retain_ms: 0,
    }
}

fn alarm(kind: &str, t: i64) -> Fact {
    Fact::new(kind, Actor::Device("panel-1".into()), t).with("alarm_type", "burglary")
}

#[test]
fn patterns() {
    assert!(pattern_matches("alarm.*", "alarm.raised"));
    assert!(pattern_matches("alarm.*", "alarm.zone.raised"));
    assert!(!pattern_matches("alarm.*", "alarm"));
    assert!(!pattern_matches("alarm.*", "alarms.raised"));
    assert!(pattern_matches("*", "x"));
    assert!(pattern_matches("health.camera_down", "health.camera_down"));
    assert!(!pattern_matches("health.camera_down", "health.camera_up"));
}

#[test]
fn steps_fire_in_order_at_their_times_and_ack_stops_the_rest() {
    let mut e = Escalator::new(config());
    let t0 = 1_700_000_000_000;
    let out = e.trigger(&alarm("alarm.raised", t0 - 500), t0);
    let id = out.incident_id.clone().expect("incident");
    assert!(out.opened);
    assert_eq!(out.scheduled, 4);
    let first = e.tick(t0);
    assert_eq!(
        first.iter().map(|d| d.contact.as_str()).collect::<Vec<_>>(),
        ["monitor", "psap"]
    );
    assert!(
        first
            .iter()
            .all(|d| d.due_ms == t0 && d.onset_ms == t0 - 500)
    );
    assert_eq!(first[1].channel, Channel::Voice);
    assert!(first[1].message.contains("1 Main St, Springfield IL"));
    assert!(first[1].message.contains("burglary"));
    assert!(e.tick(t0 + 29_999).is_empty());
    let second = e.tick(t0 + 30_000);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].contact, "manager");
    assert!(second[0].is_escalation());
    assert_eq!(e.next_due_ms(), Some(t0 + 120_000));
    let ack = e.acknowledge(&id, "user:alice", t0 + 60_000).expect("ack");
    assert_eq!(ack.cancelled, vec![format!("{id}/alarms/3")]);
    assert!(e.tick(t0 + 1_000_000).is_empty());
    assert_eq!(e.next_due_ms(), None);
    assert!(matches!(
        e.acknowledge(&id, "user:bob", t0 + 70_000),
        Err(AckError::AlreadyAcknowledged { .. })
    ));
    assert!(matches!(
        e.acknowledge("nope", "user:bob", t0),
        Err(AckError::UnknownIncident(_))
    ));
}

#[test]
fn il_failures_never_go_by_email() {
    let mut e = Escalator::new(config());
    let f = Fact::new("health.camera_down", Actor::Device("cam-1".into()), 10);
    let out = e.trigger(&f, 10);
    assert_eq!(out.scheduled, 2);
    assert_eq!(out.suppressed.len(), 1);
    assert_eq!(out.suppressed[0].reason, SuppressReason::ChannelNotAllowed);
    assert_eq!(out.suppressed[0].channel, Channel::Email);
    let all = e.tick(i64::MAX);
    assert!(all.iter().all(|d| d.channel != Channel::Email));
    // Without the rule (an OH site), email counts.
    let mut cfg = config();
    cfg.channel_rules.clear();
    let mut e = Escalator::new(cfg);
    assert_eq!(e.trigger(&f, 10).scheduled, 3);
}

#[test]
fn silent_alarm_reaches_only_monitoring_contacts() {
    let mut e = Escalator::new(config());
    let f = alarm("alarm.raised", 5).with(VISIBILITY_KEY, VISIBILITY_MONITORING);
    let out = e.trigger(&f, 5);
    assert_eq!(out.scheduled, 2);
    assert!(
        out.suppressed
            .iter()
            .all(|s| s.reason == SuppressReason::SilentToNonMonitoring)
    );
    let all = e.tick(i64::MAX);
    assert!(
        all.iter()
            .all(|d| d.silent && (d.contact == "monitor" || d.contact == "psap"))
    );
}

#[test]
fn same_condition_joins_open_incident_and_replay_is_idempotent() {
    let mut e = Escalator::new(config());
    let a = e.trigger(&alarm("alarm.raised", 1), 1);
    let b = e.trigger(&alarm("alarm.raised", 2), 2);
    assert!(a.opened && !b.opened);
    assert_eq!(a.incident_id, b.incident_id);
    // The same fact in a fresh engine (restart) gives the same ids.
    let mut e2 = Escalator::new(config());
    let c = e2.trigger(&alarm("alarm.raised", 1), 1);
    assert_eq!(a.incident_id, c.incident_id);
    let ids1: Vec<_> = e.tick(1).into_iter().map(|d| d.id).collect();
    let ids2: Vec<_> = e2.tick(1).into_iter().map(|d| d.id).collect();
    assert_eq!(ids1, ids2);
}

#[test]
fn different_subjects_from_one_actor_are_different_incidents() {
    let mut e = Escalator::new(config());
    let down = |cam: &str, t: i64| {
        Fact::new("health.camera_down", Actor::System, t)
            .with("camera", cam)
            .with("last_frame_ms", t - 5_000)
    };
    let a = e.trigger(&down("cam-1", 1), 1);
    let b = e.trigger(&down("cam-2", 2), 2);
    let c = e.trigger(&down("cam-1", 3), 3);
    assert!(a.opened && b.opened && !c.opened);
    assert_ne!(a.incident_id, b.incident_id);
    assert_eq!(a.incident_id, c.incident_id);
    let keyed = |k: &str, t: i64| down("cam-9", t).with("dedupe_key", k);
    assert!(e.trigger(&keyed("x", 4), 4).opened);
    assert!(!e.trigger(&keyed("x", 5), 5).opened);
    assert!(e.trigger(&keyed("y", 6), 6).opened);
}

#[test]
fn unmatched_fact_opens_nothing_and_incidents_expire() {
    let mut e = Escalator::new(config());
    assert_eq!(e.trigger(&alarm("door.opened", 1), 1).incident_id, None);
    let id = e
        .trigger(&alarm("alarm.raised", 1), 1)
        .incident_id
        .expect("id");
    e.tick(1_000_000);
    assert_eq!(e.incident_count(), 1);
    e.tick(1_000_000 + 3_600_001);
    assert_eq!(e.incident_count(), 0);
    assert!(matches!(
        e.acknowledge(&id, "u", 2),
        Err(AckError::UnknownIncident(_))
    ));
}

#[test]
fn demo_site_chains_check_clean_for_il() {
    let site = SiteConfig::parse("demo.toml", DEMO_SITE_TOML).expect("demo parses");
    let e = Escalator::new(EscalatorConfig {
        notify: site.notify.clone(),
        channel_rules: vec![ChannelRule::il_failures()],
        ..EscalatorConfig::default()
    });
    assert_eq!(e.check(&["health.camera_down", "alarm.raised"]), vec![]);
    let mut notify = site.notify;
    for c in &mut notify.chains {
        for s in &mut c.steps {
            s.channel = Channel::Email;
        }
    }
    let e = Escalator::new(EscalatorConfig {
        notify,
        channel_rules: vec![ChannelRule::il_failures()],
        ..EscalatorConfig::default()
    });
    assert!(!e.check(&["health.camera_down"]).is_empty());
}

proptest! {
    #[test]
    fn never_panics_on_odd_input(
        kind in "[a-z.*_]{0,12}",
        time_ms in any::<i64>(),
        now_ms in any::<i64>(),
        later in any::<i64>(),
        after_s in any::<u32>(),
        visibility in proptest::option::of("[a-z]{0,10}"),
    ) {
        let mut cfg = config();
        cfg.notify.chains.push(Chain {
            id: "any".into(),
            applies_to: vec!["*".into(), kind.clone()],
            steps: vec![step("manager", Channel::Sms, after_s)],
        });
        let mut e = Escalator::new(cfg);
        let mut f = Fact::new(kind, Actor::System, time_ms);
        if let Some(v) = visibility { f = f.with(VISIBILITY_KEY, v); }
        let out = e.trigger(&f, now_ms);
        let _ = e.tick(later);
        let _ = e.next_due_ms();
        if let Some(id) = out.incident_id {
            let _ = e.acknowledge(&id, "u", later);
            prop_assert!(e.tick(i64::MAX).is_empty());
        }
    }
}

fn arb_channel() -> impl Strategy<Value = Channel> {
    prop_oneof![
        Just(Channel::Sms),
        Just(Channel::Voice),
        Just(Channel::Email)
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Trigger { kind: u8, actor: u8, silent: bool },
    Ack { which: u8 },
    Advance { ms: u32 },
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4, 0u8..3, any::<bool>()).prop_map(|(kind, actor, silent)| Op::Trigger {
            kind,
            actor,
            silent
        }),
        any::<u8>().prop_map(|which| Op::Ack { which }),
        (0u32..300_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

proptest! {
    #[test]
    fn engine_invariants(
        steps in proptest::collection::vec((0usize..5, arb_channel(), 0u32..400), 0..8),
        ops in proptest::collection::vec(arb_op(), 0..60),
    ) {
        let ids = ["manager", "owner", "monitor", "psap", "ghost"];
        let mut cfg = config();
        cfg.notify.chains.push(Chain {
            id: "random".into(),
            applies_to: vec!["*".into()],
            steps: steps.iter().map(|(c, ch, a)| step(ids[*c], *ch, *a)).collect(),
        });
        let monitoring = cfg.monitoring_contacts.clone();
        let mut e = Escalator::new(cfg);
        let kinds = ["alarm.raised", "health.camera_down", "door.forced", "alarm.duress"];
        let mut now: i64 = 1_000;
        let mut opened: Vec<String> = Vec::new();
        let mut acked: BTreeMap<String, i64> = BTreeMap::new();
        let mut last_due: BTreeMap<String, i64> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Trigger { kind, actor, silent } => {
                    let mut f = Fact::new(kinds[kind as usize], Actor::Device(format!("d{actor}")), now - 10);
                    if silent { f = f.with(VISIBILITY_KEY, VISIBILITY_MONITORING); }
                    if let Some(id) = e.trigger(&f, now).incident_id { opened.push(id); }
                }
                Op::Ack { which } => {
                    if !opened.is_empty() {
                        let id = opened[which as usize % opened.len()].clone();
                        if e.acknowledge(&id, "user:x", now).is_ok() {
                            prop_assert!(acked.insert(id, now).is_none());
                        }
                    }
                }
                Op::Advance { ms } => now += i64::from(ms),
            }
            for d in e.tick(now) {
                // Due, never early.
                prop_assert!(d.due_ms <= now);
                // Never after an acknowledgment.
                prop_assert!(!acked.contains_key(&d.incident_id));
                // Silent alarms only to monitoring contacts.
                if d.silent { prop_assert!(monitoring.contains(&d.contact)); }
                // IL: failures never by email.
                if d.trigger_kind.starts_with("health.") { prop_assert!(d.channel != Channel::Email); }
                // In order within an incident.
                let prev = last_due.insert(d.incident_id.clone(), d.due_ms);
                prop_assert!(prev.is_none_or(|p| p <= d.due_ms));
                prop_assert!(d.due_ms >= d.triggered_ms);
            }
            if let Some(n) = e.next_due_ms() { prop_assert!(n > now); }
        }
    }
}

fn camera(kind: &str, cam: &str, t: i64) -> Fact {
    Fact::new(kind, Actor::System, t).with("device", cam)
}

/// Each failure after a restore is a new episode, notified like the first; each restore is
/// notified to the people the failure reached.
#[test]
fn ten_outages_give_ten_failure_and_ten_restore_notices() {
    let mut e = Escalator::new(config());
    let mut downs = 0;
    let mut restores = 0;
    let mut incidents = BTreeSet::new();
    for i in 0..10 {
        let t = 1_000_000 + i * 60_000;
        let out = e.trigger(&camera("health.camera_down", "cam1", t), t);
        assert!(out.opened, "outage {i} opened an episode");
        incidents.insert(out.incident_id.expect("incident"));
        let sent = e.tick(t);
        assert_eq!(sent.len(), 1, "manager SMS at once: {sent:?}");
        assert!(sent[0].message.contains("cam1"), "{}", sent[0].message);
        downs += sent.len();
        let up = e.trigger(&camera("health.camera_up", "cam1", t + 20_000), t + 20_000);
        assert!(up.restored && up.scheduled == 1, "{up:?}");
        let sent = e.tick(t + 20_000);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].contact, "manager");
        assert!(
            sent[0].message.contains("RESTORED cam1"),
            "{}",
            sent[0].message
        );
        assert!(sent[0].id.contains("restored"), "{}", sent[0].id);
        restores += sent.len();
    }
    assert_eq!((downs, restores, incidents.len()), (10, 10, 10));
    // The owner's 120 s step of each outage was dropped by its restore.
    assert!(e.tick(i64::MAX / 2).is_empty());
}

/// Inside one episode a repeated report joins it; an acknowledgment does not end the episode, the
/// restore does (and is still told).
#[test]
fn an_episode_dedupes_until_restored_even_when_acknowledged() {
    let mut e = Escalator::new(config());
    let first = e.trigger(&camera("health.camera_down", "cam2", 1_000), 1_000);
    let id = first.incident_id.clone().expect("incident");
    assert_eq!(e.tick(1_000).len(), 1);
    let again = e.trigger(&camera("health.camera_down", "cam2", 5_000), 5_000);
    assert!(!again.opened);
    assert_eq!(again.incident_id.as_deref(), Some(id.as_str()));
    e.acknowledge(&id, "user:mgr", 6_000).expect("ack");
    let again = e.trigger(&camera("health.camera_down", "cam2", 7_000), 7_000);
    assert!(!again.opened, "acknowledged, still down: same episode");
    // Another camera is its own episode.
    assert!(
        e.trigger(&camera("health.camera_down", "cam3", 7_000), 7_000)
            .opened
    );
    let up = e.trigger(&camera("health.camera_up", "cam2", 9_000), 9_000);
    assert!(up.restored);
    let sent = e.tick(9_000);
    assert!(
        sent.iter()
            .any(|d| d.id.starts_with(&id) && d.message.contains("RESTORED cam2")),
        "{sent:?}"
    );
    // A restore with no episode in progress notifies nobody; the next failure is new.
    let stray = e.trigger(&camera("health.camera_up", "cam2", 10_000), 10_000);
    assert!(stray.incident_id.is_none() && stray.scheduled == 0);
    assert!(
        e.trigger(&camera("health.camera_down", "cam2", 11_000), 11_000)
            .opened
    );
}

/// The SMS names the device and gives the site's local time with its zone.
#[test]
fn failure_sms_names_the_device_in_local_time() {
    let mut e = Escalator::new(config());
    // 2026-12-03 15:38:05 UTC = 09:38:05 CST.
    let t = 1_796_312_285_000;
    e.trigger(
        &camera("health.camera_down", "cam-vault", t).with("name", "Vault camera"),
        t,
    );
    let sms = e.tick(t);
    let m = &sms[0].message;
    assert!(m.contains("Vault camera"), "{m}");
    assert!(m.contains("2026-12-03 09:38:05 CST"), "{m}");
    assert!(m.chars().count() <= 320);
    // A fact with only the device id: the site file's name and the id.
    e.trigger(&camera("health.camera_down", "cam-lobby", t), t);
    let sms = e.tick(t);
    assert!(
        sms[0].message.contains("Lobby camera (cam-lobby)"),
        "{}",
        sms[0].message
    );
}

proptest! {
    /// Any run of failures and restores over a few devices: an episode opens exactly on a
    /// device's first failure and on each failure after a restore; restores are notified exactly
    /// when an episode was in progress.
    #[test]
    fn episodes_follow_the_device_state(ops in proptest::collection::vec((0usize..3, any::<bool>()), 0..80)) {
        let mut e = Escalator::new(config());
        let mut down = [false; 3];
        for (i, (dev, fail)) in ops.into_iter().enumerate() {
            let t = 1_000 + i64::try_from(i).unwrap_or(0) * 1_000;
            let kind = if fail { "health.camera_down" } else { "health.camera_up" };
            let out = e.trigger(&camera(kind, &format!("cam{dev}"), t), t);
            let sent = e.tick(t);
            if fail {
                prop_assert_eq!(out.opened, !down[dev]);
                prop_assert_eq!(sent.len(), usize::from(!down[dev]));
                down[dev] = true;
            } else {
                prop_assert_eq!(out.restored, down[dev]);
                prop_assert_eq!(sent.len(), usize::from(down[dev]));
                down[dev] = false;
            }
        }
    }
}

/// After a restart, an acknowledged failure is rebuilt without sending anything again; its
/// restore still reaches the person the failure reached.
#[test]
fn an_acknowledged_failure_replayed_after_a_restart_still_gets_its_restore_notice() {
    let down = camera("health.camera_down", "cam4", 1_000);
    let mut before = Escalator::new(config());
    before.trigger(&down, 1_000);
    let first = before.tick(1_000);
    assert_eq!(first.len(), 1);
    let mut after = Escalator::new(config());
    let out = after.replay_acknowledged(&down, 1_000, "user:mgr", 5_000);
    assert!(out.opened);
    assert!(after.tick(10_000_000).is_empty(), "nothing sent again");
    let up = after.trigger(&camera("health.camera_up", "cam4", 20_000_000), 20_000_000);
    assert!(up.restored && up.scheduled == 1);
    let sent = after.tick(20_000_000);
    assert_eq!(sent[0].contact, first[0].contact);
    assert!(sent[0].message.contains("RESTORED"));
}

/// The SMS's short code names the incident; resolve prefers the unacknowledged one.
#[test]
fn short_codes_resolve_to_incidents() {
    let mut e = Escalator::new(config());
    let out = e.trigger(&camera("health.camera_down", "cam5", 1_000), 1_000);
    let id = out.incident_id.expect("incident");
    let sms = e.tick(1_000);
    let code = short_code(&id);
    assert_eq!(code.len(), 6);
    assert!(
        sms[0].message.contains(&format!("code {code}")),
        "{}",
        sms[0].message
    );
    assert_eq!(e.resolve(&code.to_ascii_lowercase()), Some(id.clone()));
    assert_eq!(e.resolve(&id), Some(id.clone()));
    assert_eq!(e.resolve("ZZZZZZ"), None);
    let views = e.incidents();
    assert_eq!(views[0].code, code);
    assert!(views[0].failure_ongoing);
    assert!(views[0].source.contains("cam5"));
}
