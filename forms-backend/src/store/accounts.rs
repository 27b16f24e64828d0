//! Console users (工作台用户) and their sessions.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, UserRow, from_text, to_text};

impl Store {
    fn user_from_row(row: &sqlx::any::AnyRow) -> Result<UserRow, sqlx::Error> {
        Ok(UserRow {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            password_hash: row.try_get("password_hash")?,
            role: row.try_get("role")?,
            created_at: from_text(&row.try_get::<String, _>("created_at")?),
        })
    }

    /// Adds a console user; a username that exists already is [`StoreError::Duplicate`].
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        role: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, role, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username)
        .bind(display_name)
        .bind(password_hash)
        .bind(role)
        .bind(to_text(now))
        .fetch_one(&self.writer)
        .await
        .map_err(StoreError::from_insert)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::user_from_row).transpose()?)
    }

    /// Opens a console session (only the hash of its token is kept) and drops the sessions that have expired.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = super::write::WriteTx::begin(self).await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(to_text(now))
            .execute(tx.connection())
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(to_text(expires_at))
        .execute(tx.connection())
        .await
        .map_err(StoreError::from_insert)?;
        tx.commit().await?;
        Ok(())
    }

    /// The user of a session that has not expired, with the session's CSRF token.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(UserRow, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT users.*, sessions.csrf_token FROM sessions JOIN users ON users.id = sessions.user_id
             WHERE sessions.token_hash = $1 AND sessions.expires_at > $2",
        )
        .bind(token_hash)
        .bind(to_text(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let csrf_token: String = row.try_get("csrf_token")?;
        Ok(Some((Self::user_from_row(&row)?, csrf_token)))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

impl Store {
    /// The secret named `name`: the one already kept, or else `candidate`, which is kept from now on. Every
    /// instance on one database gets the same answer, whichever asks first.
    pub async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&self.writer)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.writer)
                .await?,
        )
    }
}
