//! The site model: one TOML file per site, versioned in the journal.
//!
//! A site has areas (typed), doors between two areas, readers on doors, alarm sensors in areas,
//! alarm panels reporting over SIA DC-09, IP cameras with what they cover, policies, notification
//! chains and the central station. People and credentials are not here: they change at run time
//! and live in the journal.
//!
//! [`SiteConfig::parse`] is the only way in from text. It rejects unknown keys and validates every
//! reference; each [`ConfigIssue`] names the file, line, column and field and says what is expected.
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use crate::jurisdiction::Jurisdiction;

/// A whole site file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The site itself.
    pub site: SiteInfo,
    /// Areas (`[[area]]`).
    #[serde(default, rename = "area")]
    pub areas: Vec<Area>,
    /// Doors (`[[door]]`).
    #[serde(default, rename = "door")]
    pub doors: Vec<Door>,
    /// Readers (`[[reader]]`).
    #[serde(default, rename = "reader")]
    pub readers: Vec<Reader>,
    /// Alarm sensors and buttons (`[[sensor]]`).
    #[serde(default, rename = "sensor")]
    pub sensors: Vec<Sensor>,
    /// Intrusion panels reporting over DC-09 (`[[panel]]`).
    #[serde(default, rename = "panel")]
    pub panels: Vec<Panel>,
    /// Cameras (`[[camera]]`).
    #[serde(default, rename = "camera")]
    pub cameras: Vec<Camera>,
    /// Policies.
    #[serde(default)]
    pub policy: Policy,
    /// Notification channels and chains.
    #[serde(default)]
    pub notify: Notify,
    /// The central station Strongroom reports alarms to.
    #[serde(default)]
    pub central_station: Option<CentralStation>,
    /// The MQTT sensor bus.
    #[serde(default)]
    pub mqtt: Option<Mqtt>,
    /// Where Strongroom listens for alarm panels (SIA DC-09).
    #[serde(default)]
    pub alarm_receiver: Option<AlarmReceiver>,
}

/// The DC-09 receiver panels report to (`[alarm_receiver]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmReceiver {
    /// TCP and UDP listen address, e.g. `0.0.0.0:9009`.
    pub listen: String,
    /// Receiver number sent in replies.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Line number sent in replies.
    #[serde(default)]
    pub line: Option<String>,
}

/// The `[site]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteInfo {
    /// Short identifier (`a-z0-9-`), unique in an installation.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The state license number.
    #[serde(default)]
    pub license_number: String,
    /// Which rule pack applies.
    pub jurisdiction: Jurisdiction,
    /// IANA time zone of the site (deadlines and operating hours are computed in it).
    pub timezone: String,
    /// Operating hours per weekday (`mon = "09:00-21:00"`); a missing day is closed.
    #[serde(default)]
    pub operating_hours: BTreeMap<String, String>,
    /// Whether the built-in device simulator drives events (demo sites only).
    #[serde(default)]
    pub simulator: bool,
    /// Street address, for dispatch.
    #[serde(default)]
    pub address: String,
    /// First day of operation at this location (`YYYY-MM-DD`); some rules depend on it.
    #[serde(default)]
    pub operating_since: Option<String>,
    /// Day the site relocated (`YYYY-MM-DD`), if it did.
    #[serde(default)]
    pub relocated_on: Option<String>,
}

/// What an area is, as the regulations name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaKind {
    /// Open to the public (lobby, check-in).
    Public,
    /// Limited access area (IL) / dispensary department (OH-D).
    LimitedAccess,
    /// Restricted access area.
    RestrictedAccess,
    /// The product vault.
    Vault,
    /// A currency safe, separate from the product vault (OH 3796:6-3-16(B)(8)).
    CurrencySafe,
    /// The room with surveillance recording equipment.
    SurveillanceRoom,
    /// Point-of-sale area.
    PointOfSale,
    /// Outside the building.
    Exterior,
    /// The parking lot.
    Parking,
    /// Processing or production area (processors).
    Processing,
}

