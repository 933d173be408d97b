//! Interval and deadline check kinds (inspection, maintenance, reports, repairs, recurring
//! activities): the tasks [`crate::schedule::tasks_for`] derives, judged in the site's calendar.
use std::collections::HashMap;

use jiff::civil::Date;

use super::Status;
use super::context::{Ctx, Outcome};
use crate::pack::{Check, Requirement};
use crate::schedule::{TaskState, local_date, tasks_for};

pub(super) fn schedule_check(ctx: &Ctx<'_>, req: &Requirement) -> Outcome {
    let tasks = tasks_for(req, ctx.site, ctx.records, &ctx.tz, ctx.now_ms);
    let mut o = Outcome::new();
    if matches!(req.check, Check::InspectionInterval { .. }) {
        let mut latest: HashMap<&str, &crate::records::Inspection> = HashMap::new();
        for i in &ctx.records.inspections {
            let e = latest.entry(i.device_id.as_str()).or_insert(i);
            if i.time_ms >= e.time_ms {
                *e = i;
            }
        }
        let mut failed: Vec<&&crate::records::Inspection> =
            latest.values().filter(|i| !i.passed).collect();
        failed.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        for i in failed {
            o.records.push(i.id.clone());
            o.ev(format!(
                "{}: last test {} found a deficiency (open a work order, ITM-03): {}",
                i.device_id,
                local_date(i.time_ms, &ctx.tz),
                i.notes
            ));
        }
    }
    if tasks.is_empty() {
        return Outcome::with(
            Status::Pass,
            "nothing due: no events that start a deadline".into(),
        );
    }
    let mut open = 0usize;
    let mut next: Option<Date> = None;
    for t in &tasks {
        let state = t.state(ctx.today, ctx.now_ms);
        match state {
            TaskState::Overdue => {
                let why = if t.from_ms.is_none()
                    && matches!(
                        req.check,
                        Check::InspectionInterval { .. }
                            | Check::MaintenanceInterval { .. }
                            | Check::RecurringActivity { .. }
                    ) {
                    "never done".to_owned()
                } else {
                    format!(
                        "due {}, {} day(s) overdue",
                        t.due_local_date,
                        t.days_overdue(ctx.today)
                    )
                };
                o.fail_on(&t.subject, format!("{}: {why}", t.title));
            }
            TaskState::DueToday | TaskState::Open => {
                if t.from_ms.is_none()
                    && matches!(
                        req.check,
                        Check::InspectionInterval { .. }
                            | Check::MaintenanceInterval { .. }
                            | Check::RecurringActivity { .. }
                    )
                {
                    o.fail_on(&t.subject, format!("{}: never done", t.title));
                } else {
                    open += 1;
                    next = Some(next.map_or(t.due_local_date, |n| n.min(t.due_local_date)));
                    if t.provisional {
                        o.ev(format!(
                            "{}: provisionally due {} (outage still open)",
                            t.title, t.due_local_date
                        ));
                    }
                }
            }
            TaskState::Done => {
                if let (Some(done), None) = (t.done_ms, t.due_ms) {
                    let done_day = local_date(done, &ctx.tz);
                    if done_day > t.due_local_date {
                        let late = (done_day - t.due_local_date).get_days();
                        o.ev(format!(
                            "{}: done {done_day}, {late} day(s) after the due date {}",
                            t.title, t.due_local_date
                        ));
                    }
                }
            }
        }
    }
    let n = tasks.len();
    let pass = match next {
        Some(d) => format!("{n} item(s) on time; {open} open, next due {d}"),
        None => format!("{n} item(s) on time"),
    };
    o.finish(pass, |k| format!("{k} item(s) overdue or never done"))
}
