//! Shared set-up for the alarm integration tests: a server on a temporary SQLite store, users and
//! logins, and the real peers (DC-09 dialler, webhook provider) started on 127.0.0.1.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use strongroom_domain::auth::Role;
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Clock, SystemClock};
use strongroom_journal::SiteKey;
use strongroom_server::state::{Settings, StartCtx};
use strongroom_server::{AppState, SiteRuntime};
use strongroom_store::journal_writer::JournalWriterConfig;
use strongroom_store::{JournalHandle, SiteRow, Store, migrate};

/// Where the peers live, or `None` (after printing SKIP) when they are absent.
pub struct Peers {
    pub dir: PathBuf,
    pub python: PathBuf,
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn peers() -> Option<Peers> {
    let dir = std::env::var_os("STRONGROOM_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/peers"));
    let python = std::env::var_os("STRONGROOM_PEERS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".peers-venv/bin/python"));
    if dir.join("dc09_sender.py").is_file() && python.is_file() {
        return Some(Peers { dir, python });
    }
    let msg = format!(
        "peers not found (dir {}, python {})",
        dir.display(),
        python.display()
    );
    assert!(
        std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() != Ok("1"),
        "{msg}"
    );
    println!("SKIP: {msg}");
    None
}

/// Polls `f` until it returns `Some` or the deadline passes.
pub async fn poll<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A peer process whose stdout JSON lines are collected; killed on drop.
pub struct PeerProc {
    child: Child,
    pub lines: Arc<Mutex<Vec<Value>>>,
}

impl PeerProc {
    pub fn spawn(p: &Peers, script: &str, args: &[&str]) -> PeerProc {
        let mut child = Command::new(&p.python)
            .arg(p.dir.join(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("peer starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("stdout");
        let l2 = lines.clone();
        std::thread::spawn(move || {
            // Threads of a peer may print concurrently ("{a}{b}\n\n"): read every JSON value.
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                for v in serde_json::Deserializer::from_str(&line)
                    .into_iter::<Value>()
                    .map_while(Result::ok)
                {
                    l2.lock().expect("lines").push(v);
                }
            }
        });
        PeerProc { child, lines }
    }

    pub fn snapshot(&self) -> Vec<Value> {
        self.lines.lock().expect("lines").clone()
    }
}

impl Drop for PeerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Twilio-style SMS/voice provider (`webhook_sink.py`) on a free port for `duration_s`
/// seconds; returns it and its port.
pub fn sms_provider(p: &Peers, duration_s: u32) -> (PeerProc, u16) {
    let port = free_port();
    let sink = PeerProc::spawn(
        p,
        "webhook_sink.py",
        &[
            "--port",
            &port.to_string(),
            "--duration",
            &duration_s.to_string(),
        ],
    );
    (sink, port)
}

/// A site file's `[notify.webhook]` for the provider on `port` and the site manager contact
/// (`manager`, +15550000001).
pub fn notify_manager_toml(port: u16) -> String {
    format!(
        r#"
[notify.webhook]
sms_url = "http://127.0.0.1:{port}/sms"
voice_url = "http://127.0.0.1:{port}/voice"
from = "+15550009999"

[[notify.contact]]
id = "manager"
name = "Security manager"
phone = "+15550000001"
"#
    )
}

/// Runs the my-dc09-spt dialler to completion; returns (exit ok, its output).
pub async fn dialler(p: &Peers, args: &[&str]) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(&p.python);
    cmd.arg(p.dir.join("dc09_sender.py"))
        .args(args)
        .kill_on_drop(true);
    match tokio::time::timeout(Duration::from_secs(20), cmd.output()).await {
        Ok(Ok(o)) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Ok(Err(e)) => (false, e.to_string()),
        Err(_) => (false, "dialler timed out".into()),
    }
}

/// A running server for one site.
pub struct Server {
    pub state: AppState,
    pub site: Arc<SiteRuntime>,
    pub store: Store,
    pub base: String,
    pub http: reqwest::Client,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    pub dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A logged-in user.
pub struct Login {
    pub cookie: String,
    pub csrf: String,
}

pub async fn start_store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
    let store = Store::open(&url).await.expect("store");
    migrate::run(&store, 1).await.expect("migrate");
    store
}

/// Starts a server for `toml` on `store` (a fresh one when `None`).
pub async fn server_on(toml: &str, dir: tempfile::TempDir, store: Store) -> Server {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = SiteConfig::parse("test.toml", toml).expect("site parses");
    let site_id = config.site.id.clone();
    let key_path = dir.path().join("site.key");
    let key = Arc::new(SiteKey::generate().expect("key"));
    let _ = key_path;
    if store.site(&site_id).await.expect("site row").is_none() {
        store
            .create_site(&SiteRow {
                id: site_id.clone(),
                name: config.site.name.clone(),
                jurisdiction: config.site.jurisdiction.to_string(),
                public_key: key.public_hex(),
                created_ms: clock.now_ms(),
            })
            .await
            .expect("site row");
    }
    let (journal, writer) = JournalHandle::start(
        store.clone(),
        &site_id,
        key.clone(),
        clock.clone(),
        JournalWriterConfig::default(),
    )
    .await
    .expect("journal");
    let site = Arc::new(SiteRuntime::new(config, journal, key, None));
    let state = AppState::new(store.clone(), clock, Settings::default());
    state.add_site(site.clone());
    let ctx = StartCtx {
        state: state.clone(),
        site: site.clone(),
        data_dir: dir.path().to_path_buf(),
    };
    let mut tasks = strongroom_server::start_subsystems(&ctx)
        .await
        .expect("subsystems start");
    tasks.push(writer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let addr = listener.local_addr().expect("addr");
    let app = strongroom_server::router(state.clone());
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    }));
    Server {
        state,
        site,
        store,
        base: format!("http://{addr}"),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client"),
        tasks,
        dir: Some(dir),
    }
}

