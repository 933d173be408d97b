//! What the cameras are doing and what they recorded: [`VideoService::cameras`] and
//! [`VideoService::timeline`], and the range checks every video request goes through.
use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use strongroom_domain::site::SiteConfig;
use strongroom_journal::JournalEvent;
use strongroom_media::segment::{SampleEntry, SampleIndex};
use strongroom_video::index::{self, SegmentRow};

use crate::error::VideoError;
use crate::service::VideoService;
use crate::time::ms_from_90k;
use crate::views::{
    CameraList, CameraStatus, EventView, GapSummary, SegmentSummary, Span, Timeline,
};

/// A live picture older than this is not live.
pub const LIVE_MAX_AGE_MS: i64 = 5_000;
/// Longest range a timeline request may cover.
pub const MAX_TIMELINE_MS: i64 = 7 * 86_400_000;
/// Most events a timeline lists.
const MAX_TIMELINE_EVENTS: usize = 500;
/// Segments this close (one frame at 10 fps, in 90 kHz ticks) are one recorded span.
const SPAN_JOIN_90K: i64 = 9_000;

/// `[from_ms, to_ms)` is a valid request range of at most `max_ms`.
pub fn check_range(from_ms: i64, to_ms: i64, max_ms: i64) -> Result<(), VideoError> {
    if to_ms <= from_ms {
        return Err(VideoError::BadRequest("to_ms must be after from_ms".into()));
    }
    if from_ms < 0 || to_ms > 4_102_444_800_000 {
        return Err(VideoError::BadRequest(
            "times must be between 1970 and 2100".into(),
        ));
    }
    if to_ms - from_ms > max_ms {
        return Err(VideoError::BadRequest(format!(
            "the range may cover at most {} minutes",
            max_ms / 60_000
        )));
    }
    Ok(())
}

impl EventView {
    /// The view of a journaled event.
    pub fn of(e: &JournalEvent) -> EventView {
        EventView {
            seq: e.seq,
            time_ms: e.time_ms,
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            payload: serde_json::from_str::<Value>(&e.payload).unwrap_or(Value::Null),
            hash: hex::encode(e.hash),
        }
    }
}

/// The ids a camera watches: the areas and doors it covers, the readers of those doors and the
/// sensors of those areas.
pub fn watched_by(config: &SiteConfig, camera: &str) -> BTreeSet<String> {
    let mut watched = BTreeSet::new();
    let Some(c) = config.cameras.iter().find(|c| c.id == camera) else {
        return watched;
    };
    watched.extend(c.covers_areas.iter().cloned());
    watched.extend(c.covers_doors.iter().cloned());
    for d in config
        .doors
        .iter()
        .filter(|d| c.covers_doors.contains(&d.id))
    {
        for r in config.readers.iter().filter(|r| r.door == d.id) {
            watched.insert(r.id.clone());
        }
    }
    for s in config
        .sensors
        .iter()
        .filter(|s| c.covers_areas.contains(&s.area))
    {
        watched.insert(s.id.clone());
    }
    watched
}

/// Whether an event's payload names one of `watched` (area, door, device, reader, ...).
fn names_any(payload: &serde_json::Map<String, Value>, watched: &BTreeSet<String>) -> bool {
    [
        "area", "door", "device", "reader", "sensor", "zone", "from", "to",
    ]
    .iter()
    .any(|k| {
        payload
            .get(*k)
            .and_then(Value::as_str)
            .is_some_and(|v| watched.contains(v))
    })
}

/// Back-to-back segments merged into recorded spans (90 kHz).
fn spans_of(rows: &[SegmentRow]) -> Vec<(i64, i64)> {
    let mut spans: Vec<(i64, i64)> = Vec::new();
    for r in rows {
        let (s, e) = (r.start_time_90k, r.end_time_90k());
        match spans.last_mut() {
            Some(last) if s - last.1 <= SPAN_JOIN_90K => last.1 = last.1.max(e),
            _ => spans.push((s, e)),
        }
    }
    spans
}

