//! What the console shows of doors and areas: each door's live state (the monitor's open and
//! forced, plus lock, conditions and times kept from the facts), its readers with their OSDP
//! links, and occupancy per area.
use std::collections::HashMap;

use serde_json::Value;
use strongroom_access::kinds as k;
use strongroom_domain::Fact;

use crate::service::AccessService;
use crate::views::{AreaOccupancy, DoorList, DoorStatus, ReaderStatus};

/// A door's state beyond the monitor's open/forced: lock, conditions, times.
#[derive(Debug, Clone, Default)]
pub(crate) struct DoorView {
    locked: Option<bool>,
    since_ms: Option<i64>,
    held_open: bool,
    left_unlocked: bool,
    last_grant_ms: Option<i64>,
    last_alarm: Option<String>,
    last_alarm_ms: Option<i64>,
}

impl DoorView {
    /// Notes what a durable fact says about its door.
    pub(crate) fn note(views: &mut HashMap<String, DoorView>, f: &Fact) {
        let Some(Value::String(door)) = f.payload.get("door") else {
            return;
        };
        let flag = |key: &str| f.payload.get(key).and_then(Value::as_bool);
        match f.kind.as_str() {
            k::DOOR_CONTACT => {
                let v = views.entry(door.clone()).or_default();
                v.since_ms = Some(f.time_ms);
                if flag("open") == Some(false) {
                    v.held_open = false;
                }
            }
            k::DOOR_LOCK => {
                let v = views.entry(door.clone()).or_default();
                v.locked = flag("locked");
            }
            k::DOOR_FORCED | k::DOOR_HELD_OPEN | k::DOOR_LEFT_UNLOCKED => {
                let v = views.entry(door.clone()).or_default();
                match f.kind.as_str() {
                    k::DOOR_FORCED => {}
                    k::DOOR_HELD_OPEN => v.held_open = true,
                    _ => v.left_unlocked = true,
                }
                v.last_alarm = Some(f.kind.clone());
                v.last_alarm_ms = Some(f.time_ms);
            }
            k::DOOR_SECURED => {
                let v = views.entry(door.clone()).or_default();
                match f.payload.get("after").and_then(Value::as_str) {
                    Some("held_open") => v.held_open = false,
                    Some("left_unlocked") => v.left_unlocked = false,
                    _ => {}
                }
            }
            k::ACCESS_GRANTED | k::ACCESS_EXIT => {
                views.entry(door.clone()).or_default().last_grant_ms = Some(f.time_ms);
            }
            _ => {}
        }
    }
}

impl AccessService {
    /// Every door with its live state and readers, and the lockdown in force.
    pub async fn doors(&self) -> DoorList {
        let links = self.links.lock().map(|m| m.clone()).unwrap_or_default();
        let config = self.config();
        let g = self.lock().await;
        let lockdown = g.state.lockdown().cloned();
        let doors = g
            .site
            .doors
            .iter()
            .map(|d| {
                let view = g.doors.get(&d.id).cloned().unwrap_or_default();
                let readers = config
                    .readers
                    .iter()
                    .filter(|r| r.door == d.id)
                    .map(|r| ReaderStatus {
                        id: r.id.clone(),
                        name: r.name.clone(),
                        direction: r.direction,
                        keypad: r.keypad,
                        osdp: links.get(&r.id).map(|l| l.view()),
                        keypad_locked_until_ms: g.state.keypad_locked_until(&r.id),
                    })
                    .collect();
                DoorStatus {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    from: d.from.clone(),
                    to: d.to.clone(),
                    to_kind: d.to_kind,
                    open: g.monitor.is_open(&d.id),
                    forced: g.monitor.is_forced(&d.id),
                    held_open: view.held_open,
                    left_unlocked: view.left_unlocked,
                    locked: view.locked,
                    since_ms: view.since_ms,
                    last_grant_ms: view.last_grant_ms,
                    last_alarm: view.last_alarm,
                    last_alarm_ms: view.last_alarm_ms,
                    unlock_s: d.unlock_s,
                    held_open_limit_s: d.held_open_limit_s,
                    card_and_pin: d.card_and_pin,
                    two_person: d.two_person,
                    locked_down: lockdown.is_some() && d.is_restricted(),
                    readers,
                }
            })
            .collect();
        DoorList { doors, lockdown }
    }

    /// Occupancy per area with capacity; with `names`, who is inside.
    pub async fn occupancy(&self, names: bool) -> Vec<AreaOccupancy> {
        let config = self.config();
        self.read(|_, st| {
            config
                .areas
                .iter()
                .map(|a| {
                    let count = st.occupancy(&a.id);
                    AreaOccupancy {
                        area: a.id.clone(),
                        name: a.name.clone(),
                        kind: a.kind,
                        capacity: a.capacity,
                        count,
                        at_capacity: a.capacity.is_some_and(|c| count >= c),
                        people: names
                            .then(|| st.people_in(&a.id).into_iter().map(str::to_owned).collect()),
                    }
                })
                .collect()
        })
        .await
    }
}
