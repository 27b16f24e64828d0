//! Dispatch (派单): the first-responsible unit and co-handlers, the deadline, the units' links and the mails —
//! the handlers get their own link; the leader in charge gets a copy without one (a copy must not act).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Asia::Shanghai;

use super::{Forms, Notice, WorkflowError};
use crate::calendar::FALLBACK_WARNING;
use crate::dispatch::{DispatchInput, Suggestion, suggest};
use crate::domain::{AccessToken, RequestKind};
use crate::order::payload::{DeadlineNote, Dispatch, Reason};
use crate::order::{Actor, Event, Link, Outcome, Status, Step, decide};
use crate::sla::RESOLUTION_WORKING_DAYS;

/// Notice §二(二)3 and §二(三)1, cited in the return notice.
pub const ACCEPT_RULE: &str = "滕政办发〔2022〕1号 二（二）3：各承办单位要明确专人，第一时间接收、核实企业诉求，认真负责办理……各司其职、各负其责，不得推诿";
use crate::store::{Change, EventRow, NewLink, RequestRow};

impl Forms {
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

    /// When the lead unit of the order's current dispatch must sign for it (快速响应): recorded with the dispatch,
    /// or counted from it for dispatches recorded before the limit was. `None` before any dispatch.
    pub async fn acceptance_due(
        &self,
        row: &RequestRow,
    ) -> Result<Option<DateTime<Utc>>, WorkflowError> {
        Ok(self.acceptance_due_in(&self.store.events(row.id).await?))
    }

    /// [`Forms::acceptance_due`] from the order's events, read already.
    pub fn acceptance_due_in(&self, events: &[EventRow]) -> Option<DateTime<Utc>> {
        events.iter().rev().find_map(|event| match &event.event {
            Event::Dispatched(dispatch) => Some(dispatch.accept_due_at.unwrap_or_else(|| {
                crate::sla::accept_due(
                    &self.calendar.current(),
                    event.at,
                    self.dispatch.accept_working_days,
                )
            })),
            _ => None,
        })
    }

