//! Canonical event bytes and the hash chain.
//!
//! The canonical form is a fixed binary layout, so that the same event always hashes the same way
//! whatever database stored it:
//!
//! ```text
//! "SRJ1" | seq: u64 BE | time_ms: i64 BE | site_id | kind | actor | payload
//! ```
//! where each of the last four is a `u32` big-endian byte length followed by UTF-8 bytes. The
//! payload is the JSON text exactly as stored (the writer produces it with sorted keys and no
//! whitespace); the verifier hashes the stored text, never a re-serialisation.
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 4] = b"SRJ1";
/// Largest payload accepted, in bytes (1 MiB): facts are small; video lives elsewhere.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// One journaled event, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEvent {
    /// Sequence number within the site, from 1.
    pub seq: u64,
    /// The site.
    pub site_id: String,
    /// When it happened, epoch milliseconds UTC.
    pub time_ms: i64,
    /// Dotted kind.
    pub kind: String,
    /// `system`, `user:NAME`, `device:ID` or `person:ID`.
    pub actor: String,
    /// JSON object text (canonical: sorted keys, no whitespace).
    pub payload: String,
    /// The chain hash of this event.
    pub hash: [u8; 32],
}

/// The error for bytes that are not a canonical event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The bytes do not start with the format marker.
    #[error("not a canonical event: bad magic")]
    BadMagic,
    /// The bytes end before a field does.
    #[error("truncated canonical event: {0} missing")]
    Truncated(&'static str),
    /// A text field is not UTF-8.
    #[error("canonical event field {0} is not UTF-8")]
    NotUtf8(&'static str),
    /// A field is longer than allowed.
    #[error("canonical event field {0} is too long")]
    TooLong(&'static str),
    /// Bytes remain after the payload.
    #[error("{0} trailing bytes after a canonical event")]
    Trailing(usize),
}

/// The canonical bytes of an event's content (everything but its hash).
pub fn canonical_bytes(
    seq: u64,
    time_ms: i64,
    site_id: &str,
    kind: &str,
    actor: &str,
    payload: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        4 + 8 + 8 + 16 + site_id.len() + kind.len() + actor.len() + payload.len(),
    );
    encode(seq, time_ms, [site_id, kind, actor, payload], |b| {
        out.extend_from_slice(b)
    });
    out
}

/// Hands the canonical encoding of an event's content to `put`, piece by piece: the one
/// definition [`canonical_bytes`] and [`chain_hash_fields`] share.
fn encode(seq: u64, time_ms: i64, fields: [&str; 4], mut put: impl FnMut(&[u8])) {
    put(MAGIC);
    put(&seq.to_be_bytes());
    put(&time_ms.to_be_bytes());
    for field in fields {
        // Lengths are bounded by MAX_PAYLOAD_BYTES upstream; saturate rather than wrap.
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        put(&len.to_be_bytes());
        put(field.as_bytes());
    }
}

/// `SHA-256(prev || canonical_bytes(...))`, computed without building the canonical bytes (the
/// verifier's hot path). Equal to `chain_hash(prev, &canonical_bytes(...))`.
pub fn chain_hash_fields(
    prev: &[u8; 32],
    seq: u64,
    time_ms: i64,
    site_id: &str,
    kind: &str,
    actor: &str,
    payload: &str,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    encode(seq, time_ms, [site_id, kind, actor, payload], |b| {
        h.update(b)
    });
    h.finalize().into()
}

/// `SHA-256(prev || canonical)`.
pub fn chain_hash(prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical);
    h.finalize().into()
}

/// The decoded fields of canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalParts {
    /// Sequence number.
    pub seq: u64,
    /// Event time.
    pub time_ms: i64,
    /// Site.
    pub site_id: String,
    /// Kind.
    pub kind: String,
    /// Actor.
    pub actor: String,
    /// Payload text.
    pub payload: String,
}

/// Decodes canonical bytes (used by tools and the fuzz target; never panics).
pub fn decode_canonical(bytes: &[u8]) -> Result<CanonicalParts, CanonicalError> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(CanonicalError::BadMagic)?;
    let (seq, rest) = take_array::<8>(rest, "seq")?;
    let (time, rest) = take_array::<8>(rest, "time_ms")?;
    let (site_id, rest) = take_str(rest, "site_id", 256)?;
    let (kind, rest) = take_str(rest, "kind", 256)?;
    let (actor, rest) = take_str(rest, "actor", 1024)?;
    let (payload, rest) = take_str(rest, "payload", MAX_PAYLOAD_BYTES)?;
    if !rest.is_empty() {
        return Err(CanonicalError::Trailing(rest.len()));
    }
    Ok(CanonicalParts {
        seq: u64::from_be_bytes(seq),
        time_ms: i64::from_be_bytes(time),
        site_id,
        kind,
        actor,
        payload,
    })
}

fn take_array<'a, const N: usize>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<([u8; N], &'a [u8]), CanonicalError> {
    let head = bytes.get(..N).ok_or(CanonicalError::Truncated(what))?;
    let mut arr = [0u8; N];
    arr.copy_from_slice(head);
    Ok((arr, &bytes[N..]))
}

fn take_str<'a>(
    bytes: &'a [u8],
    what: &'static str,
    max: usize,
) -> Result<(String, &'a [u8]), CanonicalError> {
    let (len, rest) = take_array::<4>(bytes, what)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(CanonicalError::TooLong(what));
    }
    let body = rest.get(..len).ok_or(CanonicalError::Truncated(what))?;
    let s = std::str::from_utf8(body).map_err(|_| CanonicalError::NotUtf8(what))?;
    Ok((s.to_owned(), &rest[len..]))
}

