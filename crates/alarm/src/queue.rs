//! The alarm queue: a pure projection of alarm facts (raised → dispatched → acknowledged →
//! resolved, plus restores), and the operator commands that validate against it.
//!
//! Event-sourcing style: a command (`ack`, `resolve`, `dispatched`) reads the queue and returns
//! facts or a typed [`QueueError`]; it never changes the queue. The caller journals the facts and
//! then `apply`s them, so the live queue and one rebuilt from the journal are the same thing.
//!
//! Silent alarms: a viewer without `SilentAlarmsView` (`sees_silent = false`) neither lists them
//! nor can act on them; to such a viewer a silent alarm id is [`QueueError::UnknownAlarm`], so its
//! existence does not leak.
//!
//! Drills (Practice-LE §3): an alarm raised with `test: true` runs the same lifecycle and must be
//! resolved as [`Outcome::Drill`]; a real alarm can never be closed as a drill.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use strongroom_domain::{Actor, Fact};

use crate::facts::{get_bool, get_i64, get_str, kinds};
use crate::zone::Visibility;

/// How an alarm was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// A real event.
    Real,
    /// A false alarm.
    False,
    /// A drill or test.
    Drill,
}

impl Outcome {
    /// The payload name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Real => "real",
            Outcome::False => "false",
            Outcome::Drill => "drill",
        }
    }
    /// Parses a payload name.
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "real" => Some(Outcome::Real),
            "false" => Some(Outcome::False),
            "drill" => Some(Outcome::Drill),
            _ => None,
        }
    }
}

/// The central-station order of handling: 1 fire, 2 holdup and duress, 3 panic, 4 burglary,
/// vault, forced door and unknown points, 5 supervisory (tamper, door held open, keypad lockout,
/// unknown-card bursts), 6 anything else, 7 tests and drills. The queue lists by it, then by age.
pub fn priority(alarm_type: &str, test: bool) -> u8 {
    if test {
        return 7;
    }
    match alarm_type {
        "fire" => 1,
        "holdup" | "duress" => 2,
        "panic" => 3,
        "intrusion" | "vault" | "door_forced" | "unknown_point" => 4,
        "tamper" | "door_held_open" | "keypad_lockout" | "unknown_card_burst" => 5,
        _ => 6,
    }
}

/// One alarm and every step of its handling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlarmRecord {
    /// Alarm id.
    pub alarm_id: String,
    /// Handling priority, 1 (fire) to 7 (test): see [`priority`].
    pub priority: u8,
    /// `intrusion`, `vault`, `panic`, `holdup`, `duress`, `tamper`, `fire`.
    pub alarm_type: String,
    /// The zone type that raised it.
    pub zone_type: String,
    /// The sensor, if known.
    pub sensor: Option<String>,
    /// The area, if known.
    pub area: Option<String>,
    /// Zone number.
    pub zone: i64,
    /// Partition.
    pub partition: i64,
    /// Sounds locally.
    pub audible: bool,
    /// Who may see it.
    pub visibility: Visibility,
    /// A drill / test alarm.
    pub test: bool,
    /// Must go out on a dispatch route.
    pub dispatch_required: bool,
    /// Raised outside operating hours.
    pub after_hours: bool,
    /// When it was raised.
    pub raised_ms: i64,
    /// First dispatch.
    pub dispatched_ms: Option<i64>,
    /// Routes it went out on, in order.
    pub dispatch_routes: Vec<String>,
    /// Acknowledgement time.
    pub acked_ms: Option<i64>,
    /// Who acknowledged.
    pub acked_by: Option<String>,
    /// Resolution time.
    pub resolved_ms: Option<i64>,
    /// Who resolved.
    pub resolved_by: Option<String>,
    /// How it was closed.
    pub outcome: Option<Outcome>,
    /// Notes (acknowledgement note, resolution notes).
    pub notes: Vec<String>,
    /// When its zone returned to normal.
    pub restored_ms: Option<i64>,
}

impl AlarmRecord {
    /// Still open (not resolved).
    pub fn is_open(&self) -> bool {
        self.resolved_ms.is_none()
    }
}

/// Why an operator command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// No such alarm (or a silent alarm the viewer may not see).
    #[error("unknown alarm {0:?}")]
    UnknownAlarm(String),
    /// The alarm was already acknowledged.
    #[error("alarm {0:?} is already acknowledged")]
    AlreadyAcknowledged(String),
    /// The alarm was already resolved.
    #[error("alarm {0:?} is already resolved")]
    AlreadyResolved(String),
    /// A real alarm cannot be closed as a drill.
    #[error("alarm {0:?} is not a drill: resolve it as real or false")]
    NotADrill(String),
    /// A drill must be closed as a drill.
    #[error("alarm {0:?} is a drill: resolve it as drill")]
    DrillMustResolveAsDrill(String),
}

