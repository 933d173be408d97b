//! Reads one requirement's parameters for its check kind ([`Params::build`]), with typed readers
//! (integers, thousandths, booleans, strings, selectors, intervals, limits) that record a located
//! issue for each missing, mistyped or out-of-range value.
use std::collections::BTreeSet;

use strongroom_domain::site::{AreaKind, Channel, RecordingMode, SensorKind};
use toml::de::DeValue;

use super::check_kind::Check;
use super::enum_from_name;
use super::param_types::{
    AreaSelector, DOOR_SELECTORS, DeadlineEvent, DoorSelector, FpsMeasure, Interval, Limit,
    PowerScope, Subjects, VendorProof, parse_decimal_milli, parse_limit,
};
use super::parser::{Parser, Table, Value, get};

/// Reads one requirement's parameters for its check kind, recording problems.
pub(super) struct Params<'p, 'a, 't, 'i> {
    pub(super) parser: &'p mut Parser<'a>,
    pub(super) table: &'t Table<'i>,
    pub(super) kind: &'t str,
    pub(super) ctx: &'t str,
    pub(super) at: usize,
    pub(super) used: BTreeSet<String>,
}

impl<'t, 'i> Params<'_, '_, 't, 'i> {
    fn raw(&mut self, name: &str, required: bool, expect: &str) -> Option<&'t Value<'i>> {
        self.used.insert(name.to_owned());
        let v = get(self.table, name);
        if v.is_none() && required {
            let msg = format!(
                "missing parameter `{name}` ({expect}) for check kind `{}` in {}",
                self.kind, self.ctx
            );
            self.parser.issue(self.at, msg);
        }
        v
    }

    fn bad(&mut self, at: usize, name: &str, expect: &str, found: &str) {
        let msg = format!(
            "parameter `{name}` in {} must be {expect}, found {found}",
            self.ctx
        );
        self.parser.issue(at, msg);
    }

    fn uint(&mut self, name: &str, required: bool) -> Option<u32> {
        let expect = "a non-negative integer";
        let v = self.raw(name, required, expect)?;
        let (at, r) = (v.span().start, int_of(v.get_ref()));
        match r {
            Some(i) if (0..=i64::from(u32::MAX)).contains(&i) => u32::try_from(i).ok(),
            Some(i) => {
                self.bad(at, name, expect, &i.to_string());
                None
            }
            None => {
                let found = type_of(get(self.table, name));
                self.bad(at, name, expect, found);
                None
            }
        }
    }

    fn milli(&mut self, name: &str) -> Option<i64> {
        let expect = "a number (inches, up to 3 decimals)";
        let v = self.raw(name, true, expect)?;
        let at = v.span().start;
        match milli_of(v.get_ref()) {
            Some(m) if (0..=1_000_000_000).contains(&m) => Some(m),
            _ => {
                let found = type_of(get(self.table, name));
                self.bad(at, name, expect, found);
                None
            }
        }
    }

