//! Unit tests of the alarm state machine: arming, delays, 24-hour zones, duress, silent vs
//! audible, panel codes, auto-arm across DST, supervision, drills, and the property that the model
//! never panics and its facts rebuild the live queue.
use super::*;
use crate::queue::{AlarmQueue, Outcome};
use crate::signal::{contact_id, sia_dcs};
use jiff::Timestamp;
use strongroom_domain::site::{DEMO_SITE_TOML, SiteConfig};

fn site_cfg(text: &str) -> AlarmConfig {
    let site = SiteConfig::parse("demo.toml", text).expect("site parses");
    AlarmConfig::from_site(&site).expect("converts")
}

fn cfg() -> AlarmConfig {
    site_cfg(DEMO_SITE_TOML)
}

fn ms(s: &str) -> i64 {
    s.parse::<Timestamp>().expect("timestamp").as_millisecond()
}

/// Monday 2026-11-23 22:00 CST: after closing (21:00), before auto-arm (21:30).
fn night() -> i64 {
    ms("2026-11-24T04:00:00Z")
}

/// Monday 2026-11-23 12:00 CST: open.
fn noon() -> i64 {
    ms("2026-11-23T18:00:00Z")
}

fn cmd(method: ArmMethod, code: CodeKind) -> ArmCommand {
    ArmCommand {
        partition: Some(1),
        method,
        actor: Actor::Person("agent-7".into()),
        code,
        device: Some("r-barrier".into()),
    }
}

fn sensor(id: &str, kind: SignalKind, t: i64) -> Input {
    Input::Signal(ZoneSignal::for_sensor(id, kind, t))
}

/// `sys` handles a signal from sensor `id` at the signal's own time `t`.
fn signal(sys: &mut AlarmSystem, id: &str, kind: SignalKind, t: i64) -> Vec<Fact> {
    sys.handle(sensor(id, kind, t), t)
}

fn kinds_of(facts: &[Fact]) -> Vec<&str> {
    facts.iter().map(|f| f.kind.as_str()).collect()
}

fn raised(facts: &[Fact]) -> Vec<&Fact> {
    facts
        .iter()
        .filter(|f| f.kind == kinds::ALARM_RAISED)
        .collect()
}

#[test]
fn arm_away_exit_delay_then_entry_delay_then_alarm() {
    let mut sys = AlarmSystem::new(cfg(), night());
    let t0 = night();
    let f = sys.handle(
        Input::Arm(cmd(ArmMethod::Keypad, CodeKind::Normal), ArmMode::Away),
        t0,
    );
    assert_eq!(kinds_of(&f), vec![kinds::ARMED]);
    assert_eq!(f[0].payload["exit_ends_ms"], t0 + 60_000);
    assert_eq!(f[0].payload["method"], "keypad");
    assert_eq!(sys.state(1), Some(ArmState::Away));

    // Leaving through the front door during the exit delay: nothing.
    assert!(signal(&mut sys, "z-front", SignalKind::Alarm, t0 + 10_000).is_empty());
    assert!(signal(&mut sys, "z-front", SignalKind::Restore, t0 + 12_000).is_empty());
    assert!(signal(&mut sys, "z-motion-sales", SignalKind::Alarm, t0 + 5_000).is_empty());
    signal(&mut sys, "z-motion-sales", SignalKind::Restore, t0 + 6_000);

    // Someone comes in after the exit delay: entry delay.
    let t1 = t0 + 120_000;
    let f = signal(&mut sys, "z-front", SignalKind::Alarm, t1);
    assert_eq!(kinds_of(&f), vec![kinds::ENTRY_DELAY_STARTED]);
    assert_eq!(f[0].payload["ends_ms"], t1 + 30_000);
    // Motion follows the entry route.
    assert!(signal(&mut sys, "z-motion-sales", SignalKind::Alarm, t1 + 3_000).is_empty());
    assert!(raised(&sys.handle(Input::Tick, t1 + 29_999)).is_empty());
    let f = sys.handle(Input::Tick, t1 + 30_000);
    let r = raised(&f);
    assert_eq!(r.len(), 1, "{f:?}");
    let p = &r[0].payload;
    assert_eq!(p["alarm_type"], "intrusion");
    assert_eq!(p["sensor"], "z-front");
    assert_eq!(p["audible"], true);
    assert_eq!(p["visibility"], "all");
    assert_eq!(p["after_hours"], true);
    assert_eq!(p["dispatch_required"], true);
    assert_eq!(p["onset_ms"], t1);
    // The door closes: restore of that alarm.
    let f = signal(&mut sys, "z-front", SignalKind::Restore, t1 + 40_000);
    assert_eq!(kinds_of(&f), vec![kinds::ALARM_RESTORED]);
    assert_eq!(f[0].payload["alarm_id"], p["alarm_id"]);
}

