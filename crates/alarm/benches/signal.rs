//! Signal → facts latency of the pure alarm model: an intrusion alarm and its restore while armed
//! away, a supervision heartbeat, a holdup press (24-hour, silent), a tick, and projecting the
//! emitted facts into the alarm queue.
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use strongroom_alarm::{
    AlarmConfig, AlarmQueue, AlarmSystem, ArmCommand, ArmMethod, ArmMode, CodeKind, Input,
    SignalKind, ZoneSignal,
};
use strongroom_domain::Actor;
use strongroom_domain::site::{DEMO_SITE_TOML, SiteConfig};

const T0: i64 = 1_795_492_800_000; // 2026-11-24T04:00:00Z, Monday 22:00 in Chicago (closed)

fn armed_system() -> AlarmSystem {
    let site = SiteConfig::parse("demo.toml", DEMO_SITE_TOML).unwrap_or_else(|e| panic!("{e}"));
    let cfg = AlarmConfig::from_site(&site).unwrap_or_else(|e| panic!("{e}"));
    let mut sys = AlarmSystem::new(cfg, T0);
    let cmd = ArmCommand {
        partition: None,
        method: ArmMethod::Keypad,
        actor: Actor::Person("agent".into()),
        code: CodeKind::Normal,
        device: None,
    };
    sys.handle(Input::Arm(cmd, ArmMode::Away), T0);
    sys
}

fn bench(c: &mut Criterion) {
    let mut sys = armed_system();
    let mut t = T0 + 120_000;
    c.bench_function("motion alarm + restore (armed away) -> facts", |b| {
        b.iter(|| {
            t += 1_000;
            let a = sys.handle(
                Input::Signal(ZoneSignal::for_sensor(
                    "z-motion-sales",
                    SignalKind::Alarm,
                    t,
                )),
                t,
            );
            let r = sys.handle(
                Input::Signal(ZoneSignal::for_sensor(
                    "z-motion-sales",
                    SignalKind::Restore,
                    t,
                )),
                t,
            );
            black_box((a, r))
        })
    });

    let mut sys = armed_system();
    let mut t = T0 + 120_000;
    c.bench_function("heartbeat -> facts", |b| {
        b.iter(|| {
            t += 1_000;
            black_box(sys.handle(
                Input::Signal(ZoneSignal::for_sensor(
                    "panic-pos",
                    SignalKind::Heartbeat,
                    t,
                )),
                t,
            ))
        })
    });

    let mut sys = armed_system();
    let mut t = T0 + 120_000;
    c.bench_function("holdup press + restore -> facts", |b| {
        b.iter(|| {
            t += 1_000;
            let a = sys.handle(
                Input::Signal(ZoneSignal::for_sensor("holdup-pos", SignalKind::Alarm, t)),
                t,
            );
            let r = sys.handle(
                Input::Signal(ZoneSignal::for_sensor("holdup-pos", SignalKind::Restore, t)),
                t,
            );
            black_box((a, r))
        })
    });

    let mut sys = armed_system();
    let mut t = T0 + 120_000;
    c.bench_function("tick (entry delays, schedule, supervision)", |b| {
        b.iter(|| {
            t += 1_000;
            black_box(sys.handle(Input::Tick, t))
        })
    });

    let mut sys = armed_system();
    let t = T0 + 120_000;
    let facts = sys.handle(
        Input::Signal(ZoneSignal::for_sensor("z-glass", SignalKind::Alarm, t)),
        t,
    );
    c.bench_function("queue apply alarm.raised", |b| {
        b.iter(|| {
            let mut q = AlarmQueue::new();
            for f in &facts {
                let _ = q.apply(f);
            }
            black_box(q)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
