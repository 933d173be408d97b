//! The segment index: this crate's own `video_*` tables, through sqlx's Any driver so one code path
//! serves SQLite and PostgreSQL.
//!
//! Portable SQL only: integer times (`*_90k`, 90 kHz ticks since the epoch), no auto-increment (ids
//! are chosen by the writer: a segment is `(camera_id, seq)`, and each camera has exactly one writer,
//! its recorder task), `$n` placeholders used in ascending order, blobs as BLOB/BYTEA picked at
//! migration time. [`migrate`] is idempotent.
//!
//! Storage invariants (as moonfire-nvr): a segment row is inserted only after its file and directory
//! are fsynced ([`strongroom_media::segment::SegmentWriter::finish`]); deletes go through
//! `video_garbage` (row moved to garbage in one transaction → file unlinked → garbage row removed).

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use strongroom_media::segment::{Codec, SampleEntry};
use thiserror::Error;

/// Index errors.
#[derive(Debug, Error)]
pub enum IndexError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A stored value is not what this code wrote.
    #[error("corrupt index row: {0}")]
    Corrupt(String),
    /// A referenced row does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is not allowed (e.g. releasing a hold without the approval the jurisdiction needs).
    #[error("refused: {0}")]
    Refused(String),
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, IndexError>;

/// Which SQL engine is behind the Any pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Finds out which engine `pool` talks to.
pub async fn backend(pool: &AnyPool) -> Result<Backend> {
    let conn = pool.acquire().await?;
    let name = conn.backend_name().to_ascii_lowercase();
    if name.contains("postgres") {
        Ok(Backend::Postgres)
    } else if name.contains("sqlite") {
        Ok(Backend::Sqlite)
    } else {
        Err(IndexError::Corrupt(format!(
            "unsupported database backend {name}"
        )))
    }
}

/// Creates the `video_*` tables and indexes if they are missing. Safe to run at every start.
pub async fn migrate(pool: &AnyPool) -> Result<()> {
    let blob = match backend(pool).await? {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "BYTEA",
    };
    let stmts = [
        "CREATE TABLE IF NOT EXISTS video_camera_stream (
            id BIGINT PRIMARY KEY,
            camera_key TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            created_90k BIGINT NOT NULL)"
            .to_owned(),
        format!(
            "CREATE TABLE IF NOT EXISTS video_sample_entry (
            id BIGINT PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            codec TEXT NOT NULL,
            width BIGINT NOT NULL,
            height BIGINT NOT NULL,
            decoder_config {blob} NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS video_segment (
            camera_id BIGINT NOT NULL REFERENCES video_camera_stream (id),
            seq BIGINT NOT NULL,
            start_time_90k BIGINT NOT NULL,
            duration_90k BIGINT NOT NULL,
            path TEXT NOT NULL,
            bytes BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            frame_count BIGINT NOT NULL,
            fps_x1000 BIGINT NOT NULL,
            width BIGINT NOT NULL,
            height BIGINT NOT NULL,
            sample_index {blob} NOT NULL,
            sample_entry_id BIGINT NOT NULL REFERENCES video_sample_entry (id),
            PRIMARY KEY (camera_id, seq))"
        ),
        "CREATE INDEX IF NOT EXISTS video_segment_time ON video_segment (camera_id, start_time_90k)"
            .to_owned(),
        "CREATE TABLE IF NOT EXISTS video_gap (
            camera_id BIGINT NOT NULL REFERENCES video_camera_stream (id),
            start_90k BIGINT NOT NULL,
            end_90k BIGINT NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (camera_id, start_90k))"
            .to_owned(),
        "CREATE TABLE IF NOT EXISTS video_hold (
            id BIGINT PRIMARY KEY,
            all_cameras BIGINT NOT NULL,
            start_90k BIGINT NOT NULL,
            end_90k BIGINT NOT NULL,
            reason TEXT NOT NULL,
            reference TEXT NOT NULL,
            created_90k BIGINT NOT NULL,
            created_by TEXT NOT NULL,
            released_90k BIGINT,
            released_by TEXT,
            release_approval TEXT)"
            .to_owned(),
        "CREATE TABLE IF NOT EXISTS video_hold_camera (
            hold_id BIGINT NOT NULL REFERENCES video_hold (id),
            camera_key TEXT NOT NULL,
            PRIMARY KEY (hold_id, camera_key))"
            .to_owned(),
        "CREATE TABLE IF NOT EXISTS video_garbage (
            camera_id BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            path TEXT NOT NULL,
            PRIMARY KEY (camera_id, seq))"
            .to_owned(),
    ];
    let mut tx = pool.begin().await?;
    for s in stmts {
        sqlx::query(sqlx::AssertSqlSafe(s))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whether a database error is a unique/primary-key violation (an id race lost).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation)
                || d.code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

