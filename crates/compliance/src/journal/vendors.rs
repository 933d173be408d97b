//! Vendors and vendor-list changes from the access subsystem's registry facts (`person.added`,
//! `person.updated`, `vendor.approved`, `vendor.removed`) and the submissions of the changes to
//! the regulator (`vendor.change_submitted`). A change's id is `vc-SEQ` of the fact that made it.
use strongroom_domain::Fact;

use super::payload::{int, opt_text, text, texts};
use crate::facts::kinds;
use crate::records::{ChangeKind, Vendor, VendorChange, VendorStatus};

/// The vendors (people of category `vendor` or `service_professional`) and the changes of the
/// vendor list, from `facts` in journal order.
pub fn vendors_of(facts: &[(u64, Fact)]) -> (Vec<Vendor>, Vec<VendorChange>) {
    let mut vendors: Vec<Vendor> = Vec::new();
    let mut changes: Vec<VendorChange> = Vec::new();
    for (seq, f) in facts {
        let p = &f.payload;
        let person = text(p, "person");
        let change = |kind: ChangeKind, detail: String| VendorChange {
            id: format!("vc-{seq}"),
            vendor_id: person.clone(),
            change: kind,
            time_ms: f.time_ms,
            detail,
            submitted_ms: None,
        };
        match f.kind.as_str() {
            "person.added" => {
                let cat = text(p, "category");
                if cat != "vendor" && cat != "service_professional" {
                    continue;
                }
                vendors.push(Vendor {
                    id: person.clone(),
                    name: text(p, "name"),
                    company: text(p, "company"),
                    contact: text(p, "contact"),
                    service: text(p, "service_type"),
                    roles: texts(p, "roles"),
                    status: VendorStatus::Pending,
                    approval_ref: None,
                    license_number: None,
                });
                changes.push(change(
                    ChangeKind::Added,
                    format!("{} ({}) added", text(p, "name"), text(p, "company")),
                ));
            }
            "person.updated" => {
                let Some(v) = vendors.iter_mut().find(|v| v.id == person) else {
                    continue;
                };
                if let Some(n) = opt_text(p, "name") {
                    v.name = n;
                }
                if p.contains_key("roles") {
                    v.roles = texts(p, "roles");
                }
                changes.push(change(ChangeKind::Changed, "details changed".into()));
            }
            "vendor.approved" => {
                if let Some(v) = vendors.iter_mut().find(|v| v.id == person) {
                    v.status = VendorStatus::Approved;
                    v.approval_ref = opt_text(p, "approval_ref");
                }
            }
            "vendor.removed" => {
                if let Some(v) = vendors.iter_mut().find(|v| v.id == person) {
                    v.status = VendorStatus::Removed;
                }
                changes.push(change(
                    ChangeKind::Removed,
                    format!("removed: {}", text(p, "reason")),
                ));
            }
            kinds::VENDOR_CHANGE_SUBMITTED => {
                let id = text(p, "change_id");
                if let Some(c) = changes.iter_mut().find(|c| c.id == id) {
                    c.submitted_ms = Some(int(p, "submitted_ms").unwrap_or(f.time_ms));
                }
            }
            _ => {}
        }
    }
    (vendors, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_domain::Actor;

    #[test]
    fn vendor_changes_from_access_facts() {
        let f = vec![
            (
                3,
                Fact::new("person.added", Actor::System, 10)
                    .with("person", "v1")
                    .with("category", "vendor")
                    .with("name", "Ann")
                    .with("company", "Locks Inc"),
            ),
            (
                4,
                Fact::new("person.added", Actor::System, 11)
                    .with("person", "a1")
                    .with("category", "agent"),
            ),
            (
                5,
                Fact::new("vendor.approved", Actor::System, 12)
                    .with("person", "v1")
                    .with("approval_ref", "IDFPR-1"),
            ),
            (
                6,
                Fact::new("vendor.removed", Actor::System, 13)
                    .with("person", "v1")
                    .with("reason", "contract ended"),
            ),
            (
                7,
                Fact::new(kinds::VENDOR_CHANGE_SUBMITTED, Actor::System, 14)
                    .with("change_id", "vc-3"),
            ),
        ];
        let (v, c) = vendors_of(&f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].status, VendorStatus::Removed);
        assert_eq!(v[0].approval_ref.as_deref(), Some("IDFPR-1"));
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].submitted_ms, Some(14));
        assert_eq!(c[1].change, ChangeKind::Removed);
        assert_eq!(c[1].submitted_ms, None);
    }
}
