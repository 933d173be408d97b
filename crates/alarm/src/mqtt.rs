//! The MQTT sensor adapter: subscribes to the site's sensor bus, validates every message, and
//! hands [`ZoneSignal`]s (or a rejection fact) to a [`SignalSink`]; a message is acknowledged to
//! the broker only after the sink said it is durable.
//!
//! # Topic and payload scheme
//!
//! `{prefix}` is the site's `[mqtt] topic_prefix` (default `strongroom`); `{sensor_id}` is a
//! sensor id from the site file (`[[sensor]] id`). All messages are QoS 1.
//!
//! | topic | payload | retain | meaning |
//! |---|---|---|---|
//! | `{prefix}/sensor/{sensor_id}/state` | JSON object, below | **no** | the sensor's state changed |
//! | `{prefix}/sensor/{sensor_id}/heartbeat` | empty, or `{"ts_ms":…,"seq":…}` | no | supervision: "I am alive" |
//! | `{prefix}/sensor/{sensor_id}/status` | `online` or `offline` (plain text) | yes | birth message / **last will** |
//!
//! State payload: `{"state": S, "ts_ms": 1763700000000, "seq": 42, "test": false}` where only
//! `state` is required and `S` is one of
//!
//! | `state` | signal |
//! |---|---|
//! | `alarm` | zone in alarm (contact open, button pressed, motion) |
//! | `normal` | zone restored |
//! | `tamper` | tamper alarm on this sensor (category `tamper`) |
//! | `trouble` / `trouble_restore` | zone trouble / cleared |
//! | `low_battery` / `battery_restore` | battery trouble / cleared |
//! | `test` | a test report (counts as heard) |
//!
//! `ts_ms` is the sensor's own clock (kept as `source_time_ms`; Strongroom's receipt time is
//! `time_ms`), `seq` a per-sensor counter the server may use to drop QoS-1 redeliveries, `test`
//! marks a drill press (the alarm runs end to end and is recorded as a test). Unknown JSON fields
//! are ignored. Payloads over 4 KiB are refused.
//!
//! A sensor connects with a last will of `offline` (QoS 1, retained) on its `status` topic and
//! publishes a retained `online` there after connecting. When it dies without a DISCONNECT the
//! broker publishes the will, which becomes an [`SignalKind::Offline`] signal (a
//! `health.device_silent` failure with `reason: "offline"` in the model).
//!
//! Retained `state` messages are replays, not events: they are acknowledged and ignored.
//!
//! # Validation
//!
//! A topic outside the scheme, a sensor id not in the site file, bad JSON or an unknown `state`
//! never panics and never reaches the model as a signal: it becomes one
//! `sensor.message_rejected` fact (`topic`, `reason`, `payload_prefix`) handed to
//! [`SignalSink::fact`], and the message is acknowledged once that fact is durable.
//!
//! # Delivery
//!
//! Manual acknowledgements: the PUBACK for a message is sent only after the sink returned `Ok`
//! (the server journals the signal before answering). If the sink fails, [`MqttAdapter::run`]
//! returns [`MqttError::Sink`] without acknowledging; with `clean_session = false` (the default)
//! the broker keeps the message and redelivers it when the adapter is started again with the same
//! client id. Delivery is therefore at least once: a redelivered alarm for a zone already in alarm
//! raises nothing new in the model, and `seq` identifies repeats. Broker connection loss and
//! recovery are reported as `health.mqtt_disconnected` / `sensor.bus_connected` facts; the adapter
//! reconnects by itself.
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Clock, Fact};

use crate::facts::kinds;
use crate::signal::{SignalKind, ZoneSignal};
use crate::zone::ZoneType;

/// Largest payload accepted.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// Connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Our client id (stable across restarts, so the broker keeps our session).
    pub client_id: String,
    /// Topic prefix.
    pub topic_prefix: String,
    /// MQTT keep-alive.
    pub keep_alive_s: u16,
    /// `false` (default): the broker keeps our subscription and unacknowledged messages while we
    /// are away.
    pub clean_session: bool,
    /// Pause between reconnection attempts.
    pub reconnect_delay_ms: u64,
}

/// Errors of the adapter.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// `[mqtt] broker` is not `HOST:PORT`.
    #[error("bad MQTT broker address {0:?}: expected HOST:PORT")]
    BadBroker(String),
    /// The sink refused a signal or fact; the message was not acknowledged.
    #[error("sink refused a message (not acknowledged, the broker will redeliver): {0}")]
    Sink(#[from] SinkError),
    /// The client's request channel closed.
    #[error("MQTT client error: {0}")]
    Client(#[from] rumqttc::ClientError),
}

/// The sink's refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Where the adapter hands what it received. `Ok` means durable: the server has journaled it.
pub trait SignalSink: Send + Sync + 'static {
    /// A valid sensor signal.
    fn signal(&self, signal: ZoneSignal) -> impl Future<Output = Result<(), SinkError>> + Send;
    /// A fact about the bus itself (rejected message, connection lost or regained).
    fn fact(&self, fact: Fact) -> impl Future<Output = Result<(), SinkError>> + Send;
}

