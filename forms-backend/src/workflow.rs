//! The life of a request (诉求) and its work order (工单): intake, instant answer, escalation, dispatch and the
//! handling unit's actions. Each step is one event with its e-mails, written atomically by the store.
//! Every function takes `now`: only the HTTP edge reads the clock.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;
use tera::{Context, Tera};

use crate::answer::InstantAnswerer;
use crate::calendar::{Calendar, FALLBACK_WARNING};
use crate::dispatch::{Catalogue, Directory, DispatchInput, Suggestion, suggest};
use crate::domain::{AccessToken, NewRequest, Rating, RequestKind, TokenHash, TrackingNumber};
use crate::settings::DispatchSettings;
use crate::sla::RESOLUTION_WORKING_DAYS;
use crate::store::{Change, OutgoingMail, RequestRecord, RequestRow, Store, StoreError};

/// Status codes of a request, with the Chinese the enterprise and the centre see.
pub mod status {
    /// 已即时答复: a consultation answered from the policy base.
    pub const ANSWERED: &str = "answered";
    /// 待派单: waiting for the centre.
    pub const NEW: &str = "new";
    /// 已派单: sent to the handling unit.
    pub const DISPATCHED: &str = "dispatched";
    /// 办理中: the unit accepted it.
    pub const ACCEPTED: &str = "accepted";
    /// 已提交解决方案: a plan with a committed date, for problems that take longer.
    pub const PLANNED: &str = "planned";
    /// 已申请销号: the unit reported the result.
    pub const RESOLVED: &str = "resolved";
    /// 重新办理: rated 不满意 and returned to the unit.
    pub const REWORK: &str = "rework";
    /// 待专班核查: still 不满意 after two rounds of handling.
    pub const VERIFICATION: &str = "verification";
    /// 已办结 (销号).
    pub const CLOSED: &str = "closed";

    /// Orders a unit still has to handle and report on.
    pub fn is_open(code: &str) -> bool {
        matches!(code, DISPATCHED | ACCEPTED | PLANNED | REWORK)
    }

    pub fn label(code: &str) -> &'static str {
        match code {
            ANSWERED => "已即时答复",
            NEW => "待派单",
            DISPATCHED => "已派单，等待承办单位受理",
            ACCEPTED => "承办单位办理中",
            PLANNED => "已提交解决方案",
            RESOLVED => "已办理完毕，等待评价",
            REWORK => "评价不满意，已退回承办单位重新办理",
            VERIFICATION => "仍不满意，待工作专班核查",
            CLOSED => "已办结",
            _ => "处理中",
        }
    }
}

/// A step could not be taken; the message is for the user.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("邮件模板有误：{0}")]
    Template(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("找不到承办单位“{0}”")]
    UnknownUnit(String),
}

/// Everything the workflow needs, shared by the HTTP handlers.
pub struct Forms {
    pub store: Store,
    pub directory: Directory,
    pub catalogue: Catalogue,
    pub dispatch: DispatchSettings,
    /// Working days with statutory holidays and 调休.
    pub calendar: Calendar,
    pub answerer: Arc<dyn InstantAnswerer>,
    /// Pages and e-mails (`site-templates/`).
    pub templates: Arc<Tera>,
    /// The `site` object every page template expects.
    pub page_context: Context,
    /// Public address for links in e-mails, ending without `/`.
    pub public_url: String,
    /// Server secret: idempotent submissions get the same tracking token back.
    pub secret: Vec<u8>,
}

/// The outcome of an intake.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub row: RequestRow,
    /// The tracking token, shown once (only its hash is stored).
    pub token: String,
    pub instant_answer: Option<serde_json::Value>,
}

/// The "unit" a rating link belongs to in the table of action links.
pub const RATING_LINK: &str = "enterprise-rating";
/// Notice §二(五)1: an unsatisfied order is redone and reported within 3 working days.
pub const REWORK_WORKING_DAYS: u32 = 3;
/// Notice §二(四)3: after two rounds of handling and reply, a still unsatisfied order goes to the task force.
pub const ROUNDS_BEFORE_VERIFICATION: usize = 2;

