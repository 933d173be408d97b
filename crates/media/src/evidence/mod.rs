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
//! [`verify()`] checks internal consistency under the key shipped in the bundle and reports that key's
//! fingerprint; a recipient compares it with the site's published key, or calls [`verify_with_key`] with
//! the trusted key. Verification streams the MP4 once in 1 MiB chunks (constant memory) and hashes each
//! byte once: the signed manifest holds a hash for every source segment's range and one
//! (`container_sha256`) for all the bytes outside them, so together they cover the whole file; the
//! whole-file `sha256` is there for people checking with `sha256sum`.
//!
//! The parts: the manifest and its records (`manifest`), making a bundle (`export`), checking one
//! (`verify`).

mod export;
mod manifest;
mod verify;

#[cfg(test)]
mod tests;

use crate::hashing::to_hex;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

pub use export::{ExportError, ExportReport, ExportRequest, ExportSegment, export_bundle};
pub use manifest::{
    Manifest, ManifestError, Named, SegmentRecord, Sha256Hex, TimeRange, VideoRecord,
};
pub use verify::{VerifyError, VerifyReport, parse_public_key_pem, verify, verify_with_key};

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

/// Every file a bundle defines; the verifier reports any other file in the directory as unlisted.
pub const BUNDLE_FILES: [&str; 5] = [
    VIDEO_FILE,
    MANIFEST_FILE,
    SIGNATURE_FILE,
    KEY_FILE,
    README_FILE,
];

/// The fingerprint printed for a public key: SHA-256 of its 32 bytes, hex.
pub fn key_fingerprint(key: &VerifyingKey) -> String {
    to_hex(&Sha256::digest(key.to_bytes()))
}
