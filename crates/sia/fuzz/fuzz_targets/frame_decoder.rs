//! Fuzz the streaming decoder and the receiver core: arbitrary bytes, arbitrary chunking (the first
//! byte picks the chunk size), one plain and one keyed account. Must never panic, and the decoder's
//! buffer must stay bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_sia::{AccountPolicy, AesKey, FrameDecoder, ReceiverCore, TimeWindow};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut core = ReceiverCore::new(
        [
            AccountPolicy { account: "1234".into(), key: None, supervision_interval_s: None },
            AccountPolicy { account: "5678".into(), key: AesKey::new(&[7; 16]).ok(), supervision_interval_s: None },
        ],
        TimeWindow::default(),
    );
    let now = jiff::Timestamp::UNIX_EPOCH;
    let mut dec = FrameDecoder::new(512);
    for piece in rest.chunks(chunk) {
        dec.push(piece);
        while let Some(item) = dec.next_frame() {
            if let Ok(raw) = item {
                let _ = core.process(&raw, now, &[0; 16]);
            }
        }
        assert!(dec.buffered_bytes() < 512);
    }
});
