//! Tests for every check kind (pass and fail), exemptions, practice items and the demo site.
use super::*;
use crate::pack::check_pack;
use crate::records::*;
use crate::test_support::{ms, now};
use strongroom_domain::site::{Channel, DEMO_SITE_TOML, SiteConfig};

const DAY_MS: i64 = 86_400_000;

fn demo() -> SiteConfig {
    SiteConfig::parse("demo.toml", DEMO_SITE_TOML).expect("demo site")
}

fn site_with(from: &str, to: &str) -> SiteConfig {
    let text = DEMO_SITE_TOML.replacen(from, to, 1);
    assert_ne!(text, DEMO_SITE_TOML, "replacement {from:?} not found");
    SiteConfig::parse("demo.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

/// A one-requirement pack with the given check lines.
fn pack(basis: &str, body: &str) -> Pack {
    let text = format!(
        "[pack]\nid = \"t\"\njurisdiction = \"t\"\ntitle = \"T\"\nlaw = \"L\"\nsource = \"S\"\neffective = \"2024-01-01\"\nregulator = \"R\"\n\n[[requirement]]\nid = \"T-01\"\ncitation = \"T 1(a)\"\ntitle = \"t\"\nbasis = \"{basis}\"\n{body}\n"
    );
    check_pack("t.toml", &text).unwrap_or_else(|e| panic!("{}", crate::pack::PackErrors(e)))
}

fn eval(body: &str, site: &SiteConfig, records: &Records) -> Finding {
    let p = pack("law", body);
    let mut f = evaluate(&p, site, records, now());
    assert_eq!(f.len(), 1);
    let f = f.remove(0);
    assert_eq!(f.citation, "T 1(a)");
    assert!(!f.remedy.is_empty());
    f
}

fn cam(id: &str) -> CameraMeasurement {
    CameraMeasurement {
        camera_id: id.into(),
        time_ms: now() - 60_000,
        ..CameraMeasurement::default()
    }
}

fn all_cams(f: impl Fn(&mut CameraMeasurement)) -> Vec<CameraMeasurement> {
    ["cam-front", "cam-pos", "cam-vault", "cam-parking"]
        .iter()
        .map(|id| {
            let mut m = cam(id);
            f(&mut m);
            m
        })
        .collect()
}

#[test]
fn camera_at_doors() {
    let body = "check = \"camera_at_doors\"\ndoors = \"exterior\"\npurpose = \"face\"";
    let f = eval(body, &demo(), &Records::default());
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(f.devices, vec!["delivery".to_owned()]);
    let mut r = Records::default();
    let mut m = cam("cam-parking");
    m.extra_purposes = vec!["face".into()];
    r.cameras.push(m);
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
    let none = eval(
        "check = \"camera_at_doors\"\ndoors = \"public_entrance\"\npurpose = \"height_strip\"",
        &demo(),
        &r,
    );
    assert_eq!(
        none.status,
        Status::Fail,
        "front door opens into the public lobby: {none:?}"
    );
}

#[test]
fn camera_on_areas_with_exemptions() {
    let body = "check = \"camera_on_areas\"\narea_kinds = [\"all\"]";
    let f = eval(body, &demo(), &Records::default());
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.devices, vec!["back".to_owned(), "cctv".to_owned()]);
    let mut r = Records::default();
    r.coverage_exemptions.push(CoverageExemption {
        area_id: "back".into(),
        legal_reason: "restroom".into(),
        approver: String::new(),
    });
    r.coverage_exemptions.push(CoverageExemption {
        area_id: "cctv".into(),
        legal_reason: "none".into(),
        approver: "Ann".into(),
    });
    assert_eq!(
        eval(body, &demo(), &r).devices,
        vec!["back".to_owned()],
        "an exemption needs an approver"
    );
    r.coverage_exemptions[0].approver = "Ann".into();
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
    let pos = eval(
        "check = \"camera_on_areas\"\narea_kinds = [\"point_of_sale\"]\npurpose = \"point_of_sale\"",
        &demo(),
        &Records::default(),
    );
    assert_eq!(pos.status, Status::Pass);
}

#[test]
fn frame_rate_recorded_and_capable() {
    let body = "check = \"frame_rate\"\nmin_fps = 8\nmeasure = \"recorded\"";
    assert_eq!(
        eval(body, &demo(), &Records::default()).status,
        Status::Fail
    );
    let mut r = Records {
        cameras: all_cams(|m| m.recorded_fps_milli = Some(8_000)),
        ..Records::default()
    };
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
    r.cameras[1].recorded_fps_milli = Some(7_999);
    let f = eval(body, &demo(), &r);
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.devices, vec!["cam-pos".to_owned()]);
    assert!(
        f.evidence.iter().any(|e| e.contains("7.999 fps < 8")),
        "{f:?}"
    );
    let cap = "check = \"frame_rate\"\nmin_fps = 30\nmeasure = \"capable\"";
    assert_eq!(
        eval(cap, &demo(), &Records::default()).status,
        Status::Pass,
        "site file says capable_fps = 30"
    );
    let r = Records {
        cameras: vec![CameraMeasurement {
            capable_fps: Some(25),
            ..cam("cam-vault")
        }],
        ..Records::default()
    };
    assert_eq!(eval(cap, &demo(), &r).devices, vec!["cam-vault".to_owned()]);
}

