//! What the compliance service gets from the rest of the server: [`SiteAdapter`] (the site's
//! configuration in force, the capabilities of the subsystems running, legal holds through the
//! video service) and [`AccessVaultLog`] (the vault-log facts from the access subsystem's
//! storage).
//!
//! This is the only place the compliance service reaches the access service, so a change there
//! changes only this file.
use std::sync::{Arc, Weak};

use strongroom_compliance_service::{HoldRequest, SitePorts, VaultLogFacts, capabilities_of};
use strongroom_domain::Fact;
use strongroom_domain::site::SiteConfig;
use strongroom_store::Store;
use strongroom_store::service::BoxFuture;

use crate::state::SiteRuntime;

/// The site around a compliance service.
pub struct SiteAdapter {
    site: Weak<SiteRuntime>,
    /// The configuration at start, if the site is gone.
    started_with: Arc<SiteConfig>,
}

impl SiteAdapter {
    /// The adapter of `site` (held weakly: the site owns the service).
    pub fn new(site: &Arc<SiteRuntime>) -> SiteAdapter {
        SiteAdapter {
            site: Arc::downgrade(site),
            started_with: site.config(),
        }
    }
}

impl SitePorts for SiteAdapter {
    fn config(&self) -> Arc<SiteConfig> {
        match self.site.upgrade() {
            Some(site) => site.config(),
            None => self.started_with.clone(),
        }
    }

    fn capabilities(&self) -> Vec<String> {
        match self.site.upgrade() {
            Some(site) => capabilities_of(site.video.get().is_some(), site.access.get().is_some()),
            None => capabilities_of(false, false),
        }
    }

    fn place_hold(&self, hold: HoldRequest) -> BoxFuture<'_, Result<i64, String>> {
        Box::pin(async move {
            let Some(video) = self.site.upgrade().and_then(|s| s.video.get().cloned()) else {
                return Err("video is not running on this site".to_owned());
            };
            video
                .place_hold(
                    hold.cameras,
                    hold.from_ms,
                    hold.to_ms,
                    &hold.reason,
                    &hold.incident_id,
                    hold.by,
                )
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The vault-log facts, from the access subsystem's partial index.
pub struct AccessVaultLog;

impl VaultLogFacts for AccessVaultLog {
    fn vault_log_facts<'a>(
        &'a self,
        store: &'a Store,
        site_id: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<Fact>, String>> {
        Box::pin(async move {
            // The access subsystem's partial index serves the query; a server that never ran
            // (the CLI right after `init`) may not have built it yet.
            strongroom_access_service::ensure_vault_index(store).await?;
            strongroom_access_service::vault_log_facts(store, site_id, from_ms, to_ms)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
