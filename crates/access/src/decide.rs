//! The decision engine: `(site, state, request, now) → decision + facts`.
//!
//! [`decide`] reads the state and returns a [`Decision`]; it changes nothing. The caller journals
//! `decision.facts` and applies them to the state (which is how a pending vault badge, an escort, a
//! wrong PIN or an entry is remembered for the next request).
//!
//! The chain for a credential at a reader ([`Request::Present`]):
//! 1. reader known; keypad not locked out (PIN requests only);
//! 2. identify: card → credential (unknown card: deny, record, maybe raise a burst alarm); PIN → the
//!    card holder's PIN or duress PIN, or a PIN credential (wrong PIN: deny, count, maybe lock the
//!    keypad out and raise an alarm); a duress PIN raises `alarm.duress` silently and otherwise
//!    behaves exactly like the person's normal PIN;
//! 3. factors: a card+PIN credential needs both; a card-and-PIN door refuses a single factor;
//! 4. credential(s) active and unexpired; person active; agent badge current;
//! 5. exits (out readers) are granted here;
//! 6. entries: lockdown, area authorization, its validity and schedule, vendor approval (or an
//!    emergency admission), anti-passback, capacity;
//! 7. escorts: a visitor, vendor or service professional entering a secured area needs an agent
//!    granted at the same door within `policy.escort_window_s` (either order);
//! 8. two-person doors (vault): the first agent is pending, a second, different agent within
//!    `policy.vault_dual_auth_window_s` (inclusive) grants both.
//!
//! The reader's feedback depends only on the outcome: a duress entry looks exactly like a normal one
//! at the door.
use std::fmt;

use serde::{Deserialize, Serialize};
use strongroom_domain::site::{AreaKind, Direction};
use strongroom_domain::{Actor, Fact};

use crate::hash::{CredHash, card_last4, normalize_card, valid_pin};
use crate::kinds as k;
use crate::model::{CredentialKind, CredentialStatus, Method, PersonCategory, PersonStatus};
use crate::payload::{self as p, AccessPayload, Source, to_fact};
use crate::site::{AccessSite, DoorInfo, ReaderInfo};
use crate::state::{AccessState, Credential, Person};

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// The reader is not in the site file.
    UnknownReader,
    /// The door is not in the site file.
    UnknownDoor,
    /// The person is not registered.
    UnknownPerson,
    /// Neither card nor PIN, or an empty field.
    MalformedRequest,
    /// No credential holds this card.
    UnknownCard,
    /// The PIN is not the card holder's, or no credential holds it.
    WrongPin,
    /// The keypad is locked out after too many wrong PINs.
    KeypadLockedOut,
    /// The card needs its PIN.
    PinRequired,
    /// The PIN belongs to a card+PIN credential: the card is needed too.
    CardRequired,
    /// The door needs card and PIN.
    SecondFactorRequired,
    /// The credential is suspended.
    CredentialSuspended,
    /// The credential is expired.
    CredentialExpired,
    /// The credential was revoked.
    CredentialRevoked,
    /// The person is suspended.
    PersonSuspended,
    /// The person is terminated.
    PersonTerminated,
    /// The person's agent / employee ID badge has expired.
    BadgeExpired,
    /// No authorization for the area.
    NotAuthorized,
    /// The authorization's schedule does not admit now.
    OutsideSchedule,
    /// The authorization is past its `valid_until_ms`.
    AuthorizationExpired,
    /// Not (or no longer) on the approved vendor list.
    VendorNotApproved,
    /// A lockdown is in force.
    Lockdown,
    /// The area is at capacity.
    AtCapacity,
    /// Already inside (anti-passback).
    AntiPassback,
    /// An emergency override without a recorded good-faith attempt.
    GoodFaithAttemptRequired,
    /// The emergency override's approver is not an active agent authorised for the area.
    ApproverNotAuthorized,
}

