//! Access control under `/api/v1/sites/{site}/access`: people, credentials, vendors and secrets
//! ([`people`]), doors, lockdown and requests from controllers ([`doors`]), records and reports
//! ([`reports`]). Handlers authorize, translate, and map [`AccessError`] to HTTP; every rule
//! lives in `strongroom-access-service` and the `access` crate. The console's part is
//! `assets/access.js`.
mod doors;
mod people;
mod reports;

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use serde::Serialize;
use strongroom_access::CommandError;
use strongroom_access_service::views::EventRef;
use strongroom_access_service::{AccessError, AccessService};
use strongroom_journal::JournalEvent;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::SiteCtx;
use crate::error::ApiError;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(people::router())
        .merge(doors::router())
        .merge(reports::router())
}

/// The site's access service.
pub(crate) fn access_service(ctx: &SiteCtx) -> Result<Arc<AccessService>, ApiError> {
    ctx.site
        .access
        .get()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("access control is not running for this site".into()))
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Journal(e) => ApiError::from(e),
            AccessError::Command(e) => command_error(e),
            AccessError::Store(m) => ApiError::Internal(m),
            AccessError::UnknownDoor(_) | AccessError::BadWindow(_) | AccessError::BadDate(_) => {
                ApiError::BadRequest(e.to_string())
            }
            AccessError::UnknownPerson(_) | AccessError::UnknownCredentialAction(_) => {
                ApiError::NotFound(e.to_string())
            }
        }
    }
}

fn command_error(e: CommandError) -> ApiError {
    use CommandError as E;
    match e {
        E::UnknownPerson(id) => ApiError::NotFound(format!("person {id:?}")),
        E::UnknownCredential(id) => ApiError::NotFound(format!("credential {id:?}")),
        E::UnknownArea(id) => ApiError::NotFound(format!("area {id:?}")),
        E::UnknownReader(id) => ApiError::NotFound(format!("reader {id:?}")),
        E::UnknownSecret(id) => ApiError::NotFound(format!("secret {id:?}")),
        E::PersonExists(_)
        | E::SecretExists(_)
        | E::PinInUse { .. }
        | E::CardInUse { .. }
        | E::DuressPinExists(_)
        | E::Unchanged(_)
        | E::AlreadyLockedDown
        | E::NotLockedDown
        | E::CredentialStatus { .. }
        | E::TerminationIsFinal(_)
        | E::PersonTerminated(_) => ApiError::Conflict(e.to_string()),
        _ => ApiError::BadRequest(e.to_string()),
    }
}

/// A change, recorded: the journal events that hold it (never their payloads: a credential's
/// payload holds its keyed hashes).
#[derive(Debug, Serialize, ToSchema)]
pub struct Recorded {
    /// The events, in order.
    pub events: Vec<EventRef>,
}

/// A 201 naming the events that recorded a change.
fn recorded(events: &[Arc<JournalEvent>]) -> (StatusCode, Json<Recorded>) {
    (
        StatusCode::CREATED,
        Json(Recorded {
            events: EventRef::of(events),
        }),
    )
}
