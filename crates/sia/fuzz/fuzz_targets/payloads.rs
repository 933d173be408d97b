//! Fuzz the Contact ID and SIA DCS payload parsers, content parsing, and decryption of arbitrary
//! ciphertext. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_sia::frame::{Content, Frame};
use strongroom_sia::{AesKey, cid, dcs};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = cid::parse(s);
        let _ = dcs::parse(s);
        let _ = Content::parse(s);
    }
    let _ = Frame::parse(data);
    if let Ok(k) = AesKey::new(&[9; 16]) {
        let _ = k.open(data);
    }
});