impl DenyReason {
    /// Name as in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::UnknownReader => "unknown_reader",
            DenyReason::UnknownDoor => "unknown_door",
            DenyReason::UnknownPerson => "unknown_person",
            DenyReason::MalformedRequest => "malformed_request",
            DenyReason::UnknownCard => "unknown_card",
            DenyReason::WrongPin => "wrong_pin",
            DenyReason::KeypadLockedOut => "keypad_locked_out",
            DenyReason::PinRequired => "pin_required",
            DenyReason::CardRequired => "card_required",
            DenyReason::SecondFactorRequired => "second_factor_required",
            DenyReason::CredentialSuspended => "credential_suspended",
            DenyReason::CredentialExpired => "credential_expired",
            DenyReason::CredentialRevoked => "credential_revoked",
            DenyReason::PersonSuspended => "person_suspended",
            DenyReason::PersonTerminated => "person_terminated",
            DenyReason::BadgeExpired => "badge_expired",
            DenyReason::NotAuthorized => "not_authorized",
            DenyReason::OutsideSchedule => "outside_schedule",
            DenyReason::AuthorizationExpired => "authorization_expired",
            DenyReason::VendorNotApproved => "vendor_not_approved",
            DenyReason::Lockdown => "lockdown",
            DenyReason::AtCapacity => "at_capacity",
            DenyReason::AntiPassback => "anti_passback",
            DenyReason::GoodFaithAttemptRequired => "good_faith_attempt_required",
            DenyReason::ApproverNotAuthorized => "approver_not_authorized",
        }
    }
}

/// What a pending request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingKind {
    /// A second, different agent at a two-person door.
    SecondAgent,
    /// An escorting agent.
    Escort,
}

/// The result of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Unlock the door.
    Grant,
    /// Keep the door locked; a later request may complete this one.
    Pending(PendingKind),
    /// Keep the door locked.
    Deny(DenyReason),
}

/// What the reader shows. Depends only on the outcome (never on duress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReaderFeedback {
    /// Green / grant beep.
    Granted,
    /// Red / deny beep.
    Denied,
    /// Nothing (pending, or no reader involved).
    None,
}

/// A decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Grant, pending or deny.
    pub outcome: Outcome,
    /// Facts to journal, then apply to the state.
    pub facts: Vec<Fact>,
    /// What the reader shows.
    pub reader_feedback: ReaderFeedback,
}

impl Decision {
    fn new(outcome: Outcome, facts: Vec<Fact>, at_reader: bool) -> Decision {
        let reader_feedback = match (outcome, at_reader) {
            (_, false) | (Outcome::Pending(_), _) => ReaderFeedback::None,
            (Outcome::Grant, true) => ReaderFeedback::Granted,
            (Outcome::Deny(_), true) => ReaderFeedback::Denied,
        };
        Decision {
            outcome,
            facts,
            reader_feedback,
        }
    }
    /// Whether the door opens.
    pub fn is_grant(&self) -> bool {
        self.outcome == Outcome::Grant
    }
    /// The deny reason, if denied.
    pub fn deny_reason(&self) -> Option<DenyReason> {
        match self.outcome {
            Outcome::Deny(r) => Some(r),
            _ => None,
        }
    }
}

/// A credential presented at a reader. `Debug` never prints the card number or PIN.
#[derive(Clone, PartialEq, Eq)]
pub struct Presentation {
    /// Reader id.
    pub reader: String,
    /// Card number as read (the adapter's normal form: decimal, or hex of the raw bits).
    pub card: Option<String>,
    /// PIN digits (the adapter collects a card read and the keypad digits that follow into one
    /// presentation).
    pub pin: Option<String>,
    /// Where it came from.
    pub source: Source,
}

impl fmt::Debug for Presentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presentation")
            .field("reader", &self.reader)
            .field(
                "card",
                &self.card.as_ref().map(|c| format!("…{}", card_last4(c))),
            )
            .field("pin", &self.pin.as_ref().map(|_| "****"))
            .field("source", &self.source)
            .finish()
    }
}

/// The record of a good-faith attempt to get the regulator's pre-approval (IL 1291.300(h)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodFaithAttempt {
    /// When.
    pub time_ms: i64,
    /// How (phone, email, portal).
    pub channel: String,
    /// Whom.
    pub contact: String,
}

/// An emergency override admitting a person not on the approved vendor list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyOverride {
    /// Door id.
    pub door: String,
    /// The person admitted.
    pub person: String,
    /// The agent approving (and escorting).
    pub approver: String,
    /// The emergency.
    pub description: String,
    /// The good-faith attempt; required.
    pub good_faith: Option<GoodFaithAttempt>,
}

/// Where an exit was reported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitSource {
    /// Request-to-exit button.
    Rex,
    /// A controller reported it over the API.
    Api,
}