impl AreaKind {
    /// Whether the area holds cannabis or money and so needs electronic locks on its doors.
    pub fn is_secured(self) -> bool {
        matches!(
            self,
            AreaKind::LimitedAccess
                | AreaKind::RestrictedAccess
                | AreaKind::Vault
                | AreaKind::CurrencySafe
                | AreaKind::SurveillanceRoom
                | AreaKind::Processing
        )
    }
}

/// An area (`[[area]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// Identifier, unique among all ids of the site.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What kind of area it is.
    pub kind: AreaKind,
    /// Maximum occupancy (IL 1291.300(b)(3)); none means unlimited.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Deny a second entry without an exit in between.
    #[serde(default)]
    pub anti_passback: bool,
}

/// Lock hardware on a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockKind {
    /// Electronic lock on an access-control controller.
    #[default]
    Electronic,
    /// Key or combination only.
    Mechanical,
    /// No lock.
    None,
}

/// A door between two areas (`[[door]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Door {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The area on the outer side.
    pub from: String,
    /// The area on the inner side (entering means going from `from` to `to`).
    pub to: String,
    /// Lock hardware.
    #[serde(default)]
    pub lock: LockKind,
    /// The locked barrier between the public entrance and the limited access area (AC-01).
    #[serde(default)]
    pub barrier: bool,
    /// Seconds a door may stand open after a grant before it is "held open".
    #[serde(default = "default_held_open_limit_s")]
    pub held_open_limit_s: u32,
    /// Seconds the lock releases for on a grant.
    #[serde(default = "default_unlock_s")]
    pub unlock_s: u32,
    /// Whether a door contact reports open/closed.
    #[serde(default = "default_true")]
    pub contact: bool,
    /// A vault day gate (an inner gate used while the vault door stands open in business hours).
    #[serde(default)]
    pub day_gate: bool,
}

fn default_held_open_limit_s() -> u32 {
    30
}
fn default_unlock_s() -> u32 {
    5
}
fn default_true() -> bool {
    true
}

/// Which way a reader admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the door's `from` area into its `to` area.
    #[default]
    In,
    /// From `to` back to `from`.
    Out,
}

/// How a reader is reached over OSDP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsdpLink {
    /// `serial:/dev/ttyUSB0`, `pty:/path` or `tcp:HOST:PORT`.
    pub channel: String,
    /// The reader's OSDP address (0-126).
    #[serde(default)]
    pub address: u8,
    /// File holding the reader's 16-byte Secure Channel Base Key in hex (mode 0600).
    #[serde(default)]
    pub scbk_file: Option<String>,
    /// Serial speed.
    #[serde(default = "default_baud")]
    pub baud: u32,
}

fn default_baud() -> u32 {
    115_200
}

/// A credential reader on a door (`[[reader]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reader {
    /// Identifier.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The door it sits on.
    pub door: String,
    /// Which way it admits.
    #[serde(default)]
    pub direction: Direction,
    /// Whether it has a keypad (PIN entry).
    #[serde(default)]
    pub keypad: bool,
    /// OSDP link; none for controllers that report over the HTTP API.
    #[serde(default)]
    pub osdp: Option<OsdpLink>,
}

/// What an alarm point detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// Door/window contact on a perimeter entry point.
    PerimeterEntry,
    /// Glass-break detector.
    GlassBreak,
    /// Motion detector.
    Motion,
    /// Vault wall / perimeter sensor.
    VaultWall,
    /// Vault door contact.
    VaultDoor,
    /// Panic button (audible).
    Panic,
    /// Holdup button (silent).
    Holdup,
    /// Duress input (silent).
    Duress,
    /// Tamper switch.
    Tamper,
    /// AC power supervision.
    AcPower,
    /// Battery supervision.
    Battery,
    /// Communication path supervision.
    Communication,
    /// Smoke / fire.
    Fire,
}

