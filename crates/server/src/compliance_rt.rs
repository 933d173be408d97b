//! Site runtime for compliance: rule packs, evaluation, schedules and tasks, incidents, outages, vendors, reports.
//!
//! [`start`] runs when a site starts; [`routes`] adds this subsystem's API under
//! `/api/v1/sites/{site}/compliance/...`. The console's part lives in `assets/compliance.js`.
//!
//! How it is wired (the rules live in `strongroom-compliance`; this module only gathers and stores):
//! - The journal is the only store. [`gather_records`] folds it into [`Records`]: inspections,
//!   maintenance, attestations, incidents and activities recorded through this API; outages
//!   derived from `health.*_down` / `health.*_up` facts (exact lost spans per camera);
//!   vendors and vendor-list changes from the access subsystem's `person.*` / `vendor.*` facts;
//!   camera measurements from `video.segment` / `health.camera_clock_drift`.
//! - A scheduler evaluates the site's pack every minute and journals only changes:
//!   `compliance.finding` when a requirement's status changes, `task.opened` for a new deadline,
//!   `task.overdue` once per task and due date, `outage.opened` / `outage.closed` for derived
//!   outages. Deadlines are local dates in the site's time zone.
//! - Every record is appended to the journal before the request is answered.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use strongroom_compliance::check::{Finding, summarize};
use strongroom_compliance::facts as cfacts;
use strongroom_compliance::pack::{self, Check, DeadlineEvent, Pack};
use strongroom_compliance::records::{
    Activity, Attestation, ChangeKind, CorrectiveAction, Incident, Inspection, LostSpan,
    Maintenance, Outage, Records, Vendor, VendorChange, VendorStatus,
};
use strongroom_compliance::report::{self, Block, Document, Format};
use strongroom_compliance::schedule::{self, Task, TaskState};
use strongroom_domain::auth::Permission;
use strongroom_domain::site::{Channel, SiteConfig};
use strongroom_domain::{Actor, Fact};
use strongroom_journal::JournalEvent;
use strongroom_store::{Store, StoreError};
use tokio::sync::Mutex;

use crate::api::JsonBody;
use crate::auth::{Session, SiteCtx};
use crate::error::ApiError;
use crate::state::{AppState, SiteRuntime, StartCtx};

pub use strongroom_compliance as engine;

/// Fact kinds this subsystem journals beyond those of [`engine::facts::kinds`].
pub mod kinds {
    /// A preventive-maintenance visit. Payload: `maintenance_id`, `vendor_id`, `scope`, `report_ref`.
    pub const MAINTENANCE_RECORDED: &str = "maintenance.recorded";
    /// A recurring activity done (meeting, drill, training). Payload: `activity_id`, `activity`,
    /// `notes`.
    pub const ACTIVITY_RECORDED: &str = "activity.recorded";
    /// An incident changed. Payload: `incident_id` and any of `secured_ms`, `root_cause`,
    /// `action` (object: `id`, `description`, `owner`, `due_local_date`), `action_done` (action
    /// id), `closed_ms`.
    pub const INCIDENT_UPDATED: &str = "incident.updated";
    /// The regulator was told about an outage. Payload: `outage_id`, `notified_ms`, `channel`,
    /// `recipient`.
    pub const OUTAGE_NOTIFIED: &str = "outage.notified";
    /// The outage report was submitted. Payload: `outage_id`, `submitted_ms`, `reference`.
    pub const OUTAGE_REPORT_SUBMITTED: &str = "outage.report_submitted";
    /// Details of an outage were added. Payload: `outage_id` and any of `cause`,
    /// `corrective_actions`, `repaired_ms`, `extension_approval_ref`.
    pub const OUTAGE_UPDATED: &str = "outage.updated";
    /// A vendor-list change was reported to the regulator. Payload: `change_id`, `submitted_ms`,
    /// `reference`.
    pub const VENDOR_CHANGE_SUBMITTED: &str = "vendor.change_submitted";
    /// A legal hold was asked for but the video subsystem could not place it. Payload:
    /// `incident_id`, `cameras`, `from_ms`, `to_ms`, `reason`, `error`.
    pub const HOLD_REQUESTED: &str = "hold.requested";
    /// A law-enforcement case share was created (LEP-08). Payload: `share_id`, `incident_id`,
    /// `recipient`, `token_sha256` (the link's token itself is never stored), `expires_ms`.
    pub const CASE_SHARE_CREATED: &str = "case_share.created";
    /// A case share was revoked. Payload: `share_id`.
    pub const CASE_SHARE_REVOKED: &str = "case_share.revoked";
    /// A case share link was opened. Payload: `share_id`, `incident_id`, `recipient`, `client`,
    /// `format`.
    pub const CASE_SHARE_ACCESSED: &str = "case_share.accessed";
    /// An expired or revoked case share link was tried. Payload: `share_id`, `reason`, `client`.
    pub const CASE_SHARE_REFUSED: &str = "case_share.refused";
}

/// How often the scheduler evaluates.
const TICK: Duration = Duration::from_secs(60);
/// Longest free text accepted.
const MAX_TEXT: usize = 2_000;
/// Default legal-hold window around an incident's discovery.
const HOLD_BEFORE_MS: i64 = 2 * 3_600_000;
/// Default legal-hold window after discovery.
const HOLD_AFTER_MS: i64 = 3_600_000;

/// This subsystem's per-site state, reachable as `SiteRuntime::compliance`.
pub struct ComplianceRuntime {
    /// What has been journaled already (status per requirement, task keys), so the scheduler
    /// journals changes only. Also serialises evaluations.
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    loaded: bool,
    /// requirement id -> (status, devices)
    findings: HashMap<String, (String, Vec<String>)>,
    /// `task_id|due_local_date` of journaled `task.opened`.
    opened: HashSet<String>,
    /// `task_id|due_local_date` of journaled `task.overdue`.
    overdue: HashSet<String>,
    /// Outage ids with `outage.opened` / `outage.closed` journaled.
    outage_opened: HashSet<String>,
    outage_closed: HashSet<String>,
}

/// Starts the subsystem for one site; returns its background tasks.
pub async fn start(ctx: &StartCtx) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let config = ctx.site.config();
    if let Some(Err(e)) = pack::for_site(&config) {
        return Err(format!("the built-in rule pack does not parse: {e}"));
    }
    let rt = Arc::new(ComplianceRuntime {
        seen: Mutex::new(Seen::default()),
    });
    let _ = ctx.site.compliance.set(rt.clone());
    let state = ctx.state.clone();
    let site = ctx.site.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = evaluate_and_journal(&state, &site).await {
                tracing::warn!(site = %site.id, error = %e, "compliance evaluation failed");
            }
        }
    });
    Ok(vec![task])
}

// ------------------------------------------------------------------------------------ gathering

/// A journaled event turned back into its fact, with its sequence number.
fn fact_of(e: &JournalEvent) -> Option<(u64, Fact)> {
    crate::api::fact_of_event(e).map(|f| (e.seq, f))
}

async fn facts_with_prefix(
    store: &Store,
    site_id: &str,
    prefix: &str,
) -> Result<Vec<(u64, Fact)>, StoreError> {
    let rows = store
        .events_by_kind_and_time(site_id, prefix, i64::MIN, i64::MAX)
        .await?;
    let mut v: Vec<(u64, Fact)> = rows.iter().filter_map(fact_of).collect();
    v.sort_by_key(|(s, _)| *s);
    Ok(v)
}

