//! Interop tests against third-party DC-09 implementations:
//! - `panel_*`: the my-dc09-spt dialler (`dc09_sender.py`) → our [`Receiver`];
//! - `central_*`: our [`Sender`] → the pysiaalarm central station (`dc09_receiver.py`).
//!
//! Each test prints `SKIP: …` and passes when the peers are absent, unless
//! `STRONGROOM_REQUIRE_PEERS=1`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{MemorySink, PeerProc, Peers, free_port, free_udp_port, peers, poll_blocking};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use strongroom_sia::clock::{ManualClock, SystemClock};
use strongroom_sia::engine::{AccountPolicy, Rejection};
use strongroom_sia::queue::{AttemptOutcome, MemoryQueue, MemoryRecorder, OutboundQueue, PathKind};
use strongroom_sia::receiver::{Receiver, ReceiverConfig};
use strongroom_sia::sender::{Sender, SenderConfig, Transport};
use strongroom_sia::{AesKey, AlarmSignal, Protocol, Qualifier};
use tokio::runtime::Runtime;

const KEY16: &str = "0123456789ABCDEF";
const KEY32_HEX: &str = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";
const PEER_TIMEOUT: Duration = Duration::from_secs(20);

fn rt() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn key16() -> Option<AesKey> {
    Some(AesKey::from_ascii(KEY16).expect("key"))
}

fn acct(account: &str, key: Option<AesKey>) -> AccountPolicy {
    AccountPolicy {
        account: account.into(),
        key,
        supervision_interval_s: None,
    }
}

struct Rx {
    rt: Runtime,
    rx: Option<Receiver>,
    sink: Arc<MemorySink>,
}

impl Rx {
    fn start(accounts: Vec<AccountPolicy>) -> Self {
        let rt = rt();
        let sink = Arc::new(MemorySink::default());
        let cfg = ReceiverConfig {
            tcp_addr: Some("127.0.0.1:0".parse().expect("addr")),
            udp_addr: Some("127.0.0.1:0".parse().expect("addr")),
            accounts,
            ..ReceiverConfig::default()
        };
        let rx = rt
            .block_on(Receiver::start(cfg, sink.clone(), Arc::new(SystemClock)))
            .expect("receiver");
        Self {
            rt,
            rx: Some(rx),
            sink,
        }
    }
    fn rx(&self) -> &Receiver {
        self.rx.as_ref().expect("running")
    }
    fn tcp_port(&self) -> String {
        self.rx().tcp_addr().expect("tcp").port().to_string()
    }
    fn udp_port(&self) -> String {
        self.rx().udp_addr().expect("udp").port().to_string()
    }
}

impl Drop for Rx {
    fn drop(&mut self) {
        if let Some(rx) = self.rx.take() {
            self.rt.block_on(rx.shutdown());
        }
    }
}

/// Run the panel against our receiver's `port` to completion; `args` is the rest of its command
/// line, split on whitespace. Returns (exit ok, its JSON lines, its whole output).
fn panel(p: &Peers, port: &str, args: &str) -> (bool, Vec<Value>, String) {
    let mut argv = vec!["--port", port];
    argv.extend(args.split_whitespace());
    let mut proc = PeerProc::spawn(p, "dc09_sender.py", &argv);
    let st = proc.wait_exit(PEER_TIMEOUT).expect("panel exits in time");
    (st.success(), proc.json_lines(), proc.dump())
}

fn wire_rx(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|l| l["wire"].as_array().cloned().unwrap_or_default())
        .filter(|w| w["dir"] == "rx")
        .filter_map(|w| w["bytes"].as_str().map(String::from))
        .collect()
}

#[test]
fn panel_contact_id_plain_tcp() {
    let Some(p) = peers() else { return };
    let r = Rx::start(vec![acct("1234", None)]);
    let port = r.tcp_port();
    let (ok, lines, dump) = panel(
        &p,
        &port,
        "--account 1234 --code 130 --zone 3 --area 1 --seq 11 --count 2 --interval 0",
    );
    assert!(ok, "{dump}");
    assert_eq!(
        lines.iter().filter(|l| l["acked"] == true).count(),
        2,
        "{dump}"
    );
    let s = r.sink.signals();
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(
        (
            s[0].code.as_str(),
            s[0].zone,
            s[0].partition,
            s[0].qualifier
        ),
        ("130", Some(3), Some(1), Qualifier::New)
    );
    assert_eq!((s[0].seq, s[1].seq), (11, 12));
    assert!(!s[0].encrypted);
    assert!(s[0].received_at.is_some());
    assert!(
        wire_rx(&lines)
            .iter()
            .all(|b| b.contains("\"ACK\"0011") || b.contains("\"ACK\"0012")),
        "{dump}"
    );
}

