//! Verifying a stored journal, streaming in pages (constant memory).
use ed25519_dalek::VerifyingKey;
use strongroom_journal::{Tamper, Verifier, VerifyReport};

use crate::store::{Store, StoreError};

/// Why verification did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The journal was tampered with.
    #[error("{0}")]
    Tampered(#[from] Tamper),
    /// The database could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Rows fetched per page.
const PAGE: u32 = 50_000;

/// Verifies every event and checkpoint of `site_id` against `key`, calling `progress(events)`
/// after each page.
pub async fn verify_site(
    store: &Store,
    site_id: &str,
    key: &VerifyingKey,
    mut progress: impl FnMut(u64),
) -> Result<VerifyReport, VerifyError> {
    let checkpoints = store.checkpoints(site_id).await?;
    let mut verifier = Verifier::new(site_id, checkpoints.iter().map(|c| c.seq));
    let mut after = 0u64;
    let mut seen = 0u64;
    loop {
        let page = store.events_after(site_id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        let last_seq = last.seq;
        for e in &page {
            verifier.push(e)?;
        }
        seen += page.len() as u64;
        progress(seen);
        after = last_seq;
        if page.len() < PAGE as usize {
            break;
        }
    }
    Ok(verifier.finish(&checkpoints, key)?)
}
