//! User administration under `/api/v1/users` (administrators only); the rules are in
//! [`crate::accounts`].
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{self, NewUser, UserSummary};
use crate::auth::Session;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users, create_user))
}

/// Users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    /// Every user.
    pub users: Vec<UserSummary>,
}

/// Every user with their grants (admin role).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, description = "success", body = UserList),
        (status = 403, description = "not an administrator", body = ErrorBody)),
    security(("session" = ["users-manage"])))]
async fn list_users(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<UserList>, ApiError> {
    Ok(Json(UserList {
        users: accounts::users(&state, &session).await?,
    }))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// User name: 1-64 letters, digits, `.`, `_`, `-`, `@`.
    pub name: String,
    /// Role (`admin`, `security-manager`, `agent`, `monitoring-operator`, `compliance-officer`,
    /// `regulator`, `auditor`).
    pub role: String,
    /// Site id, or `*` for every site.
    pub site: String,
}

/// Creates a user with a one-time password that must be changed at first login (journaled).
#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body = NewUserRequest,
    responses((status = 201, description = "created", body = NewUser),
        (status = 400, description = "bad name or role", body = ErrorBody),
        (status = 403, description = "not an administrator, or no CSRF token", body = ErrorBody),
        (status = 409, description = "the user exists", body = ErrorBody)),
    security(("session" = ["users-manage"])))]
async fn create_user(
    State(state): State<AppState>,
    session: Session,
    ApiJson(body): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<NewUser>), ApiError> {
    session.check_csrf()?;
    let created =
        accounts::create_user(&state, &session, &body.name, &body.role, &body.site).await?;
    Ok((StatusCode::CREATED, Json(created)))
}
