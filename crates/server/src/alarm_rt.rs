//! Site runtime for alarms and dispatch: the alarm model, SIA DC-09 receiver and central-station sender, MQTT sensors, notifications and escalation, the operator alarm queue.
//!
//! [`start`] runs when a site starts; [`routes`] adds this subsystem's API under
//! `/api/v1/sites/{site}/alarms/...`. The console's part lives in `assets/alarm.js`.
//!
//! Wiring (every rule lives in the library crates; this module only connects them):
//! - At start the [`AlarmSystem`] re-applies the journaled `arming.*` facts and the
//!   [`AlarmQueue`] is rebuilt from the journaled `alarm.*` facts.
//! - Every input (DC-09 signal, MQTT message, device state posted to the API, console command,
//!   the one-second tick) runs under one lock: the model computes facts, the facts are appended to
//!   the journal, and only then are they projected into the queue and is the source acknowledged
//!   (DC-09 ACK, MQTT PUBACK, HTTP response). If the journal refuses, the model is rolled back.
//! - A journal follower sees every fact of the site: access-control alarm facts become alarm
//!   records, every fact goes to the notifier (escalation chains), and alarms that need dispatch
//!   go to the central station through the DC-09 sender and its durable outbound queue.
//! - Notifications use a database outbox (the `outbox` table) so queued messages survive a
//!   restart; unacknowledged incidents are replayed at start.
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use strongroom_alarm::facts::kinds as ak;
use strongroom_alarm::mqtt::{MqttAdapter, MqttConfig};
use strongroom_alarm::{
    AlarmConfig, AlarmQueue, AlarmSystem, ArmCommand, ArmMethod, ArmMode, CodeKind, Input, Outcome,
    QueueError, SignalKind, ZoneSignal, ZoneType, event_code,
};
use strongroom_domain::auth::Permission;
use strongroom_domain::jurisdiction::Jurisdiction;
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_journal::JournalEvent;
use strongroom_notify::outbox::ItemState;
use strongroom_notify::{
    ChannelRule, Dispatcher, DispatcherConfig, Escalator, EscalatorConfig, FactSink, Notifier,
    Outbox, OutboxError, OutboxItem, Receipt, SiteIdentity,
};
use strongroom_sia::engine::AccountPolicy;
use strongroom_sia::queue::{
    AttemptOutcome, DispatchRecord, DispatchRecorder, OutboundItem, OutboundQueue, PathKind,
};
use strongroom_sia::receiver::{Receiver, ReceiverConfig};
use strongroom_sia::sender::{Sender, SenderConfig, SenderHandle, drill_signal};
use strongroom_sia::{AesKey, AlarmSignal, Protocol, Qualifier, SupervisionEvent};
use strongroom_store::{AppendError, JournalHandle, Store};
use tokio::sync::{broadcast, watch};

use crate::api::JsonBody;
use crate::auth::{Session, SiteCtx};
use crate::error::ApiError;
use crate::state::{AppState, StartCtx};

/// Kind of an operator note on an alarm.
pub const NOTE_ADDED: &str = "alarm.note_added";
/// Kind of one central-station transmission attempt (DSP-01 dispatch log).
pub const DISPATCH_ATTEMPT: &str = "dispatch.attempt";

/// Kind of the fact recorded when the DC-09 receiver cannot listen.
pub const RECEIVER_FAILED: &str = "health.alarm_receiver_failed";

/// How far back unacknowledged notification incidents are replayed at start.
const REPLAY_WINDOW_MS: i64 = 2 * 3_600_000;
/// DC-09 signals remembered for de-duplication.
const SEEN_CAPACITY: usize = 4096;
/// Longest operator note.
const MAX_NOTE_CHARS: usize = 2000;

/// Access-control fact kinds that become alarm records, with the alarm type they raise.
const ACCESS_ALARMS: &[(&str, &str)] = &[
    ("alarm.duress", "duress"),
    ("door.forced", "door_forced"),
    ("door.held_open", "door_held_open"),
    ("alarm.unknown_card_burst", "unknown_card_burst"),
    ("alarm.pin_brute_force", "keypad_lockout"),
];

/// The domain clock seen as a `sia` clock (and as a clonable domain clock for the MQTT adapter).
#[derive(Clone)]
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
}

