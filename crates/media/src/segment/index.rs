//! The per-segment frame index ([`SampleIndex`]) and its compact, versioned binary encoding.
//!
//! The encoded index is stored as a blob in the segment's database row, so it must be small (about four
//! bytes per frame at constant frame rate) and must decode safely from any bytes at all.
//!
//! Encoding, version 1 (all integers are unsigned LEB128 varints unless noted):
//!
//! ```text
//! u8      version = 1
//! varint  frame_count
//! per frame:
//!   varint  header = len << 2 | has_gap << 1 | is_key
//!   varint  gap                      (only if has_gap: bytes skipped since the previous frame's end)
//!   varint  zigzag(duration_90k - previous duration_90k)   (previous starts at 0)
//! ```
//!
//! Offsets are not stored: frame `i` starts where frame `i - 1` ended plus its gap (the first frame
//! starts at 0 plus its gap). Segment files written by [`super::SegmentWriter`] never have gaps.
//! Decoding rejects trailing bytes, unknown versions, non-minimal varints, a zero gap and values out of
//! range, so the encoding is canonical: whatever decodes re-encodes to the same bytes.

use thiserror::Error;

/// Current encoding version written by [`SampleIndex::encode`].
pub const SAMPLE_INDEX_VERSION: u8 = 1;

/// One frame (access unit) in a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameMeta {
    /// Byte offset of the frame in the segment file.
    pub offset: u64,
    /// Length of the frame in bytes (all its length-prefixed NAL units).
    pub len: u32,
    /// Display duration of the frame in 90 kHz units.
    pub duration_90k: u32,
    /// True if the frame is a random access point (an IDR picture for H.264, IRAP for H.265).
    pub is_key: bool,
}

impl FrameMeta {
    /// Offset one past the frame's last byte.
    pub fn end(&self) -> u64 {
        self.offset + u64::from(self.len)
    }
}

/// The frames of one segment file in decode order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleIndex {
    /// Frames in file order, non-overlapping and increasing in offset.
    pub frames: Vec<FrameMeta>,
}

/// Why an encoded [`SampleIndex`] could not be decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IndexDecodeError {
    /// The blob is empty.
    #[error("sample index is empty")]
    Empty,
    /// The version byte is not one this build understands.
    #[error("unsupported sample index version {0}")]
    UnsupportedVersion(u8),
    /// The blob ended inside a value.
    #[error("sample index truncated at byte {0}")]
    Truncated(usize),
    /// A varint was longer than 10 bytes or overflowed 64 bits.
    #[error("malformed varint at byte {0}")]
    BadVarint(usize),
    /// A decoded value does not fit its field.
    #[error("value out of range for {field} in frame {frame}")]
    OutOfRange {
        /// Field name.
        field: &'static str,
        /// Frame number.
        frame: u64,
    },
    /// Bytes remained after the last frame.
    #[error("{0} trailing bytes after sample index")]
    TrailingBytes(usize),
}

/// Why a [`SampleIndex`] is not a valid description of a segment file.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IndexInvalid {
    /// Frames overlap or go backwards.
    #[error("frame {0} overlaps or precedes the previous frame")]
    Overlap(usize),
    /// A frame is empty.
    #[error("frame {0} is empty")]
    EmptyFrame(usize),
    /// A frame extends beyond the file.
    #[error("frame {frame} ends at byte {end}, beyond the file length {file_len}")]
    BeyondFile {
        /// Frame number.
        frame: usize,
        /// Offset one past its last byte.
        end: u64,
        /// File length.
        file_len: u64,
    },
}

impl SampleIndex {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True if there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Sum of all frame durations, in 90 kHz units.
    pub fn duration_90k(&self) -> u64 {
        self.frames.iter().map(|f| u64::from(f.duration_90k)).sum()
    }

    /// Average frame rate (frames per second of recorded duration), `None` if the duration is zero. This is
    /// the *measured* recorded rate that frame-rate rules (VID-11) check.
    pub fn fps(&self) -> Option<f64> {
        let duration_90k = self.duration_90k();
        (duration_90k > 0).then(|| self.frames.len() as f64 * 90_000.0 / duration_90k as f64)
    }

    /// Sum of all frame lengths in bytes.
    pub fn media_bytes(&self) -> u64 {
        self.frames.iter().map(|f| u64::from(f.len)).sum()
    }

    /// Offset one past the last frame (the minimum file length), 0 if empty.
    pub fn end_offset(&self) -> u64 {
        self.frames.last().map_or(0, FrameMeta::end)
    }

    /// Number of key frames.
    pub fn key_frame_count(&self) -> usize {
        self.frames.iter().filter(|f| f.is_key).count()
    }

