//! A minimal simulated OSDP PD (card reader), sans-IO, for tests and benchmarks.
//!
//! It answers ID, CAP, LSTAT, POLL, LED, BUZ, OUT, KEYSET, CHLNG and SCRYPT, runs the PD side of
//! the Secure Channel with its own SCBK (SCBK-D only in install mode), reports queued card reads
//! and key presses one per POLL, and records every LED/BUZ/OUT command it accepted. It is not a
//! conformant reader; the real third-party peer for interoperability tests is LibOSDP.

use std::collections::VecDeque;

use crate::message::{Wiegand26, cmd, reply};
use crate::packet::{Decoder, Frame, Packet, SecurityBlock, scs};
use crate::secure::{PdHandshake, SCBK_D, SecureChannel, os_random};

/// A command the simulated PD accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Command code.
    pub code: u8,
    /// Decrypted data.
    pub data: Vec<u8>,
    /// Arrived inside the Secure Channel.
    pub secure: bool,
}

/// The simulated PD.
#[derive(Debug)]
pub struct SimPd {
    address: u8,
    scbk: [u8; 16],
    install_mode: bool,
    decoder: Decoder,
    handshake: Option<PdHandshake>,
    channel: Option<SecureChannel>,
    events: VecDeque<(u8, Vec<u8>)>,
    received: Vec<Received>,
    /// Tamper state reported in LSTATR.
    pub tamper: bool,
    /// Power-failure state reported in LSTATR.
    pub power_failure: bool,
    /// When false, the PD ignores everything (simulates a dead reader).
    pub alive: bool,
}

impl SimPd {
    /// A PD at `address` with its own SCBK.
    pub fn new(address: u8, scbk: [u8; 16]) -> Self {
        SimPd {
            address,
            scbk,
            install_mode: false,
            decoder: Decoder::new(),
            handshake: None,
            channel: None,
            events: VecDeque::new(),
            received: Vec::new(),
            tamper: false,
            power_failure: false,
            alive: true,
        }
    }

    /// A PD in install mode (accepts SCBK-D).
    pub fn install_mode(address: u8) -> Self {
        let mut pd = Self::new(address, SCBK_D);
        pd.install_mode = true;
        pd
    }

    /// The PD's current SCBK.
    pub fn scbk(&self) -> [u8; 16] {
        self.scbk
    }

    /// Whether a Secure Channel is up.
    pub fn is_secure(&self) -> bool {
        self.channel.is_some()
    }

    /// Queue a 26-bit Wiegand card read.
    pub fn present_card(&mut self, facility: u8, number: u16) {
        let mut data = vec![0, 1, 26, 0];
        data.extend_from_slice(&Wiegand26::encode(facility, number));
        self.events.push_back((reply::RAW, data));
    }

    /// Queue key presses (ASCII digits, '#' is sent as 0x0D, '*' as 0x7F).
    pub fn type_keys(&mut self, keys: &str) {
        let codes: Vec<u8> = keys
            .bytes()
            .map(|b| match b {
                b'#' => 0x0D,
                b'*' => 0x7F,
                x => x,
            })
            .collect();
        let mut data = vec![0, u8::try_from(codes.len()).unwrap_or(u8::MAX)];
        data.extend(codes.iter().take(255));
        self.events.push_back((reply::KEYPAD, data));
    }

    /// Card reads and key presses not yet reported.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Commands accepted so far (drains the list).
    pub fn take_received(&mut self) -> Vec<Received> {
        std::mem::take(&mut self.received)
    }

