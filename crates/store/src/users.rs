//! Users of Strongroom (console and API) and their sessions.
//!
//! The store keeps what the journal must not: password hashes (Argon2id PHC strings, computed by
//! the caller) and TOTP secrets. Every change to a user is also a journal fact (without the
//! secrets), recorded by the caller. Session tokens are stored only as SHA-256 hashes, so a stolen
//! database does not yield live sessions.
use sqlx::Row;
use sqlx::any::AnyRow;
use strongroom_domain::auth::Grants;

use crate::store::{Store, StoreError};

/// A user row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Login name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Base32 TOTP secret once MFA is enrolled.
    pub totp_secret: Option<String>,
    /// Roles per site.
    pub grants: Grants,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// The password was generated (one-time) and must be changed at first login.
    pub must_change_password: bool,
    /// Failed logins in a row.
    pub failed_logins: i64,
    /// Locked until this time after too many failures.
    pub locked_until_ms: i64,
    /// Creation time.
    pub created_ms: i64,
}

/// A session row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The user.
    pub user_name: String,
    /// The CSRF token bound to this session.
    pub csrf_token: String,
    /// Whether the second factor was passed (or is not enrolled).
    pub mfa_passed: bool,
    /// Created.
    pub created_ms: i64,
    /// Expires.
    pub expires_ms: i64,
}

fn user_from_row(r: &AnyRow) -> Result<UserRow, StoreError> {
    let grants_text: String = r.try_get("grants")?;
    let grants: Grants = serde_json::from_str(&grants_text).map_err(|e| StoreError::Corrupt {
        table: "app_user",
        column: "grants",
        detail: e.to_string(),
    })?;
    Ok(UserRow {
        name: r.try_get("name")?,
        password_hash: r.try_get("password_hash")?,
        totp_secret: r.try_get("totp_secret")?,
        grants,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
        failed_logins: r.try_get("failed_logins")?,
        locked_until_ms: r.try_get("locked_until_ms")?,
        created_ms: r.try_get("created_ms")?,
    })
}

const USER_COLUMNS: &str = "name, password_hash, totp_secret, grants, disabled, must_change_password, failed_logins, locked_until_ms, created_ms";

impl Store {
    /// Creates a user; fails if the name is taken.
    pub async fn create_user(&self, u: &UserRow) -> Result<(), StoreError> {
        if self.user(&u.name).await?.is_some() {
            return Err(StoreError::Exists(format!("user {:?}", u.name)));
        }
        let grants = serde_json::to_string(&u.grants).map_err(|e| StoreError::Corrupt {
            table: "app_user",
            column: "grants",
            detail: e.to_string(),
        })?;
        sqlx::query(
            "INSERT INTO app_user (name, password_hash, totp_secret, grants, disabled, must_change_password, failed_logins, locked_until_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(u.totp_secret.clone())
        .bind(grants)
        .bind(i64::from(u.disabled))
        .bind(i64::from(u.must_change_password))
        .bind(u.failed_logins)
        .bind(u.locked_until_ms)
        .bind(u.created_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One user.
    pub async fn user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM app_user WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    /// Every user.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM app_user ORDER BY name"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Sets the password hash (and whether it must be changed at next login).
    pub async fn set_password(
        &self,
        name: &str,
        hash: &str,
        must_change: bool,
    ) -> Result<(), StoreError> {
        let r = sqlx::query(
            "UPDATE app_user SET password_hash = $1, must_change_password = $2 WHERE name = $3",
        )
        .bind(hash)
        .bind(i64::from(must_change))
        .bind(name)
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {name:?}")));
        }
        Ok(())
    }

    /// Sets or clears the TOTP secret.
    pub async fn set_totp(&self, name: &str, secret: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE app_user SET totp_secret = $1 WHERE name = $2")
            .bind(secret.map(str::to_owned))
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Replaces a user's grants.
    pub async fn set_grants(&self, name: &str, grants: &Grants) -> Result<(), StoreError> {
        let text = serde_json::to_string(grants).map_err(|e| StoreError::Corrupt {
            table: "app_user",
            column: "grants",
            detail: e.to_string(),
        })?;
        sqlx::query("UPDATE app_user SET grants = $1 WHERE name = $2")
            .bind(text)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Disables or enables a user; disabling ends their sessions.
    pub async fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE app_user SET disabled = $1 WHERE name = $2")
            .bind(i64::from(disabled))
            .bind(name)
            .execute(self.pool())
            .await?;
        if disabled {
            sqlx::query("DELETE FROM app_session WHERE user_name = $1")
                .bind(name)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Records the outcome of a login attempt: resets the counter on success, or counts a failure
    /// and locks the account until `lock_until_ms` when `lock_until_ms` is given.
    pub async fn record_login(
        &self,
        name: &str,
        success: bool,
        lock_until_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        if success {
            sqlx::query(
                "UPDATE app_user SET failed_logins = 0, locked_until_ms = 0 WHERE name = $1",
            )
            .bind(name)
            .execute(self.pool())
            .await?;
        } else {
            sqlx::query("UPDATE app_user SET failed_logins = failed_logins + 1, locked_until_ms = $1 WHERE name = $2")
                .bind(lock_until_ms.unwrap_or(0))
                .bind(name)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Stores a session.
    pub async fn create_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO app_session (token_hash, user_name, csrf_token, mfa_passed, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.token_hash)
        .bind(&s.user_name)
        .bind(&s.csrf_token)
        .bind(i64::from(s.mfa_passed))
        .bind(s.created_ms)
        .bind(s.expires_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A live session by token hash (expired sessions are not returned).
    pub async fn session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT token_hash, user_name, csrf_token, mfa_passed, created_ms, expires_ms FROM app_session WHERE token_hash = $1 AND expires_ms > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SessionRow {
                token_hash: r.try_get("token_hash")?,
                user_name: r.try_get("user_name")?,
                csrf_token: r.try_get("csrf_token")?,
                mfa_passed: r.try_get::<i64, _>("mfa_passed")? != 0,
                created_ms: r.try_get("created_ms")?,
                expires_ms: r.try_get("expires_ms")?,
            })
        })
        .transpose()
    }

    /// Marks a session's second factor as passed.
    pub async fn pass_session_mfa(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE app_session SET mfa_passed = 1 WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM app_session WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn purge_sessions(&self, now_ms: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM app_session WHERE expires_ms <= $1")
            .bind(now_ms)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }
}
