//! The H.264 helpers (Annex B splitting, AVCC walking, avcC and SPS parsing) never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_media::segment::h264;

fuzz_target!(|data: &[u8]| {
    let _ = h264::annexb_access_units(data);
    let _ = h264::validate_avcc(data);
    let _ = h264::avcc_is_idr(data);
    if let Ok(config) = h264::parse_avcc_config(data) {
        for sps in &config.sps {
            let _ = h264::parse_sps(sps);
        }
    }
    let mut out = Vec::new();
    let _ = h264::annexb_to_avcc(data, &mut out);
});
