//! Reconciling disk and index (`check`), and erasing a storage directory for disposal (`wipe`,
//! RET-07).
//!
//! `check` walks every segment row and every file under the storage directory and reports: rows
//! whose file is missing (a broken invariant), size or SHA-256 mismatches (tampering or corruption,
//! RET-06), sample indexes that do not decode or do not fit the file, files without rows (orphans: a
//! crash between fsync and insert leaves these, which is allowed), and deletes still on the garbage
//! list. It changes nothing.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;
use sqlx::AnyPool;
use strongroom_media::segment::{SampleIndex, sync_dir};
use thiserror::Error;

use crate::index::{self, IndexError};

/// Errors of `check` and `wipe`.
#[derive(Debug, Error)]
pub enum CheckError {
    /// Index failure.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// File system failure.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The wipe was refused.
    #[error("wipe refused: {0}")]
    Refused(String),
    /// A blocking task failed.
    #[error("task: {0}")]
    Task(String),
}

/// A mismatch between a row and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Relative path.
    pub path: String,
    /// What the row says.
    pub expected: String,
    /// What the file has.
    pub actual: String,
}

/// What `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Segment rows examined.
    pub segments_checked: u64,
    /// Rows whose file does not exist.
    pub missing_files: Vec<String>,
    /// Rows whose file has another size.
    pub size_mismatches: Vec<Mismatch>,
    /// Rows whose file has another SHA-256 (only with hashing on).
    pub hash_mismatches: Vec<Mismatch>,
    /// Rows whose sample index does not decode or does not fit the file.
    pub bad_indexes: Vec<Mismatch>,
    /// Files under the storage directory with no row (relative paths).
    pub orphan_files: Vec<String>,
    /// Deletes still pending on the garbage list.
    pub garbage_pending: u64,
}

impl CheckReport {
    /// True when every row has its intact file. Orphans and pending garbage are allowed states.
    pub fn is_consistent(&self) -> bool {
        self.missing_files.is_empty()
            && self.size_mismatches.is_empty()
            && self.hash_mismatches.is_empty()
            && self.bad_indexes.is_empty()
    }
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CheckError + 'a {
    move |source| CheckError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Every regular file under `dir`, as paths relative to it (`/`-separated).
fn walk(dir: &Path) -> Result<Vec<String>, CheckError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("read_dir", &d)(e)),
        };
        for entry in rd {
            let entry = entry.map_err(io("read_dir", &d))?;
            let ft = entry.file_type().map_err(io("stat", &entry.path()))?;
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file()
                && let Ok(rel) = entry.path().strip_prefix(dir)
            {
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Reconciles the index with the files under `storage_dir`. With `verify_hashes`, every file is
/// re-hashed (the scrub of RET-06); otherwise sizes and indexes are checked.
pub async fn check(
    pool: &AnyPool,
    storage_dir: &Path,
    verify_hashes: bool,
) -> Result<CheckReport, CheckError> {
    let rows = index::all_segments(pool).await?;
    let garbage = index::garbage(pool).await?;
    let dir = storage_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut r = CheckReport {
            garbage_pending: garbage.len() as u64,
            ..CheckReport::default()
        };
        let files = walk(&dir)?;
        let indexed: BTreeSet<&str> = rows.iter().map(|s| s.path.as_str()).collect();
        let in_garbage: BTreeSet<&str> = garbage.iter().map(|g| g.path.as_str()).collect();
        r.orphan_files = files
            .iter()
            .filter(|f| !indexed.contains(f.as_str()) && !in_garbage.contains(f.as_str()))
            .cloned()
            .collect();
        for s in &rows {
            r.segments_checked += 1;
            let p = dir.join(&s.path);
            let len = match std::fs::metadata(&p) {
                Ok(m) => m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    r.missing_files.push(s.path.clone());
                    continue;
                }
                Err(e) => return Err(io("stat", &p)(e)),
            };
            if i64::try_from(len).ok() != Some(s.bytes) {
                r.size_mismatches.push(Mismatch {
                    path: s.path.clone(),
                    expected: s.bytes.to_string(),
                    actual: len.to_string(),
                });
            }
            match SampleIndex::decode(&s.sample_index) {
                Ok(idx) => {
                    if let Err(e) = idx.validate(Some(len)) {
                        r.bad_indexes.push(Mismatch {
                            path: s.path.clone(),
                            expected: "index fits file".into(),
                            actual: e.to_string(),
                        });
                    } else if idx.len() as i64 != s.frame_count {
                        r.bad_indexes.push(Mismatch {
                            path: s.path.clone(),
                            expected: format!("{} frames", s.frame_count),
                            actual: format!("{} frames", idx.len()),
                        });
                    }
                }
                Err(e) => r.bad_indexes.push(Mismatch {
                    path: s.path.clone(),
                    expected: "decodable index".into(),
                    actual: e.to_string(),
                }),
            }
            if verify_hashes {
                let h = sha256_file(&p).map_err(io("read", &p))?;
                if h != s.sha256_hex {
                    r.hash_mismatches.push(Mismatch {
                        path: s.path.clone(),
                        expected: s.sha256_hex.clone(),
                        actual: h,
                    });
                }
            }
        }
        Ok(r)
    })
    .await
    .map_err(|e| CheckError::Task(e.to_string()))?
}