    /// Feed bytes from the CP; returns the replies to write back.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.decoder.push(bytes);
        let mut out = Vec::new();
        while let Some(res) = self.decoder.next_frame() {
            if let Ok(frame) = res
                && self.alive
                && !frame.packet.reply
                && frame.packet.address == self.address
                && let Some(bytes) = self.handle_frame(&frame)
            {
                out.push(bytes);
            }
        }
        out
    }

    fn nak(&mut self, seq: u8, reason: u8) -> Option<Vec<u8>> {
        self.channel = None;
        Packet::reply(self.address, seq, reply::NAK, vec![reason])
            .encode()
            .ok()
    }

    fn handle_frame(&mut self, frame: &Frame) -> Option<Vec<u8>> {
        let seq = frame.packet.sequence;
        if seq == 0 {
            self.channel = None;
        }
        let secured = frame
            .packet
            .security
            .as_ref()
            .is_some_and(|s| scs::has_mac(s.kind));
        let packet = match (&mut self.channel, secured) {
            (Some(ch), true) => match ch.open_command(frame) {
                Ok(p) => p,
                Err(_) => return self.nak(seq, 0x06),
            },
            (None, true) => return self.nak(seq, 0x06),
            (Some(_), false) => {
                // Clear command while secure: the session is over.
                self.channel = None;
                frame.packet.clone()
            }
            (None, false) => frame.packet.clone(),
        };
        let secure = self.channel.is_some();
        let (code, data, scb) = match packet.code {
            cmd::POLL => match self.events.pop_front() {
                Some((c, d)) => (c, d, None),
                None => (reply::ACK, vec![], None),
            },
            cmd::ID => (
                reply::PDID,
                vec![0xFE, 0xCA, 0x00, 1, 0, 0x78, 0x56, 0x34, 0x12, 1, 2, 3],
                None,
            ),
            cmd::CAP => (reply::PDCAP, vec![9, 1, 1, 4, 1, 1, 5, 1, 1], None),
            cmd::LSTAT => (
                reply::LSTATR,
                vec![u8::from(self.tamper), u8::from(self.power_failure)],
                None,
            ),
            cmd::LED | cmd::BUZ | cmd::OUT => {
                self.received.push(Received {
                    code: packet.code,
                    data: packet.data.clone(),
                    secure,
                });
                (reply::ACK, vec![], None)
            }
            cmd::KEYSET => {
                if !secure || packet.data.len() != 18 || packet.data[0] != 1 || packet.data[1] != 16
                {
                    return self.nak(seq, 0x06);
                }
                self.scbk.copy_from_slice(&packet.data[2..18]);
                self.install_mode = false;
                (reply::ACK, vec![], None)
            }
            cmd::CHLNG => {
                let key_type = packet
                    .security
                    .as_ref()
                    .and_then(|s| s.data.first().copied())
                    .unwrap_or(1);
                let key = match key_type {
                    0 if self.install_mode => SCBK_D,
                    0 => return self.nak(seq, 0x05),
                    _ => self.scbk,
                };
                let mut rnd_b = [0u8; 8];
                if os_random(&mut rnd_b).is_err() {
                    return self.nak(seq, 0x09);
                }
                let Ok((hs, data)) = PdHandshake::on_chlng(&key, &packet.data, rnd_b, [0xCA; 8])
                else {
                    return self.nak(seq, 0x02);
                };
                self.handshake = Some(hs);
                self.channel = None;
                (
                    reply::CCRYPT,
                    data,
                    Some(SecurityBlock {
                        kind: scs::SCS_12,
                        data: vec![key_type],
                    }),
                )
            }
            cmd::SCRYPT => {
                let Some(hs) = self.handshake.take() else {
                    return self.nak(seq, 0x05);
                };
                match hs.on_scrypt(&packet.data) {
                    Ok((ch, rmac_i)) => {
                        self.channel = Some(ch);
                        (
                            reply::RMAC_I,
                            rmac_i.to_vec(),
                            Some(SecurityBlock {
                                kind: scs::SCS_14,
                                data: vec![1],
                            }),
                        )
                    }
                    Err(_) => (
                        reply::RMAC_I,
                        vec![0; 16],
                        Some(SecurityBlock {
                            kind: scs::SCS_14,
                            data: vec![0xFF],
                        }),
                    ),
                }
            }
            _ => return self.nak(seq, 0x03),
        };
        let mut p = Packet::reply(self.address, seq, code, data);
        p.security = scb;
        if secured && let Some(ch) = self.channel.as_mut() {
            ch.seal_reply(&mut p).ok()?;
        }
        p.encode().ok()
    }
}
