//! The runtime: [`Notifier`] feeds facts to the escalation engine and puts due steps in the outbox;
//! [`Dispatcher`] takes due items from the outbox, sends them, records the outcome and emits facts.
//!
//! Both are tokio tasks driven by the injected clock; each wakes at the next due time (at most
//! `idle_poll_ms` later, so a manual clock moved by a test is noticed) or when poked.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strongroom_domain::{Clock, Fact};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::channel::{Channel, RetryPolicy};
use crate::escalation::{AckError, AckOutcome, Escalator, TriggerOutcome};
use crate::facts::{self, FactSink};
use crate::outbox::{Outbox, OutboxError, OutboxItem};

/// Errors from the runtime.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Acknowledgment refused.
    #[error(transparent)]
    Ack(#[from] AckError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// Internal failure (poisoned lock).
    #[error("notify internal error: {0}")]
    Internal(String),
}

/// Dispatcher tuning.
#[derive(Debug, Clone, Copy)]
pub struct DispatcherConfig {
    /// Backoff for temporary failures.
    pub retry: RetryPolicy,
    /// Sends in flight at once.
    pub max_in_flight: usize,
    /// How long a taken item is leased; must exceed the channels' timeouts (ms).
    pub lease_ms: i64,
    /// Longest sleep between outbox polls (ms).
    pub idle_poll_ms: u64,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            retry: RetryPolicy::default(),
            max_in_flight: 16,
            lease_ms: 60_000,
            idle_poll_ms: 500,
        }
    }
}

/// Sends what the outbox holds.
pub struct Dispatcher<O: Outbox> {
    outbox: Arc<O>,
    channel: Arc<dyn Channel>,
    sink: Arc<dyn FactSink>,
    clock: Arc<dyn Clock>,
    config: DispatcherConfig,
    wake: Arc<Notify>,
}

impl<O: Outbox> std::fmt::Debug for Dispatcher<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("config", &self.config)
            .finish()
    }
}

