//! Handling a reply: matching it to the packet in flight, opening it under the Secure Channel,
//! parsing it, and acting on it for the command it answers (identification, capabilities,
//! handshake steps, or a running-session reply that becomes application events).

use std::time::Instant;

use super::session::{Link, Phase, Sent, after};
use super::{ControlPanel, CpEvent, ReaderCommand, ReaderKey};
use crate::message::{self, CardFormat, NakReason, Reply, Wiegand26, keys_to_text};
use crate::packet::{Frame, Packet, scs};
use crate::secure::SecureError;

impl ControlPanel {
    /// A decoded frame: if it is the reply to the packet in flight, open, parse and act on it.
    pub(super) fn handle_frame(&mut self, frame: Frame, now: Instant) {
        let Some(f) = &self.inflight else {
            self.stats.rx_ignored += 1;
            return;
        };
        let r = &self.readers[f.reader];
        if !frame.packet.reply
            || frame.packet.address != r.address
            || frame.packet.sequence != f.sequence
        {
            self.stats.rx_ignored += 1;
            return;
        }
        let Some(f) = self.inflight.take() else {
            return;
        };
        self.stats.rx_packets += 1;
        let i = f.reader;
        let poll_ms = self.cfg.poll_interval_ms;
        let r = &mut self.readers[i];
        let address = r.address;
        r.missed = 0;
        if r.link != Link::Online {
            r.link = Link::Online;
            self.events.push_back(CpEvent::ReaderOnline { address });
        }
        // Unseal.
        let secure = r.channel.is_some();
        let packet = match r.channel.as_mut() {
            Some(ch) => match ch.open_reply(&frame) {
                Ok(p) => p,
                Err(e) => {
                    let reason = match (&e, frame.packet.code) {
                        (SecureError::NotSecured(_), message::reply::NAK) => format!(
                            "reader answered in clear with NAK {:?}",
                            frame.packet.data.first().map(|&b| NakReason::from_byte(b))
                        ),
                        _ => e.to_string(),
                    };
                    self.secure_lost(i, reason, f.sent, now);
                    return;
                }
            },
            None => {
                if frame
                    .packet
                    .security
                    .as_ref()
                    .is_some_and(|s| scs::has_mac(s.kind))
                {
                    self.events.push_back(CpEvent::ProtocolError {
                        address,
                        detail: "secured reply without a Secure Channel".into(),
                    });
                    r.next_poll_at = Some(after(now, poll_ms));
                    return;
                }
                frame.packet
            }
        };
        let reply = match Reply::parse(packet.code, &packet.data) {
            Ok(x) => x,
            Err(e) => {
                self.events.push_back(CpEvent::ProtocolError {
                    address,
                    detail: e.to_string(),
                });
                r.next_poll_at = Some(after(now, poll_ms));
                return;
            }
        };
        self.dispatch(i, f.sent, reply, &packet, secure, now);
    }

    /// Act on a parsed reply according to what it answers.
    fn dispatch(
        &mut self,
        i: usize,
        sent: Sent,
        reply: Reply,
        packet: &Packet,
        secure: bool,
        now: Instant,
    ) {
        let poll_ms = self.cfg.poll_interval_ms;
        let address = self.readers[i].address;
        match sent {
            Sent::Id => {
                if let Reply::PdId(id) = reply {
                    self.events.push_back(CpEvent::Identified { address, id });
                }
                self.readers[i].phase = Phase::Capabilities;
            }
            Sent::Cap => {
                let r = &mut self.readers[i];
                r.need_lstat = true;
                r.phase = if r.key_material().is_some() {
                    Phase::Challenge
                } else {
                    Phase::Running
                };
            }
            Sent::Chlng(handshake) => self.on_chlng_reply(i, &handshake, reply, packet, now),
            Sent::Scrypt(pending) => self.on_scrypt_reply(i, *pending, reply, packet, now),
            Sent::Poll | Sent::Lstat | Sent::Command(_) => {
                let is_plain_ack = matches!(reply, Reply::Ack);
                let is_credential = matches!(
                    reply,
                    Reply::CardRaw { .. } | Reply::CardFormatted { .. } | Reply::Keypad { .. }
                );
                let window_ms = self.cfg.response_window_ms;
                let command = match &sent {
                    Sent::Command(c) => Some(c.clone()),
                    _ => None,
                };
                self.running_reply(i, command, reply, secure);
                let r = &mut self.readers[i];
                // After anything but an idle ACK to POLL, poll again at once: the reader may
                // have more to report, and a command reply should not delay the next card.
                r.next_poll_at = if is_plain_ack && matches!(sent, Sent::Poll) {
                    Some(after(now, poll_ms))
                } else if is_credential && window_ms > 0 {
                    Some(after(now, window_ms))
                } else {
                    None
                };
            }
        }
    }

