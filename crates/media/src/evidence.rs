//! Signed evidence bundles (EXP-05, EXP-06, EXP-08): a camera × time range exported so that anyone can
//! check, offline, that the recorded images were not altered.
//!
//! # Bundle layout
//!
//! A bundle is a plain directory (copy it to a USB stick, zip it for mail; nothing proprietary):
//!
//! | file | content |
//! | --- | --- |
//! | `video.mp4` | the source segments remuxed, never re-encoded ([`crate::mp4`]); plays in stock players |
//! | `manifest.json` | [`Manifest`]: site, camera, time ranges, exporter, reason, journal sequence number, creation time, SHA-256 of the MP4 and of every source segment with its byte range inside the MP4 |
//! | `manifest.sig` | 64-byte raw Ed25519 signature over the exact bytes of `manifest.json` |
//! | `site_key.pem` | the site's Ed25519 public key (SubjectPublicKeyInfo PEM) |
//! | `README.txt` | how to verify with the `strongroom` tool or with `openssl` and `sha256sum` (not covered by the signature) |
//!
//! Whole segments are exported (the covered range is the requested range widened to segment boundaries),
//! so each source segment's bytes sit unchanged and contiguous in the MP4's `mdat`. The verifier recomputes
//! their SHA-256 from the MP4 and compares them with the hashes recorded when the segments were written
//! (the ones in the site's journal), which proves the frames are the originals, not merely that the MP4 is
//! what the exporter produced.
//!
//! # Trust
//!
//! [`verify`] checks internal consistency under the key shipped in the bundle and reports that key's
//! fingerprint; a recipient compares it with the site's published key, or calls [`verify_with_key`] with
//! the trusted key. Verification streams the MP4 once in 1 MiB chunks (constant memory) and hashes each
//! byte once: the signed manifest holds a hash for every source segment's range and one
//! (`container_sha256`) for all the bytes outside them, so together they cover the whole file; the
//! whole-file `sha256` is there for people checking with `sha256sum`.

use crate::hashing::{DurableFileWriter, StreamHasher, StreamHashes, from_hex32, to_hex};
use crate::mp4::{Mp4Error, Mp4Plan, Mp4Segment};
use crate::segment::{Codec, SampleEntry, SampleIndex, sync_dir};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Bundle file holding the MP4.
pub const VIDEO_FILE: &str = "video.mp4";
/// Bundle file holding the manifest.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Bundle file holding the raw 64-byte Ed25519 signature over the manifest bytes.
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// Bundle file holding the site's public key (PEM).
pub const KEY_FILE: &str = "site_key.pem";
/// Bundle file with human-readable verification instructions (unsigned).
pub const README_FILE: &str = "README.txt";
/// Value of [`Manifest::format`] written by this version.
pub const FORMAT: &str = "strongroom-evidence/1";

const MAX_MANIFEST_BYTES: u64 = 64 << 20;
const MAX_KEY_BYTES: u64 = 4096;

/// A SHA-256 digest, serialized as 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Hex(pub [u8; 32]);

impl Serialize for Sha256Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for Sha256Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        from_hex32(&s)
            .map(Sha256Hex)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

impl std::fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

/// An identified thing (site, camera).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    /// Stable identifier.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A half-open UTC time range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: Timestamp,
    /// Exclusive end.
    pub end: Timestamp,
}

/// The MP4's description in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoRecord {
    /// File name inside the bundle (always [`VIDEO_FILE`]).
    pub file: String,
    /// Length in bytes.
    pub bytes: u64,
    /// SHA-256 of the whole file (what `sha256sum` prints).
    pub sha256: Sha256Hex,
    /// SHA-256 of the file's bytes outside the segment ranges (`ftyp`, `moov`, `mdat` header), in order.
    /// With the segments' hashes it covers every byte exactly once, so the verifier reads each byte once.
    pub container_sha256: Sha256Hex,
    /// `h264` or `h265`.
    pub codec: String,
    /// Width of the first segment, pixels.
    pub width: u16,
    /// Height of the first segment, pixels.
    pub height: u16,
    /// Number of frames.
    pub frame_count: u64,
    /// Sum of frame durations, 90 kHz units.
    pub duration_90k: u64,
    /// Average frame rate over the recorded frames.
    pub fps: f64,
}

