//! The tamper-evident journal, without storage.
//!
//! Every fact of a site becomes a [`JournalEvent`] with a sequence number (1, 2, 3, ... per site) and
//! a hash: `hash(n) = SHA-256(hash(n-1) || canonical_bytes(event n))`, with 32 zero bytes before
//! the first event. Every second while events flow (and at shutdown) the head is sealed by a
//! [`Checkpoint`]: an Ed25519 signature over the site, sequence, head hash and time.
//!
//! [`Verifier`] checks a stream of events in constant memory and names the first bad sequence
//! number and what is wrong with it: altered, removed, inserted, reordered, or a tail cut after a
//! signed checkpoint (IL 1291.300(e)(5): tampering with electronic records must be detectable).
//!
//! Storage lives in `strongroom-store`; this crate does no IO.
#![forbid(unsafe_code)]

pub mod canonical;
pub mod checkpoint;
pub mod verify;

pub use canonical::{CanonicalError, JournalEvent, canonical_bytes, chain_hash};
pub use checkpoint::{Checkpoint, SiteKey};
pub use verify::{Tamper, Verifier, VerifyReport};

/// The hash that precedes the first event of every site.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];
