//! Email over SMTP to a relay (lettre, tokio): plain SMTP to a local relay, or STARTTLS required.
//!
//! Classification for retries: an SMTP 4xx reply (greylisting, mailbox busy), a timeout or a
//! connection failure is temporary; a 5xx reply (550 mailbox unavailable, 554 rejected) or an
//! address that does not parse is permanent. The receipt carries the relay's final reply.
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use strongroom_domain::Clock;
use strongroom_domain::site;

use crate::channel::{Channel, Receipt, SendError, SendFuture};
use crate::escalation::Delivery;

/// SMTP relay settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Relay host name or address.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// Envelope and header From.
    pub from: String,
    /// Require STARTTLS (certificate checked against `host`).
    pub starttls: bool,
    /// Per-command timeout (ms).
    pub timeout_ms: u64,
}

impl SmtpConfig {
    /// From the site model's `[notify.smtp]`.
    pub fn from_site(s: &site::Smtp) -> Self {
        SmtpConfig {
            host: s.host.clone(),
            port: s.port,
            from: s.from.clone(),
            starttls: s.starttls,
            timeout_ms: 10_000,
        }
    }
}

/// Errors building the channel.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    /// The From address does not parse.
    #[error("bad From address {0:?}: {1}")]
    BadFrom(String, String),
    /// TLS parameters could not be built.
    #[error("cannot set up STARTTLS for {0:?}: {1}")]
    Tls(String, String),
}

/// The email channel.
#[derive(Clone)]
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SmtpChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpChannel")
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// Maps a lettre SMTP error to a [`SendError`].
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let code = e.status().map(|c| c.to_string());
    let text = match &code {
        Some(c) => format!("SMTP {c}: {e}"),
        None => format!("SMTP: {e}"),
    };
    if e.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Temporary(text)
    }
}

impl SmtpChannel {
    /// A channel sending through the relay in `config`.
    pub fn new(config: &SmtpConfig, clock: Arc<dyn Clock>) -> Result<Self, SmtpSetupError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                SmtpSetupError::BadFrom(config.from.clone(), e.to_string())
            })?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(Duration::from_millis(config.timeout_ms.max(1))));
        if config.starttls {
            let params = TlsParameters::new(config.host.clone())
                .map_err(|e| SmtpSetupError::Tls(config.host.clone(), e.to_string()))?;
            builder = builder.tls(Tls::Required(params));
        }
        Ok(SmtpChannel {
            transport: builder.build(),
            from,
            clock,
        })
    }

    async fn deliver(&self, d: &Delivery) -> Result<Receipt, SendError> {
        if d.channel != site::Channel::Email {
            return Err(SendError::NotConfigured(d.channel));
        }
        let to: Mailbox = d
            .address
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad address {:?}: {e}", d.address)))?;
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(d.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(d.message.clone())
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        let sent_ms = self.clock.now_ms();
        let resp = self.transport.send(msg).await.map_err(|e| classify(&e))?;
        let accepted_ms = self.clock.now_ms();
        let text = resp.message().collect::<Vec<_>>().join(" ");
        Ok(Receipt {
            delivery_id: d.id.clone(),
            channel: d.channel,
            provider_id: (!text.is_empty()).then(|| text.clone()),
            response: format!("{} {text}", resp.code()),
            sent_ms,
            accepted_ms,
            delivered_ms: None,
        })
    }
}

impl Channel for SmtpChannel {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a> {
        Box::pin(self.deliver(delivery))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_domain::ManualClock;

    #[test]
    fn bad_from_is_rejected() {
        let cfg = SmtpConfig {
            host: "127.0.0.1".into(),
            port: 25,
            from: "not an address".into(),
            starttls: false,
            timeout_ms: 1000,
        };
        assert!(matches!(
            SmtpChannel::new(&cfg, Arc::new(ManualClock::new(0))),
            Err(SmtpSetupError::BadFrom(..))
        ));
    }
}
