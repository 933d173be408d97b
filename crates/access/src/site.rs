//! The site as the access core sees it: a compiled, indexed view of the domain's `SiteConfig` plus
//! the access parameters the site file does not (yet) carry.
//!
//! [`AccessSite`] is built once per configuration (readers, doors and areas go into hash maps and
//! the operating hours are parsed), so a decision does no linear search and no parsing. Building it
//! is the only place the time-zone database is consulted; [`AccessSite::with_time_zone`] takes a
//! resolved zone for callers (and tests) that want no lookup at all.
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use strongroom_domain::Jurisdiction;
use strongroom_domain::site::{AreaKind, Direction, Policy, SiteConfig, parse_hours};

use crate::hash::SiteSecret;
use crate::model::{Schedule, Weekday};

/// How the vault door authenticates (OH 3796:6-3-16(B)(8) "dual authentication"; see
/// requirements.md A14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VaultMode {
    /// Two different authorised agents badge within `policy.vault_dual_auth_window_s`: the first is
    /// "pending second", the second grants both.
    TwoPerson,
    /// One agent presents card and their own unique PIN; a single factor is denied.
    CardAndPin,
    /// Both: two different agents, each with card and PIN.
    TwoPersonCardAndPin,
}

impl VaultMode {
    /// Whether two different agents are needed.
    pub fn two_person(self) -> bool {
        matches!(self, VaultMode::TwoPerson | VaultMode::TwoPersonCardAndPin)
    }
    /// Whether each agent needs card and PIN.
    pub fn card_and_pin(self) -> bool {
        matches!(self, VaultMode::CardAndPin | VaultMode::TwoPersonCardAndPin)
    }
    /// The default for a jurisdiction: card + PIN for an Ohio dispensary (A14 reads "dual
    /// authentication" as two factors with a unique per-employee PIN), two-person elsewhere (IL and
    /// OH-P set no vault factor rule; two-person is the practice).
    pub fn default_for(j: Jurisdiction) -> VaultMode {
        match j {
            Jurisdiction::OhDispensary => VaultMode::CardAndPin,
            Jurisdiction::IlDispensary | Jurisdiction::OhProcessor => VaultMode::TwoPerson,
        }
    }
}

/// Access parameters beyond the site file's `[policy]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessParams {
    /// How vault doors authenticate.
    pub vault_mode: VaultMode,
    /// Whether vendors and service professionals must be on the approved list (IL 1291.300(h)).
    pub require_vendor_approval: bool,
    /// How long a keypad stays locked out after `policy.pin_attempts_lockout` wrong PINs.
    pub keypad_lockout_s: u32,
    /// Extra doors that need card + PIN (AC-12 practice), by door id.
    pub card_and_pin_doors: Vec<String>,
    /// How long a lock may report unlocked without a grant before `door.left_unlocked`.
    pub left_unlocked_limit_s: u32,
    /// How long an emergency override admits its person (seconds).
    pub emergency_override_s: u32,
}

impl AccessParams {
    /// Defaults for a jurisdiction.
    pub fn for_jurisdiction(j: Jurisdiction) -> AccessParams {
        AccessParams {
            vault_mode: VaultMode::default_for(j),
            require_vendor_approval: matches!(j, Jurisdiction::IlDispensary),
            ..AccessParams::default()
        }
    }
}

impl Default for AccessParams {
    fn default() -> Self {
        AccessParams {
            vault_mode: VaultMode::TwoPerson,
            require_vendor_approval: true,
            keypad_lockout_s: 300,
            card_and_pin_doors: Vec::new(),
            left_unlocked_limit_s: 60,
            emergency_override_s: 300,
        }
    }
}

/// An area, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaInfo {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: AreaKind,
    /// Maximum occupancy.
    pub capacity: Option<u32>,
    /// Whether a second entry without an exit is refused.
    pub anti_passback: bool,
}