#[test]
fn door_left_open_after_the_exit_delay_starts_the_entry_delay() {
    let t0 = night();
    let mut sys = AlarmSystem::new(cfg(), t0);
    sys.handle(
        Input::Arm(cmd(ArmMethod::Keypad, CodeKind::Normal), ArmMode::Away),
        t0,
    );
    assert!(signal(&mut sys, "z-delivery", SignalKind::Alarm, t0 + 5_000).is_empty());
    assert!(sys.handle(Input::Tick, t0 + 59_000).is_empty());
    let f = sys.handle(Input::Tick, t0 + 60_000);
    assert_eq!(kinds_of(&f), vec![kinds::ENTRY_DELAY_STARTED]);
    assert_eq!(f[0].payload["sensor"], "z-delivery");
    let f = sys.handle(Input::Tick, t0 + 90_000);
    assert_eq!(raised(&f).len(), 1);
    assert!(
        raised(&sys.handle(Input::Tick, t0 + 200_000)).is_empty(),
        "checked once"
    );
}

#[test]
fn disarm_within_entry_delay_raises_nothing() {
    let mut sys = AlarmSystem::new(cfg(), night());
    let t0 = night();
    sys.handle(
        Input::Arm(cmd(ArmMethod::Api, CodeKind::Normal), ArmMode::Away),
        t0,
    );
    let t1 = t0 + 100_000;
    signal(&mut sys, "z-front", SignalKind::Alarm, t1);
    let f = sys.handle(
        Input::Disarm(cmd(ArmMethod::Keypad, CodeKind::Normal)),
        t1 + 20_000,
    );
    assert_eq!(kinds_of(&f), vec![kinds::DISARMED]);
    assert!(raised(&sys.handle(Input::Tick, t1 + 60_000)).is_empty());
}

#[test]
fn motion_instant_in_away_ignored_in_stay_glass_instant_in_stay() {
    let t0 = night();
    let mut away = AlarmSystem::new(cfg(), t0);
    away.handle(
        Input::Arm(cmd(ArmMethod::Keypad, CodeKind::Normal), ArmMode::Away),
        t0,
    );
    let t1 = t0 + 61_000;
    let f = signal(&mut away, "z-motion-sales", SignalKind::Alarm, t1);
    assert_eq!(raised(&f).len(), 1);
    // Repeats of an active zone do not raise again.
    assert!(signal(&mut away, "z-motion-sales", SignalKind::Alarm, t1 + 1).is_empty());

    let mut stay = AlarmSystem::new(cfg(), t0);
    stay.handle(
        Input::Arm(cmd(ArmMethod::Keypad, CodeKind::Normal), ArmMode::Stay),
        t0,
    );
    assert!(signal(&mut stay, "z-motion-sales", SignalKind::Alarm, t1).is_empty());
    let f = signal(&mut stay, "z-glass", SignalKind::Alarm, t1);
    assert_eq!(raised(&f).len(), 1);
    assert_eq!(raised(&f)[0].payload["arming_state"], "stay");
    let f = signal(&mut stay, "z-delivery", SignalKind::Alarm, t1);
    assert_eq!(kinds_of(&f), vec![kinds::ENTRY_DELAY_STARTED]);
}

