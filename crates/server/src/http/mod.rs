//! The HTTP layer: one handler module per subsystem, each with typed request and response
//! bodies and an `#[utoipa::path]` per operation, so the OpenAPI document at `/api/openapi.json`
//! is generated from the same definitions that route the requests.
//!
//! Boundary: handlers authenticate and authorize ([`extract::Authorized`], before any body is
//! parsed), translate between wire types and the subsystem service's typed API, and map the
//! service's error enum to [`crate::ApiError`]. No business rule lives here.
pub mod access;
pub mod alarm;
pub mod compliance;
pub mod extract;
pub mod notify;
pub mod perm;
pub mod session;
pub mod site;
pub mod users;
pub mod video;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The document's fixed parts: title, description, the session security scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Strongroom API",
        description = "Security platform for licensed cannabis businesses. Log in with POST /api/v1/login; the session is an HttpOnly cookie. Every state-changing call needs the X-CSRF-Token header. Each operation's `session` security scope names the one permission it needs on the site."
    ),
    modifiers(&SessionScheme),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

/// Adds the `session` cookie security scheme.
struct SessionScheme;

impl utoipa::Modify for SessionScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::COOKIE))),
        );
    }
}

/// Every documented route of the API, with its OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(site::router())
        .merge(access::router())
        .merge(alarm::router())
        .merge(notify::router())
        .merge(video::router())
        .merge(session::router())
        .merge(users::router())
        .merge(compliance::router())
}
