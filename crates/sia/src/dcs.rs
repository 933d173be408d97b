//! SIA DCS payloads (SIA DC-03 data as carried by DC-09 `SIA-DCS`), e.g. `#1234|Nri1/BA001`,
//! `#1234|Nri1BA003`, `#1234|Nid5/OP5`, `#1234|Nti12:30/ri2/BA1^Back door^/BR2|Afree text`.
//!
//! A block is a run of modifiers (lower-case pairs: `ri` area, `id` user, `ti` time, `pi` …) and then
//! an event: two upper-case letters and an optional number (zone, user or area depending on the
//! code) with optional `^name^`. Blocks are separated by `/`; `|A` starts free text.

use thiserror::Error;

/// SIA DCS parse errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DcsError {
    /// Structure not understood.
    #[error("malformed SIA DCS payload {0:?}")]
    Malformed(String),
    /// No event code in the payload.
    #[error("SIA DCS payload has no event code")]
    NoEvent,
}

/// One SIA event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DcsEvent {
    /// Two-letter event code (e.g. `BA`).
    pub code: String,
    /// Zone (for zone-type codes).
    pub zone: Option<u32>,
    /// Area/partition (`ri` modifier or the number of area-type codes).
    pub partition: Option<u32>,
    /// User (`id` modifier or the number of user-type codes).
    pub user: Option<u32>,
    /// `ti` time of day as sent (`HH:MM` or `HH:MM:SS`).
    pub time_of_day: Option<String>,
    /// `^name^` and `|A` text.
    pub text: Option<String>,
}

/// A parsed SIA DCS payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcsMessage {
    /// Account inside the payload, if present.
    pub account: Option<String>,
    /// Events in order (at least one).
    pub events: Vec<DcsEvent>,
}

/// Codes whose number is a user (openings/closings, access by user…).
pub fn number_is_user(code: &str) -> bool {
    matches!(
        code,
        "BC" | "CE"
            | "CF"
            | "CJ"
            | "CK"
            | "CL"
            | "CP"
            | "CQ"
            | "CR"
            | "DA"
            | "DB"
            | "EE"
            | "JD"
            | "JH"
            | "JK"
            | "JP"
            | "JS"
            | "JT"
            | "JV"
            | "JX"
            | "JY"
            | "JZ"
            | "OC"
            | "OH"
            | "OJ"
            | "OK"
            | "OL"
            | "OP"
            | "OQ"
            | "OR"
            | "OT"
            | "RX"
    )
}

/// Codes whose number is an area.
pub fn number_is_area(code: &str) -> bool {
    matches!(
        code,
        "BV" | "CA"
            | "CD"
            | "CG"
            | "CI"
            | "CT"
            | "CW"
            | "FI"
            | "FK"
            | "JA"
            | "JR"
            | "NF"
            | "NL"
            | "NM"
            | "OA"
            | "OG"
            | "OI"
    )
}

/// Test-report codes: `RX` manual test, `RP` automatic test, `TX` test report, `TS`/`TE` test start/end.
pub fn is_test(code: &str) -> bool {
    matches!(code, "RX" | "RP" | "TX" | "TS" | "TE")
}

fn take_digits(s: &str) -> (&str, &str) {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    s.split_at(n)
}

fn num(d: &str) -> Option<u32> {
    if d.is_empty() { None } else { d.parse().ok() }
}

