//! The site's own routes: its model, the journal's events (history and live), device states,
//! device reports from HTTP controllers, the site file, journal verification.
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use strongroom_domain::auth::Permission;
use strongroom_journal::JournalEvent;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::visible_to;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery, Authorized};
use crate::http::perm;
use crate::state::{AppState, ConfigApplyError};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(site_model))
        .routes(routes!(events))
        .routes(routes!(events_stream))
        .routes(routes!(devices))
        .routes(routes!(device_event))
        .routes(routes!(get_config, put_config))
        .routes(routes!(verify_journal))
}

/// One journaled event as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// Sequence number within the site, from 1.
    pub seq: u64,
    /// When it happened, epoch milliseconds UTC.
    pub time_ms: i64,
    /// Dotted kind (`door.forced`, `alarm.raised`, ...).
    pub kind: String,
    /// Who or what caused it: `system`, `user:NAME`, `device:ID`, `person:ID`.
    pub actor: String,
    /// The fact's details (a JSON object; its keys depend on the kind).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The chain hash of this event, hex.
    pub hash: String,
}

impl EventView {
    /// The view of a journaled event.
    pub fn of(e: &JournalEvent) -> EventView {
        EventView {
            seq: e.seq,
            time_ms: e.time_ms,
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            payload: serde_json::from_str::<Value>(&e.payload).unwrap_or(Value::Null),
            hash: hex::encode(e.hash),
        }
    }
}

/// The site model: areas, doors, readers, sensors, panels, cameras, policy. Where secrets are
/// kept (`central_station`, `notify`) is left out for roles that cannot manage configuration.
#[utoipa::path(get, path = "/api/v1/sites/{site}", tag = "site",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "the site model (see docs/site-file.md)", body = Object),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody), (status = 404, description = "no such site", body = ErrorBody)),
    security(("session" = ["site-view"])))]
async fn site_model(auth: Authorized<perm::SiteView>) -> Result<axum::Json<Value>, ApiError> {
    let ctx = auth.ctx;
    let c = ctx.site.config();
    let mut v = serde_json::to_value(&*c).map_err(|e| ApiError::Internal(e.to_string()))?;
    if !ctx.can(Permission::ConfigManage)
        && let Some(obj) = v.as_object_mut()
    {
        obj.remove("central_station");
        obj.remove("notify");
    }
    Ok(axum::Json(v))
}

/// Which events to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Only kinds starting with this prefix (`alarm.`, `door.`).
    kind: Option<String>,
    /// Only events with a smaller sequence number (paging backwards).
    before: Option<u64>,
    /// How many, 1 to 1,000 (default 100).
    limit: Option<u32>,
}

/// Events, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct EventList {
    events: Vec<EventView>,
}

/// Journal events, newest first; silent alarms only for monitoring roles.
#[utoipa::path(get, path = "/api/v1/sites/{site}/events", tag = "site",
    params(("site" = String, Path, description = "site id"), EventsQuery),
    responses((status = 200, description = "success", body = EventList), (status = 400, description = "bad input (JSON error names the field)", body = ErrorBody), (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["events-view"])))]
async fn events(
    auth: Authorized<perm::EventsView>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<axum::Json<EventList>, ApiError> {
    let ctx = auth.ctx;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = state
        .store
        .recent_events(&ctx.site.id, q.kind.as_deref(), q.before, limit)
        .await?;
    let events = rows
        .iter()
        .filter(|e| visible_to(&ctx, e))
        .map(EventView::of)
        .collect();
    Ok(axum::Json(EventList { events }))
}

/// Live journal events as Server-Sent Events: `journal` events carry an [`EventView`] as JSON,
/// `lagged` events the number of events this client missed.
#[utoipa::path(get, path = "/api/v1/sites/{site}/events/stream", tag = "site",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "an event stream of EventView objects", content_type = "text/event-stream", body = String),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["events-view"])))]
async fn events_stream(
    auth: Authorized<perm::EventsView>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let ctx = Arc::new(auth.ctx);
    let rx = ctx.site.journal.subscribe();
    let stream = BroadcastStream::new(rx).filter_map(move |item| match item {
        Ok(e) if visible_to(&ctx, &e) => Some(Ok(SseEvent::default()
            .event("journal")
            .id(e.seq.to_string())
            .data(serde_json::to_string(&EventView::of(&e)).unwrap_or_default()))),
        Ok(_) => None,
        Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
            Some(Ok(SseEvent::default().event("lagged").data(n.to_string())))
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// One device's current state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct DeviceView {
    /// Device id from the site file.
    device: String,
    /// Its state (`up`, `down`, `open`, `closed`, ...).
    state: String,
    /// Since when, epoch milliseconds.
    since_ms: i64,
    /// The journal event that set it.
    seq: u64,
}

/// Every device's current state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct DeviceList {
    devices: Vec<DeviceView>,
}

/// Current state of every device (projection of the journal).
#[utoipa::path(get, path = "/api/v1/sites/{site}/devices", tag = "site",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = DeviceList), (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["site-view"])))]
async fn devices(
    auth: Authorized<perm::SiteView>,
    State(state): State<AppState>,
) -> Result<axum::Json<DeviceList>, ApiError> {
    let site = &auth.ctx.site.id;
    strongroom_store::projection::catch_up(&state.store, site).await?;
    let states = strongroom_store::projection::device_states(&state.store, site).await?;
    let devices = states
        .into_iter()
        .map(|d| DeviceView {
            device: d.device_id,
            state: d.state,
            since_ms: d.since_ms,
            seq: d.seq,
        })
        .collect();
    Ok(axum::Json(DeviceList { devices }))
}

/// A state report from a device that is not OSDP or DC-09 (an HTTP controller).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeviceEventBody {
    /// Device id from the site file.
    device: String,
    /// The new state.
    state: String,
    /// When, epoch milliseconds (default: receipt time).
    #[serde(default)]
    time_ms: Option<i64>,
    /// Free text from the device.
    #[serde(default)]
    detail: Option<String>,
}

/// A device reports a state; answered only after the fact is durable.
#[utoipa::path(post, path = "/api/v1/sites/{site}/device-events", tag = "site",
    params(("site" = String, Path, description = "site id")),
    request_body = DeviceEventBody,
    responses((status = 201, description = "journaled", body = EventView), (status = 400, description = "bad input (JSON error names the field)", body = ErrorBody), (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["doors-control"])))]
