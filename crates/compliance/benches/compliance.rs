//! Benchmarks: full evaluation of a 200-device site with one year of records (target < 100 ms)
//! and rendering its compliance report as PDF (target < 2 s).
use std::fmt::Write as _;

use criterion::{Criterion, criterion_group, criterion_main};
use strongroom_compliance::records::*;
use strongroom_compliance::report::{self, compliance_report};
use strongroom_compliance::{evaluate, pack, schedule};
use strongroom_domain::site::SiteConfig;

const DAY_MS: i64 = 86_400_000;
const NOW_MS: i64 = 1_750_000_000_000;

/// A site with 100 cameras, 60 sensors, 30 readers, 10 panels (200 devices) over 40 areas and doors.
fn big_site() -> SiteConfig {
    let mut t = String::from(
        "[site]\nid = \"big\"\nname = \"Big Dispensary\"\njurisdiction = \"il-dispensary\"\ntimezone = \"America/Chicago\"\n\n[[area]]\nid = \"outside\"\nname = \"Outside\"\nkind = \"exterior\"\n",
    );
    let kinds = [
        "public",
        "limited_access",
        "restricted_access",
        "point_of_sale",
        "vault",
        "parking",
        "surveillance_room",
        "currency_safe",
    ];
    for a in 0..40 {
        let _ = write!(
            t,
            "\n[[area]]\nid = \"a{a}\"\nname = \"Area {a}\"\nkind = \"{}\"\n",
            kinds[a % kinds.len()]
        );
    }
    for d in 0..40 {
        let from = if d % 5 == 0 {
            "outside".to_owned()
        } else {
            format!("a{}", d - 1)
        };
        let _ = write!(
            t,
            "\n[[door]]\nid = \"d{d}\"\nname = \"Door {d}\"\nfrom = \"{from}\"\nto = \"a{d}\"\n"
        );
    }
    for p in 0..10 {
        let _ = write!(
            t,
            "\n[[panel]]\nid = \"p{p}\"\nname = \"Panel {p}\"\naccount = \"{:04}\"\n",
            1000 + p
        );
    }
    let skinds = [
        "perimeter_entry",
        "motion",
        "glass_break",
        "vault_wall",
        "vault_door",
        "panic",
        "holdup",
    ];
    for s in 0..60 {
        let _ = write!(
            t,
            "\n[[sensor]]\nid = \"s{s}\"\nkind = \"{}\"\narea = \"a{}\"\npanel = \"p{}\"\n",
            skinds[s % skinds.len()],
            s % 40,
            s % 10
        );
    }
    for r in 0..30 {
        let _ = write!(
            t,
            "\n[[reader]]\nid = \"r{r}\"\ndoor = \"d{}\"\nkeypad = true\n",
            r % 40
        );
    }
    for c in 0..100 {
        let _ = write!(
            t,
            "\n[[camera]]\nid = \"c{c}\"\nname = \"Camera {c}\"\nrtsp_url = \"rtsp://127.0.0.1:8554/c{c}\"\ncovers_areas = [\"a{}\"]\ncovers_doors = [\"d{}\"]\npurposes = [\"face\", \"point_of_sale\", \"parking\"]\ncapable_fps = 30\n",
            c % 40,
            c % 40
        );
    }
    t.push_str("\n[[notify.contact]]\nid = \"m\"\nname = \"Manager\"\nphone = \"+15550100\"\n\n[[notify.chain]]\nid = \"f\"\napplies_to = [\"health.*\"]\nstep = [{ contact = \"m\", channel = \"sms\" }]\n");
    match SiteConfig::parse("big.toml", &t) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

fn year_of_records(site: &SiteConfig) -> Records {
    let mut r = Records {
        channels_configured: vec![strongroom_domain::site::Channel::Sms],
        vault_dual_auth_configured: true,
        ..Records::default()
    };
    for day in 0..365i64 {
        let t = NOW_MS - day * DAY_MS;
        for c in &site.cameras {
            r.cameras.push(CameraMeasurement {
                camera_id: c.id.clone(),
                time_ms: t,
                recorded_fps_milli: Some(15_000),
                width_px: Some(1920),
                height_px: Some(1080),
                face_pixels: Some(120),
                recorded_days_available: Some(95),
                clock_offset_ms: Some(20),
                ..CameraMeasurement::default()
            });
        }
    }
    for (i, dev) in schedule::inspectable_devices(site).into_iter().enumerate() {
        for month in 0..12i64 {
            r.inspections.push(Inspection {
                id: format!("i{i}-{month}"),
                device_id: dev.to_owned(),
                time_ms: NOW_MS - month * 29 * DAY_MS - (i as i64 % 20) * DAY_MS,
                by: "tech".into(),
                passed: true,
                notes: String::new(),
            });
        }
    }
    for o in 0..50i64 {
        let start = NOW_MS - o * 7 * DAY_MS;
        r.outages.push(Outage {
            id: format!("o{o}"),
            start_ms: start,
            end_ms: Some(start + 3_600_000),
            affected_devices: vec![format!("c{o}")],
            lost_spans: vec![LostSpan {
                camera_id: format!("c{o}"),
                start_ms: start,
                end_ms: start + 3_600_000,
            }],
            report_submitted_ms: Some(start + 2 * DAY_MS),
            ..Outage::default()
        });
        r.vendor_changes.push(VendorChange {
            id: format!("vc{o}"),
            vendor_id: "v1".into(),
            time_ms: start,
            submitted_ms: Some(start + DAY_MS),
            ..VendorChange::default()
        });
        r.activities.push(Activity {
            id: format!("act{o}"),
            activity: "le_meeting".into(),
            time_ms: start,
            notes: String::new(),
        });
    }
    for d in &site.doors {
        for item in ["sign", "manual_lock", "door_fail_secure"] {
            let mut a = Attestation {
                id: format!("{item}-{}", d.id),
                item: item.into(),
                subject: d.id.clone(),
                time_ms: NOW_MS - DAY_MS,
                in_place: true,
                text: Some(
                    "Do Not Enter - Restricted Access Area - Authorized Personnel Only".into(),
                ),
                ..Attestation::default()
            };
            a.values_milli.insert("width_in".into(), 12_000);
            a.values_milli.insert("height_in".into(), 12_000);
            a.values_milli.insert("letter_height_in".into(), 1_000);
            r.attestations.push(a);
        }
    }
    r.vendors.push(Vendor {
        id: "v1".into(),
        roles: vec!["installer".into()],
        license_number: Some("127-1".into()),
        ..Vendor::default()
    });
    r.power_backups.push(PowerBackup {
        id: "ups".into(),
        devices: vec!["*".into()],
        runtime_minutes: 300,
    });
    r
}

fn benches(c: &mut Criterion) {
    let site = big_site();
    let records = year_of_records(&site);
    let pack = match pack::builtin("il-dispensary") {
        Some(Ok(p)) => p,
        _ => panic!("IL pack"),
    };
    let findings = evaluate(&pack, &site, &records, NOW_MS);
    let doc = compliance_report(&pack, &site, &findings, NOW_MS);
    println!(
        "{} devices, {} records, {} findings, report {} bytes of PDF",
        schedule::inspectable_devices(&site).len(),
        records.cameras.len()
            + records.inspections.len()
            + records.outages.len()
            + records.attestations.len(),
        findings.len(),
        report::pdf::render(&doc).len()
    );
    c.bench_function("evaluate_200_devices_1y", |b| {
        b.iter(|| evaluate(&pack, &site, &records, NOW_MS))
    });
    c.bench_function("compliance_report_pdf", |b| {
        b.iter(|| {
            let f = evaluate(&pack, &site, &records, NOW_MS);
            report::pdf::render(&compliance_report(&pack, &site, &f, NOW_MS))
        })
    });
    c.bench_function("pack_parse_il", |b| {
        b.iter(|| pack::check_pack("il.toml", pack::BUILTIN_PACKS[0].1))
    });
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(group);
