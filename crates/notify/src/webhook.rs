//! SMS and voice through a Twilio-style HTTP provider: one form POST per message.
//!
//! SMS: `To`, `From`, `Body` to the SMS URL. Voice (the automatic voice dialer): `To`, `From` and
//! `Twiml`, a `<Response>` that plays the recorded message (when an audio URL is configured) and
//! says its transcript, to the voice URL. Authentication is an optional bearer token, or HTTP basic
//! when the token has the form `ACCOUNT:SECRET`.
//!
//! Answers are classified for the retry logic: 2xx is accepted (the JSON `sid` becomes the provider
//! id), 408/425/429/5xx and network errors or timeouts are temporary, every other status is permanent.
use std::sync::Arc;
use std::time::Duration;

use strongroom_domain::Clock;
use strongroom_domain::site;

use crate::channel::{Channel, Receipt, SendError, SendFuture};
use crate::escalation::Delivery;

/// Provider credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum WebhookAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// HTTP basic (`ACCOUNT:SECRET`).
    Basic {
        /// Account / user.
        user: String,
        /// Secret.
        password: String,
    },
}

impl std::fmt::Debug for WebhookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookAuth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            WebhookAuth::Basic { user, .. } => write!(f, "Basic({user}:<redacted>)"),
        }
    }
}

impl WebhookAuth {
    /// Reads a token: `ACCOUNT:SECRET` is basic auth, anything else a bearer token; blank is none.
    pub fn from_token(token: &str) -> Option<Self> {
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        Some(match token.split_once(':') {
            Some((user, password)) if !user.is_empty() => WebhookAuth::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            },
            _ => WebhookAuth::Bearer(token.to_owned()),
        })
    }
}

/// Webhook provider settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// URL SMS requests are POSTed to.
    pub sms_url: String,
    /// URL voice-call requests are POSTed to.
    pub voice_url: String,
    /// The sending number.
    pub from: String,
    /// Credentials.
    pub auth: Option<WebhookAuth>,
    /// Recorded voice message to play before the spoken transcript (voice dialer), if any.
    pub voice_audio_url: Option<String>,
    /// Whole-request timeout (ms).
    pub timeout_ms: u64,
}

impl WebhookConfig {
    /// From the site model's `[notify.webhook]`; `token` is the value of its `token_env` variable.
    pub fn from_site(w: &site::Webhook, token: Option<&str>) -> Self {
        WebhookConfig {
            sms_url: w.sms_url.clone(),
            voice_url: w.voice_url.clone(),
            from: w.from.clone(),
            auth: token.and_then(WebhookAuth::from_token),
            voice_audio_url: None,
            timeout_ms: 10_000,
        }
    }
}

/// Errors building the channel.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// SMS and voice over one provider; register the same value as both channels.
#[derive(Clone)]
pub struct WebhookChannel {
    config: WebhookConfig,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookChannel")
            .field("config", &self.config)
            .finish()
    }
}

/// Escapes text for XML content and attributes.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The TwiML for a voice-dialer call: optional recording, then the transcript said twice.
pub fn voice_twiml(message: &str, audio_url: Option<&str>) -> String {
    let mut t = String::from("<Response>");
    if let Some(url) = audio_url {
        t.push_str(&format!("<Play>{}</Play>", xml_escape(url)));
    }
    t.push_str(&format!(
        "<Say loop=\"2\">{}</Say></Response>",
        xml_escape(message)
    ));
    t
}

/// Classifies an HTTP status: `None` for success, else the error.
pub fn classify_status(status: u16, body: &str) -> Option<SendError> {
    let detail = format!(
        "HTTP {status}: {}",
        body.chars().take(200).collect::<String>()
    );
    match status {
        200..=299 => None,
        408 | 425 | 429 | 500..=599 => Some(SendError::Temporary(detail)),
        _ => Some(SendError::Permanent(detail)),
    }
}

