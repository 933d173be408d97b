//! What a decision says: grant, pending or deny (with the reason), the facts to journal and what
//! the reader shows.
use serde::{Deserialize, Serialize};
use strongroom_domain::{Actor, Fact};

use crate::kinds as k;
use crate::payload::{AccessPayload, to_fact};

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
    /// A decision; `at_reader` says whether a reader shows its outcome.
    pub(super) fn new(outcome: Outcome, facts: Vec<Fact>, at_reader: bool) -> Decision {
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
    /// A denial no reader shows, recorded as one `access.denied` fact carrying `reason`.
    pub(super) fn denied_off_reader(
        reason: DenyReason,
        actor: Actor,
        now_ms: i64,
        payload: AccessPayload,
    ) -> Decision {
        let payload = AccessPayload {
            reason: Some(reason),
            ..payload
        };
        let denied = to_fact(k::ACCESS_DENIED, actor, now_ms, &payload);
        Decision::new(Outcome::Deny(reason), vec![denied], false)
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
