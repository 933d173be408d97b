//! Measured values of an attestation as entered (`{"width_in": "12.5"}` or a JSON number) parsed
//! to thousandths of the unit named by the key, without floating point.
use std::collections::BTreeMap;

use serde_json::Value;

use crate::pack::parse_decimal_milli;

/// Why a measured value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The name is not 1-64 characters of `a-z`, `0-9` and `_`.
    #[error("bad value name {0:?}")]
    BadName(String),
    /// The value is not a decimal number with at most 3 decimals.
    #[error("value {name:?} must be a decimal number (at most 3 decimals), not {given}")]
    NotDecimal {
        /// The value's name.
        name: String,
        /// What was given, as JSON.
        given: String,
    },
}

/// Whether `k` can name a measured value (`width_in`, `height_ft`).
pub fn is_value_name(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 64
        && k.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// Each value in thousandths; the first bad name or value is the error.
pub fn values_milli(values: &BTreeMap<String, Value>) -> Result<BTreeMap<String, i64>, ValueError> {
    let mut out = BTreeMap::new();
    for (k, v) in values {
        if !is_value_name(k) {
            return Err(ValueError::BadName(k.clone()));
        }
        let as_text = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_owned(),
            _ => String::new(),
        };
        let milli = parse_decimal_milli(&as_text).ok_or_else(|| ValueError::NotDecimal {
            name: k.clone(),
            given: v.to_string(),
        })?;
        out.insert(k.clone(), milli);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).expect("map")
    }

    #[test]
    fn numbers_and_strings_become_thousandths() {
        let v = values_milli(&of(
            json!({"width_in": "12.5", "height_in": 8, "depth_in": " 0.125 "}),
        ))
        .expect("valid");
        assert_eq!(v["width_in"], 12_500);
        assert_eq!(v["height_in"], 8_000);
        assert_eq!(v["depth_in"], 125);
        assert_eq!(
            values_milli(&of(json!({"x": 1.5}))).expect("float")["x"],
            1_500
        );
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        assert_eq!(
            values_milli(&of(json!({"Width": "1"}))),
            Err(ValueError::BadName("Width".into()))
        );
        assert!(values_milli(&of(json!({"": "1"}))).is_err());
        let e = values_milli(&of(json!({"width_in": "wide"}))).expect_err("not a number");
        assert_eq!(
            e.to_string(),
            "value \"width_in\" must be a decimal number (at most 3 decimals), not \"wide\""
        );
        assert!(
            values_milli(&of(json!({"w": "1.2345"}))).is_err(),
            "4 decimals"
        );
        assert!(values_milli(&of(json!({"w": true}))).is_err());
        assert!(values_milli(&BTreeMap::new()).expect("empty").is_empty());
    }
}
