//! Card read → LED command, inside the CP state machine: a sealed (SCS_18) RAW reply arrives,
//! the CP verifies its MAC, decrypts it and emits `CardRead`; the application answers with an
//! LED command, which the CP seals (SCS_17) and hands out for the wire. Only the CP side is
//! timed; the simulated PD's work is outside the measurement.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench harness

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use strongroom_osdp::cp::{
    ControlPanel, CpConfig, CpEvent, ReaderCommand, ReaderConfig, ReaderKey,
};
use strongroom_osdp::message::LedCommand;
use strongroom_osdp::sim::SimPd;

const KEY: [u8; 16] = [0x21; 16];

struct Rig {
    cp: ControlPanel,
    pd: SimPd,
    now: Instant,
}

impl Rig {
    fn new() -> Self {
        let cp = match ControlPanel::new(
            CpConfig::default(),
            vec![ReaderConfig {
                address: 1,
                key: ReaderKey::Commissioned(KEY),
            }],
        ) {
            Ok(cp) => cp,
            Err(e) => panic!("config: {e}"),
        };
        let mut rig = Rig {
            cp,
            pd: SimPd::new(1, KEY),
            now: Instant::now(),
        };
        rig.settle();
        assert!(rig.cp.is_secure(1), "secure channel must be up");
        rig
    }

    /// Run until the bus is idle (PD answered everything, next poll in the future).
    fn settle(&mut self) {
        for _ in 0..200 {
            while let Some(b) = self.cp.poll_transmit(self.now) {
                for r in self.pd.handle_input(&b) {
                    self.cp.handle_input(&r, self.now);
                }
            }
            while self.cp.poll_event().is_some() {}
            self.now += Duration::from_millis(60);
        }
    }

    /// One card read; returns the time the CP spent from RAW reply bytes to LED bytes.
    fn one_read(&mut self) -> Duration {
        self.pd.present_card(123, 4567);
        self.now += Duration::from_millis(60);
        let poll = self.cp.poll_transmit(self.now).expect("poll due");
        let reply = self.pd.handle_input(&poll).pop().expect("RAW reply");
        let t0 = Instant::now();
        self.cp.handle_input(&reply, self.now);
        let mut led = None;
        while let Some(ev) = self.cp.poll_event() {
            if let CpEvent::CardRead { address, .. } = ev {
                self.cp
                    .submit(address, ReaderCommand::Led(LedCommand::grant()))
                    .expect("submit");
                led = self.cp.poll_transmit(self.now);
            }
        }
        let elapsed = t0.elapsed();
        let led = led.expect("LED command on the wire");
        for r in self.pd.handle_input(&led) {
            self.cp.handle_input(&r, self.now);
        }
        while self.cp.poll_event().is_some() {}
        assert_eq!(self.pd.take_received().len(), 1);
        elapsed
    }
}

fn bench(c: &mut Criterion) {
    let mut rig = Rig::new();
    c.bench_function("cp_raw_reply_to_led_command", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rig.one_read()).sum())
    });
    // p99 over many reads, printed for the report.
    let mut samples: Vec<Duration> = (0..5000).map(|_| rig.one_read()).collect();
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize];
    println!(
        "cp_raw_reply_to_led_command over {} reads: p50 {:?}, p99 {:?}, max {:?}",
        samples.len(),
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
