//! Camera part of the site file: IP cameras (`[[camera]]`), what they cover and how they record.
use serde::{Deserialize, Serialize};

/// A camera's recording mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingMode {
    /// 24 hours a day.
    #[default]
    Continuous,
    /// On motion, where the pack allows it.
    Motion,
}

/// What a camera is meant to show, as the regulations list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraPurpose {
    /// Identifies faces at an entrance/exit.
    Face,
    /// A point of sale.
    PointOfSale,
    /// The vault or safe.
    Vault,
    /// The parking lot.
    Parking,
    /// An exterior door.
    ExteriorDoor,
    /// A limited or restricted access area.
    SecuredArea,
    /// Loading/delivery area.
    Loading,
    /// The surveillance room itself.
    SurveillanceRoom,
    /// A height strip at an exit (identification).
    HeightStrip,
    /// License plate capture.
    PlateCapture,
    /// Identification-grade view.
    Identification,
}

/// An IP camera (`[[camera]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    /// Identifier.
    pub id: String,
    /// Display name (burned into stills).
    pub name: String,
    /// RTSP URL of the main stream.
    pub rtsp_url: String,
    /// RTSP user name.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the RTSP password (never the password itself).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Areas in view.
    #[serde(default)]
    pub covers_areas: Vec<String>,
    /// Doors in view.
    #[serde(default)]
    pub covers_doors: Vec<String>,
    /// What it is meant to show.
    #[serde(default)]
    pub purposes: Vec<CameraPurpose>,
    /// Recording mode.
    #[serde(default)]
    pub recording: RecordingMode,
    /// Highest frame rate the camera can deliver (OH requires cameras capable of 30 fps).
    #[serde(default)]
    pub capable_fps: Option<u32>,
}
