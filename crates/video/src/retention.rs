//! Retention (RET-01..05): a pure purge planner, a disk forecast, the per-segment deletion rule, and
//! an executor that deletes through the garbage list.
//!
//! Planner rules, in order:
//! 1. A segment overlapping an active legal hold is never purged.
//! 2. When the free space is below the reserve, purge the oldest non-held segments that lie wholly
//!    outside retention (ended more than `retention_days` ago) until the reserve is met. With
//!    `max_keep_days` set, non-held segments older than that go regardless of disk.
//! 3. If still short, purge the oldest non-held segments inside retention and report a
//!    retention violation: recording the present beats keeping the past.
//! 4. If still short after that, only held footage remains: the plan reports the shortfall.

use std::collections::BTreeSet;
use std::path::Path;

use sqlx::AnyPool;
use strongroom_media::segment::sync_dir;
use thiserror::Error;

use crate::clock::{Clock, TICKS_PER_DAY_90K};
use crate::events::{DiskForecast, VideoEvent, VideoEvents};
use crate::index::{self, GarbageRow, Hold, IndexError, SegmentMeta};

/// Retention settings of a site (from its jurisdiction rule pack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Minimum days footage must be kept (IL 90, OH dispensary 183, OH processor 45).
    pub retention_days: u32,
    /// Free bytes to keep on the storage volume.
    pub reserve_bytes: u64,
    /// If set, non-held footage older than this many days is purged even with disk to spare.
    pub max_keep_days: Option<u32>,
}

/// One segment the plan deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPurge {
    /// Camera stream id.
    pub camera_id: i64,
    /// Camera key.
    pub camera_key: String,
    /// Segment number.
    pub seq: i64,
    /// Bytes freed.
    pub bytes: u64,
    /// Segment end, 90 kHz since epoch.
    pub end_90k: i64,
    /// True if the segment was still inside the retention minimum.
    pub inside_retention: bool,
}

/// What the planner decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgePlan {
    /// Segments to delete, oldest first.
    pub purge: Vec<PlannedPurge>,
    /// Bytes the plan frees.
    pub bytes_freed: u64,
    /// Bytes still missing from the reserve after the plan (only held footage left to delete).
    pub shortfall_bytes: u64,
}

impl PurgePlan {
    /// The retention-violation event this plan calls for, if it purges inside retention.
    pub fn violation(&self, retention_days: u32) -> Option<VideoEvent> {
        let inside: Vec<&PlannedPurge> = self.purge.iter().filter(|p| p.inside_retention).collect();
        if inside.is_empty() {
            return None;
        }
        let cameras: BTreeSet<String> = inside.iter().map(|p| p.camera_key.clone()).collect();
        Some(VideoEvent::RetentionViolation {
            cameras: cameras.into_iter().collect(),
            segments_purged: inside.len() as u64,
            bytes_purged: inside.iter().map(|p| p.bytes).sum(),
            newest_purged_end_90k: inside.iter().map(|p| p.end_90k).max().unwrap_or(0),
            retention_days,
        })
    }
}

/// True if any active hold covers the segment.
pub fn is_held(seg: &SegmentMeta, holds: &[Hold]) -> bool {
    let end = seg.start_time_90k + seg.duration_90k;
    holds
        .iter()
        .any(|h| h.covers(&seg.camera_key, seg.start_time_90k, end))
}

/// The instant before which footage is outside retention.
pub fn retention_cutoff_90k(now_90k: i64, retention_days: u32) -> i64 {
    now_90k - i64::from(retention_days) * TICKS_PER_DAY_90K
}

