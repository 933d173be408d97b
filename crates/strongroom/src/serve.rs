//! `strongroom serve`: open (or create) the data directory, start every site's journal writer and
//! devices, serve the API and console, reload the site file on change, and shut down cleanly
//! (a final signed checkpoint) on SIGINT/SIGTERM.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use clap::Args;
use sha2::{Digest, Sha256};
use strongroom_domain::fact::kinds;
use strongroom_domain::site::{DEMO_SITE_TOML, SiteConfig};
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_server::state::Settings;
use strongroom_server::{AppState, SiteRuntime};
use strongroom_store::{JournalHandle, JournalWriterConfig, Store, migrate};

use crate::datadir::{self, DataDir};

/// Options of `strongroom serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Data directory (site file, embedded database, keys, recordings).
    #[arg(long, env = "STRONGROOM_DIR", default_value = "strongroom-data")]
    dir: PathBuf,
    /// Database URL (postgres://... for PostgreSQL); default: the SQLite file in the data directory.
    #[arg(long, env = "STRONGROOM_DATABASE_URL")]
    database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "STRONGROOM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS.
    #[arg(long, env = "STRONGROOM_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "STRONGROOM_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Write the bound address to this file once listening (for scripts using port 0).
    #[arg(long)]
    addr_file: Option<PathBuf>,
    /// Serve Prometheus metrics (`GET /metrics`) on this address, e.g. 127.0.0.1:9464; off by
    /// default. No login: bind it to a management network only.
    #[arg(long, env = "STRONGROOM_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Simulator period in milliseconds (demo sites only).
    #[arg(long, default_value_t = 3000)]
    simulator_period_ms: u64,
}

