//! From text to a checked [`SiteConfig`]: TOML decoding, then validation, with every problem
//! located at its file, line and column.
use super::SiteConfig;
use super::errors::{ConfigErrors, ConfigIssue, PathPart, path_string};

impl SiteConfig {
    /// Parses and validates a site file. `file` is only used in messages.
    pub fn parse(file: &str, text: &str) -> Result<SiteConfig, ConfigErrors> {
        let config: SiteConfig = match toml::from_str(text) {
            Ok(c) => c,
            Err(e) => {
                let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
                let message = e.message().trim().to_owned();
                let field = field_from_message(&message, text, line);
                return Err(ConfigErrors(vec![ConfigIssue {
                    file: file.to_owned(),
                    line,
                    column,
                    field,
                    message,
                }]));
            }
        };
        let problems = config.validate();
        if problems.is_empty() {
            return Ok(config);
        }
        let located = problems
            .into_iter()
            .map(|(path, message)| {
                let (line, column) = locate(text, &path).unwrap_or((0, 0));
                ConfigIssue {
                    file: file.to_owned(),
                    line,
                    column,
                    field: path_string(&path),
                    message,
                }
            })
            .collect();
        Err(ConfigErrors(located))
    }
}

fn field_from_message(message: &str, text: &str, line: usize) -> String {
    // toml's messages name the field as "unknown field `x`" or "missing field `x`"; otherwise
    // the field is the key on the line the error points at.
    if (message.starts_with("unknown field") || message.starts_with("missing field"))
        && let Some(f) = message.split('`').nth(1)
    {
        return f.to_owned();
    }
    text.lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or_else(|| "(syntax)".to_owned())
}

/// 1-based line and column of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
    (line, column)
}

/// Finds the line and column of the field at `path` by walking the spanned document.
fn locate(text: &str, path: &[PathPart]) -> Option<(usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut best = None;
    let mut current: Option<&toml::Spanned<DeValue<'_>>> = None;
    for part in path {
        match part {
            PathPart::Key(k) => {
                let (key, value) = match current.map(|v| v.get_ref()) {
                    Some(DeValue::Table(t)) => t.iter().find(|(key, _)| key.get_ref() == k)?,
                    None => table.iter().find(|(key, _)| key.get_ref() == k)?,
                    _ => return best.map(|b| line_col(text, b)),
                };
                best = Some(key.span().start);
                current = Some(value);
                if let DeValue::Table(t) = value.get_ref() {
                    table = t;
                }
            }
            PathPart::Index(i) => match current.map(|v| v.get_ref()) {
                Some(DeValue::Array(items)) => {
                    let item = items.get(*i)?;
                    best = Some(item.span().start);
                    current = Some(item);
                }
                _ => return best.map(|b| line_col(text, b)),
            },
        }
    }
    best.map(|b| line_col(text, b))
}
