//! Ademco Contact ID payloads as carried by DC-09 `ADM-CID`: `#acct|QEEE GG CCC`
//! (Q qualifier, EEE event code, GG partition/group, CCC zone or user; the spaces are optional).

use thiserror::Error;

/// Contact ID parse errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CidError {
    /// Not of the form `[#acct|]QEEE GG CCC`.
    #[error("malformed Contact ID payload {0:?}")]
    Malformed(String),
    /// Qualifier not 1, 3 or 6.
    #[error("unknown Contact ID qualifier {0}")]
    BadQualifier(char),
}

/// Contact ID event qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CidQualifier {
    /// `1`: new event or opening.
    New,
    /// `3`: restore or closing.
    Restore,
    /// `6`: previously reported condition still present (status).
    StatusRepeat,
}

/// A parsed Contact ID event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidEvent {
    /// Account inside the payload (`#acct|`), if present.
    pub account: Option<String>,
    /// Qualifier.
    pub qualifier: CidQualifier,
    /// Event code (000–999).
    pub code: u16,
    /// Partition/group (00–99).
    pub partition: u8,
    /// Zone or user number (000–999), see [`reports_user`].
    pub zone_or_user: u16,
}

fn digits(s: &str, n: usize) -> Option<(u16, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

/// Parse a Contact ID payload.
pub fn parse(data: &str) -> Result<CidEvent, CidError> {
    let bad = || CidError::Malformed(data.chars().take(40).collect());
    let (account, rest) = match data.strip_prefix('#') {
        Some(r) => {
            let (acct, rest) = r.split_once('|').ok_or_else(bad)?;
            if acct.is_empty() || acct.len() > 16 || !acct.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            (Some(acct.to_string()), rest)
        }
        None => (None, data.strip_prefix('|').unwrap_or(data)),
    };
    let q = rest.chars().next().ok_or_else(bad)?;
    let qualifier = match q {
        '1' => CidQualifier::New,
        '3' => CidQualifier::Restore,
        '6' => CidQualifier::StatusRepeat,
        c if c.is_ascii_digit() => return Err(CidError::BadQualifier(c)),
        _ => return Err(bad()),
    };
    let (code, r) = digits(&rest[1..], 3).ok_or_else(bad)?;
    let r = r.strip_prefix(' ').unwrap_or(r);
    let (partition, r) = digits(r, 2).ok_or_else(bad)?;
    let r = r.strip_prefix(' ').unwrap_or(r);
    let (zone_or_user, r) = digits(r, 3).ok_or_else(bad)?;
    if !r.is_empty() {
        return Err(bad());
    }
    let partition = u8::try_from(partition).map_err(|_| bad())?;
    Ok(CidEvent {
        account,
        qualifier,
        code,
        partition,
        zone_or_user,
    })
}

/// Render `#acct|QEEE GG CCC` (account part only when given).
pub fn render(ev: &CidEvent) -> String {
    let q = match ev.qualifier {
        CidQualifier::New => '1',
        CidQualifier::Restore => '3',
        CidQualifier::StatusRepeat => '6',
    };
    let body = format!(
        "{q}{:03} {:02} {:03}",
        ev.code % 1000,
        ev.partition % 100,
        ev.zone_or_user % 1000
    );
    match &ev.account {
        Some(a) => format!("#{a}|{body}"),
        None => body,
    }
}

/// Event codes defined by SIA DC-05 (Contact ID). Anything else is answered with DUH.
const KNOWN: &[(u16, u16)] = &[
    (100, 102),
    (110, 118),
    (120, 126),
    (129, 139),
    (140, 146),
    (150, 162),
    (200, 206),
    (300, 321),
    (330, 339),
    (341, 344),
    (350, 357),
    (370, 378),
    (380, 389),
    (391, 395),
    (400, 409),
    (411, 415),
    (421, 422),
    (424, 434),
    (441, 442),
    (450, 459),
    (461, 466),
    (570, 578),
    (601, 609),
    (611, 616),
    (621, 635),
    (641, 642),
    (651, 654),
];

/// Whether `code` is a defined Contact ID event code.
pub fn is_known(code: u16) -> bool {
    KNOWN.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code))
}

/// Codes whose CCC field is a user number rather than a zone (openings/closings, access, etc.).
pub fn reports_user(code: u16) -> bool {
    matches!(code, 121 | 313 | 400..=409 | 411..=415 | 421 | 422 | 424 | 425 | 429..=431 | 441 | 442 | 450..=459 | 462..=464 | 466 | 574 | 604 | 607 | 625 | 642 | 652 | 653)
}

/// Codes that are test reports (601 manual trigger test, 602 periodic test, 603 RF test,
/// 604 fire test, 605 status report, 606 listen-in, 607 walk test, 608 periodic test with trouble).
pub fn is_test(code: u16) -> bool {
    (601..=608).contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_spaces() {
        let e = parse("#1234|1130 01 003").expect("cid");
        assert_eq!(e.account.as_deref(), Some("1234"));
        assert_eq!(
            (e.qualifier, e.code, e.partition, e.zone_or_user),
            (CidQualifier::New, 130, 1, 3)
        );
        assert_eq!(render(&e), "#1234|1130 01 003");
        let e = parse("340101012").expect("cid");
        assert_eq!(
            (e.qualifier, e.code, e.partition, e.zone_or_user),
            (CidQualifier::Restore, 401, 1, 12)
        );
        assert!(reports_user(401) && !reports_user(130));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse("#1234|2130 01 003"), Err(CidError::BadQualifier('2')));
        for bad in [
            "",
            "#1234",
            "#|1130 01 003",
            "#1234|1130 01 03",
            "#1234|1130 01 0031",
            "x130 01 003",
            "#12Z4|1130 01 003",
            "#1234|1130 01 00é",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn known_codes() {
        assert!(is_known(130) && is_known(602) && is_known(401));
        assert!(!is_known(999) && !is_known(0) && !is_known(550));
        assert!(is_test(601) && !is_test(130));
    }
}