impl MqttConfig {
    /// From the site's `[mqtt]` table (`None` when the site has no MQTT bus).
    pub fn from_site(site: &SiteConfig) -> Option<Result<MqttConfig, MqttError>> {
        let m = site.mqtt.as_ref()?;
        Some(Self::new(
            &m.broker,
            &format!("strongroom-{}", site.site.id),
            &m.topic_prefix,
        ))
    }

    /// From `HOST:PORT`, a client id and a topic prefix, with default timings.
    pub fn new(broker: &str, client_id: &str, prefix: &str) -> Result<MqttConfig, MqttError> {
        let bad = || MqttError::BadBroker(broker.to_owned());
        let (host, port) = broker.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(MqttConfig {
            host: host.to_owned(),
            port,
            client_id: client_id.to_owned(),
            topic_prefix: prefix.trim_end_matches('/').to_owned(),
            keep_alive_s: 30,
            clean_session: false,
            reconnect_delay_ms: 1000,
        })
    }
}

/// What one message turned into.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A signal for the model.
    Signal(ZoneSignal),
    /// A rejection fact.
    Rejected(Fact),
    /// Nothing to do (a retained state replay, or a topic outside our prefix).
    Ignored,
}

#[derive(Debug, Deserialize)]
struct StatePayload {
    state: String,
    #[serde(default)]
    ts_ms: Option<i64>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    test: bool,
}

#[derive(Debug, Default, Deserialize)]
struct HeartbeatPayload {
    #[serde(default)]
    ts_ms: Option<i64>,
    #[serde(default)]
    seq: Option<u64>,
}

fn reject(
    topic: &str,
    sensor: Option<&str>,
    reason: String,
    payload: &[u8],
    now_ms: i64,
) -> Parsed {
    let prefix: String = String::from_utf8_lossy(payload).chars().take(64).collect();
    let actor = sensor.map_or(Actor::System, |s| Actor::Device(s.to_owned()));
    Parsed::Rejected(
        Fact::new(kinds::MQTT_REJECTED, actor, now_ms)
            .with("topic", topic)
            .with("sensor", sensor)
            .with("reason", reason)
            .with("payload_prefix", prefix),
    )
}

/// Validates one message (pure). `known` holds the site's sensor ids.
pub fn parse_message(
    prefix: &str,
    known: &BTreeSet<String>,
    topic: &str,
    payload: &[u8],
    retained: bool,
    now_ms: i64,
) -> Parsed {
    let Some(rest) = topic
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix("/sensor/"))
    else {
        return Parsed::Ignored;
    };
    let Some((sensor, leaf)) = rest.split_once('/') else {
        return reject(
            topic,
            None,
            "topic has no leaf: expected {prefix}/sensor/{id}/state|heartbeat|status".into(),
            payload,
            now_ms,
        );
    };
    if sensor.is_empty() || !known.contains(sensor) {
        return reject(
            topic,
            None,
            format!("unknown sensor {sensor:?}: not in the site file"),
            payload,
            now_ms,
        );
    }
    if payload.len() > MAX_PAYLOAD_BYTES {
        return reject(
            topic,
            Some(sensor),
            format!(
                "payload of {} bytes exceeds {MAX_PAYLOAD_BYTES}",
                payload.len()
            ),
            &payload[..64],
            now_ms,
        );
    }
    let signal = |kind: SignalKind| ZoneSignal::for_sensor(sensor, kind, now_ms);
    match leaf {
        "state" => {
            if retained {
                return Parsed::Ignored;
            }
            let p: StatePayload = match serde_json::from_slice(payload) {
                Ok(p) => p,
                Err(e) => {
                    return reject(
                        topic,
                        Some(sensor),
                        format!("bad JSON state payload: {e}"),
                        payload,
                        now_ms,
                    );
                }
            };
            let (kind, category) = match p.state.as_str() {
                "alarm" => (SignalKind::Alarm, None),
                "normal" => (SignalKind::Restore, None),
                "tamper" => (SignalKind::Alarm, Some(ZoneType::Tamper)),
                "trouble" => (SignalKind::Trouble, None),
                "trouble_restore" => (SignalKind::TroubleRestore, None),
                "low_battery" => (SignalKind::Trouble, Some(ZoneType::Battery)),
                "battery_restore" => (SignalKind::TroubleRestore, Some(ZoneType::Battery)),
                "test" => (SignalKind::Test, None),
                other => {
                    return reject(
                        topic,
                        Some(sensor),
                        format!(
                            "unknown state {other:?}: expected alarm, normal, tamper, trouble, trouble_restore, low_battery, battery_restore or test"
                        ),
                        payload,
                        now_ms,
                    );
                }
            };
            let mut s = signal(kind);
            s.category = category;
            s.source_time_ms = p.ts_ms;
            s.seq = p.seq;
            s.test = p.test;
            s.code = Some(format!("mqtt:{}", p.state));
            Parsed::Signal(s)
        }
        "heartbeat" => {
            let p: HeartbeatPayload = if payload.iter().all(u8::is_ascii_whitespace) {
                HeartbeatPayload::default()
            } else {
                match serde_json::from_slice(payload) {
                    Ok(p) => p,
                    Err(e) => {
                        return reject(
                            topic,
                            Some(sensor),
                            format!("bad JSON heartbeat payload: {e}"),
                            payload,
                            now_ms,
                        );
                    }
                }
            };
            let mut s = signal(SignalKind::Heartbeat);
            s.source_time_ms = p.ts_ms;
            s.seq = p.seq;
            Parsed::Signal(s)
        }
        "status" => match std::str::from_utf8(payload).map(|t| t.trim().trim_matches('"')) {
            Ok("online") => Parsed::Signal(signal(SignalKind::Online)),
            Ok("offline") => Parsed::Signal(signal(SignalKind::Offline)),
            _ => reject(
                topic,
                Some(sensor),
                "bad status: expected online or offline".into(),
                payload,
                now_ms,
            ),
        },
        other => reject(
            topic,
            Some(sensor),
            format!("unknown topic leaf {other:?}: expected state, heartbeat or status"),
            payload,
            now_ms,
        ),
    }
}