    /// 退单: the lead unit returns the order to the centre with its reason; the centre's staff are told, and the
    /// order waits in the queue again (its 第一时间转办 limit counts from the return).
    pub(super) fn dispatch_return_change(
        &self,
        row: &RequestRow,
        unit_id: &str,
        reason: &str,
        outcome: &Outcome,
    ) -> Result<Change, WorkflowError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(WorkflowError::Invalid(
                "请填写退回理由（为什么不属于本单位职责）".to_owned(),
            ));
        }
        let unit_name = self
            .directory
            .unit(unit_id)
            .map_or_else(|| unit_id.to_owned(), |unit| unit.name.clone());
        let mails = self.notice_mails(
            row,
            self.directory.centre.emails.iter().map(String::as_str),
            &format!("【退单】{}：{unit_name}退回工单", row.tracking_number),
            Notice {
                greeting: "推进中心：".to_owned(),
                paragraphs: vec![
                    format!(
                        "{unit_name}将受理编号 {} 的工单退回推进中心，认为不属于本单位职责。",
                        row.tracking_number
                    ),
                    format!("退回理由：{reason}"),
                    "请核实后重新派单。".to_owned(),
                ],
                action: Some((
                    format!(
                        "{}/console/requests/{}",
                        self.public_url, row.tracking_number
                    ),
                    "在推进中心工作台重新派单",
                )),
                rule: ACCEPT_RULE,
            },
        )?;
        Ok(Change {
            status: Some(outcome.next),
            mails,
            ..Change::new(
                Actor::unit(unit_id),
                outcome.records(Event::DispatchReturned(Reason {
                    reason: reason.to_owned(),
                })),
            )
        })
    }

    /// Dispatch (派单) by the centre: decided on the order as read, written only if it is still so.
    pub async fn dispatch(
        &self,
        row: &RequestRow,
        lead_unit: &str,
        co_units: &[String],
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        decide(&row.state(), &super::actor(actor)?, Step::Dispatch)?;
        // 改派 of an order a unit already holds says why (the unit that loses it reads the reason).
        if !matches!(row.status, Status::New | Status::Dispatched) && reason.trim().is_empty() {
            return Err(WorkflowError::Invalid(
                "改派已受理的工单须填写改派理由".to_owned(),
            ));
        }
        let change = self
            .dispatch_change(row, lead_unit, co_units, actor, reason, now)?
            .expecting(row.version);
        Ok(self.store.record(row.id, &change, now).await?.1)
    }

    /// The change a dispatch writes: names the first-responsible unit and co-handlers, sets the deadline, and
    /// e-mails the units' handlers, with a link to act, copies the leader in charge without one, and tells the
    /// enterprise.
    pub(super) fn dispatch_change(
        &self,
        row: &RequestRow,
        lead_unit: &str,
        co_units: &[String],
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Change, WorkflowError> {
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
        let deadline = self
            .calendar
            .current()
            .deadline(now, RESOLUTION_WORKING_DAYS);
        if deadline.fallback {
            tracing::warn!(order = %row.tracking_number, "{FALLBACK_WARNING}");
        }
        let due = deadline.due;
        // Notice §二(二)3 第一时间接收 / §二(三)1 快速响应: the unit signs for the order within its acceptance limit.
        let accept_due = crate::sla::accept_due(
            &self.calendar.current(),
            now,
            self.dispatch.accept_working_days,
        );
        let expires = due + Duration::days(self.dispatch.link_days);
        let subject = format!(
            "【企业诉求工单】{}：{}（{}前办结）",
            row.tracking_number,
            row.enterprise_name,
            due.with_timezone(&Shanghai).format("%Y年%-m月%-d日")
        );
        let mut mails = Vec::new();
        let mut links = Vec::new();
        for (unit, role) in
            std::iter::once((lead, "lead")).chain(co.iter().map(|unit| (*unit, "co")))
        {
            let token = AccessToken::generate();
            links.push(NewLink {
                link: Link::unit(&unit.id, row.round),
                token_hash: token.hash().as_str().to_owned(),
                expires,
            });
            let mut context = self.mail_context(row, None, Some(due))?;
            context.insert("unit", unit);
            context.insert("role", role);
            context.insert("lead_unit", lead);
            context.insert("co_units", &co);
            context.insert("reason", reason);
            context.insert("accept_due", &crate::calendar::minute_label(accept_due));
            let mut handlers = unit.handlers.clone();
            handlers.dedup();
            if !handlers.is_empty() {
                let mut with_link = context.clone();
                with_link.insert(
                    "action_url",
                    &self.unit_url(&row.tracking_number, token.as_str()),
                );
                for recipient in &handlers {
                    mails.push(self.mail(
                        recipient,
                        subject.clone(),
                        "email/dispatched_unit",
                        &with_link,
                    )?);
                }
            }
            // Notice §二(二): the leader in charge is informed of the dispatch (cc) — a copy to read, no link.
            if let Some(leader) = unit
                .leader
                .as_deref()
                .and_then(|id| self.directory.leader(id))
                .filter(|leader| !handlers.contains(&leader.email))
            {
                context.insert("leader_copy", &leader.title);
                mails.push(self.mail(
                    &leader.email,
                    format!("【抄送】{subject}"),
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
        let mut change = Change::new(
            actor,
            Event::Dispatched(Dispatch {
                lead_unit: lead.id.clone(),
                co_units: co_ids.clone(),
                reason: reason.to_owned(),
                deadline: DeadlineNote::of(
                    &deadline,
                    "5个工作日（不含派单当日，按国务院节假日安排计算）",
                ),
                counted: deadline.counted.clone(),
                accept_due_at: Some(accept_due),
            }),
        );
        change.status = Some(Status::Dispatched);
        change.lead_unit = Some(lead.id.clone());
        change.co_units = Some(co_ids);
        change.due_at = Some(due);
        change.mails = mails;
        change.links = links;
        Ok(change)
    }
}
