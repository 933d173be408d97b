//! Device-state ingestion (the path HTTP controllers and the simulator share) and the demo-site
//! simulator.
//!
//! The simulator is on only for sites whose file says `simulator = true` (the demo). It drives the
//! same paths real devices use, so the demo exercises the real decisions, journal, projections and
//! live feed:
//! - card reads go to [`AccessService::present`](strongroom_access_service::AccessService::present), the
//!   call the OSDP adapter makes for a real reader (agents badging through the barrier and into the
//!   back, two agents opening the vault and leaving it, now and then an unknown card);
//! - door contacts and sensor states go through [`ingest_device_state`], the path of a controller
//!   reporting over the API (a door contact reaches the door monitor from there).
//!
//! At first start it registers a few demo agents with card credentials and area authorizations
//! through the access commands (journaled like any command, skipped when already there, so
//! restarts change nothing).
use std::sync::Arc;
use std::time::Duration;

use strongroom_access::{
    Command, CredentialKind, NewCredential, NewPerson, PersonCategory, Schedule, SecretKind, Source,
};
use strongroom_domain::fact::kinds;
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_journal::JournalEvent;

use crate::error::ApiError;
use crate::state::SiteRuntime;
use strongroom_access_service::AccessService as AccessRuntime;

/// States a device may report.
pub const DEVICE_STATES: &[&str] = &[
    "open", "closed", "locked", "unlocked", "online", "offline", "alarm", "normal", "tamper",
    "trouble",
];

/// Validates and journals a device's reported state; returns the durable event.
///
/// A door's `open`/`closed` (its contact) and `locked`/`unlocked` (its lock) go through the access
/// runtime's door monitor, which journals them as `door.contact` / `door.lock` (carrying `device`
/// and `state` too) together with any alarm they raise (`door.forced`, `door.secured`); the first
/// event returned is the report itself.
pub async fn ingest_device_state(
    site: &SiteRuntime,
    device: &str,
    state: &str,
    detail: Option<&str>,
    time_ms: i64,
) -> Result<Arc<JournalEvent>, ApiError> {
    let config = site.config();
    let is_door = config.doors.iter().any(|d| d.id == device);
    let known = is_door
        || config.readers.iter().any(|r| r.id == device)
        || config.sensors.iter().any(|s| s.id == device)
        || config.panels.iter().any(|p| p.id == device)
        || config.cameras.iter().any(|c| c.id == device);
    if !known {
        return Err(ApiError::BadRequest(format!(
            "unknown device {device:?}: it must be declared in the site file"
        )));
    }
    if !DEVICE_STATES.contains(&state) {
        return Err(ApiError::BadRequest(format!(
            "unknown state {state:?}: expected one of {}",
            DEVICE_STATES.join(", ")
        )));
    }
    if let Some(d) = detail
        && d.len() > 1024
    {
        return Err(ApiError::BadRequest(
            "detail is longer than 1024 bytes".into(),
        ));
    }
    if is_door && let Some(rt) = site.access.get() {
        let events = match state {
            "open" | "closed" => Some(
                rt.door_contact(device, state == "open", detail, time_ms)
                    .await?,
            ),
            "locked" | "unlocked" => Some(
                rt.door_lock(device, state == "locked", detail, time_ms)
                    .await?,
            ),
            _ => None,
        };
        if let Some(first) = events.and_then(|e| e.into_iter().next()) {
            return Ok(first);
        }
    }
    let mut fact = Fact::new(
        kinds::DEVICE_STATE,
        Actor::Device(device.to_owned()),
        time_ms,
    )
    .with("device", device)
    .with("state", state);
    if let Some(d) = detail {
        fact = fact.with("detail", d);
    }
    Ok(site.journal.append_one(fact).await?)
}

