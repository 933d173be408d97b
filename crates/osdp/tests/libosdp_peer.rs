//! Interoperability tests against a third-party PD: LibOSDP 3.2.9 (PyPI `libosdp`) driven by
//! `shared/peers/osdp_demo.py`, over a socat pty pair or TCP on 127.0.0.1.
//!
//! Peers are located with `STRONGROOM_PEERS_DIR` (default `<workspace>/../shared/peers`) and
//! `STRONGROOM_PEERS_PYTHON` (default `<workspace>/.peers-venv/bin/python`). When they are
//! missing the tests print `SKIP: <reason>` and pass, unless `STRONGROOM_REQUIRE_PEERS=1`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strongroom_osdp::cp::{
    ControlPanel, CpConfig, CpEvent, ReaderCommand, ReaderConfig, ReaderKey,
};
use strongroom_osdp::driver::{self, Driver};
use strongroom_osdp::message::{BuzzerCommand, LedCommand};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;

const ADDRESS: u8 = 101;
const KEY_HEX: &str = "A1B2C3D4E5F60718293A4B5C6D7E8F90";

struct Peers {
    python: PathBuf,
    script: PathBuf,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn locate_peers() -> Option<Peers> {
    let root = workspace_root();
    let dir = std::env::var_os("STRONGROOM_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/peers"));
    let python = std::env::var_os("STRONGROOM_PEERS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".peers-venv/bin/python"));
    let script = dir.join("osdp_demo.py");
    let socat = which("socat");
    let reason = if !script.is_file() {
        Some(format!("{} not found", script.display()))
    } else if !python.is_file() {
        Some(format!("{} not found", python.display()))
    } else if socat.is_none() {
        Some("socat not installed".to_string())
    } else {
        None
    };
    match reason {
        None => Some(Peers { python, script }),
        Some(r) => {
            if std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() == Ok("1") {
                panic!("peers required but missing: {r}");
            }
            println!("SKIP: {r}");
            None
        }
    }
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(bin))
            .find(|p| p.is_file())
    })
}

fn key() -> [u8; 16] {
    let mut k = [0u8; 16];
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(&KEY_HEX[2 * i..2 * i + 2], 16).unwrap();
    }
    k
}

fn unique_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "strongroom-osdp-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Child processes killed on drop, PD stdout lines collected.
struct Rig {
    children: Vec<Child>,
    pd_lines: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
}

impl Rig {
    async fn kill_pd(&mut self) {
        if let Some(pd) = self.children.last_mut() {
            let _ = pd.kill().await;
        }
    }

