//! Queries of the supervision cards (督办亮牌, [`crate::sla::cards`]): overdue orders and the events the cards
//! are derived from. Only reads; cards are written through [`Store::record`] like every other event.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{
    EventRow, RequestRow, Store, StoreError, event_from_row, from_text, requests_from, to_text,
};

/// The event kinds a unit's card sequence is derived from.
pub const SUPERVISION_KINDS: [&str; 5] = [
    "yellow_card",
    "red_card",
    "interview",
    "card_waived",
    "resolved",
];

/// One event that counts for the supervision cards, with what it needs of its order.
#[derive(Debug, Clone)]
pub struct SupervisionEvent {
    pub request_id: i64,
    pub tracking_number: String,
    /// The order's first-responsible unit (to whom a `resolved` event is credited).
    pub lead_unit: Option<String>,
    /// The order's deadline as it stands now.
    pub due_at: Option<DateTime<Utc>>,
    pub event: EventRow,
}

impl Store {
    /// Orders whose deadline is earlier than `now` and that have no result reported (status `dispatched`, `rework`,
    /// `accepted` or `planned`), oldest deadline first.
    pub async fn overdue_orders(&self, now: DateTime<Utc>) -> Result<Vec<RequestRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM requests WHERE due_at IS NOT NULL AND due_at < ?1
               AND status IN ('dispatched', 'accepted', 'planned', 'rework')
             ORDER BY due_at, id",
        )
        .bind(to_text(now))
        .fetch_all(&self.pool)
        .await?;
        requests_from(&rows)
    }

    /// Every card, waiver, interview and result report of every order, in the order they happened.
    pub async fn supervision_events(&self) -> Result<Vec<SupervisionEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT events.id, events.request_id, events.at, events.actor, events.kind, events.payload,
                    requests.tracking_number, requests.lead_unit, requests.due_at
             FROM events JOIN requests ON requests.id = events.request_id
             WHERE events.kind IN ('yellow_card', 'red_card', 'interview', 'card_waived', 'resolved')
             ORDER BY events.at, events.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let due_at: Option<String> = row.try_get("due_at")?;
                Ok(SupervisionEvent {
                    request_id: row.try_get("request_id")?,
                    tracking_number: row.try_get("tracking_number")?,
                    lead_unit: row.try_get("lead_unit")?,
                    due_at: due_at.as_deref().map(from_text),
                    event: event_from_row(row)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// One event with the id of its request.
    pub async fn event_by_id(&self, id: i64) -> Result<Option<(i64, EventRow)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, request_id, at, actor, kind, payload FROM events WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some((row.try_get("request_id")?, event_from_row(&row)?)))
    }
}
