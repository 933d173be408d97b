//! Reports a regulator accepts: the compliance report and the logs and notices the rules ask for.
//!
//! Each builder turns data into a [`Document`] (title, header lines, blocks: headings, paragraphs,
//! key/value lists, tables). A document renders to HTML ([`html::render`], escaped), PDF
//! ([`pdf::render`], our own PDF 1.4 writer with the standard Helvetica fonts) and CSV
//! ([`csv::render`], tables only). All times print in the site's time zone. Builders are pure.
pub mod csv;
pub mod html;
pub mod pdf;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use strongroom_domain::site::SiteConfig;

use crate::check::{Finding, Status, summarize};
use crate::pack::{Basis, Check, DeadlineEvent, Pack, enum_name};
use crate::records::{Incident, Outage, Records, VendorChange, VendorStatus};
use crate::schedule::{TaskState, add_days, local_date, site_tz, tasks_for};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// PDF 1.4.
    Pdf,
    /// A self-contained HTML page.
    Html,
    /// CSV of the tables.
    Csv,
}

impl Format {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Html => "html",
            Format::Csv => "csv",
        }
    }
    /// MIME type for HTTP responses.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Html => "text/html; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// The error for an unknown format name.
#[derive(Debug, thiserror::Error)]
#[error("unknown report format {0:?}: expected pdf, html or csv")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pdf" => Ok(Format::Pdf),
            "html" | "htm" => Ok(Format::Html),
            "csv" => Ok(Format::Csv),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// Renders a document in a format.
pub fn render(doc: &Document, format: Format) -> Vec<u8> {
    match format {
        Format::Pdf => pdf::render(doc),
        Format::Html => html::render(doc).into_bytes(),
        Format::Csv => csv::render(doc).into_bytes(),
    }
}

/// A report, independent of its output format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Title (first line of every format).
    pub title: String,
    /// Header lines under the title (site, license, date).
    pub header: Vec<String>,
    /// When it was generated, epoch ms (PDF metadata, footers).
    pub generated_ms: i64,
    /// Content.
    pub blocks: Vec<Block>,
}

/// A piece of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// A paragraph of running text.
    Paragraph(String),
    /// Label / value pairs.
    KeyValues(Vec<(String, String)>),
    /// A table.
    Table(Table),
}

/// A table with named columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Machine name (CSV section, file name suffix).
    pub name: String,
    /// Column headers.
    pub columns: Vec<String>,
    /// Relative column widths (same length as `columns`).
    pub widths: Vec<u32>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

impl Document {
    fn new(title: impl Into<String>, header: Vec<String>, generated_ms: i64) -> Self {
        Document {
            title: title.into(),
            header,
            generated_ms,
            blocks: Vec::new(),
        }
    }
    fn heading(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Heading(s.into()));
    }
    fn para(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Paragraph(s.into()));
    }
    fn kv(&mut self, pairs: Vec<(&str, String)>) {
        self.blocks.push(Block::KeyValues(
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ));
    }
    fn table(&mut self, name: &str, cols: &[(&str, u32)], rows: Vec<Vec<String>>) {
        self.blocks.push(Block::Table(Table {
            name: name.to_owned(),
            columns: cols.iter().map(|c| c.0.to_owned()).collect(),
            widths: cols.iter().map(|c| c.1).collect(),
            rows,
        }));
    }

    /// The tables of the document, in order.
    pub fn tables(&self) -> Vec<&Table> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Table(t) => Some(t),
                _ => None,
            })
            .collect()
    }
}

/// Local date and time with the zone abbreviation (`2025-06-15 12:00 CDT`).
pub fn fmt_local(time_ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(time_ms) {
        Ok(ts) => ts
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => format!("(invalid time {time_ms})"),
    }
}

/// A duration as `2 h 05 min 07 s`.
pub fn fmt_duration_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h} h {m:02} min {s:02} s")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

