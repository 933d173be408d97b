//! Commands: validate against the state and the site, return the facts that record the change, or
//! a typed error that changes nothing.
//!
//! [`execute`] never mutates the state; the caller journals the facts and applies them. Commands
//! that take a card number or PIN hash it here, under the site secret, before anything is recorded.
use std::collections::BTreeSet;

use strongroom_domain::site::AreaKind;
use strongroom_domain::{Actor, Fact};

use crate::hash::{card_last4, normalize_card, valid_pin};
use crate::kinds as k;
use crate::model::{CredentialKind, CredentialStatus, PersonCategory, PersonStatus, VendorStatus};
use crate::payload::{self as p, to_fact};
use crate::site::AccessSite;
use crate::state::{AccessState, Person, Secret};

mod error;
mod request;

pub use error::CommandError;
pub use request::{Command, NewCredential, NewPerson};

/// Validates `cmd` and returns the facts recording it. Changes nothing.
pub fn execute(
    site: &AccessSite,
    state: &AccessState,
    cmd: &Command,
    actor: &Actor,
    now_ms: i64,
) -> Result<Vec<Fact>, CommandError> {
    let fact =
        |kind: &str, payload: &dyn erased::Payload| payload.fact(kind, actor.clone(), now_ms);
    match cmd {
        Command::AddPerson(np) => {
            check_id(&np.id)?;
            if np.name.trim().is_empty() {
                return Err(CommandError::Empty("name"));
            }
            if state.person(&np.id).is_some() {
                return Err(CommandError::PersonExists(np.id.clone()));
            }
            let mut roles: Vec<String> = np.roles.iter().map(|r| r.trim().to_owned()).collect();
            roles.retain(|r| !r.is_empty());
            roles.sort();
            roles.dedup();
            Ok(vec![fact(
                k::PERSON_ADDED,
                &p::PersonAdded {
                    person: np.id.clone(),
                    category: np.category,
                    name: np.name.trim().to_owned(),
                    roles,
                    agent_id: np.agent_id.clone().filter(|s| !s.trim().is_empty()),
                    badge_expires_ms: np.badge_expires_ms,
                    company: np.company.clone(),
                    service_type: np.service_type.clone(),
                    contact: np.contact.clone(),
                },
            )])
        }
        Command::UpdatePerson(u) => {
            let person = live_person(state, &u.person)?;
            if u.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
                return Err(CommandError::Empty("name"));
            }
            let mut u = u.clone();
            if let Some(r) = &mut u.roles {
                r.iter_mut().for_each(|x| *x = x.trim().to_owned());
                r.retain(|x| !x.is_empty());
                r.sort();
                r.dedup();
            }
            let same = u.name.as_ref().is_none_or(|n| *n == person.name)
                && u.roles
                    .as_ref()
                    .is_none_or(|r| r.iter().cloned().collect::<BTreeSet<_>>() == person.roles)
                && u.agent_id
                    .as_ref()
                    .is_none_or(|a| Some(a) == person.agent_id.as_ref())
                && u.badge_expires_ms
                    .is_none_or(|b| Some(b) == person.badge_expires_ms);
            if same {
                return Err(CommandError::Unchanged("nothing to update".into()));
            }
            Ok(vec![fact(k::PERSON_UPDATED, &u)])
        }
        Command::SetPersonStatus {
            person,
            status,
            reason,
        } => {
            let pr = known_person(state, person)?;
            if pr.status == PersonStatus::Terminated {
                return Err(CommandError::TerminationIsFinal(person.clone()));
            }
            if pr.status == *status {
                return Err(CommandError::Unchanged(format!(
                    "already {}",
                    status.as_str()
                )));
            }
            let mut facts = vec![fact(
                k::PERSON_STATUS_CHANGED,
                &p::PersonStatusChanged {
                    person: person.clone(),
                    status: *status,
                    previous: pr.status,
                    reason: reason.clone(),
                },
            )];
            if *status == PersonStatus::Terminated {
                for c in pr.credentials.iter().filter_map(|c| state.credential(c)) {
                    if c.status.holds_secrets() {
                        facts.push(fact(
                            k::CREDENTIAL_REVOKED,
                            &p::CredentialChanged {
                                credential: c.id.clone(),
                                person: person.clone(),
                                reason: "person terminated".into(),
                            },
                        ));
                    }
                }
            }
            Ok(facts)
        }
        Command::IssueCredential(nc) => issue(site, state, nc, actor, now_ms),
        Command::SuspendCredential { credential, reason }
        | Command::ReinstateCredential { credential, reason }
        | Command::RevokeCredential { credential, reason } => {
            let c = state
                .credential(credential)
                .ok_or_else(|| CommandError::UnknownCredential(credential.clone()))?;
            let (kind, allowed) = match cmd {
                Command::SuspendCredential { .. } => (
                    k::CREDENTIAL_SUSPENDED,
                    c.status == CredentialStatus::Active,
                ),
                Command::ReinstateCredential { .. } => (
                    k::CREDENTIAL_REINSTATED,
                    c.status == CredentialStatus::Suspended
                        && state
                            .person(&c.person)
                            .is_some_and(|p| p.status != PersonStatus::Terminated),
                ),
                _ => (k::CREDENTIAL_REVOKED, c.status != CredentialStatus::Revoked),
            };
            if !allowed {
                return Err(CommandError::CredentialStatus {
                    credential: credential.clone(),
                    status: c.status,
                });
            }
            Ok(vec![fact(
                kind,
                &p::CredentialChanged {
                    credential: credential.clone(),
                    person: c.person.clone(),
                    reason: reason.clone(),
                },
            )])
        }
        Command::ExpireDue => Ok(state
            .credentials()
            .filter(|c| {
                matches!(
                    c.status,
                    CredentialStatus::Active | CredentialStatus::Suspended
                ) && c.expires_ms.is_some_and(|e| now_ms >= e)
            })
            .map(|c| {
                fact(
                    k::CREDENTIAL_EXPIRED,
                    &p::CredentialChanged {
                        credential: c.id.clone(),
                        person: c.person.clone(),
                        reason: "past expiry".into(),
                    },
                )
            })
            .collect()),
        Command::AuthorizeArea {
            person,
            area,
            schedule,
            valid_until_ms,
        } => {
            let pr = live_person(state, person)?;
            let a = site
                .area(area)
                .ok_or_else(|| CommandError::UnknownArea(area.clone()))?;
            if !schedule.is_valid() {
                return Err(CommandError::BadSchedule);
            }
            if valid_until_ms.is_some_and(|u| u <= now_ms) {
                return Err(CommandError::BadTimes(
                    "valid_until_ms is not in the future",
                ));
            }
            if a.kind == AreaKind::SurveillanceRoom && !pr.category.may_enter_surveillance_room() {
                return Err(CommandError::NotAllowedForCategory {
                    category: pr.category,
                    what: "be given access to the surveillance room (IL 1291.300(e)(3))",
                });
            }
            Ok(vec![fact(
                k::AREA_AUTHORIZED,
                &p::AreaAuthorized {
                    person: person.clone(),
                    area: area.clone(),
                    schedule: schedule.clone(),
                    valid_until_ms: *valid_until_ms,
                },
            )])
        }
        Command::DeauthorizeArea {
            person,
            area,
            reason,
        } => {
            let pr = known_person(state, person)?;
            if !pr.authorizations.contains_key(area) {
                return Err(CommandError::Unchanged(format!(
                    "{person:?} is not authorised for {area:?}"
                )));
            }
            Ok(vec![fact(
                k::AREA_DEAUTHORIZED,
                &p::AreaDeauthorized {
                    person: person.clone(),
                    area: area.clone(),
                    reason: reason.clone(),
                },
            )])
        }
        Command::ApproveVendor {
            person,
            approval_ref,
        } => {
            let pr = live_person(state, person)?;
            if !pr.category.needs_vendor_approval() {
                return Err(CommandError::NotAVendor(person.clone()));
            }
            if approval_ref.trim().is_empty() {
                return Err(CommandError::Empty("approval_ref"));
            }
            if pr.vendor.as_ref().is_some_and(|v| {
                v.status == VendorStatus::Approved
                    && v.approval_ref.as_deref() == Some(approval_ref.trim())
            }) {
                return Err(CommandError::Unchanged("already approved".into()));
            }
            Ok(vec![fact(
                k::VENDOR_APPROVED,
                &p::VendorApproved {
                    person: person.clone(),
                    approval_ref: approval_ref.trim().to_owned(),
                },
            )])
        }
        Command::RemoveVendor { person, reason } => {
            let pr = known_person(state, person)?;
            if !pr.category.needs_vendor_approval() {
                return Err(CommandError::NotAVendor(person.clone()));
            }
            if pr
                .vendor
                .as_ref()
                .is_some_and(|v| v.status == VendorStatus::Removed)
            {
                return Err(CommandError::Unchanged("already removed".into()));
            }
            Ok(vec![fact(
                k::VENDOR_REMOVED,
                &p::VendorRemoved {
                    person: person.clone(),
                    reason: reason.clone(),
                },
            )])
        }
        Command::RegisterSecret {
            secret,
            label,
            kind,
            area,
        } => {
            check_id(secret)?;
            if label.trim().is_empty() {
                return Err(CommandError::Empty("label"));
            }
            if state.secret(secret).is_some() {
                return Err(CommandError::SecretExists(secret.clone()));
            }
            if let Some(a) = area
                && site.area(a).is_none()
            {
                return Err(CommandError::UnknownArea(a.clone()));
            }
            Ok(vec![fact(
                k::SECRET_REGISTERED,
                &p::SecretRegistered {
                    secret: secret.clone(),
                    label: label.trim().to_owned(),
                    kind: *kind,
                    area: area.clone(),
                },
            )])
        }
        Command::AddSecretHolder { secret, person } => {
            let s = known_secret(state, secret)?;
            eligible_for_secret(state, person, now_ms)?;
            if s.holders.contains(person) {
                return Err(CommandError::Unchanged(format!(
                    "{person:?} already holds {secret:?}"
                )));
            }
            Ok(vec![fact(
                k::SECRET_HOLDER_ADDED,
                &p::SecretHolder {
                    secret: secret.clone(),
                    person: person.clone(),
                    reason: String::new(),
                },
            )])
        }
        Command::RemoveSecretHolder {
            secret,
            person,
            reason,
        } => {
            let s = known_secret(state, secret)?;
            if !s.holders.contains(person) {
                return Err(CommandError::Unchanged(format!(
                    "{person:?} does not hold {secret:?}"
                )));
            }
            Ok(vec![fact(
                k::SECRET_HOLDER_REMOVED,
                &p::SecretHolder {
                    secret: secret.clone(),
                    person: person.clone(),
                    reason: reason.clone(),
                },
            )])
        }
        Command::ChangeSecret {
            secret,
            holders,
            reason,
        } => {
            known_secret(state, secret)?;
            let set: BTreeSet<&String> = holders.iter().collect();
            for h in &set {
                eligible_for_secret(state, h, now_ms)?;
            }
            Ok(vec![fact(
                k::SECRET_CHANGED,
                &p::SecretChanged {
                    secret: secret.clone(),
                    holders: set.into_iter().cloned().collect(),
                    reason: reason.clone(),
                },
            )])
        }
        Command::StartLockdown { reason } => {
            if state.lockdown().is_some() {
                return Err(CommandError::AlreadyLockedDown);
            }
            Ok(vec![fact(
                k::LOCKDOWN_STARTED,
                &p::Reason {
                    reason: reason.clone(),
                },
            )])
        }
        Command::EndLockdown { reason } => {
            if state.lockdown().is_none() {
                return Err(CommandError::NotLockedDown);
            }
            Ok(vec![fact(
                k::LOCKDOWN_ENDED,
                &p::Reason {
                    reason: reason.clone(),
                },
            )])
        }
        Command::ResetOccupancy { person, reason } => {
            if let Some(pid) = person
                && state.person(pid).is_none()
            {
                return Err(CommandError::UnknownPerson(pid.clone()));
            }
            Ok(vec![fact(
                k::OCCUPANCY_RESET,
                &p::OccupancyReset {
                    person: person.clone(),
                    reason: reason.clone(),
                },
            )])
        }
        Command::ClearKeypadLockout { reader, reason } => {
            if site.reader(reader).is_none() {
                return Err(CommandError::UnknownReader(reader.clone()));
            }
            if state.keypad_locked_until(reader).is_none() && state.pin_failures(reader) == 0 {
                return Err(CommandError::Unchanged(format!(
                    "keypad {reader:?} is not locked out"
                )));
            }
            Ok(vec![fact(
                k::KEYPAD_LOCKOUT_CLEARED,
                &p::LockoutCleared {
                    reader: reader.clone(),
                    reason: reason.clone(),
                },
            )])
        }
        Command::RecordManualVaultEntry {
            person,
            area,
            time_in_ms,
            time_out_ms,
            method,
            note,
        } => {
            let pr = known_person(state, person)?;
            if pr.category != PersonCategory::Agent {
                return Err(CommandError::NotAllowedForCategory {
                    category: pr.category,
                    what: "appear in the vault log as an agent",
                });
            }
            let a = site
                .area(area)
                .ok_or_else(|| CommandError::UnknownArea(area.clone()))?;
            if a.kind != AreaKind::Vault {
                return Err(CommandError::NotAVault(area.clone()));
            }
            if *time_in_ms > now_ms {
                return Err(CommandError::BadTimes("time in is in the future"));
            }
            if time_out_ms.is_some_and(|o| o < *time_in_ms || o > now_ms) {
                return Err(CommandError::BadTimes(
                    "time out must be between time in and now",
                ));
            }
            if method.trim().is_empty() {
                return Err(CommandError::Empty("method"));
            }
            let door = site
                .doors
                .iter()
                .find(|d| d.to == *area)
                .map(|d| d.id.clone());
            Ok(vec![fact(
                k::VAULT_MANUAL_ENTRY,
                &p::VaultManualEntry {
                    person: person.clone(),
                    area: area.clone(),
                    door,
                    time_in_ms: *time_in_ms,
                    time_out_ms: *time_out_ms,
                    method: method.trim().to_owned(),
                    note: note.clone(),
                    recorded_by: actor.to_string(),
                },
            )])
        }
    }
}

