//! The signed description of a bundle ([`Manifest`], `manifest.json`) and the records it is made
//! of: site and camera, time ranges, the MP4, each source segment and its SHA-256.

use crate::hashing::{from_hex32, to_hex};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

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
    /// File name inside the bundle (always [`VIDEO_FILE`](super::VIDEO_FILE)).
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
    /// Always [`FORMAT`](super::FORMAT) for this version.
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
