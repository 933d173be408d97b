//! The access reports: the daily vault log, who knows the vault codes (with the vault roster),
//! and who may enter the surveillance room. Each is a typed view, or the same content rendered as
//! a CSV, HTML or PDF document by `strongroom-compliance`'s report writer.
use strongroom_access::VaultLogEntry;
use strongroom_access::records::{self, AreaAccessRow, SecretHolderRow};
use strongroom_compliance::report::{self, Block, Document, Format, Table};
use strongroom_domain::site::SiteConfig;

use crate::error::AccessError;
use crate::service::AccessService;
use crate::vault::{day_bounds, vault_log_facts};
use crate::views::{SurveillanceAccess, VaultCodeHolders, VaultLogView};

/// A rendered report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    /// The document.
    pub body: Vec<u8>,
    /// Its format.
    pub format: Format,
    /// A file name without extension (`vault-log-SITE-DATE`).
    pub name: String,
}

/// A report as data (`Json`) or as a document (`File`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report<T> {
    /// The typed view.
    Json(T),
    /// The rendered document.
    File(ReportFile),
}

impl AccessService {
    /// The vault log of a local date.
    pub async fn vault_log_entries(
        &self,
        date: jiff::civil::Date,
    ) -> Result<Vec<VaultLogEntry>, AccessError> {
        let tz = self.read(|s, _| s.tz.clone()).await;
        let (from, to) = day_bounds(date, &tz)?;
        let facts = vault_log_facts(&self.store, &self.site_id, from, to).await?;
        Ok(self
            .read(|_, st| strongroom_access::vault_log(&facts, st, &tz, date))
            .await)
    }

    /// The vault log of `date` (`YYYY-MM-DD`, default today in the site's zone), as data or in
    /// `format`.
    pub async fn vault_log(
        &self,
        date: Option<&str>,
        format: Option<Format>,
    ) -> Result<Report<VaultLogView>, AccessError> {
        let now = self.clock.now_ms();
        let tz = self.read(|s, _| s.tz.clone()).await;
        let date = match date {
            Some(d) => d.parse::<jiff::civil::Date>().map_err(|e| {
                AccessError::BadDate(format!("bad date {d:?}: {e} (use YYYY-MM-DD)"))
            })?,
            None => jiff::Timestamp::from_millisecond(now)
                .map_err(|e| AccessError::Store(format!("the clock is out of range: {e}")))?
                .to_zoned(tz)
                .date(),
        };
        let entries = self.vault_log_entries(date).await?;
        let Some(format) = format else {
            return Ok(Report::Json(VaultLogView {
                site: self.site_id.clone(),
                date: date.to_string(),
                entries,
            }));
        };
        let body = match format {
            Format::Csv => strongroom_access::vault_log_csv(&entries).into_bytes(),
            f => {
                let doc = report::vault_log(&self.config(), date, &vault_rows(&entries), now);
                report::render(&doc, f)
            }
        };
        Ok(Report::File(ReportFile {
            body,
            format,
            name: format!("vault-log-{}-{date}", self.site_id),
        }))
    }

    /// Who knows vault and safe codes and who may open the vault, as data or in `format`.
    pub async fn vault_code_holders(&self, format: Option<Format>) -> Report<VaultCodeHolders> {
        let now = self.clock.now_ms();
        let (holders, roster, tz) = self
            .read(|s, st| {
                (
                    records::vault_code_holders(st),
                    records::vault_access_roster(s, st, now),
                    s.tz.clone(),
                )
            })
            .await;
        let mut to_change: Vec<String> = holders
            .iter()
            .filter(|h| h.change_needed)
            .map(|h| h.secret.clone())
            .collect();
        to_change.dedup();
        let Some(format) = format else {
            return Report::Json(VaultCodeHolders {
                holders,
                vault_access: roster,
                secrets_to_change: to_change,
            });
        };
        let mut doc = simple_doc(
            &self.config(),
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
        Report::File(ReportFile {
            body: report::render(&doc, format),
            format,
            name: format!("vault-code-holders-{}", self.site_id),
        })
    }

    /// Who may enter the surveillance room, as data or in `format`.
    pub async fn surveillance_access(&self, format: Option<Format>) -> Report<SurveillanceAccess> {
        let now = self.clock.now_ms();
        let (rows, report_rows) = self
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
            None => Report::Json(SurveillanceAccess { people: rows }),
            Some(f) => {
                let doc = report::surveillance_access_list(&self.config(), &report_rows, now);
                Report::File(ReportFile {
                    body: report::render(&doc, f),
                    format: f,
                    name: format!("surveillance-access-{}", self.site_id),
                })
            }
        }
    }
}

/// The vault log's rows as the report writer lays them out.
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