fn issue(
    site: &AccessSite,
    state: &AccessState,
    nc: &NewCredential,
    actor: &Actor,
    now_ms: i64,
) -> Result<Vec<Fact>, CommandError> {
    let person = live_person(state, &nc.person)?;
    let kind = nc.kind;
    let mismatch = |problem| CommandError::KindMismatch { kind, problem };
    let card = match (&nc.card, kind.has_card()) {
        (Some(c), true) => Some(normalize_card(c).ok_or(CommandError::BadCard)?),
        (None, true) => return Err(mismatch("needs a card number")),
        (Some(_), false) => return Err(mismatch("has no card number")),
        (None, false) => None,
    };
    let pin = match (&nc.pin, kind.has_pin()) {
        (Some(p), true) if valid_pin(p) => Some(p.as_str()),
        (Some(_), true) => return Err(CommandError::BadPin),
        (None, true) => return Err(mismatch("needs a PIN")),
        (Some(_), false) => return Err(mismatch("has no PIN")),
        (None, false) => None,
    };
    if let Some(e) = nc.expires_ms
        && e <= now_ms
    {
        return Err(CommandError::BadExpiry(e));
    }
    let replaces = match &nc.replaces {
        Some(id) => {
            let old = state
                .credential(id)
                .ok_or_else(|| CommandError::UnknownCredential(id.clone()))?;
            if old.person != person.id {
                return Err(CommandError::NotTheirs {
                    credential: id.clone(),
                    owner: old.person.clone(),
                    person: person.id.clone(),
                });
            }
            Some(old)
        }
        None => None,
    };
    let replaced = |id: &str| replaces.is_some_and(|r| r.id == id && r.status.holds_secrets());
    let card_hash = card.as_deref().map(|c| site.secret.hash_card(c));
    if let Some(h) = &card_hash
        && let Some(holder) = state.credential_by_card(h)
        && !replaced(&holder.id)
    {
        return Err(CommandError::CardInUse {
            by_other_person: holder.person != person.id,
        });
    }
    let pin_hash = pin.map(|p| site.secret.hash_pin(p));
    if let Some(h) = &pin_hash
        && let Some(holder) = state.credential_by_pin(h)
        && !replaced(&holder.id)
    {
        return Err(CommandError::PinInUse {
            by_other_person: holder.person != person.id,
        });
    }
    if kind == CredentialKind::DuressPin
        && person
            .credentials
            .iter()
            .filter_map(|c| state.credential(c))
            .any(|c| {
                c.kind == CredentialKind::DuressPin && c.status.holds_secrets() && !replaced(&c.id)
            })
    {
        return Err(CommandError::DuressPinExists(person.id.clone()));
    }
    let mut facts = Vec::new();
    if let Some(old) = replaces
        && old.status.holds_secrets()
    {
        facts.push(to_fact(
            k::CREDENTIAL_REVOKED,
            actor.clone(),
            now_ms,
            &p::CredentialChanged {
                credential: old.id.clone(),
                person: person.id.clone(),
                reason: format!("replaced by {}", state.next_credential_id()),
            },
        ));
    }
    facts.push(to_fact(
        k::CREDENTIAL_ISSUED,
        actor.clone(),
        now_ms,
        &p::CredentialIssued {
            credential: state.next_credential_id(),
            person: person.id.clone(),
            kind,
            card_hash,
            card_last4: card.as_deref().map(card_last4),
            pin_hash,
            expires_ms: nc.expires_ms,
            replaces: nc.replaces.clone(),
        },
    ));
    Ok(facts)
}