fn site_header(site: &SiteConfig) -> Vec<String> {
    let mut v = vec![format!("{} ({})", site.site.name, site.site.id)];
    if !site.site.license_number.is_empty() {
        v.push(format!("License {}", site.site.license_number));
    }
    if !site.site.address.is_empty() {
        v.push(site.site.address.clone());
    }
    v
}

/// A document titled `"{title}: {site name}"` whose header is the site's lines and `subtitle`.
fn site_document(site: &SiteConfig, title: &str, subtitle: String, now_ms: i64) -> Document {
    let mut header = site_header(site);
    header.push(subtitle);
    Document::new(format!("{title}: {}", site.site.name), header, now_ms)
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Attested => "ATTESTED",
        Status::NotApplicable => "N/A",
        Status::Practice => "PRACTICE",
    }
}

/// The compliance report for a site at `now_ms`: every finding with its citation, evidence and
/// remedy; failures in detail; practice items apart; the interpretations adopted.
pub fn compliance_report(
    pack: &Pack,
    site: &SiteConfig,
    findings: &[Finding],
    now_ms: i64,
) -> Document {
    let tz = site_tz(site);
    let mut d = site_document(
        site,
        "Compliance report",
        format!("Compliance report as of {}", fmt_local(now_ms, &tz)),
        now_ms,
    );
    d.kv(vec![
        ("Rule pack", format!("{} ({})", pack.title, pack.id)),
        ("Regulation", pack.law.clone()),
        (
            "Source",
            format!("{}, effective {}", pack.source, pack.effective),
        ),
        ("Regulator", pack.regulator.clone()),
        ("Report date", local_date(now_ms, &tz).to_string()),
    ]);
    let s = summarize(findings);
    d.heading("Summary");
    d.para(format!(
        "{} requirements evaluated: {} pass, {} fail, {} attested, {} not applicable; {} practice items (reported, not scored).",
        findings.len(),
        s.pass,
        s.fail,
        s.attested,
        s.not_applicable,
        s.practice
    ));
    let row = |f: &Finding| {
        vec![
            f.requirement_id.clone(),
            f.citation.clone(),
            f.title.clone(),
            status_label(f.status).to_owned(),
            f.summary.clone(),
        ]
    };
    let cols = [
        ("ID", 8),
        ("Citation", 20),
        ("Requirement", 30),
        ("Status", 9),
        ("Finding", 33),
    ];
    d.heading("Requirements of law");
    d.table(
        "findings",
        &cols,
        findings
            .iter()
            .filter(|f| f.basis == Basis::Law)
            .map(row)
            .collect(),
    );
    let failures: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .collect();
    if !failures.is_empty() {
        d.heading("Failures in detail");
        for f in failures {
            d.heading(format!("{} - {} - FAIL", f.requirement_id, f.citation));
            d.para(format!("{}: {}", f.title, f.summary));
            let mut kv = vec![("Remedy", f.remedy.clone())];
            if !f.devices.is_empty() {
                kv.push(("Devices", f.devices.join(", ")));
            }
            if !f.records.is_empty() {
                kv.push(("Records", f.records.join(", ")));
            }
            d.kv(kv);
            if !f.evidence.is_empty() {
                d.table(
                    &format!("evidence-{}", f.requirement_id.to_lowercase()),
                    &[("Evidence", 100)],
                    f.evidence.iter().map(|e| vec![e.clone()]).collect(),
                );
            }
        }
    }
    let practice: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.basis == Basis::Practice)
        .collect();
    if !practice.is_empty() {
        d.heading("Practice items (recommendations, not scored)");
        d.table("practice", &cols, practice.into_iter().map(row).collect());
    }
    let notes: Vec<Vec<String>> = findings
        .iter()
        .filter_map(|f| {
            f.note
                .as_ref()
                .map(|n| vec![f.requirement_id.clone(), n.clone()])
        })
        .collect();
    if !notes.is_empty() {
        d.heading("Interpretations adopted");
        d.para("Where the rule text is ambiguous, the platform applies the following readings (requirements.md §21).");
        d.table(
            "interpretations",
            &[("ID", 10), ("Interpretation", 90)],
            notes,
        );
    }
    d
}

