//! Helpers shared by the crate's unit tests: local wall-clock times as epoch milliseconds and the
//! fixed "now" the check and report tests evaluate at.
use jiff::tz::TimeZone;

/// Epoch milliseconds of the local date-time `s` (`2025-06-15T12:00`) in the zone `tz`.
pub(crate) fn ms_in(s: &str, tz: &str) -> i64 {
    let dt: jiff::civil::DateTime = s.parse().expect("datetime");
    dt.to_zoned(TimeZone::get(tz).expect("tz"))
        .expect("zoned")
        .timestamp()
        .as_millisecond()
}

/// Epoch milliseconds of the local date-time `s` at the demo site (America/Chicago).
pub(crate) fn ms(s: &str) -> i64 {
    ms_in(s, "America/Chicago")
}

/// The instant the check and report tests evaluate at: 2025-06-15 noon at the demo site.
pub(crate) fn now() -> i64 {
    ms("2025-06-15T12:00")
}
