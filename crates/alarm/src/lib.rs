//! Strongroom's alarm model: intrusion and life-safety alarms as a pure state machine, the alarm
//! queue projection with its operator commands, device supervision, and the MQTT sensor adapter.
//!
//! Modules:
//! - [`zone`]: zone types and what follows from them (24-hour, silent, audible, visibility);
//! - [`signal`]: [`ZoneSignal`], the model's device input, and the Contact ID / SIA DCS mapping;
//! - [`config`]: [`AlarmConfig`] from the site model;
//! - [`schedule`]: operating hours and closings in the site time zone (jiff);
//! - [`system`]: [`AlarmSystem`], `handle(input, now_ms) -> Vec<Fact>`;
//! - [`queue`]: [`AlarmQueue`], the alarm lifecycle projection, ack/resolve/dispatch commands and
//!   the handling-time report;
//! - [`supervision`]: [`Supervisor`] (silent devices) and [`TroubleTracker`] (AC, battery, comms);
//! - [`facts`]: the fact kinds and the visibility contract the server must honour;
//! - [`mqtt`]: the MQTT adapter (rumqttc, tokio): topic scheme, validation, at-least-once hand-off.
//!
//! Architecture invariant: everything but [`mqtt`] is pure: no IO, no clock reads; time comes in
//! as `now_ms` (epoch milliseconds UTC).
#![forbid(unsafe_code)]

pub mod config;
pub mod facts;
pub mod mqtt;
pub mod queue;
pub mod schedule;
pub mod signal;
pub mod supervision;
pub mod system;
pub mod zone;

pub use config::{AlarmConfig, ConfigError, SensorConfig};
pub use queue::{AlarmQueue, AlarmRecord, HandlingTime, Outcome, ProjectionError, QueueError};
pub use signal::{EventMapping, SignalKind, ZoneSignal, contact_id, event_code, sia_dcs};
pub use supervision::{Supervisor, TroubleTracker};
pub use system::{AlarmSystem, ArmCommand, ArmMethod, ArmMode, ArmState, CodeKind, Input};
pub use zone::{AlarmType, Visibility, ZoneType};