/// Why a fact could not be projected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// An alarm fact lacks a field.
    #[error("{kind} fact lacks field {field:?}")]
    MissingField {
        /// Fact kind.
        kind: String,
        /// Field.
        field: &'static str,
    },
    /// A lifecycle fact names an alarm never raised.
    #[error("{kind} fact names unknown alarm {alarm_id:?}")]
    UnknownAlarm {
        /// Fact kind.
        kind: String,
        /// The alarm id.
        alarm_id: String,
    },
}

/// Handling times of one alarm, for the handling-time report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandlingTime {
    /// Alarm id.
    pub alarm_id: String,
    /// Alarm type.
    pub alarm_type: String,
    /// A drill.
    pub test: bool,
    /// Raised.
    pub raised_ms: i64,
    /// Raised → first dispatch.
    pub raised_to_dispatch_ms: Option<i64>,
    /// Raised → acknowledged.
    pub raised_to_ack_ms: Option<i64>,
    /// Raised → resolved.
    pub raised_to_resolved_ms: Option<i64>,
    /// Outcome.
    pub outcome: Option<Outcome>,
}

/// The alarm queue projection.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AlarmQueue {
    alarms: BTreeMap<String, AlarmRecord>,
}

fn actor_name(a: &Actor) -> String {
    a.to_string()
}

