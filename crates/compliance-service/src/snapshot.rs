//! A [`Snapshot`] of a site's compliance at one instant: its pack, the records gathered from the
//! journal, the findings and the tasks. The same for the API and the CLI's offline reports.
use strongroom_compliance::check::Finding;
use strongroom_compliance::pack::{self, Pack};
use strongroom_compliance::records::Records;
use strongroom_compliance::schedule::{self, Task};
use strongroom_domain::site::SiteConfig;
use strongroom_store::Store;

use crate::error::ComplianceError;
use crate::gather::gather_records;

/// The site's pack, or [`ComplianceError::Unavailable`] if none ships for its jurisdiction.
pub(crate) fn site_pack(config: &SiteConfig) -> Result<Pack, ComplianceError> {
    match pack::for_site(config) {
        Some(Ok(p)) => Ok(p),
        Some(Err(e)) => Err(ComplianceError::Internal(format!("rule pack: {e}"))),
        None => Err(ComplianceError::Unavailable(format!(
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
) -> Result<Snapshot, ComplianceError> {
    let pack = site_pack(config)?;
    let records = gather_records(store, site_id, config, capabilities).await?;
    let findings = strongroom_compliance::evaluate(&pack, config, &records, now_ms);
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