/// Returns the id of the camera stream with `camera_key`, creating its row if needed.
pub async fn ensure_camera(
    pool: &AnyPool,
    camera_key: &str,
    url: &str,
    now_90k: i64,
) -> Result<i64> {
    for _ in 0..8 {
        if let Some(id) = camera_id(pool, camera_key).await? {
            sqlx::query("UPDATE video_camera_stream SET url = $1 WHERE id = $2")
                .bind(url)
                .bind(id)
                .execute(pool)
                .await?;
            return Ok(id);
        }
        let r = sqlx::query(
            "INSERT INTO video_camera_stream (id, camera_key, url, created_90k)
             SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3 FROM video_camera_stream",
        )
        .bind(camera_key)
        .bind(url)
        .bind(now_90k)
        .execute(pool)
        .await;
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(IndexError::Corrupt(format!(
        "could not allocate an id for camera {camera_key}"
    )))
}

/// The id of the camera stream with `camera_key`, if it has one.
pub async fn camera_id(pool: &AnyPool, camera_key: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM video_camera_stream WHERE camera_key = $1")
            .bind(camera_key)
            .fetch_optional(pool)
            .await?,
    )
}

/// All camera streams as `(id, camera_key)`.
pub async fn cameras(pool: &AnyPool) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, camera_key FROM video_camera_stream ORDER BY id")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// What the index holds per camera: (camera key, segments, frames, bytes), by camera key.
pub async fn retained_totals(pool: &AnyPool) -> Result<Vec<(String, i64, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT c.camera_key, COUNT(s.seq), COALESCE(SUM(s.frame_count), 0), COALESCE(SUM(s.bytes), 0) \
         FROM video_camera_stream c LEFT JOIN video_segment s ON s.camera_id = c.id \
         GROUP BY c.camera_key ORDER BY c.camera_key",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect()
}

fn codec_text(c: Codec) -> &'static str {
    match c {
        Codec::H264 => "h264",
        Codec::H265 => "h265",
    }
}

/// Returns the id of a stored sample entry equal to `entry`, inserting it if new.
pub async fn ensure_sample_entry(pool: &AnyPool, entry: &SampleEntry) -> Result<i64> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(codec_text(entry.codec).as_bytes());
    h.update(entry.width.to_be_bytes());
    h.update(entry.height.to_be_bytes());
    h.update(&entry.decoder_config);
    let key = hex::encode(h.finalize());
    for _ in 0..8 {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM video_sample_entry WHERE sha256 = $1")
                .bind(&key)
                .fetch_optional(pool)
                .await?;
        if let Some(id) = id {
            return Ok(id);
        }
        let r = sqlx::query(
            "INSERT INTO video_sample_entry (id, sha256, codec, width, height, decoder_config)
             SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, $5 FROM video_sample_entry",
        )
        .bind(&key)
        .bind(codec_text(entry.codec))
        .bind(i64::from(entry.width))
        .bind(i64::from(entry.height))
        .bind(entry.decoder_config.clone())
        .execute(pool)
        .await;
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(IndexError::Corrupt(
        "could not allocate a sample entry id".into(),
    ))
}

