//! What every subsystem service (access, alarms, video, compliance) is given and what it offers
//! back to the site: [`ServiceCtx`] and [`Reconfigure`].
//!
//! The services sit between the pure crates and the HTTP layer. They own start-up, replay (on a
//! [`crate::follow::JournalFollower`]), device adapters and their storage; they know nothing of
//! HTTP. A changed site file is put in force in two phases so that a reload is all or nothing:
//! every service [`Reconfigure::check`]s the new configuration first (no side effects), and only
//! when all of them accept it is `config.applied` journaled and [`Reconfigure::apply`] called.
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use strongroom_domain::Clock;
use strongroom_domain::site::SiteConfig;

use crate::journal_writer::JournalHandle;
use crate::store::Store;

/// A boxed future, as returned by [`Reconfigure::apply`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a subsystem service gets when its site starts.
#[derive(Clone)]
pub struct ServiceCtx {
    /// The database.
    pub store: Store,
    /// The site's journal writer (the only way to record a fact).
    pub journal: JournalHandle,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// The data directory (recordings under `video/`, keys under `keys/`).
    pub data_dir: PathBuf,
    /// The site id.
    pub site_id: String,
    /// The configuration in force when the service started.
    pub config: Arc<SiteConfig>,
}

/// A service that can take a new site configuration while it runs.
pub trait Reconfigure: Send + Sync {
    /// The subsystem's name, for messages (`access`, `alarms`, `video`, `compliance`).
    fn subsystem(&self) -> &'static str;

    /// Whether `new` can be put in force; no side effects. `Err(message)` refuses the whole
    /// reload, and nothing changes in any subsystem.
    fn check(&self, new: &SiteConfig) -> Result<(), String>;

    /// Puts `new` in force. Called only after every subsystem's `check` passed and the change was
    /// journaled as `config.applied`.
    fn apply(&self, new: Arc<SiteConfig>) -> BoxFuture<'_, ()>;
}
