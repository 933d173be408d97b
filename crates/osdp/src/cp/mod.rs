//! The OSDP Control Panel session state machine, sans-IO.
//!
//! Bytes in with [`ControlPanel::handle_input`], bytes out with [`ControlPanel::poll_transmit`],
//! events out with [`ControlPanel::poll_event`], commands in with [`ControlPanel::submit`].
//! Time is injected: every call that needs it takes `now`; [`ControlPanel::poll_timeout`] says
//! when to call [`ControlPanel::poll_transmit`] again. Nothing here reads a clock or does IO.
//!
//! One command is on the bus at a time; readers (addresses) are served round-robin. Per reader:
//! `ID` (sequence 0, which resets the PD) → `CAP` → `CHLNG` → `SCRYPT` → `LSTAT` → `POLL` loop,
//! with queued LED/buzzer/output/KEYSET commands sent before the next poll. A reply that does
//! not arrive within `reply_timeout_ms` is retransmitted with the same sequence number; after
//! `offline_after_missed` misses in a row the reader is offline and probed every
//! `offline_retry_interval_ms`.
//!
//! Key policy: a reader configured with [`ReaderKey::Commissioned`] is only ever opened with its
//! own SCBK, never with SCBK-D; a reader in [`ReaderKey::InstallMode`] uses SCBK-D until a
//! KEYSET commissions it, after which it is bound to the new key.
//!
//! The parts: [`CpConfig`] and the readers' keys (`config`); [`ReaderCommand`] (`command`);
//! [`CpEvent`], [`CpError`], [`CpStats`] (`events`); each reader's session state and its
//! online/offline transitions (`session`); what goes on the bus next (`transmit`); replies
//! (`reply`); and the Secure Channel handshake (`handshake`).

mod command;
mod config;
mod events;
mod handshake;
mod reply;
mod session;
mod transmit;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::Instant;

pub use command::{CommandKind, ReaderCommand};
pub use config::{CpConfig, ReaderConfig, ReaderKey};
pub use events::{CpError, CpEvent, CpStats};

use crate::packet::Decoder;
use crate::secure::SCBK_D;
use session::{InFlight, Link, Reader, Sent};

/// Most commands queued for one reader.
const MAX_QUEUE: usize = 32;

/// The Control Panel.
#[derive(Debug)]
pub struct ControlPanel {
    cfg: CpConfig,
    readers: Vec<Reader>,
    inflight: Option<InFlight>,
    decoder: Decoder,
    events: VecDeque<CpEvent>,
    next_reader: usize,
    stats: CpStats,
}

impl ControlPanel {
    /// A CP serving `readers` on one bus.
    pub fn new(cfg: CpConfig, readers: Vec<ReaderConfig>) -> Result<Self, CpError> {
        let mut out: Vec<Reader> = Vec::with_capacity(readers.len());
        for r in readers {
            if r.address > 126 || out.iter().any(|o| o.address == r.address) {
                return Err(CpError::BadAddress(r.address));
            }
            if r.key == ReaderKey::Commissioned(SCBK_D) {
                return Err(CpError::DefaultKeyAsScbk(r.address));
            }
            out.push(Reader::new(r));
        }
        Ok(ControlPanel {
            cfg,
            readers: out,
            inflight: None,
            decoder: Decoder::new(),
            events: VecDeque::new(),
            next_reader: 0,
            stats: CpStats::default(),
        })
    }

    /// Diagnostics counters.
    pub fn stats(&self) -> &CpStats {
        &self.stats
    }

    fn index(&self, address: u8) -> Result<usize, CpError> {
        self.readers
            .iter()
            .position(|r| r.address == address)
            .ok_or(CpError::UnknownReader(address))
    }

    /// Whether the reader answers.
    pub fn is_online(&self, address: u8) -> bool {
        self.index(address)
            .is_ok_and(|i| self.readers[i].link == Link::Online)
    }

    /// Whether the reader's Secure Channel is up.
    pub fn is_secure(&self, address: u8) -> bool {
        self.index(address)
            .is_ok_and(|i| self.readers[i].channel.is_some())
    }

    /// Addresses of the readers currently online.
    pub fn online_addresses(&self) -> Vec<u8> {
        self.readers
            .iter()
            .filter(|r| r.link == Link::Online)
            .map(|r| r.address)
            .collect()
    }

    /// The line itself is gone (device closed, I/O error): every reader is offline now, and
    /// every Secure Channel is down.
    pub fn line_down(&mut self, now: Instant) {
        let inflight = self.inflight.take();
        let threshold = self.cfg.offline_after_missed.max(1);
        let mut sent_by = inflight.map(|f| (f.reader, f.sent));
        for i in 0..self.readers.len() {
            self.readers[i].missed = threshold;
            let sent = match sent_by.take() {
                Some((r, s)) if r == i => s,
                other => {
                    sent_by = other;
                    Sent::Poll
                }
            };
            self.go_offline(i, now, sent);
        }
        self.decoder.clear();
    }

    /// Queue a command for a reader; it goes out before the reader's next POLL.
    pub fn submit(&mut self, address: u8, command: ReaderCommand) -> Result<(), CpError> {
        let i = self.index(address)?;
        let r = &mut self.readers[i];
        if r.queue.len() >= MAX_QUEUE {
            return Err(CpError::QueueFull(address));
        }
        r.queue.push_back(command);
        Ok(())
    }

    /// Next event for the application.
    pub fn poll_event(&mut self) -> Option<CpEvent> {
        self.events.pop_front()
    }

    /// When [`ControlPanel::poll_transmit`] next has something to do. `None`: nothing scheduled
    /// (no readers). A time in the past means "now".
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        if let Some(f) = &self.inflight {
            return Some(f.deadline);
        }
        self.readers.iter().map(|r| r.due_at().unwrap_or(now)).min()
    }

    /// Feed received bytes.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.decoder.push(bytes);
        while let Some(res) = self.decoder.next_frame() {
            match res {
                Ok(frame) => self.handle_frame(frame, now),
                Err(_) => self.stats.rx_errors += 1,
            }
        }
    }

    /// Bytes to write now, if any. Call again until `None`, then wait for input or
    /// [`ControlPanel::poll_timeout`].
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(f) = &self.inflight {
            if now < f.deadline {
                return None;
            }
            return self.on_timeout(now);
        }
        let n = self.readers.len();
        for k in 0..n {
            let i = (self.next_reader + k) % n;
            let due = self.readers[i].due_at().is_none_or(|t| t <= now);
            if !due {
                continue;
            }
            self.next_reader = (i + 1) % n;
            if let Some(bytes) = self.build_next(i, now) {
                return Some(bytes);
            }
        }
        None
    }
}