impl strongroom_sia::clock::Clock for SharedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millisecond(self.0.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// Turns a journaled event back into its fact (`None` if the row is not a well-formed fact).
pub fn event_fact(e: &JournalEvent) -> Option<Fact> {
    // Stricter than `api::fact_of_event`: a row whose actor does not parse is skipped.
    e.actor.parse::<Actor>().ok()?;
    crate::api::fact_of_event(e)
}

/// What the console shows for one zone.
#[derive(Debug, Clone, Serialize)]
struct ZoneView {
    state: &'static str,
    since_ms: Option<i64>,
}

/// The DC-09 de-duplication key: (account, sequence, index in frame, raw payload).
type SeenKey = (String, u16, u8, String);

/// Everything that changes together, under one lock.
struct Core {
    system: AlarmSystem,
    queue: AlarmQueue,
    notes: BTreeMap<String, Vec<Value>>,
    zones: BTreeMap<String, ZoneView>,
    seen: VecDeque<SeenKey>,
    seen_set: HashSet<SeenKey>,
    /// Journal sequence numbers of access facts already turned into alarm records.
    derived: HashSet<u64>,
}

impl Core {
    fn project(&mut self, f: &Fact) {
        let _ = self.queue.apply(f);
        if f.kind == NOTE_ADDED
            && let Some(id) = f.payload.get("alarm_id").and_then(Value::as_str)
        {
            self.notes.entry(id.to_owned()).or_default().push(json!({
                "by": f.payload.get("by").cloned().unwrap_or(Value::Null),
                "note": f.payload.get("note").cloned().unwrap_or(Value::Null),
                "time_ms": f.time_ms,
            }));
        }
        if f.kind == ak::ALARM_RAISED
            && let Some(seq) = f.payload.get("source_seq").and_then(Value::as_u64)
        {
            self.derived.insert(seq);
        }
    }

    fn remember(&mut self, key: SeenKey) {
        if self.seen_set.insert(key.clone()) {
            self.seen.push_back(key);
            while self.seen.len() > SEEN_CAPACITY {
                if let Some(old) = self.seen.pop_front() {
                    self.seen_set.remove(&old);
                }
            }
        }
    }
}

/// This subsystem's per-site state, reachable as `SiteRuntime::alarm`.
pub struct AlarmRuntime {
    site_id: String,
    journal: JournalHandle,
    store: Store,
    clock: Arc<dyn Clock>,
    /// The site's sensor ids.
    sensor_ids: BTreeSet<String>,
    core: tokio::sync::Mutex<Core>,
    /// alarm id → notification incident id.
    incidents: Mutex<BTreeMap<String, String>>,
    notifier: OnceLock<Arc<Notifier<DbOutbox>>>,
    central: OnceLock<SenderHandle<DbOutbound>>,
    outbound: OnceLock<Arc<DbOutbound>>,
    /// Serialises enqueueing to the central station (the queue learns the alarm id from it).
    central_lock: tokio::sync::Mutex<()>,
    receiver: tokio::sync::Mutex<Option<Receiver>>,
    receiver_tcp: OnceLock<SocketAddr>,
    receiver_udp: OnceLock<SocketAddr>,
    stop: watch::Sender<bool>,
    /// The last journal sequence the follower handled (a restarted runtime resumes after it).
    followed_seq: std::sync::atomic::AtomicU64,
    /// Turns true when the follower has stopped (nothing more will be handled).
    follow_stopped: watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AlarmRuntime {
    /// The bound DC-09 receiver TCP address, if the site has `[alarm_receiver]`.
    pub fn receiver_tcp_addr(&self) -> Option<SocketAddr> {
        self.receiver_tcp.get().copied()
    }

    /// The bound DC-09 receiver UDP address.
    pub fn receiver_udp_addr(&self) -> Option<SocketAddr> {
        self.receiver_udp.get().copied()
    }

    /// Items waiting for the central station's ACK (`None` without `[central_station]`).
    pub async fn central_pending(&self) -> Option<usize> {
        let q = self.outbound.get()?;
        q.pending().await.ok()
    }

    /// Feeds the alarm model from another subsystem (access control: `Input::Arm` / `Input::Disarm`
    /// from a keypad or reader with the `CodeKind` its credential check found, `Input::Shunt` on a
    /// vault-door grant). The facts are journaled before this returns.
    pub async fn input(&self, input: Input) -> Result<Vec<Fact>, AppendError> {
        self.drive(input, false, None).await
    }

    /// Stops the background tasks, closes the DC-09 listeners, waits (up to `timeout`) for the
    /// journal follower to finish the event in hand, and returns the last sequence it handled:
    /// a runtime started with [`start_resuming`] from it misses no event. (After a timeout the
    /// event in hand may be handled twice; never not at all.)
    pub async fn stop_for_restart(&self, timeout: Duration) -> u64 {
        self.shutdown().await;
        let mut rx = self.follow_stopped.subscribe();
        if tokio::time::timeout(timeout, rx.wait_for(|v| *v))
            .await
            .is_err()
        {
            tracing::warn!(
                timeout_ms = timeout.as_millis(),
                "the alarm journal follower did not stop in time"
            );
        }
        self.followed_seq.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops the background tasks and closes the DC-09 listeners (tests, shutdown).
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        if let Some(r) = self.receiver.lock().await.take() {
            r.shutdown().await;
        }
    }

    /// Appends `facts` to the journal, then projects them. Nothing is projected on failure.
    async fn commit(&self, core: &mut Core, facts: Vec<Fact>) -> Result<(), AppendError> {
        if facts.is_empty() {
            return Ok(());
        }
        self.journal.append(facts.clone()).await?;
        for f in &facts {
            core.project(f);
        }
        Ok(())
    }

    /// Runs one model input under the lock: journal first, then project; rolls the model back if
    /// the journal refuses. `signal_fact` journals the raw signal too; `dedupe` skips repeats.
    async fn drive(
        &self,
        input: Input,
        journal_signal: bool,
        dedupe: Option<SeenKey>,
    ) -> Result<Vec<Fact>, AppendError> {
        let now_ms = self.clock.now_ms();
        let mut core = self.core.lock().await;
        if let Some(k) = &dedupe
            && core.seen_set.contains(k)
        {
            return Ok(Vec::new());
        }
        let backup = core.system.clone();
        let mut facts = Vec::new();
        let mut zone_update = None;
        if let Input::Signal(s) = &input {
            if journal_signal {
                facts.push(core.system.signal_fact(s));
            }
            zone_update = signal_zone(&core.system, s);
        }
        facts.extend(core.system.handle(input, now_ms));
        match self.commit(&mut core, facts.clone()).await {
            Ok(()) => {
                if let Some((sensor, state)) = zone_update {
                    core.zones.insert(
                        sensor,
                        ZoneView {
                            state,
                            since_ms: Some(now_ms),
                        },
                    );
                }
                if let Some(k) = dedupe {
                    core.remember(k);
                }
                Ok(facts)
            }
            Err(e) => {
                core.system = backup;
                Err(e)
            }
        }
    }

    /// Journals a fact that is not a model input (unmapped signal, supervision, bus status).
    async fn journal_plain(&self, facts: Vec<Fact>) -> Result<(), AppendError> {
        let mut core = self.core.lock().await;
        self.commit(&mut core, facts).await
    }

    /// One DC-09 signal from `panel`.
    async fn dc09_signal(&self, panel: &str, s: AlarmSignal) -> Result<(), AppendError> {
        let key: SeenKey = (
            s.account.to_ascii_uppercase(),
            s.seq,
            s.index_in_frame,
            s.raw.clone(),
        );
        let now_ms = self.clock.now_ms();
        let restore = s.qualifier == Qualifier::Restore;
        let number = s.zone.or(s.user).unwrap_or(0);
        let zone = u16::try_from(number).unwrap_or(u16::MAX);
        let mut z = ZoneSignal::new(panel, zone, SignalKind::Alarm, now_ms);
        z.partition = s.partition.and_then(|p| u16::try_from(p).ok()).unwrap_or(1);
        z.code = Some(match s.protocol {
            Protocol::ContactId => format!("{}{}", if restore { "R" } else { "E" }, s.code),
            Protocol::SiaDcs => s.code.clone(),
        });
        z.test = s.test;
        z.source_time_ms = s.event_time.map(|t| t.as_millisecond());
        z.seq = Some(u64::from(s.seq));
        match event_code(&s.code, restore, zone)
            .or_else(|| strongroom_alarm::signal::fallback_mapping(&s.code, restore))
        {
            Some(m) => {
                self.drive(Input::Signal(z.with_mapping(m)), true, Some(key))
                    .await?;
            }
            None => {
                let mut core = self.core.lock().await;
                if core.seen_set.contains(&key) {
                    return Ok(());
                }
                let raw = core.system.signal_fact(&z);
                let unmapped =
                    Fact::new(ak::SIGNAL_UNMAPPED, Actor::Device(panel.to_owned()), now_ms)
                        .with("source", panel)
                        .with("zone", zone)
                        .with("partition", z.partition)
                        .with("code", z.code.clone())
                        .with("account", s.account.clone());
                self.commit(&mut core, vec![raw, unmapped]).await?;
                core.remember(key);
            }
        }
        Ok(())
    }

    /// A fact reached the journal (every fact of the site passes here once, in order).
    async fn on_event(&self, ev: &JournalEvent) {
        let Some(fact) = event_fact(ev) else {
            return;
        };
        if let Some((_, alarm_type)) = ACCESS_ALARMS.iter().find(|(k, _)| *k == fact.kind)
            && let Err(e) = self.derive_access_alarm(ev.seq, &fact, alarm_type).await
        {
            tracing::error!(error = %e, "cannot journal an access alarm");
        }
        if fact.kind == strongroom_domain::fact::kinds::DEVICE_STATE
            && !fact.payload.contains_key("signal")
            && let Some(s) = self.api_signal(&fact)
            && let Err(e) = self.drive(Input::Signal(s), false, None).await
        {
            tracing::error!(error = %e, "cannot journal alarm facts for a device state");
        }
        if let Some(n) = self.notifier.get()
            && notifiable(&fact)
        {
            match n.on_fact(&fact).await {
                Ok(out) => self.link_incident(&fact, out.incident_id).await,
                Err(e) => tracing::error!(error = %e, "notifier"),
            }
        }
        if fact.kind == ak::ALARM_RAISED
            && fact
                .payload
                .get("dispatch_required")
                .and_then(Value::as_bool)
                == Some(true)
        {
            self.dispatch_central(&fact).await;
        }
    }

    /// Remembers which incident an alarm opened; acknowledges it at once if an operator already
    /// acknowledged the alarm.
    async fn link_incident(&self, fact: &Fact, incident: Option<String>) {
        let (Some(inc), Some(alarm_id)) = (
            incident,
            fact.payload.get("alarm_id").and_then(Value::as_str),
        ) else {
            return;
        };
        if fact.kind != ak::ALARM_RAISED {
            return;
        }
        lock(&self.incidents).insert(alarm_id.to_owned(), inc.clone());
        let acked_by = {
            let core = self.core.lock().await;
            core.queue
                .get(alarm_id, true)
                .and_then(|r| r.acked_ms.map(|_| r.acked_by.clone().unwrap_or_default()))
        };
        if let (Some(by), Some(n)) = (acked_by, self.notifier.get()) {
            let _ = n.acknowledge(&inc, &by).await;
        }
    }

    /// A device state posted to the API (or by the simulator) for a sensor, as a model signal.
    fn api_signal(&self, fact: &Fact) -> Option<ZoneSignal> {
        let device = fact.payload.get("device")?.as_str()?;
        let state = fact.payload.get("state")?.as_str()?;
        let (kind, category) = match state {
            "alarm" => (SignalKind::Alarm, None),
            "normal" => (SignalKind::Restore, None),
            "tamper" => (SignalKind::Alarm, Some(ZoneType::Tamper)),
            "trouble" => (SignalKind::Trouble, None),
            "online" => (SignalKind::Online, None),
            "offline" => (SignalKind::Offline, None),
            _ => return None,
        };
        if !self.sensor_ids.contains(device) {
            return None;
        }
        let mut s = ZoneSignal::for_sensor(device, kind, fact.time_ms);
        s.category = category;
        s.code = Some(format!("api:{state}"));
        Some(s)
    }

    /// Turns an access-control alarm fact into an alarm record (journaled `alarm.raised`).
    async fn derive_access_alarm(
        &self,
        seq: u64,
        fact: &Fact,
        alarm_type: &str,
    ) -> Result<(), AppendError> {
        let now_ms = self.clock.now_ms();
        let mut core = self.core.lock().await;
        if core.derived.contains(&seq) {
            return Ok(());
        }
        let p = &fact.payload;
        let get = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
        let duress = alarm_type == "duress";
        let area_kind = get("area_kind").unwrap_or_default();
        let secured = matches!(area_kind.as_str(), "vault" | "currency_safe");
        let sensor = get("door").or_else(|| get("reader"));
        let after_hours = !strongroom_alarm::schedule::is_open_at(core.system.config(), now_ms);
        let arming = core
            .system
            .state(1)
            .map_or("unknown", strongroom_alarm::system::ArmState::as_str);
        let raised = Fact::new(ak::ALARM_RAISED, fact.actor.clone(), now_ms)
            .with("alarm_id", format!("acc-{}-{seq}", self.site_id))
            .with("alarm_type", alarm_type)
            .with("zone_type", if duress { "duress" } else { "access" })
            .with("sensor", sensor.clone())
            .with("sensor_name", sensor)
            .with("area", get("area"))
            .with("zone", 0)
            .with("partition", 1)
            .with("audible", !duress)
            .with("visibility", if duress { "monitoring" } else { "all" })
            .with(
                "dispatch_required",
                duress || (alarm_type == "door_forced" && secured),
            )
            .with("after_hours", after_hours)
            .with("arming_state", arming)
            .with("test", false)
            .with("source", "access")
            .with("code", fact.kind.clone())
            .with("onset_ms", fact.time_ms)
            .with("source_seq", seq)
            .with("source_kind", fact.kind.clone());
        self.commit(&mut core, vec![raised]).await
    }

    /// Queues an alarm for the central station (drills go out as test reports).
    async fn dispatch_central(&self, fact: &Fact) {
        let (Some(handle), Some(q)) = (self.central.get(), self.outbound.get()) else {
            return;
        };
        let p = &fact.payload;
        let alarm_id = p
            .get("alarm_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let code = match p.get("alarm_type").and_then(Value::as_str).unwrap_or("") {
            "intrusion" | "door_forced" => "130",
            "vault" => "133",
            "panic" => "120",
            "holdup" => "122",
            "duress" => "121",
            "tamper" => "137",
            "fire" => "110",
            _ => "140",
        };
        let num = |k: &str| {
            p.get(k)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
        };
        let mut s = AlarmSignal::new("0", Protocol::ContactId, code, Qualifier::New);
        s.zone = Some(num("zone").unwrap_or(0).min(999));
        s.partition = Some(num("partition").unwrap_or(1).min(99));
        if p.get("test").and_then(Value::as_bool) == Some(true) {
            s = drill_signal(&s);
        }
        let _g = self.central_lock.lock().await;
        *lock(&q.next_alarm) = Some(alarm_id);
        let now = Timestamp::from_millisecond(self.clock.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH);
        if let Err(e) = handle.enqueue(s, now).await {
            tracing::error!(error = %e, "cannot queue an alarm for the central station");
        }
    }

    /// The notification incidents held (empty without notification chains).
    pub fn incidents(&self) -> Vec<strongroom_notify::escalation::IncidentView> {
        self.notifier
            .get()
            .and_then(|n| n.incidents().ok())
            .unwrap_or_default()
    }

    /// Acknowledges the incident an id or short code names, as `by` (stops its escalation; the
    /// acknowledgment is journaled as `notify.acknowledged`). `None` when no incident matches.
    pub async fn acknowledge_incident(
        &self,
        id_or_code: &str,
        by: &str,
    ) -> Option<Result<strongroom_notify::AckOutcome, strongroom_notify::NotifyError>> {
        let n = self.notifier.get()?;
        let id = n.resolve(id_or_code).ok().flatten()?;
        Some(n.acknowledge(&id, by).await)
    }

    /// Acknowledges the notification incident of an alarm (stops escalation).
    async fn ack_incident(&self, alarm_id: &str, by: &str) {
        let inc = lock(&self.incidents).get(alarm_id).cloned();
        if let (Some(inc), Some(n)) = (inc, self.notifier.get())
            && let Err(e) = n.acknowledge(&inc, by).await
        {
            tracing::debug!(error = %e, "incident acknowledgment");
        }
    }
}

/// Which sensor a signal is about, and the zone state it leaves.
fn signal_zone(system: &AlarmSystem, s: &ZoneSignal) -> Option<(String, &'static str)> {
    let sensor = match &s.sensor {
        Some(id) => id.clone(),
        None => system
            .config()
            .sensors
            .iter()
            .find(|c| c.panel.as_deref() == Some(s.source.as_str()) && c.zone == s.zone)?
            .id
            .clone(),
    };
    let state = match s.kind {
        SignalKind::Alarm if s.category == Some(ZoneType::Tamper) => "tamper",
        SignalKind::Alarm => "alarm",
        SignalKind::Restore | SignalKind::TroubleRestore | SignalKind::Unbypass => "normal",
        SignalKind::Trouble => "trouble",
        SignalKind::Bypass => "bypassed",
        SignalKind::Offline => "offline",
        SignalKind::Online => "normal",
        _ => return None,
    };
    Some((sensor, state))
}

/// Facts the escalation chains see: everything but notification facts themselves, and of the
/// alarm facts only real raised alarms (acknowledgments, notes and restores are not conditions,
/// and access-control alarm facts are represented by the `alarm.raised` derived from them).
fn notifiable(f: &Fact) -> bool {
    if f.kind.starts_with("notify.") {
        return false;
    }
    if f.kind.starts_with("alarm.") {
        return f.kind == ak::ALARM_RAISED
            && f.payload.get("test").and_then(Value::as_bool) != Some(true);
    }
    true
}

// ------------------------------------------------------------------ DC-09 and MQTT sinks

struct Dc09Sink {
    rt: Arc<AlarmRuntime>,
    /// Account (upper case) → panel id.
    panels: BTreeMap<String, String>,
}

impl strongroom_sia::receiver::SignalSink for Dc09Sink {
    async fn deliver(
        &self,
        signal: AlarmSignal,
    ) -> Result<(), strongroom_sia::receiver::SinkError> {
        let acct = signal.account.to_ascii_uppercase();
        let panel = self.panels.get(&acct).cloned().unwrap_or(acct);
        self.rt
            .dc09_signal(&panel, signal)
            .await
            .map_err(|e| strongroom_sia::receiver::SinkError(e.to_string()))
    }

    async fn supervision(
        &self,
        event: SupervisionEvent,
    ) -> Result<(), strongroom_sia::receiver::SinkError> {
        let fact = match event {
            SupervisionEvent::Failure {
                account,
                last_heard,
                detected_at,
            } => {
                let panel = self
                    .panels
                    .get(&account.to_ascii_uppercase())
                    .cloned()
                    .unwrap_or_else(|| account.clone());
                Fact::new(
                    ak::DEVICE_SILENT,
                    Actor::Device(panel.clone()),
                    detected_at.as_millisecond(),
                )
                .with("device", panel)
                .with("device_type", "panel")
                .with("account", account)
                .with("reason", "dc09_supervision")
                .with("onset_ms", last_heard.as_millisecond())
                .with("detected_ms", detected_at.as_millisecond())
            }
            SupervisionEvent::Restore { account, heard_at } => {
                let panel = self
                    .panels
                    .get(&account.to_ascii_uppercase())
                    .cloned()
                    .unwrap_or_else(|| account.clone());
                Fact::new(
                    ak::DEVICE_RESTORED,
                    Actor::Device(panel.clone()),
                    heard_at.as_millisecond(),
                )
                .with("device", panel)
                .with("device_type", "panel")
                .with("account", account)
                .with("restored_ms", heard_at.as_millisecond())
            }
        };
        self.rt
            .journal_plain(vec![fact])
            .await
            .map_err(|e| strongroom_sia::receiver::SinkError(e.to_string()))
    }
}

struct MqttSink(Arc<AlarmRuntime>);

impl strongroom_alarm::mqtt::SignalSink for MqttSink {
    async fn signal(&self, signal: ZoneSignal) -> Result<(), strongroom_alarm::mqtt::SinkError> {
        self.0
            .drive(Input::Signal(signal), true, None)
            .await
            .map(|_| ())
            .map_err(|e| strongroom_alarm::mqtt::SinkError(e.to_string()))
    }

    async fn fact(&self, fact: Fact) -> Result<(), strongroom_alarm::mqtt::SinkError> {
        self.0
            .journal_plain(vec![fact])
            .await
            .map_err(|e| strongroom_alarm::mqtt::SinkError(e.to_string()))
    }
}

// ------------------------------------------------------------------ durable notification outbox

const NOTIFY_CHANNEL: &str = "notify";
/// How long a finished outbox item stays shielded from a racing `take_due`.
const FINAL_LEASE_MS: i64 = 60_000;

/// The notification outbox on the database's `outbox` table (one row per delivery; the body is
/// the item as JSON). Leases are kept in memory, as the trait allows.
struct DbOutbox {
    store: Store,
    site: String,
    clock: Arc<dyn Clock>,
    leases: Mutex<BTreeMap<String, i64>>,
}

fn db_err(e: impl std::fmt::Display) -> OutboxError {
    OutboxError::Internal(e.to_string())
}

fn state_str(s: ItemState) -> &'static str {
    match s {
        ItemState::Pending => "pending",
        ItemState::Sent => "sent",
        ItemState::Failed => "failed",
        ItemState::Cancelled => "cancelled",
    }
}

impl DbOutbox {
    fn row_id(&self, id: &str) -> String {
        format!("{}|{id}", self.site)
    }

    async fn load(&self, id: &str) -> Result<Option<OutboxItem>, OutboxError> {
        let row = sqlx::query("SELECT body FROM outbox WHERE id = $1")
            .bind(self.row_id(id))
            .fetch_optional(self.store.pool())
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => {
                let body: String = r.try_get("body").map_err(db_err)?;
                Ok(Some(serde_json::from_str(&body).map_err(db_err)?))
            }
            None => Ok(None),
        }
    }

    async fn save(&self, item: &OutboxItem) -> Result<(), OutboxError> {
        let body = serde_json::to_string(item).map_err(db_err)?;
        sqlx::query(
            "UPDATE outbox SET body = $1, state = $2, attempts = $3, due_ms = $4, updated_ms = $5, last_error = $6 WHERE id = $7",
        )
        .bind(body)
        .bind(state_str(item.state))
        .bind(i64::from(item.attempts))
        .bind(item.next_attempt_ms)
        .bind(self.clock.now_ms())
        .bind(item.last_error.clone().unwrap_or_default())
        .bind(self.row_id(&item.delivery.id))
        .execute(self.store.pool())
        .await
        .map_err(db_err)?;
        let mut leases = lock(&self.leases);
        if item.state == ItemState::Pending {
            leases.remove(&item.delivery.id);
        } else {
            // A final item stays "leased" for a while: a `take_due` that read it as pending just
            // before this update must not send it again.
            leases.insert(
                item.delivery.id.clone(),
                FINAL_LEASE_MS.saturating_add(self.clock.now_ms()),
            );
        }
        Ok(())
    }

    async fn update(
        &self,
        id: &str,
        f: impl FnOnce(&mut OutboxItem) -> bool + Send,
    ) -> Result<(), OutboxError> {
        let mut item = self
            .load(id)
            .await?
            .ok_or_else(|| OutboxError::UnknownItem(id.to_owned()))?;
        if f(&mut item) {
            self.save(&item).await?;
        }
        Ok(())
    }

    async fn pending_rows(&self, limit: i64) -> Result<Vec<OutboxItem>, OutboxError> {
        let rows = sqlx::query(
            "SELECT body FROM outbox WHERE site_id = $1 AND channel = $2 AND state = 'pending' ORDER BY due_ms, id LIMIT $3",
        )
        .bind(self.site.as_str())
        .bind(NOTIFY_CHANNEL)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get("body").map_err(db_err)?;
                serde_json::from_str(&body).map_err(db_err)
            })
            .collect()
    }
}