/// Something to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A card and/or PIN at a reader.
    Present(Presentation),
    /// Someone left through a door (REX or a reported exit); updates occupancy.
    Exit {
        /// Door id.
        door: String,
        /// Who, when known.
        person: Option<String>,
        /// Where it was reported from.
        source: ExitSource,
    },
    /// An emergency override (IL 1291.300(h)).
    EmergencyOverride(EmergencyOverride),
    /// A staff release from the console (AC-01), optionally admitting anonymous people (customers
    /// after check-in) who count toward the area's capacity.
    StaffRelease {
        /// Door id.
        door: String,
        /// Console user.
        user: String,
        /// Why.
        reason: String,
        /// Anonymous people admitted.
        admits: u32,
    },
}

/// Decides a request. Pure: reads `state`, returns facts for the caller to journal and apply.
pub fn decide(site: &AccessSite, state: &AccessState, req: &Request, now_ms: i64) -> Decision {
    match req {
        Request::Present(pr) => present(site, state, pr, now_ms),
        Request::Exit {
            door,
            person,
            source,
        } => exit(site, door, person.as_deref(), *source, now_ms),
        Request::EmergencyOverride(o) => emergency(site, state, o, now_ms),
        Request::StaffRelease {
            door,
            user,
            reason,
            admits,
        } => staff_release(site, state, door, user, reason, *admits, now_ms),
    }
}

// ----- presentation -----

/// Who was identified and how.
struct Ident<'a> {
    person: &'a Person,
    /// The credential named in the access facts.
    credential: &'a Credential,
    /// Every credential that took part (card and PIN), all of which must be usable.
    used: Vec<&'a Credential>,
    method: Method,
    duress: Option<&'a Credential>,
}

struct Ctx<'a> {
    site: &'a AccessSite,
    state: &'a AccessState,
    reader: &'a ReaderInfo,
    door: &'a DoorInfo,
    source: Source,
    now: i64,
}

impl Ctx<'_> {
    fn base(&self) -> AccessPayload {
        let (enters, ek, leaves, lk) = match self.reader.direction {
            Direction::In => (
                &self.door.to,
                self.door.to_kind,
                &self.door.from,
                self.door.from_kind,
            ),
            Direction::Out => (
                &self.door.from,
                self.door.from_kind,
                &self.door.to,
                self.door.to_kind,
            ),
        };
        AccessPayload {
            reader: Some(self.reader.id.clone()),
            source: Some(self.source),
            door: Some(self.door.id.clone()),
            direction: Some(self.reader.direction),
            enters: Some(enters.clone()),
            enters_kind: Some(ek),
            leaves: Some(leaves.clone()),
            leaves_kind: Some(lk),
            ..AccessPayload::default()
        }
    }

    fn who(
        &self,
        person: &Person,
        credential: Option<&Credential>,
        method: Option<Method>,
    ) -> AccessPayload {
        AccessPayload {
            person: Some(person.id.clone()),
            category: Some(person.category),
            credential: credential.map(|c| c.id.clone()),
            method,
            ..self.base()
        }
    }

    fn fact(&self, kind: &str, payload: &AccessPayload) -> Fact {
        to_fact(
            kind,
            Actor::Device(self.reader.id.clone()),
            self.now,
            payload,
        )
    }

    fn deny(
        &self,
        mut facts: Vec<Fact>,
        reason: DenyReason,
        mut payload: AccessPayload,
    ) -> Decision {
        payload.reason = Some(reason);
        facts.push(self.fact(k::ACCESS_DENIED, &payload));
        Decision::new(Outcome::Deny(reason), facts, true)
    }
}

