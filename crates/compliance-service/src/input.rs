//! Checking what a caller enters: free text (trimmed, at most [`MAX_TEXT`] characters), record
//! times (not in the future), who did it, and new record ids.
use strongroom_domain::Actor;

use crate::error::ComplianceError;

/// Longest free text accepted.
pub(crate) const MAX_TEXT: usize = 2_000;

/// `v` trimmed; refused if `required` and empty, or longer than [`MAX_TEXT`].
pub(crate) fn text(field: &str, v: &str, required: bool) -> Result<String, ComplianceError> {
    let t = v.trim();
    if required && t.is_empty() {
        return Err(ComplianceError::BadRequest(format!("{field} is required")));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(ComplianceError::BadRequest(format!(
            "{field} may have at most {MAX_TEXT} characters"
        )));
    }
    Ok(t.to_owned())
}

/// An optional text: checked like [`text`], empty reads as absent.
pub(crate) fn opt_text(field: &str, v: Option<&str>) -> Result<Option<String>, ComplianceError> {
    Ok(v.map(|c| text(field, c, false))
        .transpose()?
        .filter(|c| !c.is_empty()))
}

/// A record time: given (not in the future, allowing a minute of clock skew) or now.
pub(crate) fn when(given: Option<i64>, now: i64) -> Result<i64, ComplianceError> {
    match given {
        Some(t) if t > now.saturating_add(60_000) => Err(ComplianceError::BadRequest(
            "time_ms is in the future".into(),
        )),
        Some(t) if t < 0 => Err(ComplianceError::BadRequest("time_ms is negative".into())),
        Some(t) => Ok(t),
        None => Ok(now),
    }
}

/// Who did it: the name given, or the actor's user name.
pub(crate) fn who(actor: &Actor, by: Option<&str>) -> Result<String, ComplianceError> {
    match by {
        Some(b) if !b.trim().is_empty() => text("by", b, true),
        _ => Ok(match actor {
            Actor::User(u) => u.clone(),
            other => other.to_string(),
        }),
    }
}

/// A new record id: `PREFIX-NOW-RANDOM`.
pub(crate) fn new_id(prefix: &str, now: i64) -> Result<String, ComplianceError> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| ComplianceError::Internal(e.to_string()))?;
    Ok(format!("{prefix}-{now}-{}", hex::encode(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_times_and_names() {
        assert_eq!(text("x", "  a ", true).expect("ok"), "a");
        assert!(text("x", "  ", true).is_err());
        assert_eq!(text("x", "", false).expect("optional"), "");
        assert!(text("x", &"a".repeat(MAX_TEXT + 1), false).is_err());
        assert_eq!(opt_text("x", Some(" ")).expect("ok"), None);
        assert_eq!(when(None, 5).expect("now"), 5);
        assert!(when(Some(200_000), 100_000).is_err(), "future");
        assert_eq!(when(Some(150_000), 100_000).expect("skew"), 150_000);
        assert!(when(Some(-1), 100_000).is_err());
        assert_eq!(who(&Actor::User("ann".into()), None).expect("user"), "ann");
        assert_eq!(who(&Actor::System, Some(" bob ")).expect("given"), "bob");
        let id = new_id("ins", 7).expect("id");
        assert!(
            id.starts_with("ins-7-") && id.len() == "ins-7-".len() + 8,
            "{id}"
        );
    }
}
