//! `strongroom bench`: measurements on this machine (journal append throughput and latency,
//! verification speed, projection rebuild), printed as figures for the closing notes.
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use clap::Subcommand;
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_journal::SiteKey;
use strongroom_store::{JournalHandle, JournalWriterConfig, SiteRow, Store, migrate, projection};

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
    },
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(cmd: BenchCommand, clock: Arc<dyn Clock>) -> Result<ExitCode> {
    let BenchCommand::Journal {
        database_url,
        events,
        single,
        clients,
    } = cmd;
    let tmp = std::env::temp_dir().join(format!("strongroom-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let url =
        database_url.unwrap_or_else(|| format!("sqlite://{}", tmp.join("bench.sqlite").display()));
    let schema = format!("sr_bench_{}", std::process::id());
    let store = Store::open_in_schema(&url, Some(&schema)).await?;
    migrate::run(&store, clock.now_ms()).await?;
    let site_id = format!("bench-{}", clock.now_ms());
    let key = Arc::new(SiteKey::generate()?);
    store
        .create_site(&SiteRow {
            id: site_id.clone(),
            name: "bench".into(),
            jurisdiction: "il-dispensary".into(),
            public_key: key.public_hex(),
            created_ms: 0,
        })
        .await?;
    let (journal, task) = JournalHandle::start(
        store.clone(),
        &site_id,
        key.clone(),
        clock.clone(),
        JournalWriterConfig::default(),
    )
    .await?;
    println!(
        "engine: {:?}  ({})",
        store.backend(),
        if url.starts_with("sqlite") {
            "synchronous=FULL, WAL"
        } else {
            "synchronous_commit=on"
        }
    );

    // 1. Single acknowledged appends, one at a time: latency.
    let mut lat_ms = Vec::with_capacity(single as usize);
    for i in 0..single {
        let f = Fact::new("bench.single", Actor::System, clock.now_ms()).with("i", i);
        let t = Instant::now();
        journal.append_one(f).await?;
        lat_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat_ms.sort_by(f64::total_cmp);
    println!(
        "single acknowledged append ({single}): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lat_ms, 0.5),
        percentile(&lat_ms, 0.99),
        percentile(&lat_ms, 1.0)
    );

    // 2. Many concurrent appenders, batches of 100 facts: group commit throughput.
    let per_client = events / clients.max(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let j = journal.clone();
        let clock = clock.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while done < per_client {
                let n = (per_client - done).min(100);
                let facts: Vec<Fact> = (0..n)
                    .map(|i| {
                        Fact::new(
                            "access.granted",
                            Actor::Device(format!("r-{}", c % 50)),
                            clock.now_ms(),
                        )
                        .with("device", format!("d-{}", (c + i) % 500))
                        .with("state", "open")
                        .with("n", done + i)
                    })
                    .collect();
                j.append(facts).await?;
                done += n;
            }
            Ok::<u64, anyhow::Error>(done)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "batched durable append: {total} events from {clients} clients in {secs:.2} s = {:.0} events/s",
        total as f64 / secs
    );
    journal.shutdown().await?;
    let _ = task.await;

    // 3. Verify.
    let count = store.event_count(&site_id).await?;
    let started = Instant::now();
    let r = strongroom_store::verify::verify_site(&store, &site_id, &key.verifying_key(), |_| {})
        .await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "journal verify: {} events in {secs:.2} s = {:.0} events/s",
        r.events,
        count as f64 / secs
    );

    // 4. Projection rebuild.
    let started = Instant::now();
    let n = projection::rebuild(&store, &site_id).await?;
    println!(
        "projection rebuild: {n} events in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    if store.backend() == strongroom_store::Backend::Postgres {
        let _ = sqlx_drop_schema(&store, &schema).await;
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(ExitCode::SUCCESS)
}

async fn sqlx_drop_schema(store: &Store, schema: &str) -> Result<()> {
    strongroom_store::admin::drop_schema(store, schema).await?;
    Ok(())
}
