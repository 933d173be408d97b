//! A small PDF 1.4 writer for reports: US Letter pages, the standard Helvetica and Helvetica-Bold
//! fonts (WinAnsiEncoding, no embedding), wrapped text, tables with rules and repeated headers,
//! page breaks, and "page i of n" footers.
//!
//! Layout measures text with the Helvetica advance widths (Adobe core font metrics), so wrapping
//! matches what a viewer draws. Text is encoded to WinAnsi (characters outside it print as `?`)
//! and written with `(`, `)`, `\` escaped and non-ASCII bytes as octal escapes, so the file is
//! plain ASCII. The cross-reference table carries exact byte offsets.
use std::fmt::Write as _;

use super::{Block, Document, Table};

const PAGE_W: f32 = 612.0;
const PAGE_H: f32 = 792.0;
const MARGIN: f32 = 54.0;
const BOTTOM: f32 = 60.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;

/// Helvetica advance widths (1/1000 em) for ASCII 32..=126.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Helvetica-Bold advance widths (1/1000 em) for ASCII 32..=126.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Maps a character to its WinAnsiEncoding byte, if it has one.
pub fn win_ansi(c: char) -> Option<u8> {
    let u = c as u32;
    match u {
        0x20..=0x7e | 0xa0..=0xff => u8::try_from(u).ok(),
        _ => Some(match c {
            '\u{20ac}' => 0x80,
            '\u{201a}' => 0x82,
            '\u{0192}' => 0x83,
            '\u{201e}' => 0x84,
            '\u{2026}' => 0x85,
            '\u{2020}' => 0x86,
            '\u{2021}' => 0x87,
            '\u{02c6}' => 0x88,
            '\u{2030}' => 0x89,
            '\u{0160}' => 0x8a,
            '\u{2039}' => 0x8b,
            '\u{0152}' => 0x8c,
            '\u{017d}' => 0x8e,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{02dc}' => 0x98,
            '\u{2122}' => 0x99,
            '\u{0161}' => 0x9a,
            '\u{203a}' => 0x9b,
            '\u{0153}' => 0x9c,
            '\u{017e}' => 0x9e,
            '\u{0178}' => 0x9f,
            _ => return None,
        }),
    }
}

/// Encodes text as a PDF literal string body (without the parentheses), WinAnsi, ASCII-safe.
pub fn pdf_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        let b = if c == '\t' || c == '\n' || c == '\r' {
            b' '
        } else {
            win_ansi(c).unwrap_or(b'?')
        };
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out
}

fn char_width(c: char, bold: bool) -> u16 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    match c as u32 {
        u @ 0x20..=0x7e => table.get((u - 0x20) as usize).copied().unwrap_or(556),
        _ => 556,
    }
}

/// Width of `text` in points at `size`.
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let units: u32 = text.chars().map(|c| u32::from(char_width(c, bold))).sum();
    units as f32 * size / 1000.0
}

/// Wraps text into lines no wider than `width` points (long words are broken).
pub fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, size, bold) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if text_width(word, size, bold) <= width {
                line = word.to_owned();
            } else {
                for c in word.chars() {
                    let mut next = line.clone();
                    next.push(c);
                    if text_width(&next, size, bold) > width && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    } else {
                        line = next;
                    }
                }
            }
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    Rule {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
}

struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Layout {
            pages: vec![Vec::new()],
            y: PAGE_H - MARGIN,
        }
    }
    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = PAGE_H - MARGIN;
    }
    fn ensure(&mut self, height: f32) {
        if self.y - height < BOTTOM {
            self.new_page();
        }
    }
    fn text(&mut self, x: f32, size: f32, bold: bool, text: String) {
        let y = self.y;
        self.page().push(Op::Text {
            x,
            y,
            size,
            bold,
            text,
        });
    }
    fn rule(&mut self, y: f32, width: f32) {
        self.page().push(Op::Rule {
            x1: MARGIN,
            y1: y,
            x2: PAGE_W - MARGIN,
            y2: y,
            width,
        });
    }
    fn lines(&mut self, text: &str, size: f32, bold: bool, x: f32, width: f32, leading: f32) {
        for line in wrap(text, size, bold, width) {
            self.ensure(leading);
            self.y -= leading;
            self.text(x, size, bold, line);
        }
    }

    fn table(&mut self, t: &Table) {
        let total: u32 = t.widths.iter().sum::<u32>().max(1);
        let n = t.columns.len();
        let widths: Vec<f32> = (0..n)
            .map(|i| CONTENT_W * t.widths.get(i).copied().unwrap_or(1) as f32 / total as f32)
            .collect();
        let xs: Vec<f32> = widths
            .iter()
            .scan(MARGIN, |x, w| {
                let here = *x;
                *x += w;
                Some(here)
            })
            .collect();
        let (size, leading, pad) = (8.0_f32, 10.5_f32, 3.0_f32);
        let header: Vec<Vec<String>> = (0..n)
            .map(|i| wrap(&t.columns[i], size, true, widths[i] - 2.0 * pad))
            .collect();
        let header_h = header.iter().map(Vec::len).max().unwrap_or(1) as f32 * leading + 2.0 * pad;
        let draw_header = |l: &mut Layout| {
            l.ensure(header_h + leading + 2.0 * pad);
            l.rule(l.y, 0.8);
            let top = l.y;
            for (i, cell) in header.iter().enumerate() {
                l.y = top - pad;
                for line in cell {
                    l.y -= leading;
                    let (x, s) = (xs[i] + pad, line.clone());
                    l.text(x, size, true, s);
                }
            }
            l.y = top - header_h;
            l.rule(l.y, 0.8);
        };
        draw_header(self);
        if t.rows.is_empty() {
            self.lines(
                "(none)",
                size,
                false,
                MARGIN + pad,
                CONTENT_W,
                leading + 2.0,
            );
            self.y -= pad;
            return;
        }
        for row in &t.rows {
            let cells: Vec<Vec<String>> = (0..n)
                .map(|i| {
                    wrap(
                        row.get(i).map_or("", String::as_str),
                        size,
                        false,
                        widths[i] - 2.0 * pad,
                    )
                })
                .collect();
            let mut start = 0usize;
            let total_lines = cells.iter().map(Vec::len).max().unwrap_or(1);
            while start < total_lines {
                let room = ((self.y - BOTTOM - 2.0 * pad) / leading).floor();
                if room < 1.0 {
                    self.new_page();
                    draw_header(self);
                    continue;
                }
                let take = (room as usize).min(total_lines - start);
                let top = self.y;
                for (i, cell) in cells.iter().enumerate() {
                    self.y = top - pad;
                    for line in cell.iter().skip(start).take(take) {
                        self.y -= leading;
                        self.text(xs[i] + pad, size, false, line.clone());
                    }
                }
                self.y = top - take as f32 * leading - 2.0 * pad;
                start += take;
                self.rule(self.y, 0.3);
                if start < total_lines {
                    self.new_page();
                    draw_header(self);
                }
            }
        }
        self.y -= 6.0;
    }
}

fn layout(doc: &Document) -> Vec<Vec<Op>> {
    let mut l = Layout::new();
    l.lines(&doc.title, 16.0, true, MARGIN, CONTENT_W, 20.0);
    for h in &doc.header {
        l.lines(h, 10.0, false, MARGIN, CONTENT_W, 13.0);
    }
    l.y -= 6.0;
    l.rule(l.y, 1.0);
    l.y -= 4.0;
    for block in &doc.blocks {
        match block {
            Block::Heading(h) => {
                l.ensure(48.0);
                l.y -= 8.0;
                l.lines(h, 12.0, true, MARGIN, CONTENT_W, 15.0);
                l.y -= 2.0;
            }
            Block::Paragraph(p) => {
                l.lines(p, 10.0, false, MARGIN, CONTENT_W, 13.0);
                l.y -= 4.0;
            }
            Block::KeyValues(kv) => {
                let key_w = 150.0;
                for (k, v) in kv {
                    let vl = wrap(v, 10.0, false, CONTENT_W - key_w);
                    l.ensure(13.0);
                    let top = l.y;
                    l.y -= 13.0;
                    l.text(MARGIN, 10.0, true, k.clone());
                    l.y = top;
                    for line in vl {
                        l.ensure(13.0);
                        l.y -= 13.0;
                        l.text(MARGIN + key_w, 10.0, false, line);
                    }
                }
                l.y -= 4.0;
            }
            Block::Table(t) => l.table(t),
        }
    }
    l.pages
}

