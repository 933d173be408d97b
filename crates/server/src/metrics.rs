//! `GET /metrics`: the server's operating figures in the Prometheus / OpenMetrics text format.
//!
//! Served on its own listen address (`strongroom serve --metrics-listen ADDR`; off by default),
//! the usual arrangement for a scraper on a management network: the figures say nothing about
//! people or footage, and the main API stays login-only. Per site:
//! - `strongroom_journal_events` (the journal head: every fact ever appended; `rate()` of it is the
//!   append rate) and `strongroom_projection_lag_events` (events the projections have not applied);
//! - queue depths: `strongroom_notify_outbox_pending`, `strongroom_central_station_pending`;
//! - `strongroom_devices{kind,state}` from the latest state each device reported, and
//!   `strongroom_camera_up{camera}` from the recorder's health monitor;
//! - `strongroom_recorder_retained_{segments,frames,bytes}{camera}` from the video index;
//!
//! and for the HTTP API, `strongroom_http_requests_total{method,route,status}` and the latency
//! histogram `strongroom_http_request_duration_seconds{method,route}`, by matched route (never by
//! raw path, so the label set stays bounded).
use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabels {
    site: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    site: String,
    kind: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CameraLabels {
    site: String,
    camera: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

fn http_metrics() -> &'static HttpMetrics {
    static M: OnceLock<HttpMetrics> = OnceLock::new();
    M.get_or_init(|| HttpMetrics {
        requests: Family::default(),
        latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
    })
}

/// Counts every request and times it, by matched route.
pub async fn track_http(req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let started = Instant::now();
    let res = next.run(req).await;
    let m = http_metrics();
    m.requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status: res.status().as_u16(),
        })
        .inc();
    m.latency
        .get_or_create(&RouteLabels { method, route })
        .observe(started.elapsed().as_secs_f64());
    res
}

/// The metrics listener's application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

fn device_kind(config: &strongroom_domain::site::SiteConfig, id: &str) -> &'static str {
    if config.cameras.iter().any(|c| c.id == id) {
        "camera"
    } else if config.readers.iter().any(|r| r.id == id) {
        "reader"
    } else if config.doors.iter().any(|d| d.id == id) {
        "door"
    } else if config.panels.iter().any(|p| p.id == id) {
        "panel"
    } else if config.sensors.iter().any(|s| s.id == id) {
        "sensor"
    } else {
        "other"
    }
}

fn gauge_family<L>(registry: &mut Registry, name: &str, help: &str) -> Family<L, Gauge>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    let f = Family::<L, Gauge>::default();
    registry.register(name, help, f.clone());
    f
}

async fn scrape(State(state): State<AppState>) -> Response {
    let mut registry = Registry::default();
    let m = http_metrics();
    registry.register(
        "strongroom_http_requests",
        "HTTP requests by method, matched route and status",
        m.requests.clone(),
    );
    registry.register(
        "strongroom_http_request_duration_seconds",
        "HTTP request latency by method and matched route",
        m.latency.clone(),
    );
    let journal = gauge_family::<SiteLabels>(
        &mut registry,
        "strongroom_journal_events",
        "Facts appended to the site journal (its head sequence)",
    );
    let lag = gauge_family::<SiteLabels>(
        &mut registry,
        "strongroom_projection_lag_events",
        "Journal events the projections have not applied yet",
    );
    let outbox = gauge_family::<SiteLabels>(
        &mut registry,
        "strongroom_notify_outbox_pending",
        "Notification deliveries waiting to be sent",
    );
    let central = gauge_family::<SiteLabels>(
        &mut registry,
        "strongroom_central_station_pending",
        "Alarm reports waiting for the central station's ACK",
    );
    let devices = gauge_family::<DeviceLabels>(
        &mut registry,
        "strongroom_devices",
        "Devices by kind and last reported state",
    );
    let camera_up = gauge_family::<CameraLabels>(
        &mut registry,
        "strongroom_camera_up",
        "1 when the recorder receives the camera's frames, 0 when it is down",
    );
    let segments = gauge_family::<CameraLabels>(
        &mut registry,
        "strongroom_recorder_retained_segments",
        "Recorded segments the index holds",
    );
    let frames = gauge_family::<CameraLabels>(
        &mut registry,
        "strongroom_recorder_retained_frames",
        "Recorded frames the index holds",
    );
    let bytes = gauge_family::<CameraLabels>(
        &mut registry,
        "strongroom_recorder_retained_bytes",
        "Recorded bytes the index holds",
    );
    let store = &state.store;
    let mut errors = Vec::new();
    for site in state.all_sites() {
        let id = site.id.clone();
        let sl = SiteLabels { site: id.clone() };
        let head = match store.journal_head(&id).await {
            Ok(h) => h.map_or(0, |(seq, _)| seq),
            Err(e) => {
                errors.push(format!("journal head: {e}"));
                0
            }
        };
        journal
            .get_or_create(&sl)
            .set(i64::try_from(head).unwrap_or(i64::MAX));
        match strongroom_store::projection::projected_seq(store, &id).await {
            Ok(p) => {
                lag.get_or_create(&sl)
                    .set(i64::try_from(head.saturating_sub(p)).unwrap_or(i64::MAX));
            }
            Err(e) => errors.push(format!("projection: {e}")),
        }
        match strongroom_store::projection::outbox_pending(store, &id).await {
            Ok(n) => {
                outbox
                    .get_or_create(&sl)
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
            Err(e) => errors.push(format!("outbox: {e}")),
        }
        if let Some(alarm) = site.alarm.get()
            && let Some(n) = alarm.central_pending().await
        {
            central
                .get_or_create(&sl)
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let config = site.config();
        match strongroom_store::projection::device_states(store, &id).await {
            Ok(states) => {
                for d in states {
                    devices
                        .get_or_create(&DeviceLabels {
                            site: id.clone(),
                            kind: device_kind(&config, &d.device_id).to_owned(),
                            state: d.state,
                        })
                        .inc();
                }
            }
            Err(e) => errors.push(format!("device states: {e}")),
        }
        if let Some(video) = site.video.get() {
            for (camera, down) in video.camera_health() {
                camera_up
                    .get_or_create(&CameraLabels {
                        site: id.clone(),
                        camera,
                    })
                    .set(i64::from(!down));
            }
            match strongroom_video::index::retained_totals(video.index_pool()).await {
                Ok(rows) => {
                    for (camera, s, f, b) in rows {
                        let l = CameraLabels {
                            site: id.clone(),
                            camera,
                        };
                        segments.get_or_create(&l).set(s);
                        frames.get_or_create(&l).set(f);
                        bytes.get_or_create(&l).set(b);
                    }
                }
                Err(e) => errors.push(format!("video index: {e}")),
            }
        }
    }
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics").into_response();
    }
    if !errors.is_empty() {
        tracing::warn!(errors = ?errors, "metrics scrape incomplete");
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