#[test]
fn disarmed_intrusion_zones_are_quiet_but_24_hour_zones_are_not() {
    let t = noon();
    let mut sys = AlarmSystem::new(cfg(), t);
    assert!(signal(&mut sys, "z-front", SignalKind::Alarm, t).is_empty());
    assert!(signal(&mut sys, "z-motion-sales", SignalKind::Alarm, t).is_empty());
    let f = signal(&mut sys, "z-vault-wall", SignalKind::Alarm, t);
    assert_eq!(raised(&f)[0].payload["alarm_type"], "vault");
    assert_eq!(raised(&f)[0].payload["after_hours"], false);

    let f = signal(&mut sys, "panic-pos", SignalKind::Alarm, t);
    let p = &raised(&f)[0].payload;
    assert_eq!(p["alarm_type"], "panic");
    assert_eq!(p["audible"], true, "OH (E)(9): panic is audible");
    assert_eq!(p["visibility"], "all");

    let f = signal(&mut sys, "holdup-pos", SignalKind::Alarm, t);
    let p = &raised(&f)[0].payload;
    assert_eq!(p["alarm_type"], "holdup");
    assert_eq!(p["audible"], false, "OH (E)(10): holdup is silent");
    assert_eq!(p["visibility"], "monitoring");
    assert_eq!(p["dispatch_required"], true);
    let holdup_id = p["alarm_id"].clone();
    // The raw press journaled by the server is as hidden as the alarm.
    let press = ZoneSignal::for_sensor("holdup-pos", SignalKind::Alarm, t);
    assert_eq!(sys.signal_fact(&press).payload["visibility"], "monitoring");
    let press = ZoneSignal::for_sensor("panic-pos", SignalKind::Alarm, t);
    assert_eq!(sys.signal_fact(&press).payload["visibility"], "all");

    // Disarming (even when armed) silences none of them: the queue still holds all three.
    sys.handle(
        Input::Arm(cmd(ArmMethod::Keypad, CodeKind::Normal), ArmMode::Away),
        t,
    );
    let f = sys.handle(
        Input::Disarm(cmd(ArmMethod::Keypad, CodeKind::Normal)),
        t + 1,
    );
    assert_eq!(kinds_of(&f), vec![kinds::DISARMED]);
    // The holdup restore is as silent as the holdup.
    let f = signal(&mut sys, "holdup-pos", SignalKind::Restore, t + 2);
    assert_eq!(f[0].payload["alarm_id"], holdup_id);
    assert_eq!(f[0].payload["visibility"], "monitoring");
    assert_eq!(f[0].payload["audible"], false);
}

#[test]
fn duress_disarm_looks_normal_and_raises_a_silent_alarm() {
    let t0 = night();
    let arm = Input::Arm(cmd(ArmMethod::Keypad, CodeKind::Normal), ArmMode::Away);
    let mut normal = AlarmSystem::new(cfg(), t0);
    let mut forced = AlarmSystem::new(cfg(), t0);
    normal.handle(arm.clone(), t0);
    forced.handle(arm, t0);
    let t1 = t0 + 300_000;
    let n = normal.handle(Input::Disarm(cmd(ArmMethod::Keypad, CodeKind::Normal)), t1);
    let d = forced.handle(Input::Disarm(cmd(ArmMethod::Keypad, CodeKind::Duress)), t1);
    let shown: Vec<&Fact> = d
        .iter()
        .filter(|f| f.payload.get("visibility").and_then(|v| v.as_str()) != Some("monitoring"))
        .collect();
    assert_eq!(shown, n.iter().collect::<Vec<_>>(), "keypad view identical");
    assert_eq!(forced.state(1), Some(ArmState::Disarmed));
    let r = raised(&d);
    assert_eq!(r.len(), 1);
    let p = &r[0].payload;
    assert_eq!(p["alarm_type"], "duress");
    assert_eq!(p["audible"], false);
    assert_eq!(p["visibility"], "monitoring");
    assert_eq!(p["dispatch_required"], true);
    assert_eq!(r[0].actor, Actor::Person("agent-7".into()));

    // At any arming point: arming with a duress code arms and raises it too.
    let mut sys = AlarmSystem::new(cfg(), t0);
    let f = sys.handle(
        Input::Arm(cmd(ArmMethod::Reader, CodeKind::Duress), ArmMode::Away),
        t0,
    );
    assert_eq!(kinds_of(&f), vec![kinds::ARMED, kinds::ALARM_RAISED]);
    // And from the panel's own duress report (Contact ID 121, user 4 in the zone field).
    let mut s = ZoneSignal::new("panel-1", 4, SignalKind::Alarm, t0);
    s = s.with_mapping(contact_id(121, false, 4).expect("121"));
    let f = sys.handle(Input::Signal(s), t0);
    assert_eq!(raised(&f)[0].payload["alarm_type"], "duress");
    assert_eq!(raised(&f)[0].payload["visibility"], "monitoring");
    assert_eq!(
        raised(&f)[0].payload["sensor"],
        serde_json::Value::Null,
        "user 4 is not zone 4 (the vault wall)"
    );
}