/// Loads a sample entry by id.
pub async fn sample_entry(pool: &AnyPool, id: i64) -> Result<SampleEntry> {
    let row = sqlx::query(
        "SELECT codec, width, height, decoder_config FROM video_sample_entry WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| IndexError::NotFound(format!("sample entry {id}")))?;
    let codec: String = row.try_get(0)?;
    let codec = match codec.as_str() {
        "h264" => Codec::H264,
        "h265" => Codec::H265,
        other => return Err(IndexError::Corrupt(format!("codec {other}"))),
    };
    let dim = |v: i64| u16::try_from(v).map_err(|_| IndexError::Corrupt(format!("dimension {v}")));
    Ok(SampleEntry {
        codec,
        width: dim(row.try_get(1)?)?,
        height: dim(row.try_get(2)?)?,
        decoder_config: row.try_get(3)?,
    })
}

/// One indexed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    /// `video_camera_stream.id`.
    pub camera_id: i64,
    /// Segment number within the camera (ascending in time).
    pub seq: i64,
    /// First frame, 90 kHz since epoch.
    pub start_time_90k: i64,
    /// Sum of frame durations, 90 kHz ticks.
    pub duration_90k: i64,
    /// File path relative to the storage directory.
    pub path: String,
    /// File size.
    pub bytes: i64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256_hex: String,
    /// Frames in the segment.
    pub frame_count: i64,
    /// Measured frames per second × 1000.
    pub fps_x1000: i64,
    /// Width from the SPS.
    pub width: i64,
    /// Height from the SPS.
    pub height: i64,
    /// [`strongroom_media::segment::SampleIndex::encode`] output.
    pub sample_index: Vec<u8>,
    /// `video_sample_entry.id`.
    pub sample_entry_id: i64,
}

impl SegmentRow {
    /// End of the segment, 90 kHz since epoch.
    pub fn end_time_90k(&self) -> i64 {
        self.start_time_90k + self.duration_90k
    }
}

const SEGMENT_COLS: &str = "camera_id, seq, start_time_90k, duration_90k, path, bytes, sha256, \
     frame_count, fps_x1000, width, height, sample_index, sample_entry_id";

fn segment_from_row(r: &AnyRow) -> Result<SegmentRow> {
    Ok(SegmentRow {
        camera_id: r.try_get(0)?,
        seq: r.try_get(1)?,
        start_time_90k: r.try_get(2)?,
        duration_90k: r.try_get(3)?,
        path: r.try_get(4)?,
        bytes: r.try_get(5)?,
        sha256_hex: r.try_get(6)?,
        frame_count: r.try_get(7)?,
        fps_x1000: r.try_get(8)?,
        width: r.try_get(9)?,
        height: r.try_get(10)?,
        sample_index: r.try_get(11)?,
        sample_entry_id: r.try_get(12)?,
    })
}

/// Inserts a segment row. Call only after the file and its directory are fsynced.
pub async fn insert_segment(pool: &AnyPool, s: &SegmentRow) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO video_segment ({SEGMENT_COLS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )))
    .bind(s.camera_id)
    .bind(s.seq)
    .bind(s.start_time_90k)
    .bind(s.duration_90k)
    .bind(s.path.clone())
    .bind(s.bytes)
    .bind(s.sha256_hex.clone())
    .bind(s.frame_count)
    .bind(s.fps_x1000)
    .bind(s.width)
    .bind(s.height)
    .bind(s.sample_index.clone())
    .bind(s.sample_entry_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Segments of one camera overlapping `[start_90k, end_90k)`, oldest first.
pub async fn segments_in_range(
    pool: &AnyPool,
    camera_id: i64,
    start_90k: i64,
    end_90k: i64,
) -> Result<Vec<SegmentRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SEGMENT_COLS} FROM video_segment \
         WHERE camera_id = $1 AND start_time_90k < $2 AND start_time_90k + duration_90k > $3 \
         ORDER BY start_time_90k, seq"
    )))
    .bind(camera_id)
    .bind(end_90k)
    .bind(start_90k)
    .fetch_all(pool)
    .await?;
    rows.iter().map(segment_from_row).collect()
}

/// Every segment of every camera, oldest first.
pub async fn all_segments(pool: &AnyPool) -> Result<Vec<SegmentRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SEGMENT_COLS} FROM video_segment ORDER BY start_time_90k, camera_id, seq"
    )))
    .fetch_all(pool)
    .await?;
    rows.iter().map(segment_from_row).collect()
}

/// A segment's identity and what the retention planner needs, without the sample index blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMeta {
    /// Camera stream id.
    pub camera_id: i64,
    /// The camera's key.
    pub camera_key: String,
    /// Segment number.
    pub seq: i64,
    /// Start, 90 kHz since epoch.
    pub start_time_90k: i64,
    /// Duration, 90 kHz ticks.
    pub duration_90k: i64,
    /// File size.
    pub bytes: i64,
    /// Relative path.
    pub path: String,
    /// SHA-256 hex.
    pub sha256_hex: String,
}

