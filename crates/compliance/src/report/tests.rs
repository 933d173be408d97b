//! Report tests: content, escaping, PDF structure (own xref check, and poppler when present).
use super::*;
use crate::check::evaluate;
use crate::pack::builtin;
use crate::records::{ChangeKind, CorrectiveAction, Inspection, LostSpan, Vendor};
use crate::test_support::{ms, now};
use strongroom_domain::site::DEMO_SITE_TOML;

fn demo_named(name: &str) -> SiteConfig {
    let text = DEMO_SITE_TOML.replacen(
        "name = \"Prairie Leaf Dispensary (demo)\"",
        &format!("name = {}", toml_str(name)),
        1,
    );
    SiteConfig::parse("demo.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn il_report(site: &SiteConfig) -> Document {
    let pack = builtin("il-dispensary").expect("ships").expect("parses");
    let findings = evaluate(&pack, site, &Records::default(), now());
    compliance_report(&pack, site, &findings, now())
}

/// Runs a poppler tool if installed; `None` (with a printed SKIP) when absent, unless
/// STRONGROOM_REQUIRE_PEERS=1 makes absence a failure.
fn poppler(tool: &str, pdf: &[u8], extra: &[&str]) -> Option<String> {
    let path = std::env::temp_dir().join(format!(
        "strongroom-compliance-{}-{tool}-{}.pdf",
        std::process::id(),
        pdf.len()
    ));
    std::fs::write(&path, pdf).expect("write temp pdf");
    let mut cmd = std::process::Command::new(tool);
    cmd.args(extra).arg(&path);
    if tool == "pdftotext" {
        cmd.arg("-");
    }
    let out = cmd.output();
    let _ = std::fs::remove_file(&path);
    match out {
        Ok(o) => {
            assert!(
                o.status.success(),
                "{tool} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                o.stderr.is_empty(),
                "{tool} complained: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Err(e) => {
            assert!(
                std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() != Ok("1"),
                "{tool} is required (STRONGROOM_REQUIRE_PEERS=1) but not runnable: {e}"
            );
            println!(
                "SKIP: {tool} not available ({e}); install Debian poppler-utils to check PDFs with it"
            );
            None
        }
    }
}

#[test]
fn compliance_report_carries_every_citation() {
    let site = demo_named("Prairie Leaf Dispensary (demo)");
    let doc = il_report(&site);
    let html = html::render(&doc);
    let pack = builtin("il-dispensary").expect("ships").expect("parses");
    for r in &pack.requirements {
        assert!(
            html.contains(&html::escape(&r.citation)),
            "HTML lacks {}",
            r.citation
        );
    }
    assert!(html.contains("VID-03 - IL 1291.300(e)(1)(E) - FAIL"));
    assert!(html.contains("<td class=\"fail\">FAIL</td>"));
    let csv = csv::render(&doc);
    assert!(
        csv.starts_with("# findings\r\nID,Citation,Requirement,Status,Finding\r\n"),
        "{}",
        &csv[..80.min(csv.len())]
    );
    assert!(csv.contains("VID-03,IL 1291.300(e)(1)(E),"));
}

#[test]
fn html_escapes_names() {
    let evil = "<script>alert('x')</script> & \"Co\"";
    let site = demo_named(evil);
    let html = html::render(&il_report(&site));
    assert!(!html.contains("<script>"), "unescaped script tag");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;"));
    assert_eq!(html::escape("a<b>&'\""), "a&lt;b&gt;&amp;&#39;&quot;");
}

#[test]
fn csv_quotes_and_guards_formulas() {
    assert_eq!(csv::cell("plain"), "plain");
    assert_eq!(csv::cell("a,b"), "\"a,b\"");
    assert_eq!(csv::cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv::cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    assert_eq!(csv::cell("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(csv::cell("line\nbreak"), "\"line\nbreak\"");
}

#[test]
fn pdf_is_well_formed() {
    let site =
        demo_named("Prairie Leaf (Dispensary) \\ Caf\u{e9} \u{2013} \u{201c}demo\u{201d} \u{4e2d}");
    let doc = il_report(&site);
    let pdf = pdf::render(&doc);
    let objects = pdf::verify_xref(&pdf).unwrap_or_else(|e| panic!("{e}"));
    let pages = (objects - 5) / 2;
    assert!(pages >= 2, "a full IL report spans pages: {pages}");
    assert!(
        pdf.is_ascii() || pdf[9..].iter().take(10).any(|b| *b >= 0x80),
        "binary marker only"
    );
    let body = String::from_utf8_lossy(&pdf);
    assert!(
        body.contains("(Prairie Leaf \\(Dispensary\\) \\\\ Caf\\351 \\226 \\223demo\\224 ?"),
        "escaped WinAnsi title"
    );
    assert!(body.contains(&format!("page {pages} of {pages}")));
    if let Some(info) = poppler("pdfinfo", &pdf, &[]) {
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or("")
        };
        assert_eq!(field("Pages:"), pages.to_string(), "{info}");
        assert_eq!(field("PDF version:"), "1.4", "{info}");
        assert!(
            field("Title:").contains("Caf\u{e9} \u{2013} \u{201c}demo\u{201d} \u{4e2d}"),
            "UTF-16 title: {info}"
        );
    }
    if let Some(text) = poppler("pdftotext", &pdf, &["-layout"]) {
        assert!(
            text.contains("VID-03 - IL 1291.300(e)(1)(E) - FAIL"),
            "{text}"
        );
        assert!(
            text.contains("Caf\u{e9} \u{2013} \u{201c}demo\u{201d}"),
            "WinAnsi round trip"
        );
        assert!(text.contains(&format!("page 1 of {pages}")));
    }
}

#[test]
fn pdf_xref_check_catches_corruption() {
    let doc = il_report(&demo_named("X"));
    let mut pdf = pdf::render(&doc);
    assert!(pdf::verify_xref(&pdf).is_ok());
    let at = String::from_utf8_lossy(&pdf)
        .find("2 0 obj")
        .expect("obj 2");
    pdf.insert(at, b' ');
    assert!(
        pdf::verify_xref(&pdf).is_err(),
        "a shifted object must be detected"
    );
}

#[test]
fn wrapping_respects_width() {
    let long = "word ".repeat(200) + &"x".repeat(500);
    for line in pdf::wrap(&long, 10.0, false, 200.0) {
        assert!(
            pdf::text_width(&line, 10.0, false) <= 200.0 + 0.01,
            "{line}"
        );
    }
    assert_eq!(pdf::wrap("", 10.0, false, 100.0), vec![String::new()]);
    assert!((pdf::text_width("Hello", 10.0, false) - 22.78).abs() < 0.01);
}

#[test]
fn other_reports_render() {
    let site = demo_named("Prairie Leaf");
    let pack = builtin("il-dispensary").expect("ships").expect("parses");
    let mut records = Records::default();
    for i in 0..60 {
        records.inspections.push(Inspection {
            id: format!("i{i}"),
            device_id: "cam-front".into(),
            time_ms: ms("2025-06-01T09:00") + i * 60_000,
            by: "Tech, \"Lead\"".into(),
            passed: i % 7 != 0,
            notes: "holdup signal received by central station 09:14".into(),
        });
    }
    let log = inspection_log(
        &pack,
        &site,
        &records,
        ms("2025-06-01T00:00"),
        ms("2025-07-01T00:00"),
        now(),
    );
    assert_eq!(log.tables()[0].rows.len(), 60);
    assert!(
        log.tables()[1]
            .rows
            .iter()
            .any(|r| r[0] == "cam-front" && r[3] == "on time")
    );
    assert!(
        log.tables()[1]
            .rows
            .iter()
            .any(|r| r[0] == "cam-pos" && r[1] == "never")
    );
    assert!(pdf::verify_xref(&pdf::render(&log)).is_ok());

    let outage = Outage {
        id: "o-7".into(),
        start_ms: ms("2025-06-10T10:00"),
        end_ms: Some(ms("2025-06-10T12:00")),
        cause: "NVR stopped".into(),
        affected_devices: vec!["cam-front".into(), "cam-vault".into()],
        lost_spans: vec![
            LostSpan {
                camera_id: "cam-vault".into(),
                start_ms: ms("2025-06-10T10:00"),
                end_ms: ms("2025-06-10T12:00"),
            },
            LostSpan {
                camera_id: "cam-front".into(),
                start_ms: ms("2025-06-10T10:00:30"),
                end_ms: ms("2025-06-10T11:59:45"),
            },
        ],
        notified_ms: Some(ms("2025-06-10T10:04")),
        ..Outage::default()
    };
    let doc = outage_report(&pack, &site, &outage, now());
    let html = html::render(&doc);
    assert!(
        html.contains("2025-06-15 (5 calendar days after the outage; IL 1291.300(e)(7))"),
        "{html}"
    );
    assert!(html.contains("1 h 59 min 15 s"));
    assert!(html.contains("3 h 59 min 15 s of recording lost"));
    assert_eq!(
        doc.tables()[1].rows[0][0],
        "cam-front",
        "spans sorted by camera"
    );

    records.vendors.push(Vendor {
        id: "v1".into(),
        name: "Dana Roe".into(),
        company: "=cmd|' /C calc'!A0".into(),
        status: VendorStatus::Approved,
        approval_ref: Some("IDFPR-1".into()),
        ..Vendor::default()
    });
    let change = VendorChange {
        id: "c1".into(),
        vendor_id: "v1".into(),
        change: ChangeKind::Changed,
        time_ms: ms("2025-06-12T16:00"),
        detail: "new phone".into(),
        submitted_ms: None,
    };
    let doc = vendor_change_report(&site, &records, &[&change], 5, now());
    assert_eq!(doc.tables()[0].rows[0][6], "2025-06-17");
    assert!(csv::render(&doc).contains("'=cmd|' /C calc'!A0"));

    let rows = vec![AccessListRow {
        name: "Ann Agent".into(),
        category: "agent".into(),
        employer: "Prairie Leaf".into(),
        credential_id: "card-17".into(),
        scope: "surveillance room".into(),
        granted_ms: Some(ms("2025-01-02T08:00")),
    }];
    let doc = surveillance_access_list(&site, &rows, now());
    assert!(csv::render(&doc).contains(
        "Ann Agent,agent,Prairie Leaf,card-17,surveillance room,2025-01-02 08:00:00 CST"
    ));

    let inc = Incident {
        id: "inc-1".into(),
        kind: "theft".into(),
        discovered_ms: ms("2025-06-01T10:00"),
        secured_ms: Some(ms("2025-06-01T10:12")),
        actions: vec![CorrectiveAction {
            id: "a1".into(),
            description: "Re-key vault".into(),
            owner: "Ann".into(),
            due_local_date: Some(jiff::civil::date(2025, 6, 10)),
            done_ms: None,
        }],
        ..Incident::default()
    };
    let doc = incident_report(&site, &inc, now());
    assert!(html::render(&doc).contains("OVERDUE since 2025-06-10"));
    assert!(html::render(&doc).contains("12 min 00 s after discovery"));

    let vrows: Vec<VaultLogRow> = (0..3)
        .map(|i| VaultLogRow {
            time_in_ms: ms("2025-06-14T09:00") + i * 3_600_000,
            time_out_ms: if i == 2 {
                None
            } else {
                Some(ms("2025-06-14T09:10") + i * 3_600_000)
            },
            agents: vec![format!("Agent {i} (A-{i})")],
            authenticators: vec!["card".into(), "pin".into()],
            method: "electronic".into(),
            note: String::new(),
        })
        .collect();
    let doc = vault_log(&site, jiff::civil::date(2025, 6, 14), &vrows, now());
    let csv = csv::render(&doc);
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.contains("(not recorded)"));
    assert!(csv.contains("card + pin"));
    let pdf = pdf::render(&doc);
    assert!(pdf::verify_xref(&pdf).is_ok());
    if let Some(text) = poppler("pdftotext", &pdf, &["-layout"]) {
        assert!(text.contains("Agent 2 (A-2)"), "{text}");
    }
}

#[test]
fn long_tables_break_pages_and_repeat_headers() {
    let mut d = Document::new("Long", vec![], now());
    let rows: Vec<Vec<String>> = (0..300)
        .map(|i| {
            vec![
                format!("row {i}"),
                "lorem ipsum dolor sit amet ".repeat(i % 9 + 1),
            ]
        })
        .collect();
    d.table("t", &[("Name", 20), ("Text", 80)], rows);
    d.table(
        "huge",
        &[("Cell", 100)],
        vec![vec!["a very long cell ".repeat(2000)]],
    );
    let pdf = pdf::render(&d);
    let pages = (pdf::verify_xref(&pdf).expect("xref") - 5) / 2;
    assert!(pages > 10, "{pages}");
    let body = String::from_utf8_lossy(&pdf);
    let headers = body.matches("/F2 8 Tf 57 ").count();
    assert!(
        headers >= pages,
        "header repeated on every page: {headers} < {pages}"
    );
    if let Some(text) = poppler("pdftotext", &pdf, &[]) {
        assert!(text.contains("row 299"));
    }
}

#[test]
fn formats_parse_and_render() {
    let doc = il_report(&demo_named("X"));
    for (name, magic) in [
        ("pdf", &b"%PDF-1.4"[..]),
        ("HTML", &b"<!DOCTYPE html>"[..]),
        ("csv", &b"# findings"[..]),
    ] {
        let f: Format = name.parse().expect("format");
        assert!(render(&doc, f).starts_with(magic), "{name}");
        assert!(!f.content_type().is_empty() && !f.extension().is_empty());
    }
    assert!("docx".parse::<Format>().is_err());
}
