//! The access service: [`AccessService`], the lock every decision and command runs under, the
//! commit path (journal first, then the state), and the device inputs (presentations, door
//! contacts and locks, the door tick). A changed configuration is recompiled the next time the
//! lock is taken, or at once by [`AccessService::apply_config`].
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use strongroom_access::kinds as k;
use strongroom_access::link::{door_report, mark_silent};
use strongroom_access::{
    AccessParams, AccessSite, AccessState, Command, Decision, DoorMonitor, Outcome, Presentation,
    ReaderFeedback, Request, SiteSecret, Source, decide, execute,
};
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_journal::JournalEvent;
use strongroom_store::decode::fact_of_event;
use strongroom_store::{JournalHandle, Store};
use tokio::sync::MutexGuard;

use crate::doors::DoorView;
use crate::error::AccessError;
use crate::osdp::{self, ReaderLink};
use crate::views::Answer;

/// What the lock guards: everything a decision reads.
pub(crate) struct Inner {
    /// The configuration `site` was compiled from.
    pub(crate) config: Arc<SiteConfig>,
    pub(crate) site: AccessSite,
    pub(crate) state: AccessState,
    pub(crate) monitor: DoorMonitor,
    pub(crate) doors: HashMap<String, DoorView>,
}

impl Inner {
    /// A fresh state for `site` compiled from `config`.
    pub(crate) fn new(config: Arc<SiteConfig>, site: AccessSite) -> Inner {
        Inner {
            monitor: DoorMonitor::new(&site),
            site,
            config,
            state: AccessState::new(),
            doors: HashMap::new(),
        }
    }

    /// Applies a durable fact to the state, the monitor (its output is dropped: the monitor's own
    /// facts are journaled by whoever produced them) and the door view.
    pub(crate) fn absorb(&mut self, f: &Fact) {
        self.state.apply(f);
        let _ = self.monitor.on_fact(f);
        DoorView::note(&mut self.doors, f);
    }
}

/// The access parameters of a site's jurisdiction.
pub(crate) fn params_for(config: &SiteConfig) -> AccessParams {
    AccessParams::for_jurisdiction(config.site.jurisdiction)
}

/// One site's access control, started by [`crate::start()`].
pub struct AccessService {
    pub(crate) site_id: String,
    pub(crate) journal: JournalHandle,
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) secret: SiteSecret,
    pub(crate) data_dir: PathBuf,
    /// The configuration in force (what the next lock compiles, if it changed).
    pub(crate) wanted: RwLock<Arc<SiteConfig>>,
    pub(crate) inner: tokio::sync::Mutex<Inner>,
    pub(crate) links: std::sync::Mutex<HashMap<String, ReaderLink>>,
}

impl AccessService {
    /// The site id.
    pub fn site_id(&self) -> &str {
        &self.site_id
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<SiteConfig> {
        match self.wanted.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Now, by the injected clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Whether `config` can be put in force for access control; no side effects. A reload is
    /// refused when its doors, readers or credentials policy do not compile, or an OSDP reader's
    /// Secure Channel key cannot be read.
    pub fn check_config(&self, config: &SiteConfig) -> Result<(), String> {
        AccessSite::new(config, params_for(config), self.secret.clone())
            .map_err(|e| e.to_string())?;
        osdp::check_keys(config, &self.data_dir)
    }

    /// Puts `config` in force and recompiles the site model now, so that a removed reader or
    /// door is refused from the moment the file is applied. OSDP lines follow within the
    /// supervisor's poll.
    pub async fn apply_config(&self, config: Arc<SiteConfig>) {
        match self.wanted.write() {
            Ok(mut c) => *c = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
        drop(self.lock().await);
    }

    /// Locks the state, first recompiling the site if its configuration changed.
    pub(crate) async fn lock(&self) -> MutexGuard<'_, Inner> {
        let mut g = self.inner.lock().await;
        let config = self.config();
        if !Arc::ptr_eq(&config, &g.config) {
            self.reconfigure(&mut g, config).await;
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
                        facts.extend(evs.iter().filter_map(|e| Some((e.seq, fact_of_event(e)?))));
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
    pub(crate) async fn commit(
        &self,
        g: &mut Inner,
        facts: Vec<Fact>,
    ) -> Result<Vec<Arc<JournalEvent>>, AccessError> {
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
    ) -> Result<Vec<Arc<JournalEvent>>, AccessError> {
        let mut g = self.lock().await;
        let facts = execute(&g.site, &g.state, cmd, actor, self.clock.now_ms())?;
        self.commit(&mut g, facts).await
    }

    /// Decides a request: journaled, applied, and the reader (if it is an OSDP reader) shows the
    /// outcome. Fails only when the journal cannot make the decision durable (the door stays shut).
    pub async fn decide(&self, req: &Request) -> Result<(Decision, Answer), AccessError> {
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
    ) -> Result<Answer, AccessError> {
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

    /// Whether a card read at `reader` should wait for a PIN
    /// ([`strongroom_access::keypad::card_needs_pin`]).
    pub async fn card_needs_pin(&self, reader: &str, card: &str) -> bool {
        let g = self.lock().await;
        strongroom_access::keypad::card_needs_pin(&g.site, &g.state, reader, card)
    }

    /// Runs the door monitor on a copy, journals `report` (a device's report, if any) with what
    /// the monitor raises, and keeps the copy only once that is durable.
    async fn monitor_step(
        &self,
        report: Option<Fact>,
        react: impl FnOnce(&mut DoorMonitor) -> Vec<Fact>,
    ) -> Result<Vec<Arc<JournalEvent>>, AccessError> {
        let mut g = self.lock().await;
        if let Some(door) = report
            .as_ref()
            .and_then(|f| f.payload.get("door")?.as_str())
            && g.site.door(door).is_none()
        {
            return Err(AccessError::UnknownDoor(door.to_owned()));
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
    ) -> Result<Vec<Arc<JournalEvent>>, AccessError> {
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
    ) -> Result<Vec<Arc<JournalEvent>>, AccessError> {
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
    pub async fn tick(&self) -> Result<(), AccessError> {
        let now = self.clock.now_ms();
        self.monitor_step(None, |m| m.tick(now)).await.map(|_| ())
    }

    /// Reads the state under the lock.
    pub async fn read<R>(&self, f: impl FnOnce(&AccessSite, &AccessState) -> R) -> R {
        let g = self.lock().await;
        f(&g.site, &g.state)
    }
}

/// The answer a decision gives the controller that asked.
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
