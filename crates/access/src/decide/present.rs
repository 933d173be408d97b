//! A credential presented at a reader ([`Request::Present`](super::Request::Present)): the reader
//! and keypad checks, then identification, the credential and person checks, exits, entries, and
//! the escort and two-person rules that may leave a request pending or complete waiting ones.
use serde::Serialize;
use strongroom_domain::site::Direction;
use strongroom_domain::{Actor, Fact};

use super::checks::{credential_check, entry_check, person_check};
use super::identify::identify;
use super::{
    Decision, DenyReason, Outcome, PendingKind, Presentation, clip_id, seconds_to_ms,
    within_window_ms,
};
use crate::kinds as k;
use crate::model::{Method, PersonCategory};
use crate::payload::{self as p, AccessPayload, Source, to_fact};
use crate::site::{AccessSite, DoorInfo, ReaderInfo};
use crate::state::{AccessState, Credential, Pending, Person};

/// Who was identified and how.
pub(super) struct Ident<'a> {
    pub(super) person: &'a Person,
    /// The credential named in the access facts.
    pub(super) credential: &'a Credential,
    /// Every credential that took part (card and PIN), all of which must be usable.
    pub(super) used: Vec<&'a Credential>,
    pub(super) method: Method,
    pub(super) duress: Option<&'a Credential>,
}

/// What a presentation is decided against: the site, the state, the reader and its door, now.
pub(super) struct Ctx<'a> {
    pub(super) site: &'a AccessSite,
    pub(super) state: &'a AccessState,
    pub(super) reader: &'a ReaderInfo,
    pub(super) door: &'a DoorInfo,
    pub(super) source: Source,
    pub(super) now: i64,
}

impl Ctx<'_> {
    /// The payload fields every fact of this presentation carries: reader, door and direction.
    pub(super) fn base(&self) -> AccessPayload {
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

    /// [`Ctx::base`] plus the person and how they identified.
    pub(super) fn who(
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

    /// [`Ctx::base`] for someone who badged earlier and waited at this door (`waiting`), granted
    /// now: their own reader (or this one), credential and method.
    fn waiting(&self, waiting: &Pending, person: &Person) -> AccessPayload {
        AccessPayload {
            reader: waiting
                .reader
                .clone()
                .or_else(|| Some(self.reader.id.clone())),
            person: Some(person.id.clone()),
            category: Some(person.category),
            credential: waiting.credential.clone(),
            method: waiting.method,
            ..self.base()
        }
    }

    /// A fact from this reader, now.
    pub(super) fn fact<T: Serialize>(&self, kind: &str, payload: &T) -> Fact {
        to_fact(
            kind,
            Actor::Device(self.reader.id.clone()),
            self.now,
            payload,
        )
    }

    /// Denies at the reader: `facts` so far, then `access.denied` with `reason`.
    pub(super) fn deny(
        &self,
        mut facts: Vec<Fact>,
        reason: DenyReason,
        mut payload: AccessPayload,
    ) -> Decision {
        payload.reason = Some(reason);
        facts.push(self.fact(k::ACCESS_DENIED, &payload));
        Decision::new(Outcome::Deny(reason), facts, true)
    }

    /// Denies `person`, identified by `credential` and `method`, before anything else was recorded.
    pub(super) fn deny_holder(
        &self,
        reason: DenyReason,
        person: &Person,
        credential: &Credential,
        method: Method,
    ) -> Decision {
        self.deny(
            Vec::new(),
            reason,
            self.who(person, Some(credential), Some(method)),
        )
    }
}

/// Decides a presentation at a reader.
pub(super) fn present(
    site: &AccessSite,
    state: &AccessState,
    pr: &Presentation,
    now: i64,
) -> Decision {
    let Some(reader) = site.reader(&pr.reader) else {
        let payload = AccessPayload {
            reader: Some(clip_id(&pr.reader)),
            source: Some(pr.source),
            ..AccessPayload::default()
        };
        return Decision::denied_off_reader(DenyReason::UnknownReader, Actor::System, now, payload);
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
        facts.push(cx.fact(k::ALARM_DURESS, &d));
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
        return escorted_entry(&cx, &ident, facts, who);
    }
    let mut entering = 1;
    if door.two_person {
        let window = seconds_to_ms(site.policy.vault_dual_auth_window_s);
        let first = state.pending_second(&door.id).iter().rev().find_map(|q| {
            if !within_window_ms(q.at_ms, now, window) || q.person == ident.person.id {
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
            dual_with: Some(ident.person.id.clone()),
            first_presented_ms: Some(q.at_ms),
            ..cx.waiting(q, fp)
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
        let window = seconds_to_ms(site.policy.escort_window_s);
        for q in state.pending_escort(&door.id) {
            if !within_window_ms(q.at_ms, now, window) || q.person == ident.person.id {
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
                    escort: Some(ident.person.id.clone()),
                    ..cx.waiting(q, vp)
                },
            ));
        }
    }
    Decision::new(Outcome::Grant, facts, true)
}

/// An entry that needs an escort: granted with an agent granted at this door within the escort
/// window, otherwise pending until one comes.
fn escorted_entry(
    cx: &Ctx<'_>,
    ident: &Ident<'_>,
    mut facts: Vec<Fact>,
    who: AccessPayload,
) -> Decision {
    let (state, now) = (cx.state, cx.now);
    let window = seconds_to_ms(cx.site.policy.escort_window_s);
    let escort = state.recent_grants(&cx.door.id).rev().find(|g| {
        within_window_ms(g.at_ms, now, window)
            && g.category == Some(PersonCategory::Agent)
            && g.person != ident.person.id
            && state
                .person(&g.person)
                .is_some_and(|e| person_check(e, now).is_ok())
    });
    match escort {
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
    }
}