fn s(p: &Map<String, Value>, k: &str) -> String {
    p.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
fn opt_s(p: &Map<String, Value>, k: &str) -> Option<String> {
    p.get(k)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
}
fn i(p: &Map<String, Value>, k: &str) -> Option<i64> {
    p.get(k).and_then(Value::as_i64)
}
fn strs(p: &Map<String, Value>, k: &str) -> Vec<String> {
    p.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The platform capabilities this server build provides when every subsystem runs (the
/// `capability` check kind). Each names a route or mechanism that exists in `crates/server`.
pub fn build_capabilities() -> Vec<String> {
    [
        // video service: still (jpg, bmp, gif, png), playback, signed evidence bundle with MP4.
        "video.still",
        "video.still.formats",
        "video.export.signed",
        "video.export.mp4",
        // Regulator role: live view, playback, stills and reports, read-only (auth.rs).
        "regulator.portal",
        // access service: duress PIN credentials, vault log, surveillance access list.
        "alarm.duress_code",
        "report.vault_log",
        "report.surveillance_access_list",
        // this module.
        "report.outage",
        "report.vendor_list",
        "report.incident",
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .collect()
}

/// The capabilities of a running site: [`build_capabilities`] filtered by the subsystems started.
pub fn site_capabilities(site: &SiteRuntime) -> Vec<String> {
    let video = site.video.get().is_some();
    let access = site.access.get().is_some();
    build_capabilities()
        .into_iter()
        .filter(|c| match c.as_str() {
            "video.still"
            | "video.still.formats"
            | "video.export.signed"
            | "video.export.mp4"
            | "regulator.portal" => video,
            "alarm.duress_code" | "report.vault_log" | "report.surveillance_access_list" => access,
            _ => true,
        })
        .collect()
}

/// Notification channels the site file configures a provider for.
fn channels(config: &SiteConfig) -> Vec<Channel> {
    let mut v = Vec::new();
    if let Some(w) = &config.notify.webhook {
        if !w.sms_url.is_empty() {
            v.push(Channel::Sms);
        }
        if !w.voice_url.is_empty() {
            v.push(Channel::Voice);
        }
    }
    if config.notify.smtp.is_some() {
        v.push(Channel::Email);
    }
    v
}

/// Folds the journal of `site_id` into the records the compliance engine evaluates.
pub async fn gather_records(
    store: &Store,
    site_id: &str,
    config: &SiteConfig,
    capabilities: Vec<String>,
) -> Result<Records, StoreError> {
    let mut r = Records {
        capabilities,
        channels_configured: channels(config),
        vault_dual_auth_configured: strongroom_access::AccessParams::for_jurisdiction(
            config.site.jurisdiction,
        )
        .vault_mode
        .card_and_pin(),
        ..Records::default()
    };
    r.site.operating_since = config
        .site
        .operating_since
        .as_deref()
        .and_then(|d| d.parse().ok());
    r.site.relocated_on = config
        .site
        .relocated_on
        .as_deref()
        .and_then(|d| d.parse().ok());

    for (_, f) in facts_with_prefix(store, site_id, "inspection.recorded").await? {
        let p = &f.payload;
        r.inspections.push(Inspection {
            id: s(p, "inspection_id"),
            device_id: s(p, "device_id"),
            time_ms: f.time_ms,
            by: s(p, "by"),
            passed: p.get("passed").and_then(Value::as_bool).unwrap_or(false),
            notes: s(p, "notes"),
        });
    }
    for (_, f) in facts_with_prefix(store, site_id, kinds::MAINTENANCE_RECORDED).await? {
        let p = &f.payload;
        r.maintenance.push(Maintenance {
            id: s(p, "maintenance_id"),
            time_ms: f.time_ms,
            vendor_id: s(p, "vendor_id"),
            scope: s(p, "scope"),
            report_ref: s(p, "report_ref"),
        });
    }
    for (_, f) in facts_with_prefix(store, site_id, kinds::ACTIVITY_RECORDED).await? {
        let p = &f.payload;
        r.activities.push(Activity {
            id: s(p, "activity_id"),
            activity: s(p, "activity"),
            time_ms: f.time_ms,
            notes: s(p, "notes"),
        });
    }
    for (_, f) in facts_with_prefix(store, site_id, "attestation.recorded").await? {
        let p = &f.payload;
        let values_milli: BTreeMap<String, i64> = p
            .get("values_milli")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_i64().map(|v| (k.clone(), v)))
                    .collect()
            })
            .unwrap_or_default();
        r.attestations.push(Attestation {
            id: s(p, "attestation_id"),
            item: s(p, "item"),
            subject: s(p, "subject"),
            time_ms: f.time_ms,
            by: s(p, "by"),
            values_milli,
            choice: opt_s(p, "choice"),
            text: opt_s(p, "text"),
            approval_ref: opt_s(p, "approval_ref"),
            in_place: p.get("in_place").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    r.incidents = incidents_of(&facts_with_prefix(store, site_id, "incident.").await?);
    r.outages = outages_of(
        config,
        &facts_with_prefix(store, site_id, "health.").await?,
        &facts_with_prefix(store, site_id, "outage.").await?,
    );
    let mut vendor_facts = facts_with_prefix(store, site_id, "person.").await?;
    vendor_facts.extend(facts_with_prefix(store, site_id, "vendor.").await?);
    vendor_facts.sort_by_key(|(s, _)| *s);
    let (vendors, changes) = vendors_of(&vendor_facts);
    r.vendors = vendors;
    r.vendor_changes = changes;
    r.cameras = cameras_of(store, site_id, config).await?;
    Ok(r)
}

fn incidents_of(facts: &[(u64, Fact)]) -> Vec<Incident> {
    let mut out: Vec<Incident> = Vec::new();
    for (_, f) in facts {
        let p = &f.payload;
        match f.kind.as_str() {
            cfacts::kinds::INCIDENT_OPENED => out.push(Incident {
                id: s(p, "incident_id"),
                kind: s(p, "incident_kind"),
                discovered_ms: i(p, "discovered_ms").unwrap_or(f.time_ms),
                reporter: s(p, "reporter"),
                description: s(p, "description"),
                affected: s(p, "affected"),
                cameras: strs(p, "cameras"),
                ..Incident::default()
            }),
            kinds::INCIDENT_UPDATED => {
                let id = s(p, "incident_id");
                let Some(inc) = out.iter_mut().find(|x| x.id == id) else {
                    continue;
                };
                if let Some(t) = i(p, "secured_ms") {
                    inc.secured_ms = Some(t);
                }
                if let Some(rc) = opt_s(p, "root_cause") {
                    inc.root_cause = rc;
                }
                if let Some(a) = p.get("action").and_then(Value::as_object) {
                    inc.actions.push(CorrectiveAction {
                        id: s(a, "id"),
                        description: s(a, "description"),
                        owner: s(a, "owner"),
                        due_local_date: opt_s(a, "due_local_date").and_then(|d| d.parse().ok()),
                        done_ms: None,
                    });
                }
                if let Some(done) = opt_s(p, "action_done")
                    && let Some(a) = inc.actions.iter_mut().find(|a| a.id == done)
                {
                    a.done_ms = Some(f.time_ms);
                }
                if let Some(t) = i(p, "closed_ms") {
                    inc.closed_ms = Some(t);
                }
            }
            _ => {}
        }
    }
    out
}

/// Outages from device health: one opens at the first `health.*_down` while none is open, takes
/// in every device that goes down meanwhile, and closes when the last of them is back up. A
/// camera's lost span runs from its down onset to its return.
fn outages_of(config: &SiteConfig, health: &[(u64, Fact)], details: &[(u64, Fact)]) -> Vec<Outage> {
    struct Open {
        o: Outage,
        down: BTreeMap<String, i64>,
        causes: BTreeSet<String>,
    }
    let is_camera = |d: &str| config.cameras.iter().any(|c| c.id == d);
    let mut out = Vec::new();
    let mut open: Option<Open> = None;
    for (seq, f) in health {
        let p = &f.payload;
        let device = opt_s(p, "device").or_else(|| opt_s(p, "camera"));
        let Some(device) = device else { continue };
        if f.kind.ends_with("_down") {
            let onset = i(p, "onset_ms").unwrap_or(f.time_ms);
            let cur = open.get_or_insert_with(|| Open {
                o: Outage {
                    id: format!("outage-{seq}"),
                    start_ms: onset,
                    ..Outage::default()
                },
                down: BTreeMap::new(),
                causes: BTreeSet::new(),
            });
            cur.o.start_ms = cur.o.start_ms.min(onset);
            cur.down.entry(device.clone()).or_insert(onset);
            if !cur.o.affected_devices.contains(&device) {
                cur.o.affected_devices.push(device.clone());
            }
            cur.causes.insert(format!(
                "{} {device}",
                f.kind.trim_start_matches("health.").replace('_', " ")
            ));
        } else if f.kind.ends_with("_up") {
            let Some(cur) = open.as_mut() else { continue };
            let Some(onset) = cur.down.remove(&device) else {
                continue;
            };
            let up = i(p, "up_ms").unwrap_or(f.time_ms);
            if is_camera(&device) {
                cur.o.lost_spans.push(LostSpan {
                    camera_id: device.clone(),
                    start_ms: onset,
                    end_ms: up,
                });
            }
            if cur.down.is_empty()
                && let Some(mut done) = open.take()
            {
                done.o.end_ms = Some(up);
                done.o.cause = done.causes.into_iter().collect::<Vec<_>>().join("; ");
                out.push(done.o);
            }
        }
    }
    if let Some(cur) = open {
        let mut o = cur.o;
        o.cause = cur.causes.into_iter().collect::<Vec<_>>().join("; ");
        out.push(o);
    }
    for (_, f) in details {
        let p = &f.payload;
        let id = s(p, "outage_id");
        let Some(o) = out.iter_mut().find(|o| o.id == id) else {
            continue;
        };
        match f.kind.as_str() {
            kinds::OUTAGE_NOTIFIED => {
                let t = i(p, "notified_ms").unwrap_or(f.time_ms);
                o.notified_ms = Some(o.notified_ms.map_or(t, |x| x.min(t)));
                o.notifications.push(format!(
                    "{} to {} at {}",
                    s(p, "channel"),
                    s(p, "recipient"),
                    report::fmt_local(t, &schedule::site_tz(config))
                ));
            }
            kinds::OUTAGE_REPORT_SUBMITTED => {
                o.report_submitted_ms = Some(i(p, "submitted_ms").unwrap_or(f.time_ms));
            }
            kinds::OUTAGE_UPDATED => {
                if let Some(c) = opt_s(p, "cause") {
                    o.cause = c;
                }
                if let Some(c) = opt_s(p, "corrective_actions") {
                    o.corrective_actions = c;
                }
                if let Some(t) = i(p, "repaired_ms") {
                    o.repaired_ms = Some(t);
                }
                if let Some(a) = opt_s(p, "extension_approval_ref") {
                    o.extension_approval_ref = Some(a);
                }
            }
            _ => {}
        }
    }
    out
}

/// Vendors and vendor-list changes from the access subsystem's registry facts.
fn vendors_of(facts: &[(u64, Fact)]) -> (Vec<Vendor>, Vec<VendorChange>) {
    let mut vendors: Vec<Vendor> = Vec::new();
    let mut changes: Vec<VendorChange> = Vec::new();
    for (seq, f) in facts {
        let p = &f.payload;
        let person = s(p, "person");
        let change = |kind: ChangeKind, detail: String| VendorChange {
            id: format!("vc-{seq}"),
            vendor_id: person.clone(),
            change: kind,
            time_ms: f.time_ms,
            detail,
            submitted_ms: None,
        };
        match f.kind.as_str() {
            "person.added" => {
                let cat = s(p, "category");
                if cat != "vendor" && cat != "service_professional" {
                    continue;
                }
                vendors.push(Vendor {
                    id: person.clone(),
                    name: s(p, "name"),
                    company: s(p, "company"),
                    contact: s(p, "contact"),
                    service: s(p, "service_type"),
                    roles: strs(p, "roles"),
                    status: VendorStatus::Pending,
                    approval_ref: None,
                    license_number: None,
                });
                changes.push(change(
                    ChangeKind::Added,
                    format!("{} ({}) added", s(p, "name"), s(p, "company")),
                ));
            }
            "person.updated" => {
                let Some(v) = vendors.iter_mut().find(|v| v.id == person) else {
                    continue;
                };
                if let Some(n) = opt_s(p, "name") {
                    v.name = n;
                }
                if p.contains_key("roles") {
                    v.roles = strs(p, "roles");
                }
                changes.push(change(ChangeKind::Changed, "details changed".into()));
            }
            "vendor.approved" => {
                if let Some(v) = vendors.iter_mut().find(|v| v.id == person) {
                    v.status = VendorStatus::Approved;
                    v.approval_ref = opt_s(p, "approval_ref");
                }
            }
            "vendor.removed" => {
                if let Some(v) = vendors.iter_mut().find(|v| v.id == person) {
                    v.status = VendorStatus::Removed;
                }
                changes.push(change(
                    ChangeKind::Removed,
                    format!("removed: {}", s(p, "reason")),
                ));
            }
            kinds::VENDOR_CHANGE_SUBMITTED => {
                let id = s(p, "change_id");
                if let Some(c) = changes.iter_mut().find(|c| c.id == id) {
                    c.submitted_ms = Some(i(p, "submitted_ms").unwrap_or(f.time_ms));
                }
            }
            _ => {}
        }
    }
    (vendors, changes)
}

/// Latest measurements per camera: the lowest recorded fps and the resolution over the newest
/// segments, and the last clock-drift reading.
async fn cameras_of(
    store: &Store,
    site_id: &str,
    config: &SiteConfig,
) -> Result<Vec<engine::records::CameraMeasurement>, StoreError> {
    let mut m: BTreeMap<String, engine::records::CameraMeasurement> = BTreeMap::new();
    let per_camera = u32::try_from(config.cameras.len().max(1) * 10).unwrap_or(1000);
    for e in store
        .recent_events(site_id, Some("video.segment"), None, per_camera.min(2_000))
        .await?
    {
        let Some((_, f)) = fact_of(&e) else { continue };
        let p = &f.payload;
        let cam = s(p, "camera");
        if cam.is_empty() {
            continue;
        }
        let c = m
            .entry(cam.clone())
            .or_insert_with(|| engine::records::CameraMeasurement {
                camera_id: cam.clone(),
                time_ms: f.time_ms,
                ..Default::default()
            });
        if let Some(fps) = i(p, "fps_milli").and_then(|x| u32::try_from(x).ok()) {
            c.recorded_fps_milli = Some(c.recorded_fps_milli.map_or(fps, |x| x.min(fps)));
        }
        if c.width_px.is_none() {
            c.width_px = i(p, "width").and_then(|x| u32::try_from(x).ok());
            c.height_px = i(p, "height").and_then(|x| u32::try_from(x).ok());
        }
    }
    for e in store
        .recent_events(site_id, Some("health.camera_clock_drift"), None, 500)
        .await?
    {
        let Some((_, f)) = fact_of(&e) else { continue };
        let cam = s(&f.payload, "camera");
        if cam.is_empty() {
            continue;
        }
        let c = m
            .entry(cam.clone())
            .or_insert_with(|| engine::records::CameraMeasurement {
                camera_id: cam.clone(),
                time_ms: f.time_ms,
                ..Default::default()
            });
        if c.clock_offset_ms.is_none() {
            c.clock_offset_ms = i(&f.payload, "drift_ms");
        }
    }
    Ok(m.into_values().collect())
}

// ----------------------------------------------------------------------------------- evaluation

/// The site's pack, or a 503 if none ships for its jurisdiction.
fn site_pack(config: &SiteConfig) -> Result<Pack, ApiError> {
    match pack::for_site(config) {
        Some(Ok(p)) => Ok(p),
        Some(Err(e)) => Err(ApiError::Internal(format!("rule pack: {e}"))),
        None => Err(ApiError::Unavailable(format!(
            "no rule pack ships for {}",
            config.site.jurisdiction
        ))),
    }
}

/// A snapshot: pack, records, findings and tasks at `now_ms`.
pub struct Snapshot {
    /// The pack.
    pub pack: Pack,
    /// The records.
    pub records: Records,
    /// Findings, in pack order.
    pub findings: Vec<Finding>,
    /// Tasks.
    pub tasks: Vec<Task>,
    /// Site-local date of `now_ms`.
    pub today: jiff::civil::Date,
    /// When.
    pub now_ms: i64,
}

/// Evaluates a site offline (the CLI) or online.
pub async fn snapshot(
    store: &Store,
    site_id: &str,
    config: &SiteConfig,
    capabilities: Vec<String>,
    now_ms: i64,
) -> Result<Snapshot, ApiError> {
    let pack = site_pack(config)?;
    let records = gather_records(store, site_id, config, capabilities).await?;
    let findings = engine::evaluate(&pack, config, &records, now_ms);
    let tasks = schedule::tasks(&pack, config, &records, now_ms);
    let today = schedule::local_date(now_ms, &schedule::site_tz(config));
    Ok(Snapshot {
        pack,
        records,
        findings,
        tasks,
        today,
        now_ms,
    })
}

async fn site_snapshot(state: &AppState, site: &SiteRuntime) -> Result<Snapshot, ApiError> {
    snapshot(
        &state.store,
        &site.id,
        &site.config(),
        site_capabilities(site),
        state.clock.now_ms(),
    )
    .await
}

fn task_key(t: &Task) -> String {
    format!("{}|{}", t.id, t.due_local_date)
}

async fn load_seen(state: &AppState, site: &SiteRuntime, seen: &mut Seen) -> Result<(), ApiError> {
    for (_, f) in facts_with_prefix(&state.store, &site.id, "compliance.finding").await? {
        let p = &f.payload;
        seen.findings
            .insert(s(p, "requirement_id"), (s(p, "status"), strs(p, "devices")));
    }
    for (_, f) in facts_with_prefix(&state.store, &site.id, "task.").await? {
        let p = &f.payload;
        let Some(id) = opt_s(p, "task_id") else {
            continue;
        };
        let key = format!("{id}|{}", s(p, "due_local_date"));
        match f.kind.as_str() {
            cfacts::kinds::TASK_OPENED => {
                seen.opened.insert(key);
            }
            cfacts::kinds::TASK_OVERDUE => {
                seen.overdue.insert(key);
            }
            _ => {}
        }
    }
    for (_, f) in facts_with_prefix(&state.store, &site.id, "outage.").await? {
        let id = s(&f.payload, "outage_id");
        match f.kind.as_str() {
            cfacts::kinds::OUTAGE_OPENED => {
                seen.outage_opened.insert(id);
            }
            cfacts::kinds::OUTAGE_CLOSED => {
                seen.outage_closed.insert(id);
            }
            _ => {}
        }
    }
    seen.loaded = true;
    Ok(())
}

/// Evaluates the site now and journals what changed (findings, new and overdue tasks, derived
/// outages). Returns the snapshot and the number of facts journaled.
pub async fn evaluate_and_journal(
    state: &AppState,
    site: &SiteRuntime,
) -> Result<(Snapshot, usize), ApiError> {
    let Some(rt) = site.compliance.get() else {
        return Err(ApiError::Unavailable(
            "compliance is not running on this site".into(),
        ));
    };
    let mut seen = rt.seen.lock().await;
    if !seen.loaded {
        load_seen(state, site, &mut seen).await?;
    }
    let snap = site_snapshot(state, site).await?;
    let now = snap.now_ms;
    let mut facts: Vec<Fact> = Vec::new();
    for o in &snap.records.outages {
        if !seen.outage_opened.contains(&o.id) {
            facts.push(cfacts::outage_opened(o));
        }
        if !seen.outage_closed.contains(&o.id)
            && let Some(f) = cfacts::outage_closed(o)
        {
            facts.push(f);
        }
    }
    for f in &snap.findings {
        let cur = (f.status.as_str().to_owned(), f.devices.clone());
        if seen.findings.get(&f.requirement_id) != Some(&cur) {
            facts.push(cfacts::finding(f, now));
        }
    }
    let open: Vec<&Task> = snap
        .tasks
        .iter()
        .filter(|t| t.done_ms.is_none() && !seen.opened.contains(&task_key(t)))
        .collect();
    for t in &open {
        facts.push(cfacts::task_opened(t, now));
    }
    let overdue_new: Vec<Task> = snap
        .tasks
        .iter()
        .filter(|t| !seen.overdue.contains(&task_key(t)))
        .cloned()
        .collect();
    facts.extend(cfacts::overdue(&overdue_new, snap.today, now));
    let n = facts.len();
    if n > 0 {
        site.journal.append(facts).await?;
        // Only after the journal took them.
        for o in &snap.records.outages {
            seen.outage_opened.insert(o.id.clone());
            if o.end_ms.is_some() {
                seen.outage_closed.insert(o.id.clone());
            }
        }
        for f in &snap.findings {
            seen.findings.insert(
                f.requirement_id.clone(),
                (f.status.as_str().to_owned(), f.devices.clone()),
            );
        }
        for t in &snap.tasks {
            if t.done_ms.is_none() {
                seen.opened.insert(task_key(t));
            }
            if t.state(snap.today, now) == TaskState::Overdue {
                seen.overdue.insert(task_key(t));
            }
        }
    }
    Ok((snap, n))
}

// ------------------------------------------------------------------------------------ reports

/// The reports this subsystem renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// The compliance report.
    Compliance,
    /// Inspection and test log.
    InspectionLog,
    /// One outage's report (needs an id; the newest otherwise).
    Outage,
    /// Approved vendor list and its changes.
    Vendors,
    /// One incident's report (needs an id; the newest otherwise).
    Incident,
}

impl std::str::FromStr for ReportKind {
    type Err = String;
    fn from_str(v: &str) -> Result<Self, Self::Err> {
        Ok(match v {
            "compliance" => ReportKind::Compliance,
            "inspection-log" | "inspections" => ReportKind::InspectionLog,
            "outage" => ReportKind::Outage,
            "vendors" => ReportKind::Vendors,
            "incident" | "incidents" => ReportKind::Incident,
            other => {
                return Err(format!(
                    "unknown report {other:?}: compliance, inspection-log, outage, vendors, incident"
                ));
            }
        })
    }
}

impl ReportKind {
    /// File name stem.
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Compliance => "compliance",
            ReportKind::InspectionLog => "inspection-log",
            ReportKind::Outage => "outage",
            ReportKind::Vendors => "vendors",
            ReportKind::Incident => "incident",
        }
    }
}

/// Why a report cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The outage or incident does not exist.
    #[error("{0} not found")]
    NotFound(String),
}

