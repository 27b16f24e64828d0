//! The database (数据库): every SQL statement of the forms backend lives in this module, so another backend
//! (PostgreSQL) can be added without touching handlers. SQLite through sqlx, WAL mode, migrations embedded and
//! run at start.
//!
//! Rule: the current state of a request is never changed without an event written in the same transaction
//! ([`Store::record`]), and the e-mails an event causes are written to the outbox in that transaction too.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

pub mod cards;
pub mod ledger;
pub mod reports;
pub mod verification;

/// The database failed; the details are for the log, never for users.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库错误：{0}")]
    Database(#[from] sqlx::Error),
    #[error("数据库迁移失败：{0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("无法创建数据库目录 {path}：{source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("记录已存在")]
    Duplicate,
    /// Nothing closes without a recorded reason: a change to `closed` must carry `reason` in its payload.
    #[error("销号必须记录理由（事件“{0}”没有 reason）")]
    ClosureWithoutReason(String),
}

impl StoreError {
    fn from_insert(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::Database(database) if database.is_unique_violation() => {
                StoreError::Duplicate
            }
            _ => StoreError::Database(error),
        }
    }
}

/// The database handle, cheap to clone. Writes go through one connection, so concurrent submissions queue in
/// order instead of retrying on SQLite's lock (which makes for long tail latencies); reads use a pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    writer: SqlitePool,
}

/// A request to insert, already validated.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub token_hash: String,
    pub idempotency_key: Option<String>,
    pub kind: String,
    pub channel: String,
    pub enterprise_name: String,
    pub credit_code: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: Option<String>,
    pub town: String,
    pub description: String,
    pub suggested_department: Option<String>,
    pub policy: Option<String>,
    pub status: String,
    pub instant_answer: Option<String>,
    pub knowledge_gap: bool,
}

/// A stored request with its current state.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRow {
    pub id: i64,
    pub tracking_number: String,
    #[serde(skip)]
    pub token_hash: String,
    pub kind: String,
    pub channel: String,
    pub enterprise_name: String,
    pub credit_code: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: Option<String>,
    pub town: String,
    pub description: String,
    pub suggested_department: Option<String>,
    pub policy: Option<String>,
    pub status: String,
    pub instant_answer: Option<String>,
    pub knowledge_gap: bool,
    pub lead_unit: Option<String>,
    pub co_units: Vec<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a request's history.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub payload: serde_json::Value,
}

/// An e-mail to send because of an event.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

/// A change to one request: the event, the new state, and the e-mails it causes.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub actor: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub status: Option<String>,
    pub lead_unit: Option<String>,
    pub co_units: Option<Vec<String>>,
    pub due_at: Option<DateTime<Utc>>,
    pub mails: Vec<OutgoingMail>,
    /// Unit action links to create: (unit id, token hash, expiry).
    pub unit_tokens: Vec<(String, String, DateTime<Utc>)>,
}

impl Change {
    /// Whether the change only adds to the history (an event and its e-mails) and leaves the request as it is.
    fn only_history(&self) -> bool {
        self.status.is_none()
            && self.lead_unit.is_none()
            && self.co_units.is_none()
            && self.due_at.is_none()
            && self.unit_tokens.is_empty()
    }
}

/// A message waiting in the outbox.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: i64,
    pub event_id: i64,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i64,
}

/// Counts of the outbox by state, for the console and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
}

/// A console user (工作台用户): centre staff or a leader. The password hash never leaves the store's callers.
#[derive(Debug, Clone, Serialize)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

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

/// The status of a closed order (销号); see [`closure_reason`].
const CLOSED_STATUS: &str = "closed";

/// The reason an event that closes an order records (`reason` in its payload, not blank). Every path to
/// `closed` — a satisfied rating, a call-back, the task force's verification opinion — writes one, and the store
/// refuses a closure without it, so no order is ever closed silently.
pub fn closure_reason(payload: &serde_json::Value) -> Option<&str> {
    payload
        .get("reason")
        .and_then(|reason| reason.as_str())
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
}

/// An `events` row (columns id, at, actor, kind, payload).
fn event_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<EventRow, sqlx::Error> {
    let payload: String = row.try_get("payload")?;
    Ok(EventRow {
        id: row.try_get("id")?,
        at: from_text(&row.try_get::<String, _>("at")?),
        actor: row.try_get("actor")?,
        kind: row.try_get("kind")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
    })
}

