//! Signed evidence exports (EXP-01..08): writing a bundle (journaled `video.export_started`, then
//! `video.exported` or `video.export_failed`), listing and re-verifying stored bundles, and
//! opening one of a bundle's files for download (journaled `video.export_downloaded` first).
use std::io::Read as _;
use std::path::PathBuf;

use serde_json::Value;
use strongroom_domain::{Actor, Fact};
use strongroom_journal::SiteKey;
use strongroom_media::evidence::{self, ExportRequest, ExportSegment, Named, TimeRange};

use crate::error::VideoError;
use crate::kinds;
use crate::service::VideoService;
use crate::status::{check_range, decode_index};
use crate::time::{safe_name, ts_from_90k, ts_from_ms};
use crate::views::{BundleFile, ExportCreated, ExportList, ExportSummary, ExportVerification};

/// Longest range one export may cover.
pub const MAX_EXPORT_MS: i64 = 12 * 3_600_000;
/// Longest export reason, in characters.
const MAX_REASON_CHARS: usize = 1000;
/// Bundle files a client may download: every file a bundle defines.
pub use evidence::BUNDLE_FILES;

/// The Ed25519 key that signs evidence manifests: the site's journal key.
pub fn evidence_key(key: &SiteKey) -> Result<ed25519_dalek::SigningKey, String> {
    let seed = hex::decode(key.to_hex()).map_err(|e| e.to_string())?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| "site key is not 32 bytes".to_owned())?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}

/// A required text field, trimmed, of at most `max` characters.
pub(crate) fn valid_text(field: &str, v: &str, max: usize) -> Result<String, VideoError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(VideoError::BadRequest(format!("{field} is required")));
    }
    if t.chars().count() > max {
        return Err(VideoError::BadRequest(format!(
            "{field} may have at most {max} characters"
        )));
    }
    Ok(t.to_owned())
}

/// An export id as a client sends it: `[A-Za-z0-9_-]`, 1 to 128 characters.
fn check_export_id(id: &str) -> Result<(), VideoError> {
    if id.is_empty() || safe_name(id) != id || id.len() > 128 {
        return Err(VideoError::BadRequest(format!("bad export id {id:?}")));
    }
    Ok(())
}

/// A bundle file opened for download.
#[derive(Debug, Clone)]
pub struct BundleDownload {
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its MIME type.
    pub mime: &'static str,
    /// A file name for it (`EXPORT-FILE`).
    pub file_name: String,
}

/// What an export is of.
#[derive(Debug, Clone)]
pub struct ExportOrder {
    /// Camera id.
    pub camera: String,
    /// From, epoch ms.
    pub from_ms: i64,
    /// To, epoch ms.
    pub to_ms: i64,
    /// Why (required, up to 1,000 characters).
    pub reason: String,
}