pub async fn server(toml: &str) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = start_store(&dir).await;
    server_on(toml, dir, store).await
}

impl Server {
    /// Takes the data directory (to start the server again on it).
    pub fn take_dir(&mut self) -> tempfile::TempDir {
        self.dir.take().expect("dir")
    }

    /// Creates a user with `role` on the site and logs in.
    pub async fn user(&self, name: &str, role: Role) -> Login {
        let now = self.state.clock.now_ms();
        let (mut row, _) =
            strongroom_server::api::new_user(name, role, &self.site.id, now).expect("user");
        let password = "correct horse battery staple";
        row.password_hash = strongroom_server::passwords::hash_password(password).expect("hash");
        row.must_change_password = false;
        self.store.create_user(&row).await.expect("create user");
        let res = self
            .http
            .post(format!("{}/api/v1/login", self.base))
            .json(&serde_json::json!({"username": name, "password": password}))
            .send()
            .await
            .expect("login");
        assert!(res.status().is_success(), "login {name}: {}", res.status());
        let cookie = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.split(';')
                    .next()
                    .filter(|kv| kv.starts_with("sr_session="))
                    .map(str::to_owned)
            })
            .expect("session cookie");
        let body: Value = res.json().await.expect("login body");
        Login {
            cookie,
            csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1/sites/{}{}", self.base, self.site.id, path)
    }

    /// GET; returns (status, body).
    pub async fn get(&self, who: &Login, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .header("Cookie", &who.cookie)
            .send()
            .await
            .expect("GET");
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// POST with JSON; `csrf` chooses whether the token is sent.
    pub async fn post(&self, who: &Login, path: &str, body: Value, csrf: bool) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url(path))
            .header("Cookie", &who.cookie)
            .json(&body);
        if csrf {
            req = req.header("X-CSRF-Token", &who.csrf);
        }
        let r = req.send().await.expect("POST");
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Journal events of kinds starting with `prefix`, oldest first.
    pub async fn events(&self, prefix: &str) -> Vec<(String, Value)> {
        self.store
            .events_by_kind_and_time(&self.site.id, prefix, i64::MIN, i64::MAX)
            .await
            .expect("events")
            .into_iter()
            .map(|e| {
                (
                    e.kind,
                    serde_json::from_str(&e.payload).unwrap_or(Value::Null),
                )
            })
            .collect()
    }
}