    /// Index of the frame displayed at `time_90k` after the segment start (the last frame starting at or
    /// before it), or `None` if the time is at or past the segment end or there are no frames.
    pub fn frame_at(&self, time_90k: u64) -> Option<usize> {
        let mut start_90k = 0u64;
        for (i, f) in self.frames.iter().enumerate() {
            let end_90k = start_90k + u64::from(f.duration_90k);
            if time_90k < end_90k {
                return Some(i);
            }
            start_90k = end_90k;
        }
        None
    }

    /// Index of the last key frame at or before frame `i`.
    pub fn key_frame_before(&self, i: usize) -> Option<usize> {
        let upto = i.checked_add(1)?.min(self.frames.len());
        self.frames[..upto].iter().rposition(|f| f.is_key)
    }

    /// Checks that frames are non-empty, in order, non-overlapping and (if given) inside the file.
    pub fn validate(&self, file_len: Option<u64>) -> Result<(), IndexInvalid> {
        let mut prev_end = 0u64;
        for (i, f) in self.frames.iter().enumerate() {
            if f.len == 0 {
                return Err(IndexInvalid::EmptyFrame(i));
            }
            if f.offset < prev_end {
                return Err(IndexInvalid::Overlap(i));
            }
            let end = f
                .offset
                .checked_add(u64::from(f.len))
                .ok_or(IndexInvalid::Overlap(i))?;
            if let Some(file_len) = file_len
                && end > file_len
            {
                return Err(IndexInvalid::BeyondFile {
                    frame: i,
                    end,
                    file_len,
                });
            }
            prev_end = end;
        }
        Ok(())
    }

