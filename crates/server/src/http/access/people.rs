//! People, credentials, area authorizations, the approved vendor list and the secrets register.
use axum::Json;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use strongroom_access::payload::PersonUpdated;
use strongroom_access::{
    Command, CredentialKind, NewCredential, NewPerson, PersonCategory, PersonStatus, Schedule,
    SecretKind,
};
use strongroom_access_service::views::{
    CredentialView, EventRef, PersonView, SecretList, VendorView,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Recorded, access_service, recorded};
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{
    ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery, Authorized, AuthorizedView,
};
use crate::http::perm;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_people, add_person))
        .routes(routes!(get_person, update_person))
        .routes(routes!(set_person_status))
        .routes(routes!(issue_credential))
        .routes(routes!(authorize_area))
        .routes(routes!(deauthorize_area))
        .routes(routes!(list_credentials))
        .routes(routes!(change_credential))
        .routes(routes!(list_vendors))
        .routes(routes!(approve_vendor))
        .routes(routes!(remove_vendor))
        .routes(routes!(list_secrets, register_secret))
        .routes(routes!(add_secret_holder))
        .routes(routes!(remove_secret_holder))
        .routes(routes!(secret_changed))
}

type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

/// People.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeopleList {
    /// Every registered person.
    pub people: Vec<PersonView>,
}

/// People (agents, visitors, vendors) with status, roles, authorizations.
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/people", tag = "access",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = PeopleList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 503, description = "access control is not running", body = ErrorBody)),
    security(("session" = ["people-manage"])))]
async fn list_people(
    auth: AuthorizedView<perm::PeopleManage>,
) -> Result<Json<PeopleList>, ApiError> {
    let people = access_service(&auth.ctx)?.people().await;
    Ok(Json(PeopleList { people }))
}

/// A person to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRequest {
    /// Id.
    pub id: String,
    /// `agent`, `visitor`, `vendor`, `service_professional`, ...
    #[schema(value_type = String)]
    pub category: PersonCategory,
    /// Name.
    pub name: String,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// State agent-ID badge number.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Badge expiry, epoch ms.
    #[serde(default)]
    pub badge_expires_ms: Option<i64>,
    /// Company (vendors).
    #[serde(default)]
    pub company: Option<String>,
    /// Service type (vendors).
    #[serde(default)]
    pub service_type: Option<String>,
    /// Contact (vendors).
    #[serde(default)]
    pub contact: Option<String>,
}

/// A registered person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonCreated {
    /// The person as registered.
    pub person: Option<PersonView>,
    /// The events that recorded it.
    pub events: Vec<EventRef>,
}

/// Register a person.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/people", tag = "access",
    params(("site" = String, Path, description = "site id")),
    request_body = PersonRequest,
    responses((status = 201, description = "registered", body = PersonCreated),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 409, description = "the id is taken", body = ErrorBody)),
    security(("session" = ["people-manage"])))]
async fn add_person(
    auth: Authorized<perm::PeopleManage>,
    ApiJson(b): ApiJson<PersonRequest>,
) -> Created<PersonCreated> {
    let rt = access_service(&auth.ctx)?;
    let person = NewPerson {
        id: b.id,
        category: b.category,
        name: b.name,
        roles: b.roles,
        agent_id: b.agent_id,
        badge_expires_ms: b.badge_expires_ms,
        company: b.company,
        service_type: b.service_type,
        contact: b.contact,
    };
    let (events, person) = rt.add_person(person, &auth.ctx.actor).await?;
    let events = EventRef::of(&events);
    Ok((StatusCode::CREATED, Json(PersonCreated { person, events })))
}

/// One person with credentials (no card number or PIN).
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/people/{person}", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("person" = String, Path, description = "person id")),
    responses((status = 200, description = "success", body = PersonView),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such person", body = ErrorBody)),
    security(("session" = ["people-manage"])))]
async fn get_person(
    auth: AuthorizedView<perm::PeopleManage>,
    ApiPath((_site, person)): ApiPath<(String, String)>,
) -> Result<Json<PersonView>, ApiError> {
    Ok(Json(access_service(&auth.ctx)?.person(&person).await?))
}

/// Changes to a person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New roles.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// New agent-ID badge number.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// New badge expiry, epoch ms.
    #[serde(default)]
    pub badge_expires_ms: Option<i64>,
}