#[test]
fn face_pixels() {
    let body = "check = \"face_pixels\"\nmin_face_pixels = 80";
    let mut r = Records {
        cameras: all_cams(|m| m.face_pixels = Some(80)),
        ..Records::default()
    };
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
    r.cameras[0].face_pixels = Some(79);
    let f = eval(body, &demo(), &r);
    assert_eq!(
        (f.status, f.devices),
        (Status::Fail, vec!["cam-front".to_owned()])
    );
}

#[test]
fn resolution_recording_mode_clock() {
    let body = "check = \"resolution\"\nmin_width_px = 720\nmin_height_px = 480";
    let mut r = Records {
        cameras: all_cams(|m| {
            m.width_px = Some(720);
            m.height_px = Some(576);
            m.clock_offset_ms = Some(-900);
        }),
        ..Records::default()
    };
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
    r.cameras[3].height_px = Some(240);
    assert_eq!(
        eval(body, &demo(), &r).devices,
        vec!["cam-parking".to_owned()]
    );

    let modes = "check = \"recording_mode\"\nallowed_modes = [\"continuous\"]";
    assert_eq!(eval(modes, &demo(), &r).status, Status::Pass);
    r.cameras[2].recording_mode = Some(strongroom_domain::site::RecordingMode::Motion);
    assert_eq!(
        eval(modes, &demo(), &r).devices,
        vec!["cam-vault".to_owned()]
    );

    let clock = "check = \"clock_sync\"\nmax_offset_ms = 1000";
    assert_eq!(eval(clock, &demo(), &r).status, Status::Pass);
    r.cameras[0].clock_offset_ms = Some(30_000);
    assert_eq!(
        eval(clock, &demo(), &r).devices,
        vec!["cam-front".to_owned()]
    );
}

#[test]
fn retention_counts_site_age() {
    let body = "check = \"retention\"\nretention_days = 90";
    let mut r = Records {
        cameras: all_cams(|m| m.recorded_days_available = Some(90)),
        ..Records::default()
    };
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
    r.cameras[0].recorded_days_available = Some(89);
    assert_eq!(eval(body, &demo(), &r).status, Status::Fail);
    r.site.operating_since = Some(jiff::civil::date(2025, 6, 5));
    r.cameras = all_cams(|m| m.recorded_days_available = Some(10));
    assert_eq!(
        eval(body, &demo(), &r).status,
        Status::Pass,
        "a 10-day-old site needs 10 days"
    );
}

