//! Roles, permissions and the site scope of every check.
//!
//! The server never asks "is this an admin?": it asks [`Grants::allows`] for a [`Permission`] on a
//! site, and records a denial as a fact when the answer is no. Roles map to permission sets here, in
//! one table, so a review of who may do what is a review of [`Role::permissions`].
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A role a user holds on a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything, including users and configuration.
    Admin,
    /// Configures the site, people, credentials and devices; reads reports.
    SecurityManager,
    /// A dispensary agent (employee): sees their own activity, may raise a panic from the console.
    Agent,
    /// Watches live video and the alarm queue; acknowledges and resolves alarms.
    MonitoringOperator,
    /// Runs inspections, files reports, answers the regulator.
    ComplianceOfficer,
    /// Read-only: live and recorded video, logs, reports. Changes nothing.
    Regulator,
    /// Read-only: the journal and reports, for internal or external audit.
    Auditor,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::SecurityManager,
        Role::Agent,
        Role::MonitoringOperator,
        Role::ComplianceOfficer,
        Role::Regulator,
        Role::Auditor,
    ];

    /// The role's name in files, the CLI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SecurityManager => "security-manager",
            Role::Agent => "agent",
            Role::MonitoringOperator => "monitoring-operator",
            Role::ComplianceOfficer => "compliance-officer",
            Role::Regulator => "regulator",
            Role::Auditor => "auditor",
        }
    }

    /// The permissions this role grants on its site.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &Permission::ALL,
            Role::SecurityManager => &[
                SiteView,
                EventsView,
                ConfigManage,
                PeopleManage,
                CredentialsManage,
                DoorsControl,
                AlarmsView,
                AlarmsHandle,
                ArmingControl,
                VideoLive,
                VideoRecorded,
                VideoExport,
                HoldsManage,
                ReportsView,
                ComplianceManage,
                JournalView,
            ],
            Role::Agent => &[SiteView, PanicRaise],
            Role::MonitoringOperator => &[
                SiteView,
                EventsView,
                AlarmsView,
                AlarmsHandle,
                SilentAlarmsView,
                ArmingControl,
                VideoLive,
                VideoRecorded,
            ],
            Role::ComplianceOfficer => &[
                SiteView,
                EventsView,
                AlarmsView,
                VideoRecorded,
                VideoExport,
                HoldsManage,
                ReportsView,
                ComplianceManage,
                JournalView,
            ],
            Role::Regulator => &[
                SiteView,
                EventsView,
                AlarmsView,
                VideoLive,
                VideoRecorded,
                ReportsView,
                JournalView,
            ],
            Role::Auditor => &[SiteView, EventsView, ReportsView, JournalView],
        }
    }

    /// Whether the role may change anything at all.
    pub fn is_read_only(self) -> bool {
        self.permissions().iter().all(|p| !p.is_write())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for an unknown role name.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown role {0:?}: expected one of admin, security-manager, agent, monitoring-operator, compliance-officer, regulator, auditor"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// One thing a user may do on a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// See the site model (areas, doors, devices).
    SiteView,
    /// See the live event feed and event history.
    EventsView,
    /// Change the site configuration.
    ConfigManage,
    /// Add, change and remove users of Strongroom.
    UsersManage,
    /// Add and change people (agents, visitors, vendors).
    PeopleManage,
    /// Issue, suspend and revoke credentials.
    CredentialsManage,
    /// Unlock/lock doors, start a lockdown.
    DoorsControl,
    /// See the alarm queue (audible alarms).
    AlarmsView,
    /// See silent alarms (holdup, duress): monitoring roles only.
    SilentAlarmsView,
    /// Acknowledge and resolve alarms.
    AlarmsHandle,
    /// Arm and disarm partitions.
    ArmingControl,
    /// Raise a panic alarm from the console.
    PanicRaise,
    /// Watch live video.
    VideoLive,
    /// Watch recorded video and take stills.
    VideoRecorded,
    /// Export video and evidence bundles.
    VideoExport,
    /// Place and release legal holds.
    HoldsManage,
    /// Read reports.
    ReportsView,
    /// Record inspections, incidents, outages, vendors and attestations.
    ComplianceManage,
    /// Read and verify the journal.
    JournalView,
}

