//! Extractors that answer bad input the way every other error is answered (a JSON
//! `{error, message}` body), and [`Authorized`], which checks a permission on the `{site}` of the
//! path before anything else of the request is looked at.
use std::marker::PhantomData;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::{Session, SiteCtx};
use crate::error::ApiError;
use crate::http::perm::Needs;
use crate::state::AppState;

/// A JSON request body; malformed or mistyped input is a 400 with a JSON error naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(|e: JsonRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// A query string; a bad parameter is a 400 with a JSON error.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// Path parameters; a bad one is a 400 with a JSON error.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e: PathRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// A session holding permission `P` on the site named by the path's `{site}` parameter.
///
/// Put it before any body or query extractor: a caller without the permission then gets 403
/// (journaled as a denial) without learning anything about the request's schema.
pub struct Authorized<P: Needs> {
    /// The site, reached through the permission check.
    pub ctx: SiteCtx,
    /// The session.
    pub session: Session,
    _permission: PhantomData<P>,
}

impl<P: Needs> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let Some(site) = params
            .iter()
            .find(|(name, _)| *name == "site")
            .map(|(_, value)| value.to_owned())
        else {
            return Err(ApiError::Internal(
                "Authorized used on a route without {site}".into(),
            ));
        };
        let ctx = session.authorize(&site, P::PERMISSION).await?;
        Ok(Authorized {
            ctx,
            session,
            _permission: PhantomData,
        })
    }
}

/// A JSON request body that may be left out: an empty (or all-whitespace) body reads as
/// `T::default()`; a malformed one is a 400 with a JSON error.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for ApiJsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJsonOrEmpty(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(ApiJsonOrEmpty)
            .map_err(|e| ApiError::BadRequest(format!("bad JSON body: {e}")))
    }
}

/// A session that may read what only holders of permission `P` may see (listing people needs
/// people-manage), on the site named by the path's `{site}`. Unlike [`Authorized`], a GET needs
/// no CSRF header when `P` is a write permission; a refusal is journaled as usual.
pub struct AuthorizedView<P: Needs> {
    /// The site, reached through the permission check.
    pub ctx: SiteCtx,
    /// The session.
    pub session: Session,
    _permission: PhantomData<P>,
}

impl<P: Needs> FromRequestParts<AppState> for AuthorizedView<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let viewer =
            Authorized::<crate::http::perm::SiteView>::from_request_parts(parts, state).await?;
        let ctx = if viewer.ctx.can(P::PERMISSION) {
            viewer.ctx
        } else {
            viewer
                .session
                .authorize(&viewer.ctx.site.id, P::PERMISSION)
                .await?
        };
        Ok(AuthorizedView {
            ctx,
            session: viewer.session,
            _permission: PhantomData,
        })
    }
}