fn present(site: &AccessSite, state: &AccessState, pr: &Presentation, now: i64) -> Decision {
    let Some(reader) = site.reader(&pr.reader) else {
        let payload = AccessPayload {
            reader: Some(pr.reader.chars().take(64).collect()),
            source: Some(pr.source),
            reason: Some(DenyReason::UnknownReader),
            ..AccessPayload::default()
        };
        let f = to_fact(k::ACCESS_DENIED, Actor::System, now, &payload);
        return Decision::new(Outcome::Deny(DenyReason::UnknownReader), vec![f], false);
    };
    let Some(door) = site.door_at(reader.door) else {
        return Decision::new(Outcome::Deny(DenyReason::UnknownDoor), Vec::new(), false);
    };
    let cx = Ctx {
        site,
        state,
        reader,
        door,
        source: pr.source,
        now,
    };
    let card = pr.card.as_deref().filter(|c| !c.trim().is_empty());
    let pin = pr.pin.as_deref().filter(|c| !c.is_empty());
    if card.is_none() && pin.is_none() {
        return cx.deny(Vec::new(), DenyReason::MalformedRequest, cx.base());
    }
    if pin.is_some()
        && state
            .keypad_locked_until(&reader.id)
            .is_some_and(|u| now < u)
    {
        return cx.deny(Vec::new(), DenyReason::KeypadLockedOut, cx.base());
    }
    let ident = match identify(&cx, card, pin) {
        Ok(i) => i,
        Err(d) => return d,
    };
    let mut facts = Vec::new();
    if let Some(dc) = ident.duress {
        let d = p::DuressPayload {
            reader: reader.id.clone(),
            door: door.id.clone(),
            person: ident.person.id.clone(),
            credential: dc.id.clone(),
            silent: true,
        };
        facts.push(to_fact(
            k::ALARM_DURESS,
            Actor::Device(reader.id.clone()),
            now,
            &d,
        ));
    }
    let who = cx.who(ident.person, Some(ident.credential), Some(ident.method));
    for c in &ident.used {
        if let Err(r) = credential_check(c, now) {
            return cx.deny(facts, r, who);
        }
    }
    if let Err(r) = person_check(ident.person, now) {
        return cx.deny(facts, r, who);
    }
    if reader.direction == Direction::Out {
        facts.push(cx.fact(k::ACCESS_GRANTED, &who));
        return Decision::new(Outcome::Grant, facts, true);
    }
    if let Err(r) = entry_check(site, state, ident.person, door, now, 1) {
        return cx.deny(facts, r, who);
    }
    let needs_escort = door.is_restricted()
        && (ident.person.category.needs_escort()
            || (door.two_person && ident.person.category != PersonCategory::Agent));
    if needs_escort {
        let window = i64::from(site.policy.escort_window_s) * 1000;
        let escort = state.recent_grants(&door.id).rev().find(|g| {
            now.saturating_sub(g.at_ms) <= window
                && now >= g.at_ms
                && g.category == Some(PersonCategory::Agent)
                && g.person != ident.person.id
                && state
                    .person(&g.person)
                    .is_some_and(|e| person_check(e, now).is_ok())
        });
        return match escort {
            Some(g) => {
                facts.push(cx.fact(
                    k::ACCESS_GRANTED,
                    &AccessPayload {
                        escort: Some(g.person.clone()),
                        ..who
                    },
                ));
                Decision::new(Outcome::Grant, facts, true)
            }
            None => {
                facts.push(cx.fact(k::ACCESS_PENDING_ESCORT, &who));
                Decision::new(Outcome::Pending(PendingKind::Escort), facts, true)
            }
        };
    }
    let mut entering = 1;
    if door.two_person {
        let window = i64::from(site.policy.vault_dual_auth_window_s) * 1000;
        let first = state.pending_second(&door.id).iter().rev().find_map(|q| {
            if now.saturating_sub(q.at_ms) > window || now < q.at_ms || q.person == ident.person.id
            {
                return None;
            }
            let fp = state.person(&q.person)?;
            if fp.category != PersonCategory::Agent {
                return None;
            }
            if let Some(cid) = &q.credential
                && state
                    .credential(cid)
                    .is_none_or(|c| credential_check(c, now).is_err())
            {
                return None;
            }
            entry_check(site, state, fp, door, now, 1).ok()?;
            Some((q, fp))
        });
        let Some((q, fp)) = first else {
            facts.push(cx.fact(k::ACCESS_PENDING_SECOND, &who));
            return Decision::new(Outcome::Pending(PendingKind::SecondAgent), facts, true);
        };
        // Both go in together: the area must hold both.
        if let Err(r) = entry_check(site, state, ident.person, door, now, 2)
            .and_then(|()| entry_check(site, state, fp, door, now, 2))
        {
            return cx.deny(facts, r, who);
        }
        // Both grants carry the same time; the first agent's keeps the reader it badged at.
        let first_grant = AccessPayload {
            reader: q.reader.clone().or_else(|| Some(reader.id.clone())),
            person: Some(fp.id.clone()),
            category: Some(fp.category),
            credential: q.credential.clone(),
            method: q.method,
            dual_with: Some(ident.person.id.clone()),
            first_presented_ms: Some(q.at_ms),
            ..cx.base()
        };
        facts.push(cx.fact(k::ACCESS_GRANTED, &first_grant));
        facts.push(cx.fact(
            k::ACCESS_GRANTED,
            &AccessPayload {
                dual_with: Some(fp.id.clone()),
                first_presented_ms: Some(q.at_ms),
                ..who
            },
        ));
        entering = 2;
    } else {
        facts.push(cx.fact(k::ACCESS_GRANTED, &who));
    }
    // An agent's grant completes escorts waiting at this door.
    if ident.person.category == PersonCategory::Agent && door.is_restricted() {
        let window = i64::from(site.policy.escort_window_s) * 1000;
        for q in state.pending_escort(&door.id) {
            if now.saturating_sub(q.at_ms) > window || now < q.at_ms || q.person == ident.person.id
            {
                continue;
            }
            let Some(vp) = state.person(&q.person) else {
                continue;
            };
            let cred = q.credential.as_deref().and_then(|c| state.credential(c));
            if cred.is_some_and(|c| credential_check(c, now).is_err()) {
                continue;
            }
            if entry_check(site, state, vp, door, now, entering + 1).is_err() {
                continue;
            }
            entering += 1;
            facts.push(cx.fact(
                k::ACCESS_GRANTED,
                &AccessPayload {
                    reader: q.reader.clone().or_else(|| Some(reader.id.clone())),
                    person: Some(vp.id.clone()),
                    category: Some(vp.category),
                    credential: q.credential.clone(),
                    method: q.method,
                    escort: Some(ident.person.id.clone()),
                    ..cx.base()
                },
            ));
        }
    }
    Decision::new(Outcome::Grant, facts, true)
}

