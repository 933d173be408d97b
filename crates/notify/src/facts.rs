//! The facts this crate emits, and the sink they go to.
//!
//! Every fact about a delivery carries the onset of the condition (`onset_ms`, the triggering
//! fact's time), when the incident was triggered (`triggered_ms`), when the step was due
//! (`due_ms`) and, when known, `sent_ms`, `accepted_ms`, `delivered_ms` and the latency from onset
//! (`onset_to_accepted_ms`), with the contact, channel and provider id: enough to prove "the failure
//! reached a named person within N seconds" (HLT-05). Payloads hold strings and integers only.
use std::sync::Mutex;

use serde_json::Value;
use strongroom_domain::{Actor, Fact};

use crate::channel::{Receipt, SendError};
use crate::escalation::{AckOutcome, Delivery, Suppression};

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

fn base(kind: &str, d: &Delivery, time_ms: i64) -> Fact {
    Fact::new(kind, Actor::System, time_ms)
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

/// `notify.suppressed`.
pub fn suppressed(s: &Suppression, trigger_kind: &str, now_ms: i64) -> Fact {
    let reason = serde_json::to_value(s.reason).unwrap_or(Value::Null);
    Fact::new(SUPPRESSED, Actor::System, now_ms)
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
    Fact::new(ACKNOWLEDGED, actor, a.acknowledged_ms)
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
