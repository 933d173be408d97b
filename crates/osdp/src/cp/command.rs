//! What the application sends to a reader ([`ReaderCommand`]), what kind of command an ACK or NAK
//! refers to ([`CommandKind`]), and each command's wire code and payload.

use crate::message::{self, BuzzerCommand, LedCommand, OutputCommand, cmd};

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

    pub(super) fn code_and_data(&self) -> (u8, Vec<u8>) {
        match self {
            ReaderCommand::Led(l) => (cmd::LED, l.to_bytes()),
            ReaderCommand::Buzzer(b) => (cmd::BUZ, b.to_bytes()),
            ReaderCommand::Output(o) => (cmd::OUT, o.to_bytes()),
            ReaderCommand::SetKey(k) => (cmd::KEYSET, message::keyset_bytes(k)),
        }
    }
}
