//! Site runtime for access control: the decision engine, OSDP readers, credentials and people API,
//! door states, the vault log.
//!
//! [`start`] runs when a site starts; [`routes`] adds this subsystem's API under
//! `/api/v1/sites/{site}/access/...`. The console's part lives in `assets/access.js`.
//!
//! How it works:
//! - The state ([`AccessState`]) and the door monitor ([`DoorMonitor`]) are rebuilt at start by
//!   replaying the site's journal, and kept in one `tokio::sync::Mutex`, so decisions and commands
//!   run one at a time.
//! - Every change goes the same way: the pure core returns facts (`decide`, `execute`,
//!   `DoorMonitor`), the facts are appended to the journal and are durable, and only then are they
//!   applied to the state and answered (HTTP reply, reader LED). A failed append changes nothing
//!   and the door stays shut.
//! - Silent facts (`silent: true`, i.e. `alarm.duress`) get `visibility = "monitoring"` and go last
//!   in their batch; the door, the HTTP answer and the access facts of a duress entry are those of
//!   a normal entry.
//! - The credential-hash key lives in `DATA_DIR/keys/SITE.access-secret` (mode 0600), never in the
//!   journal; the journal records only its fingerprint (`access.secret_created`), so a wrong or lost
//!   key file is refused at start instead of silently locking everyone out.
//! - OSDP readers: one driver per channel (several readers may share a multi-drop line),
//!   reconnecting with backoff; card reads and keypad digits become presentations, reader link
//!   changes become `device.state` facts (plus `health.reader_*` facts for the alerts).
//! - Door contacts and lock reports (from controllers over `device-events`, or the simulator) go
//!   through the door monitor: `door.contact` / `door.lock` carry `device` and `state` too, so the
//!   device projection shows the door.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;
use strongroom_access::kinds as k;
use strongroom_access::records::{self, AreaAccessRow, SecretHolderRow};
use strongroom_access::state::{Credential, Person};
use strongroom_access::{
    AccessParams, AccessSite, AccessState, Command, CommandError, CredentialKind, Decision,
    DoorMonitor, EmergencyOverride, ExitSource, GoodFaithAttempt, NewCredential, NewPerson,
    Outcome, PendingKind, PersonCategory, PersonStatus, Presentation, ReaderFeedback, Request,
    Schedule, SecretKind, SiteSecret, Source, VaultLogEntry, decide, execute,
};
use strongroom_compliance::report::{self, Block, Document, Format, Table};
use strongroom_domain::auth::Permission;
use strongroom_domain::fact::kinds as core_kinds;
use strongroom_domain::site::{Direction, SiteConfig};
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_journal::JournalEvent;
use strongroom_osdp::cp::{
    ControlPanel, CpConfig, CpEvent, ReaderCommand, ReaderConfig, ReaderKey,
};
use strongroom_osdp::driver;
use strongroom_osdp::message::{BuzzerCommand, LedCommand};
use strongroom_store::{JournalHandle, Store};
use tokio::sync::MutexGuard;

use crate::api::JsonBody;
use crate::auth::{Session, SiteCtx};
use crate::error::ApiError;
use crate::state::{AppState, SiteRuntime, StartCtx};

/// Fact kind recording the fingerprint of a newly created credential-hash key.
pub const SECRET_CREATED: &str = "access.secret_created";
/// A card read or keypad entry refused before any decision (a commissioned reader sent it outside
/// its Secure Channel). Fields: `reader`, `door`, `reason` (`not_secure`), `source`.
pub const READ_REFUSED: &str = "access.read_refused";
/// An OSDP reader stopped answering or its line could not be opened. Fields: `device`, `door`,
/// `reason`.
pub const HEALTH_READER_DOWN: &str = "health.reader_down";
/// An OSDP reader answers again. Fields: `device`, `door`.
pub const HEALTH_READER_UP: &str = "health.reader_up";
/// An established Secure Channel was lost, or a handshake failed (a reader may have been swapped
/// or tampered with). Fields: `device`, `door`, `reason`.
pub const HEALTH_READER_INSECURE: &str = "health.reader_secure_channel_down";

/// How long a card read at a keypad reader waits for its PIN.
const PIN_WAIT: Duration = Duration::from_secs(10);
/// Journal page size for the start-up replay.
const REPLAY_PAGE: u32 = 5_000;

// ====================================================================================== runtime

/// What the console shows of a door beyond the monitor's open/forced: lock, conditions, times.
#[derive(Debug, Clone, Default, Serialize)]
struct DoorView {
    locked: Option<bool>,
    since_ms: Option<i64>,
    held_open: bool,
    left_unlocked: bool,
    last_grant_ms: Option<i64>,
    last_alarm: Option<String>,
    last_alarm_ms: Option<i64>,
}

impl DoorView {
    fn note(views: &mut HashMap<String, DoorView>, f: &Fact) {
        let Some(Value::String(door)) = f.payload.get("door") else {
            return;
        };
        let flag = |key: &str| f.payload.get(key).and_then(Value::as_bool);
        match f.kind.as_str() {
            k::DOOR_CONTACT => {
                let v = views.entry(door.clone()).or_default();
                v.since_ms = Some(f.time_ms);
                if flag("open") == Some(false) {
                    v.held_open = false;
                }
            }
            k::DOOR_LOCK => {
                let v = views.entry(door.clone()).or_default();
                v.locked = flag("locked");
            }
            k::DOOR_FORCED | k::DOOR_HELD_OPEN | k::DOOR_LEFT_UNLOCKED => {
                let v = views.entry(door.clone()).or_default();
                match f.kind.as_str() {
                    k::DOOR_FORCED => {}
                    k::DOOR_HELD_OPEN => v.held_open = true,
                    _ => v.left_unlocked = true,
                }
                v.last_alarm = Some(f.kind.clone());
                v.last_alarm_ms = Some(f.time_ms);
            }
            k::DOOR_SECURED => {
                let v = views.entry(door.clone()).or_default();
                match f.payload.get("after").and_then(Value::as_str) {
                    Some("held_open") => v.held_open = false,
                    Some("left_unlocked") => v.left_unlocked = false,
                    _ => {}
                }
            }
            k::ACCESS_GRANTED | k::ACCESS_EXIT => {
                views.entry(door.clone()).or_default().last_grant_ms = Some(f.time_ms);
            }
            _ => {}
        }
    }
}

/// What the mutex guards: everything a decision reads.
struct Inner {
    /// The configuration `site` was compiled from.
    config: Arc<SiteConfig>,
    site: AccessSite,
    state: AccessState,
    monitor: DoorMonitor,
    doors: HashMap<String, DoorView>,
}

impl Inner {
    /// Applies a durable fact to the state, the monitor (its output is dropped: the monitor's own
    /// facts are journaled by whoever produced them) and the door view.
    fn absorb(&mut self, f: &Fact) {
        self.state.apply(f);
        let _ = self.monitor.on_fact(f);
        DoorView::note(&mut self.doors, f);
    }
}

/// An OSDP reader's link, for the door screen and for driving its LED.
#[derive(Debug, Clone, Serialize)]
struct ReaderLink {
    channel: String,
    address: u8,
    commissioned: bool,
    /// `connecting`, `online`, `offline`, `trouble`.
    state: String,
    secure: bool,
    since_ms: i64,
    detail: Option<String>,
    #[serde(skip)]
    handle: Option<driver::DriverHandle>,
}

/// The answer to a presentation, as a controller (and the console) sees it. It depends only on
/// the outcome: a duress entry answers exactly like a normal one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// `granted`, `denied` or `pending`.
    pub outcome: &'static str,
    /// Why it was denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// What a pending request waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingKind>,
    /// Reader id.
    pub reader: String,
    /// Door id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    /// Seconds the lock releases for (grants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlock_s: Option<u32>,
    /// What the reader shows.
    pub feedback: ReaderFeedback,
}

/// This subsystem's per-site state, reachable as `SiteRuntime::access`.
pub struct AccessRuntime {
    site: Weak<SiteRuntime>,
    site_id: String,
    journal: JournalHandle,
    store: Store,
    clock: Arc<dyn Clock>,
    secret: SiteSecret,
    data_dir: PathBuf,
    inner: tokio::sync::Mutex<Inner>,
    links: std::sync::Mutex<HashMap<String, ReaderLink>>,
}

/// Turns a journaled event back into the fact it recorded.
pub fn fact_of(e: &JournalEvent) -> Option<Fact> {
    crate::api::fact_of_event(e)
}

fn fingerprint(key: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"strongroom access secret fingerprint\0");
    h.update(key);
    hex::encode(&h.finalize()[..8])
}

fn secret_path(data_dir: &FsPath, site_id: &str) -> PathBuf {
    data_dir
        .join("keys")
        .join(format!("{site_id}.access-secret"))
}

/// Reads the credential-hash key; refuses a file others can read.
fn read_secret_file(path: &FsPath) -> Result<Vec<u8>, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the credential key {} has mode {mode:o}; it must be 0600 (chmod 600 it)",
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    hex::decode(text.trim()).map_err(|e| format!("{} is not hex: {e}", path.display()))
}

fn write_secret_file(path: &FsPath, key: &[u8]) -> Result<(), String> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Puts silent facts (`silent: true`) last in their batch and marks them for monitoring roles only.
fn mark_silent(facts: Vec<Fact>) -> Vec<Fact> {
    let (mut loud, silent): (Vec<Fact>, Vec<Fact>) = facts
        .into_iter()
        .partition(|f| f.payload.get("silent") != Some(&Value::Bool(true)));
    for mut f in silent {
        f.payload
            .insert("visibility".into(), Value::String("monitoring".into()));
        loud.push(f);
    }
    loud
}

fn params_for(config: &SiteConfig) -> AccessParams {
    AccessParams::for_jurisdiction(config.site.jurisdiction)
}

fn command_error(e: CommandError) -> ApiError {
    use CommandError as E;
    match e {
        E::UnknownPerson(id) => ApiError::NotFound(format!("person {id:?}")),
        E::UnknownCredential(id) => ApiError::NotFound(format!("credential {id:?}")),
        E::UnknownArea(id) => ApiError::NotFound(format!("area {id:?}")),
        E::UnknownReader(id) => ApiError::NotFound(format!("reader {id:?}")),
        E::UnknownSecret(id) => ApiError::NotFound(format!("secret {id:?}")),
        E::PersonExists(_)
        | E::SecretExists(_)
        | E::PinInUse { .. }
        | E::CardInUse { .. }
        | E::DuressPinExists(_)
        | E::Unchanged(_)
        | E::AlreadyLockedDown
        | E::NotLockedDown
        | E::CredentialStatus { .. }
        | E::TerminationIsFinal(_)
        | E::PersonTerminated(_) => ApiError::Conflict(e.to_string()),
        _ => ApiError::BadRequest(e.to_string()),
    }
}

impl AccessRuntime {
    /// The site id.
    pub fn site_id(&self) -> &str {
        &self.site_id
    }

