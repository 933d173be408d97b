//! The facts this crate emits, and the sink they go to.
//!
//! Every fact about a delivery carries the onset of the condition (`onset_ms`, the triggering
//! fact's time), when the incident was triggered (`triggered_ms`), when the step was due
//! (`due_ms`) and, when known, `sent_ms`, `accepted_ms`, `delivered_ms` and the latency from onset
//! (`onset_to_accepted_ms`), with the contact, channel and provider id: enough to prove "the failure
//! reached a named person within N seconds" (HLT-05). Payloads hold strings and integers only.
//! Facts about a silent alarm carry `visibility = "monitoring"` themselves, so the journal's
//! silent-alarm filter hides them from non-monitoring roles too.
use std::sync::Mutex;

use serde_json::Value;
use strongroom_domain::{Actor, Fact};

use crate::channel::{Receipt, SendError};
use crate::escalation::{AckOutcome, Delivery, Suppression, VISIBILITY_KEY, VISIBILITY_MONITORING};

/// A provider or relay accepted a message.
pub const SENT: &str = "notify.sent";
/// Delivery to the person was confirmed.
pub const DELIVERED: &str = "notify.delivered";
/// An attempt failed (`final = false`: a retry is scheduled; `final = true`: given up).
pub const FAILED: &str = "notify.failed";
/// A later chain step fired because nobody acknowledged.
pub const ESCALATED: &str = "notify.escalated";
/// A chain step was not scheduled (channel not counted, silent alarm, no address).
pub const SUPPRESSED: &str = "notify.suppressed";
/// Someone acknowledged an incident; later steps are cancelled.
pub const ACKNOWLEDGED: &str = "notify.acknowledged";
/// The outbox could not be read or written (the dispatcher keeps trying).
pub const OUTBOX_ERROR: &str = "notify.outbox_error";

/// Where emitted facts go (the server appends them to the journal). Must not block for long.
pub trait FactSink: Send + Sync {
    /// Takes one fact.
    fn emit(&self, fact: Fact);
}

impl FactSink for tokio::sync::mpsc::UnboundedSender<Fact> {
    fn emit(&self, fact: Fact) {
        // A closed receiver means the server is shutting down; nothing useful to do.
        let _ = self.send(fact);
    }
}

/// A sink that keeps facts in memory (tests, tools).
#[derive(Debug, Default)]
pub struct VecSink {
    facts: Mutex<Vec<Fact>>,
}

impl VecSink {
    /// A copy of every fact so far.
    pub fn facts(&self) -> Vec<Fact> {
        self.facts.lock().map(|f| f.clone()).unwrap_or_default()
    }
}

impl FactSink for VecSink {
    fn emit(&self, fact: Fact) {
        if let Ok(mut f) = self.facts.lock() {
            f.push(fact);
        }
    }
}

fn channel_str(c: strongroom_domain::site::Channel) -> &'static str {
    match c {
        strongroom_domain::site::Channel::Sms => "sms",
        strongroom_domain::site::Channel::Voice => "voice",
        strongroom_domain::site::Channel::Email => "email",
    }
}

/// Marks facts about a silent alarm as visible to monitoring roles only, like the alarm itself.
fn restrict(f: Fact, silent: bool) -> Fact {
    if silent {
        f.with(VISIBILITY_KEY, VISIBILITY_MONITORING)
    } else {
        f
    }
}

fn base(kind: &str, d: &Delivery, time_ms: i64) -> Fact {
    let f = Fact::new(kind, Actor::System, time_ms);
    restrict(f, d.silent)
        .with("incident_id", d.incident_id.as_str())
        .with("delivery_id", d.id.as_str())
        .with("chain_id", d.chain_id.as_str())
        .with("step", d.step_index)
        .with("contact", d.contact.as_str())
        .with("contact_name", d.contact_name.as_str())
        .with("channel", channel_str(d.channel))
        .with("address", d.address.as_str())
        .with("trigger_kind", d.trigger_kind.as_str())
        .with("silent", d.silent)
        .with("onset_ms", d.onset_ms)
        .with("triggered_ms", d.triggered_ms)
        .with("due_ms", d.due_ms)
}

/// `notify.sent`.
pub fn sent(d: &Delivery, r: &Receipt, attempts: u32) -> Fact {
    base(SENT, d, r.accepted_ms)
        .with("attempts", attempts)
        .with("sent_ms", r.sent_ms)
        .with("accepted_ms", r.accepted_ms)
        .with(
            "onset_to_accepted_ms",
            r.accepted_ms.saturating_sub(d.onset_ms),
        )
        .with(
            "provider_id",
            r.provider_id.clone().map_or(Value::Null, Value::from),
        )
        .with("response", r.response.as_str())
}

