//! Records folded from journaled facts: the rules that turn the journal's facts back into the
//! [`crate::records`] the checks evaluate. Pure: the caller reads the facts (with their sequence
//! numbers, in journal order) and passes them in.
//!
//! - [`payload`]: lenient readers of a fact's payload fields.
//! - [`records_of`]: inspections, maintenance, activities and attestations, one fact each.
//! - [`incidents_of`] and [`vendors_of`]: incidents with their updates; vendors and vendor-list
//!   changes from the access subsystem's `person.*` / `vendor.*` facts.
//! - [`outages_of`]: outages derived from device health, with their exact lost spans.
//! - [`attestation`]: measured values as entered, parsed to thousandths.
pub mod attestation;
mod incidents;
mod outages;
pub mod payload;
mod records_of;
mod vendors;

pub use incidents::incidents_of;
pub use outages::outages_of;
pub use records_of::{
    activity_of, attestation_of, inspection_of, is_activity_name, maintenance_of,
};
pub use vendors::vendors_of;
