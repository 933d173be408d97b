//! The alarm state machine: partitions armed away / stay / disarmed, zones, entry and exit delays,
//! 24-hour zones, duress, after-hours intrusion, auto-arm after closing, and (through
//! [`Supervisor`] and [`TroubleTracker`]) device supervision and power troubles.
//!
//! `AlarmSystem::handle(input, now_ms) -> Vec<Fact>` is a pure function of the state, the input
//! and the injected time. The server calls it for every [`ZoneSignal`], every arming command and
//! a periodic [`Input::Tick`] (once a second is plenty), journals the facts, then feeds them to
//! the [`crate::AlarmQueue`].
//!
//! Rules:
//! - 24-hour zones (vault wall and door, panic, holdup, duress, tamper, fire) raise an alarm in
//!   every arming state; disarming silences nothing and resolves nothing.
//! - Armed away: perimeter entry zones start the entry delay (`alarm.entry_delay_started`); the
//!   alarm is raised when it runs out unless the partition is disarmed first. Interior motion is
//!   instant, except while an entry delay runs (it follows the entry route). Glass break is
//!   instant.
//! - Armed stay: perimeter entry zones delay as in away, glass break is instant, motion is ignored.
//! - Exit delay: after arming, perimeter entry and motion zones are ignored until it ends; a
//!   perimeter entry zone still open when it ends starts the entry delay (door left open).
//! - Duress: a duress code at any arming point (keypad, reader, API, panel report 121) yields
//!   exactly the facts a normal code would (the keypad shows a normal disarm) plus a silent
//!   `alarm.raised` of type `duress` (`audible: false`, `visibility: "monitoring"`).
//! - After hours: every alarm raised outside operating hours carries `after_hours: true`.
//! - Auto-arm: `auto_arm_after_close_min` after each closing (site time zone), disarmed
//!   partitions arm away (method `schedule`), with an `arming.auto_arm_warning` some minutes
//!   before. Without auto-arm, a disarmed partition after closing gives
//!   `arming.not_armed_after_close` (ALM-04).
//! - A zone already in alarm does not raise again until it restores (repeats and QoS-1
//!   redeliveries are harmless).
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strongroom_domain::{Actor, Fact};

use crate::config::AlarmConfig;
use crate::facts::kinds;
use crate::schedule::{is_open_at, next_closing_after};
use crate::signal::{SignalKind, ZoneSignal};
use crate::supervision::{Supervisor, TroubleAt, TroubleKind, TroubleTracker};
use crate::zone::{Visibility, ZoneType};

/// How a partition is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmMode {
    /// Nobody inside: everything armed.
    Away,
    /// People inside: perimeter armed, interior motion ignored.
    Stay,
}

/// A partition's arming state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmState {
    /// Disarmed.
    Disarmed,
    /// Armed away.
    Away,
    /// Armed stay.
    Stay,
}

impl ArmState {
    /// Payload name.
    pub fn as_str(self) -> &'static str {
        match self {
            ArmState::Disarmed => "disarmed",
            ArmState::Away => "away",
            ArmState::Stay => "stay",
        }
    }
}

/// Where an arming command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmMethod {
    /// A keypad code.
    Keypad,
    /// A card (or card + PIN) at a reader.
    Reader,
    /// The console or HTTP API.
    Api,
    /// The auto-arm schedule.
    Schedule,
    /// The panel reported an opening or closing.
    Panel,
}

impl ArmMethod {
    /// Payload name.
    pub fn as_str(self) -> &'static str {
        match self {
            ArmMethod::Keypad => "keypad",
            ArmMethod::Reader => "reader",
            ArmMethod::Api => "api",
            ArmMethod::Schedule => "schedule",
            ArmMethod::Panel => "panel",
        }
    }
}

/// Which code the caller verified (the credential store checks the PIN against the user's normal
/// and duress codes, both hashed; this crate never sees codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// The user's normal code (or no code: schedule, panel).
    Normal,
    /// The user's duress code.
    Duress,
}

/// An arming or disarming command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmCommand {
    /// The partition, or `None` for every partition.
    pub partition: Option<u16>,
    /// Where it came from.
    pub method: ArmMethod,
    /// Who.
    pub actor: Actor,
    /// Normal or duress code.
    pub code: CodeKind,
    /// The keypad / reader / console id, if any.
    pub device: Option<String>,
}

