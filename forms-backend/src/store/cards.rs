//! Queries of the supervision cards (督办亮牌, [`crate::sla::cards`]) and the deadline reminders: overdue and
//! nearly-due orders, and the events the cards are derived from. Only reads; cards are written through
//! [`Store::record_many`] like every other event.
//!
//! The pass must stay fast with a million open orders: open orders are found through the partial index
//! `requests_open_due`, events by kind through `events_kind_at`, "already carded for this deadline" is
//! answered by the database (`NOT EXISTS`) instead of loading every card, and the reminders already sent are read
//! from the few recent reminder events (one per unit and pass).

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::order::{Event, EventKind};

use super::{
    EventRow, RequestRow, Store, StoreError, event_from_row, from_text, requests_from, to_text,
};

/// The statuses whose deadline runs ([`crate::order::Status::OPEN`]), written out because the partial index
/// `requests_open_due` must be written the same way; a test checks both agree with the model.
const OPEN: &str = "status IN ('dispatched', 'accepted', 'planned', 'rework')";
/// The planner would otherwise pick `requests_status` for the `IN` list and read every open order.
const BY_DEADLINE: &str = "INDEXED BY requests_open_due";

impl Store {
    /// SQLite's hint to scan open orders by deadline (its planner otherwise picks the status index);
    /// PostgreSQL plans the partial index itself.
    fn by_deadline(&self) -> &'static str {
        self.backend.pick(BY_DEADLINE, "")
    }
}

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

impl SupervisionEvent {
    /// For a result report (`resolved`): the unit that reported it — the lead unit then, which the event's actor
    /// names — and whether it came by the deadline in force then (recorded with the report; the order's deadline
    /// for reports recorded before that was kept).
    pub fn report(&self) -> Option<(&str, bool)> {
        let Event::Resolved(resolution) = &self.event.event else {
            return None;
        };
        let unit = self
            .event
            .actor
            .strip_prefix("unit:")
            .or(self.lead_unit.as_deref())?;
        let due = resolution.due_at.or(self.due_at);
        Some((unit, due.is_some_and(|due| self.event.at <= due)))
    }
}

const SUPERVISION_COLUMNS: &str =
    "events.id, events.request_id, events.at, events.actor, events.kind,
    events.payload, requests.tracking_number, requests.lead_unit, requests.due_at";

fn supervision_event(row: &sqlx::any::AnyRow) -> Result<SupervisionEvent, sqlx::Error> {
    let due_at: Option<String> = row.try_get("due_at")?;
    Ok(SupervisionEvent {
        request_id: row.try_get("request_id")?,
        tracking_number: row.try_get("tracking_number")?,
        lead_unit: row.try_get("lead_unit")?,
        due_at: due_at.as_deref().map(from_text),
        event: event_from_row(row)?,
    })
}