/// Plans which segments to delete. `segments` may come in any order; the plan is oldest first.
pub fn plan(
    segments: &[SegmentMeta],
    holds: &[Hold],
    policy: &RetentionPolicy,
    now_90k: i64,
    free_bytes: u64,
) -> PurgePlan {
    let cutoff = retention_cutoff_90k(now_90k, policy.retention_days);
    let keep_cutoff = policy
        .max_keep_days
        .map(|d| retention_cutoff_90k(now_90k, d.max(policy.retention_days)));
    let mut candidates: Vec<&SegmentMeta> =
        segments.iter().filter(|s| !is_held(s, holds)).collect();
    candidates.sort_by_key(|s| (s.start_time_90k, s.camera_id, s.seq));
    let mut need = policy.reserve_bytes.saturating_sub(free_bytes);
    let mut out = PurgePlan::default();
    let mut taken = vec![false; candidates.len()];
    let expired = |s: &SegmentMeta| s.start_time_90k + s.duration_90k <= cutoff;
    let beyond_keep =
        |s: &SegmentMeta| keep_cutoff.is_some_and(|k| s.start_time_90k + s.duration_90k <= k);
    // Phase 1: expired footage, oldest first, as far as the disk needs (or beyond max_keep_days).
    // Phase 2: still short: oldest non-held footage inside retention.
    for inside in [false, true] {
        for (i, s) in candidates.iter().enumerate() {
            if taken[i] {
                continue;
            }
            let wanted = if inside {
                need > 0
            } else {
                expired(s) && (need > 0 || beyond_keep(s))
            };
            if !wanted {
                continue;
            }
            let bytes = u64::try_from(s.bytes).unwrap_or(0);
            taken[i] = true;
            out.purge.push(PlannedPurge {
                camera_id: s.camera_id,
                camera_key: s.camera_key.clone(),
                seq: s.seq,
                bytes,
                end_90k: s.start_time_90k + s.duration_90k,
                inside_retention: inside,
            });
            out.bytes_freed += bytes;
            need = need.saturating_sub(bytes);
        }
    }
    out.shortfall_bytes = need;
    out
}

/// Why a manual delete was refused (RET-01/03).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeleteRefused {
    /// The segment is younger than the retention minimum.
    #[error("segment {camera_key}/{seq} is inside the {retention_days}-day retention minimum")]
    InsideRetention {
        /// Camera key.
        camera_key: String,
        /// Segment number.
        seq: i64,
        /// Rule in force.
        retention_days: u32,
    },
    /// The segment is under a legal hold.
    #[error("segment {camera_key}/{seq} is under legal hold")]
    Held {
        /// Camera key.
        camera_key: String,
        /// Segment number.
        seq: i64,
    },
}

/// Whether a manual (UI/API) delete of `seg` is allowed at `now_90k`.
pub fn may_delete(
    seg: &SegmentMeta,
    holds: &[Hold],
    retention_days: u32,
    now_90k: i64,
) -> Result<(), DeleteRefused> {
    if is_held(seg, holds) {
        return Err(DeleteRefused::Held {
            camera_key: seg.camera_key.clone(),
            seq: seg.seq,
        });
    }
    if seg.start_time_90k + seg.duration_90k > retention_cutoff_90k(now_90k, retention_days) {
        return Err(DeleteRefused::InsideRetention {
            camera_key: seg.camera_key.clone(),
            seq: seg.seq,
            retention_days,
        });
    }
    Ok(())
}

/// Storage forecast: the recent bitrate (segments ending within `window_90k` before `now_90k`,
/// measured over the span actually recorded) against recorded plus usable free bytes.
pub fn forecast(
    segments: &[SegmentMeta],
    now_90k: i64,
    window_90k: i64,
    free_bytes: u64,
    reserve_bytes: u64,
    retention_days: u32,
) -> DiskForecast {
    let from = now_90k - window_90k.max(1);
    let recent: Vec<&SegmentMeta> = segments
        .iter()
        .filter(|s| s.start_time_90k + s.duration_90k > from && s.start_time_90k <= now_90k)
        .collect();
    let recent_bytes: u64 = recent
        .iter()
        .map(|s| u64::try_from(s.bytes).unwrap_or(0))
        .sum();
    let span_90k = recent
        .iter()
        .map(|s| s.start_time_90k)
        .min()
        .map_or(0, |first| now_90k - first.max(from));
    let bytes_per_day = if span_90k > 0 {
        (u128::from(recent_bytes) * TICKS_PER_DAY_90K as u128 / span_90k as u128) as u64
    } else {
        0
    };
    let recorded_bytes: u64 = segments
        .iter()
        .map(|s| u64::try_from(s.bytes).unwrap_or(0))
        .sum();
    let usable_free_bytes = free_bytes.saturating_sub(reserve_bytes);
    let capacity_days = if bytes_per_day > 0 {
        (recorded_bytes + usable_free_bytes) as f64 / bytes_per_day as f64
    } else {
        f64::INFINITY
    };
    DiskForecast {
        usable_free_bytes,
        recorded_bytes,
        bytes_per_day,
        capacity_days,
        retention_days,
        short: capacity_days < f64::from(retention_days),
    }
}