impl Outbox for DbOutbox {
    async fn enqueue(&self, delivery: strongroom_notify::Delivery) -> Result<bool, OutboxError> {
        let now_ms = self.clock.now_ms();
        let item = OutboxItem {
            state: ItemState::Pending,
            attempts: 0,
            next_attempt_ms: delivery.due_ms,
            last_error: None,
            receipt: None,
            lease_until_ms: None,
            delivery,
        };
        let body = serde_json::to_string(&item).map_err(db_err)?;
        let r = sqlx::query(
            "INSERT INTO outbox (id, site_id, channel, body, state, attempts, due_ms, created_ms, updated_ms, last_error) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7, NULL) ON CONFLICT (id) DO NOTHING",
        )
        .bind(self.row_id(&item.delivery.id))
        .bind(self.site.as_str())
        .bind(NOTIFY_CHANNEL)
        .bind(body)
        .bind(item.next_attempt_ms)
        .bind(now_ms)
        .bind(now_ms)
        .execute(self.store.pool())
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn take_due(
        &self,
        now_ms: i64,
        limit: usize,
        lease_ms: i64,
    ) -> Result<Vec<OutboxItem>, OutboxError> {
        let leased = {
            let mut leases = lock(&self.leases);
            leases.retain(|_, until| *until > now_ms);
            leases.len()
        };
        let fetch = i64::try_from(limit.saturating_add(leased)).unwrap_or(i64::MAX);
        let rows = self.pending_rows(fetch).await?;
        let mut leases = lock(&self.leases);
        let mut out = Vec::new();
        for mut item in rows {
            if out.len() >= limit || item.next_attempt_ms > now_ms {
                break;
            }
            let id = item.delivery.id.clone();
            if leases.get(&id).is_some_and(|&until| until > now_ms) {
                continue;
            }
            let until = now_ms.saturating_add(lease_ms);
            leases.insert(id, until);
            item.lease_until_ms = Some(until);
            out.push(item);
        }
        Ok(out)
    }

    async fn mark_sent(
        &self,
        id: &str,
        attempts: u32,
        receipt: Receipt,
    ) -> Result<(), OutboxError> {
        self.update(id, move |i| {
            if i.state == ItemState::Sent {
                return false;
            }
            i.state = ItemState::Sent;
            i.attempts = attempts;
            i.receipt = Some(receipt);
            true
        })
        .await
    }

    async fn mark_retry(
        &self,
        id: &str,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        let error = error.to_owned();
        self.update(id, move |i| {
            if i.state != ItemState::Pending {
                return false;
            }
            i.attempts = attempts;
            i.next_attempt_ms = next_attempt_ms;
            i.last_error = Some(error);
            true
        })
        .await
    }

    async fn mark_failed(&self, id: &str, attempts: u32, error: &str) -> Result<(), OutboxError> {
        let error = error.to_owned();
        self.update(id, move |i| {
            if i.state != ItemState::Pending {
                return false;
            }
            i.state = ItemState::Failed;
            i.attempts = attempts;
            i.last_error = Some(error);
            true
        })
        .await
    }

    async fn cancel_incident(&self, incident_id: &str) -> Result<Vec<String>, OutboxError> {
        let mut ids = Vec::new();
        for mut item in self.pending_rows(i64::MAX).await? {
            if item.delivery.incident_id != incident_id {
                continue;
            }
            if lock(&self.leases).contains_key(&item.delivery.id) {
                // In flight: its outcome is recorded when the send returns.
                continue;
            }
            item.state = ItemState::Cancelled;
            self.save(&item).await?;
            ids.push(item.delivery.id.clone());
        }
        Ok(ids)
    }

    async fn next_due_ms(&self) -> Result<Option<i64>, OutboxError> {
        let rows = self.pending_rows(64).await?;
        let leases = lock(&self.leases);
        Ok(rows
            .iter()
            .map(|i| {
                leases
                    .get(&i.delivery.id)
                    .map_or(i.next_attempt_ms, |&l| l.max(i.next_attempt_ms))
            })
            .min())
    }

    async fn get(&self, id: &str) -> Result<Option<OutboxItem>, OutboxError> {
        self.load(id).await
    }
}

// ------------------------------------------------------------------ durable central-station queue

/// The DC-09 sender's outbound queue on a table of its own (`alarm_outbound`); rows are kept
/// after their ACK (`state = 'done'`) as the dispatch history.
struct DbOutbound {
    store: Store,
    site: String,
    clock: Arc<dyn Clock>,
    /// The alarm the next pushed signal belongs to (set under `AlarmRuntime::central_lock`).
    next_alarm: Mutex<Option<String>>,
    push_lock: tokio::sync::Mutex<()>,
}

#[derive(Serialize, Deserialize)]
struct StoredSignal {
    account: String,
    sia_dcs: bool,
    code: String,
    qualifier: String,
    zone: Option<u32>,
    partition: Option<u32>,
    user: Option<u32>,
    text: Option<String>,
    test: bool,
}

impl StoredSignal {
    fn from_signal(s: &AlarmSignal) -> Self {
        StoredSignal {
            account: s.account.clone(),
            sia_dcs: s.protocol == Protocol::SiaDcs,
            code: s.code.clone(),
            qualifier: match s.qualifier {
                Qualifier::New => "new",
                Qualifier::Restore => "restore",
                Qualifier::StatusRepeat => "status",
            }
            .to_owned(),
            zone: s.zone,
            partition: s.partition,
            user: s.user,
            text: s.text.clone(),
            test: s.test,
        }
    }

