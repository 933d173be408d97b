//! DC-09 encryption: AES-128/192/256 in CBC mode with an all-zero IV, over
//! `pad | data ] [ext] _timestamp`, where the pad makes the plaintext a multiple of 16 bytes and
//! contains no `[`, `]` or `|`. The ciphertext is carried hex-encoded after the `[` of the frame.
//!
//! Padding randomness is injected (`pad_seed`): the codec never draws random numbers itself.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use thiserror::Error;

const IV: [u8; 16] = [0u8; 16];
/// AES block size in bytes.
pub const BLOCK_BYTES: usize = 16;
/// Longest pad accepted when opening (my-dc09-spt pads up to 17 bytes, the standard up to 16).
const MAX_PAD_BYTES: usize = 17;
const PAD_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Errors from key handling, encryption and decryption.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    /// Keys must be 16, 24 or 32 bytes.
    #[error("AES key must be 16, 24 or 32 bytes, got {0}")]
    BadKeyLength(usize),
    /// Hex key text is not hex.
    #[error("AES key is not valid hex")]
    BadKeyHex,
    /// Ciphertext is empty or not a whole number of blocks.
    #[error("ciphertext length {0} is not a positive multiple of 16")]
    NotBlockAligned(usize),
    /// Decryption produced bytes that cannot be DC-09 plaintext (wrong key or corrupt data).
    #[error("decrypted data is not DC-09 plaintext (wrong key?)")]
    BadPlaintext,
}

/// A DC-09 AES key (16, 24 or 32 bytes). `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey(Vec<u8>);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AesKey({} bits)", self.0.len() * 8)
    }
}

impl AesKey {
    /// Key from raw bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        match bytes.len() {
            16 | 24 | 32 => Ok(Self(bytes.to_vec())),
            n => Err(CryptoError::BadKeyLength(n)),
        }
    }

    /// Key from the ASCII bytes of a string (pysiaalarm's and my-dc09-spt's `--key` convention).
    pub fn from_ascii(text: &str) -> Result<Self, CryptoError> {
        Self::new(text.as_bytes())
    }

    /// Key from 32, 48 or 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let bytes = hex_decode(text).ok_or(CryptoError::BadKeyHex)?;
        Self::new(&bytes)
    }

    /// Key length in bytes.
    pub fn len_bytes(&self) -> usize {
        self.0.len()
    }

    /// AES-CBC encrypt whole blocks with a zero IV.
    pub fn encrypt_blocks(&self, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if plain.is_empty() || !plain.len().is_multiple_of(BLOCK_BYTES) {
            return Err(CryptoError::NotBlockAligned(plain.len()));
        }
        let k = &self.0;
        let bad = |_| CryptoError::BadKeyLength(k.len());
        Ok(match k.len() {
            16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(k, &IV)
                .map_err(bad)?
                .encrypt_padded_vec::<NoPadding>(plain),
            24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(k, &IV)
                .map_err(bad)?
                .encrypt_padded_vec::<NoPadding>(plain),
            _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(k, &IV)
                .map_err(bad)?
                .encrypt_padded_vec::<NoPadding>(plain),
        })
    }

    /// AES-CBC decrypt whole blocks with a zero IV.
    pub fn decrypt_blocks(&self, cipher: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if cipher.is_empty() || !cipher.len().is_multiple_of(BLOCK_BYTES) {
            return Err(CryptoError::NotBlockAligned(cipher.len()));
        }
        let k = &self.0;
        let bad = |_| CryptoError::BadKeyLength(k.len());
        let out = match k.len() {
            16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(k, &IV)
                .map_err(bad)?
                .decrypt_padded_vec::<NoPadding>(cipher),
            24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(k, &IV)
                .map_err(bad)?
                .decrypt_padded_vec::<NoPadding>(cipher),
            _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(k, &IV)
                .map_err(bad)?
                .decrypt_padded_vec::<NoPadding>(cipher),
        };
        out.map_err(|_| CryptoError::NotBlockAligned(cipher.len()))
    }

    /// Seal `inner` (the text that follows the `[` in a plain frame, e.g. `#1234|1130 01 003]_…`):
    /// prefix the DC-09 pad plus `|`, encrypt. `pad_seed` supplies the pad's randomness.
    pub fn seal(&self, inner: &str, pad_seed: &[u8; 16]) -> Result<Vec<u8>, CryptoError> {
        let body_len = inner.len() + 1; // the `|` that stands in for `[`
        let pad_len = BLOCK_BYTES - (body_len % BLOCK_BYTES);
        let mut plain = Vec::with_capacity(pad_len + body_len);
        plain.extend(
            pad_seed
                .iter()
                .take(pad_len)
                .map(|b| PAD_ALPHABET[usize::from(*b) % PAD_ALPHABET.len()]),
        );
        plain.push(b'|');
        plain.extend_from_slice(inner.as_bytes());
        self.encrypt_blocks(&plain)
    }

    /// Open ciphertext and strip the pad. Returns the text equivalent to what follows `[` in a plain
    /// frame. Accepts both pad styles seen on the wire: `pad|data]…` and pad immediately followed by
    /// `]` (pysiaalarm's replies).
    pub fn open(&self, cipher: &[u8]) -> Result<String, CryptoError> {
        let plain = self.decrypt_blocks(cipher)?;
        // Pad bytes may be anything but `[`, `]`, `|` (my-dc09-spt uses control characters too);
        // everything after the pad must be printable ASCII.
        let start = plain
            .iter()
            .position(|b| matches!(b, b'|' | b'[' | b']'))
            .ok_or(CryptoError::BadPlaintext)?;
        if start > MAX_PAD_BYTES {
            return Err(CryptoError::BadPlaintext);
        }
        let rest = match plain[start] {
            b'|' | b'[' => &plain[start + 1..],
            _ => &plain[start..],
        };
        if !rest.iter().all(|b| (0x20..0x7f).contains(b)) {
            return Err(CryptoError::BadPlaintext);
        }
        String::from_utf8(rest.to_vec()).map_err(|_| CryptoError::BadPlaintext)
    }
}

