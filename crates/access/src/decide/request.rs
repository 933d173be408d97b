//! What can be decided: a credential presented at a reader, an exit, an emergency override or a
//! staff release from the console.
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::hash::card_last4;
use crate::payload::Source;

/// A credential presented at a reader. `Debug` never prints the card number or PIN.
#[derive(Clone, PartialEq, Eq)]
pub struct Presentation {
    /// Reader id.
    pub reader: String,
    /// Card number as read (the adapter's normal form: decimal, or hex of the raw bits).
    pub card: Option<String>,
    /// PIN digits (the adapter collects a card read and the keypad digits that follow into one
    /// presentation).
    pub pin: Option<String>,
    /// Where it came from.
    pub source: Source,
}

impl fmt::Debug for Presentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presentation")
            .field("reader", &self.reader)
            .field(
                "card",
                &self.card.as_ref().map(|c| format!("…{}", card_last4(c))),
            )
            .field("pin", &self.pin.as_ref().map(|_| "****"))
            .field("source", &self.source)
            .finish()
    }
}

/// The record of a good-faith attempt to get the regulator's pre-approval (IL 1291.300(h)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodFaithAttempt {
    /// When.
    pub time_ms: i64,
    /// How (phone, email, portal).
    pub channel: String,
    /// Whom.
    pub contact: String,
}

/// An emergency override admitting a person not on the approved vendor list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyOverride {
    /// Door id.
    pub door: String,
    /// The person admitted.
    pub person: String,
    /// The agent approving (and escorting).
    pub approver: String,
    /// The emergency.
    pub description: String,
    /// The good-faith attempt; required.
    pub good_faith: Option<GoodFaithAttempt>,
}

/// Where an exit was reported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitSource {
    /// Request-to-exit button.
    Rex,
    /// A controller reported it over the API.
    Api,
}

/// Something to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A card and/or PIN at a reader.
    Present(Presentation),
    /// Someone left through a door (REX or a reported exit); updates occupancy.
    Exit {
        /// Door id.
        door: String,
        /// Who, when known.
        person: Option<String>,
        /// Where it was reported from.
        source: ExitSource,
    },
    /// An emergency override (IL 1291.300(h)).
    EmergencyOverride(EmergencyOverride),
    /// A staff release from the console (AC-01), optionally admitting anonymous people (customers
    /// after check-in) who count toward the area's capacity.
    StaffRelease {
        /// Door id.
        door: String,
        /// Console user.
        user: String,
        /// Why.
        reason: String,
        /// Anonymous people admitted.
        admits: u32,
    },
}
