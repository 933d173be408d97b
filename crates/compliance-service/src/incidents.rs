//! Diversion, theft and loss incidents: opening one (with the legal hold on the cameras covering
//! its areas, RET-03 / INC-02) and its updates (secured, root cause, corrective actions, closed).
use std::collections::BTreeSet;

use serde_json::json;
use strongroom_compliance::facts::{self as cfacts, kinds};
use strongroom_compliance::journal::incidents_of;
use strongroom_compliance::records::Incident;
use strongroom_domain::{Actor, Fact};

use crate::error::ComplianceError;
use crate::gather::facts_with_prefix;
use crate::input::{new_id, text, when, who};
use crate::kinds::HOLD_REQUESTED;
use crate::ports::HoldRequest;
use crate::service::ComplianceService;
use crate::views::{HoldOutcome, IncidentList, IncidentOpened, Recorded};

/// Default legal-hold window before an incident's discovery.
const HOLD_BEFORE_MS: i64 = 2 * 3_600_000;
/// Default legal-hold window after discovery.
const HOLD_AFTER_MS: i64 = 3_600_000;

/// A new incident.
#[derive(Debug, Clone, Default)]
pub struct IncidentInput {
    /// `diversion`, `theft` or `loss`.
    pub kind: String,
    /// What happened.
    pub description: String,
    /// What was affected.
    pub affected: String,
    /// When it was discovered (default: now).
    pub discovered_ms: Option<i64>,
    /// Areas involved (their covering cameras are held).
    pub areas: Vec<String>,
    /// Cameras to hold besides.
    pub cameras: Vec<String>,
    /// Hold window; default two hours before discovery to one hour after.
    pub hold_from_ms: Option<i64>,
    /// See `hold_from_ms`.
    pub hold_to_ms: Option<i64>,
}

/// A corrective action to add.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    /// What to do.
    pub description: String,
    /// Who owns it.
    pub owner: String,
    /// Due date, `YYYY-MM-DD`.
    pub due_local_date: Option<String>,
}

/// Changes to an incident.
#[derive(Debug, Clone, Default)]
pub struct IncidentUpdate {
    /// Record it as secured now.
    pub secured: bool,
    /// The root cause found.
    pub root_cause: Option<String>,
    /// A corrective action to add.
    pub action: Option<ActionInput>,
    /// A corrective action done (its id).
    pub action_done: Option<String>,
    /// Close it (once secured and with every action done).
    pub close: bool,
}

impl ComplianceService {
    async fn all_incidents(&self) -> Result<Vec<Incident>, ComplianceError> {
        Ok(incidents_of(
            &facts_with_prefix(&self.store, &self.site_id, "incident.").await?,
        ))
    }

    /// The incidents with their updates.
    pub async fn incidents(&self) -> Result<IncidentList, ComplianceError> {
        Ok(IncidentList {
            incidents: self.all_incidents().await?,
        })
    }

    /// The incident `id`, or [`ComplianceError::NotFound`].
    pub(crate) async fn incident(&self, id: &str) -> Result<Incident, ComplianceError> {
        self.all_incidents()
            .await?
            .into_iter()
            .find(|x| x.id == id)
            .ok_or_else(|| ComplianceError::NotFound(format!("incident {id:?}")))
    }