impl AlarmQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a queue from facts in journal order (facts that fail to project are skipped).
    pub fn rebuild<'a>(facts: impl IntoIterator<Item = &'a Fact>) -> Self {
        let mut q = AlarmQueue::new();
        for f in facts {
            let _ = q.apply(f);
        }
        q
    }

    /// Projects one fact. Facts of other kinds are ignored (`Ok`).
    pub fn apply(&mut self, fact: &Fact) -> Result<(), ProjectionError> {
        let p = &fact.payload;
        let missing = |field| ProjectionError::MissingField {
            kind: fact.kind.clone(),
            field,
        };
        let is_lifecycle = matches!(
            fact.kind.as_str(),
            kinds::ALARM_DISPATCHED
                | kinds::ALARM_ACKNOWLEDGED
                | kinds::ALARM_RESOLVED
                | kinds::ALARM_RESTORED
        );
        if fact.kind == kinds::ALARM_RAISED {
            let id = get_str(p, "alarm_id").ok_or_else(|| missing("alarm_id"))?;
            let visibility = get_str(p, "visibility")
                .and_then(Visibility::parse)
                .ok_or_else(|| missing("visibility"))?;
            let alarm_type = get_str(p, "alarm_type").ok_or_else(|| missing("alarm_type"))?;
            let test = get_bool(p, "test").unwrap_or(false);
            let rec = AlarmRecord {
                alarm_id: id.to_owned(),
                priority: priority(alarm_type, test),
                alarm_type: alarm_type.to_owned(),
                zone_type: get_str(p, "zone_type").unwrap_or("").to_owned(),
                sensor: get_str(p, "sensor").map(str::to_owned),
                area: get_str(p, "area").map(str::to_owned),
                zone: get_i64(p, "zone").unwrap_or(0),
                partition: get_i64(p, "partition").unwrap_or(0),
                audible: get_bool(p, "audible").ok_or_else(|| missing("audible"))?,
                visibility,
                test,
                dispatch_required: get_bool(p, "dispatch_required").unwrap_or(false),
                after_hours: get_bool(p, "after_hours").unwrap_or(false),
                raised_ms: fact.time_ms,
                dispatched_ms: None,
                dispatch_routes: Vec::new(),
                acked_ms: None,
                acked_by: None,
                resolved_ms: None,
                resolved_by: None,
                outcome: None,
                notes: Vec::new(),
                restored_ms: None,
            };
            self.alarms.entry(id.to_owned()).or_insert(rec);
            return Ok(());
        }
        if !is_lifecycle {
            return Ok(());
        }
        let id = get_str(p, "alarm_id").ok_or_else(|| missing("alarm_id"))?;
        let rec = self
            .alarms
            .get_mut(id)
            .ok_or_else(|| ProjectionError::UnknownAlarm {
                kind: fact.kind.clone(),
                alarm_id: id.to_owned(),
            })?;
        match fact.kind.as_str() {
            kinds::ALARM_DISPATCHED => {
                rec.dispatched_ms.get_or_insert(fact.time_ms);
                rec.dispatch_routes
                    .push(get_str(p, "route").unwrap_or("").to_owned());
            }
            kinds::ALARM_ACKNOWLEDGED => {
                if rec.acked_ms.is_none() {
                    rec.acked_ms = Some(fact.time_ms);
                    rec.acked_by = get_str(p, "by").map(str::to_owned);
                    if let Some(n) = get_str(p, "note").filter(|n| !n.is_empty()) {
                        rec.notes.push(n.to_owned());
                    }
                }
            }
            kinds::ALARM_RESOLVED => {
                if rec.resolved_ms.is_none() {
                    rec.resolved_ms = Some(fact.time_ms);
                    rec.resolved_by = get_str(p, "by").map(str::to_owned);
                    rec.outcome = get_str(p, "outcome").and_then(Outcome::parse);
                    if let Some(n) = get_str(p, "notes").filter(|n| !n.is_empty()) {
                        rec.notes.push(n.to_owned());
                    }
                }
            }
            _ => {
                rec.restored_ms.get_or_insert(fact.time_ms);
            }
        }
        Ok(())
    }

    /// One alarm, if the viewer may see it.
    pub fn get(&self, alarm_id: &str, sees_silent: bool) -> Option<&AlarmRecord> {
        self.alarms
            .get(alarm_id)
            .filter(|r| r.visibility.visible_to(sees_silent))
    }

    /// Open alarms the viewer may see, in handling order: by [`priority`], then oldest first.
    pub fn open(&self, sees_silent: bool) -> Vec<&AlarmRecord> {
        let mut v: Vec<&AlarmRecord> = self
            .alarms
            .values()
            .filter(|r| r.is_open() && r.visibility.visible_to(sees_silent))
            .collect();
        v.sort_by(|a, b| {
            (a.priority, a.raised_ms, &a.alarm_id).cmp(&(b.priority, b.raised_ms, &b.alarm_id))
        });
        v
    }

    /// Every alarm (open and closed), in id order, for monitoring and reports.
    pub fn all(&self) -> impl Iterator<Item = &AlarmRecord> {
        self.alarms.values()
    }

    fn visible(&self, alarm_id: &str, sees_silent: bool) -> Result<&AlarmRecord, QueueError> {
        self.get(alarm_id, sees_silent)
            .ok_or_else(|| QueueError::UnknownAlarm(alarm_id.to_owned()))
    }

    fn lifecycle_fact(kind: &str, rec: &AlarmRecord, actor: &Actor, now_ms: i64) -> Fact {
        Fact::new(kind, actor.clone(), now_ms)
            .with("alarm_id", rec.alarm_id.clone())
            .with("alarm_type", rec.alarm_type.clone())
            .with("audible", rec.audible)
            .with("visibility", rec.visibility.as_str())
            .with("test", rec.test)
    }

    /// Records that the alarm went out on `route` (central station, PSAP, voice dialer). Allowed
    /// more than once (retries, secondary path); refused once resolved.
    pub fn dispatched(
        &self,
        alarm_id: &str,
        route: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Fact, QueueError> {
        let rec = self.visible(alarm_id, true)?;
        if !rec.is_open() {
            return Err(QueueError::AlreadyResolved(alarm_id.to_owned()));
        }
        Ok(Self::lifecycle_fact(kinds::ALARM_DISPATCHED, rec, actor, now_ms).with("route", route))
    }

    /// An operator acknowledges an alarm.
    pub fn ack(
        &self,
        alarm_id: &str,
        by: &Actor,
        sees_silent: bool,
        note: &str,
        now_ms: i64,
    ) -> Result<Fact, QueueError> {
        let rec = self.visible(alarm_id, sees_silent)?;
        if !rec.is_open() {
            return Err(QueueError::AlreadyResolved(alarm_id.to_owned()));
        }
        if rec.acked_ms.is_some() {
            return Err(QueueError::AlreadyAcknowledged(alarm_id.to_owned()));
        }
        Ok(
            Self::lifecycle_fact(kinds::ALARM_ACKNOWLEDGED, rec, by, now_ms)
                .with("by", actor_name(by))
                .with("note", note),
        )
    }

    /// An operator resolves an alarm. An unacknowledged alarm is acknowledged by the same
    /// operator in the same step (two facts), so every resolved alarm has an acknowledgement time.
    pub fn resolve(
        &self,
        alarm_id: &str,
        by: &Actor,
        sees_silent: bool,
        outcome: Outcome,
        notes: &str,
        now_ms: i64,
    ) -> Result<Vec<Fact>, QueueError> {
        let rec = self.visible(alarm_id, sees_silent)?;
        if !rec.is_open() {
            return Err(QueueError::AlreadyResolved(alarm_id.to_owned()));
        }
        match (rec.test, outcome) {
            (false, Outcome::Drill) => return Err(QueueError::NotADrill(alarm_id.to_owned())),
            (true, Outcome::Real | Outcome::False) => {
                return Err(QueueError::DrillMustResolveAsDrill(alarm_id.to_owned()));
            }
            _ => {}
        }
        let mut out = Vec::new();
        if rec.acked_ms.is_none() {
            out.push(
                Self::lifecycle_fact(kinds::ALARM_ACKNOWLEDGED, rec, by, now_ms)
                    .with("by", actor_name(by))
                    .with("note", ""),
            );
        }
        out.push(
            Self::lifecycle_fact(kinds::ALARM_RESOLVED, rec, by, now_ms)
                .with("by", actor_name(by))
                .with("outcome", outcome.as_str())
                .with("notes", notes),
        );
        Ok(out)
    }

    /// Handling times of every alarm raised in `[from_ms, to_ms)`, oldest first.
    pub fn handling_report(&self, from_ms: i64, to_ms: i64) -> Vec<HandlingTime> {
        let mut v: Vec<HandlingTime> = self
            .alarms
            .values()
            .filter(|r| r.raised_ms >= from_ms && r.raised_ms < to_ms)
            .map(|r| HandlingTime {
                alarm_id: r.alarm_id.clone(),
                alarm_type: r.alarm_type.clone(),
                test: r.test,
                raised_ms: r.raised_ms,
                raised_to_dispatch_ms: r.dispatched_ms.map(|t| t - r.raised_ms),
                raised_to_ack_ms: r.acked_ms.map(|t| t - r.raised_ms),
                raised_to_resolved_ms: r.resolved_ms.map(|t| t - r.raised_ms),
                outcome: r.outcome,
            })
            .collect();
        v.sort_by(|a, b| (a.raised_ms, &a.alarm_id).cmp(&(b.raised_ms, &b.alarm_id)));
        v
    }
}

