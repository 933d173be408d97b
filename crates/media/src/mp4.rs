//! Progressive MP4 export of recorded segments: `ftyp`, `moov` (with complete `stbl` tables), `mdat`.
//!
//! The frames are copied byte for byte from the segment files (no transcoding): a segment's AVCC frames are
//! already what an MP4 `avc1`/`hvc1` track stores. [`Mp4Plan::new`] computes the whole `moov` from the
//! segments' [`SampleIndex`]es before any media byte is read, so the file's exact length is known up front
//! (for `Content-Length`) and [`Mp4Plan::write_range`] can stream any byte range (HTTP `Range` requests)
//! with a fixed-size copy buffer, however long the export.
//!
//! Layout decisions:
//! - one video track, timescale 90 kHz, sample durations from the index (`stts` run-length encoded);
//! - one `stsd` entry per distinct [`SampleEntry`] (a camera may change resolution between segments);
//! - one chunk per contiguous run of frames in a segment file; a whole segment written by
//!   [`crate::segment::SegmentWriter`] is exactly one chunk, so its bytes appear unchanged and contiguous
//!   in the `mdat` ([`Mp4Plan::segment_ranges`]), which lets an evidence verifier re-check each source
//!   segment's SHA-256 inside the MP4;
//! - `co64` instead of `stco` and a 64-bit `mdat` header only when the file needs them;
//! - `stss` lists key frames unless every frame is a key frame.
//!
//! Not supported: composition offsets (`ctts`; the segment format has none, so streams with B-frames would
//! play in decode order), audio.

use crate::segment::{Codec, FrameMeta, SampleEntry, SampleIndex, SegmentError, SegmentReader};
use std::io::{self, Write};
use std::ops::Range;
use std::path::PathBuf;
use thiserror::Error;

/// One source segment of an export: how to decode it, its index, its file and which frames to include.
#[derive(Debug, Clone)]
pub struct Mp4Segment {
    /// Decoder configuration for the segment's frames.
    pub entry: SampleEntry,
    /// The segment's frame index.
    pub index: SampleIndex,
    /// The segment file.
    pub path: PathBuf,
    /// Frames to include (indexes into `index.frames`); should start at a key frame.
    pub frames: Range<usize>,
}

impl Mp4Segment {
    /// A segment included whole.
    pub fn whole(entry: SampleEntry, index: SampleIndex, path: impl Into<PathBuf>) -> Self {
        let frames = 0..index.frames.len();
        Mp4Segment {
            entry,
            index,
            path: path.into(),
            frames,
        }
    }
}

