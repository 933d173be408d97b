//! Login throttling that an attacker cannot turn against the owner.
//!
//! A lockout per account lets anyone lock the administrator out by guessing wrong five times.
//! [`LoginThrottle`] instead throttles each (account, client address) pair with growing delays,
//! so the owner logging in from a clean address is never held back by someone else's guesses:
//! - after `free_failures` failures of a pair, each further attempt of that pair must wait
//!   `first_delay_ms`, doubling per failure, up to `max_delay_ms`; a success clears the pair;
//! - one address may fail at most `per_client_per_minute` times a minute over all accounts;
//! - when the whole server sees more than `global_failures_per_minute` failures in a minute,
//!   addresses that failed in the last `recent_ms` are refused until the minute ends; clean
//!   addresses still get in;
//! - an address that fails on `spray_accounts` different accounts within `recent_ms` is a
//!   password spray: [`LoginThrottle::failed`] reports it once per window, for an alert.
//!
//! Pure: every method takes `now_ms`; the table is bounded by forgetting entries older than
//! `recent_ms` (and the longest delay).
use std::collections::{BTreeSet, HashMap};

/// The throttle's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Failures of one (account, address) pair before delays start.
    pub free_failures: u32,
    /// The first delay, milliseconds; doubles per further failure.
    pub first_delay_ms: i64,
    /// The longest delay, milliseconds.
    pub max_delay_ms: i64,
    /// Failures one address may have per minute over all accounts.
    pub per_client_per_minute: u32,
    /// Failures per minute over the whole server before failing addresses are refused.
    pub global_failures_per_minute: u32,
    /// What "recent" means for the global limit and spray detection, milliseconds.
    pub recent_ms: i64,
    /// Distinct accounts one address fails on within `recent_ms` that make a spray.
    pub spray_accounts: usize,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            free_failures: 5,
            first_delay_ms: 30_000,
            max_delay_ms: 15 * 60_000,
            per_client_per_minute: 10,
            global_failures_per_minute: 300,
            recent_ms: 10 * 60_000,
            spray_accounts: 5,
        }
    }
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Allow,
    /// Refused: this account from this address must wait.
    PairDelayed {
        /// Milliseconds until the pair may try again.
        retry_after_ms: i64,
    },
    /// Refused: this address failed too often this minute.
    ClientLimited {
        /// Milliseconds until the minute ends.
        retry_after_ms: i64,
    },
    /// Refused: the server is under a guessing attack and this address took part.
    GlobalLimited {
        /// Milliseconds until the minute ends.
        retry_after_ms: i64,
    },
}

impl Verdict {
    /// The reason recorded in `auth.login_failed` for a refusal.
    pub fn reason(&self) -> &'static str {
        match self {
            Verdict::Allow => "allowed",
            Verdict::PairDelayed { .. } => "throttled",
            Verdict::ClientLimited { .. } => "rate_limited",
            Verdict::GlobalLimited { .. } => "global_rate_limited",
        }
    }
}

/// A password spray seen from one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spray {
    /// The address.
    pub client: String,
    /// The accounts it failed on within the window.
    pub accounts: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Pair {
    failures: u32,
    last_failure_ms: i64,
}

#[derive(Debug, Clone, Default)]
struct Client {
    minute: i64,
    failures_this_minute: u32,
    last_failure_ms: i64,
    /// Accounts failed on, with when (within `recent_ms`).
    accounts: HashMap<String, i64>,
    spray_reported_ms: Option<i64>,
}

/// The throttle's state.
#[derive(Debug, Clone, Default)]
pub struct LoginThrottle {
    limits: ThrottleLimits,
    pairs: HashMap<(String, String), Pair>,
    clients: HashMap<String, Client>,
    global_minute: i64,
    global_failures: u32,
}

fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(60_000)
}

fn to_next_minute(now_ms: i64) -> i64 {
    (minute_of(now_ms) + 1) * 60_000 - now_ms
}

impl LoginThrottle {
    /// A throttle with `limits`.
    pub fn new(limits: ThrottleLimits) -> Self {
        LoginThrottle {
            limits,
            ..LoginThrottle::default()
        }
    }

    /// The delay a pair with `failures` failures must wait after its last failure.
    fn pair_delay_ms(&self, failures: u32) -> i64 {
        if failures < self.limits.free_failures {
            return 0;
        }
        let over = (failures - self.limits.free_failures).min(40);
        self.limits
            .first_delay_ms
            .saturating_mul(1_i64 << over)
            .min(self.limits.max_delay_ms)
    }

    /// Whether `account` may try to log in from `client` now.
    pub fn check(&self, account: &str, client: &str, now_ms: i64) -> Verdict {
        if let Some(p) = self.pairs.get(&(account.to_owned(), client.to_owned())) {
            let wait = p
                .last_failure_ms
                .saturating_add(self.pair_delay_ms(p.failures))
                .saturating_sub(now_ms);
            if p.failures >= self.limits.free_failures && wait > 0 {
                return Verdict::PairDelayed {
                    retry_after_ms: wait,
                };
            }
        }
        let c = self.clients.get(client);
        if let Some(c) = c
            && c.minute == minute_of(now_ms)
            && c.failures_this_minute >= self.limits.per_client_per_minute
        {
            return Verdict::ClientLimited {
                retry_after_ms: to_next_minute(now_ms),
            };
        }
        let recently_failed = c.is_some_and(|c| now_ms - c.last_failure_ms < self.limits.recent_ms);
        if self.global_minute == minute_of(now_ms)
            && self.global_failures >= self.limits.global_failures_per_minute
            && recently_failed
        {
            return Verdict::GlobalLimited {
                retry_after_ms: to_next_minute(now_ms),
            };
        }
        Verdict::Allow
    }

