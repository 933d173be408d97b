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

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::message::{
    self, BuzzerCommand, CardFormat, LedCommand, NakReason, OutputCommand, PdId, Reply, Wiegand26,
    cmd, keys_to_text,
};
use crate::packet::{Decoder, Frame, Packet, scs};
use crate::secure::{CpHandshake, CpPending, KeyKind, SCBK_D, SecureChannel, SecureError};

/// Timing and retry settings.
#[derive(Debug, Clone)]
pub struct CpConfig {
    /// Pause between POLLs to one reader when it has nothing to report.
    pub poll_interval_ms: u64,
    /// How long to wait for a reply.
    pub reply_timeout_ms: u64,
    /// Consecutive missed replies after which a reader is declared offline.
    pub offline_after_missed: u32,
    /// Probe interval for an offline reader.
    pub offline_retry_interval_ms: u64,
    /// Retry interval after a failed Secure Channel handshake.
    pub sc_retry_interval_ms: u64,
    /// After a card read or key press, the bus stays free this long before the next POLL, so
    /// that the application's LED/buzzer answer goes out first instead of queueing behind a poll.
    pub response_window_ms: u64,
}

impl Default for CpConfig {
    fn default() -> Self {
        CpConfig {
            poll_interval_ms: 50,
            reply_timeout_ms: 200,
            offline_after_missed: 3,
            offline_retry_interval_ms: 1000,
            sc_retry_interval_ms: 10_000,
            response_window_ms: 20,
        }
    }
}

/// How a reader's Secure Channel is keyed.
#[derive(Clone, PartialEq, Eq)]
pub enum ReaderKey {
    /// The reader's own SCBK. SCBK-D is never used for this reader.
    Commissioned([u8; 16]),
    /// Install mode: SCBK-D, until [`ReaderCommand::SetKey`] commissions the reader.
    InstallMode,
    /// No Secure Channel at all (card reads are reported with `secure: false`).
    Clear,
}

impl std::fmt::Debug for ReaderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReaderKey::Commissioned(_) => f.write_str("Commissioned(..)"),
            ReaderKey::InstallMode => f.write_str("InstallMode"),
            ReaderKey::Clear => f.write_str("Clear"),
        }
    }
}

/// One reader on the bus.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// OSDP address, 0..=126.
    pub address: u8,
    /// Secure Channel key.
    pub key: ReaderKey,
}

/// Commands the application sends to a reader.
#[derive(Clone, PartialEq, Eq)]
pub enum ReaderCommand {
    /// LED pattern.
    Led(LedCommand),
    /// Buzzer pattern.
    Buzzer(BuzzerCommand),
    /// Output (relay) control.
    Output(OutputCommand),
    /// Commission the reader with its own SCBK (KEYSET; only inside a Secure Channel).
    SetKey([u8; 16]),
}

impl std::fmt::Debug for ReaderCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReaderCommand::Led(l) => f.debug_tuple("Led").field(l).finish(),
            ReaderCommand::Buzzer(b) => f.debug_tuple("Buzzer").field(b).finish(),
            ReaderCommand::Output(o) => f.debug_tuple("Output").field(o).finish(),
            ReaderCommand::SetKey(_) => f.write_str("SetKey(..)"),
        }
    }
}

/// What kind of command an ACK/NAK refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// LED.
    Led,
    /// Buzzer.
    Buzzer,
    /// Output.
    Output,
    /// KEYSET.
    SetKey,
}

impl ReaderCommand {
    /// The kind, for events.
    pub fn kind(&self) -> CommandKind {
        match self {
            ReaderCommand::Led(_) => CommandKind::Led,
            ReaderCommand::Buzzer(_) => CommandKind::Buzzer,
            ReaderCommand::Output(_) => CommandKind::Output,
            ReaderCommand::SetKey(_) => CommandKind::SetKey,
        }
    }

