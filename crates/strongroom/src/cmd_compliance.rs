//! `strongroom rules ...` and `strongroom report ...`: rule packs and regulator reports.
//!
//! `rules list` and `rules check` read pack files; `report ...` reads the site file and the journal
//! of a data directory (the server need not run), evaluates with the compliance engine and
//! renders HTML, PDF or CSV. The gathering and the report builders are the compliance service's
//! (`strongroom_compliance_service`), so the CLI and the API produce the same documents.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use strongroom_compliance_service::{self as crt, ReportKind, engine};
use strongroom_domain::Clock;
use strongroom_domain::site::SiteConfig;
use strongroom_server::compliance_ports::AccessVaultLog;
use strongroom_store::{Store, migrate};

use crate::datadir::DataDir;

/// Rule packs.
#[derive(Subcommand)]
pub enum RulesCommand {
    /// Show a rule pack as a table: ID, citation, check kind, law or practice.
    List {
        /// il-dispensary, oh-dispensary, oh-processor, or a pack file.
        pack: String,
    },
    /// Validate a pack file; exit 0 if valid, 1 with `file:line:col: reason` for each issue.
    Check {
        /// The pack file.
        file: PathBuf,
    },
}

/// Where and how to write a report.
#[derive(Args, Clone)]
pub struct ReportArgs {
    /// Data directory (site file, embedded database, keys).
    #[arg(long, env = "STRONGROOM_DIR", default_value = "strongroom-data")]
    dir: PathBuf,
    /// Database URL (postgres://...); default: the SQLite file in the data directory.
    #[arg(long, env = "STRONGROOM_DATABASE_URL")]
    database_url: Option<String>,
    /// The site (default: the site file's).
    #[arg(long)]
    site: Option<String>,
    /// Report as of the end of this local date, YYYY-MM-DD (vault log: the day); default today.
    #[arg(long)]
    date: Option<String>,
    /// html, pdf or csv.
    #[arg(long, default_value = "pdf")]
    format: String,
    /// Output file (default: REPORT-SITE-DATE.EXT in the current directory).
    #[arg(long)]
    output: Option<PathBuf>,
    /// One outage or incident (default: all of them).
    #[arg(long)]
    id: Option<String>,
}

/// Reports.
#[derive(Subcommand)]
pub enum ReportCommand {
    /// The compliance report: every requirement of the site's rule pack with its finding.
    Compliance(ReportArgs),
    /// The daily vault log.
    VaultLog(ReportArgs),
    /// The inspection and test log with next due dates.
    InspectionLog(ReportArgs),
    /// Security-system outage reports (lost spans, notices, due dates).
    Outage(ReportArgs),
    /// The approved vendor list and its changes.
    Vendors(ReportArgs),
    /// Persons with access to the surveillance equipment.
    SurveillanceAccess(ReportArgs),
    /// Diversion, theft and loss incident reports.
    Incidents(ReportArgs),
}

