//! Strongroom notifications: escalation chains, channels, delivery receipts and a durable outbox.
//!
//! - [`escalation`]: the pure engine. Facts in (`trigger`), acknowledgments in, due
//!   [`Delivery`]s out (`tick`); jurisdiction channel rules, silent-alarm filtering, voice dialer.
//! - [`channel`]: the [`Channel`] trait, [`Receipt`], [`SendError`], [`RetryPolicy`], [`Channels`].
//! - [`smtp`]: email through an SMTP relay (lettre). [`webhook`]: SMS and voice through a
//!   Twilio-style form-POST provider (reqwest, rustls).
//! - [`outbox`]: the [`Outbox`] trait, [`MemoryOutbox`], [`FileOutbox`] (fsynced JSON lines).
//! - [`dispatcher`]: [`Notifier`] (engine + timer → outbox) and [`Dispatcher`] (outbox → channels →
//!   receipts and facts). [`facts`]: the `notify.*` facts and the [`FactSink`] they go to.
//!
//! Wiring (the server):
//! 1. Build an [`Escalator`] from the site's `[notify]`, the rule pack's [`ChannelRule`]s (IL:
//!    [`ChannelRule::il_failures`]), the monitoring contact ids (who may learn of silent alarms:
//!    monitoring desk, central station, PSAP / voice-dialer agency) and the [`SiteIdentity`]; run
//!    [`Escalator::check`] at config load and report its issues as findings.
//! 2. Build [`Channels`] with [`channels_from_site`] and an [`Outbox`] (the database one, or
//!    [`FileOutbox`]); start [`Dispatcher::run`] and [`Notifier::run_timer`].
//! 3. Call [`Notifier::on_fact`] for every journaled fact (`notify.*` are ignored),
//!    [`Notifier::acknowledge`] when an operator acknowledges, [`Notifier::provider_status`] for
//!    provider status callbacks. At start-up, [`Notifier::replay`] each unacknowledged triggering
//!    fact with its original trigger time, then the acknowledgments.
//! 4. Journal every fact the [`FactSink`] receives (`notify.sent`, `notify.delivered`,
//!    `notify.failed`, `notify.escalated`, `notify.suppressed`, `notify.acknowledged`).
//!
//! Architecture invariant: [`escalation`] is pure (no IO, no clock); sockets live only in
//! [`smtp`] and [`webhook`], files only in [`outbox`].
#![forbid(unsafe_code)]

pub mod channel;
pub mod dispatcher;
pub mod episode;
pub mod escalation;
pub mod facts;
pub mod outbox;
pub mod smtp;
pub mod webhook;

use std::sync::Arc;

pub use channel::{Channel, Channels, Receipt, RetryPolicy, SendError};
pub use dispatcher::{Dispatcher, DispatcherConfig, Notifier, NotifyError};
pub use escalation::{
    AckError, AckOutcome, ChannelRule, Delivery, Escalator, EscalatorConfig, SiteIdentity,
    SuppressReason, Suppression, TriggerOutcome,
};
pub use facts::{FactSink, VecSink};
pub use outbox::{FileOutbox, MemoryOutbox, Outbox, OutboxError, OutboxItem};
pub use smtp::{SmtpChannel, SmtpConfig};
pub use webhook::{WebhookAuth, WebhookChannel, WebhookConfig};

use strongroom_domain::Clock;
use strongroom_domain::site;

/// Errors building channels from the site model.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// SMTP settings are unusable.
    #[error(transparent)]
    Smtp(#[from] smtp::SmtpSetupError),
    /// Webhook settings are unusable.
    #[error(transparent)]
    Webhook(#[from] webhook::WebhookError),
}

/// Builds the channels the site's `[notify]` configures. `webhook_token` is the value of the
/// variable named by `token_env` (the caller reads the environment).
pub fn channels_from_site(
    notify: &site::Notify,
    webhook_token: Option<&str>,
    clock: Arc<dyn Clock>,
) -> Result<Channels, SetupError> {
    let mut ch = Channels::default();
    if let Some(s) = &notify.smtp {
        ch.email = Some(Arc::new(SmtpChannel::new(
            &SmtpConfig::from_site(s),
            clock.clone(),
        )?));
    }
    if let Some(w) = &notify.webhook {
        let wh: Arc<dyn Channel> = Arc::new(WebhookChannel::new(
            WebhookConfig::from_site(w, webhook_token),
            clock,
        )?);
        ch.sms = Some(wh.clone());
        ch.voice = Some(wh);
    }
    Ok(ch)
}
