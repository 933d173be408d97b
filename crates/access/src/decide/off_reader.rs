//! Requests that do not come from a credential at a reader: exits (REX or reported), emergency
//! overrides (IL 1291.300(h)) and staff releases from the console (AC-01). No reader shows them.
use strongroom_domain::Actor;
use strongroom_domain::site::{AreaKind, Direction};

use super::checks::person_check;
use super::{Decision, DenyReason, EmergencyOverride, ExitSource, Outcome, clip_id, seconds_to_ms};
use crate::kinds as k;
use crate::model::{Method, PersonCategory};
use crate::payload::{self as p, AccessPayload, Source, to_fact};
use crate::site::{AccessSite, DoorInfo};
use crate::state::AccessState;

/// `name`, or `"unknown"` when it is empty (a fact's actor always names someone).
fn name_or_unknown(name: &str) -> String {
    if name.is_empty() {
        "unknown".into()
    } else {
        name.to_owned()
    }
}

/// A grant no reader shows, recorded as one fact of `kind`.
fn granted_off_reader<T: serde::Serialize>(
    kind: &str,
    actor: Actor,
    now: i64,
    payload: &T,
) -> Decision {
    let f = to_fact(kind, actor, now, payload);
    Decision::new(Outcome::Grant, vec![f], false)
}

pub(super) fn exit(
    site: &AccessSite,
    door_id: &str,
    person: Option<&str>,
    source: ExitSource,
    now: i64,
) -> Decision {
    let Some(door) = site.door(door_id) else {
        let payload = AccessPayload {
            door: Some(clip_id(door_id)),
            person: person.map(str::to_owned),
            ..AccessPayload::default()
        };
        return Decision::denied_off_reader(DenyReason::UnknownDoor, Actor::System, now, payload);
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
    granted_off_reader(k::ACCESS_EXIT, Actor::Device(door.id.clone()), now, &x)
}

/// The payload fields of an entry through `door` decided at the console.
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

pub(super) fn emergency(
    site: &AccessSite,
    state: &AccessState,
    o: &EmergencyOverride,
    now: i64,
) -> Decision {
    let actor = Actor::Person(name_or_unknown(&o.approver));
    let deny = |reason: DenyReason, payload: AccessPayload| {
        let payload = AccessPayload {
            person: Some(clip_id(&o.person)),
            method: Some(Method::EmergencyOverride),
            ..payload
        };
        Decision::denied_off_reader(reason, actor.clone(), now, payload)
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
    let valid_until_ms = now.saturating_add(seconds_to_ms(site.params.emergency_override_s));
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

pub(super) fn staff_release(
    site: &AccessSite,
    state: &AccessState,
    door_id: &str,
    user: &str,
    reason: &str,
    admits: u32,
    now: i64,
) -> Decision {
    let actor = Actor::User(name_or_unknown(user));
    let Some(door) = site.door(door_id) else {
        let payload = AccessPayload {
            door: Some(clip_id(door_id)),
            method: Some(Method::StaffRelease),
            ..AccessPayload::default()
        };
        return Decision::denied_off_reader(DenyReason::UnknownDoor, actor, now, payload);
    };
    let payload = AccessPayload {
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
        return Decision::denied_off_reader(DenyReason::AtCapacity, actor, now, payload);
    }
    granted_off_reader(k::ACCESS_GRANTED, actor, now, &payload)
}