    fn to_signal(&self) -> AlarmSignal {
        let protocol = if self.sia_dcs {
            Protocol::SiaDcs
        } else {
            Protocol::ContactId
        };
        let q = match self.qualifier.as_str() {
            "restore" => Qualifier::Restore,
            "status" => Qualifier::StatusRepeat,
            _ => Qualifier::New,
        };
        let mut s = AlarmSignal::new(&self.account, protocol, &self.code, q);
        s.zone = self.zone;
        s.partition = self.partition;
        s.user = self.user;
        s.text = self.text.clone();
        s.test = self.test;
        s
    }
}

fn q_err(e: impl std::fmt::Display) -> strongroom_sia::queue::QueueError {
    strongroom_sia::queue::QueueError(e.to_string())
}

impl DbOutbound {
    async fn create(store: &Store) -> Result<(), sqlx::Error> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS alarm_outbound (id BIGINT PRIMARY KEY, site_id TEXT NOT NULL, alarm_id TEXT NOT NULL, signal TEXT NOT NULL, enqueued_ms BIGINT NOT NULL, state TEXT NOT NULL, done_ms BIGINT NOT NULL)",
        )
        .execute(store.pool())
        .await?;
        Ok(())
    }

    async fn alarm_of(&self, id: u64) -> Option<String> {
        let id = i64::try_from(id).ok()?;
        let row = sqlx::query("SELECT alarm_id FROM alarm_outbound WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await
            .ok()??;
        row.try_get::<String, _>("alarm_id")
            .ok()
            .filter(|s| !s.is_empty())
    }
}

