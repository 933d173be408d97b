//! Problems found in a site file ([`ConfigIssue`], [`ConfigErrors`]) and the field paths
//! (`door[2].from`) they are reported under.
use std::fmt;

/// One problem found in a site file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The file's name as given.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// Dotted path of the field (`door[2].from`).
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.field, self.message
        )
    }
}

/// Every problem found in a site file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// One step in a path to a field: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PathPart {
    /// A table key.
    Key(&'static str),
    /// An array index.
    Index(usize),
}

/// The dotted form of a field path, as shown to the user (`door[2].from`).
pub(super) fn path_string(path: &[PathPart]) -> String {
    let mut s = String::new();
    for part in path {
        match part {
            PathPart::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathPart::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}