/// Every segment's metadata (no blobs), oldest first.
pub async fn segment_metas(pool: &AnyPool) -> Result<Vec<SegmentMeta>> {
    let rows = sqlx::query(
        "SELECT s.camera_id, c.camera_key, s.seq, s.start_time_90k, s.duration_90k, s.bytes, s.path, s.sha256
         FROM video_segment s JOIN video_camera_stream c ON c.id = s.camera_id
         ORDER BY s.start_time_90k, s.camera_id, s.seq",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SegmentMeta {
                camera_id: r.try_get(0)?,
                camera_key: r.try_get(1)?,
                seq: r.try_get(2)?,
                start_time_90k: r.try_get(3)?,
                duration_90k: r.try_get(4)?,
                bytes: r.try_get(5)?,
                path: r.try_get(6)?,
                sha256_hex: r.try_get(7)?,
            })
        })
        .collect()
}

/// The next free segment number of a camera (greater than any row, live or garbage).
pub async fn next_segment_seq(pool: &AnyPool, camera_id: i64) -> Result<i64> {
    let live: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM video_segment WHERE camera_id = $1")
            .bind(camera_id)
            .fetch_one(pool)
            .await?;
    let garbage: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM video_garbage WHERE camera_id = $1")
            .bind(camera_id)
            .fetch_one(pool)
            .await?;
    Ok(live.max(garbage) + 1)
}

/// The latest instant the index accounts for on a camera: the end of its last segment or gap.
pub async fn last_accounted_end(pool: &AnyPool, camera_id: i64) -> Result<Option<i64>> {
    let seg: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(start_time_90k + duration_90k) FROM video_segment WHERE camera_id = $1",
    )
    .bind(camera_id)
    .fetch_one(pool)
    .await?;
    let gap: Option<i64> =
        sqlx::query_scalar("SELECT MAX(end_90k) FROM video_gap WHERE camera_id = $1")
            .bind(camera_id)
            .fetch_one(pool)
            .await?;
    Ok(match (seg, gap) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    })
}

/// A recording gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapRow {
    /// Camera stream id.
    pub camera_id: i64,
    /// End of the last recorded frame before the gap.
    pub start_90k: i64,
    /// Start of recording after the gap (or shutdown time).
    pub end_90k: i64,
    /// Why.
    pub reason: String,
}

/// Stores a gap. A gap starting where an existing one starts replaces it (it can only have grown).
pub async fn insert_gap(pool: &AnyPool, g: &GapRow) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM video_gap WHERE camera_id = $1 AND start_90k = $2")
        .bind(g.camera_id)
        .bind(g.start_90k)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO video_gap (camera_id, start_90k, end_90k, reason) VALUES ($1, $2, $3, $4)",
    )
    .bind(g.camera_id)
    .bind(g.start_90k)
    .bind(g.end_90k)
    .bind(g.reason.clone())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Gaps of one camera overlapping `[start_90k, end_90k)`, oldest first.
pub async fn gaps_in_range(
    pool: &AnyPool,
    camera_id: i64,
    start_90k: i64,
    end_90k: i64,
) -> Result<Vec<GapRow>> {
    let rows = sqlx::query(
        "SELECT camera_id, start_90k, end_90k, reason FROM video_gap
         WHERE camera_id = $1 AND start_90k < $2 AND end_90k > $3 ORDER BY start_90k",
    )
    .bind(camera_id)
    .bind(end_90k)
    .bind(start_90k)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(GapRow {
                camera_id: r.try_get(0)?,
                start_90k: r.try_get(1)?,
                end_90k: r.try_get(2)?,
                reason: r.try_get(3)?,
            })
        })
        .collect()
}

/// A segment moved to the garbage list: its row is gone, its file may still exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarbageRow {
    /// Camera stream id.
    pub camera_id: i64,
    /// Segment number.
    pub seq: i64,
    /// Relative path of the file to unlink.
    pub path: String,
}