    /// Whether `config` can be put in force for access control; no side effects. The reload
    /// refuses a file whose doors, readers or credentials policy do not compile, or whose OSDP
    /// secure-channel keys cannot be read.
    pub fn check_config(&self, config: &SiteConfig) -> Result<(), String> {
        AccessSite::new(config, params_for(config), self.secret.clone())
            .map_err(|e| e.to_string())?;
        for spec in line_specs(config, &self.data_dir).values() {
            for (reader, _, scbk) in &spec.readers {
                if let Some(path) = scbk {
                    load_scbk(path).map_err(|e| format!("reader {reader}: {e}"))?;
                }
            }
        }
        Ok(())
    }

    /// Recompiles the site model now if the configuration changed (a reload calls this so that a
    /// removed reader or door is refused from the moment the file is applied).
    pub async fn reload(&self) {
        drop(self.lock().await);
    }

    /// Locks the state, first recompiling the site if its configuration changed.
    async fn lock(&self) -> MutexGuard<'_, Inner> {
        let mut g = self.inner.lock().await;
        if let Some(site) = self.site.upgrade() {
            let config = site.config();
            if !Arc::ptr_eq(&config, &g.config) {
                self.reconfigure(&mut g, config).await;
            }
        }
        g
    }

    async fn reconfigure(&self, g: &mut Inner, config: Arc<SiteConfig>) {
        let site = match AccessSite::new(&config, params_for(&config), self.secret.clone()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(site = %self.site_id, error = %e, "new configuration not usable for access control; keeping the last one");
                g.config = config;
                return;
            }
        };
        let same_doors = site.doors == g.site.doors;
        g.site = site;
        g.config = config;
        if !same_doors {
            // Door list or limits changed: rebuild the monitor from the recent door history.
            let mut monitor = DoorMonitor::new(&g.site);
            let now = self.clock.now_ms();
            let mut facts: Vec<(u64, Fact)> = Vec::new();
            for (prefix, since) in [("door.", 86_400_000), ("access.", 300_000)] {
                match self
                    .store
                    .events_by_kind_and_time(&self.site_id, prefix, now - since, i64::MAX)
                    .await
                {
                    Ok(evs) => {
                        facts.extend(evs.iter().filter_map(|e| Some((e.seq, fact_of(e)?))));
                    }
                    Err(e) => tracing::warn!(error = %e, "door history unavailable"),
                }
            }
            facts.sort_by_key(|(s, _)| *s);
            for (_, f) in &facts {
                let _ = monitor.on_fact(f);
            }
            g.monitor = monitor;
        }
    }

    /// Journals `facts` (durable), then applies them. Nothing changes if the append fails.
    async fn commit(
        &self,
        g: &mut Inner,
        facts: Vec<Fact>,
    ) -> Result<Vec<Arc<JournalEvent>>, ApiError> {
        if facts.is_empty() {
            return Ok(Vec::new());
        }
        let facts = mark_silent(facts);
        let events = self.journal.append(facts.clone()).await?;
        for f in &facts {
            g.absorb(f);
        }
        Ok(events)
    }

    /// Runs a registry command as `actor`: validated, journaled, applied.
    pub async fn command(
        &self,
        cmd: &Command,
        actor: &Actor,
    ) -> Result<Vec<Arc<JournalEvent>>, ApiError> {
        let mut g = self.lock().await;
        let facts =
            execute(&g.site, &g.state, cmd, actor, self.clock.now_ms()).map_err(command_error)?;
        self.commit(&mut g, facts).await
    }

    /// Decides a request: journaled, applied, and the reader (if it is an OSDP reader) shows the
    /// outcome. Fails only when the journal cannot make the decision durable (the door stays shut).
    pub async fn decide(&self, req: &Request) -> Result<(Decision, Answer), ApiError> {
        let (decision, answer) = {
            let mut g = self.lock().await;
            let now = self.clock.now_ms();
            let decision = decide(&g.site, &g.state, req, now);
            let answer = answer_of(&g.site, req, &decision);
            self.commit(&mut g, decision.facts.clone()).await?;
            (decision, answer)
        };
        if let Request::Present(p) = req {
            self.show(&p.reader, decision.reader_feedback);
        }
        Ok((decision, answer))
    }

    /// A card and/or PIN at a reader (the OSDP adapter, the API and the simulator all come here).
    pub async fn present(
        &self,
        reader: &str,
        card: Option<String>,
        pin: Option<String>,
        source: Source,
    ) -> Result<Answer, ApiError> {
        let req = Request::Present(Presentation {
            reader: reader.to_owned(),
            card,
            pin,
            source,
        });
        match self.decide(&req).await {
            Ok((_, a)) => Ok(a),
            Err(e) => {
                // Not durable, not granted: the reader shows a refusal.
                self.show(reader, ReaderFeedback::Denied);
                Err(e)
            }
        }
    }

    /// Whether a card read at `reader` should wait for a PIN: the card's credential is card+PIN,
    /// or the door needs two factors.
    pub async fn card_needs_pin(&self, reader: &str, card: &str) -> bool {
        let g = self.lock().await;
        let Some(r) = g.site.reader(reader) else {
            return false;
        };
        let Some(normal) = strongroom_access::hash::normalize_card(card) else {
            return false;
        };
        let Some(cred) = g
            .state
            .credential_by_card(&g.site.secret.hash_card(&normal))
        else {
            return false;
        };
        let door_needs = g
            .site
            .door_at(r.door)
            .is_some_and(|d| d.card_and_pin && r.direction == Direction::In);
        cred.kind == CredentialKind::CardPin || door_needs
    }

    /// Runs the door monitor on a copy, journals `report` (a device's report, if any) with what
    /// the monitor raises, and keeps the copy only once that is durable.
    async fn monitor_step(
        &self,
        report: Option<Fact>,
        react: impl FnOnce(&mut DoorMonitor) -> Vec<Fact>,
    ) -> Result<Vec<Arc<JournalEvent>>, ApiError> {
        let mut g = self.lock().await;
        if let Some(door) = report
            .as_ref()
            .and_then(|f| f.payload.get("door")?.as_str())
            && g.site.door(door).is_none()
        {
            return Err(ApiError::BadRequest(format!("unknown door {door:?}")));
        }
        let mut monitor = g.monitor.clone();
        let mut facts: Vec<Fact> = report.into_iter().collect();
        facts.extend(react(&mut monitor));
        let events = self.commit(&mut g, facts).await?;
        g.monitor = monitor;
        Ok(events)
    }

    /// A door contact report: journaled with whatever the door monitor raises (forced, secured).
    pub async fn door_contact(
        &self,
        door: &str,
        open: bool,
        detail: Option<&str>,
        time_ms: i64,
    ) -> Result<Vec<Arc<JournalEvent>>, ApiError> {
        let state = if open { "open" } else { "closed" };
        let f = door_report(
            k::DOOR_CONTACT,
            door,
            ("open", open),
            state,
            detail,
            time_ms,
        );
        self.monitor_step(Some(f), |m| m.on_contact(door, open, time_ms))
            .await
    }

    /// A lock report: journaled with the restoral of a left-unlocked condition, if any.
    pub async fn door_lock(
        &self,
        door: &str,
        locked: bool,
        detail: Option<&str>,
        time_ms: i64,
    ) -> Result<Vec<Arc<JournalEvent>>, ApiError> {
        let state = if locked { "locked" } else { "unlocked" };
        let f = door_report(
            k::DOOR_LOCK,
            door,
            ("locked", locked),
            state,
            detail,
            time_ms,
        );
        self.monitor_step(Some(f), |m| m.on_lock(door, locked, time_ms))
            .await
    }

    /// Checks the door timers (held open, left unlocked); journals what they raise.
    pub async fn tick(&self) -> Result<(), ApiError> {
        let now = self.clock.now_ms();
        self.monitor_step(None, |m| m.tick(now)).await.map(|_| ())
    }

    /// Reads the state under the lock.
    pub async fn read<R>(&self, f: impl FnOnce(&AccessSite, &AccessState) -> R) -> R {
        let g = self.lock().await;
        f(&g.site, &g.state)
    }

    /// Drives an OSDP reader's LED (and a short beep on refusals); a no-op for other readers.
    fn show(&self, reader: &str, feedback: ReaderFeedback) {
        let led = match feedback {
            ReaderFeedback::Granted => LedCommand::grant(),
            ReaderFeedback::Denied => LedCommand::deny(),
            ReaderFeedback::None => return,
        };
        let target = self.links.lock().ok().and_then(|m| {
            m.get(reader)
                .and_then(|l| Some((l.handle.clone()?, l.address)))
        });
        if let Some((handle, address)) = target {
            if handle.try_send(address, ReaderCommand::Led(led)).is_err() {
                tracing::warn!(reader, "LED command not queued (reader line down)");
            }
            if feedback == ReaderFeedback::Denied {
                let _ = handle.try_send(address, ReaderCommand::Buzzer(BuzzerCommand::beep()));
            }
        }
    }

    /// Journals a reader's link state (`device.state`), once per change, with health facts for the
    /// alerts (down, up again, Secure Channel lost).
    async fn reader_state(&self, reader: &str, state: &str, secure: bool, detail: Option<String>) {
        let now = self.clock.now_ms();
        let (previous, door) = {
            let Ok(mut m) = self.links.lock() else { return };
            let Some(l) = m.get_mut(reader) else { return };
            if l.state == state && l.secure == secure && l.detail == detail {
                return;
            }
            let prev = (l.state.clone(), l.secure);
            l.state = state.to_owned();
            l.secure = secure;
            l.since_ms = now;
            l.detail.clone_from(&detail);
            let door = self
                .site
                .upgrade()
                .and_then(|s| {
                    s.config()
                        .readers
                        .iter()
                        .find(|r| r.id == reader)
                        .map(|r| r.door.clone())
                })
                .unwrap_or_default();
            (prev, door)
        };
        let actor = Actor::Device(reader.to_owned());
        let mut f = Fact::new(core_kinds::DEVICE_STATE, actor.clone(), now)
            .with("device", reader)
            .with("state", state)
            .with("secure_channel", if secure { "up" } else { "down" });
        if let Some(d) = &detail {
            f = f.with("detail", d.clone());
        }
        let mut facts = vec![f];
        let reason = detail.clone().unwrap_or_default();
        if state == "offline" && previous.0 != "offline" {
            facts.push(
                Fact::new(HEALTH_READER_DOWN, actor.clone(), now)
                    .with("device", reader)
                    .with("door", door.clone())
                    .with("reason", reason.clone()),
            );
        }
        if state == "online" && previous.0 == "offline" {
            facts.push(
                Fact::new(HEALTH_READER_UP, actor.clone(), now)
                    .with("device", reader)
                    .with("door", door.clone()),
            );
        }
        let channel_lost = detail
            .as_deref()
            .is_some_and(|d| d.starts_with("secure channel"));
        if state == "trouble" && channel_lost && (previous.1 || previous.0 != "trouble") {
            facts.push(
                Fact::new(HEALTH_READER_INSECURE, actor, now)
                    .with("device", reader)
                    .with("door", door)
                    .with("reason", reason),
            );
        }
        if let Err(e) = self.journal.append(facts).await {
            tracing::error!(reader, error = %e, "cannot journal reader state");
        }
    }

    /// Journals a read refused before any decision.
    async fn refuse_read(&self, reader: &str, reason: &str) {
        let door = self.read(|s, _| {
            s.reader(reader)
                .and_then(|r| s.door_at(r.door))
                .map(|d| d.id.clone())
        });
        let door = door.await.unwrap_or_default();
        let f = Fact::new(
            READ_REFUSED,
            Actor::Device(reader.to_owned()),
            self.clock.now_ms(),
        )
        .with("reader", reader)
        .with("door", door)
        .with("reason", reason)
        .with("source", "osdp");
        if let Err(e) = self.journal.append_one(f).await {
            tracing::error!(reader, error = %e, "cannot journal a refused read");
        }
        self.show(reader, ReaderFeedback::Denied);
    }
}

