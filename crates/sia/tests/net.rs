//! Loopback network tests of our receiver and sender without third-party peers: stream framing
//! over real TCP, sink failure, supervision with a manual clock, sender retry/failover/restart.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{MemorySink, free_port, poll_until};
use jiff::{SignedDuration, Timestamp};
use strongroom_sia::clock::{Clock, ManualClock, SystemClock};
use strongroom_sia::engine::AccountPolicy;
use strongroom_sia::frame::{self, Content, Frame, Header, MessageKind};
use strongroom_sia::queue::{AttemptOutcome, MemoryQueue, MemoryRecorder, OutboundQueue, PathKind};
use strongroom_sia::receiver::{Receiver, ReceiverConfig};
use strongroom_sia::sender::{Sender, SenderConfig};
use strongroom_sia::supervisor::SupervisionEvent;
use strongroom_sia::{AesKey, AlarmSignal, Protocol, Qualifier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

fn cid_frame(acct: &str, seq: u16, data: &str) -> Vec<u8> {
    let h = Header {
        kind: MessageKind::AdmCid,
        encrypted: false,
        seq,
        receiver: Some("1".into()),
        line: Some("0".into()),
        account: Some(acct.into()),
    };
    Frame::build(h, &Content::data(data), None, &[0; 16])
        .expect("build")
        .encode()
}

async fn start(
    accounts: Vec<AccountPolicy>,
    clock: Arc<impl Clock>,
    tick_ms: u64,
) -> (Receiver, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::default());
    let cfg = ReceiverConfig {
        tcp_addr: Some("127.0.0.1:0".parse().expect("addr")),
        accounts,
        tick_interval_ms: tick_ms,
        max_frame_bytes: 256,
        ..ReceiverConfig::default()
    };
    (
        Receiver::start(cfg, sink.clone(), clock)
            .await
            .expect("start"),
        sink,
    )
}

/// Read replies until `n` complete frames arrived (bounded).
async fn read_replies(s: &mut TcpStream, n: usize) -> Vec<Frame> {
    let mut dec = strongroom_sia::FrameDecoder::default();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + WAIT;
    while out.len() < n {
        let k = tokio::time::timeout_at(deadline, s.read(&mut buf))
            .await
            .expect("reply in time")
            .expect("read");
        assert!(k > 0, "connection closed after {} replies", out.len());
        dec.push(&buf[..k]);
        while let Some(Ok(raw)) = dec.next_frame() {
            out.push(Frame::parse(&raw).expect("reply parses"));
        }
    }
    out
}

fn acct(a: &str) -> AccountPolicy {
    AccountPolicy {
        account: a.into(),
        key: None,
        supervision_interval_s: None,
    }
}

#[tokio::test]
async fn tcp_two_frames_one_write_split_frames_garbage_oversized() {
    let (rx, sink) = start(vec![acct("1234")], Arc::new(SystemClock), 1000).await;
    let mut s = TcpStream::connect(rx.tcp_addr().expect("addr"))
        .await
        .expect("connect");
    let f1 = cid_frame("1234", 1, "#1234|1130 01 001");
    let f2 = cid_frame("1234", 2, "#1234|1130 01 002");
    let mut both = f1.clone();
    both.extend_from_slice(&f2);
    s.write_all(&both).await.expect("write");
    let r = read_replies(&mut s, 2).await;
    assert_eq!(
        (r[0].header.kind, r[0].header.seq, r[1].header.seq),
        (MessageKind::Ack, 1, 2)
    );
    // split across writes, with garbage before it
    let f3 = cid_frame("1234", 3, "#1234|1130 01 003");
    s.write_all(b"noise").await.expect("w");
    s.write_all(&f3[..7]).await.expect("w");
    s.flush().await.expect("flush");
    s.write_all(&f3[7..]).await.expect("w");
    let r = read_replies(&mut s, 1).await;
    assert_eq!((r[0].header.kind, r[0].header.seq), (MessageKind::Ack, 3));
    // oversized (limit 256): NAK, then the connection still works
    let big = cid_frame("1234", 4, &format!("#1234|1130 01 004{}", "x".repeat(300)));
    s.write_all(&big).await.expect("w");
    let f5 = cid_frame("1234", 5, "#1234|1130 01 005");
    s.write_all(&f5).await.expect("w");
    let r = read_replies(&mut s, 2).await;
    assert_eq!(r[0].header.kind, MessageKind::Nak);
    assert_eq!((r[1].header.kind, r[1].header.seq), (MessageKind::Ack, 5));
    // truncated frame then a good one
    s.write_all(&f1[..20]).await.expect("w");
    let f6 = cid_frame("1234", 6, "#1234|1130 01 006");
    s.write_all(&f6).await.expect("w");
    let r = read_replies(&mut s, 2).await;
    assert_eq!(r[0].header.kind, MessageKind::Nak);
    assert_eq!((r[1].header.kind, r[1].header.seq), (MessageKind::Ack, 6));
    let zones: Vec<_> = sink.signals().iter().map(|s| s.zone).collect();
    assert_eq!(zones, vec![Some(1), Some(2), Some(3), Some(5), Some(6)]);
    assert_eq!(rx.stats().garbage_bytes.load(Ordering::Relaxed), 5);
    rx.shutdown().await;
}