/// Moves segments from the index to the garbage list in one transaction. Returns the rows moved
/// (segments already gone are skipped).
pub async fn mark_garbage(pool: &AnyPool, segments: &[(i64, i64)]) -> Result<Vec<GarbageRow>> {
    let mut tx = pool.begin().await?;
    let mut moved = Vec::with_capacity(segments.len());
    for &(camera_id, seq) in segments {
        let path: Option<String> =
            sqlx::query_scalar("SELECT path FROM video_segment WHERE camera_id = $1 AND seq = $2")
                .bind(camera_id)
                .bind(seq)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(path) = path else { continue };
        sqlx::query("INSERT INTO video_garbage (camera_id, seq, path) VALUES ($1, $2, $3)")
            .bind(camera_id)
            .bind(seq)
            .bind(path.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM video_segment WHERE camera_id = $1 AND seq = $2")
            .bind(camera_id)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        moved.push(GarbageRow {
            camera_id,
            seq,
            path,
        });
    }
    tx.commit().await?;
    Ok(moved)
}

/// The garbage list.
pub async fn garbage(pool: &AnyPool) -> Result<Vec<GarbageRow>> {
    let rows =
        sqlx::query("SELECT camera_id, seq, path FROM video_garbage ORDER BY camera_id, seq")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(GarbageRow {
                camera_id: r.try_get(0)?,
                seq: r.try_get(1)?,
                path: r.try_get(2)?,
            })
        })
        .collect()
}

/// Removes garbage rows whose files are known to be unlinked (and their directory fsynced).
pub async fn remove_garbage(pool: &AnyPool, rows: &[GarbageRow]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for g in rows {
        sqlx::query("DELETE FROM video_garbage WHERE camera_id = $1 AND seq = $2")
            .bind(g.camera_id)
            .bind(g.seq)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A legal hold on footage: a camera set × time range (RET-03/04).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Hold id.
    pub id: i64,
    /// Camera keys covered; empty with `all_cameras` = every camera.
    pub cameras: Vec<String>,
    /// True if the hold covers every camera.
    pub all_cameras: bool,
    /// Start of the held window, 90 kHz since epoch.
    pub start_90k: i64,
    /// End of the held window.
    pub end_90k: i64,
    /// Why (incident, subpoena, preservation letter, ...).
    pub reason: String,
    /// External reference (incident number, case number).
    pub reference: String,
    /// When placed.
    pub created_90k: i64,
    /// Who placed it.
    pub created_by: String,
    /// When released, if released.
    pub released_90k: Option<i64>,
    /// Who released it.
    pub released_by: Option<String>,
    /// Approval / closure reference given at release (RET-05).
    pub release_approval: Option<String>,
}

impl Hold {
    /// True if the hold is in force.
    pub fn is_active(&self) -> bool {
        self.released_90k.is_none()
    }

    /// True if the hold covers `camera_key` over any part of `[start_90k, end_90k)`.
    pub fn covers(&self, camera_key: &str, start_90k: i64, end_90k: i64) -> bool {
        self.is_active()
            && (self.all_cameras || self.cameras.iter().any(|c| c == camera_key))
            && start_90k < self.end_90k
            && end_90k > self.start_90k
    }
}

/// What a caller gives to place a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHold {
    /// Camera keys; empty means every camera.
    pub cameras: Vec<String>,
    /// Start of the held window.
    pub start_90k: i64,
    /// End of the held window.
    pub end_90k: i64,
    /// Why.
    pub reason: String,
    /// External reference.
    pub reference: String,
    /// Who.
    pub created_by: String,
}

