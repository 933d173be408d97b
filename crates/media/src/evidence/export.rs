//! Making a bundle: check the source segments, stream the MP4 while hashing it and each segment's
//! range, compare with the recorded hashes, sign the manifest, write every file durably and only
//! then give the bundle its final name.

use super::{
    FORMAT, KEY_FILE, MANIFEST_FILE, Manifest, Named, README_FILE, SIGNATURE_FILE, SegmentRecord,
    Sha256Hex, TimeRange, VIDEO_FILE, VideoRecord, key_fingerprint,
};
use crate::hashing::{DurableFileWriter, StreamHasher, to_hex};
use crate::mp4::{Mp4Error, Mp4Plan, Mp4Segment};
use crate::segment::{Codec, SampleEntry, SampleIndex, sync_dir};
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

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

/// Maps an I/O error of `op` on `path` to [`ExportError::Io`].
fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ExportError + 'a {
    move |source| ExportError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `path` (which must not exist) with `bytes`, and `fsync`s it.
fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let mut f = File::create_new(path).map_err(io_err("create", path))?;
    f.write_all(bytes).map_err(io_err("write", path))?;
    f.sync_all().map_err(io_err("fsync", path))
}

/// `fsync`s a directory of the export ([`sync_dir`]), so that entries created or renamed in it are durable.
fn sync_export_dir(dir: &Path) -> Result<(), ExportError> {
    sync_dir(dir).map_err(|e| ExportError::Io {
        op: "fsync",
        path: dir.to_path_buf(),
        source: io::Error::other(e),
    })
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
    sync_export_dir(&partial)?;
    fs::rename(&partial, out_dir).map_err(io_err("rename", out_dir))?;
    let parent = out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    sync_export_dir(parent)?;
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

/// The unsigned `README.txt`: what the bundle is and how to verify it by hand.
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
