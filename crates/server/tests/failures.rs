//! Every failure reaches a person, every time: a camera of the camera simulator (camsim) fails
//! and comes back again and again, and each failure and each restore reaches the site manager by
//! SMS through the Twilio-style webhook provider (`webhook_sink.py`); recording resumes within
//! 2 s of the camera answering again (the gap in the index is the outage, not the back-off).
//!
//! Peers: camsim (Debian's python3 + GStreamer) and the peers venv; without them the test prints
//! `SKIP` and passes, unless `STRONGROOM_REQUIRE_PEERS=1`.
mod common_alarm;
mod common_camsim;

use std::time::{Duration, Instant};

use common_alarm::{notify_manager_toml, peers, poll, server, sms_provider};
use common_camsim::start_camsim;
use serde_json::Value;
use strongroom_domain::auth::Role;

/// SMS bodies the provider received for `to`.
fn sms_bodies(lines: &[Value], to: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["path"] == "/sms" && l["body"]["To"] == to)
        .filter_map(|l| l["body"]["Body"].as_str().map(str::to_owned))
        .collect()
}

const OUTAGES: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_camera_failure_and_restore_reaches_the_manager() {
    let Some(p) = peers() else { return };
    let Some(mut cs) = start_camsim() else { return };
    let (sink, sink_port) = sms_provider(&p, 120);
    let toml = format!(
        r#"
[site]
id = "fail-1"
name = "Failure Test"
license_number = "284.000999-FAIL"
jurisdiction = "il-dispensary"
timezone = "America/Chicago"
address = "1 Test St, Springfield, IL"

[[camera]]
id = "cam1"
name = "Vault camera"
rtsp_url = "{}"

{notify}
[[notify.chain]]
id = "failures"
applies_to = ["health.camera_down"]
step = [ {{ contact = "manager", channel = "sms", after_s = 0 }} ]
"#,
        cs.urls[0],
        notify = notify_manager_toml(sink_port),
    );
    let sv = server(&toml).await;
    let manager = "+15550000001";
    // Recording first: the camera's frames arrive.
    let mgr = sv.user("mgr", Role::SecurityManager).await;
    poll(Duration::from_secs(30), || async {
        let (_, cams) = sv.get(&mgr, "/video/cameras").await;
        (cams["cameras"][0]["state"] == "online").then_some(())
    })
    .await
    .expect("cam1 online");

    let mut down_ms = Vec::new();
    let mut restore_ms = Vec::new();
    let mut outages_ms = Vec::new();
    for i in 1..=OUTAGES {
        let closed = Instant::now();
        cs.control("close cam1");
        let got = poll(Duration::from_secs(10), || async {
            let bodies = sms_bodies(&sink.snapshot(), manager);
            (bodies.iter().filter(|b| !b.contains("RESTORED")).count() >= i).then_some(bodies)
        })
        .await
        .unwrap_or_else(|| panic!("failure {i} sent no SMS: {:?}", sink.snapshot()));
        down_ms.push(closed.elapsed().as_millis());
        let last = got.iter().rfind(|b| !b.contains("RESTORED")).expect("sms");
        assert!(last.contains("Vault camera"), "names the camera: {last}");
        assert!(
            last.contains("CST") || last.contains("CDT"),
            "site time: {last}"
        );
        if i == 1 {
            // The SMS's short code acknowledges the incident through the API (with who), once.
            let code = last
                .split("code ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .expect("an acknowledgment code")
                .to_owned();
            let (s, inc) = sv.get(&mgr, "/notify/incidents").await;
            assert_eq!(s, 200, "{inc}");
            assert!(
                inc["incidents"].as_array().is_some_and(|l| l
                    .iter()
                    .any(|x| x["code"] == code.as_str() && x["failure_ongoing"] == true)),
                "{inc}"
            );
            let ack = format!("/notify/incidents/{code}/ack");
            let (s, b) = sv.post(&mgr, &ack, serde_json::json!({}), true).await;
            assert_eq!(s, 200, "{b}");
            assert_eq!(b["by"], "user:mgr");
            let (s, _) = sv.post(&mgr, &ack, serde_json::json!({}), true).await;
            assert_eq!(s, 409, "acknowledged once");
            let (s, _) = sv
                .post(
                    &mgr,
                    "/notify/incidents/ZZZZZZ/ack",
                    serde_json::json!({}),
                    true,
                )
                .await;
            assert_eq!(s, 404);
            let acked = poll(Duration::from_secs(5), || async {
                sv.events("notify.acknowledged")
                    .await
                    .into_iter()
                    .find(|(_, p)| p["by"] == "user:mgr")
            })
            .await;
            assert!(acked.is_some(), "the acknowledgment is journaled");
        }
        if i == OUTAGES {
            // The last outage lasts 6 s, long enough for the reconnect back-off to reach its
            // cap: recording must still resume within 2 s of the camera answering.
            tokio::time::sleep_until((closed + Duration::from_secs(6)).into()).await;
        }
        let restored = Instant::now();
        cs.control("restore cam1");
        poll(Duration::from_secs(10), || async {
            let bodies = sms_bodies(&sink.snapshot(), manager);
            (bodies.iter().filter(|b| b.contains("RESTORED")).count() >= i).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("restore {i} sent no SMS: {:?}", sink.snapshot()));
        restore_ms.push(restored.elapsed().as_millis());
        outages_ms.push(i64::try_from((restored - closed).as_millis()).unwrap_or(i64::MAX));
    }
    eprintln!(
        "failure SMS after {down_ms:?} ms, restore SMS after {restore_ms:?} ms (from the camera's close / restore)"
    );

    // Each outage is one gap in the index, no longer than the outage plus 4 s (detection of the
    // close is immediate; reconnect within 2 s; the first key frame within 1 s).
    let gaps = poll(Duration::from_secs(15), || async {
        let g = gaps_of(&sv, "cam1").await;
        (g.len() >= OUTAGES).then_some(g)
    })
    .await
    .expect("one gap per outage");
    eprintln!("gaps (ms): {gaps:?}; outages (ms): {outages_ms:?}");
    for (gap, outage) in gaps.iter().zip(&outages_ms) {
        assert!(
            *gap <= outage + 4_000,
            "a {outage} ms outage left a {gap} ms gap"
        );
    }
    let bodies = sms_bodies(&sink.snapshot(), manager);
    assert_eq!(
        bodies.iter().filter(|b| !b.contains("RESTORED")).count(),
        OUTAGES,
        "one failure SMS per outage: {bodies:?}"
    );

    // The operating figures: scraped from /metrics, parsed by the Prometheus project's own
    // OpenMetrics parser, and read here.
    let text = scrape_metrics(&sv).await;
    check_with_prometheus_parser(&p.python, &text);
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
    };
    assert!(value("strongroom_journal_events{site=\"fail-1\"}") > 20.0);
    assert_eq!(
        value("strongroom_camera_up{site=\"fail-1\",camera=\"cam1\"}"),
        1.0
    );
    assert_eq!(
        value("strongroom_notify_outbox_pending{site=\"fail-1\"}"),
        0.0
    );
    assert!(value("strongroom_projection_lag_events{site=\"fail-1\"}") >= 0.0);
    let _ = value("strongroom_recorder_retained_frames{site=\"fail-1\",camera=\"cam1\"}");
    assert!(
        value(
            "strongroom_http_requests_total{method=\"GET\",route=\"/api/v1/sites/{site}/video/cameras\",status=\"200\"}"
        ) >= 1.0
    );
    assert!(
        text.contains("strongroom_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    if let Some(rt) = sv.site.alarm.get() {
        rt.shutdown().await;
    }
    if let Some(v) = sv.site.video.get() {
        v.stop_and_wait(Duration::from_secs(10)).await;
    }
}

/// Durations of `camera`'s gaps, in ms, oldest first.
async fn gaps_of(sv: &common_alarm::Server, camera: &str) -> Vec<i64> {
    use strongroom_video::index;
    let pool = sv.store.pool();
    let Ok(Some(id)) = index::camera_id(pool, camera).await else {
        return Vec::new();
    };
    index::gaps_in_range(pool, id, i64::MIN / 2, i64::MAX / 2)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|g| (g.end_90k - g.start_90k) / 90)
        .collect()
}

/// Guesses cannot lock the owner out, and a password spray reaches a person: an address that
/// guesses the administrator's password is held back (429) while the administrator, from a
/// clean address, logs in; an address failing on five accounts is journaled as a spray and the
/// chain for it sends the manager an SMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_do_not_lock_the_owner_out_and_a_spray_is_notified() {
    let Some(p) = peers() else { return };
    let (sink, sink_port) = sms_provider(&p, 60);
    let toml = format!(
        r#"
[site]
id = "auth-1"
name = "Login Test"
jurisdiction = "il-dispensary"
timezone = "America/Chicago"

{notify}
[[notify.chain]]
id = "security"
applies_to = ["auth.password_spray"]
step = [ {{ contact = "manager", channel = "sms", after_s = 0 }} ]
"#,
        notify = notify_manager_toml(sink_port),
    );
    let sv = server(&toml).await;
    let _ = sv.user("admin", Role::Admin).await;
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(Some(ip.parse().expect("ip")))
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    };
    let login = |c: reqwest::Client, user: &'static str, password: &'static str| {
        let url = format!("{}/api/v1/login", sv.base);
        async move {
            c.post(url)
                .json(&serde_json::json!({"username": user, "password": password}))
                .send()
                .await
                .expect("login")
                .status()
                .as_u16()
        }
    };
    let attacker = from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(login(attacker.clone(), "admin", "guess").await);
    }
    assert_eq!(&statuses[..5], &[403; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let owner = from("127.0.0.1");
    assert_eq!(
        login(owner, "admin", "correct horse battery staple").await,
        200,
        "the owner from a clean address gets in"
    );

    let sprayer = from("127.0.0.3");
    for user in ["alice", "bob", "carol", "dave", "erin"] {
        assert_eq!(login(sprayer.clone(), user, "Spring2026!").await, 403);
    }
    let spray = sv.events("auth.password_spray").await;
    assert_eq!(spray.len(), 1, "{spray:?}");
    assert_eq!(spray[0].1["client"], "127.0.0.3");
    let sms = poll(Duration::from_secs(20), || async {
        sms_bodies(&sink.snapshot(), "+15550000001")
            .into_iter()
            .find(|b| b.contains("password spray"))
    })
    .await;
    assert!(sms.is_some(), "no SMS for the spray: {:?}", sink.snapshot());
    if let Some(rt) = sv.site.alarm.get() {
        rt.shutdown().await;
    }
}

/// `GET /metrics` from the metrics application on its own listener.
async fn scrape_metrics(sv: &common_alarm::Server) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = strongroom_server::metrics::router(sv.state.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let res = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        res.headers()
    );
    let text = res.text().await.expect("body");
    task.abort();
    text
}

