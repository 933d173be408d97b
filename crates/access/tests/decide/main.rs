//! The decision engine, rule by rule: one module per family of rules, all run against the test
//! site and harness of `common`.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod basics;
mod commands;
mod credentials;
mod duress;
mod escorts;
mod occupancy;
mod schedules;
mod vault;
mod wrong_credentials;

use common::World;
use strongroom_access::{
    AccessParams, Command, CredentialKind, Decision, DenyReason, PersonCategory, PersonStatus,
    Schedule, VaultMode,
};
use strongroom_domain::Fact;

/// The reason `d` was denied; panics when it was not.
fn deny(d: &Decision) -> DenyReason {
    d.deny_reason()
        .unwrap_or_else(|| panic!("expected a denial, got {:?}", d.outcome))
}

/// The default parameters with vault mode `mode`.
fn params(mode: VaultMode) -> AccessParams {
    AccessParams {
        vault_mode: mode,
        ..AccessParams::default()
    }
}

/// A world in vault mode `mode` with three agents (alice, bob, carl) authorised for the back of
/// house and the vault.
fn vault_world(mode: VaultMode) -> World {
    let mut w = World::with(params(mode));
    for a in ["alice", "bob", "carl"] {
        w.agent(a, &["back", "vault"]);
    }
    w
}

/// An agent `id` holding one card+PIN credential (`card`, `pin`), authorised always for `area`.
fn card_pin_agent(w: &mut World, id: &str, (card, pin): (&str, &str), area: &str) {
    w.add(id, PersonCategory::Agent, &[]);
    w.issue(id, CredentialKind::CardPin, Some(card), Some(pin));
    w.authorize(id, area, Schedule::Always);
}

/// Sets a person's status.
fn set_status(person: &str, status: PersonStatus, reason: &str) -> Command {
    Command::SetPersonStatus {
        person: person.into(),
        status,
        reason: reason.into(),
    }
}

/// The facts of `kind` in a decision, in order.
fn facts_of_kind<'a>(d: &'a Decision, kind: &str) -> Vec<&'a Fact> {
    d.facts.iter().filter(|f| f.kind == kind).collect()
}

/// The kinds of a decision's facts, in order.
fn fact_kinds(d: &Decision) -> Vec<&str> {
    d.facts.iter().map(|f| f.kind.as_str()).collect()
}
