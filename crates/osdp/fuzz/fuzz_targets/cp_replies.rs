//! Fuzz the CP with well-framed replies (right address, sequence and CRC) carrying arbitrary
//! codes, security blocks and data, so that every reply handler is reached.
#![no_main]

mod common;

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use strongroom_osdp::packet::{Packet, SecurityBlock};

fuzz_target!(|data: &[u8]| {
    let Some(mut cp) = common::control_panel() else {
        return;
    };
    let mut now = Instant::now();
    let mut rest = data;
    while let [code, scb, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(n);
        rest = next;
        if let Some(cmd) = cp.poll_transmit(now)
            && let Ok((frame, _)) = Packet::decode(&cmd)
        {
            let mut reply = Packet::reply(
                common::READER_ADDRESS,
                frame.packet.sequence,
                *code,
                body.to_vec(),
            );
            if *scb & 0x80 != 0 {
                reply.security = Some(SecurityBlock {
                    kind: 0x11 + (*scb & 0x07),
                    data: vec![*scb & 1],
                });
                if *scb & 0x04 != 0 && body.len() >= 4 {
                    reply.mac = Some([body[0], body[1], body[2], body[3]]);
                }
            }
            if let Ok(bytes) = reply.encode() {
                cp.handle_input(&bytes, now);
            }
        }
        while cp.poll_event().is_some() {}
        now += Duration::from_millis(10);
    }
});
