//! The jurisdictions Strongroom ships rule packs for, and the few parameters the core needs before
//! the compliance engine loads a full pack (retention days, minimum recorded frame rate,
//! failure-notification limit). The full parameter tables live in the rule packs (data files).
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A supported jurisdiction / license type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Jurisdiction {
    /// Illinois adult-use dispensing organization, 68 Ill. Adm. Code 1291.300.
    IlDispensary,
    /// Ohio medical dispensary, OAC 3796:6-3-16.
    OhDispensary,
    /// Ohio processor, OAC 3796:3-2-05.
    OhProcessor,
}

impl Jurisdiction {
    /// All supported jurisdictions.
    pub const ALL: [Jurisdiction; 3] = [
        Jurisdiction::IlDispensary,
        Jurisdiction::OhDispensary,
        Jurisdiction::OhProcessor,
    ];

    /// The identifier used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Jurisdiction::IlDispensary => "il-dispensary",
            Jurisdiction::OhDispensary => "oh-dispensary",
            Jurisdiction::OhProcessor => "oh-processor",
        }
    }

    /// Minimum days recordings are kept (IL 1291.300(e)(1)(J): 90 days; OH 3796:6-3-16(E)(4): six
    /// months, taken as 183 calendar days; OH 3796:3-2-05(B)(4): 45 days).
    pub fn retention_days(self) -> u32 {
        match self {
            Jurisdiction::IlDispensary => 90,
            Jurisdiction::OhDispensary => 183,
            Jurisdiction::OhProcessor => 45,
        }
    }

    /// Whether releasing a legal hold needs a recorded regulator approval reference
    /// (IL 1291.300(e)(1)(J)).
    pub fn hold_release_needs_approval(self) -> bool {
        matches!(self, Jurisdiction::IlDispensary)
    }

    /// The law's limit, in seconds, from a surveillance failure to notification (5 minutes in IL and
    /// OH-D).
    pub fn failure_notification_limit_s(self) -> u32 {
        300
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for an unknown jurisdiction name.
#[derive(Debug, thiserror::Error)]
#[error("unknown jurisdiction {0:?}: expected one of il-dispensary, oh-dispensary, oh-processor")]
pub struct UnknownJurisdiction(pub String);

impl FromStr for Jurisdiction {
    type Err = UnknownJurisdiction;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Jurisdiction::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| UnknownJurisdiction(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for j in Jurisdiction::ALL {
            assert_eq!(j.as_str().parse::<Jurisdiction>().ok(), Some(j));
        }
        assert!("ca-dispensary".parse::<Jurisdiction>().is_err());
    }
}