/// What a handling unit does through its link.
#[derive(Debug, Clone)]
pub enum UnitAction {
    /// 受理
    Accept,
    /// 进展情况
    Progress { note: String },
    /// 办理结果 = 申请销号 (附件4: 是否解决, 解决方式, 联系人及联系方式).
    Resolve {
        solved: bool,
        method: String,
        contact_name: String,
        contact_phone: String,
    },
    /// 解决方案: a committed completion date and the reason for the delay.
    Plan {
        committed_date: NaiveDate,
        reason: String,
    },
    /// 报推进中心: a town or the zone cannot solve it at its level and hands it to the centre (notice §二(二)).
    Forward { reason: String },
}

/// Who brought a request in, as its first event records it.
#[derive(Debug, Clone, Copy)]
enum Intake<'a> {
    /// The enterprise itself, through the web form or the API.
    Enterprise,
    /// The centre, for the enterprise (代录), with its note (备注).
    Entered {
        entered_by: &'a str,
        note: Option<&'a str>,
    },
}

/// A link token that grants one unit the right to act on one order.
type HmacSha256 = Hmac<Sha256>;

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

    pub fn tracking_url(&self, tracking_number: &str, token: &str) -> String {
        format!("{}/track/{tracking_number}?token={token}", self.public_url)
    }

    /// The enterprise's link to rate the result (附件5).
    pub fn rating_url(&self, tracking_number: &str, token: &str) -> String {
        format!("{}/rate/{tracking_number}?token={token}", self.public_url)
    }

    pub fn unit_url(&self, tracking_number: &str, token: &str) -> String {
        format!("{}/unit/{tracking_number}?token={token}", self.public_url)
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

    /// The intake both `submit` and `submit_entered` share; only the first event differs.
    async fn intake(
        &self,
        request: &NewRequest,
        intake: Intake<'_>,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Submitted, WorkflowError> {
        if let Some(key) = idempotency_key
            && let Some(row) = self.store.request_by_idempotency_key(key).await?
        {
            return Ok(self.replay(row, key));
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
        let record = RequestRecord {
            token_hash: token.hash().as_str().to_owned(),
            idempotency_key: idempotency_key.map(str::to_owned),
            kind: request.kind.code().to_owned(),
            channel: request.channel.code().to_owned(),
            enterprise_name: request.enterprise_name.as_str().to_owned(),
            credit_code: request
                .credit_code
                .as_ref()
                .map(|code| code.as_str().to_owned()),
            contact_name: request.contact_name.as_str().to_owned(),
            contact_phone: request.contact_phone.as_str().to_owned(),
            contact_email: request
                .contact_email
                .as_ref()
                .map(|email| email.as_str().to_owned()),
            town: request.town.as_str().to_owned(),
            description: request.description.as_str().to_owned(),
            suggested_department: request
                .suggested_department
                .as_ref()
                .map(|text| text.as_str().to_owned()),
            policy: request.policy.as_ref().map(|text| text.as_str().to_owned()),
            status: if answered {
                status::ANSWERED
            } else {
                status::NEW
            }
            .to_owned(),
            instant_answer: instant.as_ref().map(|answer| answer.json.to_string()),
            knowledge_gap: request.kind == RequestKind::Consultation && !answered,
        };
        let day = now.with_timezone(&Shanghai).date_naive();
        let mut payload = json!({
            "kind": request.kind.code(),
            "channel": request.channel.code(),
            "instant_answer": instant.as_ref().map(|answer| &answer.json),
        });
        let actor = match intake {
            Intake::Enterprise => format!("enterprise:{}", request.channel.code()),
            Intake::Entered { entered_by, note } => {
                payload["note"] = json!(note);
                entered_by.to_owned()
            }
        };
        let first = Change {
            actor,
            kind: if answered { "answered" } else { "submitted" }.to_owned(),
            payload,
            ..Change::default()
        };
        // The receipt (受理回执) goes into the outbox in the intake's own transaction.
        let receipt = |row: &RequestRow| -> Result<Vec<OutgoingMail>, WorkflowError> {
            let Some(email) = &row.contact_email else {
                return Ok(Vec::new());
            };
            Ok(vec![self.mail(
                email,
                format!("【企业诉求】已受理：{}", row.tracking_number),
                "email/received_enterprise",
                &self.mail_context(row, Some(token.as_str()), None)?,
            )?])
        };
        let created = self
            .store
            .create_request(
                &record,
                day,
                now,
                &first,
                |day, sequence| {
                    TrackingNumber::new(day, sequence)
                        .map(|number| number.to_string())
                        .unwrap_or_else(|_| format!("QH{}-{sequence}", day.format("%Y%m%d")))
                },
                receipt,
            )
            .await;
        let (row, _) = match created {
            Ok(created) => created?,
            // Two retries raced: the other one won; answer with its result.
            Err(StoreError::Duplicate) if idempotency_key.is_some() => {
                let key = idempotency_key.unwrap_or_default();
                let row = self
                    .store
                    .request_by_idempotency_key(key)
                    .await?
                    .ok_or(StoreError::Duplicate)?;
                return Ok(self.replay(row, key));
            }
            Err(error) => return Err(error.into()),
        };
        let row = if answered {
            row
        } else {
            self.after_intake(row, now).await?
        };
        Ok(Submitted {
            row,
            token: token.as_str().to_owned(),
            instant_answer: instant.map(|answer| answer.json),
        })
    }

    fn replay(&self, row: RequestRow, key: &str) -> Submitted {
        let token = self.tracking_token(Some(key));
        let instant_answer = row
            .instant_answer
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok());
        Submitted {
            row,
            token: token.as_str().to_owned(),
            instant_answer,
        }
    }

    /// A new work order: dispatched at once when automatic dispatch is on and the catalogue's match is clear,
    /// otherwise left in the centre's queue (第一时间转办).
    async fn after_intake(
        &self,
        row: RequestRow,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let suggestion = self.suggest(&row);
        if self.dispatch.auto && suggestion.clear {
            return self
                .dispatch(
                    &row,
                    &suggestion.lead_unit,
                    &suggestion.co_units,
                    "system:auto-dispatch",
                    &suggestion.reason,
                    now,
                )
                .await;
        }
        Ok(row)
    }

    /// The catalogue's suggestion for a request.
    pub fn suggest(&self, row: &RequestRow) -> Suggestion {
        let kind = row.kind.parse().unwrap_or(RequestKind::Help);
        suggest(
            &self.catalogue,
            &self.directory,
            DispatchInput {
                kind,
                description: &row.description,
                suggested_department: row.suggested_department.as_deref(),
                town: &row.town,
            },
            self.dispatch.local_first,
        )
    }

    /// "没有解决我的问题，转人工办理": an answered consultation becomes a work order.
    pub async fn escalate(
        &self,
        row: &RequestRow,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        if row.status != status::ANSWERED {
            return Err(WorkflowError::NotAllowed("该诉求已在人工办理中".to_owned()));
        }
        self.store
            .record(
                row.id,
                &Change {
                    actor: "enterprise".to_owned(),
                    kind: "escalated".to_owned(),
                    payload: json!({ "reason": "即时答复未解决问题，转人工办理" }),
                    status: Some(status::NEW.to_owned()),
                    ..Change::default()
                },
                now,
            )
            .await?;
        let row = self.reload(row.id).await?;
        self.after_intake(row, now).await
    }

    async fn reload(&self, id: i64) -> Result<RequestRow, WorkflowError> {
        Ok(self
            .store
            .request_by_id(id)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?)
    }

    /// Dispatch (派单): names the first-responsible unit and co-handlers, sets the deadline, and e-mails the
    /// units' handlers (copying the leader in charge), with a link to act, and the enterprise its tracking link.
    pub async fn dispatch(
        &self,
        row: &RequestRow,
        lead_unit: &str,
        co_units: &[String],
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        if !matches!(row.status.as_str(), status::NEW | status::DISPATCHED) {
            return Err(WorkflowError::NotAllowed(format!(
                "当前状态为“{}”，不能派单",
                status::label(&row.status)
            )));
        }
        let lead = self
            .directory
            .unit(lead_unit)
            .ok_or_else(|| WorkflowError::UnknownUnit(lead_unit.to_owned()))?;
        let mut co = Vec::new();
        for unit in co_units.iter().filter(|unit| unit.as_str() != lead_unit) {
            co.push(
                self.directory
                    .unit(unit)
                    .ok_or_else(|| WorkflowError::UnknownUnit(unit.clone()))?,
            );
        }
        // Notice §二(三): solve and report within 5 working days of receiving the order.
        let deadline = self.calendar.deadline(now, RESOLUTION_WORKING_DAYS);
        if deadline.fallback {
            tracing::warn!(order = %row.tracking_number, "{FALLBACK_WARNING}");
        }
        let due = deadline.due;
        let expires = due + Duration::days(self.dispatch.link_days);
        let mut mails = Vec::new();
        let mut unit_tokens = Vec::new();
        for (unit, role) in
            std::iter::once((lead, "lead")).chain(co.iter().map(|unit| (*unit, "co")))
        {
            let token = AccessToken::generate();
            unit_tokens.push((unit.id.clone(), token.hash().as_str().to_owned(), expires));
            let mut context = self.mail_context(row, None, Some(due))?;
            context.insert("unit", unit);
            context.insert("role", role);
            context.insert("lead_unit", lead);
            context.insert("co_units", &co);
            context.insert(
                "action_url",
                &self.unit_url(&row.tracking_number, token.as_str()),
            );
            context.insert("reason", reason);
            let subject = format!(
                "【企业诉求工单】{}：{}（{}前办结）",
                row.tracking_number,
                row.enterprise_name,
                due.with_timezone(&Shanghai).format("%Y年%-m月%-d日")
            );
            let mut recipients: Vec<String> = unit.handlers.clone();
            // Notice §二(二): the leader in charge is informed of the dispatch (cc).
            if let Some(leader) = unit
                .leader
                .as_deref()
                .and_then(|id| self.directory.leader(id))
            {
                recipients.push(leader.email.clone());
            }
            recipients.dedup();
            for recipient in recipients {
                mails.push(self.mail(
                    &recipient,
                    subject.clone(),
                    "email/dispatched_unit",
                    &context,
                )?);
            }
        }
        if let Some(email) = &row.contact_email {
            let mut context = self.mail_context(row, None, Some(due))?;
            context.insert("lead_unit", lead);
            mails.push(self.mail(
                email,
                format!(
                    "【企业诉求】{} 已转{}办理",
                    row.tracking_number,
                    lead.display_name()
                ),
                "email/dispatched_enterprise",
                &context,
            )?);
        }
        let co_ids: Vec<String> = co.iter().map(|unit| unit.id.clone()).collect();
        self.store
            .record(
                row.id,
                &Change {
                    actor: actor.to_owned(),
                    kind: "dispatched".to_owned(),
                    payload: json!({
                        "lead_unit": lead.id,
                        "co_units": co_ids,
                        "due_at": due,
                        "reason": reason,
                        "deadline_rule": "5个工作日（不含派单当日，按国务院节假日安排计算）",
                        "calendar": deadline.calendar,
                        "counted": deadline.counted,
                        "calendar_warning": deadline.fallback.then_some(FALLBACK_WARNING),
                    }),
                    status: Some(status::DISPATCHED.to_owned()),
                    lead_unit: Some(lead.id.clone()),
                    co_units: Some(co_ids),
                    due_at: Some(due),
                    mails,
                    unit_tokens,
                },
                now,
            )
            .await?;
        self.reload(row.id).await
    }

    /// A handling unit acts through its link. Co-handlers add contributions; only the first-responsible unit
    /// accepts, reports the result or submits a plan (notice §二(二)3: 首接负责).
    pub async fn unit_action(
        &self,
        row: &RequestRow,
        unit_id: &str,
        action: &UnitAction,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let is_lead = row.lead_unit.as_deref() == Some(unit_id);
        let open = status::is_open(&row.status);
        if !open {
            return Err(WorkflowError::NotAllowed(format!(
                "当前状态为“{}”，不能再操作",
                status::label(&row.status)
            )));
        }
        let actor = format!("unit:{unit_id}");
        let change = match action {
            UnitAction::Progress { note } => Change {
                actor,
                kind: if is_lead { "progress" } else { "contribution" }.to_owned(),
                payload: json!({ "note": note }),
                ..Change::default()
            },
            _ if !is_lead => {
                return Err(WorkflowError::NotAllowed(
                    "协办单位可以补充办理情况，受理、反馈结果和提交方案由首接单位负责".to_owned(),
                ));
            }
            UnitAction::Accept => Change {
                actor,
                kind: "accepted".to_owned(),
                status: Some(status::ACCEPTED.to_owned()),
                ..Change::default()
            },
            UnitAction::Resolve {
                solved,
                method,
                contact_name,
                contact_phone,
            } => {
                let mut mails = Vec::new();
                // Notice §二(五)1 一事一评估: the enterprise rates the result through its own link (附件5).
                let rating_token = AccessToken::generate();
                let rating_expires = now + Duration::days(self.dispatch.link_days.max(1));
                if let Some(email) = &row.contact_email {
                    let mut context = self.mail_context(row, None, row.due_at)?;
                    context.insert("solved", solved);
                    context.insert("method", method);
                    context.insert("unit", &self.directory.unit(unit_id));
                    context.insert(
                        "rating_url",
                        &self.rating_url(&row.tracking_number, rating_token.as_str()),
                    );
                    mails.push(self.mail(
                        email,
                        format!("【企业诉求】{} 已办理完毕，请评价", row.tracking_number),
                        "email/resolved_enterprise",
                        &context,
                    )?);
                }
                Change {
                    unit_tokens: vec![(
                        RATING_LINK.to_owned(),
                        rating_token.hash().as_str().to_owned(),
                        rating_expires,
                    )],
                    actor,
                    kind: "resolved".to_owned(),
                    payload: json!({
                        "solved": solved,
                        "method": method,
                        "contact_name": contact_name,
                        "contact_phone": contact_phone,
                    }),
                    status: Some(status::RESOLVED.to_owned()),
                    mails,
                    ..Change::default()
                }
            }
            UnitAction::Forward { reason } => {
                let is_local = self
                    .directory
                    .unit(unit_id)
                    .is_some_and(|unit| unit.kind != crate::dispatch::UnitKind::Department);
                if !is_local {
                    return Err(WorkflowError::NotAllowed(
                        "只有属地镇街或开发区可以把本级不能解决的问题报推进中心".to_owned(),
                    ));
                }
                // Notice §二(二): what the local level cannot solve goes to the centre for dispatch.
                Change {
                    actor,
                    kind: "forwarded".to_owned(),
                    payload: json!({ "reason": reason }),
                    status: Some(status::NEW.to_owned()),
                    ..Change::default()
                }
            }
            UnitAction::Plan {
                committed_date,
                reason,
            } => Change {
                actor,
                kind: "plan_submitted".to_owned(),
                payload: json!({ "committed_date": committed_date, "reason": reason }),
                status: Some(status::PLANNED.to_owned()),
                ..Change::default()
            },
        };
        self.store.record(row.id, &change, now).await?;
        self.reload(row.id).await
    }

    /// 一事一评估 (notice §二(五)1): the enterprise rates the result — through its link, or the centre records a
    /// call-back (`channel` "call_back"). Satisfied closes the order (销号); 不满意 returns it to the unit the same
    /// day with 3 working days to redo it; still 不满意 after two rounds of handling, it waits for the unit's
    /// 不满意诉求审核反馈表 and the task force's verification (notice §二(四)3).
    pub async fn rate(
        &self,
        row: &RequestRow,
        rating: Rating,
        comment: &str,
        channel: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        if row.status != status::RESOLVED {
            return Err(WorkflowError::NotAllowed(format!(
                "当前状态为“{}”，不能评价",
                status::label(&row.status)
            )));
        }
        let rounds = 1 + self
            .store
            .events(row.id)
            .await?
            .iter()
            .filter(|event| event.kind == "returned")
            .count();
        let payload = json!({
            "rating": rating.code(),
            "rating_label": rating.label(),
            "comment": comment,
            "channel": channel,
            "round": rounds,
        });
        let change = if rating.is_satisfied() {
            Change {
                actor: actor.to_owned(),
                kind: "rated".to_owned(),
                payload: json!({ "closure": "企业评价满意，销号", "rating": payload }),
                status: Some(status::CLOSED.to_owned()),
                ..Change::default()
            }
        } else if rounds < ROUNDS_BEFORE_VERIFICATION {
            let lead = row
                .lead_unit
                .as_deref()
                .and_then(|id| self.directory.unit(id))
                .ok_or_else(|| {
                    WorkflowError::UnknownUnit(row.lead_unit.clone().unwrap_or_default())
                })?;
            let deadline = self.calendar.deadline(now, REWORK_WORKING_DAYS);
            let token = AccessToken::generate();
            let mut context = self.mail_context(row, None, Some(deadline.due))?;
            context.insert("unit", lead);
            context.insert("rating", rating.label());
            context.insert("comment", comment);
            context.insert(
                "action_url",
                &self.unit_url(&row.tracking_number, token.as_str()),
            );
            let subject = format!(
                "【企业诉求工单·重新办理】{}：企业评价不满意",
                row.tracking_number
            );
            let mut mails = Vec::new();
            for recipient in &lead.handlers {
                mails.push(self.mail(
                    recipient,
                    subject.clone(),
                    "email/returned_unit",
                    &context,
                )?);
            }
            Change {
                actor: actor.to_owned(),
                kind: "returned".to_owned(),
                payload: json!({
                    "rating": payload,
                    "due_at": deadline.due,
                    "deadline_rule": "3个工作日（不含退回当日，按国务院节假日安排计算）",
                    "calendar": deadline.calendar,
                }),
                status: Some(status::REWORK.to_owned()),
                due_at: Some(deadline.due),
                mails,
                unit_tokens: vec![(
                    lead.id.clone(),
                    token.hash().as_str().to_owned(),
                    deadline.due + Duration::days(self.dispatch.link_days),
                )],
                ..Change::default()
            }
        } else {
            Change {
                actor: actor.to_owned(),
                kind: "rated".to_owned(),
                payload: json!({
                    "rating": payload,
                    "next": "经两次办理答复仍不满意：承办单位填写不满意诉求审核反馈表，报工作专班核查",
                }),
                status: Some(status::VERIFICATION.to_owned()),
                ..Change::default()
            }
        };
        self.store.record(row.id, &change, now).await?;
        self.reload(row.id).await
    }

    /// The centre approves a unit's plan (解决方案): the order's deadline becomes the plan's committed completion
    /// date, at its end (23:59:59 +08:00). Notice §二(三): problems that cannot be solved in the short term get a
    /// plan with a committed date, and the centre follows them until closed.
    pub async fn approve_plan(
        &self,
        row: &RequestRow,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        if row.status != status::PLANNED {
            return Err(WorkflowError::NotAllowed(
                "该工单没有待审批的解决方案".to_owned(),
            ));
        }
        let plan = self
            .store
            .events(row.id)
            .await?
            .into_iter()
            .rev()
            .find(|event| event.kind == "plan_submitted")
            .ok_or_else(|| WorkflowError::NotAllowed("找不到承办单位提交的解决方案".to_owned()))?;
        let committed_date = plan
            .payload
            .get("committed_date")
            .and_then(|value| value.as_str())
            .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .ok_or_else(|| WorkflowError::NotAllowed("解决方案的承诺办结日期无效".to_owned()))?;
        let due = crate::calendar::end_of_day(committed_date);
        self.store
            .record(
                row.id,
                &Change {
                    actor: actor.to_owned(),
                    kind: "plan_approved".to_owned(),
                    payload: json!({ "committed_date": committed_date, "due_at": due }),
                    status: Some(status::ACCEPTED.to_owned()),
                    due_at: Some(due),
                    ..Change::default()
                },
                now,
            )
            .await?;
        self.reload(row.id).await
    }

    /// 虚假反馈 (notice §二(五)3): during a call-back the enterprise says the unit reported contact or an answer that
    /// never happened. Recorded against the first-responsible unit for the reports; the order's state is unchanged.
    pub async fn record_false_feedback(
        &self,
        row: &RequestRow,
        statement: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        self.store
            .record(
                row.id,
                &Change {
                    actor: actor.to_owned(),
                    kind: "false_feedback".to_owned(),
                    payload: json!({
                        "unit": row.lead_unit,
                        "statement": statement,
                        "rule": "未与企业沟通回复却反馈为已沟通、已回复（滕政办发〔2022〕1号 二（五）3）",
                    }),
                    ..Change::default()
                },
                now,
            )
            .await?;
        Ok(())
    }

    /// Checks a presented tracking token against the stored hash, in constant time.
    pub fn tracking_token_matches(row: &RequestRow, presented: &str) -> bool {
        !presented.is_empty()
            && TokenHash::from_stored(&row.token_hash)
                .is_ok_and(|stored| TokenHash::of_presented(presented).matches(&stored))
    }

    pub(crate) fn mail_context(
        &self,
        row: &RequestRow,
        tracking_token: Option<&str>,
        due: Option<DateTime<Utc>>,
    ) -> Result<Context, WorkflowError> {
        let mut context = self.page_context.clone();
        context.insert("request", &MailRequest::of(row));
        if let Some(token) = tracking_token {
            context.insert(
                "tracking_url",
                &self.tracking_url(&row.tracking_number, token),
            );
        }
        if let Some(due) = due {
            context.insert(
                "due",
                &due.with_timezone(&Shanghai)
                    .format("%Y年%-m月%-d日 %H:%M")
                    .to_string(),
            );
        }
        Ok(context)
    }

    pub(crate) fn mail(
        &self,
        recipient: &str,
        subject: String,
        template: &str,
        context: &Context,
    ) -> Result<OutgoingMail, WorkflowError> {
        let render = |extension: &str| {
            self.templates
                .render(&format!("{template}.{extension}"), context)
                .map_err(|error| {
                    WorkflowError::Template(format!("{template}.{extension}：{error:?}"))
                })
        };
        Ok(OutgoingMail {
            recipient: recipient.to_owned(),
            subject,
            text_body: render("txt")?,
            html_body: render("html")?,
        })
    }
}

