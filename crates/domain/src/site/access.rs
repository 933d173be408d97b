//! Access-control part of the site file: areas (`[[area]]`), doors between them (`[[door]]`) and
//! the credential readers on those doors (`[[reader]]`).
use serde::{Deserialize, Serialize};

/// What an area is, as the regulations name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaKind {
    /// Open to the public (lobby, check-in).
    Public,
    /// Limited access area (IL) / dispensary department (OH-D).
    LimitedAccess,
    /// Restricted access area.
    RestrictedAccess,
    /// The product vault.
    Vault,
    /// A currency safe, separate from the product vault (OH 3796:6-3-16(B)(8)).
    CurrencySafe,
    /// The room with surveillance recording equipment.
    SurveillanceRoom,
    /// Point-of-sale area.
    PointOfSale,
    /// Outside the building.
    Exterior,
    /// The parking lot.
    Parking,
    /// Processing or production area (processors).
    Processing,
}

impl AreaKind {
    /// Whether the area holds cannabis or money and so needs electronic locks on its doors.
    pub fn is_secured(self) -> bool {
        matches!(
            self,
            AreaKind::LimitedAccess
                | AreaKind::RestrictedAccess
                | AreaKind::Vault
                | AreaKind::CurrencySafe
                | AreaKind::SurveillanceRoom
                | AreaKind::Processing
        )
    }
}

/// An area (`[[area]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// Identifier, unique among all ids of the site.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What kind of area it is.
    pub kind: AreaKind,
    /// Maximum occupancy (IL 1291.300(b)(3)); none means unlimited.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Deny a second entry without an exit in between.
    #[serde(default)]
    pub anti_passback: bool,
}

/// Lock hardware on a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockKind {
    /// Electronic lock on an access-control controller.
    #[default]
    Electronic,
    /// Key or combination only.
    Mechanical,
    /// No lock.
    None,
}

/// A door between two areas (`[[door]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Door {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The area on the outer side.
    pub from: String,
    /// The area on the inner side (entering means going from `from` to `to`).
    pub to: String,
    /// Lock hardware.
    #[serde(default)]
    pub lock: LockKind,
    /// The locked barrier between the public entrance and the limited access area (AC-01).
    #[serde(default)]
    pub barrier: bool,
    /// Seconds a door may stand open after a grant before it is "held open".
    #[serde(default = "default_held_open_limit_s")]
    pub held_open_limit_s: u32,
    /// Seconds the lock releases for on a grant.
    #[serde(default = "default_unlock_s")]
    pub unlock_s: u32,
    /// Whether a door contact reports open/closed.
    #[serde(default = "default_true")]
    pub contact: bool,
    /// A vault day gate (an inner gate used while the vault door stands open in business hours).
    #[serde(default)]
    pub day_gate: bool,
}

fn default_held_open_limit_s() -> u32 {
    30
}
fn default_unlock_s() -> u32 {
    5
}
fn default_true() -> bool {
    true
}

/// Which way a reader admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the door's `from` area into its `to` area.
    #[default]
    In,
    /// From `to` back to `from`.
    Out,
}

/// How a reader is reached over OSDP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsdpLink {
    /// `serial:/dev/ttyUSB0`, `pty:/path` or `tcp:HOST:PORT`.
    pub channel: String,
    /// The reader's OSDP address (0-126).
    #[serde(default)]
    pub address: u8,
    /// File holding the reader's 16-byte Secure Channel Base Key in hex (mode 0600).
    #[serde(default)]
    pub scbk_file: Option<String>,
    /// Serial speed.
    #[serde(default = "default_baud")]
    pub baud: u32,
}

fn default_baud() -> u32 {
    115_200
}

/// A credential reader on a door (`[[reader]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reader {
    /// Identifier.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The door it sits on.
    pub door: String,
    /// Which way it admits.
    #[serde(default)]
    pub direction: Direction,
    /// Whether it has a keypad (PIN entry).
    #[serde(default)]
    pub keypad: bool,
    /// OSDP link; none for controllers that report over the HTTP API.
    #[serde(default)]
    pub osdp: Option<OsdpLink>,
}
