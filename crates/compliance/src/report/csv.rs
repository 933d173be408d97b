//! CSV rendering of a report's tables (RFC 4180 quoting, CRLF line ends).
//!
//! Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
//! carriage return) get a leading apostrophe, so names typed into the platform cannot become
//! formulas in the regulator's spreadsheet.
use super::{Document, Table};

/// Quotes one cell.
pub fn cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// One table as CSV, header row first.
pub fn table(t: &Table) -> String {
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        cells.map(cell).collect::<Vec<_>>().join(",") + "\r\n"
    };
    out.push_str(&line(&mut t.columns.iter().map(String::as_str)));
    for row in &t.rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// Every table of the document; with more than one, each is preceded by a `# name` line and
/// followed by a blank line.
pub fn render(doc: &Document) -> String {
    let tables = doc.tables();
    if tables.len() == 1 {
        return table(tables[0]);
    }
    let mut out = String::new();
    for t in tables {
        out.push_str(&format!("# {}\r\n", t.name));
        out.push_str(&table(t));
        out.push_str("\r\n");
    }
    out
}