impl OutboundQueue for DbOutbound {
    async fn push(
        &self,
        signal: AlarmSignal,
        at: Timestamp,
    ) -> Result<u64, strongroom_sia::queue::QueueError> {
        let _g = self.push_lock.lock().await;
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS m FROM alarm_outbound")
            .fetch_one(self.store.pool())
            .await
            .map_err(q_err)?;
        let max: i64 = row.try_get("m").map_err(q_err)?;
        let id = max.saturating_add(1);
        let alarm = lock(&self.next_alarm).take().unwrap_or_default();
        let body = serde_json::to_string(&StoredSignal::from_signal(&signal)).map_err(q_err)?;
        sqlx::query(
            "INSERT INTO alarm_outbound (id, site_id, alarm_id, signal, enqueued_ms, state, done_ms) VALUES ($1, $2, $3, $4, $5, 'pending', 0)",
        )
        .bind(id)
        .bind(self.site.as_str())
        .bind(alarm)
        .bind(body)
        .bind(at.as_millisecond())
        .execute(self.store.pool())
        .await
        .map_err(q_err)?;
        u64::try_from(id).map_err(q_err)
    }

    async fn front(&self) -> Result<Option<OutboundItem>, strongroom_sia::queue::QueueError> {
        let row = sqlx::query(
            "SELECT id, signal, enqueued_ms FROM alarm_outbound WHERE site_id = $1 AND state = 'pending' ORDER BY id LIMIT 1",
        )
        .bind(self.site.as_str())
        .fetch_optional(self.store.pool())
        .await
        .map_err(q_err)?;
        let Some(r) = row else {
            return Ok(None);
        };
        let id: i64 = r.try_get("id").map_err(q_err)?;
        let body: String = r.try_get("signal").map_err(q_err)?;
        let at: i64 = r.try_get("enqueued_ms").map_err(q_err)?;
        let stored: StoredSignal = serde_json::from_str(&body).map_err(q_err)?;
        Ok(Some(OutboundItem {
            id: u64::try_from(id).map_err(q_err)?,
            signal: stored.to_signal(),
            enqueued_at: Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH),
        }))
    }

    async fn remove(&self, id: u64) -> Result<(), strongroom_sia::queue::QueueError> {
        sqlx::query("UPDATE alarm_outbound SET state = 'done', done_ms = $1 WHERE id = $2")
            .bind(self.clock.now_ms())
            .bind(i64::try_from(id).map_err(q_err)?)
            .execute(self.store.pool())
            .await
            .map_err(q_err)?;
        Ok(())
    }

    async fn pending(&self) -> Result<usize, strongroom_sia::queue::QueueError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM alarm_outbound WHERE site_id = $1 AND state = 'pending'",
        )
        .bind(self.site.as_str())
        .fetch_one(self.store.pool())
        .await
        .map_err(q_err)?;
        let n: i64 = row.try_get("n").map_err(q_err)?;
        usize::try_from(n).map_err(q_err)
    }
}

/// Journals every central-station attempt; an ACK also records the alarm as dispatched.
struct Recorder {
    rt: Arc<AlarmRuntime>,
    queue: Arc<DbOutbound>,
}

impl DispatchRecorder for Recorder {
    async fn record(&self, r: DispatchRecord) {
        let alarm_id = self.queue.alarm_of(r.item_id).await;
        let (outcome, detail) = match &r.outcome {
            AttemptOutcome::Ack => ("ack", String::new()),
            AttemptOutcome::Nak { .. } => ("nak", String::new()),
            AttemptOutcome::Duh => ("duh", String::new()),
            AttemptOutcome::Timeout => ("timeout", String::new()),
            AttemptOutcome::Failed(e) => ("failed", e.clone()),
        };
        let mut core = self.rt.core.lock().await;
        let rec = alarm_id.as_deref().and_then(|a| core.queue.get(a, true));
        let silent = rec.is_some_and(|x| !x.visibility.visible_to(false));
        let mut attempt = Fact::new(
            DISPATCH_ATTEMPT,
            Actor::System,
            r.completed_at.as_millisecond(),
        )
        .with("item_id", r.item_id)
        .with("seq", r.seq)
        .with("account", r.account.clone())
        .with("code", r.code.clone())
        .with("original_code", r.original_code.clone())
        .with("test", r.test)
        .with("receiver", r.receiver.to_string())
        .with(
            "path",
            match r.path {
                PathKind::Primary => "primary",
                PathKind::Secondary => "secondary",
            },
        )
        .with("attempt", r.attempt)
        .with("sent_ms", r.sent_at.as_millisecond())
        .with("completed_ms", r.completed_at.as_millisecond())
        .with("outcome", outcome)
        .with("alarm_id", alarm_id.clone());
        if !detail.is_empty() {
            attempt = attempt.with("error", detail);
        }
        if silent {
            attempt = attempt.with("visibility", "monitoring");
        }
        let mut facts = vec![attempt];
        if r.outcome == AttemptOutcome::Ack
            && let Some(a) = &alarm_id
            && let Ok(f) = core.queue.dispatched(
                a,
                "central_station",
                &Actor::System,
                r.completed_at.as_millisecond(),
            )
        {
            facts.push(f);
        }
        if let Err(e) = self.rt.commit(&mut core, facts).await {
            tracing::error!(error = %e, "cannot journal a dispatch attempt");
        }
    }
}

// ------------------------------------------------------------------ start

pub(crate) fn read_key(data_dir: &std::path::Path, file: &str) -> Result<AesKey, String> {
    let path = data_dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
    AesKey::from_hex(text.trim()).map_err(|e| format!("key file {}: {e}", path.display()))
}

pub(crate) fn parse_addr(what: &str, s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("{what} {s:?} is not IP:PORT"))
}

/// Reads every journaled fact of kinds starting with `prefix`, in order.
async fn facts_of(store: &Store, site: &str, prefix: &str) -> Result<Vec<Fact>, String> {
    let evs = store
        .events_by_kind_and_time(site, prefix, i64::MIN, i64::MAX)
        .await
        .map_err(|e| e.to_string())?;
    Ok(evs.iter().filter_map(event_fact).collect())
}

/// Facts of the last `window_ms`, oldest first.
async fn recent_facts(store: &Store, site: &str, since_ms: i64) -> Result<Vec<Fact>, String> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let evs = store
            .recent_events(site, None, before, 500)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = evs.last() else { break };
        before = Some(last.seq);
        let mut done = false;
        for e in &evs {
            if e.time_ms < since_ms {
                done = true;
                break;
            }
            if let Some(f) = event_fact(e) {
                out.push(f);
            }
        }
        if done || evs.len() < 500 {
            break;
        }
    }
    out.reverse();
    Ok(out)
}

/// Starts the subsystem for one site; returns its background tasks.
pub async fn start(ctx: &StartCtx) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    start_resuming(ctx, ctx.site.config(), None).await
}

