//! Schedules and deadlines, computed in the site's time zone with calendar-day semantics.
//!
//! A [`Task`] is due on a local calendar date (`due_local_date`): it is on time through the end of
//! that day in the site's zone and overdue from the next local day, whatever the offset changes
//! (DST) in between. Intervals follow A11: a "one month" interval is the earlier of the same day next
//! month (clamped to a shorter month's end) and 30 calendar days where the pack gives both; "thirty
//! calendar days" is +30 days; "annual" is +12 months. Tasks come from the pack's schedule-type
//! requirements (`inspection_interval`, `maintenance_interval`, `report_deadline`,
//! `repair_deadline`, `recurring_activity`) and the records; everything here is pure.
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use strongroom_domain::site::SiteConfig;

use crate::pack::{Check, DeadlineEvent, Interval, Pack, Requirement};
use crate::records::Records;

/// The site's time zone; UTC if the name is unknown (the site parser already rejects those).
pub fn site_tz(site: &SiteConfig) -> TimeZone {
    TimeZone::get(&site.site.timezone).unwrap_or(TimeZone::UTC)
}

/// The local calendar date of an instant in `tz` (saturating at the representable range).
pub fn local_date(time_ms: i64, tz: &TimeZone) -> Date {
    let ts = Timestamp::from_millisecond(time_ms).unwrap_or(if time_ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    ts.to_zoned(tz.clone()).date()
}

/// `date + days` calendar days, saturating at the end of the supported range.
pub fn add_days(date: Date, days: u32) -> Date {
    date.checked_add(i64::from(days).days())
        .unwrap_or(Date::MAX)
}

/// `date + months`, clamped to the end of a shorter month (Jan 31 + 1 month = Feb 28/29).
pub fn add_months(date: Date, months: u32) -> Date {
    date.checked_add(i64::from(months).months())
        .unwrap_or(Date::MAX)
}

/// The due date after `last`: the earliest of the interval's parts.
pub fn next_due(last: Date, interval: Interval) -> Date {
    let by_days = interval.days.map(|d| add_days(last, d));
    let by_months = interval.months.map(|m| add_months(last, m));
    match (by_days, by_months) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => last,
    }
}

/// What a task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Inspect and test a device.
    Inspection,
    /// Preventive maintenance.
    Maintenance,
    /// Submit an outage report.
    OutageReport,
    /// Report a vendor list change.
    VendorChangeReport,
    /// Complete an incident corrective action.
    IncidentAction,
    /// Repair a failed component (hours, not days).
    Repair,
    /// A recurring activity (meeting, drill, training).
    Activity,
}

/// Where a task stands on a given local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Done.
    Done,
    /// Open, not yet due.
    Open,
    /// Open and due today (or due within the hour-precise deadline).
    DueToday,
    /// Past due.
    Overdue,
}

/// A deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    /// Stable id: `KIND:REQUIREMENT:SUBJECT`.
    pub id: String,
    /// Kind.
    pub kind: TaskKind,
    /// The requirement that sets it.
    pub requirement_id: String,
    /// Its citation.
    pub citation: String,
    /// What it is about (device id, outage id, vendor change id, ...).
    pub subject: String,
    /// Human title.
    pub title: String,
    /// The instant the deadline started from (last inspection, event time).
    pub from_ms: Option<i64>,
    /// Last local day on which it is on time.
    pub due_local_date: Date,
    /// Exact deadline for hour-based rules (OH-P 24 h repair).
    pub due_ms: Option<i64>,
    /// When it was done.
    pub done_ms: Option<i64>,
    /// The due date may still move (an outage still going on: due from start, A10).
    pub provisional: bool,
    /// Practice item (reminder only, never scored).
    pub practice: bool,
}

impl Task {
    /// The state at `now_ms`, with `today` the site-local date of `now_ms`.
    pub fn state(&self, today: Date, now_ms: i64) -> TaskState {
        if self.done_ms.is_some() {
            return TaskState::Done;
        }
        if let Some(due_ms) = self.due_ms {
            return if now_ms > due_ms {
                TaskState::Overdue
            } else if today >= self.due_local_date {
                TaskState::DueToday
            } else {
                TaskState::Open
            };
        }
        if today > self.due_local_date {
            TaskState::Overdue
        } else if today == self.due_local_date {
            TaskState::DueToday
        } else {
            TaskState::Open
        }
    }

