//! Rule packs: one TOML file per jurisdiction and license type, parsed with line numbers.
//!
//! A pack has a `[pack]` table (id, jurisdiction, title, law, source, effective date) and one
//! `[[requirement]]` table per requirement. A requirement carries the fixed keys `id`, `citation`,
//! `title`, `basis` (`law` or `practice`), `check` (a check kind, see [`CHECK_KINDS`]) and the
//! optional `note`, `remedy` and `exempt_if_operating_before`; every other key is a parameter of
//! its check kind. Unknown check kinds, missing, mistyped or unknown parameters and duplicate ids are
//! rejected with the file, line and column ([`PackIssue`]). Code implements check kinds once; a new
//! state is a new pack file.
//!
//! The module tree: `param_types` holds the typed values check parameters take (selectors,
//! intervals, limits, decimals), `check_kind` the [`Check`] enum and the [`CHECK_KINDS`] table,
//! `parser` reads the TOML (file, line and column in every issue) and `check_params` reads one
//! requirement's parameters for its check kind.
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

mod check_kind;
mod check_params;
mod param_types;
mod parser;
#[cfg(test)]
mod tests;

use parser::{Parser, p_issue};

pub use check_kind::{CHECK_KINDS, Check};
pub use param_types::{
    AreaSelector, Basis, DOOR_SELECTORS, DeadlineEvent, DoorSelector, FpsMeasure, Interval, Limit,
    Op, PowerScope, Subjects, VendorProof, fmt_milli, parse_decimal_milli,
};

/// The built-in packs: (file name, text).
pub const BUILTIN_PACKS: [(&str, &str); 3] = [
    (
        "il-dispensary.toml",
        include_str!("../../packs/il-dispensary.toml"),
    ),
    (
        "oh-dispensary.toml",
        include_str!("../../packs/oh-dispensary.toml"),
    ),
    (
        "oh-processor.toml",
        include_str!("../../packs/oh-processor.toml"),
    ),
];

/// One requirement of a pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    /// Requirement id from requirements.md (`VID-03`).
    pub id: String,
    /// Citation (`IL 1291.300(e)(1)(E)`).
    pub citation: String,
    /// Short title.
    pub title: String,
    /// Law or practice.
    pub basis: Basis,
    /// The check kind and its parameters.
    pub check: Check,
    /// The interpretation adopted (§21 ambiguities), if any.
    pub note: Option<String>,
    /// Remedy text; a default from the check kind when absent.
    pub remedy: Option<String>,
    /// Exempt when the site operated before this date and has not relocated (IL (g), (b)(18)).
    pub exempt_if_operating_before: Option<Date>,
    /// 1-based line of the requirement's `id` in the pack file.
    pub line: usize,
}

/// A parsed rule pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pack {
    /// Pack id (`il-dispensary`).
    pub id: String,
    /// Jurisdiction id the pack serves (matches the site file's `jurisdiction`).
    pub jurisdiction: String,
    /// Title.
    pub title: String,
    /// The regulation (`68 Ill. Adm. Code 1291.300`).
    pub law: String,
    /// Where the text was published.
    pub source: String,
    /// Effective date of the text.
    pub effective: Date,
    /// The regulator's name as the rule gives it.
    pub regulator: String,
    /// Requirements in file order.
    pub requirements: Vec<Requirement>,
}

/// One problem found in a pack file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackIssue {
    /// The file name as given.
    pub file: String,
    /// 1-based line, 0 if unknown.
    pub line: usize,
    /// 1-based column, 0 if unknown.
    pub column: usize,
    /// What is wrong and what is expected.
    pub reason: String,
}

impl fmt::Display for PackIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.reason
        )
    }
}

/// Every problem found in a pack file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PackErrors(pub Vec<PackIssue>);

impl fmt::Display for PackErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(|i| i.to_string()).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// One row of `strongroom rules list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackRow {
    /// Requirement id.
    pub id: String,
    /// Citation.
    pub citation: String,
    /// Title.
    pub title: String,
    /// `law` or `practice`.
    pub basis: String,
    /// Check kind.
    pub check: String,
    /// Parameters, one line.
    pub params: String,
    /// Interpretation note, if any.
    pub note: String,
}

/// The rows of `strongroom rules list PACK`.
pub fn list(pack: &Pack) -> Vec<PackRow> {
    pack.requirements
        .iter()
        .map(|r| PackRow {
            id: r.id.clone(),
            citation: r.citation.clone(),
            title: r.title.clone(),
            basis: r.basis.as_str().to_owned(),
            check: r.check.kind().to_owned(),
            params: r.check.params_summary(),
            note: r.note.clone().unwrap_or_default(),
        })
        .collect()
}

/// Parses and validates a pack (`strongroom rules check FILE`). `file` is used in messages only.
pub fn check_pack(file: &str, text: &str) -> Result<Pack, Vec<PackIssue>> {
    let mut p = Parser {
        file,
        text,
        issues: Vec::new(),
    };
    let pack = p.pack();
    let mut issues = p.issues;
    match pack {
        Some(pack) if issues.is_empty() => Ok(pack),
        _ => {
            if issues.is_empty() {
                issues.push(p_issue(file, text, 0, "the pack could not be read".into()));
            }
            issues.sort_by_key(|i| (i.line, i.column));
            Err(issues)
        }
    }
}

/// The built-in pack for a jurisdiction id (`il-dispensary`, ...), if one ships.
pub fn builtin(jurisdiction: &str) -> Option<Result<Pack, PackErrors>> {
    BUILTIN_PACKS
        .iter()
        .find(|(name, _)| name.strip_suffix(".toml") == Some(jurisdiction))
        .map(|(name, text)| check_pack(name, text).map_err(PackErrors))
}

/// The built-in pack for the site's jurisdiction.
pub fn for_site(site: &strongroom_domain::site::SiteConfig) -> Option<Result<Pack, PackErrors>> {
    builtin(site.site.jurisdiction.as_str())
}

/// The snake_case serde name of a unit enum value.
pub fn enum_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".to_owned(),
    }
}

/// The snake_case serde names of unit enum values, joined with `sep`.
pub(crate) fn enum_names<T: Serialize>(values: &[T], sep: &str) -> String {
    values.iter().map(enum_name).collect::<Vec<_>>().join(sep)
}

fn enum_from_name<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}
