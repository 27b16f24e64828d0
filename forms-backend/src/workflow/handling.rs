//! Handling (办理) and evaluation (评价): the unit's steps through its link, the enterprise's rating, the
//! centre's plan approval and the false-feedback record. Each step is decided by [`crate::order::decide`] on the
//! order as read and written only if the order is still at that version — of two steps at the same instant,
//! exactly one wins and the other gets a conflict.

use chrono::{DateTime, Duration, Utc};

use super::{Forms, REWORK_RULE, REWORK_WORKING_DAYS, UnitAction, WorkflowError, actor};
use crate::domain::{AccessToken, Rating};
use crate::order::payload::{self, DeadlineNote, RatingChannel, RatingRecord};
use crate::order::{Actor, Event, EventKind, Link, Status, Step, decide};
use crate::store::{Change, NewLink, RequestRow};

impl UnitAction {
    /// The step of the order rules this action asks for.
    fn step(&self, local: bool, late: bool) -> Step {
        match self {
            UnitAction::Return { .. } => Step::ReturnDispatch { late },
            UnitAction::Accept => Step::Accept,
            UnitAction::Progress { .. } => Step::Progress,
            UnitAction::Resolve { .. } => Step::Resolve,
            UnitAction::Plan { .. } => Step::Plan,
            UnitAction::Forward { .. } => Step::Forward { local },
            UnitAction::Explain { .. } => Step::Explain,
        }
    }
}

impl Forms {
    /// A handling unit acts through its link. Co-handlers add contributions; only the first-responsible unit
    /// accepts, reports the result or submits a plan (notice §二(二)3: 首接负责).
    pub async fn unit_action(
        &self,
        row: &RequestRow,
        unit_id: &str,
        action: &UnitAction,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        if let UnitAction::Explain { explanation } = action {
            return self
                .explain_for_verification(row, unit_id, explanation, now)
                .await;
        }
        let local = self.is_local_unit(unit_id);
        let actor = Actor::unit(unit_id);
        // Only a return asks when the acceptance limit ends (it reads the dispatch).
        let late = match action {
            UnitAction::Return { .. } => {
                self.acceptance_due(row).await?.is_some_and(|due| now > due)
            }
            _ => false,
        };
        let outcome = decide(&row.state(), &actor, action.step(local, late))?;
        let mut change = match action {
            UnitAction::Progress { note } => {
                let note = payload::Note { note: note.clone() };
                // A co-handler's progress is its contribution (协办情况); the rules say which.
                let event = if outcome.event == EventKind::Contribution {
                    Event::Contribution(note)
                } else {
                    Event::Progress(note)
                };
                Change::new(&actor, outcome.records(event))
            }
            UnitAction::Accept => Change::new(
                &actor,
                outcome.records(Event::Accepted(payload::Nothing {})),
            ),
            UnitAction::Resolve {
                solved,
                method,
                contact_name,
                contact_phone,
            } => {
                let mut change = Change::new(
                    &actor,
                    outcome.records(Event::Resolved(payload::Resolution {
                        solved: *solved,
                        method: method.clone(),
                        contact_name: contact_name.clone(),
                        contact_phone: contact_phone.clone(),
                        due_at: row.due_at,
                    })),
                );
                // Notice §二(五)1 一事一评估: the enterprise rates the result through its own link (附件5), good
                // for this round only.
                let rating_token = AccessToken::generate();
                change.links.push(NewLink {
                    link: Link::rating(row.round),
                    token_hash: rating_token.hash().as_str().to_owned(),
                    expires: now + Duration::days(self.dispatch.link_days.max(1)),
                });
                if let Some(email) = &row.contact_email {
                    let mut context = self.mail_context(row, None, row.due_at)?;
                    context.insert("solved", solved);
                    context.insert("method", method);
                    context.insert("unit", &self.directory.unit(unit_id));
                    context.insert(
                        "rating_url",
                        &self.rating_url(&row.tracking_number, rating_token.as_str()),
                    );
                    change.mails.push(self.mail(
                        email,
                        format!("【企业诉求】{} 已办理完毕，请评价", row.tracking_number),
                        "email/resolved_enterprise",
                        &context,
                    )?);
                }
                change
            }
            UnitAction::Forward { reason } => Change::new(
                &actor,
                outcome.records(Event::Forwarded(payload::Reason {
                    reason: reason.clone(),
                })),
            ),
            UnitAction::Plan {
                committed_date,
                reason,
            } => Change::new(
                &actor,
                outcome.records(Event::PlanSubmitted(payload::Plan {
                    committed_date: *committed_date,
                    reason: reason.clone(),
                })),
            ),
            UnitAction::Return { reason } => {
                self.dispatch_return_change(row, unit_id, reason, &outcome)?
            }
            UnitAction::Explain { .. } => unreachable!("handled above"),
        };
        if outcome.next != row.status {
            change.status = Some(outcome.next);
        }
        let change = change.expecting(row.version);
        Ok(self.store.record(row.id, &change, now).await?.1)
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
        channel: RatingChannel,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let change = self.rating_change(row, rating, comment, channel, by, now)?;
        Ok(self.store.record(row.id, &change, now).await?.1)
    }