/// A text string for the document information dictionary: UTF-16BE with a byte order mark, as a
/// hex string (Info strings use PDFDocEncoding or UTF-16, not the font's WinAnsi).
fn utf16_hex(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

fn fmt_num(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

fn pdf_date(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("D:%Y%m%d%H%M%SZ").to_string(),
        Err(_) => "D:19700101000000Z".to_owned(),
    }
}

/// Renders a document as a PDF 1.4 file.
pub fn render(doc: &Document) -> Vec<u8> {
    let pages = layout(doc);
    let page_count = pages.len();
    // Objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, 5 info, then page/content pairs.
    let mut objects: Vec<String> = Vec::with_capacity(5 + 2 * page_count);
    let kids: Vec<String> = (0..page_count)
        .map(|i| format!("{} 0 R", 6 + 2 * i))
        .collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".to_owned());
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {page_count} >>",
        kids.join(" ")
    ));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    );
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    );
    objects.push(format!(
        "<< /Title {} /Producer (Strongroom compliance) /CreationDate ({}) >>",
        utf16_hex(&doc.title),
        pdf_date(doc.generated_ms)
    ));
    for (i, ops) in pages.iter().enumerate() {
        let mut content = String::new();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold,
                    text,
                } => {
                    let _ = writeln!(
                        content,
                        "BT /{} {} Tf {} {} Td ({}) Tj ET",
                        if *bold { "F2" } else { "F1" },
                        fmt_num(*size),
                        fmt_num(*x),
                        fmt_num(*y),
                        pdf_string(text)
                    );
                }
                Op::Rule {
                    x1,
                    y1,
                    x2,
                    y2,
                    width,
                } => {
                    let _ = writeln!(
                        content,
                        "{} w {} {} m {} {} l S",
                        fmt_num(*width),
                        fmt_num(*x1),
                        fmt_num(*y1),
                        fmt_num(*x2),
                        fmt_num(*y2)
                    );
                }
            }
        }
        let footer = format!("{} - page {} of {page_count}", doc.title, i + 1);
        let _ = writeln!(
            content,
            "BT /F1 8 Tf {} 30 Td ({}) Tj ET",
            fmt_num(MARGIN),
            pdf_string(&footer)
        );
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            fmt_num(PAGE_W),
            fmt_num(PAGE_H),
            7 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    let mut out = String::from("%PDF-1.4\n%\u{e2}\u{e3}\u{cf}\u{d3}\n");
    // The binary-marker comment is 4 non-ASCII characters; measure offsets in bytes.
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = write!(out, "{} 0 obj\n{body}\nendobj\n", i + 1);
    }
    let xref_at = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(out, "{off:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
        objects.len() + 1
    );
    out.into_bytes()
}

/// Checks a PDF's structure: header, `startxref`, every xref entry pointing at its `N 0 obj`,
/// and the trailer size. Returns the number of objects.
pub fn verify_xref(pdf: &[u8]) -> Result<usize, String> {
    let text = String::from_utf8_lossy(pdf);
    if !pdf.starts_with(b"%PDF-1.4\n") {
        return Err("missing %PDF-1.4 header".into());
    }
    let tail = text.rfind("startxref\n").ok_or("no startxref")?;
    let xref_at: usize = text[tail + 10..]
        .lines()
        .next()
        .ok_or("no xref offset")?
        .trim()
        .parse()
        .map_err(|_| "bad xref offset")?;
    if pdf.get(xref_at..xref_at + 5) != Some(b"xref\n") {
        return Err(format!(
            "startxref {xref_at} does not point at the xref table"
        ));
    }
    let mut lines = pdf[xref_at..].split(|b| *b == b'\n').skip(1);
    let sub = String::from_utf8_lossy(lines.next().ok_or("no subsection")?).to_string();
    let count: usize = sub
        .split_whitespace()
        .nth(1)
        .ok_or("bad subsection")?
        .parse()
        .map_err(|_| "bad count")?;
    for n in 0..count {
        let entry = lines.next().ok_or("xref too short")?;
        if entry.len() != 19 {
            return Err(format!(
                "xref entry {n} is {} bytes + EOL, expected 20",
                entry.len() + 1
            ));
        }
        if n == 0 {
            continue;
        }
        let off: usize = String::from_utf8_lossy(&entry[..10])
            .parse()
            .map_err(|_| format!("bad offset in entry {n}"))?;
        let want = format!("{n} 0 obj");
        if pdf.get(off..off + want.len()) != Some(want.as_bytes()) {
            return Err(format!(
                "xref entry {n} (offset {off}) does not point at `{want}`"
            ));
        }
    }
    if !text.contains(&format!("/Size {count} ")) {
        return Err("trailer /Size does not match the xref".into());
    }
    Ok(count - 1)
}
