//! Property tests: packet round trip, decoder and CP robustness on arbitrary bytes, and the
//! Secure Channel handshake between this CP and the crate's own simulated PD.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use proptest::prelude::*;
use strongroom_osdp::cp::{ControlPanel, CpConfig, CpEvent, ReaderConfig, ReaderKey};
use strongroom_osdp::packet::{Decoder, Integrity, MAC_LEN, Packet, SecurityBlock, scs};
use strongroom_osdp::sim::SimPd;

fn arb_packet() -> impl Strategy<Value = Packet> {
    (
        0u8..=0x7F,
        any::<bool>(),
        0u8..=3,
        any::<bool>(),
        proptest::option::of((0x11u8..=0x18, proptest::collection::vec(any::<u8>(), 0..4))),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<[u8; MAC_LEN]>(),
    )
        .prop_map(|(address, reply, sequence, crc, scb, code, data, mac)| {
            let security = scb.map(|(kind, data)| SecurityBlock { kind, data });
            let has_mac = security.as_ref().is_some_and(|s| scs::has_mac(s.kind));
            Packet {
                address,
                reply,
                sequence,
                integrity: if crc {
                    Integrity::Crc16
                } else {
                    Integrity::Checksum
                },
                security,
                code,
                data,
                mac: has_mac.then_some(mac),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_round_trip(p in arb_packet()) {
        let bytes = p.encode().unwrap();
        prop_assert_eq!(bytes.len(), p.encoded_len());
        let (frame, used) = Packet::decode(&bytes).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(&frame.packet, &p);
        // Streaming, split at an arbitrary point, with garbage in front.
        let mut d = Decoder::new();
        let cut = bytes.len() / 2;
        d.push(&[0x00, 0xFF]);
        d.push(&bytes[..cut]);
        let mut got = Vec::new();
        while let Some(r) = d.next_frame() { got.push(r); }
        d.push(&bytes[cut..]);
        while let Some(r) = d.next_frame() { got.push(r); }
        let frames: Vec<_> = got.into_iter().filter_map(Result::ok).collect();
        prop_assert_eq!(frames.len(), 1);
        prop_assert_eq!(&frames[0].packet, &p);
    }

    #[test]
    fn decoder_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
        let mut d = Decoder::new();
        for c in &chunks {
            d.push(c);
            while let Some(r) = d.next_frame() {
                if let Ok(f) = r { prop_assert!(f.raw.len() >= 6); }
            }
        }
        for c in &chunks { let _ = Packet::decode(c); }
    }

    #[test]
    fn single_bit_flip_never_yields_a_different_valid_frame(p in arb_packet(), bit in any::<usize>()) {
        let mut bytes = p.encode().unwrap();
        let i = bit % (bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        if let Ok((f, _)) = Packet::decode(&bytes) {
            // A checksum packet can survive some flips only by being a different length frame; CRC ones never.
            prop_assert!(p.integrity == Integrity::Checksum || f.packet == p);
        }
    }

    #[test]
    fn control_panel_never_panics_on_arbitrary_input(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..10)) {
        let mut cp = ControlPanel::new(CpConfig::default(), vec![ReaderConfig { address: 1, key: ReaderKey::Commissioned([5; 16]) }]).unwrap();
        let mut now = Instant::now();
        for c in &chunks {
            let _ = cp.poll_transmit(now);
            cp.handle_input(c, now);
            while cp.poll_event().is_some() {}
            now += Duration::from_millis(70);
        }
    }

    #[test]
    fn control_panel_survives_well_framed_arbitrary_replies(
        replies in proptest::collection::vec((any::<u8>(), proptest::option::of(0x11u8..=0x18), proptest::collection::vec(any::<u8>(), 0..40)), 0..30)
    ) {
        let mut cp = ControlPanel::new(CpConfig::default(), vec![ReaderConfig { address: 1, key: ReaderKey::Commissioned([5; 16]) }]).unwrap();
        let mut now = Instant::now();
        for (code, scb, data) in replies {
            if let Some(cmd) = cp.poll_transmit(now) {
                let (frame, _) = Packet::decode(&cmd).unwrap();
                prop_assert_eq!(frame.packet.address, 1);
                let mut reply = Packet::reply(1, frame.packet.sequence, code, data.clone());
                if let Some(kind) = scb {
                    reply.security = Some(SecurityBlock { kind, data: vec![1] });
                    if scs::has_mac(kind) { reply.mac = Some([0; MAC_LEN]); }
                }
                cp.handle_input(&reply.encode().unwrap(), now);
            }
            while cp.poll_event().is_some() {}
            now += Duration::from_millis(10);
        }
        // Garbage never yields a Secure Channel.
        prop_assert!(!cp.is_secure(1));
    }

    #[test]
    fn secure_channel_with_own_pd(key in any::<[u8; 16]>(), facility in any::<u8>(), number in any::<u16>(), address in 0u8..=126) {
        prop_assume!(key != strongroom_osdp::secure::SCBK_D);
        let mut pd = SimPd::new(address, key);
        pd.present_card(facility, number);
        let mut cp = ControlPanel::new(CpConfig::default(), vec![ReaderConfig { address, key: ReaderKey::Commissioned(key) }]).unwrap();
        let mut now = Instant::now();
        let mut events = Vec::new();
        for _ in 0..60 {
            while let Some(b) = cp.poll_transmit(now) {
                for r in pd.handle_input(&b) { cp.handle_input(&r, now); }
            }
            while let Some(e) = cp.poll_event() { events.push(e); }
            now += Duration::from_millis(10);
        }
        prop_assert!(cp.is_secure(address));
        prop_assert!(pd.is_secure());
        let card = events.iter().find_map(|e| match e {
            CpEvent::CardRead { wiegand26: Some(w), secure: true, .. } => Some(*w),
            _ => None,
        });
        let w = card.unwrap();
        prop_assert_eq!((w.facility, w.number, w.parity_ok), (facility, number, true));
    }
}
