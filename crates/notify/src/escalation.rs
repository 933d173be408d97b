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
    /// IANA time zone of the site (`America/Chicago`); messages give local time in it. Empty or
    /// unknown: UTC, said so in the message.
    #[serde(default)]
    pub timezone: String,
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
    /// Device id → display name ([`crate::episode::device_names`]), to name what failed.
    pub device_names: BTreeMap<String, String>,
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
    /// True when the fact restored a failure episode: `incident_id` is the failure's incident
    /// and `scheduled` counts the restore notices.
    pub restored: bool,
}

impl TriggerOutcome {
    /// Nothing opened or scheduled; `incident_id` as found.
    pub fn nothing(incident_id: Option<String>) -> Self {
        TriggerOutcome {
            incident_id,
            opened: false,
            scheduled: 0,
            suppressed: Vec::new(),
            restored: false,
        }
    }
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
    /// The failure episode this incident notifies, if its fact has a restore kind.
    episode: Option<String>,
    /// The triggering fact's kind and what it is about (for screens).
    kind: String,
    source: String,
}

/// An incident as a screen or the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentView {
    /// Incident id.
    pub id: String,
    /// The short code a person types or replies with ([`short_code`]).
    pub code: String,
    /// The triggering fact's kind.
    pub kind: String,
    /// What it is about (device name and id, zone, or actor).
    pub source: String,
    /// Onset, epoch ms.
    pub onset_ms: i64,
    /// Who acknowledged it, and when.
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged, epoch ms.
    pub acknowledged_ms: Option<i64>,
    /// Escalation steps still to come.
    pub pending_steps: usize,
    /// For a failure: whether the device has not been restored yet.
    pub failure_ongoing: bool,
    /// A silent alarm (monitoring roles only).
    pub silent: bool,
}

/// The short code of an incident: the last six characters of its id, upper case (what an SMS
/// asks a person to type or reply with).
pub fn short_code(incident_id: &str) -> String {
    let n = incident_id.len();
    incident_id[n.saturating_sub(6)..].to_ascii_uppercase()
}

impl Episode {
    /// Remembers who `sent` reached (once per contact and channel).
    fn note_notified(&mut self, sent: &[Delivery]) {
        for d in sent {
            if !self
                .notified
                .iter()
                .any(|n| n.contact == d.contact && n.channel == d.channel)
            {
                self.notified.push(d.clone());
            }
        }
    }
}

/// A failure episode in progress: its incident and who was told of it.
#[derive(Debug, Clone)]
struct Episode {
    incident_id: String,
    onset_ms: i64,
    silent: bool,
    /// Deliveries handed out for the failure (the restore notice goes to the same people).
    notified: Vec<Delivery>,
}

