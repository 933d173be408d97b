//! Pack parser tests: the built-in packs, typed parameters, located errors, decimals, and
//! property tests that no input makes the parser panic.
use super::*;

const MINI: &str = r#"[pack]
id = "xx-test"
jurisdiction = "xx-test"
title = "Test"
law = "Test Code 1"
source = "none"
effective = "2024-01-01"
regulator = "Board"

[[requirement]]
id = "VID-11"
citation = "T 1(a)"
title = "Frame rate"
basis = "law"
check = "frame_rate"
min_fps = 8
measure = "recorded"

[[requirement]]
id = "PHY-01"
citation = "T 1(b)"
title = "Sign"
basis = "law"
check = "attestation"
item = "sign"
per = "doors:into_restricted"
limits = ["width_in >= 12", "letter_height_in >= 0.5"]
"#;

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(0, |p| p + 1)
}

/// The one issue `check_pack` reports for `bad` (fails the test if there is not exactly one).
fn only_issue(bad: &str) -> PackIssue {
    let err = check_pack("bad.toml", bad).expect_err("must fail");
    assert_eq!(err.len(), 1, "{err:?}");
    err[0].clone()
}

#[test]
fn builtin_packs_load() {
    for (name, text) in BUILTIN_PACKS {
        let pack = check_pack(name, text).unwrap_or_else(|e| {
            panic!("{}", PackErrors(e));
        });
        assert!(
            pack.requirements.len() >= 20,
            "{name}: {}",
            pack.requirements.len()
        );
        assert_eq!(Some(pack.id.as_str()), name.strip_suffix(".toml"));
        assert!(pack.requirements.iter().all(|r| !r.citation.is_empty()));
        assert!(pack.requirements.iter().any(|r| r.basis == Basis::Practice));
        assert_eq!(list(&pack).len(), pack.requirements.len());
    }
    assert!(builtin("il-dispensary").is_some_and(|p| p.is_ok()));
    assert!(builtin("ca-dispensary").is_none());
}

#[test]
fn mini_pack_parses_with_typed_params() {
    let pack = check_pack("t.toml", MINI).expect("valid");
    assert_eq!(pack.requirements.len(), 2);
    assert_eq!(
        pack.requirements[0].check,
        Check::FrameRate {
            min_fps: 8,
            measure: FpsMeasure::Recorded
        }
    );
    assert_eq!(pack.requirements[0].line, line_of(MINI, "id = \"VID-11\""));
    match &pack.requirements[1].check {
        Check::Attestation { limits, per, .. } => {
            assert_eq!(*per, Subjects::Doors(DoorSelector::IntoRestricted));
            assert_eq!(limits[1].value_milli, 500);
            assert_eq!(limits[1].to_string(), "letter_height_in >= 0.5");
        }
        other => panic!("wrong check {other:?}"),
    }
}

#[test]
fn unknown_kind_is_rejected_with_line() {
    let bad = MINI.replace("check = \"frame_rate\"", "check = \"frame_rates\"");
    let issue = only_issue(&bad);
    assert_eq!(issue.file, "bad.toml");
    assert_eq!(issue.line, line_of(&bad, "frame_rates"));
    assert!(
        issue.reason.contains("unknown check kind `frame_rates`"),
        "{issue}"
    );
}

#[test]
fn missing_parameter_is_rejected_with_line() {
    let bad = MINI.replace("min_fps = 8\n", "");
    let issue = only_issue(&bad);
    assert_eq!(issue.line, line_of(&bad, "check = \"frame_rate\""));
    assert!(
        issue.reason.contains("missing parameter `min_fps`"),
        "{issue}"
    );
}

#[test]
fn duplicate_id_is_rejected_with_line() {
    let bad = MINI.replace("id = \"PHY-01\"", "id = \"VID-11\"");
    let issue = only_issue(&bad);
    let second = bad
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("\"VID-11\""))
        .nth(1)
        .map(|(i, _)| i + 1);
    assert_eq!(Some(issue.line), second);
    assert!(
        issue.reason.contains("duplicate requirement id `VID-11`"),
        "{issue}"
    );
}

#[test]
fn wrong_types_unknown_params_and_bad_limits_are_located() {
    let bad = MINI
        .replace("min_fps = 8", "min_fps = \"eight\"\nmin_fsp = 8")
        .replace("\"width_in >= 12\"", "\"width_in => 12\"");
    let err = check_pack("bad.toml", &bad).expect_err("must fail");
    let reasons: Vec<String> = err.iter().map(|i| i.to_string()).collect();
    assert_eq!(err.len(), 3, "{reasons:#?}");
    assert!(
        err.iter()
            .any(|i| i.line == line_of(&bad, "\"eight\"")
                && i.reason.contains("non-negative integer"))
    );
    assert!(
        err.iter().any(|i| i.line == line_of(&bad, "min_fsp")
            && i.reason.contains("unknown parameter `min_fsp`"))
    );
    assert!(
        err.iter()
            .any(|i| i.line == line_of(&bad, "=> 12") && i.reason.contains("cannot read"))
    );
}

#[test]
fn syntax_error_is_located() {
    let err = check_pack("s.toml", "[pack\nid = 1").expect_err("must fail");
    assert_eq!(err[0].line, 1);
    assert!(err[0].reason.starts_with("TOML syntax"));
}

#[test]
fn decimals_without_floats() {
    assert_eq!(parse_decimal_milli("0.5"), Some(500));
    assert_eq!(parse_decimal_milli("12"), Some(12_000));
    assert_eq!(parse_decimal_milli("8.125"), Some(8_125));
    assert_eq!(parse_decimal_milli("-1.25"), Some(-1_250));
    assert_eq!(parse_decimal_milli("1.2345"), None);
    assert_eq!(parse_decimal_milli("1e3"), None);
    assert_eq!(parse_decimal_milli("99999999999999999999"), None);
    assert_eq!(fmt_milli(500), "0.5");
    assert_eq!(fmt_milli(12_000), "12");
    assert_eq!(fmt_milli(-1_250), "-1.25");
}

proptest::proptest! {
    #[test]
    fn parser_never_panics(s in "\\PC{0,600}") {
        let _ = check_pack("p.toml", &s);
    }

    #[test]
    fn mutated_pack_never_panics(pos in 0usize..2000, byte in proptest::num::u8::ANY) {
        let mut bytes = MINI.as_bytes().to_vec();
        let p = pos % bytes.len();
        bytes[p] = byte;
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = check_pack("p.toml", s);
        }
    }

    #[test]
    fn builtin_line_deletion_never_panics(line in 0usize..400) {
        let text = BUILTIN_PACKS[0].1;
        let cut: Vec<&str> = text.lines().enumerate().filter(|(i, _)| *i != line).map(|(_, l)| l).collect();
        let _ = check_pack("p.toml", &cut.join("\n"));
    }
}
