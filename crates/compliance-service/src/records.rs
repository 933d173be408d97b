//! Findings and deadlines, and the records an officer enters: inspections and tests,
//! preventive maintenance, recurring activities and attestations of physical items.
use std::collections::BTreeMap;

use serde_json::Value;
use strongroom_compliance::check::summarize;
use strongroom_compliance::facts::{self as cfacts, kinds};
use strongroom_compliance::journal::{attestation, is_activity_name};
use strongroom_compliance::pack::Check;
use strongroom_compliance::records::{Attestation, Inspection};
use strongroom_compliance::schedule::{self, Task};
use strongroom_domain::{Actor, Fact};

use crate::error::ComplianceError;
use crate::gather::gather_records;
use crate::input::{new_id, opt_text, text, when, who};
use crate::service::ComplianceService;
use crate::snapshot::site_pack;
use crate::views::{
    AttestationItem, AttestationList, AttestationRecorded, Evaluation, FindingsView,
    InspectionList, InspectionRecorded, PackInfo, Recorded, TaskList, TaskView,
};

/// An inspection and test of a device.
#[derive(Debug, Clone, Default)]
pub struct InspectionInput {
    /// The device (one the site model says is inspected).
    pub device_id: String,
    /// Whether it passed.
    pub passed: bool,
    /// Who inspected (default: the caller).
    pub by: Option<String>,
    /// Notes.
    pub notes: String,
    /// When (default: now).
    pub time_ms: Option<i64>,
}

/// A preventive-maintenance visit.
#[derive(Debug, Clone, Default)]
pub struct MaintenanceInput {
    /// The vendor.
    pub vendor_id: String,
    /// What was maintained.
    pub scope: String,
    /// The vendor's report reference.
    pub report_ref: String,
    /// When (default: now).
    pub time_ms: Option<i64>,
}

/// A recurring activity done.
#[derive(Debug, Clone, Default)]
pub struct ActivityInput {
    /// Its name (`le_meeting`, `emergency_drill`).
    pub activity: String,
    /// Notes.
    pub notes: String,
    /// When (default: now).
    pub time_ms: Option<i64>,
}

/// An attestation of a physical item.
#[derive(Debug, Clone, Default)]
pub struct AttestationInput {
    /// The pack's item.
    pub item: String,
    /// What it is about (default `site`).
    pub subject: String,
    /// Whether the item is in place.
    pub in_place: bool,
    /// Measured values: decimal numbers or strings in the unit named by the key (`width_in`).
    pub values: BTreeMap<String, Value>,
    /// A choice among the pack's options.
    pub choice: Option<String>,
    /// Free text.
    pub text: Option<String>,
    /// An approval reference.
    pub approval_ref: Option<String>,
    /// Who attests (default: the caller).
    pub by: Option<String>,
}

impl ComplianceService {
    /// Evaluates the pack now (journaling changes); the findings with citations.
    pub async fn findings(&self) -> Result<FindingsView, ComplianceError> {
        let (snap, journaled) = self.evaluate_and_journal().await?;
        Ok(FindingsView {
            pack: PackInfo {
                id: snap.pack.id.clone(),
                title: snap.pack.title.clone(),
                law: snap.pack.law.clone(),
                effective: snap.pack.effective.to_string(),
                regulator: snap.pack.regulator.clone(),
            },
            evaluated_ms: snap.now_ms,
            summary: summarize(&snap.findings),
            journaled,
            findings: snap.findings,
        })
    }

    /// Evaluates and journals changes now.
    pub async fn evaluate(&self) -> Result<Evaluation, ComplianceError> {
        let (snap, journaled) = self.evaluate_and_journal().await?;
        Ok(Evaluation {
            evaluated_ms: snap.now_ms,
            summary: summarize(&snap.findings),
            journaled,
        })
    }

    /// The deadlines with due dates and states, by due date.
    pub async fn tasks(&self) -> Result<TaskList, ComplianceError> {
        let snap = self.site_snapshot().await?;
        let mut tasks: Vec<&Task> = snap.tasks.iter().collect();
        tasks.sort_by(|a, b| (a.due_local_date, &a.id).cmp(&(b.due_local_date, &b.id)));
        Ok(TaskList {
            today: snap.today.to_string(),
            timezone: self.config().site.timezone.clone(),
            tasks: tasks
                .into_iter()
                .map(|t| TaskView {
                    task: t.clone(),
                    state: t.state(snap.today, snap.now_ms),
                    days_overdue: t.days_overdue(snap.today),
                })
                .collect(),
        })
    }

    /// The inspections recorded and the devices that can be inspected.
    pub async fn inspections(&self) -> Result<InspectionList, ComplianceError> {
        let config = self.config();
        let r = gather_records(&self.store, &self.site_id, &config, Vec::new()).await?;
        Ok(InspectionList {
            devices: schedule::inspectable_devices(&config)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            inspections: r.inspections,
        })
    }