/// One row of the daily vault log (produced by the access crate from vault door events and manual
/// entries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VaultLogRow {
    /// Entry time.
    pub time_in_ms: i64,
    /// Exit time; none if not recorded (yet).
    pub time_out_ms: Option<i64>,
    /// Agents who entered (name and agent id).
    pub agents: Vec<String>,
    /// Authenticators used (`card`, `pin`, `biometric`, `combination`).
    pub authenticators: Vec<String>,
    /// `electronic` (from door events) or `manual` (mechanical access, audited).
    pub method: String,
    /// Remarks.
    pub note: String,
}

/// The electronic daily log of agents entering the vault (IL 1291.300(b)(9); OH 3796:6-3-16(B)(9)).
pub fn vault_log(
    site: &SiteConfig,
    date: jiff::civil::Date,
    rows: &[VaultLogRow],
    now_ms: i64,
) -> Document {
    let tz = site_tz(site);
    let mut d = site_document(
        site,
        &format!("Daily vault log {date}"),
        format!("Vault log for {date}"),
        now_ms,
    );
    let mut rows: Vec<&VaultLogRow> = rows.iter().collect();
    rows.sort_by_key(|r| r.time_in_ms);
    d.para(format!(
        "{} vault entr{} on {date}. Times in {}.",
        rows.len(),
        if rows.len() == 1 { "y" } else { "ies" },
        site.site.timezone
    ));
    d.table(
        "vault-log",
        &[
            ("Time in", 18),
            ("Time out", 18),
            ("Agents", 26),
            ("Authenticators", 16),
            ("Method", 10),
            ("Note", 12),
        ],
        rows.iter()
            .map(|r| {
                vec![
                    fmt_local(r.time_in_ms, &tz),
                    r.time_out_ms
                        .map_or_else(|| "(not recorded)".to_owned(), |t| fmt_local(t, &tz)),
                    r.agents.join("; "),
                    r.authenticators.join(" + "),
                    r.method.clone(),
                    r.note.clone(),
                ]
            })
            .collect(),
    );
    d
}

