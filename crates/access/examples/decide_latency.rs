//! Decision latency percentiles on a large site (10,000 agents, 500 doors, 100 areas).
//!
//! `cargo run --release -p strongroom-access --example decide_latency [N]` runs N decisions
//! (default 100,000) of a realistic mix and prints p50/p90/p99/p99.9/max. Each decision's facts
//! are applied to the state (as the server does), so pending vault badges, wrong PINs and
//! occupancy evolve; the time of `apply` is reported separately.
#![allow(clippy::unwrap_used)]

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::Instant;
use strongroom_access::{Outcome, decide};

fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let t = Instant::now();
    let mut big = support::build();
    println!(
        "built site: {} areas, {} doors, {} agents, {} credentials in {:.2?} ({} facts applied)",
        support::AREAS,
        support::DOORS,
        support::AGENTS,
        big.state.credentials().count(),
        t.elapsed(),
        big.state.facts_applied()
    );
    // Warm up.
    for i in 0..10_000 {
        let _ = decide(&big.site, &big.state, &support::request(i), big.now);
    }
    let reqs: Vec<_> = (0..n).map(support::request).collect();
    let mut decide_ns = Vec::with_capacity(n);
    let mut apply_ns = Vec::with_capacity(n);
    let (mut grants, mut pending, mut denies) = (0usize, 0usize, 0usize);
    let mut now = big.now;
    for req in &reqs {
        now += 50; // 20 decisions per second of site time
        let t0 = Instant::now();
        let d = decide(&big.site, &big.state, req, now);
        let t1 = Instant::now();
        big.state.apply_all(&d.facts);
        let t2 = Instant::now();
        decide_ns.push(u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX));
        apply_ns.push(u64::try_from((t2 - t1).as_nanos()).unwrap_or(u64::MAX));
        match d.outcome {
            Outcome::Grant => grants += 1,
            Outcome::Pending(_) => pending += 1,
            Outcome::Deny(_) => denies += 1,
        }
    }
    decide_ns.sort_unstable();
    apply_ns.sort_unstable();
    println!("{n} decisions: {grants} granted, {pending} pending, {denies} denied");
    for (name, v) in [("decide", &decide_ns), ("apply", &apply_ns)] {
        println!(
            "{name:>6}: p50 {:>6.1} µs  p90 {:>6.1} µs  p99 {:>6.1} µs  p99.9 {:>6.1} µs  max {:>7.1} µs",
            pct(v, 0.50) as f64 / 1e3,
            pct(v, 0.90) as f64 / 1e3,
            pct(v, 0.99) as f64 / 1e3,
            pct(v, 0.999) as f64 / 1e3,
            *v.last().unwrap() as f64 / 1e3,
        );
    }
}