/// One source segment in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRecord {
    /// The segment's identifier in the site's index.
    pub id: String,
    /// Wall-clock time of the first frame.
    pub start: Timestamp,
    /// Wall-clock end of the last frame.
    pub end: Timestamp,
    /// Length of the segment file (and of its range in the MP4).
    pub bytes: u64,
    /// SHA-256 of the segment file as recorded.
    pub sha256: Sha256Hex,
    /// Offset of the segment's bytes inside the MP4.
    pub mp4_offset: u64,
    /// Number of frames.
    pub frame_count: u32,
}

/// The signed description of a bundle (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`] for this version.
    pub format: String,
    /// The site.
    pub site: Named,
    /// The camera.
    pub camera: Named,
    /// The range the user asked for.
    pub requested_range: TimeRange,
    /// The range actually covered (whole segments).
    pub covered_range: TimeRange,
    /// The exporting user.
    pub exported_by: String,
    /// Why the export was made.
    pub reason: String,
    /// Sequence number of the export event in the site journal.
    pub journal_seq: u64,
    /// When the bundle was made.
    pub created_at: Timestamp,
    /// The MP4.
    pub video: VideoRecord,
    /// Source segments in time order.
    pub segments: Vec<SegmentRecord>,
    /// The signing key, 64 hex digits (also in `site_key.pem`).
    pub public_key: String,
}

/// Errors parsing a manifest.
#[derive(Debug, Error)]
#[error("malformed manifest: {0}")]
pub struct ManifestError(#[from] serde_json::Error);

impl Manifest {
    /// Parses manifest bytes (strict: unknown fields are rejected).
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// Serializes the manifest as pretty JSON with a trailing newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ManifestError> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }
}

/// One source segment to export.
#[derive(Debug, Clone)]
pub struct ExportSegment {
    /// The segment's identifier in the site's index.
    pub id: String,
    /// Wall-clock time of the first frame.
    pub start: Timestamp,
    /// Wall-clock end of the last frame.
    pub end: Timestamp,
    /// Decoder configuration.
    pub entry: SampleEntry,
    /// Frame index.
    pub index: SampleIndex,
    /// Segment file.
    pub path: PathBuf,
    /// SHA-256 recorded when the segment was written; the export fails if the file no longer matches.
    pub expected_sha256: Option<[u8; 32]>,
}

/// What to export and on whose behalf.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The site.
    pub site: Named,
    /// The camera.
    pub camera: Named,
    /// The range the user asked for.
    pub requested_range: TimeRange,
    /// The exporting user.
    pub exported_by: String,
    /// Why.
    pub reason: String,
    /// Sequence number of the export event in the journal.
    pub journal_seq: u64,
    /// Creation time (from the injected clock).
    pub created_at: Timestamp,
    /// Segments overlapping the requested range, in time order.
    pub segments: Vec<ExportSegment>,
}

/// Errors making a bundle.
#[derive(Debug, Error)]
pub enum ExportError {
    /// No segments were given.
    #[error("no segments to export")]
    NoSegments,
    /// Segments are out of time order or overlap.
    #[error("segment {0} starts before the previous one ends")]
    Overlap(String),
    /// A segment's index does not describe its whole file with frames back to back.
    #[error("segment {id}: index does not cover the file exactly ({detail})")]
    IndexMismatch {
        /// Segment id.
        id: String,
        /// What differs.
        detail: String,
    },
    /// A segment file no longer matches the hash recorded when it was written.
    #[error(
        "segment {id}: file does not match its recorded SHA-256 (recorded {expected}, found {found})"
    )]
    SourceAltered {
        /// Segment id.
        id: String,
        /// Recorded hash.
        expected: Sha256Hex,
        /// Hash of the file now.
        found: Sha256Hex,
    },
    /// Building the MP4 failed.
    #[error(transparent)]
    Mp4(#[from] Mp4Error),
    /// The output directory already exists.
    #[error("output {0} already exists")]
    Exists(PathBuf),
    /// I/O on the output failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// Where.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Serializing the manifest or key failed.
    #[error("encoding {0}")]
    Encode(String),
}

/// Result of a successful export.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// The bundle directory.
    pub path: PathBuf,
    /// The signed manifest.
    pub manifest: Manifest,
    /// SHA-256 of `manifest.json` (to record in the journal's export event).
    pub manifest_sha256: [u8; 32],
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ExportError + 'a {
    move |source| ExportError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let mut f = File::create_new(path).map_err(io_err("create", path))?;
    f.write_all(bytes).map_err(io_err("write", path))?;
    f.sync_all().map_err(io_err("fsync", path))
}

