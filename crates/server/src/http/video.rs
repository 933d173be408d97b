//! Video under `/api/v1/sites/{site}/video`: cameras and timelines, stills, playback (MP4 with
//! byte ranges) and its wall-clock map, evidence exports and legal holds. Handlers authorize,
//! translate, stream bodies and map [`VideoError`] to HTTP; every rule and every audit fact is in
//! `strongroom-video-service`.
use std::io::Write;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use strongroom_domain::auth::Permission;
use strongroom_video_service::views::{
    CameraList, ExportCreated, ExportList, ExportVerification, HoldList, PlaybackMap, Timeline,
};
use strongroom_video_service::{ExportOrder, VideoError, VideoService, still_format};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Session;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Authorized};
use crate::http::perm;
use crate::state::{AppState, SiteRuntime};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cameras))
        .routes(routes!(timeline))
        .routes(routes!(still_image))
        .routes(routes!(playback))
        .routes(routes!(playback_map))
        .routes(routes!(list_exports, create_export))
        .routes(routes!(verify_export))
        .routes(routes!(download_export))
        .routes(routes!(list_holds, create_hold))
        .routes(routes!(release_hold))
}

/// The site's video service.
pub(crate) fn video_service(site: &SiteRuntime) -> Result<Arc<VideoService>, ApiError> {
    site.video
        .get()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("video is not running on this site".into()))
}

impl From<VideoError> for ApiError {
    fn from(e: VideoError) -> Self {
        match e {
            VideoError::BadRequest(m) => ApiError::BadRequest(m),
            VideoError::UnknownCamera(id) => ApiError::NotFound(format!("camera {id:?}")),
            VideoError::NotFound(m) => ApiError::NotFound(m),
            VideoError::Unavailable(m) => ApiError::Unavailable(m),
            VideoError::Conflict(m) => ApiError::Conflict(m),
            VideoError::Journal(e) => ApiError::from(e),
            VideoError::Store(e) => ApiError::from(e),
            VideoError::Internal(m) => ApiError::Internal(m),
        }
    }
}

/// The site's cameras with state, last frame and how far they are recorded.
#[utoipa::path(get, path = "/api/v1/sites/{site}/video/cameras", tag = "video",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = CameraList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "video is not running", body = ErrorBody)),
    security(("session" = ["site-view"])))]
async fn cameras(auth: Authorized<perm::SiteView>) -> Result<Json<CameraList>, ApiError> {
    Ok(Json(video_service(&auth.ctx.site)?.cameras().await?))
}

/// A time window.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RangeQuery {
    /// From, epoch ms.
    from_ms: Option<i64>,
    /// To, epoch ms.
    to_ms: Option<i64>,
}

impl RangeQuery {
    fn required(&self) -> Result<(i64, i64), ApiError> {
        match (self.from_ms, self.to_ms) {
            (Some(f), Some(t)) => Ok((f, t)),
            _ => Err(ApiError::BadRequest(
                "from_ms and to_ms are required".into(),
            )),
        }
    }
}

/// A camera's recorded spans, segments and gaps, with the access and alarm events of what it
/// covers (default: the last hour; at most 7 days).
#[utoipa::path(get, path = "/api/v1/sites/{site}/video/cameras/{camera}/timeline", tag = "video",
    params(("site" = String, Path, description = "site id"),
        ("camera" = String, Path, description = "camera id"), RangeQuery),
    responses((status = 200, description = "success", body = Timeline),
        (status = 400, description = "bad range", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such camera", body = ErrorBody)),
    security(("session" = ["video-recorded"])))]