/// A door, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct DoorInfo {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Outer area id.
    pub from: String,
    /// Inner area id.
    pub to: String,
    /// Outer area kind.
    pub from_kind: AreaKind,
    /// Inner area kind.
    pub to_kind: AreaKind,
    /// Seconds the door may stand open after a grant.
    pub held_open_limit_s: u32,
    /// Seconds the lock releases for on a grant.
    pub unlock_s: u32,
    /// Whether it needs card + PIN (vault in a card-and-PIN mode, or listed in the params).
    pub card_and_pin: bool,
    /// Whether entries need two different agents (vault in a two-person mode).
    pub two_person: bool,
}

impl DoorInfo {
    /// Whether the door leads into a secured area (limited/restricted access, vault, safe,
    /// surveillance room, processing): these are the doors a lockdown closes.
    pub fn is_restricted(&self) -> bool {
        self.to_kind.is_secured()
    }
}

/// A reader, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderInfo {
    /// Id.
    pub id: String,
    /// Index of its door in [`AccessSite::doors`].
    pub door: usize,
    /// Which way it admits.
    pub direction: Direction,
    /// Whether it has a keypad.
    pub keypad: bool,
}

/// The error for a site the access core cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteError {
    /// The time zone is unknown to the time-zone database.
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    /// A reference does not resolve (the site file was not validated).
    #[error("site file not validated: {0}")]
    Unresolved(String),
}

/// The compiled site.
#[derive(Debug, Clone)]
pub struct AccessSite {
    /// The site id.
    pub site_id: String,
    /// The jurisdiction.
    pub jurisdiction: Jurisdiction,
    /// The site time zone.
    pub tz: TimeZone,
    /// Policies from the site file.
    pub policy: Policy,
    /// Access parameters.
    pub params: AccessParams,
    /// Credential-hash key.
    pub secret: SiteSecret,
    /// Doors, in site-file order.
    pub doors: Vec<DoorInfo>,
    door_index: HashMap<String, usize>,
    readers: HashMap<String, ReaderInfo>,
    areas: HashMap<String, AreaInfo>,
    /// Operating hours (open, close) in minutes per weekday, Monday first.
    hours: [Option<(u16, u16)>; 7],
    lockdown_roles: HashSet<String>,
}

impl AccessSite {
    /// Compiles a validated site file, resolving its time zone by name.
    pub fn new(
        config: &SiteConfig,
        params: AccessParams,
        secret: SiteSecret,
    ) -> Result<AccessSite, SiteError> {
        let tz = TimeZone::get(&config.site.timezone)
            .map_err(|_| SiteError::UnknownTimeZone(config.site.timezone.clone()))?;
        Self::with_time_zone(config, tz, params, secret)
    }

