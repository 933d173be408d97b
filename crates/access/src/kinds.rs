//! The fact kinds the access core records, and their payload fields.
//!
//! Every payload is a JSON object with integers only (times are `*_ms`, epoch milliseconds UTC;
//! durations carry their unit in the name). No payload ever holds a plaintext card number or PIN:
//! cards appear as `card_hash` (HMAC-SHA256 under the site secret, 64 hex digits) and `card_last4`;
//! PINs only as `pin_hash`. Optional fields are omitted when empty. The typed payloads are in
//! [`crate::payload`]; the field lists below are the contract for other crates (journal projections,
//! reports, the alarm state machine).
//!
//! Kinds marked *input* are produced by device adapters (not by this crate) and consumed by
//! [`crate::DoorMonitor::on_fact`].

// ----- registry -----

/// A person was registered. Fields: `person`, `category` (`agent` | `visitor` | `vendor` |
/// `service_professional` | `law_enforcement`), `name`, `roles` (array of strings), `agent_id`?
/// (state agent-ID badge number), `badge_expires_ms`?, `company`?, `service_type`?, `contact`?.
/// Vendors and service professionals start `pending` on the approved vendor list.
pub const PERSON_ADDED: &str = "person.added";
/// A person's details changed. Fields: `person`, and any of `name`, `roles`, `agent_id`,
/// `badge_expires_ms` (each present field replaces the old value).
pub const PERSON_UPDATED: &str = "person.updated";
/// A person's status changed. Fields: `person`, `status` (`active` | `suspended` | `terminated`),
/// `previous`, `reason`. A termination is followed, in the same batch, by `credential.revoked` for
/// each of the person's credentials still holding secrets.
pub const PERSON_STATUS_CHANGED: &str = "person.status_changed";
/// A credential was issued. Fields: `credential`, `person`, `kind` (`card` | `pin` | `card_pin` |
/// `duress_pin`), `card_hash`?, `card_last4`?, `pin_hash`?, `expires_ms`?, `replaces`? (credential
/// id revoked by this issue, which is recorded as its own `credential.revoked` first).
pub const CREDENTIAL_ISSUED: &str = "credential.issued";
/// A credential was suspended. Fields: `credential`, `person`, `reason`.
pub const CREDENTIAL_SUSPENDED: &str = "credential.suspended";
/// A suspended credential was reinstated. Fields: `credential`, `person`, `reason`.
pub const CREDENTIAL_REINSTATED: &str = "credential.reinstated";
/// A credential was revoked (final; its card number and PIN become free). Fields: `credential`,
/// `person`, `reason`.
pub const CREDENTIAL_REVOKED: &str = "credential.revoked";
/// A credential passed its expiry and was marked expired. Fields: `credential`, `person`, `reason`.
pub const CREDENTIAL_EXPIRED: &str = "credential.expired";
/// A person was authorised for an area. Fields: `person`, `area`, `schedule` (object: `{"type":
/// "always"}`, `{"type": "operating_hours"}`, `{"type": "after_hours"}` or `{"type": "windows",
/// "windows": [{"days": ["mon", ..], "start_min": N, "end_min": N}]}`), `valid_until_ms`?. Replaces
/// any earlier authorization of that person for that area.
pub const AREA_AUTHORIZED: &str = "area.authorized";
/// A person's authorization for an area was withdrawn. Fields: `person`, `area`, `reason`.
pub const AREA_DEAUTHORIZED: &str = "area.deauthorized";
/// A vendor or service professional was approved (IL 1291.300(h)). Fields: `person`,
/// `approval_ref`.
pub const VENDOR_APPROVED: &str = "vendor.approved";
/// A vendor or service professional was taken off the approved list. Fields: `person`, `reason`.
pub const VENDOR_REMOVED: &str = "vendor.removed";
/// A secret (vault code, combination, alarm code, password) was registered. Fields: `secret`,
/// `label`, `kind` (`vault_code` | `vault_combination` | `safe_combination` | `alarm_code` |
/// `other`), `area`?. The secret itself is never recorded.
pub const SECRET_REGISTERED: &str = "secret.registered";
/// A person was given a secret. Fields: `secret`, `person`.
pub const SECRET_HOLDER_ADDED: &str = "secret.holder_added";
/// A person no longer holds a secret. Fields: `secret`, `person`, `reason`.
pub const SECRET_HOLDER_REMOVED: &str = "secret.holder_removed";
/// A secret was changed (combination rotated); the holder list is replaced. Fields: `secret`,
/// `holders` (array of person ids), `reason`.
pub const SECRET_CHANGED: &str = "secret.changed";
/// A lockdown began: restricted doors deny everyone without a `policy.lockdown_roles` role.
/// Fields: `reason`.
pub const LOCKDOWN_STARTED: &str = "lockdown.started";
/// The lockdown ended. Fields: `reason`.
pub const LOCKDOWN_ENDED: &str = "lockdown.ended";
/// Occupancy tracking was reset (a missed exit). Fields: `person`? (absent: everyone and every
/// anonymous count), `reason`.
pub const OCCUPANCY_RESET: &str = "occupancy.reset";
/// A keypad lockout was cleared by staff. Fields: `reader`, `reason`.
pub const KEYPAD_LOCKOUT_CLEARED: &str = "keypad.lockout_cleared";
/// A vault entry that left no electronic record (mechanical combination or key) was entered by
/// hand (A15). Fields: `person`, `area`, `door`?, `time_in_ms`, `time_out_ms`?, `method`, `note`,
/// `recorded_by`.
pub const VAULT_MANUAL_ENTRY: &str = "vault.manual_entry";

