//! Viewing video: stills (recorded or live, JPG/BMP/GIF/PNG with a burned-in caption) and
//! playback (an MP4 of a range, with its wall-clock map). Every view is journaled
//! (`video.viewed`) before the first byte is served; a live view refreshing its picture is one
//! fact per user and camera per minute, and a player's many byte-range requests of one playback
//! share one fact.
use std::collections::HashMap;

use strongroom_domain::{Actor, Fact};
use strongroom_media::mp4::{Mp4Plan, Mp4Segment};
use strongroom_media::segment::SampleEntry;
use strongroom_media::still::{self, StillFormat, StillOptions, StillSource};
use strongroom_video::index::{self, SegmentRow};

use crate::error::VideoError;
use crate::kinds;
use crate::service::VideoService;
use crate::status::{LIVE_MAX_AGE_MS, check_range, decode_index};
use crate::time::{ms_from_90k, safe_name, ts_from_90k, ts_from_ms};
use crate::views::{Piece, PlaybackMap};

/// Longest range one playback may cover.
pub const MAX_PLAYBACK_MS: i64 = 4 * 3_600_000;
/// Repeated byte-range requests of one playback within this window share one journal fact.
const VIEW_DEDUPE_MS: i64 = 10 * 60_000;
/// A live view (a picture refreshed every second) is journaled once per user and camera per
/// minute.
const LIVE_VIEW_FACT_MS: i64 = 60_000;

/// A rendered still, journaled.
#[derive(Debug, Clone)]
pub struct Still {
    /// The image file.
    pub bytes: Vec<u8>,
    /// Its format.
    pub format: StillFormat,
    /// When the frame shown was captured, epoch ms.
    pub frame_ms: i64,
    /// A file name for it (`camera-20261206T101500123Z.jpg`).
    pub file_name: String,
}

/// The still format a request names (default JPEG).
pub fn still_format(name: Option<&str>) -> Result<StillFormat, VideoError> {
    match name.unwrap_or("jpg") {
        "jpg" | "jpeg" => Ok(StillFormat::Jpeg),
        "bmp" => Ok(StillFormat::Bmp),
        "gif" => Ok(StillFormat::Gif),
        "png" => Ok(StillFormat::Png),
        other => Err(VideoError::BadRequest(format!(
            "unknown format {other:?}: use jpg, bmp or gif"
        ))),
    }
}