    /// Whole local days past due (0 when not overdue).
    pub fn days_overdue(&self, today: Date) -> i64 {
        if today <= self.due_local_date {
            return 0;
        }
        (today - self.due_local_date).get_days().into()
    }
}

/// The ids of every device that needs periodic inspection and test: cameras, sensors, readers,
/// panels and doors with a lock.
pub fn inspectable_devices(site: &SiteConfig) -> Vec<&str> {
    let mut v: Vec<&str> = Vec::new();
    v.extend(site.cameras.iter().map(|c| c.id.as_str()));
    v.extend(site.sensors.iter().map(|s| s.id.as_str()));
    v.extend(site.readers.iter().map(|r| r.id.as_str()));
    v.extend(site.panels.iter().map(|p| p.id.as_str()));
    v.extend(
        site.doors
            .iter()
            .filter(|d| d.lock != strongroom_domain::site::LockKind::None)
            .map(|d| d.id.as_str()),
    );
    v
}

/// Every task the pack's schedule requirements derive from the records, at `now_ms`.
pub fn tasks(pack: &Pack, site: &SiteConfig, records: &Records, now_ms: i64) -> Vec<Task> {
    let tz = site_tz(site);
    let mut out = Vec::new();
    for req in &pack.requirements {
        out.extend(tasks_for(req, site, records, &tz, now_ms));
    }
    out
}

fn task(req: &Requirement, kind: TaskKind, subject: &str, title: String, due: Date) -> Task {
    Task {
        id: format!("{}:{}:{}", crate::pack::enum_name(&kind), req.id, subject),
        kind,
        requirement_id: req.id.clone(),
        citation: req.citation.clone(),
        subject: subject.to_owned(),
        title,
        from_ms: None,
        due_local_date: due,
        due_ms: None,
        done_ms: None,
        provisional: false,
        practice: req.basis == crate::pack::Basis::Practice,
    }
}