impl WebhookChannel {
    /// A channel with its own connection pool.
    pub fn new(config: WebhookConfig, clock: Arc<dyn Clock>) -> Result<Self, WebhookError> {
        let timeout = Duration::from_millis(config.timeout_ms.max(1));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(WebhookChannel {
            config,
            client,
            clock,
        })
    }

    async fn post(&self, d: &Delivery) -> Result<Receipt, SendError> {
        let (url, form): (&str, Vec<(&str, String)>) = match d.channel {
            site::Channel::Sms => (
                &self.config.sms_url,
                vec![
                    ("To", d.address.clone()),
                    ("From", self.config.from.clone()),
                    ("Body", d.message.clone()),
                ],
            ),
            site::Channel::Voice => (
                &self.config.voice_url,
                vec![
                    ("To", d.address.clone()),
                    ("From", self.config.from.clone()),
                    (
                        "Twiml",
                        voice_twiml(&d.message, self.config.voice_audio_url.as_deref()),
                    ),
                ],
            ),
            site::Channel::Email => return Err(SendError::NotConfigured(site::Channel::Email)),
        };
        let mut req = self.client.post(url).form(&form);
        req = match &self.config.auth {
            Some(WebhookAuth::Bearer(t)) => req.bearer_auth(t),
            Some(WebhookAuth::Basic { user, password }) => req.basic_auth(user, Some(password)),
            None => req,
        };
        let sent_ms = self.clock.now_ms();
        let resp = req.send().await.map_err(|e| {
            if e.is_builder() {
                SendError::Permanent(format!("bad request: {e}"))
            } else {
                SendError::Temporary(format!("request failed: {e}"))
            }
        })?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| SendError::Temporary(format!("reading the answer: {e}")))?;
        let accepted_ms = self.clock.now_ms();
        if let Some(err) = classify_status(status, &body) {
            return Err(err);
        }
        let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
        let field = |k: &str| {
            json.as_ref()
                .and_then(|j| j.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let provider_status = field("status").unwrap_or_else(|| "accepted".to_owned());
        let delivered_ms = (provider_status == "delivered").then_some(accepted_ms);
        Ok(Receipt {
            delivery_id: d.id.clone(),
            channel: d.channel,
            provider_id: field("sid"),
            response: format!("{status} {provider_status}"),
            sent_ms,
            accepted_ms,
            delivered_ms,
        })
    }
}

impl Channel for WebhookChannel {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a> {
        Box::pin(self.post(delivery))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_forms() {
        assert_eq!(
            WebhookAuth::from_token("AC1:secret"),
            Some(WebhookAuth::Basic {
                user: "AC1".into(),
                password: "secret".into()
            })
        );
        assert_eq!(
            WebhookAuth::from_token("abc"),
            Some(WebhookAuth::Bearer("abc".into()))
        );
        assert_eq!(WebhookAuth::from_token("  "), None);
        assert!(!format!("{:?}", WebhookAuth::from_token("AC1:secret")).contains("secret"));
    }

    #[test]
    fn status_classes() {
        assert_eq!(classify_status(201, ""), None);
        assert!(matches!(
            classify_status(503, "down"),
            Some(SendError::Temporary(_))
        ));
        assert!(matches!(
            classify_status(429, ""),
            Some(SendError::Temporary(_))
        ));
        assert!(matches!(
            classify_status(400, "bad To"),
            Some(SendError::Permanent(_))
        ));
    }

    #[test]
    fn twiml_is_escaped() {
        let t = voice_twiml(
            "Holdup <zone 3> & \"front\"",
            Some("https://x/a.mp3?a=1&b=2"),
        );
        assert_eq!(
            t,
            "<Response><Play>https://x/a.mp3?a=1&amp;b=2</Play><Say loop=\"2\">Holdup &lt;zone 3&gt; &amp; &quot;front&quot;</Say></Response>"
        );
    }
}
