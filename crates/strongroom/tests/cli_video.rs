//! The video commands of the binary: `evidence verify` (offline, exit 0 intact / 1 names the altered
//! or missing part / 2 usage or I/O error), `video check` (exit 1 on drift between disk and index),
//! `video wipe` (refused without --yes, erases and journals).
//!
//! Real H.264 comes from ffmpeg at test time; without ffmpeg the tests print `SKIP:` and pass,
//! unless `STRONGROOM_REQUIRE_PEERS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{path_str, run};
use jiff::{SignedDuration, Timestamp};
use strongroom_journal::SiteKey;
use strongroom_media::evidence::{self, ExportRequest, ExportSegment, Named, TimeRange};
use strongroom_media::segment::{SampleEntry, SegmentSummary, SegmentWriter, h264};

/// Two seconds of 320x240 H.264 at 15 fps, written as one segment file. None (after SKIP) without
/// ffmpeg.
fn make_segment(dir: &Path, seg_path: &Path) -> Option<(SampleEntry, SegmentSummary)> {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("STRONGROOM_REQUIRE_PEERS").as_deref() != Ok("1"),
            "ffmpeg required"
        );
        println!("SKIP: ffmpeg not found");
        return None;
    }
    let raw = dir.join("in.h264");
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=15",
        ])
        .args([
            "-t", "2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-bf", "0", "-g", "15",
        ])
        .args(["-bsf:v", "h264_mp4toannexb", "-f", "h264"])
        .arg(&raw)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
    let stream = std::fs::read(&raw).expect("read h264");
    let aus = h264::annexb_access_units(&stream);
    let sps = aus[0]
        .iter()
        .find(|n| h264::nal_type(n) == h264::NAL_SPS)
        .expect("sps");
    let pps = aus[0]
        .iter()
        .find(|n| h264::nal_type(n) == h264::NAL_PPS)
        .expect("pps");
    let entry = SampleEntry::h264_from_parameter_sets(sps, pps).expect("entry");
    if let Some(parent) = seg_path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let mut w = SegmentWriter::create(seg_path).expect("segment");
    for au in &aus {
        let mut avcc = Vec::new();
        for nal in au
            .iter()
            .filter(|n| !matches!(h264::nal_type(n), h264::NAL_SPS | h264::NAL_PPS))
        {
            h264::push_avcc_nal(&mut avcc, nal).expect("nal");
        }
        w.append_frame(&avcc, 6000, h264::avcc_is_idr(&avcc))
            .expect("append");
    }
    Some((entry, w.finish().expect("finish")))
}

