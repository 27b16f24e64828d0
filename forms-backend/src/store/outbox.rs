//! The outbox (发件箱) queries: messages due, and their delivery state.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{OutboxCounts, OutboxMessage, Store, StoreError, to_text};

impl Store {
    /// Messages due for (another) delivery attempt.
    pub async fn due_messages(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event_id, recipient, subject, text_body, html_body, attempts FROM outbox
             WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2",
        )
        .bind(to_text(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OutboxMessage {
                    id: row.try_get("id")?,
                    event_id: row.try_get("event_id")?,
                    recipient: row.try_get("recipient")?,
                    subject: row.try_get("subject")?,
                    text_body: row.try_get("text_body")?,
                    html_body: row.try_get("html_body")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    pub async fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1 WHERE id = ?1")
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
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
        )
        .bind(id)
        .bind(to_text(next_attempt))
        .bind(error)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn mark_dead(&self, id: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ?2 WHERE id = ?1")
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
