//! The checks a decoded site file must pass: id syntax and uniqueness, references between its
//! parts (doors join declared areas, readers sit on declared doors, ...), time zone, dates,
//! operating hours, addresses and the like. Each problem carries the path of its field.
use std::collections::HashSet;

use super::SiteConfig;
use super::errors::PathPart::{self, Index as I, Key as K};

/// Problems found so far, each with the path of its field.
#[derive(Default)]
struct Problems(Vec<(Vec<PathPart>, String)>);

impl Problems {
    fn push(&mut self, path: Vec<PathPart>, message: impl Into<String>) {
        self.0.push((path, message.into()));
    }

    /// Records a problem at `path` unless `id` is a valid id.
    fn check_id(&mut self, path: Vec<PathPart>, id: &str) {
        if !valid_id(id) {
            self.push(
                path,
                format!("id {id:?} must be 1-64 characters of a-z, 0-9, '-' and '_'"),
            );
        }
    }

    /// Records the problem `message()` at `path` unless `declared` holds `reference`.
    fn check_declared(
        &mut self,
        declared: &HashSet<&str>,
        reference: &str,
        path: Vec<PathPart>,
        message: impl FnOnce() -> String,
    ) {
        if !declared.contains(reference) {
            self.push(path, message());
        }
    }
}

impl SiteConfig {
    /// Checks references and invariants; returns each problem with the path of its field.
    pub(super) fn validate(&self) -> Vec<(Vec<PathPart>, String)> {
        let mut out = Problems::default();
        self.check_site(&mut out);
        self.check_ids(&mut out);
        // In file order, so the problems are listed as they stand in the file.
        let declared = Declared::of(self);
        self.check_doors(&declared, &mut out);
        self.check_readers(&declared, &mut out);
        self.check_sensors(&declared, &mut out);
        self.check_panels(&mut out);
        self.check_cameras(&declared, &mut out);
        self.check_notify_and_policy(&declared, &mut out);
        out.0
    }

    /// The `[site]` table and the alarm receiver's address.
    fn check_site(&self, out: &mut Problems) {
        out.check_id(vec![K("site"), K("id")], &self.site.id);
        if self.site.name.trim().is_empty() {
            out.push(vec![K("site"), K("name")], "the site needs a name");
        }
        if jiff::tz::TimeZone::get(&self.site.timezone).is_err() {
            out.push(
                vec![K("site"), K("timezone")],
                format!(
                    "unknown time zone {:?}: expected an IANA name such as \"America/Chicago\"",
                    self.site.timezone
                ),
            );
        }
        for (key, value) in [
            ("operating_since", &self.site.operating_since),
            ("relocated_on", &self.site.relocated_on),
        ] {
            if let Some(v) = value
                && v.parse::<jiff::civil::Date>().is_err()
            {
                out.push(
                    vec![K("site"), K(key)],
                    format!("bad date {v:?}: expected YYYY-MM-DD"),
                );
            }
        }
        if let Some(r) = &self.alarm_receiver
            && r.listen.parse::<std::net::SocketAddr>().is_err()
        {
            out.push(
                vec![K("alarm_receiver"), K("listen")],
                format!(
                    "bad listen address {:?}: expected IP:PORT such as 0.0.0.0:9009",
                    r.listen
                ),
            );
        }
        for (day, span) in &self.site.operating_hours {
            if !matches!(
                day.as_str(),
                "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun"
            ) {
                out.push(
                    vec![K("site"), K("operating_hours")],
                    format!("unknown day {day:?}: expected mon, tue, wed, thu, fri, sat or sun"),
                );
            } else if parse_hours(span).is_none() {
                out.push(
                    vec![K("site"), K("operating_hours")],
                    format!("bad hours {span:?} for {day}: expected \"HH:MM-HH:MM\""),
                );
            }
        }
    }

