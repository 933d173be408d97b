//! Typed payloads of the facts in [`crate::kinds`].
//!
//! Each struct serialises to the JSON object documented on its kind; [`to_fact`] builds a
//! [`Fact`] from one and [`from_fact`] reads one back. Optional fields are omitted when `None`, and
//! unknown fields are ignored on read, so a payload may gain fields without breaking replay.
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use strongroom_domain::site::{AreaKind, Direction};
use strongroom_domain::{Actor, Fact};

use crate::decide::DenyReason;
use crate::hash::CredHash;
use crate::model::{CredentialKind, Method, PersonCategory, PersonStatus, Schedule, SecretKind};

/// Builds a fact of `kind` whose payload is `payload` serialised.
pub fn to_fact<T: Serialize>(kind: &str, actor: Actor, time_ms: i64, payload: &T) -> Fact {
    let payload = match serde_json::to_value(payload) {
        Ok(Value::Object(m)) => m,
        // Every payload type here is a struct, which serialises to an object.
        _ => Map::new(),
    };
    Fact {
        kind: kind.to_owned(),
        actor,
        time_ms,
        payload,
    }
}

/// Reads a fact's payload as `T`.
pub fn from_fact<T: DeserializeOwned>(fact: &Fact) -> Result<T, serde_json::Error> {
    T::deserialize(&Value::Object(fact.payload.clone()))
}

/// `person.added`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonAdded {
    /// Person id.
    pub person: String,
    /// Category.
    pub category: PersonCategory,
    /// Full name.
    pub name: String,
    /// Roles (`agent`, `security-manager`, `vault`, ...).
    #[serde(default)]
    pub roles: Vec<String>,
    /// State agent-ID / employee ID badge number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// When that badge expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge_expires_ms: Option<i64>,
    /// Company (vendors, service professionals, law enforcement agency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Type of business or service (IL 1291.300(h)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Contact information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// `person.updated`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PersonUpdated {
    /// Person id.
    pub person: String,
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// New badge number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// New badge expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge_expires_ms: Option<i64>,
}

/// `person.status_changed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonStatusChanged {
    /// Person id.
    pub person: String,
    /// New status.
    pub status: PersonStatus,
    /// Old status.
    pub previous: PersonStatus,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `credential.issued`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialIssued {
    /// Credential id.
    pub credential: String,
    /// Holder.
    pub person: String,
    /// Kind.
    pub kind: CredentialKind,
    /// Keyed hash of the card number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_hash: Option<CredHash>,
    /// Last four characters of the card number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_last4: Option<String>,
    /// Keyed hash of the PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_hash: Option<CredHash>,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
    /// The credential this one replaces (revoked just before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// `credential.suspended`, `credential.reinstated`, `credential.revoked`, `credential.expired`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialChanged {
    /// Credential id.
    pub credential: String,
    /// Holder.
    pub person: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `area.authorized`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaAuthorized {
    /// Person id.
    pub person: String,
    /// Area id.
    pub area: String,
    /// When it applies.
    pub schedule: Schedule,
    /// Last moment it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<i64>,
}

/// `area.deauthorized`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaDeauthorized {
    /// Person id.
    pub person: String,
    /// Area id.
    pub area: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `vendor.approved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorApproved {
    /// Person id.
    pub person: String,
    /// The regulator's approval reference.
    pub approval_ref: String,
}

/// `vendor.removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorRemoved {
    /// Person id.
    pub person: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `secret.registered`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretRegistered {
    /// Secret id.
    pub secret: String,
    /// What it is ("Vault door combination").
    pub label: String,
    /// Kind.
    pub kind: SecretKind,
    /// The area it opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
}

/// `secret.holder_added`, `secret.holder_removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretHolder {
    /// Secret id.
    pub secret: String,
    /// Person id.
    pub person: String,
    /// Why (removals).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// `secret.changed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretChanged {
    /// Secret id.
    pub secret: String,
    /// Who knows the new secret.
    pub holders: Vec<String>,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `lockdown.started`, `lockdown.ended`, and other facts with just a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `occupancy.reset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OccupancyReset {
    /// The person whose location is forgotten; absent for everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `keypad.lockout_cleared`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockoutCleared {
    /// Reader id.
    pub reader: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `vault.manual_entry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaultManualEntry {
    /// Person id.
    pub person: String,
    /// Vault area id.
    pub area: String,
    /// Door id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    /// Time in.
    pub time_in_ms: i64,
    /// Time out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_out_ms: Option<i64>,
    /// How (`combination`, `key`).
    pub method: String,
    /// Free text.
    #[serde(default)]
    pub note: String,
    /// Who entered the record.
    pub recorded_by: String,
}

/// Where a presentation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An OSDP reader.
    Osdp,
    /// A controller reporting over the HTTP API.
    Api,
    /// The console (staff release, emergency override).
    Console,
}

/// The payload of `access.granted`, `access.denied`, `access.pending_second` and
/// `access.pending_escort`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccessPayload {
    /// Reader id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
    /// Where the request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Door id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    /// Direction through the door.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// The area entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enters: Option<String>,
    /// Its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enters_kind: Option<AreaKind>,
    /// The area left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves: Option<String>,
    /// Its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves_kind: Option<AreaKind>,
    /// Person id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Person category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<PersonCategory>,
    /// Credential id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// How the person authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// Why it was denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DenyReason>,
    /// Keyed hash of an unknown card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_hash: Option<CredHash>,
    /// Last four characters of an unknown card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_last4: Option<String>,
    /// Consecutive wrong PINs at this reader, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// The other agent of a two-person entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dual_with: Option<String>,
    /// When the first agent of a two-person entry badged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_presented_ms: Option<i64>,
    /// The escorting agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escort: Option<String>,
    /// Anonymous people admitted (staff release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admits: Option<u32>,
    /// Free text (staff release reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `access.exit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitPayload {
    /// Door id.
    pub door: String,
    /// The area left.
    pub leaves: String,
    /// Its kind.
    pub leaves_kind: AreaKind,
    /// The area entered.
    pub enters: String,
    /// Its kind.
    pub enters_kind: AreaKind,
    /// Person id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// `rex` or `api`.
    pub source: String,
}

