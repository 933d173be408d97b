//! Login, the second factor, logout and the logged-in user's own account, under `/api/v1`.
//! Handlers set and clear the session cookie and check CSRF; the rules are in
//! [`crate::accounts`].
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{self, AccountError, LoginView, Me, MfaPassed, SiteSummary, TotpEnrolment};
use crate::api::ClientAddr;
use crate::auth::{COOKIE, HalfSession, Session};
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(login_totp))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(totp_begin))
        .routes(routes!(totp_confirm))
        .routes(routes!(sites))
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::WrongCredentials
            | AccountError::WrongCode
            | AccountError::WrongCurrentPassword
            | AccountError::NotAdmin => ApiError::Forbidden(e.to_string()),
            AccountError::Throttled(m) => ApiError::TooMany(m),
            AccountError::LockedOut => ApiError::TooMany(e.to_string()),
            AccountError::WeakPassword | AccountError::CodeMismatch => {
                ApiError::BadRequest(e.to_string())
            }
            AccountError::Invalid(m) => ApiError::BadRequest(m),
            AccountError::NotEnrolling => ApiError::Conflict(e.to_string()),
            AccountError::Exists(m) => ApiError::Conflict(m),
            AccountError::Store(e) => ApiError::from(e),
            AccountError::Internal(m) => ApiError::Internal(m),
        }
    }
}

fn session_cookie(state: &AppState, token: &str, max_age_s: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let v =
        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A password login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Password login: sets the session cookie and says whether a TOTP code is required next.
/// Failures are throttled per (account, address) with growing delays and journaled.
#[utoipa::path(post, path = "/api/v1/login", tag = "session",
    request_body = LoginRequest,
    responses((status = 200, description = "logged in (the session cookie is set)", body = LoginView),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "wrong user name or password", body = ErrorBody),
        (status = 429, description = "throttled; try again later", body = ErrorBody)),
    security(()))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let granted = accounts::login(&state, &body.username, &body.password, &client).await?;
    let mut res = Json(granted.view).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&state, &granted.token, state.settings.session_ttl_ms / 1000),
    );
    Ok(res)
}

/// A TOTP code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Six digits from the authenticator.
    pub code: String,
}

/// The second factor: a TOTP code for a session whose password passed.
#[utoipa::path(post, path = "/api/v1/login/totp", tag = "session",
    request_body = CodeRequest,
    responses((status = 200, description = "the session is complete", body = MfaPassed),
        (status = 401, description = "no half-open session", body = ErrorBody),
        (status = 403, description = "wrong code", body = ErrorBody),
        (status = 429, description = "throttled", body = ErrorBody)),
    security(("session" = [])))]
async fn login_totp(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    half: HalfSession,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<Json<MfaPassed>, ApiError> {
    Ok(Json(
        accounts::login_totp(&state, &half, &body.code, &client).await?,
    ))
}

/// Ends the session (journaled) and clears the cookie.
#[utoipa::path(post, path = "/api/v1/logout", tag = "session",
    responses((status = 204, description = "logged out"),
        (status = 401, description = "not logged in", body = ErrorBody),
        (status = 403, description = "missing CSRF token", body = ErrorBody)),
    security(("session" = [])))]
async fn logout(State(state): State<AppState>, session: Session) -> Result<Response, ApiError> {
    session.check_csrf()?;
    accounts::logout(&state, &session).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(res)
}

/// The user, CSRF token, sites, roles and permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, description = "success", body = Me),
        (status = 401, description = "not logged in", body = ErrorBody)),
    security(("session" = [])))]
async fn me(State(state): State<AppState>, session: Session) -> Json<Me> {
    Json(accounts::me(&state, &session))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// The current password.
    pub current_password: String,
    /// The new one (12 characters or more).
    pub new_password: String,
}

/// Changes the user's own password (journaled).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "session",
    request_body = PasswordRequest,
    responses((status = 204, description = "changed"),
        (status = 400, description = "too short", body = ErrorBody),
        (status = 403, description = "the current password is wrong, or no CSRF token", body = ErrorBody)),
    security(("session" = [])))]
async fn change_password(
    State(state): State<AppState>,
    session: Session,
    ApiJson(body): ApiJson<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    session.check_csrf()?;
    accounts::change_password(&state, &session, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts TOTP enrolment: returns the secret and its otpauth URI.
#[utoipa::path(post, path = "/api/v1/me/totp/begin", tag = "session",
    responses((status = 200, description = "pending until confirmed", body = TotpEnrolment),
        (status = 403, description = "no CSRF token", body = ErrorBody)),
    security(("session" = [])))]
async fn totp_begin(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<TotpEnrolment>, ApiError> {
    session.check_csrf()?;
    Ok(Json(accounts::totp_begin(&state, &session).await?))
}

/// Confirms TOTP enrolment with a code (journaled).
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "session",
    request_body = CodeRequest,
    responses((status = 204, description = "enrolled"),
        (status = 400, description = "the code does not match", body = ErrorBody),
        (status = 409, description = "enrolment not started", body = ErrorBody)),
    security(("session" = [])))]
async fn totp_confirm(
    State(state): State<AppState>,
    session: Session,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    session.check_csrf()?;
    accounts::totp_confirm(&state, &session, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sites.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteList {
    /// The sites the user may see.
    pub sites: Vec<SiteSummary>,
}

/// The sites the user may see.
#[utoipa::path(get, path = "/api/v1/sites", tag = "session",
    responses((status = 200, description = "success", body = SiteList),
        (status = 401, description = "not logged in", body = ErrorBody)),
    security(("session" = [])))]
async fn sites(State(state): State<AppState>, session: Session) -> Json<SiteList> {
    Json(SiteList {
        sites: accounts::sites(&state, &session),
    })
}
