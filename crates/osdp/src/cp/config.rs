//! Configuration of a Control Panel: bus timing and retries ([`CpConfig`]) and the readers on the
//! bus with the key policy of each ([`ReaderConfig`], [`ReaderKey`]).

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
    /// Install mode: SCBK-D, until [`ReaderCommand::SetKey`](super::ReaderCommand::SetKey)
    /// commissions the reader.
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