#[test]
fn failure_notification_channels() {
    let il = "check = \"failure_notification\"\nwithin_minutes = 5\nallowed_channels = [\"sms\", \"voice\"]\nemail_alone_allowed = false";
    let oh = "check = \"failure_notification\"\nwithin_minutes = 5\nallowed_channels = [\"sms\", \"voice\", \"email\"]\nemail_alone_allowed = true";
    let f = eval(il, &demo(), &Records::default());
    assert_eq!(f.status, Status::Fail, "no SMS provider configured: {f:?}");
    let mut r = Records {
        channels_configured: vec![Channel::Sms],
        ..Records::default()
    };
    assert_eq!(eval(il, &demo(), &r).status, Status::Pass);
    // A chain that only emails: allowed in Ohio, not in Illinois.
    let email_only = site_with(
        "  { contact = \"manager\", channel = \"sms\", after_s = 0 },\n  { contact = \"owner\", channel = \"sms\", after_s = 120 },",
        "  { contact = \"manager\", channel = \"email\", after_s = 0 },",
    );
    r.channels_configured = vec![Channel::Email, Channel::Sms];
    assert_eq!(eval(il, &email_only, &r).status, Status::Fail);
    assert_eq!(eval(oh, &email_only, &r).status, Status::Pass);
    // Too late: the only step fires after 6 minutes.
    let late = site_with(
        "  { contact = \"manager\", channel = \"sms\", after_s = 0 },\n  { contact = \"owner\", channel = \"sms\", after_s = 120 },",
        "  { contact = \"manager\", channel = \"sms\", after_s = 360 },",
    );
    assert_eq!(eval(il, &late, &r).status, Status::Fail);
}

#[test]
fn electronic_locks_and_sensors() {
    let locks = "check = \"electronic_locks\"\narea_kinds = [\"limited_access\", \"restricted_access\", \"vault\"]";
    assert_eq!(
        eval(locks, &demo(), &Records::default()).status,
        Status::Pass
    );
    let mech = site_with(
        "to = \"vault\"\n",
        "to = \"vault\"\nlock = \"mechanical\"\n",
    );
    assert_eq!(
        eval(locks, &mech, &Records::default()).devices,
        vec!["vault-door".to_owned()]
    );

    let wall =
        "check = \"sensor_in_areas\"\nsensor_kinds = [\"vault_wall\"]\narea_kinds = [\"vault\"]";
    assert_eq!(
        eval(wall, &demo(), &Records::default()).status,
        Status::Pass
    );
    let duress = "check = \"sensor_in_areas\"\nsensor_kinds = [\"duress\"]\narea_kinds = [\"point_of_sale\"]";
    assert_eq!(
        eval(duress, &demo(), &Records::default()).devices,
        vec!["pos".to_owned()]
    );

    let perim =
        "check = \"sensor_at_doors\"\nsensor_kinds = [\"perimeter_entry\"]\ndoors = \"exterior\"";
    assert_eq!(
        eval(perim, &demo(), &Records::default()).status,
        Status::Pass
    );
    let no_delivery = site_with(
        "kind = \"perimeter_entry\"\narea = \"back\"",
        "kind = \"motion\"\narea = \"back\"",
    );
    assert_eq!(
        eval(perim, &no_delivery, &Records::default()).devices,
        vec!["delivery".to_owned()]
    );
}

