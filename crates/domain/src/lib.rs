//! Strongroom's pure core.
//!
//! This crate holds what every other crate agrees on and nothing that does IO:
//! - [`site`]: the site model (one TOML file per site) and its validation, with errors that name the
//!   file, line and field;
//! - [`fact`]: the facts Strongroom records (events before they enter the journal);
//! - [`auth`]: roles, permissions and the scope check every server handler goes through;
//! - [`clock`]: the injected clock (a real one and a manual one for tests);
//! - [`jurisdiction`]: the three supported jurisdictions and their headline parameters.
//!
//! Architecture invariant: no sockets, files, SQL or wall-clock reads in here. Functions take `now`.
#![forbid(unsafe_code)]

pub mod auth;
pub mod clock;
pub mod fact;
pub mod jurisdiction;
pub mod site;
pub mod throttle;

pub use clock::{Clock, ManualClock, SystemClock};
pub use fact::{Actor, Fact};
pub use jurisdiction::Jurisdiction;
