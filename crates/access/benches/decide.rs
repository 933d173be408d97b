//! Decision latency on a large site: 10,000 agents, 500 doors, 100 areas.
//!
//! `cargo bench -p strongroom-access --bench decide`. For p50/p99 over 100k decisions run the
//! example: `cargo run --release -p strongroom-access --example decide_latency`.
#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use strongroom_access::{Presentation, Request, Source, decide};

fn bench(c: &mut Criterion) {
    let big = support::build();
    let mut g = c.benchmark_group("decide");
    // Agent 1 at a door of an area they hold on an operating-hours schedule (a time-zone lookup).
    let door = support::door_into(support::agent_area(1, 1), 0);
    let grant = Request::Present(Presentation {
        reader: format!("r{door}"),
        card: Some(support::card(1)),
        pin: None,
        source: Source::Osdp,
    });
    assert!(decide(&big.site, &big.state, &grant, big.now).is_grant());
    g.bench_function("card_granted", |b| {
        b.iter(|| decide(&big.site, &big.state, black_box(&grant), big.now))
    });
    let unknown = Request::Present(Presentation {
        reader: "r13".into(),
        card: Some("NOT-ISSUED".into()),
        pin: None,
        source: Source::Osdp,
    });
    g.bench_function("unknown_card", |b| {
        b.iter(|| decide(&big.site, &big.state, black_box(&unknown), big.now))
    });
    let mut i = 0usize;
    g.bench_function("mixed", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            decide(&big.site, &big.state, &support::request(i), big.now)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
