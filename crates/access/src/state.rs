//! The registry state, built only from facts.
//!
//! [`AccessState::apply`] is the one way the state changes. Commands ([`crate::commands`]) and
//! decisions ([`crate::decide()`]) never mutate it: they return facts, the server journals them and
//! then applies them. On startup the server replays the journal through `apply` and gets the same
//! state back (a property test checks this).
//!
//! Besides the registry (people, credentials, authorizations, vendors, secrets, lockdown) the state
//! holds the short-lived facts a decision depends on: agents pending a second at a vault door,
//! visitors pending an escort, recent grants per door, unknown-card reads and wrong-PIN counts per
//! reader, keypad lockouts, and who is in which area. Short-lived entries are pruned by the time of
//! the fact being applied (never the wall clock), keeping at most [`RUNTIME_HORIZON_MS`] of history,
//! so windows in the policy longer than an hour are effectively an hour.
//!
//! `apply` ignores kinds it does not know (the journal holds every crate's facts) and reports a
//! known kind with an unreadable payload as [`Applied::Malformed`], changing nothing.
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::Serialize;
use strongroom_domain::Fact;
use strongroom_domain::site::{AreaKind, Direction};

use crate::hash::CredHash;
use crate::kinds as k;
use crate::model::{
    CredentialKind, CredentialStatus, Method, PersonCategory, PersonStatus, Schedule, SecretKind,
    VendorStatus,
};
use crate::payload::{self as p, from_fact};

/// History kept for the short-lived decision state.
pub const RUNTIME_HORIZON_MS: i64 = 3_600_000;
/// Most unknown-card reads remembered per reader.
pub const UNKNOWN_CARD_MEMORY: usize = 256;
/// Most recent grants remembered per door.
const RECENT_GRANTS_MEMORY: usize = 64;

/// A vendor's or service professional's entry on the approved list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorInfo {
    /// Approval status.
    pub status: VendorStatus,
    /// The regulator's approval reference.
    pub approval_ref: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Service type.
    pub service_type: Option<String>,
    /// Contact information.
    pub contact: Option<String>,
    /// When the status last changed.
    pub changed_ms: i64,
}

/// An area authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authorization {
    /// When it applies.
    pub schedule: Schedule,
    /// Last moment it applies.
    pub valid_until_ms: Option<i64>,
    /// When it was granted.
    pub granted_ms: i64,
}

/// A registered person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Id.
    pub id: String,
    /// Category.
    pub category: PersonCategory,
    /// Name.
    pub name: String,
    /// Status.
    pub status: PersonStatus,
    /// Roles.
    pub roles: BTreeSet<String>,
    /// State agent-ID / employee ID badge number.
    pub agent_id: Option<String>,
    /// Badge expiry.
    pub badge_expires_ms: Option<i64>,
    /// Approved-vendor-list entry (vendors and service professionals).
    pub vendor: Option<VendorInfo>,
    /// Area authorizations by area id.
    pub authorizations: BTreeMap<String, Authorization>,
    /// Credential ids, all statuses.
    pub credentials: BTreeSet<String>,
    /// When registered.
    pub added_ms: i64,
}

impl Person {
    /// Whether the person's agent badge (if any) is current at `now_ms`.
    pub fn badge_current(&self, now_ms: i64) -> bool {
        self.badge_expires_ms.is_none_or(|e| now_ms < e)
    }
}

/// An issued credential. Holds hashes only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credential {
    /// Id.
    pub id: String,
    /// Holder.
    pub person: String,
    /// Kind.
    pub kind: CredentialKind,
    /// Status.
    pub status: CredentialStatus,
    /// Keyed hash of the card number.
    pub card_hash: Option<CredHash>,
    /// Last four characters of the card number.
    pub card_last4: Option<String>,
    /// Keyed hash of the PIN.
    pub pin_hash: Option<CredHash>,
    /// Expiry.
    pub expires_ms: Option<i64>,
    /// When issued.
    pub issued_ms: i64,
}

