//! The pure escalation engine: facts in, deliveries out, no IO and no clock reads.
//!
//! A chain of the site model (`[[notify.chain]]`) applies to fact kinds by pattern (`alarm.*`,
//! `health.camera_down`, `*`). When a matching fact is [`Escalator::trigger`]ed, an *incident* opens
//! and every step of every matching chain is scheduled at `trigger time + after_s`. [`Escalator::tick`]
//! hands out the steps that are due, in time order, until someone [`Escalator::acknowledge`]s the
//! incident; an acknowledgment cancels every step not handed out yet.
//!
//! Three filters run when the incident opens, and every step they remove is reported as a
//! [`Suppression`] (never dropped silently):
//! - **jurisdiction channel rules** ([`ChannelRule`]): e.g. IL 1291.300(e)(1)(C) failure alerts count
//!   only "by phone or text message", so a `health.*` step by email is suppressed on an IL site;
//! - **silent alarms**: a fact whose payload has `visibility = "monitoring"` (holdup, duress) reaches
//!   only contacts listed in [`EscalatorConfig::monitoring_contacts`] (monitoring operators, the
//!   central station, the PSAP/voice-dialer agency); anyone else is suppressed;
//! - **addresses**: a step whose contact has no phone (SMS/voice) or no email is suppressed.
//!
//! The automatic voice dialer (OH 3796:6-3-16(E)(11), 3796:3-2-05(B)(8)) is a voice step to an
//! agency contact: the voice message names the site, its address and the alarm type and asks for
//! dispatch.
//!
//! Incident ids are derived from the fact (kind, actor, time, payload), and delivery ids from the
//! incident id and step number, so replaying the same triggering fact after a restart produces the
//! same ids and an idempotent outbox drops the duplicates.
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use strongroom_domain::Fact;
use strongroom_domain::site::{Channel, Contact, Notify};

/// The payload key and value that mark a silent alarm.
pub const VISIBILITY_KEY: &str = "visibility";
/// See [`VISIBILITY_KEY`].
pub const VISIBILITY_MONITORING: &str = "monitoring";

/// Which channels count for facts of some kinds (a jurisdiction rule pack supplies these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRule {
    /// Fact-kind patterns the rule covers (same syntax as chains' `applies_to`).
    pub applies_to: Vec<String>,
    /// The channels allowed for those facts.
    pub allowed: Vec<Channel>,
}

impl ChannelRule {
    /// A rule for surveillance-failure notifications (`health.*`).
    pub fn failures(allowed: Vec<Channel>) -> Self {
        ChannelRule {
            applies_to: vec!["health.*".to_owned()],
            allowed,
        }
    }

    /// IL 1291.300(e)(1)(C): failure alerts "by phone or text message" (voice, SMS).
    pub fn il_failures() -> Self {
        Self::failures(vec![Channel::Sms, Channel::Voice])
    }
}

/// The site identity spoken in voice-dialer messages and written in texts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteIdentity {
    /// Site display name.
    pub name: String,
    /// Street address, as an agency dispatcher needs it.
    pub address: String,
}

/// Everything the escalation engine needs.
#[derive(Debug, Clone, Default)]
pub struct EscalatorConfig {
    /// Contacts and chains from the site model.
    pub notify: Notify,
    /// Jurisdiction channel rules; a step is kept only if every rule covering the fact allows it.
    pub channel_rules: Vec<ChannelRule>,
    /// Contact ids allowed to learn of silent alarms (monitoring operators, central station,
    /// PSAP/dialer agency). Contacts not listed are treated as non-monitoring.
    pub monitoring_contacts: BTreeSet<String>,
    /// Site identity for message text.
    pub site: SiteIdentity,
    /// How long an incident is kept after its last step fired or its acknowledgment (ms), so late
    /// acknowledgments still find it. Default used when 0: one hour.
    pub retain_ms: i64,
}