/// A demo agent: id, name, state agent-ID badge, card number, areas.
const DEMO_AGENTS: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "a-rivera",
        "Ana Rivera",
        "IL-AG-1001",
        "1001",
        &["sales", "back", "vault", "safe"],
    ),
    (
        "a-chen",
        "Ben Chen",
        "IL-AG-1002",
        "1002",
        &["sales", "back", "vault"],
    ),
    (
        "a-okafor",
        "Chidi Okafor",
        "IL-AG-1003",
        "1003",
        &["sales", "back", "vault", "safe", "cctv"],
    ),
    (
        "a-novak",
        "Dana Novak",
        "IL-AG-1004",
        "1004",
        &["sales", "back"],
    ),
];

/// Registers the demo agents (idempotent): person, card, area authorizations, vault combination.
pub async fn seed_demo(rt: &AccessRuntime) -> Result<(), ApiError> {
    let actor = Actor::Device("simulator".into());
    let (areas, has_vault_secret) = rt
        .read(|site, st| {
            (
                site.areas().map(|a| a.id.clone()).collect::<Vec<_>>(),
                st.secret("vault-combination").is_some(),
            )
        })
        .await;
    for (id, name, agent_id, card, agent_areas) in DEMO_AGENTS {
        let (exists, has_card, authorized) = rt
            .read(|site, st| {
                let p = st.person(id);
                let h = site.secret.hash_card(card);
                (
                    p.is_some(),
                    st.credential_by_card(&h).is_some(),
                    p.map(|p| p.authorizations.keys().cloned().collect::<Vec<_>>())
                        .unwrap_or_default(),
                )
            })
            .await;
        if !exists {
            let mut np = NewPerson::new(id, PersonCategory::Agent, name);
            np.roles = vec!["agent".into()];
            np.agent_id = Some((*agent_id).into());
            rt.command(&Command::AddPerson(np), &actor).await?;
        }
        if !has_card {
            rt.command(
                &Command::IssueCredential(NewCredential {
                    person: (*id).into(),
                    kind: CredentialKind::Card,
                    card: Some((*card).into()),
                    pin: None,
                    expires_ms: None,
                    replaces: None,
                }),
                &actor,
            )
            .await?;
        }
        for area in agent_areas.iter().filter(|a| areas.iter().any(|x| x == *a)) {
            if authorized.iter().any(|x| x == area) {
                continue;
            }
            rt.command(
                &Command::AuthorizeArea {
                    person: (*id).into(),
                    area: (*area).into(),
                    schedule: Schedule::Always,
                    valid_until_ms: None,
                },
                &actor,
            )
            .await?;
        }
    }
    if !has_vault_secret && areas.iter().any(|a| a == "vault") {
        rt.command(
            &Command::RegisterSecret {
                secret: "vault-combination".into(),
                label: "Vault door combination".into(),
                kind: SecretKind::VaultCombination,
                area: Some("vault".into()),
            },
            &actor,
        )
        .await?;
        for holder in ["a-rivera", "a-okafor"] {
            rt.command(
                &Command::AddSecretHolder {
                    secret: "vault-combination".into(),
                    person: holder.into(),
                },
                &actor,
            )
            .await?;
        }
    }
    Ok(())
}

/// The simulated people and doors, with the clock and pace.
struct Sim {
    site: Arc<SiteRuntime>,
    rt: Arc<AccessRuntime>,
    clock: Arc<dyn Clock>,
    period: Duration,
}

impl Sim {
    /// A card at a reader (what the OSDP adapter does for a real read); true if granted.
    async fn badge(&self, reader: &str, card: &str) -> bool {
        if !self.site.config().readers.iter().any(|r| r.id == reader) {
            return false;
        }
        match self
            .rt
            .present(reader, Some(card.to_owned()), None, Source::Osdp)
            .await
        {
            Ok(a) => a.outcome == "granted",
            Err(e) => {
                tracing::warn!(error = %e, "simulator");
                false
            }
        }
    }

    /// The door opens a moment after a grant and closes again.
    async fn walk_through(&self, door: &str) {
        let pause = self.period / 4;
        tokio::time::sleep(pause).await;
        self.contact(door, "open").await;
        tokio::time::sleep(pause).await;
        self.contact(door, "closed").await;
    }