#[test]
fn vault_dual_auth_backup_supplier_dispatch() {
    let body = "check = \"vault_dual_auth\"";
    assert_eq!(
        eval(body, &demo(), &Records::default()).status,
        Status::Fail
    );
    let r = Records {
        vault_dual_auth_configured: true,
        ..Records::default()
    };
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
    let no_keypad = site_with(
        "name = \"Vault reader\"\ndoor = \"vault-door\"\nkeypad = true",
        "name = \"Vault reader\"\ndoor = \"vault-door\"",
    );
    assert_eq!(eval(body, &no_keypad, &r).status, Status::Fail);

    let b = "check = \"backup_alarm_supplier\"";
    let mut r = Records::default();
    r.alarm_suppliers.primary = Some(Supplier {
        company_id: "US-123".into(),
        name: "Acme".into(),
    });
    r.alarm_suppliers.backup = Some(Supplier {
        company_id: " us-123 ".into(),
        name: "Acme Backup".into(),
    });
    r.alarm_suppliers.backup_approval_ref = Some("DOC-9".into());
    let f = eval(b, &demo(), &r);
    assert_eq!(
        f.status,
        Status::Fail,
        "same company id, different name (§22 ALM-08)"
    );
    r.alarm_suppliers.backup = Some(Supplier {
        company_id: "US-456".into(),
        name: "Beta".into(),
    });
    assert_eq!(eval(b, &demo(), &r).status, Status::Pass);
    r.alarm_suppliers.backup_approval_ref = None;
    assert_eq!(eval(b, &demo(), &r).status, Status::Fail);

    let d = "check = \"dispatch_route\"";
    assert_eq!(eval(d, &demo(), &Records::default()).status, Status::Fail);
    let cs = site_with(
        "[policy]",
        "[central_station]\nprimary = \"127.0.0.1:9000\"\naccount = \"1234\"\n\n[policy]",
    );
    assert_eq!(eval(d, &cs, &Records::default()).status, Status::Pass);
}

fn inspect_all(site: &SiteConfig, time_ms: i64) -> Vec<Inspection> {
    crate::schedule::inspectable_devices(site)
        .into_iter()
        .map(|d| Inspection {
            id: format!("i-{d}"),
            device_id: d.into(),
            time_ms,
            by: "tech".into(),
            passed: true,
            notes: String::new(),
        })
        .collect()
}

#[test]
fn inspection_and_maintenance_intervals() {
    let il = "check = \"inspection_interval\"\ninterval_months = 1\ninterval_days = 30";
    let f = eval(il, &demo(), &Records::default());
    assert_eq!(f.status, Status::Fail, "never inspected");
    assert!(f.evidence.iter().all(|e| e.contains("never done")));
    let mut r = Records {
        inspections: inspect_all(&demo(), ms("2025-05-20T10:00")),
        ..Records::default()
    };
    assert_eq!(eval(il, &demo(), &r).status, Status::Pass);
    // Inspected 2025-05-15: due 2025-06-14 (+30 days), overdue on 06-15.
    r.inspections[0].time_ms = ms("2025-05-15T10:00");
    let f = eval(il, &demo(), &r);
    assert_eq!(f.devices, vec![r.inspections[0].device_id.clone()]);
    assert!(
        f.evidence[0].contains("due 2025-06-14, 1 day(s) overdue"),
        "{f:?}"
    );
    // A later inspection replaces it.
    r.inspections.push(Inspection {
        time_ms: ms("2025-06-01T09:00"),
        ..r.inspections[0].clone()
    });
    assert_eq!(eval(il, &demo(), &r).status, Status::Pass);
    // A failed test still counts as inspected; the deficiency is reported as evidence.
    r.inspections.push(Inspection {
        id: "bad".into(),
        time_ms: ms("2025-06-02T09:00"),
        passed: false,
        notes: "holdup not received".into(),
        ..r.inspections[0].clone()
    });
    let f = eval(il, &demo(), &r);
    assert_eq!(f.status, Status::Pass);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("found a deficiency") && e.contains("holdup not received")),
        "{f:?}"
    );
    assert_eq!(f.records, vec!["bad".to_owned()]);

    let m = "check = \"maintenance_interval\"\ninterval_months = 12\napproved_vendor = true";
    let mut r = Records::default();
    r.maintenance.push(Maintenance {
        id: "m1".into(),
        time_ms: ms("2024-07-01T10:00"),
        vendor_id: "v1".into(),
        ..Maintenance::default()
    });
    assert_eq!(
        eval(m, &demo(), &r).status,
        Status::Fail,
        "vendor not approved"
    );
    r.vendors.push(Vendor {
        id: "v1".into(),
        status: VendorStatus::Approved,
        approval_ref: Some("B-1".into()),
        ..Vendor::default()
    });
    assert_eq!(eval(m, &demo(), &r).status, Status::Pass);
    r.maintenance[0].time_ms = ms("2024-06-14T10:00");
    assert_eq!(eval(m, &demo(), &r).status, Status::Fail, "due 2025-06-14");
}

