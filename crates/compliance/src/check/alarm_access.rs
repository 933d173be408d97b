//! Alarm and access-control check kinds: electronic locks, alarm points in areas and at doors,
//! vault dual authentication, the dispatch route and backup power.
use strongroom_domain::site::{LockKind, SensorKind};

use super::Status;
use super::context::{Ctx, Outcome};
use crate::pack::{AreaSelector, DoorSelector, PowerScope, enum_name, enum_names};

/// Every door on a selected area has an electronic lock.
pub(super) fn electronic_locks(ctx: &Ctx<'_>, areas: &AreaSelector) -> Outcome {
    let mut o = Outcome::new();
    let mut n = 0;
    for d in &ctx.site.doors {
        let on = |a: &str| ctx.kind(a).is_some_and(|k| ctx.area_selected(k, areas));
        if !(on(&d.from) || on(&d.to)) {
            continue;
        }
        n += 1;
        if d.lock == LockKind::Electronic {
            o.ev(format!("{}: electronic lock", d.id));
        } else {
            o.fail_on(
                &d.id,
                format!("{}: lock is {}, not electronic", d.id, enum_name(&d.lock)),
            );
        }
    }
    if n == 0 {
        return Outcome::with(
            Status::NotApplicable,
            "no doors on the selected areas".into(),
        );
    }
    o.finish(format!("{n} door(s) have electronic locks"), |k| {
        format!("{k} door(s) lack an electronic lock")
    })
}

/// Each selected area holds an alarm point of one of the kinds.
pub(super) fn sensor_in_areas(
    ctx: &Ctx<'_>,
    sensor_kinds: &[SensorKind],
    areas: &AreaSelector,
) -> Outcome {
    let mut o = Outcome::new();
    let selected = ctx.areas(areas);
    if selected.is_empty() {
        return Outcome::with(
            Status::Fail,
            "no area of the required kind is modelled".into(),
        );
    }
    for a in selected {
        let found = ctx.sensors_in(&a.id, sensor_kinds);
        if found.is_empty() {
            o.fail_on(
                &a.id,
                format!(
                    "area {}: no {} alarm point",
                    a.id,
                    enum_names(sensor_kinds, "/")
                ),
            );
        } else {
            o.ev(format!("area {}: {}", a.id, found.join(", ")));
        }
    }
    o.finish("every selected area has the alarm point".into(), |n| {
        format!("{n} area(s) lack the alarm point")
    })
}

/// Each selected door's inner area holds an alarm point of one of the kinds.
pub(super) fn sensor_at_doors(
    ctx: &Ctx<'_>,
    sensor_kinds: &[SensorKind],
    doors: DoorSelector,
) -> Outcome {
    let mut o = Outcome::new();
    let selected = ctx.doors(doors);
    if selected.is_empty() {
        return Outcome::with(
            Status::NotApplicable,
            format!("no {} doors", doors.as_str()),
        );
    }
    for d in selected {
        let inner = if ctx.outside(&d.to) { &d.from } else { &d.to };
        let found = ctx.sensors_in(inner, sensor_kinds);
        if found.is_empty() {
            o.fail_on(
                &d.id,
                format!(
                    "door {}: no {} alarm point in {}",
                    d.id,
                    enum_names(sensor_kinds, "/"),
                    inner
                ),
            );
        } else {
            o.ev(format!("door {}: {}", d.id, found.join(", ")));
        }
    }
    o.finish("every selected door has an alarm point".into(), |n| {
        format!("{n} door(s) lack an alarm point")
    })
}

/// The vault door has a keypad entry reader and the policy requires two factors.
pub(super) fn vault_dual_auth(ctx: &Ctx<'_>) -> Outcome {
    let mut o = Outcome::new();
    let vault_doors = ctx.doors(DoorSelector::Vault);
    if vault_doors.is_empty() {
        return Outcome::with(Status::Fail, "no vault door is modelled".into());
    }
    for d in vault_doors {
        let keypad = ctx.site.readers.iter().any(|r| {
            r.door == d.id && r.keypad && r.direction == strongroom_domain::site::Direction::In
        });
        if !keypad {
            o.fail_on(
                &d.id,
                format!(
                    "vault door {}: no entry reader with a keypad for the second factor",
                    d.id
                ),
            );
        } else {
            o.ev(format!("vault door {}: keypad reader present", d.id));
        }
    }
    if ctx.records.vault_dual_auth_configured {
        o.ev("vault door policy requires two factors".into());
    } else {
        o.fail_on(
            "vault",
            "vault door policy does not require two factors (card + own PIN, or biometric + PIN)"
                .into(),
        );
    }
    o.finish("vault uses dual authentication".into(), |_| {
        "vault dual authentication is not in force".into()
    })
}

/// Alarms route to a central station (a secondary receiver is noted, not required).
pub(super) fn dispatch_route(ctx: &Ctx<'_>) -> Outcome {
    match &ctx.site.central_station {
        Some(cs) => {
            let mut o = Outcome::with(
                Status::Pass,
                format!(
                    "alarms route to central station {} (account {})",
                    cs.primary, cs.account
                ),
            );
            if let Some(s) = &cs.secondary {
                o.ev(format!("secondary receiver {s}"));
            } else {
                o.ev("no secondary receiver configured".into());
            }
            o
        }
        None => {
            let mut o = Outcome::with(
                Status::Fail,
                "no central station / PSAP route configured".into(),
            );
            o.devices.push("central_station".into());
            o
        }
    }
}

/// Every device in scope is on a UPS or generator with the minimum runtime.
pub(super) fn power_backup(ctx: &Ctx<'_>, min_runtime_hours: u32, scope: PowerScope) -> Outcome {
    let mut o = Outcome::new();
    let mut devices: Vec<&str> = ctx.site.cameras.iter().map(|c| c.id.as_str()).collect();
    if scope == PowerScope::All {
        devices.extend(ctx.site.panels.iter().map(|p| p.id.as_str()));
        devices.extend(ctx.site.readers.iter().map(|r| r.id.as_str()));
        devices.extend(ctx.site.sensors.iter().map(|s| s.id.as_str()));
    }
    let need = u64::from(min_runtime_hours) * 60;
    for d in &devices {
        let best = ctx
            .records
            .power_backups
            .iter()
            .filter(|b| b.devices.iter().any(|x| x == d || x == "*"))
            .max_by_key(|b| b.runtime_minutes);
        match best {
            Some(b) if u64::from(b.runtime_minutes) >= need => {
                if !o.records.contains(&b.id) {
                    o.records.push(b.id.clone());
                }
            }
            Some(b) => o.fail_on(
                d,
                format!(
                    "{d}: backup {} runs {} min, needs {need} min",
                    b.id, b.runtime_minutes
                ),
            ),
            None => o.fail_on(d, format!("{d}: on no UPS or generator")),
        }
    }
    o.finish(
        format!(
            "{} device(s) have at least {min_runtime_hours} h of backup power",
            devices.len()
        ),
        |n| format!("{n} device(s) lack {min_runtime_hours} h of backup power"),
    )
}
