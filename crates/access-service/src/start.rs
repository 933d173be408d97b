//! Starting the access service on a site: the credential-hash key (created on first start,
//! checked against the journal's fingerprint after), the vault-log index, the state and door
//! monitor rebuilt from the journal, the one-second door tick with the credential expiry sweep,
//! and the OSDP supervisor.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use strongroom_access::kinds as k;
use strongroom_access::{AccessSite, Command, SiteSecret};
use strongroom_domain::{Actor, Fact};
use strongroom_store::decode::fact_of_event;
use strongroom_store::follow::JournalFollower;
use strongroom_store::service::ServiceCtx;
use strongroom_store::{JournalHandle, Store};
use tokio::task::JoinHandle;

use crate::error::StartError;
use crate::secret::{fingerprint, read_secret_file, secret_path, write_secret_file};
use crate::service::{AccessService, Inner, params_for};
use crate::vault::ensure_vault_index;

/// Fact kind recording the fingerprint of a newly created credential-hash key.
pub const SECRET_CREATED: &str = "access.secret_created";

/// A started access service and its background tasks.
pub struct StartedAccess {
    /// The service.
    pub service: Arc<AccessService>,
    /// Its tasks: the door tick and the OSDP supervisor (aborting the supervisor stops its
    /// reader lines).
    pub tasks: Vec<JoinHandle<()>>,
}

/// Replays the site's journal into `inner` (access facts into the state, door facts into the
/// monitor and the door view); returns the events read, the facts applied and the last recorded
/// credential-key fingerprint.
pub(crate) async fn replay(
    store: &Store,
    journal: &JournalHandle,
    inner: &mut Inner,
) -> Result<(u64, u64, Option<String>), StartError> {
    let mut fingerprint = None;
    let (mut read, mut applied) = (0u64, 0u64);
    let mut follower = JournalFollower::new(store.clone(), journal, 0);
    follower
        .catch_up(|e| {
            read += 1;
            if e.kind == SECRET_CREATED {
                fingerprint = fact_of_event(e)
                    .and_then(|f| f.payload.get("fingerprint")?.as_str().map(str::to_owned));
            } else if k::ALL.contains(&e.kind.as_str())
                && let Some(f) = fact_of_event(e)
            {
                inner.absorb(&f);
                applied += 1;
            }
        })
        .await
        .map_err(|e| StartError(format!("cannot read the journal: {e}")))?;
    Ok((read, applied, fingerprint))
}

/// Starts access control for the site of `ctx` on its configuration.
pub async fn start(ctx: &ServiceCtx) -> Result<StartedAccess, StartError> {
    let site_id = &ctx.site_id;
    let store = &ctx.store;
    let config = ctx.config.clone();
    let path = secret_path(&ctx.data_dir, site_id);
    let (key, created) = if path.exists() {
        (read_secret_file(&path)?, false)
    } else {
        let mut b = vec![0u8; 32];
        getrandom::fill(&mut b)
            .map_err(|e| StartError(format!("no randomness for the credential key: {e}")))?;
        (b, true)
    };
    let secret =
        SiteSecret::new(&key).map_err(|e| StartError(format!("{}: {e}", path.display())))?;
    let access_site =
        AccessSite::new(&config, params_for(&config), secret.clone()).map_err(StartError::of)?;
    let mut inner = Inner::new(config.clone(), access_site);
    let started = Instant::now();
    ensure_vault_index(store).await?;
    let index_ms = started.elapsed().as_millis();
    if index_ms > 1_000 {
        tracing::info!(site = %site_id, ms = index_ms as u64, "vault-log index built");
    }
    // Rebuild from the journal.
    let started = Instant::now();
    let (read, replayed, recorded_fingerprint) = replay(store, &ctx.journal, &mut inner).await?;
    let fp = fingerprint(&key);
    if created && inner.state.credentials().next().is_some() {
        return Err(StartError(format!(
            "{} is missing but the journal holds credentials hashed with it; restore the file from a backup (a new key would lock every credential out)",
            path.display()
        )));
    }
    if !created
        && let Some(recorded) = &recorded_fingerprint
        && *recorded != fp
    {
        return Err(StartError(format!(
            "{} is not the credential key this site's journal was written with (fingerprint {fp}, journal says {recorded})",
            path.display()
        )));
    }
    if created {
        write_secret_file(&path, &key)?;
    }
    if created || recorded_fingerprint.is_none() {
        ctx.journal
            .append_one(
                Fact::new(SECRET_CREATED, Actor::System, ctx.clock.now_ms())
                    .with("fingerprint", fp)
                    .with("file", path.display().to_string()),
            )
            .await
            .map_err(StartError::of)?;
    }
    tracing::info!(
        site = %site_id,
        read,
        replayed,
        ms = started.elapsed().as_millis() as u64,
        "access state rebuilt from the journal"
    );
    let rt = Arc::new(AccessService {
        site_id: site_id.clone(),
        journal: ctx.journal.clone(),
        store: store.clone(),
        clock: ctx.clock.clone(),
        secret,
        data_dir: ctx.data_dir.clone(),
        wanted: RwLock::new(config),
        inner: tokio::sync::Mutex::new(inner),
        links: std::sync::Mutex::new(HashMap::new()),
    });
    let ticker = rt.clone();
    let tick = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u64 = 0;
        loop {
            every.tick().await;
            n += 1;
            if let Err(e) = ticker.tick().await {
                tracing::warn!(error = %e, "door monitor tick not journaled");
            }
            if n.is_multiple_of(60)
                && let Err(e) = ticker.command(&Command::ExpireDue, &Actor::System).await
            {
                tracing::warn!(error = %e, "credential expiry sweep failed");
            }
        }
    });
    let supervisor = tokio::spawn(crate::osdp::supervisor(rt.clone()));
    Ok(StartedAccess {
        service: rt,
        tasks: vec![tick, supervisor],
    })
}
