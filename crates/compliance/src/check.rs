//! Check kinds, implemented once, evaluated against the site model and the records.
//!
//! [`evaluate`] is pure: `(pack, site, records, now_ms) -> findings`, one [`Finding`] per
//! requirement in pack order. Each finding names the requirement, its citation, a status, the
//! evidence (which records and which devices) and a remedy. Practice requirements are evaluated the
//! same way but reported with status `practice` and never scored (A39). Odd or out-of-range values
//! in records (negative measurements, missing fields) become failing findings, never panics.
use std::collections::HashMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use strongroom_domain::site::{AreaKind, Channel, Door, LockKind, SiteConfig};

use crate::pack::{
    AreaSelector, Basis, Check, DoorSelector, FpsMeasure, Pack, PowerScope, Requirement, Subjects,
    VendorProof, enum_name, fmt_milli,
};
use crate::records::{Attestation, CameraMeasurement, Records, VendorStatus};
use crate::schedule::{TaskState, local_date, site_tz, tasks_for};

/// The outcome of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The check passed on the evidence.
    Pass,
    /// The check failed: a finding to fix.
    Fail,
    /// A physical item attested (and its measured values within limits).
    Attested,
    /// The requirement does not apply (exemption, nothing of the kind on the site).
    NotApplicable,
    /// A practice item: reported, not scored.
    Practice,
}

impl Status {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Attested => "attested",
            Status::NotApplicable => "not_applicable",
            Status::Practice => "practice",
        }
    }
}

/// One evaluated requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Requirement id (`VID-03`).
    pub requirement_id: String,
    /// Citation (`IL 1291.300(e)(1)(E)`).
    pub citation: String,
    /// Requirement title.
    pub title: String,
    /// Law or practice.
    pub basis: Basis,
    /// Check kind.
    pub check: String,
    /// Reported status (`practice` for practice items).
    pub status: Status,
    /// What the check itself concluded (differs from `status` for practice items).
    pub check_status: Status,
    /// One-line summary.
    pub summary: String,
    /// Evidence lines: what was looked at and what was found.
    pub evidence: Vec<String>,
    /// Devices (or doors, areas) involved in a failure, or checked on a pass.
    pub devices: Vec<String>,
    /// Record ids used (inspections, attestations, outages, ...).
    pub records: Vec<String>,
    /// What to do about a failure.
    pub remedy: String,
    /// The interpretation adopted, from the pack.
    pub note: Option<String>,
}

/// Counts of findings by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Attested.
    pub attested: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Practice (not scored).
    pub practice: usize,
}

/// Counts findings by status.
pub fn summarize(findings: &[Finding]) -> Summary {
    let mut s = Summary::default();
    for f in findings {
        match f.status {
            Status::Pass => s.pass += 1,
            Status::Fail => s.fail += 1,
            Status::Attested => s.attested += 1,
            Status::NotApplicable => s.not_applicable += 1,
            Status::Practice => s.practice += 1,
        }
    }
    s
}

#[derive(Debug, Default)]
struct Outcome {
    status: Option<Status>,
    summary: String,
    evidence: Vec<String>,
    devices: Vec<String>,
    records: Vec<String>,
}

impl Outcome {
    fn new() -> Self {
        Outcome::default()
    }
    fn ev(&mut self, line: String) {
        self.evidence.push(line);
    }
    fn fail_on(&mut self, device: &str, line: String) {
        self.status = Some(Status::Fail);
        if !self.devices.iter().any(|d| d == device) {
            self.devices.push(device.to_owned());
        }
        self.evidence.push(line);
    }
    fn finish(mut self, pass_summary: String, fail_summary: impl FnOnce(usize) -> String) -> Self {
        if self.status == Some(Status::Fail) {
            self.summary = fail_summary(self.devices.len());
        } else {
            self.status = Some(self.status.unwrap_or(Status::Pass));
            if self.summary.is_empty() {
                self.summary = pass_summary;
            }
        }
        self
    }
    fn with(status: Status, summary: String) -> Self {
        Outcome {
            status: Some(status),
            summary,
            ..Outcome::default()
        }
    }
}

/// Shared, precomputed lookups for one evaluation.
struct Ctx<'a> {
    site: &'a SiteConfig,
    records: &'a Records,
    tz: TimeZone,
    today: Date,
    now_ms: i64,
    area_kinds: HashMap<&'a str, AreaKind>,
    cams: HashMap<&'a str, &'a CameraMeasurement>,
    /// Latest attestation per (item, subject).
    attest: HashMap<(&'a str, &'a str), &'a Attestation>,
}

