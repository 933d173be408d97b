//! Strongroom's server: the HTTP API under `/api/v1` (described at `/api/openapi.json`), the web
//! console, sessions and role- and site-scoped permissions, the live event feed, and the site
//! runtime that connects devices to the journal.
//!
//! Architecture invariants:
//! - Handlers contain no business rules: they authenticate, authorize through [`auth::Session::authorize`]
//!   (the only way to reach a site's runtime), call the domain, and append the resulting facts.
//! - Every state-changing request needs a session whose CSRF token is echoed in `X-CSRF-Token`.
//! - Every login (success and failure), permission denial, user change, configuration change and
//!   view of video is a journal fact, appended before the response is sent.
//! - Bad input gets a 4xx with a JSON `{error, message}` body and changes nothing; a panic inside a
//!   handler is caught and becomes a 500, never a dropped connection.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod api;
pub mod auth;
pub mod compliance_ports;
pub mod console;
pub mod error;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod passwords;
pub mod reload;
pub mod simulator;
pub mod state;
pub mod tls;

pub use error::ApiError;
pub use state::{AppState, SiteRuntime};
/// The key that signs evidence bundles (the CLI verifies bundles with it).
pub use strongroom_video_service::evidence_key;

use axum::Router;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (documented, generated) = http::api_router().split_for_parts();
    let doc = openapi::DocumentJson::new(&openapi::document(generated));
    let swagger: Router<AppState> = utoipa_swagger_ui::SwaggerUi::new("/api/docs")
        .config(utoipa_swagger_ui::Config::new(["/api/openapi.json"]))
        .into();
    Router::new()
        .merge(documented)
        .merge(swagger)
        .merge(api::routes())
        .merge(console::routes())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            4 * 1024 * 1024,
        ))
        .layer(axum::Extension(doc))
        .layer(axum::middleware::from_fn(metrics::track_http))
        .layer(axum::middleware::from_fn(error::catch_panic))
        .layer(axum::middleware::from_fn(error::security_headers))
        .with_state(state)
}

/// Starts every subsystem of a site (access, alarms, video, compliance); returns their tasks.
pub async fn start_subsystems(
    ctx: &state::StartCtx,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let mut tasks = Vec::new();
    tasks.extend(
        start_access_service(ctx)
            .await
            .map_err(|e| format!("access: {e}"))?,
    );
    tasks.extend(
        start_alarm_service(ctx, ctx.site.config(), None)
            .await
            .map_err(|e| format!("alarms: {e}"))?,
    );
    tasks.extend(
        start_video_service(
            ctx,
            strongroom_video_service::VideoOptions::from_env()
                .map_err(|e| format!("video: {e}"))?,
        )
        .await
        .map_err(|e| format!("video: {e}"))?,
    );
    tasks.extend(
        start_compliance_service(ctx)
            .await
            .map_err(|e| format!("compliance: {e}"))?,
    );
    reload::register(ctx);
    Ok(tasks)
}

/// Starts the site's access service on its configuration and puts it in force
/// (`SiteRuntime::access`); returns its tasks.
pub async fn start_access_service(
    ctx: &state::StartCtx,
) -> Result<Vec<tokio::task::JoinHandle<()>>, strongroom_access_service::StartError> {
    let started = strongroom_access_service::start(&ctx.service_ctx()).await?;
    if ctx.site.access.set(started.service).is_err() {
        for t in &started.tasks {
            t.abort();
        }
        return Err(strongroom_access_service::StartError(
            "access control already started for this site".into(),
        ));
    }
    Ok(started.tasks)
}

/// Starts the site's alarm service on `config` (resuming after `resume_after_seq` when a reload
/// restarts it) and puts it in force; returns its tasks.
pub async fn start_alarm_service(
    ctx: &state::StartCtx,
    config: std::sync::Arc<strongroom_domain::site::SiteConfig>,
    resume_after_seq: Option<u64>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, strongroom_alarm_service::StartError> {
    let started =
        strongroom_alarm_service::start(&ctx.service_ctx(), config, resume_after_seq).await?;
    ctx.site.alarm.replace(started.service);
    Ok(started.tasks)
}

/// Starts the site's video service with `opts` and puts it in force; returns its tasks.
pub async fn start_video_service(
    ctx: &state::StartCtx,
    opts: strongroom_video_service::VideoOptions,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let started = strongroom_video_service::start(&ctx.service_ctx(), opts)
        .await
        .map_err(|e| e.to_string())?;
    if ctx.site.video.set(started.service).is_err() {
        return Err("video already started for this site".into());
    }
    Ok(started.tasks)
}

/// Starts the site's compliance service (around the site's configuration, subsystems and video
/// holds) and puts it in force; returns its tasks.
pub async fn start_compliance_service(
    ctx: &state::StartCtx,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let site = std::sync::Arc::new(compliance_ports::SiteAdapter::new(&ctx.site));
    let started = strongroom_compliance_service::start(&ctx.service_ctx(), site)
        .await
        .map_err(|e| e.to_string())?;
    if ctx.site.compliance.set(started.service).is_err() {
        return Err("compliance already started for this site".into());
    }
    Ok(started.tasks)
}
