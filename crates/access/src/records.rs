//! Records built from facts and state: the electronic daily vault log (IL 1291.300(b)(9),
//! OH 3796:6-3-16(B)(9)), access records for restricted areas (AC-06), the list of people who know
//! vault codes or combinations (AC-07, VLT-05) and the surveillance-room access list
//! (IL 1291.300(e)(3), AC-10).
//!
//! All functions are pure. Rendering to HTML/PDF is the reporting crate's job; entries are
//! `Serialize`, and the vault log has a CSV rendering here ([`vault_log_csv`]).
use std::collections::HashMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::Serialize;
use strongroom_domain::Fact;
use strongroom_domain::site::{AreaKind, Direction};

use crate::decide::DenyReason;
use crate::kinds as k;
use crate::model::{Method, PersonCategory, PersonStatus, Schedule, SecretKind};
use crate::payload::{self as p, from_fact};
use crate::site::AccessSite;
use crate::state::AccessState;

/// One person in a vault log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaultLogPerson {
    /// Person id.
    pub person: String,
    /// Name (as registered now).
    pub name: String,
    /// State agent-ID badge number.
    pub agent_id: Option<String>,
    /// Category.
    pub category: Option<PersonCategory>,
    /// The credential used (the authenticator).
    pub credential: Option<String>,
    /// How they authenticated (`card`, `pin`, `card+pin`, `combination`, ...).
    pub method: String,
    /// When they badged (for the first agent of a two-person entry, earlier than the entry).
    pub presented_ms: i64,
    /// When they left the vault, when recorded.
    pub time_out_ms: Option<i64>,
    /// Local time out (`HH:MM:SS TZ`), when recorded.
    pub time_out_local: Option<String>,
    /// The escorting agent, for visitors.
    pub escort: Option<String>,
}

/// One entry into a vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaultLogEntry {
    /// Local date of the log (`YYYY-MM-DD`).
    pub date: String,
    /// Vault area id.
    pub area: String,
    /// Door id.
    pub door: Option<String>,
    /// When the door was granted.
    pub time_in_ms: i64,
    /// Local time in (`HH:MM:SS TZ`).
    pub time_in_local: String,
    /// The people who entered: two for a two-person entry, in badge order.
    pub people: Vec<VaultLogPerson>,
    /// Whether it was a two-person (dual) entry.
    pub dual: bool,
    /// `electronic` (from access facts) or `manual` (entered by hand, A15).
    pub source: String,
    /// Who entered a manual record, and its note.
    pub note: Option<String>,
}

fn local(tz: &TimeZone, ms: i64) -> Zoned {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
}

fn local_time(tz: &TimeZone, ms: i64) -> String {
    local(tz, ms).strftime("%H:%M:%S %Z").to_string()
}

