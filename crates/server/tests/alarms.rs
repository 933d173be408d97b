//! Alarms and dispatch end to end, against real peers on 127.0.0.1:
//! - the my-dc09-spt dialler (`dc09_sender.py`) reports a Contact ID burglary and a silent holdup
//!   to the server's DC-09 receiver; the queue shows each only to the roles that may see it, and
//!   an operator acknowledges through the API (with CSRF);
//! - a Twilio-style webhook provider (`webhook_sink.py`) receives the SMS; signal → SMS latency is
//!   measured over a burst of alarms;
//! - Mosquitto (127.0.0.1:1883, `mosquitto_pub`) carries an MQTT sensor message that raises an
//!   alarm;
//! - the pysiaalarm central station (`dc09_receiver.py`) receives dispatched alarms, and the
//!   durable outbound queue survives a runtime restart.
//!
//! Tests print `SKIP: ...` and pass when a peer is absent, unless `STRONGROOM_REQUIRE_PEERS=1`.
mod common_alarm;

use std::sync::Arc;
use std::time::Duration;

use common_alarm::{
    PeerProc, dialler, free_port, peers, poll, server, server_on, sms_provider, start_store,
};
use serde_json::{Value, json};
use strongroom_domain::auth::Role;

const WAIT: Duration = Duration::from_secs(20);

/// A site with a DC-09 receiver on an ephemeral port, one panel, and notifications to `sink_port`.
fn site_toml(id: &str, sink_port: u16, extra: &str) -> String {
    format!(
        r#"
[site]
id = "{id}"
name = "Alarm Test Dispensary"
license_number = "284.000999-AUDO"
jurisdiction = "il-dispensary"
timezone = "America/Chicago"
address = "1 Test St, Springfield, IL"
operating_hours = {{ mon = "09:00-21:00" }}

[[area]]
id = "sales"
name = "Sales floor"
kind = "limited_access"

[[area]]
id = "pos"
name = "Point of sale"
kind = "point_of_sale"

[[panel]]
id = "panel-1"
name = "Intrusion panel"
account = "1234"

[[sensor]]
id = "z-motion"
name = "Sales floor motion"
kind = "motion"
area = "sales"
zone = 3
panel = "panel-1"

[[sensor]]
id = "holdup-pos"
name = "Holdup button, POS 1"
kind = "holdup"
area = "pos"
zone = 11
panel = "panel-1"

[[sensor]]
id = "panic-pos"
name = "Panic button, POS 1"
kind = "panic"
area = "pos"
zone = 10

[alarm_receiver]
listen = "127.0.0.1:0"

[policy]
exit_delay_s = 0
entry_delay_s = 0

[notify.webhook]
sms_url = "http://127.0.0.1:{sink_port}/sms"
voice_url = "http://127.0.0.1:{sink_port}/voice"
from = "+15550009999"

[[notify.contact]]
id = "manager"
name = "Security manager"
phone = "+15550000001"
monitoring = true

[[notify.contact]]
id = "owner"
name = "Owner"
phone = "+15550000002"

{extra}
"#
    )
}

const TWO_STEP_CHAIN: &str = r#"
[[notify.chain]]
id = "alarms"
applies_to = ["alarm.*"]
step = [
  { contact = "manager", channel = "sms", after_s = 0 },
  { contact = "owner", channel = "sms", after_s = 0 },
  { contact = "manager", channel = "voice", after_s = 600 },
]
"#;

const ONE_STEP_CHAIN: &str = r#"
[[notify.chain]]
id = "alarms"
applies_to = ["alarm.*"]
step = [ { contact = "manager", channel = "sms", after_s = 0 } ]
"#;

fn sms_to<'a>(lines: &'a [Value], to: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["path"] == "/sms" && l["body"]["To"] == to)
        .collect()
}

fn alarm_of_type<'a>(list: &'a Value, t: &str) -> Option<&'a Value> {
    list["alarms"]
        .as_array()?
        .iter()
        .find(|a| a["alarm_type"] == t)
}