/// The fingerprint printed for a public key: SHA-256 of its 32 bytes, hex.
pub fn key_fingerprint(key: &VerifyingKey) -> String {
    to_hex(&Sha256::digest(key.to_bytes()))
}

/// Writes a signed bundle into the new directory `out_dir`.
///
/// The bundle is built in `<out_dir>.partial`, every file and the directory are `fsync`ed, and only then is
/// it renamed to `out_dir`, so a crash never leaves a plausible but incomplete bundle under the final name.
pub fn export_bundle(
    req: &ExportRequest,
    key: &SigningKey,
    out_dir: &Path,
) -> Result<ExportReport, ExportError> {
    let first = req.segments.first().ok_or(ExportError::NoSegments)?;
    let last = req.segments.last().ok_or(ExportError::NoSegments)?;
    for pair in req.segments.windows(2) {
        if pair[1].start < pair[0].end {
            return Err(ExportError::Overlap(pair[1].id.clone()));
        }
    }
    let mut mp4_segments = Vec::with_capacity(req.segments.len());
    for s in &req.segments {
        check_whole_file(s)?;
        mp4_segments.push(Mp4Segment::whole(s.entry.clone(), s.index.clone(), &s.path));
    }
    let plan = Mp4Plan::new(&mp4_segments)?;

    if out_dir.exists() {
        return Err(ExportError::Exists(out_dir.to_path_buf()));
    }
    let mut partial = out_dir.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(io_err("remove stale", &partial))?;
    }
    fs::create_dir(&partial).map_err(io_err("create directory", &partial))?;

    // The MP4, hashed whole and per source segment while a writer thread stores and flushes it.
    let video_path = partial.join(VIDEO_FILE);
    let file = File::create_new(&video_path).map_err(io_err("create", &video_path))?;
    let writer = DurableFileWriter::spawn(file).map_err(io_err("start writing", &video_path))?;
    let mut hasher = StreamHasher::new(plan.segment_ranges().to_vec(), true)
        .map_err(io_err("start hashing", &video_path))?
        .tee_to(&writer);
    if let Err(e) = plan.write_to(&mut hasher) {
        drop(hasher);
        let _ = writer.finish();
        let _ = fs::remove_dir_all(&partial);
        return Err(e.into());
    }
    let hashed = hasher.finish();
    writer.finish().map_err(io_err("write", &video_path))?;
    let hashes = hashed.map_err(io_err("hash", &video_path))?;
    let video_sha = hashes
        .whole
        .ok_or_else(|| ExportError::Encode("whole-file hash missing".into()))?;
    let segment_shas = hashes.ranges;

    let mut segments = Vec::with_capacity(req.segments.len());
    for ((s, range), sha) in req
        .segments
        .iter()
        .zip(plan.segment_ranges())
        .zip(segment_shas)
    {
        if let Some(expected) = s.expected_sha256
            && expected != sha
        {
            let _ = fs::remove_dir_all(&partial);
            return Err(ExportError::SourceAltered {
                id: s.id.clone(),
                expected: Sha256Hex(expected),
                found: Sha256Hex(sha),
            });
        }
        segments.push(SegmentRecord {
            id: s.id.clone(),
            start: s.start,
            end: s.end,
            bytes: range.end - range.start,
            sha256: Sha256Hex(sha),
            mp4_offset: range.start,
            frame_count: s.index.frames.len() as u32,
        });
    }
    let duration_90k = plan.duration_90k();
    let fps = if duration_90k == 0 {
        0.0
    } else {
        plan.frame_count() as f64 * 90_000.0 / duration_90k as f64
    };
    let verifying = key.verifying_key();
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        site: req.site.clone(),
        camera: req.camera.clone(),
        requested_range: req.requested_range,
        covered_range: TimeRange {
            start: first.start,
            end: last.end,
        },
        exported_by: req.exported_by.clone(),
        reason: req.reason.clone(),
        journal_seq: req.journal_seq,
        created_at: req.created_at,
        video: VideoRecord {
            file: VIDEO_FILE.to_owned(),
            bytes: plan.total_len(),
            sha256: Sha256Hex(video_sha),
            container_sha256: Sha256Hex(hashes.outside),
            codec: match first.entry.codec {
                Codec::H264 => "h264",
                Codec::H265 => "h265",
            }
            .to_owned(),
            width: first.entry.width,
            height: first.entry.height,
            frame_count: plan.frame_count(),
            duration_90k,
            fps: (fps * 1000.0).round() / 1000.0,
        },
        segments,
        public_key: to_hex(&verifying.to_bytes()),
    };
    let manifest_bytes = manifest
        .to_bytes()
        .map_err(|e| ExportError::Encode(e.to_string()))?;
    let signature = key.sign(&manifest_bytes);
    let pem = verifying
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| ExportError::Encode(e.to_string()))?;

    write_durable(&partial.join(MANIFEST_FILE), &manifest_bytes)?;
    write_durable(&partial.join(SIGNATURE_FILE), &signature.to_bytes())?;
    write_durable(&partial.join(KEY_FILE), pem.as_bytes())?;
    write_durable(
        &partial.join(README_FILE),
        readme(&manifest, &verifying).as_bytes(),
    )?;
    sync_dir(&partial).map_err(|e| ExportError::Io {
        op: "fsync",
        path: partial.clone(),
        source: io::Error::other(e),
    })?;
    fs::rename(&partial, out_dir).map_err(io_err("rename", out_dir))?;
    let parent = out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    sync_dir(parent).map_err(|e| ExportError::Io {
        op: "fsync",
        path: parent.into(),
        source: io::Error::other(e),
    })?;
    Ok(ExportReport {
        path: out_dir.to_path_buf(),
        manifest,
        manifest_sha256: Sha256::digest(&manifest_bytes).into(),
    })
}