    /// Ids: valid, and unique across every kind, so an id names one thing in events.
    fn check_ids(&self, out: &mut Problems) {
        let ids_by_table: [(&'static str, Vec<&str>); 6] = [
            ("area", self.areas.iter().map(|a| a.id.as_str()).collect()),
            ("door", self.doors.iter().map(|d| d.id.as_str()).collect()),
            (
                "reader",
                self.readers.iter().map(|r| r.id.as_str()).collect(),
            ),
            (
                "sensor",
                self.sensors.iter().map(|s| s.id.as_str()).collect(),
            ),
            ("panel", self.panels.iter().map(|p| p.id.as_str()).collect()),
            (
                "camera",
                self.cameras.iter().map(|c| c.id.as_str()).collect(),
            ),
        ];
        let mut seen: HashSet<&str> = HashSet::new();
        for (table, ids) in ids_by_table {
            for (i, id) in ids.into_iter().enumerate() {
                let path = vec![K(table), I(i), K("id")];
                if !seen.insert(id) {
                    out.push(
                        path.clone(),
                        format!("duplicate id {id:?}: every id in a site file must be unique"),
                    );
                }
                out.check_id(path, id);
            }
        }
    }

    /// Doors join two different declared areas and have a held-open limit.
    fn check_doors(&self, declared: &Declared<'_>, out: &mut Problems) {
        for (i, d) in self.doors.iter().enumerate() {
            for (key, area) in [("from", &d.from), ("to", &d.to)] {
                out.check_declared(&declared.areas, area, vec![K("door"), I(i), K(key)], || {
                    format!(
                        "door {:?} joins undeclared area {area:?}: a door must join two declared areas ({})",
                        d.id,
                        declared.area_list()
                    )
                });
            }
            if d.from == d.to {
                out.push(
                    vec![K("door"), I(i), K("to")],
                    format!(
                        "door {:?} joins area {:?} to itself: a door must join two different areas",
                        d.id, d.to
                    ),
                );
            }
            if d.held_open_limit_s == 0 {
                out.push(
                    vec![K("door"), I(i), K("held_open_limit_s")],
                    "held_open_limit_s must be at least 1 second",
                );
            }
        }
    }

    /// Readers sit on declared doors; their OSDP links are well formed.
    fn check_readers(&self, declared: &Declared<'_>, out: &mut Problems) {
        for (i, r) in self.readers.iter().enumerate() {
            out.check_declared(&declared.doors, &r.door, vec![K("reader"), I(i), K("door")], || {
                format!(
                    "reader {:?} sits on undeclared door {:?}: a reader must sit on a declared door",
                    r.id, r.door
                )
            });
            let Some(link) = &r.osdp else { continue };
            if link.address > 126 {
                out.push(
                    vec![K("reader"), I(i), K("osdp"), K("address")],
                    format!(
                        "OSDP address {} is out of range: expected 0-126",
                        link.address
                    ),
                );
            }
            let known_scheme = ["serial:", "pty:", "tcp:"]
                .iter()
                .any(|p| link.channel.starts_with(p) && link.channel.len() > p.len());
            if !known_scheme {
                out.push(
                    vec![K("reader"), I(i), K("osdp"), K("channel")],
                    format!(
                        "bad OSDP channel {:?}: expected serial:DEVICE, pty:PATH or tcp:HOST:PORT",
                        link.channel
                    ),
                );
            }
        }
    }

    /// Sensors are in declared areas and report through declared panels.
    fn check_sensors(&self, declared: &Declared<'_>, out: &mut Problems) {
        for (i, s) in self.sensors.iter().enumerate() {
            out.check_declared(
                &declared.areas,
                &s.area,
                vec![K("sensor"), I(i), K("area")],
                || format!("sensor {:?} is in undeclared area {:?}", s.id, s.area),
            );
            if let Some(p) = &s.panel {
                out.check_declared(
                    &declared.panels,
                    p,
                    vec![K("sensor"), I(i), K("panel")],
                    || format!("sensor {:?} reports through undeclared panel {p:?}", s.id),
                );
            }
        }
    }

    /// Panel accounts are DC-09 account numbers.
    fn check_panels(&self, out: &mut Problems) {
        for (i, p) in self.panels.iter().enumerate() {
            let hex_account = !p.account.is_empty()
                && p.account.len() <= 16
                && p.account.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex_account {
                out.push(
                    vec![K("panel"), I(i), K("account")],
                    format!(
                        "bad DC-09 account {:?}: expected 1-16 hex digits",
                        p.account
                    ),
                );
            }
        }
    }

    /// Cameras have credential-free RTSP URLs and cover declared areas and doors.
    fn check_cameras(&self, declared: &Declared<'_>, out: &mut Problems) {
        for (i, c) in self.cameras.iter().enumerate() {
            if !(c.rtsp_url.starts_with("rtsp://") || c.rtsp_url.starts_with("rtsps://")) {
                out.push(
                    vec![K("camera"), I(i), K("rtsp_url")],
                    format!(
                        "camera {:?}: rtsp_url must start with rtsp:// or rtsps://",
                        c.id
                    ),
                );
            }
            if c.rtsp_url.contains('@') {
                out.push(
                    vec![K("camera"), I(i), K("rtsp_url")],
                    format!(
                        "camera {:?}: put credentials in username/password_env, not in the URL",
                        c.id
                    ),
                );
            }
            for (j, a) in c.covers_areas.iter().enumerate() {
                let path = vec![K("camera"), I(i), K("covers_areas"), I(j)];
                out.check_declared(&declared.areas, a, path, || {
                    format!("camera {:?} covers undeclared area {a:?}", c.id)
                });
            }
            for (j, d) in c.covers_doors.iter().enumerate() {
                let path = vec![K("camera"), I(i), K("covers_doors"), I(j)];
                out.check_declared(&declared.doors, d, path, || {
                    format!("camera {:?} covers undeclared door {d:?}", c.id)
                });
            }
        }
    }

    /// Chains name declared contacts; lockdown roles are known roles.
    fn check_notify_and_policy(&self, declared: &Declared<'_>, out: &mut Problems) {
        for (i, chain) in self.notify.chains.iter().enumerate() {
            for (j, step) in chain.steps.iter().enumerate() {
                let path = vec![K("notify"), K("chain"), I(i), K("step"), I(j), K("contact")];
                out.check_declared(&declared.contacts, &step.contact, path, || {
                    format!(
                        "chain {:?} names undeclared contact {:?}",
                        chain.id, step.contact
                    )
                });
            }
        }
        for (i, role) in self.policy.lockdown_roles.iter().enumerate() {
            if role.parse::<crate::auth::Role>().is_err() {
                out.push(
                    vec![K("policy"), K("lockdown_roles"), I(i)],
                    format!("unknown role {role:?}"),
                );
            }
        }
    }
}

/// The ids other parts of the file may refer to.
struct Declared<'a> {
    areas: HashSet<&'a str>,
    doors: HashSet<&'a str>,
    panels: HashSet<&'a str>,
    contacts: HashSet<&'a str>,
}

impl<'a> Declared<'a> {
    fn of(config: &'a SiteConfig) -> Declared<'a> {
        Declared {
            areas: config.areas.iter().map(|a| a.id.as_str()).collect(),
            doors: config.doors.iter().map(|d| d.id.as_str()).collect(),
            panels: config.panels.iter().map(|p| p.id.as_str()).collect(),
            contacts: config
                .notify
                .contacts
                .iter()
                .map(|c| c.id.as_str())
                .collect(),
        }
    }

    /// The declared areas, sorted and comma-separated, for messages.
    fn area_list(&self) -> String {
        let mut v: Vec<&str> = self.areas.iter().copied().collect();
        v.sort();
        v.join(", ")
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