/// One message to send: who, how, what and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Stable id: `<incident_id>/<chain_id>/<step>`.
    pub id: String,
    /// The incident this delivery belongs to.
    pub incident_id: String,
    /// The chain and the step index in it.
    pub chain_id: String,
    /// Index of the step in its chain (0 = first).
    pub step_index: u32,
    /// Contact id.
    pub contact: String,
    /// Contact display name.
    pub contact_name: String,
    /// Channel.
    pub channel: Channel,
    /// Phone number (E.164) or email address.
    pub address: String,
    /// Short subject (email subject, SMS prefix).
    pub subject: String,
    /// Message text (SMS body, email body, or the voice script).
    pub message: String,
    /// The kind of the triggering fact.
    pub trigger_kind: String,
    /// Onset of the condition: the triggering fact's `time_ms`.
    pub onset_ms: i64,
    /// When the incident was triggered (detection), epoch ms.
    pub triggered_ms: i64,
    /// When this step is due, epoch ms.
    pub due_ms: i64,
    /// Whether the trigger was a silent alarm.
    pub silent: bool,
}

impl Delivery {
    /// True when this delivery is an escalation (a later step fired because nobody acknowledged).
    pub fn is_escalation(&self) -> bool {
        self.step_index > 0
    }
}

/// Why a step was not scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressReason {
    /// A jurisdiction rule does not count this channel for this fact kind.
    ChannelNotAllowed,
    /// Silent alarm, and the contact is not a monitoring recipient.
    SilentToNonMonitoring,
    /// The contact has no address for the channel.
    NoAddress,
    /// The step names a contact that does not exist.
    UnknownContact,
}

/// A step removed by a filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// Incident id.
    pub incident_id: String,
    /// Chain id.
    pub chain_id: String,
    /// Step index.
    pub step_index: u32,
    /// Contact id.
    pub contact: String,
    /// Channel.
    pub channel: Channel,
    /// Why.
    pub reason: SuppressReason,
}

/// What [`Escalator::trigger`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerOutcome {
    /// The incident (new or already open for the same condition); `None` when no chain applies.
    pub incident_id: Option<String>,
    /// False when the fact joined an incident already open for the same kind and actor.
    pub opened: bool,
    /// Steps scheduled.
    pub scheduled: usize,
    /// Steps removed by filters.
    pub suppressed: Vec<Suppression>,
}

/// What [`Escalator::acknowledge`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckOutcome {
    /// Incident id.
    pub incident_id: String,
    /// Who acknowledged.
    pub by: String,
    /// Onset of the condition (ms).
    pub onset_ms: i64,
    /// Acknowledgment time (ms).
    pub acknowledged_ms: i64,
    /// Ids of the deliveries that will now never be sent.
    pub cancelled: Vec<String>,
    /// Whether the incident is a silent alarm (facts about it are for monitoring roles only).
    pub silent: bool,
}

/// Errors from [`Escalator::acknowledge`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// No such incident (never opened, or expired).
    #[error("unknown incident {0:?}")]
    UnknownIncident(String),
    /// Already acknowledged.
    #[error("incident {incident_id:?} was already acknowledged by {by:?} at {at_ms} ms")]
    AlreadyAcknowledged {
        /// Incident id.
        incident_id: String,
        /// Who acknowledged it first.
        by: String,
        /// When.
        at_ms: i64,
    },
}

/// A configuration problem found by [`Escalator::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainIssue {
    /// Chain id.
    pub chain_id: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone)]
struct Incident {
    key: String,
    onset_ms: i64,
    silent: bool,
    /// Steps not handed out yet, sorted by (due_ms, chain order, step).
    pending: Vec<Delivery>,
    acknowledged: Option<(String, i64)>,
    /// When the incident became inactive (acked or all steps out), for expiry.
    closed_ms: Option<i64>,
}

/// The escalation engine. Pure: every method takes `now_ms`.
#[derive(Debug, Clone)]
pub struct Escalator {
    config: EscalatorConfig,
    contacts: BTreeMap<String, Contact>,
    incidents: BTreeMap<String, Incident>,
    open_by_key: BTreeMap<String, String>,
}

/// Whether a chain pattern matches a fact kind: `*` matches everything, `alarm.*` matches
/// `alarm.x` and `alarm.x.y` (not `alarm` or `alarms.x`), anything else must be equal.
pub fn pattern_matches(pattern: &str, kind: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('.') => {
            kind.len() > prefix.len() && kind.starts_with(prefix)
        }
        Some(prefix) => kind.starts_with(prefix),
        None => pattern == kind,
    }
}

fn any_matches(patterns: &[String], kind: &str, alarm_type: Option<&str>) -> bool {
    patterns
        .iter()
        .any(|p| pattern_matches(p, kind) || alarm_type.is_some_and(|t| !p.contains('.') && p == t))
}

/// FNV-1a, 64 bit: a stable (not cryptographic) hash for ids.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn format_time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