// ----- decisions -----

/// Common fields of `access.granted`, `access.denied`, `access.pending_second` and
/// `access.pending_escort`: `reader`?, `source`? (`osdp` | `api` | `console`), `door`?,
/// `direction`? (`in` | `out`), `enters`? / `enters_kind`? (the area the person goes into and its
/// kind), `leaves`? / `leaves_kind`?, `person`?, `category`?, `credential`?, `method`? (`card` |
/// `pin` | `card+pin` | `emergency_override` | `staff_release`).
///
/// A grant. Extra fields: `dual_with`? (the other agent of a two-person vault entry),
/// `first_presented_ms`? (when the first of the two badged), `escort`? (the escorting agent of a
/// visitor/vendor), `admits`? (anonymous people admitted by a staff release).
pub const ACCESS_GRANTED: &str = "access.granted";
/// A refusal. Extra fields: `reason` (see [`crate::DenyReason`]), `card_hash`? and `card_last4`?
/// (unknown cards only), `attempts`? (consecutive wrong PINs at the reader).
pub const ACCESS_DENIED: &str = "access.denied";
/// The first agent at a two-person vault door; the door stays shut until a second, different
/// authorised agent badges within `policy.vault_dual_auth_window_s`.
pub const ACCESS_PENDING_SECOND: &str = "access.pending_second";
/// A visitor, vendor or service professional badged at a secured door; the door stays shut until
/// an authorised agent badges within `policy.escort_window_s`.
pub const ACCESS_PENDING_ESCORT: &str = "access.pending_escort";
/// Someone left through a door without a reader decision (request-to-exit button, or an exit the
/// controller reported). Fields: `door`, `leaves`, `leaves_kind`, `enters`, `enters_kind`,
/// `person`?, `source` (`rex` | `api`).
pub const ACCESS_EXIT: &str = "access.exit";
/// An emergency override admitted a person not (yet) on the approved vendor list, after a
/// good-faith attempt to get the regulator's approval (IL 1291.300(h)). Fields: `person`, `door`,
/// `approver`, `description`, `attempt_time_ms`, `attempt_channel`, `attempt_contact`,
/// `valid_until_ms`. Followed by `task.opened` and `access.granted`.
pub const ACCESS_EMERGENCY_OVERRIDE: &str = "access.emergency_override";
/// A task for people opened by a decision. Fields: `task` (id), `task_kind`
/// (`regulator_emergency_notice`), `citation`, `summary`, `person`?, `door`?, `due` (`asap`),
/// `opened_ms`.
pub const TASK_OPENED: &str = "task.opened";

// ----- alarms -----