#[test]
fn panel_contact_id_aes128_tcp() {
    let Some(p) = peers() else { return };
    let r = Rx::start(vec![acct("5678", key16())]);
    let port = r.tcp_port();
    let (ok, lines, dump) = panel(
        &p,
        &port,
        &format!(
            "--account 5678 --code 401 --user 7 --area 2 --qualifier 3 --key {KEY16} --seq 21"
        ),
    );
    assert!(ok, "{dump}");
    let s = r.sink.signals();
    assert_eq!(s.len(), 1, "{dump}");
    assert_eq!(
        (
            s[0].code.as_str(),
            s[0].user,
            s[0].zone,
            s[0].partition,
            s[0].qualifier
        ),
        ("401", Some(7), None, Some(2), Qualifier::Restore)
    );
    assert!(s[0].encrypted);
    let ev_time = s[0].event_time.expect("encrypted frames carry a timestamp");
    assert!(Timestamp::now().duration_since(ev_time).abs() < SignedDuration::from_secs(10));
    assert!(wire_rx(&lines)[0].contains("\"*ACK\"0021"), "{dump}");
}

#[test]
fn panel_sia_dcs_plain_tcp() {
    let Some(p) = peers() else { return };
    let r = Rx::start(vec![acct("1234", None)]);
    let port = r.tcp_port();
    let (ok, _, dump) = panel(
        &p,
        &port,
        "--account 1234 --code BA --zone 5 --area 2 --seq 31",
    );
    assert!(ok, "{dump}");
    let s = r.sink.signals();
    assert_eq!(s.len(), 1, "{dump}");
    assert_eq!(
        (s[0].protocol, s[0].code.as_str(), s[0].zone, s[0].partition),
        (Protocol::SiaDcs, "BA", Some(5), Some(2))
    );
}

#[test]
fn panel_sia_dcs_aes256_udp() {
    let Some(p) = peers() else { return };
    let r = Rx::start(vec![acct(
        "9ABC",
        Some(AesKey::from_hex(KEY32_HEX).expect("key")),
    )]);
    let port = r.udp_port();
    let (ok, lines, dump) = panel(
        &p,
        &port,
        &format!("--proto udp --account 9ABC --code FA --zone 12 --key-hex {KEY32_HEX} --seq 41"),
    );
    assert!(ok, "{dump}");
    let s = r.sink.signals();
    assert_eq!(s.len(), 1, "{dump}");
    assert_eq!(
        (s[0].code.as_str(), s[0].zone, s[0].encrypted),
        ("FA", Some(12), true)
    );
    assert!(wire_rx(&lines)[0].contains("\"*ACK\"0041"), "{dump}");
}

#[test]
fn panel_null_link_test_plain_and_encrypted() {
    let Some(p) = peers() else { return };
    let r = Rx::start(vec![acct("1234", None), acct("5678", key16())]);
    let port = r.tcp_port();
    let (ok, _, dump) = panel(&p, &port, "--account 1234 --null");
    assert!(ok, "{dump}");
    let (ok, _, dump) = panel(&p, &port, &format!("--account 5678 --null --key {KEY16}"));
    assert!(ok, "{dump}");
    assert_eq!(r.rx().stats().link_tests.load(Ordering::Relaxed), 2);
    assert!(r.sink.signals().is_empty());
}

#[test]
fn panel_clock_skew_is_naked_then_corrected() {
    let Some(p) = peers() else { return };
    let r = Rx::start(vec![acct("5678", key16())]);
    let port = r.tcp_port();
    // Panel clock 120 s fast: we NAK with our time, the panel corrects and resends on the same
    // connection (my-dc09-spt then raises although it was ACKed: a known peer bug).
    let (_, lines, dump) = panel(
        &p,
        &port,
        &format!("--account 5678 --code 130 --zone 1 --key {KEY16} --clock-offset 120 --seq 51"),
    );
    let rx = wire_rx(&lines);
    assert!(rx.iter().any(|b| b.contains("\"NAK\"0000")), "{dump}");
    assert!(lines.iter().any(|l| l["acked"] == true), "{dump}");
    assert!(
        r.rx()
            .recent_rejections()
            .iter()
            .any(|j| matches!(j, Rejection::Future { .. }))
    );
    assert_eq!(r.sink.signals().len(), 1);
    // Stale: 120 s slow
    let (_, lines, dump) = panel(
        &p,
        &port,
        &format!("--account 5678 --code 130 --zone 2 --key {KEY16} --clock-offset -120 --seq 52"),
    );
    assert!(lines.iter().any(|l| l["acked"] == true), "{dump}");
    assert!(
        r.rx()
            .recent_rejections()
            .iter()
            .any(|j| matches!(j, Rejection::Stale { .. }))
    );
    assert_eq!(r.sink.signals().len(), 2);
}

