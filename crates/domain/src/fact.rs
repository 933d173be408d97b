//! Facts: what happened, before the journal gives it a sequence number and a hash.
//!
//! A fact has a dotted `kind` (`door.forced`, `auth.login_failed`, ...), an [`Actor`], the time it
//! happened (`time_ms`, epoch milliseconds UTC) and a JSON-object payload. The journal adds the site,
//! the sequence number and the hash chain. Payloads must not carry floating-point numbers (their
//! text form is not canonical); use integers with units in the field name (`fps_milli`,
//! `duration_ms`).
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// Who or what caused a fact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Actor {
    /// Strongroom itself (schedulers, supervisors, the simulator is a `Device`).
    System,
    /// A console/API user, by user name.
    User(String),
    /// A device, by its site-model id.
    Device(String),
    /// A person (agent, visitor, vendor), by person id.
    Person(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::User(u) => write!(f, "user:{u}"),
            Actor::Device(d) => write!(f, "device:{d}"),
            Actor::Person(p) => write!(f, "person:{p}"),
        }
    }
}

impl From<Actor> for String {
    fn from(a: Actor) -> String {
        a.to_string()
    }
}

/// The error for an actor string that is not `system`, `user:X`, `device:X` or `person:X`.
#[derive(Debug, thiserror::Error)]
#[error("bad actor {0:?}: expected system, user:NAME, device:ID or person:ID")]
pub struct BadActor(pub String);

impl FromStr for Actor {
    type Err = BadActor;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "system" {
            return Ok(Actor::System);
        }
        let (prefix, rest) = s.split_once(':').ok_or_else(|| BadActor(s.to_owned()))?;
        if rest.is_empty() {
            return Err(BadActor(s.to_owned()));
        }
        match prefix {
            "user" => Ok(Actor::User(rest.to_owned())),
            "device" => Ok(Actor::Device(rest.to_owned())),
            "person" => Ok(Actor::Person(rest.to_owned())),
            _ => Err(BadActor(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Actor {
    type Error = BadActor;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A fact ready to be appended to a site's journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Dotted kind, lower case: `area.entered`, `alarm.raised`, ...
    pub kind: String,
    /// Who or what caused it.
    pub actor: Actor,
    /// When it happened, epoch milliseconds UTC (the source's time where trusted, else receipt time).
    pub time_ms: i64,
    /// Details; always a JSON object.
    pub payload: Map<String, Value>,
}

/// The error for a fact that cannot be journaled.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FactError {
    /// The kind is empty, too long, or has characters outside `a-z 0-9 . _ -`.
    #[error(
        "bad fact kind {0:?}: use lower-case dotted words (a-z, 0-9, '.', '_', '-'), at most 64 characters"
    )]
    BadKind(String),
    /// The payload holds a floating-point number.
    #[error(
        "fact payload field {0:?} holds a floating-point number; use an integer with its unit in the name"
    )]
    FloatInPayload(String),
}

impl Fact {
    /// A fact with an empty payload.
    pub fn new(kind: impl Into<String>, actor: Actor, time_ms: i64) -> Self {
        Fact {
            kind: kind.into(),
            actor,
            time_ms,
            payload: Map::new(),
        }
    }

    /// Adds a payload field (builder style).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.payload.insert(key.to_owned(), value.into());
        self
    }

    /// Checks the kind and the payload (no floats, so the canonical form is exact).
    pub fn validate(&self) -> Result<(), FactError> {
        let kind_ok = !self.kind.is_empty()
            && self.kind.len() <= 64
            && self.kind.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if !kind_ok {
            return Err(FactError::BadKind(self.kind.clone()));
        }
        fn walk(path: &str, v: &Value) -> Result<(), FactError> {
            match v {
                Value::Number(n) if n.is_f64() => Err(FactError::FloatInPayload(path.to_owned())),
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .try_for_each(|(i, x)| walk(&format!("{path}[{i}]"), x)),
                Value::Object(m) => m
                    .iter()
                    .try_for_each(|(k, x)| walk(&format!("{path}.{k}"), x)),
                _ => Ok(()),
            }
        }
        self.payload.iter().try_for_each(|(k, v)| walk(k, v))
    }
}

/// The fact kinds the spine itself records. Other crates define theirs next to their logic.
pub mod kinds {
    /// A site was initialised (`strongroom init` or the demo).
    pub const SITE_CREATED: &str = "site.created";
    /// A site configuration was loaded and is now in force.
    pub const CONFIG_APPLIED: &str = "config.applied";
    /// A site configuration was refused; the last good one stays in force.
    pub const CONFIG_REJECTED: &str = "config.rejected";
    /// The server started.
    pub const SERVER_STARTED: &str = "server.started";
    /// The server stopped in an orderly way.
    pub const SERVER_STOPPED: &str = "server.stopped";
    /// A user was created.
    pub const USER_CREATED: &str = "user.created";
    /// A user's password was set or changed.
    pub const USER_PASSWORD_SET: &str = "user.password_set";
    /// A user enrolled TOTP MFA.
    pub const USER_MFA_ENROLLED: &str = "user.mfa_enrolled";
    /// A user was disabled.
    pub const USER_DISABLED: &str = "user.disabled";
    /// A login succeeded.
    pub const LOGIN_SUCCEEDED: &str = "auth.login_succeeded";
    /// A login failed (wrong password, wrong code, unknown user, locked out).
    pub const LOGIN_FAILED: &str = "auth.login_failed";
    /// One address failed to log in on many accounts in a short time (`client`, `accounts`).
    pub const PASSWORD_SPRAY: &str = "auth.password_spray";
    /// A user logged out.
    pub const LOGOUT: &str = "auth.logout";
    /// A request was refused for lack of permission.
    pub const PERMISSION_DENIED: &str = "auth.permission_denied";
    /// A device reported a state (door contact, sensor input, reader online, ...).
    pub const DEVICE_STATE: &str = "device.state";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_round_trip() {
        for a in [
            Actor::System,
            Actor::User("alice".into()),
            Actor::Device("door-1".into()),
            Actor::Person("p:7".into()),
        ] {
            assert_eq!(a.to_string().parse::<Actor>().ok(), Some(a));
        }
        assert!("robot:x".parse::<Actor>().is_err());
        assert!("user:".parse::<Actor>().is_err());
    }

    #[test]
    fn validate_rejects_bad_kinds_and_floats() {
        let ok = Fact::new("door.forced", Actor::System, 1).with("door", "d1");
        assert_eq!(ok.validate(), Ok(()));
        assert!(matches!(
            Fact::new("Door Forced", Actor::System, 1).validate(),
            Err(FactError::BadKind(_))
        ));
        let f = Fact::new("x.y", Actor::System, 1).with("fps", 1.5);
        assert_eq!(f.validate(), Err(FactError::FloatInPayload("fps".into())));
        let nested =
            Fact::new("x.y", Actor::System, 1).with("a", serde_json::json!({"b": [1, 2.5]}));
        assert_eq!(
            nested.validate(),
            Err(FactError::FloatInPayload("a.b[1]".into()))
        );
    }
}