/// `access.emergency_override`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergencyOverridePayload {
    /// The person admitted.
    pub person: String,
    /// Door id.
    pub door: String,
    /// The agent who approved and escorts.
    pub approver: String,
    /// The emergency.
    pub description: String,
    /// When the good-faith attempt to reach the regulator was made.
    pub attempt_time_ms: i64,
    /// How (phone, email, portal).
    pub attempt_channel: String,
    /// Whom.
    pub attempt_contact: String,
    /// Until when the person is admitted despite not being approved.
    pub valid_until_ms: i64,
}

/// `task.opened`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskOpened {
    /// Task id.
    pub task: String,
    /// Task kind.
    pub task_kind: String,
    /// The rule it serves.
    pub citation: String,
    /// What to do.
    pub summary: String,
    /// The person concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The door concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    /// Deadline: `asap`.
    pub due: String,
    /// When opened.
    pub opened_ms: i64,
}

/// `alarm.duress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuressPayload {
    /// Reader id.
    pub reader: String,
    /// Door id.
    pub door: String,
    /// Person id.
    pub person: String,
    /// The duress credential.
    pub credential: String,
    /// Always true: never shown or sounded locally.
    pub silent: bool,
}

/// `alarm.unknown_card_burst`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnknownCardBurst {
    /// Reader id.
    pub reader: String,
    /// Door id.
    pub door: String,
    /// Unknown cards in the window.
    pub count: u32,
    /// The window.
    pub window_s: u32,
}

/// `alarm.pin_brute_force`, `keypad.locked_out`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeypadAlarm {
    /// Reader id.
    pub reader: String,
    /// Door id.
    pub door: String,
    /// Wrong PINs in a row.
    pub attempts: u32,
    /// Lockout end (`keypad.locked_out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
}

/// `door.contact`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoorContact {
    /// Door id.
    pub door: String,
    /// Open or closed.
    pub open: bool,
}

/// `door.lock`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoorLock {
    /// Door id.
    pub door: String,
    /// Locked or not.
    pub locked: bool,
}

/// `door.rex` and the door-only facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoorOnly {
    /// Door id.
    pub door: String,
}

/// `door.forced`, `door.held_open`, `door.left_unlocked`, `door.secured`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoorAlarm {
    /// Door id.
    pub door: String,
    /// The inner area.
    pub area: String,
    /// Its kind.
    pub area_kind: AreaKind,
    /// When the door opened (held open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_ms: Option<i64>,
    /// When the lock released (left unlocked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlocked_ms: Option<i64>,
    /// The limit exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_s: Option<u32>,
    /// The condition restored (`door.secured`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}