#[test]
fn report_and_repair_deadlines() {
    let v = "check = \"report_deadline\"\nevent = \"vendor_change\"\ndue_calendar_days = 5";
    let mut r = Records::default();
    assert_eq!(eval(v, &demo(), &r).status, Status::Pass);
    // Changed 2025-06-10 23:30 local: due 06-15, still on time at noon on the 15th.
    r.vendor_changes.push(VendorChange {
        id: "c1".into(),
        vendor_id: "v1".into(),
        change: ChangeKind::Removed,
        time_ms: ms("2025-06-10T23:30"),
        ..VendorChange::default()
    });
    assert_eq!(eval(v, &demo(), &r).status, Status::Pass);
    r.vendor_changes[0].time_ms = ms("2025-06-09T08:00");
    assert_eq!(eval(v, &demo(), &r).status, Status::Fail);
    r.vendor_changes[0].submitted_ms = Some(ms("2025-06-14T08:00"));
    assert_eq!(eval(v, &demo(), &r).status, Status::Pass);
    assert!(
        !eval(v, &demo(), &r)
            .evidence
            .iter()
            .any(|e| e.contains("after the due date")),
        "on time: no lateness noted"
    );
    r.vendor_changes[0].submitted_ms = Some(ms("2025-06-15T08:00"));
    let f = eval(v, &demo(), &r);
    assert_eq!(f.status, Status::Pass, "submitted, though late");
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("done 2025-06-15, 1 day(s) after the due date 2025-06-14")),
        "{f:?}"
    );

    let o = "check = \"report_deadline\"\nevent = \"outage\"\ndue_calendar_days = 5";
    let mut r = Records::default();
    r.outages.push(Outage {
        id: "o1".into(),
        start_ms: ms("2025-06-08T10:00"),
        end_ms: Some(ms("2025-06-08T12:00")),
        ..Outage::default()
    });
    assert_eq!(eval(o, &demo(), &r).status, Status::Fail, "due 06-13");
    r.outages[0].end_ms = None;
    r.outages[0].start_ms = ms("2025-06-12T10:00");
    let f = eval(o, &demo(), &r);
    assert_eq!(f.status, Status::Pass);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("provisionally due 2025-06-17")),
        "{f:?}"
    );

    let rep = "check = \"repair_deadline\"\nwithin_hours = 24";
    let mut r = Records::default();
    r.outages.push(Outage {
        id: "o2".into(),
        start_ms: now() - 25 * 3_600_000,
        ..Outage::default()
    });
    assert_eq!(eval(rep, &demo(), &r).status, Status::Fail);
    r.outages[0].extension_approval_ref = Some("EXT-1".into());
    assert_eq!(eval(rep, &demo(), &r).status, Status::Pass);
    r.outages[0] = Outage {
        id: "o3".into(),
        start_ms: now() - 23 * 3_600_000,
        ..Outage::default()
    };
    assert_eq!(eval(rep, &demo(), &r).status, Status::Pass);
}

#[test]
fn incident_corrective_action_deadlines() {
    let body = "check = \"report_deadline\"\nevent = \"incident_action\"\ndue_calendar_days = 30";
    let mut r = Records::default();
    r.incidents.push(Incident {
        id: "inc-1".into(),
        kind: "theft".into(),
        discovered_ms: ms("2025-05-01T10:00"),
        actions: vec![
            CorrectiveAction {
                id: "a1".into(),
                description: "Re-key vault".into(),
                due_local_date: Some(jiff::civil::date(2025, 6, 20)),
                ..CorrectiveAction::default()
            },
            CorrectiveAction {
                id: "a2".into(),
                description: "Add camera".into(),
                ..CorrectiveAction::default()
            },
        ],
        ..Incident::default()
    });
    let f = eval(body, &demo(), &r);
    assert_eq!(
        f.status,
        Status::Fail,
        "a2 defaults to discovery + 30 days = 2025-05-31"
    );
    assert_eq!(f.devices, vec!["inc-1/a2".to_owned()]);
    r.incidents[0].actions[1].done_ms = Some(ms("2025-05-30T10:00"));
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
}