    /// Opens an incident and asks for a legal hold on the cameras covering its areas (plus any
    /// named); a hold the video subsystem cannot place is journaled as `hold.requested`.
    pub async fn open_incident(
        &self,
        actor: &Actor,
        b: IncidentInput,
    ) -> Result<IncidentOpened, ComplianceError> {
        let kind = text("kind", &b.kind, true)?;
        if !matches!(kind.as_str(), "diversion" | "theft" | "loss") {
            return Err(ComplianceError::BadRequest(
                "kind must be diversion, theft or loss".into(),
            ));
        }
        let config = self.config();
        for a in &b.areas {
            if !config.areas.iter().any(|x| &x.id == a) {
                return Err(ComplianceError::BadRequest(format!(
                    "no area {a:?} in the site model"
                )));
            }
        }
        for c in &b.cameras {
            if !config.cameras.iter().any(|x| &x.id == c) {
                return Err(ComplianceError::BadRequest(format!(
                    "no camera {c:?} in the site model"
                )));
            }
        }
        let now = self.clock.now_ms();
        let discovered = when(b.discovered_ms, now)?;
        let from = b.hold_from_ms.unwrap_or(discovered - HOLD_BEFORE_MS);
        let to = b.hold_to_ms.unwrap_or(discovered + HOLD_AFTER_MS);
        if to <= from {
            return Err(ComplianceError::BadRequest(
                "hold_to_ms must be after hold_from_ms".into(),
            ));
        }
        // The cameras covering the areas involved, plus any named.
        let mut cameras: BTreeSet<String> = b.cameras.iter().cloned().collect();
        for cam in &config.cameras {
            if cam.covers_areas.iter().any(|a| b.areas.contains(a)) {
                cameras.insert(cam.id.clone());
            }
        }
        let cameras: Vec<String> = cameras.into_iter().collect();
        let inc = Incident {
            id: new_id("inc", now)?,
            kind,
            discovered_ms: discovered,
            reporter: who(actor, None)?,
            description: text("description", &b.description, true)?,
            affected: text("affected", &b.affected, false)?,
            cameras: cameras.clone(),
            ..Incident::default()
        };
        let fact = cfacts::incident_opened(&inc, actor.clone())
            .with("reporter", inc.reporter.clone())
            .with("description", inc.description.clone())
            .with("affected", inc.affected.clone())
            .with("areas", b.areas.clone());
        let e = self.journal.append_one(fact).await?;
        let reason = format!("{} incident {}", inc.kind, inc.id);
        let hold = if cameras.is_empty() {
            HoldOutcome {
                reason: Some("no cameras cover the areas named".into()),
                ..HoldOutcome::default()
            }
        } else {
            let placed = self
                .site
                .place_hold(HoldRequest {
                    cameras: cameras.clone(),
                    from_ms: from,
                    to_ms: to,
                    reason: reason.clone(),
                    incident_id: inc.id.clone(),
                    by: actor.clone(),
                })
                .await;
            match placed {
                Ok(id) => HoldOutcome {
                    placed: true,
                    hold_id: Some(id),
                    ..HoldOutcome::default()
                },
                Err(err) => {
                    self.journal
                        .append_one(
                            Fact::new(HOLD_REQUESTED, actor.clone(), now)
                                .with("incident_id", inc.id.clone())
                                .with("cameras", cameras.clone())
                                .with("from_ms", from)
                                .with("to_ms", to)
                                .with("reason", reason)
                                .with("error", err.clone()),
                        )
                        .await?;
                    HoldOutcome {
                        requested: Some(true),
                        error: Some(err),
                        ..HoldOutcome::default()
                    }
                }
            }
        };
        Ok(IncidentOpened {
            id: inc.id,
            seq: e.seq,
            cameras,
            hold,
            hold_from_ms: from,
            hold_to_ms: to,
        })
    }

    /// Secures, investigates, remediates or closes incident `id`.
    pub async fn update_incident(
        &self,
        actor: &Actor,
        id: &str,
        b: IncidentUpdate,
    ) -> Result<Recorded, ComplianceError> {
        let inc = self.incident(id).await?;
        if inc.closed_ms.is_some() {
            return Err(ComplianceError::Conflict(format!(
                "incident {id} is closed"
            )));
        }
        let now = self.clock.now_ms();
        let mut fact =
            Fact::new(kinds::INCIDENT_UPDATED, actor.clone(), now).with("incident_id", id);
        let mut any = false;
        if b.secured {
            if inc.secured_ms.is_some() {
                return Err(ComplianceError::Conflict(
                    "already recorded as secured".into(),
                ));
            }
            fact = fact.with("secured_ms", now);
            any = true;
        }
        if let Some(rc) = &b.root_cause {
            fact = fact.with("root_cause", text("root_cause", rc, true)?);
            any = true;
        }
        if let Some(a) = &b.action {
            let due = match a.due_local_date.as_deref().filter(|d| !d.is_empty()) {
                Some(d) => Some(d.parse::<jiff::civil::Date>().map_err(|e| {
                    ComplianceError::BadRequest(format!(
                        "bad due_local_date {d:?}: {e} (use YYYY-MM-DD)"
                    ))
                })?),
                None => None,
            };
            let mut obj = json!({
                "id": format!("a{}", inc.actions.len() + 1),
                "description": text("action.description", &a.description, true)?,
                "owner": text("action.owner", &a.owner, false)?,
            });
            if let (Some(d), Some(o)) = (due, obj.as_object_mut()) {
                o.insert("due_local_date".into(), d.to_string().into());
            }
            fact = fact.with("action", obj);
            any = true;
        }
        if let Some(done) = &b.action_done {
            if !inc
                .actions
                .iter()
                .any(|a| &a.id == done && a.done_ms.is_none())
            {
                return Err(ComplianceError::BadRequest(format!(
                    "no open action {done:?}"
                )));
            }
            fact = fact.with("action_done", done.clone());
            any = true;
        }
        if b.close {
            let open_actions =
                inc.actions.iter().any(|a| a.done_ms.is_none()) && b.action_done.is_none();
            if open_actions || inc.secured_ms.is_none() && !b.secured {
                return Err(ComplianceError::Conflict(
                    "an incident closes only once secured and with every corrective action done"
                        .into(),
                ));
            }
            fact = fact.with("closed_ms", now);
            any = true;
        }
        if !any {
            return Err(ComplianceError::BadRequest("nothing to update".into()));
        }
        let e = self.journal.append_one(fact).await?;
        self.reevaluate().await;
        Ok(Recorded {
            id: id.to_owned(),
            seq: e.seq,
        })
    }
}
