//! Why the access service refused a request: [`AccessError`], and why it could not start:
//! [`StartError`]. The HTTP layer maps each variant to a status code; nothing here knows HTTP.
use strongroom_access::CommandError;
use strongroom_access::window::BadWindow;
use strongroom_store::{AppendError, StoreError};

/// Why a request was refused or could not be recorded. Nothing changed in either case.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The journal refused the facts (nothing was applied; the door stays shut).
    #[error("journal: {0}")]
    Journal(#[from] AppendError),
    /// The access core refused the command (unknown person, PIN in use, ...).
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The journal could not be read.
    #[error("store: {0}")]
    Store(String),
    /// A device reported a door the site does not have.
    #[error("unknown door {0:?}")]
    UnknownDoor(String),
    /// No such person.
    #[error("person {0:?}")]
    UnknownPerson(String),
    /// A credential action other than suspend, reinstate or revoke.
    #[error("credential action {0:?} (expected suspend, reinstate or revoke)")]
    UnknownCredentialAction(String),
    /// An access-records window that ends before it starts or is too long.
    #[error(transparent)]
    BadWindow(#[from] BadWindow),
    /// A report date that is not a local date.
    #[error("{0}")]
    BadDate(String),
}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> Self {
        AccessError::Store(e.to_string())
    }
}

impl From<sqlx::Error> for AccessError {
    fn from(e: sqlx::Error) -> Self {
        AccessError::Store(e.to_string())
    }
}

/// Why the access service cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl StartError {
    /// A start error from anything displayable.
    pub fn of(e: impl std::fmt::Display) -> StartError {
        StartError(e.to_string())
    }
}

impl From<String> for StartError {
    fn from(s: String) -> Self {
        StartError(s)
    }
}
