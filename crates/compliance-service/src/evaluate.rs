//! [`ComplianceService::evaluate_and_journal`]: evaluates the site now and journals what changed
//! (findings, new and overdue tasks, derived outages), remembering what it journaled so that a
//! periodic evaluation journals changes, not repetitions. The memory is loaded from the journal
//! on first use, so a restart does not journal everything again.
use std::collections::{HashMap, HashSet};

use strongroom_compliance::facts as cfacts;
use strongroom_compliance::journal::payload::{opt_text, text, texts};
use strongroom_compliance::schedule::{Task, TaskState};
use strongroom_domain::Fact;

use crate::error::ComplianceError;
use crate::gather::facts_with_prefix;
use crate::service::ComplianceService;
use crate::snapshot::Snapshot;

/// What the scheduler has journaled.
#[derive(Default)]
pub(crate) struct Seen {
    loaded: bool,
    /// requirement id -> (status, devices)
    findings: HashMap<String, (String, Vec<String>)>,
    /// `task_id|due_local_date` of journaled `task.opened`.
    opened: HashSet<String>,
    /// `task_id|due_local_date` of journaled `task.overdue`.
    overdue: HashSet<String>,
    /// Outage ids with `outage.opened` / `outage.closed` journaled.
    outage_opened: HashSet<String>,
    outage_closed: HashSet<String>,
}

fn task_key(t: &Task) -> String {
    format!("{}|{}", t.id, t.due_local_date)
}

impl ComplianceService {
    async fn load_seen(&self, seen: &mut Seen) -> Result<(), ComplianceError> {
        let (store, site) = (&self.store, self.site_id.as_str());
        for (_, f) in facts_with_prefix(store, site, "compliance.finding").await? {
            let p = &f.payload;
            seen.findings.insert(
                text(p, "requirement_id"),
                (text(p, "status"), texts(p, "devices")),
            );
        }
        for (_, f) in facts_with_prefix(store, site, "task.").await? {
            let p = &f.payload;
            let Some(id) = opt_text(p, "task_id") else {
                continue;
            };
            let key = format!("{id}|{}", text(p, "due_local_date"));
            match f.kind.as_str() {
                cfacts::kinds::TASK_OPENED => {
                    seen.opened.insert(key);
                }
                cfacts::kinds::TASK_OVERDUE => {
                    seen.overdue.insert(key);
                }
                _ => {}
            }
        }
        for (_, f) in facts_with_prefix(store, site, "outage.").await? {
            let id = text(&f.payload, "outage_id");
            match f.kind.as_str() {
                cfacts::kinds::OUTAGE_OPENED => {
                    seen.outage_opened.insert(id);
                }
                cfacts::kinds::OUTAGE_CLOSED => {
                    seen.outage_closed.insert(id);
                }
                _ => {}
            }
        }
        seen.loaded = true;
        Ok(())
    }

    /// Evaluates the site now and journals what changed (findings, new and overdue tasks,
    /// derived outages). Returns the snapshot and the number of facts journaled.
    pub async fn evaluate_and_journal(&self) -> Result<(Snapshot, usize), ComplianceError> {
        let mut seen = self.seen.lock().await;
        if !seen.loaded {
            self.load_seen(&mut seen).await?;
        }
        let snap = self.site_snapshot().await?;
        let now = snap.now_ms;
        let mut facts: Vec<Fact> = Vec::new();
        for o in &snap.records.outages {
            if !seen.outage_opened.contains(&o.id) {
                facts.push(cfacts::outage_opened(o));
            }
            if !seen.outage_closed.contains(&o.id)
                && let Some(f) = cfacts::outage_closed(o)
            {
                facts.push(f);
            }
        }
        for f in &snap.findings {
            let cur = (f.status.as_str().to_owned(), f.devices.clone());
            if seen.findings.get(&f.requirement_id) != Some(&cur) {
                facts.push(cfacts::finding(f, now));
            }
        }
        let open: Vec<&Task> = snap
            .tasks
            .iter()
            .filter(|t| t.done_ms.is_none() && !seen.opened.contains(&task_key(t)))
            .collect();
        for t in &open {
            facts.push(cfacts::task_opened(t, now));
        }
        let overdue_new: Vec<Task> = snap
            .tasks
            .iter()
            .filter(|t| !seen.overdue.contains(&task_key(t)))
            .cloned()
            .collect();
        facts.extend(cfacts::overdue(&overdue_new, snap.today, now));
        let n = facts.len();
        if n > 0 {
            self.journal.append(facts).await?;
            // Only after the journal took them.
            for o in &snap.records.outages {
                seen.outage_opened.insert(o.id.clone());
                if o.end_ms.is_some() {
                    seen.outage_closed.insert(o.id.clone());
                }
            }
            for f in &snap.findings {
                seen.findings.insert(
                    f.requirement_id.clone(),
                    (f.status.as_str().to_owned(), f.devices.clone()),
                );
            }
            for t in &snap.tasks {
                if t.done_ms.is_none() {
                    seen.opened.insert(task_key(t));
                }
                if t.state(snap.today, now) == TaskState::Overdue {
                    seen.overdue.insert(task_key(t));
                }
            }
        }
        Ok((snap, n))
    }
}