    async fn contact(&self, door: &str, state: &str) {
        if let Err(e) = ingest_device_state(
            &self.site,
            door,
            state,
            Some("simulated"),
            self.clock.now_ms(),
        )
        .await
        {
            tracing::warn!(error = %e, "simulator");
        }
    }

    /// One agent walks from the lobby into the back of house.
    async fn arrive(&self, card: &str) {
        if self.badge("r-barrier", card).await {
            self.walk_through("barrier").await;
        }
        if self.badge("r-back", card).await {
            self.walk_through("sales-back").await;
        }
    }

    /// Two agents open the vault (two-person rule), stay a while, and leave one by one.
    async fn vault_visit(&self, first: &str, second: &str) {
        // Anyone still recorded inside (a restart mid-visit) leaves first, or anti-passback
        // would refuse them for good.
        for card in [first, second] {
            let person = DEMO_AGENTS.iter().find(|a| a.3 == card).map(|a| a.0);
            let inside = match person {
                Some(p) => self.rt.read(|_, st| st.location(p) == Some("vault")).await,
                None => false,
            };
            if inside && self.badge("r-vault-out", card).await {
                self.walk_through("vault-door").await;
            }
        }
        self.arrive(first).await;
        self.arrive(second).await;
        self.badge("r-vault", first).await;
        tokio::time::sleep(self.period / 3).await;
        if self.badge("r-vault", second).await {
            self.walk_through("vault-door").await;
            tokio::time::sleep(self.period).await;
            for card in [first, second] {
                if self.badge("r-vault-out", card).await {
                    self.walk_through("vault-door").await;
                }
            }
        }
    }

    /// The sensors of the old simulator: a non-silent sensor trips and restores.
    async fn sensor_blip(&self, n: u64) {
        let config = self.site.config();
        let sensors: Vec<&strongroom_domain::site::Sensor> = config
            .sensors
            .iter()
            .filter(|s| !s.kind.is_silent())
            .collect();
        if let Some(sensor) = sensors.get((n as usize) % sensors.len().max(1)) {
            for state in ["alarm", "normal"] {
                let _ = ingest_device_state(
                    &self.site,
                    &sensor.id,
                    state,
                    Some("simulated"),
                    self.clock.now_ms(),
                )
                .await;
            }
        }
    }
}

/// Runs the demo simulator until the task is dropped: waits for access control to start, seeds
/// the demo agents, then every `period` plays one scene (an agent arriving, two agents in the
/// vault, an unknown card) and now and then trips a sensor.
pub async fn run(site: Arc<SiteRuntime>, clock: Arc<dyn Clock>, period: Duration) {
    let rt = loop {
        if let Some(rt) = site.access.get() {
            break rt.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if let Err(e) = seed_demo(&rt).await {
        tracing::warn!(error = %e, "simulator: demo agents not seeded");
    }
    let sim = Sim {
        site,
        rt,
        clock,
        period,
    };
    let cards: Vec<&str> = DEMO_AGENTS.iter().map(|a| a.3).collect();
    let mut n: u64 = 0;
    loop {
        tokio::time::sleep(period).await;
        n += 1;
        let card = cards[(n as usize) % cards.len()];
        match n % 6 {
            1 => {
                // The first three demo agents may open the vault.
                let (a, b) = (cards[(n as usize / 6) % 3], cards[(n as usize / 6 + 1) % 3]);
                sim.vault_visit(a, b).await;
            }
            4 => {
                // Someone tries a card nobody issued.
                let _ = sim.badge("r-back", &format!("9{:03}", n % 1000)).await;
            }
            _ => sim.arrive(card).await,
        }
        if n.is_multiple_of(7) {
            sim.sensor_blip(n / 7).await;
        }
    }
}

/// Journals that the server started (with its version).
pub async fn server_started(site: &SiteRuntime, now_ms: i64) -> Result<(), ApiError> {
    site.journal
        .append_one(
            Fact::new(kinds::SERVER_STARTED, Actor::System, now_ms)
                .with("version", env!("CARGO_PKG_VERSION")),
        )
        .await?;
    Ok(())
}