/// Change name, roles, agent badge.
#[utoipa::path(patch, path = "/api/v1/sites/{site}/access/people/{person}", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("person" = String, Path, description = "person id")),
    request_body = UpdateRequest,
    responses((status = 201, description = "changed", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such person", body = ErrorBody),
        (status = 409, description = "nothing changes", body = ErrorBody)),
    security(("session" = ["people-manage"])))]
async fn update_person(
    auth: Authorized<perm::PeopleManage>,
    ApiPath((_site, person)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<UpdateRequest>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let u = PersonUpdated {
        person,
        name: b.name,
        roles: b.roles,
        agent_id: b.agent_id,
        badge_expires_ms: b.badge_expires_ms,
    };
    let events = rt
        .command(&Command::UpdatePerson(u), &auth.ctx.actor)
        .await?;
    Ok(recorded(&events))
}

/// A status change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `active`, `suspended` or `terminated`.
    #[schema(value_type = String)]
    pub status: PersonStatus,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// Set status active/suspended/terminated (termination revokes every credential).
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/people/{person}/status", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("person" = String, Path, description = "person id")),
    request_body = StatusRequest,
    responses((status = 201, description = "changed", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such person", body = ErrorBody),
        (status = 409, description = "unchanged, or terminated already (final)", body = ErrorBody)),
    security(("session" = ["people-manage"])))]
async fn set_person_status(
    auth: Authorized<perm::PeopleManage>,
    ApiPath((_site, person)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<StatusRequest>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::SetPersonStatus {
        person,
        status: b.status,
        reason: b.reason,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// A credential to issue. The card number and PIN are hashed at once and never stored or
/// returned.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// `card`, `pin`, `card_pin` or `duress_pin`.
    #[schema(value_type = String)]
    pub kind: CredentialKind,
    /// Card number.
    #[serde(default)]
    pub card: Option<String>,
    /// PIN.
    #[serde(default)]
    pub pin: Option<String>,
    /// Expiry, epoch ms.
    #[serde(default)]
    pub expires_ms: Option<i64>,
    /// The credential this one replaces (revoked with the issue).
    #[serde(default)]
    pub replaces: Option<String>,
}

/// An issued credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialCreated {
    /// The credential.
    pub credential: Option<CredentialView>,
    /// The events that recorded it.
    pub events: Vec<EventRef>,
}

/// Issue a card, PIN, card+PIN or duress PIN (PINs unique; 409 if taken).
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/people/{person}/credentials", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("person" = String, Path, description = "person id")),
    request_body = CredentialRequest,
    responses((status = 201, description = "issued", body = CredentialCreated),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such person", body = ErrorBody),
        (status = 409, description = "card or PIN in use", body = ErrorBody)),
    security(("session" = ["credentials-manage"])))]
async fn issue_credential(
    auth: Authorized<perm::CredentialsManage>,
    ApiPath((_site, person)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<CredentialRequest>,
) -> Created<CredentialCreated> {
    let rt = access_service(&auth.ctx)?;
    let c = NewCredential {
        person,
        kind: b.kind,
        card: b.card,
        pin: b.pin,
        expires_ms: b.expires_ms,
        replaces: b.replaces,
    };
    let (events, credential) = rt.issue_credential(c, &auth.ctx.actor).await?;
    let events = EventRef::of(&events);
    Ok((
        StatusCode::CREATED,
        Json(CredentialCreated { credential, events }),
    ))
}

fn always() -> Schedule {
    Schedule::Always
}

/// An area authorization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// Area id.
    pub area: String,
    /// When it applies (default always): `{"type": "always"}` or weekly windows.
    #[serde(default = "always")]
    #[schema(value_type = Object)]
    pub schedule: Schedule,
    /// Last moment it applies, epoch ms.
    #[serde(default)]
    pub valid_until_ms: Option<i64>,
}

/// Authorise an area on a schedule.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/people/{person}/authorizations", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("person" = String, Path, description = "person id")),
    request_body = AuthorizeRequest,
    responses((status = 201, description = "authorised", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such person or area", body = ErrorBody)),
    security(("session" = ["people-manage"])))]
