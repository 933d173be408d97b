//! Writes the demo site's compliance report as PDF, HTML and CSV into a directory.
//!
//! `cargo run -p strongroom-compliance --example demo_report -- OUT_DIR [NOW_MS]`
use strongroom_compliance::report::{self, compliance_report};
use strongroom_compliance::{Records, evaluate, pack};
use strongroom_domain::site::{DEMO_SITE_TOML, SiteConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let now_ms: i64 = match args.next() {
        Some(s) => s.parse()?,
        None => jiff::Timestamp::now().as_millisecond(),
    };
    let site = SiteConfig::parse("demo-il-dispensary.toml", DEMO_SITE_TOML)?;
    let pack = pack::builtin(site.site.jurisdiction.as_str())
        .ok_or("no pack for the site's jurisdiction")??;
    let findings = evaluate(&pack, &site, &Records::default(), now_ms);
    let doc = compliance_report(&pack, &site, &findings, now_ms);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("compliance.pdf"), report::pdf::render(&doc))?;
    std::fs::write(dir.join("compliance.html"), report::html::render(&doc))?;
    std::fs::write(dir.join("compliance.csv"), report::csv::render(&doc))?;
    println!("wrote {} findings to {}", findings.len(), dir.display());
    Ok(())
}