impl Credential {
    /// Whether usable at `now_ms`: active and not past its expiry.
    pub fn usable(&self, now_ms: i64) -> bool {
        self.status == CredentialStatus::Active && self.expires_ms.is_none_or(|e| now_ms < e)
    }
}

/// A registered secret and who knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Secret {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Kind.
    pub kind: SecretKind,
    /// The area it opens.
    pub area: Option<String>,
    /// Who knows it.
    pub holders: BTreeSet<String>,
    /// When it was last changed (or registered).
    pub changed_ms: i64,
}

/// A lockdown in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lockdown {
    /// Since when.
    pub since_ms: i64,
    /// Why.
    pub reason: String,
}

/// An agent waiting for a second at a two-person door, or a visitor waiting for an escort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Person id.
    pub person: String,
    /// Credential id.
    pub credential: Option<String>,
    /// How they authenticated.
    pub method: Option<Method>,
    /// Reader id.
    pub reader: Option<String>,
    /// When they badged.
    pub at_ms: i64,
}

/// A recent grant at a door (escorts are found here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentGrant {
    /// Person id.
    pub person: String,
    /// Their category.
    pub category: Option<PersonCategory>,
    /// When.
    pub at_ms: i64,
}

/// An emergency admission of a person not on the approved vendor list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAdmit {
    /// Door id.
    pub door: String,
    /// Approver.
    pub approver: String,
    /// Until when.
    pub until_ms: i64,
}

/// What [`AccessState::apply`] did with a fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The state changed (or the fact was one of ours with no effect on state).
    Applied,
    /// Not an access fact.
    Ignored,
    /// One of our kinds with an unreadable payload; nothing changed.
    Malformed(String),
}

/// The whole access-control state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccessState {
    people: BTreeMap<String, Person>,
    credentials: BTreeMap<String, Credential>,
    /// Non-revoked credentials by card hash.
    cards: HashMap<CredHash, String>,
    /// Non-revoked credentials by PIN hash.
    pins: HashMap<CredHash, String>,
    /// The last revoked credential per card hash (so a revoked card is told apart from an unknown one).
    revoked_cards: HashMap<CredHash, String>,
    /// The last revoked credential per PIN hash.
    revoked_pins: HashMap<CredHash, String>,
    secrets: BTreeMap<String, Secret>,
    lockdown: Option<Lockdown>,
    credentials_issued: u64,
    // ----- short-lived decision state, by door id or reader id -----
    pending_second: HashMap<String, Vec<Pending>>,
    pending_escort: HashMap<String, Vec<Pending>>,
    recent_grants: HashMap<String, VecDeque<RecentGrant>>,
    unknown_cards: HashMap<String, VecDeque<i64>>,
    unknown_card_alarm: HashMap<String, i64>,
    pin_failures: HashMap<String, u32>,
    keypad_lockouts: HashMap<String, i64>,
    emergency_admits: HashMap<String, EmergencyAdmit>,
    // ----- occupancy -----
    locations: HashMap<String, String>,
    occupancy: HashMap<String, u32>,
    anonymous: HashMap<String, u32>,
    facts_applied: u64,
}