/// Builds a report document from a snapshot. `id` selects an outage or incident (the newest
/// when absent); `from_ms..to_ms` bounds the inspection log (default: the last 365 days).
pub fn build_report(
    kind: ReportKind,
    config: &SiteConfig,
    snap: &Snapshot,
    id: Option<&str>,
) -> Result<Document, ReportError> {
    let now = snap.now_ms;
    Ok(match kind {
        ReportKind::Compliance => {
            report::compliance_report(&snap.pack, config, &snap.findings, now)
        }
        ReportKind::InspectionLog => report::inspection_log(
            &snap.pack,
            config,
            &snap.records,
            now.saturating_sub(365 * 86_400_000),
            now.saturating_add(1),
            now,
        ),
        ReportKind::Outage => {
            let docs: Vec<Document> = match id {
                Some(id) => {
                    let o = snap.records.outages.iter().find(|o| o.id == id);
                    let o = o.ok_or_else(|| ReportError::NotFound(format!("outage {id:?}")))?;
                    vec![report::outage_report(&snap.pack, config, o, now)]
                }
                None => snap
                    .records
                    .outages
                    .iter()
                    .map(|o| report::outage_report(&snap.pack, config, o, now))
                    .collect(),
            };
            combine(
                docs,
                format!("Security system outage reports: {}", config.site.name),
                "No security-system outage is recorded.",
                config,
                now,
            )
        }
        ReportKind::Vendors => {
            let days = snap
                .pack
                .requirements
                .iter()
                .find_map(|r| match r.check {
                    Check::ReportDeadline {
                        event: DeadlineEvent::VendorChange,
                        due_calendar_days,
                    } => Some(due_calendar_days),
                    _ => None,
                })
                .unwrap_or(5);
            let changes: Vec<&VendorChange> = snap.records.vendor_changes.iter().collect();
            report::vendor_change_report(config, &snap.records, &changes, days, now)
        }
        ReportKind::Incident => {
            let docs: Vec<Document> = match id {
                Some(id) => {
                    let inc = snap.records.incidents.iter().find(|x| x.id == id);
                    let inc =
                        inc.ok_or_else(|| ReportError::NotFound(format!("incident {id:?}")))?;
                    vec![report::incident_report(config, inc, now)]
                }
                None => snap
                    .records
                    .incidents
                    .iter()
                    .map(|inc| report::incident_report(config, inc, now))
                    .collect(),
            };
            combine(
                docs,
                format!("Incident reports: {}", config.site.name),
                "No diversion, theft or loss incident is recorded.",
                config,
                now,
            )
        }
    })
}

