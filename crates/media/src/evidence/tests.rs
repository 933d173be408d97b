//! Tests of export and verification on fake segments, with the bundle tampered with in every way
//! the verifier must name.

use super::*;
use crate::hashing::to_hex;
use crate::segment::{Codec, SampleEntry, SegmentWriter, h264};
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::{Signer, SigningKey};
use jiff::Timestamp;
use std::fs;
use std::path::Path;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + s).unwrap()
}

/// Three fake 2-second segments with a 10-second gap before the last.
fn request(dir: &Path) -> ExportRequest {
    let entry = SampleEntry {
        codec: Codec::H264,
        width: 64,
        height: 48,
        decoder_config: vec![1, 66, 0, 30, 0xff, 0xe0, 0],
    };
    let mut segments = Vec::new();
    for (i, start) in [0i64, 2, 14].into_iter().enumerate() {
        let path = dir.join(format!("seg{i}"));
        let mut w = SegmentWriter::create(&path).unwrap();
        for f in 0..30u8 {
            let mut frame = Vec::new();
            h264::push_avcc_nal(&mut frame, &vec![0x41 + f; 200 + usize::from(f)]).unwrap();
            w.append_frame(&frame, 6000, f == 0).unwrap();
        }
        let s = w.finish().unwrap();
        segments.push(ExportSegment {
            id: format!("cam1-{i}"),
            start: ts(start),
            end: ts(start + 2),
            entry: entry.clone(),
            index: s.sample_index,
            path,
            expected_sha256: Some(s.sha256),
        });
    }
    ExportRequest {
        site: Named {
            id: "site-1".into(),
            name: "Main St".into(),
        },
        camera: Named {
            id: "cam1".into(),
            name: "Vault door".into(),
        },
        requested_range: TimeRange {
            start: ts(1),
            end: ts(15),
        },
        exported_by: "alice".into(),
        reason: "incident 42".into(),
        journal_seq: 1234,
        created_at: ts(100),
        segments,
    }
}