pub async fn run(args: ServeArgs, clock: Arc<dyn Clock>) -> Result<ExitCode> {
    let dir = DataDir::new(&args.dir);
    let mut first_start = None;
    if !dir.site_file().exists() {
        std::fs::create_dir_all(&dir.root)
            .with_context(|| format!("cannot create {}", dir.root.display()))?;
        println!(
            "No site in {}: creating the demo site (an Illinois dispensary, simulator on).",
            dir.root.display()
        );
        first_start = Some(
            datadir::initialize(
                &dir,
                DEMO_SITE_TOML,
                args.database_url.as_deref(),
                clock.clone(),
            )
            .await?,
        );
    }
    let url = dir.database_url(args.database_url.as_deref());
    if args.database_url.is_none() {
        std::fs::create_dir_all(dir.root.join("db"))?;
    }
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    let applied = migrate::run(&store, clock.now_ms()).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrated");
    }
    let file_name = dir.site_file().display().to_string();
    let text = std::fs::read_to_string(dir.site_file())
        .with_context(|| format!("cannot read {file_name}"))?;
    let parsed = SiteConfig::parse(&file_name, &text);
    let (config, rejected) = match parsed {
        Ok(c) => (c, None),
        Err(errors) => {
            // Keep the last good configuration the journal recorded, if any.
            let sites = store.sites().await?;
            let Some(site) = sites.first() else {
                bail!(
                    "{errors}\n(the site file is invalid and there is no earlier good configuration)"
                );
            };
            let last = store
                .recent_events(&site.id, Some(kinds::CONFIG_APPLIED), None, 1)
                .await?;
            let Some(ev) = last.first() else {
                bail!(
                    "{errors}\n(the site file is invalid and there is no earlier good configuration)"
                );
            };
            let payload: serde_json::Value = serde_json::from_str(&ev.payload)?;
            let good = payload
                .get("toml")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            let c = SiteConfig::parse("(last good configuration)", &good)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "warning: {file_name} is invalid; keeping the last good configuration:\n{errors}"
            );
            (c, Some(errors))
        }
    };
    let site_id = config.site.id.clone();
    let row = store.site(&site_id).await?.with_context(|| {
        format!("site {site_id:?} is not in the database; run `strongroom init`")
    })?;
    let key = Arc::new(dir.load_key(&site_id)?);
    if key.public_hex() != row.public_key {
        bail!(
            "the signing key in {} does not match the key recorded for site {site_id:?}",
            dir.key_file(&site_id).display()
        );
    }
    let (journal, writer_task) = JournalHandle::start(
        store.clone(),
        &site_id,
        key.clone(),
        clock.clone(),
        JournalWriterConfig::default(),
    )
    .await?;
    let site = Arc::new(SiteRuntime::new(
        config.clone(),
        journal.clone(),
        key,
        Some(dir.site_file()),
    ));
    strongroom_server::simulator::server_started(&site, clock.now_ms()).await?;
    if let Some(errors) = rejected {
        let list: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        journal
            .append_one(
                Fact::new(kinds::CONFIG_REJECTED, Actor::System, clock.now_ms())
                    .with("file", file_name.clone())
                    .with("errors", list),
            )
            .await?;
    } else {
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        let last = store
            .recent_events(&site_id, Some(kinds::CONFIG_APPLIED), None, 1)
            .await?;
        let same = last
            .first()
            .and_then(|e| serde_json::from_str::<serde_json::Value>(&e.payload).ok())
            .and_then(|p| p.get("sha256").and_then(|s| s.as_str()).map(|s| s == sha))
            .unwrap_or(false);
        if !same {
            journal
                .append_one(
                    Fact::new(kinds::CONFIG_APPLIED, Actor::System, clock.now_ms())
                        .with("file", file_name.clone())
                        .with("sha256", sha)
                        .with("toml", text.clone()),
                )
                .await?;
        }
    }
    let state = AppState::new(store.clone(), clock.clone(), Settings::default());
    state.add_site(site.clone());

    let mut background = Vec::new();
    if config.site.simulator {
        background.push(tokio::spawn(strongroom_server::simulator::run(
            site.clone(),
            clock.clone(),
            Duration::from_millis(args.simulator_period_ms.max(100)),
        )));
    }
    let ctx = strongroom_server::state::StartCtx {
        state: state.clone(),
        site: site.clone(),
        data_dir: dir.root.clone(),
    };
    background.extend(
        strongroom_server::start_subsystems(&ctx)
            .await
            .map_err(|e| anyhow::anyhow!(e))?,
    );
    background.push(tokio::spawn(watch_site_file(
        site.clone(),
        clock.clone(),
        dir.site_file(),
    )));
    background.push(tokio::spawn(projection_loop(
        store.clone(),
        site_id.clone(),
    )));

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let bound = listener.local_addr()?;
    let scheme = if args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    if let Some(f) = &args.addr_file {
        std::fs::write(f, bound.to_string())?;
    }
    println!(
        "Strongroom {} is running: site {:?} ({})",
        env!("CARGO_PKG_VERSION"),
        config.site.name,
        config.site.jurisdiction
    );
    println!("  console:  {scheme}://{bound}/");
    println!("  API:      {scheme}://{bound}/api/openapi.json");
    println!("  database: {}", redact(&url));
    match first_start.and_then(|f| f.admin_password) {
        Some(p) => println!(
            "  log in as admin with the one-time password {p} (shown once; you will choose a new one)"
        ),
        None => {
            println!("  log in with your user (no users? `strongroom user add NAME --role admin`)")
        }
    }
    if let Some(addr) = args.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for metrics on {addr}"))?;
        println!("  metrics:  http://{}/metrics", metrics.local_addr()?);
        let app = strongroom_server::metrics::router(state.clone());
        background.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, app).await {
                tracing::error!(error = %e, "metrics listener stopped");
            }
        }));
    }
    let app = strongroom_server::router(state.clone());
    let shutdown = shutdown_signal();
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(keyf)) => {
            let tls = strongroom_server::tls::server_config(cert, keyf)?;
            tokio::select! {
                _ = strongroom_server::tls::serve_tls(listener, tls, app) => {}
                _ = shutdown => {}
            }
        }
        _ => {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await?;
        }
    }
    // Finish and index every camera's open segment before anything else stops.
    for s in state.all_sites() {
        if let Some(v) = s.video.get() {
            v.stop_and_wait(Duration::from_secs(10)).await;
        }
    }
    for t in background {
        t.abort();
    }
    println!("Shutting down: sealing the journal.");
    for s in state.all_sites() {
        let _ = s
            .journal
            .append_one(Fact::new(
                kinds::SERVER_STOPPED,
                Actor::System,
                clock.now_ms(),
            ))
            .await;
        s.journal.shutdown().await?;
    }
    let _ = writer_task.await;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Reloads the site file when it changes (or on SIGHUP); a bad file is refused and journaled.
async fn watch_site_file(site: Arc<SiteRuntime>, clock: Arc<dyn Clock>, path: PathBuf) {
    let mtime = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut last: Option<SystemTime> = mtime(&path);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let forced = {
            let hup_recv = async {
                match hup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => false,
                _ = hup_recv => true,
            }
        };
        #[cfg(not(unix))]
        let forced = {
            tokio::time::sleep(Duration::from_secs(2)).await;
            false
        };
        let now = mtime(&path);
        if !forced && now == last {
            continue;
        }
        last = now;
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match site
            .apply_config(
                &path.display().to_string(),
                &text,
                Actor::System,
                clock.now_ms(),
            )
            .await
        {
            Ok(_) => tracing::info!(file = %path.display(), "site file reloaded"),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "site file refused; the last good configuration stays in force")
            }
        }
    }
}

/// Keeps the projections close behind the journal.
async fn projection_loop(store: Store, site_id: String) {
    loop {
        if let Err(e) = strongroom_store::projection::catch_up(&store, &site_id).await {
            tracing::warn!(error = %e, "projection catch-up failed");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