/// [`start`] on `config`; with `resume_after_seq`, the journal follower first handles every event after that
/// sequence (a runtime restarted by a reload picks up where the stopped one left off).
pub async fn start_resuming(
    ctx: &StartCtx,
    config: Arc<strongroom_domain::site::SiteConfig>,
    resume_after_seq: Option<u64>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let state = &ctx.state;
    let site = &ctx.site;
    let clock = state.clock.clone();
    let store = state.store.clone();
    let now_ms = clock.now_ms();

    // The model, with the journaled arming state; panels are supervised by the DC-09 receiver.
    let mut cfg = AlarmConfig::from_site(&config).map_err(|e| e.to_string())?;
    for v in cfg.panels.values_mut() {
        *v = None;
    }
    let mut system = AlarmSystem::new(cfg, now_ms);
    for f in facts_of(&store, &site.id, "arming.").await? {
        system.recover(&f);
    }
    let mut core = Core {
        system,
        queue: AlarmQueue::new(),
        notes: BTreeMap::new(),
        zones: BTreeMap::new(),
        seen: VecDeque::new(),
        seen_set: HashSet::new(),
        derived: HashSet::new(),
    };
    for f in facts_of(&store, &site.id, "alarm.").await? {
        core.project(&f);
    }
    for s in &core.system.config().sensors {
        core.zones.insert(
            s.id.clone(),
            ZoneView {
                state: "unknown",
                since_ms: None,
            },
        );
    }
    let (stop, stop_rx) = watch::channel(false);
    let rt = Arc::new(AlarmRuntime {
        site_id: site.id.clone(),
        journal: site.journal.clone(),
        store: store.clone(),
        clock: clock.clone(),
        sensor_ids: config.sensors.iter().map(|s| s.id.clone()).collect(),
        core: tokio::sync::Mutex::new(core),
        incidents: Mutex::new(BTreeMap::new()),
        notifier: OnceLock::new(),
        central: OnceLock::new(),
        outbound: OnceLock::new(),
        central_lock: tokio::sync::Mutex::new(()),
        receiver: tokio::sync::Mutex::new(None),
        receiver_tcp: OnceLock::new(),
        receiver_udp: OnceLock::new(),
        stop,
        followed_seq: std::sync::atomic::AtomicU64::new(0),
        follow_stopped: watch::channel(false).0,
    });
    let mut tasks = Vec::new();

    // Notifications.
    if !config.notify.chains.is_empty() {
        let notify = &config.notify;
        let token = notify
            .webhook
            .as_ref()
            .and_then(|w| w.token_env.as_ref())
            .and_then(|v| std::env::var(v).ok());
        let channels =
            strongroom_notify::channels_from_site(notify, token.as_deref(), clock.clone())
                .map_err(|e| format!("notify: {e}"))?;
        let esc_cfg = EscalatorConfig {
            notify: notify.clone(),
            channel_rules: if config.site.jurisdiction == Jurisdiction::IlDispensary {
                vec![ChannelRule::il_failures()]
            } else {
                Vec::new()
            },
            monitoring_contacts: notify
                .contacts
                .iter()
                .filter(|c| c.monitoring)
                .map(|c| c.id.clone())
                .collect(),
            site: SiteIdentity {
                name: config.site.name.clone(),
                address: config.site.address.clone(),
                timezone: config.site.timezone.clone(),
            },
            device_names: strongroom_notify::episode::device_names(&config),
            retain_ms: 0,
        };
        let escalator = Escalator::new(esc_cfg.clone());
        for issue in escalator.check(&[ak::ALARM_RAISED, ak::DEVICE_SILENT]) {
            tracing::warn!(chain = %issue.chain_id, message = %issue.message, "notify chain");
        }
        let outbox = Arc::new(DbOutbox {
            store: store.clone(),
            site: site.id.clone(),
            clock: clock.clone(),
            leases: Mutex::new(BTreeMap::new()),
        });
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Fact>();
        let sink: Arc<dyn FactSink> = Arc::new(tx);
        let dispatcher = Arc::new(Dispatcher::new(
            outbox.clone(),
            Arc::new(channels),
            sink.clone(),
            clock.clone(),
            DispatcherConfig::default(),
        ));
        let notifier = Arc::new(Notifier::new(
            escalator,
            outbox,
            sink,
            clock.clone(),
            dispatcher.waker(),
        ));
        let _ = rt.notifier.set(notifier.clone());
        // Every fact the notifier emits is journaled (notify.sent also marks the alarm dispatched).
        let rt2 = rt.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(f) = rx.recv().await {
                let mut facts = vec![f.clone()];
                let mut core = rt2.core.lock().await;
                if f.kind == "notify.sent"
                    && let Some(inc) = f.payload.get("incident_id").and_then(Value::as_str)
                {
                    let alarm = lock(&rt2.incidents)
                        .iter()
                        .find(|(_, i)| i.as_str() == inc)
                        .map(|(a, _)| a.clone());
                    let route = format!(
                        "notify:{}:{}",
                        f.payload
                            .get("channel")
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                        f.payload
                            .get("contact")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                    );
                    if let Some(a) = alarm
                        && let Ok(d) = core.queue.dispatched(&a, &route, &Actor::System, f.time_ms)
                    {
                        facts.push(d);
                    }
                }
                if let Err(e) = rt2.commit(&mut core, facts).await {
                    tracing::error!(error = %e, "cannot journal a notification fact");
                }
            }
        }));
        tasks.push(tokio::spawn(dispatcher.run(stop_rx.clone())));
        tasks.push(tokio::spawn(notifier.clone().run_timer(stop_rx.clone())));
        // Replay unacknowledged incidents of the recent past.
        let recent = recent_facts(&store, &site.id, now_ms - REPLAY_WINDOW_MS).await?;
        let acked: BTreeMap<String, (String, i64)> = recent
            .iter()
            .filter(|f| f.kind == "notify.acknowledged")
            .filter_map(|f| {
                let id = f.payload.get("incident_id")?.as_str()?.to_owned();
                let by = f.payload.get("by").and_then(Value::as_str).unwrap_or("");
                Some((id, (by.to_owned(), f.time_ms)))
            })
            .collect();
        let mut scratch = Escalator::new(esc_cfg);
        for f in recent.iter().filter(|f| notifiable(f)) {
            let out = scratch.trigger(f, f.time_ms);
            // An acknowledged failure is rebuilt without sending anything, so that its restore
            // is still notified; a restore is always replayed (the outbox drops a notice it
            // already sent).
            if !out.restored
                && let Some((by, ack_ms)) = out.incident_id.as_ref().and_then(|i| acked.get(i))
            {
                if let Err(e) = notifier.replay_acknowledged(f, f.time_ms, by, *ack_ms) {
                    tracing::error!(error = %e, "notify replay");
                }
                continue;
            }
            match notifier.replay(f, f.time_ms).await {
                Ok(out) => rt.link_incident(f, out.incident_id).await,
                Err(e) => tracing::error!(error = %e, "notify replay"),
            }
        }
    }

    // Central station.
    if let Some(cs) = &config.central_station {
        DbOutbound::create(&store)
            .await
            .map_err(|e| format!("alarm_outbound table: {e}"))?;
        let mut sc = SenderConfig::new(
            parse_addr("central_station.primary", &cs.primary)?,
            &cs.account,
        );
        sc.secondary = cs
            .secondary
            .as_deref()
            .map(|s| parse_addr("central_station.secondary", s))
            .transpose()?;
        sc.key = cs
            .key_file
            .as_deref()
            .map(|f| read_key(&ctx.data_dir, f))
            .transpose()?;
        if let Some(r) = &cs.receiver {
            sc.receiver_number = r.clone();
        }
        if let Some(l) = &cs.line {
            sc.line = l.clone();
        }
        let queue = Arc::new(DbOutbound {
            store: store.clone(),
            site: site.id.clone(),
            clock: clock.clone(),
            next_alarm: Mutex::new(None),
            push_lock: tokio::sync::Mutex::new(()),
        });
        let recorder = Arc::new(Recorder {
            rt: rt.clone(),
            queue: queue.clone(),
        });
        let sender = Sender::new(
            sc,
            queue.clone(),
            recorder,
            Arc::new(SharedClock(clock.clone())),
        );
        let _ = rt.central.set(sender.handle());
        let _ = rt.outbound.set(queue);
        tasks.push(tokio::spawn(sender.run(stop_rx.clone())));
    }

    // The journal follower (subscribe before reading the head so nothing falls in between).
    let sub = site.journal.subscribe();
    let head = store
        .journal_head(&site.id)
        .await
        .map_err(|e| e.to_string())?
        .map_or(0, |(seq, _)| seq);
    let from = resume_after_seq.map_or(head, |s| s.min(head));
    rt.followed_seq
        .store(from, std::sync::atomic::Ordering::SeqCst);
    tasks.push(tokio::spawn(follow(rt.clone(), sub, from, stop_rx.clone())));

    // DC-09 receiver.
    if let Some(ar) = &config.alarm_receiver {
        let addr = parse_addr("alarm_receiver.listen", &ar.listen)?;
        let mut accounts = Vec::new();
        let mut panels = BTreeMap::new();
        for p in &config.panels {
            accounts.push(AccountPolicy {
                account: p.account.clone(),
                key: p
                    .key_file
                    .as_deref()
                    .map(|f| read_key(&ctx.data_dir, f))
                    .transpose()?,
                supervision_interval_s: p.supervision_interval_s.map(u64::from),
            });
            panels.insert(p.account.to_ascii_uppercase(), p.id.clone());
        }
        let rc = ReceiverConfig {
            tcp_addr: Some(addr),
            udp_addr: Some(addr),
            accounts,
            ..ReceiverConfig::default()
        };
        let sink = Arc::new(Dc09Sink {
            rt: rt.clone(),
            panels,
        });
        match Receiver::start(rc, sink, Arc::new(SharedClock(clock.clone()))).await {
            Ok(receiver) => {
                if let Some(a) = receiver.tcp_addr() {
                    let _ = rt.receiver_tcp.set(a);
                }
                if let Some(a) = receiver.udp_addr() {
                    let _ = rt.receiver_udp.set(a);
                }
                *rt.receiver.lock().await = Some(receiver);
            }
            Err(e) => {
                // The rest of the site keeps running; the failure is a journaled health fact
                // (and goes to the failure chains like any other).
                tracing::error!(error = %e, "DC-09 receiver");
                rt.journal_plain(vec![
                    Fact::new(RECEIVER_FAILED, Actor::System, clock.now_ms())
                        .with("listen", ar.listen.clone())
                        .with("error", e.to_string()),
                ])
                .await
                .map_err(|e| e.to_string())?;
            }
        }
    }

    // MQTT sensors.
    if let Some(m) = MqttConfig::from_site(&config) {
        let mcfg = m.map_err(|e| e.to_string())?;
        let ids: Vec<String> = config.sensors.iter().map(|s| s.id.clone()).collect();
        let rt2 = rt.clone();
        let mut stop2 = stop_rx.clone();
        let clock2 = SharedClock(clock.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let adapter = MqttAdapter::new(
                    mcfg.clone(),
                    ids.clone(),
                    MqttSink(rt2.clone()),
                    clock2.clone(),
                );
                let mut s = stop2.clone();
                let r = adapter
                    .run(async move {
                        let _ = s.wait_for(|v| *v).await;
                    })
                    .await;
                if *stop2.borrow() {
                    break;
                }
                if let Err(e) = r {
                    tracing::error!(error = %e, "MQTT adapter stopped; restarting");
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop2.changed() => break,
                }
            }
        }));
    }

    // The one-second tick.
    let rt2 = rt.clone();
    let mut stop3 = stop_rx;
    tasks.push(tokio::spawn(async move {
        let mut iv = tokio::time::interval(Duration::from_secs(1));
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = iv.tick() => {
                    if let Err(e) = rt2.drive(Input::Tick, false, None).await {
                        tracing::error!(error = %e, "alarm tick");
                    }
                }
                _ = stop3.changed() => break,
            }
        }
    }));

    site.alarm.replace(rt);
    Ok(tasks)
}

