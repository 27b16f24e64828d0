//! The database (数据库): every SQL statement of the forms backend lives in this module, so another backend
//! (PostgreSQL) can be added without touching handlers. SQLite through sqlx, WAL mode, migrations embedded and
//! run at start.
//!
//! Rule: the current state of a request is never changed without an event written in the same transaction
//! ([`Store::record`]), and the e-mails an event causes are written to the outbox in that transaction too. A
//! state change is written only if the order is still at the version its step was decided on (`write.rs`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::order::{Event, EventKind, Link, Status};

use backend::Backend;
pub use backend::sqlite_file;
pub use copy::{CopyReport, TableCopy, copy_database, copy_database_with};
pub use listing::RequestFilter;

mod accounts;
mod backend;
pub mod cards;
mod copy;
pub mod ledger;
mod listing;
mod outbox;
pub mod reports;
pub mod verification;
mod write;

/// What can go wrong in the store; no database library type crosses this boundary. The details are for the
/// log; users read the HTTP layer's plain words.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("记录不存在")]
    NotFound,
    /// The order changed between the read its step was decided on and the write (a 409 for the user).
    #[error("{0}")]
    Conflict(String),
    #[error("记录已存在")]
    Duplicate,
    /// The database cannot take writes now (disk full, I/O error, locked, the pool exhausted): a 503, nothing
    /// acknowledged; service resumes on its own once the cause is gone.
    #[error("数据库暂时不可用：{0}")]
    Unavailable(String),
    #[error("数据库错误：{0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(error.to_string())
            }
            sqlx::Error::Database(database) if Backend::unavailable(database.as_ref()) => {
                StoreError::Unavailable(error.to_string())
            }
            _ => StoreError::Other(error.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(format!("数据库迁移失败：{error}"))
    }
}

impl StoreError {
    fn from_insert(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::Database(database) if database.is_unique_violation() => {
                StoreError::Duplicate
            }
            _ => StoreError::from(error),
        }
    }
}

/// The database handle, cheap to clone: the port through which the forms backend keeps everything. No
/// database library type crosses it. On SQLite, writes go through one connection (see `backend.rs`); on
/// PostgreSQL, one pool serves both.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    writer: AnyPool,
    backend: Backend,
    /// Who this process is among the instances on one database (host, process, a random part): the name on
    /// its outbox claims and leases.
    instance: std::sync::Arc<str>,
}

/// A request to insert, already validated.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub token_hash: String,
    pub idempotency_key: Option<String>,
    /// The SHA-256 of what was submitted under the key: the same key with another body is refused.
    pub idempotency_fingerprint: Option<String>,
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
    pub status: Status,
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
    #[serde(skip)]
    pub idempotency_fingerprint: Option<String>,
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
    pub status: Status,
    pub instant_answer: Option<String>,
    pub knowledge_gap: bool,
    pub lead_unit: Option<String>,
    pub co_units: Vec<String>,
    pub due_at: Option<DateTime<Utc>>,
    /// Moves with every change of state; a write names the version it was decided on.
    pub version: i64,
    /// The round of handling: 1, and one more after every return to the unit.
    pub round: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RequestRow {
    /// What the order rules need to know of this order.
    pub fn state(&self) -> crate::order::OrderState<'_> {
        crate::order::OrderState {
            status: self.status,
            round: self.round,
            lead_unit: self.lead_unit.as_deref(),
            co_units: &self.co_units,
        }
    }
}

/// One entry of a request's history.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// The event with what it records (`kind` and `payload` in JSON, as stored).
    #[serde(flatten)]
    pub event: Event,
}

impl EventRow {
    pub fn kind(&self) -> EventKind {
        self.event.kind()
    }

    /// What the event records, as the stored JSON object.
    pub fn payload(&self) -> serde_json::Value {
        self.event.payload()
    }

