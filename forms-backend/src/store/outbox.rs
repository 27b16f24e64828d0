//! The outbox (发件箱) queries: messages due, and their delivery state.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{OutboxCounts, OutboxMessage, Store, StoreError, to_text};

fn message_from_row(row: &sqlx::any::AnyRow) -> Result<OutboxMessage, sqlx::Error> {
    Ok(OutboxMessage {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        text_body: row.try_get("text_body")?,
        html_body: row.try_get("html_body")?,
        attempts: row.try_get("attempts")?,
    })
}

impl Store {
    /// Messages due at `now`, oldest first, whoever has claimed them (what the outbox holds; sending goes
    /// through [`Store::claim_due_messages`]).
    pub async fn due_messages(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event_id, recipient, subject, text_body, html_body, attempts FROM outbox
             WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
        )
        .bind(to_text(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(message_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Claims up to `limit` messages due at `now` for this instance until `until` and returns them: a message
    /// pending and due, and not claimed by a worker whose claim still runs. On PostgreSQL rows another worker is
    /// claiming at this moment are skipped (`FOR UPDATE SKIP LOCKED`), so two instances never take one message;
    /// a worker that dies leaves its claim to expire, and another sends the message then.
    pub async fn claim_due_messages(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let skip_locked = self.backend.pick("", "FOR UPDATE SKIP LOCKED");
        let sql = format!(
            "UPDATE outbox SET claimed_by = $3, claimed_until = $4
              WHERE id IN (SELECT id FROM outbox
                            WHERE status = 'pending' AND next_attempt_at <= $1
                              AND (claimed_until IS NULL OR claimed_until <= $1)
                            ORDER BY id LIMIT $2 {skip_locked})
             RETURNING id, event_id, recipient, subject, text_body, html_body, attempts"
        );
        let rows = sqlx::query(&sql)
            .bind(to_text(now))
            .bind(limit)
            .bind(self.instance.as_ref())
            .bind(to_text(until))
            .fetch_all(&self.writer)
            .await?;
        let mut messages = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(StoreError::from)?;
        messages.sort_by_key(|message| message.id);
        Ok(messages)
    }

    pub async fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, claimed_until = NULL WHERE id = $1")
            .bind(id)
            .bind(to_text(now))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn mark_retry(
        &self,
        id: i64,
        next_attempt: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, claimed_until = NULL
             WHERE id = $1",
        )
        .bind(id)
        .bind(to_text(next_attempt))
        .bind(error)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn mark_dead(&self, id: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = $2, claimed_until = NULL
             WHERE id = $1")
            .bind(id)
            .bind(error)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        let mut counts = OutboxCounts::default();
        for row in rows {
            let status: String = row.try_get("status")?;
            let n: i64 = row.try_get("n")?;
            match status.as_str() {
                "pending" => counts.pending = n,
                "sent" => counts.sent = n,
                _ => counts.dead += n,
            }
        }
        Ok(counts)
    }
}

impl Store {
    /// Takes the lease `name` for this instance until `until`, if no other instance holds it at `now`; whether
    /// this instance holds it now. Periodic tasks that must run on one instance at a time (the supervision pass)
    /// run only while they hold their lease; a holder that dies loses it when it expires.
    pub async fn try_lease(
        &self,
        name: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let holder: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
              WHERE leases.expires_at <= $4 OR leases.holder = $2
             RETURNING holder",
        )
        .bind(name)
        .bind(self.instance.as_ref())
        .bind(to_text(until))
        .bind(to_text(now))
        .fetch_optional(&self.writer)
        .await?;
        Ok(holder.is_some())
    }

    /// Gives the lease `name` up, if this instance holds it.
    pub async fn release_lease(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(self.instance.as_ref())
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