/// The adapter: one broker connection for one site.
pub struct MqttAdapter<S, C> {
    cfg: MqttConfig,
    known: BTreeSet<String>,
    sink: S,
    clock: C,
}

impl<S: SignalSink, C: Clock> MqttAdapter<S, C> {
    /// An adapter accepting messages for `sensor_ids`.
    pub fn new(
        cfg: MqttConfig,
        sensor_ids: impl IntoIterator<Item = String>,
        sink: S,
        clock: C,
    ) -> Self {
        MqttAdapter {
            cfg,
            known: sensor_ids.into_iter().collect(),
            sink,
            clock,
        }
    }

    /// The subscription filter.
    pub fn filter(&self) -> String {
        format!("{}/sensor/+/+", self.cfg.topic_prefix)
    }

    /// Runs until `shutdown` completes (then `Ok`) or the sink fails (then `Err`, nothing
    /// unacknowledged is lost: the broker redelivers it to the next run).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), MqttError> {
        let mut opts = MqttOptions::new(&self.cfg.client_id, &self.cfg.host, self.cfg.port);
        opts.set_keep_alive(Duration::from_secs(u64::from(self.cfg.keep_alive_s.max(5))));
        opts.set_clean_session(self.cfg.clean_session);
        opts.set_manual_acks(true);
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        let broker = format!("{}:{}", self.cfg.host, self.cfg.port);
        let filter = self.filter();
        let mut connected = false;
        let mut lost = false;
        tokio::pin!(shutdown);
        loop {
            let event = tokio::select! {
                () = &mut shutdown => {
                    let _ = client.try_disconnect();
                    return Ok(());
                }
                ev = eventloop.poll() => ev,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client.subscribe(filter.clone(), QoS::AtLeastOnce).await?;
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if !connected {
                        connected = true;
                        let f =
                            Fact::new(kinds::MQTT_CONNECTED, Actor::System, self.clock.now_ms())
                                .with("broker", broker.clone())
                                .with("filter", filter.clone())
                                .with("reconnected", lost);
                        self.sink.fact(f).await?;
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => self.handle(&client, &p).await?,
                Ok(_) => {}
                Err(e) => {
                    if connected {
                        connected = false;
                        lost = true;
                        let f =
                            Fact::new(kinds::MQTT_DISCONNECTED, Actor::System, self.clock.now_ms())
                                .with("broker", broker.clone())
                                .with("error", e.to_string());
                        self.sink.fact(f).await?;
                    }
                    // Back off before the next attempt (the event loop reconnects on poll).
                    tokio::select! {
                        () = &mut shutdown => return Ok(()),
                        () = tokio::time::sleep(Duration::from_millis(self.cfg.reconnect_delay_ms)) => {}
                    }
                }
            }
        }
    }

    async fn handle(&self, client: &AsyncClient, p: &Publish) -> Result<(), MqttError> {
        let now_ms = self.clock.now_ms();
        match parse_message(
            &self.cfg.topic_prefix,
            &self.known,
            &p.topic,
            &p.payload,
            p.retain,
            now_ms,
        ) {
            Parsed::Signal(s) => self.sink.signal(s).await?,
            Parsed::Rejected(f) => self.sink.fact(f).await?,
            Parsed::Ignored => {}
        }
        client.ack(p).await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "mqtt_tests.rs"]
mod tests;