    /// Compiles a validated site file with an already-resolved time zone.
    pub fn with_time_zone(
        config: &SiteConfig,
        tz: TimeZone,
        params: AccessParams,
        secret: SiteSecret,
    ) -> Result<AccessSite, SiteError> {
        let areas: HashMap<String, AreaInfo> = config
            .areas
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    AreaInfo {
                        id: a.id.clone(),
                        name: a.name.clone(),
                        kind: a.kind,
                        capacity: a.capacity,
                        anti_passback: a.anti_passback,
                    },
                )
            })
            .collect();
        let extra_mfa: HashSet<&str> = params
            .card_and_pin_doors
            .iter()
            .map(String::as_str)
            .collect();
        let mut doors = Vec::with_capacity(config.doors.len());
        let mut door_index = HashMap::with_capacity(config.doors.len());
        for d in &config.doors {
            let kind = |id: &str| {
                areas.get(id).map(|a| a.kind).ok_or_else(|| {
                    SiteError::Unresolved(format!("door {:?} joins unknown area {id:?}", d.id))
                })
            };
            let (from_kind, to_kind) = (kind(&d.from)?, kind(&d.to)?);
            let vault = to_kind == AreaKind::Vault;
            door_index.insert(d.id.clone(), doors.len());
            doors.push(DoorInfo {
                id: d.id.clone(),
                name: d.name.clone(),
                from: d.from.clone(),
                to: d.to.clone(),
                from_kind,
                to_kind,
                held_open_limit_s: d.held_open_limit_s,
                unlock_s: d.unlock_s,
                card_and_pin: (vault && params.vault_mode.card_and_pin())
                    || extra_mfa.contains(d.id.as_str()),
                two_person: vault && params.vault_mode.two_person(),
            });
        }
        let mut readers = HashMap::with_capacity(config.readers.len());
        for r in &config.readers {
            let door = *door_index.get(&r.door).ok_or_else(|| {
                SiteError::Unresolved(format!("reader {:?} on unknown door {:?}", r.id, r.door))
            })?;
            readers.insert(
                r.id.clone(),
                ReaderInfo {
                    id: r.id.clone(),
                    door,
                    direction: r.direction,
                    keypad: r.keypad,
                },
            );
        }
        let mut hours = [None; 7];
        for (i, day) in Weekday::ALL.iter().enumerate() {
            hours[i] = config
                .site
                .operating_hours
                .get(day.as_str())
                .and_then(|s| parse_hours(s))
                .and_then(|(o, c)| Some((u16::try_from(o).ok()?, u16::try_from(c).ok()?)));
        }
        Ok(AccessSite {
            site_id: config.site.id.clone(),
            jurisdiction: config.site.jurisdiction,
            tz,
            policy: config.policy.clone(),
            params,
            secret,
            doors,
            door_index,
            readers,
            areas,
            hours,
            lockdown_roles: config.policy.lockdown_roles.iter().cloned().collect(),
        })
    }

    /// A reader by id.
    pub fn reader(&self, id: &str) -> Option<&ReaderInfo> {
        self.readers.get(id)
    }
    /// A door by id.
    pub fn door(&self, id: &str) -> Option<&DoorInfo> {
        self.door_index.get(id).and_then(|&i| self.doors.get(i))
    }
    /// A door by index.
    pub fn door_at(&self, i: usize) -> Option<&DoorInfo> {
        self.doors.get(i)
    }
    /// An area by id.
    pub fn area(&self, id: &str) -> Option<&AreaInfo> {
        self.areas.get(id)
    }
    /// All areas (unordered).
    pub fn areas(&self) -> impl Iterator<Item = &AreaInfo> {
        self.areas.values()
    }
    /// Whether `role` may pass restricted doors during a lockdown.
    pub fn is_lockdown_role(&self, role: &str) -> bool {
        self.lockdown_roles.contains(role)
    }

    /// Local weekday and minute of the day at `now_ms`.
    pub fn local_time(&self, now_ms: i64) -> (Weekday, u16) {
        let ts = Timestamp::from_millisecond(now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
        let dt = self.tz.to_datetime(ts);
        let minute = u16::try_from(i32::from(dt.hour()) * 60 + i32::from(dt.minute())).unwrap_or(0);
        (Weekday::from_jiff(dt.weekday()), minute)
    }

    /// Whether the site is open at local `weekday`/`minute`.
    pub fn is_open_at(&self, weekday: Weekday, minute: u16) -> bool {
        self.hours[weekday.index()].is_some_and(|(open, close)| minute >= open && minute < close)
    }

    /// Whether `schedule` admits at `now_ms` (evaluated in the site's time zone on wall-clock time:
    /// on the spring-forward day a window inside the skipped hour never matches; on the fall-back
    /// day the repeated hour matches twice).
    pub fn schedule_admits(&self, schedule: &Schedule, now_ms: i64) -> bool {
        if let Schedule::Always = schedule {
            return true;
        }
        let (day, minute) = self.local_time(now_ms);
        match schedule {
            Schedule::Always => true,
            Schedule::OperatingHours => self.is_open_at(day, minute),
            Schedule::AfterHours => !self.is_open_at(day, minute),
            Schedule::Windows { windows } => windows.iter().any(|w| w.contains(day, minute)),
        }
    }
}
