//! Marker types naming the permission an operation needs: `Authorized<perm::VideoExport>`.
//!
//! One marker per [`Permission`] variant, with the same name, so the permission an operation
//! checks is written once, in its signature.
use strongroom_domain::auth::Permission;

/// A marker type that names one permission.
pub trait Needs: Send + Sync + 'static {
    /// The permission.
    const PERMISSION: Permission;
}

macro_rules! markers {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("Needs [`Permission::", stringify!($name), "`].")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Needs for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )*
        /// Every marker's permission (a test checks this covers `Permission::ALL`).
        #[cfg(test)]
        const MARKED: &[Permission] = &[$(Permission::$name),*];
    };
}

markers!(
    SiteView,
    EventsView,
    ConfigManage,
    UsersManage,
    PeopleManage,
    CredentialsManage,
    DoorsControl,
    AlarmsView,
    SilentAlarmsView,
    AlarmsHandle,
    ArmingControl,
    PanicRaise,
    VideoLive,
    VideoRecorded,
    VideoExport,
    HoldsManage,
    ReportsView,
    ComplianceManage,
    JournalView,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_a_marker() {
        for p in Permission::ALL {
            assert!(MARKED.contains(&p), "no marker for {}", p.as_str());
        }
    }
}