/// Errors planning or writing an MP4.
#[derive(Debug, Error)]
pub enum Mp4Error {
    /// No frames were selected.
    #[error("no frames to export")]
    NoFrames,
    /// A segment's index is not valid.
    #[error("segment {segment}: invalid index: {source}")]
    InvalidIndex {
        /// Position of the segment in the input list.
        segment: usize,
        /// What is wrong.
        #[source]
        source: crate::segment::IndexInvalid,
    },
    /// A segment's frame range lies outside its index.
    #[error("segment {segment}: frame range {start}..{end} outside {count} frames")]
    BadFrameRange {
        /// Position of the segment in the input list.
        segment: usize,
        /// Range start.
        start: usize,
        /// Range end.
        end: usize,
        /// Frames in the index.
        count: usize,
    },
    /// Segments mix H.264 and H.265 (one track cannot hold both).
    #[error("segment {0} changes codec within one export")]
    MixedCodecs(usize),
    /// Reading a segment failed (missing, shorter than its index, I/O error).
    #[error(transparent)]
    Segment(#[from] SegmentError),
    /// Writing the output failed.
    #[error("writing MP4 output: {0}")]
    Output(#[source] io::Error),
    /// The requested byte range is outside the file.
    #[error("byte range {start}..{end} outside MP4 of {len} bytes")]
    BadByteRange {
        /// Range start.
        start: u64,
        /// Range end.
        end: u64,
        /// MP4 length.
        len: u64,
    },
}

/// A contiguous run of frame bytes copied from one segment file into the `mdat`.
#[derive(Debug, Clone)]
struct Run {
    segment: usize,
    src_offset: u64,
    len: u64,
    out_offset: u64,
}

/// A fully computed MP4 layout: the header bytes (`ftyp`, `moov`, `mdat` header) and where every run of
/// frame bytes comes from. Memory is proportional to the frame count (the `moov` tables), never to bytes.
#[derive(Debug, Clone)]
pub struct Mp4Plan {
    header: Vec<u8>,
    runs: Vec<Run>,
    paths: Vec<PathBuf>,
    segment_ranges: Vec<Range<u64>>,
    total_len: u64,
    frame_count: u64,
    duration_90k: u64,
}

impl Mp4Plan {
    /// Computes the layout of an MP4 holding `segments` in order, back to back on one timeline.
    pub fn new(segments: &[Mp4Segment]) -> Result<Self, Mp4Error> {
        let mut entries: Vec<&SampleEntry> = Vec::new();
        let mut samples = Vec::new(); // (FrameMeta, sample description index 1-based, segment)
        let mut codec = None;
        for (si, seg) in segments.iter().enumerate() {
            seg.index
                .validate(None)
                .map_err(|source| Mp4Error::InvalidIndex {
                    segment: si,
                    source,
                })?;
            let count = seg.index.frames.len();
            let selected =
                seg.index
                    .frames
                    .get(seg.frames.clone())
                    .ok_or(Mp4Error::BadFrameRange {
                        segment: si,
                        start: seg.frames.start,
                        end: seg.frames.end,
                        count,
                    })?;
            if selected.is_empty() {
                continue;
            }
            if *codec.get_or_insert(seg.entry.codec) != seg.entry.codec {
                return Err(Mp4Error::MixedCodecs(si));
            }
            let sdi = match entries.iter().position(|e| **e == seg.entry) {
                Some(i) => i + 1,
                None => {
                    entries.push(&seg.entry);
                    entries.len()
                }
            };
            samples.extend(selected.iter().map(|f| (*f, sdi as u32, si)));
        }
        if samples.is_empty() {
            return Err(Mp4Error::NoFrames);
        }

        // Chunks: maximal runs of frames contiguous in one segment file.
        let mut chunks: Vec<Chunk> = Vec::new();
        for &(f, sdi, seg) in &samples {
            match chunks.last_mut() {
                Some(c) if c.segment == seg && c.src_offset + c.len == f.offset => {
                    c.len += u64::from(f.len);
                    c.samples += 1;
                }
                _ => chunks.push(Chunk {
                    segment: seg,
                    src_offset: f.offset,
                    len: u64::from(f.len),
                    samples: 1,
                    sdi,
                }),
            }
        }
        let data_len: u64 = chunks.iter().map(|c| c.len).sum();
        let frames: Vec<FrameMeta> = samples.iter().map(|s| s.0).collect();
        let duration_90k: u64 = frames.iter().map(|f| u64::from(f.duration_90k)).sum();

        let ftyp = ftyp();
        let tables = Tables {
            entries: &entries,
            frames: &frames,
            chunks: &chunks,
            duration_90k,
        };
        let large_mdat = data_len + 8 > u64::from(u32::MAX);
        let mdat_header_len = if large_mdat { 16 } else { 8 };
        let mut co64 = false;
        let mut moov = tables.moov(0, co64);
        let mut base = ftyp.len() as u64 + moov.len() as u64 + mdat_header_len;
        if base + data_len > u64::from(u32::MAX) {
            co64 = true;
            moov = tables.moov(0, co64);
            base = ftyp.len() as u64 + moov.len() as u64 + mdat_header_len;
        }
        let moov = tables.moov(base, co64);

        let mut header = ftyp;
        header.extend_from_slice(&moov);
        if large_mdat {
            header.extend_from_slice(&1u32.to_be_bytes());
            header.extend_from_slice(b"mdat");
            header.extend_from_slice(&(data_len + 16).to_be_bytes());
        } else {
            header.extend_from_slice(&((data_len + 8) as u32).to_be_bytes());
            header.extend_from_slice(b"mdat");
        }
        debug_assert_eq!(header.len() as u64, base);

        let mut runs = Vec::with_capacity(chunks.len());
        let mut segment_ranges: Vec<Range<u64>> = vec![0..0; segments.len()];
        let mut out_offset = base;
        for c in &chunks {
            runs.push(Run {
                segment: c.segment,
                src_offset: c.src_offset,
                len: c.len,
                out_offset,
            });
            let r = &mut segment_ranges[c.segment];
            if r.is_empty() {
                *r = out_offset..out_offset + c.len;
            } else {
                r.end = out_offset + c.len;
            }
            out_offset += c.len;
        }
        Ok(Mp4Plan {
            header,
            runs,
            paths: segments.iter().map(|s| s.path.clone()).collect(),
            segment_ranges,
            total_len: out_offset,
            frame_count: frames.len() as u64,
            duration_90k,
        })
    }

    /// Exact length of the MP4 file in bytes.
    pub fn total_len(&self) -> u64 {
        self.total_len
    }

    /// Number of video frames (samples).
    pub fn frame_count(&self) -> u64 {
        self.frame_count
    }

    /// Total duration, 90 kHz units.
    pub fn duration_90k(&self) -> u64 {
        self.duration_90k
    }

    /// Length of the `ftyp` + `moov` + `mdat` header, i.e. where the frame data starts.
    pub fn header_len(&self) -> u64 {
        self.header.len() as u64
    }

    /// For each input segment, the byte range of the MP4 holding its selected frames (empty if none were
    /// selected). For a whole segment written by `SegmentWriter` it holds exactly the file's bytes.
    pub fn segment_ranges(&self) -> &[Range<u64>] {
        &self.segment_ranges
    }

    /// Writes the whole MP4 to `out`. Returns the number of bytes written.
    pub fn write_to(&self, out: &mut impl Write) -> Result<u64, Mp4Error> {
        self.write_range(0..self.total_len, out)
    }

    /// Writes bytes `range` of the MP4 to `out` (for HTTP range requests). Memory use is constant.
    pub fn write_range(&self, range: Range<u64>, out: &mut impl Write) -> Result<u64, Mp4Error> {
        if range.start > range.end || range.end > self.total_len {
            return Err(Mp4Error::BadByteRange {
                start: range.start,
                end: range.end,
                len: self.total_len,
            });
        }
        let header_len = self.header.len() as u64;
        if range.start < header_len {
            let end = range.end.min(header_len);
            out.write_all(&self.header[range.start as usize..end as usize])
                .map_err(Mp4Error::Output)?;
        }
        // First run that ends after range.start.
        let first = self
            .runs
            .partition_point(|r| r.out_offset + r.len <= range.start);
        let mut reader: Option<(usize, SegmentReader)> = None;
        for run in &self.runs[first..] {
            if run.out_offset >= range.end {
                break;
            }
            let start = range.start.max(run.out_offset);
            let end = range.end.min(run.out_offset + run.len);
            let rd = match &mut reader {
                Some((seg, rd)) if *seg == run.segment => rd,
                _ => {
                    &mut reader
                        .insert((run.segment, SegmentReader::open(&self.paths[run.segment])?))
                        .1
                }
            };
            rd.copy_range(run.src_offset + (start - run.out_offset), end - start, out)
                .map_err(|e| match e {
                    SegmentError::Output(io) => Mp4Error::Output(io),
                    e => Mp4Error::Segment(e),
                })?;
        }
        Ok(range.end - range.start)
    }
}

#[derive(Debug)]
struct Chunk {
    segment: usize,
    src_offset: u64,
    len: u64,
    samples: u32,
    sdi: u32,
}

/// Appends boxes to a buffer, patching sizes when a box is closed.
struct Boxes(Vec<u8>);

impl Boxes {
    fn open(&mut self, fourcc: &[u8; 4]) -> usize {
        let pos = self.0.len();
        self.0.extend_from_slice(&[0, 0, 0, 0]);
        self.0.extend_from_slice(fourcc);
        pos
    }
    fn open_full(&mut self, fourcc: &[u8; 4], version: u8, flags: u32) -> usize {
        let pos = self.open(fourcc);
        self.u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
        pos
    }
    fn close(&mut self, pos: usize) {
        let size = (self.0.len() - pos) as u32;
        self.0[pos..pos + 4].copy_from_slice(&size.to_be_bytes());
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn zeros(&mut self, n: usize) {
        self.0.resize(self.0.len() + n, 0);
    }
    fn matrix(&mut self) {
        for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
            self.u32(v);
        }
    }
}

fn ftyp() -> Vec<u8> {
    let mut b = Boxes(Vec::with_capacity(32));
    let p = b.open(b"ftyp");
    b.bytes(b"isom");
    b.u32(0x200);
    for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
        b.bytes(brand);
    }
    b.close(p);
    b.0
}

struct Tables<'a> {
    entries: &'a [&'a SampleEntry],
    frames: &'a [FrameMeta],
    chunks: &'a [Chunk],
    duration_90k: u64,
}