/// A camera whose retained history is shorter than the rule requires (RET-02).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryShortfall {
    /// Camera key.
    pub camera_key: String,
    /// Its oldest indexed footage, if any.
    pub oldest_90k: Option<i64>,
    /// Footage should reach back to this instant.
    pub required_from_90k: i64,
}

/// RET-02: once the site has operated longer than the minimum, every camera's oldest footage must be
/// at least `retention_days` old. Cameras added later are held to their own first recording
/// (`camera_since_90k`), so only footage lost after it was installed counts.
pub fn history_shortfalls(
    segments: &[SegmentMeta],
    cameras: &[(String, i64)],
    now_90k: i64,
    retention_days: u32,
    operating_since_90k: i64,
) -> Vec<HistoryShortfall> {
    let cutoff = retention_cutoff_90k(now_90k, retention_days);
    let mut out = Vec::new();
    for (key, camera_since_90k) in cameras {
        let required_from_90k = cutoff.max(operating_since_90k).max(*camera_since_90k);
        if required_from_90k >= now_90k {
            continue;
        }
        let oldest_90k = segments
            .iter()
            .filter(|s| &s.camera_key == key)
            .map(|s| s.start_time_90k)
            .min();
        if oldest_90k.is_none_or(|o| o > required_from_90k) {
            out.push(HistoryShortfall {
                camera_key: key.clone(),
                oldest_90k,
                required_from_90k,
            });
        }
    }
    out
}

/// Retention executor errors.
#[derive(Debug, Error)]
pub enum RetentionError {
    /// Index failure.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// File system failure.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Unlinks garbage files, fsyncs their directories, then removes the garbage rows.
async fn unlink_garbage(
    pool: &AnyPool,
    storage_dir: &Path,
    rows: Vec<GarbageRow>,
) -> Result<usize, RetentionError> {
    let dir = storage_dir.to_path_buf();
    let rows = tokio::task::spawn_blocking(move || -> Result<Vec<GarbageRow>, RetentionError> {
        let mut dirs = BTreeSet::new();
        for g in &rows {
            let p = dir.join(&g.path);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(RetentionError::Io {
                        op: "unlink",
                        path: p.display().to_string(),
                        source,
                    });
                }
            }
            if let Some(parent) = p.parent() {
                dirs.insert(parent.to_path_buf());
            }
        }
        for d in dirs {
            if d.exists() {
                sync_dir(&d).map_err(|e| RetentionError::Io {
                    op: "fsync",
                    path: d.display().to_string(),
                    source: std::io::Error::other(e.to_string()),
                })?;
            }
        }
        Ok(rows)
    })
    .await
    .map_err(|e| RetentionError::Io {
        op: "join",
        path: String::new(),
        source: std::io::Error::other(e.to_string()),
    })??;
    index::remove_garbage(pool, &rows).await?;
    Ok(rows.len())
}

/// Finishes deletes interrupted by a crash: unlinks every file on the garbage list.
pub async fn collect_garbage(pool: &AnyPool, storage_dir: &Path) -> Result<usize, RetentionError> {
    let rows = index::garbage(pool).await?;
    unlink_garbage(pool, storage_dir, rows).await
}

/// Deletes the planned segments through the garbage list. Holds are re-read just before, and any
/// segment a new hold covers is skipped. Returns the number of segments deleted.
pub async fn execute(
    pool: &AnyPool,
    storage_dir: &Path,
    plan: &PurgePlan,
) -> Result<usize, RetentionError> {
    if plan.purge.is_empty() {
        return Ok(0);
    }
    let holds = index::holds(pool).await?;
    let metas = index::segment_metas(pool).await?;
    let ids: Vec<(i64, i64)> = plan
        .purge
        .iter()
        .filter(|p| {
            metas
                .iter()
                .find(|m| m.camera_id == p.camera_id && m.seq == p.seq)
                .is_some_and(|m| !is_held(m, &holds))
        })
        .map(|p| (p.camera_id, p.seq))
        .collect();
    let rows = index::mark_garbage(pool, &ids).await?;
    unlink_garbage(pool, storage_dir, rows).await
}

