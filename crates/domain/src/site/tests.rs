//! Tests of site-file parsing and validation: a small good file, its mutations, and the demo site.
use super::*;

const GOOD: &str = r#"
[site]
id = "demo"
name = "Demo Dispensary"
jurisdiction = "il-dispensary"
timezone = "America/Chicago"
operating_hours = { mon = "09:00-21:00", sat = "10:00-18:00" }

[[area]]
id = "lobby"
name = "Lobby"
kind = "public"

[[area]]
id = "floor"
name = "Sales floor"
kind = "limited_access"
capacity = 40

[[door]]
id = "d-lobby"
name = "Lobby door"
from = "lobby"
to = "floor"
barrier = true

[[reader]]
id = "r-lobby"
door = "d-lobby"
keypad = true
"#;

#[test]
fn good_file_parses() {
    let c = SiteConfig::parse("site.toml", GOOD).expect("valid");
    assert_eq!(c.site.jurisdiction, Jurisdiction::IlDispensary);
    assert_eq!(c.doors[0].held_open_limit_s, 30);
    assert!(c.is_open("mon", 9 * 60));
    assert!(!c.is_open("mon", 21 * 60));
    assert!(!c.is_open("sun", 12 * 60));
}

#[test]
fn unknown_key_names_line_and_field() {
    let bad = GOOD.replace("barrier = true", "barrier = true\ncolour = \"red\"");
    let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
    let issue = &err.0[0];
    assert_eq!(issue.file, "site.toml");
    assert_eq!(issue.field, "colour");
    assert!(issue.line > 20, "{issue}");
    assert!(issue.message.contains("unknown field"), "{issue}");
}

#[test]
fn door_to_undeclared_area_names_line() {
    let bad = GOOD.replace("to = \"floor\"", "to = \"vault\"");
    let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
    assert_eq!(err.0.len(), 1, "{err}");
    let issue = &err.0[0];
    assert_eq!(issue.field, "door[0].to");
    let line = bad
        .lines()
        .position(|l| l.starts_with("to = \"vault\""))
        .map(|p| p + 1);
    assert_eq!(Some(issue.line), line, "{issue}");
    assert!(issue.message.contains("two declared areas"));
}

#[test]
fn reader_on_undeclared_door_and_duplicate_ids() {
    let bad = GOOD
        .replace("door = \"d-lobby\"", "door = \"nope\"")
        .replace("id = \"floor\"", "id = \"lobby\"");
    let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
    let fields: Vec<&str> = err.0.iter().map(|i| i.field.as_str()).collect();
    assert!(fields.contains(&"reader[0].door"), "{err}");
    assert!(fields.contains(&"area[1].id"), "{err}");
    assert!(err.0.iter().all(|i| i.line > 0), "{err}");
}

#[test]
fn bad_timezone_and_hours() {
    let bad = GOOD
        .replace("America/Chicago", "Mars/Olympus")
        .replace("09:00-21:00", "21:00-09:00");
    let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
    assert_eq!(err.0.len(), 2, "{err}");
}

#[test]
fn bad_enum_value_names_its_key() {
    let bad = GOOD.replace("kind = \"public\"", "kind = \"treasure\"");
    let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
    assert_eq!(err.0[0].field, "kind", "{err}");
    assert!(err.0[0].message.contains("expected one of"), "{err}");
}

#[test]
fn syntax_error_is_located() {
    let err = SiteConfig::parse("x.toml", "[site\nid=1").expect_err("must fail");
    assert_eq!(err.0[0].line, 1);
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC{0,400}") {
        let _ = SiteConfig::parse("f.toml", &s);
    }

    #[test]
    fn mutated_good_file_never_panics(pos in 0usize..600, byte in proptest::num::u8::ANY) {
        let mut bytes = GOOD.as_bytes().to_vec();
        let p = pos % bytes.len();
        bytes[p] = byte;
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = SiteConfig::parse("f.toml", s);
        }
    }
}

#[test]
fn demo_site_is_valid() {
    let c = SiteConfig::parse("demo-il-dispensary.toml", DEMO_SITE_TOML)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(c.site.simulator);
    assert_eq!(c.cameras.len(), 4);
    assert!(c.doors.iter().any(|d| d.barrier));
}
