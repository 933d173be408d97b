//! Card read → LED command latency over a real pty pair (socat), end to end through the tokio
//! driver, with both line ends paced to a serial baud rate (default 115200, 8N1: 10 bits/byte).
//!
//! The PD end is the crate's simulated reader. For each read it records
//! * `present→LED`: card presented at a random moment → complete LED command received
//!   (includes waiting for the next POLL), and
//! * `RAW→LED`: RAW reply written → complete LED command received.
//!
//! Run: `cargo run --release -p strongroom-osdp --example pty_latency -- [reads] [baud]`

#![allow(clippy::unwrap_used, clippy::expect_used)] // measurement tool, not product code

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};
use std::time::Duration;

use strongroom_osdp::cp::{
    ControlPanel, CpConfig, CpEvent, ReaderCommand, ReaderConfig, ReaderKey,
};
use strongroom_osdp::driver;
use strongroom_osdp::message::{LedCommand, cmd};
use strongroom_osdp::sim::SimPd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, Sleep};

const KEY: [u8; 16] = [0x6B; 16];

/// Delays each write by its transmission time at `baud` (10 bits per byte).
struct Paced<T> {
    inner: T,
    baud: u64,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Paced<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Paced<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(per_byte_us) = 10_000_000u64.checked_div(self.baud) {
            if self.sleep.is_none() {
                let us = data.len() as u64 * per_byte_us;
                self.sleep = Some(Box::pin(tokio::time::sleep(Duration::from_micros(us))));
            }
            if let Some(s) = self.sleep.as_mut()
                && s.as_mut().poll(cx).is_pending()
            {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reads: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let baud: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(115_200);

    let dir = std::env::temp_dir().join(format!("osdp-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pd_path, cp_path) = (dir.join("ttyPD"), dir.join("ttyCP"));
    let mut socat = tokio::process::Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", pd_path.display()))
        .arg(format!("pty,raw,echo=0,link={}", cp_path.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("socat");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(pd_path.exists() && cp_path.exists()) {
        assert!(Instant::now() < deadline, "socat ptys did not appear");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // CP side: driver + an "application" that answers every card with the grant LED.
    let cp = ControlPanel::new(
        CpConfig::default(),
        vec![ReaderConfig {
            address: 1,
            key: ReaderKey::Commissioned(KEY),
        }],
    )
    .unwrap();
    let cp_io = Paced {
        inner: driver::open_tty(&cp_path).unwrap(),
        baud,
        sleep: None,
    };
    let mut drv = driver::spawn(cp_io, cp);
    let handle = drv.handle.clone();
    tokio::spawn(async move {
        while let Some(ev) = drv.events.recv().await {
            if let CpEvent::CardRead { address, .. } = ev {
                let _ = handle
                    .send(address, ReaderCommand::Led(LedCommand::grant()))
                    .await;
            }
        }
    });

    // PD side.
    let mut pd_io = Paced {
        inner: driver::open_tty(&pd_path).unwrap(),
        baud,
        sleep: None,
    };
    let mut pd = SimPd::new(1, KEY);
    let mut buf = [0u8; 512];
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut present_to_led = Vec::with_capacity(reads);
    let mut raw_to_led = Vec::with_capacity(reads);
    let mut next_present = Instant::now() + Duration::from_millis(500);
    let mut presented_at: Option<Instant> = None;
    let mut raw_at: Option<Instant> = None;
    let end = Instant::now() + Duration::from_secs(30 + reads as u64);
    while present_to_led.len() < reads && Instant::now() < end {
        tokio::select! {
            r = pd_io.read(&mut buf) => {
                let n = r.expect("pd read");
                let before = pd.pending_events();
                let replies = pd.handle_input(&buf[..n]);
                let carried_card = before > 0 && pd.pending_events() < before;
                for reply in replies {
                    pd_io.write_all(&reply).await.expect("pd write");
                }
                if carried_card { raw_at = Some(Instant::now()); }
                if pd.take_received().iter().any(|r| r.code == cmd::LED) {
                    let now = Instant::now();
                    if let (Some(p), Some(r)) = (presented_at.take(), raw_at.take()) {
                        present_to_led.push(now - p);
                        raw_to_led.push(now - r);
                    }
                    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                    next_present = now + Duration::from_millis(20 + rng % 100);
                }
            }
            _ = tokio::time::sleep_until(next_present), if presented_at.is_none() => {
                pd.present_card(123, 4567);
                presented_at = Some(Instant::now());
            }
        }
    }
    let _ = socat.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    let n = present_to_led.len();
    println!(
        "pty loopback, {} baud pacing, secure channel on, {n} reads:",
        if baud == 0 {
            "no".to_string()
        } else {
            baud.to_string()
        }
    );
    println!(
        "  present→LED: p50 {:?}  p99 {:?}  max {:?}",
        pct(&mut present_to_led, 0.5),
        pct(&mut present_to_led, 0.99),
        pct(&mut present_to_led, 1.0)
    );
    println!(
        "  RAW→LED:     p50 {:?}  p99 {:?}  max {:?}",
        pct(&mut raw_to_led, 0.5),
        pct(&mut raw_to_led, 0.99),
        pct(&mut raw_to_led, 1.0)
    );
}
