//! Starting the alarm service on a site: the model with its journaled arming state, the alarm
//! queue rebuilt from the journal, notification chains with their durable outbox (unacknowledged
//! incidents of the last two hours replayed), the central-station sender, the journal follower,
//! the DC-09 receiver, MQTT sensors and the one-second tick. [`check_config`] says, without side
//! effects, whether [`start`] can run on a configuration.
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use strongroom_alarm::facts::kinds as ak;
use strongroom_alarm::mqtt::{MqttAdapter, MqttConfig};
use strongroom_alarm::routing::notifiable;
use strongroom_alarm::{AlarmConfig, AlarmSystem, Input};
use strongroom_domain::jurisdiction::Jurisdiction;
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_notify::{
    ChannelRule, Dispatcher, DispatcherConfig, Escalator, EscalatorConfig, FactSink, Notifier,
    SiteIdentity,
};
use strongroom_sia::AesKey;
use strongroom_sia::engine::AccountPolicy;
use strongroom_sia::receiver::{Receiver, ReceiverConfig};
use strongroom_sia::sender::{Sender, SenderConfig};
use strongroom_store::Store;
use strongroom_store::decode::fact_of_event;
use strongroom_store::follow::JournalFollower;
use strongroom_store::service::ServiceCtx;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::core::Core;
use crate::error::StartError;
use crate::outbound::{DbOutbound, Recorder};
use crate::outbox::DbOutbox;
use crate::service::{AlarmService, lock};
use crate::sinks::{Dc09Sink, MqttSink, SharedClock};

/// Kind of the fact recorded when the DC-09 receiver cannot listen.
pub const RECEIVER_FAILED: &str = "health.alarm_receiver_failed";

/// The alarm follower's name in `projection_cursor`.
const FOLLOWER_NAME: &str = "alarm-service";
/// How often the follower saves its position while events flow.
const SAVE_POSITION_EVERY: Duration = Duration::from_secs(1);

/// How far back unacknowledged notification incidents are replayed at start.
const REPLAY_WINDOW_MS: i64 = 2 * 3_600_000;

/// A started alarm service and its background tasks.
pub struct StartedAlarms {
    /// The service.
    pub service: Arc<AlarmService>,
    /// Its tasks (they end after [`AlarmService::shutdown`]).
    pub tasks: Vec<JoinHandle<()>>,
}

/// Reads a hex AES key file under the data directory.
pub fn read_key(data_dir: &std::path::Path, file: &str) -> Result<AesKey, StartError> {
    let path = data_dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| StartError(format!("cannot read key file {}: {e}", path.display())))?;
    AesKey::from_hex(text.trim())
        .map_err(|e| StartError(format!("key file {}: {e}", path.display())))
}

/// Parses an `IP:PORT` setting.
pub fn parse_addr(what: &str, s: &str) -> Result<SocketAddr, StartError> {
    s.parse()
        .map_err(|_| StartError(format!("{what} {s:?} is not IP:PORT")))
}

/// A clock for building channels only to check them (never read).
struct NoClock;

impl Clock for NoClock {
    fn now_ms(&self) -> i64 {
        0
    }
}

/// Whether the alarm service can start on `config`; no side effects.
pub fn check_config(config: &SiteConfig, data_dir: &std::path::Path) -> Result<(), StartError> {
    AlarmConfig::from_site(config).map_err(StartError::of)?;
    if !config.notify.chains.is_empty() {
        strongroom_notify::channels_from_site(&config.notify, None, Arc::new(NoClock))
            .map_err(|e| StartError(format!("notify: {e}")))?;
    }
    if let Some(cs) = &config.central_station {
        parse_addr("central_station.primary", &cs.primary)?;
        if let Some(s) = &cs.secondary {
            parse_addr("central_station.secondary", s)?;
        }
        if let Some(f) = &cs.key_file {
            read_key(data_dir, f)?;
        }
    }
    if let Some(ar) = &config.alarm_receiver {
        parse_addr("alarm_receiver.listen", &ar.listen)?;
        for p in &config.panels {
            if let Some(f) = &p.key_file {
                read_key(data_dir, f).map_err(|e| StartError(format!("panel {}: {e}", p.id)))?;
            }
        }
    }
    if let Some(m) = MqttConfig::from_site(config) {
        m.map_err(StartError::of)?;
    }
    Ok(())
}