/// Parse a SIA DCS payload.
pub fn parse(data: &str) -> Result<DcsMessage, DcsError> {
    let bad = || DcsError::Malformed(data.chars().take(40).collect());
    let (account, mut s) = match data.strip_prefix('#') {
        Some(r) => {
            let (acct, rest) = r.split_once('|').ok_or_else(bad)?;
            if acct.is_empty() || acct.len() > 16 || !acct.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            (Some(acct.to_string()), rest)
        }
        None => (None, data),
    };
    // Free text after `|A`.
    let mut tail_text = None;
    if let Some(i) = s.find('|') {
        let t = &s[i + 1..];
        tail_text = Some(t.strip_prefix('A').unwrap_or(t).to_string());
        s = &s[..i];
    }
    // `N` new event, `O` old; some senders omit it.
    s = s
        .strip_prefix('N')
        .or_else(|| s.strip_prefix('O'))
        .unwrap_or(s);
    let mut events = Vec::new();
    let mut cur = DcsEvent::default();
    while !s.is_empty() {
        if let Some(r) = s.strip_prefix('/') {
            s = r;
            continue;
        }
        let pair = s.get(..2).ok_or_else(bad)?;
        let pb = pair.as_bytes();
        if pb.iter().all(u8::is_ascii_lowercase) {
            let r = &s[2..];
            if pair == "ti" {
                let n = r
                    .bytes()
                    .take_while(|b| b.is_ascii_digit() || *b == b':')
                    .count();
                cur.time_of_day = Some(r[..n].to_string());
                s = &r[n..];
            } else {
                let (d, r) = take_digits(r);
                match pair {
                    "ri" => cur.partition = num(d),
                    "id" => cur.user = num(d),
                    _ => {}
                }
                s = r;
            }
        } else if pb.iter().all(u8::is_ascii_uppercase) {
            let (d, mut r) = take_digits(&s[2..]);
            let mut ev = DcsEvent {
                code: pair.to_string(),
                ..cur.clone()
            };
            if let Some(n) = num(d) {
                if number_is_user(pair) {
                    ev.user = Some(n);
                } else if number_is_area(pair) {
                    ev.partition = Some(n);
                } else {
                    ev.zone = Some(n);
                }
            }
            if let Some(t) = r.strip_prefix('^') {
                let end = t.find('^').ok_or_else(bad)?;
                ev.text = Some(t[..end].to_string());
                r = &t[end + 1..];
            }
            events.push(ev);
            s = r;
        } else {
            return Err(bad());
        }
    }
    if events.is_empty() {
        return Err(DcsError::NoEvent);
    }
    if let Some(t) = tail_text
        && let Some(last) = events.last_mut()
    {
        last.text = Some(match last.text.take() {
            Some(n) => format!("{n} {t}"),
            None => t,
        });
    }
    Ok(DcsMessage { account, events })
}

/// Render one event as `#acct|N[ri<p>][id<u>]/<CODE><number>` (the number is the zone, or the user/area
/// for user/area codes).
pub fn render(account: Option<&str>, ev: &DcsEvent) -> String {
    let mut s = String::new();
    if let Some(a) = account {
        s.push('#');
        s.push_str(a);
        s.push('|');
    }
    s.push('N');
    let user_code = number_is_user(&ev.code);
    let area_code = number_is_area(&ev.code);
    if let Some(p) = ev.partition.filter(|_| !area_code) {
        s.push_str(&format!("ri{p}/"));
    }
    if let Some(u) = ev.user.filter(|_| !user_code) {
        s.push_str(&format!("id{u}/"));
    }
    s.push_str(&ev.code);
    let n = if user_code {
        ev.user
    } else if area_code {
        ev.partition
    } else {
        ev.zone
    };
    if let Some(n) = n {
        s.push_str(&n.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let m = parse("#1234|Nri1/BA001").expect("dcs");
        assert_eq!(m.account.as_deref(), Some("1234"));
        assert_eq!(m.events[0].code, "BA");
        assert_eq!(
            (m.events[0].zone, m.events[0].partition),
            (Some(1), Some(1))
        );
        let m = parse("#1234|Nri2BA003").expect("no slash");
        assert_eq!(
            (m.events[0].zone, m.events[0].partition),
            (Some(3), Some(2))
        );
        let m = parse("#1234|NOP5").expect("user code");
        assert_eq!((m.events[0].user, m.events[0].zone), (Some(5), None));
        let m = parse("#1234|Nti12:30/ri2/BA1^Back door^/BR2|Ahello").expect("multi");
        assert_eq!(m.events.len(), 2);
        assert_eq!(m.events[0].text.as_deref(), Some("Back door"));
        assert_eq!(m.events[1].code, "BR");
        assert_eq!(m.events[1].partition, Some(2));
        assert_eq!(m.events[1].text.as_deref(), Some("hello"));
        assert_eq!(m.events[0].time_of_day.as_deref(), Some("12:30"));
    }

    #[test]
    fn render_round_trip() {
        let ev = DcsEvent {
            code: "BA".into(),
            zone: Some(7),
            partition: Some(2),
            ..Default::default()
        };
        let txt = render(Some("AB12"), &ev);
        assert_eq!(txt, "#AB12|Nri2/BA7");
        assert_eq!(parse(&txt).expect("parse").events[0], ev);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse("#1234|N"), Err(DcsError::NoEvent));
        for bad in [
            "#1234|Nri1/B",
            "#1234|N12",
            "#1234|NBA1^open",
            "#|NBA1",
            "#1234|N-BA1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