/// What `wipe` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WipeReport {
    /// Files overwritten and deleted.
    pub files_erased: u64,
    /// Bytes overwritten.
    pub bytes_overwritten: u64,
    /// Index rows removed.
    pub rows_removed: u64,
}

/// Erases every recording of `storage_dir` before the media is disposed of: refuses while any
/// indexed segment is under an active legal hold; otherwise moves every segment row (an index serves
/// one storage directory) to the garbage list, overwrites every file under the directory with zeros (fsynced), unlinks it,
/// removes the directories, and clears the garbage rows.
pub async fn wipe(pool: &AnyPool, storage_dir: &Path) -> Result<WipeReport, CheckError> {
    let holds = index::holds(pool).await?;
    let metas = index::segment_metas(pool).await?;
    if let Some(h) = metas.iter().find(|m| crate::retention::is_held(m, &holds)) {
        return Err(CheckError::Refused(format!(
            "segment {} of {} is under legal hold",
            h.seq, h.camera_key
        )));
    }
    let ids: Vec<(i64, i64)> = metas.iter().map(|m| (m.camera_id, m.seq)).collect();
    let moved = index::mark_garbage(pool, &ids).await?;
    let dir = storage_dir.to_path_buf();
    let mut report = tokio::task::spawn_blocking(move || -> Result<WipeReport, CheckError> {
        let mut r = WipeReport::default();
        let zeros = vec![0u8; 1 << 20];
        for rel in walk(&dir)? {
            let p = dir.join(&rel);
            let len = std::fs::metadata(&p).map_err(io("stat", &p))?.len();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .map_err(io("open", &p))?;
            let mut left = len;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                f.write_all(&zeros[..n]).map_err(io("overwrite", &p))?;
                left -= n as u64;
            }
            f.sync_all().map_err(io("fsync", &p))?;
            drop(f);
            std::fs::remove_file(&p).map_err(io("unlink", &p))?;
            r.files_erased += 1;
            r.bytes_overwritten += len;
        }
        // Remove the now-empty camera directories, deepest first.
        let mut dirs = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                        dirs.push(e.path());
                    }
                }
            }
        }
        for d in dirs.iter().rev() {
            std::fs::remove_dir(d).map_err(io("rmdir", d))?;
        }
        if dir.exists() {
            sync_dir(&dir).map_err(|e| CheckError::Io {
                op: "fsync",
                path: dir.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        }
        Ok(r)
    })
    .await
    .map_err(|e| CheckError::Task(e.to_string()))??;
    index::remove_garbage(pool, &moved).await?;
    report.rows_removed = moved.len() as u64;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{NewHold, SegmentRow};
    use crate::testing::TestDb;
    use strongroom_media::segment::{Codec, SampleEntry, SegmentWriter};

    async fn write_segment(
        pool: &AnyPool,
        storage: &Path,
        cam: i64,
        seq: i64,
        entry: i64,
    ) -> SegmentRow {
        let rel = format!("{cam}/{seq:010}.seg");
        std::fs::create_dir_all(storage.join(cam.to_string())).unwrap();
        let mut w = SegmentWriter::create(storage.join(&rel)).unwrap();
        for i in 0..5u8 {
            // One NAL unit per frame: IDR first, then non-IDR slices.
            let nal_type = if i == 0 { 0x65 } else { 0x41 };
            let frame = [0, 0, 0, 3, nal_type, i, seq as u8];
            w.append_frame(&frame, 6000, i == 0).unwrap();
        }
        let s = w.finish().unwrap();
        let row = SegmentRow {
            camera_id: cam,
            seq,
            start_time_90k: seq * 30_000,
            duration_90k: s.duration_90k as i64,
            path: rel,
            bytes: s.bytes as i64,
            sha256_hex: hex::encode(s.sha256),
            frame_count: i64::from(s.frame_count),
            fps_x1000: 15_000,
            width: 16,
            height: 16,
            sample_index: s.sample_index.encode(),
            sample_entry_id: entry,
        };
        index::insert_segment(pool, &row).await.unwrap();
        row
    }

    #[tokio::test]
    async fn check_finds_every_kind_of_drift_and_wipe_respects_holds() {
        let dir = tempfile::tempdir().unwrap();
        for db in TestDb::all(dir.path()).await.unwrap() {
            let pool = &db.pool;
            let storage = dir.path().join(format!("store-{}", db.label));
            let cam = index::ensure_camera(pool, "cam1", "rtsp://x", 0)
                .await
                .unwrap();
            let entry = SampleEntry {
                codec: Codec::H264,
                width: 16,
                height: 16,
                decoder_config: vec![1],
            };
            let e = index::ensure_sample_entry(pool, &entry).await.unwrap();
            let mut rows = Vec::new();
            for seq in 1..=5 {
                rows.push(write_segment(pool, &storage, cam, seq, e).await);
            }
            let r = check(pool, &storage, true).await.unwrap();
            assert!(r.is_consistent(), "{r:?}");
            assert_eq!(r.segments_checked, 5);
            assert!(r.orphan_files.is_empty());

            // Drift: a missing file, an extended file, a same-size alteration, an orphan, a garbage row.
            std::fs::remove_file(storage.join(&rows[0].path)).unwrap();
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(storage.join(&rows[1].path))
                .unwrap();
            f.write_all(b"x").unwrap();
            let p2 = storage.join(&rows[2].path);
            let mut bytes = std::fs::read(&p2).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&p2, bytes).unwrap();
            std::fs::write(storage.join(format!("{cam}/0000000099.seg")), b"orphan").unwrap();
            index::mark_garbage(pool, &[(cam, 4)]).await.unwrap();

            let r = check(pool, &storage, true).await.unwrap();
            assert!(!r.is_consistent());
            assert_eq!(r.segments_checked, 4);
            assert_eq!(r.missing_files, vec![rows[0].path.clone()]);
            assert_eq!(r.size_mismatches.len(), 1);
            assert_eq!(r.size_mismatches[0].path, rows[1].path);
            let hashed: Vec<&str> = r.hash_mismatches.iter().map(|m| m.path.as_str()).collect();
            assert_eq!(hashed, vec![rows[1].path.as_str(), rows[2].path.as_str()]);
            assert_eq!(r.orphan_files, vec![format!("{cam}/0000000099.seg")]);
            assert_eq!(r.garbage_pending, 1);
            let quick = check(pool, &storage, false).await.unwrap();
            assert!(
                quick.hash_mismatches.is_empty(),
                "no hashing without verify_hashes"
            );

            // Wipe: refused while a hold covers footage, done after release.
            let h = index::create_hold(
                pool,
                &NewHold {
                    cameras: vec![],
                    start_90k: 0,
                    end_90k: i64::MAX / 2,
                    reason: "investigation".into(),
                    reference: "CASE-1".into(),
                    created_by: "t".into(),
                },
                0,
            )
            .await
            .unwrap();
            assert!(matches!(
                wipe(pool, &storage).await,
                Err(CheckError::Refused(_))
            ));
            assert!(storage.join(&rows[4].path).exists());
            index::release_hold(pool, h, "t", "closure notice 7", true, 1)
                .await
                .unwrap();
            let w = wipe(pool, &storage).await.unwrap();
            assert_eq!(
                w.files_erased, 5,
                "4 indexed-or-garbage files left + 1 orphan"
            );
            assert_eq!(w.rows_removed, 4);
            assert!(walk(&storage).unwrap().is_empty());
            assert!(index::all_segments(pool).await.unwrap().is_empty());
            assert_eq!(
                index::garbage(pool).await.unwrap().len(),
                1,
                "pre-existing garbage row stays listed"
            );
            db.close().await.unwrap();
        }
    }
}
