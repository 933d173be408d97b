//! Sessions, login with password and TOTP, and the permission gate.
//!
//! [`Session`] is an extractor: a handler that takes one has a logged-in user whose second factor
//! (if enrolled) is passed. The only way from a session to a site's runtime is
//! [`Session::authorize`], which checks a [`Permission`] on that site and records a denial in the
//! site's journal. State-changing requests also pass [`Session::check_csrf`].
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use strongroom_domain::auth::{Grants, Permission};
use strongroom_domain::fact::kinds;
use strongroom_domain::{Actor, Fact};
use strongroom_store::users::{SessionRow, UserRow};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::passwords;
use crate::state::{AppState, SiteRuntime};

/// The session cookie's name.
pub const COOKIE: &str = "sr_session";

/// A logged-in user.
#[derive(Clone)]
pub struct Session {
    /// The user.
    pub user: UserRow,
    /// The session row.
    pub session: SessionRow,
    state: AppState,
    csrf_header: Option<String>,
}

/// A site reached through a permission check: the capability handlers work with.
pub struct SiteCtx {
    /// The site's runtime.
    pub site: Arc<SiteRuntime>,
    /// The user, as a journal actor.
    pub actor: Actor,
    /// The user's grants (for finer filtering, e.g. silent alarms).
    pub grants: Grants,
}

impl SiteCtx {
    /// Whether the user also holds `p` on this site.
    pub fn can(&self, p: Permission) -> bool {
        self.grants.allows(&self.site.id, p)
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A session whose password step is done but whose second factor may not be.
pub struct HalfSession {
    /// The user.
    pub user: UserRow,
    /// The session row.
    pub session: SessionRow,
}

async fn load(parts: &Parts, state: &AppState) -> Result<Option<HalfSession>, ApiError> {
    let Some(token) = cookie_value(&parts.headers, COOKIE) else {
        return Ok(None);
    };
    let now = state.clock.now_ms();
    let Some(session) = state
        .store
        .session(&passwords::token_hash(&token), now)
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = state.store.user(&session.user_name).await? else {
        return Ok(None);
    };
    if user.disabled {
        return Ok(None);
    }
    Ok(Some(HalfSession { user, session }))
}

impl FromRequestParts<AppState> for HalfSession {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        load(parts, state).await?.ok_or(ApiError::Unauthenticated)
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let half = load(parts, state).await?.ok_or(ApiError::Unauthenticated)?;
        if !half.session.mfa_passed {
            return Err(ApiError::Unauthenticated);
        }
        let path = parts.uri.path();
        if half.user.must_change_password
            && !matches!(
                path,
                "/api/v1/me" | "/api/v1/me/password" | "/api/v1/logout"
            )
        {
            return Err(ApiError::Forbidden(
                "your password was issued for one use: choose a new one first (POST /api/v1/me/password)".into(),
            ));
        }
        let csrf_header = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Session {
            user: half.user,
            session: half.session,
            state: state.clone(),
            csrf_header,
        })
    }
}

impl OptionalFromRequestParts<AppState> for Session {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Session as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(s) => Ok(Some(s)),
            Err(ApiError::Unauthenticated) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Session {
    /// The user as a journal actor.
    pub fn actor(&self) -> Actor {
        Actor::User(self.user.name.clone())
    }

    /// Refuses a state-changing request whose `X-CSRF-Token` header does not match the session.
    pub fn check_csrf(&self) -> Result<(), ApiError> {
        let ok = self
            .csrf_header
            .as_deref()
            .is_some_and(|h| bool::from(h.as_bytes().ct_eq(self.session.csrf_token.as_bytes())));
        if ok {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "missing or wrong X-CSRF-Token header (take it from /api/v1/me)".into(),
            ))
        }
    }

    /// Checks `permission` on `site_id` and hands out the site; records a denial as a fact.
    pub async fn authorize(
        &self,
        site_id: &str,
        permission: Permission,
    ) -> Result<SiteCtx, ApiError> {
        let Some(site) = self.state.site(site_id) else {
            return Err(ApiError::NotFound(format!("site {site_id:?}")));
        };
        if self.user.grants.allows(site_id, permission) {
            if permission.is_write() {
                self.check_csrf()?;
            }
            return Ok(SiteCtx {
                site,
                actor: self.actor(),
                grants: self.user.grants.clone(),
            });
        }
        let now = self.state.clock.now_ms();
        site.journal
            .append_one(
                Fact::new(kinds::PERMISSION_DENIED, self.actor(), now)
                    .with("permission", permission.as_str())
                    .with("site", site_id),
            )
            .await?;
        Err(ApiError::Forbidden(format!(
            "your roles on site {site_id:?} do not include the {} permission",
            permission.as_str()
        )))
    }

    /// Whether the user may manage users (installation-wide: admin on any site or `*`).
    pub fn can_manage_users(&self) -> bool {
        self.user
            .grants
            .grants
            .iter()
            .any(|g| g.role.permissions().contains(&Permission::UsersManage))
    }
}
