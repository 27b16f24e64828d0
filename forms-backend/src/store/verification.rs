//! Queries of the verification (办结核查, notice §二(四)3) — the uploaded 不满意诉求审核反馈表 — and the counts
//! of open and overdue orders per unit that the console's unit page shows.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Change, Store, StoreError, from_text, to_text};

/// A form to store with the event that records its upload.
#[derive(Debug, Clone, Copy)]
pub struct NewVerificationForm<'a> {
    pub unit_id: &'a str,
    pub media_type: &'a str,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
}

/// A stored form, without its content.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationFormRow {
    pub id: i64,
    pub request_id: i64,
    /// The `verification_form_uploaded` event.
    pub event_id: i64,
    pub unit_id: String,
    pub media_type: String,
    pub file_name: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
}

/// How many orders a unit leads that are open (it owes a report) and how many of those are past their deadline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnitOrderCounts {
    pub unit_id: String,
    pub open: i64,
    pub overdue: i64,
}

const FORM_COLUMNS: &str =
    "id, request_id, event_id, unit_id, media_type, file_name, size, sha256, uploaded_at";

fn form_from_row(row: &sqlx::any::AnyRow) -> Result<VerificationFormRow, sqlx::Error> {
    Ok(VerificationFormRow {
        id: row.try_get("id")?,
        request_id: row.try_get("request_id")?,
        event_id: row.try_get("event_id")?,
        unit_id: row.try_get("unit_id")?,
        media_type: row.try_get("media_type")?,
        file_name: row.try_get("file_name")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        uploaded_at: from_text(&row.try_get::<String, _>("uploaded_at")?),
    })
}