    fn boolean(&mut self, name: &str) -> Option<bool> {
        let v = self.raw(name, true, "true or false")?;
        let at = v.span().start;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                let found = other.type_str();
                self.bad(at, name, "true or false", found);
                None
            }
        }
    }

    fn string(&mut self, name: &str, required: bool) -> Option<(String, usize)> {
        let v = self.raw(name, required, "a string")?;
        let at = v.span().start;
        match v.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => Some((s.to_string(), at)),
            other => {
                let found = if other.is_str() {
                    "an empty string"
                } else {
                    other.type_str()
                };
                self.bad(at, name, "a non-empty string", found);
                None
            }
        }
    }

    fn strings(&mut self, name: &str, required: bool) -> Option<Vec<(String, usize)>> {
        let v = self.raw(name, required, "a list of strings")?;
        let at = v.span().start;
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push((s.to_string(), item.span().start)),
                        other => {
                            let found = other.type_str();
                            self.bad(item.span().start, name, "a list of strings", found);
                            return None;
                        }
                    }
                }
                Some(out)
            }
            other => {
                let found = other.type_str();
                self.bad(at, name, "a list of strings", found);
                None
            }
        }
    }

    fn named<T: serde::de::DeserializeOwned>(
        &mut self,
        name: &str,
        (s, at): (String, usize),
        what: &str,
        accepted: &str,
    ) -> Option<T> {
        let r = enum_from_name(&s);
        if r.is_none() {
            let msg = format!(
                "parameter `{name}` in {}: unknown {what} `{s}`: expected one of {accepted}",
                self.ctx
            );
            self.parser.issue(at, msg);
        }
        r
    }

    /// A required string parameter naming one value of `T`.
    fn named_param<T: serde::de::DeserializeOwned>(
        &mut self,
        name: &str,
        what: &str,
        accepted: &str,
    ) -> Option<T> {
        let value = self.string(name, true)?;
        self.named(name, value, what, accepted)
    }

    /// A required list parameter naming values of `T`; reading stops at the first unknown name.
    fn named_list<T: serde::de::DeserializeOwned>(
        &mut self,
        name: &str,
        what: &str,
        accepted: &str,
    ) -> Option<Vec<T>> {
        let list = self.strings(name, true)?;
        let mut out = Vec::new();
        for item in list {
            out.push(self.named(name, item, what, accepted)?);
        }
        Some(out)
    }

    /// Every item of `list` as a value of `T`, with an issue for each unknown name.
    fn named_each<T: serde::de::DeserializeOwned>(
        &mut self,
        name: &str,
        list: Vec<(String, usize)>,
        what: &str,
        accepted: &str,
    ) -> Option<Vec<T>> {
        let mut out = Vec::new();
        let mut ok = true;
        for item in list {
            match self.named(name, item, what, accepted) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn door_selector(&mut self, name: &str) -> Option<DoorSelector> {
        let (s, at) = self.string(name, true)?;
        let r = door_selector_named(&s);
        if r.is_none() {
            let accepted = DOOR_SELECTORS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ");
            let msg = format!(
                "parameter `{name}` in {}: unknown door selector `{s}`: expected one of {accepted}",
                self.ctx
            );
            self.parser.issue(at, msg);
        }
        r
    }

    fn areas(&mut self) -> Option<AreaSelector> {
        let list = self.strings("area_kinds", true)?;
        if list.len() == 1 && list[0].0 == "all" {
            return Some(AreaSelector::All);
        }
        if list.is_empty() {
            let msg = format!("parameter `area_kinds` in {} must not be empty", self.ctx);
            self.parser.issue(self.at, msg);
            return None;
        }
        let accepted = "all, public, limited_access, restricted_access, vault, currency_safe, surveillance_room, point_of_sale, exterior, parking, processing";
        self.named_each::<AreaKind>("area_kinds", list, "area kind", accepted)
            .map(AreaSelector::Kinds)
    }

    fn sensor_kinds(&mut self) -> Option<Vec<SensorKind>> {
        let list = self.strings("sensor_kinds", true)?;
        let accepted = "perimeter_entry, glass_break, motion, vault_wall, vault_door, panic, holdup, duress, tamper, ac_power, battery, communication, fire";
        self.named_each::<SensorKind>("sensor_kinds", list, "sensor kind", accepted)
            .filter(|kinds| !kinds.is_empty())
    }

    fn interval(&mut self) -> Option<Interval> {
        let days = self.uint("interval_days", false);
        let months = self.uint("interval_months", false);
        if days.is_none() && months.is_none() {
            let msg = format!(
                "missing parameter `interval_days` or `interval_months` for check kind `{}` in {}",
                self.kind, self.ctx
            );
            self.parser.issue(self.at, msg);
            return None;
        }
        if days == Some(0) || months == Some(0) {
            let msg = format!("interval in {} must be at least one day or month", self.ctx);
            self.parser.issue(self.at, msg);
            return None;
        }
        Some(Interval { days, months })
    }

    fn limits(&mut self) -> Option<Vec<Limit>> {
        let Some(list) = self.strings("limits", false) else {
            return Some(Vec::new());
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (s, at) in list {
            match parse_limit(&s) {
                Some(l) => out.push(l),
                None => {
                    ok = false;
                    let msg = format!(
                        "parameter `limits` in {}: cannot read {s:?}: expected \"MEASURE OP NUMBER\" such as \"width_in >= 12\" (OP one of >=, <=, >, <)",
                        self.ctx
                    );
                    self.parser.issue(at, msg);
                }
            }
        }
        ok.then_some(out)
    }

    pub(super) fn build(&mut self) -> Option<Check> {
        let kind = self.kind;
        Some(match kind {
            "camera_at_doors" => {
                let doors = self.door_selector("doors");
                let purpose = self.string("purpose", false).map(|p| p.0);
                Check::CameraAtDoors {
                    doors: doors?,
                    purpose,
                }
            }
            "camera_on_areas" => {
                let areas = self.areas();
                let purpose = self.string("purpose", false).map(|p| p.0);
                Check::CameraOnAreas {
                    areas: areas?,
                    purpose,
                }
            }
            "frame_rate" => {
                let min_fps = self.uint("min_fps", true);
                let measure =
                    self.named_param::<FpsMeasure>("measure", "measure", "recorded, capable");
                Check::FrameRate {
                    min_fps: min_fps?,
                    measure: measure?,
                }
            }
            "face_pixels" => {
                let min = self.uint("min_face_pixels", true);
                let purpose = self
                    .string("purpose", false)
                    .map_or_else(|| "face".to_owned(), |p| p.0);
                Check::FacePixels {
                    min_face_pixels: min?,
                    purpose,
                }
            }
            "resolution" => {
                let w = self.uint("min_width_px", true);
                let h = self.uint("min_height_px", true);
                Check::Resolution {
                    min_width_px: w?,
                    min_height_px: h?,
                }
            }
            "recording_mode" => {
                let modes = self.named_list::<RecordingMode>(
                    "allowed_modes",
                    "recording mode",
                    "continuous, motion",
                );
                Check::RecordingMode {
                    allowed_modes: modes?,
                }
            }
            "clock_sync" => Check::ClockSync {
                max_offset_ms: self.uint("max_offset_ms", true)?,
            },
            "retention" => Check::Retention {
                retention_days: self.uint("retention_days", true)?,
            },
            "failure_notification" => {
                let within = self.uint("within_minutes", true);
                let channels =
                    self.named_list::<Channel>("allowed_channels", "channel", "sms, voice, email");
                let email = self.boolean("email_alone_allowed");
                Check::FailureNotification {
                    within_minutes: within?,
                    allowed_channels: channels?,
                    email_alone_allowed: email?,
                }
            }
            "electronic_locks" => Check::ElectronicLocks {
                areas: self.areas()?,
            },
            "sensor_in_areas" => {
                let s = self.sensor_kinds();
                let a = self.areas();
                Check::SensorInAreas {
                    sensor_kinds: s?,
                    areas: a?,
                }
            }
            "sensor_at_doors" => {
                let s = self.sensor_kinds();
                let d = self.door_selector("doors");
                Check::SensorAtDoors {
                    sensor_kinds: s?,
                    doors: d?,
                }
            }
            "vault_dual_auth" => Check::VaultDualAuth,
            "backup_alarm_supplier" => Check::BackupAlarmSupplier,
            "dispatch_route" => Check::DispatchRoute,
            "inspection_interval" => Check::InspectionInterval {
                interval: self.interval()?,
            },
            "maintenance_interval" => {
                let i = self.interval();
                let a = self.boolean("approved_vendor");
                Check::MaintenanceInterval {
                    interval: i?,
                    approved_vendor: a?,
                }
            }
            "report_deadline" => {
                let event = self.named_param::<DeadlineEvent>(
                    "event",
                    "event",
                    "outage, vendor_change, incident_action",
                );
                let days = self.uint("due_calendar_days", true);
                Check::ReportDeadline {
                    event: event?,
                    due_calendar_days: days?,
                }
            }
            "repair_deadline" => Check::RepairDeadline {
                within_hours: self.uint("within_hours", true)?,
            },
            "power_backup" => {
                let h = self.uint("min_runtime_hours", true);
                let scope = self.named_param::<PowerScope>("scope", "scope", "video, all");
                Check::PowerBackup {
                    min_runtime_hours: h?,
                    scope: scope?,
                }
            }
            "attestation" => {
                let item = self.string("item", true);
                let per = self.string("per", true).and_then(|(s, at)| {
                    if s == "site" {
                        Some(Subjects::Site)
                    } else if s == "each" {
                        Some(Subjects::Each)
                    } else if let Some(sel) = s.strip_prefix("doors:") {
                        let d = door_selector_named(sel);
                        if d.is_none() {
                            let msg = format!("parameter `per` in {}: unknown door selector `{sel}`", self.ctx);
                            self.parser.issue(at, msg);
                        }
                        d.map(Subjects::Doors)
                    } else {
                        let msg = format!("parameter `per` in {}: expected \"site\", \"each\" or \"doors:SELECTOR\", found {s:?}", self.ctx);
                        self.parser.issue(at, msg);
                        None
                    }
                });
                let limits = self.limits();
                let required_text = self.string("required_text", false).map(|t| t.0);
                let choices = self
                    .strings("choices", false)
                    .map(|v| v.into_iter().map(|c| c.0).collect())
                    .unwrap_or_default();
                let max_age_days = self.uint("max_age_days", false);
                Check::Attestation {
                    item: item?.0,
                    per: per?,
                    limits: limits?,
                    required_text,
                    choices,
                    max_age_days,
                }
            }
            "counter_height" => {
                let a = self.milli("min_height_in");
                let b = self.milli("short_max_length_in");
                let c = self.milli("short_min_height_in");
                let d = self.milli("short_max_height_in");
                Check::CounterHeight {
                    min_height_milli_in: a?,
                    short_max_length_milli_in: b?,
                    short_min_height_milli_in: c?,
                    short_max_height_milli_in: d?,
                }
            }
            "vendor_approved" => {
                let role = self.string("role", true);
                let require =
                    self.named_param::<VendorProof>("require", "proof", "license, approval");
                Check::VendorApproved {
                    role: role?.0,
                    require: require?,
                }
            }
            "capability" => Check::Capability {
                capability: self.string("capability", true)?.0,
            },
            "recurring_activity" => {
                let a = self.string("activity", true);
                let i = self.interval();
                Check::RecurringActivity {
                    activity: a?.0,
                    interval: i?,
                }
            }
            _ => return None,
        })
    }
}

/// The door selector a pack names `name`.
fn door_selector_named(name: &str) -> Option<DoorSelector> {
    DOOR_SELECTORS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
}

fn type_of(v: Option<&Value<'_>>) -> &'static str {
    v.map_or("nothing", |v| v.get_ref().type_str())
}

fn int_of(v: &DeValue<'_>) -> Option<i64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok(),
        _ => None,
    }
}

fn milli_of(v: &DeValue<'_>) -> Option<i64> {
    match v {
        DeValue::Integer(_) => int_of(v).and_then(|i| i.checked_mul(1000)),
        DeValue::Float(f) => parse_decimal_milli(&f.as_str().replace('_', "")),
        _ => None,
    }
}
