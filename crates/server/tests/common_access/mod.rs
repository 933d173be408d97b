//! A Strongroom server in the test process: a SQLite store in a temporary data directory, one site
//! with its journal writer and access runtime, the real router on 127.0.0.1:0, and logged-in HTTP
//! clients for users of any role.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use strongroom_domain::ManualClock;
use strongroom_domain::auth::Role;
use strongroom_domain::site::SiteConfig;
use strongroom_journal::SiteKey;
use strongroom_server::state::{Settings, StartCtx};
use strongroom_server::{AppState, SiteRuntime};
use strongroom_store::{JournalHandle, JournalWriterConfig, SiteRow, Store, migrate};
use tokio::task::JoinHandle;

/// Monday 2025-06-16 10:00 in Chicago (15:00 UTC).
pub const T0_MS: i64 = 1_750_086_000_000;

/// The test site: an Illinois dispensary with a barrier, a back of house, a two-person vault and a
/// surveillance room. `EXTRA` is appended (readers with OSDP links).
pub fn site_toml(id: &str, extra: &str) -> String {
    format!(
        r#"
[site]
id = "{id}"
name = "Test Dispensary"
license_number = "284.000999-TEST"
jurisdiction = "il-dispensary"
timezone = "America/Chicago"

[[area]]
id = "exterior"
name = "Exterior"
kind = "exterior"

[[area]]
id = "lobby"
name = "Lobby"
kind = "public"

[[area]]
id = "sales"
name = "Sales floor"
kind = "limited_access"
capacity = 10

[[area]]
id = "back"
name = "Back of house"
kind = "restricted_access"

[[area]]
id = "vault"
name = "Vault"
kind = "vault"
capacity = 4
anti_passback = true

[[area]]
id = "cctv"
name = "Surveillance room"
kind = "surveillance_room"

[[door]]
id = "barrier"
name = "Barrier"
from = "lobby"
to = "sales"
barrier = true

[[door]]
id = "sales-back"
name = "Sales to back"
from = "sales"
to = "back"

[[door]]
id = "vault-door"
name = "Vault door"
from = "back"
to = "vault"

[[door]]
id = "cctv-door"
name = "Surveillance room door"
from = "back"
to = "cctv"

[[reader]]
id = "r-barrier"
door = "barrier"
keypad = true

[[reader]]
id = "r-back"
door = "sales-back"
keypad = true

[[reader]]
id = "r-vault"
door = "vault-door"
keypad = true

[[reader]]
id = "r-vault-out"
door = "vault-door"
direction = "out"

[policy]
vault_dual_auth_window_s = 30
lockdown_roles = ["security-manager"]
{extra}
"#
    )
}

pub struct Server {
    pub base: String,
    pub state: AppState,
    pub site: Arc<SiteRuntime>,
    pub clock: ManualClock,
    pub dir: PathBuf,
    pub store: Store,
    pub key: Arc<SiteKey>,
    tasks: Vec<JoinHandle<()>>,
    _tmp: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Server {
    /// A fresh data directory and SQLite database, the site created, access control started.
    pub async fn start(site_text: &str) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", tmp.path().join("db.sqlite").display());
        let store = Store::open(&url).await.unwrap();
        Server::start_on(site_text, store, tmp).await
    }

