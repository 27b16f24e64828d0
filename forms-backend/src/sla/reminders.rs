//! Deadline reminders (到期提醒, rule R of `cards.rs`): one working day before a deadline, one e-mail per unit
//! and pass listing its orders due.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tera::Context;

use super::cards::ACTOR;
use super::pass::{record_batched, render_mails, shanghai};
use crate::dispatch::Unit;
use crate::order::payload::{RemindedOrder, Reminder};
use crate::order::{Event, EventKind, Status};
use crate::store::{Change, OutgoingMail, RequestRow};
use crate::workflow::{Forms, WorkflowError};

/// Rule R (到期提醒): one working day before a deadline the lead unit's handlers get a reminder — every open
/// order due by the end of the next working day after `now` that has not been reminded of its current deadline
/// yet. Once per deadline (a rework or an approved plan brings a new one). A unit gets one e-mail per pass listing
/// all its orders due, recorded as one `deadline_reminder` event (on the first of them) whose payload lists every
/// order with the deadline it was reminded of. Returns how many orders were reminded.
pub async fn remind(forms: &Forms, now: DateTime<Utc>) -> Result<usize, WorkflowError> {
    // Mechanism: a reminder one working day before the deadline (issue 5, "Limits on the order").
    let until = forms.calendar.current().due(now, 1);
    // A reminder for a deadline still ahead was sent at most one working day (plus the longest holiday) ago.
    let reminded: BTreeSet<(i64, DateTime<Utc>)> = forms
        .store
        .listed_orders_since(
            EventKind::DeadlineReminder,
            now - chrono::Duration::days(REMINDER_LOOKBACK_DAYS),
        )
        .await?
        .into_iter()
        .collect();
    let orders = forms.store.due_between(now, until).await?;
    let mut by_unit: BTreeMap<&str, Vec<&RequestRow>> = BTreeMap::new();
    for order in &orders {
        if let (Some(unit), Some(due)) = (order.lead_unit.as_deref(), order.due_at)
            && !reminded.contains(&(order.id, due))
        {
            by_unit.entry(unit).or_default().push(order);
        }
    }
    let mut changes = Vec::with_capacity(by_unit.len());
    let mut count = 0;
    for (unit_id, orders) in by_unit {
        let Some(first) = orders.first() else {
            continue;
        };
        let mails = match forms.directory.unit(unit_id) {
            Some(unit) => reminder_mails(forms, &orders, unit)?,
            None => Vec::new(),
        };
        let listed: Vec<RemindedOrder> = orders
            .iter()
            .map(|order| RemindedOrder {
                id: order.id,
                tracking_number: order.tracking_number.clone(),
                due_at: order.due_at,
            })
            .collect();
        count += orders.len();
        changes.push((
            first.id,
            Change {
                mails,
                ..Change::new(
                    ACTOR,
                    Event::DeadlineReminder(Reminder {
                        unit: unit_id.to_owned(),
                        orders: listed,
                    }),
                )
            },
        ));
    }
    record_batched(&forms.store, &changes, now).await?;
    Ok(count)
}

/// How far back a pass looks for reminders already sent (longer than any holiday plus a working day).
const REMINDER_LOOKBACK_DAYS: i64 = 31;

/// One line of a reminder.
#[derive(Serialize)]
struct DueOrder<'a> {
    tracking_number: &'a str,
    enterprise_name: &'a str,
    description: &'a str,
    due: String,
    rework: bool,
}

/// Renders the reminder (`email/deadline_reminder.{txt,html}`) of a unit's orders (deadline order) for each of
/// its handlers.
fn reminder_mails(
    forms: &Forms,
    orders: &[&RequestRow],
    unit: &Unit,
) -> Result<Vec<OutgoingMail>, WorkflowError> {
    let lines: Vec<DueOrder> = orders
        .iter()
        .map(|order| DueOrder {
            tracking_number: &order.tracking_number,
            enterprise_name: &order.enterprise_name,
            description: &order.description,
            due: order.due_at.map(shanghai).unwrap_or_default(),
            rework: order.status == Status::Rework,
        })
        .collect();
    let Some(first) = lines.first() else {
        return Ok(Vec::new());
    };
    let subject = match lines.as_slice() {
        [only] => format!(
            "【到期提醒】工单 {} 将于{}到期，请按时反馈办理结果",
            only.tracking_number, only.due
        ),
        _ => format!(
            "【到期提醒】你单位有 {} 件工单即将到期（最早{}），请按时反馈办理结果",
            lines.len(),
            first.due
        ),
    };
    let mut context: Context = forms.page_context.clone();
    context.insert("unit", unit);
    context.insert("orders", &lines);
    render_mails(
        forms,
        "email/deadline_reminder",
        &context,
        &subject,
        &unit.handlers,
    )
}
