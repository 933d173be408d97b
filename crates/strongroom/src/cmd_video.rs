//! `strongroom evidence ...` and `strongroom video ...`: offline verification of evidence bundles
//! (EXP-06), reconciliation of recordings with their index (RET-06), and erasing recordings before a
//! storage device is disposed of (RET-07, OH 3796:6-3-16(E)(16)).
//!
//! Exit codes: 0 good, 1 the thing checked is bad (altered bundle, drift, refused wipe), 2 usage or
//! I/O error.
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use strongroom_domain::{Actor, Clock, Fact, SystemClock};
use strongroom_journal::SiteKey;
use strongroom_media::evidence::{self, VerifyError};
use strongroom_store::{JournalHandle, Store};

/// Evidence bundles.
#[derive(Subcommand)]
pub enum EvidenceCommand {
    /// Verify an evidence bundle offline. Exit 0 intact, 1 altered or missing, 2 error.
    Verify {
        /// The bundle (a directory with video.mp4, manifest.json, manifest.sig, site_key.pem).
        bundle: PathBuf,
        /// The site's published public key (hex as in keys/SITE.pub, or PEM): the bundle must be
        /// signed by it. Without it the bundle is checked against the key it carries.
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

/// Recordings.
#[derive(Subcommand)]
pub enum VideoCommand {
    /// Reconcile recordings on disk with the index and report drift (exit 1 on drift).
    Check {
        /// Data directory (recordings in DIR/video, database in DIR/db).
        #[arg(long, env = "STRONGROOM_DIR", default_value = "strongroom-data")]
        dir: PathBuf,
        /// Database URL; default: the SQLite file in the data directory.
        #[arg(long, env = "STRONGROOM_DATABASE_URL")]
        database_url: Option<String>,
        /// Compare sizes and indexes only; do not re-hash every file.
        #[arg(long)]
        quick: bool,
    },
    /// Erase every recording (overwrite with zeros, fsync, unlink) before the storage device is
    /// disposed of. Refused while footage is under a legal hold.
    Wipe {
        /// Data directory (recordings in DIR/video, database in DIR/db).
        #[arg(long, env = "STRONGROOM_DIR", default_value = "strongroom-data")]
        dir: PathBuf,
        /// Database URL; default: the SQLite file in the data directory.
        #[arg(long, env = "STRONGROOM_DATABASE_URL")]
        database_url: Option<String>,
        /// The recordings directory to erase (default: DIR/video), e.g. a disk being removed.
        #[arg(long)]
        storage: Option<PathBuf>,
        /// Confirm: this destroys recordings.
        #[arg(long)]
        yes: bool,
        /// Erase even though no database can be reached (legal holds cannot be checked).
        #[arg(long)]
        without_database: bool,
    },
}

/// Runs an evidence command.
pub async fn evidence(cmd: EvidenceCommand) -> Result<ExitCode> {
    match cmd {
        EvidenceCommand::Verify { bundle, key } => verify(bundle, key).await,
    }
}

async fn verify(bundle: PathBuf, key: Option<PathBuf>) -> Result<ExitCode> {
    if !bundle.is_dir() {
        eprintln!(
            "error: {} is not a bundle directory (it should hold {}, {}, {} and {})",
            bundle.display(),
            evidence::VIDEO_FILE,
            evidence::MANIFEST_FILE,
            evidence::SIGNATURE_FILE,
            evidence::KEY_FILE
        );
        return Ok(ExitCode::from(2));
    }
    let trusted = match key {
        None => None,
        Some(path) => {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot read the key {}: {e}", path.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let parsed = if text.contains("BEGIN") {
                evidence::parse_public_key_pem(&text).map_err(|e| e.to_string())
            } else {
                strongroom_journal::checkpoint::verifying_key_from_hex(&text)
                    .map_err(|e| e.to_string())
            };
            match parsed {
                Ok(k) => Some(k),
                Err(e) => {
                    eprintln!("error: {} is not a public key: {e}", path.display());
                    return Ok(ExitCode::from(2));
                }
            }
        }
    };
    let b = bundle.clone();
    let result =
        tokio::task::spawn_blocking(move || evidence::verify_with_key(&b, trusted.as_ref()))
            .await
            .context("verifier task")?;
    match result {
        Ok(r) => {
            let m = &r.manifest;
            println!("INTACT: {}", bundle.display());
            println!("  site:       {} ({})", m.site.name, m.site.id);
            println!("  camera:     {} ({})", m.camera.name, m.camera.id);
            println!(
                "  requested:  {} .. {}",
                m.requested_range.start, m.requested_range.end
            );
            println!(
                "  covered:    {} .. {}",
                m.covered_range.start, m.covered_range.end
            );
            println!(
                "  video:      {} bytes, {} frames, {}x{}, {:.2} fps",
                m.video.bytes, m.video.frame_count, m.video.width, m.video.height, m.video.fps
            );
            println!(
                "  segments:   {} (each re-hashed inside the MP4)",
                m.segments.len()
            );
            println!(
                "  exported:   {} by {} ({})",
                m.created_at, m.exported_by, m.reason
            );
            println!("  journal:    event #{}", m.journal_seq);
            println!("  signed by:  key fingerprint {}", r.key_fingerprint);
            for g in &r.gaps {
                println!("  gap:        no recording {} .. {}", g.start, g.end);
            }
            for f in &r.unlisted_files {
                println!("  note:       {f} is not part of the signed bundle");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyError::Unreadable { part, source }) => {
            eprintln!("error: cannot read {part}: {source}");
            Ok(ExitCode::from(2))
        }
        Err(e) => {
            println!("NOT INTACT: {}", bundle.display());
            println!("  part:   {}", e.part());
            println!("  reason: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Runs a video command.
pub async fn video(cmd: VideoCommand) -> Result<ExitCode> {
    match cmd {
        VideoCommand::Check {
            dir,
            database_url,
            quick,
        } => check(&dir, database_url.as_deref(), quick).await,
        VideoCommand::Wipe {
            dir,
            database_url,
            storage,
            yes,
            without_database,
        } => {
            wipe(
                &dir,
                database_url.as_deref(),
                storage,
                yes,
                without_database,
            )
            .await
        }
    }
}

/// The database URL: the one given, or the data directory's SQLite file (as `datadir.rs`).
fn database_url(dir: &Path, given: Option<&str>) -> String {
    given.map_or_else(
        || {
            format!(
                "sqlite://{}",
                dir.join("db").join("strongroom.sqlite").display()
            )
        },
        str::to_owned,
    )
}

/// Opens an existing database (never creates an empty SQLite file).
async fn open_store(dir: &Path, given: Option<&str>) -> Result<Store> {
    if given.is_none() && !dir.join("db").join("strongroom.sqlite").exists() {
        bail!(
            "no database in {} (pass --dir or --database-url)",
            dir.display()
        );
    }
    let url = database_url(dir, given);
    Store::open(&url)
        .await
        .with_context(|| format!("cannot open the database {url}"))
}

async fn check(dir: &Path, given: Option<&str>, quick: bool) -> Result<ExitCode> {
    let store = open_store(dir, given).await?;
    strongroom_video::index::migrate(store.pool()).await?;
    let storage = dir.join("video");
    let r = strongroom_video::check::check(store.pool(), &storage, !quick).await?;
    store.close().await;
    println!(
        "{} segments checked under {}{}",
        r.segments_checked,
        storage.display(),
        if quick {
            " (sizes and indexes only)"
        } else {
            " (sizes, indexes and SHA-256)"
        }
    );
    for p in &r.missing_files {
        println!("MISSING   {p}: indexed, but the file is gone");
    }
    for m in &r.size_mismatches {
        println!(
            "SIZE      {}: indexed {} bytes, file has {}",
            m.path, m.expected, m.actual
        );
    }
    for m in &r.hash_mismatches {
        println!(
            "ALTERED   {}: SHA-256 recorded {}, file has {}",
            m.path, m.expected, m.actual
        );
    }
    for m in &r.bad_indexes {
        println!(
            "INDEX     {}: expected {}, found {}",
            m.path, m.expected, m.actual
        );
    }
    for p in &r.orphan_files {
        println!("ORPHAN    {p}: file without an index row (an interrupted write; harmless)");
    }
    if r.garbage_pending > 0 {
        println!(
            "PENDING   {} deletes not finished yet (the recorder finishes them at start)",
            r.garbage_pending
        );
    }
    if r.is_consistent() {
        println!("OK: every indexed segment has its intact file");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("DRIFT: the recordings do not match the index");
        Ok(ExitCode::from(1))
    }
}

/// Loads a site's signing key (as `datadir.rs`, refusing a key file others can read).
fn load_key(dir: &Path, site_id: &str) -> Result<SiteKey> {
    let path = dir.join("keys").join(format!("{site_id}.key"));
    let meta = std::fs::metadata(&path)
        .with_context(|| format!("cannot read the site key {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "the site key {} has mode {mode:o}; it must be 0600",
                path.display()
            );
        }
    }
    let _ = meta;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    SiteKey::from_hex(&text).with_context(|| format!("{} is not a site key", path.display()))
}

async fn wipe(
    dir: &Path,
    given: Option<&str>,
    storage: Option<PathBuf>,
    yes: bool,
    without_database: bool,
) -> Result<ExitCode> {
    let storage = storage.unwrap_or_else(|| dir.join("video"));
    if !yes {
        eprintln!(
            "error: this erases every recording under {}; add --yes to confirm",
            storage.display()
        );
        return Ok(ExitCode::from(2));
    }
    if !storage.is_dir() {
        eprintln!("error: {} is not a directory", storage.display());
        return Ok(ExitCode::from(2));
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = match open_store(dir, given).await {
        Ok(s) => Some(s),
        Err(e) if without_database => {
            eprintln!("warning: {e:#}; erasing without checking legal holds");
            None
        }
        Err(e) => {
            eprintln!(
                "error: {e:#}\n(legal holds cannot be checked without the database; pass --without-database to erase anyway)"
            );
            return Ok(ExitCode::from(2));
        }
    };
    let (report, store) = match store {
        Some(store) => {
            strongroom_video::index::migrate(store.pool()).await?;
            match strongroom_video::check::wipe(store.pool(), &storage).await {
                Ok(r) => (r, Some(store)),
                Err(strongroom_video::check::CheckError::Refused(m)) => {
                    println!("REFUSED: {m}; release the hold first (RET-03/04)");
                    store.close().await;
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(e.into()),
            }
        }
        None => {
            // No index to consult: an empty scratch index lets the library overwrite every file.
            let scratch = tempfile_dir()?;
            let url = format!("sqlite://{}", scratch.join("scratch.sqlite").display());
            let s = Store::open(&url).await?;
            strongroom_video::index::migrate(s.pool()).await?;
            let r = strongroom_video::check::wipe(s.pool(), &storage).await?;
            s.close().await;
            let _ = std::fs::remove_dir_all(&scratch);
            (r, None)
        }
    };
    println!(
        "ERASED: {} files ({} bytes overwritten with zeros, fsynced, unlinked), {} index rows removed under {}",
        report.files_erased,
        report.bytes_overwritten,
        report.rows_removed,
        storage.display()
    );
    if let Some(store) = store {
        let fact = Fact::new("video.wiped", Actor::System, clock.now_ms())
            .with("storage", storage.display().to_string())
            .with("files_erased", report.files_erased)
            .with("bytes_overwritten", report.bytes_overwritten)
            .with("rows_removed", report.rows_removed)
            .with("method", "overwrite-zeros-fsync-unlink")
            .with(
                "operator",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            );
        for site in store.sites().await? {
            let key = Arc::new(load_key(dir, &site.id)?);
            let (j, task) = JournalHandle::start(
                store.clone(),
                &site.id,
                key,
                clock.clone(),
                Default::default(),
            )
            .await?;
            j.append_one(fact.clone()).await?;
            j.shutdown().await?;
            let _ = task.await;
            println!("journaled video.wiped on site {}", site.id);
        }
        store.close().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// A fresh private scratch directory under the system temp directory.
fn tempfile_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..100u32 {
        let p = base.join(format!("strongroom-wipe-{}-{i}", std::process::id()));
        if std::fs::create_dir(&p).is_ok() {
            return Ok(p);
        }
    }
    bail!("cannot create a scratch directory under {}", base.display())
}