/// The handling-time report as a JSON value (integers only), for the server's report endpoint.
pub fn handling_report_json(rows: &[HandlingTime]) -> Value {
    serde_json::to_value(rows).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raised(id: &str, alarm_type: &str, silent: bool, test: bool, t: i64) -> Fact {
        Fact::new(kinds::ALARM_RAISED, Actor::Device("s".into()), t)
            .with("alarm_id", id)
            .with("alarm_type", alarm_type)
            .with("audible", !silent)
            .with("visibility", if silent { "monitoring" } else { "all" })
            .with("test", test)
    }

    fn op() -> Actor {
        Actor::User("olga".into())
    }

    fn apply_all(q: &mut AlarmQueue, facts: &[Fact]) {
        for f in facts {
            q.apply(f).expect("projects");
        }
    }

    /// The queue lists in the central-station order, then oldest first; tests go last.
    #[test]
    fn open_alarms_are_listed_by_priority_then_age() {
        let mut q = AlarmQueue::new();
        apply_all(
            &mut q,
            &[
                raised("burglary", "intrusion", false, false, 1_000),
                raised("drill", "panic", false, true, 1_500),
                raised("tamper", "tamper", false, false, 2_000),
                raised("fire", "fire", false, false, 3_000),
                raised("holdup", "holdup", true, false, 4_000),
                raised("burglary2", "intrusion", false, false, 500),
                raised("panic", "panic", false, false, 5_000),
            ],
        );
        let order: Vec<&str> = q.open(true).iter().map(|r| r.alarm_id.as_str()).collect();
        assert_eq!(
            order,
            [
                "fire",
                "holdup",
                "panic",
                "burglary2",
                "burglary",
                "tamper",
                "drill"
            ]
        );
        let public: Vec<&str> = q.open(false).iter().map(|r| r.alarm_id.as_str()).collect();
        assert!(!public.contains(&"holdup"));
        assert_eq!(q.get("fire", false).map(|r| r.priority), Some(1));
        assert_eq!(priority("unknown_point", false), 4);
        assert_eq!(priority("whatever", false), 6);
    }

    #[test]
    fn lifecycle_with_times_and_report() {
        let mut q = AlarmQueue::new();
        apply_all(&mut q, &[raised("a1", "intrusion", false, false, 1_000)]);
        let d = q.dispatched("a1", "central-station", &Actor::System, 1_200);
        apply_all(&mut q, &[d.expect("dispatch")]);
        let a = q.ack("a1", &op(), false, "looking", 4_000).expect("ack");
        apply_all(&mut q, &[a]);
        assert_eq!(
            q.ack("a1", &op(), false, "", 4_500),
            Err(QueueError::AlreadyAcknowledged("a1".into()))
        );
        let r = q
            .resolve("a1", &op(), false, Outcome::False, "cat", 9_000)
            .expect("resolve");
        assert_eq!(r.len(), 1);
        apply_all(&mut q, &r);
        assert_eq!(
            q.resolve("a1", &op(), false, Outcome::False, "", 9_500),
            Err(QueueError::AlreadyResolved("a1".into()))
        );
        assert!(q.open(true).is_empty());
        let rep = q.handling_report(0, 10_000);
        assert_eq!(rep.len(), 1);
        assert_eq!(rep[0].raised_to_dispatch_ms, Some(200));
        assert_eq!(rep[0].raised_to_ack_ms, Some(3_000));
        assert_eq!(rep[0].raised_to_resolved_ms, Some(8_000));
        assert_eq!(rep[0].outcome, Some(Outcome::False));
        let rec = q.get("a1", false).expect("visible");
        assert_eq!(rec.notes, vec!["looking".to_owned(), "cat".to_owned()]);
        assert_eq!(rec.acked_by.as_deref(), Some("user:olga"));
    }

    #[test]
    fn unknown_and_silent_alarms() {
        let mut q = AlarmQueue::new();
        assert_eq!(
            q.ack("nope", &op(), true, "", 1),
            Err(QueueError::UnknownAlarm("nope".into()))
        );
        apply_all(&mut q, &[raised("h1", "holdup", true, false, 10)]);
        assert!(
            q.open(false).is_empty(),
            "hidden from non-monitoring viewers"
        );
        assert_eq!(q.open(true).len(), 1);
        assert_eq!(
            q.ack("h1", &op(), false, "", 20),
            Err(QueueError::UnknownAlarm("h1".into()))
        );
        let f = q
            .ack("h1", &op(), true, "", 20)
            .expect("monitoring may ack");
        assert_eq!(f.payload["visibility"], "monitoring");
        assert_eq!(f.payload["audible"], false);
    }

    #[test]
    fn drills_resolve_only_as_drills_and_resolve_acks() {
        let mut q = AlarmQueue::new();
        apply_all(
            &mut q,
            &[
                raised("d1", "panic", false, true, 0),
                raised("r1", "panic", false, false, 0),
            ],
        );
        assert_eq!(
            q.resolve("d1", &op(), true, Outcome::Real, "", 5),
            Err(QueueError::DrillMustResolveAsDrill("d1".into()))
        );
        assert_eq!(
            q.resolve("r1", &op(), true, Outcome::Drill, "", 5),
            Err(QueueError::NotADrill("r1".into()))
        );
        let facts = q
            .resolve("d1", &op(), true, Outcome::Drill, "monthly test", 7_000)
            .expect("drill");
        assert_eq!(facts.len(), 2, "implicit ack then resolve");
        apply_all(&mut q, &facts);
        let rep = q.handling_report(0, 1);
        assert_eq!(rep[0].alarm_id, "d1");
        assert!(rep[0].test);
        assert_eq!(rep[0].raised_to_ack_ms, Some(7_000));
        assert_eq!(rep[0].raised_to_resolved_ms, Some(7_000));
    }

    #[test]
    fn projection_errors_are_typed() {
        let mut q = AlarmQueue::new();
        let f = Fact::new(kinds::ALARM_RESOLVED, op(), 1).with("alarm_id", "x");
        assert!(matches!(
            q.apply(&f),
            Err(ProjectionError::UnknownAlarm { .. })
        ));
        let f = Fact::new(kinds::ALARM_RAISED, op(), 1);
        assert!(matches!(
            q.apply(&f),
            Err(ProjectionError::MissingField {
                field: "alarm_id",
                ..
            })
        ));
        assert_eq!(q.apply(&Fact::new("door.forced", op(), 1)), Ok(()));
    }
}
