//! The access-control documents a regulator asks for, built offline from the journal: the daily
//! vault log ([`vault_log_document`], its facts through [`VaultLogFacts`]) and the list of persons
//! with access to the surveillance equipment ([`surveillance_access_document`]).
use strongroom_compliance::report::{self, Document};
use strongroom_compliance::schedule;
use strongroom_domain::Fact;
use strongroom_domain::site::SiteConfig;
use strongroom_store::{Store, StoreError};

use crate::error::ComplianceError;
use crate::gather::fact_of;
use crate::ports::VaultLogFacts;

/// Events replayed per page.
const PAGE: u32 = 5_000;

/// The AccessState of a site, replayed from its whole journal (offline reports).
async fn access_state(
    store: &Store,
    site_id: &str,
    mut progress: impl FnMut(u64),
) -> Result<strongroom_access::AccessState, StoreError> {
    let mut st = strongroom_access::AccessState::new();
    let mut after = 0u64;
    loop {
        let page = store.events_after(site_id, after, PAGE).await?;
        let facts: Vec<Fact> = page.iter().filter_map(fact_of).map(|(_, f)| f).collect();
        st.apply_all(facts.iter());
        let Some(last) = page.last() else { break };
        after = last.seq;
        progress(after);
        if page.len() < PAGE as usize {
            break;
        }
    }
    Ok(st)
}

/// The compiled access site for read-only reports. The credential-hashing secret is not needed
/// to list people or vault entries, so a fixed placeholder is used; nothing is hashed with it.
fn access_site(config: &SiteConfig) -> Result<strongroom_access::AccessSite, String> {
    let secret = strongroom_access::SiteSecret::new(&[0u8; 32]).map_err(|e| e.to_string())?;
    strongroom_access::AccessSite::new(
        config,
        strongroom_access::AccessParams::for_jurisdiction(config.site.jurisdiction),
        secret,
    )
    .map_err(|e| e.to_string())
}

/// The daily vault log of local `date`, from the journal (the CLI's `report vault-log`).
pub async fn vault_log_document(
    store: &Store,
    site_id: &str,
    config: &SiteConfig,
    date: jiff::civil::Date,
    now_ms: i64,
    vault: &dyn VaultLogFacts,
    progress: impl FnMut(u64),
) -> Result<Document, ComplianceError> {
    let tz = schedule::site_tz(config);
    let bad = |e: jiff::Error| ComplianceError::BadRequest(format!("bad date: {e}"));
    let from = date
        .to_zoned(tz.clone())
        .map_err(bad)?
        .timestamp()
        .as_millisecond();
    let to = date
        .tomorrow()
        .map_err(bad)?
        .to_zoned(tz.clone())
        .map_err(bad)?
        .timestamp()
        .as_millisecond();
    let st = access_state(store, site_id, progress).await?;
    let facts = vault
        .vault_log_facts(store, site_id, from, to)
        .await
        .map_err(ComplianceError::Internal)?;
    let entries = strongroom_access::vault_log(&facts, &st, &tz, date);
    let rows: Vec<report::VaultLogRow> = entries
        .iter()
        .map(|e| {
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
                agents: e
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
                        s
                    })
                    .collect(),
                authenticators: e.people.iter().map(|p| p.method.clone()).collect(),
                method: e.source.clone(),
                note: note.join("; "),
            }
        })
        .collect();
    Ok(report::vault_log(config, date, &rows, now_ms))
}

/// The list of persons with access to surveillance equipment, from the journal.
pub async fn surveillance_access_document(
    store: &Store,
    site_id: &str,
    config: &SiteConfig,
    now_ms: i64,
    progress: impl FnMut(u64),
) -> Result<Document, ComplianceError> {
    let site = access_site(config).map_err(ComplianceError::Internal)?;
    let st = access_state(store, site_id, progress).await?;
    let rows: Vec<report::AccessListRow> =
        strongroom_access::records::surveillance_access_list(&site, &st, now_ms)
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
                                .find(|c| c.usable(now_ms))
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
    Ok(report::surveillance_access_list(config, &rows, now_ms))
}
