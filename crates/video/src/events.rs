//! Events the video subsystem reports to the server, and the [`VideoEvents`] sink trait through which
//! they leave. The server maps them to its journal and notifier (HLT-01/02/05/06, RET-01/02).

use std::future::Future;

/// Why recording stopped for a camera (the reason stored with a gap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GapReason {
    /// The RTSP session could not be opened.
    ConnectFailed(String),
    /// The camera ended the stream (clean close or EOF).
    StreamEnded,
    /// The stream broke with an error.
    StreamError(String),
    /// The connection stayed up but frames stopped arriving.
    Stalled,
    /// A segment could not be written.
    WriteError(String),
    /// The recorder itself was not running (server stopped or crashed).
    RecorderOffline,
}

impl GapReason {
    /// The text stored in `video_gap.reason`.
    pub fn as_text(&self) -> String {
        match self {
            GapReason::ConnectFailed(e) => format!("connect failed: {e}"),
            GapReason::StreamEnded => "stream ended".to_owned(),
            GapReason::StreamError(e) => format!("stream error: {e}"),
            GapReason::Stalled => "frames stopped".to_owned(),
            GapReason::WriteError(e) => format!("write error: {e}"),
            GapReason::RecorderOffline => "recorder offline".to_owned(),
        }
    }
}

/// Storage forecast: how long the free space lasts at the measured bitrate (RET-02).
#[derive(Debug, Clone, PartialEq)]
pub struct DiskForecast {
    /// Free bytes on the storage volume (less the reserve).
    pub usable_free_bytes: u64,
    /// Bytes currently used by recordings.
    pub recorded_bytes: u64,
    /// Sum of all cameras' recent bitrates, bytes per day.
    pub bytes_per_day: u64,
    /// Days of recording the whole store (recorded + free) can hold at that rate.
    pub capacity_days: f64,
    /// Days the site's rule requires.
    pub retention_days: u32,
    /// True when `capacity_days < retention_days`.
    pub short: bool,
}

/// One thing that happened in the video subsystem.
#[derive(Debug, Clone, PartialEq)]
pub enum VideoEvent {
    /// Frames from a camera stopped. `onset_90k` is the last frame received (or when the recorder
    /// started expecting frames); `detected_90k` is when the health monitor noticed.
    CameraDown {
        /// The server's camera key.
        camera: String,
        /// Failure onset (last good frame), 90 kHz since epoch.
        onset_90k: i64,
        /// Detection time, 90 kHz since epoch.
        detected_90k: i64,
    },
    /// Frames from a camera that was down arrive again.
    CameraUp {
        /// The server's camera key.
        camera: String,
        /// The onset of the outage that ended.
        down_onset_90k: i64,
        /// When frames resumed.
        up_90k: i64,
    },
    /// A gap in a camera's recording was stored, with its exact bounds.
    GapRecorded {
        /// The server's camera key.
        camera: String,
        /// End of the last recorded frame before the gap.
        start_90k: i64,
        /// Start of the first recorded frame after the gap (or the shutdown time).
        end_90k: i64,
        /// Why.
        reason: String,
    },
    /// A segment became durable and indexed.
    SegmentWritten {
        /// The server's camera key.
        camera: String,
        /// Segment number within the camera.
        seq: i64,
        /// Start, 90 kHz since epoch.
        start_time_90k: i64,
        /// Duration, 90 kHz ticks.
        duration_90k: i64,
        /// File size.
        bytes: i64,
        /// SHA-256 of the file, lowercase hex.
        sha256_hex: String,
        /// Measured frames per second × 1000.
        fps_x1000: i64,
        /// Picture width, pixels.
        width: i64,
        /// Picture height, pixels.
        height: i64,
    },
    /// Writing a camera's recording failed (storage trouble; the camera itself is fine). Reported
    /// once per trouble, however many writes fail; [`VideoEvent::WriteRestored`] ends it.
    WriteFailed {
        /// The server's camera key.
        camera: String,
        /// What failed first.
        message: String,
    },
    /// Writes for a camera succeed again after [`VideoEvent::WriteFailed`].
    WriteRestored {
        /// The server's camera key.
        camera: String,
    },
    /// The camera's clock (from RTCP sender reports) differs from the server's by more than the
    /// tolerance (`in_tolerance` false), or is back within half of it (`in_tolerance` true). VID-13.
    ClockDrift {
        /// The server's camera key.
        camera: String,
        /// Camera time minus server time at frame arrival, milliseconds (includes network delay).
        drift_ms: i64,
        /// True when the drift is back within tolerance.
        in_tolerance: bool,
    },
    /// Storage forecast, produced by each retention pass.
    DiskForecast(DiskForecast),
    /// Footage younger than the retention minimum was purged because the disk was short (the present
    /// beats the past), or the retained history is shorter than the rule requires.
    RetentionViolation {
        /// Cameras affected.
        cameras: Vec<String>,
        /// Segments purged inside retention.
        segments_purged: u64,
        /// Bytes purged inside retention.
        bytes_purged: u64,
        /// The youngest purged footage's end, 90 kHz since epoch.
        newest_purged_end_90k: i64,
        /// The retention rule in force.
        retention_days: u32,
    },
}

/// Where video events go. The server implements it (journal + notifier); [`ChannelEvents`] is a
/// ready-made implementation over a tokio channel.
pub trait VideoEvents: Send + Sync + 'static {
    /// Delivers one event. Should not block for long: the health task awaits it.
    fn emit(&self, event: VideoEvent) -> impl Future<Output = ()> + Send;
}

/// A [`VideoEvents`] sink that forwards into an unbounded tokio channel.
#[derive(Debug, Clone)]
pub struct ChannelEvents {
    tx: tokio::sync::mpsc::UnboundedSender<VideoEvent>,
}

impl ChannelEvents {
    /// A sink and the receiver its events arrive on.
    pub fn new() -> (Self, tokio::sync::mpsc::UnboundedReceiver<VideoEvent>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (ChannelEvents { tx }, rx)
    }
}

impl VideoEvents for ChannelEvents {
    async fn emit(&self, event: VideoEvent) {
        // A closed receiver means nobody listens any more; dropping the event is all we can do.
        let _ = self.tx.send(event);
    }
}

/// A sink that discards everything (benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl VideoEvents for NoEvents {
    async fn emit(&self, _event: VideoEvent) {}
}