/// An input to the alarm model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A device report.
    Signal(ZoneSignal),
    /// Arm.
    Arm(ArmCommand, ArmMode),
    /// Disarm.
    Disarm(ArmCommand),
    /// Start a drill on a sensor: raises its alarm marked `test` whatever the arming state.
    Drill {
        /// The sensor.
        sensor: String,
        /// Who started it.
        actor: Actor,
    },
    /// An authorised opening (access grant) shunts a door zone until `until_ms`.
    Shunt {
        /// The sensor (perimeter entry or vault door).
        sensor: String,
        /// Shunted until.
        until_ms: i64,
        /// Who (the access-control decision).
        actor: Actor,
    },
    /// Time passes: entry delays, auto-arm, supervision.
    Tick,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Partition {
    state: ArmState,
    exit_ends_ms: i64,
    /// The end of the exit delay has not been checked yet (a door left open starts the entry
    /// delay when the exit delay ends).
    exit_pending: bool,
    /// Running entry delay: (sensor index, started_ms, ends_ms).
    entry: Option<(usize, i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ZoneState {
    active: bool,
    /// The open alarm this zone raised, and its type.
    alarm: Option<(String, ZoneType)>,
    bypassed: bool,
    shunt_until_ms: i64,
}

/// The auto-arm plan for the next closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    close_ms: i64,
    warn_ms: i64,
    act_ms: i64,
    warned: bool,
}

/// Where an alarm comes from, for [`AlarmSystem::raise`].
struct Origin<'a> {
    sensor: Option<usize>,
    zone_type: ZoneType,
    partition: u16,
    zone: u16,
    source: &'a str,
    code: Option<&'a str>,
    test: bool,
    onset_ms: i64,
    actor: Actor,
}

/// The alarm model's state.
#[derive(Debug, Clone)]
pub struct AlarmSystem {
    cfg: AlarmConfig,
    partitions: BTreeMap<u16, Partition>,
    zones: Vec<ZoneState>,
    /// Active alarms from signals that name no configured sensor: (source, zone, type) → id.
    unmapped: BTreeMap<(String, u16, ZoneType), Option<(String, ZoneType)>>,
    supervisor: Supervisor,
    troubles: TroubleTracker,
    plan: Option<Plan>,
    seq: u64,
}