#[test]
fn power_backup() {
    let body = "check = \"power_backup\"\nmin_runtime_hours = 4\nscope = \"video\"";
    let mut r = Records::default();
    assert_eq!(eval(body, &demo(), &r).devices.len(), 4);
    r.power_backups.push(PowerBackup {
        id: "ups1".into(),
        devices: vec!["*".into()],
        runtime_minutes: 240,
    });
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
    let all = "check = \"power_backup\"\nmin_runtime_hours = 48\nscope = \"all\"";
    let f = eval(all, &demo(), &r);
    assert_eq!(f.status, Status::Fail);
    assert!(f.devices.contains(&"panel-1".to_owned()));
}

fn sign(door: &str, w: i64, h: i64, letters: i64, text: &str) -> Attestation {
    let mut a = Attestation {
        id: format!("a-{door}"),
        item: "sign".into(),
        subject: door.into(),
        time_ms: now() - DAY_MS,
        by: "Ann".into(),
        in_place: true,
        text: Some(text.into()),
        ..Attestation::default()
    };
    a.values_milli.insert("width_in".into(), w);
    a.values_milli.insert("height_in".into(), h);
    a.values_milli.insert("letter_height_in".into(), letters);
    a
}

#[test]
fn sign_attestations_per_door() {
    let body = "check = \"attestation\"\nitem = \"sign\"\nper = \"doors:into_restricted\"\nlimits = [\"width_in >= 12\", \"height_in >= 12\", \"letter_height_in >= 1\"]\nrequired_text = \"Do Not Enter - Restricted Access Area - Authorized Personnel Only\"";
    let text = "Do Not Enter \u{2013} Restricted Access Area \u{2013} Authorized Personnel Only";
    let doors = [
        "sales-back",
        "vault-door",
        "safe-door",
        "cctv-door",
        "delivery",
    ];
    let mut r = Records {
        attestations: doors
            .iter()
            .map(|d| sign(d, 12_000, 12_000, 1_000, text))
            .collect(),
        ..Records::default()
    };
    let f = eval(body, &demo(), &r);
    assert_eq!(f.status, Status::Attested, "{f:?}");
    assert_eq!(f.records.len(), 5);
    // Half-inch letters pass Ohio but not Illinois.
    r.attestations[1] = sign("vault-door", 12_000, 12_000, 500, text);
    let f = eval(body, &demo(), &r);
    assert_eq!(f.devices, vec!["vault-door".to_owned()]);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("letter_height_in` = 0.5, needs letter_height_in >= 1")),
        "{f:?}"
    );
    // Wrong wording, missing door, absurd values: findings, not panics.
    r.attestations[1] = sign("vault-door", -5, i64::MAX, i64::MIN, "Keep out");
    r.attestations.remove(0);
    let f = eval(body, &demo(), &r);
    assert_eq!(
        f.devices,
        vec!["sales-back".to_owned(), "vault-door".to_owned()]
    );
    assert!(
        f.evidence.iter().any(
            |e| e.contains("out of plausible range") && e.contains("differs from the required")
        ),
        "{f:?}"
    );
}

