//! The built binary's `rules` and `report` commands: listing a built-in pack, rejecting a bad pack
//! file with its line, and a compliance report (PDF, HTML, CSV) from a freshly initialised site.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn strongroom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(args)
        .env("STRONGROOM_LOG", "warn")
        .env_remove("STRONGROOM_DIR")
        .env_remove("STRONGROOM_DATABASE_URL")
        .output()
        .expect("runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn rules_list_shows_the_illinois_pack() {
    let o = strongroom(&["rules", "list", "il-dispensary"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let header = out.lines().nth(1).unwrap();
    for col in ["ID", "CITATION", "KIND", "BASIS"] {
        assert!(header.contains(col), "{header}");
    }
    let vid: Vec<&str> = out.lines().filter(|l| l.starts_with("VID-")).collect();
    assert!(vid.len() >= 5, "{out}");
    let vid11 = vid
        .iter()
        .find(|l| l.starts_with("VID-11 "))
        .expect("VID-11");
    assert!(vid11.contains("IL 1291.300") && vid11.contains("frame_rate") && vid11.contains("law"));
    assert!(
        out.lines().any(|l| l.contains("practice")),
        "practice rows shown"
    );

    let o = strongroom(&["rules", "list", "no-such-pack"]);
    assert!(!o.status.success());
}

#[test]
fn rules_check_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    let builtin = include_str!("../../compliance/packs/oh-processor.toml");
    std::fs::write(&good, builtin).unwrap();
    let o = strongroom(&["rules", "check", good.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));

    // Line 12 gets an unknown check kind.
    let bad = dir.path().join("bad.toml");
    let text_bad = "[pack]\nid = \"x\"\njurisdiction = \"oh-processor\"\ntitle = \"t\"\nlaw = \"l\"\nsource = \"s\"\neffective = \"2024-09-30\"\nregulator = \"r\"\n\n[[requirement]]\nid = \"VID-11\"\ncheck = \"frame_rat\"\ncitation = \"OH 3796:3-2-05(B)(4)(c)\"\ntitle = \"fps\"\nbasis = \"law\"\n";
    std::fs::write(&bad, text_bad).unwrap();
    let o = strongroom(&["rules", "check", bad.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    let prefix = format!("{}:12:", bad.display());
    assert!(
        out.lines()
            .any(|l| l.starts_with(&prefix) && l.contains("frame_rat")),
        "{out}"
    );
}

#[test]
fn report_compliance_of_a_new_ohio_site() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let o = strongroom(&[
        "init",
        "--dir",
        d,
        "--jurisdiction",
        "oh-dispensary",
        "--site-name",
        "Buckeye Relief",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));

    let pdf = dir.path().join("c.pdf");
    let o = strongroom(&[
        "report",
        "compliance",
        "--dir",
        d,
        "--format",
        "pdf",
        "--output",
        pdf.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(bytes.len() > 2_000);
    if let Ok(info) = Command::new("pdfinfo").arg(&pdf).output()
        && info.status.success()
    {
        let info = String::from_utf8_lossy(&info.stdout).into_owned();
        let pages: u32 = info
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .map(|p| p.trim().parse().unwrap())
            .expect("pdfinfo reports pages");
        assert!(pages >= 2, "{info}");
    } else {
        println!("NOTE: pdfinfo not found; checked the PDF header only");
    }

    let html = dir.path().join("c.html");
    let o = strongroom(&[
        "report",
        "compliance",
        "--dir",
        d,
        "--format",
        "html",
        "--output",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("OH 3796:6-3-16"), "Ohio citations");
    assert!(page.contains("Buckeye Relief"));

    for report in [
        "inspection-log",
        "vendors",
        "outage",
        "incidents",
        "surveillance-access",
        "vault-log",
    ] {
        let out = dir.path().join(format!("{report}.csv"));
        let o = strongroom(&[
            "report",
            report,
            "--dir",
            d,
            "--format",
            "csv",
            "--date",
            "2025-06-02",
            "--output",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{report}: {:?}", text(&o));
        assert!(out.exists(), "{report}");
    }

    let o = strongroom(&["report", "compliance", "--dir", d, "--format", "docx"]);
    assert!(!o.status.success());
    let o = strongroom(&[
        "report",
        "compliance",
        "--dir",
        dir.path().join("none").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
}
