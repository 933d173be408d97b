//! Strongroom's access-control service: one site's access subsystem between the pure crate
//! (`strongroom-access`) and the HTTP layer. It knows nothing of HTTP.
//!
//! - [`start()`] builds an [`AccessService`] on a [`strongroom_store::service::ServiceCtx`]: the
//!   credential-hash key (`DATA_DIR/keys/SITE.access-secret`, checked against the fingerprint the
//!   journal recorded), the state and the door monitor rebuilt by replaying the journal through
//!   [`strongroom_store::follow::JournalFollower`], the one-second door tick with the credential
//!   expiry sweep, and the OSDP supervisor (one driver per reader line). [`AccessService::check_config`]
//!   says whether a configuration compiles (the reload's first phase); [`AccessService::apply_config`]
//!   puts one in force.
//! - Devices: [`AccessService::present`] (a card and/or PIN at a reader), `door_contact`,
//!   `door_lock`; the operator API (`people`, `add_person`, `issue_credential`, `change_credential`,
//!   `vendors`, `secrets`, `lockdown`, `doors`, `occupancy`, `records`, `vault_log`,
//!   `vault_code_holders`, `surveillance_access`, ...) returns the typed [`views`] or an
//!   [`AccessError`].
//!
//! Invariants:
//! - Decisions and commands run one at a time under one lock. The pure core returns facts; they
//!   are appended to the journal and durable before they are applied and answered (the API's
//!   response, the reader's LED). A refused append changes nothing and the door stays shut.
//! - Silent facts (`alarm.duress`) go last in their batch with `visibility = "monitoring"`; a
//!   duress entry answers exactly like a normal one.
//! - The credential-hash key never reaches the journal (only its fingerprint does); a wrong or
//!   lost key file is refused at start instead of silently locking everyone out.
//! - Every rule (decisions, the keypad grammar, reader health facts, record windows) lives in
//!   `strongroom-access`; this crate wires it to IO.
#![forbid(unsafe_code)]

mod bench;
mod doors;
mod error;
mod operator;
mod osdp;
mod reports;
mod secret;
mod service;
mod start;
mod vault;
pub mod views;

pub use bench::{VaultLogBench, bench_vault_log};
pub use error::{AccessError, StartError};
pub use reports::{Report, ReportFile};
pub use service::AccessService;
pub use start::{SECRET_CREATED, StartedAccess, start};
pub use strongroom_access::link::{
    HEALTH_READER_DOWN, HEALTH_READER_INSECURE, HEALTH_READER_UP, READ_REFUSED,
};
pub use vault::{ensure_vault_index, vault_log_facts};
