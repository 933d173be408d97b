//! Fuzzes the canonical event decoder: any bytes decode or fail cleanly, and whatever decodes
//! re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strongroom_journal::canonical::{canonical_bytes, decode_canonical};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = decode_canonical(data) {
        let again = canonical_bytes(p.seq, p.time_ms, &p.site_id, &p.kind, &p.actor, &p.payload);
        assert_eq!(again, data);
    }
});