impl Permission {
    /// All permissions.
    pub const ALL: [Permission; 19] = [
        Permission::SiteView,
        Permission::EventsView,
        Permission::ConfigManage,
        Permission::UsersManage,
        Permission::PeopleManage,
        Permission::CredentialsManage,
        Permission::DoorsControl,
        Permission::AlarmsView,
        Permission::SilentAlarmsView,
        Permission::AlarmsHandle,
        Permission::ArmingControl,
        Permission::PanicRaise,
        Permission::VideoLive,
        Permission::VideoRecorded,
        Permission::VideoExport,
        Permission::HoldsManage,
        Permission::ReportsView,
        Permission::ComplianceManage,
        Permission::JournalView,
    ];

    /// Whether exercising the permission changes state.
    pub fn is_write(self) -> bool {
        !matches!(
            self,
            Permission::SiteView
                | Permission::EventsView
                | Permission::AlarmsView
                | Permission::SilentAlarmsView
                | Permission::VideoLive
                | Permission::VideoRecorded
                | Permission::ReportsView
                | Permission::JournalView
        )
    }

    /// The permission's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::SiteView => "site-view",
            Permission::EventsView => "events-view",
            Permission::ConfigManage => "config-manage",
            Permission::UsersManage => "users-manage",
            Permission::PeopleManage => "people-manage",
            Permission::CredentialsManage => "credentials-manage",
            Permission::DoorsControl => "doors-control",
            Permission::AlarmsView => "alarms-view",
            Permission::SilentAlarmsView => "silent-alarms-view",
            Permission::AlarmsHandle => "alarms-handle",
            Permission::ArmingControl => "arming-control",
            Permission::PanicRaise => "panic-raise",
            Permission::VideoLive => "video-live",
            Permission::VideoRecorded => "video-recorded",
            Permission::VideoExport => "video-export",
            Permission::HoldsManage => "holds-manage",
            Permission::ReportsView => "reports-view",
            Permission::ComplianceManage => "compliance-manage",
            Permission::JournalView => "journal-view",
        }
    }
}

/// One role on one site (`site_id = "*"` means every site the installation runs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleGrant {
    /// The site the role applies to, or `"*"`.
    pub site_id: String,
    /// The role.
    pub role: Role,
}

/// Everything a user holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// The user's role grants.
    pub grants: Vec<RoleGrant>,
}

impl Grants {
    /// Whether any grant gives `permission` on `site_id`.
    pub fn allows(&self, site_id: &str, permission: Permission) -> bool {
        self.grants.iter().any(|g| {
            (g.site_id == "*" || g.site_id == site_id) && g.role.permissions().contains(&permission)
        })
    }

    /// The roles held on `site_id`.
    pub fn roles_on(&self, site_id: &str) -> Vec<Role> {
        let mut roles: Vec<Role> = self
            .grants
            .iter()
            .filter(|g| g.site_id == "*" || g.site_id == site_id)
            .map(|g| g.role)
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regulator_and_auditor_are_read_only() {
        assert!(Role::Regulator.is_read_only());
        assert!(Role::Auditor.is_read_only());
        assert!(!Role::Admin.is_read_only());
        assert!(!Role::Agent.is_read_only());
    }

    #[test]
    fn silent_alarms_only_for_monitoring_and_admin() {
        let can: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.permissions().contains(&Permission::SilentAlarmsView))
            .collect();
        assert_eq!(can, vec![Role::Admin, Role::MonitoringOperator]);
    }

    /// One role at one site (or `"*"`, every site).
    fn single_grant(site_id: &str, role: Role) -> Grants {
        Grants {
            grants: vec![RoleGrant {
                site_id: site_id.into(),
                role,
            }],
        }
    }

    #[test]
    fn grants_are_site_scoped() {
        let g = single_grant("a", Role::SecurityManager);
        assert!(g.allows("a", Permission::ConfigManage));
        assert!(!g.allows("b", Permission::ConfigManage));
        assert!(!g.allows("a", Permission::UsersManage));
        let star = single_grant("*", Role::Regulator);
        assert!(star.allows("b", Permission::VideoLive));
        assert!(!star.allows("b", Permission::VideoExport));
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().ok(), Some(r));
        }
    }
}
