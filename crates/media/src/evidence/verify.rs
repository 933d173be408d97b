//! Checking a bundle offline: the signature over the manifest (and, if given, the signer), the
//! manifest's own consistency, and every byte of the MP4 against the signed hashes in one pass.

use super::{
    BUNDLE_FILES, FORMAT, KEY_FILE, MANIFEST_FILE, Manifest, SIGNATURE_FILE, SegmentRecord,
    TimeRange, VIDEO_FILE, key_fingerprint,
};
use crate::hashing::{StreamHasher, StreamHashes, from_hex32, to_hex};
use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::{Signature, VerifyingKey};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use thiserror::Error;

/// Largest `manifest.json` read, bytes.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Largest `site_key.pem` read, bytes.
const MAX_KEY_BYTES: u64 = 4096;

/// What an intact bundle contains.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The verified manifest.
    pub manifest: Manifest,
    /// Fingerprint of the key that signed it ([`key_fingerprint`]).
    pub key_fingerprint: String,
    /// Bytes of video hashed.
    pub video_bytes: u64,
    /// Gaps between consecutive segments (end of one, start of the next): recording was absent there.
    pub gaps: Vec<TimeRange>,
    /// Files in the bundle directory that the bundle does not define (not covered by the signature).
    pub unlisted_files: Vec<String>,
}

/// Why a bundle is not intact. [`VerifyError::part`] names the file at fault.
#[derive(Debug, Error)]
pub enum VerifyError {
    /// A required file is missing.
    #[error("{part} is missing")]
    Missing {
        /// The missing file.
        part: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {part}: {source}")]
    Unreadable {
        /// The file.
        part: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A file is not in the expected form (truncated signature, bad PEM, oversized manifest...).
    #[error("{part} is malformed: {reason}")]
    Malformed {
        /// The file.
        part: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The key file was replaced: the manifest is signed by the key it names, not by this one.
    #[error("{KEY_FILE} was replaced: the manifest names key {named}, the file holds {found}")]
    KeyReplaced {
        /// Key named in the manifest (hex).
        named: String,
        /// Key in the file (hex).
        found: String,
    },
    /// The signature does not verify: the manifest or its signature was altered.
    #[error("{MANIFEST_FILE} or {SIGNATURE_FILE} was altered: the signature does not verify")]
    BadSignature,
    /// The bundle is consistently signed, but not by the trusted key.
    #[error("signed by key {found_fingerprint}, not the trusted site key {expected_fingerprint}")]
    WrongKey {
        /// Fingerprint of the trusted key.
        expected_fingerprint: String,
        /// Fingerprint of the bundle's key.
        found_fingerprint: String,
    },
    /// The MP4's length differs from the manifest.
    #[error("{VIDEO_FILE} was altered: {found} bytes, manifest says {expected}")]
    VideoLength {
        /// Length in the manifest.
        expected: u64,
        /// Length found.
        found: u64,
    },
    /// The MP4's content differs from the manifest.
    #[error("{VIDEO_FILE} was altered: {}", describe_alteration(.altered_segments))]
    VideoAltered {
        /// Ids of source segments whose frames changed (empty: only container metadata changed).
        altered_segments: Vec<String>,
    },
}

/// What [`VerifyError::VideoAltered`] says was changed.
fn describe_alteration(segments: &[String]) -> String {
    if segments.is_empty() {
        "container metadata changed (recorded frames intact)".to_owned()
    } else {
        format!(
            "recorded frames changed in segment(s) {}",
            segments.join(", ")
        )
    }
}

impl VerifyError {
    /// The bundle file at fault.
    pub fn part(&self) -> &'static str {
        match self {
            VerifyError::Missing { part }
            | VerifyError::Unreadable { part, .. }
            | VerifyError::Malformed { part, .. } => part,
            VerifyError::KeyReplaced { .. } | VerifyError::WrongKey { .. } => KEY_FILE,
            VerifyError::BadSignature => MANIFEST_FILE,
            VerifyError::VideoLength { .. } | VerifyError::VideoAltered { .. } => VIDEO_FILE,
        }
    }
}

/// Reads bundle file `part`, refusing one larger than `max` bytes.
fn read_small(dir: &Path, part: &'static str, max: u64) -> Result<Vec<u8>, VerifyError> {
    let f = File::open(dir.join(part)).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => VerifyError::Missing { part },
        _ => VerifyError::Unreadable { part, source },
    })?;
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|source| VerifyError::Unreadable { part, source })?;
    if buf.len() as u64 > max {
        return Err(VerifyError::Malformed {
            part,
            reason: format!("larger than {max} bytes"),
        });
    }
    Ok(buf)
}

