//! Strongroom's access-control core. Pure: state + input + now → decision + facts.
//!
//! - [`AccessState`] ([`state`]): people, credentials (keyed hashes only), area authorizations with
//!   schedules, the approved vendor list, the secrets register, lockdown, and the short-lived state
//!   decisions depend on (pending vault badges, escorts, wrong PINs, occupancy). Built only by
//!   [`AccessState::apply`], so the journal rebuilds it.
//! - [`commands`]: validate a change and return its facts, or a typed [`CommandError`].
//! - [`decide()`] ([`mod@decide`]): a credential at a reader (or an exit, a staff release, an emergency
//!   override) → [`Decision`] with outcome, facts and what the reader shows.
//! - [`DoorMonitor`] ([`door`]): forced, held-open and left-unlocked doors.
//! - [`records`]: the daily vault log (+ CSV), restricted-area access records, who knows vault
//!   codes, who may enter the surveillance room.
//! - [`keypad`]: the keypad grammar (digits, `*`, `#`), a card waiting for its PIN, card numbers
//!   of raw reads; [`link`]: reader link and door device facts, silent facts last;
//!   [`window`]: the access-records query window.
//! - [`kinds`]: every fact kind with its payload fields; [`payload`]: the typed payloads.
//!
//! The site comes in as an [`AccessSite`], compiled once from the domain's `SiteConfig` plus
//! [`AccessParams`] (vault mode and the other parameters the site file does not carry).
//!
//! Architecture invariants: no IO, no clock reads, no randomness (credential ids are counted from
//! the facts); nothing here mutates state except `apply`; no fact or state field holds a plaintext
//! card number or PIN.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod commands;
pub mod decide;
pub mod door;
pub mod hash;
pub mod keypad;
pub mod kinds;
pub mod link;
pub mod model;
pub mod payload;
pub mod records;
pub mod site;
pub mod state;
pub mod window;

pub use commands::{Command, CommandError, NewCredential, NewPerson, execute};
pub use decide::{
    Decision, DenyReason, EmergencyOverride, ExitSource, GoodFaithAttempt, Outcome, PendingKind,
    Presentation, ReaderFeedback, Request, decide,
};
pub use door::DoorMonitor;
pub use hash::{CredHash, SiteSecret};
pub use model::{
    CredentialKind, CredentialStatus, Method, PersonCategory, PersonStatus, Schedule, SecretKind,
    VendorStatus, Weekday, Window,
};
pub use payload::Source;
pub use records::{VaultLogEntry, vault_log, vault_log_csv};
pub use site::{AccessParams, AccessSite, VaultMode};
pub use state::{AccessState, Applied};
