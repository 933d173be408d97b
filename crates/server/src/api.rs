//! The HTTP API under `/api/v1`: login and sessions, sites, events (history and live), devices,
//! configuration, journal verification, users.
use std::convert::Infallible;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use strongroom_domain::auth::{Grants, Permission, Role, RoleGrant};
use strongroom_domain::fact::kinds;
use strongroom_domain::{Actor, Fact};
use strongroom_journal::JournalEvent;
use strongroom_store::users::{SessionRow, UserRow};

use crate::auth::{COOKIE, HalfSession, Session, SiteCtx};
use crate::error::ApiError;
use crate::passwords;
use crate::state::AppState;

/// The API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/login", post(login))
        .route("/api/v1/login/totp", post(login_totp))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/me/totp/begin", post(totp_begin))
        .route("/api/v1/me/totp/confirm", post(totp_confirm))
        .route("/api/v1/sites", get(sites))
        .route("/api/v1/users", get(list_users).post(create_user))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
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

/// Journals an auth fact on every site (logins are installation-wide).
async fn journal_everywhere(state: &AppState, fact: Fact) {
    for site in state.all_sites() {
        if let Err(e) = site.journal.append_one(fact.clone()).await {
            tracing::error!(error = %e, "cannot journal auth fact");
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

/// Refuses an attempt the login throttle holds back (journaled as `auth.login_failed`).
async fn throttled(
    state: &AppState,
    account: &str,
    client: &str,
    now: i64,
) -> Result<(), ApiError> {
    use strongroom_domain::throttle::Verdict;
    let verdict = state.login_throttle(|t| t.check(account, client, now));
    let (retry_ms, message) = match &verdict {
        Verdict::Allow => return Ok(()),
        Verdict::PairDelayed { retry_after_ms } => (
            *retry_after_ms,
            "too many failed logins for this account from this address",
        ),
        Verdict::ClientLimited { retry_after_ms } => {
            (*retry_after_ms, "too many failed logins from this address")
        }
        Verdict::GlobalLimited { retry_after_ms } => (
            *retry_after_ms,
            "too many failed logins on this server; addresses that failed must wait",
        ),
    };
    journal_everywhere(
        state,
        Fact::new(kinds::LOGIN_FAILED, Actor::User(account.to_owned()), now)
            .with("reason", verdict.reason())
            .with("client", client.to_owned())
            .with("retry_after_ms", retry_ms),
    )
    .await;
    Err(ApiError::TooMany(format!(
        "{message}; try again in {} s",
        (retry_ms + 999) / 1000
    )))
}

/// Records a failed attempt with the throttle; journals a password spray when one shows.
async fn note_failure(state: &AppState, account: &str, client: &str, now: i64) {
    if let Some(spray) = state.login_throttle(|t| t.failed(account, client, now)) {
        tracing::warn!(client = %spray.client, accounts = ?spray.accounts, "password spray");
        journal_everywhere(
            state,
            Fact::new(kinds::PASSWORD_SPRAY, Actor::System, now)
                .with("client", spray.client)
                .with("accounts", spray.accounts),
        )
        .await;
    }
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let now = state.clock.now_ms();
    throttled(&state, &body.username, &client, now).await?;
    let user = state.store.user(&body.username).await?;
    let fail = |reason: &'static str| {
        Fact::new(kinds::LOGIN_FAILED, Actor::User(body.username.clone()), now)
            .with("reason", reason)
            .with("client", client.clone())
    };
    let Some(user) = user else {
        // Same work as a real check, so a wrong name and a wrong password look alike.
        let _ = passwords::verify_password(&body.password, passwords::dummy_hash());
        note_failure(&state, &body.username, &client, now).await;
        journal_everywhere(&state, fail("unknown_user")).await;
        return Err(ApiError::Forbidden("wrong user name or password".into()));
    };
    if user.locked_until_ms > now {
        // A lock from before per-address throttling; it expires by itself.
        journal_everywhere(&state, fail("locked_out")).await;
        return Err(ApiError::TooMany(
            "account locked after repeated failures; try again later".into(),
        ));
    }
    let ok = passwords::verify_password(&body.password, &user.password_hash);
    if !ok || user.disabled {
        note_failure(&state, &user.name, &client, now).await;
        state.store.record_login(&user.name, false, None).await?;
        journal_everywhere(
            &state,
            fail(if user.disabled {
                "disabled"
            } else {
                "wrong_password"
            }),
        )
        .await;
        return Err(ApiError::Forbidden("wrong user name or password".into()));
    }
    let mfa_required = user
        .totp_secret
        .as_deref()
        .is_some_and(|s| !s.starts_with("pending:"));
    let token = passwords::random_token().map_err(ApiError::Internal)?;
    let csrf = passwords::random_token().map_err(ApiError::Internal)?;
    state
        .store
        .create_session(&SessionRow {
            token_hash: passwords::token_hash(&token),
            user_name: user.name.clone(),
            csrf_token: csrf.clone(),
            mfa_passed: !mfa_required,
            created_ms: now,
            expires_ms: now + state.settings.session_ttl_ms,
        })
        .await?;
    if !mfa_required {
        state.login_throttle(|t| t.succeeded(&user.name, &client));
        state.store.record_login(&user.name, true, None).await?;
        journal_everywhere(
            &state,
            Fact::new(kinds::LOGIN_SUCCEEDED, Actor::User(user.name.clone()), now)
                .with("mfa", false)
                .with("client", client),
        )
        .await;
    }
    let mut res = Json(json!({
        "user": user.name,
        "mfa_required": mfa_required,
        "must_change_password": user.must_change_password,
        "csrf_token": csrf,
    }))
    .into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&state, &token, state.settings.session_ttl_ms / 1000),
    );
    Ok(res)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: String,
}