#[test]
fn panel_codes_drive_the_model() {
    let t = night();
    let mut sys = AlarmSystem::new(cfg(), t);
    let panel = |code: u16, restore: bool, zone: u16, t: i64| {
        let mut s = ZoneSignal::new("panel-1", zone, SignalKind::Alarm, t);
        s.code = Some(format!("{}{code}", if restore { 'R' } else { 'E' }));
        Input::Signal(s.with_mapping(contact_id(code, restore, zone).expect("known code")))
    };
    // 403 closing by user 2 arms away; 401 opening disarms.
    let f = sys.handle(panel(401, true, 2, t), t);
    assert_eq!(kinds_of(&f), vec![kinds::ARMED]);
    assert_eq!(f[0].payload["panel_user"], 2);
    assert_eq!(f[0].payload["method"], "panel");
    // Zone 2 (glass break) burglary after the exit delay.
    let t1 = t + 61_000;
    let f = sys.handle(panel(130, false, 2, t1), t1);
    assert_eq!(raised(&f)[0].payload["sensor"], "z-glass");
    assert_eq!(raised(&f)[0].payload["code"], "E130");
    // 137 tamper on the motion zone is a tamper, not an intrusion.
    let f = sys.handle(panel(137, false, 3, t1), t1);
    assert_eq!(raised(&f)[0].payload["alarm_type"], "tamper");
    // Silent holdup on a zone nobody listed is still a silent holdup.
    let f = sys.handle(panel(122, false, 99, t1), t1);
    assert_eq!(raised(&f)[0].payload["alarm_type"], "holdup");
    assert_eq!(raised(&f)[0].payload["audible"], false);
    assert!(sys.handle(panel(122, false, 99, t1 + 1), t1 + 1).is_empty());
    let f = sys.handle(panel(122, true, 99, t1 + 2), t1 + 2);
    assert_eq!(kinds_of(&f), vec![kinds::ALARM_RESTORED]);
    // Burglary on an unknown zone (fail safe): the task to map it and an operator alarm
    // "unknown point", raised once until it restores, sent to dispatch.
    let f = sys.handle(panel(130, false, 42, t1), t1);
    assert_eq!(
        kinds_of(&f),
        vec![kinds::SIGNAL_UNMAPPED, kinds::ALARM_RAISED]
    );
    assert!(
        f[0].payload["task"]
            .as_str()
            .is_some_and(|t| t.contains("zone 42 of panel-1")),
        "{:?}",
        f[0].payload
    );
    let point = raised(&f)[0];
    assert_eq!(point.payload["alarm_type"], "unknown_point");
    assert_eq!(point.payload["zone"], 42);
    assert_eq!(point.payload["source"], "panel-1");
    assert_eq!(point.payload["code"], "E130");
    assert_eq!(point.payload["dispatch_required"], true);
    let again = sys.handle(panel(130, false, 42, t1 + 1), t1 + 1);
    assert_eq!(
        kinds_of(&again),
        vec![kinds::SIGNAL_UNMAPPED],
        "grouped, still recorded"
    );
    let f = sys.handle(panel(130, true, 42, t1 + 2), t1 + 2);
    assert_eq!(kinds_of(&f), vec![kinds::ALARM_RESTORED]);
    assert_eq!(f[0].payload["alarm_id"], point.payload["alarm_id"]);
    let f = sys.handle(panel(130, false, 42, t1 + 3), t1 + 3);
    assert_eq!(raised(&f).len(), 1, "after its restore, a new alarm");
    // A code no table names, from the unknown zone: alarm-class codes still raise.
    let mut odd = ZoneSignal::new("panel-1", 77, SignalKind::Alarm, t1);
    odd.code = Some("E139".into());
    let odd = odd.with_mapping(crate::signal::fallback_mapping("139", false).expect("1xx"));
    let f = sys.handle(Input::Signal(odd), t1);
    assert_eq!(raised(&f)[0].payload["alarm_type"], "unknown_point");
    // AC loss and restore with onset and outage length.
    let f = sys.handle(panel(301, false, 0, t1), t1);
    assert_eq!(kinds_of(&f), vec![kinds::AC_LOST]);
    let f = sys.handle(panel(301, true, 0, t1 + 90_000), t1 + 90_000);
    assert_eq!(f[0].payload["outage_ms"], 90_000);
    // Periodic test.
    let f = sys.handle(panel(602, false, 0, t1), t1);
    assert_eq!(kinds_of(&f), vec![kinds::TEST_RECEIVED]);
    // Opening by user 5.
    let f = sys.handle(panel(401, false, 5, t1), t1);
    assert_eq!(kinds_of(&f), vec![kinds::DISARMED]);
    // SIA DCS works the same way.
    let mut s = ZoneSignal::new("panel-1", 10, SignalKind::Alarm, t1);
    s = s.with_mapping(sia_dcs("PA", 10).expect("PA"));
    let f = sys.handle(Input::Signal(s), t1);
    assert_eq!(raised(&f)[0].payload["alarm_type"], "panic");
}

