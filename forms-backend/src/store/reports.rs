//! Queries of the reports (统计报表, [`crate::reports`]): the events the figures are folded from, volumes per
//! period, orders closed in a month (for the questionnaire), and writing a questionnaire event at most once.
//!
//! The figures read only what they need from each event: its kind, time, acting unit, and a few payload fields
//! pulled out by SQLite (`json_extract`), never whole payloads. Events are found through the index on
//! `(kind, at, request_id)` (migration `20261125000005_reports.sql`).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Change, RequestRow, Store, StoreError, from_text, requests_from, to_text};
use crate::reports::figures::{FOLD_KINDS, FactEvent, FactKind};

/// The kind of the event that records a questionnaire sent (问卷已发送), at most one per order.
pub const QUESTIONNAIRE_SENT: &str = "questionnaire_sent";
/// The kind of the event that records the enterprise's answer (问卷答复), at most one per order.
pub const QUESTIONNAIRE_ANSWERED: &str = "questionnaire";

/// Intake and dispatch counts of one span of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Volume {
    /// 受理诉求: requests submitted (web, phone, collectors), instant answers included.
    pub intake: u32,
    /// 即时答复
    pub instant_answers: u32,
    /// 派单: orders dispatched (an order dispatched twice in the span counts once).
    pub dispatched: u32,
}