impl<'a> Ctx<'a> {
    fn new(site: &'a SiteConfig, records: &'a Records, now_ms: i64) -> Self {
        let tz = site_tz(site);
        let today = local_date(now_ms, &tz);
        let area_kinds = site.areas.iter().map(|a| (a.id.as_str(), a.kind)).collect();
        let mut cams: HashMap<&str, &CameraMeasurement> = HashMap::new();
        for m in &records.cameras {
            let e = cams.entry(m.camera_id.as_str()).or_insert(m);
            if m.time_ms >= e.time_ms {
                *e = m;
            }
        }
        let mut attest: HashMap<(&str, &str), &Attestation> = HashMap::new();
        for a in &records.attestations {
            let e = attest
                .entry((a.item.as_str(), a.subject.as_str()))
                .or_insert(a);
            if a.time_ms >= e.time_ms {
                *e = a;
            }
        }
        Ctx {
            site,
            records,
            tz,
            today,
            now_ms,
            area_kinds,
            cams,
            attest,
        }
    }

    fn kind(&self, area: &str) -> Option<AreaKind> {
        self.area_kinds.get(area).copied()
    }

    fn outside(&self, area: &str) -> bool {
        matches!(
            self.kind(area),
            Some(AreaKind::Exterior | AreaKind::Parking)
        )
    }

    fn restricted(&self, area: &str) -> bool {
        matches!(
            self.kind(area),
            Some(
                AreaKind::RestrictedAccess
                    | AreaKind::Vault
                    | AreaKind::CurrencySafe
                    | AreaKind::SurveillanceRoom
                    | AreaKind::Processing
            )
        )
    }

    fn door_matches(&self, d: &Door, sel: DoorSelector) -> bool {
        let secured = |a: &str| self.kind(a).is_some_and(|k| k.is_secured());
        match sel {
            DoorSelector::All => true,
            DoorSelector::Exterior => self.outside(&d.from) || self.outside(&d.to),
            DoorSelector::PublicEntrance => {
                (self.outside(&d.from) && self.kind(&d.to) == Some(AreaKind::Public))
                    || (self.outside(&d.to) && self.kind(&d.from) == Some(AreaKind::Public))
            }
            DoorSelector::Barrier => d.barrier,
            DoorSelector::Secured => secured(&d.from) || secured(&d.to),
            DoorSelector::IntoLimited => self.kind(&d.to) == Some(AreaKind::LimitedAccess),
            DoorSelector::IntoRestricted => self.restricted(&d.to),
            DoorSelector::Vault => self.kind(&d.to) == Some(AreaKind::Vault),
        }
    }

    fn doors(&self, sel: DoorSelector) -> Vec<&'a Door> {
        self.site
            .doors
            .iter()
            .filter(|d| self.door_matches(d, sel))
            .collect()
    }

    fn area_selected(&self, kind: AreaKind, sel: &AreaSelector) -> bool {
        match sel {
            AreaSelector::All => true,
            AreaSelector::Kinds(k) => k.contains(&kind),
        }
    }

    fn has_purpose(&self, cam: &strongroom_domain::site::Camera, purpose: &str) -> bool {
        cam.purposes.iter().any(|p| enum_name(p) == purpose)
            || self
                .cams
                .get(cam.id.as_str())
                .is_some_and(|m| m.extra_purposes.iter().any(|p| p == purpose))
    }

    fn channel_configured(&self, ch: Channel) -> bool {
        let by_site = match ch {
            Channel::Sms | Channel::Voice => self.site.notify.webhook.is_some(),
            Channel::Email => self.site.notify.smtp.is_some(),
        };
        by_site || self.records.channels_configured.contains(&ch)
    }
}

/// Evaluates every requirement of `pack` against the site and records at `now_ms`.
pub fn evaluate(pack: &Pack, site: &SiteConfig, records: &Records, now_ms: i64) -> Vec<Finding> {
    let ctx = Ctx::new(site, records, now_ms);
    pack.requirements
        .iter()
        .map(|r| evaluate_one(&ctx, r))
        .collect()
}

