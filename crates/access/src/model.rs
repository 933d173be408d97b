//! The registry's vocabulary: people, credentials, schedules, vendors and secrets.
//!
//! These types appear in fact payloads (serialised with serde, snake_case names) and in
//! [`crate::AccessState`].
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of person a registry entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonCategory {
    /// A licensed dispensing-organization agent / employee (IL "agent", OH "employee").
    Agent,
    /// A visitor; enters secured areas only escorted by an agent.
    Visitor,
    /// A vendor; must be approved (IL 1291.300(h)) and escorted.
    Vendor,
    /// A service professional (IT, security, cleaning, transport); must be approved and escorted.
    ServiceProfessional,
    /// A law-enforcement officer.
    LawEnforcement,
}

impl PersonCategory {
    /// Whether entries into secured areas need an escorting agent (OH 3796:6-3-16(B)(1),
    /// OH 3796:3-2-05(A)(7)).
    pub fn needs_escort(self) -> bool {
        matches!(
            self,
            PersonCategory::Visitor | PersonCategory::Vendor | PersonCategory::ServiceProfessional
        )
    }
    /// Whether the person must be on the approved vendor list (IL 1291.300(h)).
    pub fn needs_vendor_approval(self) -> bool {
        matches!(
            self,
            PersonCategory::Vendor | PersonCategory::ServiceProfessional
        )
    }
    /// Whether the category may be given access to the surveillance room (IL 1291.300(e)(3):
    /// persons essential to surveillance operations, law enforcement, security-system service
    /// personnel; OH 3796:3-2-05(A)(4)(a)).
    pub fn may_enter_surveillance_room(self) -> bool {
        matches!(
            self,
            PersonCategory::Agent
                | PersonCategory::LawEnforcement
                | PersonCategory::ServiceProfessional
        )
    }
    /// Name as in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonCategory::Agent => "agent",
            PersonCategory::Visitor => "visitor",
            PersonCategory::Vendor => "vendor",
            PersonCategory::ServiceProfessional => "service_professional",
            PersonCategory::LawEnforcement => "law_enforcement",
        }
    }
}

impl fmt::Display for PersonCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    /// May use their credentials.
    Active,
    /// Temporarily barred; credentials keep their own status and work again on reactivation.
    Suspended,
    /// Final: every credential was revoked when this was recorded.
    Terminated,
}

impl PersonStatus {
    /// Name as in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonStatus::Active => "active",
            PersonStatus::Suspended => "suspended",
            PersonStatus::Terminated => "terminated",
        }
    }
}

/// What a credential consists of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A card (or fob) number.
    Card,
    /// A PIN typed at a keypad.
    Pin,
    /// A card that must be followed by its PIN.
    CardPin,
    /// The person's duress PIN: accepted wherever their PIN is, and silently raises `alarm.duress`.
    DuressPin,
}

impl CredentialKind {
    /// Whether it has a card number.
    pub fn has_card(self) -> bool {
        matches!(self, CredentialKind::Card | CredentialKind::CardPin)
    }
    /// Whether it has a PIN.
    pub fn has_pin(self) -> bool {
        !matches!(self, CredentialKind::Card)
    }
}

/// A credential's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    /// Usable.
    Active,
    /// Temporarily unusable; may be reinstated.
    Suspended,
    /// Past its expiry; final (issue a new one).
    Expired,
    /// Final. Its card number and PIN may be issued again later.
    Revoked,
}

impl CredentialStatus {
    /// Whether the credential still holds its card number and PIN against reissue.
    pub fn holds_secrets(self) -> bool {
        !matches!(self, CredentialStatus::Revoked)
    }
}

/// A day of the week, in the site's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    /// 0 for Monday .. 6 for Sunday.
    pub fn index(self) -> usize {
        self as usize
    }
    /// The day before.
    pub fn previous(self) -> Weekday {
        Weekday::ALL[(self.index() + 6) % 7]
    }
    /// From jiff's weekday.
    pub fn from_jiff(w: jiff::civil::Weekday) -> Weekday {
        Weekday::ALL[usize::from(w.to_monday_zero_offset().unsigned_abs())]
    }
    /// The three-letter key used in site files (`mon`).
    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }
}

/// A weekly window in local wall-clock time. `end_min < start_min` means the window runs past
/// midnight into the next day (it belongs to the day it starts on); `start_min == end_min` means the
/// whole day from that minute to the same minute the next day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    /// The days the window starts on.
    pub days: Vec<Weekday>,
    /// Minute of the day it starts (0..1440).
    pub start_min: u16,
    /// Minute of the day it ends, exclusive (0..=1440).
    pub end_min: u16,
}