async fn authorize_area(
    auth: Authorized<perm::PeopleManage>,
    ApiPath((_site, person)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<AuthorizeRequest>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::AuthorizeArea {
        person,
        area: b.area,
        schedule: b.schedule,
        valid_until_ms: b.valid_until_ms,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// Why something is withdrawn.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReasonQuery {
    /// Why.
    #[serde(default)]
    reason: Option<String>,
}

/// Withdraw an area authorization.
#[utoipa::path(delete, path = "/api/v1/sites/{site}/access/people/{person}/authorizations/{area}", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("person" = String, Path, description = "person id"),
        ("area" = String, Path, description = "area id"), ReasonQuery),
    responses((status = 201, description = "withdrawn", body = Recorded),
        (status = 400, description = "bad query", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such person or authorization", body = ErrorBody)),
    security(("session" = ["people-manage"])))]
async fn deauthorize_area(
    auth: Authorized<perm::PeopleManage>,
    ApiPath((_site, person, area)): ApiPath<(String, String, String)>,
    ApiQuery(q): ApiQuery<ReasonQuery>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::DeauthorizeArea {
        person,
        area,
        reason: q.reason.unwrap_or_else(|| "withdrawn".into()),
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// Credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialList {
    /// Every credential, all statuses.
    pub credentials: Vec<CredentialView>,
}

/// Credentials (id, holder, kind, status, last 4 of card).
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/credentials", tag = "access",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = CredentialList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["credentials-manage"])))]
async fn list_credentials(
    auth: AuthorizedView<perm::CredentialsManage>,
) -> Result<Json<CredentialList>, ApiError> {
    let credentials = access_service(&auth.ctx)?.credentials().await;
    Ok(Json(CredentialList { credentials }))
}

/// Why (optional; the body may be left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// suspend | reinstate | revoke a credential (takes effect at once).
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/credentials/{credential}/{action}", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("credential" = String, Path, description = "credential id"),
        ("action" = String, Path, description = "suspend, reinstate or revoke")),
    request_body(content = Option<ReasonRequest>, description = "optional"),
    responses((status = 201, description = "changed", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such credential or action", body = ErrorBody),
        (status = 409, description = "not possible in its status", body = ErrorBody)),
    security(("session" = ["credentials-manage"])))]
async fn change_credential(
    auth: Authorized<perm::CredentialsManage>,
    ApiPath((_site, credential, action)): ApiPath<(String, String, String)>,
    ApiJsonOrEmpty(b): ApiJsonOrEmpty<ReasonRequest>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let events = rt
        .change_credential(credential, &action, b.reason, &auth.ctx.actor)
        .await?;
    Ok(recorded(&events))
}

/// The approved vendor list.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorList {
    /// Vendors and service professionals.
    pub vendors: Vec<VendorView>,
}

/// Approved vendor / service professional list with status.
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/vendors", tag = "access",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = VendorList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["reports-view"])))]
async fn list_vendors(auth: Authorized<perm::ReportsView>) -> Result<Json<VendorList>, ApiError> {
    let vendors = access_service(&auth.ctx)?.vendors().await;
    Ok(Json(VendorList { vendors }))
}

/// A vendor approval.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The regulator's approval reference.
    pub approval_ref: String,
}

/// Approve a vendor with the regulator's reference.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/vendors/{person}/approve", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("person" = String, Path, description = "person id")),
    request_body = ApproveRequest,
    responses((status = 201, description = "approved", body = Recorded),
        (status = 400, description = "bad body, or not a vendor", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such person", body = ErrorBody)),
    security(("session" = ["people-manage"])))]
async fn approve_vendor(
    auth: Authorized<perm::PeopleManage>,
    ApiPath((_site, person)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<ApproveRequest>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::ApproveVendor {
        person,
        approval_ref: b.approval_ref,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// Take a vendor off the approved list.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/vendors/{person}/remove", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("person" = String, Path, description = "person id")),
    request_body(content = Option<ReasonRequest>, description = "optional"),
    responses((status = 201, description = "removed", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such person", body = ErrorBody)),
    security(("session" = ["people-manage"])))]
async fn remove_vendor(
    auth: Authorized<perm::PeopleManage>,
    ApiPath((_site, person)): ApiPath<(String, String)>,
    ApiJsonOrEmpty(b): ApiJsonOrEmpty<ReasonRequest>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::RemoveVendor {
        person,
        reason: b.reason,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// Registered secrets (vault codes, combinations) and their holders.
#[utoipa::path(get, path = "/api/v1/sites/{site}/access/secrets", tag = "access",
    params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "success", body = SecretList),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody)),
    security(("session" = ["credentials-manage"])))]