impl SensorKind {
    /// 24-hour zones: no disarm silences them.
    pub fn is_24_hour(self) -> bool {
        matches!(
            self,
            SensorKind::VaultWall
                | SensorKind::VaultDoor
                | SensorKind::Panic
                | SensorKind::Holdup
                | SensorKind::Duress
                | SensorKind::Tamper
                | SensorKind::Fire
        )
    }
    /// Silent alarms: never any local sound or indication, seen only by monitoring roles.
    pub fn is_silent(self) -> bool {
        matches!(self, SensorKind::Holdup | SensorKind::Duress)
    }
}

/// An alarm point (`[[sensor]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensor {
    /// Identifier.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// What it detects.
    pub kind: SensorKind,
    /// The area it is in.
    pub area: String,
    /// Zone number on its panel (Contact ID zone).
    #[serde(default)]
    pub zone: u16,
    /// Partition (Contact ID group).
    #[serde(default = "default_partition")]
    pub partition: u16,
    /// The DC-09 panel it reports through, if any.
    #[serde(default)]
    pub panel: Option<String>,
    /// MQTT topic it reports on, if any.
    #[serde(default)]
    pub mqtt_topic: Option<String>,
    /// A sensor silent for longer than this is a failure; none means unsupervised.
    #[serde(default)]
    pub supervision_interval_s: Option<u32>,
}

fn default_partition() -> u16 {
    1
}

/// An intrusion panel reporting over SIA DC-09 (`[[panel]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// Identifier.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// DC-09 account number (hex digits).
    pub account: String,
    /// File holding the AES key (16, 24 or 32 bytes, hex); none means unencrypted.
    #[serde(default)]
    pub key_file: Option<String>,
    /// Expected NULL-message interval; a silent panel is a failure.
    #[serde(default)]
    pub supervision_interval_s: Option<u32>,
}

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

/// Site policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Two different authorised agents must badge the vault within this window.
    pub vault_dual_auth_window_s: u32,
    /// An escorting agent must badge within this window of a visitor or vendor.
    pub escort_window_s: u32,
    /// Roles that may still pass restricted doors during a lockdown.
    pub lockdown_roles: Vec<String>,
    /// Unknown-card reads at one reader within `unknown_card_window_s` that raise an alarm.
    pub unknown_card_burst: u32,
    /// The window for `unknown_card_burst`.
    pub unknown_card_window_s: u32,
    /// Wrong PINs in a row at one reader before the keypad locks out and an alarm is raised.
    pub pin_attempts_lockout: u32,
    /// Auto-arm after operating hours, this many minutes after closing.
    pub auto_arm_after_close_min: Option<u32>,
    /// Minutes before auto-arming that the people still inside are warned.
    pub auto_arm_warning_min: u32,
    /// Entry delay for perimeter zones while armed.
    pub entry_delay_s: u32,
    /// Exit delay after arming.
    pub exit_delay_s: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            vault_dual_auth_window_s: 30,
            escort_window_s: 30,
            lockdown_roles: vec!["security-manager".into()],
            unknown_card_burst: 5,
            unknown_card_window_s: 60,
            pin_attempts_lockout: 5,
            auto_arm_after_close_min: Some(30),
            auto_arm_warning_min: 5,
            entry_delay_s: 30,
            exit_delay_s: 60,
        }
    }
}

/// Notification channels and chains (`[notify]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notify {
    /// SMTP relay for email.
    pub smtp: Option<Smtp>,
    /// SMS/voice provider webhooks.
    pub webhook: Option<Webhook>,
    /// Named contacts.
    #[serde(rename = "contact")]
    pub contacts: Vec<Contact>,
    /// Escalation chains.
    #[serde(rename = "chain")]
    pub chains: Vec<Chain>,
}

/// An SMTP relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Host name or address.
    pub host: String,
    /// Port.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Envelope and header From address.
    pub from: String,
    /// Use STARTTLS.
    #[serde(default)]
    pub starttls: bool,
}