/// The escalation engine. Pure: every method takes `now_ms`.
#[derive(Debug, Clone)]
pub struct Escalator {
    config: EscalatorConfig,
    contacts: BTreeMap<String, Contact>,
    incidents: BTreeMap<String, Incident>,
    open_by_key: BTreeMap<String, String>,
    /// Failure episodes not restored yet, by [`crate::episode::episode_key`].
    episodes: BTreeMap<String, Episode>,
    /// Restore notices due now.
    restores: Vec<Delivery>,
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

/// `ms` as the site's local time with its zone abbreviation (`2026-12-03 09:38:05 CST`), or UTC
/// when the zone is not known.
fn format_time(ms: i64, timezone: &str) -> String {
    let Ok(t) = jiff::Timestamp::from_millisecond(ms) else {
        return format!("{ms} ms");
    };
    match jiff::tz::TimeZone::get(timezone) {
        Ok(tz) if !timezone.is_empty() => {
            t.to_zoned(tz).strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
        }
        _ => t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
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
            episodes: BTreeMap::new(),
            restores: Vec::new(),
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
        if let Some(failure) = crate::episode::failure_restored_by(&fact.kind) {
            return self.restore(fact, failure, now_ms);
        }
        let episode = crate::episode::is_failure(&fact.kind)
            .then(|| crate::episode::episode_key(&fact.kind, fact));
        if let Some(ep) = episode.as_ref().and_then(|k| self.episodes.get(k)) {
            // The same failure reported again while its episode runs: nothing new.
            return TriggerOutcome::nothing(Some(ep.incident_id.clone()));
        }
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
            return TriggerOutcome::nothing(None);
        }
        let actor = fact.actor.to_string();
        let key = condition_key(fact, &actor);
        if episode.is_none()
            && let Some(id) = self.open_by_key.get(&key)
            && self
                .incidents
                .get(id)
                .is_some_and(|i| i.acknowledged.is_none())
        {
            return TriggerOutcome::nothing(Some(id.clone()));
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
            return TriggerOutcome::nothing(Some(incident_id));
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
                episode: episode.clone(),
                kind: fact.kind.clone(),
                source: self.source_of(fact),
            },
        );
        match episode {
            Some(ep) => {
                self.episodes.insert(
                    ep,
                    Episode {
                        incident_id: incident_id.clone(),
                        onset_ms: fact.time_ms,
                        silent,
                        notified: Vec::new(),
                    },
                );
            }
            None => {
                self.open_by_key.insert(key, incident_id.clone());
            }
        }
        TriggerOutcome {
            incident_id: Some(incident_id),
            opened: true,
            scheduled,
            suppressed,
            restored: false,
        }
    }

    /// Rebuilds, after a restart, an incident that was acknowledged at `ack_ms` by `by`: the
    /// steps due by then count as sent (they were, before the restart) and nothing is handed out,
    /// but a failure episode is in progress again, so its restore is still notified.
    pub fn replay_acknowledged(
        &mut self,
        fact: &Fact,
        triggered_ms: i64,
        by: &str,
        ack_ms: i64,
    ) -> TriggerOutcome {
        let out = self.trigger(fact, triggered_ms);
        let Some(id) = out.incident_id.clone() else {
            return out;
        };
        if let Some(inc) = self.incidents.get_mut(&id) {
            let n = inc.pending.partition_point(|d| d.due_ms <= ack_ms);
            let sent: Vec<Delivery> = inc.pending.drain(..n).collect();
            if let Some(ep) = inc.episode.as_ref().and_then(|k| self.episodes.get_mut(k)) {
                ep.note_notified(&sent);
            }
        }
        let _ = self.acknowledge(&id, by, ack_ms);
        out
    }

    /// A restore fact: ends the failure's episode, drops its escalation steps not sent yet and
    /// schedules a restore notice, due now, for every delivery the failure notice went out on.
    /// A restore with no episode in progress notifies nobody.
    fn restore(&mut self, fact: &Fact, failure: &str, now_ms: i64) -> TriggerOutcome {
        let key = crate::episode::episode_key(failure, fact);
        let Some(ep) = self.episodes.remove(&key) else {
            return TriggerOutcome::nothing(None);
        };
        if let Some(inc) = self.incidents.get_mut(&ep.incident_id) {
            inc.pending.clear();
            inc.closed_ms.get_or_insert(now_ms);
        }
        let mut scheduled = 0;
        for (i, sent) in ep.notified.iter().enumerate() {
            let (subject, message) =
                self.compose_restore(fact, failure, ep.onset_ms, sent.channel, &ep.incident_id);
            self.restores.push(Delivery {
                id: format!("{}/{}/restored-{i}", ep.incident_id, sent.chain_id),
                step_index: 0,
                subject,
                message,
                trigger_kind: fact.kind.clone(),
                onset_ms: ep.onset_ms,
                triggered_ms: now_ms,
                due_ms: now_ms,
                silent: ep.silent,
                ..sent.clone()
            });
            scheduled += 1;
        }
        TriggerOutcome {
            incident_id: Some(ep.incident_id),
            opened: false,
            scheduled,
            suppressed: Vec::new(),
            restored: true,
        }
    }

    /// Who or what a fact is about, for message text: its name or zone name, else the device's
    /// name from the site file with its id (`Vault camera (cam1)`), else its id, else the actor.
    fn source_of(&self, fact: &Fact) -> String {
        if let Some(n) = ["name", "zone_name", "device_name"]
            .iter()
            .find_map(|k| payload_str(fact, k).filter(|v| !v.is_empty()))
        {
            return n.to_owned();
        }
        match ["device", "camera", "reader", "sensor"]
            .iter()
            .find_map(|k| payload_str(fact, k).filter(|v| !v.is_empty()))
        {
            Some(id) => match self.config.device_names.get(id) {
                Some(name) => format!("{name} ({id})"),
                None => id.to_owned(),
            },
            None => fact.actor.to_string(),
        }
    }

    fn compose_restore(
        &self,
        fact: &Fact,
        failure: &str,
        onset_ms: i64,
        channel: Channel,
        incident_id: &str,
    ) -> (String, String) {
        let site = &self.config.site;
        let tz = &site.timezone;
        let what = failure.replace(['.', '_'], " ");
        let source = self.source_of(fact);
        let (since, at) = (format_time(onset_ms, tz), format_time(fact.time_ms, tz));
        let subject = clip(&format!("[{}] restored: {what} ({source})", site.name), 120);
        let message = match channel {
            Channel::Voice => format!(
                "This is an automated message from {}. {source} is working again after {what}. No action is needed.",
                site.name
            ),
            Channel::Sms => clip(
                &format!(
                    "{}: RESTORED {source} at {at} ({what} since {since}). Incident {incident_id}.",
                    site.name
                ),
                320,
            ),
            Channel::Email => format!(
                "Restored: {source}\n\nSite: {}\nAddress: {}\nFailure: {failure} since {since}\nRestored: {at} ({})\nIncident: {incident_id}\n",
                site.name, site.address, fact.kind
            ),
        };
        (subject, message)
    }

    fn compose(&self, fact: &Fact, channel: Channel, incident_id: &str) -> (String, String) {
        let site = &self.config.site;
        let what = payload_str(fact, "alarm_type")
            .or_else(|| payload_str(fact, "summary"))
            .map(str::to_owned)
            .unwrap_or_else(|| fact.kind.replace(['.', '_'], " "));
        let source = self.source_of(fact);
        let when = format_time(fact.time_ms, &site.timezone);
        let subject = clip(&format!("[{}] {what}", site.name), 120);
        let message = match channel {
            Channel::Voice => format!(
                "This is an automated alarm message from {}, {}. {what} alarm at {source}. Please dispatch. Repeating: {what} alarm at {}, {}.",
                site.name, site.address, site.name, site.address
            ),
            Channel::Sms => clip(
                &format!(
                    "{}: {what} ({source}) at {when}. Incident {incident_id}. Acknowledge with code {} (console, API or CLI).",
                    site.name,
                    short_code(incident_id)
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
        let mut out = std::mem::take(&mut self.restores);
        for inc in self.incidents.values_mut() {
            if inc.acknowledged.is_some() {
                continue;
            }
            let n = inc.pending.partition_point(|d| d.due_ms <= now_ms);
            if n > 0 {
                let due: Vec<Delivery> = inc.pending.drain(..n).collect();
                if let Some(ep) = inc.episode.as_ref().and_then(|k| self.episodes.get_mut(k)) {
                    ep.note_notified(&due);
                }
                out.extend(due);
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
        if let Some(d) = self.restores.first() {
            return Some(d.due_ms);
        }
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

    /// The incidents held (open, or closed and not yet expired), newest first.
    pub fn incidents(&self) -> Vec<IncidentView> {
        let ongoing: BTreeSet<&str> = self
            .episodes
            .values()
            .map(|e| e.incident_id.as_str())
            .collect();
        let mut v: Vec<IncidentView> = self
            .incidents
            .iter()
            .map(|(id, i)| IncidentView {
                id: id.clone(),
                code: short_code(id),
                kind: i.kind.clone(),
                source: i.source.clone(),
                onset_ms: i.onset_ms,
                acknowledged_by: i.acknowledged.as_ref().map(|(b, _)| b.clone()),
                acknowledged_ms: i.acknowledged.as_ref().map(|(_, t)| *t),
                pending_steps: i.pending.len(),
                failure_ongoing: ongoing.contains(id.as_str()),
                silent: i.silent,
            })
            .collect();
        v.sort_by(|a, b| b.onset_ms.cmp(&a.onset_ms).then_with(|| a.id.cmp(&b.id)));
        v
    }

    /// The incident an id or short code names: the id itself, else the newest unacknowledged
    /// incident with that code, else the newest with it.
    pub fn resolve(&self, id_or_code: &str) -> Option<String> {
        if self.incidents.contains_key(id_or_code) {
            return Some(id_or_code.to_owned());
        }
        let code = id_or_code.trim().to_ascii_uppercase();
        let all = self.incidents();
        all.iter()
            .find(|i| i.code == code && i.acknowledged_by.is_none())
            .or_else(|| all.iter().find(|i| i.code == code))
            .map(|i| i.id.clone())
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
mod tests;