/// Finds the person behind a card and/or PIN.
fn identify<'a>(
    cx: &Ctx<'a>,
    card: Option<&str>,
    pin: Option<&str>,
) -> Result<Ident<'a>, Decision> {
    let state = cx.state;
    let secret = &cx.site.secret;
    let pin_hash = pin.filter(|p| valid_pin(p)).map(|p| secret.hash_pin(p));
    match card {
        Some(raw) => {
            let normal = normalize_card(raw);
            let h = match &normal {
                Some(n) => secret.hash_card(n),
                None => secret.hash_card(&raw.chars().take(64).collect::<String>()),
            };
            let Some(cred) = state.credential_by_card(&h) else {
                if let Some(old) = state.revoked_by_card(&h)
                    && let Some(person) = state.person(&old.person)
                {
                    return Err(cx.deny(
                        Vec::new(),
                        DenyReason::CredentialRevoked,
                        cx.who(person, Some(old), Some(Method::Card)),
                    ));
                }
                return Err(unknown_card(cx, h, normal.as_deref()));
            };
            let person = state
                .person(&cred.person)
                .ok_or_else(|| cx.deny(Vec::new(), DenyReason::UnknownCard, cx.base()))?;
            match pin {
                None => {
                    if cred.kind == CredentialKind::CardPin {
                        return Err(cx.deny(
                            Vec::new(),
                            DenyReason::PinRequired,
                            cx.who(person, Some(cred), Some(Method::Card)),
                        ));
                    }
                    if cx.door.card_and_pin && cx.reader.direction == Direction::In {
                        return Err(cx.deny(
                            Vec::new(),
                            DenyReason::SecondFactorRequired,
                            cx.who(person, Some(cred), Some(Method::Card)),
                        ));
                    }
                    Ok(Ident {
                        person,
                        credential: cred,
                        used: vec![cred],
                        method: Method::Card,
                        duress: None,
                    })
                }
                Some(_) => {
                    // The PIN must be one of the card holder's own PIN-bearing credentials.
                    let pc = pin_hash.as_ref().and_then(|h| state.credential_by_pin(h));
                    match pc {
                        Some(pc) if pc.person == person.id && pc.kind.has_pin() => {
                            let duress = (pc.kind == CredentialKind::DuressPin).then_some(pc);
                            let used = if pc.id == cred.id {
                                vec![cred]
                            } else {
                                vec![cred, pc]
                            };
                            Ok(Ident {
                                person,
                                credential: cred,
                                used,
                                method: Method::CardPin,
                                duress,
                            })
                        }
                        _ => Err(wrong_pin(cx, Some((person, cred)))),
                    }
                }
            }
        }
        None => {
            let Some(h) = pin_hash else {
                return Err(wrong_pin(cx, None));
            };
            let Some(pc) = state.credential_by_pin(&h) else {
                if let Some(old) = state.revoked_by_pin(&h)
                    && let Some(person) = state.person(&old.person)
                {
                    return Err(cx.deny(
                        Vec::new(),
                        DenyReason::CredentialRevoked,
                        cx.who(person, Some(old), Some(Method::Pin)),
                    ));
                }
                return Err(wrong_pin(cx, None));
            };
            let person = state
                .person(&pc.person)
                .ok_or_else(|| wrong_pin(cx, None))?;
            if pc.kind == CredentialKind::CardPin {
                return Err(cx.deny(
                    Vec::new(),
                    DenyReason::CardRequired,
                    cx.who(person, Some(pc), Some(Method::Pin)),
                ));
            }
            if cx.door.card_and_pin && cx.reader.direction == Direction::In {
                return Err(cx.deny(
                    Vec::new(),
                    DenyReason::SecondFactorRequired,
                    cx.who(person, Some(pc), Some(Method::Pin)),
                ));
            }
            let duress = (pc.kind == CredentialKind::DuressPin).then_some(pc);
            // Name the person's ordinary PIN credential in the access facts, so a duress entry's
            // access record reads like a normal one; the duress credential is only in the alarm.
            let shown = if duress.is_some() {
                person
                    .credentials
                    .iter()
                    .filter_map(|id| state.credential(id))
                    .find(|c| c.kind == CredentialKind::Pin && c.status == CredentialStatus::Active)
                    .unwrap_or(pc)
            } else {
                pc
            };
            Ok(Ident {
                person,
                credential: shown,
                used: vec![pc],
                method: Method::Pin,
                duress,
            })
        }
    }
}

