//! The write path (写入): one writer connection, explicit `BEGIN IMMEDIATE … COMMIT`, and a connection that is
//! closed — never reused — after any failure inside a transaction, so a rolled-back write (disk full, I/O error)
//! can never leave the next write inside a transaction that is never committed. Every state change checks, inside
//! the write, that the order is still at the version its step was decided on.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AnyConnection;
use sqlx::pool::PoolConnection;

use super::{
    Backend, Change, RequestRecord, RequestRow, Store, StoreError, request_from_row, to_text,
};

/// A write transaction on the writer connection. Dropped without [`WriteTx::commit`] (an error, a conflict),
/// it closes the connection, which rolls back whatever SQLite still holds; the pool opens a fresh one.
pub(crate) struct WriteTx {
    connection: PoolConnection<sqlx::Any>,
    open: bool,
    backend: Backend,
}

impl WriteTx {
    pub(crate) async fn begin(store: &Store) -> Result<WriteTx, StoreError> {
        let mut connection = store.writer.acquire().await?;
        if let Err(error) = sqlx::query(store.backend.begin())
            .execute(&mut *connection)
            .await
        {
            connection.close_on_drop();
            return Err(error.into());
        }
        Ok(WriteTx {
            connection,
            open: true,
            backend: store.backend,
        })
    }

    pub(crate) fn connection(&mut self) -> &mut AnyConnection {
        &mut self.connection
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// Commits; an answer of success to the user may follow only an `Ok` from here.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        sqlx::query("COMMIT").execute(&mut *self.connection).await?;
        self.open = false;
        Ok(())
    }
}

impl WriteTx {
    /// Rolls back on purpose (a step that turned out not to apply); the connection is kept only if SQLite
    /// confirms the rollback.
    pub(crate) async fn rollback(mut self) {
        if sqlx::query("ROLLBACK")
            .execute(&mut *self.connection)
            .await
            .is_ok()
        {
            self.open = false;
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            self.connection.close_on_drop();
        }
    }
}

/// The next number of `day` from the count in `daily_sequence`, on `connection` (in its transaction, if any).
async fn next_number(connection: &mut AnyConnection, day: NaiveDate) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO daily_sequence (day, last) VALUES ($1, 1)
         ON CONFLICT (day) DO UPDATE SET last = daily_sequence.last + 1 RETURNING last",
    )
    .bind(day.format("%Y-%m-%d").to_string())
    .fetch_one(connection)
    .await?)
}

impl Store {
    /// Reserves the next tracking number of `day` on PostgreSQL, in a transaction of its own ahead of the
    /// request's. Taken inside the request's transaction, the count's row would stay locked until that commit
    /// (and its flush to disk), so every instance's submissions would queue behind one another on it. Here the
    /// lock lasts one statement, and the commit does not wait for the disk: the request's own commit flushes
    /// the log up to and past it, so a number an acknowledged request carries is never given out again after a
    /// crash. A number whose request then fails stays unused (a gap, never a repeat; on SQLite, with its one
    /// writer, numbers are taken inside the request's transaction and have no gaps).
    async fn reserve_number(&self, day: NaiveDate) -> Result<i64, StoreError> {
        // One statement, its own transaction: `set_config(…, true)` lasts until that transaction's commit.
        Ok(sqlx::query_scalar(
            "INSERT INTO daily_sequence (day, last)
             SELECT $1, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous
             ON CONFLICT (day) DO UPDATE SET last = daily_sequence.last + 1 RETURNING last",
        )
        .bind(day.format("%Y-%m-%d").to_string())
        .fetch_one(&self.writer)
        .await?)
    }
}

/// The message of a write that lost a race: the order changed after the page or the step read it.
pub const CONFLICT: &str = "该工单刚刚已被处理，状态已变化，请刷新页面查看最新情况";