impl AlarmSystem {
    /// A system with every partition disarmed, every supervised device heard at `now_ms`.
    pub fn new(cfg: AlarmConfig, now_ms: i64) -> Self {
        let partitions = cfg
            .partitions()
            .into_iter()
            .map(|p| {
                (
                    p,
                    Partition {
                        state: ArmState::Disarmed,
                        exit_ends_ms: i64::MIN,
                        exit_pending: false,
                        entry: None,
                    },
                )
            })
            .collect();
        let zones = vec![ZoneState::default(); cfg.sensors.len()];
        let supervisor = Supervisor::from_config(&cfg, now_ms);
        AlarmSystem {
            cfg,
            partitions,
            zones,
            unmapped: BTreeMap::new(),
            supervisor,
            troubles: TroubleTracker::default(),
            plan: None,
            seq: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AlarmConfig {
        &self.cfg
    }

    /// A partition's arming state (`None` for an unknown partition).
    pub fn state(&self, partition: u16) -> Option<ArmState> {
        self.partitions.get(&partition).map(|p| p.state)
    }

    /// The supervisor (read-only).
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// Re-applies journaled arming facts after a restart, so the arming state survives (exit
    /// delays already over; entry delays are not resumed).
    pub fn recover(&mut self, fact: &Fact) {
        let Some(p) = fact
            .payload
            .get("partition")
            .and_then(serde_json::Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
        else {
            return;
        };
        let Some(part) = self.partitions.get_mut(&p) else {
            return;
        };
        match fact.kind.as_str() {
            kinds::ARMED => {
                part.state = match fact.payload.get("mode").and_then(|m| m.as_str()) {
                    Some("stay") => ArmState::Stay,
                    _ => ArmState::Away,
                };
                part.exit_ends_ms = fact
                    .payload
                    .get("exit_ends_ms")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(i64::MIN);
            }
            kinds::DISARMED => {
                part.state = ArmState::Disarmed;
                part.entry = None;
            }
            _ => {}
        }
    }

    /// Handles one input at `now_ms`; returns the facts to journal, in order.
    pub fn handle(&mut self, input: Input, now_ms: i64) -> Vec<Fact> {
        let mut out = Vec::new();
        match input {
            Input::Signal(s) => self.signal(&s, now_ms, &mut out),
            Input::Arm(cmd, mode) => self.arm(&cmd, mode, None, now_ms, &mut out),
            Input::Disarm(cmd) => self.disarm(&cmd, None, now_ms, &mut out),
            Input::Drill { sensor, actor } => match self.sensor_index(&sensor) {
                Some(i) => {
                    let s = &self.cfg.sensors[i];
                    if s.zone_type.is_supervisory() {
                        out.push(rejected("drill", &sensor, "supervisory zone", now_ms));
                    } else {
                        let origin = Origin {
                            sensor: Some(i),
                            zone_type: s.zone_type,
                            partition: s.partition,
                            zone: s.zone,
                            source: "drill",
                            code: None,
                            test: true,
                            onset_ms: now_ms,
                            actor,
                        };
                        self.raise(&origin, now_ms, &mut out);
                    }
                }
                None => out.push(rejected("drill", &sensor, "unknown sensor", now_ms)),
            },
            Input::Shunt {
                sensor,
                until_ms,
                actor,
            } => match self.sensor_index(&sensor) {
                Some(i) if self.cfg.sensors[i].zone_type.is_shuntable() => {
                    self.zones[i].shunt_until_ms = until_ms;
                    out.push(
                        Fact::new(kinds::ZONE_SHUNTED, actor, now_ms)
                            .with("sensor", sensor)
                            .with("until_ms", until_ms),
                    );
                }
                Some(_) => out.push(rejected("shunt", &sensor, "zone cannot be shunted", now_ms)),
                None => out.push(rejected("shunt", &sensor, "unknown sensor", now_ms)),
            },
            Input::Tick => self.tick(now_ms, &mut out),
        }
        out
    }

    /// The zone type a signal resolves to: the event code's category where it overrides, else
    /// the configured sensor's type, else the category.
    pub fn signal_zone_type(&self, s: &ZoneSignal) -> Option<ZoneType> {
        let configured = self.find_sensor(s).map(|i| self.cfg.sensors[i].zone_type);
        match (s.category, configured) {
            (Some(c), _) if c.overrides_configured() => Some(c),
            (_, Some(z)) => Some(z),
            (c, None) => c,
        }
    }

    /// Who may see facts about this signal (`monitoring` for holdup and duress zones).
    pub fn signal_visibility(&self, s: &ZoneSignal) -> Visibility {
        self.signal_zone_type(s)
            .map_or(Visibility::All, ZoneType::visibility)
    }

    /// The raw signal as a `device.state` fact with the right visibility: what the server
    /// journals when a sink receives a signal, before (or with) [`AlarmSystem::handle`].
    pub fn signal_fact(&self, s: &ZoneSignal) -> Fact {
        s.to_fact(self.signal_visibility(s))
    }

    fn sensor_index(&self, id: &str) -> Option<usize> {
        self.cfg.sensors.iter().position(|s| s.id == id)
    }

    fn find_sensor(&self, s: &ZoneSignal) -> Option<usize> {
        match &s.sensor {
            Some(id) => self.sensor_index(id),
            // A panel's duress report carries the user number, not a zone.
            None if s.category == Some(ZoneType::Duress) => None,
            None => self
                .cfg
                .sensors
                .iter()
                .position(|c| c.panel.as_deref() == Some(s.source.as_str()) && c.zone == s.zone),
        }
    }

    fn next_alarm_id(&mut self, now_ms: i64) -> String {
        self.seq += 1;
        format!("alm-{now_ms}-{}", self.seq)
    }

    fn signal(&mut self, s: &ZoneSignal, now_ms: i64, out: &mut Vec<Fact>) {
        let idx = self.find_sensor(s);
        let device = idx.map(|i| self.cfg.sensors[i].id.clone());
        // Supervision: anything from a device counts as hearing it, except its last will.
        for d in [Some(s.source.clone()), device.clone()]
            .into_iter()
            .flatten()
        {
            if s.kind == SignalKind::Offline {
                out.extend(self.supervisor.offline(&d, now_ms));
            } else {
                out.extend(self.supervisor.heard(&d, now_ms));
            }
            if device.as_deref() == Some(s.source.as_str()) {
                break;
            }
        }
        let zone_type = self.signal_zone_type(s);
        let visibility = zone_type.map_or(Visibility::All, ZoneType::visibility);
        let onset_ms = s.source_time_ms.unwrap_or(s.time_ms);
        let at = TroubleAt {
            source: &s.source,
            sensor: device.as_deref(),
            zone: s.zone,
            onset_ms,
        };
        match s.kind {
            SignalKind::Heartbeat | SignalKind::Online | SignalKind::Offline => {}
            SignalKind::Test => out.push(
                Fact::new(kinds::TEST_RECEIVED, signal_actor(s, &device), now_ms)
                    .with("source", s.source.clone())
                    .with("sensor", device.clone())
                    .with("zone", s.zone)
                    .with("code", s.code.clone())
                    .with("visibility", visibility.as_str()),
            ),
            SignalKind::Trouble => {
                let k = TroubleKind::from_zone_type(zone_type);
                out.extend(self.troubles.trouble(k, &at, now_ms));
            }
            SignalKind::TroubleRestore => {
                let k = TroubleKind::from_zone_type(zone_type);
                out.extend(self.troubles.restore(k, &at, now_ms));
            }
            SignalKind::Alarm | SignalKind::Restore
                if zone_type.is_some_and(ZoneType::is_supervisory) =>
            {
                let k = TroubleKind::from_zone_type(zone_type);
                if s.kind == SignalKind::Alarm {
                    out.extend(self.troubles.trouble(k, &at, now_ms));
                } else {
                    out.extend(self.troubles.restore(k, &at, now_ms));
                }
            }
            SignalKind::Alarm => match zone_type {
                None => {
                    // Fail safe: an alarm from a point the site file does not name is an
                    // operator alarm (once until it restores) plus the task to map it.
                    out.push(unmapped(s, now_ms));
                    self.zone_alarm(s, idx, ZoneType::UnknownPoint, onset_ms, now_ms, out);
                }
                Some(zt) => self.zone_alarm(s, idx, zt, onset_ms, now_ms, out),
            },
            SignalKind::Restore => self.zone_restore(s, idx, zone_type, now_ms, out),
            SignalKind::Bypass | SignalKind::Unbypass => match idx {
                None => out.push(unmapped(s, now_ms)),
                Some(i) => {
                    let sc = &self.cfg.sensors[i];
                    let bypass = s.kind == SignalKind::Bypass;
                    let effective = !sc.zone_type.is_24_hour();
                    if effective {
                        self.zones[i].bypassed = bypass;
                    }
                    let kind = if bypass {
                        kinds::ZONE_BYPASSED
                    } else {
                        kinds::ZONE_UNBYPASSED
                    };
                    out.push(
                        Fact::new(kind, signal_actor(s, &device), now_ms)
                            .with("sensor", sc.id.clone())
                            .with("zone", sc.zone)
                            .with("partition", sc.partition)
                            .with("effective", effective)
                            .with("visibility", sc.zone_type.visibility().as_str()),
                    );
                }
            },
            SignalKind::Opening { user } | SignalKind::Closing { user, .. } => {
                let cmd = ArmCommand {
                    partition: (s.partition != 0).then_some(s.partition),
                    method: ArmMethod::Panel,
                    actor: Actor::Device(s.source.clone()),
                    code: CodeKind::Normal,
                    device: Some(s.source.clone()),
                };
                match s.kind {
                    SignalKind::Closing { stay, .. } => {
                        let mode = if stay { ArmMode::Stay } else { ArmMode::Away };
                        self.arm(&cmd, mode, Some(user), now_ms, out);
                    }
                    _ => self.disarm(&cmd, Some(user), now_ms, out),
                }
            }
        }
    }

    fn zone_alarm(
        &mut self,
        s: &ZoneSignal,
        idx: Option<usize>,
        zt: ZoneType,
        onset_ms: i64,
        now_ms: i64,
        out: &mut Vec<Fact>,
    ) {
        let partition = idx.map_or(s.partition, |i| self.cfg.sensors[i].partition);
        let origin = Origin {
            sensor: idx,
            zone_type: zt,
            partition,
            zone: s.zone,
            source: &s.source,
            code: s.code.as_deref(),
            test: s.test,
            onset_ms,
            actor: Actor::Device(
                idx.map_or_else(|| s.source.clone(), |i| self.cfg.sensors[i].id.clone()),
            ),
        };
        let Some(i) = idx else {
            // No configured sensor, but the code says what it is (a holdup on an unlisted zone is
            // still a holdup): raise it once until it restores.
            let key = (s.source.clone(), s.zone, zt);
            if self.unmapped.contains_key(&key) {
                return;
            }
            let before = out.len();
            self.raise(&origin, now_ms, out);
            let id = out.get(before).and_then(alarm_id_of).map(|a| (a, zt));
            self.unmapped.insert(key, id);
            return;
        };
        if self.zones[i].active {
            return;
        }
        self.zones[i].active = true;
        let z = &self.zones[i];
        let raise_now = if s.test || zt.is_24_hour() {
            !(zt.is_shuntable() && now_ms < z.shunt_until_ms)
        } else if z.bypassed || (zt.is_shuntable() && now_ms < z.shunt_until_ms) {
            false
        } else {
            let Some(part) = self.partitions.get(&partition) else {
                return;
            };
            let in_exit = now_ms < part.exit_ends_ms;
            match (part.state, zt) {
                (ArmState::Disarmed, _) => false,
                (_, ZoneType::PerimeterEntry) if in_exit => false,
                (ArmState::Away, ZoneType::Motion) if in_exit => false,
                (ArmState::Stay, ZoneType::Motion) => false,
                (ArmState::Away, ZoneType::Motion) => part.entry.is_none(),
                (_, ZoneType::PerimeterEntry) => {
                    if part.entry.is_some() {
                        false
                    } else if self.cfg.entry_delay_s == 0 {
                        true
                    } else {
                        self.start_entry_delay(i, partition, onset_ms, now_ms, out);
                        false
                    }
                }
                _ => true,
            }
        };
        if raise_now {
            let before = out.len();
            self.raise(&origin, now_ms, out);
            self.zones[i].alarm = out.get(before).and_then(alarm_id_of).map(|a| (a, zt));
        }
    }

    fn start_entry_delay(
        &mut self,
        i: usize,
        partition: u16,
        onset_ms: i64,
        now_ms: i64,
        out: &mut Vec<Fact>,
    ) {
        let ends_ms = now_ms + i64::from(self.cfg.entry_delay_s) * 1000;
        if let Some(p) = self.partitions.get_mut(&partition) {
            p.entry = Some((i, onset_ms, ends_ms));
        }
        let sc = &self.cfg.sensors[i];
        out.push(
            Fact::new(
                kinds::ENTRY_DELAY_STARTED,
                Actor::Device(sc.id.clone()),
                now_ms,
            )
            .with("partition", partition)
            .with("sensor", sc.id.clone())
            .with("zone", sc.zone)
            .with("ends_ms", ends_ms)
            .with("audible", true)
            .with("visibility", "all"),
        );
    }

    fn zone_restore(
        &mut self,
        s: &ZoneSignal,
        idx: Option<usize>,
        zone_type: Option<ZoneType>,
        now_ms: i64,
        out: &mut Vec<Fact>,
    ) {
        let (alarm, sensor) = match (idx, zone_type) {
            (Some(i), _) => {
                self.zones[i].active = false;
                (
                    self.zones[i].alarm.take(),
                    Some(self.cfg.sensors[i].id.clone()),
                )
            }
            (None, Some(zt)) => (
                self.unmapped
                    .remove(&(s.source.clone(), s.zone, zt))
                    .flatten(),
                None,
            ),
            (None, None) => (
                self.unmapped
                    .remove(&(s.source.clone(), s.zone, ZoneType::UnknownPoint))
                    .flatten(),
                None,
            ),
        };
        if let Some((alarm_id, zt)) = alarm {
            // As silent as the alarm it restores.
            out.push(
                Fact::new(kinds::ALARM_RESTORED, signal_actor(s, &sensor), now_ms)
                    .with("alarm_id", alarm_id)
                    .with("sensor", sensor)
                    .with("zone", s.zone)
                    .with("audible", zt.audible())
                    .with("visibility", zt.visibility().as_str()),
            );
        }
    }

    fn raise(&mut self, o: &Origin<'_>, now_ms: i64, out: &mut Vec<Fact>) {
        let Some(alarm_type) = o.zone_type.alarm_type() else {
            return;
        };
        let alarm_id = self.next_alarm_id(now_ms);
        let sc = o.sensor.map(|i| &self.cfg.sensors[i]);
        let arming = self
            .partitions
            .get(&o.partition)
            .map_or("unknown", |p| p.state.as_str());
        out.push(
            Fact::new(kinds::ALARM_RAISED, o.actor.clone(), now_ms)
                .with("alarm_id", alarm_id)
                .with("alarm_type", alarm_type.as_str())
                .with("zone_type", o.zone_type.as_str())
                .with("sensor", sc.map(|s| s.id.clone()))
                .with("sensor_name", sc.map(|s| s.name.clone()))
                .with("area", sc.map(|s| s.area.clone()))
                .with("zone", sc.map_or(o.zone, |s| s.zone))
                .with("partition", o.partition)
                .with("audible", o.zone_type.audible())
                .with("visibility", o.zone_type.visibility().as_str())
                .with("dispatch_required", o.zone_type.dispatch_required())
                .with("after_hours", !is_open_at(&self.cfg, now_ms))
                .with("arming_state", arming)
                .with("test", o.test)
                .with("source", o.source)
                .with("code", o.code)
                .with("onset_ms", o.onset_ms),
        );
    }

    fn targets(&self, cmd: &ArmCommand, now_ms: i64, out: &mut Vec<Fact>) -> Vec<u16> {
        match cmd.partition {
            None => self.partitions.keys().copied().collect(),
            Some(p) if self.partitions.contains_key(&p) => vec![p],
            Some(p) => {
                out.push(
                    Fact::new(kinds::ARMING_REJECTED, cmd.actor.clone(), now_ms)
                        .with("partition", p)
                        .with("reason", "unknown partition"),
                );
                Vec::new()
            }
        }
    }

    fn duress(&mut self, cmd: &ArmCommand, partition: u16, now_ms: i64, out: &mut Vec<Fact>) {
        let origin = Origin {
            sensor: None,
            zone_type: ZoneType::Duress,
            partition,
            zone: 0,
            source: cmd.device.as_deref().unwrap_or(cmd.method.as_str()),
            code: Some("duress_code"),
            test: false,
            onset_ms: now_ms,
            actor: cmd.actor.clone(),
        };
        self.raise(&origin, now_ms, out);
    }

    fn arm(
        &mut self,
        cmd: &ArmCommand,
        mode: ArmMode,
        panel_user: Option<u16>,
        now_ms: i64,
        out: &mut Vec<Fact>,
    ) {
        let targets = self.targets(cmd, now_ms, out);
        let new_state = match mode {
            ArmMode::Away => ArmState::Away,
            ArmMode::Stay => ArmState::Stay,
        };
        let exit_ms = i64::from(self.cfg.exit_delay_s) * 1000;
        for p in &targets {
            let faulted: Vec<String> = self
                .cfg
                .sensors
                .iter()
                .zip(&self.zones)
                .filter(|(s, z)| s.partition == *p && z.active && !s.zone_type.is_supervisory())
                .map(|(s, _)| s.id.clone())
                .collect();
            let Some(part) = self.partitions.get_mut(p) else {
                continue;
            };
            if part.state == new_state {
                continue;
            }
            part.state = new_state;
            part.exit_ends_ms = now_ms + exit_ms;
            part.exit_pending = true;
            part.entry = None;
            out.push(
                Fact::new(kinds::ARMED, cmd.actor.clone(), now_ms)
                    .with("partition", *p)
                    .with("mode", new_state.as_str())
                    .with("method", cmd.method.as_str())
                    .with("device", cmd.device.clone())
                    .with("panel_user", panel_user)
                    .with("exit_delay_s", self.cfg.exit_delay_s)
                    .with("exit_ends_ms", now_ms + exit_ms)
                    .with("faulted", faulted),
            );
        }
        if cmd.code == CodeKind::Duress {
            let p = targets.first().copied().or(cmd.partition).unwrap_or(1);
            self.duress(cmd, p, now_ms, out);
        }
    }

    fn disarm(
        &mut self,
        cmd: &ArmCommand,
        panel_user: Option<u16>,
        now_ms: i64,
        out: &mut Vec<Fact>,
    ) {
        let targets = self.targets(cmd, now_ms, out);
        for p in &targets {
            let Some(part) = self.partitions.get_mut(p) else {
                continue;
            };
            if part.state == ArmState::Disarmed {
                continue;
            }
            part.state = ArmState::Disarmed;
            part.entry = None;
            for (s, z) in self.cfg.sensors.iter().zip(self.zones.iter_mut()) {
                if s.partition == *p {
                    z.bypassed = false;
                }
            }
            out.push(
                Fact::new(kinds::DISARMED, cmd.actor.clone(), now_ms)
                    .with("partition", *p)
                    .with("method", cmd.method.as_str())
                    .with("device", cmd.device.clone())
                    .with("panel_user", panel_user),
            );
        }
        if cmd.code == CodeKind::Duress {
            let p = targets.first().copied().or(cmd.partition).unwrap_or(1);
            self.duress(cmd, p, now_ms, out);
        }
    }

    fn tick(&mut self, now_ms: i64, out: &mut Vec<Fact>) {
        // Exit delays that ended with a perimeter entry zone still open: start the entry delay.
        let ended: Vec<u16> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.exit_pending && now_ms >= p.exit_ends_ms)
            .map(|(k, _)| *k)
            .collect();
        for p in ended {
            let Some(part) = self.partitions.get_mut(&p) else {
                continue;
            };
            part.exit_pending = false;
            if part.state == ArmState::Disarmed || part.entry.is_some() {
                continue;
            }
            let open = self.cfg.sensors.iter().zip(&self.zones).position(|(s, z)| {
                s.partition == p
                    && s.zone_type == ZoneType::PerimeterEntry
                    && z.active
                    && !z.bypassed
                    && now_ms >= z.shunt_until_ms
            });
            if let Some(i) = open {
                self.start_entry_delay(i, p, now_ms, now_ms, out);
            }
        }
        // Entry delays that ran out.
        let expired: Vec<(u16, usize, i64)> = self
            .partitions
            .iter()
            .filter_map(|(p, part)| match part.entry {
                Some((i, started, ends)) if now_ms >= ends && part.state != ArmState::Disarmed => {
                    Some((*p, i, started))
                }
                _ => None,
            })
            .collect();
        for (p, i, started) in expired {
            if let Some(part) = self.partitions.get_mut(&p) {
                part.entry = None;
            }
            let sc = &self.cfg.sensors[i];
            let source = sc.panel.clone().unwrap_or_else(|| sc.id.clone());
            let origin = Origin {
                sensor: Some(i),
                zone_type: sc.zone_type,
                partition: p,
                zone: sc.zone,
                source: &source,
                code: None,
                test: false,
                onset_ms: started,
                actor: Actor::Device(sc.id.clone()),
            };
            let before = out.len();
            self.raise(&origin, now_ms, out);
            // The zone may already have restored; then no restore will come for this alarm.
            if self.zones[i].active {
                let zt = self.cfg.sensors[i].zone_type;
                self.zones[i].alarm = out.get(before).and_then(alarm_id_of).map(|a| (a, zt));
            }
        }
        self.schedule(now_ms, out);
        out.extend(self.supervisor.tick(now_ms));
    }

    fn plan_after(&self, close_after_ms: i64, act_after_ms: i64) -> Option<Plan> {
        let (act_min, warn_min) = match self.cfg.auto_arm_after_close_min {
            Some(m) => (m, self.cfg.auto_arm_warning_min.min(m)),
            None => (self.cfg.not_armed_alert_after_close_min, 0),
        };
        let act_delay_ms = i64::from(act_min) * 60_000;
        let mut after = close_after_ms;
        for _ in 0..16 {
            let close_ms = next_closing_after(&self.cfg, after)?;
            let act_ms = close_ms + act_delay_ms;
            if act_ms > act_after_ms {
                return Some(Plan {
                    close_ms,
                    warn_ms: act_ms - i64::from(warn_min) * 60_000,
                    act_ms,
                    warned: false,
                });
            }
            after = close_ms;
        }
        None
    }

    fn schedule(&mut self, now_ms: i64, out: &mut Vec<Fact>) {
        if self.cfg.operating_hours.is_empty() {
            return;
        }
        let plan = match self.plan {
            Some(p) => p,
            None => match self.plan_after(now_ms - 8 * 86_400_000, now_ms) {
                Some(p) => p,
                None => return,
            },
        };
        let disarmed: Vec<u16> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.state == ArmState::Disarmed)
            .map(|(k, _)| *k)
            .collect();
        if now_ms >= plan.act_ms {
            // Still closed? (A late tick after the next opening must not arm an open store.)
            let still_closed = !is_open_at(&self.cfg, now_ms);
            if still_closed {
                match self.cfg.auto_arm_after_close_min {
                    Some(_) => {
                        let cmd = ArmCommand {
                            partition: None,
                            method: ArmMethod::Schedule,
                            actor: Actor::System,
                            code: CodeKind::Normal,
                            device: None,
                        };
                        self.arm(&cmd, ArmMode::Away, None, now_ms, out);
                    }
                    None => {
                        for p in &disarmed {
                            out.push(
                                Fact::new(kinds::NOT_ARMED_AFTER_CLOSE, Actor::System, now_ms)
                                    .with("partition", *p)
                                    .with("close_ms", plan.close_ms),
                            );
                        }
                    }
                }
            }
            self.plan = self.plan_after(plan.close_ms, now_ms);
        } else if now_ms >= plan.warn_ms && !plan.warned {
            if self.cfg.auto_arm_after_close_min.is_some() && !disarmed.is_empty() {
                out.push(
                    Fact::new(kinds::AUTO_ARM_WARNING, Actor::System, now_ms)
                        .with("partitions", disarmed)
                        .with("arm_at_ms", plan.act_ms)
                        .with("close_ms", plan.close_ms)
                        .with("audible", true)
                        .with("visibility", "all"),
                );
            }
            self.plan = Some(Plan {
                warned: true,
                ..plan
            });
        } else {
            self.plan = Some(plan);
        }
    }
}

fn alarm_id_of(f: &Fact) -> Option<String> {
    (f.kind == kinds::ALARM_RAISED)
        .then(|| f.payload.get("alarm_id")?.as_str().map(str::to_owned))
        .flatten()
}

fn signal_actor(s: &ZoneSignal, sensor: &Option<String>) -> Actor {
    Actor::Device(sensor.clone().unwrap_or_else(|| s.source.clone()))
}

fn rejected(input: &str, sensor: &str, reason: &str, now_ms: i64) -> Fact {
    Fact::new(kinds::INPUT_REJECTED, Actor::System, now_ms)
        .with("input", input)
        .with("sensor", sensor)
        .with("reason", reason)
}

fn unmapped(s: &ZoneSignal, now_ms: i64) -> Fact {
    Fact::new(
        kinds::SIGNAL_UNMAPPED,
        Actor::Device(s.source.clone()),
        now_ms,
    )
    .with("source", s.source.clone())
    .with("sensor", s.sensor.clone())
    .with("zone", s.zone)
    .with("partition", s.partition)
    .with("code", s.code.clone())
    .with(
        "signal",
        serde_json::to_value(s.kind).unwrap_or(serde_json::Value::Null),
    )
    .with(
        "task",
        format!(
            "map zone {} of {} in the site file ([[sensor]] with panel = \"{}\", zone = {})",
            s.zone, s.source, s.source, s.zone
        ),
    )
}

#[cfg(test)]
#[path = "system_tests.rs"]
mod tests;