/// Free bytes on the volume holding `path` (for unprivileged users).
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(path).map_err(std::io::Error::from)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Outcome of one retention pass.
#[derive(Debug, Clone, PartialEq)]
pub struct PassOutcome {
    /// The plan.
    pub plan: PurgePlan,
    /// Segments actually deleted.
    pub deleted: usize,
    /// The forecast.
    pub forecast: DiskForecast,
}

/// One retention pass: collect leftover garbage, plan against the measured free space, execute,
/// emit `RetentionViolation` (if footage inside retention went) and `DiskForecast`.
pub async fn run_pass<C: Clock, E: VideoEvents>(
    pool: &AnyPool,
    storage_dir: &Path,
    policy: &RetentionPolicy,
    clock: &C,
    events: &E,
) -> Result<PassOutcome, RetentionError> {
    collect_garbage(pool, storage_dir).await?;
    let io = |source| RetentionError::Io {
        op: "statvfs",
        path: storage_dir.display().to_string(),
        source,
    };
    let free = free_bytes(storage_dir).map_err(io)?;
    let now = clock.now_90k();
    let segments = index::segment_metas(pool).await?;
    let holds = index::holds(pool).await?;
    let plan = plan(&segments, &holds, policy, now, free);
    let deleted = execute(pool, storage_dir, &plan).await?;
    if let Some(v) = plan.violation(policy.retention_days) {
        events.emit(v).await;
    }
    let segments = index::segment_metas(pool).await?;
    let free = free_bytes(storage_dir).map_err(io)?;
    let fc = forecast(
        &segments,
        now,
        TICKS_PER_DAY_90K,
        free,
        policy.reserve_bytes,
        policy.retention_days,
    );
    events.emit(VideoEvent::DiskForecast(fc.clone())).await;
    Ok(PassOutcome {
        plan,
        deleted,
        forecast: fc,
    })
}

/// How often the free space is looked at between full passes.
pub const SPACE_CHECK_MS: u64 = 5_000;

/// Runs [`run_pass`] every `interval_s` until `shutdown` turns true, and between passes looks at
/// the free space every [`SPACE_CHECK_MS`]: below the reserve, a pass runs at once (purging the
/// oldest footage not under hold), so a filling disk never stops recording for longer than a
/// few seconds. Failures are logged and retried.
pub async fn run_loop<C: Clock, E: VideoEvents>(
    pool: AnyPool,
    storage_dir: std::path::PathBuf,
    policy: RetentionPolicy,
    clock: std::sync::Arc<C>,
    events: std::sync::Arc<E>,
    interval_s: u64,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    run_loop_with(
        pool,
        storage_dir,
        policy,
        clock,
        events,
        interval_s,
        SPACE_CHECK_MS,
        shutdown,
    )
    .await;
}