async fn timeline(
    auth: Authorized<perm::VideoRecorded>,
    ApiPath((_site, camera)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<Timeline>, ApiError> {
    let ctx = &auth.ctx;
    let service = video_service(&ctx.site)?;
    let sees_silent = ctx.can(Permission::SilentAlarmsView);
    Ok(Json(
        service
            .timeline(&camera, q.from_ms, q.to_ms, sees_silent)
            .await?,
    ))
}

/// Which still.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StillQuery {
    /// The recorded frame shown at this time, epoch ms (needs video-recorded); absent: the live
    /// picture (needs video-live).
    at_ms: Option<i64>,
    /// `jpg` (default), `bmp`, `gif` or `png`.
    format: Option<String>,
    /// `1` from a live view refreshing its picture: one fact per user and camera per minute of
    /// watching (`mode = live`), instead of one per picture.
    refresh: Option<u8>,
}

/// A still picture with a burned-in caption (camera, time, zone); journaled as a view.
#[utoipa::path(get, path = "/api/v1/sites/{site}/video/cameras/{camera}/still", tag = "video",
    params(("site" = String, Path, description = "site id"),
        ("camera" = String, Path, description = "camera id"), StillQuery),
    responses((status = 200, description = "the picture; `x-frame-time-ms` names the frame's time", body = [u8], content_type = "image/jpeg"),
        (status = 400, description = "bad query", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such camera or no recording at that time", body = ErrorBody),
        (status = 503, description = "no live picture (the camera is down)", body = ErrorBody)),
    security(("session" = ["video-live"])))]
async fn still_image(
    session: Session,
    ApiPath((site, camera)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<StillQuery>,
) -> Result<Response, ApiError> {
    // The permission depends on what is asked for: a recorded frame or the live picture.
    let permission = if q.at_ms.is_some() {
        Permission::VideoRecorded
    } else {
        Permission::VideoLive
    };
    let ctx = session.authorize(&site, permission).await?;
    let service = video_service(&ctx.site)?;
    let format = still_format(q.format.as_deref())?;
    let still = service
        .still(&camera, q.at_ms, format, q.refresh == Some(1), &ctx.actor)
        .await?;
    let mut res = (StatusCode::OK, still.bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime()),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{}\"", still.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&still.frame_ms.to_string()) {
        h.insert("x-frame-time-ms", v);
    }
    Ok(res)
}

/// The wall-clock map of a playback: which recorded stretches the MP4 of the same range holds,
/// so a player can show the time of the frame on screen. Metadata only.
#[utoipa::path(get, path = "/api/v1/sites/{site}/video/cameras/{camera}/playback.json", tag = "video",
    params(("site" = String, Path, description = "site id"),
        ("camera" = String, Path, description = "camera id"), RangeQuery),
    responses((status = 200, description = "success", body = PlaybackMap),
        (status = 400, description = "bad range (at most 4 hours)", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such camera or no recording in the range", body = ErrorBody)),
    security(("session" = ["video-recorded"])))]
