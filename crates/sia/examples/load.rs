//! Load driver: a receiver on loopback TCP and N simulated panels (one connection each) sending
//! Contact ID frames at a fixed total rate. Measures client-side send→ACK latency (which bounds
//! the receiver's message-received→ACK-sent latency from above), throughput and loss.
//!
//! `cargo run --release -p strongroom-sia --example load -- [--accounts 100] [--rate 1000]
//!  [--seconds 5] [--encrypted] [--sink-delay-us 0]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use strongroom_sia::clock::SystemClock;
use strongroom_sia::frame::{Content, Frame, Header, MessageKind};
use strongroom_sia::receiver::{Receiver, ReceiverConfig, SignalSink, SinkError};
use strongroom_sia::signal::AlarmSignal;
use strongroom_sia::supervisor::SupervisionEvent;
use strongroom_sia::{AccountPolicy, AesKey, FrameDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct CountingSink {
    delivered: AtomicU64,
    delay_us: u64,
}

impl SignalSink for CountingSink {
    async fn deliver(&self, _signal: AlarmSignal) -> Result<(), SinkError> {
        if self.delay_us > 0 {
            tokio::time::sleep(Duration::from_micros(self.delay_us)).await; // simulated journal fsync
        }
        self.delivered.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    async fn supervision(&self, _event: SupervisionEvent) -> Result<(), SinkError> {
        Ok(())
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let a: Vec<String> = std::env::args().collect();
    a.iter()
        .position(|x| x == name)
        .and_then(|i| a.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let accounts = arg("--accounts", 100);
    let rate = arg("--rate", 1000);
    let seconds = arg("--seconds", 5);
    let delay_us = arg("--sink-delay-us", 0);
    let encrypted = std::env::args().any(|a| a == "--encrypted");
    let key = if encrypted {
        Some(AesKey::from_ascii("0123456789ABCDEF")?)
    } else {
        None
    };
    let policies: Vec<AccountPolicy> = (0..accounts)
        .map(|i| AccountPolicy {
            account: format!("{:04X}", 0x1000 + i),
            key: key.clone(),
            supervision_interval_s: Some(300),
        })
        .collect();
    let sink = Arc::new(CountingSink {
        delivered: AtomicU64::new(0),
        delay_us,
    });
    let cfg = ReceiverConfig {
        tcp_addr: Some("127.0.0.1:0".parse()?),
        accounts: policies,
        ..ReceiverConfig::default()
    };
    let rx = Receiver::start(cfg, sink.clone(), Arc::new(SystemClock)).await?;
    let addr = rx.tcp_addr().ok_or("no tcp addr")?;
    let per_account_interval = Duration::from_secs_f64(accounts as f64 / rate as f64);
    let per_account = (seconds as f64 / per_account_interval.as_secs_f64()).round() as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..accounts {
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let acct = format!("{:04X}", 0x1000 + i);
            let mut lat = Vec::with_capacity(per_account as usize);
            let mut s = TcpStream::connect(addr).await.ok()?;
            let _ = s.set_nodelay(true);
            // stagger the panels over one interval
            let offset = per_account_interval.mul_f64(i as f64 / accounts as f64);
            let mut iv = tokio::time::interval_at(
                tokio::time::Instant::now() + offset,
                per_account_interval,
            );
            let mut dec = FrameDecoder::default();
            let mut buf = [0u8; 512];
            for n in 0..per_account {
                iv.tick().await;
                let seq = (n % 9999) as u16 + 1;
                let h = Header {
                    kind: MessageKind::AdmCid,
                    encrypted: false,
                    seq,
                    receiver: Some("1".into()),
                    line: Some("0".into()),
                    account: Some(acct.clone()),
                };
                let c = Content {
                    data: format!("#{acct}|1130 01 {:03}", n % 1000),
                    extended: vec![],
                    timestamp: Some(Timestamp::now()),
                };
                let raw = Frame::build(h, &c, key.as_ref(), &[n as u8; 16])
                    .ok()?
                    .encode();
                let t0 = Instant::now();
                s.write_all(&raw).await.ok()?;
                let acked = loop {
                    let k = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                        .await
                        .ok()?
                        .ok()?;
                    if k == 0 {
                        return Some(lat);
                    }
                    dec.push(&buf[..k]);
                    if let Some(Ok(reply)) = dec.next_frame() {
                        break Frame::parse(&reply)
                            .map(|f| f.header.kind == MessageKind::Ack && f.header.seq == seq)
                            .unwrap_or(false);
                    }
                };
                if acked {
                    lat.push(t0.elapsed());
                }
            }
            Some(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        if let Ok(Some(l)) = t.await {
            all.extend(l);
        }
    }
    let elapsed = started.elapsed();
    all.sort();
    let sent = per_account * accounts;
    println!(
        "accounts={accounts} target_rate={rate}/s encrypted={encrypted} sink_delay_us={delay_us} duration={:.2}s",
        elapsed.as_secs_f64()
    );
    println!(
        "sent={sent} acked={} delivered={} lost={} throughput={:.0} msg/s",
        all.len(),
        sink.delivered.load(Ordering::Relaxed),
        sent.saturating_sub(all.len() as u64),
        all.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency send->ACK: p50={:.3}ms p99={:.3}ms p99.9={:.3}ms max={:.3}ms",
        pct(&all, 0.50).as_secs_f64() * 1e3,
        pct(&all, 0.99).as_secs_f64() * 1e3,
        pct(&all, 0.999).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    rx.shutdown().await;
    Ok(())
}