/// [`run_loop`] with the space check every `space_check_ms`. While nothing can be freed (all
/// footage held), space-triggered passes run at most every 30 s.
#[allow(clippy::too_many_arguments)]
pub async fn run_loop_with<C: Clock, E: VideoEvents>(
    pool: AnyPool,
    storage_dir: std::path::PathBuf,
    policy: RetentionPolicy,
    clock: std::sync::Arc<C>,
    events: std::sync::Arc<E>,
    interval_s: u64,
    space_check_ms: u64,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use std::time::{Duration, Instant};
    let mut interval = tokio::time::interval(Duration::from_secs(interval_s.max(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut space = tokio::time::interval(Duration::from_millis(space_check_ms.max(1)));
    space.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fruitless_since: Option<Instant> = None;
    loop {
        let full = tokio::select! {
            _ = interval.tick() => true,
            _ = space.tick() => false,
            _ = shutdown.wait_for(|v| *v) => return,
        };
        if !full {
            let low = free_bytes(&storage_dir).is_ok_and(|f| f < policy.reserve_bytes);
            let due = low && fruitless_since.is_none_or(|t| t.elapsed() >= Duration::from_secs(30));
            if !due {
                continue;
            }
        }
        match run_pass(&pool, &storage_dir, &policy, &*clock, &*events).await {
            Ok(o) if o.plan.bytes_freed == 0 && !full => fruitless_since = Some(Instant::now()),
            Ok(_) => fruitless_since = None,
            Err(e) => tracing::error!("retention pass failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::secs_to_90k;
    use crate::testing::TestDb;
    use proptest::prelude::*;

    const DAY: i64 = TICKS_PER_DAY_90K;

    fn meta(camera_id: i64, seq: i64, start: i64, dur: i64, bytes: i64) -> SegmentMeta {
        SegmentMeta {
            camera_id,
            camera_key: format!("cam{camera_id}"),
            seq,
            start_time_90k: start,
            duration_90k: dur,
            bytes,
            path: format!("{camera_id}/{seq:010}.seg"),
            sha256_hex: String::new(),
        }
    }

    fn hold(cameras: &[&str], start: i64, end: i64) -> Hold {
        Hold {
            id: 1,
            cameras: cameras.iter().map(|c| (*c).to_owned()).collect(),
            all_cameras: cameras.is_empty(),
            start_90k: start,
            end_90k: end,
            reason: "theft".into(),
            reference: "INC-1".into(),
            created_90k: 0,
            created_by: "t".into(),
            released_90k: None,
            released_by: None,
            release_approval: None,
        }
    }

    /// 10 days of one-day segments on two cameras, 100 bytes each; now = day 10.
    fn ten_days() -> Vec<SegmentMeta> {
        let mut v = Vec::new();
        for d in 0..10 {
            v.push(meta(1, d + 1, d * DAY, DAY, 100));
            v.push(meta(2, d + 1, d * DAY, DAY, 100));
        }
        v
    }

    fn policy(retention_days: u32, reserve_bytes: u64) -> RetentionPolicy {
        RetentionPolicy {
            retention_days,
            reserve_bytes,
            max_keep_days: None,
        }
    }

    #[test]
    fn nothing_purged_with_disk_to_spare() {
        let p = plan(&ten_days(), &[], &policy(3, 1000), 10 * DAY, 5000);
        assert!(p.purge.is_empty());
        assert_eq!(p.violation(3), None);
    }

    #[test]
    fn expired_oldest_first_only_as_needed() {
        let p = plan(&ten_days(), &[], &policy(3, 1000), 10 * DAY, 750);
        // need 250 bytes: three oldest segments (day 0 cam1, day 0 cam2, day 1 cam1).
        let got: Vec<(i64, i64)> = p.purge.iter().map(|x| (x.camera_id, x.seq)).collect();
        assert_eq!(got, vec![(1, 1), (2, 1), (1, 2)]);
        assert!(p.purge.iter().all(|x| !x.inside_retention));
        assert_eq!(p.shortfall_bytes, 0);
        assert_eq!(p.violation(3), None);
    }

    #[test]
    fn max_keep_days_purges_old_footage_regardless_of_disk() {
        let pol = RetentionPolicy {
            max_keep_days: Some(8),
            ..policy(3, 0)
        };
        let p = plan(&ten_days(), &[], &pol, 10 * DAY, u64::MAX);
        assert_eq!(p.purge.len(), 4, "days 0 and 1 end at or before day 2");
    }

    #[test]
    fn holds_are_never_purged_and_short_disk_purges_inside_retention() {
        let holds = vec![hold(&["cam1"], 0, 2 * DAY), hold(&[], 5 * DAY, 6 * DAY)];
        // Need everything: expired non-held first, then inside retention, never held.
        let p = plan(&ten_days(), &holds, &policy(3, 10_000), 10 * DAY, 0);
        for x in &p.purge {
            let s = ten_days()
                .into_iter()
                .find(|s| s.camera_id == x.camera_id && s.seq == x.seq)
                .unwrap();
            assert!(!is_held(&s, &holds), "held segment {x:?} purged");
        }
        // Held: cam1 days 0,1 + both cameras day 5 = 4 segments; 16 purged.
        assert_eq!(p.purge.len(), 16);
        assert_eq!(p.shortfall_bytes, 10_000 - 1600);
        let first_inside = p.purge.iter().position(|x| x.inside_retention).unwrap();
        assert!(p.purge[..first_inside].iter().all(|x| !x.inside_retention));
        assert!(p.purge[first_inside..].iter().all(|x| x.inside_retention));
        let Some(VideoEvent::RetentionViolation {
            cameras,
            segments_purged,
            ..
        }) = p.violation(3)
        else {
            panic!("violation expected");
        };
        assert_eq!(cameras, vec!["cam1".to_owned(), "cam2".to_owned()]);
        assert_eq!(segments_purged, 6);
    }

    #[test]
    fn released_hold_no_longer_protects() {
        let mut h = hold(&[], 0, 10 * DAY);
        let p = plan(
            &ten_days(),
            std::slice::from_ref(&h),
            &policy(3, 1000),
            10 * DAY,
            900,
        );
        assert!(p.purge.is_empty());
        assert_eq!(p.shortfall_bytes, 100);
        h.released_90k = Some(1);
        let p = plan(&ten_days(), &[h], &policy(3, 1000), 10 * DAY, 900);
        assert_eq!(p.purge.len(), 1);
    }

    #[test]
    fn history_shortfall_only_once_the_site_is_old_enough() {
        let segs = ten_days();
        let cams = vec![
            ("cam1".to_owned(), 0),
            ("cam2".to_owned(), 0),
            ("cam3".to_owned(), 0),
        ];
        // Retention 5 days at day 10: cam1/cam2 reach day 0, cam3 has nothing.
        let short = history_shortfalls(&segs, &cams, 10 * DAY, 5, 0);
        assert_eq!(short.len(), 1);
        assert_eq!(short[0].camera_key, "cam3");
        assert_eq!(short[0].required_from_90k, 5 * DAY);
        // Lost the first 7 days of cam1: short for a 5-day rule.
        let trimmed: Vec<SegmentMeta> = segs
            .iter()
            .filter(|s| s.camera_id != 1 || s.seq > 7)
            .cloned()
            .collect();
        let short = history_shortfalls(&trimmed, &cams[..2], 10 * DAY, 5, 0);
        assert_eq!(
            short,
            vec![HistoryShortfall {
                camera_key: "cam1".into(),
                oldest_90k: Some(7 * DAY),
                required_from_90k: 5 * DAY
            }]
        );
        // A site open for 2 days is not yet held to 5 days of history beyond its opening.
        assert!(history_shortfalls(&segs, &cams[..2], 10 * DAY, 5, 8 * DAY).is_empty());
        // A camera installed today is not short.
        assert!(
            history_shortfalls(&segs, &[("cam9".to_owned(), 10 * DAY)], 10 * DAY, 5, 0).is_empty()
        );
    }

    #[test]
    fn manual_delete_rules() {
        let s_old = meta(1, 1, 0, DAY, 1);
        let s_new = meta(1, 2, 9 * DAY, DAY, 1);
        assert!(may_delete(&s_old, &[], 3, 10 * DAY).is_ok());
        assert!(matches!(
            may_delete(&s_new, &[], 3, 10 * DAY),
            Err(DeleteRefused::InsideRetention { .. })
        ));
        assert!(matches!(
            may_delete(&s_old, &[hold(&["cam1"], 0, 1)], 3, 10 * DAY),
            Err(DeleteRefused::Held { .. })
        ));
    }

    #[test]
    fn forecast_measures_recent_bitrate() {
        let fc = forecast(&ten_days(), 10 * DAY, DAY, 2000, 1000, 90);
        assert_eq!(fc.bytes_per_day, 200);
        assert_eq!(fc.recorded_bytes, 2000);
        assert_eq!(fc.usable_free_bytes, 1000);
        assert!((fc.capacity_days - 15.0).abs() < 1e-9);
        assert!(fc.short);
        // A camera recording only for the last hour: rate from the hour actually covered.
        let v = vec![meta(
            1,
            1,
            10 * DAY - secs_to_90k(3600),
            secs_to_90k(3600),
            1000,
        )];
        let fc = forecast(&v, 10 * DAY, DAY, 1_000_000_000, 0, 90);
        assert_eq!(fc.bytes_per_day, 24_000);
        assert!(!fc.short);
    }

    fn arb_case() -> impl Strategy<Value = (Vec<SegmentMeta>, Vec<Hold>, u32, u64, u64)> {
        let segs = proptest::collection::vec((1i64..4, 0i64..40, 1i64..200), 0..60).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (cam, start_h, bytes))| {
                    meta(cam, i as i64 + 1, start_h * DAY / 4, DAY / 4, bytes)
                })
                .collect::<Vec<_>>()
        });
        let holds = proptest::collection::vec((0i64..4, 0i64..40, 1i64..10), 0..4).prop_map(|v| {
            v.into_iter()
                .map(|(cam, start_h, len_h)| {
                    let cams = if cam == 0 {
                        vec![]
                    } else {
                        vec![format!("cam{cam}")]
                    };
                    let c: Vec<&str> = cams.iter().map(String::as_str).collect();
                    hold(&c, start_h * DAY / 4, (start_h + len_h) * DAY / 4)
                })
                .collect::<Vec<_>>()
        });
        (segs, holds, 0u32..8, 0u64..5000, 0u64..5000)
    }

    proptest! {
        #[test]
        fn planner_invariants((segs, holds, retention_days, reserve, free) in arb_case()) {
            let now = 10 * DAY;
            let p = plan(&segs, &holds, &policy(retention_days, reserve), now, free);
            let cutoff = retention_cutoff_90k(now, retention_days);
            let find = |x: &PlannedPurge| segs.iter().find(|s| s.camera_id == x.camera_id && s.seq == x.seq).unwrap();
            let short = reserve > free;
            let mut need = reserve.saturating_sub(free);
            for x in &p.purge {
                let s = find(x);
                // Never a held segment.
                prop_assert!(!is_held(s, &holds));
                // Inside retention only when the disk is short.
                let inside = s.start_time_90k + s.duration_90k > cutoff;
                prop_assert_eq!(inside, x.inside_retention);
                prop_assert!(!inside || short);
                // Nothing purged once the need was met (minimal).
                prop_assert!(need > 0);
                need = need.saturating_sub(x.bytes);
            }
            prop_assert_eq!(p.shortfall_bytes, need);
            // Oldest first within each phase: no eligible, unpurged segment is older than a purged one.
            let purged: BTreeSet<(i64, i64)> = p.purge.iter().map(|x| (x.camera_id, x.seq)).collect();
            for phase_inside in [false, true] {
                let newest_purged = p.purge.iter().filter(|x| x.inside_retention == phase_inside)
                    .map(|x| find(x).start_time_90k).max();
                if let Some(newest) = newest_purged {
                    for s in &segs {
                        let inside = s.start_time_90k + s.duration_90k > cutoff;
                        if inside == phase_inside && !is_held(s, &holds) && !purged.contains(&(s.camera_id, s.seq)) {
                            prop_assert!(s.start_time_90k >= newest, "older eligible segment kept");
                        }
                    }
                }
            }
            // Inside-retention footage goes only after every expired non-held segment.
            if p.purge.iter().any(|x| x.inside_retention) {
                for s in &segs {
                    if s.start_time_90k + s.duration_90k <= cutoff && !is_held(s, &holds) {
                        prop_assert!(purged.contains(&(s.camera_id, s.seq)));
                    }
                }
            }
            // A shortfall means nothing deletable is left.
            if p.shortfall_bytes > 0 {
                for s in &segs {
                    prop_assert!(is_held(s, &holds) || purged.contains(&(s.camera_id, s.seq)));
                }
            }
        }
    }

    /// Camera "cam1" of a storage test, with its directory and a sample entry.
    struct Cam1 {
        id: i64,
        entry: i64,
    }

    impl Cam1 {
        async fn new(pool: &AnyPool, storage: &Path) -> Self {
            let id = index::ensure_camera(pool, "cam1", "rtsp://x", 0)
                .await
                .unwrap();
            std::fs::create_dir_all(storage.join(id.to_string())).unwrap();
            let entry = strongroom_media::segment::SampleEntry {
                codec: strongroom_media::segment::Codec::H264,
                width: 1,
                height: 1,
                decoder_config: vec![1],
            };
            let entry = index::ensure_sample_entry(pool, &entry).await.unwrap();
            Cam1 { id, entry }
        }

        /// Writes `data` as segment `seq` spanning `start..start + dur`, and indexes it.
        async fn put_segment(
            &self,
            pool: &AnyPool,
            storage: &Path,
            seq: i64,
            start: i64,
            dur: i64,
            data: &[u8],
        ) {
            let path = format!("{}/{seq:010}.seg", self.id);
            std::fs::write(storage.join(&path), data).unwrap();
            let row = index::SegmentRow {
                camera_id: self.id,
                seq,
                start_time_90k: start,
                duration_90k: dur,
                path,
                bytes: data.len() as i64,
                sha256_hex: String::new(),
                frame_count: 1,
                fps_x1000: 0,
                width: 1,
                height: 1,
                sample_index: vec![],
                sample_entry_id: self.entry,
            };
            index::insert_segment(pool, &row).await.unwrap();
        }
    }

    /// A hold on "cam1" over `start..end`.
    fn cam1_hold(start: i64, end: i64, reason: &str, reference: &str) -> index::NewHold {
        index::NewHold {
            cameras: vec!["cam1".into()],
            start_90k: start,
            end_90k: end,
            reason: reason.into(),
            reference: reference.into(),
            created_by: "t".into(),
        }
    }

    #[tokio::test]
    async fn executor_deletes_through_garbage_and_respects_new_holds() {
        let dir = tempfile::tempdir().unwrap();
        for db in TestDb::all(dir.path()).await.unwrap() {
            let pool = &db.pool;
            let storage = dir.path().join(format!("store-{}", db.label));
            let cam = Cam1::new(pool, &storage).await;
            for seq in 1..=4 {
                cam.put_segment(pool, &storage, seq, seq * DAY, DAY, &[seq as u8; 10])
                    .await;
            }
            let metas = index::segment_metas(pool).await.unwrap();
            let p = plan(&metas, &[], &policy(1, 1000), 10 * DAY, 980);
            assert_eq!(p.purge.len(), 2);
            // A hold placed after planning protects segment 2 at execution time.
            let held = cam1_hold(2 * DAY + 5, 2 * DAY + 10, "subpoena", "CASE-9");
            index::create_hold(pool, &held, 0).await.unwrap();
            assert_eq!(execute(pool, &storage, &p).await.unwrap(), 1);
            assert!(!storage.join(format!("{}/0000000001.seg", cam.id)).exists());
            assert!(storage.join(format!("{}/0000000002.seg", cam.id)).exists());
            let left: Vec<i64> = index::segment_metas(pool)
                .await
                .unwrap()
                .iter()
                .map(|m| m.seq)
                .collect();
            assert_eq!(left, vec![2, 3, 4]);
            assert!(index::garbage(pool).await.unwrap().is_empty());
            // Crash between "marked garbage" and "unlinked": collect_garbage finishes the job.
            index::mark_garbage(pool, &[(cam.id, 3)]).await.unwrap();
            assert!(storage.join(format!("{}/0000000003.seg", cam.id)).exists());
            assert_eq!(collect_garbage(pool, &storage).await.unwrap(), 1);
            assert!(!storage.join(format!("{}/0000000003.seg", cam.id)).exists());
            assert!(index::garbage(pool).await.unwrap().is_empty());
            assert!(free_bytes(&storage).unwrap() > 0);
            db.close().await.unwrap();
        }
    }

    #[tokio::test]
    async fn pass_on_a_full_disk_purges_inside_retention_but_never_held_and_reports() {
        use crate::clock::ManualClock;
        use crate::events::ChannelEvents;
        let dir = tempfile::tempdir().unwrap();
        for db in TestDb::all(dir.path()).await.unwrap() {
            let pool = &db.pool;
            let storage = dir.path().join(format!("store-{}", db.label));
            let cam = Cam1::new(pool, &storage).await;
            let now = 100 * DAY;
            for seq in 1..=3 {
                let start = now - DAY + seq * 1000;
                cam.put_segment(pool, &storage, seq, start, 1000, &[0u8; 100])
                    .await;
            }
            let held = cam1_hold(now - DAY + 2000, now - DAY + 2500, "incident", "INC-3");
            index::create_hold(pool, &held, now).await.unwrap();
            let (sink, mut rx) = ChannelEvents::new();
            // A reserve no disk can meet: everything deletable goes.
            let policy = RetentionPolicy {
                retention_days: 90,
                reserve_bytes: u64::MAX / 2,
                max_keep_days: None,
            };
            let out = run_pass(pool, &storage, &policy, &ManualClock::new(now), &sink)
                .await
                .unwrap();
            assert_eq!(out.deleted, 2);
            assert!(out.plan.shortfall_bytes > 0);
            let left: Vec<i64> = index::segment_metas(pool)
                .await
                .unwrap()
                .iter()
                .map(|m| m.seq)
                .collect();
            assert_eq!(left, vec![2], "the held segment stays");
            let mut evs = Vec::new();
            while let Ok(ev) = rx.try_recv() {
                evs.push(ev);
            }
            assert!(matches!(
                &evs[0],
                VideoEvent::RetentionViolation {
                    segments_purged: 2,
                    retention_days: 90,
                    ..
                }
            ));
            assert!(
                matches!(&evs[1], VideoEvent::DiskForecast(f) if f.recorded_bytes == 100 && f.retention_days == 90)
            );
            db.close().await.unwrap();
        }
    }
}