#[test]
fn bypass_ignores_intrusion_zone_until_disarm_but_not_24_hour() {
    let t = night();
    let mut sys = AlarmSystem::new(cfg(), t);
    let bypass = |zone: u16| {
        Input::Signal(
            ZoneSignal::new("panel-1", zone, SignalKind::Alarm, t)
                .with_mapping(contact_id(570, false, zone).expect("570")),
        )
    };
    let f = sys.handle(bypass(2), t);
    assert_eq!(f[0].payload["effective"], true);
    let f = sys.handle(bypass(4), t);
    assert_eq!(f[0].payload["effective"], false, "vault wall is 24-hour");
    sys.handle(
        Input::Arm(cmd(ArmMethod::Keypad, CodeKind::Normal), ArmMode::Away),
        t,
    );
    let t1 = t + 61_000;
    assert!(raised(&signal(&mut sys, "z-glass", SignalKind::Alarm, t1)).is_empty());
    assert_eq!(
        raised(&signal(&mut sys, "z-vault-wall", SignalKind::Alarm, t1)).len(),
        1
    );
}

#[test]
fn shunted_vault_door_is_quiet_until_the_shunt_ends() {
    let t = noon();
    let mut sys = AlarmSystem::new(cfg(), t);
    let f = sys.handle(
        Input::Shunt {
            sensor: "z-vault-door".into(),
            until_ms: t + 60_000,
            actor: Actor::System,
        },
        t,
    );
    assert_eq!(kinds_of(&f), vec![kinds::ZONE_SHUNTED]);
    assert!(signal(&mut sys, "z-vault-door", SignalKind::Alarm, t + 1_000).is_empty());
    signal(&mut sys, "z-vault-door", SignalKind::Restore, t + 30_000);
    let f = signal(&mut sys, "z-vault-door", SignalKind::Alarm, t + 61_000);
    assert_eq!(raised(&f).len(), 1);
    let f = sys.handle(
        Input::Shunt {
            sensor: "holdup-pos".into(),
            until_ms: t + 60_000,
            actor: Actor::System,
        },
        t,
    );
    assert_eq!(kinds_of(&f), vec![kinds::INPUT_REJECTED]);
}

#[test]
fn unknown_partition_is_rejected() {
    let mut sys = AlarmSystem::new(cfg(), night());
    let mut c = cmd(ArmMethod::Api, CodeKind::Normal);
    c.partition = Some(9);
    let f = sys.handle(Input::Arm(c, ArmMode::Away), night());
    assert_eq!(kinds_of(&f), vec![kinds::ARMING_REJECTED]);
}

fn local(t_ms: i64) -> String {
    Timestamp::from_millisecond(t_ms)
        .expect("ts")
        .to_zoned(jiff::tz::TimeZone::get("America/Chicago").expect("tz"))
        .strftime("%a %H:%M %Z")
        .to_string()
}

/// Ticks every minute over `[from, to)`, disarming at 10:00 local each morning (so the next
/// auto-arm has something to do); returns (local time, kind) of each scheduling fact.
fn run_days(sys: &mut AlarmSystem, from: i64, to: i64) -> Vec<(String, String)> {
    let mut got = Vec::new();
    let mut t = from;
    while t < to {
        for f in sys.handle(Input::Tick, t) {
            if matches!(
                f.kind.as_str(),
                kinds::ARMED | kinds::AUTO_ARM_WARNING | kinds::NOT_ARMED_AFTER_CLOSE
            ) {
                got.push((local(f.time_ms), f.kind.clone()));
            }
        }
        if local(t).contains(" 10:00 ") {
            sys.handle(Input::Disarm(cmd(ArmMethod::Keypad, CodeKind::Normal)), t);
        }
        t += 60_000;
    }
    got
}

