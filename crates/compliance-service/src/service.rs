//! [`ComplianceService`]: one site's compliance subsystem, running: where it reads and appends,
//! the site around it, and what the scheduler has journaled already.
use std::sync::Arc;

use strongroom_domain::Clock;
use strongroom_domain::site::SiteConfig;
use strongroom_store::{JournalHandle, Store};
use tokio::sync::Mutex;

use crate::error::ComplianceError;
use crate::evaluate::Seen;
use crate::ports::SitePorts;
use crate::snapshot::{Snapshot, snapshot};

/// One site's compliance subsystem, running (reachable as `SiteRuntime::compliance` in the
/// server).
pub struct ComplianceService {
    pub(crate) site_id: String,
    pub(crate) store: Store,
    pub(crate) journal: JournalHandle,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) site: Arc<dyn SitePorts>,
    /// What has been journaled already (status per requirement, task keys), so the scheduler
    /// journals changes only. Also serialises evaluations.
    pub(crate) seen: Mutex<Seen>,
}

impl ComplianceService {
    /// The site id.
    pub fn site_id(&self) -> &str {
        &self.site_id
    }

    /// The site configuration in force.
    pub fn config(&self) -> Arc<SiteConfig> {
        self.site.config()
    }

    /// A snapshot of the site now, with the capabilities of the subsystems running.
    pub async fn site_snapshot(&self) -> Result<Snapshot, ComplianceError> {
        snapshot(
            &self.store,
            &self.site_id,
            &self.config(),
            self.site.capabilities(),
            self.clock.now_ms(),
        )
        .await
    }

    /// Re-evaluates after a record was appended; a failure is logged, never the caller's error
    /// (the record itself is journaled).
    pub(crate) async fn reevaluate(&self) {
        if let Err(e) = self.evaluate_and_journal().await {
            tracing::debug!(site = %self.site_id, error = %e, "evaluation after a record failed");
        }
    }
}
