//! Video surveillance check kinds: camera coverage of doors and areas, frame rate, pixels across
//! a face, resolution, recording mode, clock sync, retention, and the notification of
//! surveillance failures.
use strongroom_domain::site::{Channel, RecordingMode};

use super::Status;
use super::context::{Ctx, Outcome};
use crate::pack::{AreaSelector, DoorSelector, FpsMeasure, enum_name, enum_names, fmt_milli};

/// The message suffix naming a camera purpose (`` tagged `face` ``), empty when there is none.
pub(super) fn tagged(purpose: Option<&str>) -> String {
    purpose
        .map(|p| format!(" tagged `{p}`"))
        .unwrap_or_default()
}

pub(super) fn camera_at_doors(ctx: &Ctx<'_>, sel: DoorSelector, purpose: Option<&str>) -> Outcome {
    let doors = ctx.doors(sel);
    if doors.is_empty() {
        return Outcome::with(
            Status::NotApplicable,
            format!("no {} doors on the site", sel.as_str()),
        );
    }
    let mut o = Outcome::new();
    for d in &doors {
        let cams = ctx.cameras_viewing(|c| c.covers_doors.contains(&d.id), purpose);
        if cams.is_empty() {
            o.fail_on(
                &d.id,
                format!("door {} ({}): no camera{}", d.id, d.name, tagged(purpose)),
            );
        } else {
            o.ev(format!("door {}: {}", d.id, cams.join(", ")));
        }
    }
    let n = doors.len();
    o.finish(format!("{n} {} door(s) in view", sel.as_str()), |k| {
        format!(
            "{k} of {n} {} door(s) not in view of a suitable camera",
            sel.as_str()
        )
    })
}

pub(super) fn camera_on_areas(ctx: &Ctx<'_>, sel: &AreaSelector, purpose: Option<&str>) -> Outcome {
    let areas = ctx.areas(sel);
    if areas.is_empty() {
        return Outcome::with(
            Status::Fail,
            "no area of the required kind is modelled".into(),
        );
    }
    let mut o = Outcome::new();
    for a in &areas {
        let cams = ctx.cameras_viewing(|c| c.covers_areas.contains(&a.id), purpose);
        if !cams.is_empty() {
            o.ev(format!("area {}: {}", a.id, cams.join(", ")));
        } else if let Some(x) = ctx.records.coverage_exemptions.iter().find(|x| {
            x.area_id == a.id && !x.legal_reason.trim().is_empty() && !x.approver.trim().is_empty()
        }) {
            o.ev(format!(
                "area {}: exempt ({}; approved by {})",
                a.id, x.legal_reason, x.approver
            ));
        } else {
            o.fail_on(
                &a.id,
                format!("area {} ({}): no camera{}", a.id, a.name, tagged(purpose)),
            );
        }
    }
    let n = areas.len();
    o.finish(format!("{n} area(s) covered"), |k| {
        format!("{k} of {n} area(s) not covered")
    })
}

pub(super) fn frame_rate(ctx: &Ctx<'_>, min_fps: u32, measure: FpsMeasure) -> Outcome {
    let mut o = Outcome::new();
    let need_milli = u64::from(min_fps) * 1000;
    for c in &ctx.site.cameras {
        let m = ctx.cams.get(c.id.as_str());
        let got_milli: Option<u64> = match measure {
            FpsMeasure::Recorded => m.and_then(|m| m.recorded_fps_milli).map(u64::from),
            FpsMeasure::Capable => m
                .and_then(|m| m.capable_fps)
                .or(c.capable_fps)
                .map(|f| u64::from(f) * 1000),
        };
        let what = enum_name(&measure);
        match got_milli {
            Some(g) if g >= need_milli => {
                o.ev(format!("{}: {what} {} fps", c.id, fmt_milli(g as i64)))
            }
            Some(g) => o.fail_on(
                &c.id,
                format!("{}: {what} {} fps < {min_fps}", c.id, fmt_milli(g as i64)),
            ),
            None => o.fail_on(&c.id, format!("{}: no {what} frame rate measured", c.id)),
        }
    }
    o.finish(
        format!("every camera {} >= {min_fps} fps", enum_name(&measure)),
        |n| format!("{n} camera(s) below {min_fps} fps or unmeasured"),
    )
}