#[test]
fn auto_arm_follows_local_closing_across_dst_in_chicago() {
    // Spring forward: Sunday 2026-03-08 02:00 CST -> 03:00 CDT.
    let from = ms("2026-03-07T18:00:00Z"); // Sat 12:00 CST
    let to = ms("2026-03-09T12:00:00Z");
    let mut sys = AlarmSystem::new(cfg(), from);
    let got = run_days(&mut sys, from, to);
    let want = [
        ("Sat 22:25 CST", kinds::AUTO_ARM_WARNING),
        ("Sat 22:30 CST", kinds::ARMED),
        ("Sun 18:25 CDT", kinds::AUTO_ARM_WARNING),
        ("Sun 18:30 CDT", kinds::ARMED),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(got, want);

    // Fall back: Sunday 2026-11-01 02:00 CDT -> 01:00 CST.
    let from = ms("2026-10-31T17:00:00Z"); // Sat 12:00 CDT
    let to = ms("2026-11-02T12:00:00Z");
    let mut sys = AlarmSystem::new(cfg(), from);
    let got = run_days(&mut sys, from, to);
    let times: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        times,
        vec![
            "Sat 22:25 CDT",
            "Sat 22:30 CDT",
            "Sun 18:25 CST",
            "Sun 18:30 CST"
        ]
    );
}

#[test]
fn auto_arm_facts_say_schedule_and_skip_armed_partitions() {
    let t0 = ms("2026-11-23T18:00:00Z"); // Mon 12:00 CST
    let mut sys = AlarmSystem::new(cfg(), t0);
    sys.handle(Input::Tick, t0);
    // Armed by hand before closing: no warning, no second arming.
    sys.handle(
        Input::Arm(cmd(ArmMethod::Keypad, CodeKind::Normal), ArmMode::Away),
        ms("2026-11-24T03:10:00Z"),
    );
    let mut facts = Vec::new();
    let mut t = ms("2026-11-24T03:11:00Z");
    while t < ms("2026-11-24T04:00:00Z") {
        facts.extend(sys.handle(Input::Tick, t));
        t += 30_000;
    }
    assert!(
        !facts.iter().any(|f| f.kind.starts_with("arming.")),
        "{facts:?}"
    );
}

#[test]
fn without_auto_arm_an_unarmed_site_after_close_is_reported() {
    let text = DEMO_SITE_TOML.replace("[policy]\n", "[policy]\nauto_arm_after_close_min = 0\n");
    let mut c = site_cfg(&text);
    c.auto_arm_after_close_min = None;
    let t0 = ms("2026-11-23T18:00:00Z");
    let mut sys = AlarmSystem::new(c, t0);
    sys.handle(Input::Tick, t0);
    let f = sys.handle(Input::Tick, ms("2026-11-24T03:30:00Z")); // 21:30 CST
    let arming: Vec<&str> = kinds_of(&f)
        .into_iter()
        .filter(|k| k.starts_with("arming."))
        .collect();
    assert_eq!(arming, vec![kinds::NOT_ARMED_AFTER_CLOSE]);
    assert_eq!(f[0].payload["partition"], 1);
    assert_eq!(sys.state(1), Some(ArmState::Disarmed));
}

#[test]
fn a_late_tick_after_opening_does_not_arm_an_open_store() {
    let t0 = ms("2026-11-23T18:00:00Z"); // Mon 12:00 CST
    let mut sys = AlarmSystem::new(cfg(), t0);
    sys.handle(Input::Tick, t0);
    // Next tick on Tuesday at noon (server was down overnight).
    let f = sys.handle(Input::Tick, ms("2026-11-24T18:00:00Z"));
    assert!(!f.iter().any(|f| f.kind == kinds::ARMED), "{f:?}");
    // Tuesday's closing still auto-arms.
    let f = sys.handle(Input::Tick, ms("2026-11-25T03:31:00Z"));
    assert!(f.iter().any(|f| f.kind == kinds::ARMED), "{f:?}");
}

