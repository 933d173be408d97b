//! The fact kinds the video service journals.
/// A camera's frames stopped (`device`, `state = offline`, `onset_ms`, `detected_ms`).
pub const CAMERA_DOWN: &str = "health.camera_down";
/// A camera that was down delivers frames again (`device`, `state = online`).
pub const CAMERA_UP: &str = "health.camera_up";
/// A camera delivered its first recorded segment since the server started (`state = online`).
pub const CAMERA_RECORDING: &str = "video.camera_recording";
/// A recording gap with exact bounds.
pub const GAP: &str = "video.gap";
/// A segment became durable (measured fps, resolution, SHA-256).
pub const SEGMENT: &str = "video.segment";
/// Writing a camera's recording failed: storage trouble, once until writes succeed again
/// (`device`, `camera`, `message`).
pub const WRITE_FAILED: &str = "health.recorder_write_failed";
/// Writes for a camera succeed again after a write failure (`device`, `camera`).
pub const WRITE_RESTORED: &str = "health.recorder_write_restored";
/// A camera clock is off (or back within tolerance).
pub const CLOCK_DRIFT: &str = "health.camera_clock_drift";
/// Storage forecast of a retention pass.
pub const DISK_FORECAST: &str = "video.disk_forecast";
/// Footage inside the retention minimum was purged (disk full).
pub const RETENTION_VIOLATION: &str = "health.retention_violation";
/// Someone viewed video (still, live still, playback).
pub const VIEWED: &str = "video.viewed";
/// An evidence export was started (its sequence number is in the manifest).
pub const EXPORT_STARTED: &str = "video.export_started";
/// An evidence export was written.
pub const EXPORTED: &str = "video.exported";
/// An evidence export failed.
pub const EXPORT_FAILED: &str = "video.export_failed";
/// A file of an evidence bundle was downloaded.
pub const EXPORT_DOWNLOADED: &str = "video.export_downloaded";
/// A stored evidence bundle was verified (result `intact` or the part at fault), EXP-06.
pub const EXPORT_VERIFIED: &str = "video.export_verified";
/// A legal hold was placed.
pub const HOLD_PLACED: &str = "video.hold_placed";
/// A legal hold was released.
pub const HOLD_RELEASED: &str = "video.hold_released";
