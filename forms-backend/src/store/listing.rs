//! The centre's list of every order (全部诉求): filtered, searched and paged.

use sqlx::Row;

use super::{RequestRow, Store, StoreError, requests_from};

/// What the centre's list of requests is narrowed to; `None` (or empty) means "any".
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<String>,
    /// A unit that leads or co-handles the order.
    pub unit: Option<String>,
    /// Words found in the tracking number, the enterprise's name or the description.
    pub query: Option<String>,
    pub kind: Option<String>,
}

impl Store {
    /// The `WHERE` clause of a [`RequestFilter`]; its parameters are bound by [`Store::bind_filter`] in the same
    /// order (status, kind, unit, query).
    fn filter_where(&self) -> String {
        let co_handles = self.backend.pick(
            "EXISTS (SELECT 1 FROM json_each(requests.co_units) WHERE json_each.value = $3)",
            "requests.co_units::jsonb ? $3",
        );
        format!(
            "WHERE ($1 IS NULL OR status = $1)
               AND ($2 IS NULL OR kind = $2)
               AND ($3 IS NULL OR lead_unit = $3 OR {co_handles})
               AND ($4 IS NULL OR tracking_number LIKE $4 ESCAPE '\\' OR enterprise_name LIKE $4 ESCAPE '\\'
                    OR description LIKE $4 ESCAPE '\\')"
        )
    }

    fn bind_filter<'q>(
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        filter: &RequestFilter,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        // LIKE pattern: the words as typed, with `%`, `_` and the escape character itself taken literally.
        let pattern = given(&filter.query).map(|query| {
            let escaped = query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        query
            .bind(given(&filter.status))
            .bind(given(&filter.kind))
            .bind(given(&filter.unit))
            .bind(pattern)
    }

    /// One page of requests matching `filter`, newest first (the centre's list of every order).
    pub async fn requests_page(
        &self,
        filter: &RequestFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let sql = format!(
            "SELECT * FROM requests {} ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6",
            self.filter_where()
        );
        let rows = Self::bind_filter(sqlx::query(&sql), filter)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        requests_from(&rows)
    }

    /// How many requests match `filter`.
    pub async fn count_requests(&self, filter: &RequestFilter) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) AS n FROM requests {}", self.filter_where());
        let row = Self::bind_filter(sqlx::query(&sql), filter)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

impl Store {
    /// The orders waiting for the enterprise's rating (`resolved`), each with the moment of its last result report,
    /// oldest report first: the call-back worklist and the 未评价 rule read it.
    pub async fn awaiting_rating(
        &self,
    ) -> Result<Vec<(RequestRow, chrono::DateTime<chrono::Utc>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT requests.*, (SELECT max(e.at) FROM events e
                                  WHERE e.request_id = requests.id AND e.kind = 'resolved') AS resolved_at
               FROM requests WHERE status = 'resolved'",
        )
        .fetch_all(&self.pool)
        .await?;
        let orders = requests_from(&rows)?;
        let mut waiting = Vec::with_capacity(orders.len());
        for (order, row) in orders.into_iter().zip(&rows) {
            let resolved_at: Option<String> = row.try_get("resolved_at")?;
            let resolved_at = resolved_at
                .as_deref()
                .map_or(order.updated_at, super::from_text);
            waiting.push((order, resolved_at));
        }
        waiting.sort_by_key(|(order, at)| (*at, order.id));
        Ok(waiting)
    }
}
