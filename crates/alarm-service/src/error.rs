//! Why the alarm service refused a command: [`AlarmError`]. The HTTP layer maps each variant to a
//! status code; nothing here knows HTTP.
use strongroom_alarm::QueueError;
use strongroom_store::AppendError;

/// Why a command was refused or could not be recorded. Nothing changed in either case.
#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    /// The journal refused the facts (the command is rolled back).
    #[error("journal: {0}")]
    Journal(#[from] AppendError),
    /// The alarm queue refused the operator command (unknown alarm, already handled, ...).
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The partition is not one of the site's.
    #[error("unknown partition {0}")]
    UnknownPartition(u16),
    /// The sensor is not one of the site's.
    #[error("unknown sensor {0:?}")]
    UnknownSensor(String),
    /// A supervisory zone (tamper, trouble) cannot be drilled.
    #[error("sensor {0:?} is a supervisory zone: it cannot be drilled")]
    SupervisoryZone(String),
    /// An operator note over the limit.
    #[error("note is longer than {max_chars} characters")]
    NoteTooLong {
        /// The limit.
        max_chars: usize,
    },
    /// An operator note with nothing in it.
    #[error("note is empty")]
    EmptyNote,
    /// A report window that ends before it starts.
    #[error("from_ms is after to_ms")]
    BadWindow,
    /// No notification incident has this id or code (or the caller may not see it).
    #[error("incident {0:?}")]
    UnknownIncident(String),
    /// The incident was already acknowledged.
    #[error("{0}")]
    IncidentAcknowledged(String),
    /// The notifier failed.
    #[error("notifier: {0}")]
    Notifier(String),
}

/// Why the alarm service cannot start on a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl StartError {
    /// A start error from anything displayable.
    pub fn of(e: impl std::fmt::Display) -> StartError {
        StartError(e.to_string())
    }
}