impl Tables<'_> {
    fn moov(&self, base: u64, co64: bool) -> Vec<u8> {
        let n = self.frames.len();
        let mut b = Boxes(Vec::with_capacity(1024 + n * 6 + self.chunks.len() * 20));
        let long = self.duration_90k > u64::from(u32::MAX);
        let version = u8::from(long);
        let (width, height) = self.entries.first().map_or((0, 0), |e| (e.width, e.height));

        let moov = b.open(b"moov");
        let mvhd = b.open_full(b"mvhd", version, 0);
        self.times(&mut b, long);
        b.u32(0x0001_0000); // rate 1.0
        b.u16(0x0100); // volume 1.0
        b.zeros(10);
        b.matrix();
        b.zeros(24);
        b.u32(2); // next track id
        b.close(mvhd);

        let trak = b.open(b"trak");
        let tkhd = b.open_full(b"tkhd", version, 3); // enabled, in movie
        if long {
            b.u64(0);
            b.u64(0);
            b.u32(1);
            b.u32(0);
            b.u64(self.duration_90k);
        } else {
            b.u32(0);
            b.u32(0);
            b.u32(1);
            b.u32(0);
            b.u32(self.duration_90k as u32);
        }
        b.zeros(8);
        b.u16(0); // layer
        b.u16(0); // alternate group
        b.u16(0); // volume
        b.u16(0);
        b.matrix();
        b.u32(u32::from(width) << 16);
        b.u32(u32::from(height) << 16);
        b.close(tkhd);

        let mdia = b.open(b"mdia");
        let mdhd = b.open_full(b"mdhd", version, 0);
        self.times(&mut b, long);
        b.u16(0x55c4); // language "und"
        b.u16(0);
        b.close(mdhd);
        let hdlr = b.open_full(b"hdlr", 0, 0);
        b.u32(0);
        b.bytes(b"vide");
        b.zeros(12);
        b.bytes(b"VideoHandler\0");
        b.close(hdlr);

        let minf = b.open(b"minf");
        let vmhd = b.open_full(b"vmhd", 0, 1);
        b.zeros(8);
        b.close(vmhd);
        let dinf = b.open(b"dinf");
        let dref = b.open_full(b"dref", 0, 0);
        b.u32(1);
        let url = b.open_full(b"url ", 0, 1); // data in this file
        b.close(url);
        b.close(dref);
        b.close(dinf);

        let stbl = b.open(b"stbl");
        self.stsd(&mut b);

        // stts: run-length encoded durations.
        let stts = b.open_full(b"stts", 0, 0);
        let count_pos = b.0.len();
        b.u32(0);
        let mut runs = 0u32;
        let mut i = 0;
        while i < n {
            let d = self.frames[i].duration_90k;
            let mut j = i + 1;
            while j < n && self.frames[j].duration_90k == d {
                j += 1;
            }
            b.u32((j - i) as u32);
            b.u32(d);
            runs += 1;
            i = j;
        }
        b.0[count_pos..count_pos + 4].copy_from_slice(&runs.to_be_bytes());
        b.close(stts);

        if self.frames.iter().any(|f| !f.is_key) {
            let stss = b.open_full(b"stss", 0, 0);
            let keys: Vec<u32> = self
                .frames
                .iter()
                .enumerate()
                .filter(|(_, f)| f.is_key)
                .map(|(i, _)| i as u32 + 1)
                .collect();
            b.u32(keys.len() as u32);
            keys.into_iter().for_each(|k| b.u32(k));
            b.close(stss);
        }

        // stsc: one entry per change of (samples per chunk, description).
        let stsc = b.open_full(b"stsc", 0, 0);
        let count_pos = b.0.len();
        b.u32(0);
        let mut entries = 0u32;
        let mut prev = None;
        for (ci, c) in self.chunks.iter().enumerate() {
            if prev != Some((c.samples, c.sdi)) {
                b.u32(ci as u32 + 1);
                b.u32(c.samples);
                b.u32(c.sdi);
                entries += 1;
                prev = Some((c.samples, c.sdi));
            }
        }
        b.0[count_pos..count_pos + 4].copy_from_slice(&entries.to_be_bytes());
        b.close(stsc);

        let stsz = b.open_full(b"stsz", 0, 0);
        b.u32(0);
        b.u32(n as u32);
        self.frames.iter().for_each(|f| b.u32(f.len));
        b.close(stsz);

        let co = b.open_full(if co64 { b"co64" } else { b"stco" }, 0, 0);
        b.u32(self.chunks.len() as u32);
        let mut offset = base;
        for c in self.chunks {
            if co64 {
                b.u64(offset);
            } else {
                b.u32(offset as u32);
            }
            offset += c.len;
        }
        b.close(co);

        b.close(stbl);
        b.close(minf);
        b.close(mdia);
        b.close(trak);
        b.close(moov);
        b.0
    }

    /// creation, modification, timescale, duration (for mvhd and mdhd).
    fn times(&self, b: &mut Boxes, long: bool) {
        if long {
            b.u64(0);
            b.u64(0);
            b.u32(90_000);
            b.u64(self.duration_90k);
        } else {
            b.u32(0);
            b.u32(0);
            b.u32(90_000);
            b.u32(self.duration_90k as u32);
        }
    }

    fn stsd(&self, b: &mut Boxes) {
        let stsd = b.open_full(b"stsd", 0, 0);
        b.u32(self.entries.len() as u32);
        for e in self.entries {
            let entry = b.open(&e.codec.fourcc());
            b.zeros(6);
            b.u16(1); // data reference index
            b.zeros(16);
            b.u16(e.width);
            b.u16(e.height);
            b.u32(0x0048_0000); // 72 dpi
            b.u32(0x0048_0000);
            b.u32(0);
            b.u16(1); // frame count
            let name = b"Strongroom";
            b.u8(name.len() as u8);
            b.bytes(name);
            b.zeros(31 - name.len());
            b.u16(0x0018); // depth
            b.u16(0xffff); // pre_defined = -1
            let config = b.open(match e.codec {
                Codec::H264 => b"avcC",
                Codec::H265 => b"hvcC",
            });
            b.bytes(&e.decoder_config);
            b.close(config);
            b.close(entry);
        }
        b.close(stsd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{SegmentWriter, h264};

    fn entry() -> SampleEntry {
        SampleEntry {
            codec: Codec::H264,
            width: 64,
            height: 48,
            decoder_config: vec![1, 0x42, 0, 0x1e, 0xff, 0xe0, 0],
        }
    }

    fn write_segment(dir: &std::path::Path, name: &str, frames: usize, fill: u8) -> Mp4Segment {
        let path = dir.join(name);
        let mut w = SegmentWriter::create(&path).unwrap();
        for i in 0..frames {
            let mut f = Vec::new();
            h264::push_avcc_nal(&mut f, &vec![fill; 10 + i]).unwrap();
            w.append_frame(&f, 3000, i % 5 == 0).unwrap();
        }
        let s = w.finish().unwrap();
        Mp4Segment::whole(entry(), s.sample_index, path)
    }

    fn find_box(buf: &[u8], fourcc: &[u8; 4]) -> Option<usize> {
        buf.windows(4).position(|w| w == fourcc).map(|p| p - 4)
    }

    #[test]
    fn layout_ranges_and_byte_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let segs = vec![
            write_segment(dir.path(), "a", 10, 0xa1),
            write_segment(dir.path(), "b", 7, 0xb2),
        ];
        let plan = Mp4Plan::new(&segs).unwrap();
        let mut out = Vec::new();
        assert_eq!(plan.write_to(&mut out).unwrap(), plan.total_len());
        assert_eq!(out.len() as u64, plan.total_len());
        assert_eq!(plan.frame_count(), 17);
        assert_eq!(plan.duration_90k(), 17 * 3000);
        // Each segment's bytes sit unchanged in the mdat at the advertised range.
        for seg in &segs {
            let i = segs.iter().position(|s| s.path == seg.path).unwrap();
            let r = plan.segment_ranges()[i].clone();
            assert_eq!(
                &out[r.start as usize..r.end as usize],
                std::fs::read(&seg.path).unwrap().as_slice()
            );
        }
        // stco has two chunks pointing at the segment starts.
        let stco = find_box(&out, b"stco").unwrap();
        let chunk_count = u32::from_be_bytes(out[stco + 12..stco + 16].try_into().unwrap());
        assert_eq!(chunk_count, 2);
        let first = u32::from_be_bytes(out[stco + 16..stco + 20].try_into().unwrap());
        assert_eq!(u64::from(first), plan.segment_ranges()[0].start);
        // stss lists every 5th frame of each segment.
        assert!(find_box(&out, b"stss").is_some());
        // Any sub-range streams the same bytes.
        for (s, e) in [
            (0, 10),
            (5, plan.header_len() + 3),
            (plan.header_len() + 50, plan.total_len()),
            (7, 7),
        ] {
            let mut part = Vec::new();
            plan.write_range(s..e, &mut part).unwrap();
            assert_eq!(part, out[s as usize..e as usize]);
        }
        assert!(matches!(
            plan.write_range(0..plan.total_len() + 1, &mut Vec::new()),
            Err(Mp4Error::BadByteRange { .. })
        ));
    }

    /// Walks a box tree, checking that every container's children exactly fill it; returns the paths seen.
    fn walk(buf: &[u8], prefix: &str, out: &mut Vec<String>) {
        const CONTAINERS: [&[u8; 4]; 7] = [
            b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl", b"dref",
        ];
        let mut pos = 0;
        while pos < buf.len() {
            let size = u32::from_be_bytes(buf[pos..pos + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = buf[pos + 4..pos + 8].try_into().unwrap();
            assert!(
                size >= 8 && pos + size <= buf.len(),
                "bad size {size} for {kind:?} at {prefix}"
            );
            let path = format!("{prefix}/{}", String::from_utf8_lossy(&kind));
            out.push(path.clone());
            if CONTAINERS.contains(&&kind) {
                let skip = if &kind == b"dref" { 16 } else { 8 };
                walk(&buf[pos + skip..pos + size], &path, out);
            }
            pos += size;
        }
    }

    #[test]
    fn large_file_and_long_duration_use_64_bit_fields() {
        let frames: Vec<FrameMeta> = (0..3)
            .map(|i| FrameMeta {
                offset: i * 10,
                len: 10,
                duration_90k: u32::MAX,
                is_key: true,
            })
            .collect();
        let chunks = [Chunk {
            segment: 0,
            src_offset: 0,
            len: 30,
            samples: 3,
            sdi: 1,
        }];
        let e = entry();
        let entries = [&e];
        let duration_90k = 3 * u64::from(u32::MAX);
        let tables = Tables {
            entries: &entries,
            frames: &frames,
            chunks: &chunks,
            duration_90k,
        };
        let base = 5_000_000_000u64;
        let moov = tables.moov(base, true);
        let mut paths = Vec::new();
        walk(&moov, "", &mut paths);
        for p in [
            "/moov/mvhd",
            "/moov/trak/tkhd",
            "/moov/trak/mdia/minf/stbl/co64",
            "/moov/trak/mdia/minf/dinf/dref/url ",
        ] {
            assert!(paths.iter().any(|x| x == p), "{p} missing from {paths:?}");
        }
        assert!(
            !paths.iter().any(|x| x.ends_with("stss")),
            "all frames are key frames"
        );
        let mvhd = find_box(&moov, b"mvhd").unwrap();
        assert_eq!(moov[mvhd + 8], 1, "mvhd version 1");
        assert_eq!(
            u64::from_be_bytes(moov[mvhd + 32..mvhd + 40].try_into().unwrap()),
            duration_90k
        );
        let co64 = find_box(&moov, b"co64").unwrap();
        assert_eq!(
            u64::from_be_bytes(moov[co64 + 16..co64 + 24].try_into().unwrap()),
            base
        );
        // The same tables with 32-bit fields have the same structure.
        let small = Tables {
            duration_90k: 1000,
            ..tables
        };
        let mut paths32 = Vec::new();
        walk(&small.moov(100, false), "", &mut paths32);
        assert_eq!(paths32.len(), paths.len());
        assert!(paths32.iter().any(|x| x.ends_with("/stco")));
    }

    #[test]
    fn box_tree_is_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = write_segment(dir.path(), "b", 4, 2);
        b.entry.width = 32; // a second sample description
        let plan = Mp4Plan::new(&[write_segment(dir.path(), "a", 6, 1), b]).unwrap();
        let mut out = Vec::new();
        plan.write_to(&mut out).unwrap();
        let mut paths = Vec::new();
        walk(&out, "", &mut paths);
        assert_eq!(paths[0], "/ftyp");
        assert_eq!(paths.last().unwrap(), "/mdat");
        let stsd = find_box(&out, b"stsd").unwrap();
        assert_eq!(
            u32::from_be_bytes(out[stsd + 12..stsd + 16].try_into().unwrap()),
            2
        );
        let stsc = find_box(&out, b"stsc").unwrap();
        assert_eq!(
            u32::from_be_bytes(out[stsc + 12..stsc + 16].try_into().unwrap()),
            2
        );
    }

    #[test]
    fn rejects_empty_and_bad_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = write_segment(dir.path(), "a", 3, 1);
        seg.frames = 1..1;
        assert!(matches!(
            Mp4Plan::new(std::slice::from_ref(&seg)),
            Err(Mp4Error::NoFrames)
        ));
        seg.frames = 2..9;
        assert!(matches!(
            Mp4Plan::new(&[seg]),
            Err(Mp4Error::BadFrameRange { segment: 0, .. })
        ));
    }

    #[test]
    fn output_failure_is_reported_as_output() {
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(io::Error::other("disk full"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let plan = Mp4Plan::new(&[write_segment(dir.path(), "a", 3, 1)]).unwrap();
        for room in [0, plan.header_len() as usize + 5] {
            assert!(
                matches!(plan.write_to(&mut Full(room)), Err(Mp4Error::Output(_))),
                "room {room}"
            );
        }
    }

    #[test]
    fn missing_segment_file_is_an_error_while_streaming() {
        let dir = tempfile::tempdir().unwrap();
        let seg = write_segment(dir.path(), "a", 3, 1);
        let plan = Mp4Plan::new(std::slice::from_ref(&seg)).unwrap();
        std::fs::remove_file(&seg.path).unwrap();
        assert!(matches!(
            plan.write_to(&mut Vec::new()),
            Err(Mp4Error::Segment(SegmentError::Io { op: "open", .. }))
        ));
    }
}