/// The vault log of local `day` in `tz`: every entry into an area of kind `vault` granted that day,
/// from `access.granted` facts (two-person entries merged, each with its own authenticator), plus
/// `vault.manual_entry` records. Time out is the person's next recorded exit from that vault (an
/// out-reader grant, or an `access.exit` naming them), which may fall on a later day; `facts` should
/// therefore run past the end of `day`. Names and badge numbers come from `state`.
pub fn vault_log(
    facts: &[Fact],
    state: &AccessState,
    tz: &TimeZone,
    day: Date,
) -> Vec<VaultLogEntry> {
    let mut entries: Vec<VaultLogEntry> = Vec::new();
    // (person, vault area) -> (entry index, person index) of the open stay.
    let mut open: HashMap<(String, String), (usize, usize)> = HashMap::new();
    let person_row = |id: &str,
                      category: Option<PersonCategory>,
                      credential: Option<String>,
                      method: String,
                      at: i64,
                      escort: Option<String>| {
        let pr = state.person(id);
        VaultLogPerson {
            person: id.to_owned(),
            name: pr.map(|x| x.name.clone()).unwrap_or_default(),
            agent_id: pr.and_then(|x| x.agent_id.clone()),
            category: category.or(pr.map(|x| x.category)),
            credential,
            method,
            presented_ms: at,
            time_out_ms: None,
            time_out_local: None,
            escort,
        }
    };
    let close = |open: &mut HashMap<(String, String), (usize, usize)>,
                 entries: &mut Vec<VaultLogEntry>,
                 person: &str,
                 area: &str,
                 t: i64| {
        if let Some((e, i)) = open.remove(&(person.to_owned(), area.to_owned()))
            && let Some(row) = entries.get_mut(e).and_then(|x| x.people.get_mut(i))
        {
            row.time_out_ms = Some(t);
            row.time_out_local = Some(local_time(tz, t));
        }
    };
    for f in facts {
        match f.kind.as_str() {
            k::ACCESS_GRANTED => {
                let Ok(a) = from_fact::<p::AccessPayload>(f) else {
                    continue;
                };
                let Some(person) = a.person.as_deref() else {
                    continue;
                };
                if a.direction == Some(Direction::In) && a.enters_kind == Some(AreaKind::Vault) {
                    let Some(area) = a.enters.clone() else {
                        continue;
                    };
                    let method = a.method.map_or("", Method::as_str).to_owned();
                    let at = match (&a.dual_with, a.first_presented_ms) {
                        (Some(_), Some(first))
                            if open_partner(&entries, &a, f.time_ms).is_none() =>
                        {
                            first
                        }
                        _ => f.time_ms,
                    };
                    let row = person_row(
                        person,
                        a.category,
                        a.credential.clone(),
                        method,
                        at,
                        a.escort.clone(),
                    );
                    // The second agent of a two-person entry joins the first's entry.
                    if let Some(e) = open_partner(&entries, &a, f.time_ms) {
                        let entry = &mut entries[e];
                        entry.people.push(row);
                        open.insert((person.to_owned(), area), (e, entry.people.len() - 1));
                    } else {
                        // A new entry; an unclosed earlier stay keeps no time out.
                        open.remove(&(person.to_owned(), area.clone()));
                        entries.push(VaultLogEntry {
                            date: String::new(),
                            area: area.clone(),
                            door: a.door.clone(),
                            time_in_ms: f.time_ms,
                            time_in_local: local_time(tz, f.time_ms),
                            people: vec![row],
                            dual: a.dual_with.is_some(),
                            source: "electronic".into(),
                            note: None,
                        });
                        open.insert((person.to_owned(), area), (entries.len() - 1, 0));
                    }
                } else if a.leaves_kind == Some(AreaKind::Vault)
                    && a.enters_kind != Some(AreaKind::CurrencySafe)
                    && let Some(area) = a.leaves.as_deref()
                {
                    close(&mut open, &mut entries, person, area, f.time_ms);
                }
            }
            k::ACCESS_EXIT => {
                let Ok(x) = from_fact::<p::ExitPayload>(f) else {
                    continue;
                };
                if x.leaves_kind == AreaKind::Vault
                    && let Some(person) = x.person.as_deref()
                {
                    close(&mut open, &mut entries, person, &x.leaves, f.time_ms);
                }
            }
            k::VAULT_MANUAL_ENTRY => {
                let Ok(m) = from_fact::<p::VaultManualEntry>(f) else {
                    continue;
                };
                let mut row =
                    person_row(&m.person, None, None, m.method.clone(), m.time_in_ms, None);
                row.time_out_ms = m.time_out_ms;
                row.time_out_local = m.time_out_ms.map(|t| local_time(tz, t));
                entries.push(VaultLogEntry {
                    date: String::new(),
                    area: m.area,
                    door: m.door,
                    time_in_ms: m.time_in_ms,
                    time_in_local: local_time(tz, m.time_in_ms),
                    people: vec![row],
                    dual: false,
                    source: "manual".into(),
                    note: Some(format!(
                        "recorded by {} at {}: {}",
                        m.recorded_by, f.time_ms, m.note
                    )),
                });
            }
            _ => {}
        }
    }
    let mut out: Vec<VaultLogEntry> = entries
        .into_iter()
        .filter(|e| local(tz, e.time_in_ms).date() == day)
        .map(|mut e| {
            e.date = day.to_string();
            e
        })
        .collect();
    out.sort_by_key(|e| e.time_in_ms);
    out
}

