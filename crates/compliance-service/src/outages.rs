//! Security-system outages (derived from device health) with their report deadlines, the
//! details and notices recorded about them, and the approved vendor list with the submissions of
//! its changes.
use serde::Deserialize;
use strongroom_compliance::facts::kinds;
use strongroom_compliance::journal::outages_of;
use strongroom_compliance::schedule::TaskKind;
use strongroom_domain::{Actor, Fact};
use utoipa::ToSchema;

use crate::error::ComplianceError;
use crate::gather::{facts_with_prefix, vendors};
use crate::input::{text, when};
use crate::service::ComplianceService;
use crate::views::{OutageList, OutageView, Recorded, VendorList};

/// Details of an outage (at least one); also the body of the API's update.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutageUpdate {
    /// Its cause.
    #[serde(default)]
    pub cause: Option<String>,
    /// What was done about it.
    #[serde(default)]
    pub corrective_actions: Option<String>,
    /// When it was repaired, epoch ms.
    #[serde(default)]
    pub repaired_ms: Option<i64>,
    /// The regulator's approval of an extension.
    #[serde(default)]
    pub extension_approval_ref: Option<String>,
}

/// The immediate notice of an outage; also the body of the API's notice.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// How (`phone`, `email`).
    pub channel: String,
    /// To whom.
    pub recipient: String,
    /// When, epoch ms (default: now).
    #[serde(default)]
    pub time_ms: Option<i64>,
}

/// A report submitted to the regulator; also the body of the API's submissions.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The submission's reference.
    #[serde(default)]
    pub reference: String,
    /// When, epoch ms (default: now).
    #[serde(default)]
    pub time_ms: Option<i64>,
}

impl ComplianceService {
    /// The outages with their lost spans and report due dates.
    pub async fn outages(&self) -> Result<OutageList, ComplianceError> {
        let snap = self.site_snapshot().await?;
        let outages = snap
            .records
            .outages
            .iter()
            .map(|o| {
                let task = snap
                    .tasks
                    .iter()
                    .find(|t| t.subject == o.id && t.kind == TaskKind::OutageReport);
                OutageView {
                    outage: o.clone(),
                    report_due_local_date: task.map(|t| t.due_local_date.to_string()),
                    report_due_provisional: task.map(|t| t.provisional),
                    lost_ms: o
                        .lost_spans
                        .iter()
                        .map(|s| (s.end_ms - s.start_ms).max(0))
                        .sum(),
                }
            })
            .collect();
        Ok(OutageList { outages })
    }

    /// Ok if outage `id` exists.
    async fn known_outage(&self, id: &str) -> Result<(), ComplianceError> {
        let health = facts_with_prefix(&self.store, &self.site_id, "health.").await?;
        if outages_of(&self.config(), &health, &[])
            .iter()
            .any(|o| o.id == id)
        {
            Ok(())
        } else {
            Err(ComplianceError::NotFound(format!("outage {id:?}")))
        }
    }

    /// Adds cause, corrective actions, repair time or an extension approval to outage `id`.
    pub async fn update_outage(
        &self,
        actor: &Actor,
        id: &str,
        b: OutageUpdate,
    ) -> Result<Recorded, ComplianceError> {
        self.known_outage(id).await?;
        let now = self.clock.now_ms();
        let mut fact = Fact::new(kinds::OUTAGE_UPDATED, actor.clone(), now).with("outage_id", id);
        if let Some(c) = &b.cause {
            fact = fact.with("cause", text("cause", c, true)?);
        }
        if let Some(c) = &b.corrective_actions {
            fact = fact.with("corrective_actions", text("corrective_actions", c, true)?);
        }
        if let Some(t) = b.repaired_ms {
            fact = fact.with("repaired_ms", when(Some(t), now)?);
        }
        if let Some(a) = &b.extension_approval_ref {
            fact = fact.with(
                "extension_approval_ref",
                text("extension_approval_ref", a, true)?,
            );
        }
        if fact.payload.len() < 2 {
            return Err(ComplianceError::BadRequest("nothing to update".into()));
        }
        self.append_and_evaluate(id, fact).await
    }

    /// Records the immediate notice of outage `id`.
    pub async fn outage_notified(
        &self,
        actor: &Actor,
        id: &str,
        b: Notice,
    ) -> Result<Recorded, ComplianceError> {
        self.known_outage(id).await?;
        let now = self.clock.now_ms();
        let fact = Fact::new(kinds::OUTAGE_NOTIFIED, actor.clone(), now)
            .with("outage_id", id)
            .with("notified_ms", when(b.time_ms, now)?)
            .with("channel", text("channel", &b.channel, true)?)
            .with("recipient", text("recipient", &b.recipient, true)?);
        let e = self.journal.append_one(fact).await?;
        Ok(Recorded {
            id: id.to_owned(),
            seq: e.seq,
        })
    }

    /// Records the submission of outage `id`'s report.
    pub async fn outage_submitted(
        &self,
        actor: &Actor,
        id: &str,
        b: Submission,
    ) -> Result<Recorded, ComplianceError> {
        self.known_outage(id).await?;
        let now = self.clock.now_ms();
        let fact = Fact::new(kinds::OUTAGE_REPORT_SUBMITTED, actor.clone(), now)
            .with("outage_id", id)
            .with("submitted_ms", when(b.time_ms, now)?)
            .with("reference", text("reference", &b.reference, false)?);
        self.append_and_evaluate(id, fact).await
    }

    /// The approved vendor list and its changes.
    pub async fn vendors(&self) -> Result<VendorList, ComplianceError> {
        let (vendors, changes) = vendors(&self.store, &self.site_id).await?;
        Ok(VendorList { vendors, changes })
    }

    /// Records the submission of vendor-list change `id` to the regulator.
    pub async fn vendor_change_submitted(
        &self,
        actor: &Actor,
        id: &str,
        b: Submission,
    ) -> Result<Recorded, ComplianceError> {
        let (_, changes) = vendors(&self.store, &self.site_id).await?;
        match changes.iter().find(|c| c.id == id) {
            None => return Err(ComplianceError::NotFound(format!("vendor change {id:?}"))),
            Some(c) if c.submitted_ms.is_some() => {
                return Err(ComplianceError::Conflict(format!(
                    "change {id} was already reported"
                )));
            }
            Some(_) => {}
        }
        let now = self.clock.now_ms();
        let fact = Fact::new(kinds::VENDOR_CHANGE_SUBMITTED, actor.clone(), now)
            .with("change_id", id)
            .with("submitted_ms", when(b.time_ms, now)?)
            .with("reference", text("reference", &b.reference, false)?);
        self.append_and_evaluate(id, fact).await
    }

    /// Appends `fact` about record `id`, then re-evaluates.
    async fn append_and_evaluate(&self, id: &str, fact: Fact) -> Result<Recorded, ComplianceError> {
        let e = self.journal.append_one(fact).await?;
        self.reevaluate().await;
        Ok(Recorded {
            id: id.to_owned(),
            seq: e.seq,
        })
    }
}