    fn code_and_data(&self) -> (u8, Vec<u8>) {
        match self {
            ReaderCommand::Led(l) => (cmd::LED, l.to_bytes()),
            ReaderCommand::Buzzer(b) => (cmd::BUZ, b.to_bytes()),
            ReaderCommand::Output(o) => (cmd::OUT, o.to_bytes()),
            ReaderCommand::SetKey(k) => (cmd::KEYSET, message::keyset_bytes(k)),
        }
    }
}

/// Events for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpEvent {
    /// The reader answers.
    ReaderOnline {
        /// Reader address.
        address: u8,
    },
    /// The reader stopped answering (after `offline_after_missed` misses).
    ReaderOffline {
        /// Reader address.
        address: u8,
    },
    /// The reader identified itself.
    Identified {
        /// Reader address.
        address: u8,
        /// Its PDID.
        id: PdId,
    },
    /// Secure Channel established.
    SecureChannelUp {
        /// Reader address.
        address: u8,
        /// Keyed with SCBK-D (install mode).
        install_key: bool,
    },
    /// An established Secure Channel was lost. **An alert**: a reader dropping out of Secure
    /// Channel may be tampered with or replaced.
    SecureChannelDown {
        /// Reader address.
        address: u8,
        /// Why.
        reason: String,
    },
    /// A Secure Channel handshake failed (wrong key, PD refused ...). Retried later.
    SecureChannelFailed {
        /// Reader address.
        address: u8,
        /// Why.
        reason: String,
    },
    /// A card was read.
    CardRead {
        /// Reader address.
        address: u8,
        /// Reader number on the PD.
        reader: u8,
        /// Format code.
        format: CardFormat,
        /// Number of valid bits.
        bit_count: u16,
        /// Bits, MSB first.
        data: Vec<u8>,
        /// Facility and number if this is a 26-bit Wiegand read.
        wiegand26: Option<Wiegand26>,
        /// Arrived inside a Secure Channel.
        secure: bool,
    },
    /// Keys typed on the keypad.
    Keypad {
        /// Reader address.
        address: u8,
        /// Reader number on the PD.
        reader: u8,
        /// Keys as text ('0'..'9', '*', '#').
        digits: String,
        /// Arrived inside a Secure Channel.
        secure: bool,
    },
    /// Tamper state reported by LSTATR (on first report if active, then on change).
    Tamper {
        /// Reader address.
        address: u8,
        /// Tamper active.
        active: bool,
    },
    /// Power state reported by LSTATR (on first report if failed, then on change).
    Power {
        /// Reader address.
        address: u8,
        /// Power failure.
        failure: bool,
    },
    /// The reader acknowledged a command.
    CommandAcked {
        /// Reader address.
        address: u8,
        /// Which command.
        command: CommandKind,
    },
    /// The reader refused a command.
    CommandNaked {
        /// Reader address.
        address: u8,
        /// Which command.
        command: CommandKind,
        /// NAK reason.
        reason: NakReason,
    },
    /// A queued command was dropped (reader offline, or it needs a Secure Channel).
    CommandFailed {
        /// Reader address.
        address: u8,
        /// Which command.
        command: CommandKind,
        /// Why.
        reason: String,
    },
    /// The reader accepted a new SCBK: persist it and configure the reader as commissioned.
    KeyChanged {
        /// Reader address.
        address: u8,
    },
    /// A reply that could not be understood.
    ProtocolError {
        /// Reader address.
        address: u8,
        /// What was wrong.
        detail: String,
    },
}

/// Errors of the CP API (never of the wire: wire problems become events).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CpError {
    /// No reader with this address.
    #[error("unknown reader address {0}")]
    UnknownReader(u8),
    /// Address out of range or used twice.
    #[error("invalid or duplicate reader address {0}")]
    BadAddress(u8),
    /// Policy: SCBK-D may not be configured as a commissioned key.
    #[error("reader {0}: SCBK-D is not allowed as a commissioned key")]
    DefaultKeyAsScbk(u8),
    /// Too many commands queued for the reader.
    #[error("command queue full for reader {0}")]
    QueueFull(u8),
}