impl VideoService {
    /// Segments of `camera` overlapping `[from_ms, to_ms)`.
    pub(crate) async fn segments(
        &self,
        camera: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<SegmentRow>, VideoError> {
        let Some(id) = index::camera_id(&self.pool, camera).await? else {
            return Ok(Vec::new());
        };
        Ok(index::segments_in_range(&self.pool, id, from_ms * 90, to_ms * 90).await?)
    }

    /// Sample entries by id, loaded once each.
    pub(crate) async fn entries(
        &self,
        rows: &[SegmentRow],
    ) -> Result<HashMap<i64, SampleEntry>, VideoError> {
        let mut out = HashMap::new();
        for r in rows {
            if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(r.sample_entry_id) {
                slot.insert(index::sample_entry(&self.pool, r.sample_entry_id).await?);
            }
        }
        Ok(out)
    }

    /// Every configured camera with its state and how far it is recorded.
    pub async fn cameras(&self) -> Result<CameraList, VideoError> {
        let config = self.config();
        let known: HashMap<String, i64> = index::cameras(&self.pool)
            .await?
            .into_iter()
            .map(|(id, key)| (key, id))
            .collect();
        let mut cameras = Vec::new();
        for c in &config.cameras {
            let (down, last_seen_90k) = {
                let h = strongroom_video::health::lock(&self.health);
                (h.is_down(&c.id), h.last_seen_90k(&c.id))
            };
            let live_ms = self.live.last_ms(&c.id);
            let now = self.clock.now_ms();
            let state = if down {
                "offline"
            } else if live_ms.is_some_and(|t| now - t <= LIVE_MAX_AGE_MS) {
                "online"
            } else if last_seen_90k.is_some() {
                "connecting"
            } else {
                "unknown"
            };
            let recorded_to_ms = match known.get(&c.id) {
                Some(id) => index::last_accounted_end(&self.pool, *id)
                    .await?
                    .map(ms_from_90k),
                None => None,
            };
            cameras.push(CameraStatus {
                id: c.id.clone(),
                name: c.name.clone(),
                state: state.to_owned(),
                last_frame_ms: live_ms,
                recorded_to_ms,
                covers_areas: c.covers_areas.clone(),
                covers_doors: c.covers_doors.clone(),
                purposes: c
                    .purposes
                    .iter()
                    .filter_map(|p| serde_json::to_value(p).ok())
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            });
        }
        Ok(CameraList { cameras })
    }

    /// A camera's recorded spans, segments and gaps in `[from_ms, to_ms)` (default: the hour
    /// before now), with the events of what it covers; silent alarms only for `sees_silent`.
    pub async fn timeline(
        &self,
        camera: &str,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        sees_silent: bool,
    ) -> Result<Timeline, VideoError> {
        self.camera_name(camera)?;
        let to_ms = to_ms.unwrap_or_else(|| self.clock.now_ms());
        let from_ms = from_ms.unwrap_or(to_ms - 3_600_000);
        check_range(from_ms, to_ms, MAX_TIMELINE_MS)?;
        let rows = self.segments(camera, from_ms, to_ms).await?;
        let gaps = match index::camera_id(&self.pool, camera).await? {
            Some(id) => index::gaps_in_range(&self.pool, id, from_ms * 90, to_ms * 90).await?,
            None => Vec::new(),
        };
        let watched = watched_by(&self.config(), camera);
        let mut events = Vec::new();
        if !watched.is_empty() {
            for prefix in ["access.", "alarm.", "door."] {
                let evs = self
                    .store
                    .events_by_kind_and_time(&self.site_id, prefix, from_ms, to_ms)
                    .await?;
                for e in evs
                    .iter()
                    .filter(|e| sees_silent || !strongroom_store::decode::is_silent(e))
                {
                    let Ok(Value::Object(p)) = serde_json::from_str::<Value>(&e.payload) else {
                        continue;
                    };
                    if names_any(&p, &watched) && events.len() < MAX_TIMELINE_EVENTS {
                        events.push(EventView::of(e));
                    }
                }
            }
        }
        let open_gap_from_ms = {
            let h = strongroom_video::health::lock(&self.health);
            h.is_down(camera)
                .then(|| h.last_seen_90k(camera).map(ms_from_90k))
                .flatten()
        };
        Ok(Timeline {
            camera: camera.to_owned(),
            from_ms,
            to_ms,
            spans: spans_of(&rows)
                .iter()
                .map(|(s, e)| Span {
                    from_ms: ms_from_90k(*s),
                    to_ms: ms_from_90k(*e),
                })
                .collect(),
            segments: rows
                .iter()
                .map(|r| SegmentSummary {
                    seq: r.seq,
                    from_ms: ms_from_90k(r.start_time_90k),
                    to_ms: ms_from_90k(r.end_time_90k()),
                    bytes: r.bytes,
                    fps_milli: r.fps_x1000,
                    width: r.width,
                    height: r.height,
                    sha256: r.sha256_hex.clone(),
                })
                .collect(),
            gaps: gaps
                .iter()
                .map(|g| GapSummary {
                    from_ms: ms_from_90k(g.start_90k),
                    to_ms: ms_from_90k(g.end_90k),
                    reason: g.reason.clone(),
                })
                .collect(),
            open_gap_from_ms,
            events,
        })
    }
}

/// A segment's sample index.
pub(crate) fn decode_index(r: &SegmentRow) -> Result<SampleIndex, VideoError> {
    SampleIndex::decode(&r.sample_index)
        .map_err(|e| VideoError::Internal(format!("segment {}: {e}", r.path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_must_be_forward_bounded_and_short_enough() {
        assert!(check_range(0, 1, 1).is_ok());
        assert!(check_range(5, 5, 10).is_err());
        assert!(check_range(-1, 5, 10).is_err());
        assert!(check_range(0, 11, 10).is_err());
    }
}