/// The entry a second dual agent joins: the latest entry at the same door and time whose only
/// person is the one named in `dual_with`.
fn open_partner(entries: &[VaultLogEntry], a: &p::AccessPayload, t: i64) -> Option<usize> {
    let partner = a.dual_with.as_deref()?;
    entries.iter().rposition(|e| {
        e.time_in_ms == t
            && e.door == a.door
            && e.people.len() == 1
            && e.people[0].person == partner
    })
}

/// The vault log as CSV (RFC 4180; fields that a spreadsheet would read as a formula are prefixed
/// with `'`). One row per entry; a two-person entry fills the `agent_2_*` columns.
pub fn vault_log_csv(entries: &[VaultLogEntry]) -> String {
    let mut out = String::from(
        "date,time_in,area,door,dual,source,\
         agent_1_name,agent_1_agent_id,agent_1_person,agent_1_authenticator,agent_1_method,agent_1_time_out,\
         agent_2_name,agent_2_agent_id,agent_2_person,agent_2_authenticator,agent_2_method,agent_2_time_out,\
         escort,note\r\n",
    );
    for e in entries {
        let mut row: Vec<String> = vec![
            e.date.clone(),
            e.time_in_local.clone(),
            e.area.clone(),
            e.door.clone().unwrap_or_default(),
            if e.dual { "yes".into() } else { "no".into() },
            e.source.clone(),
        ];
        for i in 0..2 {
            match e.people.get(i) {
                Some(pp) => row.extend([
                    pp.name.clone(),
                    pp.agent_id.clone().unwrap_or_default(),
                    pp.person.clone(),
                    pp.credential.clone().unwrap_or_default(),
                    pp.method.clone(),
                    pp.time_out_local.clone().unwrap_or_default(),
                ]),
                None => row.extend(std::iter::repeat_n(String::new(), 6)),
            }
        }
        let escorts: Vec<&str> = e
            .people
            .iter()
            .filter_map(|x| x.escort.as_deref())
            .collect();
        row.push(escorts.join(" "));
        row.push(e.note.clone().unwrap_or_default());
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// What an access record shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordResult {
    /// Granted.
    Granted,
    /// Denied.
    Denied,
    /// Waiting for a second agent or an escort.
    Pending,
    /// Left through a door (REX or a reported exit).
    Exit,
    /// Forced open.
    Forced,
    /// Held open.
    HeldOpen,
}

/// One record of access to a restricted area (AC-06).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessRecord {
    /// When.
    pub time_ms: i64,
    /// Result.
    pub result: RecordResult,
    /// Door id.
    pub door: Option<String>,
    /// Reader id.
    pub reader: Option<String>,
    /// Direction.
    pub direction: Option<Direction>,
    /// The restricted area concerned (entered, left, or behind the door).
    pub area: Option<String>,
    /// Its kind.
    pub area_kind: Option<AreaKind>,
    /// Person id.
    pub person: Option<String>,
    /// Credential id.
    pub credential: Option<String>,
    /// Method.
    pub method: Option<Method>,
    /// Deny reason.
    pub reason: Option<DenyReason>,
}

/// A filter over access records. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordQuery {
    /// Only this person.
    pub person: Option<String>,
    /// Only this area.
    pub area: Option<String>,
    /// At or after.
    pub from_ms: Option<i64>,
    /// Before.
    pub to_ms: Option<i64>,
    /// Only secured areas (limited/restricted access, vault, safe, surveillance room, processing).
    pub secured_only: bool,
}

