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
    // Read the next page while the current one is hashed (two cores: one reads, one hashes).
    let mut seen = 0u64;
    let mut page = store.events_after(site_id, 0, PAGE).await?;
    while let Some(last) = page.last() {
        let last_seq = last.seq;
        let page_len = page.len() as u64;
        let full = page_len == u64::from(PAGE);
        let next = {
            let store = store.clone();
            let site = site_id.to_owned();
            tokio::spawn(async move {
                if full {
                    store.events_after(&site, last_seq, PAGE).await
                } else {
                    Ok(Vec::new())
                }
            })
        };
        let (v, result) = tokio::task::spawn_blocking(move || {
            let mut v = verifier;
            let r = page.iter().try_for_each(|e| v.push(e));
            (v, r)
        })
        .await
        .map_err(|e| StoreError::Db(sqlx::Error::Protocol(e.to_string())))?;
        verifier = v;
        result?;
        seen += page_len;
        progress(seen);
        page = next
            .await
            .map_err(|e| StoreError::Db(sqlx::Error::Protocol(e.to_string())))??;
    }
    Ok(verifier.finish(&checkpoints, key)?)
}
