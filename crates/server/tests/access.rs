//! Access control wired into the server, tested through the HTTP API and against a real OSDP
//! reader (LibOSDP's PD from `shared/peers/osdp_demo.py` over a socat pty pair).
#![allow(clippy::unwrap_used)]

mod common_access;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common_access::{Client, Server, T0_MS, locate_peers, site_toml};
use reqwest::StatusCode;
use serde_json::{Value, json};
use strongroom_domain::auth::Role;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::Instant;

/// Events after `after_seq` as a role sees them, without seq, hash and time (what a screen shows
/// of a decision, to compare two decisions).
async fn seen_after(c: &Client, after_seq: u64) -> Vec<Value> {
    let (s, v) = c.get("/events?limit=1000").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut out: Vec<Value> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap() > after_seq)
        .map(|e| json!({"kind": e["kind"], "actor": e["actor"], "payload": e["payload"]}))
        .collect();
    out.reverse();
    out
}

async fn head(s: &Server) -> u64 {
    s.store
        .journal_head(&s.site_id())
        .await
        .unwrap()
        .map_or(0, |h| h.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_deny_revoke_and_no_secrets_in_answers() {
    let s = Server::start(&site_toml("t1", "")).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    mgr.agent("alice", "Alice Agent", &["sales", "back"]).await;
    let cred = mgr
        .issue("alice", json!({"kind": "card", "card": "CAFE9917"}))
        .await;

    let a = mgr.present("r-back", Some("CAFE9917"), None).await;
    assert_eq!(a["outcome"], "granted", "{a}");
    assert_eq!(a["door"], "sales-back");
    assert_eq!(a["feedback"], "granted");
    let grants = s.journal("access.granted").await;
    let g = grants.last().unwrap();
    assert_eq!(g["payload"]["person"], "alice");
    assert_eq!(g["payload"]["credential"], cred.as_str());
    assert_eq!(g["payload"]["source"], "api");
    assert_eq!(g["payload"]["enters"], "back");

    // Unknown card: denied, recorded with the last four characters only.
    let a = mgr.present("r-back", Some("DEAD0042"), None).await;
    assert_eq!(a["outcome"], "denied");
    assert_eq!(a["reason"], "unknown_card");
    let denied = s.journal("access.denied").await;
    assert_eq!(denied.last().unwrap()["payload"]["card_last4"], "0042");

    // Revocation takes effect at once: the next presentation, same instant, is refused.
    let (st, _) = mgr
        .post(
            &format!("/access/credentials/{cred}/revoke"),
            json!({"reason": "lost"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let a = mgr.present("r-back", Some("CAFE9917"), None).await;
    assert_eq!(a["outcome"], "denied");
    assert_eq!(a["reason"], "credential_revoked");
    let denied = s.journal("access.denied").await;
    assert_eq!(
        denied.last().unwrap()["payload"]["reason"],
        "credential_revoked"
    );
    assert_eq!(denied.last().unwrap()["payload"]["person"], "alice");

    // Card+PIN credential: the answers, the lists and the journal never carry the number or PIN.
    mgr.agent("bob", "Bob Agent", &["back"]).await;
    let (st, issued) = mgr
        .post(
            "/access/people/bob/credentials",
            json!({"kind": "card_pin", "card": "QZ7788QZ", "pin": "602214"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let a = mgr
        .present("r-back", Some("QZ7788QZ"), Some("602214"))
        .await;
    assert_eq!(a["outcome"], "granted");
    let a = mgr.present("r-back", Some("QZ7788QZ"), None).await;
    assert_eq!(a["reason"], "pin_required");
    let (_, people) = mgr.get("/access/people").await;
    let (_, creds) = mgr.get("/access/credentials").await;
    let (_, events) = mgr.get("/events?limit=1000").await;
    for text in [
        issued.to_string(),
        people.to_string(),
        creds.to_string(),
        events.to_string(),
    ] {
        for secret in ["QZ7788QZ", "602214", "CAFE9917"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
    // The access API hands out no keyed hashes either (the journal feed carries them, keyed with
    // a secret that is not in the journal).
    for text in [issued.to_string(), people.to_string(), creds.to_string()] {
        assert!(!text.contains("_hash"), "hash exposed: {text}");
    }
    assert!(
        creds.to_string().contains("\"card_last4\":\"88QZ\""),
        "{creds}"
    );

    // Permissions: a regulator may not issue credentials nor open doors (403, journaled).
    let reg = s.client("reg", Role::Regulator).await;
    let (st, _) = reg
        .post(
            "/access/people/bob/credentials",
            json!({"kind": "pin", "pin": "1111"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = reg
        .post("/access/requests", json!({"reader": "r-back", "card": "x"}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(
        s.journal("auth.permission_denied")
            .await
            .iter()
            .any(|e| e["actor"] == "user:reg")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duress_is_silent_except_for_monitoring() {
    let s = Server::start(&site_toml("t2", "")).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    let reg = s.client("reg", Role::Regulator).await;
    let agent = s.client("agent", Role::Agent).await;
    let ops = s.client("ops", Role::MonitoringOperator).await;
    mgr.agent("dana", "Dana Agent", &["sales", "back"]).await;
    mgr.issue("dana", json!({"kind": "pin", "pin": "246810"}))
        .await;
    let duress = mgr
        .issue("dana", json!({"kind": "duress_pin", "pin": "135791"}))
        .await;

    let before_normal = head(&s).await;
    let normal = mgr.present("r-back", None, Some("246810")).await;
    let reg_normal = seen_after(&reg, before_normal).await;
    let before_duress = head(&s).await;
    let under_duress = mgr.present("r-back", None, Some("135791")).await;
    // The door and the controller see the same answer.
    assert_eq!(normal, under_duress);
    assert_eq!(normal["outcome"], "granted");

    // A regulator's feed shows the same thing for both (same clock instant, same state).
    let reg_duress = seen_after(&reg, before_duress).await;
    assert_eq!(reg_normal.len(), 1, "{reg_normal:?}");
    assert_eq!(reg_duress, reg_normal, "the duress entry must look normal");
    assert_eq!(reg_normal[0]["kind"], "access.granted");
    assert!(!reg_duress.iter().any(|e| e["kind"] == "alarm.duress"));
    // The agent role sees no event feed at all, in either case.
    let (st, _) = agent.get("/events").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The monitoring operator sees the silent alarm, naming the duress credential.
    let ops_duress = seen_after(&ops, before_duress).await;
    let alarm = ops_duress
        .iter()
        .find(|e| e["kind"] == "alarm.duress")
        .unwrap_or_else(|| panic!("no duress alarm for monitoring: {ops_duress:?}"));
    assert_eq!(alarm["payload"]["person"], "dana");
    assert_eq!(alarm["payload"]["credential"], duress.as_str());
    assert_eq!(alarm["payload"]["visibility"], "monitoring");
    // The door screen for an agent shows nothing of it either.
    let (st, doors) = agent.get("/access/doors").await;
    assert_eq!(st, StatusCode::OK);
    assert!(!doors.to_string().contains("duress"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_are_unique_across_people() {
    let s = Server::start(&site_toml("t3", "")).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    mgr.agent("erin", "Erin", &["back"]).await;
    mgr.agent("frank", "Frank", &["back"]).await;
    mgr.issue("erin", json!({"kind": "pin", "pin": "482913"}))
        .await;
    let events_before = head(&s).await;
    for kind in ["pin", "duress_pin"] {
        let (st, v) = mgr
            .post(
                "/access/people/frank/credentials",
                json!({"kind": kind, "pin": "482913"}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["error"], "conflict");
        assert!(!v.to_string().contains("482913"));
    }
    // Malformed PIN: 400; nothing was journaled by the refusals.
    let (st, _) = mgr
        .post(
            "/access/people/frank/credentials",
            json!({"kind": "pin", "pin": "12"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(head(&s).await, events_before);
    // Another PIN is fine.
    mgr.issue("frank", json!({"kind": "pin", "pin": "482914"}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_two_person_rule_and_daily_log() {
    let s = Server::start(&site_toml("t4", "")).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    mgr.agent("gina", "Gina Vault", &["back", "vault"]).await;
    mgr.agent("hugo", "Hugo Vault", &["back", "vault"]).await;
    mgr.issue("gina", json!({"kind": "card", "card": "7001"}))
        .await;
    mgr.issue("hugo", json!({"kind": "card", "card": "7002"}))
        .await;

    let first = mgr.present("r-vault", Some("7001"), None).await;
    assert_eq!(first["outcome"], "pending");
    assert_eq!(first["pending"], "second_agent");
    // The same agent again does not count as the second person.
    let again = mgr.present("r-vault", Some("7001"), None).await;
    assert_eq!(again["outcome"], "pending");
    s.clock.advance_ms(5_000);
    let second = mgr.present("r-vault", Some("7002"), None).await;
    assert_eq!(second["outcome"], "granted", "{second}");
    let grants: Vec<Value> = s
        .journal("access.granted")
        .await
        .into_iter()
        .filter(|e| e["payload"]["door"] == "vault-door")
        .collect();
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert_eq!(grants[0]["payload"]["person"], "gina");
    assert_eq!(grants[0]["payload"]["dual_with"], "hugo");
    assert_eq!(grants[1]["payload"]["dual_with"], "gina");

    // Both leave twenty minutes later.
    s.clock.advance_ms(20 * 60_000);
    for card in ["7001", "7002"] {
        let a = mgr.present("r-vault-out", Some(card), None).await;
        assert_eq!(a["outcome"], "granted");
    }
    let (st, occ) = mgr.get("/access/occupancy").await;
    assert_eq!(st, StatusCode::OK);
    let vault = occ["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["area"] == "vault")
        .unwrap()
        .clone();
    assert_eq!(vault["count"], 0, "{occ}");

    // The daily vault log, in every format. A regulator reads it.
    let reg = s.client("reg", Role::Regulator).await;
    let (st, log) = reg.get("/access/vault-log?date=2025-06-16").await;
    assert_eq!(st, StatusCode::OK, "{log}");
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["dual"], true);
    assert_eq!(entries[0]["people"][0]["name"], "Gina Vault");
    assert_eq!(entries[0]["people"][1]["name"], "Hugo Vault");
    assert!(entries[0]["people"][1]["time_out_ms"].is_i64());
    let (st, ct, csv) = reg
        .get_raw("/access/vault-log?date=2025-06-16&format=csv")
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let csv = String::from_utf8(csv).unwrap();
    let row = csv
        .lines()
        .nth(1)
        .unwrap_or_else(|| panic!("no entry: {csv}"));
    for want in [
        "2025-06-16",
        "vault",
        "vault-door",
        "yes",
        "electronic",
        "Gina Vault",
        "IL-gina",
        "Hugo Vault",
        "10:20:05 CDT",
    ] {
        assert!(row.contains(want), "{want} not in {row}");
    }
    let (_, ct, html) = reg
        .get_raw("/access/vault-log?date=2025-06-16&format=html")
        .await;
    assert!(ct.starts_with("text/html"));
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("Gina Vault"));
    // The page's Content-Security-Policy allows exactly its inline stylesheet, by hash.
    let style = html
        .split("<style>")
        .nth(1)
        .and_then(|r| r.split("</style>").next())
        .unwrap();
    let csp = strongroom_server::error::report_csp().to_str().unwrap();
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    let res = reg
        .http
        .get(reg.url("/access/vault-log?date=2025-06-16&format=html"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok()),
        Some(csp)
    );
    let (_, ct, pdf) = reg
        .get_raw("/access/vault-log?date=2025-06-16&format=pdf")
        .await;
    assert_eq!(ct, "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    // Another day is empty; a bad date is a 400.
    let (_, other) = reg.get("/access/vault-log?date=2025-06-15").await;
    assert_eq!(other["entries"], json!([]));
    let (st, _) = reg.get("/access/vault-log?date=16/06/2025").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

/// The two-person vault entry and its log on PostgreSQL (the vault-log index and queries are
/// the engine-specific part), when `STRONGROOM_TEST_DATABASE_URL` names a server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_log_on_postgres() {
    let Ok(url) = std::env::var("STRONGROOM_TEST_DATABASE_URL") else {
        println!("SKIP: STRONGROOM_TEST_DATABASE_URL not set");
        return;
    };
    let schema = format!("sr_access_{}", std::process::id());
    let s = Server::start_postgres(&site_toml("pg1", ""), &url, &schema).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    mgr.agent("gina", "Gina Vault", &["back", "vault"]).await;
    mgr.agent("hugo", "Hugo Vault", &["back", "vault"]).await;
    mgr.issue("gina", json!({"kind": "card", "card": "7001"}))
        .await;
    mgr.issue("hugo", json!({"kind": "card", "card": "7002"}))
        .await;
    assert_eq!(
        mgr.present("r-vault", Some("7001"), None).await["outcome"],
        "pending"
    );
    assert_eq!(
        mgr.present("r-vault", Some("7002"), None).await["outcome"],
        "granted"
    );
    s.clock.advance_ms(600_000);
    mgr.present("r-vault-out", Some("7001"), None).await;
    mgr.present("r-vault-out", Some("7002"), None).await;
    let (st, log) = mgr.get("/access/vault-log?date=2025-06-16").await;
    assert_eq!(st, StatusCode::OK, "{log}");
    assert_eq!(log["entries"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log["entries"][0]["dual"], true);
    assert!(log["entries"][0]["people"][1]["time_out_ms"].is_i64());
    let (_, _, csv) = mgr
        .get_raw("/access/vault-log?date=2025-06-16&format=csv")
        .await;
    assert!(String::from_utf8(csv).unwrap().contains("Hugo Vault"));
    let store = s.store.clone();
    drop(s);
    strongroom_store::admin::drop_schema(&store, &schema)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doors_lockdown_and_forced_door_through_the_monitor() {
    let s = Server::start(&site_toml("t5", "")).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    mgr.agent("ivan", "Ivan", &["sales", "back"]).await;
    mgr.issue("ivan", json!({"kind": "card", "card": "5005"}))
        .await;

    // A controller reports the door open with no grant: forced.
    let (st, e) = mgr
        .post(
            "/device-events",
            json!({"device": "sales-back", "state": "open"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    assert_eq!(e["kind"], "door.contact");
    assert_eq!(e["payload"]["state"], "open");
    assert_eq!(s.journal("door.forced").await.len(), 1);
    let (_, doors) = mgr.get("/access/doors").await;
    let d = doors["doors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "sales-back")
        .unwrap()
        .clone();
    assert_eq!(d["open"], true);
    assert_eq!(d["forced"], true);
    mgr.post(
        "/device-events",
        json!({"device": "sales-back", "state": "closed"}),
    )
    .await;
    assert_eq!(s.journal("door.secured").await.len(), 1);
    // The device projection shows the door.
    let (_, devices) = mgr.get("/devices").await;
    assert!(
        devices["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["device"] == "sales-back" && d["state"] == "closed"),
        "{devices}"
    );

    // After a grant, opening is authorised; a door left open past its limit is held open.
    assert_eq!(
        mgr.present("r-back", Some("5005"), None).await["outcome"],
        "granted"
    );
    mgr.post(
        "/device-events",
        json!({"device": "sales-back", "state": "open"}),
    )
    .await;
    assert_eq!(s.journal("door.forced").await.len(), 1);
    s.clock.advance_ms(31_000);
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.journal("door.held_open").await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "no held-open alarm from the tick"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    mgr.post(
        "/device-events",
        json!({"device": "sales-back", "state": "closed"}),
    )
    .await;

    // Lockdown: agents without a lockdown role are refused at restricted doors.
    let (st, _) = mgr
        .post("/access/lockdown", json!({"reason": "drill"}))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, l) = mgr.get("/access/lockdown").await;
    assert_eq!(l["active"], true);
    let a = mgr.present("r-back", Some("5005"), None).await;
    assert_eq!(a["reason"], "lockdown");
    let (st, _) = mgr.post("/access/lockdown", json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    mgr.ok("/access/lockdown/end", json!({"reason": "drill over"}))
        .await;
    assert_eq!(
        mgr.present("r-back", Some("5005"), None).await["outcome"],
        "granted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_rebuilds_state_from_the_journal() {
    let s = Server::start(&site_toml("t6", "")).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    mgr.agent("jo", "Jo", &["sales", "back"]).await;
    let cred = mgr
        .issue("jo", json!({"kind": "card", "card": "6006"}))
        .await;
    mgr.ok(&format!("/access/credentials/{cred}/suspend"), json!({}))
        .await;
    mgr.agent("kim", "Kim", &["back"]).await;
    mgr.issue("kim", json!({"kind": "card", "card": "6007"}))
        .await;
    let secret = s.dir.join("keys").join("t6.access-secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let key_text = std::fs::read_to_string(&secret).unwrap();
    for e in s.journal("").await {
        assert!(
            !e.to_string().contains(key_text.trim()),
            "the credential key is in the journal"
        );
    }
    let config = s.site.config();
    let (dir, store, key, tmp) = s.stop().await;

    let s = Server::open(
        dir.clone(),
        store.clone(),
        key.clone(),
        (*config).clone(),
        T0_MS + 60_000,
    )
    .await;
    let mgr = s.client("mgr2", Role::SecurityManager).await;
    let a = mgr.present("r-back", Some("6006"), None).await;
    assert_eq!(a["reason"], "credential_suspended");
    let a = mgr.present("r-back", Some("6007"), None).await;
    assert_eq!(a["outcome"], "granted");
    assert_eq!(
        s.journal("access.secret_created").await.len(),
        1,
        "the key is created once"
    );
    let (_, _, _, tmp2) = s.stop().await;

    // A wrong key file is refused rather than silently locking everyone out.
    std::fs::remove_file(&secret).unwrap();
    let (journal, _writer) = strongroom_store::JournalHandle::start(
        store.clone(),
        "t6",
        key.clone(),
        Arc::new(strongroom_domain::ManualClock::new(T0_MS)),
        strongroom_store::JournalWriterConfig::default(),
    )
    .await
    .unwrap();
    let site = Arc::new(strongroom_server::SiteRuntime::new(
        (*config).clone(),
        journal,
        key,
        None,
    ));
    let ctx = strongroom_server::state::StartCtx {
        state: strongroom_server::AppState::new(
            store,
            Arc::new(strongroom_domain::ManualClock::new(T0_MS)),
            Default::default(),
        ),
        site,
        data_dir: dir,
    };
    let Err(err) = strongroom_server::start_access_service(&ctx).await else {
        panic!("start without the key must fail");
    };
    assert!(err.to_string().contains("restore"), "{err}");
    drop((tmp, tmp2));
}

// ----- the real reader -----

const KEY_HEX: &str = "A1B2C3D4E5F60718293A4B5C6D7E8F90";

/// Writes the reader's SCBK file (mode 0600, as the server requires).
fn write_key(path: &std::path::Path) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    writeln!(f, "{KEY_HEX}").unwrap();
}

/// LibOSDP's PD on one end of a socat pty pair, configured as reader `r-osdp` of a test site: its
/// card and PIN (inside the Secure Channel) reach the server, become a decision in the journal,
/// and the grant LED reaches the reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libosdp_reader_card_and_pin_decided_and_led_shown() {
    let Some(peers) = locate_peers() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let pd_tty = tmp.path().join("ttyPD");
    let cp_tty = tmp.path().join("ttyCP");
    let scbk = tmp.path().join("r-osdp.scbk");
    write_key(&scbk);
    let mut socat = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", pd_tty.display()))
        .arg(format!("pty,raw,echo=0,link={}", cp_tty.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn socat");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(pd_tty.exists() && cp_tty.exists()) {
        assert!(Instant::now() < deadline, "socat ptys did not appear");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut pd = Command::new(&peers.python)
        .arg(&peers.script)
        .args(["pd", "--channel"])
        .arg(format!("pty:{}", pd_tty.display()))
        .args([
            "--address",
            "101",
            "--scbk",
            KEY_HEX,
            "--card",
            "123:4567",
            "--pin",
            "1234",
            "--duration",
            "25",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn LibOSDP PD");
    let pd_lines = Arc::new(Mutex::new(Vec::<String>::new()));
    if let Some(out) = pd.stdout.take() {
        let lines = pd_lines.clone();
        tokio::spawn(async move {
            let mut rd = BufReader::new(out).lines();
            while let Ok(Some(l)) = rd.next_line().await {
                lines.lock().unwrap().push(l);
            }
        });
    }

    let extra = format!(
        r#"
[[reader]]
id = "r-osdp"
name = "OSDP reader (LibOSDP)"
door = "sales-back"
keypad = true
osdp = {{ channel = "pty:{}", address = 101, scbk_file = "{}" }}
"#,
        cp_tty.display(),
        scbk.display()
    );
    let s = Server::start(&site_toml("t7", &extra)).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    mgr.agent("lee", "Lee Reader", &["sales", "back"]).await;
    mgr.issue(
        "lee",
        json!({"kind": "card_pin", "card": "123:4567", "pin": "1234"}),
    )
    .await;

    // The decision: card then PIN combined into one presentation, granted, durable.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    let grant = loop {
        let grants = s.journal("access.granted").await;
        if let Some(g) = grants.iter().find(|g| g["payload"]["reader"] == "r-osdp") {
            break g.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no decision from the OSDP reader; journal: {:?}; PD: {:?}",
            s.journal("").await,
            pd_lines.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "card+PIN from LibOSDP decided after {:?}",
        started.elapsed()
    );
    assert_eq!(grant["payload"]["person"], "lee");
    assert_eq!(grant["payload"]["method"], "card+pin");
    assert_eq!(grant["payload"]["source"], "osdp");
    assert_eq!(grant["actor"], "device:r-osdp");
    // The reader link is in the journal: online with the Secure Channel up.
    let states = s.journal("device.state").await;
    assert!(
        states.iter().any(|e| e["payload"]["device"] == "r-osdp"
            && e["payload"]["state"] == "online"
            && e["payload"]["secure_channel"] == "up"),
        "{states:?}"
    );
    // The grant LED reached the reader (the PD logs the commands it receives).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = pd_lines.lock().unwrap().clone();
        if let Some(led) = out
            .iter()
            .find(|l| l.contains("pd_got_command") && l.contains("\"led_number\""))
        {
            println!("PD saw: {led}");
            assert!(
                led.contains("\"temp_on_color\": 2") || led.contains("\"on_color\": 2"),
                "LED should be green: {led}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no LED command at the PD: {out:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, doors) = mgr.get("/access/doors").await;
    let reader = doors["doors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["readers"].as_array().unwrap().clone())
        .find(|r| r["id"] == "r-osdp")
        .unwrap();
    assert_eq!(reader["osdp"]["state"], "online", "{reader}");
    assert_eq!(reader["osdp"]["secure"], true);

    // The reader goes away: offline and a health fact.
    let _ = pd.kill().await;
    let _ = socat.kill().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.journal("health.reader_down").await.is_empty() {
        assert!(Instant::now() < deadline, "reader loss not journaled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A commissioned reader whose Secure Channel cannot be established (here: Strongroom's own
/// simulated PD keyed with another SCBK, over TCP) still reports cards in clear; they are refused
/// before any decision, and the failed channel is an alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commissioned_reader_outside_secure_channel_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tmp = tempfile::tempdir().unwrap();
    let scbk = tmp.path().join("r-tcp.scbk");
    write_key(&scbk);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let pd_task = tokio::spawn(async move {
        let (mut io, _) = listener.accept().await.unwrap();
        let mut pd = strongroom_osdp::sim::SimPd::new(7, [0x42; 16]);
        pd.present_card(123, 4567);
        let mut buf = [0u8; 1024];
        loop {
            let n = match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for reply in pd.handle_input(&buf[..n]) {
                if io.write_all(&reply).await.is_err() {
                    return;
                }
            }
        }
    });
    let extra = format!(
        r#"
[[reader]]
id = "r-tcp"
door = "sales-back"
osdp = {{ channel = "tcp:127.0.0.1:{port}", address = 7, scbk_file = "{}" }}
"#,
        scbk.display()
    );
    let s = Server::start(&site_toml("t8", &extra)).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    mgr.agent("max", "Max", &["sales", "back"]).await;
    mgr.issue("max", json!({"kind": "card", "card": "123:4567"}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        if let Some(e) = s.journal("access.read_refused").await.pop() {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "no refusal: {:?}",
            s.journal("").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(refused["payload"]["reader"], "r-tcp");
    assert_eq!(refused["payload"]["reason"], "not_secure");
    assert!(
        s.journal("access.")
            .await
            .iter()
            .all(|e| e["payload"]["reader"] != "r-tcp" || e["kind"] == "access.read_refused"),
        "an insecure read reached the decision engine"
    );
    let alerts = s.journal("health.reader_secure_channel_down").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0]["payload"]["reason"]
            .as_str()
            .unwrap()
            .contains("secure channel failed"),
        "{alerts:?}"
    );
    pd_task.abort();
}

// ----- bench -----

/// The daily vault log for one day out of 90 days of journal. Run with
/// `cargo test --release -p strongroom-server --test access -- --ignored --nocapture vault_log_bench`;
/// `STRONGROOM_BENCH_EVENTS` sets the journal size (default 2 000 000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "bench: minutes of filling"]
async fn vault_log_bench() {
    let events: u64 = std::env::var("STRONGROOM_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let store = strongroom_store::Store::open(&format!(
        "sqlite://{}",
        tmp.path().join("bench.sqlite").display()
    ))
    .await
    .unwrap();
    strongroom_store::migrate::run(&store, T0_MS).await.unwrap();
    let config =
        strongroom_domain::site::SiteConfig::parse("demo", strongroom_domain::site::DEMO_SITE_TOML)
            .unwrap();
    let key = Arc::new(strongroom_journal::SiteKey::generate().unwrap());
    store
        .create_site(&strongroom_store::SiteRow {
            id: "demo".into(),
            name: "bench".into(),
            jurisdiction: "il-dispensary".into(),
            public_key: key.public_hex(),
            created_ms: 0,
        })
        .await
        .unwrap();
    let (journal, writer) = strongroom_store::JournalHandle::start(
        store.clone(),
        "demo",
        key,
        Arc::new(strongroom_domain::SystemClock),
        strongroom_store::JournalWriterConfig::default(),
    )
    .await
    .unwrap();
    let mut last = 0;
    let r = strongroom_access_service::bench_vault_log(
        &store,
        &journal,
        &config,
        events,
        90,
        T0_MS,
        |n| {
            if n - last >= 500_000 {
                println!("  {n} events");
                last = n;
            }
        },
    )
    .await
    .unwrap();
    journal.shutdown().await.unwrap();
    let _ = writer.await;
    let size = std::fs::metadata(tmp.path().join("bench.sqlite"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "vault log bench: {} events over {} days ({:.0} per day), filled in {:.1} s ({:.0} events/s), database {} MB",
        r.events,
        r.days,
        r.events as f64 / f64::from(r.days),
        r.fill_s,
        r.events as f64 / r.fill_s,
        size / 1_000_000
    );
    println!(
        "  start-up replay of the whole journal: {:.1} s ({} access facts applied)",
        r.replay_s, r.replayed
    );
    for ((ms, n), scan) in r.query_ms.iter().zip(&r.entries).zip(&r.scan_ms) {
        println!(
            "  one day's vault log: {n} entries in {ms:.1} ms (kind-index scan of the same rows: {scan:.1} ms)"
        );
    }
    assert!(r.entries.iter().all(|n| *n > 0));
    let worst = r.query_ms.iter().copied().fold(0.0, f64::max);
    assert!(worst < 100.0, "vault log took {worst:.1} ms");
}

/// A reload puts a changed reader list in force at once, and a file access control cannot use is
/// refused as a whole: nothing changes, and the refusal is journaled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_removes_a_reader_or_is_refused_whole() {
    let s = Server::start(&site_toml("t-reload", "")).await;
    let mgr = s.client("mgr", Role::SecurityManager).await;
    mgr.agent("erin", "Erin Agent", &["sales", "back"]).await;
    mgr.issue("erin", json!({"kind": "card", "card": "AB12CD34"}))
        .await;
    let a = mgr.present("r-back", Some("AB12CD34"), None).await;
    assert_eq!(a["outcome"], "granted", "{a}");

    // A file naming an OSDP secure-channel key that cannot be read is refused.
    let base = site_toml("t-reload", "");
    let bad = base.replace(
        "[[reader]]\nid = \"r-back\"\ndoor = \"sales-back\"\nkeypad = true\n",
        "[[reader]]\nid = \"r-back\"\ndoor = \"sales-back\"\nkeypad = true\nosdp = { channel = \"tcp:127.0.0.1:9\", address = 1, scbk_file = \"keys/missing.scbk\" }\n",
    );
    assert_ne!(bad, base, "the test edits the reader");
    let before = s.site.config();
    let err = s
        .site
        .apply_config("bad.toml", &bad, strongroom_domain::Actor::System, T0_MS)
        .await
        .expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("access") && msg.contains("r-back"),
        "the refusal names the subsystem and reader: {msg}"
    );
    assert!(Arc::ptr_eq(&before, &s.site.config()), "nothing changed");
    let rejected = s.journal("config.rejected").await;
    assert!(
        rejected
            .last()
            .is_some_and(|e| e["payload"]["errors"].to_string().contains("r-back")),
        "{rejected:?}"
    );
    let a = mgr.present("r-back", Some("AB12CD34"), None).await;
    assert_eq!(a["outcome"], "granted", "still in force: {a}");

    // Removing the reader takes effect at once: a read at it is refused.
    let without = base.replace(
        "[[reader]]\nid = \"r-back\"\ndoor = \"sales-back\"\nkeypad = true\n",
        "",
    );
    assert_ne!(without, base);
    s.site
        .apply_config(
            "good.toml",
            &without,
            strongroom_domain::Actor::System,
            T0_MS,
        )
        .await
        .expect("applied");
    let (st, v) = mgr
        .post(
            "/access/requests",
            json!({"reader": "r-back", "card": "AB12CD34"}),
        )
        .await;
    assert!(
        st == StatusCode::NOT_FOUND || v["outcome"] == "denied",
        "a removed reader still grants: {st} {v}"
    );
    assert_ne!(v["outcome"], "granted", "{v}");
}
