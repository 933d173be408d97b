//! Operating hours in the site's time zone: whether the site is open at an instant (after-hours
//! intrusion, IL 1291.300(e)(1)(D)) and the closing instants auto-arm is planned from.
//!
//! Times are civil times in the site's IANA zone (jiff), so "21:00" is 21:00 local on both sides
//! of a daylight-saving change; a closing time inside a spring-forward gap resolves to the later
//! instant (jiff's "compatible" rule). `"HH:MM-24:00"` closes at the next local midnight.
use jiff::Timestamp;
use jiff::civil::Date;

use crate::config::AlarmConfig;

fn weekday0(date: Date) -> u8 {
    u8::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0)
}

/// Whether the site is open at `t_ms` (epoch ms), by its operating hours in its time zone.
pub fn is_open_at(cfg: &AlarmConfig, t_ms: i64) -> bool {
    let Ok(ts) = Timestamp::from_millisecond(t_ms) else {
        return false;
    };
    let z = ts.to_zoned(cfg.timezone.clone());
    let minute = u32::try_from(i32::from(z.hour()) * 60 + i32::from(z.minute())).unwrap_or(0);
    cfg.operating_hours
        .get(&weekday0(z.date()))
        .is_some_and(|&(open, close)| minute >= open && minute < close)
}

/// The closing instant (epoch ms) of local date `date`, if the site opens that day.
pub fn closing_on(cfg: &AlarmConfig, date: Date) -> Option<i64> {
    let &(_, close) = cfg.operating_hours.get(&weekday0(date))?;
    let (day, minute) = if close >= 24 * 60 {
        (date.tomorrow().ok()?, 0)
    } else {
        (date, close)
    };
    let hour = i8::try_from(minute / 60).ok()?;
    let min = i8::try_from(minute % 60).ok()?;
    let zoned = day
        .at(hour, min, 0, 0)
        .to_zoned(cfg.timezone.clone())
        .ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// The first closing instant strictly after `after_ms`, looking at most eight days ahead.
pub fn next_closing_after(cfg: &AlarmConfig, after_ms: i64) -> Option<i64> {
    let ts = Timestamp::from_millisecond(after_ms).ok()?;
    let mut date = ts.to_zoned(cfg.timezone.clone()).date().yesterday().ok()?;
    for _ in 0..10 {
        if let Some(c) = closing_on(cfg, date)
            && c > after_ms
        {
            return Some(c);
        }
        date = date.tomorrow().ok()?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_domain::site::{DEMO_SITE_TOML, SiteConfig};

    fn cfg() -> AlarmConfig {
        let site = SiteConfig::parse("demo.toml", DEMO_SITE_TOML).expect("demo parses");
        AlarmConfig::from_site(&site).expect("converts")
    }

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().expect("timestamp").as_millisecond()
    }

    #[test]
    fn open_and_closed_in_local_time() {
        let c = cfg();
        // Monday 2026-11-23 10:00 CST = 16:00 UTC: open.
        assert!(is_open_at(&c, ms("2026-11-23T16:00:00Z")));
        // Monday 21:00 CST = Tuesday 03:00 UTC: closed (close is exclusive).
        assert!(!is_open_at(&c, ms("2026-11-24T03:00:00Z")));
        // Monday 08:59 CST: closed.
        assert!(!is_open_at(&c, ms("2026-11-23T14:59:00Z")));
    }

    #[test]
    fn closings_follow_local_time_across_dst() {
        let c = cfg();
        // Saturday 2026-03-07 closes 22:00 CST (UTC-6) = 04:00Z on the 8th.
        assert_eq!(
            next_closing_after(&c, ms("2026-03-07T20:00:00Z")),
            Some(ms("2026-03-08T04:00:00Z"))
        );
        // Sunday 2026-03-08 (DST began 02:00) closes 18:00 CDT (UTC-5) = 23:00Z.
        assert_eq!(
            next_closing_after(&c, ms("2026-03-08T04:00:00Z")),
            Some(ms("2026-03-08T23:00:00Z"))
        );
    }
}