/// Reads every journaled fact of kinds starting with `prefix`, in order.
async fn facts_of(store: &Store, site: &str, prefix: &str) -> Result<Vec<Fact>, StartError> {
    let evs = store
        .events_by_kind_and_time(site, prefix, i64::MIN, i64::MAX)
        .await
        .map_err(StartError::of)?;
    Ok(evs.iter().filter_map(fact_of_event).collect())
}

/// Facts of the last `window_ms`, oldest first.
async fn recent_facts(store: &Store, site: &str, since_ms: i64) -> Result<Vec<Fact>, StartError> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let evs = store
            .recent_events(site, None, before, 500)
            .await
            .map_err(StartError::of)?;
        let Some(last) = evs.last() else { break };
        before = Some(last.seq);
        let mut done = false;
        for e in &evs {
            if e.time_ms < since_ms {
                done = true;
                break;
            }
            if let Some(f) = fact_of_event(e) {
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

/// Starts the alarm service on `config`. With `resume_after_seq`, the journal follower first
/// handles every event after that sequence (a service restarted by a reload picks up where the
/// stopped one left off); without it, it follows from the journal's head.
pub async fn start(
    ctx: &ServiceCtx,
    config: Arc<SiteConfig>,
    resume_after_seq: Option<u64>,
) -> Result<StartedAlarms, StartError> {
    let clock = ctx.clock.clone();
    let store = ctx.store.clone();
    let site_id = ctx.site_id.clone();
    let now_ms = clock.now_ms();

    // The model, with the journaled arming state; panels are supervised by the DC-09 receiver.
    let mut cfg = AlarmConfig::from_site(&config).map_err(StartError::of)?;
    for v in cfg.panels.values_mut() {
        *v = None;
    }
    let mut system = AlarmSystem::new(cfg, now_ms);
    for f in facts_of(&store, &site_id, "arming.").await? {
        system.recover(&f);
    }
    let mut core = Core::new(system);
    for f in facts_of(&store, &site_id, "alarm.").await? {
        core.project(&f);
    }
    let (stop, stop_rx) = watch::channel(false);
    let rt = Arc::new(AlarmService {
        site_id: site_id.clone(),
        journal: ctx.journal.clone(),
        store: store.clone(),
        clock: clock.clone(),
        sensor_ids: config
            .sensors
            .iter()
            .map(|s| s.id.clone())
            .collect::<BTreeSet<_>>(),
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
        followed_seq: AtomicU64::new(0),
        follow_stopped: watch::channel(false).0,
    });
    let mut tasks = Vec::new();
    if !config.notify.chains.is_empty() {
        start_notifications(&rt, &config, &stop_rx, &mut tasks).await?;
    }
    if let Some(cs) = &config.central_station {
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
            site: site_id.clone(),
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

    // The journal follower (it subscribes before the head is read, so nothing falls between).
    let head = store
        .journal_head(&site_id)
        .await
        .map_err(StartError::of)?
        .map_or(0, |(seq, _)| seq);
    // A reload resumes where the stopped service left off; a restarted process where the last one
    // saved its position (so a fact journaled just before a crash still becomes an alarm); a
    // first start at the head.
    let saved =
        match strongroom_store::follow::saved_position(&store, FOLLOWER_NAME, &site_id).await {
            Ok(saved) => saved,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the alarm follower's saved position");
                None
            }
        };
    let from = resume_after_seq.or(saved).map_or(head, |s| s.min(head));
    rt.followed_seq.store(from, Ordering::SeqCst);
    let follower = JournalFollower::new(store.clone(), &ctx.journal, from);
    tasks.push(tokio::spawn(follow(rt.clone(), follower, stop_rx.clone())));

    if let Some(ar) = &config.alarm_receiver {
        start_receiver(&rt, &config, ar, &ctx.data_dir).await?;
    }
    if let Some(m) = MqttConfig::from_site(&config) {
        let mcfg = m.map_err(StartError::of)?;
        let ids: Vec<String> = config.sensors.iter().map(|s| s.id.clone()).collect();
        tasks.push(tokio::spawn(run_mqtt(
            rt.clone(),
            mcfg,
            ids,
            stop_rx.clone(),
        )));
    }

    // The one-second tick (entry delays, auto-arm, supervision).
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
    Ok(StartedAlarms { service: rt, tasks })
}

/// The escalation chains, their dispatcher and durable outbox; replays the recent past.
async fn start_notifications(
    rt: &Arc<AlarmService>,
    config: &SiteConfig,
    stop_rx: &watch::Receiver<bool>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(), StartError> {
    let clock = rt.clock.clone();
    let notify = &config.notify;
    let token = notify
        .webhook
        .as_ref()
        .and_then(|w| w.token_env.as_ref())
        .and_then(|v| std::env::var(v).ok());
    let channels = strongroom_notify::channels_from_site(notify, token.as_deref(), clock.clone())
        .map_err(|e| StartError(format!("notify: {e}")))?;
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
        device_names: strongroom_notify::episode::device_names(config),
        retain_ms: 0,
    };
    let escalator = Escalator::new(esc_cfg.clone());
    for issue in escalator.check(&[ak::ALARM_RAISED, ak::DEVICE_SILENT]) {
        tracing::warn!(chain = %issue.chain_id, message = %issue.message, "notify chain");
    }
    let outbox = Arc::new(DbOutbox {
        store: rt.store.clone(),
        site: rt.site_id.clone(),
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
            rt2.journal_notifier_fact(f).await;
        }
    }));
    tasks.push(tokio::spawn(dispatcher.run(stop_rx.clone())));
    tasks.push(tokio::spawn(notifier.clone().run_timer(stop_rx.clone())));
    // Replay unacknowledged incidents of the recent past.
    let recent = recent_facts(&rt.store, &rt.site_id, clock.now_ms() - REPLAY_WINDOW_MS).await?;
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
        // An acknowledged failure is rebuilt without sending anything, so that its restore is
        // still notified; a restore is always replayed (the outbox drops a notice it already
        // sent).
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
    Ok(())
}

