//! Fuzzes the site-file parser and validator: any text must give a config or located errors,
//! never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(errors) = strongroom_domain::site::SiteConfig::parse("fuzz.toml", text) {
            assert!(!errors.0.is_empty());
        }
    }
});
