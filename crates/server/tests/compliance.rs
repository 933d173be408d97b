//! Compliance wired into the server, through the HTTP API: recording an inspection moves its
//! task's due date; a lapsed inspection interval (ManualClock) yields an ITM-01 failure and
//! journal facts; reports come back as PDF, HTML and CSV; a regulator can read reports but not
//! record anything (403 and `auth.permission_denied`); bad input changes nothing; an incident
//! requests a legal hold on the cameras covering its areas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use strongroom_domain::auth::Role;
use strongroom_domain::site::{DEMO_SITE_TOML, SiteConfig};
use strongroom_domain::{Clock, ManualClock};
use strongroom_journal::SiteKey;
use strongroom_server::state::{Settings, StartCtx};
use strongroom_server::{AppState, SiteRuntime};
use strongroom_store::{JournalHandle, SiteRow, Store, migrate};

const DAY_MS: i64 = 86_400_000;

struct Server {
    base: String,
    clock: ManualClock,
    store: Store,
    site: String,
    config: SiteConfig,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
}

struct User {
    cookie: String,
    csrf: String,
}

/// 2025-06-02 12:00 America/Chicago.
fn t0() -> i64 {
    let dt: jiff::civil::DateTime = "2025-06-02T12:00".parse().unwrap();
    dt.to_zoned(jiff::tz::TimeZone::get("America/Chicago").unwrap())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
    let store = Store::open(&url).await.unwrap();
    migrate::run(&store, 1).await.unwrap();
    // The demo site, with no fixed ports and cameras that refuse at once.
    let text = DEMO_SITE_TOML
        .replace("127.0.0.1:9009", "127.0.0.1:0")
        .replace("rtsp://127.0.0.1:8554/", "rtsp://127.0.0.1:1/");
    let config = SiteConfig::parse("test.toml", &text).unwrap();
    let site = config.site.id.clone();
    let key = Arc::new(SiteKey::generate().unwrap());
    store
        .create_site(&SiteRow {
            id: site.clone(),
            name: config.site.name.clone(),
            jurisdiction: config.site.jurisdiction.to_string(),
            public_key: key.public_hex(),
            created_ms: 1,
        })
        .await
        .unwrap();
    let clock = ManualClock::new(t0());
    let clock_dyn: Arc<dyn Clock> = Arc::new(clock.clone());
    let (journal, writer) = JournalHandle::start(
        store.clone(),
        &site,
        key.clone(),
        clock_dyn.clone(),
        Default::default(),
    )
    .await
    .unwrap();
    let rt = Arc::new(SiteRuntime::new(config.clone(), journal, key, None));
    // Sessions outlive the simulated months.
    let settings = Settings {
        session_ttl_ms: 400 * DAY_MS,
        ..Settings::default()
    };
    let state = AppState::new(store.clone(), clock_dyn, settings);
    state.add_site(rt.clone());
    let ctx = StartCtx {
        state: state.clone(),
        site: rt,
        data_dir: dir.path().to_path_buf(),
    };
    let mut tasks = strongroom_server::start_subsystems(&ctx).await.unwrap();
    tasks.push(writer);
    let app = strongroom_server::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    }));
    Server {
        base: format!("http://{addr}"),
        clock,
        store,
        site,
        config,
        http: reqwest::Client::new(),
        _dir: dir,
        _tasks: tasks,
    }
}

