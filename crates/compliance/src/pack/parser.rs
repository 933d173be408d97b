//! The pack parser: reads the TOML document, the `[pack]` table and each `[[requirement]]`'s fixed
//! keys, and records every problem as a [`PackIssue`] with file, line and column.
use std::collections::{BTreeSet, HashSet};

use jiff::civil::Date;
use toml::de::{DeTable, DeValue};

use super::check_kind::CHECK_KINDS;
use super::check_params::Params;
use super::param_types::Basis;
use super::{Pack, PackIssue, Requirement};

/// 1-based line and column of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
    (line, column)
}

pub(super) fn p_issue(file: &str, text: &str, at: usize, reason: String) -> PackIssue {
    let (line, column) = line_col(text, at);
    PackIssue {
        file: file.to_owned(),
        line,
        column,
        reason,
    }
}

const FIXED_KEYS: [&str; 8] = [
    "id",
    "citation",
    "title",
    "basis",
    "check",
    "note",
    "remedy",
    "exempt_if_operating_before",
];

pub(super) type Table<'i> = DeTable<'i>;
pub(super) type Value<'i> = toml::Spanned<DeValue<'i>>;

/// The parser's state: the file and its text (for locating issues) and the issues found so far.
pub(super) struct Parser<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    pub(super) issues: Vec<PackIssue>,
}

impl<'a> Parser<'a> {
    pub(super) fn issue(&mut self, at: usize, reason: String) {
        self.issues.push(p_issue(self.file, self.text, at, reason));
    }

