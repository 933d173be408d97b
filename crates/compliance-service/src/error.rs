//! Why the compliance service refused a request: [`ComplianceError`]. The HTTP layer maps each
//! variant to a status code; nothing here knows HTTP.
use strongroom_store::{AppendError, StoreError};

/// Why a request was refused or failed. Nothing was recorded in either case.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    /// The request is invalid (a missing or too long text, a time in the future, an unknown
    /// device, area, camera or attestation item, nothing to update).
    #[error("{0}")]
    BadRequest(String),
    /// No such incident, outage, vendor change, share or report subject: what was looked for.
    #[error("{0} not found")]
    NotFound(String),
    /// It conflicts with the state (already recorded, closed, revoked).
    #[error("{0}")]
    Conflict(String),
    /// A case share link that is expired or revoked (the refusal was journaled).
    #[error("{0}")]
    Refused(String),
    /// No rule pack ships for the site's jurisdiction.
    #[error("{0}")]
    Unavailable(String),
    /// The journal refused the record; nothing was recorded.
    #[error("journal: {0}")]
    Journal(#[from] AppendError),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// Our fault (a pack that does not parse, no randomness).
    #[error("{0}")]
    Internal(String),
}

/// Why the compliance service cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);