/// Access records matching `q`, in journal order.
pub fn access_records(facts: &[Fact], q: &RecordQuery) -> Vec<AccessRecord> {
    let mut out = Vec::new();
    for f in facts {
        if q.from_ms.is_some_and(|t| f.time_ms < t) || q.to_ms.is_some_and(|t| f.time_ms >= t) {
            continue;
        }
        let rec = match f.kind.as_str() {
            k::ACCESS_GRANTED
            | k::ACCESS_DENIED
            | k::ACCESS_PENDING_SECOND
            | k::ACCESS_PENDING_ESCORT => {
                let Ok(a) = from_fact::<p::AccessPayload>(f) else {
                    continue;
                };
                let result = match f.kind.as_str() {
                    k::ACCESS_GRANTED => RecordResult::Granted,
                    k::ACCESS_DENIED => RecordResult::Denied,
                    _ => RecordResult::Pending,
                };
                // The secured side of the door: what was entered, else what was left.
                let (area, area_kind) = match (a.enters_kind, a.leaves_kind) {
                    (Some(ek), _) if ek.is_secured() => (a.enters.clone(), Some(ek)),
                    (_, Some(lk)) if lk.is_secured() => (a.leaves.clone(), Some(lk)),
                    _ => (a.enters.clone(), a.enters_kind),
                };
                AccessRecord {
                    time_ms: f.time_ms,
                    result,
                    door: a.door,
                    reader: a.reader,
                    direction: a.direction,
                    area,
                    area_kind,
                    person: a.person,
                    credential: a.credential,
                    method: a.method,
                    reason: a.reason,
                }
            }
            k::ACCESS_EXIT => {
                let Ok(x) = from_fact::<p::ExitPayload>(f) else {
                    continue;
                };
                AccessRecord {
                    time_ms: f.time_ms,
                    result: RecordResult::Exit,
                    door: Some(x.door),
                    reader: None,
                    direction: Some(Direction::Out),
                    area: Some(x.leaves),
                    area_kind: Some(x.leaves_kind),
                    person: x.person,
                    credential: None,
                    method: None,
                    reason: None,
                }
            }
            k::DOOR_FORCED | k::DOOR_HELD_OPEN => {
                let Ok(d) = from_fact::<p::DoorAlarm>(f) else {
                    continue;
                };
                AccessRecord {
                    time_ms: f.time_ms,
                    result: if f.kind == k::DOOR_FORCED {
                        RecordResult::Forced
                    } else {
                        RecordResult::HeldOpen
                    },
                    door: Some(d.door),
                    reader: None,
                    direction: None,
                    area: Some(d.area),
                    area_kind: Some(d.area_kind),
                    person: None,
                    credential: None,
                    method: None,
                    reason: None,
                }
            }
            _ => continue,
        };
        if q.secured_only && !rec.area_kind.is_some_and(AreaKind::is_secured) {
            continue;
        }
        if q.area
            .as_ref()
            .is_some_and(|a| rec.area.as_ref() != Some(a))
        {
            continue;
        }
        if q.person
            .as_ref()
            .is_some_and(|pp| rec.person.as_ref() != Some(pp))
        {
            continue;
        }
        out.push(rec);
    }
    out
}

/// One holder of one vault or safe secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretHolderRow {
    /// Secret id.
    pub secret: String,
    /// Its label.
    pub label: String,
    /// Its kind.
    pub kind: SecretKind,
    /// The area it opens.
    pub area: Option<String>,
    /// When it was last changed.
    pub changed_ms: i64,
    /// Person id.
    pub person: String,
    /// Name.
    pub name: String,
    /// Agent badge number.
    pub agent_id: Option<String>,
    /// The person's status now.
    pub status: Option<PersonStatus>,
    /// True when the holder is no longer active: the secret should be changed (AC-07).
    pub change_needed: bool,
}

/// Everyone who knows a vault code, vault combination or safe combination, by secret then person.
pub fn vault_code_holders(state: &AccessState) -> Vec<SecretHolderRow> {
    secret_holders(state, |kind| kind.opens_vault())
}

