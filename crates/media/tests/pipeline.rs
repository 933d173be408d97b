//! End-to-end tests on real H.264 made by ffmpeg at test time: segments → MP4 (checked with ffprobe and
//! decoded by ffmpeg) → stills in every format (decoded back, compared with ffmpeg's own decode of the
//! same frame) → signed evidence bundle (verified, then tampered with in several ways).
//!
//! Without ffmpeg/ffprobe the tests print `SKIP:` and pass, unless `STRONGROOM_REQUIRE_PEERS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use jiff::{SignedDuration, Timestamp};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use strongroom_media::evidence::{
    self, ExportRequest, ExportSegment, Named, TimeRange, VerifyError,
};
use strongroom_media::mp4::{Mp4Plan, Mp4Segment};
use strongroom_media::segment::{SampleEntry, SegmentSummary, h264};
use strongroom_media::still::{StillFormat, StillOptions, StillSource, still_at};

const FRAMES: usize = 75; // 5 s at 15 fps
const SPLIT: usize = 30; // segment A: frames 0..30, segment B: 30..75
const FRAME_DURATION_90K: u32 = 6000; // 15 fps

struct Seg {
    path: PathBuf,
    summary: SegmentSummary,
    start: Timestamp,
}

struct Fixture {
    dir: PathBuf,
    h264: PathBuf,
    entry: SampleEntry,
    segs: Vec<Seg>,
}

fn t0() -> Timestamp {
    "2026-11-21T15:00:00Z".parse().unwrap()
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(make_fixture).as_ref()
}

fn make_fixture() -> Option<Fixture> {
    if !common::have("ffmpeg") || !common::have("ffprobe") {
        assert!(
            std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() != Ok("1"),
            "ffmpeg and ffprobe are required (STRONGROOM_REQUIRE_PEERS=1)"
        );
        eprintln!("SKIP: ffmpeg/ffprobe not found");
        return None;
    }
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    // Remove leftovers of earlier runs (a static fixture is never dropped).
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|a| a.as_secs() > 600));
            if e.file_name()
                .to_string_lossy()
                .starts_with("media-pipeline-")
                && old
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = root.join(format!("media-pipeline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let h264_path = dir.join("in.h264");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=1280x720:rate=15",
            "-t",
            "5",
        ])
        .args([
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-bf", "0", "-g", "15",
        ])
        .args(["-bsf:v", "h264_mp4toannexb", "-f", "h264"])
        .arg(&h264_path)
        .status()
        .unwrap();
    assert!(status.success());
    let stream = std::fs::read(&h264_path).unwrap();
    let aus = h264::annexb_access_units(&stream);
    assert_eq!(aus.len(), FRAMES);
    let entry = common::sample_entry_from_first_access_unit(&aus);
    assert_eq!((entry.width, entry.height), (1280, 720));

    let mut segs = Vec::new();
    for (i, range) in [0..SPLIT, SPLIT..FRAMES].into_iter().enumerate() {
        let path = dir.join(format!("seg{i}"));
        let start = t0() + SignedDuration::from_millis(range.start as i64 * 1000 / 15);
        let summary = common::write_segment(&path, &aus[range], FRAME_DURATION_90K);
        assert_eq!(
            summary.sample_index.key_frame_count(),
            summary.frame_count as usize / 15
        );
        segs.push(Seg {
            path,
            summary,
            start,
        });
    }
    Some(Fixture {
        dir,
        h264: h264_path,
        entry,
        segs,
    })
}

fn mp4_segments(f: &Fixture) -> Vec<Mp4Segment> {
    f.segs
        .iter()
        .map(|s| Mp4Segment::whole(f.entry.clone(), s.summary.sample_index.clone(), &s.path))
        .collect()
}

/// (codec, width, height, decoded frame count, duration in seconds) as ffprobe sees them.
fn ffprobe(path: &Path) -> (String, u64, u64, u64, f64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-of",
            "json",
        ])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames:format=duration",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    let num = |x: &serde_json::Value| {
        x.as_u64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
            .unwrap()
    };
    (
        s["codec_name"].as_str().unwrap().to_owned(),
        num(&s["width"]),
        num(&s["height"]),
        num(&s["nb_read_frames"]),
        v["format"]["duration"].as_str().unwrap().parse().unwrap(),
    )
}

