//! What the access service's operator API returns: typed views with OpenAPI schemas, so the HTTP
//! layer serves them as they are. Records of the pure crate (a person's authorizations, vault log
//! entries, access records, roster rows) are carried as they serialize and described as objects.
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use strongroom_access::records::{AccessRecord, AreaAccessRow, SecretHolderRow};
use strongroom_access::state::{Authorization, Credential, Lockdown, Person, Secret, VendorInfo};
use strongroom_access::{
    CredentialKind, CredentialStatus, PendingKind, PersonCategory, PersonStatus, ReaderFeedback,
    VaultLogEntry,
};
use strongroom_domain::site::{AreaKind, Direction};
use strongroom_journal::JournalEvent;
use utoipa::ToSchema;

/// The answer to a presentation, an exit, a staff release or an emergency override, as a
/// controller (and the console) sees it. It depends only on the outcome: a duress entry answers
/// exactly like a normal one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Answer {
    /// `granted`, `denied` or `pending`.
    #[schema(value_type = String)]
    pub outcome: &'static str,
    /// Why it was denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reason: Option<&'static str>,
    /// What a pending request waits for (`second_agent`, `escort`, `pin`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub pending: Option<PendingKind>,
    /// Reader id (empty for exits, releases and overrides).
    pub reader: String,
    /// Door id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    /// Seconds the lock releases for (grants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlock_s: Option<u32>,
    /// What the reader shows: `granted`, `denied` or `none`.
    #[schema(value_type = String)]
    pub feedback: ReaderFeedback,
}

/// A journal event that recorded a change (not its payload: a credential's payload holds its
/// keyed hashes, which no answer hands out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EventRef {
    /// Sequence number.
    pub seq: u64,
    /// Fact kind.
    pub kind: String,
    /// When, epoch ms.
    pub time_ms: i64,
}

impl EventRef {
    /// The references of `events`.
    pub fn of(events: &[std::sync::Arc<JournalEvent>]) -> Vec<EventRef> {
        events
            .iter()
            .map(|e| EventRef {
                seq: e.seq,
                kind: e.kind.clone(),
                time_ms: e.time_ms,
            })
            .collect()
    }
}

/// A credential as the API shows it: no card number, no PIN, no hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CredentialView {
    /// Id.
    pub id: String,
    /// Holder.
    pub person: String,
    /// `card`, `pin`, `card_pin` or `duress_pin`.
    #[schema(value_type = String)]
    pub kind: CredentialKind,
    /// `active`, `suspended`, `revoked`, `expired`.
    #[schema(value_type = String)]
    pub status: CredentialStatus,
    /// Last four characters of the card number.
    pub card_last4: Option<String>,
    /// Expiry, epoch ms.
    pub expires_ms: Option<i64>,
    /// When issued, epoch ms.
    pub issued_ms: i64,
}

impl From<&Credential> for CredentialView {
    fn from(c: &Credential) -> Self {
        CredentialView {
            id: c.id.clone(),
            person: c.person.clone(),
            kind: c.kind,
            status: c.status,
            card_last4: c.card_last4.clone(),
            expires_ms: c.expires_ms,
            issued_ms: c.issued_ms,
        }
    }
}

/// A registered person with credentials and where they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PersonView {
    /// Id.
    pub id: String,
    /// `agent`, `visitor`, `vendor`, `service_professional`, ...
    #[schema(value_type = String)]
    pub category: PersonCategory,
    /// Name.
    pub name: String,
    /// `active`, `suspended` or `terminated`.
    #[schema(value_type = String)]
    pub status: PersonStatus,
    /// Roles.
    pub roles: BTreeSet<String>,
    /// State agent-ID badge number.
    pub agent_id: Option<String>,
    /// Badge expiry, epoch ms.
    pub badge_expires_ms: Option<i64>,
    /// Approved-vendor-list entry.
    #[schema(value_type = Option<Object>)]
    pub vendor: Option<VendorInfo>,
    /// Area authorizations by area id (schedule, valid_until_ms, granted_ms).
    #[schema(value_type = Object)]
    pub authorizations: BTreeMap<String, Authorization>,
    /// Credentials, all statuses.
    pub credentials: Vec<CredentialView>,
    /// When registered, epoch ms.
    pub added_ms: i64,
    /// The area the person is in, if known.
    pub location: Option<String>,
}

impl PersonView {
    /// `p` with its credentials and location from `state`.
    pub fn of(p: &Person, state: &strongroom_access::AccessState) -> PersonView {
        PersonView {
            id: p.id.clone(),
            category: p.category,
            name: p.name.clone(),
            status: p.status,
            roles: p.roles.clone(),
            agent_id: p.agent_id.clone(),
            badge_expires_ms: p.badge_expires_ms,
            vendor: p.vendor.clone(),
            authorizations: p.authorizations.clone(),
            credentials: p
                .credentials
                .iter()
                .filter_map(|c| state.credential(c))
                .map(CredentialView::from)
                .collect(),
            added_ms: p.added_ms,
            location: state.location(&p.id).map(str::to_owned),
        }
    }
}

