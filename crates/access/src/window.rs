//! The time window an access-records query may ask for: by default the last day up to now, never
//! ending before it starts, at most [`MAX_RECORDS_SPAN_MS`] long.

/// The longest window one access-records query may cover (31 days).
pub const MAX_RECORDS_SPAN_MS: i64 = 31 * 86_400_000;

/// A day, in ms.
const DAY_MS: i64 = 86_400_000;

/// Why a records window was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("from_ms must be before to_ms, at most 31 days apart")]
pub struct BadWindow;

/// The window `[from, to)` of an access-records query: `to` defaults to just after `now_ms`,
/// `from` to a day before `to`.
pub fn records_window(
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    now_ms: i64,
) -> Result<(i64, i64), BadWindow> {
    let to = to_ms.unwrap_or_else(|| now_ms.saturating_add(1));
    let from = from_ms.unwrap_or(to.saturating_sub(DAY_MS));
    if to <= from || to.saturating_sub(from) > MAX_RECORDS_SPAN_MS {
        return Err(BadWindow);
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_last_day() {
        assert_eq!(
            records_window(None, None, 1_000),
            Ok((1_001 - DAY_MS, 1_001))
        );
        assert_eq!(records_window(None, Some(50), 1_000), Ok((50 - DAY_MS, 50)));
    }

    #[test]
    fn backwards_empty_and_too_long_windows_are_refused() {
        assert_eq!(records_window(Some(10), Some(10), 0), Err(BadWindow));
        assert_eq!(records_window(Some(10), Some(5), 0), Err(BadWindow));
        assert_eq!(
            records_window(Some(0), Some(MAX_RECORDS_SPAN_MS + 1), 0),
            Err(BadWindow)
        );
        assert_eq!(
            records_window(Some(0), Some(MAX_RECORDS_SPAN_MS), 0),
            Ok((0, MAX_RECORDS_SPAN_MS))
        );
    }
}