/// The tasks one requirement derives (empty for non-schedule check kinds).
pub fn tasks_for(
    req: &Requirement,
    site: &SiteConfig,
    records: &Records,
    tz: &TimeZone,
    now_ms: i64,
) -> Vec<Task> {
    let today = local_date(now_ms, tz);
    let mut out = Vec::new();
    match &req.check {
        Check::InspectionInterval { interval } => {
            let mut last: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
            for i in records.inspections.iter() {
                let e = last.entry(i.device_id.as_str()).or_insert(i64::MIN);
                *e = (*e).max(i.time_ms);
            }
            for dev in inspectable_devices(site) {
                let (due, from) = match last.get(dev) {
                    Some(&t) => (next_due(local_date(t, tz), *interval), Some(t)),
                    None => (today, None),
                };
                let mut t = task(
                    req,
                    TaskKind::Inspection,
                    dev,
                    format!("Inspect and test {dev} (every {interval})"),
                    due,
                );
                t.from_ms = from;
                out.push(t);
            }
        }
        Check::MaintenanceInterval {
            interval,
            approved_vendor,
        } => {
            let last = records
                .maintenance
                .iter()
                .filter(|m| !*approved_vendor || vendor_is_approved(records, &m.vendor_id))
                .map(|m| m.time_ms)
                .max();
            let due = last.map_or(today, |t| next_due(local_date(t, tz), *interval));
            let mut t = task(
                req,
                TaskKind::Maintenance,
                "surveillance",
                format!("Preventive maintenance of the surveillance system (every {interval})"),
                due,
            );
            t.from_ms = last;
            out.push(t);
        }
        Check::ReportDeadline {
            event,
            due_calendar_days,
        } => match event {
            DeadlineEvent::Outage => {
                for o in &records.outages {
                    let (base, provisional) = match o.end_ms {
                        Some(end) => (end, false),
                        None => (o.start_ms, true),
                    };
                    let due = add_days(local_date(base, tz), *due_calendar_days);
                    let mut t = task(
                        req,
                        TaskKind::OutageReport,
                        &o.id,
                        format!("Submit the outage report for outage {}", o.id),
                        due,
                    );
                    t.from_ms = Some(base);
                    t.done_ms = o.report_submitted_ms;
                    t.provisional = provisional;
                    out.push(t);
                }
            }
            DeadlineEvent::VendorChange => {
                for c in &records.vendor_changes {
                    let due = add_days(local_date(c.time_ms, tz), *due_calendar_days);
                    let mut t = task(
                        req,
                        TaskKind::VendorChangeReport,
                        &c.id,
                        format!(
                            "Report vendor list change {} ({} {})",
                            c.id,
                            crate::pack::enum_name(&c.change),
                            c.vendor_id
                        ),
                        due,
                    );
                    t.from_ms = Some(c.time_ms);
                    t.done_ms = c.submitted_ms;
                    out.push(t);
                }
            }
            DeadlineEvent::IncidentAction => {
                for inc in &records.incidents {
                    for a in &inc.actions {
                        let due = a.due_local_date.unwrap_or_else(|| {
                            add_days(local_date(inc.discovered_ms, tz), *due_calendar_days)
                        });
                        let subject = format!("{}/{}", inc.id, a.id);
                        let mut t = task(
                            req,
                            TaskKind::IncidentAction,
                            &subject,
                            format!(
                                "Corrective action for incident {}: {}",
                                inc.id, a.description
                            ),
                            due,
                        );
                        t.from_ms = Some(inc.discovered_ms);
                        t.done_ms = a.done_ms;
                        out.push(t);
                    }
                }
            }
        },
        Check::RepairDeadline { within_hours } => {
            for o in &records.outages {
                let hours_ms = i64::from(*within_hours).saturating_mul(3_600_000);
                let due_ms = o.start_ms.saturating_add(hours_ms);
                let mut t = task(
                    req,
                    TaskKind::Repair,
                    &o.id,
                    format!("Repair or replace the failed component (outage {})", o.id),
                    local_date(due_ms, tz),
                );
                t.from_ms = Some(o.start_ms);
                t.due_ms = Some(due_ms);
                t.done_ms = o.repaired_ms.or(o.end_ms);
                if o.extension_approval_ref.is_some() {
                    t.done_ms = t.done_ms.or(Some(o.start_ms));
                }
                out.push(t);
            }
        }
        Check::RecurringActivity { activity, interval } => {
            let last = records
                .activities
                .iter()
                .filter(|a| &a.activity == activity)
                .map(|a| a.time_ms)
                .max();
            let due = last.map_or(today, |t| next_due(local_date(t, tz), *interval));
            let mut t = task(
                req,
                TaskKind::Activity,
                activity,
                format!("{activity} (every {interval})"),
                due,
            );
            t.from_ms = last;
            out.push(t);
        }
        _ => {}
    }
    out
}