    /// Encodes the index (see the module documentation for the layout).
    ///
    /// Frames must be in increasing, non-overlapping offset order (as [`Self::validate`] checks); an
    /// overlapping frame is encoded as if it started at the previous frame's end.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.frames.len() * 4);
        out.push(SAMPLE_INDEX_VERSION);
        put_varint(&mut out, self.frames.len() as u64);
        let mut prev_end = 0u64;
        let mut prev_duration = 0i64;
        for f in &self.frames {
            let gap = f.offset.saturating_sub(prev_end);
            let header = (u64::from(f.len) << 2) | (u64::from(gap != 0) << 1) | u64::from(f.is_key);
            put_varint(&mut out, header);
            if gap != 0 {
                put_varint(&mut out, gap);
            }
            let duration = i64::from(f.duration_90k);
            put_varint(&mut out, zigzag(duration - prev_duration));
            prev_duration = duration;
            prev_end = prev_end + gap + u64::from(f.len);
        }
        out
    }

    /// Decodes an index produced by [`Self::encode`]. Never panics, whatever the input.
    pub fn decode(buf: &[u8]) -> Result<Self, IndexDecodeError> {
        let (&version, _) = buf.split_first().ok_or(IndexDecodeError::Empty)?;
        if version != SAMPLE_INDEX_VERSION {
            return Err(IndexDecodeError::UnsupportedVersion(version));
        }
        let mut r = Reader { buf, pos: 1 };
        let count = r.varint()?;
        // Each frame takes at least two bytes: never pre-allocate more than the input can describe.
        let cap = usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(buf.len() / 2);
        let mut frames = Vec::with_capacity(cap);
        let mut prev_end = 0u64;
        let mut prev_duration = 0i64;
        for frame in 0..count {
            let header = r.varint()?;
            let out_of_range = |field| IndexDecodeError::OutOfRange { field, frame };
            let len = u32::try_from(header >> 2).map_err(|_| out_of_range("len"))?;
            let is_key = header & 1 != 0;
            let gap = if header & 2 != 0 { r.varint()? } else { 0 };
            if header & 2 != 0 && gap == 0 {
                return Err(out_of_range("gap"));
            }
            let delta = unzigzag(r.varint()?);
            let duration = prev_duration
                .checked_add(delta)
                .ok_or_else(|| out_of_range("duration_90k"))?;
            let duration_90k = u32::try_from(duration).map_err(|_| out_of_range("duration_90k"))?;
            let offset = prev_end
                .checked_add(gap)
                .ok_or_else(|| out_of_range("offset"))?;
            let end = offset
                .checked_add(u64::from(len))
                .ok_or_else(|| out_of_range("len"))?;
            frames.push(FrameMeta {
                offset,
                len,
                duration_90k,
                is_key,
            });
            prev_end = end;
            prev_duration = duration;
        }
        if r.pos != buf.len() {
            return Err(IndexDecodeError::TrailingBytes(buf.len() - r.pos));
        }
        Ok(Self { frames })
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn varint(&mut self) -> Result<u64, IndexDecodeError> {
        let start = self.pos;
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let &b = self
                .buf
                .get(self.pos)
                .ok_or(IndexDecodeError::Truncated(self.pos))?;
            self.pos += 1;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(IndexDecodeError::BadVarint(start));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                // Reject non-minimal encodings so that the encoding stays canonical.
                if b == 0 && shift > 0 {
                    return Err(IndexDecodeError::BadVarint(start));
                }
                return Ok(v);
            }
        }
        Err(IndexDecodeError::BadVarint(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn constant_rate(n: usize) -> SampleIndex {
        let mut offset = 0;
        let frames = (0..n)
            .map(|i| {
                let len = 1000 + (i as u32 * 37) % 5000;
                let f = FrameMeta {
                    offset,
                    len,
                    duration_90k: 6000,
                    is_key: i % 15 == 0,
                };
                offset += u64::from(len);
                f
            })
            .collect();
        SampleIndex { frames }
    }

    #[test]
    fn round_trip_and_compact() {
        let idx = constant_rate(900);
        let enc = idx.encode();
        assert_eq!(SampleIndex::decode(&enc), Ok(idx.clone()));
        // One minute at 15 fps: ~3 bytes header + 1 byte duration delta per frame.
        assert!(enc.len() < 900 * 4 + 8, "encoded {} bytes", enc.len());
        assert_eq!(idx.duration_90k(), 900 * 6000);
        assert_eq!(idx.key_frame_count(), 60);
        assert_eq!(idx.fps(), Some(15.0));
        assert_eq!(SampleIndex::default().fps(), None);
    }

    #[test]
    fn empty_index_round_trips() {
        let idx = SampleIndex::default();
        assert_eq!(idx.encode(), vec![1, 0]);
        assert_eq!(SampleIndex::decode(&[1, 0]), Ok(idx));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(SampleIndex::decode(&[]), Err(IndexDecodeError::Empty));
        assert_eq!(
            SampleIndex::decode(&[2, 0]),
            Err(IndexDecodeError::UnsupportedVersion(2))
        );
        assert_eq!(
            SampleIndex::decode(&[1, 1]),
            Err(IndexDecodeError::Truncated(2))
        );
        assert_eq!(
            SampleIndex::decode(&[1, 0, 0]),
            Err(IndexDecodeError::TrailingBytes(1))
        );
        let overlong = [
            1u8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert_eq!(
            SampleIndex::decode(&overlong),
            Err(IndexDecodeError::BadVarint(1))
        );
        // A huge claimed count with no frames must fail fast, not allocate.
        let huge = [1u8, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(
            SampleIndex::decode(&huge),
            Err(IndexDecodeError::Truncated(_))
        ));
        // A negative duration.
        assert!(matches!(
            SampleIndex::decode(&[1, 1, 4 << 2, 1]),
            Err(IndexDecodeError::OutOfRange {
                field: "duration_90k",
                frame: 0
            })
        ));
    }

    #[test]
    fn lookups() {
        let idx = constant_rate(30);
        assert_eq!(idx.frame_at(0), Some(0));
        assert_eq!(idx.frame_at(5999), Some(0));
        assert_eq!(idx.frame_at(6000), Some(1));
        assert_eq!(idx.frame_at(30 * 6000), None);
        assert_eq!(idx.key_frame_before(14), Some(0));
        assert_eq!(idx.key_frame_before(15), Some(15));
        assert_eq!(idx.key_frame_before(29), Some(15));
        assert_eq!(idx.key_frame_before(1000), Some(15));
        assert!(idx.validate(Some(idx.end_offset())).is_ok());
        assert!(matches!(
            idx.validate(Some(idx.end_offset() - 1)),
            Err(IndexInvalid::BeyondFile { frame: 29, .. })
        ));
    }

    fn arb_index() -> impl Strategy<Value = SampleIndex> {
        prop::collection::vec((any::<u32>(), any::<u32>(), any::<bool>(), 0u64..3), 0..200)
            .prop_map(|raw| {
                let mut offset = 0u64;
                let frames = raw
                    .into_iter()
                    .map(|(len, duration_90k, is_key, gap)| {
                        offset += gap;
                        let f = FrameMeta {
                            offset,
                            len,
                            duration_90k,
                            is_key,
                        };
                        offset += u64::from(len);
                        f
                    })
                    .collect();
                SampleIndex { frames }
            })
    }

    proptest! {
        #[test]
        fn prop_round_trip(idx in arb_index()) {
            prop_assert_eq!(SampleIndex::decode(&idx.encode()), Ok(idx));
        }

        #[test]
        fn prop_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(idx) = SampleIndex::decode(&bytes) {
                // Whatever decodes re-encodes to the same bytes (the encoding is canonical).
                prop_assert_eq!(idx.encode(), bytes);
            }
        }

        #[test]
        fn prop_decode_mutated_never_panics(idx in arb_index(), pos in any::<usize>(), byte in any::<u8>()) {
            let mut enc = idx.encode();
            let i = pos % enc.len();
            enc[i] = byte;
            let _ = SampleIndex::decode(&enc);
        }
    }
}