/// One document, or several under one title (each keeps its own title as a heading), or a
/// document saying there is nothing to report.
fn combine(
    mut docs: Vec<Document>,
    title: String,
    none: &str,
    config: &SiteConfig,
    now: i64,
) -> Document {
    if docs.len() == 1
        && let Some(d) = docs.pop()
    {
        return d;
    }
    let mut header = vec![format!("{} ({})", config.site.name, config.site.id)];
    header.push(format!(
        "Prepared {}",
        report::fmt_local(now, &schedule::site_tz(config))
    ));
    let mut blocks = Vec::new();
    if docs.is_empty() {
        blocks.push(Block::Table(report::Table {
            name: "none".into(),
            columns: vec!["Note".into()],
            widths: vec![100],
            rows: vec![vec![none.to_owned()]],
        }));
    }
    for d in docs {
        blocks.push(Block::Heading(d.title));
        blocks.extend(d.blocks);
    }
    Document {
        title,
        header,
        generated_ms: now,
        blocks,
    }
}

/// The AccessState of a site, replayed from its whole journal (offline reports).
async fn access_state(
    store: &Store,
    site_id: &str,
    mut progress: impl FnMut(u64),
) -> Result<strongroom_access::AccessState, StoreError> {
    let mut st = strongroom_access::AccessState::new();
    let mut after = 0u64;
    loop {
        let page = store.events_after(site_id, after, 5_000).await?;
        let facts: Vec<Fact> = page.iter().filter_map(fact_of).map(|(_, f)| f).collect();
        st.apply_all(facts.iter());
        let Some(last) = page.last() else { break };
        after = last.seq;
        progress(after);
        if page.len() < 5_000 {
            break;
        }
    }
    Ok(st)
}

/// The compiled access site for read-only reports. The credential-hashing secret is not needed
/// to list people or vault entries, so a fixed placeholder is used; nothing is hashed with it.
fn access_site(config: &SiteConfig) -> Result<strongroom_access::AccessSite, String> {
    let secret = strongroom_access::SiteSecret::new(&[0u8; 32]).map_err(|e| e.to_string())?;
    strongroom_access::AccessSite::new(
        config,
        strongroom_access::AccessParams::for_jurisdiction(config.site.jurisdiction),
        secret,
    )
    .map_err(|e| e.to_string())
}

/// The daily vault log of local `date`, from the journal (the CLI's `report vault-log`).
pub async fn vault_log_document(
    store: &Store,
    site_id: &str,
    config: &SiteConfig,
    date: jiff::civil::Date,
    now_ms: i64,
    progress: impl FnMut(u64),
) -> Result<Document, ApiError> {
    let tz = schedule::site_tz(config);
    let bad = |e: jiff::Error| ApiError::BadRequest(format!("bad date: {e}"));
    let from = date
        .to_zoned(tz.clone())
        .map_err(bad)?
        .timestamp()
        .as_millisecond();
    let to = date
        .tomorrow()
        .map_err(bad)?
        .to_zoned(tz.clone())
        .map_err(bad)?
        .timestamp()
        .as_millisecond();
    // The access subsystem's partial index serves the query; a server that never ran (the CLI
    // right after `init`) may not have built it yet.
    strongroom_access_service::ensure_vault_index(store)
        .await
        .map_err(ApiError::Internal)?;
    let st = access_state(store, site_id, progress).await?;
    let facts = strongroom_access_service::vault_log_facts(store, site_id, from, to).await?;
    let entries = strongroom_access::vault_log(&facts, &st, &tz, date);
    let rows: Vec<report::VaultLogRow> = entries
        .iter()
        .map(|e| {
            let outs: Vec<Option<i64>> = e.people.iter().map(|p| p.time_out_ms).collect();
            let mut note = Vec::new();
            if e.dual {
                note.push("two-person entry".to_owned());
            }
            if let Some(n) = &e.note {
                note.push(n.clone());
            }
            report::VaultLogRow {
                time_in_ms: e.time_in_ms,
                time_out_ms: if outs.iter().all(Option::is_some) {
                    outs.iter().flatten().max().copied()
                } else {
                    None
                },
                agents: e
                    .people
                    .iter()
                    .map(|p| {
                        let mut s = if p.name.is_empty() {
                            p.person.clone()
                        } else {
                            p.name.clone()
                        };
                        if let Some(a) = &p.agent_id {
                            s.push_str(&format!(" (agent {a})"));
                        }
                        s
                    })
                    .collect(),
                authenticators: e.people.iter().map(|p| p.method.clone()).collect(),
                method: e.source.clone(),
                note: note.join("; "),
            }
        })
        .collect();
    Ok(report::vault_log(config, date, &rows, now_ms))
}