    pub(super) fn pack(&mut self) -> Option<Pack> {
        let doc = match DeTable::parse(self.text) {
            Ok(d) => d,
            Err(e) => {
                let at = e.span().map_or(0, |s| s.start);
                self.issue(at, format!("TOML syntax: {}", e.message().trim()));
                return None;
            }
        };
        let root = doc.get_ref();
        for (k, _) in root.iter() {
            if !matches!(k.get_ref().as_ref(), "pack" | "requirement") {
                self.issue(
                    k.span().start,
                    format!(
                        "unknown top-level key `{}`: expected [pack] and [[requirement]]",
                        k.get_ref()
                    ),
                );
            }
        }
        let head = match get(root, "pack").map(|v| (v.span().start, v.get_ref())) {
            Some((_, DeValue::Table(t))) => Some(t),
            Some((at, _)) => {
                self.issue(at, "`pack` must be a table".into());
                None
            }
            None => {
                self.issue(0, "missing [pack] table (id, jurisdiction, title, law, source, effective, regulator)".into());
                None
            }
        };
        let mut pack = Pack {
            id: String::new(),
            jurisdiction: String::new(),
            title: String::new(),
            law: String::new(),
            source: String::new(),
            effective: Date::constant(1970, 1, 1),
            regulator: String::new(),
            requirements: Vec::new(),
        };
        if let Some(t) = head {
            let at = doc_start(t);
            for (k, _) in t.iter() {
                if !matches!(
                    k.get_ref().as_ref(),
                    "id" | "jurisdiction" | "title" | "law" | "source" | "effective" | "regulator"
                ) {
                    self.issue(
                        k.span().start,
                        format!("unknown key `{}` in [pack]", k.get_ref()),
                    );
                }
            }
            pack.id = self.req_str(t, "id", at, "[pack]").unwrap_or_default();
            pack.jurisdiction = self
                .req_str(t, "jurisdiction", at, "[pack]")
                .unwrap_or_default();
            pack.title = self.req_str(t, "title", at, "[pack]").unwrap_or_default();
            pack.law = self.req_str(t, "law", at, "[pack]").unwrap_or_default();
            pack.source = self.req_str(t, "source", at, "[pack]").unwrap_or_default();
            pack.regulator = self
                .req_str(t, "regulator", at, "[pack]")
                .unwrap_or_default();
            if let Some(d) = self.date(t, "effective", at, "[pack]", true) {
                pack.effective = d;
            }
        }
        let reqs: Vec<&Value<'_>> = match get(root, "requirement") {
            Some(v) => match v.get_ref() {
                DeValue::Array(a) => a.iter().collect(),
                _ => {
                    self.issue(
                        v.span().start,
                        "`requirement` must be an array of tables ([[requirement]])".into(),
                    );
                    Vec::new()
                }
            },
            None => {
                self.issue(0, "the pack has no [[requirement]] tables".into());
                Vec::new()
            }
        };
        let mut seen: HashSet<String> = HashSet::new();
        for item in reqs {
            let DeValue::Table(t) = item.get_ref() else {
                self.issue(item.span().start, "each requirement must be a table".into());
                continue;
            };
            if let Some(r) = self.requirement(t, item.span().start) {
                if !seen.insert(r.id.clone()) {
                    let at = get(t, "id").map_or(item.span().start, |v| v.span().start);
                    self.issue(
                        at,
                        format!(
                            "duplicate requirement id `{}`: each id may appear once in a pack",
                            r.id
                        ),
                    );
                    continue;
                }
                pack.requirements.push(r);
            }
        }
        Some(pack)
    }

    fn req_str(&mut self, t: &Table<'_>, key: &str, at: usize, ctx: &str) -> Option<String> {
        match get(t, key) {
            None => {
                self.issue(at, format!("missing `{key}` in {ctx}"));
                None
            }
            Some(v) => self.as_string(v, key, ctx),
        }
    }

    fn as_string(&mut self, v: &Value<'_>, key: &str, ctx: &str) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
            DeValue::String(_) => {
                self.issue(
                    v.span().start,
                    format!("`{key}` in {ctx} must not be empty"),
                );
                None
            }
            other => {
                self.issue(
                    v.span().start,
                    format!(
                        "`{key}` in {ctx} must be a string, found {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    fn date(
        &mut self,
        t: &Table<'_>,
        key: &str,
        at: usize,
        ctx: &str,
        required: bool,
    ) -> Option<Date> {
        let v = match get(t, key) {
            Some(v) => v,
            None => {
                if required {
                    self.issue(at, format!("missing `{key}` in {ctx}"));
                }
                return None;
            }
        };
        let s = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(d) => d.to_string(),
            other => {
                self.issue(
                    v.span().start,
                    format!(
                        "`{key}` in {ctx} must be a date (YYYY-MM-DD), found {}",
                        other.type_str()
                    ),
                );
                return None;
            }
        };
        match s.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.issue(
                    v.span().start,
                    format!("`{key}` in {ctx}: {s:?} is not a date (YYYY-MM-DD)"),
                );
                None
            }
        }
    }

    fn requirement(&mut self, t: &Table<'_>, item_at: usize) -> Option<Requirement> {
        let at = doc_start(t).min(item_at.max(doc_start(t)));
        let id_v = get(t, "id");
        let id = match id_v {
            Some(v) => self.as_string(v, "id", "[[requirement]]"),
            None => {
                self.issue(at, "missing `id` in [[requirement]]".into());
                None
            }
        };
        let ctx = format!("requirement {}", id.as_deref().unwrap_or("?"));
        if let (Some(id), Some(v)) = (&id, id_v) {
            let ok = id.len() <= 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                self.issue(v.span().start, format!("requirement id {id:?} must be upper-case letters, digits and '-' (like VID-03)"));
            }
        }
        let citation = self.req_str(t, "citation", at, &ctx);
        let title = self.req_str(t, "title", at, &ctx);
        let basis = match get(t, "basis") {
            None => {
                self.issue(
                    at,
                    format!("missing `basis` in {ctx}: expected \"law\" or \"practice\""),
                );
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) if s.as_ref() == "law" => Some(Basis::Law),
                DeValue::String(s) if s.as_ref() == "practice" => Some(Basis::Practice),
                _ => {
                    self.issue(
                        v.span().start,
                        format!("`basis` in {ctx} must be \"law\" or \"practice\""),
                    );
                    None
                }
            },
        };
        let note = get(t, "note").and_then(|v| self.as_string(v, "note", &ctx));
        let remedy = get(t, "remedy").and_then(|v| self.as_string(v, "remedy", &ctx));
        let exempt = self.date(t, "exempt_if_operating_before", at, &ctx, false);
        let check_v = get(t, "check");
        let kind = match check_v {
            None => {
                self.issue(
                    at,
                    format!("missing `check` in {ctx}: expected one of {}", kind_names()),
                );
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) => {
                    if CHECK_KINDS.iter().any(|(n, _, _)| *n == s.as_ref()) {
                        Some((s.to_string(), v.span().start))
                    } else {
                        self.issue(
                            v.span().start,
                            format!(
                                "unknown check kind `{s}` in {ctx}: expected one of {}",
                                kind_names()
                            ),
                        );
                        None
                    }
                }
                other => {
                    self.issue(
                        v.span().start,
                        format!(
                            "`check` in {ctx} must be a string, found {}",
                            other.type_str()
                        ),
                    );
                    None
                }
            },
        };
        let check = match &kind {
            Some((k, kat)) => {
                let mut pp = Params {
                    parser: self,
                    table: t,
                    kind: k,
                    ctx: &ctx,
                    at: *kat,
                    used: BTreeSet::new(),
                };
                let c = pp.build();
                let used = pp.used;
                // Unknown parameters (typos) are rejected, naming the accepted ones.
                let accepted = CHECK_KINDS
                    .iter()
                    .find(|(n, _, _)| n == k)
                    .map(|(_, p, _)| {
                        p.iter()
                            .map(|s| s.trim_end_matches('?'))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                for (key, _) in t.iter() {
                    let name = key.get_ref().as_ref();
                    if !FIXED_KEYS.contains(&name) && !used.contains(name) {
                        self.issue(
                            key.span().start,
                            format!("unknown parameter `{name}` for check kind `{k}` in {ctx}: accepted parameters are [{accepted}]"),
                        );
                    }
                }
                c
            }
            None => None,
        };
        let line = id_v.map_or_else(
            || line_col(self.text, at).0,
            |v| line_col(self.text, v.span().start).0,
        );
        Some(Requirement {
            id: id?,
            citation: citation?,
            title: title?,
            basis: basis?,
            check: check?,
            note,
            remedy,
            exempt_if_operating_before: exempt,
            line,
        })
    }
}

fn kind_names() -> String {
    CHECK_KINDS
        .iter()
        .map(|(n, _, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn get<'t, 'i>(t: &'t Table<'i>, key: &str) -> Option<&'t Value<'i>> {
    t.iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// The earliest key span in a table (where a header-less table "starts" for messages).
fn doc_start(t: &Table<'_>) -> usize {
    t.iter().map(|(k, _)| k.span().start).min().unwrap_or(0)
}