impl AlarmService {
    /// Journals a fact the notifier emitted; a `notify.sent` also marks its alarm dispatched on
    /// that route.
    async fn journal_notifier_fact(&self, f: Fact) {
        let mut facts = vec![f.clone()];
        let mut core = self.core.lock().await;
        if f.kind == "notify.sent"
            && let Some(inc) = f.payload.get("incident_id").and_then(Value::as_str)
        {
            let alarm = lock(&self.incidents)
                .iter()
                .find(|(_, i)| i.as_str() == inc)
                .map(|(a, _)| a.clone());
            let text = |k: &str| f.payload.get(k).and_then(Value::as_str).unwrap_or("");
            let route = format!("notify:{}:{}", text("channel"), text("contact"));
            if let Some(a) = alarm
                && let Ok(d) = core.queue.dispatched(&a, &route, &Actor::System, f.time_ms)
            {
                facts.push(d);
            }
        }
        if let Err(e) = self.commit(&mut core, facts).await {
            tracing::error!(error = %e, "cannot journal a notification fact");
        }
    }
}

/// The DC-09 receiver for the site's panels. A receiver that cannot listen is a journaled health
/// fact (it goes to the failure chains like any other); the rest of the site keeps running.
async fn start_receiver(
    rt: &Arc<AlarmService>,
    config: &SiteConfig,
    ar: &strongroom_domain::site::AlarmReceiver,
    data_dir: &std::path::Path,
) -> Result<(), StartError> {
    let addr = parse_addr("alarm_receiver.listen", &ar.listen)?;
    let mut accounts = Vec::new();
    let mut panels = BTreeMap::new();
    for p in &config.panels {
        accounts.push(AccountPolicy {
            account: p.account.clone(),
            key: p
                .key_file
                .as_deref()
                .map(|f| read_key(data_dir, f))
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
    match Receiver::start(rc, sink, Arc::new(SharedClock(rt.clock.clone()))).await {
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
            tracing::error!(error = %e, "DC-09 receiver");
            rt.journal_plain(vec![
                Fact::new(RECEIVER_FAILED, Actor::System, rt.clock.now_ms())
                    .with("listen", ar.listen.clone())
                    .with("error", e.to_string()),
            ])
            .await
            .map_err(StartError::of)?;
        }
    }
    Ok(())
}

/// The MQTT sensor adapter, restarted a second after it stops, until the service stops.
async fn run_mqtt(
    rt: Arc<AlarmService>,
    mcfg: MqttConfig,
    ids: Vec<String>,
    mut stop: watch::Receiver<bool>,
) {
    let clock = SharedClock(rt.clock.clone());
    loop {
        let adapter = MqttAdapter::new(
            mcfg.clone(),
            ids.clone(),
            MqttSink(rt.clone()),
            clock.clone(),
        );
        let mut s = stop.clone();
        let r = adapter
            .run(async move {
                let _ = s.wait_for(|v| *v).await;
            })
            .await;
        if *stop.borrow() {
            break;
        }
        if let Err(e) = r {
            tracing::error!(error = %e, "MQTT adapter stopped; restarting");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => break,
        }
    }
}

/// Hands every journal event after the follower's start to the service, in order, once; saves
/// its position every second while events flow and when it stops.
async fn follow(
    rt: Arc<AlarmService>,
    mut follower: JournalFollower,
    mut stop: watch::Receiver<bool>,
) {
    let mut saved_seq = follower.last_seq();
    let mut saved_at = tokio::time::Instant::now();
    // Resuming after a restart: first what the stopped service had not seen.
    let mut backlog = Vec::new();
    if let Err(e) = follower.catch_up(|ev| backlog.push(ev.clone())).await {
        tracing::error!(error = %e, "journal catch-up");
    }
    for ev in &backlog {
        if *stop.borrow() {
            break;
        }
        rt.on_event(ev).await;
        rt.followed_seq.store(ev.seq, Ordering::SeqCst);
    }
    loop {
        let handled = rt.followed_seq.load(Ordering::SeqCst);
        if handled != saved_seq && saved_at.elapsed() >= SAVE_POSITION_EVERY {
            save_position(&rt, handled).await;
            saved_seq = handled;
            saved_at = tokio::time::Instant::now();
        }
        tokio::select! {
            next = follower.next() => match next {
                Ok(Some(ev)) => {
                    rt.on_event(&ev).await;
                    rt.followed_seq.store(ev.seq, Ordering::SeqCst);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "journal follower");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = stop.changed() => break,
                    }
                }
            },
            _ = tokio::time::sleep(SAVE_POSITION_EVERY), if rt.followed_seq.load(Ordering::SeqCst) != saved_seq => {}
            _ = stop.changed() => break,
        }
    }
    let handled = rt.followed_seq.load(Ordering::SeqCst);
    if handled != saved_seq {
        save_position(&rt, handled).await;
    }
    rt.follow_stopped.send_replace(true);
}

/// Saves the follower's position; a failure is logged (the next start then handles more again).
async fn save_position(rt: &AlarmService, seq: u64) {
    if let Err(e) =
        strongroom_store::follow::save_position(&rt.store, FOLLOWER_NAME, &rt.site_id, seq).await
    {
        tracing::error!(error = %e, "cannot save the alarm follower's position");
    }
}
