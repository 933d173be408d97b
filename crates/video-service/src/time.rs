//! Time conversions between the recorder's 90 kHz clock, epoch milliseconds and jiff timestamps.
use crate::error::VideoError;

/// 90 kHz ticks to epoch milliseconds (rounded down).
pub fn ms_from_90k(t_90k: i64) -> i64 {
    t_90k.div_euclid(90)
}

/// A recorder time as a timestamp.
pub(crate) fn ts_from_90k(t_90k: i64) -> Result<jiff::Timestamp, VideoError> {
    jiff::Timestamp::from_nanosecond(i128::from(t_90k) * 100_000 / 9)
        .map_err(|e| VideoError::Internal(format!("time out of range: {e}")))
}

/// A caller's epoch-ms time as a timestamp.
pub(crate) fn ts_from_ms(ms: i64) -> Result<jiff::Timestamp, VideoError> {
    jiff::Timestamp::from_millisecond(ms)
        .map_err(|e| VideoError::BadRequest(format!("time out of range: {e}")))
}

/// Keeps `[A-Za-z0-9_-]`, replaces anything else (file names and header values).
pub fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninety_khz_rounds_down_to_ms() {
        assert_eq!(ms_from_90k(90_000), 1_000);
        assert_eq!(ms_from_90k(89), 0);
        assert_eq!(ms_from_90k(-1), -1);
    }

    #[test]
    fn safe_names_keep_only_plain_characters() {
        assert_eq!(safe_name("cam-1_a"), "cam-1_a");
        assert_eq!(safe_name("../x y"), "___x_y");
    }
}
