//! Intake (受理): a request comes in, a consultation may be answered at once, and a work order with a clear
//! catalogue match is dispatched in the same transaction — so no acknowledged request waits at `new` because a
//! crash came between saving it and dispatching it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Forms, Submitted, WorkflowError};
use crate::domain::{AccessToken, NewRequest, RequestKind, TrackingNumber};
use crate::order::{Actor, Event, Status, Step, decide, payload};
use crate::store::{Change, RequestRecord, RequestRow, StoreError};

type HmacSha256 = Hmac<Sha256>;

/// The actor automatic dispatch writes.
pub const AUTO_DISPATCH: &str = "auto-dispatch";

/// Who brought a request in, as its first event records it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Intake<'a> {
    /// The enterprise itself, through the web form or the API.
    Enterprise,
    /// The centre, for the enterprise (代录), with its note (备注).
    Entered {
        entered_by: &'a str,
        note: Option<&'a str>,
    },
}

/// The fingerprint of what was submitted under an idempotency key: who entered it and every field. The same key
/// with a different body is another request, refused rather than answered with the first one's link.
fn fingerprint(record: &RequestRecord, actor: &str) -> String {
    let fields = json!([
        actor,
        record.kind,
        record.channel,
        record.enterprise_name,
        record.credit_code,
        record.contact_name,
        record.contact_phone,
        record.contact_email,
        record.town,
        record.description,
        record.suggested_department,
        record.policy,
    ]);
    let digest = Sha256::digest(fields.to_string().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Forms {
    /// The tracking token for a submission: random, or derived from the idempotency key with the server secret so
    /// a retried submission gets the same link back without the token being stored.
    fn tracking_token(&self, idempotency_key: Option<&str>) -> AccessToken {
        match idempotency_key {
            Some(key) => {
                let mut mac =
                    HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
                mac.update(b"qihu-idempotency:");
                mac.update(key.as_bytes());
                AccessToken::from_bytes(&mac.finalize().into_bytes())
            }
            None => AccessToken::generate(),
        }
    }

    /// Intake (受理) of what the enterprise submitted itself. Notice §二(二)2: a consultation the policy base can
    /// answer is answered at once; everything else becomes a work order for dispatch.
    pub async fn submit(
        &self,
        request: &NewRequest,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Submitted, WorkflowError> {
        self.intake(request, Intake::Enterprise, idempotency_key, now)
            .await
    }

    /// Intake of a request the centre entered for an enterprise (代录): a call it took (电话) or a collector's
    /// entry (问题征询专员, notice §二(一)). Everything the enterprise's own submission does happens too — instant
    /// answer, automatic dispatch, receipt e-mail — but the first event names `entered_by` (the console user as
    /// the event log writes actors, `centre:<username>`) and keeps the channel and the `note` (备注).
    pub async fn submit_entered(
        &self,
        request: &NewRequest,
        entered_by: &str,
        note: Option<&str>,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Submitted, WorkflowError> {
        self.intake(
            request,
            Intake::Entered { entered_by, note },
            idempotency_key,
            now,
        )
        .await
    }

    fn record_of(&self, request: &NewRequest) -> RequestRecord {
        let text = |value: Option<&str>| value.map(str::to_owned);
        RequestRecord {
            token_hash: String::new(),
            idempotency_key: None,
            idempotency_fingerprint: None,
            kind: request.kind.code().to_owned(),
            channel: request.channel.code().to_owned(),
            enterprise_name: request.enterprise_name.as_str().to_owned(),
            credit_code: text(request.credit_code.as_ref().map(|code| code.as_str())),
            contact_name: request.contact_name.as_str().to_owned(),
            contact_phone: request.contact_phone.as_str().to_owned(),
            contact_email: text(request.contact_email.as_ref().map(|email| email.as_str())),
            town: request.town.as_str().to_owned(),
            description: request.description.as_str().to_owned(),
            suggested_department: text(request.suggested_department.as_ref().map(|t| t.as_str())),
            policy: text(request.policy.as_ref().map(|t| t.as_str())),
            status: Status::New,
            instant_answer: None,
            knowledge_gap: false,
        }
    }

    /// The intake both `submit` and `submit_entered` share; only the first event differs.
    async fn intake(
        &self,
        request: &NewRequest,
        intake: Intake<'_>,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Submitted, WorkflowError> {
        let actor = match intake {
            Intake::Enterprise => format!("enterprise:{}", request.channel.code()),
            Intake::Entered { entered_by, .. } => entered_by.to_owned(),
        };
        let mut record = self.record_of(request);
        let print = fingerprint(&record, &actor);
        if let Some(key) = idempotency_key
            && let Some(row) = self.store.request_by_idempotency_key(key).await?
        {
            return self.replay(row, key, &print, now).await;
        }
        let token = self.tracking_token(idempotency_key);
        let instant = if request.kind == RequestKind::Consultation {
            let answerer = Arc::clone(&self.answerer);
            let question = request.description.as_str().to_owned();
            tokio::task::spawn_blocking(move || answerer.answer(&question))
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        let answered = instant.as_ref().is_some_and(|answer| answer.answered);
        record.token_hash = token.hash().as_str().to_owned();
        record.idempotency_key = idempotency_key.map(str::to_owned);
        record.idempotency_fingerprint = idempotency_key.map(|_| print.clone());
        record.status = if answered {
            Status::Answered
        } else {
            Status::New
        };
        record.instant_answer = instant.as_ref().map(|answer| answer.json.to_string());
        record.knowledge_gap = request.kind == RequestKind::Consultation && !answered;
        let day = now.with_timezone(&Shanghai).date_naive();
        let recorded = payload::Intake {
            kind: request.kind,
            channel: request.channel,
            instant_answer: instant.as_ref().map(|answer| answer.json.clone()),
            note: match intake {
                Intake::Entered { note, .. } => note.map(str::to_owned),
                Intake::Enterprise => None,
            },
        };
        let event = if answered {
            Event::Answered(recorded)
        } else {
            Event::Submitted(recorded)
        };
        // The receipt (受理回执) and, for a clear catalogue match, the dispatch go into the intake's own
        // transaction.
        let changes = |row: &RequestRow| -> Result<Vec<Change>, WorkflowError> {
            let mut first = Change::new(&actor, event.clone());
            if let Some(email) = &row.contact_email {
                first.mails.push(self.mail(
                    email,
                    format!("【企业诉求】已受理：{}", row.tracking_number),
                    "email/received_enterprise",
                    &self.mail_context(row, Some(token.as_str()), None)?,
                )?);
            }
            let mut changes = vec![first];
            if !answered {
                changes.extend(self.auto_dispatch_change(row, now)?);
            }
            Ok(changes)
        };
        let created = self
            .store
            .create_request(
                &record,
                day,
                now,
                |day, sequence| {
                    TrackingNumber::new(day, sequence)
                        .map(|number| number.to_string())
                        .unwrap_or_else(|_| format!("QH{}-{sequence}", day.format("%Y%m%d")))
                },
                changes,
            )
            .await;
        let row = match created {
            Ok(created) => created?,
            // Two retries raced: the other one won; answer with its result.
            Err(StoreError::Duplicate) if idempotency_key.is_some() => {
                let key = idempotency_key.unwrap_or_default();
                let row = self
                    .store
                    .request_by_idempotency_key(key)
                    .await?
                    .ok_or(StoreError::Duplicate)?;
                return self.replay(row, key, &print, now).await;
            }
            Err(error) => return Err(error.into()),
        };
        Ok(Submitted {
            row,
            token: token.as_str().to_owned(),
            instant_answer: instant.map(|answer| answer.json),
        })
    }

    /// A submission repeated with its idempotency key: the first one's answer — if the body is the same. A
    /// dispatch the first one should have done (a request saved before this version made intake and dispatch
    /// one transaction) is done now.
    async fn replay(
        &self,
        row: RequestRow,
        key: &str,
        print: &str,
        now: DateTime<Utc>,
    ) -> Result<Submitted, WorkflowError> {
        if row
            .idempotency_fingerprint
            .as_deref()
            .is_some_and(|stored| stored != print)
        {
            return Err(WorkflowError::KeyReused);
        }
        let row = self.finish_dispatch(row, now).await?;
        let token = self.tracking_token(Some(key));
        let instant_answer = row
            .instant_answer
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok());
        Ok(Submitted {
            row,
            token: token.as_str().to_owned(),
            instant_answer,
        })
    }

    /// The automatic dispatch of a new work order, when it is on and the catalogue's match is clear; otherwise
    /// nothing (the order waits in the centre's queue, 第一时间转办).
    fn auto_dispatch_change(
        &self,
        row: &RequestRow,
        now: DateTime<Utc>,
    ) -> Result<Option<Change>, WorkflowError> {
        let suggestion = self.suggest(row);
        if !(self.dispatch.auto && suggestion.clear) {
            return Ok(None);
        }
        let actor = Actor::system(AUTO_DISPATCH);
        decide(&row.state(), &actor, Step::Dispatch)?;
        self.dispatch_change(
            row,
            &suggestion.lead_unit,
            &suggestion.co_units,
            &actor.to_string(),
            &suggestion.reason,
            now,
        )
        .map(Some)
    }

    /// Dispatches an order left at `new` by an intake or escalation whose dispatch never ran (written by an
    /// earlier version in two steps): automatic dispatch finishes what the intake began.
    async fn finish_dispatch(
        &self,
        row: RequestRow,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        if row.status != Status::New || !self.store.intake_is_last(row.id).await? {
            return Ok(row);
        }
        self.dispatch_waiting(row, now).await
    }

    /// The automatic dispatch of an order known to wait after its intake; a dispatch by someone else meanwhile
    /// stands.
    async fn dispatch_waiting(
        &self,
        row: RequestRow,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        match self.auto_dispatch_change(&row, now)? {
            Some(change) => match self
                .store
                .record(row.id, &change.expecting(row.version), now)
                .await
            {
                Ok((_, row)) => Ok(row),
                // Someone else dispatched it meanwhile: what they did stands.
                Err(StoreError::Conflict(_)) => self.reload(row.id).await,
                Err(error) => Err(error.into()),
            },
            None => Ok(row),
        }
    }

    /// At start-up: finishes every interrupted automatic dispatch (orders at `new` whose last event is their
    /// intake or escalation and whose catalogue match is clear). Returns how many were dispatched.
    pub async fn finish_interrupted_dispatches(
        &self,
        now: DateTime<Utc>,
    ) -> Result<usize, WorkflowError> {
        if !self.dispatch.auto {
            return Ok(0);
        }
        let mut finished = 0;
        for row in self.store.waiting_after_intake().await? {
            let after = self.dispatch_waiting(row, now).await?;
            if after.status != Status::New {
                finished += 1;
            }
        }
        Ok(finished)
    }

    /// "没有解决我的问题，转人工办理": an answered consultation becomes a work order, dispatched at once when the
    /// catalogue's match is clear — in one transaction.
    pub async fn escalate(
        &self,
        row: &RequestRow,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let outcome = decide(&row.state(), &Actor::enterprise(), Step::Escalate)?;
        let mut escalated = Change::new(
            Actor::enterprise(),
            outcome.records(Event::Escalated(payload::Reason {
                reason: "即时答复未解决问题，转人工办理".to_owned(),
            })),
        )
        .expecting(row.version);
        escalated.status = Some(outcome.next);
        let waiting = RequestRow {
            status: outcome.next,
            ..row.clone()
        };
        let mut changes = vec![escalated];
        changes.extend(self.auto_dispatch_change(&waiting, now)?);
        Ok(self.store.record_all(row.id, &changes, now).await?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RequestRecord {
        RequestRecord {
            token_hash: String::new(),
            idempotency_key: None,
            idempotency_fingerprint: None,
            kind: "help".to_owned(),
            channel: "web".to_owned(),
            enterprise_name: "滕州市某某机械有限公司".to_owned(),
            credit_code: None,
            contact_name: "王经理".to_owned(),
            contact_phone: "13800000000".to_owned(),
            contact_email: None,
            town: "善南街道".to_owned(),
            description: "厂区门口道路破损".to_owned(),
            suggested_department: None,
            policy: None,
            status: Status::New,
            instant_answer: None,
            knowledge_gap: false,
        }
    }

    #[test]
    fn the_fingerprint_changes_with_any_field_and_the_submitter() {
        let base = fingerprint(&record(), "enterprise:web");
        assert_eq!(base, fingerprint(&record(), "enterprise:web"));
        let mut other = record();
        other.description.push('。');
        assert_ne!(base, fingerprint(&other, "enterprise:web"));
        assert_ne!(base, fingerprint(&record(), "centre:zhang"));
    }
}