#[tokio::test]
async fn sink_failure_gives_nak_and_no_ack() {
    let (rx, sink) = start(vec![acct("1234")], Arc::new(SystemClock), 1000).await;
    sink.fail.store(true, Ordering::SeqCst);
    let mut s = TcpStream::connect(rx.tcp_addr().expect("addr"))
        .await
        .expect("connect");
    s.write_all(&cid_frame("1234", 1, "#1234|1130 01 001"))
        .await
        .expect("w");
    let r = read_replies(&mut s, 1).await;
    assert_eq!(r[0].header.kind, MessageKind::Nak);
    assert!(r[0].open(None).expect("c").timestamp.is_some());
    sink.fail.store(false, Ordering::SeqCst);
    s.write_all(&cid_frame("1234", 1, "#1234|1130 01 001"))
        .await
        .expect("w");
    assert_eq!(
        read_replies(&mut s, 1).await[0].header.kind,
        MessageKind::Ack
    );
    assert_eq!(sink.signals().len(), 1);
    rx.shutdown().await;
}

#[tokio::test]
async fn supervision_failure_and_restore_with_manual_clock() {
    let t0 = Timestamp::now();
    let clock = Arc::new(ManualClock::new(t0));
    let accounts = vec![AccountPolicy {
        account: "1234".into(),
        key: None,
        supervision_interval_s: Some(90),
    }];
    let (rx, sink) = start(accounts, clock.clone(), 10).await;
    clock.advance_s(60);
    // the journal is down when the failure is detected: the event is kept and retried
    sink.fail.store(true, Ordering::SeqCst);
    clock.advance_s(31);
    assert!(
        poll_until(WAIT, || (rx.stats().sink_failures.load(Ordering::Relaxed)
            >= 2)
            .then_some(()))
        .await
        .is_some()
    );
    assert!(sink.supervision_events().is_empty());
    sink.fail.store(false, Ordering::SeqCst);
    let failed = poll_until(WAIT, || {
        sink.supervision_events()
            .into_iter()
            .find(|e| matches!(e, SupervisionEvent::Failure { .. }))
    })
    .await;
    assert!(
        matches!(failed, Some(SupervisionEvent::Failure { ref account, last_heard, .. }) if account == "1234" && last_heard == t0),
        "{failed:?}"
    );
    // a NULL poll (plain, no timestamp) restores
    let h = Header {
        kind: MessageKind::Null,
        encrypted: false,
        seq: 0,
        receiver: None,
        line: Some("0".into()),
        account: Some("1234".into()),
    };
    let null = Frame {
        header: h,
        body: frame::Body::Plain(Content::data("")),
    }
    .encode();
    let mut s = TcpStream::connect(rx.tcp_addr().expect("addr"))
        .await
        .expect("connect");
    s.write_all(&null).await.expect("w");
    assert_eq!(
        read_replies(&mut s, 1).await[0].header.kind,
        MessageKind::Ack
    );
    let restored = poll_until(WAIT, || {
        sink.supervision_events()
            .into_iter()
            .find(|e| matches!(e, SupervisionEvent::Restore { .. }))
    })
    .await;
    assert!(restored.is_some());
    assert_eq!(
        sink.supervision_events().len(),
        2,
        "one failure, one restore"
    );
    rx.shutdown().await;
}

fn sig(code: &str, zone: u32) -> AlarmSignal {
    let mut s = AlarmSignal::new("1234", Protocol::ContactId, code, Qualifier::New);
    s.zone = Some(zone);
    s.partition = Some(1);
    s
}

