//! Streaming SHA-256 of a byte stream and of chosen byte ranges of it, in one pass and constant memory.
//!
//! An export hashes every byte twice: once for the whole MP4 and once for the source segment (or the
//! container bytes outside the segments) that the byte belongs to. SHA-256 runs at about 1 GB/s per core
//! here, so the whole-stream hash runs on a helper thread fed with 1 MiB chunks through a bounded channel (at most
//! [`QUEUE_CHUNKS`] chunks in flight), while the caller's thread hashes the ranges. The same chunks can be
//! handed, without copying, to a [`DurableFileWriter`] thread that writes them to a file and flushes it to
//! disk as it goes, so that the final `fsync` does not start from hundreds of dirty megabytes.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes per chunk handed to the whole-stream hashing thread.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Chunks queued for the hashing thread at most.
pub const QUEUE_CHUNKS: usize = 4;
/// Chunks queued for a [`DurableFileWriter`] at most (it pauses to flush, so it gets a longer queue).
pub const WRITE_QUEUE_CHUNKS: usize = 32;
/// A [`DurableFileWriter`] calls `fdatasync` after this many bytes.
pub const SYNC_EVERY_BYTES: u64 = 32 << 20;

type Chunk = Arc<Vec<u8>>;

/// What a [`StreamHasher`] computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHashes {
    /// Bytes seen.
    pub len: u64,
    /// SHA-256 of the whole stream, if requested.
    pub whole: Option<[u8; 32]>,
    /// SHA-256 of each range (of the part seen).
    pub ranges: Vec<[u8; 32]>,
    /// SHA-256 of every byte outside the ranges, in stream order.
    pub outside: [u8; 32],
}

/// Hashes a set of sorted, non-overlapping ranges of a stream, the bytes outside them, and optionally the
/// whole stream (on a helper thread).
pub struct StreamHasher {
    ranges: Vec<Range<u64>>,
    range_hashers: Vec<Sha256>,
    outside: Sha256,
    next_range: usize,
    pos: u64,
    pending: Vec<u8>,
    tx: Option<SyncSender<Chunk>>,
    tee: Option<SyncSender<Chunk>>,
    worker: Option<JoinHandle<[u8; 32]>>,
}

impl StreamHasher {
    /// Starts hashing; `ranges` must be sorted and non-overlapping (the caller validates them). With
    /// `whole`, a helper thread also hashes the whole stream.
    pub fn new(ranges: Vec<Range<u64>>, whole: bool) -> io::Result<Self> {
        let (tx, worker) = if whole {
            let (tx, rx) = sync_channel::<Chunk>(QUEUE_CHUNKS);
            let worker = std::thread::Builder::new()
                .name("sha256".into())
                .spawn(move || {
                    let mut h = Sha256::new();
                    for chunk in rx {
                        h.update(chunk.as_slice());
                    }
                    h.finalize().into()
                })?;
            (Some(tx), Some(worker))
        } else {
            (None, None)
        };
        Ok(StreamHasher {
            range_hashers: ranges.iter().map(|_| Sha256::new()).collect(),
            ranges,
            outside: Sha256::new(),
            next_range: 0,
            pos: 0,
            pending: Vec::new(),
            tx,
            tee: None,
            worker,
        })
    }

    /// Also passes every chunk to `writer` (after hashing), which then receives the whole stream.
    pub fn tee_to(mut self, writer: &DurableFileWriter) -> Self {
        self.tee = Some(writer.tx.clone());
        self
    }

    /// Bytes seen so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn chunked(&self) -> bool {
        self.tx.is_some() || self.tee.is_some()
    }

    fn hash_ranges(&mut self, data: &[u8]) {
        let start = self.pos;
        let end = start + data.len() as u64;
        let slice = |from: u64, to: u64| &data[(from - start) as usize..(to - start) as usize];
        let mut cur = start;
        while cur < end {
            match self.ranges.get(self.next_range) {
                Some(r) if r.end <= cur => self.next_range += 1,
                Some(r) if r.start <= cur => {
                    let e = r.end.min(end);
                    self.range_hashers[self.next_range].update(slice(cur, e));
                    cur = e;
                }
                Some(r) => {
                    let e = r.start.min(end);
                    self.outside.update(slice(cur, e));
                    cur = e;
                }
                None => {
                    self.outside.update(slice(cur, end));
                    cur = end;
                }
            }
        }
        self.pos = end;
    }

    fn send(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        let chunk = Arc::new(chunk);
        if let Some(tee) = &self.tee {
            tee.send(Arc::clone(&chunk))
                .map_err(|_| io::Error::other("file writer thread stopped"))?;
        }
        if let Some(tx) = &self.tx {
            tx.send(chunk)
                .map_err(|_| io::Error::other("hashing thread stopped"))?;
        }
        Ok(())
    }

    /// Feeds bytes (copied into a pending chunk if the whole stream is hashed or teed).
    pub fn update(&mut self, mut data: &[u8]) -> io::Result<()> {
        self.hash_ranges(data);
        if !self.chunked() {
            return Ok(());
        }
        while !data.is_empty() {
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(CHUNK_BYTES);
            }
            let room = CHUNK_BYTES - self.pending.len();
            let n = room.min(data.len());
            self.pending.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.pending.len() == CHUNK_BYTES {
                let full = std::mem::take(&mut self.pending);
                self.send(full)?;
            }
        }
        Ok(())
    }

    /// Feeds an owned buffer without copying it.
    pub fn update_owned(&mut self, data: Vec<u8>) -> io::Result<()> {
        if !self.pending.is_empty() {
            return self.update(&data);
        }
        self.hash_ranges(&data);
        if self.chunked() {
            self.send(data)
        } else {
            Ok(())
        }
    }

    /// Returns the hashes (ranges not fully seen hash what was seen).
    pub fn finish(mut self) -> io::Result<StreamHashes> {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.send(last)?;
        }
        drop(self.tx.take());
        drop(self.tee.take());
        let whole = match self.worker.take() {
            Some(w) => Some(
                w.join()
                    .map_err(|_| io::Error::other("hashing thread panicked"))?,
            ),
            None => None,
        };
        let ranges = std::mem::take(&mut self.range_hashers)
            .into_iter()
            .map(|h| h.finalize().into())
            .collect();
        let outside = std::mem::take(&mut self.outside).finalize().into();
        Ok(StreamHashes {
            len: self.pos,
            whole,
            ranges,
            outside,
        })
    }
}