/// The list of persons with access to surveillance equipment, from the journal.
pub async fn surveillance_access_document(
    store: &Store,
    site_id: &str,
    config: &SiteConfig,
    now_ms: i64,
    progress: impl FnMut(u64),
) -> Result<Document, ApiError> {
    let site = access_site(config).map_err(ApiError::Internal)?;
    let st = access_state(store, site_id, progress).await?;
    let rows: Vec<report::AccessListRow> =
        strongroom_access::records::surveillance_access_list(&site, &st, now_ms)
            .iter()
            .map(|r| {
                let p = st.person(&r.person);
                report::AccessListRow {
                    name: r.name.clone(),
                    category: r.category.as_str().to_owned(),
                    employer: r.company.clone().unwrap_or_default(),
                    credential_id: p
                        .and_then(|p| {
                            p.credentials
                                .iter()
                                .filter_map(|c| st.credential(c))
                                .find(|c| c.usable(now_ms))
                                .map(|c| c.id.clone())
                        })
                        .unwrap_or_default(),
                    scope: format!("area {}", r.area),
                    granted_ms: p
                        .and_then(|p| p.authorizations.get(&r.area))
                        .map(|a| a.granted_ms),
                }
            })
            .collect();
    Ok(report::surveillance_access_list(config, &rows, now_ms))
}

// ------------------------------------------------------------------------------------- routes

const P: &str = "/api/v1/sites/{site}/compliance";

/// This subsystem's routes.
pub fn routes() -> Router<AppState> {
    let r = |x: &str| format!("{P}{x}");
    Router::new()
        .route(&r("/findings"), get(get_findings))
        .route(&r("/evaluate"), post(post_evaluate))
        .route(&r("/tasks"), get(get_tasks))
        .route(
            &r("/inspections"),
            get(get_inspections).post(post_inspection),
        )
        .route(&r("/maintenance"), post(post_maintenance))
        .route(&r("/activities"), post(post_activity))
        .route(
            &r("/attestations"),
            get(get_attestations).post(post_attestation),
        )
        .route(&r("/incidents"), get(get_incidents).post(post_incident))
        .route(&r("/incidents/{id}"), post(update_incident))
        .route(&r("/outages"), get(get_outages))
        .route(&r("/outages/{id}"), post(update_outage))
        .route(&r("/outages/{id}/notified"), post(outage_notified))
        .route(&r("/outages/{id}/submitted"), post(outage_submitted))
        .route(&r("/vendors"), get(get_vendors))
        .route(
            &r("/vendor-changes/{id}/submitted"),
            post(vendor_change_submitted),
        )
        .route(&r("/reports/{report}"), get(get_report))
        .route(&r("/incidents/{id}/shares"), post(create_share))
        .route(&r("/shares"), get(list_shares))
        .route(&r("/shares/{share}/revoke"), post(revoke_share))
        .route(&r("/shared/{token}"), get(open_share))
}

/// Every route of this module: (method, path, permission, summary), for the OpenAPI document.
pub const ROUTES: &[(&str, &str, &str, &str)] = &[
    (
        "get",
        "/findings",
        "reports-view",
        "Evaluate the rule pack now; findings with citations",
    ),
    (
        "post",
        "/evaluate",
        "compliance-manage",
        "Evaluate and journal changes now",
    ),
    (
        "get",
        "/tasks",
        "reports-view",
        "Deadlines with due dates and states",
    ),
    (
        "get",
        "/inspections",
        "reports-view",
        "Inspections and tests",
    ),
    (
        "post",
        "/inspections",
        "compliance-manage",
        "Record an inspection and test",
    ),
    (
        "post",
        "/maintenance",
        "compliance-manage",
        "Record preventive maintenance",
    ),
    (
        "post",
        "/activities",
        "compliance-manage",
        "Record a meeting, drill or training",
    ),
    ("get", "/attestations", "reports-view", "Attestations"),
    (
        "post",
        "/attestations",
        "compliance-manage",
        "Record an attestation with measured values",
    ),
    ("get", "/incidents", "reports-view", "Incidents"),
    (
        "post",
        "/incidents",
        "compliance-manage",
        "Open an incident (requests a legal hold)",
    ),
    (
        "post",
        "/incidents/{id}",
        "compliance-manage",
        "Secure, investigate, remediate, close",
    ),
    (
        "get",
        "/outages",
        "reports-view",
        "Outages with lost spans and due dates",
    ),
    (
        "post",
        "/outages/{id}",
        "compliance-manage",
        "Add cause, corrective actions, repair",
    ),
    (
        "post",
        "/outages/{id}/notified",
        "compliance-manage",
        "Record the immediate notice",
    ),
    (
        "post",
        "/outages/{id}/submitted",
        "compliance-manage",
        "Record the report submission",
    ),
    (
        "get",
        "/vendors",
        "reports-view",
        "Approved vendor list and changes",
    ),
    (
        "post",
        "/vendor-changes/{id}/submitted",
        "compliance-manage",
        "Record a change report submission",
    ),
    (
        "get",
        "/reports/{report}",
        "reports-view",
        "compliance|inspection-log|outage|vendors|incident as ?format=html|pdf|csv",
    ),
    (
        "post",
        "/incidents/{id}/shares",
        "compliance-manage",
        "Create a time-limited law-enforcement link to an incident report",
    ),
    (
        "get",
        "/shares",
        "reports-view",
        "Case shares with their accesses",
    ),
    (
        "post",
        "/shares/{share}/revoke",
        "compliance-manage",
        "Revoke a case share",
    ),
    (
        "get",
        "/shared/{token}",
        "(the link's token)",
        "Open a case share (every access journaled)",
    ),
];

fn rt_of(ctx: &SiteCtx) -> Result<(), ApiError> {
    if ctx.site.compliance.get().is_some() {
        Ok(())
    } else {
        Err(ApiError::Unavailable(
            "compliance is not running on this site".into(),
        ))
    }
}

fn text(field: &str, v: &str, required: bool) -> Result<String, ApiError> {
    let t = v.trim();
    if required && t.is_empty() {
        return Err(ApiError::BadRequest(format!("{field} is required")));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(ApiError::BadRequest(format!(
            "{field} may have at most {MAX_TEXT} characters"
        )));
    }
    Ok(t.to_owned())
}

/// A record time: given (not in the future) or now.
fn when(given: Option<i64>, now: i64) -> Result<i64, ApiError> {
    match given {
        Some(t) if t > now.saturating_add(60_000) => {
            Err(ApiError::BadRequest("time_ms is in the future".into()))
        }
        Some(t) if t < 0 => Err(ApiError::BadRequest("time_ms is negative".into())),
        Some(t) => Ok(t),
        None => Ok(now),
    }
}

fn who(actor: &Actor, by: &Option<String>) -> Result<String, ApiError> {
    match by {
        Some(b) if !b.trim().is_empty() => text("by", b, true),
        _ => Ok(match actor {
            Actor::User(u) => u.clone(),
            other => other.to_string(),
        }),
    }
}

fn new_id(prefix: &str, now: i64) -> Result<String, ApiError> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!("{prefix}-{now}-{}", hex::encode(b)))
}

fn finding_json(f: &Finding) -> Value {
    serde_json::to_value(f).unwrap_or(Value::Null)
}

fn task_json(t: &Task, today: jiff::civil::Date, now: i64) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "state".into(),
            serde_json::to_value(t.state(today, now)).unwrap_or(Value::Null),
        );
        o.insert("days_overdue".into(), t.days_overdue(today).into());
    }
    v
}

async fn get_findings(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    rt_of(&ctx)?;
    let (snap, journaled) = evaluate_and_journal(&state, &ctx.site).await?;
    let sum = summarize(&snap.findings);
    Ok(Json(json!({
        "pack": {"id": snap.pack.id, "title": snap.pack.title, "law": snap.pack.law,
                 "effective": snap.pack.effective.to_string(), "regulator": snap.pack.regulator},
        "evaluated_ms": snap.now_ms,
        "summary": sum,
        "journaled": journaled,
        "findings": snap.findings.iter().map(finding_json).collect::<Vec<_>>(),
    })))
}

async fn post_evaluate(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    rt_of(&ctx)?;
    let (snap, journaled) = evaluate_and_journal(&state, &ctx.site).await?;
    Ok(Json(json!({
        "evaluated_ms": snap.now_ms,
        "summary": summarize(&snap.findings),
        "journaled": journaled,
    })))
}

async fn get_tasks(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    rt_of(&ctx)?;
    let snap = site_snapshot(&state, &ctx.site).await?;
    let mut tasks: Vec<&Task> = snap.tasks.iter().collect();
    tasks.sort_by(|a, b| (a.due_local_date, &a.id).cmp(&(b.due_local_date, &b.id)));
    Ok(Json(json!({
        "today": snap.today.to_string(),
        "timezone": ctx.site.config().site.timezone,
        "tasks": tasks.iter().map(|t| task_json(t, snap.today, snap.now_ms)).collect::<Vec<_>>(),
    })))
}