#[test]
fn supervision_through_the_model() {
    let t0 = noon();
    let mut sys = AlarmSystem::new(cfg(), t0);
    assert!(sys.handle(Input::Tick, t0 + 90_000).is_empty());
    signal(&mut sys, "panic-pos", SignalKind::Heartbeat, t0 + 60_000);
    let f = sys.handle(Input::Tick, t0 + 121_000);
    // holdup-pos (120 s) and panel-1 (90 s) are silent; panic-pos was heard at +60 s.
    let devices: Vec<&str> = f
        .iter()
        .filter(|f| f.kind == kinds::DEVICE_SILENT)
        .filter_map(|f| f.payload["device"].as_str())
        .collect();
    assert_eq!(devices, vec!["holdup-pos", "panel-1"]);
    let f = signal(&mut sys, "holdup-pos", SignalKind::Online, t0 + 200_000);
    assert_eq!(kinds_of(&f), vec![kinds::DEVICE_RESTORED]);
    let f = signal(&mut sys, "panic-pos", SignalKind::Offline, t0 + 201_000);
    assert_eq!(kinds_of(&f), vec![kinds::DEVICE_SILENT]);
    assert_eq!(f[0].payload["reason"], "offline");
}

#[test]
fn drill_runs_end_to_end_with_response_times() {
    let t0 = noon();
    let mut sys = AlarmSystem::new(cfg(), t0);
    let mut q = AlarmQueue::new();
    let f = sys.handle(
        Input::Drill {
            sensor: "holdup-pos".into(),
            actor: Actor::User("manager".into()),
        },
        t0,
    );
    let r = raised(&f);
    assert_eq!(r[0].payload["test"], true);
    assert_eq!(
        r[0].payload["visibility"], "monitoring",
        "drills stay silent"
    );
    for x in &f {
        q.apply(x).expect("projects");
    }
    let id = r[0].payload["alarm_id"].as_str().expect("id").to_owned();
    let d = q
        .dispatched(&id, "central-station", &Actor::System, t0 + 2_000)
        .expect("dispatch");
    q.apply(&d).expect("projects");
    let a = q
        .ack(&id, &Actor::User("op".into()), true, "", t0 + 15_000)
        .expect("ack");
    q.apply(&a).expect("projects");
    for x in q
        .resolve(
            &id,
            &Actor::User("op".into()),
            true,
            Outcome::Drill,
            "ok",
            t0 + 60_000,
        )
        .expect("resolve")
    {
        q.apply(&x).expect("projects");
    }
    let rep = q.handling_report(t0, t0 + 1);
    assert_eq!(rep.len(), 1);
    assert!(rep[0].test);
    assert_eq!(rep[0].raised_to_dispatch_ms, Some(2_000));
    assert_eq!(rep[0].raised_to_ack_ms, Some(15_000));
    assert_eq!(rep[0].raised_to_resolved_ms, Some(60_000));
    let f = sys.handle(
        Input::Drill {
            sensor: "nope".into(),
            actor: Actor::System,
        },
        t0,
    );
    assert_eq!(kinds_of(&f), vec![kinds::INPUT_REJECTED]);
}

#[test]
fn recover_restores_arming_state() {
    let t0 = night();
    let mut a = AlarmSystem::new(cfg(), t0);
    let facts = a.handle(
        Input::Arm(cmd(ArmMethod::Keypad, CodeKind::Normal), ArmMode::Stay),
        t0,
    );
    let mut b = AlarmSystem::new(cfg(), t0 + 1);
    for f in &facts {
        b.recover(f);
    }
    assert_eq!(b.state(1), Some(ArmState::Stay));
}

mod props {
    //! Property tests: any sequence of inputs never panics, every fact validates, silent alarm
    //! types are never audible nor public, and the queue rebuilt from the journaled (JSON
    //! round-tripped) facts equals the live one fed fact by fact.
    use super::*;
    use proptest::prelude::*;

    const SENSORS: [&str; 9] = [
        "z-front",
        "z-glass",
        "z-motion-sales",
        "z-vault-wall",
        "z-vault-door",
        "panic-pos",
        "holdup-pos",
        "z-delivery",
        "ghost",
    ];