/// Counters for diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpStats {
    /// Packets written (including retransmits).
    pub tx_packets: u64,
    /// Valid reply packets received.
    pub rx_packets: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// Frames dropped for CRC/format errors.
    pub rx_errors: u64,
    /// Replies ignored (wrong address/sequence, nothing in flight).
    pub rx_ignored: u64,
}

const MAX_QUEUE: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Unknown,
    Online,
    Offline,
}

#[derive(Debug)]
enum Phase {
    Identify,
    Capabilities,
    Challenge,
    ServerCrypt(Box<CpPending>),
    Running,
}

#[derive(Debug)]
enum Sent {
    Id,
    Cap,
    Chlng(Box<CpHandshake>),
    Scrypt(Box<CpPending>),
    Poll,
    Lstat,
    Command(ReaderCommand),
}

#[derive(Debug)]
struct Reader {
    address: u8,
    key: ReaderKey,
    link: Link,
    missed: u32,
    next_seq: u8,
    phase: Phase,
    channel: Option<SecureChannel>,
    queue: VecDeque<ReaderCommand>,
    next_poll_at: Option<Instant>,
    sc_retry_at: Option<Instant>,
    need_lstat: bool,
    tamper: Option<bool>,
    power_failure: Option<bool>,
    last_sc_loss: Option<Instant>,
}

#[derive(Debug)]
struct InFlight {
    reader: usize,
    bytes: Vec<u8>,
    sequence: u8,
    sent: Sent,
    deadline: Instant,
}

fn after(now: Instant, ms: u64) -> Instant {
    now.checked_add(Duration::from_millis(ms)).unwrap_or(now)
}

impl Reader {
    fn take_seq(&mut self) -> u8 {
        let s = self.next_seq;
        self.next_seq = if s >= 3 { 1 } else { s + 1 };
        s
    }

    fn key_material(&self) -> Option<([u8; 16], KeyKind)> {
        match &self.key {
            ReaderKey::Commissioned(k) => Some((*k, KeyKind::Scbk)),
            ReaderKey::InstallMode => Some((SCBK_D, KeyKind::Default)),
            ReaderKey::Clear => None,
        }
    }

