//! Dispatch (派单): the first-responsible unit and co-handlers, the deadline, the units' links and the mails —
//! the handlers get their own link; the leader in charge gets a copy without one (a copy must not act).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Asia::Shanghai;

use super::{Forms, WorkflowError};
use crate::calendar::FALLBACK_WARNING;
use crate::dispatch::{DispatchInput, Suggestion, suggest};
use crate::domain::{AccessToken, RequestKind};
use crate::order::payload::{DeadlineNote, Dispatch};
use crate::order::{Event, Link, Status, Step, decide};
use crate::sla::RESOLUTION_WORKING_DAYS;
use crate::store::{Change, NewLink, RequestRow};

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