/// Whether the vendor is on the list and approved.
pub fn vendor_is_approved(records: &Records, vendor_id: &str) -> bool {
    records.vendors.iter().any(|v| {
        v.id == vendor_id
            && v.status == crate::records::VendorStatus::Approved
            && v.approval_ref.is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Records;
    use crate::test_support::ms_in;
    use jiff::civil::date;

    #[test]
    fn a11_intervals_across_month_ends() {
        let il = Interval {
            days: Some(30),
            months: Some(1),
        };
        let ohd = Interval {
            days: Some(30),
            months: None,
        };
        let ohp = Interval {
            days: None,
            months: Some(12),
        };
        // §22 scenario 11: last tested 31 January.
        assert_eq!(next_due(date(2025, 1, 31), il), date(2025, 2, 28));
        assert_eq!(next_due(date(2024, 1, 31), il), date(2024, 2, 29));
        assert_eq!(next_due(date(2025, 1, 31), ohd), date(2025, 3, 2));
        assert_eq!(next_due(date(2024, 1, 31), ohd), date(2024, 3, 1));
        assert_eq!(next_due(date(2025, 1, 31), ohp), date(2026, 1, 31));
        assert_eq!(next_due(date(2024, 2, 29), ohp), date(2025, 2, 28));
        // A 31-day month: +30 days comes before the same day next month.
        assert_eq!(next_due(date(2025, 3, 1), il), date(2025, 3, 31));
        assert_eq!(next_due(date(2025, 12, 15), il), date(2026, 1, 14));
        assert_eq!(add_days(Date::MAX, 5), Date::MAX);
    }

    #[test]
    fn local_dates_across_dst() {
        let tz = TimeZone::get("America/Chicago").expect("tz");
        // 2025-03-09 02:00 local does not exist (spring forward). 23:30 local on 3/8 is 05:30Z on 3/9.
        let t = ms_in("2025-03-08T23:30", "America/Chicago");
        assert_eq!(local_date(t, &tz), date(2025, 3, 8));
        assert_eq!(local_date(t, &TimeZone::UTC), date(2025, 3, 9));
        // Fall back: 2025-11-02 01:30 happens twice; both are Nov 2 locally.
        let t = ms_in("2025-11-02T01:30", "America/Chicago");
        assert_eq!(local_date(t, &tz), date(2025, 11, 2));
        assert_eq!(local_date(t + 3_600_000, &tz), date(2025, 11, 2));
    }

    fn demo() -> SiteConfig {
        SiteConfig::parse("demo.toml", strongroom_domain::site::DEMO_SITE_TOML).expect("demo")
    }

    fn builtin(id: &str) -> Pack {
        crate::pack::builtin(id).expect("ships").expect("parses")
    }

    fn today_of(now_ms: i64) -> Date {
        local_date(now_ms, &TimeZone::get("America/Chicago").expect("tz"))
    }

    /// §22 scenario 11: a camera last tested 31 January, per pack, and the overdue fact a day late.
    #[test]
    fn scenario_11_inspection_due_dates_per_pack() {
        let site = demo();
        let mut records = Records::default();
        for dev in inspectable_devices(&site) {
            records.inspections.push(crate::records::Inspection {
                id: format!("i-{dev}"),
                device_id: dev.into(),
                time_ms: ms_in("2025-01-31T15:00", "America/Chicago"),
                by: "tech".into(),
                passed: true,
                notes: String::new(),
            });
        }
        let now = ms_in("2025-02-10T12:00", "America/Chicago");
        for (pack, due) in [
            ("il-dispensary", date(2025, 2, 28)),
            ("oh-dispensary", date(2025, 3, 2)),
            ("oh-processor", date(2026, 1, 31)),
        ] {
            let t = tasks(&builtin(pack), &site, &records, now);
            let cam = t
                .iter()
                .find(|t| t.kind == TaskKind::Inspection && t.subject == "cam-front")
                .expect("task");
            assert_eq!(cam.due_local_date, due, "{pack}");
            assert_eq!(cam.requirement_id, "ITM-01");
        }
        let il = builtin("il-dispensary");
        let on_due = ms_in("2025-02-28T23:59", "America/Chicago");
        let t = tasks(&il, &site, &records, on_due);
        assert!(crate::facts::overdue(&t, today_of(on_due), on_due).is_empty());
        let late = ms_in("2025-03-01T00:01", "America/Chicago");
        let t = tasks(&il, &site, &records, late);
        let facts = crate::facts::overdue(&t, today_of(late), late);
        let n = inspectable_devices(&site).len();
        assert_eq!(facts.len(), n);
        let f = facts
            .iter()
            .find(|f| f.payload.get("subject") == Some(&"cam-front".into()))
            .expect("cam-front fact");
        assert_eq!(f.kind, crate::facts::kinds::TASK_OVERDUE);
        assert_eq!(f.payload.get("due_local_date"), Some(&"2025-02-28".into()));
        assert_eq!(f.payload.get("days_overdue"), Some(&1.into()));
        assert_eq!(f.validate(), Ok(()));
        let findings = crate::check::evaluate(&il, &site, &records, late);
        let itm = findings
            .iter()
            .find(|f| f.requirement_id == "ITM-01")
            .expect("ITM-01");
        assert_eq!(itm.status, crate::check::Status::Fail);
        assert_eq!(itm.devices.len(), n);
    }

    /// §22 scenario 10: a vendor removed on day D is due D+5 and overdue after the end of D+5,
    /// here across the spring-forward DST change.
    #[test]
    fn scenario_10_vendor_change_across_dst() {
        let site = demo();
        let mut records = Records::default();
        records.vendor_changes.push(crate::records::VendorChange {
            id: "c1".into(),
            vendor_id: "v1".into(),
            change: crate::records::ChangeKind::Removed,
            time_ms: ms_in("2025-03-07T12:00", "America/Chicago"),
            detail: String::new(),
            submitted_ms: None,
        });
        let il = builtin("il-dispensary");
        let last_minute = ms_in("2025-03-12T23:59:59", "America/Chicago");
        let t = tasks(&il, &site, &records, last_minute);
        let task = t
            .iter()
            .find(|t| t.kind == TaskKind::VendorChangeReport)
            .expect("task");
        assert_eq!(task.due_local_date, date(2025, 3, 12));
        assert_eq!(
            task.state(today_of(last_minute), last_minute),
            TaskState::DueToday
        );
        // 2025-03-13 00:00:01 CDT is 05:00:01Z; in UTC it is still the 13th, but a naive 24 h x 5
        // from 12:00 CST would have ended at 13:00 CDT.
        let next_day = ms_in("2025-03-13T00:00:01", "America/Chicago");
        assert_eq!(task.state(today_of(next_day), next_day), TaskState::Overdue);
        let facts = crate::facts::overdue(
            &tasks(&il, &site, &records, next_day),
            today_of(next_day),
            next_day,
        );
        assert!(
            facts
                .iter()
                .any(|f| f.payload.get("requirement_id") == Some(&"VND-02".into()))
        );
        let opened = crate::facts::task_opened(task, records.vendor_changes[0].time_ms);
        assert_eq!(
            opened.payload.get("due_local_date"),
            Some(&"2025-03-12".into())
        );
    }

    #[test]
    fn outage_report_due_across_fall_back_and_month_end() {
        let site = demo();
        let mut records = Records::default();
        records.outages.push(crate::records::Outage {
            id: "o1".into(),
            start_ms: ms_in("2025-10-30T22:00", "America/Chicago"),
            end_ms: Some(ms_in("2025-10-30T23:50", "America/Chicago")),
            ..crate::records::Outage::default()
        });
        let il = builtin("il-dispensary");
        let now = ms_in("2025-11-04T23:30", "America/Chicago");
        let t = tasks(&il, &site, &records, now);
        let task = t
            .iter()
            .find(|t| t.kind == TaskKind::OutageReport)
            .expect("task");
        assert_eq!(task.due_local_date, date(2025, 11, 4));
        assert_eq!(task.state(today_of(now), now), TaskState::DueToday);
        // 23:30 CST on Nov 4 is 05:30Z on Nov 5: the UTC date would wrongly call it overdue.
        assert_eq!(local_date(now, &TimeZone::UTC), date(2025, 11, 5));
        // OH packs have no outage-report deadline.
        assert!(
            tasks(&builtin("oh-dispensary"), &site, &records, now)
                .iter()
                .all(|t| t.kind != TaskKind::OutageReport)
        );
    }

    #[test]
    fn task_state_uses_calendar_days() {
        let t = Task {
            id: "x".into(),
            kind: TaskKind::VendorChangeReport,
            requirement_id: "VND-02".into(),
            citation: "IL 1291.300(h)".into(),
            subject: "c1".into(),
            title: String::new(),
            from_ms: None,
            due_local_date: date(2025, 3, 13),
            due_ms: None,
            done_ms: None,
            provisional: false,
            practice: false,
        };
        assert_eq!(t.state(date(2025, 3, 12), 0), TaskState::Open);
        assert_eq!(t.state(date(2025, 3, 13), 0), TaskState::DueToday);
        assert_eq!(t.state(date(2025, 3, 14), 0), TaskState::Overdue);
        assert_eq!(t.days_overdue(date(2025, 3, 16)), 3);
        let done = Task {
            done_ms: Some(1),
            ..t
        };
        assert_eq!(done.state(date(2026, 1, 1), 0), TaskState::Done);
    }
}