impl VideoService {
    /// Writes a signed evidence bundle of `order` (one export at a time), signed with the
    /// site's key, journaled with who and why.
    pub async fn export(
        &self,
        order: ExportOrder,
        key: &SiteKey,
        by: &Actor,
    ) -> Result<ExportCreated, VideoError> {
        let name = self.camera_name(&order.camera)?;
        let reason = valid_text("reason", &order.reason, MAX_REASON_CHARS)?;
        check_range(order.from_ms, order.to_ms, MAX_EXPORT_MS)?;
        let _one_at_a_time = self.exporting.lock().await;
        let rows = self
            .segments(&order.camera, order.from_ms, order.to_ms)
            .await?;
        if rows.is_empty() {
            return Err(VideoError::NotFound(format!(
                "recordings of camera {:?} in that range",
                order.camera
            )));
        }
        let entries = self.entries(&rows).await?;
        let mut segs = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(entry) = entries.get(&r.sample_entry_id) else {
                return Err(VideoError::Internal(format!(
                    "no sample entry for {}",
                    r.path
                )));
            };
            segs.push(ExportSegment {
                id: format!("{}/{}", order.camera, r.seq),
                start: ts_from_90k(r.start_time_90k)?,
                end: ts_from_90k(r.end_time_90k())?,
                entry: entry.clone(),
                index: decode_index(r)?,
                path: self.storage_dir.join(&r.path),
                expected_sha256: strongroom_media::hashing::from_hex32(&r.sha256_hex),
            });
        }
        let signing = evidence_key(key).map_err(VideoError::Internal)?;
        let config = self.config();
        let now = self.clock.now_ms();
        let started = self
            .journal
            .append_one(
                Fact::new(kinds::EXPORT_STARTED, by.clone(), now)
                    .with("camera", order.camera.clone())
                    .with("from_ms", order.from_ms)
                    .with("to_ms", order.to_ms)
                    .with("reason", reason.clone())
                    .with("segments", segs.len()),
            )
            .await?;
        let export_id = format!("{}-{}", started.seq, safe_name(&order.camera));
        let out_dir = self.exports_dir.join(&export_id);
        let req = ExportRequest {
            site: Named {
                id: self.site_id.clone(),
                name: config.site.name.clone(),
            },
            camera: Named {
                id: order.camera.clone(),
                name,
            },
            requested_range: TimeRange {
                start: ts_from_ms(order.from_ms)?,
                end: ts_from_ms(order.to_ms)?,
            },
            exported_by: by.to_string(),
            reason: reason.clone(),
            journal_seq: started.seq,
            created_at: ts_from_ms(now)?,
            segments: segs,
        };
        let dir = out_dir.clone();
        let result =
            tokio::task::spawn_blocking(move || evidence::export_bundle(&req, &signing, &dir))
                .await
                .map_err(|e| VideoError::Internal(e.to_string()))?;
        let report = match result {
            Ok(r) => r,
            Err(e) => {
                self.journal
                    .append_one(
                        Fact::new(kinds::EXPORT_FAILED, by.clone(), self.clock.now_ms())
                            .with("export", export_id.clone())
                            .with("export_seq", started.seq)
                            .with("error", e.to_string()),
                    )
                    .await?;
                return Err(match e {
                    evidence::ExportError::SourceAltered { .. } => {
                        VideoError::Conflict(e.to_string())
                    }
                    other => VideoError::Internal(other.to_string()),
                });
            }
        };
        let m = &report.manifest;
        let key_fp = evidence::key_fingerprint(&key.verifying_key());
        self.journal
            .append_one(
                Fact::new(kinds::EXPORTED, by.clone(), self.clock.now_ms())
                    .with("export", export_id.clone())
                    .with("export_seq", started.seq)
                    .with("camera", order.camera.clone())
                    .with("from_ms", order.from_ms)
                    .with("to_ms", order.to_ms)
                    .with("covered_from_ms", m.covered_range.start.as_millisecond())
                    .with("covered_to_ms", m.covered_range.end.as_millisecond())
                    .with("reason", reason)
                    .with("manifest_sha256", hex::encode(report.manifest_sha256))
                    .with("video_sha256", m.video.sha256.to_string())
                    .with("video_bytes", m.video.bytes)
                    .with("frames", m.video.frame_count)
                    .with("segments", m.segments.len())
                    .with("key_fingerprint", key_fp.clone())
                    .with("path", report.path.display().to_string()),
            )
            .await?;
        let base = format!("/api/v1/sites/{}/video/exports/{export_id}", self.site_id);
        Ok(ExportCreated {
            id: export_id,
            path: report.path.display().to_string(),
            key_fingerprint: key_fp,
            manifest_sha256: hex::encode(report.manifest_sha256),
            files: BUNDLE_FILES
                .iter()
                .map(|f| BundleFile {
                    name: (*f).to_owned(),
                    url: format!("{base}/{f}"),
                })
                .collect(),
            manifest: serde_json::to_value(m).unwrap_or(Value::Null),
        })
    }

    /// The stored bundles, newest first (unreadable ones are left out).
    pub async fn exports(&self) -> Result<ExportList, VideoError> {
        let dir = self.exports_dir.clone();
        let exports = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let Ok(rd) = std::fs::read_dir(&dir) else {
                return out;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".partial") {
                    continue;
                }
                let Ok(f) = std::fs::File::open(e.path().join(evidence::MANIFEST_FILE)) else {
                    continue;
                };
                let mut buf = Vec::new();
                if f.take(1 << 20).read_to_end(&mut buf).is_err() {
                    continue;
                }
                let Ok(m) = evidence::Manifest::parse(&buf) else {
                    continue;
                };
                out.push(ExportSummary {
                    id: name,
                    camera: m.camera.id,
                    from_ms: m.requested_range.start.as_millisecond(),
                    to_ms: m.requested_range.end.as_millisecond(),
                    exported_by: m.exported_by,
                    reason: m.reason,
                    created_ms: m.created_at.as_millisecond(),
                    video_bytes: m.video.bytes,
                    journal_seq: m.journal_seq,
                });
            }
            out.sort_by_key(|v| std::cmp::Reverse(v.journal_seq));
            out
        })
        .await
        .map_err(|e| VideoError::Internal(e.to_string()))?;
        Ok(ExportList { exports })
    }

    /// Opens one file of a stored bundle for `by`, journaling the delivery first.
    pub async fn download(
        &self,
        id: &str,
        file: &str,
        by: &Actor,
    ) -> Result<BundleDownload, VideoError> {
        check_export_id(id)?;
        let Some(file) = BUNDLE_FILES.iter().find(|f| **f == file).copied() else {
            return Err(VideoError::NotFound(format!("bundle file {file:?}")));
        };
        let path = self.exports_dir.join(id).join(file);
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|_| VideoError::NotFound(format!("export {id:?}")))?;
        self.journal
            .append_one(
                Fact::new(kinds::EXPORT_DOWNLOADED, by.clone(), self.clock.now_ms())
                    .with("export", id)
                    .with("file", file)
                    .with("bytes", meta.len()),
            )
            .await?;
        let mime = match file {
            evidence::VIDEO_FILE => "video/mp4",
            evidence::MANIFEST_FILE => "application/json",
            evidence::KEY_FILE | evidence::README_FILE => "text/plain; charset=utf-8",
            _ => "application/octet-stream",
        };
        Ok(BundleDownload {
            path,
            bytes: meta.len(),
            mime,
            file_name: format!("{id}-{file}"),
        })
    }

    /// Re-verifies a stored bundle against the site's own key and journals the result (EXP-06).
    pub async fn verify_export(
        &self,
        id: &str,
        key: &SiteKey,
        by: &Actor,
    ) -> Result<ExportVerification, VideoError> {
        check_export_id(id)?;
        let dir = self.exports_dir.join(id);
        if !dir.is_dir() {
            return Err(VideoError::NotFound(format!("export {id:?}")));
        }
        let verifying = key.verifying_key();
        let result =
            tokio::task::spawn_blocking(move || evidence::verify_with_key(&dir, Some(&verifying)))
                .await
                .map_err(|e| VideoError::Internal(e.to_string()))?;
        let (intact, part, problem) = match &result {
            Ok(_) => (true, None, None),
            Err(e) => (false, Some(e.part()), Some(e.to_string())),
        };
        let mut fact = Fact::new(kinds::EXPORT_VERIFIED, by.clone(), self.clock.now_ms())
            .with("export", id)
            .with("intact", intact);
        if let (Some(part), Some(problem)) = (part, &problem) {
            fact = fact.with("part", part).with("problem", problem.clone());
        }
        self.journal.append_one(fact).await?;
        Ok(ExportVerification {
            id: id.to_owned(),
            intact,
            part: part.map(str::to_owned),
            problem,
            key_fingerprint: result.as_ref().ok().map(|r| r.key_fingerprint.clone()),
        })
    }
}
