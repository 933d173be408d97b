//! Fuzz the CP state machine with arbitrary line input between its transmissions.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use strongroom_osdp::cp::{ControlPanel, CpConfig, ReaderConfig, ReaderKey};

fuzz_target!(|data: &[u8]| {
    let Ok(mut cp) = ControlPanel::new(
        CpConfig::default(),
        vec![ReaderConfig {
            address: 1,
            key: ReaderKey::Commissioned([7; 16]),
        }],
    ) else {
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
