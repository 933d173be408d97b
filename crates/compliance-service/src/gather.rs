//! Folding the journal of a site into the engine's [`Records`]: each record kind is read by its
//! fact kind (prefix) and folded by the engine's rules (`strongroom_compliance::journal`); camera
//! measurements come from the newest `video.segment` and `health.camera_clock_drift` facts.
use std::collections::BTreeMap;

use strongroom_compliance::facts::kinds;
use strongroom_compliance::journal::{self, payload};
use strongroom_compliance::records::{CameraMeasurement, Records, Vendor, VendorChange};
use strongroom_domain::Fact;
use strongroom_domain::site::{Channel, SiteConfig};
use strongroom_journal::JournalEvent;
use strongroom_store::{Store, StoreError};

/// A journaled event turned back into its fact, with its sequence number.
pub(crate) fn fact_of(e: &JournalEvent) -> Option<(u64, Fact)> {
    strongroom_store::decode::fact_of_event(e).map(|f| (e.seq, f))
}

/// Every fact of `site_id` whose kind starts with `prefix`, in journal order.
pub(crate) async fn facts_with_prefix(
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

/// The platform capabilities this server build provides when every subsystem runs (the
/// `capability` check kind). Each names a route or mechanism that exists in the server.
pub fn build_capabilities() -> Vec<String> {
    [
        // video service: still (jpg, bmp, gif, png), playback, signed evidence bundle with MP4.
        "video.still",
        "video.still.formats",
        "video.export.signed",
        "video.export.mp4",
        // Regulator role: live view, playback, stills and reports, read-only (auth.rs).
        "regulator.portal",
        // access: duress PIN credentials, vault log, surveillance access list.
        "alarm.duress_code",
        "report.vault_log",
        "report.surveillance_access_list",
        // this service.
        "report.outage",
        "report.vendor_list",
        "report.incident",
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .collect()
}

/// [`build_capabilities`] filtered by the subsystems running: `video` and `access`.
pub fn capabilities_of(video: bool, access: bool) -> Vec<String> {
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

/// The vendors and vendor-list changes of `site_id` (`person.*` and `vendor.*` facts).
pub(crate) async fn vendors(
    store: &Store,
    site_id: &str,
) -> Result<(Vec<Vendor>, Vec<VendorChange>), StoreError> {
    let mut facts = facts_with_prefix(store, site_id, "person.").await?;
    facts.extend(facts_with_prefix(store, site_id, "vendor.").await?);
    facts.sort_by_key(|(s, _)| *s);
    Ok(journal::vendors_of(&facts))
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
    let of_kind = |kind: &'static str| facts_with_prefix(store, site_id, kind);
    r.inspections = of_kind(kinds::INSPECTION_RECORDED)
        .await?
        .iter()
        .map(|(_, f)| journal::inspection_of(f))
        .collect();
    r.maintenance = of_kind(kinds::MAINTENANCE_RECORDED)
        .await?
        .iter()
        .map(|(_, f)| journal::maintenance_of(f))
        .collect();
    r.activities = of_kind(kinds::ACTIVITY_RECORDED)
        .await?
        .iter()
        .map(|(_, f)| journal::activity_of(f))
        .collect();
    r.attestations = of_kind(kinds::ATTESTATION_RECORDED)
        .await?
        .iter()
        .map(|(_, f)| journal::attestation_of(f))
        .collect();
    r.incidents = journal::incidents_of(&of_kind("incident.").await?);
    r.outages = journal::outages_of(
        config,
        &of_kind("health.").await?,
        &of_kind("outage.").await?,
    );
    let (vendors, changes) = vendors(store, site_id).await?;
    r.vendors = vendors;
    r.vendor_changes = changes;
    r.cameras = cameras_of(store, site_id, config).await?;
    Ok(r)
}

/// Latest measurements per camera: the lowest recorded fps and the resolution over the newest
/// segments, and the last clock-drift reading.
async fn cameras_of(
    store: &Store,
    site_id: &str,
    config: &SiteConfig,
) -> Result<Vec<CameraMeasurement>, StoreError> {
    let mut m: BTreeMap<String, CameraMeasurement> = BTreeMap::new();
    let per_camera = u32::try_from(config.cameras.len().max(1) * 10).unwrap_or(1000);
    for e in store
        .recent_events(site_id, Some("video.segment"), None, per_camera.min(2_000))
        .await?
    {
        let Some((_, f)) = fact_of(&e) else { continue };
        let p = &f.payload;
        let cam = payload::text(p, "camera");
        if cam.is_empty() {
            continue;
        }
        let c = measurement(&mut m, &cam, f.time_ms);
        if let Some(fps) = payload::int(p, "fps_milli").and_then(|x| u32::try_from(x).ok()) {
            c.recorded_fps_milli = Some(c.recorded_fps_milli.map_or(fps, |x| x.min(fps)));
        }
        if c.width_px.is_none() {
            c.width_px = payload::int(p, "width").and_then(|x| u32::try_from(x).ok());
            c.height_px = payload::int(p, "height").and_then(|x| u32::try_from(x).ok());
        }
    }
    for e in store
        .recent_events(site_id, Some("health.camera_clock_drift"), None, 500)
        .await?
    {
        let Some((_, f)) = fact_of(&e) else { continue };
        let cam = payload::text(&f.payload, "camera");
        if cam.is_empty() {
            continue;
        }
        let c = measurement(&mut m, &cam, f.time_ms);
        if c.clock_offset_ms.is_none() {
            c.clock_offset_ms = payload::int(&f.payload, "drift_ms");
        }
    }
    Ok(m.into_values().collect())
}

/// The measurement of `cam`, created at `time_ms` (the newest fact's time) if it is new.
fn measurement<'a>(
    m: &'a mut BTreeMap<String, CameraMeasurement>,
    cam: &str,
    time_ms: i64,
) -> &'a mut CameraMeasurement {
    m.entry(cam.to_owned())
        .or_insert_with(|| CameraMeasurement {
            camera_id: cam.to_owned(),
            time_ms,
            ..Default::default()
        })
}