/// A vendor or service professional and their approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VendorView {
    /// Person id.
    pub person: String,
    /// Name.
    pub name: String,
    /// Category.
    #[schema(value_type = String)]
    pub category: PersonCategory,
    /// Status.
    #[schema(value_type = String)]
    pub status: PersonStatus,
    /// The approved-list entry (status, approval_ref, company, service_type, contact, changed_ms).
    #[schema(value_type = Option<Object>)]
    pub vendor: Option<VendorInfo>,
}

/// The registered secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SecretList {
    /// Secrets (id, label, kind, area, holders, changed_ms); never a value.
    #[schema(value_type = Vec<Object>)]
    pub secrets: Vec<Secret>,
}

/// Whether a lockdown is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LockdownStatus {
    /// Whether one is.
    pub active: bool,
    /// Since when and why.
    #[schema(value_type = Option<Object>)]
    pub lockdown: Option<Lockdown>,
}

/// An OSDP reader's link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReaderLinkView {
    /// `pty:PATH`, `serial:DEVICE` or `tcp:HOST:PORT`.
    pub channel: String,
    /// OSDP address.
    pub address: u8,
    /// Whether it has its own Secure Channel key.
    pub commissioned: bool,
    /// `connecting`, `online`, `offline`, `trouble`, `tamper`.
    pub state: String,
    /// Whether the Secure Channel is up.
    pub secure: bool,
    /// Since when, epoch ms.
    pub since_ms: i64,
    /// Why, if anything is worth saying.
    pub detail: Option<String>,
}

/// A reader at a door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReaderStatus {
    /// Reader id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `in` or `out`.
    #[schema(value_type = String)]
    pub direction: Direction,
    /// Whether it has a keypad.
    pub keypad: bool,
    /// Its OSDP link, for OSDP readers that started.
    pub osdp: Option<ReaderLinkView>,
    /// Until when its keypad is locked out after wrong PINs, epoch ms.
    pub keypad_locked_until_ms: Option<i64>,
}

/// A door with its live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DoorStatus {
    /// Door id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Area on the outside.
    pub from: String,
    /// Area on the inside.
    pub to: String,
    /// Kind of the inside area.
    #[schema(value_type = String)]
    pub to_kind: AreaKind,
    /// Open (door monitor).
    pub open: bool,
    /// Forced and not yet secured.
    pub forced: bool,
    /// Held open past its limit.
    pub held_open: bool,
    /// Left unlocked.
    pub left_unlocked: bool,
    /// Lock state as last reported.
    pub locked: Option<bool>,
    /// Last contact change, epoch ms.
    pub since_ms: Option<i64>,
    /// Last grant or exit, epoch ms.
    pub last_grant_ms: Option<i64>,
    /// Kind of the last door alarm.
    pub last_alarm: Option<String>,
    /// When, epoch ms.
    pub last_alarm_ms: Option<i64>,
    /// Seconds the lock releases for.
    pub unlock_s: u32,
    /// Held-open limit, seconds.
    pub held_open_limit_s: u32,
    /// Whether it needs card and PIN.
    pub card_and_pin: bool,
    /// Whether it needs two people.
    pub two_person: bool,
    /// Whether the lockdown holds it shut.
    pub locked_down: bool,
    /// Its readers.
    pub readers: Vec<ReaderStatus>,
}

/// Every door and the lockdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DoorList {
    /// Doors in site-file order.
    pub doors: Vec<DoorStatus>,
    /// The lockdown in force.
    #[schema(value_type = Option<Object>)]
    pub lockdown: Option<Lockdown>,
}

/// An area's occupancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AreaOccupancy {
    /// Area id.
    pub area: String,
    /// Name.
    pub name: String,
    /// Kind.
    #[schema(value_type = String)]
    pub kind: AreaKind,
    /// Capacity.
    pub capacity: Option<u32>,
    /// People inside.
    pub count: u32,
    /// Whether it is full.
    pub at_capacity: bool,
    /// Who is inside (only for callers who may manage people).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people: Option<Vec<String>>,
}

/// The vault log of one local date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VaultLogView {
    /// Site id.
    pub site: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Entries in time order.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<VaultLogEntry>,
}

/// Who knows the vault and safe codes and who may open the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VaultCodeHolders {
    /// Holders of vault and safe secrets.
    #[schema(value_type = Vec<Object>)]
    pub holders: Vec<SecretHolderRow>,
    /// People whose credentials open the vault or the safe.
    #[schema(value_type = Vec<Object>)]
    pub vault_access: Vec<AreaAccessRow>,
    /// Secrets with a holder who is no longer active.
    pub secrets_to_change: Vec<String>,
}

/// Who may enter the surveillance room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SurveillanceAccess {
    /// One row per person and area.
    #[schema(value_type = Vec<Object>)]
    pub people: Vec<AreaAccessRow>,
}

/// Access records for restricted areas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecordList {
    /// Records in journal order.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<AccessRecord>,
}
