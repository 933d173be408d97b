//! The operator API on people, credentials, vendors, secrets, the lockdown and access records:
//! each command is validated by the access core, journaled, applied, and answered with the
//! events that recorded it and, where it helps, the record it made.
use std::sync::Arc;

use strongroom_access::kinds as k;
use strongroom_access::records;
use strongroom_access::window::records_window;
use strongroom_access::{Command, NewCredential, NewPerson};
use strongroom_domain::{Actor, Fact};
use strongroom_journal::JournalEvent;
use strongroom_store::decode::fact_of_event;

use crate::error::AccessError;
use crate::service::AccessService;
use crate::views::{
    CredentialView, LockdownStatus, PersonView, RecordList, SecretList, VendorView,
};

/// The events a command recorded.
pub type Events = Vec<Arc<JournalEvent>>;

impl AccessService {
    /// Every registered person with credentials and location.
    pub async fn people(&self) -> Vec<PersonView> {
        self.read(|_, st| st.people().map(|p| PersonView::of(p, st)).collect())
            .await
    }

    /// One person.
    pub async fn person(&self, id: &str) -> Result<PersonView, AccessError> {
        self.read(|_, st| st.person(id).map(|p| PersonView::of(p, st)))
            .await
            .ok_or_else(|| AccessError::UnknownPerson(id.to_owned()))
    }

    /// Registers a person; returns the events and the person as registered.
    pub async fn add_person(
        &self,
        person: NewPerson,
        actor: &Actor,
    ) -> Result<(Events, Option<PersonView>), AccessError> {
        let id = person.id.clone();
        let events = self.command(&Command::AddPerson(person), actor).await?;
        let view = self
            .read(|_, st| st.person(&id).map(|p| PersonView::of(p, st)))
            .await;
        Ok((events, view))
    }

    /// Issues a credential; returns the events and the credential issued.
    pub async fn issue_credential(
        &self,
        credential: NewCredential,
        actor: &Actor,
    ) -> Result<(Events, Option<CredentialView>), AccessError> {
        let events = self
            .command(&Command::IssueCredential(credential), actor)
            .await?;
        let id = events
            .iter()
            .find(|e| e.kind == k::CREDENTIAL_ISSUED)
            .and_then(|e| fact_of_event(e))
            .and_then(|f| f.payload.get("credential")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        let view = self
            .read(|_, st| st.credential(&id).map(CredentialView::from))
            .await;
        Ok((events, view))
    }

    /// Every credential (no card number, PIN or hash).
    pub async fn credentials(&self) -> Vec<CredentialView> {
        self.read(|_, st| st.credentials().map(CredentialView::from).collect())
            .await
    }

    /// `suspend`, `reinstate` or `revoke` a credential; takes effect at once.
    pub async fn change_credential(
        &self,
        credential: String,
        action: &str,
        reason: String,
        actor: &Actor,
    ) -> Result<Events, AccessError> {
        let cmd = match action {
            "suspend" => Command::SuspendCredential { credential, reason },
            "reinstate" => Command::ReinstateCredential { credential, reason },
            "revoke" => Command::RevokeCredential { credential, reason },
            other => return Err(AccessError::UnknownCredentialAction(other.to_owned())),
        };
        self.command(&cmd, actor).await
    }

    /// Vendors and service professionals with their approval.
    pub async fn vendors(&self) -> Vec<VendorView> {
        self.read(|_, st| {
            st.people()
                .filter(|p| p.category.needs_vendor_approval())
                .map(|p| VendorView {
                    person: p.id.clone(),
                    name: p.name.clone(),
                    category: p.category,
                    status: p.status,
                    vendor: p.vendor.clone(),
                })
                .collect()
        })
        .await
    }

    /// The registered secrets and their holders.
    pub async fn secrets(&self) -> SecretList {
        SecretList {
            secrets: self.read(|_, st| st.secrets().cloned().collect()).await,
        }
    }

    /// Whether a lockdown is in force.
    pub async fn lockdown(&self) -> LockdownStatus {
        let lockdown = self.read(|_, st| st.lockdown().cloned()).await;
        LockdownStatus {
            active: lockdown.is_some(),
            lockdown,
        }
    }

    /// Access records for restricted areas in `[from_ms, to_ms)` (default: the last day; at most
    /// 31 days), for one person or area or all.
    pub async fn records(
        &self,
        person: Option<String>,
        area: Option<String>,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<RecordList, AccessError> {
        let (from, to) = records_window(from_ms, to_ms, self.clock.now_ms())?;
        let mut facts: Vec<(u64, Fact)> = Vec::new();
        for prefix in ["access.", "door."] {
            let evs = self
                .store
                .events_by_kind_and_time(&self.site_id, prefix, from, to)
                .await?;
            facts.extend(evs.iter().filter_map(|e| Some((e.seq, fact_of_event(e)?))));
        }
        facts.sort_by_key(|(s, _)| *s);
        let facts: Vec<Fact> = facts.into_iter().map(|(_, f)| f).collect();
        let records = records::access_records(
            &facts,
            &records::RecordQuery {
                person,
                area,
                from_ms: Some(from),
                to_ms: Some(to),
                secured_only: true,
            },
        );
        Ok(RecordList { records })
    }
}