/// `notify.delivered` (from a receipt that knows, or from a provider status callback).
pub fn delivered(d: &Delivery, r: &Receipt, delivered_ms: i64) -> Fact {
    base(DELIVERED, d, delivered_ms)
        .with("sent_ms", r.sent_ms)
        .with("accepted_ms", r.accepted_ms)
        .with("delivered_ms", delivered_ms)
        .with(
            "onset_to_delivered_ms",
            delivered_ms.saturating_sub(d.onset_ms),
        )
        .with(
            "provider_id",
            r.provider_id.clone().map_or(Value::Null, Value::from),
        )
}

/// `notify.failed`; `next_attempt_ms` is `None` when this failure is final.
pub fn failed(
    d: &Delivery,
    err: &SendError,
    attempts: u32,
    now_ms: i64,
    next_attempt_ms: Option<i64>,
) -> Fact {
    let f = base(FAILED, d, now_ms)
        .with("attempts", attempts)
        .with("error", err.to_string())
        .with("permanent", !err.is_retryable())
        .with("final", next_attempt_ms.is_none());
    match next_attempt_ms {
        Some(t) => f.with("next_attempt_ms", t),
        None => f,
    }
}

/// `notify.escalated`.
pub fn escalated(d: &Delivery, now_ms: i64) -> Fact {
    base(ESCALATED, d, now_ms)
}

/// `notify.suppressed`; `silent` when the triggering fact was a silent alarm.
pub fn suppressed(s: &Suppression, trigger_kind: &str, silent: bool, now_ms: i64) -> Fact {
    let reason = serde_json::to_value(s.reason).unwrap_or(Value::Null);
    restrict(Fact::new(SUPPRESSED, Actor::System, now_ms), silent)
        .with("incident_id", s.incident_id.as_str())
        .with("chain_id", s.chain_id.as_str())
        .with("step", s.step_index)
        .with("contact", s.contact.as_str())
        .with("channel", channel_str(s.channel))
        .with("trigger_kind", trigger_kind)
        .with("reason", reason)
}

/// `notify.acknowledged`.
pub fn acknowledged(a: &AckOutcome) -> Fact {
    let actor = a.by.parse().unwrap_or_else(|_| Actor::User(a.by.clone()));
    restrict(Fact::new(ACKNOWLEDGED, actor, a.acknowledged_ms), a.silent)
        .with("incident_id", a.incident_id.as_str())
        .with("by", a.by.as_str())
        .with("onset_ms", a.onset_ms)
        .with("acknowledged_ms", a.acknowledged_ms)
        .with(
            "onset_to_ack_ms",
            a.acknowledged_ms.saturating_sub(a.onset_ms),
        )
        .with("cancelled_steps", a.cancelled.len())
}

/// `notify.outbox_error`.
pub fn outbox_error(message: &str, now_ms: i64) -> Fact {
    Fact::new(OUTBOX_ERROR, Actor::System, now_ms).with("error", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_domain::site::Channel;

    fn delivery(silent: bool) -> Delivery {
        Delivery {
            id: "i/c/0".into(),
            incident_id: "i".into(),
            chain_id: "c".into(),
            step_index: 0,
            contact: "monitor".into(),
            contact_name: "Monitor".into(),
            channel: Channel::Voice,
            address: "+15550001111".into(),
            subject: "s".into(),
            message: "m".into(),
            trigger_kind: "alarm.raised".into(),
            onset_ms: 1_000,
            triggered_ms: 1_500,
            due_ms: 1_500,
            silent,
        }
    }

    #[test]
    fn facts_about_silent_alarms_are_restricted_and_carry_times() {
        let r = Receipt {
            delivery_id: "i/c/0".into(),
            channel: Channel::Voice,
            provider_id: None,
            response: "201 queued".into(),
            sent_ms: 1_600,
            accepted_ms: 1_700,
            delivered_ms: None,
        };
        let f = sent(&delivery(true), &r, 1);
        assert_eq!(f.payload[VISIBILITY_KEY], VISIBILITY_MONITORING);
        assert_eq!(f.payload["onset_to_accepted_ms"], 700);
        assert_eq!(f.payload["provider_id"], Value::Null);
        assert!(f.validate().is_ok());
        let f = sent(&delivery(false), &r, 1);
        assert!(f.payload.get(VISIBILITY_KEY).is_none());
        let f = failed(
            &delivery(true),
            &SendError::Temporary("t".into()),
            2,
            1_800,
            Some(2_800),
        );
        assert_eq!(f.payload["final"], false);
        assert_eq!(f.payload["next_attempt_ms"], 2_800);
        assert_eq!(f.payload[VISIBILITY_KEY], VISIBILITY_MONITORING);
    }
}