    /// The same on PostgreSQL, in a schema of its own (drop it with `drop_schema`).
    pub async fn start_postgres(site_text: &str, url: &str, schema: &str) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open_in_schema(url, Some(schema)).await.unwrap();
        Server::start_on(site_text, store, tmp).await
    }

    async fn start_on(site_text: &str, store: Store, tmp: tempfile::TempDir) -> Server {
        let dir = tmp.path().to_owned();
        let config = SiteConfig::parse("test.toml", site_text).unwrap_or_else(|e| panic!("{e}"));
        migrate::run(&store, T0_MS).await.unwrap();
        let key = Arc::new(SiteKey::generate().unwrap());
        store
            .create_site(&SiteRow {
                id: config.site.id.clone(),
                name: config.site.name.clone(),
                jurisdiction: config.site.jurisdiction.as_str().into(),
                public_key: key.public_hex(),
                created_ms: T0_MS,
            })
            .await
            .unwrap();
        let mut s = Server::open(dir, store, key, config, T0_MS).await;
        s._tmp = Some(tmp);
        s
    }

    /// Starts the site on an existing data directory and database (a restart).
    pub async fn open(
        dir: PathBuf,
        store: Store,
        key: Arc<SiteKey>,
        config: SiteConfig,
        now_ms: i64,
    ) -> Server {
        let clock = ManualClock::new(now_ms);
        let (journal, writer) = JournalHandle::start(
            store.clone(),
            &config.site.id,
            key.clone(),
            Arc::new(clock.clone()),
            JournalWriterConfig::default(),
        )
        .await
        .unwrap();
        let site = Arc::new(SiteRuntime::new(config, journal, key.clone(), None));
        let state = AppState::new(
            store.clone(),
            Arc::new(clock.clone()),
            Settings {
                secure_cookies: false,
                ..Settings::default()
            },
        );
        state.add_site(site.clone());
        let ctx = StartCtx {
            state: state.clone(),
            site: site.clone(),
            data_dir: dir.clone(),
        };
        let mut tasks = strongroom_server::start_access_service(&ctx).await.unwrap();
        strongroom_server::reload::register(&ctx);
        tasks.push(writer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = strongroom_server::router(state.clone());
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        }));
        Server {
            base: format!("http://{addr}"),
            state,
            site,
            clock,
            dir,
            store,
            key,
            tasks,
            _tmp: None,
        }
    }

    /// Stops the HTTP server and background tasks and seals the journal (for a restart test).
    pub async fn stop(mut self) -> (PathBuf, Store, Arc<SiteKey>, Option<tempfile::TempDir>) {
        self.site.journal.shutdown().await.unwrap();
        for t in self.tasks.drain(..) {
            t.abort();
        }
        (
            self.dir.clone(),
            self.store.clone(),
            self.key.clone(),
            self._tmp.take(),
        )
    }

    pub fn site_id(&self) -> String {
        self.site.id.clone()
    }

    /// A user with `role` on this site, logged in.
    pub async fn client(&self, name: &str, role: Role) -> Client {
        let (mut user, password) =
            strongroom_server::api::new_user(name, role, &self.site.id, T0_MS).unwrap();
        user.must_change_password = false;
        self.store.create_user(&user).await.unwrap();
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let res = http
            .post(format!("{}/api/v1/login", self.base))
            .json(&json!({"username": name, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login {name}");
        let v: Value = res.json().await.unwrap();
        Client {
            http,
            base: self.base.clone(),
            csrf: v["csrf_token"].as_str().unwrap().to_owned(),
            site: self.site.id.clone(),
        }
    }

    /// Journal events of kinds starting with `prefix`, oldest first.
    pub async fn journal(&self, prefix: &str) -> Vec<Value> {
        let mut evs = self
            .store
            .recent_events(&self.site.id, Some(prefix), None, 10_000)
            .await
            .unwrap();
        evs.reverse();
        evs.iter().map(strongroom_server::api::event_json).collect()
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
    pub site: String,
}

impl Client {
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/api") {
            format!("{}{path}", self.base)
        } else {
            format!("{}/api/v1/sites/{}{path}", self.base, self.site)
        }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self.http.get(self.url(path)).send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// GET returning the raw body with its content type.
    pub async fn get_raw(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let res = self.http.get(self.url(path)).send().await.unwrap();
        let status = res.status();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, ct, res.bytes().await.unwrap().to_vec())
    }

    pub async fn send(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = self
            .http
            .request(m, self.url(path))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send("POST", path, body).await
    }

    /// POST that must succeed (2xx); returns the body.
    pub async fn ok(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.post(path, body).await;
        assert!(s.is_success(), "POST {path}: {s} {v}");
        v
    }

    /// Registers an agent authorised for `areas` (always).
    pub async fn agent(&self, id: &str, name: &str, areas: &[&str]) {
        self.ok(
            "/access/people",
            json!({"id": id, "category": "agent", "name": name, "roles": ["agent"], "agent_id": format!("IL-{id}")}),
        )
        .await;
        for a in areas {
            self.ok(
                &format!("/access/people/{id}/authorizations"),
                json!({"area": a, "schedule": {"type": "always"}}),
            )
            .await;
        }
    }

    /// Issues a credential; returns its id.
    pub async fn issue(&self, person: &str, body: Value) -> String {
        let v = self
            .ok(&format!("/access/people/{person}/credentials"), body)
            .await;
        v["credential"]["id"].as_str().unwrap().to_owned()
    }

    /// Presents at a reader.
    pub async fn present(&self, reader: &str, card: Option<&str>, pin: Option<&str>) -> Value {
        let (s, v) = self
            .post(
                "/access/requests",
                json!({"reader": reader, "card": card, "pin": pin}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }
}

/// Where the third-party peers are (see crates/osdp/tests/libosdp_peer.rs); `None` (and a SKIP
/// line) when they are missing, unless `STRONGROOM_REQUIRE_PEERS=1`.
pub struct Peers {
    pub python: PathBuf,
    pub script: PathBuf,
}

pub fn locate_peers() -> Option<Peers> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::var_os("STRONGROOM_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/peers"));
    let python = std::env::var_os("STRONGROOM_PEERS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".peers-venv/bin/python"));
    let script = dir.join("osdp_demo.py");
    let socat = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("socat"))
            .find(|p| p.is_file())
    });
    let reason = if !script.is_file() {
        Some(format!("{} not found", script.display()))
    } else if !python.is_file() {
        Some(format!("{} not found", python.display()))
    } else if socat.is_none() {
        Some("socat not installed".to_owned())
    } else {
        None
    };
    match reason {
        None => Some(Peers { python, script }),
        Some(r) => {
            assert!(
                std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() != Ok("1"),
                "peers required but missing: {r}"
            );
            println!("SKIP: {r}");
            None
        }
    }
}