/// Resolves an alarm through the API as `who` (with the CSRF token).
async fn resolve(
    sv: &common_alarm::Server,
    who: &common_alarm::Login,
    alarm_id: &str,
    outcome: &str,
    notes: &str,
) -> (u16, Value) {
    let body = if notes.is_empty() {
        json!({ "outcome": outcome })
    } else {
        json!({ "outcome": outcome, "notes": notes })
    };
    sv.post(who, &format!("/alarms/{alarm_id}/resolve"), body, true)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialler_burglary_and_holdup_reach_the_right_roles_and_the_sms_provider() {
    let Some(p) = peers() else { return };
    let sink_port = free_port();
    let sink_port_s = sink_port.to_string();
    let sink = PeerProc::spawn(
        &p,
        "webhook_sink.py",
        &["--port", &sink_port_s, "--duration", "60"],
    );
    let sv = server(&site_toml("alm-dc09", sink_port, TWO_STEP_CHAIN)).await;
    let rt = sv.site.alarm.get().expect("alarm runtime").clone();
    let port = rt.receiver_tcp_addr().expect("receiver").port().to_string();
    let op = sv.user("op", Role::MonitoringOperator).await;
    let mgr = sv.user("mgr", Role::SecurityManager).await;
    let reg = sv.user("reg", Role::Regulator).await;
    let agent = sv.user("agent", Role::Agent).await;

    // Arm (a motion zone raises only while armed); without CSRF nothing changes.
    let (s, _) = sv
        .post(
            &op,
            "/alarms/arming",
            json!({"partition": 1, "mode": "away"}),
            false,
        )
        .await;
    assert_eq!(s, 403);
    let (s, b) = sv
        .post(
            &op,
            "/alarms/arming",
            json!({"partition": 1, "mode": "away"}),
            true,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["partitions"][0]["state"], "away", "{b}");

    // The panel reports a burglary on zone 3 and a silent holdup on zone 11.
    let (ok, out) = dialler(
        &p,
        &[
            "--port",
            &port,
            "--account",
            "1234",
            "--code",
            "130",
            "--zone",
            "3",
            "--area",
            "1",
            "--seq",
            "21",
        ],
    )
    .await;
    assert!(ok, "burglary not ACKed: {out}");
    let (ok, out) = dialler(
        &p,
        &[
            "--port",
            &port,
            "--account",
            "1234",
            "--code",
            "122",
            "--zone",
            "11",
            "--area",
            "1",
            "--seq",
            "22",
        ],
    )
    .await;
    assert!(ok, "holdup not ACKed: {out}");

    // ACKed means journaled: both alarms are in the queue for the monitoring operator.
    let (_, list) = sv.get(&op, "/alarms").await;
    let burglary = alarm_of_type(&list, "intrusion")
        .expect("burglary queued")
        .clone();
    let holdup = alarm_of_type(&list, "holdup")
        .expect("holdup queued")
        .clone();
    assert_eq!(burglary["sensor"], "z-motion");
    assert_eq!(burglary["audible"], true);
    assert_eq!(holdup["sensor"], "holdup-pos");
    assert_eq!(holdup["audible"], false);
    assert_eq!(holdup["visibility"], "monitoring");
    let holdup_id = holdup["alarm_id"].as_str().expect("id").to_owned();
    let burglary_id = burglary["alarm_id"].as_str().expect("id").to_owned();

    // Security manager and regulator see the burglary but not the holdup; the agent sees nothing.
    for who in [&mgr, &reg] {
        let (s, l) = sv.get(who, "/alarms").await;
        assert_eq!(s, 200);
        assert!(alarm_of_type(&l, "intrusion").is_some(), "{l}");
        assert!(alarm_of_type(&l, "holdup").is_none(), "holdup leaked: {l}");
        let (s, _) = sv.get(who, &format!("/alarms/{holdup_id}")).await;
        assert_eq!(s, 404, "a hidden alarm must look like a missing one");
        let (s, arm) = sv.get(who, "/alarms/arming").await;
        assert_eq!(s, 200);
        assert!(
            arm["zones"]
                .as_array()
                .expect("zones")
                .iter()
                .all(|z| z["sensor"] != "holdup-pos"),
            "holdup zone leaked: {arm}"
        );
    }
    let (s, _) = sv.get(&agent, "/alarms").await;
    assert_eq!(s, 403);
    let (s, _) = sv
        .post(&mgr, &format!("/alarms/{holdup_id}/ack"), json!({}), true)
        .await;
    assert_eq!(s, 404, "a manager cannot act on a silent alarm");

    // Acknowledge: CSRF required, handling permission required, once only.
    let ack = format!("/alarms/{burglary_id}/ack");
    let (s, _) = sv.post(&op, &ack, json!({"note": "on it"}), false).await;
    assert_eq!(s, 403);
    let (s, _) = sv.post(&reg, &ack, json!({"note": "x"}), true).await;
    assert_eq!(s, 403);
    let (s, b) = sv.post(&op, &ack, json!({"note": "on it"}), true).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["acked_by"], "user:op");
    let (s, _) = sv.post(&op, &ack, json!({}), true).await;
    assert_eq!(s, 409);
    let (s, _) = sv.post(&op, &ack, json!({"bogus": 1}), true).await;
    assert_eq!(s, 400);

    // The SMS provider got the burglary for both contacts and the holdup only for the
    // monitoring contact.
    let got = poll(WAIT, || async {
        let l = sink.snapshot();
        let owner_burglary = sms_to(&l, "+15550000002").iter().any(|m| {
            m["body"]["Body"]
                .as_str()
                .unwrap_or("")
                .contains("intrusion")
        });
        let mgr_holdup = sms_to(&l, "+15550000001")
            .iter()
            .any(|m| m["body"]["Body"].as_str().unwrap_or("").contains("holdup"));
        (owner_burglary && mgr_holdup).then_some(l)
    })
    .await
    .unwrap_or_else(|| panic!("SMS missing: {:?}", sink.snapshot()));
    assert!(
        sms_to(&got, "+15550000002")
            .iter()
            .all(|m| !m["body"]["Body"].as_str().unwrap_or("").contains("holdup")),
        "the holdup reached a non-monitoring contact: {got:?}"
    );

    // The acknowledgment stopped the burglary's escalation (notify.acknowledged is journaled).
    let acked = poll(WAIT, || async {
        sv.events("notify.acknowledged")
            .await
            .into_iter()
            .any(|(_, p)| p["by"] == "user:op")
            .then_some(())
    })
    .await;
    assert!(acked.is_some(), "incident not acknowledged");
    // The SMS is recorded as a dispatch of the alarm.
    let routed = poll(WAIT, || async {
        let (_, b) = sv.get(&op, &format!("/alarms/{burglary_id}")).await;
        b["dispatch_routes"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
            .then_some(())
    })
    .await;
    assert!(routed.is_some(), "SMS not recorded as a dispatch");

    // Notes and resolution; bad outcomes change nothing.
    let (s, _) = sv
        .post(
            &op,
            &format!("/alarms/{holdup_id}/notes"),
            json!({"note": "police called"}),
            true,
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = resolve(&sv, &op, &holdup_id, "maybe", "").await;
    assert_eq!(s, 400);
    let (s, _) = resolve(&sv, &op, &holdup_id, "drill", "").await;
    assert_eq!(s, 400, "a real alarm cannot be closed as a drill");
    let (s, b) = resolve(&sv, &op, &holdup_id, "real", "robbery").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["outcome"], "real");
    let (_, list) = sv.get(&op, "/alarms").await;
    assert!(alarm_of_type(&list, "holdup").is_none());
    let (s, rep) = sv.get(&op, "/alarms/report").await;
    assert_eq!(s, 200);
    assert_eq!(rep["summary"]["raised_to_ack"]["count"], 2, "{rep}");
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_to_sms_latency_over_a_burst_of_alarms() {
    use strongroom_sia::clock::SystemClock as SiaClock;
    use strongroom_sia::queue::{AttemptOutcome, MemoryQueue, MemoryRecorder};
    use strongroom_sia::sender::{Sender, SenderConfig};
    use strongroom_sia::{AlarmSignal, Protocol, Qualifier};

    let Some(p) = peers() else { return };
    const N: usize = 60;
    let sink_port = free_port();
    let sink_port_s = sink_port.to_string();
    let sink = PeerProc::spawn(
        &p,
        "webhook_sink.py",
        &["--port", &sink_port_s, "--duration", "60"],
    );
    let sv = server(&site_toml("alm-lat", sink_port, ONE_STEP_CHAIN)).await;
    let rt = sv.site.alarm.get().expect("alarm runtime").clone();
    let addr = rt.receiver_tcp_addr().expect("receiver");
    // The sink must be up before the first alarm (its start-up is not part of the latency).
    assert!(
        poll(WAIT, || async {
            (!sink.snapshot().is_empty()).then_some(())
        })
        .await
        .is_some(),
        "webhook sink did not start"
    );

    // A panel sending N panic reports (Contact ID 120) on N different zones, one frame each.
    let queue = Arc::new(MemoryQueue::new());
    let rec = Arc::new(MemoryRecorder::default());
    let sender = Sender::new(
        SenderConfig::new(addr, "1234"),
        queue,
        rec.clone(),
        Arc::new(SiaClock),
    );
    let handle = sender.handle();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(sender.run(stop_rx));
    for z in 0..N {
        let mut s = AlarmSignal::new("1234", Protocol::ContactId, "120", Qualifier::New);
        s.zone = Some(100 + u32::try_from(z).expect("zone"));
        s.partition = Some(1);
        handle
            .enqueue(s, jiff::Timestamp::now())
            .await
            .expect("enqueue");
    }
    let acks = poll(WAIT, || async {
        let n = rec
            .records()
            .iter()
            .filter(|r| r.outcome == AttemptOutcome::Ack)
            .count();
        (n >= N).then_some(n)
    })
    .await;
    assert!(acks.is_some(), "panel frames not all ACKed");
    let lines = poll(Duration::from_secs(30), || async {
        let l = sink.snapshot();
        (sms_to(&l, "+15550000001").len() >= N).then_some(l)
    })
    .await;
    let Some(lines) = lines else {
        let mut kinds = std::collections::BTreeMap::<String, usize>::new();
        for (k, p) in sv.events("").await {
            if k.starts_with("notify.failed") || k.starts_with("notify.outbox") {
                println!("{k} {p}");
            }
            *kinds.entry(k).or_default() += 1;
        }
        panic!(
            "only {} SMS arrived; journal: {kinds:?}",
            sms_to(&sink.snapshot(), "+15550000001").len()
        );
    };
    let _ = stop.send(true);
    let _ = task.await;
    assert_eq!(
        sms_to(&lines, "+15550000001").len(),
        N,
        "one SMS per alarm, no duplicates"
    );

    // Latency: provider receipt time minus the alarm's time (its incident id carries it).
    let mut lat_ms: Vec<i64> = sms_to(&lines, "+15550000001")
        .iter()
        .filter_map(|m| {
            let body = m["body"]["Body"].as_str()?;
            let inc = body.split("Incident inc-").nth(1)?;
            let raised_ms: i64 = inc.split('-').next()?.parse().ok()?;
            let t_ms = (m["t"].as_f64()? * 1000.0) as i64;
            Some(t_ms - raised_ms)
        })
        .collect();
    assert_eq!(lat_ms.len(), N, "every SMS names its incident");
    lat_ms.sort_unstable();
    let pct = |q: usize| lat_ms[((lat_ms.len() * q).div_ceil(100)).saturating_sub(1)];
    println!(
        "signal->SMS latency over {N} alarms: p50 {} ms, p99 {} ms, max {} ms",
        pct(50),
        pct(99),
        lat_ms[lat_ms.len() - 1]
    );
    assert!(pct(99) < 2000, "p99 {} ms", pct(99));
    // Every alarm is in the queue once.
    let op = sv.user("op", Role::MonitoringOperator).await;
    let (_, list) = sv.get(&op, "/alarms").await;
    assert_eq!(list["alarms"].as_array().map(Vec::len), Some(N));
    rt.shutdown().await;
}

fn mosquitto_up() -> bool {
    std::net::TcpStream::connect_timeout(
        &"127.0.0.1:1883".parse().expect("addr"),
        Duration::from_secs(1),
    )
    .is_ok()
        && std::process::Command::new("mosquitto_pub")
            .arg("--help")
            .output()
            .is_ok()
}

async fn mqtt_publish(topic: &str, payload: &str) -> bool {
    let mut cmd = tokio::process::Command::new("mosquitto_pub");
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        "1883",
        "-q",
        "1",
        "-t",
        topic,
        "-m",
        payload,
    ])
    .kill_on_drop(true);
    matches!(
        tokio::time::timeout(Duration::from_secs(10), cmd.status()).await,
        Ok(Ok(s)) if s.success()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_sensor_message_raises_an_alarm() {
    if !mosquitto_up() {
        assert!(
            std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() != Ok("1"),
            "Mosquitto is not running on 127.0.0.1:1883"
        );
        println!("SKIP: Mosquitto is not running on 127.0.0.1:1883");
        return;
    }
    let prefix = format!(
        "srtest/{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    );
    let extra = format!(
        "{ONE_STEP_CHAIN}\n[mqtt]\nbroker = \"127.0.0.1:1883\"\ntopic_prefix = \"{prefix}\"\n"
    );
    let sv = server(&site_toml(
        &format!("alm-mqtt-{}", std::process::id()),
        free_port(),
        &extra,
    ))
    .await;
    let rt = sv.site.alarm.get().expect("alarm runtime").clone();
    let connected = poll(WAIT, || async {
        (!sv.events("sensor.bus_connected").await.is_empty()).then_some(())
    })
    .await;
    assert!(connected.is_some(), "adapter did not connect");

    // A bad message is refused and journaled; a good one raises the panic alarm.
    assert!(mqtt_publish(&format!("{prefix}/sensor/panic-pos/state"), "{not json").await);
    assert!(
        mqtt_publish(
            &format!("{prefix}/sensor/panic-pos/state"),
            r#"{"state":"alarm","seq":7}"#
        )
        .await
    );
    let op = sv.user("op", Role::MonitoringOperator).await;
    let alarm = poll(WAIT, || async {
        let (_, l) = sv.get(&op, "/alarms").await;
        alarm_of_type(&l, "panic").cloned()
    })
    .await
    .expect("MQTT panic in the queue");
    assert_eq!(alarm["sensor"], "panic-pos");
    let rejected = sv.events("sensor.message_rejected").await;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let (s, arm) = sv.get(&op, "/alarms/arming").await;
    assert_eq!(s, 200);
    let z = arm["zones"]
        .as_array()
        .and_then(|v| v.iter().find(|z| z["sensor"] == "panic-pos"))
        .cloned()
        .expect("zone");
    assert_eq!(z["state"], "alarm");
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_panic_drill_and_bad_input() {
    let sv = server(&site_toml("alm-console", free_port(), "")).await;
    let rt = sv.site.alarm.get().expect("alarm runtime").clone();
    let op = sv.user("op", Role::MonitoringOperator).await;
    let agent = sv.user("agent", Role::Agent).await;
    let reg = sv.user("reg", Role::Regulator).await;

    let (s, b) = sv.post(&agent, "/alarms/panic", json!({}), true).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["raised"], true);
    let (s, _) = sv.post(&reg, "/alarms/panic", json!({}), true).await;
    assert_eq!(s, 403);
    let (_, l) = sv.get(&op, "/alarms").await;
    let panic = alarm_of_type(&l, "panic").expect("console panic queued");
    assert_eq!(panic["audible"], true);

    // Drill: a test alarm that must be resolved as a drill.
    let before = sv.events("alarm.").await.len();
    let (s, _) = sv
        .post(&op, "/alarms/drill", json!({"sensor": "nope"}), true)
        .await;
    assert_eq!(s, 400);
    let (s, _) = sv
        .post(&op, "/alarms/arming", json!({"mode": "sideways"}), true)
        .await;
    assert_eq!(s, 400);
    let (s, _) = sv
        .post(
            &op,
            "/alarms/arming",
            json!({"partition": 9, "mode": "away"}),
            true,
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        sv.events("alarm.").await.len(),
        before,
        "bad input changed nothing"
    );
    assert!(sv.events("arming.").await.is_empty());
    let (s, b) = sv
        .post(&op, "/alarms/drill", json!({"sensor": "z-motion"}), true)
        .await;
    assert_eq!(s, 201, "{b}");
    let drill_id = b["alarm_id"].as_str().expect("drill id").to_owned();
    let (s, _) = resolve(&sv, &op, &drill_id, "real", "").await;
    assert_eq!(s, 400);
    let (s, b) = resolve(&sv, &op, &drill_id, "drill", "").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["acked_by"], "user:op");
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn central_station_gets_alarms_and_the_outbound_queue_survives_a_restart() {
    let Some(p) = peers() else { return };
    let cs_port = free_port();
    let extra = format!(
        "{ONE_STEP_CHAIN}\n[central_station]\nprimary = \"127.0.0.1:{cs_port}\"\naccount = \"5678\"\nreceiver = \"1\"\nline = \"1\"\n"
    );
    let toml = site_toml("alm-cs", free_port(), &extra);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = start_store(&dir).await;

    // First run: the central station is down, so the holdup stays queued.
    let sv = server_on(&toml, dir, store.clone()).await;
    let rt = sv.site.alarm.get().expect("alarm runtime").clone();
    let port = rt.receiver_tcp_addr().expect("receiver").port().to_string();
    let (ok, out) = dialler(
        &p,
        &[
            "--port",
            &port,
            "--account",
            "1234",
            "--code",
            "122",
            "--zone",
            "11",
            "--area",
            "1",
        ],
    )
    .await;
    assert!(ok, "{out}");
    let queued = poll(WAIT, || async {
        (rt.central_pending().await == Some(1)).then_some(())
    })
    .await;
    assert!(
        queued.is_some(),
        "holdup not queued for the central station"
    );
    let failed = poll(WAIT, || async {
        sv.events("dispatch.attempt")
            .await
            .into_iter()
            .any(|(_, p)| p["outcome"] != "ack")
            .then_some(())
    })
    .await;
    assert!(failed.is_some(), "failed attempt not journaled");
    rt.shutdown().await;
    let mut sv = sv;
    let dir = sv.take_dir();
    drop(sv);

    // Second run with the central station up: the queued holdup goes out and is ACKed.
    let cs_port_s = cs_port.to_string();
    let central = PeerProc::spawn(
        &p,
        "dc09_receiver.py",
        &[
            "--port",
            &cs_port_s,
            "--duration",
            "40",
            "--account",
            "5678",
        ],
    );
    assert!(
        poll(WAIT, || async {
            central
                .snapshot()
                .iter()
                .any(|v| v.get("listening").is_some())
                .then_some(())
        })
        .await
        .is_some(),
        "central station did not start"
    );
    let sv = server_on(&toml, dir, store).await;
    let rt = sv.site.alarm.get().expect("alarm runtime").clone();
    let acked = poll(Duration::from_secs(30), || async {
        sv.events("dispatch.attempt")
            .await
            .into_iter()
            .find(|(_, p)| p["outcome"] == "ack")
    })
    .await
    .expect("ACK from the central station");
    assert_eq!(acked.1["code"], "122");
    assert_eq!(acked.1["visibility"], "monitoring");
    assert!(
        central
            .snapshot()
            .iter()
            .any(|v| v["raw"].as_str().unwrap_or("").contains("1122")),
        "{:?}",
        central.snapshot()
    );
    // The sender journals the ACKed attempt, then takes the item off its queue.
    assert!(
        poll(WAIT, || async {
            (rt.central_pending().await == Some(0)).then_some(())
        })
        .await
        .is_some(),
        "the ACKed signal stays queued"
    );
    let op = sv.user("op2", Role::MonitoringOperator).await;
    let (_, l) = sv.get(&op, "/alarms").await;
    let h = alarm_of_type(&l, "holdup").expect("holdup survives the restart");
    assert!(
        h["dispatch_routes"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "central_station")),
        "{h}"
    );
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_alarms_reach_the_queue_and_a_silent_panel_is_a_failure() {
    use strongroom_domain::{Actor, Fact};
    let toml = site_toml("alm-access", free_port(), "").replace(
        "account = \"1234\"\n",
        "account = \"1234\"\nsupervision_interval_s = 1\n",
    );
    let sv = server(&toml).await;
    let rt = sv.site.alarm.get().expect("alarm runtime").clone();
    let op = sv.user("op", Role::MonitoringOperator).await;
    let reg = sv.user("reg", Role::Regulator).await;

    // What the access runtime journals for a duress PIN and a forced door.
    let now = sv.state.clock.now_ms();
    sv.site
        .journal
        .append(vec![
            Fact::new("alarm.duress", Actor::Device("r-vault".into()), now)
                .with("reader", "r-vault")
                .with("door", "vault-door")
                .with("person", "p-1")
                .with("credential", "c-duress")
                .with("silent", true),
            Fact::new("door.forced", Actor::Device("delivery".into()), now)
                .with("door", "delivery")
                .with("area", "back")
                .with("area_kind", "restricted_access"),
        ])
        .await
        .expect("journal");
    let list = poll(WAIT, || async {
        let (_, l) = sv.get(&op, "/alarms").await;
        (alarm_of_type(&l, "duress").is_some() && alarm_of_type(&l, "door_forced").is_some())
            .then_some(l)
    })
    .await
    .expect("access alarms in the queue");
    let duress = alarm_of_type(&list, "duress").expect("duress");
    assert_eq!(duress["visibility"], "monitoring");
    assert_eq!(duress["audible"], false);
    assert_eq!(duress["dispatch_required"], true);
    let (_, l) = sv.get(&reg, "/alarms").await;
    assert!(alarm_of_type(&l, "duress").is_none(), "duress leaked: {l}");
    assert_eq!(
        alarm_of_type(&l, "door_forced").map(|a| a["sensor"].clone()),
        Some(json!("delivery"))
    );

    // The panel never reports: DC-09 supervision journals a failure for it.
    let silent = poll(Duration::from_secs(10), || async {
        sv.events("health.device_silent")
            .await
            .into_iter()
            .find(|(_, p)| p["device"] == "panel-1")
    })
    .await
    .expect("panel supervision failure journaled");
    assert_eq!(silent.1["reason"], "dc09_supervision");

    // A NULL message from the dialler restores it.
    if let Some(p) = peers() {
        let port = rt.receiver_tcp_addr().expect("receiver").port().to_string();
        let (ok, out) = dialler(&p, &["--port", &port, "--account", "1234", "--null"]).await;
        assert!(ok, "{out}");
        let restored = poll(Duration::from_secs(10), || async {
            (!sv.events("health.device_restored").await.is_empty()).then_some(())
        })
        .await;
        assert!(restored.is_some(), "panel restore not journaled");
    }
    rt.shutdown().await;
}

/// A reload that adds a DC-09 account, a sensor on it and a notification chain takes effect
/// while the server runs: before it the new panel's report is refused; after it the same report
/// is acknowledged, raises an alarm on the new sensor and reaches the chain's contact by SMS. A
/// file the alarm subsystem cannot use (a panel key file that does not exist) is refused whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_an_account_a_sensor_and_a_chain() {
    let Some(p) = peers() else { return };
    let (sink, sink_port) = sms_provider(&p, 60);
    let rx_port = free_port();
    let fixed = |extra: &str| {
        site_toml("alm-reload", sink_port, extra).replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{rx_port}\""),
        )
    };
    let sv = server(&fixed("")).await;
    let op = sv.user("op", Role::MonitoringOperator).await;
    let first = sv.site.alarm.get().expect("alarm runtime");
    let port = rx_port.to_string();
    let report = [
        "--port",
        &port,
        "--account",
        "5678",
        "--code",
        "122",
        "--zone",
        "12",
        "--area",
        "1",
        "--seq",
        "31",
    ];
    let (ok, out) = dialler(&p, &report).await;
    assert!(
        !ok,
        "an account the site does not have was acknowledged: {out}"
    );

    const NEW_PANEL: &str = r#"
[[panel]]
id = "panel-2"
name = "Back office panel"
account = "5678"

[[sensor]]
id = "holdup-office"
name = "Holdup button, office"
kind = "holdup"
area = "pos"
zone = 12
panel = "panel-2"
"#;
    // Refused whole: a key file that is not there. Nothing restarts.
    let bad = fixed(&format!(
        "{ONE_STEP_CHAIN}{}",
        NEW_PANEL.replace(
            "account = \"5678\"",
            "account = \"5678\"\nkey_file = \"keys/absent.key\""
        )
    ));
    let err = sv
        .site
        .apply_config("bad.toml", &bad, strongroom_domain::Actor::System, 0)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("alarms"), "{err}");
    assert!(
        Arc::ptr_eq(&first, &sv.site.alarm.get().expect("alarm runtime")),
        "a refused file restarted the alarm subsystem"
    );

    // Applied: the runtime restarts on the new file, on the same port.
    sv.site
        .apply_config(
            "good.toml",
            &fixed(&format!("{ONE_STEP_CHAIN}{NEW_PANEL}")),
            strongroom_domain::Actor::System,
            0,
        )
        .await
        .expect("applied");
    let second = sv.site.alarm.get().expect("alarm runtime after reload");
    assert!(
        !Arc::ptr_eq(&first, &second),
        "the alarm subsystem restarted"
    );
    assert_eq!(
        second.receiver_tcp_addr().map(|a| a.port()),
        Some(rx_port),
        "the receiver listens where the file says"
    );
    let (ok, out) = dialler(&p, &report).await;
    assert!(ok, "the new account's report was not acknowledged: {out}");
    let (_, list) = sv.get(&op, "/alarms").await;
    let holdup = alarm_of_type(&list, "holdup").expect("holdup queued");
    assert_eq!(holdup["sensor"], "holdup-office", "{list}");
    let got = poll(WAIT, || async {
        let l = sink.snapshot();
        sms_to(&l, "+15550000001")
            .iter()
            .any(|m| m["body"]["Body"].as_str().unwrap_or("").contains("holdup"))
            .then_some(())
    })
    .await;
    assert!(
        got.is_some(),
        "the new chain sent nothing: {:?}",
        sink.snapshot()
    );
    second.shutdown().await;
}

