//! Authorization schedules: overnight windows, daylight-saving changes in Chicago, operating
//! hours and end dates.
use crate::common::{World, chicago};
use strongroom_access::{Command, DenyReason, Outcome, Schedule, Weekday, Window};

/// Refused for being outside the schedule.
const OUTSIDE: Outcome = Outcome::Deny(DenyReason::OutsideSchedule);
/// Granted.
const GRANT: Outcome = Outcome::Grant;
/// One minute, in milliseconds.
const MINUTE_MS: i64 = 60_000;

fn windows(days: &[Weekday], start: &str, end: &str) -> Schedule {
    Schedule::Windows {
        windows: vec![Window::parse(days, start, end).unwrap()],
    }
}

/// A world where the agent nina has a card but may enter `back` only on `schedule`.
fn nina_on(schedule: Schedule) -> World {
    let mut w = World::new();
    w.agent("nina", &[]);
    w.authorize("nina", "back", schedule);
    w
}

fn try_at(w: &mut World, at: i64) -> Outcome {
    w.now = at;
    w.reset_occupancy();
    w.card("r-back", "CARD-nina").outcome
}

/// Nina badges at each `(epoch ms, expected outcome)` in turn.
fn assert_outcomes_at(w: &mut World, cases: &[(i64, Outcome)]) {
    for &(at_ms, expected) in cases {
        assert_eq!(try_at(w, at_ms), expected, "at {at_ms} ms");
    }
}

/// [`assert_outcomes_at`] with Chicago wall-clock times (`"2025-06-02T12:00"`).
fn assert_outcomes_at_chicago(w: &mut World, cases: &[(&str, Outcome)]) {
    for &(wall_clock, expected) in cases {
        assert_eq!(try_at(w, chicago(wall_clock)), expected, "at {wall_clock}");
    }
}

#[test]
fn schedule_across_midnight() {
    let mut w = nina_on(windows(&[Weekday::Fri], "22:00", "06:00"));
    assert_outcomes_at_chicago(
        &mut w,
        &[
            ("2025-06-06T21:59", OUTSIDE),
            ("2025-06-06T22:00", GRANT),
            ("2025-06-07T00:30", GRANT),
            ("2025-06-07T05:59", GRANT),
            ("2025-06-07T06:00", OUTSIDE),
            // Saturday night is not in the window.
            ("2025-06-07T23:00", OUTSIDE),
        ],
    );
}

#[test]
fn schedule_across_spring_forward_in_chicago() {
    // 2025-03-09: 02:00 CST jumps to 03:00 CDT.
    let mut w = nina_on(windows(&[Weekday::Sat], "22:00", "06:00"));
    let before = chicago("2025-03-09T01:59");
    // The window ends at 06:00 on the wall clock, 3 h 1 min of real time after 01:59 CST.
    let six = chicago("2025-03-09T06:00");
    assert_eq!(six - before, (3 * 60 + 1) * MINUTE_MS);
    assert_outcomes_at(
        &mut w,
        &[
            (before, GRANT),
            // One real minute later it is 03:00 CDT: still inside.
            (before + MINUTE_MS, GRANT),
            (six - MINUTE_MS, GRANT),
            (six, OUTSIDE),
        ],
    );

    // A window inside the skipped hour never matches that night.
    let mut w = nina_on(windows(&[Weekday::Sun], "02:00", "02:30"));
    for m in 0..=90 {
        let t = before - 30 * MINUTE_MS + m * MINUTE_MS;
        assert_eq!(try_at(&mut w, t), OUTSIDE, "minute {m}");
    }
}

#[test]
fn schedule_across_fall_back_in_chicago() {
    // 2025-11-02: 02:00 CDT falls back to 01:00 CST; 01:00-02:00 happens twice.
    let mut w = nina_on(windows(&[Weekday::Sun], "01:00", "01:30"));
    let first = "2025-11-02T06:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond(); // 01:00 CDT
    assert_outcomes_at(
        &mut w,
        &[
            (first + 15 * MINUTE_MS, GRANT),    // 01:15 CDT
            (first + 45 * MINUTE_MS, OUTSIDE),  // 01:45 CDT
            (first + 75 * MINUTE_MS, GRANT),    // 01:15 CST
            (first + 105 * MINUTE_MS, OUTSIDE), // 01:45 CST
        ],
    );

    // An overnight window on the 25-hour night covers the extra hour.
    let mut w = nina_on(windows(&[Weekday::Sat], "23:00", "03:00"));
    let start = chicago("2025-11-01T23:00");
    let end = chicago("2025-11-02T03:00");
    assert_eq!(end - start, 5 * 3_600_000);
    assert_outcomes_at(
        &mut w,
        &[(start, GRANT), (end - MINUTE_MS, GRANT), (end, OUTSIDE)],
    );
}

#[test]
fn operating_hours_and_after_hours() {
    let mut w = nina_on(Schedule::OperatingHours);
    assert_outcomes_at_chicago(
        &mut w,
        &[
            ("2025-06-02T08:59", OUTSIDE),
            ("2025-06-02T09:00", GRANT),
            ("2025-06-02T21:00", OUTSIDE),
            // Sunday is closed.
            ("2025-06-08T12:00", OUTSIDE),
        ],
    );
    w.authorize("nina", "back", Schedule::AfterHours);
    assert_outcomes_at_chicago(
        &mut w,
        &[("2025-06-08T12:00", GRANT), ("2025-06-02T12:00", OUTSIDE)],
    );
}

#[test]
fn authorisation_end_date() {
    let mut w = World::new();
    w.agent("nina", &[]);
    let until = w.now + 3_600_000;
    w.cmd(Command::AuthorizeArea {
        person: "nina".into(),
        area: "back".into(),
        schedule: Schedule::Always,
        valid_until_ms: Some(until),
    });
    assert!(w.card("r-back", "CARD-nina").is_grant());
    assert_eq!(
        try_at(&mut w, until + 1),
        Outcome::Deny(DenyReason::AuthorizationExpired)
    );
    w.cmd(Command::DeauthorizeArea {
        person: "nina".into(),
        area: "back".into(),
        reason: String::new(),
    });
    assert_eq!(
        try_at(&mut w, until + 2),
        Outcome::Deny(DenyReason::NotAuthorized)
    );
}
