//! `cargo run --release -p strongroom-store --example journal_bench -- [URL] [EVENTS]`: the journal
//! benchmark without building the whole server (same code as `strongroom bench journal`).
use std::sync::Arc;

use strongroom_domain::SystemClock;
use strongroom_store::Store;
use strongroom_store::bench::{BenchParams, journal};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = tempfile::tempdir()?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.sqlite").display()));
    let events: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200_000);
    let schema = format!("sr_bench_{}", std::process::id());
    let store = Store::open_in_schema(&url, Some(&schema)).await?;
    let params = BenchParams {
        events,
        single: 2_000,
        clients: 64,
        batch: 100,
    };
    let r = journal(&store, &params, Arc::new(SystemClock)).await?;
    println!("{r:#?}");
    if store.backend() == strongroom_store::Backend::Postgres {
        strongroom_store::admin::drop_schema(&store, &schema).await?;
    }
    store.close().await;
    Ok(())
}
