//! Shared server state: the store, the clock, and one runtime per site.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use sha2::{Digest, Sha256};
use strongroom_domain::fact::kinds;
use strongroom_domain::site::{ConfigErrors, SiteConfig};
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_journal::SiteKey;
use strongroom_store::service::Reconfigure;
use strongroom_store::{JournalHandle, Store};

/// Server-wide settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Session lifetime.
    pub session_ttl_ms: i64,
    /// Login throttling per (account, address), per address and server-wide; no account lockout
    /// (which anyone could turn against the owner).
    pub login_limits: strongroom_domain::throttle::ThrottleLimits,
    /// Set the `Secure` attribute on cookies (on unless a test runs plain HTTP off localhost).
    pub secure_cookies: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_ttl_ms: 12 * 3_600_000,
            login_limits: strongroom_domain::throttle::ThrottleLimits::default(),
            secure_cookies: true,
        }
    }
}

/// Everything a handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub settings: Arc<Settings>,
    sites: Arc<RwLock<HashMap<String, Arc<SiteRuntime>>>>,
    /// Failed logins per (account, address), per address and server-wide.
    login_throttle: Arc<Mutex<strongroom_domain::throttle::LoginThrottle>>,
}

impl AppState {
    /// A state with no sites yet.
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> AppState {
        AppState {
            store,
            clock,
            login_throttle: Arc::new(Mutex::new(strongroom_domain::throttle::LoginThrottle::new(
                settings.login_limits.clone(),
            ))),
            settings: Arc::new(settings),
            sites: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// Adds a running site.
    pub fn add_site(&self, site: Arc<SiteRuntime>) {
        if let Ok(mut m) = self.sites.write() {
            m.insert(site.id.clone(), site);
        }
    }

    /// A site's runtime. Handlers reach this only through `Session::authorize`.
    pub(crate) fn site(&self, id: &str) -> Option<Arc<SiteRuntime>> {
        self.sites.read().ok().and_then(|m| m.get(id).cloned())
    }

    /// Every site's runtime (for shutdown and background tasks).
    pub fn all_sites(&self) -> Vec<Arc<SiteRuntime>> {
        let mut v: Vec<Arc<SiteRuntime>> = self
            .sites
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Runs `f` on the login throttle.
    pub fn login_throttle<T>(
        &self,
        f: impl FnOnce(&mut strongroom_domain::throttle::LoginThrottle) -> T,
    ) -> T {
        match self.login_throttle.lock() {
            Ok(mut t) => f(&mut t),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

/// One site, running.
pub struct SiteRuntime {
    /// Site id.
    pub id: String,
    /// The journal writer.
    pub journal: JournalHandle,
    /// The signing key.
    pub key: Arc<SiteKey>,
    /// Where the site file lives, if it came from one.
    pub config_path: Option<PathBuf>,
    config: RwLock<Arc<SiteConfig>>,
    /// Access control, once started.
    pub access: OnceLock<Arc<strongroom_access_service::AccessService>>,
    /// Alarms and dispatch, once started (replaced when a reload restarts the subsystem).
    pub alarm: Slot<strongroom_alarm_service::AlarmService>,
    /// Video, once started.
    pub video: OnceLock<Arc<strongroom_video_service::VideoService>>,
    /// Compliance, once started.
    pub compliance: OnceLock<Arc<strongroom_compliance_service::ComplianceService>>,
    /// The started services that take a new configuration while they run.
    reconfigurable: Mutex<Vec<Arc<dyn Reconfigure>>>,
}

/// A subsystem's runtime: empty until it starts, replaced when a reload restarts it. Readers get
/// the runtime in force at the moment they ask.
pub struct Slot<T>(RwLock<Option<Arc<T>>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(RwLock::new(None))
    }
}

impl<T> Slot<T> {
    /// The runtime in force, if the subsystem runs.
    pub fn get(&self) -> Option<Arc<T>> {
        match self.0.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `value` in force; returns the runtime it replaced.
    pub fn replace(&self, value: Arc<T>) -> Option<Arc<T>> {
        match self.0.write() {
            Ok(mut v) => v.replace(value),
            Err(poisoned) => poisoned.into_inner().replace(value),
        }
    }

    /// Empties the slot (the subsystem stopped); returns what was in force.
    pub fn take(&self) -> Option<Arc<T>> {
        match self.0.write() {
            Ok(mut v) => v.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }
}

/// What a subsystem gets when its site starts.
pub struct StartCtx {
    /// Server state (store, clock, settings).
    pub state: AppState,
    /// The site.
    pub site: Arc<SiteRuntime>,
    /// The data directory (recordings live in `video/`, keys in `keys/`).
    pub data_dir: PathBuf,
}

impl StartCtx {
    /// What a subsystem service is given: store, journal, clock, data directory, configuration.
    pub fn service_ctx(&self) -> strongroom_store::service::ServiceCtx {
        strongroom_store::service::ServiceCtx {
            store: self.state.store.clone(),
            journal: self.site.journal.clone(),
            clock: self.state.clock.clone(),
            data_dir: self.data_dir.clone(),
            site_id: self.site.id.clone(),
            config: self.site.config(),
        }
    }
}

/// Why a new configuration was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ConfigApplyError {
    /// The file is invalid; the last good configuration stays in force.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// The file is for another site.
    #[error("the file is for site {found:?}, not {expected:?}")]
    WrongSite {
        /// This site.
        expected: String,
        /// The file's site.
        found: String,
    },
    /// A running subsystem cannot take the file; nothing changed anywhere.
    #[error("refused: {}", .0.join("; "))]
    Refused(Vec<String>),
    /// The journal refused the change record.
    #[error("journal: {0}")]
    Journal(#[from] strongroom_store::AppendError),
}

impl SiteRuntime {
    /// A runtime for a site whose configuration is already valid.
    pub fn new(
        config: SiteConfig,
        journal: JournalHandle,
        key: Arc<SiteKey>,
        config_path: Option<PathBuf>,
    ) -> SiteRuntime {
        SiteRuntime {
            id: config.site.id.clone(),
            journal,
            key,
            config_path,
            config: RwLock::new(Arc::new(config)),
            access: OnceLock::new(),
            alarm: Slot::default(),
            video: OnceLock::new(),
            compliance: OnceLock::new(),
            reconfigurable: Mutex::new(Vec::new()),
        }
    }

    /// Registers a started service so that configuration changes reach it.
    pub fn register_reconfigure(&self, service: Arc<dyn Reconfigure>) {
        match self.reconfigurable.lock() {
            Ok(mut v) => v.push(service),
            Err(poisoned) => poisoned.into_inner().push(service),
        }
    }

    fn reconfigurable(&self) -> Vec<Arc<dyn Reconfigure>> {
        match self.reconfigurable.lock() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<SiteConfig> {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Validates `text` and, if good, records it in the journal and puts it in force; if bad,
    /// records the refusal and keeps the last good configuration.
    pub async fn apply_config(
        &self,
        file: &str,
        text: &str,
        actor: Actor,
        now_ms: i64,
    ) -> Result<Arc<SiteConfig>, ConfigApplyError> {
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        let parsed = SiteConfig::parse(file, text).and_then(|c| {
            if c.site.id == self.id {
                Ok(c)
            } else {
                Err(ConfigErrors(vec![strongroom_domain::site::ConfigIssue {
                    file: file.to_owned(),
                    line: 0,
                    column: 0,
                    field: "site.id".into(),
                    message: format!("the file is for site {:?}, not {:?}", c.site.id, self.id),
                }]))
            }
        });
        let config = match parsed {
            Ok(config) => config,
            Err(errors) => {
                let list: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
                self.reject(file, &sha, list, actor, now_ms).await?;
                return Err(ConfigApplyError::Invalid(errors));
            }
        };
        let services = self.reconfigurable();
        let refusals: Vec<String> = services
            .iter()
            .filter_map(|s| {
                s.check(&config)
                    .err()
                    .map(|m| format!("{}: {m}", s.subsystem()))
            })
            .collect();
        if !refusals.is_empty() {
            self.reject(file, &sha, refusals.clone(), actor, now_ms)
                .await?;
            return Err(ConfigApplyError::Refused(refusals));
        }
        self.journal
            .append_one(
                Fact::new(kinds::CONFIG_APPLIED, actor, now_ms)
                    .with("file", file)
                    .with("sha256", sha)
                    .with("toml", text),
            )
            .await?;
        let config = Arc::new(config);
        match self.config.write() {
            Ok(mut c) => *c = config.clone(),
            Err(poisoned) => *poisoned.into_inner() = config.clone(),
        }
        for service in &services {
            service.apply(config.clone()).await;
        }
        Ok(config)
    }

    /// Journals that a configuration was refused, with why.
    async fn reject(
        &self,
        file: &str,
        sha: &str,
        errors: Vec<String>,
        actor: Actor,
        now_ms: i64,
    ) -> Result<(), ConfigApplyError> {
        self.journal
            .append_one(
                Fact::new(kinds::CONFIG_REJECTED, actor, now_ms)
                    .with("file", file)
                    .with("sha256", sha)
                    .with("errors", errors),
            )
            .await?;
        Ok(())
    }
}
