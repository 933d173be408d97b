//! The typed values a check kind's parameters take: basis, door and area selectors, frame-rate
//! measures, calendar intervals, deadline events, power scopes, attestation subjects, limits on
//! measured values, and the thousandths decimals those limits are written in.
use std::fmt;

use serde::{Deserialize, Serialize};
use strongroom_domain::site::AreaKind;

/// Whether a requirement is a legal duty or an industry practice (never scored as a rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Required by the regulation cited.
    Law,
    /// Recommended by an industry source; reported, not scored.
    Practice,
}

impl Basis {
    /// `law` or `practice`.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Law => "law",
            Basis::Practice => "practice",
        }
    }
}

/// Which doors a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorSelector {
    /// Doors with the exterior or the parking lot on one side.
    Exterior,
    /// Exterior doors whose inner side is a public area (public entrances and exits).
    PublicEntrance,
    /// Doors flagged `barrier` (public entrance to limited access area).
    Barrier,
    /// Doors with a limited or restricted access area, vault, safe, surveillance room or
    /// processing area on either side.
    Secured,
    /// Doors leading into a limited access area.
    IntoLimited,
    /// Doors leading into a restricted access area, vault, safe, surveillance room or processing
    /// area.
    IntoRestricted,
    /// Doors leading into the vault.
    Vault,
    /// Every door.
    All,
}

/// The door selector names accepted in packs.
pub const DOOR_SELECTORS: [(&str, DoorSelector); 8] = [
    ("exterior", DoorSelector::Exterior),
    ("public_entrance", DoorSelector::PublicEntrance),
    ("barrier", DoorSelector::Barrier),
    ("secured", DoorSelector::Secured),
    ("into_limited", DoorSelector::IntoLimited),
    ("into_restricted", DoorSelector::IntoRestricted),
    ("vault", DoorSelector::Vault),
    ("all", DoorSelector::All),
];

impl DoorSelector {
    /// The pack name of the selector.
    pub fn as_str(self) -> &'static str {
        DOOR_SELECTORS
            .iter()
            .find(|(_, d)| *d == self)
            .map_or("?", |(n, _)| n)
    }
}

/// Which areas a check looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AreaSelector {
    /// Every area of the site.
    All,
    /// Areas of these kinds.
    Kinds(Vec<AreaKind>),
}

/// Which recorded frame rate a check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FpsMeasure {
    /// The measured recorded frame rate.
    Recorded,
    /// The camera's capture capability.
    Capable,
}

/// A calendar interval: the due date is the earliest of the given parts added to the last date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Interval {
    /// Calendar days.
    pub days: Option<u32>,
    /// Calendar months (clamped to the end of a shorter month).
    pub months: Option<u32>,
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.months, self.days) {
            (Some(m), Some(d)) => write!(f, "the earlier of {m} month(s) and {d} calendar days"),
            (Some(m), None) => write!(f, "{m} month(s)"),
            (None, Some(d)) => write!(f, "{d} calendar days"),
            (None, None) => f.write_str("(none)"),
        }
    }
}

/// What starts a reporting deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineEvent {
    /// A security-system outage (IL 1291.300(e)(7)).
    Outage,
    /// A change to the approved vendor list (IL 1291.300(h)).
    VendorChange,
    /// A corrective action after a diversion, theft or loss.
    IncidentAction,
}

/// Which devices need backup power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerScope {
    /// Cameras (video surveillance).
    Video,
    /// Cameras, panels, readers and sensors.
    All,
}

/// Who or what each attestation is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subjects {
    /// One attestation for the site.
    Site,
    /// One attestation per selected door (the subject is the door id).
    Doors(DoorSelector),
    /// Every attestation of the item must pass; at least one is needed.
    Each,
}

/// A comparison in a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
}

impl Op {
    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }
    /// Whether `value op limit` holds.
    pub fn holds(self, value: i64, limit: i64) -> bool {
        match self {
            Op::Ge => value >= limit,
            Op::Le => value <= limit,
            Op::Gt => value > limit,
            Op::Lt => value < limit,
        }
    }
}

/// A threshold on an attested measurement, written `"width_in >= 12"` in a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// The measurement's name (unit in the name: `width_in`, `diagonal_in`).
    pub measure: String,
    /// The comparison.
    pub op: Op,
    /// The threshold in thousandths of the unit.
    pub value_milli: i64,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.measure,
            self.op.as_str(),
            fmt_milli(self.value_milli)
        )
    }
}

/// Formats thousandths as a short decimal (`12`, `0.5`, `8.25`).
pub fn fmt_milli(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let (int, frac) = (a / 1000, a % 1000);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let f = format!("{frac:03}");
        format!("{sign}{int}.{}", f.trim_end_matches('0'))
    }
}

/// What a vendor record must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorProof {
    /// A state license number (IL private alarm contractor).
    License,
    /// A regulator approval reference.
    Approval,
}

/// Parses a plain decimal (`12`, `0.5`, `8.125`) into thousandths, without floating point.
pub fn parse_decimal_milli(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 3
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let i: i64 = int.parse().ok()?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().ok()?
    };
    let v = i.checked_mul(1000)?.checked_add(f)?;
    Some(if neg { -v } else { v })
}

pub(super) fn parse_limit(s: &str) -> Option<Limit> {
    let mut parts = s.split_whitespace();
    let measure = parts.next()?;
    let op = match parts.next()? {
        ">=" => Op::Ge,
        "<=" => Op::Le,
        ">" => Op::Gt,
        "<" => Op::Lt,
        _ => return None,
    };
    let value_milli = parse_decimal_milli(parts.next()?)?;
    if parts.next().is_some()
        || measure.is_empty()
        || !measure
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    Some(Limit {
        measure: measure.to_owned(),
        op,
        value_milli,
    })
}