/// Checks that a segment's index describes its whole file, frames back to back from byte 0, so that the
/// segment's range in the MP4 is byte-identical to the file.
fn check_whole_file(s: &ExportSegment) -> Result<(), ExportError> {
    let mismatch = |detail: String| ExportError::IndexMismatch {
        id: s.id.clone(),
        detail,
    };
    let mut expected_offset = 0u64;
    for (i, f) in s.index.frames.iter().enumerate() {
        if f.offset != expected_offset {
            return Err(mismatch(format!(
                "frame {i} at offset {} instead of {expected_offset}",
                f.offset
            )));
        }
        expected_offset = f.end();
    }
    let file_len = fs::metadata(&s.path)
        .map_err(io_err("stat", &s.path))?
        .len();
    if file_len != expected_offset {
        return Err(mismatch(format!(
            "file has {file_len} bytes, index covers {expected_offset}"
        )));
    }
    if s.index.frames.is_empty() {
        return Err(mismatch("no frames".into()));
    }
    Ok(())
}

fn readme(m: &Manifest, key: &VerifyingKey) -> String {
    format!(
        "Strongroom evidence bundle ({FORMAT})\n\
         Site: {} ({})\nCamera: {} ({})\nRange: {} to {}\nExported by {} at {} (journal #{}); reason: {}\n\n\
         Files: {VIDEO_FILE} (plays in any MP4 player; frames are the original recording, not re-encoded),\n\
         {MANIFEST_FILE} (what was exported, with SHA-256 hashes), {SIGNATURE_FILE} (Ed25519 signature of\n\
         {MANIFEST_FILE}), {KEY_FILE} (the site's public key). This README is not signed.\n\n\
         Site key fingerprint (SHA-256 of the 32-byte key): {}\n\
         Compare it with the fingerprint the site publishes before trusting the bundle.\n\n\
         Verify with Strongroom:  strongroom evidence verify <this directory>\n\
         Verify by hand:\n\
         1. openssl pkeyutl -verify -pubin -inkey {KEY_FILE} -rawin -in {MANIFEST_FILE} -sigfile {SIGNATURE_FILE}\n\
         2. sha256sum {VIDEO_FILE}   (must equal video.sha256 in {MANIFEST_FILE})\n\
         3. each segment's frames are bytes mp4_offset .. mp4_offset+bytes of {VIDEO_FILE}; their SHA-256\n\
         \x20  must equal the segment's sha256 (the hash recorded when it was written).\n",
        m.site.name,
        m.site.id,
        m.camera.name,
        m.camera.id,
        m.covered_range.start,
        m.covered_range.end,
        m.exported_by,
        m.created_at,
        m.journal_seq,
        m.reason,
        key_fingerprint(key),
    )
}

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
            if ![
                VIDEO_FILE,
                MANIFEST_FILE,
                SIGNATURE_FILE,
                KEY_FILE,
                README_FILE,
            ]
            .contains(&name.as_str())
            {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{SegmentWriter, h264};

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + s).unwrap()
    }

    /// Three fake 2-second segments with a 10-second gap before the last.
    fn request(dir: &Path) -> ExportRequest {
        let entry = SampleEntry {
            codec: Codec::H264,
            width: 64,
            height: 48,
            decoder_config: vec![1, 66, 0, 30, 0xff, 0xe0, 0],
        };
        let mut segments = Vec::new();
        for (i, start) in [0i64, 2, 14].into_iter().enumerate() {
            let path = dir.join(format!("seg{i}"));
            let mut w = SegmentWriter::create(&path).unwrap();
            for f in 0..30u8 {
                let mut frame = Vec::new();
                h264::push_avcc_nal(&mut frame, &vec![0x41 + f; 200 + usize::from(f)]).unwrap();
                w.append_frame(&frame, 6000, f == 0).unwrap();
            }
            let s = w.finish().unwrap();
            segments.push(ExportSegment {
                id: format!("cam1-{i}"),
                start: ts(start),
                end: ts(start + 2),
                entry: entry.clone(),
                index: s.sample_index,
                path,
                expected_sha256: Some(s.sha256),
            });
        }
        ExportRequest {
            site: Named {
                id: "site-1".into(),
                name: "Main St".into(),
            },
            camera: Named {
                id: "cam1".into(),
                name: "Vault door".into(),
            },
            requested_range: TimeRange {
                start: ts(1),
                end: ts(15),
            },
            exported_by: "alice".into(),
            reason: "incident 42".into(),
            journal_seq: 1234,
            created_at: ts(100),
            segments,
        }
    }

    #[test]
    fn export_verify_and_detect_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let req = request(dir.path());
        let bundle = dir.path().join("bundle");
        let report = export_bundle(&req, &key(1), &bundle).unwrap();
        assert!(!dir.path().join("bundle.partial").exists());
        assert_eq!(report.manifest.video.frame_count, 90);
        assert_eq!(report.manifest.video.fps, 15.0);
        assert_eq!(
            report.manifest.covered_range,
            TimeRange {
                start: ts(0),
                end: ts(16)
            }
        );

        let ok = verify_with_key(&bundle, Some(&key(1).verifying_key())).unwrap();
        assert_eq!(ok.manifest, report.manifest);
        assert_eq!(
            ok.gaps,
            vec![TimeRange {
                start: ts(4),
                end: ts(14)
            }]
        );
        assert!(ok.unlisted_files.is_empty());
        assert!(matches!(
            export_bundle(&req, &key(1), &bundle),
            Err(ExportError::Exists(_))
        ));

        // The bundle's own key file parses back to the signing key.
        let pem = fs::read_to_string(bundle.join(KEY_FILE)).unwrap();
        assert_eq!(parse_public_key_pem(&pem).unwrap(), key(1).verifying_key());
        assert!(parse_public_key_pem("nonsense").is_err());

        // Wrong trusted key.
        let e = verify_with_key(&bundle, Some(&key(2).verifying_key())).unwrap_err();
        assert!(matches!(e, VerifyError::WrongKey { .. }), "{e}");

        // One byte of the second segment's frames.
        let copy = |name: &str| {
            let d = dir.path().join(name);
            fs::create_dir(&d).unwrap();
            for f in [
                VIDEO_FILE,
                MANIFEST_FILE,
                SIGNATURE_FILE,
                KEY_FILE,
                README_FILE,
            ] {
                fs::copy(bundle.join(f), d.join(f)).unwrap();
            }
            d
        };
        let t = copy("t1");
        let mut video = fs::read(t.join(VIDEO_FILE)).unwrap();
        let off = report.manifest.segments[1].mp4_offset as usize + 100;
        video[off] ^= 1;
        fs::write(t.join(VIDEO_FILE), &video).unwrap();
        match verify(&t).unwrap_err() {
            VerifyError::VideoAltered { altered_segments } => {
                assert_eq!(altered_segments.len(), 1);
                assert!(
                    altered_segments[0].starts_with("cam1-1 "),
                    "{altered_segments:?}"
                );
            }
            e => panic!("unexpected {e}"),
        }

        // One byte of the container header only.
        let t = copy("t2");
        let mut video = fs::read(t.join(VIDEO_FILE)).unwrap();
        video[40] ^= 1;
        fs::write(t.join(VIDEO_FILE), &video).unwrap();
        let e = verify(&t).unwrap_err();
        assert!(
            matches!(&e, VerifyError::VideoAltered { altered_segments } if altered_segments.is_empty()),
            "{e}"
        );
        assert_eq!(e.part(), VIDEO_FILE);

        // Truncated video.
        let t = copy("t3");
        fs::write(t.join(VIDEO_FILE), &video[..video.len() - 1]).unwrap();
        assert!(matches!(
            verify(&t).unwrap_err(),
            VerifyError::VideoLength { .. }
        ));

        // One byte of the manifest.
        let t = copy("t4");
        let m = fs::read_to_string(t.join(MANIFEST_FILE))
            .unwrap()
            .replace("alice", "alicf");
        fs::write(t.join(MANIFEST_FILE), m).unwrap();
        let e = verify(&t).unwrap_err();
        assert!(matches!(e, VerifyError::BadSignature), "{e}");
        assert_eq!(e.part(), MANIFEST_FILE);

        // Each file deleted.
        for f in [VIDEO_FILE, MANIFEST_FILE, SIGNATURE_FILE, KEY_FILE] {
            let t = copy(&format!("del-{f}"));
            fs::remove_file(t.join(f)).unwrap();
            let e = verify(&t).unwrap_err();
            assert!(
                matches!(e, VerifyError::Missing { part } if part == f),
                "{f}: {e}"
            );
        }

        // Key file replaced by another key.
        let t = copy("t5");
        let pem = key(3)
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        fs::write(t.join(KEY_FILE), pem).unwrap();
        let e = verify(&t).unwrap_err();
        assert!(matches!(e, VerifyError::KeyReplaced { .. }), "{e}");
        assert_eq!(e.part(), KEY_FILE);

        // Everything re-signed by another key: consistent, but not the site's key.
        let t = copy("t6");
        let m = fs::read(t.join(MANIFEST_FILE)).unwrap();
        let mut parsed = Manifest::parse(&m).unwrap();
        parsed.public_key = to_hex(&key(3).verifying_key().to_bytes());
        let m = parsed.to_bytes().unwrap();
        fs::write(t.join(MANIFEST_FILE), &m).unwrap();
        fs::write(t.join(SIGNATURE_FILE), key(3).sign(&m).to_bytes()).unwrap();
        fs::write(
            t.join(KEY_FILE),
            key(3)
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        )
        .unwrap();
        assert!(verify(&t).is_ok());
        assert!(matches!(
            verify_with_key(&t, Some(&key(1).verifying_key())),
            Err(VerifyError::WrongKey { .. })
        ));

        // Truncated signature.
        let t = copy("t7");
        fs::write(t.join(SIGNATURE_FILE), [0u8; 63]).unwrap();
        assert!(matches!(
            verify(&t).unwrap_err(),
            VerifyError::Malformed {
                part: SIGNATURE_FILE,
                ..
            }
        ));
    }

    #[test]
    fn export_refuses_altered_source() {
        let dir = tempfile::tempdir().unwrap();
        let req = request(dir.path());
        let mut bytes = fs::read(&req.segments[2].path).unwrap();
        bytes[10] ^= 0xff;
        fs::write(&req.segments[2].path, bytes).unwrap();
        let bundle = dir.path().join("b");
        let e = export_bundle(&req, &key(1), &bundle).unwrap_err();
        assert!(
            matches!(&e, ExportError::SourceAltered { id, .. } if id == "cam1-2"),
            "{e}"
        );
        assert!(!bundle.exists());
        assert!(!dir.path().join("b.partial").exists());
    }

    #[test]
    fn openssl_can_check_the_signature() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("b");
        export_bundle(&request(dir.path()), &key(1), &bundle).unwrap();
        let out = std::process::Command::new("openssl")
            .current_dir(&bundle)
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                KEY_FILE,
                "-rawin",
                "-in",
                MANIFEST_FILE,
            ])
            .args(["-sigfile", SIGNATURE_FILE])
            .output();
        match out {
            Ok(out) => assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("SKIP: openssl not runnable: {e}"),
        }
    }

    #[test]
    fn manifest_parser_rejects_unknown_fields_and_garbage() {
        assert!(Manifest::parse(b"{}").is_err());
        assert!(Manifest::parse(b"\xff\xfe").is_err());
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("b");
        let r = export_bundle(&request(dir.path()), &key(1), &bundle).unwrap();
        let bytes = r.manifest.to_bytes().unwrap();
        assert_eq!(Manifest::parse(&bytes).unwrap(), r.manifest);
        let extra = String::from_utf8(bytes)
            .unwrap()
            .replacen('{', "{\"extra\": 1,", 1);
        assert!(Manifest::parse(extra.as_bytes()).is_err());
    }
}
