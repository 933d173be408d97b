//! The on-disk format of recorded video: segment files and their frame index.
//!
//! A segment file holds about one minute of one camera's H.264 (or H.265) access units exactly as they
//! arrived, never transcoded: each frame is its NAL units in AVCC form (each NAL prefixed by its 4-byte
//! big-endian length), and frames follow each other with no header, padding or gaps. Everything needed to
//! play the bytes lives outside the file, in the segment's database row:
//!
//! - a [`SampleEntry`] (codec, dimensions, `avcC`/`hvcC` decoder configuration), usually shared by many
//!   segments of one camera;
//! - a [`SampleIndex`] (offset, length, 90 kHz duration and key flag of every frame), stored as the blob
//!   from [`SampleIndex::encode`];
//! - the file's length and SHA-256 from [`SegmentSummary`].
//!
//! # Invariants
//!
//! 1. **A file is durable before its index row exists.** [`SegmentWriter::finish`] flushes the file,
//!    `fsync`s it and then `fsync`s its parent directory (so the directory entry survives a crash); only
//!    after it returns may the caller insert the row. A crash at any instant therefore leaves either a
//!    complete file with a row, or a file with no row (an orphan that a cleanup pass may delete), never
//!    a row pointing at missing or short data.
//! 2. **Write once.** [`SegmentWriter::create`] refuses to overwrite an existing file, and nothing in this
//!    crate opens a segment for writing after `finish`.
//! 3. **The index describes the file.** Frames are non-empty, in order, non-overlapping and end at or
//!    before the file length ([`SampleIndex::validate`]); every frame is well-formed AVCC
//!    ([`h264::validate_avcc`], checked on append). The first frame written by the recorder should be a
//!    key frame so that every segment decodes on its own.
//! 4. **The hash covers the whole file**, computed while writing; readers can re-check it
//!    ([`SegmentReader::sha256`]) without trusting the index.

pub mod h264;
mod index;

pub use index::{FrameMeta, IndexDecodeError, IndexInvalid, SAMPLE_INDEX_VERSION, SampleIndex};

use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Video codec of a segment's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// H.264 / AVC; `decoder_config` is an `avcC` record.
    H264,
    /// H.265 / HEVC; `decoder_config` is an `hvcC` record.
    H265,
}

impl Codec {
    /// The MP4 sample entry four-character code (`avc1` or `hvc1`).
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            Codec::H264 => *b"avc1",
            Codec::H265 => *b"hvc1",
        }
    }
}

/// How to decode a segment's frames: what an MP4 `stsd` entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SampleEntry {
    /// Codec of the frames.
    pub codec: Codec,
    /// Picture width, pixels.
    pub width: u16,
    /// Picture height, pixels.
    pub height: u16,
    /// `avcC` (AVCDecoderConfigurationRecord) or `hvcC` bytes, with 4-byte NAL lengths.
    pub decoder_config: Vec<u8>,
}

impl SampleEntry {
    /// Builds an H.264 entry from one SPS and one PPS NAL unit, reading the dimensions from the SPS.
    pub fn h264_from_parameter_sets(sps: &[u8], pps: &[u8]) -> Result<Self, h264::H264Error> {
        let info = h264::parse_sps(sps)?;
        let too_big = |_| h264::H264Error::BadSps("dimensions exceed 65535".into());
        Ok(SampleEntry {
            codec: Codec::H264,
            width: u16::try_from(info.width).map_err(too_big)?,
            height: u16::try_from(info.height).map_err(too_big)?,
            decoder_config: h264::build_avcc_config(sps, pps)?,
        })
    }
}

/// What [`SegmentWriter::finish`] reports about a durable segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSummary {
    /// The frame index to store (encoded) in the segment's row.
    pub sample_index: SampleIndex,
    /// File length in bytes.
    pub bytes: u64,
    /// SHA-256 of the whole file.
    pub sha256: [u8; 32],
    /// Sum of frame durations, 90 kHz units.
    pub duration_90k: u64,
    /// Number of frames.
    pub frame_count: u32,
}

