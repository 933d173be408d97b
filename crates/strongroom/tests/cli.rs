//! The spine through the binary: config check, init, journal verify and tamper detection, serve with
//! login / one-time password / MFA / CSRF / RBAC, bad input, config reload, and SIGKILL while clients
//! append (no acknowledged event lost).
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const DEMO: &str = include_str!("../../domain/sites/demo-il-dispensary.toml");

#[test]
fn config_check_reports_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, DEMO).expect("write");
    let (code, out, _) = run(&["config", "check", &path_str(&good)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK"), "{out}");

    let bad = dir.path().join("bad.toml");
    let text = DEMO.replacen("to = \"sales\"", "to = \"nowhere\"", 1);
    std::fs::write(&bad, &text).expect("write");
    let (code, _, err) = run(&["config", "check", &path_str(&bad)]);
    assert_eq!(code, 1, "{err}");
    let line = text
        .lines()
        .position(|l| l.contains("\"nowhere\""))
        .expect("line")
        + 1;
    assert!(err.contains(&format!("bad.toml:{line}:")), "{err}");
    assert!(err.contains("door[1].to"), "{err}");

    let (code, _, err) = run(&["config", "check", "/nonexistent/site.toml"]);
    assert_eq!(code, 2, "{err}");
}

async fn tamper(dir: &std::path::Path, sql: &str) {
    let store = strongroom_store::Store::open(&format!("sqlite://{}", sqlite_file(dir).display()))
        .await
        .expect("open");
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(store.pool())
        .await
        .expect("tamper sql");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_verify_and_detect_tampering() {
    let base = tempfile::tempdir().expect("tempdir");
    let dir = base.path().join("site");
    let (code, out, err) = run(&[
        "init",
        "--dir",
        &path_str(&dir),
        "--jurisdiction",
        "oh-dispensary",
        "--site-name",
        "Buckeye Wellness",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("one-time password"), "{out}");
    let key = dir.join("keys").join("buckeye-wellness.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let (code, _, err) = run(&["config", "check", &path_str(&dir.join("strongroom.toml"))]);
    assert_eq!(code, 0, "the generated site file is valid: {err}");
    let (code, out, err) = run(&["journal", "verify", "--dir", &path_str(&dir)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("intact"), "{out}");

    // Add events through a user command so there is something to tamper with.
    for n in 0..3 {
        let (code, _, err) = run(&[
            "user",
            "add",
            &format!("u{n}"),
            "--role",
            "auditor",
            "--dir",
            &path_str(&dir),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    tamper(&dir, "UPDATE journal SET payload = REPLACE(payload, 'u1', 'u9') WHERE kind = 'user.created' AND payload LIKE '%u1%'").await;
    let (code, out, _) = run(&["journal", "verify", "--dir", &path_str(&dir)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("TAMPERED: first bad sequence number"), "{out}");

    let (code, _, err) = run(&["journal", "verify", "--dir", "/nonexistent/dir"]);
    assert_eq!(code, 2, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_auth_rbac_csrf_mfa_and_bad_input() {
    let base = tempfile::tempdir().expect("tempdir");
    let dir = base.path().join("demo");
    let server = serve(&dir, &["--simulator-period-ms", "200"]);
    let url = format!("http://{}", server.addr);
    let otp = server
        .admin_password
        .clone()
        .expect("one-time admin password printed");

    // No default credentials: admin/admin does not work.
    assert!(login(&url, "admin", "admin").await.is_err());
    let c = login(&url, "admin", &otp)
        .await
        .expect("login with the one-time password");
    // The one-time password must be changed before anything else.
    let (s, _) = c.get("/api/v1/sites").await;
    assert_eq!(s, 403);
    let (s, _) = c
        .post(
            "/api/v1/me/password",
            json!({"current_password": otp, "new_password": "short"}),
        )
        .await;
    assert_eq!(s, 400);
    let c = admin(&server).await;
    let (s, body) = c.get("/api/v1/sites").await;
    assert_eq!(s, 200);
    assert_eq!(body["sites"][0]["id"], "demo");
    let (s, doc) = c.get("/api/openapi.json").await;
    assert_eq!(s, 200);
    assert!(doc["paths"]["/api/v1/sites/{site}/events"].is_object());

    // The simulator drives devices through the journal; the projection shows their state.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, d) = c.get("/api/v1/sites/demo/devices").await;
        if d["devices"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no device state from the simulator: {d}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // CSRF: a state-changing call without the token is refused and changes nothing.
    let res = c
        .http
        .post(format!("{url}/api/v1/sites/demo/device-events"))
        .header("cookie", &c.cookie)
        .json(&json!({"device": "front", "state": "open"}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 403);

    // Bad input: clear 4xx, nothing journaled.
    let (_, before) = c.get("/api/v1/sites/demo/journal/verify").await;
    let (s, e) = c
        .post(
            "/api/v1/sites/demo/device-events",
            json!({"device": "no-such", "state": "open"}),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown device"),
        "{e}"
    );
    let res = c
        .http
        .post(format!("{url}/api/v1/sites/demo/device-events"))
        .header("cookie", &c.cookie)
        .header("x-csrf-token", &c.csrf)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 400);
    let (s, _) = c
        .call(
            reqwest::Method::PUT,
            "/api/v1/sites/demo/config",
            Some(json!("[site\nbroken")),
        )
        .await;
    assert_eq!(s, 400);
    let (_, after) = c.get("/api/v1/sites/demo/journal/verify").await;
    assert_eq!(after["intact"], true);
    let _ = before;

    // RBAC: a regulator can read but not change; the denial is journaled.
    let (s, u) = c
        .post(
            "/api/v1/users",
            json!({"name": "inspector", "role": "regulator", "site": "demo"}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let reg_otp = u["one_time_password"].as_str().expect("otp").to_owned();
    let r = login(&url, "inspector", &reg_otp)
        .await
        .expect("regulator login");
    let (s, _) = r
        .post(
            "/api/v1/me/password",
            json!({"current_password": reg_otp, "new_password": "inspector's long password"}),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = r.get("/api/v1/sites/demo/events?limit=5").await;
    assert_eq!(s, 200);
    let (s, _) = r
        .post(
            "/api/v1/sites/demo/device-events",
            json!({"device": "front", "state": "open"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = r.get("/api/v1/users").await;
    assert_eq!(s, 403);
    let (_, ev) = c
        .get("/api/v1/sites/demo/events?kind=auth.permission_denied&limit=5")
        .await;
    assert!(
        ev["events"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["actor"] == "user:inspector")),
        "{ev}"
    );

    // MFA: enrol, then login needs the code.
    let (s, t) = c.post("/api/v1/me/totp/begin", json!(null)).await;
    assert_eq!(s, 200, "{t}");
    let secret = t["secret"].as_str().expect("secret").to_owned();
    let now_s = jiff::Timestamp::now().as_second() as u64;
    let code = strongroom_server::passwords::totp_code(&secret, now_s).expect("code");
    let (s, _) = c
        .post("/api/v1/me/totp/confirm", json!({"code": code}))
        .await;
    assert_eq!(s, 204);
    let half = login(&url, "admin", "a long admin password")
        .await
        .expect("password step");
    let (s, _) = half.get("/api/v1/sites").await;
    assert_eq!(s, 401, "no access before the second factor");
    let (s, _) = half
        .post("/api/v1/login/totp", json!({"code": "000000"}))
        .await;
    assert_eq!(s, 403);
    let code =
        strongroom_server::passwords::totp_code(&secret, jiff::Timestamp::now().as_second() as u64)
            .expect("code");
    let (s, _) = half.post("/api/v1/login/totp", json!({"code": code})).await;
    assert_eq!(s, 200);
    let (s, _) = half.get("/api/v1/sites").await;
    assert_eq!(s, 200);

    // Lockout after repeated failures.
    let mut last = 0;
    for _ in 0..6 {
        last = login(&url, "inspector", "wrong password")
            .await
            .err()
            .map_or(200, |e| e.0);
    }
    assert_eq!(last, 429, "locked out after repeated failures");
    let (_, ev) = c
        .get("/api/v1/sites/demo/events?kind=auth.login_failed&limit=50")
        .await;
    assert!(
        ev["events"].as_array().is_some_and(|a| a.len() >= 6),
        "failed logins are journaled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_site_file_is_refused_and_last_good_kept() {
    let base = tempfile::tempdir().expect("tempdir");
    let dir = base.path().join("demo");
    let server = serve(&dir, &["--simulator-period-ms", "100000"]);
    let c = admin(&server).await;
    let site_file = dir.join("strongroom.toml");
    let text = std::fs::read_to_string(&site_file).expect("site file");
    // A bad edit on disk: the running server refuses it and journals the refusal.
    std::fs::write(
        &site_file,
        text.replace("kind = \"vault\"", "kind = \"treasure\""),
    )
    .expect("write");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, ev) = c
            .get("/api/v1/sites/demo/events?kind=config.rejected&limit=1")
            .await;
        if ev["events"].as_array().is_some_and(|a| !a.is_empty()) {
            let msg = ev["events"][0]["payload"]["errors"][0]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(msg.contains("strongroom.toml:"), "{msg}");
            break;
        }
        assert!(Instant::now() < deadline, "the bad file was not refused");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, model) = c.get("/api/v1/sites/demo").await;
    assert!(
        model["area"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["kind"] == "vault")),
        "last good configuration stays in force"
    );
    // A good edit is applied.
    std::fs::write(
        &site_file,
        text.replace("Prairie Leaf Dispensary (demo)", "Prairie Leaf (renamed)"),
    )
    .expect("write");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, model) = c.get("/api/v1/sites/demo").await;
        if model["site"]["name"] == "Prairie Leaf (renamed)" {
            break;
        }
        assert!(Instant::now() < deadline, "the good file was not applied");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_event() {
    let base = tempfile::tempdir().expect("tempdir");
    let dir = base.path().join("demo");
    let mut password = String::new();
    let mut acked: Vec<(u64, String)> = Vec::new();
    for round in 0..3 {
        let server = serve(&dir, &["--simulator-period-ms", "100000"]);
        let url = format!("http://{}", server.addr);
        let c = if round == 0 {
            password = "a long admin password".into();
            admin(&server).await
        } else {
            login(&url, "admin", &password).await.expect("login")
        };
        let c = Arc::new(c);
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for t in 0..4 {
            let c = c.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let detail = format!("r{round}-t{t}-n{i}");
                    let res = c
                        .http
                        .post(format!("{}/api/v1/sites/demo/device-events", c.base))
                        .header("cookie", &c.cookie)
                        .header("x-csrf-token", &c.csrf)
                        .json(&json!({"device": "front", "state": "open", "detail": detail}))
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status().as_u16() == 201 => {
                            if let Ok(v) = r.json::<serde_json::Value>().await
                                && let Some(seq) = v["seq"].as_u64()
                            {
                                mine.push((seq, detail));
                            }
                        }
                        _ => break,
                    }
                    i += 1;
                }
                mine
            }));
        }
        // Let clients append for a while, then kill the server mid-flight.
        let deadline = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut server = server;
        server.child.kill().expect("SIGKILL");
        let _ = server.child.wait();
        stop.store(true, Ordering::SeqCst);
        for t in tasks {
            acked.extend(t.await.expect("task"));
        }
    }
    assert!(acked.len() > 20, "clients appended: {}", acked.len());
    // Every acknowledged event is present with its content, and the journal verifies.
    let store = strongroom_store::Store::open(&format!("sqlite://{}", sqlite_file(&dir).display()))
        .await
        .expect("open");
    for (seq, detail) in &acked {
        let ev = store.events_after("demo", seq - 1, 1).await.expect("read");
        assert_eq!(
            ev.first().map(|e| e.seq),
            Some(*seq),
            "acknowledged event {seq} missing"
        );
        assert!(
            ev[0].payload.contains(detail.as_str()),
            "event {seq} has other content"
        );
    }
    store.close().await;
    let (code, out, err) = run(&["journal", "verify", "--dir", &path_str(&dir)]);
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_when_a_certificate_is_configured() {
    let base = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (base.path().join("cert.pem"), base.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !made.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIP: openssl is not available to make a test certificate");
        return;
    }
    let dir = base.path().join("demo");
    let server = serve(
        &dir,
        &[
            "--tls-cert",
            &path_str(&cert),
            "--tls-key",
            &path_str(&key),
            "--simulator-period-ms",
            "100000",
        ],
    );
    assert!(
        server.stdout_lines.iter().any(|l| l.contains("https://")),
        "{:?}",
        server.stdout_lines
    );
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("client");
    let res = http
        .get(format!("https://{}/healthz", server.addr))
        .send()
        .await
        .expect("https request");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000"),
        "HSTS over TLS"
    );
    // Plain HTTP on the TLS port gets no answer.
    assert!(
        reqwest::get(format!("http://{}/healthz", server.addr))
            .await
            .is_err()
    );
}
