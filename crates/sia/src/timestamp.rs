//! DC-09 timestamps (`_HH:MM:SS,MM-DD-YYYY`, always UTC) and the receiver's clock window.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use thiserror::Error;

/// Error for a malformed DC-09 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad DC-09 timestamp {text:?}")]
pub struct TimestampError {
    /// The offending text (truncated to 32 chars).
    pub text: String,
}

fn two(b: &[u8]) -> Option<i8> {
    match b {
        [a, c] if a.is_ascii_digit() && c.is_ascii_digit() => {
            i8::try_from((a - b'0') * 10 + (c - b'0')).ok()
        }
        _ => None,
    }
}

/// Parse `HH:MM:SS,MM-DD-YYYY` (without the leading `_`) as UTC.
pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
    let err = || TimestampError {
        text: text.chars().take(32).collect(),
    };
    let b = text.as_bytes();
    if b.len() != 19
        || b[2] != b':'
        || b[5] != b':'
        || b[8] != b','
        || b[11] != b'-'
        || b[14] != b'-'
    {
        return Err(err());
    }
    let hh = two(&b[0..2]).ok_or_else(err)?;
    let mi = two(&b[3..5]).ok_or_else(err)?;
    let ss = two(&b[6..8]).ok_or_else(err)?;
    let mo = two(&b[9..11]).ok_or_else(err)?;
    let dd = two(&b[12..14]).ok_or_else(err)?;
    let year_txt = &text[15..19];
    if !year_txt.bytes().all(|c| c.is_ascii_digit()) {
        return Err(err());
    }
    let yyyy: i16 = year_txt.parse().map_err(|_| err())?;
    let dt = DateTime::new(yyyy, mo, dd, hh, mi, ss, 0).map_err(|_| err())?;
    let zoned = dt.to_zoned(TimeZone::UTC).map_err(|_| err())?;
    Ok(zoned.timestamp())
}

/// Format as `HH:MM:SS,MM-DD-YYYY` in UTC (without the leading `_`).
pub fn format(ts: Timestamp) -> String {
    let z = ts.to_zoned(TimeZone::UTC);
    format!(
        "{:02}:{:02}:{:02},{:02}-{:02}-{:04}",
        z.hour(),
        z.minute(),
        z.second(),
        z.month(),
        z.day(),
        z.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let ts = parse("23:59:58,12-31-2026").expect("valid");
        assert_eq!(format(ts), "23:59:58,12-31-2026");
        assert_eq!(ts.as_second(), 1_798_761_598);
        for bad in [
            "",
            "24:00:00,01-01-2026",
            "12:00:00,13-01-2026",
            "12:00:00,02-30-2026",
            "1a:00:00,01-01-2026",
            "12:00:00-01-01-2026",
            "12:00:00,01-01-+026",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