async fn playback_map(
    auth: Authorized<perm::VideoRecorded>,
    ApiPath((_site, camera)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<PlaybackMap>, ApiError> {
    let (from_ms, to_ms) = q.required()?;
    let service = video_service(&auth.ctx.site)?;
    Ok(Json(service.playback_map(&camera, from_ms, to_ms).await?))
}

/// A writer that forwards bytes to an HTTP body (used from a blocking thread).
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A body produced by `f` on a blocking thread, in 256 KiB chunks.
fn blocking_body<F>(f: F) -> Body
where
    F: FnOnce(&mut dyn Write) -> Result<(), String> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::task::spawn_blocking(move || {
        let err_tx = tx.clone();
        let mut w = std::io::BufWriter::with_capacity(256 << 10, ChannelWriter { tx });
        let r = f(&mut w).and_then(|()| w.flush().map_err(|e| e.to_string()));
        if let Err(e) = r {
            tracing::debug!("body stream ended: {e}");
            let _ = err_tx.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Parses a single `Range: bytes=...` header against a length (`Err` = not satisfiable).
fn parse_range(headers: &HeaderMap, len: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(v) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let s = v.to_str().map_err(|_| ())?;
    let spec = s.strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        len.saturating_sub(n)..len
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            len
        } else {
            b.parse::<u64>().map_err(|_| ())?.saturating_add(1).min(len)
        };
        start..end
    };
    if range.start >= range.end || range.start >= len {
        return Err(());
    }
    Ok(Some(range))
}

/// A playable MP4 of a recorded range (at most 4 hours), with byte ranges; journaled as one view
/// per user, camera and range.
#[utoipa::path(get, path = "/api/v1/sites/{site}/video/cameras/{camera}/playback.mp4", tag = "video",
    params(("site" = String, Path, description = "site id"),
        ("camera" = String, Path, description = "camera id"), RangeQuery),
    responses((status = 200, description = "the MP4", body = [u8], content_type = "video/mp4"),
        (status = 206, description = "the requested byte range", body = [u8], content_type = "video/mp4"),
        (status = 400, description = "bad range", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such camera or no recording in the range", body = ErrorBody),
        (status = 416, description = "the byte range is not satisfiable")),
    security(("session" = ["video-recorded"])))]
async fn playback(
    auth: Authorized<perm::VideoRecorded>,
    ApiPath((_site, camera)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Response, ApiError> {
    let (from_ms, to_ms) = q.required()?;
    let ctx = &auth.ctx;
    let service = video_service(&ctx.site)?;
    let plan = service.playback_plan(&camera, from_ms, to_ms).await?;
    let len = plan.total_len();
    let range = match parse_range(&headers, len) {
        Ok(r) => r,
        Err(()) => {
            let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(res);
        }
    };
    service
        .journal_playback(&ctx.actor, &camera, from_ms, to_ms, &plan)
        .await?;
    let (status, r) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r),
        None => (StatusCode::OK, 0..len),
    };
    let content_range = format!("bytes {}-{}/{len}", r.start, r.end - 1);
    let body_len = r.end - r.start;
    let body = blocking_body(move |mut w| {
        plan.write_range(r, &mut w)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&content_range)
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(res)
}

/// An evidence export.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Camera id.
    pub camera: String,
    /// From, epoch ms.
    pub from_ms: i64,
    /// To, epoch ms (at most 12 hours after `from_ms`).
    pub to_ms: i64,
    /// Why (required, up to 1,000 characters; in the signed manifest).
    pub reason: String,
}

/// Writes a signed, tamper-evident evidence bundle (MP4, manifest, signature, public key,
/// README), journaled with who and why.
#[utoipa::path(post, path = "/api/v1/sites/{site}/video/exports", tag = "video",
    params(("site" = String, Path, description = "site id")),
    request_body = ExportRequest,
    responses((status = 201, description = "written", body = ExportCreated),
        (status = 400, description = "bad body or range", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such camera or no recording in the range", body = ErrorBody),
        (status = 409, description = "a recording changed since it was indexed (journaled)", body = ErrorBody)),
    security(("session" = ["video-export"])))]
async fn create_export(
    auth: Authorized<perm::VideoExport>,
    ApiJson(body): ApiJson<ExportRequest>,
) -> Result<(StatusCode, Json<ExportCreated>), ApiError> {
    let ctx = &auth.ctx;
    let service = video_service(&ctx.site)?;
    let order = ExportOrder {
        camera: body.camera,
        from_ms: body.from_ms,
        to_ms: body.to_ms,
        reason: body.reason,
    };
    let created = service.export(order, &ctx.site.key, &ctx.actor).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The stored evidence bundles, newest first. Reading existing bundles is viewing recorded
/// video (and how a regulator receives copies, EXP-08); making one needs video-export.
#[utoipa::path(get, path = "/api/v1/sites/{site}/video/exports", tag = "video",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = ExportList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["video-recorded"])))]
async fn list_exports(auth: Authorized<perm::VideoRecorded>) -> Result<Json<ExportList>, ApiError> {
    Ok(Json(video_service(&auth.ctx.site)?.exports().await?))
}

/// One file of a stored bundle (a plain GET: a download link sends no CSRF header); the
/// delivery is journaled first.
#[utoipa::path(get, path = "/api/v1/sites/{site}/video/exports/{id}/{file}", tag = "video",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "export id"),
        ("file" = String, Path, description = "`video.mp4`, `manifest.json`, `manifest.sig`, `site_key.pem` or `README.txt`")),
    responses((status = 200, description = "the file", body = [u8], content_type = "application/octet-stream"),
        (status = 400, description = "bad export id", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such export or file", body = ErrorBody)),
    security(("session" = ["video-recorded"])))]
async fn download_export(
    auth: Authorized<perm::VideoRecorded>,
    ApiPath((_site, id, file)): ApiPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let ctx = &auth.ctx;
    let service = video_service(&ctx.site)?;
    let d = service.download(&id, &file, &ctx.actor).await?;
    let path = d.path.clone();
    let body = blocking_body(move |w| {
        let mut f = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        std::io::copy(&mut f, w)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(d.mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(d.bytes));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", d.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// Re-verifies a stored bundle against the site's own key and journals the result (EXP-06).
#[utoipa::path(post, path = "/api/v1/sites/{site}/video/exports/{id}/verify", tag = "video",
    params(("site" = String, Path, description = "site id"),
        ("id" = String, Path, description = "export id")),
    responses((status = 200, description = "verified (see `intact`)", body = ExportVerification),
        (status = 400, description = "bad export id", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such export", body = ErrorBody)),
    security(("session" = ["video-recorded"])))]
async fn verify_export(
    auth: Authorized<perm::VideoRecorded>,
    ApiPath((_site, id)): ApiPath<(String, String)>,
) -> Result<Json<ExportVerification>, ApiError> {
    let ctx = &auth.ctx;
    let service = video_service(&ctx.site)?;
    Ok(Json(
        service
            .verify_export(&id, &ctx.site.key, &ctx.actor)
            .await?,
    ))
}

/// A legal hold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// Cameras to hold; empty: every camera.
    #[serde(default)]
    pub cameras: Vec<String>,
    /// From, epoch ms.
    pub from_ms: i64,
    /// To, epoch ms.
    pub to_ms: i64,
    /// Why (required, up to 1,000 characters).
    pub reason: String,
    /// Case or incident reference (up to 200 characters).
    #[serde(default)]
    pub reference: String,
}

/// A hold placed.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldCreated {
    /// Hold id.
    pub id: i64,
}

/// Places a legal hold: the footage is never purged while it is in force (journaled).
#[utoipa::path(post, path = "/api/v1/sites/{site}/video/holds", tag = "video",
    params(("site" = String, Path, description = "site id")),
    request_body = HoldRequest,
    responses((status = 201, description = "placed", body = HoldCreated),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such camera", body = ErrorBody)),
    security(("session" = ["holds-manage"])))]
async fn create_hold(
    auth: Authorized<perm::HoldsManage>,
    ApiJson(body): ApiJson<HoldRequest>,
) -> Result<(StatusCode, Json<HoldCreated>), ApiError> {
    let ctx = &auth.ctx;
    let service = video_service(&ctx.site)?;
    let id = service
        .place_hold(
            body.cameras,
            body.from_ms,
            body.to_ms,
            &body.reason,
            &body.reference,
            ctx.actor.clone(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(HoldCreated { id })))
}

/// The site's legal holds.
#[utoipa::path(get, path = "/api/v1/sites/{site}/video/holds", tag = "video",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = HoldList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["video-recorded"])))]
async fn list_holds(auth: Authorized<perm::VideoRecorded>) -> Result<Json<HoldList>, ApiError> {
    Ok(Json(video_service(&auth.ctx.site)?.holds().await?))
}

/// A release.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The regulator's approval reference (required where the jurisdiction requires it).
    #[serde(default)]
    pub approval_reference: String,
}

/// A hold released.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldReleased {
    /// Hold id.
    pub id: i64,
    /// Always true.
    pub released: bool,
}

/// Releases a legal hold (journaled).
#[utoipa::path(post, path = "/api/v1/sites/{site}/video/holds/{id}/release", tag = "video",
    params(("site" = String, Path, description = "site id"),
        ("id" = i64, Path, description = "hold id")),
    request_body = ReleaseRequest,
    responses((status = 200, description = "released", body = HoldReleased),
        (status = 400, description = "bad body, or the approval reference is missing", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such hold", body = ErrorBody)),
    security(("session" = ["holds-manage"])))]
async fn release_hold(
    auth: Authorized<perm::HoldsManage>,
    ApiPath((_site, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<ReleaseRequest>,
) -> Result<Json<HoldReleased>, ApiError> {
    let ctx = &auth.ctx;
    let service = video_service(&ctx.site)?;
    service
        .release_hold(id, &body.approval_reference, &ctx.actor)
        .await?;
    Ok(Json(HoldReleased { id, released: true }))
}