/// `'a', 'b', …` for an SQL `IN` list of constant kinds.
fn kind_list(kinds: &[&str]) -> String {
    kinds
        .iter()
        .map(|kind| format!("'{kind}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Every event of [`FOLD_KINDS`] before `as_of` of each order that matters for the period starting at
    /// `start`: orders with such an event in `[start, as_of)`, orders open now (they may have been overdue at
    /// `as_of`), and orders whose result or hand-back came at or after `as_of` (open at `as_of`). Grouped by
    /// order, in the order they were written.
    pub async fn report_events(
        &self,
        start: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<FactEvent>, StoreError> {
        let kinds = kind_list(&FOLD_KINDS);
        let sql = format!(
            "WITH relevant(request_id) AS (
                 SELECT request_id FROM events WHERE kind IN ({kinds}) AND at >= ?1 AND at < ?2
                 UNION
                 SELECT id FROM requests
                  WHERE status IN ('dispatched', 'accepted', 'planned', 'rework') AND created_at < ?2
                 UNION
                 SELECT request_id FROM events WHERE kind IN ('resolved', 'forwarded') AND at >= ?2
             )
             SELECT e.request_id, e.id, e.at, e.kind,
                    CASE WHEN e.actor LIKE 'unit:%' THEN substr(e.actor, 6) END AS actor_unit,
                    CASE WHEN e.kind = 'dispatched' THEN json_extract(e.payload, '$.lead_unit')
                         WHEN e.kind IN ('yellow_card', 'red_card', 'interview', 'false_feedback', 'questionnaire')
                              THEN json_extract(e.payload, '$.unit') END AS unit,
                    CASE WHEN e.kind IN ('dispatched', 'returned', 'plan_approved')
                         THEN json_extract(e.payload, '$.due_at') END AS due_at,
                    CASE WHEN e.kind = 'resolved' THEN json_extract(e.payload, '$.solved')
                         WHEN e.kind IN ('rated', 'returned', 'questionnaire')
                              THEN json_extract(e.payload, '$.rating.rating') != 'unsatisfied' END AS yes,
                    CASE WHEN e.kind = 'rated' THEN json_extract(e.payload, '$.closure') IS NOT NULL END
                         AS closure,
                    CASE WHEN e.kind = 'card_waived' THEN json_extract(e.payload, '$.card_event_id') END
                         AS waived_card
             FROM relevant JOIN events e ON e.request_id = relevant.request_id
             WHERE e.kind IN ({kinds}) AND e.at < ?2
             ORDER BY e.request_id, e.id"
        );
        let rows = sqlx::query(&sql)
            .bind(to_text(start))
            .bind(to_text(as_of))
            .fetch_all(&self.pool)
            .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind: &str = row.try_get("kind")?;
            let Some(kind) = FactKind::of(kind) else {
                continue;
            };
            let due_at: Option<&str> = row.try_get("due_at")?;
            let yes: Option<i64> = row.try_get("yes")?;
            let closure: Option<i64> = row.try_get("closure")?;
            events.push(FactEvent {
                request_id: row.try_get("request_id")?,
                id: row.try_get("id")?,
                at: from_text(row.try_get("at")?),
                kind,
                actor_unit: row.try_get("actor_unit")?,
                unit: row.try_get("unit")?,
                due_at: due_at.map(from_text),
                yes: yes.map(|yes| yes != 0),
                closure: closure == Some(1),
                waived_card: row.try_get("waived_card")?,
            });
        }
        Ok(events)
    }

    /// Intake, instant answers and dispatched orders in `[start, end)`.
    pub async fn volume(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Volume, StoreError> {
        let row = sqlx::query(
            "SELECT
                (SELECT COUNT(*) FROM events WHERE kind IN ('submitted', 'answered') AND at >= ?1 AND at < ?2)
                    AS intake,
                (SELECT COUNT(*) FROM events WHERE kind = 'answered' AND at >= ?1 AND at < ?2) AS answered,
                (SELECT COUNT(DISTINCT request_id) FROM events WHERE kind = 'dispatched' AND at >= ?1 AND at < ?2)
                    AS dispatched",
        )
        .bind(to_text(start))
        .bind(to_text(end))
        .fetch_one(&self.pool)
        .await?;
        let count = |name: &str| -> Result<u32, sqlx::Error> {
            Ok(u32::try_from(row.try_get::<i64, _>(name)?).unwrap_or(u32::MAX))
        };
        Ok(Volume {
            intake: count("intake")?,
            instant_answers: count("answered")?,
            dispatched: count("dispatched")?,
        })
    }

    /// Orders closed (销号) in `[start, end)`: a satisfied rating closed them, or a `closed` event did.
    pub async fn orders_closed_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM requests WHERE id IN (
                 SELECT request_id FROM events
                  WHERE kind IN ('rated', 'closed') AND at >= ?1 AND at < ?2
                    AND (kind = 'closed' OR json_extract(payload, '$.closure') IS NOT NULL))
             ORDER BY id",
        )
        .bind(to_text(start))
        .bind(to_text(end))
        .fetch_all(&self.pool)
        .await?;
        requests_from(&rows)
    }

    /// How many of `request_ids`' orders have an event of `kind` (questionnaires sent or answered).
    pub async fn count_with_event(
        &self,
        request_ids: &[i64],
        kind: &str,
    ) -> Result<u32, StoreError> {
        let ids = serde_json::to_string(request_ids).unwrap_or_else(|_| "[]".to_owned());
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT request_id) FROM events
              WHERE kind = ?2 AND request_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(ids)
        .bind(kind)
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Records `change` unless the order has an event of its kind already and the kind may occur only once
    /// (questionnaires: a unique index allows one per order). `None` when it was there already: nothing is
    /// written, no mail is queued.
    pub async fn record_once(
        &self,
        request_id: i64,
        change: &Change,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.writer.begin().await?;
        match Self::write_change(&mut tx, request_id, change, now).await {
            Ok(event_id) => {
                tx.commit().await?;
                Ok(Some(event_id))
            }
            Err(StoreError::Database(sqlx::Error::Database(error))) if error.is_unique_violation() => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// The questionnaire answer of an order, if it has one (its event's time and payload).
    pub async fn questionnaire_answer(
        &self,
        request_id: i64,
    ) -> Result<Option<(DateTime<Utc>, serde_json::Value)>, StoreError> {
        let row = sqlx::query("SELECT at, payload FROM events WHERE request_id = ?1 AND kind = ?2")
            .bind(request_id)
            .bind(QUESTIONNAIRE_ANSWERED)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let payload: String = row.try_get("payload")?;
        Ok(Some((
            from_text(row.try_get("at")?),
            serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        )))
    }
}
