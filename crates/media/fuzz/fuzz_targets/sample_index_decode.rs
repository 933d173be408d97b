//! `SampleIndex::decode` never panics, and whatever it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_media::segment::SampleIndex;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = SampleIndex::decode(data) {
        assert_eq!(index.encode(), data);
        let _ = index.validate(Some(u64::MAX));
        let _ = index.frame_at(u64::from(data.len() as u32) * 1000);
    }
});