impl JournalEvent {
    /// This event's canonical bytes.
    pub fn canonical(&self) -> Vec<u8> {
        canonical_bytes(
            self.seq,
            self.time_ms,
            &self.site_id,
            &self.kind,
            &self.actor,
            &self.payload,
        )
    }

    /// Builds the next event of a chain from its content and the previous hash.
    pub fn seal(
        prev_hash: &[u8; 32],
        seq: u64,
        site_id: &str,
        time_ms: i64,
        kind: &str,
        actor: &str,
        payload: String,
    ) -> JournalEvent {
        let hash = chain_hash_fields(prev_hash, seq, time_ms, site_id, kind, actor, &payload);
        JournalEvent {
            seq,
            site_id: site_id.to_owned(),
            time_ms,
            kind: kind.to_owned(),
            actor: actor.to_owned(),
            payload,
            hash,
        }
    }

    /// The chain hash this event should have after `prev`.
    pub fn expected_hash(&self, prev: &[u8; 32]) -> [u8; 32] {
        chain_hash_fields(
            prev,
            self.seq,
            self.time_ms,
            &self.site_id,
            &self.kind,
            &self.actor,
            &self.payload,
        )
    }
}

/// The canonical JSON text of a fact payload: sorted keys, no whitespace.
pub fn canonical_payload(payload: &serde_json::Map<String, serde_json::Value>) -> String {
    if map_is_sorted() {
        // serde_json's default Map is a BTreeMap: its text is already canonical.
        return serde_json::to_string(payload).unwrap_or_else(|_| "{}".to_owned());
    }
    // serde_json's Map is ordered by key unless the `preserve_order` feature is on; sort
    // explicitly so the text does not depend on a feature some dependency might switch on.
    fn sorted(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    if let Some(x) = m.get(k) {
                        out.insert(k.clone(), sorted(x));
                    }
                }
                serde_json::Value::Object(out)
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(&serde_json::Value::Object(payload.clone())).to_string()
}

/// Whether serde_json's `Map` iterates in key order (true unless some crate in the build turns on
/// its `preserve_order` feature); checked once.
fn map_is_sorted() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut m = serde_json::Map::new();
        m.insert("b".into(), serde_json::Value::Null);
        m.insert("a".into(), serde_json::Value::Null);
        m.keys().next().is_some_and(|k| k == "a")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_hash_equals_byte_hash() {
        let bytes = canonical_bytes(3, -5, "s", "k.x", "user:a", "{}");
        assert_eq!(
            chain_hash(&[9; 32], &bytes),
            chain_hash_fields(&[9; 32], 3, -5, "s", "k.x", "user:a", "{}")
        );
    }

    /// The fields [`JournalEvent::seal`] hashes, to vary one at a time.
    #[derive(Clone, Copy)]
    struct Fields {
        prev_hash: [u8; 32],
        seq: u64,
        site_id: &'static str,
        time_ms: i64,
        kind: &'static str,
        actor: &'static str,
        payload: &'static str,
    }

    impl Fields {
        fn seal(self) -> JournalEvent {
            JournalEvent::seal(
                &self.prev_hash,
                self.seq,
                self.site_id,
                self.time_ms,
                self.kind,
                self.actor,
                self.payload.into(),
            )
        }
    }

    const BASE: Fields = Fields {
        prev_hash: [0; 32],
        seq: 7,
        site_id: "demo",
        time_ms: 1_700_000_000_000,
        kind: "door.forced",
        actor: "device:d1",
        payload: "{\"door\":\"d1\"}",
    };

    #[test]
    fn canonical_round_trip_and_hash_depends_on_every_field() {
        let e = BASE.seal();
        let parts = decode_canonical(&e.canonical()).expect("decodes");
        assert_eq!(parts.seq, 7);
        assert_eq!(parts.payload, "{\"door\":\"d1\"}");
        let variants = [
            Fields { seq: 8, ..BASE },
            Fields {
                site_id: "demx",
                ..BASE
            },
            Fields {
                time_ms: 1_700_000_000_001,
                ..BASE
            },
            Fields {
                kind: "door.forcee",
                ..BASE
            },
            Fields {
                actor: "device:d2",
                ..BASE
            },
            Fields {
                payload: "{\"door\":\"d2\"}",
                ..BASE
            },
            Fields {
                prev_hash: [1; 32],
                ..BASE
            },
        ];
        for v in variants {
            assert_ne!(v.seal().hash, e.hash);
        }
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        // Moving a byte from one field to the next must change the bytes.
        let a = canonical_bytes(1, 0, "ab", "c", "x", "{}");
        let b = canonical_bytes(1, 0, "a", "bc", "x", "{}");
        assert_ne!(a, b);
    }

    #[test]
    fn canonical_payload_sorts_keys() {
        let mut m = serde_json::Map::new();
        m.insert("z".into(), 1.into());
        m.insert("a".into(), serde_json::json!({"y": 1, "b": 2}));
        assert_eq!(canonical_payload(&m), r#"{"a":{"b":2,"y":1},"z":1}"#);
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_canonical(&bytes);
        }

        #[test]
        fn round_trip(seq in any::<u64>(), t in any::<i64>(), site in "[a-z]{1,10}", kind in "[a-z.]{1,20}", actor in "\\PC{0,20}", payload in "\\PC{0,50}") {
            let bytes = canonical_bytes(seq, t, &site, &kind, &actor, &payload);
            let p = decode_canonical(&bytes).expect("round trip");
            prop_assert_eq!(p.seq, seq);
            prop_assert_eq!(p.time_ms, t);
            prop_assert_eq!(p.site_id, site);
            prop_assert_eq!(p.kind, kind);
            prop_assert_eq!(p.actor, actor);
            prop_assert_eq!(p.payload, payload);
        }
    }
}
