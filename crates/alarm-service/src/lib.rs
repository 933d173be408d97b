//! Strongroom's alarm service: one site's alarm subsystem between the pure crates (`alarm`,
//! `sia`, `notify`) and the HTTP layer. It knows nothing of HTTP.
//!
//! - [`start()`] builds an [`AlarmService`] on a [`strongroom_store::service::ServiceCtx`]: the
//!   alarm model with its journaled arming state, the alarm queue rebuilt from the journal, the
//!   notification chains and their durable outbox, the central-station sender and its durable
//!   queue (`alarm_outbound`, migration 3), the journal follower, the DC-09 receiver, MQTT sensors
//!   and the one-second tick. [`check_config`] says whether a configuration can start, with no
//!   side effects (the reload's first phase).
//! - The operator API ([`AlarmService::alarms`], `acknowledge`, `add_note`, `resolve`, `arming`,
//!   `set_arming`, `panic`, `drill`, `handling_report`, `incidents`, `acknowledge_incident`)
//!   returns the typed [`views`] or an [`AlarmError`].
//!
//! Invariants:
//! - Every input runs under one lock: the model computes facts, the facts are appended to the
//!   journal, and only then are they projected and is the source acknowledged (DC-09 ACK, MQTT
//!   PUBACK, the API's response). If the journal refuses, the model is rolled back.
//! - The journal follower ([`strongroom_store::follow::JournalFollower`]) hands every fact of the
//!   site to the service once, in order: access-control alarm facts become alarm records, facts
//!   go to the escalation chains, alarms that need dispatch go to the central station. A service
//!   restarted by a reload resumes after the last event the stopped one handled.
//! - Silent alarms (`visibility: monitoring`) are visible only to callers with `sees_silent`.
//! - The rules (which facts become alarms or reach the chains, Contact ID codes, zone states)
//!   live in `strongroom_alarm::routing`; this crate only wires them to IO.
#![forbid(unsafe_code)]

mod core;
mod error;
mod operator;
mod outbound;
mod outbox;
mod service;
mod sinks;
mod start;
pub mod views;

pub use crate::core::NOTE_ADDED;
pub use error::{AlarmError, StartError};
pub use operator::{MAX_LISTED_ALARMS, MAX_NOTE_CHARS};
pub use outbound::DISPATCH_ATTEMPT;
pub use service::AlarmService;
pub use start::{RECEIVER_FAILED, StartedAlarms, check_config, parse_addr, read_key, start};