    #[derive(Debug, Clone)]
    enum Step {
        Sensor(usize, u8),
        Panel(u16, bool, u16),
        Arm(bool, bool, bool),
        Disarm(bool),
        Drill(usize),
        Ack(usize),
        Resolve(usize, u8),
        Tick,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..SENSORS.len(), 0u8..6).prop_map(|(s, k)| Step::Sensor(s, k)),
            (
                prop::sample::select(vec![
                    110u16, 120, 121, 122, 130, 131, 132, 137, 301, 302, 350, 401, 441, 570, 602,
                    999
                ]),
                any::<bool>(),
                0u16..12
            )
                .prop_map(|(c, r, z)| Step::Panel(c, r, z)),
            (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(a, b, c)| Step::Arm(a, b, c)),
            any::<bool>().prop_map(Step::Disarm),
            (0..SENSORS.len()).prop_map(Step::Drill),
            (0usize..8).prop_map(Step::Ack),
            (0usize..8, 0u8..3).prop_map(|(a, o)| Step::Resolve(a, o)),
            Just(Step::Tick),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn never_panics_and_queue_rebuilds(
            steps in prop::collection::vec((step(), 0i64..200_000), 1..120),
        ) {
            let mut t = ms("2026-03-07T22:00:00Z");
            let mut sys = AlarmSystem::new(cfg(), t);
            let mut live = AlarmQueue::new();
            let mut journal: Vec<Fact> = Vec::new();
            let op = Actor::User("op".into());
            for (s, dt) in steps {
                t += dt * 37;
                let facts: Vec<Fact> = match s {
                    Step::Sensor(i, k) => {
                        let kind = [
                            SignalKind::Alarm,
                            SignalKind::Restore,
                            SignalKind::Heartbeat,
                            SignalKind::Offline,
                            SignalKind::Trouble,
                            SignalKind::TroubleRestore,
                        ][usize::from(k)];
                        signal(&mut sys, SENSORS[i], kind, t)
                    }
                    Step::Panel(code, restore, zone) => {
                        let base = ZoneSignal::new("panel-1", zone, SignalKind::Alarm, t);
                        let sig = match contact_id(code, restore, zone) {
                            Some(m) => base.with_mapping(m),
                            None => base,
                        };
                        sys.handle(Input::Signal(sig), t)
                    }
                    Step::Arm(stay, duress, all) => {
                        let mut c = cmd(
                            ArmMethod::Keypad,
                            if duress { CodeKind::Duress } else { CodeKind::Normal },
                        );
                        if all { c.partition = None; }
                        let mode = if stay { ArmMode::Stay } else { ArmMode::Away };
                        sys.handle(Input::Arm(c, mode), t)
                    }
                    Step::Disarm(duress) => sys.handle(
                        Input::Disarm(cmd(
                            ArmMethod::Api,
                            if duress { CodeKind::Duress } else { CodeKind::Normal },
                        )),
                        t,
                    ),
                    Step::Drill(i) => sys.handle(
                        Input::Drill { sensor: SENSORS[i].into(), actor: op.clone() },
                        t,
                    ),
                    Step::Ack(n) => {
                        let ids: Vec<String> =
                            live.all().map(|r| r.alarm_id.clone()).collect();
                        match ids.get(n) {
                            Some(id) => live.ack(id, &op, true, "", t).into_iter().collect(),
                            None => Vec::new(),
                        }
                    }
                    Step::Resolve(n, o) => {
                        let ids: Vec<(String, bool)> =
                            live.all().map(|r| (r.alarm_id.clone(), r.test)).collect();
                        match ids.get(n) {
                            Some((id, test)) => {
                                let outcome = if *test {
                                    Outcome::Drill
                                } else if o == 0 {
                                    Outcome::Real
                                } else {
                                    Outcome::False
                                };
                                live.resolve(id, &op, true, outcome, "n", t).unwrap_or_default()
                            }
                            None => Vec::new(),
                        }
                    }
                    Step::Tick => sys.handle(Input::Tick, t),
                };
                for f in &facts {
                    prop_assert_eq!(f.validate(), Ok(()));
                    if f.kind == kinds::ALARM_RAISED {
                        let ty = f.payload["alarm_type"].as_str().unwrap_or("");
                        if ty == "holdup" || ty == "duress" {
                            prop_assert_eq!(&f.payload["audible"], &serde_json::json!(false));
                            prop_assert_eq!(&f.payload["visibility"], &serde_json::json!("monitoring"));
                        }
                    }
                    prop_assert_eq!(live.apply(f), Ok(()));
                    journal.push(f.clone());
                }
            }
            let text = serde_json::to_string(&journal).expect("serialise");
            let back: Vec<Fact> = serde_json::from_str(&text).expect("parse");
            let rebuilt = AlarmQueue::rebuild(&back);
            prop_assert_eq!(rebuilt, live.clone());
            // Every resolved alarm was acknowledged first.
            for r in live.all() {
                if r.resolved_ms.is_some() {
                    prop_assert!(r.acked_ms.is_some());
                }
            }
        }
    }
}
