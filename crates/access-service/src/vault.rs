//! The vault log's storage: a partial index on the journal holding only the vault-door facts
//! (`journal_vault_access`), the queries that read one day's vault facts through it, and the
//! local-day bounds of a date.
use serde_json::Value;
use sqlx::Row;
use strongroom_access::kinds as k;
use strongroom_domain::{Actor, Fact};
use strongroom_store::Store;

use crate::error::AccessError;

/// The predicate of the vault-log index: grants and exits with a vault on either side, except
/// openings of a currency safe inside the vault (they do not move anyone in or out of the vault).
/// One literal, so the index and the queries carry exactly the same terms (that is how both
/// planners see that the partial index applies).
macro_rules! vault_predicate {
    () => {
        r#"kind IN ('access.granted', 'access.exit') AND payload LIKE '%kind":"vault"%' AND payload NOT LIKE '%"enters_kind":"currency_safe"%'"#
    };
}
/// A partial index on the journal holding only the vault-door facts, so a day's vault log reads a
/// few dozen index entries however many events the day holds (the journal's own
/// `(site_id, kind, time_ms)` index would visit every grant of the day and filter the payloads
/// row by row). SQLite and PostgreSQL both support it; it is created at start (`IF NOT EXISTS`;
/// one pass over an existing journal) and then kept by the database on every insert.
const VAULT_INDEX_SQL: &str = concat!(
    "CREATE INDEX IF NOT EXISTS journal_vault_access ON journal (site_id, time_ms) WHERE ",
    vault_predicate!()
);
/// The vault facts of a time range. SQLite's planner, without statistics, prefers
/// `journal_kind_time`, so it is told which index to use.
const VAULT_FACTS_SQLITE: &str = concat!(
    "SELECT seq, time_ms, kind, actor, payload FROM journal INDEXED BY journal_vault_access WHERE site_id = $1 AND time_ms >= $2 AND time_ms < $3 AND ",
    vault_predicate!()
);
const VAULT_FACTS_POSTGRES: &str = concat!(
    "SELECT seq, time_ms, kind, actor, payload FROM journal WHERE site_id = $1 AND time_ms >= $2 AND time_ms < $3 AND ",
    vault_predicate!()
);
const MANUAL_FACTS: &str = "SELECT seq, time_ms, kind, actor, payload FROM journal WHERE site_id = $1 AND kind = $2 AND time_ms >= $3";

/// Creates the vault-log index if it is missing.
pub async fn ensure_vault_index(store: &Store) -> Result<(), String> {
    sqlx::query(VAULT_INDEX_SQL)
        .execute(store.pool())
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot create the vault-log index: {e}"))
}

/// The facts the vault log of `[from_ms, to_ms)` needs: grants into or out of a vault and exits
/// from one in the day (plus a day after, for the times out), and manual entries recorded since
/// the day began, in journal order. Served by the `journal_vault_access` partial index.
pub async fn vault_log_facts(
    store: &Store,
    site_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Fact>, AccessError> {
    let vault_sql = match store.backend() {
        strongroom_store::Backend::Sqlite => VAULT_FACTS_SQLITE,
        strongroom_store::Backend::Postgres => VAULT_FACTS_POSTGRES,
    };
    let mut rows = sqlx::query(vault_sql)
        .bind(site_id)
        .bind(from_ms)
        .bind(to_ms.saturating_add(86_400_000))
        .fetch_all(store.pool())
        .await?;
    rows.extend(
        sqlx::query(MANUAL_FACTS)
            .bind(site_id)
            .bind(k::VAULT_MANUAL_ENTRY)
            .bind(from_ms)
            .fetch_all(store.pool())
            .await?,
    );
    let mut facts: Vec<(i64, Fact)> = Vec::with_capacity(rows.len());
    for r in &rows {
        let seq: i64 = r.try_get("seq")?;
        let payload: String = r.try_get("payload")?;
        let Ok(Value::Object(payload)) = serde_json::from_str::<Value>(&payload) else {
            continue;
        };
        let actor: String = r.try_get("actor")?;
        facts.push((
            seq,
            Fact {
                kind: r.try_get("kind")?,
                actor: actor.parse().unwrap_or(Actor::System),
                time_ms: r.try_get("time_ms")?,
                payload,
            },
        ));
    }
    facts.sort_by_key(|(s, _)| *s);
    Ok(facts.into_iter().map(|(_, f)| f).collect())
}

/// The local day `[start, end)` of `date` in epoch ms.
pub(crate) fn day_bounds(
    date: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
) -> Result<(i64, i64), AccessError> {
    let bad = |e: jiff::Error| AccessError::BadDate(format!("bad date: {e}"));
    let start = date.to_zoned(tz.clone()).map_err(bad)?;
    let end = date
        .tomorrow()
        .map_err(bad)?
        .to_zoned(tz.clone())
        .map_err(bad)?;
    Ok((
        start.timestamp().as_millisecond(),
        end.timestamp().as_millisecond(),
    ))
}
