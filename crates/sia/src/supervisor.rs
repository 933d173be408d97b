//! Pure supervision state machine: each supervised account must be heard (any valid frame,
//! typically NULL polls) at least every `interval_s`. `tick(now)` reports an account that went
//! silent (failure) and its return (restore), each exactly once per transition.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

/// A supervision transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisionEvent {
    /// Nothing heard from `account` for longer than its interval.
    Failure {
        /// Account.
        account: String,
        /// When it was last heard (or when supervision started, if never).
        last_heard: Timestamp,
        /// When the failure was detected.
        detected_at: Timestamp,
    },
    /// The account was heard again after a failure.
    Restore {
        /// Account.
        account: String,
        /// When it was heard again.
        heard_at: Timestamp,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    interval_s: i64,
    last_heard: Timestamp,
    failed: bool,
    restored_pending: Option<Timestamp>,
}

/// Supervision state for all accounts.
#[derive(Debug, Clone, Default)]
pub struct Supervisor {
    entries: BTreeMap<String, Entry>,
}

impl Supervisor {
    /// Empty supervisor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Supervise `account` every `interval_s`, counting from `now`.
    pub fn add(&mut self, account: &str, interval_s: u64, now: Timestamp) {
        let interval_s = i64::try_from(interval_s).unwrap_or(i64::MAX);
        self.entries.insert(
            account.to_ascii_uppercase(),
            Entry {
                interval_s,
                last_heard: now,
                failed: false,
                restored_pending: None,
            },
        );
    }

    /// The account was heard at `now` (ignored if not supervised).
    pub fn heard(&mut self, account: &str, now: Timestamp) {
        if let Some(e) = self.entries.get_mut(&account.to_ascii_uppercase()) {
            if now > e.last_heard {
                e.last_heard = now;
            }
            if e.failed {
                e.failed = false;
                e.restored_pending = Some(now);
            }
        }
    }

    /// Whether the account is currently in failure.
    pub fn is_failed(&self, account: &str) -> bool {
        self.entries
            .get(&account.to_ascii_uppercase())
            .is_some_and(|e| e.failed)
    }

    /// Report transitions since the last tick.
    pub fn tick(&mut self, now: Timestamp) -> Vec<SupervisionEvent> {
        let mut out = Vec::new();
        for (account, e) in &mut self.entries {
            if let Some(heard_at) = e.restored_pending.take() {
                out.push(SupervisionEvent::Restore {
                    account: account.clone(),
                    heard_at,
                });
            }
            let silent = now.duration_since(e.last_heard);
            if !e.failed && silent > SignedDuration::from_secs(e.interval_s) {
                e.failed = true;
                out.push(SupervisionEvent::Failure {
                    account: account.clone(),
                    last_heard: e.last_heard,
                    detected_at: now,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("t")
    }

    #[test]
    fn failure_then_restore_once_each() {
        let mut s = Supervisor::new();
        s.add("ab12", 60, t(0));
        s.add("1234", 600, t(0));
        assert!(s.tick(t(30)).is_empty());
        s.heard("AB12", t(50));
        assert!(s.tick(t(110)).is_empty());
        let ev = s.tick(t(111));
        assert_eq!(
            ev,
            vec![SupervisionEvent::Failure {
                account: "AB12".into(),
                last_heard: t(50),
                detected_at: t(111)
            }]
        );
        assert!(s.is_failed("ab12"));
        assert!(s.tick(t(200)).is_empty(), "failure reported once");
        s.heard("AB12", t(210));
        assert_eq!(
            s.tick(t(211)),
            vec![SupervisionEvent::Restore {
                account: "AB12".into(),
                heard_at: t(210)
            }]
        );
        assert!(s.tick(t(212)).is_empty());
        s.heard("unknown", t(213));
        let ev = s.tick(t(601));
        assert!(
            ev.iter().any(
                |e| matches!(e, SupervisionEvent::Failure { account, .. } if account == "1234")
            )
        );
        assert!(
            ev.iter().any(
                |e| matches!(e, SupervisionEvent::Failure { account, .. } if account == "AB12")
            )
        );
    }
}