fn default_smtp_port() -> u16 {
    25
}

/// A Twilio-style SMS/voice provider reached by form POSTs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// URL for SMS.
    pub sms_url: String,
    /// URL for voice calls.
    pub voice_url: String,
    /// The sending number.
    #[serde(default)]
    pub from: String,
    /// Environment variable holding the provider token.
    #[serde(default)]
    pub token_env: Option<String>,
}

/// A person or agency to notify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone number for SMS/voice (E.164).
    #[serde(default)]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// A monitoring recipient: may receive silent (holdup, duress) alarms.
    #[serde(default)]
    pub monitoring: bool,
}

/// A notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Text message.
    Sms,
    /// Voice call (prerecorded message).
    Voice,
    /// Email.
    Email,
}

/// An escalation chain: who is told about which alarms, in what order, until someone acknowledges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// Identifier.
    pub id: String,
    /// Fact kinds or alarm types this chain handles (`alarm.*`, `health.camera_down`, ...).
    pub applies_to: Vec<String>,
    /// Steps, in order.
    #[serde(rename = "step")]
    pub steps: Vec<ChainStep>,
}

/// One step of a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainStep {
    /// The contact to reach.
    pub contact: String,
    /// How.
    pub channel: Channel,
    /// Seconds after the alarm before this step fires if nobody acknowledged.
    #[serde(default)]
    pub after_s: u32,
}

/// The central station (`[central_station]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralStation {
    /// Primary receiver `HOST:PORT`.
    pub primary: String,
    /// Secondary receiver `HOST:PORT`.
    #[serde(default)]
    pub secondary: Option<String>,
    /// Our account at the station.
    pub account: String,
    /// AES key file (hex), none for unencrypted.
    #[serde(default)]
    pub key_file: Option<String>,
    /// Receiver number to put in frames.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Line number to put in frames.
    #[serde(default)]
    pub line: Option<String>,
}

/// The MQTT sensor bus (`[mqtt]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mqtt {
    /// `HOST:PORT` of the broker.
    pub broker: String,
    /// Topic prefix, e.g. `strongroom/demo`.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
}

fn default_topic_prefix() -> String {
    "strongroom".into()
}

/// One problem found in a site file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The file's name as given.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// Dotted path of the field (`door[2].from`).
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.field, self.message
        )
    }
}

/// Every problem found in a site file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// One step in a path to a field: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPart {
    Key(&'static str),
    Index(usize),
}

impl SiteConfig {
    /// Parses and validates a site file. `file` is only used in messages.
    pub fn parse(file: &str, text: &str) -> Result<SiteConfig, ConfigErrors> {
        let config: SiteConfig = match toml::from_str(text) {
            Ok(c) => c,
            Err(e) => {
                let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
                let message = e.message().trim().to_owned();
                let field = field_from_message(&message, text, line);
                return Err(ConfigErrors(vec![ConfigIssue {
                    file: file.to_owned(),
                    line,
                    column,
                    field,
                    message,
                }]));
            }
        };
        let problems = config.validate();
        if problems.is_empty() {
            return Ok(config);
        }
        let located = problems
            .into_iter()
            .map(|(path, message)| {
                let (line, column) = locate(text, &path).unwrap_or((0, 0));
                ConfigIssue {
                    file: file.to_owned(),
                    line,
                    column,
                    field: path_string(&path),
                    message,
                }
            })
            .collect();
        Err(ConfigErrors(located))
    }