/// Follows the site journal; catches up from the store when the live feed lags.
async fn follow(
    rt: Arc<AlarmRuntime>,
    mut rx: broadcast::Receiver<Arc<JournalEvent>>,
    mut last_seq: u64,
    mut stop: watch::Receiver<bool>,
) {
    if !*stop.borrow() {
        // Resuming after a restart: handle what the stopped runtime had not seen.
        catch_up(&rt, &mut last_seq, u64::MAX).await;
    }
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Ok(ev) => {
                    if ev.seq <= last_seq {
                        continue;
                    }
                    if ev.seq > last_seq + 1 {
                        catch_up(&rt, &mut last_seq, ev.seq).await;
                    }
                    rt.on_event(&ev).await;
                    last_seq = ev.seq;
                    rt.followed_seq.store(last_seq, std::sync::atomic::Ordering::SeqCst);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    catch_up(&rt, &mut last_seq, u64::MAX).await;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = stop.changed() => break,
        }
    }
    rt.follow_stopped.send_replace(true);
}

async fn catch_up(rt: &AlarmRuntime, last_seq: &mut u64, before_seq: u64) {
    loop {
        let evs = match rt.store.events_after(&rt.site_id, *last_seq, 500).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "journal catch-up");
                return;
            }
        };
        if evs.is_empty() {
            return;
        }
        for ev in &evs {
            if ev.seq >= before_seq {
                return;
            }
            rt.on_event(ev).await;
            *last_seq = ev.seq;
            rt.followed_seq
                .store(*last_seq, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

// ------------------------------------------------------------------ API

/// This subsystem's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sites/{site}/alarms", get(list_alarms))
        .route(
            "/api/v1/sites/{site}/alarms/arming",
            get(get_arming).post(post_arming),
        )
        .route("/api/v1/sites/{site}/alarms/panic", post(post_panic))
        .route("/api/v1/sites/{site}/alarms/drill", post(post_drill))
        .route("/api/v1/sites/{site}/alarms/report", get(get_report))
        .route("/api/v1/sites/{site}/alarms/{alarm}", get(get_alarm))
        .route("/api/v1/sites/{site}/alarms/{alarm}/ack", post(post_ack))
        .route("/api/v1/sites/{site}/alarms/{alarm}/notes", post(post_note))
        .route(
            "/api/v1/sites/{site}/alarms/{alarm}/resolve",
            post(post_resolve),
        )
}

fn runtime(ctx: &SiteCtx) -> Result<Arc<AlarmRuntime>, ApiError> {
    ctx.site
        .alarm
        .get()
        .ok_or_else(|| ApiError::Unavailable("the alarm subsystem is not running".into()))
}

fn queue_error(e: QueueError) -> ApiError {
    match e {
        QueueError::UnknownAlarm(id) => ApiError::NotFound(format!("alarm {id:?}")),
        QueueError::AlreadyAcknowledged(_) | QueueError::AlreadyResolved(_) => {
            ApiError::Conflict(e.to_string())
        }
        QueueError::NotADrill(_) | QueueError::DrillMustResolveAsDrill(_) => {
            ApiError::BadRequest(e.to_string())
        }
    }
}

fn check_note(note: &str) -> Result<(), ApiError> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::BadRequest(format!(
            "note is longer than {MAX_NOTE_CHARS} characters"
        )));
    }
    Ok(())
}

fn alarm_json(core: &Core, rec: &strongroom_alarm::AlarmRecord) -> Value {
    let mut v = serde_json::to_value(rec).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        let notes = core.notes.get(&rec.alarm_id).cloned().unwrap_or_default();
        m.insert("operator_notes".into(), Value::Array(notes));
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Include resolved alarms too.
    all: Option<bool>,
}

async fn list_alarms(
    session: Session,
    Path(site): Path<String>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ctx = session.authorize(&site, Permission::AlarmsView).await?;
    let rt = runtime(&ctx)?;
    let sees = ctx.can(Permission::SilentAlarmsView);
    let core = rt.core.lock().await;
    let list: Vec<Value> = if q.all == Some(true) {
        let mut v: Vec<_> = core
            .queue
            .all()
            .filter(|r| r.visibility.visible_to(sees))
            .collect();
        v.sort_by(|a, b| (b.raised_ms, &b.alarm_id).cmp(&(a.raised_ms, &a.alarm_id)));
        v.into_iter()
            .take(500)
            .map(|r| alarm_json(&core, r))
            .collect()
    } else {
        core.queue
            .open(sees)
            .into_iter()
            .map(|r| alarm_json(&core, r))
            .collect()
    };
    Ok(Json(json!({ "alarms": list })))
}

async fn get_alarm(
    session: Session,
    Path((site, alarm)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::AlarmsView).await?;
    let rt = runtime(&ctx)?;
    let sees = ctx.can(Permission::SilentAlarmsView);
    let core = rt.core.lock().await;
    let rec = core
        .queue
        .get(&alarm, sees)
        .ok_or_else(|| ApiError::NotFound(format!("alarm {alarm:?}")))?;
    Ok(Json(alarm_json(&core, rec)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    #[serde(default)]
    note: String,
}

async fn post_ack(
    session: Session,
    Path((site, alarm)): Path<(String, String)>,
    JsonBody(body): JsonBody<AckBody>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::AlarmsHandle).await?;
    check_note(&body.note)?;
    let rt = runtime(&ctx)?;
    let sees = ctx.can(Permission::SilentAlarmsView);
    let now_ms = rt.clock.now_ms();
    let out = {
        let mut core = rt.core.lock().await;
        let f = core
            .queue
            .ack(&alarm, &ctx.actor, sees, &body.note, now_ms)
            .map_err(queue_error)?;
        rt.commit(&mut core, vec![f]).await?;
        core.queue
            .get(&alarm, sees)
            .map_or(Value::Null, |r| alarm_json(&core, r))
    };
    rt.ack_incident(&alarm, &ctx.actor.to_string()).await;
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: String,
}

async fn post_note(
    session: Session,
    Path((site, alarm)): Path<(String, String)>,
    JsonBody(body): JsonBody<NoteBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::AlarmsHandle).await?;
    check_note(&body.note)?;
    if body.note.trim().is_empty() {
        return Err(ApiError::BadRequest("note is empty".into()));
    }
    let rt = runtime(&ctx)?;
    let sees = ctx.can(Permission::SilentAlarmsView);
    let now_ms = rt.clock.now_ms();
    let mut core = rt.core.lock().await;
    let rec = core
        .queue
        .get(&alarm, sees)
        .ok_or_else(|| ApiError::NotFound(format!("alarm {alarm:?}")))?;
    let f = Fact::new(NOTE_ADDED, ctx.actor.clone(), now_ms)
        .with("alarm_id", alarm.clone())
        .with("by", ctx.actor.to_string())
        .with("note", body.note.clone())
        .with("alarm_type", rec.alarm_type.clone())
        .with("audible", rec.audible)
        .with("visibility", rec.visibility.as_str())
        .with("test", rec.test);
    rt.commit(&mut core, vec![f]).await?;
    let out = core
        .queue
        .get(&alarm, sees)
        .map_or(Value::Null, |r| alarm_json(&core, r));
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    outcome: String,
    #[serde(default)]
    notes: String,
}

