//! Door monitoring: forced open, held open, left unlocked.
//!
//! A pure state machine per door, fed with contact changes, lock reports, grants and
//! request-to-exit presses, and ticked with the time. It returns alarm facts:
//! - `door.forced`: the contact opened with no grant or REX within the door's `unlock_s` before,
//!   and the lock not reported unlocked;
//! - `door.held_open`: an authorised opening stayed open longer than `held_open_limit_s`;
//! - `door.left_unlocked`: the lock reported unlocked, with no grant window running, for longer
//!   than `left_unlocked_limit_s`;
//! - `door.secured`: the restoral, once the door is closed (and, after left-unlocked, locked).
//!
//! [`DoorMonitor::on_fact`] accepts the journal's facts (inputs and this monitor's own outputs), so
//! replaying the journal rebuilds the monitor without raising an alarm twice.
use std::collections::HashMap;

use strongroom_domain::site::AreaKind;
use strongroom_domain::{Actor, Fact};

use crate::kinds as k;
use crate::payload::{self as p, from_fact, to_fact};
use crate::site::AccessSite;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Watch {
    id: String,
    area: String,
    area_kind: AreaKind,
    held_open_limit_ms: i64,
    unlock_ms: i64,
    open: bool,
    opened_ms: i64,
    /// A grant or REX makes an opening authorised until then.
    authorized_until_ms: i64,
    forced: bool,
    held_reported: bool,
    unlocked_since_ms: Option<i64>,
    unlocked_reported: bool,
}

/// Door monitoring for every door of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorMonitor {
    doors: Vec<Watch>,
    index: HashMap<String, usize>,
    left_unlocked_limit_ms: i64,
}

impl DoorMonitor {
    /// A monitor for the site's doors, all closed and locked.
    pub fn new(site: &AccessSite) -> DoorMonitor {
        let doors: Vec<Watch> = site
            .doors
            .iter()
            .map(|d| Watch {
                id: d.id.clone(),
                area: d.to.clone(),
                area_kind: d.to_kind,
                held_open_limit_ms: i64::from(d.held_open_limit_s) * 1000,
                unlock_ms: i64::from(d.unlock_s) * 1000,
                open: false,
                opened_ms: 0,
                authorized_until_ms: i64::MIN,
                forced: false,
                held_reported: false,
                unlocked_since_ms: None,
                unlocked_reported: false,
            })
            .collect();
        let index = doors
            .iter()
            .enumerate()
            .map(|(i, w)| (w.id.clone(), i))
            .collect();
        DoorMonitor {
            doors,
            index,
            left_unlocked_limit_ms: i64::from(site.params.left_unlocked_limit_s) * 1000,
        }
    }

    fn watch(&mut self, door: &str) -> Option<&mut Watch> {
        let i = *self.index.get(door)?;
        self.doors.get_mut(i)
    }

    /// Whether the door is open.
    pub fn is_open(&self, door: &str) -> bool {
        self.index
            .get(door)
            .and_then(|&i| self.doors.get(i))
            .is_some_and(|w| w.open)
    }

    /// Whether the door is in a forced-open condition.
    pub fn is_forced(&self, door: &str) -> bool {
        self.index
            .get(door)
            .and_then(|&i| self.doors.get(i))
            .is_some_and(|w| w.forced)
    }

    /// A grant at the door: the next opening within `unlock_s` is authorised.
    pub fn on_grant(&mut self, door: &str, now_ms: i64) {
        if let Some(w) = self.watch(door) {
            w.authorized_until_ms = now_ms.saturating_add(w.unlock_ms);
            if w.open && !w.forced && !w.held_reported {
                // A grant while the door stands open restarts the held-open timer.
                w.opened_ms = now_ms;
            }
        }
    }

    /// A request-to-exit press: like a grant for monitoring.
    pub fn on_rex(&mut self, door: &str, now_ms: i64) {
        self.on_grant(door, now_ms);
    }

    /// A contact change. Returns `door.forced` or `door.secured` facts.
    pub fn on_contact(&mut self, door: &str, open: bool, now_ms: i64) -> Vec<Fact> {
        let Some(w) = self.watch(door) else {
            return Vec::new();
        };
        if w.open == open {
            return Vec::new();
        }
        w.open = open;
        let mut out = Vec::new();
        if open {
            w.opened_ms = now_ms;
            let authorised = now_ms <= w.authorized_until_ms || w.unlocked_since_ms.is_some();
            if authorised {
                // One grant, one opening.
                w.authorized_until_ms = i64::MIN;
            } else {
                w.forced = true;
                out.push(alarm(k::DOOR_FORCED, w, now_ms, None, None));
            }
        } else {
            let after = if w.forced {
                Some("forced")
            } else if w.held_reported {
                Some("held_open")
            } else {
                None
            };
            w.forced = false;
            w.held_reported = false;
            if let Some(after) = after {
                out.push(alarm(k::DOOR_SECURED, w, now_ms, Some(after), None));
            }
        }
        out
    }