/// Runs a rules command.
pub async fn rules(cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::List { pack } => {
            let parsed = match engine::pack::builtin(&pack) {
                Some(p) => p.map_err(|e| anyhow::anyhow!("{e:?}"))?,
                None => {
                    let path = PathBuf::from(&pack);
                    if !path.exists() {
                        bail!(
                            "{pack:?} is neither a built-in pack (il-dispensary, oh-dispensary, oh-processor) nor a file"
                        );
                    }
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    match engine::check_pack(&pack, &text) {
                        Ok(p) => p,
                        Err(issues) => {
                            for i in &issues {
                                eprintln!("{i}");
                            }
                            return Ok(ExitCode::from(1));
                        }
                    }
                }
            };
            println!(
                "{} ({}): {}, effective {}; regulator: {}",
                parsed.title, parsed.id, parsed.law, parsed.effective, parsed.regulator
            );
            let rows = engine::list(&parsed);
            let w_id = rows.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
            let w_cit = rows
                .iter()
                .map(|r| r.citation.chars().count())
                .max()
                .unwrap_or(8)
                .max(8);
            let w_kind = rows.iter().map(|r| r.check.len()).max().unwrap_or(4).max(4);
            println!(
                "{:w_id$}  {:w_cit$}  {:w_kind$}  {:8}  TITLE",
                "ID", "CITATION", "KIND", "BASIS"
            );
            for r in &rows {
                println!(
                    "{:w_id$}  {:w_cit$}  {:w_kind$}  {:8}  {}",
                    r.id, r.citation, r.check, r.basis, r.title
                );
            }
            let law = rows.iter().filter(|r| r.basis == "law").count();
            println!(
                "{} requirements: {law} law, {} practice (reported, never scored)",
                rows.len(),
                rows.len() - law
            );
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Check { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let name = file.display().to_string();
            match engine::check_pack(&name, &text) {
                Ok(p) => {
                    println!(
                        "{name}: OK: pack {} ({}), {} requirements",
                        p.id,
                        p.jurisdiction,
                        p.requirements.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(issues) => {
                    for i in &issues {
                        println!("{i}");
                    }
                    eprintln!("{name}: {} issue(s)", issues.len());
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// Opens the data directory's database (the pattern of `main.rs`'s `open_existing`).
async fn open_store(at: &ReportArgs) -> Result<(DataDir, Store)> {
    let dir = DataDir::new(&at.dir);
    let url = dir.database_url(at.database_url.as_deref());
    if at.database_url.is_none() && !dir.root.join("db").join("strongroom.sqlite").exists() {
        bail!(
            "no database in {} (run `strongroom init` or `strongroom serve` first, or pass --database-url)",
            dir.root.display()
        );
    }
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    let v = migrate::applied_version(&store).await?;
    if v != migrate::current_version() {
        bail!(
            "database schema version {v}, this binary needs {}: run `strongroom migrate`",
            migrate::current_version()
        );
    }
    Ok((dir, store))
}

/// The site model: the site file, or for another site the last configuration its journal applied.
async fn site_config(dir: &DataDir, store: &Store, want: Option<&str>) -> Result<SiteConfig> {
    let file = dir.site_file();
    let from_file = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| SiteConfig::parse(&file.display().to_string(), &t).ok());
    if let Some(c) = &from_file
        && want.is_none_or(|w| w == c.site.id)
    {
        return Ok(c.clone());
    }
    let site = match want {
        Some(w) => w.to_owned(),
        None => match store.sites().await?.as_slice() {
            [one] => one.id.clone(),
            list => bail!(
                "{} is missing or invalid and the database has {} sites: say which with --site",
                file.display(),
                list.len()
            ),
        },
    };
    let last = store
        .recent_events(&site, Some("config.applied"), None, 1)
        .await?;
    let Some(e) = last.first() else {
        bail!("no site {site:?} with a recorded configuration in this database");
    };
    let v: serde_json::Value = serde_json::from_str(&e.payload)?;
    let toml = v.get("toml").and_then(|t| t.as_str()).unwrap_or_default();
    SiteConfig::parse("(journal)", toml).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs a report command.
pub async fn report(cmd: ReportCommand) -> Result<ExitCode> {
    let (name, args) = match cmd {
        ReportCommand::Compliance(a) => ("compliance", a),
        ReportCommand::VaultLog(a) => ("vault-log", a),
        ReportCommand::InspectionLog(a) => ("inspection-log", a),
        ReportCommand::Outage(a) => ("outage", a),
        ReportCommand::Vendors(a) => ("vendors", a),
        ReportCommand::SurveillanceAccess(a) => ("surveillance-access", a),
        ReportCommand::Incidents(a) => ("incidents", a),
    };
    let format: engine::report::Format = args.format.parse()?;
    let (dir, store) = open_store(&args).await?;
    let config = site_config(&dir, &store, args.site.as_deref()).await?;
    let site_id = config.site.id.clone();
    if store.site(&site_id).await?.is_none() {
        bail!("site {site_id:?} is not in this database");
    }
    let tz = engine::schedule::site_tz(&config);
    let real_now = strongroom_domain::SystemClock.now_ms();
    let date = match &args.date {
        Some(d) => d
            .parse::<jiff::civil::Date>()
            .with_context(|| format!("bad --date {d:?} (use YYYY-MM-DD)"))?,
        None => engine::schedule::local_date(real_now, &tz),
    };
    // As of the end of the date (or now, if that is earlier).
    let end_of_day = date
        .tomorrow()
        .and_then(|d| d.to_zoned(tz.clone()))
        .map(|z| z.timestamp().as_millisecond() - 1)
        .context("date out of range")?;
    let now = end_of_day.min(real_now);

    let total = store.event_count(&site_id).await?;
    let bar = indicatif::ProgressBar::new(total.max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(format!("{name}: reading the journal of {site_id}"));
    let doc = match name {
        "vault-log" => {
            crt::vault_log_document(&store, &site_id, &config, date, now, &AccessVaultLog, |n| {
                bar.set_position(n)
            })
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
        }
        "surveillance-access" => {
            crt::surveillance_access_document(&store, &site_id, &config, now, |n| {
                bar.set_position(n)
            })
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
        }
        other => {
            let kind: ReportKind = other.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let snap = crt::snapshot(&store, &site_id, &config, crt::build_capabilities(), now)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            bar.set_position(total);
            crt::build_report(kind, &config, &snap, args.id.as_deref())?
        }
    };
    bar.set_message(format!("{name}: rendering {}", format.extension()));
    let bytes = engine::report::render(&doc, format);
    bar.finish_and_clear();
    let out = args.output.clone().unwrap_or_else(|| {
        PathBuf::from(format!("{name}-{site_id}-{date}.{}", format.extension()))
    });
    std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{}: {} report for site {site_id} as of {}, {} bytes",
        out.display(),
        name,
        engine::report::fmt_local(now, &tz),
        bytes.len()
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