/// ffmpeg decodes the whole file without a single error message.
fn ffmpeg_decodes_cleanly(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mp4_export_plays_with_right_frames_and_duration() {
    let Some(f) = fixture() else { return };
    let plan = Mp4Plan::new(&mp4_segments(f)).unwrap();
    let path = f.dir.join("all.mp4");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    assert_eq!(plan.write_to(&mut file).unwrap(), plan.total_len());
    drop(file);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), plan.total_len());
    let (codec, w, h, frames, duration) = ffprobe(&path);
    assert_eq!(
        (codec.as_str(), w, h, frames),
        ("h264", 1280, 720, FRAMES as u64)
    );
    assert!((duration - 5.0).abs() < 0.01, "duration {duration}");
    ffmpeg_decodes_cleanly(&path);

    // Streaming in arbitrary byte ranges reassembles the same file.
    let whole = std::fs::read(&path).unwrap();
    let mut pieces = Vec::new();
    let mut start = 0;
    for len in [1, 100, 4096, 1 << 20].into_iter().cycle() {
        let end = (start + len).min(plan.total_len());
        plan.write_range(start..end, &mut pieces).unwrap();
        start = end;
        if start == plan.total_len() {
            break;
        }
    }
    assert_eq!(pieces, whole);

    // A trimmed export starting at the key frame 15 of segment A.
    let mut segs = mp4_segments(f);
    segs[0].frames = 15..SPLIT;
    let plan = Mp4Plan::new(&segs).unwrap();
    let path = f.dir.join("trim.mp4");
    plan.write_to(&mut std::fs::File::create(&path).unwrap())
        .unwrap();
    let (_, _, _, frames, duration) = ffprobe(&path);
    assert_eq!(frames, (FRAMES - 15) as u64);
    assert!((duration - 4.0).abs() < 0.01, "duration {duration}");
    ffmpeg_decodes_cleanly(&path);
}

/// ffmpeg's RGB decode of frames `n` of the input, in order.
fn ffmpeg_frames(f: &Fixture, n: &[usize]) -> Vec<Vec<u8>> {
    let select = n
        .iter()
        .map(|i| format!("eq(n\\,{i})"))
        .collect::<Vec<_>>()
        .join("+");
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&f.h264)
        .args([
            "-vf",
            &format!("select={select}"),
            "-vsync",
            "0",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks(1280 * 720 * 3)
        .map(<[u8]>::to_vec)
        .collect()
}

/// Mean absolute difference over rows below the caption.
fn mean_diff(a: &[u8], b: &[u8]) -> f64 {
    let skip = 1280 * 3 * 40;
    let total: u64 = a[skip..]
        .iter()
        .zip(&b[skip..])
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / (a.len() - skip) as f64
}

#[test]
fn stills_in_every_format_show_the_right_frame() {
    let Some(f) = fixture() else { return };
    let seg = &f.segs[1];
    let src = StillSource {
        entry: &f.entry,
        index: &seg.summary.sample_index,
        path: &seg.path,
        start: seg.start,
    };
    // 2.5 s into the recording is frame 37 overall: frame 7 of segment B, whose key frame is its frame 0.
    let at = t0() + SignedDuration::from_millis(2500);
    let reference = ffmpeg_frames(f, &[30, 37, 44]);
    assert_eq!(reference.len(), 3);
    for format in [StillFormat::Jpeg, StillFormat::Bmp, StillFormat::Gif] {
        let opts = StillOptions {
            format,
            dpi: Some(9600),
            ..StillOptions::default()
        };
        let started = std::time::Instant::now();
        let still = still_at(src, at, "Vault Door", &opts).unwrap();
        eprintln!(
            "{format:?}: {} bytes in {:?} (debug build)",
            still.bytes.len(),
            started.elapsed()
        );
        assert_eq!((still.frame_index, still.frames_decoded), (7, 8));
        assert_eq!(
            still.frame_time,
            t0() + SignedDuration::from_nanos(37 * 1_000_000_000 / 15)
        );
        let img = image::load_from_memory_with_format(
            &still.bytes,
            match format {
                StillFormat::Jpeg => image::ImageFormat::Jpeg,
                StillFormat::Bmp => image::ImageFormat::Bmp,
                _ => image::ImageFormat::Gif,
            },
        )
        .unwrap()
        .to_rgb8();
        assert_eq!(img.dimensions(), (1280, 720));
        let colours: std::collections::HashSet<[u8; 3]> =
            img.pixels().step_by(101).map(|p| p.0).collect();
        assert!(
            colours.len() > 50,
            "{format:?}: only {} colours",
            colours.len()
        );
        // The caption: bright pixels on a dark box in the top-left corner.
        let bright = (0..30)
            .flat_map(|y| (0..600).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c > 200));
        assert!(bright.count() > 500, "{format:?}: no caption");
        if format == StillFormat::Bmp {
            // Lossless: the picture is ffmpeg's frame 37, not its neighbours.
            let d: Vec<f64> = reference
                .iter()
                .map(|r| mean_diff(img.as_raw(), r))
                .collect();
            assert!(
                d[1] < 3.0 && d[1] < d[0] && d[1] < d[2],
                "diffs vs frames 30/37/44: {d:?}"
            );
        }
    }
    // Before the segment, and at its end, there is no frame.
    let opts = StillOptions::default();
    assert!(still_at(src, seg.start - SignedDuration::from_millis(1), "x", &opts).is_err());
    assert!(still_at(src, seg.start + SignedDuration::from_secs(3), "x", &opts).is_err());
}