/// A door device's report (`door.contact`, `door.lock`), carrying `device` and `state` too so
/// the device projection shows the door.
fn door_report(
    kind: &str,
    door: &str,
    (field, value): (&str, bool),
    state: &str,
    detail: Option<&str>,
    time_ms: i64,
) -> Fact {
    let mut f = Fact::new(kind, Actor::Device(door.to_owned()), time_ms)
        .with("door", door)
        .with(field, value)
        .with("device", door)
        .with("state", state);
    if let Some(d) = detail {
        f = f.with("detail", d);
    }
    f
}

fn answer_of(site: &AccessSite, req: &Request, d: &Decision) -> Answer {
    let (reader, door) = match req {
        Request::Present(p) => (
            p.reader.clone(),
            site.reader(&p.reader).and_then(|r| site.door_at(r.door)),
        ),
        Request::Exit { door, .. } | Request::StaffRelease { door, .. } => {
            (String::new(), site.door(door))
        }
        Request::EmergencyOverride(o) => (String::new(), site.door(&o.door)),
    };
    let (outcome, reason, pending) = match d.outcome {
        Outcome::Grant => ("granted", None, None),
        Outcome::Deny(r) => ("denied", Some(r.as_str()), None),
        Outcome::Pending(p) => ("pending", None, Some(p)),
    };
    Answer {
        outcome,
        reason,
        pending,
        reader,
        door: door.map(|x| x.id.clone()),
        unlock_s: (d.outcome == Outcome::Grant)
            .then(|| door.map(|x| x.unlock_s))
            .flatten(),
        feedback: d.reader_feedback,
    }
}

/// Replays the site's journal into `inner` (access facts into the state, door facts into the
/// monitor and the door view); returns the events read, the facts applied and the last recorded
/// credential-key fingerprint.
async fn replay(
    store: &Store,
    site_id: &str,
    inner: &mut Inner,
) -> Result<(u64, u64, Option<String>), String> {
    let mut fingerprint = None;
    let (mut after, mut read, mut applied) = (0u64, 0u64, 0u64);
    loop {
        let page = store
            .events_after(site_id, after, REPLAY_PAGE)
            .await
            .map_err(|e| format!("cannot read the journal: {e}"))?;
        for e in &page {
            after = e.seq;
            if e.kind == SECRET_CREATED {
                fingerprint = fact_of(e)
                    .and_then(|f| f.payload.get("fingerprint")?.as_str().map(str::to_owned));
            } else if k::ALL.contains(&e.kind.as_str())
                && let Some(f) = fact_of(e)
            {
                inner.absorb(&f);
                applied += 1;
            }
        }
        read += page.len() as u64;
        if page.len() < REPLAY_PAGE as usize {
            return Ok((read, applied, fingerprint));
        }
    }
}

/// Starts the subsystem for one site; returns its background tasks.
pub async fn start(ctx: &StartCtx) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let site = &ctx.site;
    let store = &ctx.state.store;
    let config = site.config();
    let path = secret_path(&ctx.data_dir, &site.id);
    let (key, created) = if path.exists() {
        (read_secret_file(&path)?, false)
    } else {
        let mut b = vec![0u8; 32];
        getrandom::fill(&mut b)
            .map_err(|e| format!("no randomness for the credential key: {e}"))?;
        (b, true)
    };
    let secret = SiteSecret::new(&key).map_err(|e| format!("{}: {e}", path.display()))?;
    let access_site =
        AccessSite::new(&config, params_for(&config), secret.clone()).map_err(|e| e.to_string())?;
    let mut inner = Inner {
        monitor: DoorMonitor::new(&access_site),
        site: access_site,
        config,
        state: AccessState::new(),
        doors: HashMap::new(),
    };
    let started = Instant::now();
    ensure_vault_index(store).await?;
    let index_ms = started.elapsed().as_millis();
    if index_ms > 1_000 {
        tracing::info!(site = %site.id, ms = index_ms as u64, "vault-log index built");
    }
    // Rebuild from the journal.
    let started = Instant::now();
    let (read, replayed, recorded_fingerprint) = replay(store, &site.id, &mut inner).await?;
    let fp = fingerprint(&key);
    if created && inner.state.credentials().next().is_some() {
        return Err(format!(
            "{} is missing but the journal holds credentials hashed with it; restore the file from a backup (a new key would lock every credential out)",
            path.display()
        ));
    }
    if !created
        && let Some(recorded) = &recorded_fingerprint
        && *recorded != fp
    {
        return Err(format!(
            "{} is not the credential key this site's journal was written with (fingerprint {fp}, journal says {recorded})",
            path.display()
        ));
    }
    if created {
        write_secret_file(&path, &key)?;
    }
    if created || recorded_fingerprint.is_none() {
        site.journal
            .append_one(
                Fact::new(SECRET_CREATED, Actor::System, ctx.state.clock.now_ms())
                    .with("fingerprint", fp)
                    .with("file", path.display().to_string()),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    tracing::info!(
        site = %site.id,
        read,
        replayed,
        ms = started.elapsed().as_millis() as u64,
        "access state rebuilt from the journal"
    );
    let rt = Arc::new(AccessRuntime {
        site: Arc::downgrade(site),
        site_id: site.id.clone(),
        journal: site.journal.clone(),
        store: store.clone(),
        clock: ctx.state.clock.clone(),
        secret,
        data_dir: ctx.data_dir.clone(),
        inner: tokio::sync::Mutex::new(inner),
        links: std::sync::Mutex::new(HashMap::new()),
    });
    if site.access.set(rt.clone()).is_err() {
        return Err("access control already started for this site".into());
    }
    let mut tasks = Vec::new();
    let ticker = rt.clone();
    tasks.push(tokio::spawn(async move {
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
    }));
    tasks.push(tokio::spawn(osdp_supervisor(rt)));
    Ok(tasks)
}

// ========================================================================================= OSDP

/// One OSDP line and the readers on it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LineSpec {
    channel: String,
    /// (reader id, address, SCBK file)
    readers: Vec<(String, u8, Option<PathBuf>)>,
}

fn resolve(data_dir: &FsPath, p: &str) -> PathBuf {
    let p = FsPath::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else {
        data_dir.join(p)
    }
}

fn line_specs(config: &SiteConfig, data_dir: &FsPath) -> BTreeMap<String, LineSpec> {
    let mut lines: BTreeMap<String, LineSpec> = BTreeMap::new();
    for r in &config.readers {
        let Some(link) = &r.osdp else { continue };
        lines
            .entry(link.channel.clone())
            .or_insert_with(|| LineSpec {
                channel: link.channel.clone(),
                readers: Vec::new(),
            })
            .readers
            .push((
                r.id.clone(),
                link.address,
                link.scbk_file.as_deref().map(|f| resolve(data_dir, f)),
            ));
    }
    lines
}