/// Places a hold and returns its id.
pub async fn create_hold(pool: &AnyPool, h: &NewHold, now_90k: i64) -> Result<i64> {
    if h.end_90k <= h.start_90k {
        return Err(IndexError::Refused("hold window is empty".into()));
    }
    for _ in 0..8 {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM video_hold")
            .fetch_one(&mut *tx)
            .await?;
        let r = sqlx::query(
            "INSERT INTO video_hold (id, all_cameras, start_90k, end_90k, reason, reference, created_90k, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(i64::from(h.cameras.is_empty()))
        .bind(h.start_90k)
        .bind(h.end_90k)
        .bind(h.reason.clone())
        .bind(h.reference.clone())
        .bind(now_90k)
        .bind(h.created_by.clone())
        .execute(&mut *tx)
        .await;
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
        for c in &h.cameras {
            sqlx::query(
                "INSERT INTO video_hold_camera (hold_id, camera_key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(c.clone())
            .execute(&mut *tx)
            .await?;
        }
        match tx.commit().await {
            Ok(()) => return Ok(id),
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(IndexError::Corrupt("could not allocate a hold id".into()))
}

/// Releases a hold. When `approval_required` (the jurisdiction needs e.g. Department approval or a
/// closure notice), `approval_reference` must be non-empty. A released hold stays in the table.
pub async fn release_hold(
    pool: &AnyPool,
    hold_id: i64,
    released_by: &str,
    approval_reference: &str,
    approval_required: bool,
    now_90k: i64,
) -> Result<()> {
    if approval_required && approval_reference.trim().is_empty() {
        return Err(IndexError::Refused(
            "releasing this hold needs an approval or closure reference".into(),
        ));
    }
    let r = sqlx::query(
        "UPDATE video_hold SET released_90k = $1, released_by = $2, release_approval = $3
         WHERE id = $4 AND released_90k IS NULL",
    )
    .bind(now_90k)
    .bind(released_by)
    .bind(approval_reference)
    .bind(hold_id)
    .execute(pool)
    .await?;
    if r.rows_affected() == 0 {
        return Err(IndexError::NotFound(format!("active hold {hold_id}")));
    }
    Ok(())
}

/// All holds (active and released), by id.
pub async fn holds(pool: &AnyPool) -> Result<Vec<Hold>> {
    let rows = sqlx::query(
        "SELECT id, all_cameras, start_90k, end_90k, reason, reference, created_90k, created_by,
                released_90k, released_by, release_approval FROM video_hold ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let cams = sqlx::query(
        "SELECT hold_id, camera_key FROM video_hold_camera ORDER BY hold_id, camera_key",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get(0)?;
        let mut cameras = Vec::new();
        for c in &cams {
            let hid: i64 = c.try_get(0)?;
            if hid == id {
                cameras.push(c.try_get(1)?);
            }
        }
        let all: i64 = r.try_get(1)?;
        out.push(Hold {
            id,
            cameras,
            all_cameras: all != 0,
            start_90k: r.try_get(2)?,
            end_90k: r.try_get(3)?,
            reason: r.try_get(4)?,
            reference: r.try_get(5)?,
            created_90k: r.try_get(6)?,
            created_by: r.try_get(7)?,
            released_90k: r.try_get(8)?,
            released_by: r.try_get(9)?,
            release_approval: r.try_get(10)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    fn seg(camera_id: i64, seq: i64, start: i64, entry: i64) -> SegmentRow {
        SegmentRow {
            camera_id,
            seq,
            start_time_90k: start,
            duration_90k: 270_000,
            path: format!("{camera_id}/{seq:010}.seg"),
            bytes: 1234,
            sha256_hex: "ab".repeat(32),
            frame_count: 45,
            fps_x1000: 15_000,
            width: 640,
            height: 360,
            sample_index: vec![1, 2, 3],
            sample_entry_id: entry,
        }
    }

    async fn exercise(db: &TestDb) {
        let pool = &db.pool;
        migrate(pool).await.expect("second migrate is a no-op");
        let a = ensure_camera(pool, "front", "rtsp://a", 1).await.unwrap();
        let b = ensure_camera(pool, "back", "rtsp://b", 1).await.unwrap();
        assert_ne!(a, b);
        assert_eq!(
            ensure_camera(pool, "front", "rtsp://a2", 2).await.unwrap(),
            a
        );
        assert_eq!(cameras(pool).await.unwrap().len(), 2);

        let entry = SampleEntry {
            codec: Codec::H264,
            width: 640,
            height: 360,
            decoder_config: vec![1, 0x42, 0, 0x1e, 0xff],
        };
        let e1 = ensure_sample_entry(pool, &entry).await.unwrap();
        assert_eq!(ensure_sample_entry(pool, &entry).await.unwrap(), e1);
        let mut other = entry.clone();
        other.width = 1280;
        assert_ne!(ensure_sample_entry(pool, &other).await.unwrap(), e1);
        assert_eq!(sample_entry(pool, e1).await.unwrap(), entry);

        assert_eq!(next_segment_seq(pool, a).await.unwrap(), 1);
        assert_eq!(last_accounted_end(pool, a).await.unwrap(), None);
        for i in 1..=3 {
            insert_segment(pool, &seg(a, i, i * 270_000, e1))
                .await
                .unwrap();
        }
        assert!(
            insert_segment(pool, &seg(a, 2, 0, e1)).await.is_err(),
            "duplicate key"
        );
        assert_eq!(next_segment_seq(pool, a).await.unwrap(), 4);
        let got = segments_in_range(pool, a, 300_000, 600_000).await.unwrap();
        assert_eq!(got.iter().map(|s| s.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(got[0], seg(a, 1, 270_000, e1));
        assert_eq!(
            last_accounted_end(pool, a).await.unwrap(),
            Some(4 * 270_000)
        );

        let g = GapRow {
            camera_id: a,
            start_90k: 4 * 270_000,
            end_90k: 5 * 270_000,
            reason: "frames stopped".into(),
        };
        insert_gap(pool, &g).await.unwrap();
        let g2 = GapRow {
            end_90k: 6 * 270_000,
            ..g.clone()
        };
        insert_gap(pool, &g2).await.unwrap();
        assert_eq!(gaps_in_range(pool, a, 0, i64::MAX).await.unwrap(), vec![g2]);
        assert_eq!(
            last_accounted_end(pool, a).await.unwrap(),
            Some(6 * 270_000)
        );

        let moved = mark_garbage(pool, &[(a, 1), (a, 99)]).await.unwrap();
        assert_eq!(moved.len(), 1);
        assert_eq!(garbage(pool).await.unwrap(), moved);
        assert_eq!(segment_metas(pool).await.unwrap().len(), 2);
        insert_segment(pool, &seg(b, 1, 0, e1)).await.unwrap();
        mark_garbage(pool, &[(a, 3)]).await.unwrap();
        assert_eq!(
            next_segment_seq(pool, a).await.unwrap(),
            4,
            "garbage keeps seq reserved"
        );
        remove_garbage(pool, &moved).await.unwrap();
        assert_eq!(garbage(pool).await.unwrap().len(), 1);

        let h = NewHold {
            cameras: vec!["front".into()],
            start_90k: 10,
            end_90k: 20,
            reason: "theft".into(),
            reference: "INC-7".into(),
            created_by: "alice".into(),
        };
        let h1 = create_hold(pool, &h, 5).await.unwrap();
        let h2 = create_hold(
            pool,
            &NewHold {
                cameras: vec![],
                ..h.clone()
            },
            6,
        )
        .await
        .unwrap();
        assert_ne!(h1, h2);
        assert!(
            create_hold(
                pool,
                &NewHold {
                    end_90k: 10,
                    ..h.clone()
                },
                6
            )
            .await
            .is_err()
        );
        let hs = holds(pool).await.unwrap();
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[0].cameras, vec!["front".to_owned()]);
        assert!(!hs[0].all_cameras && hs[1].all_cameras);
        assert!(hs[0].covers("front", 15, 30) && !hs[0].covers("back", 15, 30));
        assert!(hs[1].covers("back", 0, 11) && !hs[1].covers("back", 20, 30));
        assert!(matches!(
            release_hold(pool, h1, "bob", " ", true, 50).await,
            Err(IndexError::Refused(_))
        ));
        release_hold(pool, h1, "bob", "IDFPR-2026-1", true, 50)
            .await
            .unwrap();
        assert!(matches!(
            release_hold(pool, h1, "bob", "again", true, 51).await,
            Err(IndexError::NotFound(_))
        ));
        release_hold(pool, h2, "bob", "", false, 52).await.unwrap();
        let hs = holds(pool).await.unwrap();
        assert_eq!(hs[0].released_90k, Some(50));
        assert_eq!(hs[0].release_approval.as_deref(), Some("IDFPR-2026-1"));
        assert!(!hs[0].covers("front", 15, 30));
    }

    #[tokio::test]
    async fn index_round_trips_on_every_backend() {
        let dir = tempfile::tempdir().unwrap();
        for db in TestDb::all(dir.path()).await.unwrap() {
            eprintln!("backend {}", db.label);
            exercise(&db).await;
            db.close().await.unwrap();
        }
    }
}