/// Every holder of every registered secret.
pub fn secret_holders(
    state: &AccessState,
    filter: impl Fn(SecretKind) -> bool,
) -> Vec<SecretHolderRow> {
    let mut out = Vec::new();
    for s in state.secrets().filter(|s| filter(s.kind)) {
        for h in &s.holders {
            let pr = state.person(h);
            let status = pr.map(|x| x.status);
            out.push(SecretHolderRow {
                secret: s.id.clone(),
                label: s.label.clone(),
                kind: s.kind,
                area: s.area.clone(),
                changed_ms: s.changed_ms,
                person: h.clone(),
                name: pr.map(|x| x.name.clone()).unwrap_or_default(),
                agent_id: pr.and_then(|x| x.agent_id.clone()),
                status,
                change_needed: status != Some(PersonStatus::Active),
            });
        }
    }
    out
}

/// Secrets with a holder who is no longer active: change them (AC-07).
pub fn secrets_to_change(state: &AccessState) -> Vec<String> {
    let mut v: Vec<String> = secret_holders(state, |_| true)
        .into_iter()
        .filter(|r| r.change_needed)
        .map(|r| r.secret)
        .collect();
    v.dedup();
    v
}

/// One person with access to an area (surveillance room list, vault roster).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AreaAccessRow {
    /// Area id.
    pub area: String,
    /// Person id.
    pub person: String,
    /// Name.
    pub name: String,
    /// Category.
    pub category: PersonCategory,
    /// Company or agency.
    pub company: Option<String>,
    /// Agent badge number.
    pub agent_id: Option<String>,
    /// Status.
    pub status: PersonStatus,
    /// The schedule.
    pub schedule: Schedule,
    /// Authorization end.
    pub valid_until_ms: Option<i64>,
    /// Whether the person holds a credential usable now.
    pub has_usable_credential: bool,
}

/// People authorised for areas of `kinds`, except the terminated and authorizations already past
/// their end; sorted by area then person.
pub fn area_access_list(
    site: &AccessSite,
    state: &AccessState,
    kinds: &[AreaKind],
    now_ms: i64,
) -> Vec<AreaAccessRow> {
    let mut out = Vec::new();
    for pr in state.people() {
        if pr.status == PersonStatus::Terminated {
            continue;
        }
        for (area, auth) in &pr.authorizations {
            let Some(a) = site.area(area) else { continue };
            if !kinds.contains(&a.kind) || auth.valid_until_ms.is_some_and(|u| u < now_ms) {
                continue;
            }
            let has_usable_credential = pr
                .credentials
                .iter()
                .filter_map(|c| state.credential(c))
                .any(|c| c.usable(now_ms));
            out.push(AreaAccessRow {
                area: area.clone(),
                person: pr.id.clone(),
                name: pr.name.clone(),
                category: pr.category,
                company: pr.vendor.as_ref().and_then(|v| v.company.clone()),
                agent_id: pr.agent_id.clone(),
                status: pr.status,
                schedule: auth.schedule.clone(),
                valid_until_ms: auth.valid_until_ms,
                has_usable_credential,
            });
        }
    }
    out.sort_by(|a, b| (&a.area, &a.person).cmp(&(&b.area, &b.person)));
    out
}

/// Who has access to the surveillance room (IL 1291.300(e)(3); OH 3796:3-2-05(A)(4)(a)).
pub fn surveillance_access_list(
    site: &AccessSite,
    state: &AccessState,
    now_ms: i64,
) -> Vec<AreaAccessRow> {
    area_access_list(site, state, &[AreaKind::SurveillanceRoom], now_ms)
}

/// Who has access to the vault or currency safe (the roster half of OH 3796:6-3-16(B)(9); the other
/// half is [`vault_code_holders`]).
pub fn vault_access_roster(
    site: &AccessSite,
    state: &AccessState,
    now_ms: i64,
) -> Vec<AreaAccessRow> {
    area_access_list(
        site,
        state,
        &[AreaKind::Vault, AreaKind::CurrencySafe],
        now_ms,
    )
}
