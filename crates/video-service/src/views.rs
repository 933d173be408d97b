//! What the video service's API returns: typed views with OpenAPI schemas, so the HTTP layer
//! serves them as they are.
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One configured camera and its state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CameraStatus {
    /// Camera id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `online` (a frame in the last 5 s), `connecting`, `offline` (the health monitor has it
    /// down) or `unknown`.
    pub state: String,
    /// When its last frame arrived, epoch ms.
    pub last_frame_ms: Option<i64>,
    /// The end of its recorded (or gap-accounted) time, epoch ms.
    pub recorded_to_ms: Option<i64>,
    /// Areas it covers.
    pub covers_areas: Vec<String>,
    /// Doors it covers.
    pub covers_doors: Vec<String>,
    /// What it is meant to show (`face`, `point_of_sale`, `vault`, ...).
    pub purposes: Vec<String>,
}

/// The site's cameras.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CameraList {
    /// In site-file order.
    pub cameras: Vec<CameraStatus>,
}

/// A stretch of time, epoch ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Span {
    /// From (inclusive).
    pub from_ms: i64,
    /// To (exclusive).
    pub to_ms: i64,
}

/// One recorded segment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentSummary {
    /// Sequence number within the camera.
    pub seq: i64,
    /// Start, epoch ms.
    pub from_ms: i64,
    /// End, epoch ms.
    pub to_ms: i64,
    /// Size.
    pub bytes: i64,
    /// Measured frame rate × 1000.
    pub fps_milli: i64,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// SHA-256 of the segment file, hex.
    pub sha256: String,
}

/// One recording gap.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GapSummary {
    /// Start, epoch ms.
    pub from_ms: i64,
    /// End, epoch ms.
    pub to_ms: i64,
    /// Why (`camera_down`, `write_failed`, `restart`, ...).
    pub reason: String,
}

/// A journaled event, as the event feeds show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// Sequence number.
    pub seq: u64,
    /// When, epoch ms.
    pub time_ms: i64,
    /// Kind.
    pub kind: String,
    /// Who.
    pub actor: String,
    /// The fact's payload.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Chain hash, hex.
    pub hash: String,
}

/// A camera's recorded time, gaps and the events of what it covers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Timeline {
    /// Camera id.
    pub camera: String,
    /// The window, epoch ms.
    pub from_ms: i64,
    /// The window's end, epoch ms.
    pub to_ms: i64,
    /// Recorded stretches (back-to-back segments merged).
    pub spans: Vec<Span>,
    /// The segments.
    pub segments: Vec<SegmentSummary>,
    /// Recording gaps with their reasons.
    pub gaps: Vec<GapSummary>,
    /// The camera is down now; the gap in progress started here.
    pub open_gap_from_ms: Option<i64>,
    /// Access, alarm and door events of the areas, doors, readers and sensors it covers (up to
    /// 500; silent alarms only for monitoring roles).
    pub events: Vec<EventView>,
}

/// Where a stretch of a playback MP4 sits in wall-clock time (a gap makes the next piece jump).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Piece {
    /// Wall-clock start, epoch ms.
    pub wall_start_ms: i64,
    /// Where it starts in the MP4's media time, ms.
    pub media_start_ms: i64,
    /// Its length, ms.
    pub duration_ms: i64,
}

/// The wall-clock map of a playback MP4.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaybackMap {
    /// Camera id.
    pub camera: String,
    /// The recorded stretches the MP4 holds, in order.
    pub pieces: Vec<Piece>,
}

/// One downloadable file of an evidence bundle.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BundleFile {
    /// File name.
    pub name: String,
    /// Where to download it.
    pub url: String,
}

/// A written evidence bundle.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportCreated {
    /// Export id (`SEQ-camera`).
    pub id: String,
    /// Where it was written on the server.
    pub path: String,
    /// Fingerprint of the key that signed it.
    pub key_fingerprint: String,
    /// SHA-256 of the manifest, hex.
    pub manifest_sha256: String,
    /// Its files.
    pub files: Vec<BundleFile>,
    /// The signed manifest.
    #[schema(value_type = Object)]
    pub manifest: Value,
}

/// A stored evidence bundle.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportSummary {
    /// Export id.
    pub id: String,
    /// Camera id.
    pub camera: String,
    /// Requested from, epoch ms.
    pub from_ms: i64,
    /// Requested to, epoch ms.
    pub to_ms: i64,
    /// Who exported it.
    pub exported_by: String,
    /// Why.
    pub reason: String,
    /// When, epoch ms.
    pub created_ms: i64,
    /// Size of its MP4.
    pub video_bytes: u64,
    /// The journal sequence of its `video.export_started`.
    pub journal_seq: u64,
}

/// Stored evidence bundles.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportList {
    /// Newest first.
    pub exports: Vec<ExportSummary>,
}

/// A re-verification of a stored bundle (EXP-06).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportVerification {
    /// Export id.
    pub id: String,
    /// Everything matches its signature and hashes.
    pub intact: bool,
    /// The part at fault.
    pub part: Option<String>,
    /// What is wrong with it.
    pub problem: Option<String>,
    /// Fingerprint of the key that signed it (when intact).
    pub key_fingerprint: Option<String>,
}

/// A legal hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldView {
    /// Hold id.
    pub id: i64,
    /// Cameras held (empty with `all_cameras`).
    pub cameras: Vec<String>,
    /// Every camera.
    pub all_cameras: bool,
    /// From, epoch ms.
    pub from_ms: i64,
    /// To, epoch ms.
    pub to_ms: i64,
    /// Why.
    pub reason: String,
    /// Case or incident reference.
    pub reference: String,
    /// Placed, epoch ms.
    pub created_ms: i64,
    /// Placed by.
    pub created_by: String,
    /// Released, epoch ms.
    pub released_ms: Option<i64>,
    /// Released by.
    pub released_by: Option<String>,
    /// The regulator's approval reference for the release.
    pub release_approval: Option<String>,
    /// Still in force.
    pub active: bool,
}

/// The site's legal holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldList {
    /// Every hold.
    pub holds: Vec<HoldView>,
    /// Releasing needs the regulator's approval reference on this site.
    pub release_needs_approval: bool,
}
