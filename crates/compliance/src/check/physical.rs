//! Physical-item check kinds: attestations (freshness, choices, limits on measured values,
//! required wording) and the IL counter-height rule.
use super::Status;
use super::context::{Ctx, Outcome};
use crate::pack::{Subjects, fmt_milli};
use crate::records::Attestation;
use crate::schedule::local_date;

/// Whether a measured value (thousandths) is in a plausible range.
fn plausible(v: i64) -> bool {
    (0..=1_000_000_000).contains(&v)
}

/// IL counter rule per attested segment: full height, or a short segment low enough.
pub(super) fn counter_height(
    ctx: &Ctx<'_>,
    min_height_milli_in: i64,
    short_max_length_milli_in: i64,
    short_min_height_milli_in: i64,
    short_max_height_milli_in: i64,
) -> Outcome {
    let mut o = Outcome::new();
    let counters: Vec<&Attestation> = ctx
        .attest
        .iter()
        .filter(|((i, _), _)| *i == "counter")
        .map(|(_, a)| *a)
        .collect();
    if counters.is_empty() {
        return Outcome::with(Status::Fail, "no counter segment attested".into());
    }
    let mut counters = counters;
    counters.sort_by(|a, b| a.subject.cmp(&b.subject));
    for a in counters {
        o.records.push(a.id.clone());
        let h = a.values_milli.get("height_in").copied();
        let l = a.values_milli.get("length_in").copied();
        match (h, l) {
            (Some(h), Some(l)) if plausible(h) && plausible(l) => {
                let full = h >= min_height_milli_in;
                let short = l <= short_max_length_milli_in
                    && h >= short_min_height_milli_in
                    && h <= short_max_height_milli_in;
                if full || short {
                    o.ev(format!(
                        "counter {}: {}\" high, {}\" long",
                        a.subject,
                        fmt_milli(h),
                        fmt_milli(l)
                    ));
                } else {
                    o.fail_on(&a.subject, format!(
                        "counter {}: {}\" high, {}\" long: needs >= {}\" or (<= {}\" long and {}\"-{}\" high)",
                        a.subject, fmt_milli(h), fmt_milli(l), fmt_milli(min_height_milli_in), fmt_milli(short_max_length_milli_in), fmt_milli(short_min_height_milli_in), fmt_milli(short_max_height_milli_in)
                    ));
                }
            }
            (Some(_), Some(_)) => o.fail_on(
                &a.subject,
                format!(
                    "counter {}: measured values out of plausible range",
                    a.subject
                ),
            ),
            _ => o.fail_on(
                &a.subject,
                format!(
                    "counter {}: attestation lacks height_in or length_in",
                    a.subject
                ),
            ),
        }
    }
    if o.status != Some(Status::Fail) {
        o.status = Some(Status::Attested);
    }
    o.finish("every counter segment attested within limits".into(), |n| {
        format!("{n} counter segment(s) out of limits")
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn attestation(
    ctx: &Ctx<'_>,
    item: &str,
    per: &Subjects,
    limits: &[crate::pack::Limit],
    required_text: Option<&str>,
    choices: &[String],
    max_age_days: Option<u32>,
) -> Outcome {
    let fresh = |a: &Attestation| match max_age_days {
        Some(d) => {
            let attested = local_date(a.time_ms, &ctx.tz);
            crate::schedule::add_days(attested, d) >= ctx.today
        }
        None => true,
    };
    let latest_any = || {
        ctx.attest
            .iter()
            .filter(|((i, _), _)| *i == item)
            .map(|(_, a)| *a)
            .max_by_key(|a| (a.time_ms, a.id.as_str()))
    };
    let subjects: Vec<(String, Option<&Attestation>)> = match per {
        Subjects::Site => vec![("site".to_owned(), latest_any())],
        Subjects::Doors(sel) => {
            let doors = ctx.doors(*sel);
            if doors.is_empty() {
                return Outcome::with(
                    Status::NotApplicable,
                    format!("no {} doors on the site", sel.as_str()),
                );
            }
            doors
                .iter()
                .map(|d| {
                    (
                        d.id.clone(),
                        ctx.attest.get(&(item, d.id.as_str())).copied(),
                    )
                })
                .collect()
        }
        Subjects::Each => {
            let mut v: Vec<(String, Option<&Attestation>)> = ctx
                .attest
                .iter()
                .filter(|((i, _), _)| *i == item)
                .map(|((_, s), a)| ((*s).to_owned(), Some(*a)))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            if v.is_empty() {
                v.push((item.to_owned(), None));
            }
            v
        }
    };
    let mut o = Outcome::new();
    for (subject, att) in subjects {
        let Some(a) = att else {
            o.fail_on(&subject, format!("{subject}: no `{item}` attestation"));
            continue;
        };
        o.records.push(a.id.clone());
        let mut problems: Vec<String> = Vec::new();
        if !fresh(a) {
            problems.push(format!(
                "attested {} is older than {} days",
                local_date(a.time_ms, &ctx.tz),
                max_age_days.unwrap_or(0)
            ));
        }
        if !a.in_place {
            problems.push("attester did not confirm the item is in place".into());
        }
        if !choices.is_empty() {
            let chosen = a.choice.as_deref().unwrap_or("");
            let spec = choices
                .iter()
                .find(|c| c.trim_end_matches("+approval") == chosen);
            match spec {
                None => problems.push(format!(
                    "option {chosen:?} is not one of {}",
                    choices
                        .iter()
                        .map(|c| c.trim_end_matches("+approval"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Some(c)
                    if c.ends_with("+approval")
                        && a.approval_ref
                            .as_deref()
                            .is_none_or(|r| r.trim().is_empty()) =>
                {
                    problems.push(format!(
                        "option {chosen:?} needs a regulator approval reference"
                    ));
                }
                Some(_) => {}
            }
        }
        for l in limits {
            match a.values_milli.get(&l.measure) {
                None => problems.push(format!("no `{}` measured", l.measure)),
                Some(v) if !plausible(*v) => problems.push(format!(
                    "`{}` = {} is out of plausible range",
                    l.measure,
                    fmt_milli(*v)
                )),
                Some(v) if !l.op.holds(*v, l.value_milli) => {
                    problems.push(format!("`{}` = {}, needs {l}", l.measure, fmt_milli(*v)))
                }
                Some(_) => {}
            }
        }
        if let Some(want) = required_text {
            match a.text.as_deref() {
                Some(got) if normalize_text(got) == normalize_text(want) => {}
                Some(got) => problems.push(format!(
                    "wording {got:?} differs from the required {want:?}"
                )),
                None => problems.push("wording not recorded".into()),
            }
        }
        if problems.is_empty() {
            let vals: Vec<String> = a
                .values_milli
                .iter()
                .map(|(k, v)| format!("{k}={}", fmt_milli(*v)))
                .collect();
            o.ev(format!(
                "{subject}: attested by {} on {}{}",
                a.by,
                local_date(a.time_ms, &ctx.tz),
                if vals.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", vals.join(", "))
                }
            ));
        } else {
            o.fail_on(&subject, format!("{subject}: {}", problems.join("; ")));
        }
    }
    if o.status != Some(Status::Fail) {
        o.status = Some(Status::Attested);
    }
    o.finish(format!("`{item}` attested"), |n| {
        format!("{n} `{item}` attestation(s) missing or out of limits")
    })
}

/// Lower case, dashes unified, whitespace collapsed, trailing period dropped: sign wording compare.
fn normalize_text(s: &str) -> String {
    let unified: String = s
        .chars()
        .map(|c| match c {
            '\u{2013}' | '\u{2014}' | '\u{2012}' | '\u{2212}' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let collapsed = unified.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace(" - ", "-")
        .replace("- ", "-")
        .replace(" -", "-")
        .trim_end_matches('.')
        .to_owned()
}