impl Store {
    /// Creates a request with its tracking number (numbered per Shanghai day) and the changes that follow at
    /// once (`changes` sees the new request: the first event with its receipt, and the automatic dispatch when
    /// there is one), in one transaction: either all of it is saved, or nothing is and no number is given out
    /// (on PostgreSQL the number is reserved just before, see [`Store::reserve_number`], and may stay unused).
    /// A repeated idempotency key returns [`StoreError::Duplicate`]. Returns the request as the last change
    /// left it.
    pub async fn create_request<E>(
        &self,
        record: &RequestRecord,
        day: NaiveDate,
        now: DateTime<Utc>,
        tracking_number: impl Fn(NaiveDate, u32) -> String,
        changes: impl FnOnce(&RequestRow) -> Result<Vec<Change>, E>,
    ) -> Result<Result<RequestRow, E>, StoreError> {
        let sequence = match self.backend {
            Backend::Postgres => Some(self.reserve_number(day).await?),
            Backend::Sqlite => None,
        };
        let mut tx = WriteTx::begin(self).await?;
        let sequence = match sequence {
            Some(sequence) => sequence,
            None => next_number(tx.connection(), day).await?,
        };
        let number = tracking_number(day, u32::try_from(sequence).unwrap_or(u32::MAX));
        let now_text = to_text(now);
        let inserted = sqlx::query(
            "INSERT INTO requests (tracking_number, token_hash, idempotency_key, idempotency_fingerprint, kind,
                channel, enterprise_name, credit_code, contact_name, contact_phone, contact_email, town,
                description, suggested_department, policy, status, instant_answer, knowledge_gap, created_at,
                updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)
             RETURNING *",
        )
        .bind(&number)
        .bind(&record.token_hash)
        .bind(&record.idempotency_key)
        .bind(&record.idempotency_fingerprint)
        .bind(&record.kind)
        .bind(&record.channel)
        .bind(&record.enterprise_name)
        .bind(&record.credit_code)
        .bind(&record.contact_name)
        .bind(&record.contact_phone)
        .bind(&record.contact_email)
        .bind(&record.town)
        .bind(&record.description)
        .bind(&record.suggested_department)
        .bind(&record.policy)
        .bind(record.status.code())
        .bind(&record.instant_answer)
        .bind(i64::from(record.knowledge_gap))
        .bind(&now_text)
        .fetch_one(tx.connection())
        .await
        .map_err(StoreError::from_insert)?;
        let mut row = request_from_row(&inserted)?;
        let changes = match changes(&row) {
            Ok(changes) => changes,
            // Nothing is written when the changes cannot be made (the transaction is dropped).
            Err(error) => return Ok(Err(error)),
        };
        for change in &changes {
            row = Self::write_change(tx.connection(), row.id, change, now)
                .await?
                .1;
        }
        tx.commit().await?;
        Ok(Ok(row))
    }

    /// Records `changes` on one request in order, atomically: the events, the new state and the outbox rows.
    /// Each change that names an expected version is written only if the order is still at it (else
    /// [`StoreError::Conflict`] and nothing is written). Returns the last event's id and the request as left.
    pub async fn record_all(
        &self,
        request_id: i64,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<(i64, RequestRow), StoreError> {
        let mut tx = WriteTx::begin(self).await?;
        let mut last = None;
        for change in changes {
            last = Some(Self::write_change(tx.connection(), request_id, change, now).await?);
        }
        let last = last.ok_or_else(|| StoreError::Other("没有要记录的变更".to_owned()))?;
        tx.commit().await?;
        Ok(last)
    }

    /// Records one change; see [`Store::record_all`].
    pub async fn record(
        &self,
        request_id: i64,
        change: &Change,
        now: DateTime<Utc>,
    ) -> Result<(i64, RequestRow), StoreError> {
        self.record_all(request_id, std::slice::from_ref(change), now)
            .await
    }

    /// Writes many changes in one transaction (the supervision pass issues thousands at once); returns the
    /// event ids in order. All or nothing. Changes that only add to the history (cards, reminders: no new
    /// state, no links, no expected version) are written many rows to a statement.
    pub async fn record_many(
        &self,
        changes: &[(i64, Change)],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut ids = Vec::with_capacity(changes.len());
        let Some(((first_request, first), rest)) = changes.split_first() else {
            return Ok(ids);
        };
        let mut tx = WriteTx::begin(self).await?;
        ids.push(
            Self::write_change(tx.connection(), *first_request, first, now)
                .await?
                .0,
        );
        if rest.iter().all(|(_, change)| change.only_history()) {
            ids.extend(Self::next_event_ids(&mut tx, ids[0], rest.len()).await?);
            Self::append_history(tx.connection(), rest, &ids[1..], now).await?;
        } else {
            for (request_id, change) in rest {
                ids.push(
                    Self::write_change(tx.connection(), *request_id, change, now)
                        .await?
                        .0,
                );
            }
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// The ids of the next `count` events, after the event `first` this transaction wrote. On SQLite the write
    /// lock is ours, so they follow `first`; on PostgreSQL other instances take ids at the same time, so they are
    /// drawn from the sequence.
    async fn next_event_ids(
        tx: &mut WriteTx,
        first: i64,
        count: usize,
    ) -> Result<Vec<i64>, StoreError> {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        match tx.backend() {
            Backend::Sqlite => Ok((1..=count).map(|offset| first + offset).collect()),
            Backend::Postgres => Ok(sqlx::query_scalar(
                "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1)",
            )
            .bind(count)
            .fetch_all(tx.connection())
            .await?),
        }
    }

    /// Inserts history-only changes with the given event ids, many rows per statement.
    async fn append_history(
        connection: &mut AnyConnection,
        changes: &[(i64, Change)],
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const ROWS: usize = 200;
        let now_text = to_text(now);
        let events: Vec<(i64, &(i64, Change))> = ids.iter().copied().zip(changes).collect();
        for chunk in events.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO events (id, request_id, at, actor, kind, payload) VALUES {}",
                placeholders(chunk.len(), 6)
            );
            let mut insert = sqlx::query(&sql);
            for (id, (request_id, change)) in chunk {
                insert = insert
                    .bind(*id)
                    .bind(*request_id)
                    .bind(&now_text)
                    .bind(&change.actor)
                    .bind(change.event.kind().code())
                    .bind(change.event.payload_json());
            }
            insert.execute(&mut *connection).await?;
        }
        let mails: Vec<(i64, &super::OutgoingMail)> = events
            .iter()
            .flat_map(|(id, (_, change))| change.mails.iter().map(move |mail| (*id, mail)))
            .collect();
        for chunk in mails.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO outbox (event_id, recipient, subject, text_body, html_body, next_attempt_at) VALUES {}
                 ON CONFLICT (event_id, recipient) DO NOTHING",
                placeholders(chunk.len(), 6)
            );
            let mut insert = sqlx::query(&sql);
            for (id, mail) in chunk {
                insert = insert
                    .bind(*id)
                    .bind(&mail.recipient)
                    .bind(&mail.subject)
                    .bind(&mail.text_body)
                    .bind(&mail.html_body)
                    .bind(&now_text);
            }
            insert.execute(&mut *connection).await?;
        }
        Ok(())
    }

    /// Writes one change inside a transaction: checks the expected version, updates the request, appends the
    /// event, queues its mails and stores its links. Returns the event's id and the request as left.
    pub(crate) async fn write_change(
        connection: &mut AnyConnection,
        request_id: i64,
        change: &Change,
        now: DateTime<Utc>,
    ) -> Result<(i64, RequestRow), StoreError> {
        if change.status == Some(crate::order::Status::Closed)
            && change.event.closure_reason().is_none()
        {
            return Err(StoreError::Other(format!(
                "销号必须记录理由（事件“{}”没有 reason）",
                change.event.kind()
            )));
        }
        let now_text = to_text(now);
        // The state changes (and the version moves) only when the change changes it; a note or a card checks
        // the expected version without moving it, so it never makes someone else's step conflict.
        let bump = i64::from(!change.leaves_state());
        let updated = sqlx::query(
            "UPDATE requests SET
                status = COALESCE($2, status),
                lead_unit = COALESCE($3, lead_unit),
                co_units = COALESCE($4, co_units),
                due_at = COALESCE($5, due_at),
                round = round + $6,
                version = version + $7,
                updated_at = $8
             WHERE id = $1 AND ($9 IS NULL OR version = $9)
             RETURNING *",
        )
        .bind(request_id)
        .bind(change.status.map(|status| status.code()))
        .bind(&change.lead_unit)
        .bind(
            change
                .co_units
                .as_ref()
                .map(|units| serde_json::to_string(units).unwrap_or_else(|_| "[]".to_owned())),
        )
        .bind(change.due_at.map(to_text))
        .bind(i64::from(change.new_round))
        .bind(bump)
        .bind(&now_text)
        .bind(change.expect)
        .fetch_optional(&mut *connection)
        .await?;
        let Some(updated) = updated else {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM requests WHERE id = $1")
                .bind(request_id)
                .fetch_optional(&mut *connection)
                .await?;
            return Err(match exists {
                Some(_) => StoreError::Conflict(CONFLICT.to_owned()),
                None => StoreError::NotFound,
            });
        };
        let row = request_from_row(&updated)?;
        let event_id: i64 = sqlx::query_scalar(
            "INSERT INTO events (request_id, at, actor, kind, payload) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(request_id)
        .bind(&now_text)
        .bind(&change.actor)
        .bind(change.event.kind().code())
        .bind(change.event.payload_json())
        .fetch_one(&mut *connection)
        .await
        .map_err(StoreError::from_insert)?;
        for mail in &change.mails {
            sqlx::query(
                "INSERT INTO outbox (event_id, recipient, subject, text_body, html_body, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, recipient) DO NOTHING",
            )
            .bind(event_id)
            .bind(&mail.recipient)
            .bind(&mail.subject)
            .bind(&mail.text_body)
            .bind(&mail.html_body)
            .bind(&now_text)
            .execute(&mut *connection)
            .await?;
        }
        for link in &change.links {
            sqlx::query(
                "INSERT INTO unit_tokens (request_id, unit_id, token_hash, expires_at, created_at, role, round)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(request_id)
            .bind(&link.link.holder)
            .bind(&link.token_hash)
            .bind(to_text(link.expires))
            .bind(&now_text)
            .bind(link.link.role.code())
            .bind(i64::from(link.link.round))
            .execute(&mut *connection)
            .await?;
        }
        Ok((event_id, row))
    }
}

/// `($1, $2, …), ($n+1, …)`: the parameters of `rows` rows of `columns` values, numbered as both backends read
/// them.
pub(super) fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let values: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_across_rows() {
        assert_eq!(super::placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
