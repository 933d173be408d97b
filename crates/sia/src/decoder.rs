//! Streaming frame splitter for TCP: several frames per read, frames split across reads, garbage
//! between frames, and a bounded buffer (a frame longer than the limit is an error and the decoder
//! resynchronises at the next LF). It only splits; [`crate::frame::Frame::parse`] validates.

use thiserror::Error;

use crate::frame::declared_frame_len;

/// Default largest frame accepted (LF…CR inclusive).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1024;

/// Splitting errors; after each one the decoder has already resynchronised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Bytes before a LF that belong to no frame.
    #[error("skipped {skipped} bytes of garbage")]
    Garbage {
        /// How many bytes were dropped.
        skipped: usize,
    },
    /// CRC/length prefix not hex.
    #[error("malformed CRC/length prefix")]
    BadPrefix,
    /// Declared frame longer than the limit.
    #[error("frame of {declared} bytes exceeds limit {limit}")]
    Oversized {
        /// Declared total length.
        declared: usize,
        /// Configured limit.
        limit: usize,
    },
    /// CR missing where the length field says the frame ends.
    #[error("frame not terminated by CR where its length says")]
    Unterminated,
}

/// Incremental DC-09 frame splitter.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max_frame_bytes: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl FrameDecoder {
    /// Decoder accepting frames up to `max_frame_bytes` (at least 16).
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(max_frame_bytes.min(4096)),
            max_frame_bytes: max_frame_bytes.max(16),
        }
    }

    /// Append received bytes. Call [`Self::next_frame`] until `None` after each push; the buffer then
    /// holds less than one maximal frame.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    fn resync_after_start(&mut self) {
        let next = self
            .buf
            .iter()
            .skip(1)
            .position(|b| *b == b'\n')
            .map_or(self.buf.len(), |i| i + 1);
        self.buf.drain(..next);
    }

    /// Next complete frame (raw bytes LF…CR), an error (already recovered from), or `None` when more
    /// bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, DecodeError>> {
        if self.buf.is_empty() {
            return None;
        }
        if self.buf[0] != b'\n' {
            let skipped = self
                .buf
                .iter()
                .position(|b| *b == b'\n')
                .unwrap_or(self.buf.len());
            self.buf.drain(..skipped);
            return Some(Err(DecodeError::Garbage { skipped }));
        }
        if self.buf.len() < 9 {
            if self.buf[1..].iter().any(|b| *b == b'\n' || *b == b'\r') {
                self.resync_after_start();
                return Some(Err(DecodeError::BadPrefix));
            }
            return None;
        }
        let Some(total) = declared_frame_len(&self.buf[..9]) else {
            self.resync_after_start();
            return Some(Err(DecodeError::BadPrefix));
        };
        if total > self.max_frame_bytes {
            self.resync_after_start();
            return Some(Err(DecodeError::Oversized {
                declared: total,
                limit: self.max_frame_bytes,
            }));
        }
        let avail = self.buf.len().min(total);
        // A CR or LF inside the declared span means the frame is cut short: resync.
        if self.buf[9..avail]
            .iter()
            .enumerate()
            .any(|(i, b)| (*b == b'\r' && 9 + i != total - 1) || *b == b'\n')
        {
            self.resync_after_start();
            return Some(Err(DecodeError::Unterminated));
        }
        if self.buf.len() < total {
            return None;
        }
        if self.buf[total - 1] != b'\r' {
            self.resync_after_start();
            return Some(Err(DecodeError::Unterminated));
        }
        Some(Ok(self.buf.drain(..total).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &[u8] = b"\nCD170029\"ADM-CID\"0001R1L2#1234[#1234|1130 01 003]\r";

    fn drain(d: &mut FrameDecoder) -> (Vec<Vec<u8>>, Vec<DecodeError>) {
        let (mut ok, mut err) = (vec![], vec![]);
        while let Some(r) = d.next_frame() {
            match r {
                Ok(f) => ok.push(f),
                Err(e) => err.push(e),
            }
        }
        (ok, err)
    }

    #[test]
    fn two_frames_one_read_and_split_frames() {
        let mut d = FrameDecoder::default();
        let mut two = F.to_vec();
        two.extend_from_slice(F);
        d.push(&two);
        assert_eq!(drain(&mut d).0.len(), 2);
        for split in 1..F.len() {
            d.push(&F[..split]);
            assert!(drain(&mut d).0.is_empty());
            d.push(&F[split..]);
            assert_eq!(drain(&mut d).0, vec![F.to_vec()]);
        }
        assert_eq!(d.buffered_bytes(), 0);
    }

    #[test]
    fn garbage_and_oversized_resync() {
        let mut d = FrameDecoder::new(64);
        d.push(b"junk\r\n");
        d.push(b"\n0000FFFF");
        d.push(F);
        let (ok, err) = drain(&mut d);
        assert_eq!(ok, vec![F.to_vec()]);
        assert_eq!(err[0], DecodeError::Garbage { skipped: 5 });
        assert!(
            err.iter()
                .any(|e| matches!(e, DecodeError::Oversized { .. }))
        );
        // truncated frame followed by a good one
        d.push(&F[..20]);
        d.push(F);
        let (ok, err) = drain(&mut d);
        assert_eq!(ok, vec![F.to_vec()]);
        assert_eq!(err, vec![DecodeError::Unterminated]);
    }
}