#[tokio::test]
async fn sender_to_our_receiver_encrypted_with_restart_and_failover() {
    let key = AesKey::from_hex("000102030405060708090A0B0C0D0E0F1011121314151617").expect("key");
    let accounts = vec![AccountPolicy {
        account: "1234".into(),
        key: Some(key.clone()),
        supervision_interval_s: None,
    }];
    let (rx, sink) = start(accounts, Arc::new(SystemClock), 1000).await;
    let queue = Arc::new(MemoryQueue::new());
    let rec = Arc::new(MemoryRecorder::default());
    let dead: SocketAddr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // First "process": primary is dead and there is no secondary: items stay queued.
    let mut cfg = SenderConfig::new(dead, "1234");
    cfg.key = Some(key.clone());
    cfg.backoff_initial_ms = 5;
    cfg.backoff_max_ms = 20;
    cfg.reply_timeout_ms = 500;
    let s1 = Sender::new(
        cfg.clone(),
        queue.clone(),
        rec.clone(),
        Arc::new(SystemClock),
    );
    let h1 = s1.handle();
    let (stop1, stop1_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(s1.run(stop1_rx));
    h1.enqueue(sig("130", 1), Timestamp::now())
        .await
        .expect("enqueue");
    h1.enqueue(sig("131", 2), Timestamp::now())
        .await
        .expect("enqueue");
    assert!(
        poll_until(WAIT, || (rec.records().len() >= 3).then_some(()))
            .await
            .is_some()
    );
    let _ = stop1.send(true);
    task.await.expect("stopped");
    assert_eq!(
        queue.pending().await.expect("len"),
        2,
        "nothing is lost when unacknowledged"
    );
    // "Restart" over the same queue, with our receiver as secondary.
    cfg.secondary = rx.tcp_addr();
    cfg.failover_after = 1;
    let s2 = Sender::new(cfg, queue.clone(), rec.clone(), Arc::new(SystemClock));
    let (stop2, stop2_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(s2.run(stop2_rx));
    let delivered = poll_until(WAIT, || (sink.signals().len() >= 2).then(|| sink.signals()))
        .await
        .expect("delivered");
    assert_eq!(
        delivered
            .iter()
            .map(|s| s.code.as_str())
            .collect::<Vec<_>>(),
        vec!["130", "131"]
    );
    assert!(delivered.iter().all(|s| s.encrypted && s.seq > 0));
    assert_eq!(
        delivered.iter().map(|s| s.seq).collect::<Vec<_>>(),
        vec![1, 2],
        "sequence follows queue ids"
    );
    assert!(
        poll_until(WAIT, || (rec
            .records()
            .iter()
            .filter(|r| r.outcome == AttemptOutcome::Ack)
            .count()
            == 2)
            .then_some(()))
        .await
        .is_some()
    );
    assert!(
        rec.records()
            .iter()
            .filter(|r| r.outcome == AttemptOutcome::Ack)
            .all(|r| r.path == PathKind::Secondary)
    );
    assert_eq!(queue.pending().await.expect("len"), 0);
    let _ = stop2.send(true);
    rx.shutdown().await;
}

#[tokio::test]
async fn sender_duh_is_recorded_and_dropped() {
    // our receiver answers DUH to a SIA frame whose payload names another account
    let (rx, sink) = start(vec![acct("1234")], Arc::new(SystemClock), 1000).await;
    let queue = Arc::new(MemoryQueue::new());
    let rec = Arc::new(MemoryRecorder::default());
    let mut cfg = SenderConfig::new(rx.tcp_addr().expect("addr"), "1234");
    cfg.backoff_initial_ms = 5;
    let s = Sender::new(cfg, queue.clone(), rec.clone(), Arc::new(SystemClock));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    // push directly, bypassing the handle's account rewrite
    let mut bad = AlarmSignal::new("9999", Protocol::ContactId, "130", Qualifier::New);
    bad.zone = Some(1);
    queue.push(bad, Timestamp::now()).await.expect("push");
    tokio::spawn(s.run(stop_rx));
    let r = poll_until(WAIT, || rec.records().first().cloned())
        .await
        .expect("record");
    assert_eq!(r.outcome, AttemptOutcome::Duh);
    assert!(poll_until(WAIT, || queue_empty(&queue)).await.is_some());
    assert!(sink.signals().is_empty());
    let _ = stop.send(true);
    rx.shutdown().await;
}

fn queue_empty(q: &MemoryQueue) -> Option<()> {
    futures_lite_pending(q).then_some(())
}

fn futures_lite_pending(q: &MemoryQueue) -> bool {
    // MemoryQueue's futures are ready immediately; poll once without a runtime hop.
    let fut = q.pending();
    let mut fut = std::pin::pin!(fut);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    matches!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(Ok(0)))
}

#[test]
fn stale_replay_is_refused_by_window() {
    // Capture an encrypted frame and replay it 41 s later: NAK, not delivered.
    let key = AesKey::from_ascii("0123456789ABCDEF").expect("key");
    let t0 = Timestamp::now();
    let h = Header {
        kind: MessageKind::AdmCid,
        encrypted: false,
        seq: 9,
        receiver: None,
        line: Some("0".into()),
        account: Some("1234".into()),
    };
    let c = Content {
        data: "#1234|1130 01 001".into(),
        extended: vec![],
        timestamp: Some(t0),
    };
    let raw = Frame::build(h, &c, Some(&key), &[1; 16])
        .expect("b")
        .encode();
    let mut core = strongroom_sia::ReceiverCore::new(
        [AccountPolicy {
            account: "1234".into(),
            key: Some(key),
            supervision_interval_s: None,
        }],
        Default::default(),
    );
    let strongroom_sia::Outcome::Deliver(d) = core.process(&raw, t0, &[0; 16]) else {
        panic!("deliver")
    };
    core.commit(d.token, t0);
    assert!(matches!(
        core.process(
            &raw,
            t0.checked_add(SignedDuration::from_secs(10)).expect("t"),
            &[0; 16]
        ),
        strongroom_sia::Outcome::Duplicate { .. }
    ));
    assert!(matches!(
        core.process(
            &raw,
            t0.checked_add(SignedDuration::from_secs(41)).expect("t"),
            &[0; 16]
        ),
        strongroom_sia::Outcome::Reject {
            rejection: strongroom_sia::Rejection::Stale { .. },
            ..
        }
    ));
}
