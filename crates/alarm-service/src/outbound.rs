//! The central station's durable outbound queue on the `alarm_outbound` table (migration 3),
//! kept after each ACK (`state = 'done'`) as the dispatch history, and the recorder that journals
//! every transmission attempt (DSP-01 dispatch log).
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_sia::queue::{
    AttemptOutcome, DispatchRecord, DispatchRecorder, OutboundItem, OutboundQueue, PathKind,
};
use strongroom_sia::{AlarmSignal, Protocol, Qualifier};
use strongroom_store::Store;

use crate::service::{AlarmService, lock};

/// Kind of one central-station transmission attempt (DSP-01 dispatch log).
pub const DISPATCH_ATTEMPT: &str = "dispatch.attempt";

/// The DC-09 sender's outbound queue on a table of its own (`alarm_outbound`); rows are kept
/// after their ACK (`state = 'done'`) as the dispatch history.
pub(crate) struct DbOutbound {
    pub(crate) store: Store,
    pub(crate) site: String,
    pub(crate) clock: Arc<dyn Clock>,
    /// The alarm the next pushed signal belongs to (set under `AlarmService::central_lock`).
    pub(crate) next_alarm: Mutex<Option<String>>,
    pub(crate) push_lock: tokio::sync::Mutex<()>,
}

#[derive(Serialize, Deserialize)]
struct StoredSignal {
    account: String,
    sia_dcs: bool,
    code: String,
    qualifier: String,
    zone: Option<u32>,
    partition: Option<u32>,
    user: Option<u32>,
    text: Option<String>,
    test: bool,
}

impl StoredSignal {
    fn from_signal(s: &AlarmSignal) -> Self {
        StoredSignal {
            account: s.account.clone(),
            sia_dcs: s.protocol == Protocol::SiaDcs,
            code: s.code.clone(),
            qualifier: match s.qualifier {
                Qualifier::New => "new",
                Qualifier::Restore => "restore",
                Qualifier::StatusRepeat => "status",
            }
            .to_owned(),
            zone: s.zone,
            partition: s.partition,
            user: s.user,
            text: s.text.clone(),
            test: s.test,
        }
    }

    fn to_signal(&self) -> AlarmSignal {
        let protocol = if self.sia_dcs {
            Protocol::SiaDcs
        } else {
            Protocol::ContactId
        };
        let q = match self.qualifier.as_str() {
            "restore" => Qualifier::Restore,
            "status" => Qualifier::StatusRepeat,
            _ => Qualifier::New,
        };
        let mut s = AlarmSignal::new(&self.account, protocol, &self.code, q);
        s.zone = self.zone;
        s.partition = self.partition;
        s.user = self.user;
        s.text = self.text.clone();
        s.test = self.test;
        s
    }
}

fn q_err(e: impl std::fmt::Display) -> strongroom_sia::queue::QueueError {
    strongroom_sia::queue::QueueError(e.to_string())
}

impl DbOutbound {
    /// Whether a signal for `alarm_id` was already queued (a follower resuming after a restart
    /// sees the `alarm.raised` facts it handled before its last saved position again).
    pub(crate) async fn has_alarm(&self, alarm_id: &str) -> bool {
        if alarm_id.is_empty() {
            return false;
        }
        sqlx::query(
            "SELECT 1 AS one FROM alarm_outbound WHERE site_id = $1 AND alarm_id = $2 LIMIT 1",
        )
        .bind(self.site.as_str())
        .bind(alarm_id)
        .fetch_optional(self.store.pool())
        .await
        .map(|r| r.is_some())
        .unwrap_or(false)
    }

    /// The alarm a queued signal belongs to.
    async fn alarm_of(&self, id: u64) -> Option<String> {
        let id = i64::try_from(id).ok()?;
        let row = sqlx::query("SELECT alarm_id FROM alarm_outbound WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await
            .ok()??;
        row.try_get::<String, _>("alarm_id")
            .ok()
            .filter(|s| !s.is_empty())
    }
}

impl OutboundQueue for DbOutbound {
    async fn push(
        &self,
        signal: AlarmSignal,
        at: Timestamp,
    ) -> Result<u64, strongroom_sia::queue::QueueError> {
        let _g = self.push_lock.lock().await;
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS m FROM alarm_outbound")
            .fetch_one(self.store.pool())
            .await
            .map_err(q_err)?;
        let max: i64 = row.try_get("m").map_err(q_err)?;
        let id = max.saturating_add(1);
        let alarm = lock(&self.next_alarm).take().unwrap_or_default();
        let body = serde_json::to_string(&StoredSignal::from_signal(&signal)).map_err(q_err)?;
        sqlx::query(
            "INSERT INTO alarm_outbound (id, site_id, alarm_id, signal, enqueued_ms, state, done_ms) VALUES ($1, $2, $3, $4, $5, 'pending', 0)",
        )
        .bind(id)
        .bind(self.site.as_str())
        .bind(alarm)
        .bind(body)
        .bind(at.as_millisecond())
        .execute(self.store.pool())
        .await
        .map_err(q_err)?;
        u64::try_from(id).map_err(q_err)
    }