fn check_id(id: &str) -> Result<(), CommandError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(CommandError::BadId(id.to_owned()))
    }
}

/// A registered person (any status).
fn known_person<'a>(state: &'a AccessState, id: &str) -> Result<&'a Person, CommandError> {
    state
        .person(id)
        .ok_or_else(|| CommandError::UnknownPerson(id.to_owned()))
}

/// A registered secret.
fn known_secret<'a>(state: &'a AccessState, id: &str) -> Result<&'a Secret, CommandError> {
    state
        .secret(id)
        .ok_or_else(|| CommandError::UnknownSecret(id.to_owned()))
}

/// A person that exists and is not terminated.
fn live_person<'a>(state: &'a AccessState, id: &str) -> Result<&'a Person, CommandError> {
    let p = known_person(state, id)?;
    if p.status == PersonStatus::Terminated {
        return Err(CommandError::PersonTerminated(id.to_owned()));
    }
    Ok(p)
}

fn eligible_for_secret(state: &AccessState, person: &str, now_ms: i64) -> Result<(), CommandError> {
    let p = known_person(state, person)?;
    if p.category != PersonCategory::Agent
        || p.status != PersonStatus::Active
        || !p.badge_current(now_ms)
    {
        return Err(CommandError::NotEligibleForSecret(person.to_owned()));
    }
    Ok(())
}

/// Object-safe payload serialisation, so `execute` can build facts from any payload type.
mod erased {
    use serde::Serialize;
    use strongroom_domain::{Actor, Fact};

    pub trait Payload {
        fn fact(&self, kind: &str, actor: Actor, time_ms: i64) -> Fact;
    }

    impl<T: Serialize> Payload for T {
        fn fact(&self, kind: &str, actor: Actor, time_ms: i64) -> Fact {
            crate::payload::to_fact(kind, actor, time_ms, self)
        }
    }
}
