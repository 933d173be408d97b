//! The recorder's events as journal facts: [`JournalSink`].
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use strongroom_domain::{Actor, Clock, Fact};
use strongroom_store::JournalHandle;
use strongroom_video::events::{VideoEvent, VideoEvents};

use crate::kinds;
use crate::time::ms_from_90k;

/// Turns the video subsystem's events into journal facts.
pub(crate) struct JournalSink {
    pub(crate) journal: JournalHandle,
    pub(crate) clock: Arc<dyn Clock>,
    /// Last state journaled per camera (`true` = online).
    pub(crate) online: Mutex<HashMap<String, bool>>,
    /// (short, when) of the last journaled disk forecast.
    pub(crate) last_forecast: Mutex<Option<(bool, i64)>>,
}

impl JournalSink {
    fn set_online(&self, camera: &str, online: bool) -> Option<bool> {
        let mut m = self.online.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(camera.to_owned(), online)
    }

    fn facts(&self, event: VideoEvent) -> Vec<Fact> {
        let now = self.clock.now_ms();
        match event {
            VideoEvent::CameraDown {
                camera,
                onset_90k,
                detected_90k,
            } => {
                self.set_online(&camera, false);
                let (onset_ms, detected_ms) = (ms_from_90k(onset_90k), ms_from_90k(detected_90k));
                vec![
                    Fact::new(kinds::CAMERA_DOWN, Actor::System, detected_ms)
                        .with("device", camera.clone())
                        .with("camera", camera)
                        .with("state", "offline")
                        .with("onset_ms", onset_ms)
                        .with("detected_ms", detected_ms)
                        .with("detection_latency_ms", detected_ms - onset_ms),
                ]
            }
            VideoEvent::CameraUp {
                camera,
                down_onset_90k,
                up_90k,
            } => {
                self.set_online(&camera, true);
                let (onset_ms, up_ms) = (ms_from_90k(down_onset_90k), ms_from_90k(up_90k));
                vec![
                    Fact::new(kinds::CAMERA_UP, Actor::System, up_ms)
                        .with("device", camera.clone())
                        .with("camera", camera)
                        .with("state", "online")
                        .with("down_onset_ms", onset_ms)
                        .with("up_ms", up_ms)
                        .with("outage_ms", up_ms - onset_ms),
                ]
            }
            VideoEvent::GapRecorded {
                camera,
                start_90k,
                end_90k,
                reason,
            } => vec![
                Fact::new(kinds::GAP, Actor::System, now)
                    .with("camera", camera)
                    .with("start_ms", ms_from_90k(start_90k))
                    .with("end_ms", ms_from_90k(end_90k))
                    .with("start_90k", start_90k)
                    .with("end_90k", end_90k)
                    .with("duration_ms", ms_from_90k(end_90k - start_90k))
                    .with("reason", reason),
            ],
            VideoEvent::SegmentWritten {
                camera,
                seq,
                start_time_90k,
                duration_90k,
                bytes,
                sha256_hex,
                fps_x1000,
                width,
                height,
            } => {
                let mut out = Vec::new();
                let first = {
                    let mut m = self.online.lock().unwrap_or_else(|p| p.into_inner());
                    if m.contains_key(&camera) {
                        false
                    } else {
                        m.insert(camera.clone(), true);
                        true
                    }
                };
                if first {
                    out.push(
                        Fact::new(kinds::CAMERA_RECORDING, Actor::System, now)
                            .with("device", camera.clone())
                            .with("camera", camera.clone())
                            .with("state", "online"),
                    );
                }
                out.push(
                    Fact::new(kinds::SEGMENT, Actor::System, now)
                        .with("camera", camera)
                        .with("seq", seq)
                        .with("start_ms", ms_from_90k(start_time_90k))
                        .with("start_90k", start_time_90k)
                        .with("duration_90k", duration_90k)
                        .with("bytes", bytes)
                        .with("sha256", sha256_hex)
                        .with("fps_milli", fps_x1000)
                        .with("width", width)
                        .with("height", height),
                );
                out
            }
            VideoEvent::WriteFailed { camera, message } => vec![
                Fact::new(kinds::WRITE_FAILED, Actor::System, now)
                    .with("device", camera.clone())
                    .with("camera", camera)
                    .with("message", message),
            ],
            VideoEvent::WriteRestored { camera } => vec![
                Fact::new(kinds::WRITE_RESTORED, Actor::System, now)
                    .with("device", camera.clone())
                    .with("camera", camera),
            ],
            VideoEvent::ClockDrift {
                camera,
                drift_ms,
                in_tolerance,
            } => vec![
                Fact::new(kinds::CLOCK_DRIFT, Actor::System, now)
                    .with("camera", camera)
                    .with("drift_ms", drift_ms)
                    .with("in_tolerance", in_tolerance),
            ],
            VideoEvent::DiskForecast(f) => {
                let mut last = self.last_forecast.lock().unwrap_or_else(|p| p.into_inner());
                let due = match *last {
                    None => true,
                    Some((short, at)) => short != f.short || f.short || now - at >= 86_400_000,
                };
                if !due {
                    return Vec::new();
                }
                *last = Some((f.short, now));
                let capacity_days_milli = if f.capacity_days.is_finite() {
                    (f.capacity_days * 1000.0).clamp(0.0, 9.0e15) as i64
                } else {
                    i64::MAX
                };
                vec![
                    Fact::new(kinds::DISK_FORECAST, Actor::System, now)
                        .with("usable_free_bytes", f.usable_free_bytes)
                        .with("recorded_bytes", f.recorded_bytes)
                        .with("bytes_per_day", f.bytes_per_day)
                        .with("capacity_days_milli", capacity_days_milli)
                        .with("retention_days", f.retention_days)
                        .with("short", f.short),
                ]
            }
            VideoEvent::RetentionViolation {
                cameras,
                segments_purged,
                bytes_purged,
                newest_purged_end_90k,
                retention_days,
            } => vec![
                Fact::new(kinds::RETENTION_VIOLATION, Actor::System, now)
                    .with("cameras", cameras)
                    .with("segments_purged", segments_purged)
                    .with("bytes_purged", bytes_purged)
                    .with("newest_purged_end_ms", ms_from_90k(newest_purged_end_90k))
                    .with("retention_days", retention_days),
            ],
        }
    }
}

impl VideoEvents for JournalSink {
    async fn emit(&self, event: VideoEvent) {
        let facts = self.facts(event);
        if facts.is_empty() {
            return;
        }
        if let Err(e) = self.journal.append(facts).await {
            tracing::error!(error = %e, "cannot journal a video event");
        }
    }
}