/// The inspection and test log for `[from_ms, to_ms)`, with the next due dates under the pack's
/// inspection interval.
pub fn inspection_log(
    pack: &Pack,
    site: &SiteConfig,
    records: &Records,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Document {
    let tz = site_tz(site);
    let today = local_date(now_ms, &tz);
    let mut d = site_document(
        site,
        "Inspection log",
        format!(
            "Inspections and tests {} to {}",
            local_date(from_ms, &tz),
            local_date(to_ms.saturating_sub(1), &tz)
        ),
        now_ms,
    );
    let mut ins: Vec<_> = records
        .inspections
        .iter()
        .filter(|i| i.time_ms >= from_ms && i.time_ms < to_ms)
        .collect();
    ins.sort_by(|a, b| (a.time_ms, &a.device_id).cmp(&(b.time_ms, &b.device_id)));
    d.table(
        "inspections",
        &[
            ("Date and time", 20),
            ("Device", 16),
            ("By", 16),
            ("Result", 8),
            ("Notes", 40),
        ],
        ins.iter()
            .map(|i| {
                vec![
                    fmt_local(i.time_ms, &tz),
                    i.device_id.clone(),
                    i.by.clone(),
                    if i.passed { "pass" } else { "FAIL" }.to_owned(),
                    i.notes.clone(),
                ]
            })
            .collect(),
    );
    for req in pack
        .requirements
        .iter()
        .filter(|r| matches!(r.check, Check::InspectionInterval { .. }))
    {
        d.heading(format!("Next due ({} - {})", req.id, req.citation));
        let tasks = tasks_for(req, site, records, &tz, now_ms);
        d.table(
            "next-due",
            &[
                ("Device", 25),
                ("Last inspected", 25),
                ("Next due", 20),
                ("State", 30),
            ],
            tasks
                .iter()
                .map(|t| {
                    let state = match t.state(today, now_ms) {
                        TaskState::Overdue => {
                            format!("OVERDUE by {} day(s)", t.days_overdue(today))
                        }
                        TaskState::DueToday => "due today".to_owned(),
                        TaskState::Open => "on time".to_owned(),
                        TaskState::Done => "done".to_owned(),
                    };
                    vec![
                        t.subject.clone(),
                        t.from_ms
                            .map_or_else(|| "never".to_owned(), |m| fmt_local(m, &tz)),
                        t.due_local_date.to_string(),
                        state,
                    ]
                })
                .collect(),
        );
    }
    d
}

/// The outage report (IL 1291.300(e)(7)): affected devices, exact lost spans, notifications,
/// corrective actions and the due date.
pub fn outage_report(pack: &Pack, site: &SiteConfig, outage: &Outage, now_ms: i64) -> Document {
    let tz = site_tz(site);
    let mut d = site_document(
        site,
        "Security system outage report",
        format!(
            "Outage {} report, prepared {}",
            outage.id,
            fmt_local(now_ms, &tz)
        ),
        now_ms,
    );
    let due = pack.requirements.iter().find_map(|r| match r.check {
        Check::ReportDeadline {
            event: DeadlineEvent::Outage,
            due_calendar_days,
        } => {
            let base = outage.end_ms.unwrap_or(outage.start_ms);
            Some(format!(
                "{} ({} calendar days after the outage{}; {})",
                add_days(local_date(base, &tz), due_calendar_days),
                due_calendar_days,
                if outage.end_ms.is_none() {
                    ", counted from its start while it is open"
                } else {
                    ""
                },
                r.citation
            ))
        }
        _ => None,
    });
    let mut kv = vec![
        ("Outage", outage.id.clone()),
        ("Start", fmt_local(outage.start_ms, &tz)),
        (
            "End",
            outage
                .end_ms
                .map_or_else(|| "ongoing".to_owned(), |e| fmt_local(e, &tz)),
        ),
        (
            "Duration",
            outage.end_ms.map_or_else(
                || format!("{} so far", fmt_duration_ms(now_ms - outage.start_ms)),
                |e| fmt_duration_ms(e - outage.start_ms),
            ),
        ),
        (
            "Cause",
            if outage.cause.is_empty() {
                "(not yet known)".to_owned()
            } else {
                outage.cause.clone()
            },
        ),
        (
            "Regulator notified",
            outage.notified_ms.map_or_else(
                || "NOT YET".to_owned(),
                |t| {
                    format!(
                        "{} ({} after onset)",
                        fmt_local(t, &tz),
                        fmt_duration_ms(t - outage.start_ms)
                    )
                },
            ),
        ),
    ];
    if let Some(due) = due {
        kv.push(("Report due", due));
    }
    if let Some(s) = outage.report_submitted_ms {
        kv.push(("Report submitted", fmt_local(s, &tz)));
    }
    d.kv(kv);
    d.heading("Affected devices");
    d.table(
        "affected-devices",
        &[("Device", 30), ("Name", 40), ("Type", 30)],
        outage
            .affected_devices
            .iter()
            .map(|id| {
                let (name, kind) = describe_device(site, id);
                vec![id.clone(), name, kind]
            })
            .collect(),
    );
    d.heading("Recording lost");
    let total: i64 = outage
        .lost_spans
        .iter()
        .map(|s| (s.end_ms - s.start_ms).max(0))
        .fold(0, i64::saturating_add);
    d.para(format!(
        "{} gap(s), {} of recording lost in total.",
        outage.lost_spans.len(),
        fmt_duration_ms(total)
    ));
    let mut spans: Vec<_> = outage.lost_spans.iter().collect();
    spans.sort_by(|a, b| (&a.camera_id, a.start_ms).cmp(&(&b.camera_id, b.start_ms)));
    d.table(
        "lost-spans",
        &[("Camera", 20), ("From", 28), ("To", 28), ("Duration", 24)],
        spans
            .iter()
            .map(|s| {
                vec![
                    s.camera_id.clone(),
                    fmt_local(s.start_ms, &tz),
                    fmt_local(s.end_ms, &tz),
                    fmt_duration_ms(s.end_ms - s.start_ms),
                ]
            })
            .collect(),
    );
    if !outage.notifications.is_empty() {
        d.heading("Notifications sent");
        d.table(
            "notifications",
            &[("Notification", 100)],
            outage
                .notifications
                .iter()
                .map(|n| vec![n.clone()])
                .collect(),
        );
    }
    d.heading("Corrective actions");
    d.para(if outage.corrective_actions.is_empty() {
        "(none recorded yet)".to_owned()
    } else {
        outage.corrective_actions.clone()
    });
    d
}

fn describe_device(site: &SiteConfig, id: &str) -> (String, String) {
    if let Some(c) = site.cameras.iter().find(|c| c.id == id) {
        return (c.name.clone(), "camera".into());
    }
    if let Some(s) = site.sensors.iter().find(|s| s.id == id) {
        return (
            s.name.clone(),
            format!("alarm point ({})", enum_name(&s.kind)),
        );
    }
    if let Some(r) = site.readers.iter().find(|r| r.id == id) {
        return (r.name.clone(), "reader".into());
    }
    if let Some(p) = site.panels.iter().find(|p| p.id == id) {
        return (p.name.clone(), "alarm panel".into());
    }
    if let Some(dd) = site.doors.iter().find(|dd| dd.id == id) {
        return (dd.name.clone(), "door".into());
    }
    (String::new(), "other".into())
}

/// The vendor list change report (IL 1291.300(h)): the changes in `[from_ms, to_ms)` with due
/// dates, and the current approved list.
pub fn vendor_change_report(
    site: &SiteConfig,
    records: &Records,
    changes: &[&VendorChange],
    due_calendar_days: u32,
    now_ms: i64,
) -> Document {
    let tz = site_tz(site);
    let mut d = site_document(
        site,
        "Vendor list change report",
        format!(
            "Approved vendor list changes, prepared {}",
            fmt_local(now_ms, &tz)
        ),
        now_ms,
    );
    let vendor = |id: &str| records.vendors.iter().find(|v| v.id == id);
    d.heading("Changes");
    d.table(
        "vendor-changes",
        &[
            ("Changed", 18),
            ("Change", 9),
            ("Name", 15),
            ("Company", 15),
            ("Service", 13),
            ("Detail", 15),
            ("Due", 10),
            ("Submitted", 15),
        ],
        changes
            .iter()
            .map(|c| {
                let v = vendor(&c.vendor_id);
                vec![
                    fmt_local(c.time_ms, &tz),
                    enum_name(&c.change),
                    v.map_or_else(|| c.vendor_id.clone(), |v| v.name.clone()),
                    v.map(|v| v.company.clone()).unwrap_or_default(),
                    v.map(|v| v.service.clone()).unwrap_or_default(),
                    c.detail.clone(),
                    add_days(local_date(c.time_ms, &tz), due_calendar_days).to_string(),
                    c.submitted_ms
                        .map_or_else(|| "not yet".to_owned(), |t| fmt_local(t, &tz)),
                ]
            })
            .collect(),
    );
    d.heading("Current approved vendor list");
    d.table(
        "vendor-list",
        &[
            ("Name", 20),
            ("Company", 20),
            ("Contact", 25),
            ("Service", 20),
            ("Approval", 15),
        ],
        records
            .vendors
            .iter()
            .filter(|v| v.status == VendorStatus::Approved)
            .map(|v| {
                vec![
                    v.name.clone(),
                    v.company.clone(),
                    v.contact.clone(),
                    v.service.clone(),
                    v.approval_ref.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    d
}

/// One person on the surveillance access list (built by the server from ACLs and roles).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessListRow {
    /// Person's name.
    pub name: String,
    /// Category (agent, service personnel, law enforcement, regulator, type 1 key employee).
    pub category: String,
    /// Employer.
    pub employer: String,
    /// Credential id (never the secret).
    pub credential_id: String,
    /// What they can reach (surveillance room, recordings, live view).
    pub scope: String,
    /// When access was granted.
    pub granted_ms: Option<i64>,
}

/// The list of persons with access to surveillance equipment / the surveillance room
/// (IL 1291.300(e)(3); OH 3796:3-2-05(A)(4)(b)).
pub fn surveillance_access_list(
    site: &SiteConfig,
    rows: &[AccessListRow],
    now_ms: i64,
) -> Document {
    let tz = site_tz(site);
    let mut d = site_document(
        site,
        "Surveillance access list",
        format!(
            "Persons with access to surveillance equipment as of {}",
            fmt_local(now_ms, &tz)
        ),
        now_ms,
    );
    let mut rows: Vec<&AccessListRow> = rows.iter().collect();
    rows.sort_by(|a, b| (&a.category, &a.name).cmp(&(&b.category, &b.name)));
    d.table(
        "surveillance-access",
        &[
            ("Name", 20),
            ("Category", 18),
            ("Employer", 18),
            ("Credential", 12),
            ("Scope", 16),
            ("Granted", 16),
        ],
        rows.iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.category.clone(),
                    r.employer.clone(),
                    r.credential_id.clone(),
                    r.scope.clone(),
                    r.granted_ms.map_or_else(String::new, |t| fmt_local(t, &tz)),
                ]
            })
            .collect(),
    );
    d
}

/// The incident report (IL 1291.300(b)(16); OH 3796:6-3-16(B)(14), (I)).
pub fn incident_report(site: &SiteConfig, incident: &Incident, now_ms: i64) -> Document {
    let tz = site_tz(site);
    let today = local_date(now_ms, &tz);
    let mut d = site_document(
        site,
        "Incident report",
        format!(
            "Incident {} report, prepared {}",
            incident.id,
            fmt_local(now_ms, &tz)
        ),
        now_ms,
    );
    d.kv(vec![
        ("Incident", incident.id.clone()),
        ("Type", incident.kind.clone()),
        ("Discovered", fmt_local(incident.discovered_ms, &tz)),
        ("Reported by", incident.reporter.clone()),
        ("Product and currency affected", incident.affected.clone()),
        (
            "Secured",
            incident.secured_ms.map_or_else(
                || "NOT YET".to_owned(),
                |t| {
                    format!(
                        "{} ({} after discovery)",
                        fmt_local(t, &tz),
                        fmt_duration_ms(t - incident.discovered_ms)
                    )
                },
            ),
        ),
        ("Cameras held", incident.cameras.join(", ")),
        (
            "Status",
            incident.closed_ms.map_or_else(
                || "open".to_owned(),
                |t| format!("closed {}", fmt_local(t, &tz)),
            ),
        ),
    ]);
    d.heading("Description");
    d.para(incident.description.clone());
    d.heading("Root cause");
    d.para(if incident.root_cause.is_empty() {
        "(investigation open)".to_owned()
    } else {
        incident.root_cause.clone()
    });
    d.heading("Corrective actions");
    d.table(
        "corrective-actions",
        &[("Action", 40), ("Owner", 15), ("Due", 12), ("Status", 33)],
        incident
            .actions
            .iter()
            .map(|a| {
                let status = match (a.done_ms, a.due_local_date) {
                    (Some(t), _) => format!("done {}", fmt_local(t, &tz)),
                    (None, Some(due)) if today > due => format!("OVERDUE since {due}"),
                    _ => "open".to_owned(),
                };
                vec![
                    a.description.clone(),
                    a.owner.clone(),
                    a.due_local_date.map(|x| x.to_string()).unwrap_or_default(),
                    status,
                ]
            })
            .collect(),
    );
    d
}

#[cfg(test)]
mod tests;