    /// Checks references and invariants; returns each problem with the path of its field.
    fn validate(&self) -> Vec<(Vec<PathPart>, String)> {
        use PathPart::{Index as I, Key as K};
        let mut out = Vec::new();
        let check_id = |path: Vec<PathPart>, id: &'_ str, out: &mut Vec<_>| {
            if !valid_id(id) {
                out.push((
                    path,
                    format!("id {id:?} must be 1-64 characters of a-z, 0-9, '-' and '_'"),
                ));
            }
        };
        check_id(vec![K("site"), K("id")], &self.site.id, &mut out);
        if self.site.name.trim().is_empty() {
            out.push((vec![K("site"), K("name")], "the site needs a name".into()));
        }
        if jiff::tz::TimeZone::get(&self.site.timezone).is_err() {
            out.push((
                vec![K("site"), K("timezone")],
                format!(
                    "unknown time zone {:?}: expected an IANA name such as \"America/Chicago\"",
                    self.site.timezone
                ),
            ));
        }
        for (key, value) in [
            ("operating_since", &self.site.operating_since),
            ("relocated_on", &self.site.relocated_on),
        ] {
            if let Some(v) = value
                && v.parse::<jiff::civil::Date>().is_err()
            {
                out.push((
                    vec![K("site"), K(key)],
                    format!("bad date {v:?}: expected YYYY-MM-DD"),
                ));
            }
        }
        if let Some(r) = &self.alarm_receiver
            && r.listen.parse::<std::net::SocketAddr>().is_err()
        {
            out.push((
                vec![K("alarm_receiver"), K("listen")],
                format!(
                    "bad listen address {:?}: expected IP:PORT such as 0.0.0.0:9009",
                    r.listen
                ),
            ));
        }
        for (day, span) in &self.site.operating_hours {
            if !matches!(
                day.as_str(),
                "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun"
            ) {
                out.push((
                    vec![K("site"), K("operating_hours")],
                    format!("unknown day {day:?}: expected mon, tue, wed, thu, fri, sat or sun"),
                ));
            } else if parse_hours(span).is_none() {
                out.push((
                    vec![K("site"), K("operating_hours")],
                    format!("bad hours {span:?} for {day}: expected \"HH:MM-HH:MM\""),
                ));
            }
        }
        // Ids: unique across every kind, so an id names one thing in events.
        let mut all_ids: Vec<(Vec<PathPart>, &str)> = Vec::new();
        for (i, a) in self.areas.iter().enumerate() {
            all_ids.push((vec![K("area"), I(i), K("id")], &a.id));
        }
        for (i, d) in self.doors.iter().enumerate() {
            all_ids.push((vec![K("door"), I(i), K("id")], &d.id));
        }
        for (i, r) in self.readers.iter().enumerate() {
            all_ids.push((vec![K("reader"), I(i), K("id")], &r.id));
        }
        for (i, s) in self.sensors.iter().enumerate() {
            all_ids.push((vec![K("sensor"), I(i), K("id")], &s.id));
        }
        for (i, p) in self.panels.iter().enumerate() {
            all_ids.push((vec![K("panel"), I(i), K("id")], &p.id));
        }
        for (i, c) in self.cameras.iter().enumerate() {
            all_ids.push((vec![K("camera"), I(i), K("id")], &c.id));
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for (path, id) in all_ids {
            if !seen.insert(id) {
                out.push((
                    path.clone(),
                    format!("duplicate id {id:?}: every id in a site file must be unique"),
                ));
            }
            check_id(path, id, &mut out);
        }
        let area_ids: HashSet<&str> = self.areas.iter().map(|a| a.id.as_str()).collect();
        let door_ids: HashSet<&str> = self.doors.iter().map(|d| d.id.as_str()).collect();
        let panel_ids: HashSet<&str> = self.panels.iter().map(|p| p.id.as_str()).collect();
        let area_list = || {
            let mut v: Vec<&str> = area_ids.iter().copied().collect();
            v.sort();
            v.join(", ")
        };
        for (i, d) in self.doors.iter().enumerate() {
            for (key, area) in [("from", &d.from), ("to", &d.to)] {
                if !area_ids.contains(area.as_str()) {
                    out.push((
                        vec![K("door"), I(i), K(key)],
                        format!(
                            "door {:?} joins undeclared area {area:?}: a door must join two declared areas ({})",
                            d.id,
                            area_list()
                        ),
                    ));
                }
            }
            if d.from == d.to {
                out.push((
                    vec![K("door"), I(i), K("to")],
                    format!(
                        "door {:?} joins area {:?} to itself: a door must join two different areas",
                        d.id, d.to
                    ),
                ));
            }
            if d.held_open_limit_s == 0 {
                out.push((
                    vec![K("door"), I(i), K("held_open_limit_s")],
                    "held_open_limit_s must be at least 1 second".into(),
                ));
            }
        }
        for (i, r) in self.readers.iter().enumerate() {
            if !door_ids.contains(r.door.as_str()) {
                out.push((
                    vec![K("reader"), I(i), K("door")],
                    format!("reader {:?} sits on undeclared door {:?}: a reader must sit on a declared door", r.id, r.door),
                ));
            }
            if let Some(link) = &r.osdp {
                if link.address > 126 {
                    out.push((
                        vec![K("reader"), I(i), K("osdp"), K("address")],
                        format!(
                            "OSDP address {} is out of range: expected 0-126",
                            link.address
                        ),
                    ));
                }
                let ok = ["serial:", "pty:", "tcp:"]
                    .iter()
                    .any(|p| link.channel.starts_with(p) && link.channel.len() > p.len());
                if !ok {
                    out.push((
                        vec![K("reader"), I(i), K("osdp"), K("channel")],
                        format!("bad OSDP channel {:?}: expected serial:DEVICE, pty:PATH or tcp:HOST:PORT", link.channel),
                    ));
                }
            }
        }
        for (i, s) in self.sensors.iter().enumerate() {
            if !area_ids.contains(s.area.as_str()) {
                out.push((
                    vec![K("sensor"), I(i), K("area")],
                    format!("sensor {:?} is in undeclared area {:?}", s.id, s.area),
                ));
            }
            if let Some(p) = &s.panel
                && !panel_ids.contains(p.as_str())
            {
                out.push((
                    vec![K("sensor"), I(i), K("panel")],
                    format!("sensor {:?} reports through undeclared panel {p:?}", s.id),
                ));
            }
        }
        for (i, p) in self.panels.iter().enumerate() {
            let ok = !p.account.is_empty()
                && p.account.len() <= 16
                && p.account.bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                out.push((
                    vec![K("panel"), I(i), K("account")],
                    format!(
                        "bad DC-09 account {:?}: expected 1-16 hex digits",
                        p.account
                    ),
                ));
            }
        }
        for (i, c) in self.cameras.iter().enumerate() {
            if !(c.rtsp_url.starts_with("rtsp://") || c.rtsp_url.starts_with("rtsps://")) {
                out.push((
                    vec![K("camera"), I(i), K("rtsp_url")],
                    format!(
                        "camera {:?}: rtsp_url must start with rtsp:// or rtsps://",
                        c.id
                    ),
                ));
            }
            if c.rtsp_url.contains('@') {
                out.push((
                    vec![K("camera"), I(i), K("rtsp_url")],
                    format!(
                        "camera {:?}: put credentials in username/password_env, not in the URL",
                        c.id
                    ),
                ));
            }
            for (j, a) in c.covers_areas.iter().enumerate() {
                if !area_ids.contains(a.as_str()) {
                    out.push((
                        vec![K("camera"), I(i), K("covers_areas"), I(j)],
                        format!("camera {:?} covers undeclared area {a:?}", c.id),
                    ));
                }
            }
            for (j, d) in c.covers_doors.iter().enumerate() {
                if !door_ids.contains(d.as_str()) {
                    out.push((
                        vec![K("camera"), I(i), K("covers_doors"), I(j)],
                        format!("camera {:?} covers undeclared door {d:?}", c.id),
                    ));
                }
            }
        }
        let contact_ids: HashSet<&str> =
            self.notify.contacts.iter().map(|c| c.id.as_str()).collect();
        for (i, chain) in self.notify.chains.iter().enumerate() {
            for (j, step) in chain.steps.iter().enumerate() {
                if !contact_ids.contains(step.contact.as_str()) {
                    out.push((
                        vec![K("notify"), K("chain"), I(i), K("step"), I(j), K("contact")],
                        format!(
                            "chain {:?} names undeclared contact {:?}",
                            chain.id, step.contact
                        ),
                    ));
                }
            }
        }
        for (i, role) in self.policy.lockdown_roles.iter().enumerate() {
            if role.parse::<crate::auth::Role>().is_err() {
                out.push((
                    vec![K("policy"), K("lockdown_roles"), I(i)],
                    format!("unknown role {role:?}"),
                ));
            }
        }
        out
    }

    /// Finds an area by id.
    pub fn area(&self, id: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.id == id)
    }
    /// Finds a door by id.
    pub fn door(&self, id: &str) -> Option<&Door> {
        self.doors.iter().find(|d| d.id == id)
    }
    /// Finds a camera by id.
    pub fn camera(&self, id: &str) -> Option<&Camera> {
        self.cameras.iter().find(|c| c.id == id)
    }

    /// Whether the site is open at local weekday `weekday` (`"mon"`..) and minute of day.
    pub fn is_open(&self, weekday: &str, minute_of_day: u32) -> bool {
        self.site
            .operating_hours
            .get(weekday)
            .and_then(|s| parse_hours(s))
            .is_some_and(|(open, close)| minute_of_day >= open && minute_of_day < close)
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Parses `"HH:MM-HH:MM"` into minutes of the day `(open, close)`, close after open.
pub fn parse_hours(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-')?;
    let hm = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    let (open, close) = (hm(a)?, hm(b)?);
    (close > open).then_some((open, close))
}

fn path_string(path: &[PathPart]) -> String {
    let mut s = String::new();
    for part in path {
        match part {
            PathPart::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathPart::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn field_from_message(message: &str, text: &str, line: usize) -> String {
    // toml's messages name the field as "unknown field `x`" or "missing field `x`"; otherwise
    // the field is the key on the line the error points at.
    if (message.starts_with("unknown field") || message.starts_with("missing field"))
        && let Some(f) = message.split('`').nth(1)
    {
        return f.to_owned();
    }
    text.lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or_else(|| "(syntax)".to_owned())
}

/// 1-based line and column of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
    (line, column)
}

/// Finds the line and column of the field at `path` by walking the spanned document.
fn locate(text: &str, path: &[PathPart]) -> Option<(usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut best = None;
    let mut current: Option<&toml::Spanned<DeValue<'_>>> = None;
    for part in path {
        match part {
            PathPart::Key(k) => {
                let (key, value) = match current.map(|v| v.get_ref()) {
                    Some(DeValue::Table(t)) => t.iter().find(|(key, _)| key.get_ref() == k)?,
                    None => table.iter().find(|(key, _)| key.get_ref() == k)?,
                    _ => return best.map(|b| line_col(text, b)),
                };
                best = Some(key.span().start);
                current = Some(value);
                if let DeValue::Table(t) = value.get_ref() {
                    table = t;
                }
            }
            PathPart::Index(i) => match current.map(|v| v.get_ref()) {
                Some(DeValue::Array(items)) => {
                    let item = items.get(*i)?;
                    best = Some(item.span().start);
                    current = Some(item);
                }
                _ => return best.map(|b| line_col(text, b)),
            },
        }
    }
    best.map(|b| line_col(text, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const GOOD: &str = r#"
[site]
id = "demo"
name = "Demo Dispensary"
jurisdiction = "il-dispensary"
timezone = "America/Chicago"
operating_hours = { mon = "09:00-21:00", sat = "10:00-18:00" }

[[area]]
id = "lobby"
name = "Lobby"
kind = "public"

[[area]]
id = "floor"
name = "Sales floor"
kind = "limited_access"
capacity = 40

[[door]]
id = "d-lobby"
name = "Lobby door"
from = "lobby"
to = "floor"
barrier = true

[[reader]]
id = "r-lobby"
door = "d-lobby"
keypad = true
"#;

    #[test]
    fn good_file_parses() {
        let c = SiteConfig::parse("site.toml", GOOD).expect("valid");
        assert_eq!(c.site.jurisdiction, Jurisdiction::IlDispensary);
        assert_eq!(c.doors[0].held_open_limit_s, 30);
        assert!(c.is_open("mon", 9 * 60));
        assert!(!c.is_open("mon", 21 * 60));
        assert!(!c.is_open("sun", 12 * 60));
    }

    #[test]
    fn unknown_key_names_line_and_field() {
        let bad = GOOD.replace("barrier = true", "barrier = true\ncolour = \"red\"");
        let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
        let issue = &err.0[0];
        assert_eq!(issue.file, "site.toml");
        assert_eq!(issue.field, "colour");
        assert!(issue.line > 20, "{issue}");
        assert!(issue.message.contains("unknown field"), "{issue}");
    }

    #[test]
    fn door_to_undeclared_area_names_line() {
        let bad = GOOD.replace("to = \"floor\"", "to = \"vault\"");
        let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
        assert_eq!(err.0.len(), 1, "{err}");
        let issue = &err.0[0];
        assert_eq!(issue.field, "door[0].to");
        let line = bad
            .lines()
            .position(|l| l.starts_with("to = \"vault\""))
            .map(|p| p + 1);
        assert_eq!(Some(issue.line), line, "{issue}");
        assert!(issue.message.contains("two declared areas"));
    }

    #[test]
    fn reader_on_undeclared_door_and_duplicate_ids() {
        let bad = GOOD
            .replace("door = \"d-lobby\"", "door = \"nope\"")
            .replace("id = \"floor\"", "id = \"lobby\"");
        let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
        let fields: Vec<&str> = err.0.iter().map(|i| i.field.as_str()).collect();
        assert!(fields.contains(&"reader[0].door"), "{err}");
        assert!(fields.contains(&"area[1].id"), "{err}");
        assert!(err.0.iter().all(|i| i.line > 0), "{err}");
    }

    #[test]
    fn bad_timezone_and_hours() {
        let bad = GOOD
            .replace("America/Chicago", "Mars/Olympus")
            .replace("09:00-21:00", "21:00-09:00");
        let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
        assert_eq!(err.0.len(), 2, "{err}");
    }

    #[test]
    fn bad_enum_value_names_its_key() {
        let bad = GOOD.replace("kind = \"public\"", "kind = \"treasure\"");
        let err = SiteConfig::parse("site.toml", &bad).expect_err("must fail");
        assert_eq!(err.0[0].field, "kind", "{err}");
        assert!(err.0[0].message.contains("expected one of"), "{err}");
    }

    #[test]
    fn syntax_error_is_located() {
        let err = SiteConfig::parse("x.toml", "[site\nid=1").expect_err("must fail");
        assert_eq!(err.0[0].line, 1);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,400}") {
            let _ = SiteConfig::parse("f.toml", &s);
        }

        #[test]
        fn mutated_good_file_never_panics(pos in 0usize..600, byte in proptest::num::u8::ANY) {
            let mut bytes = GOOD.as_bytes().to_vec();
            let p = pos % bytes.len();
            bytes[p] = byte;
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = SiteConfig::parse("f.toml", s);
            }
        }
    }
}

/// The demo site file (an Illinois dispensary) that `strongroom serve` runs when nothing is
/// configured.
pub const DEMO_SITE_TOML: &str = include_str!("../sites/demo-il-dispensary.toml");

#[cfg(test)]
mod demo_tests {
    use super::*;

    #[test]
    fn demo_site_is_valid() {
        let c = SiteConfig::parse("demo-il-dispensary.toml", DEMO_SITE_TOML)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.site.simulator);
        assert_eq!(c.cameras.len(), 4);
        assert!(c.doors.iter().any(|d| d.barrier));
    }
}
