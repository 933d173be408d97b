//! Check kinds answered by the records of suppliers and of the platform itself: the back-up alarm
//! supplier, vendor licences and approvals, and capabilities the server reports in service.
use super::Status;
use super::context::{Ctx, Outcome};
use crate::pack::{VendorProof, enum_name};
use crate::records::VendorStatus;

/// A back-up alarm system from a different company, with the regulator's approval reference.
pub(super) fn backup_alarm_supplier(ctx: &Ctx<'_>) -> Outcome {
    let s = &ctx.records.alarm_suppliers;
    let mut o = Outcome::new();
    match (&s.primary, &s.backup) {
        (None, _) => o.fail_on("alarm", "no primary alarm supplier recorded".into()),
        (_, None) => o.fail_on("alarm", "no back-up alarm system recorded".into()),
        (Some(p), Some(b)) => {
            let norm = |x: &str| x.trim().to_lowercase();
            if norm(&p.company_id).is_empty() || norm(&b.company_id).is_empty() {
                o.fail_on(
                    "alarm",
                    "supplier company ids are missing, so the suppliers cannot be compared".into(),
                );
            } else if norm(&p.company_id) == norm(&b.company_id) {
                o.fail_on(
                    "alarm",
                    format!(
                        "primary and back-up supplier are the same company ({} / {})",
                        p.name, b.name
                    ),
                );
            } else {
                o.ev(format!(
                    "primary {} ({}), back-up {} ({})",
                    p.name, p.company_id, b.name, b.company_id
                ));
            }
        }
    }
    match &s.backup_approval_ref {
        Some(r) if !r.trim().is_empty() => o.ev(format!("back-up approval {r}")),
        _ => o.fail_on(
            "alarm",
            "no department approval reference for the back-up system".into(),
        ),
    }
    o.finish(
        "back-up alarm from a different, approved supplier".into(),
        |_| "back-up alarm requirement not met".into(),
    )
}

/// Every vendor in the role (not removed) holds the license or approval required.
pub(super) fn vendor_approved(ctx: &Ctx<'_>, role: &str, require: &VendorProof) -> Outcome {
    let mut o = Outcome::new();
    let vendors: Vec<_> = ctx
        .records
        .vendors
        .iter()
        .filter(|v| v.status != VendorStatus::Removed && v.roles.iter().any(|r| r == role))
        .collect();
    if vendors.is_empty() {
        return Outcome::with(
            Status::Fail,
            format!("no vendor recorded in the role `{role}`"),
        );
    }
    for v in vendors {
        o.records.push(v.id.clone());
        let ok = match require {
            VendorProof::License => v
                .license_number
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty()),
            VendorProof::Approval => {
                v.status == VendorStatus::Approved
                    && v.approval_ref
                        .as_deref()
                        .is_some_and(|s| !s.trim().is_empty())
            }
        };
        if ok {
            o.ev(format!(
                "{} ({}): {} on record",
                v.id,
                v.company,
                enum_name(require)
            ));
        } else {
            o.fail_on(
                &v.id,
                format!(
                    "{} ({}): no {} on record",
                    v.id,
                    v.company,
                    enum_name(require)
                ),
            );
        }
    }
    o.finish(
        format!("every `{role}` vendor holds the {}", enum_name(require)),
        |n| format!("{n} `{role}` vendor(s) lack the {}", enum_name(require)),
    )
}

/// The server reports the platform capability in service.
pub(super) fn capability(ctx: &Ctx<'_>, capability: &str) -> Outcome {
    if ctx.records.capabilities.iter().any(|c| c == capability) {
        Outcome::with(
            Status::Pass,
            format!("server reports `{capability}` in service"),
        )
    } else {
        let mut o = Outcome::with(
            Status::Fail,
            format!("server does not report `{capability}` in service"),
        );
        o.devices.push(capability.to_owned());
        o
    }
}