#[test]
fn attestation_choices_age_and_each() {
    let body = "check = \"attestation\"\nitem = \"vault_construction\"\nper = \"site\"\nchoices = [\"reinforced_concrete_8in\", \"comparable_materials+approval\"]";
    let mut a = Attestation {
        id: "v1".into(),
        item: "vault_construction".into(),
        subject: "site".into(),
        time_ms: now() - DAY_MS,
        in_place: true,
        choice: Some("comparable_materials".into()),
        ..Attestation::default()
    };
    let mut r = Records {
        attestations: vec![a.clone()],
        ..Records::default()
    };
    assert_eq!(
        eval(body, &demo(), &r).status,
        Status::Fail,
        "comparable materials need approval (A25)"
    );
    a.approval_ref = Some("IDFPR-7".into());
    r.attestations = vec![a.clone()];
    assert_eq!(eval(body, &demo(), &r).status, Status::Attested);
    a.choice = Some("plywood".into());
    r.attestations = vec![a];
    assert_eq!(eval(body, &demo(), &r).status, Status::Fail);

    let aged = "check = \"attestation\"\nitem = \"foliage\"\nper = \"site\"\nmax_age_days = 31";
    let mut r = Records::default();
    assert_eq!(eval(aged, &demo(), &r).status, Status::Fail);
    r.attestations.push(Attestation {
        id: "f".into(),
        item: "foliage".into(),
        subject: "site".into(),
        time_ms: now() - 40 * DAY_MS,
        in_place: true,
        ..Attestation::default()
    });
    assert_eq!(eval(aged, &demo(), &r).status, Status::Fail, "too old");
    r.attestations[0].time_ms = now() - 20 * DAY_MS;
    assert_eq!(eval(aged, &demo(), &r).status, Status::Attested);

    let mon = "check = \"attestation\"\nitem = \"monitor\"\nper = \"each\"\nlimits = [\"diagonal_in >= 19\"]";
    let m = |id: &str, d: i64| {
        let mut a = Attestation {
            id: id.into(),
            item: "monitor".into(),
            subject: id.into(),
            time_ms: now(),
            in_place: true,
            ..Attestation::default()
        };
        a.values_milli.insert("diagonal_in".into(), d);
        a
    };
    let mut r = Records {
        attestations: vec![m("m1", 21_500), m("m2", 19_000)],
        ..Records::default()
    };
    assert_eq!(eval(mon, &demo(), &r).status, Status::Attested);
    r.attestations.push(m("m3", 18_900));
    assert_eq!(eval(mon, &demo(), &r).devices, vec!["m3".to_owned()]);
}

#[test]
fn counter_height_and_exemption() {
    let body = "check = \"counter_height\"\nmin_height_in = 48\nshort_max_length_in = 36\nshort_min_height_in = 33\nshort_max_height_in = 36\nexempt_if_operating_before = \"2023-01-01\"";
    let c = |id: &str, h: i64, l: i64| {
        let mut a = Attestation {
            id: id.into(),
            item: "counter".into(),
            subject: id.into(),
            time_ms: now(),
            in_place: true,
            ..Attestation::default()
        };
        a.values_milli.insert("height_in".into(), h);
        a.values_milli.insert("length_in".into(), l);
        a
    };
    let mut r = Records {
        attestations: vec![c("c1", 48_000, 120_000), c("c2", 34_000, 36_000)],
        ..Records::default()
    };
    assert_eq!(eval(body, &demo(), &r).status, Status::Attested);
    r.attestations.push(c("c3", 34_000, 40_000));
    r.attestations.push(c("c4", 32_500, 30_000));
    assert_eq!(
        eval(body, &demo(), &r).devices,
        vec!["c3".to_owned(), "c4".to_owned()]
    );
    r.site.operating_since = Some(jiff::civil::date(2020, 3, 1));
    assert_eq!(eval(body, &demo(), &r).status, Status::NotApplicable);
    r.site.relocated_on = Some(jiff::civil::date(2025, 1, 1));
    assert_eq!(
        eval(body, &demo(), &r).status,
        Status::Fail,
        "relocation ends the exemption"
    );
}