    /// Records an inspection and test.
    pub async fn record_inspection(
        &self,
        actor: &Actor,
        i: InspectionInput,
    ) -> Result<InspectionRecorded, ComplianceError> {
        let config = self.config();
        let device = text("device_id", &i.device_id, true)?;
        if !schedule::inspectable_devices(&config).contains(&device.as_str()) {
            return Err(ComplianceError::BadRequest(format!(
                "no inspectable device {device:?} in the site model"
            )));
        }
        let now = self.clock.now_ms();
        let ins = Inspection {
            id: new_id("ins", now)?,
            device_id: device,
            time_ms: when(i.time_ms, now)?,
            by: who(actor, i.by.as_deref())?,
            passed: i.passed,
            notes: text("notes", &i.notes, false)?,
        };
        let fact =
            cfacts::inspection_recorded(&ins, actor.clone()).with("notes", ins.notes.clone());
        let e = self.journal.append_one(fact).await?;
        self.reevaluate().await;
        Ok(InspectionRecorded {
            id: ins.id.clone(),
            seq: e.seq,
            inspection: ins,
        })
    }

    /// Records preventive maintenance.
    pub async fn record_maintenance(
        &self,
        actor: &Actor,
        m: MaintenanceInput,
    ) -> Result<Recorded, ComplianceError> {
        let now = self.clock.now_ms();
        let id = new_id("mnt", now)?;
        let fact = Fact::new(
            kinds::MAINTENANCE_RECORDED,
            actor.clone(),
            when(m.time_ms, now)?,
        )
        .with("maintenance_id", id.clone())
        .with("vendor_id", text("vendor_id", &m.vendor_id, true)?)
        .with("scope", text("scope", &m.scope, true)?)
        .with("report_ref", text("report_ref", &m.report_ref, false)?);
        let e = self.journal.append_one(fact).await?;
        self.reevaluate().await;
        Ok(Recorded { id, seq: e.seq })
    }

    /// Records a meeting, drill or training.
    pub async fn record_activity(
        &self,
        actor: &Actor,
        a: ActivityInput,
    ) -> Result<Recorded, ComplianceError> {
        let activity = text("activity", &a.activity, true)?;
        if !is_activity_name(&activity) {
            return Err(ComplianceError::BadRequest(
                "activity is a name like le_meeting or emergency_drill".into(),
            ));
        }
        let now = self.clock.now_ms();
        let id = new_id("act", now)?;
        let fact = Fact::new(
            kinds::ACTIVITY_RECORDED,
            actor.clone(),
            when(a.time_ms, now)?,
        )
        .with("activity_id", id.clone())
        .with("activity", activity)
        .with("notes", text("notes", &a.notes, false)?);
        let e = self.journal.append_one(fact).await?;
        self.reevaluate().await;
        Ok(Recorded { id, seq: e.seq })
    }

    /// The attestation items the pack asks for (with their limits) and the attestations.
    pub async fn attestations(&self) -> Result<AttestationList, ComplianceError> {
        let config = self.config();
        let pack = site_pack(&config)?;
        let r = gather_records(&self.store, &self.site_id, &config, Vec::new()).await?;
        let items = pack
            .requirements
            .iter()
            .filter_map(|req| match &req.check {
                Check::Attestation { item, .. } => Some(AttestationItem {
                    requirement_id: req.id.clone(),
                    citation: req.citation.clone(),
                    title: req.title.clone(),
                    item: item.clone(),
                    params: req.check.params_summary(),
                }),
                _ => None,
            })
            .collect();
        Ok(AttestationList {
            items,
            attestations: r.attestations,
        })
    }

    /// Records an attestation with measured values.
    pub async fn record_attestation(
        &self,
        actor: &Actor,
        b: AttestationInput,
    ) -> Result<AttestationRecorded, ComplianceError> {
        let item = text("item", &b.item, true)?;
        let pack = site_pack(&self.config())?;
        let known = pack
            .requirements
            .iter()
            .any(|r| matches!(&r.check, Check::Attestation { item: i, .. } if *i == item));
        if !known {
            return Err(ComplianceError::BadRequest(format!(
                "the {} pack has no attestation item {item:?}",
                pack.id
            )));
        }
        let values_milli = attestation::values_milli(&b.values)
            .map_err(|e| ComplianceError::BadRequest(e.to_string()))?;
        let now = self.clock.now_ms();
        let subject = text("subject", &b.subject, false)?;
        let a = Attestation {
            id: new_id("att", now)?,
            item,
            subject: if subject.is_empty() {
                "site".into()
            } else {
                subject
            },
            time_ms: now,
            by: who(actor, b.by.as_deref())?,
            values_milli,
            choice: opt_text("choice", b.choice.as_deref())?,
            text: opt_text("text", b.text.as_deref())?,
            approval_ref: opt_text("approval_ref", b.approval_ref.as_deref())?,
            in_place: b.in_place,
        };
        let mut fact = cfacts::attestation_recorded(&a, actor.clone()).with("by", a.by.clone());
        for (k, v) in [
            ("choice", &a.choice),
            ("text", &a.text),
            ("approval_ref", &a.approval_ref),
        ] {
            if let Some(v) = v {
                fact = fact.with(k, v.clone());
            }
        }
        let e = self.journal.append_one(fact).await?;
        self.reevaluate().await;
        Ok(AttestationRecorded {
            id: a.id.clone(),
            seq: e.seq,
            attestation: a,
        })
    }
}