pub(super) fn face_pixels(ctx: &Ctx<'_>, min: u32, purpose: &str) -> Outcome {
    let cams: Vec<_> = ctx
        .site
        .cameras
        .iter()
        .filter(|c| ctx.has_purpose(c, purpose))
        .collect();
    if cams.is_empty() {
        return Outcome::with(Status::Fail, format!("no camera tagged `{purpose}`"));
    }
    let mut o = Outcome::new();
    for c in cams {
        match ctx.cams.get(c.id.as_str()).and_then(|m| m.face_pixels) {
            Some(p) if p >= min => o.ev(format!("{}: {p} px across a face", c.id)),
            Some(p) => o.fail_on(&c.id, format!("{}: {p} px across a face < {min}", c.id)),
            None => o.fail_on(
                &c.id,
                format!("{}: no face-width measurement from a test image", c.id),
            ),
        }
    }
    o.finish(
        format!("every `{purpose}` camera >= {min} px across a face"),
        |n| format!("{n} `{purpose}` camera(s) below {min} px or unmeasured"),
    )
}

pub(super) fn resolution(ctx: &Ctx<'_>, w: u32, h: u32) -> Outcome {
    let mut o = Outcome::new();
    for c in &ctx.site.cameras {
        let m = ctx.cams.get(c.id.as_str());
        match (m.and_then(|m| m.width_px), m.and_then(|m| m.height_px)) {
            (Some(cw), Some(ch)) if cw >= w && ch >= h => o.ev(format!("{}: {cw}x{ch}", c.id)),
            (Some(cw), Some(ch)) => o.fail_on(&c.id, format!("{}: {cw}x{ch} below {w}x{h}", c.id)),
            _ => o.fail_on(&c.id, format!("{}: recorded resolution not measured", c.id)),
        }
    }
    o.finish(format!("every camera records at least {w}x{h}"), |n| {
        format!("{n} camera(s) below {w}x{h} or unmeasured")
    })
}

pub(super) fn retention(ctx: &Ctx<'_>, days: u32) -> Outcome {
    let mut o = Outcome::new();
    // A site younger than the retention period cannot have more history than its age.
    let age_days = ctx.records.site.operating_since.map(|since| {
        let d = (ctx.today - since).get_days();
        u32::try_from(d.max(0)).unwrap_or(0)
    });
    let required = age_days.map_or(days, |a| a.min(days));
    if required < days {
        o.ev(format!(
            "site operating for {} day(s): {required} day(s) required now, {days} once older",
            age_days.unwrap_or(0)
        ));
    }
    for c in &ctx.site.cameras {
        match ctx
            .cams
            .get(c.id.as_str())
            .and_then(|m| m.recorded_days_available)
        {
            Some(a) if a >= required => o.ev(format!(
                "{}: {a} day(s) available, {required} required",
                c.id
            )),
            Some(a) => o.fail_on(
                &c.id,
                format!("{}: {a} day(s) available, {required} required", c.id),
            ),
            None => o.fail_on(&c.id, format!("{}: available history not measured", c.id)),
        }
    }
    o.finish(format!("every camera keeps >= {required} day(s)"), |n| {
        format!("{n} camera(s) keep less than {required} day(s)")
    })
}