async fn post_resolve(
    session: Session,
    Path((site, alarm)): Path<(String, String)>,
    JsonBody(body): JsonBody<ResolveBody>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::AlarmsHandle).await?;
    check_note(&body.notes)?;
    let outcome = Outcome::parse(&body.outcome).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "unknown outcome {:?}: expected real, false or drill",
            body.outcome
        ))
    })?;
    let rt = runtime(&ctx)?;
    let sees = ctx.can(Permission::SilentAlarmsView);
    let now_ms = rt.clock.now_ms();
    let out = {
        let mut core = rt.core.lock().await;
        let facts = core
            .queue
            .resolve(&alarm, &ctx.actor, sees, outcome, &body.notes, now_ms)
            .map_err(queue_error)?;
        rt.commit(&mut core, facts).await?;
        core.queue
            .get(&alarm, sees)
            .map_or(Value::Null, |r| alarm_json(&core, r))
    };
    rt.ack_incident(&alarm, &ctx.actor.to_string()).await;
    Ok(Json(out))
}

async fn get_arming(session: Session, Path(site): Path<String>) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::AlarmsView).await?;
    let rt = runtime(&ctx)?;
    let sees = ctx.can(Permission::SilentAlarmsView);
    let core = rt.core.lock().await;
    let cfg = core.system.config();
    let partitions: Vec<Value> = cfg
        .partitions()
        .into_iter()
        .map(|p| {
            json!({
                "partition": p,
                "state": core.system.state(p).map(strongroom_alarm::system::ArmState::as_str),
            })
        })
        .collect();
    let zones: Vec<Value> = cfg
        .sensors
        .iter()
        .filter(|s| s.zone_type.visibility().visible_to(sees))
        .map(|s| {
            let z = core.zones.get(&s.id);
            let state = if core.system.supervisor().is_failed(&s.id) {
                "silent"
            } else {
                z.map_or("unknown", |z| z.state)
            };
            json!({
                "sensor": s.id,
                "name": s.name,
                "zone_type": s.zone_type.as_str(),
                "area": s.area,
                "zone": s.zone,
                "partition": s.partition,
                "panel": s.panel,
                "state": state,
                "since_ms": z.and_then(|z| z.since_ms),
            })
        })
        .collect();
    Ok(Json(json!({
        "partitions": partitions,
        "zones": zones,
        "receiver": rt.receiver_tcp_addr().map(|a| a.to_string()),
        "central_pending": rt.central_pending().await,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArmBody {
    /// Partition; absent: every partition.
    partition: Option<u16>,
    /// `away`, `stay` or `disarm`.
    mode: String,
}

async fn post_arming(
    session: Session,
    Path(site): Path<String>,
    JsonBody(body): JsonBody<ArmBody>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ArmingControl).await?;
    let rt = runtime(&ctx)?;
    let cmd = ArmCommand {
        partition: body.partition,
        method: ArmMethod::Api,
        actor: ctx.actor.clone(),
        code: CodeKind::Normal,
        device: Some("console".into()),
    };
    let input = match body.mode.as_str() {
        "away" => Input::Arm(cmd, ArmMode::Away),
        "stay" => Input::Arm(cmd, ArmMode::Stay),
        "disarm" => Input::Disarm(cmd),
        m => {
            return Err(ApiError::BadRequest(format!(
                "unknown mode {m:?}: expected away, stay or disarm"
            )));
        }
    };
    if let Some(p) = body.partition {
        let known = rt.core.lock().await.system.state(p).is_some();
        if !known {
            return Err(ApiError::BadRequest(format!("unknown partition {p}")));
        }
    }
    let facts = rt.drive(input, false, None).await?;
    let core = rt.core.lock().await;
    let partitions: Vec<Value> = core
        .system
        .config()
        .partitions()
        .into_iter()
        .map(|p| json!({"partition": p, "state": core.system.state(p).map(strongroom_alarm::system::ArmState::as_str)}))
        .collect();
    Ok(Json(json!({
        "changed": facts.iter().filter(|f| f.kind.starts_with("arming.")).count(),
        "partitions": partitions,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PanicBody {
    /// Partition (default 1).
    partition: Option<u16>,
}

async fn post_panic(
    session: Session,
    Path(site): Path<String>,
    JsonBody(body): JsonBody<PanicBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::PanicRaise).await?;
    let rt = runtime(&ctx)?;
    let now_ms = rt.clock.now_ms();
    let source = format!(
        "console:{}",
        ctx.actor.to_string().trim_start_matches("user:")
    );
    let mut s = ZoneSignal::new(source, 0, SignalKind::Alarm, now_ms);
    s.partition = body.partition.unwrap_or(1);
    s.category = Some(ZoneType::Panic);
    s.code = Some("console_panic".into());
    let facts = rt.drive(Input::Signal(s.clone()), true, None).await?;
    // The console button is momentary: restore it so the next press raises again.
    s.kind = SignalKind::Restore;
    rt.drive(Input::Signal(s), false, None).await?;
    let alarm_id = facts
        .iter()
        .find(|f| f.kind == ak::ALARM_RAISED)
        .and_then(|f| f.payload.get("alarm_id").cloned());
    Ok((
        StatusCode::CREATED,
        Json(json!({ "raised": alarm_id.is_some(), "alarm_id": alarm_id })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillBody {
    sensor: String,
}

async fn post_drill(
    session: Session,
    Path(site): Path<String>,
    JsonBody(body): JsonBody<DrillBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::AlarmsHandle).await?;
    let rt = runtime(&ctx)?;
    let ok = {
        let core = rt.core.lock().await;
        core.system
            .config()
            .sensors
            .iter()
            .find(|s| s.id == body.sensor)
            .map(|s| !s.zone_type.is_supervisory())
    };
    match ok {
        None => {
            return Err(ApiError::BadRequest(format!(
                "unknown sensor {:?}",
                body.sensor
            )));
        }
        Some(false) => {
            return Err(ApiError::BadRequest(format!(
                "sensor {:?} is a supervisory zone: it cannot be drilled",
                body.sensor
            )));
        }
        Some(true) => {}
    }
    let facts = rt
        .drive(
            Input::Drill {
                sensor: body.sensor,
                actor: ctx.actor.clone(),
            },
            false,
            None,
        )
        .await?;
    let alarm_id = facts
        .iter()
        .find(|f| f.kind == ak::ALARM_RAISED)
        .and_then(|f| f.payload.get("alarm_id").cloned());
    Ok((StatusCode::CREATED, Json(json!({ "alarm_id": alarm_id }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

fn percentile(sorted: &[i64], pct: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = (sorted.len() * pct).div_ceil(100).saturating_sub(1);
    sorted.get(idx.min(sorted.len() - 1)).copied()
}

fn stat(
    rows: &[strongroom_alarm::HandlingTime],
    f: impl Fn(&strongroom_alarm::HandlingTime) -> Option<i64>,
) -> Value {
    let mut v: Vec<i64> = rows.iter().filter_map(f).collect();
    v.sort_unstable();
    json!({
        "count": v.len(),
        "p50_ms": percentile(&v, 50),
        "p95_ms": percentile(&v, 95),
        "max_ms": v.last(),
    })
}

async fn get_report(
    session: Session,
    Path(site): Path<String>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ctx = session.authorize(&site, Permission::AlarmsView).await?;
    let rt = runtime(&ctx)?;
    let sees = ctx.can(Permission::SilentAlarmsView);
    let to_ms = q.to_ms.unwrap_or(i64::MAX);
    let from_ms = q.from_ms.unwrap_or(0);
    if from_ms > to_ms {
        return Err(ApiError::BadRequest("from_ms is after to_ms".into()));
    }
    let core = rt.core.lock().await;
    let rows: Vec<_> = core
        .queue
        .handling_report(from_ms, to_ms)
        .into_iter()
        .filter(|h| core.queue.get(&h.alarm_id, sees).is_some())
        .collect();
    let summary = json!({
        "raised_to_dispatch": stat(&rows, |h| h.raised_to_dispatch_ms),
        "raised_to_ack": stat(&rows, |h| h.raised_to_ack_ms),
        "raised_to_resolved": stat(&rows, |h| h.raised_to_resolved_ms),
    });
    let list = serde_json::to_value(&rows).unwrap_or(Value::Null);
    Ok(Json(json!({ "alarms": list, "summary": summary })))
}