/// Starts, restarts and stops one driver task per OSDP line as the site file says.
async fn osdp_supervisor(rt: Arc<AccessRuntime>) {
    let mut running: BTreeMap<String, (LineSpec, tokio::task::JoinHandle<()>)> = BTreeMap::new();
    loop {
        let Some(site) = rt.site.upgrade() else {
            return;
        };
        let wanted = line_specs(&site.config(), &rt.data_dir);
        drop(site);
        running.retain(|ch, (spec, task)| {
            let keep = wanted.get(ch) == Some(spec) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        if let Ok(mut links) = rt.links.lock() {
            links.retain(|_, l| wanted.contains_key(&l.channel));
        }
        for (ch, spec) in wanted {
            if running.contains_key(&ch) {
                continue;
            }
            let task = tokio::spawn(run_line(rt.clone(), spec.clone()));
            running.insert(ch, (spec, task));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

fn load_scbk(path: &FsPath) -> Result<[u8; 16], String> {
    let bytes = read_secret_file(path)?;
    bytes
        .try_into()
        .map_err(|_| format!("{} must hold 16 bytes (32 hex digits)", path.display()))
}

enum Line {
    Tty(driver::TtyStream),
    Tcp(tokio::net::TcpStream),
}

async fn open_line(channel: &str, data_dir: &FsPath) -> Result<Line, String> {
    if let Some(path) = channel
        .strip_prefix("pty:")
        .or_else(|| channel.strip_prefix("serial:"))
    {
        // Serial line settings (speed, raw mode) must be set beforehand (stty, udev rule).
        let p = resolve(data_dir, path);
        return driver::open_tty(&p)
            .map(Line::Tty)
            .map_err(|e| format!("cannot open {}: {e}", p.display()));
    }
    if let Some(addr) = channel.strip_prefix("tcp:") {
        let s = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {addr} timed out"))?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = s.set_nodelay(true);
        return Ok(Line::Tcp(s));
    }
    Err(format!(
        "bad OSDP channel {channel:?}: expected pty:PATH, serial:DEVICE or tcp:HOST:PORT"
    ))
}

/// A card read waiting for its PIN.
struct PendingCard {
    card: String,
    deadline: tokio::time::Instant,
}

/// The card number a read stands for: `FAC:NUMBER` for a good 26-bit Wiegand read, else `H` +
/// bit count + `-` + the raw bits in hex.
fn card_number(
    bit_count: u16,
    data: &[u8],
    w26: Option<strongroom_osdp::message::Wiegand26>,
) -> String {
    match w26 {
        Some(w) if w.parity_ok => format!("{}:{}", w.facility, w.number),
        _ => format!("H{bit_count}-{}", hex::encode_upper(data)),
    }
}

/// The readers of a line with their keys; a reader whose key file is unusable is reported in
/// trouble and left out.
async fn line_readers(
    rt: &AccessRuntime,
    spec: &LineSpec,
) -> (Vec<ReaderConfig>, HashMap<u8, (String, bool)>) {
    let now = rt.clock.now_ms();
    let mut configs = Vec::new();
    let mut by_address = HashMap::new();
    for (reader, address, scbk) in &spec.readers {
        let key = match scbk {
            Some(p) => match load_scbk(p) {
                Ok(k) => ReaderKey::Commissioned(k),
                Err(e) => {
                    tracing::error!(reader, error = %e, "reader not started");
                    insert_link(rt, reader, &spec.channel, *address, true, now);
                    rt.reader_state(reader, "trouble", false, Some(e)).await;
                    continue;
                }
            },
            None => ReaderKey::Clear,
        };
        let commissioned = matches!(key, ReaderKey::Commissioned(_));
        insert_link(rt, reader, &spec.channel, *address, commissioned, now);
        by_address.insert(*address, (reader.clone(), commissioned));
        configs.push(ReaderConfig {
            address: *address,
            key,
        });
    }
    (configs, by_address)
}

/// Runs one OSDP line forever: open, drive, report, reconnect with backoff (a line that cannot
/// be configured, say for a bad key file, is retried every 30 s).
async fn run_line(rt: Arc<AccessRuntime>, spec: LineSpec) {
    const RETRY_CONFIG: Duration = Duration::from_secs(30);
    let mut backoff = Duration::from_secs(1);
    loop {
        let (configs, by_address) = line_readers(&rt, &spec).await;
        if configs.is_empty() {
            tokio::time::sleep(RETRY_CONFIG).await;
            continue;
        }
        let cp = match ControlPanel::new(CpConfig::default(), configs) {
            Ok(cp) => cp,
            Err(e) => {
                for (reader, _) in by_address.values() {
                    rt.reader_state(reader, "trouble", false, Some(e.to_string()))
                        .await;
                }
                tokio::time::sleep(RETRY_CONFIG).await;
                continue;
            }
        };
        let mut drv = match open_line(&spec.channel, &rt.data_dir).await {
            Ok(Line::Tty(t)) => driver::spawn(t, cp),
            Ok(Line::Tcp(t)) => driver::spawn(t, cp),
            Err(e) => {
                for (reader, _) in by_address.values() {
                    rt.reader_state(reader, "offline", false, Some(e.clone()))
                        .await;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        if let Ok(mut links) = rt.links.lock() {
            for (reader, _) in by_address.values() {
                if let Some(l) = links.get_mut(reader) {
                    l.handle = Some(drv.handle.clone());
                }
            }
        }
        let session_start = Instant::now();
        let mut pending: HashMap<u8, PendingCard> = HashMap::new();
        let mut digits: HashMap<u8, (String, tokio::time::Instant)> = HashMap::new();
        loop {
            let next_deadline = pending
                .values()
                .map(|p| p.deadline)
                .chain(digits.values().map(|d| d.1))
                .min();
            let sleep = async {
                match next_deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                ev = drv.events.recv() => {
                    let Some(ev) = ev else { break };
                    handle_event(&rt, &by_address, &mut pending, &mut digits, ev).await;
                }
                () = sleep => {
                    let now = tokio::time::Instant::now();
                    digits.retain(|_, d| d.1 > now);
                    let due: Vec<u8> = pending.iter().filter(|(_, p)| p.deadline <= now).map(|(a, _)| *a).collect();
                    for a in due {
                        if let (Some(p), Some((reader, _))) = (pending.remove(&a), by_address.get(&a)) {
                            // No PIN came: decide on the card alone (a card+PIN credential is refused).
                            let _ = rt.present(reader, Some(p.card), None, Source::Osdp).await;
                        }
                    }
                }
            }
        }
        let end = drv.task.await;
        if let Ok(mut links) = rt.links.lock() {
            for (reader, _) in by_address.values() {
                if let Some(l) = links.get_mut(reader) {
                    l.handle = None;
                }
            }
        }
        let reason = match end {
            Ok(Ok(())) => "driver stopped".to_owned(),
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("driver task failed: {e}"),
        };
        for (reader, _) in by_address.values() {
            rt.reader_state(reader, "offline", false, Some(reason.clone()))
                .await;
        }
        if session_start.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_secs(1);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// Registers a reader's link (keeping the state it last reported, so reports stay changes).
fn insert_link(
    rt: &AccessRuntime,
    reader: &str,
    channel: &str,
    address: u8,
    commissioned: bool,
    now: i64,
) {
    if let Ok(mut m) = rt.links.lock() {
        m.entry(reader.to_owned())
            .and_modify(|l| {
                l.channel = channel.to_owned();
                l.address = address;
                l.commissioned = commissioned;
            })
            .or_insert_with(|| ReaderLink {
                channel: channel.to_owned(),
                address,
                commissioned,
                state: "connecting".into(),
                secure: false,
                since_ms: now,
                detail: None,
                handle: None,
            });
    }
}

async fn handle_event(
    rt: &AccessRuntime,
    by_address: &HashMap<u8, (String, bool)>,
    pending: &mut HashMap<u8, PendingCard>,
    digits: &mut HashMap<u8, (String, tokio::time::Instant)>,
    ev: CpEvent,
) {
    let address = match &ev {
        CpEvent::ReaderOnline { address }
        | CpEvent::ReaderOffline { address }
        | CpEvent::Identified { address, .. }
        | CpEvent::SecureChannelUp { address, .. }
        | CpEvent::SecureChannelDown { address, .. }
        | CpEvent::SecureChannelFailed { address, .. }
        | CpEvent::CardRead { address, .. }
        | CpEvent::Keypad { address, .. }
        | CpEvent::Tamper { address, .. }
        | CpEvent::Power { address, .. }
        | CpEvent::CommandAcked { address, .. }
        | CpEvent::CommandNaked { address, .. }
        | CpEvent::CommandFailed { address, .. }
        | CpEvent::KeyChanged { address }
        | CpEvent::ProtocolError { address, .. } => *address,
    };
    let Some((reader, commissioned)) = by_address.get(&address) else {
        tracing::warn!(address, "event from an OSDP address not in the site file");
        return;
    };
    let (reader, commissioned) = (reader.as_str(), *commissioned);
    let secure_now = || {
        rt.links
            .lock()
            .ok()
            .and_then(|m| m.get(reader).map(|l| l.secure))
            .unwrap_or(false)
    };
    match ev {
        CpEvent::ReaderOnline { .. } => rt.reader_state(reader, "online", false, None).await,
        CpEvent::ReaderOffline { .. } => {
            pending.remove(&address);
            digits.remove(&address);
            rt.reader_state(
                reader,
                "offline",
                false,
                Some("reader stopped answering".into()),
            )
            .await;
        }
        CpEvent::SecureChannelUp { install_key, .. } => {
            let detail = install_key.then(|| "install-mode key (SCBK-D)".to_owned());
            rt.reader_state(reader, "online", true, detail).await;
        }
        CpEvent::SecureChannelDown { reason, .. } => {
            let offline = rt
                .links
                .lock()
                .ok()
                .and_then(|m| m.get(reader).map(|l| l.state == "offline"))
                .unwrap_or(false);
            // A reader that went offline lost its channel with it: offline says it all.
            if !offline {
                rt.reader_state(
                    reader,
                    "trouble",
                    false,
                    Some(format!("secure channel down: {reason}")),
                )
                .await;
            }
        }
        CpEvent::SecureChannelFailed { reason, .. } => {
            rt.reader_state(
                reader,
                "trouble",
                false,
                Some(format!("secure channel failed: {reason}")),
            )
            .await;
        }
        CpEvent::Tamper { active, .. } => {
            let state = if active { "tamper" } else { "online" };
            rt.reader_state(
                reader,
                state,
                secure_now(),
                active.then(|| "tamper switch".to_owned()),
            )
            .await;
        }
        CpEvent::Power { failure, .. } => {
            let state = if failure { "trouble" } else { "online" };
            rt.reader_state(
                reader,
                state,
                secure_now(),
                failure.then(|| "power failure".to_owned()),
            )
            .await;
        }
        CpEvent::CardRead {
            bit_count,
            data,
            wiegand26,
            secure,
            ..
        } => {
            if commissioned && !secure {
                rt.refuse_read(reader, "not_secure").await;
                return;
            }
            let card = card_number(bit_count, &data, wiegand26);
            digits.remove(&address);
            if rt.card_needs_pin(reader, &card).await {
                pending.insert(
                    address,
                    PendingCard {
                        card,
                        deadline: tokio::time::Instant::now() + PIN_WAIT,
                    },
                );
            } else {
                pending.remove(&address);
                let _ = rt.present(reader, Some(card), None, Source::Osdp).await;
            }
        }
        CpEvent::Keypad {
            digits: keys,
            secure,
            ..
        } => {
            if commissioned && !secure {
                digits.remove(&address);
                pending.remove(&address);
                rt.refuse_read(reader, "not_secure").await;
                return;
            }
            let deadline = tokio::time::Instant::now() + PIN_WAIT;
            for c in keys.chars() {
                match c {
                    '*' => {
                        digits.remove(&address);
                    }
                    '#' => {
                        let pin = digits.remove(&address).map(|d| d.0).unwrap_or_default();
                        let card = pending.remove(&address).map(|p| p.card);
                        let _ = rt
                            .present(
                                reader,
                                card,
                                Some(pin).filter(|p| !p.is_empty()),
                                Source::Osdp,
                            )
                            .await;
                    }
                    c if c.is_ascii_digit() => {
                        let d = digits.entry(address).or_insert((String::new(), deadline));
                        d.1 = deadline;
                        if d.0.len() < 16 {
                            d.0.push(c);
                        }
                    }
                    _ => {}
                }
            }
        }
        CpEvent::CommandNaked {
            command, reason, ..
        } => {
            tracing::warn!(reader, ?command, ?reason, "reader refused a command");
        }
        CpEvent::CommandFailed {
            command, reason, ..
        } => {
            tracing::warn!(reader, ?command, %reason, "reader command dropped");
        }
        CpEvent::ProtocolError { detail, .. } => {
            tracing::warn!(reader, %detail, "OSDP protocol error");
        }
        CpEvent::Identified { .. } | CpEvent::CommandAcked { .. } | CpEvent::KeyChanged { .. } => {}
    }
}

// ========================================================================================== API

/// A JSON body that may be absent (an empty body reads as the default).
struct OptBody<T>(T);

impl<T, S> axum::extract::FromRequest<S> for OptBody<T>
where
    T: serde::de::DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptBody(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptBody)
            .map_err(|e| ApiError::BadRequest(format!("bad JSON body: {e}")))
    }
}

/// Authorizes a read that only holders of a write permission may make (listing people needs
/// people-manage) without asking a GET for the CSRF header; a refusal is journaled as usual.
async fn authorize_read(session: &Session, site: &str, p: Permission) -> Result<SiteCtx, ApiError> {
    let ctx = session.authorize(site, Permission::SiteView).await?;
    if ctx.can(p) {
        Ok(ctx)
    } else {
        session.authorize(site, p).await
    }
}

fn runtime(ctx: &SiteCtx) -> Result<Arc<AccessRuntime>, ApiError> {
    ctx.site
        .access
        .get()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("access control is not running for this site".into()))
}

const P: &str = "/api/v1/sites/{site}/access";

/// This subsystem's routes.
pub fn routes() -> Router<AppState> {
    let r = |s: &str| format!("{P}{s}");
    Router::new()
        .route(&r("/people"), get(list_people).post(add_person))
        .route(&r("/people/{person}"), get(get_person).patch(update_person))
        .route(&r("/people/{person}/status"), post(set_person_status))
        .route(&r("/people/{person}/credentials"), post(issue_credential))
        .route(&r("/people/{person}/authorizations"), post(authorize_area))
        .route(
            &r("/people/{person}/authorizations/{area}"),
            delete(deauthorize_area),
        )
        .route(&r("/credentials"), get(list_credentials))
        .route(
            &r("/credentials/{credential}/{action}"),
            post(change_credential),
        )
        .route(&r("/vendors"), get(list_vendors))
        .route(&r("/vendors/{person}/approve"), post(approve_vendor))
        .route(&r("/vendors/{person}/remove"), post(remove_vendor))
        .route(&r("/secrets"), get(list_secrets).post(register_secret))
        .route(&r("/secrets/{secret}/holders"), post(add_secret_holder))
        .route(
            &r("/secrets/{secret}/holders/{person}"),
            delete(remove_secret_holder),
        )
        .route(&r("/secrets/{secret}/changed"), post(secret_changed))
        .route(&r("/lockdown"), get(lockdown_status).post(start_lockdown))
        .route(&r("/lockdown/end"), post(end_lockdown))
        .route(&r("/requests"), post(access_request))
        .route(&r("/exits"), post(exit_request))
        .route(&r("/doors"), get(doors))
        .route(&r("/doors/{door}/release"), post(staff_release))
        .route(&r("/emergency-override"), post(emergency_override))
        .route(
            &r("/keypads/{reader}/clear-lockout"),
            post(clear_keypad_lockout),
        )
        .route(&r("/occupancy"), get(occupancy))
        .route(&r("/occupancy/reset"), post(reset_occupancy))
        .route(&r("/records"), get(access_records))
        .route(&r("/vault-log"), get(vault_log))
        .route(&r("/vault-log/manual-entries"), post(manual_vault_entry))
        .route(&r("/vault-code-holders"), get(vault_code_holders))
        .route(&r("/surveillance-access"), get(surveillance_access))
}

/// Every route of this module: (method, path, permission, summary), for the OpenAPI document.
pub const ROUTES: &[(&str, &str, &str, &str)] = &[
    (
        "get",
        "/access/people",
        "people-manage",
        "People (agents, visitors, vendors) with status, roles, authorizations",
    ),
    (
        "post",
        "/access/people",
        "people-manage",
        "Register a person",
    ),
    (
        "get",
        "/access/people/{person}",
        "people-manage",
        "One person with credentials (no card number or PIN)",
    ),
    (
        "patch",
        "/access/people/{person}",
        "people-manage",
        "Change name, roles, agent badge",
    ),
    (
        "post",
        "/access/people/{person}/status",
        "people-manage",
        "Set status active/suspended/terminated (termination revokes every credential)",
    ),
    (
        "post",
        "/access/people/{person}/credentials",
        "credentials-manage",
        "Issue a card, PIN, card+PIN or duress PIN (PINs unique; 409 if taken)",
    ),
    (
        "post",
        "/access/people/{person}/authorizations",
        "people-manage",
        "Authorise an area on a schedule",
    ),
    (
        "delete",
        "/access/people/{person}/authorizations/{area}",
        "people-manage",
        "Withdraw an area authorization",
    ),
    (
        "get",
        "/access/credentials",
        "credentials-manage",
        "Credentials (id, holder, kind, status, last 4 of card)",
    ),
    (
        "post",
        "/access/credentials/{credential}/{action}",
        "credentials-manage",
        "suspend | reinstate | revoke a credential (takes effect at once)",
    ),
    (
        "get",
        "/access/vendors",
        "reports-view",
        "Approved vendor / service professional list with status",
    ),
    (
        "post",
        "/access/vendors/{person}/approve",
        "people-manage",
        "Approve a vendor with the regulator's reference",
    ),
    (
        "post",
        "/access/vendors/{person}/remove",
        "people-manage",
        "Take a vendor off the approved list",
    ),
    (
        "get",
        "/access/secrets",
        "credentials-manage",
        "Registered secrets (vault codes, combinations) and their holders",
    ),
    (
        "post",
        "/access/secrets",
        "credentials-manage",
        "Register a secret (never its value)",
    ),
    (
        "post",
        "/access/secrets/{secret}/holders",
        "credentials-manage",
        "Record a holder (active agents only)",
    ),
    (
        "delete",
        "/access/secrets/{secret}/holders/{person}",
        "credentials-manage",
        "Remove a holder",
    ),
    (
        "post",
        "/access/secrets/{secret}/changed",
        "credentials-manage",
        "Record a changed secret and its new holders",
    ),
    ("get", "/access/lockdown", "site-view", "Lockdown status"),
    (
        "post",
        "/access/lockdown",
        "doors-control",
        "Start a lockdown",
    ),
    (
        "post",
        "/access/lockdown/end",
        "doors-control",
        "End the lockdown",
    ),
    (
        "post",
        "/access/requests",
        "doors-control",
        "A non-OSDP controller presents card and/or PIN at a reader; answered after the decision is durable",
    ),
    (
        "post",
        "/access/exits",
        "doors-control",
        "Report an exit (request-to-exit or controller)",
    ),
    (
        "get",
        "/access/doors",
        "site-view",
        "Doors with live state (door monitor) and reader links",
    ),
    (
        "post",
        "/access/doors/{door}/release",
        "doors-control",
        "Staff release of a door (AC-01), optionally admitting anonymous people",
    ),
    (
        "post",
        "/access/emergency-override",
        "doors-control",
        "Emergency admission of an unapproved service professional (IL 1291.300(h))",
    ),
    (
        "post",
        "/access/keypads/{reader}/clear-lockout",
        "doors-control",
        "Clear a keypad lockout",
    ),
    (
        "get",
        "/access/occupancy",
        "site-view",
        "Occupancy per area with capacity",
    ),
    (
        "post",
        "/access/occupancy/reset",
        "doors-control",
        "Forget where a person (or everyone) is after a missed exit",
    ),
    (
        "get",
        "/access/records",
        "reports-view",
        "Access records for restricted areas (person, area, from_ms, to_ms; at most 31 days)",
    ),
    (
        "get",
        "/access/vault-log",
        "reports-view",
        "Daily vault log for a local date (?date=YYYY-MM-DD&format=json|csv|html|pdf)",
    ),
    (
        "post",
        "/access/vault-log/manual-entries",
        "compliance-manage",
        "Record a vault entry that left no electronic record",
    ),
    (
        "get",
        "/access/vault-code-holders",
        "reports-view",
        "Who knows vault/safe codes and who may open the vault (?format=json|csv|html|pdf)",
    ),
    (
        "get",
        "/access/surveillance-access",
        "reports-view",
        "Who may enter the surveillance room (?format=json|csv|html|pdf)",
    ),
];

/// A 201 answer naming the journal events that recorded the change (not their payloads: a
/// credential's payload holds its keyed hashes, which no answer hands out).
fn created(events: &[Arc<JournalEvent>], extra: Value) -> (StatusCode, Json<Value>) {
    let mut v = extra;
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "events".into(),
            Value::Array(
                events
                    .iter()
                    .map(|e| json!({"seq": e.seq, "kind": e.kind, "time_ms": e.time_ms}))
                    .collect(),
            ),
        );
    }
    (StatusCode::CREATED, Json(v))
}

fn credential_json(c: &Credential) -> Value {
    json!({
        "id": c.id,
        "person": c.person,
        "kind": c.kind,
        "status": c.status,
        "card_last4": c.card_last4,
        "expires_ms": c.expires_ms,
        "issued_ms": c.issued_ms,
    })
}

fn person_json(p: &Person, state: &AccessState) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "credentials".into(),
            Value::Array(
                p.credentials
                    .iter()
                    .filter_map(|c| state.credential(c))
                    .map(credential_json)
                    .collect(),
            ),
        );
        o.insert("location".into(), json!(state.location(&p.id)));
    }
    v
}

async fn list_people(session: Session, Path(site): Path<String>) -> Result<Json<Value>, ApiError> {
    let ctx = authorize_read(&session, &site, Permission::PeopleManage).await?;
    let rt = runtime(&ctx)?;
    let people = rt
        .read(|_, st| st.people().map(|p| person_json(p, st)).collect::<Vec<_>>())
        .await;
    Ok(Json(json!({ "people": people })))
}

async fn get_person(
    session: Session,
    Path((site, person)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let ctx = authorize_read(&session, &site, Permission::PeopleManage).await?;
    let rt = runtime(&ctx)?;
    rt.read(|_, st| st.person(&person).map(|p| person_json(p, st)))
        .await
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("person {person:?}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonBody {
    id: String,
    category: PersonCategory,
    name: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    badge_expires_ms: Option<i64>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    service_type: Option<String>,
    #[serde(default)]
    contact: Option<String>,
}

async fn add_person(
    session: Session,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<PersonBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::PeopleManage).await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::AddPerson(NewPerson {
        id: b.id.clone(),
        category: b.category,
        name: b.name,
        roles: b.roles,
        agent_id: b.agent_id,
        badge_expires_ms: b.badge_expires_ms,
        company: b.company,
        service_type: b.service_type,
        contact: b.contact,
    });
    let events = rt.command(&cmd, &ctx.actor).await?;
    let person = rt
        .read(|_, st| st.person(&b.id).map(|p| person_json(p, st)))
        .await;
    Ok(created(&events, json!({ "person": person })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    badge_expires_ms: Option<i64>,
}

async fn update_person(
    session: Session,
    Path((site, person)): Path<(String, String)>,
    JsonBody(b): JsonBody<UpdateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::PeopleManage).await?;
    let rt = runtime(&ctx)?;
    let u = strongroom_access::payload::PersonUpdated {
        person,
        name: b.name,
        roles: b.roles,
        agent_id: b.agent_id,
        badge_expires_ms: b.badge_expires_ms,
    };
    let events = rt.command(&Command::UpdatePerson(u), &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: PersonStatus,
    #[serde(default)]
    reason: String,
}

async fn set_person_status(
    session: Session,
    Path((site, person)): Path<(String, String)>,
    JsonBody(b): JsonBody<StatusBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::PeopleManage).await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::SetPersonStatus {
        person,
        status: b.status,
        reason: b.reason,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialBody {
    kind: CredentialKind,
    #[serde(default)]
    card: Option<String>,
    #[serde(default)]
    pin: Option<String>,
    #[serde(default)]
    expires_ms: Option<i64>,
    #[serde(default)]
    replaces: Option<String>,
}

async fn issue_credential(
    session: Session,
    Path((site, person)): Path<(String, String)>,
    JsonBody(b): JsonBody<CredentialBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::CredentialsManage)
        .await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::IssueCredential(NewCredential {
        person,
        kind: b.kind,
        card: b.card,
        pin: b.pin,
        expires_ms: b.expires_ms,
        replaces: b.replaces,
    });
    let events = rt.command(&cmd, &ctx.actor).await?;
    let id = events
        .iter()
        .find(|e| e.kind == k::CREDENTIAL_ISSUED)
        .and_then(|e| fact_of(e))
        .and_then(|f| f.payload.get("credential")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    let cred = rt
        .read(|_, st| st.credential(&id).map(credential_json))
        .await;
    Ok(created(&events, json!({ "credential": cred })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizeBody {
    area: String,
    #[serde(default = "always")]
    schedule: Schedule,
    #[serde(default)]
    valid_until_ms: Option<i64>,
}

fn always() -> Schedule {
    Schedule::Always
}

async fn authorize_area(
    session: Session,
    Path((site, person)): Path<(String, String)>,
    JsonBody(b): JsonBody<AuthorizeBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::PeopleManage).await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::AuthorizeArea {
        person,
        area: b.area,
        schedule: b.schedule,
        valid_until_ms: b.valid_until_ms,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonQuery {
    #[serde(default)]
    reason: Option<String>,
}

async fn deauthorize_area(
    session: Session,
    Path((site, person, area)): Path<(String, String, String)>,
    query: Result<Query<ReasonQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ctx = session.authorize(&site, Permission::PeopleManage).await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::DeauthorizeArea {
        person,
        area,
        reason: q.reason.unwrap_or_else(|| "withdrawn".into()),
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

async fn list_credentials(
    session: Session,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = authorize_read(&session, &site, Permission::CredentialsManage).await?;
    let rt = runtime(&ctx)?;
    let list = rt
        .read(|_, st| st.credentials().map(credential_json).collect::<Vec<_>>())
        .await;
    Ok(Json(json!({ "credentials": list })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: String,
}

async fn change_credential(
    session: Session,
    Path((site, credential, action)): Path<(String, String, String)>,
    OptBody(body): OptBody<ReasonBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::CredentialsManage)
        .await?;
    let rt = runtime(&ctx)?;
    let reason = body.reason;
    let cmd = match action.as_str() {
        "suspend" => Command::SuspendCredential { credential, reason },
        "reinstate" => Command::ReinstateCredential { credential, reason },
        "revoke" => Command::RevokeCredential { credential, reason },
        other => {
            return Err(ApiError::NotFound(format!(
                "credential action {other:?} (expected suspend, reinstate or revoke)"
            )));
        }
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

async fn list_vendors(session: Session, Path(site): Path<String>) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    let rt = runtime(&ctx)?;
    let list = rt
        .read(|_, st| {
            st.people()
                .filter(|p| p.category.needs_vendor_approval())
                .map(|p| {
                    json!({
                        "person": p.id, "name": p.name, "category": p.category, "status": p.status,
                        "vendor": p.vendor,
                    })
                })
                .collect::<Vec<_>>()
        })
        .await;
    Ok(Json(json!({ "vendors": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    approval_ref: String,
}

async fn approve_vendor(
    session: Session,
    Path((site, person)): Path<(String, String)>,
    JsonBody(b): JsonBody<ApproveBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::PeopleManage).await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::ApproveVendor {
        person,
        approval_ref: b.approval_ref,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

async fn remove_vendor(
    session: Session,
    Path((site, person)): Path<(String, String)>,
    OptBody(body): OptBody<ReasonBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::PeopleManage).await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::RemoveVendor {
        person,
        reason: body.reason,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

async fn list_secrets(session: Session, Path(site): Path<String>) -> Result<Json<Value>, ApiError> {
    let ctx = authorize_read(&session, &site, Permission::CredentialsManage).await?;
    let rt = runtime(&ctx)?;
    let list = rt
        .read(|_, st| st.secrets().cloned().collect::<Vec<_>>())
        .await;
    Ok(Json(json!({ "secrets": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretBody {
    secret: String,
    label: String,
    kind: SecretKind,
    #[serde(default)]
    area: Option<String>,
}

async fn register_secret(
    session: Session,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<SecretBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::CredentialsManage)
        .await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::RegisterSecret {
        secret: b.secret,
        label: b.label,
        kind: b.kind,
        area: b.area,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolderBody {
    person: String,
}

async fn add_secret_holder(
    session: Session,
    Path((site, secret)): Path<(String, String)>,
    JsonBody(b): JsonBody<HolderBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::CredentialsManage)
        .await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::AddSecretHolder {
        secret,
        person: b.person,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

async fn remove_secret_holder(
    session: Session,
    Path((site, secret, person)): Path<(String, String, String)>,
    query: Result<Query<ReasonQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ctx = session
        .authorize(&site, Permission::CredentialsManage)
        .await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::RemoveSecretHolder {
        secret,
        person,
        reason: q.reason.unwrap_or_default(),
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretChangedBody {
    holders: Vec<String>,
    #[serde(default)]
    reason: String,
}

async fn secret_changed(
    session: Session,
    Path((site, secret)): Path<(String, String)>,
    JsonBody(b): JsonBody<SecretChangedBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::CredentialsManage)
        .await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::ChangeSecret {
        secret,
        holders: b.holders,
        reason: b.reason,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

async fn lockdown_status(
    session: Session,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::SiteView).await?;
    let rt = runtime(&ctx)?;
    let l = rt.read(|_, st| st.lockdown().cloned()).await;
    Ok(Json(json!({ "active": l.is_some(), "lockdown": l })))
}

async fn start_lockdown(
    session: Session,
    Path(site): Path<String>,
    OptBody(body): OptBody<ReasonBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::DoorsControl).await?;
    let rt = runtime(&ctx)?;
    let reason = body.reason;
    let events = rt
        .command(&Command::StartLockdown { reason }, &ctx.actor)
        .await?;
    Ok(created(&events, json!({"active": true})))
}

async fn end_lockdown(
    session: Session,
    Path(site): Path<String>,
    OptBody(body): OptBody<ReasonBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::DoorsControl).await?;
    let rt = runtime(&ctx)?;
    let reason = body.reason;
    let events = rt
        .command(&Command::EndLockdown { reason }, &ctx.actor)
        .await?;
    Ok(created(&events, json!({"active": false})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    reader: String,
    #[serde(default)]
    card: Option<String>,
    #[serde(default)]
    pin: Option<String>,
}

/// A controller presents a card and/or PIN. The answer (200 whatever the outcome) is sent only
/// after the decision's facts are durable; a journal failure is a 503 and the door stays shut.
async fn access_request(
    session: Session,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<RequestBody>,
) -> Result<Json<Answer>, ApiError> {
    let ctx = session.authorize(&site, Permission::DoorsControl).await?;
    let rt = runtime(&ctx)?;
    let answer = rt.present(&b.reader, b.card, b.pin, Source::Api).await?;
    Ok(Json(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExitBody {
    door: String,
    #[serde(default)]
    person: Option<String>,
    #[serde(default)]
    rex: bool,
}

async fn exit_request(
    session: Session,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<ExitBody>,
) -> Result<Json<Answer>, ApiError> {
    let ctx = session.authorize(&site, Permission::DoorsControl).await?;
    let rt = runtime(&ctx)?;
    let req = Request::Exit {
        door: b.door,
        person: b.person,
        source: if b.rex {
            ExitSource::Rex
        } else {
            ExitSource::Api
        },
    };
    Ok(Json(rt.decide(&req).await?.1))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReleaseBody {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    admits: u32,
}

async fn staff_release(
    session: Session,
    Path((site, door)): Path<(String, String)>,
    OptBody(body): OptBody<ReleaseBody>,
) -> Result<Json<Answer>, ApiError> {
    let ctx = session.authorize(&site, Permission::DoorsControl).await?;
    let rt = runtime(&ctx)?;
    let b = body;
    let req = Request::StaffRelease {
        door,
        user: session.user.name.clone(),
        reason: b.reason,
        admits: b.admits,
    };
    Ok(Json(rt.decide(&req).await?.1))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GoodFaithBody {
    time_ms: i64,
    channel: String,
    contact: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    door: String,
    person: String,
    approver: String,
    description: String,
    #[serde(default)]
    good_faith: Option<GoodFaithBody>,
}

async fn emergency_override(
    session: Session,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<OverrideBody>,
) -> Result<Json<Answer>, ApiError> {
    let ctx = session.authorize(&site, Permission::DoorsControl).await?;
    let rt = runtime(&ctx)?;
    let req = Request::EmergencyOverride(EmergencyOverride {
        door: b.door,
        person: b.person,
        approver: b.approver,
        description: b.description,
        good_faith: b.good_faith.map(|g| GoodFaithAttempt {
            time_ms: g.time_ms,
            channel: g.channel,
            contact: g.contact,
        }),
    });
    Ok(Json(rt.decide(&req).await?.1))
}

async fn clear_keypad_lockout(
    session: Session,
    Path((site, reader)): Path<(String, String)>,
    OptBody(body): OptBody<ReasonBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::DoorsControl).await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::ClearKeypadLockout {
        reader,
        reason: body.reason,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

async fn doors(session: Session, Path(site): Path<String>) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::SiteView).await?;
    let rt = runtime(&ctx)?;
    let links = rt.links.lock().map(|m| m.clone()).unwrap_or_default();
    let config = ctx.site.config();
    let g = rt.lock().await;
    let lockdown = g.state.lockdown().cloned();
    let list: Vec<Value> = g
        .site
        .doors
        .iter()
        .map(|d| {
            let view = g.doors.get(&d.id).cloned().unwrap_or_default();
            let readers: Vec<Value> = config
                .readers
                .iter()
                .filter(|r| r.door == d.id)
                .map(|r| {
                    let link = links.get(&r.id);
                    json!({
                        "id": r.id, "name": r.name, "direction": r.direction, "keypad": r.keypad,
                        "osdp": link,
                        "keypad_locked_until_ms": g.state.keypad_locked_until(&r.id),
                    })
                })
                .collect();
            json!({
                "id": d.id, "name": d.name, "from": d.from, "to": d.to, "to_kind": d.to_kind,
                "open": g.monitor.is_open(&d.id), "forced": g.monitor.is_forced(&d.id),
                "held_open": view.held_open, "left_unlocked": view.left_unlocked,
                "locked": view.locked, "since_ms": view.since_ms, "last_grant_ms": view.last_grant_ms,
                "last_alarm": view.last_alarm, "last_alarm_ms": view.last_alarm_ms,
                "unlock_s": d.unlock_s, "held_open_limit_s": d.held_open_limit_s,
                "card_and_pin": d.card_and_pin, "two_person": d.two_person,
                "locked_down": lockdown.is_some() && d.is_restricted(),
                "readers": readers,
            })
        })
        .collect();
    Ok(Json(json!({ "doors": list, "lockdown": lockdown })))
}

async fn occupancy(session: Session, Path(site): Path<String>) -> Result<Json<Value>, ApiError> {
    let ctx = session.authorize(&site, Permission::SiteView).await?;
    let names = ctx.can(Permission::PeopleManage);
    let rt = runtime(&ctx)?;
    let config = ctx.site.config();
    let list = rt
        .read(|_, st| {
            config
                .areas
                .iter()
                .map(|a| {
                    let count = st.occupancy(&a.id);
                    let mut v = json!({
                        "area": a.id, "name": a.name, "kind": a.kind, "capacity": a.capacity,
                        "count": count,
                        "at_capacity": a.capacity.is_some_and(|c| count >= c),
                    });
                    if names {
                        v["people"] = json!(st.people_in(&a.id));
                    }
                    v
                })
                .collect::<Vec<_>>()
        })
        .await;
    Ok(Json(json!({ "areas": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    #[serde(default)]
    person: Option<String>,
    #[serde(default)]
    reason: String,
}

async fn reset_occupancy(
    session: Session,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<ResetBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session.authorize(&site, Permission::DoorsControl).await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::ResetOccupancy {
        person: b.person,
        reason: b.reason,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsQuery {
    #[serde(default)]
    person: Option<String>,
    #[serde(default)]
    area: Option<String>,
    #[serde(default)]
    from_ms: Option<i64>,
    #[serde(default)]
    to_ms: Option<i64>,
}

const MAX_RECORDS_SPAN_MS: i64 = 31 * 86_400_000;

async fn access_records(
    session: Session,
    Path(site): Path<String>,
    query: Result<Query<RecordsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    let rt = runtime(&ctx)?;
    let to = q.to_ms.unwrap_or_else(|| rt.clock.now_ms() + 1);
    let from = q.from_ms.unwrap_or(to - 86_400_000);
    if to <= from || to - from > MAX_RECORDS_SPAN_MS {
        return Err(ApiError::BadRequest(
            "from_ms must be before to_ms, at most 31 days apart".into(),
        ));
    }
    let mut facts: Vec<(u64, Fact)> = Vec::new();
    for prefix in ["access.", "door."] {
        let evs = rt
            .store
            .events_by_kind_and_time(&rt.site_id, prefix, from, to)
            .await?;
        facts.extend(evs.iter().filter_map(|e| Some((e.seq, fact_of(e)?))));
    }
    facts.sort_by_key(|(s, _)| *s);
    let facts: Vec<Fact> = facts.into_iter().map(|(_, f)| f).collect();
    let list = records::access_records(
        &facts,
        &records::RecordQuery {
            person: q.person,
            area: q.area,
            from_ms: Some(from),
            to_ms: Some(to),
            secured_only: true,
        },
    );
    Ok(Json(json!({ "records": list })))
}

// ----- reports -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

/// `json` or a report format.
fn parse_format(f: Option<&str>) -> Result<Option<Format>, ApiError> {
    match f {
        None | Some("json") => Ok(None),
        Some(s) => s
            .parse::<Format>()
            .map(Some)
            .map_err(|e| ApiError::BadRequest(e.to_string())),
    }
}

fn file_response(body: Vec<u8>, format: Format, name: &str) -> Response {
    let disposition = if format == Format::Html {
        format!("inline; filename=\"{name}.{}\"", format.extension())
    } else {
        format!("attachment; filename=\"{name}.{}\"", format.extension())
    };
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// The predicate of the vault-log index: grants and exits with a vault on either side, except
/// openings of a currency safe inside the vault (they do not move anyone in or out of the vault).
/// One literal, so the index and the queries carry exactly the same terms (that is how both
/// planners see that the partial index applies).
macro_rules! vault_predicate {
    () => {
        r#"kind IN ('access.granted', 'access.exit') AND payload LIKE '%kind":"vault"%' AND payload NOT LIKE '%"enters_kind":"currency_safe"%'"#
    };
}
/// A partial index on the journal holding only the vault-door facts, so a day's vault log reads a
/// few dozen index entries however many events the day holds (the journal's own
/// `(site_id, kind, time_ms)` index would visit every grant of the day and filter the payloads
/// row by row). SQLite and PostgreSQL both support it; it is created at start (`IF NOT EXISTS`;
/// one pass over an existing journal) and then kept by the database on every insert.
const VAULT_INDEX_SQL: &str = concat!(
    "CREATE INDEX IF NOT EXISTS journal_vault_access ON journal (site_id, time_ms) WHERE ",
    vault_predicate!()
);
/// The vault facts of a time range. SQLite's planner, without statistics, prefers
/// `journal_kind_time`, so it is told which index to use.
const VAULT_FACTS_SQLITE: &str = concat!(
    "SELECT seq, time_ms, kind, actor, payload FROM journal INDEXED BY journal_vault_access WHERE site_id = $1 AND time_ms >= $2 AND time_ms < $3 AND ",
    vault_predicate!()
);
const VAULT_FACTS_POSTGRES: &str = concat!(
    "SELECT seq, time_ms, kind, actor, payload FROM journal WHERE site_id = $1 AND time_ms >= $2 AND time_ms < $3 AND ",
    vault_predicate!()
);
const MANUAL_FACTS: &str = "SELECT seq, time_ms, kind, actor, payload FROM journal WHERE site_id = $1 AND kind = $2 AND time_ms >= $3";

/// Creates the vault-log index if it is missing.
pub async fn ensure_vault_index(store: &Store) -> Result<(), String> {
    sqlx::query(VAULT_INDEX_SQL)
        .execute(store.pool())
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot create the vault-log index: {e}"))
}

/// The facts the vault log of `[from_ms, to_ms)` needs: grants into or out of a vault and exits
/// from one in the day (plus a day after, for the times out), and manual entries recorded since
/// the day began, in journal order. Served by the `journal_vault_access` partial index.
pub async fn vault_log_facts(
    store: &Store,
    site_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Fact>, ApiError> {
    let db = |e: sqlx::Error| ApiError::Internal(e.to_string());
    let vault_sql = match store.backend() {
        strongroom_store::Backend::Sqlite => VAULT_FACTS_SQLITE,
        strongroom_store::Backend::Postgres => VAULT_FACTS_POSTGRES,
    };
    let mut rows = sqlx::query(vault_sql)
        .bind(site_id)
        .bind(from_ms)
        .bind(to_ms.saturating_add(86_400_000))
        .fetch_all(store.pool())
        .await
        .map_err(db)?;
    rows.extend(
        sqlx::query(MANUAL_FACTS)
            .bind(site_id)
            .bind(k::VAULT_MANUAL_ENTRY)
            .bind(from_ms)
            .fetch_all(store.pool())
            .await
            .map_err(db)?,
    );
    let mut facts: Vec<(i64, Fact)> = Vec::with_capacity(rows.len());
    for r in &rows {
        let seq: i64 = r.try_get("seq").map_err(db)?;
        let payload: String = r.try_get("payload").map_err(db)?;
        let Ok(Value::Object(payload)) = serde_json::from_str::<Value>(&payload) else {
            continue;
        };
        let actor: String = r.try_get("actor").map_err(db)?;
        facts.push((
            seq,
            Fact {
                kind: r.try_get("kind").map_err(db)?,
                actor: actor.parse().unwrap_or(Actor::System),
                time_ms: r.try_get("time_ms").map_err(db)?,
                payload,
            },
        ));
    }
    facts.sort_by_key(|(s, _)| *s);
    Ok(facts.into_iter().map(|(_, f)| f).collect())
}

/// The local day `[start, end)` in epoch ms.
fn day_bounds(date: jiff::civil::Date, tz: &jiff::tz::TimeZone) -> Result<(i64, i64), ApiError> {
    let bad = |e: jiff::Error| ApiError::BadRequest(format!("bad date: {e}"));
    let start = date.to_zoned(tz.clone()).map_err(bad)?;
    let end = date
        .tomorrow()
        .map_err(bad)?
        .to_zoned(tz.clone())
        .map_err(bad)?;
    Ok((
        start.timestamp().as_millisecond(),
        end.timestamp().as_millisecond(),
    ))
}

impl AccessRuntime {
    /// The vault log of a local date.
    pub async fn vault_log(&self, date: jiff::civil::Date) -> Result<Vec<VaultLogEntry>, ApiError> {
        let tz = self.read(|s, _| s.tz.clone()).await;
        let (from, to) = day_bounds(date, &tz)?;
        let facts = vault_log_facts(&self.store, &self.site_id, from, to).await?;
        Ok(self
            .read(|_, st| strongroom_access::vault_log(&facts, st, &tz, date))
            .await)
    }
}

fn vault_rows(entries: &[VaultLogEntry]) -> Vec<report::VaultLogRow> {
    entries
        .iter()
        .map(|e| {
            let agents = e
                .people
                .iter()
                .map(|p| {
                    let mut s = if p.name.is_empty() {
                        p.person.clone()
                    } else {
                        p.name.clone()
                    };
                    if let Some(a) = &p.agent_id {
                        s.push_str(&format!(" (agent {a})"));
                    }
                    if let Some(esc) = &p.escort {
                        s.push_str(&format!(", escorted by {esc}"));
                    }
                    s
                })
                .collect();
            let outs: Vec<Option<i64>> = e.people.iter().map(|p| p.time_out_ms).collect();
            let mut note = Vec::new();
            if e.dual {
                note.push("two-person entry".to_owned());
            }
            if let Some(n) = &e.note {
                note.push(n.clone());
            }
            report::VaultLogRow {
                time_in_ms: e.time_in_ms,
                time_out_ms: if outs.iter().all(Option::is_some) {
                    outs.iter().flatten().max().copied()
                } else {
                    None
                },
                agents,
                authenticators: e.people.iter().map(|p| p.method.clone()).collect(),
                method: e.source.clone(),
                note: note.join("; "),
            }
        })
        .collect()
}

async fn vault_log(
    session: Session,
    Path(site): Path<String>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    let rt = runtime(&ctx)?;
    let format = parse_format(q.format.as_deref())?;
    let now = rt.clock.now_ms();
    let tz = rt.read(|s, _| s.tz.clone()).await;
    let date = match q.date.as_deref() {
        Some(d) => d
            .parse::<jiff::civil::Date>()
            .map_err(|e| ApiError::BadRequest(format!("bad date {d:?}: {e} (use YYYY-MM-DD)")))?,
        None => jiff::Timestamp::from_millisecond(now)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .to_zoned(tz)
            .date(),
    };
    let entries = rt.vault_log(date).await?;
    let name = format!("vault-log-{}-{date}", rt.site_id);
    match format {
        None => Ok(
            Json(json!({"site": rt.site_id, "date": date.to_string(), "entries": entries}))
                .into_response(),
        ),
        Some(Format::Csv) => Ok(file_response(
            strongroom_access::vault_log_csv(&entries).into_bytes(),
            Format::Csv,
            &name,
        )),
        Some(f) => {
            let doc = report::vault_log(&ctx.site.config(), date, &vault_rows(&entries), now);
            Ok(file_response(report::render(&doc, f), f, &name))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualEntryBody {
    person: String,
    area: String,
    time_in_ms: i64,
    #[serde(default)]
    time_out_ms: Option<i64>,
    method: String,
    #[serde(default)]
    note: String,
}

async fn manual_vault_entry(
    session: Session,
    Path(site): Path<String>,
    JsonBody(b): JsonBody<ManualEntryBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ctx = session
        .authorize(&site, Permission::ComplianceManage)
        .await?;
    let rt = runtime(&ctx)?;
    let cmd = Command::RecordManualVaultEntry {
        person: b.person,
        area: b.area,
        time_in_ms: b.time_in_ms,
        time_out_ms: b.time_out_ms,
        method: b.method,
        note: b.note,
    };
    let events = rt.command(&cmd, &ctx.actor).await?;
    Ok(created(&events, json!({})))
}

fn simple_doc(config: &SiteConfig, title: &str, line: String, table: Table, now: i64) -> Document {
    let mut header = vec![format!("{} ({})", config.site.name, config.site.id)];
    if !config.site.license_number.is_empty() {
        header.push(format!("License {}", config.site.license_number));
    }
    header.push(line);
    Document {
        title: format!("{title}: {}", config.site.name),
        header,
        generated_ms: now,
        blocks: vec![Block::Table(table)],
    }
}

fn holder_table(rows: &[SecretHolderRow], tz: &jiff::tz::TimeZone) -> Table {
    Table {
        name: "vault-code-holders".into(),
        columns: [
            "Secret",
            "Kind",
            "Holder",
            "Agent ID",
            "Status",
            "Changed",
            "Change needed",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![20, 14, 18, 12, 10, 16, 10],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.label.clone(),
                    serde_json::to_value(r.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    if r.name.is_empty() {
                        r.person.clone()
                    } else {
                        r.name.clone()
                    },
                    r.agent_id.clone().unwrap_or_default(),
                    r.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    report::fmt_local(r.changed_ms, tz),
                    if r.change_needed { "YES" } else { "no" }.into(),
                ]
            })
            .collect(),
    }
}

fn roster_table(name: &str, rows: &[AreaAccessRow]) -> Table {
    Table {
        name: name.into(),
        columns: [
            "Area",
            "Person",
            "Category",
            "Agent ID",
            "Status",
            "Schedule",
            "Usable credential",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![12, 20, 14, 12, 10, 18, 12],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.area.clone(),
                    r.name.clone(),
                    r.category.as_str().to_owned(),
                    r.agent_id.clone().unwrap_or_default(),
                    r.status.as_str().to_owned(),
                    serde_json::to_value(&r.schedule)
                        .ok()
                        .and_then(|v| v.get("type").and_then(|t| t.as_str().map(str::to_owned)))
                        .unwrap_or_default(),
                    if r.has_usable_credential { "yes" } else { "no" }.into(),
                ]
            })
            .collect(),
    }
}

async fn vault_code_holders(
    session: Session,
    Path(site): Path<String>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    let rt = runtime(&ctx)?;
    let format = parse_format(q.format.as_deref())?;
    let now = rt.clock.now_ms();
    let (holders, roster, tz) = rt
        .read(|s, st| {
            (
                records::vault_code_holders(st),
                records::vault_access_roster(s, st, now),
                s.tz.clone(),
            )
        })
        .await;
    let to_change: Vec<String> = {
        let mut v: Vec<String> = holders
            .iter()
            .filter(|h| h.change_needed)
            .map(|h| h.secret.clone())
            .collect();
        v.dedup();
        v
    };
    let Some(format) = format else {
        return Ok(Json(json!({
            "holders": holders, "vault_access": roster, "secrets_to_change": to_change,
        }))
        .into_response());
    };
    let config = ctx.site.config();
    let mut doc = simple_doc(
        &config,
        "Vault code holders",
        format!("As of {}", report::fmt_local(now, &tz)),
        holder_table(&holders, &tz),
        now,
    );
    doc.blocks.push(Block::Heading(
        "People whose credentials open the vault or safe".into(),
    ));
    doc.blocks
        .push(Block::Table(roster_table("vault-access", &roster)));
    Ok(file_response(
        report::render(&doc, format),
        format,
        &format!("vault-code-holders-{}", rt.site_id),
    ))
}

async fn surveillance_access(
    session: Session,
    Path(site): Path<String>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ctx = session.authorize(&site, Permission::ReportsView).await?;
    let rt = runtime(&ctx)?;
    let format = parse_format(q.format.as_deref())?;
    let now = rt.clock.now_ms();
    let (rows, report_rows) = rt
        .read(|s, st| {
            let rows = records::surveillance_access_list(s, st, now);
            let report_rows: Vec<report::AccessListRow> = rows
                .iter()
                .map(|r| {
                    let p = st.person(&r.person);
                    report::AccessListRow {
                        name: r.name.clone(),
                        category: r.category.as_str().to_owned(),
                        employer: r.company.clone().unwrap_or_default(),
                        credential_id: p
                            .and_then(|p| {
                                p.credentials
                                    .iter()
                                    .filter_map(|c| st.credential(c))
                                    .find(|c| c.usable(now))
                                    .map(|c| c.id.clone())
                            })
                            .unwrap_or_default(),
                        scope: format!("area {}", r.area),
                        granted_ms: p
                            .and_then(|p| p.authorizations.get(&r.area))
                            .map(|a| a.granted_ms),
                    }
                })
                .collect();
            (rows, report_rows)
        })
        .await;
    match format {
        None => Ok(Json(json!({ "people": rows })).into_response()),
        Some(f) => {
            let doc = report::surveillance_access_list(&ctx.site.config(), &report_rows, now);
            Ok(file_response(
                report::render(&doc, f),
                f,
                &format!("surveillance-access-{}", rt.site_id),
            ))
        }
    }
}

// ======================================================================================== bench

/// The result of [`bench_vault_log`].
#[derive(Debug, Clone)]
pub struct VaultLogBench {
    /// Events in the journal.
    pub events: u64,
    /// Days they span.
    pub days: u32,
    /// Seconds spent filling.
    pub fill_s: f64,
    /// Seconds a start-up replay of the whole journal takes (the access runtime's rebuild).
    pub replay_s: f64,
    /// Facts that replay applied.
    pub replayed: u64,
    /// Vault log query times (one per queried day), milliseconds.
    pub query_ms: Vec<f64>,
    /// Entries found on the queried days.
    pub entries: Vec<usize>,
    /// For comparison: the same day's vault rows through the journal's `(site_id, kind, time_ms)`
    /// index with the payload filtered row by row, milliseconds.
    pub scan_ms: Vec<f64>,
}

/// Fills `store` (already migrated; the site `site_id` created) through `journal` with `events`
/// facts spread over `days` days before `end_ms` (a realistic mix: door contacts, device states,
/// grants and denials at every door, and about 40 two-person vault entries a day with exits), then
/// times the vault log of a few days. The journal goes through its ordinary batched append.
pub async fn bench_vault_log(
    store: &Store,
    journal: &JournalHandle,
    config: &SiteConfig,
    events: u64,
    days: u32,
    end_ms: i64,
    mut progress: impl FnMut(u64),
) -> Result<VaultLogBench, String> {
    let secret = SiteSecret::new(&[7u8; 32]).map_err(|e| e.to_string())?;
    let site = AccessSite::new(config, params_for(config), secret).map_err(|e| e.to_string())?;
    let start_ms = end_ms - i64::from(days) * 86_400_000;
    let step = (i64::from(days) * 86_400_000) / i64::try_from(events.max(1)).unwrap_or(1);
    let is_vault = |d: &&strongroom_access::site::DoorInfo| {
        d.to_kind == strongroom_domain::site::AreaKind::Vault
    };
    let vault = site
        .doors
        .iter()
        .find(is_vault)
        .ok_or("the site has no vault door")?;
    let doors: Vec<&strongroom_access::site::DoorInfo> =
        site.doors.iter().filter(|d| !is_vault(d)).collect();
    let grant = |d: &strongroom_access::site::DoorInfo, person: &str, t: i64, out: bool| {
        let (enters, ek, leaves, lk) = if out {
            (&d.from, d.from_kind, &d.to, d.to_kind)
        } else {
            (&d.to, d.to_kind, &d.from, d.from_kind)
        };
        Fact::new(k::ACCESS_GRANTED, Actor::Device(format!("r-{}", d.id)), t)
            .with("reader", format!("r-{}", d.id))
            .with("source", "osdp")
            .with("door", d.id.clone())
            .with("direction", if out { "out" } else { "in" })
            .with("enters", enters.clone())
            .with("enters_kind", json!(ek))
            .with("leaves", leaves.clone())
            .with("leaves_kind", json!(lk))
            .with("person", person)
            .with("category", "agent")
            .with("credential", format!("c-{}", person.len()))
            .with("method", "card")
    };
    ensure_vault_index(store).await?;
    let fill_started = Instant::now();
    let mut batch: Vec<Fact> = Vec::with_capacity(10_000);
    let mut n: u64 = 0;
    let vault_every = (events / (u64::from(days) * 40)).max(8);
    let mut next_vault = 0u64;
    while n < events {
        let i = n;
        let t = start_ms + i64::try_from(i).unwrap_or(i64::MAX) * step;
        if i >= next_vault {
            // About 40 two-person vault entries a day; both agents leave ten minutes later.
            next_vault += vault_every;
            let (a, b) = (format!("agent-{}", i % 7), format!("agent-{}", (i + 3) % 7));
            batch.push(
                grant(vault, &a, t, false)
                    .with("dual_with", b.clone())
                    .with("first_presented_ms", t - 4000),
            );
            batch.push(
                grant(vault, &b, t, false)
                    .with("dual_with", a.clone())
                    .with("first_presented_ms", t - 4000),
            );
            batch.push(grant(vault, &a, t + 600_000, true));
            batch.push(grant(vault, &b, t + 600_000, true));
            n += 4;
        } else {
            let d = doors[(i as usize) % doors.len()];
            let f = match i % 10 {
                0..=2 => grant(d, &format!("agent-{}", i % 13), t, false),
                3 => Fact::new(k::ACCESS_DENIED, Actor::Device(format!("r-{}", d.id)), t)
                    .with("reader", format!("r-{}", d.id))
                    .with("door", d.id.clone())
                    .with("reason", "unknown_card")
                    .with("card_last4", "0042"),
                4..=6 => {
                    let open = i.is_multiple_of(2);
                    let state = if open { "open" } else { "closed" };
                    door_report(k::DOOR_CONTACT, &d.id, ("open", open), state, None, t)
                }
                _ => Fact::new(
                    core_kinds::DEVICE_STATE,
                    Actor::Device(format!("z-{}", i % 9)),
                    t,
                )
                .with("device", format!("z-{}", i % 9))
                .with(
                    "state",
                    if i.is_multiple_of(2) {
                        "alarm"
                    } else {
                        "normal"
                    },
                ),
            };
            batch.push(f);
            n += 1;
        }
        if batch.len() >= 5_000 {
            journal
                .append(std::mem::take(&mut batch))
                .await
                .map_err(|e| e.to_string())?;
            progress(n);
        }
    }
    if !batch.is_empty() {
        journal.append(batch).await.map_err(|e| e.to_string())?;
    }
    let fill_s = fill_started.elapsed().as_secs_f64();
    let replay_started = Instant::now();
    let mut inner = Inner {
        config: Arc::new(config.clone()),
        monitor: DoorMonitor::new(&site),
        site: site.clone(),
        state: AccessState::new(),
        doors: HashMap::new(),
    };
    let (_, replayed, _) = replay(store, journal.site_id(), &mut inner).await?;
    let replay_s = replay_started.elapsed().as_secs_f64();
    let state = AccessState::new();
    let mut query_ms = Vec::new();
    let mut entries = Vec::new();
    let mut scan_ms = Vec::new();
    for offset in [days / 2, days.saturating_sub(2), 1] {
        let day_ms = start_ms + i64::from(offset) * 86_400_000;
        let date = jiff::Timestamp::from_millisecond(day_ms)
            .map_err(|e| e.to_string())?
            .to_zoned(site.tz.clone())
            .date();
        let (from, to) = day_bounds(date, &site.tz).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let facts = vault_log_facts(store, journal.site_id(), from, to)
            .await
            .map_err(|e| e.to_string())?;
        let log = strongroom_access::vault_log(&facts, &state, &site.tz, date);
        query_ms.push(started.elapsed().as_secs_f64() * 1e3);
        entries.push(log.len());
        let started = Instant::now();
        sqlx::query(r#"SELECT seq FROM journal WHERE site_id = $1 AND kind = 'access.granted' AND time_ms >= $2 AND time_ms < $3 AND payload LIKE '%kind":"vault"%'"#)
            .bind(journal.site_id())
            .bind(from)
            .bind(to + 86_400_000)
            .fetch_all(store.pool())
            .await
            .map_err(|e| e.to_string())?;
        scan_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(VaultLogBench {
        events: n,
        days,
        fill_s,
        replay_s,
        replayed,
        query_ms,
        entries,
        scan_ms,
    })
}
