//! What can be asked of the registry: the [`Command`]s and the new person and credential they
//! carry. `Debug` never prints a card number or PIN.
use std::fmt;

use crate::hash::card_last4;
use crate::model::{CredentialKind, PersonCategory, PersonStatus, Schedule, SecretKind};
use crate::payload::{self as p};

/// A new person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    /// Id (`a-z 0-9 - _ . :`, at most 64 characters), unique.
    pub id: String,
    /// Category.
    pub category: PersonCategory,
    /// Full name.
    pub name: String,
    /// Roles.
    pub roles: Vec<String>,
    /// State agent-ID / employee ID badge number.
    pub agent_id: Option<String>,
    /// Badge expiry.
    pub badge_expires_ms: Option<i64>,
    /// Company.
    pub company: Option<String>,
    /// Type of business or service.
    pub service_type: Option<String>,
    /// Contact information.
    pub contact: Option<String>,
}

impl NewPerson {
    /// A person with just the required fields.
    pub fn new(id: &str, category: PersonCategory, name: &str) -> NewPerson {
        NewPerson {
            id: id.into(),
            category,
            name: name.into(),
            roles: Vec::new(),
            agent_id: None,
            badge_expires_ms: None,
            company: None,
            service_type: None,
            contact: None,
        }
    }
}

/// A credential to issue. `Debug` never prints the card number or PIN.
#[derive(Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// Holder.
    pub person: String,
    /// Kind.
    pub kind: CredentialKind,
    /// Card number (kinds `card`, `card_pin`).
    pub card: Option<String>,
    /// PIN (kinds `pin`, `card_pin`, `duress_pin`).
    pub pin: Option<String>,
    /// Expiry.
    pub expires_ms: Option<i64>,
    /// A credential of the same person to revoke first (a reissued ID card, AC-05).
    pub replaces: Option<String>,
}

impl fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCredential")
            .field("person", &self.person)
            .field("kind", &self.kind)
            .field(
                "card",
                &self.card.as_ref().map(|c| format!("…{}", card_last4(c))),
            )
            .field("pin", &self.pin.as_ref().map(|_| "****"))
            .field("expires_ms", &self.expires_ms)
            .field("replaces", &self.replaces)
            .finish()
    }
}

/// A change to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Register a person.
    AddPerson(NewPerson),
    /// Change a person's name, roles or badge.
    UpdatePerson(p::PersonUpdated),
    /// Change a person's status; termination revokes every credential at once.
    SetPersonStatus {
        /// Person id.
        person: String,
        /// New status.
        status: PersonStatus,
        /// Why.
        reason: String,
    },
    /// Issue a credential.
    IssueCredential(NewCredential),
    /// Suspend a credential.
    SuspendCredential {
        /// Credential id.
        credential: String,
        /// Why.
        reason: String,
    },
    /// Reinstate a suspended credential.
    ReinstateCredential {
        /// Credential id.
        credential: String,
        /// Why.
        reason: String,
    },
    /// Revoke a credential (final).
    RevokeCredential {
        /// Credential id.
        credential: String,
        /// Why.
        reason: String,
    },
    /// Mark every credential past its expiry as expired (a sweep; never fails).
    ExpireDue,
    /// Authorise a person for an area on a schedule.
    AuthorizeArea {
        /// Person id.
        person: String,
        /// Area id.
        area: String,
        /// When.
        schedule: Schedule,
        /// Last moment it applies.
        valid_until_ms: Option<i64>,
    },
    /// Withdraw an area authorization.
    DeauthorizeArea {
        /// Person id.
        person: String,
        /// Area id.
        area: String,
        /// Why.
        reason: String,
    },
    /// Approve a vendor or service professional (IL 1291.300(h)).
    ApproveVendor {
        /// Person id.
        person: String,
        /// The regulator's approval reference.
        approval_ref: String,
    },
    /// Take a vendor or service professional off the approved list.
    RemoveVendor {
        /// Person id.
        person: String,
        /// Why.
        reason: String,
    },
    /// Register a secret (vault code, combination, alarm code, password).
    RegisterSecret {
        /// Id.
        secret: String,
        /// Label.
        label: String,
        /// Kind.
        kind: SecretKind,
        /// The area it opens.
        area: Option<String>,
    },
    /// Record that a person was given a secret (AC-07: active agents with a current badge only).
    AddSecretHolder {
        /// Secret id.
        secret: String,
        /// Person id.
        person: String,
    },
    /// Record that a person no longer holds a secret.
    RemoveSecretHolder {
        /// Secret id.
        secret: String,
        /// Person id.
        person: String,
        /// Why.
        reason: String,
    },
    /// Record that a secret was changed and who knows the new one.
    ChangeSecret {
        /// Secret id.
        secret: String,
        /// The holders of the new secret.
        holders: Vec<String>,
        /// Why.
        reason: String,
    },
    /// Start a lockdown.
    StartLockdown {
        /// Why.
        reason: String,
    },
    /// End the lockdown.
    EndLockdown {
        /// Why.
        reason: String,
    },
    /// Forget where a person (or everyone) is, after a missed exit.
    ResetOccupancy {
        /// Person id; `None` for everyone.
        person: Option<String>,
        /// Why.
        reason: String,
    },
    /// Clear a keypad lockout.
    ClearKeypadLockout {
        /// Reader id.
        reader: String,
        /// Why.
        reason: String,
    },
    /// Record a vault entry that left no electronic record (A15).
    RecordManualVaultEntry {
        /// Agent.
        person: String,
        /// Vault area id.
        area: String,
        /// Time in.
        time_in_ms: i64,
        /// Time out.
        time_out_ms: Option<i64>,
        /// How (`combination`, `key`).
        method: String,
        /// Note.
        note: String,
    },
}
