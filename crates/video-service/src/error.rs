//! Why the video service refused a request: [`VideoError`]. The HTTP layer maps each variant to
//! a status code; nothing here knows HTTP.
use strongroom_store::{AppendError, StoreError};
use strongroom_video::index::IndexError;

/// Why a request was refused or failed. Nothing was journaled as done in either case.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The request is invalid (a range, a text field, a format, an id).
    #[error("{0}")]
    BadRequest(String),
    /// No such camera in the site file.
    #[error("camera {0:?} not found")]
    UnknownCamera(String),
    /// Nothing there (no recording at that time, no such export or hold): what was looked for.
    #[error("{0} not found")]
    NotFound(String),
    /// The thing asked for exists but cannot be had now (no live picture from a camera).
    #[error("{0}")]
    Unavailable(String),
    /// It conflicts with the state (the recording changed since it was indexed).
    #[error("{0}")]
    Conflict(String),
    /// The journal refused the audit fact; nothing was served.
    #[error("journal: {0}")]
    Journal(#[from] AppendError),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// Our fault.
    #[error("{0}")]
    Internal(String),
}

impl From<IndexError> for VideoError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::Refused(m) => VideoError::BadRequest(m),
            IndexError::NotFound(m) => VideoError::NotFound(m),
            other => VideoError::Internal(other.to_string()),
        }
    }
}

/// Why the video service cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);
