//! Throughput and latency of the media paths (run: `cargo bench -p strongroom-media`):
//!
//! - `baseline/sha256_single_thread`: SHA-256 of 64 MiB on one thread, for context;
//! - `export/bundle_1h`: a signed evidence bundle of one hour of one camera (60 one-minute segments of
//!   6 MB, i.e. 0.8 Mbit/s as in the anchors), including writing and `fsync`ing the MP4;
//! - `export/mp4_to_sink_hashed`: the same MP4 streamed through both hashes into `io::sink` (CPU path);
//! - `verify/bundle_1h`: verifying that bundle (page cache warm);
//! - `still/*`: a JPEG still from a real one-minute 720p15 segment (2 s GOP), at a key frame and at the
//!   frame just before the next key frame (worst case: 30 frames decoded). Needs ffmpeg; skipped without.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use jiff::{SignedDuration, Timestamp};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use strongroom_media::evidence::{self, ExportRequest, ExportSegment, Named, TimeRange};
use strongroom_media::hashing::{HashingWriter, StreamHasher};
use strongroom_media::mp4::{Mp4Plan, Mp4Segment};
use strongroom_media::segment::{Codec, SampleEntry, SegmentWriter, h264};
use strongroom_media::still::{StillFormat, StillOptions, StillSource, still_at};

/// Every synthetic and encoded stream here runs at 15 fps.
const FRAME_DURATION_90K: u32 = 6000;

fn t0() -> Timestamp {
    "2026-11-21T00:00:00Z".parse().unwrap()
}

/// 60 one-minute segments of pseudo-random frames, 15 fps, ~6 MB each.
fn synthetic_hour(dir: &Path) -> Vec<ExportSegment> {
    let entry = SampleEntry {
        codec: Codec::H264,
        width: 1280,
        height: 720,
        decoder_config: vec![1, 0x64, 0, 0x1f, 0xff, 0xe0, 0],
    };
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut segments = Vec::new();
    for m in 0..60 {
        let path = dir.join(format!("seg{m:02}"));
        let mut w = SegmentWriter::create(&path).unwrap();
        for i in 0..900 {
            let len = if i % 15 == 0 { 40_000 } else { 4_000 };
            let mut nal = Vec::with_capacity(len);
            while nal.len() < len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                nal.extend_from_slice(&state.to_le_bytes());
            }
            nal[0] = if i % 15 == 0 { 0x65 } else { 0x41 };
            let mut avcc = Vec::with_capacity(len + 4);
            h264::push_avcc_nal(&mut avcc, &nal).unwrap();
            w.append_frame(&avcc, FRAME_DURATION_90K, i % 15 == 0)
                .unwrap();
        }
        let s = w.finish().unwrap();
        let start = t0() + SignedDuration::from_secs(60 * m);
        segments.push(ExportSegment {
            id: format!("seg{m:02}"),
            start,
            end: start + SignedDuration::from_secs(60),
            entry: entry.clone(),
            index: s.sample_index,
            path,
            expected_sha256: Some(s.sha256),
        });
    }
    segments
}

/// A benchmark group for long runs over large inputs: 10 samples, 1 s of warm-up, then
/// `measurement_secs` of measuring.
fn slow_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    measurement_secs: u64,
) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(measurement_secs));
    g
}

fn request(segments: Vec<ExportSegment>) -> ExportRequest {
    ExportRequest {
        site: Named {
            id: "site".into(),
            name: "Bench".into(),
        },
        camera: Named {
            id: "cam".into(),
            name: "Bench cam".into(),
        },
        requested_range: TimeRange {
            start: t0(),
            end: t0() + SignedDuration::from_secs(3600),
        },
        exported_by: "bench".into(),
        reason: "bench".into(),
        journal_seq: 1,
        created_at: t0(),
        segments,
    }
}

fn bench_export_verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let req = request(synthetic_hour(dir.path()));
    let key = SigningKey::from_bytes(&[5; 32]);
    let mp4_segments: Vec<Mp4Segment> = req
        .segments
        .iter()
        .map(|s| Mp4Segment::whole(s.entry.clone(), s.index.clone(), &s.path))
        .collect();
    let plan = Mp4Plan::new(&mp4_segments).unwrap();

    // Context: single-thread SHA-256 on this machine (both export and verify hash every byte twice, on two
    // threads).
    let mut g = slow_group(c, "baseline", 3);
    let buf = vec![0x5au8; 64 << 20];
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("sha256_single_thread", |b| {
        b.iter(|| {
            use sha2::Digest;
            sha2::Sha256::digest(&buf)
        })
    });
    g.finish();
    drop(buf);

    let mut g = slow_group(c, "export", 8);
    g.throughput(Throughput::Bytes(plan.total_len()));
    g.bench_function("mp4_to_sink_hashed", |b| {
        b.iter(|| {
            let hasher = StreamHasher::new(plan.segment_ranges().to_vec(), true).unwrap();
            let mut out = HashingWriter {
                inner: std::io::sink(),
                hasher,
            };
            plan.write_to(&mut out).unwrap();
            out.hasher.finish().unwrap()
        })
    });
    let mut n = 0;
    g.bench_function("bundle_1h", |b| {
        // Time the export only, not the removal of the previous bundle.
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let out = dir.path().join(format!("bundle{n}"));
                let started = std::time::Instant::now();
                evidence::export_bundle(&req, &key, &out).unwrap();
                total += started.elapsed();
                std::fs::remove_dir_all(&out).unwrap();
            }
            total
        })
    });
    g.finish();

    let bundle = dir.path().join("bundle");
    evidence::export_bundle(&req, &key, &bundle).unwrap();
    let mut g = slow_group(c, "verify", 6);
    g.throughput(Throughput::Bytes(plan.total_len()));
    g.bench_function("bundle_1h", |b| {
        b.iter(|| evidence::verify(&bundle).unwrap())
    });
    g.finish();
}

fn bench_still(c: &mut Criterion) {
    if !common::have("ffmpeg") {
        eprintln!("SKIP: still benchmark needs ffmpeg");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.h264");
    let ok = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=1280x720:rate=15",
            "-t",
            "60",
        ])
        .args([
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-g", "30",
        ])
        .args(["-bsf:v", "h264_mp4toannexb", "-f", "h264"])
        .arg(&raw)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let stream = std::fs::read(&raw).unwrap();
    let aus = h264::annexb_access_units(&stream);
    let entry = common::sample_entry_from_first_access_unit(&aus);
    let path = dir.path().join("seg");
    let index = common::write_segment(&path, &aus, FRAME_DURATION_90K).sample_index;
    let src = StillSource {
        entry: &entry,
        index: &index,
        path: &path,
        start: t0(),
    };
    let mut g = slow_group(c, "still", 5);
    // Frame 450 (30 s) is a key frame; frame 479 is the last before the next one.
    for (name, frame, format) in [
        ("jpeg_at_key_frame", 450, StillFormat::Jpeg),
        ("jpeg_worst_gop", 479, StillFormat::Jpeg),
        ("bmp_worst_gop", 479, StillFormat::Bmp),
        ("gif_worst_gop", 479, StillFormat::Gif),
    ] {
        let at = t0() + SignedDuration::from_nanos(frame * 1_000_000_000 / 15 + 1_000_000);
        let opts = StillOptions {
            format,
            dpi: Some(9600),
            ..StillOptions::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| still_at(src, at, "Bench cam", &opts).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench_export_verify, bench_still);
criterion_main!(benches);