async fn get_inspections(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    let config = ctx.site.config();
    let r = gather_records(&state.store, &ctx.site.id, &config, Vec::new()).await?;
    Ok(Json(json!({
        "devices": schedule::inspectable_devices(&config),
        "inspections": r.inspections,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectionBody {
    device_id: String,
    passed: bool,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    time_ms: Option<i64>,
}

async fn post_inspection(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<InspectionBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    rt_of(&ctx)?;
    let config = ctx.site.config();
    let device = text("device_id", &b.device_id, true)?;
    if !schedule::inspectable_devices(&config).contains(&device.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "no inspectable device {device:?} in the site model"
        )));
    }
    let now = state.clock.now_ms();
    let ins = Inspection {
        id: new_id("ins", now)?,
        device_id: device,
        time_ms: when(b.time_ms, now)?,
        by: who(&ctx.actor, &b.by)?,
        passed: b.passed,
        notes: text("notes", &b.notes, false)?,
    };
    let fact =
        cfacts::inspection_recorded(&ins, ctx.actor.clone()).with("notes", ins.notes.clone());
    let e = ctx.site.journal.append_one(fact).await?;
    let _ = evaluate_and_journal(&state, &ctx.site).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": ins.id, "seq": e.seq, "inspection": ins})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaintenanceBody {
    vendor_id: String,
    scope: String,
    #[serde(default)]
    report_ref: String,
    #[serde(default)]
    time_ms: Option<i64>,
}

async fn post_maintenance(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<MaintenanceBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    rt_of(&ctx)?;
    let now = state.clock.now_ms();
    let id = new_id("mnt", now)?;
    let fact = Fact::new(
        kinds::MAINTENANCE_RECORDED,
        ctx.actor.clone(),
        when(b.time_ms, now)?,
    )
    .with("maintenance_id", id.clone())
    .with("vendor_id", text("vendor_id", &b.vendor_id, true)?)
    .with("scope", text("scope", &b.scope, true)?)
    .with("report_ref", text("report_ref", &b.report_ref, false)?);
    let e = ctx.site.journal.append_one(fact).await?;
    let _ = evaluate_and_journal(&state, &ctx.site).await;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "seq": e.seq}))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivityBody {
    activity: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    time_ms: Option<i64>,
}

async fn post_activity(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<ActivityBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    rt_of(&ctx)?;
    let activity = text("activity", &b.activity, true)?;
    if !activity
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    {
        return Err(ApiError::BadRequest(
            "activity is a name like le_meeting or emergency_drill".into(),
        ));
    }
    let now = state.clock.now_ms();
    let id = new_id("act", now)?;
    let fact = Fact::new(
        kinds::ACTIVITY_RECORDED,
        ctx.actor.clone(),
        when(b.time_ms, now)?,
    )
    .with("activity_id", id.clone())
    .with("activity", activity)
    .with("notes", text("notes", &b.notes, false)?);
    let e = ctx.site.journal.append_one(fact).await?;
    let _ = evaluate_and_journal(&state, &ctx.site).await;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "seq": e.seq}))))
}

async fn get_attestations(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    let config = ctx.site.config();
    let pack = site_pack(&config)?;
    let r = gather_records(&state.store, &ctx.site.id, &config, Vec::new()).await?;
    // The attestation items the pack asks for, with their limits, for the console's form.
    let items: Vec<Value> = pack
        .requirements
        .iter()
        .filter_map(|req| match &req.check {
            Check::Attestation { item, .. } => Some(json!({
                "requirement_id": req.id, "citation": req.citation, "title": req.title,
                "item": item, "params": req.check.params_summary(),
            })),
            _ => None,
        })
        .collect();
    Ok(Json(
        json!({"items": items, "attestations": r.attestations}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestationBody {
    item: String,
    #[serde(default)]
    subject: String,
    in_place: bool,
    /// Measured values: decimal numbers or strings in the unit named by the key (`width_in`).
    #[serde(default)]
    values: BTreeMap<String, Value>,
    #[serde(default)]
    choice: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    approval_ref: Option<String>,
    #[serde(default)]
    by: Option<String>,
}

async fn post_attestation(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<AttestationBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    rt_of(&ctx)?;
    let item = text("item", &b.item, true)?;
    let pack = site_pack(&ctx.site.config())?;
    let known = pack
        .requirements
        .iter()
        .any(|r| matches!(&r.check, Check::Attestation { item: i, .. } if *i == item));
    if !known {
        return Err(ApiError::BadRequest(format!(
            "the {} pack has no attestation item {item:?}",
            pack.id
        )));
    }
    let mut values_milli = BTreeMap::new();
    for (k, v) in &b.values {
        let key_ok = !k.is_empty()
            && k.len() <= 64
            && k.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
        if !key_ok {
            return Err(ApiError::BadRequest(format!("bad value name {k:?}")));
        }
        let as_text = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_owned(),
            _ => String::new(),
        };
        let milli = pack::parse_decimal_milli(&as_text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "value {k:?} must be a decimal number (at most 3 decimals), not {v}"
            ))
        })?;
        values_milli.insert(k.clone(), milli);
    }
    let now = state.clock.now_ms();
    let subject = text("subject", &b.subject, false)?;
    let a = Attestation {
        id: new_id("att", now)?,
        item,
        subject: if subject.is_empty() {
            "site".into()
        } else {
            subject
        },
        time_ms: now,
        by: who(&ctx.actor, &b.by)?,
        values_milli,
        choice: b
            .choice
            .as_deref()
            .map(|c| text("choice", c, false))
            .transpose()?
            .filter(|c| !c.is_empty()),
        text: b
            .text
            .as_deref()
            .map(|c| text("text", c, false))
            .transpose()?
            .filter(|c| !c.is_empty()),
        approval_ref: b
            .approval_ref
            .as_deref()
            .map(|c| text("approval_ref", c, false))
            .transpose()?
            .filter(|c| !c.is_empty()),
        in_place: b.in_place,
    };
    let mut fact = cfacts::attestation_recorded(&a, ctx.actor.clone()).with("by", a.by.clone());
    for (k, v) in [
        ("choice", &a.choice),
        ("text", &a.text),
        ("approval_ref", &a.approval_ref),
    ] {
        if let Some(v) = v {
            fact = fact.with(k, v.clone());
        }
    }
    let e = ctx.site.journal.append_one(fact).await?;
    let _ = evaluate_and_journal(&state, &ctx.site).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": a.id, "seq": e.seq, "attestation": a})),
    ))
}