    /// A reply in the running session (to POLL, LSTAT or an application command): events for
    /// the application, and session changes (re-key after KEYSET, requeue on BUSY).
    fn running_reply(
        &mut self,
        i: usize,
        command: Option<ReaderCommand>,
        reply: Reply,
        secure: bool,
    ) {
        let address = self.readers[i].address;
        match reply {
            Reply::Ack => {
                if let Some(c) = command {
                    self.events.push_back(CpEvent::CommandAcked {
                        address,
                        command: c.kind(),
                    });
                    if let ReaderCommand::SetKey(k) = c {
                        let r = &mut self.readers[i];
                        r.key = ReaderKey::Commissioned(k);
                        // Re-key: start a new session with the reader's own SCBK.
                        r.channel = None;
                        r.phase = Phase::Challenge;
                        self.events.push_back(CpEvent::KeyChanged { address });
                    }
                }
            }
            Reply::Nak(reason) => {
                if let Some(c) = command {
                    self.events.push_back(CpEvent::CommandNaked {
                        address,
                        command: c.kind(),
                        reason,
                    });
                } else if matches!(
                    reason,
                    NakReason::EncryptionRequired | NakReason::SecurityBlock
                ) {
                    let r = &mut self.readers[i];
                    if r.channel.is_none() && r.key_material().is_some() {
                        r.phase = Phase::Challenge;
                    }
                }
            }
            Reply::Busy => {
                if let Some(c) = command {
                    self.readers[i].queue.push_front(c);
                }
            }
            Reply::CardRaw {
                reader,
                format,
                bit_count,
                data,
            } => {
                let wiegand26 = Wiegand26::decode(bit_count, &data);
                self.events.push_back(CpEvent::CardRead {
                    address,
                    reader,
                    format,
                    bit_count,
                    data,
                    wiegand26,
                    secure,
                });
            }
            Reply::CardFormatted { reader, data, .. } => {
                let bit_count = u16::try_from(data.len() * 8).unwrap_or(u16::MAX);
                self.events.push_back(CpEvent::CardRead {
                    address,
                    reader,
                    format: CardFormat::Other(message::reply::FMT),
                    bit_count,
                    data,
                    wiegand26: None,
                    secure,
                });
            }
            Reply::Keypad { reader, keys } => {
                self.events.push_back(CpEvent::Keypad {
                    address,
                    reader,
                    digits: keys_to_text(&keys),
                    secure,
                });
            }
            Reply::LocalStatus {
                tamper,
                power_failure,
            } => {
                let r = &mut self.readers[i];
                if r.tamper != Some(tamper) && (r.tamper.is_some() || tamper) {
                    self.events.push_back(CpEvent::Tamper {
                        address,
                        active: tamper,
                    });
                }
                if r.power_failure != Some(power_failure)
                    && (r.power_failure.is_some() || power_failure)
                {
                    self.events.push_back(CpEvent::Power {
                        address,
                        failure: power_failure,
                    });
                }
                r.tamper = Some(tamper);
                r.power_failure = Some(power_failure);
            }
            Reply::PdId(id) => self.events.push_back(CpEvent::Identified { address, id }),
            other => self.events.push_back(CpEvent::ProtocolError {
                address,
                detail: format!("unexpected reply {other:?}"),
            }),
        }
    }
}