async fn device_event(
    auth: Authorized<perm::DoorsControl>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DeviceEventBody>,
) -> Result<(StatusCode, axum::Json<EventView>), ApiError> {
    let e = crate::simulator::ingest_device_state(
        &auth.ctx.site,
        &body.device,
        &body.state,
        body.detail.as_deref(),
        body.time_ms.unwrap_or_else(|| state.clock.now_ms()),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(EventView::of(&e))))
}

/// The site file in force, as TOML.
#[utoipa::path(get, path = "/api/v1/sites/{site}/config", tag = "site",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "the site file", content_type = "application/toml", body = String),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["config-manage"])))]
async fn get_config(auth: Authorized<perm::ConfigManage>) -> Result<Response, ApiError> {
    let c = auth.ctx.site.config();
    let text = toml::to_string_pretty(&*c).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/toml; charset=utf-8")],
        text,
    )
        .into_response())
}

/// A configuration put in force.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct ConfigApplied {
    /// Always true.
    applied: bool,
    /// The site id.
    site: String,
}

/// Replaces the site file. It takes effect in every subsystem, or the whole change is refused
/// (400 invalid file with each issue's line, column and field; 409 a running subsystem cannot
/// take it) and nothing changes. Either outcome is journaled.
#[utoipa::path(put, path = "/api/v1/sites/{site}/config", tag = "site",
    params(("site" = String, Path, description = "site id")),
    request_body(content = String, content_type = "application/toml", description = "the whole site file"),
    responses((status = 200, description = "success", body = ConfigApplied), (status = 400, description = "bad input (JSON error names the field)", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody), (status = 409, description = "refused by a subsystem; nothing changed", body = ErrorBody)),
    security(("session" = ["config-manage"])))]
async fn put_config(
    auth: Authorized<perm::ConfigManage>,
    State(state): State<AppState>,
    body: String,
) -> Result<axum::Json<ConfigApplied>, ApiError> {
    let ctx = auth.ctx;
    match ctx
        .site
        .apply_config("(uploaded)", &body, ctx.actor.clone(), state.clock.now_ms())
        .await
    {
        Ok(c) => Ok(axum::Json(ConfigApplied {
            applied: true,
            site: c.site.id.clone(),
        })),
        Err(ConfigApplyError::Invalid(errors)) => {
            let list: Vec<Value> = errors
                .0
                .iter()
                .map(|i| serde_json::json!({"line": i.line, "column": i.column, "field": i.field, "message": i.message}))
                .collect();
            Err(ApiError::BadRequest(format!(
                "configuration refused; the last good one stays in force: {}",
                serde_json::to_string(&list).unwrap_or_default()
            )))
        }
        Err(ConfigApplyError::Refused(refusals)) => Err(ApiError::Conflict(format!(
            "configuration refused by the running subsystems; the last good one stays in force: {}",
            refusals.join("; ")
        ))),
        Err(e) => Err(ApiError::Conflict(e.to_string())),
    }
}

/// The outcome of verifying the site's journal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct VerifyReport {
    /// Whether the chain and every checkpoint verified.
    intact: bool,
    /// Events verified (intact only).
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<u64>,
    /// Checkpoints verified (intact only).
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoints: Option<u64>,
    /// The last sequence number (intact only).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_seq: Option<u64>,
    /// The head hash, hex (intact only).
    #[serde(skip_serializing_if = "Option::is_none")]
    head_hash: Option<String>,
    /// The first sequence number that fails (tampered only).
    #[serde(skip_serializing_if = "Option::is_none")]
    first_bad_seq: Option<u64>,
    /// What is wrong (tampered only).
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// Verifies the hash chain and signed checkpoints of the site's journal (after a fresh checkpoint).
#[utoipa::path(get, path = "/api/v1/sites/{site}/journal/verify", tag = "site",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = VerifyReport), (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["journal-view"])))]
async fn verify_journal(
    auth: Authorized<perm::JournalView>,
    State(state): State<AppState>,
) -> Result<axum::Json<VerifyReport>, ApiError> {
    let ctx = auth.ctx;
    ctx.site.journal.checkpoint().await?;
    let key = ctx.site.key.verifying_key();
    let empty = VerifyReport {
        intact: false,
        events: None,
        checkpoints: None,
        last_seq: None,
        head_hash: None,
        first_bad_seq: None,
        problem: None,
    };
    match strongroom_store::verify::verify_site(&state.store, &ctx.site.id, &key, |_| {}).await {
        Ok(r) => Ok(axum::Json(VerifyReport {
            intact: true,
            events: Some(r.events),
            checkpoints: Some(r.checkpoints),
            last_seq: Some(r.last_seq),
            head_hash: Some(hex::encode(r.head_hash)),
            ..empty
        })),
        Err(strongroom_store::verify::VerifyError::Tampered(t)) => Ok(axum::Json(VerifyReport {
            first_bad_seq: Some(t.seq()),
            problem: Some(t.to_string()),
            ..empty
        })),
        Err(strongroom_store::verify::VerifyError::Store(e)) => Err(e.into()),
    }
}