    async fn front(&self) -> Result<Option<OutboundItem>, strongroom_sia::queue::QueueError> {
        let row = sqlx::query(
            "SELECT id, signal, enqueued_ms FROM alarm_outbound WHERE site_id = $1 AND state = 'pending' ORDER BY id LIMIT 1",
        )
        .bind(self.site.as_str())
        .fetch_optional(self.store.pool())
        .await
        .map_err(q_err)?;
        let Some(r) = row else {
            return Ok(None);
        };
        let id: i64 = r.try_get("id").map_err(q_err)?;
        let body: String = r.try_get("signal").map_err(q_err)?;
        let at: i64 = r.try_get("enqueued_ms").map_err(q_err)?;
        let stored: StoredSignal = serde_json::from_str(&body).map_err(q_err)?;
        Ok(Some(OutboundItem {
            id: u64::try_from(id).map_err(q_err)?,
            signal: stored.to_signal(),
            enqueued_at: Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH),
        }))
    }

    async fn remove(&self, id: u64) -> Result<(), strongroom_sia::queue::QueueError> {
        sqlx::query("UPDATE alarm_outbound SET state = 'done', done_ms = $1 WHERE id = $2")
            .bind(self.clock.now_ms())
            .bind(i64::try_from(id).map_err(q_err)?)
            .execute(self.store.pool())
            .await
            .map_err(q_err)?;
        Ok(())
    }

    async fn pending(&self) -> Result<usize, strongroom_sia::queue::QueueError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM alarm_outbound WHERE site_id = $1 AND state = 'pending'",
        )
        .bind(self.site.as_str())
        .fetch_one(self.store.pool())
        .await
        .map_err(q_err)?;
        let n: i64 = row.try_get("n").map_err(q_err)?;
        usize::try_from(n).map_err(q_err)
    }
}

/// Journals every central-station attempt; an ACK also records the alarm as dispatched.
pub(crate) struct Recorder {
    pub(crate) rt: Arc<AlarmService>,
    pub(crate) queue: Arc<DbOutbound>,
}

impl DispatchRecorder for Recorder {
    async fn record(&self, r: DispatchRecord) {
        let alarm_id = self.queue.alarm_of(r.item_id).await;
        let (outcome, detail) = match &r.outcome {
            AttemptOutcome::Ack => ("ack", String::new()),
            AttemptOutcome::Nak { .. } => ("nak", String::new()),
            AttemptOutcome::Duh => ("duh", String::new()),
            AttemptOutcome::Timeout => ("timeout", String::new()),
            AttemptOutcome::Failed(e) => ("failed", e.clone()),
        };
        let mut core = self.rt.core.lock().await;
        let rec = alarm_id.as_deref().and_then(|a| core.queue.get(a, true));
        let silent = rec.is_some_and(|x| !x.visibility.visible_to(false));
        let mut attempt = Fact::new(
            DISPATCH_ATTEMPT,
            Actor::System,
            r.completed_at.as_millisecond(),
        )
        .with("item_id", r.item_id)
        .with("seq", r.seq)
        .with("account", r.account.clone())
        .with("code", r.code.clone())
        .with("original_code", r.original_code.clone())
        .with("test", r.test)
        .with("receiver", r.receiver.to_string())
        .with(
            "path",
            match r.path {
                PathKind::Primary => "primary",
                PathKind::Secondary => "secondary",
            },
        )
        .with("attempt", r.attempt)
        .with("sent_ms", r.sent_at.as_millisecond())
        .with("completed_ms", r.completed_at.as_millisecond())
        .with("outcome", outcome)
        .with("alarm_id", alarm_id.clone());
        if !detail.is_empty() {
            attempt = attempt.with("error", detail);
        }
        if silent {
            attempt = attempt.with("visibility", "monitoring");
        }
        let mut facts = vec![attempt];
        if r.outcome == AttemptOutcome::Ack
            && let Some(a) = &alarm_id
            && let Ok(f) = core.queue.dispatched(
                a,
                "central_station",
                &Actor::System,
                r.completed_at.as_millisecond(),
            )
        {
            facts.push(f);
        }
        if let Err(e) = self.rt.commit(&mut core, facts).await {
            tracing::error!(error = %e, "cannot journal a dispatch attempt");
        }
    }
}