    /// 电话回访 (notice §二(五)1) with what the enterprise said: its rating and, when it says the unit reported
    /// contact or an answer that never happened, 虚假反馈 (notice §二(五)3) — both in one transaction, so a call-back
    /// that cannot be recorded (the order was rated meanwhile) leaves no false-feedback record behind.
    pub async fn record_call_back(
        &self,
        row: &RequestRow,
        rating: Rating,
        comment: &str,
        false_feedback: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let mut changes = Vec::new();
        if false_feedback {
            changes.push(self.false_feedback_change(row, comment, by)?);
        }
        changes.push(self.rating_change(row, rating, comment, RatingChannel::CallBack, by, now)?);
        Ok(self.store.record_all(row.id, &changes, now).await?.1)
    }

    /// The change a rating makes (closing, rework or verification), expecting the order as read.
    fn rating_change(
        &self,
        row: &RequestRow,
        rating: Rating,
        comment: &str,
        channel: RatingChannel,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Change, WorkflowError> {
        let outcome = decide(
            &row.state(),
            &actor(by)?,
            Step::Rate {
                satisfied: rating.is_satisfied(),
            },
        )?;
        let record = RatingRecord::new(rating, comment, channel, Some(row.round));
        let change = match outcome.next {
            Status::Closed => {
                // Notice §二(五)1: the order is closed (销号) on a satisfied rating; the reason says who rated and
                // how.
                let reason = if channel == RatingChannel::CallBack {
                    format!("电话回访，企业评价满意（{}）", rating.label())
                } else {
                    format!("企业评价满意（{}）", rating.label())
                };
                let mut change = Change::new(
                    by,
                    outcome.records(Event::Rated(payload::Rated {
                        rating: record,
                        reason: Some(reason),
                        closed: true,
                        verification: false,
                        next: None,
                    })),
                );
                change.status = Some(Status::Closed);
                change
            }
            Status::Rework => self.return_change(row, record, by, now)?,
            _ => self.to_verification(row, record, by, now)?,
        };
        Ok(change.expecting(row.version))
    }

    /// Notice §二(五)1: 不满意 — back to the first-responsible unit the same day, 3 working days to redo it, a new
    /// round with a fresh link.
    fn return_change(
        &self,
        row: &RequestRow,
        record: RatingRecord,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Change, WorkflowError> {
        let lead = self.lead_of(row)?;
        let deadline = self.calendar.current().deadline(now, REWORK_WORKING_DAYS);
        let token = AccessToken::generate();
        let mut context = self.mail_context(row, None, Some(deadline.due))?;
        context.insert("unit", lead);
        context.insert("rating", record.rating.label());
        context.insert("comment", &record.comment);
        context.insert(
            "action_url",
            &self.unit_url(&row.tracking_number, token.as_str()),
        );
        let subject = format!(
            "【企业诉求工单·重新办理】{}：企业评价不满意",
            row.tracking_number
        );
        let mut change = Change::new(
            by,
            Event::Returned(payload::Returned {
                rating: record,
                deadline: DeadlineNote::of(&deadline, REWORK_RULE),
            }),
        );
        for recipient in &lead.handlers {
            change.mails.push(self.mail(
                recipient,
                subject.clone(),
                "email/returned_unit",
                &context,
            )?);
        }
        change.status = Some(Status::Rework);
        change.due_at = Some(deadline.due);
        change.new_round = true;
        change.links.push(NewLink {
            link: Link::unit(&lead.id, row.round + 1),
            token_hash: token.hash().as_str().to_owned(),
            expires: deadline.due + Duration::days(self.dispatch.link_days),
        });
        Ok(change)
    }

    /// The order's first-responsible unit, as the directory knows it.
    pub(crate) fn lead_of(
        &self,
        row: &RequestRow,
    ) -> Result<&crate::dispatch::Unit, WorkflowError> {
        row.lead_unit
            .as_deref()
            .and_then(|id| self.directory.unit(id))
            .ok_or_else(|| WorkflowError::UnknownUnit(row.lead_unit.clone().unwrap_or_default()))
    }

    /// Notice §二(四)3: still 不满意 after two rounds of handling and reply — the lead unit fills in the
    /// 不满意诉求审核反馈表 for the task force. Its handlers get a fresh link to the page where they print and upload it.
    fn to_verification(
        &self,
        row: &RequestRow,
        record: RatingRecord,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Change, WorkflowError> {
        let lead = self.lead_of(row)?;
        let token = AccessToken::generate();
        let mut context = self.mail_context(row, None, None)?;
        context.insert("greeting", &format!("{}：", lead.name));
        let comment = if record.comment.is_empty() {
            String::new()
        } else {
            format!("，意见建议：{}", record.comment)
        };
        context.insert(
            "paragraphs",
            &[
                format!(
                    "企业对以下诉求经两次办理答复后仍不满意（本轮评价：{}{comment}）。",
                    record.rating.label()
                ),
                format!(
                    "请在办理页面填写承办单位说明，打印《{}》，由本单位主要负责同志签字并加盖单位公章后扫描上传（PDF、JPG 或 PNG 格式），工作专班将据此提出核查意见。",
                    crate::verification::FORM_TITLE
                ),
            ],
        );
        context.insert(
            "action_url",
            &self.unit_url(&row.tracking_number, token.as_str()),
        );
        context.insert("action_label", "进入办理页面（链接仅限本单位使用）");
        context.insert("rule", crate::verification::RULE);
        let subject = format!(
            "【不满意诉求审核】{}：经两次办理企业仍不满意，请填写审核反馈表",
            row.tracking_number
        );
        let mut change = Change::new(
            by,
            Event::Rated(payload::Rated {
                rating: record,
                reason: None,
                closed: false,
                verification: true,
                next: Some(
                    "经两次办理答复仍不满意：承办单位填写不满意诉求审核反馈表，报工作专班核查"
                        .to_owned(),
                ),
            }),
        );
        change.mails = lead
            .handlers
            .iter()
            .map(|recipient| self.mail(recipient, subject.clone(), "email/notice", &context))
            .collect::<Result<Vec<_>, _>>()?;
        change.status = Some(Status::Verification);
        change.links.push(NewLink {
            link: Link::unit(&lead.id, row.round),
            token_hash: token.hash().as_str().to_owned(),
            expires: now + Duration::days(self.dispatch.link_days.max(1)),
        });
        Ok(change)
    }

    /// 虚假反馈 (notice §二(五)3): during a call-back the enterprise says the unit reported contact or an answer that
    /// never happened. Recorded against the first-responsible unit for the reports; the order's state is unchanged.
    pub async fn record_false_feedback(
        &self,
        row: &RequestRow,
        statement: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        let change = self.false_feedback_change(row, statement, by)?;
        self.store.record(row.id, &change, now).await?;
        Ok(())
    }

    fn false_feedback_change(
        &self,
        row: &RequestRow,
        statement: &str,
        by: &str,
    ) -> Result<Change, WorkflowError> {
        let outcome = decide(&row.state(), &actor(by)?, Step::FalseFeedback)?;
        Ok(Change::new(
            by,
            outcome.records(Event::FalseFeedback(payload::FalseFeedback {
                unit: row.lead_unit.clone(),
                statement: statement.to_owned(),
                rule: "未与企业沟通回复却反馈为已沟通、已回复（滕政办发〔2022〕1号 二（五）3）"
                    .to_owned(),
            })),
        ))
    }
}
