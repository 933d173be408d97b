//! Identification: the person behind a card and/or PIN, and the two ways it fails that feed alarms
//! (unknown cards in a burst, wrong PINs up to a keypad lockout).
use strongroom_domain::site::Direction;

use super::present::{Ctx, Ident};
use super::{Decision, DenyReason, clip_id, seconds_to_ms, within_window_ms};
use crate::hash::{CredHash, card_last4, normalize_card, valid_pin};
use crate::kinds as k;
use crate::model::{CredentialKind, CredentialStatus, Method};
use crate::payload::{self as p, AccessPayload};
use crate::state::{Credential, Person};

/// Finds the person behind a card and/or PIN.
pub(super) fn identify<'a>(
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
                None => secret.hash_card(&clip_id(raw)),
            };
            let Some(cred) = state.credential_by_card(&h) else {
                if let Some(revoked) = deny_revoked(cx, state.revoked_by_card(&h), Method::Card) {
                    return Err(revoked);
                }
                return Err(unknown_card(cx, h, normal.as_deref()));
            };
            let person = state
                .person(&cred.person)
                .ok_or_else(|| cx.deny(Vec::new(), DenyReason::UnknownCard, cx.base()))?;
            match pin {
                None => {
                    if cred.kind == CredentialKind::CardPin {
                        return Err(cx.deny_holder(
                            DenyReason::PinRequired,
                            person,
                            cred,
                            Method::Card,
                        ));
                    }
                    require_second_factor(cx, person, cred, Method::Card)?;
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
                if let Some(revoked) = deny_revoked(cx, state.revoked_by_pin(&h), Method::Pin) {
                    return Err(revoked);
                }
                return Err(wrong_pin(cx, None));
            };
            let person = state
                .person(&pc.person)
                .ok_or_else(|| wrong_pin(cx, None))?;
            if pc.kind == CredentialKind::CardPin {
                return Err(cx.deny_holder(DenyReason::CardRequired, person, pc, Method::Pin));
            }
            require_second_factor(cx, person, pc, Method::Pin)?;
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

/// Refuses a single factor (`method`, card or PIN alone) where the door wants both: a card-and-PIN
/// door, entering.
fn require_second_factor(
    cx: &Ctx<'_>,
    person: &Person,
    credential: &Credential,
    method: Method,
) -> Result<(), Decision> {
    if cx.door.card_and_pin && cx.reader.direction == Direction::In {
        return Err(cx.deny_holder(DenyReason::SecondFactorRequired, person, credential, method));
    }
    Ok(())
}

/// The denial for a card or PIN that matched no live credential but a `revoked` one of a known
/// person: a revoked credential, not an unknown one (it does not feed the burst or PIN alarms).
fn deny_revoked(cx: &Ctx<'_>, revoked: Option<&Credential>, method: Method) -> Option<Decision> {
    let revoked = revoked?;
    let person = cx.state.person(&revoked.person)?;
    Some(cx.deny_holder(DenyReason::CredentialRevoked, person, revoked, method))
}

fn unknown_card(cx: &Ctx<'_>, h: CredHash, normal: Option<&str>) -> Decision {
    let policy = &cx.site.policy;
    let window = seconds_to_ms(policy.unknown_card_window_s);
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
        .is_some_and(|t| within_window_ms(t, cx.now, window));
    if policy.unknown_card_burst > 0 && count >= policy.unknown_card_burst && !recently_raised {
        let b = p::UnknownCardBurst {
            reader: cx.reader.id.clone(),
            door: cx.door.id.clone(),
            count,
            window_s: policy.unknown_card_window_s,
        };
        d.facts.push(cx.fact(k::ALARM_UNKNOWN_CARD_BURST, &b));
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
            .saturating_add(seconds_to_ms(cx.site.params.keypad_lockout_s));
        let lock = p::KeypadAlarm {
            reader: cx.reader.id.clone(),
            door: cx.door.id.clone(),
            attempts,
            until_ms: Some(until),
        };
        d.facts.push(cx.fact(k::KEYPAD_LOCKED_OUT, &lock));
        let alarm = p::KeypadAlarm {
            until_ms: None,
            ..lock
        };
        d.facts.push(cx.fact(k::ALARM_PIN_BRUTE_FORCE, &alarm));
    }
    d
}
