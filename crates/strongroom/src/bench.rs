//! `strongroom bench`: measurements on this machine, printed as figures for the closing notes.
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use clap::Subcommand;
use strongroom_domain::Clock;
use strongroom_store::Store;
use strongroom_store::bench::{BenchParams, journal};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Journal append (batched and single), verify and projection rebuild.
    Journal {
        /// Database URL (default: a fresh SQLite file in a temporary directory).
        #[arg(long)]
        database_url: Option<String>,
        /// Events for the batched append, verify and rebuild runs.
        #[arg(long, default_value_t = 200_000)]
        events: u64,
        /// Single acknowledged appends for the latency run.
        #[arg(long, default_value_t = 2_000)]
        single: u64,
        /// Concurrent appenders for the batched run.
        #[arg(long, default_value_t = 64)]
        clients: u64,
        /// Facts per append request in the batched run.
        #[arg(long, default_value_t = 100)]
        batch: u64,
    },
}

pub async fn run(cmd: BenchCommand, clock: Arc<dyn Clock>) -> Result<ExitCode> {
    let BenchCommand::Journal {
        database_url,
        events,
        single,
        clients,
        batch,
    } = cmd;
    let tmp = std::env::temp_dir().join(format!("strongroom-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let url =
        database_url.unwrap_or_else(|| format!("sqlite://{}", tmp.join("bench.sqlite").display()));
    let schema = format!("sr_bench_{}", std::process::id());
    let store = Store::open_in_schema(&url, Some(&schema)).await?;
    let r = journal(
        &store,
        &BenchParams {
            events,
            single,
            clients,
            batch,
        },
        clock,
    )
    .await?;
    println!("engine: {:?}", r.backend);
    println!(
        "single acknowledged append ({single}): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        r.single_ms.0, r.single_ms.1, r.single_ms.2
    );
    println!(
        "batched durable append: {} events, {:.0} events/s",
        r.appended, r.append_events_per_s
    );
    println!(
        "journal verify: {} events, {:.0} events/s",
        r.verified, r.verify_events_per_s
    );
    println!(
        "projection rebuild: {} events in {:.2} s",
        r.rebuild_s.1, r.rebuild_s.0
    );
    if store.backend() == strongroom_store::Backend::Postgres {
        strongroom_store::admin::drop_schema(&store, &schema).await?;
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(ExitCode::SUCCESS)
}