fn unknown_card(cx: &Ctx<'_>, h: CredHash, normal: Option<&str>) -> Decision {
    let policy = &cx.site.policy;
    let window = i64::from(policy.unknown_card_window_s) * 1000;
    let count = cx
        .state
        .unknown_cards_since(&cx.reader.id, cx.now.saturating_sub(window))
        .saturating_add(1);
    let payload = AccessPayload {
        card_hash: Some(h),
        card_last4: normal.map(card_last4),
        ..cx.base()
    };
    let mut d = cx.deny(Vec::new(), DenyReason::UnknownCard, payload);
    let recently_raised = cx
        .state
        .unknown_card_alarm_at(&cx.reader.id)
        .is_some_and(|t| cx.now.saturating_sub(t) <= window && cx.now >= t);
    if policy.unknown_card_burst > 0 && count >= policy.unknown_card_burst && !recently_raised {
        let b = p::UnknownCardBurst {
            reader: cx.reader.id.clone(),
            door: cx.door.id.clone(),
            count,
            window_s: policy.unknown_card_window_s,
        };
        d.facts.push(to_fact(
            k::ALARM_UNKNOWN_CARD_BURST,
            Actor::Device(cx.reader.id.clone()),
            cx.now,
            &b,
        ));
    }
    d
}

fn wrong_pin(cx: &Ctx<'_>, who: Option<(&Person, &Credential)>) -> Decision {
    let attempts = cx.state.pin_failures(&cx.reader.id).saturating_add(1);
    let mut payload = match who {
        Some((p, c)) => cx.who(p, Some(c), Some(Method::CardPin)),
        None => cx.base(),
    };
    payload.attempts = Some(attempts);
    let mut d = cx.deny(Vec::new(), DenyReason::WrongPin, payload);
    let limit = cx.site.policy.pin_attempts_lockout;
    if limit > 0 && attempts >= limit {
        let until = cx
            .now
            .saturating_add(i64::from(cx.site.params.keypad_lockout_s) * 1000);
        let actor = Actor::Device(cx.reader.id.clone());
        let lock = p::KeypadAlarm {
            reader: cx.reader.id.clone(),
            door: cx.door.id.clone(),
            attempts,
            until_ms: Some(until),
        };
        d.facts
            .push(to_fact(k::KEYPAD_LOCKED_OUT, actor.clone(), cx.now, &lock));
        let alarm = p::KeypadAlarm {
            until_ms: None,
            ..lock
        };
        d.facts
            .push(to_fact(k::ALARM_PIN_BRUTE_FORCE, actor, cx.now, &alarm));
    }
    d
}

/// Whether a credential is usable now.
pub fn credential_check(c: &Credential, now: i64) -> Result<(), DenyReason> {
    match c.status {
        CredentialStatus::Active if c.expires_ms.is_some_and(|e| now >= e) => {
            Err(DenyReason::CredentialExpired)
        }
        CredentialStatus::Active => Ok(()),
        CredentialStatus::Suspended => Err(DenyReason::CredentialSuspended),
        CredentialStatus::Expired => Err(DenyReason::CredentialExpired),
        CredentialStatus::Revoked => Err(DenyReason::CredentialRevoked),
    }
}

