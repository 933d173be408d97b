//! Benchmark: alarm fact → first SMS request received by the provider (`webhook_sink.py`), through
//! the whole pipeline (escalation engine, file outbox with fsync, dispatcher, HTTP on loopback).
//!
//! `cargo run --release -p strongroom-notify --example latency -- [ALARMS] [INTERVAL_MS]`
//! (defaults 300 alarms, one every 10 ms). Prints p50/p90/p99/max of trigger → request received,
//! measured on the wall clock (the sink stamps each request with `time.time()`).
#[path = "../tests/support/peer.rs"]
mod peer;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use strongroom_domain::site::{Chain, ChainStep, Channel as Kind, Contact, Notify as SiteNotify};
use strongroom_domain::{Actor, Clock, Fact, SystemClock};
use strongroom_notify::{
    Channel, Channels, Dispatcher, DispatcherConfig, Escalator, EscalatorConfig, FileOutbox,
    Notifier, VecSink, WebhookAuth, WebhookChannel, WebhookConfig,
};

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let alarms: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let interval_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);

    let (python, script) = match peer::locate("webhook_sink.py", true) {
        Ok(p) => p,
        Err(reason) => {
            println!("SKIP: {reason}");
            return Ok(());
        }
    };
    let mut sink = peer::Peer::start(&python, &script, 120, &[])?;
    let port = sink.port;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let notify = SiteNotify {
        smtp: None,
        webhook: None,
        contacts: vec![Contact {
            id: "monitor".into(),
            name: "Monitoring desk".into(),
            phone: Some("+12175550102".into()),
            email: None,
            monitoring: false,
        }],
        chains: vec![Chain {
            id: "alarms".into(),
            applies_to: vec!["alarm.*".into()],
            steps: vec![ChainStep {
                contact: "monitor".into(),
                channel: Kind::Sms,
                after_s: 0,
            }],
        }],
    };
    let escalator = Escalator::new(EscalatorConfig {
        notify,
        ..EscalatorConfig::default()
    });
    let wh: Arc<dyn Channel> = Arc::new(WebhookChannel::new(
        WebhookConfig {
            sms_url: format!("http://127.0.0.1:{port}/2010-04-01/Accounts/AC1/Messages.json"),
            voice_url: format!("http://127.0.0.1:{port}/2010-04-01/Accounts/AC1/Calls.json"),
            from: "+15550009999".into(),
            auth: WebhookAuth::from_token("AC1:secret"),
            voice_audio_url: None,
            timeout_ms: 5_000,
        },
        clock.clone(),
    )?);
    let channels = Channels {
        email: None,
        sms: Some(wh.clone()),
        voice: Some(wh),
    };
    let dir = tempfile::tempdir()?;
    let outbox = Arc::new(FileOutbox::open(dir.path().join("outbox.jsonl"))?);
    let facts = Arc::new(VecSink::default());
    let disp = Arc::new(Dispatcher::new(
        outbox.clone(),
        Arc::new(channels),
        facts.clone(),
        clock.clone(),
        DispatcherConfig::default(),
    ));
    let notifier = Arc::new(Notifier::new(
        escalator,
        outbox,
        facts.clone(),
        clock.clone(),
        disp.waker(),
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let d_task = tokio::spawn(disp.clone().run(stop_rx.clone()));
    let t_task = tokio::spawn(notifier.clone().run_timer(stop_rx));

    let mut triggered: BTreeMap<String, f64> = BTreeMap::new();
    for i in 0..alarms {
        let marker = format!("bench{i:05}");
        let fact = Fact::new(
            "alarm.raised",
            Actor::Device(format!("sensor-{i}")),
            clock.now_ms(),
        )
        .with("alarm_type", marker.as_str());
        triggered.insert(marker, now_s());
        notifier.on_fact(&fact).await?;
        tokio::time::sleep(Duration::from_millis(interval_ms)).await;
    }

    // Collect what the provider saw (blocking waits off the runtime threads).
    let n = alarms;
    let (sink, received) = tokio::task::spawn_blocking(move || {
        let mut got: BTreeMap<String, f64> = BTreeMap::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while got.len() < n && std::time::Instant::now() < deadline {
            for v in sink.drain() {
                let body = v["body"]["Body"].as_str().unwrap_or_default();
                if let (Some(pos), Some(t)) = (body.find("bench"), v["t"].as_f64()) {
                    let marker: String = body[pos..].chars().take(10).collect();
                    got.entry(marker).or_insert(t);
                }
            }
            if got.len() < n {
                // Poll: gathers lines for 50 ms (bounded by the deadline above).
                let _ = sink.wait_for(Duration::from_millis(50), |_| false);
            }
        }
        let max_n = sink
            .seen
            .iter()
            .filter_map(|v| v["n"].as_u64())
            .max()
            .unwrap_or(0);
        let parsed = sink.seen.iter().filter(|v| v.get("n").is_some()).count();
        if max_n as usize != parsed {
            println!(
                "note: the sink numbered {max_n} requests but {parsed} of its lines parsed \
                 (its threads print concurrently; interleaved lines are lost)"
            );
        }
        (sink, got)
    })
    .await?;
    drop(sink);
    stop_tx.send(true).ok();
    let _ = d_task.await;
    let _ = t_task.await;

    let mut lat_ms: Vec<f64> = triggered
        .iter()
        .filter_map(|(m, t0)| received.get(m).map(|t1| (t1 - t0) * 1000.0))
        .collect();
    lat_ms.sort_by(|a, b| a.total_cmp(b));
    let sent = facts
        .facts()
        .iter()
        .filter(|f| f.kind == "notify.sent")
        .count();
    println!(
        "alarms={alarms} interval_ms={interval_ms} received={} sent_facts={sent}",
        lat_ms.len()
    );
    println!(
        "trigger -> first webhook request (ms): p50={:.1} p90={:.1} p99={:.1} max={:.1}",
        percentile(&lat_ms, 50.0),
        percentile(&lat_ms, 90.0),
        percentile(&lat_ms, 99.0),
        lat_ms.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