    /// A row from its stored parts: the kind's code and the payload (as tests and fixtures write them).
    pub fn from_parts(
        id: i64,
        at: DateTime<Utc>,
        actor: &str,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<EventRow, StoreError> {
        let kind: EventKind = kind
            .parse()
            .map_err(|error: crate::order::UnknownEventKind| {
                StoreError::Other(error.to_string())
            })?;
        let event = Event::from_stored(kind, &payload.to_string())
            .map_err(|error| StoreError::Other(format!("事件“{kind}”的记录无法读取：{error}")))?;
        Ok(EventRow {
            id,
            at,
            actor: actor.to_owned(),
            event,
        })
    }
}

/// An e-mail to send because of an event.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

/// A link to create with a change: what it grants, the hash of its token, and when it expires.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub link: Link,
    pub token_hash: String,
    pub expires: DateTime<Utc>,
}

/// A change to one request: the event, the new state, and the e-mails and links it causes.
#[derive(Debug, Clone)]
pub struct Change {
    pub actor: String,
    pub event: Event,
    pub status: Option<Status>,
    pub lead_unit: Option<String>,
    pub co_units: Option<Vec<String>>,
    pub due_at: Option<DateTime<Utc>>,
    /// The order goes back to the unit for another round of handling.
    pub new_round: bool,
    /// The version of the order the step was decided on; the write fails with a conflict if it moved.
    pub expect: Option<i64>,
    pub mails: Vec<OutgoingMail>,
    pub links: Vec<NewLink>,
}

