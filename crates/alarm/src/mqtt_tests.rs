//! Tests of the MQTT adapter: pure validation of topics and payloads, and end-to-end runs against
//! the real Mosquitto broker on 127.0.0.1:1883 (skipped with "SKIP: ..." when it is not reachable,
//! unless `STRONGROOM_REQUIRE_PEERS=1`).
use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use strongroom_domain::SystemClock;
use tokio::sync::mpsc;

fn known() -> BTreeSet<String> {
    ["panic-pos", "holdup-pos"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn parse(topic: &str, payload: &str) -> Parsed {
    parse_message("sr/site", &known(), topic, payload.as_bytes(), false, 1_000)
}

fn rejected_reason(p: &Parsed) -> String {
    match p {
        Parsed::Rejected(f) => {
            assert_eq!(f.kind, kinds::MQTT_REJECTED);
            f.payload["reason"].as_str().unwrap_or("").to_owned()
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn valid_state_heartbeat_and_status() {
    let p = parse(
        "sr/site/sensor/panic-pos/state",
        r#"{"state":"alarm","ts_ms":900,"seq":7,"extra":1}"#,
    );
    let Parsed::Signal(s) = p else {
        panic!("expected a signal, got {p:?}")
    };
    assert_eq!(s.sensor.as_deref(), Some("panic-pos"));
    assert_eq!(s.kind, SignalKind::Alarm);
    assert_eq!(
        (s.source_time_ms, s.seq, s.time_ms),
        (Some(900), Some(7), 1_000)
    );
    let p = parse("sr/site/sensor/panic-pos/state", r#"{"state":"tamper"}"#);
    assert!(matches!(p, Parsed::Signal(ref s) if s.category == Some(ZoneType::Tamper)));
    let p = parse(
        "sr/site/sensor/holdup-pos/state",
        r#"{"state":"alarm","test":true}"#,
    );
    assert!(matches!(p, Parsed::Signal(ref s) if s.test));
    assert!(matches!(
        parse("sr/site/sensor/panic-pos/heartbeat", ""),
        Parsed::Signal(ref s) if s.kind == SignalKind::Heartbeat
    ));
    assert!(matches!(
        parse("sr/site/sensor/panic-pos/status", "offline"),
        Parsed::Signal(ref s) if s.kind == SignalKind::Offline
    ));
    assert_eq!(parse("other/topic", "x"), Parsed::Ignored);
    let retained = parse_message(
        "sr/site",
        &known(),
        "sr/site/sensor/panic-pos/state",
        br#"{"state":"alarm"}"#,
        true,
        1,
    );
    assert_eq!(retained, Parsed::Ignored);
}

#[test]
fn invalid_messages_become_clear_rejections() {
    assert!(
        rejected_reason(&parse("sr/site/sensor/panic-pos/state", "{not json")).contains("bad JSON")
    );
    assert!(
        rejected_reason(&parse(
            "sr/site/sensor/nobody/state",
            r#"{"state":"alarm"}"#
        ))
        .contains("unknown sensor")
    );
    assert!(
        rejected_reason(&parse(
            "sr/site/sensor/panic-pos/state",
            r#"{"state":"on fire"}"#
        ))
        .contains("unknown state")
    );
    assert!(
        rejected_reason(&parse("sr/site/sensor/panic-pos/state", r#"{"ts_ms":1}"#))
            .contains("bad JSON")
    );
    assert!(
        rejected_reason(&parse("sr/site/sensor/panic-pos/colour", "{}"))
            .contains("unknown topic leaf")
    );
    assert!(rejected_reason(&parse("sr/site/sensor/panic-pos", "{}")).contains("no leaf"));
    assert!(
        rejected_reason(&parse("sr/site/sensor/panic-pos/status", "maybe")).contains("bad status")
    );
    let big = "x".repeat(MAX_PAYLOAD_BYTES + 1);
    assert!(rejected_reason(&parse("sr/site/sensor/panic-pos/state", &big)).contains("exceeds"));
    let bin = parse_message(
        "sr/site",
        &known(),
        "sr/site/sensor/panic-pos/state",
        &[0xff, 0xfe, 0],
        false,
        1,
    );
    assert!(rejected_reason(&bin).contains("bad JSON"));
}

#[test]
fn config_from_broker_string() {
    let c = MqttConfig::new("127.0.0.1:1883", "id", "strongroom/demo/").expect("valid");
    assert_eq!(
        (c.host.as_str(), c.port, c.topic_prefix.as_str()),
        ("127.0.0.1", 1883, "strongroom/demo")
    );
    assert!(MqttConfig::new("localhost", "id", "p").is_err());
    assert!(MqttConfig::new(":1883", "id", "p").is_err());
    assert!(MqttConfig::new("h:99999", "id", "p").is_err());
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(topic in "\\PC{0,60}", payload in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let _ = parse_message("sr/site", &known(), &topic, &payload, false, 0);
        let t = format!("sr/site/sensor/panic-pos/{topic}");
        let _ = parse_message("sr/site", &known(), &t, &payload, false, 0);
    }
}

// ---- against the real broker ----

#[derive(Debug)]
enum Got {
    Signal(ZoneSignal),
    Fact(Fact),
}

/// A sink that forwards to a channel; optionally fails the first `fail_first` signals.
#[derive(Clone)]
struct ChanSink {
    tx: mpsc::UnboundedSender<Got>,
    fail_first: Arc<AtomicUsize>,
}

impl SignalSink for ChanSink {
    async fn signal(&self, signal: ZoneSignal) -> Result<(), SinkError> {
        if self
            .fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(SinkError("journal unavailable (test)".into()));
        }
        self.tx
            .send(Got::Signal(signal))
            .map_err(|e| SinkError(e.to_string()))
    }
    async fn fact(&self, fact: Fact) -> Result<(), SinkError> {
        self.tx
            .send(Got::Fact(fact))
            .map_err(|e| SinkError(e.to_string()))
    }
}

/// The broker under test: `STRONGROOM_MQTT_ADDR` (`HOST:PORT`), default 127.0.0.1:1883.
fn broker() -> (String, u16) {
    let addr =
        std::env::var("STRONGROOM_MQTT_ADDR").unwrap_or_else(|_| "127.0.0.1:1883".to_owned());
    let (h, p) = addr.rsplit_once(':').unwrap_or(("127.0.0.1", "1883"));
    (h.to_owned(), p.parse().unwrap_or(1883))
}

fn broker_addr() -> String {
    let (h, p) = broker();
    format!("{h}:{p}")
}

fn broker_up() -> bool {
    let addr = broker_addr();
    let ok = std::net::ToSocketAddrs::to_socket_addrs(addr.as_str())
        .ok()
        .and_then(|mut a| a.next())
        .and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).ok())
        .is_some();
    if !ok {
        assert!(
            std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() != Ok("1"),
            "MQTT broker not reachable at {addr} and STRONGROOM_REQUIRE_PEERS=1"
        );
        println!("SKIP: MQTT broker not reachable at {addr}");
    }
    ok
}

fn unique(tag: &str) -> String {
    format!(
        "srtest-{tag}-{}-{}",
        std::process::id(),
        SystemClock.now_ms()
    )
}

/// Waits (up to a deadline) for the next item matching `pred`, skipping others.
async fn expect(
    rx: &mut mpsc::UnboundedReceiver<Got>,
    what: &str,
    pred: impl Fn(&Got) -> bool,
) -> Got {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(g)) if pred(&g) => return g,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("sink channel closed while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

/// Waits for the next signal (described as `what`).
async fn expect_signal(rx: &mut mpsc::UnboundedReceiver<Got>, what: &str) -> ZoneSignal {
    let got = expect(rx, what, |g| matches!(g, Got::Signal(_))).await;
    let Got::Signal(s) = got else { unreachable!() };
    s
}

/// Waits for an MQTT rejection fact (described as `what`) whose reason contains `reason`.
async fn expect_rejection(rx: &mut mpsc::UnboundedReceiver<Got>, what: &str, reason: &str) {
    let got = expect(
        rx,
        what,
        |g| matches!(g, Got::Fact(f) if f.kind == kinds::MQTT_REJECTED),
    )
    .await;
    let Got::Fact(f) = got else { unreachable!() };
    assert!(
        f.payload["reason"].as_str().unwrap_or("").contains(reason),
        "{f:?}"
    );
}

/// Publishes `payload` (QoS 1, not retained) as the state of `sensor` under `prefix`.
async fn publish_state(client: &AsyncClient, prefix: &str, sensor: &str, payload: &str) {
    client
        .publish(
            format!("{prefix}/sensor/{sensor}/state"),
            QoS::AtLeastOnce,
            false,
            payload,
        )
        .await
        .expect("publish");
}

fn is_connected(g: &Got) -> bool {
    matches!(g, Got::Fact(f) if f.kind == kinds::MQTT_CONNECTED)
}

/// A "sensor" client with a last will; returns the client and its event-loop task.
fn sensor_client(prefix: &str, id: &str) -> (AsyncClient, tokio::task::JoinHandle<()>) {
    let mut opts = MqttOptions::new(unique(id), broker().0, broker().1);
    opts.set_keep_alive(Duration::from_secs(5));
    opts.set_last_will(rumqttc::LastWill::new(
        format!("{prefix}/sensor/{id}/status"),
        "offline",
        QoS::AtLeastOnce,
        false,
    ));
    let (client, mut el) = AsyncClient::new(opts, 16);
    let task = tokio::spawn(async move { while el.poll().await.is_ok() {} });
    (client, task)
}

fn adapter(
    prefix: &str,
    client_id: &str,
    clean_session: bool,
    sink: ChanSink,
) -> MqttAdapter<ChanSink, SystemClock> {
    let mut cfg = MqttConfig::new(&broker_addr(), client_id, prefix).expect("config");
    cfg.reconnect_delay_ms = 100;
    cfg.clean_session = clean_session;
    MqttAdapter::new(cfg, known(), sink, SystemClock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_rejections_and_last_will_through_mosquitto() {
    if !broker_up() {
        return;
    }
    let prefix = unique("bus");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink = ChanSink {
        tx,
        fail_first: Arc::new(AtomicUsize::new(0)),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let a = adapter(&prefix, &unique("adapter"), true, sink);
    let run = tokio::spawn(a.run(async move {
        let _ = stop_rx.await;
    }));
    expect(&mut rx, "bus connected", is_connected).await;

    let (sensor, sensor_task) = sensor_client(&prefix, "panic-pos");
    publish_state(
        &sensor,
        &prefix,
        "panic-pos",
        r#"{"state":"alarm","ts_ms":1763700000000,"seq":1}"#,
    )
    .await;
    let s = expect_signal(&mut rx, "panic alarm signal").await;
    assert_eq!(s.sensor.as_deref(), Some("panic-pos"));
    assert_eq!(s.kind, SignalKind::Alarm);
    assert_eq!(s.seq, Some(1));
    assert_eq!(s.source_time_ms, Some(1_763_700_000_000));

    publish_state(&sensor, &prefix, "panic-pos", "{oops").await;
    expect_rejection(&mut rx, "bad JSON rejection", "bad JSON").await;

    publish_state(&sensor, &prefix, "intruder", r#"{"state":"alarm"}"#).await;
    expect_rejection(&mut rx, "unknown sensor rejection", "unknown sensor").await;

    // Kill the sensor without DISCONNECT: its socket closes, the broker publishes the will.
    sensor_task.abort();
    let got = expect(
        &mut rx,
        "last will offline",
        |g| matches!(g, Got::Signal(s) if s.kind == SignalKind::Offline),
    )
    .await;
    let Got::Signal(s) = got else { unreachable!() };
    assert_eq!(s.sensor.as_deref(), Some("panic-pos"));

    let _ = stop_tx.send(());
    let res = tokio::time::timeout(Duration::from_secs(5), run).await;
    assert!(
        matches!(res, Ok(Ok(Ok(())))),
        "adapter stopped cleanly: {res:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_message_is_redelivered_after_sink_failure() {
    if !broker_up() {
        return;
    }
    let prefix = unique("redeliver");
    let client_id = unique("adapter-r");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink = ChanSink {
        tx,
        fail_first: Arc::new(AtomicUsize::new(1)),
    };
    // First run: the sink fails the signal, so the adapter stops without acknowledging it.
    let first =
        tokio::spawn(adapter(&prefix, &client_id, false, sink.clone()).run(std::future::pending()));
    expect(&mut rx, "bus connected", is_connected).await;
    let (sensor, sensor_task) = sensor_client(&prefix, "holdup-pos");
    publish_state(
        &sensor,
        &prefix,
        "holdup-pos",
        r#"{"state":"alarm","seq":9}"#,
    )
    .await;
    let res = tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .expect("first run ends");
    assert!(matches!(res, Ok(Err(MqttError::Sink(_)))), "{res:?}");
    assert_eq!(sink.fail_first.load(Ordering::SeqCst), 0);

    // Second run with the same client id: the broker redelivers the message.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let second = tokio::spawn(
        adapter(&prefix, &client_id, false, sink.clone()).run(async move {
            let _ = stop_rx.await;
        }),
    );
    let s = expect_signal(&mut rx, "redelivered holdup").await;
    assert_eq!((s.sensor.as_deref(), s.seq), (Some("holdup-pos"), Some(9)));
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), second).await;
    sensor_task.abort();

    // Leave no persistent session behind on the broker.
    let mut opts = MqttOptions::new(client_id, broker().0, broker().1);
    opts.set_clean_session(true);
    let (c, mut el) = AsyncClient::new(opts, 4);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), el.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                let _ = c.try_disconnect();
                let _ = tokio::time::timeout(Duration::from_secs(1), el.poll()).await;
                break;
            }
            Ok(Ok(_)) => {}
            _ => break,
        }
    }
}

/// The wiring the server does, in miniature: the sink journals the raw signal and the model's
/// facts, and projects them into the queue.
struct ModelSink {
    state: std::sync::Mutex<(crate::AlarmSystem, crate::AlarmQueue, Vec<Fact>)>,
    tx: mpsc::UnboundedSender<()>,
}

impl SignalSink for Arc<ModelSink> {
    async fn signal(&self, signal: ZoneSignal) -> Result<(), SinkError> {
        {
            let mut g = self.state.lock().map_err(|e| SinkError(e.to_string()))?;
            let (sys, queue, journal) = &mut *g;
            let now_ms = signal.time_ms;
            journal.push(sys.signal_fact(&signal));
            for f in sys.handle(crate::Input::Signal(signal), now_ms) {
                let _ = queue.apply(&f);
                journal.push(f);
            }
        }
        self.tx.send(()).map_err(|e| SinkError(e.to_string()))
    }
    async fn fact(&self, fact: Fact) -> Result<(), SinkError> {
        let mut g = self.state.lock().map_err(|e| SinkError(e.to_string()))?;
        g.2.push(fact);
        drop(g);
        self.tx.send(()).map_err(|e| SinkError(e.to_string()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holdup_press_over_mqtt_opens_a_silent_alarm() {
    if !broker_up() {
        return;
    }
    use strongroom_domain::site::{DEMO_SITE_TOML, SiteConfig};
    let site = SiteConfig::parse("demo.toml", DEMO_SITE_TOML).expect("demo");
    let cfg = crate::AlarmConfig::from_site(&site).expect("cfg");
    let ids: Vec<String> = cfg.sensors.iter().map(|s| s.id.clone()).collect();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink = Arc::new(ModelSink {
        state: std::sync::Mutex::new((
            crate::AlarmSystem::new(cfg, SystemClock.now_ms()),
            crate::AlarmQueue::new(),
            Vec::new(),
        )),
        tx,
    });
    let prefix = unique("model");
    let mut mc = MqttConfig::new(&broker_addr(), &unique("adapter-m"), &prefix).expect("config");
    mc.clean_session = true;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(
        MqttAdapter::new(mc, ids, sink.clone(), SystemClock).run(async move {
            let _ = stop_rx.await;
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let (sensor, task) = sensor_client(&prefix, "holdup-pos");
    let mut published = false;
    loop {
        let open = {
            let g = sink.state.lock().expect("lock");
            let connected = g.2.iter().any(|f| f.kind == kinds::MQTT_CONNECTED);
            (connected, g.1.open(true).len(), g.1.open(false).len())
        };
        if open.0 && !published {
            publish_state(
                &sensor,
                &prefix,
                "holdup-pos",
                r#"{"state":"alarm","seq":1}"#,
            )
            .await;
            published = true;
        }
        if open.1 == 1 {
            assert_eq!(open.2, 0, "a holdup is invisible without SilentAlarmsView");
            break;
        }
        assert!(Instant::now() < deadline, "holdup never reached the queue");
        let _ = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
    }
    {
        let g = sink.state.lock().expect("lock");
        let raw =
            g.2.iter()
                .find(|f| f.kind == "device.state")
                .expect("raw signal journaled");
        assert_eq!(raw.payload["visibility"], "monitoring");
        let alarm = g.1.open(true)[0].clone();
        assert_eq!(
            (alarm.alarm_type.as_str(), alarm.audible),
            ("holdup", false)
        );
    }
    task.abort();
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), run).await;
}
