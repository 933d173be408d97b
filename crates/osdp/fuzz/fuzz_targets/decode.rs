//! Fuzz the packet decoder and the reply parsers: no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_osdp::message::Reply;
use strongroom_osdp::packet::{Decoder, Packet};

fuzz_target!(|data: &[u8]| {
    let _ = Packet::decode(data);
    let mut d = Decoder::new();
    for chunk in data.chunks(7) {
        d.push(chunk);
        while let Some(r) = d.next_frame() {
            if let Ok(f) = r {
                let _ = Reply::parse(f.packet.code, &f.packet.data);
                let _ = f.packet.encode();
            }
        }
    }
});