/// Fail safe: a burglary from a zone the site file does not name (an installer added it at the
/// panel and forgot the file) is not left in the journal alone. The panel's report is ACKed and
/// becomes an operator alarm "unknown point" with the panel, zone and code, the manager gets the
/// SMS, and the journal holds the task to map the zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_from_an_unknown_zone_reaches_the_operator_and_the_chain() {
    let Some(p) = peers() else { return };
    let (sink, sink_port) = sms_provider(&p, 60);
    let sv = server(&site_toml("alm-unknown", sink_port, ONE_STEP_CHAIN)).await;
    let rt = sv.site.alarm.get().expect("alarm runtime");
    let port = rt.receiver_tcp_addr().expect("receiver").port().to_string();
    let op = sv.user("op", Role::MonitoringOperator).await;
    let (ok, out) = dialler(
        &p,
        &[
            "--port",
            &port,
            "--account",
            "1234",
            "--code",
            "130",
            "--zone",
            "99",
            "--area",
            "1",
            "--seq",
            "41",
        ],
    )
    .await;
    assert!(ok, "not ACKed: {out}");
    let (_, list) = sv.get(&op, "/alarms").await;
    let point = alarm_of_type(&list, "unknown_point").expect("an operator alarm");
    assert_eq!(point["zone"], 99, "{point}");
    let tasks = sv.events("alarm.signal_unmapped").await;
    assert!(
        tasks
            .iter()
            .any(|(_, p)| p["task"].as_str().is_some_and(|t| t.contains("zone 99"))),
        "{tasks:?}"
    );
    let sms = poll(WAIT, || async {
        let l = sink.snapshot();
        sms_to(&l, "+15550000001")
            .iter()
            .any(|m| {
                m["body"]["Body"]
                    .as_str()
                    .unwrap_or("")
                    .contains("unknown_point")
            })
            .then_some(())
    })
    .await;
    assert!(sms.is_some(), "no SMS: {:?}", sink.snapshot());
    rt.shutdown().await;
}