#[test]
fn panel_rejections_wrong_key_plain_for_keyed_unknown_account_unknown_code() {
    let Some(p) = peers() else { return };
    let r = Rx::start(vec![acct("5678", key16()), acct("1234", None)]);
    let port = r.tcp_port();
    type Case<'a> = (&'a str, fn(&Rejection) -> bool, &'a str);
    let cases: [Case; 4] = [
        (
            "--account 5678 --code 130 --key FEDCBA9876543210",
            |j| matches!(j, Rejection::Decrypt { .. }),
            "NAK",
        ),
        (
            "--account 5678 --code 130",
            |j| matches!(j, Rejection::PlainForKeyedAccount(_)),
            "NAK",
        ),
        (
            "--account 4321 --code 130",
            |j| matches!(j, Rejection::UnknownAccount(_)),
            "NAK",
        ),
        (
            "--account 1234 --code 999",
            |j| matches!(j, Rejection::NotUnderstood(_)),
            "DUH",
        ),
    ];
    for (i, (args, check, reply)) in cases.iter().enumerate() {
        let (ok, lines, dump) = panel(&p, &port, &format!("--seq 61 {args}"));
        assert!(!ok, "case {i} must not be acked: {dump}");
        assert!(
            wire_rx(&lines)
                .iter()
                .any(|b| b.contains(&format!("\"{reply}\""))),
            "case {i}: {dump}"
        );
        assert!(
            r.rx().recent_rejections().iter().any(check),
            "case {i}: {:?}",
            r.rx().recent_rejections()
        );
    }
    assert!(r.sink.signals().is_empty());
}

#[test]
fn panel_sink_failure_naks_then_retry_delivers_once() {
    let Some(p) = peers() else { return };
    let r = Rx::start(vec![acct("1234", None)]);
    let port = r.tcp_port();
    r.sink.fail.store(true, Ordering::SeqCst);
    let args = "--account 1234 --code 120 --zone 4 --seq 71";
    let (ok, lines, dump) = panel(&p, &port, args);
    assert!(!ok, "{dump}");
    assert!(
        wire_rx(&lines).iter().all(|b| b.contains("\"NAK\"")),
        "{dump}"
    );
    assert!(r.sink.signals().is_empty());
    r.sink.fail.store(false, Ordering::SeqCst);
    let (ok, _, dump) = panel(&p, &port, args);
    assert!(ok, "{dump}");
    // the same frame again (ACK lost, say): ACKed, not delivered twice
    let (ok, _, dump) = panel(&p, &port, args);
    assert!(ok, "{dump}");
    assert_eq!(r.sink.signals().len(), 1);
    assert_eq!(r.rx().stats().duplicates.load(Ordering::Relaxed), 1);
}

// ---------------------------------------------------------------- our sender → pysiaalarm

struct Central {
    proc: PeerProc,
    addr: SocketAddr,
}

fn central(p: &Peers, udp: bool, accounts: &[&str]) -> Central {
    let port = if udp { free_udp_port() } else { free_port() };
    let port_s = port.to_string();
    let mut args = vec![
        "--port",
        port_s.as_str(),
        "--duration",
        "25",
        "--proto",
        if udp { "udp" } else { "tcp" },
    ];
    for a in accounts {
        args.push("--account");
        args.push(a);
    }
    let mut proc = PeerProc::spawn(p, "dc09_receiver.py", &args);
    let up = proc.wait_json(PEER_TIMEOUT, |v| v.get("listening").is_some());
    assert!(
        up.is_some(),
        "central station did not start: {}",
        proc.dump()
    );
    Central {
        proc,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

struct Tx {
    rt: Runtime,
    queue: Arc<MemoryQueue>,
    rec: Arc<MemoryRecorder>,
    stop: tokio::sync::watch::Sender<bool>,
    handle: strongroom_sia::sender::SenderHandle<MemoryQueue>,
}

fn sender(cfg: SenderConfig, clock: Arc<ManualClock>) -> Tx {
    let rt = rt();
    let queue = Arc::new(MemoryQueue::new());
    let rec = Arc::new(MemoryRecorder::default());
    let s = Sender::new(cfg, queue.clone(), rec.clone(), clock);
    let handle = s.handle();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    rt.spawn(s.run(stop_rx));
    Tx {
        rt,
        queue,
        rec,
        stop,
        handle,
    }
}

/// A clock frozen at the current time: enough for tests that last seconds.
fn system_like() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::now()))
}

