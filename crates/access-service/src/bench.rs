//! `strongroom bench vault-log` and its test: fills a journal with a realistic mix of door and
//! access facts and times the vault log's partial-index queries against a plain scan, and the
//! start-up replay.
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use strongroom_access::kinds as k;
use strongroom_access::link::door_report;
use strongroom_access::{AccessSite, AccessState, SiteSecret};
use strongroom_domain::fact::kinds as core_kinds;
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Fact};
use strongroom_store::{JournalHandle, Store};

use crate::service::{Inner, params_for};
use crate::start::replay;
use crate::vault::{day_bounds, ensure_vault_index, vault_log_facts};

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
    let mut inner = Inner::new(Arc::new(config.clone()), site.clone());
    let (_, replayed, _) = replay(store, journal, &mut inner)
        .await
        .map_err(|e| e.to_string())?;
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