/// Parses `text` with `prometheus_client.openmetrics.parser` (PyPI `prometheus-client`).
fn check_with_prometheus_parser(python: &std::path::Path, text: &str) {
    use std::io::Write as _;
    let mut child = std::process::Command::new(python)
        .args([
            "-c",
            "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as p\nfams = list(p(sys.stdin.read()))\nprint(len(fams))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("parser");
    assert!(
        out.status.success(),
        "the OpenMetrics parser refuses /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let families: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(families >= 8, "{families} metric families");
}

/// A fact journaled while the alarm service was not running (as when the process stops between
/// journaling an access fact and the alarm follower handling it) still becomes an alarm when the
/// service starts again: the follower resumes from the position it saved, not from the head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fact_the_stopped_alarm_service_had_not_handled_becomes_an_alarm_after_restart() {
    use strongroom_domain::{Actor, Fact};
    let toml = r#"
[site]
id = "restart-1"
name = "Restart Test"
jurisdiction = "il-dispensary"
timezone = "America/Chicago"
"#;
    let sv = server(toml).await;
    // Let the follower see something and save where it is, then stop the service.
    let now =
        || i64::try_from(std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_millis())).unwrap_or(0);
    sv.site
        .journal
        .append_one(Fact::new("test.marker", Actor::System, now()))
        .await
        .expect("marker");
    let first = sv.site.alarm.take().expect("alarm service");
    first.stop_for_restart(Duration::from_secs(10)).await;
    drop(first);
    // The vault door is forced while alarms are down.
    let forced = sv
        .site
        .journal
        .append_one(
            Fact::new("door.forced", Actor::Device("vault-door".into()), now())
                .with("door", "vault-door")
                .with("area", "vault")
                .with("area_kind", "vault"),
        )
        .await
        .expect("door.forced");
    let ctx = strongroom_server::state::StartCtx {
        state: sv.state.clone(),
        site: sv.site.clone(),
        data_dir: sv.dir.as_ref().expect("data dir").path().to_path_buf(),
    };
    let _tasks = strongroom_server::start_alarm_service(&ctx, sv.site.config(), None)
        .await
        .expect("alarm service starts again");
    let raised = poll(Duration::from_secs(10), || async {
        sv.events("alarm.raised")
            .await
            .into_iter()
            .find(|(_, p)| p["source_seq"] == forced.seq)
    })
    .await
    .expect("the forced vault door became an alarm after the restart");
    assert_eq!(raised.1["alarm_type"], "door_forced");
    assert_eq!(raised.1["dispatch_required"], true);
    if let Some(rt) = sv.site.alarm.get() {
        rt.shutdown().await;
    }
}
