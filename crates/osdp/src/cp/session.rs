//! One reader's session on the bus: link state (unknown, online, offline), handshake phase,
//! sequence numbers, command queue and schedule, the one command in flight, and the transitions
//! driven by missed replies (retransmit, then offline).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{ControlPanel, CpEvent, ReaderCommand, ReaderConfig, ReaderKey};
use crate::secure::{CpHandshake, CpPending, KeyKind, SCBK_D, SecureChannel};

/// Whether a reader answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    Unknown,
    Online,
    Offline,
}

/// Where a reader is in the `ID` → `CAP` → `CHLNG` → `SCRYPT` → `POLL` sequence.
#[derive(Debug)]
pub(super) enum Phase {
    Identify,
    Capabilities,
    Challenge,
    ServerCrypt(Box<CpPending>),
    Running,
}

/// What the packet in flight asked for, with the handshake state its reply continues.
#[derive(Debug)]
pub(super) enum Sent {
    Id,
    Cap,
    Chlng(Box<CpHandshake>),
    Scrypt(Box<CpPending>),
    Poll,
    Lstat,
    Command(ReaderCommand),
}

/// One reader's session state.
#[derive(Debug)]
pub(super) struct Reader {
    pub(super) address: u8,
    pub(super) key: ReaderKey,
    pub(super) link: Link,
    pub(super) missed: u32,
    pub(super) next_seq: u8,
    pub(super) phase: Phase,
    pub(super) channel: Option<SecureChannel>,
    pub(super) queue: VecDeque<ReaderCommand>,
    pub(super) next_poll_at: Option<Instant>,
    pub(super) sc_retry_at: Option<Instant>,
    pub(super) need_lstat: bool,
    pub(super) tamper: Option<bool>,
    pub(super) power_failure: Option<bool>,
    pub(super) last_sc_loss: Option<Instant>,
}

/// The one packet on the bus awaiting its reply.
#[derive(Debug)]
pub(super) struct InFlight {
    pub(super) reader: usize,
    pub(super) bytes: Vec<u8>,
    pub(super) sequence: u8,
    pub(super) sent: Sent,
    pub(super) deadline: Instant,
}

/// `ms` milliseconds after `now` (saturating at `now` if the clock would overflow).
pub(super) fn after(now: Instant, ms: u64) -> Instant {
    now.checked_add(Duration::from_millis(ms)).unwrap_or(now)
}

impl Reader {
    /// A reader not heard from yet, to be identified first.
    pub(super) fn new(config: ReaderConfig) -> Self {
        Reader {
            address: config.address,
            key: config.key,
            link: Link::Unknown,
            missed: 0,
            next_seq: 0,
            phase: Phase::Identify,
            channel: None,
            queue: VecDeque::new(),
            next_poll_at: None,
            sc_retry_at: None,
            need_lstat: false,
            tamper: None,
            power_failure: None,
            last_sc_loss: None,
        }
    }

    /// The sequence number for the next packet: 0 once (resetting the PD), then 1, 2, 3, 1 ...
    pub(super) fn take_seq(&mut self) -> u8 {
        let s = self.next_seq;
        self.next_seq = if s >= 3 { 1 } else { s + 1 };
        s
    }

    /// The Secure Channel base key and its kind, or `None` for a reader kept in clear.
    pub(super) fn key_material(&self) -> Option<([u8; 16], KeyKind)> {
        match &self.key {
            ReaderKey::Commissioned(k) => Some((*k, KeyKind::Scbk)),
            ReaderKey::InstallMode => Some((SCBK_D, KeyKind::Default)),
            ReaderKey::Clear => None,
        }
    }

    /// When this reader next wants the bus (`None`: it wants it now).
    pub(super) fn due_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::Running if !self.need_lstat && self.queue.is_empty() => {
                let sc_due = match (
                    self.sc_retry_at,
                    self.key_material().is_some(),
                    &self.channel,
                ) {
                    (Some(t), true, None) => Some(t),
                    _ => None,
                };
                match (self.next_poll_at, sc_due) {
                    (Some(p), Some(s)) => Some(p.min(s)),
                    (p, _) => p,
                }
            }
            _ => {
                if self.link == Link::Online {
                    None
                } else {
                    self.next_poll_at
                }
            }
        }
    }
}

impl ControlPanel {
    /// The reply to the packet in flight is overdue: retransmit it, or give up on the reader.
    pub(super) fn on_timeout(&mut self, now: Instant) -> Option<Vec<u8>> {
        let mut f = self.inflight.take()?;
        let i = f.reader;
        let threshold = self.cfg.offline_after_missed.max(1);
        let r = &mut self.readers[i];
        r.missed = r.missed.saturating_add(1);
        if r.link == Link::Online && r.missed < threshold {
            f.deadline = after(now, self.cfg.reply_timeout_ms);
            let bytes = f.bytes.clone();
            self.inflight = Some(f);
            self.stats.tx_packets += 1;
            self.stats.retransmits += 1;
            return Some(bytes);
        }
        if r.missed >= threshold || r.link != Link::Online {
            self.go_offline(i, now, f.sent);
        }
        None
    }

    /// Reset the reader's session after missed replies (reporting it offline once it has missed
    /// `offline_after_missed`), requeue the command that was in flight, and schedule the next probe.
    pub(super) fn go_offline(&mut self, i: usize, now: Instant, sent: Sent) {
        let retry = self.cfg.offline_retry_interval_ms;
        let r = &mut self.readers[i];
        let address = r.address;
        let mut events = Vec::new();
        if r.link != Link::Offline && r.missed >= self.cfg.offline_after_missed.max(1) {
            events.push(CpEvent::ReaderOffline { address });
            if r.channel.is_some() {
                events.push(CpEvent::SecureChannelDown {
                    address,
                    reason: "reader offline".into(),
                });
            }
            r.link = Link::Offline;
        }
        if let Sent::Command(c) = sent {
            r.queue.push_front(c);
        }
        if r.link == Link::Offline {
            for c in r.queue.drain(..) {
                events.push(CpEvent::CommandFailed {
                    address,
                    command: c.kind(),
                    reason: "reader offline".into(),
                });
            }
        }
        r.channel = None;
        r.phase = Phase::Identify;
        r.next_seq = 0;
        r.next_poll_at = Some(after(now, retry));
        self.events.extend(events);
    }
}
