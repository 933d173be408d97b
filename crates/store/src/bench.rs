//! Journal performance measurement, shared by `strongroom bench journal` and the store's
//! `journal_bench` example: single acknowledged append latency, group-commit throughput,
//! verification speed and projection rebuild time, on whichever engine the URL names.
use std::sync::Arc;
use std::time::Instant;

use strongroom_domain::{Actor, Clock, Fact};
use strongroom_journal::SiteKey;

use crate::{JournalHandle, JournalWriterConfig, SiteRow, Store, StoreError, migrate, projection};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchParams {
    /// Events for the batched append, verify and rebuild runs.
    pub events: u64,
    /// Single acknowledged appends for the latency run.
    pub single: u64,
    /// Concurrent appenders for the batched run.
    pub clients: u64,
    /// Facts per append request in the batched run.
    pub batch: u64,
}

/// The figures.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Engine.
    pub backend: crate::Backend,
    /// Single-append latency percentiles, milliseconds: p50, p99, max.
    pub single_ms: (f64, f64, f64),
    /// Durable events per second with group commit.
    pub append_events_per_s: f64,
    /// Events appended in the batched run.
    pub appended: u64,
    /// Verified events per second.
    pub verify_events_per_s: f64,
    /// Events verified.
    pub verified: u64,
    /// Projection rebuild seconds, and events replayed.
    pub rebuild_s: (f64, u64),
}

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Append.
    #[error(transparent)]
    Append(#[from] crate::AppendError),
    /// Verification.
    #[error(transparent)]
    Verify(#[from] crate::verify::VerifyError),
    /// Other.
    #[error("{0}")]
    Other(String),
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the journal benchmark on `store` (migrated here) in a fresh site.
pub async fn journal(
    store: &Store,
    params: &BenchParams,
    clock: Arc<dyn Clock>,
) -> Result<BenchReport, BenchError> {
    migrate::run(store, clock.now_ms()).await?;
    let site_id = format!("bench-{}", clock.now_ms());
    let key = Arc::new(SiteKey::generate().map_err(|e| BenchError::Other(e.to_string()))?);
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

    let mut lat_ms = Vec::with_capacity(params.single as usize);
    for i in 0..params.single {
        let f = Fact::new("bench.single", Actor::System, clock.now_ms()).with("i", i);
        let t = Instant::now();
        journal.append_one(f).await?;
        lat_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat_ms.sort_by(f64::total_cmp);

    let per_client = params.events / params.clients.max(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..params.clients {
        let j = journal.clone();
        let clock = clock.clone();
        let batch = params.batch.max(1);
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while done < per_client {
                let n = (per_client - done).min(batch);
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
            Ok::<u64, crate::AppendError>(done)
        }));
    }
    let mut appended = 0;
    for t in tasks {
        appended += t.await.map_err(|e| BenchError::Other(e.to_string()))??;
    }
    let append_s = started.elapsed().as_secs_f64();
    journal.shutdown().await?;
    let _ = task.await;

    let started = Instant::now();
    let r = crate::verify::verify_site(store, &site_id, &key.verifying_key(), |_| {}).await?;
    let verify_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let replayed = projection::rebuild(store, &site_id).await?;
    let rebuild_s = started.elapsed().as_secs_f64();

    Ok(BenchReport {
        backend: store.backend(),
        single_ms: (
            percentile(&lat_ms, 0.5),
            percentile(&lat_ms, 0.99),
            percentile(&lat_ms, 1.0),
        ),
        append_events_per_s: appended as f64 / append_s,
        appended,
        verify_events_per_s: r.events as f64 / verify_s,
        verified: r.events,
        rebuild_s: (rebuild_s, replayed),
    })
}