    fn pd_output(&self) -> Vec<String> {
        self.pd_lines.lock().unwrap().clone()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn collect_stdout(child: &mut Child, lines: Arc<Mutex<Vec<String>>>) {
    if let Some(out) = child.stdout.take() {
        tokio::spawn(async move {
            let mut rd = BufReader::new(out).lines();
            while let Ok(Some(l)) = rd.next_line().await {
                lines.lock().unwrap().push(l);
            }
        });
    }
}

fn pd_command(peers: &Peers, channel: &str, scbk_hex: &str, duration_s: u32) -> Command {
    let mut c = Command::new(&peers.python);
    c.arg(&peers.script)
        .arg("pd")
        .arg("--channel")
        .arg(channel)
        .arg("--address")
        .arg(ADDRESS.to_string())
        .arg("--scbk")
        .arg(scbk_hex)
        .arg("--card")
        .arg("123:4567")
        .arg("--pin")
        .arg("1234")
        .arg("--duration")
        .arg(duration_s.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    c
}

async fn wait_for_path(p: &Path, deadline: Instant) {
    while !p.exists() {
        assert!(Instant::now() < deadline, "{} did not appear", p.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// socat pty pair + LibOSDP PD on one end; returns the rig and the CP-side pty path.
async fn start_pty_rig(peers: &Peers, scbk_hex: &str, duration_s: u32) -> (Rig, PathBuf) {
    let dir = unique_dir();
    let pd_tty = dir.join("ttyPD");
    let cp_tty = dir.join("ttyCP");
    let socat = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", pd_tty.display()))
        .arg(format!("pty,raw,echo=0,link={}", cp_tty.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn socat");
    let deadline = Instant::now() + Duration::from_secs(5);
    wait_for_path(&pd_tty, deadline).await;
    wait_for_path(&cp_tty, deadline).await;
    let mut pd = pd_command(
        peers,
        &format!("pty:{}", pd_tty.display()),
        scbk_hex,
        duration_s,
    )
    .spawn()
    .expect("spawn PD");
    let lines = Arc::new(Mutex::new(Vec::new()));
    collect_stdout(&mut pd, lines.clone());
    (
        Rig {
            children: vec![socat, pd],
            pd_lines: lines,
            dir,
        },
        cp_tty,
    )
}

fn control_panel(key: [u8; 16]) -> ControlPanel {
    ControlPanel::new(
        CpConfig::default(),
        vec![ReaderConfig {
            address: ADDRESS,
            key: ReaderKey::Commissioned(key),
        }],
    )
    .unwrap()
}

/// Receive events until `stop` says so or the deadline passes; returns all events seen.
async fn events_until(
    driver: &mut Driver,
    deadline: Instant,
    seen: &mut Vec<CpEvent>,
    mut stop: impl FnMut(&[CpEvent]) -> bool,
) -> bool {
    loop {
        if stop(seen) {
            return true;
        }
        match tokio::time::timeout_at(deadline, driver.events.recv()).await {
            Ok(Some(ev)) => {
                println!("event: {ev:?}");
                seen.push(ev);
            }
            Ok(None) | Err(_) => return stop(seen),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libosdp_pd_secure_card_keypad_led_buzzer_over_pty() {
    let Some(peers) = locate_peers() else { return };
    let (mut rig, cp_tty) = start_pty_rig(&peers, KEY_HEX, 10).await;
    let tty = driver::open_tty(&cp_tty).expect("open CP pty");
    let mut drv = driver::spawn(tty, control_panel(key()));
    let mut seen = Vec::new();
    let t0 = Instant::now();
    let ok = events_until(&mut drv, t0 + Duration::from_secs(12), &mut seen, |s| {
        s.iter().any(|e| matches!(e, CpEvent::CardRead { .. }))
            && s.iter().any(|e| matches!(e, CpEvent::Keypad { .. }))
    })
    .await;
    assert!(ok, "no card read and keypad from LibOSDP PD: {seen:?}");
    assert!(seen.contains(&CpEvent::ReaderOnline { address: ADDRESS }));
    assert!(seen.contains(&CpEvent::SecureChannelUp {
        address: ADDRESS,
        install_key: false
    }));
    let card = seen
        .iter()
        .find_map(|e| match e {
            CpEvent::CardRead {
                bit_count,
                wiegand26,
                secure,
                ..
            } => Some((*bit_count, *wiegand26, *secure)),
            _ => None,
        })
        .unwrap();
    assert_eq!(card.0, 26);
    let w = card.1.expect("26-bit Wiegand decoded");
    assert_eq!((w.facility, w.number, w.parity_ok), (123, 4567, true));
    assert!(card.2, "card read must arrive inside the Secure Channel");
    assert!(seen.contains(&CpEvent::Keypad {
        address: ADDRESS,
        reader: 0,
        digits: "1234#".into(),
        secure: true
    }));

    let led_sent = Instant::now();
    drv.handle
        .send(ADDRESS, ReaderCommand::Led(LedCommand::grant()))
        .await
        .unwrap();
    drv.handle
        .send(ADDRESS, ReaderCommand::Buzzer(BuzzerCommand::beep()))
        .await
        .unwrap();
    let acked = |s: &[CpEvent], k| {
        s.iter()
            .any(|e| matches!(e, CpEvent::CommandAcked { command, .. } if *command == k))
    };
    let ok = events_until(
        &mut drv,
        Instant::now() + Duration::from_secs(3),
        &mut seen,
        |s| {
            acked(s, strongroom_osdp::cp::CommandKind::Led)
                && acked(s, strongroom_osdp::cp::CommandKind::Buzzer)
        },
    )
    .await;
    assert!(ok, "LED and buzzer not acknowledged: {seen:?}");
    println!(
        "LED+buzzer submitted → both ACKed by LibOSDP: {:?}",
        led_sent.elapsed()
    );
    // The PD's own log of what it received.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let out = rig.pd_output();
        let led = out
            .iter()
            .any(|l| l.contains("pd_got_command") && l.contains("\"led_number\""));
        let buz = out
            .iter()
            .any(|l| l.contains("pd_got_command") && l.contains("\"rep_count\""));
        if led && buz {
            let led_line = out.iter().find(|l| l.contains("\"led_number\"")).unwrap();
            println!("PD saw: {led_line}");
            assert!(
                led_line.contains("\"temp_on_color\": 2") || led_line.contains("\"on_color\": 2"),
                "LED colour should be green: {led_line}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "PD did not report LED+buzzer: {out:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, CpEvent::SecureChannelDown { .. })),
        "secure channel must stay up: {seen:?}"
    );
    rig.kill_pd().await;
    drv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libosdp_pd_with_wrong_key_gives_clear_failure_over_tcp() {
    let Some(peers) = locate_peers() else { return };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut pd = pd_command(&peers, &format!("tcp-listen:127.0.0.1:{port}"), KEY_HEX, 8)
        .spawn()
        .expect("spawn PD");
    let lines = Arc::new(Mutex::new(Vec::new()));
    collect_stdout(&mut pd, lines.clone());
    let _rig = Rig {
        children: vec![pd],
        pd_lines: lines,
        dir: unique_dir(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "PD never listened: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    stream.set_nodelay(true).unwrap();
    let mut wrong = key();
    wrong[0] ^= 0xFF;
    let mut drv = driver::spawn(stream, control_panel(wrong));
    let mut seen = Vec::new();
    let ok = events_until(
        &mut drv,
        Instant::now() + Duration::from_secs(8),
        &mut seen,
        |s| {
            s.iter()
                .any(|e| matches!(e, CpEvent::SecureChannelFailed { .. }))
        },
    )
    .await;
    assert!(ok, "no SecureChannelFailed with a wrong key: {seen:?}");
    let reason = seen
        .iter()
        .find_map(|e| match e {
            CpEvent::SecureChannelFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("cryptogram"), "reason: {reason}");
    // Keep going a little: the reader stays online in clear, never secure, no card accepted.
    events_until(
        &mut drv,
        Instant::now() + Duration::from_millis(1500),
        &mut seen,
        |_| false,
    )
    .await;
    assert!(seen.contains(&CpEvent::ReaderOnline { address: ADDRESS }));
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, CpEvent::SecureChannelUp { .. }))
    );
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, CpEvent::CardRead { secure: true, .. }))
    );
    let end = drv.shutdown().await;
    println!("driver ended with {end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libosdp_pd_going_away_is_reported_offline() {
    let Some(peers) = locate_peers() else { return };
    let (mut rig, cp_tty) = start_pty_rig(&peers, KEY_HEX, 10).await;
    let tty = driver::open_tty(&cp_tty).expect("open CP pty");
    let mut drv = driver::spawn(tty, control_panel(key()));
    let mut seen = Vec::new();
    let ok = events_until(
        &mut drv,
        Instant::now() + Duration::from_secs(12),
        &mut seen,
        |s| {
            s.iter()
                .any(|e| matches!(e, CpEvent::SecureChannelUp { .. }))
        },
    )
    .await;
    assert!(ok, "secure channel never came up: {seen:?}");
    rig.kill_pd().await;
    let killed_at = Instant::now();
    let ok = events_until(
        &mut drv,
        killed_at + Duration::from_secs(3),
        &mut seen,
        |s| {
            s.contains(&CpEvent::ReaderOffline { address: ADDRESS })
                && s.iter()
                    .any(|e| matches!(e, CpEvent::SecureChannelDown { .. }))
        },
    )
    .await;
    assert!(
        ok,
        "no offline + secure-channel-down events within 3 s: {seen:?}"
    );
    println!("offline after {:?}", killed_at.elapsed());
    assert!(
        seen.iter()
            .any(|e| matches!(e, CpEvent::SecureChannelDown { .. })),
        "losing the reader must also report the secure channel down: {seen:?}"
    );
    // socat may have ended with the PD (the pty then fails): either way the driver stops cleanly.
    let end = drv.shutdown().await;
    println!("driver ended with {end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libosdp_pd_commissioned_with_keyset_then_rekeyed() {
    let Some(peers) = locate_peers() else { return };
    let (mut rig, cp_tty) = start_pty_rig(&peers, KEY_HEX, 10).await;
    let tty = driver::open_tty(&cp_tty).expect("open CP pty");
    let mut drv = driver::spawn(tty, control_panel(key()));
    let mut seen = Vec::new();
    let up = |s: &[CpEvent]| {
        s.iter()
            .filter(|e| matches!(e, CpEvent::SecureChannelUp { .. }))
            .count()
    };
    let ok = events_until(
        &mut drv,
        Instant::now() + Duration::from_secs(12),
        &mut seen,
        |s| up(s) >= 1,
    )
    .await;
    assert!(ok, "secure channel never came up: {seen:?}");
    let new_key = [0xC3u8; 16];
    drv.handle
        .send(ADDRESS, ReaderCommand::SetKey(new_key))
        .await
        .unwrap();
    let ok = events_until(
        &mut drv,
        Instant::now() + Duration::from_secs(4),
        &mut seen,
        |s| s.contains(&CpEvent::KeyChanged { address: ADDRESS }) && up(s) >= 2,
    )
    .await;
    assert!(
        ok,
        "LibOSDP PD did not accept KEYSET and a new session: {seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, CpEvent::SecureChannelFailed { .. })),
        "{seen:?}"
    );
    // The new session works: LED round trip under the new key.
    drv.handle
        .send(ADDRESS, ReaderCommand::Led(LedCommand::deny()))
        .await
        .unwrap();
    let ok = events_until(
        &mut drv,
        Instant::now() + Duration::from_secs(3),
        &mut seen,
        |s| {
            s.contains(&CpEvent::CommandAcked {
                address: ADDRESS,
                command: strongroom_osdp::cp::CommandKind::Led,
            })
        },
    )
    .await;
    assert!(ok, "LED not acknowledged under the new key: {seen:?}");
    let out = rig.pd_output();
    assert!(
        out.iter()
            .any(|l| l.contains("pd_got_command") && l.contains(&"c3".repeat(16))),
        "PD did not log the new key: {out:?}"
    );
    rig.kill_pd().await;
    let _ = drv.shutdown().await;
}
