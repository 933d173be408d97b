//! The web console: a single page (HTML, CSS, JavaScript) embedded in the binary, talking to the
//! API. No CDN, no separate install: it works on an air-gapped store network.
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const ACCESS_JS: &str = include_str!("../assets/access.js");
const ALARM_JS: &str = include_str!("../assets/alarm.js");
const VIDEO_JS: &str = include_str!("../assets/video.js");
const COMPLIANCE_JS: &str = include_str!("../assets/compliance.js");

fn js(body: &'static str) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        body,
    )
}

/// Console routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/console", get(index))
        .route(
            "/console/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    APP_JS,
                )
            }),
        )
        .route("/console/access.js", get(|| async { js(ACCESS_JS) }))
        .route("/console/alarm.js", get(|| async { js(ALARM_JS) }))
        .route("/console/video.js", get(|| async { js(VIDEO_JS) }))
        .route(
            "/console/compliance.js",
            get(|| async { js(COMPLIANCE_JS) }),
        )
        .route(
            "/console/app.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS) }),
        )
}

async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        INDEX_HTML,
    )
}