impl Window {
    /// A window from `"HH:MM"` to `"HH:MM"` on `days`.
    pub fn parse(days: &[Weekday], start: &str, end: &str) -> Option<Window> {
        let hm = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
        };
        let w = Window {
            days: days.to_vec(),
            start_min: hm(start)?,
            end_min: hm(end)?,
        };
        w.is_valid().then_some(w)
    }

    /// Whether the minutes are in range and at least one day is named.
    pub fn is_valid(&self) -> bool {
        !self.days.is_empty() && self.start_min < 1440 && self.end_min <= 1440
    }

    /// Whether local `weekday` at `minute` (0..1440) falls inside the window.
    pub fn contains(&self, weekday: Weekday, minute: u16) -> bool {
        let on = |d: Weekday| self.days.contains(&d);
        if self.start_min < self.end_min {
            on(weekday) && minute >= self.start_min && minute < self.end_min
        } else {
            // Runs past midnight (or a full 24 h when start == end).
            (on(weekday) && minute >= self.start_min)
                || (on(weekday.previous()) && minute < self.end_min)
        }
    }
}

/// When an area authorization applies, evaluated in the site's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// At all times.
    Always,
    /// While the site is open (`site.operating_hours`).
    OperatingHours,
    /// While the site is closed.
    AfterHours,
    /// Inside any of these weekly windows.
    Windows {
        /// The windows.
        windows: Vec<Window>,
    },
}

impl Schedule {
    /// Whether every window is valid.
    pub fn is_valid(&self) -> bool {
        match self {
            Schedule::Windows { windows } => {
                !windows.is_empty() && windows.iter().all(Window::is_valid)
            }
            _ => true,
        }
    }
}

/// A vendor's or service professional's place on the approved vendor list (IL 1291.300(h)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorStatus {
    /// Submitted, not yet approved by the regulator.
    Pending,
    /// Approved; the approval reference is recorded.
    Approved,
    /// Taken off the list.
    Removed,
}

/// What a registered secret opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// A vault door code.
    VaultCode,
    /// A vault (mechanical) combination.
    VaultCombination,
    /// A safe combination or code.
    SafeCombination,
    /// An alarm-panel user code.
    AlarmCode,
    /// A password or other security measure.
    Other,
}

impl SecretKind {
    /// Whether the secret opens a vault or safe (the "who knows vault codes" report,
    /// OH 3796:6-3-16(B)(9)).
    pub fn opens_vault(self) -> bool {
        matches!(
            self,
            SecretKind::VaultCode | SecretKind::VaultCombination | SecretKind::SafeCombination
        )
    }
}

/// How a person authenticated at a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// Card only.
    #[serde(rename = "card")]
    Card,
    /// PIN only.
    #[serde(rename = "pin")]
    Pin,
    /// Card followed by PIN.
    #[serde(rename = "card+pin")]
    CardPin,
    /// An emergency override by an approver (IL 1291.300(h)).
    #[serde(rename = "emergency_override")]
    EmergencyOverride,
    /// A staff release from the console (AC-01).
    #[serde(rename = "staff_release")]
    StaffRelease,
}

impl Method {
    /// Whether a PIN was verified.
    pub fn used_pin(self) -> bool {
        matches!(self, Method::Pin | Method::CardPin)
    }
    /// Name as in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Card => "card",
            Method::Pin => "pin",
            Method::CardPin => "card+pin",
            Method::EmergencyOverride => "emergency_override",
            Method::StaffRelease => "staff_release",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overnight_window() {
        let w = Window::parse(&[Weekday::Fri], "22:00", "06:00").expect("window");
        assert!(w.contains(Weekday::Fri, 22 * 60));
        assert!(w.contains(Weekday::Sat, 5 * 60 + 59));
        assert!(!w.contains(Weekday::Sat, 6 * 60));
        assert!(!w.contains(Weekday::Fri, 5 * 60));
        assert!(!w.contains(Weekday::Sat, 22 * 60));
        let day = Window::parse(&[Weekday::Mon], "09:00", "17:00").expect("window");
        assert!(day.contains(Weekday::Mon, 9 * 60));
        assert!(!day.contains(Weekday::Mon, 17 * 60));
        assert!(Window::parse(&[], "09:00", "17:00").is_none());
        assert!(Window::parse(&[Weekday::Mon], "25:00", "17:00").is_none());
        let full = Window::parse(&[Weekday::Sun], "00:00", "24:00").expect("window");
        assert!(full.contains(Weekday::Sun, 1439));
        assert!(!full.contains(Weekday::Mon, 0));
    }

    #[test]
    fn weekday_from_jiff() {
        assert_eq!(
            Weekday::from_jiff(jiff::civil::Weekday::Monday),
            Weekday::Mon
        );
        assert_eq!(
            Weekday::from_jiff(jiff::civil::Weekday::Sunday),
            Weekday::Sun
        );
        assert_eq!(Weekday::Mon.previous(), Weekday::Sun);
    }

    #[test]
    fn schedule_serialises_tagged() {
        let s = Schedule::Windows {
            windows: vec![Window::parse(&[Weekday::Mon], "22:00", "06:00").expect("w")],
        };
        let v = serde_json::to_value(&s).expect("json");
        assert_eq!(v["type"], "windows");
        assert_eq!(v["windows"][0]["start_min"], 1320);
        assert_eq!(serde_json::from_value::<Schedule>(v).ok(), Some(s));
        assert_eq!(
            serde_json::to_value(Schedule::Always).expect("json"),
            serde_json::json!({"type": "always"})
        );
    }
}