impl Store {
    /// Records `change` (the upload's event, with its e-mails) and stores the file, in one transaction; returns
    /// the event's id and the form's.
    pub async fn record_verification_form(
        &self,
        request_id: i64,
        change: &Change,
        form: &NewVerificationForm<'_>,
        now: DateTime<Utc>,
    ) -> Result<(i64, i64), StoreError> {
        let mut tx = super::write::WriteTx::begin(self).await?;
        let (event_id, _) = Self::write_change(tx.connection(), request_id, change, now).await?;
        let form_id: i64 = sqlx::query_scalar(
            "INSERT INTO verification_forms (request_id, event_id, unit_id, media_type, file_name, size, sha256,
                content, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(request_id)
        .bind(event_id)
        .bind(form.unit_id)
        .bind(form.media_type)
        .bind(form.file_name)
        .bind(i64::try_from(form.content.len()).unwrap_or(i64::MAX))
        .bind(form.sha256)
        .bind(form.content)
        .bind(to_text(now))
        .fetch_one(tx.connection())
        .await?;
        tx.commit().await?;
        Ok((event_id, form_id))
    }

    /// Every form uploaded for a request, newest first (without content).
    pub async fn verification_forms(
        &self,
        request_id: i64,
    ) -> Result<Vec<VerificationFormRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {FORM_COLUMNS} FROM verification_forms WHERE request_id = $1 ORDER BY id DESC"
        ))
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(form_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// One form of a request with its content; `None` when the id belongs to no form of that request.
    pub async fn verification_form_content(
        &self,
        request_id: i64,
        form_id: i64,
    ) -> Result<Option<(VerificationFormRow, Vec<u8>)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {FORM_COLUMNS}, content FROM verification_forms WHERE request_id = $1 AND id = $2"
        ))
        .bind(request_id)
        .bind(form_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some((form_from_row(&row)?, row.try_get("content")?)))
    }

    /// Per lead unit: its open orders (`dispatched`, `accepted`, `planned`, `rework`) and how many of them are
    /// past their deadline at `now`. Units without open orders are absent.
    pub async fn unit_order_counts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<UnitOrderCounts>, StoreError> {
        let sql = format!(
            "SELECT lead_unit, COUNT(*) AS open,
                    SUM(CASE WHEN due_at IS NOT NULL AND due_at < $1 THEN 1 ELSE 0 END) AS overdue
             FROM requests
             WHERE lead_unit IS NOT NULL AND status IN ({})
             GROUP BY lead_unit",
            crate::order::Status::open_sql_list()
        );
        let rows = sqlx::query(&sql)
            .bind(to_text(now))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(UnitOrderCounts {
                    unit_id: row.try_get("lead_unit")?,
                    open: row.try_get("open")?,
                    overdue: row.try_get("overdue")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::order::{Event, EventKind, Status};
    use crate::store::RequestRecord;

    fn stored(kind: EventKind, payload: serde_json::Value) -> Event {
        Event::from_stored(kind, &payload.to_string()).unwrap()
    }

    async fn store_with_request() -> (tempfile::TempDir, Store, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let record = RequestRecord {
            token_hash: "0".repeat(64),
            idempotency_key: None,
            idempotency_fingerprint: None,
            kind: "help".to_owned(),
            channel: "web".to_owned(),
            enterprise_name: "滕州市恒达机械制造有限公司".to_owned(),
            credit_code: None,
            contact_name: "王经理".to_owned(),
            contact_phone: "13812345678".to_owned(),
            contact_email: None,
            town: "荆河街道".to_owned(),
            description: "停电".to_owned(),
            suggested_department: None,
            policy: None,
            status: crate::order::Status::Resolved,
            instant_answer: None,
            knowledge_gap: false,
        };
        let now = Utc::now();
        let row = store
            .create_request(
                &record,
                now.date_naive(),
                now,
                |_, sequence| format!("QH20260301-{sequence:04}"),
                |_| {
                    Ok::<_, ()>(vec![Change::new(
                        "enterprise:web",
                        stored(
                            EventKind::Submitted,
                            json!({ "kind": "help", "channel": "web" }),
                        ),
                    )])
                },
            )
            .await
            .unwrap()
            .unwrap();
        (dir, store, row.id)
    }

    #[tokio::test]
    async fn an_order_never_closes_without_a_reason() {
        // Arrange
        let (_dir, store, id) = store_with_request().await;
        let closing = |mut payload: serde_json::Value| {
            payload["rating"] = json!({ "rating": "very_satisfied" });
            payload["closed"] = json!(true);
            Change {
                status: Some(Status::Closed),
                ..Change::new("centre:zhang", stored(EventKind::Rated, payload))
            }
        };

        // Act
        let silent = store.record(id, &closing(json!({})), Utc::now()).await;
        let blank = store
            .record(id, &closing(json!({ "reason": "  " })), Utc::now())
            .await;

        // Assert
        assert!(matches!(silent, Err(StoreError::Other(_))));
        assert!(matches!(blank, Err(StoreError::Other(_))));
        let row = store.request_by_id(id).await.unwrap().unwrap();
        assert_eq!(row.status, Status::Resolved, "nothing was written");
        assert_eq!(store.events(id).await.unwrap().len(), 1);
        store
            .record(
                id,
                &closing(json!({ "reason": "企业评价满意（非常满意）" })),
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(
            store.request_by_id(id).await.unwrap().unwrap().status,
            Status::Closed
        );
    }

    #[tokio::test]
    async fn every_upload_is_kept_with_its_event_newest_first() {
        // Arrange
        let (_dir, store, id) = store_with_request().await;
        let upload = |content: &'static [u8], name: &'static str| {
            let store = store.clone();
            async move {
                store
                    .record_verification_form(
                        id,
                        &Change::new(
                            "unit:power",
                            stored(EventKind::VerificationFormUploaded, json!({})),
                        ),
                        &NewVerificationForm {
                            unit_id: "power",
                            media_type: "application/pdf",
                            file_name: name,
                            sha256: "ab",
                            content,
                        },
                        Utc::now(),
                    )
                    .await
                    .unwrap()
            }
        };

        // Act
        let (_, first) = upload(b"%PDF-1 first %%EOF", "first.pdf").await;
        let (event, second) = upload(b"%PDF-1 second %%EOF", "second.pdf").await;

        // Assert
        let forms = store.verification_forms(id).await.unwrap();
        assert_eq!(
            forms.iter().map(|form| form.id).collect::<Vec<_>>(),
            [second, first]
        );
        assert_eq!(forms[0].event_id, event);
        assert_eq!(forms[0].size, 19);
        let (form, content) = store
            .verification_form_content(id, first)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(form.file_name, "first.pdf");
        assert_eq!(content, b"%PDF-1 first %%EOF");
        assert!(
            store
                .verification_form_content(id + 1, first)
                .await
                .unwrap()
                .is_none()
        );
    }
}
