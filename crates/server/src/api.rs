//! What every HTTP module shares: `/healthz`, the OpenAPI document's route, the JSON body and
//! client-address extractors, and event visibility and JSON. The API's operations live in
//! [`crate::http`] (and, until they move, the `*_rt.rs` modules).
use std::convert::Infallible;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use strongroom_domain::auth::Permission;
use strongroom_journal::JournalEvent;

use crate::auth::SiteCtx;
use crate::error::ApiError;
use crate::state::AppState;

/// The API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi))
}

async fn healthz(State(state): State<AppState>) -> Response {
    match sqlx::query("SELECT 1").execute(state.store.pool()).await {
        Ok(_) => Json(json!({"status": "ok", "sites": state.all_sites().len()})).into_response(),
        Err(e) => ApiError::Unavailable(format!("database: {e}")).into_response(),
    }
}

async fn openapi(axum::Extension(doc): axum::Extension<crate::openapi::DocumentJson>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc.0,
    )
        .into_response()
}

/// JSON body parsing with a clear 400 on malformed input.
pub struct JsonBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(ApiError::BadRequest(format!(
                "bad JSON body: {}",
                e.body_text()
            ))),
        }
    }
}

/// The client's address, when the listener recorded it.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |a| a.0.ip().to_string()),
        ))
    }
}

/// Whether a journaled event may be shown to this user (silent alarms only to monitoring roles).
pub fn visible_to(ctx: &SiteCtx, e: &JournalEvent) -> bool {
    if ctx.can(Permission::SilentAlarmsView) {
        return true;
    }
    !event_is_silent(e)
}

pub use strongroom_store::decode::fact_of_event;
pub use strongroom_store::decode::is_silent as event_is_silent;

/// The JSON form of a journaled event.
pub fn event_json(e: &JournalEvent) -> Value {
    json!({
        "seq": e.seq,
        "time_ms": e.time_ms,
        "kind": e.kind,
        "actor": e.actor,
        "payload": serde_json::from_str::<Value>(&e.payload).unwrap_or(Value::Null),
        "hash": hex::encode(e.hash),
    })
}

pub use crate::accounts::new_user;
