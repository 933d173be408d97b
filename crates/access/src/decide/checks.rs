//! The checks every decision family shares: is a credential usable, may a person use credentials,
//! may a person enter an area through a door now.
use strongroom_domain::site::AreaKind;

use super::DenyReason;
use crate::model::{CredentialStatus, PersonStatus, VendorStatus};
use crate::site::{AccessSite, DoorInfo};
use crate::state::{AccessState, Credential, Person};

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
            .is_some_and(|v| v.status == VendorStatus::Approved);
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
