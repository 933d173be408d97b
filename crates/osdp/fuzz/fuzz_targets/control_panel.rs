//! Fuzz the CP state machine with arbitrary line input between its transmissions.
#![no_main]

mod common;

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(mut cp) = common::control_panel() else {
        return;
    };
    let mut now = Instant::now();
    for chunk in data.chunks(16) {
        while cp.poll_transmit(now).is_some() {}
        cp.handle_input(chunk, now);
        while cp.poll_event().is_some() {}
        now += Duration::from_millis(u64::from(chunk.first().copied().unwrap_or(0)));
    }
});