impl AccessState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replays facts into a fresh state.
    pub fn from_facts<'a>(facts: impl IntoIterator<Item = &'a Fact>) -> Self {
        let mut s = Self::new();
        for f in facts {
            s.apply(f);
        }
        s
    }

    /// Applies each fact in order.
    pub fn apply_all<'a>(&mut self, facts: impl IntoIterator<Item = &'a Fact>) {
        for f in facts {
            self.apply(f);
        }
    }

    // ----- queries -----

    /// A person by id.
    pub fn person(&self, id: &str) -> Option<&Person> {
        self.people.get(id)
    }
    /// All people, by id.
    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.people.values()
    }
    /// A credential by id.
    pub fn credential(&self, id: &str) -> Option<&Credential> {
        self.credentials.get(id)
    }
    /// All credentials, by id.
    pub fn credentials(&self) -> impl Iterator<Item = &Credential> {
        self.credentials.values()
    }
    /// The non-revoked credential holding this card hash.
    pub fn credential_by_card(&self, h: &CredHash) -> Option<&Credential> {
        self.cards.get(h).and_then(|id| self.credentials.get(id))
    }
    /// The non-revoked credential holding this PIN hash.
    pub fn credential_by_pin(&self, h: &CredHash) -> Option<&Credential> {
        self.pins.get(h).and_then(|id| self.credentials.get(id))
    }
    /// The last revoked credential that held this card hash, if no live one holds it.
    pub fn revoked_by_card(&self, h: &CredHash) -> Option<&Credential> {
        self.revoked_cards
            .get(h)
            .and_then(|id| self.credentials.get(id))
    }
    /// The last revoked credential that held this PIN hash, if no live one holds it.
    pub fn revoked_by_pin(&self, h: &CredHash) -> Option<&Credential> {
        self.revoked_pins
            .get(h)
            .and_then(|id| self.credentials.get(id))
    }
    /// A secret by id.
    pub fn secret(&self, id: &str) -> Option<&Secret> {
        self.secrets.get(id)
    }
    /// All secrets, by id.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.secrets.values()
    }
    /// The lockdown in force.
    pub fn lockdown(&self) -> Option<&Lockdown> {
        self.lockdown.as_ref()
    }
    /// The id the next issued credential gets.
    pub fn next_credential_id(&self) -> String {
        format!("c-{}", self.credentials_issued + 1)
    }
    /// How many facts of ours were applied.
    pub fn facts_applied(&self) -> u64 {
        self.facts_applied
    }
    /// Agents pending a second at `door`, oldest first.
    pub fn pending_second(&self, door: &str) -> &[Pending] {
        self.pending_second.get(door).map_or(&[], Vec::as_slice)
    }
    /// People pending an escort at `door`, oldest first.
    pub fn pending_escort(&self, door: &str) -> &[Pending] {
        self.pending_escort.get(door).map_or(&[], Vec::as_slice)
    }
    /// Recent grants at `door`, oldest first.
    pub fn recent_grants(&self, door: &str) -> impl DoubleEndedIterator<Item = &RecentGrant> {
        self.recent_grants.get(door).into_iter().flatten()
    }
    /// Unknown-card reads at `reader` at or after `since_ms`.
    pub fn unknown_cards_since(&self, reader: &str, since_ms: i64) -> u32 {
        self.unknown_cards.get(reader).map_or(0, |q| {
            u32::try_from(q.iter().rev().take_while(|&&t| t >= since_ms).count())
                .unwrap_or(u32::MAX)
        })
    }
    /// When the last unknown-card alarm at `reader` was raised.
    pub fn unknown_card_alarm_at(&self, reader: &str) -> Option<i64> {
        self.unknown_card_alarm.get(reader).copied()
    }
    /// Wrong PINs in a row at `reader`.
    pub fn pin_failures(&self, reader: &str) -> u32 {
        self.pin_failures.get(reader).copied().unwrap_or(0)
    }
    /// The end of the keypad lockout at `reader`, if one was recorded and not cleared.
    pub fn keypad_locked_until(&self, reader: &str) -> Option<i64> {
        self.keypad_lockouts.get(reader).copied()
    }
    /// An emergency admission of `person`.
    pub fn emergency_admit(&self, person: &str) -> Option<&EmergencyAdmit> {
        self.emergency_admits.get(person)
    }
    /// The area `person` was last seen entering.
    pub fn location(&self, person: &str) -> Option<&str> {
        self.locations.get(person).map(String::as_str)
    }
    /// People in `area`: tracked people plus anonymous admissions.
    pub fn occupancy(&self, area: &str) -> u32 {
        self.occupancy.get(area).copied().unwrap_or(0)
            + self.anonymous.get(area).copied().unwrap_or(0)
    }
    /// Tracked people in `area`, by id.
    pub fn people_in(&self, area: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .locations
            .iter()
            .filter(|(_, a)| a.as_str() == area)
            .map(|(p, _)| p.as_str())
            .collect();
        v.sort_unstable();
        v
    }
    /// Whether `h` is held as a card by a credential that is not revoked.
    pub fn card_in_use(&self, h: &CredHash) -> bool {
        self.cards.contains_key(h)
    }
    /// Whether `h` is held as a PIN by a credential that is not revoked.
    pub fn pin_in_use(&self, h: &CredHash) -> bool {
        self.pins.contains_key(h)
    }

    // ----- apply -----

    /// Applies one fact.
    pub fn apply(&mut self, fact: &Fact) -> Applied {
        let r = self.apply_inner(fact);
        match r {
            Ok(true) => {
                self.facts_applied += 1;
                Applied::Applied
            }
            Ok(false) => Applied::Ignored,
            Err(e) => Applied::Malformed(format!("{}: {e}", fact.kind)),
        }
    }

    fn apply_inner(&mut self, fact: &Fact) -> Result<bool, String> {
        let t = fact.time_ms;
        let e = |e: serde_json::Error| e.to_string();
        match fact.kind.as_str() {
            k::PERSON_ADDED => {
                let a: p::PersonAdded = from_fact(fact).map_err(e)?;
                if self.people.contains_key(&a.person) {
                    return Err(format!("person {:?} already exists", a.person));
                }
                let vendor = a.category.needs_vendor_approval().then(|| VendorInfo {
                    status: VendorStatus::Pending,
                    approval_ref: None,
                    company: a.company.clone(),
                    service_type: a.service_type.clone(),
                    contact: a.contact.clone(),
                    changed_ms: t,
                });
                self.people.insert(
                    a.person.clone(),
                    Person {
                        id: a.person,
                        category: a.category,
                        name: a.name,
                        status: PersonStatus::Active,
                        roles: a.roles.into_iter().collect(),
                        agent_id: a.agent_id,
                        badge_expires_ms: a.badge_expires_ms,
                        vendor,
                        authorizations: BTreeMap::new(),
                        credentials: BTreeSet::new(),
                        added_ms: t,
                    },
                );
            }
            k::PERSON_UPDATED => {
                let u: p::PersonUpdated = from_fact(fact).map_err(e)?;
                let person = self.person_mut(&u.person)?;
                if let Some(n) = u.name {
                    person.name = n;
                }
                if let Some(r) = u.roles {
                    person.roles = r.into_iter().collect();
                }
                if let Some(a) = u.agent_id {
                    person.agent_id = Some(a);
                }
                if let Some(b) = u.badge_expires_ms {
                    person.badge_expires_ms = Some(b);
                }
            }
            k::PERSON_STATUS_CHANGED => {
                let c: p::PersonStatusChanged = from_fact(fact).map_err(e)?;
                let person = self.person_mut(&c.person)?;
                person.status = c.status;
                if c.status != PersonStatus::Active {
                    self.forget_pending(&c.person);
                }
            }
            k::CREDENTIAL_ISSUED => {
                let c: p::CredentialIssued = from_fact(fact).map_err(e)?;
                if self.credentials.contains_key(&c.credential) {
                    return Err(format!("credential {:?} already exists", c.credential));
                }
                self.person_mut(&c.person)?
                    .credentials
                    .insert(c.credential.clone());
                if let Some(h) = c.card_hash {
                    self.cards.insert(h, c.credential.clone());
                    self.revoked_cards.remove(&h);
                }
                if let Some(h) = c.pin_hash {
                    self.pins.insert(h, c.credential.clone());
                    self.revoked_pins.remove(&h);
                }
                self.credentials_issued += 1;
                self.credentials.insert(
                    c.credential.clone(),
                    Credential {
                        id: c.credential,
                        person: c.person,
                        kind: c.kind,
                        status: CredentialStatus::Active,
                        card_hash: c.card_hash,
                        card_last4: c.card_last4,
                        pin_hash: c.pin_hash,
                        expires_ms: c.expires_ms,
                        issued_ms: t,
                    },
                );
            }
            k::CREDENTIAL_SUSPENDED
            | k::CREDENTIAL_REINSTATED
            | k::CREDENTIAL_REVOKED
            | k::CREDENTIAL_EXPIRED => {
                let c: p::CredentialChanged = from_fact(fact).map_err(e)?;
                let status = match fact.kind.as_str() {
                    k::CREDENTIAL_SUSPENDED => CredentialStatus::Suspended,
                    k::CREDENTIAL_REINSTATED => CredentialStatus::Active,
                    k::CREDENTIAL_REVOKED => CredentialStatus::Revoked,
                    _ => CredentialStatus::Expired,
                };
                let cred = self
                    .credentials
                    .get_mut(&c.credential)
                    .ok_or_else(|| format!("unknown credential {:?}", c.credential))?;
                cred.status = status;
                if status == CredentialStatus::Revoked {
                    let (card, pin, id) = (cred.card_hash, cred.pin_hash, cred.id.clone());
                    for (map, revoked, h) in [
                        (&mut self.cards, &mut self.revoked_cards, card),
                        (&mut self.pins, &mut self.revoked_pins, pin),
                    ] {
                        if let Some(h) = h
                            && map.get(&h) == Some(&id)
                        {
                            map.remove(&h);
                            revoked.insert(h, id.clone());
                        }
                    }
                }
            }
            k::AREA_AUTHORIZED => {
                let a: p::AreaAuthorized = from_fact(fact).map_err(e)?;
                self.person_mut(&a.person)?.authorizations.insert(
                    a.area,
                    Authorization {
                        schedule: a.schedule,
                        valid_until_ms: a.valid_until_ms,
                        granted_ms: t,
                    },
                );
            }
            k::AREA_DEAUTHORIZED => {
                let a: p::AreaDeauthorized = from_fact(fact).map_err(e)?;
                self.person_mut(&a.person)?.authorizations.remove(&a.area);
            }
            k::VENDOR_APPROVED | k::VENDOR_REMOVED => {
                let (person, status, approval) = if fact.kind == k::VENDOR_APPROVED {
                    let v: p::VendorApproved = from_fact(fact).map_err(e)?;
                    (v.person, VendorStatus::Approved, Some(v.approval_ref))
                } else {
                    let v: p::VendorRemoved = from_fact(fact).map_err(e)?;
                    (v.person, VendorStatus::Removed, None)
                };
                let person = self.person_mut(&person)?;
                let v = person.vendor.get_or_insert(VendorInfo {
                    status,
                    approval_ref: None,
                    company: None,
                    service_type: None,
                    contact: None,
                    changed_ms: t,
                });
                v.status = status;
                v.changed_ms = t;
                if approval.is_some() {
                    v.approval_ref = approval;
                }
            }
            k::SECRET_REGISTERED => {
                let s: p::SecretRegistered = from_fact(fact).map_err(e)?;
                self.secrets.insert(
                    s.secret.clone(),
                    Secret {
                        id: s.secret,
                        label: s.label,
                        kind: s.kind,
                        area: s.area,
                        holders: BTreeSet::new(),
                        changed_ms: t,
                    },
                );
            }
            k::SECRET_HOLDER_ADDED | k::SECRET_HOLDER_REMOVED => {
                let h: p::SecretHolder = from_fact(fact).map_err(e)?;
                let secret = self
                    .secrets
                    .get_mut(&h.secret)
                    .ok_or_else(|| format!("unknown secret {:?}", h.secret))?;
                if fact.kind == k::SECRET_HOLDER_ADDED {
                    secret.holders.insert(h.person);
                } else {
                    secret.holders.remove(&h.person);
                }
            }
            k::SECRET_CHANGED => {
                let c: p::SecretChanged = from_fact(fact).map_err(e)?;
                let secret = self
                    .secrets
                    .get_mut(&c.secret)
                    .ok_or_else(|| format!("unknown secret {:?}", c.secret))?;
                secret.holders = c.holders.into_iter().collect();
                secret.changed_ms = t;
            }
            k::LOCKDOWN_STARTED => {
                let r: p::Reason = from_fact(fact).map_err(e)?;
                self.lockdown = Some(Lockdown {
                    since_ms: t,
                    reason: r.reason,
                });
            }
            k::LOCKDOWN_ENDED => {
                self.lockdown = None;
            }
            k::OCCUPANCY_RESET => {
                let r: p::OccupancyReset = from_fact(fact).map_err(e)?;
                match r.person {
                    Some(person) => self.set_location(&person, None),
                    None => {
                        self.locations.clear();
                        self.occupancy.clear();
                        self.anonymous.clear();
                    }
                }
            }
            k::KEYPAD_LOCKOUT_CLEARED => {
                let r: p::LockoutCleared = from_fact(fact).map_err(e)?;
                self.keypad_lockouts.remove(&r.reader);
                self.pin_failures.remove(&r.reader);
            }
            k::VAULT_MANUAL_ENTRY | k::TASK_OPENED | k::ALARM_DURESS | k::ALARM_PIN_BRUTE_FORCE => {
                // Records only.
            }
            k::ACCESS_GRANTED => {
                let a: p::AccessPayload = from_fact(fact).map_err(e)?;
                self.apply_grant(&a, t);
            }
            k::ACCESS_DENIED => {
                let a: p::AccessPayload = from_fact(fact).map_err(e)?;
                self.apply_denied(&a, t);
            }
            k::ACCESS_PENDING_SECOND | k::ACCESS_PENDING_ESCORT => {
                let a: p::AccessPayload = from_fact(fact).map_err(e)?;
                let (Some(door), Some(person)) = (a.door.clone(), a.person.clone()) else {
                    return Err("pending without door or person".into());
                };
                self.note_pin_result(&a);
                let map = if fact.kind == k::ACCESS_PENDING_SECOND {
                    &mut self.pending_second
                } else {
                    &mut self.pending_escort
                };
                let list = map.entry(door).or_default();
                list.retain(|q| {
                    q.person != person && t.saturating_sub(q.at_ms) <= RUNTIME_HORIZON_MS
                });
                list.push(Pending {
                    person,
                    credential: a.credential,
                    method: a.method,
                    reader: a.reader,
                    at_ms: t,
                });
            }
            k::ACCESS_EXIT => {
                let x: p::ExitPayload = from_fact(fact).map_err(e)?;
                match &x.person {
                    Some(person) => {
                        self.move_person(person, x.leaves_kind, &x.enters, x.enters_kind)
                    }
                    None => {
                        if x.leaves_kind != AreaKind::CurrencySafe
                            && let Some(n) = self.anonymous.get_mut(&x.leaves)
                        {
                            *n = n.saturating_sub(1);
                            if *n == 0 {
                                self.anonymous.remove(&x.leaves);
                            }
                        }
                    }
                }
            }
            k::ACCESS_EMERGENCY_OVERRIDE => {
                let o: p::EmergencyOverridePayload = from_fact(fact).map_err(e)?;
                self.emergency_admits.insert(
                    o.person,
                    EmergencyAdmit {
                        door: o.door,
                        approver: o.approver,
                        until_ms: o.valid_until_ms,
                    },
                );
            }
            k::ALARM_UNKNOWN_CARD_BURST => {
                let b: p::UnknownCardBurst = from_fact(fact).map_err(e)?;
                self.unknown_card_alarm.insert(b.reader, t);
            }
            k::KEYPAD_LOCKED_OUT => {
                let l: p::KeypadAlarm = from_fact(fact).map_err(e)?;
                self.keypad_lockouts
                    .insert(l.reader.clone(), l.until_ms.unwrap_or(t));
                self.pin_failures.remove(&l.reader);
            }
            k::DOOR_CONTACT
            | k::DOOR_REX
            | k::DOOR_LOCK
            | k::DOOR_FORCED
            | k::DOOR_HELD_OPEN
            | k::DOOR_LEFT_UNLOCKED
            | k::DOOR_SECURED => {
                // Door monitoring keeps its own state (`DoorMonitor`).
                return Ok(false);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn person_mut(&mut self, id: &str) -> Result<&mut Person, String> {
        self.people
            .get_mut(id)
            .ok_or_else(|| format!("unknown person {id:?}"))
    }

    fn forget_pending(&mut self, person: &str) {
        for list in self
            .pending_second
            .values_mut()
            .chain(self.pending_escort.values_mut())
        {
            list.retain(|q| q.person != person);
        }
    }

    /// A PIN verified at a reader resets its wrong-PIN count.
    fn note_pin_result(&mut self, a: &p::AccessPayload) {
        if let (Some(reader), Some(m)) = (&a.reader, a.method)
            && m.used_pin()
        {
            self.pin_failures.remove(reader);
        }
    }

    fn apply_grant(&mut self, a: &p::AccessPayload, t: i64) {
        self.note_pin_result(a);
        let Some(door) = &a.door else { return };
        if let Some(person) = &a.person {
            for map in [&mut self.pending_second, &mut self.pending_escort] {
                if let Some(list) = map.get_mut(door) {
                    list.retain(|q| {
                        &q.person != person && t.saturating_sub(q.at_ms) <= RUNTIME_HORIZON_MS
                    });
                    if list.is_empty() {
                        map.remove(door);
                    }
                }
            }
            let q = self.recent_grants.entry(door.clone()).or_default();
            while q
                .front()
                .is_some_and(|g| t.saturating_sub(g.at_ms) > RUNTIME_HORIZON_MS)
                || q.len() >= RECENT_GRANTS_MEMORY
            {
                q.pop_front();
            }
            q.push_back(RecentGrant {
                person: person.clone(),
                category: a.category,
                at_ms: t,
            });
            if let (Some(enters), Some(ek), Some(lk)) = (&a.enters, a.enters_kind, a.leaves_kind) {
                self.move_person(person, lk, enters, ek);
            }
        } else if let (Some(enters), Some(ek), Some(n)) = (&a.enters, a.enters_kind, a.admits)
            && ek != AreaKind::CurrencySafe
            && n > 0
            && a.direction == Some(Direction::In)
        {
            *self.anonymous.entry(enters.clone()).or_default() += n;
        }
    }

    fn apply_denied(&mut self, a: &p::AccessPayload, t: i64) {
        use crate::decide::DenyReason as R;
        match (a.reason, &a.reader) {
            (Some(R::UnknownCard), Some(reader)) => {
                let q = self.unknown_cards.entry(reader.clone()).or_default();
                while q
                    .front()
                    .is_some_and(|&x| t.saturating_sub(x) > RUNTIME_HORIZON_MS)
                    || q.len() >= UNKNOWN_CARD_MEMORY
                {
                    q.pop_front();
                }
                q.push_back(t);
            }
            (Some(R::WrongPin), Some(reader)) => {
                *self.pin_failures.entry(reader.clone()).or_default() += 1;
            }
            (Some(R::KeypadLockedOut), _) => {}
            _ => self.note_pin_result(a),
        }
    }

    /// Moves a person into `enters`. Opening a currency safe does not move anyone (the safe is a box
    /// inside the vault, not a room).
    fn move_person(&mut self, person: &str, lk: AreaKind, enters: &str, ek: AreaKind) {
        if ek == AreaKind::CurrencySafe || lk == AreaKind::CurrencySafe {
            return;
        }
        self.set_location(person, Some(enters));
    }

    fn set_location(&mut self, person: &str, area: Option<&str>) {
        if let Some(old) = self.locations.remove(person)
            && let Some(n) = self.occupancy.get_mut(&old)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.occupancy.remove(&old);
            }
        }
        if let Some(area) = area {
            self.locations.insert(person.to_owned(), area.to_owned());
            *self.occupancy.entry(area.to_owned()).or_default() += 1;
        }
    }
}