    /// A lock report. Returns `door.secured` after a left-unlocked condition is locked again.
    pub fn on_lock(&mut self, door: &str, locked: bool, now_ms: i64) -> Vec<Fact> {
        let Some(w) = self.watch(door) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if locked {
            w.unlocked_since_ms = None;
            if w.unlocked_reported {
                w.unlocked_reported = false;
                out.push(alarm(
                    k::DOOR_SECURED,
                    w,
                    now_ms,
                    Some("left_unlocked"),
                    None,
                ));
            }
        } else if w.unlocked_since_ms.is_none() {
            w.unlocked_since_ms = Some(now_ms);
        }
        out
    }

    /// Checks timers. Returns `door.held_open` and `door.left_unlocked` facts, in site-file door
    /// order, each once per condition.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Fact> {
        let limit_unlocked = self.left_unlocked_limit_ms;
        let mut out = Vec::new();
        for w in &mut self.doors {
            if w.open
                && !w.forced
                && !w.held_reported
                && now_ms.saturating_sub(w.opened_ms) > w.held_open_limit_ms
            {
                w.held_reported = true;
                out.push(alarm(
                    k::DOOR_HELD_OPEN,
                    w,
                    now_ms,
                    None,
                    Some(w.held_open_limit_ms),
                ));
            }
            if let Some(since) = w.unlocked_since_ms
                && !w.unlocked_reported
                && now_ms > w.authorized_until_ms
                && now_ms.saturating_sub(since) > limit_unlocked
            {
                w.unlocked_reported = true;
                out.push(alarm(
                    k::DOOR_LEFT_UNLOCKED,
                    w,
                    now_ms,
                    None,
                    Some(limit_unlocked),
                ));
            }
        }
        out
    }

    /// Feeds a journal fact: inputs (`door.contact`, `door.lock`, `door.rex`, `access.granted`,
    /// `access.exit`) return new alarm facts; this monitor's own outputs (`door.forced`,
    /// `door.held_open`, `door.left_unlocked`) mark the condition as already raised. Other facts are
    /// ignored. To rebuild after a restart, feed the journal and drop the returned facts.
    pub fn on_fact(&mut self, fact: &Fact) -> Vec<Fact> {
        let t = fact.time_ms;
        match fact.kind.as_str() {
            k::DOOR_CONTACT => match from_fact::<p::DoorContact>(fact) {
                Ok(c) => self.on_contact(&c.door, c.open, t),
                Err(_) => Vec::new(),
            },
            k::DOOR_LOCK => match from_fact::<p::DoorLock>(fact) {
                Ok(c) => self.on_lock(&c.door, c.locked, t),
                Err(_) => Vec::new(),
            },
            k::DOOR_REX => {
                if let Ok(d) = from_fact::<p::DoorOnly>(fact) {
                    self.on_rex(&d.door, t);
                }
                Vec::new()
            }
            k::ACCESS_GRANTED | k::ACCESS_EXIT => {
                if let Some(serde_json::Value::String(door)) = fact.payload.get("door") {
                    self.on_grant(&door.clone(), t);
                }
                Vec::new()
            }
            k::DOOR_FORCED | k::DOOR_HELD_OPEN | k::DOOR_LEFT_UNLOCKED => {
                if let Ok(d) = from_fact::<p::DoorOnly>(fact)
                    && let Some(w) = self.watch(&d.door)
                {
                    match fact.kind.as_str() {
                        k::DOOR_FORCED => {
                            w.forced = true;
                            if !w.open {
                                w.open = true;
                                w.opened_ms = t;
                            }
                        }
                        k::DOOR_HELD_OPEN => w.held_reported = true,
                        _ => w.unlocked_reported = true,
                    }
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

fn alarm(kind: &str, w: &Watch, now_ms: i64, after: Option<&str>, limit_ms: Option<i64>) -> Fact {
    let held = kind == k::DOOR_HELD_OPEN;
    let unlocked = kind == k::DOOR_LEFT_UNLOCKED;
    let payload = p::DoorAlarm {
        door: w.id.clone(),
        area: w.area.clone(),
        area_kind: w.area_kind,
        opened_ms: held.then_some(w.opened_ms),
        unlocked_ms: if unlocked { w.unlocked_since_ms } else { None },
        limit_s: limit_ms.and_then(|l| u32::try_from(l / 1000).ok()),
        after: after.map(str::to_owned),
    };
    to_fact(kind, Actor::Device(w.id.clone()), now_ms, &payload)
}