fn flip_byte(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    let i = usize::try_from(at).expect("offset");
    bytes[i] ^= 0x01;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn evidence_verify_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seg = dir.path().join("seg");
    let Some((entry, summary)) = make_segment(dir.path(), &seg) else {
        return;
    };
    let t0: Timestamp = "2026-11-21T15:00:00Z".parse().expect("time");
    let end = t0
        + SignedDuration::from_nanos(
            i64::try_from(summary.duration_90k).expect("dur") * 100_000 / 9,
        );
    let site_key = SiteKey::generate().expect("key");
    let key = strongroom_server::evidence_key(&site_key).expect("signing key");
    let req = ExportRequest {
        site: Named {
            id: "s1".into(),
            name: "Test Dispensary".into(),
        },
        camera: Named {
            id: "cam1".into(),
            name: "Lobby".into(),
        },
        requested_range: TimeRange { start: t0, end },
        exported_by: "user:alice".into(),
        reason: "test".into(),
        journal_seq: 42,
        created_at: end,
        segments: vec![ExportSegment {
            id: "cam1/1".into(),
            start: t0,
            end,
            entry,
            index: summary.sample_index.clone(),
            path: seg.clone(),
            expected_sha256: Some(summary.sha256),
        }],
    };
    let bundle = dir.path().join("bundle");
    let report = evidence::export_bundle(&req, &key, &bundle).expect("export");
    let b = path_str(&bundle);

    let (code, out, err) = run(&["evidence", "verify", &b]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("INTACT") && out.contains("cam1"), "{out}");

    // With the site's published key (hex, as keys/SITE.pub): intact; with another key: not.
    let pub_file = dir.path().join("site.pub");
    std::fs::write(&pub_file, format!("{}\n", site_key.public_hex())).expect("pub");
    let (code, out, _) = run(&["evidence", "verify", &b, "--key", &path_str(&pub_file)]);
    assert_eq!(code, 0, "{out}");
    let other = dir.path().join("other.pub");
    std::fs::write(&other, SiteKey::generate().expect("key").public_hex()).expect("pub");
    let (code, out, _) = run(&["evidence", "verify", &b, "--key", &path_str(&other)]);
    assert_eq!(code, 1, "{out}");

    // One byte of recorded video flipped inside the MP4: exit 1 naming video.mp4.
    let seg_offset = report.manifest.segments[0].mp4_offset;
    let video = bundle.join(evidence::VIDEO_FILE);
    flip_byte(&video, seg_offset + 100);
    let (code, out, _) = run(&["evidence", "verify", &b]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("NOT INTACT") && out.contains("video.mp4"),
        "{out}"
    );
    flip_byte(&video, seg_offset + 100);
    assert_eq!(run(&["evidence", "verify", &b]).0, 0);

    // The manifest altered: exit 1 naming manifest.json.
    let manifest = bundle.join(evidence::MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("\"test\"", "\"tost\"")).expect("write");
    let (code, out, _) = run(&["evidence", "verify", &b]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("manifest.json"), "{out}");
    std::fs::write(&manifest, text).expect("restore");

    // A missing part: exit 1 naming it.
    std::fs::remove_file(bundle.join(evidence::SIGNATURE_FILE)).expect("rm sig");
    let (code, out, _) = run(&["evidence", "verify", &b]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("manifest.sig"), "{out}");

    // Not a bundle / no argument: exit 2.
    let (code, _, err) = run(&["evidence", "verify", "/nonexistent/bundle"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = run(&["evidence", "verify"]);
    assert_eq!(code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_check_reports_drift_and_wipe_erases() {
    let base = tempfile::tempdir().expect("tempdir");
    let dir = base.path().join("site");
    let d = path_str(&dir);
    let (code, out, err) = run(&[
        "init",
        "--dir",
        &d,
        "--jurisdiction",
        "oh-dispensary",
        "--site-name",
        "Video Test",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let rel = "1/0000000001.seg";
    let seg_path: PathBuf = dir.join("video").join(rel);
    let Some((entry, summary)) = make_segment(base.path(), &seg_path) else {
        return;
    };
    // Index the segment as the recorder would.
    let store = strongroom_store::Store::open(&format!(
        "sqlite://{}",
        dir.join("db").join("strongroom.sqlite").display()
    ))
    .await
    .expect("open");
    let pool = store.pool();
    strongroom_video::index::migrate(pool)
        .await
        .expect("migrate");
    let cam = strongroom_video::index::ensure_camera(pool, "cam1", "rtsp://127.0.0.1/cam1", 0)
        .await
        .expect("camera");
    assert_eq!(cam, 1, "the test placed the file under camera id 1");
    let entry_id = strongroom_video::index::ensure_sample_entry(pool, &entry)
        .await
        .expect("entry");
    let start_90k = 1_790_000_000_000 * 90;
    strongroom_video::index::insert_segment(
        pool,
        &strongroom_video::index::SegmentRow {
            camera_id: cam,
            seq: 1,
            start_time_90k: start_90k,
            duration_90k: i64::try_from(summary.duration_90k).expect("dur"),
            path: rel.into(),
            bytes: i64::try_from(summary.bytes).expect("bytes"),
            sha256_hex: hex::encode(summary.sha256),
            frame_count: i64::from(summary.frame_count),
            fps_x1000: 15_000,
            width: 320,
            height: 240,
            sample_index: summary.sample_index.encode(),
            sample_entry_id: entry_id,
        },
    )
    .await
    .expect("insert");

    let (code, out, err) = run(&["video", "check", "--dir", &d]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("1 segments checked") && out.contains("OK"),
        "{out}"
    );

    // One byte altered: drift (exit 1) naming the file.
    flip_byte(&seg_path, 10);
    let (code, out, _) = run(&["video", "check", "--dir", &d]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ALTERED") && out.contains(rel), "{out}");
    flip_byte(&seg_path, 10);

    // An orphan file is reported but is not drift.
    std::fs::write(dir.join("video").join("1").join("0000000009.seg"), b"x").expect("orphan");
    let (code, out, _) = run(&["video", "check", "--dir", &d]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ORPHAN"), "{out}");

    // Wipe needs --yes; with it every file is erased and the wipe is journaled.
    let (code, _, err) = run(&["video", "wipe", "--dir", &d]);
    assert_eq!(code, 2, "{err}");
    assert!(seg_path.exists());
    let (code, out, err) = run(&["video", "wipe", "--dir", &d, "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ERASED: 2 files"), "{out}");
    assert!(!seg_path.exists());
    let wiped = store
        .recent_events("video-test", Some("video.wiped"), None, 10)
        .await
        .expect("events");
    assert_eq!(wiped.len(), 1, "one video.wiped fact");
    let (code, out, _) = run(&["video", "check", "--dir", &d]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 segments checked"), "{out}");
    store.close().await;

    // No database: check is an error (2), not drift.
    let (code, _, _) = run(&[
        "video",
        "check",
        "--dir",
        &path_str(&base.path().join("none")),
    ]);
    assert_eq!(code, 2);
}