fn evaluate_one(ctx: &Ctx<'_>, req: &Requirement) -> Finding {
    let outcome = match exemption(ctx, req) {
        Some(o) => o,
        None => run(ctx, req),
    };
    let check_status = outcome.status.unwrap_or(Status::Pass);
    let (status, summary) = if req.basis == Basis::Practice {
        (
            Status::Practice,
            format!(
                "(practice, not scored; check says {}) {}",
                check_status.as_str(),
                outcome.summary
            ),
        )
    } else {
        (check_status, outcome.summary)
    };
    Finding {
        requirement_id: req.id.clone(),
        citation: req.citation.clone(),
        title: req.title.clone(),
        basis: req.basis,
        check: req.check.kind().to_owned(),
        status,
        check_status,
        summary,
        evidence: outcome.evidence,
        devices: outcome.devices,
        records: outcome.records,
        remedy: req
            .remedy
            .clone()
            .unwrap_or_else(|| default_remedy(&req.check)),
        note: req.note.clone(),
    }
}

fn exemption(ctx: &Ctx<'_>, req: &Requirement) -> Option<Outcome> {
    let before = req.exempt_if_operating_before?;
    let since = ctx.records.site.operating_since?;
    if since < before && ctx.records.site.relocated_on.is_none() {
        let mut o = Outcome::with(
            Status::NotApplicable,
            format!(
                "exempt: operating at this site since {since}, before {before}, and not relocated"
            ),
        );
        o.ev("exemption ends when a relocation is recorded (VLT-11)".into());
        Some(o)
    } else {
        None
    }
}

fn default_remedy(check: &Check) -> String {
    match check {
        Check::CameraAtDoors { purpose, .. } | Check::CameraOnAreas { purpose, .. } => format!(
            "Install or re-aim a camera{} and list the door/area in its coverage in the site file.",
            purpose.as_ref().map(|p| format!(" tagged `{p}`")).unwrap_or_default()
        ),
        Check::FrameRate { .. } => "Raise the camera's recording frame rate (or replace the camera) and re-measure.".into(),
        Check::FacePixels { .. } => "Re-aim, zoom or replace the camera; re-measure pixels across a face from a test image at the door capture line.".into(),
        Check::Resolution { .. } => "Set the recording profile to at least the required resolution (D1 = 720x480).".into(),
        Check::RecordingMode { .. } => "Change the camera's recording mode to one the rule allows.".into(),
        Check::ClockSync { .. } => "Point the camera at the site time source (NTP) and verify the offset.".into(),
        Check::Retention { .. } => "Add storage or lower the bitrate so every camera keeps the required days; never purge early.".into(),
        Check::FailureNotification { .. } => "Configure a failure-notification chain (applies_to health.*) whose first step reaches a designated person over an allowed channel within the limit.".into(),
        Check::ElectronicLocks { .. } => "Fit electronic locks on an access-control controller to the listed doors.".into(),
        Check::SensorInAreas { .. } | Check::SensorAtDoors { .. } => "Install and program the missing alarm points and add them to the site file.".into(),
        Check::VaultDualAuth => "Require two factors at the vault reader (card + the employee's own PIN, or biometric + PIN).".into(),
        Check::BackupAlarmSupplier => "Contract a back-up alarm system from a different supplier and record the regulator's approval reference.".into(),
        Check::DispatchRoute => "Configure the central station route for panic, holdup, duress and intrusion alarms.".into(),
        Check::InspectionInterval { .. } => "Inspect and test the listed devices now and record the results in the inspection log.".into(),
        Check::MaintenanceInterval { .. } => "Schedule preventive maintenance with an approved vendor and record the visit.".into(),
        Check::ReportDeadline { .. } => "Submit the overdue reports to the regulator and record the submission.".into(),
        Check::RepairDeadline { .. } => "Repair or replace the failed component, or notify the regulator and record the approved extension.".into(),
        Check::PowerBackup { .. } => "Put the listed devices on a UPS or generator with enough runtime at measured load.".into(),
        Check::Attestation { .. } | Check::CounterHeight { .. } => "Fix the physical item and record a new attestation with measured values and a photo.".into(),
        Check::VendorApproved { .. } => "Record the vendor's license number or approval reference, or use an approved vendor.".into(),
        Check::Capability { .. } => "Enable and verify the platform function; the server must report it in service.".into(),
        Check::RecurringActivity { .. } => "Hold the activity and record it.".into(),
    }
}

