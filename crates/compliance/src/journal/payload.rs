//! Lenient readers of a fact's JSON payload: a missing or mistyped field reads as empty or
//! absent, never as an error (the journal is what it is; a reader must not fail on an old fact).
use serde_json::{Map, Value};

/// The string at `k`, or empty.
pub fn text(p: &Map<String, Value>, k: &str) -> String {
    p.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The non-empty string at `k`.
pub fn opt_text(p: &Map<String, Value>, k: &str) -> Option<String> {
    p.get(k)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
}

/// The integer at `k`.
pub fn int(p: &Map<String, Value>, k: &str) -> Option<i64> {
    p.get(k).and_then(Value::as_i64)
}

/// The strings of the list at `k` (other items skipped), or empty.
pub fn texts(p: &Map<String, Value>, k: &str) -> Vec<String> {
    p.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The boolean at `k`, false if absent.
pub fn flag(p: &Map<String, Value>, k: &str) -> bool {
    p.get(k).and_then(Value::as_bool).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_or_mistyped_fields_read_as_empty() {
        let Value::Object(p) = json!({"a": "x", "e": "", "n": 7, "l": ["p", 3, "q"], "b": true})
        else {
            panic!("object");
        };
        assert_eq!(text(&p, "a"), "x");
        assert_eq!(text(&p, "n"), "");
        assert_eq!(opt_text(&p, "e"), None);
        assert_eq!(opt_text(&p, "a").as_deref(), Some("x"));
        assert_eq!(int(&p, "n"), Some(7));
        assert_eq!(int(&p, "a"), None);
        assert_eq!(texts(&p, "l"), vec!["p".to_owned(), "q".to_owned()]);
        assert!(texts(&p, "a").is_empty());
        assert!(flag(&p, "b"));
        assert!(!flag(&p, "a"));
    }
}
