//! Accounts: password login (throttled per account and address, journaled on every site), the
//! TOTP second factor, logout, password change, TOTP enrolment, and user administration. No
//! HTTP: cookies, CSRF headers and status codes are the handlers' (`http/session.rs`,
//! `http/users.rs`); errors are [`AccountError`].
//!
//! Invariants: a wrong user name and a wrong password cost the same work and read the same; every
//! attempt, success or failure, is journaled before the answer; no account is ever locked by
//! others' guesses (the throttle delays the (account, address) pair, see
//! `strongroom_domain::throttle`).
use serde::Serialize;
use strongroom_domain::auth::{Grants, Permission, Role, RoleGrant};
use strongroom_domain::fact::kinds;
use strongroom_domain::{Actor, Fact};
use strongroom_store::users::{SessionRow, UserRow};
use utoipa::ToSchema;

use crate::auth::{HalfSession, Session};
use crate::passwords;
use crate::state::AppState;

/// Shortest password a user may set, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Why an account operation was refused. Nothing changed (the attempt itself is journaled).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Wrong user name or password (the two are not told apart).
    #[error("wrong user name or password")]
    WrongCredentials,
    /// The throttle holds this attempt back.
    #[error("{0}")]
    Throttled(String),
    /// A lock from before per-address throttling; it expires by itself.
    #[error("account locked after repeated failures; try again later")]
    LockedOut,
    /// Wrong TOTP code at login.
    #[error("wrong code")]
    WrongCode,
    /// The current password given for a change is wrong.
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    /// The new password is too short.
    #[error("the new password needs at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    /// TOTP confirmation without enrolment started.
    #[error("start enrolment with /api/v1/me/totp/begin first")]
    NotEnrolling,
    /// The enrolment code does not match.
    #[error("the code does not match; check the authenticator's clock")]
    CodeMismatch,
    /// Managing users needs the admin role.
    #[error("managing users needs the admin role")]
    NotAdmin,
    /// Invalid input (a user name, a role).
    #[error("{0}")]
    Invalid(String),
    /// The user exists already.
    #[error("{0}")]
    Exists(String),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] strongroom_store::StoreError),
    /// Our fault.
    #[error("{0}")]
    Internal(String),
}

/// A password login that succeeded (the second factor may still be due).
#[derive(Debug, Clone)]
pub struct LoginGranted {
    /// The session token for the cookie (never shown to anyone else).
    pub token: String,
    /// What the client sees.
    pub view: LoginView,
}

/// What a client learns from a successful password login.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginView {
    /// User name.
    pub user: String,
    /// A TOTP code is required next (`POST /api/v1/login/totp`).
    pub mfa_required: bool,
    /// The password is a one-time password and must be changed.
    pub must_change_password: bool,
    /// Echo in `X-CSRF-Token` on every state-changing request.
    pub csrf_token: String,
}

/// The second factor passed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MfaPassed {
    /// User name.
    pub user: String,
    /// Echo in `X-CSRF-Token`.
    pub csrf_token: String,
}

/// A site the user may see, with the user's roles and permissions there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MySite {
    /// Site id.
    pub id: String,
    /// Site name.
    pub name: String,
    /// Roles held on it.
    pub roles: Vec<String>,
    /// Permissions those roles give.
    pub permissions: Vec<String>,
}

/// The logged-in user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    /// User name.
    pub user: String,
    /// Echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// A TOTP second factor is enrolled.
    pub mfa_enrolled: bool,
    /// The password must be changed.
    pub must_change_password: bool,
    /// Sites the user may see.
    pub sites: Vec<MySite>,
}

/// A site.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SiteSummary {
    /// Site id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `il-dispensary`, `oh-dispensary` or `oh-processor`.
    pub jurisdiction: String,
    /// IANA time zone.
    pub timezone: String,
}

/// A TOTP enrolment in progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret.
    pub secret: String,
    /// `otpauth://` URI for an authenticator app.
    pub otpauth_uri: String,
}

/// A user, as an administrator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserSummary {
    /// User name.
    pub name: String,
    /// Roles per site.
    #[schema(value_type = Vec<Object>)]
    pub grants: Vec<RoleGrant>,
    /// Disabled.
    pub disabled: bool,
    /// TOTP enrolled.
    pub mfa_enrolled: bool,
}

/// A user created with a one-time password (shown once; it must be changed at first login).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewUser {
    /// User name.
    pub name: String,
    /// The one-time password.
    pub one_time_password: String,
}

fn mfa_enrolled(user: &UserRow) -> bool {
    user.totp_secret
        .as_deref()
        .is_some_and(|s| !s.starts_with("pending:"))
}

/// Journals an auth fact on every site (logins are installation-wide).
pub(crate) async fn journal_everywhere(state: &AppState, fact: Fact) {
    for site in state.all_sites() {
        if let Err(e) = site.journal.append_one(fact.clone()).await {
            tracing::error!(error = %e, "cannot journal auth fact");
        }
    }
}

