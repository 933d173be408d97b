//! Time for the video crate: wall-clock instants as signed 90 kHz ticks since the Unix epoch
//! (`*_90k`), and the injected [`Clock`] the recorder, health monitor and retention use.
//!
//! 90 kHz is the RTP clock rate of H.264 video, so frame durations need no conversion. An `i64` of
//! 90 kHz ticks covers ±3 million years.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Ticks per second of the 90 kHz time base.
pub const TICKS_PER_SEC_90K: i64 = 90_000;
/// Ticks per day of the 90 kHz time base.
pub const TICKS_PER_DAY_90K: i64 = 86_400 * TICKS_PER_SEC_90K;

/// Converts milliseconds to 90 kHz ticks.
pub const fn ms_to_90k(ms: i64) -> i64 {
    ms * 90
}

/// Converts whole seconds to 90 kHz ticks.
pub const fn secs_to_90k(secs: i64) -> i64 {
    secs * TICKS_PER_SEC_90K
}

/// Converts a [`SystemTime`] to 90 kHz ticks since the epoch (negative before 1970).
pub fn system_time_to_90k(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => {
            (d.as_secs() as i64) * TICKS_PER_SEC_90K + i64::from(d.subsec_nanos()) * 9 / 100_000
        }
        Err(e) => {
            let d = e.duration();
            -((d.as_secs() as i64) * TICKS_PER_SEC_90K + i64::from(d.subsec_nanos()) * 9 / 100_000)
        }
    }
}

/// The server's wall clock. The server maps its own clock to this trait; tests use [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    /// Now, as 90 kHz ticks since the Unix epoch (UTC).
    fn now_90k(&self) -> i64;
}

/// The operating system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_90k(&self) -> i64 {
        system_time_to_90k(SystemTime::now())
    }
}

/// A clock that only moves when told to (for tests and simulations).
#[derive(Debug, Default)]
pub struct ManualClock {
    now_90k: AtomicI64,
}

impl ManualClock {
    /// A clock reading `now_90k`.
    pub fn new(now_90k: i64) -> Self {
        ManualClock {
            now_90k: AtomicI64::new(now_90k),
        }
    }

    /// Sets the time.
    pub fn set_90k(&self, now_90k: i64) {
        self.now_90k.store(now_90k, Ordering::SeqCst);
    }

    /// Moves the time forward by `delta_90k` ticks.
    pub fn advance_90k(&self, delta_90k: i64) {
        self.now_90k.fetch_add(delta_90k, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_90k(&self) -> i64 {
        self.now_90k.load(Ordering::SeqCst)
    }
}

impl<C: Clock> Clock for std::sync::Arc<C> {
    fn now_90k(&self) -> i64 {
        (**self).now_90k()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn system_time_conversion() {
        let t = UNIX_EPOCH + Duration::from_millis(1_500);
        assert_eq!(system_time_to_90k(t), 135_000);
        let before = UNIX_EPOCH - Duration::from_secs(2);
        assert_eq!(system_time_to_90k(before), -180_000);
        assert_eq!(ms_to_90k(3_000), secs_to_90k(3));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(10);
        assert_eq!(c.now_90k(), 10);
        c.advance_90k(5);
        assert_eq!(c.now_90k(), 15);
        c.set_90k(-3);
        assert_eq!(c.now_90k(), -3);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_90k() > secs_to_90k(1_577_836_800));
    }
}