impl Tx {
    fn send(&self, s: AlarmSignal) {
        self.rt
            .block_on(self.handle.enqueue(s, Timestamp::now()))
            .expect("enqueue");
    }
    /// Wait (bounded) until `n` attempts have been ACKed; panics with the attempts and the
    /// central station's output otherwise.
    fn expect_acks(&self, n: usize, c: &Central) {
        let acked = poll_blocking(PEER_TIMEOUT, || {
            self.rec
                .records()
                .iter()
                .filter(|r| r.outcome == AttemptOutcome::Ack)
                .count()
                >= n
        });
        assert!(acked, "{:?}\n{}", self.rec.records(), c.proc.dump());
    }
    fn queue_len(&self) -> usize {
        self.rt.block_on(self.queue.pending()).expect("len")
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn cid(code: &str, zone: u32, partition: u32) -> AlarmSignal {
    let mut s = AlarmSignal::new("1234", Protocol::ContactId, code, Qualifier::New);
    s.zone = Some(zone);
    s.partition = Some(partition);
    s
}

fn frame_line(c: &mut Central) -> Value {
    c.proc
        .wait_json(PEER_TIMEOUT, |v| v.get("raw").is_some())
        .unwrap_or_else(|| panic!("no frame at central: {}", c.proc.dump()))
}

#[test]
fn central_contact_id_plain_tcp() {
    let Some(p) = peers() else { return };
    let mut c = central(&p, false, &["1234"]);
    let mut cfg = SenderConfig::new(c.addr, "1234");
    cfg.link_test_interval_s = Some(1);
    let tx = sender(cfg, system_like());
    tx.send(cid("130", 3, 1));
    tx.expect_acks(1, &c);
    let v = frame_line(&mut c);
    assert_eq!(v["result"], "ACK", "{v}");
    assert_eq!(
        (
            v["cid_event"].as_str(),
            v["cid_partition"].as_str(),
            v["zone_or_user"].as_str()
        ),
        (Some("130"), Some("01"), Some("003")),
        "{v}"
    );
    assert_eq!(tx.queue_len(), 0);
    let r = &tx.rec.records()[0];
    assert_eq!((r.seq, r.path, r.receiver), (1, PathKind::Primary, c.addr));
    // idle for 1 s: a NULL link test follows, and pysiaalarm ACKs it
    assert!(
        poll_blocking(PEER_TIMEOUT, || tx
            .rec
            .records()
            .iter()
            .any(|r| r.code == "NULL" && r.outcome == AttemptOutcome::Ack)),
        "{:?}",
        tx.rec.records()
    );
    let v = c
        .proc
        .wait_json(PEER_TIMEOUT, |v| v["message_type"] == "NULL")
        .unwrap_or_else(|| panic!("no NULL at central: {}", c.proc.dump()));
    assert_eq!(v["result"], "ACK", "{v}");
}

#[test]
fn central_contact_id_aes128_tcp() {
    let Some(p) = peers() else { return };
    let mut c = central(&p, false, &["1234:0123456789ABCDEF"]);
    let mut cfg = SenderConfig::new(c.addr, "1234");
    cfg.key = key16();
    let tx = sender(cfg, system_like());
    tx.send(cid("110", 7, 2));
    tx.expect_acks(1, &c);
    let v = frame_line(&mut c);
    assert_eq!(
        (
            v["result"].as_str(),
            v["encrypted"].as_bool(),
            v["cid_event"].as_str()
        ),
        (Some("ACK"), Some(true), Some("110")),
        "{v}"
    );
    assert!(
        v["response"].as_str().unwrap_or("").contains("\"*ACK\""),
        "{v}"
    );
}

#[test]
fn central_sia_dcs_plain_tcp_and_test_mode() {
    let Some(p) = peers() else { return };
    let mut c = central(&p, false, &["1234"]);
    let mut s = AlarmSignal::new("1234", Protocol::SiaDcs, "BA", Qualifier::New);
    s.zone = Some(5);
    s.partition = Some(2);
    {
        let tx = sender(SenderConfig::new(c.addr, "1234"), system_like());
        tx.send(s.clone());
        tx.expect_acks(1, &c);
        let v = frame_line(&mut c);
        assert_eq!(
            (v["result"].as_str(), v["code"].as_str()),
            (Some("ACK"), Some("BA")),
            "{v}"
        );
        assert!(
            v["raw"].as_str().unwrap_or("").contains("#1234|Nri2/BA5]"),
            "{v}"
        );
    }
    let mut cfg = SenderConfig::new(c.addr, "1234");
    cfg.test_mode = true;
    let tx = sender(cfg, system_like());
    tx.send(s);
    tx.expect_acks(1, &c);
    let v = c
        .proc
        .wait_json(PEER_TIMEOUT, |v| v["code"] == "RX")
        .unwrap_or_else(|| panic!("no drill frame: {}", c.proc.dump()));
    assert_eq!(v["result"], "ACK", "{v}");
    let r = &tx.rec.records()[0];
    assert_eq!(
        (r.code.as_str(), r.original_code.as_str(), r.test),
        ("RX", "BA", true)
    );
}

#[test]
fn central_sia_dcs_aes192_udp() {
    let Some(p) = peers() else { return };
    let key24 = "0123456789ABCDEF01234567";
    let mut c = central(&p, true, &[&format!("1234:{key24}")]);
    let mut cfg = SenderConfig::new(c.addr, "1234");
    cfg.key = Some(AesKey::from_ascii(key24).expect("key"));
    cfg.transport = Transport::Udp;
    let tx = sender(cfg, system_like());
    let mut s = AlarmSignal::new("1234", Protocol::SiaDcs, "FA", Qualifier::New);
    s.zone = Some(9);
    tx.send(s);
    tx.expect_acks(1, &c);
    let v = frame_line(&mut c);
    assert_eq!(
        (
            v["result"].as_str(),
            v["code"].as_str(),
            v["encrypted"].as_bool()
        ),
        (Some("ACK"), Some("FA"), Some(true)),
        "{v}"
    );
}

#[test]
fn central_failover_to_secondary_keeps_order() {
    let Some(p) = peers() else { return };
    let mut c = central(&p, false, &["1234"]);
    let dead = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut cfg = SenderConfig::new(dead, "1234");
    cfg.secondary = Some(c.addr);
    cfg.failover_after = 2;
    cfg.backoff_initial_ms = 10;
    cfg.reply_timeout_ms = 1000;
    let tx = sender(cfg, system_like());
    tx.send(cid("130", 1, 1));
    tx.send(cid("131", 2, 1));
    tx.expect_acks(2, &c);
    let recs = tx.rec.records();
    let fails: Vec<_> = recs
        .iter()
        .filter(|r| r.path == PathKind::Primary)
        .collect();
    assert_eq!(fails.len(), 2, "{recs:?}");
    assert!(fails.iter().all(|r| matches!(
        r.outcome,
        AttemptOutcome::Failed(_) | AttemptOutcome::Timeout
    )));
    let acks: Vec<_> = recs
        .iter()
        .filter(|r| r.outcome == AttemptOutcome::Ack)
        .collect();
    assert!(
        acks.iter()
            .all(|r| r.path == PathKind::Secondary && r.receiver == c.addr)
    );
    assert_eq!(
        (
            acks[0].original_code.as_str(),
            acks[1].original_code.as_str()
        ),
        ("130", "131")
    );
    let v1 = frame_line(&mut c);
    assert_eq!(v1["cid_event"], "130");
    assert_eq!(tx.queue_len(), 0);
}

#[test]
fn central_clock_skew_nak_then_corrected() {
    let Some(p) = peers() else { return };
    let mut c = central(&p, false, &["1234:0123456789ABCDEF"]);
    let mut cfg = SenderConfig::new(c.addr, "1234");
    cfg.key = key16();
    cfg.backoff_initial_ms = 10;
    // our clock is 5 minutes slow
    let clock = Arc::new(ManualClock::new(
        Timestamp::now()
            .checked_sub(SignedDuration::from_secs(300))
            .expect("t"),
    ));
    let tx = sender(cfg, clock);
    tx.send(cid("130", 1, 1));
    tx.expect_acks(1, &c);
    let recs = tx.rec.records();
    assert!(
        matches!(
            recs[0].outcome,
            AttemptOutcome::Nak {
                receiver_time: Some(_)
            }
        ),
        "{recs:?}"
    );
    assert_eq!(recs.last().map(|r| &r.outcome), Some(&AttemptOutcome::Ack));
    let _ = frame_line(&mut c);
}
