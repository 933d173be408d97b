//! What a Control Panel reports: events for the application ([`CpEvent`]), errors of its API
//! ([`CpError`]) and diagnostics counters ([`CpStats`]).

use thiserror::Error;

use super::CommandKind;
use crate::message::{CardFormat, NakReason, PdId, Wiegand26};

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
