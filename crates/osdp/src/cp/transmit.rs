//! Choosing, building and sealing the next packet for a reader: the handshake step its phase
//! calls for, else a pending LSTAT, a queued application command, a due Secure Channel retry, or a
//! POLL.

use std::time::Instant;

use super::session::{InFlight, Phase, Sent, after};
use super::{ControlPanel, CpEvent, ReaderCommand};
use crate::message::cmd;
use crate::packet::Packet;

impl ControlPanel {
    /// The next packet for reader `i`, encoded and put in flight; `None` if there is nothing
    /// to send to it now.
    pub(super) fn build_next(&mut self, i: usize, now: Instant) -> Option<Vec<u8>> {
        let r = &mut self.readers[i];
        let address = r.address;
        let (packet, sent) = match std::mem::replace(&mut r.phase, Phase::Running) {
            Phase::Identify => {
                r.phase = Phase::Identify;
                r.next_seq = 0;
                r.channel = None;
                (Packet::command(address, 0, cmd::ID, vec![0]), Sent::Id)
            }
            Phase::Capabilities => {
                r.phase = Phase::Capabilities;
                (Packet::command(address, 0, cmd::CAP, vec![0]), Sent::Cap)
            }
            Phase::Challenge => {
                r.phase = Phase::Challenge;
                self.challenge(i, now)?
            }
            Phase::ServerCrypt(pending) => {
                let p = pending.scrypt_packet(address, 0);
                (p, Sent::Scrypt(pending))
            }
            Phase::Running => {
                let sc_due = r.channel.is_none()
                    && r.key_material().is_some()
                    && r.sc_retry_at.is_some_and(|t| t <= now);
                if r.need_lstat {
                    r.need_lstat = false;
                    (Packet::command(address, 0, cmd::LSTAT, vec![]), Sent::Lstat)
                } else if let Some(c) = r.queue.pop_front() {
                    if matches!(c, ReaderCommand::SetKey(_)) && r.channel.is_none() {
                        self.events.push_back(CpEvent::CommandFailed {
                            address,
                            command: c.kind(),
                            reason: "KEYSET needs a Secure Channel".into(),
                        });
                        return None;
                    }
                    let (code, data) = c.code_and_data();
                    (Packet::command(address, 0, code, data), Sent::Command(c))
                } else if sc_due {
                    r.phase = Phase::Challenge;
                    self.challenge(i, now)?
                } else {
                    (Packet::command(address, 0, cmd::POLL, vec![]), Sent::Poll)
                }
            }
        };
        self.send(i, packet, sent, now)
    }

    /// Give `packet` the reader's next sequence number, seal it if a Secure Channel is up
    /// (handshake packets never are), encode it and put it in flight.
    fn send(&mut self, i: usize, mut packet: Packet, sent: Sent, now: Instant) -> Option<Vec<u8>> {
        let r = &mut self.readers[i];
        packet.sequence = r.take_seq();
        if let Some(ch) = r.channel.as_mut()
            && !matches!(sent, Sent::Chlng(_) | Sent::Scrypt(_))
            && let Err(e) = ch.seal_command(&mut packet)
        {
            let address = r.address;
            self.events.push_back(CpEvent::ProtocolError {
                address,
                detail: format!("cannot seal command: {e}"),
            });
            return None;
        }
        match packet.encode() {
            Ok(bytes) => {
                self.inflight = Some(InFlight {
                    reader: i,
                    bytes: bytes.clone(),
                    sequence: packet.sequence,
                    sent,
                    deadline: after(now, self.cfg.reply_timeout_ms),
                });
                self.stats.tx_packets += 1;
                Some(bytes)
            }
            Err(e) => {
                let address = r.address;
                self.events.push_back(CpEvent::ProtocolError {
                    address,
                    detail: format!("cannot encode command: {e}"),
                });
                None
            }
        }
    }
}
