//! Queries of the official tables (附件2–5, [`crate::reports::ledger`]): the orders received, dispatched, resolved
//! or rated in a period, read in time order and handed over one at a time, so a table of any size is written
//! without the whole of it in memory. Only reads; imported requests are written through the ordinary intake.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::Row;

use super::{Store, StoreError, from_text, to_text};
use crate::order::payload::Resolution;
use crate::order::{Event, EventKind};

/// Which orders a table lists: each table is selected by the moment one thing happened to the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerSource {
    /// 受理: the request was received (created) in the period; one entry per request.
    Received,
    /// 转办: a `dispatched` event (派单 or 改派) in the period; one entry per dispatch.
    Dispatched,
    /// 反馈: a `resolved` event (the unit reported the result, 申请销号) in the period; one entry per report.
    Resolved,
    /// 评价: a rating (`rated`, or `returned` after 不满意) in the period; one entry per rating.
    Rated,
}

/// One order as a table needs it, with the event that put it in the table.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub tracking_number: String,
    pub enterprise_name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub town: String,
    pub description: String,
    pub suggested_department: Option<String>,
    pub status: String,
    pub lead_unit: Option<String>,
    pub co_units: Vec<String>,
    /// When the selecting event happened (for [`LedgerSource::Received`], the intake's first event).
    pub at: DateTime<Utc>,
    pub actor: String,
    /// The selecting event (`None` only for a request without events, which the store never leaves).
    pub event: Option<Event>,
    /// For [`LedgerSource::Rated`]: the last result report before the rating (its actor and what it said).
    pub resolution: Option<(String, Resolution)>,
}

const ENTRY_COLUMNS: &str =
    "r.tracking_number, r.enterprise_name, r.contact_name, r.contact_phone, r.town,
    r.description, r.suggested_department, r.status, r.lead_unit, r.co_units";

/// The event a kind and payload column hold, when the row has one.
fn event(kind: Option<String>, payload: Option<String>) -> Result<Option<Event>, sqlx::Error> {
    let (Some(kind), Some(payload)) = (kind, payload) else {
        return Ok(None);
    };
    let kind: EventKind = kind
        .parse()
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
    Event::from_stored(kind, &payload)
        .map(Some)
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<LedgerEntry, sqlx::Error> {
    let co_units: String = row.try_get("co_units")?;
    let at: Option<String> = row.try_get("at")?;
    let resolved_actor: Option<String> = row.try_get("resolved_actor")?;
    let resolved_payload: Option<String> = row.try_get("resolved_payload")?;
    Ok(LedgerEntry {
        tracking_number: row.try_get("tracking_number")?,
        enterprise_name: row.try_get("enterprise_name")?,
        contact_name: row.try_get("contact_name")?,
        contact_phone: row.try_get("contact_phone")?,
        town: row.try_get("town")?,
        description: row.try_get("description")?,
        suggested_department: row.try_get("suggested_department")?,
        status: row.try_get("status")?,
        lead_unit: row.try_get("lead_unit")?,
        co_units: serde_json::from_str(&co_units).unwrap_or_default(),
        at: at.as_deref().map(from_text).unwrap_or_default(),
        actor: row
            .try_get::<Option<String>, _>("actor")?
            .unwrap_or_default(),
        event: event(row.try_get("kind")?, row.try_get("payload")?)?,
        resolution: match (resolved_actor, resolved_payload) {
            (Some(actor), Some(payload)) => match Event::from_stored(EventKind::Resolved, &payload)
                .map_err(|error| sqlx::Error::Decode(Box::new(error)))?
            {
                Event::Resolved(resolution) => Some((actor, resolution)),
                _ => None,
            },
            _ => None,
        },
    })
}

impl Store {
    /// Hands every entry of `source` whose moment lies in `[from, until)` to `visit`, oldest first (ties by
    /// order of writing). Stops at the first error `visit` returns.
    pub async fn each_ledger_entry<E: From<StoreError>>(
        &self,
        source: LedgerSource,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        mut visit: impl FnMut(LedgerEntry) -> Result<(), E>,
    ) -> Result<u64, E> {
        let sql = match source {
            LedgerSource::Received => format!(
                "SELECT {ENTRY_COLUMNS}, e.at, e.actor, e.kind, e.payload,
                        NULL AS resolved_actor, NULL AS resolved_payload
                 FROM requests r
                 LEFT JOIN events e ON e.id = (SELECT MIN(id) FROM events WHERE request_id = r.id)
                 WHERE r.created_at >= $1 AND r.created_at < $2
                 ORDER BY r.created_at, r.id"
            ),
            LedgerSource::Dispatched | LedgerSource::Resolved => format!(
                "SELECT {ENTRY_COLUMNS}, e.at, e.actor, e.kind, e.payload,
                        NULL AS resolved_actor, NULL AS resolved_payload
                 FROM events e JOIN requests r ON r.id = e.request_id
                 WHERE e.kind = $3 AND e.at >= $1 AND e.at < $2
                 ORDER BY e.at, e.id"
            ),
            LedgerSource::Rated => format!(
                "SELECT {ENTRY_COLUMNS}, e.at, e.actor, e.kind, e.payload,
                        (SELECT x.actor FROM events x WHERE x.request_id = e.request_id
                           AND x.kind = 'resolved' AND x.id < e.id ORDER BY x.id DESC LIMIT 1)
                          AS resolved_actor,
                        (SELECT x.payload FROM events x WHERE x.request_id = e.request_id
                           AND x.kind = 'resolved' AND x.id < e.id ORDER BY x.id DESC LIMIT 1)
                          AS resolved_payload
                 FROM events e JOIN requests r ON r.id = e.request_id
                 WHERE e.kind IN ('rated', 'returned') AND e.at >= $1 AND e.at < $2
                 ORDER BY e.at, e.id"
            ),
        };
        let query = sqlx::query(&sql).bind(to_text(from)).bind(to_text(until));
        let query = match source {
            LedgerSource::Dispatched => query.bind(EventKind::Dispatched.code()),
            LedgerSource::Resolved => query.bind(EventKind::Resolved.code()),
            LedgerSource::Received | LedgerSource::Rated => query,
        };
        let mut rows = query.fetch(&self.pool);
        let mut count = 0;
        while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
            visit(entry_from_row(&row).map_err(StoreError::from)?)?;
            count += 1;
        }
        Ok(count)
    }
}