/// Upper-case hex encoding.
pub fn hex_encode(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(H[usize::from(b >> 4)]));
        s.push(char::from(H[usize::from(b & 15)]));
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Hex decoding (either case); `None` on odd length or a non-hex digit.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lengths() {
        assert!(AesKey::new(&[0; 16]).is_ok());
        assert!(AesKey::new(&[0; 24]).is_ok());
        assert!(AesKey::new(&[0; 32]).is_ok());
        assert_eq!(AesKey::new(&[0; 15]), Err(CryptoError::BadKeyLength(15)));
        assert_eq!(AesKey::from_hex("zz"), Err(CryptoError::BadKeyHex));
        assert_eq!(
            format!("{:?}", AesKey::new(&[7; 16]).expect("k")),
            "AesKey(128 bits)"
        );
    }

    #[test]
    fn seal_open_all_sizes() {
        for n in [16usize, 24, 32] {
            let key = AesKey::new(&vec![0x42; n]).expect("key");
            for inner in [
                "]",
                "#1234|1130 01 003]_12:00:00,01-02-2026",
                "#12|Nri1/BA001]",
            ] {
                let ct = key.seal(inner, &[200; 16]).expect("seal");
                assert_eq!(ct.len() % 16, 0);
                assert_eq!(key.open(&ct).expect("open"), inner);
            }
        }
    }

    #[test]
    fn known_vector_aes128_zero_iv() {
        // FIPS-197 C.1: with a zero IV, the first CBC block equals plain ECB.
        let key = AesKey::from_hex("000102030405060708090a0b0c0d0e0f").expect("key");
        let pt = hex_decode("00112233445566778899aabbccddeeff").expect("hex");
        let ct = key.encrypt_blocks(&pt).expect("enc");
        assert_eq!(hex_encode(&ct), "69C4E0D86A7B0430D8CDB78070B4C55A");
    }

    #[test]
    fn wrong_key_is_error_not_panic() {
        let k1 = AesKey::from_ascii("0123456789ABCDEF").expect("k1");
        let k2 = AesKey::from_ascii("FEDCBA9876543210").expect("k2");
        let ct = k1.seal("#1234|1130 01 003]", &[1; 16]).expect("seal");
        assert!(k2.open(&ct).is_err());
        assert_eq!(k1.open(&ct[..5]), Err(CryptoError::NotBlockAligned(5)));
    }
}