impl Server {
    async fn user(&self, name: &str, role: Role) -> User {
        let (mut row, password) =
            strongroom_server::api::new_user(name, role, &self.site, self.clock.now_ms()).unwrap();
        row.must_change_password = false;
        self.store.create_user(&row).await.unwrap();
        let res = self
            .http
            .post(format!("{}/api/v1/login", self.base))
            .json(&json!({"username": name, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("sr_session="))
            .and_then(|v| v.split(';').next())
            .unwrap()
            .to_owned();
        let body: Value = res.json().await.unwrap();
        User {
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/sites/{}/compliance{path}", self.base, self.site)
    }

    async fn get(&self, u: &User, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("cookie", &u.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn get_json(&self, u: &User, path: &str) -> Value {
        let res = self.get(u, path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    async fn post(&self, u: &User, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(self.url(path))
            .header("cookie", &u.cookie)
            .header("x-csrf-token", &u.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Events of a kind prefix, polled until `pred` holds or 10 s pass.
    async fn wait_events(
        &self,
        kind: &str,
        pred: impl Fn(&[strongroom_journal::JournalEvent]) -> bool,
    ) -> Vec<strongroom_journal::JournalEvent> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ev = self
                .store
                .recent_events(&self.site, Some(kind), None, 1000)
                .await
                .unwrap();
            if pred(&ev) || Instant::now() > deadline {
                return ev;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn payload(e: &strongroom_journal::JournalEvent) -> Value {
    serde_json::from_str(&e.payload).unwrap()
}

fn inspection_task<'a>(tasks: &'a Value, device: &str) -> &'a Value {
    tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "inspection" && t["subject"] == device)
        .unwrap_or_else(|| panic!("no inspection task for {device}: {tasks}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_an_inspection_moves_the_due_date() {
    let s = server().await;
    let officer = s.user("officer", Role::ComplianceOfficer).await;
    let cam = s.config.cameras[0].id.clone();
    let before = s.get_json(&officer, "/tasks").await;
    assert_eq!(before["today"], "2025-06-02");
    let t = inspection_task(&before, &cam);
    assert_eq!(
        t["due_local_date"], "2025-06-02",
        "never inspected: due today"
    );
    assert!(t["from_ms"].is_null());

    let (status, body) = s
        .post(
            &officer,
            "/inspections",
            json!({"device_id": cam, "passed": true, "notes": "image clear, IR ok"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let after = s.get_json(&officer, "/tasks").await;
    let t = inspection_task(&after, &cam);
    // IL: the earlier of one month and 30 days after 2 June.
    assert_eq!(t["due_local_date"], "2025-07-02");
    assert_eq!(t["state"], "open");
    assert_eq!(t["from_ms"], json!(t0()));
    // The fact is in the journal, with the officer as actor.
    let ev = s
        .wait_events("inspection.recorded", |e| !e.is_empty())
        .await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].actor, "user:officer");
    assert_eq!(payload(&ev[0])["device_id"], json!(cam));

    // Bad input: 400 and nothing recorded.
    let (status, body) = s
        .post(
            &officer,
            "/inspections",
            json!({"device_id": "nope", "passed": true}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "bad_request");
    let (status, _) = s
        .post(
            &officer,
            "/inspections",
            json!({"device_id": cam, "passed": "yes"}),
        )
        .await;
    assert_eq!(status, 400);
    let ev = s
        .store
        .recent_events(&s.site, Some("inspection.recorded"), None, 100)
        .await
        .unwrap();
    assert_eq!(ev.len(), 1, "bad requests recorded nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_inspection_interval_is_an_overdue_finding_and_a_fact() {
    let s = server().await;
    let officer = s.user("officer", Role::ComplianceOfficer).await;
    let devices: Vec<String> = {
        let v = s.get_json(&officer, "/inspections").await;
        v["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(devices.len() > 5);
    for d in &devices {
        let (status, body) = s
            .post(
                &officer,
                "/inspections",
                json!({"device_id": d, "passed": true}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let itm = |f: &Value| {
        f["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["requirement_id"] == "ITM-01")
            .cloned()
            .unwrap()
    };
    let f = s.get_json(&officer, "/findings").await;
    assert_eq!(itm(&f)["status"], "pass", "{}", itm(&f));
    assert_eq!(f["pack"]["id"], "il-dispensary");

    // 2 July is the last day on time; 3 July is overdue.
    s.clock.set_ms(t0() + 30 * DAY_MS);
    // The jump makes the recorder's health monitor (250 ms ticks) report the never-connected
    // cameras down, and those outages change the findings: wait for them to be journaled, so the
    // evaluations below compare like with like.
    let cameras = s.config.cameras.len();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let down = s
            .store
            .recent_events(&s.site, Some("health.camera_down"), None, 100)
            .await
            .unwrap()
            .len();
        if down >= cameras {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{down} of {cameras} cameras reported down"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let f = s.get_json(&officer, "/findings").await;
    assert_eq!(itm(&f)["status"], "pass", "due today is on time");
    s.clock.set_ms(t0() + 31 * DAY_MS);
    let (status, body) = s.post(&officer, "/evaluate", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["journaled"].as_u64().unwrap() > 0);
    let f = s.get_json(&officer, "/findings").await;
    let finding = itm(&f);
    assert_eq!(finding["status"], "fail");
    assert_eq!(
        f["journaled"], 0,
        "nothing changed since the last evaluation"
    );
    assert!(
        finding["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == devices[0].as_str()),
        "{finding}"
    );
    let tasks = s.get_json(&officer, "/tasks").await;
    let t = inspection_task(&tasks, &devices[0]);
    assert_eq!(t["state"], "overdue");
    assert_eq!(t["days_overdue"], 1);

    // The journal holds the change of status and one overdue fact per device, once.
    let findings = s
        .wait_events("compliance.finding", |e| {
            e.iter()
                .any(|x| payload(x)["requirement_id"] == "ITM-01" && payload(x)["status"] == "fail")
        })
        .await;
    let itm_facts: Vec<Value> = findings
        .iter()
        .map(payload)
        .filter(|p| p["requirement_id"] == "ITM-01")
        .collect();
    // Newest first: the lapse turned the last pass into a failure.
    assert!(itm_facts.len() >= 2, "{itm_facts:?}");
    assert_eq!(itm_facts[0]["status"], "fail", "{itm_facts:?}");
    assert_eq!(itm_facts[1]["status"], "pass", "{itm_facts:?}");
    let overdue = s.wait_events("task.overdue", |e| !e.is_empty()).await;
    let inspections: Vec<Value> = overdue
        .iter()
        .map(payload)
        .filter(|p| p["task_kind"] == "inspection")
        .collect();
    assert_eq!(inspections.len(), devices.len(), "{inspections:?}");
    assert!(
        inspections
            .iter()
            .all(|p| p["due_local_date"] == "2025-07-02" && p["days_overdue"] == 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_the_regulator() {
    let s = server().await;
    let officer = s.user("officer", Role::ComplianceOfficer).await;
    let regulator = s.user("regulator", Role::Regulator).await;
    for (format, ctype) in [
        ("pdf", "application/pdf"),
        ("html", "text/html; charset=utf-8"),
        ("csv", "text/csv; charset=utf-8"),
    ] {
        for report in [
            "compliance",
            "inspection-log",
            "vendors",
            "outage",
            "incident",
        ] {
            let res = s
                .get(&regulator, &format!("/reports/{report}?format={format}"))
                .await;
            assert_eq!(res.status(), 200, "{report} {format}");
            assert_eq!(res.headers()["content-type"], ctype, "{report} {format}");
            let body = res.bytes().await.unwrap();
            match format {
                "pdf" => assert!(body.starts_with(b"%PDF-"), "{report}"),
                "html" => assert!(String::from_utf8_lossy(&body).contains("<html"), "{report}"),
                _ => assert!(!body.is_empty()),
            }
        }
    }
    let html = s.get(&regulator, "/reports/compliance?format=html").await;
    let html = html.text().await.unwrap();
    assert!(
        html.contains("ITM-01") && html.contains("IL 1291.300"),
        "citations"
    );
    let res = s.get(&regulator, "/reports/compliance?format=docx").await;
    assert_eq!(res.status(), 400);
    let res = s.get(&regulator, "/reports/nonsense?format=pdf").await;
    assert_eq!(res.status(), 400);
    let generated = s.wait_events("report.generated", |e| e.len() >= 16).await;
    assert_eq!(generated.len(), 16, "one per report served");
    assert!(generated.iter().all(|e| e.actor == "user:regulator"));

    // The regulator reads but records nothing.
    let cam = s.config.cameras[0].id.clone();
    for (path, body) in [
        ("/inspections", json!({"device_id": cam, "passed": true})),
        ("/attestations", json!({"item": "sign", "in_place": true})),
        ("/incidents", json!({"kind": "theft", "description": "x"})),
        ("/evaluate", json!({})),
    ] {
        let (status, body) = s.post(&regulator, path, body).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let denied = s
        .wait_events("auth.permission_denied", |e| e.len() >= 4)
        .await;
    assert_eq!(denied.len(), 4);
    assert!(denied.iter().all(|e| e.actor == "user:regulator"
        && payload(e)["permission"] == "compliance-manage"));
    for kind in [
        "inspection.recorded",
        "attestation.recorded",
        "incident.opened",
    ] {
        let ev = s
            .store
            .recent_events(&s.site, Some(kind), None, 10)
            .await
            .unwrap();
        assert!(ev.is_empty(), "{kind} recorded for a regulator");
    }
    // Without the CSRF header the officer is refused too.
    let res = s
        .http
        .post(s.url("/inspections"))
        .header("cookie", &officer.cookie)
        .json(&json!({"device_id": cam, "passed": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestations_and_incidents() {
    let s = server().await;
    let officer = s.user("officer", Role::ComplianceOfficer).await;
    let items = s.get_json(&officer, "/attestations").await;
    let item = items["items"][0]["item"].as_str().unwrap().to_owned();
    let (status, body) = s
        .post(
            &officer,
            "/attestations",
            json!({"item": item, "subject": "site", "in_place": true, "values": {"width_in": "12.5"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["attestation"]["values_milli"]["width_in"], 12_500);
    let (status, _) = s
        .post(
            &officer,
            "/attestations",
            json!({"item": item, "in_place": true, "values": {"width_in": "wide"}}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = s
        .post(
            &officer,
            "/attestations",
            json!({"item": "moat", "in_place": true}),
        )
        .await;
    assert_eq!(status, 400);

    // An incident in an area asks for a hold on the cameras covering it.
    let cam = &s.config.cameras[0];
    let area = cam.covers_areas[0].clone();
    let (status, body) = s
        .post(
            &officer,
            "/incidents",
            json!({"kind": "theft", "description": "two boxes missing", "areas": [area]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(
        body["cameras"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == cam.id.as_str()),
        "{body}"
    );
    assert_eq!(body["hold_from_ms"], json!(t0() - 2 * 3_600_000));
    let holds = s.wait_events("video.hold_placed", |e| !e.is_empty()).await;
    let requested = s
        .store
        .recent_events(&s.site, Some("hold.requested"), None, 10)
        .await
        .unwrap();
    assert_eq!(
        holds.len() + requested.len(),
        1,
        "a hold is placed (or requested when video is not running)"
    );
    let (status, _) = s
        .post(
            &officer,
            &format!("/incidents/{id}"),
            json!({"close": true}),
        )
        .await;
    assert_eq!(status, 409, "not secured yet");
    let (status, body) = s
        .post(
            &officer,
            &format!("/incidents/{id}"),
            json!({"secured": true, "root_cause": "door propped",
                   "action": {"description": "fix closer", "owner": "ops", "due_local_date": "2025-06-09"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let tasks = s.get_json(&officer, "/tasks").await;
    let t = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "incident_action")
        .cloned()
        .unwrap();
    assert_eq!(t["due_local_date"], "2025-06-09");
    let res = s
        .get(&officer, &format!("/reports/incident?format=html&id={id}"))
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("door propped") && html.contains("fix closer"));

    // A law-enforcement case share: a time-limited link, every access journaled.
    let (status, body) = s
        .post(
            &officer,
            &format!("/incidents/{id}/shares"),
            json!({"recipient": "Det. Ruiz, Springfield PD", "ttl_hours": 24}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let link = format!("{}{}", s.base, body["url"].as_str().unwrap());
    let res = s.http.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-"));
    let accessed = s
        .wait_events("case_share.accessed", |e| !e.is_empty())
        .await;
    assert_eq!(accessed.len(), 1);
    assert_eq!(payload(&accessed[0])["incident_id"], json!(id));
    let wrong = format!(
        "{}/api/v1/sites/{}/compliance/shared/{}",
        s.base,
        s.site,
        "0".repeat(64)
    );
    assert_eq!(s.http.get(&wrong).send().await.unwrap().status(), 404);
    s.clock.advance_ms(25 * 3_600_000);
    assert_eq!(s.http.get(&link).send().await.unwrap().status(), 403);
    let refused = s.wait_events("case_share.refused", |e| !e.is_empty()).await;
    assert_eq!(payload(&refused[0])["reason"], "expired");
}
