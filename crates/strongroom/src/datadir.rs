//! The data directory: where a site's file, database and signing key live.
//!
//! ```text
//! DIR/strongroom.toml          the site file (validated by `strongroom config check`)
//! DIR/db/strongroom.sqlite     the embedded database (unless --database-url names PostgreSQL)
//! DIR/keys/SITE.key            the site's Ed25519 signing key, mode 0600, apart from the database
//! DIR/keys/SITE.pub            its public key (give it to whoever verifies exports offline)
//! DIR/video/                   recordings
//! ```
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use strongroom_domain::auth::Role;
use strongroom_domain::fact::kinds;
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Clock, Fact, Jurisdiction};
use strongroom_journal::SiteKey;
use strongroom_store::{JournalHandle, JournalWriterConfig, SiteRow, Store, migrate};

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The directory.
    pub root: PathBuf,
}

impl DataDir {
    /// Wraps a directory path.
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }
    /// The site file.
    pub fn site_file(&self) -> PathBuf {
        self.root.join("strongroom.toml")
    }
    /// The default SQLite URL.
    pub fn sqlite_url(&self) -> String {
        format!(
            "sqlite://{}",
            self.root.join("db").join("strongroom.sqlite").display()
        )
    }
    /// A site's key file.
    pub fn key_file(&self, site_id: &str) -> PathBuf {
        self.root.join("keys").join(format!("{site_id}.key"))
    }
    /// A site's public key file.
    pub fn pub_file(&self, site_id: &str) -> PathBuf {
        self.root.join("keys").join(format!("{site_id}.pub"))
    }
    /// The recordings directory.
    pub fn video_dir(&self) -> PathBuf {
        self.root.join("video")
    }
    /// The database URL: the one given, or the embedded default.
    pub fn database_url(&self, given: Option<&str>) -> String {
        given.map_or_else(|| self.sqlite_url(), str::to_owned)
    }

    /// Loads a site's signing key, refusing a key file others can read.
    pub fn load_key(&self, site_id: &str) -> Result<SiteKey> {
        let path = self.key_file(site_id);
        let meta = std::fs::metadata(&path)
            .with_context(|| format!("cannot read the site key {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                bail!(
                    "the site key {} has mode {mode:o}; it must be 0600 (chmod 600 it)",
                    path.display()
                );
            }
        }
        let _ = meta;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        SiteKey::from_hex(&text).with_context(|| format!("{} is not a site key", path.display()))
    }
}

/// Writes `bytes` to `path` with mode 0600, failing if it exists.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Turns a display name into a site id.
pub fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_owned();
    let s: String = s.chars().take(48).collect();
    if s.is_empty() { "site".into() } else { s }
}

/// The commented site file `strongroom init` writes.
pub fn initial_site_file(site_id: &str, name: &str, jurisdiction: Jurisdiction) -> String {
    let tz = "America/Chicago";
    let tz = match jurisdiction {
        Jurisdiction::IlDispensary => tz,
        _ => "America/New_York",
    };
    format!(
        r#"# Strongroom site file. Validate with: strongroom config check strongroom.toml
# A running server reloads this file on SIGHUP or when it changes; an invalid file is refused and
# the last good configuration stays in force. Every key is described in docs/site-file.md.

[site]
id = "{site_id}"                 # short id used in events and URLs (a-z, 0-9, -)
name = "{name}"
license_number = ""              # the state license number, printed on reports
jurisdiction = "{j}"             # il-dispensary | oh-dispensary | oh-processor
timezone = "{tz}"                # deadlines and operating hours use this zone
simulator = false                # true only for demos: simulated doors and sensors
# operating_hours = {{ mon = "09:00-21:00", tue = "09:00-21:00" }}

# Areas: kind is one of public, limited_access, restricted_access, vault, currency_safe,
# surveillance_room, point_of_sale, exterior, parking, processing.
[[area]]
id = "exterior"
name = "Exterior"
kind = "exterior"

[[area]]
id = "lobby"
name = "Lobby"
kind = "public"

# Doors join two declared areas (entering = going from `from` to `to`).
[[door]]
id = "front"
name = "Front entrance"
from = "exterior"
to = "lobby"

# Readers sit on doors; add `osdp = {{ channel = "serial:/dev/ttyUSB0", address = 0, scbk_file = "keys/r1.scbk" }}`
# for an OSDP reader.
# [[reader]]
# id = "r-front"
# door = "front"

# Sensors, panels, cameras, policies and notification chains: see docs/site-file.md and the demo
# site (strongroom serve with an empty data directory writes it).
"#,
        j = jurisdiction.as_str()
    )
}

/// What `initialize` made.
pub struct Initialized {
    /// The site id.
    pub site_id: String,
    /// The admin's one-time password, if an admin was created.
    pub admin_password: Option<String>,
}

/// Creates the data directory's database, key and site row, records `site.created`, and creates
/// an admin user with a one-time password when the database has no users.
pub async fn initialize(
    dir: &DataDir,
    site_text: &str,
    database_url: Option<&str>,
    clock: Arc<dyn Clock>,
) -> Result<Initialized> {
    let config = SiteConfig::parse(&dir.site_file().display().to_string(), site_text)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let site_id = config.site.id.clone();
    std::fs::create_dir_all(dir.root.join("db"))?;
    std::fs::create_dir_all(dir.root.join("keys"))?;
    std::fs::create_dir_all(dir.video_dir())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.root.join("keys"),
            std::fs::Permissions::from_mode(0o700),
        )?;
    }
    if dir.key_file(&site_id).exists() {
        bail!(
            "{} already exists: this directory is already initialised",
            dir.key_file(&site_id).display()
        );
    }
    let key = SiteKey::generate()?;
    write_private(
        &dir.key_file(&site_id),
        format!("{}\n", key.to_hex()).as_bytes(),
    )?;
    std::fs::write(dir.pub_file(&site_id), format!("{}\n", key.public_hex()))?;
    if !dir.site_file().exists() {
        std::fs::write(dir.site_file(), site_text)?;
    }
    let url = dir.database_url(database_url);
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    migrate::run(&store, clock.now_ms()).await?;
    store
        .create_site(&SiteRow {
            id: site_id.clone(),
            name: config.site.name.clone(),
            jurisdiction: config.site.jurisdiction.as_str().into(),
            public_key: key.public_hex(),
            created_ms: clock.now_ms(),
        })
        .await?;
    let key = Arc::new(key);
    let (journal, task) = JournalHandle::start(
        store.clone(),
        &site_id,
        key,
        clock.clone(),
        JournalWriterConfig::default(),
    )
    .await?;
    journal
        .append_one(
            Fact::new(kinds::SITE_CREATED, Actor::System, clock.now_ms())
                .with("site", site_id.clone())
                .with("name", config.site.name.clone())
                .with("jurisdiction", config.site.jurisdiction.as_str())
                .with("public_key", dir.pub_file(&site_id).display().to_string()),
        )
        .await?;
    let mut admin_password = None;
    if store.users().await?.is_empty() {
        let (user, password) =
            strongroom_server::api::new_user("admin", Role::Admin, "*", clock.now_ms())
                .map_err(|e| anyhow::anyhow!(e))?;
        store.create_user(&user).await?;
        journal
            .append_one(
                Fact::new(kinds::USER_CREATED, Actor::System, clock.now_ms())
                    .with("user", "admin")
                    .with("role", "admin")
                    .with("site", "*"),
            )
            .await?;
        admin_password = Some(password);
    }
    journal.shutdown().await?;
    let _ = task.await;
    store.close().await;
    Ok(Initialized {
        site_id,
        admin_password,
    })
}
