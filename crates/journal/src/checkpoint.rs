//! Signed checkpoints and the site's Ed25519 key.
//!
//! A checkpoint seals the head of a site's chain: `Ed25519(site key, "SRCP1" | site_id | seq |
//! head_hash | time_ms)`. An attacker who rewrites the database cannot forge one without the key,
//! which lives in a 0600 file apart from the database. Cutting the tail of the journal after a
//! checkpoint is therefore detectable: the checkpoint names a sequence that no longer exists.
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};

/// A signed seal over the head of a site's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The site.
    pub site_id: String,
    /// The sequence number of the sealed head.
    pub seq: u64,
    /// The chain hash at `seq`.
    pub head_hash: [u8; 32],
    /// When it was signed.
    pub time_ms: i64,
    /// Ed25519 signature over [`Checkpoint::message`].
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The signed bytes.
    pub fn message(site_id: &str, seq: u64, head_hash: &[u8; 32], time_ms: i64) -> Vec<u8> {
        let mut m = Vec::with_capacity(5 + 4 + site_id.len() + 8 + 32 + 8);
        m.extend_from_slice(b"SRCP1");
        m.extend_from_slice(&(site_id.len() as u32).to_be_bytes());
        m.extend_from_slice(site_id.as_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(head_hash);
        m.extend_from_slice(&time_ms.to_be_bytes());
        m
    }

    /// Whether the signature is valid under `key`.
    pub fn signature_valid(&self, key: &VerifyingKey) -> bool {
        let msg = Self::message(&self.site_id, self.seq, &self.head_hash, self.time_ms);
        key.verify(&msg, &Signature::from_bytes(&self.signature))
            .is_ok()
    }
}

/// The site's signing key.
pub struct SiteKey {
    signing: SigningKey,
}

/// The error for a key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The OS random source failed.
    #[error("cannot read the OS random source: {0}")]
    Random(String),
    /// The key text is not 64 hex digits.
    #[error("bad key: expected 64 hex digits (a 32-byte Ed25519 seed)")]
    BadKey,
}

impl SiteKey {
    /// A fresh random key.
    pub fn generate() -> Result<SiteKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SiteKey {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses the key file's text (hex seed, surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<SiteKey, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::BadKey)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadKey)?;
        Ok(SiteKey {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// The key file's text.
    pub fn to_hex(&self) -> String {
        hex::encode(self.signing.to_bytes())
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key as hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.verifying_key().to_bytes())
    }

    /// Signs arbitrary bytes (evidence manifests use this too).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Seals a chain head.
    pub fn checkpoint(
        &self,
        site_id: &str,
        seq: u64,
        head_hash: [u8; 32],
        time_ms: i64,
    ) -> Checkpoint {
        let signature = self.sign(&Checkpoint::message(site_id, seq, &head_hash, time_ms));
        Checkpoint {
            site_id: site_id.to_owned(),
            seq,
            head_hash,
            time_ms,
            signature,
        }
    }
}

/// Parses a public key from hex.
pub fn verifying_key_from_hex(text: &str) -> Result<VerifyingKey, KeyError> {
    let bytes = hex::decode(text.trim()).map_err(|_| KeyError::BadKey)?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadKey)?;
    VerifyingKey::from_bytes(&arr).map_err(|_| KeyError::BadKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_signature_detects_any_change() {
        let key = SiteKey::generate().expect("rng");
        let cp = key.checkpoint("demo", 10, [7; 32], 1234);
        assert!(cp.signature_valid(&key.verifying_key()));
        let mut bad = cp.clone();
        bad.seq = 11;
        assert!(!bad.signature_valid(&key.verifying_key()));
        let mut bad = cp.clone();
        bad.head_hash[0] ^= 1;
        assert!(!bad.signature_valid(&key.verifying_key()));
        let other = SiteKey::generate().expect("rng");
        assert!(!cp.signature_valid(&other.verifying_key()));
    }

    #[test]
    fn key_hex_round_trip() {
        let key = SiteKey::generate().expect("rng");
        let again = SiteKey::from_hex(&key.to_hex()).expect("parses");
        assert_eq!(key.public_hex(), again.public_hex());
        assert!(SiteKey::from_hex("zz").is_err());
        assert!(verifying_key_from_hex(&key.public_hex()).is_ok());
    }
}
