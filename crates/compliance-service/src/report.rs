//! The reports this service renders ([`ReportKind`]) built from a [`Snapshot`]
//! ([`build_report`]), and [`ComplianceService::report`], which renders one and journals
//! `report.generated`.
use strongroom_compliance::facts as cfacts;
use strongroom_compliance::pack::{Check, DeadlineEvent};
use strongroom_compliance::records::VendorChange;
use strongroom_compliance::report::{self, Block, Document, Format};
use strongroom_compliance::schedule;
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Fact};

use crate::error::ComplianceError;
use crate::service::ComplianceService;
use crate::snapshot::Snapshot;

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

/// A rendered report, ready to be served as a download.
#[derive(Debug, Clone)]
pub struct RenderedReport {
    /// The document's bytes.
    pub bytes: Vec<u8>,
    /// Its MIME type.
    pub content_type: &'static str,
    /// The file name to save it as.
    pub file_name: String,
}

impl ComplianceService {
    /// Renders report `kind` (for outage and incident reports: the one `id` names, or all) as
    /// `format`, and journals `report.generated` by `actor` before returning it.
    pub async fn report(
        &self,
        actor: &Actor,
        kind: ReportKind,
        format: Format,
        id: Option<&str>,
    ) -> Result<RenderedReport, ComplianceError> {
        let config = self.config();
        let snap = self.site_snapshot().await?;
        let doc = build_report(kind, &config, &snap, id).map_err(|e| {
            ComplianceError::NotFound(e.to_string().trim_end_matches(" not found").to_owned())
        })?;
        let bytes = report::render(&doc, format);
        self.journal
            .append_one(
                Fact::new(
                    cfacts::kinds::REPORT_GENERATED,
                    actor.clone(),
                    self.clock.now_ms(),
                )
                .with("report", kind.name())
                .with("format", format.extension())
                .with("bytes", bytes.len()),
            )
            .await?;
        Ok(RenderedReport {
            bytes,
            content_type: format.content_type(),
            file_name: format!(
                "{}-{}-{}.{}",
                kind.name(),
                self.site_id,
                snap.today,
                format.extension()
            ),
        })
    }
}

/// Builds a report document from a snapshot. `id` selects an outage or incident (all of them
/// when absent); the inspection log covers the last 365 days.
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