/// Silent duress: a person's duress PIN was used. Nothing at the door differs. Fields: `reader`,
/// `door`, `person`, `credential` (the duress credential), `silent` (always true).
pub const ALARM_DURESS: &str = "alarm.duress";
/// `policy.unknown_card_burst` unknown cards at one reader within `policy.unknown_card_window_s`.
/// Fields: `reader`, `door`, `count`, `window_s`.
pub const ALARM_UNKNOWN_CARD_BURST: &str = "alarm.unknown_card_burst";
/// `policy.pin_attempts_lockout` wrong PINs in a row at one keypad. Fields: `reader`, `door`,
/// `attempts`.
pub const ALARM_PIN_BRUTE_FORCE: &str = "alarm.pin_brute_force";
/// The keypad refuses PINs until `until_ms`. Fields: `reader`, `door`, `attempts`, `until_ms`.
pub const KEYPAD_LOCKED_OUT: &str = "keypad.locked_out";

// ----- doors -----

/// *Input*: a door contact changed. Fields: `door`, `open` (bool).
pub const DOOR_CONTACT: &str = "door.contact";
/// *Input*: a request-to-exit button was pressed. Fields: `door`.
pub const DOOR_REX: &str = "door.rex";
/// *Input*: a lock reported its state. Fields: `door`, `locked` (bool).
pub const DOOR_LOCK: &str = "door.lock";
/// A door opened without a grant or request-to-exit. Fields: `door`, `area` (the inner area),
/// `area_kind`.
pub const DOOR_FORCED: &str = "door.forced";
/// A door stood open past its `held_open_limit_s`. Fields: `door`, `area`, `area_kind`,
/// `opened_ms`, `limit_s`.
pub const DOOR_HELD_OPEN: &str = "door.held_open";
/// A lock stayed unlocked without a grant past `left_unlocked_limit_s`. Fields: `door`, `area`,
/// `area_kind`, `unlocked_ms`, `limit_s`.
pub const DOOR_LEFT_UNLOCKED: &str = "door.left_unlocked";
/// A door in a forced, held-open or left-unlocked condition is closed and locked again (the
/// restoral). Fields: `door`, `area`, `area_kind`, `after` (`forced` | `held_open` |
/// `left_unlocked`).
pub const DOOR_SECURED: &str = "door.secured";

/// Every kind this crate emits or consumes.
pub const ALL: &[&str] = &[
    PERSON_ADDED,
    PERSON_UPDATED,
    PERSON_STATUS_CHANGED,
    CREDENTIAL_ISSUED,
    CREDENTIAL_SUSPENDED,
    CREDENTIAL_REINSTATED,
    CREDENTIAL_REVOKED,
    CREDENTIAL_EXPIRED,
    AREA_AUTHORIZED,
    AREA_DEAUTHORIZED,
    VENDOR_APPROVED,
    VENDOR_REMOVED,
    SECRET_REGISTERED,
    SECRET_HOLDER_ADDED,
    SECRET_HOLDER_REMOVED,
    SECRET_CHANGED,
    LOCKDOWN_STARTED,
    LOCKDOWN_ENDED,
    OCCUPANCY_RESET,
    KEYPAD_LOCKOUT_CLEARED,
    VAULT_MANUAL_ENTRY,
    ACCESS_GRANTED,
    ACCESS_DENIED,
    ACCESS_PENDING_SECOND,
    ACCESS_PENDING_ESCORT,
    ACCESS_EXIT,
    ACCESS_EMERGENCY_OVERRIDE,
    TASK_OPENED,
    ALARM_DURESS,
    ALARM_UNKNOWN_CARD_BURST,
    ALARM_PIN_BRUTE_FORCE,
    KEYPAD_LOCKED_OUT,
    DOOR_CONTACT,
    DOOR_REX,
    DOOR_LOCK,
    DOOR_FORCED,
    DOOR_HELD_OPEN,
    DOOR_LEFT_UNLOCKED,
    DOOR_SECURED,
];

#[cfg(test)]
mod tests {
    #[test]
    fn kinds_are_valid_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for k in super::ALL {
            assert!(seen.insert(*k), "duplicate kind {k}");
            let f = strongroom_domain::Fact::new(*k, strongroom_domain::Actor::System, 0);
            assert_eq!(f.validate(), Ok(()), "{k}");
        }
    }
}