fn run(ctx: &Ctx<'_>, req: &Requirement) -> Outcome {
    match &req.check {
        Check::CameraAtDoors { doors, purpose } => camera_at_doors(ctx, *doors, purpose.as_deref()),
        Check::CameraOnAreas { areas, purpose } => camera_on_areas(ctx, areas, purpose.as_deref()),
        Check::FrameRate { min_fps, measure } => frame_rate(ctx, *min_fps, *measure),
        Check::FacePixels {
            min_face_pixels,
            purpose,
        } => face_pixels(ctx, *min_face_pixels, purpose),
        Check::Resolution {
            min_width_px,
            min_height_px,
        } => resolution(ctx, *min_width_px, *min_height_px),
        Check::RecordingMode { allowed_modes } => {
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
                            allowed_modes
                                .iter()
                                .map(enum_name)
                                .collect::<Vec<_>>()
                                .join(", ")
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
        Check::ClockSync { max_offset_ms } => {
            let mut o = Outcome::new();
            for c in &ctx.site.cameras {
                match ctx.cams.get(c.id.as_str()).and_then(|m| m.clock_offset_ms) {
                    Some(off) if off.unsigned_abs() <= u64::from(*max_offset_ms) => {
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
        Check::Retention { retention_days } => retention(ctx, *retention_days),
        Check::FailureNotification {
            within_minutes,
            allowed_channels,
            email_alone_allowed,
        } => failure_notification(ctx, *within_minutes, allowed_channels, *email_alone_allowed),
        Check::ElectronicLocks { areas } => {
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
        Check::SensorInAreas {
            sensor_kinds,
            areas,
        } => {
            let mut o = Outcome::new();
            let selected: Vec<_> = ctx
                .site
                .areas
                .iter()
                .filter(|a| ctx.area_selected(a.kind, areas))
                .collect();
            if selected.is_empty() {
                return Outcome::with(
                    Status::Fail,
                    "no area of the required kind is modelled".into(),
                );
            }
            for a in selected {
                let found: Vec<&str> = ctx
                    .site
                    .sensors
                    .iter()
                    .filter(|s| s.area == a.id && sensor_kinds.contains(&s.kind))
                    .map(|s| s.id.as_str())
                    .collect();
                if found.is_empty() {
                    o.fail_on(
                        &a.id,
                        format!(
                            "area {}: no {} alarm point",
                            a.id,
                            sensor_kinds
                                .iter()
                                .map(enum_name)
                                .collect::<Vec<_>>()
                                .join("/")
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
        Check::SensorAtDoors {
            sensor_kinds,
            doors,
        } => {
            let mut o = Outcome::new();
            let selected = ctx.doors(*doors);
            if selected.is_empty() {
                return Outcome::with(
                    Status::NotApplicable,
                    format!("no {} doors", doors.as_str()),
                );
            }
            for d in selected {
                let inner = if ctx.outside(&d.to) { &d.from } else { &d.to };
                let found: Vec<&str> = ctx
                    .site
                    .sensors
                    .iter()
                    .filter(|s| &s.area == inner && sensor_kinds.contains(&s.kind))
                    .map(|s| s.id.as_str())
                    .collect();
                if found.is_empty() {
                    o.fail_on(
                        &d.id,
                        format!(
                            "door {}: no {} alarm point in {}",
                            d.id,
                            sensor_kinds
                                .iter()
                                .map(enum_name)
                                .collect::<Vec<_>>()
                                .join("/"),
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
        Check::VaultDualAuth => {
            let mut o = Outcome::new();
            let vault_doors = ctx.doors(DoorSelector::Vault);
            if vault_doors.is_empty() {
                return Outcome::with(Status::Fail, "no vault door is modelled".into());
            }
            for d in vault_doors {
                let keypad = ctx.site.readers.iter().any(|r| {
                    r.door == d.id
                        && r.keypad
                        && r.direction == strongroom_domain::site::Direction::In
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
                o.fail_on("vault", "vault door policy does not require two factors (card + own PIN, or biometric + PIN)".into());
            }
            o.finish("vault uses dual authentication".into(), |_| {
                "vault dual authentication is not in force".into()
            })
        }
        Check::BackupAlarmSupplier => {
            let s = &ctx.records.alarm_suppliers;
            let mut o = Outcome::new();
            match (&s.primary, &s.backup) {
                (None, _) => o.fail_on("alarm", "no primary alarm supplier recorded".into()),
                (_, None) => o.fail_on("alarm", "no back-up alarm system recorded".into()),
                (Some(p), Some(b)) => {
                    let norm = |x: &str| x.trim().to_lowercase();
                    if norm(&p.company_id).is_empty() || norm(&b.company_id).is_empty() {
                        o.fail_on(
                            "alarm",
                            "supplier company ids are missing, so the suppliers cannot be compared"
                                .into(),
                        );
                    } else if norm(&p.company_id) == norm(&b.company_id) {
                        o.fail_on(
                            "alarm",
                            format!(
                                "primary and back-up supplier are the same company ({} / {})",
                                p.name, b.name
                            ),
                        );
                    } else {
                        o.ev(format!(
                            "primary {} ({}), back-up {} ({})",
                            p.name, p.company_id, b.name, b.company_id
                        ));
                    }
                }
            }
            match &s.backup_approval_ref {
                Some(r) if !r.trim().is_empty() => o.ev(format!("back-up approval {r}")),
                _ => o.fail_on(
                    "alarm",
                    "no department approval reference for the back-up system".into(),
                ),
            }
            o.finish(
                "back-up alarm from a different, approved supplier".into(),
                |_| "back-up alarm requirement not met".into(),
            )
        }
        Check::DispatchRoute => match &ctx.site.central_station {
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
        },
        Check::InspectionInterval { .. }
        | Check::MaintenanceInterval { .. }
        | Check::ReportDeadline { .. }
        | Check::RepairDeadline { .. }
        | Check::RecurringActivity { .. } => schedule_check(ctx, req),
        Check::PowerBackup {
            min_runtime_hours,
            scope,
        } => {
            let mut o = Outcome::new();
            let mut devices: Vec<&str> = ctx.site.cameras.iter().map(|c| c.id.as_str()).collect();
            if *scope == PowerScope::All {
                devices.extend(ctx.site.panels.iter().map(|p| p.id.as_str()));
                devices.extend(ctx.site.readers.iter().map(|r| r.id.as_str()));
                devices.extend(ctx.site.sensors.iter().map(|s| s.id.as_str()));
            }
            let need = u64::from(*min_runtime_hours) * 60;
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
        Check::Attestation {
            item,
            per,
            limits,
            required_text,
            choices,
            max_age_days,
        } => attestation(
            ctx,
            item,
            per,
            limits,
            required_text.as_deref(),
            choices,
            *max_age_days,
        ),
        Check::CounterHeight {
            min_height_milli_in,
            short_max_length_milli_in,
            short_min_height_milli_in,
            short_max_height_milli_in,
        } => {
            let mut o = Outcome::new();
            let counters: Vec<&Attestation> = ctx
                .attest
                .iter()
                .filter(|((i, _), _)| *i == "counter")
                .map(|(_, a)| *a)
                .collect();
            if counters.is_empty() {
                return Outcome::with(Status::Fail, "no counter segment attested".into());
            }
            let mut counters = counters;
            counters.sort_by(|a, b| a.subject.cmp(&b.subject));
            for a in counters {
                o.records.push(a.id.clone());
                let h = a.values_milli.get("height_in").copied();
                let l = a.values_milli.get("length_in").copied();
                match (h, l) {
                    (Some(h), Some(l)) if plausible(h) && plausible(l) => {
                        let full = h >= *min_height_milli_in;
                        let short = l <= *short_max_length_milli_in
                            && h >= *short_min_height_milli_in
                            && h <= *short_max_height_milli_in;
                        if full || short {
                            o.ev(format!(
                                "counter {}: {}\" high, {}\" long",
                                a.subject,
                                fmt_milli(h),
                                fmt_milli(l)
                            ));
                        } else {
                            o.fail_on(&a.subject, format!(
                                "counter {}: {}\" high, {}\" long: needs >= {}\" or (<= {}\" long and {}\"-{}\" high)",
                                a.subject, fmt_milli(h), fmt_milli(l), fmt_milli(*min_height_milli_in), fmt_milli(*short_max_length_milli_in), fmt_milli(*short_min_height_milli_in), fmt_milli(*short_max_height_milli_in)
                            ));
                        }
                    }
                    (Some(_), Some(_)) => o.fail_on(
                        &a.subject,
                        format!(
                            "counter {}: measured values out of plausible range",
                            a.subject
                        ),
                    ),
                    _ => o.fail_on(
                        &a.subject,
                        format!(
                            "counter {}: attestation lacks height_in or length_in",
                            a.subject
                        ),
                    ),
                }
            }
            if o.status != Some(Status::Fail) {
                o.status = Some(Status::Attested);
            }
            o.finish("every counter segment attested within limits".into(), |n| {
                format!("{n} counter segment(s) out of limits")
            })
        }
        Check::VendorApproved { role, require } => {
            let mut o = Outcome::new();
            let vendors: Vec<_> = ctx
                .records
                .vendors
                .iter()
                .filter(|v| v.status != VendorStatus::Removed && v.roles.iter().any(|r| r == role))
                .collect();
            if vendors.is_empty() {
                return Outcome::with(
                    Status::Fail,
                    format!("no vendor recorded in the role `{role}`"),
                );
            }
            for v in vendors {
                o.records.push(v.id.clone());
                let ok = match require {
                    VendorProof::License => v
                        .license_number
                        .as_deref()
                        .is_some_and(|s| !s.trim().is_empty()),
                    VendorProof::Approval => {
                        v.status == VendorStatus::Approved
                            && v.approval_ref
                                .as_deref()
                                .is_some_and(|s| !s.trim().is_empty())
                    }
                };
                if ok {
                    o.ev(format!(
                        "{} ({}): {} on record",
                        v.id,
                        v.company,
                        enum_name(require)
                    ));
                } else {
                    o.fail_on(
                        &v.id,
                        format!(
                            "{} ({}): no {} on record",
                            v.id,
                            v.company,
                            enum_name(require)
                        ),
                    );
                }
            }
            o.finish(
                format!("every `{role}` vendor holds the {}", enum_name(require)),
                |n| format!("{n} `{role}` vendor(s) lack the {}", enum_name(require)),
            )
        }
        Check::Capability { capability } => {
            if ctx.records.capabilities.iter().any(|c| c == capability) {
                Outcome::with(
                    Status::Pass,
                    format!("server reports `{capability}` in service"),
                )
            } else {
                let mut o = Outcome::with(
                    Status::Fail,
                    format!("server does not report `{capability}` in service"),
                );
                o.devices.push(capability.clone());
                o
            }
        }
    }
}

fn plausible(v: i64) -> bool {
    (0..=1_000_000_000).contains(&v)
}

fn camera_at_doors(ctx: &Ctx<'_>, sel: DoorSelector, purpose: Option<&str>) -> Outcome {
    let doors = ctx.doors(sel);
    if doors.is_empty() {
        return Outcome::with(
            Status::NotApplicable,
            format!("no {} doors on the site", sel.as_str()),
        );
    }
    let mut o = Outcome::new();
    for d in &doors {
        let cams: Vec<&str> = ctx
            .site
            .cameras
            .iter()
            .filter(|c| {
                c.covers_doors.contains(&d.id) && purpose.is_none_or(|p| ctx.has_purpose(c, p))
            })
            .map(|c| c.id.as_str())
            .collect();
        if cams.is_empty() {
            o.fail_on(
                &d.id,
                format!(
                    "door {} ({}): no camera{}",
                    d.id,
                    d.name,
                    purpose
                        .map(|p| format!(" tagged `{p}`"))
                        .unwrap_or_default()
                ),
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

fn camera_on_areas(ctx: &Ctx<'_>, sel: &AreaSelector, purpose: Option<&str>) -> Outcome {
    let areas: Vec<_> = ctx
        .site
        .areas
        .iter()
        .filter(|a| ctx.area_selected(a.kind, sel))
        .collect();
    if areas.is_empty() {
        return Outcome::with(
            Status::Fail,
            "no area of the required kind is modelled".into(),
        );
    }
    let mut o = Outcome::new();
    for a in &areas {
        let cams: Vec<&str> = ctx
            .site
            .cameras
            .iter()
            .filter(|c| {
                c.covers_areas.contains(&a.id) && purpose.is_none_or(|p| ctx.has_purpose(c, p))
            })
            .map(|c| c.id.as_str())
            .collect();
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
                format!(
                    "area {} ({}): no camera{}",
                    a.id,
                    a.name,
                    purpose
                        .map(|p| format!(" tagged `{p}`"))
                        .unwrap_or_default()
                ),
            );
        }
    }
    let n = areas.len();
    o.finish(format!("{n} area(s) covered"), |k| {
        format!("{k} of {n} area(s) not covered")
    })
}

fn frame_rate(ctx: &Ctx<'_>, min_fps: u32, measure: FpsMeasure) -> Outcome {
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

fn face_pixels(ctx: &Ctx<'_>, min: u32, purpose: &str) -> Outcome {
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

fn resolution(ctx: &Ctx<'_>, w: u32, h: u32) -> Outcome {
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

fn retention(ctx: &Ctx<'_>, days: u32) -> Outcome {
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

fn failure_notification(
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

fn schedule_check(ctx: &Ctx<'_>, req: &Requirement) -> Outcome {
    let tasks = tasks_for(req, ctx.site, ctx.records, &ctx.tz, ctx.now_ms);
    let mut o = Outcome::new();
    if matches!(req.check, Check::InspectionInterval { .. }) {
        let mut latest: HashMap<&str, &crate::records::Inspection> = HashMap::new();
        for i in &ctx.records.inspections {
            let e = latest.entry(i.device_id.as_str()).or_insert(i);
            if i.time_ms >= e.time_ms {
                *e = i;
            }
        }
        let mut failed: Vec<&&crate::records::Inspection> =
            latest.values().filter(|i| !i.passed).collect();
        failed.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        for i in failed {
            o.records.push(i.id.clone());
            o.ev(format!(
                "{}: last test {} found a deficiency (open a work order, ITM-03): {}",
                i.device_id,
                local_date(i.time_ms, &ctx.tz),
                i.notes
            ));
        }
    }
    if tasks.is_empty() {
        return Outcome::with(
            Status::Pass,
            "nothing due: no events that start a deadline".into(),
        );
    }
    let mut open = 0usize;
    let mut next: Option<Date> = None;
    for t in &tasks {
        let state = t.state(ctx.today, ctx.now_ms);
        match state {
            TaskState::Overdue => {
                let why = if t.from_ms.is_none()
                    && matches!(
                        req.check,
                        Check::InspectionInterval { .. }
                            | Check::MaintenanceInterval { .. }
                            | Check::RecurringActivity { .. }
                    ) {
                    "never done".to_owned()
                } else {
                    format!(
                        "due {}, {} day(s) overdue",
                        t.due_local_date,
                        t.days_overdue(ctx.today)
                    )
                };
                o.fail_on(&t.subject, format!("{}: {why}", t.title));
            }
            TaskState::DueToday | TaskState::Open => {
                if t.from_ms.is_none()
                    && matches!(
                        req.check,
                        Check::InspectionInterval { .. }
                            | Check::MaintenanceInterval { .. }
                            | Check::RecurringActivity { .. }
                    )
                {
                    o.fail_on(&t.subject, format!("{}: never done", t.title));
                } else {
                    open += 1;
                    next = Some(next.map_or(t.due_local_date, |n| n.min(t.due_local_date)));
                    if t.provisional {
                        o.ev(format!(
                            "{}: provisionally due {} (outage still open)",
                            t.title, t.due_local_date
                        ));
                    }
                }
            }
            TaskState::Done => {
                if let (Some(done), None) = (t.done_ms, t.due_ms) {
                    let done_day = local_date(done, &ctx.tz);
                    if done_day > t.due_local_date {
                        let late = (done_day - t.due_local_date).get_days();
                        o.ev(format!(
                            "{}: done {done_day}, {late} day(s) after the due date {}",
                            t.title, t.due_local_date
                        ));
                    }
                }
            }
        }
    }
    let n = tasks.len();
    let pass = match next {
        Some(d) => format!("{n} item(s) on time; {open} open, next due {d}"),
        None => format!("{n} item(s) on time"),
    };
    o.finish(pass, |k| format!("{k} item(s) overdue or never done"))
}

#[allow(clippy::too_many_arguments)]
fn attestation(
    ctx: &Ctx<'_>,
    item: &str,
    per: &Subjects,
    limits: &[crate::pack::Limit],
    required_text: Option<&str>,
    choices: &[String],
    max_age_days: Option<u32>,
) -> Outcome {
    let fresh = |a: &Attestation| match max_age_days {
        Some(d) => {
            let attested = local_date(a.time_ms, &ctx.tz);
            crate::schedule::add_days(attested, d) >= ctx.today
        }
        None => true,
    };
    let latest_any = || {
        ctx.attest
            .iter()
            .filter(|((i, _), _)| *i == item)
            .map(|(_, a)| *a)
            .max_by_key(|a| (a.time_ms, a.id.as_str()))
    };
    let subjects: Vec<(String, Option<&Attestation>)> = match per {
        Subjects::Site => vec![("site".to_owned(), latest_any())],
        Subjects::Doors(sel) => {
            let doors = ctx.doors(*sel);
            if doors.is_empty() {
                return Outcome::with(
                    Status::NotApplicable,
                    format!("no {} doors on the site", sel.as_str()),
                );
            }
            doors
                .iter()
                .map(|d| {
                    (
                        d.id.clone(),
                        ctx.attest.get(&(item, d.id.as_str())).copied(),
                    )
                })
                .collect()
        }
        Subjects::Each => {
            let mut v: Vec<(String, Option<&Attestation>)> = ctx
                .attest
                .iter()
                .filter(|((i, _), _)| *i == item)
                .map(|((_, s), a)| ((*s).to_owned(), Some(*a)))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            if v.is_empty() {
                v.push((item.to_owned(), None));
            }
            v
        }
    };
    let mut o = Outcome::new();
    for (subject, att) in subjects {
        let Some(a) = att else {
            o.fail_on(&subject, format!("{subject}: no `{item}` attestation"));
            continue;
        };
        o.records.push(a.id.clone());
        let mut problems: Vec<String> = Vec::new();
        if !fresh(a) {
            problems.push(format!(
                "attested {} is older than {} days",
                local_date(a.time_ms, &ctx.tz),
                max_age_days.unwrap_or(0)
            ));
        }
        if !a.in_place {
            problems.push("attester did not confirm the item is in place".into());
        }
        if !choices.is_empty() {
            let chosen = a.choice.as_deref().unwrap_or("");
            let spec = choices
                .iter()
                .find(|c| c.trim_end_matches("+approval") == chosen);
            match spec {
                None => problems.push(format!(
                    "option {chosen:?} is not one of {}",
                    choices
                        .iter()
                        .map(|c| c.trim_end_matches("+approval"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Some(c)
                    if c.ends_with("+approval")
                        && a.approval_ref
                            .as_deref()
                            .is_none_or(|r| r.trim().is_empty()) =>
                {
                    problems.push(format!(
                        "option {chosen:?} needs a regulator approval reference"
                    ));
                }
                Some(_) => {}
            }
        }
        for l in limits {
            match a.values_milli.get(&l.measure) {
                None => problems.push(format!("no `{}` measured", l.measure)),
                Some(v) if !plausible(*v) => problems.push(format!(
                    "`{}` = {} is out of plausible range",
                    l.measure,
                    fmt_milli(*v)
                )),
                Some(v) if !l.op.holds(*v, l.value_milli) => {
                    problems.push(format!("`{}` = {}, needs {l}", l.measure, fmt_milli(*v)))
                }
                Some(_) => {}
            }
        }
        if let Some(want) = required_text {
            match a.text.as_deref() {
                Some(got) if normalize_text(got) == normalize_text(want) => {}
                Some(got) => problems.push(format!(
                    "wording {got:?} differs from the required {want:?}"
                )),
                None => problems.push("wording not recorded".into()),
            }
        }
        if problems.is_empty() {
            let vals: Vec<String> = a
                .values_milli
                .iter()
                .map(|(k, v)| format!("{k}={}", fmt_milli(*v)))
                .collect();
            o.ev(format!(
                "{subject}: attested by {} on {}{}",
                a.by,
                local_date(a.time_ms, &ctx.tz),
                if vals.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", vals.join(", "))
                }
            ));
        } else {
            o.fail_on(&subject, format!("{subject}: {}", problems.join("; ")));
        }
    }
    if o.status != Some(Status::Fail) {
        o.status = Some(Status::Attested);
    }
    o.finish(format!("`{item}` attested"), |n| {
        format!("{n} `{item}` attestation(s) missing or out of limits")
    })
}

/// Lower case, dashes unified, whitespace collapsed, trailing period dropped: sign wording compare.
fn normalize_text(s: &str) -> String {
    let unified: String = s
        .chars()
        .map(|c| match c {
            '\u{2013}' | '\u{2014}' | '\u{2012}' | '\u{2212}' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let collapsed = unified.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace(" - ", "-")
        .replace("- ", "-")
        .replace(" -", "-")
        .trim_end_matches('.')
        .to_owned()
}

#[cfg(test)]
mod tests;