/// Whether a person may use credentials now: active, badge current.
pub fn person_check(p: &Person, now: i64) -> Result<(), DenyReason> {
    match p.status {
        PersonStatus::Active => {}
        PersonStatus::Suspended => return Err(DenyReason::PersonSuspended),
        PersonStatus::Terminated => return Err(DenyReason::PersonTerminated),
    }
    if !p.badge_current(now) {
        return Err(DenyReason::BadgeExpired);
    }
    Ok(())
}

/// Whether `person` may enter through `door` now, with `entering` people (this one included)
/// going in together.
pub fn entry_check(
    site: &AccessSite,
    state: &AccessState,
    person: &Person,
    door: &DoorInfo,
    now: i64,
    entering: u32,
) -> Result<(), DenyReason> {
    person_check(person, now)?;
    if state.lockdown().is_some()
        && door.is_restricted()
        && !person.roles.iter().any(|r| site.is_lockdown_role(r))
    {
        return Err(DenyReason::Lockdown);
    }
    let auth = person
        .authorizations
        .get(&door.to)
        .ok_or(DenyReason::NotAuthorized)?;
    if auth.valid_until_ms.is_some_and(|u| now > u) {
        return Err(DenyReason::AuthorizationExpired);
    }
    if !site.schedule_admits(&auth.schedule, now) {
        return Err(DenyReason::OutsideSchedule);
    }
    if person.category.needs_vendor_approval() && site.params.require_vendor_approval {
        let approved = person
            .vendor
            .as_ref()
            .is_some_and(|v| v.status == crate::model::VendorStatus::Approved);
        let emergency = state
            .emergency_admit(&person.id)
            .is_some_and(|e| now <= e.until_ms);
        if !approved && !emergency {
            return Err(DenyReason::VendorNotApproved);
        }
    }
    if door.to_kind != AreaKind::CurrencySafe
        && let Some(area) = site.area(&door.to)
    {
        let inside = state.location(&person.id) == Some(door.to.as_str());
        if area.anti_passback && inside {
            return Err(DenyReason::AntiPassback);
        }
        if let Some(cap) = area.capacity
            && !inside
            && u64::from(state.occupancy(&door.to)) + u64::from(entering) > u64::from(cap)
        {
            return Err(DenyReason::AtCapacity);
        }
    }
    Ok(())
}

// ----- other requests -----

fn exit(
    site: &AccessSite,
    door_id: &str,
    person: Option<&str>,
    source: ExitSource,
    now: i64,
) -> Decision {
    let Some(door) = site.door(door_id) else {
        let payload = AccessPayload {
            door: Some(door_id.chars().take(64).collect()),
            person: person.map(str::to_owned),
            reason: Some(DenyReason::UnknownDoor),
            ..AccessPayload::default()
        };
        let f = to_fact(k::ACCESS_DENIED, Actor::System, now, &payload);
        return Decision::new(Outcome::Deny(DenyReason::UnknownDoor), vec![f], false);
    };
    let x = p::ExitPayload {
        door: door.id.clone(),
        leaves: door.to.clone(),
        leaves_kind: door.to_kind,
        enters: door.from.clone(),
        enters_kind: door.from_kind,
        person: person.map(str::to_owned),
        source: match source {
            ExitSource::Rex => "rex".into(),
            ExitSource::Api => "api".into(),
        },
    };
    let f = to_fact(k::ACCESS_EXIT, Actor::Device(door.id.clone()), now, &x);
    Decision::new(Outcome::Grant, vec![f], false)
}

fn console_payload(door: &DoorInfo) -> AccessPayload {
    AccessPayload {
        source: Some(Source::Console),
        door: Some(door.id.clone()),
        direction: Some(Direction::In),
        enters: Some(door.to.clone()),
        enters_kind: Some(door.to_kind),
        leaves: Some(door.from.clone()),
        leaves_kind: Some(door.from_kind),
        ..AccessPayload::default()
    }
}