fn payload_str<'a>(fact: &'a Fact, key: &str) -> Option<&'a str> {
    fact.payload.get(key).and_then(|v| v.as_str())
}

/// The key that makes a repeated fact join an open incident: kind, actor and either the payload's
/// `dedupe_key` or the payload without its `*_ms` fields (so `health.camera_down` for two cameras
/// reported by the same supervisor are two incidents, and a repeat for one camera is not).
fn condition_key(fact: &Fact, actor: &str) -> String {
    let subject = match payload_str(fact, "dedupe_key") {
        Some(k) => k.to_owned(),
        None => {
            let rest: serde_json::Map<String, serde_json::Value> = fact
                .payload
                .iter()
                .filter(|(k, _)| !k.ends_with("_ms"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            serde_json::to_string(&rest).unwrap_or_default()
        }
    };
    format!("{}|{actor}|{subject}", fact.kind)
}

/// Whether a fact is a silent alarm (`visibility = "monitoring"`).
pub fn is_silent(fact: &Fact) -> bool {
    payload_str(fact, VISIBILITY_KEY) == Some(VISIBILITY_MONITORING)
}

/// Truncates to at most `max` characters.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl Escalator {
    /// A new engine with no open incidents.
    pub fn new(mut config: EscalatorConfig) -> Self {
        if config.retain_ms <= 0 {
            config.retain_ms = 3_600_000;
        }
        let contacts = config
            .notify
            .contacts
            .iter()
            .map(|c| (c.id.clone(), c.clone()))
            .collect();
        Escalator {
            config,
            contacts,
            incidents: BTreeMap::new(),
            open_by_key: BTreeMap::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &EscalatorConfig {
        &self.config
    }

    /// Checks chains against contacts and channel rules. `sample_kinds` are fact kinds the site will
    /// produce (e.g. `health.camera_down`); a chain covering a kind whose every step is filtered
    /// out is reported, as is a step without address or contact.
    pub fn check(&self, sample_kinds: &[&str]) -> Vec<ChainIssue> {
        let mut issues = Vec::new();
        for chain in &self.config.notify.chains {
            for (i, step) in chain.steps.iter().enumerate() {
                match self.contacts.get(&step.contact) {
                    None => issues.push(ChainIssue {
                        chain_id: chain.id.clone(),
                        message: format!("step {i} names unknown contact {:?}", step.contact),
                    }),
                    Some(c) if address_for(c, step.channel).is_none() => issues.push(ChainIssue {
                        chain_id: chain.id.clone(),
                        message: format!(
                            "step {i}: contact {:?} has no address for {:?}",
                            step.contact, step.channel
                        ),
                    }),
                    Some(_) => {}
                }
            }
            for kind in sample_kinds {
                if !any_matches(&chain.applies_to, kind, None) {
                    continue;
                }
                let usable = chain.steps.iter().any(|s| {
                    self.channel_allowed(kind, s.channel)
                        && self
                            .contacts
                            .get(&s.contact)
                            .is_some_and(|c| address_for(c, s.channel).is_some())
                });
                if !usable {
                    issues.push(ChainIssue {
                        chain_id: chain.id.clone(),
                        message: format!(
                            "no step can notify {kind:?}: every step is on a channel the jurisdiction does not count or lacks an address"
                        ),
                    });
                }
            }
        }
        issues
    }

    fn channel_allowed(&self, kind: &str, channel: Channel) -> bool {
        self.config
            .channel_rules
            .iter()
            .filter(|r| any_matches(&r.applies_to, kind, None))
            .all(|r| r.allowed.contains(&channel))
    }

    /// Opens an incident for `fact` if a chain applies and schedules its steps from `now_ms`.
    /// A fact of the same kind from the same actor while an incident for it is still open (not
    /// acknowledged, not expired) joins that incident instead of paging everyone again.
    pub fn trigger(&mut self, fact: &Fact, now_ms: i64) -> TriggerOutcome {
        let alarm_type = payload_str(fact, "alarm_type");
        let chains: Vec<_> = self
            .config
            .notify
            .chains
            .iter()
            .filter(|c| any_matches(&c.applies_to, &fact.kind, alarm_type))
            .cloned()
            .collect();
        if chains.is_empty() {
            return TriggerOutcome {
                incident_id: None,
                opened: false,
                scheduled: 0,
                suppressed: Vec::new(),
            };
        }
        let actor = fact.actor.to_string();
        let key = condition_key(fact, &actor);
        if let Some(id) = self.open_by_key.get(&key)
            && self
                .incidents
                .get(id)
                .is_some_and(|i| i.acknowledged.is_none())
        {
            return TriggerOutcome {
                incident_id: Some(id.clone()),
                opened: false,
                scheduled: 0,
                suppressed: Vec::new(),
            };
        }
        let payload = serde_json::to_string(&fact.payload).unwrap_or_default();
        let hash = fnv1a(&[
            fact.kind.as_bytes(),
            actor.as_bytes(),
            &fact.time_ms.to_le_bytes(),
            payload.as_bytes(),
        ]);
        let incident_id = format!("inc-{}-{hash:016x}", fact.time_ms);
        if self.incidents.contains_key(&incident_id) {
            // The very same fact again (a replay): nothing new.
            return TriggerOutcome {
                incident_id: Some(incident_id),
                opened: false,
                scheduled: 0,
                suppressed: Vec::new(),
            };
        }
        let silent = is_silent(fact);
        let mut pending = Vec::new();
        let mut suppressed = Vec::new();
        for chain in &chains {
            for (i, step) in chain.steps.iter().enumerate() {
                let step_index = u32::try_from(i).unwrap_or(u32::MAX);
                let suppress = |reason| Suppression {
                    incident_id: incident_id.clone(),
                    chain_id: chain.id.clone(),
                    step_index,
                    contact: step.contact.clone(),
                    channel: step.channel,
                    reason,
                };
                let Some(contact) = self.contacts.get(&step.contact) else {
                    suppressed.push(suppress(SuppressReason::UnknownContact));
                    continue;
                };
                if !self.channel_allowed(&fact.kind, step.channel) {
                    suppressed.push(suppress(SuppressReason::ChannelNotAllowed));
                    continue;
                }
                if silent && !self.config.monitoring_contacts.contains(&contact.id) {
                    suppressed.push(suppress(SuppressReason::SilentToNonMonitoring));
                    continue;
                }
                let Some(address) = address_for(contact, step.channel) else {
                    suppressed.push(suppress(SuppressReason::NoAddress));
                    continue;
                };
                let (subject, message) = self.compose(fact, step.channel, &incident_id);
                let due_ms = now_ms.saturating_add(i64::from(step.after_s).saturating_mul(1000));
                pending.push(Delivery {
                    id: format!("{incident_id}/{}/{step_index}", chain.id),
                    incident_id: incident_id.clone(),
                    chain_id: chain.id.clone(),
                    step_index,
                    contact: contact.id.clone(),
                    contact_name: contact.name.clone(),
                    channel: step.channel,
                    address: address.to_owned(),
                    subject,
                    message,
                    trigger_kind: fact.kind.clone(),
                    onset_ms: fact.time_ms,
                    triggered_ms: now_ms,
                    due_ms,
                    silent,
                });
            }
        }
        // Stable sort: equal due times keep chain order then step order.
        pending.sort_by_key(|d| d.due_ms);
        let scheduled = pending.len();
        let closed_ms = pending.is_empty().then_some(now_ms);
        self.incidents.insert(
            incident_id.clone(),
            Incident {
                key: key.clone(),
                onset_ms: fact.time_ms,
                silent,
                pending,
                acknowledged: None,
                closed_ms,
            },
        );
        self.open_by_key.insert(key, incident_id.clone());
        TriggerOutcome {
            incident_id: Some(incident_id),
            opened: true,
            scheduled,
            suppressed,
        }
    }

    fn compose(&self, fact: &Fact, channel: Channel, incident_id: &str) -> (String, String) {
        let site = &self.config.site;
        let what = payload_str(fact, "alarm_type")
            .or_else(|| payload_str(fact, "summary"))
            .map(str::to_owned)
            .unwrap_or_else(|| fact.kind.replace(['.', '_'], " "));
        let source = payload_str(fact, "name")
            .or_else(|| payload_str(fact, "zone_name"))
            .map(str::to_owned)
            .unwrap_or_else(|| fact.actor.to_string());
        let when = format_time(fact.time_ms);
        let subject = clip(&format!("[{}] {what}", site.name), 120);
        let message = match channel {
            Channel::Voice => format!(
                "This is an automated alarm message from {}, {}. {what} alarm at {source}. Please dispatch. Repeating: {what} alarm at {}, {}.",
                site.name, site.address, site.name, site.address
            ),
            Channel::Sms => clip(
                &format!(
                    "{}: {what} ({source}) at {when}. Incident {incident_id}. Acknowledge in Strongroom.",
                    site.name
                ),
                320,
            ),
            Channel::Email => format!(
                "{what}\n\nSite: {}\nAddress: {}\nSource: {source}\nKind: {}\nOnset: {when}\nIncident: {incident_id}\n\nAcknowledge this incident in Strongroom to stop escalation.\n",
                site.name, site.address, fact.kind
            ),
        };
        (subject, message)
    }

    /// Records an acknowledgment; every step not handed out yet is cancelled.
    pub fn acknowledge(
        &mut self,
        incident_id: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<AckOutcome, AckError> {
        let inc = self
            .incidents
            .get_mut(incident_id)
            .ok_or_else(|| AckError::UnknownIncident(incident_id.to_owned()))?;
        if let Some((first, at_ms)) = &inc.acknowledged {
            return Err(AckError::AlreadyAcknowledged {
                incident_id: incident_id.to_owned(),
                by: first.clone(),
                at_ms: *at_ms,
            });
        }
        inc.acknowledged = Some((by.to_owned(), now_ms));
        inc.closed_ms = Some(now_ms);
        let cancelled = inc.pending.drain(..).map(|d| d.id).collect();
        if self.open_by_key.get(&inc.key).map(String::as_str) == Some(incident_id) {
            self.open_by_key.remove(&inc.key);
        }
        Ok(AckOutcome {
            incident_id: incident_id.to_owned(),
            by: by.to_owned(),
            onset_ms: inc.onset_ms,
            acknowledged_ms: now_ms,
            cancelled,
            silent: inc.silent,
        })
    }

    /// Hands out every step due at `now_ms` of every unacknowledged incident, in due order, and
    /// forgets incidents closed more than `retain_ms` ago.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Delivery> {
        let mut out = Vec::new();
        for inc in self.incidents.values_mut() {
            if inc.acknowledged.is_some() {
                continue;
            }
            let n = inc.pending.partition_point(|d| d.due_ms <= now_ms);
            if n > 0 {
                out.extend(inc.pending.drain(..n));
                if inc.pending.is_empty() {
                    inc.closed_ms = Some(now_ms);
                }
            }
        }
        let retain_ms = self.config.retain_ms;
        let expired: Vec<String> = self
            .incidents
            .iter()
            .filter(|(_, i)| {
                i.closed_ms
                    .is_some_and(|c| now_ms.saturating_sub(c) > retain_ms)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(inc) = self.incidents.remove(&id)
                && self.open_by_key.get(&inc.key) == Some(&id)
            {
                self.open_by_key.remove(&inc.key);
            }
        }
        out.sort_by(|a, b| (a.due_ms, &a.incident_id).cmp(&(b.due_ms, &b.incident_id)));
        out
    }

    /// The earliest time a step is due, if any (for the timer driving [`Escalator::tick`]).
    pub fn next_due_ms(&self) -> Option<i64> {
        self.incidents
            .values()
            .filter(|i| i.acknowledged.is_none())
            .filter_map(|i| i.pending.first().map(|d| d.due_ms))
            .min()
    }

    /// Number of incidents held (open, or closed and not yet expired).
    pub fn incident_count(&self) -> usize {
        self.incidents.len()
    }

    /// Whether an incident is known and unacknowledged.
    pub fn is_open(&self, incident_id: &str) -> bool {
        self.incidents
            .get(incident_id)
            .is_some_and(|i| i.acknowledged.is_none())
    }
}

/// The address of `contact` for `channel`, if it has one (blank counts as none).
pub fn address_for(contact: &Contact, channel: Channel) -> Option<&str> {
    let a = match channel {
        Channel::Sms | Channel::Voice => contact.phone.as_deref(),
        Channel::Email => contact.email.as_deref(),
    }?;
    let a = a.trim();
    (!a.is_empty()).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use strongroom_domain::Actor;
    use strongroom_domain::site::{Chain, ChainStep, DEMO_SITE_TOML, SiteConfig};

    fn contact(id: &str, phone: Option<&str>, email: Option<&str>) -> Contact {
        Contact {
            id: id.into(),
            name: format!("{id} name"),
            phone: phone.map(Into::into),
            email: email.map(Into::into),
            monitoring: false,
        }
    }

    fn step(contact: &str, channel: Channel, after_s: u32) -> ChainStep {
        ChainStep {
            contact: contact.into(),
            channel,
            after_s,
        }
    }

    fn config() -> EscalatorConfig {
        EscalatorConfig {
            notify: Notify {
                smtp: None,
                webhook: None,
                contacts: vec![
                    contact("manager", Some("+12175550100"), Some("m@example.invalid")),
                    contact("owner", Some("+12175550101"), None),
                    contact("monitor", Some("+12175550102"), Some("mon@example.invalid")),
                    contact("psap", Some("+12175550911"), None),
                ],
                chains: vec![
                    Chain {
                        id: "alarms".into(),
                        applies_to: vec!["alarm.*".into()],
                        steps: vec![
                            step("monitor", Channel::Sms, 0),
                            step("psap", Channel::Voice, 0),
                            step("manager", Channel::Sms, 30),
                            step("owner", Channel::Voice, 120),
                        ],
                    },
                    Chain {
                        id: "failures".into(),
                        applies_to: vec!["health.*".into()],
                        steps: vec![
                            step("manager", Channel::Email, 0),
                            step("manager", Channel::Sms, 0),
                            step("owner", Channel::Sms, 120),
                        ],
                    },
                ],
            },
            channel_rules: vec![ChannelRule::il_failures()],
            monitoring_contacts: ["monitor".to_owned(), "psap".to_owned()].into(),
            site: SiteIdentity {
                name: "Green Leaf Springfield".into(),
                address: "1 Main St, Springfield IL".into(),
            },
            retain_ms: 0,
        }
    }

    fn alarm(kind: &str, t: i64) -> Fact {
        Fact::new(kind, Actor::Device("panel-1".into()), t).with("alarm_type", "burglary")
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("alarm.*", "alarm.raised"));
        assert!(pattern_matches("alarm.*", "alarm.zone.raised"));
        assert!(!pattern_matches("alarm.*", "alarm"));
        assert!(!pattern_matches("alarm.*", "alarms.raised"));
        assert!(pattern_matches("*", "x"));
        assert!(pattern_matches("health.camera_down", "health.camera_down"));
        assert!(!pattern_matches("health.camera_down", "health.camera_up"));
    }

    #[test]
    fn steps_fire_in_order_at_their_times_and_ack_stops_the_rest() {
        let mut e = Escalator::new(config());
        let t0 = 1_700_000_000_000;
        let out = e.trigger(&alarm("alarm.raised", t0 - 500), t0);
        let id = out.incident_id.clone().expect("incident");
        assert!(out.opened);
        assert_eq!(out.scheduled, 4);
        let first = e.tick(t0);
        assert_eq!(
            first.iter().map(|d| d.contact.as_str()).collect::<Vec<_>>(),
            ["monitor", "psap"]
        );
        assert!(
            first
                .iter()
                .all(|d| d.due_ms == t0 && d.onset_ms == t0 - 500)
        );
        assert_eq!(first[1].channel, Channel::Voice);
        assert!(first[1].message.contains("1 Main St, Springfield IL"));
        assert!(first[1].message.contains("burglary"));
        assert!(e.tick(t0 + 29_999).is_empty());
        let second = e.tick(t0 + 30_000);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].contact, "manager");
        assert!(second[0].is_escalation());
        assert_eq!(e.next_due_ms(), Some(t0 + 120_000));
        let ack = e.acknowledge(&id, "user:alice", t0 + 60_000).expect("ack");
        assert_eq!(ack.cancelled, vec![format!("{id}/alarms/3")]);
        assert!(e.tick(t0 + 1_000_000).is_empty());
        assert_eq!(e.next_due_ms(), None);
        assert!(matches!(
            e.acknowledge(&id, "user:bob", t0 + 70_000),
            Err(AckError::AlreadyAcknowledged { .. })
        ));
        assert!(matches!(
            e.acknowledge("nope", "user:bob", t0),
            Err(AckError::UnknownIncident(_))
        ));
    }

    #[test]
    fn il_failures_never_go_by_email() {
        let mut e = Escalator::new(config());
        let f = Fact::new("health.camera_down", Actor::Device("cam-1".into()), 10);
        let out = e.trigger(&f, 10);
        assert_eq!(out.scheduled, 2);
        assert_eq!(out.suppressed.len(), 1);
        assert_eq!(out.suppressed[0].reason, SuppressReason::ChannelNotAllowed);
        assert_eq!(out.suppressed[0].channel, Channel::Email);
        let all = e.tick(i64::MAX);
        assert!(all.iter().all(|d| d.channel != Channel::Email));
        // Without the rule (an OH site), email counts.
        let mut cfg = config();
        cfg.channel_rules.clear();
        let mut e = Escalator::new(cfg);
        assert_eq!(e.trigger(&f, 10).scheduled, 3);
    }

    #[test]
    fn silent_alarm_reaches_only_monitoring_contacts() {
        let mut e = Escalator::new(config());
        let f = alarm("alarm.raised", 5).with(VISIBILITY_KEY, VISIBILITY_MONITORING);
        let out = e.trigger(&f, 5);
        assert_eq!(out.scheduled, 2);
        assert!(
            out.suppressed
                .iter()
                .all(|s| s.reason == SuppressReason::SilentToNonMonitoring)
        );
        let all = e.tick(i64::MAX);
        assert!(
            all.iter()
                .all(|d| d.silent && (d.contact == "monitor" || d.contact == "psap"))
        );
    }

    #[test]
    fn same_condition_joins_open_incident_and_replay_is_idempotent() {
        let mut e = Escalator::new(config());
        let a = e.trigger(&alarm("alarm.raised", 1), 1);
        let b = e.trigger(&alarm("alarm.raised", 2), 2);
        assert!(a.opened && !b.opened);
        assert_eq!(a.incident_id, b.incident_id);
        // The same fact in a fresh engine (restart) gives the same ids.
        let mut e2 = Escalator::new(config());
        let c = e2.trigger(&alarm("alarm.raised", 1), 1);
        assert_eq!(a.incident_id, c.incident_id);
        let ids1: Vec<_> = e.tick(1).into_iter().map(|d| d.id).collect();
        let ids2: Vec<_> = e2.tick(1).into_iter().map(|d| d.id).collect();
        assert_eq!(ids1, ids2);
    }

    #[test]
    fn different_subjects_from_one_actor_are_different_incidents() {
        let mut e = Escalator::new(config());
        let down = |cam: &str, t: i64| {
            Fact::new("health.camera_down", Actor::System, t)
                .with("camera", cam)
                .with("last_frame_ms", t - 5_000)
        };
        let a = e.trigger(&down("cam-1", 1), 1);
        let b = e.trigger(&down("cam-2", 2), 2);
        let c = e.trigger(&down("cam-1", 3), 3);
        assert!(a.opened && b.opened && !c.opened);
        assert_ne!(a.incident_id, b.incident_id);
        assert_eq!(a.incident_id, c.incident_id);
        let keyed = |k: &str, t: i64| down("cam-9", t).with("dedupe_key", k);
        assert!(e.trigger(&keyed("x", 4), 4).opened);
        assert!(!e.trigger(&keyed("x", 5), 5).opened);
        assert!(e.trigger(&keyed("y", 6), 6).opened);
    }

    #[test]
    fn unmatched_fact_opens_nothing_and_incidents_expire() {
        let mut e = Escalator::new(config());
        assert_eq!(e.trigger(&alarm("door.opened", 1), 1).incident_id, None);
        let id = e
            .trigger(&alarm("alarm.raised", 1), 1)
            .incident_id
            .expect("id");
        e.tick(1_000_000);
        assert_eq!(e.incident_count(), 1);
        e.tick(1_000_000 + 3_600_001);
        assert_eq!(e.incident_count(), 0);
        assert!(matches!(
            e.acknowledge(&id, "u", 2),
            Err(AckError::UnknownIncident(_))
        ));
    }

    #[test]
    fn demo_site_chains_check_clean_for_il() {
        let site = SiteConfig::parse("demo.toml", DEMO_SITE_TOML).expect("demo parses");
        let e = Escalator::new(EscalatorConfig {
            notify: site.notify.clone(),
            channel_rules: vec![ChannelRule::il_failures()],
            ..EscalatorConfig::default()
        });
        assert_eq!(e.check(&["health.camera_down", "alarm.raised"]), vec![]);
        let mut notify = site.notify;
        for c in &mut notify.chains {
            for s in &mut c.steps {
                s.channel = Channel::Email;
            }
        }
        let e = Escalator::new(EscalatorConfig {
            notify,
            channel_rules: vec![ChannelRule::il_failures()],
            ..EscalatorConfig::default()
        });
        assert!(!e.check(&["health.camera_down"]).is_empty());
    }

    proptest! {
        #[test]
        fn never_panics_on_odd_input(
            kind in "[a-z.*_]{0,12}",
            time_ms in any::<i64>(),
            now_ms in any::<i64>(),
            later in any::<i64>(),
            after_s in any::<u32>(),
            visibility in proptest::option::of("[a-z]{0,10}"),
        ) {
            let mut cfg = config();
            cfg.notify.chains.push(Chain {
                id: "any".into(),
                applies_to: vec!["*".into(), kind.clone()],
                steps: vec![step("manager", Channel::Sms, after_s)],
            });
            let mut e = Escalator::new(cfg);
            let mut f = Fact::new(kind, Actor::System, time_ms);
            if let Some(v) = visibility { f = f.with(VISIBILITY_KEY, v); }
            let out = e.trigger(&f, now_ms);
            let _ = e.tick(later);
            let _ = e.next_due_ms();
            if let Some(id) = out.incident_id {
                let _ = e.acknowledge(&id, "u", later);
                prop_assert!(e.tick(i64::MAX).is_empty());
            }
        }
    }

    fn arb_channel() -> impl Strategy<Value = Channel> {
        prop_oneof![
            Just(Channel::Sms),
            Just(Channel::Voice),
            Just(Channel::Email)
        ]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Trigger { kind: u8, actor: u8, silent: bool },
        Ack { which: u8 },
        Advance { ms: u32 },
    }

    fn arb_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..4, 0u8..3, any::<bool>()).prop_map(|(kind, actor, silent)| Op::Trigger {
                kind,
                actor,
                silent
            }),
            any::<u8>().prop_map(|which| Op::Ack { which }),
            (0u32..300_000).prop_map(|ms| Op::Advance { ms }),
        ]
    }

    proptest! {
        #[test]
        fn engine_invariants(
            steps in proptest::collection::vec((0usize..5, arb_channel(), 0u32..400), 0..8),
            ops in proptest::collection::vec(arb_op(), 0..60),
        ) {
            let ids = ["manager", "owner", "monitor", "psap", "ghost"];
            let mut cfg = config();
            cfg.notify.chains.push(Chain {
                id: "random".into(),
                applies_to: vec!["*".into()],
                steps: steps.iter().map(|(c, ch, a)| step(ids[*c], *ch, *a)).collect(),
            });
            let monitoring = cfg.monitoring_contacts.clone();
            let mut e = Escalator::new(cfg);
            let kinds = ["alarm.raised", "health.camera_down", "door.forced", "alarm.duress"];
            let mut now: i64 = 1_000;
            let mut opened: Vec<String> = Vec::new();
            let mut acked: BTreeMap<String, i64> = BTreeMap::new();
            let mut last_due: BTreeMap<String, i64> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Trigger { kind, actor, silent } => {
                        let mut f = Fact::new(kinds[kind as usize], Actor::Device(format!("d{actor}")), now - 10);
                        if silent { f = f.with(VISIBILITY_KEY, VISIBILITY_MONITORING); }
                        if let Some(id) = e.trigger(&f, now).incident_id { opened.push(id); }
                    }
                    Op::Ack { which } => {
                        if !opened.is_empty() {
                            let id = opened[which as usize % opened.len()].clone();
                            if e.acknowledge(&id, "user:x", now).is_ok() {
                                prop_assert!(acked.insert(id, now).is_none());
                            }
                        }
                    }
                    Op::Advance { ms } => now += i64::from(ms),
                }
                for d in e.tick(now) {
                    // Due, never early.
                    prop_assert!(d.due_ms <= now);
                    // Never after an acknowledgment.
                    prop_assert!(!acked.contains_key(&d.incident_id));
                    // Silent alarms only to monitoring contacts.
                    if d.silent { prop_assert!(monitoring.contains(&d.contact)); }
                    // IL: failures never by email.
                    if d.trigger_kind.starts_with("health.") { prop_assert!(d.channel != Channel::Email); }
                    // In order within an incident.
                    let prev = last_due.insert(d.incident_id.clone(), d.due_ms);
                    prop_assert!(prev.is_none_or(|p| p <= d.due_ms));
                    prop_assert!(d.due_ms >= d.triggered_ms);
                }
                if let Some(n) = e.next_due_ms() { prop_assert!(n > now); }
            }
        }
    }
}
