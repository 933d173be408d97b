//! Per-frame cost of the receiver core: parse + CRC/length check + (decrypt) + policy + decode +
//! build ACK, for plain and AES-128 Contact ID frames, plus the streaming splitter.

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use std::hint::black_box;
use strongroom_sia::frame::{Content, Frame, Header, MessageKind};
use strongroom_sia::{AccountPolicy, AesKey, FrameDecoder, Outcome, ReceiverCore, TimeWindow};

fn frame(key: Option<&AesKey>, now: Timestamp) -> Vec<u8> {
    let h = Header {
        kind: MessageKind::AdmCid,
        encrypted: false,
        seq: 1,
        receiver: Some("1".into()),
        line: Some("0".into()),
        account: Some("1234".into()),
    };
    let c = Content {
        data: "#1234|1130 01 003".into(),
        extended: vec![],
        timestamp: key.map(|_| now),
    };
    Frame::build(h, &c, key, &[7; 16])
        .map(|f| f.encode())
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let now = Timestamp::now();
    let key = AesKey::from_ascii("0123456789ABCDEF").ok();
    for (name, k) in [("plain", None), ("aes128", key.clone())] {
        let raw = frame(k.as_ref(), now);
        let mut core = ReceiverCore::new(
            [AccountPolicy {
                account: "1234".into(),
                key: k.clone(),
                supervision_interval_s: None,
            }],
            TimeWindow::default(),
        );
        c.bench_function(&format!("parse_verify_ack/{name}"), |b| {
            b.iter(|| match core.process(black_box(&raw), now, &[3; 16]) {
                Outcome::Deliver(d) => black_box(d.ack.len()),
                _ => 0,
            })
        });
    }
    let raw = frame(None, now);
    let mut stream = Vec::new();
    for _ in 0..100 {
        stream.extend_from_slice(&raw);
    }
    c.bench_function("decoder_split/100_frames", |b| {
        b.iter(|| {
            let mut d = FrameDecoder::default();
            let mut n = 0;
            for chunk in stream.chunks(1460) {
                d.push(chunk);
                while let Some(Ok(_)) = d.next_frame() {
                    n += 1;
                }
            }
            black_box(n)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