#[test]
fn evidence_bundle_verifies_and_names_every_tampering() {
    let Some(f) = fixture() else { return };
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let segments = f
        .segs
        .iter()
        .enumerate()
        .map(|(i, s)| ExportSegment {
            id: format!("seg-{i}"),
            start: s.start,
            end: s.start + SignedDuration::from_millis(s.summary.duration_90k as i64 / 90),
            entry: f.entry.clone(),
            index: s.summary.sample_index.clone(),
            path: s.path.clone(),
            expected_sha256: Some(s.summary.sha256),
        })
        .collect();
    let req = ExportRequest {
        site: Named {
            id: "IL-0042".into(),
            name: "Main Street Dispensary".into(),
        },
        camera: Named {
            id: "cam-7".into(),
            name: "Vault door".into(),
        },
        requested_range: TimeRange {
            start: t0() + SignedDuration::from_secs(1),
            end: t0() + SignedDuration::from_secs(4),
        },
        exported_by: "compliance.officer".into(),
        reason: "State inspection request 2026-118".into(),
        journal_seq: 90210,
        created_at: t0() + SignedDuration::from_secs(3600),
        segments,
    };
    let bundle = f.dir.join("bundle");
    let _ = std::fs::remove_dir_all(&bundle);
    let report = evidence::export_bundle(&req, &key, &bundle).unwrap();
    let (_, _, _, frames, duration) = ffprobe(&bundle.join(evidence::VIDEO_FILE));
    assert_eq!(frames, FRAMES as u64);
    assert!((duration - 5.0).abs() < 0.01);
    assert_eq!(
        report.manifest.segments[1].sha256.0,
        f.segs[1].summary.sha256
    );
    let ok = evidence::verify_with_key(&bundle, Some(&key.verifying_key())).unwrap();
    assert_eq!(ok.manifest.journal_seq, 90210);
    assert!(ok.gaps.is_empty());

    let tampered = |name: &str, change: &dyn Fn(&Path)| -> VerifyError {
        let d = f.dir.join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        for e in std::fs::read_dir(&bundle).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
        change(&d);
        evidence::verify(&d).unwrap_err()
    };
    let flip = |path: PathBuf, offset: u64| {
        let mut b = std::fs::read(&path).unwrap();
        b[offset as usize] ^= 0x01;
        std::fs::write(&path, b).unwrap();
    };
    let seg_b = &report.manifest.segments[1];
    let e = tampered("t-frame", &|d| {
        flip(
            d.join(evidence::VIDEO_FILE),
            seg_b.mp4_offset + seg_b.bytes / 2,
        )
    });
    assert_eq!(e.part(), evidence::VIDEO_FILE);
    assert!(
        e.to_string().contains("seg-1") && !e.to_string().contains("seg-0"),
        "{e}"
    );

    let e = tampered("t-manifest", &|d| {
        flip(d.join(evidence::MANIFEST_FILE), 100)
    });
    assert!(matches!(e, VerifyError::BadSignature), "{e}");

    let e = tampered("t-delete", &|d| {
        std::fs::remove_file(d.join(evidence::VIDEO_FILE)).unwrap()
    });
    assert!(
        matches!(
            e,
            VerifyError::Missing {
                part: evidence::VIDEO_FILE
            }
        ),
        "{e}"
    );

    let e = tampered("t-key", &|d| {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        let other = ed25519_dalek::SigningKey::from_bytes(&[10; 32]).verifying_key();
        let pem = other
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        std::fs::write(d.join(evidence::KEY_FILE), pem).unwrap();
    });
    assert_eq!(e.part(), evidence::KEY_FILE, "{e}");

    let other = ed25519_dalek::SigningKey::from_bytes(&[11; 32]).verifying_key();
    let e = evidence::verify_with_key(&bundle, Some(&other)).unwrap_err();
    assert!(matches!(e, VerifyError::WrongKey { .. }), "{e}");
}