impl<O: Outbox> Dispatcher<O> {
    /// A dispatcher over `outbox`, sending through `channel` (usually a [`crate::Channels`]).
    pub fn new(
        outbox: Arc<O>,
        channel: Arc<dyn Channel>,
        sink: Arc<dyn FactSink>,
        clock: Arc<dyn Clock>,
        config: DispatcherConfig,
    ) -> Self {
        Dispatcher {
            outbox,
            channel,
            sink,
            clock,
            config,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The handle that wakes the dispatcher (give it to [`Notifier::new`]).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// One attempt at one item, recorded in the outbox and reported as facts.
    async fn process(&self, item: OutboxItem) -> Result<(), OutboxError> {
        let d = &item.delivery;
        let attempts = item.attempts.saturating_add(1);
        match self.channel.send(d).await {
            Ok(r) => {
                self.outbox.mark_sent(&d.id, attempts, r.clone()).await?;
                self.sink.emit(facts::sent(d, &r, attempts));
                if let Some(t) = r.delivered_ms {
                    self.sink.emit(facts::delivered(d, &r, t));
                }
            }
            Err(e) => {
                let now_ms = self.clock.now_ms();
                let next = e
                    .is_retryable()
                    .then(|| self.config.retry.delay_ms(attempts))
                    .flatten()
                    .map(|delay| now_ms.saturating_add(delay));
                match next {
                    Some(t) => {
                        self.outbox
                            .mark_retry(&d.id, attempts, t, &e.to_string())
                            .await?
                    }
                    None => {
                        self.outbox
                            .mark_failed(&d.id, attempts, &e.to_string())
                            .await?
                    }
                }
                self.sink.emit(facts::failed(d, &e, attempts, now_ms, next));
            }
        }
        Ok(())
    }

    /// Sends everything due now, waits for the outcomes, and returns how many items were tried.
    pub async fn run_once(&self) -> Result<usize, OutboxError> {
        let items = self
            .outbox
            .take_due(
                self.clock.now_ms(),
                self.config.max_in_flight.max(1),
                self.config.lease_ms,
            )
            .await?;
        let n = items.len();
        let mut results = Vec::with_capacity(n);
        // Sequential is enough for tests and tools; `run` sends concurrently.
        for item in items {
            results.push(self.process(item).await);
        }
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(n)
    }

    /// Runs until `shutdown` turns true (or its sender is dropped).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut in_flight: JoinSet<Result<(), OutboxError>> = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = self
                .config
                .max_in_flight
                .max(1)
                .saturating_sub(in_flight.len());
            let now_ms = self.clock.now_ms();
            if free > 0 {
                match self
                    .outbox
                    .take_due(now_ms, free, self.config.lease_ms)
                    .await
                {
                    Ok(items) => {
                        for item in items {
                            let me = self.clone();
                            in_flight.spawn(async move { me.process(item).await });
                        }
                    }
                    Err(e) => self.sink.emit(facts::outbox_error(&e.to_string(), now_ms)),
                }
            }
            let idle = self.config.idle_poll_ms.max(1);
            let sleep_ms = if in_flight.len() >= self.config.max_in_flight.max(1) {
                idle
            } else {
                match self.outbox.next_due_ms().await {
                    Ok(Some(t)) => u64::try_from(t.saturating_sub(self.clock.now_ms()))
                        .unwrap_or(0)
                        .min(idle),
                    Ok(None) => idle,
                    Err(_) => idle,
                }
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                Some(res) = in_flight.join_next(), if !in_flight.is_empty() => {
                    if let Ok(Err(e)) = res {
                        self.sink.emit(facts::outbox_error(&e.to_string(), self.clock.now_ms()));
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
                r = shutdown.changed() => { if r.is_err() { break; } }
            }
        }
        // Let sends in flight finish so their outcome is recorded.
        while in_flight.join_next().await.is_some() {}
    }
}

/// Facts in, deliveries into the outbox: the escalation engine with its timer.
pub struct Notifier<O: Outbox> {
    escalator: Mutex<Escalator>,
    outbox: Arc<O>,
    sink: Arc<dyn FactSink>,
    clock: Arc<dyn Clock>,
    dispatch_wake: Arc<Notify>,
    timer_wake: Notify,
    idle_poll_ms: u64,
}

impl<O: Outbox> std::fmt::Debug for Notifier<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

impl<O: Outbox> Notifier<O> {
    /// A notifier; `dispatch_wake` is [`Dispatcher::waker`].
    pub fn new(
        escalator: Escalator,
        outbox: Arc<O>,
        sink: Arc<dyn FactSink>,
        clock: Arc<dyn Clock>,
        dispatch_wake: Arc<Notify>,
    ) -> Self {
        Notifier {
            escalator: Mutex::new(escalator),
            outbox,
            sink,
            clock,
            dispatch_wake,
            timer_wake: Notify::new(),
            idle_poll_ms: 500,
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Escalator>, NotifyError> {
        self.escalator
            .lock()
            .map_err(|_| NotifyError::Internal("escalator lock poisoned".into()))
    }

    /// Offers a fact (call it for every journaled fact; `notify.*` facts are ignored). Opens an
    /// incident if a chain applies and queues the steps due now.
    pub async fn on_fact(&self, fact: &Fact) -> Result<TriggerOutcome, NotifyError> {
        self.replay(fact, self.clock.now_ms()).await
    }

    /// Like [`Notifier::on_fact`] with the original trigger time: after a restart, replay each
    /// unacknowledged triggering fact from the journal with the time it was first triggered (then
    /// replay the acknowledgments). Steps keep their schedule, overdue ones are queued at once,
    /// and the outbox drops deliveries it already holds (ids are derived from the fact).
    pub async fn replay(
        &self,
        fact: &Fact,
        triggered_ms: i64,
    ) -> Result<TriggerOutcome, NotifyError> {
        if fact.kind.starts_with("notify.") {
            return Ok(TriggerOutcome::nothing(None));
        }
        let out = self.lock()?.trigger(fact, triggered_ms);
        let now_ms = self.clock.now_ms();
        let silent = crate::escalation::is_silent(fact);
        for s in &out.suppressed {
            self.sink
                .emit(facts::suppressed(s, &fact.kind, silent, now_ms));
        }
        if out.opened || out.scheduled > 0 {
            self.pump().await?;
            self.timer_wake.notify_one();
        }
        Ok(out)
    }

    /// Replays, after a restart, a triggering fact whose incident was acknowledged (the
    /// acknowledgment is in the journal): nothing is sent or journaled, but a failure episode is
    /// in progress again so its restore still reaches the people the failure did.
    pub fn replay_acknowledged(
        &self,
        fact: &Fact,
        triggered_ms: i64,
        by: &str,
        ack_ms: i64,
    ) -> Result<TriggerOutcome, NotifyError> {
        Ok(self
            .lock()?
            .replay_acknowledged(fact, triggered_ms, by, ack_ms))
    }

    /// The incidents held, newest first.
    pub fn incidents(&self) -> Result<Vec<crate::escalation::IncidentView>, NotifyError> {
        Ok(self.lock()?.incidents())
    }

    /// The incident an id or short code names.
    pub fn resolve(&self, id_or_code: &str) -> Result<Option<String>, NotifyError> {
        Ok(self.lock()?.resolve(id_or_code))
    }

    /// Records an acknowledgment: later steps never fire and queued ones are cancelled.
    pub async fn acknowledge(
        &self,
        incident_id: &str,
        by: &str,
    ) -> Result<AckOutcome, NotifyError> {
        let now_ms = self.clock.now_ms();
        let ack = self.lock()?.acknowledge(incident_id, by, now_ms)?;
        self.outbox.cancel_incident(incident_id).await?;
        self.sink.emit(facts::acknowledged(&ack));
        Ok(ack)
    }

    /// Records a provider status callback for a sent delivery (the server routes the provider's
    /// callback here; put the delivery id in the callback URL). `delivered`, `answered`,
    /// `completed` → `notify.delivered`; `failed`, `undelivered`, `busy`, `no-answer`, `canceled`
    /// → a final `notify.failed`; anything else (queued, ringing, ...) → nothing. Returns the fact
    /// emitted. Escalation is unaffected: only an acknowledgment stops it.
    pub async fn provider_status(
        &self,
        delivery_id: &str,
        status: &str,
        at_ms: i64,
    ) -> Result<Option<Fact>, NotifyError> {
        let item = self
            .outbox
            .get(delivery_id)
            .await?
            .ok_or_else(|| OutboxError::UnknownItem(delivery_id.to_owned()))?;
        let Some(receipt) = item.receipt else {
            return Ok(None);
        };
        let fact = match status.to_ascii_lowercase().as_str() {
            "delivered" | "answered" | "completed" => {
                facts::delivered(&item.delivery, &receipt, at_ms)
            }
            "failed" | "undelivered" | "busy" | "no-answer" | "canceled" => facts::failed(
                &item.delivery,
                &crate::channel::SendError::Permanent(format!("provider status {status}")),
                item.attempts,
                at_ms,
                None,
            ),
            _ => return Ok(None),
        };
        self.sink.emit(fact.clone());
        Ok(Some(fact))
    }

    /// Moves the steps due now into the outbox; returns how many were new there.
    pub async fn pump(&self) -> Result<usize, NotifyError> {
        let now_ms = self.clock.now_ms();
        let due = self.lock()?.tick(now_ms);
        let mut added = 0;
        for d in due {
            if self.outbox.enqueue(d.clone()).await? {
                added += 1;
                if d.is_escalation() {
                    self.sink.emit(facts::escalated(&d, now_ms));
                }
            }
        }
        if added > 0 {
            self.dispatch_wake.notify_one();
        }
        Ok(added)
    }

    /// Runs the escalation timer until `shutdown` turns true.
    pub async fn run_timer(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.pump().await {
                self.sink
                    .emit(facts::outbox_error(&e.to_string(), self.clock.now_ms()));
            }
            let next = self.lock().ok().and_then(|e| e.next_due_ms());
            let idle = self.idle_poll_ms.max(1);
            let sleep_ms = next
                .map(|t| u64::try_from(t.saturating_sub(self.clock.now_ms())).unwrap_or(0))
                .map_or(idle, |d| d.min(idle));
            tokio::select! {
                _ = self.timer_wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
                r = shutdown.changed() => { if r.is_err() { break; } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::{Receipt, SendError, SendFuture};
    use crate::escalation::{ChannelRule, Delivery, EscalatorConfig};
    use crate::facts::VecSink;
    use crate::outbox::{FileOutbox, ItemState, MemoryOutbox};
    use std::collections::VecDeque;
    use strongroom_domain::site::{
        Chain, ChainStep, Channel as Kind, Contact, Notify as SiteNotify,
    };
    use strongroom_domain::{Actor, ManualClock};

    /// A channel answering from a script (then OK), recording what it was asked.
    struct Scripted {
        answers: Mutex<VecDeque<Result<(), SendError>>>,
        seen: Mutex<Vec<String>>,
        clock: ManualClock,
    }

    impl Channel for Scripted {
        fn send<'a>(&'a self, d: &'a Delivery) -> SendFuture<'a> {
            Box::pin(async move {
                if let Ok(mut s) = self.seen.lock() {
                    s.push(d.id.clone());
                }
                let next = self.answers.lock().ok().and_then(|mut a| a.pop_front());
                next.unwrap_or(Ok(()))?;
                let now = self.clock.now_ms();
                Ok(Receipt {
                    delivery_id: d.id.clone(),
                    channel: d.channel,
                    provider_id: Some("SMx".into()),
                    response: "201 queued".into(),
                    sent_ms: now,
                    accepted_ms: now,
                    delivered_ms: None,
                })
            })
        }
    }

    fn escalator() -> Escalator {
        let notify = SiteNotify {
            smtp: None,
            webhook: None,
            contacts: vec![
                Contact {
                    id: "manager".into(),
                    name: "Manager".into(),
                    phone: Some("+15550001111".into()),
                    email: Some("m@example.invalid".into()),
                    monitoring: false,
                },
                Contact {
                    id: "owner".into(),
                    name: "Owner".into(),
                    phone: Some("+15550002222".into()),
                    email: None,
                    monitoring: false,
                },
            ],
            chains: vec![Chain {
                id: "failures".into(),
                applies_to: vec!["health.*".into()],
                steps: vec![
                    ChainStep {
                        contact: "manager".into(),
                        channel: Kind::Sms,
                        after_s: 0,
                    },
                    ChainStep {
                        contact: "manager".into(),
                        channel: Kind::Email,
                        after_s: 0,
                    },
                    ChainStep {
                        contact: "owner".into(),
                        channel: Kind::Voice,
                        after_s: 120,
                    },
                ],
            }],
        };
        Escalator::new(EscalatorConfig {
            notify,
            channel_rules: vec![ChannelRule::il_failures()],
            ..EscalatorConfig::default()
        })
    }

    type Rig = (
        Arc<Notifier<MemoryOutbox>>,
        Dispatcher<MemoryOutbox>,
        Arc<MemoryOutbox>,
        Arc<VecSink>,
        Arc<Scripted>,
        ManualClock,
    );

    fn setup(answers: Vec<Result<(), SendError>>) -> Rig {
        let clock = ManualClock::new(1_000_000);
        let esc = escalator();
        let outbox = Arc::new(MemoryOutbox::new());
        let sink = Arc::new(VecSink::default());
        let chan = Arc::new(Scripted {
            answers: Mutex::new(answers.into()),
            seen: Mutex::new(Vec::new()),
            clock: clock.clone(),
        });
        let cfg = DispatcherConfig {
            retry: RetryPolicy {
                base_ms: 1_000,
                max_delay_ms: 10_000,
                max_attempts: 3,
            },
            ..DispatcherConfig::default()
        };
        let disp = Dispatcher::new(
            outbox.clone(),
            chan.clone(),
            sink.clone(),
            Arc::new(clock.clone()),
            cfg,
        );
        let notifier = Arc::new(Notifier::new(
            esc,
            outbox.clone(),
            sink.clone(),
            Arc::new(clock.clone()),
            disp.waker(),
        ));
        (notifier, disp, outbox, sink, chan, clock)
    }

    /// Camera `cam` reported down at `t_ms`.
    fn camera_down(cam: &str, t_ms: i64) -> Fact {
        Fact::new("health.camera_down", Actor::Device(cam.into()), t_ms)
    }

    fn kinds(sink: &VecSink) -> Vec<String> {
        sink.facts().into_iter().map(|f| f.kind).collect()
    }

    #[tokio::test]
    async fn failure_reaches_sms_then_escalates_to_voice_with_times() {
        let (n, d, _o, sink, chan, clock) = setup(vec![]);
        let f = camera_down("cam-1", 999_000);
        let out = n.on_fact(&f).await.expect("fact");
        assert_eq!(out.suppressed.len(), 1, "IL: email step suppressed");
        assert_eq!(d.run_once().await.expect("run"), 1);
        clock.advance_ms(119_999);
        n.pump().await.expect("pump");
        assert_eq!(d.run_once().await.expect("run"), 0);
        clock.advance_ms(1);
        n.pump().await.expect("pump");
        assert_eq!(d.run_once().await.expect("run"), 1);
        assert_eq!(
            kinds(&sink),
            [
                facts::SUPPRESSED,
                facts::SENT,
                facts::ESCALATED,
                facts::SENT
            ]
        );
        let sent = &sink.facts()[1];
        assert_eq!(sent.payload["onset_ms"], 999_000);
        assert_eq!(sent.payload["onset_to_accepted_ms"], 1_000);
        assert_eq!(sent.payload["contact_name"], "Manager");
        assert!(sink.facts().iter().all(|f| f.validate().is_ok()));
        assert_eq!(chan.seen.lock().map(|s| s.len()).unwrap_or(0), 2);
    }

    #[tokio::test]
    async fn provider_callbacks_become_delivered_or_failed_facts() {
        let (n, d, _o, sink, _chan, _clock) = setup(vec![]);
        let f = camera_down("cam-4", 990_000);
        n.on_fact(&f).await.expect("fact");
        d.run_once().await.expect("run");
        let id = sink
            .facts()
            .iter()
            .find(|f| f.kind == facts::SENT)
            .and_then(|f| f.payload["delivery_id"].as_str().map(str::to_owned))
            .expect("sent");
        assert_eq!(
            n.provider_status(&id, "ringing", 1_000_500)
                .await
                .expect("status"),
            None
        );
        let fact = n
            .provider_status(&id, "delivered", 1_002_000)
            .await
            .expect("status")
            .expect("fact");
        assert_eq!(fact.kind, facts::DELIVERED);
        assert_eq!(fact.payload["onset_to_delivered_ms"], 12_000);
        let fact = n
            .provider_status(&id, "undelivered", 1_003_000)
            .await
            .expect("status")
            .expect("fact");
        assert_eq!(
            (fact.kind.as_str(), &fact.payload["final"]),
            (facts::FAILED, &serde_json::Value::Bool(true))
        );
        assert!(n.provider_status("nope", "delivered", 1).await.is_err());
    }

    #[tokio::test]
    async fn acknowledge_cancels_escalation() {
        let (n, d, o, sink, _chan, clock) = setup(vec![]);
        let f = Fact::new("health.disk_failed", Actor::Device("nvr".into()), 1_000_000);
        let id = n
            .on_fact(&f)
            .await
            .expect("fact")
            .incident_id
            .expect("incident");
        d.run_once().await.expect("run");
        let ack = n.acknowledge(&id, "user:alice").await.expect("ack");
        assert_eq!(ack.cancelled.len(), 1);
        clock.advance_ms(1_000_000);
        n.pump().await.expect("pump");
        assert_eq!(d.run_once().await.expect("run"), 0);
        assert_eq!(o.items().expect("items").len(), 1);
        assert_eq!(
            kinds(&sink).last().map(String::as_str),
            Some(facts::ACKNOWLEDGED)
        );
        assert!(!kinds(&sink).contains(&facts::ESCALATED.to_owned()));
    }

    #[tokio::test]
    async fn temporary_failures_retry_with_backoff_permanent_do_not() {
        let (n, d, o, sink, chan, clock) = setup(vec![
            Err(SendError::Temporary("HTTP 503".into())),
            Err(SendError::Temporary("HTTP 503".into())),
        ]);
        let f = camera_down("cam-2", 1_000_000);
        n.on_fact(&f).await.expect("fact");
        assert_eq!(d.run_once().await.expect("run"), 1);
        assert_eq!(
            d.run_once().await.expect("run"),
            0,
            "not before the backoff"
        );
        clock.advance_ms(1_000);
        assert_eq!(d.run_once().await.expect("run"), 1);
        clock.advance_ms(1_999);
        assert_eq!(d.run_once().await.expect("run"), 0);
        clock.advance_ms(1);
        assert_eq!(d.run_once().await.expect("run"), 1);
        let items = o.items().expect("items");
        assert_eq!((items[0].state, items[0].attempts), (ItemState::Sent, 3));
        assert_eq!(
            kinds(&sink)[1..],
            [facts::FAILED, facts::FAILED, facts::SENT]
        );
        assert_eq!(sink.facts()[1].payload["final"], false);

        // Permanent: one try, final.
        chan.answers
            .lock()
            .map(|mut a| a.push_back(Err(SendError::Permanent("HTTP 400".into()))))
            .ok();
        let f = camera_down("cam-3", 1_003_000);
        n.on_fact(&f).await.expect("fact");
        assert_eq!(d.run_once().await.expect("run"), 1);
        clock.advance_ms(100_000);
        assert_eq!(d.run_once().await.expect("run"), 0);
        let last = sink.facts().pop().expect("fact");
        assert_eq!(
            (last.kind.as_str(), &last.payload["final"]),
            (facts::FAILED, &serde_json::Value::Bool(true))
        );
    }

    #[tokio::test]
    async fn retries_stop_after_max_attempts() {
        let temp = || Err(SendError::Temporary("timeout".into()));
        let (n, d, o, _sink, _chan, clock) = setup(vec![temp(), temp(), temp(), temp()]);
        let f = camera_down("cam-9", 1_000_000);
        n.on_fact(&f).await.expect("fact");
        for _ in 0..5 {
            d.run_once().await.expect("run");
            clock.advance_ms(20_000);
        }
        let items = o.items().expect("items");
        assert_eq!((items[0].state, items[0].attempts), (ItemState::Failed, 3));
    }

    #[tokio::test]
    async fn run_loops_send_without_manual_pumping() {
        let (n, d, o, _sink, _chan, _clock) = setup(vec![]);
        let (tx, rx) = watch::channel(false);
        let d = Arc::new(d);
        let h1 = tokio::spawn(d.clone().run(rx.clone()));
        let h2 = tokio::spawn(n.clone().run_timer(rx));
        let f = camera_down("cam-5", 1_000_000);
        n.on_fact(&f).await.expect("fact");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let items = o.items().expect("items");
            if items.iter().any(|i| i.state == ItemState::Sent) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "not sent in 5 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tx.send(true).ok();
        h1.await.ok();
        h2.await.ok();
    }

    #[tokio::test]
    async fn file_outbox_keeps_queued_steps_across_a_restart_without_duplicates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.jsonl");
        let clock = ManualClock::new(1_000_000);
        let fact = camera_down("cam-7", 999_000);
        {
            // First life: the step is queued and taken, then the process dies mid-send.
            let outbox = Arc::new(FileOutbox::open(&path).expect("open"));
            let n = Notifier::new(
                escalator(),
                outbox.clone(),
                Arc::new(VecSink::default()),
                Arc::new(clock.clone()),
                Arc::new(Notify::new()),
            );
            n.on_fact(&fact).await.expect("fact");
            let taken = outbox
                .take_due(clock.now_ms(), 10, 60_000)
                .await
                .expect("take");
            assert_eq!(taken.len(), 1);
        }
        // Second life: reopen, replay the triggering fact (the server replays unacknowledged
        // incidents from the journal), dispatch.
        let outbox = Arc::new(FileOutbox::open(&path).expect("reopen"));
        let sink = Arc::new(VecSink::default());
        let chan = Arc::new(Scripted {
            answers: Mutex::new(VecDeque::new()),
            seen: Mutex::new(Vec::new()),
            clock: clock.clone(),
        });
        let d = Dispatcher::new(
            outbox.clone(),
            chan.clone(),
            sink.clone(),
            Arc::new(clock.clone()),
            DispatcherConfig::default(),
        );
        let n = Notifier::new(
            escalator(),
            outbox.clone(),
            sink.clone(),
            Arc::new(clock.clone()),
            d.waker(),
        );
        let first_triggered_ms = clock.now_ms();
        clock.advance_ms(60_000); // the restart took a minute
        let out = n.replay(&fact, first_triggered_ms).await.expect("replay");
        assert_eq!(out.scheduled, 2);
        assert_eq!(
            d.run_once().await.expect("run"),
            1,
            "the in-flight step is sent again"
        );
        assert_eq!(d.run_once().await.expect("run"), 0);
        clock.advance_ms(59_999);
        assert_eq!(
            n.pump().await.expect("pump"),
            0,
            "escalation keeps its original time"
        );
        clock.advance_ms(1);
        assert_eq!(n.pump().await.expect("pump"), 1);
        assert_eq!(d.run_once().await.expect("run"), 1);
        let seen = chan.seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen.len(), 2);
        assert_ne!(seen[0], seen[1]);
    }
}
