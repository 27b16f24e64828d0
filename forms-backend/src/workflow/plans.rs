//! 解决方案 (plans), notice §二(三): "短期内无法解决的问题，必须制定解决方案，明确办结时限，推进中心跟踪督导". The
//! centre approves a plan — the deadline becomes the committed date — or rejects it with its reason, and the unit
//! handles on under its deadline moved by the working days the plan waited for the centre. The enterprise is told
//! whenever its deadline moves.

use chrono::{DateTime, Utc};

use super::{Forms, Notice, WorkflowError, actor};
use crate::order::payload::{self, Plan};
use crate::order::{Event, Outcome, Step, decide};
use crate::store::{Change, EventRow, OutgoingMail, RequestRow};

/// The plan an order waits with: the last one submitted, with when.
fn waiting_plan(events: &[EventRow]) -> Option<(DateTime<Utc>, &Plan)> {
    events.iter().rev().find_map(|event| match &event.event {
        Event::PlanSubmitted(plan) => Some((event.at, plan)),
        _ => None,
    })
}

impl Forms {
    /// The centre approves a unit's plan: the order's deadline becomes the plan's committed completion date, at its
    /// end (23:59:59 +08:00).
    pub async fn approve_plan(
        &self,
        row: &RequestRow,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let outcome = decide(&row.state(), &actor(by)?, Step::ApprovePlan)?;
        let events = self.store.events(row.id).await?;
        let (_, plan) = waiting_plan(&events)
            .ok_or_else(|| WorkflowError::NotAllowed("找不到承办单位提交的解决方案".to_owned()))?;
        let committed_date = plan.committed_date;
        let due = crate::calendar::end_of_day(committed_date);
        let mut change = Change::new(
            by,
            outcome.records(Event::PlanApproved(payload::PlanApproval {
                committed_date,
                due_at: due,
            })),
        )
        .expecting(row.version);
        change.status = Some(outcome.next);
        change.due_at = Some(due);
        change.mails = self.deadline_moved_mails(
            row,
            due,
            &format!("承办单位提交的解决方案已经推进中心批准，承诺办结日期为 {committed_date}。"),
        )?;
        Ok(self.store.record(row.id, &change, now).await?.1)
    }

    /// The centre rejects a unit's plan (退回方案) with its reason: the order is the unit's to handle again, and its
    /// deadline moves by the working days the plan waited for the centre, so the unit does not lose them (and earns
    /// no card for them: a waiting plan is not carded, see [`crate::sla::cards::may_be_carded`]).
    pub async fn reject_plan(
        &self,
        row: &RequestRow,
        reason: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let outcome: Outcome = decide(&row.state(), &actor(by)?, Step::RejectPlan)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(WorkflowError::Invalid(
                "请填写退回解决方案的理由".to_owned(),
            ));
        }
        let events = self.store.events(row.id).await?;
        let (submitted_at, _) = waiting_plan(&events)
            .ok_or_else(|| WorkflowError::NotAllowed("找不到承办单位提交的解决方案".to_owned()))?;
        let calendar = self.calendar.current();
        let moved_days = crate::sla::working_days_between(&calendar, submitted_at, now);
        let old_due = row.due_at.unwrap_or(now);
        let due = if moved_days == 0 {
            old_due
        } else {
            calendar.due(old_due, moved_days)
        };
        let mut change = Change::new(
            by,
            outcome.records(Event::PlanRejected(payload::PlanRejection {
                reason: reason.to_owned(),
                due_at: due,
                moved_days,
            })),
        )
        .expecting(row.version);
        change.status = Some(outcome.next);
        change.due_at = Some(due);
        let lead = self.lead_of(row)?;
        change.mails = self.notice_mails(
            row,
            lead.handlers.iter().map(String::as_str),
            &format!("【解决方案退回】{}：请继续办理", row.tracking_number),
            Notice {
                greeting: format!("{}：", lead.name),
                paragraphs: vec![
                    format!(
                        "你单位为受理编号 {} 提交的解决方案未获推进中心批准，请继续办理。",
                        row.tracking_number
                    ),
                    format!("退回理由：{reason}"),
                    format!(
                        "办理期限为 {}（方案等待审核的 {moved_days} 个工作日已顺延）。",
                        crate::calendar::minute_label(due)
                    ),
                ],
                action: None,
                rule: PLAN_RULE,
            },
        )?;
        if due != old_due {
            change.mails.extend(self.deadline_moved_mails(
                row,
                due,
                "承办单位提交的解决方案正在完善，办理期限相应顺延。",
            )?);
        }
        Ok(self.store.record(row.id, &change, now).await?.1)
    }

    /// Tells the enterprise its order's deadline moved to `due`, and why.
    fn deadline_moved_mails(
        &self,
        row: &RequestRow,
        due: DateTime<Utc>,
        why: &str,
    ) -> Result<Vec<OutgoingMail>, WorkflowError> {
        self.notice_mails(
            row,
            row.contact_email.as_deref(),
            &format!("【企业诉求】{} 办结期限调整", row.tracking_number),
            Notice {
                greeting: format!("{}：", row.enterprise_name),
                paragraphs: vec![
                    format!("您反映的诉求（受理编号 {}）：{why}", row.tracking_number),
                    format!("办结期限调整为 {}。", crate::calendar::minute_label(due)),
                ],
                action: None,
                rule: PLAN_RULE,
            },
        )
    }
}

/// Notice §二(三), cited in the plan e-mails.
pub const PLAN_RULE: &str = "滕政办发〔2022〕1号 二（三）：短期内无法解决的问题，必须制定解决方案，明确办结时限，推进中心跟踪督导，直至问题解决销号";
