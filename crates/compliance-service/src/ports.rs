//! What the compliance service needs from the rest of the site, supplied by the server:
//! [`SitePorts`] (the configuration in force, the capabilities of the subsystems running, legal
//! holds on video) and [`VaultLogFacts`] (the access subsystem's vault-log query).
use std::sync::Arc;

use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Fact};
use strongroom_store::Store;
use strongroom_store::service::BoxFuture;

/// A legal hold an incident asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    /// The cameras to hold.
    pub cameras: Vec<String>,
    /// From, epoch ms.
    pub from_ms: i64,
    /// To, epoch ms.
    pub to_ms: i64,
    /// Why (`theft incident inc-...`).
    pub reason: String,
    /// The incident's id.
    pub incident_id: String,
    /// Who asked.
    pub by: Actor,
}

/// The site around the compliance service.
pub trait SitePorts: Send + Sync {
    /// The site configuration in force (a reload changes it).
    fn config(&self) -> Arc<SiteConfig>;

    /// The platform capabilities of the subsystems running on the site (the `capability` check
    /// kind); see [`crate::capabilities_of`].
    fn capabilities(&self) -> Vec<String>;

    /// Places a legal hold; the hold's id, or why it could not be placed (video not running,
    /// refused).
    fn place_hold(&self, hold: HoldRequest) -> BoxFuture<'_, Result<i64, String>>;
}

/// The facts of a vault log, from the access subsystem's storage.
pub trait VaultLogFacts: Send + Sync {
    /// The facts the vault log of `[from_ms, to_ms)` needs, in journal order (building the
    /// access subsystem's index first if the database lacks it).
    fn vault_log_facts<'a>(
        &'a self,
        store: &'a Store,
        site_id: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<Fact>, String>>;
}