fn emergency(site: &AccessSite, state: &AccessState, o: &EmergencyOverride, now: i64) -> Decision {
    let actor = Actor::Person(if o.approver.is_empty() {
        "unknown".into()
    } else {
        o.approver.clone()
    });
    let deny = |reason: DenyReason, payload: AccessPayload| {
        let payload = AccessPayload {
            reason: Some(reason),
            person: Some(o.person.chars().take(64).collect()),
            method: Some(Method::EmergencyOverride),
            ..payload
        };
        let f = to_fact(k::ACCESS_DENIED, actor.clone(), now, &payload);
        Decision::new(Outcome::Deny(reason), vec![f], false)
    };
    let Some(door) = site.door(&o.door) else {
        return deny(DenyReason::UnknownDoor, AccessPayload::default());
    };
    let base = console_payload(door);
    let attempt = o.good_faith.as_ref().filter(|g| {
        !g.channel.trim().is_empty() && !g.contact.trim().is_empty() && g.time_ms <= now
    });
    let Some(attempt) = attempt.filter(|_| !o.description.trim().is_empty()) else {
        return deny(DenyReason::GoodFaithAttemptRequired, base);
    };
    let Some(person) = state.person(&o.person) else {
        return deny(DenyReason::UnknownPerson, base);
    };
    if let Err(r) = person_check(person, now) {
        return deny(r, base);
    }
    let approver_ok = state.person(&o.approver).is_some_and(|a| {
        a.category == PersonCategory::Agent
            && person_check(a, now).is_ok()
            && a.authorizations.contains_key(&door.to)
    });
    if !approver_ok {
        return deny(DenyReason::ApproverNotAuthorized, base);
    }
    let valid_until_ms = now.saturating_add(i64::from(site.params.emergency_override_s) * 1000);
    let ov = p::EmergencyOverridePayload {
        person: person.id.clone(),
        door: door.id.clone(),
        approver: o.approver.clone(),
        description: o.description.clone(),
        attempt_time_ms: attempt.time_ms,
        attempt_channel: attempt.channel.clone(),
        attempt_contact: attempt.contact.clone(),
        valid_until_ms,
    };
    let task = p::TaskOpened {
        task: format!("emergency-notice-{}-{now}", person.id),
        task_kind: "regulator_emergency_notice".into(),
        citation: "IL 1291.300(h)".into(),
        summary: format!(
            "Inform the regulator as soon as possible: {} ({}) was admitted in an emergency without \
             prior approval, approved by {}: {}",
            person.name, person.category, o.approver, o.description
        ),
        person: Some(person.id.clone()),
        door: Some(door.id.clone()),
        due: "asap".into(),
        opened_ms: now,
    };
    let grant = AccessPayload {
        person: Some(person.id.clone()),
        category: Some(person.category),
        method: Some(Method::EmergencyOverride),
        escort: Some(o.approver.clone()),
        ..base
    };
    let facts = vec![
        to_fact(k::ACCESS_EMERGENCY_OVERRIDE, actor.clone(), now, &ov),
        to_fact(k::TASK_OPENED, actor.clone(), now, &task),
        to_fact(k::ACCESS_GRANTED, actor, now, &grant),
    ];
    Decision::new(Outcome::Grant, facts, false)
}

fn staff_release(
    site: &AccessSite,
    state: &AccessState,
    door_id: &str,
    user: &str,
    reason: &str,
    admits: u32,
    now: i64,
) -> Decision {
    let actor = Actor::User(if user.is_empty() {
        "unknown".into()
    } else {
        user.to_owned()
    });
    let Some(door) = site.door(door_id) else {
        let payload = AccessPayload {
            door: Some(door_id.chars().take(64).collect()),
            reason: Some(DenyReason::UnknownDoor),
            method: Some(Method::StaffRelease),
            ..AccessPayload::default()
        };
        let f = to_fact(k::ACCESS_DENIED, actor, now, &payload);
        return Decision::new(Outcome::Deny(DenyReason::UnknownDoor), vec![f], false);
    };
    let mut payload = AccessPayload {
        method: Some(Method::StaffRelease),
        admits: (admits > 0).then_some(admits),
        note: (!reason.is_empty()).then(|| reason.to_owned()),
        ..console_payload(door)
    };
    if admits > 0
        && door.to_kind != AreaKind::CurrencySafe
        && let Some(cap) = site.area(&door.to).and_then(|a| a.capacity)
        && u64::from(state.occupancy(&door.to)) + u64::from(admits) > u64::from(cap)
    {
        payload.reason = Some(DenyReason::AtCapacity);
        let f = to_fact(k::ACCESS_DENIED, actor, now, &payload);
        return Decision::new(Outcome::Deny(DenyReason::AtCapacity), vec![f], false);
    }
    let f = to_fact(k::ACCESS_GRANTED, actor, now, &payload);
    Decision::new(Outcome::Grant, vec![f], false)
}