    /// When this reader next wants the bus (`None`: it wants it now).
    fn due_at(&self) -> Option<Instant> {
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
            out.push(Reader {
                address: r.address,
                key: r.key,
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
            });
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

    fn on_timeout(&mut self, now: Instant) -> Option<Vec<u8>> {
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

    fn go_offline(&mut self, i: usize, now: Instant, sent: Sent) {
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

    fn build_next(&mut self, i: usize, now: Instant) -> Option<Vec<u8>> {
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

    fn challenge(&mut self, i: usize, now: Instant) -> Option<(Packet, Sent)> {
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

    fn handle_frame(&mut self, frame: Frame, now: Instant) {
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

    fn secure_lost(&mut self, i: usize, reason: String, sent: Sent, now: Instant) {
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

    fn sc_failed(&mut self, i: usize, reason: String, now: Instant) {
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
            Sent::Chlng(hs) => match reply {
                Reply::Ccrypt(_) => match hs.on_ccrypt(packet) {
                    Ok(pending) => self.readers[i].phase = Phase::ServerCrypt(Box::new(pending)),
                    Err(e) => self.sc_failed(i, e.to_string(), now),
                },
                Reply::Nak(reason) => {
                    self.sc_failed(i, format!("reader refused CHLNG: NAK {reason:?}"), now)
                }
                other => self.sc_failed(i, format!("unexpected reply to CHLNG: {other:?}"), now),
            },
            Sent::Scrypt(pending) => match reply {
                Reply::RmacI(_) => match (*pending).on_rmac_i(packet) {
                    Ok(ch) => {
                        let r = &mut self.readers[i];
                        r.channel = Some(ch);
                        r.phase = Phase::Running;
                        r.need_lstat = true;
                        r.sc_retry_at = None;
                        let install_key = r.key == ReaderKey::InstallMode;
                        self.events.push_back(CpEvent::SecureChannelUp {
                            address,
                            install_key,
                        });
                    }
                    Err(e) => self.sc_failed(i, e.to_string(), now),
                },
                other => self.sc_failed(i, format!("unexpected reply to SCRYPT: {other:?}"), now),
            },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::LedCommand;
    use crate::sim::SimPd;

    const KEY: [u8; 16] = [0x3C; 16];
    const STEP_MS: u64 = 5;

    struct Bus {
        cp: ControlPanel,
        pds: Vec<SimPd>,
        now: Instant,
        events: Vec<CpEvent>,
    }

    impl Bus {
        fn new(readers: Vec<ReaderConfig>, pds: Vec<SimPd>) -> Self {
            Bus {
                cp: ControlPanel::new(CpConfig::default(), readers).unwrap(),
                pds,
                now: Instant::now(),
                events: Vec::new(),
            }
        }

        /// Run the bus for `ms` of virtual time.
        fn run_ms(&mut self, ms: u64) {
            let end = after(self.now, ms);
            while self.now < end {
                while let Some(bytes) = self.cp.poll_transmit(self.now) {
                    let replies: Vec<Vec<u8>> = self
                        .pds
                        .iter_mut()
                        .flat_map(|pd| pd.handle_input(&bytes))
                        .collect();
                    for r in replies {
                        self.cp.handle_input(&r, self.now);
                    }
                }
                while let Some(e) = self.cp.poll_event() {
                    self.events.push(e);
                }
                self.now = after(self.now, STEP_MS);
            }
        }

        fn take(&mut self) -> Vec<CpEvent> {
            std::mem::take(&mut self.events)
        }
    }

    fn reader(address: u8, key: ReaderKey) -> ReaderConfig {
        ReaderConfig { address, key }
    }

    #[test]
    fn secure_card_keypad_and_led() {
        let mut pd = SimPd::new(1, KEY);
        pd.present_card(123, 4567);
        pd.type_keys("1234#");
        let mut bus = Bus::new(vec![reader(1, ReaderKey::Commissioned(KEY))], vec![pd]);
        bus.run_ms(300);
        let ev = bus.take();
        assert!(ev.contains(&CpEvent::SecureChannelUp {
            address: 1,
            install_key: false
        }));
        let card = ev
            .iter()
            .find_map(|e| match e {
                CpEvent::CardRead {
                    wiegand26, secure, ..
                } => Some((*wiegand26, *secure)),
                _ => None,
            })
            .unwrap();
        let w = card.0.unwrap();
        assert_eq!((w.facility, w.number, card.1), (123, 4567, true));
        assert!(ev.iter().any(
            |e| matches!(e, CpEvent::Keypad { digits, secure: true, .. } if digits == "1234#")
        ));
        bus.cp
            .submit(1, ReaderCommand::Led(LedCommand::deny()))
            .unwrap();
        bus.run_ms(100);
        assert!(bus.take().contains(&CpEvent::CommandAcked {
            address: 1,
            command: CommandKind::Led
        }));
        let got = bus.pds[0].take_received();
        assert_eq!(got.len(), 1);
        assert!(got[0].secure);
        assert_eq!(got[0].data, LedCommand::deny().to_bytes());
        assert!(bus.cp.stats().rx_packets > 5);
    }

    #[test]
    fn dead_reader_goes_offline_then_online_again() {
        let mut bus = Bus::new(
            vec![reader(1, ReaderKey::Commissioned(KEY))],
            vec![SimPd::new(1, KEY)],
        );
        bus.run_ms(200);
        assert!(bus.cp.is_secure(1));
        bus.take();
        bus.pds[0].alive = false;
        bus.run_ms(800);
        let ev = bus.take();
        assert!(
            ev.contains(&CpEvent::ReaderOffline { address: 1 }),
            "{ev:?}"
        );
        assert!(
            ev.iter()
                .any(|e| matches!(e, CpEvent::SecureChannelDown { address: 1, .. }))
        );
        assert!(bus.cp.stats().retransmits >= 2);
        // Still dead: no repeated offline events.
        bus.run_ms(3000);
        assert!(
            !bus.take()
                .iter()
                .any(|e| matches!(e, CpEvent::ReaderOffline { .. }))
        );
        bus.pds[0].alive = true;
        bus.run_ms(1500);
        let ev = bus.take();
        assert!(ev.contains(&CpEvent::ReaderOnline { address: 1 }), "{ev:?}");
        assert!(ev.contains(&CpEvent::SecureChannelUp {
            address: 1,
            install_key: false
        }));
    }

    #[test]
    fn never_seen_reader_is_reported_offline_once() {
        let mut pd = SimPd::new(1, KEY);
        pd.alive = false;
        let mut bus = Bus::new(vec![reader(1, ReaderKey::Commissioned(KEY))], vec![pd]);
        bus.run_ms(5000);
        let ev = bus.take();
        assert_eq!(ev, vec![CpEvent::ReaderOffline { address: 1 }]);
    }

    #[test]
    fn wrong_key_fails_clearly_and_card_is_marked_insecure() {
        let mut pd = SimPd::new(1, [0x99; 16]);
        pd.present_card(1, 2);
        let mut bus = Bus::new(vec![reader(1, ReaderKey::Commissioned(KEY))], vec![pd]);
        bus.run_ms(300);
        let ev = bus.take();
        assert!(ev.iter().any(|e| matches!(e, CpEvent::SecureChannelFailed { reason, .. } if reason.contains("cryptogram"))), "{ev:?}");
        assert!(
            !ev.iter()
                .any(|e| matches!(e, CpEvent::SecureChannelUp { .. }))
        );
        assert!(
            ev.iter()
                .any(|e| matches!(e, CpEvent::CardRead { secure: false, .. }))
        );
        assert!(bus.cp.is_online(1));
        assert!(!bus.cp.is_secure(1));
        // KEYSET is refused without a secure channel.
        bus.cp.submit(1, ReaderCommand::SetKey([1; 16])).unwrap();
        bus.run_ms(100);
        assert!(bus.take().iter().any(|e| matches!(
            e,
            CpEvent::CommandFailed {
                command: CommandKind::SetKey,
                ..
            }
        )));
        // Retries the handshake later, and fails again (no fallback to SCBK-D).
        bus.run_ms(10_500);
        let ev = bus.take();
        assert!(
            ev.iter()
                .any(|e| matches!(e, CpEvent::SecureChannelFailed { .. }))
        );
        assert!(!bus.cp.is_secure(1));
    }

    #[test]
    fn install_mode_commissioning_then_no_fallback_to_default_key() {
        let mut bus = Bus::new(
            vec![reader(1, ReaderKey::InstallMode)],
            vec![SimPd::install_mode(1)],
        );
        bus.run_ms(200);
        assert!(bus.take().contains(&CpEvent::SecureChannelUp {
            address: 1,
            install_key: true
        }));
        let new_key = [0x77; 16];
        bus.cp.submit(1, ReaderCommand::SetKey(new_key)).unwrap();
        bus.run_ms(200);
        let ev = bus.take();
        assert!(ev.contains(&CpEvent::KeyChanged { address: 1 }), "{ev:?}");
        assert!(
            ev.contains(&CpEvent::SecureChannelUp {
                address: 1,
                install_key: false
            }),
            "{ev:?}"
        );
        assert_eq!(bus.pds[0].scbk(), new_key);
        // A reader reset to factory (SCBK-D, install mode) is not trusted any more.
        bus.pds[0] = SimPd::install_mode(1);
        bus.run_ms(500);
        let ev = bus.take();
        assert!(
            ev.iter()
                .any(|e| matches!(e, CpEvent::SecureChannelDown { .. })),
            "{ev:?}"
        );
        assert!(
            ev.iter()
                .any(|e| matches!(e, CpEvent::SecureChannelFailed { .. })),
            "{ev:?}"
        );
        assert!(!bus.cp.is_secure(1));
    }

    #[test]
    fn two_readers_on_one_bus_and_tamper() {
        let mut a = SimPd::new(1, KEY);
        a.tamper = true;
        let mut b = SimPd::new(2, [0x44; 16]);
        b.present_card(9, 99);
        let mut bus = Bus::new(
            vec![
                reader(1, ReaderKey::Commissioned(KEY)),
                reader(2, ReaderKey::Commissioned([0x44; 16])),
            ],
            vec![a, b],
        );
        bus.run_ms(400);
        let ev = bus.take();
        assert!(bus.cp.is_secure(1) && bus.cp.is_secure(2), "{ev:?}");
        assert!(ev.contains(&CpEvent::Tamper {
            address: 1,
            active: true
        }));
        assert!(
            !ev.iter()
                .any(|e| matches!(e, CpEvent::Tamper { address: 2, .. }))
        );
        assert!(ev.iter().any(|e| matches!(e, CpEvent::CardRead { address: 2, wiegand26: Some(w), .. } if w.number == 99)));
    }

    #[test]
    fn repeated_secure_channel_loss_backs_off() {
        let mut bus = Bus::new(
            vec![reader(1, ReaderKey::Commissioned(KEY))],
            vec![SimPd::new(1, KEY)],
        );
        bus.run_ms(200);
        assert!(bus.cp.is_secure(1));
        bus.take();
        // A PD that keeps losing its session (e.g. a reader being swapped or attacked):
        // replace it with a fresh one, whose first secured reply will fail.
        for _ in 0..5 {
            bus.pds[0] = SimPd::new(1, KEY);
            bus.run_ms(300);
        }
        let ev = bus.take();
        let downs = ev
            .iter()
            .filter(|e| matches!(e, CpEvent::SecureChannelDown { .. }))
            .count();
        assert!((1..=2).contains(&downs), "flapping: {ev:?}");
        // After the back-off the session comes back.
        bus.run_ms(10_500);
        assert!(bus.cp.is_secure(1), "{:?}", bus.take());
    }

    #[test]
    fn garbage_on_the_line_is_survived() {
        let mut bus = Bus::new(
            vec![reader(1, ReaderKey::Commissioned(KEY))],
            vec![SimPd::new(1, KEY)],
        );
        bus.run_ms(200);
        bus.cp.handle_input(
            &[0x53, 0x81, 0xFF, 0xFF, 0x00, 0x53, 0x53, 1, 2, 3],
            bus.now,
        );
        bus.run_ms(500);
        assert!(bus.cp.is_secure(1));
        assert!(bus.cp.is_online(1));
    }

    #[test]
    fn config_policy() {
        assert_eq!(
            ControlPanel::new(
                CpConfig::default(),
                vec![reader(1, ReaderKey::Commissioned(SCBK_D))]
            )
            .unwrap_err(),
            CpError::DefaultKeyAsScbk(1)
        );
        assert!(
            ControlPanel::new(
                CpConfig::default(),
                vec![reader(1, ReaderKey::Clear), reader(1, ReaderKey::Clear)]
            )
            .is_err()
        );
        assert!(
            ControlPanel::new(CpConfig::default(), vec![reader(127, ReaderKey::Clear)]).is_err()
        );
        let mut cp =
            ControlPanel::new(CpConfig::default(), vec![reader(1, ReaderKey::Clear)]).unwrap();
        assert_eq!(
            cp.submit(2, ReaderCommand::Led(LedCommand::grant())),
            Err(CpError::UnknownReader(2))
        );
    }
}
