//! Helpers for tests that run the `strongroom` binary: start `serve` on a free port, log in, call
//! the API with the session cookie and CSRF token.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_strongroom")
}

/// A running `strongroom serve`.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub admin_password: Option<String>,
    pub stdout_lines: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `strongroom serve --dir DIR` on 127.0.0.1:0 and waits (with a deadline) until it
/// answers /healthz.
pub fn serve(dir: &Path, extra: &[&str]) -> Server {
    let addr_file = dir.with_extension("addr");
    let _ = std::fs::remove_file(&addr_file);
    let mut child = Command::new(bin())
        .args(["serve", "--dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "--addr-file"])
        .arg(&addr_file)
        .args(extra)
        .env("STRONGROOM_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn strongroom serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    loop {
        while let Ok(l) = rx.try_recv() {
            lines.push(l);
        }
        if lines.iter().any(|l| l.contains("console:")) && addr_file.exists() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("strongroom serve exited early with {status}; output: {lines:?}");
        }
        assert!(
            Instant::now() < deadline,
            "server did not start in time; output: {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let addr = std::fs::read_to_string(&addr_file).expect("addr file");
    let admin_password = lines
        .iter()
        .find_map(|l| l.split("one-time password ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned);
    std::thread::spawn(move || while rx.recv().is_ok() {});
    Server {
        child,
        addr,
        admin_password,
        stdout_lines: lines,
    }
}

/// A logged-in API client.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

pub async fn login(base: &str, user: &str, password: &str) -> Result<Client, (u16, String)> {
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .map_err(|e| (0, e.to_string()))?;
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let body: serde_json::Value = res.json().await.map_err(|e| (status, e.to_string()))?;
    if status != 200 {
        return Err((status, body.to_string()));
    }
    let csrf = body["csrf_token"].as_str().unwrap_or_default().to_owned();
    Ok(Client {
        base: base.to_owned(),
        http,
        cookie,
        csrf,
    })
}

impl Client {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// Logs in as admin with the one-time password and sets a permanent one.
pub async fn admin(server: &Server) -> Client {
    let base = format!("http://{}", server.addr);
    let otp = server
        .admin_password
        .clone()
        .expect("first start prints the admin password");
    let c = login(&base, "admin", &otp).await.expect("admin login");
    let (s, _) = c
        .post(
            "/api/v1/me/password",
            serde_json::json!({"current_password": otp, "new_password": "a long admin password"}),
        )
        .await;
    assert_eq!(s, 204);
    c
}

/// Runs the binary with arguments; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .env("STRONGROOM_LOG", "warn")
        .output()
        .expect("run strongroom");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

pub fn sqlite_file(dir: &Path) -> PathBuf {
    dir.join("db").join("strongroom.sqlite")
}
