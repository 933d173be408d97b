//! Notification part of the site file (`[notify]`): the SMTP relay, the SMS/voice webhook, named
//! contacts and the escalation chains that reach them.
use serde::{Deserialize, Serialize};

/// Notification channels and chains (`[notify]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notify {
    /// SMTP relay for email.
    pub smtp: Option<Smtp>,
    /// SMS/voice provider webhooks.
    pub webhook: Option<Webhook>,
    /// Named contacts.
    #[serde(rename = "contact")]
    pub contacts: Vec<Contact>,
    /// Escalation chains.
    #[serde(rename = "chain")]
    pub chains: Vec<Chain>,
}

/// An SMTP relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Host name or address.
    pub host: String,
    /// Port.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Envelope and header From address.
    pub from: String,
    /// Use STARTTLS.
    #[serde(default)]
    pub starttls: bool,
}

fn default_smtp_port() -> u16 {
    25
}

/// A Twilio-style SMS/voice provider reached by form POSTs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// URL for SMS.
    pub sms_url: String,
    /// URL for voice calls.
    pub voice_url: String,
    /// The sending number.
    #[serde(default)]
    pub from: String,
    /// Environment variable holding the provider token.
    #[serde(default)]
    pub token_env: Option<String>,
}

/// A person or agency to notify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone number for SMS/voice (E.164).
    #[serde(default)]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// A monitoring recipient: may receive silent (holdup, duress) alarms.
    #[serde(default)]
    pub monitoring: bool,
}

/// A notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Text message.
    Sms,
    /// Voice call (prerecorded message).
    Voice,
    /// Email.
    Email,
}

/// An escalation chain: who is told about which alarms, in what order, until someone acknowledges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// Identifier.
    pub id: String,
    /// Fact kinds or alarm types this chain handles (`alarm.*`, `health.camera_down`, ...).
    pub applies_to: Vec<String>,
    /// Steps, in order.
    #[serde(rename = "step")]
    pub steps: Vec<ChainStep>,
}

/// One step of a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainStep {
    /// The contact to reach.
    pub contact: String,
    /// How.
    pub channel: Channel,
    /// Seconds after the alarm before this step fires if nobody acknowledged.
    #[serde(default)]
    pub after_s: u32,
}