/// Refuses an attempt the login throttle holds back (journaled as `auth.login_failed`).
async fn throttled(
    state: &AppState,
    account: &str,
    client: &str,
    now: i64,
) -> Result<(), AccountError> {
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
    Err(AccountError::Throttled(format!(
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

/// A password login from `client`: a session (with the second factor still due if enrolled).
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    client: &str,
) -> Result<LoginGranted, AccountError> {
    let now = state.clock.now_ms();
    throttled(state, username, client, now).await?;
    let user = state.store.user(username).await?;
    let fail = |reason: &'static str| {
        Fact::new(kinds::LOGIN_FAILED, Actor::User(username.to_owned()), now)
            .with("reason", reason)
            .with("client", client.to_owned())
    };
    let Some(user) = user else {
        // Same work as a real check, so a wrong name and a wrong password look alike.
        let _ = passwords::verify_password(password, passwords::dummy_hash());
        note_failure(state, username, client, now).await;
        journal_everywhere(state, fail("unknown_user")).await;
        return Err(AccountError::WrongCredentials);
    };
    if user.locked_until_ms > now {
        journal_everywhere(state, fail("locked_out")).await;
        return Err(AccountError::LockedOut);
    }
    let ok = passwords::verify_password(password, &user.password_hash);
    if !ok || user.disabled {
        note_failure(state, &user.name, client, now).await;
        state.store.record_login(&user.name, false, None).await?;
        let reason = if user.disabled {
            "disabled"
        } else {
            "wrong_password"
        };
        journal_everywhere(state, fail(reason)).await;
        return Err(AccountError::WrongCredentials);
    }
    let mfa_required = mfa_enrolled(&user);
    let token = passwords::random_token().map_err(AccountError::Internal)?;
    let csrf = passwords::random_token().map_err(AccountError::Internal)?;
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
        state.login_throttle(|t| t.succeeded(&user.name, client));
        state.store.record_login(&user.name, true, None).await?;
        journal_everywhere(
            state,
            Fact::new(kinds::LOGIN_SUCCEEDED, Actor::User(user.name.clone()), now)
                .with("mfa", false)
                .with("client", client.to_owned()),
        )
        .await;
    }
    Ok(LoginGranted {
        token,
        view: LoginView {
            user: user.name,
            mfa_required,
            must_change_password: user.must_change_password,
            csrf_token: csrf,
        },
    })
}

/// The second factor of a login that passed its password.
pub async fn login_totp(
    state: &AppState,
    half: &HalfSession,
    code: &str,
    client: &str,
) -> Result<MfaPassed, AccountError> {
    let now = state.clock.now_ms();
    let name = &half.user.name;
    throttled(state, name, client, now).await?;
    let secret = half.user.totp_secret.clone().unwrap_or_default();
    let now_s = u64::try_from(now / 1000).unwrap_or(0);
    if secret.starts_with("pending:") || !passwords::totp_check(&secret, code, now_s) {
        note_failure(state, name, client, now).await;
        state.store.record_login(name, false, None).await?;
        journal_everywhere(
            state,
            Fact::new(kinds::LOGIN_FAILED, Actor::User(name.clone()), now)
                .with("reason", "wrong_totp")
                .with("client", client.to_owned()),
        )
        .await;
        return Err(AccountError::WrongCode);
    }
    state.login_throttle(|t| t.succeeded(name, client));
    state
        .store
        .pass_session_mfa(&half.session.token_hash)
        .await?;
    state.store.record_login(name, true, None).await?;
    journal_everywhere(
        state,
        Fact::new(kinds::LOGIN_SUCCEEDED, Actor::User(name.clone()), now)
            .with("mfa", true)
            .with("client", client.to_owned()),
    )
    .await;
    Ok(MfaPassed {
        user: name.clone(),
        csrf_token: half.session.csrf_token.clone(),
    })
}

/// Ends a session (journaled).
pub async fn logout(state: &AppState, session: &Session) -> Result<(), AccountError> {
    state
        .store
        .delete_session(&session.session.token_hash)
        .await?;
    journal_everywhere(
        state,
        Fact::new(kinds::LOGOUT, session.actor(), state.clock.now_ms()),
    )
    .await;
    Ok(())
}

/// The logged-in user, with the sites they may see and what they may do there.
pub fn me(state: &AppState, session: &Session) -> Me {
    let grants = &session.user.grants;
    let sites = state
        .all_sites()
        .iter()
        .filter(|s| grants.allows(&s.id, Permission::SiteView))
        .map(|s| MySite {
            id: s.id.clone(),
            name: s.config().site.name.clone(),
            roles: grants
                .roles_on(&s.id)
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            permissions: Permission::ALL
                .iter()
                .filter(|p| grants.allows(&s.id, **p))
                .map(|p| p.as_str().to_owned())
                .collect(),
        })
        .collect();
    Me {
        user: session.user.name.clone(),
        csrf_token: session.session.csrf_token.clone(),
        mfa_enrolled: mfa_enrolled(&session.user),
        must_change_password: session.user.must_change_password,
        sites,
    }
}

/// The sites the user may see.
pub fn sites(state: &AppState, session: &Session) -> Vec<SiteSummary> {
    state
        .all_sites()
        .iter()
        .filter(|s| session.user.grants.allows(&s.id, Permission::SiteView))
        .map(|s| {
            let c = s.config();
            SiteSummary {
                id: s.id.clone(),
                name: c.site.name.clone(),
                jurisdiction: c.site.jurisdiction.as_str().to_owned(),
                timezone: c.site.timezone.clone(),
            }
        })
        .collect()
}

/// Changes the user's own password (journaled).
pub async fn change_password(
    state: &AppState,
    session: &Session,
    current_password: &str,
    new_password: &str,
) -> Result<(), AccountError> {
    if !passwords::verify_password(current_password, &session.user.password_hash) {
        return Err(AccountError::WrongCurrentPassword);
    }
    if new_password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    let hash = passwords::hash_password(new_password).map_err(AccountError::Internal)?;
    state
        .store
        .set_password(&session.user.name, &hash, false)
        .await?;
    journal_everywhere(
        state,
        Fact::new(
            kinds::USER_PASSWORD_SET,
            session.actor(),
            state.clock.now_ms(),
        )
        .with("user", session.user.name.clone()),
    )
    .await;
    Ok(())
}

/// Starts TOTP enrolment: a new secret, pending until confirmed with a code.
pub async fn totp_begin(
    state: &AppState,
    session: &Session,
) -> Result<TotpEnrolment, AccountError> {
    let secret = passwords::new_totp_secret().map_err(AccountError::Internal)?;
    state
        .store
        .set_totp(&session.user.name, Some(&format!("pending:{secret}")))
        .await?;
    Ok(TotpEnrolment {
        otpauth_uri: passwords::totp_uri(&secret, &session.user.name, "Strongroom"),
        secret,
    })
}

/// Confirms TOTP enrolment with a code from the authenticator (journaled).
pub async fn totp_confirm(
    state: &AppState,
    session: &Session,
    code: &str,
) -> Result<(), AccountError> {
    let Some(secret) = session
        .user
        .totp_secret
        .as_deref()
        .and_then(|s| s.strip_prefix("pending:"))
    else {
        return Err(AccountError::NotEnrolling);
    };
    let now = state.clock.now_ms();
    if !passwords::totp_check(secret, code, u64::try_from(now / 1000).unwrap_or(0)) {
        return Err(AccountError::CodeMismatch);
    }
    state
        .store
        .set_totp(&session.user.name, Some(secret))
        .await?;
    journal_everywhere(
        state,
        Fact::new(kinds::USER_MFA_ENROLLED, session.actor(), now)
            .with("user", session.user.name.clone()),
    )
    .await;
    Ok(())
}

/// Every user (administrators only).
pub async fn users(state: &AppState, session: &Session) -> Result<Vec<UserSummary>, AccountError> {
    if !session.can_manage_users() {
        return Err(AccountError::NotAdmin);
    }
    Ok(state
        .store
        .users()
        .await?
        .iter()
        .map(|u| UserSummary {
            name: u.name.clone(),
            grants: u.grants.grants.clone(),
            disabled: u.disabled,
            mfa_enrolled: mfa_enrolled(u),
        })
        .collect())
}

/// Creates a user with one role on one site and a one-time password (administrators only;
/// journaled).
pub async fn create_user(
    state: &AppState,
    session: &Session,
    name: &str,
    role: &str,
    site: &str,
) -> Result<NewUser, AccountError> {
    if !session.can_manage_users() {
        return Err(AccountError::NotAdmin);
    }
    let role: Role = role
        .parse()
        .map_err(|e: strongroom_domain::auth::UnknownRole| AccountError::Invalid(e.to_string()))?;
    let (user, password) =
        new_user(name, role, site, state.clock.now_ms()).map_err(AccountError::Invalid)?;
    match state.store.create_user(&user).await {
        Ok(()) => {}
        Err(strongroom_store::StoreError::Exists(m)) => return Err(AccountError::Exists(m)),
        Err(e) => return Err(e.into()),
    }
    journal_everywhere(
        state,
        Fact::new(kinds::USER_CREATED, session.actor(), state.clock.now_ms())
            .with("user", name)
            .with("role", role.as_str())
            .with("site", site),
    )
    .await;
    Ok(NewUser {
        name: name.to_owned(),
        one_time_password: password,
    })
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
