//! Injected clocks: the system clock for production and a manual clock for tests.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// Source of the current UTC time.
pub trait Clock: Send + Sync + 'static {
    /// Current time.
    fn now(&self) -> Timestamp;
}

/// The operating system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told to (tests, simulations).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// Start at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Set the time.
    pub fn set(&self, t: Timestamp) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// Move forward by `secs` seconds.
    pub fn advance_s(&self, secs: i64) {
        let mut g = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *g = g
            .saturating_add(SignedDuration::from_secs(secs))
            .unwrap_or(*g);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}
