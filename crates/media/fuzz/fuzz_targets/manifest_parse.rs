//! The evidence manifest parser never panics, and what it accepts survives a serialize/parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_media::evidence::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = Manifest::parse(data)
        && let Ok(bytes) = manifest.to_bytes()
    {
        let again = Manifest::parse(&bytes).expect("re-parse of serialized manifest");
        // f64 fields (fps) may be NaN-free but not bit-exact through JSON; compare the rest.
        assert_eq!(again.segments, manifest.segments);
        assert_eq!(again.public_key, manifest.public_key);
    }
});