#[test]
fn export_verify_and_detect_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path());
    let bundle = dir.path().join("bundle");
    let report = export_bundle(&req, &key(1), &bundle).unwrap();
    assert!(!dir.path().join("bundle.partial").exists());
    assert_eq!(report.manifest.video.frame_count, 90);
    assert_eq!(report.manifest.video.fps, 15.0);
    assert_eq!(
        report.manifest.covered_range,
        TimeRange {
            start: ts(0),
            end: ts(16)
        }
    );

    let ok = verify_with_key(&bundle, Some(&key(1).verifying_key())).unwrap();
    assert_eq!(ok.manifest, report.manifest);
    assert_eq!(
        ok.gaps,
        vec![TimeRange {
            start: ts(4),
            end: ts(14)
        }]
    );
    assert!(ok.unlisted_files.is_empty());
    assert!(matches!(
        export_bundle(&req, &key(1), &bundle),
        Err(ExportError::Exists(_))
    ));

    // The bundle's own key file parses back to the signing key.
    let pem = fs::read_to_string(bundle.join(KEY_FILE)).unwrap();
    assert_eq!(parse_public_key_pem(&pem).unwrap(), key(1).verifying_key());
    assert!(parse_public_key_pem("nonsense").is_err());

    // Wrong trusted key.
    let e = verify_with_key(&bundle, Some(&key(2).verifying_key())).unwrap_err();
    assert!(matches!(e, VerifyError::WrongKey { .. }), "{e}");

    // One byte of the second segment's frames.
    let copy = |name: &str| {
        let d = dir.path().join(name);
        fs::create_dir(&d).unwrap();
        for f in BUNDLE_FILES {
            fs::copy(bundle.join(f), d.join(f)).unwrap();
        }
        d
    };
    let t = copy("t1");
    let mut video = fs::read(t.join(VIDEO_FILE)).unwrap();
    let off = report.manifest.segments[1].mp4_offset as usize + 100;
    video[off] ^= 1;
    fs::write(t.join(VIDEO_FILE), &video).unwrap();
    match verify(&t).unwrap_err() {
        VerifyError::VideoAltered { altered_segments } => {
            assert_eq!(altered_segments.len(), 1);
            assert!(
                altered_segments[0].starts_with("cam1-1 "),
                "{altered_segments:?}"
            );
        }
        e => panic!("unexpected {e}"),
    }

    // One byte of the container header only.
    let t = copy("t2");
    let mut video = fs::read(t.join(VIDEO_FILE)).unwrap();
    video[40] ^= 1;
    fs::write(t.join(VIDEO_FILE), &video).unwrap();
    let e = verify(&t).unwrap_err();
    assert!(
        matches!(&e, VerifyError::VideoAltered { altered_segments } if altered_segments.is_empty()),
        "{e}"
    );
    assert_eq!(e.part(), VIDEO_FILE);

    // Truncated video.
    let t = copy("t3");
    fs::write(t.join(VIDEO_FILE), &video[..video.len() - 1]).unwrap();
    assert!(matches!(
        verify(&t).unwrap_err(),
        VerifyError::VideoLength { .. }
    ));

    // One byte of the manifest.
    let t = copy("t4");
    let m = fs::read_to_string(t.join(MANIFEST_FILE))
        .unwrap()
        .replace("alice", "alicf");
    fs::write(t.join(MANIFEST_FILE), m).unwrap();
    let e = verify(&t).unwrap_err();
    assert!(matches!(e, VerifyError::BadSignature), "{e}");
    assert_eq!(e.part(), MANIFEST_FILE);

    // Each file deleted.
    for f in [VIDEO_FILE, MANIFEST_FILE, SIGNATURE_FILE, KEY_FILE] {
        let t = copy(&format!("del-{f}"));
        fs::remove_file(t.join(f)).unwrap();
        let e = verify(&t).unwrap_err();
        assert!(
            matches!(e, VerifyError::Missing { part } if part == f),
            "{f}: {e}"
        );
    }

    // Key file replaced by another key.
    let t = copy("t5");
    let pem = key(3)
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    fs::write(t.join(KEY_FILE), pem).unwrap();
    let e = verify(&t).unwrap_err();
    assert!(matches!(e, VerifyError::KeyReplaced { .. }), "{e}");
    assert_eq!(e.part(), KEY_FILE);

    // Everything re-signed by another key: consistent, but not the site's key.
    let t = copy("t6");
    let m = fs::read(t.join(MANIFEST_FILE)).unwrap();
    let mut parsed = Manifest::parse(&m).unwrap();
    parsed.public_key = to_hex(&key(3).verifying_key().to_bytes());
    let m = parsed.to_bytes().unwrap();
    fs::write(t.join(MANIFEST_FILE), &m).unwrap();
    fs::write(t.join(SIGNATURE_FILE), key(3).sign(&m).to_bytes()).unwrap();
    fs::write(
        t.join(KEY_FILE),
        key(3)
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    assert!(verify(&t).is_ok());
    assert!(matches!(
        verify_with_key(&t, Some(&key(1).verifying_key())),
        Err(VerifyError::WrongKey { .. })
    ));

    // Truncated signature.
    let t = copy("t7");
    fs::write(t.join(SIGNATURE_FILE), [0u8; 63]).unwrap();
    assert!(matches!(
        verify(&t).unwrap_err(),
        VerifyError::Malformed {
            part: SIGNATURE_FILE,
            ..
        }
    ));
}

#[test]
fn export_refuses_altered_source() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path());
    let mut bytes = fs::read(&req.segments[2].path).unwrap();
    bytes[10] ^= 0xff;
    fs::write(&req.segments[2].path, bytes).unwrap();
    let bundle = dir.path().join("b");
    let e = export_bundle(&req, &key(1), &bundle).unwrap_err();
    assert!(
        matches!(&e, ExportError::SourceAltered { id, .. } if id == "cam1-2"),
        "{e}"
    );
    assert!(!bundle.exists());
    assert!(!dir.path().join("b.partial").exists());
}

#[test]
fn openssl_can_check_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b");
    export_bundle(&request(dir.path()), &key(1), &bundle).unwrap();
    let out = std::process::Command::new("openssl")
        .current_dir(&bundle)
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            KEY_FILE,
            "-rawin",
            "-in",
            MANIFEST_FILE,
        ])
        .args(["-sigfile", SIGNATURE_FILE])
        .output();
    match out {
        Ok(out) => assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("SKIP: openssl not runnable: {e}"),
    }
}

#[test]
fn manifest_parser_rejects_unknown_fields_and_garbage() {
    assert!(Manifest::parse(b"{}").is_err());
    assert!(Manifest::parse(b"\xff\xfe").is_err());
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b");
    let r = export_bundle(&request(dir.path()), &key(1), &bundle).unwrap();
    let bytes = r.manifest.to_bytes().unwrap();
    assert_eq!(Manifest::parse(&bytes).unwrap(), r.manifest);
    let extra = String::from_utf8(bytes)
        .unwrap()
        .replacen('{', "{\"extra\": 1,", 1);
    assert!(Manifest::parse(extra.as_bytes()).is_err());
}