impl Write for StreamHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for StreamHasher {
    fn drop(&mut self) {
        drop(self.tee.take());
        drop(self.tx.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// A writer that hashes everything written through it (see [`StreamHasher`]) and passes it on.
pub struct HashingWriter<W: Write> {
    /// The destination.
    pub inner: W,
    /// The hasher.
    pub hasher: StreamHasher,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all(buf)?;
        self.hasher.update(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes chunks to a file on its own thread, calling `fdatasync` every [`SYNC_EVERY_BYTES`] so that
/// write-back overlaps the producer's work; [`Self::finish`] ends with `fsync`.
pub struct DurableFileWriter {
    tx: SyncSender<Chunk>,
    worker: JoinHandle<io::Result<File>>,
}

impl DurableFileWriter {
    /// Starts the writer thread for `file`.
    pub fn spawn(file: File) -> io::Result<Self> {
        let (tx, rx) = sync_channel::<Chunk>(WRITE_QUEUE_CHUNKS);
        let worker = std::thread::Builder::new()
            .name("durable-write".into())
            .spawn(move || {
                let mut file = file;
                let mut unsynced = 0u64;
                for chunk in rx {
                    file.write_all(&chunk)?;
                    unsynced += chunk.len() as u64;
                    if unsynced >= SYNC_EVERY_BYTES {
                        file.sync_data()?;
                        unsynced = 0;
                    }
                }
                file.sync_all()?;
                Ok(file)
            })?;
        Ok(DurableFileWriter { tx, worker })
    }

    /// Waits for every chunk sent so far (by a [`StreamHasher`] that has finished) to be written and the
    /// file to be durable. Returns the file.
    pub fn finish(self) -> io::Result<File> {
        drop(self.tx);
        self.worker
            .join()
            .map_err(|_| io::Error::other("file writer thread panicked"))?
    }
}

/// Lowercase hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Parses exactly 32 bytes of hex (either case).
pub fn from_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = nibble(b[2 * i])? << 4 | nibble(b[2 * i + 1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> [u8; 32] {
        Sha256::digest(b).into()
    }

    fn outside(data: &[u8], ranges: &[Range<u64>]) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut cur = 0;
        for r in ranges {
            h.update(&data[cur..r.start as usize]);
            cur = r.end as usize;
        }
        h.update(&data[cur..]);
        h.finalize().into()
    }

    #[test]
    fn whole_ranges_and_outside_across_chunk_boundaries() {
        let data: Vec<u8> = (0..3 * CHUNK_BYTES + 123)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let ranges = vec![
            3..10,
            10..10,
            100..CHUNK_BYTES as u64 + 5,
            2 * CHUNK_BYTES as u64..data.len() as u64 - 9,
        ];
        for whole in [true, false] {
            let mut h = StreamHasher::new(ranges.clone(), whole).unwrap();
            // Mixed feeding: small writes, then owned buffers.
            for piece in data[..CHUNK_BYTES + 17].chunks(4093) {
                h.update(piece).unwrap();
            }
            h.update_owned(data[CHUNK_BYTES + 17..2 * CHUNK_BYTES].to_vec())
                .unwrap();
            h.update_owned(data[2 * CHUNK_BYTES..].to_vec()).unwrap();
            assert_eq!(h.position(), data.len() as u64);
            let got = h.finish().unwrap();
            assert_eq!(got.len, data.len() as u64);
            assert_eq!(got.whole, whole.then(|| sha(&data)));
            assert_eq!(got.outside, outside(&data, &ranges));
            for (r, got) in ranges.iter().zip(got.ranges) {
                assert_eq!(
                    got,
                    sha(&data[r.start as usize..r.end as usize]),
                    "range {r:?}"
                );
            }
        }
    }

    #[test]
    fn tee_writes_the_whole_stream_durably() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let writer = DurableFileWriter::spawn(File::create_new(&path).unwrap()).unwrap();
        let ranges: Vec<Range<u64>> = std::iter::once(5..CHUNK_BYTES as u64 * 2).collect();
        let mut h = StreamHasher::new(ranges.clone(), false)
            .unwrap()
            .tee_to(&writer);
        let data: Vec<u8> = (0..2 * CHUNK_BYTES + 77).map(|i| (i % 253) as u8).collect();
        for piece in data.chunks(300_001) {
            h.write_all(piece).unwrap();
        }
        let got = h.finish().unwrap();
        writer.finish().unwrap();
        assert_eq!(got.whole, None);
        assert_eq!(got.ranges, vec![sha(&data[5..CHUNK_BYTES * 2])]);
        assert_eq!(got.outside, outside(&data, &ranges));
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[test]
    fn hex_round_trip() {
        let h = sha(b"x");
        assert_eq!(from_hex32(&to_hex(&h)), Some(h));
        assert_eq!(from_hex32(&to_hex(&h).to_uppercase()), Some(h));
        assert_eq!(from_hex32("zz"), None);
        assert_eq!(from_hex32(&"g".repeat(64)), None);
    }
}