/// `requests` rows (`SELECT *`) as requests.
fn requests_from(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<RequestRow>, StoreError> {
    Ok(rows
        .iter()
        .map(Store::request_from_row)
        .collect::<Result<_, _>>()?)
}

fn to_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn from_text(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_default()
}

impl Store {
    /// Opens (creating when missing) the database at `database_url` (`sqlite://data/qihu.db`), in WAL mode,
    /// and runs the embedded migrations.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        let path = database_url
            .strip_prefix("sqlite://")
            .or_else(|| database_url.strip_prefix("sqlite:"))
            .unwrap_or(database_url);
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Folder {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: every commit is on disk before the response, so what got a 201 survives even a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Reads through the OS page cache instead of a read() per page: the supervision pass and reports scan
            // indexes over millions of rows.
            .pragma("mmap_size", "268435456")
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("src/store/migrations").run(&writer).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Store { pool, writer })
    }

    /// Creates a request with its tracking number (numbered per Shanghai day), its first event and the mails
    /// that event causes (`mails` sees the new request, e.g. for the receipt with its tracking number), in one
    /// transaction. A repeated idempotency key returns [`StoreError::Duplicate`].
    pub async fn create_request<E>(
        &self,
        record: &RequestRecord,
        day: NaiveDate,
        now: DateTime<Utc>,
        first: &Change,
        tracking_number: impl Fn(NaiveDate, u32) -> String,
        mails: impl FnOnce(&RequestRow) -> Result<Vec<OutgoingMail>, E>,
    ) -> Result<Result<(RequestRow, i64), E>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let day_text = day.format("%Y-%m-%d").to_string();
        let sequence: i64 = sqlx::query_scalar(
            "INSERT INTO daily_sequence (day, last) VALUES (?1, 1)
             ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
        )
        .bind(&day_text)
        .fetch_one(&mut *tx)
        .await?;
        let number = tracking_number(day, u32::try_from(sequence).unwrap_or(u32::MAX));
        let now_text = to_text(now);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO requests (tracking_number, token_hash, idempotency_key, kind, channel, enterprise_name,
                credit_code, contact_name, contact_phone, contact_email, town, description, suggested_department,
                policy, status, instant_answer, knowledge_gap, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18)
             RETURNING id",
        )
        .bind(&number)
        .bind(&record.token_hash)
        .bind(&record.idempotency_key)
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
        .bind(&record.status)
        .bind(&record.instant_answer)
        .bind(record.knowledge_gap)
        .bind(&now_text)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from_insert)?;
        let row = RequestRow {
            id,
            tracking_number: number,
            token_hash: record.token_hash.clone(),
            kind: record.kind.clone(),
            channel: record.channel.clone(),
            enterprise_name: record.enterprise_name.clone(),
            credit_code: record.credit_code.clone(),
            contact_name: record.contact_name.clone(),
            contact_phone: record.contact_phone.clone(),
            contact_email: record.contact_email.clone(),
            town: record.town.clone(),
            description: record.description.clone(),
            suggested_department: record.suggested_department.clone(),
            policy: record.policy.clone(),
            status: record.status.clone(),
            instant_answer: record.instant_answer.clone(),
            knowledge_gap: record.knowledge_gap,
            lead_unit: None,
            co_units: Vec::new(),
            due_at: None,
            created_at: now,
            updated_at: now,
        };
        let mails = match mails(&row) {
            Ok(mails) => mails,
            // Nothing is written when the mails cannot be made (the transaction is dropped).
            Err(error) => return Ok(Err(error)),
        };
        let first = Change {
            mails,
            ..first.clone()
        };
        let event_id = Self::write_change(&mut tx, id, &first, now).await?;
        tx.commit().await?;
        Ok(Ok((row, event_id)))
    }

    /// Records `change` on request `request_id`: the event, the new state and the outbox rows, atomically.
    pub async fn record(
        &self,
        request_id: i64,
        change: &Change,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.writer.begin().await?;
        let event_id = Self::write_change(&mut tx, request_id, change, now).await?;
        tx.commit().await?;
        Ok(event_id)
    }

    /// Writes many changes in one transaction (the supervision pass issues thousands at once); returns the
    /// event ids in order. All or nothing. Changes that only add to the history (cards, reminders: no new
    /// state, no links) are written many rows to a statement.
    pub async fn record_many(
        &self,
        changes: &[(i64, Change)],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let mut ids = Vec::with_capacity(changes.len());
        let Some(((first_request, first), rest)) = changes.split_first() else {
            return Ok(ids);
        };
        // The first change takes the write lock, so the ids after it are ours to number.
        ids.push(Self::write_change(&mut tx, *first_request, first, now).await?);
        if rest.iter().all(|(_, change)| change.only_history()) {
            let next = ids[0] + 1;
            ids.extend((0..rest.len() as i64).map(|offset| next + offset));
            Self::append_history(&mut tx, rest, &ids[1..], now).await?;
        } else {
            for (request_id, change) in rest {
                ids.push(Self::write_change(&mut tx, *request_id, change, now).await?);
            }
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Inserts history-only changes with the given event ids, many rows per statement.
    async fn append_history(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        changes: &[(i64, Change)],
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const ROWS: usize = 200;
        let now_text = to_text(now);
        let events: Vec<(i64, &(i64, Change))> = ids.iter().copied().zip(changes).collect();
        for chunk in events.chunks(ROWS) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO events (id, request_id, at, actor, kind, payload) ",
            );
            insert.push_values(chunk, |mut row, (id, (request_id, change))| {
                row.push_bind(*id)
                    .push_bind(*request_id)
                    .push_bind(&now_text)
                    .push_bind(&change.actor)
                    .push_bind(&change.kind)
                    .push_bind(change.payload.to_string());
            });
            insert.build().execute(&mut **tx).await?;
        }
        let mails: Vec<(i64, &OutgoingMail)> = events
            .iter()
            .flat_map(|(id, (_, change))| change.mails.iter().map(move |mail| (*id, mail)))
            .collect();
        for chunk in mails.chunks(ROWS) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO outbox (event_id, recipient, subject, text_body, html_body, next_attempt_at) ",
            );
            insert.push_values(chunk, |mut row, (id, mail)| {
                row.push_bind(*id)
                    .push_bind(&mail.recipient)
                    .push_bind(&mail.subject)
                    .push_bind(&mail.text_body)
                    .push_bind(&mail.html_body)
                    .push_bind(&now_text);
            });
            insert.push(" ON CONFLICT (event_id, recipient) DO NOTHING");
            insert.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn write_change(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        request_id: i64,
        change: &Change,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        if change.status.as_deref() == Some(CLOSED_STATUS)
            && closure_reason(&change.payload).is_none()
        {
            return Err(StoreError::ClosureWithoutReason(change.kind.clone()));
        }
        let now_text = to_text(now);
        let event_id: i64 = sqlx::query_scalar(
            "INSERT INTO events (request_id, at, actor, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )
        .bind(request_id)
        .bind(&now_text)
        .bind(&change.actor)
        .bind(&change.kind)
        .bind(change.payload.to_string())
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE requests SET
                status = COALESCE(?2, status),
                lead_unit = COALESCE(?3, lead_unit),
                co_units = COALESCE(?4, co_units),
                due_at = COALESCE(?5, due_at),
                updated_at = ?6
             WHERE id = ?1",
        )
        .bind(request_id)
        .bind(&change.status)
        .bind(&change.lead_unit)
        .bind(
            change
                .co_units
                .as_ref()
                .map(|units| serde_json::to_string(units).unwrap_or_else(|_| "[]".to_owned())),
        )
        .bind(change.due_at.map(to_text))
        .bind(&now_text)
        .execute(&mut **tx)
        .await?;
        for mail in &change.mails {
            sqlx::query(
                "INSERT INTO outbox (event_id, recipient, subject, text_body, html_body, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (event_id, recipient) DO NOTHING",
            )
            .bind(event_id)
            .bind(&mail.recipient)
            .bind(&mail.subject)
            .bind(&mail.text_body)
            .bind(&mail.html_body)
            .bind(&now_text)
            .execute(&mut **tx)
            .await?;
        }
        for (unit, token_hash, expires) in &change.unit_tokens {
            sqlx::query(
                "INSERT INTO unit_tokens (request_id, unit_id, token_hash, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(request_id)
            .bind(unit)
            .bind(token_hash)
            .bind(to_text(*expires))
            .bind(&now_text)
            .execute(&mut **tx)
            .await?;
        }
        Ok(event_id)
    }

    fn request_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<RequestRow, sqlx::Error> {
        let co_units: String = row.try_get("co_units")?;
        let due_at: Option<String> = row.try_get("due_at")?;
        Ok(RequestRow {
            id: row.try_get("id")?,
            tracking_number: row.try_get("tracking_number")?,
            token_hash: row.try_get("token_hash")?,
            kind: row.try_get("kind")?,
            channel: row.try_get("channel")?,
            enterprise_name: row.try_get("enterprise_name")?,
            credit_code: row.try_get("credit_code")?,
            contact_name: row.try_get("contact_name")?,
            contact_phone: row.try_get("contact_phone")?,
            contact_email: row.try_get("contact_email")?,
            town: row.try_get("town")?,
            description: row.try_get("description")?,
            suggested_department: row.try_get("suggested_department")?,
            policy: row.try_get("policy")?,
            status: row.try_get("status")?,
            instant_answer: row.try_get("instant_answer")?,
            knowledge_gap: row.try_get("knowledge_gap")?,
            lead_unit: row.try_get("lead_unit")?,
            co_units: serde_json::from_str(&co_units).unwrap_or_default(),
            due_at: due_at.as_deref().map(from_text),
            created_at: from_text(&row.try_get::<String, _>("created_at")?),
            updated_at: from_text(&row.try_get::<String, _>("updated_at")?),
        })
    }

    /// The one request a `SELECT * FROM requests WHERE …` with one bound value finds.
    async fn one_request<'q, T>(
        &self,
        sql: &'q str,
        value: T,
    ) -> Result<Option<RequestRow>, StoreError>
    where
        T: 'q + Send + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    {
        let row = sqlx::query(sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::request_from_row).transpose()?)
    }

    pub async fn request_by_id(&self, id: i64) -> Result<Option<RequestRow>, StoreError> {
        self.one_request("SELECT * FROM requests WHERE id = ?1", id)
            .await
    }

    pub async fn request_by_tracking_number(
        &self,
        tracking_number: &str,
    ) -> Result<Option<RequestRow>, StoreError> {
        self.one_request(
            "SELECT * FROM requests WHERE tracking_number = ?1",
            tracking_number,
        )
        .await
    }

    pub async fn request_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<RequestRow>, StoreError> {
        self.one_request("SELECT * FROM requests WHERE idempotency_key = ?1", key)
            .await
    }

    /// Requests with a given status, oldest first (the centre's queue).
    pub async fn requests_with_status(
        &self,
        status: &str,
        limit: i64,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM requests WHERE status = ?1 ORDER BY created_at LIMIT ?2")
                .bind(status)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        requests_from(&rows)
    }

    /// 知识缺口: consultations the policy base could not answer, newest first.
    pub async fn knowledge_gaps(&self, limit: i64) -> Result<Vec<RequestRow>, StoreError> {
        let rows = sqlx::query(
            // A consultation the policy base could not answer, or one whose instant answer the enterprise said
            // did not solve its problem (转人工办理) — the strongest sign that the answer was wrong.
            "SELECT * FROM requests WHERE knowledge_gap = 1
                OR (instant_answer IS NOT NULL
                    AND EXISTS (SELECT 1 FROM events e WHERE e.request_id = requests.id AND e.kind = 'escalated'))
             ORDER BY created_at DESC LIMIT ?1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        requests_from(&rows)
    }

    /// The history of a request, oldest first.
    pub async fn events(&self, request_id: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, kind, payload FROM events WHERE request_id = ?1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(event_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The unit a presented action-link token belongs to, for this request, if it has not expired.
    pub async fn unit_for_token(
        &self,
        request_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let unit: Option<String> = sqlx::query_scalar(
            "SELECT unit_id FROM unit_tokens WHERE request_id = ?1 AND token_hash = ?2 AND expires_at > ?3",
        )
        .bind(request_id)
        .bind(token_hash)
        .bind(to_text(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(unit)
    }

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

    fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<UserRow, sqlx::Error> {
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
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
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
        let row = sqlx::query("SELECT * FROM users WHERE username = ?1")
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
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?1")
            .bind(to_text(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(to_text(expires_at))
        .execute(&mut *tx)
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
             WHERE sessions.token_hash = ?1 AND sessions.expires_at > ?2",
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
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?1")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The `WHERE` clause of a [`RequestFilter`]; its parameters are bound by [`Store::bind_filter`] in the same
    /// order (status, kind, unit twice, query three times).
    const FILTER_WHERE: &'static str = "WHERE (?1 IS NULL OR status = ?1)
           AND (?2 IS NULL OR kind = ?2)
           AND (?3 IS NULL OR lead_unit = ?3
                OR EXISTS (SELECT 1 FROM json_each(requests.co_units) WHERE json_each.value = ?3))
           AND (?4 IS NULL OR tracking_number LIKE ?4 ESCAPE '\\' OR enterprise_name LIKE ?4 ESCAPE '\\'
                OR description LIKE ?4 ESCAPE '\\')";

    fn bind_filter<'q>(
        query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
        filter: &RequestFilter,
    ) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
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
            "SELECT * FROM requests {} ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?6",
            Self::FILTER_WHERE
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
        let sql = format!("SELECT COUNT(*) AS n FROM requests {}", Self::FILTER_WHERE);
        let row = Self::bind_filter(sqlx::query(&sql), filter)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