async fn list_secrets(
    auth: AuthorizedView<perm::CredentialsManage>,
) -> Result<Json<SecretList>, ApiError> {
    Ok(Json(access_service(&auth.ctx)?.secrets().await))
}

/// A secret to register (never its value).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRequest {
    /// Id.
    pub secret: String,
    /// Label.
    pub label: String,
    /// `vault_code`, `vault_combination`, `safe_combination`, ...
    #[schema(value_type = String)]
    pub kind: SecretKind,
    /// The area it opens.
    #[serde(default)]
    pub area: Option<String>,
}

/// Register a secret (never its value).
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/secrets", tag = "access",
    params(("site" = String, Path, description = "site id")),
    request_body = SecretRequest,
    responses((status = 201, description = "registered", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 409, description = "the id is taken", body = ErrorBody)),
    security(("session" = ["credentials-manage"])))]
async fn register_secret(
    auth: Authorized<perm::CredentialsManage>,
    ApiJson(b): ApiJson<SecretRequest>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::RegisterSecret {
        secret: b.secret,
        label: b.label,
        kind: b.kind,
        area: b.area,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// A holder of a secret.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderRequest {
    /// Person id (an active agent).
    pub person: String,
}

/// Record a holder (active agents only).
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/secrets/{secret}/holders", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("secret" = String, Path, description = "secret id")),
    request_body = HolderRequest,
    responses((status = 201, description = "recorded", body = Recorded),
        (status = 400, description = "bad body, or not an active agent", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such secret or person", body = ErrorBody)),
    security(("session" = ["credentials-manage"])))]
async fn add_secret_holder(
    auth: Authorized<perm::CredentialsManage>,
    ApiPath((_site, secret)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<HolderRequest>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::AddSecretHolder {
        secret,
        person: b.person,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// Remove a holder.
#[utoipa::path(delete, path = "/api/v1/sites/{site}/access/secrets/{secret}/holders/{person}", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("secret" = String, Path, description = "secret id"),
        ("person" = String, Path, description = "person id"), ReasonQuery),
    responses((status = 201, description = "removed", body = Recorded),
        (status = 400, description = "bad query", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such secret or holder", body = ErrorBody)),
    security(("session" = ["credentials-manage"])))]
async fn remove_secret_holder(
    auth: Authorized<perm::CredentialsManage>,
    ApiPath((_site, secret, person)): ApiPath<(String, String, String)>,
    ApiQuery(q): ApiQuery<ReasonQuery>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::RemoveSecretHolder {
        secret,
        person,
        reason: q.reason.unwrap_or_default(),
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}

/// A changed secret.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretChangedRequest {
    /// Who knows the new one.
    pub holders: Vec<String>,
    /// Why it changed.
    #[serde(default)]
    pub reason: String,
}

/// Record a changed secret and its new holders.
#[utoipa::path(post, path = "/api/v1/sites/{site}/access/secrets/{secret}/changed", tag = "access",
    params(("site" = String, Path, description = "site id"),
        ("secret" = String, Path, description = "secret id")),
    request_body = SecretChangedRequest,
    responses((status = 201, description = "recorded", body = Recorded),
        (status = 400, description = "bad body", body = ErrorBody),
        (status = 403, description = "not permitted on this site (journaled)", body = ErrorBody),
        (status = 404, description = "no such secret or person", body = ErrorBody)),
    security(("session" = ["credentials-manage"])))]
async fn secret_changed(
    auth: Authorized<perm::CredentialsManage>,
    ApiPath((_site, secret)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<SecretChangedRequest>,
) -> Created<Recorded> {
    let rt = access_service(&auth.ctx)?;
    let cmd = Command::ChangeSecret {
        secret,
        holders: b.holders,
        reason: b.reason,
    };
    Ok(recorded(&rt.command(&cmd, &auth.ctx.actor).await?))
}
