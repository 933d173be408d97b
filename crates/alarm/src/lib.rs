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
//! - [`routing`]: which facts become alarms, reach the chains or go to the central station;
//! - [`report`]: the handling-time report's summary statistics;
//! - [`supervision`]: [`Supervisor`] (silent devices) and [`TroubleTracker`] (AC, battery, comms);
//! - [`facts`]: the fact kinds and the visibility contract the server must honour;
//! - [`mqtt`]: the MQTT adapter (rumqttc, tokio): topic scheme, validation, at-least-once hand-off.
//!
//! Architecture invariant: everything but [`mqtt`] is pure: no IO, no clock reads; time comes in
//! as `now_ms` (epoch milliseconds UTC).
//!
//! # Wiring (server side)
//!
//! 1. At start: `AlarmConfig::from_site(&site)`, `AlarmSystem::new(cfg, now_ms)`, then
//!    `system.recover(&fact)` for journaled `arming.*` facts and `AlarmQueue::rebuild(journal)`.
//! 2. Inputs, each under one lock, journal first, then project:
//!    - DC-09 (sia crate) `AlarmSignal` → `ZoneSignal::new(panel_id, zone, ..)` +
//!      [`event_code`]`(code, qualifier == Restore, zone_or_user)` → `Input::Signal`; a NULL
//!      message → `SignalKind::Heartbeat` with `source = panel_id`;
//!    - MQTT: implement [`mqtt::SignalSink`]; in `signal()` journal `system.signal_fact(&s)` and
//!      the facts of `system.handle(Input::Signal(s), now_ms)`, then return `Ok`; in `fact()`
//!      journal the fact;
//!    - console / keypad / reader: `Input::Arm` / `Input::Disarm` with the [`CodeKind`] the
//!      credential check found (normal or duress code); `Input::Drill`; `Input::Shunt` on a vault
//!      door access grant;
//!    - a timer: `Input::Tick` every second (entry delays, auto-arm, supervision).
//! 3. Every returned fact is journaled, then `queue.apply(&fact)`.
//! 4. Operators: `queue.ack` / `queue.resolve` / `queue.dispatched` return facts or a typed
//!    [`QueueError`]; journal and apply them the same way. Pass `sees_silent` =
//!    the user holds `Permission::SilentAlarmsView`.
//! 5. Visibility: any fact whose payload has `visibility: "monitoring"` is shown only to holders of
//!    `SilentAlarmsView` and never drives a sounder, keypad, agent screen or public display.
//! 6. Routing: `alarm.raised` with `dispatch_required` goes to the dispatcher (DSP-01) and the
//!    notify chains (`alarm.*`); `health.*` goes to the failure chains (HLT-02).
#![forbid(unsafe_code)]

pub mod config;
pub mod facts;
pub mod mqtt;
pub mod queue;
pub mod report;
pub mod routing;
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
