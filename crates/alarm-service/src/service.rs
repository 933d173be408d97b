//! [`AlarmService`]: one site's alarm subsystem, running. Every input (DC-09 signal, MQTT
//! message, device state, console command, the one-second tick) runs under one lock: the model
//! computes facts, the facts are appended to the journal, and only then are they projected and
//! is the source acknowledged. If the journal refuses, the model is rolled back.
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use strongroom_alarm::facts::kinds as ak;
use strongroom_alarm::routing::{self, AccessAlarmContext};
use strongroom_alarm::{Input, SignalKind, ZoneSignal, event_code};
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_journal::JournalEvent;
use strongroom_notify::Notifier;
use strongroom_sia::receiver::Receiver;
use strongroom_sia::sender::{SenderHandle, drill_signal};
use strongroom_sia::{AlarmSignal, Protocol, Qualifier};
use strongroom_store::{AppendError, JournalHandle, Store};
use tokio::sync::watch;

use crate::core::{Core, SeenKey, ZoneView};
use crate::outbound::DbOutbound;
use crate::outbox::DbOutbox;

/// One site's alarm subsystem, running (reachable as `SiteRuntime::alarm` in the server).
pub struct AlarmService {
    pub(crate) site_id: String,
    pub(crate) journal: JournalHandle,
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    /// The site's sensor ids.
    pub(crate) sensor_ids: BTreeSet<String>,
    pub(crate) core: tokio::sync::Mutex<Core>,
    /// alarm id → notification incident id.
    pub(crate) incidents: Mutex<BTreeMap<String, String>>,
    pub(crate) notifier: OnceLock<Arc<Notifier<DbOutbox>>>,
    pub(crate) central: OnceLock<SenderHandle<DbOutbound>>,
    pub(crate) outbound: OnceLock<Arc<DbOutbound>>,
    /// Serialises enqueueing to the central station (the queue learns the alarm id from it).
    pub(crate) central_lock: tokio::sync::Mutex<()>,
    pub(crate) receiver: tokio::sync::Mutex<Option<Receiver>>,
    pub(crate) receiver_tcp: OnceLock<SocketAddr>,
    pub(crate) receiver_udp: OnceLock<SocketAddr>,
    pub(crate) stop: watch::Sender<bool>,
    /// The last journal sequence the follower handled (a restarted service resumes after it).
    pub(crate) followed_seq: AtomicU64,
    /// Turns true when the follower has stopped (nothing more will be handled).
    pub(crate) follow_stopped: watch::Sender<bool>,
}

/// A poisoned lock still holds good data here (every update is a single assignment).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AlarmService {
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
        strongroom_sia::queue::OutboundQueue::pending(q.as_ref())
            .await
            .ok()
    }

    /// Feeds the alarm model from another subsystem (access control: `Input::Arm` /
    /// `Input::Disarm` from a keypad or reader with the `CodeKind` its credential check found,
    /// `Input::Shunt` on a vault-door grant). The facts are journaled before this returns.
    pub async fn input(&self, input: Input) -> Result<Vec<Fact>, AppendError> {
        self.drive(input, false, None).await
    }

    /// Stops the background tasks, closes the DC-09 listeners, waits (up to `timeout`) for the
    /// journal follower to finish the event in hand, and returns the last sequence it handled:
    /// a service started with `resume_after_seq` from it misses no event. (After a timeout the
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
        self.followed_seq.load(Ordering::SeqCst)
    }

    /// Stops the background tasks and closes the DC-09 listeners (tests, shutdown).
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        if let Some(r) = self.receiver.lock().await.take() {
            r.shutdown().await;
        }
    }

    /// Appends `facts` to the journal, then projects them. Nothing is projected on failure.
    pub(crate) async fn commit(
        &self,
        core: &mut Core,
        facts: Vec<Fact>,
    ) -> Result<(), AppendError> {
        if facts.is_empty() {
            return Ok(());
        }
        self.journal.append(facts.clone()).await?;
        for f in &facts {
            core.project(f);
        }
        Ok(())
    }

    /// Runs one model input under the lock: journal first, then project; rolls the model back
    /// if the journal refuses. `journal_signal` journals the raw signal too; `dedupe` skips
    /// repeats.
    pub(crate) async fn drive(
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
            zone_update = routing::zone_state_after(&core.system, s);
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

    /// Journals facts that are not model inputs (unmapped signal, supervision, bus status).
    pub(crate) async fn journal_plain(&self, facts: Vec<Fact>) -> Result<(), AppendError> {
        let mut core = self.core.lock().await;
        self.commit(&mut core, facts).await
    }

    /// One DC-09 signal from `panel`.
    pub(crate) async fn dc09_signal(&self, panel: &str, s: AlarmSignal) -> Result<(), AppendError> {
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
    pub(crate) async fn on_event(&self, ev: &JournalEvent) {
        let Some(fact) = strongroom_store::decode::fact_of_event(ev) else {
            return;
        };
        if let Some(alarm_type) = routing::access_alarm_type(&fact.kind)
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
            && routing::notifiable(&fact)
        {
            match n.on_fact(&fact).await {
                Ok(out) => self.link_incident(&fact, out.incident_id).await,
                Err(e) => tracing::error!(error = %e, "notifier"),
            }
        }
        if routing::needs_central_station(&fact) {
            self.dispatch_central(&fact).await;
        }
    }

    /// Remembers which incident an alarm opened; acknowledges it at once if an operator already
    /// acknowledged the alarm.
    pub(crate) async fn link_incident(&self, fact: &Fact, incident: Option<String>) {
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

    /// A device state posted to the API (or by the simulator) for one of the site's sensors, as
    /// a model signal.
    fn api_signal(&self, fact: &Fact) -> Option<ZoneSignal> {
        let device = fact.payload.get("device")?.as_str()?;
        let state = fact.payload.get("state")?.as_str()?;
        if !self.sensor_ids.contains(device) {
            return None;
        }
        routing::device_state_signal(device, state, fact.time_ms)
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
        let arming_state = core
            .system
            .state(1)
            .map_or("unknown", strongroom_alarm::system::ArmState::as_str);
        let context = AccessAlarmContext {
            site_id: &self.site_id,
            source_seq: seq,
            after_hours: !strongroom_alarm::schedule::is_open_at(core.system.config(), now_ms),
            arming_state,
            now_ms,
        };
        let raised = routing::access_alarm_raised(fact, alarm_type, &context);
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
        let code = routing::central_station_code(
            p.get("alarm_type").and_then(Value::as_str).unwrap_or(""),
        );
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
        if q.has_alarm(&alarm_id).await {
            return;
        }
        *lock(&q.next_alarm) = Some(alarm_id);
        let now = Timestamp::from_millisecond(self.clock.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH);
        if let Err(e) = handle.enqueue(s, now).await {
            tracing::error!(error = %e, "cannot queue an alarm for the central station");
        }
    }

    /// Acknowledges the notification incident of an alarm (stops escalation).
    pub(crate) async fn ack_incident(&self, alarm_id: &str, by: &str) {
        let inc = lock(&self.incidents).get(alarm_id).cloned();
        if let (Some(inc), Some(n)) = (inc, self.notifier.get())
            && let Err(e) = n.acknowledge(&inc, by).await
        {
            tracing::debug!(error = %e, "incident acknowledgment");
        }
    }
}