impl Store {
    /// How many open orders are past their deadline at `now`.
    pub async fn overdue_count(&self, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM requests {} WHERE {OPEN} AND due_at < $1",
            self.by_deadline()
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(to_text(now))
            .fetch_one(&self.pool)
            .await?)
    }

    /// Open orders past their deadline at `now` that have no event of `kind` for their current deadline yet
    /// (the payload's `due_at` names the deadline), oldest deadline first.
    pub async fn overdue_without(
        &self,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let same_deadline = self.backend.pick(
            "unixepoch(events.payload ->> '$.due_at', 'subsec') = unixepoch(requests.due_at, 'subsec')",
            "(events.payload::jsonb ->> 'due_at')::timestamptz = requests.due_at::timestamptz",
        );
        let sql = format!(
            "SELECT * FROM requests {}
             WHERE {OPEN} AND due_at < $2
               AND NOT EXISTS (
                   SELECT 1 FROM events
                   WHERE events.request_id = requests.id AND events.kind = $1 AND {same_deadline})
             ORDER BY due_at, id",
            self.by_deadline()
        );
        let rows = sqlx::query(&sql)
            .bind(kind)
            .bind(to_text(now))
            .fetch_all(&self.pool)
            .await?;
        requests_from(&rows)
    }

    /// Open orders whose deadline lies in `(after, until]`, by deadline.
    pub async fn due_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let sql = format!(
            "SELECT * FROM requests {} WHERE {OPEN} AND due_at > $1 AND due_at <= $2 ORDER BY due_at, id",
            self.by_deadline()
        );
        let rows = sqlx::query(&sql)
            .bind(to_text(after))
            .bind(to_text(until))
            .fetch_all(&self.pool)
            .await?;
        requests_from(&rows)
    }

    /// The `(order id, deadline)` pairs named in the `orders` list of the events of `kind` at or after `since`
    /// (the deadline reminders: one event per unit and pass lists its orders).
    pub async fn listed_orders_since(
        &self,
        kind: EventKind,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query(self.backend.pick(
            "SELECT listed.value ->> '$.id' AS id, listed.value ->> '$.due_at' AS due_at
             FROM events, json_each(events.payload, '$.orders') AS listed
             WHERE events.kind = $1 AND events.at >= $2",
            "SELECT (listed.value ->> 'id')::bigint AS id, listed.value ->> 'due_at' AS due_at
             FROM events, jsonb_array_elements(events.payload::jsonb -> 'orders') AS listed(value)
             WHERE events.kind = $1 AND events.at >= $2",
        ))
        .bind(kind.code())
        .bind(to_text(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let due: String = row.try_get("due_at")?;
                Ok((row.try_get("id")?, from_text(&due)))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Every card, waiver and interview of every order, in the order they happened.
    pub async fn card_events(&self) -> Result<Vec<SupervisionEvent>, StoreError> {
        let sql = format!(
            "SELECT {SUPERVISION_COLUMNS}
             FROM events JOIN requests ON requests.id = events.request_id
             WHERE events.kind IN ('yellow_card', 'red_card', 'interview', 'card_waived')
             ORDER BY events.at, events.id"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(supervision_event)
            .collect::<Result<_, _>>()?)
    }

    /// The result reports (`resolved` events) at or after `since` of orders led by one of `units`.
    pub async fn reports_since(
        &self,
        units: &[String],
        since: DateTime<Utc>,
    ) -> Result<Vec<SupervisionEvent>, StoreError> {
        // A report is the lead unit's of that moment, which its actor names (`unit:<id>`).
        let actors: Vec<String> = units.iter().map(|unit| format!("unit:{unit}")).collect();
        let units = serde_json::to_string(&actors).unwrap_or_else(|_| "[]".to_owned());
        let units_listed = self.backend.pick(
            "SELECT value FROM json_each($2)",
            "SELECT jsonb_array_elements_text($2::jsonb)",
        );
        let sql = format!(
            "SELECT {SUPERVISION_COLUMNS}
             FROM events JOIN requests ON requests.id = events.request_id
             WHERE events.kind = 'resolved' AND events.at >= $1
               AND events.actor IN ({units_listed})
             ORDER BY events.at, events.id"
        );
        let rows = sqlx::query(&sql)
            .bind(to_text(since))
            .bind(units)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(supervision_event)
            .collect::<Result<_, _>>()?)
    }

    /// Every event a unit's card state depends on: all cards, waivers and interviews, and the result reports of
    /// the carded units from the first card on (a report before any card cannot change a state that is
    /// green anyway), in the order they happened.
    pub async fn supervision_events(&self) -> Result<Vec<SupervisionEvent>, StoreError> {
        let mut events = self.card_events().await?;
        let Some(first) = events.first().map(|event| event.event.at) else {
            return Ok(events);
        };
        let mut units: Vec<String> = events
            .iter()
            .filter_map(|event| event.event.event.unit().map(str::to_owned))
            .collect();
        units.sort();
        units.dedup();
        events.extend(self.reports_since(&units, first).await?);
        events.sort_by_key(|event| (event.event.at, event.event.id));
        Ok(events)
    }

    /// One event with the id of its request.
    pub async fn event_by_id(&self, id: i64) -> Result<Option<(i64, EventRow)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, request_id, at, actor, kind, payload FROM events WHERE id = $1",
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_open_list_is_the_models() {
        assert_eq!(
            super::OPEN,
            format!("status IN ({})", crate::order::Status::open_sql_list())
        );
    }
}