/// Recording mode per camera (the measured mode, else the configured one) is one the rule allows.
pub(super) fn recording_mode(ctx: &Ctx<'_>, allowed_modes: &[RecordingMode]) -> Outcome {
    let mut o = Outcome::new();
    for c in &ctx.site.cameras {
        let mode = ctx
            .cams
            .get(c.id.as_str())
            .and_then(|m| m.recording_mode)
            .unwrap_or(c.recording);
        if allowed_modes.contains(&mode) {
            o.ev(format!("{}: records {}", c.id, enum_name(&mode)));
        } else {
            o.fail_on(
                &c.id,
                format!(
                    "{}: records {}, allowed: {}",
                    c.id,
                    enum_name(&mode),
                    enum_names(allowed_modes, ", ")
                ),
            );
        }
    }
    o.finish(
        format!(
            "{} camera(s) record in an allowed mode",
            ctx.site.cameras.len()
        ),
        |n| format!("{n} camera(s) record in a mode the rule does not allow"),
    )
}

/// Each camera's measured clock offset is within the tolerance.
pub(super) fn clock_sync(ctx: &Ctx<'_>, max_offset_ms: u32) -> Outcome {
    let mut o = Outcome::new();
    for c in &ctx.site.cameras {
        match ctx.cams.get(c.id.as_str()).and_then(|m| m.clock_offset_ms) {
            Some(off) if off.unsigned_abs() <= u64::from(max_offset_ms) => {
                o.ev(format!("{}: clock offset {off} ms", c.id))
            }
            Some(off) => o.fail_on(
                &c.id,
                format!("{}: clock offset {off} ms exceeds {max_offset_ms} ms", c.id),
            ),
            None => o.fail_on(&c.id, format!("{}: no clock offset measured", c.id)),
        }
    }
    o.finish("every camera clock within tolerance".into(), |n| {
        format!("{n} camera clock(s) unsynchronised or unmeasured")
    })
}

pub(super) fn failure_notification(
    ctx: &Ctx<'_>,
    within_minutes: u32,
    allowed: &[Channel],
    email_alone_allowed: bool,
) -> Outcome {
    let mut o = Outcome::new();
    let chains: Vec<_> = ctx
        .site
        .notify
        .chains
        .iter()
        .filter(|c| {
            c.applies_to
                .iter()
                .any(|a| a == "*" || a == "health.*" || a.starts_with("health."))
        })
        .collect();
    if chains.is_empty() {
        o.fail_on(
            "notify",
            "no notification chain handles surveillance failures (applies_to health.*)".into(),
        );
        return o.finish(String::new(), |_| "no failure-notification chain".into());
    }
    let limit_s = u64::from(within_minutes) * 60;
    let mut timely: Vec<Channel> = Vec::new();
    for chain in chains {
        for step in &chain.steps {
            let contact = ctx
                .site
                .notify
                .contacts
                .iter()
                .find(|c| c.id == step.contact);
            let reachable = contact.is_some_and(|c| match step.channel {
                Channel::Sms | Channel::Voice => c.phone.as_deref().is_some_and(|p| !p.is_empty()),
                Channel::Email => c.email.as_deref().is_some_and(|e| !e.is_empty()),
            });
            let ch = enum_name(&step.channel);
            let label = format!(
                "chain {} step {} via {ch} after {} s",
                chain.id, step.contact, step.after_s
            );
            if !allowed.contains(&step.channel) {
                o.ev(format!(
                    "{label}: channel not allowed by the rule, does not count"
                ));
            } else if !reachable {
                o.ev(format!("{label}: contact has no {ch} address"));
            } else if !ctx.channel_configured(step.channel) {
                o.ev(format!("{label}: no {ch} provider configured"));
            } else if u64::from(step.after_s) > limit_s {
                o.ev(format!("{label}: later than {within_minutes} min"));
            } else {
                o.ev(format!("{label}: counts"));
                timely.push(step.channel);
            }
        }
    }
    if timely.is_empty() {
        o.fail_on("notify", format!("no step reaches a designated person over an allowed, configured channel within {within_minutes} min"));
    } else if !email_alone_allowed && timely.iter().all(|c| *c == Channel::Email) {
        o.fail_on(
            "notify",
            "email is the only timely channel; phone or text is required".into(),
        );
    }
    o.finish(
        format!("failures notified within {within_minutes} min over an allowed channel"),
        |_| "failure notification does not meet the rule".into(),
    )
}
