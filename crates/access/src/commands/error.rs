//! Why a command was refused ([`CommandError`]); a refused command changes nothing.

use crate::model::{CredentialKind, CredentialStatus, PersonCategory};

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A malformed id.
    #[error("bad id {0:?}: use 1-64 characters from a-z, A-Z, 0-9, '-', '_', '.', ':'")]
    BadId(String),
    /// A required text field is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// The person already exists.
    #[error("person {0:?} already exists")]
    PersonExists(String),
    /// No such person.
    #[error("unknown person {0:?}")]
    UnknownPerson(String),
    /// The person is terminated: nothing more can be issued or granted.
    #[error("person {0:?} is terminated")]
    PersonTerminated(String),
    /// Nothing would change.
    #[error("no change: {0}")]
    Unchanged(String),
    /// Terminated is final.
    #[error(
        "person {0:?} is terminated; a terminated person cannot be reactivated (register anew)"
    )]
    TerminationIsFinal(String),
    /// The PIN is not 4-8 digits.
    #[error("a PIN must be 4 to 8 digits")]
    BadPin,
    /// The card number is malformed.
    #[error("a card number must be 1-64 letters, digits, '-' or ':'")]
    BadCard,
    /// The credential kind needs a card number / PIN, or must not have one.
    #[error("a {kind:?} credential {problem}")]
    KindMismatch {
        /// Kind.
        kind: CredentialKind,
        /// What is wrong.
        problem: &'static str,
    },
    /// The PIN is held by another credential (OH 3796:6-3-16(B)(8): a unique code per employee;
    /// OH 3796:3-2-05(A)(8): no shared credentials).
    #[error("this PIN is already held {}; PINs are unique per person", if *by_other_person { "by another person" } else { "by another credential of this person" })]
    PinInUse {
        /// Whether another person holds it.
        by_other_person: bool,
    },
    /// The card is held by another credential (no shared cards).
    #[error("this card is already issued {}; a card belongs to one credential", if *by_other_person { "to another person" } else { "to this person" })]
    CardInUse {
        /// Whether another person holds it.
        by_other_person: bool,
    },
    /// The person already has a live duress PIN.
    #[error("person {0:?} already has a duress PIN; revoke it or issue with `replaces`")]
    DuressPinExists(String),
    /// The expiry is already past.
    #[error("expiry {0} is not in the future")]
    BadExpiry(i64),
    /// No such credential.
    #[error("unknown credential {0:?}")]
    UnknownCredential(String),
    /// The credential belongs to someone else.
    #[error("credential {credential:?} belongs to {owner:?}, not {person:?}")]
    NotTheirs {
        /// Credential id.
        credential: String,
        /// Its holder.
        owner: String,
        /// The person named.
        person: String,
    },
    /// The credential's status does not allow this.
    #[error("credential {credential:?} is {status:?}")]
    CredentialStatus {
        /// Credential id.
        credential: String,
        /// Its status.
        status: CredentialStatus,
    },
    /// No such area in the site file.
    #[error("unknown area {0:?}")]
    UnknownArea(String),
    /// No such reader in the site file.
    #[error("unknown reader {0:?}")]
    UnknownReader(String),
    /// A schedule window is malformed.
    #[error("bad schedule: every window needs days and minutes in 0..1440")]
    BadSchedule,
    /// The person's category may not have this.
    #[error("a {category} may not {what}")]
    NotAllowedForCategory {
        /// Category.
        category: PersonCategory,
        /// What was refused.
        what: &'static str,
    },
    /// The person is not a vendor or service professional.
    #[error("person {0:?} is not a vendor or service professional")]
    NotAVendor(String),
    /// The secret already exists.
    #[error("secret {0:?} already exists")]
    SecretExists(String),
    /// No such secret.
    #[error("unknown secret {0:?}")]
    UnknownSecret(String),
    /// AC-07: only active agents with a current badge may hold secrets.
    #[error("person {0:?} may not hold secrets: only active agents with a current badge (AC-07)")]
    NotEligibleForSecret(String),
    /// A lockdown is already in force.
    #[error("a lockdown is already in force")]
    AlreadyLockedDown,
    /// No lockdown is in force.
    #[error("no lockdown is in force")]
    NotLockedDown,
    /// The area is not a vault.
    #[error("area {0:?} is not a vault")]
    NotAVault(String),
    /// Times are inconsistent.
    #[error("bad times: {0}")]
    BadTimes(&'static str),
}