/// What e-mail templates see of a request.
#[derive(Debug, Clone, Serialize)]
pub struct MailRequest<'a> {
    pub tracking_number: &'a str,
    pub kind: &'static str,
    pub enterprise_name: &'a str,
    pub credit_code: Option<&'a str>,
    pub contact_name: &'a str,
    pub contact_phone: &'a str,
    pub contact_email: Option<&'a str>,
    pub town: &'a str,
    pub description: &'a str,
    pub suggested_department: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub status: &'static str,
    pub submitted_at: String,
}

impl<'a> MailRequest<'a> {
    pub fn of(row: &'a RequestRow) -> MailRequest<'a> {
        MailRequest {
            tracking_number: &row.tracking_number,
            kind: row
                .kind
                .parse::<RequestKind>()
                .map_or("诉求", RequestKind::label),
            enterprise_name: &row.enterprise_name,
            credit_code: row.credit_code.as_deref(),
            contact_name: &row.contact_name,
            contact_phone: &row.contact_phone,
            contact_email: row.contact_email.as_deref(),
            town: &row.town,
            description: &row.description,
            suggested_department: row.suggested_department.as_deref(),
            policy: row.policy.as_deref(),
            status: status::label(&row.status),
            submitted_at: row
                .created_at
                .with_timezone(&Shanghai)
                .format("%Y年%-m月%-d日 %H:%M")
                .to_string(),
        }
    }
}