    /// Records a failed attempt; returns a spray the first time this address reaches the spray
    /// threshold within the window.
    pub fn failed(&mut self, account: &str, client: &str, now_ms: i64) -> Option<Spray> {
        self.forget(now_ms);
        let p = self
            .pairs
            .entry((account.to_owned(), client.to_owned()))
            .or_default();
        p.failures = p.failures.saturating_add(1);
        p.last_failure_ms = now_ms;
        let minute = minute_of(now_ms);
        if self.global_minute != minute {
            self.global_minute = minute;
            self.global_failures = 0;
        }
        self.global_failures = self.global_failures.saturating_add(1);
        let recent_ms = self.limits.recent_ms;
        let c = self.clients.entry(client.to_owned()).or_default();
        if c.minute != minute {
            c.minute = minute;
            c.failures_this_minute = 0;
        }
        c.failures_this_minute = c.failures_this_minute.saturating_add(1);
        c.last_failure_ms = now_ms;
        c.accounts.insert(account.to_owned(), now_ms);
        c.accounts.retain(|_, t| now_ms - *t < recent_ms);
        let reported = c.spray_reported_ms.is_some_and(|t| now_ms - t < recent_ms);
        if c.accounts.len() >= self.limits.spray_accounts && !reported {
            c.spray_reported_ms = Some(now_ms);
            let accounts: BTreeSet<String> = c.accounts.keys().cloned().collect();
            return Some(Spray {
                client: client.to_owned(),
                accounts: accounts.into_iter().collect(),
            });
        }
        None
    }

    /// Records a successful login: the pair starts afresh.
    pub fn succeeded(&mut self, account: &str, client: &str) {
        self.pairs.remove(&(account.to_owned(), client.to_owned()));
    }

    /// Forgets what no verdict can depend on any more.
    fn forget(&mut self, now_ms: i64) {
        let keep_ms = self.limits.recent_ms.max(self.limits.max_delay_ms);
        self.pairs
            .retain(|_, p| now_ms - p.last_failure_ms < keep_ms);
        self.clients
            .retain(|_, c| now_ms - c.last_failure_ms < keep_ms);
    }

    /// Pairs and addresses held (for tests and metrics).
    pub fn len(&self) -> (usize, usize) {
        (self.pairs.len(), self.clients.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: i64 = 1_800_000_000_000;

    #[test]
    fn guesses_from_one_address_never_lock_the_owner_out() {
        let mut t = LoginThrottle::new(ThrottleLimits::default());
        for i in 0..5 {
            assert_eq!(t.check("admin", "203.0.113.9", T + i), Verdict::Allow);
            t.failed("admin", "203.0.113.9", T + i);
        }
        assert!(matches!(
            t.check("admin", "203.0.113.9", T + 10),
            Verdict::PairDelayed { retry_after_ms } if retry_after_ms > 29_000
        ));
        // The owner, elsewhere, is not held back.
        assert_eq!(t.check("admin", "198.51.100.7", T + 10), Verdict::Allow);
        // Delays grow: 30 s, 60 s, ... capped at 15 min.
        t.failed("admin", "203.0.113.9", T + 40_000);
        assert!(matches!(
            t.check("admin", "203.0.113.9", T + 90_000),
            Verdict::PairDelayed { .. }
        ));
        assert_eq!(t.check("admin", "203.0.113.9", T + 100_001), Verdict::Allow);
        // A success clears the pair.
        t.succeeded("admin", "203.0.113.9");
        assert_eq!(t.check("admin", "203.0.113.9", T + 100_002), Verdict::Allow);
    }

    #[test]
    fn one_address_is_limited_per_minute_and_a_spray_is_reported_once() {
        let mut t = LoginThrottle::new(ThrottleLimits::default());
        let mut sprays = Vec::new();
        for i in 0..10 {
            let account = format!("user{i}");
            assert_eq!(t.check(&account, "192.0.2.1", T + i), Verdict::Allow);
            sprays.extend(t.failed(&account, "192.0.2.1", T + i));
        }
        assert_eq!(sprays.len(), 1, "{sprays:?}");
        assert_eq!(sprays[0].accounts.len(), 5);
        assert!(matches!(
            t.check("user99", "192.0.2.1", T + 20),
            Verdict::ClientLimited { .. }
        ));
        assert_eq!(t.check("user99", "192.0.2.2", T + 20), Verdict::Allow);
    }

    #[test]
    fn under_a_global_attack_clean_addresses_still_get_in() {
        let limits = ThrottleLimits {
            global_failures_per_minute: 20,
            ..ThrottleLimits::default()
        };
        let mut t = LoginThrottle::new(limits);
        for i in 0..20 {
            t.failed("admin", &format!("10.0.0.{i}"), T + i64::from(i));
        }
        assert!(matches!(
            t.check("root", "10.0.0.3", T + 100),
            Verdict::GlobalLimited { .. }
        ));
        assert_eq!(t.check("admin", "10.9.9.9", T + 100), Verdict::Allow);
        // The next minute starts afresh.
        assert_eq!(t.check("root", "10.0.0.3", T + 60_000), Verdict::Allow);
    }

    proptest! {
        /// Whatever others do, an address that never failed is allowed, and the table stays
        /// bounded by the window.
        #[test]
        fn a_clean_address_is_always_allowed(
            ops in proptest::collection::vec((0u8..4, 0u8..8, 0i64..120_000), 0..300),
        ) {
            let mut t = LoginThrottle::new(ThrottleLimits::default());
            let mut now = T;
            for (acct, client, dt) in ops {
                now += dt;
                let _ = t.failed(&format!("a{acct}"), &format!("10.0.0.{client}"), now);
                prop_assert_eq!(t.check(&format!("a{acct}"), "192.0.2.200", now), Verdict::Allow);
            }
        }
    }
}
