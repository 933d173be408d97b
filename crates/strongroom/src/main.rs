//! `strongroom`: the one binary. `strongroom serve` runs a site (a demo site when nothing is
//! configured); the other subcommands initialise, check, migrate, verify and benchmark.
#![forbid(unsafe_code)]

mod bench;
mod cmd_compliance;
mod cmd_video;
mod datadir;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use strongroom_domain::auth::Role;
use strongroom_domain::fact::kinds;
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Clock, Fact, Jurisdiction, SystemClock};
use strongroom_store::{Store, migrate};

use crate::datadir::DataDir;

/// Strongroom: security operations and compliance for licensed cannabis businesses.
#[derive(Parser)]
#[command(name = "strongroom", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives.
#[derive(Args, Clone)]
struct Location {
    /// Data directory (site file, embedded database, keys, recordings).
    #[arg(long, env = "STRONGROOM_DIR", default_value = "strongroom-data")]
    dir: PathBuf,
    /// Database URL (postgres://... for PostgreSQL); default: the SQLite file in the data directory.
    #[arg(long, env = "STRONGROOM_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (a demo Illinois dispensary if the data directory has no site yet).
    Serve(serve::ServeArgs),
    /// Create a site: a commented strongroom.toml, the database, the Ed25519 signing key.
    Init {
        #[command(flatten)]
        at: Location,
        /// il-dispensary, oh-dispensary or oh-processor.
        #[arg(long)]
        jurisdiction: Jurisdiction,
        /// The site's display name.
        #[arg(long)]
        site_name: String,
        /// The site id (default: made from the name).
        #[arg(long)]
        site_id: Option<String>,
    },
    /// Site file commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Bring the database to the current schema.
    Migrate {
        #[command(flatten)]
        at: Location,
    },
    /// Manage console/API users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The tamper-evident journal.
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
    /// Evidence bundles (signed video exports).
    Evidence {
        #[command(subcommand)]
        command: cmd_video::EvidenceCommand,
    },
    /// Recordings on disk.
    Video {
        #[command(subcommand)]
        command: cmd_video::VideoCommand,
    },
    /// Jurisdiction rule packs.
    Rules {
        #[command(subcommand)]
        command: cmd_compliance::RulesCommand,
    },
    /// Reports for the regulator.
    Report {
        #[command(subcommand)]
        command: cmd_compliance::ReportCommand,
    },
    /// Measure performance on this machine.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a site file; every error names the file, line and field.
    Check {
        /// The site file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user with a one-time password (printed once; must be changed at first login).
    Add {
        /// Login name.
        name: String,
        /// admin, security-manager, agent, monitoring-operator, compliance-officer, regulator, auditor.
        #[arg(long)]
        role: Role,
        /// The site the role applies to ("*" for every site).
        #[arg(long)]
        site: Option<String>,
        #[command(flatten)]
        at: Location,
    },
    /// List users.
    List {
        #[command(flatten)]
        at: Location,
    },
    /// Issue a new one-time password for a user.
    ResetPassword {
        /// Login name.
        name: String,
        #[command(flatten)]
        at: Location,
    },
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Verify every site's hash chain and signed checkpoints. Exit 0 intact, 1 tampered, 2 error.
    Verify {
        #[command(flatten)]
        at: Location,
        /// Only this site.
        #[arg(long)]
        site: Option<String>,
        /// The site's public key file (default: DIR/keys/SITE.pub, else the key recorded in the database).
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STRONGROOM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve(args) => serve::run(args, clock).await,
        Command::Init {
            at,
            jurisdiction,
            site_name,
            site_id,
        } => {
            let dir = DataDir::new(&at.dir);
            if dir.site_file().exists() {
                anyhow::bail!(
                    "{} already exists; not overwriting it",
                    dir.site_file().display()
                );
            }
            std::fs::create_dir_all(&dir.root)
                .with_context(|| format!("cannot create {}", dir.root.display()))?;
            let id = site_id.unwrap_or_else(|| datadir::slug(&site_name));
            let text = datadir::initial_site_file(&id, &site_name, jurisdiction);
            let done = datadir::initialize(&dir, &text, at.database_url.as_deref(), clock).await?;
            println!(
                "Initialised site {:?} in {}",
                done.site_id,
                dir.root.display()
            );
            println!("  site file:   {}", dir.site_file().display());
            println!(
                "  signing key: {} (mode 0600; back it up apart from the database)",
                dir.key_file(&done.site_id).display()
            );
            println!("  public key:  {}", dir.pub_file(&done.site_id).display());
            if let Some(p) = done.admin_password {
                println!(
                    "  admin user:  admin, one-time password {p} (shown once; change it at first login)"
                );
            }
            println!(
                "Next: edit the site file, `strongroom config check {}`, then `strongroom serve --dir {}`",
                dir.site_file().display(),
                dir.root.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Check { file },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            match SiteConfig::parse(&file.display().to_string(), &text) {
                Ok(c) => {
                    println!(
                        "{}: OK: site {:?} ({}), {} areas, {} doors, {} readers, {} sensors, {} panels, {} cameras",
                        file.display(),
                        c.site.id,
                        c.site.jurisdiction,
                        c.areas.len(),
                        c.doors.len(),
                        c.readers.len(),
                        c.sensors.len(),
                        c.panels.len(),
                        c.cameras.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    for e in &errors.0 {
                        eprintln!("{e}");
                    }
                    eprintln!("{}: {} error(s)", file.display(), errors.0.len());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Migrate { at } => {
            let dir = DataDir::new(&at.dir);
            let url = dir.database_url(at.database_url.as_deref());
            if at.database_url.is_none() {
                std::fs::create_dir_all(dir.root.join("db"))?;
            }
            let store = Store::open(&url)
                .await
                .with_context(|| format!("cannot open {url}"))?;
            let before = migrate::applied_version(&store).await?;
            let applied = migrate::run(&store, clock.now_ms()).await?;
            println!(
                "schema version {before} -> {} (applied: {applied:?})",
                migrate::current_version()
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => user_command(command, clock).await,
        Command::Journal {
            command:
                JournalCommand::Verify {
                    at,
                    site,
                    public_key,
                },
        } => journal_verify(at, site, public_key).await,
        Command::Bench { command } => bench::run(command, clock).await,
        Command::Evidence { command } => cmd_video::evidence(command).await,
        Command::Video { command } => cmd_video::video(command).await,
        Command::Rules { command } => cmd_compliance::rules(command).await,
        Command::Report { command } => cmd_compliance::report(command).await,
    }
}

async fn open_existing(at: &Location) -> Result<(DataDir, Store)> {
    let dir = DataDir::new(&at.dir);
    let url = dir.database_url(at.database_url.as_deref());
    if at.database_url.is_none() && !dir.root.join("db").join("strongroom.sqlite").exists() {
        anyhow::bail!(
            "no database in {} (run `strongroom init` or `strongroom serve` first, or pass --database-url)",
            dir.root.display()
        );
    }
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    let v = migrate::applied_version(&store).await?;
    if v != migrate::current_version() {
        anyhow::bail!(
            "database schema version {v}, this binary needs {}: run `strongroom migrate`",
            migrate::current_version()
        );
    }
    Ok((dir, store))
}

async fn journal_everywhere(
    store: &Store,
    dir: &DataDir,
    fact: Fact,
    clock: Arc<dyn Clock>,
) -> Result<()> {
    for site in store.sites().await? {
        let key = Arc::new(dir.load_key(&site.id)?);
        let (j, task) = strongroom_store::JournalHandle::start(
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
    }
    Ok(())
}

async fn user_command(command: UserCommand, clock: Arc<dyn Clock>) -> Result<ExitCode> {
    match command {
        UserCommand::Add {
            name,
            role,
            site,
            at,
        } => {
            let (dir, store) = open_existing(&at).await?;
            let site = match site {
                Some(s) => s,
                None => {
                    let sites = store.sites().await?;
                    match sites.as_slice() {
                        [one] => one.id.clone(),
                        _ => anyhow::bail!(
                            "this database has {} sites: say which with --site (or --site '*')",
                            sites.len()
                        ),
                    }
                }
            };
            if site != "*" && store.site(&site).await?.is_none() {
                anyhow::bail!("no site {site:?} in this database");
            }
            let (user, password) =
                strongroom_server::api::new_user(&name, role, &site, clock.now_ms())
                    .map_err(|e| anyhow::anyhow!(e))?;
            store.create_user(&user).await?;
            journal_everywhere(
                &store,
                &dir,
                Fact::new(kinds::USER_CREATED, Actor::System, clock.now_ms())
                    .with("user", name.clone())
                    .with("role", role.as_str())
                    .with("site", site.clone()),
                clock,
            )
            .await?;
            println!("user {name} ({role} on {site}) created; one-time password: {password}");
            println!("(shown once; it must be changed at first login)");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::List { at } => {
            let (_dir, store) = open_existing(&at).await?;
            for u in store.users().await? {
                let roles: Vec<String> = u
                    .grants
                    .grants
                    .iter()
                    .map(|g| format!("{}@{}", g.role, g.site_id))
                    .collect();
                let mfa = if u
                    .totp_secret
                    .as_deref()
                    .is_some_and(|s| !s.starts_with("pending:"))
                {
                    "mfa"
                } else {
                    "no-mfa"
                };
                println!(
                    "{}\t{}\t{}{}",
                    u.name,
                    roles.join(","),
                    mfa,
                    if u.disabled { "\tdisabled" } else { "" }
                );
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::ResetPassword { name, at } => {
            let (dir, store) = open_existing(&at).await?;
            if store.user(&name).await?.is_none() {
                anyhow::bail!("no user {name:?}");
            }
            let password = strongroom_server::passwords::one_time_password()
                .map_err(|e| anyhow::anyhow!(e))?;
            let hash = strongroom_server::passwords::hash_password(&password)
                .map_err(|e| anyhow::anyhow!(e))?;
            store.set_password(&name, &hash, true).await?;
            store.record_login(&name, true, None).await?;
            journal_everywhere(
                &store,
                &dir,
                Fact::new(kinds::USER_PASSWORD_SET, Actor::System, clock.now_ms())
                    .with("user", name.clone())
                    .with("reset", true),
                clock,
            )
            .await?;
            println!("new one-time password for {name}: {password}");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn journal_verify(
    at: Location,
    only: Option<String>,
    public_key: Option<PathBuf>,
) -> Result<ExitCode> {
    let (dir, store) = match open_existing(&at).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut sites = store.sites().await?;
    if let Some(s) = &only {
        sites.retain(|x| &x.id == s);
        if sites.is_empty() {
            eprintln!("error: no site {s:?}");
            return Ok(ExitCode::from(2));
        }
    }
    let mut bad = false;
    for site in sites {
        let key_text = match &public_key {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?,
            None => std::fs::read_to_string(dir.pub_file(&site.id)).unwrap_or_else(|_| {
                eprintln!(
                    "note: {} not found; using the public key recorded in the database",
                    dir.pub_file(&site.id).display()
                );
                site.public_key.clone()
            }),
        };
        let key = strongroom_journal::checkpoint::verifying_key_from_hex(&key_text)
            .with_context(|| "bad public key")?;
        if key_text.trim() != site.public_key {
            eprintln!(
                "site {}: the public key file differs from the key recorded in the database",
                site.id
            );
            bad = true;
            continue;
        }
        let total = store.event_count(&site.id).await?;
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} events ({per_sec})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("verifying {}", site.id));
        let started = std::time::Instant::now();
        let result =
            strongroom_store::verify::verify_site(&store, &site.id, &key, |n| bar.set_position(n))
                .await;
        bar.finish_and_clear();
        match result {
            Ok(r) => println!(
                "site {}: intact: {} events, {} signed checkpoints, head {} ({} events after the last checkpoint), {:.2} s",
                site.id,
                r.events,
                r.checkpoints,
                hex::encode(r.head_hash),
                r.unsealed_tail,
                started.elapsed().as_secs_f64()
            ),
            Err(strongroom_store::verify::VerifyError::Tampered(t)) => {
                println!(
                    "site {}: TAMPERED: first bad sequence number {}: {t}",
                    site.id,
                    t.seq()
                );
                bad = true;
            }
            Err(strongroom_store::verify::VerifyError::Store(e)) => {
                eprintln!("error: site {}: {e}", site.id);
                return Ok(ExitCode::from(2));
            }
        }
    }
    store.close().await;
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