impl Change {
    /// An event by `actor` that changes nothing else until fields are set.
    pub fn new(actor: impl ToString, event: Event) -> Change {
        Change {
            actor: actor.to_string(),
            event,
            status: None,
            lead_unit: None,
            co_units: None,
            due_at: None,
            new_round: false,
            expect: None,
            mails: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Written only if the order is still at `version`.
    pub fn expecting(mut self, version: i64) -> Change {
        self.expect = Some(version);
        self
    }

    /// Whether the change leaves the request's state as it is (a note, a card, a reminder).
    fn leaves_state(&self) -> bool {
        self.status.is_none()
            && self.lead_unit.is_none()
            && self.co_units.is_none()
            && self.due_at.is_none()
            && !self.new_round
            && self.links.is_empty()
    }

    /// Whether the change only adds to the history, checking nothing (cards and reminders, written in bulk).
    fn only_history(&self) -> bool {
        self.leaves_state() && self.expect.is_none()
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

/// An `events` row (columns id, at, actor, kind, payload).
fn event_from_row(row: &AnyRow) -> Result<EventRow, sqlx::Error> {
    let payload: String = row.try_get("payload")?;
    let kind: String = row.try_get("kind")?;
    let event = kind
        .parse::<EventKind>()
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
        .and_then(|kind| {
            Event::from_stored(kind, &payload).map_err(|error| sqlx::Error::Decode(Box::new(error)))
        })?;
    Ok(EventRow {
        id: row.try_get("id")?,
        at: from_text(&row.try_get::<String, _>("at")?),
        actor: row.try_get("actor")?,
        event,
    })
}

/// A `requests` row (`SELECT *` or `RETURNING *`).
fn request_from_row(row: &AnyRow) -> Result<RequestRow, StoreError> {
    let co_units: String = row.try_get("co_units")?;
    let due_at: Option<String> = row.try_get("due_at")?;
    let status: String = row.try_get("status")?;
    Ok(RequestRow {
        id: row.try_get("id")?,
        tracking_number: row.try_get("tracking_number")?,
        token_hash: row.try_get("token_hash")?,
        idempotency_fingerprint: row.try_get("idempotency_fingerprint")?,
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
        status: status
            .parse()
            .map_err(|error: crate::order::UnknownStatus| StoreError::Other(error.to_string()))?,
        instant_answer: row.try_get("instant_answer")?,
        knowledge_gap: row.try_get::<i64, _>("knowledge_gap")? != 0,
        lead_unit: row.try_get("lead_unit")?,
        co_units: serde_json::from_str(&co_units).unwrap_or_default(),
        due_at: due_at.as_deref().map(from_text),
        version: row.try_get("version")?,
        round: u32::try_from(row.try_get::<i64, _>("round")?).unwrap_or(1),
        created_at: from_text(&row.try_get::<String, _>("created_at")?),
        updated_at: from_text(&row.try_get::<String, _>("updated_at")?),
    })
}

/// `requests` rows (`SELECT *`) as requests.
fn requests_from(rows: &[AnyRow]) -> Result<Vec<RequestRow>, StoreError> {
    rows.iter().map(request_from_row).collect()
}

/// `host:pid:random`, unique among the instances on one database even when two start at once on one host.
fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "qihu".to_owned());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
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
    /// Opens the database at `database_url` and runs the embedded migrations: `sqlite://data/qihu.db`
    /// (created when missing, WAL mode; `?max_page_count=N` caps its size) or `postgres://user@host/db`
    /// (`?max_connections=N` sizes the pool).
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        let backend = Backend::of(database_url);
        let pools = backend.connect(database_url).await?;
        Ok(Store {
            pool: pools.read,
            writer: pools.write,
            backend,
            instance: instance_name().into(),
        })
    }

    /// Whether the database answers (the health check of a load balancer).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The one request a `SELECT * FROM requests WHERE …` with one bound value finds.
    async fn one_request<'q, T>(
        &self,
        sql: &'q str,
        value: T,
    ) -> Result<Option<RequestRow>, StoreError>
    where
        T: 'q + Send + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        let row = sqlx::query(sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    pub async fn request_by_id(&self, id: i64) -> Result<Option<RequestRow>, StoreError> {
        self.one_request("SELECT * FROM requests WHERE id = $1", id)
            .await
    }

    pub async fn request_by_tracking_number(
        &self,
        tracking_number: &str,
    ) -> Result<Option<RequestRow>, StoreError> {
        self.one_request(
            "SELECT * FROM requests WHERE tracking_number = $1",
            tracking_number,
        )
        .await
    }

    pub async fn request_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<RequestRow>, StoreError> {
        self.one_request("SELECT * FROM requests WHERE idempotency_key = $1", key)
            .await
    }

    /// Whether the last event of a request is its intake or escalation (nothing has happened since).
    pub async fn intake_is_last(&self, request_id: i64) -> Result<bool, StoreError> {
        let kind: Option<String> = sqlx::query_scalar(
            "SELECT kind FROM events WHERE request_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(kind.is_some_and(|kind| kind == EventKind::Submitted || kind == EventKind::Escalated))
    }

    /// Orders waiting at `new` whose last event is their intake or escalation: the ones an interrupted
    /// automatic dispatch may have left behind.
    pub async fn waiting_after_intake(&self) -> Result<Vec<RequestRow>, StoreError> {
        let sql = format!(
            "SELECT * FROM requests WHERE status = '{}'
               AND (SELECT kind FROM events e WHERE e.request_id = requests.id ORDER BY e.id DESC LIMIT 1)
                   IN ('{}', '{}')
             ORDER BY created_at",
            Status::New.code(),
            EventKind::Submitted.code(),
            EventKind::Escalated.code(),
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        requests_from(&rows)
    }

    /// Requests with a given status, oldest first (the centre's queue).
    pub async fn requests_with_status(
        &self,
        status: Status,
        limit: i64,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM requests WHERE status = $1 ORDER BY created_at LIMIT $2")
                .bind(status.code())
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
             ORDER BY created_at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        requests_from(&rows)
    }

    /// The history of a request, oldest first.
    pub async fn events(&self, request_id: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, kind, payload FROM events WHERE request_id = $1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(event_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The link a presented token's hash opens on this request, if it has not expired.
    pub async fn link_for_token(
        &self,
        request_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Link>, StoreError> {
        let row = sqlx::query(
            "SELECT unit_id, role, round FROM unit_tokens
             WHERE request_id = $1 AND token_hash = $2 AND expires_at > $3",
        )
        .bind(request_id)
        .bind(token_hash)
        .bind(to_text(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let role: String = row.try_get("role")?;
        Ok(Some(Link {
            role: role.parse().map_err(StoreError::Other)?,
            holder: row.try_get("unit_id")?,
            round: u32::try_from(row.try_get::<i64, _>("round")?).unwrap_or_default(),
        }))
    }
}
