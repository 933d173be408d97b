//! Strongroom compliance engine: jurisdiction rule packs as data, check kinds, schedules and
//! deadlines, and the reports a regulator accepts.
//!
//! - [`pack`]: rule packs (TOML files, three built in), parsed with file/line/column errors;
//!   [`pack::check_pack`] and [`pack::list`] back `strongroom rules check|list`.
//! - [`records`]: the facts the server gathers (measurements, inspections, outages, vendors,
//!   incidents, attestations, ...).
//! - [`check`]: check kinds implemented once; [`check::evaluate`] is pure.
//! - [`schedule`]: deadlines in the site's time zone with calendar-day semantics; [`schedule::Task`].
//! - [`facts`]: fact kinds with documented payloads and builders.
//! - [`journal`]: records folded back from journaled facts (incidents, vendors, the outage rule,
//!   attestation values).
//! - [`report`]: compliance report and regulator reports as HTML, PDF (own PDF 1.4 writer) and CSV.
//!
//! Architecture invariant: no IO, no clock reads; every function takes `now_ms`.
#![forbid(unsafe_code)]

pub mod check;
pub mod facts;
pub mod journal;
pub mod pack;
pub mod records;
pub mod report;
pub mod schedule;
#[cfg(test)]
mod test_support;

pub use check::{Finding, Status, evaluate};
pub use pack::{Pack, PackIssue, check_pack, list};
pub use records::Records;
