//! The Secure Channel handshake as the Control Panel drives it: `CHLNG` out, `CCRYPT` in,
//! `SCRYPT` out, `RMAC_I` in; and what happens when a handshake fails or an established channel
//! is lost (retry at once, or back off).

use std::time::{Duration, Instant};

use super::session::{Phase, Sent, after};
use super::{ControlPanel, CpEvent, ReaderKey};
use crate::message::Reply;
use crate::packet::Packet;
use crate::secure::{CpHandshake, CpPending};

impl ControlPanel {
    /// Start a handshake with the reader's key: the `CHLNG` packet, or `None` if the reader is
    /// kept in clear or no random challenge could be drawn (then a retry is scheduled).
    pub(super) fn challenge(&mut self, i: usize, now: Instant) -> Option<(Packet, Sent)> {
        let r = &mut self.readers[i];
        let Some((key, kind)) = r.key_material() else {
            r.phase = Phase::Running;
            return None;
        };
        r.channel = None;
        match CpHandshake::new(key, kind) {
            Ok(hs) => Some((hs.chlng_packet(r.address, 0), Sent::Chlng(Box::new(hs)))),
            Err(e) => {
                let address = r.address;
                r.phase = Phase::Running;
                r.sc_retry_at = Some(after(now, self.cfg.sc_retry_interval_ms));
                self.events.push_back(CpEvent::SecureChannelFailed {
                    address,
                    reason: e.to_string(),
                });
                None
            }
        }
    }

    /// An established Secure Channel failed on a reply: report it down, requeue the command
    /// that was in flight, and re-key at once (after `sc_retry_interval_ms` if it was lost
    /// within that interval before).
    pub(super) fn secure_lost(&mut self, i: usize, reason: String, sent: Sent, now: Instant) {
        let retry_ms = self.cfg.sc_retry_interval_ms;
        let r = &mut self.readers[i];
        r.channel = None;
        // Re-key at once after a first loss; if it is lost again within the retry interval,
        // back off instead of flapping up/down at poll rate.
        let recent = r
            .last_sc_loss
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_millis(retry_ms));
        if recent {
            r.phase = Phase::Running;
            r.sc_retry_at = Some(after(now, retry_ms));
        } else {
            r.phase = Phase::Challenge;
        }
        r.last_sc_loss = Some(now);
        if let Sent::Command(c) = sent {
            r.queue.push_front(c);
        }
        self.events.push_back(CpEvent::SecureChannelDown {
            address: r.address,
            reason,
        });
    }

    /// A handshake failed: report it and retry after `sc_retry_interval_ms`.
    pub(super) fn sc_failed(&mut self, i: usize, reason: String, now: Instant) {
        let retry = self.cfg.sc_retry_interval_ms;
        let r = &mut self.readers[i];
        r.phase = Phase::Running;
        r.channel = None;
        r.sc_retry_at = Some(after(now, retry));
        r.next_poll_at = None;
        self.events.push_back(CpEvent::SecureChannelFailed {
            address: r.address,
            reason,
        });
    }

    /// The reply to `CHLNG`: a `CCRYPT` whose client cryptogram checks out moves on to `SCRYPT`.
    pub(super) fn on_chlng_reply(
        &mut self,
        i: usize,
        handshake: &CpHandshake,
        reply: Reply,
        packet: &Packet,
        now: Instant,
    ) {
        match reply {
            Reply::Ccrypt(_) => match handshake.on_ccrypt(packet) {
                Ok(pending) => self.readers[i].phase = Phase::ServerCrypt(Box::new(pending)),
                Err(e) => self.sc_failed(i, e.to_string(), now),
            },
            Reply::Nak(reason) => {
                self.sc_failed(i, format!("reader refused CHLNG: NAK {reason:?}"), now)
            }
            other => self.sc_failed(i, format!("unexpected reply to CHLNG: {other:?}"), now),
        }
    }

    /// The reply to `SCRYPT`: an `RMAC_I` that checks out opens the Secure Channel.
    pub(super) fn on_scrypt_reply(
        &mut self,
        i: usize,
        pending: CpPending,
        reply: Reply,
        packet: &Packet,
        now: Instant,
    ) {
        match reply {
            Reply::RmacI(_) => match pending.on_rmac_i(packet) {
                Ok(ch) => {
                    let r = &mut self.readers[i];
                    r.channel = Some(ch);
                    r.phase = Phase::Running;
                    r.need_lstat = true;
                    r.sc_retry_at = None;
                    let address = r.address;
                    let install_key = r.key == ReaderKey::InstallMode;
                    self.events.push_back(CpEvent::SecureChannelUp {
                        address,
                        install_key,
                    });
                }
                Err(e) => self.sc_failed(i, e.to_string(), now),
            },
            other => self.sc_failed(i, format!("unexpected reply to SCRYPT: {other:?}"), now),
        }
    }
}