/// Errors reading or writing segment files.
#[derive(Debug, Error)]
pub enum SegmentError {
    /// An I/O operation on `path` failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing to the caller's output (not the segment file) failed.
    #[error("writing output: {0}")]
    Output(#[source] io::Error),
    /// A frame given to [`SegmentWriter::append_frame`] is not well-formed AVCC.
    #[error("frame {frame} is not well-formed AVCC: {source}")]
    BadFrame {
        /// Frame number within the segment.
        frame: u32,
        /// What is wrong.
        #[source]
        source: h264::H264Error,
    },
    /// The segment would exceed the limits of the format (`u32` frame count or length).
    #[error("segment too large: {0}")]
    TooLarge(&'static str),
    /// A frame's index entry does not fit the file.
    #[error("frame at offset {offset} (+{len}) lies outside {path} ({file_len} bytes)")]
    OutOfBounds {
        /// The file.
        path: PathBuf,
        /// Frame offset.
        offset: u64,
        /// Frame length.
        len: u32,
        /// File length.
        file_len: u64,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SegmentError + 'a {
    move |source| SegmentError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// `fsync`s a directory so that entries created or renamed in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), SegmentError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Writes one segment file. Frames are appended in decode order; [`Self::finish`] makes it durable.
///
/// Dropping a writer without calling `finish` leaves a partial file with no durability guarantee; call
/// [`Self::abandon`] to remove it.
pub struct SegmentWriter {
    path: PathBuf,
    out: BufWriter<File>,
    hasher: Sha256,
    index: SampleIndex,
    bytes: u64,
    duration_90k: u64,
}

impl SegmentWriter {
    /// Creates `path`, which must not already exist (segments are write-once).
    pub fn create(path: impl Into<PathBuf>) -> Result<Self, SegmentError> {
        let path = path.into();
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("create", &path))?;
        Ok(SegmentWriter {
            out: BufWriter::with_capacity(256 * 1024, file),
            path,
            hasher: Sha256::new(),
            index: SampleIndex::default(),
            bytes: 0,
            duration_90k: 0,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes appended so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Sum of appended frame durations so far, 90 kHz units (use it to decide when to rotate).
    pub fn duration_90k(&self) -> u64 {
        self.duration_90k
    }

    /// Frames appended so far.
    pub fn frame_count(&self) -> u32 {
        self.index.frames.len() as u32
    }

    /// Appends one access unit in AVCC form (4-byte lengths) and returns its index entry.
    pub fn append_frame(
        &mut self,
        avcc: &[u8],
        duration_90k: u32,
        is_key: bool,
    ) -> Result<FrameMeta, SegmentError> {
        let frame = self.frame_count();
        if frame == u32::MAX {
            return Err(SegmentError::TooLarge("frame count"));
        }
        h264::validate_avcc(avcc).map_err(|source| SegmentError::BadFrame { frame, source })?;
        let len = u32::try_from(avcc.len()).map_err(|_| SegmentError::TooLarge("frame length"))?;
        self.out
            .write_all(avcc)
            .map_err(io_err("write", &self.path))?;
        self.hasher.update(avcc);
        let meta = FrameMeta {
            offset: self.bytes,
            len,
            duration_90k,
            is_key,
        };
        self.index.frames.push(meta);
        self.bytes += u64::from(len);
        self.duration_90k += u64::from(duration_90k);
        Ok(meta)
    }

    /// Flushes and `fsync`s the file, then `fsync`s its parent directory. Only after this returns is it
    /// safe to insert the segment's index row.
    pub fn finish(self) -> Result<SegmentSummary, SegmentError> {
        let SegmentWriter {
            path,
            out,
            hasher,
            index,
            bytes,
            duration_90k,
        } = self;
        let file = out.into_inner().map_err(|e| SegmentError::Io {
            op: "flush",
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_err("fsync", &path))?;
        drop(file);
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        sync_dir(parent)?;
        let frame_count = index.frames.len() as u32;
        Ok(SegmentSummary {
            sample_index: index,
            bytes,
            sha256: hasher.finalize().into(),
            duration_90k,
            frame_count,
        })
    }

    /// Removes the partial file (for a recorder that gives up on a segment).
    pub fn abandon(self) -> Result<(), SegmentError> {
        let SegmentWriter { path, out, .. } = self;
        drop(out);
        std::fs::remove_file(&path).map_err(io_err("remove", &path))
    }
}

/// Reads frames and byte ranges of one segment file.
pub struct SegmentReader {
    path: PathBuf,
    file: File,
    len: u64,
}

impl SegmentReader {
    /// Opens a segment file for reading.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, SegmentError> {
        let path = path.into();
        let file = File::open(&path).map_err(io_err("open", &path))?;
        let len = file.metadata().map_err(io_err("stat", &path))?.len();
        Ok(SegmentReader { path, file, len })
    }

    /// File length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_bounds(&self, offset: u64, len: u32) -> Result<(), SegmentError> {
        if offset
            .checked_add(u64::from(len))
            .is_none_or(|end| end > self.len)
        {
            return Err(SegmentError::OutOfBounds {
                path: self.path.clone(),
                offset,
                len,
                file_len: self.len,
            });
        }
        Ok(())
    }

    /// Reads one frame into `buf` (replacing its contents).
    pub fn read_frame(&mut self, frame: &FrameMeta, buf: &mut Vec<u8>) -> Result<(), SegmentError> {
        self.check_bounds(frame.offset, frame.len)?;
        buf.clear();
        buf.resize(frame.len as usize, 0);
        self.file
            .seek(SeekFrom::Start(frame.offset))
            .map_err(io_err("seek", &self.path))?;
        self.file
            .read_exact(buf)
            .map_err(io_err("read", &self.path))
    }

    /// Copies `len` bytes starting at `offset` to `out` through a fixed-size buffer (constant memory).
    pub fn copy_range(
        &mut self,
        offset: u64,
        len: u64,
        out: &mut impl Write,
    ) -> Result<u64, SegmentError> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            let len32 = u32::try_from(len).unwrap_or(u32::MAX);
            return Err(SegmentError::OutOfBounds {
                path: self.path.clone(),
                offset,
                len: len32,
                file_len: self.len,
            });
        }
        self.file
            .seek(SeekFrom::Start(offset))
            .map_err(io_err("seek", &self.path))?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut left = len;
        while left > 0 {
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            self.file
                .read_exact(&mut buf[..n])
                .map_err(io_err("read", &self.path))?;
            out.write_all(&buf[..n]).map_err(SegmentError::Output)?;
            left -= n as u64;
        }
        Ok(len)
    }

    /// Streams the whole file through SHA-256.
    pub fn sha256(&mut self) -> Result<[u8; 32], SegmentError> {
        let mut hasher = Sha256::new();
        self.copy_range(0, self.len, &mut HashWriter(&mut hasher))?;
        Ok(hasher.finalize().into())
    }
}

/// A [`Write`] sink that feeds a SHA-256 hasher.
struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8, len: usize) -> Vec<u8> {
        let mut v = Vec::new();
        h264::push_avcc_nal(&mut v, &vec![n; len]).unwrap();
        v
    }

    #[test]
    fn write_read_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        let mut w = SegmentWriter::create(&path).unwrap();
        let frames: Vec<Vec<u8>> = (0..20)
            .map(|i| frame(0x41 + i, 100 + usize::from(i) * 10))
            .collect();
        for (i, f) in frames.iter().enumerate() {
            w.append_frame(f, 6000, i % 10 == 0).unwrap();
        }
        assert!(matches!(
            w.append_frame(&[0, 0, 0, 9, 1], 6000, false),
            Err(SegmentError::BadFrame { frame: 20, .. })
        ));
        let summary = w.finish().unwrap();
        let all: Vec<u8> = frames.concat();
        assert_eq!(summary.bytes, all.len() as u64);
        assert_eq!(summary.frame_count, 20);
        assert_eq!(summary.duration_90k, 20 * 6000);
        assert_eq!(summary.sha256, <[u8; 32]>::from(Sha256::digest(&all)));
        assert_eq!(std::fs::read(&path).unwrap(), all);
        summary.sample_index.validate(Some(summary.bytes)).unwrap();

        let mut r = SegmentReader::open(&path).unwrap();
        let mut buf = Vec::new();
        for (meta, f) in summary.sample_index.frames.iter().zip(&frames) {
            r.read_frame(meta, &mut buf).unwrap();
            assert_eq!(&buf, f);
        }
        assert_eq!(r.sha256().unwrap(), summary.sha256);
        let mut out = Vec::new();
        r.copy_range(3, 50, &mut out).unwrap();
        assert_eq!(out, all[3..53]);
        let bad = FrameMeta {
            offset: summary.bytes - 1,
            len: 2,
            duration_90k: 1,
            is_key: false,
        };
        assert!(matches!(
            r.read_frame(&bad, &mut buf),
            Err(SegmentError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn create_refuses_existing_file_and_abandon_removes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        let w = SegmentWriter::create(&path).unwrap();
        assert!(matches!(
            SegmentWriter::create(&path),
            Err(SegmentError::Io { op: "create", .. })
        ));
        w.abandon().unwrap();
        assert!(!path.exists());
    }
}
