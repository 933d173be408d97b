//! Keyed hashes of credentials.
//!
//! Card numbers and PINs never appear in plaintext in facts or in state: they are stored as
//! HMAC-SHA256 under a per-site secret ([`SiteSecret`]), hex-encoded in facts. The same secret must be
//! used for issuing and for deciding, so a presented card or PIN hashes to the stored value.
//!
//! The domain separation prefixes (`card\0`, `pin\0`) keep a card number and a PIN with the same
//! digits from colliding. PINs are hashed without any per-person salt on purpose: OH 3796:6-3-16(B)(8)
//! wants "a unique code for each employee", so uniqueness is checked by comparing hashes.
//!
//! A PIN has a small key space (10^4 to 10^8): anyone holding the site secret can brute-force PIN
//! hashes offline. The secret therefore lives outside the journal (the server reads it from a file
//! with mode 0600) and is never logged; `Debug` prints only a fingerprint.
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// The site secret that keys credential hashes.
#[derive(Clone)]
pub struct SiteSecret {
    keyed: HmacSha256,
    fingerprint: [u8; 4],
}

/// The error for a site secret that is too short.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("site secret is {0} bytes; it must be at least 16 bytes (32 random bytes recommended)")]
pub struct WeakSecret(pub usize);

impl SiteSecret {
    /// Keys credential hashing with `key` (at least 16 bytes; 32 random bytes recommended).
    pub fn new(key: &[u8]) -> Result<Self, WeakSecret> {
        if key.len() < 16 {
            return Err(WeakSecret(key.len()));
        }
        let keyed = HmacSha256::new_from_slice(key).map_err(|_| WeakSecret(key.len()))?;
        // A fingerprint so logs can tell two secrets apart without revealing either.
        let mut fp = keyed.clone();
        fp.update(b"fingerprint\0");
        let out = fp.finalize().into_bytes();
        let mut fingerprint = [0u8; 4];
        fingerprint.copy_from_slice(&out[..4]);
        Ok(SiteSecret { keyed, fingerprint })
    }

    fn mac(&self, domain: &[u8], value: &str) -> CredHash {
        let mut m = self.keyed.clone();
        m.update(domain);
        m.update(value.as_bytes());
        let out = m.finalize().into_bytes();
        let mut h = [0u8; 32];
        h.copy_from_slice(&out);
        CredHash(h)
    }

    /// The keyed hash of a card number (as normalised by [`normalize_card`]).
    pub fn hash_card(&self, card: &str) -> CredHash {
        self.mac(b"card\0", card)
    }

    /// The keyed hash of a PIN.
    pub fn hash_pin(&self, pin: &str) -> CredHash {
        self.mac(b"pin\0", pin)
    }
}

impl fmt::Debug for SiteSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SiteSecret(fingerprint {})",
            hex::encode(self.fingerprint)
        )
    }
}

/// A keyed hash of a card number or PIN. Serialises as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredHash(pub [u8; 32]);

impl CredHash {
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut h = [0u8; 32];
        hex::decode_to_slice(s, &mut h).ok()?;
        Some(CredHash(h))
    }
}

impl fmt::Debug for CredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Short form: enough to tell hashes apart in test output.
        write!(f, "CredHash({}..)", hex::encode(&self.0[..6]))
    }
}

impl Serialize for CredHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for CredHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CredHash::from_hex(&s)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hex digits for a credential hash"))
    }
}

/// The shortest and longest PIN accepted.
pub const PIN_LEN: std::ops::RangeInclusive<usize> = 4..=8;

/// Checks a PIN: 4 to 8 ASCII digits.
pub fn valid_pin(pin: &str) -> bool {
    PIN_LEN.contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// Normalises a card number as readers and people type it: surrounding space trimmed, letters
/// upper-cased. Returns `None` for an empty number, one longer than 64 characters, or one with
/// characters other than ASCII letters, digits, `-` and `:`.
pub fn normalize_card(card: &str) -> Option<String> {
    let t = card.trim();
    let ok = !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':');
    ok.then(|| t.to_ascii_uppercase())
}

/// The last four characters of a normalised card number, the most that facts may show.
pub fn card_last4(card: &str) -> String {
    let n = card.len();
    card.get(n.saturating_sub(4)..).unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_and_domain_separated() {
        let a = SiteSecret::new(b"0123456789abcdef0123456789abcdef").expect("key");
        let b = SiteSecret::new(b"fedcba9876543210fedcba9876543210").expect("key");
        assert_eq!(a.hash_pin("1234"), a.hash_pin("1234"));
        assert_ne!(a.hash_pin("1234"), b.hash_pin("1234"));
        assert_ne!(a.hash_pin("1234"), a.hash_card("1234"));
        let h = a.hash_card("ABC1");
        assert_eq!(CredHash::from_hex(&h.to_hex()), Some(h));
        assert!(!format!("{a:?}").contains("0123"));
    }

    #[test]
    fn weak_secret_rejected() {
        assert_eq!(SiteSecret::new(b"short").err(), Some(WeakSecret(5)));
    }

    #[test]
    fn pin_and_card_rules() {
        assert!(valid_pin("1234"));
        assert!(valid_pin("12345678"));
        assert!(!valid_pin("123"));
        assert!(!valid_pin("123456789"));
        assert!(!valid_pin("12a4"));
        assert_eq!(normalize_card(" 00ab:12 ").as_deref(), Some("00AB:12"));
        assert_eq!(normalize_card(""), None);
        assert_eq!(normalize_card("12 34"), None);
        assert_eq!(card_last4("00AB:12"), "B:12");
        assert_eq!(card_last4("12"), "12");
    }
}