impl VideoService {
    fn still_options(&self, format: StillFormat) -> StillOptions {
        let config = self.config();
        let tz = jiff::tz::TimeZone::get(&config.site.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        // OH 3796:6-3-16(E)(13) / 3796:3-2-05(B)(4)(d): "ninety-six hundred dpi" (EXP-02).
        let dpi = match config.site.jurisdiction {
            strongroom_domain::Jurisdiction::IlDispensary => None,
            _ => Some(9600),
        };
        StillOptions {
            format,
            dpi,
            time_zone: tz,
            ..StillOptions::default()
        }
    }

    /// A still of `camera`: the recorded frame shown at `at_ms`, or (`None`) the live picture.
    /// `live_refresh` marks a live view refreshing its picture. Journaled for `viewer`.
    pub async fn still(
        &self,
        camera: &str,
        at_ms: Option<i64>,
        format: StillFormat,
        live_refresh: bool,
        viewer: &Actor,
    ) -> Result<Still, VideoError> {
        let name = self.camera_name(camera)?;
        let opts = self.still_options(format);
        let started = std::time::Instant::now();
        let (bytes, frame_time, width, height) = match at_ms {
            Some(at_ms) => self.recorded_still(camera, at_ms, name, opts).await?,
            None => self.live_still(camera, name, opts).await?,
        };
        let render_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let frame_ms = frame_time.as_millisecond();
        let now = self.clock.now_ms();
        let live_view = at_ms.is_none() && live_refresh;
        let mode = match (at_ms.is_some(), live_view) {
            (true, _) => "still",
            (false, true) => "live",
            (false, false) => "live_still",
        };
        let journal_it =
            !live_view || self.first_view_in(viewer, camera, -1, -1, now, LIVE_VIEW_FACT_MS);
        let mut fact = Fact::new(kinds::VIEWED, viewer.clone(), now)
            .with("camera", camera)
            .with("mode", mode)
            .with("frame_ms", frame_ms)
            .with("format", format.extension())
            .with("width", width)
            .with("height", height)
            .with("render_ms", render_ms);
        if let Some(at) = at_ms {
            fact = fact.with("at_ms", at);
        }
        if live_view {
            fact = fact.with("window_ms", LIVE_VIEW_FACT_MS);
        }
        if journal_it {
            self.journal.append_one(fact).await?;
        }
        Ok(Still {
            bytes,
            format,
            frame_ms,
            file_name: format!(
                "{}-{}.{}",
                safe_name(camera),
                frame_time.strftime("%Y%m%dT%H%M%S%3fZ"),
                format.extension()
            ),
        })
    }

    /// Whether this is `viewer`'s first view of (camera, from, to) within `window_ms`; records
    /// it if so.
    fn first_view_in(
        &self,
        viewer: &Actor,
        camera: &str,
        from_ms: i64,
        to_ms: i64,
        now: i64,
        window_ms: i64,
    ) -> bool {
        let key = (viewer.to_string(), camera.to_owned(), from_ms, to_ms);
        let mut v = self.views.lock().unwrap_or_else(|p| p.into_inner());
        v.retain(|_, t| now - *t < VIEW_DEDUPE_MS);
        match v.get(&key) {
            Some(t) if now - *t < window_ms => false,
            _ => {
                v.insert(key, now);
                true
            }
        }
    }

    async fn recorded_still(
        &self,
        camera: &str,
        at_ms: i64,
        name: String,
        opts: StillOptions,
    ) -> Result<(Vec<u8>, jiff::Timestamp, u32, u32), VideoError> {
        check_range(at_ms, at_ms + 1, 1)?;
        let rows = self.segments(camera, at_ms, at_ms + 1).await?;
        let Some(row) = rows.into_iter().next() else {
            return Err(VideoError::NotFound(format!(
                "recording of camera {camera:?} at {at_ms}"
            )));
        };
        let entry = index::sample_entry(&self.pool, row.sample_entry_id).await?;
        let idx = decode_index(&row)?;
        let path = self.storage_dir.join(&row.path);
        let start = ts_from_90k(row.start_time_90k)?;
        let at = ts_from_ms(at_ms)?;
        let s = tokio::task::spawn_blocking(move || {
            still::still_at(
                StillSource {
                    entry: &entry,
                    index: &idx,
                    path: &path,
                    start,
                },
                at,
                &name,
                &opts,
            )
        })
        .await
        .map_err(|e| VideoError::Internal(e.to_string()))?
        .map_err(|e| VideoError::Internal(format!("still: {e}")))?;
        Ok((s.bytes, s.frame_time, s.width, s.height))
    }

    async fn live_still(
        &self,
        camera: &str,
        name: String,
        opts: StillOptions,
    ) -> Result<(Vec<u8>, jiff::Timestamp, u32, u32), VideoError> {
        let now = self.clock.now_ms();
        let Some((params, frames, last_ms)) = self.live.snapshot(camera) else {
            return Err(VideoError::Unavailable(format!(
                "no live picture from camera {camera:?} (is it down?)"
            )));
        };
        if now - last_ms > LIVE_MAX_AGE_MS {
            return Err(VideoError::Unavailable(format!(
                "no live picture from camera {camera:?} for {} s (is it down?)",
                (now - last_ms) / 1000
            )));
        }
        let frame_time = ts_from_ms(last_ms)?;
        let out = tokio::task::spawn_blocking(move || {
            let entry = SampleEntry::h264_from_parameter_sets(&params.sps, &params.pps)
                .map_err(|e| format!("parameter sets: {e}"))?;
            let mut img = still::decode_frames(&entry, frames.iter().map(Vec::as_slice))
                .map_err(|e| e.to_string())?;
            if opts.caption {
                let when = frame_time.to_zoned(opts.time_zone.clone());
                let caption = format!(
                    "{}  {}  LIVE",
                    name,
                    when.strftime("%Y-%m-%d %H:%M:%S%.3f %Z")
                );
                still::burn_caption(&mut img, &caption);
            }
            let (w, h) = img.dimensions();
            let bytes = still::encode(&img, &opts).map_err(|e| e.to_string())?;
            Ok::<_, String>((bytes, w, h))
        })
        .await
        .map_err(|e| VideoError::Internal(e.to_string()))?
        .map_err(|e| VideoError::Internal(format!("live still: {e}")))?;
        Ok((out.0, frame_time, out.1, out.2))
    }

    /// The MP4 segments covering `[from_ms, to_ms)`: whole middle segments, the first starting
    /// at the key frame at or before `from_ms`, the last ending after the frame shown at `to_ms`.
    fn mp4_segments(
        &self,
        rows: &[SegmentRow],
        entries: &HashMap<i64, SampleEntry>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<(Vec<Mp4Segment>, Vec<Piece>), VideoError> {
        let mut out = Vec::new();
        let mut pieces = Vec::new();
        let mut media_90k = 0i64;
        for r in rows {
            let idx = decode_index(r)?;
            let n = idx.frames.len();
            if n == 0 {
                continue;
            }
            let Some(entry) = entries.get(&r.sample_entry_id) else {
                return Err(VideoError::Internal(format!(
                    "no sample entry for {}",
                    r.path
                )));
            };
            let from_off = from_ms * 90 - r.start_time_90k;
            let first = if from_off > 0 {
                let i = idx
                    .frame_at(u64::try_from(from_off).unwrap_or(0))
                    .unwrap_or(n - 1);
                idx.key_frame_before(i).unwrap_or(0)
            } else {
                0
            };
            let to_off = to_ms * 90 - r.start_time_90k;
            let end = match u64::try_from(to_off) {
                Ok(off) => idx.frame_at(off).map_or(n, |i| i + 1),
                Err(_) => continue,
            };
            if end <= first {
                continue;
            }
            let dur = |frames: &[strongroom_media::segment::FrameMeta]| -> i64 {
                frames.iter().map(|f| i64::from(f.duration_90k)).sum()
            };
            let wall_90k = r.start_time_90k + dur(&idx.frames[..first]);
            let duration_90k = dur(&idx.frames[first..end]);
            pieces.push(Piece {
                wall_start_ms: ms_from_90k(wall_90k),
                media_start_ms: ms_from_90k(media_90k),
                duration_ms: ms_from_90k(duration_90k),
            });
            media_90k += duration_90k;
            out.push(Mp4Segment {
                entry: entry.clone(),
                index: idx,
                path: self.storage_dir.join(&r.path),
                frames: first..end,
            });
        }
        if out.is_empty() {
            return Err(VideoError::NotFound("recorded frames in that range".into()));
        }
        Ok((out, pieces))
    }

    async fn playback_parts(
        &self,
        camera: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<(Vec<Mp4Segment>, Vec<Piece>), VideoError> {
        self.camera_name(camera)?;
        check_range(from_ms, to_ms, MAX_PLAYBACK_MS)?;
        let rows = self.segments(camera, from_ms, to_ms).await?;
        let entries = self.entries(&rows).await?;
        self.mp4_segments(&rows, &entries, from_ms, to_ms)
    }

    /// The wall-clock map of the playback MP4 of `[from_ms, to_ms)` (metadata only, not
    /// journaled as a view: it shows no picture).
    pub async fn playback_map(
        &self,
        camera: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<PlaybackMap, VideoError> {
        let (_, pieces) = self.playback_parts(camera, from_ms, to_ms).await?;
        Ok(PlaybackMap {
            camera: camera.to_owned(),
            pieces,
        })
    }

    /// The MP4 of `[from_ms, to_ms)`, planned (nothing read yet). Journal the view with
    /// [`VideoService::journal_playback`] before serving any of it.
    pub async fn playback_plan(
        &self,
        camera: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Mp4Plan, VideoError> {
        let (segs, _) = self.playback_parts(camera, from_ms, to_ms).await?;
        tokio::task::spawn_blocking(move || Mp4Plan::new(&segs))
            .await
            .map_err(|e| VideoError::Internal(e.to_string()))?
            .map_err(|e| VideoError::Internal(format!("mp4: {e}")))
    }

    /// Journals `viewer`'s playback of `[from_ms, to_ms)` (once per user, camera and range
    /// within ten minutes: a player fetches many byte ranges of one view).
    pub async fn journal_playback(
        &self,
        viewer: &Actor,
        camera: &str,
        from_ms: i64,
        to_ms: i64,
        plan: &Mp4Plan,
    ) -> Result<(), VideoError> {
        let now = self.clock.now_ms();
        if !self.first_view_in(viewer, camera, from_ms, to_ms, now, VIEW_DEDUPE_MS) {
            return Ok(());
        }
        let appended = self
            .journal
            .append_one(
                Fact::new(kinds::VIEWED, viewer.clone(), now)
                    .with("camera", camera)
                    .with("mode", "playback")
                    .with("from_ms", from_ms)
                    .with("to_ms", to_ms)
                    .with("frames", plan.frame_count())
                    .with("bytes", plan.total_len()),
            )
            .await;
        if let Err(e) = appended {
            // Not journaled: the next request must try again.
            let key = (viewer.to_string(), camera.to_owned(), from_ms, to_ms);
            self.views
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
            return Err(e.into());
        }
        Ok(())
    }
}