async fn login_totp(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    half: HalfSession,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<Json<Value>, ApiError> {
    let now = state.clock.now_ms();
    throttled(&state, &half.user.name, &client, now).await?;
    let secret = half.user.totp_secret.clone().unwrap_or_default();
    let now_s = u64::try_from(now / 1000).unwrap_or(0);
    if secret.starts_with("pending:") || !passwords::totp_check(&secret, &body.code, now_s) {
        note_failure(&state, &half.user.name, &client, now).await;
        state
            .store
            .record_login(&half.user.name, false, None)
            .await?;
        journal_everywhere(
            &state,
            Fact::new(
                kinds::LOGIN_FAILED,
                Actor::User(half.user.name.clone()),
                now,
            )
            .with("reason", "wrong_totp")
            .with("client", client),
        )
        .await;
        return Err(ApiError::Forbidden("wrong code".into()));
    }
    state.login_throttle(|t| t.succeeded(&half.user.name, &client));
    state
        .store
        .pass_session_mfa(&half.session.token_hash)
        .await?;
    state
        .store
        .record_login(&half.user.name, true, None)
        .await?;
    journal_everywhere(
        &state,
        Fact::new(
            kinds::LOGIN_SUCCEEDED,
            Actor::User(half.user.name.clone()),
            now,
        )
        .with("mfa", true)
        .with("client", client),
    )
    .await;
    Ok(Json(
        json!({"user": half.user.name, "csrf_token": half.session.csrf_token}),
    ))
}

async fn logout(State(state): State<AppState>, session: Session) -> Result<Response, ApiError> {
    session.check_csrf()?;
    state
        .store
        .delete_session(&session.session.token_hash)
        .await?;
    journal_everywhere(
        &state,
        Fact::new(kinds::LOGOUT, session.actor(), state.clock.now_ms()),
    )
    .await;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(res)
}

async fn me(State(state): State<AppState>, session: Session) -> Json<Value> {
    let sites: Vec<Value> = state
        .all_sites()
        .iter()
        .filter(|s| session.user.grants.allows(&s.id, Permission::SiteView))
        .map(|s| {
            let roles = session.user.grants.roles_on(&s.id);
            let perms: Vec<&str> = Permission::ALL
                .iter()
                .filter(|p| session.user.grants.allows(&s.id, **p))
                .map(|p| p.as_str())
                .collect();
            json!({"id": s.id, "name": s.config().site.name, "roles": roles, "permissions": perms})
        })
        .collect();
    Json(json!({
        "user": session.user.name,
        "csrf_token": session.session.csrf_token,
        "mfa_enrolled": session.user.totp_secret.as_deref().is_some_and(|s| !s.starts_with("pending:")),
        "must_change_password": session.user.must_change_password,
        "sites": sites,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    session: Session,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    session.check_csrf()?;
    if !passwords::verify_password(&body.current_password, &session.user.password_hash) {
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    if body.new_password.chars().count() < 12 {
        return Err(ApiError::BadRequest(
            "the new password needs at least 12 characters".into(),
        ));
    }
    let hash = passwords::hash_password(&body.new_password).map_err(ApiError::Internal)?;
    state
        .store
        .set_password(&session.user.name, &hash, false)
        .await?;
    journal_everywhere(
        &state,
        Fact::new(
            kinds::USER_PASSWORD_SET,
            session.actor(),
            state.clock.now_ms(),
        )
        .with("user", session.user.name.clone()),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn totp_begin(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Value>, ApiError> {
    session.check_csrf()?;
    let secret = passwords::new_totp_secret().map_err(ApiError::Internal)?;
    state
        .store
        .set_totp(&session.user.name, Some(&format!("pending:{secret}")))
        .await?;
    Ok(Json(json!({
        "secret": secret,
        "otpauth_uri": passwords::totp_uri(&secret, &session.user.name, "Strongroom"),
    })))
}

async fn totp_confirm(
    State(state): State<AppState>,
    session: Session,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<StatusCode, ApiError> {
    session.check_csrf()?;
    let Some(secret) = session
        .user
        .totp_secret
        .as_deref()
        .and_then(|s| s.strip_prefix("pending:"))
    else {
        return Err(ApiError::Conflict(
            "start enrolment with /api/v1/me/totp/begin first".into(),
        ));
    };
    let now = state.clock.now_ms();
    if !passwords::totp_check(secret, &body.code, u64::try_from(now / 1000).unwrap_or(0)) {
        return Err(ApiError::BadRequest(
            "the code does not match; check the authenticator's clock".into(),
        ));
    }
    state
        .store
        .set_totp(&session.user.name, Some(secret))
        .await?;
    journal_everywhere(
        &state,
        Fact::new(kinds::USER_MFA_ENROLLED, session.actor(), now)
            .with("user", session.user.name.clone()),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn sites(State(state): State<AppState>, session: Session) -> Json<Value> {
    let list: Vec<Value> = state
        .all_sites()
        .iter()
        .filter(|s| session.user.grants.allows(&s.id, Permission::SiteView))
        .map(|s| {
            let c = s.config();
            json!({"id": s.id, "name": c.site.name, "jurisdiction": c.site.jurisdiction, "timezone": c.site.timezone})
        })
        .collect();
    Json(json!({ "sites": list }))
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

async fn list_users(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Value>, ApiError> {
    if !session.can_manage_users() {
        return Err(ApiError::Forbidden(
            "managing users needs the admin role".into(),
        ));
    }
    let users = state.store.users().await?;
    let list: Vec<Value> = users
        .iter()
        .map(|u| json!({
            "name": u.name,
            "grants": u.grants.grants,
            "disabled": u.disabled,
            "mfa_enrolled": u.totp_secret.as_deref().is_some_and(|s| !s.starts_with("pending:")),
        }))
        .collect();
    Ok(Json(json!({ "users": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    name: String,
    role: String,
    site: String,
}

async fn create_user(
    State(state): State<AppState>,
    session: Session,
    JsonBody(body): JsonBody<NewUserBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    session.check_csrf()?;
    if !session.can_manage_users() {
        return Err(ApiError::Forbidden(
            "managing users needs the admin role".into(),
        ));
    }
    let role: Role = body
        .role
        .parse()
        .map_err(|e: strongroom_domain::auth::UnknownRole| ApiError::BadRequest(e.to_string()))?;
    let (user, password) = new_user(&body.name, role, &body.site, state.clock.now_ms())
        .map_err(ApiError::BadRequest)?;
    match state.store.create_user(&user).await {
        Ok(()) => {}
        Err(strongroom_store::StoreError::Exists(m)) => return Err(ApiError::Conflict(m)),
        Err(e) => return Err(e.into()),
    }
    journal_everywhere(
        &state,
        Fact::new(kinds::USER_CREATED, session.actor(), state.clock.now_ms())
            .with("user", body.name.clone())
            .with("role", role.as_str())
            .with("site", body.site.clone()),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": body.name, "one_time_password": password})),
    ))
}

/// A new user with a one-time password that must be changed at first login.
pub fn new_user(
    name: &str,
    role: Role,
    site: &str,
    now_ms: i64,
) -> Result<(UserRow, String), String> {
    let ok_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if !ok_name {
        return Err(format!(
            "bad user name {name:?}: use 1-64 letters, digits, '.', '_', '-', '@'"
        ));
    }
    let password = passwords::one_time_password()?;
    let hash = passwords::hash_password(&password)?;
    Ok((
        UserRow {
            name: name.to_owned(),
            password_hash: hash,
            totp_secret: None,
            grants: Grants {
                grants: vec![RoleGrant {
                    site_id: site.to_owned(),
                    role,
                }],
            },
            disabled: false,
            must_change_password: true,
            failed_logins: 0,
            locked_until_ms: 0,
            created_ms: now_ms,
        },
        password,
    ))
}