async fn get_incidents(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    let facts = facts_with_prefix(&state.store, &ctx.site.id, "incident.").await?;
    Ok(Json(json!({"incidents": incidents_of(&facts)})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentBody {
    kind: String,
    description: String,
    #[serde(default)]
    affected: String,
    #[serde(default)]
    discovered_ms: Option<i64>,
    #[serde(default)]
    areas: Vec<String>,
    #[serde(default)]
    cameras: Vec<String>,
    /// Hold window; default two hours before discovery to one hour after.
    #[serde(default)]
    hold_from_ms: Option<i64>,
    #[serde(default)]
    hold_to_ms: Option<i64>,
}

async fn post_incident(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<IncidentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    rt_of(&ctx)?;
    let kind = text("kind", &b.kind, true)?;
    if !matches!(kind.as_str(), "diversion" | "theft" | "loss") {
        return Err(ApiError::BadRequest(
            "kind must be diversion, theft or loss".into(),
        ));
    }
    let config = ctx.site.config();
    for a in &b.areas {
        if !config.areas.iter().any(|x| &x.id == a) {
            return Err(ApiError::BadRequest(format!(
                "no area {a:?} in the site model"
            )));
        }
    }
    for c in &b.cameras {
        if !config.cameras.iter().any(|x| &x.id == c) {
            return Err(ApiError::BadRequest(format!(
                "no camera {c:?} in the site model"
            )));
        }
    }
    let now = state.clock.now_ms();
    let discovered = when(b.discovered_ms, now)?;
    let from = b.hold_from_ms.unwrap_or(discovered - HOLD_BEFORE_MS);
    let to = b.hold_to_ms.unwrap_or(discovered + HOLD_AFTER_MS);
    if to <= from {
        return Err(ApiError::BadRequest(
            "hold_to_ms must be after hold_from_ms".into(),
        ));
    }
    // The cameras covering the areas involved, plus any named.
    let mut cameras: BTreeSet<String> = b.cameras.iter().cloned().collect();
    for cam in &config.cameras {
        if cam.covers_areas.iter().any(|a| b.areas.contains(a)) {
            cameras.insert(cam.id.clone());
        }
    }
    let cameras: Vec<String> = cameras.into_iter().collect();
    let inc = Incident {
        id: new_id("inc", now)?,
        kind,
        discovered_ms: discovered,
        reporter: who(&ctx.actor, &None)?,
        description: text("description", &b.description, true)?,
        affected: text("affected", &b.affected, false)?,
        cameras: cameras.clone(),
        ..Incident::default()
    };
    let fact = cfacts::incident_opened(&inc, ctx.actor.clone())
        .with("reporter", inc.reporter.clone())
        .with("description", inc.description.clone())
        .with("affected", inc.affected.clone())
        .with("areas", b.areas.clone());
    let e = ctx.site.journal.append_one(fact).await?;
    // RET-03 / INC-02: hold the cameras covering the areas for the window.
    let reason = format!("{} incident {}", inc.kind, inc.id);
    let hold = if cameras.is_empty() {
        json!({"placed": false, "reason": "no cameras cover the areas named"})
    } else {
        let placed = match ctx.site.video.get() {
            Some(video) => video
                .place_hold(
                    cameras.clone(),
                    from,
                    to,
                    &reason,
                    &inc.id,
                    ctx.actor.clone(),
                )
                .await
                .map_err(|e| e.to_string()),
            None => Err("video is not running on this site".to_owned()),
        };
        match placed {
            Ok(id) => json!({"placed": true, "hold_id": id}),
            Err(err) => {
                ctx.site
                    .journal
                    .append_one(
                        Fact::new(kinds::HOLD_REQUESTED, ctx.actor.clone(), now)
                            .with("incident_id", inc.id.clone())
                            .with("cameras", cameras.clone())
                            .with("from_ms", from)
                            .with("to_ms", to)
                            .with("reason", reason)
                            .with("error", err.to_string()),
                    )
                    .await?;
                json!({"placed": false, "requested": true, "error": err.to_string()})
            }
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": inc.id, "seq": e.seq, "cameras": cameras, "hold": hold,
                    "hold_from_ms": from, "hold_to_ms": to}),
        ),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due_local_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentUpdateBody {
    #[serde(default)]
    secured: bool,
    #[serde(default)]
    root_cause: Option<String>,
    #[serde(default)]
    action: Option<ActionBody>,
    #[serde(default)]
    action_done: Option<String>,
    #[serde(default)]
    close: bool,
}

async fn update_incident(
    session: Session,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<IncidentUpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    rt_of(&ctx)?;
    let incidents =
        incidents_of(&facts_with_prefix(&state.store, &ctx.site.id, "incident.").await?);
    let Some(inc) = incidents.iter().find(|x| x.id == id) else {
        return Err(ApiError::NotFound(format!("incident {id:?}")));
    };
    if inc.closed_ms.is_some() {
        return Err(ApiError::Conflict(format!("incident {id} is closed")));
    }
    let now = state.clock.now_ms();
    let mut fact =
        Fact::new(kinds::INCIDENT_UPDATED, ctx.actor.clone(), now).with("incident_id", id.clone());
    let mut any = false;
    if b.secured {
        if inc.secured_ms.is_some() {
            return Err(ApiError::Conflict("already recorded as secured".into()));
        }
        fact = fact.with("secured_ms", now);
        any = true;
    }
    if let Some(rc) = &b.root_cause {
        fact = fact.with("root_cause", text("root_cause", rc, true)?);
        any = true;
    }
    if let Some(a) = &b.action {
        let due = match a.due_local_date.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => Some(d.parse::<jiff::civil::Date>().map_err(|e| {
                ApiError::BadRequest(format!("bad due_local_date {d:?}: {e} (use YYYY-MM-DD)"))
            })?),
            None => None,
        };
        let mut obj = json!({
            "id": format!("a{}", inc.actions.len() + 1),
            "description": text("action.description", &a.description, true)?,
            "owner": text("action.owner", &a.owner, false)?,
        });
        if let (Some(d), Some(o)) = (due, obj.as_object_mut()) {
            o.insert("due_local_date".into(), d.to_string().into());
        }
        fact = fact.with("action", obj);
        any = true;
    }
    if let Some(done) = &b.action_done {
        if !inc
            .actions
            .iter()
            .any(|a| &a.id == done && a.done_ms.is_none())
        {
            return Err(ApiError::BadRequest(format!("no open action {done:?}")));
        }
        fact = fact.with("action_done", done.clone());
        any = true;
    }
    if b.close {
        let open_actions =
            inc.actions.iter().any(|a| a.done_ms.is_none()) && b.action_done.is_none();
        if open_actions || inc.secured_ms.is_none() && !b.secured {
            return Err(ApiError::Conflict(
                "an incident closes only once secured and with every corrective action done".into(),
            ));
        }
        fact = fact.with("closed_ms", now);
        any = true;
    }
    if !any {
        return Err(ApiError::BadRequest("nothing to update".into()));
    }
    let e = ctx.site.journal.append_one(fact).await?;
    let _ = evaluate_and_journal(&state, &ctx.site).await;
    Ok(Json(json!({"id": id, "seq": e.seq})))
}

async fn get_outages(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    rt_of(&ctx)?;
    let snap = site_snapshot(&state, &ctx.site).await?;
    let list: Vec<Value> = snap
        .records
        .outages
        .iter()
        .map(|o| {
            let task = snap
                .tasks
                .iter()
                .find(|t| t.subject == o.id && t.kind == schedule::TaskKind::OutageReport);
            json!({
                "outage": o,
                "report_due_local_date": task.map(|t| t.due_local_date.to_string()),
                "report_due_provisional": task.map(|t| t.provisional),
                "lost_ms": o.lost_spans.iter().map(|s| (s.end_ms - s.start_ms).max(0)).sum::<i64>(),
            })
        })
        .collect();
    Ok(Json(json!({"outages": list})))
}

async fn known_outage(state: &AppState, ctx: &SiteCtx, id: &str) -> Result<(), ApiError> {
    let config = ctx.site.config();
    let outages = outages_of(
        &config,
        &facts_with_prefix(&state.store, &ctx.site.id, "health.").await?,
        &[],
    );
    if outages.iter().any(|o| o.id == id) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("outage {id:?}")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutageUpdateBody {
    #[serde(default)]
    cause: Option<String>,
    #[serde(default)]
    corrective_actions: Option<String>,
    #[serde(default)]
    repaired_ms: Option<i64>,
    #[serde(default)]
    extension_approval_ref: Option<String>,
}

async fn update_outage(
    session: Session,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<OutageUpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    known_outage(&state, &ctx, &id).await?;
    let now = state.clock.now_ms();
    let mut fact =
        Fact::new(kinds::OUTAGE_UPDATED, ctx.actor.clone(), now).with("outage_id", id.clone());
    if let Some(c) = &b.cause {
        fact = fact.with("cause", text("cause", c, true)?);
    }
    if let Some(c) = &b.corrective_actions {
        fact = fact.with("corrective_actions", text("corrective_actions", c, true)?);
    }
    if let Some(t) = b.repaired_ms {
        fact = fact.with("repaired_ms", when(Some(t), now)?);
    }
    if let Some(a) = &b.extension_approval_ref {
        fact = fact.with(
            "extension_approval_ref",
            text("extension_approval_ref", a, true)?,
        );
    }
    if fact.payload.len() < 2 {
        return Err(ApiError::BadRequest("nothing to update".into()));
    }
    let e = ctx.site.journal.append_one(fact).await?;
    let _ = evaluate_and_journal(&state, &ctx.site).await;
    Ok(Json(json!({"id": id, "seq": e.seq})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    channel: String,
    recipient: String,
    #[serde(default)]
    time_ms: Option<i64>,
}

async fn outage_notified(
    session: Session,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<NoticeBody>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    known_outage(&state, &ctx, &id).await?;
    let now = state.clock.now_ms();
    let fact = Fact::new(kinds::OUTAGE_NOTIFIED, ctx.actor.clone(), now)
        .with("outage_id", id.clone())
        .with("notified_ms", when(b.time_ms, now)?)
        .with("channel", text("channel", &b.channel, true)?)
        .with("recipient", text("recipient", &b.recipient, true)?);
    let e = ctx.site.journal.append_one(fact).await?;
    Ok(Json(json!({"id": id, "seq": e.seq})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmittedBody {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    time_ms: Option<i64>,
}

async fn outage_submitted(
    session: Session,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<SubmittedBody>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    known_outage(&state, &ctx, &id).await?;
    let now = state.clock.now_ms();
    let fact = Fact::new(kinds::OUTAGE_REPORT_SUBMITTED, ctx.actor.clone(), now)
        .with("outage_id", id.clone())
        .with("submitted_ms", when(b.time_ms, now)?)
        .with("reference", text("reference", &b.reference, false)?);
    let e = ctx.site.journal.append_one(fact).await?;
    let _ = evaluate_and_journal(&state, &ctx.site).await;
    Ok(Json(json!({"id": id, "seq": e.seq})))
}

async fn get_vendors(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    let mut facts = facts_with_prefix(&state.store, &ctx.site.id, "person.").await?;
    facts.extend(facts_with_prefix(&state.store, &ctx.site.id, "vendor.").await?);
    facts.sort_by_key(|(s, _)| *s);
    let (vendors, changes) = vendors_of(&facts);
    Ok(Json(json!({"vendors": vendors, "changes": changes})))
}

async fn vendor_change_submitted(
    session: Session,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<SubmittedBody>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    let mut facts = facts_with_prefix(&state.store, &ctx.site.id, "person.").await?;
    facts.extend(facts_with_prefix(&state.store, &ctx.site.id, "vendor.").await?);
    facts.sort_by_key(|(s, _)| *s);
    let (_, changes) = vendors_of(&facts);
    match changes.iter().find(|c| c.id == id) {
        None => return Err(ApiError::NotFound(format!("vendor change {id:?}"))),
        Some(c) if c.submitted_ms.is_some() => {
            return Err(ApiError::Conflict(format!(
                "change {id} was already reported"
            )));
        }
        Some(_) => {}
    }
    let now = state.clock.now_ms();
    let fact = Fact::new(kinds::VENDOR_CHANGE_SUBMITTED, ctx.actor.clone(), now)
        .with("change_id", id.clone())
        .with("submitted_ms", when(b.time_ms, now)?)
        .with("reference", text("reference", &b.reference, false)?);
    let e = ctx.site.journal.append_one(fact).await?;
    let _ = evaluate_and_journal(&state, &ctx.site).await;
    Ok(Json(json!({"id": id, "seq": e.seq})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

async fn get_report(
    session: Session,
    State(state): State<AppState>,
    Path((site, name)): Path<(String, String)>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let kind: ReportKind = name.parse().map_err(ApiError::BadRequest)?;
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("html")
        .parse()
        .map_err(|e: report::UnknownFormat| ApiError::BadRequest(e.to_string()))?;
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    rt_of(&ctx)?;
    let config = ctx.site.config();
    let snap = site_snapshot(&state, &ctx.site).await?;
    let doc = build_report(kind, &config, &snap, q.id.as_deref())
        .map_err(|e| ApiError::NotFound(e.to_string().trim_end_matches(" not found").to_owned()))?;
    let bytes = report::render(&doc, format);
    ctx.site
        .journal
        .append_one(
            Fact::new(
                cfacts::kinds::REPORT_GENERATED,
                ctx.actor.clone(),
                state.clock.now_ms(),
            )
            .with("report", kind.name())
            .with("format", format.extension())
            .with("bytes", bytes.len()),
        )
        .await?;
    let file = format!(
        "{}-{}-{}.{}",
        kind.name(),
        ctx.site.id,
        snap.today,
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------------------- case shares (LEP-08)

/// Longest life of a case share link.
const MAX_SHARE_HOURS: u32 = 24 * 30;

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A case share as folded from the journal.
#[derive(Debug, Clone, serde::Serialize)]
struct Share {
    share_id: String,
    incident_id: String,
    recipient: String,
    #[serde(skip)]
    token_sha256: String,
    created_ms: i64,
    created_by: String,
    expires_ms: i64,
    revoked_ms: Option<i64>,
    accesses: Vec<Value>,
}

async fn shares(store: &Store, site_id: &str) -> Result<Vec<Share>, StoreError> {
    let mut out: Vec<Share> = Vec::new();
    for (_, f) in facts_with_prefix(store, site_id, "case_share.").await? {
        let p = &f.payload;
        let id = s(p, "share_id");
        match f.kind.as_str() {
            kinds::CASE_SHARE_CREATED => out.push(Share {
                share_id: id,
                incident_id: s(p, "incident_id"),
                recipient: s(p, "recipient"),
                token_sha256: s(p, "token_sha256"),
                created_ms: f.time_ms,
                created_by: f.actor.to_string(),
                expires_ms: i(p, "expires_ms").unwrap_or(0),
                revoked_ms: None,
                accesses: Vec::new(),
            }),
            kinds::CASE_SHARE_REVOKED => {
                if let Some(x) = out.iter_mut().find(|x| x.share_id == id) {
                    x.revoked_ms = Some(f.time_ms);
                }
            }
            kinds::CASE_SHARE_ACCESSED | kinds::CASE_SHARE_REFUSED => {
                if let Some(x) = out.iter_mut().find(|x| x.share_id == id) {
                    x.accesses.push(json!({"time_ms": f.time_ms, "kind": f.kind,
                        "client": s(p, "client"), "format": s(p, "format"), "reason": s(p, "reason")}));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    recipient: String,
    ttl_hours: u32,
}

async fn create_share(
    session: Session,
    State(state): State<AppState>,
    Path((site, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<ShareBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    if b.ttl_hours == 0 || b.ttl_hours > MAX_SHARE_HOURS {
        return Err(ApiError::BadRequest(format!(
            "ttl_hours must be 1 to {MAX_SHARE_HOURS}"
        )));
    }
    let recipient = text("recipient", &b.recipient, true)?;
    let incidents =
        incidents_of(&facts_with_prefix(&state.store, &ctx.site.id, "incident.").await?);
    if !incidents.iter().any(|x| x.id == id) {
        return Err(ApiError::NotFound(format!("incident {id:?}")));
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| ApiError::Internal(e.to_string()))?;
    let token = hex::encode(raw);
    let now = state.clock.now_ms();
    let share_id = new_id("share", now)?;
    let expires = now.saturating_add(i64::from(b.ttl_hours) * 3_600_000);
    ctx.site
        .journal
        .append_one(
            Fact::new(kinds::CASE_SHARE_CREATED, ctx.actor.clone(), now)
                .with("share_id", share_id.clone())
                .with("incident_id", id.clone())
                .with("recipient", recipient)
                .with("token_sha256", sha256_hex(&token))
                .with("expires_ms", expires),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "share_id": share_id,
            "expires_ms": expires,
            "url": format!("/api/v1/sites/{}/compliance/shared/{token}?format=pdf", ctx.site.id),
        })),
    ))
}

async fn list_shares(
    session: Session,
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    Ok(Json(
        json!({"shares": shares(&state.store, &ctx.site.id).await?}),
    ))
}

async fn revoke_share(
    session: Session,
    State(state): State<AppState>,
    Path((site, share)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    let list = shares(&state.store, &ctx.site.id).await?;
    match list.iter().find(|x| x.share_id == share) {
        None => return Err(ApiError::NotFound(format!("share {share:?}"))),
        Some(x) if x.revoked_ms.is_some() => {
            return Err(ApiError::Conflict("already revoked".into()));
        }
        Some(_) => {}
    }
    let e = ctx
        .site
        .journal
        .append_one(
            Fact::new(
                kinds::CASE_SHARE_REVOKED,
                ctx.actor.clone(),
                state.clock.now_ms(),
            )
            .with("share_id", share.clone()),
        )
        .await?;
    Ok(Json(json!({"share_id": share, "seq": e.seq})))
}

/// The link itself is the authorization: an unguessable 256-bit token whose hash was journaled
/// at creation. Every opening (and every refused attempt on a known link) is journaled before
/// anything is sent; an unknown token is a plain 404.
async fn open_share(
    State(state): State<AppState>,
    crate::api::ClientAddr(client): crate::api::ClientAddr,
    Path((site, token)): Path<(String, String)>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("pdf")
        .parse()
        .map_err(|e: report::UnknownFormat| ApiError::BadRequest(e.to_string()))?;
    let not_found = || ApiError::NotFound("case share".into());
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let Some(rt) = state.all_sites().into_iter().find(|x| x.id == site) else {
        return Err(not_found());
    };
    let hash = sha256_hex(&token.to_ascii_lowercase());
    let list = shares(&state.store, &rt.id).await?;
    let Some(share) = list.into_iter().find(|x| x.token_sha256 == hash) else {
        return Err(not_found());
    };
    let now = state.clock.now_ms();
    let refused = if share.revoked_ms.is_some() {
        Some("revoked")
    } else if now >= share.expires_ms {
        Some("expired")
    } else {
        None
    };
    if let Some(reason) = refused {
        rt.journal
            .append_one(
                Fact::new(kinds::CASE_SHARE_REFUSED, Actor::System, now)
                    .with("share_id", share.share_id.clone())
                    .with("reason", reason)
                    .with("client", client),
            )
            .await?;
        return Err(ApiError::Forbidden(format!(
            "this case share link is {reason}"
        )));
    }
    let config = rt.config();
    let snap = snapshot(&state.store, &rt.id, &config, Vec::new(), now).await?;
    let doc = build_report(
        ReportKind::Incident,
        &config,
        &snap,
        Some(&share.incident_id),
    )
    .map_err(|_| not_found())?;
    let bytes = report::render(&doc, format);
    rt.journal
        .append_one(
            Fact::new(kinds::CASE_SHARE_ACCESSED, Actor::System, now)
                .with("share_id", share.share_id.clone())
                .with("incident_id", share.incident_id.clone())
                .with("recipient", share.recipient.clone())
                .with("client", client)
                .with("format", format.extension()),
        )
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"incident-{}.{}\"",
                    share.incident_id,
                    format.extension()
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> SiteConfig {
        SiteConfig::parse("demo.toml", strongroom_domain::site::DEMO_SITE_TOML).expect("demo")
    }

    #[test]
    fn outages_from_health_facts_have_exact_spans() {
        let config = demo();
        let cam = config.cameras[0].id.clone();
        let down = Fact::new("health.camera_down", Actor::System, 1_500)
            .with("device", cam.clone())
            .with("onset_ms", 1_000);
        let other = Fact::new("health.reader_down", Actor::System, 2_000).with("device", "r1");
        let up = Fact::new("health.camera_up", Actor::System, 7_201_000)
            .with("device", cam.clone())
            .with("up_ms", 7_201_000);
        let other_up = Fact::new("health.reader_up", Actor::System, 7_300_000).with("device", "r1");
        let facts = vec![(5, down), (6, other), (7, up), (9, other_up)];
        let o = outages_of(&config, &facts[..3], &[]);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].end_ms, None, "the reader is still down");
        let o = outages_of(&config, &facts, &[]);
        assert_eq!(o[0].id, "outage-5");
        assert_eq!(o[0].start_ms, 1_000);
        assert_eq!(o[0].end_ms, Some(7_300_000));
        assert_eq!(o[0].lost_spans.len(), 1);
        assert_eq!(
            o[0].lost_spans[0].end_ms - o[0].lost_spans[0].start_ms,
            7_200_000
        );
        assert_eq!(o[0].affected_devices, vec![cam, "r1".to_owned()]);
    }

    #[test]
    fn vendor_changes_from_access_facts() {
        let f = vec![
            (
                3,
                Fact::new("person.added", Actor::System, 10)
                    .with("person", "v1")
                    .with("category", "vendor")
                    .with("name", "Ann")
                    .with("company", "Locks Inc"),
            ),
            (
                4,
                Fact::new("person.added", Actor::System, 11)
                    .with("person", "a1")
                    .with("category", "agent"),
            ),
            (
                5,
                Fact::new("vendor.approved", Actor::System, 12)
                    .with("person", "v1")
                    .with("approval_ref", "IDFPR-1"),
            ),
            (
                6,
                Fact::new("vendor.removed", Actor::System, 13)
                    .with("person", "v1")
                    .with("reason", "contract ended"),
            ),
            (
                7,
                Fact::new(kinds::VENDOR_CHANGE_SUBMITTED, Actor::System, 14)
                    .with("change_id", "vc-3"),
            ),
        ];
        let (v, c) = vendors_of(&f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].status, VendorStatus::Removed);
        assert_eq!(v[0].approval_ref.as_deref(), Some("IDFPR-1"));
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].submitted_ms, Some(14));
        assert_eq!(c[1].change, ChangeKind::Removed);
        assert_eq!(c[1].submitted_ms, None);
    }
}
