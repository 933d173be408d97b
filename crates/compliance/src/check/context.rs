//! What one evaluation shares: [`Ctx`], the site and records with precomputed lookups (area kinds,
//! latest camera measurement and attestation, door selection), and [`Outcome`], the status,
//! evidence, devices and records a check kind builds up.
use std::collections::HashMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use strongroom_domain::site::{Area, AreaKind, Camera, Channel, Door, SensorKind, SiteConfig};

use super::Status;
use crate::pack::{AreaSelector, DoorSelector, enum_name};
use crate::records::{Attestation, CameraMeasurement, Records};
use crate::schedule::{local_date, site_tz};

/// What a check kind concluded: status (pass unless a failure is recorded), summary, evidence.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) status: Option<Status>,
    pub(super) summary: String,
    pub(super) evidence: Vec<String>,
    pub(super) devices: Vec<String>,
    pub(super) records: Vec<String>,
}

impl Outcome {
    pub(super) fn new() -> Self {
        Outcome::default()
    }
    pub(super) fn ev(&mut self, line: String) {
        self.evidence.push(line);
    }
    pub(super) fn fail_on(&mut self, device: &str, line: String) {
        self.status = Some(Status::Fail);
        if !self.devices.iter().any(|d| d == device) {
            self.devices.push(device.to_owned());
        }
        self.evidence.push(line);
    }
    pub(super) fn finish(
        mut self,
        pass_summary: String,
        fail_summary: impl FnOnce(usize) -> String,
    ) -> Self {
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
    pub(super) fn with(status: Status, summary: String) -> Self {
        Outcome {
            status: Some(status),
            summary,
            ..Outcome::default()
        }
    }
}

/// Shared, precomputed lookups for one evaluation.
pub(super) struct Ctx<'a> {
    pub(super) site: &'a SiteConfig,
    pub(super) records: &'a Records,
    pub(super) tz: TimeZone,
    pub(super) today: Date,
    pub(super) now_ms: i64,
    pub(super) area_kinds: HashMap<&'a str, AreaKind>,
    pub(super) cams: HashMap<&'a str, &'a CameraMeasurement>,
    /// Latest attestation per (item, subject).
    pub(super) attest: HashMap<(&'a str, &'a str), &'a Attestation>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(site: &'a SiteConfig, records: &'a Records, now_ms: i64) -> Self {
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

    pub(super) fn kind(&self, area: &str) -> Option<AreaKind> {
        self.area_kinds.get(area).copied()
    }

    pub(super) fn outside(&self, area: &str) -> bool {
        matches!(
            self.kind(area),
            Some(AreaKind::Exterior | AreaKind::Parking)
        )
    }

    pub(super) fn restricted(&self, area: &str) -> bool {
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

    pub(super) fn door_matches(&self, d: &Door, sel: DoorSelector) -> bool {
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

    pub(super) fn doors(&self, sel: DoorSelector) -> Vec<&'a Door> {
        self.site
            .doors
            .iter()
            .filter(|d| self.door_matches(d, sel))
            .collect()
    }

    pub(super) fn area_selected(&self, kind: AreaKind, sel: &AreaSelector) -> bool {
        match sel {
            AreaSelector::All => true,
            AreaSelector::Kinds(k) => k.contains(&kind),
        }
    }

    /// The site's areas the selector picks.
    pub(super) fn areas(&self, sel: &AreaSelector) -> Vec<&'a Area> {
        self.site
            .areas
            .iter()
            .filter(|a| self.area_selected(a.kind, sel))
            .collect()
    }

    /// Ids of the cameras `covers` picks that carry `purpose` (any camera when `None`).
    pub(super) fn cameras_viewing(
        &self,
        covers: impl Fn(&Camera) -> bool,
        purpose: Option<&str>,
    ) -> Vec<&'a str> {
        self.site
            .cameras
            .iter()
            .filter(|c| covers(c) && purpose.is_none_or(|p| self.has_purpose(c, p)))
            .map(|c| c.id.as_str())
            .collect()
    }

    /// Ids of the sensors of one of `kinds` in `area`.
    pub(super) fn sensors_in(&self, area: &str, kinds: &[SensorKind]) -> Vec<&'a str> {
        self.site
            .sensors
            .iter()
            .filter(|s| s.area == area && kinds.contains(&s.kind))
            .map(|s| s.id.as_str())
            .collect()
    }

    pub(super) fn has_purpose(&self, cam: &Camera, purpose: &str) -> bool {
        cam.purposes.iter().any(|p| enum_name(p) == purpose)
            || self
                .cams
                .get(cam.id.as_str())
                .is_some_and(|m| m.extra_purposes.iter().any(|p| p == purpose))
    }

    pub(super) fn channel_configured(&self, ch: Channel) -> bool {
        let by_site = match ch {
            Channel::Sms | Channel::Voice => self.site.notify.webhook.is_some(),
            Channel::Email => self.site.notify.smtp.is_some(),
        };
        by_site || self.records.channels_configured.contains(&ch)
    }
}
