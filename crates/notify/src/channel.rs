//! The channel abstraction: one [`Channel`] sends one [`Delivery`] and returns a [`Receipt`] or a
//! [`SendError`] that says whether trying again can help.
//!
//! Retrying is not done inside a channel: the dispatcher reschedules a temporary failure in the
//! durable outbox after [`RetryPolicy::delay_ms`], so a retry survives a restart. [`Channels`] routes
//! a delivery to the channel configured for its kind (email, SMS, voice).
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use strongroom_domain::site;

use crate::escalation::Delivery;

/// What a provider said when it took a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The delivery.
    pub delivery_id: String,
    /// Channel used.
    pub channel: site::Channel,
    /// Provider message id (webhook `sid`), or the SMTP relay's queue reply.
    pub provider_id: Option<String>,
    /// Provider status or SMTP response (`201 queued`, `250 Message accepted ...`).
    pub response: String,
    /// When the request was started (epoch ms).
    pub sent_ms: i64,
    /// When the provider or relay accepted it (epoch ms).
    pub accepted_ms: i64,
    /// When delivery to the person was confirmed, if the channel can tell (an SMTP relay accepting
    /// the message is not proof of delivery to a mailbox, so SMTP leaves this empty; a provider
    /// status callback fills it later).
    pub delivered_ms: Option<i64>,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Might work later: timeouts, connection refused, HTTP 5xx/408/429, SMTP 4xx.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Will not work: HTTP 4xx, SMTP 5xx (e.g. 550 mailbox unavailable), bad address.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// No channel of this kind is configured.
    #[error("no {0:?} channel is configured")]
    NotConfigured(site::Channel),
}

impl SendError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Temporary(_))
    }
}

/// A boxed, sendable future (so channels can be trait objects).
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Receipt, SendError>> + Send + 'a>>;

/// A way to reach people. Implementations do the IO; they must not panic on any provider answer.
pub trait Channel: Send + Sync {
    /// Sends one delivery.
    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a>;
}

/// Routes each delivery to the channel configured for its kind.
#[derive(Clone, Default)]
pub struct Channels {
    /// Email channel.
    pub email: Option<Arc<dyn Channel>>,
    /// SMS channel.
    pub sms: Option<Arc<dyn Channel>>,
    /// Voice channel.
    pub voice: Option<Arc<dyn Channel>>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("email", &self.email.is_some())
            .field("sms", &self.sms.is_some())
            .field("voice", &self.voice.is_some())
            .finish()
    }
}

impl Channel for Channels {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a> {
        let chosen = match delivery.channel {
            site::Channel::Email => &self.email,
            site::Channel::Sms => &self.sms,
            site::Channel::Voice => &self.voice,
        };
        match chosen {
            Some(c) => c.send(delivery),
            None => {
                let kind = delivery.channel;
                Box::pin(async move { Err(SendError::NotConfigured(kind)) })
            }
        }
    }
}

/// Exponential backoff with a cap and an attempt limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Delay before the first retry (ms).
    pub base_ms: i64,
    /// Largest delay (ms).
    pub max_delay_ms: i64,
    /// Attempts in all (first try included) before a temporary failure becomes final.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 500 ms, doubling, at most 30 s apart, 10 attempts (about 2.5 minutes in all: inside the
    /// 5-minute failure-notification budget, leaving time for the next escalation step).
    fn default() -> Self {
        RetryPolicy {
            base_ms: 500,
            max_delay_ms: 30_000,
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// Delay before the next try after `attempts` failed attempts, or `None` when no tries remain.
    pub fn delay_ms(&self, attempts: u32) -> Option<i64> {
        if attempts >= self.max_attempts || attempts == 0 {
            return None;
        }
        let shift = (attempts - 1).min(30);
        let d = self.base_ms.max(1).saturating_mul(1_i64 << shift);
        Some(d.min(self.max_delay_ms.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_stops() {
        let p = RetryPolicy {
            base_ms: 100,
            max_delay_ms: 1_000,
            max_attempts: 6,
        };
        let ds: Vec<_> = (0..8).map(|a| p.delay_ms(a)).collect();
        assert_eq!(
            ds,
            [
                None,
                Some(100),
                Some(200),
                Some(400),
                Some(800),
                Some(1_000),
                None,
                None
            ]
        );
        assert_eq!(RetryPolicy::default().delay_ms(u32::MAX), None);
    }

    #[test]
    fn only_temporary_is_retryable() {
        assert!(SendError::Temporary("x".into()).is_retryable());
        assert!(!SendError::Permanent("x".into()).is_retryable());
        assert!(!SendError::NotConfigured(site::Channel::Sms).is_retryable());
    }
}