#[test]
fn vendors_capabilities_and_practice() {
    let body = "check = \"vendor_approved\"\nrole = \"installer\"\nrequire = \"license\"";
    let mut r = Records::default();
    assert_eq!(eval(body, &demo(), &r).status, Status::Fail);
    r.vendors.push(Vendor {
        id: "v1".into(),
        roles: vec!["installer".into()],
        license_number: Some("127-001234".into()),
        ..Vendor::default()
    });
    assert_eq!(eval(body, &demo(), &r).status, Status::Pass);
    let appr = "check = \"vendor_approved\"\nrole = \"installer\"\nrequire = \"approval\"";
    assert_eq!(eval(appr, &demo(), &r).status, Status::Fail);

    let cap = "check = \"capability\"\ncapability = \"video.still\"";
    assert_eq!(eval(cap, &demo(), &r).status, Status::Fail);
    r.capabilities.push("video.still".into());
    assert_eq!(eval(cap, &demo(), &r).status, Status::Pass);

    let p = pack(
        "practice",
        "check = \"recurring_activity\"\nactivity = \"le_meeting\"\ninterval_months = 3",
    );
    let f = &evaluate(&p, &demo(), &r, now())[0];
    assert_eq!((f.status, f.check_status), (Status::Practice, Status::Fail));
    assert!(f.summary.contains("not scored"));
    r.activities.push(Activity {
        id: "a".into(),
        activity: "le_meeting".into(),
        time_ms: ms("2025-04-01T10:00"),
        notes: String::new(),
    });
    assert_eq!(
        evaluate(&p, &demo(), &r, now())[0].check_status,
        Status::Pass
    );
}

#[test]
fn demo_site_evaluates_with_citations() {
    let site = demo();
    for (name, text) in crate::pack::BUILTIN_PACKS {
        let p = check_pack(name, text).expect("pack");
        let findings = evaluate(&p, &site, &Records::default(), now());
        assert_eq!(findings.len(), p.requirements.len());
        for f in &findings {
            assert!(!f.citation.is_empty() && !f.remedy.is_empty(), "{f:?}");
            if f.basis == Basis::Practice {
                assert_eq!(f.status, Status::Practice);
            }
        }
        assert!(findings.iter().any(|f| f.status == Status::Fail), "{name}");
    }
    let il = crate::pack::builtin("il-dispensary")
        .expect("ships")
        .expect("parses");
    let findings = evaluate(&il, &site, &Records::default(), now());
    let vid03 = findings
        .iter()
        .find(|f| f.requirement_id == "VID-03")
        .expect("VID-03");
    assert_eq!(vid03.citation, "IL 1291.300(e)(1)(E)");
    assert_eq!(vid03.devices, vec!["delivery".to_owned()]);
    let ac02 = findings
        .iter()
        .find(|f| f.requirement_id == "AC-02")
        .expect("AC-02");
    assert_eq!(ac02.status, Status::Pass);
    let s = summarize(&findings);
    assert_eq!(
        s.pass + s.fail + s.attested + s.not_applicable + s.practice,
        findings.len()
    );
}

proptest::proptest! {
    #[test]
    fn attestation_evaluation_never_panics(
        values in proptest::collection::btree_map("[a-z_]{1,12}", proptest::num::i64::ANY, 0..6),
        text in proptest::option::of("\\PC{0,40}"),
        choice in proptest::option::of("[a-z_+]{0,20}"),
        time_ms in proptest::num::i64::ANY,
        in_place in proptest::bool::ANY,
    ) {
        let site = demo();
        let mut atts = Vec::new();
        for item in ["sign", "counter", "monitor", "vault_construction", "pass_through"] {
            for subject in ["site", "vault-door", "c1"] {
                atts.push(Attestation { id: format!("{item}-{subject}"), item: item.into(), subject: subject.into(), time_ms, values_milli: values.clone(), text: text.clone(), choice: choice.clone(), in_place, ..Attestation::default() });
            }
        }
        let r = Records { attestations: atts, ..Records::default() };
        for (name, t) in crate::pack::BUILTIN_PACKS {
            let p = check_pack(name, t).expect("pack");
            let f = evaluate(&p, &site, &r, time_ms.checked_add(1).unwrap_or(time_ms));
            proptest::prop_assert_eq!(f.len(), p.requirements.len());
        }
    }
}