/// Parses a site public key in SubjectPublicKeyInfo PEM form (as in `site_key.pem`), for
/// [`verify_with_key`].
pub fn parse_public_key_pem(pem: &str) -> Result<VerifyingKey, VerifyError> {
    VerifyingKey::from_public_key_pem(pem).map_err(|e| VerifyError::Malformed {
        part: KEY_FILE,
        reason: e.to_string(),
    })
}

/// Verifies a bundle against the key it carries. See [`verify_with_key`].
pub fn verify(bundle: &Path) -> Result<VerifyReport, VerifyError> {
    verify_with_key(bundle, None)
}

/// Verifies a bundle offline: the signature over `manifest.json` (and, if given, that the signer is
/// `trusted`), the MP4's length and SHA-256, each source segment's SHA-256 inside the MP4, and segment
/// time order. Streams the MP4 once with constant memory.
pub fn verify_with_key(
    bundle: &Path,
    trusted: Option<&VerifyingKey>,
) -> Result<VerifyReport, VerifyError> {
    if !bundle.is_dir() {
        return Err(VerifyError::Missing {
            part: "bundle directory",
        });
    }
    let pem = read_small(bundle, KEY_FILE, MAX_KEY_BYTES)?;
    let manifest_bytes = read_small(bundle, MANIFEST_FILE, MAX_MANIFEST_BYTES)?;
    let sig_bytes = read_small(bundle, SIGNATURE_FILE, 64)?;
    let video_path = bundle.join(VIDEO_FILE);
    if !video_path.exists() {
        return Err(VerifyError::Missing { part: VIDEO_FILE });
    }

    let pem = std::str::from_utf8(&pem).map_err(|_| VerifyError::Malformed {
        part: KEY_FILE,
        reason: "not UTF-8".into(),
    })?;
    let key = parse_public_key_pem(pem)?;
    let sig: [u8; 64] = sig_bytes
        .as_slice()
        .try_into()
        .map_err(|_| VerifyError::Malformed {
            part: SIGNATURE_FILE,
            reason: format!("{} bytes, expected 64", sig_bytes.len()),
        })?;
    let sig = Signature::from_bytes(&sig);
    if key.verify_strict(&manifest_bytes, &sig).is_err() {
        // Name the key file if the manifest is intact under the key it names.
        if let Ok(m) = Manifest::parse(&manifest_bytes)
            && let Some(named) = from_hex32(&m.public_key)
            && named != key.to_bytes()
            && VerifyingKey::from_bytes(&named)
                .is_ok_and(|k| k.verify_strict(&manifest_bytes, &sig).is_ok())
        {
            return Err(VerifyError::KeyReplaced {
                named: m.public_key,
                found: to_hex(&key.to_bytes()),
            });
        }
        return Err(VerifyError::BadSignature);
    }
    if let Some(trusted) = trusted
        && trusted != &key
    {
        return Err(VerifyError::WrongKey {
            expected_fingerprint: key_fingerprint(trusted),
            found_fingerprint: key_fingerprint(&key),
        });
    }
    let malformed = |reason: String| VerifyError::Malformed {
        part: MANIFEST_FILE,
        reason,
    };
    let manifest = Manifest::parse(&manifest_bytes).map_err(|e| malformed(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(malformed(format!(
            "unsupported format {:?}",
            manifest.format
        )));
    }
    if manifest.video.file != VIDEO_FILE {
        return Err(malformed(format!(
            "video file {:?}, expected {VIDEO_FILE}",
            manifest.video.file
        )));
    }
    if from_hex32(&manifest.public_key) != Some(key.to_bytes()) {
        return Err(malformed("public_key differs from the signing key".into()));
    }

    // Segment ranges must be ordered, disjoint and inside the video; times must be ordered.
    let mut ranges = Vec::with_capacity(manifest.segments.len());
    let mut gaps = Vec::new();
    let mut prev: Option<&SegmentRecord> = None;
    for s in &manifest.segments {
        let end = s
            .mp4_offset
            .checked_add(s.bytes)
            .filter(|&e| e <= manifest.video.bytes);
        let end =
            end.ok_or_else(|| malformed(format!("segment {} lies outside the video", s.id)))?;
        if s.end < s.start {
            return Err(malformed(format!("segment {} ends before it starts", s.id)));
        }
        if let Some(p) = prev {
            if s.mp4_offset < p.mp4_offset + p.bytes {
                return Err(malformed(format!(
                    "segment {} overlaps the previous one in the video",
                    s.id
                )));
            }
            if s.start < p.end {
                return Err(malformed(format!(
                    "segment {} starts before the previous one ends",
                    s.id
                )));
            }
            if s.start > p.end {
                gaps.push(TimeRange {
                    start: p.end,
                    end: s.start,
                });
            }
        }
        ranges.push(s.mp4_offset..end);
        prev = Some(s);
    }

    // Every byte of the video is covered by exactly one signed hash (a segment's or the container's), so
    // one pass over the file checks it all; the whole-file hash is for people using `sha256sum`.
    let found_len = fs::metadata(&video_path)
        .map_err(|source| VerifyError::Unreadable {
            part: VIDEO_FILE,
            source,
        })?
        .len();
    if found_len != manifest.video.bytes {
        return Err(VerifyError::VideoLength {
            expected: manifest.video.bytes,
            found: found_len,
        });
    }
    let hashes = hash_video(&video_path, ranges)?;
    if hashes.len != manifest.video.bytes {
        return Err(VerifyError::VideoLength {
            expected: manifest.video.bytes,
            found: hashes.len,
        });
    }
    let altered_segments: Vec<String> = manifest
        .segments
        .iter()
        .zip(&hashes.ranges)
        .filter(|(s, h)| s.sha256.0 != **h)
        .map(|(s, _)| format!("{} ({} to {})", s.id, s.start, s.end))
        .collect();
    if !altered_segments.is_empty() || hashes.outside != manifest.video.container_sha256.0 {
        return Err(VerifyError::VideoAltered { altered_segments });
    }

    let mut unlisted_files = Vec::new();
    if let Ok(entries) = fs::read_dir(bundle) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !BUNDLE_FILES.contains(&name.as_str()) {
                unlisted_files.push(name);
            }
        }
    }
    unlisted_files.sort();
    Ok(VerifyReport {
        video_bytes: manifest.video.bytes,
        manifest,
        key_fingerprint: key_fingerprint(&key),
        gaps,
        unlisted_files,
    })
}

/// Streams the video once, hashing each range and the bytes outside them.
fn hash_video(path: &Path, ranges: Vec<std::ops::Range<u64>>) -> Result<StreamHashes, VerifyError> {
    let part = VIDEO_FILE;
    let unreadable = |source| VerifyError::Unreadable { part, source };
    let mut f = File::open(path).map_err(unreadable)?;
    let mut hasher = StreamHasher::new(ranges, false).map_err(unreadable)?;
    let mut buf = vec![0u8; crate::hashing::CHUNK_BYTES];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]).map_err(unreadable)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(unreadable(source)),
        }
    }
    hasher.finish().map_err(unreadable)
}
